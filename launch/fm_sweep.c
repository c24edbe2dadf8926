/*
 * fm_sweep.c - the sweep schedule: rounds of batches, one batch per cell per round, each batch
 * a call of the run engine under the cell's conditions (fm_sweep.h).
 *
 * Invariants: a cell's conditions are in force (spinners running, cgroup present) exactly
 * while its batch runs, and stopped before the next batch starts, whatever the batch's outcome;
 * the sweep ends at the first batch that stopped for a signal or an error.
 */
#include "fm_sweep.h"

#include <stdio.h>
#include <string.h>

/* Runs of cell in round r: the shares floor((r+1) n / R) - floor(r n / R) add up to n. */
static int64_t share(int64_t n, int r, int rounds)
{
    return n * (r + 1) / rounds - n * r / rounds;
}

static fm_run_status run_batch(const fm_sweep_config *c, size_t i, int64_t runs,
                               fm_sweep_report *rep)
{
    fm_sweep_cell *cell = &c->cells[i];
    fm_run_config cfg = c->base;
    cfg.wl_args = cell->wl_args;
    cfg.argv = cell->argv;
    cfg.campaign = cell->campaign;
    cfg.label = cell->label;
    cfg.cond = cell->cond;
    cfg.runs = runs;
    cfg.shard_index = (unsigned)i;
    cfg.shard_count = (unsigned)c->n_cells;
    if (fm_cond_start(cell->cond, rep->error, sizeof rep->error) != 0) {
        rep->stop = FM_STOP_ERROR;
        return FM_RUN_ESYSTEM;
    }
    fm_run_report r;
    fm_run_status st = fm_run_campaign(&cfg, &r);
    fm_cond_stop(cell->cond);
    rep->wall_s += r.wall_s;
    if (st != FM_RUN_OK || r.stop == FM_STOP_ERROR || r.stop == FM_STOP_SIGINT ||
        r.stop == FM_STOP_SIGTERM || r.stop == FM_STOP_SIGHUP) {
        rep->stop = r.stop == FM_STOP_RUNS ? FM_STOP_ERROR : r.stop;
        snprintf(rep->error, sizeof rep->error, "%s: %s", cell->label, r.error);
    }
    return st;
}

fm_run_status fm_sweep_run(const fm_sweep_config *c, fm_sweep_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->stop = FM_STOP_RUNS;
    if (c->n_cells < 1 || c->rounds < 1 || c->runs_each < 1 || c->n_cells > 4096) {
        snprintf(rep->error, sizeof rep->error, "a sweep needs cells, rounds and runs");
        return FM_RUN_EINVAL;
    }
    for (int r = 0; r < c->rounds; r++) {
        int64_t runs = share(c->runs_each, r, c->rounds);
        for (size_t j = 0; j < c->n_cells && runs > 0; j++) {
            size_t i = (j + (size_t)r) % c->n_cells;
            if (c->on_batch)
                c->on_batch(&c->cells[i], r, c->rounds, c->ctx);
            fm_run_status st = run_batch(c, i, runs, rep);
            if (st != FM_RUN_OK || rep->stop != FM_STOP_RUNS)
                return st;
        }
        rep->rounds_done = r + 1;
    }
    return FM_RUN_OK;
}
