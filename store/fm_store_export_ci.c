/*
 * fm_store_export_ci.c - fm_store_export_history: the ingested CI history (tables ci_runs,
 * ci_tests, ci_results) of one suite or all, as JSON or CSV, so that what `ingest` stored can
 * leave the store as well as the runs of `flakemeter run` can (layouts: docs/store.md).
 *
 * One SQL cursor over the results in (time, CI run, test, attempt) order, inside one read
 * transaction; JSON is built one CI run at a time with jansson (memory: one CI run's results),
 * CSV is streamed row by row.  Text passes through the same hygiene as the runs' export.
 */
#include "fm_store_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char history_sql[] =
    "SELECT r.id, r.label, r.run_key, r.time_ns, r.host, r.platform, r.revision, t.name, "
    "x.attempt, x.outcome, x.seconds FROM ci_results x JOIN ci_runs r ON r.id = x.ci_run "
    "JOIN ci_tests t ON t.id = x.test WHERE ?1 IS NULL OR r.label = ?1 "
    "ORDER BY r.time_ns, r.id, t.name, x.attempt";

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s != NULL ? s : "";
}

/* A CI run's object with an empty results array; NULL without memory (never a key missing). */
static json_t *run_object(sqlite3_stmt *st)
{
    json_t *o = json_object();
    bool oom = o == NULL;
    if (o != NULL) {
        fm_store__json_put(o, "label", fm_store__json_text(col_text(st, 1)), &oom);
        fm_store__json_put(o, "run_key", fm_store__json_text(col_text(st, 2)), &oom);
        fm_store__json_put(o, "time_ns", json_integer(sqlite3_column_int64(st, 3)), &oom);
        fm_store__json_put(o, "host", fm_store__json_text(col_text(st, 4)), &oom);
        fm_store__json_put(o, "platform", fm_store__json_text(col_text(st, 5)), &oom);
        fm_store__json_put(o, "revision", fm_store__json_text(col_text(st, 6)), &oom);
        fm_store__json_put(o, "results", json_array(), &oom);
    }
    if (oom)
        json_decref(o);
    return oom ? NULL : o;
}

static json_t *result_object(sqlite3_stmt *st)
{
    json_t *o = json_object();
    bool oom = o == NULL;
    if (o != NULL) {
        fm_store__json_put(o, "test", fm_store__json_text(col_text(st, 7)), &oom);
        fm_store__json_put(o, "attempt", json_integer(sqlite3_column_int64(st, 8)), &oom);
        fm_store__json_put(o, "outcome", json_string(fm_outcome_name(sqlite3_column_int(st, 9))),
                           &oom);
        fm_store__json_put(o, "seconds",
                           sqlite3_column_type(st, 10) == SQLITE_NULL
                               ? json_null()
                               : json_real(sqlite3_column_double(st, 10)),
                           &oom);
    }
    if (oom)
        json_decref(o);
    return oom ? NULL : o;
}

/* Print one finished CI run object (consumed) after the ones before it. */
static fm_store_status flush_run(fm_store *store, json_t *run, bool first, FILE *f)
{
    char *text =
        fm_store__json_dumps(run, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(run);
    if (text == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory building JSON");
    fprintf(f, "%s\n%s", first ? "" : ",", text);
    free(text);
    return ferror(f) ? fm_store__fail(store, FM_STORE_EIO, "cannot write the export") : FM_STORE_OK;
}

static fm_store_status history_json(fm_store *store, sqlite3_stmt *st, FILE *f)
{
    fm_store_status status = FM_STORE_OK;
    json_t *run = NULL;
    int64_t current = 0;
    bool first = true;
    int rc;
    fprintf(f, "{\"schema\":%d,\"ci_runs\":[", FM_STORE_SCHEMA);
    while (status == FM_STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (run != NULL && id != current) {
            status = flush_run(store, run, first, f);
            run = NULL;
            first = false;
        }
        if (run == NULL) {
            run = run_object(st);
            current = id;
        }
        json_t *result = run != NULL ? result_object(st) : NULL;
        if (result == NULL || json_array_append_new(json_object_get(run, "results"), result) != 0)
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory building JSON");
    }
    if (status == FM_STORE_OK && rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot read the CI history");
    if (status == FM_STORE_OK && run != NULL)
        status = flush_run(store, run, first, f);
    else
        json_decref(run);
    fputs("]}\n", f);
    return status;
}

static fm_store_status history_csv(fm_store *store, sqlite3_stmt *st, FILE *f)
{
    int rc;
    fputs("label,run_key,time_ns,host,platform,revision,test,attempt,outcome,seconds\n", f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 1; i <= 7; i++) {
            if (i == 3) {
                fprintf(f, "%lld,", (long long)sqlite3_column_int64(st, 3));
                continue;
            }
            char *text = fm_store__clean_text(col_text(st, i));
            if (text == NULL)
                return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
            fm_store__csv_field(f, text);
            free(text);
            fputc(',', f);
        }
        fprintf(f, "%d,%s,", sqlite3_column_int(st, 8), fm_outcome_name(sqlite3_column_int(st, 9)));
        if (sqlite3_column_type(st, 10) != SQLITE_NULL)
            fprintf(f, "%.17g", sqlite3_column_double(st, 10));
        fputc('\n', f);
        if (ferror(f))
            return fm_store__fail(store, FM_STORE_EIO, "cannot write the export");
    }
    return rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot read the history");
}

/* FM_STORE_ENOENT (nothing written) when no CI run of the suite is stored. */
static fm_store_status suite_exists(fm_store *store, const char *suite)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, "SELECT 1 FROM ci_runs WHERE label = ?1 LIMIT 1", -1,
                                &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, suite, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return FM_STORE_OK;
    if (rc == SQLITE_DONE)
        return fm_store__fail(store, FM_STORE_ENOENT, "no CI history for suite '%s'", suite);
    return fm_store__sqlite(store, rc, "cannot read the CI history");
}

fm_store_status fm_store_export_history(fm_store *store, const char *suite, fm_export_format format,
                                        FILE *f)
{
    if (store == NULL || f == NULL)
        return FM_STORE_EINVAL;
    if (format != FM_EXPORT_JSON && format != FM_EXPORT_CSV)
        return fm_store__fail(store, FM_STORE_EINVAL, "the CI history exports as json or csv");
    if (store->pg != NULL) /* `ingest` writes SQLite stores only */
        return fm_store__fail(store, FM_STORE_EINVAL, "a PostgreSQL store holds no CI history");
    fm_store_status status = fm_store_flush(store);
    if (status == FM_STORE_OK)
        status = fm_store__exec(store, "BEGIN"); /* one snapshot */
    if (status != FM_STORE_OK)
        return status;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, history_sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        status = fm_store__sqlite(store, rc, "cannot read the CI history");
        goto out;
    }
    if (suite != NULL)
        sqlite3_bind_text(st, 1, suite, -1, SQLITE_STATIC);
    if (suite != NULL && (status = suite_exists(store, suite)) != FM_STORE_OK)
        goto out;
    status = format == FM_EXPORT_JSON ? history_json(store, st, f) : history_csv(store, st, f);
    if (status == FM_STORE_OK && (fflush(f) != 0 || ferror(f)))
        status = fm_store__fail(store, FM_STORE_EIO, "cannot write the export");
out:
    sqlite3_finalize(st);
    sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    return status;
}
