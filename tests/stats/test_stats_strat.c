/*
 * test_stats_strat.c - the stratified (Cochran-Mantel-Haenszel) tests of blocked sweeps
 * (stats/fm_stats_strat.c).
 *
 * 1. Reference: 28 2 x C x K tables (C = 2..4, K = 1..8, zero cells, drifting strata) against
 *    R 4.2.2's mantelhaen.test: the generalised CMH statistic and p (correct = FALSE) within
 *    1e-9 relative, the exact conditional p (exact = TRUE, C = 2) within 1e-7, the
 *    Mantel-Haenszel odds ratio within 1e-12, and the correlation (trend) z against R's matrix
 *    form within 1e-9 (tests/reference/gen_strat.R, strat_r.csv).
 * 2. Properties: one stratum and C = 2: the exact test is Fisher's; C = 2: the general
 *    statistic is the trend z^2; adding a stratum with no failures changes nothing; permuting
 *    strata changes nothing; a tiny work limit gives a NaN exact p, never a wrong number.
 * 3. Drift (issue 18): 10 blocks whose common failure probability drifts from 0.05 to 0.6,
 *    both conditions alike, 10 runs each per block.  Over 4000 seeded (MT19937, seed 20261126)
 *    blocked sweeps the exact and the asymptotic stratified tests reject at alpha = 0.05 in at
 *    most alpha + 6 standard errors of the simulation; a correct implementation exceeds that
 *    with probability < 1e-8.  The same drift run in sequence (condition 0 in the first five
 *    blocks' time, condition 1 in the last five) fools the pooled Fisher test in more than half
 *    of the sweeps: the reason for the blocks.
 * 4. Power: an odds ratio of 4 within every drifting block is found at 1e-6.
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <string.h>

enum { MAX_CELLS = 64 };

#define WORK 100000000ULL

static size_t parse_list(char *text, double *v)
{
    size_t m = 0;
    for (char *t = strtok(text, ";"); t && m < MAX_CELLS; t = strtok(NULL, ";"))
        v[m++] = strtod(t, NULL);
    return m;
}

static void check_row(int row, char *f[11])
{
    size_t cols = (size_t)atoi(f[0]), strata = (size_t)atoi(f[1]);
    double kd[MAX_CELLS], nd[MAX_CELLS], s[MAX_CELLS];
    size_t m = parse_list(f[2], kd), m2 = parse_list(f[3], nd), m3 = parse_list(f[4], s);
    CHECK(m == cols * strata && m2 == m && m3 == cols, "row %d: bad lists", row);
    if (m != cols * strata || m2 != m || m3 != cols)
        return;
    uint64_t k[MAX_CELLS], n[MAX_CELLS];
    for (size_t i = 0; i < m; i++) {
        k[i] = (uint64_t)kd[i];
        n[i] = (uint64_t)nd[i];
    }
    double stat = strtod(f[5], NULL), df = strtod(f[6], NULL), p = strtod(f[7], NULL);
    double ex = strtod(f[8], NULL), orr = strtod(f[9], NULL), tz = strtod(f[10], NULL);
    fm_stats_cmh_result r;
    fm_stats_status st = fm_stats_cmh(k, n, cols, strata, s, WORK, &r);
    CHECK(st == FM_STATS_OK, "row %d: status %d", row, st);
    CHECK(fm_test_close(r.statistic, stat, 1e-9, 1e-12) && r.df == df &&
              fm_test_close(r.p_value, p, 1e-9, 1e-300),
          "row %d: Q %.17g df %g p %.17g, R %.17g df %g p %.17g", row, r.statistic, r.df, r.p_value,
          stat, df, p);
    if (cols == 2) {
        CHECK(fm_test_close(r.exact_p, ex, 1e-7, 1e-300), "row %d: exact p %.17g, R %.17g", row,
              r.exact_p, ex);
        CHECK(fm_test_close(r.odds_ratio, orr, 1e-12, 0) || (isnan(orr) && isnan(r.odds_ratio)),
              "row %d: odds ratio %.17g, R %.17g", row, r.odds_ratio, orr);
    } else {
        CHECK(isnan(r.exact_p), "row %d: exact p for C = %zu", row, cols);
    }
    if (!isnan(tz))
        CHECK(r.have_trend && fm_test_close(r.trend_z, tz, 1e-9, 1e-12),
              "row %d: trend z %.17g, R %.17g", row, r.trend_z, tz);
}

static void test_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "strat_r.csv");
    char line[4096];
    int rows = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *fields[11], *save = NULL;
        int nf = 0;
        for (char *t = strtok_r(line, ",\n", &save); t && nf < 11; t = strtok_r(NULL, ",\n", &save))
            fields[nf++] = t;
        CHECK(nf == 11, "row %d: %d fields", rows + 2, nf);
        if (nf == 11)
            check_row(rows + 2, fields);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows == 28, "strat_r.csv: %d rows", rows);
}

static void test_properties(void)
{
    fm_stats_cmh_result r, q;
    for (uint64_t a = 0; a <= 12; a += 3)
        for (uint64_t c = 1; c <= 20; c += 4) {
            uint64_t k[2] = {a, c}, n[2] = {12, 20};
            double fp;
            fm_stats_cmh(k, n, 2, 1, NULL, WORK, &r);
            fm_stats_fisher_exact(a, 12 - a, c, 20 - c, &fp);
            CHECK(fm_test_close(r.exact_p, fp, 1e-9, 1e-300),
                  "one stratum %llu/12 %llu/20: %.17g vs %.17g", (unsigned long long)a,
                  (unsigned long long)c, r.exact_p, fp);
        }
    uint64_t k[8] = {1, 6, 3, 4, 0, 5, 2, 9}, n[8] = {10, 10, 12, 9, 8, 11, 10, 15};
    double s[2] = {0, 1};
    fm_stats_cmh(k, n, 2, 4, s, WORK, &r);
    CHECK(r.have_trend && fm_test_close(r.trend_z * r.trend_z, r.statistic, 1e-12, 0),
          "C = 2: z^2 %.17g vs Q %.17g", r.trend_z * r.trend_z, r.statistic);
    uint64_t k2[10], n2[10];
    memcpy(k2, k, sizeof k);
    memcpy(n2, n, sizeof n);
    k2[8] = k2[9] = 0;
    n2[8] = 30;
    n2[9] = 7;
    fm_stats_cmh(k2, n2, 2, 5, s, WORK, &q);
    CHECK(q.statistic == r.statistic && q.exact_p == r.exact_p && q.strata_used == 4,
          "stratum without failures changed the result");
    uint64_t kp[8] = {0, 5, 2, 9, 1, 6, 3, 4}, np[8] = {8, 11, 10, 15, 10, 10, 12, 9};
    fm_stats_cmh(kp, np, 2, 4, s, WORK, &q);
    CHECK(fm_test_close(q.statistic, r.statistic, 1e-12, 0) &&
              fm_test_close(q.exact_p, r.exact_p, 1e-12, 0),
          "permuted strata: %.17g %.17g vs %.17g %.17g", q.statistic, q.exact_p, r.statistic,
          r.exact_p);
    fm_stats_cmh(k, n, 2, 4, s, 3, &q);
    CHECK(isnan(q.exact_p) && q.statistic == r.statistic, "work limit: exact p %g", q.exact_p);
    uint64_t bad_k[2] = {5, 1}, bad_n[2] = {4, 3};
    CHECK(fm_stats_cmh(bad_k, bad_n, 2, 1, NULL, WORK, &q) == FM_STATS_EDOM, "k > n: EDOM");
    CHECK(fm_stats_cmh(k, n, 1, 8, NULL, WORK, &q) == FM_STATS_EDOM, "one condition: EDOM");
}

enum { BLOCKS = 10, PER = 10 };

static double drift_p(int b)
{
    return 0.05 + 0.55 * b / (BLOCKS - 1.0);
}

static void test_drift(void)
{
    const double alpha = 0.05;
    const int sims = 4000;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 20261126);
    int rej_exact = 0, rej_q = 0, rej_seq = 0;
    uint64_t k[2 * BLOCKS], n[2 * BLOCKS];
    for (int t = 0; t < sims; t++) {
        for (int b = 0; b < BLOCKS; b++)
            for (int c = 0; c < 2; c++) {
                n[2 * b + c] = PER;
                k[2 * b + c] = gsl_ran_binomial(g, drift_p(b), PER);
            }
        fm_stats_cmh_result r;
        CHECK(fm_stats_cmh(k, n, 2, BLOCKS, NULL, WORK, &r) == FM_STATS_OK, "sim %d", t);
        rej_exact += r.exact_p <= alpha;
        rej_q += r.p_value <= alpha;
        /* In sequence: condition 0 runs while the machine is in blocks 0..4, condition 1 after. */
        uint64_t seq_k[2] = {0, 0}, seq_n[2] = {PER * BLOCKS, PER * BLOCKS};
        for (int b = 0; b < BLOCKS; b++)
            seq_k[b >= BLOCKS / 2] += gsl_ran_binomial(g, drift_p(b), 2 * PER);
        double fp;
        fm_stats_fisher_exact(seq_k[0], seq_n[0] - seq_k[0], seq_k[1], seq_n[1] - seq_k[1], &fp);
        rej_seq += fp <= alpha;
    }
    double se = sqrt(alpha * (1 - alpha) / sims);
    printf("  drift 0.05..0.60 over %d blocks: exact rejects %.4f, CMH %.4f, sequential pooled "
           "Fisher %.4f (of %d; s.e. %.4f)\n",
           BLOCKS, (double)rej_exact / sims, (double)rej_q / sims, (double)rej_seq / sims, sims,
           se);
    CHECK((double)rej_exact / sims <= alpha + 6 * se, "exact false positive rate %.4f",
          (double)rej_exact / sims);
    CHECK((double)rej_q / sims <= alpha + 6 * se, "CMH false positive rate %.4f",
          (double)rej_q / sims);
    CHECK((double)rej_seq / sims > 0.5, "the sequential design should be fooled: %.4f",
          (double)rej_seq / sims);
    gsl_rng_free(g);
}

static void test_power(void)
{
    uint64_t k[2 * BLOCKS], n[2 * BLOCKS];
    for (int b = 0; b < BLOCKS; b++) {
        double p = drift_p(b) / 2, odds = 4 * p / (1 - p), p1 = odds / (1 + odds);
        n[2 * b] = n[2 * b + 1] = 40;
        k[2 * b] = (uint64_t)(40 * p1 + 0.5);
        k[2 * b + 1] = (uint64_t)(40 * p + 0.5);
    }
    fm_stats_cmh_result r;
    double s[2] = {1, 2};
    fm_stats_cmh(k, n, 2, BLOCKS, s, WORK, &r);
    CHECK(r.exact_p < 1e-6 && r.p_value < 1e-6 && r.odds_ratio > 2 && r.trend_z < 0,
          "power: exact %g, Q p %g, OR %g, z %g", r.exact_p, r.p_value, r.odds_ratio, r.trend_z);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_stats_strat REFERENCE_DIR\n");
        return 2;
    }
    test_reference(argv[1]);
    test_properties();
    test_drift();
    test_power();
    return fm_test_report("stats stratified");
}
