/*
 * cmd_budget.c - `flakemeter budget`: per-test attempt counts for a whole suite from its CI
 * history, so that a CI run goes red at most a target fraction of the time with the least
 * expected added CI time, and the allowlist that carries them into the CI configuration.
 *
 * Every test that failed a first attempt (or a retry) is its own choice in the optimisation
 * (fm_stats_budget_optimize); its failure model is p1 for the first attempt and, where retry
 * chains were seen, q for a retry after a failure (else q = p1).  The tests never seen failing
 * are one pooled choice, "every other test gets A attempts": their joint conservative bound is
 * the single-test bound at the fewest runs among them (docs/statistics.md, sec. 9), since the
 * chance that none of them ever failed is prod_i (1 - p_i)^(n_i) <= exp(-n_min sum_i u_i) with
 * u_i = -log(1 - p_i).  Two plans are computed: conservative (one-sided exact upper bounds at
 * --confidence; Bonferroni halves for p1 and q as in fm_stats_chain) and point (k/n); --point
 * makes the point plan the main one.
 *
 * Durations: the mean first-attempt duration of passes and of failures per test; a timeout
 * counts as --timeout seconds when given (the full timeout, which is what it costs).
 */
#include "fm_cli.h"
#include "fm_history.h"
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
    "(conservative); the point-estimate plan is shown beside it.\n";

enum { MODEL_POINT = 0, MODEL_CONSERVATIVE = 1 };

enum { MAX_CAMPAIGNS = 32 };

struct budget_args {
    const char *db, *label, *format;
    const char *campaigns[MAX_CAMPAIGNS];
    size_t n_campaigns;
    double target, conf, timeout;
    uint64_t max_attempts, min_runs;
    bool point, json, have_target, have_timeout;
};

/* One test seen failing, and its two models. */
struct row {
    const fm_history_test *h;
    uint64_t n, k, nq, kq, timeouts;
    double pass_s, fail_s;
    fm_interval ci;    /* exact two-sided at C */
    double p[2], q[2]; /* by model */
    double fail[2][64], cost[2][64];
    uint32_t attempts[2];
};

/* The tests never seen failing, pooled. */
struct quiet {
    size_t tests;
    uint64_t fewest;
    const char *fewest_test;
    double seconds; /* the longest mean duration among them: what a retry of one costs at most */
    double fail[2][64], cost[2][64];
    uint32_t options[2];
    uint32_t attempts[2];
};

struct plan {
    fm_budget_plan plan;
    double current; /* predicted red rate with one attempt each */
};

struct budget {
    const struct budget_args *args;
    fm_history_test live[MAX_CAMPAIGNS]; /* names of the --campaign tests (no CI runs) */
    fm_history_test *hist;
    size_t n_hist, n_rows, excluded;
    struct row *rows;
    struct quiet quiet;
    int64_t ci_runs, red_runs;
    bool durations_known;
    struct plan plans[2];
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
        FM_OPT_REAL('t', "target", &a->target, 0, 1, FM_OPT_OPEN, "T",
                    "red-rate target per CI run, in (0, 1), e.g. 0.01", .seen = &a->have_target),
        FM_OPT_STRING(0, "db", &a->db, "PATH", "the store (default flakemeter.db)"),
        FM_OPT_STRING(0, "label", &a->label, "SUITE",
                      "the suite (needed when the store holds several)"),
        FM_OPT_BOOL(0, "point", &a->point, "plan with the point estimates k/n instead"),
        FM_OPT_REAL(0, "timeout", &a->timeout, 0, 1e9, FM_OPT_LO_OPEN, "S",
                    "a timed-out attempt costs S seconds (default: its measured time)",
                    .seen = &a->have_timeout),
        FM_OPT_COUNT(0, "max-attempts", &a->max_attempts, 1, 64, "N",
                     "at most N attempts per test, 1..64 (default 10)"),
        FM_OPT_REAL('c', "confidence", &a->conf, 0, 1, FM_OPT_OPEN, "C",
                    "level of the upper bounds, in (0, 1) (default 0.95)"),
        FM_OPT_COUNT(0, "min-runs", &a->min_runs, 1, FM_STATS_MAX_ATTEMPTS, "N",
                     "leave out tests with fewer than N CI runs (default 1)"),
        FM_OPT_CALL(0, "campaign", a, add_campaign, "LABEL",
                    "add a campaign measured with 'flakemeter run' as a test of the suite, named "
                    "LABEL (its first attempts, retry chains and median duration); it replaces a "
                    "CI test of the same name (repeatable)"),
        FM_OPT_BOOL(0, "json", &a->json, "print one JSON object"),
        FM_OPT_STRING(0, "format", &a->format, "F",
                      "print the allowlist (tests given more than one attempt, with their measured "
                      "rates) as json, toml or micropython"),
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

/* ---- per-test counts from the history ------------------------------------------------------ */

static bool failed(uint8_t outcome)
{
    return outcome != FM_OUTCOME_PASS;
}

/* Counts, retry chains and mean durations of one test. */
static void count_test(const fm_history_test *h, const struct budget_args *a, struct row *r)
{
    double pass_sum = 0, fail_sum = 0;
    uint64_t pass_n = 0, fail_n = 0;
    *r = (struct row){.h = h, .n = h->n};
    for (size_t i = 0; i < h->n; i++) {
        const fm_history_run *run = &h->runs[i];
        bool timeout = run->first == FM_OUTCOME_TIMEOUT;
        if (failed(run->first)) {
            r->k++;
            r->timeouts += timeout;
            if (run->attempts > 1) { /* a chain: retries stop at the first pass */
                uint64_t retries = run->attempts - 1u;
                r->nq += retries;
                r->kq += failed(run->last) ? retries : retries - 1;
            }
        }
        double s = timeout && a->have_timeout ? a->timeout : run->first_s;
        if (!isfinite(s))
            continue;
        if (failed(run->first))
            fail_sum += s, fail_n++;
        else
            pass_sum += s, pass_n++;
    }
    r->pass_s = pass_n ? pass_sum / (double)pass_n : NAN;
    r->fail_s = fail_n ? fail_sum / (double)fail_n : NAN;
    if (isnan(r->fail_s) && r->timeouts > 0 && a->have_timeout)
        r->fail_s = a->timeout;
    if (isnan(r->fail_s))
        r->fail_s = r->pass_s;
    if (isnan(r->pass_s))
        r->pass_s = r->fail_s;
}

/* Tests without any duration get the suite's mean; without any at all, 1 s ("attempts"). */
static void fill_durations(struct budget *b)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < b->n_rows; i++)
        if (isfinite(b->rows[i].pass_s))
            sum += b->rows[i].pass_s, n++;
    b->durations_known = n > 0 || isfinite(b->quiet.seconds);
    double fallback = n ? sum / (double)n : isfinite(b->quiet.seconds) ? b->quiet.seconds : 1.0;
    for (size_t i = 0; i < b->n_rows; i++)
        if (!isfinite(b->rows[i].pass_s))
            b->rows[i].pass_s = b->rows[i].fail_s = fallback;
    if (!isfinite(b->quiet.seconds))
        b->quiet.seconds = fallback;
}

/* ---- models ---------------------------------------------------------------------------------- */

static fm_stats_status model_row(const struct budget_args *a, struct row *r)
{
    fm_stats_status st =
        fm_stats_interval(r->k, r->n, a->conf, FM_CI_EXACT, FM_CI_TWO_SIDED, &r->ci);
    if (st != FM_STATS_OK)
        return st;
    r->p[MODEL_POINT] = r->ci.estimate;
    r->q[MODEL_POINT] = r->nq ? (double)r->kq / (double)r->nq : r->ci.estimate;
    if (r->nq > 0) {
        fm_chain_stats cs;
        if ((st = fm_stats_chain(r->k, r->n, r->kq, r->nq, a->conf, 0.5, &cs)))
            return st;
        r->p[MODEL_CONSERVATIVE] = cs.p1_upper;
        r->q[MODEL_CONSERVATIVE] = cs.q_upper;
    } else {
        fm_interval up;
        if ((st = fm_stats_interval(r->k, r->n, a->conf, FM_CI_EXACT, FM_CI_UPPER, &up)))
            return st;
        r->p[MODEL_CONSERVATIVE] = r->q[MODEL_CONSERVATIVE] = up.upper;
    }
    for (int m = 0; m < 2 && st == FM_STATS_OK; m++)
        st = fm_stats_budget_tables(r->p[m], r->q[m], r->pass_s, r->fail_s,
                                    (uint32_t)a->max_attempts, r->fail[m], r->cost[m]);
    return st;
}

/*
 * The pooled quiet tests.  Conservative: with u_i = -log(1 - p_i), sum u_i <= s = log(1/(1-C))
 * / n_min at level C, so one attempt each fails together with at most 1 - e^-s, and A >= 2
 * attempts with at most sum p_i^A <= s^A; a retry of one of them costs at most the longest
 * mean duration, and they reach a retry with at most sum p_i <= s.  Point: they never fail.
 */
static fm_stats_status model_quiet(const struct budget_args *a, struct quiet *g)
{
    uint32_t cap = (uint32_t)a->max_attempts;
    g->options[MODEL_POINT] = 1;
    g->fail[MODEL_POINT][0] = g->cost[MODEL_POINT][0] = 0.0;
    g->options[MODEL_CONSERVATIVE] = cap;
    double s = -log1p(-a->conf) / (double)g->fewest, s1 = fmin(s, 1.0);
    for (uint32_t k = 1; k <= cap; k++) {
        double *f = &g->fail[MODEL_CONSERVATIVE][k - 1], *c = &g->cost[MODEL_CONSERVATIVE][k - 1];
        *f = k == 1 ? -expm1(-s) : fmin(1.0, pow(s, (double)k));
        fm_stats_status st = fm_stats_retry_extra_seconds(s1, s1, k, g->seconds, g->seconds, c);
        if (st != FM_STATS_OK)
            return st;
    }
    return FM_STATS_OK;
}

/* Run the optimiser for one model; attempts go back into the rows and the group. */
static fm_stats_status plan_model(struct budget *b, int m)
{
    size_t n = b->n_rows + (b->quiet.tests > 0);
    fm_budget_item *items = calloc(n + 1, sizeof *items);
    uint32_t *att = calloc(n + 1, sizeof *att);
    fm_stats_status st = items && att ? FM_STATS_OK : FM_STATS_ENOMEM;
    double log_keep = 0;
    for (size_t i = 0; st == FM_STATS_OK && i < b->n_rows; i++) {
        struct row *r = &b->rows[i];
        items[i] = (fm_budget_item){(uint32_t)b->args->max_attempts, r->fail[m], r->cost[m]};
        log_keep += log1p(-r->fail[m][0]);
    }
    if (st == FM_STATS_OK && b->quiet.tests > 0) {
        struct quiet *g = &b->quiet;
        items[b->n_rows] = (fm_budget_item){g->options[m], g->fail[m], g->cost[m]};
        log_keep += log1p(-g->fail[m][0]);
    }
    if (st == FM_STATS_OK)
        st = fm_stats_budget_optimize(items, n, b->args->target, att, &b->plans[m].plan);
    if (st == FM_STATS_OK) {
        b->plans[m].current = -expm1(log_keep);
        for (size_t i = 0; i < b->n_rows; i++)
            b->rows[i].attempts[m] = att[i];
        b->quiet.attempts[m] = b->quiet.tests > 0 ? att[b->n_rows] : 1;
    }
    free(items);
    free(att);
    return st;
}

/* ---- loading --------------------------------------------------------------------------------- */

/* The one suite of the store, or a usage error naming the choices. */
static int pick_label(const struct budget_args *a, const fm_history_test *h, size_t n)
{
    if (a->label != NULL || n == 0)
        return -1;
    for (size_t i = 1; i < n; i++)
        if (strcmp(h[i].label, h[0].label) != 0)
            return fm_cli_usage_error("%s holds several suites ('%s', '%s', ...): pick one with "
                                      "--label",
                                      a->db, h[0].label, h[i].label);
    return -1;
}

static int cmp_rows(const void *x, const void *y)
{
    const struct row *a = x, *b = y;
    if (a->ci.estimate != b->ci.estimate)
        return a->ci.estimate > b->ci.estimate ? -1 : 1;
    return strcmp(a->h->test, b->h->test);
}

/*
 * A campaign of `flakemeter run` as a test: its first attempts (start errors left out), its
 * retry chains (every attempt >= 2 follows a failure of its chain) and its median duration.
 */
static int campaign_row(fm_store *store, struct budget *b, size_t i, struct row *r)
{
    const struct budget_args *a = b->args;
    int64_t id, median_ns;
    fm_store_summary sum;
    fm_store_status st = fm_store_find_campaign(store, a->campaigns[i], &id, NULL);
    if (st == FM_STORE_ENOENT)
        return fm_cli_usage_error("--campaign: no campaign '%s' in %s", a->campaigns[i], a->db);
    if (st == FM_STORE_OK)
        st = fm_store_summarize(store, id, &sum);
    if (st == FM_STORE_OK)
        st = fm_store_wall_quantile(store, id, 0.5, &median_ns);
    if (st != FM_STORE_OK)
        return fm_cli_fail("cannot read %s: %s", a->db, fm_store_errmsg(store));
    fm_history_test *h = &b->live[i];
    h->test = (char *)a->campaigns[i];
    h->label = (char *)(b->n_hist ? b->hist[0].label : a->label ? a->label : "");
    uint64_t n = (uint64_t)fm_store_summary_trials(&sum);
    if (n == 0)
        return fm_cli_usage_error("--campaign: '%s' has no completed run", a->campaigns[i]);
    double seconds = median_ns >= 0 ? (double)median_ns / 1e9 : NAN;
    *r = (struct row){.h = h,
                      .n = n,
                      .k = (uint64_t)fm_store_summary_failures(&sum),
                      .nq = (uint64_t)sum.retries,
                      .kq = (uint64_t)sum.retries_failed,
                      .timeouts = (uint64_t)sum.first_by_outcome[FM_OUTCOME_TIMEOUT],
                      .pass_s = seconds,
                      .fail_s = seconds};
    if (r->timeouts > 0 && r->timeouts == r->k && a->have_timeout)
        r->fail_s = a->timeout;
    return -1;
}

static bool is_campaign(const struct budget_args *a, const char *test)
{
    for (size_t i = 0; i < a->n_campaigns; i++)
        if (strcmp(a->campaigns[i], test) == 0)
            return true;
    return false;
}

static int load(fm_store *store, struct budget *b)
{
    const struct budget_args *a = b->args;
    fm_history_filter filter = {.label = a->label};
    if (fm_history_load(store, &filter, &b->hist, &b->n_hist) != FM_STORE_OK)
        return fm_cli_fail("cannot read %s: %s", a->db, fm_store_errmsg(store));
    int rc = pick_label(a, b->hist, b->n_hist);
    if (rc >= 0)
        return rc;
    if (b->n_hist == 0)
        return a->label
                   ? fm_cli_usage_error("no CI history for suite '%s' in %s", a->label, a->db)
                   : fm_cli_usage_error("%s holds no CI history (see 'flakemeter ingest')", a->db);
    filter.label = b->hist[0].label;
    if (fm_history_suite(store, &filter, &b->ci_runs, &b->red_runs) != FM_STORE_OK)
        return fm_cli_fail("cannot read %s: %s", a->db, fm_store_errmsg(store));
    b->rows = calloc(b->n_hist + a->n_campaigns + 1, sizeof *b->rows);
    if (b->rows == NULL)
        return fm_cli_fail("out of memory");
    b->quiet.seconds = NAN;
    for (size_t i = 0; i < a->n_campaigns; i++) {
        struct row r;
        if ((rc = campaign_row(store, b, i, &r)) >= 0)
            return rc;
        b->rows[b->n_rows++] = r; /* a row even without failures: it was asked for by name */
    }
    for (size_t i = 0; i < b->n_hist; i++) {
        struct row r;
        if (is_campaign(a, b->hist[i].test))
            continue; /* measured live instead: the two rates are not pooled */
        count_test(&b->hist[i], a, &r);
        if (r.n < a->min_runs || r.n == 0) {
            b->excluded++;
        } else if (r.k > 0 || r.kq > 0) {
            b->rows[b->n_rows++] = r;
        } else {
            struct quiet *g = &b->quiet;
            if (g->tests++ == 0 || r.n < g->fewest)
                g->fewest = r.n, g->fewest_test = r.h->test;
            if (isfinite(r.pass_s))
                g->seconds = isfinite(g->seconds) ? fmax(g->seconds, r.pass_s) : r.pass_s;
        }
    }
    return -1;
}

static int compute(struct budget *b)
{
    fill_durations(b);
    fm_stats_status st = FM_STATS_OK;
    for (size_t i = 0; st == FM_STATS_OK && i < b->n_rows; i++)
        st = model_row(b->args, &b->rows[i]);
    if (st == FM_STATS_OK && b->quiet.tests > 0)
        st = model_quiet(b->args, &b->quiet);
    if (st == FM_STATS_OK)
        qsort(b->rows, b->n_rows, sizeof *b->rows, cmp_rows);
    for (int m = 0; m < 2 && st == FM_STATS_OK; m++)
        st = plan_model(b, m);
    if (st == FM_STATS_ENOMEM)
        return fm_cli_fail("the plan is too large to compute (%zu tests seen failing); lower "
                           "--max-attempts",
                           b->n_rows);
    if (st != FM_STATS_OK)
        return fm_cli_fail("cannot compute the plan: %s", fm_stats_strerror(st));
    return -1;
}

/* ---- output ---------------------------------------------------------------------------------- */

static double row_extra(const struct row *r, int m, int plan)
{
    return r->cost[m][r->attempts[plan] - 1];
}

static double observed(const struct budget *b)
{
    return b->ci_runs > 0 ? (double)b->red_runs / (double)b->ci_runs : NAN;
}

static json_t *plan_json(const struct budget *b, int m)
{
    const struct plan *p = &b->plans[m];
    json_t *o = json_object();
    json_object_set_new(o, "feasible", json_boolean(p->plan.feasible));
    json_object_set_new(o, "predicted_red_rate", fm_cli_json_real(p->plan.red_rate));
    json_object_set_new(o, "current_red_rate", fm_cli_json_real(p->current));
    json_object_set_new(o, "expected_extra_seconds", fm_cli_json_real(p->plan.cost));
    json_object_set_new(o, "optimality_gap_seconds", fm_cli_json_real(p->plan.gap));
    json_object_set_new(o, "other_tests_attempts", json_integer(b->quiet.attempts[m]));
    return o;
}

static json_t *row_json(const struct budget *b, const struct row *r, int m)
{
    json_t *o = json_object();
    json_object_set_new(o, "test", json_string(r->h->test));
    json_object_set_new(o, "runs", json_integer((json_int_t)r->n));
    json_object_set_new(o, "failures", json_integer((json_int_t)r->k));
    json_object_set_new(o, "timeouts", json_integer((json_int_t)r->timeouts));
    json_object_set_new(o, "retries", json_integer((json_int_t)r->nq));
    json_object_set_new(o, "retry_failures", json_integer((json_int_t)r->kq));
    json_object_set_new(o, "estimate", json_real(r->ci.estimate));
    json_object_set_new(o, "lower", json_real(r->ci.lower));
    json_object_set_new(o, "upper", json_real(r->p[MODEL_CONSERVATIVE]));
    json_object_set_new(o, "after_failure",
                        r->nq ? json_real((double)r->kq / (double)r->nq) : json_null());
    json_object_set_new(o, "after_failure_upper",
                        r->nq ? json_real(r->q[MODEL_CONSERVATIVE]) : json_null());
    json_object_set_new(o, "attempts", json_integer(r->attempts[m]));
    json_object_set_new(o, "attempts_conservative", json_integer(r->attempts[MODEL_CONSERVATIVE]));
    json_object_set_new(o, "attempts_point", json_integer(r->attempts[MODEL_POINT]));
    json_object_set_new(o, "all_fail_probability",
                        fm_cli_json_real(r->fail[m][r->attempts[m] - 1]));
    json_object_set_new(o, "expected_extra_seconds", fm_cli_json_real(row_extra(r, m, m)));
    json_object_set_new(o, "pass_seconds", b->durations_known ? json_real(r->pass_s) : json_null());
    json_object_set_new(o, "fail_seconds", b->durations_known ? json_real(r->fail_s) : json_null());
    return o;
}

static int print_json(const struct budget *b)
{
    const struct budget_args *a = b->args;
    int m = a->point ? MODEL_POINT : MODEL_CONSERVATIVE;
    const struct plan *p = &b->plans[m];
    json_t *o = json_object();
    json_object_set_new(o, "suite", json_string(b->hist[0].label));
    json_object_set_new(o, "target", json_real(a->target));
    json_object_set_new(o, "model", json_string(m == MODEL_POINT ? "point" : "conservative"));
    json_object_set_new(o, "confidence", json_real(a->conf));
    json_object_set_new(o, "feasible", json_boolean(p->plan.feasible));
    json_object_set_new(o, "predicted_red_rate", fm_cli_json_real(p->plan.red_rate));
    json_object_set_new(o, "current_red_rate", fm_cli_json_real(p->current));
    json_object_set_new(o, "observed_red_rate", fm_cli_json_real(observed(b)));
    json_object_set_new(o, "ci_runs", json_integer(b->ci_runs));
    json_object_set_new(o, "red_runs", json_integer(b->red_runs));
    json_object_set_new(o, "expected_extra_seconds", fm_cli_json_real(p->plan.cost));
    json_object_set_new(o, "durations_known", json_boolean(b->durations_known));
    json_object_set_new(o, "conservative", plan_json(b, MODEL_CONSERVATIVE));
    json_object_set_new(o, "point", plan_json(b, MODEL_POINT));
    json_t *q = json_object();
    json_object_set_new(q, "tests", json_integer((json_int_t)b->quiet.tests));
    json_object_set_new(q, "fewest_runs",
                        b->quiet.tests ? json_integer((json_int_t)b->quiet.fewest) : json_null());
    json_object_set_new(q, "attempts", json_integer(b->quiet.attempts[m]));
    json_object_set_new(q, "upper",
                        b->quiet.tests ? fm_cli_json_real(b->quiet.fail[MODEL_CONSERVATIVE][0])
                                       : json_null());
    json_object_set_new(o, "other_tests", q);
    json_object_set_new(o, "excluded_tests", json_integer((json_int_t)b->excluded));
    json_t *tests = json_array();
    for (size_t i = 0; i < b->n_rows; i++)
        json_array_append_new(tests, row_json(b, &b->rows[i], m));
    json_object_set_new(o, "tests", tests);
    return fm_cli_print_json(o);
}

/* "failed 40 of 575 first attempts (6.96%, 95% upper 9.40%)" */
static void reason(const struct budget *b, const struct row *r, char *buf, size_t size)
{
    char est[32], up[32];
    fm_cli_fmt_prob(r->ci.estimate, est, sizeof est);
    fm_cli_fmt_prob(r->p[MODEL_CONSERVATIVE], up, sizeof up);
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
    int m = a->point ? MODEL_POINT : MODEL_CONSERVATIVE;
    const char *fmt = a->format;
    char why[256];
    if (strcmp(fmt, "json") == 0) {
        json_t *o = json_object(), *list = json_array();
        json_object_set_new(o, "suite", json_string(b->hist[0].label));
        json_object_set_new(o, "target", json_real(a->target));
        json_object_set_new(o, "model", json_string(m == MODEL_POINT ? "point" : "conservative"));
        json_object_set_new(o, "feasible", json_boolean(b->plans[m].plan.feasible));
        json_object_set_new(o, "other_tests_attempts", json_integer(b->quiet.attempts[m]));
        for (size_t i = 0; i < b->n_rows; i++) {
            const struct row *r = &b->rows[i];
            if (r->attempts[m] < 2)
                continue;
            reason(b, r, why, sizeof why);
            json_t *e = json_object();
            json_object_set_new(e, "test", json_string(r->h->test));
            json_object_set_new(e, "attempts", json_integer(r->attempts[m]));
            json_object_set_new(e, "rate", json_real(r->ci.estimate));
            json_object_set_new(e, "upper", json_real(r->p[MODEL_CONSERVATIVE]));
            json_object_set_new(e, "reason", json_string(why));
            json_array_append_new(list, e);
        }
        json_object_set_new(o, "allowlist", list);
        return fm_cli_print_json(o);
    }
    bool toml = strcmp(fmt, "toml") == 0;
    printf("# flakemeter budget --target %.10g (%s plan) for suite ", a->target,
           m == MODEL_POINT ? "point" : "conservative");
    put_quoted(b->hist[0].label);
    char red[32];
    printf(": %lld CI runs.\n# Predicted red rate after the plan: %s (%s the target); every other "
           "test: %u attempt%s.\n",
           (long long)b->ci_runs, fm_cli_fmt_prob(b->plans[m].plan.red_rate, red, sizeof red),
           b->plans[m].plan.feasible ? "meets" : "MISSES", b->quiet.attempts[m],
           b->quiet.attempts[m] == 1 ? "" : "s");
    if (!toml)
        printf(
            "# Attempts (first try + re-runs) for the tests allowed to flake.\nflaky_tests = {\n");
    for (size_t i = 0; i < b->n_rows; i++) {
        const struct row *r = &b->rows[i];
        if (r->attempts[m] < 2)
            continue;
        reason(b, r, why, sizeof why);
        if (toml) {
            printf("\n[[flaky]]\ntest = ");
            put_quoted(r->h->test);
            printf("\nattempts = %u\nrate = %.6g\nupper = %.6g\nreason = ", r->attempts[m],
                   r->ci.estimate, r->p[MODEL_CONSERVATIVE]);
            put_quoted(why);
            putchar('\n');
        } else {
            printf("    ");
            put_quoted(r->h->test);
            printf(": %u,  # %s\n", r->attempts[m], why);
        }
    }
    if (!toml)
        printf("}\n");
    return FM_EXIT_OK;
}

static void print_plan_line(const struct budget *b, int m, const char *name)
{
    const struct plan *p = &b->plans[m];
    char red[32], now[32];
    printf("%-12s plan: red rate %s per CI run (%s with one attempt each), ", name,
           fm_cli_fmt_prob(p->plan.red_rate, red, sizeof red),
           fm_cli_fmt_prob(p->current, now, sizeof now));
    if (p->plan.feasible)
        printf("+%.4g %s per CI run%s\n", p->plan.cost, b->durations_known ? "s" : "attempts",
               p->plan.gap > 0 ? " (within a proven gap)" : "");
    else
        printf("the target is UNREACHABLE within %llu attempts\n",
               (unsigned long long)b->args->max_attempts);
}

static void print_table(const struct budget *b)
{
    const struct budget_args *a = b->args;
    int m = a->point ? MODEL_POINT : MODEL_CONSERVATIVE, other = 1 - m;
    char obs[32], tgt[32];
    printf("Retry budget for suite '%s': target red rate %s per CI run\n", b->hist[0].label,
           fm_cli_fmt_prob(a->target, tgt, sizeof tgt));
    printf("observed red rate %s (%lld of %lld CI runs)\n",
           fm_cli_fmt_prob(observed(b), obs, sizeof obs), (long long)b->red_runs,
           (long long)b->ci_runs);
    print_plan_line(b, MODEL_CONSERVATIVE, "conservative");
    print_plan_line(b, MODEL_POINT, "point");
    printf("\n%-36s %6s %5s  %-28s %8s %6s %9s\n", "test", "runs", "fail", "p (exact CI)",
           "attempts", m == MODEL_POINT ? "cons." : "point", "extra s");
    for (size_t i = 0; i < b->n_rows; i++) {
        const struct row *r = &b->rows[i];
        double v[3] = {r->ci.estimate, r->ci.lower, r->ci.upper};
        char t[3][32], ci[128];
        fm_cli_fmt_probs(v, t, 3);
        snprintf(ci, sizeof ci, "%s (%s..%s)", t[0], t[1], t[2]);
        printf("%-36s %6llu %5llu  %-28s %8u %6u %9.4g\n", r->h->test, (unsigned long long)r->n,
               (unsigned long long)r->k, ci, r->attempts[m], r->attempts[other],
               row_extra(r, m, m));
    }
    if (b->quiet.tests > 0) {
        char up[32];
        printf("%zu other test%s never failed: %u attempt%s each (%s plan); together at most %s "
               "(%.10g%% bound from the fewest runs, %llu: %s)\n",
               b->quiet.tests, b->quiet.tests == 1 ? "" : "s", b->quiet.attempts[m],
               b->quiet.attempts[m] == 1 ? "" : "s", m == MODEL_POINT ? "point" : "conservative",
               fm_cli_fmt_prob(b->quiet.fail[MODEL_CONSERVATIVE][0], up, sizeof up), a->conf * 100,
               (unsigned long long)b->quiet.fewest, b->quiet.fewest_test);
    }
    if (b->excluded > 0)
        printf("%zu test%s with fewer than %llu runs left out\n", b->excluded,
               b->excluded == 1 ? "" : "s", (unsigned long long)a->min_runs);
    if (!b->durations_known)
        printf("(the history has no durations: costs are in attempts)\n");
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
    struct budget b = {.args = &a};
    rc = load(store, &b);
    if (rc < 0)
        rc = compute(&b);
    if (rc < 0 && a.format != NULL)
        rc = print_allowlist(&b);
    else if (rc < 0 && a.json)
        rc = print_json(&b);
    else if (rc < 0) {
        print_table(&b);
        rc = FM_EXIT_OK;
    }
    free(b.rows);
    fm_history_free(b.hist, b.n_hist);
    fm_store_close(store);
    return rc;
}
