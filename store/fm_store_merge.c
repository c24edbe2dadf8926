/*
 * fm_store_merge.c - fm_store_merge: combine stores (shards of one campaign, or campaigns of
 * several machines) into one, without double counting.
 *
 * Design:
 *  - Every input is opened with fm_store_open(create = false), so the schema guard applies to
 *    inputs as to any store, and read inside one read transaction (a consistent snapshot even
 *    while a runner is still writing it).
 *  - Campaigns are matched by label.  Kind, command and parameters must agree (else
 *    FM_STORE_ECONFLICT naming the label); host, arch, version and created_ns of the output's
 *    row are kept (the first input that brought the label).
 *  - Runs are keyed by (campaign, run_index, attempt).  A key already in the output is skipped
 *    when it is the same run (same seed, outcome, start and wall time: the same store merged
 *    twice, or overlapping copies) and is an FM_STORE_ECONFLICT when it differs: two unsharded
 *    campaigns of one label both have a run 0, and keeping either would lose the other.
 *  - The ingested CI history (ci_* tables) is copied too, matched by natural keys
 *    (fm_store_merge_ci.c).
 *  - All or nothing.  An existing output is written in one BEGIN IMMEDIATE transaction that is
 *    rolled back on any failure (WAL: its frames never reach the main file).  A missing or empty
 *    output is built in a temporary file next to it (OUT.tmp-XXXXXX) and renamed over OUT
 *    only after the last commit and close; the directory is then synced.  That is
 *    common/fm_target.h's rule with FM_TARGET_REGULAR: a link to a store is written through and
 *    kept, and a device, FIFO or terminal as OUT is refused (never renamed over).
 */
#include "fm_store_internal.h"
#include "fm_target.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *errbuf;
    size_t errsize;
} merge_err;

static fm_store_status report(merge_err *e, fm_store_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static fm_store_status report(merge_err *e, fm_store_status status, const char *fmt, ...)
{
    if (e->errbuf != NULL && e->errsize > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->errbuf, e->errsize, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* A key already in dst: the same run (skip) or a different one (conflict)? */
static fm_store_status same_run(fm_store *dst, int64_t campaign, const fm_run_record *r, bool *same)
{
    sqlite3_stmt *st = fm_store__stmt(dst, FM_ST_SAME_RUN);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_int64(st, 1, campaign);
    sqlite3_bind_int64(st, 2, r->run_index);
    sqlite3_bind_int64(st, 3, r->attempt);
    sqlite3_bind_int64(st, 4, (int64_t)r->seed);
    sqlite3_bind_int(st, 5, (int)r->outcome);
    sqlite3_bind_int64(st, 6, r->start_ns);
    sqlite3_bind_int64(st, 7, r->wall_ns);
    int rc = sqlite3_step(st);
    *same = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? FM_STORE_OK : fm_store__sqlite(dst, rc, "cannot compare runs");
}

static fm_store_status copy_run(fm_store *dst, int64_t campaign, const char *label,
                                const fm_run_record *r, merge_err *e)
{
    fm_store_status status = fm_store__insert_run(dst, campaign, r);
    if (status != FM_STORE_ECONFLICT)
        return status != FM_STORE_OK ? report(e, status, "%s", fm_store_errmsg(dst)) : status;
    bool same;
    status = same_run(dst, campaign, r, &same);
    if (status != FM_STORE_OK)
        return report(e, status, "%s", fm_store_errmsg(dst));
    if (same)
        return FM_STORE_OK;
    return report(e, FM_STORE_ECONFLICT,
                  "campaign '%s': run %lld attempt %u differs between inputs (were they run "
                  "with --shard?)",
                  label, (long long)r->run_index, r->attempt);
}

typedef struct {
    fm_store *dst;
    int64_t dst_id;
    const char *label;
    merge_err *e;
    bool reported; /* copy_run has put its failure into e */
} copy_ctx;

static fm_store_status copy_row(void *ctx, const fm_store__row *row)
{
    copy_ctx *c = ctx;
    fm_store_status status = copy_run(c->dst, c->dst_id, c->label, &row->r, c->e);
    c->reported = status != FM_STORE_OK;
    return status;
}

typedef struct {
    fm_store *dst;
    int64_t dst_id;
    fm_store_status status;
} evidence_ctx;

static int copy_evidence_one(const fm_store_evidence *ev, void *ctx)
{
    evidence_ctx *c = ctx;
    bool kept;
    c->status = fm_store__insert_evidence(c->dst, c->dst_id, ev, &kept);
    return c->status != FM_STORE_OK;
}

/* The output tails kept with the campaign's runs, within the output's bound per cause. */
static fm_store_status copy_evidence(fm_store *src, int64_t src_id, fm_store *dst, int64_t dst_id,
                                     merge_err *e)
{
    evidence_ctx c = {dst, dst_id, FM_STORE_OK};
    fm_store_status status = fm_store_evidence_each(src, src_id, copy_evidence_one, &c);
    if (status != FM_STORE_OK)
        return report(e, status, "%s", fm_store_errmsg(src));
    if (c.status != FM_STORE_OK)
        return report(e, c.status, "%s", fm_store_errmsg(dst));
    return FM_STORE_OK;
}

/* Copy the runs of one campaign of src into campaign dst_id of dst. */
static fm_store_status copy_runs(fm_store *src, int64_t src_id, fm_store *dst, int64_t dst_id,
                                 const char *label, merge_err *e)
{
    copy_ctx c = {dst, dst_id, label, e, false};
    fm_store_status status = fm_store__for_each_run(src, src_id, copy_row, &c);
    if (status != FM_STORE_OK && !c.reported)
        report(e, status, "%s", src->errmsg);
    return status;
}

static fm_store_status merge_campaigns(fm_store *src, fm_store *dst, const char *name, merge_err *e)
{
    int64_t *ids = NULL;
    size_t n = 0;
    fm_store_status status = fm_store__campaign_ids(src, NULL, &ids, &n);
    if (status != FM_STORE_OK) {
        report(e, status, "%s: %s", name, fm_store_errmsg(src));
        goto out;
    }
    for (size_t i = 0; i < n && status == FM_STORE_OK; i++) {
        fm_campaign_info info;
        int64_t dst_id;
        bool existed;
        status = fm_store__campaign_by_id(src, ids[i], &info);
        if (status != FM_STORE_OK) {
            report(e, status, "%s: %s", name, fm_store_errmsg(src));
            break;
        }
        status = fm_store__campaign_locked(dst, &info, &dst_id, &existed);
        if (status != FM_STORE_OK) {
            report(e, status, "%s: %s", name, fm_store_errmsg(dst));
            break;
        }
        status = copy_runs(src, ids[i], dst, dst_id, info.label, e);
        if (status == FM_STORE_OK)
            status = copy_evidence(src, ids[i], dst, dst_id, e);
    }
out:
    free(ids);
    return status;
}

/* Merge one input into dst (inside dst's open transaction). */
static fm_store_status merge_one(fm_store *dst, const char *path, merge_err *e)
{
    fm_store *src = NULL;
    fm_store_status status = fm_store_open(path, false, &src);
    if (status != FM_STORE_OK)
        return report(e, status, "%s: %s", path, fm_store_errmsg(NULL));
    /* One read transaction: a consistent snapshot even if a runner is writing the input. */
    status = fm_store__exec(src, "BEGIN");
    if (status != FM_STORE_OK) {
        report(e, status, "%s: %s", path, fm_store_errmsg(src));
        goto out;
    }
    status = merge_campaigns(src, dst, path, e);
    if (status == FM_STORE_OK) {
        src->errmsg[0] = dst->errmsg[0] = '\0';
        status = fm_store__merge_ci(src, dst);
        if (status != FM_STORE_OK)
            report(e, status, "%s: %s", path, *dst->errmsg ? dst->errmsg : src->errmsg);
    }
    sqlite3_exec(src->db, "COMMIT", NULL, NULL, NULL);
out:
    fm_store_close(src);
    return status;
}

/* ---- The output: in place, or a temporary file renamed at the end ------------------------ */

typedef struct {
    const char *out;  /* the path asked for */
    fm_target target; /* the temporary file being built (target.temp), or none: in place */
    fm_store *store;
} merge_target;

static bool existing_store(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

static fm_store_status open_target(merge_target *t, merge_err *e)
{
    fm_store_status status;
    if (existing_store(t->out)) {
        status = fm_store_open(t->out, false, &t->store);
        if (status != FM_STORE_OK)
            return report(e, status, "%s: %s", t->out, fm_store_errmsg(NULL));
        return FM_STORE_OK;
    }
    /* Missing or empty: built beside it (beside the file a link names); never a device. */
    char err[512];
    fm_target_status ts = fm_target_open(&t->target, t->out, FM_TARGET_REGULAR, err, sizeof err);
    if (ts != FM_TARGET_OK)
        return report(e,
                      ts == FM_TARGET_EINVAL   ? FM_STORE_EINVAL
                      : ts == FM_TARGET_ENOMEM ? FM_STORE_ENOMEM
                                               : FM_STORE_EIO,
                      "-o: %s", err);
    close(t->target.fd); /* an empty file: fm_store_open(create) turns it into a new store */
    t->target.fd = -1;
    status = fm_store_open(t->target.temp, true, &t->store);
    if (status != FM_STORE_OK)
        return report(e, status, "%s: %s", t->target.temp, fm_store_errmsg(NULL));
    return FM_STORE_OK;
}

static void unlink_journal(const char *path)
{
    char side[4096];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-journal", path); /* left by a rollback on a full disk */
    unlink(side);
}

/* Close the finished temporary store and move it over the output. */
static fm_store_status publish_temp(merge_target *t, merge_err *e)
{
    char wal[4096], err[512];
    snprintf(wal, sizeof wal, "%s-wal", t->target.temp);
    /* The last close checkpoints the WAL into the file and deletes it; a WAL left behind
     * would hold data that the renamed file lacks. */
    if (access(wal, F_OK) == 0)
        return report(e, FM_STORE_EIO, "%s: the write-ahead log was not checkpointed",
                      t->target.temp);
    if (fm_target_commit(&t->target, err, sizeof err) != FM_TARGET_OK)
        return report(e, FM_STORE_EIO, "%s", err);
    return FM_STORE_OK;
}

static fm_store_status finish_target(merge_target *t, fm_store_status status, merge_err *e)
{
    if (t->store != NULL) {
        if (status == FM_STORE_OK) {
            status = fm_store__exec(t->store, "COMMIT");
            if (status != FM_STORE_OK)
                report(e, status, "%s: commit failed: %s", t->out, fm_store_errmsg(t->store));
        }
        if (!sqlite3_get_autocommit(t->store->db))
            sqlite3_exec(t->store->db, "ROLLBACK", NULL, NULL, NULL);
        fm_store_status closed = fm_store_close(t->store);
        if (status == FM_STORE_OK && closed != FM_STORE_OK)
            status = report(e, closed, "%s: cannot close the store", t->out);
    }
    if (t->target.temp != NULL && status == FM_STORE_OK)
        status = publish_temp(t, e);
    if (t->target.temp != NULL) /* not published: remove it with its journal */
        unlink_journal(t->target.temp);
    fm_target_discard(&t->target);
    return status;
}

fm_store_status fm_store_merge(const char *out, const char *const *inputs, int n_inputs,
                               char *errbuf, size_t errsize)
{
    merge_err e = {errbuf, errsize};
    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    if (out == NULL || *out == '\0' || inputs == NULL || n_inputs < 1)
        return report(&e, FM_STORE_EINVAL, "merge needs an output and at least one input");
    /* A PostgreSQL URL on either side: copied by the backend (store/fm_pg_merge.c). */
    bool url = fm_store_is_url(out);
    for (int i = 0; i < n_inputs; i++)
        url = url || fm_store_is_url(inputs[i]);
    if (url) {
#ifdef FM_HAVE_PG
        return fm_pg_merge(out, inputs, n_inputs, errbuf, errsize);
#else
        return report(&e, FM_STORE_EINVAL, "built without PostgreSQL support");
#endif
    }
    merge_target t = {out, {.fd = -1}, NULL};
    fm_store_status status = open_target(&t, &e);
    if (status == FM_STORE_OK) {
        status = fm_store__exec(t.store, "BEGIN IMMEDIATE");
        if (status != FM_STORE_OK)
            report(&e, status, "%s: %s", out, fm_store_errmsg(t.store));
    }
    for (int i = 0; i < n_inputs && status == FM_STORE_OK; i++)
        status = merge_one(t.store, inputs[i], &e);
    return finish_target(&t, status, &e);
}
