/*
 * test_stats_properties.c - properties the statistics core must have whatever the numbers:
 * intervals nest as confidence grows; the conservative attempt count is at least the point
 * count; attempt counts are monotone in p and in the target; the beta CDF's two tails add up
 * to 1 and agree with GSL where GSL is accurate; the anchors people quote (Wine's 6 attempts
 * for 10% -> 1e-6, the rule of three) hold; bad arguments are refused, not computed.
 * Grids are fixed (no randomness), so the test is deterministic.
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

static const fm_ci_method methods[] = {FM_CI_EXACT, FM_CI_WILSON, FM_CI_JEFFREYS,
                                       FM_CI_AGRESTI_COULL, FM_CI_WALD};
static const uint64_t ns[] = {1, 2, 7, 50, 575, 10000, 1000000, 1000000000, 1000000000000};
static const double levels[] = {0.01, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.999999};
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The k values worth trying for n: the ends, small counts, and the middle. */
static int ks_for(uint64_t n, uint64_t *ks)
{
    uint64_t cand[] = {0, 1, 3, n / 2, n - 1, n};
    int m = 0;
    for (size_t i = 0; i < LEN(cand); i++)
        if (cand[i] <= n && (m == 0 || cand[i] > ks[m - 1]))
            ks[m++] = cand[i];
    return m;
}

static void test_nesting(void)
{
    for (size_t mi = 0; mi < LEN(methods); mi++)
        for (size_t ni = 0; ni < LEN(ns); ni++) {
            uint64_t ks[6];
            int nk = ks_for(ns[ni], ks);
            for (int ki = 0; ki < nk; ki++)
                for (int sided = 0; sided < 2; sided++) {
                    fm_interval prev = {0, 1, 0};
                    for (size_t ci = 0; ci < LEN(levels); ci++) {
                        fm_interval now;
                        fm_stats_status st =
                            fm_stats_interval(ks[ki], ns[ni], levels[ci], methods[mi],
                                              sided ? FM_CI_UPPER : FM_CI_TWO_SIDED, &now);
                        double slack = 1e-13 * now.upper;
                        CHECK(st == FM_STATS_OK && now.lower >= 0 && now.upper <= 1 &&
                                  now.lower <= now.upper + slack,
                              "%s k=%llu n=%llu c=%g: [%g, %g]", fm_stats_method_name(methods[mi]),
                              (unsigned long long)ks[ki], (unsigned long long)ns[ni], levels[ci],
                              now.lower, now.upper);
                        if (ci > 0)
                            CHECK(
                                now.lower <= prev.lower + slack && now.upper >= prev.upper - slack,
                                "%s %s k=%llu n=%llu: c=%g gives [%.17g, %.17g], not "
                                "containing c=%g's [%.17g, %.17g]",
                                fm_stats_method_name(methods[mi]), sided ? "upper" : "two",
                                (unsigned long long)ks[ki], (unsigned long long)ns[ni], levels[ci],
                                now.lower, now.upper, levels[ci - 1], prev.lower, prev.upper);
                        prev = now;
                    }
                }
        }
}

/* The exact bounds contain every other method's estimate k/n, and exact contains the MLE. */
static void test_exact_contains_estimate(void)
{
    for (size_t ni = 0; ni < LEN(ns); ni++) {
        uint64_t ks[6];
        int nk = ks_for(ns[ni], ks);
        for (int ki = 0; ki < nk; ki++) {
            fm_interval ci;
            fm_stats_interval(ks[ki], ns[ni], 0.95, FM_CI_EXACT, FM_CI_TWO_SIDED, &ci);
            CHECK(ci.lower <= ci.estimate && ci.estimate <= ci.upper, "k=%llu n=%llu",
                  (unsigned long long)ks[ki], (unsigned long long)ns[ni]);
        }
    }
}

static const double targets[] = {0.5, 0.1, 1e-3, 1e-6, 1e-9, 1e-12};

static void test_conservative_at_least_point(void)
{
    uint64_t cases[][2] = {{0, 10},   {1, 10},      {3, 50},         {17, 575}, {103, 575},
                           {1, 1000}, {0, 1000000}, {2, 1000000000}, {9, 10}};
    for (size_t i = 0; i < LEN(cases); i++)
        for (size_t ti = 0; ti < LEN(targets); ti++)
            for (size_t ci = 0; ci < LEN(levels); ci++) {
                fm_attempts_report r;
                fm_stats_status st = fm_stats_attempts_from_counts(
                    cases[i][0], cases[i][1], levels[ci], 0.5, 0.5, targets[ti], &r);
                CHECK(st == FM_STATS_OK && r.point.attempts.reachable &&
                          r.conservative.attempts.reachable &&
                          (levels[ci] < 0.5 ||
                           r.conservative.attempts.attempts >= r.point.attempts.attempts),
                      "k=%llu n=%llu t=%g c=%g: conservative %llu < point %llu",
                      (unsigned long long)cases[i][0], (unsigned long long)cases[i][1], targets[ti],
                      levels[ci], (unsigned long long)r.conservative.attempts.attempts,
                      (unsigned long long)r.point.attempts.attempts);
            }
}

static void test_monotone(void)
{
    /* Non-decreasing in p, non-increasing in the target. */
    for (size_t ti = 0; ti < LEN(targets); ti++) {
        uint64_t last = 0;
        for (double p = 0.0; p < 0.999; p += 0.0137) {
            fm_attempts a;
            CHECK(fm_stats_attempts_independent(p, targets[ti], &a) == FM_STATS_OK && a.reachable &&
                      a.attempts >= last,
                  "p=%g t=%g: %llu after %llu", p, targets[ti], (unsigned long long)a.attempts,
                  (unsigned long long)last);
            CHECK(a.residual <= targets[ti] * (1 + 1e-12), "residual %g above target %g",
                  a.residual, targets[ti]);
            last = a.attempts;
        }
    }
    for (double p = 0.01; p < 1; p += 0.07) {
        uint64_t last = 1;
        for (size_t ti = 0; ti < LEN(targets); ti++) {
            fm_attempts a;
            fm_stats_attempts_independent(p, targets[ti], &a);
            CHECK(a.attempts >= last, "p=%g: target %g needs %llu, fewer than %llu", p, targets[ti],
                  (unsigned long long)a.attempts, (unsigned long long)last);
            last = a.attempts;
            /* minimality: one attempt fewer misses the target */
            if (a.attempts > 1)
                CHECK(pow(p, (double)(a.attempts - 1)) > targets[ti] * (1 + 1e-12),
                      "p=%g t=%g: %llu attempts is not the smallest", p, targets[ti],
                      (unsigned long long)a.attempts);
        }
    }
    /* Bayes: more failures in the same runs never need fewer attempts. */
    for (size_t ti = 0; ti < LEN(targets); ti++) {
        uint64_t last = 0;
        for (uint64_t k = 0; k <= 40; k += 4) {
            fm_attempts a;
            CHECK(fm_stats_attempts_bayes(k, 200, 0.5, 0.5, targets[ti], &a) == FM_STATS_OK &&
                      a.attempts >= last,
                  "bayes k=%llu n=200 t=%g: %llu < %llu", (unsigned long long)k, targets[ti],
                  (unsigned long long)a.attempts, (unsigned long long)last);
            last = a.attempts;
        }
    }
}

static void test_anchors(void)
{
    fm_attempts a;
    fm_stats_attempts_independent(0.1, 1e-6, &a);
    CHECK(a.reachable && a.attempts == 6, "Wine: 10%% -> 1e-6 needs 6, got %llu",
          (unsigned long long)a.attempts);
    fm_stats_attempts_independent(0.5, 0.25, &a);
    CHECK(a.attempts == 2, "0.5 -> 0.25 needs 2, got %llu", (unsigned long long)a.attempts);
    fm_stats_attempts_independent(0.0, 1e-9, &a);
    CHECK(a.attempts == 1 && a.residual == 0, "p = 0 needs one attempt");
    fm_stats_attempts_independent(1.0, 0.5, &a);
    CHECK(!a.reachable && a.attempts == 0, "p = 1 is unreachable");
    fm_stats_attempts_correlated(0.3, 1.0, 1e-6, &a);
    CHECK(!a.reachable, "q = 1 is unreachable");
    fm_stats_attempts_correlated(1e-7, 1.0, 1e-6, &a);
    CHECK(a.reachable && a.attempts == 1, "p1 below target needs one attempt even at q = 1");
    fm_stats_attempts_correlated(0.3, 0.0, 1e-6, &a);
    CHECK(a.reachable && a.attempts == 2 && a.residual == 0, "q = 0: two attempts");
    fm_stats_attempts_correlated(0.2, 1 - 1e-15, 1e-6, &a);
    CHECK(!a.reachable, "q = 1 - 1e-15 needs ~1.2e16 attempts: beyond 2^53, unreachable");
    /* Bayes at k = n needs a huge count (E[p^A] ~ A^-1/2) but must answer, not loop. */
    CHECK(fm_stats_attempts_bayes(10, 10, 0.5, 0.5, 1e-6, &a) == FM_STATS_OK && a.reachable &&
              a.attempts > 1000000000,
          "bayes k=n=10: %llu", (unsigned long long)a.attempts);
    /* Rule of three: p0 = 1%, 0 failures, 95% -> 299 runs; n p0 -> -ln 0.05 = 2.996. */
    uint64_t runs;
    fm_stats_plan_runs(0.01, 0, 0.95, &runs);
    CHECK(runs == 299, "rule of three: %llu", (unsigned long long)runs);
    fm_stats_plan_runs(1e-6, 0, 0.95, &runs);
    CHECK(fabs((double)runs * 1e-6 + log(0.05)) < 1e-5, "rule of three at 1e-6: %llu",
          (unsigned long long)runs);
    fm_stats_plan_runs(0.5, 0, 0.75, &runs);
    CHECK(runs == 2, "tie: 0.5^2 = 0.25 = 1 - 0.75 gives 2, got %llu", (unsigned long long)runs);
}

static void test_moments_and_costs(void)
{
    /* The product and the log-beta forms of E[p^A] agree across their switch-over. */
    for (uint64_t order = 60; order <= 70; order++) {
        long double prod = 1;
        for (uint64_t i = 0; i < order; i++)
            prod *= (3.5L + i) / (3.5L + 197.5L + i);
        double m;
        fm_stats_beta_moment(3.5, 197.5, order, &m);
        CHECK(fm_test_close(m, (double)prod, 1e-12, 0), "E[p^%llu]: %.17g vs %.17Lg",
              (unsigned long long)order, m, prod);
    }
    /* Huge policies use the closed form: E[attempts] = 1 + p1 / (1 - q) in the limit. */
    fm_policy_cost c;
    fm_stats_policy_cost(0.2, 0.5, (uint64_t)1 << 40, 1, 10, &c);
    CHECK(fm_test_close(c.expected_attempts, 1.4, 1e-14, 0) && c.residual == 0, "E[attempts] %.17g",
          c.expected_attempts);
    /* Bayesian cost: the closed form (beyond 1e7 terms) continues the summed one. */
    fm_policy_cost small, big;
    fm_stats_policy_cost_bayes(2.5, 50.5, 10000000, 1, 1, &small);
    fm_stats_policy_cost_bayes(2.5, 50.5, 10000001, 1, 1, &big);
    CHECK(fm_test_close(small.expected_attempts, big.expected_attempts, 1e-12, 0),
          "bayes E[attempts] %.17g vs %.17g", small.expected_attempts, big.expected_attempts);
}

static void test_beta_cdf(void)
{
    const double params[] = {0.5, 1, 2.5, 4, 30, 1000.5, 1e5 - 1, 1e9, 1e12};
    for (size_t i = 0; i < LEN(params); i++)
        for (size_t j = 0; j < LEN(params); j++)
            for (double u = 0.02; u < 1; u += 0.08) {
                double a = params[i], b = params[j];
                /* a point in the bulk: the u-quantile of a normal approximation, clipped */
                double mean = a / (a + b), sd = sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)));
                double x = mean + sd * gsl_cdf_ugaussian_Pinv(u);
                if (x <= 0 || x >= 1)
                    continue;
                double lo, up;
                CHECK(fm_stats_beta_cdf(x, a, b, false, &lo) == FM_STATS_OK &&
                          fm_stats_beta_cdf(x, a, b, true, &up) == FM_STATS_OK &&
                          fabs(lo + up - 1) < 1e-14,
                      "a=%g b=%g x=%g: P %.17g + Q %.17g", a, b, x, lo, up);
                if (a < 1e3 && b < 1e3) /* GSL's own continued fraction is accurate here */
                    CHECK(fm_test_close(lo, gsl_cdf_beta_P(x, a, b), 1e-11, 1e-15),
                          "a=%g b=%g x=%g: %.17g vs GSL %.17g", a, b, x, lo,
                          gsl_cdf_beta_P(x, a, b));
            }
}

static void test_domain(void)
{
    fm_interval ci;
    fm_attempts a;
    uint64_t runs;
    double nan = NAN;
    CHECK(fm_stats_interval(5, 4, 0.95, FM_CI_EXACT, FM_CI_TWO_SIDED, &ci) == FM_STATS_EDOM,
          "k > n");
    CHECK(fm_stats_interval(0, 0, 0.95, FM_CI_EXACT, FM_CI_TWO_SIDED, &ci) == FM_STATS_EDOM,
          "n = 0");
    CHECK(fm_stats_interval(1, 4, 1.0, FM_CI_EXACT, FM_CI_TWO_SIDED, &ci) == FM_STATS_EDOM,
          "c = 1");
    CHECK(fm_stats_interval(1, 4, nan, FM_CI_EXACT, FM_CI_TWO_SIDED, &ci) == FM_STATS_EDOM,
          "c = NaN");
    CHECK(fm_stats_interval(1, 4, 0.9, (fm_ci_method)99, FM_CI_TWO_SIDED, &ci) == FM_STATS_EDOM,
          "method");
    CHECK(fm_stats_attempts_independent(1.5, 1e-6, &a) == FM_STATS_EDOM, "p > 1");
    CHECK(fm_stats_attempts_independent(0.1, 0.0, &a) == FM_STATS_EDOM, "target 0");
    CHECK(fm_stats_attempts_independent(0.1, 1.0, &a) == FM_STATS_EDOM, "target 1");
    CHECK(fm_stats_attempts_correlated(0.1, nan, 1e-3, &a) == FM_STATS_EDOM, "q NaN");
    CHECK(fm_stats_plan_runs(0.0, 0, 0.95, &runs) == FM_STATS_EDOM, "p0 = 0");
    CHECK(fm_stats_plan_runs(1e-300, 0, 0.95, &runs) == FM_STATS_EDOM, "past 2^53 runs");
    fm_ci_method m;
    CHECK(fm_stats_method_parse("clopper", &m) == FM_STATS_EDOM, "unknown method name");
}

int main(void)
{
    test_nesting();
    test_exact_contains_estimate();
    test_conservative_at_least_point();
    test_monotone();
    test_anchors();
    test_moments_and_costs();
    test_beta_cdf();
    test_domain();
    return fm_test_report("test_stats_properties");
}
