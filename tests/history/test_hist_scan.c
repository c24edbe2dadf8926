/*
 * test_hist_scan.c - fm_history_scan (the streamed reader `budget` uses) against fm_history_load
 * and fm_history_suite (the reference: one SQL join sorted by label, test, time), on seeded
 * random stores written with SQL that ingest would never make this awkward: CI run ids out of
 * time order and equal times (the id breaks the tie), test ids out of name order, three suites,
 * retries up to 4 attempts (some ending in a fail), missing durations, revisions, a test and a
 * CI run without results, a result whose test is not in ci_tests.  For every window (none, each
 * label, since/until, the last N runs, an unknown label) the scan must hand over the same tests
 * with the same runs, field for field (durations bit for bit: `budget` sums them in this order),
 * and the same CI and red runs per suite.  Also: a callback that stops the scan gives
 * FM_HIST_ECALLBACK.  Seeded (MT19937 via GSL): deterministic.
 */
#include "fm_hist.h"
#include "fm_history.h"
#include "fm_store.h"
#include "fm_test.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

/* What the scan handed over: copies, sorted afterwards by (label, test) as fm_history_load. */
typedef struct {
    fm_history_test *v;
    size_t n;
    int stop_after; /* > 0: ask to stop at that test */
} got;

static int keep(void *ctx, const fm_history_test *t)
{
    got *g = ctx;
    if (g->stop_after > 0 && (int)g->n + 1 == g->stop_after)
        return 1;
    fm_history_test *v = realloc(g->v, (g->n + 1) * sizeof *v);
    if (v == NULL)
        return 1;
    g->v = v;
    fm_history_test *c = &g->v[g->n++];
    *c = (fm_history_test){strdup(t->label), strdup(t->test), t->n,
                           malloc((t->n + 1) * sizeof *t->runs)};
    if (c->runs != NULL)
        memcpy(c->runs, t->runs, t->n * sizeof *t->runs);
    return c->label == NULL || c->test == NULL || c->runs == NULL;
}

static int by_name(const void *x, const void *y)
{
    const fm_history_test *a = x, *b = y;
    int c = strcmp(a->label, b->label);
    return c != 0 ? c : strcmp(a->test, b->test);
}

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static void compare(fm_store *s, const fm_history_filter *f, const char *what)
{
    fm_history_test *want = NULL;
    size_t n_want = 0, n_suites = 0;
    fm_history_suite_runs *suites = NULL;
    got g = {0};
    CHECK(fm_history_load(s, f, &want, &n_want) == FM_HIST_OK, "%s: load", what);
    CHECK(fm_history_scan(s, f, keep, &g, &suites, &n_suites) == FM_HIST_OK, "%s: scan", what);
    if (g.n > 0)
        qsort(g.v, g.n, sizeof *g.v, by_name);
    CHECK(g.n == n_want, "%s: %zu tests scanned, %zu loaded", what, g.n, n_want);
    size_t runs = 0, bad = 0;
    for (size_t i = 0; i < g.n && i < n_want; i++) {
        const fm_history_test *a = &g.v[i], *b = &want[i];
        if (strcmp(a->label, b->label) != 0 || strcmp(a->test, b->test) != 0 || a->n != b->n) {
            bad++;
            continue;
        }
        for (size_t j = 0; j < a->n; j++, runs++) {
            const fm_history_run *x = &a->runs[j], *y = &b->runs[j];
            bad += x->ci_run != y->ci_run || x->time_ns != y->time_ns || x->first != y->first ||
                   x->last != y->last || x->attempts != y->attempts ||
                   !same_double(x->first_s, y->first_s) || x->revision != y->revision;
        }
    }
    CHECK(bad == 0, "%s: %zu tests or runs differ (of %zu runs)", what, bad, runs);
    /* every suite with CI runs in the window, sorted, with fm_history_suite's counts */
    for (size_t i = 0; i < n_suites; i++) {
        fm_history_filter one = f != NULL ? *f : (fm_history_filter){0};
        one.label = suites[i].label;
        int64_t ci = -1, red = -1;
        CHECK(fm_history_suite(s, &one, &ci, &red) == FM_HIST_OK, "%s: suite", what);
        CHECK(ci == suites[i].ci_runs && red == suites[i].red_runs,
              "%s: suite %s: scan %lld/%lld red, fm_history_suite %lld/%lld", what, suites[i].label,
              (long long)suites[i].red_runs, (long long)suites[i].ci_runs, (long long)red,
              (long long)ci);
        CHECK(ci > 0, "%s: suite %s listed without CI runs", what, suites[i].label);
        CHECK(i == 0 || strcmp(suites[i - 1].label, suites[i].label) < 0, "%s: suites sorted",
              what);
    }
    int64_t ci = 0, red = 0, total = 0;
    CHECK(fm_history_suite(s, f, &ci, &red) == FM_HIST_OK, "%s: suite", what);
    for (size_t i = 0; i < n_suites; i++)
        total += suites[i].ci_runs;
    CHECK(total == ci, "%s: %lld CI runs over the suites, %lld in the window", what,
          (long long)total, (long long)ci);
    printf("%s: %zu tests, %zu runs, %zu suites compared\n", what, g.n, runs, n_suites);
    fm_history_free(g.v, g.n);
    fm_history_free(want, n_want);
    fm_history_suites_free(suites, n_suites);
}

static void exec(sqlite3 *h, const char *sql)
{
    char *err = NULL;
    CHECK(sqlite3_exec(h, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err ? err : "");
    sqlite3_free(err);
}

/* A random store: 3 suites, tests and CI runs with ids that follow neither names nor time. */
static void fill(const char *db, unsigned long seed)
{
    enum { TESTS = 60, RUNS = 90 };
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(db, &h) == SQLITE_OK, "open %s", db);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    static const char *labels[] = {"alpha", "beta", "gamma"};
    char sql[512];
    exec(h, "BEGIN");
    int test_label[TESTS], run_label[RUNS];
    for (int i = 0; i < TESTS; i++) {
        /* id = a permutation-like scramble, name in another order */
        test_label[i] = (int)gsl_rng_uniform_int(r, 3);
        snprintf(sql, sizeof sql,
                 "INSERT INTO ci_tests (id, label, name) VALUES (%d, '%s', 't%02d::case')",
                 (i * 37) % 101 + 1, labels[test_label[i]], (i * 7) % TESTS);
        exec(h, sql);
    }
    for (int k = 0; k < RUNS; k++) {
        run_label[k] = (int)gsl_rng_uniform_int(r, 3);
        /* times out of id order, with ties; a few revisions, some unknown */
        long long t = 1700000000000000000LL + (long long)gsl_rng_uniform_int(r, 40) * 1000000000LL;
        int rev = (int)gsl_rng_uniform_int(r, 5);
        snprintf(sql, sizeof sql,
                 "INSERT INTO ci_runs (id, label, run_key, time_ns, revision) "
                 "VALUES (%d, '%s', 'r%d', %lld, '%s')",
                 (k * 53) % 97 + 1, labels[run_label[k]], k, t,
                 rev == 0 ? "" : (const char *[]){"", "c1", "c2", "c3", "c4"}[rev]);
        exec(h, sql);
    }
    for (int i = 0; i < TESTS; i++) {
        if (i == 5)
            continue; /* a named test that never ran */
        double p = gsl_rng_uniform(r) < 0.5 ? 0.0 : gsl_rng_uniform(r) * 0.6;
        for (int k = 0; k < RUNS; k++) {
            if (run_label[k] != test_label[i] || gsl_rng_uniform(r) < 0.2)
                continue; /* skipped in that CI run */
            int attempts = 1 + (gsl_rng_uniform(r) < p ? (int)gsl_rng_uniform_int(r, 4) : 0);
            for (int a = 1; a <= attempts; a++) {
                int outcome =
                    a < attempts ? 1 + (int)gsl_rng_uniform_int(r, 4)
                    : attempts > 1 && gsl_rng_uniform(r) < 0.5
                        ? 0
                        : (gsl_rng_uniform(r) < p ? 1 + (int)gsl_rng_uniform_int(r, 4) : 0);
                char secs[32];
                if (gsl_rng_uniform(r) < 0.1)
                    snprintf(secs, sizeof secs, "NULL");
                else
                    snprintf(secs, sizeof secs, "%.17g", gsl_rng_uniform(r) * 3);
                snprintf(sql, sizeof sql,
                         "INSERT INTO ci_results (test, ci_run, attempt, outcome, seconds) "
                         "VALUES (%d, %d, %d, %d, %s)",
                         (i * 37) % 101 + 1, (k * 53) % 97 + 1, a, outcome, secs);
                exec(h, sql);
            }
        }
    }
    /* a result of a test that ci_tests does not name (the join drops it; so must the scan) */
    exec(h, "INSERT INTO ci_results (test, ci_run, attempt, outcome, seconds) "
            "VALUES (500, 1, 1, 1, 1.0)");
    exec(h, "COMMIT");
    gsl_rng_free(r);
    sqlite3_close(h);
}

static void test_store(unsigned long seed)
{
    char db[512];
    snprintf(db, sizeof db, "%s/scan%lu.db", tmpdir, seed);
    fm_store *s = NULL;
    CHECK(fm_store_open(db, true, &s) == FM_STORE_OK, "create %s", db);
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    fill(db, seed);
    CHECK(fm_store_open(db, false, &s) == FM_STORE_OK, "open %s", db);
    if (s == NULL)
        return;
    char what[64];
    snprintf(what, sizeof what, "seed %lu, all", seed);
    compare(s, NULL, what);
    static const char *labels[] = {"alpha", "beta", "gamma", "none"};
    for (int l = 0; l < 4; l++) {
        fm_history_filter f = {.label = labels[l]};
        snprintf(what, sizeof what, "seed %lu, %s", seed, labels[l]);
        compare(s, &f, what);
        f.last_runs = 7;
        snprintf(what, sizeof what, "seed %lu, %s, last 7", seed, labels[l]);
        compare(s, &f, what);
    }
    fm_history_filter w = {.since_ns = 1700000000000000000LL + 10 * 1000000000LL,
                           .until_ns = 1700000000000000000LL + 30 * 1000000000LL};
    snprintf(what, sizeof what, "seed %lu, since/until", seed);
    compare(s, &w, what);
    w.last_runs = 5;
    snprintf(what, sizeof what, "seed %lu, since/until, last 5 per suite", seed);
    compare(s, &w, what);

    /* a callback that stops: ECALLBACK, nothing returned */
    got g = {.stop_after = 3};
    fm_history_suite_runs *suites = (fm_history_suite_runs *)&g; /* must be reset to NULL */
    size_t n_suites = 99;
    CHECK(fm_history_scan(s, NULL, keep, &g, &suites, &n_suites) == FM_HIST_ECALLBACK,
          "a stopping callback");
    CHECK(suites == NULL && n_suites == 0 && g.n == 2, "stopped after the second test (%zu)", g.n);
    fm_history_free(g.v, g.n);
    CHECK(fm_history_scan(s, NULL, NULL, NULL, &suites, &n_suites) == FM_HIST_EINVAL,
          "no callback: EINVAL");
    fm_store_close(s);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/fm-scan-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    for (unsigned long seed = 20261126; seed < 20261126 + 6; seed++)
        test_store(seed);
    int rc = fm_test_report("hist scan");
    if (rc == 0) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return rc;
}
