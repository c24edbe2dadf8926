/*
 * cli_verdict.c - the verdict of a campaign as text and JSON, and the live progress line.
 *
 * JSON keys (a contract): runs, passed, failed, crashed, timed_out, errors, estimate, lower,
 * upper, attempts {point, conservative, bayes[, correlated]}, decided (with --until-decided),
 * durations {p50, p90, p99, max} in seconds, wall_seconds, plus label, confidence, target,
 * attempts_total, chains {...} when retries ran, and stop (why the loop ended) and containment
 * ("cgroup v2", "cgroup v1 freezer", "sweep": fm_cgroup_describe) after a run;
 * interrupted (first attempts killed because the runner stopped: in runs, not in the estimate),
 * causes [{outcome, exit_code, signal, count}] of the first attempts that did not pass, and
 * after a run runs_this_invocation.
 * Counts are of first attempts (one per run); retries are reported under "chains".
 */
#include "cli_verdict.h"
#include "fm_cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *stop_name(fm_stop_reason r)
{
    static const char *const names[] = {"runs",    "duration", "decided", "sigint",
                                        "sigterm", "sighup",   "error"};
    return (unsigned)r < sizeof names / sizeof *names ? names[r] : "unknown";
}

static json_t *attempts_json(const fm_attempts_answer *a)
{
    json_t *o = json_object();
    bool ok = a->attempts.reachable;
    json_object_set_new(o, "p", json_real(a->p));
    json_object_set_new(o, "attempts",
                        ok ? json_integer((json_int_t)a->attempts.attempts) : json_null());
    json_object_set_new(o, "retries",
                        ok ? json_integer((json_int_t)a->attempts.attempts - 1) : json_null());
    json_object_set_new(o, "residual", json_real(a->attempts.residual));
    json_object_set_new(o, "reachable", json_boolean(ok));
    return o;
}

static json_t *seconds_or_null(int64_t ns)
{
    return ns < 0 ? json_null() : json_real((double)ns / 1e9);
}

static json_t *durations_json(const fm_verdict *v)
{
    static const char *const keys[4] = {"p50", "p90", "p99", "max"};
    json_t *o = json_object();
    for (int i = 0; i < 4; i++)
        json_object_set_new(o, keys[i], seconds_or_null(v->durations_ns[i]));
    return o;
}

static json_t *interval_json(const fm_interval *ci)
{
    json_t *o = json_object();
    json_object_set_new(o, "estimate", fm_cli_json_real(ci->estimate));
    json_object_set_new(o, "lower", json_real(ci->lower));
    json_object_set_new(o, "upper", json_real(ci->upper));
    return o;
}

/* About how many counted runs in all --until-decided would need at the estimate (0: unknown). */
static uint64_t undecided_runs(const fm_verdict *v)
{
    uint64_t need = 0;
    if (v->n < 1 || fm_stats_seq_runs_needed((uint64_t)v->k, (uint64_t)v->n, v->confidence,
                                             v->target, &need) != FM_STATS_OK)
        return 0;
    return need;
}

/*
 * text as one word for a POSIX shell to paste: 'text', or bash's $'...' when it holds a single
 * quote or a control character (escaped, so the line stays one line and no escape sequence
 * reaches the terminal).
 */
static const char *shell_word(const char *text, char *buf, size_t size)
{
    bool plain = true;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        plain &= *p >= 0x20 && *p != 0x7f && *p != '\'';
    size_t len = 0;
    len += (size_t)snprintf(buf, size, "%s", plain ? "'" : "$'");
    for (const unsigned char *p = (const unsigned char *)text; *p && len + 6 < size; p++) {
        if (plain)
            buf[len++] = (char)*p;
        else if (*p == '\\' || *p == '\'')
            len += (size_t)snprintf(buf + len, size - len, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            len += (size_t)snprintf(buf + len, size - len, "\\x%02x", *p);
        else
            buf[len++] = (char)*p;
    }
    snprintf(buf + len, size - len, "'");
    return buf;
}

static json_t *count_json(const fm_attempts *a)
{
    return a->reachable ? json_integer((json_int_t)a->attempts) : json_null();
}

/* attempts.correlated: the retry-chain model p1 * q^(A-1). */
static json_t *correlated_json(const fm_chain_stats *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "p1", interval_json(&c->p1));
    json_object_set_new(o, "q", interval_json(&c->q));
    json_object_set_new(o, "independence_p", json_real(c->independence_p));
    json_object_set_new(o, "independence_test", json_string(c->independence_test));
    json_object_set_new(o, "fisher_p", json_real(c->fisher_p));
    json_object_set_new(o, "point", count_json(&c->point));
    json_object_set_new(o, "conservative", count_json(&c->conservative));
    json_object_set_new(o, "reachable", json_boolean(c->conservative.reachable));
    return o;
}

static json_t *chains_json(const fm_verdict *v)
{
    const fm_store_summary *s = &v->sum;
    json_t *o = json_object();
    json_object_set_new(o, "failed_rate", interval_json(&v->chain_fail));
    json_object_set_new(o, "chains", json_integer(s->chains));
    json_object_set_new(o, "chains_failed", json_integer(s->chains_failed));
    json_object_set_new(o, "passed_on_retry", json_integer(s->passed_on_retry));
    json_object_set_new(o, "retries", json_integer(s->retries));
    json_object_set_new(o, "retries_failed", json_integer(s->retries_failed));
    json_object_set_new(o, "max_attempt", json_integer(s->max_attempt));
    return o;
}

json_t *fm_cli_verdict_json(const fm_verdict *v, const fm_verdict_context *ctx)
{
    const int64_t *first = v->sum.first_by_outcome;
    json_t *o = json_object();
    json_object_set_new(o, "label", json_string(ctx->label));
    json_t *cond = ctx->conditions ? json_loads(ctx->conditions, 0, NULL) : NULL;
    json_object_set_new(o, "conditions", json_is_object(cond) ? cond : json_object());
    if (cond != NULL && !json_is_object(cond))
        json_decref(cond);
    json_object_set_new(o, "runs", json_integer(v->sum.first));
    json_object_set_new(o, "passed", json_integer(first[FM_OUTCOME_PASS]));
    json_object_set_new(o, "failed", json_integer(first[FM_OUTCOME_FAIL]));
    json_object_set_new(o, "crashed", json_integer(first[FM_OUTCOME_CRASH]));
    json_object_set_new(o, "timed_out", json_integer(first[FM_OUTCOME_TIMEOUT]));
    json_object_set_new(o, "errors", json_integer(first[FM_OUTCOME_ERROR]));
    json_object_set_new(o, "interrupted", json_integer(first[FM_OUTCOME_INTERRUPTED]));
    if (ctx->report)
        json_object_set_new(o, "runs_this_invocation", json_integer(ctx->report->first_here));
    json_t *causes = json_array();
    for (size_t i = 0; i < v->n_causes; i++) {
        const fm_store_cause *c = &v->causes[i];
        bool exit = c->outcome == FM_OUTCOME_FAIL || c->outcome == FM_OUTCOME_ERROR;
        json_t *e = json_object();
        json_object_set_new(e, "outcome", json_string(fm_outcome_name(c->outcome)));
        json_object_set_new(e, "exit_code",
                            c->has_code && exit ? json_integer(c->code) : json_null());
        json_object_set_new(e, "signal",
                            c->has_code && !exit ? json_integer(c->code) : json_null());
        json_object_set_new(e, "count", json_integer(c->count));
        json_array_append_new(causes, e);
    }
    json_object_set_new(o, "causes", causes);
    json_object_set_new(o, "attempts_total", json_integer(v->sum.attempts));
    json_object_set_new(o, "confidence", json_real(v->confidence));
    json_object_set_new(o, "target", json_real(v->target));
    bool have = v->n > 0;
    json_object_set_new(o, "estimate", have ? json_real(v->ci.estimate) : json_null());
    json_object_set_new(o, "lower", have ? json_real(v->ci.lower) : json_null());
    json_object_set_new(o, "upper", have ? json_real(v->ci.upper) : json_null());
    json_t *att = json_object();
    if (have) {
        json_object_set_new(att, "point", attempts_json(&v->attempts.point));
        json_object_set_new(att, "conservative", attempts_json(&v->attempts.conservative));
        json_object_set_new(att, "bayes", attempts_json(&v->attempts.bayes));
        if (v->have_retries)
            json_object_set_new(att, "correlated", correlated_json(&v->chain));
    }
    json_object_set_new(o, "attempts", att);
    if (v->have_retries)
        json_object_set_new(o, "chains", chains_json(v));
    if (ctx->until_decided && ctx->report) {
        const fm_run_report *r = ctx->report;
        json_object_set_new(o, "decided", json_boolean(r->decided));
        json_object_set_new(o, "decided_attempts",
                            r->decided && r->decided_reachable
                                ? json_integer((json_int_t)r->decided_attempts)
                                : json_null());
        uint64_t more = r->decided ? 0 : undecided_runs(v);
        json_object_set_new(o, "runs_to_decide",
                            more > 0 ? json_integer((json_int_t)more) : json_null());
        json_object_set_new(o, "decided_indifferent",
                            r->decided ? json_boolean(r->decided_indifferent) : json_null());
        json_object_set_new(o, "decided_in_flight",
                            r->decided ? json_integer((json_int_t)r->decided_pending)
                                       : json_null());
    }
    json_object_set_new(o, "durations", durations_json(v));
    double span = (double)(v->sum.last_end_ns - v->sum.first_start_ns) / 1e9;
    json_object_set_new(o, "wall_seconds",
                        json_real(ctx->report ? ctx->report->wall_s : (span > 0 ? span : 0)));
    if (ctx->report) {
        json_object_set_new(o, "stop", json_string(stop_name(ctx->report->stop)));
        /* how the attempts' processes were contained: "cgroup v2", "cgroup v1 freezer", "sweep" */
        json_object_set_new(o, "containment", json_string(ctx->report->containment));
    }
    return o;
}

static const char *fmt_seconds(int64_t ns, char *buf, size_t size)
{
    double s = (double)ns / 1e9;
    if (ns < 0)
        snprintf(buf, size, "-");
    else if (s < 1e-3)
        snprintf(buf, size, "%.0f us", s * 1e6);
    else if (s < 1)
        snprintf(buf, size, "%.1f ms", s * 1e3);
    else
        snprintf(buf, size, "%.2f s", s);
    return buf;
}

static void print_attempts(const fm_verdict *v)
{
    const fm_attempts_answer *a[3] = {&v->attempts.point, &v->attempts.conservative,
                                      &v->attempts.bayes};
    const char *names[3] = {"point", "conservative", "bayes"};
    char target[32];
    printf("  attempts for CI to fail at most %s of the time:",
           fm_cli_fmt_prob(v->target, target, sizeof target));
    for (int i = 0; i < 3; i++) {
        char n[48];
        printf(" %s %s%s", names[i],
               fm_cli_fmt_attempts(a[i]->attempts.reachable, a[i]->attempts.attempts, n, sizeof n),
               i < 2 ? "," : "");
    }
    printf("\n");
    if (a[1]->attempts.reachable && fm_cli_astronomic(a[1]->attempts.attempts))
        printf("  (conservative: with %.10g%% confidence, more than 10^6 attempts would be needed: "
               "retrying cannot hide this test)\n",
               v->confidence * 100);
    else if (a[1]->attempts.reachable)
        printf("  (conservative: with %.10g%% confidence, %llu attempts keep the red rate at "
               "or below the target)\n",
               v->confidence * 100, (unsigned long long)a[1]->attempts.attempts);
    else
        printf("  no number of retries reaches the target: the test fails every time\n");
}

static void print_chains(const fm_verdict *v)
{
    const fm_chain_stats *c = &v->chain;
    const fm_store_summary *s = &v->sum;
    double vals[3] = {c->q.estimate, c->q.lower, c->q.upper};
    char q[3][32], p1[32], fail[32];
    printf("  retry chains: %lld passed on a retry; %lld of %lld chains failed every attempt "
           "(%s)\n",
           (long long)s->passed_on_retry, (long long)s->chains_failed, (long long)s->chains,
           fm_cli_fmt_prob(v->chain_fail.estimate, fail, sizeof fail));
    if (s->retries > 0) {
        fm_cli_fmt_probs(vals, q, 3);
        printf("  a retry after a failure fails with q = %s (CI %s to %s) against p1 = %s; "
               "independence p = %.3g (%s)\n",
               q[0], q[1], q[2], fm_cli_fmt_prob(c->p1.estimate, p1, sizeof p1), c->independence_p,
               c->independence_test);
    }
    printf("  correlated model p1 q^(A-1): ");
    if (c->conservative.reachable)
        printf("point %llu, conservative %llu attempts\n", (unsigned long long)c->point.attempts,
               (unsigned long long)c->conservative.attempts);
    else if (c->point.reachable)
        printf("point %llu attempts; conservative: unreachable (q may be 1)\n",
               (unsigned long long)c->point.attempts);
    else
        printf("unreachable: retries do not help (q = 1)\n");
}

/* "exit 1", "SIGSEGV", "timeout (SIGKILL)", "usage error: exit 4", "could not start" */
static const char *cause_text(const fm_store_cause *c, char *buf, size_t size)
{
    char sig[32] = "";
    const char *abbrev = c->has_code ? sigabbrev_np(c->code) : NULL;
    if (abbrev != NULL)
        snprintf(sig, sizeof sig, "SIG%s", abbrev);
    else if (c->has_code)
        snprintf(sig, sizeof sig, "signal %d", c->code);
    switch (c->outcome) {
    case FM_OUTCOME_FAIL:
        snprintf(buf, size, "exit %d", c->code);
        break;
    case FM_OUTCOME_CRASH:
        snprintf(buf, size, "%s", c->has_code ? sig : "crash");
        break;
    case FM_OUTCOME_TIMEOUT:
        snprintf(buf, size, "timeout%s%s%s", *sig ? " (" : "", sig, *sig ? ")" : "");
        break;
    case FM_OUTCOME_ERROR:
        if (c->has_code)
            snprintf(buf, size, "usage error: exit %d", c->code);
        else
            snprintf(buf, size, "could not start");
        break;
    default:
        snprintf(buf, size, "%s", fm_outcome_name(c->outcome));
    }
    return buf;
}

/* Failures by cause, and where their output is. */
static void print_causes(const fm_verdict *v, const fm_verdict_context *ctx)
{
    if (v->n_causes == 0)
        return;
    printf("  by cause:");
    for (size_t i = 0; i < v->n_causes; i++) {
        char t[64];
        printf("%s %s x%lld", i ? "," : "", cause_text(&v->causes[i], t, sizeof t),
               (long long)v->causes[i].count);
    }
    if (v->causes_total > v->n_causes)
        printf(", %zu more causes", v->causes_total - v->n_causes);
    char db[1024], label[1024];
    printf("\n  their output: flakemeter show --failures --db %s %s",
           shell_word(ctx->db, db, sizeof db), shell_word(ctx->label, label, sizeof label));
    if (ctx->keep_dir != NULL)
        printf("; all of it: %s/\n", ctx->keep_dir);
    else
        printf(" (the last 4 KiB of the first %d of each cause); all of it: run with "
               "--keep-output DIR\n",
               FM_STORE_EVIDENCE_PER_CAUSE);
}

void fm_cli_verdict_print(const fm_verdict *v, const fm_verdict_context *ctx)
{
    const int64_t *f = v->sum.first_by_outcome;
    char label[1024]; /* control characters of a label escaped, as in every table */
    fm_cli_esc(ctx->label, label, sizeof label);
    if (ctx->report)
        printf("%s: %lld run%s in this invocation; campaign total %lld (%.1f s) in %s\n", label,
               (long long)ctx->report->first_here, ctx->report->first_here == 1 ? "" : "s",
               (long long)v->sum.first, ctx->report->wall_s, ctx->db);
    else
        printf("%s: %lld run%s in %s\n", label, (long long)v->sum.first,
               v->sum.first == 1 ? "" : "s", ctx->db);
    char cond[512];
    if (*fm_cond_describe_json(ctx->conditions, cond, sizeof cond))
        printf("  conditions: %s\n", cond);
    printf("  passed %lld, failed %lld, crashed %lld, timed out %lld, errors %lld",
           (long long)f[FM_OUTCOME_PASS], (long long)f[FM_OUTCOME_FAIL],
           (long long)f[FM_OUTCOME_CRASH], (long long)f[FM_OUTCOME_TIMEOUT],
           (long long)f[FM_OUTCOME_ERROR]);
    if (f[FM_OUTCOME_INTERRUPTED] > 0)
        printf(", interrupted %lld (killed when flakemeter stopped: not counted)",
               (long long)f[FM_OUTCOME_INTERRUPTED]);
    printf("\n");
    print_causes(v, ctx);
    if (v->n == 0) {
        printf("  no run completed: nothing to estimate\n");
        return;
    }
    double vals[3] = {v->ci.estimate, v->ci.lower, v->ci.upper};
    char txt[3][32];
    fm_cli_fmt_probs(vals, txt, 3);
    printf("  failure probability %s (%.10g%% exact CI %s to %s)\n", txt[0], v->confidence * 100,
           txt[1], txt[2]);
    print_attempts(v);
    if (v->have_retries)
        print_chains(v);
    if (ctx->until_decided && ctx->report) {
        const fm_run_report *r = ctx->report;
        uint64_t more = r->decided || r->stop != FM_STOP_RUNS ? 0 : undecided_runs(v);
        char flight[96] = "";
        if (r->decided && r->decided_pending > 0)
            snprintf(flight, sizeof flight, " (and whatever the %llu run%s then in flight gave)",
                     (unsigned long long)r->decided_pending, r->decided_pending == 1 ? "" : "s");
        if (r->decided && r->decided_reachable && r->decided_indifferent)
            printf(
                "  decided: %llu attempts (%llu may suffice; %llu is the safe side), with %.10g%% "
                "confidence whenever it stopped%s\n",
                (unsigned long long)r->decided_attempts,
                (unsigned long long)r->decided_attempts - 1,
                (unsigned long long)r->decided_attempts, v->confidence * 100, flight);
        else if (r->decided && r->decided_reachable)
            printf("  decided: %llu attempts, with %.10g%% confidence whenever it stopped%s\n",
                   (unsigned long long)r->decided_attempts, v->confidence * 100, flight);
        else if (r->decided)
            printf("  decided: more than %llu attempts: no retry count is worth it, fix the test\n",
                   (unsigned long long)FM_STATS_SEQ_MAX_COUNT);
        else if (more > 0)
            printf("  not decided within %llu runs (-n; %d without it): about %llu runs in all "
                   "would decide if the failure rate stays at the estimate\n",
                   (unsigned long long)v->sum.first, FM_RUN_DECIDE_CAP, (unsigned long long)more);
        else
            printf("  not decided yet: more runs are needed to pin the attempt count down\n");
    }
    char d[4][32];
    printf("  durations: p50 %s, p90 %s, p99 %s, max %s\n",
           fmt_seconds(v->durations_ns[0], d[0], 32), fmt_seconds(v->durations_ns[1], d[1], 32),
           fmt_seconds(v->durations_ns[2], d[2], 32), fmt_seconds(v->durations_ns[3], d[3], 32));
}

/* ---- progress ------------------------------------------------------------------------------ */

void fm_cli_progress_init(fm_cli_progress *p, double confidence)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
    p->confidence = confidence;
}

static void progress_line(const fm_run_progress *pr, double confidence, char *buf, size_t size)
{
    const fm_run_counts *n = pr->counts;
    int len = snprintf(buf, size, "runs %lld", (long long)pr->done_here);
    if (pr->planned > 0)
        len += snprintf(buf + len, size - (size_t)len, "/%lld", (long long)pr->planned);
    len += snprintf(buf + len, size - (size_t)len, "  failures %lld", (long long)n->first_fail);
    fm_interval ci;
    if (n->first_counted > 0 &&
        fm_stats_interval((uint64_t)n->first_fail, (uint64_t)n->first_counted, confidence,
                          FM_CI_EXACT, FM_CI_TWO_SIDED, &ci) == FM_STATS_OK) {
        double vals[3] = {ci.estimate, ci.lower, ci.upper};
        char t[3][32];
        fm_cli_fmt_probs(vals, t, 3);
        len += snprintf(buf + len, size - (size_t)len, "  rate %s (%s-%s)", t[0], t[1], t[2]);
    }
    double rate = pr->elapsed_s > 0 ? (double)pr->done_here / pr->elapsed_s : 0;
    len += snprintf(buf + len, size - (size_t)len, "  active %d  %.1f runs/s", pr->active, rate);
    double eta = -1;
    if (pr->planned > 0 && rate > 0)
        eta = (double)(pr->planned - pr->done_here) / rate;
    if (pr->duration_s > 0 && (eta < 0 || pr->duration_s - pr->elapsed_s < eta))
        eta = pr->duration_s - pr->elapsed_s;
    if (eta >= 0 && !pr->final)
        snprintf(buf + len, size - (size_t)len, "  ETA %.0fs", eta);
}

void fm_cli_progress_cb(const fm_run_progress *pr, void *ctx)
{
    fm_cli_progress *p = ctx;
    char line[256];
    if (!p->tty && !pr->final && pr->elapsed_s - p->last_line_s < 5.0)
        return; /* not a terminal: a plain line every 5 s, like Go's stress */
    progress_line(pr, p->confidence, line, sizeof line);
    if (p->tty) {
        fprintf(stderr, "\r\033[K%s%s", line, pr->final ? "\n" : "");
        p->drew = !pr->final;
    } else if (!pr->final) {
        fprintf(stderr, "%.0fs: %s\n", pr->elapsed_s, line);
        p->last_line_s = pr->elapsed_s;
    }
}
