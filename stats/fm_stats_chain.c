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
 * Boschloo's test (Boschloo 1970, Statistica Neerlandica 24:1-9): Fisher's test conditions on
 * both margins and is conservative for the design that retry chains give (two binomials with
 * fixed row sizes): at nominal 0.05 its size ranged from 0.0003 to 0.045.  Boschloo keeps
 * Fisher's p-value as the ordering of the tables but calibrates it unconditionally:
 * p = sup_p P_p(P_F(X) <= P_F(obs)).  Every table's Fisher p-value is computed once per design
 * (per total m = x1 + x2, the hypergeometric terms are merged from both tails in increasing
 * order, so each p-value is a running sum, with R's 1 + 1e-7 slack for ties); the probability
 * of the set is summed over the rows' binomial terms above 1e-20 of their mode (what is left
 * out is below 1e-16); the sup over the nuisance p is a grid, even in asin(sqrt(p)) (where
 * the binomial's spread is the same everywhere), of 100 + 10 sqrt(n1 + n2) points, refined by
 * golden-section search around the three best.  The result is capped at Fisher's p-value
 * (the sup is provably below it).
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
#include <stdlib.h>

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

/* ---- Boschloo's test ---- */

struct design {
    size_t n1, n2;
    double *lf;      /* lf[i] = ln i!, i <= n1 + n2 */
    double *fisher;  /* Fisher's two-sided p-value of table (x1, x2) at x1 * (n2 + 1) + x2 */
    double *b1, *b2; /* binomial terms of the rows at the current p */
    size_t lo1, hi1, lo2, hi2; /* their windows */
};

/* Fisher's p-values of every table with rows n1, n2 (scratch: w, order, of size min + 1). */
static void fisher_all(struct design *d, double *w, size_t *order)
{
    const double *lf = d->lf;
    size_t n1 = d->n1, n2 = d->n2;
    for (size_t m = 0; m <= n1 + n2; m++) {
        size_t lo = m > n2 ? m - n2 : 0, hi = m < n1 ? m : n1, len = hi - lo + 1;
        double lmax = -INFINITY;
        for (size_t x = lo; x <= hi; x++) {
            double l = -lf[x] - lf[n1 - x] - lf[m - x] - lf[n2 - m + x];
            w[x - lo] = l;
            lmax = fmax(lmax, l);
        }
        double total = 0.0;
        for (size_t i = 0; i < len; i++) {
            w[i] = exp(w[i] - lmax);
            total += w[i];
        }
        /* unimodal: merging the two tails inwards lists the terms in increasing order */
        size_t i = 0, j = len - 1;
        for (size_t r = 0; r < len; r++)
            order[r] = w[i] <= w[j] ? i++ : j--;
        double cum = 0.0;
        size_t e = 0;
        double cum_e = 0.0;
        for (size_t r = 0; r < len; r++) {
            double limit = w[order[r]] * (1.0 + FISHER_REL_ERR);
            if (e < r) {
                e = r;
                cum_e = cum;
            }
            while (e < len && w[order[e]] <= limit)
                cum_e += w[order[e++]];
            cum += w[order[r]];
            size_t x = lo + order[r];
            d->fisher[x * (n2 + 1) + (m - x)] = fmin(1.0, cum_e / total);
        }
    }
}

/* The terms of Binomial(n, p) above 1e-20 of the mode's, in b[lo..hi]. */
static void binom_terms(const double *lf, size_t n, double p, double *b, size_t *lo, size_t *hi)
{
    double lp = log(p), lq = log1p(-p);
    size_t mode = (size_t)fmin((double)n, floor((double)(n + 1) * p));
    const double cut = -46.0; /* e^-46 ~ 1e-20 */
#define TERM(x) (lf[n] - lf[x] - lf[n - (x)] + (double)(x)*lp + (double)(n - (x)) * lq)
    double lmode = TERM(mode);
    size_t a = mode, z = mode;
    b[mode] = exp(lmode);
    while (a > 0) {
        double l = TERM(a - 1);
        if (l < lmode + cut)
            break;
        b[--a] = exp(l);
    }
    while (z < n) {
        double l = TERM(z + 1);
        if (l < lmode + cut)
            break;
        b[++z] = exp(l);
    }
#undef TERM
    *lo = a;
    *hi = z;
}

/* P_p(Fisher p-value <= t) under Binomial(n1, p) x Binomial(n2, p). */
static double set_prob(struct design *d, double p, double t)
{
    if (p <= 0.0 || p >= 1.0) {
        size_t x1 = p <= 0.0 ? 0 : d->n1, x2 = p <= 0.0 ? 0 : d->n2;
        return d->fisher[x1 * (d->n2 + 1) + x2] <= t ? 1.0 : 0.0;
    }
    binom_terms(d->lf, d->n1, p, d->b1, &d->lo1, &d->hi1);
    binom_terms(d->lf, d->n2, p, d->b2, &d->lo2, &d->hi2);
    double sum = 0.0;
    for (size_t x1 = d->lo1; x1 <= d->hi1; x1++) {
        const double *row = d->fisher + x1 * (d->n2 + 1);
        double inner = 0.0;
        for (size_t x2 = d->lo2; x2 <= d->hi2; x2++)
            if (row[x2] <= t)
                inner += d->b2[x2];
        sum += d->b1[x1] * inner;
    }
    return sum;
}

/* sup over p of set_prob, p = sin^2(theta): grid, then golden sections around the best three. */
static double sup_prob(struct design *d, double t)
{
    const double half_pi = 1.5707963267948966;
    size_t grid = 100 + (size_t)(10.0 * sqrt((double)(d->n1 + d->n2)));
    double best[3] = {-1, -1, -1};
    size_t at[3] = {0, 0, 0};
    for (size_t i = 1; i < grid; i++) {
        double th = half_pi * (double)i / (double)grid, s = sin(th);
        double v = set_prob(d, s * s, t);
        for (int r = 0; r < 3; r++)
            if (v > best[r]) {
                for (int u = 2; u > r; u--) {
                    best[u] = best[u - 1];
                    at[u] = at[u - 1];
                }
                best[r] = v;
                at[r] = i;
                break;
            }
    }
    double sup = fmax(best[0], 0.0);
    const double g = 0.6180339887498949;
    for (int r = 0; r < 3 && best[r] >= 0; r++) {
        double a = half_pi * (double)(at[r] - 1) / (double)grid;
        double b = half_pi * (double)(at[r] + 1) / (double)grid;
        double c = b - g * (b - a), e = a + g * (b - a);
        double sc = sin(c), se = sin(e);
        double fc = set_prob(d, sc * sc, t), fe = set_prob(d, se * se, t);
        for (int it = 0; it < 60 && b - a > 1e-12; it++) {
            if (fc >= fe) {
                b = e;
                e = c;
                fe = fc;
                c = b - g * (b - a);
                sc = sin(c);
                fc = set_prob(d, sc * sc, t);
            } else {
                a = c;
                c = e;
                fc = fe;
                e = a + g * (b - a);
                se = sin(e);
                fe = set_prob(d, se * se, t);
            }
            sup = fmax(sup, fmax(fc, fe));
        }
    }
    return sup;
}

fm_stats_status fm_stats_boschloo(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                                  uint64_t max_tables, double *p_value)
{
    if (a > FM_STATS_MAX_ATTEMPTS || b > FM_STATS_MAX_ATTEMPTS || c > FM_STATS_MAX_ATTEMPTS ||
        d > FM_STATS_MAX_ATTEMPTS)
        return FM_STATS_EDOM;
    uint64_t n1 = a + b, n2 = c + d;
    if (n1 == 0 || n2 == 0 || a + c == 0 || b + d == 0) {
        *p_value = 1.0;
        return FM_STATS_OK;
    }
    if ((double)(n1 + 1) * (double)(n2 + 1) > (double)max_tables)
        return FM_STATS_ETOOBIG;
    double fisher_p;
    fm_stats_status st = fm_stats_fisher_exact(a, b, c, d, &fisher_p);
    if (st != FM_STATS_OK)
        return st;
    size_t short_side = (size_t)(n1 < n2 ? n1 : n2) + 1;
    struct design dz = {(size_t)n1, (size_t)n2, NULL, NULL, NULL, NULL, 0, 0, 0, 0};
    dz.lf = malloc((n1 + n2 + 1) * sizeof *dz.lf);
    dz.fisher = malloc((n1 + 1) * (n2 + 1) * sizeof *dz.fisher);
    dz.b1 = malloc((n1 + 1) * sizeof *dz.b1);
    dz.b2 = malloc((n2 + 1) * sizeof *dz.b2);
    double *w = malloc(short_side * sizeof *w);
    size_t *order = malloc(short_side * sizeof *order);
    st = FM_STATS_ENOMEM;
    if (dz.lf && dz.fisher && dz.b1 && dz.b2 && w && order) {
        for (uint64_t i = 0; i <= n1 + n2; i++)
            dz.lf[i] = lgamma((double)i + 1.0);
        fisher_all(&dz, w, order);
        double t = dz.fisher[a * (n2 + 1) + c] * (1.0 + FISHER_REL_ERR);
        double p = sup_prob(&dz, t);
        *p_value = isnan(p) ? NAN : fmin(p, fisher_p);
        st = isnan(p) ? FM_STATS_ENOCONV : FM_STATS_OK;
    }
    free(dz.lf);
    free(dz.fisher);
    free(dz.b1);
    free(dz.b2);
    free(w);
    free(order);
    return st;
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
    r.independence_test = "boschloo";
    status =
        fm_stats_boschloo(k1, n1 - k1, kq, nq - kq, FM_STATS_CHAIN_MAX_TABLES, &r.independence_p);
    if (status == FM_STATS_ETOOBIG) {
        r.independence_test = "fisher";
        r.independence_p = r.fisher_p;
    } else if (status) {
        return status;
    }
    /* no retries: nothing is known about q; the point answer assumes independence */
    double q_point = nq > 0 ? r.q.estimate : r.p1.estimate;
    if ((status = fm_stats_attempts_correlated(r.p1.estimate, q_point, target, &r.point)) ||
        (status = fm_stats_attempts_correlated(r.p1_upper, r.q_upper, target, &r.conservative)))
        return status;
    *out = r;
    return FM_STATS_OK;
}
