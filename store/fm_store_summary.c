/*
 * fm_store_summary.c - fm_store_summarize and fm_store_wall_quantile: everything the verdict
 * needs, computed from the stored rows.
 *
 * Design:
 *  - Ground truth is SQL: two scans of the campaign's primary-key range (counts per row, then
 *    one row per chain through GROUP BY run_index, which streams over the key).  It makes no
 *    assumption about the order or shape of chains.  About 1 s at 10^6 rows (docs/store.md).
 *  - The run engine asks for a summary at every progress tick, so the result is cached on the
 *    handle and kept current by the rows this handle adds (fm_store__summary_note): O(1) per
 *    add and per call.  The update of the chain counts uses the rule of fm_store.h that an
 *    attempt >= 2 follows a failed attempt of its chain.  The cache is dropped when a batch is
 *    lost (rollback) and recomputed when another connection has committed to the file
 *    (PRAGMA data_version changed), so it never outlives the rows it describes.
 *  - Quantiles: nearest rank (k = ceil(q n)) over all attempts.  The walls of the campaign are
 *    read in one scan and sorted once, then cached for as long as no row is added; an index on
 *    wall_ns would answer in O(k) but costs every insert a random B-tree update, which measured
 *    6x slower batch commits (1 MB of WAL per 256-row batch at 10^6 rows).
 */
#include "fm_store_internal.h"

#include <math.h>
#include <stdlib.h>

static fm_store_status data_version(fm_store *store, int64_t *v)
{
    bool null;
    return fm_store__query_int(store, FM_ST_DATA_VERSION, 0, v, &null);
}

/* Step a statement bound to the campaign and read its integer columns into out[]. */
static fm_store_status read_ints(fm_store *store, fm_store_stmt_id id, int64_t campaign,
                                 int64_t *out, int n)
{
    sqlite3_stmt *st = fm_store__stmt(store, id);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_int64(st, 1, campaign);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        for (int i = 0; i < n; i++)
            out[i] = sqlite3_column_int64(st, i);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot summarize");
}

/* The summary from the rows themselves. */
static fm_store_status compute(fm_store *store, int64_t campaign, fm_store_summary *s)
{
    int64_t r[20], c[3];
    fm_store_status status = read_ints(store, FM_ST_SUMMARY_ROWS, campaign, r, 20);
    if (status == FM_STORE_OK)
        status = read_ints(store, FM_ST_SUMMARY_CHAINS, campaign, c, 3);
    if (status != FM_STORE_OK)
        return status;
    int k = 0;
    s->attempts = r[k++];
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        s->by_outcome[o] = r[k++];
    s->first = r[k++];
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        s->first_by_outcome[o] = r[k++];
    s->retries = r[k++];
    s->retries_failed = r[k++];
    s->max_attempt = r[k++];
    s->wall_ns_total = r[k++];
    s->first_start_ns = r[k++];
    s->last_end_ns = r[k++];
    s->chains = c[0];
    s->chains_failed = c[1];
    s->passed_on_retry = c[2];
    return FM_STORE_OK;
}

void fm_store__summary_forget(fm_store *store)
{
    store->sum.valid = false;
    store->walls.valid = false;
    store->generation++;
}

void fm_store__summary_note(fm_store *store, int64_t campaign, const fm_run_record *r)
{
    store->generation++;
    fm_store_summary *s = &store->sum.s;
    if (!store->sum.valid || store->sum.campaign != campaign)
        return;
    bool failed = r->outcome != FM_OUTCOME_PASS;
    bool cut = r->outcome == FM_OUTCOME_INTERRUPTED; /* its chain did not finish */
    if (s->attempts == 0 || r->start_ns < s->first_start_ns)
        s->first_start_ns = r->start_ns;
    if (s->attempts == 0 || r->start_ns + r->wall_ns > s->last_end_ns)
        s->last_end_ns = r->start_ns + r->wall_ns;
    s->attempts++;
    s->by_outcome[r->outcome]++;
    s->wall_ns_total += r->wall_ns;
    if ((int64_t)r->attempt > s->max_attempt)
        s->max_attempt = r->attempt;
    if (r->attempt == 1) {
        s->first++;
        s->first_by_outcome[r->outcome]++;
        s->chains += !cut;
        s->chains_failed += failed && !cut;
        return;
    }
    /* A retry: its chain's last attempt so far failed (fm_store.h), and this one is now last. */
    if (cut) { /* the chain, counted failed so far, no longer counts */
        s->chains--;
        s->chains_failed--;
        return;
    }
    s->retries++;
    s->retries_failed += failed;
    s->chains_failed += failed ? 0 : -1;
    s->passed_on_retry += !failed;
}

fm_store_status fm_store_summarize(fm_store *store, int64_t campaign, fm_store_summary *out)
{
    if (store == NULL || out == NULL)
        return FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_summarize(store, campaign, out));
    int64_t version;
    fm_store_status status = data_version(store, &version);
    if (status != FM_STORE_OK)
        return status;
    fm_store_summary_cache *c = &store->sum;
    if (!c->valid || c->campaign != campaign || c->data_version != version) {
        c->valid = false;
        status = compute(store, campaign, &c->s);
        if (status != FM_STORE_OK)
            return status;
        *c = (fm_store_summary_cache){true, campaign, version, c->s};
    }
    *out = c->s;
    return FM_STORE_OK;
}

/* ---- Quantiles ------------------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Read and sort the walls of the campaign into the cache. */
static fm_store_status load_walls(fm_store *store, int64_t campaign, int64_t version)
{
    fm_store_walls_cache *w = &store->walls;
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_WALLS);
    if (st == NULL)
        return FM_STORE_EIO;
    w->valid = false;
    w->n = 0;
    size_t cap = 0;
    fm_store_status status = FM_STORE_OK;
    sqlite3_bind_int64(st, 1, campaign);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (w->n == cap) {
            cap = cap ? 2 * cap : 1024;
            int64_t *grown = realloc(w->v, cap * sizeof *grown);
            if (grown == NULL) {
                status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
                goto out;
            }
            w->v = grown;
        }
        w->v[w->n++] = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE) {
        status = fm_store__sqlite(store, rc, "cannot read wall times");
        goto out;
    }
    if (w->n > 1)
        qsort(w->v, w->n, sizeof *w->v, cmp_i64);
    w->valid = true;
    w->campaign = campaign;
    w->data_version = version;
    w->generation = store->generation;
out:
    sqlite3_reset(st);
    return status;
}

/* Nearest rank k = ceil(q n), with q n that is whole up to rounding taken as whole. */
static size_t nearest_rank(double q, size_t n)
{
    double x = q * (double)n;
    double r = round(x);
    double k = fabs(x - r) <= 1e-9 * fmax(1.0, x) ? r : ceil(x);
    return k < 1 ? 1 : k > (double)n ? n : (size_t)k;
}

fm_store_status fm_store_wall_quantile(fm_store *store, int64_t campaign, double q, int64_t *ns)
{
    if (store == NULL || ns == NULL || !(q >= 0.0 && q <= 1.0))
        return store != NULL ? fm_store__fail(store, FM_STORE_EINVAL, "quantile outside [0, 1]")
                             : FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_wall_quantile(store, campaign, q, ns));
    int64_t version;
    fm_store_status status = data_version(store, &version);
    if (status != FM_STORE_OK)
        return status;
    fm_store_walls_cache *w = &store->walls;
    if (!w->valid || w->campaign != campaign || w->data_version != version ||
        w->generation != store->generation) {
        status = load_walls(store, campaign, version);
        if (status != FM_STORE_OK)
            return status;
    }
    *ns = w->n == 0 ? -1 : w->v[nearest_rank(q, w->n) - 1];
    return FM_STORE_OK;
}

int64_t fm_store_summary_trials(const fm_store_summary *s)
{
    int64_t n = 0;
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        n += fm_outcome_counted((fm_outcome)o) ? s->first_by_outcome[o] : 0;
    return n;
}

int64_t fm_store_summary_failures(const fm_store_summary *s)
{
    return fm_store_summary_trials(s) - s->first_by_outcome[FM_OUTCOME_PASS];
}

fm_store_status fm_store_runs_each(fm_store *store, int64_t campaign,
                                   int (*fn)(const fm_run_record *run, void *ctx), void *ctx)
{
    if (store == NULL || fn == NULL)
        return FM_STORE_EINVAL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT run_index, attempt, seed, outcome, exit_code, signal, "
                                "core_dumped, start_ns, wall_ns, user_us, sys_us, max_rss_kb "
                                "FROM runs WHERE campaign = ?1 ORDER BY run_index, attempt",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_int64(st, 1, campaign);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        fm_run_record r = {
            .run_index = sqlite3_column_int64(st, 0),
            .attempt = (uint32_t)sqlite3_column_int64(st, 1),
            .seed = (uint64_t)sqlite3_column_int64(st, 2),
            .outcome = (fm_outcome)sqlite3_column_int(st, 3),
            .exit_code = sqlite3_column_int(st, 4),
            .signal = sqlite3_column_int(st, 5),
            .core_dumped = sqlite3_column_int(st, 6) != 0,
            .start_ns = sqlite3_column_int64(st, 7),
            .wall_ns = sqlite3_column_int64(st, 8),
            .user_us = sqlite3_column_int64(st, 9),
            .sys_us = sqlite3_column_int64(st, 10),
            .max_rss_kb = sqlite3_column_int64(st, 11),
        };
        if (fn(&r, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
        rc = SQLITE_OK;
    }
    fm_store_status status =
        rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot read the runs");
    sqlite3_finalize(st);
    return status;
}
