/*
 * fm_hist_budget.c - a suite's retry-budget inputs from its CI history, and the two plans
 * (fm_hist_budget.h; the statistics are libfmstats', docs/statistics.md sec. 9).
 *
 * Per test: first attempts n and their failures k; the retries of failed first attempts nq and
 * their failures kq (retries stop at the first pass, so a chain that ended in a pass has one
 * passing retry); the mean first-attempt duration of passes and of failures (a timeout counts
 * as the timeout when one is given: the full timeout is what it costs).  A test without
 * durations gets the suite's mean pass time; a history without any, 1 s ("attempts").
 *
 * The pool of quiet tests (never seen failing): the data chose them, so a bound computed as if
 * they had been named in advance does not hold (the old one, from the fewest runs alone, covered
 * 0 % in the audit's cases).  fm_stats_pool_bound bounds the sum of -log(1 - p_i) over every
 * never-failed test of the suite at once from the counts of all its tests, which survives any
 * choice of the pool (docs/statistics.md sec. 9); fm_stats_pool_tables turns it into the
 * pool's fail and cost tables.  Point model: they never fail.
 *
 * Invariants: every test in tests[] has n >= max(1, min_runs) or is a campaign asked for by
 * name; a campaign replaces the CI test of the same name (the two rates are never pooled);
 * attempts[m] is in 1 .. max_attempts.
 */
#include "fm_hist_budget.h"
#include "fm_grow.h"
#include "fm_hist_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool failed(uint8_t outcome)
{
    return outcome != FM_OUTCOME_PASS;
}

/* Counts, retry chains and mean durations of one test. */
static void count_test(const fm_history_test *h, const fm_hist_budget_options *a,
                       fm_hist_budget_test *r)
{
    double pass_sum = 0, fail_sum = 0;
    uint64_t pass_n = 0, fail_n = 0;
    *r = (fm_hist_budget_test){.test = h->test, .n = h->n};
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
static void fill_durations(fm_hist_budget *b)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < b->n_tests; i++)
        if (isfinite(b->tests[i].pass_s))
            sum += b->tests[i].pass_s, n++;
    b->durations_known = n > 0 || isfinite(b->others.seconds);
    double fallback = n ? sum / (double)n : isfinite(b->others.seconds) ? b->others.seconds : 1.0;
    for (size_t i = 0; i < b->n_tests; i++)
        if (!isfinite(b->tests[i].pass_s))
            b->tests[i].pass_s = b->tests[i].fail_s = fallback;
    if (!isfinite(b->others.seconds))
        b->others.seconds = fallback;
}

/* ---- models ---------------------------------------------------------------------------------- */

static fm_stats_status model_test(const fm_hist_budget_options *a, fm_hist_budget_test *r)
{
    enum { P = FM_HIST_MODEL_POINT, C = FM_HIST_MODEL_CONSERVATIVE };
    fm_stats_status st =
        fm_stats_interval(r->k, r->n, a->confidence, FM_CI_EXACT, FM_CI_TWO_SIDED, &r->ci);
    if (st != FM_STATS_OK)
        return st;
    r->p[P] = r->ci.estimate;
    r->q[P] = r->nq ? (double)r->kq / (double)r->nq : r->ci.estimate;
    if (r->nq > 0) {
        fm_chain_stats cs;
        if ((st = fm_stats_chain(r->k, r->n, r->kq, r->nq, a->confidence, 0.5, &cs)))
            return st;
        r->p[C] = cs.p1_upper;
        r->q[C] = cs.q_upper;
    } else {
        fm_interval up;
        if ((st = fm_stats_interval(r->k, r->n, a->confidence, FM_CI_EXACT, FM_CI_UPPER, &up)))
            return st;
        r->p[C] = r->q[C] = up.upper;
    }
    for (int m = 0; m < 2 && st == FM_STATS_OK; m++)
        st = fm_stats_budget_tables(r->p[m], r->q[m], r->pass_s, r->fail_s, a->max_attempts,
                                    r->fail[m], r->cost[m]);
    return st;
}

/* The pooled quiet tests (the bound in this file's opening comment). */
static fm_stats_status model_pool(const fm_hist_budget_options *a, fm_hist_budget *b)
{
    enum { P = FM_HIST_MODEL_POINT, C = FM_HIST_MODEL_CONSERVATIVE };
    fm_hist_budget_pool *g = &b->others;
    g->options[P] = 1;
    g->fail[P][0] = g->cost[P][0] = 0.0;
    g->options[C] = a->max_attempts;
    g->suite_tests = b->n_all_;
    fm_stats_status st =
        fm_stats_pool_bound(b->all_k_, b->all_n_, b->n_all_, a->confidence, &g->bound);
    return st != FM_STATS_OK ? st
                             : fm_stats_pool_tables(&g->bound, g->seconds, a->max_attempts,
                                                    g->fail[C], g->cost[C]);
}

/* Run the optimiser for one model; attempts go back into the tests and the pool. */
static fm_stats_status plan_model(fm_hist_budget *b, const fm_hist_budget_options *a, int m)
{
    size_t n = b->n_tests + (b->others.tests > 0);
    fm_budget_item *items = calloc(n + 1, sizeof *items);
    uint32_t *att = calloc(n + 1, sizeof *att);
    fm_stats_status st = items && att ? FM_STATS_OK : FM_STATS_ENOMEM;
    double log_keep = 0;
    for (size_t i = 0; st == FM_STATS_OK && i < b->n_tests; i++) {
        fm_hist_budget_test *r = &b->tests[i];
        items[i] = (fm_budget_item){a->max_attempts, r->fail[m], r->cost[m]};
        log_keep += log1p(-r->fail[m][0]);
    }
    if (st == FM_STATS_OK && b->others.tests > 0) {
        fm_hist_budget_pool *g = &b->others;
        items[b->n_tests] = (fm_budget_item){g->options[m], g->fail[m], g->cost[m]};
        log_keep += log1p(-g->fail[m][0]);
    }
    if (st == FM_STATS_OK)
        st = fm_stats_budget_optimize(items, n, a->target, att, &b->plans[m].plan);
    if (st == FM_STATS_OK) {
        b->plans[m].current = -expm1(log_keep);
        for (size_t i = 0; i < b->n_tests; i++) {
            fm_hist_budget_test *r = &b->tests[i];
            r->attempts[m] = att[i];
            r->all_fail[m] = r->fail[m][att[i] - 1];
            r->extra[m] = r->cost[m][att[i] - 1];
        }
        b->others.attempts[m] = b->others.tests > 0 ? att[b->n_tests] : 1;
    }
    free(items);
    free(att);
    return st;
}

/* ---- why a plan is infeasible ------------------------------------------------------------- */

/* The all-fail rate at max_attempts of test r in model m with x more passing observations. */
static double fail_with_more(const fm_hist_budget_options *a, const fm_hist_budget_test *r, int m,
                             uint64_t x)
{
    double p1, q;
    if (r->nq > 0 && m == FM_HIST_MODEL_CONSERVATIVE) {
        fm_chain_stats cs;
        if (fm_stats_chain(r->k, r->n, r->kq, r->nq + x, a->confidence, 0.5, &cs))
            return NAN;
        p1 = cs.p1_upper, q = cs.q_upper;
    } else if (r->nq > 0) {
        p1 = r->p[m], q = (double)r->kq / (double)(r->nq + x);
    } else if (m == FM_HIST_MODEL_CONSERVATIVE) {
        fm_interval up;
        if (fm_stats_interval(r->k, r->n + x, a->confidence, FM_CI_EXACT, FM_CI_UPPER, &up))
            return NAN;
        p1 = q = up.upper;
    } else {
        p1 = q = (double)r->k / (double)(r->n + x);
    }
    return p1 * pow(q, (double)a->max_attempts - 1.0);
}

/* Smallest x >= 1 with fail_with_more(x) <= allowed, or 0 when none up to 2^40. */
static uint64_t more_needed(const fm_hist_budget_options *a, const fm_hist_budget_test *r, int m,
                            double allowed)
{
    uint64_t lo = 0, hi = 1;
    while (!(fail_with_more(a, r, m, hi) <= allowed)) {
        if (hi >= (uint64_t)1 << 40)
            return 0;
        lo = hi, hi *= 2;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (fail_with_more(a, r, m, mid) <= allowed)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* Mark the tests (and the pool) an infeasible plan cannot do without, and what would fix each. */
static void explain_infeasible(fm_hist_budget *b, const fm_hist_budget_options *a, int m)
{
    size_t n = b->n_tests + (b->others.tests > 0);
    double *u = calloc(n + 1, sizeof *u), rest = 0, budget = -log1p(-a->target);
    bool *out = calloc(n + 1, sizeof *out);
    if (u == NULL || out == NULL)
        goto done;
    for (size_t i = 0; i < b->n_tests; i++)
        rest += u[i] = -log1p(-b->tests[i].fail[m][a->max_attempts - 1]);
    if (b->others.tests > 0)
        rest += u[n - 1] = -log1p(-b->others.fail[m][b->others.options[m] - 1]);
    size_t blockers = 0;
    while (rest > budget) { /* take out the largest until the rest meets the target */
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (!out[i] && (best == n || u[i] > u[best]))
                best = i;
        if (best == n)
            break;
        out[best] = true, rest -= u[best], blockers++;
    }
    double allowed = blockers ? -expm1(-(budget - fmax(rest, 0.0)) / (double)blockers) : 0;
    for (size_t i = 0; i < b->n_tests; i++)
        if ((b->tests[i].blocking[m] = out[i]))
            b->tests[i].more[m] = more_needed(a, &b->tests[i], m, allowed);
    if (b->others.tests > 0)
        b->others.blocking[m] = out[n - 1];
done:
    free(u);
    free(out);
}

static int cmp_tests(const void *x, const void *y)
{
    const fm_hist_budget_test *a = x, *b = y;
    if (a->ci.estimate != b->ci.estimate)
        return a->ci.estimate > b->ci.estimate ? -1 : 1;
    return strcmp(a->test, b->test);
}

/* ---- loading --------------------------------------------------------------------------------- */

/*
 * A campaign of `flakemeter run` as a test: its first attempts (start errors left out), its
 * retry chains (every attempt >= 2 follows a failure of its chain) and its median duration.
 */
static fm_hist_status campaign_test(fm_store *store, const fm_hist_budget_options *a,
                                    const char *label, fm_hist_budget_test *r)
{
    int64_t id, median_ns;
    fm_store_summary sum;
    fm_store_status st = fm_store_find_campaign(store, label, &id, NULL);
    if (st == FM_STORE_ENOENT)
        return FM_HIST_ENOENT;
    if (st == FM_STORE_OK)
        st = fm_store_summarize(store, id, &sum);
    if (st == FM_STORE_OK)
        st = fm_store_wall_quantile(store, id, 0.5, &median_ns);
    if (st != FM_STORE_OK)
        return FM_HIST_ESTORE;
    uint64_t n = (uint64_t)fm_store_summary_trials(&sum);
    if (n == 0)
        return FM_HIST_ENODATA;
    double seconds = median_ns >= 0 ? (double)median_ns / 1e9 : NAN;
    *r = (fm_hist_budget_test){.test = label,
                               .n = n,
                               .k = (uint64_t)fm_store_summary_failures(&sum),
                               .nq = (uint64_t)sum.retries,
                               .kq = (uint64_t)sum.retries_failed,
                               .timeouts = (uint64_t)sum.first_by_outcome[FM_OUTCOME_TIMEOUT],
                               .pass_s = seconds,
                               .fail_s = seconds};
    if (r->timeouts > 0 && r->timeouts == r->k && a->have_timeout)
        r->fail_s = a->timeout;
    return FM_HIST_OK;
}

static bool is_campaign(const fm_hist_budget_options *a, const char *test)
{
    for (size_t i = 0; i < a->n_campaigns; i++)
        if (strcmp(a->campaigns[i], test) == 0)
            return true;
    return false;
}

/* A CI test, counted, into the failing tests, the excluded ones or the pool. */
static void add_history_test(fm_hist_budget *b, const fm_hist_budget_options *a,
                             const fm_hist_budget_test *counted)
{
    fm_hist_budget_test r = *counted;
    if (r.n < a->min_runs || r.n == 0) {
        b->excluded++;
        return;
    }
    b->all_k_[b->n_all_] = r.k;
    b->all_n_[b->n_all_++] = r.n;
    if (r.k > 0 || r.kq > 0) {
        b->tests[b->n_tests++] = r;
    } else {
        fm_hist_budget_pool *g = &b->others;
        g->tests++;
        if (isfinite(r.pass_s))
            g->seconds = isfinite(g->seconds) ? fmax(g->seconds, r.pass_s) : r.pass_s;
    }
}

/*
 * The history is streamed (fm_history_scan): each test is counted as it comes, and only its
 * counts are kept (in `counts`, with its label and name owned by b->history_, whose runs stay
 * empty).  The tests are then put in (label, name) order, the order of fm_history_load, so that
 * every sum over them is taken in the same order as before.
 */
typedef struct {
    uint64_t n, k, nq, kq, timeouts;
    double pass_s, fail_s;
    const char *label, *test; /* owned by b->history_ */
} counted_test;

typedef struct {
    fm_hist_budget *b;
    const fm_hist_budget_options *a;
    counted_test *counts;
    size_t cap;
} collector;

static int collect_test(void *ctx, const fm_history_test *h)
{
    collector *c = ctx;
    fm_hist_budget *b = c->b;
    if (b->n_history_ == c->cap) {
        size_t cap = fm_grow_cap(c->cap, 64);
        if (!fm_grow_to(&c->counts, cap, sizeof *c->counts) ||
            !fm_grow_to(&b->history_, cap, sizeof *b->history_))
            return -1;
        c->cap = cap;
    }
    fm_history_test *name = &b->history_[b->n_history_];
    *name = (fm_history_test){strdup(h->label), strdup(h->test), 0, NULL};
    b->n_history_++; /* freed with the rest even when a strdup failed */
    if (name->label == NULL || name->test == NULL)
        return -1;
    fm_hist_budget_test r;
    count_test(h, c->a, &r);
    c->counts[b->n_history_ - 1] = (counted_test){
        r.n, r.k, r.nq, r.kq, r.timeouts, r.pass_s, r.fail_s, name->label, name->test};
    return 0;
}

static int cmp_counted(const void *x, const void *y)
{
    const counted_test *a = x, *b = y;
    int c = strcmp(a->label, b->label);
    return c != 0 ? c : strcmp(a->test, b->test);
}

/* The suite's CI runs and red runs: from the scan, else (a suite with tests but no CI runs of
 * its own in the window, which ingest never makes) from fm_history_suite as before. */
static fm_hist_status suite_runs(fm_store *store, fm_hist_budget *b,
                                 const fm_history_suite_runs *suites, size_t n_suites)
{
    for (size_t i = 0; i < n_suites; i++)
        if (strcmp(suites[i].label, b->suite) == 0) {
            b->ci_runs = suites[i].ci_runs;
            b->red_runs = suites[i].red_runs;
            return FM_HIST_OK;
        }
    fm_history_filter filter = {.label = b->suite};
    return fm_history_suite(store, &filter, &b->ci_runs, &b->red_runs);
}

static fm_hist_status load(fm_store *store, const fm_hist_budget_options *a, fm_hist_budget *b)
{
    fm_history_filter filter = {.label = a->label};
    collector c = {b, a, NULL, 0};
    fm_history_suite_runs *suites = NULL;
    size_t n_suites = 0;
    fm_hist_status st = fm_history_scan(store, &filter, collect_test, &c, &suites, &n_suites);
    if (st == FM_HIST_ECALLBACK)
        st = FM_HIST_ENOMEM;
    if (st == FM_HIST_OK && b->n_history_ == 0)
        st = FM_HIST_ENODATA;
    if (st != FM_HIST_OK)
        goto out;
    if (b->n_history_ > 1)
        qsort(c.counts, b->n_history_, sizeof *c.counts, cmp_counted);
    b->suite = c.counts[0].label;
    for (size_t i = 1; a->label == NULL && i < b->n_history_; i++)
        if (strcmp(c.counts[i].label, b->suite) != 0) {
            b->other_suite = c.counts[i].label;
            st = FM_HIST_EAMBIGUOUS;
            goto out;
        }
    if ((st = suite_runs(store, b, suites, n_suites)) != FM_HIST_OK)
        goto out;
    b->observed = b->ci_runs > 0 ? (double)b->red_runs / (double)b->ci_runs : NAN;
    b->tests = calloc(b->n_history_ + a->n_campaigns + 1, sizeof *b->tests);
    b->all_k_ = calloc(b->n_history_ + a->n_campaigns + 1, sizeof *b->all_k_);
    b->all_n_ = calloc(b->n_history_ + a->n_campaigns + 1, sizeof *b->all_n_);
    if (b->tests == NULL || b->all_k_ == NULL || b->all_n_ == NULL) {
        st = FM_HIST_ENOMEM;
        goto out;
    }
    b->others.seconds = NAN;
    for (size_t i = 0; i < a->n_campaigns; i++) {
        fm_hist_budget_test r;
        if ((st = campaign_test(store, a, a->campaigns[i], &r)) != FM_HIST_OK) {
            b->campaign = i;
            goto out;
        }
        b->tests[b->n_tests++] = r; /* a test even without failures: it was asked for by name */
        b->all_k_[b->n_all_] = r.k; /* and its counts belong to the pool's bound */
        b->all_n_[b->n_all_++] = r.n;
    }
    for (size_t i = 0; i < b->n_history_; i++) {
        const counted_test *t = &c.counts[i];
        if (is_campaign(a, t->test)) /* measured live instead */
            continue;
        fm_hist_budget_test r = {.test = t->test,
                                 .n = t->n,
                                 .k = t->k,
                                 .nq = t->nq,
                                 .kq = t->kq,
                                 .timeouts = t->timeouts,
                                 .pass_s = t->pass_s,
                                 .fail_s = t->fail_s};
        add_history_test(b, a, &r);
    }
out:
    free(c.counts);
    fm_history_suites_free(suites, n_suites);
    return st;
}

fm_hist_status fm_hist_budget_compute(fm_store *store, const fm_hist_budget_options *opt,
                                      fm_hist_budget *out)
{
    if (out == NULL)
        return FM_HIST_EINVAL;
    *out = (fm_hist_budget){.campaign = SIZE_MAX};
    if (store == NULL || opt == NULL || opt->max_attempts < 1 ||
        opt->max_attempts > FM_HIST_BUDGET_MAX_ATTEMPTS || (opt->n_campaigns && !opt->campaigns))
        return FM_HIST_EINVAL;
    fm_hist_status hs = load(store, opt, out);
    if (hs != FM_HIST_OK)
        return hs;
    fill_durations(out);
    fm_stats_status st = FM_STATS_OK;
    for (size_t i = 0; st == FM_STATS_OK && i < out->n_tests; i++)
        st = model_test(opt, &out->tests[i]);
    if (st == FM_STATS_OK && out->others.tests > 0)
        st = model_pool(opt, out);
    if (st == FM_STATS_OK)
        if (out->n_tests > 1)
            qsort(out->tests, out->n_tests, sizeof *out->tests, cmp_tests);
    for (int m = 0; m < 2 && st == FM_STATS_OK; m++)
        st = plan_model(out, opt, m);
    for (int m = 0; m < 2 && st == FM_STATS_OK; m++)
        if (!out->plans[m].plan.feasible)
            explain_infeasible(out, opt, m);
    out->stats = st;
    return st == FM_STATS_OK ? FM_HIST_OK : FM_HIST_ESTATS;
}

void fm_hist_budget_free(fm_hist_budget *b)
{
    if (b == NULL)
        return;
    free(b->tests);
    free(b->all_k_);
    free(b->all_n_);
    fm_history_free(b->history_, b->n_history_);
    *b = (fm_hist_budget){.campaign = SIZE_MAX};
}
