/*
 * fm_store_internal.h - what the three store files (fm_store.c, fm_store_merge.c,
 * fm_store_export.c) share: the handle, its cache of prepared statements and the error helpers.
 * Not a public header: only store/fm_store*.c include it.
 */
#ifndef FM_STORE_INTERNAL_H
#define FM_STORE_INTERNAL_H

#include "fm_store.h"

#include <sqlite3.h>
#include <stddef.h>

/* PRAGMA application_id of a flakemeter store: "FMtr" (0x464d7472). */
#define FM_STORE_APP_ID 0x464d7472

/* The cached statements (SQL text in fm_store.c); prepared on first use, kept until close. */
typedef enum {
    FM_ST_BEGIN,
    FM_ST_COMMIT,
    FM_ST_ROLLBACK,
    FM_ST_INSERT_RUN,
    FM_ST_FIND_CAMPAIGN,
    FM_ST_CAMPAIGN_BY_ID,
    FM_ST_LAST_CAMPAIGN,
    FM_ST_INSERT_CAMPAIGN,
    FM_ST_MAX_RUN_INDEX,
    FM_ST_COUNT_RUNS,
    FM_ST_SUMMARY_SCAN,
    FM_ST_WALLS,
    FM_ST_WALL_RANGE,
    FM_ST_DATA_VERSION,
    FM_ST_INSERT_EVIDENCE,
    FM_ST_TALLY_READ,
    FM_ST_TALLY_WRITE,
    FM_ST_CAUSE_ADD,
    FM_ST_BUCKET_ADD,
    FM_ST_BUCKETS,
    FM_ST_SEG_NEXT,
    FM_ST_SEG_WALLS,
    FM_ST_CAUSES,
    FM_ST_COUNT
} fm_store_stmt_id;

/* The counted columns of the tallies table (schema 4), in the order fm_store_summary.c packs an
 * fm_store_summary into (23 values). */
#define FM_STORE_TALLY_COLS                                                                        \
    "attempts, n_pass, n_fail, n_crash, n_timeout, n_error, n_interrupted, first_attempts, "       \
    "first_pass, first_fail, first_crash, first_timeout, first_error, first_interrupted, chains, " \
    "chains_failed, passed_on_retry, retries, retries_failed, max_attempt, wall_ns_total, "        \
    "first_start_ns, last_end_ns"
#define FM_STORE_TALLY_N 23
/*
 * The index an exact quantile reads within one wall bucket (schema 5): walls in order within
 * segments of 2^16 consecutive run indices.  A run lands in the segment of its index, so adding
 * runs to a campaign of 10^7 touches a subtree of at most 65536 entries, as for a new campaign
 * (schema 4's index on (campaign, wall_ns) cost each added run a random insert into one large
 * B-tree: +13 % CPU on resuming a 10^6-run campaign, issue 19).  A quantile reads its bucket's
 * range in each non-empty segment (fm_store_summary.c).  The expression must be written as
 * FM_STORE_WALL_SEG in every query that is to use the index.  Merge drops the index for a bulk
 * copy and builds it again at the end.
 */
#define FM_STORE_WALL_SEG "(run_index >> 16)"
#define FM_STORE_RUNS_WALL_INDEX                                                                   \
    "CREATE INDEX IF NOT EXISTS runs_wall_seg ON runs (campaign, " FM_STORE_WALL_SEG               \
    ", wall_ns) WHERE outcome <> 5"

/* A campaign row as cached on the handle, so that the strings handed out stay valid. */
typedef struct {
    int64_t id;
    fm_campaign_info info;
    char *strings; /* one allocation holding label, kind, command, ... */
} fm_store_cached_campaign;

/*
 * The summary of one campaign as last computed in SQL, kept up to date by the rows this handle
 * adds, and valid while no other connection has committed (PRAGMA data_version unchanged).
 */
typedef struct {
    bool valid;
    int64_t campaign, data_version;
    fm_store_summary s;
} fm_store_summary_cache;

/*
 * What this handle's open batch added and the stored counts (schema 4: tallies, causes,
 * wall_buckets; fm_store_summary.c) do not have yet: per campaign a summary of the added rows
 * (or "dirty": recount the campaign from its rows), and the added first-attempt causes and wall
 * buckets.  Written into the batch's own transaction just before it commits
 * (fm_store__tally_sync), so a crash loses the rows and their counts together.
 */
typedef struct {
    int64_t campaign;
    bool dirty; /* rows came in without a delta (merge): recount from the rows */
    fm_store_summary d;
} fm_store_tally;

typedef struct {
    int64_t campaign;
    int kind; /* 0: a cause (a = outcome, b = has_code, c = code), 1: a wall bucket (a) */
    int64_t a, b, c, n;
} fm_store_count;

struct fm_store {
    sqlite3 *db;      /* NULL for a PostgreSQL store */
    struct fm_pg *pg; /* the PostgreSQL backend (fm_pg.h), or NULL for SQLite */
    sqlite3_stmt *stmt[FM_ST_COUNT];
    bool in_batch;          /* a write transaction is open (runs pending) */
    int pending;            /* rows added in the open batch */
    int64_t batch_start_ns; /* CLOCK_MONOTONIC when the batch began */
    fm_store_cached_campaign *campaigns;
    size_t n_campaigns, cap_campaigns;
    fm_store_summary_cache sum;
    fm_store_tally *tal; /* pending counts (above) */
    size_t n_tal, cap_tal;
    fm_store_count *cnt;
    size_t n_cnt, cap_cnt;
    char errmsg[512];
};

/* NULL as "", and a campaign's conditions with "{}" for none, as both backends store them. */
static inline const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}
static inline const char *conditions_of(const fm_campaign_info *info)
{
    return info->conditions != NULL && *info->conditions != '\0' ? info->conditions : "{}";
}
/* FM_STORE_OK when have (stored) and info are one experiment (kind, command, params,
 * conditions), else FM_STORE_ECONFLICT naming the first difference (both backends). */
fm_store_status fm_store__same_campaign(fm_store *store, const fm_campaign_info *have,
                                        const fm_campaign_info *info);

/* Record a detail message on the handle (for fm_store_errmsg); returns status. */
fm_store_status fm_store__fail(fm_store *store, fm_store_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map an SQLite result code to a status, recording "what: sqlite message". */
fm_store_status fm_store__sqlite(fm_store *store, int rc, const char *what);
/* The cached statement, reset and with its bindings cleared; NULL on failure (errmsg set). */
sqlite3_stmt *fm_store__stmt(fm_store *store, fm_store_stmt_id id);
/* Run a single-integer query with arg bound to ?1 (if it has one); *null if it was NULL. */
fm_store_status fm_store__query_int(fm_store *store, fm_store_stmt_id id, int64_t arg, int64_t *out,
                                    bool *null);
/* A row was inserted (update the caches) / rows were lost (drop them). */
void fm_store__summary_note(fm_store *store, int64_t campaign, const fm_run_record *r);
void fm_store__summary_forget(fm_store *store);
/* Counts kept in the store (schema 4): a row the run loop added (its delta is kept for the
 * commit; ENOMEM when it cannot be); rows added otherwise (merge: the campaign is recounted
 * from its rows before the commit); write what is pending into the open write transaction
 * (call just before COMMIT, and before reading the counts inside it); forget it (rollback). */
fm_store_status fm_store__tally_add(fm_store *store, int64_t campaign, const fm_run_record *r);
fm_store_status fm_store__tally_dirty(fm_store *store, int64_t campaign);
fm_store_status fm_store__tally_sync(fm_store *store);
void fm_store__tally_drop(fm_store *store);
/* Recount the campaign's tallies, causes and wall buckets from its rows (inside a write
 * transaction): the migration from schema 3, merge, and a campaign whose row is missing. */
fm_store_status fm_store__retally(fm_store *store, int64_t campaign);
/* A campaign merged whole into a new one (dst_id, made in this transaction): its counts are
 * src's, copied instead of recounted (*copied false when src has none: then it is recounted). */
fm_store_status fm_store__tally_copy(fm_store *src, int64_t src_id, fm_store *dst, int64_t dst_id,
                                     bool *copied);
/* fm_store_causes from the stored counts; *done false (nothing read) when the campaign has none
 * (a store written by hand): then from the rows. */
fm_store_status fm_store__causes_stored(fm_store *store, int64_t campaign, fm_store_cause *out,
                                        size_t max, size_t *n, size_t *all, bool *done);
/* One consistent snapshot for several reads (SQLite: a deferred transaction; PostgreSQL: a
 * read-only REPEATABLE READ transaction), and its end. */
fm_store_status fm_store__read_begin(fm_store *store);
void fm_store__read_end(fm_store *store);
/* Run SQL that returns no rows. */
fm_store_status fm_store__exec(fm_store *store, const char *sql);
/* Insert one run in the caller's transaction; a duplicate key is FM_STORE_ECONFLICT. */
fm_store_status fm_store__insert_run(fm_store *store, int64_t campaign, const fm_run_record *r);
/* Keep one output tail, bounded per cause and campaign, in the caller's transaction. */
fm_store_status fm_store__insert_evidence(fm_store *store, int64_t campaign,
                                          const fm_store_evidence *ev, bool *kept);
/* Find or create a campaign inside the caller's transaction (see fm_store_campaign). */
fm_store_status fm_store__campaign_locked(fm_store *store, const fm_campaign_info *info,
                                          int64_t *id, bool *existed);
/* The cached info of campaign id (loaded on first use). */
fm_store_status fm_store__campaign_by_id(fm_store *store, int64_t id, fm_campaign_info *info);

/* The ids of the campaign labelled `label`, or of all (label NULL), in creation order; the
 * caller frees *ids.  ENOENT when a label is given and absent. */
/* Export helpers (fm_store_export.c): text made valid UTF-8 without control characters (malloc'd),
 * a JSON string of it (NULL without memory), o[key] = v (v consumed; false, *oom set, when v is
 * NULL or the entry could not be made), and an RFC 4180 CSV field. */
char *fm_store__clean_text(const char *s);
struct json_t;
struct json_t *fm_store__json_text(const char *s);
bool fm_store__json_put(struct json_t *o, const char *key, struct json_t *v, bool *oom);
/* json_dumps, NULL when any of its allocations failed (jansson may then drop bytes silently). */
char *fm_store__json_dumps(const struct json_t *v, size_t flags);
void fm_store__csv_field(FILE *f, const char *s);

/* Copy the ingested CI history of src into dst (fm_store_merge_ci.c); inside both transactions. */
fm_store_status fm_store__merge_ci(fm_store *src, fm_store *dst);
fm_store_status fm_store__campaign_ids(fm_store *store, const char *label, int64_t **ids,
                                       size_t *n);

/* One stored attempt as read back; exit code and signal may be NULL in the store. */
typedef struct {
    fm_run_record r;
    bool has_exit, has_signal;
} fm_store__row;

typedef fm_store_status (*fm_store__row_fn)(void *ctx, const fm_store__row *row);

/* Call fn for every run of the campaign, in (run_index, attempt) order; stops at the first
 * status fn returns that is not FM_STORE_OK and returns it. */
fm_store_status fm_store__for_each_run(fm_store *store, int64_t campaign, fm_store__row_fn fn,
                                       void *ctx);

/*
 * The backend dispatch: the first line of each public function (and of the generic helpers that
 * export and merge use) hands a PostgreSQL store to store/fm_pg.c.  Built without libpq no
 * store has pg set and the line compiles away.
 */
#ifdef FM_HAVE_PG
#include "fm_pg.h"
#define FM_PG_DISPATCH(store, call)                                                                \
    do {                                                                                           \
        if ((store) != NULL && (store)->pg != NULL)                                                \
            return call;                                                                           \
    } while (0)
#else
#define FM_PG_DISPATCH(store, call) ((void)0)
#endif

#endif
