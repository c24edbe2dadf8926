/*
 * fm_fleet.h - how long a campaign takes on a fleet (`flakemeter plan --machines M
 * --seconds-per-run S`): the runs a question needs, spread over M machines with J slots each.
 *
 * Model: every run takes S seconds, the W = M*J slots start runs in waves, so N runs take
 * ceil(N/W) waves.  Two questions:
 *  - show p < p0: a fixed N (fm_stats_plan_runs), known before the campaign starts;
 *  - pin the attempt count for `target` with --until-decided on a shared store (docs/scale.md),
 *    if the failure rate is p: the first N at which the boundary rule stops with W runs in
 *    flight, all counted both ways (the engine's in-flight rule: after each run ends, d done,
 *    fm_stats_seq_update_range with k in [round(p d), round(p d) + W] at d + W, its state kept).
 *    With many runs in flight this costs runs: at p = 0.1 and target 1e-6, about 704 runs with
 *    1 in flight, 1844 with 32, 6989 with 200 (the running ones might all fail).  The engine
 *    narrows its state at every run; the plan checks on a grid, so it errs long.
 * Shards without a shared store cannot stop together: each must be given -n N/M.
 */
#ifndef FM_FLEET_H
#define FM_FLEET_H

#include "fm_run_status.h"

#include <stdint.h>

typedef struct {
    double seconds_per_run; /* > 0 */
    unsigned machines;      /* >= 1 */
    unsigned jobs;          /* slots per machine, >= 1 */
} fm_fleet;

typedef struct {
    uint64_t runs;      /* runs started in all (0: never decides below 2^50 runs) */
    uint64_t waves;     /* ceil(runs / (machines * jobs)) */
    double wall_s;      /* waves * seconds_per_run */
    double cpu_hours;   /* runs * seconds_per_run / 3600 */
    uint64_t in_flight; /* machines * jobs */
} fm_fleet_plan;

/* Spread a fixed number of runs. */
fm_run_status fm_fleet_spread(uint64_t runs, const fm_fleet *fleet, fm_fleet_plan *out);

/* --until-decided on a shared store at failure rate p (0 < p < 1), confidence c, target. */
fm_run_status fm_fleet_until_decided(double p, double c, double target, const fm_fleet *fleet,
                                     fm_fleet_plan *out);

#endif
