/*
 * fm_store_runs.c - fm_store_runs_from: the stored attempts of one campaign from a run index
 * on, in (run_index, attempt) order, for callers that turn runs into other records (`stress`
 * writes each round into the CI history).  One scan of the campaign's primary-key range.
 */
#include "fm_store_internal.h"

fm_store_status fm_store_runs_from(fm_store *store, int64_t campaign, int64_t from_index,
                                   int (*fn)(const fm_run_record *run, void *ctx), void *ctx)
{
    if (store == NULL || fn == NULL)
        return FM_STORE_EINVAL;
    if (store->db == NULL) /* a PostgreSQL store: stress keeps to SQLite */
        return fm_store__fail(store, FM_STORE_EINVAL, "not on a PostgreSQL store");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT run_index, attempt, seed, outcome, exit_code, signal, "
                                "core_dumped, start_ns, wall_ns, user_us, sys_us, max_rss_kb "
                                "FROM runs WHERE campaign = ?1 AND run_index >= ?2 "
                                "ORDER BY run_index, attempt",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, campaign);
        sqlite3_bind_int64(st, 2, from_index);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        fm_run_record r = {
            .run_index = sqlite3_column_int64(st, 0),
            .attempt = (uint32_t)sqlite3_column_int64(st, 1),
            .seed = (uint64_t)sqlite3_column_int64(st, 2),
            .outcome = (fm_outcome)sqlite3_column_int(st, 3),
            .exit_code = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4),
            .signal = sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 : sqlite3_column_int(st, 5),
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
