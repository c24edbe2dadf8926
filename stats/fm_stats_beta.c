/*
 * fm_stats_beta.c - quantiles and moments of the beta distribution.
 *
 * Quantiles: GSL 2.7's gsl_cdf_beta_Pinv returns NaN for large parameters (P = 0.9995, a = 2,
 * b = 1e9), which is exactly where flake rates live (a few failures in 10^9 runs), while
 * gsl_cdf_beta_P and _Q stay accurate.  So we invert the CDF ourselves with GSL's Brent
 * solver on [0, 1].  The caller names the tail it wants (lower: P(X <= x) = P; upper:
 * P(X > x) = Q) and we solve against that tail's own CDF, so a small tail probability such
 * as (1 - 0.9999999)/2 keeps full relative precision instead of being lost in 1 - Q.
 *
 * Moments: E[X^A] for X ~ Beta(alpha, beta) is prod_{i<A} (alpha+i)/(alpha+beta+i)
 * = B(alpha+A, beta) / B(alpha, beta).  Small orders use the product term by term; large ones
 * the log-beta form, which GSL evaluates accurately for large arguments.
 */
#include "fm_stats_internal.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>

enum { MAX_ITER = 4000, PRODUCT_ORDERS = 64 };

struct beta_tail {
    double a, b;
    double prob; /* the tail probability to hit */
    bool upper;  /* solve Q(x) = prob rather than P(x) = prob */
};

static double tail_gap(double x, void *params)
{
    const struct beta_tail *t = params;
    double v = t->upper ? gsl_cdf_beta_Q(x, t->a, t->b) : gsl_cdf_beta_P(x, t->a, t->b);
    return v - t->prob;
}

static fm_stats_status solve_tail(struct beta_tail *t, double *x)
{
    fm_stats_status status = FM_STATS_ENOCONV;
    gsl_function f = {tail_gap, t};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (s == NULL)
        return FM_STATS_ENOCONV;
    if (gsl_root_fsolver_set(s, &f, 0.0, 1.0) != GSL_SUCCESS)
        goto cleanup;
    for (int i = 0; i < MAX_ITER; i++) {
        if (gsl_root_fsolver_iterate(s) != GSL_SUCCESS)
            goto cleanup;
        double lo = gsl_root_fsolver_x_lower(s), hi = gsl_root_fsolver_x_upper(s);
        if (gsl_root_test_interval(lo, hi, 0.0, 4 * DBL_EPSILON) == GSL_SUCCESS || lo == hi) {
            *x = gsl_root_fsolver_root(s);
            status = FM_STATS_OK;
            break;
        }
    }
cleanup:
    gsl_root_fsolver_free(s);
    return status;
}

static fm_stats_status quantile(double prob, double a, double b, bool upper, double *x)
{
    fm_stats_gsl_quiet();
    if (!fm_stats_is_prob(prob) || !(a > 0.0) || !(b > 0.0) || isinf(a) || isinf(b))
        return FM_STATS_EDOM;
    /* The ends are exact: P(X <= 0) = 0 and P(X <= 1) = 1. */
    if (prob == 0.0) {
        *x = upper ? 1.0 : 0.0;
        return FM_STATS_OK;
    }
    if (prob == 1.0) {
        *x = upper ? 0.0 : 1.0;
        return FM_STATS_OK;
    }
    struct beta_tail t = {a, b, prob, upper};
    return solve_tail(&t, x);
}

fm_stats_status fm_stats_beta_quantile(double lower_tail, double a, double b, double *x)
{
    return quantile(lower_tail, a, b, false, x);
}

fm_stats_status fm_stats_beta_quantile_upper(double upper_tail, double a, double b, double *x)
{
    return quantile(upper_tail, a, b, true, x);
}

/* log E[X^order] = lnB(alpha+order, beta) - lnB(alpha, beta). */
static fm_stats_status log_moment(double alpha, double beta, double order, double *out)
{
    gsl_sf_result r1, r0;
    if (gsl_sf_lnbeta_e(alpha + order, beta, &r1) != GSL_SUCCESS ||
        gsl_sf_lnbeta_e(alpha, beta, &r0) != GSL_SUCCESS)
        return FM_STATS_ENOCONV;
    *out = r1.val - r0.val;
    return FM_STATS_OK;
}

fm_stats_status fm_stats_beta_moment(double alpha, double beta, uint64_t order, double *moment)
{
    fm_stats_gsl_quiet();
    if (!(alpha > 0.0) || !(beta > 0.0) || isinf(alpha) || isinf(beta))
        return FM_STATS_EDOM;
    if (order <= PRODUCT_ORDERS) {
        double m = 1.0;
        for (uint64_t i = 0; i < order; i++)
            m *= (alpha + (double)i) / (alpha + beta + (double)i);
        *moment = m;
        return FM_STATS_OK;
    }
    double lm;
    fm_stats_status status = log_moment(alpha, beta, (double)order, &lm);
    if (status == FM_STATS_OK)
        *moment = exp(lm);
    return status;
}
