/*
 * fm_hist_report_text.c - the line-based reports: TAP, CTest's console and LastTest.log, pytest's
 * verbose console, MicroPython run-tests.py's console and Wine's test output.
 *
 * Each reader looks at one cleaned line at a time (fm_lines__next) and ignores every line it
 * does not recognise, so a whole CI log can be read; it keeps only a few names between lines.
 * The formats, from the tools' own source or output (fixtures:
 * tests/history/report_fixtures/README.md):
 *  - TAP (testanything.org 13/14, Perl's Test::More, prove -v): "ok N - desc", "not ok N - desc
 *    # TODO why", "# SKIP"; a subtest's lines are indented 4 spaces under "# Subtest: name";
 *    a YAML block ("  ---" ... "  ...") after a result may give "duration_ms:".  A test is
 *    named by its description ("test N" without one), a subtest's by "parent/desc", and after
 *    prove's "t/file.t .." line by "t/file.t::desc".  SKIP and TODO are not run (TODO failures
 *    are expected).
 *  - CTest console (ctest 3.x): "  1/4 Test  #2: name ......***Failed    0.01 sec"; the lines
 *    without "i/n" that --repeat until-pass:N / until-fail:N / after-timeout:N prints are the
 *    same test's next attempts.  Passed, ***Failed, ***Timeout, ***Exception (an error),
 *    ***Skipped / Not Run (not run).
 *  - LastTest.log: "i/n Testing: name", "Test time =   0.01 sec", "Test Passed." / "Test
 *    Failed."; a repeated test is repeated there too.  (It writes "Test Passed." for a test
 *    skipped by SKIP_RETURN_CODE: prefer the console output.)
 *  - pytest -v: "path::test STATUS [ nn%]" or with pytest-xdist "[gw0] [ nn%] STATUS path::test";
 *    RERUN (pytest-rerunfailures) is a failed attempt followed by another; PASSED and XPASS
 *    pass, FAILED fails, ERROR is an error, SKIPPED and XFAIL are not run.  pytest's JUnit
 *    leaves the reruns out (checked with pytest 7.2 + pytest-rerunfailures 10.2).
 *  - MicroPython run-tests.py (run_one_test): print("pass ", test_file, extra_info) and
 *    likewise "FAIL ", "skip ", "lrge " (too large: skipped).  A test whose failure is ignored
 *    (flaky_tests_to_ignore) is still printed as FAIL, and counted as one.
 *  - Wine (include/wine/test.h, run_test; programs/winetest/main.c, report_test_done):
 *    "%04x:%s:%s %d tests executed (%d marked as todo, %d as flaky, %d failures), %d skipped."
 *    per test file (older: without the pid or the flaky count); winetest adds "%s:%s start
 *    FILE" and "%s:%s:%04x done (%d) in %ds %uB".  A test file is one test, named "dll:unit"
 *    inside winetest's start/done, else "unit"; it failed when it reported failures or its
 *    status was not 0 (258, WAIT_TIMEOUT, is a timeout).
 */
#include "fm_hist_report_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_BYTES 1024

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Copy s[0..n) into dst (size NAME_MAX_BYTES), trailing blanks removed. */
static void copy_trim(char *dst, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= NAME_MAX_BYTES)
        n = NAME_MAX_BYTES - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* ---- TAP --------------------------------------------------------------------------------- */

bool fm_hist_report__is_tap_result(const char *t)
{
    if (starts(t, "not ok"))
        t += 6;
    else if (starts(t, "ok"))
        t += 2;
    else
        return false;
    return *t == '\0' || *t == ' ' || *t == '\t';
}

#define TAP_DEPTH 16

typedef struct {
    char names[TAP_DEPTH][NAME_MAX_BYTES]; /* names[d]: the subtest whose lines are at depth d */
    char file[NAME_MAX_BYTES];             /* prove -v: the test file */
    /* the result waiting for a possible YAML block */
    bool pending, pending_skip;
    fm_outcome pending_outcome;
    double pending_seconds;
    char pending_name[3 * NAME_MAX_BYTES];
    int pending_depth;
    bool in_yaml;
} tap_state;

static void tap_flush(tap_state *t, fm_sink *s)
{
    if (!t->pending)
        return;
    t->pending = false;
    if (t->pending_skip)
        fm_sink__skip(s);
    else
        fm_sink__attempt(s, t->pending_name, NULL, t->pending_outcome, t->pending_seconds);
}

/* "# SKIP ..." / "# TODO ..." after an unescaped '#': 1 skip, 2 todo, 0 none; cuts desc. */
static int tap_directive(char *desc)
{
    for (char *p = desc; *p; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            continue;
        }
        if (*p != '#')
            continue;
        const char *d = skip_space(p + 1);
        int kind = strncasecmp(d, "skip", 4) == 0 ? 1 : strncasecmp(d, "todo", 4) == 0 ? 2 : 0;
        if (kind != 0) {
            *p = '\0';
            return kind;
        }
    }
    return 0;
}

static void tap_result(tap_state *t, fm_sink *s, const char *line, int depth)
{
    bool ok = !starts(line, "not ok");
    const char *p = skip_space(line + (ok ? 2 : 6));
    long number = -1;
    if (isdigit((unsigned char)*p)) {
        number = strtol(p, (char **)&p, 10);
        p = skip_space(p);
    }
    if (*p == '-')
        p = skip_space(p + 1);
    char desc[NAME_MAX_BYTES];
    copy_trim(desc, p, strlen(p));
    int directive = tap_directive(desc);
    copy_trim(desc, desc, strlen(desc));
    /* "\#" is an escaped '#' */
    size_t w = 0;
    for (size_t r = 0; desc[r]; r++)
        if (!(desc[r] == '\\' && desc[r + 1] == '#'))
            desc[w++] = desc[r];
    desc[w] = '\0';
    if (desc[0] == '\0' && number < 0) /* a bare "ok": prove's verdict on a file, not a test */
        return;
    if (desc[0] == '\0')
        snprintf(desc, sizeof desc, "test %ld", number);
    tap_flush(t, s);
    size_t used = 0;
    t->pending_name[0] = '\0';
    if (t->file[0] != '\0')
        used += (size_t)snprintf(t->pending_name, sizeof t->pending_name, "%s::", t->file);
    for (int d = 1; d <= depth && d < TAP_DEPTH && used < sizeof t->pending_name; d++)
        used += (size_t)snprintf(t->pending_name + used, sizeof t->pending_name - used, "%s/",
                                 t->names[d][0] ? t->names[d] : "subtest");
    if (used < sizeof t->pending_name)
        snprintf(t->pending_name + used, sizeof t->pending_name - used, "%s", desc);
    t->pending = true;
    t->pending_skip = directive != 0;
    t->pending_outcome = ok ? FM_OUTCOME_PASS : FM_OUTCOME_FAIL;
    t->pending_seconds = NAN;
    t->pending_depth = depth;
    /* the subtest this line closes is done: its name no longer applies */
    if (depth + 1 < TAP_DEPTH)
        t->names[depth + 1][0] = '\0';
}

fm_hist_status fm_hist_report__tap(fm_lines *L, fm_sink *s)
{
    tap_state *t = calloc(1, sizeof *t);
    if (t == NULL)
        return FM_HIST_ENOMEM;
    while (!s->stopped && fm_lines__next(L)) {
        const char *line = L->line;
        size_t indent = 0;
        while (line[indent] == ' ')
            indent++;
        const char *body = line + indent;
        int depth = (int)(indent / 4);
        if (t->in_yaml) {
            if (strcmp(body, "...") == 0)
                t->in_yaml = false;
            else if (starts(body, "duration_ms:") && t->pending)
                t->pending_seconds = strtod(body + 12, NULL) / 1000.0;
            continue;
        }
        if (strcmp(body, "---") == 0 && t->pending) {
            t->in_yaml = true;
            continue;
        }
        if (fm_hist_report__is_tap_result(body)) {
            tap_result(t, s, body, depth);
            continue;
        }
        if (starts(body, "# Subtest")) {
            const char *name = body + 9;
            name = skip_space(*name == ':' ? name + 1 : name);
            if (depth + 1 < TAP_DEPTH)
                copy_trim(t->names[depth + 1], name, strlen(name));
            continue;
        }
        /* prove -v: "t/basic.t .. " starts a file's stream */
        size_t n = strlen(line);
        const char *dots = strstr(line, " ..");
        if (indent == 0 && dots != NULL && dots > line && strchr(line, ' ') == dots) {
            const char *q = dots + 1;
            while (*q == '.')
                q++;
            if (*skip_space(q) == '\0' && n > 0) {
                tap_flush(t, s);
                copy_trim(t->file, line, (size_t)(dots - line));
                memset(t->names, 0, sizeof t->names);
            }
        }
    }
    tap_flush(t, s);
    free(t);
    return FM_HIST_OK;
}

/* ---- CTest console ----------------------------------------------------------------------- */

/* "[  i/n ]Test  #N: " at the start: where the name begins, else NULL. */
static const char *ctest_name_start(const char *line)
{
    const char *p = skip_space(line);
    if (isdigit((unsigned char)*p)) {
        while (isdigit((unsigned char)*p))
            p++;
        if (*p++ != '/')
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
        p = skip_space(p);
    }
    if (!starts(p, "Test"))
        return NULL;
    p = skip_space(p + 4);
    if (*p++ != '#' || !isdigit((unsigned char)*p))
        return NULL;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p++ != ':' || *p != ' ')
        return NULL;
    return p + 1;
}

bool fm_hist_report__ctest_result(const char *line)
{
    size_t n = strlen(line);
    return ctest_name_start(line) != NULL && n > 4 && strcmp(line + n - 4, " sec") == 0;
}

static fm_hist_status ctest_line(fm_sink *s, const char *line)
{
    const char *name = ctest_name_start(line);
    size_t n = strlen(line);
    if (name == NULL || n < 4 || strcmp(line + n - 4, " sec") != 0)
        return FM_HIST_OK;
    const char *status = strstr(name, "***");
    if (status == NULL)
        status = strstr(name, " Passed");
    if (status == NULL)
        status = strstr(name, " Not Run");
    if (status == NULL)
        return FM_HIST_OK;
    size_t len = (size_t)(status - name);
    while (len > 0 && (name[len - 1] == '.' || name[len - 1] == ' '))
        len--;
    char test[NAME_MAX_BYTES];
    copy_trim(test, name, len);
    /* the time: the number before " sec" */
    const char *end = line + n - 4, *num = end;
    while (num > status && (isdigit((unsigned char)num[-1]) || num[-1] == '.'))
        num--;
    double seconds = num < end ? strtod(num, NULL) : NAN;
    const char *st = skip_space(status);
    if (starts(st, "Passed"))
        fm_sink__attempt(s, test, NULL, FM_OUTCOME_PASS, seconds);
    else if (starts(st, "***Failed"))
        fm_sink__attempt(s, test, NULL, FM_OUTCOME_FAIL, seconds);
    else if (starts(st, "***Timeout"))
        fm_sink__attempt(s, test, NULL, FM_OUTCOME_TIMEOUT, seconds);
    else if (starts(st, "***Exception"))
        fm_sink__attempt(s, test, NULL, FM_OUTCOME_ERROR, seconds);
    else if (starts(st, "***Skipped") || starts(st, "***Not Run") || starts(st, "Not Run"))
        fm_sink__skip(s);
    return FM_HIST_OK;
}

fm_hist_status fm_hist_report__ctest(fm_lines *L, fm_sink *s)
{
    while (!s->stopped && fm_lines__next(L))
        ctest_line(s, L->line);
    return FM_HIST_OK;
}

fm_hist_status fm_hist_report__ctest_log(fm_lines *L, fm_sink *s)
{
    char test[NAME_MAX_BYTES] = "";
    double seconds = NAN;
    while (!s->stopped && fm_lines__next(L)) {
        const char *line = L->line;
        unsigned a, b;
        int at = 0;
        if (sscanf(line, "%u/%u Testing: %n", &a, &b, &at) == 2 && at > 0) {
            copy_trim(test, line + at, strlen(line + at));
            seconds = NAN;
        } else if (starts(line, "Test time =")) {
            seconds = strtod(line + 11, NULL);
        } else if (test[0] != '\0' && starts(line, "Test Passed")) {
            fm_sink__attempt(s, test, NULL, FM_OUTCOME_PASS, seconds);
            test[0] = '\0';
        } else if (test[0] != '\0' && starts(line, "Test Failed")) {
            fm_sink__attempt(s, test, NULL,
                             strstr(line, "Timeout") ? FM_OUTCOME_TIMEOUT : FM_OUTCOME_FAIL,
                             seconds);
            test[0] = '\0';
        }
    }
    return FM_HIST_OK;
}

/* ---- pytest -v --------------------------------------------------------------------------- */

static const struct {
    const char *word;
    int outcome; /* fm_outcome, or -1: not run */
} pytest_words[] = {
    {"PASSED", FM_OUTCOME_PASS},
    {"XPASS", FM_OUTCOME_PASS},
    {"FAILED", FM_OUTCOME_FAIL},
    {"RERUN", FM_OUTCOME_FAIL},
    {"ERROR", FM_OUTCOME_ERROR},
    {"SKIPPED", -1},
    {"XFAIL", -1},
};

/* Which status word s starts with (followed by end, ' '), or -1. */
static int pytest_word(const char *s)
{
    for (size_t i = 0; i < sizeof pytest_words / sizeof pytest_words[0]; i++) {
        size_t n = strlen(pytest_words[i].word);
        if (strncmp(s, pytest_words[i].word, n) == 0 && (s[n] == '\0' || s[n] == ' '))
            return (int)i;
    }
    return -1;
}

static bool node_id(const char *s, size_t n)
{
    if (n == 0 || s[0] == ' ' || s[0] == '[')
        return false;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == ':' && s[i + 1] == ':')
            return true;
    return n > 3 && strncmp(s + n - 3, ".py", 3) == 0;
}

/* Split a pytest -v line into its node id and status word index; false if it is none. */
static bool pytest_split(const char *line, const char **id, size_t *id_len, int *word)
{
    if (starts(line, "[gw")) { /* xdist: "[gw0] [ 33%] PASSED path::test" */
        const char *p = strchr(line, ']');
        if (p == NULL)
            return false;
        p = skip_space(p + 1);
        if (*p == '[') {
            p = strchr(p, ']');
            if (p == NULL)
                return false;
            p = skip_space(p + 1);
        }
        int w = pytest_word(p);
        if (w < 0)
            return false;
        p = skip_space(p + strlen(pytest_words[w].word));
        size_t n = strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (!node_id(p, n))
            return false;
        *id = p, *id_len = n, *word = w;
        return true;
    }
    /* "path::test STATUS[ (reason)][   [ nn%]]": the status after the first " " that follows
     * the node id and starts a status word */
    for (const char *p = strchr(line, ' '); p != NULL; p = strchr(p + 1, ' ')) {
        int w = pytest_word(p + 1);
        if (w < 0)
            continue;
        const char *after = skip_space(p + 1 + strlen(pytest_words[w].word));
        if (*after != '\0' && *after != '[' && *after != '(')
            continue;
        if (!node_id(line, (size_t)(p - line)))
            return false;
        *id = line, *id_len = (size_t)(p - line), *word = w;
        return true;
    }
    return false;
}

bool fm_hist_report__pytest_result(const char *line)
{
    const char *id;
    size_t n;
    int w;
    return pytest_split(line, &id, &n, &w);
}

fm_hist_status fm_hist_report__pytest(fm_lines *L, fm_sink *s)
{
    while (!s->stopped && fm_lines__next(L)) {
        const char *id;
        size_t n;
        int w;
        if (!pytest_split(L->line, &id, &n, &w))
            continue;
        char test[NAME_MAX_BYTES];
        copy_trim(test, id, n);
        if (pytest_words[w].outcome < 0)
            fm_sink__skip(s);
        else
            fm_sink__attempt(s, test, NULL, (fm_outcome)pytest_words[w].outcome, NAN);
    }
    return FM_HIST_OK;
}

/* ---- MicroPython run-tests.py ------------------------------------------------------------ */

/* "pass  basics/int1.py", "FAIL  thread/stress_recurse.py", "skip  x.py", "lrge  x.py":
 * the outcome (-1 not run) and where the path starts, else false. */
static bool mpy_split(const char *line, int *outcome, const char **path, size_t *len)
{
    static const struct {
        const char *word;
        int outcome;
    } words[] = {
        {"pass  ", FM_OUTCOME_PASS}, {"FAIL  ", FM_OUTCOME_FAIL}, {"skip  ", -1}, {"lrge  ", -1}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (!starts(line, words[i].word))
            continue;
        const char *p = line + 6;
        size_t n = strcspn(p, " \t");
        if (n < 4 || !(memchr(p, '/', n) != NULL || strncmp(p + n - 3, ".py", 3) == 0))
            return false;
        *outcome = words[i].outcome, *path = p, *len = n;
        return true;
    }
    return false;
}

bool fm_hist_report__mpy_result(const char *line)
{
    int o;
    const char *p;
    size_t n;
    return mpy_split(line, &o, &p, &n);
}

fm_hist_status fm_hist_report__mpy_log(fm_lines *L, fm_sink *s)
{
    while (!s->stopped && fm_lines__next(L)) {
        int o;
        const char *p;
        size_t n;
        if (!mpy_split(L->line, &o, &p, &n))
            continue;
        char test[NAME_MAX_BYTES];
        copy_trim(test, p, n);
        if (o < 0)
            fm_sink__skip(s);
        else
            fm_sink__attempt(s, test, NULL, (fm_outcome)o, NAN);
    }
    return FM_HIST_OK;
}

/* ---- Wine -------------------------------------------------------------------------------- */

typedef struct {
    bool valid;
    char unit[NAME_MAX_BYTES];
    long failures;
    double seconds;
} wine_summary;

/* "0123:file:1.234 12 tests executed (0 marked as todo, 0 as flaky, 2 failures), 0 skipped." */
static bool wine_summary_line(const char *line, wine_summary *w)
{
    const char *x = strstr(line, " tests executed (");
    if (x == NULL)
        return false;
    const char *c = x;
    while (c > line && isdigit((unsigned char)c[-1]))
        c--;
    if (c == x || c == line)
        return false;
    const char *left_end = c[-1] == ' ' ? c - 1 : c; /* "0123:file:" or "0123:file:1.234" */
    long todo = 0, flaky = 0, fail = 0;
    const char *r = x + strlen(" tests executed (");
    int n = 0;
    if (sscanf(r, "%ld marked as todo, %ld as flaky, %ld failur%n", &todo, &flaky, &fail, &n) < 3 &&
        sscanf(r, "%ld marked as todo, %ld failur%n", &todo, &fail, &n) < 2)
        return false;
    /* the left part: [pid:]unit:[elapsed] */
    char left[NAME_MAX_BYTES];
    copy_trim(left, line, (size_t)(left_end - line));
    char *colon = strchr(left, ':');
    const char *unit = left;
    if (colon != NULL) {
        size_t hex = strspn(left, "0123456789abcdefABCDEF");
        if (left + hex == colon && hex >= 4) {
            unit = colon + 1;
            colon = strchr(colon + 1, ':');
        }
    }
    w->seconds = NAN;
    if (colon != NULL) {
        *colon = '\0';
        if (colon[1] != '\0')
            w->seconds = strtod(colon + 1, NULL);
    }
    if (*unit == '\0')
        return false;
    snprintf(w->unit, sizeof w->unit, "%s", unit);
    w->failures = fail;
    w->valid = true;
    return true;
}

/* "kernel32:file start dlls/kernel32/tests/file.c" */
static bool wine_start(const char *line, char *name)
{
    char a[256], b[256];
    int n = 0;
    if (sscanf(line, "%255[^: \t]:%255[^: \t] start %n", a, b, &n) != 2 || n == 0)
        return false;
    snprintf(name, NAME_MAX_BYTES, "%s:%s", a, b);
    return true;
}

/* "kernel32:file:0123 done (0) in 3s 1234B" */
static bool wine_done(const char *line, char *name, long *status, double *seconds)
{
    char a[256], b[256];
    unsigned pid;
    long secs = -1;
    int n = 0;
    if (sscanf(line, "%255[^: \t]:%255[^: \t]:%x done (%ld)%n", a, b, &pid, status, &n) != 4 ||
        n == 0)
        return false;
    if (sscanf(line + n, " in %lds", &secs) == 1 && secs >= 0)
        *seconds = (double)secs;
    snprintf(name, NAME_MAX_BYTES, "%s:%s", a, b);
    return true;
}

bool fm_hist_report__wine_line(const char *line)
{
    wine_summary w = {0};
    char name[NAME_MAX_BYTES];
    long status;
    double seconds;
    return wine_summary_line(line, &w) || wine_done(line, name, &status, &seconds) ||
           (strstr(line, ": Test failed: ") != NULL && strchr(line, ':') < strstr(line, ": Test"));
}

static void wine_emit(fm_sink *s, const char *name, long failures, long status, double seconds)
{
    fm_outcome o = status == 258            ? FM_OUTCOME_TIMEOUT
                   : status < 0             ? FM_OUTCOME_ERROR
                   : failures > 0 || status ? FM_OUTCOME_FAIL
                                            : FM_OUTCOME_PASS;
    fm_sink__attempt(s, name, NULL, o, seconds);
}

fm_hist_status fm_hist_report__wine(fm_lines *L, fm_sink *s)
{
    char block[NAME_MAX_BYTES] = "", name[NAME_MAX_BYTES];
    bool in_block = false;
    long block_failures = 0;
    while (!s->stopped && fm_lines__next(L)) {
        const char *line = L->line;
        wine_summary w = {0};
        long status = 0;
        double seconds = NAN;
        if (wine_start(line, name)) {
            snprintf(block, sizeof block, "%s", name);
            in_block = true;
            block_failures = 0;
        } else if (wine_summary_line(line, &w)) {
            if (in_block)
                block_failures += w.failures;
            else
                wine_emit(s, w.unit, w.failures, 0, w.seconds);
        } else if (wine_done(line, name, &status, &seconds)) {
            wine_emit(s, name, in_block ? block_failures : 0, status, seconds);
            in_block = false;
        } else if (!in_block) {
            char a[256], b[256];
            if (sscanf(line, "%255[^: \t]:%255[^: \t] skipped %c", a, b, name) == 3)
                fm_sink__skip(s);
        }
    }
    return FM_HIST_OK;
}
