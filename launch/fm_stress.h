/*
 * fm_stress.h - per-test stress over a suite (`flakemeter stress`): every test of an fm_suite
 * run many times as its own attempts, with the budget going to the tests still undecided.
 *
 * Schedule: rounds.  In each round every active test gets one batch of `batch` runs (a call of
 * the run engine on that test's own campaign, labelled "SUITE::ID", so -j slots, timeouts,
 * retries, conditions and evidence are the engine's), in an order shuffled per round from the
 * seed, so that tests are interleaved in time and a drifting machine touches all of them alike.
 * After each batch the test's attempt count for `target` is re-decided with the boundary rule
 * (fm_stats_seq_update on its whole campaign, state kept across rounds: anytime-valid, and no
 * runs are in flight between batches).  Adaptive (default): a decided test stops getting runs.
 * Uniform (the comparison of bench/): every test keeps running until all are decided, which is
 * what a fixed per-test count needs to give the same guarantee.  Stops when every test is
 * decided, at `budget` runs in all, at `max_per_test` runs of every test, or on a signal/error.
 * Each finished batch is handed to on_batch (the CLI writes it into the CI history).
 */
#ifndef FM_STRESS_H
#define FM_STRESS_H

#include "fm_run.h"
#include "fm_stats.h"
#include "fm_suite.h"

typedef struct {
    const fm_suite *suite;
    const char *label;      /* the suite's name: campaigns "label::id", history suite label */
    const char *conditions; /* the run conditions as JSON (fm_cond_json), stored per campaign */
    fm_run_config base;   /* jobs, timeout, retries, conditions, seed, store, target, confidence */
    int64_t batch;        /* runs per test per round, >= 1 */
    int64_t budget;       /* runs (chains) in all; 0 = none */
    int64_t max_per_test; /* 0 = none (then decisions or budget must end it) */
    bool until_decided, uniform;
    /* Called after each batch: the test, its campaign and the run indices the batch added
     * ([from, to) among the campaign's runs). */
    void (*on_batch)(int round, const fm_suite_test *t, int64_t campaign, int64_t from, int64_t to,
                     void *ctx);
    void *ctx;
} fm_stress_config;

typedef struct {
    int64_t campaign;
    int64_t runs, failures; /* first attempts counted (errors excluded), whole campaign */
    int64_t runs_here;      /* chains run in this invocation */
    bool decided, indifferent, beyond;
    uint64_t attempts; /* when decided */
    fm_seq_decision seq;
} fm_stress_test;

typedef struct {
    fm_stress_test *tests; /* suite->n, in the suite's order */
    int64_t runs_here;     /* chains in this invocation, all tests */
    int rounds;
    fm_stop_reason stop; /* RUNS (caps or budget reached), DECIDED, a signal, or ERROR */
    bool budget_spent;
    double wall_s;
    char error[512];
} fm_stress_report;

/* Creates (or resumes) every test's campaign, then runs.  report->tests is malloc'ed: free it
 * with fm_stress_report_free. */
fm_run_status fm_stress_run(const fm_stress_config *config, fm_stress_report *report);
void fm_stress_report_free(fm_stress_report *report);

#endif
