/*
 * fm_hist_report_impl.h - shared by the report readers of fm_hist_report*.c only: the line reader
 * (hashes every byte, cuts long lines, drops CI timestamps and colour escapes) and the sink that
 * hands attempts to the caller's callback and keeps the file's counts.
 */
#ifndef FM_HIST_REPORT_IMPL_H
#define FM_HIST_REPORT_IMPL_H

#include "fm_hist_report.h"

#include <openssl/evp.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int fd;
    EVP_MD_CTX *md; /* NULL: no hashing (detection) */
    char buf[65536];
    size_t pos, end;
    bool eof, failed;
    int err;
    uint64_t bytes;
    long lineno;
    size_t len;                             /* of line */
    char line[FM_HIST_REPORT_LINE_MAX + 1]; /* the current line, NUL-terminated, cleaned */
    bool has_nul;                           /* a NUL byte was seen: not text */
} fm_lines;

/* The next line into L->line (cleaned: no "\r", no ANSI escapes, no leading CI timestamp).
 * false at the end of the file or on a read error (L->failed). */
bool fm_lines__next(fm_lines *L);

bool fm_lines__slurp(fm_lines *L, size_t max, char **buf, size_t *len);

typedef struct {
    fm_junit_case_fn fn;
    void *ctx;
    fm_junit_info *info;
    bool stopped;
    char last[256]; /* the test of the previous attempt: a repeat is not a new testcase */
} fm_sink;

/* One attempt of test (in CI run `run`, NULL = the file's).  false: stop (callback said so). */
bool fm_sink__attempt(fm_sink *s, const char *test, const char *run, fm_outcome o, double seconds);
void fm_sink__skip(fm_sink *s);
void fm_sink__time(fm_sink *s, const char *stamp);

/* The line-based readers (fm_hist_report_text.c) and the JSON ones (fm_hist_report_json.c). */
fm_hist_status fm_hist_report__tap(fm_lines *L, fm_sink *s);
fm_hist_status fm_hist_report__ctest(fm_lines *L, fm_sink *s);
fm_hist_status fm_hist_report__ctest_log(fm_lines *L, fm_sink *s);
fm_hist_status fm_hist_report__pytest(fm_lines *L, fm_sink *s);
fm_hist_status fm_hist_report__mpy_log(fm_lines *L, fm_sink *s);
fm_hist_status fm_hist_report__wine(fm_lines *L, fm_sink *s);
fm_hist_status fm_hist_report__gotest(fm_lines *L, fm_sink *s);
fm_hist_status fm_hist_report__mpy_json(fm_lines *L, fm_sink *s);

/* Line classifiers shared by detection and the readers. */
bool fm_hist_report__is_tap_result(const char *line);
bool fm_hist_report__ctest_result(const char *line);
bool fm_hist_report__pytest_result(const char *line);
bool fm_hist_report__mpy_result(const char *line);
bool fm_hist_report__wine_line(const char *line);

#endif
