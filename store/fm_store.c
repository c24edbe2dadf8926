/*
 * fm_store.c - the results store: opening (with the schema guard), campaigns, buffered run
 * inserts and the summaries the verdict needs, over one SQLite file in WAL mode.
 *
 * Invariants:
 *  - Nothing is written to a file before it is known to be empty or a flakemeter store of this
 *    schema: the first 16 bytes are read with read(2) before SQLite sees the file, then
 *    application_id, user_version and sqlite_master are only read.  A refused file is closed
 *    without a write (docs/store.md, "Schema guard").
 *  - Runs go into an open write transaction (BEGIN IMMEDIATE, so the busy timeout applies to
 *    other writers at the start of a batch, never at its commit).  The batch is committed when it
 *    holds FM_STORE_BATCH_ROWS rows or is FM_STORE_BATCH_NS old (checked on every add and by
 *    fm_store_poll), and on flush/close.  A failed commit rolls the batch back: at most one batch
 *    is lost, as with a SIGKILL.
 *  - WAL with synchronous=NORMAL: a commit is a write to the WAL (no fsync), so a killed process
 *    loses nothing committed; a power loss may lose the last commits but never corrupts the file
 *    (https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html#pragma_synchronous).
 *  - Prepared statements are cached on the handle (prepared once, with SQLITE_PREPARE_PERSISTENT).
 *  - Campaign rows never change once written, so their strings are cached per id on the handle
 *    and stay valid until close.
 * Summaries and quantiles live in fm_store_summary.c; this file tells it about every row it
 * inserts (fm_store__summary_note) and every batch it loses (fm_store__summary_forget).
 */
#include "fm_grow.h"
#include "fm_store_internal.h"
#include "fm_target.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The detail of the last failed fm_store_open in this thread (there is no handle to hold it). */
static _Thread_local char open_errmsg[512];

static const char *const statement_sql[FM_ST_COUNT] = {
    [FM_ST_BEGIN] = "BEGIN IMMEDIATE",
    [FM_ST_COMMIT] = "COMMIT",
    [FM_ST_ROLLBACK] = "ROLLBACK",
    [FM_ST_INSERT_RUN] =
        "INSERT INTO runs (campaign, run_index, attempt, seed, outcome, exit_code, signal, "
        "core_dumped, start_ns, wall_ns, user_us, sys_us, max_rss_kb) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [FM_ST_FIND_CAMPAIGN] = "SELECT id FROM campaigns WHERE label = ?1",
    [FM_ST_CAMPAIGN_BY_ID] = "SELECT label, kind, command, params, host, arch, version, "
                             "conditions, fingerprint, created_ns FROM campaigns WHERE id = ?1",
    [FM_ST_LAST_CAMPAIGN] = "SELECT id FROM campaigns ORDER BY created_ns DESC, id DESC LIMIT 1",
    [FM_ST_INSERT_CAMPAIGN] = "INSERT INTO campaigns (label, kind, command, params, host, arch, "
                              "version, conditions, fingerprint, created_ns) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [FM_ST_COUNT_RUNS] = "SELECT count(*) FROM runs WHERE campaign = ?1",
    [FM_ST_MAX_RUN_INDEX] = "SELECT max(run_index) FROM runs WHERE campaign = ?1",
    /* The summary: one scan of the campaign's key range (fm_store_summary.c). */
    [FM_ST_SUMMARY_SCAN] = "SELECT run_index, attempt, outcome, start_ns, wall_ns FROM runs "
                           "WHERE campaign = ?1 ORDER BY run_index, attempt",
    [FM_ST_WALLS] = "SELECT wall_ns FROM runs WHERE campaign = ?1 AND outcome <> 5",
    [FM_ST_WALL_RANGE] = "SELECT count(*), ifnull(min(wall_ns), 0), ifnull(max(wall_ns), 0) "
                         "FROM runs WHERE campaign = ?1 AND outcome <> 5",
    [FM_ST_DATA_VERSION] = "PRAGMA data_version",
    /* Evidence: kept while its cause has fewer than PER_CAUSE tails and the campaign fewer than
     * CAUSES causes (or the cause is already one of them). */
    [FM_ST_INSERT_EVIDENCE] =
        "INSERT OR IGNORE INTO evidence (campaign, run_index, attempt, outcome, code, "
        "output_bytes, tail) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 "
        "WHERE (SELECT count(*) FROM evidence WHERE campaign = ?1 AND outcome = ?4 AND code IS ?5) "
        "< ?8 AND ((SELECT count(*) FROM evidence WHERE campaign = ?1 AND outcome = ?4 AND "
        "code IS ?5) > 0 OR (SELECT count(*) FROM (SELECT DISTINCT outcome, code FROM evidence "
        "WHERE campaign = ?1)) < ?9)",
    /* The stored counts (schema 4, fm_store_summary.c). */
    [FM_ST_TALLY_READ] = "SELECT " FM_STORE_TALLY_COLS " FROM tallies WHERE campaign = ?1",
    [FM_ST_TALLY_WRITE] = "INSERT OR REPLACE INTO tallies (campaign, " FM_STORE_TALLY_COLS
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                          "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
    [FM_ST_CAUSE_ADD] = "INSERT INTO causes (campaign, outcome, has_code, code, n) "
                        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET n = n + excluded.n",
    [FM_ST_BUCKET_ADD] = "INSERT INTO wall_buckets (campaign, bucket, n) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT DO UPDATE SET n = n + excluded.n",
    [FM_ST_BUCKETS] = "SELECT bucket, n FROM wall_buckets WHERE campaign = ?1 ORDER BY bucket",
    /* The walls of one bucket, segment by segment (runs_wall_seg, fm_store_summary.c): the
     * next non-empty segment from ?2, and the walls of [?3, ?4] in segment ?2. */
    [FM_ST_SEG_NEXT] =
        "SELECT " FM_STORE_WALL_SEG " FROM runs WHERE campaign = ?1 AND "
        "outcome <> 5 AND " FM_STORE_WALL_SEG " >= ?2 ORDER BY " FM_STORE_WALL_SEG " LIMIT 1",
    [FM_ST_SEG_WALLS] =
        "SELECT wall_ns FROM runs WHERE campaign = ?1 AND outcome <> 5 AND " FM_STORE_WALL_SEG
        " = ?2 AND wall_ns >= ?3 AND wall_ns <= ?4",
    [FM_ST_CAUSES] = "SELECT outcome, has_code, code, n FROM causes WHERE campaign = ?1 AND n > 0 "
                     "ORDER BY n DESC, outcome, has_code, code",
};

/*
 * Schema 5 (docs/store.md).  Run inside one transaction when a store is created.  A version 1, 2,
 * 3 or 4 store is brought to version 5 in place (the DDL of each step, then the counts of every
 * campaign computed once from its rows: fm_store__retally), also in one transaction.
 */
/*
 * Tables new in version 2 besides the conditions column (created by both paths): the CI
 * history read from JUnit XML by `flakemeter ingest` (history/fm_ingest.c, docs/store.md).
 */
#define SCHEMA_V2_TABLES                                                                           \
    "CREATE TABLE IF NOT EXISTS ci_runs ("                                                         \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " label TEXT NOT NULL,"                                                                        \
    " run_key TEXT NOT NULL,"                                                                      \
    " time_ns INTEGER NOT NULL,"                                                                   \
    " host TEXT NOT NULL DEFAULT '',"                                                              \
    " platform TEXT NOT NULL DEFAULT '',"                                                          \
    " revision TEXT NOT NULL DEFAULT '',"                                                          \
    " UNIQUE (label, run_key));"                                                                   \
    "CREATE TABLE IF NOT EXISTS ci_files ("                                                        \
    " sha256 TEXT PRIMARY KEY,"                                                                    \
    " ci_run INTEGER NOT NULL REFERENCES ci_runs (id),"                                            \
    " path TEXT NOT NULL,"                                                                         \
    " bytes INTEGER NOT NULL,"                                                                     \
    " testcases INTEGER NOT NULL,"                                                                 \
    " skipped INTEGER NOT NULL,"                                                                   \
    " ingested_ns INTEGER NOT NULL);"                                                              \
    "CREATE TABLE IF NOT EXISTS ci_tests ("                                                        \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " label TEXT NOT NULL,"                                                                        \
    " name TEXT NOT NULL,"                                                                         \
    " UNIQUE (label, name));"                                                                      \
    "CREATE TABLE IF NOT EXISTS ci_results ("                                                      \
    " test INTEGER NOT NULL REFERENCES ci_tests (id),"                                             \
    " ci_run INTEGER NOT NULL REFERENCES ci_runs (id),"                                            \
    " attempt INTEGER NOT NULL CHECK (attempt >= 1),"                                              \
    " outcome INTEGER NOT NULL CHECK (outcome BETWEEN 0 AND 4),"                                   \
    " seconds REAL,"                                                                               \
    " PRIMARY KEY (test, ci_run, attempt)) WITHOUT ROWID;"                                         \
    "CREATE INDEX IF NOT EXISTS ci_results_run ON ci_results (ci_run);"

/* The runs table (outcome 5, interrupted, is new in version 3). */
#define RUNS_TABLE(name)                                                                           \
    "CREATE TABLE IF NOT EXISTS " name " ("                                                        \
    " campaign INTEGER NOT NULL REFERENCES campaigns (id),"                                        \
    " run_index INTEGER NOT NULL CHECK (run_index >= 0),"                                          \
    " attempt INTEGER NOT NULL CHECK (attempt >= 1),"                                              \
    " seed INTEGER NOT NULL,"                                                                      \
    " outcome INTEGER NOT NULL CHECK (outcome BETWEEN 0 AND 5),"                                   \
    " exit_code INTEGER,"                                                                          \
    " signal INTEGER,"                                                                             \
    " core_dumped INTEGER NOT NULL,"                                                               \
    " start_ns INTEGER NOT NULL,"                                                                  \
    " wall_ns INTEGER NOT NULL,"                                                                   \
    " user_us INTEGER NOT NULL,"                                                                   \
    " sys_us INTEGER NOT NULL,"                                                                    \
    " max_rss_kb INTEGER NOT NULL,"                                                                \
    " PRIMARY KEY (campaign, run_index, attempt)) WITHOUT ROWID;"

/* New in version 3: the interrupted outcome's name and the evidence (output tails). */
#define SCHEMA_V3_TABLES                                                                           \
    "INSERT OR IGNORE INTO outcomes VALUES (5, 'interrupted');"                                    \
    "CREATE TABLE IF NOT EXISTS evidence ("                                                        \
    " campaign INTEGER NOT NULL REFERENCES campaigns (id),"                                        \
    " run_index INTEGER NOT NULL,"                                                                 \
    " attempt INTEGER NOT NULL,"                                                                   \
    " outcome INTEGER NOT NULL,"                                                                   \
    " code INTEGER,"                                                                               \
    " output_bytes INTEGER NOT NULL,"                                                              \
    " tail BLOB NOT NULL,"                                                                         \
    " PRIMARY KEY (campaign, run_index, attempt)) WITHOUT ROWID;"                                  \
    "CREATE INDEX IF NOT EXISTS evidence_cause ON evidence (campaign, outcome, code);"

/*
 * New in version 4: counts kept as rows are added, so that resuming or showing a campaign of
 * 10^7 runs costs what a small one does (issue 19).  tallies: one row per campaign, the
 * fm_store_summary of its rows; causes: first attempts that did not pass (and were not
 * interrupted) per cause; wall_buckets: the walls of all attempts but interrupted ones per
 * logarithmic bucket (fm_store_summary.c), and an index of the walls to read one bucket's walls
 * (runs_wall_seg since version 5): together an exact quantile is a few indexed reads.  All three
 * are updated in the transaction that adds the rows.
 */
#define SCHEMA_V4_TABLES                                                                           \
    "CREATE TABLE IF NOT EXISTS tallies ("                                                         \
    " campaign INTEGER PRIMARY KEY REFERENCES campaigns (id),"                                     \
    " attempts INTEGER NOT NULL, n_pass INTEGER NOT NULL, n_fail INTEGER NOT NULL,"                \
    " n_crash INTEGER NOT NULL, n_timeout INTEGER NOT NULL, n_error INTEGER NOT NULL,"             \
    " n_interrupted INTEGER NOT NULL, first_attempts INTEGER NOT NULL,"                            \
    " first_pass INTEGER NOT NULL, first_fail INTEGER NOT NULL, first_crash INTEGER NOT NULL,"     \
    " first_timeout INTEGER NOT NULL, first_error INTEGER NOT NULL,"                               \
    " first_interrupted INTEGER NOT NULL, chains INTEGER NOT NULL, chains_failed INTEGER NOT "     \
    "NULL,"                                                                                        \
    " passed_on_retry INTEGER NOT NULL, retries INTEGER NOT NULL, retries_failed INTEGER NOT "     \
    "NULL,"                                                                                        \
    " max_attempt INTEGER NOT NULL, wall_ns_total INTEGER NOT NULL,"                               \
    " first_start_ns INTEGER NOT NULL, last_end_ns INTEGER NOT NULL);"                             \
    "CREATE TABLE IF NOT EXISTS causes ("                                                          \
    " campaign INTEGER NOT NULL REFERENCES campaigns (id),"                                        \
    " outcome INTEGER NOT NULL,"                                                                   \
    " has_code INTEGER NOT NULL,"                                                                  \
    " code INTEGER NOT NULL,"                                                                      \
    " n INTEGER NOT NULL,"                                                                         \
    " PRIMARY KEY (campaign, outcome, has_code, code)) WITHOUT ROWID;"                             \
    "CREATE TABLE IF NOT EXISTS wall_buckets ("                                                    \
    " campaign INTEGER NOT NULL REFERENCES campaigns (id),"                                        \
    " bucket INTEGER NOT NULL,"                                                                    \
    " n INTEGER NOT NULL,"                                                                         \
    " PRIMARY KEY (campaign, bucket)) WITHOUT ROWID;" FM_STORE_RUNS_WALL_INDEX ";"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS campaigns ("
    " id INTEGER PRIMARY KEY,"
    " label TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL,"
    " command TEXT NOT NULL,"
    " params TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " arch TEXT NOT NULL,"
    " version TEXT NOT NULL,"
    " created_ns INTEGER NOT NULL,"
    " conditions TEXT NOT NULL DEFAULT '{}',"
    " fingerprint TEXT NOT NULL DEFAULT '{}');" RUNS_TABLE(
        "runs") "CREATE TABLE IF NOT EXISTS outcomes (code INTEGER PRIMARY KEY, name TEXT NOT NULL "
                "UNIQUE);"
                "INSERT OR IGNORE INTO outcomes VALUES (0, 'pass'), (1, 'fail'), (2, 'crash'),"
                " (3, 'timeout'), (4, 'error');" SCHEMA_V2_TABLES SCHEMA_V3_TABLES SCHEMA_V4_TABLES;

/* Version 1 -> 2: the campaigns' conditions (a v1 campaign ran under none) and the v2 tables. */
#define MIGRATE_1_TO_2                                                                             \
    "ALTER TABLE campaigns ADD COLUMN conditions TEXT NOT NULL DEFAULT '{}';" SCHEMA_V2_TABLES
/*
 * Version 2 -> 3: the campaigns' fingerprint (unknown for older campaigns: '{}'), runs rebuilt
 * for the wider outcome CHECK (SQLite cannot alter a CHECK), and the v3 tables.
 */
#define MIGRATE_2_TO_3                                                                             \
    "ALTER TABLE campaigns ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '{}';" RUNS_TABLE(         \
        "runs_v3") "INSERT INTO runs_v3 SELECT campaign, run_index, attempt, seed, outcome, "      \
                   "exit_code, signal, core_dumped, start_ns, wall_ns, user_us, sys_us, "          \
                   "max_rss_kb FROM runs;"                                                         \
                   "DROP TABLE runs;"                                                              \
                   "ALTER TABLE runs_v3 RENAME TO runs;" SCHEMA_V3_TABLES

/* Version 3 -> 4: the count tables, filled by fm_store__retally after the DDL. */
#define MIGRATE_3_TO_4 SCHEMA_V4_TABLES

/* Version 4 -> 5: the walls indexed per segment of run indices (runs_wall_seg,
 * fm_store_internal.h) instead of per campaign, and the wall buckets 4x finer (12 bits of
 * mantissa, fm_store_summary.c): every campaign counted again (retally). */
#define MIGRATE_4_TO_5 "DROP INDEX IF EXISTS runs_wall;" FM_STORE_RUNS_WALL_INDEX ";"

static const char migrate_1_sql[] = MIGRATE_1_TO_2 MIGRATE_2_TO_3 MIGRATE_3_TO_4;
static const char migrate_2_sql[] = MIGRATE_2_TO_3 MIGRATE_3_TO_4;
static const char migrate_3_sql[] = MIGRATE_3_TO_4;
static const char migrate_4_sql[] = MIGRATE_4_TO_5;

/* ---- Status and messages -------------------------------------------------------------------- */

const char *fm_store_strerror(fm_store_status status)
{
    switch (status) {
    case FM_STORE_OK:
        return "success";
    case FM_STORE_EIO:
        return "store I/O failure";
    case FM_STORE_ESCHEMA:
        return "store has a newer or unknown schema";
    case FM_STORE_ENOTSTORE:
        return "not a flakemeter store";
    case FM_STORE_ENOENT:
        return "no such store or campaign";
    case FM_STORE_ECONFLICT:
        return "conflicting campaign or run";
    case FM_STORE_EINVAL:
        return "invalid argument";
    case FM_STORE_ENOMEM:
        return "out of memory";
    }
    return "unknown status";
}

const char *fm_outcome_name(fm_outcome outcome)
{
    static const char *const names[FM_OUTCOME_COUNT] = {"pass",    "fail",  "crash",
                                                        "timeout", "error", "interrupted"};
    return (unsigned)outcome < FM_OUTCOME_COUNT ? names[outcome] : "unknown";
}

bool fm_outcome_counted(fm_outcome outcome)
{
    return outcome != FM_OUTCOME_ERROR && outcome != FM_OUTCOME_INTERRUPTED;
}

const char *fm_store_errmsg(const fm_store *store)
{
    return store != NULL ? store->errmsg : open_errmsg;
}

fm_store_status fm_store__fail(fm_store *store, fm_store_status status, const char *fmt, ...)
{
    char *buf = store != NULL ? store->errmsg : open_errmsg;
    size_t size = store != NULL ? sizeof store->errmsg : sizeof open_errmsg;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return status;
}

fm_store_status fm_store__sqlite(fm_store *store, int rc, const char *what)
{
    const char *detail =
        store != NULL && store->db != NULL ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc);
    fm_store_status status = FM_STORE_EIO;
    if (rc == SQLITE_NOMEM)
        status = FM_STORE_ENOMEM;
    else if ((rc & 0xff) == SQLITE_NOTADB)
        status = FM_STORE_ENOTSTORE;
    return fm_store__fail(store, status, "%s: %s", what, detail);
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- Statements ----------------------------------------------------------------------------- */

sqlite3_stmt *fm_store__stmt(fm_store *store, fm_store_stmt_id id)
{
    if (store->db == NULL) {
        fm_store__fail(store, FM_STORE_EINVAL, "this needs an SQLite store");
        return NULL;
    }
    sqlite3_stmt *st = store->stmt[id];
    if (st == NULL) {
        int rc = sqlite3_prepare_v3(store->db, statement_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st, NULL);
        if (rc != SQLITE_OK) {
            fm_store__sqlite(store, rc, "cannot prepare a statement");
            return NULL;
        }
        store->stmt[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

fm_store_status fm_store__exec(fm_store *store, const char *sql)
{
    if (store->db == NULL)
        return fm_store__fail(store, FM_STORE_EINVAL, "this needs an SQLite store");
    char *err = NULL;
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, &err);
    if (rc == SQLITE_OK)
        return FM_STORE_OK;
    fm_store_status status =
        fm_store__fail(store, rc == SQLITE_NOMEM ? FM_STORE_ENOMEM : FM_STORE_EIO, "%s",
                       err != NULL ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return status;
}

fm_store_status fm_store__read_begin(fm_store *store)
{
    FM_PG_DISPATCH(store, fm_pg_read_snapshot(store, true));
    return fm_store__exec(store, "BEGIN");
}

void fm_store__read_end(fm_store *store)
{
#ifdef FM_HAVE_PG
    if (store->pg != NULL) {
        fm_pg_read_snapshot(store, false);
        return;
    }
#endif
    sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
}

/* Step a statement that returns no rows (BEGIN, COMMIT, INSERT). */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

fm_store_status fm_store__query_int(fm_store *store, fm_store_stmt_id id, int64_t arg, int64_t *out,
                                    bool *null)
{
    sqlite3_stmt *st = fm_store__stmt(store, id);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_int64(st, 1, arg);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return fm_store__sqlite(store, rc, "query failed");
    }
    *null = sqlite3_column_type(st, 0) == SQLITE_NULL;
    *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return FM_STORE_OK;
}

/* ---- Opening: probe, guard, create ---------------------------------------------------------- */

typedef enum { FILE_MISSING, FILE_EMPTY, FILE_SQLITE } file_kind;

/*
 * Look at the file with plain read(2) before SQLite touches it.  O_NONBLOCK: a FIFO (or a
 * device) is refused at once as "not a regular file" instead of waiting for a writer.
 */
static fm_store_status probe_file(const char *path, file_kind *kind)
{
    static const char magic[16] = "SQLite format 3";
    fm_store_status status = FM_STORE_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) {
            *kind = FILE_MISSING;
            return FM_STORE_OK;
        }
        return fm_store__fail(NULL, FM_STORE_EIO, "cannot open: %s", strerror(errno));
    }
    struct stat sb;
    char head[16];
    ssize_t got;
    if (fstat(fd, &sb) != 0) {
        status = fm_store__fail(NULL, FM_STORE_EIO, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        status = fm_store__fail(NULL, FM_STORE_ENOTSTORE, "not a regular file");
        goto out;
    }
    if (sb.st_size == 0) {
        *kind = FILE_EMPTY;
        goto out;
    }
    got = pread(fd, head, sizeof head, 0);
    if (got < 0) {
        status = fm_store__fail(NULL, FM_STORE_EIO, "cannot read: %s", strerror(errno));
        goto out;
    }
    if (got != (ssize_t)sizeof head || memcmp(head, magic, sizeof head) != 0) {
        status = fm_store__fail(NULL, FM_STORE_ENOTSTORE, "not an SQLite database");
        goto out;
    }
    *kind = FILE_SQLITE;
out:
    close(fd);
    return status;
}

typedef struct {
    int64_t app_id, user_version, objects;
    bool has_campaigns, has_runs;
} store_shape;

static fm_store_status read_pragma(fm_store *store, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    fm_store_status status =
        rc == SQLITE_OK ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot read the file");
    sqlite3_finalize(st);
    return status;
}

/* Read-only inspection: what the file holds. */
static fm_store_status read_shape(fm_store *store, store_shape *shape)
{
    int64_t campaigns = 0, runs = 0;
    fm_store_status status = read_pragma(store, "PRAGMA application_id", &shape->app_id);
    if (status == FM_STORE_OK)
        status = read_pragma(store, "PRAGMA user_version", &shape->user_version);
    if (status == FM_STORE_OK)
        status = read_pragma(store, "SELECT count(*) FROM sqlite_master", &shape->objects);
    if (status == FM_STORE_OK)
        status = read_pragma(store,
                             "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                             "name = 'campaigns'",
                             &campaigns);
    if (status == FM_STORE_OK)
        status = read_pragma(
            store, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
            &runs);
    shape->has_campaigns = campaigns > 0;
    shape->has_runs = runs > 0;
    return status;
}

/*
 * The schema guard.  *fresh is set when the database is empty (a new or zero-length file, or an
 * SQLite file with no schema objects and no version) and may be initialised.
 */
static fm_store_status check_shape(fm_store *store, const store_shape *sh, bool *fresh,
                                   bool *migrate)
{
    *fresh = false;
    *migrate = false;
    if (sh->app_id != 0 && sh->app_id != FM_STORE_APP_ID)
        return fm_store__fail(store, FM_STORE_ENOTSTORE,
                              "an SQLite file of another application (application_id %#llx)",
                              (unsigned long long)sh->app_id);
    if (sh->app_id == 0 && sh->user_version == 0 && sh->objects == 0) {
        *fresh = true;
        return FM_STORE_OK;
    }
    bool ours = sh->app_id == FM_STORE_APP_ID || (sh->has_campaigns && sh->has_runs);
    if (!ours)
        return fm_store__fail(store, FM_STORE_ENOTSTORE,
                              "an SQLite database without flakemeter's tables");
    if (sh->user_version > FM_STORE_SCHEMA)
        return fm_store__fail(store, FM_STORE_ESCHEMA,
                              "schema version %lld is newer than this flakemeter's (%d)",
                              (long long)sh->user_version, FM_STORE_SCHEMA);
    if (sh->user_version < 1)
        return fm_store__fail(store, FM_STORE_ESCHEMA, "unknown schema version %lld (expected %d)",
                              (long long)sh->user_version, FM_STORE_SCHEMA);
    *migrate = sh->user_version < FM_STORE_SCHEMA;
    if (!sh->has_campaigns || !sh->has_runs)
        return fm_store__fail(store, FM_STORE_ENOTSTORE, "a damaged store: table '%s' is missing",
                              sh->has_campaigns ? "runs" : "campaigns");
    return FM_STORE_OK;
}

/* Count every campaign's runs into the version 4 tables (inside the upgrade's transaction). */
static fm_store_status retally_all(fm_store *store)
{
    int64_t *ids = NULL;
    size_t n = 0;
    fm_store_status status = fm_store__campaign_ids(store, NULL, &ids, &n);
    for (size_t i = 0; status == FM_STORE_OK && i < n; i++)
        status = fm_store__retally(store, ids[i]);
    free(ids);
    return status;
}

/*
 * Run ddl, count the runs of existing campaigns (a migration: retally) and set the version in one
 * transaction: a store is at one version or the other.
 */
static fm_store_status upgrade(fm_store *store, const char *ddl, size_t ddl_size, bool retally)
{
    size_t size = ddl_size + 128;
    char *sql = malloc(size);
    if (sql == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    snprintf(sql, size, "BEGIN IMMEDIATE;%s", ddl);
    fm_store_status status = fm_store__exec(store, sql);
    if (status == FM_STORE_OK && retally)
        status = retally_all(store);
    if (status == FM_STORE_OK) {
        snprintf(sql, size, "PRAGMA application_id = %d;PRAGMA user_version = %d;COMMIT;",
                 FM_STORE_APP_ID, FM_STORE_SCHEMA);
        status = fm_store__exec(store, sql);
    }
    free(sql);
    if (status != FM_STORE_OK && !sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

/* Connection settings; only after the guard (journal_mode=WAL writes the file header). */
static fm_store_status configure(fm_store *store)
{
    sqlite3_stmt *st = NULL;
    fm_store_status status = FM_STORE_OK;
    int rc = sqlite3_prepare_v2(store->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (mode == NULL || strcmp(mode, "wal") != 0)
            status = fm_store__fail(store, FM_STORE_EIO, "cannot switch to WAL mode (got %s)",
                                    mode != NULL ? mode : "nothing");
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(store, rc, "cannot switch to WAL mode");
    if (status == FM_STORE_OK)
        status = fm_store__exec(store, "PRAGMA synchronous = NORMAL");
    return status;
}

static fm_store_status connect(fm_store *store, const char *path, int flags)
{
    if (store->db != NULL)
        sqlite3_close(store->db);
    store->db = NULL;
    /* NOMUTEX: a handle is used by one thread at a time (no library of ours starts threads
     * that share one), so SQLite's per-call mutexes are pure cost (10 % of a merge). */
    int rc = sqlite3_open_v2(path, &store->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(store, rc,
                                (flags & SQLITE_OPEN_CREATE) ? "cannot create" : "cannot open");
    sqlite3_extended_result_codes(store->db, 1);
    sqlite3_busy_timeout(store->db, 5000);
    return FM_STORE_OK;
}

/*
 * A store whose folder we may not write: SQLite cannot make the WAL's -shm beside it, on a
 * read-write or a read-only connection ("attempt to write a readonly database").  When no -wal
 * is beside it either, no writer has it open and every commit is in the file itself: it is read
 * as immutable (file:PATH?immutable=1), with no lock and no -shm.  With a -wal there, a writer
 * is (or was) active and the store cannot be read safely without one: the error stands.
 */
static bool read_only_failure(fm_store *store, const char *path)
{
    int rc = sqlite3_errcode(store->db) & 0xff;
    if (rc != SQLITE_READONLY && rc != SQLITE_CANTOPEN)
        return false;
    char wal[4096];
    int n = snprintf(wal, sizeof wal, "%s-wal", path);
    return n > 0 && (size_t)n < sizeof wal && access(wal, F_OK) != 0 && errno == ENOENT;
}

/* file:PATH?immutable=1, with the characters a URI gives meaning to escaped. */
static char *immutable_uri(const char *path)
{
    size_t len = strlen(path);
    char *uri = malloc(3 * len + sizeof "file://?immutable=1");
    if (uri == NULL)
        return NULL;
    char *p = stpcpy(uri, path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c != '\0'; c++)
        p += *c == '%' || *c == '?' || *c == '#' || *c <= ' ' || *c >= 0x7f
                 ? sprintf(p, "%%%02X", *c)
                 : (*p = (char)*c, 1);
    strcpy(p, "?immutable=1");
    return uri;
}

static fm_store_status open_checked(fm_store *store, const char *path, file_kind kind, bool create)
{
    fm_store_status status = connect(
        store, path, SQLITE_OPEN_READWRITE | (kind == FILE_MISSING ? SQLITE_OPEN_CREATE : 0));
    store_shape shape = {0};
    bool fresh, migrate, read_only = false;
    if (status == FM_STORE_OK)
        status = read_shape(store, &shape);
    if (status != FM_STORE_OK && !create && kind == FILE_SQLITE && read_only_failure(store, path)) {
        char *uri = immutable_uri(path);
        if (uri == NULL)
            return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
        read_only = true;
        status = connect(store, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
        free(uri);
        if (status == FM_STORE_OK)
            status = read_shape(store, &shape);
    }
    if (status == FM_STORE_OK)
        status = check_shape(store, &shape, &fresh, &migrate);
    if (status != FM_STORE_OK)
        return status;
    if (fresh && !create)
        return fm_store__fail(store, FM_STORE_ENOTSTORE, "an empty file, not a flakemeter store");
    if (read_only && migrate)
        return fm_store__fail(store, FM_STORE_EIO,
                              "schema version %lld needs an upgrade, and the store cannot be "
                              "written here (read-only)",
                              (long long)shape.user_version);
    if (read_only)
        return FM_STORE_OK; /* already in WAL mode (its header says so); nothing to set */
    status = configure(store);
    if (status == FM_STORE_OK && fresh)
        status = upgrade(store, schema_sql, sizeof schema_sql, false);
    else if (status == FM_STORE_OK && migrate && shape.user_version == 1)
        status = upgrade(store, migrate_1_sql, sizeof migrate_1_sql, true);
    else if (status == FM_STORE_OK && migrate && shape.user_version == 2)
        status = upgrade(store, migrate_2_sql, sizeof migrate_2_sql, true);
    else if (status == FM_STORE_OK && migrate && shape.user_version == 3)
        status = upgrade(store, migrate_3_sql, sizeof migrate_3_sql, true);
    else if (status == FM_STORE_OK && migrate)
        status = upgrade(store, migrate_4_sql, sizeof migrate_4_sql, true);
    return status;
}

static void free_handle(fm_store *store)
{
    for (int i = 0; i < FM_ST_COUNT; i++)
        sqlite3_finalize(store->stmt[i]);
    if (store->db != NULL)
        sqlite3_close(store->db);
    for (size_t i = 0; i < store->n_campaigns; i++)
        free(store->campaigns[i].strings);
    free(store->campaigns);
    free(store->tal);
    free(store->cnt);
    free(store);
}

/*
 * A new store appears whole: built in a temporary file beside path (common/fm_target.h, so a
 * dangling link or a device is refused, not followed) and moved into place without replacing
 * anything (RENAME_NOREPLACE, else link(2)).  A reader racing the runner that creates it sees no
 * file or a complete store, never an empty one; two creators race harmlessly (the loser opens
 * the winner's store).
 */
static int move_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS) /* a file system without it: link(2) is exclusive */
        return -1;
    return link(from, to); /* fm_target_discard then removes the temporary name */
}

static fm_store_status create_whole(const char *path)
{
    fm_target t;
    char err[512];
    fm_target_status ts = fm_target_open(&t, path, FM_TARGET_REGULAR, err, sizeof err);
    if (ts != FM_TARGET_OK)
        return fm_store__fail(NULL,
                              ts == FM_TARGET_EINVAL   ? FM_STORE_EINVAL
                              : ts == FM_TARGET_ENOMEM ? FM_STORE_ENOMEM
                                                       : FM_STORE_EIO,
                              "%s", err);
    close(t.fd);
    t.fd = -1;
    fm_store *store = calloc(1, sizeof *store);
    fm_store_status status = store == NULL ? fm_store__fail(NULL, FM_STORE_ENOMEM, "out of memory")
                                           : open_checked(store, t.temp, FILE_EMPTY, true);
    if (store != NULL && status != FM_STORE_OK)
        snprintf(open_errmsg, sizeof open_errmsg, "%s", store->errmsg);
    if (store != NULL)
        free_handle(store); /* the last close checkpoints the WAL into the file */
    /* A WAL left behind (the checkpoint failed: a full disk) holds what the file lacks: moving
     * the file alone would publish a damaged store. */
    char side[4096];
    snprintf(side, sizeof side, "%s-wal", t.temp);
    if (status == FM_STORE_OK && access(side, F_OK) == 0)
        status = fm_store__fail(NULL, FM_STORE_EIO,
                                "cannot create: the new store could not be written whole");
    if (status == FM_STORE_OK && move_noreplace(t.temp, path) != 0 && errno != EEXIST)
        status = fm_store__fail(NULL, FM_STORE_EIO, "cannot create: %s", strerror(errno));
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", t.temp);
    unlink(side);
    /* a rollback journal too: a full disk can leave the creating transaction's behind */
    snprintf(side, sizeof side, "%s-journal", t.temp);
    unlink(side);
    fm_target_discard(&t); /* the temporary name (already moved, or a store we do not need) */
    return status;
}

/* A postgresql:// URL: the PostgreSQL backend (fm_pg.c), when built with it. */
static fm_store_status open_url(const char *url, bool create, fm_store **out)
{
#ifdef FM_HAVE_PG
    fm_store *store = calloc(1, sizeof *store);
    if (store == NULL)
        return fm_store__fail(NULL, FM_STORE_ENOMEM, "out of memory");
    fm_store_status status = fm_pg_open(store, url, create);
    if (status != FM_STORE_OK) {
        snprintf(open_errmsg, sizeof open_errmsg, "%s", store->errmsg);
        fm_pg_close(store);
        free_handle(store);
        return status;
    }
    *out = store;
    return FM_STORE_OK;
#else
    (void)url, (void)create, (void)out;
    return fm_store__fail(NULL, FM_STORE_EINVAL, "built without PostgreSQL support");
#endif
}

bool fm_store_is_url(const char *text)
{
    return text != NULL &&
           (strncmp(text, "postgresql://", 13) == 0 || strncmp(text, "postgres://", 11) == 0);
}

bool fm_store_shared(const fm_store *store)
{
    return store != NULL && store->pg != NULL;
}

fm_store_status fm_store_open(const char *path, bool create, fm_store **out)
{
    if (out == NULL)
        return FM_STORE_EINVAL;
    *out = NULL;
    if (path == NULL || *path == '\0')
        return fm_store__fail(NULL, FM_STORE_EINVAL, "no path given");
    if (fm_store_is_url(path))
        return open_url(path, create, out);
    file_kind kind = FILE_MISSING;
    fm_store_status status = probe_file(path, &kind);
    if (status != FM_STORE_OK)
        return status;
    if (kind == FILE_MISSING && !create)
        return fm_store__fail(NULL, FM_STORE_ENOENT, "no such file");
    if (kind == FILE_MISSING && ((status = create_whole(path)) != FM_STORE_OK ||
                                 (status = probe_file(path, &kind)) != FM_STORE_OK))
        return status;
    fm_store *store = calloc(1, sizeof *store);
    if (store == NULL)
        return fm_store__fail(NULL, FM_STORE_ENOMEM, "out of memory");
    status = open_checked(store, path, kind, create);
    if (status != FM_STORE_OK) {
        snprintf(open_errmsg, sizeof open_errmsg, "%s", store->errmsg);
        free_handle(store);
        return status;
    }
    *out = store;
    return FM_STORE_OK;
}

/* ---- Batches -------------------------------------------------------------------------------- */

static fm_store_status begin_batch(fm_store *store)
{
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_BEGIN);
    if (st == NULL)
        return FM_STORE_EIO;
    int rc = step_done(st);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(store, rc, "cannot begin a transaction");
    store->in_batch = true;
    store->pending = 0;
    store->batch_start_ns = monotonic_ns();
    return FM_STORE_OK;
}

/* Forget the batch after SQLite dropped it (or roll it back if it is still open). */
static void abandon_batch(fm_store *store)
{
    if (!sqlite3_get_autocommit(store->db)) {
        sqlite3_stmt *st = fm_store__stmt(store, FM_ST_ROLLBACK);
        if (st != NULL)
            step_done(st);
    }
    store->in_batch = false;
    store->pending = 0;
    fm_store__summary_forget(store); /* the caches counted rows that are gone */
    fm_store__tally_drop(store);
}

static fm_store_status commit_batch(fm_store *store)
{
    /* The counts of the batch's rows go into the same transaction: both or neither. */
    fm_store_status synced = fm_store__tally_sync(store);
    if (synced != FM_STORE_OK) {
        abandon_batch(store);
        return synced;
    }
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_COMMIT);
    int rc = st != NULL ? step_done(st) : SQLITE_ERROR;
    if (rc == SQLITE_OK) {
        store->in_batch = false;
        store->pending = 0;
        return FM_STORE_OK;
    }
    fm_store_status status =
        st != NULL ? fm_store__sqlite(store, rc, "commit failed") : FM_STORE_EIO;
    abandon_batch(store);
    return status;
}

fm_store_status fm_store_flush(fm_store *store)
{
    if (store == NULL)
        return FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_flush(store));
    return store->in_batch ? commit_batch(store) : FM_STORE_OK;
}

void fm_store_set_busy_timeout(fm_store *store, int ms)
{
    if (store != NULL && store->db != NULL) /* PostgreSQL: the loop never waits anyway */
        sqlite3_busy_timeout(store->db, ms);
}

bool fm_store_busy(const fm_store *store)
{
    return store != NULL && store->db != NULL &&
           (sqlite3_extended_errcode(store->db) & 0xff) == SQLITE_BUSY;
}

fm_store_status fm_store_poll(fm_store *store)
{
    if (store == NULL)
        return FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_poll(store));
    if (store->in_batch && monotonic_ns() - store->batch_start_ns >= FM_STORE_BATCH_NS)
        return commit_batch(store);
    return FM_STORE_OK;
}

fm_store_status fm_store_close(fm_store *store)
{
    if (store == NULL)
        return FM_STORE_OK;
#ifdef FM_HAVE_PG
    if (store->pg != NULL) {
        fm_store_status closed = fm_pg_close(store);
        free_handle(store);
        return closed;
    }
#endif
    /* No PRAGMA optimize here: it may write (ANALYZE), and a store that was only read (an
     * export, a merge input) must stay as it was. */
    fm_store_status status = fm_store_flush(store);
    free_handle(store);
    return status;
}

/* ---- Campaigns ------------------------------------------------------------------------------ */

static size_t total_length(const char *const *s, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += strlen(s[i]) + 1;
    return len;
}

/* Copy the 9 strings of a campaign row into one allocation and point info at them. */
static fm_store_status cache_campaign(fm_store *store, int64_t id, sqlite3_stmt *row,
                                      fm_campaign_info *info)
{
    const char *col[9];
    for (int i = 0; i < 9; i++) {
        col[i] = (const char *)sqlite3_column_text(row, i);
        if (col[i] == NULL)
            col[i] = "";
    }
    if (!fm_grow(&store->campaigns, &store->cap_campaigns, store->n_campaigns + 1,
                 sizeof *store->campaigns, 8))
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    char *buf = malloc(total_length(col, 9));
    if (buf == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    const char **field[9] = {&info->label,   &info->kind,       &info->command,
                             &info->params,  &info->host,       &info->arch,
                             &info->version, &info->conditions, &info->fingerprint};
    char *p = buf;
    for (int i = 0; i < 9; i++) {
        size_t len = strlen(col[i]) + 1;
        memcpy(p, col[i], len);
        *field[i] = p;
        p += len;
    }
    info->created_ns = sqlite3_column_int64(row, 9);
    store->campaigns[store->n_campaigns++] = (fm_store_cached_campaign){id, *info, buf};
    return FM_STORE_OK;
}

fm_store_status fm_store__campaign_by_id(fm_store *store, int64_t id, fm_campaign_info *info)
{
    FM_PG_DISPATCH(store, fm_pg_campaign_by_id(store, id, info));
    for (size_t i = 0; i < store->n_campaigns; i++)
        if (store->campaigns[i].id == id) {
            *info = store->campaigns[i].info;
            return FM_STORE_OK;
        }
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_CAMPAIGN_BY_ID);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    fm_store_status status;
    if (rc == SQLITE_ROW)
        status = cache_campaign(store, id, st, info);
    else if (rc == SQLITE_DONE)
        status = fm_store__fail(store, FM_STORE_ENOENT, "no campaign with id %lld", (long long)id);
    else
        status = fm_store__sqlite(store, rc, "cannot read a campaign");
    sqlite3_reset(st);
    return status;
}

/* Look the label up: FM_STORE_OK with *id, or FM_STORE_ENOENT. */
static fm_store_status find_label(fm_store *store, const char *label, int64_t *id)
{
    FM_PG_DISPATCH(store, fm_pg_find_campaign(store, label, id));
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_FIND_CAMPAIGN);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    fm_store_status status = FM_STORE_OK;
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        status = fm_store__fail(store, FM_STORE_ENOENT, "no campaign labelled '%s'", label);
    else
        status = fm_store__sqlite(store, rc, "cannot look a campaign up");
    sqlite3_reset(st);
    return status;
}

/* A campaign without conditions ran under none: the empty JSON object. */
fm_store_status fm_store__same_campaign(fm_store *store, const fm_campaign_info *have,
                                        const fm_campaign_info *info)
{
    const char *what = strcmp(have->kind, or_empty(info->kind)) != 0         ? "kind"
                       : strcmp(have->command, or_empty(info->command)) != 0 ? "command"
                       : strcmp(have->params, or_empty(info->params)) != 0   ? "parameters"
                       : strcmp(have->conditions, conditions_of(info)) != 0  ? "conditions"
                                                                             : NULL;
    if (what == NULL)
        return FM_STORE_OK;
    return fm_store__fail(store, FM_STORE_ECONFLICT,
                          "campaign '%s' exists with another %s (stored: %s %s%s%s)", have->label,
                          what, have->kind, have->command, *have->params ? " " : "", have->params);
}

/* Same kind, command, params and conditions (what makes two campaigns one experiment)? */
static fm_store_status check_same(fm_store *store, int64_t id, const fm_campaign_info *info)
{
    fm_campaign_info have;
    fm_store_status status = fm_store__campaign_by_id(store, id, &have);
    return status != FM_STORE_OK ? status : fm_store__same_campaign(store, &have, info);
}

static fm_store_status insert_campaign(fm_store *store, const fm_campaign_info *info, int64_t *id)
{
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_INSERT_CAMPAIGN);
    if (st == NULL)
        return FM_STORE_EIO;
    const char *fp = info->fingerprint != NULL && *info->fingerprint ? info->fingerprint : "{}";
    const char *text[9] = {info->label,   info->kind,          info->command,
                           info->params,  info->host,          info->arch,
                           info->version, conditions_of(info), fp};
    for (int i = 0; i < 9; i++)
        sqlite3_bind_text(st, i + 1, or_empty(text[i]), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, info->created_ns);
    int rc = step_done(st);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(store, rc, "cannot add a campaign");
    *id = sqlite3_last_insert_rowid(store->db);
    return FM_STORE_OK;
}

fm_store_status fm_store__campaign_locked(fm_store *store, const fm_campaign_info *info,
                                          int64_t *id, bool *existed)
{
    fm_store_status status = find_label(store, info->label, id);
    if (status == FM_STORE_OK) {
        *existed = true;
        return check_same(store, *id, info);
    }
    if (status != FM_STORE_ENOENT)
        return status;
    *existed = false;
    status = insert_campaign(store, info, id);
    /* Its tallies row (zeros) is written with the transaction (fm_store__tally_sync). */
    return status == FM_STORE_OK ? fm_store__tally_dirty(store, *id) : status;
}

fm_store_status fm_store_campaign(fm_store *store, const fm_campaign_info *info, int64_t *id,
                                  bool *existed)
{
    if (store == NULL || info == NULL || id == NULL || info->label == NULL ||
        *info->label == '\0' || info->kind == NULL || info->command == NULL)
        return store != NULL ? fm_store__fail(store, FM_STORE_EINVAL,
                                              "a campaign needs a label, a kind and a command")
                             : FM_STORE_EINVAL;
    bool dummy;
    if (existed == NULL)
        existed = &dummy;
    /* What the caller leaves out is this machine's: one place fills it for every command. */
    fm_campaign_info full = *info;
    struct utsname u;
    char host[256] = "";
    if (full.host == NULL || full.arch == NULL) {
        if (gethostname(host, sizeof host - 1) != 0)
            host[0] = '\0';
        if (uname(&u) != 0)
            snprintf(u.machine, sizeof u.machine, "unknown");
    }
    if (full.host == NULL)
        full.host = host;
    if (full.arch == NULL)
        full.arch = u.machine;
    if (full.version == NULL)
        full.version = FM_VERSION;
    if (full.created_ns == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        full.created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    info = &full;
    FM_PG_DISPATCH(store, fm_pg_campaign(store, info, id, existed));
    /* Inside an open batch the row rides with it; otherwise it is its own transaction. */
    bool own = !store->in_batch;
    fm_store_status status = own ? begin_batch(store) : FM_STORE_OK;
    if (status != FM_STORE_OK)
        return status;
    status = fm_store__campaign_locked(store, info, id, existed);
    if (own) {
        if (status == FM_STORE_OK)
            status = commit_batch(store);
        else
            abandon_batch(store);
    }
    return status;
}

fm_store_status fm_store_find_campaign(fm_store *store, const char *label, int64_t *id,
                                       fm_campaign_info *info)
{
    if (store == NULL || label == NULL || id == NULL)
        return FM_STORE_EINVAL;
    fm_store_status status = find_label(store, label, id);
    if (status == FM_STORE_OK && info != NULL)
        status = fm_store__campaign_by_id(store, *id, info);
    return status;
}

fm_store_status fm_store_last_campaign(fm_store *store, int64_t *id, fm_campaign_info *info)
{
    if (store == NULL || id == NULL)
        return FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_last_campaign(store, id, info));
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_LAST_CAMPAIGN);
    if (st == NULL)
        return FM_STORE_EIO;
    int rc = sqlite3_step(st);
    fm_store_status status = FM_STORE_OK;
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        status = fm_store__fail(store, FM_STORE_ENOENT, "the store holds no campaign");
    else
        status = fm_store__sqlite(store, rc, "cannot list campaigns");
    sqlite3_reset(st);
    if (status == FM_STORE_OK && info != NULL)
        status = fm_store__campaign_by_id(store, *id, info);
    return status;
}

/* ---- Runs ----------------------------------------------------------------------------------- */

static void bind_run(sqlite3_stmt *st, int64_t campaign, const fm_run_record *r)
{
    sqlite3_bind_int64(st, 1, campaign);
    sqlite3_bind_int64(st, 2, r->run_index);
    sqlite3_bind_int64(st, 3, r->attempt);
    sqlite3_bind_int64(st, 4, (int64_t)r->seed); /* the bits; read back as uint64_t */
    sqlite3_bind_int(st, 5, (int)r->outcome);
    /* exit_code and signal are NULL where the outcome makes them meaningless. */
    if (r->outcome == FM_OUTCOME_PASS || r->outcome == FM_OUTCOME_FAIL ||
        (r->outcome == FM_OUTCOME_ERROR && r->exit_code >= 0))
        sqlite3_bind_int(st, 6, r->exit_code);
    if ((r->outcome == FM_OUTCOME_CRASH || r->outcome == FM_OUTCOME_TIMEOUT ||
         r->outcome == FM_OUTCOME_INTERRUPTED) &&
        r->signal > 0)
        sqlite3_bind_int(st, 7, r->signal);
    sqlite3_bind_int(st, 8, r->core_dumped ? 1 : 0);
    sqlite3_bind_int64(st, 9, r->start_ns);
    sqlite3_bind_int64(st, 10, r->wall_ns);
    sqlite3_bind_int64(st, 11, r->user_us);
    sqlite3_bind_int64(st, 12, r->sys_us);
    sqlite3_bind_int64(st, 13, r->max_rss_kb);
}

/* Insert one row in the open transaction; a duplicate key is ECONFLICT (the batch survives). */
static fm_store_status insert_run(fm_store *store, int64_t campaign, const fm_run_record *r)
{
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_INSERT_RUN);
    if (st == NULL)
        return FM_STORE_EIO;
    bind_run(st, campaign, r);
    int rc = step_done(st);
    if (rc == SQLITE_OK) {
        fm_store__summary_note(store, campaign, r);
        return FM_STORE_OK;
    }
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return fm_store__fail(store, FM_STORE_ECONFLICT,
                              "run %lld attempt %u of campaign %lld is already stored",
                              (long long)r->run_index, r->attempt, (long long)campaign);
    return fm_store__sqlite(store, rc, "cannot add a run");
}

/* Merge's insert: the campaign is recounted from its rows before the commit. */
fm_store_status fm_store__insert_run(fm_store *store, int64_t campaign, const fm_run_record *r)
{
    fm_store_status status = insert_run(store, campaign, r);
    return status == FM_STORE_OK ? fm_store__tally_dirty(store, campaign) : status;
}

fm_store_status fm_store_add_run(fm_store *store, int64_t campaign, const fm_run_record *run)
{
    if (store == NULL || run == NULL)
        return FM_STORE_EINVAL;
    if (run->run_index < 0 || run->attempt < 1 || (unsigned)run->outcome >= FM_OUTCOME_COUNT)
        return fm_store__fail(store, FM_STORE_EINVAL,
                              "bad run record (run_index %lld, attempt %u, outcome %d)",
                              (long long)run->run_index, run->attempt, (int)run->outcome);
    FM_PG_DISPATCH(store, fm_pg_add_run(store, campaign, run));
    fm_store_status status = store->in_batch ? FM_STORE_OK : begin_batch(store);
    if (status != FM_STORE_OK)
        return status;
    status = insert_run(store, campaign, run);
    if (status != FM_STORE_OK) {
        /* SQLite may have rolled the whole transaction back (I/O error, full disk). */
        if (sqlite3_get_autocommit(store->db)) {
            store->in_batch = false;
            store->pending = 0;
            fm_store__summary_forget(store);
            fm_store__tally_drop(store);
        }
        return status;
    }
    status = fm_store__tally_add(store, campaign, run);
    if (status != FM_STORE_OK) { /* the row cannot be counted: it must not stay either */
        abandon_batch(store);
        return status;
    }
    store->pending++;
    if (store->pending >= FM_STORE_BATCH_ROWS ||
        monotonic_ns() - store->batch_start_ns >= FM_STORE_BATCH_NS)
        return commit_batch(store);
    return FM_STORE_OK;
}

/* ---- Evidence ------------------------------------------------------------------------------ */

fm_store_cause fm_store_cause_of(const fm_run_record *r)
{
    fm_store_cause c = {.outcome = r->outcome};
    if (r->outcome == FM_OUTCOME_FAIL || (r->outcome == FM_OUTCOME_ERROR && r->exit_code >= 0))
        c.has_code = true, c.code = r->exit_code;
    else if ((r->outcome == FM_OUTCOME_CRASH || r->outcome == FM_OUTCOME_TIMEOUT) && r->signal > 0)
        c.has_code = true, c.code = r->signal;
    return c;
}

fm_store_status fm_store_add_evidence(fm_store *store, int64_t campaign, const fm_run_record *run,
                                      const char *tail, size_t tail_len, int64_t output_bytes,
                                      bool *kept)
{
    bool dummy;
    if (kept == NULL)
        kept = &dummy;
    *kept = false;
    if (store == NULL || run == NULL || (tail == NULL && tail_len > 0))
        return FM_STORE_EINVAL;
    if (run->outcome == FM_OUTCOME_PASS || run->outcome == FM_OUTCOME_INTERRUPTED)
        return FM_STORE_OK;
    if (tail_len > FM_STORE_EVIDENCE_BYTES) {
        tail += tail_len - FM_STORE_EVIDENCE_BYTES;
        tail_len = FM_STORE_EVIDENCE_BYTES;
    }
    fm_store_evidence ev = {.run_index = run->run_index,
                            .attempt = run->attempt,
                            .cause = fm_store_cause_of(run),
                            .output_bytes = output_bytes,
                            .tail = tail,
                            .tail_len = tail_len};
    FM_PG_DISPATCH(store, fm_pg_add_evidence(store, campaign, &ev)); /* queued: *kept false */
    fm_store_status status = store->in_batch ? FM_STORE_OK : begin_batch(store);
    if (status != FM_STORE_OK)
        return status;
    return fm_store__insert_evidence(store, campaign, &ev, kept);
}

fm_store_status fm_store__insert_evidence(fm_store *store, int64_t campaign,
                                          const fm_store_evidence *ev, bool *kept)
{
    sqlite3_stmt *st = fm_store__stmt(store, FM_ST_INSERT_EVIDENCE);
    if (st == NULL)
        return FM_STORE_EIO;
    sqlite3_bind_int64(st, 1, campaign);
    sqlite3_bind_int64(st, 2, ev->run_index);
    sqlite3_bind_int64(st, 3, ev->attempt);
    sqlite3_bind_int(st, 4, (int)ev->cause.outcome);
    if (ev->cause.has_code)
        sqlite3_bind_int(st, 5, ev->cause.code);
    sqlite3_bind_int64(st, 6, ev->output_bytes);
    sqlite3_bind_blob(st, 7, ev->tail_len ? ev->tail : "", (int)ev->tail_len, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, FM_STORE_EVIDENCE_PER_CAUSE);
    sqlite3_bind_int(st, 9, FM_STORE_EVIDENCE_CAUSES);
    int rc = step_done(st);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(store, rc, "cannot keep the output of a run");
    *kept = sqlite3_changes(store->db) > 0;
    return FM_STORE_OK;
}

fm_store_status fm_store_evidence_each(fm_store *store, int64_t campaign,
                                       int (*fn)(const fm_store_evidence *ev, void *ctx), void *ctx)
{
    if (store == NULL || fn == NULL)
        return FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_evidence_each(store, campaign, fn, ctx));
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT run_index, attempt, outcome, code, output_bytes, tail "
                                "FROM evidence WHERE campaign = ?1 "
                                "ORDER BY outcome, code, run_index, attempt",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_int64(st, 1, campaign);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        fm_store_evidence ev = {
            .run_index = sqlite3_column_int64(st, 0),
            .attempt = (uint32_t)sqlite3_column_int64(st, 1),
            .cause = {.outcome = (fm_outcome)sqlite3_column_int(st, 2),
                      .has_code = sqlite3_column_type(st, 3) != SQLITE_NULL,
                      .code = sqlite3_column_int(st, 3)},
            .output_bytes = sqlite3_column_int64(st, 4),
            .tail = sqlite3_column_blob(st, 5),
            .tail_len = (size_t)sqlite3_column_bytes(st, 5),
        };
        if (fn(&ev, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
        rc = SQLITE_OK;
    }
    fm_store_status status =
        rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot read the evidence");
    sqlite3_finalize(st);
    return status;
}

fm_store_status fm_store_causes(fm_store *store, int64_t campaign, fm_store_cause *out, size_t max,
                                size_t *n, size_t *total)
{
    if (store == NULL || n == NULL || (out == NULL && max > 0))
        return FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_causes(store, campaign, out, max, n, total));
    *n = 0;
    size_t all = 0;
    bool done;
    fm_store_status stored = fm_store__causes_stored(store, campaign, out, max, n, &all, &done);
    if (stored != FM_STORE_OK || done) {
        if (total != NULL)
            *total = all;
        return stored;
    }
    sqlite3_stmt *st = NULL;
    /* The cause code as fm_store_cause_of makes it: exit code for fail/error, signal for
     * crash/timeout. */
    int rc = sqlite3_prepare_v2(
        store->db,
        "SELECT outcome, CASE WHEN outcome IN (1, 4) THEN exit_code ELSE signal END AS code, "
        "count(*) AS k FROM runs WHERE campaign = ?1 AND attempt = 1 AND outcome NOT IN (0, 5) "
        "GROUP BY outcome, code ORDER BY k DESC, outcome, code",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_int64(st, 1, campaign);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n < max)
            out[(*n)++] = (fm_store_cause){.outcome = (fm_outcome)sqlite3_column_int(st, 0),
                                           .has_code = sqlite3_column_type(st, 1) != SQLITE_NULL,
                                           .code = sqlite3_column_int(st, 1),
                                           .count = sqlite3_column_int64(st, 2)};
        all++;
        rc = SQLITE_OK;
    }
    fm_store_status status =
        rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot count the causes");
    sqlite3_finalize(st);
    if (total != NULL)
        *total = all;
    return status;
}

fm_store_status fm_store_max_run_index(fm_store *store, int64_t campaign, int64_t *max)
{
    if (store == NULL || max == NULL)
        return FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_max_run_index(store, campaign, max));
    bool null;
    fm_store_status status = fm_store__query_int(store, FM_ST_MAX_RUN_INDEX, campaign, max, &null);
    if (status == FM_STORE_OK && null)
        *max = -1;
    return status;
}

/* The ids of the campaign labelled `label`, or of all (label NULL), in creation order; the
 * caller frees *ids.  ENOENT when a label is given and absent. */
fm_store_status fm_store__campaign_ids(fm_store *store, const char *label, int64_t **ids, size_t *n)
{
    FM_PG_DISPATCH(store, fm_pg_campaign_ids(store, label, ids, n));
    sqlite3_stmt *st = NULL;
    fm_store_status status = FM_STORE_OK;
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT id FROM campaigns WHERE ?1 IS NULL OR label = ?1 "
                                "ORDER BY id",
                                -1, &st, NULL);
    if (rc == SQLITE_OK && label != NULL)
        sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!fm_grow(ids, &cap, *n + 1, sizeof **ids, 16)) {
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
            goto out;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot list campaigns");
    else if (label != NULL && *n == 0)
        status = fm_store__fail(store, FM_STORE_ENOENT, "no campaign labelled '%s'", label);
out:
    sqlite3_finalize(st);
    return status;
}

/* ---- Reading runs back (export, merge) ---- */

static void read_row(sqlite3_stmt *st, fm_store__row *row)
{
    fm_run_record *r = &row->r;
    r->run_index = sqlite3_column_int64(st, 0);
    r->attempt = (uint32_t)sqlite3_column_int64(st, 1);
    r->seed = (uint64_t)sqlite3_column_int64(st, 2);
    r->outcome = (fm_outcome)sqlite3_column_int(st, 3);
    row->has_exit = sqlite3_column_type(st, 4) != SQLITE_NULL;
    r->exit_code = sqlite3_column_int(st, 4);
    row->has_signal = sqlite3_column_type(st, 5) != SQLITE_NULL;
    r->signal = sqlite3_column_int(st, 5);
    r->core_dumped = sqlite3_column_int(st, 6) != 0;
    r->start_ns = sqlite3_column_int64(st, 7);
    r->wall_ns = sqlite3_column_int64(st, 8);
    r->user_us = sqlite3_column_int64(st, 9);
    r->sys_us = sqlite3_column_int64(st, 10);
    r->max_rss_kb = sqlite3_column_int64(st, 11);
}

fm_store_status fm_store__for_each_run(fm_store *store, int64_t campaign, fm_store__row_fn fn,
                                       void *ctx)
{
    FM_PG_DISPATCH(store, fm_pg_for_each_run(store, campaign, fn, ctx));
    sqlite3_stmt *st = NULL;
    fm_store_status status = FM_STORE_OK;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT run_index, attempt, seed, outcome, exit_code, signal, "
                                "core_dumped, start_ns, wall_ns, user_us, sys_us, max_rss_kb "
                                "FROM runs WHERE campaign = ?1 ORDER BY run_index, attempt",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        status = fm_store__sqlite(store, rc, "cannot read runs");
        goto out;
    }
    sqlite3_bind_int64(st, 1, campaign);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fm_store__row row;
        read_row(st, &row);
        status = fn(ctx, &row);
        if (status != FM_STORE_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot read runs");
out:
    sqlite3_finalize(st);
    return status;
}

fm_store_status fm_store_campaign_list(fm_store *store, int64_t **ids, size_t *n)
{
    if (store == NULL || ids == NULL || n == NULL)
        return FM_STORE_EINVAL;
    return fm_store__campaign_ids(store, NULL, ids, n);
}

fm_store_status fm_store_campaign_info(fm_store *store, int64_t id, fm_campaign_info *info)
{
    if (store == NULL || info == NULL)
        return FM_STORE_EINVAL;
    return fm_store__campaign_by_id(store, id, info);
}

/* ---- Shared stores: the runner's side (fm_pg.c; nothing to do on an SQLite store) ---------- */

fm_store_status fm_store_runner_begin(fm_store *store, int64_t campaign, int block)
{
    if (store == NULL || block < 1)
        return FM_STORE_EINVAL;
    FM_PG_DISPATCH(store, fm_pg_runner_begin(store, campaign, block));
    (void)campaign;
    return FM_STORE_OK;
}

bool fm_store_claim_run(fm_store *store, int64_t *index)
{
    FM_PG_DISPATCH(store, fm_pg_claim_run(store, index));
    (void)store, (void)index;
    return false;
}

void fm_store_set_in_flight(fm_store *store, int64_t first_attempts_running)
{
#ifdef FM_HAVE_PG
    if (store != NULL && store->pg != NULL)
        fm_pg_set_in_flight(store, first_attempts_running);
#else
    (void)store, (void)first_attempts_running;
#endif
}

bool fm_store_cluster_counts(fm_store *store, fm_store_cluster *out)
{
    FM_PG_DISPATCH(store, fm_pg_cluster(store, out));
    (void)store, (void)out;
    return false;
}

void fm_store_cluster_decide(fm_store *store, const fm_store_cluster_decision *decision)
{
#ifdef FM_HAVE_PG
    if (store != NULL && store->pg != NULL)
        fm_pg_decide(store, decision);
#else
    (void)store, (void)decision;
#endif
}
