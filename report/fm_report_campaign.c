/*
 * fm_report_campaign.c - a campaign in a report: the verdict table (fm_verdict_compute, the
 * numbers of `show --json`), the retry curve, the durations, the running estimate with the
 * confidence sequence and the moment the boundary rule decides, and the failure evidence.
 *
 * One pass over the campaign's rows (fm_store_runs_each) gives the running counts at a
 * geometric grid of run counts (about 500 points for a million runs), the boundary rule of
 * `--until-decided` replayed after every run for the first 2000 runs (then at the grid's points)
 * and, when a timeout is asked about, the passing durations for the log-normal fit; everything
 * else is the store's summaries.  Formulas: docs/statistics.md sec. 2 (attempts), 5 (confidence
 * sequence, boundary rule), 11 (log-normal exceedance); docs/report.md says what each picture
 * shows.
 */
#include "fm_report_internal.h"
#include "fm_verdict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The boundary rule is replayed after every run up to EVERY_RUN runs (as `run` checks it), then
 * at the plotted points. */
enum { MAX_CHECKS = 2048, RETRY_MAX = 64, EVERY_RUN = 2000 };

typedef struct {
    int64_t n, k;
} check_point;

typedef struct {
    const fm_report_options *opt;
    fm_campaign_info info;
    fm_verdict v;
    check_point *checks;
    size_t n_checks;
    int64_t next_check; /* the run count of the next point */
    int64_t n, k;       /* running counts */
    double *pass_s;     /* passing first attempts' seconds (only with a timeout) */
    size_t n_pass, cap_pass;
    int64_t exceeded, counted_walls; /* first attempts longer than the timeout, of counted */
    fm_seq_decision seq;             /* the boundary rule's state so far */
    int64_t decided_n;               /* where it stopped in the every-run replay; 0: not */
    bool oom;
} campaign_data;

static int on_run(const fm_run_record *r, void *ctx)
{
    campaign_data *cd = ctx;
    if (r->attempt != 1 || !fm_outcome_counted(r->outcome))
        return 0;
    cd->n++;
    cd->k += r->outcome != FM_OUTCOME_PASS;
    if (cd->opt->timeout_s > 0) {
        double s = (double)r->wall_ns / 1e9;
        cd->counted_walls++;
        cd->exceeded += s > cd->opt->timeout_s || r->outcome == FM_OUTCOME_TIMEOUT;
        if (r->outcome == FM_OUTCOME_PASS && s > 0) {
            if (cd->n_pass == cd->cap_pass) {
                size_t cap = cd->cap_pass ? cd->cap_pass * 2 : 1024;
                double *p = realloc(cd->pass_s, cap * sizeof *p);
                if (p == NULL) {
                    cd->oom = true;
                    return 1;
                }
                cd->pass_s = p, cd->cap_pass = cap;
            }
            cd->pass_s[cd->n_pass++] = s;
        }
    }
    bool stop = false;
    if (cd->n <= EVERY_RUN && cd->decided_n == 0 &&
        fm_stats_seq_update((uint64_t)cd->k, (uint64_t)cd->n, cd->opt->confidence, cd->opt->target,
                            &cd->seq) == FM_STATS_OK &&
        (cd->seq.decided || cd->seq.indifferent)) {
        cd->decided_n = cd->n;
        stop = true; /* the decision moment is one of the points */
    }
    if ((stop || cd->n >= cd->next_check) && cd->n_checks < MAX_CHECKS - 1) {
        cd->checks[cd->n_checks++] = (check_point){cd->n, cd->k};
        cd->next_check = (int64_t)fmax((double)cd->n + 1, ceil((double)cd->n * 1.03));
    }
    return 0;
}

static void data_free(campaign_data *cd)
{
    free(cd->checks);
    free(cd->pass_s);
}

static fm_report_status load(fm_store *store, int64_t id, const fm_report_options *opt,
                             campaign_data *cd, char *err, size_t size)
{
    *cd = (campaign_data){.opt = opt, .next_check = 1};
    if (fm_store_campaign_info(store, id, &cd->info) != FM_STORE_OK ||
        fm_verdict_compute(store, id, opt->target, opt->confidence, &cd->v) != FM_STORE_OK) {
        snprintf(err, size, "cannot read %s: %s", opt->db, fm_store_errmsg(store));
        return FM_REPORT_ESTORE;
    }
    cd->checks = malloc(MAX_CHECKS * sizeof *cd->checks);
    if (cd->checks == NULL)
        return FM_REPORT_ENOMEM;
    if (fm_store_runs_each(store, id, on_run, cd) != FM_STORE_OK) {
        snprintf(err, size, "cannot read %s: %s", opt->db, fm_store_errmsg(store));
        return FM_REPORT_ESTORE;
    }
    if (cd->oom)
        return FM_REPORT_ENOMEM;
    if (cd->n > 0 && (cd->n_checks == 0 || cd->checks[cd->n_checks - 1].n != cd->n))
        cd->checks[cd->n_checks++] = (check_point){cd->n, cd->k};
    return FM_REPORT_OK;
}

/* ---- the retry curve ------------------------------------------------------------------------ */

typedef struct {
    size_t n;
    double a[RETRY_MAX], point[RETRY_MAX], cons[RETRY_MAX], bayes[RETRY_MAX], lo[RETRY_MAX],
        hi[RETRY_MAX];
} retry_curve;

static void retry_compute(const fm_verdict *v, retry_curve *rc)
{
    const fm_attempts_report *ar = &v->attempts;
    uint64_t top = ar->conservative.attempts.reachable ? ar->conservative.attempts.attempts : 20;
    if (ar->bayes.attempts.reachable)
        top = top > ar->bayes.attempts.attempts ? top : ar->bayes.attempts.attempts;
    top += 2;
    if (top < 5)
        top = 5;
    rc->n = top > RETRY_MAX ? RETRY_MAX : (size_t)top;
    double alpha = (double)v->k + FM_STATS_CS_PRIOR_A, beta = (double)(v->n - v->k) + 0.5;
    for (size_t i = 0; i < rc->n; i++) {
        double a = (double)(i + 1);
        rc->a[i] = a;
        rc->point[i] = pow(ar->point.p, a);
        rc->cons[i] = pow(ar->conservative.p, a);
        rc->lo[i] = pow(v->ci.lower, a);
        rc->hi[i] = pow(v->ci.upper, a);
        if (fm_stats_beta_moment(alpha, beta, (uint64_t)(i + 1), &rc->bayes[i]) != FM_STATS_OK)
            rc->bayes[i] = NAN;
    }
}

static void retry_svg(const campaign_data *cd, const retry_curve *rc, fm_rep_buf *b)
{
    double ymin = cd->opt->target / 100;
    for (size_t i = 0; i < rc->n; i++)
        if (rc->cons[i] > 0)
            ymin = fmin(ymin, rc->cons[i]);
    ymin = fmax(pow(10, floor(log10(ymin))), 1e-300);
    fm_svg c;
    fm_svg_begin(&c, b, 760, 380, "Retry curve: ", cd->info.label, "attempts",
                 "P(all attempts fail)", 1, (double)rc->n, false, ymin, 1, true, false);
    fm_svg_band(&c, rc->a, rc->lo, rc->hi, rc->n, FM_C_BAND, 0.3);
    fm_svg_line(&c, rc->a, rc->point, rc->n, FM_C_POINT, NULL, 2);
    fm_svg_line(&c, rc->a, rc->cons, rc->n, FM_C_CONS, NULL, 2);
    fm_svg_line(&c, rc->a, rc->bayes, rc->n, FM_C_BAYES, "2 2", 2);
    char lab[96];
    snprintf(lab, sizeof lab, "target %g", cd->opt->target);
    fm_svg_hline(&c, cd->opt->target, FM_C_TARGET, lab);
    const fm_attempts *chosen = &cd->v.attempts.conservative.attempts;
    if (chosen->reachable && chosen->attempts <= rc->n) {
        snprintf(lab, sizeof lab, "chosen: %llu attempts (conservative)",
                 (unsigned long long)chosen->attempts);
        fm_svg_vline(&c, (double)chosen->attempts, FM_C_CONS, lab);
        fm_svg_dot(&c, (double)chosen->attempts, rc->cons[chosen->attempts - 1], FM_C_CONS, 5);
    }
    char band[64];
    snprintf(band, sizeof band, "%g%% CI band (exact)", cd->opt->confidence * 100);
    const char *names[] = {"point (k/n)", "conservative (upper bound)", "Bayes (Jeffreys prior)",
                           band};
    const char *colors[] = {FM_C_POINT, FM_C_CONS, FM_C_BAYES, FM_C_BAND};
    fm_svg_legend(&c, names, colors, 4);
    fm_svg_end(&c);
}

/* ---- durations ------------------------------------------------------------------------------ */

typedef struct {
    double s[101], q[101];
    size_t n;
    bool have_fit;
    fm_interval exceed; /* P(a run exceeds the timeout) under the log-normal fit */
} durations;

static void durations_compute(fm_store *store, int64_t id, campaign_data *cd, durations *du)
{
    du->n = 0;
    /* The 101 percentiles in one set of passes over the store (fm_store_wall_quantiles). */
    int64_t ns[101];
    for (int i = 0; i <= 100; i++)
        du->q[i] = i / 100.0;
    if (fm_store_wall_quantiles(store, id, du->q, 101, ns) == FM_STORE_OK)
        for (int i = 0; i <= 100 && ns[i] >= 0; i++)
            du->s[du->n++] = (double)ns[i] / 1e9;
    du->have_fit = false;
    fm_lognormal_fit fit;
    if (cd->opt->timeout_s > 0 && cd->n_pass >= 2 &&
        fm_stats_lognormal_fit(cd->pass_s, cd->n_pass, &fit) == FM_STATS_OK &&
        fm_stats_lognormal_exceed(&fit, cd->opt->timeout_s, cd->opt->confidence, &du->exceed) ==
            FM_STATS_OK)
        du->have_fit = true;
}

static void durations_svg(const campaign_data *cd, const durations *du, fm_rep_buf *b)
{
    double lo = du->n ? du->s[0] : 1e-3, hi = du->n ? du->s[du->n - 1] : 1;
    if (cd->opt->timeout_s > 0)
        hi = fmax(hi, cd->opt->timeout_s * 1.05);
    bool logx = lo > 0 && hi / lo > 20;
    if (logx)
        lo = pow(10, floor(log10(lo))), hi = pow(10, ceil(log10(hi)));
    else
        lo = 0, hi = hi > 0 ? hi * 1.05 : 1;
    fm_svg c;
    fm_svg_begin(&c, b, 760, 340, "Durations: ", cd->info.label, "seconds (wall, every attempt)",
                 "fraction of attempts at most this long", lo, hi, logx, 0, 1, false, true);
    fm_svg_steps(&c, du->s, du->q, du->n, FM_C_POINT);
    if (cd->opt->timeout_s > 0) {
        char lab[128];
        if (du->have_fit)
            snprintf(lab, sizeof lab, "timeout %gs: predicted P(exceed) %.3g%%", cd->opt->timeout_s,
                     du->exceed.estimate * 100);
        else
            snprintf(lab, sizeof lab, "timeout %gs", cd->opt->timeout_s);
        fm_svg_vline(&c, cd->opt->timeout_s, FM_C_TARGET, lab);
    }
    fm_svg_end(&c);
}

/* ---- the running estimate ------------------------------------------------------------------- */

typedef struct {
    double *n, *est, *lo, *hi;
    size_t count;
    size_t decided_at; /* index of the first point where the boundary rule stops; SIZE_MAX: none */
    fm_seq_decision decision;
    bool failed;
} running;

static void running_compute(const campaign_data *cd, running *ru)
{
    size_t m = cd->n_checks;
    *ru = (running){.decided_at = SIZE_MAX};
    ru->n = calloc(m + 1, sizeof(double)), ru->est = calloc(m + 1, sizeof(double));
    ru->lo = calloc(m + 1, sizeof(double)), ru->hi = calloc(m + 1, sizeof(double));
    if (!ru->n || !ru->est || !ru->lo || !ru->hi) {
        ru->failed = true;
        return;
    }
    fm_seq_decision state = cd->seq;
    for (size_t i = 0; i < m; i++) {
        const check_point *p = &cd->checks[i];
        fm_interval cs;
        if (fm_stats_cs_interval((uint64_t)p->k, (uint64_t)p->n, cd->opt->confidence,
                                 FM_STATS_CS_PRIOR_A, FM_STATS_CS_PRIOR_B, &cs) != FM_STATS_OK)
            continue;
        ru->n[ru->count] = (double)p->n;
        ru->est[ru->count] = cs.estimate;
        ru->lo[ru->count] = cs.lower;
        ru->hi[ru->count] = cs.upper;
        if (cd->decided_n > 0 && p->n == cd->decided_n) {
            ru->decided_at = ru->count;
            ru->decision = cd->seq;
        } else if (cd->decided_n == 0 && p->n > EVERY_RUN && ru->decided_at == SIZE_MAX &&
                   fm_stats_seq_update((uint64_t)p->k, (uint64_t)p->n, cd->opt->confidence,
                                       cd->opt->target, &state) == FM_STATS_OK &&
                   (state.decided || state.indifferent)) {
            ru->decided_at = ru->count;
            ru->decision = state;
        }
        ru->count++;
    }
}

static void running_free(running *ru)
{
    free(ru->n), free(ru->est), free(ru->lo), free(ru->hi);
}

static void running_svg(const campaign_data *cd, const running *ru, fm_rep_buf *b)
{
    double top = ru->count ? ru->hi[ru->count - 1] * 4 : 1;
    top = fmin(1, fmax(top, 1e-6));
    double x1 = ru->count ? ru->n[ru->count - 1] : 10;
    fm_svg c;
    fm_svg_begin(&c, b, 760, 360, "Running estimate: ", cd->info.label,
                 "counted runs (first attempts, in run order)", "failure probability", 1,
                 fmax(x1, 10), true, 0, top, false, true);
    fm_svg_band(&c, ru->n, ru->lo, ru->hi, ru->count, FM_C_BAND, 0.3);
    fm_svg_line(&c, ru->n, ru->est, ru->count, FM_C_POINT, NULL, 2);
    if (ru->decided_at != SIZE_MAX) {
        char lab[128];
        const fm_seq_decision *s = &ru->decision;
        if (s->beyond)
            snprintf(lab, sizeof lab, "decided at %.0f runs: more than %llu attempts",
                     ru->n[ru->decided_at], (unsigned long long)FM_STATS_SEQ_MAX_COUNT);
        else
            snprintf(lab, sizeof lab, "decided at %.0f runs: %llu attempts%s",
                     ru->n[ru->decided_at], (unsigned long long)s->attempts.attempts,
                     s->indifferent ? " (safe side)" : "");
        fm_svg_vline(&c, ru->n[ru->decided_at], FM_C_CONS, lab);
        if (!s->beyond && s->attempts.attempts >= 1) {
            /* The boundary p = target^(1/A) that the decided count A keeps p under. */
            double bnd = pow(cd->opt->target, 1.0 / (double)s->attempts.attempts);
            snprintf(lab, sizeof lab, "p = target^(1/%llu)",
                     (unsigned long long)s->attempts.attempts);
            fm_svg_hline(&c, bnd, FM_C_TARGET, lab);
        }
    }
    char band[64];
    snprintf(band, sizeof band, "%g%% confidence sequence", cd->opt->confidence * 100);
    const char *names[] = {"estimate k/n", band};
    const char *colors[] = {FM_C_POINT, FM_C_BAND};
    fm_svg_legend(&c, names, colors, 2);
    fm_svg_end(&c);
}

/* ---- tables --------------------------------------------------------------------------------- */

static void verdict_table(fm_rep_doc *d, const fm_verdict *v)
{
    static const char *const h[] = {"quantity", "value"};
    const int64_t *first = v->sum.first_by_outcome;
    fm_rep_table_begin(d, "verdict", h, 2);
    static const char *const names[] = {"runs (first attempts)",
                                        "passed",
                                        "failed",
                                        "crashed",
                                        "timed out",
                                        "errors",
                                        "interrupted"};
    static const char *const keys[] = {"runs",      "passed", "failed",     "crashed",
                                       "timed_out", "errors", "interrupted"};
    const int64_t vals[] = {v->sum.first,
                            first[FM_OUTCOME_PASS],
                            first[FM_OUTCOME_FAIL],
                            first[FM_OUTCOME_CRASH],
                            first[FM_OUTCOME_TIMEOUT],
                            first[FM_OUTCOME_ERROR],
                            first[FM_OUTCOME_INTERRUPTED]};
    for (int i = 0; i < 7; i++) {
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, names[i]);
        fm_rep_cell_int(d, keys[i], vals[i]);
        fm_rep_row_end(d);
    }
    bool have = v->n > 0;
    const double p[3] = {have ? v->ci.estimate : NAN, have ? v->ci.lower : NAN,
                         have ? v->ci.upper : NAN};
    static const char *const pn[] = {"failure probability", "lower (exact CI)", "upper (exact CI)"};
    static const char *const pk[] = {"estimate", "lower", "upper"};
    for (int i = 0; i < 3; i++) {
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, pn[i]);
        fm_rep_cell_prob(d, pk[i], p[i]);
        fm_rep_row_end(d);
    }
    const fm_attempts_answer *ans[3] = {&v->attempts.point, &v->attempts.conservative,
                                        &v->attempts.bayes};
    static const char *const an[] = {"attempts (point)", "attempts (conservative)",
                                     "attempts (Bayes)"};
    static const char *const ak[] = {"attempts.point.attempts", "attempts.conservative.attempts",
                                     "attempts.bayes.attempts"};
    for (int i = 0; have && i < 3; i++) {
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, an[i]);
        if (ans[i]->attempts.reachable)
            fm_rep_cell_int(d, ak[i], (int64_t)ans[i]->attempts.attempts);
        else
            fm_rep_cell_num(d, ak[i], NAN, "unreachable");
        fm_rep_row_end(d);
    }
    static const char *const dn[] = {"duration p50", "duration p90", "duration p99",
                                     "duration max"};
    static const char *const dk[] = {"durations.p50", "durations.p90", "durations.p99",
                                     "durations.max"};
    for (int i = 0; i < 4; i++) {
        char s[48];
        double sec = v->durations_ns[i] < 0 ? NAN : (double)v->durations_ns[i] / 1e9;
        if (isfinite(sec))
            snprintf(s, sizeof s, "%.6g s", sec);
        else
            snprintf(s, sizeof s, "-");
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, dn[i]);
        fm_rep_cell_num(d, dk[i], sec, s);
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
}

static void retry_table(fm_rep_doc *d, const retry_curve *rc)
{
    static const char *const h[] = {"attempts", "point",       "conservative",
                                    "Bayes",    "CI band low", "CI band high"};
    fm_rep_table_begin(d, "retry", h, 6);
    for (size_t i = 0; i < rc->n; i++) {
        fm_rep_row_begin(d);
        char a[24];
        snprintf(a, sizeof a, "%zu", i + 1);
        fm_rep_cell_num(d, "attempts", (double)(i + 1), a);
        const double *cols[5] = {rc->point, rc->cons, rc->bayes, rc->lo, rc->hi};
        static const char *const keys[5] = {"point", "conservative", "bayes", "band_lower",
                                            "band_upper"};
        for (int k = 0; k < 5; k++) {
            char s[32];
            snprintf(s, sizeof s, "%.3g", cols[k][i]);
            fm_rep_cell_num(d, keys[k], cols[k][i], s);
        }
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
}

static void running_table(fm_rep_doc *d, const running *ru)
{
    static const char *const h[] = {"runs", "estimate", "sequence low", "sequence high"};
    fm_rep_table_begin(d, "running", h, 4);
    for (size_t i = 0; i < ru->count; i++) {
        /* About ten rows: every (count/10)th point, the decision point and the last. */
        size_t every = ru->count / 10 + 1;
        if (i % every != 0 && i != ru->decided_at && i + 1 != ru->count)
            continue;
        fm_rep_row_begin(d);
        char s[32];
        snprintf(s, sizeof s, "%.0f%s", ru->n[i], i == ru->decided_at ? " (decided)" : "");
        fm_rep_cell_num(d, "runs", ru->n[i], s);
        fm_rep_cell_prob(d, "estimate", ru->est[i]);
        fm_rep_cell_prob(d, "lower", ru->lo[i]);
        fm_rep_cell_prob(d, "upper", ru->hi[i]);
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
}

static void cause_text(const fm_store_cause *c, char *buf, size_t size)
{
    bool exit = c->outcome == FM_OUTCOME_FAIL || c->outcome == FM_OUTCOME_ERROR;
    if (!c->has_code)
        snprintf(buf, size, "%s", fm_outcome_name(c->outcome));
    else if (exit)
        snprintf(buf, size, "%s, exit code %d", fm_outcome_name(c->outcome), c->code);
    else
        snprintf(buf, size, "%s, signal %d", fm_outcome_name(c->outcome), c->code);
}

static int evidence_cb(const fm_store_evidence *ev, void *ctx)
{
    fm_rep_doc *d = ctx;
    char cause[96];
    cause_text(&ev->cause, cause, sizeof cause);
    if ((size_t)ev->output_bytes > ev->tail_len)
        fm_rep_para(d, "Run %lld, attempt %u: %s; the last %zu of %lld bytes of output:",
                    (long long)ev->run_index, ev->attempt, cause, ev->tail_len,
                    (long long)ev->output_bytes);
    else
        fm_rep_para(d,
                    "Run %lld, attempt %u: %s; its %zu bytes of output:", (long long)ev->run_index,
                    ev->attempt, cause, ev->tail_len);
    if (ev->tail_len > 0)
        fm_rep_pre(d, ev->tail, ev->tail_len);
    return 0;
}

static void evidence(fm_rep_doc *d, fm_store *store, int64_t id, const fm_verdict *v)
{
    if (v->n_causes == 0)
        return;
    fm_rep_heading(d, 4, "Failures by cause", NULL);
    static const char *const h[] = {"cause", "first attempts"};
    fm_rep_table_begin(d, "causes", h, 2);
    for (size_t i = 0; i < v->n_causes; i++) {
        char cause[96];
        cause_text(&v->causes[i], cause, sizeof cause);
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, cause);
        fm_rep_cell_int(d, "count", v->causes[i].count);
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
    fm_rep_heading(d, 4, "Output of the first failing attempts of each cause", NULL);
    if (fm_store_evidence_each(store, id, evidence_cb, d) != FM_STORE_OK)
        fm_rep_fail(d, FM_REPORT_ESTORE, "cannot read the evidence: %s", fm_store_errmsg(store));
}

/* ---- the section ---------------------------------------------------------------------------- */

void fm_rep_campaign(fm_rep_doc *d, fm_store *store, int64_t id)
{
    campaign_data cd;
    char err[512] = "";
    fm_report_status st = load(store, id, d->opt, &cd, err, sizeof err);
    if (st != FM_REPORT_OK) {
        fm_rep_fail(d, st, "%s", *err ? err : fm_report_strerror(st));
        data_free(&cd);
        return;
    }
    const fm_verdict *v = &cd.v;
    fm_rep_heading(d, 2, "Campaign: ", cd.info.label);
    fm_rep_para_named(d, "Conditions: ", cd.info.conditions, NULL);
    fm_rep_para_named(d, "Architecture: ", cd.info.arch, NULL);
    verdict_table(d, v);
    if (v->n == 0) {
        fm_rep_para(d, "No counted runs: nothing to estimate.");
        data_free(&cd);
        return;
    }
    fm_rep_heading(d, 3, "Retry curve", NULL);
    retry_curve rc;
    retry_compute(v, &rc);
    fm_rep_buf svg = {0};
    retry_svg(&cd, &rc, &svg);
    fm_rep_picture(d, &svg,
                   "P(all attempts fail) against attempts: point, conservative and Bayes "
                   "answers, the band of the exact interval, the target, the chosen count");
    retry_table(d, &rc);

    fm_rep_heading(d, 3, "Durations", NULL);
    durations du;
    durations_compute(store, id, &cd, &du);
    durations_svg(&cd, &du, &svg);
    fm_rep_picture(d, &svg, "The share of attempts that took at most x seconds (ECDF)");
    if (d->opt->timeout_s > 0) {
        static const char *const h[] = {"timeout (s)",         "first attempts", "exceeded",
                                        "predicted P(exceed)", "lower",          "upper"};
        fm_rep_table_begin(d, "timeout", h, 6);
        fm_rep_row_begin(d);
        char s[32];
        snprintf(s, sizeof s, "%g", d->opt->timeout_s);
        fm_rep_cell_num(d, "timeout_s", d->opt->timeout_s, s);
        fm_rep_cell_int(d, "runs", cd.counted_walls);
        fm_rep_cell_int(d, "exceeded", cd.exceeded);
        fm_rep_cell_prob(d, "p", du.have_fit ? du.exceed.estimate : NAN);
        fm_rep_cell_prob(d, "p_lower", du.have_fit ? du.exceed.lower : NAN);
        fm_rep_cell_prob(d, "p_upper", du.have_fit ? du.exceed.upper : NAN);
        fm_rep_row_end(d);
        fm_rep_table_end(d);
    }

    fm_rep_heading(d, 3, "Running estimate", NULL);
    running ru;
    running_compute(&cd, &ru);
    if (ru.failed) {
        fm_rep_fail(d, FM_REPORT_ENOMEM, "out of memory");
    } else {
        running_svg(&cd, &ru, &svg);
        fm_rep_picture(d, &svg,
                       "The estimate after each number of runs with its anytime-valid "
                       "confidence sequence, and where --until-decided would stop");
        running_table(d, &ru);
    }
    running_free(&ru);
    evidence(d, store, id, v);
    data_free(&cd);
}

fm_report_status fm_rep_campaign_picture(fm_store *store, int64_t id, fm_report_picture what,
                                         const fm_report_options *opt, fm_rep_buf *svg, char *err,
                                         size_t err_size)
{
    campaign_data cd;
    fm_report_status st = load(store, id, opt, &cd, err, err_size);
    if (st == FM_REPORT_OK && cd.v.n == 0) {
        snprintf(err, err_size, "the campaign has no counted runs to draw");
        st = FM_REPORT_ENODATA;
    }
    if (st != FM_REPORT_OK) {
        data_free(&cd);
        return st;
    }
    if (what == FM_REPORT_PIC_RETRY) {
        retry_curve rc;
        retry_compute(&cd.v, &rc);
        retry_svg(&cd, &rc, svg);
    } else if (what == FM_REPORT_PIC_DURATIONS) {
        durations du;
        durations_compute(store, id, &cd, &du);
        durations_svg(&cd, &du, svg);
    } else {
        running ru;
        running_compute(&cd, &ru);
        if (ru.failed)
            st = FM_REPORT_ENOMEM;
        else
            running_svg(&cd, &ru, svg);
        running_free(&ru);
    }
    data_free(&cd);
    return svg->oom ? FM_REPORT_ENOMEM : st;
}
