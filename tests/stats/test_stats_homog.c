/*
 * test_stats_homog.c - homogeneity and trend tests for sweeps (stats/fm_stats_homog.c).
 *
 * 1. Reference: 40 2xK tables (K = 2..6, zero cells, ties, margins up to 1600) against R 4.2.2:
 *    fisher.test (FEXACT) for the exact Fisher-Freeman-Halton p-value, within 1e-6 relative
 *    (FEXACT's tie slack is 3.45e-7 in log space, ours 1e-7 relative; no table here has a
 *    probability that close to the observed one without being equal); chisq.test(correct =
 *    FALSE) and prop.trend.test within 1e-9 relative (tests/reference/gen_homog.R, homog_r.csv).
 * 2. Properties: at K = 2 the exact test equals fm_stats_fisher_exact; p-values do not change
 *    when columns are permuted or failures and passes swapped; the trend z changes sign with the
 *    scores; a tiny node limit gives FM_STATS_ETOOBIG, not a wrong number.
 * 3. False positives (the `bernoulli` sweep of issue 7, simulated): 4000 seeded (MT19937, seed
 *    20261122) 2x4 tables of 50 runs per condition with a common p = 0.1 (and 2000 with p = 0.3
 *    over 5 ordered conditions): each test rejects at alpha = 0.05 in at most alpha + 6 standard
 *    errors of the simulations (exact tests are conservative; chi-square and trend are
 *    asymptotic, and their size at these counts is within a percent of alpha).  For a correct
 *    implementation exceeding that needs a 6-sigma binomial excursion: probability < 1e-8.
 *    The observed rates are printed with their Monte Carlo standard error.
 * 4. Power: with 0.02 against 0.2 in 200 runs each, every test rejects at 1e-6.
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COLS = 16 };

#define NODES 100000000ULL

static size_t parse_list(char *text, double *v)
{
    size_t m = 0;
    for (char *t = strtok(text, ";"); t && m < MAX_COLS; t = strtok(NULL, ";"))
        v[m++] = strtod(t, NULL);
    return m;
}

static void check_row(int row, char *fields[8])
{
    double kd[MAX_COLS], nd[MAX_COLS], s[MAX_COLS];
    size_t m = parse_list(fields[0], kd);
    size_t m2 = parse_list(fields[1], nd);
    size_t m3 = parse_list(fields[2], s);
    CHECK(m == m2 && m == m3 && m >= 2, "row %d: bad lists", row);
    uint64_t k[MAX_COLS], n[MAX_COLS];
    for (size_t i = 0; i < m; i++) {
        k[i] = (uint64_t)kd[i];
        n[i] = (uint64_t)nd[i];
    }
    double want[5];
    for (int i = 0; i < 5; i++)
        want[i] = strtod(fields[3 + i], NULL);
    double p = -1, x2 = -1, df, z = 0, pt = -1;
    fm_stats_status st = fm_stats_ffh_exact(k, n, m, NODES, &p);
    CHECK(st == FM_STATS_OK && fm_test_close(p, want[0], 1e-6, 1e-300),
          "row %d: exact p %.17g (status %d), R %.17g", row, p, st, want[0]);
    st = fm_stats_chisq_homogeneity(k, n, m, &x2, &df, &p);
    CHECK(st == FM_STATS_OK && fm_test_close(x2, want[1], 1e-9, 1e-12) &&
              fm_test_close(p, want[2], 1e-9, 1e-300),
          "row %d: chi-square %.17g p %.17g, R %.17g p %.17g", row, x2, p, want[1], want[2]);
    st = fm_stats_trend(k, n, s, m, &z, &pt);
    CHECK(st == FM_STATS_OK && fm_test_close(z * z, want[3], 1e-9, 1e-12) &&
              fm_test_close(pt, want[4], 1e-9, 1e-300),
          "row %d: trend z^2 %.17g p %.17g, R %.17g p %.17g", row, z * z, pt, want[3], want[4]);
}

static void test_reference(const char *dir)
{
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/homog_r.csv", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot read %s", path);
    int rows = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == 'k')
            continue;
        char *fields[8], *save = NULL;
        int nf = 0;
        for (char *t = strtok_r(line, ",\n", &save); t && nf < 8; t = strtok_r(NULL, ",\n", &save))
            fields[nf++] = t;
        CHECK(nf == 8, "row %d: %d fields", rows + 2, nf);
        if (nf == 8)
            check_row(rows + 2, fields);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows == 40, "homog_r.csv: %d rows", rows);
}

static void test_properties(void)
{
    uint64_t k[4] = {3, 9, 0, 14}, n[4] = {30, 31, 12, 40};
    double p, q, x, df, z1, z2, pt;
    for (uint64_t a = 0; a <= 12; a += 3)
        for (uint64_t c = 0; c <= 20; c += 4) {
            uint64_t kk[2] = {a, c}, nn[2] = {12, 20};
            fm_stats_ffh_exact(kk, nn, 2, NODES, &p);
            fm_stats_fisher_exact(a, 12 - a, c, 20 - c, &q);
            CHECK(fm_test_close(p, q, 1e-12, 1e-300),
                  "K=2 [%llu/12, %llu/20]: %.17g vs Fisher %.17g", (unsigned long long)a,
                  (unsigned long long)c, p, q);
        }
    fm_stats_ffh_exact(k, n, 4, NODES, &p);
    uint64_t kp[4] = {14, 0, 3, 9}, np[4] = {40, 12, 30, 31}, ks[4];
    fm_stats_ffh_exact(kp, np, 4, NODES, &q);
    CHECK(fm_test_close(p, q, 1e-12, 0), "permuted columns: %.17g vs %.17g", p, q);
    for (int i = 0; i < 4; i++)
        ks[i] = n[i] - k[i];
    fm_stats_ffh_exact(ks, n, 4, NODES, &q);
    CHECK(fm_test_close(p, q, 1e-12, 0), "failures <-> passes: %.17g vs %.17g", p, q);
    fm_stats_chisq_homogeneity(k, n, 4, &x, &df, &p);
    fm_stats_chisq_homogeneity(ks, n, 4, &x, &df, &q);
    CHECK(fm_test_close(p, q, 1e-12, 0) && df == 3, "chi-square symmetric: %g vs %g", p, q);
    double s[4] = {1, 2, 3, 4}, sn[4] = {-1, -2, -3, -4};
    fm_stats_trend(k, n, s, 4, &z1, &pt);
    fm_stats_trend(k, n, sn, 4, &z2, &pt);
    CHECK(z1 > 0 && fm_test_close(z1, -z2, 1e-12, 0), "trend sign: %g, %g", z1, z2);
    uint64_t big_k[4] = {40, 60, 50, 45}, big_n[4] = {200, 200, 200, 200};
    CHECK(fm_stats_ffh_exact(big_k, big_n, 4, 10, &p) == FM_STATS_ETOOBIG, "node limit");
    uint64_t zero_k[3] = {0, 0, 0}, one_n[3] = {5, 0, 7};
    CHECK(fm_stats_ffh_exact(zero_k, one_n, 3, NODES, &p) == FM_STATS_OK && p == 1,
          "no failures: p = 1");
    CHECK(fm_stats_ffh_exact(k, n, 1, NODES, &p) == FM_STATS_EDOM, "one column: EDOM");
    uint64_t bad_k[2] = {5, 1}, bad_n[2] = {4, 3};
    CHECK(fm_stats_ffh_exact(bad_k, bad_n, 2, NODES, &p) == FM_STATS_EDOM, "k > n: EDOM");
}

/* Rejection counts at alpha of the three tests over `sims` tables drawn with a common p. */
static void null_rates(gsl_rng *r, size_t cols, unsigned n_each, double p, int sims)
{
    const double alpha = 0.05;
    int rej[3] = {0, 0, 0};
    uint64_t k[MAX_COLS], n[MAX_COLS];
    double s[MAX_COLS], pv[3], x, df, z;
    for (size_t i = 0; i < cols; i++) {
        n[i] = n_each;
        s[i] = (double)(i + 1);
    }
    for (int t = 0; t < sims; t++) {
        for (size_t i = 0; i < cols; i++)
            k[i] = gsl_ran_binomial(r, p, n_each);
        fm_stats_status st = fm_stats_ffh_exact(k, n, cols, NODES, &pv[0]);
        st = st ? st : fm_stats_chisq_homogeneity(k, n, cols, &x, &df, &pv[1]);
        st = st ? st : fm_stats_trend(k, n, s, cols, &z, &pv[2]);
        CHECK(st == FM_STATS_OK, "simulation %d: status %d", t, st);
        for (int j = 0; j < 3; j++)
            rej[j] += pv[j] <= alpha;
    }
    double se = sqrt(alpha * (1 - alpha) / sims);
    const char *names[3] = {"exact", "chi-square", "trend"};
    for (int j = 0; j < 3; j++) {
        double rate = (double)rej[j] / sims;
        printf("  null %zux%u p=%.2f: %s rejects %.4f of %d (Monte Carlo s.e. %.4f)\n", cols,
               n_each, p, names[j], rate, sims, se);
        CHECK(rate <= alpha + 6 * se, "%s false positive rate %.4f > %.4f + 6 * %.4f", names[j],
              rate, alpha, se);
    }
}

static void test_false_positives(void)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 20261122);
    null_rates(r, 4, 50, 0.1, 4000);
    null_rates(r, 5, 40, 0.3, 2000);
    gsl_rng_free(r);
}

static void test_power(void)
{
    uint64_t k[2] = {4, 40}, n[2] = {200, 200};
    double s[2] = {1, 2}, p, x, df, z;
    fm_stats_ffh_exact(k, n, 2, NODES, &p);
    CHECK(p < 1e-6, "exact power: %g", p);
    fm_stats_chisq_homogeneity(k, n, 2, &x, &df, &p);
    CHECK(p < 1e-6, "chi-square power: %g", p);
    fm_stats_trend(k, n, s, 2, &z, &p);
    CHECK(p < 1e-6 && z > 0, "trend power: %g, z %g", p, z);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_stats_homog REFERENCE_DIR\n");
        return 2;
    }
    test_reference(argv[1]);
    test_properties();
    test_false_positives();
    test_power();
    return fm_test_report("stats homogeneity");
}
