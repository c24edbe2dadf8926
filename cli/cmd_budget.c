/*
 * cmd_budget.c - `flakemeter budget`: per-test attempt counts for a whole suite from its CI
 * history, so that a CI run goes red at most a target fraction of the time with the least
 * expected added CI time, and the allowlist that carries them into the CI configuration.
 *
 * The inputs and both plans (conservative, point; --point makes the point plan the main one)
 * are history/fm_hist_budget.c; this file parses, calls fm_hist_budget_compute and prints.
 */
#include "fm_cli.h"
#include "fm_hist_budget.h"
#include "fm_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flakemeter budget --target T [--db PATH] [--label SUITE] [--point] [--timeout S]\n"
    "                         [--max-attempts N] [--confidence C] [--min-runs N]\n"
    "                         [--json | --format json|toml|micropython]\n"
    "\n"
    "Per-test attempt counts (first try + retries) that keep the chance of a red CI run at or\n"
    "below T with the least expected added CI time, from the CI history in the store\n"
    "(flakemeter ingest).  A failed attempt costs its measured duration, a timeout the full\n"
    "timeout.  By default every failure rate is its one-sided exact upper bound at C\n"
    "(conservative); the point-estimate plan is shown beside it.\n"
    "\n"
    "  -t, --target T         red-rate target per CI run, in (0, 1), e.g. 0.01\n"
    "      --db PATH          the store (default flakemeter.db)\n"
    "      --label SUITE      the suite (needed when the store holds several)\n"
    "      --point            plan with the point estimates k/n instead\n"
    "      --timeout S        a timed-out attempt costs S seconds (default: its measured time)\n"
    "      --max-attempts N   at most N attempts per test, 1..64 (default 10)\n"
    "  -c, --confidence C     level of the upper bounds, in (0, 1) (default 0.95)\n"
    "      --min-runs N       leave out tests with fewer than N CI runs (default 1)\n"
    "      --campaign LABEL   add a campaign measured with 'flakemeter run' as a test of the\n"
    "                         suite, named LABEL (its first attempts, retry chains and median\n"
    "                         duration); it replaces a CI test of the same name (repeatable)\n"
    "      --json             print one JSON object\n"
    "      --format F         print the allowlist (tests given more than one attempt, with\n"
    "                         their measured rates) as json, toml or micropython\n"
    "  -h, --help             show this help\n";

enum { MAX_CAMPAIGNS = 32 };

struct budget_args {
    const char *db, *label, *format;
    const char *campaigns[MAX_CAMPAIGNS];
    size_t n_campaigns;
    double target, conf, timeout;
    uint64_t max_attempts, min_runs;
    bool point, json, have_target, have_timeout;
};

struct budget {
    const struct budget_args *args;
    fm_hist_budget h;
};

static int add_campaign(void *value, const char *text, const char *name)
{
    struct budget_args *a = value;
    if (a->n_campaigns == MAX_CAMPAIGNS)
        return fm_cli_usage_error("%s: at most %d campaigns", name, MAX_CAMPAIGNS);
    a->campaigns[a->n_campaigns++] = text;
    return 0;
}

static int parse(int argc, char **argv, struct budget_args *a)
{
    const struct fm_opt options[] = {
        FM_OPT_REAL('t', "target", &a->target, 0, 1, FM_OPT_OPEN, .seen = &a->have_target),
        FM_OPT_STRING(0, "db", &a->db),
        FM_OPT_STRING(0, "label", &a->label),
        FM_OPT_BOOL(0, "point", &a->point),
        FM_OPT_REAL(0, "timeout", &a->timeout, 0, 1e9, FM_OPT_LO_OPEN, .seen = &a->have_timeout),
        FM_OPT_COUNT(0, "max-attempts", &a->max_attempts, 1, 64),
        FM_OPT_REAL('c', "confidence", &a->conf, 0, 1, FM_OPT_OPEN),
        FM_OPT_COUNT(0, "min-runs", &a->min_runs, 1, FM_STATS_MAX_ATTEMPTS),
        FM_OPT_BOOL(0, "json", &a->json),
        FM_OPT_STRING(0, "format", &a->format),
        FM_OPT_CALL(0, "campaign", a, add_campaign),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if (!a->have_target)
        return fm_cli_usage_error("--target is required (see 'flakemeter budget --help')");
    if (a->format != NULL && strcmp(a->format, "json") != 0 && strcmp(a->format, "toml") != 0 &&
        strcmp(a->format, "micropython") != 0)
        return fm_cli_usage_error("--format: unknown format '%s'; expected json, toml or "
                                  "micropython",
                                  a->format);
    if (a->format != NULL && a->json)
        return fm_cli_usage_error("--json and --format go separately (--format json prints the "
                                  "allowlist)");
    return -1;
}

/* ---- output ---------------------------------------------------------------------------------- */

static double row_extra(const fm_hist_budget_test *r, int m, int plan)
{
    return r->cost[m][r->attempts[plan] - 1];
}

static double observed(const struct budget *b)
{
    return b->h.ci_runs > 0 ? (double)b->h.red_runs / (double)b->h.ci_runs : NAN;
}

static json_t *plan_json(const struct budget *b, int m)
{
    const fm_hist_budget_plan *p = &b->h.plans[m];
    json_t *o = json_object();
    json_object_set_new(o, "feasible", json_boolean(p->plan.feasible));
    json_object_set_new(o, "predicted_red_rate", fm_cli_json_real(p->plan.red_rate));
    json_object_set_new(o, "current_red_rate", fm_cli_json_real(p->current));
    json_object_set_new(o, "expected_extra_seconds", fm_cli_json_real(p->plan.cost));
    json_object_set_new(o, "optimality_gap_seconds", fm_cli_json_real(p->plan.gap));
    json_object_set_new(o, "other_tests_attempts", json_integer(b->h.others.attempts[m]));
    return o;
}

static json_t *row_json(const struct budget *b, const fm_hist_budget_test *r, int m)
{
    json_t *o = json_object();
    json_object_set_new(o, "test", json_string(r->test));
    json_object_set_new(o, "runs", json_integer((json_int_t)r->n));
    json_object_set_new(o, "failures", json_integer((json_int_t)r->k));
    json_object_set_new(o, "timeouts", json_integer((json_int_t)r->timeouts));
    json_object_set_new(o, "retries", json_integer((json_int_t)r->nq));
    json_object_set_new(o, "retry_failures", json_integer((json_int_t)r->kq));
    json_object_set_new(o, "estimate", json_real(r->ci.estimate));
    json_object_set_new(o, "lower", json_real(r->ci.lower));
    json_object_set_new(o, "upper", json_real(r->p[FM_HIST_MODEL_CONSERVATIVE]));
    json_object_set_new(o, "after_failure",
                        r->nq ? json_real((double)r->kq / (double)r->nq) : json_null());
    json_object_set_new(o, "after_failure_upper",
                        r->nq ? json_real(r->q[FM_HIST_MODEL_CONSERVATIVE]) : json_null());
    json_object_set_new(o, "attempts", json_integer(r->attempts[m]));
    json_object_set_new(o, "attempts_conservative", json_integer(r->attempts[FM_HIST_MODEL_CONSERVATIVE]));
    json_object_set_new(o, "attempts_point", json_integer(r->attempts[FM_HIST_MODEL_POINT]));
    json_object_set_new(o, "all_fail_probability",
                        fm_cli_json_real(r->fail[m][r->attempts[m] - 1]));
    json_object_set_new(o, "expected_extra_seconds", fm_cli_json_real(row_extra(r, m, m)));
    json_object_set_new(o, "pass_seconds", b->h.durations_known ? json_real(r->pass_s) : json_null());
    json_object_set_new(o, "fail_seconds", b->h.durations_known ? json_real(r->fail_s) : json_null());
    return o;
}

static int print_json(const struct budget *b)
{
    const struct budget_args *a = b->args;
    int m = a->point ? FM_HIST_MODEL_POINT : FM_HIST_MODEL_CONSERVATIVE;
    const fm_hist_budget_plan *p = &b->h.plans[m];
    json_t *o = json_object();
    json_object_set_new(o, "suite", json_string(b->h.suite));
    json_object_set_new(o, "target", json_real(a->target));
    json_object_set_new(o, "model", json_string(m == FM_HIST_MODEL_POINT ? "point" : "conservative"));
    json_object_set_new(o, "confidence", json_real(a->conf));
    json_object_set_new(o, "feasible", json_boolean(p->plan.feasible));
    json_object_set_new(o, "predicted_red_rate", fm_cli_json_real(p->plan.red_rate));
    json_object_set_new(o, "current_red_rate", fm_cli_json_real(p->current));
    json_object_set_new(o, "observed_red_rate", fm_cli_json_real(observed(b)));
    json_object_set_new(o, "ci_runs", json_integer(b->h.ci_runs));
    json_object_set_new(o, "red_runs", json_integer(b->h.red_runs));
    json_object_set_new(o, "expected_extra_seconds", fm_cli_json_real(p->plan.cost));
    json_object_set_new(o, "durations_known", json_boolean(b->h.durations_known));
    json_object_set_new(o, "conservative", plan_json(b, FM_HIST_MODEL_CONSERVATIVE));
    json_object_set_new(o, "point", plan_json(b, FM_HIST_MODEL_POINT));
    json_t *q = json_object();
    json_object_set_new(q, "tests", json_integer((json_int_t)b->h.others.tests));
    json_object_set_new(q, "fewest_runs",
                        b->h.others.tests ? json_integer((json_int_t)b->h.others.fewest) : json_null());
    json_object_set_new(q, "attempts", json_integer(b->h.others.attempts[m]));
    json_object_set_new(q, "upper",
                        b->h.others.tests ? fm_cli_json_real(b->h.others.fail[FM_HIST_MODEL_CONSERVATIVE][0])
                                       : json_null());
    json_object_set_new(o, "other_tests", q);
    json_object_set_new(o, "excluded_tests", json_integer((json_int_t)b->h.excluded));
    json_t *tests = json_array();
    for (size_t i = 0; i < b->h.n_tests; i++)
        json_array_append_new(tests, row_json(b, &b->h.tests[i], m));
    json_object_set_new(o, "tests", tests);
    return fm_cli_print_json(o);
}

/* "failed 40 of 575 first attempts (6.96%, 95% upper 9.40%)" */
static void reason(const struct budget *b, const fm_hist_budget_test *r, char *buf, size_t size)
{
    char est[32], up[32];
    fm_cli_fmt_prob(r->ci.estimate, est, sizeof est);
    fm_cli_fmt_prob(r->p[FM_HIST_MODEL_CONSERVATIVE], up, sizeof up);
    int len =
        snprintf(buf, size, "failed %llu of %llu first attempts (%s, %.10g%% upper %s)",
                 (unsigned long long)r->k, (unsigned long long)r->n, est, b->args->conf * 100, up);
    if (r->nq > 0 && len > 0 && (size_t)len < size)
        len += snprintf(buf + len, size - (size_t)len, "; %llu of %llu retries failed",
                        (unsigned long long)r->kq, (unsigned long long)r->nq);
    if (r->timeouts > 0 && len > 0 && (size_t)len < size)
        snprintf(buf + len, size - (size_t)len, "; %llu timeouts", (unsigned long long)r->timeouts);
}

/* A string as a JSON/TOML/Python double-quoted literal (all three accept these escapes). */
static void put_quoted(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int print_allowlist(const struct budget *b)
{
    const struct budget_args *a = b->args;
    int m = a->point ? FM_HIST_MODEL_POINT : FM_HIST_MODEL_CONSERVATIVE;
    const char *fmt = a->format;
    char why[256];
    if (strcmp(fmt, "json") == 0) {
        json_t *o = json_object(), *list = json_array();
        json_object_set_new(o, "suite", json_string(b->h.suite));
        json_object_set_new(o, "target", json_real(a->target));
        json_object_set_new(o, "model", json_string(m == FM_HIST_MODEL_POINT ? "point" : "conservative"));
        json_object_set_new(o, "feasible", json_boolean(b->h.plans[m].plan.feasible));
        json_object_set_new(o, "other_tests_attempts", json_integer(b->h.others.attempts[m]));
        for (size_t i = 0; i < b->h.n_tests; i++) {
            const fm_hist_budget_test *r = &b->h.tests[i];
            if (r->attempts[m] < 2)
                continue;
            reason(b, r, why, sizeof why);
            json_t *e = json_object();
            json_object_set_new(e, "test", json_string(r->test));
            json_object_set_new(e, "attempts", json_integer(r->attempts[m]));
            json_object_set_new(e, "rate", json_real(r->ci.estimate));
            json_object_set_new(e, "upper", json_real(r->p[FM_HIST_MODEL_CONSERVATIVE]));
            json_object_set_new(e, "reason", json_string(why));
            json_array_append_new(list, e);
        }
        json_object_set_new(o, "allowlist", list);
        return fm_cli_print_json(o);
    }
    bool toml = strcmp(fmt, "toml") == 0;
    printf("# flakemeter budget --target %.10g (%s plan) for suite ", a->target,
           m == FM_HIST_MODEL_POINT ? "point" : "conservative");
    put_quoted(b->h.suite);
    char red[32];
    printf(": %lld CI runs.\n# Predicted red rate after the plan: %s (%s the target); every other "
           "test: %u attempt%s.\n",
           (long long)b->h.ci_runs, fm_cli_fmt_prob(b->h.plans[m].plan.red_rate, red, sizeof red),
           b->h.plans[m].plan.feasible ? "meets" : "MISSES", b->h.others.attempts[m],
           b->h.others.attempts[m] == 1 ? "" : "s");
    if (!toml)
        printf(
            "# Attempts (first try + re-runs) for the tests allowed to flake.\nflaky_tests = {\n");
    for (size_t i = 0; i < b->h.n_tests; i++) {
        const fm_hist_budget_test *r = &b->h.tests[i];
        if (r->attempts[m] < 2)
            continue;
        reason(b, r, why, sizeof why);
        if (toml) {
            printf("\n[[flaky]]\ntest = ");
            put_quoted(r->test);
            printf("\nattempts = %u\nrate = %.6g\nupper = %.6g\nreason = ", r->attempts[m],
                   r->ci.estimate, r->p[FM_HIST_MODEL_CONSERVATIVE]);
            put_quoted(why);
            putchar('\n');
        } else {
            printf("    ");
            put_quoted(r->test);
            printf(": %u,  # %s\n", r->attempts[m], why);
        }
    }
    if (!toml)
        printf("}\n");
    return FM_EXIT_OK;
}

static void print_plan_line(const struct budget *b, int m, const char *name)
{
    const fm_hist_budget_plan *p = &b->h.plans[m];
    char red[32], now[32];
    printf("%-12s plan: red rate %s per CI run (%s with one attempt each), ", name,
           fm_cli_fmt_prob(p->plan.red_rate, red, sizeof red),
           fm_cli_fmt_prob(p->current, now, sizeof now));
    if (p->plan.feasible)
        printf("+%.4g %s per CI run%s\n", p->plan.cost, b->h.durations_known ? "s" : "attempts",
               p->plan.gap > 0 ? " (within a proven gap)" : "");
    else
        printf("the target is UNREACHABLE within %llu attempts\n",
               (unsigned long long)b->args->max_attempts);
}

static void print_table(const struct budget *b)
{
    const struct budget_args *a = b->args;
    int m = a->point ? FM_HIST_MODEL_POINT : FM_HIST_MODEL_CONSERVATIVE, other = 1 - m;
    char obs[32], tgt[32];
    printf("Retry budget for suite '%s': target red rate %s per CI run\n", b->h.suite,
           fm_cli_fmt_prob(a->target, tgt, sizeof tgt));
    printf("observed red rate %s (%lld of %lld CI runs)\n",
           fm_cli_fmt_prob(observed(b), obs, sizeof obs), (long long)b->h.red_runs,
           (long long)b->h.ci_runs);
    print_plan_line(b, FM_HIST_MODEL_CONSERVATIVE, "conservative");
    print_plan_line(b, FM_HIST_MODEL_POINT, "point");
    printf("\n%-36s %6s %5s  %-28s %8s %6s %9s\n", "test", "runs", "fail", "p (exact CI)",
           "attempts", m == FM_HIST_MODEL_POINT ? "cons." : "point", "extra s");
    for (size_t i = 0; i < b->h.n_tests; i++) {
        const fm_hist_budget_test *r = &b->h.tests[i];
        double v[3] = {r->ci.estimate, r->ci.lower, r->ci.upper};
        char t[3][32], ci[128];
        fm_cli_fmt_probs(v, t, 3);
        snprintf(ci, sizeof ci, "%s (%s..%s)", t[0], t[1], t[2]);
        printf("%-36s %6llu %5llu  %-28s %8u %6u %9.4g\n", r->test, (unsigned long long)r->n,
               (unsigned long long)r->k, ci, r->attempts[m], r->attempts[other],
               row_extra(r, m, m));
    }
    if (b->h.others.tests > 0) {
        char up[32];
        printf("%zu other test%s never failed: %u attempt%s each (%s plan); together at most %s "
               "(%.10g%% bound from the fewest runs, %llu: %s)\n",
               b->h.others.tests, b->h.others.tests == 1 ? "" : "s", b->h.others.attempts[m],
               b->h.others.attempts[m] == 1 ? "" : "s", m == FM_HIST_MODEL_POINT ? "point" : "conservative",
               fm_cli_fmt_prob(b->h.others.fail[FM_HIST_MODEL_CONSERVATIVE][0], up, sizeof up), a->conf * 100,
               (unsigned long long)b->h.others.fewest, b->h.others.fewest_test);
    }
    if (b->h.excluded > 0)
        printf("%zu test%s with fewer than %llu runs left out\n", b->h.excluded,
               b->h.excluded == 1 ? "" : "s", (unsigned long long)a->min_runs);
    if (!b->h.durations_known)
        printf("(the history has no durations: costs are in attempts)\n");
}

static int fail(const struct budget_args *a, fm_store *store, const fm_hist_budget *b,
                fm_hist_status st)
{
    const char *campaign = b->campaign != SIZE_MAX ? a->campaigns[b->campaign] : NULL;
    if (st == FM_HIST_ESTORE)
        return fm_cli_fail("cannot read %s: %s", a->db, fm_store_errmsg(store));
    if (st == FM_HIST_EAMBIGUOUS)
        return fm_cli_usage_error("%s holds several suites ('%s', '%s', ...): pick one with "
                                  "--label",
                                  a->db, b->suite, b->other_suite);
    if (st == FM_HIST_ENOENT)
        return fm_cli_usage_error("--campaign: no campaign '%s' in %s", campaign, a->db);
    if (st == FM_HIST_ENODATA && campaign != NULL)
        return fm_cli_usage_error("--campaign: '%s' has no completed run", campaign);
    if (st == FM_HIST_ENODATA)
        return a->label
                   ? fm_cli_usage_error("no CI history for suite '%s' in %s", a->label, a->db)
                   : fm_cli_usage_error("%s holds no CI history (see 'flakemeter ingest')", a->db);
    if (st == FM_HIST_ESTATS && b->stats == FM_STATS_ENOMEM)
        return fm_cli_fail("the plan is too large to compute (%zu tests seen failing); lower "
                           "--max-attempts",
                           b->n_tests);
    if (st == FM_HIST_ESTATS)
        return fm_cli_fail("cannot compute the plan: %s", fm_stats_strerror(b->stats));
    return fm_cli_fail("%s", fm_hist_strerror(st));
}

int cmd_budget(int argc, char **argv)
{
    struct budget_args a = {.db = "flakemeter.db", .conf = 0.95, .max_attempts = 10, .min_runs = 1};
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    fm_store *store = NULL;
    if ((rc = fm_cli_open_store(a.db, false, &store)) != 0)
        return rc;
    fm_hist_budget_options opt = {a.label,      a.campaigns,  a.n_campaigns,
                                  a.target,     a.conf,       a.have_timeout,
                                  a.timeout,    (uint32_t)a.max_attempts, a.min_runs};
    struct budget b = {.args = &a};
    fm_hist_status st = fm_hist_budget_compute(store, &opt, &b.h);
    if (st != FM_HIST_OK)
        rc = fail(&a, store, &b.h, st);
    else if (a.format != NULL)
        rc = print_allowlist(&b);
    else if (a.json)
        rc = print_json(&b);
    else {
        print_table(&b);
        rc = FM_EXIT_OK;
    }
    fm_hist_budget_free(&b.h);
    fm_store_close(store);
    return rc;
}
