/*
 * fm_junit.h - a streaming reader of JUnit XML test reports (the dialects of pytest, nextest,
 * Maven surefire/failsafe, CTest --output-junit, Bazel test.xml and go-junit-report), for
 * `flakemeter ingest`.  Internal to history/ (and its tests): fm_ingest.c stores what it reads.
 *
 * The file is read once, through libxml2's xmlTextReader with network access, DTD loading and
 * entity substitution off and libxml2's size limits on; a DOCTYPE is refused outright.  Memory
 * stays bounded by the largest single text node (libxml2 caps one at 10 MB), whatever the file
 * size.  Every testcase is handed to a callback as soon as it ends; the file-level facts
 * (properties naming the CI run, host, platform, revision; the earliest timestamp) come back at
 * the end, with the SHA-256 of the bytes read.  Mapping rules: docs/store.md, "Ingest".
 */
#ifndef FM_JUNIT_H
#define FM_JUNIT_H

#include "fm_hist.h"
#include "fm_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    fm_outcome outcome; /* PASS, FAIL (<failure>), ERROR (<error>) or TIMEOUT */
    double seconds;     /* NaN when the report does not say */
} fm_junit_attempt;

typedef struct {
    const char *test; /* "classname::name", or "name" without a class (or when both are equal) */
    size_t n_attempts;
    const fm_junit_attempt *attempts; /* in order; the last is the testcase's final result */
    /*
     * NULL: the file's CI run.  Else the name of a CI run inside the file (flakemeter's own
     * export: each <testcase name="run N"> of a campaign is one run of one test), stored as
     * "<the file's run>/<run>".
     */
    const char *run;
} fm_junit_case;

/* Called for every testcase that ran (skipped ones are only counted); non-zero stops. */
typedef int (*fm_junit_case_fn)(void *ctx, const fm_junit_case *c);

#define FM_JUNIT_TEXT 256
typedef struct {
    /* From <property name=... value=...> (first one seen wins); "" when absent. */
    char run[FM_JUNIT_TEXT];  /* names the CI run the file belongs to */
    char host[FM_JUNIT_TEXT]; /* also <testsuite hostname=...> */
    char platform[FM_JUNIT_TEXT];
    char revision[FM_JUNIT_TEXT]; /* the commit tested */
    bool has_time;
    /*
     * The earliest timestamp= in the file (UTC when it has no zone).  A timestamp outside
     * fm_hist_parse_time's grammar or range (e.g. year 5098) is ignored as if absent.
     */
    int64_t time_ns;
    unsigned char sha256[32]; /* of every byte of the file */
    uint64_t bytes;
    uint64_t testcases, skipped, attempts, timeouts;
    char error[400]; /* when the parse failed: "LINE:COLUMN: what is wrong" (EPARSE), else why */
} fm_junit_info;

/*
 * Read a report from fd (read to its end; not closed).  name is used in messages only.
 * Returns FM_HIST_OK, FM_HIST_EPARSE (not well-formed, not JUnit, a refused construct:
 * info->error holds "LINE:COLUMN: what is wrong"), FM_HIST_EIO (read failure), FM_HIST_ENOMEM,
 * or FM_HIST_ECALLBACK (fn asked to stop; its reason is the caller's business).
 */
fm_hist_status fm_junit_parse_fd(int fd, const char *name, fm_junit_case_fn fn, void *ctx,
                                 fm_junit_info *info);

#endif
