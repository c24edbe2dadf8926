/*
 * test_stats_blaker.c - Blaker's exact two-sided interval (FM_CI_BLAKER): the properties
 * Blaker (2000, Can. J. Statist. 28:783-798) proves, checked without randomness.  The values
 * themselves are checked against 60-digit enumeration in test_stats_reference.
 *
 * 1. Coverage >= c exactly: sum_k P(K = k | n, p) [lower(k) <= p <= upper(k)] for n up to 300,
 *    at 400 p's per (n, c) and just inside and outside every bound (where coverage jumps).
 * 2. Inside Clopper-Pearson at the same c, and nested in c, for n up to 10^12.
 * 3. 3 failures in 100 at 95 %: 7.1 % narrower than Clopper-Pearson (docs/statistics.md, sec. 1).
 * 4. Edges: k = 0 (lower 0), k = n (upper 1), n = 1 (0 of 1: [0, 1 - alpha)), one-sided requests
 *    (the Clopper-Pearson bound), c < 1/2 refused, n = 10^6 .. 10^12 quickly, and
 *    min(k, n - k) > 10^11 refused with FM_STATS_ETOOBIG (the documented limit).
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_randist.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static fm_interval blaker(uint64_t k, uint64_t n, double c)
{
    fm_interval ci = {0, 0, 0};
    fm_stats_status st = fm_stats_interval(k, n, c, FM_CI_BLAKER, FM_CI_TWO_SIDED, &ci);
    CHECK(st == FM_STATS_OK, "blaker k=%llu n=%llu c=%g: status %d", (unsigned long long)k,
          (unsigned long long)n, c, st);
    return ci;
}

static double coverage(const fm_interval *ci, uint64_t n, double p)
{
    double cov = 0;
    for (uint64_t k = 0; k <= n; k++)
        if (ci[k].lower <= p && p <= ci[k].upper)
            cov += gsl_ran_binomial_pdf((unsigned)k, p, (unsigned)n);
    return cov;
}

static void test_coverage(void)
{
    static const uint64_t ns[] = {1, 2, 3, 5, 10, 20, 50, 100, 300};
    static const double levels[] = {0.5, 0.9, 0.95, 0.99};
    double worst_margin = 1;
    long points = 0;
    for (size_t ni = 0; ni < LEN(ns); ni++)
        for (size_t li = 0; li < LEN(levels); li++) {
            uint64_t n = ns[ni];
            double c = levels[li];
            fm_interval *ci = calloc(n + 1, sizeof *ci);
            for (uint64_t k = 0; k <= n; k++)
                ci[k] = blaker(k, n, c);
            /* a grid, and both sides of every bound (coverage is lowest just outside one) */
            size_t np = 400 + 4 * (n + 1), m = 0;
            double *ps = malloc(np * sizeof *ps);
            for (int i = 1; i <= 399; i++)
                ps[m++] = i / 400.0;
            for (uint64_t k = 0; k <= n; k++) {
                double e[2] = {ci[k].lower, ci[k].upper};
                for (int j = 0; j < 2; j++) {
                    if (e[j] * (1 - 1e-9) > 0)
                        ps[m++] = e[j] * (1 - 1e-9);
                    if (e[j] * (1 + 1e-9) < 1)
                        ps[m++] = e[j] * (1 + 1e-9);
                }
            }
            for (size_t i = 0; i < m; i++) {
                double cov = coverage(ci, n, ps[i]);
                worst_margin = fmin(worst_margin, cov - c);
                points++;
                CHECK(cov >= c - 1e-12, "n=%llu c=%g p=%.17g: coverage %.15f",
                      (unsigned long long)n, c, ps[i], cov);
            }
            free(ps);
            free(ci);
        }
    printf("coverage: %ld (n, c, p) points, smallest coverage - c = %.3g\n", points, worst_margin);
}

static void test_inside_and_nested(void)
{
    static const uint64_t ns[] = {1, 2, 7, 50, 575, 10000, 1000000, 1000000000, 1000000000000};
    static const double levels[] = {0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.999999};
    for (size_t ni = 0; ni < LEN(ns); ni++) {
        uint64_t n = ns[ni], ks[] = {0, 1, 3, n / 3, n / 2, n - 1, n};
        for (size_t ki = 0; ki < LEN(ks); ki++) {
            uint64_t k = ks[ki];
            if (k > n)
                continue;
            fm_interval prev = {0, 1, 0};
            for (size_t li = 0; li < LEN(levels); li++) {
                double c = levels[li];
                if (k > 100000000000 && n - k > 100000000000) {
                    fm_interval no;
                    CHECK(fm_stats_interval(k, n, c, FM_CI_BLAKER, FM_CI_TWO_SIDED, &no) ==
                              FM_STATS_ETOOBIG,
                          "k=%llu n=%llu: beyond the documented limit", (unsigned long long)k,
                          (unsigned long long)n);
                    continue;
                }
                fm_interval b = blaker(k, n, c), cp;
                fm_stats_interval(k, n, c, FM_CI_EXACT, FM_CI_TWO_SIDED, &cp);
                double slack = 1e-13 * b.upper;
                CHECK(b.estimate == cp.estimate && b.lower <= b.estimate && b.estimate <= b.upper &&
                          cp.lower <= b.lower + slack && b.upper <= cp.upper + slack,
                      "k=%llu n=%llu c=%g: blaker [%.17g, %.17g] not inside exact [%.17g, %.17g]",
                      (unsigned long long)k, (unsigned long long)n, c, b.lower, b.upper, cp.lower,
                      cp.upper);
                CHECK(li == 0 || (b.lower <= prev.lower + slack && b.upper >= prev.upper - slack),
                      "k=%llu n=%llu: c=%g gives [%.17g, %.17g], not containing [%.17g, %.17g]",
                      (unsigned long long)k, (unsigned long long)n, c, b.lower, b.upper, prev.lower,
                      prev.upper);
                prev = b;
            }
        }
    }
}

static void test_narrower(void)
{
    fm_interval b = blaker(3, 100, 0.95), cp;
    fm_stats_interval(3, 100, 0.95, FM_CI_EXACT, FM_CI_TWO_SIDED, &cp);
    double ratio = (b.upper - b.lower) / (cp.upper - cp.lower);
    printf("3/100 at 95%%: blaker [%.5f, %.5f], exact [%.5f, %.5f]: %.1f %% narrower\n", b.lower,
           b.upper, cp.lower, cp.upper, 100 * (1 - ratio));
    CHECK(ratio > 0.925 && ratio < 0.935, "width ratio %.4f", ratio);
}

static void test_edges(void)
{
    fm_interval ci = blaker(0, 1, 0.95);
    CHECK(ci.lower == 0 && fm_test_close(ci.upper, 0.95, 1e-14, 0), "0 of 1: [%g, %.17g]", ci.lower,
          ci.upper);
    ci = blaker(1, 1, 0.95);
    CHECK(fm_test_close(ci.lower, 0.05, 1e-13, 0) && ci.upper == 1, "1 of 1: [%.17g, %g]", ci.lower,
          ci.upper);
    ci = blaker(0, 30, 0.9);
    CHECK(ci.lower == 0 && ci.upper > 0 && ci.estimate == 0, "k = 0");
    ci = blaker(30, 30, 0.9);
    CHECK(ci.upper == 1 && ci.lower < 1 && ci.estimate == 1, "k = n");
    /* one-sided: Blaker's construction with one tail is Clopper-Pearson's bound */
    fm_interval up, cp;
    static const uint64_t ks[] = {0, 3, 57};
    for (size_t i = 0; i < LEN(ks); i++) {
        CHECK(fm_stats_interval(ks[i], 100, 0.95, FM_CI_BLAKER, FM_CI_UPPER, &up) == FM_STATS_OK &&
                  fm_stats_interval(ks[i], 100, 0.95, FM_CI_EXACT, FM_CI_UPPER, &cp) ==
                      FM_STATS_OK &&
                  up.lower == 0 && up.upper == cp.upper,
              "one-sided k=%llu: %.17g vs exact %.17g", (unsigned long long)ks[i], up.upper,
              cp.upper);
    }
    CHECK(fm_stats_interval(3, 100, 0.3, FM_CI_BLAKER, FM_CI_TWO_SIDED, &ci) == FM_STATS_EDOM,
          "c < 1/2 two-sided must be refused");
    CHECK(fm_stats_interval(3, 100, 0.3, FM_CI_BLAKER, FM_CI_UPPER, &ci) == FM_STATS_OK,
          "c < 1/2 one-sided is Clopper-Pearson");
    fm_ci_method m;
    CHECK(fm_stats_method_parse("blaker", &m) == FM_STATS_OK && m == FM_CI_BLAKER &&
              strcmp(fm_stats_method_name(FM_CI_BLAKER), "blaker") == 0,
          "name");
    /* large n: every bound in well under a second */
    static const uint64_t big[][2] = {{0, 1000000},        {3, 1000000},
                                      {500000, 1000000},   {999999, 1000000},
                                      {12345, 1000000000}, {100000000000, 1000000000000}};
    for (size_t i = 0; i < LEN(big); i++) {
        clock_t t0 = clock();
        ci = blaker(big[i][0], big[i][1], 0.95);
        double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
        CHECK(s < 1.0 && ci.lower <= ci.estimate && ci.estimate <= ci.upper,
              "k=%llu n=%llu: %.3f s", (unsigned long long)big[i][0], (unsigned long long)big[i][1],
              s);
    }
}

int main(void)
{
    test_coverage();
    test_inside_and_nested();
    test_narrower();
    test_edges();
    return fm_test_report("test_stats_blaker");
}
