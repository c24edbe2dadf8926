/*
 * fm_verdict.h - everything a person or a program needs to act on a campaign, computed
 * from the store through the statistics core: counts per outcome, the failure probability with
 * its exact interval, the attempt counts for a target, retry-chain statistics, durations.
 *
 * Failure probability: k = first attempts that did not pass (fail, crash or timeout), n = first
 * attempts that ran (errors, i.e. runs that could not start, are excluded and counted apart).
 */
#ifndef FM_VERDICT_H
#define FM_VERDICT_H

#include "fm_stats.h"
#include "fm_store.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    fm_store_summary sum;
    double target, confidence;
    int64_t k, n;   /* failures and counted first attempts */
    fm_interval ci; /* exact, two-sided at confidence (valid when n > 0) */
    fm_attempts_report attempts;
    bool have_retries;       /* retry chains ran (some attempt >= 2) */
    fm_chain_stats chain;    /* p1, q, independence test, correlated counts (have_retries) */
    fm_interval chain_fail;  /* observed all-attempts-failed rate of chains, exact CI */
    int64_t durations_ns[4]; /* p50, p90, p99, max of wall time (all attempts); -1 if none */
} fm_verdict;

/* Returns FM_STORE_OK or the store's status (FM_STATS failures become FM_STORE_EINVAL). */
fm_store_status fm_verdict_compute(fm_store *store, int64_t campaign, double target,
                                   double confidence, fm_verdict *out);

/*
 * Every campaign of the store at a glance (`show --list`), in creation order: its row, its
 * counted first attempts and failures (fm_store_summary_trials/_failures) and their exact
 * two-sided interval at conf (NaN without runs).  *rows: malloc'd, *n entries (free()); strings
 * stay valid until the store is closed.
 */
typedef struct {
    fm_campaign_info info;
    uint64_t runs, failures;
    fm_interval ci;
} fm_verdict_row;

fm_store_status fm_verdict_list(fm_store *store, double conf, fm_verdict_row **rows, size_t *n);

#endif
