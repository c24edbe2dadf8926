/*
 * fm_hist_budget.h - the inputs of a suite's retry budget (`flakemeter budget`) built from its
 * CI history, and the plans libfmstats computes from them.
 *
 * Every test that failed a first attempt (or a retry) is its own choice in the optimisation
 * (fm_stats_budget_optimize), modelled by p1 for the first attempt and, where retry chains were
 * seen, q for a retry after a failure (else q = p1).  The tests never seen failing are one
 * pooled choice, "every other test gets A attempts", bounded jointly by the single-test bound at
 * the fewest runs among them (docs/statistics.md, sec. 9).  Two models: conservative (one-sided
 * exact upper bounds at the confidence; Bonferroni halves for p1 and q as in fm_stats_chain)
 * and point (k/n).  Campaigns measured with `flakemeter run` may stand in for tests.
 */
#ifndef FM_HIST_BUDGET_H
#define FM_HIST_BUDGET_H

#include "fm_hist.h"
#include "fm_history.h"
#include "fm_stats.h"
#include "fm_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { FM_HIST_MODEL_POINT = 0, FM_HIST_MODEL_CONSERVATIVE = 1 };

#define FM_HIST_BUDGET_MAX_ATTEMPTS 64

typedef struct {
    const char *label;            /* the suite; NULL = the store's only suite */
    const char *const *campaigns; /* labels of campaigns to add as tests of that name */
    size_t n_campaigns;
    double target;     /* red-rate target per CI run, in (0, 1) */
    double confidence; /* level of the upper bounds */
    bool have_timeout; /* a timed-out attempt costs `timeout` seconds */
    double timeout;
    uint32_t max_attempts; /* 1 .. FM_HIST_BUDGET_MAX_ATTEMPTS */
    uint64_t min_runs;     /* tests with fewer CI runs are left out */
} fm_hist_budget_options;

/* One test seen failing (or a campaign), and its two models. */
typedef struct {
    const char *test;
    uint64_t n, k, nq, kq, timeouts; /* first attempts, their failures, retries, their failures */
    double pass_s, fail_s;           /* mean first-attempt seconds of passes and failures */
    fm_interval ci;                  /* exact two-sided at the confidence */
    double p[2], q[2];               /* by model */
    double fail[2][FM_HIST_BUDGET_MAX_ATTEMPTS], cost[2][FM_HIST_BUDGET_MAX_ATTEMPTS];
    uint32_t attempts[2]; /* by plan (= model) */
    double all_fail[2];   /* by plan: the chance that all its attempts fail */
    double extra[2];      /* by plan: the expected seconds its retries add to a CI run */
    /*
     * By plan, when it is infeasible: this test is one of those that make it so (the fewest,
     * largest all-fail rates at max_attempts without which the rest meets the target), and
     * `more` passing observations (retries when retries were seen, else first attempts), all
     * passing, at which its bound would fit an equal share of what the rest leaves; 0: none
     * up to 2^40.
     */
    bool blocking[2];
    uint64_t more[2];
} fm_hist_budget_test;

/*
 * The tests never seen failing, pooled.  Their bound (fm_stats_pool_bound) takes the counts of
 * every test of the suite that was not left out by its number of runs, the ones seen failing
 * too: the data chose the pool, and only a bound over all tests at once survives that choice.
 */
typedef struct {
    size_t tests;
    size_t suite_tests;  /* tests whose counts went into the bound */
    fm_pool_bound bound; /* conservative: sum of -log(1 - p_i) <= B, together <= rate */
    double seconds;      /* the longest mean duration among them: a retry costs at most that */
    double fail[2][FM_HIST_BUDGET_MAX_ATTEMPTS], cost[2][FM_HIST_BUDGET_MAX_ATTEMPTS];
    uint32_t options[2];
    uint32_t attempts[2];
    bool blocking[2]; /* as for a test (no `more`: the bound depends on every test's runs) */
} fm_hist_budget_pool;

typedef struct {
    fm_budget_plan plan;
    double current; /* predicted red rate with one attempt each */
} fm_hist_budget_plan;

typedef struct {
    const char *suite;
    fm_hist_budget_test *tests; /* by estimate, highest first, then name */
    size_t n_tests;
    size_t excluded; /* tests left out for fewer than min_runs CI runs */
    fm_hist_budget_pool others;
    int64_t ci_runs, red_runs; /* the suite's CI runs and the red ones */
    double observed;           /* red_runs / ci_runs (NaN without CI runs) */
    bool durations_known;      /* else costs are in attempts (every attempt 1 s) */
    fm_hist_budget_plan plans[2];
    /* After a failure: */
    const char *other_suite; /* FM_HIST_EAMBIGUOUS: suite and this are two of the choices */
    size_t campaign;       /* FM_HIST_ENOENT, or ENODATA for a campaign: its index; else SIZE_MAX */
    fm_stats_status stats; /* FM_HIST_ESTATS: what libfmstats said (ENOMEM: too large a plan) */
    /* Owned. */
    uint64_t *all_k_, *all_n_; /* first-attempt failures and runs of every counted test */
    size_t n_all_;
    fm_history_test *history_;
    size_t n_history_;
} fm_hist_budget;

/*
 * Read the suite's CI history and the campaigns, build every test's inputs and the pool, and
 * compute both plans.  FM_HIST_OK; FM_HIST_EAMBIGUOUS (several suites, no label);
 * FM_HIST_ENODATA (no history in the suite, or out->campaign has no completed run);
 * FM_HIST_ENOENT (no campaign named out->campaign); FM_HIST_ESTORE (fm_store_errmsg);
 * FM_HIST_ESTATS (out->stats); FM_HIST_ENOMEM; FM_HIST_EINVAL.  Release out with
 * fm_hist_budget_free whatever the status.
 */
fm_hist_status fm_hist_budget_compute(fm_store *store, const fm_hist_budget_options *opt,
                                      fm_hist_budget *out);
void fm_hist_budget_free(fm_hist_budget *b);

#endif
