/*
 * test_stats_chain.c - retry-chain statistics: Fisher's exact test and fm_stats_chain.
 *
 * 1. Reference: Fisher p-values against R 4.2.2's fisher.test (two-sided) on a grid with zero
 *    cells, zero margins and counts up to 2e6 (fisher_r.csv); whole fm_stats_chain results
 *    against binom.test, qbeta at (1+c)/2, fisher.test and attempt counts by repeated
 *    multiplication in R (chain_r.csv; tests/reference/gen_seq_chain.R).  p-values within
 *    1e-9 relative or 1e-12 absolute, bounds 1e-9 relative, counts exactly.
 * 2. Properties: the p-value is invariant under swapping rows, columns or transposing.
 * 2b. Boschloo's test (fm_stats_boschloo, what fm_stats_chain reports as independence_p): on
 *    designs (n1, n2) up to (200, 12) the region it rejects at 0.05 (every table's p-value) has
 *    exact size <= 0.05 (max over 2000 p's, even in asin(sqrt(p)), of the exact rejection
 *    probability) and contains Fisher's; its power at 300 chains, p1 = 0.05, q = 0.15 (17
 *    retries) is 0.3794 (Fisher 0.327).  `test_stats_chain DIR --table` prints the size and
 *    power table of docs/statistics.md, sec. 6.
 * 3. Seeded simulation (MT19937) of Markov retry chains: first attempt fails with p1, each
 *    retry after a failure with q, at most R = 3 retries, stopping at the first pass.
 *    a. Correlated chains (p1 = 0.05, q = 0.4): over 400 campaigns of 2000 chains, q lies in
 *       its 95 % interval in >= 95 % - 6 standard errors of them; a campaign of 10^5 chains
 *       rejects independence (p < 1e-12) and its conservative attempt count is >= the true 13.
 *    b. Independent chains (q = p1 = 0.1): over 1000 campaigns of 300 chains, the reported
 *       test (Boschloo) rejects at 0.05 in <= 0.05 + 6 standard errors of them, although the
 *       number of retries depends on their outcomes (chains stop at a pass).
 *    For a correct implementation a false failure needs a 6-sigma excursion (< 1e-9).
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- 1. reference tables ------------------------------------------------------------------- */

enum { MAX_FIELDS = 20 };

/* measured with test_stats_chain --table's code; see test_boschloo_size_power */
#define POWER_300_005_015 0.3794

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

/* ---- 2b. Boschloo's test: exact size and power (docs/statistics.md, sec. 6) --------------- */

/* log of the hypergeometric probability of the table given its margins (for mid-p). */
static double log_hyper(unsigned a, unsigned b, unsigned c, unsigned d)
{
    double n = a + b + c + d;
    return lgamma(a + b + 1.0) + lgamma(c + d + 1.0) + lgamma(a + c + 1.0) + lgamma(b + d + 1.0) -
           lgamma(n + 1.0) - lgamma(a + 1.0) - lgamma(b + 1.0) - lgamma(c + 1.0) - lgamma(d + 1.0);
}

/* Which tables of a design (rows n1, n2) each test rejects at level alpha. */
struct regions {
    unsigned n1, n2;
    bool *fisher, *midp, *boschloo;
};

static struct regions regions_for(unsigned n1, unsigned n2, double alpha)
{
    size_t n = (size_t)(n1 + 1) * (n2 + 1);
    struct regions r = {n1, n2, calloc(n, 1), calloc(n, 1), calloc(n, 1)};
    for (unsigned x1 = 0; x1 <= n1; x1++)
        for (unsigned x2 = 0; x2 <= n2; x2++) {
            double pf = 1, pb = 1;
            fm_stats_fisher_exact(x1, n1 - x1, x2, n2 - x2, &pf);
            double pm = pf - 0.5 * exp(log_hyper(x1, n1 - x1, x2, n2 - x2));
            size_t i = (size_t)x1 * (n2 + 1) + x2;
            r.fisher[i] = pf <= alpha;
            r.midp[i] = pm <= alpha;
            /* Boschloo <= Fisher, so only tables Fisher does not reject need the sup */
            if (pf <= alpha) {
                r.boschloo[i] = true;
                continue;
            }
            fm_stats_status st = fm_stats_boschloo(x1, n1 - x1, x2, n2 - x2, 1u << 22, &pb);
            CHECK(st == FM_STATS_OK && pb <= pf * (1 + 1e-12) && pb > 0,
                  "boschloo [[%u, %u], [%u, %u]]: %d %g (fisher %g)", x1, n1 - x1, x2, n2 - x2, st,
                  pb, pf);
            r.boschloo[i] = pb <= alpha;
        }
    return r;
}

/* The same for big designs: Boschloo's p-value rises with Fisher's, so its region is the
 * tables with Fisher p-value up to a threshold, found by bisection on the sorted p-values. */
static const double *sort_key;
static int by_key(const void *a, const void *b)
{
    double x = sort_key[*(const size_t *)a], y = sort_key[*(const size_t *)b];
    return (x > y) - (x < y);
}

static struct regions regions_fast(unsigned n1, unsigned n2, double alpha)
{
    size_t n = (size_t)(n1 + 1) * (n2 + 1);
    struct regions r = {n1, n2, calloc(n, 1), calloc(n, 1), calloc(n, 1)};
    double *pf = malloc(n * sizeof *pf);
    size_t *idx = malloc(n * sizeof *idx);
    for (unsigned x1 = 0; x1 <= n1; x1++)
        for (unsigned x2 = 0; x2 <= n2; x2++) {
            size_t i = (size_t)x1 * (n2 + 1) + x2;
            fm_stats_fisher_exact(x1, n1 - x1, x2, n2 - x2, &pf[i]);
            r.fisher[i] = pf[i] <= alpha;
            r.midp[i] = pf[i] - 0.5 * exp(log_hyper(x1, n1 - x1, x2, n2 - x2)) <= alpha;
            idx[i] = i;
        }
    sort_key = pf;
    qsort(idx, n, sizeof *idx, by_key);
    size_t lo = 0, hi = n; /* tables idx[0 .. lo) are rejected; idx[hi ..) are not */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, i = idx[mid];
        unsigned x1 = (unsigned)(i / (n2 + 1)), x2 = (unsigned)(i % (n2 + 1));
        double pb = 1;
        fm_stats_boschloo(x1, n1 - x1, x2, n2 - x2, 1u << 22, &pb);
        if (pb <= alpha)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t j = 0; j < lo; j++)
        r.boschloo[idx[j]] = true;
    free(pf);
    free(idx);
    return r;
}

static void regions_free(struct regions *r)
{
    free(r->fisher);
    free(r->midp);
    free(r->boschloo);
}

/* P(reject) with x1 ~ Binomial(n1, p1), x2 ~ Binomial(n2, q), exactly (all tables). */
static double reject_prob(const struct regions *r, const bool *region, double p1, double q)
{
    double sum = 0;
    for (unsigned x1 = 0; x1 <= r->n1; x1++) {
        double b1 = gsl_ran_binomial_pdf(x1, p1, r->n1), inner = 0;
        for (unsigned x2 = 0; x2 <= r->n2; x2++)
            if (region[(size_t)x1 * (r->n2 + 1) + x2])
                inner += gsl_ran_binomial_pdf(x2, q, r->n2);
        sum += b1 * inner;
    }
    return sum;
}

/* Size: max over p of P(reject | p1 = q = p), on a grid even in asin(sqrt(p)). */
static double size_of(const struct regions *r, const bool *region, int grid)
{
    double worst = 0;
    for (int i = 1; i < grid; i++) {
        double s = sin(1.5707963267948966 * i / grid);
        worst = fmax(worst, reject_prob(r, region, s * s, s * s));
    }
    return worst;
}

struct figures {
    double size[3], power3[3], power10[3];
    unsigned n2;
};

/* A campaign of n1 chains with 3 retries: n2 = the expected retries, n1 p1 (1 + q + q^2). */
static unsigned retries_for(unsigned n1, double p1, double q)
{
    return (unsigned)lround(n1 * p1 * (1 + q + q * q));
}

static struct figures figures_for(unsigned n1, double p1, int grid)
{
    struct figures f;
    double q3 = fmin(3 * p1, 0.9), q10 = fmin(10 * p1, 0.9);
    unsigned n2 = retries_for(n1, p1, q3); /* the design the test sees under the alternative */
    f.n2 = n2;
    struct regions r = regions_fast(n1, n2 > 0 ? n2 : 1, 0.05);
    const bool *reg[3] = {r.fisher, r.midp, r.boschloo};
    for (int t = 0; t < 3; t++) {
        f.size[t] = size_of(&r, reg[t], grid);
        f.power3[t] = reject_prob(&r, reg[t], p1, q3);
    }
    regions_free(&r);
    unsigned n2b = retries_for(n1, p1, q10);
    struct regions r10 = regions_fast(n1, n2b > 0 ? n2b : 1, 0.05);
    const bool *reg10[3] = {r10.fisher, r10.midp, r10.boschloo};
    for (int t = 0; t < 3; t++)
        f.power10[t] = reject_prob(&r10, reg10[t], p1, q10);
    regions_free(&r10);
    return f;
}

/* The suite's check: exact size <= alpha for Boschloo on a grid of designs, and one power. */
static void test_boschloo_size_power(void)
{
    static const unsigned designs[][2] = {{30, 3}, {50, 6}, {100, 4}, {100, 12}, {200, 9}};
    for (size_t i = 0; i < sizeof designs / sizeof designs[0]; i++) {
        struct regions r = regions_for(designs[i][0], designs[i][1], 0.05);
        double sb = size_of(&r, r.boschloo, 2000), sf = size_of(&r, r.fisher, 2000);
        printf("design n1=%u n2=%u: exact size at 0.05: fisher %.4f, boschloo %.4f\n",
               designs[i][0], designs[i][1], sf, sb);
        CHECK(sb <= 0.05 + 1e-12 && sf <= 0.05 + 1e-12 && sb >= sf,
              "n1=%u n2=%u: size fisher %.6f boschloo %.6f", designs[i][0], designs[i][1], sf, sb);
        regions_free(&r);
    }
    /* the docs' figure: 300 chains, p1 = 0.05, q = 0.15 (n2 = 17 retries) */
    struct regions r = regions_for(300, 17, 0.05);
    double pf = reject_prob(&r, r.fisher, 0.05, 0.15), pb = reject_prob(&r, r.boschloo, 0.05, 0.15);
    printf("power at n1=300 p1=0.05 q=0.15 n2=17: fisher %.3f, boschloo %.3f\n", pf, pb);
    printf("(boschloo power %.4f)\n", pb);
    CHECK(fabs(pb - POWER_300_005_015) < 5e-4 && pb > pf, "power boschloo %.4f fisher %.4f", pb,
          pf);
    regions_free(&r);
}

/* The table in docs/statistics.md, sec. 6: test_stats_chain --table (a few minutes). */
static void print_table(void)
{
    static const unsigned n1s[] = {100, 300, 1000};
    static const double p1s[] = {0.01, 0.05, 0.2};
    printf("| chains n1 | p1 | retries n2 (q = 3p1) | size Fisher | size mid-p | size Boschloo | "
           "power q = 3p1: Fisher / mid-p / Boschloo | power q = 10p1 (max 0.9) |\n"
           "|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof n1s / sizeof n1s[0]; i++)
        for (size_t j = 0; j < sizeof p1s / sizeof p1s[0]; j++) {
            struct figures f = figures_for(n1s[i], p1s[j], 1000);
            printf("| %u | %g | %u | %.4f | %.4f | %.4f | %.3f / %.3f / %.3f | %.3f / %.3f / "
                   "%.3f |\n",
                   n1s[i], p1s[j], f.n2, f.size[0], f.size[1], f.size[2], f.power3[0], f.power3[1],
                   f.power3[2], f.power10[0], f.power10[1], f.power10[2]);
            fflush(stdout);
        }
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
    int rejected = 0, rejected_fisher = 0;
    for (int i = 0; i < campaigns; i++) {
        struct counts n = simulate(rng, p, p, 300);
        fm_chain_stats cs;
        CHECK(fm_stats_chain(n.k1, n.n1, n.kq, n.nq, 0.95, 1e-6, &cs) == FM_STATS_OK, "chain");
        rejected += cs.independence_p <= level;
        rejected_fisher += cs.fisher_p <= level;
    }
    double rate = (double)rejected / campaigns, se = sqrt(level * (1 - level) / campaigns);
    printf("independent chains p1=q=%g, %d campaigns of 300: at %g Boschloo rejects in %.3f, "
           "Fisher in %.3f\n",
           p, campaigns, level, rate, (double)rejected_fisher / campaigns);
    CHECK(rate <= level + 6 * se, "rejection rate %.3f", rate);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[2], "--table") == 0) {
        print_table();
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s REFERENCE_DIR [--table]\n", argv[0]);
        return 2;
    }
    test_fisher_reference(argv[1]);
    test_chain_reference(argv[1]);
    test_fisher_symmetry();
    test_boschloo_size_power();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261125);
    test_correlated_chains(rng);
    test_independent_chains(rng);
    gsl_rng_free(rng);
    return fm_test_report("test_stats_chain");
}
