/*
 * fm_history.h - per-test histories read from ingested CI results (JUnit XML, `flakemeter
 * ingest`): the one input of `flakemeter tests`, `budget` and `check`.
 *
 * A history is what a test did in each CI run, in time order: the outcome of its first attempt,
 * of its last attempt (after retries, e.g. pytest-rerunfailures, nextest, surefire's
 * flakyFailure/rerunFailure) and how many attempts it made.  Skipped tests have no entry for
 * that CI run.  The reader lives in history/ (libfmhist), never prints, and returns
 * fm_hist_status (FM_HIST_ESTORE on a store failure, detail in fm_store_errmsg).
 */
#ifndef FM_HISTORY_H
#define FM_HISTORY_H

#include "fm_hist.h"
#include "fm_stats.h"
#include "fm_store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t ci_run;    /* id of the CI run it belongs to (stable within a store) */
    int64_t time_ns;   /* when that CI run happened (the file's timestamp, else ingest time) */
    uint8_t first;     /* fm_outcome of the first attempt (fail, error -> FM_OUTCOME_FAIL/ERROR) */
    uint8_t last;      /* fm_outcome of the last attempt */
    uint16_t attempts; /* attempts made in this CI run; 1 = not retried */
    double first_s;    /* duration of the first attempt in seconds; NaN when the file has none */
    /*
     * The code revision the CI run tested (a property naming the commit, docs/store.md), as a
     * number: equal numbers within one fm_history_load are the same commit; 0 = not known.
     */
    int64_t revision;
} fm_history_run;

typedef struct {
    char *label;          /* the suite (ingest --label) */
    char *test;           /* the test's name, "classname::name" (or "name" without a class) */
    size_t n;             /* number of CI runs in which it ran */
    fm_history_run *runs; /* n entries in (time_ns, ci_run) order */
} fm_history_test;

typedef struct {
    const char *label; /* only this suite; NULL = every suite */
    int64_t since_ns;  /* only CI runs at or after this time; 0 = no bound */
    int64_t until_ns;  /* only CI runs before this time; 0 = no bound; INT64_MIN = none */
    size_t last_runs;  /* only the last N CI runs (per suite); 0 = all */
} fm_history_filter;

/*
 * Load the histories that pass the filter (NULL = everything), sorted by (label, test).  On
 * success *tests is an array of *n_tests entries to be released with fm_history_free.
 */
fm_hist_status fm_history_load(fm_store *store, const fm_history_filter *filter,
                               fm_history_test **tests, size_t *n_tests);
void fm_history_free(fm_history_test *tests, size_t n_tests);

/*
 * The CI runs that pass the filter, and how many of them were red: a CI run is red when some
 * test's last attempt in it was not a pass.  The observed red rate is red_runs / ci_runs.
 */
fm_hist_status fm_history_suite(fm_store *store, const fm_history_filter *filter, int64_t *ci_runs,
                                int64_t *red_runs);

/*
 * The same histories as fm_history_load, streamed: visit(ctx, test) once for each test that ran
 * in a CI run of the window, in the order of the tests' ids (not by name), with its CI runs in
 * (time_ns, ci_run) order; *test and its strings are valid only during the call.  Memory is
 * bounded by the CI runs of the window and the tests, not by the results.  A non-zero return
 * from visit stops the scan (FM_HIST_ECALLBACK).  On success *suites holds one entry per suite
 * with CI runs in the window, sorted by label, with its CI runs and red runs (as
 * fm_history_suite with that label and the same window); release it with
 * fm_history_suites_free.
 */
typedef struct {
    char *label;
    int64_t ci_runs, red_runs;
} fm_history_suite_runs;

typedef int (*fm_history_visit)(void *ctx, const fm_history_test *test);

fm_hist_status fm_history_scan(fm_store *store, const fm_history_filter *filter,
                               fm_history_visit visit, void *ctx, fm_history_suite_runs **suites,
                               size_t *n_suites);
void fm_history_suites_free(fm_history_suite_runs *suites, size_t n);

/*
 * `flakemeter tests` as one call (history/fm_hist_flaky.c): for each of the n tests of tests
 * (fm_history_load with the same filter), fm_stats_flaky at confidence conf, its first-attempt
 * timeouts, its suite's CI runs and red runs in the window, and its share of the red rate
 * (CI runs in which its last attempt failed / its suite's CI runs).  *rows: n entries, sorted by
 * red share, then estimate (both descending), then label and test; free() them; they point into
 * tests.  FM_HIST_ESTATS when a test's statistics failed (*failed: that test's index in tests,
 * *why: the fm_stats_status; both may be NULL), FM_HIST_ESTORE on a store failure.
 */
typedef struct {
    const fm_history_test *test;
    fm_flaky_report report;
    uint64_t timeouts;             /* first attempts that timed out */
    int64_t suite_runs, suite_red; /* the suite's CI runs in the window, and the red ones */
    double red_share;
} fm_history_flaky;

fm_hist_status fm_history_flakiness(fm_store *store, const fm_history_filter *filter,
                                    const fm_history_test *tests, size_t n, double conf,
                                    fm_history_flaky **rows, size_t *failed, fm_stats_status *why);

#endif
