/*
 * test_stats_chain.c - retry-chain statistics: Fisher's exact test and fm_stats_chain.
 *
 * 1. Reference: Fisher p-values against R 4.2.2's fisher.test (two-sided) on a grid with zero
 *    cells, zero margins and counts up to 2e6 (fisher_r.csv); whole fm_stats_chain results
 *    against binom.test, qbeta at (1+c)/2, fisher.test and attempt counts by repeated
 *    multiplication in R (chain_r.csv; tests/reference/gen_seq_chain.R).  p-values within
 *    1e-9 relative or 1e-12 absolute, bounds 1e-9 relative, counts exactly.
 * 2. Properties: the p-value is invariant under swapping rows, columns or transposing.
 * 3. Seeded simulation (MT19937) of Markov retry chains: first attempt fails with p1, each
 *    retry after a failure with q, at most R = 3 retries, stopping at the first pass.
 *    a. Correlated chains (p1 = 0.05, q = 0.4): over 400 campaigns of 2000 chains, q lies in
 *       its 95 % interval in >= 95 % - 6 standard errors of them; a campaign of 10^5 chains
 *       rejects independence (p < 1e-12) and its conservative attempt count is >= the true 13.
 *    b. Independent chains (q = p1 = 0.1): over 1000 campaigns of 300 chains, Fisher's test
 *       rejects at 0.05 in <= 0.05 + 6 standard errors of them (Fisher is conservative).
 *    For a correct implementation a false failure needs a 6-sigma excursion (< 1e-9).
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

/* ---- 1. reference tables ------------------------------------------------------------------- */

enum { MAX_FIELDS = 20 };

static bool p_close(double got, double want)
{
    return fm_test_close(got, want, 1e-9, 1e-12);
}

static void test_fisher_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "fisher_r.csv");
    double v[MAX_FIELDS];
    int rows = 0;
    while (f && fm_test_read_row(f, v, 5)) {
        double p = -1;
        fm_stats_status st = fm_stats_fisher_exact((uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2],
                                                   (uint64_t)v[3], &p);
        CHECK(st == FM_STATS_OK && p_close(p, v[4]),
              "fisher_r.csv row %d [[%g, %g], [%g, %g]]: got %.17g, R says %.17g", rows + 2, v[0],
              v[1], v[2], v[3], p, v[4]);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows >= 300, "only %d rows", rows);
}

static void test_chain_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "chain_r.csv");
    double v[MAX_FIELDS];
    int rows = 0;
    while (f && fm_test_read_row(f, v, 15)) {
        fm_chain_stats cs;
        uint64_t k1 = (uint64_t)v[0], n1 = (uint64_t)v[1], kq = (uint64_t)v[2], nq = (uint64_t)v[3];
        fm_stats_status st = fm_stats_chain(k1, n1, kq, nq, v[4], v[5], &cs);
        CHECK(st == FM_STATS_OK, "chain_r.csv row %d: status %d", rows + 2, st);
        if (st == FM_STATS_OK) {
            bool ok = fm_test_close(cs.p1.lower, v[6], 1e-9, 0) &&
                      fm_test_close(cs.p1.upper, v[7], 1e-9, 0) &&
                      fm_test_close(cs.q.lower, v[8], 1e-9, 0) &&
                      fm_test_close(cs.q.upper, v[9], 1e-9, 0) &&
                      fm_test_close(cs.p1_upper, v[10], 1e-9, 0) &&
                      fm_test_close(cs.q_upper, v[11], 1e-9, 0) && p_close(cs.fisher_p, v[12]);
            CHECK(ok,
                  "chain_r.csv row %d (k1=%llu n1=%llu kq=%llu nq=%llu c=%g): p1 [%.17g, %.17g] "
                  "q [%.17g, %.17g] uppers %.17g %.17g fisher %.17g; R: %g %g %g %g %g %g %g",
                  rows + 2, (unsigned long long)k1, (unsigned long long)n1, (unsigned long long)kq,
                  (unsigned long long)nq, v[4], cs.p1.lower, cs.p1.upper, cs.q.lower, cs.q.upper,
                  cs.p1_upper, cs.q_upper, cs.fisher_p, v[6], v[7], v[8], v[9], v[10], v[11],
                  v[12]);
            /* R writes 0 for unreachable */
            uint64_t point = cs.point.reachable ? cs.point.attempts : 0;
            uint64_t cons = cs.conservative.reachable ? cs.conservative.attempts : 0;
            CHECK(point == (uint64_t)v[13] && cons == (uint64_t)v[14],
                  "chain_r.csv row %d: attempts point %llu conservative %llu, R says %g %g",
                  rows + 2, (unsigned long long)point, (unsigned long long)cons, v[13], v[14]);
        }
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows >= 60, "only %d rows", rows);
}

/* ---- 2. properties ------------------------------------------------------------------------- */

static void test_fisher_symmetry(void)
{
    static const uint64_t t[][4] = {{3, 17, 9, 2}, {0, 40, 6, 11}, {120, 880, 47, 153}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint64_t a = t[i][0], b = t[i][1], c = t[i][2], d = t[i][3];
        double p0, p1, p2, p3;
        fm_stats_fisher_exact(a, b, c, d, &p0);
        fm_stats_fisher_exact(c, d, a, b, &p1); /* rows swapped */
        fm_stats_fisher_exact(b, a, d, c, &p2); /* columns swapped */
        fm_stats_fisher_exact(a, c, b, d, &p3); /* transposed */
        CHECK(p0 > 0 && p0 <= 1 && fm_test_close(p0, p1, 1e-12, 0) &&
                  fm_test_close(p0, p2, 1e-12, 0) && fm_test_close(p0, p3, 1e-12, 0),
              "table %zu: %.17g %.17g %.17g %.17g", i, p0, p1, p2, p3);
    }
    fm_chain_stats cs;
    CHECK(fm_stats_chain(1, 0, 0, 0, 0.95, 1e-6, &cs) == FM_STATS_EDOM, "n1 = 0");
    CHECK(fm_stats_chain(1, 10, 3, 2, 0.95, 1e-6, &cs) == FM_STATS_EDOM, "kq > nq");
    CHECK(fm_stats_chain(1, 10, 0, 0, 0.95, 0.0, &cs) == FM_STATS_EDOM, "target 0");
}

/* ---- 3. simulated chains ------------------------------------------------------------------- */

enum { RETRIES = 3 };

struct counts {
    uint64_t k1, n1, kq, nq;
};

static struct counts simulate(gsl_rng *rng, double p1, double q, uint64_t chains)
{
    struct counts c = {0, chains, 0, 0};
    for (uint64_t i = 0; i < chains; i++) {
        if (gsl_rng_uniform(rng) >= p1)
            continue;
        c.k1++;
        for (int r = 0; r < RETRIES; r++) {
            c.nq++;
            if (gsl_rng_uniform(rng) >= q)
                break;
            c.kq++;
        }
    }
    return c;
}

static void test_correlated_chains(gsl_rng *rng)
{
    const double p1 = 0.05, q = 0.4, c = 0.95, target = 1e-6;
    const int campaigns = 400;
    int covered = 0;
    for (int i = 0; i < campaigns; i++) {
        struct counts n = simulate(rng, p1, q, 2000);
        fm_chain_stats cs;
        CHECK(fm_stats_chain(n.k1, n.n1, n.kq, n.nq, c, target, &cs) == FM_STATS_OK, "chain");
        covered += cs.q.lower <= q && q <= cs.q.upper;
    }
    double rate = (double)covered / campaigns, se = sqrt(c * (1 - c) / campaigns);
    printf("correlated chains p1=%g q=%g, %d campaigns of 2000: q inside its %g interval in "
           "%.3f\n",
           p1, q, campaigns, c, rate);
    CHECK(rate >= c - 6 * se, "q covered in only %.3f", rate);

    fm_attempts truth;
    fm_stats_attempts_correlated(p1, q, target, &truth);
    struct counts big = simulate(rng, p1, q, 100000);
    fm_chain_stats cs;
    fm_stats_chain(big.k1, big.n1, big.kq, big.nq, c, target, &cs);
    printf("10^5 chains: p1 %.4f [%.4f, %.4f], q %.4f [%.4f, %.4f], Fisher p %.3g, attempts "
           "point %llu conservative %llu (true %llu)\n",
           cs.p1.estimate, cs.p1.lower, cs.p1.upper, cs.q.estimate, cs.q.lower, cs.q.upper,
           cs.fisher_p, (unsigned long long)cs.point.attempts,
           (unsigned long long)cs.conservative.attempts, (unsigned long long)truth.attempts);
    CHECK(cs.q.lower <= q && q <= cs.q.upper, "q %g outside [%g, %g]", q, cs.q.lower, cs.q.upper);
    CHECK(cs.fisher_p < 1e-12, "dependence not detected: p = %g", cs.fisher_p);
    CHECK(truth.attempts == 13 && cs.conservative.reachable &&
              cs.conservative.attempts >= truth.attempts && cs.point.attempts >= 12 &&
              cs.point.attempts <= 14,
          "attempts point %llu conservative %llu, true %llu", (unsigned long long)cs.point.attempts,
          (unsigned long long)cs.conservative.attempts, (unsigned long long)truth.attempts);
}

static void test_independent_chains(gsl_rng *rng)
{
    const double p = 0.1, level = 0.05;
    const int campaigns = 1000;
    int rejected = 0;
    for (int i = 0; i < campaigns; i++) {
        struct counts n = simulate(rng, p, p, 300);
        fm_chain_stats cs;
        CHECK(fm_stats_chain(n.k1, n.n1, n.kq, n.nq, 0.95, 1e-6, &cs) == FM_STATS_OK, "chain");
        rejected += cs.fisher_p <= level;
    }
    double rate = (double)rejected / campaigns, se = sqrt(level * (1 - level) / campaigns);
    printf("independent chains p1=q=%g, %d campaigns of 300: Fisher rejects at %g in %.3f\n", p,
           campaigns, level, rate);
    CHECK(rate <= level + 6 * se, "rejection rate %.3f", rate);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s REFERENCE_DIR\n", argv[0]);
        return 2;
    }
    test_fisher_reference(argv[1]);
    test_chain_reference(argv[1]);
    test_fisher_symmetry();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261125);
    test_correlated_chains(rng);
    test_independent_chains(rng);
    gsl_rng_free(rng);
    return fm_test_report("test_stats_chain");
}
