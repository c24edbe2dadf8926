/*
 * fm_history.c - per-test CI histories read back from the ci_* tables that `flakemeter ingest`
 * fills (fm_history.h, docs/store.md "CI history").
 *
 * One query does it: the CI runs that pass the filter (a window function keeps the last N per
 * suite), joined to their results and sorted by (label, test, time, CI run, attempt); a single
 * pass over the rows folds each (test, CI run) group into one fm_history_run: the outcome of its
 * lowest and highest attempt, the number of attempts, the duration of attempt 1.  Revisions are
 * numbered by dense_rank() over their text, so equal numbers mean the same commit within one
 * load.  fm_history_scan (at the end) gives the same histories streamed, one test at a time, in
 * memory bounded by the CI runs and tests rather than the results.  The library never prints;
 * the public functions return fm_hist_status (a store failure is FM_HIST_ESTORE with the detail
 * in fm_store_errmsg).
 */
#include "fm_history.h"
#include "fm_grow.h"
#include "fm_hist_internal.h"
#include "fm_store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The CI runs that pass the filter: ?1 label (NULL = all), ?2 since, ?3 until, ?4 last N. */
#define WINDOW_CTE                                                                                 \
    "WITH w AS (SELECT id, time_ns, rev, label FROM ("                                             \
    "SELECT id, time_ns, label, "                                                                  \
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
    if (!fm_grow(&b->v, &b->cap, b->n + 1, sizeof *b->v, 64))
        return false;
    fm_history_test *t = &b->v[b->n];
    *t = (fm_history_test){strdup(label), strdup(name), 0, NULL};
    b->n++;
    b->cap_runs = 0;
    return t->label != NULL && t->test != NULL;
}

static fm_history_run *new_run(builder *b)
{
    fm_history_test *t = &b->v[b->n - 1];
    if (!fm_grow(&t->runs, &b->cap_runs, t->n + 1, sizeof *t->runs, 16))
        return NULL;
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

/*
 * ---- The streaming scan (fm_history_scan) ---------------------------------------------------
 *
 * The same histories as fm_history_load without the sort of every result row by (label, test,
 * time) and without holding them all: the CI runs of the window are read first, in (time_ns,
 * id) order, which numbers them (their rank); ci_tests gives the names; then ci_results is read
 * in its primary-key order (test, CI run, attempt), which needs no sort, and each test's CI
 * runs are folded as add_row does and put in rank order (a sort only when the ids are not in
 * time order) before the caller sees them.  A CI run is red when some test's last attempt in it
 * did not pass (fm_history_suite's rule), counted here on the way.
 */
static const char scan_runs_sql[] =
    WINDOW_CTE "SELECT id, time_ns, rev, label, dense_rank() OVER (ORDER BY label) FROM w "
               "ORDER BY time_ns, id";
static const char scan_tests_sql[] = "SELECT id, label, name FROM ci_tests ORDER BY id";
static const char scan_results_sql[] = "SELECT test, ci_run, attempt, outcome, seconds "
                                       "FROM ci_results ORDER BY test, ci_run, attempt";

typedef struct {
    int64_t id;
    uint32_t rank;
} scan_key;

typedef struct {
    int64_t id;
    char *label, *name;
} scan_test;

typedef struct {
    uint32_t rank;
    fm_history_run run;
} scan_group;

typedef struct {
    int64_t *time_ns, *rev;
    uint32_t *suite; /* index into suites */
    uint8_t *red;
    scan_key *by_id; /* sorted by id */
    size_t n;
    fm_history_suite_runs *suites;
    size_t n_suites;
    scan_test *tests; /* sorted by id */
    size_t n_tests;
    scan_group *groups; /* the current test's CI runs (at most n) */
    fm_history_run *runs;
    size_t n_groups;
} scan_state;

static int cmp_key(const void *x, const void *y)
{
    const scan_key *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

static int cmp_test_id(const void *x, const void *y)
{
    const scan_test *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

static int cmp_group(const void *x, const void *y)
{
    const scan_group *a = x, *b = y;
    return (a->rank > b->rank) - (a->rank < b->rank);
}

/* The window's CI runs in (time_ns, id) order, their suites, and the map id -> rank. */
static fm_store_status scan_runs(fm_store *store, const fm_history_filter *f, scan_state *s)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    fm_store_status status = prepare_window(store, scan_runs_sql, f, &st);
    int rc = SQLITE_OK;
    while (status == FM_STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (s->n == cap) {
            size_t c = fm_grow_cap(cap, 256);
            if (c > UINT32_MAX || !fm_grow_to(&s->time_ns, c, sizeof *s->time_ns) ||
                !fm_grow_to(&s->rev, c, sizeof *s->rev) ||
                !fm_grow_to(&s->suite, c, sizeof *s->suite) ||
                !fm_grow_to(&s->by_id, c, sizeof *s->by_id)) {
                status =
                    fm_store__fail(store, FM_STORE_ENOMEM, "out of memory reading the history");
                break;
            }
            cap = c;
        }
        const char *label = (const char *)sqlite3_column_text(st, 3);
        int64_t suite = sqlite3_column_int64(st, 4) - 1; /* dense: 0 .. suites - 1 */
        if (label == NULL || suite < 0 || suite >= (int64_t)UINT32_MAX) {
            status = fm_store__fail(store, FM_STORE_EIO, "a CI run without a suite");
            break;
        }
        if ((size_t)suite >= s->n_suites) {
            size_t ns = (size_t)suite + 1;
            fm_history_suite_runs *g = realloc(s->suites, ns * sizeof *g);
            if (g == NULL) {
                status =
                    fm_store__fail(store, FM_STORE_ENOMEM, "out of memory reading the history");
                break;
            }
            for (size_t i = s->n_suites; i < ns; i++)
                g[i] = (fm_history_suite_runs){NULL, 0, 0};
            s->suites = g;
            s->n_suites = ns;
        }
        if (s->suites[suite].label == NULL && (s->suites[suite].label = strdup(label)) == NULL) {
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory reading the history");
            break;
        }
        s->suites[suite].ci_runs++;
        s->time_ns[s->n] = sqlite3_column_int64(st, 1);
        s->rev[s->n] = sqlite3_column_int64(st, 2);
        s->suite[s->n] = (uint32_t)suite;
        s->by_id[s->n] = (scan_key){sqlite3_column_int64(st, 0), (uint32_t)s->n};
        s->n++;
    }
    if (status == FM_STORE_OK && rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot read the CI history");
    sqlite3_finalize(st);
    if (status != FM_STORE_OK)
        return status;
    if (s->n > 1)
        qsort(s->by_id, s->n, sizeof *s->by_id, cmp_key);
    s->red = calloc(s->n + 1, 1);
    s->groups = malloc((s->n + 1) * sizeof *s->groups);
    s->runs = malloc((s->n + 1) * sizeof *s->runs);
    if (s->red == NULL || s->groups == NULL || s->runs == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory reading the history");
    return FM_STORE_OK;
}

static fm_store_status scan_tests(fm_store *store, scan_state *s)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = sqlite3_prepare_v2(store->db, scan_tests_sql, -1, &st, NULL);
    fm_store_status status =
        rc == SQLITE_OK ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot read the CI history");
    while (status == FM_STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *label = (const char *)sqlite3_column_text(st, 1);
        const char *name = (const char *)sqlite3_column_text(st, 2);
        if (label == NULL || name == NULL)
            continue; /* NOT NULL columns: the join of fm_history_load would drop it too */
        if (!fm_grow(&s->tests, &cap, s->n_tests + 1, sizeof *s->tests, 64)) {
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory reading the history");
            break;
        }
        scan_test *t = &s->tests[s->n_tests++];
        *t = (scan_test){sqlite3_column_int64(st, 0), strdup(label), strdup(name)};
        if (t->label == NULL || t->name == NULL)
            status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory reading the history");
    }
    if (status == FM_STORE_OK && rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot read the CI history");
    sqlite3_finalize(st);
    return status;
}

/* The rank of CI run id, or -1 when it is not in the window; hint: the last one found. */
static int64_t scan_rank(const scan_state *s, int64_t id, size_t *hint)
{
    if (*hint + 1 < s->n && s->by_id[*hint + 1].id == id)
        return s->by_id[++*hint].rank;
    if (s->n == 0)
        return -1;
    scan_key key = {id, 0};
    const scan_key *k = bsearch(&key, s->by_id, s->n, sizeof *s->by_id, cmp_key);
    if (k == NULL)
        return -1;
    *hint = (size_t)(k - s->by_id);
    return k->rank;
}

/* Hand the current test's CI runs, in time order, to the caller; mark the red CI runs. */
static int scan_flush(scan_state *s, const scan_test *t, fm_history_visit visit, void *ctx)
{
    bool sorted = true;
    for (size_t g = 0; g < s->n_groups; g++) {
        sorted = sorted && (g == 0 || s->groups[g - 1].rank < s->groups[g].rank);
        if (s->groups[g].run.last != FM_OUTCOME_PASS)
            s->red[s->groups[g].rank] = 1;
    }
    if (!sorted && s->n_groups > 1)
        qsort(s->groups, s->n_groups, sizeof *s->groups, cmp_group);
    for (size_t g = 0; g < s->n_groups; g++)
        s->runs[g] = s->groups[g].run;
    fm_history_test h = {t ? t->label : NULL, t ? t->name : NULL, s->n_groups, s->runs};
    size_t n = s->n_groups;
    s->n_groups = 0;
    return n > 0 && t != NULL ? visit(ctx, &h) : 0;
}

static fm_store_status scan_results(fm_store *store, scan_state *s, fm_history_visit visit,
                                    void *ctx, bool *stopped)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, scan_results_sql, -1, &st, NULL);
    fm_store_status status =
        rc == SQLITE_OK ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot read the CI history");
    const scan_test *test = NULL; /* the current test; NULL: not in ci_tests (its results count
                                   * for the red runs, as in fm_history_suite, but it is no test) */
    int64_t test_id = 0, run_id = 0;
    bool have_test = false, in_group = false;
    size_t hint = 0;
    while (status == FM_STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t tid = sqlite3_column_int64(st, 0), rid = sqlite3_column_int64(st, 1);
        if (!have_test || tid != test_id) {
            if (have_test && scan_flush(s, test, visit, ctx) != 0) {
                *stopped = true;
                break;
            }
            scan_test key = {tid, NULL, NULL};
            test = s->n_tests == 0
                       ? NULL
                       : bsearch(&key, s->tests, s->n_tests, sizeof *s->tests, cmp_test_id);
            test_id = tid, have_test = true, in_group = false;
        }
        uint8_t outcome = (uint8_t)sqlite3_column_int(st, 3);
        if (!in_group || rid != run_id) {
            run_id = rid;
            int64_t rank = scan_rank(s, rid, &hint);
            in_group = rank >= 0;
            if (!in_group)
                continue; /* a CI run outside the window */
            scan_group *g = &s->groups[s->n_groups++];
            g->rank = (uint32_t)rank;
            g->run = (fm_history_run){.ci_run = rid,
                                      .time_ns = s->time_ns[rank],
                                      .first = outcome,
                                      .attempts = 0,
                                      .first_s = sqlite3_column_type(st, 4) == SQLITE_NULL
                                                     ? NAN
                                                     : sqlite3_column_double(st, 4),
                                      .revision = s->rev[rank]};
        }
        fm_history_run *r = &s->groups[s->n_groups - 1].run;
        r->last = outcome;
        if (r->attempts < UINT16_MAX)
            r->attempts++;
    }
    if (status == FM_STORE_OK && !*stopped && rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot read the CI history");
    if (status == FM_STORE_OK && !*stopped && have_test && scan_flush(s, test, visit, ctx) != 0)
        *stopped = true;
    sqlite3_finalize(st);
    return status;
}

void fm_history_suites_free(fm_history_suite_runs *suites, size_t n)
{
    for (size_t i = 0; suites != NULL && i < n; i++)
        free(suites[i].label);
    free(suites);
}

fm_hist_status fm_history_scan(fm_store *store, const fm_history_filter *filter,
                               fm_history_visit visit, void *ctx, fm_history_suite_runs **suites,
                               size_t *n_suites)
{
    if (store == NULL || visit == NULL || suites == NULL || n_suites == NULL)
        return FM_HIST_EINVAL;
    *suites = NULL;
    *n_suites = 0;
    scan_state s = {0};
    bool stopped = false;
    fm_store_status status = scan_runs(store, filter, &s);
    if (status == FM_STORE_OK)
        status = scan_tests(store, &s);
    if (status == FM_STORE_OK)
        status = scan_results(store, &s, visit, ctx, &stopped);
    if (status == FM_STORE_OK && !stopped) {
        for (size_t i = 0; i < s.n; i++)
            s.suites[s.suite[i]].red_runs += s.red[i];
        for (size_t i = 0; i < s.n_suites; i++)
            if (s.suites[i].label == NULL) /* dense_rank leaves no gaps; never true */
                status = fm_store__fail(store, FM_STORE_EIO, "a CI run without a suite");
    }
    if (status == FM_STORE_OK && !stopped) {
        *suites = s.suites;
        *n_suites = s.n_suites;
        s.suites = NULL;
    }
    fm_history_suites_free(s.suites, s.n_suites);
    for (size_t i = 0; i < s.n_tests; i++) {
        free(s.tests[i].label);
        free(s.tests[i].name);
    }
    free(s.tests);
    free(s.time_ns);
    free(s.rev);
    free(s.suite);
    free(s.red);
    free(s.by_id);
    free(s.groups);
    free(s.runs);
    return stopped ? FM_HIST_ECALLBACK : fm_hist__store(status);
}
