/*
 * test_stats_reference.c - the statistics core against reference tables computed by
 * independent implementations (R's binom.test/qbeta/pbeta/pbinom; statsmodels, scipy and exact
 * rational arithmetic in Python).  The tables and the scripts that made them are in
 * tests/reference/; each row names its source.
 *
 * Blaker's interval against exact enumeration in 60-digit decimals (blaker_py.csv, made by
 * gen_blaker.py): 1e-10 relative; the largest error is printed.
 *
 * Tolerance: 1e-9 relative.  The normal-approximation methods (wilson, agresti-coull, wald)
 * also allow 1e-15 absolute: their bounds near 0 are differences of O(1e-12) numbers in the
 * reference too.  Attempt counts and planned run counts must match exactly.
 *
 * usage: test_stats_reference DIR   (the folder holding the CSV tables)
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COLS = 24, LINE = 1024 };

/* One CSV table with a header row; fields hold no commas or quotes. */
struct table {
    FILE *f;
    char line[LINE];
    char *head[MAX_COLS], *cell[MAX_COLS];
    char head_buf[LINE];
    int ncols;
    int row;
};

static int split(char *line, char **out)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *tok = line; tok && n < MAX_COLS; n++) {
        out[n] = tok;
        tok = strchr(tok, ',');
        if (tok)
            *tok++ = '\0';
    }
    return n;
}

static bool table_open(struct table *t, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    memset(t, 0, sizeof *t);
    t->f = fopen(path, "r");
    if (!t->f || !fgets(t->head_buf, LINE, t->f)) {
        fprintf(stderr, "cannot read %s\n", path);
        fm_test_failures++;
        return false;
    }
    t->ncols = split(t->head_buf, t->head);
    return true;
}

static bool table_next(struct table *t)
{
    if (!fgets(t->line, LINE, t->f)) {
        fclose(t->f);
        return false;
    }
    t->row++;
    return split(t->line, t->cell) == t->ncols;
}

/* The named cell of the current row; "" when the table has no such column (a check on a
 * missing value then fails, since "" reads as 0). */
static const char *col(const struct table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->head[i], name) == 0)
            return t->cell[i];
    return "";
}

static double num(const struct table *t, const char *name)
{
    return strtod(col(t, name), NULL);
}

static uint64_t count(const struct table *t, const char *name)
{
    return (uint64_t)strtod(col(t, name), NULL);
}

static void check_intervals(const char *dir, const char *file)
{
    struct table t;
    if (!table_open(&t, dir, file))
        return;
    while (table_next(&t)) {
        fm_ci_method m;
        const char *method = col(&t, "method");
        CHECK(fm_stats_method_parse(method, &m) == FM_STATS_OK, "method %s", method);
        bool normal = m == FM_CI_WILSON || m == FM_CI_AGRESTI_COULL || m == FM_CI_WALD;
        fm_ci_sided sided = strcmp(col(&t, "sided"), "upper") == 0 ? FM_CI_UPPER : FM_CI_TWO_SIDED;
        uint64_t k = count(&t, "k"), n = count(&t, "n");
        double c = num(&t, "confidence"), lo = num(&t, "lower"), up = num(&t, "upper");
        fm_interval ci;
        fm_stats_status st = fm_stats_interval(k, n, c, m, sided, &ci);
        double floor = normal ? 1e-15 : 0.0;
        CHECK(st == FM_STATS_OK && fm_test_close(ci.lower, lo, 1e-9, floor) &&
                  fm_test_close(ci.upper, up, 1e-9, floor),
              "%s row %d: %s %s k=%llu n=%llu c=%.17g: got [%.17g, %.17g], %s says [%.17g, "
              "%.17g]",
              file, t.row, method, col(&t, "sided"), (unsigned long long)k, (unsigned long long)n,
              c, ci.lower, ci.upper, col(&t, "source"), lo, up);
    }
}

/* Blaker's two-sided interval; lower = 0 at k = 0 and upper = 1 at k = n must be exact. */
static void check_blaker(const char *dir)
{
    struct table t;
    if (!table_open(&t, dir, "blaker_py.csv"))
        return;
    double worst = 0.0;
    int rows = 0;
    while (table_next(&t)) {
        uint64_t k = count(&t, "k"), n = count(&t, "n");
        double c = num(&t, "confidence"), lo = num(&t, "lower"), up = num(&t, "upper");
        fm_interval ci;
        fm_stats_status st = fm_stats_interval(k, n, c, FM_CI_BLAKER, FM_CI_TWO_SIDED, &ci);
        CHECK(st == FM_STATS_OK && fm_test_close(ci.lower, lo, 1e-10, 0) &&
                  fm_test_close(ci.upper, up, 1e-10, 0),
              "blaker_py.csv row %d: k=%llu n=%llu c=%.17g: got [%.17g, %.17g], enumeration says "
              "[%.17g, %.17g]",
              t.row, (unsigned long long)k, (unsigned long long)n, c, ci.lower, ci.upper, lo, up);
        if (lo > 0)
            worst = fmax(worst, fabs(ci.lower - lo) / lo);
        if (up > 0)
            worst = fmax(worst, fabs(ci.upper - up) / up);
        rows++;
    }
    printf("blaker: %d intervals, largest relative error %.2g\n", rows, worst);
    CHECK(rows >= 390, "only %d Blaker rows", rows);
}

/* Both tails of the beta CDF; each is compared relative to itself, so small tails count. */
static void check_beta_cdf(const char *dir)
{
    struct table t;
    if (!table_open(&t, dir, "beta_cdf_r.csv"))
        return;
    while (table_next(&t)) {
        double a = num(&t, "a"), b = num(&t, "b"), x = num(&t, "x"), lo, up;
        fm_stats_status st1 = fm_stats_beta_cdf(x, a, b, false, &lo);
        fm_stats_status st2 = fm_stats_beta_cdf(x, a, b, true, &up);
        CHECK(st1 == FM_STATS_OK && st2 == FM_STATS_OK &&
                  fm_test_close(lo, num(&t, "lower"), 1e-9, 0) &&
                  fm_test_close(up, num(&t, "upper"), 1e-9, 0),
              "beta cdf row %d a=%g b=%g x=%.17g: got P %.17g Q %.17g, R says %s %s", t.row, a, b,
              x, lo, up, col(&t, "lower"), col(&t, "upper"));
    }
}

static void check_plans(const char *dir)
{
    struct table t;
    if (!table_open(&t, dir, "plan_r.csv"))
        return;
    while (table_next(&t)) {
        double p0 = num(&t, "p0"), c = num(&t, "confidence");
        uint64_t k = count(&t, "k"), want = count(&t, "runs"), got = 0;
        fm_stats_status st = fm_stats_plan_runs(p0, k, c, &got);
        CHECK(st == FM_STATS_OK && got == want, "plan p0=%g k=%llu c=%g: got %llu, R says %llu", p0,
              (unsigned long long)k, c, (unsigned long long)got, (unsigned long long)want);
    }
}

static void check_attempt_row(const struct table *t)
{
    const char *kind = col(t, "kind");
    uint64_t want = count(t, "attempts");
    double want_res = num(t, "residual"), target = num(t, "target");
    fm_attempts a = {0};
    fm_stats_status st = FM_STATS_EDOM;
    if (strcmp(kind, "independent") == 0) {
        st = fm_stats_attempts_independent(num(t, "p"), target, &a);
    } else if (strcmp(kind, "correlated") == 0) {
        st = fm_stats_attempts_correlated(num(t, "p"), num(t, "q"), target, &a);
    } else if (strcmp(kind, "bayes") == 0) {
        double prior = strcmp(col(t, "prior"), "uniform") == 0 ? 1.0 : 0.5;
        st = fm_stats_attempts_bayes(count(t, "k"), count(t, "n"), prior, prior, target, &a);
    } else if (strcmp(kind, "conservative") == 0) {
        fm_attempts_report r;
        st = fm_stats_attempts_from_counts(count(t, "k"), count(t, "n"), num(t, "confidence"), 0.5,
                                           0.5, target, &r);
        a = r.conservative.attempts;
    } else if (strcmp(kind, "cost") == 0) {
        fm_policy_cost cost;
        st = fm_stats_policy_cost(num(t, "p"), num(t, "q"), want, num(t, "pass_seconds"),
                                  num(t, "fail_seconds"), &cost);
        CHECK(st == FM_STATS_OK && fm_test_close(cost.residual, want_res, 1e-9, 0) &&
                  fm_test_close(cost.expected_attempts, num(t, "expected_attempts"), 1e-9, 0) &&
                  fm_test_close(cost.expected_seconds, num(t, "expected_seconds"), 1e-9, 0),
              "cost row %d: got residual %.17g E[attempts] %.17g E[s] %.17g", t->row, cost.residual,
              cost.expected_attempts, cost.expected_seconds);
        return;
    }
    CHECK(st == FM_STATS_OK && a.reachable && a.attempts == want &&
              fm_test_close(a.residual, want_res, 1e-9, 0),
          "attempts row %d (%s p=%s q=%s k=%s n=%s target=%s): got %llu (residual %.17g), %s "
          "says %llu (%.17g)",
          t->row, kind, col(t, "p"), col(t, "q"), col(t, "k"), col(t, "n"), col(t, "target"),
          (unsigned long long)a.attempts, a.residual, col(t, "source"), (unsigned long long)want,
          want_res);
}

static void check_attempts(const char *dir, const char *file)
{
    struct table t;
    if (!table_open(&t, dir, file))
        return;
    while (table_next(&t))
        check_attempt_row(&t);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_stats_reference DIR\n");
        return 2;
    }
    check_intervals(argv[1], "intervals_r.csv");
    check_intervals(argv[1], "intervals_py.csv");
    check_blaker(argv[1]);
    check_beta_cdf(argv[1]);
    check_plans(argv[1]);
    check_attempts(argv[1], "attempts_py.csv");
    check_attempts(argv[1], "attempts_r.csv");
    CHECK(fm_test_checks > 4000, "expected the whole tables, ran %d checks", fm_test_checks);
    return fm_test_report("test_stats_reference");
}
