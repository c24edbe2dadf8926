/*
 * fm_hist_report.h - the test reports that are not JUnit XML, for `flakemeter ingest`: TAP 13/14,
 * `go test -json` events, MicroPython run-tests.py (_results.json and its console lines),
 * CTest's console output (with `--repeat until-pass:N` retries) and LastTest.log, pytest's
 * verbose console lines (with pytest-rerunfailures' RERUN lines), and Wine's test output
 * (per test file: "N tests executed (...)", winetest's start/done lines).  Internal to history/
 * (and its tests and fuzz harnesses): fm_ingest.c stores what they read.
 *
 * Every reader hands each attempt to the same callback as the JUnit reader (fm_junit.h), one
 * attempt per call: a test handed over again in one file is its next attempt (pytest's RERUN
 * then PASSED, CTest's repeated "Test #N:" lines, go test -count).  The file-level facts come
 * back in an fm_junit_info, with the SHA-256 of every byte read.  The format is recognised by
 * content, never by file name (fm_hist_report_detect); a file that is none of them is EPARSE with a
 * one-line reason.  Memory is bounded: text is read line by line (a line is cut at
 * FM_HIST_REPORT_LINE_MAX bytes), JSON events one line at a time, and a _results.json document is
 * refused above FM_HIST_REPORT_JSON_MAX bytes.  Mapping rules: docs/history.md, "Report formats".
 */
#ifndef FM_HIST_REPORT_H
#define FM_HIST_REPORT_H

#include "fm_junit.h"

#include <stddef.h>

typedef enum {
    FM_HIST_REPORT_UNKNOWN = 0,
    FM_HIST_REPORT_JUNIT,     /* XML: fm_junit.c */
    FM_HIST_REPORT_TAP,       /* TAP 12/13/14, also prove -v output */
    FM_HIST_REPORT_GOTEST,    /* go test -json (test2json) events */
    FM_HIST_REPORT_MPY_JSON,  /* MicroPython run-tests.py _results.json */
    FM_HIST_REPORT_MPY_LOG,   /* MicroPython run-tests.py console: "pass  path", "FAIL  path" */
    FM_HIST_REPORT_CTEST,     /* ctest console: "Test #N: name ....   Passed    0.01 sec" */
    FM_HIST_REPORT_CTEST_LOG, /* ctest's Testing/Temporary/LastTest.log */
    FM_HIST_REPORT_PYTEST,    /* pytest -v console: "path::test PASSED", "RERUN" */
    FM_HIST_REPORT_WINE,      /* Wine test output and winetest logs */
    FM_HIST_REPORT_N_FORMATS
} fm_hist_report_format;

/* Longest line kept; the rest of a longer line is read (and hashed) but ignored. */
#define FM_HIST_REPORT_LINE_MAX 16384
/* Largest _results.json read whole. */
#define FM_HIST_REPORT_JSON_MAX (64u << 20)

/* "tap", "go-test-json", ... (for messages and --json output). */
const char *fm_hist_report_format_name(fm_hist_report_format f);

/*
 * Which format the file at fd holds (read from its start; fd is left at its start again).
 * FM_HIST_REPORT_UNKNOWN when none: *why says so in one line.
 */
fm_hist_report_format fm_hist_report_detect(int fd, char *why, size_t why_size);

/*
 * Read a report of format f (not JUNIT; detect first) from fd's current position to its end.
 * Returns FM_HIST_OK, FM_HIST_EPARSE (info->error: "LINE: what is wrong"), FM_HIST_EIO,
 * FM_HIST_ENOMEM or FM_HIST_ECALLBACK, as fm_junit_parse_fd.
 */
fm_hist_status fm_hist_report_parse_fd(int fd, fm_hist_report_format f, fm_junit_case_fn fn,
                                       void *ctx, fm_junit_info *info);

#endif
