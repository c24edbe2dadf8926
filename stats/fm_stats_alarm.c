/*
 * fm_stats_alarm.c - the regression alarm: did a test's failure rate rise after a split point?
 *
 * For each test the table [[k_recent, n_recent - k_recent], [k_base, n_base - k_base]] gets the
 * one-sided Fisher exact test (Fisher 1935; Agresti 2002, sec. 3.5.1): given the margins (the
 * runs in each period and the failures in all), the recent failure count X is hypergeometric
 * when the rate did not change, and the p-value is P(X >= observed).  It is exact, conditional,
 * and never anti-conservative for small counts, which is where flaky tests live.  Probabilities
 * are walked from the mode by the ratio f(x+1)/f(x) = (m-x)(k-x) / ((x+1)(n-k+x+1)) in log
 * space, so only ratios are formed, and each walk stops once the rest of its (log-concave) tail
 * is below e^-40 of the largest term; time is linear in the number of failures.
 *
 * Across tests: Holm's step-down procedure (Holm 1979), which keeps the chance of flagging any
 * test whose rate did not rise at or below alpha whatever the dependence between tests (a bad
 * CI machine fails many at once), as a gate that fails CI needs.  Tests whose margins cannot
 * give a p-value <= alpha (no failures at all, no runs in one period) are left out of the
 * family: they can never be rejected, so leaving them out keeps the guarantee (the family is a
 * function of the margins the tests condition on; after Tarone 1990) and lets the others be
 * corrected for fewer tests.  docs/statistics.md, sec. 10.
 */
#include "fm_stats_internal.h"

#include <math.h>
#include <stdlib.h>

#define TAIL_LOG_EPS (-40.0)

/* Hypergeometric law of the top-left cell: m failures, nn passes, kk runs in the top row. */
struct hyper {
    double m, nn, kk, lo, hi, mode;
};

static double log_ratio_up(const struct hyper *h, double x)
{
    return log(((h->m - x) * (h->kk - x)) / ((x + 1.0) * (h->nn - h->kk + x + 1.0)));
}

/* log f(x)/f(mode), walking from the mode. */
static double log_rel(const struct hyper *h, double x)
{
    double lr = 0.0;
    for (double y = h->mode; y < x; y++)
        lr += log_ratio_up(h, y);
    for (double y = h->mode; y > x; y--)
        lr -= log_ratio_up(h, y - 1.0);
    return lr;
}

/*
 * sum_{y from x in direction dir} f(y)/f(x), stopping once the rest is negligible; the walk
 * must be moving away from the mode (or start at it), where the terms only fall.
 */
static double tail_rel(const struct hyper *h, double x, int dir)
{
    double sum = 1.0, lr = 0.0, end = dir > 0 ? h->hi : h->lo;
    for (double y = x; y != end; y += dir) {
        double step = dir > 0 ? log_ratio_up(h, y) : -log_ratio_up(h, y - 1.0);
        lr += step;
        sum += exp(lr);
        if (step < 0.0 && lr + step - log(-expm1(step)) < TAIL_LOG_EPS)
            break;
    }
    return sum;
}

fm_stats_status fm_stats_fisher_greater(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                                        double *p_value, double *min_p_value)
{
    if (a > FM_STATS_MAX_ATTEMPTS || b > FM_STATS_MAX_ATTEMPTS || c > FM_STATS_MAX_ATTEMPTS ||
        d > FM_STATS_MAX_ATTEMPTS)
        return FM_STATS_EDOM;
    struct hyper h = {(double)a + (double)c, (double)b + (double)d, (double)a + (double)b, 0, 0, 0};
    h.lo = fmax(0.0, h.kk - h.nn);
    h.hi = fmin(h.kk, h.m);
    double x = (double)a, p, min_p;
    if (h.lo == h.hi) {
        p = min_p = 1.0;
    } else {
        h.mode = floor((h.kk + 1.0) * (h.m + 1.0) / (h.m + h.nn + 2.0));
        h.mode = fmin(fmax(h.mode, h.lo), h.hi);
        /* all terms relative to the mode's */
        double log_all = log(tail_rel(&h, h.mode, 1) + tail_rel(&h, h.mode, -1) - 1.0);
        min_p = exp(log_rel(&h, h.hi) - log_all);
        if (x > h.mode) {
            p = exp(log_rel(&h, x) + log(tail_rel(&h, x, 1)) - log_all);
        } else if (x <= h.lo) {
            p = 1.0;
        } else { /* 1 - P(X <= x - 1), the lower tail walked down from x - 1 */
            double lower = exp(log_rel(&h, x - 1.0) + log(tail_rel(&h, x - 1.0, -1)) - log_all);
            p = 1.0 - lower;
        }
    }
    if (isnan(p) || isnan(min_p))
        return FM_STATS_ENOCONV;
    *p_value = fmin(fmax(p, 0.0), 1.0);
    if (min_p_value != NULL)
        *min_p_value = fmin(min_p, 1.0);
    return FM_STATS_OK;
}

/* A p-value and where it came from, sorted by value (ties keep their order). */
struct ranked {
    double p;
    size_t i;
};

static int cmp_ranked(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;
    if (a->p != b->p)
        return a->p < b->p ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

fm_stats_status fm_stats_holm(const double *p_values, size_t n, double alpha, double *adjusted,
                              bool *reject)
{
    if (!fm_stats_is_open_prob(alpha) || (n > 0 && p_values == NULL))
        return FM_STATS_EDOM;
    for (size_t i = 0; i < n; i++)
        if (!fm_stats_is_prob(p_values[i]))
            return FM_STATS_EDOM;
    struct ranked *order = malloc((n + 1) * sizeof *order);
    if (order == NULL)
        return FM_STATS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        order[i] = (struct ranked){p_values[i], i};
    qsort(order, n, sizeof *order, cmp_ranked);
    double running = 0.0;
    for (size_t j = 0; j < n; j++) {
        size_t i = order[j].i;
        running = fmax(running, fmin(1.0, (double)(n - j) * order[j].p));
        if (adjusted != NULL)
            adjusted[i] = running;
        if (reject != NULL)
            reject[i] = running <= alpha;
    }
    free(order);
    return FM_STATS_OK;
}

static fm_stats_status period_interval(uint64_t k, uint64_t n, double c, fm_interval *out)
{
    if (n == 0) {
        *out = (fm_interval){NAN, 0.0, 1.0};
        return FM_STATS_OK;
    }
    return fm_stats_interval(k, n, c, FM_CI_EXACT, FM_CI_TWO_SIDED, out);
}

/* One test on its own: intervals and the one-sided p-value. */
static fm_stats_status alarm_one(const fm_alarm_counts *t, double alpha, double c,
                                 fm_alarm_result *r)
{
    if (t->k_base > t->n_base || t->k_recent > t->n_recent)
        return FM_STATS_EDOM;
    fm_stats_status st = period_interval(t->k_base, t->n_base, c, &r->baseline);
    if (st == FM_STATS_OK)
        st = period_interval(t->k_recent, t->n_recent, c, &r->recent);
    if (st == FM_STATS_OK)
        st = fm_stats_fisher_greater(t->k_recent, t->n_recent - t->k_recent, t->k_base,
                                     t->n_base - t->k_base, &r->p_value, &r->min_p_value);
    r->tested = st == FM_STATS_OK && r->min_p_value <= alpha;
    r->adjusted = 1.0;
    r->regressed = false;
    return st;
}

fm_stats_status fm_stats_alarm(const fm_alarm_counts *counts, size_t n, double alpha, double c,
                               fm_alarm_result *out)
{
    if (!fm_stats_is_open_prob(alpha) || !fm_stats_is_open_prob(c) || (n > 0 && counts == NULL))
        return FM_STATS_EDOM;
    fm_stats_status st = FM_STATS_OK;
    size_t m = 0;
    for (size_t i = 0; st == FM_STATS_OK && i < n; i++) {
        st = alarm_one(&counts[i], alpha, c, &out[i]);
        m += out[i].tested;
    }
    double *p = NULL, *adj = NULL;
    if (st == FM_STATS_OK &&
        ((p = calloc(m + 1, sizeof *p)) == NULL || (adj = calloc(m + 1, sizeof *adj)) == NULL))
        st = FM_STATS_ENOMEM;
    if (st == FM_STATS_OK) {
        for (size_t i = 0, j = 0; i < n; i++)
            if (out[i].tested)
                p[j++] = out[i].p_value;
        st = fm_stats_holm(p, m, alpha, adj, NULL);
    }
    for (size_t i = 0, j = 0; st == FM_STATS_OK && i < n; i++)
        if (out[i].tested) {
            out[i].adjusted = adj[j++];
            out[i].regressed = out[i].adjusted <= alpha;
        }
    free(p);
    free(adj);
    return st;
}
