/*
 * fm_hist_report_json.c - the JSON reports (jansson): `go test -json` events and MicroPython
 * run-tests.py's _results.json.
 *
 * go test -json (cmd/test2json): one object per line; lines that are not JSON (build output)
 * are skipped.  Each "pass" / "fail" / "skip" event with a Test is one attempt of
 * "Package::Test" (subtests keep Go's "Parent/sub" names), Elapsed its seconds; the same test
 * again (-count=N) is its next attempt.  A test that was started ("run") and never ended when
 * its package ends failed; if the package printed "panic: test timed out" while it ran, it is a
 * TIMEOUT (go test -timeout), as a "fail" of such a test is.  The earliest Time is the file's.
 * Open tests are bounded (MAX_OPEN): a file that starts more without ending them loses the rest.
 *
 * _results.json (run-tests.py's create_test_report): {"args": {...}, "results": [[path,
 * result, reason], ...], "failed_tests": [...], "ignored_tests": [...]}.  "pass" is a pass,
 * "fail" a failure, "ignored" a failure that run-tests.py reclassified because the test is in
 * flaky_tests_to_ignore (it still failed: counting it is the point), "skip" and "found" not
 * run.  Older files without "results": "passed_tests", "failed_tests", "skipped_tests" lists.
 * args.platform, when a string, is the CI run's platform.
 */
#include "fm_hist_report_impl.h"

#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GO_TIMEOUT_PANIC "panic: test timed out"
#define MAX_OPEN         100000

typedef struct {
    char *test; /* "Package::Test" */
    char *package;
    bool timed_out;
} open_test;

typedef struct {
    open_test *v;
    size_t n, cap;
} open_list;

static void drop(open_list *o, size_t i)
{
    free(o->v[i].test);
    free(o->v[i].package);
    o->v[i] = o->v[--o->n];
}

static size_t find(const open_list *o, const char *test)
{
    for (size_t i = o->n; i-- > 0;)
        if (strcmp(o->v[i].test, test) == 0)
            return i;
    return SIZE_MAX;
}

static bool add(open_list *o, const char *test, const char *package)
{
    if (find(o, test) != SIZE_MAX || o->n >= MAX_OPEN)
        return true;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        open_test *grown = realloc(o->v, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        o->v = grown;
        o->cap = cap;
    }
    char *t = strdup(test), *p = strdup(package);
    if (t == NULL || p == NULL) {
        free(t);
        free(p);
        return false;
    }
    o->v[o->n++] = (open_test){t, p, false};
    return true;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* The package ended: its tests still open did not finish. */
static void close_package(open_list *o, fm_sink *s, const char *package)
{
    for (size_t i = o->n; i-- > 0;)
        if (strcmp(o->v[i].package, package) == 0) {
            fm_sink__attempt(s, o->v[i].test, NULL,
                             o->v[i].timed_out ? FM_OUTCOME_TIMEOUT : FM_OUTCOME_FAIL, NAN);
            drop(o, i);
        }
}

static fm_hist_status go_event(open_list *open, fm_sink *s, json_t *ev)
{
    const char *action = str(ev, "Action"), *package = str(ev, "Package"), *test = str(ev, "Test");
    fm_sink__time(s, json_string_value(json_object_get(ev, "Time")));
    if (strcmp(action, "output") == 0) {
        if (strstr(str(ev, "Output"), GO_TIMEOUT_PANIC) != NULL)
            for (size_t i = 0; i < open->n; i++)
                if (strcmp(open->v[i].package, package) == 0)
                    open->v[i].timed_out = true;
        return FM_HIST_OK;
    }
    bool end =
        strcmp(action, "pass") == 0 || strcmp(action, "fail") == 0 || strcmp(action, "skip") == 0;
    if (test[0] == '\0') {
        if (end)
            close_package(open, s, package);
        return FM_HIST_OK;
    }
    size_t len = strlen(package) + strlen(test) + 3;
    char *name = malloc(len);
    if (name == NULL)
        return FM_HIST_ENOMEM;
    if (package[0] != '\0')
        snprintf(name, len, "%s::%s", package, test);
    else
        snprintf(name, len, "%s", test);
    fm_hist_status st = FM_HIST_OK;
    if (strcmp(action, "run") == 0) {
        if (!add(open, name, package))
            st = FM_HIST_ENOMEM;
    } else if (end) {
        size_t i = find(open, name);
        bool timed_out = i != SIZE_MAX && open->v[i].timed_out;
        if (i != SIZE_MAX)
            drop(open, i);
        json_t *el = json_object_get(ev, "Elapsed");
        double seconds = json_is_number(el) ? json_number_value(el) : NAN;
        if (action[0] == 's')
            fm_sink__skip(s);
        else
            fm_sink__attempt(s, name, NULL,
                             action[0] == 'p' ? FM_OUTCOME_PASS
                             : timed_out      ? FM_OUTCOME_TIMEOUT
                                              : FM_OUTCOME_FAIL,
                             seconds);
    }
    free(name);
    return st;
}

fm_hist_status fm_hist_report__gotest(fm_lines *L, fm_sink *s)
{
    open_list open = {0};
    fm_hist_status st = FM_HIST_OK;
    while (st == FM_HIST_OK && !s->stopped && fm_lines__next(L)) {
        const char *t = L->line;
        while (*t == ' ' || *t == '\t')
            t++;
        if (*t != '{')
            continue;
        json_t *ev = json_loads(t, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(ev) && json_is_string(json_object_get(ev, "Action")))
            st = go_event(&open, s, ev);
        json_decref(ev);
    }
    /* The stream ended with tests still running: the binary died (or the log was cut). */
    while (st == FM_HIST_OK && open.n > 0) {
        char *package = strdup(open.v[0].package);
        if (package == NULL) {
            st = FM_HIST_ENOMEM;
            break;
        }
        close_package(&open, s, package);
        free(package);
    }
    while (open.n > 0)
        drop(&open, open.n - 1);
    free(open.v);
    return st;
}

/* ---- MicroPython _results.json ------------------------------------------------------------ */

static void mpy_result(fm_sink *s, const char *test, const char *result)
{
    if (test == NULL || result == NULL)
        return;
    if (strcmp(result, "pass") == 0)
        fm_sink__attempt(s, test, NULL, FM_OUTCOME_PASS, NAN);
    else if (strcmp(result, "fail") == 0 || strcmp(result, "ignored") == 0)
        fm_sink__attempt(s, test, NULL, FM_OUTCOME_FAIL, NAN);
    else if (strcmp(result, "skip") == 0 || strcmp(result, "found") == 0)
        fm_sink__skip(s);
}

static void mpy_list(fm_sink *s, json_t *doc, const char *key, const char *result)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, key), i, v) mpy_result(s, json_string_value(v), result);
}

fm_hist_status fm_hist_report__mpy_json(fm_lines *L, fm_sink *s)
{
    char *buf;
    size_t len;
    if (!fm_lines__slurp(L, FM_HIST_REPORT_JSON_MAX, &buf, &len)) {
        if (L->failed)
            return FM_HIST_EIO;
        if (len > FM_HIST_REPORT_JSON_MAX) {
            snprintf(s->info->error, sizeof s->info->error,
                     "1: more than %u MiB of JSON: not a _results.json",
                     FM_HIST_REPORT_JSON_MAX >> 20);
            return FM_HIST_EPARSE;
        }
        return FM_HIST_ENOMEM;
    }
    json_error_t err;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    free(buf);
    if (!json_is_object(doc)) {
        snprintf(s->info->error, sizeof s->info->error, "%d:%d: %s", err.line, err.column,
                 doc == NULL ? err.text : "not a JSON object");
        json_decref(doc);
        return FM_HIST_EPARSE;
    }
    const char *platform =
        json_string_value(json_object_get(json_object_get(doc, "args"), "platform"));
    if (platform != NULL)
        snprintf(s->info->platform, sizeof s->info->platform, "%s", platform);
    json_t *results = json_object_get(doc, "results");
    if (json_is_array(results)) {
        size_t i;
        json_t *r;
        json_array_foreach(results, i, r)
        {
            if (json_is_array(r) && json_array_size(r) >= 2)
                mpy_result(s, json_string_value(json_array_get(r, 0)),
                           json_string_value(json_array_get(r, 1)));
        }
    } else {
        mpy_list(s, doc, "passed_tests", "pass");
        mpy_list(s, doc, "failed_tests", "fail");
        mpy_list(s, doc, "skipped_tests", "skip");
        mpy_list(s, doc, "ignored_tests", "ignored");
    }
    json_decref(doc);
    return FM_HIST_OK;
}
