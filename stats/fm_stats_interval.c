/*
 * fm_stats_interval.c - confidence intervals for a binomial proportion (k failures in n runs).
 *
 * Five methods, as compared by Brown, Cai & DasGupta (2001, Statistical Science 16:101-133):
 *   exact          Clopper & Pearson (1934): beta quantiles; coverage is never below nominal,
 *                  which is why flakemeter's conservative retry count uses it.
 *   wilson         Wilson (1927) score interval, written in a cancellation-free form.
 *   jeffreys       equal-tailed Beta(k+1/2, n-k+1/2) quantiles; lower 0 at k = 0, upper 1 at k = n.
 *   agresti-coull  Agresti & Coull (1998): Wald around (k + z^2/2) / (n + z^2).
 *   wald           p +- z sqrt(p(1-p)/n): collapses to [0, 0] at k = 0; a labelled bad example.
 * Two-sided intervals put (1-c)/2 in each tail; one-sided upper bounds put 1-c in the upper
 * tail (the beta quantile at c, or z = Phi^-1(c)) and report lower = 0.  Everything is
 * clipped to [0, 1].  Formulas in docs/statistics.md.
 */
#include "fm_stats_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <string.h>

static const char *const method_names[] = {
    [FM_CI_EXACT] = "exact",       [FM_CI_WILSON] = "wilson",
    [FM_CI_JEFFREYS] = "jeffreys", [FM_CI_AGRESTI_COULL] = "agresti-coull",
    [FM_CI_WALD] = "wald",
};

enum { N_METHODS = sizeof method_names / sizeof method_names[0] };

const char *fm_stats_method_name(fm_ci_method method)
{
    return (unsigned)method < N_METHODS ? method_names[method] : "unknown";
}

fm_stats_status fm_stats_method_parse(const char *name, fm_ci_method *method)
{
    for (unsigned i = 0; i < N_METHODS; i++) {
        if (strcmp(name, method_names[i]) == 0) {
            *method = (fm_ci_method)i;
            return FM_STATS_OK;
        }
    }
    return FM_STATS_EDOM;
}

static double clip01(double x)
{
    return x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x;
}

/* The tail probabilities: what lies below the lower bound and above the upper bound. */
struct tails {
    double below, above;
};

static struct tails tails_for(double c, fm_ci_sided sided)
{
    double alpha = 1.0 - c; /* exact for c >= 0.5 (Sterbenz) */
    if (sided == FM_CI_UPPER)
        return (struct tails){0.0, alpha};
    return (struct tails){alpha / 2.0, alpha / 2.0};
}

/* Beta-quantile intervals: exact uses (k, n-k+1) and (k+1, n-k); Jeffreys (k+1/2, n-k+1/2). */
static fm_stats_status beta_interval(double k, double n, struct tails t, bool jeffreys,
                                     fm_interval *out)
{
    fm_stats_status status = FM_STATS_OK;
    out->lower = 0.0;
    out->upper = 1.0;
    if (k > 0 && t.below > 0.0) {
        double a = jeffreys ? k + 0.5 : k, b = jeffreys ? n - k + 0.5 : n - k + 1;
        status = fm_stats_beta_quantile(t.below, a, b, &out->lower);
    }
    if (status == FM_STATS_OK && k < n) {
        double a = jeffreys ? k + 0.5 : k + 1, b = jeffreys ? n - k + 0.5 : n - k;
        status = fm_stats_beta_quantile_upper(t.above, a, b, &out->upper);
    }
    return status;
}

/*
 * The normal-approximation methods share one z: a two-sided interval has equal tails, and a
 * one-sided bound has no lower tail.
 *
 * Wilson: the bounds are the roots of (n+z^2) p^2 - (2k+z^2) p + k^2/n = 0.  The upper root is
 * a sum; the lower comes from the product of the roots, k^2 / (n (n+z^2)), so no cancellation
 * loses it when k is small and n is huge.
 */
static void wilson(double k, double n, double z, bool two_sided, fm_interval *out)
{
    double denom = n + z * z;
    out->upper = (k + z * z / 2 + z * sqrt(k * (n - k) / n + z * z / 4)) / denom;
    out->lower = two_sided && k > 0 ? k * k / (n * denom * out->upper) : 0.0;
}

/* Agresti-Coull and Wald: centre +- z * sqrt(centre (1 - centre) / size). */
static void normal_interval(double centre, double size, double z, bool two_sided, fm_interval *out)
{
    double half = z * sqrt(centre * (1.0 - centre) / size);
    out->upper = centre + half;
    out->lower = two_sided ? centre - half : 0.0;
}

fm_stats_status fm_stats_interval(uint64_t k, uint64_t n, double c, fm_ci_method method,
                                  fm_ci_sided sided, fm_interval *out)
{
    fm_stats_gsl_quiet();
    if (n < 1 || k > n || n > FM_STATS_MAX_ATTEMPTS || !fm_stats_is_open_prob(c) ||
        (unsigned)method >= N_METHODS || (sided != FM_CI_TWO_SIDED && sided != FM_CI_UPPER))
        return FM_STATS_EDOM;
    double kd = (double)k, nd = (double)n;
    struct tails t = tails_for(c, sided);
    bool two_sided = sided == FM_CI_TWO_SIDED;
    double z = gsl_cdf_ugaussian_Qinv(t.above); /* leaves t.above above the upper bound */
    fm_interval r = {kd / nd, 0.0, 1.0};
    fm_stats_status status = FM_STATS_OK;

    switch (method) {
    case FM_CI_EXACT:
    case FM_CI_JEFFREYS:
        status = beta_interval(kd, nd, t, method == FM_CI_JEFFREYS, &r);
        break;
    case FM_CI_WILSON:
        wilson(kd, nd, z, two_sided, &r);
        break;
    case FM_CI_AGRESTI_COULL:
        normal_interval((kd + z * z / 2) / (nd + z * z), nd + z * z, z, two_sided, &r);
        break;
    case FM_CI_WALD:
        normal_interval(kd / nd, nd, z, two_sided, &r);
        break;
    }
    if (status != FM_STATS_OK)
        return status;
    if (isnan(r.lower) || isnan(r.upper))
        return FM_STATS_ENOCONV;
    r.lower = clip01(r.lower);
    r.upper = clip01(r.upper);
    *out = r;
    return FM_STATS_OK;
}
