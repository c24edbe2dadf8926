/*
 * fm_sweep.h - a sweep: the same workload or command run under several sets of conditions (a
 * full factorial the caller has laid out as cells), each cell its own campaign, interleaved in
 * rounds so that drift over time (a machine warming up, a neighbour starting a build) spreads
 * over every cell instead of masquerading as an effect of the conditions.
 *
 * Schedule (docs/design.md, "Sweeps"): round r = 0..rounds-1 runs, for each cell in turn
 * (starting at cell r mod cells, so no cell is always first), its share of runs_each (the
 * shares of a cell over the rounds add up to runs_each and differ by at most one).  Around each
 * batch the cell's conditions are started and stopped (spinners, cgroup).  Cell c runs the run
 * indices = c mod cells (the engine's shard rule), so seeded workloads draw distinct runs in
 * every cell while the base seed (seed 0 = the upstream inputs) is the same.
 * A SIGINT/SIGTERM stops the batch as `run` does (fm_run.h) and ends the sweep there.
 */
#ifndef FM_SWEEP_H
#define FM_SWEEP_H

#include "fm_run.h"

typedef struct {
    const char *label;
    int64_t campaign;
    fm_cond_rt *cond;          /* checked with fm_cond_check; started here for each batch */
    struct fm_wl_args wl_args; /* a workload (wl_args.wl != NULL), or */
    char *const *argv;         /* a command (also a workload under --emulator) */
} fm_sweep_cell;

typedef struct {
    fm_run_config base; /* jobs, timeout, grace, seed, store, progress...; runs etc. set here */
    fm_sweep_cell *cells;
    size_t n_cells;
    int64_t runs_each; /* runs per cell in this invocation */
    int rounds;
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
