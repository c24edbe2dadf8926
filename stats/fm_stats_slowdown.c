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
 * Timeouts: emulated durations x_i are fitted with a log-normal (mean and sample sd of ln x_i).
 * With z = (ln t - mu) / sigma, P(X > t) = Phi(-z).  The interval comes from the delta method
 * on z-hat = (ln t - mean) / sd: var(mean) = sigma^2/n, var(sd) ~ sigma^2 / (2(n-1)), so
 * se(z-hat) = sqrt(1/n + z-hat^2 / (2(n-1))) (Cox & Hinkley 1974; the normal approximation to
 * the noncentral t that the exact tolerance bound uses), with t_{n-1} quantiles for small n.
 * The timeout that keeps P(X > t) <= target with confidence c solves
 * z-hat - q se(z-hat) = z_target in closed form (a quadratic; docs/statistics.md, sec. 7).
 * Sources: Student (1908); Cox & Hinkley, Theoretical Statistics (1974), sec. 9.2;
 * Hahn & Meeker, Statistical Intervals (1991), ch. 4 (normal tail probabilities).
 */
#include "fm_stats_internal.h"

#include <gsl/gsl_cdf.h>
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
    double n = (double)fit->n, z = lt / fit->sd_log, q;
    fm_stats_status status = t_upper((1.0 - c) / 2.0, n - 1.0, &q);
    if (status != FM_STATS_OK)
        return status;
    double se = sqrt(1.0 / n + z * z / (2.0 * (n - 1.0)));
    /* P(X > t) = Phi(-z) falls with z: the upper bound comes from the lower end of z. */
    *out = (fm_interval){.estimate = gsl_cdf_ugaussian_Q(z),
                         .lower = gsl_cdf_ugaussian_Q(z + q * se),
                         .upper = gsl_cdf_ugaussian_Q(z - q * se)};
    return FM_STATS_OK;
}

fm_stats_status fm_stats_lognormal_timeout(const fm_lognormal_fit *fit, double target, double c,
                                           fm_timeout_answer *out)
{
    fm_stats_gsl_quiet();
    if (!fit_ok(fit) || !fm_stats_is_open_prob(target) || !fm_stats_is_open_prob(c))
        return FM_STATS_EDOM;
    double n = (double)fit->n, zt = gsl_cdf_ugaussian_Qinv(target), q;
    fm_stats_status status = t_upper(1.0 - c, n - 1.0, &q);
    if (status != FM_STATS_OK)
        return status;
    out->point = exp(fit->mean_log + zt * fit->sd_log);
    /*
     * Smallest z-hat with z-hat - q sqrt(1/n + z-hat^2/(2(n-1))) >= zt: squaring,
     * a z^2 - 2 zt z + zt^2 - q^2/n = 0 with a = 1 - q^2/(2(n-1)), the larger root.  With
     * a <= 0 (too few runs for this confidence) the bound never gets there.
     */
    double a = 1.0 - q * q / (2.0 * (n - 1.0));
    out->reachable = a > 0.0;
    out->conservative = INFINITY;
    if (out->reachable) {
        double disc = zt * zt * (1.0 - a) + a * q * q / n;
        double z = (zt + sqrt(disc)) / a;
        out->conservative = exp(fit->mean_log + z * fit->sd_log);
    }
    return FM_STATS_OK;
}
