/*
 * fm_stats_plan.c - how many runs a claim "p < p0" needs.
 *
 * If the failure probability were p0, the chance of seeing at most k failures in n runs is the
 * binomial CDF F(n) = P(X <= k) = Q_beta(p0; k+1, n-k), the upper tail of the regularised
 * incomplete beta function (fm_stats_beta_cdf; GSL's gsl_cdf_binomial_P takes n as an unsigned
 * int, too small for 10^12 runs, and its beta CDF is approximate for large n and small k).
 * F falls as n grows, so a doubling search then bisection finds the smallest n with
 * F(n) <= 1 - c: seeing at most k failures in that many runs rejects p >= p0 at level c.
 * With k = 0 this is n = ceil(log(1-c) / log(1-p0)), about 3/p0 at 95% (the rule of three).
 */
#include "fm_stats_internal.h"

#include <math.h>

/* P(at most k failures in n runs | p0) is small enough (with the tie rule)? */
static fm_stats_status enough(double p0, uint64_t k, uint64_t n, double alpha, bool *ok)
{
    double cdf;
    fm_stats_status status = fm_stats_beta_cdf(p0, (double)k + 1.0, (double)(n - k), true, &cdf);
    if (status != FM_STATS_OK)
        return status;
    *ok = cdf <= alpha * (1.0 + FM_STATS_TIE);
    return FM_STATS_OK;
}

fm_stats_status fm_stats_plan_runs(double p0, uint64_t k, double c, uint64_t *runs)
{
    fm_stats_gsl_quiet();
    if (!fm_stats_is_open_prob(p0) || !fm_stats_is_open_prob(c) || k >= FM_STATS_MAX_ATTEMPTS)
        return FM_STATS_EDOM;
    double alpha = 1.0 - c;
    uint64_t lo = k, hi = k + 1; /* invariant: lo runs are not enough (at n <= k, F = 1) */
    bool ok = false;
    fm_stats_status status;
    for (;;) {
        if ((status = enough(p0, k, hi, alpha, &ok)))
            return status;
        if (ok)
            break;
        if (hi >= FM_STATS_MAX_ATTEMPTS)
            return FM_STATS_EDOM;
        lo = hi;
        hi = hi > FM_STATS_MAX_ATTEMPTS / 2 ? FM_STATS_MAX_ATTEMPTS : hi * 2;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if ((status = enough(p0, k, mid, alpha, &ok)))
            return status;
        if (ok)
            hi = mid;
        else
            lo = mid;
    }
    *runs = hi;
    return FM_STATS_OK;
}
