/*
 * fm_stats_homog.c - is a failure rate the same under K conditions?  The exact
 * Fisher-Freeman-Halton test and Pearson's chi-square test of homogeneity on the 2xK table of
 * failures and passes, and the Cochran-Armitage test for a trend along ordered scores.
 *
 * Exact test (Freeman & Halton 1951).  Given the column totals n_i and the total failures F,
 * the failures x_i are multivariate hypergeometric: P(x) = prod_i C(n_i, x_i) / C(N, F).  The
 * p-value is the total probability of the tables no more likely than the observed one, with
 * R's relative slack 1 + 1e-7 for ties (as fm_stats_fisher_exact, which this equals at K = 2).
 * log P is a sum over columns, so the tables form paths through a network of nodes (column j,
 * failures f still to place), as in Mehta & Patel's network algorithm (1983): at each node the
 * largest and smallest sum of log C(n_i, x_i) the remaining columns can reach are known (a
 * dynamic programme over (j, f), computed once); when even the largest completion is no more
 * likely than the observed table, every completion counts and their total is C(R_j, f) by
 * Vandermonde's identity (R_j = n_j + ... + n_K); when even the smallest is more likely, none
 * does; only in between does the walk branch.  The walk counts the nodes it visits and gives
 * up with FM_STATS_ETOOBIG past a limit, so the caller can fall back to chi-square: the work
 * is bounded by a count, never by a clock, so the answer does not depend on the machine.
 *
 * Chi-square: X^2 = sum over the 2K cells of (O - E)^2 / E, K - 1 degrees of freedom (columns
 * with no runs dropped), no continuity correction (R: chisq.test(correct = FALSE)).
 *
 * Trend (Cochran 1954, Armitage 1955): with scores s_i, p = F/N and s_bar = sum n_i s_i / N,
 * z = sum x_i (s_i - s_bar) / sqrt(p (1 - p) sum n_i (s_i - s_bar)^2); z^2 is R's
 * prop.trend.test statistic; the two-sided p-value is P(|Z| >= |z|).
 * Sources and checks against R: docs/statistics.md sec. 7, tests/reference/homog_r.csv.
 */
#include "fm_stats_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>

#define FFH_REL_ERR 1e-7

/* Largest 2xK table the exact test takes on at all: (F + 1) * N work for the bounds. */
#define FFH_MAX_BOUND_WORK 2e8

static double lchoose(double n, double k)
{
    return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0);
}

struct ffh {
    size_t k;          /* columns (all with n > 0) */
    const uint64_t *n; /* runs per column */
    uint64_t *rest;    /* rest[j] = n_j + ... + n_{k-1}; rest[k] = 0 */
    double **g;        /* g[j][x] = log C(n_j, x) */
    double *hi, *lo;   /* [j * (F+1) + f]: max / min of the remaining sum of g */
    uint64_t f_total;
    double threshold, lognorm, sum;
    uint64_t nodes, max_nodes;
};

static double *bound(const struct ffh *s, double *b, size_t j, uint64_t f)
{
    return &b[j * (s->f_total + 1) + f];
}

/* hi/lo by dynamic programming from the last column back. */
static void ffh_bounds(struct ffh *s)
{
    for (uint64_t f = 0; f <= s->f_total; f++) {
        *bound(s, s->hi, s->k, f) = f == 0 ? 0.0 : -INFINITY;
        *bound(s, s->lo, s->k, f) = f == 0 ? 0.0 : INFINITY;
    }
    for (size_t j = s->k; j-- > 0;) {
        for (uint64_t f = 0; f <= s->f_total; f++) {
            double best = -INFINITY, worst = INFINITY;
            uint64_t lo = f > s->rest[j + 1] ? f - s->rest[j + 1] : 0;
            uint64_t hi = f < s->n[j] ? f : s->n[j];
            for (uint64_t x = lo; x <= hi && lo <= hi; x++) {
                double a = s->g[j][x] + *bound(s, s->hi, j + 1, f - x);
                double b = s->g[j][x] + *bound(s, s->lo, j + 1, f - x);
                best = a > best ? a : best;
                worst = b < worst ? b : worst;
            }
            *bound(s, s->hi, j, f) = best;
            *bound(s, s->lo, j, f) = worst;
        }
    }
}

/* Add the probability of the tables through node (j, f) reached with partial sum partial. */
static bool ffh_walk(struct ffh *s, size_t j, uint64_t f, double partial)
{
    if (++s->nodes > s->max_nodes)
        return false;
    if (partial + *bound(s, s->hi, j, f) <= s->threshold) {
        s->sum += exp(partial + lchoose((double)s->rest[j], (double)f) - s->lognorm);
        return true;
    }
    if (j == s->k || partial + *bound(s, s->lo, j, f) > s->threshold)
        return true;
    uint64_t lo = f > s->rest[j + 1] ? f - s->rest[j + 1] : 0;
    uint64_t hi = f < s->n[j] ? f : s->n[j];
    for (uint64_t x = lo; x <= hi; x++)
        if (!ffh_walk(s, j + 1, f - x, partial + s->g[j][x]))
            return false;
    return true;
}

/* Copy the columns with runs; F = the smaller of failures and passes (the law is symmetric). */
static size_t compact(const uint64_t *k, const uint64_t *n, size_t cols, uint64_t *kk, uint64_t *nn,
                      uint64_t *f, uint64_t *total)
{
    size_t m = 0;
    uint64_t fails = 0;
    *total = 0;
    for (size_t i = 0; i < cols; i++) {
        if (n[i] == 0)
            continue;
        kk[m] = k[i];
        nn[m] = n[i];
        fails += k[i];
        *total += n[i];
        m++;
    }
    bool flip = fails > *total - fails;
    for (size_t i = 0; flip && i < m; i++)
        kk[i] = nn[i] - kk[i];
    *f = flip ? *total - fails : fails;
    return m;
}

static fm_stats_status check_table(const uint64_t *k, const uint64_t *n, size_t cols)
{
    if (k == NULL || n == NULL || cols < 2)
        return FM_STATS_EDOM;
    uint64_t total = 0;
    for (size_t i = 0; i < cols; i++) {
        if (k[i] > n[i] || n[i] > FM_STATS_MAX_ATTEMPTS || total > FM_STATS_MAX_ATTEMPTS - n[i])
            return FM_STATS_EDOM;
        total += n[i];
    }
    return FM_STATS_OK;
}

static fm_stats_status ffh_run(struct ffh *s, const uint64_t *kk, uint64_t total, double *p)
{
    double observed = 0.0;
    for (size_t j = 0; j < s->k; j++) {
        s->g[j] = malloc((s->n[j] + 1) * sizeof **s->g);
        if (s->g[j] == NULL)
            return FM_STATS_ENOMEM;
        for (uint64_t x = 0; x <= s->n[j]; x++)
            s->g[j][x] = lchoose((double)s->n[j], (double)x);
        observed += s->g[j][kk[j]];
    }
    ffh_bounds(s);
    s->threshold = observed + log1p(FFH_REL_ERR);
    s->lognorm = lchoose((double)total, (double)s->f_total);
    if (!ffh_walk(s, 0, s->f_total, 0.0))
        return FM_STATS_ETOOBIG;
    *p = s->sum > 1.0 ? 1.0 : s->sum;
    return FM_STATS_OK;
}

fm_stats_status fm_stats_ffh_exact(const uint64_t *k, const uint64_t *n, size_t cols,
                                   uint64_t max_nodes, double *p_value)
{
    fm_stats_status st = check_table(k, n, cols);
    if (st != FM_STATS_OK)
        return st;
    uint64_t *kk = calloc(cols, sizeof *kk), *nn = calloc(cols, sizeof *nn);
    uint64_t *rest = calloc(cols + 1, sizeof *rest);
    double **g = calloc(cols, sizeof *g);
    double *hi = NULL, *lo = NULL;
    uint64_t f = 0, total = 0;
    size_t m = kk && nn && rest && g ? compact(k, n, cols, kk, nn, &f, &total) : 0;
    st = kk && nn && rest && g ? FM_STATS_OK : FM_STATS_ENOMEM;
    if (st == FM_STATS_OK && (m < 2 || f == 0)) {
        *p_value = 1.0; /* one condition, or no variation: nothing to test */
        goto out;
    }
    if (st == FM_STATS_OK && (double)(f + 1) * (double)total > FFH_MAX_BOUND_WORK) {
        st = FM_STATS_ETOOBIG;
        goto out;
    }
    for (size_t j = m; st == FM_STATS_OK && j-- > 0;)
        rest[j] = rest[j + 1] + nn[j];
    hi = st == FM_STATS_OK ? malloc((m + 1) * (f + 1) * sizeof *hi) : NULL;
    lo = hi ? malloc((m + 1) * (f + 1) * sizeof *lo) : NULL;
    if (st == FM_STATS_OK && lo == NULL)
        st = FM_STATS_ENOMEM;
    if (st == FM_STATS_OK) {
        struct ffh s = {.k = m,
                        .n = nn,
                        .rest = rest,
                        .g = g,
                        .hi = hi,
                        .lo = lo,
                        .f_total = f,
                        .max_nodes = max_nodes};
        st = ffh_run(&s, kk, total, p_value);
    }
out:
    for (size_t j = 0; g && j < cols; j++)
        free(g[j]);
    free(g);
    free(hi);
    free(lo);
    free(rest);
    free(kk);
    free(nn);
    return st;
}

fm_stats_status fm_stats_chisq_homogeneity(const uint64_t *k, const uint64_t *n, size_t cols,
                                           double *statistic, double *df, double *p_value)
{
    fm_stats_status st = check_table(k, n, cols);
    if (st != FM_STATS_OK)
        return st;
    fm_stats_gsl_quiet();
    double fails = 0, total = 0, x2 = 0;
    size_t m = 0;
    for (size_t i = 0; i < cols; i++) {
        fails += (double)k[i];
        total += (double)n[i];
        m += n[i] > 0;
    }
    *statistic = 0;
    *df = m > 1 ? (double)(m - 1) : 0;
    *p_value = 1.0;
    if (m < 2 || fails == 0 || fails == total)
        return FM_STATS_OK;
    double p = fails / total;
    for (size_t i = 0; i < cols; i++) {
        if (n[i] == 0)
            continue;
        double e1 = (double)n[i] * p, e0 = (double)n[i] - e1;
        double d = (double)k[i] - e1; /* the pass cell deviates by -d */
        x2 += d * d / e1 + d * d / e0;
    }
    *statistic = x2;
    *p_value = gsl_cdf_chisq_Q(x2, *df);
    return isfinite(*p_value) ? FM_STATS_OK : FM_STATS_ENOCONV;
}

fm_stats_status fm_stats_trend(const uint64_t *k, const uint64_t *n, const double *score,
                               size_t cols, double *z, double *p_value)
{
    fm_stats_status st = check_table(k, n, cols);
    if (st != FM_STATS_OK || score == NULL)
        return st != FM_STATS_OK ? st : FM_STATS_EDOM;
    fm_stats_gsl_quiet();
    double fails = 0, total = 0, ssum = 0;
    for (size_t i = 0; i < cols; i++) {
        if (!isfinite(score[i]))
            return FM_STATS_EDOM;
        fails += (double)k[i];
        total += (double)n[i];
        ssum += (double)n[i] * score[i];
    }
    *z = 0;
    *p_value = 1.0;
    if (total == 0 || fails == 0 || fails == total)
        return FM_STATS_OK;
    double sbar = ssum / total, t = 0, v = 0, p = fails / total;
    for (size_t i = 0; i < cols; i++) {
        double d = score[i] - sbar;
        t += (double)k[i] * d;
        v += (double)n[i] * d * d;
    }
    if (!(v > 0))
        return FM_STATS_OK; /* every run had the same score: no trend to see */
    *z = t / sqrt(p * (1 - p) * v);
    *p_value = 2.0 * gsl_cdf_ugaussian_Q(fabs(*z));
    if (*p_value > 1.0)
        *p_value = 1.0;
    return isfinite(*p_value) ? FM_STATS_OK : FM_STATS_ENOCONV;
}
