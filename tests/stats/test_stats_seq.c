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
 *    decided count is the true p's in >= 1 - alpha of them; p = 0.1 at 1e-6 (0.1^6 = 1e-6) sits on
 *    a step.
 *    Median stopping n is printed.  Since the indifference zone (ends at most one apart decide,
 *    the larger count reported) every case decides, the on-step ones (p = 0.1 at 1e-6, 0.5 at
 *    0.125) included, with the true count or one above in >= 1 - alpha of the sequences.
 * 5. The boundary rule's evidence against exact fractions (tests/reference/gen_seq_boundary.py
 *    -> seq_evidence_py.csv), 1e-10 relative.
 * 6. Its boundaries (b_j^j = target), windows, domain errors, and the decision's scan (with its
 *    shortcut) against every window evaluated.
 * 7. Each boundary test at the worst p (on the boundary): ever rejected, watched after every run
 *    of 2000 (2000 sequences), in at most the binomial limit for alpha/2 that a correct test
 *    exceeds with probability < 1e-6.
 * 8. fm_stats_seq_runs_needed (the message at --until-decided's run cap): the N it returns stops
 *    (decided or indifferent at the estimate's failures) and N - 1 does not (unless N = n), N is
 *    at least n, it is n when the counts already stop, and domain errors.
 * 8. Steps: p = 0.1 at 1e-6 and 0.5 at 0.125, and a hair above each (the worst case for
 *    reporting too few), 1000 seeded campaigns per rule: all decide, and "below the true count"
 *    stays within the binomial limit for alpha (false failure < 1e-6).
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
        {0.08, 1e-6, 40000, false}, {0.02, 1e-6, 40000, false}, {0.2, 1e-3, 40000, false},
        {0.1, 1e-6, 20000, true},   {0.5, 0.125, 20000, true},
    };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261124);
    uint64_t stops[DECIDE_SEQUENCES];
    for (size_t i = 0; i < LEN(cases); i++) {
        const struct decide_case *dc = &cases[i];
        fm_attempts truth;
        fm_stats_attempts_independent(dc->p, dc->target, &truth);
        int decided = 0, exact = 0, plus_one = 0;
        for (int s = 0; s < DECIDE_SEQUENCES; s++) {
            uint64_t k = 0, n = 0;
            fm_cs_decision d = {0};
            while (n < dc->max_runs && !d.decided && !d.indifferent) {
                k += gsl_rng_uniform(rng) < dc->p;
                n++;
                if (check_now(n))
                    CHECK(fm_stats_cs_decide(k, n, C, dc->target, FM_STATS_CS_PRIOR_A,
                                             FM_STATS_CS_PRIOR_B, &d) == FM_STATS_OK,
                          "decide k=%llu n=%llu", (unsigned long long)k, (unsigned long long)n);
            }
            CHECK(d.at_lower.attempts <= d.at_upper.attempts, "ends out of order");
            CHECK(!(d.decided && d.indifferent) &&
                      (!d.indifferent || d.attempts.attempts == d.at_lower.attempts + 1),
                  "indifferent flag");
            d.decided |= d.indifferent; /* stopped by either */
            stops[s] = n;
            decided += d.decided;
            exact += d.decided && d.attempts.attempts == truth.attempts;
            plus_one += d.decided && d.attempts.attempts == truth.attempts + 1;
        }
        qsort(stops, DECIDE_SEQUENCES, sizeof stops[0], cmp_u64);
        printf("old rule, p=%g target=%g (true count %llu%s): %d/%d decided, %d with the true "
               "count, %d one above; median stopping n %llu, max %llu\n",
               dc->p, dc->target, (unsigned long long)truth.attempts,
               dc->on_step ? ", p on a step" : "", decided, DECIDE_SEQUENCES, exact, plus_one,
               (unsigned long long)stops[DECIDE_SEQUENCES / 2],
               (unsigned long long)stops[DECIDE_SEQUENCES - 1]);
        /* every p decides now (the indifference zone), and the count is the true one or one
           above in >= 1 - alpha of them */
        CHECK(decided == DECIDE_SEQUENCES, "p=%g: only %d decided by n=%llu", dc->p, decided,
              (unsigned long long)dc->max_runs);
        CHECK(exact + plus_one >= (1 - ALPHA) * DECIDE_SEQUENCES, "p=%g: %d + %d right", dc->p,
              exact, plus_one);
    }
    gsl_rng_free(rng);
}

/* ==== The boundary rule (fm_stats_seq_*) ===================================================== */

/* ---- 5. the evidence against exact fractions --------------------------------------------- */

/* tests/reference/gen_seq_boundary.py -> seq_evidence_py.csv: ln E from Python's fractions */
static void test_boundary_reference(const char *dir)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/seq_evidence_py.csv", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (f == NULL)
        return;
    int rows = 0;
    CHECK(fgets(line, sizeof line, f) != NULL, "empty %s", path);
    while (fgets(line, sizeof line, f)) {
        double v[6];
        char *p = line;
        for (int i = 0; i < 6; i++) {
            v[i] = strtod(p, &p);
            p += *p == ',';
        }
        double e;
        fm_stats_status st =
            fm_stats_seq_log_evidence((uint64_t)v[0], (uint64_t)v[1], v[2], v[3], v[4], &e);
        /* the C sum loses ~n ulps of each log term: 1e-11 relative to the size of the terms */
        CHECK(st == FM_STATS_OK && fm_test_close(e, v[5], 1e-10, 1e-11),
              "seq_evidence_py.csv row %d: k=%g n=%g theta=%.17g [%.17g, %.17g]: got %.17g, "
              "fractions say %.17g",
              rows + 2, v[0], v[1], v[2], v[3], v[4], e, v[5]);
        rows++;
    }
    fclose(f);
    CHECK(rows >= 300, "only %d rows in seq_evidence_py.csv", rows);
}

/* ---- 6. properties ----------------------------------------------------------------------- */

/* The decision's scan (with its shortcut past the last window checked) against the plain
   definition: every window from j up to 600 evaluated. */
static void brute_bounds(uint64_t k, uint64_t n, double c, double target, uint64_t *at_least,
                         uint64_t *at_most)
{
    const double thr = log(2.0 / (1.0 - c));
    *at_least = 1;
    for (uint64_t j = 1; j <= 600; j++) {
        double b, lo, hi, e = -INFINITY;
        fm_stats_seq_boundary(target, j, &b, &lo, &hi);
        if (hi > b && (double)k / (double)n > b)
            fm_stats_seq_log_evidence(k, n, b, b, hi, &e);
        if (!(e >= thr))
            break;
        *at_least = j + 1;
    }
    *at_most = 0;
    for (uint64_t j = 600; j >= 1; j--) {
        double b, lo, hi, e = -INFINITY;
        fm_stats_seq_boundary(target, j, &b, &lo, &hi);
        if (b > lo && (double)k / (double)n < b)
            fm_stats_seq_log_evidence(k, n, b, lo, b, &e);
        if (!(e >= thr))
            break;
        *at_most = j;
    }
}

static void test_boundary_properties(void)
{
    static const double targets[] = {1e-6, 1e-3, 0.125, 1e-12};
    for (size_t t = 0; t < LEN(targets); t++)
        for (uint64_t j = 1; j <= 200; j++) {
            double b, lo, hi;
            CHECK(fm_stats_seq_boundary(targets[t], j, &b, &lo, &hi) == FM_STATS_OK, "boundary");
            /* b_j is the step: b^j = target */
            CHECK(fm_test_close(pow(b, (double)j), targets[t], 1e-13 * (double)j, 0),
                  "target %g j=%llu: b=%.17g, b^j=%.17g", targets[t], (unsigned long long)j, b,
                  pow(b, (double)j));
            CHECK(0 <= lo && lo < b && b < hi && hi <= 1, "target %g j=%llu: window %g %g %g",
                  targets[t], (unsigned long long)j, lo, b, hi);
        }
    static const uint64_t kn[][2] = {{0, 100},  {8, 100},  {80, 1000},  {100, 1000},
                                     {1, 3000}, {3, 3000}, {250, 2500}, {60, 300},
                                     {5, 5},    {0, 1},    {500, 1000}, {30, 100000}};
    static const double tg[] = {1e-6, 1e-3, 0.125};
    for (size_t i = 0; i < LEN(kn); i++)
        for (size_t t = 0; t < LEN(tg); t++) {
            fm_seq_decision d;
            uint64_t lo, hi;
            CHECK(fm_stats_seq_decide(kn[i][0], kn[i][1], 0.95, tg[t], &d) == FM_STATS_OK,
                  "decide");
            brute_bounds(kn[i][0], kn[i][1], 0.95, tg[t], &lo, &hi);
            CHECK(d.at_least == lo && d.at_most == hi,
                  "k=%llu n=%llu target %g: decide says [%llu, %llu], every window [%llu, %llu]",
                  (unsigned long long)kn[i][0], (unsigned long long)kn[i][1], tg[t],
                  (unsigned long long)d.at_least, (unsigned long long)d.at_most,
                  (unsigned long long)lo, (unsigned long long)hi);
            CHECK(d.decided + d.indifferent == (d.at_most != 0 && d.at_most <= d.at_least + 1),
                  "decided flag at k=%llu n=%llu", (unsigned long long)kn[i][0],
                  (unsigned long long)kn[i][1]);
        }
    /* at_least and at_most only grow with k (fm_stats_seq_update_range relies on it) */
    static const uint64_t mono_n[] = {20, 300, 2500};
    for (size_t i = 0; i < LEN(mono_n); i++)
        for (size_t t = 0; t < LEN(tg); t++) {
            uint64_t n = mono_n[i], prev_least = 0, prev_most = 0;
            for (uint64_t k = 0; k <= n; k += 1 + n / 300) {
                fm_seq_decision d;
                fm_stats_seq_decide(k, n, 0.95, tg[t], &d);
                uint64_t most = d.at_most ? d.at_most : UINT64_MAX;
                CHECK(d.at_least >= prev_least && most >= prev_most,
                      "n=%llu target %g: bounds fall at k=%llu", (unsigned long long)n, tg[t],
                      (unsigned long long)k);
                prev_least = d.at_least;
                prev_most = most;
            }
        }
    fm_seq_decision d, st = {0};
    CHECK(fm_stats_seq_update_range(8, 30, 300, 0.95, 1e-6, &st) == FM_STATS_OK &&
              fm_stats_seq_decide(8, 300, 0.95, 1e-6, &d) == FM_STATS_OK &&
              st.at_least == d.at_least,
          "update_range: at_least from k_low");
    CHECK(fm_stats_seq_decide(30, 300, 0.95, 1e-6, &d) == FM_STATS_OK && st.at_most == d.at_most,
          "update_range: at_most from k_high");
    CHECK(fm_stats_seq_update_range(9, 8, 300, 0.95, 1e-6, &st) == FM_STATS_EDOM, "k_low > k_high");
    double e, b, lo, hi;
    CHECK(fm_stats_seq_decide(1, 0, C, 1e-6, &d) == FM_STATS_EDOM, "n = 0");
    CHECK(fm_stats_seq_decide(3, 2, C, 1e-6, &d) == FM_STATS_EDOM, "k > n");
    CHECK(fm_stats_seq_decide(1, 2, C, 1.0, &d) == FM_STATS_EDOM, "target = 1");
    CHECK(fm_stats_seq_decide(1, 2, 1.0, 1e-6, &d) == FM_STATS_EDOM, "c = 1");
    CHECK(fm_stats_seq_log_evidence(1, 2, 0.5, 0.4, 0.6, &e) == FM_STATS_EDOM, "window across");
    CHECK(fm_stats_seq_log_evidence(1, 2, 0.5, 0.5, 0.4, &e) == FM_STATS_EDOM, "lo > hi");
    CHECK(fm_stats_seq_boundary(1e-6, 0, &b, &lo, &hi) == FM_STATS_EDOM, "j = 0");
    /* all runs failed: nothing bounds the count above; a count beyond the scan is "beyond" */
    CHECK(fm_stats_seq_decide(1000000, 1000000, C, 1e-6, &d) == FM_STATS_OK && d.beyond &&
              d.decided && !d.attempts.reachable && d.at_least > FM_STATS_SEQ_MAX_COUNT,
          "k = n = 1e6: beyond %d at_least %llu", d.beyond, (unsigned long long)d.at_least);
}

/* ---- 7. each boundary test is a supermartingale test: P(ever reject) <= alpha/2 ---------- */

/*
 * The largest number of failures of `trials` Bernoulli(rate) trials allowed before calling the
 * rate exceeded: P(X > limit) < 1e-6.  A correct implementation (true rate <= rate) then fails
 * the check with probability < 1e-6.
 */
static unsigned allowed(double rate, unsigned trials)
{
    unsigned m = 0;
    while (gsl_cdf_binomial_Q(m, rate, trials) >= 1e-6)
        m++;
    return m;
}

enum { MART_SEQUENCES = 2000, MART_RUNS = 2000 };

static void test_boundary_martingale(void)
{
    /* worst case of each side: the true p on the boundary itself */
    struct {
        double target;
        uint64_t j;
        bool below;
    } cases[] = {{1e-6, 6, true}, {1e-6, 6, false}, {1e-3, 2, true}, {0.125, 3, false}};
    const double thr = log(2.0 / ALPHA);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261125);
    unsigned limit = allowed(ALPHA / 2, MART_SEQUENCES);
    for (size_t i = 0; i < LEN(cases); i++) {
        double b, lo, hi, e;
        fm_stats_seq_boundary(cases[i].target, cases[i].j, &b, &lo, &hi);
        double wlo = cases[i].below ? lo : b, whi = cases[i].below ? b : hi;
        unsigned ever = 0;
        for (int s = 0; s < MART_SEQUENCES; s++) {
            uint64_t k = 0;
            for (uint64_t n = 1; n <= MART_RUNS; n++) {
                k += gsl_rng_uniform(rng) < b;
                fm_stats_seq_log_evidence(k, n, b, wlo, whi, &e);
                if (e >= thr) {
                    ever++;
                    break;
                }
            }
        }
        printf("boundary test at p = b_%llu = %g (target %g, window %s): ever rejected in %u of "
               "%d sequences of %d runs watched after every run (alpha/2 = %g; allowed %u)\n",
               (unsigned long long)cases[i].j, b, cases[i].target,
               cases[i].below ? "below" : "above", ever, MART_SEQUENCES, MART_RUNS, ALPHA / 2,
               limit);
        CHECK(ever <= limit, "b=%g: %u rejections", b, ever);
    }
    gsl_rng_free(rng);
}

/* ---- 8. steps: every p decides, and the reported count is never below the true one ------- */

enum { STEP_CAMPAIGNS = 1000 };

static void test_boundary_steps(void)
{
    /* p on a step (0.1^6 = 1e-6, 0.5^3 = 0.125: true counts 6 and 3) and a hair above it (true
       counts 7 and 4: the worst case for "reported below the true count") */
    static const struct {
        double p, target;
    } cases[] = {{0.1, 1e-6}, {0.5, 0.125}, {0.1 * (1 + 1e-9), 1e-6}, {0.5 * (1 + 1e-9), 0.125}};
    enum { CAP = 200000 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261126);
    unsigned limit = allowed(ALPHA, STEP_CAMPAIGNS);
    for (size_t i = 0; i < LEN(cases); i++) {
        fm_attempts truth;
        fm_stats_attempts_independent(cases[i].p, cases[i].target, &truth);
        const uint64_t A = truth.attempts;
        /* both rules, the same seeded data: 0 = Robbins (fm_stats_cs_decide), 1 = boundary
           rule (fm_stats_seq_update) */
        for (int rule = 0; rule < 2; rule++) {
            unsigned decided = 0, low = 0, high = 0;
            uint64_t stops[STEP_CAMPAIGNS];
            for (int s = 0; s < STEP_CAMPAIGNS; s++) {
                uint64_t k = 0, n = 0, count = 0;
                bool done = false;
                fm_seq_decision st = {0};
                while (!done && n < CAP) {
                    uint64_t m = n < 100 ? n + 1 : n + n / 100;
                    for (; n < m; n++)
                        k += gsl_rng_uniform(rng) < cases[i].p;
                    if (rule == 0) {
                        fm_cs_decision d;
                        fm_stats_cs_decide(k, n, C, cases[i].target, FM_STATS_CS_PRIOR_A,
                                           FM_STATS_CS_PRIOR_B, &d);
                        done = d.decided || d.indifferent;
                        count = d.attempts.attempts;
                    } else {
                        fm_stats_seq_update(k, n, C, cases[i].target, &st);
                        done = st.decided || st.indifferent;
                        count = st.attempts.attempts;
                    }
                }
                stops[s] = n;
                decided += done;
                low += done && count < A;
                high += done && count > A + 1;
            }
            qsort(stops, STEP_CAMPAIGNS, sizeof stops[0], cmp_u64);
            printf("%s rule, p=%.10g target=%g (true count %llu): %u/%d decided, %u below the "
                   "true count (allowed %u), %u more than one above; median stopping n %llu\n",
                   rule ? "boundary" : "Robbins", cases[i].p, cases[i].target,
                   (unsigned long long)A, decided, STEP_CAMPAIGNS, low, limit, high,
                   (unsigned long long)stops[STEP_CAMPAIGNS / 2]);
            CHECK(decided == STEP_CAMPAIGNS, "p=%g: %u decided", cases[i].p, decided);
            CHECK(low <= limit, "p=%g: %u below the true count", cases[i].p, low);
            CHECK(high <= limit, "p=%g: %u more than one above", cases[i].p, high);
        }
    }
    gsl_rng_free(rng);
}

static bool stops_at(double rate, uint64_t n, double c, double target)
{
    fm_seq_decision d;
    uint64_t k = (uint64_t)llround(rate * (double)n);
    return fm_stats_seq_decide(k, n, c, target, &d) == FM_STATS_OK && (d.decided || d.indifferent);
}

static void test_runs_needed(void)
{
    static const struct {
        uint64_t k, n;
        double c, target;
    } cases[] = {{0, 10, 0.95, 1e-6}, {10, 100, 0.95, 1e-6},  {3, 100, 0.95, 1e-6},
                 {1, 20, 0.99, 1e-3}, {50, 100, 0.95, 0.125}, {8, 100, 0.9, 1e-6}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t need = 0;
        double rate = (double)cases[i].k / (double)cases[i].n;
        CHECK(fm_stats_seq_runs_needed(cases[i].k, cases[i].n, cases[i].c, cases[i].target,
                                       &need) == FM_STATS_OK,
              "runs_needed status, case %zu", i);
        CHECK(need >= cases[i].n, "case %zu: needed %llu >= n", i, (unsigned long long)need);
        CHECK(stops_at(rate, need, cases[i].c, cases[i].target), "case %zu: stops at %llu", i,
              (unsigned long long)need);
        CHECK(need == cases[i].n || !stops_at(rate, need - 1, cases[i].c, cases[i].target),
              "case %zu: %llu - 1 does not stop", i, (unsigned long long)need);
        printf("runs_needed: %llu/%llu at c %g, target %g: about %llu runs\n",
               (unsigned long long)cases[i].k, (unsigned long long)cases[i].n, cases[i].c,
               cases[i].target, (unsigned long long)need);
    }
    /* Counts that already stop need nothing more. */
    uint64_t need = 0;
    CHECK(fm_stats_seq_runs_needed(800, 10000, 0.95, 1e-6, &need) == FM_STATS_OK &&
              stops_at(0.08, 10000, 0.95, 1e-6) == (need == 10000),
          "already stopped: %llu", (unsigned long long)need);
    CHECK(fm_stats_seq_runs_needed(5, 4, 0.95, 1e-6, &need) == FM_STATS_EDOM, "k > n");
    CHECK(fm_stats_seq_runs_needed(1, 4, 1.0, 1e-6, &need) == FM_STATS_EDOM, "c = 1");
    CHECK(fm_stats_seq_runs_needed(1, 4, 0.95, 1e-6, NULL) == FM_STATS_EDOM, "NULL");
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
    test_boundary_reference(argv[1]);
    test_boundary_properties();
    test_boundary_martingale();
    test_boundary_steps();
    test_runs_needed();
    return fm_test_report("test_stats_seq");
}
