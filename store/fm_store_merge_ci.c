/*
 * fm_store_merge_ci.c - the CI history part of a merge: the ingested JUnit results (tables
 * ci_runs, ci_tests, ci_files, ci_results; docs/store.md, "Ingest") of one input copied into
 * the output, so that `merge` loses nothing of what `ingest` stored.
 *
 * Rows are matched by their natural keys, never by their ids (which differ between stores): a
 * CI run by (label, run_key), a test by (label, name), a file by its SHA-256, a result by (test,
 * CI run, attempt).  A row already in the output is kept as it is (INSERT OR IGNORE), so
 * merging the same history twice, or two stores that both ingested the same report, adds
 * nothing.  Ids are translated through maps filled in increasing source-id order, so a lookup
 * is a binary search.  Runs inside the caller's transactions: the input's read snapshot and the
 * output's write transaction, which the caller commits or rolls back as a whole.
 */
#include "fm_store_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t *src, *dst;
    size_t n, cap;
} id_map;

static int map_add(id_map *m, int64_t src, int64_t dst)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        int64_t *s = realloc(m->src, cap * sizeof *s);
        if (s == NULL)
            return -1;
        m->src = s;
        int64_t *d = realloc(m->dst, cap * sizeof *d);
        if (d == NULL)
            return -1;
        m->dst = d;
        m->cap = cap;
    }
    m->src[m->n] = src;
    m->dst[m->n++] = dst;
    return 0;
}

/* The output id of a source id (sources were added in increasing order), or -1. */
static int64_t map_get(const id_map *m, int64_t src)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->src[mid] < src)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && m->src[lo] == src ? m->dst[lo] : -1;
}

typedef struct {
    fm_store *src, *dst;
    sqlite3_stmt *read, *insert, *find;
    int columns; /* copied columns after the id */
} copier;

static fm_store_status prepare(copier *c, const char *read, const char *insert, const char *find)
{
    int rc = sqlite3_prepare_v2(c->src->db, read, -1, &c->read, NULL);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(c->src, rc, "cannot read the CI history");
    rc = sqlite3_prepare_v2(c->dst->db, insert, -1, &c->insert, NULL);
    if (rc == SQLITE_OK && find != NULL)
        rc = sqlite3_prepare_v2(c->dst->db, find, -1, &c->find, NULL);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(c->dst, rc, "cannot write the CI history");
    return FM_STORE_OK;
}

static void finish(copier *c)
{
    sqlite3_finalize(c->read);
    sqlite3_finalize(c->insert);
    sqlite3_finalize(c->find);
    c->read = c->insert = c->find = NULL;
}

/* Bind column `from` of the read row to parameter `to` of st, keeping its type. */
static void bind_column(sqlite3_stmt *st, int to, sqlite3_stmt *row, int from)
{
    sqlite3_bind_value(st, to, sqlite3_column_value(row, from));
}

/*
 * Copy a keyed table (ci_runs, ci_tests): column 0 of the read is the source id, columns
 * 1..columns are inserted; find (bound with the first `keys` columns) gives the output id.
 */
static fm_store_status copy_keyed(copier *c, int keys, id_map *map)
{
    int rc;
    while ((rc = sqlite3_step(c->read)) == SQLITE_ROW) {
        sqlite3_reset(c->insert);
        for (int i = 1; i <= c->columns; i++)
            bind_column(c->insert, i, c->read, i);
        if ((rc = sqlite3_step(c->insert)) != SQLITE_DONE)
            return fm_store__sqlite(c->dst, rc, "cannot copy the CI history");
        sqlite3_reset(c->find);
        for (int i = 1; i <= keys; i++)
            bind_column(c->find, i, c->read, i);
        if ((rc = sqlite3_step(c->find)) != SQLITE_ROW)
            return fm_store__sqlite(c->dst, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                                    "cannot copy the CI history");
        if (map_add(map, sqlite3_column_int64(c->read, 0), sqlite3_column_int64(c->find, 0)))
            return fm_store__fail(c->dst, FM_STORE_ENOMEM, "out of memory");
    }
    return rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(c->src, rc, "cannot read");
}

/* Copy rows whose columns `id_cols` (1-based read columns) are ids to translate. */
static fm_store_status copy_refs(copier *c, const int *id_cols, const id_map *const *maps,
                                 int n_ids)
{
    int rc;
    while ((rc = sqlite3_step(c->read)) == SQLITE_ROW) {
        sqlite3_reset(c->insert);
        for (int i = 1; i <= c->columns; i++)
            bind_column(c->insert, i, c->read, i - 1);
        for (int k = 0; k < n_ids; k++) {
            int64_t to = map_get(maps[k], sqlite3_column_int64(c->read, id_cols[k] - 1));
            if (to < 0)
                return fm_store__fail(c->src, FM_STORE_ENOTSTORE,
                                      "a damaged store: a CI result refers to a missing row");
            sqlite3_bind_int64(c->insert, id_cols[k], to);
        }
        if ((rc = sqlite3_step(c->insert)) != SQLITE_DONE)
            return fm_store__sqlite(c->dst, rc, "cannot copy the CI history");
    }
    return rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(c->src, rc, "cannot read");
}

fm_store_status fm_store__merge_ci(fm_store *src, fm_store *dst)
{
    id_map runs = {0}, tests = {0};
    copier c = {.src = src, .dst = dst, .columns = 6};
    fm_store_status st = prepare(
        &c, "SELECT id, label, run_key, time_ns, host, platform, revision FROM ci_runs ORDER BY id",
        "INSERT OR IGNORE INTO ci_runs (label, run_key, time_ns, host, platform, revision) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        "SELECT id FROM ci_runs WHERE label = ?1 AND run_key = ?2");
    st = st ? st : copy_keyed(&c, 2, &runs);
    finish(&c);
    c.columns = 2;
    st = st ? st
            : prepare(&c, "SELECT id, label, name FROM ci_tests ORDER BY id",
                      "INSERT OR IGNORE INTO ci_tests (label, name) VALUES (?1, ?2)",
                      "SELECT id FROM ci_tests WHERE label = ?1 AND name = ?2");
    st = st ? st : copy_keyed(&c, 2, &tests);
    finish(&c);
    static const int file_ids[] = {2};
    const id_map *file_maps[] = {&runs};
    c.columns = 7;
    st = st ? st
            : prepare(&c,
                      "SELECT sha256, ci_run, path, bytes, testcases, skipped, ingested_ns "
                      "FROM ci_files",
                      "INSERT OR IGNORE INTO ci_files (sha256, ci_run, path, bytes, testcases, "
                      "skipped, ingested_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      NULL);
    st = st ? st : copy_refs(&c, file_ids, file_maps, 1);
    finish(&c);
    static const int result_ids[] = {1, 2};
    const id_map *result_maps[] = {&tests, &runs};
    c.columns = 5;
    st = st ? st
            : prepare(&c, "SELECT test, ci_run, attempt, outcome, seconds FROM ci_results",
                      "INSERT OR IGNORE INTO ci_results (test, ci_run, attempt, outcome, "
                      "seconds) VALUES (?1, ?2, ?3, ?4, ?5)",
                      NULL);
    st = st ? st : copy_refs(&c, result_ids, result_maps, 2);
    finish(&c);
    free(runs.src);
    free(runs.dst);
    free(tests.src);
    free(tests.dst);
    return st;
}
