/*
 * fm_sweep_analyze.c - what a sweep's counts say (fm_sweep.h, docs/statistics.md sec. 7): per
 * cell the pooled counts and exact interval, the pooled homogeneity and trend tests, the tests
 * within blocks (Cochran-Mantel-Haenszel family, fm_stats_cmh) and the drift of each cell's rate
 * across the blocks.
 *
 * Invariants:
 *  - Pooled counts are first attempts that count (fm_store_summary_trials/_failures), read from
 *    the store, so a sweep run again under the same labels adds to its cells.
 *  - The strata are this invocation's blocks, and the store's earlier runs as one more stratum
 *    (each earlier invocation was itself interleaved): the strata add up to the pooled counts.
 *  - Drift is judged on this invocation's blocks only, per cell by the exact
 *    Fisher-Freeman-Halton test across blocks (Pearson's chi-square past its work limit), and
 *    the smallest p-value is multiplied by the number of cells tested (Bonferroni): under "no
 *    drift" the statistic rejects at most alpha whatever the cells have in common.
 */
#include "fm_sweep.h"

#include "fm_run_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FFH_NODES   20000000ULL
#define DRIFT_NODES 2000000ULL
#define CMH_WORK    100000000ULL

/* Every cell's counts and interval from the store; the extremes among cells with runs. */
static fm_run_status count(fm_sweep *sw, fm_store *store, double confidence, fm_sweep_analysis *r,
                           char *err, size_t size)
{
    for (size_t i = 0; i < sw->n_cells; i++) {
        fm_sweep_cell *c = &sw->cells[i];
        fm_store_summary s;
        if (fm_store_summarize(store, c->campaign, &s) != FM_STORE_OK)
            return fm_run__fail(FM_RUN_ESTORE, err, size, "cannot read the results: %s",
                                fm_store_errmsg(store));
        c->runs = (uint64_t)fm_store_summary_trials(&s);
        c->failures = (uint64_t)fm_store_summary_failures(&s);
        c->ci = (fm_interval){NAN, 0, 1};
        if (c->runs > 0)
            fm_stats_interval(c->failures, c->runs, confidence, FM_CI_EXACT, FM_CI_TWO_SIDED,
                              &c->ci);
    }
    for (size_t i = 0; i < sw->n_cells; i++) {
        const fm_sweep_cell *c = &sw->cells[i], *m = &sw->cells[r->most], *l = &sw->cells[r->least];
        if (c->runs && (!m->runs || c->ci.estimate > m->ci.estimate))
            r->most = i;
        if (c->runs && (!l->runs || c->ci.estimate < l->ci.estimate))
            r->least = i;
    }
    return FM_RUN_OK;
}

/* Homogeneity of the 2 x cols table k/n: exact, or chi-square past the work limit. */
static fm_stats_status homogeneity(const uint64_t *k, const uint64_t *n, size_t cols,
                                   uint64_t nodes, const char **test, double *p)
{
    *p = 1;
    *test = "exact";
    fm_stats_status st = cols < 2 ? FM_STATS_OK : fm_stats_ffh_exact(k, n, cols, nodes, p);
    if (st == FM_STATS_ETOOBIG) {
        double x2, df;
        *test = "chi-square";
        st = fm_stats_chisq_homogeneity(k, n, cols, &x2, &df, p);
    }
    return st;
}

/* The pooled tests on the cells' totals. */
static fm_run_status pooled(const fm_sweep *sw, const uint64_t *k, const uint64_t *n,
                            const double *score, fm_sweep_analysis *r, char *err, size_t size)
{
    const fm_sweep_spec *s = sw->spec;
    fm_stats_status st = homogeneity(k, n, sw->n_cells, FFH_NODES, &r->test, &r->homog_p);
    if (st != FM_STATS_OK)
        return fm_run__fail(FM_RUN_ENUMERIC, err, size, "homogeneity test: %s",
                            fm_stats_strerror(st));
    r->have_trend = s->n_vars == 1 && s->vars[0].numeric && sw->n_cells >= 2;
    if (r->have_trend &&
        fm_stats_trend(k, n, score, sw->n_cells, &r->trend_z, &r->trend_p) != FM_STATS_OK)
        return fm_run__fail(FM_RUN_ENUMERIC, err, size, "trend test failed");
    return FM_RUN_OK;
}

/* The tests within strata: this invocation's blocks, then the earlier runs. */
static fm_run_status within(const fm_sweep *sw, const double *score, fm_sweep_analysis *r,
                            char *err, size_t size)
{
    size_t cols = sw->n_cells, blocks = (size_t)(cols ? sw->cells[0].n_blocks : 0), strata;
    bool prior = false;
    for (size_t i = 0; i < cols; i++)
        prior |= sw->cells[i].prior_runs > 0;
    strata = blocks + prior;
    r->strata = strata;
    r->strat_p = 1;
    r->strat_trend_p = 1;
    r->odds_ratio = NAN;
    r->strat_test = cols == 2 ? "exact conditional" : "generalised CMH";
    if (cols < 2 || strata < 1)
        return FM_RUN_OK;
    uint64_t *k = calloc(strata * cols, sizeof *k), *n = calloc(strata * cols, sizeof *n);
    fm_run_status rs = FM_RUN_OK;
    if (k == NULL || n == NULL) {
        rs = fm_run__fail(FM_RUN_ENOMEM, err, size, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cols; i++) {
        const fm_sweep_cell *c = &sw->cells[i];
        for (size_t b = 0; b < blocks && c->blk_runs; b++) {
            k[b * cols + i] = c->blk_fail[b];
            n[b * cols + i] = c->blk_runs[b];
        }
        if (prior) {
            k[blocks * cols + i] = c->prior_fail;
            n[blocks * cols + i] = c->prior_runs;
        }
    }
    fm_stats_cmh_result m;
    fm_stats_status st =
        fm_stats_cmh(k, n, cols, strata, r->have_trend ? score : NULL, CMH_WORK, &m);
    if (st != FM_STATS_OK) {
        rs = fm_run__fail(FM_RUN_ENUMERIC, err, size, "stratified test: %s", fm_stats_strerror(st));
        goto out;
    }
    r->strata_used = m.strata_used;
    r->strat_statistic = m.statistic;
    r->strat_df = m.df;
    r->strat_p = m.p_value;
    if (cols == 2 && !isnan(m.exact_p))
        r->strat_p = m.exact_p;
    else if (cols == 2)
        r->strat_test = "Cochran-Mantel-Haenszel";
    r->odds_ratio = m.odds_ratio;
    r->have_strat_trend = m.have_trend;
    r->strat_trend_z = m.trend_z;
    r->strat_trend_p = m.trend_p;
out:
    free(k);
    free(n);
    return rs;
}

/* Each cell's rate across this invocation's blocks. */
static fm_run_status drift(const fm_sweep *sw, fm_sweep_analysis *r, char *err, size_t size)
{
    double best = 2;
    r->drift_p = 1;
    for (size_t i = 0; i < sw->n_cells; i++) {
        const fm_sweep_cell *c = &sw->cells[i];
        size_t used = 0;
        for (int b = 0; c->blk_runs && b < c->n_blocks; b++)
            used += c->blk_runs[b] > 0;
        if (used < 2)
            continue;
        const char *test;
        double p;
        fm_stats_status st =
            homogeneity(c->blk_fail, c->blk_runs, (size_t)c->n_blocks, DRIFT_NODES, &test, &p);
        if (st != FM_STATS_OK)
            return fm_run__fail(FM_RUN_ENUMERIC, err, size, "drift test: %s",
                                fm_stats_strerror(st));
        r->have_drift = true;
        r->drift_tested++;
        if (p < best) {
            best = p;
            r->drift_cell = i;
        }
    }
    if (!r->have_drift)
        return FM_RUN_OK;
    r->drift_p = fmin(1, best * r->drift_tested);
    const fm_sweep_cell *c = &sw->cells[r->drift_cell];
    r->drift_low = 1;
    r->drift_high = 0;
    for (int b = 0; b < c->n_blocks; b++)
        if (c->blk_runs[b] > 0) {
            double rate = (double)c->blk_fail[b] / (double)c->blk_runs[b];
            r->drift_low = fmin(r->drift_low, rate);
            r->drift_high = fmax(r->drift_high, rate);
        }
    return FM_RUN_OK;
}

fm_run_status fm_sweep_analyze(fm_sweep *sw, fm_store *store, double confidence,
                               fm_sweep_analysis *r, char *err, size_t size)
{
    memset(r, 0, sizeof *r);
    size_t n = sw->n_cells;
    fm_run_status rs = count(sw, store, confidence, r, err, size);
    if (rs != FM_RUN_OK)
        return rs;
    uint64_t *k = calloc(n, sizeof *k), *trials = calloc(n, sizeof *trials);
    double *score = calloc(n, sizeof *score);
    const fm_sweep_spec *s = sw->spec;
    if (k == NULL || trials == NULL || score == NULL) {
        rs = fm_run__fail(FM_RUN_ENOMEM, err, size, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        k[i] = sw->cells[i].failures;
        trials[i] = sw->cells[i].runs;
        score[i] = s->n_vars == 1 ? s->vars[0].score[sw->cells[i].level[0]] : 0;
    }
    rs = pooled(sw, k, trials, score, r, err, size);
    if (rs == FM_RUN_OK)
        rs = within(sw, score, r, err, size);
    if (rs == FM_RUN_OK)
        rs = drift(sw, r, err, size);
out:
    free(k);
    free(trials);
    free(score);
    return rs;
}
