/*
 * fm_history.c - per-test CI histories read back from the ci_* tables that `flakemeter ingest`
 * fills (fm_history.h, docs/store.md "CI history").
 *
 * One query does it: the CI runs that pass the filter (a window function keeps the last N per
 * suite), joined to their results and sorted by (label, test, time, CI run, attempt); a single
 * pass over the rows folds each (test, CI run) group into one fm_history_run: the outcome of its
 * lowest and highest attempt, the number of attempts, the duration of attempt 1.  Revisions are
 * numbered by dense_rank() over their text, so equal numbers mean the same commit within one
 * load.  The library never prints; the public functions return fm_hist_status (a store failure
 * is FM_HIST_ESTORE with the detail in fm_store_errmsg).
 */
#include "fm_history.h"
#include "fm_hist_internal.h"
#include "fm_store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The CI runs that pass the filter: ?1 label (NULL = all), ?2 since, ?3 until, ?4 last N. */
#define WINDOW_CTE                                                                                 \
    "WITH w AS (SELECT id, time_ns, rev FROM ("                                                    \
    "SELECT id, time_ns, "                                                                         \
    "CASE WHEN revision = '' THEN 0 ELSE dense_rank() OVER (ORDER BY revision) END AS rev, "       \
    "row_number() OVER (PARTITION BY label ORDER BY time_ns DESC, id DESC) AS rk "                 \
    "FROM ci_runs WHERE (?1 IS NULL OR label = ?1) AND (?2 = 0 OR time_ns >= ?2) "                 \
    "AND (?3 = 0 OR time_ns < ?3)) WHERE ?4 = 0 OR rk <= ?4) "

static const char load_sql[] =
    WINDOW_CTE "SELECT t.label, t.name, w.id, w.time_ns, w.rev, x.attempt, x.outcome, x.seconds "
               "FROM ci_results x JOIN w ON w.id = x.ci_run JOIN ci_tests t ON t.id = x.test "
               "ORDER BY t.label, t.name, w.time_ns, w.id, x.attempt";

/* A CI run is red when some test's highest attempt in it did not pass. */
static const char suite_sql[] =
    WINDOW_CTE "SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM w WHERE EXISTS ("
               "SELECT 1 FROM ci_results x WHERE x.ci_run = w.id AND x.outcome <> 0 AND "
               "x.attempt = (SELECT max(y.attempt) FROM ci_results y "
               "WHERE y.test = x.test AND y.ci_run = x.ci_run)))";

static fm_store_status prepare_window(fm_store *store, const char *sql, const fm_history_filter *f,
                                      sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(store->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return fm_store__sqlite(store, rc, "cannot read the CI history");
    if (f != NULL && f->label != NULL)
        sqlite3_bind_text(*st, 1, f->label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(*st, 2, f != NULL ? f->since_ns : 0);
    sqlite3_bind_int64(*st, 3, f != NULL ? f->until_ns : 0);
    sqlite3_bind_int64(*st, 4, f != NULL ? (int64_t)f->last_runs : 0);
    return FM_STORE_OK;
}

typedef struct {
    fm_history_test *v;
    size_t n, cap;
    size_t cap_runs; /* capacity of v[n-1].runs */
} builder;

static bool same_test(const fm_history_test *t, const char *label, const char *name)
{
    return strcmp(t->label, label) == 0 && strcmp(t->test, name) == 0;
}

static bool new_test(builder *b, const char *label, const char *name)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        fm_history_test *grown = realloc(b->v, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        b->v = grown;
        b->cap = cap;
    }
    fm_history_test *t = &b->v[b->n];
    *t = (fm_history_test){strdup(label), strdup(name), 0, NULL};
    b->n++;
    b->cap_runs = 0;
    return t->label != NULL && t->test != NULL;
}

static fm_history_run *new_run(builder *b)
{
    fm_history_test *t = &b->v[b->n - 1];
    if (t->n == b->cap_runs) {
        size_t cap = b->cap_runs ? 2 * b->cap_runs : 16;
        fm_history_run *grown = realloc(t->runs, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        t->runs = grown;
        b->cap_runs = cap;
    }
    return &t->runs[t->n++];
}

/* Fold one result row into the histories. */
static bool add_row(builder *b, sqlite3_stmt *st)
{
    const char *label = (const char *)sqlite3_column_text(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 1);
    int64_t ci_run = sqlite3_column_int64(st, 2);
    uint8_t outcome = (uint8_t)sqlite3_column_int(st, 6);
    if (label == NULL || name == NULL)
        return false;
    if (b->n == 0 || !same_test(&b->v[b->n - 1], label, name))
        if (!new_test(b, label, name))
            return false;
    fm_history_test *t = &b->v[b->n - 1];
    fm_history_run *r = t->n > 0 ? &t->runs[t->n - 1] : NULL;
    if (r == NULL || r->ci_run != ci_run) {
        if ((r = new_run(b)) == NULL)
            return false;
        *r = (fm_history_run){.ci_run = ci_run,
                              .time_ns = sqlite3_column_int64(st, 3),
                              .first = outcome,
                              .attempts = 0,
                              .first_s = sqlite3_column_type(st, 7) == SQLITE_NULL
                                             ? NAN
                                             : sqlite3_column_double(st, 7),
                              .revision = sqlite3_column_int64(st, 4)};
    }
    r->last = outcome;
    if (r->attempts < UINT16_MAX)
        r->attempts++;
    return true;
}

fm_hist_status fm_history_load(fm_store *store, const fm_history_filter *filter,
                               fm_history_test **tests, size_t *n_tests)
{
    if (store == NULL || tests == NULL || n_tests == NULL)
        return FM_HIST_EINVAL;
    *tests = NULL;
    *n_tests = 0;
    sqlite3_stmt *st = NULL;
    builder b = {0};
    fm_store_status status = prepare_window(store, load_sql, filter, &st);
    int rc = SQLITE_OK;
    while (status == FM_STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!add_row(&b, st))
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory reading the history");
    if (status == FM_STORE_OK && rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot read the CI history");
    sqlite3_finalize(st);
    if (status != FM_STORE_OK) {
        fm_history_free(b.v, b.n);
        return fm_hist__store(status);
    }
    *tests = b.v;
    *n_tests = b.n;
    return FM_HIST_OK;
}

void fm_history_free(fm_history_test *tests, size_t n_tests)
{
    for (size_t i = 0; i < n_tests; i++) {
        free(tests[i].label);
        free(tests[i].test);
        free(tests[i].runs);
    }
    free(tests);
}

fm_hist_status fm_history_suite(fm_store *store, const fm_history_filter *filter, int64_t *ci_runs,
                                int64_t *red_runs)
{
    if (store == NULL || ci_runs == NULL || red_runs == NULL)
        return FM_HIST_EINVAL;
    sqlite3_stmt *st = NULL;
    fm_store_status status = prepare_window(store, suite_sql, filter, &st);
    if (status == FM_STORE_OK) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *ci_runs = sqlite3_column_int64(st, 0);
            *red_runs = sqlite3_column_int64(st, 1);
        } else {
            status = fm_store__sqlite(store, rc, "cannot read the CI history");
        }
    }
    sqlite3_finalize(st);
    return fm_hist__store(status);
}
