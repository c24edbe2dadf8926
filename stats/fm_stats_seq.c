/*
 * fm_stats_seq.c - an anytime-valid confidence sequence for a failure probability, and the
 * `--until-decided` rule built on it.
 *
 * Robbins' beta-binomial mixture (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021, Ann.
 * Statist. 49:1055-1080, sec. 3 and Prop. 2): with a Beta(a, b) mixing prior, after k failures
 * in n runs
 *     M_n(p) = [B(k+a, n-k+b) / B(a, b)] / [p^k (1-p)^(n-k)]
 * is a nonnegative martingale with M_0 = 1 under the true p, so by Ville's inequality
 * P(exists n: M_n(p) >= 1/alpha) <= alpha, and {p : M_n(p) < 1/alpha} holds the true p at every
 * n at once with probability >= 1 - alpha: a runner may look after every run and stop whenever
 * it likes.  log M_n is convex in p with its minimum at p^ = k/n, so the set is an interval.
 *
 * Numerics: log M_n(p) = log M_n(p^) + n KL(p^ || p).  The first term is O(log n) but a sum of
 * O(n) pieces; it is written with Stirling's series so that no piece is large (formula at
 * log_m_at_mle).  The second is written with log1pmx, whose linear parts cancel analytically,
 * and the bounds are found with GSL's Brent solver in x = ln(p/p^) below p^ and
 * y = ln((1-p)/(1-p^)) above it, where the divergence is smooth and both bounds keep full
 * relative precision (k = 3, n = 1e9 gives bounds near 1e-9).  k = 0 and k = n have closed
 * forms.  Decision: the attempt count is monotone in p, so it is pinned down when the counts
 * at the two ends of the interval agree.  Formulas and caveats: docs/statistics.md, sec. 5.
 */
#include "fm_stats_internal.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sf_exp.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>

enum { MAX_ITER = 400 };

/* Beyond this (in units of ln(p/p^)) a bound would underflow; T <= ~100 never gets near. */
#define MAX_SPAN 700.0

/* Stirling remainder r(x) = lnGamma(x) - [(x - 1/2) ln x - x + ln sqrt(2 pi)] (DLMF 5.11.1). */
static double stirling_remainder(double x)
{
    if (x < 10.0)
        return lgamma(x) - ((x - 0.5) * log(x) - x + 0.5 * log(2.0 * M_PI));
    double r = 1.0 / x, r2 = r * r;
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
}

/* (j+s-1/2) ln(j+s) - j ln j, the Stirling main part of lnGamma(j+s) over j^j; 0 ln 0 = 0. */
static double stirling_shift(double j, double s)
{
    return (j > 0.0 ? j * log1p(s / j) : 0.0) + (s - 0.5) * log(j + s);
}

/*
 * log M_n(p^) = lnB(k+a, n-k+b) - lnB(a, b) - k ln(k/n) - (n-k) ln((n-k)/n), always <= 0.  Its
 * pieces are each ~n ln 2 for k ~ n/2, so with Stirling's series for the three lnGamma and the
 * -x terms cancelled exactly it is
 *   1/2 ln(2 pi) + S(k, a) + S(n-k, b) - S(n, a+b) + r(k+a) + r(n-k+b) - r(n+a+b) - lnB(a, b),
 * S = stirling_shift: every term O(log n).
 */
static double log_m_at_mle(double k, double n, double a, double b)
{
    return 0.5 * log(2.0 * M_PI) + stirling_shift(k, a) + stirling_shift(n - k, b) -
           stirling_shift(n, a + b) + stirling_remainder(k + a) + stirling_remainder(n - k + b) -
           stirling_remainder(n + a + b) - gsl_sf_lnbeta(a, b);
}

/*
 * log(1 + x) - x for x > -1, to full relative precision.  For |x| < 1/2, with u = x/(2+x)
 * (|u| <= 1/3): log(1+x) = 2 artanh u = 2(u + u^3/3 + u^5/5 + ...) and x = 2u/(1-u), so
 * log(1+x) - x = -x u + 2u^3 (1/3 + u^2/5 + u^4/7 + ...): no cancellation, and at most 19
 * terms reach (1/9)^19 < 1e-17.  (GSL's gsl_sf_log_1plusx_mx is as accurate but was half the run
 * time of the simulation tests.)
 */
static double log1pmx(double x)
{
    static const double inv_odd[] = {1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,  1.0 / 11,
                                     1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21,
                                     1.0 / 23, 1.0 / 25, 1.0 / 27, 1.0 / 29, 1.0 / 31,
                                     1.0 / 33, 1.0 / 35, 1.0 / 37, 1.0 / 39};
    double ax = fabs(x);
    if (ax >= 0.5)
        return log1p(x) - x;
    /* terms needed for u^(2j) < 1e-17: |u| < 0.0051 -> 4, < 0.053 -> 7, else 19 */
    int terms = ax < 0.01 ? 4 : ax < 0.1 ? 7 : 19;
    double u = x / (2.0 + x), u2 = u * u, sum = 0.0;
    for (int j = terms - 1; j >= 0; j--)
        sum = sum * u2 + inv_odd[j];
    return -x * u + 2.0 * u * u2 * sum;
}

/* expm1(x) - x, without the cancellation of the two for small x. */
static double expm1mx(double x)
{
    if (fabs(x) < 0.5)
        return 0.5 * x * x * gsl_sf_exprel_2(x);
    return expm1(x) - x;
}

/*
 * n KL(p^ || p) on one side of p^ = k/n, for 0 < k < n, with p = p^ e^x (x <= 0) below p^.
 * Writing d = p - p^, n KL = -k log1pmx(d/p^) - (n-k) log1pmx(-d/(1-p^)) (the linear terms
 * cancel since k/p^ = (n-k)/(1-p^) = n), and d/p^ = expm1(x), so log1pmx(d/p^) = -expm1mx(x).
 * Above p^ the same function with the roles of k and n-k swapped gives 1 - p = (1-p^) e^y.
 */
static double divergence(double x, double k, double m)
{
    return k * expm1mx(x) - m * log1pmx(-(k / m) * expm1(x));
}

struct side {
    double k, m; /* k: failures on this side's own axis, m: the rest */
    double t;    /* the level the divergence has to reach */
};

static double side_gap(double x, void *params)
{
    const struct side *s = params;
    return divergence(x, s->k, s->m) - s->t;
}

/*
 * The root x < 0 of divergence(x) = t.  Near 0 the divergence is (k + k^2/m) x^2 / 2, so the
 * bracket starts around x = -sqrt(2 t m / (k (k + m))) and is widened by factors of 2 until
 * it holds the root; Brent then needs a handful of steps.
 */
static fm_stats_status solve_side(struct side *s, double *root)
{
    double guess = -sqrt(2.0 * s->t * s->m / (s->k * (s->k + s->m)));
    double lo = 2.0 * guess, hi = 0.5 * guess;
    while (side_gap(lo, s) <= 0.0) {
        hi = lo;
        lo *= 2.0;
        if (lo < -MAX_SPAN)
            return FM_STATS_ENOCONV;
    }
    while (hi > -MAX_SPAN && side_gap(hi, s) > 0.0) {
        lo = hi;
        hi *= 0.5;
        if (hi > -DBL_MIN)
            hi = 0.0; /* gap(0) = -t < 0 */
    }
    fm_stats_status status = FM_STATS_ENOCONV;
    gsl_function f = {side_gap, s};
    gsl_root_fsolver *solver = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (solver == NULL)
        return FM_STATS_ENOCONV;
    if (gsl_root_fsolver_set(solver, &f, lo, hi) != GSL_SUCCESS)
        goto cleanup;
    for (int i = 0; i < MAX_ITER; i++) {
        if (gsl_root_fsolver_iterate(solver) != GSL_SUCCESS)
            goto cleanup;
        double a = gsl_root_fsolver_x_lower(solver), b = gsl_root_fsolver_x_upper(solver);
        /* relative in x: below p^ that is ulps of p; above, p - p^ ~ -(1-p^) y for small y,
           so the upper bound needs y to relative precision, not absolute */
        if (gsl_root_test_interval(a, b, 0.0, 4 * DBL_EPSILON) == GSL_SUCCESS || a == b) {
            *root = gsl_root_fsolver_root(solver);
            status = FM_STATS_OK;
            break;
        }
    }
cleanup:
    gsl_root_fsolver_free(solver);
    return status;
}

static bool valid_prior(double a, double b)
{
    return a > 0.0 && b > 0.0 && isfinite(a) && isfinite(b);
}

static bool valid_counts(uint64_t k, uint64_t n)
{
    return n >= 1 && k <= n && n <= FM_STATS_MAX_ATTEMPTS;
}

fm_stats_status fm_stats_cs_log_ratio(uint64_t k, uint64_t n, double p, double prior_a,
                                      double prior_b, double *log_ratio)
{
    fm_stats_gsl_quiet();
    if (!valid_counts(k, n) || !fm_stats_is_prob(p) || !valid_prior(prior_a, prior_b))
        return FM_STATS_EDOM;
    double kd = (double)k, nd = (double)n, md = (double)(n - k);
    double div; /* n KL(k/n || p) */
    if (k == 0)
        div = -nd * log1p(-p);
    else if (k == n)
        div = -nd * log(p);
    else if (p == 0.0 || p == 1.0)
        div = INFINITY;
    else {
        /* d = p - k/n; past 1/2 from 1 - p, which is exact there (Sterbenz), and (n-k)/n, so
           that p near 1 keeps the digits of its distance from 1 */
        double ph = kd / nd, qh = md / nd;
        double d = p < 0.5 ? p - ph : qh - (1.0 - p);
        div = -kd * log1pmx(d / ph) - md * log1pmx(-d / qh);
    }
    *log_ratio = log_m_at_mle(kd, nd, prior_a, prior_b) + div;
    return isnan(*log_ratio) ? FM_STATS_ENOCONV : FM_STATS_OK;
}

fm_stats_status fm_stats_cs_interval(uint64_t k, uint64_t n, double c, double prior_a,
                                     double prior_b, fm_interval *out)
{
    fm_stats_gsl_quiet();
    if (!valid_counts(k, n) || !fm_stats_is_open_prob(c) || !valid_prior(prior_a, prior_b))
        return FM_STATS_EDOM;
    double kd = (double)k, nd = (double)n, md = (double)(n - k);
    /* n KL must reach t = ln(1/alpha) - log M_n(p^) > 0 for p to leave the sequence */
    double t = -log1p(-c) - log_m_at_mle(kd, nd, prior_a, prior_b);
    fm_interval r = {kd / nd, 0.0, 1.0};
    fm_stats_status status = FM_STATS_OK;
    if (k == 0) {
        r.upper = -expm1(-t / nd); /* -n ln(1-p) = t */
    } else if (k == n) {
        r.lower = exp(-t / nd); /* -n ln p = t */
    } else {
        double x, y;
        struct side below = {kd, md, t}, above = {md, kd, t};
        if ((status = solve_side(&below, &x)) || (status = solve_side(&above, &y)))
            return status;
        r.lower = r.estimate * exp(x);
        r.upper = r.estimate - (md / nd) * expm1(y); /* 1 - (1-p^) e^y without cancelling */
    }
    if (isnan(r.lower) || isnan(r.upper))
        return FM_STATS_ENOCONV;
    r.upper = fmin(r.upper, 1.0);
    *out = r;
    return FM_STATS_OK;
}

static bool same_count(const fm_attempts *x, const fm_attempts *y)
{
    return x->reachable == y->reachable && x->attempts == y->attempts;
}

fm_stats_status fm_stats_cs_decide(uint64_t k, uint64_t n, double c, double target, double prior_a,
                                   double prior_b, fm_cs_decision *out)
{
    if (!fm_stats_is_open_prob(target))
        return FM_STATS_EDOM;
    fm_cs_decision r = {0};
    fm_stats_status status = fm_stats_cs_interval(k, n, c, prior_a, prior_b, &r.cs);
    if (status == FM_STATS_OK)
        status = fm_stats_attempts_independent(r.cs.lower, target, &r.at_lower);
    if (status == FM_STATS_OK)
        status = fm_stats_attempts_independent(r.cs.upper, target, &r.at_upper);
    if (status != FM_STATS_OK)
        return status;
    /* counts rise with p, so every p in the sequence has a count between the two ends; one
       apart is the indifference zone (a p on a step keeps them so for ever): the larger is safe */
    r.decided = same_count(&r.at_lower, &r.at_upper);
    r.indifferent = r.at_lower.reachable && r.at_upper.reachable &&
                    r.at_upper.attempts == r.at_lower.attempts + 1;
    if (r.decided || r.indifferent)
        r.attempts = r.at_upper;
    *out = r;
    return FM_STATS_OK;
}

/* ==== Boundary tests ========================================================================= */

/* ln L(q)/L(theta) = k ln(q/theta) + (n-k) ln((1-q)/(1-theta)), 0 ln 0 = 0. */
static double log_lr(double k, double m, double q, double theta)
{
    double r = 0.0;
    if (k > 0.0)
        r += k * log(q / theta);
    if (m > 0.0)
        r += m * log1p((theta - q) / (1.0 - theta)); /* (1-q)/(1-theta) = 1 + (theta-q)/(1-theta) */
    return r;
}

/*
 * ln E = ln[(1/G) sum_i L(q_i)/L(theta)], q_i = lo + (i - 1/2)(hi - lo)/G, i = 1..G: the
 * likelihood ratio against theta mixed over G points spread evenly over the window.  A mixture of
 * point alternatives is exact in closed form (no incomplete beta function) and each term is a
 * supermartingale under every p on the far side of theta.  Summed from the largest term down.
 */
static double log_evidence(double k, double m, double theta, double lo, double hi)
{
    double terms[FM_STATS_SEQ_GRID], top = -INFINITY, h = (hi - lo) / FM_STATS_SEQ_GRID;
    for (int i = 0; i < FM_STATS_SEQ_GRID; i++) {
        terms[i] = log_lr(k, m, lo + (i + 0.5) * h, theta);
        top = fmax(top, terms[i]);
    }
    double sum = 0.0;
    for (int i = 0; i < FM_STATS_SEQ_GRID; i++)
        sum += exp(terms[i] - top);
    return top + log(sum / FM_STATS_SEQ_GRID);
}

/*
 * A cheap lower bound: when the likelihood is monotone on the window (k/n outside it), the half
 * of the grid points nearer k/n each have L(q)/L(theta) >= its value at the window's midpoint, so
 * E >= LR(mid) / 2.  NaN when it does not apply.
 */
static double log_evidence_floor(double k, double m, double theta, double lo, double hi)
{
    double ph = k / (k + m);
    if (ph > lo && ph < hi)
        return NAN;
    return log_lr(k, m, 0.5 * (lo + hi), theta) - M_LN2;
}

fm_stats_status fm_stats_seq_log_evidence(uint64_t k, uint64_t n, double theta, double lo,
                                          double hi, double *log_evidence_out)
{
    fm_stats_gsl_quiet();
    bool below = 0.0 <= lo && lo < hi && hi <= theta && theta < 1.0;
    bool above = 0.0 < theta && theta <= lo && lo < hi && hi <= 1.0;
    if (!valid_counts(k, n) || !(below || above))
        return FM_STATS_EDOM;
    *log_evidence_out = log_evidence((double)k, (double)(n - k), theta, lo, hi);
    return isnan(*log_evidence_out) ? FM_STATS_ENOCONV : FM_STATS_OK;
}

/* b_j = target^(1/j); b_0 = 0.  (Written exp(ln t / j): within an ulp or two of the step.) */
static double boundary(double log_target, uint64_t j)
{
    return j == 0 ? 0.0 : exp(log_target / (double)j);
}

struct window {
    double b, lo, hi;
};

static struct window window_of(double log_target, uint64_t j)
{
    struct window w;
    w.b = boundary(log_target, j);
    double spread = 0.25 * w.b * (1.0 - w.b);
    w.lo = fmin(boundary(log_target, j - 1), w.b - spread);
    w.hi = fmin(fmax(boundary(log_target, j + 1), w.b + spread), 1.0);
    if (w.lo < 0.0)
        w.lo = 0.0;
    return w;
}

fm_stats_status fm_stats_seq_boundary(double target, uint64_t j, double *b, double *lo, double *hi)
{
    if (!fm_stats_is_open_prob(target) || j < 1 || j > FM_STATS_MAX_ATTEMPTS)
        return FM_STATS_EDOM;
    struct window w = window_of(log(target), j);
    *b = w.b;
    *lo = w.lo;
    *hi = w.hi;
    return FM_STATS_OK;
}

/* Does the test of boundary w on side `below` reject at ln-threshold thr? */
static fm_stats_status rejects(uint64_t k, uint64_t n, const struct window *w, bool below,
                               double thr, bool *out)
{
    double kd = (double)k, md = (double)(n - k), ph = kd / (double)n;
    double lo = below ? w->lo : w->b, hi = below ? w->b : w->hi;
    *out = false;
    /* the likelihood ratio is <= 1 on a window between k/n and theta: E <= 1 */
    if (below ? w->b <= ph : w->b >= ph)
        return FM_STATS_OK;
    if (lo >= hi)
        return FM_STATS_OK; /* b_j rounds onto 0 or 1: no window */
    double floor = log_evidence_floor(kd, md, w->b, lo, hi);
    if (floor >= thr) {
        *out = true;
        return FM_STATS_OK;
    }
    *out = log_evidence(kd, md, w->b, lo, hi) >= thr;
    return FM_STATS_OK;
}

/* decided, indifferent, beyond and attempts from at_least and at_most */
static void settle(fm_seq_decision *r, double log_target)
{
    r->decided = r->indifferent = r->beyond = false;
    r->attempts = (fm_attempts){0};
    if (r->at_least > FM_STATS_SEQ_MAX_COUNT) {
        r->decided = r->beyond = true;
        r->attempts = (fm_attempts){.reachable = false, .attempts = 0, .residual = 1.0};
    } else if (r->at_most != 0 && r->at_most <= r->at_least + 1) {
        /* at_most < at_least would mean the two sides contradict (possible only outside the
           guarantee): the safe side, at_most = at_least, is taken */
        if (r->at_most < r->at_least)
            r->at_most = r->at_least;
        r->indifferent = r->at_most == r->at_least + 1;
        r->decided = !r->indifferent;
        double b = boundary(log_target, r->at_most);
        r->attempts = (fm_attempts){
            .reachable = true, .attempts = r->at_most, .residual = pow(b, (double)r->at_most)};
    }
}

fm_stats_status fm_stats_seq_decide(uint64_t k, uint64_t n, double c, double target,
                                    fm_seq_decision *out)
{
    fm_stats_gsl_quiet();
    if (!valid_counts(k, n) || !fm_stats_is_open_prob(c) || !fm_stats_is_open_prob(target))
        return FM_STATS_EDOM;
    const double lt = log(target), thr = M_LN2 - log1p(-c); /* ln(2 / alpha) per side */
    const double kd = (double)k, md = (double)(n - k), ph = kd / (double)n;
    fm_seq_decision r = {.at_least = 1};
    fm_stats_status st = FM_STATS_OK;
    bool rej;

    /* above: p > b_j needs the windows above b_1 .. b_j to reject (the chain starts at 1) */
    for (uint64_t j = 1; j <= FM_STATS_SEQ_MAX_COUNT; j++) {
        struct window w = window_of(lt, j);
        if ((st = rejects(k, n, &w, false, thr, &rej)))
            return st;
        if (!rej)
            break;
        r.at_least = j + 1;
    }
    /* below: p < b_j needs the windows below b_j, b_(j+1), ... all to reject.  Once lo >= k/n,
       every later window has theta - lo >= theta(1-theta)/4 and k/n below it, so (the half of
       the grid in [lo, theta - theta(1-theta)/8] each have L(q)/L(theta) >= its value at
       theta - theta(1-theta)/8) its ln E >= all(theta) = k ln(1 - (1-theta)/8) +
       (n-k) ln(1 + theta/8) - ln 2, which rises with theta.  So every window from the first j
       with lo_j >= k/n and all(b_j) >= thr on rejects (both conditions only become true as j
       grows: found by bisection), and the chain is scanned down from there to its first
       non-rejection.  No such j up to FM_STATS_SEQ_MAX_COUNT: no upper bound yet. */
    uint64_t lo_j = 1, hi_j = FM_STATS_SEQ_MAX_COUNT + 1; /* the first j that holds, in (lo, hi] */
    while (lo_j < hi_j) {
        uint64_t mid = lo_j + (hi_j - lo_j) / 2;
        struct window w = window_of(lt, mid);
        double all = kd * log1p(-(1.0 - w.b) / 8.0) + md * log1p(w.b / 8.0) - M_LN2;
        if (w.lo >= ph && all >= thr)
            hi_j = mid;
        else
            lo_j = mid + 1;
    }
    uint64_t candidate = 0;
    if (hi_j <= FM_STATS_SEQ_MAX_COUNT) {
        candidate = hi_j;
        for (uint64_t j = hi_j - 1; j >= 1; j--) {
            struct window w = window_of(lt, j);
            if ((st = rejects(k, n, &w, true, thr, &rej)))
                return st;
            if (!rej)
                break;
            candidate = j;
        }
    }
    r.at_most = candidate;
    settle(&r, lt);
    *out = r;
    return FM_STATS_OK;
}

fm_stats_status fm_stats_seq_update_range(uint64_t k_low, uint64_t k_high, uint64_t n, double c,
                                          double target, fm_seq_decision *state)
{
    if (k_low > k_high)
        return FM_STATS_EDOM;
    /* at_least and at_most only grow with k (the evidence above each boundary rises with k, the
       evidence below falls): the bounds valid for every k in the range are at_least at k_low and
       at_most at k_high */
    fm_seq_decision low, now;
    fm_stats_status st = fm_stats_seq_decide(k_low, n, c, target, &low);
    if (st == FM_STATS_OK)
        st = fm_stats_seq_decide(k_high, n, c, target, &now);
    if (st != FM_STATS_OK)
        return st;
    now.at_least = low.at_least;
    /* both bounds hold at every n at once (with probability >= c), so their running
       intersection does too */
    if (state->at_least > now.at_least)
        now.at_least = state->at_least;
    if (state->at_most != 0 && (now.at_most == 0 || state->at_most < now.at_most))
        now.at_most = state->at_most;
    settle(&now, log(target));
    *state = now;
    return FM_STATS_OK;
}

fm_stats_status fm_stats_seq_update(uint64_t k, uint64_t n, double c, double target,
                                    fm_seq_decision *state)
{
    return fm_stats_seq_update_range(k, k, n, c, target, state);
}

/* Stops at N runs with the failures at the estimate's rate? */
static fm_stats_status stops_at(double rate, uint64_t N, double c, double target, bool *stops)
{
    fm_seq_decision d;
    uint64_t k = (uint64_t)llround(rate * (double)N);
    fm_stats_status st = fm_stats_seq_decide(k > N ? N : k, N, c, target, &d);
    *stops = st == FM_STATS_OK && (d.decided || d.indifferent);
    return st;
}

fm_stats_status fm_stats_seq_runs_needed(uint64_t k, uint64_t n, double c, double target,
                                         uint64_t *needed)
{
    fm_stats_gsl_quiet();
    if (needed == NULL || !valid_counts(k, n) || !fm_stats_is_open_prob(c) ||
        !fm_stats_is_open_prob(target))
        return FM_STATS_EDOM;
    const double rate = (double)k / (double)n;
    const uint64_t limit = (uint64_t)1 << 50;
    uint64_t lo = n, hi = n; /* lo: does not stop (or n itself); hi: stops */
    bool stops;
    fm_stats_status st = stops_at(rate, hi, c, target, &stops);
    while (st == FM_STATS_OK && !stops && hi < limit) {
        lo = hi;
        hi = hi > limit / 2 ? limit : hi * 2;
        st = stops_at(rate, hi, c, target, &stops);
    }
    if (st != FM_STATS_OK)
        return st;
    if (!stops) {
        *needed = 0;
        return FM_STATS_OK;
    }
    while (hi - lo > 1 && hi > n) { /* the first N in (lo, hi] found to stop */
        uint64_t mid = lo + (hi - lo) / 2;
        if ((st = stops_at(rate, mid, c, target, &stops)) != FM_STATS_OK)
            return st;
        *(stops ? &hi : &lo) = mid;
    }
    *needed = hi;
    return FM_STATS_OK;
}
