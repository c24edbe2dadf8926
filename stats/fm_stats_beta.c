/*
 * fm_stats_beta.c - quantiles and moments of the beta distribution.
 *
 * CDF: GSL 2.7's gsl_cdf_beta_P/Q switch to an asymptotic approximation (A&S 26.5.17) when one
 * parameter is below 10 and the other above 1e5 - exactly where flake rates live (a few
 * failures in 10^9 runs) - and are then off by ~1e-8 relative.  We evaluate the regularised
 * incomplete beta function ourselves with its continued fraction (DLMF 8.17.22, modified
 * Lentz), always for the tail that lies on the short side of the mean, so a small tail keeps
 * its relative precision; the prefactor x^a (1-x)^b / B(a, b) is formed in log space with
 * log1p and GSL's lnbeta.  With one parameter small it converges in a few terms; near the peak
 * of a beta with both parameters large it takes O(sqrt(max(a, b))) terms.
 *
 * Quantiles: GSL 2.7's gsl_cdf_beta_Pinv returns NaN for large parameters (P = 0.9995, a = 2,
 * b = 1e9), so we invert our CDF with GSL's Brent solver on [0, 1].  The caller names the tail it
 * wants (lower: P(X <= x) = P; upper: P(X > x) = Q) and we solve against that tail's own CDF, so a
 * small tail probability such as (1 - 0.9999999)/2 keeps full relative precision instead of being
 * lost in 1 - Q.
 *
 * Moments: E[X^A] for X ~ Beta(alpha, beta) is prod_{i<A} (alpha+i)/(alpha+beta+i)
 * = B(alpha+A, beta) / B(alpha, beta).  Small orders use the product term by term; large ones
 * the log-beta form, which GSL evaluates accurately for large arguments.
 */
#include "fm_stats_internal.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_log.h>
#include <math.h>

enum { MAX_ITER = 4000, PRODUCT_ORDERS = 64, CF_MAX_TERMS = 50000000, INTEGRAL_INTERVALS = 512 };

/* Above this a parameter counts as large for the choice of tail algorithm. */
#define BIG_PARAMETER 1000.0

/*
 * The continued fraction of I_x(a, b) without its prefactor (DLMF 8.17.22), by modified Lentz.
 * xc is 1 - x, given separately: its first term 1 - (a+b) x / (a+1) is formed as
 * ((a+b) xc + 1 - b) / (a+1), which for x near 1 (the upper tail of a beta with huge b) does
 * not cancel away the digits of the small 1 - x.
 */
static double beta_cf(double x, double xc, double a, double b)
{
    const double tiny = 1e-300;
    double c = 1.0;
    double d = x < 0.5 ? 1.0 - (a + b) * x / (a + 1.0) : ((a + b) * xc + 1.0 - b) / (a + 1.0);
    d = 1.0 / (fabs(d) < tiny ? tiny : d);
    double h = d;
    for (long m = 1; m < CF_MAX_TERMS; m++) {
        double m2 = 2.0 * (double)m, md = (double)m;
        for (int half = 0; half < 2; half++) {
            double num = half == 0 ? md * (b - md) * x / ((a + m2 - 1.0) * (a + m2))
                                   : -(a + md) * (a + b + md) * x / ((a + m2) * (a + m2 + 1.0));
            d = 1.0 + num * d;
            c = 1.0 + num / c;
            d = 1.0 / (fabs(d) < tiny ? tiny : d);
            c = fabs(c) < tiny ? tiny : c;
            h *= d * c;
            if (half == 1 && fabs(d * c - 1.0) <= DBL_EPSILON)
                return h;
        }
    }
    return NAN;
}

/* Stirling remainder: lnGamma(x) - [(x - 1/2) ln x - x + ln sqrt(2 pi)]. */
static double stirling_remainder(double x)
{
    if (x < 10.0)
        return lgamma(x) - ((x - 0.5) * log(x) - x + 0.5 * log(2.0 * M_PI));
    double r = 1.0 / x, r2 = r * r; /* DLMF 5.11.1: B_2k / (2k (2k-1) x^(2k-1)) */
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
}

/*
 * log of the prefactor x^a (1-x)^b / B(a, b), the same for I_x(a, b) and I_{1-x}(b, a).
 *
 * Small parameters: directly, from x itself (log1p for 1-x): forming 1-x first and raising it
 * to the power b ~ 1e12 would lose four digits.  Both parameters large: each of a ln x,
 * b ln(1-x) and ln B(a, b) is ~1e12 and their sum O(1), so we expand around the peak
 * x0 = a/(a+b) instead (as TOMS 708's brcomp does): with d = x - x0,
 *   ln pre = 1/2 ln(ab / (2 pi (a+b))) - [r(a) + r(b) - r(a+b)]
 *          + a log1pmx(d/x0) + b log1pmx(-d/(1-x0)) + d (a/x0 - b/(1-x0)),
 * r the Stirling remainder and log1pmx(t) = log(1+t) - t, every term O(1) or tiny.
 */
static double ln_prefactor(double x, double a, double b)
{
    if (a < 10.0 || b < 10.0) {
        gsl_sf_result lnb;
        if (gsl_sf_lnbeta_e(a, b, &lnb) != GSL_SUCCESS)
            return NAN;
        return a * log(x) + b * log1p(-x) - lnb.val;
    }
    double x0 = a / (a + b), d = x - x0;
    gsl_sf_result la, lb;
    if (gsl_sf_log_1plusx_mx_e(d / x0, &la) != GSL_SUCCESS ||
        gsl_sf_log_1plusx_mx_e(-d / (1.0 - x0), &lb) != GSL_SUCCESS)
        return NAN;
    double centre = 0.5 * (log(a) + log(b) - log(a + b) - log(2.0 * M_PI)) -
                    (stirling_remainder(a) + stirling_remainder(b) - stirling_remainder(a + b));
    return centre + a * la.val + b * lb.val + d * (a / x0 - b / (1.0 - x0));
}

/* Integrand of upper_tail_integral, relative to its value at the start, on a scaled axis. */
struct tail_integrand {
    double a, b, x, scale;
};

static double tail_integrand(double v, void *params)
{
    const struct tail_integrand *p = params;
    double u = v * p->scale;
    /* t - x = (1 - x)(1 - e^(-u/(b-1))) exactly, so log(t/x) keeps its digits when a is huge */
    double ln_t_over_x = log1p((1.0 - p->x) * -expm1(-u / (p->b - 1.0)) / p->x);
    return exp((p->a - 1.0) * ln_t_over_x - u * p->b / (p->b - 1.0));
}

/*
 * Q(x; a, b) for b large and x past the mean but below 1/2.  There the continued fraction would
 * run in 1 - x ~ 1 and lose the digits of the small tail to cancellation.  Instead integrate the
 * density after s = -(b-1) log(1-t), which turns (1-t)^(b-1) into e^-s:
 *   Q = x^a (1-x)^b / (x (b-1) B(a, b)) * int_0^inf (t(s)/x)^(a-1) e^(-u b/(b-1)) du,
 * u = s - s0: a smooth, positive, decreasing integrand (GSL's QAGIU).  Its length scale is
 * 1/(initial decay rate), or the width x (b-1) / sqrt(a-1) of its Gaussian shoulder when a is
 * large and x near the mean; u is measured in that unit so QAGIU's map of [0, inf) fits it.
 */
static double upper_tail_integral(double x, double a, double b)
{
    double rate = b / (b - 1.0) - (a - 1.0) * (1.0 - x) / (x * (b - 1.0));
    double width = a > 1.0 ? x * (b - 1.0) / sqrt(a - 1.0) : INFINITY;
    double scale = fmin(rate > 0.0 ? 1.0 / rate : INFINITY, width);
    struct tail_integrand p = {a, b, x, scale};
    gsl_function f = {tail_integrand, &p};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(INTEGRAL_INTERVALS);
    double integral = NAN, abserr;
    if (w == NULL)
        return NAN;
    int status =
        gsl_integration_qagiu(&f, 0.0, 0.0, 1e-13, INTEGRAL_INTERVALS, w, &integral, &abserr);
    /* Roundoff may stop QAGIU short of 1e-13; its error estimate says whether that matters. */
    if (status != GSL_SUCCESS && !(status == GSL_EROUND && abserr <= 1e-12 * integral))
        integral = NAN;
    gsl_integration_workspace_free(w);
    return exp(ln_prefactor(x, a, b) - log(x) - log(b - 1.0)) * integral * scale;
}

/* The short tail: P(x) below the mean, Q(x) above it; `is_upper` says which one it is. */
static double short_tail(double x, double a, double b, bool *is_upper)
{
    *is_upper = x >= (a + 1.0) / (a + b + 2.0);
    if (*is_upper && x < 0.5 && b > BIG_PARAMETER)
        return upper_tail_integral(x, a, b);
    if (!*is_upper && x > 0.5 && a > BIG_PARAMETER) /* the mirror: P(x; a, b) = Q(1-x; b, a) */
        return upper_tail_integral(1.0 - x, b, a);
    if (*is_upper) /* Q(x; a, b) = I_{1-x}(b, a) */
        return exp(ln_prefactor(x, a, b)) * beta_cf(1.0 - x, x, b, a) / b;
    return exp(ln_prefactor(x, a, b)) * beta_cf(x, 1.0 - x, a, b) / a;
}

fm_stats_status fm_stats_beta_cdf(double x, double a, double b, bool upper, double *tail)
{
    fm_stats_gsl_quiet();
    if (!(a > 0.0) || !(b > 0.0) || isinf(a) || isinf(b) || isnan(x))
        return FM_STATS_EDOM;
    double v;
    if (x <= 0.0) {
        v = upper ? 1.0 : 0.0;
    } else if (x >= 1.0) {
        v = upper ? 0.0 : 1.0;
    } else {
        bool short_is_upper;
        double t = short_tail(x, a, b, &short_is_upper);
        v = short_is_upper == upper ? t : 1.0 - t;
    }
    if (isnan(v))
        return FM_STATS_ENOCONV;
    *tail = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
    return FM_STATS_OK;
}

struct beta_tail {
    double a, b;
    double prob; /* the tail probability to hit */
    bool upper;  /* solve Q(x) = prob rather than P(x) = prob */
};

static double tail_gap(double x, void *params)
{
    const struct beta_tail *t = params;
    double v;
    if (fm_stats_beta_cdf(x, t->a, t->b, t->upper, &v) != FM_STATS_OK)
        return NAN; /* makes the solver stop with an error */
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
