/*
 * fm_pg_merge.c - fm_store_merge when the output or an input is a PostgreSQL URL: SQLite to
 * PostgreSQL, PostgreSQL to SQLite, or between databases, with the rules of the SQLite merge
 * (store/fm_store_merge.c): campaigns matched by label (kind, command, parameters and
 * conditions must agree), runs keyed by (campaign, run_index, attempt), a key already there
 * skipped when it is the same run and a conflict when it differs, evidence bounded as always.
 *
 * Invariants:
 *  - All or nothing: the output is written in one transaction (PostgreSQL: under the creation
 *    lock; SQLite: BEGIN IMMEDIATE), rolled back on any failure; an SQLite output this merge
 *    created is removed again on failure.
 *  - In PostgreSQL the rows copied into a campaign are counted in a finished runners row of
 *    kind 'merge', and the campaign's claim counter is raised above every stored index, so the
 *    sums over runners stay the campaign's counts and later runners never reuse an index.
 *  - The ingested CI history is not copied into PostgreSQL (it has no CI tables): `ingest`
 *    keeps it in SQLite stores.
 */
#include "fm_pg_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    fm_store *dst;
    int64_t dst_id;
    const char *label;
    int64_t counted, failed;
    fm_store_status status;
    char *errbuf;
    size_t errsize;
} copy_ctx;

static fm_store_status report(copy_ctx *c, fm_store_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static fm_store_status report(copy_ctx *c, fm_store_status status, const char *fmt, ...)
{
    if (c->errbuf != NULL && c->errsize > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->errbuf, c->errsize, fmt, ap);
        va_end(ap);
    }
    return status;
}

fm_store_status fm_pg__copy_run(fm_store *store, int64_t campaign, const fm_run_record *r,
                                bool has_exit, bool has_signal, bool *inserted)
{
    fm_pg_run_params p;
    fm_pg__run_params(r, has_exit, has_signal, &p);
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, campaign);
    p.v[0] = id;
    PGresult *res = fm_pg__query(
        store, store->pg->conn, "cannot add a run",
        "INSERT INTO runs (campaign, run_index, attempt, seed, outcome, exit_code, signal, "
        "core_dumped, start_ns, wall_ns, user_us, sys_us, max_rss_kb) VALUES ($1::bigint, "
        "$2::bigint, $3::int, $4::bigint, $5::smallint, $6::int, $7::int, $8::smallint, "
        "$9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        13, p.v);
    if (res == NULL)
        return FM_STORE_EIO;
    *inserted = PQntuples(res) == 1;
    PQclear(res);
    if (*inserted)
        return FM_STORE_OK;
    const char *v[7] = {p.v[0], p.v[1], p.v[2], p.v[3], p.v[4], p.v[8], p.v[9]};
    res = fm_pg__query(store, store->pg->conn, "cannot compare runs",
                       "SELECT seed = $4::bigint AND outcome = $5::smallint AND start_ns = "
                       "$6::bigint AND wall_ns = $7::bigint FROM runs WHERE campaign = $1::bigint "
                       "AND run_index = $2::bigint AND attempt = $3::int",
                       7, v);
    if (res == NULL)
        return FM_STORE_EIO;
    bool same = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return same ? FM_STORE_OK
                : fm_store__fail(store, FM_STORE_ECONFLICT, "run %lld attempt %u differs",
                                 (long long)r->run_index, r->attempt);
}

fm_store_status fm_pg__copied(fm_store *store, int64_t campaign, int64_t counted, int64_t failed)
{
    char b[4][24], host[256] = "";
    snprintf(b[0], sizeof b[0], "%" PRId64, campaign);
    snprintf(b[1], sizeof b[1], "%" PRId64, counted);
    snprintf(b[2], sizeof b[2], "%" PRId64, failed);
    snprintf(b[3], sizeof b[3], "%d", (int)getpid());
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    const char *v[5] = {b[0], b[1], b[2], host, b[3]};
    PGresult *res = fm_pg__query(store, store->pg->conn, "cannot count the copied runs",
                                 "INSERT INTO runners (campaign, kind, host, pid, finished, "
                                 "counted, failed) VALUES ($1, 'merge', $4, $5, true, $2, $3)",
                                 5, v);
    if (res == NULL)
        return FM_STORE_EIO;
    PQclear(res);
    res = fm_pg__query(store, store->pg->conn, "cannot raise the claim counter",
                       "INSERT INTO campaign_state (campaign, next_index) SELECT $1, "
                       "coalesce(max(run_index) + 1, 0) FROM runs WHERE campaign = $1 "
                       "ON CONFLICT (campaign) DO UPDATE SET next_index = "
                       "greatest(campaign_state.next_index, EXCLUDED.next_index)",
                       1, v);
    PQclear(res);
    return res != NULL ? FM_STORE_OK : FM_STORE_EIO;
}

/* ---- The SQLite side ------------------------------------------------------------------------ */

static fm_store_status sqlite_same_run(fm_store *dst, int64_t campaign, const fm_run_record *r,
                                       bool *same)
{
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v2(dst->db,
                                 "SELECT seed = ?4 AND outcome = ?5 AND start_ns = ?6 AND "
                                 "wall_ns = ?7 FROM runs WHERE campaign = ?1 AND run_index = ?2 "
                                 "AND attempt = ?3",
                                 -1, &st, NULL);
    if (prc != SQLITE_OK)
        return fm_store__sqlite(dst, prc, "cannot compare runs");
    sqlite3_bind_int64(st, 1, campaign);
    sqlite3_bind_int64(st, 2, r->run_index);
    sqlite3_bind_int64(st, 3, r->attempt);
    sqlite3_bind_int64(st, 4, (int64_t)r->seed);
    sqlite3_bind_int(st, 5, (int)r->outcome);
    sqlite3_bind_int64(st, 6, r->start_ns);
    sqlite3_bind_int64(st, 7, r->wall_ns);
    int rc = sqlite3_step(st);
    *same = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? FM_STORE_OK : fm_store__sqlite(dst, rc, "cannot compare runs");
}

/* ---- Copying -------------------------------------------------------------------------------- */

static fm_store_status copy_row(void *ctx, const fm_store__row *row)
{
    copy_ctx *c = ctx;
    fm_store *dst = c->dst;
    const fm_run_record *r = &row->r;
    bool inserted = false, same = false;
    fm_store_status status;
    if (dst->pg != NULL) {
        status = fm_pg__copy_run(dst, c->dst_id, r, row->has_exit, row->has_signal, &inserted);
        same = status == FM_STORE_OK;
    } else {
        status = fm_store__insert_run(dst, c->dst_id, r);
        inserted = status == FM_STORE_OK;
        if (status == FM_STORE_ECONFLICT)
            status = sqlite_same_run(dst, c->dst_id, r, &same);
    }
    if (status != FM_STORE_OK && status != FM_STORE_ECONFLICT)
        return report(c, status, "%s", fm_store_errmsg(dst));
    if (!inserted && !same)
        return report(c, FM_STORE_ECONFLICT,
                      "campaign '%s': run %lld attempt %u differs between inputs (were they run "
                      "with --shard?)",
                      c->label, (long long)r->run_index, r->attempt);
    if (inserted && r->attempt == 1 && fm_outcome_counted(r->outcome)) {
        c->counted++;
        c->failed += r->outcome != FM_OUTCOME_PASS;
    }
    return FM_STORE_OK;
}

static int copy_evidence(const fm_store_evidence *ev, void *ctx)
{
    copy_ctx *c = ctx;
    bool kept;
    c->status = c->dst->pg != NULL ? fm_pg__copy_evidence(c->dst, c->dst_id, ev)
                                   : fm_store__insert_evidence(c->dst, c->dst_id, ev, &kept);
    return c->status != FM_STORE_OK;
}

static fm_store_status copy_store(fm_store *dst, const char *path, copy_ctx *c)
{
    fm_store *src = NULL;
    fm_store_status status = fm_store_open(path, false, &src);
    if (status != FM_STORE_OK) {
        char shown[512];
        fm_pg__redact(path, shown, sizeof shown);
        return report(c, status, "%s: %s", shown, fm_store_errmsg(NULL));
    }
    if (src->db != NULL) /* a consistent snapshot while a runner may still write it */
        status = fm_store__exec(src, "BEGIN");
    int64_t *ids = NULL;
    size_t n = 0;
    if (status == FM_STORE_OK)
        status = fm_store__campaign_ids(src, NULL, &ids, &n);
    if (status != FM_STORE_OK)
        report(c, status, "%s: %s", path, fm_store_errmsg(src));
    for (size_t i = 0; i < n && status == FM_STORE_OK; i++) {
        fm_campaign_info info;
        bool existed;
        status = fm_store__campaign_by_id(src, ids[i], &info);
        if (status != FM_STORE_OK) {
            report(c, status, "%s: %s", path, fm_store_errmsg(src));
            break;
        }
        status = dst->pg != NULL ? fm_pg__campaign_locked(dst, &info, &c->dst_id, &existed)
                                 : fm_store__campaign_locked(dst, &info, &c->dst_id, &existed);
        if (status != FM_STORE_OK) {
            report(c, status, "%s: %s", path, fm_store_errmsg(dst));
            break;
        }
        c->label = info.label;
        c->counted = c->failed = 0;
        c->errbuf[0] = '\0';
        status = fm_store__for_each_run(src, ids[i], copy_row, c);
        if (status != FM_STORE_OK && c->errbuf[0] == '\0')
            report(c, status, "%s: %s", path, fm_store_errmsg(src));
        c->status = FM_STORE_OK;
        if (status == FM_STORE_OK)
            status = fm_store_evidence_each(src, ids[i], copy_evidence, c);
        if (status == FM_STORE_OK)
            status = c->status;
        if (status != FM_STORE_OK && c->errbuf[0] == '\0')
            report(c, status, "%s: %s", path, fm_store_errmsg(dst));
        if (status == FM_STORE_OK && dst->pg != NULL) {
            status = fm_pg__copied(dst, c->dst_id, c->counted, c->failed);
            if (status != FM_STORE_OK)
                report(c, status, "%s", fm_store_errmsg(dst));
        }
    }
    free(ids);
    if (src->db != NULL)
        sqlite3_exec(src->db, "COMMIT", NULL, NULL, NULL);
    fm_store_close(src);
    return status;
}

fm_store_status fm_pg_merge(const char *out, const char *const *inputs, int n_inputs, char *errbuf,
                            size_t errsize)
{
    char scratch[1024];
    copy_ctx c = {.errbuf = errbuf != NULL && errsize > 0 ? errbuf : scratch,
                  .errsize = errbuf != NULL && errsize > 0 ? errsize : sizeof scratch};
    c.errbuf[0] = '\0';
    struct stat sb;
    bool created = !fm_store_is_url(out) && lstat(out, &sb) != 0;
    fm_store *dst = NULL;
    fm_store_status status = fm_store_open(out, true, &dst);
    if (status != FM_STORE_OK) {
        char shown[512];
        fm_pg__redact(out, shown, sizeof shown);
        return report(&c, status, "%s: %s", shown, fm_store_errmsg(NULL));
    }
    c.dst = dst;
    status = dst->pg != NULL ? fm_pg__begin(dst) : fm_store__exec(dst, "BEGIN IMMEDIATE");
    if (status != FM_STORE_OK)
        report(&c, status, "%s", fm_store_errmsg(dst));
    for (int i = 0; i < n_inputs && status == FM_STORE_OK; i++)
        status = copy_store(dst, inputs[i], &c);
    if (dst->pg != NULL) {
        fm_store_status done = fm_pg__commit(dst, status == FM_STORE_OK);
        if (status == FM_STORE_OK && done != FM_STORE_OK)
            status = report(&c, done, "%s", fm_store_errmsg(dst));
    } else if (status == FM_STORE_OK) {
        /* The counts of the campaigns that took runs (schema 4), in the same transaction. */
        status = fm_store__tally_sync(dst);
        if (status == FM_STORE_OK)
            status = fm_store__exec(dst, "COMMIT");
        if (status != FM_STORE_OK)
            report(&c, status, "%s: commit failed: %s", out, fm_store_errmsg(dst));
    }
    if (dst->db != NULL && !sqlite3_get_autocommit(dst->db))
        sqlite3_exec(dst->db, "ROLLBACK", NULL, NULL, NULL);
    fm_store_status closed = fm_store_close(dst);
    if (status == FM_STORE_OK && closed != FM_STORE_OK)
        status = report(&c, closed, "%s: cannot close the store", out);
    if (status != FM_STORE_OK && created)
        unlink(out);
    return status;
}
