/*
 * test_stats_alarm.c - the regression alarm: one-sided Fisher, Holm, and fm_stats_alarm.
 *
 * 1. Reference: one-sided p-values and the smallest attainable p-value against R 4.2.2's
 *    fisher.test(alternative = "greater") and dhyper (fisher_greater_r.csv, 511 tables with zero
 *    cells and margins, counts up to 10^6), Holm against p.adjust (holm_r.csv); 1e-9 relative or
 *    1e-13 absolute (tests/reference/gen_alarm.R).
 * 2. Exact size of one test: for baseline/recent run counts (150, 50), (40, 40), (500, 20) and
 *    levels 0.05 and 0.05/20, the rejection probability sum_{k0,k1} P(k0) P(k1) [p <= level]
 *    when both periods share the failure rate p, over 120 rates from 1e-4 to 0.9, is <= level
 *    (summed over every outcome: no sampling error).
 * 3. Family-wise false alarms, simulated: 20000 seeded suites (MT19937) of 20 stable tests
 *    (rates 0 to 0.2, half never failing, and CI-run-wide shocks that fail every test of a run
 *    with probability 0.01, so the tests are dependent), 150 baseline and 50 recent runs.  The
 *    share of suites with any test flagged must be <= alpha + d, d = sqrt(ln(10^6) / (2 S))
 *    = 0.0186 (Hoeffding: a correct alarm, whose true rate is <= alpha, fails this with
 *    probability < 10^-6).  The same suites without the correction (raw p <= alpha) must exceed
 *    alpha + d, so the check can tell a missing correction.
 * 4. Power: a test whose rate jumps from 1% (200 baseline runs) to 30% (50 recent runs).  Its
 *    exact probability of a p-value <= alpha / 20 (Holm's hardest level in a family of 20) is
 *    computed by summing over outcomes and must be >= 0.998 (it is 0.99865); in 1000 seeded
 *    suites with 19 stable tests beside it, fm_stats_alarm flags it in >= 990 (at the exact
 *    power, 11 or more misses have probability < 10^-6) and flags nothing else in >= 900
 *    (the family-wise rate is <= 0.05: 100 or more has probability < 10^-6).
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

/* ---- 1. reference tables ------------------------------------------------------------------- */

static bool p_close(double got, double want)
{
    return fm_test_close(got, want, 1e-9, 1e-13);
}

static void test_fisher_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "fisher_greater_r.csv");
    double v[6];
    int rows = 0;
    while (fm_test_read_row(f, v, 6)) {
        double p = -1, min_p = -1;
        fm_stats_status st = fm_stats_fisher_greater((uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2],
                                                     (uint64_t)v[3], &p, &min_p);
        CHECK(st == FM_STATS_OK && p_close(p, v[4]) && p_close(min_p, v[5]),
              "fisher_greater_r.csv row %d [[%g, %g], [%g, %g]]: got %.17g (min %.17g), R says "
              "%.17g (min %.17g)",
              rows + 2, v[0], v[1], v[2], v[3], p, min_p, v[4], v[5]);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows >= 500, "only %d rows", rows);
}

static void test_holm_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "holm_r.csv");
    double v[4], p[64], want[64], adj[64];
    int vector = -1, n = 0, rows = 0;
    bool more;
    do {
        more = fm_test_read_row(f, v, 4);
        if (n > 0 && (!more || (int)v[0] != vector)) {
            bool reject[64];
            CHECK(fm_stats_holm(p, (size_t)n, 0.05, adj, reject) == FM_STATS_OK, "holm %d", vector);
            for (int i = 0; i < n; i++)
                CHECK(p_close(adj[i], want[i]) && reject[i] == (adj[i] <= 0.05),
                      "holm vector %d index %d: %.17g, R says %.17g", vector, i, adj[i], want[i]);
            n = 0;
        }
        if (!more)
            break;
        vector = (int)v[0];
        p[n] = v[2];
        want[n++] = v[3];
        rows++;
    } while (more);
    if (f)
        fclose(f);
    CHECK(rows >= 60, "only %d rows", rows);
}

/* ---- 2. exact size ----------------------------------------------------------------------------
 */

/* rejected[k0 * (n1 + 1) + k1]: is the one-sided p-value of k1 of n1 against k0 of n0 <= level? */
static bool *rejection_set(unsigned n0, unsigned n1, double level)
{
    bool *rej = calloc((size_t)(n0 + 1) * (n1 + 1), sizeof *rej);
    for (unsigned k0 = 0; rej && k0 <= n0; k0++)
        for (unsigned k1 = 0; k1 <= n1; k1++) {
            double p = 1;
            CHECK(fm_stats_fisher_greater(k1, n1 - k1, k0, n0 - k0, &p, NULL) == FM_STATS_OK,
                  "fisher %u %u", k0, k1);
            rej[k0 * (n1 + 1) + k1] = p <= level;
        }
    return rej;
}

static double reject_prob(const bool *rej, unsigned n0, unsigned n1, double p0, double p1)
{
    double total = 0;
    for (unsigned k0 = 0; k0 <= n0; k0++) {
        double f0 = gsl_ran_binomial_pdf(k0, p0, n0);
        for (unsigned k1 = 0; k1 <= n1; k1++)
            if (rej[k0 * (n1 + 1) + k1])
                total += f0 * gsl_ran_binomial_pdf(k1, p1, n1);
    }
    return total;
}

static void test_exact_size(void)
{
    static const unsigned sizes[][2] = {{150, 50}, {40, 40}, {500, 20}};
    static const double levels[] = {0.05, 0.05 / 20};
    for (int s = 0; s < 3; s++)
        for (int l = 0; l < 2; l++) {
            unsigned n0 = sizes[s][0], n1 = sizes[s][1];
            bool *rej = rejection_set(n0, n1, levels[l]);
            double worst = 0, worst_p = 0;
            for (int g = 0; rej && g < 120; g++) {
                double p = 1e-4 * pow(9000.0, g / 119.0);
                double size = reject_prob(rej, n0, n1, p, p);
                if (size > worst)
                    worst = size, worst_p = p;
            }
            CHECK(rej && worst <= levels[l] * (1 + 1e-9),
                  "size of one test, n0 %u n1 %u level %g: %.6g at p = %.4g", n0, n1, levels[l],
                  worst, worst_p);
            printf("exact size: n0 %u, n1 %u, level %.4g: at most %.4g (p = %.3g)\n", n0, n1,
                   levels[l], worst, worst_p);
            free(rej);
        }
}

/* ---- 3. and 4. simulated suites ---------------------------------------------------------------
 */

enum { TESTS = 20 };

struct sim {
    unsigned n0, n1; /* baseline and recent runs */
    double shock;    /* chance that a CI run fails every test */
    double p0[TESTS], p1[TESTS];
};

/* One suite's counts: failures per test in each period, runs sharing the shocks. */
static void simulate(gsl_rng *r, const struct sim *s, fm_alarm_counts *c)
{
    for (int t = 0; t < TESTS; t++)
        c[t] = (fm_alarm_counts){0, s->n0, 0, s->n1};
    for (unsigned run = 0; run < s->n0 + s->n1; run++) {
        bool recent = run >= s->n0, shock = gsl_rng_uniform(r) < s->shock;
        for (int t = 0; t < TESTS; t++) {
            bool fail = shock || gsl_rng_uniform(r) < (recent ? s->p1[t] : s->p0[t]);
            if (recent)
                c[t].k_recent += fail;
            else
                c[t].k_base += fail;
        }
    }
}

static void test_false_alarms(void)
{
    static const double rates[TESTS] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.001, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2};
    struct sim s = {150, 50, 0.01, {0}, {0}};
    memcpy(s.p0, rates, sizeof rates);
    memcpy(s.p1, rates, sizeof rates);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 20261122);
    const int suites = 20000;
    const double alpha = 0.05, d = sqrt(log(1e6) / (2.0 * suites));
    int holm = 0, raw = 0;
    for (int k = 0; k < suites; k++) {
        fm_alarm_counts c[TESTS];
        fm_alarm_result out[TESTS];
        simulate(r, &s, c);
        CHECK(fm_stats_alarm(c, TESTS, alpha, 0.95, out) == FM_STATS_OK, "suite %d", k);
        bool any = false, any_raw = false;
        for (int t = 0; t < TESTS; t++) {
            any |= out[t].regressed;
            any_raw |= out[t].p_value <= alpha;
        }
        holm += any;
        raw += any_raw;
    }
    gsl_rng_free(r);
    double rate = (double)holm / suites, rate_raw = (double)raw / suites;
    printf("false alarms: %d suites of %d stable tests: Holm %.4f (SE %.4f), uncorrected %.4f; "
           "limit %.4f\n",
           suites, TESTS, rate, sqrt(rate * (1 - rate) / suites), rate_raw, alpha + d);
    CHECK(rate <= alpha + d, "family-wise false alarm rate %.4f > %.4f", rate, alpha + d);
    CHECK(rate_raw > alpha + d, "uncorrected rate %.4f: the check cannot see a missing correction",
          rate_raw);
}

static void test_power(void)
{
    /* exact: one test, at Holm's hardest level in a family of 20 */
    const double alpha = 0.05;
    bool *rej = rejection_set(200, 50, alpha / TESTS);
    double power = rej ? reject_prob(rej, 200, 50, 0.01, 0.30) : 0;
    free(rej);
    printf("power 1%% -> 30%% (200 + 50 runs) at level %.4g: %.8f (exact)\n", alpha / TESTS, power);
    CHECK(power >= 0.998, "exact power %.6f", power);

    static const double rates[TESTS] = {0,    0,    0,    0,     0,     0,     0,
                                        0,    0,    0,    0.001, 0.003, 0.005, 0.01,
                                        0.02, 0.03, 0.05, 0.08,  0.12,  0.01};
    struct sim s = {200, 50, 0.0, {0}, {0}};
    memcpy(s.p0, rates, sizeof rates);
    memcpy(s.p1, rates, sizeof rates);
    s.p1[TESTS - 1] = 0.30;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 20261124);
    int flagged = 0, clean = 0;
    for (int k = 0; k < 1000; k++) {
        fm_alarm_counts c[TESTS];
        fm_alarm_result out[TESTS];
        simulate(r, &s, c);
        CHECK(fm_stats_alarm(c, TESTS, alpha, 0.95, out) == FM_STATS_OK, "suite %d", k);
        flagged += out[TESTS - 1].regressed;
        bool other = false;
        for (int t = 0; t < TESTS - 1; t++)
            other |= out[t].regressed;
        clean += !other;
    }
    gsl_rng_free(r);
    printf("power: flagged in %d of 1000 suites; no other test flagged in %d\n", flagged, clean);
    CHECK(flagged >= 990, "the 1%% -> 30%% test was flagged in only %d of 1000 suites", flagged);
    CHECK(clean >= 900, "a stable test was flagged in %d of 1000 suites", 1000 - clean);
}

static void test_alarm_cases(void)
{
    fm_alarm_counts c[3] = {
        {2, 200, 15, 50}, /* rose */
        {0, 200, 0, 50},  /* never failed: not testable */
        {5, 100, 0, 0},   /* no recent runs: not testable */
    };
    fm_alarm_result r[3];
    CHECK(fm_stats_alarm(c, 3, 0.05, 0.95, r) == FM_STATS_OK, "alarm");
    CHECK(r[0].tested && r[0].regressed && r[0].adjusted == r[0].p_value,
          "rose: tested %d regressed %d p %g adjusted %g (a family of one)", r[0].tested,
          r[0].regressed, r[0].p_value, r[0].adjusted);
    CHECK(!r[1].tested && !r[1].regressed && r[1].p_value == 1 && r[1].adjusted == 1,
          "never failed");
    CHECK(!r[2].tested && isnan(r[2].recent.estimate) && r[2].recent.upper == 1, "no recent runs");
    CHECK(fm_test_close(r[0].baseline.estimate, 0.01, 1e-15, 0) &&
              fm_test_close(r[0].recent.estimate, 0.3, 1e-15, 0) && r[0].recent.lower > 0.15,
          "rates");
    fm_alarm_counts bad = {3, 2, 0, 1};
    CHECK(fm_stats_alarm(&bad, 1, 0.05, 0.95, r) == FM_STATS_EDOM, "k > n");
    CHECK(fm_stats_alarm(c, 1, 0, 0.95, r) == FM_STATS_EDOM, "alpha 0");
    double nan_p = NAN;
    CHECK(fm_stats_holm(&nan_p, 1, 0.05, NULL, NULL) == FM_STATS_EDOM, "NaN p-value");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/reference";
    test_fisher_reference(dir);
    test_holm_reference(dir);
    test_exact_size();
    test_false_alarms();
    test_power();
    test_alarm_cases();
    return fm_test_report("test_stats_alarm");
}
