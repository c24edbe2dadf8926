/*
 * fm_sweep.h - a sweep: the same workload or command run under several sets of conditions (the
 * full factorial of the varied names, laid out as cells by fm_sweep_layout), each cell its own
 * campaign, interleaved in randomised blocks so that drift over time (a machine warming up, a
 * neighbour starting a build) is compared within blocks instead of masquerading as an effect of
 * the conditions.
 *
 * Schedule (docs/design.md, "Sweeps"): block r = 0..rounds-1 runs every cell once, in an order
 * drawn afresh for each block from the base seed (a Fisher-Yates shuffle on splitmix64, so the
 * same seed gives the same schedule); each batch is the cell's share of runs_each (the shares of
 * a cell over the blocks add up to runs_each and differ by at most one).  Around each batch the
 * cell's conditions are started and stopped (spinners, cgroup).  A batch runs at most as many
 * attempts at once as its conditions allow CPUs (cpus, pin, ceil(quota); fm_sweep_jobs) unless
 * allow_oversubscribe: two attempts on one CPU measure preemption, not placement.  Cell c runs
 * the run indices = c mod cells (the engine's shard rule), so seeded workloads draw distinct
 * runs in every cell while the base seed (seed 0 = the upstream inputs) is the same.
 * Each batch's first attempts that count are recorded per block (the strata of the analysis);
 * runs stored by earlier invocations form one more stratum.
 * A SIGINT/SIGTERM stops the batch as `run` does (fm_run.h) and ends the sweep there.
 *
 * Analysis (fm_sweep_analyze, docs/statistics.md sec. 7): per cell the pooled counts and exact
 * interval; the pooled homogeneity and trend tests; the tests within blocks (exact conditional
 * for two cells, generalised Cochran-Mantel-Haenszel for more, CMH correlation along one
 * numeric variable), which hold whatever the drift; and drift itself: each cell's rate across
 * its blocks (exact Fisher-Freeman-Halton, chi-square past its work limit), Bonferroni over
 * the cells.
 *
 * Use: fm_sweep_layout, fm_sweep_campaigns, fm_sweep_run (the cells of the layout), then
 * fm_sweep_analyze; fm_sweep_free.  Nothing here prints.
 */
#ifndef FM_SWEEP_H
#define FM_SWEEP_H

#include "fm_run.h"
#include "fm_stats.h"

enum {
    FM_SWEEP_MAX_VARY = 8,
    FM_SWEEP_MAX_VALUES = 64,
    FM_SWEEP_MAX_CELLS = 1024,
    FM_SWEEP_MAX_WORDS = 64
};

/* One varied name (a run condition or a workload parameter) and its values. */
typedef struct {
    const char *name;
    const char *values[FM_SWEEP_MAX_VALUES];
    int n_values;
    /* Filled by fm_sweep_layout: */
    bool is_condition; /* a run condition (fm_cond_is_name), else a workload parameter */
    bool numeric;      /* every value is a finite number (score): a trend can be tested */
    double score[FM_SWEEP_MAX_VALUES];
} fm_sweep_var;

/* What to lay out: the variables over one workload (wl_words) or one command (argv). */
typedef struct {
    fm_sweep_var *vars;
    int n_vars;
    fm_cond fixed;             /* conditions for every cell (not varied) */
    char *const *wl_words;     /* NAME key=value ...: a built-in workload; NULL for a command */
    int wl_n;                  /* at most FM_SWEEP_MAX_WORDS - FM_SWEEP_MAX_VARY */
    char *const *argv;         /* the command (NULL-terminated) when wl_words is NULL */
    const char *command_label; /* the command as people read it (the default label) */
    const char *command_json;  /* the command as stored (campaigns.command) */
    const char *label;         /* base of the campaign names; NULL: the workload or command */
    const char *source_root;   /* where cross builds are found (fm_cond_check) */
} fm_sweep_spec;

/* One combination of values: a campaign. */
typedef struct {
    const char *label; /* "BASE [name=value ...]" (points at label_buf) */
    int64_t campaign;
    fm_cond_rt *cond;          /* checked with fm_cond_check; started here for each batch */
    struct fm_wl_args wl_args; /* a workload (wl_args.wl != NULL), or */
    char *const *argv;         /* a command (also a workload under --emulator) */
    /* Layout (fm_sweep_layout): */
    int level[FM_SWEEP_MAX_VARY]; /* index of each variable's value */
    fm_cond cond_set;             /* the fixed conditions and the varied ones */
    fm_cond_rt rt;
    char label_buf[768], what[256], params[1024]; /* what: "name=value ..." of the varied */
    char *words[FM_SWEEP_MAX_WORDS + 4];          /* the workload's words, or the emulator's */
    char *owned[FM_SWEEP_MAX_VARY];               /* the varied key=value words (malloc'd) */
    int cpu_limit; /* CPUs the conditions allow (cpus, pin, ceil(quota)); 0 = no limit */
    /* Counts (fm_sweep_analyze): first attempts that count, from the store. */
    uint64_t runs, failures;
    fm_interval ci; /* exact, two-sided; estimate NaN without runs */
    /* Per block of this invocation (fm_sweep_run; freed by fm_sweep_free), and what the store
     * held before it (the stratum of earlier invocations). */
    uint64_t *blk_runs, *blk_fail;
    int n_blocks;
    uint64_t prior_runs, prior_fail, seen_runs, seen_fail;
    int jobs; /* attempts at once in this cell's batches (fm_sweep_run) */
} fm_sweep_cell;

/* A laid-out sweep. */
typedef struct {
    const fm_sweep_spec *spec;
    char base_label[512]; /* the label, or the workload with its parameters, or the command */
    fm_sweep_cell *cells;
    size_t n_cells;
} fm_sweep;

/*
 * Check the variables (names, values, numeric or not), lay out the full factorial (at most
 * FM_SWEEP_MAX_CELLS cells, mixed radix, the last variable varying fastest) and check every
 * cell's conditions.  Nothing is run or stored.  FM_RUN_EINVAL (bad input) or FM_RUN_ENOMEM,
 * with one line in err naming the variable as `--vary NAME`.  fm_sweep_free in every case.
 */
fm_run_status fm_sweep_layout(const fm_sweep_spec *spec, fm_sweep *sweep, char *err,
                              size_t err_size);
void fm_sweep_free(fm_sweep *sweep);

/* Create (or find) every cell's campaign.  FM_RUN_ECONFLICT: the label of the campaign that was
 * made with another command, parameters or conditions in err; FM_RUN_ESTORE: the store's error. */
fm_run_status fm_sweep_campaigns(fm_sweep *sweep, fm_store *store, char *err, size_t err_size);

/* The analysis (docs/statistics.md sec. 7). */
typedef struct {
    /* Pooled over blocks (the cells' totals): */
    const char *test; /* "exact" (Fisher-Freeman-Halton) or "chi-square" (too many tables) */
    double homog_p;
    bool have_trend; /* one numeric variable, at least two cells: Cochran-Armitage */
    double trend_z, trend_p;
    size_t most, least; /* cells with the highest and lowest estimate (among cells with runs) */
    /* Within blocks (strata: this invocation's blocks, and earlier invocations as one): */
    size_t strata, strata_used;
    const char *strat_test; /* "exact conditional" (2 cells) or "generalised CMH" */
    double strat_p, strat_statistic, strat_df, odds_ratio; /* odds ratio: 2 cells, cell 0 vs 1 */
    bool have_strat_trend;
    double strat_trend_z, strat_trend_p;
    /* Drift: each cell's rate across this invocation's blocks. */
    bool have_drift;              /* some cell ran in at least two blocks */
    double drift_p;               /* Bonferroni over the cells tested: min(1, m * smallest p) */
    size_t drift_cell;            /* the cell with the smallest p */
    double drift_low, drift_high; /* its lowest and highest block rate */
    int drift_tested;             /* m */
} fm_sweep_analysis;

/* Read every cell's counts back from the store (so earlier invocations count) and test. */
fm_run_status fm_sweep_analyze(fm_sweep *sweep, fm_store *store, double confidence,
                               fm_sweep_analysis *out, char *err, size_t err_size);

/* Attempts at once for cell c's batches: jobs, lowered to c->cpu_limit unless allowed. */
int fm_sweep_jobs(const fm_sweep_cell *c, int jobs, bool allow_oversubscribe);

typedef struct {
    fm_run_config base;       /* jobs, timeout, grace, seed, store, progress...; runs etc. set here;
                                 base.seed also draws the blocks' orders */
    bool allow_oversubscribe; /* keep base.jobs where a cell allows fewer CPUs */
    fm_sweep_cell *cells;
    size_t n_cells;
    int64_t runs_each; /* runs per cell in this invocation */
    int rounds;        /* blocks */
    /* Called before each batch (e.g. to name the cell in a progress line). */
    void (*on_batch)(const fm_sweep_cell *cell, int round, int rounds, void *ctx);
    void *ctx;
} fm_sweep_config;

typedef struct {
    fm_stop_reason stop; /* FM_STOP_RUNS when every batch ran */
    int rounds_done;
    double wall_s;
    char error[512];
} fm_sweep_report;

fm_run_status fm_sweep_run(const fm_sweep_config *config, fm_sweep_report *report);

#endif
