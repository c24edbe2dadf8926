/*
 * test_stats_pool.c - the bound on the tests never seen failing (fm_stats_pool_bound,
 * fm_stats_pool_tables; docs/statistics.md, sec. 9).
 *
 * 1. Reference (tests/reference/gen_pool.py): the one-test lemma E exp(lambda (u [k=0] - h(k)))
 *    <= 1 summed over the binomial law in exact rational arithmetic, against the closed form
 *    1 - deficit, deficit = (1 - (1-y) p)^n - (1-p)^(n-lambda) >= 0 (pool_lemma_py.csv); the
 *    bound of 29 suites computed in 50-digit decimal arithmetic (pool_bound_py.csv, 1e-12
 *    relative, never below); the exact coverage of 5 iid cases (pool_coverage_py.csv, 1e-9).
 * 2. The library computes the documented bound: on seeded random suites the mixture, computed
 *    here from the documented nodes, reaches 1/(1-c) at B and not 1e-9 below it.
 * 3. Exact coverage, iid tests (m tests, p each, n runs each): sum over (never failed, failed
 *    once, failed twice) with the multinomial law, tests that failed 3 or more times counted
 *    as adding nothing to the bound (which can only lower it: the figure is a lower bound on
 *    the coverage).  The four cases and a grid of m = 1..1000, p = 1e-4..0.05 and
 *    p = 0.5/n..4/n, n = 20..2000: every coverage >= c.  The old bound's exact coverage
 *    (sum u_i <= log(1/(1-c)) / n) is printed beside it: documentation, not a check, except
 *    that the four cases reproduce the figures the docs quote for it.
 * 4. Seeded simulation (MT19937, seed 20261122) of heterogeneous suites (p_i and n_i differ,
 *    most tests stable, rare and frequent failures mixed), 10000 repetitions each, through the
 *    library: the misses stay at or below the count a correct bound (miss probability <= 1-c)
 *    exceeds with probability < 1e-7 per case, so a correct implementation fails this part
 *    with probability < 1e-6 in all.
 * 5. Properties: the bound does not grow with the number of tests never seen failing, rises
 *    with every test that failed once, falls as failures repeat and runs grow; domain errors;
 *    the budget tables.
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <stdlib.h>
#include <string.h>

/* The mixture as docs/statistics.md sec. 9 states it (copied, not taken from the library). */
static const double Y[] = {0.999, 0.97, 0.9, 0.75, 0.55, 0.4, 0.28,
                           0.2,   0.14, 0.1, 0.07, 0.05, 0.03};
static const double W[] = {0.30, 0.20, 0.15,  0.10, 0.07, 0.05, 0.04,
                           0.03, 0.02, 0.015, 0.01, 0.01, 0.005};
enum { NODES = sizeof Y / sizeof *Y, MAX_SUITE = 64 };

/* log of the documented mixture at s for a suite. */
static double log_mixture(double s, const uint64_t *k, const uint64_t *n, size_t m)
{
    uint64_t n_min = UINT64_MAX;
    for (size_t i = 0; i < m; i++)
        n_min = n[i] < n_min ? n[i] : n_min;
    double sum = 0.0;
    for (size_t j = 0; j < NODES; j++) {
        double lam = Y[j] * (double)n_min, e = log(W[j]) + lam * s;
        for (size_t i = 0; i < m; i++)
            if (k[i] > 0)
                e += log1p(-pow(lam / (double)n[i], (double)k[i]));
        sum += exp(e);
    }
    return log(sum);
}

/* ---- 1. reference -------------------------------------------------------------------------- */

static void test_lemma_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "pool_lemma_py.csv");
    double v[5];
    int rows = 0;
    while (fm_test_read_row(f, v, 5)) {
        double n = v[0], lam = v[1], p = v[2] / v[3], y = lam / n;
        /* e^a - e^b = e^b expm1(a - b): no cancellation */
        double a = n * log1p(-(1.0 - y) * p), b = (n - lam) * log1p(-p);
        double deficit = p == 1.0 ? pow(y, n) : exp(b) * expm1(a - b);
        CHECK(v[4] >= 0.0 && fm_test_close(deficit, v[4], 1e-9, 1e-15),
              "pool_lemma_py.csv row %d: n %g lambda %g p %g: closed form %.17g, exact %.17g",
              rows + 2, n, lam, p, deficit, v[4]);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows >= 60, "only %d rows", rows);
    /* and on a fine grid in doubles: the deficit is never negative */
    double worst = 0.0;
    for (int in = 0; in < 8; in++)
        for (int iy = 1; iy < 100; iy++)
            for (int ip = 0; ip <= 400; ip++) {
                double n = (double)(1 << (2 * in)), y = iy / 100.0, p = ip / 400.0;
                double d = pow(1.0 - (1.0 - y) * p, n) - pow(1.0 - p, n * (1.0 - y));
                worst = fmin(worst, d);
            }
    CHECK(worst >= -1e-15, "lemma deficit %g < 0 on the grid", worst);
}

/* One suite row: c, B, m, k_1, n_1, ... (longer than fm_test_read_row takes). */
static bool read_suite(FILE *f, double *c, double *bound, size_t *m, uint64_t *k, uint64_t *n)
{
    char line[4096];
    if (f == NULL || !fgets(line, sizeof line, f))
        return false;
    char *p = line;
    *c = strtod(p, &p), p++;
    *bound = strtod(p, &p), p++;
    *m = (size_t)strtoull(p, &p, 10), p++;
    for (size_t i = 0; i < *m && i < MAX_SUITE; i++) {
        k[i] = strtoull(p, &p, 10), p++;
        n[i] = strtoull(p, &p, 10), p++;
    }
    return true;
}

static void test_bound_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "pool_bound_py.csv");
    double c, want;
    size_t m;
    uint64_t k[MAX_SUITE], n[MAX_SUITE];
    int rows = 0;
    while (read_suite(f, &c, &want, &m, k, n)) {
        fm_pool_bound b;
        fm_stats_status st = fm_stats_pool_bound(k, n, m, c, &b);
        CHECK(st == FM_STATS_OK && fm_test_close(b.sum_bound, want, 1e-12, 0.0) &&
                  b.sum_bound >= want * (1.0 - 1e-14),
              "pool_bound_py.csv row %d (m %zu, c %g): got %.17g, want %.17g", rows + 2, m, c,
              b.sum_bound, want);
        CHECK(fm_test_close(b.rate, -expm1(-want), 1e-12, 0.0), "row %d: rate %.17g", rows + 2,
              b.rate);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows >= 29, "only %d rows", rows);
}

/* ---- 3. exact coverage, iid tests ---------------------------------------------------------- */

static double lbinom(unsigned r, unsigned x, double p, double log_p, double log_q)
{
    if (p == 0.0)
        return x == 0 ? 0.0 : -INFINITY;
    return gsl_sf_lnchoose(r, x) + x * log_p + (r - x) * log_q;
}

static bool covered(double lam_unit, double s, unsigned n1, unsigned n2, double log_target)
{
    double sum = 0.0;
    for (size_t j = 0; j < NODES; j++)
        sum += W[j] * exp(Y[j] * lam_unit * s + n1 * log1p(-Y[j]) + n2 * log1p(-Y[j] * Y[j]));
    return log(sum) <= log_target;
}

/* P(sum_{k_i = 0} u_i <= B) for m iid tests, a lower bound (see the top); *old: the old bound's. */
static double exact_coverage(unsigned m, double p, unsigned n, double c, double *old)
{
    double u = -log1p(-p), log_target = -log1p(-c);
    double q0 = gsl_cdf_binomial_Q(0, p, n); /* P(k >= 1) */
    double q1 = gsl_cdf_binomial_Q(1, p, n); /* P(k >= 2) */
    double p0 = gsl_ran_binomial_pdf(0, p, n), p1 = gsl_ran_binomial_pdf(1, p, n);
    double p2 = gsl_ran_binomial_pdf(2, p, n);
    double a1 = q0 > 0 ? p1 / q0 : 0.0, a2 = q1 > 0 ? p2 / q1 : 0.0;
    double lp0 = log(p0), lq0 = log(q0), la1 = log(a1), lb1 = log1p(-a1);
    unsigned q_old = (unsigned)fmin((double)m, floor(log_target / n / u * (1 + 1e-12)));
    *old = gsl_cdf_binomial_P(q_old, p0, m);
    double cov = gsl_ran_binomial_pdf(0, p0, m); /* an empty pool is always covered */
    for (unsigned q = 1; q <= m; q++) {
        double lq = lbinom(m, q, p0, lp0, lq0);
        if (lq < -80)
            continue; /* counted as a miss: still a lower bound */
        unsigned r = m - q;
        double s = q * u;
        unsigned t = r + 1; /* N2 >= t is covered; walks down as N1 grows */
        for (unsigned n1 = 0; n1 <= r; n1++) {
            if (t > r - n1 + 1)
                t = r - n1 + 1;
            while (t > 0 && covered(n, s, n1, t - 1, log_target))
                t--;
            double l1 = lq + lbinom(r, n1, a1, la1, lb1);
            if (l1 < -80 || t > r - n1)
                continue;
            double tail = t == 0 ? 1.0 : gsl_cdf_binomial_Q(t - 1, a2, r - n1);
            cov += exp(l1) * tail;
        }
    }
    return cov;
}

static void test_coverage_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "pool_coverage_py.csv");
    double v[6];
    int rows = 0;
    while (fm_test_read_row(f, v, 6)) {
        double old, cov = exact_coverage((unsigned)v[0], v[1], (unsigned)v[2], v[3], &old);
        CHECK(fm_test_close(cov, v[4], 1e-9, 1e-12) && fm_test_close(old, v[5], 1e-9, 1e-12),
              "pool_coverage_py.csv row %d: m %g p %g n %g: new %.12g (want %.12g), old %.12g "
              "(want %.12g)",
              rows + 2, v[0], v[1], v[2], cov, v[4], old, v[5]);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows >= 5, "only %d rows", rows);
}

static void test_coverage_exact(void)
{
    const double c = 0.95;
    /* the cases: (tests, p, runs) and the old bound's coverage the docs quote */
    static const struct {
        unsigned m;
        double p;
        unsigned n;
        double old;
    } table[] = {{30, 0.01, 100, 0.000},
                 {20, 0.015, 100, 0.046},
                 {5, 0.01, 100, 0.739},
                 {800, 1.0 / 575, 575, 0.000}};
    printf("exact coverage of 'together at most' at c = %.2f (new: a lower bound)\n", c);
    printf("  tests        p   runs   old bound   new bound\n");
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        double old, cov = exact_coverage(table[i].m, table[i].p, table[i].n, c, &old);
        printf("  %5u  %7.5f  %5u   %9.4f   %9.6f\n", table[i].m, table[i].p, table[i].n, old, cov);
        CHECK(cov >= c, "m %u p %g n %u: coverage %.9f < %g", table[i].m, table[i].p, table[i].n,
              cov, c);
        CHECK(fabs(old - table[i].old) <= 0.0005, "old bound's coverage %.4f, docs say %.3f", old,
              table[i].old);
    }
    static const unsigned ms[] = {1, 2, 3, 5, 10, 20, 30, 50, 100, 300, 800, 1000};
    static const unsigned ns[] = {20, 100, 575, 2000};
    static const double ps[] = {1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.015, 0.02, 0.05};
    static const double per_n[] = {0.5, 1.0, 2.0, 4.0};
    double min_new = 2.0, min_old = 2.0;
    unsigned cases = 0, old_below = 0;
    char at_new[128] = "", at_old[128] = "";
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
            for (size_t e = 0; e < sizeof ps / sizeof *ps + sizeof per_n / sizeof *per_n; e++) {
                double p =
                    e < sizeof ps / sizeof *ps ? ps[e] : per_n[e - sizeof ps / sizeof *ps] / ns[b];
                double old, cov = exact_coverage(ms[a], p, ns[b], c, &old);
                cases++;
                old_below += old < c;
                CHECK(cov >= c, "m %u p %g n %u: coverage %.9f < %g", ms[a], p, ns[b], cov, c);
                if (cov < min_new) {
                    min_new = cov;
                    snprintf(at_new, sizeof at_new, "m %u, p %g, n %u", ms[a], p, ns[b]);
                }
                if (old < min_old) {
                    min_old = old;
                    snprintf(at_old, sizeof at_old, "m %u, p %g, n %u", ms[a], p, ns[b]);
                }
            }
    printf("grid of %u iid cases: new bound's least coverage %.6f (%s); old bound below %.2f in "
           "%u of them, least %.4f (%s)\n",
           cases, min_new, at_new, c, old_below, min_old, at_old);
}

/* ---- 2. the documented bound, 4. simulation ------------------------------------------------ */

static void test_root(gsl_rng *rng)
{
    uint64_t k[MAX_SUITE], n[MAX_SUITE];
    int bad = 0;
    for (int rep = 0; rep < 2000; rep++) {
        size_t m = 1 + gsl_rng_uniform_int(rng, MAX_SUITE);
        for (size_t i = 0; i < m; i++) {
            n[i] = 1 + gsl_rng_uniform_int(rng, rep % 2 ? 3000 : 150);
            unsigned pick = (unsigned)gsl_rng_uniform_int(rng, 6);
            k[i] = pick < 3    ? 0
                   : pick == 3 ? 1
                   : pick == 4 ? 2
                               : gsl_rng_uniform_int(rng, n[i] + 1);
            k[i] = k[i] > n[i] ? n[i] : k[i];
        }
        k[0] = 0;
        double c = rep % 3 == 0 ? 0.9 : rep % 3 == 1 ? 0.95 : 0.99;
        fm_pool_bound b;
        if (fm_stats_pool_bound(k, n, m, c, &b) != FM_STATS_OK) {
            bad++;
            continue;
        }
        double target = -log1p(-c);
        if (!(log_mixture(b.sum_bound, k, n, m) >= target - 1e-12) ||
            !(log_mixture(b.sum_bound * (1.0 - 1e-9), k, n, m) < target))
            bad++;
    }
    CHECK(bad == 0, "%d of 2000 random suites: the bound is not the documented root", bad);
}

struct het {
    const char *what;
    size_t m;
    double p[1000];
    uint64_t n[1000];
};

static void test_simulation(gsl_rng *rng)
{
    const double c = 0.95;
    const unsigned reps = 10000;
    static struct het cases[5];
    struct het *h = cases;
    /* A: a large suite, mostly stable, some rare and some frequent failures, n = 120 */
    h->what = "1000 tests: 900 stable, 60 at 1/n, 40 log-uniform 1e-3..0.05, n 120";
    h->m = 1000;
    for (size_t i = 0; i < h->m; i++) {
        h->n[i] = 120;
        h->p[i] = i < 900 ? 0.0 : i < 960 ? 1.0 / 120 : exp(log(1e-3) + (i - 960) / 40.0 * log(50));
    }
    h++;
    h->what = "300 tests: p log-uniform 1e-4..0.05, n log-uniform 20..2000";
    h->m = 300;
    for (size_t i = 0; i < h->m; i++) {
        h->p[i] = exp(log(1e-4) + gsl_rng_uniform(rng) * log(500));
        h->n[i] = (uint64_t)exp(log(20) + gsl_rng_uniform(rng) * log(100));
    }
    h++;
    h->what = "200 tests: p = 1/n_i, n_i in {20, 100, 575}";
    h->m = 200;
    for (size_t i = 0; i < h->m; i++) {
        static const uint64_t nn[] = {20, 100, 575};
        h->n[i] = nn[i % 3];
        h->p[i] = 1.0 / (double)h->n[i];
    }
    h++;
    h->what = "50 tests: p from 0.04/n to 2/n, n 100";
    h->m = 50;
    for (size_t i = 0; i < h->m; i++) {
        h->n[i] = 100;
        h->p[i] = (i + 1) * 0.04 / 100;
    }
    h++;
    h->what = "5 tests: p 0.001, 0.005, 0.01, 0.02, 0.05, n 100";
    h->m = 5;
    static const double five[] = {0.001, 0.005, 0.01, 0.02, 0.05};
    for (size_t i = 0; i < h->m; i++) {
        h->n[i] = 100;
        h->p[i] = five[i];
    }
    /* misses above `limit` happen with probability < 1e-7 when the miss rate is <= 1 - c */
    unsigned limit = 0;
    while (gsl_cdf_binomial_Q(limit, 1.0 - c, reps) >= 1e-7)
        limit++;
    static uint64_t k[1000];
    for (size_t a = 0; a < sizeof cases / sizeof *cases; a++) {
        h = &cases[a];
        unsigned miss = 0;
        double truth_sum = 0.0, bound_sum = 0.0;
        for (unsigned r = 0; r < reps; r++) {
            double s = 0.0;
            for (size_t i = 0; i < h->m; i++) {
                k[i] = gsl_ran_binomial(rng, h->p[i], (unsigned)h->n[i]);
                if (k[i] == 0)
                    s += -log1p(-h->p[i]);
            }
            fm_pool_bound b;
            if (fm_stats_pool_bound(k, h->n, h->m, c, &b) != FM_STATS_OK) {
                miss++;
                continue;
            }
            miss += s > b.sum_bound;
            truth_sum += -expm1(-s);
            bound_sum += b.rate;
        }
        printf("simulated %s: coverage %.4f (%u misses of %u, limit %u); mean pooled rate %.4f, "
               "mean bound %.4f\n",
               h->what, 1.0 - (double)miss / reps, miss, reps, limit, truth_sum / reps,
               bound_sum / reps);
        CHECK(miss <= limit, "%s: %u misses > %u", h->what, miss, limit);
    }
}

/* ---- 5. properties ------------------------------------------------------------------------- */

static double B(const uint64_t *k, const uint64_t *n, size_t m, double c)
{
    fm_pool_bound b;
    fm_stats_status st = fm_stats_pool_bound(k, n, m, c, &b);
    CHECK(st == FM_STATS_OK, "status %d", (int)st);
    return b.sum_bound;
}

static void test_properties(void)
{
    static uint64_t k[1000], n[1000];
    for (size_t i = 0; i < 1000; i++)
        k[i] = 0, n[i] = 120;
    double one = B(k, n, 1, 0.95), many = B(k, n, 1000, 0.95);
    CHECK(one == many && one > log(20.0) / 120 && one < log(1 / 0.015) / 120,
          "all stable: one %.17g, 1000 %.17g", one, many);
    k[1] = 1;
    double single = B(k, n, 2, 0.95);
    k[1] = 2;
    double twice = B(k, n, 2, 0.95);
    k[1] = 50;
    double often = B(k, n, 2, 0.95);
    CHECK(single > twice && twice > often && often >= one,
          "once %.6g, twice %.6g, 50 times %.6g, none %.6g", single, twice, often, one);
    k[1] = 1;
    k[2] = 1;
    CHECK(B(k, n, 3, 0.95) > single, "a second singleton must raise the bound");
    CHECK(B(k, n, 3, 0.99) > B(k, n, 3, 0.95) && B(k, n, 3, 0.95) > B(k, n, 3, 0.5), "in c");
    double before = B(k, n, 3, 0.95);
    n[0] = n[1] = n[2] = 1200;
    CHECK(B(k, n, 3, 0.95) < before, "more runs must lower the bound");
    /* no test never failed: nothing to bound; m = 0 likewise */
    fm_pool_bound b;
    uint64_t kk[2] = {1, 3}, nn[2] = {10, 10};
    CHECK(fm_stats_pool_bound(kk, nn, 2, 0.95, &b) == FM_STATS_OK && b.tests == 0 &&
              b.sum_bound == 0.0 && b.rate == 0.0 && b.fewest_runs == 10,
          "no quiet test");
    CHECK(fm_stats_pool_bound(NULL, NULL, 0, 0.95, &b) == FM_STATS_OK && b.tests == 0 &&
              b.sum_bound == 0.0,
          "m = 0");
    kk[0] = 0;
    CHECK(fm_stats_pool_bound(kk, nn, 2, 0.95, &b) == FM_STATS_OK && b.tests == 1 &&
              b.rate == -expm1(-b.sum_bound) && b.rate < 1.0,
          "one quiet test");
    /* domain */
    uint64_t zero[1] = {0}, big[1] = {11};
    CHECK(fm_stats_pool_bound(zero, zero, 1, 0.95, &b) == FM_STATS_EDOM, "runs 0");
    CHECK(fm_stats_pool_bound(big, nn, 1, 0.95, &b) == FM_STATS_EDOM, "k > n");
    CHECK(fm_stats_pool_bound(kk, nn, 2, 0.0, &b) == FM_STATS_EDOM &&
              fm_stats_pool_bound(kk, nn, 2, 1.0, &b) == FM_STATS_EDOM &&
              fm_stats_pool_bound(kk, nn, 2, NAN, &b) == FM_STATS_EDOM &&
              fm_stats_pool_bound(NULL, nn, 2, 0.95, &b) == FM_STATS_EDOM,
          "c and NULL");
    /* tables */
    double fail[12], cost[12];
    fm_pool_bound pb = {.tests = 3, .fewest_runs = 120, .sum_bound = 0.3};
    pb.rate = -expm1(-pb.sum_bound);
    CHECK(fm_stats_pool_tables(&pb, 2.0, 12, fail, cost) == FM_STATS_OK, "tables");
    double P = pb.rate;
    for (int a = 1; a <= 12; a++) {
        double want_fail = fmin(P, 0.3 * pow(P, a - 1));
        double want_cost = 0.3 * (1 - pow(P, a - 1)) / (1 - P) * 2.0;
        CHECK(fm_test_close(fail[a - 1], want_fail, 1e-12, 0) &&
                  fm_test_close(cost[a - 1], want_cost, 1e-12, 1e-300),
              "A = %d: fail %.17g (%.17g), cost %.17g (%.17g)", a, fail[a - 1], want_fail,
              cost[a - 1], want_cost);
        CHECK(a == 1 || (fail[a - 1] <= fail[a - 2] && cost[a - 1] >= cost[a - 2]), "monotone");
    }
    pb.sum_bound = INFINITY;
    CHECK(fm_stats_pool_tables(&pb, 2.0, 12, fail, cost) == FM_STATS_EDOM &&
              fm_stats_pool_tables(NULL, 2.0, 12, fail, cost) == FM_STATS_EDOM,
          "tables domain");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/reference";
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261122);
    test_lemma_reference(dir);
    test_bound_reference(dir);
    test_coverage_reference(dir);
    test_root(rng);
    test_coverage_exact();
    test_simulation(rng);
    test_properties();
    gsl_rng_free(rng);
    return fm_test_report("test_stats_pool");
}
