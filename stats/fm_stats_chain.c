/*
 * fm_stats_chain.c - statistics of retry chains: the first-attempt failure rate p1, the rate q
 * at which a retry fails after a failure, whether q differs from p1, and the attempt count of
 * the correlated model P(all A fail) = p1 q^(A-1).
 *
 * Independence test: Fisher's exact test (Fisher 1935; Agresti 2002, Categorical Data
 * Analysis, sec. 3.5) on the table [[k1, n1-k1], [kq, nq-kq]].  Given its margins the count in
 * the top-left cell is hypergeometric; the two-sided p-value is, as in R's fisher.test, the
 * total probability of the tables no more likely than the observed one, with R's relative
 * slack 1 + 1e-7 so that tables tied in exact arithmetic count as tied.  The probabilities are
 * walked from the mode by their ratio f(x+1)/f(x) in log space, so only ratios of
 * probabilities are ever formed (the normalising constant, ~n ln 2 for big tables, never is),
 * and the walk stops once the rest of a log-concave tail is below 1e-17 of the observed term.
 *
 * Conservative attempt count: the correlated count rises with both p1 and q, so it is largest
 * at the corner (upper(p1), upper(q)).  Each bound is taken at level (1+c)/2, so by Bonferroni
 * both hold together with probability >= c whatever the dependence between the two estimates
 * (the retries' number depends on the first attempts' failures).  Why not sqrt(c) each:
 * docs/statistics.md, sec. 6.
 */
#include "fm_stats_internal.h"

#include <math.h>
#include <stddef.h>

/* Walk no further once the rest of a tail is below this fraction of the observed term. */
#define TAIL_LOG_EPS (-40.0) /* e^-40 ~ 4e-18 */

/* R's fisher.test: a table counts as no more likely than the observed one within 1 + 1e-7. */
#define FISHER_REL_ERR 1e-7

/* The hypergeometric law of the top-left cell x: m failures, nn passes, kk first attempts. */
struct hyper {
    double m, nn, kk;
    double lo, hi; /* support */
};

/* log f(x+1)/f(x) = log[(m-x)(kk-x) / ((x+1)(nn-kk+x+1))], for lo <= x < hi. */
static double log_ratio_up(const struct hyper *h, double x)
{
    return log(((h->m - x) * (h->kk - x)) / ((x + 1.0) * (h->nn - h->kk + x + 1.0)));
}

/* Sums of one tail of the walk, relative to the mode (all) and to the observed term (sel). */
struct sums {
    double all, sel;
};

/*
 * Walk from the mode outwards in direction dir (+1 / -1), accumulating log f(x)/f(mode).
 * When `find` is set, stop at x = find_x and return its log ratio; otherwise add every term
 * to the sums, counting in sel those within the observed term's slack, until the tail left
 * is negligible.  The same floating-point steps are taken in both modes, so the observed
 * term compares equal to itself.
 */
static double walk(const struct hyper *h, double mode, int dir, bool find, double find_x,
                   double lr_obs, struct sums *s)
{
    double lr = 0.0, x = mode, end = dir > 0 ? h->hi : h->lo;
    double sel_limit = lr_obs + log1p(FISHER_REL_ERR);
    while (x != end) {
        double step = dir > 0 ? log_ratio_up(h, x) : -log_ratio_up(h, x - 1.0);
        lr += step;
        x += dir;
        if (find) {
            if (x == find_x)
                return lr;
            continue;
        }
        s->all += exp(lr);
        if (lr <= sel_limit)
            s->sel += exp(lr - lr_obs);
        /* log-concave: later ratios are below this one, the rest sums to < f(x) r/(1-r) */
        if (step < 0.0 && lr + step - log(-expm1(step)) < fmin(lr_obs, 0.0) + TAIL_LOG_EPS)
            break;
    }
    return lr;
}

fm_stats_status fm_stats_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                                      double *p_value)
{
    if (a > FM_STATS_MAX_ATTEMPTS || b > FM_STATS_MAX_ATTEMPTS || c > FM_STATS_MAX_ATTEMPTS ||
        d > FM_STATS_MAX_ATTEMPTS)
        return FM_STATS_EDOM;
    struct hyper h = {(double)a + (double)c, (double)b + (double)d, (double)a + (double)b, 0, 0};
    h.lo = fmax(0.0, h.kk - h.nn);
    h.hi = fmin(h.kk, h.m);
    double x = (double)a;
    if (h.lo == h.hi) {
        *p_value = 1.0;
        return FM_STATS_OK;
    }
    double mode = floor((h.kk + 1.0) * (h.m + 1.0) / (h.m + h.nn + 2.0));
    mode = fmin(fmax(mode, h.lo), h.hi);
    double lr_obs = 0.0;
    if (x != mode)
        lr_obs = walk(&h, mode, x > mode ? 1 : -1, true, x, 0.0, NULL);
    /* the mode itself: f(mode)/f(mode) = 1 */
    struct sums s = {1.0, lr_obs >= -log1p(FISHER_REL_ERR) ? exp(-lr_obs) : 0.0};
    walk(&h, mode, 1, false, 0.0, lr_obs, &s);
    walk(&h, mode, -1, false, 0.0, lr_obs, &s);
    double p = exp(lr_obs + log(s.sel) - log(s.all));
    if (isnan(p))
        return FM_STATS_ENOCONV;
    *p_value = fmin(p, 1.0);
    return FM_STATS_OK;
}

/* One-sided exact upper bound at level c; 1 when there is no data. */
static fm_stats_status upper_bound(uint64_t k, uint64_t n, double c, double *upper)
{
    fm_interval ci;
    if (n == 0) {
        *upper = 1.0;
        return FM_STATS_OK;
    }
    fm_stats_status status = fm_stats_interval(k, n, c, FM_CI_EXACT, FM_CI_UPPER, &ci);
    if (status == FM_STATS_OK)
        *upper = ci.upper;
    return status;
}

fm_stats_status fm_stats_chain(uint64_t k1, uint64_t n1, uint64_t kq, uint64_t nq, double c,
                               double target, fm_chain_stats *out)
{
    if (n1 < 1 || k1 > n1 || kq > nq || n1 > FM_STATS_MAX_ATTEMPTS || nq > FM_STATS_MAX_ATTEMPTS ||
        !fm_stats_is_open_prob(c) || !fm_stats_is_open_prob(target))
        return FM_STATS_EDOM;
    fm_chain_stats r;
    fm_stats_status status = fm_stats_interval(k1, n1, c, FM_CI_EXACT, FM_CI_TWO_SIDED, &r.p1);
    if (status)
        return status;
    r.q = (fm_interval){NAN, 0.0, 1.0};
    if (nq > 0 && (status = fm_stats_interval(kq, nq, c, FM_CI_EXACT, FM_CI_TWO_SIDED, &r.q)))
        return status;
    r.level_each = (1.0 + c) / 2.0;
    if ((status = upper_bound(k1, n1, r.level_each, &r.p1_upper)) ||
        (status = upper_bound(kq, nq, r.level_each, &r.q_upper)) ||
        (status = fm_stats_fisher_exact(k1, n1 - k1, kq, nq - kq, &r.fisher_p)))
        return status;
    /* no retries: nothing is known about q; the point answer assumes independence */
    double q_point = nq > 0 ? r.q.estimate : r.p1.estimate;
    if ((status = fm_stats_attempts_correlated(r.p1.estimate, q_point, target, &r.point)) ||
        (status = fm_stats_attempts_correlated(r.p1_upper, r.q_upper, target, &r.conservative)))
        return status;
    *out = r;
    return FM_STATS_OK;
}
