/*
 * test_stats_seq.c - the anytime-valid confidence sequence (Robbins' beta-binomial mixture) and
 * the `--until-decided` rule built on it.
 *
 * 1. Reference: bounds against R 4.2.2 (uniroot on the log mixture ratio written with lbeta and
 *    log1p; tests/reference/gen_seq_chain.R -> cs_r.csv), k = 0, k = n and between, n up to
 *    1e9, three priors, c from 0.5 to 0.999999: 1e-9 relative.
 * 2. Properties: the log ratio equals ln(1/(1-c)) at both bounds, the interval holds k/n, it
 *    widens with c, and it is wider than the fixed-n exact interval (the price of anytime
 *    validity); domain errors.
 * 3. Anytime coverage by seeded simulation (MT19937): for true p from 0.001 to 0.5, sequences
 *    of 2000 runs, watched after every run.  The fraction of sequences that the confidence
 *    sequence ever excludes p from must be <= alpha + 6 standard errors; the fixed-n exact
 *    (Clopper-Pearson) interval, watched the same way, must exclude p in more than alpha + 6
 *    standard errors of them for p >= 0.01 - the reason the runner needs the sequence.  For a
 *    correct implementation a false failure of the first needs a 6-sigma excursion (< 1e-9).
 * 4. Decisions: with p inside a step of the attempt count (p = 0.08 and 0.02 at target 1e-6,
 *    p = 0.2 at 1e-3) every simulated sequence decides within a bounded number of runs and the
 *    decided count is the true p's in >= 1 - alpha of them; with p on a step (p = 0.1, target
 *    1e-6: 0.1^6 = 1e-6) at most alpha + 6 standard errors decide - the documented caveat.
 *    Median stopping n is printed.
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const double C = 0.95, ALPHA = 0.05;

/* ---- 1. reference table -------------------------------------------------------------------- */

static void test_reference(const char *dir)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/cs_r.csv", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (f == NULL)
        return;
    int rows = 0;
    CHECK(fgets(line, sizeof line, f) != NULL, "empty %s", path); /* header */
    while (fgets(line, sizeof line, f)) {
        double v[7];
        char *p = line;
        for (int i = 0; i < 7; i++) {
            v[i] = strtod(p, &p);
            p += *p == ',';
        }
        uint64_t k = (uint64_t)v[0], n = (uint64_t)v[1];
        fm_interval cs;
        fm_stats_status st = fm_stats_cs_interval(k, n, v[2], v[3], v[4], &cs);
        CHECK(st == FM_STATS_OK && fm_test_close(cs.lower, v[5], 1e-9, 0) &&
                  fm_test_close(cs.upper, v[6], 1e-9, 0),
              "cs_r.csv row %d: k=%llu n=%llu c=%.17g prior (%g, %g): got [%.17g, %.17g], R "
              "says [%.17g, %.17g]",
              rows + 2, (unsigned long long)k, (unsigned long long)n, v[2], v[3], v[4], cs.lower,
              cs.upper, v[5], v[6]);
        rows++;
    }
    fclose(f);
    CHECK(rows >= 400, "only %d rows in cs_r.csv", rows);
}

/* ---- 2. properties ------------------------------------------------------------------------- */

/*
 * How far log M_n moves when its argument, a double, moves by 4 ulps: |d log M / dp| 4 ulp(p),
 * d log M / dp = (n-k)/(1-p) - k/p.  (A bound near 1 - 1e-11 is a double with 5e-6 relative
 * precision in 1 - p, and log M there is that sensitive.)
 */
static double rounding(uint64_t k, uint64_t n, double p)
{
    double slope = fabs((double)(n - k) / (1.0 - p) - (double)k / p);
    return slope * 4.0 * DBL_EPSILON * p;
}

static void test_properties(void)
{
    static const uint64_t kn[][2] = {{1, 1},    {1, 3},       {4, 10},         {17, 575},
                                     {0, 1000}, {999, 1000},  {2, 1000000},    {250000, 1000000},
                                     {3, 1e12}, {5e11, 1e12}, {1e12 - 1, 1e12}};
    static const double cs_levels[] = {0.5, 0.95, 0.999999};
    for (size_t i = 0; i < LEN(kn); i++) {
        uint64_t k = kn[i][0], n = kn[i][1];
        double ph = (double)k / (double)n;
        fm_interval prev = {ph, ph, ph}, cs, cp;
        for (size_t j = 0; j < LEN(cs_levels); j++) {
            double c = cs_levels[j], level = -log1p(-c), lr;
            CHECK(fm_stats_cs_interval(k, n, c, 0.5, 0.5, &cs) == FM_STATS_OK, "k=%llu n=%llu",
                  (unsigned long long)k, (unsigned long long)n);
            CHECK(cs.lower <= cs.estimate && cs.estimate <= cs.upper && cs.lower <= prev.lower &&
                      cs.upper >= prev.upper,
                  "k=%llu n=%llu c=%g: [%g, %g] around %g, previous level [%g, %g]",
                  (unsigned long long)k, (unsigned long long)n, c, cs.lower, cs.upper, cs.estimate,
                  prev.lower, prev.upper);
            /* the bounds are where the mixture ratio reaches 1/alpha */
            if (k > 0) {
                fm_stats_cs_log_ratio(k, n, cs.lower, 0.5, 0.5, &lr);
                CHECK(fabs(lr - level) <= 1e-10 * level + rounding(k, n, cs.lower),
                      "k=%llu n=%llu c=%g: log ratio at lower %.17g is %.15g, want %.15g",
                      (unsigned long long)k, (unsigned long long)n, c, cs.lower, lr, level);
            }
            if (k < n) {
                fm_stats_cs_log_ratio(k, n, cs.upper, 0.5, 0.5, &lr);
                CHECK(fabs(lr - level) <= 1e-10 * level + rounding(k, n, cs.upper),
                      "k=%llu n=%llu c=%g: log ratio at upper %.17g is %.15g, want %.15g",
                      (unsigned long long)k, (unsigned long long)n, c, cs.upper, lr, level);
            }
            /* anytime validity costs width: the sequence holds the fixed-n exact interval */
            fm_stats_interval(k, n, c, FM_CI_EXACT, FM_CI_TWO_SIDED, &cp);
            CHECK(cs.lower <= cp.lower * (1 + 1e-12) && cs.upper >= cp.upper * (1 - 1e-12),
                  "k=%llu n=%llu c=%g: sequence [%g, %g] inside exact [%g, %g]",
                  (unsigned long long)k, (unsigned long long)n, c, cs.lower, cs.upper, cp.lower,
                  cp.upper);
            prev = cs;
        }
    }
    fm_interval cs;
    double lr;
    fm_cs_decision d;
    CHECK(fm_stats_cs_interval(0, 0, C, 0.5, 0.5, &cs) == FM_STATS_EDOM, "n = 0");
    CHECK(fm_stats_cs_interval(3, 2, C, 0.5, 0.5, &cs) == FM_STATS_EDOM, "k > n");
    CHECK(fm_stats_cs_interval(1, 2, 1.0, 0.5, 0.5, &cs) == FM_STATS_EDOM, "c = 1");
    CHECK(fm_stats_cs_interval(1, 2, C, 0.0, 0.5, &cs) == FM_STATS_EDOM, "a = 0");
    CHECK(fm_stats_cs_log_ratio(1, 2, 1.5, 0.5, 0.5, &lr) == FM_STATS_EDOM, "p = 1.5");
    CHECK(fm_stats_cs_decide(1, 2, C, 1.0, 0.5, 0.5, &d) == FM_STATS_EDOM, "target = 1");
    CHECK(fm_stats_cs_log_ratio(1, 2, 0.0, 0.5, 0.5, &lr) == FM_STATS_OK && isinf(lr),
          "p = 0 after a failure is out for good: %g", lr);
}

/* ---- 3. anytime coverage ------------------------------------------------------------------- */

enum { SEQ_RUNS = 2000, SEQUENCES = 1000 };

/*
 * The fixed-n exact interval excludes p after k of n iff P(X >= k) <= alpha/2 (p below its
 * lower bound) or P(X <= k) <= alpha/2 (above its upper bound).  kmin[n]..kmax[n] are the k
 * that keep p; both only grow with n, so they are found in one sweep.
 */
static void exact_acceptance(double p, int *kmin, int *kmax)
{
    int lo = 0, hi = 0;
    for (int n = 1; n <= SEQ_RUNS; n++) {
        while (hi < n && gsl_cdf_binomial_Q((unsigned)hi, p, (unsigned)n) > ALPHA / 2)
            hi++; /* P(X >= hi + 1) > alpha/2: hi + 1 keeps p */
        while (gsl_cdf_binomial_P((unsigned)lo, p, (unsigned)n) <= ALPHA / 2)
            lo++;
        kmin[n] = lo;
        kmax[n] = hi;
    }
}

/* The acceptance region must be what fm_stats_interval says at a few n. */
static void check_acceptance(double p, const int *kmin, const int *kmax)
{
    static const int at[] = {10, 200, SEQ_RUNS};
    for (size_t i = 0; i < LEN(at); i++) {
        int n = at[i];
        fm_interval in_lo, in_hi, out_hi;
        fm_stats_interval((uint64_t)kmin[n], (uint64_t)n, C, FM_CI_EXACT, FM_CI_TWO_SIDED, &in_lo);
        fm_stats_interval((uint64_t)kmax[n], (uint64_t)n, C, FM_CI_EXACT, FM_CI_TWO_SIDED, &in_hi);
        fm_stats_interval((uint64_t)kmax[n] + 1, (uint64_t)n, C, FM_CI_EXACT, FM_CI_TWO_SIDED,
                          &out_hi);
        CHECK(in_lo.upper >= p && in_hi.lower <= p && out_hi.lower > p,
              "p=%g n=%d: acceptance %d..%d disagrees with fm_stats_interval", p, n, kmin[n],
              kmax[n]);
        if (kmin[n] > 0) {
            fm_interval out_lo;
            fm_stats_interval((uint64_t)kmin[n] - 1, (uint64_t)n, C, FM_CI_EXACT, FM_CI_TWO_SIDED,
                              &out_lo);
            CHECK(out_lo.upper < p, "p=%g n=%d: k=%d should exclude p", p, n, kmin[n] - 1);
        }
    }
}

static void test_anytime_coverage(void)
{
    static const double ps[] = {0.001, 0.01, 0.05, 0.1, 0.3, 0.5};
    const double se = sqrt(ALPHA * (1 - ALPHA) / SEQUENCES), level = -log1p(-C);
    int *kmin = calloc(SEQ_RUNS + 1, sizeof *kmin), *kmax = calloc(SEQ_RUNS + 1, sizeof *kmax);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261123);
    for (size_t i = 0; i < LEN(ps); i++) {
        double p = ps[i];
        exact_acceptance(p, kmin, kmax);
        check_acceptance(p, kmin, kmax);
        int cs_missed = 0, exact_missed = 0;
        for (int s = 0; s < SEQUENCES; s++) {
            bool cs_out = false, exact_out = false;
            uint64_t k = 0;
            for (int n = 1; n <= SEQ_RUNS && !(cs_out && exact_out); n++) {
                k += gsl_rng_uniform(rng) < p;
                exact_out |= (int)k < kmin[n] || (int)k > kmax[n];
                if (!cs_out) {
                    double lr;
                    fm_stats_cs_log_ratio(k, (uint64_t)n, p, FM_STATS_CS_PRIOR_A,
                                          FM_STATS_CS_PRIOR_B, &lr);
                    cs_out = lr >= level;
                    if (n % 199 == 0 || cs_out) { /* the interval must say the same */
                        fm_interval cs;
                        fm_stats_cs_interval(k, (uint64_t)n, C, FM_STATS_CS_PRIOR_A,
                                             FM_STATS_CS_PRIOR_B, &cs);
                        CHECK(cs_out == !(cs.lower < p && p < cs.upper),
                              "p=%g k=%llu n=%d: log ratio %g vs [%g, %g]", p,
                              (unsigned long long)k, n, lr, cs.lower, cs.upper);
                    }
                }
            }
            cs_missed += cs_out;
            exact_missed += exact_out;
        }
        double cs_rate = (double)cs_missed / SEQUENCES, ex_rate = (double)exact_missed / SEQUENCES;
        printf("p=%-5g watched after every run up to n=%d: ever excluded by the confidence "
               "sequence %.3f, by the fixed-n exact interval %.3f (alpha %.2f)\n",
               p, SEQ_RUNS, cs_rate, ex_rate, ALPHA);
        CHECK(cs_rate <= ALPHA + 6 * se, "p=%g: sequence missed p in %.3f", p, cs_rate);
        if (p >= 0.01)
            CHECK(ex_rate > ALPHA + 6 * se, "p=%g: exact interval missed p only in %.3f", p,
                  ex_rate);
    }
    gsl_rng_free(rng);
    free(kmin);
    free(kmax);
}

/* ---- 4. decisions -------------------------------------------------------------------------- */

/* The runner decides after batches; any stopping rule keeps the guarantee.  Here: every run up
   to 100, then every n/100 runs (1 % steps). */
static bool check_now(uint64_t n)
{
    return n <= 100 || n % (n / 100) == 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

enum { DECIDE_SEQUENCES = 200 };

struct decide_case {
    double p, target;
    uint64_t max_runs; /* every sequence must decide by then (when p is inside a step) */
    bool on_step;      /* p^A = target exactly: the caveat case */
};

static void test_decisions(void)
{
    static const struct decide_case cases[] = {
        {0.08, 1e-6, 40000, false},
        {0.02, 1e-6, 40000, false},
        {0.2, 1e-3, 40000, false},
        {0.1, 1e-6, 20000, true},
    };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261124);
    uint64_t stops[DECIDE_SEQUENCES];
    const double se = sqrt(ALPHA * (1 - ALPHA) / DECIDE_SEQUENCES);
    for (size_t i = 0; i < LEN(cases); i++) {
        const struct decide_case *dc = &cases[i];
        fm_attempts truth;
        fm_stats_attempts_independent(dc->p, dc->target, &truth);
        int decided = 0, right = 0;
        for (int s = 0; s < DECIDE_SEQUENCES; s++) {
            uint64_t k = 0, n = 0;
            fm_cs_decision d = {0};
            while (n < dc->max_runs && !d.decided) {
                k += gsl_rng_uniform(rng) < dc->p;
                n++;
                if (check_now(n))
                    CHECK(fm_stats_cs_decide(k, n, C, dc->target, FM_STATS_CS_PRIOR_A,
                                             FM_STATS_CS_PRIOR_B, &d) == FM_STATS_OK,
                          "decide k=%llu n=%llu", (unsigned long long)k, (unsigned long long)n);
            }
            CHECK(d.at_lower.attempts <= d.at_upper.attempts, "ends out of order");
            stops[s] = n;
            decided += d.decided;
            right += d.decided && d.attempts.reachable && d.attempts.attempts == truth.attempts;
        }
        qsort(stops, DECIDE_SEQUENCES, sizeof stops[0], cmp_u64);
        printf("p=%g target=%g (true count %llu%s): %d/%d decided, %d with the true count; "
               "median stopping n %llu, max %llu\n",
               dc->p, dc->target, (unsigned long long)truth.attempts,
               dc->on_step ? ", p on a step" : "", decided, DECIDE_SEQUENCES, right,
               (unsigned long long)stops[DECIDE_SEQUENCES / 2],
               (unsigned long long)stops[DECIDE_SEQUENCES - 1]);
        if (dc->on_step) {
            /* deciding at all means the sequence left p: at most alpha of the time */
            CHECK((double)decided / DECIDE_SEQUENCES <= ALPHA + 6 * se,
                  "p=%g on a step: %d decided", dc->p, decided);
        } else {
            CHECK(decided == DECIDE_SEQUENCES, "p=%g: only %d decided by n=%llu", dc->p, decided,
                  (unsigned long long)dc->max_runs);
            CHECK(right >= (1 - ALPHA) * DECIDE_SEQUENCES, "p=%g: %d right", dc->p, right);
        }
    }
    gsl_rng_free(rng);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s REFERENCE_DIR\n", argv[0]);
        return 2;
    }
    test_reference(argv[1]);
    test_properties();
    test_anytime_coverage();
    test_decisions();
    return fm_test_report("test_stats_seq");
}
