/*
 * fm_hist_report.c - the non-JUnit reports (fm_hist_report.h): the line reader, the sink,
 * recognising a format by content, and the dispatch to the readers (fm_hist_report_text.c,
 * fm_hist_report_json.c).
 *
 * Invariants: every byte of the file passes through the reader's SHA-256 exactly once during a
 * parse (also the bytes of cut lines and after the last recognised line), so fm_ingest.c can
 * check the parse saw the bytes it hashed; a line is at most FM_HIST_REPORT_LINE_MAX bytes (longer
 * ones are cut, never grown); detection reads at most DETECT_LINES lines and decides on the
 * first line that only one format writes, so a CI log with a long preamble is still read.
 */
#include "fm_hist_report_impl.h"

#include <jansson.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How many lines detection reads before giving up. */
#define DETECT_LINES 200000

const char *fm_hist_report_format_name(fm_hist_report_format f)
{
    static const char *const names[FM_HIST_REPORT_N_FORMATS] = {
        [FM_HIST_REPORT_UNKNOWN] = "unknown",
        [FM_HIST_REPORT_JUNIT] = "junit",
        [FM_HIST_REPORT_TAP] = "tap",
        [FM_HIST_REPORT_GOTEST] = "go-test-json",
        [FM_HIST_REPORT_MPY_JSON] = "micropython-results",
        [FM_HIST_REPORT_MPY_LOG] = "micropython-log",
        [FM_HIST_REPORT_CTEST] = "ctest",
        [FM_HIST_REPORT_CTEST_LOG] = "ctest-lasttest-log",
        [FM_HIST_REPORT_PYTEST] = "pytest-log",
        [FM_HIST_REPORT_WINE] = "wine"};
    return f >= 0 && f < FM_HIST_REPORT_N_FORMATS ? names[f] : "unknown";
}

/* ---- Lines ------------------------------------------------------------------------------- */

static bool fill(fm_lines *L)
{
    ssize_t got;
    do
        got = read(L->fd, L->buf, sizeof L->buf);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        L->failed = true;
        L->err = errno;
        return false;
    }
    if (got > 0 && L->md != NULL && EVP_DigestUpdate(L->md, L->buf, (size_t)got) != 1) {
        L->failed = true;
        L->err = EIO;
        return false;
    }
    L->pos = 0;
    L->end = (size_t)got;
    L->bytes += (uint64_t)got;
    L->eof = got == 0;
    return got > 0;
}

/* "2024-05-01T10:00:00.1234567Z " (GitHub Actions' raw logs) at the start of a line. */
static size_t ci_stamp(const char *s, size_t n)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i = 0;
    for (; shape[i]; i++) {
        if (i >= n)
            return 0;
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    }
    if (i < n && s[i] == '.')
        for (i++; i < n && isdigit((unsigned char)s[i]); i++)
            ;
    if (i + 1 < n && s[i] == 'Z' && s[i + 1] == ' ')
        return i + 2;
    return 0;
}

/* Drop "\r", ANSI CSI sequences (ESC [ ... final byte) and a leading CI timestamp. */
static void clean(fm_lines *L)
{
    char *s = L->line;
    size_t w = 0;
    for (size_t r = 0; r < L->len; r++) {
        unsigned char c = (unsigned char)s[r];
        if (c == 0x1b && r + 1 < L->len && s[r + 1] == '[') {
            r += 2;
            while (r < L->len && !((unsigned char)s[r] >= 0x40 && (unsigned char)s[r] <= 0x7e))
                r++;
            continue;
        }
        if (c == '\r')
            continue;
        s[w++] = (char)c;
    }
    size_t skip = ci_stamp(s, w);
    if (skip > 0) {
        memmove(s, s + skip, w - skip);
        w -= skip;
    }
    s[w] = '\0';
    L->len = w;
}

bool fm_lines__next(fm_lines *L)
{
    L->len = 0;
    bool any = false;
    for (;;) {
        if (L->pos == L->end && (L->eof || L->failed || !fill(L)))
            break;
        any = true;
        const char *start = L->buf + L->pos;
        size_t avail = L->end - L->pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl != NULL ? (size_t)(nl - start) : avail;
        if (memchr(start, '\0', take) != NULL)
            L->has_nul = true;
        size_t room = FM_HIST_REPORT_LINE_MAX - L->len;
        memcpy(L->line + L->len, start, take < room ? take : room);
        L->len += take < room ? take : room;
        L->pos += take + (nl != NULL);
        if (nl != NULL)
            break;
    }
    if (!any || L->failed)
        return false;
    L->lineno++;
    clean(L);
    return true;
}

/* The rest of the file, raw, into a malloc'ed NUL-terminated buffer (hashed like lines).
 * false: read error (L->failed), out of memory (*buf NULL) or more than max bytes (*len > max). */
bool fm_lines__slurp(fm_lines *L, size_t max, char **buf, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *b = malloc(cap + 1);
    *buf = NULL;
    *len = 0;
    if (b == NULL)
        return false;
    for (;;) {
        if (L->pos == L->end && (L->eof || L->failed || !fill(L)))
            break;
        size_t avail = L->end - L->pos;
        if (n + avail > max) {
            free(b);
            *len = n + avail;
            return false;
        }
        if (n + avail > cap) {
            while (n + avail > cap)
                cap *= 2;
            char *grown = realloc(b, cap + 1);
            if (grown == NULL) {
                free(b);
                return false;
            }
            b = grown;
        }
        memcpy(b + n, L->buf + L->pos, avail);
        n += avail;
        L->pos = L->end;
    }
    if (L->failed) {
        free(b);
        return false;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return true;
}

/* ---- Sink -------------------------------------------------------------------------------- */

bool fm_sink__attempt(fm_sink *s, const char *test, const char *run, fm_outcome o, double seconds)
{
    if (s->stopped || test == NULL || test[0] == '\0')
        return !s->stopped;
    if (!(seconds >= 0) || !isfinite(seconds))
        seconds = NAN;
    fm_junit_attempt a = {o, seconds};
    fm_junit_case c = {test, 1, &a, run};
    if (strncmp(s->last, test, sizeof s->last) != 0)
        s->info->testcases++;
    snprintf(s->last, sizeof s->last, "%s", test);
    s->info->attempts++;
    s->info->timeouts += o == FM_OUTCOME_TIMEOUT;
    if (s->fn != NULL && s->fn(s->ctx, &c) != 0)
        s->stopped = true;
    return !s->stopped;
}

void fm_sink__skip(fm_sink *s)
{
    s->info->skipped++;
}

void fm_sink__time(fm_sink *s, const char *stamp)
{
    int64_t ns;
    if (stamp != NULL && fm_hist_parse_time(stamp, &ns) == FM_HIST_OK &&
        (!s->info->has_time || ns < s->info->time_ns)) {
        s->info->has_time = true;
        s->info->time_ns = ns;
    }
}

/* ---- Detection --------------------------------------------------------------------------- */

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* A JSON line of go test -json: an object with an "Action" string. */
static bool is_go_event(const char *line)
{
    if (*skip_space(line) != '{' || strstr(line, "\"Action\"") == NULL)
        return false;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    bool yes = json_is_object(o) && json_is_string(json_object_get(o, "Action"));
    json_decref(o);
    return yes;
}

/* The format a single line proves, or UNKNOWN. */
static fm_hist_report_format line_format(const char *line)
{
    const char *t = skip_space(line);
    if (strncmp(line, "TAP version 1", 13) == 0)
        return FM_HIST_REPORT_TAP;
    if (*t == '{' && is_go_event(line))
        return FM_HIST_REPORT_GOTEST;
    if (fm_hist_report__ctest_result(line))
        return FM_HIST_REPORT_CTEST;
    unsigned a, b;
    int n = 0;
    if (sscanf(line, "%u/%u Testing: %n", &a, &b, &n) == 2 && n > 0)
        return FM_HIST_REPORT_CTEST_LOG;
    if (fm_hist_report__pytest_result(line))
        return FM_HIST_REPORT_PYTEST;
    if (fm_hist_report__mpy_result(line))
        return FM_HIST_REPORT_MPY_LOG;
    if (fm_hist_report__wine_line(line))
        return FM_HIST_REPORT_WINE;
    if (fm_hist_report__is_tap_result(t))
        return FM_HIST_REPORT_TAP;
    return FM_HIST_REPORT_UNKNOWN;
}

/* The whole file is one JSON document: MicroPython's _results.json? */
static fm_hist_report_format json_document(int fd, char *why, size_t why_size)
{
    json_error_t err;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size > FM_HIST_REPORT_JSON_MAX) {
        snprintf(why, why_size,
                 "1: a JSON document of %lld bytes: more than the %u MiB a "
                 "_results.json may have",
                 (long long)sb.st_size, FM_HIST_REPORT_JSON_MAX >> 20);
        return FM_HIST_REPORT_UNKNOWN;
    }
    FILE *f = fdopen(dup(fd), "r");
    if (f == NULL) {
        snprintf(why, why_size, "cannot read: %s", strerror(errno));
        return FM_HIST_REPORT_UNKNOWN;
    }
    json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &err);
    fclose(f);
    fm_hist_report_format fmt = FM_HIST_REPORT_UNKNOWN;
    if (json_is_object(doc) && (json_is_array(json_object_get(doc, "results")) ||
                                json_is_array(json_object_get(doc, "failed_tests")) ||
                                json_is_array(json_object_get(doc, "passed_tests"))))
        fmt = FM_HIST_REPORT_MPY_JSON;
    else if (doc == NULL)
        snprintf(why, why_size,
                 "%d:%d: JSON, but neither go test -json events nor a "
                 "run-tests.py _results.json: %s",
                 err.line, err.column, err.text);
    else
        snprintf(why, why_size,
                 "1: JSON, but neither go test -json events nor a run-tests.py "
                 "_results.json (no \"Action\" on its first line, no \"results\" list)");
    json_decref(doc);
    return fmt;
}

fm_hist_report_format fm_hist_report_detect(int fd, char *why, size_t why_size)
{
    fm_lines *L = calloc(1, sizeof *L);
    fm_hist_report_format fmt = FM_HIST_REPORT_UNKNOWN;
    bool first = true, json_start = false, any = false;
    snprintf(why, why_size,
             "1: not a test report flakemeter reads (JUnit XML, TAP, go test -json, "
             "CTest, pytest -v, MicroPython run-tests.py, Wine): no line of any of them");
    if (L == NULL) {
        snprintf(why, why_size, "out of memory");
        return FM_HIST_REPORT_UNKNOWN;
    }
    L->fd = fd;
    for (long n = 0; n < DETECT_LINES && fmt == FM_HIST_REPORT_UNKNOWN && fm_lines__next(L); n++) {
        if (L->has_nul) {
            snprintf(why, why_size, "%ld: a NUL byte: binary data, not a test report", L->lineno);
            break;
        }
        const char *t = skip_space(L->line);
        if (*t == '\0')
            continue;
        any = true;
        if (first) {
            first = false;
            /* skip a UTF-8 byte-order mark */
            if ((unsigned char)t[0] == 0xEF && (unsigned char)t[1] == 0xBB &&
                (unsigned char)t[2] == 0xBF)
                t += 3;
            if (*t == '<') {
                fmt = FM_HIST_REPORT_JUNIT;
                break;
            }
            json_start = *t == '{';
            if (json_start && !is_go_event(L->line))
                break;
        }
        fmt = line_format(L->line);
    }
    if (L->failed)
        snprintf(why, why_size, "cannot read: %s", strerror(L->err));
    else if (!any && !L->has_nul)
        snprintf(why, why_size, "1: the file is empty");
    bool failed = L->failed;
    free(L);
    if (lseek(fd, 0, SEEK_SET) != 0)
        return FM_HIST_REPORT_UNKNOWN;
    if (fmt == FM_HIST_REPORT_UNKNOWN && json_start && !failed) {
        fmt = json_document(fd, why, why_size);
        if (lseek(fd, 0, SEEK_SET) != 0)
            return FM_HIST_REPORT_UNKNOWN;
    }
    return fmt;
}

/* ---- Parse ------------------------------------------------------------------------------- */

fm_hist_status fm_hist_report_parse_fd(int fd, fm_hist_report_format f, fm_junit_case_fn fn,
                                       void *ctx, fm_junit_info *info)
{
    static fm_hist_status (*const readers[FM_HIST_REPORT_N_FORMATS])(fm_lines *, fm_sink *) = {
        [FM_HIST_REPORT_TAP] = fm_hist_report__tap,
        [FM_HIST_REPORT_GOTEST] = fm_hist_report__gotest,
        [FM_HIST_REPORT_MPY_JSON] = fm_hist_report__mpy_json,
        [FM_HIST_REPORT_MPY_LOG] = fm_hist_report__mpy_log,
        [FM_HIST_REPORT_CTEST] = fm_hist_report__ctest,
        [FM_HIST_REPORT_CTEST_LOG] = fm_hist_report__ctest_log,
        [FM_HIST_REPORT_PYTEST] = fm_hist_report__pytest,
        [FM_HIST_REPORT_WINE] = fm_hist_report__wine,
    };
    memset(info, 0, sizeof *info);
    if (f <= FM_HIST_REPORT_JUNIT || f >= FM_HIST_REPORT_N_FORMATS || readers[f] == NULL) {
        snprintf(info->error, sizeof info->error, "1: not a format of fm_report");
        return FM_HIST_EPARSE;
    }
    fm_lines *L = calloc(1, sizeof *L);
    fm_hist_status st = FM_HIST_ENOMEM;
    if (L == NULL)
        goto out;
    L->fd = fd;
    L->md = EVP_MD_CTX_new();
    if (L->md == NULL || EVP_DigestInit_ex(L->md, EVP_sha256(), NULL) != 1)
        goto out;
    fm_sink sink = {.fn = fn, .ctx = ctx, .info = info};
    st = readers[f](L, &sink);
    /* Whatever the reader left unread still goes through the hash. */
    while (st == FM_HIST_OK && fm_lines__next(L))
        ;
    if (st == FM_HIST_OK && L->failed)
        st = FM_HIST_EIO;
    if (st == FM_HIST_OK && sink.stopped)
        st = FM_HIST_ECALLBACK;
    if (st == FM_HIST_OK && info->testcases == 0 && info->skipped == 0) {
        snprintf(info->error, sizeof info->error, "%ld: a %s report without a single test result",
                 L->lineno, fm_hist_report_format_name(f));
        st = FM_HIST_EPARSE;
    }
    if (st == FM_HIST_OK) {
        unsigned len = 0;
        if (EVP_DigestFinal_ex(L->md, info->sha256, &len) != 1 || len != sizeof info->sha256)
            st = FM_HIST_ENOMEM;
        info->bytes = L->bytes;
    } else if (st == FM_HIST_EIO) {
        snprintf(info->error, sizeof info->error, "read error: %s",
                 strerror(L->err ? L->err : EIO));
    }
out:
    if (st == FM_HIST_ENOMEM)
        snprintf(info->error, sizeof info->error, "out of memory");
    if (L != NULL)
        EVP_MD_CTX_free(L->md);
    free(L);
    return st;
}
