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
    int n_attached;    /* inputs attached to the output's connection so far */
    bool wall_dropped; /* runs_wall_seg was dropped for a bulk copy: built again at the end */
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

/* ---- Runs: placed at their own indices, or after the output's when those hold other runs -- */

/* The identity of a run as the merge compares it (besides its key). */
typedef struct {
    int64_t run_index, attempt, seed, outcome, start_ns, wall_ns;
} run_id;

static bool same_content(const run_id *a, const run_id *b)
{
    return a->attempt == b->attempt && a->seed == b->seed && a->outcome == b->outcome &&
           a->start_ns == b->start_ns && a->wall_ns == b->wall_ns;
}

static int cmp_key(const run_id *a, const run_id *b)
{
    if (a->run_index != b->run_index)
        return a->run_index < b->run_index ? -1 : 1;
    return (a->attempt > b->attempt) - (a->attempt < b->attempt);
}

static const char key_scan_sql[] = "SELECT run_index, attempt, seed, outcome, start_ns, wall_ns "
                                   "FROM runs WHERE campaign = ?1 ORDER BY run_index, attempt";

static int step_id(sqlite3_stmt *st, run_id *r)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *r = (run_id){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                      sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                      sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5)};
    return rc;
}

/* Look a src run up in dst by key (a small input: a few rows against a large output). */
static fm_store_status probe_runs(sqlite3_stmt *a, fm_store *dst, int64_t dst_id, int64_t *fresh,
                                  int64_t *clash)
{
    sqlite3_stmt *b = NULL;
    int rc = sqlite3_prepare_v2(dst->db,
                                "SELECT run_index, attempt, seed, outcome, start_ns, wall_ns FROM "
                                "runs WHERE campaign = ?1 AND run_index = ?2 AND attempt = ?3",
                                -1, &b, NULL);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(dst, rc, "cannot read runs");
    run_id x, y;
    int ra;
    while ((ra = step_id(a, &x)) == SQLITE_ROW) {
        sqlite3_reset(b);
        sqlite3_bind_int64(b, 1, dst_id);
        sqlite3_bind_int64(b, 2, x.run_index);
        sqlite3_bind_int64(b, 3, x.attempt);
        rc = step_id(b, &y);
        if (rc == SQLITE_DONE)
            ++*fresh;
        else if (rc == SQLITE_ROW)
            *clash += !same_content(&x, &y);
        else
            break;
    }
    sqlite3_finalize(b);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return fm_store__sqlite(dst, rc, "cannot read runs");
    return ra == SQLITE_DONE ? FM_STORE_OK : FM_STORE_EIO;
}

/*
 * Compare the campaign's runs in src with dst's by key: *fresh counts src keys dst lacks,
 * *clash src keys dst holds with another run.  A small input is looked up key by key; a large
 * one is walked side by side with the output in key order (two sequential scans, no lookups),
 * so neither 1000 small shards nor one input of 10^6 runs costs more than its own size.
 */
static fm_store_status compare_runs(fm_store *src, int64_t src_id, fm_store *dst, int64_t dst_id,
                                    int64_t *fresh, int64_t *clash)
{
    sqlite3_stmt *a = NULL, *b = NULL;
    *fresh = *clash = 0;
    int64_t n_src = 0;
    bool null;
    fm_store_status status = FM_STORE_OK;
    int ra = sqlite3_prepare_v2(src->db, key_scan_sql, -1, &a, NULL);
    if (ra != SQLITE_OK) {
        status = fm_store__sqlite(src, ra, "cannot read runs");
        goto out;
    }
    sqlite3_bind_int64(a, 1, src_id);
    status = fm_store__query_int(src, FM_ST_COUNT_RUNS, src_id, &n_src, &null);
    if (status != FM_STORE_OK)
        goto out;
    if (n_src <= 65536) {
        status = probe_runs(a, dst, dst_id, fresh, clash);
        if (status == FM_STORE_EIO && *dst->errmsg == '\0')
            status = fm_store__sqlite(src, sqlite3_errcode(src->db), "cannot read runs");
        goto out;
    }
    int rb = sqlite3_prepare_v2(dst->db, key_scan_sql, -1, &b, NULL);
    if (rb != SQLITE_OK) {
        status = fm_store__sqlite(dst, rb, "cannot read runs");
        goto out;
    }
    sqlite3_bind_int64(b, 1, dst_id);
    run_id x, y;
    ra = step_id(a, &x);
    rb = step_id(b, &y);
    while (ra == SQLITE_ROW) {
        int c = rb == SQLITE_ROW ? cmp_key(&x, &y) : -1;
        if (c > 0) {
            rb = step_id(b, &y);
            continue;
        }
        if (c < 0)
            ++*fresh;
        else if (!same_content(&x, &y))
            ++*clash;
        ra = step_id(a, &x);
    }
    if (ra != SQLITE_DONE)
        status = fm_store__sqlite(src, ra, "cannot read runs");
    else if (rb != SQLITE_DONE && rb != SQLITE_ROW)
        status = fm_store__sqlite(dst, rb, "cannot read runs");
out:
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    return status;
}

/* Where the runs of one source campaign go. */
typedef struct {
    fm_store *dst;
    int64_t dst_id;
    bool ignore;          /* the output may hold some of the keys (with the same runs) */
    bool moved;           /* placed at base + run_index, skipping runs the output holds */
    int64_t base;         /* with moved */
    sqlite3_stmt *insert; /* INSERT OR IGNORE, when ignore */
    sqlite3_stmt *seen;   /* is this run in the output already (any index)? when moved */
    merge_err *e;
} copy_ctx;

static fm_store_status copy_row(void *ctx, const fm_store__row *row)
{
    copy_ctx *c = ctx;
    fm_run_record r = row->r;
    if (c->moved) {
        sqlite3_reset(c->seen);
        sqlite3_bind_int64(c->seen, 1, (int64_t)r.seed);
        sqlite3_bind_int64(c->seen, 2, r.start_ns);
        sqlite3_bind_int64(c->seen, 3, r.wall_ns);
        sqlite3_bind_int64(c->seen, 4, r.attempt);
        sqlite3_bind_int(c->seen, 5, (int)r.outcome);
        int rc = sqlite3_step(c->seen);
        if (rc == SQLITE_ROW)
            return FM_STORE_OK; /* merged before, under another index */
        if (rc != SQLITE_DONE)
            return report(c->e, fm_store__sqlite(c->dst, rc, "cannot compare runs"), "%s",
                          fm_store_errmsg(c->dst));
        r.run_index += c->base;
    }
    fm_store_status status = fm_store__insert_run(c->dst, c->dst_id, &r);
    if (status == FM_STORE_ECONFLICT && c->ignore)
        return FM_STORE_OK; /* compare_runs found it to be the same run */
    return status != FM_STORE_OK ? report(c->e, status, "%s", fm_store_errmsg(c->dst)) : status;
}

typedef struct {
    fm_store *dst;
    int64_t dst_id, base;
    bool moved;
    fm_store_status status;
} evidence_ctx;

static int copy_evidence_one(const fm_store_evidence *ev, void *ctx)
{
    evidence_ctx *c = ctx;
    bool kept;
    fm_store_evidence moved = *ev;
    if (c->moved)
        moved.run_index += c->base; /* kept only if that run was copied (below) */
    c->status = fm_store__insert_evidence(c->dst, c->dst_id, &moved, &kept);
    return c->status != FM_STORE_OK;
}

/* The output tails kept with the campaign's runs, within the output's bound per cause. */
static fm_store_status copy_evidence(fm_store *src, int64_t src_id, fm_store *dst, int64_t dst_id,
                                     const copy_ctx *runs, merge_err *e)
{
    evidence_ctx c = {dst, dst_id, runs->base, runs->moved, FM_STORE_OK};
    fm_store_status status = fm_store_evidence_each(src, src_id, copy_evidence_one, &c);
    if (status != FM_STORE_OK)
        return report(e, status, "%s", fm_store_errmsg(src));
    if (c.status != FM_STORE_OK)
        return report(e, c.status, "%s", fm_store_errmsg(dst));
    if (runs->moved) { /* tails of runs that were not copied (merged before) have no run here */
        char sql[320];
        snprintf(sql, sizeof sql,
                 "DELETE FROM evidence WHERE campaign = %lld AND NOT EXISTS (SELECT 1 FROM runs r "
                 "WHERE r.campaign = evidence.campaign AND r.run_index = evidence.run_index AND "
                 "r.attempt = evidence.attempt)",
                 (long long)dst_id);
        status = fm_store__exec(dst, sql);
    }
    return status != FM_STORE_OK ? report(e, status, "%s", fm_store_errmsg(dst)) : FM_STORE_OK;
}

/*
 * Copy the runs of one campaign of src into campaign dst_id of dst.  A new campaign takes them
 * as they are.  Otherwise they are first compared with the output's by key: keys held by the
 * same runs are skipped (the same store merged twice, shards with disjoint indices); if some key
 * holds another run (two campaigns run without --shard both have a run 0), every run of this
 * campaign goes after the output's largest index, and those the output already holds anywhere
 * (the same content: attempt, seed, outcome, start and wall time) are skipped, so merging such a
 * store again adds nothing.
 */
/* The runs in one statement, from the input attached to the output's connection as `alias`. */
static fm_store_status copy_runs_sql(fm_store *dst, const char *alias, int64_t src_id,
                                     const copy_ctx *c)
{
    char sql[1024];
    const char *cols = "seed, outcome, exit_code, signal, core_dumped, start_ns, wall_ns, user_us, "
                       "sys_us, max_rss_kb";
    const char *unless = !c->moved && !c->ignore ? ""
                         : c->moved ? " AND NOT EXISTS (SELECT 1 FROM temp.fm_merge_seen x WHERE "
                                      "x.seed = s.seed AND x.start_ns = s.start_ns AND x.wall_ns = "
                                      "s.wall_ns AND x.attempt = s.attempt AND x.outcome = "
                                      "s.outcome)"
                                    : " AND NOT EXISTS (SELECT 1 FROM main.runs d WHERE "
                                      "d.campaign = ?1 AND d.run_index = s.run_index AND "
                                      "d.attempt = s.attempt)";
    snprintf(sql, sizeof sql,
             "INSERT INTO main.runs (campaign, run_index, attempt, %s) SELECT ?1, ?3 + run_index, "
             "attempt, %s FROM \"%s\".runs s WHERE campaign = ?2%s ORDER BY run_index, attempt",
             cols, cols, alias, unless);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(dst->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, c->dst_id);
        sqlite3_bind_int64(st, 2, src_id);
        sqlite3_bind_int64(st, 3, c->moved ? c->base : 0);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    fm_store__summary_forget(dst); /* rows came in without fm_store__insert_run */
    if (rc != SQLITE_DONE)
        return report(c->e, fm_store__sqlite(dst, rc, "cannot copy runs"), "%s",
                      fm_store_errmsg(dst));
    return FM_STORE_OK;
}

/*
 * Many rows into a smaller output: drop runs_wall_seg for the copy and build it again at the end
 * (one sort instead of a random B-tree insert per row: 8.6 s against 1.8 s for 10^6 rows).
 */
static fm_store_status bulk_copy(fm_store *src, int64_t src_id, fm_store *dst, merge_err *e)
{
    int64_t n_src = 0, n_dst = 0;
    bool null;
    if (e->wall_dropped)
        return FM_STORE_OK;
    fm_store_status status = fm_store__query_int(src, FM_ST_COUNT_RUNS, src_id, &n_src, &null);
    if (status != FM_STORE_OK || n_src < 65536)
        return status;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(dst->db, "SELECT count(*) FROM runs", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        n_dst = sqlite3_column_int64(st, 0), rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(dst, rc, "cannot count runs");
    if (n_src * 4 < n_dst)
        return FM_STORE_OK;
    status = fm_store__exec(dst, "DROP INDEX IF EXISTS runs_wall_seg");
    e->wall_dropped = status == FM_STORE_OK;
    return status;
}

static fm_store_status copy_runs(fm_store *src, int64_t src_id, fm_store *dst, int64_t dst_id,
                                 bool existed, const char *alias, const char *label, merge_err *e)
{
    copy_ctx c = {.dst = dst, .dst_id = dst_id, .e = e};
    int64_t fresh = 1, clash = 0;
    fm_store_status status = FM_STORE_OK;
    if (existed) {
        status = compare_runs(src, src_id, dst, dst_id, &fresh, &clash);
        if (status != FM_STORE_OK)
            return report(e, status, "campaign '%s': %s", label,
                          *dst->errmsg ? dst->errmsg : src->errmsg);
    }
    if (fresh == 0 && clash == 0)
        goto evidence; /* all there already */
    c.ignore = existed && clash == 0;
    if (clash > 0) {
        int64_t max;
        char fill[256];
        snprintf(fill, sizeof fill,
                 "DELETE FROM temp.fm_merge_seen; INSERT OR IGNORE INTO temp.fm_merge_seen "
                 "SELECT seed, start_ns, wall_ns, attempt, outcome FROM main.runs "
                 "WHERE campaign = %lld",
                 (long long)dst_id);
        status = fm_store_max_run_index(dst, dst_id, &max);
        if (status == FM_STORE_OK)
            status = fm_store__exec(
                dst,
                "CREATE TEMP TABLE IF NOT EXISTS fm_merge_seen (seed INTEGER, start_ns INTEGER, "
                "wall_ns INTEGER, attempt INTEGER, outcome INTEGER, PRIMARY KEY (seed, "
                "start_ns, wall_ns, attempt, outcome)) WITHOUT ROWID");
        if (status == FM_STORE_OK)
            status = fm_store__exec(dst, fill);
        int rc = status != FM_STORE_OK
                     ? SQLITE_OK
                     : sqlite3_prepare_v2(dst->db,
                                          "SELECT 1 FROM temp.fm_merge_seen WHERE seed = ?1 "
                                          "AND start_ns = ?2 AND wall_ns = ?3 AND attempt = ?4 "
                                          "AND outcome = ?5",
                                          -1, &c.seen, NULL);
        if (status == FM_STORE_OK && rc != SQLITE_OK)
            status = fm_store__sqlite(dst, rc, "cannot compare runs");
        if (status != FM_STORE_OK)
            return report(e, status, "%s", fm_store_errmsg(dst));
        c.moved = true;
        c.base = max + 1;
    }
    status = bulk_copy(src, src_id, dst, e);
    if (status != FM_STORE_OK)
        return report(e, status, "%s", fm_store_errmsg(dst));
    status = fm_store__tally_dirty(dst, dst_id); /* recounted from its rows before the commit */
    if (status == FM_STORE_OK && alias != NULL) {
        status = copy_runs_sql(dst, alias, src_id, &c);
    } else if (status == FM_STORE_OK) {
        status = fm_store__for_each_run(src, src_id, copy_row, &c);
        if (status != FM_STORE_OK && e->errbuf != NULL && e->errsize > 0 && e->errbuf[0] == '\0')
            report(e, status, "%s", src->errmsg);
    }
    sqlite3_finalize(c.seen);
    if (status == FM_STORE_OK && !existed) { /* all of src's rows, as they were: its counts */
        bool copied;
        status = fm_store__tally_copy(src, src_id, dst, dst_id, &copied);
        if (status != FM_STORE_OK)
            report(e, status, "%s", *dst->errmsg ? dst->errmsg : src->errmsg);
    }
evidence:
    if (status == FM_STORE_OK)
        status = copy_evidence(src, src_id, dst, dst_id, &c, e);
    return status;
}

static fm_store_status merge_campaigns(fm_store *src, fm_store *dst, const char *alias,
                                       const char *name, merge_err *e)
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
        status = copy_runs(src, ids[i], dst, dst_id, existed, alias, info.label, e);
    }
out:
    free(ids);
    return status;
}

/*
 * Attach the input to the output's connection, so its runs are copied by one INSERT ... SELECT
 * (about 2.5x faster than row by row).  A database read inside a transaction cannot be
 * detached before its end, so at most SQLite's limit of attached databases (10 in Debian's
 * build) are; the inputs after them, an input that is the output itself, or one that cannot be
 * attached (a read-only folder) are copied row by row through their own connection.
 */
static bool attach_input(fm_store *dst, const char *path, merge_err *e, char *alias, size_t size)
{
    struct stat a, b;
    const char *main_file = sqlite3_db_filename(dst->db, "main");
    if (e->n_attached >= sqlite3_limit(dst->db, SQLITE_LIMIT_ATTACHED, -1) || main_file == NULL ||
        stat(path, &a) != 0 || stat(main_file, &b) != 0 ||
        (a.st_dev == b.st_dev && a.st_ino == b.st_ino))
        return false;
    snprintf(alias, size, "fm_src%d", e->n_attached);
    sqlite3_stmt *st = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "ATTACH ?1 AS %s", alias);
    int rc = sqlite3_prepare_v2(dst->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return false;
    /* Read once, in order: a small cache (memory: issue 19). */
    snprintf(sql, sizeof sql, "PRAGMA %s.cache_size = -256", alias);
    sqlite3_exec(dst->db, sql, NULL, NULL, NULL);
    /* Readable here (a store in a read-only folder may not be): else row by row. */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.campaigns", alias);
    rc = sqlite3_prepare_v2(dst->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    e->n_attached++; /* the name is taken even if it cannot be read */
    return rc == SQLITE_ROW;
}

/* Merge one input into dst (inside dst's open transaction). */
static fm_store_status merge_one(fm_store *dst, const char *path, merge_err *e)
{
    fm_store *src = NULL;
    fm_store_status status = fm_store_open(path, false, &src);
    if (status != FM_STORE_OK)
        return report(e, status, "%s: %s", path, fm_store_errmsg(NULL));
    /* One read transaction: a consistent snapshot even if a runner is writing the input; read
     * once, in order: a small cache (memory: issue 19). */
    status = fm_store__exec(src, "PRAGMA cache_size = -256; BEGIN");
    if (status != FM_STORE_OK) {
        report(e, status, "%s: %s", path, fm_store_errmsg(src));
        goto out;
    }
    char alias[32];
    bool attached = attach_input(dst, path, e, alias, sizeof alias);
    status = merge_campaigns(src, dst, attached ? alias : NULL, path, e);
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

/*
 * The first input into a new output: a page copy (sqlite3_backup) of one consistent snapshot of
 * it, its counts, index and CI history included, instead of a row copy and runs_wall_seg built
 * again by a sort (issue 19: 10^6 runs into a new store took 2.8 s CPU that way).  The input
 * is opened as merge_one opens it (the schema guard, any migration), so the copy is what
 * merging it into an empty store gives: same campaigns, rows, counts.  *done false: not taken.
 */
static fm_store_status copy_whole(fm_store *dst, const char *path, merge_err *e, bool *done)
{
    fm_store *src = NULL;
    *done = false;
    fm_store_status status = fm_store_open(path, false, &src);
    if (status != FM_STORE_OK)
        return report(e, status, "%s: %s", path, fm_store_errmsg(NULL));
    if (src->db == NULL) /* not SQLite: the row copy */
        goto out;
    if ((status = fm_store__exec(src, "PRAGMA cache_size = -256")) != FM_STORE_OK) {
        report(e, status, "%s: %s", path, fm_store_errmsg(src));
        goto out;
    }
    /* On any failure (a page size the output's WAL cannot take, a full disk) the output's write
     * transaction is rolled back whole and the row copy below does the work (or fails saying
     * why). */
    sqlite3_backup *b = sqlite3_backup_init(dst->db, "main", src->db, "main");
    if (b == NULL)
        goto out;
    int rc = sqlite3_backup_step(b, -1); /* all pages, under one read lock of the input */
    int finished = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE || finished != SQLITE_OK)
        goto out;
    *done = true;
out:
    fm_store_close(src);
    return status;
}

/* ---- The output: in place, or a temporary file renamed at the end ------------------------ */

typedef struct {
    const char *out;  /* the path asked for */
    fm_target target; /* the temporary file being built (target.temp), or none: in place */
    fm_store *store;
    const char *first; /* the first input: copied whole into a new output (copy_whole) */
    bool first_done;
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
    return copy_whole(t->store, t->first, e, &t->first_done);
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
        /* The counts of the campaigns that took runs, and the index, in the same transaction. */
        /* (a smaller cache while it sorts: the sorter takes as much memory as the cache) */
        if (status == FM_STORE_OK && e->wall_dropped)
            status = fm_store__exec(t->store, "PRAGMA cache_size = -512;" FM_STORE_RUNS_WALL_INDEX
                                              ";PRAGMA cache_size = -2000");
        if (status == FM_STORE_OK)
            status = fm_store__tally_sync(t->store);
        if (status != FM_STORE_OK && e->errbuf != NULL && e->errsize > 0 && !e->errbuf[0])
            report(e, status, "%s: %s", t->out, fm_store_errmsg(t->store));
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
    merge_err e = {errbuf, errsize, 0, false};
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
    merge_target t = {out, {.fd = -1}, NULL, inputs[0], false};
    fm_store_status status = open_target(&t, &e);
    if (status == FM_STORE_OK) {
        status = fm_store__exec(t.store, "BEGIN IMMEDIATE");
        if (status != FM_STORE_OK)
            report(&e, status, "%s: %s", out, fm_store_errmsg(t.store));
    }
    for (int i = t.first_done ? 1 : 0; i < n_inputs && status == FM_STORE_OK; i++)
        status = merge_one(t.store, inputs[i], &e);
    return finish_target(&t, status, &e);
}
