/*
 * fm_ingest.h - CI history into the store: test reports (JUnit XML, fm_junit.h; TAP, go test
 * -json, MicroPython, CTest, pytest and Wine output, fm_hist_report.h) become CI runs, tests
 * and per-attempt results in the store's ci_* tables (docs/store.md, "CI history"), read back by
 * fm_history.h.
 *
 * Contract: a file is ingested in one transaction, all or nothing; a file whose bytes (SHA-256)
 * are already stored adds nothing; a malformed file is rejected with the position of the problem
 * and leaves the store exactly as it was.  The library never prints.
 */
#ifndef FM_INGEST_H
#define FM_INGEST_H

#include "fm_hist.h"
#include "fm_store.h"

#include <stddef.h>
#include <stdint.h>

#define FM_INGEST_DEFAULT_LABEL "ci"

typedef struct {
    const char *label; /* the suite the results belong to; NULL = FM_INGEST_DEFAULT_LABEL */
    /*
     * Name of the CI run every file of this call belongs to (e.g. the CI's build id, for the
     * many files of one surefire or Bazel run); NULL = each file says (a property, docs/store.md)
     * or is its own CI run.
     */
    const char *run;
    int64_t now_ns; /* the time of a CI run whose file has no timestamp; 0 = the clock now */
} fm_ingest_options;

typedef enum {
    FM_INGEST_ADDED,     /* stored */
    FM_INGEST_DUPLICATE, /* the same bytes were ingested before: nothing added */
    FM_INGEST_REJECTED,  /* unreadable or malformed: nothing added, see error */
} fm_ingest_verdict;

typedef struct {
    fm_ingest_verdict verdict;
    int64_t ci_run;    /* the CI run's id (ADDED, DUPLICATE) */
    char run_key[300]; /* how the CI run is named: the --run or property value, or sha256:HEX */
    char label[256];   /* the suite it is stored under (a DUPLICATE may have been stored under
                          another label) */
    char sha256[65];   /* hex */
    char format[32]; /* what the content was: "junit", "tap", "go-test-json", ... (fm_hist_report.h)
                      */
    uint64_t bytes, testcases, skipped, attempts, timeouts;
    char error[512]; /* REJECTED: "LINE:COLUMN: what is wrong" or "cannot open: why" */
} fm_ingest_result;

/*
 * Ingest one file.  Returns FM_HIST_OK whatever the file's verdict (see res->verdict);
 * FM_HIST_ESTORE is a store failure (the file's transaction rolled back, detail in
 * fm_store_errmsg, also when memory ran out); FM_HIST_EINVAL for NULL arguments.
 */
fm_hist_status fm_ingest_file(fm_store *store, const char *path, const fm_ingest_options *opt,
                              fm_ingest_result *res);
/*
 * The same for an open regular file (fd, seekable; closed on return), recorded under name:
 * `flakemeter ingest -` copies standard input into an anonymous file and ingests it as "-".
 */
fm_hist_status fm_ingest_fd(fm_store *store, int fd, const char *name, const fm_ingest_options *opt,
                            fm_ingest_result *res);

/*
 * The files named by FILE|DIR operands: a file (or anything not a directory) as given, a
 * directory's report files (*.xml, *.tap, *.jsonl, _results.json, LastTest*.log) recursively, each
 * directory's entries in byte order of their names. *files is an array of *n_files malloc'ed
 * strings, released with fm_ingest_list_free.  FM_HIST_OK, FM_HIST_ENOMEM, or FM_HIST_EIO when
 * a directory could not be opened for want of descriptors (errno says which; a directory that
 * cannot be read for another reason is listed as itself, and rejected with the reason when
 * ingested).
 */
fm_hist_status fm_ingest_list(const char *const *paths, size_t n_paths, char ***files,
                              size_t *n_files);
void fm_ingest_list_free(char **files, size_t n_files);

#endif
