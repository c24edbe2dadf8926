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
 *   blaker         Blaker (2000, Can. J. Statist. 28:783-798): the p whose acceptability
 *                  exceeds 1 - c; exact (coverage >= c), nested in c, inside Clopper-Pearson.
 * Two-sided intervals put (1-c)/2 in each tail; one-sided upper bounds put 1-c in the upper
 * tail (the beta quantile at c, or z = Phi^-1(c)) and report lower = 0.  Everything is
 * clipped to [0, 1].  Formulas in docs/statistics.md.
 */
#include "fm_stats_internal.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <math.h>
#include <string.h>

static const char *const method_names[] = {
    [FM_CI_EXACT] = "exact",       [FM_CI_WILSON] = "wilson",
    [FM_CI_JEFFREYS] = "jeffreys", [FM_CI_AGRESTI_COULL] = "agresti-coull",
    [FM_CI_WALD] = "wald",         [FM_CI_BLAKER] = "blaker",
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

/*
 * Blaker's interval.  For k failures in n runs and a candidate p, with X ~ Binomial(n, p), the
 * acceptability is
 *     beta(p) = P_p( min(P(X <= x), P(X >= x)) at x = X  <=  the same at x = k ),
 * the p-value of the exact test that orders outcomes by their smaller tail.  The confidence set
 * is {p : beta(p) > alpha}, alpha = 1 - c; we report [inf, sup] of it (Blaker's own algorithm
 * does the same: it walks in from the Clopper-Pearson ends to the first acceptable p).  The set
 * has coverage >= c (the test is exact), so its hull does too, and every p in it has both
 * tails above alpha/2's Clopper-Pearson ends.
 *
 * The lower end.  While P(X >= k) <= P(X <= k), beta(p) = G(p) + F_m(p) with G = P(X >= k) and
 * m = m*(p) the largest m with F_m = P(X <= m) <= G.  For c >= 1/2 the infimum lies below the p
 * where the two tails of k are equal (there beta >= G > 1/2 >= alpha), and above the
 * Clopper-Pearson lower end L_cp, where G = alpha/2 and so beta <= alpha.  Between, m* steps up
 * by one at each root of F_{m+1}(p) = G(p) (decreasing in p: F falls, G rises), and on each
 * piece with m fixed, d beta/dp = n [b(k-1; n-1, p) - b(m; n-1, p)] changes sign at most once,
 * from - to + (the ratio of the two binomial terms is a power of p/(1-p)): beta is
 * quasi-convex on the piece.  So walking the pieces up from L_cp, the first piece whose left
 * end or right-end limit is above alpha holds the infimum: its left end (after a jump), or the
 * single root of beta - alpha on its rising side.  The upper end is the same with the roles of
 * the tails exchanged (mirrored counts m -> n - m), computed in p itself so that small upper
 * bounds keep their relative precision.  Binomial tails are beta tails (fm_stats_beta_cdf),
 * each to full relative precision when small.
 */
struct blaker {
    double k, n;  /* observed count and runs */
    double kk;    /* the observed count seen from the bound's side: k (lower) or n - k (upper) */
    bool upper;   /* computing the upper end */
    double alpha; /* 1 - c */
    double far;   /* the other end of Clopper-Pearson's interval: the walk goes towards it */
    fm_stats_status status;
};

/* P(X <= j) and P(X >= i) for X ~ Binomial(n, p). */
static double binom_le(struct blaker *b, double j, double p)
{
    double v;
    if (j < 0.0)
        return 0.0;
    if (j >= b->n)
        return 1.0;
    fm_stats_status st = fm_stats_beta_cdf(p, j + 1.0, b->n - j, true, &v);
    if (st != FM_STATS_OK) {
        b->status = st;
        return NAN;
    }
    return v;
}

static double binom_ge(struct blaker *b, double i, double p)
{
    double v;
    if (i <= 0.0)
        return 1.0;
    if (i > b->n)
        return 0.0;
    fm_stats_status st = fm_stats_beta_cdf(p, i, b->n - i + 1.0, false, &v);
    if (st != FM_STATS_OK) {
        b->status = st;
        return NAN;
    }
    return v;
}

/* The observed count's tail on this side: P(X >= k) (lower end) or P(X <= k) (upper end). */
static double obs_tail(struct blaker *b, double p)
{
    return b->upper ? binom_le(b, b->k, p) : binom_ge(b, b->k, p);
}

/* The other tail at mirrored index m: P(X <= m) (lower end) or P(X >= n - m) (upper end). */
static double other_tail(struct blaker *b, double m, double p)
{
    return b->upper ? binom_ge(b, b->n - m, p) : binom_le(b, m, p);
}

struct blaker_fn {
    struct blaker *b;
    double m;
    bool boundary; /* root of other(m+1) - obs (a step of m*) rather than of beta_m - alpha */
};

static double blaker_gap(double p, void *params)
{
    struct blaker_fn *f = params;
    if (f->boundary)
        return other_tail(f->b, f->m + 1.0, p) - obs_tail(f->b, p);
    return obs_tail(f->b, p) + other_tail(f->b, f->m, p) - f->b->alpha;
}

/* The root of a monotone-on-[lo, hi] function with a sign change there, to ~4 ulps. */
static fm_stats_status blaker_root(struct blaker_fn *fn, double lo, double hi, double *root)
{
    gsl_function f = {blaker_gap, fn};
    double flo = blaker_gap(lo, fn), fhi = blaker_gap(hi, fn);
    if (fn->b->status != FM_STATS_OK)
        return fn->b->status;
    if (flo == 0.0 || fhi == 0.0 || (flo > 0.0) == (fhi > 0.0)) {
        /* no sign change in floating point: the root is at the end closer to zero */
        *root = fabs(flo) <= fabs(fhi) ? lo : hi;
        return FM_STATS_OK;
    }
    fm_stats_status status = FM_STATS_ENOCONV;
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (s == NULL)
        return FM_STATS_ENOMEM;
    if (gsl_root_fsolver_set(s, &f, lo, hi) != GSL_SUCCESS)
        goto cleanup;
    for (int i = 0; i < 400; i++) {
        if (gsl_root_fsolver_iterate(s) != GSL_SUCCESS)
            break;
        double a = gsl_root_fsolver_x_lower(s), b = gsl_root_fsolver_x_upper(s);
        if (gsl_root_test_interval(a, b, 0.0, 4 * DBL_EPSILON) == GSL_SUCCESS || a == b) {
            *root = gsl_root_fsolver_root(s);
            status = FM_STATS_OK;
            break;
        }
    }
cleanup:
    gsl_root_fsolver_free(s);
    if (fn->b->status != FM_STATS_OK)
        status = fn->b->status;
    return status;
}

/* Walk limit: the pieces between the Clopper-Pearson end and Blaker's are a handful. */
enum { BLAKER_MAX_PIECES = 100000 };

/* Two-sided Blaker needs min(k, n - k) <= this (FM_STATS_ETOOBIG above). */
#define BLAKER_MAX_SIDE 100000000000.0

/* The lower end (upper = false) or the upper end of Blaker's set; kk >= 1 on that side. */
static fm_stats_status blaker_end(struct blaker *b, double *end)
{
    double a;
    fm_stats_status st = b->upper
                             ? fm_stats_beta_quantile_upper(b->alpha / 2, b->k + 1, b->n - b->k, &a)
                             : fm_stats_beta_quantile(b->alpha / 2, b->k, b->n - b->k + 1, &a);
    if (st != FM_STATS_OK)
        return st;
    /* m* at the Clopper-Pearson end: the largest m in [-1, kk-1] with other(m) <= obs */
    double g = obs_tail(b, a), lo = -1.0, hi = b->kk - 1.0;
    while (hi > lo) {
        double mid = lo + ceil((hi - lo) / 2.0);
        if (other_tail(b, mid, a) <= g)
            lo = mid;
        else
            hi = mid - 1.0;
    }
    if (b->status != FM_STATS_OK)
        return b->status;
    /* the steps of m* lie before the other Clopper-Pearson end, where obs > 1/2 > other */
    double far = b->far;
    for (double m = lo, piece = 0; piece < BLAKER_MAX_PIECES; m++, piece++) {
        struct blaker_fn fn = {b, m, false};
        if (blaker_gap(a, &fn) > 0.0) {
            *end = a;
            return b->status;
        }
        /* the next step of m*: other(m + 1) = obs, between a and the far end */
        double next;
        struct blaker_fn step = {b, m, true};
        if ((st = blaker_root(&step, fmin(a, far), fmax(a, far), &next)) != FM_STATS_OK)
            return st;
        if (blaker_gap(next, &fn) > 0.0)
            return blaker_root(&fn, fmin(a, next), fmax(a, next), end);
        if (b->status != FM_STATS_OK)
            return b->status;
        a = next;
    }
    return FM_STATS_ENOCONV;
}

static fm_stats_status blaker_interval(uint64_t k, uint64_t n, double c, fm_interval *out)
{
    if (c < 0.5)
        return FM_STATS_EDOM;
    /* fm_stats_beta_cdf's tails fail to converge near the peak when both parameters pass
     * ~3e11; below 1e11 everything was checked (tests/stats/test_stats_blaker.c) */
    if (k > BLAKER_MAX_SIDE && n - k > BLAKER_MAX_SIDE)
        return FM_STATS_ETOOBIG;
    fm_interval cp;
    fm_stats_status st =
        beta_interval((double)k, (double)n, tails_for(c, FM_CI_TWO_SIDED), false, &cp);
    if (st != FM_STATS_OK)
        return st;
    struct blaker b = {(double)k, (double)n, (double)k, false, 1.0 - c, cp.upper, FM_STATS_OK};
    out->lower = 0.0;
    out->upper = 1.0;
    if (k > 0)
        st = blaker_end(&b, &out->lower);
    if (st == FM_STATS_OK && k < n) {
        b.upper = true;
        b.kk = (double)(n - k);
        b.far = cp.lower;
        st = blaker_end(&b, &out->upper);
    }
    return st;
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
    case FM_CI_BLAKER:
        /* one-sided, Blaker's acceptability is the one tail: Clopper-Pearson's bound */
        status = two_sided ? blaker_interval(k, n, c, &r) : beta_interval(kd, nd, t, false, &r);
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
