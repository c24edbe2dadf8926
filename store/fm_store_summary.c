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
 *    to 25 MiB at 10^6 runs).  The stored wall buckets (schema 4) give each rank's bucket and
 *    the walls below it; the walls of that one bucket are then read through runs_wall_seg
 *    (schema 5, fm_store_internal.h), segment by segment, and selected by the narrowing
 *    histogram passes below (one pass collects them when the bucket holds at most FM_SEL_CAP).
 *    Without stored buckets (or when they disagree with the rows) the same passes run over all
 *    of the campaign's walls.
 */
#include "fm_grow.h"
#include "fm_store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Wall buckets: logarithmic, FM_BUCKET_BITS bits of mantissa, as HdrHistogram lays them out:
 * walls below 2^FM_BUCKET_BITS ns each have their own bucket, and each octave [2^e, 2^(e+1))
 * above is cut into 2^FM_BUCKET_BITS equal buckets (width 2^e / 4096, under 0.025 % of the
 * wall; schema 4 had 10 bits, 0.1 %).  Bucket numbers rise with the wall, so the buckets in
 * order, with their counts, give the bucket of any rank and the number of walls below it; the
 * rank is then selected among that one bucket's walls (select_stored), which an exact quantile
 * must read: 12 bits make that read 4x smaller than 10 for walls spread over few buckets, for
 * at most 4x the rows of wall_buckets.  A negative wall (not written by flakemeter) is bucket -1.
 */
#define FM_BUCKET_BITS 12
#define FM_BUCKETS     ((62 - FM_BUCKET_BITS + 2) << FM_BUCKET_BITS) /* 0 .. FM_BUCKETS - 1 */

/* a + b, held at INT64_MAX/INT64_MIN instead of overflowing (a wall of INT64_MAX is stored as
 * given: the sums and ends that include it say "at least this"). */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t wall_bucket(int64_t wall)
{
    if (wall < 0)
        return -1;
    uint64_t u = (uint64_t)wall;
    if (u < (1u << FM_BUCKET_BITS))
        return (int64_t)u;
    int e = 63 - __builtin_clzll(u); /* FM_BUCKET_BITS <= e <= 62 */
    uint64_t mantissa = (u >> (e - FM_BUCKET_BITS)) & ((1u << FM_BUCKET_BITS) - 1);
    return ((int64_t)(e - FM_BUCKET_BITS + 1) << FM_BUCKET_BITS) | (int64_t)mantissa;
}

/* The smallest wall of bucket b. */
static int64_t bucket_low(int64_t b)
{
    if (b < 0)
        return INT64_MIN;
    if (b < (1 << FM_BUCKET_BITS))
        return b;
    int e = (int)(b >> FM_BUCKET_BITS) + FM_BUCKET_BITS - 1;
    uint64_t mantissa = (uint64_t)b & ((1u << FM_BUCKET_BITS) - 1);
    return (int64_t)(((uint64_t)1 << e) | (mantissa << (e - FM_BUCKET_BITS)));
}

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
static fm_store_status scan(fm_store *store, int64_t campaign, fm_store_summary *s, int64_t *hist)
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
        if (s->attempts == 0 || sat_add(start, wall) > s->last_end_ns)
            s->last_end_ns = sat_add(start, wall);
        s->attempts++;
        s->by_outcome[o]++;
        s->wall_ns_total = sat_add(s->wall_ns_total, wall);
        s->max_attempt = attempt > s->max_attempt ? attempt : s->max_attempt;
        if (hist != NULL && o != FM_OUTCOME_INTERRUPTED)
            hist[wall_bucket(wall) + 1]++;
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

/* Count one added row into s, by the rule of fm_store.h that an attempt >= 2 follows a failed
 * attempt of its chain (s may be a whole campaign's summary or the delta of a batch). */
static void count_row(fm_store_summary *s, const fm_run_record *r)
{
    bool failed = r->outcome != FM_OUTCOME_PASS;
    bool cut = r->outcome == FM_OUTCOME_INTERRUPTED; /* its chain did not finish */
    if (s->attempts == 0 || r->start_ns < s->first_start_ns)
        s->first_start_ns = r->start_ns;
    if (s->attempts == 0 || sat_add(r->start_ns, r->wall_ns) > s->last_end_ns)
        s->last_end_ns = sat_add(r->start_ns, r->wall_ns);
    s->attempts++;
    s->by_outcome[r->outcome]++;
    s->wall_ns_total = sat_add(s->wall_ns_total, r->wall_ns);
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

void fm_store__summary_note(fm_store *store, int64_t campaign, const fm_run_record *r)
{
    if (store->sum.valid && store->sum.campaign == campaign)
        count_row(&store->sum.s, r);
}

/* ---- Stored counts (schema 4) ---------------------------------------------------------------- */

/* An fm_store_summary as the FM_STORE_TALLY_COLS values, in that order. */
static void pack(const fm_store_summary *s, int64_t *v)
{
    int k = 0;
    v[k++] = s->attempts;
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        v[k++] = s->by_outcome[o];
    v[k++] = s->first;
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        v[k++] = s->first_by_outcome[o];
    int64_t rest[9] = {s->chains,        s->chains_failed,  s->passed_on_retry,
                       s->retries,       s->retries_failed, s->max_attempt,
                       s->wall_ns_total, s->first_start_ns, s->last_end_ns};
    memcpy(v + k, rest, sizeof rest);
}

static void unpack(const int64_t *v, fm_store_summary *s)
{
    int k = 0;
    s->attempts = v[k++];
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        s->by_outcome[o] = v[k++];
    s->first = v[k++];
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        s->first_by_outcome[o] = v[k++];
    s->chains = v[k++];
    s->chains_failed = v[k++];
    s->passed_on_retry = v[k++];
    s->retries = v[k++];
    s->retries_failed = v[k++];
    s->max_attempt = v[k++];
    s->wall_ns_total = v[k++];
    s->first_start_ns = v[k++];
    s->last_end_ns = v[k++];
}

/* The stored tallies of a campaign: *found false when it has no row (then s is untouched). */
static fm_store_status tally_read(fm_store *store, int64_t campaign, fm_store_summary *s,
                                  bool *found)
{
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_TALLY_READ);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_int64(st, 1, campaign);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        int64_t v[FM_STORE_TALLY_N];
        for (int i = 0; i < FM_STORE_TALLY_N; i++)
            v[i] = sqlite3_column_int64(st, i);
        memset(s, 0, sizeof *s);
        unpack(v, s);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? FM_STORE_OK
               : fm_store__sqlite(store, rc, "cannot read counts");
}

static fm_store_status tally_write(fm_store *store, int64_t campaign, const fm_store_summary *s)
{
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_TALLY_WRITE);
    if (st == NULL)
        return FM_STORE_EIO;
    int64_t v[FM_STORE_TALLY_N];
    pack(s, v);
    sqlite3_bind_int64(st, 1, campaign);
    for (int i = 0; i < FM_STORE_TALLY_N; i++)
        sqlite3_bind_int64(st, i + 2, v[i]);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot write counts");
}

/* a += d, where d counts rows added after a's (its chain counts may be negative). */
static void combine(fm_store_summary *a, const fm_store_summary *d)
{
    if (d->attempts == 0)
        return;
    if (a->attempts == 0 || d->first_start_ns < a->first_start_ns)
        a->first_start_ns = d->first_start_ns;
    if (a->attempts == 0 || d->last_end_ns > a->last_end_ns)
        a->last_end_ns = d->last_end_ns;
    a->attempts += d->attempts;
    a->first += d->first;
    for (int o = 0; o < FM_OUTCOME_COUNT; o++) {
        a->by_outcome[o] += d->by_outcome[o];
        a->first_by_outcome[o] += d->first_by_outcome[o];
    }
    a->chains += d->chains;
    a->chains_failed += d->chains_failed;
    a->passed_on_retry += d->passed_on_retry;
    a->retries += d->retries;
    a->retries_failed += d->retries_failed;
    a->max_attempt = d->max_attempt > a->max_attempt ? d->max_attempt : a->max_attempt;
    a->wall_ns_total = sat_add(a->wall_ns_total, d->wall_ns_total);
}

/* Run one statement with integer parameters ?1.. that returns no rows. */
static fm_store_status exec_ints(fm_store *store, const char *sql, const int64_t *v, int n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
    for (int i = 0; rc == SQLITE_OK && i < n; i++)
        sqlite3_bind_int64(st, i + 1, v[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(store->db);
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot count runs");
}

static fm_store_status add_count(fm_store *store, fm_store_stmt_id id, const int64_t *v, int n)
{
    sqlite3_stmt *st = fm_store__stmt(store, id);
    if (st == NULL)
        return FM_STORE_EIO;
    for (int i = 0; i < n; i++)
        sqlite3_bind_int64(st, i + 1, v[i]);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot write counts");
}

fm_store_status fm_store__retally(fm_store *store, int64_t campaign)
{
    int64_t *hist = calloc(FM_BUCKETS + 1, sizeof *hist); /* index bucket + 1 */
    if (hist == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    fm_store_summary sum;
    fm_store_status status = scan(store, campaign, &sum, hist);
    if (status == FM_STORE_OK)
        status = tally_write(store, campaign, &sum);
    if (status == FM_STORE_OK)
        status = exec_ints(store, "DELETE FROM causes WHERE campaign = ?1", &campaign, 1);
    if (status == FM_STORE_OK)
        status = exec_ints(
            store,
            "INSERT INTO causes (campaign, outcome, has_code, code, n) SELECT ?1, outcome, "
            "code IS NOT NULL, ifnull(code, 0), count(*) FROM (SELECT outcome, CASE WHEN outcome "
            "IN (1, 4) THEN exit_code ELSE signal END AS code FROM runs WHERE campaign = ?1 AND "
            "attempt = 1 AND outcome NOT IN (0, 5)) GROUP BY outcome, code",
            &campaign, 1);
    if (status == FM_STORE_OK)
        status = exec_ints(store, "DELETE FROM wall_buckets WHERE campaign = ?1", &campaign, 1);
    for (int64_t b = 0; status == FM_STORE_OK && b <= FM_BUCKETS; b++)
        if (hist[b] > 0)
            status = add_count(store, FM_ST_BUCKET_ADD, (int64_t[]){campaign, b - 1, hist[b]}, 3);
    free(hist);
    return status;
}

static fm_store_tally *tally_slot(fm_store *store, int64_t campaign)
{
    for (size_t i = 0; i < store->n_tal; i++)
        if (store->tal[i].campaign == campaign)
            return &store->tal[i];
    if (!fm_grow(&store->tal, &store->cap_tal, store->n_tal + 1, sizeof *store->tal, 4))
        return NULL;
    fm_store_tally *t = &store->tal[store->n_tal++];
    memset(t, 0, sizeof *t);
    t->campaign = campaign;
    return t;
}

fm_store_status fm_store__tally_copy(fm_store *src, int64_t src_id, fm_store *dst, int64_t dst_id,
                                     bool *copied)
{
    fm_store_summary sum;
    *copied = false;
    fm_store_status status = tally_read(src, src_id, &sum, copied);
    if (status != FM_STORE_OK || !*copied)
        return status;
    fm_store_tally *t = tally_slot(dst, dst_id);
    if (t == NULL)
        return fm_store__fail(dst, FM_STORE_ENOMEM, "out of memory");
    *copied = false;
    status = tally_write(dst, dst_id, &sum);
    static const fm_store_stmt_id from[2] = {FM_ST_CAUSES, FM_ST_BUCKETS};
    for (int k = 0; k < 2 && status == FM_STORE_OK; k++) {
        sqlite3_stmt *st = fm_store__stmt(src, from[k]);
        if (st == NULL)
            return FM_STORE_EIO;
        sqlite3_bind_int64(st, 1, src_id);
        int rc;
        while (status == FM_STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
            status = k == 0 ? add_count(dst, FM_ST_CAUSE_ADD,
                                        (int64_t[]){dst_id, sqlite3_column_int64(st, 0),
                                                    sqlite3_column_int64(st, 1),
                                                    sqlite3_column_int64(st, 2),
                                                    sqlite3_column_int64(st, 3)},
                                        5)
                            : add_count(dst, FM_ST_BUCKET_ADD,
                                        (int64_t[]){dst_id, sqlite3_column_int64(st, 0),
                                                    sqlite3_column_int64(st, 1)},
                                        3);
        sqlite3_reset(st);
        if (status == FM_STORE_OK && rc != SQLITE_DONE)
            status = fm_store__sqlite(src, rc, "cannot read counts");
    }
    if (status == FM_STORE_OK) { /* counted: no recount at the commit */
        memset(&t->d, 0, sizeof t->d);
        t->dirty = false;
        *copied = true;
    }
    return status;
}

static bool count_add(fm_store *store, int64_t campaign, int kind, int64_t a, int64_t b, int64_t c)
{
    for (size_t i = store->n_cnt; i-- > 0;) { /* the latest first: walls of a batch are alike */
        fm_store_count *x = &store->cnt[i];
        if (x->campaign == campaign && x->kind == kind && x->a == a && x->b == b && x->c == c) {
            x->n++;
            return true;
        }
    }
    if (!fm_grow(&store->cnt, &store->cap_cnt, store->n_cnt + 1, sizeof *store->cnt, 64))
        return false;
    store->cnt[store->n_cnt++] = (fm_store_count){campaign, kind, a, b, c, 1};
    return true;
}

fm_store_status fm_store__tally_add(fm_store *store, int64_t campaign, const fm_run_record *r)
{
    fm_store_tally *t = tally_slot(store, campaign);
    if (t == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    if (t->dirty)
        return FM_STORE_OK;
    count_row(&t->d, r);
    bool ok = true;
    if (r->attempt == 1 && r->outcome != FM_OUTCOME_PASS && r->outcome != FM_OUTCOME_INTERRUPTED) {
        fm_store_cause c = fm_store_cause_of(r);
        ok = count_add(store, campaign, 0, c.outcome, c.has_code, c.has_code ? c.code : 0);
    }
    if (ok && r->outcome != FM_OUTCOME_INTERRUPTED)
        ok = count_add(store, campaign, 1, wall_bucket(r->wall_ns), 0, 0);
    return ok ? FM_STORE_OK : fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
}

fm_store_status fm_store__tally_dirty(fm_store *store, int64_t campaign)
{
    fm_store_tally *t = tally_slot(store, campaign);
    if (t == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    t->dirty = true;
    return FM_STORE_OK;
}

void fm_store__tally_drop(fm_store *store)
{
    store->n_tal = store->n_cnt = 0;
}

static fm_store_status sync_pending(fm_store *store)
{
    fm_store_status status = FM_STORE_OK;
    for (size_t i = 0; status == FM_STORE_OK && i < store->n_tal; i++) {
        fm_store_tally *t = &store->tal[i];
        fm_store_summary have;
        bool found = false;
        if (!t->dirty && (status = tally_read(store, t->campaign, &have, &found)) != FM_STORE_OK)
            break;
        if (!found) { /* merged rows, or no row yet: count the campaign from its rows */
            t->dirty = true;
            status = fm_store__retally(store, t->campaign);
            continue;
        }
        combine(&have, &t->d);
        status = tally_write(store, t->campaign, &have);
    }
    for (size_t i = 0; status == FM_STORE_OK && i < store->n_cnt; i++) {
        const fm_store_count *c = &store->cnt[i];
        fm_store_tally *t = tally_slot(store, c->campaign); /* present: no allocation */
        if (t == NULL || t->dirty)
            continue; /* recounted whole above */
        status = c->kind == 0
                     ? add_count(store, FM_ST_CAUSE_ADD,
                                 (int64_t[]){c->campaign, c->a, c->b, c->c, c->n}, 5)
                     : add_count(store, FM_ST_BUCKET_ADD, (int64_t[]){c->campaign, c->a, c->n}, 3);
    }
    return status;
}

/*
 * Write what is pending in a savepoint: on failure nothing of it stays written and it stays
 * pending (the caller's commit fails and rolls the batch back; a read may try again).
 */
fm_store_status fm_store__tally_sync(fm_store *store)
{
    if (store->db == NULL || (store->n_tal == 0 && store->n_cnt == 0))
        return FM_STORE_OK;
    if (sqlite3_get_autocommit(store->db)) {
        /* The transaction that held the rows is gone (SQLite rolls a whole transaction back on
         * some failures: out of memory, a full disk): so are the rows, and so go their counts.
         * (A savepoint here would open a new transaction and commit counts without rows.) */
        fm_store__tally_drop(store);
        return fm_store__fail(store, FM_STORE_EIO, "the batch was lost: %s",
                              sqlite3_errmsg(store->db));
    }
    fm_store_status status = fm_store__exec(store, "SAVEPOINT fm_tally");
    if (status != FM_STORE_OK)
        return status;
    status = sync_pending(store);
    if (status != FM_STORE_OK) /* (a campaign marked for a recount above stays marked) */
        sqlite3_exec(store->db, "ROLLBACK TO fm_tally", NULL, NULL, NULL);
    sqlite3_exec(store->db, "RELEASE fm_tally", NULL, NULL, NULL);
    if (status == FM_STORE_OK)
        fm_store__tally_drop(store);
    return status;
}

/* The campaign's summary: its stored tallies (after writing this handle's pending counts into
 * its open batch), or a scan of its rows when it has none (a store written by hand). */
static fm_store_status compute(fm_store *store, int64_t campaign, fm_store_summary *s)
{
    bool found = false;
    fm_store_status status = fm_store__tally_sync(store);
    if (status == FM_STORE_OK)
        status = tally_read(store, campaign, s, &found);
    if (status != FM_STORE_OK || found)
        return status;
    return scan(store, campaign, s, NULL);
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
    int64_t *vals; /* collected walls (at most cap) */
    size_t n_vals, cap;
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
    else if (q->n_vals < q->cap) /* always: in_range < cap in one snapshot */
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

static fm_store_status select_by_passes(fm_store *store, int64_t campaign, const double *qs, int n,
                                        int64_t *ns);

/* The largest wall of bucket b. */
static int64_t bucket_high(int64_t b)
{
    if (b < 0)
        return -1;
    return b + 1 < FM_BUCKETS ? bucket_low(b + 1) - 1 : INT64_MAX;
}

/* The campaign's non-empty segments of runs_wall_seg, ascending (one index seek each). */
static fm_store_status wall_segments(fm_store *store, int64_t campaign, int64_t **seg, size_t *n)
{
    size_t cap = 0;
    int64_t from = INT64_MIN;
    fm_store_status status = FM_STORE_OK;
    *seg = NULL;
    *n = 0;
    for (;;) {
        sqlite3_stmt *st = fm_store__stmt(store, FM_ST_SEG_NEXT);
        if (st == NULL)
            return FM_STORE_EIO;
        sqlite3_bind_int64(st, 1, campaign);
        sqlite3_bind_int64(st, 2, from);
        int rc = sqlite3_step(st);
        int64_t s = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            status = fm_store__sqlite(store, rc, "cannot read wall times");
            break;
        }
        if (!fm_grow(seg, &cap, *n + 1, sizeof **seg, 64)) {
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
            break;
        }
        (*seg)[(*n)++] = s;
        if (s == INT64_MAX)
            break;
        from = s + 1;
    }
    if (status != FM_STORE_OK) {
        free(*seg);
        *seg = NULL;
        *n = 0;
    }
    return status;
}

/*
 * One pass of the pending quantiles over their ranges, segment by segment: each range is read
 * in each segment through runs_wall_seg.  Ranges of one pass are equal or disjoint (each lies in
 * its rank's bucket and is narrowed on the same grid as any other of that bucket), so a range
 * is read once, for every quantile that has it.
 */
static fm_store_status scan_segments(fm_store *store, int64_t campaign, const int64_t *seg,
                                     size_t n_seg, fm_sel *q, int n)
{
    for (size_t s = 0; s < n_seg; s++)
        for (int i = 0; i < n; i++) {
            bool seen = q[i].done;
            for (int j = 0; !seen && j < i; j++)
                seen = !q[j].done && q[j].lo == q[i].lo && q[j].hi == q[i].hi;
            if (seen)
                continue;
            sqlite3_stmt *st = fm_store__stmt(store, FM_ST_SEG_WALLS);
            if (st == NULL)
                return FM_STORE_EIO;
            sqlite3_bind_int64(st, 1, campaign);
            sqlite3_bind_int64(st, 2, seg[s]);
            sqlite3_bind_int64(st, 3, q[i].lo);
            sqlite3_bind_int64(st, 4, q[i].hi);
            int rc;
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                int64_t v = sqlite3_column_int64(st, 0);
                for (int j = i; j < n; j++)
                    sel_take(&q[j], v);
            }
            sqlite3_reset(st);
            if (rc != SQLITE_DONE)
                return fm_store__sqlite(store, rc, "cannot read wall times");
        }
    return FM_STORE_OK;
}

/* Memory for a pending quantile's next pass, as its range needs (its walls plus one, so that a
 * row more than counted shows, or the bins once), then its plan; false when out of memory. */
static bool sel_ready(fm_sel *q)
{
    bool collect = q->in_range <= FM_SEL_CAP;
    if (collect && q->vals == NULL) {
        q->cap = (size_t)q->in_range + 1;
        q->vals = malloc(q->cap * sizeof *q->vals);
    } else if (!collect && q->hist == NULL)
        q->hist = malloc(FM_SEL_BINS * sizeof *q->hist);
    if (collect ? q->vals == NULL : q->hist == NULL)
        return false;
    sel_plan(q);
    return true;
}

/* The walls a pass saw in a pending quantile's range. */
static int64_t sel_seen(const fm_sel *q)
{
    int64_t seen = 0;
    if (q->collect)
        return (int64_t)q->n_vals;
    for (int h = 0; h < FM_SEL_BINS; h++)
        seen += q->hist[h];
    return seen;
}

/*
 * Passes until every quantile is done: over all of the campaign's walls, or (segmented) over
 * their ranges in the segments seg[].  With agree given, a pass that saw another number of walls
 * in a range than was counted for it sets *agree false and ends the passes.
 */
static fm_store_status sel_run(fm_store *store, int64_t campaign, bool segmented,
                               const int64_t *seg, size_t n_seg, fm_sel *q, int n, bool *agree)
{
    for (;;) {
        bool pending = false;
        for (int k = 0; k < n; k++) {
            if (q[k].done)
                continue;
            if (!sel_ready(&q[k]))
                return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
            pending = true;
        }
        if (!pending)
            return FM_STORE_OK;
        fm_store_status status = segmented ? scan_segments(store, campaign, seg, n_seg, q, n)
                                           : scan_walls(store, campaign, q, n);
        if (status != FM_STORE_OK)
            return status;
        for (int k = 0; k < n; k++) {
            if (agree != NULL && !q[k].done && sel_seen(&q[k]) != q[k].in_range)
                *agree = false;
            sel_conclude(&q[k]);
        }
        if (agree != NULL && !*agree)
            return FM_STORE_OK;
    }
}

static void sel_free(fm_sel *q, int n)
{
    for (int k = 0; k < n; k++) {
        free(q[k].hist);
        free(q[k].vals);
    }
    free(q);
}

/*
 * The wall of each rank (ascending in order[]) from the stored buckets and runs_wall_seg: the
 * buckets in order give each rank's bucket and the walls below it, and the selection passes
 * above then run over that one bucket's walls only (one pass collects them when the bucket holds
 * at most FM_SEL_CAP).  *ok false when the buckets do not hold the ranks or disagree with the
 * rows (then the passes over all walls answer).
 */
static fm_store_status select_stored(fm_store *store, int64_t campaign, const int64_t *rank,
                                     const int *order, int n, int64_t *ns, bool *ok)
{
    *ok = false;
    fm_sel *q = calloc((size_t)n, sizeof *q);
    int64_t *seg = NULL;
    size_t n_seg = 0;
    if (q == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    sqlite3_stmt *b = fm_store__stmt(store, FM_ST_BUCKETS);
    fm_store_status status = b == NULL ? FM_STORE_EIO : FM_STORE_OK;
    int64_t below = 0;
    int i = 0, rc = SQLITE_DONE;
    if (b != NULL)
        sqlite3_bind_int64(b, 1, campaign);
    while (status == FM_STORE_OK && i < n && (rc = sqlite3_step(b)) == SQLITE_ROW) {
        int64_t bucket = sqlite3_column_int64(b, 0), count = sqlite3_column_int64(b, 1);
        for (; i < n && rank[order[i]] <= below + count; i++)
            q[order[i]] = (fm_sel){.rank = rank[order[i]],
                                   .lo = bucket_low(bucket),
                                   .hi = bucket_high(bucket),
                                   .below = below,
                                   .in_range = count};
        below += count;
    }
    if (b != NULL)
        sqlite3_reset(b);
    if (status == FM_STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        status = fm_store__sqlite(store, rc, "cannot read wall times");
    if (status != FM_STORE_OK || i < n)
        goto out;
    bool agree = true;
    if ((status = wall_segments(store, campaign, &seg, &n_seg)) != FM_STORE_OK ||
        (status = sel_run(store, campaign, true, seg, n_seg, q, n, &agree)) != FM_STORE_OK ||
        !agree) /* the buckets do not count these rows: not ours to trust */
        goto out;
    for (int k = 0; k < n; k++)
        ns[k] = q[k].result;
    *ok = true;
out:
    sel_free(q, n);
    free(seg);
    return status;
}

static fm_store_status select_ranks(fm_store *store, int64_t campaign, const double *qs, int n,
                                    int64_t *ns)
{
    /* Stored counts: each rank is a lookup in its bucket (schema 4). */
    fm_store_summary sum;
    bool found = false;
    fm_store_status status = tally_read(store, campaign, &sum, &found);
    if (status != FM_STORE_OK)
        return status;
    if (found) {
        int64_t total = sum.attempts - sum.by_outcome[FM_OUTCOME_INTERRUPTED];
        if (total == 0) {
            for (int i = 0; i < n; i++)
                ns[i] = -1;
            return FM_STORE_OK;
        }
        int64_t *rank = malloc((size_t)n * sizeof *rank);
        int *order = malloc((size_t)n * sizeof *order);
        bool ok = false;
        if (rank == NULL || order == NULL)
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
        for (int i = 0; status == FM_STORE_OK && i < n; i++) {
            rank[i] = nearest_rank(qs[i], total);
            int j = i; /* insertion sort of the indices by rank (n is small) */
            while (j > 0 && rank[order[j - 1]] > rank[i]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
        if (status == FM_STORE_OK)
            status = select_stored(store, campaign, rank, order, n, ns, &ok);
        free(rank);
        free(order);
        if (status != FM_STORE_OK || ok)
            return status;
    }
    return select_by_passes(store, campaign, qs, n, ns);
}

static fm_store_status select_by_passes(fm_store *store, int64_t campaign, const double *qs, int n,
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
    }
    status = sel_run(store, campaign, false, NULL, 0, q, n, NULL);
    for (int i = 0; status == FM_STORE_OK && i < n; i++)
        ns[i] = q[i].result;
    sel_free(q, n);
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
    /* This handle's pending counts first, then one snapshot for every read: a savepoint opens
     * a read transaction, or nests in the batch this handle has open. */
    fm_store_status status = fm_store__tally_sync(store);
    if (status == FM_STORE_OK)
        status = fm_store__exec(store, "SAVEPOINT fm_quantiles");
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

fm_store_status fm_store__causes_stored(fm_store *store, int64_t campaign, fm_store_cause *out,
                                        size_t max, size_t *n, size_t *all, bool *done)
{
    fm_store_summary sum;
    *done = false;
    fm_store_status status = fm_store__tally_sync(store);
    if (status == FM_STORE_OK)
        status = tally_read(store, campaign, &sum, done);
    if (status != FM_STORE_OK || !*done)
        return status;
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_CAUSES);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_int64(st, 1, campaign);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n < max)
            out[(*n)++] = (fm_store_cause){.outcome = (fm_outcome)sqlite3_column_int(st, 0),
                                           .has_code = sqlite3_column_int(st, 1) != 0,
                                           .code = sqlite3_column_int(st, 2),
                                           .count = sqlite3_column_int64(st, 3)};
        ++*all;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot count the causes");
}
