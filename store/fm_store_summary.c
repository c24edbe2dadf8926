/*
 * fm_store_summary.c - fm_store_summarize and fm_store_wall_quantile: everything the verdict
 * needs, computed from the stored rows.
 *
 * Design:
 *  - Ground truth is the rows: one scan of the campaign's primary-key range in key order, counted
 *    here (a chain's rows are consecutive; its last is its highest attempt).  It makes no
 *    assumption about the order in which rows were added.  About 0.3 s at 10^6 rows
 *    (docs/store.md).
 *  - The run engine asks for a summary at every progress tick, so the result is cached on the
 *    handle and kept current by the rows this handle adds (fm_store__summary_note): O(1) per
 *    add and per call.  The update of the chain counts uses the rule of fm_store.h that an
 *    attempt >= 2 follows a failed attempt of its chain.  The cache is dropped when a batch is
 *    lost (rollback) and recomputed when another connection has committed to the file
 *    (PRAGMA data_version changed), so it never outlives the rows it describes.
 *  - Quantiles: exact nearest rank (k = ceil(q n)) over all attempts but interrupted ones, in
 *    memory bounded whatever the number of runs (issue 19: keeping every wall grew the runner
 *    to 25 MiB at 10^6 runs): narrowing histogram passes over the campaign's walls, then a sort
 *    of the at most FM_SEL_CAP walls left in the rank's range (below).  An index on wall_ns
 *    would answer in O(k) but costs every insert a random B-tree update, which measured 6x
 *    slower batch commits (1 MB of WAL per 256-row batch at 10^6 rows).
 */
#include "fm_store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * The summary from the rows themselves: one scan of the campaign's key range, in key order, so
 * a chain's rows are consecutive and its last one is its highest attempt.  (The two SQL
 * aggregates this replaces took 1.6 s of CPU at 10^6 rows, the scan about 0.3 s.)
 */
static fm_store_status compute(fm_store *store, int64_t campaign, fm_store_summary *s)
{
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_SUMMARY_SCAN);
    if (st == NULL)
        return FM_STORE_EIO;
    memset(s, 0, sizeof *s);
    sqlite3_bind_int64(st, 1, campaign);
    int64_t chain = -1, last_attempt = 0;
    int last = -1; /* outcome of the current chain's last row so far */
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t run = sqlite3_column_int64(st, 0), attempt = sqlite3_column_int64(st, 1);
        int o = sqlite3_column_int(st, 2);
        int64_t start = sqlite3_column_int64(st, 3), wall = sqlite3_column_int64(st, 4);
        if ((unsigned)o >= FM_OUTCOME_COUNT) {
            sqlite3_reset(st);
            return fm_store__fail(store, FM_STORE_EIO, "cannot summarize: outcome %d", o);
        }
        if (run != chain && last >= 0) { /* the previous chain is complete */
            s->chains += last != FM_OUTCOME_INTERRUPTED;
            s->chains_failed += last != FM_OUTCOME_PASS && last != FM_OUTCOME_INTERRUPTED;
            s->passed_on_retry += last == FM_OUTCOME_PASS && last_attempt >= 2;
        }
        chain = run;
        last = o;
        last_attempt = attempt;
        if (s->attempts == 0 || start < s->first_start_ns)
            s->first_start_ns = start;
        if (s->attempts == 0 || start + wall > s->last_end_ns)
            s->last_end_ns = start + wall;
        s->attempts++;
        s->by_outcome[o]++;
        s->wall_ns_total += wall;
        s->max_attempt = attempt > s->max_attempt ? attempt : s->max_attempt;
        if (attempt == 1) {
            s->first++;
            s->first_by_outcome[o]++;
        } else if (o != FM_OUTCOME_INTERRUPTED) {
            s->retries++;
            s->retries_failed += o != FM_OUTCOME_PASS;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return fm_store__sqlite(store, rc, "cannot summarize");
    if (last >= 0) {
        s->chains += last != FM_OUTCOME_INTERRUPTED;
        s->chains_failed += last != FM_OUTCOME_PASS && last != FM_OUTCOME_INTERRUPTED;
        s->passed_on_retry += last == FM_OUTCOME_PASS && last_attempt >= 2;
    }
    return FM_STORE_OK;
}

void fm_store__summary_forget(fm_store *store)
{
    store->sum.valid = false;
}

void fm_store__summary_note(fm_store *store, int64_t campaign, const fm_run_record *r)
{
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

/*
 * Exact nearest-rank quantiles in bounded memory (selection by narrowing histograms).  Each
 * wanted rank k has a value range [lo, hi] known to hold it and the count of values below lo.
 * A pass over the walls either counts the values of [lo, hi] into FM_SEL_BINS equal bins, and
 * the rank's bin becomes the new range, or, once the range holds at most FM_SEL_CAP values,
 * collects them and sorts them: the rank is then read off.  A bin is 1/FM_SEL_BINS of the
 * range, so a 63-bit range is narrowed to one value in at most 6 passes; campaigns measured
 * here need 2 or 3.  Memory: FM_SEL_BINS counts and FM_SEL_CAP values per quantile, whatever
 * the number of runs.  All passes read one snapshot (a savepoint is a read transaction).
 */
#define FM_SEL_BINS 4096
#define FM_SEL_CAP  65536

typedef struct {
    int64_t rank;     /* 1-based rank among all walls */
    int64_t lo, hi;   /* inclusive range holding it */
    int64_t below;    /* walls < lo */
    int64_t in_range; /* walls in [lo, hi] (known after a pass, or n at first) */
    uint64_t width;   /* bin width of the counting pass */
    bool collect, done;
    int64_t result;
    int64_t *hist; /* FM_SEL_BINS counts */
    int64_t *vals; /* collected walls (at most FM_SEL_CAP) */
    size_t n_vals;
} fm_sel;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank k = ceil(q n), with q n that is whole up to rounding taken as whole. */
static int64_t nearest_rank(double q, int64_t n)
{
    double x = q * (double)n;
    double r = round(x);
    double k = fabs(x - r) <= 1e-9 * fmax(1.0, x) ? r : ceil(x);
    return k < 1 ? 1 : k > (double)n ? n : (int64_t)k;
}

/* Plan the next pass of a pending quantile: collect its range, or count it into bins. */
static void sel_plan(fm_sel *q)
{
    q->collect = q->in_range <= FM_SEL_CAP;
    uint64_t span = (uint64_t)q->hi - (uint64_t)q->lo; /* hi >= lo: fits */
    q->width = span / FM_SEL_BINS + 1;
    q->n_vals = 0;
    if (!q->collect)
        memset(q->hist, 0, FM_SEL_BINS * sizeof *q->hist);
}

static void sel_take(fm_sel *q, int64_t v)
{
    if (q->done || v < q->lo || v > q->hi)
        return;
    if (!q->collect)
        q->hist[((uint64_t)v - (uint64_t)q->lo) / q->width]++;
    else if (q->n_vals < FM_SEL_CAP) /* always: in_range <= FM_SEL_CAP in one snapshot */
        q->vals[q->n_vals++] = v;
}

/* After a pass: the rank read off, or its range narrowed to one bin. */
static void sel_conclude(fm_sel *q)
{
    if (q->done)
        return;
    if (q->collect) {
        qsort(q->vals, q->n_vals, sizeof *q->vals, cmp_i64);
        int64_t i = q->rank - q->below - 1;
        q->result = i >= 0 && (size_t)i < q->n_vals ? q->vals[i] : q->hi;
        q->done = true;
        return;
    }
    int64_t cum = q->below;
    for (int b = 0; b < FM_SEL_BINS; b++) {
        if (cum + q->hist[b] < q->rank) {
            cum += q->hist[b];
            continue;
        }
        int64_t lo = (int64_t)((uint64_t)q->lo + (uint64_t)b * q->width);
        uint64_t room = (uint64_t)q->hi - (uint64_t)lo;
        int64_t hi = room < q->width ? q->hi : (int64_t)((uint64_t)lo + q->width - 1);
        q->below = cum;
        q->in_range = q->hist[b];
        q->lo = lo;
        q->hi = hi;
        if (lo == hi) { /* one value: that is the rank's */
            q->result = lo;
            q->done = true;
        }
        return;
    }
    q->result = q->hi; /* not reached in one snapshot */
    q->done = true;
}

static fm_store_status scan_walls(fm_store *store, int64_t campaign, fm_sel *q, int n)
{
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_WALLS);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_int64(st, 1, campaign);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        for (int i = 0; i < n; i++)
            sel_take(&q[i], v);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot read wall times");
}

static fm_store_status select_ranks(fm_store *store, int64_t campaign, const double *qs, int n,
                                    int64_t *ns)
{
    int64_t stats[3];
    fm_store_status status = read_ints(store, FM_ST_WALL_RANGE, campaign, stats, 3);
    if (status != FM_STORE_OK)
        return status;
    if (stats[0] == 0) {
        for (int i = 0; i < n; i++)
            ns[i] = -1;
        return FM_STORE_OK;
    }
    fm_sel *q = calloc((size_t)n, sizeof *q);
    if (q == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        q[i] = (fm_sel){.rank = nearest_rank(qs[i], stats[0]),
                        .lo = stats[1],
                        .hi = stats[2],
                        .in_range = stats[0]};
        if (q[i].rank == 1 || q[i].rank == stats[0]) /* min, max: no pass needed */
            q[i].result = q[i].rank == 1 ? stats[1] : stats[2], q[i].done = true;
        else if ((q[i].hist = malloc(FM_SEL_BINS * sizeof *q[i].hist)) == NULL ||
                 (q[i].vals = malloc(FM_SEL_CAP * sizeof *q[i].vals)) == NULL) {
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (;;) {
        bool pending = false;
        for (int i = 0; i < n; i++)
            if (!q[i].done) {
                sel_plan(&q[i]);
                pending = true;
            }
        if (!pending)
            break;
        if ((status = scan_walls(store, campaign, q, n)) != FM_STORE_OK)
            goto out;
        for (int i = 0; i < n; i++)
            sel_conclude(&q[i]);
    }
    for (int i = 0; i < n; i++)
        ns[i] = q[i].result;
out:
    for (int i = 0; i < n; i++) {
        free(q[i].hist);
        free(q[i].vals);
    }
    free(q);
    return status;
}

fm_store_status fm_store_wall_quantiles(fm_store *store, int64_t campaign, const double *q, int n,
                                        int64_t *ns)
{
    if (store == NULL)
        return FM_STORE_EINVAL;
    if (n < 0 || (n > 0 && (q == NULL || ns == NULL)))
        return fm_store__fail(store, FM_STORE_EINVAL, "no quantiles asked for");
    for (int i = 0; i < n; i++)
        if (!(q[i] >= 0.0 && q[i] <= 1.0))
            return fm_store__fail(store, FM_STORE_EINVAL, "quantile outside [0, 1]");
    if (n == 0)
        return FM_STORE_OK;
#ifdef FM_HAVE_PG
    for (int i = 0; store->pg != NULL && i < n; i++) {
        fm_store_status st = fm_pg_wall_quantile(store, campaign, q[i], &ns[i]);
        if (st != FM_STORE_OK || i == n - 1)
            return st;
    }
#endif
    /* One snapshot for every pass: a savepoint opens a read transaction, or nests in the
     * batch this handle has open. */
    fm_store_status status = fm_store__exec(store, "SAVEPOINT fm_quantiles");
    if (status != FM_STORE_OK)
        return status;
    status = select_ranks(store, campaign, q, n, ns);
    sqlite3_exec(store->db, "RELEASE fm_quantiles", NULL, NULL, NULL);
    return status;
}

fm_store_status fm_store_wall_quantile(fm_store *store, int64_t campaign, double q, int64_t *ns)
{
    if (store == NULL || ns == NULL || !(q >= 0.0 && q <= 1.0))
        return store != NULL ? fm_store__fail(store, FM_STORE_EINVAL, "quantile outside [0, 1]")
                             : FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_wall_quantile(store, campaign, q, ns));
    return fm_store_wall_quantiles(store, campaign, &q, 1, ns);
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
    return fm_store_runs_from(store, campaign, 0, fn, ctx);
}
