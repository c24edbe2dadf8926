/*
 * fm_hist_check.h - the regression alarm on a CI history (`flakemeter check`): split every
 * test's history at a date or after each suite's first N CI runs, count first-attempt failures
 * on both sides, and run fm_stats_alarm (one-sided Fisher per test, Holm across tests;
 * docs/statistics.md, sec. 10).
 */
#ifndef FM_HIST_CHECK_H
#define FM_HIST_CHECK_H

#include "fm_hist.h"
#include "fm_history.h"
#include "fm_stats.h"
#include "fm_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the baseline ends. */
typedef struct {
    bool by_date;
    int64_t split_ns;   /* by_date: CI runs at or after this time are recent */
    uint64_t base_runs; /* otherwise: each suite's first base_runs CI runs, in (time, id) order,
                           are the baseline (all of them when the suite has no more) */
} fm_hist_split;

/*
 * Count the n tests' first attempts on each side of the split (counts[i] for tests[i]).  The
 * tests are those of fm_history_load, sorted by (label, test): runs-splits count per suite.
 * FM_HIST_OK, FM_HIST_ENOMEM or FM_HIST_EINVAL.
 */
fm_hist_status fm_hist_split_counts(const fm_history_test *tests, size_t n,
                                    const fm_hist_split *split, fm_alarm_counts *counts);

typedef struct {
    const char *label; /* only this suite; NULL = every suite */
    fm_hist_split split;
    double alpha;      /* family-wise false-alarm level, in (0, 1) */
    double confidence; /* level of the reported intervals */
} fm_hist_check_options;

typedef struct {
    fm_history_test *tests; /* the n tests compared, by (label, test) */
    size_t n;
    fm_alarm_counts *counts;  /* per test */
    fm_alarm_result *results; /* per test */
    size_t *order;    /* the family (tests whose margins allow a rise), by p-value, then index */
    size_t family;    /* entries of order */
    size_t regressed; /* tests flagged */
    fm_stats_status stats; /* after FM_HIST_ESTATS: what fm_stats_alarm returned */
} fm_hist_check_result;

/*
 * Load the history (fm_history_load), split, count and test.  FM_HIST_OK; FM_HIST_ENODATA when
 * there is no CI history (in that suite); FM_HIST_ESTORE (detail fm_store_errmsg);
 * FM_HIST_ESTATS (out->stats); FM_HIST_ENOMEM; FM_HIST_EINVAL.  Release out with
 * fm_hist_check_free, whatever the status.
 */
fm_hist_status fm_hist_check(fm_store *store, const fm_hist_check_options *opt,
                             fm_hist_check_result *out);
void fm_hist_check_free(fm_hist_check_result *out);

#endif
