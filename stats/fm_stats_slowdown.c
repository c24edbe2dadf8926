/*
 * fm_stats_slowdown.c - how much slower a program runs under an emulator, and how often an
 * emulated run would exceed a CI timeout (`flakemeter bench emu`).
 *
 * Slowdown: reps are made in pairs (one native, one emulated, interleaved), so the paired log
 * ratios d_i = ln(e_i / n_i) cancel drift that both sides of a pair share.  The interval is the
 * one-sample t interval on the d_i, exponentiated: exp(mean d +- t_{n-1,(1+c)/2} sd(d)/sqrt(n)).
 * It covers the geometric mean of the ratios exactly when the d_i are independent normals
 * (log-normal durations), is invariant to the time unit, never goes below 0, and needs no
 * random numbers (a bootstrap would, and covers badly at the 3-10 pairs a benchmark makes).
 *
 * Timeouts: emulated durations x_i are fitted with a log-normal (mean m and sample sd s of
 * ln x_i, n of them).  With z = (ln t - mu) / sigma, P(X > t) = Phi(-z).  The statistic
 * T = sqrt(n) (ln t - m) / s follows the noncentral t distribution with n - 1 degrees of freedom
 * and noncentrality delta = sqrt(n) z, so inverting its CDF in delta gives an exact interval
 * for z, hence for P(X > t), under the log-normal model (the one-sided normal tolerance bound
 * of Owen 1968).  The timeout that keeps P(X > t) <= target with confidence c is
 * exp(m + k s), k = t_{n-1, c}(sqrt(n) z_target) / sqrt(n), the noncentral t quantile.
 * The noncentral t CDF is F(t) = E[Phi(t sqrt(U / nu) - delta)], U ~ chi^2_nu, integrated
 * with GSL's adaptive Gauss-Kronrod rule over V = sqrt(U) between its 1e-15 and 1 - 1e-15
 * quantiles;
 * quantiles and noncentralities come from Brent's method on a bracket that is widened until it
 * holds the root.
 * Sources: Student (1908); Owen, "A survey of properties and applications of the noncentral
 * t-distribution", Technometrics 10 (1968); Hahn & Meeker, Statistical Intervals (1991), ch. 4;
 * Lenth, AS 243 (1989) for what R's pt() computes (our reference, not our method).
 */
#include "fm_stats_internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_roots.h>
#include <math.h>

static bool positive_finite(double x)
{
    return x > 0.0 && isfinite(x);
}

/* Mean and sample standard deviation of ln(a_i / b_i) (b NULL: of ln a_i), Welford's update. */
static fm_stats_status log_moments(const double *a, const double *b, size_t n, double *mean,
                                   double *sd)
{
    double m = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!positive_finite(a[i]) || (b != NULL && !positive_finite(b[i])))
            return FM_STATS_EDOM;
        double d = log(a[i]) - (b != NULL ? log(b[i]) : 0.0);
        double delta = d - m;
        m += delta / (double)(i + 1);
        s2 += delta * (d - m);
    }
    *mean = m;
    *sd = sqrt(s2 / (double)(n - 1));
    return FM_STATS_OK;
}

/* Student's t quantile with df degrees of freedom for the upper tail alpha. */
static fm_stats_status t_upper(double alpha, double df, double *q)
{
    *q = gsl_cdf_tdist_Qinv(alpha, df);
    return isfinite(*q) && *q > 0.0 ? FM_STATS_OK : FM_STATS_ENOCONV;
}

fm_stats_status fm_stats_ratio_paired(const double *numer, const double *denom, size_t n, double c,
                                      fm_ratio_interval *out)
{
    fm_stats_gsl_quiet();
    if (numer == NULL || denom == NULL || n < 2 || !fm_stats_is_open_prob(c))
        return FM_STATS_EDOM;
    double mean, sd, q;
    fm_stats_status status = log_moments(numer, denom, n, &mean, &sd);
    if (status == FM_STATS_OK)
        status = t_upper((1.0 - c) / 2.0, (double)(n - 1), &q);
    if (status != FM_STATS_OK)
        return status;
    double half = q * sd / sqrt((double)n);
    *out = (fm_ratio_interval){.ratio = exp(mean),
                               .lower = exp(mean - half),
                               .upper = exp(mean + half),
                               .log_mean = mean,
                               .log_sd = sd,
                               .n = n};
    return FM_STATS_OK;
}

fm_stats_status fm_stats_lognormal_fit(const double *x, size_t n, fm_lognormal_fit *out)
{
    if (x == NULL || n < 2)
        return FM_STATS_EDOM;
    out->n = n;
    return log_moments(x, NULL, n, &out->mean_log, &out->sd_log);
}

static bool fit_ok(const fm_lognormal_fit *fit)
{
    return fit != NULL && fit->n >= 2 && isfinite(fit->mean_log) && fit->sd_log >= 0.0 &&
           isfinite(fit->sd_log);
}

/* ---- the noncentral t distribution ---------------------------------------------------------- */

/*
 * F(t) = E[Phi(t V / sqrt(nu) - delta)] with V = sqrt(U), U ~ chi^2_nu: V has the chi density
 * v^(nu-1) exp(-v^2/2) / (2^(nu/2-1) Gamma(nu/2)), smooth at 0 even for nu = 1 (the chi^2
 * density is not), integrated between the 1e-15 and 1 - 1e-15 quantiles of V.
 */
typedef struct {
    double t, nu, delta, log_norm; /* log_norm: log of the chi density's constant */
    double v_lo, v_hi;
} nct_point;

static double nct_integrand(double v, void *params)
{
    const nct_point *p = params;
    double log_pdf = (p->nu - 1.0) * log(v) - 0.5 * v * v - p->log_norm;
    return gsl_cdf_ugaussian_P(p->t * v / sqrt(p->nu) - p->delta) * exp(log_pdf);
}

static void nct_setup(double nu, nct_point *p)
{
    p->nu = nu;
    p->log_norm = (0.5 * nu - 1.0) * M_LN2 + lgamma(0.5 * nu);
    p->v_lo = sqrt(gsl_cdf_chisq_Pinv(1e-15, nu));
    p->v_hi = sqrt(gsl_cdf_chisq_Qinv(1e-15, nu));
}

/* P(T <= t) for T ~ noncentral t(nu, delta); p has been set up for nu. */
static fm_stats_status nct_cdf(nct_point *p, double t, double delta, double *cdf)
{
    enum { LIMIT = 128 };
    p->t = t;
    p->delta = delta;
    gsl_function f = {nct_integrand, p};
    double err;
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(LIMIT);
    if (w == NULL)
        return FM_STATS_ENOCONV;
    int rc = gsl_integration_qag(&f, p->v_lo, p->v_hi, 1e-15, 1e-11, LIMIT, GSL_INTEG_GAUSS21, w,
                                 cdf, &err);
    gsl_integration_workspace_free(w);
    *cdf = fmin(1.0, fmax(0.0, *cdf));
    return rc == GSL_SUCCESS && isfinite(*cdf) ? FM_STATS_OK : FM_STATS_ENOCONV;
}

/* What a root search solves: g(x) = F(...) - level, with x the free variable. */
typedef struct {
    nct_point point;
    double t, delta, level;
    bool in_delta; /* x is delta (else x is t) */
    fm_stats_status status;
} nct_equation;

static double nct_equation_f(double x, void *params)
{
    nct_equation *e = params;
    double cdf = 0.0;
    fm_stats_status st =
        e->in_delta ? nct_cdf(&e->point, e->t, x, &cdf) : nct_cdf(&e->point, x, e->delta, &cdf);
    if (st != FM_STATS_OK)
        e->status = st;
    return cdf - e->level;
}

/* Brent's method on [lo, hi], first widened (by doubling its width) until it brackets a root. */
static fm_stats_status solve(nct_equation *e, double lo, double hi, double *root)
{
    gsl_function f = {nct_equation_f, e};
    double flo = nct_equation_f(lo, e), fhi = nct_equation_f(hi, e);
    for (int i = 0; i < 200 && flo * fhi > 0.0 && e->status == FM_STATS_OK; i++) {
        double width = hi - lo;
        lo -= width;
        hi += width;
        flo = nct_equation_f(lo, e);
        fhi = nct_equation_f(hi, e);
    }
    if (e->status != FM_STATS_OK || flo * fhi > 0.0)
        return FM_STATS_ENOCONV;
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (s == NULL || gsl_root_fsolver_set(s, &f, lo, hi) != GSL_SUCCESS) {
        gsl_root_fsolver_free(s);
        return FM_STATS_ENOCONV;
    }
    int rc = GSL_CONTINUE;
    for (int i = 0; i < 200 && rc == GSL_CONTINUE && e->status == FM_STATS_OK; i++) {
        rc = gsl_root_fsolver_iterate(s);
        double a = gsl_root_fsolver_x_lower(s), b = gsl_root_fsolver_x_upper(s);
        if (rc == GSL_SUCCESS)
            rc = gsl_root_test_interval(a, b, 1e-13, 1e-12);
    }
    *root = gsl_root_fsolver_root(s);
    gsl_root_fsolver_free(s);
    return rc == GSL_SUCCESS && e->status == FM_STATS_OK ? FM_STATS_OK : FM_STATS_ENOCONV;
}

/* delta with P(T <= t | nu, delta) = level (F falls as delta grows). */
static fm_stats_status nct_delta_for(double t, double nu, double level, double *delta)
{
    nct_equation e = {.t = t, .level = level, .in_delta = true};
    nct_setup(nu, &e.point);
    return solve(&e, t - 1.0 - fabs(t) * 0.5, t + 1.0 + fabs(t) * 0.5, delta);
}

/* The level-quantile of noncentral t(nu, delta). */
static fm_stats_status nct_quantile(double level, double nu, double delta, double *t)
{
    nct_equation e = {.delta = delta, .level = level, .in_delta = false};
    nct_setup(nu, &e.point);
    return solve(&e, delta - 1.0 - fabs(delta) * 0.5, delta + 1.0 + fabs(delta) * 0.5, t);
}

/* ---- timeouts ------------------------------------------------------------------------------- */

fm_stats_status fm_stats_lognormal_exceed(const fm_lognormal_fit *fit, double t, double c,
                                          fm_interval *out)
{
    fm_stats_gsl_quiet();
    if (!fit_ok(fit) || !positive_finite(t) || !fm_stats_is_open_prob(c))
        return FM_STATS_EDOM;
    double lt = log(t) - fit->mean_log;
    if (fit->sd_log == 0.0) { /* every run took the same time: no spread to extrapolate */
        double p = lt < 0.0 ? 1.0 : 0.0;
        *out = (fm_interval){p, p, p};
        return FM_STATS_OK;
    }
    double n = (double)fit->n, rn = sqrt(n), z = lt / fit->sd_log, alpha = (1.0 - c) / 2.0;
    double d_lo, d_hi; /* P(T >= t*) = alpha at d_lo; P(T <= t*) = alpha at d_hi */
    fm_stats_status st = nct_delta_for(rn * z, n - 1.0, 1.0 - alpha, &d_lo);
    if (st == FM_STATS_OK)
        st = nct_delta_for(rn * z, n - 1.0, alpha, &d_hi);
    if (st != FM_STATS_OK)
        return st;
    /* P(X > t) = Phi(-z) falls with z: the upper bound comes from the lower end of z. */
    *out = (fm_interval){.estimate = gsl_cdf_ugaussian_Q(z),
                         .lower = gsl_cdf_ugaussian_Q(d_hi / rn),
                         .upper = gsl_cdf_ugaussian_Q(d_lo / rn)};
    return FM_STATS_OK;
}

fm_stats_status fm_stats_lognormal_timeout(const fm_lognormal_fit *fit, double target, double c,
                                           fm_timeout_answer *out)
{
    fm_stats_gsl_quiet();
    if (!fit_ok(fit) || !fm_stats_is_open_prob(target) || !fm_stats_is_open_prob(c))
        return FM_STATS_EDOM;
    double n = (double)fit->n, zt = gsl_cdf_ugaussian_Qinv(target), q;
    fm_stats_status st = nct_quantile(c, n - 1.0, sqrt(n) * zt, &q);
    if (st != FM_STATS_OK)
        return st;
    out->point = exp(fit->mean_log + zt * fit->sd_log);
    out->conservative = exp(fit->mean_log + q / sqrt(n) * fit->sd_log);
    return FM_STATS_OK;
}
