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

#endif
