/*
 * test_stats_coverage.c - do the intervals cover the true failure probability as often as
 * they claim?
 *
 * 1. Exact coverage, computed without randomness: for a true p, the coverage of a method is
 *    sum_k P(K = k | n, p) [lower(k) <= p <= upper(k)].  Clopper-Pearson must reach the
 *    nominal level at every (n, p) of the grid, two-sided and one-sided.
 * 2. Simulation with a seeded generator (GSL's MT19937, seed 20261122): 20000 binomial draws
 *    per (n, p); the simulated coverage must be consistent with the exact one and not below
 *    nominal.  Both margins are 6 standard errors: for a correct implementation a false
 *    failure has probability < 2e-9 per cell, < 1e-7 over the grid (and the seed is fixed).
 * 3. The reason the conservative retry count uses exact bounds (docs/statistics.md): at
 *    flake-level rates Wilson and Jeffreys fall far below nominal for some p.  The minimum
 *    coverage over p in [1e-4, 1e-2] at n = 1000 (measured: Wilson 0.838, Jeffreys 0.898) must
 *    be below 0.90 and 0.92 (Brown, Cai & DasGupta 2001 show the same dips near p ~ 1/n), and
 *    at least 0.95 for exact (measured 0.957).
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Bounds for every k of n; the caller frees. */
static fm_interval *all_intervals(uint64_t n, double c, fm_ci_method m, fm_ci_sided sided)
{
    fm_interval *ci = calloc(n + 1, sizeof *ci);
    for (uint64_t k = 0; k <= n; k++) {
        fm_stats_status st = fm_stats_interval(k, n, c, m, sided, &ci[k]);
        CHECK(st == FM_STATS_OK, "interval k=%llu n=%llu", (unsigned long long)k,
              (unsigned long long)n);
    }
    return ci;
}

static double exact_coverage(const fm_interval *ci, uint64_t n, double p)
{
    double cov = 0;
    for (uint64_t k = 0; k <= n; k++)
        if (ci[k].lower <= p && p <= ci[k].upper)
            cov += gsl_ran_binomial_pdf((unsigned)k, p, (unsigned)n);
    return cov;
}

static const uint64_t ns[] = {10, 30, 100, 300, 1000};
static const double ps[] = {0.001, 0.005, 0.01, 0.03, 0.1, 0.25, 0.5, 0.8};
static const double levels[] = {0.9, 0.95, 0.99};

static void test_exact_coverage(void)
{
    for (size_t ni = 0; ni < LEN(ns); ni++)
        for (size_t ci = 0; ci < LEN(levels); ci++)
            for (int sided = 0; sided < 2; sided++) {
                fm_interval *iv = all_intervals(ns[ni], levels[ci], FM_CI_EXACT,
                                                sided ? FM_CI_UPPER : FM_CI_TWO_SIDED);
                for (size_t pi = 0; pi < LEN(ps); pi++) {
                    double cov = exact_coverage(iv, ns[ni], ps[pi]);
                    CHECK(cov >= levels[ci] - 1e-12, "exact %s n=%llu p=%g c=%g: coverage %.6f",
                          sided ? "upper" : "two", (unsigned long long)ns[ni], ps[pi], levels[ci],
                          cov);
                }
                free(iv);
            }
}

static void test_simulated_coverage(void)
{
    const int draws = 20000;
    const double c = 0.95, se = sqrt(c * (1 - c) / draws);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261122);
    for (size_t ni = 0; ni < LEN(ns); ni++) {
        fm_interval *iv = all_intervals(ns[ni], c, FM_CI_EXACT, FM_CI_TWO_SIDED);
        for (size_t pi = 0; pi < LEN(ps); pi++) {
            int covered = 0;
            for (int i = 0; i < draws; i++) {
                unsigned k = gsl_ran_binomial(rng, ps[pi], (unsigned)ns[ni]);
                covered += iv[k].lower <= ps[pi] && ps[pi] <= iv[k].upper;
            }
            double sim = (double)covered / draws, exact = exact_coverage(iv, ns[ni], ps[pi]);
            double se_exact = sqrt(exact * (1 - exact) / draws) + 1e-12;
            CHECK(sim >= c - 6 * se && fabs(sim - exact) <= 6 * se_exact,
                  "n=%llu p=%g: simulated coverage %.4f, exact %.4f", (unsigned long long)ns[ni],
                  ps[pi], sim, exact);
        }
        free(iv);
    }
    gsl_rng_free(rng);
}

/* Minimum coverage over a fine grid of small p at n = 1000, 95%. */
static double min_coverage(fm_ci_method m)
{
    const uint64_t n = 1000;
    fm_interval *iv = all_intervals(n, 0.95, m, FM_CI_TWO_SIDED);
    double lowest = 1;
    for (double p = 1e-4; p <= 1e-2; p *= 1.01) {
        double cov = exact_coverage(iv, n, p);
        lowest = cov < lowest ? cov : lowest;
    }
    free(iv);
    return lowest;
}

static void test_small_rate_undercoverage(void)
{
    double exact = min_coverage(FM_CI_EXACT), wilson = min_coverage(FM_CI_WILSON);
    double jeffreys = min_coverage(FM_CI_JEFFREYS), wald = min_coverage(FM_CI_WALD);
    printf("min coverage, n=1000, p in [1e-4, 1e-2], nominal 95%%: exact %.4f, wilson %.4f, "
           "jeffreys %.4f, wald %.4f\n",
           exact, wilson, jeffreys, wald);
    CHECK(exact >= 0.95, "exact min coverage %.4f", exact);
    CHECK(wilson < 0.90, "wilson min coverage %.4f: docs claim a dip", wilson);
    CHECK(jeffreys < 0.92, "jeffreys min coverage %.4f: docs claim a dip", jeffreys);
    CHECK(wald < 0.5, "wald min coverage %.4f: docs call it a bad example", wald);
}

int main(void)
{
    test_exact_coverage();
    test_simulated_coverage();
    test_small_rate_undercoverage();
    return fm_test_report("test_stats_coverage");
}
