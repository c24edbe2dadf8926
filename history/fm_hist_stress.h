/*
 * fm_hist_stress.h - a round of `flakemeter stress` into the CI history, so that `tests`,
 * `budget`, `check` and `report` read stress results as they read ingested CI reports.
 *
 * One CI run holds one chain (first attempt and its retries) of each test; it is written as a
 * JUnit document (libxml2's writer) and read back by the JUnit ingest itself, so the mapping
 * is the ingest's (docs/store.md, "Ingest"): a chain that passed after failures carries
 * flakyFailure marks, one that never passed a failure then rerunFailure marks, a timeout says
 * "timed out", a run that could not start is an error; interrupted attempts are left out.
 * Durations are each attempt's wall time; the CI run's time is its first attempt's start.
 */
#ifndef FM_HIST_STRESS_H
#define FM_HIST_STRESS_H

#include "fm_hist.h"
#include "fm_ingest.h"
#include "fm_store.h"

typedef struct {
    const char *test;              /* the runner's id */
    const fm_run_record *attempts; /* one chain, attempt 1, 2, ... */
    size_t n;
} fm_hist_chain;

/* Add one CI run named run_key to suite; res as fm_ingest_fd gives it. */
fm_hist_status fm_hist_add_chains(fm_store *store, const char *suite, const char *run_key,
                                  const fm_hist_chain *chains, size_t n, fm_ingest_result *res);

/*
 * A sink for the batches of one `stress` invocation: each batch (a test's new runs [from, to)
 * of its campaign, in round r) is read back from the store and buffered; when the round
 * changes (or at flush), the round's j-th chains of every test become CI run
 * "stress:SUITE:START:rR.J".  fm_hist_stress_add and _flush return FM_HIST_OK or the first
 * failure (and keep returning it).
 */
typedef struct fm_hist_stress_sink fm_hist_stress_sink;
fm_hist_stress_sink *fm_hist_stress_new(fm_store *store, const char *suite);
fm_hist_status fm_hist_stress_add(fm_hist_stress_sink *s, int round, const char *test,
                                  int64_t campaign, int64_t from, int64_t to);
fm_hist_status fm_hist_stress_flush(fm_hist_stress_sink *s);
/* CI runs written so far. */
int64_t fm_hist_stress_runs(const fm_hist_stress_sink *s);
void fm_hist_stress_free(fm_hist_stress_sink *s);

#endif
