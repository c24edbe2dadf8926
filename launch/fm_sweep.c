/*
 * fm_sweep.c - the sweep schedule: randomised blocks, each running one batch per cell in an
 * order drawn from the base seed, each batch a call of the run engine under the cell's
 * conditions, at most as many attempts at once as the cell allows CPUs (fm_sweep.h).
 *
 * Invariants: a cell's conditions are in force (spinners running, cgroup present) exactly
 * while its batch runs, and stopped before the next batch starts, whatever the batch's outcome;
 * the sweep ends at the first batch that stopped for a signal or an error; a batch's counted
 * first attempts and failures are added to its block (the engine's campaign totals minus what
 * the cell had before), so the blocks add up to the store's counts of this invocation.
 */
#include "fm_sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs of cell in round r: the shares floor((r+1) n / R) - floor(r n / R) add up to n. */
static int64_t share(int64_t n, int r, int rounds)
{
    return n * (r + 1) / rounds - n * r / rounds;
}

/* splitmix64 (Steele, Lea & Flood 2014): the blocks' orders from the base seed. */
static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A uniform index below n (rejection: no modulo bias). */
static size_t below(uint64_t *state, size_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = splitmix(state);
    while (x >= limit);
    return (size_t)(x % n);
}

int fm_sweep_jobs(const fm_sweep_cell *c, int jobs, bool allow_oversubscribe)
{
    if (allow_oversubscribe || c->cpu_limit <= 0 || jobs <= c->cpu_limit)
        return jobs;
    return c->cpu_limit;
}

static fm_run_status run_batch(const fm_sweep_config *c, size_t i, int block, int64_t runs,
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
    cfg.jobs = cell->jobs;
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
    uint64_t counted = (uint64_t)r.counts.first_counted, failed = (uint64_t)r.counts.first_fail;
    if (st == FM_RUN_OK && counted >= cell->seen_runs && failed >= cell->seen_fail) {
        cell->blk_runs[block] += counted - cell->seen_runs;
        cell->blk_fail[block] += failed - cell->seen_fail;
        cell->seen_runs = counted;
        cell->seen_fail = failed;
    }
    if (st != FM_RUN_OK || r.stop == FM_STOP_ERROR || r.stop == FM_STOP_SIGINT ||
        r.stop == FM_STOP_SIGTERM || r.stop == FM_STOP_SIGHUP) {
        rep->stop = r.stop == FM_STOP_RUNS ? FM_STOP_ERROR : r.stop;
        snprintf(rep->error, sizeof rep->error, "%s: %s", cell->label, r.error);
    }
    return st;
}

/* Per-block counters, the counts each cell starts from, and its attempts at once. */
static fm_run_status prepare(const fm_sweep_config *c, fm_sweep_report *rep)
{
    for (size_t i = 0; i < c->n_cells; i++) {
        fm_sweep_cell *cell = &c->cells[i];
        free(cell->blk_runs);
        free(cell->blk_fail);
        cell->blk_runs = calloc((size_t)c->rounds, sizeof *cell->blk_runs);
        cell->blk_fail = calloc((size_t)c->rounds, sizeof *cell->blk_fail);
        cell->n_blocks = c->rounds;
        if (cell->blk_runs == NULL || cell->blk_fail == NULL) {
            snprintf(rep->error, sizeof rep->error, "out of memory");
            return FM_RUN_ENOMEM;
        }
        cell->jobs = fm_sweep_jobs(cell, c->base.jobs, c->allow_oversubscribe);
        cell->prior_runs = cell->prior_fail = 0;
        fm_store_summary s;
        if (c->base.store != NULL) {
            if (fm_store_summarize(c->base.store, cell->campaign, &s) != FM_STORE_OK) {
                snprintf(rep->error, sizeof rep->error, "cannot read the results: %s",
                         fm_store_errmsg(c->base.store));
                return FM_RUN_ESTORE;
            }
            cell->prior_runs = (uint64_t)fm_store_summary_trials(&s);
            cell->prior_fail = (uint64_t)fm_store_summary_failures(&s);
        }
        cell->seen_runs = cell->prior_runs;
        cell->seen_fail = cell->prior_fail;
    }
    return FM_RUN_OK;
}

fm_run_status fm_sweep_run(const fm_sweep_config *c, fm_sweep_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->stop = FM_STOP_RUNS;
    if (c->n_cells < 1 || c->rounds < 1 || c->runs_each < 1 || c->n_cells > 4096 ||
        c->base.jobs < 1) {
        snprintf(rep->error, sizeof rep->error, "a sweep needs cells, rounds, runs and jobs");
        return FM_RUN_EINVAL;
    }
    size_t *order = malloc(c->n_cells * sizeof *order);
    fm_run_status st = order ? prepare(c, rep) : FM_RUN_ENOMEM;
    if (order == NULL)
        snprintf(rep->error, sizeof rep->error, "out of memory");
    uint64_t state = c->base.seed ^ UINT64_C(0x5357454550424c4b); /* "SWEEPBLK" */
    for (int r = 0; st == FM_RUN_OK && r < c->rounds; r++) {
        int64_t runs = share(c->runs_each, r, c->rounds);
        for (size_t j = 0; j < c->n_cells; j++)
            order[j] = j;
        for (size_t j = c->n_cells; j > 1; j--) {
            size_t t = below(&state, j), tmp = order[j - 1];
            order[j - 1] = order[t];
            order[t] = tmp;
        }
        for (size_t j = 0; j < c->n_cells && runs > 0; j++) {
            size_t i = order[j];
            if (c->on_batch)
                c->on_batch(&c->cells[i], r, c->rounds, c->ctx);
            st = run_batch(c, i, r, runs, rep);
            if (st != FM_RUN_OK || rep->stop != FM_STOP_RUNS)
                goto out;
        }
        rep->rounds_done = r + 1;
    }
out:
    free(order);
    return st;
}
