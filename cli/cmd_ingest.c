/*
 * cmd_ingest.c - `flakemeter ingest`: JUnit XML reports from CI into the store.
 *
 * The work is history/fm_ingest.c (one transaction per file, duplicates by content hash); this
 * file expands the operands, calls it per file, prints one line per rejected file
 * ("FILE:LINE:COLUMN: what is wrong") and a summary.  Exit: 0 when every file was added or
 * already there; 1 when some were rejected (the others are still ingested) or the store failed;
 * 2 for bad options.
 */
#include "fm_cli.h"
#include "fm_ingest.h"
#include "fm_store.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
    "usage: flakemeter ingest [--db PATH] [--label SUITE] [--run ID] [--json] FILE|DIR ...\n"
    "\n"
    "Read test reports into the store, for `flakemeter tests`: JUnit XML (pytest, nextest,\n"
    "Maven surefire/failsafe, CTest, Bazel, go-junit-report, flakemeter export), TAP, go test\n"
    "-json, MicroPython run-tests.py (_results.json or its console log), CTest's console log\n"
    "or LastTest.log (with --repeat retries), pytest -v output (with RERUN lines) and Wine\n"
    "test logs, recognised by their content.  A directory is searched for *.xml, *.tap,\n"
    "*.jsonl, _results.json and LastTest*.log files.  Each file is one CI run, unless a property "
    "in it names the\n"
    "run (ci_run, build_id, github_run_id, ...) or --run names it.  '-' reads one report from\n"
    "standard input.  A file already ingested\n"
    "(same bytes) adds nothing.  A malformed file is reported with its line and column and\n"
    "skipped; the others are still ingested, and the exit status is 1.\n";

typedef struct {
    size_t added, duplicates, rejected;
    uint64_t results, testcases;
} totals;

static json_t *file_json(const char *path, const fm_ingest_result *r)
{
    static const char *const verdicts[] = {"added", "duplicate", "rejected"};
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "status", json_string(verdicts[r->verdict]));
    if (r->verdict == FM_INGEST_REJECTED) {
        json_object_set_new(o, "error", json_string(r->error));
        return o;
    }
    json_object_set_new(o, "label", json_string(r->label));
    json_object_set_new(o, "ci_run", json_string(r->run_key));
    json_object_set_new(o, "sha256", json_string(r->sha256));
    if (r->format[0] != '\0')
        json_object_set_new(o, "format", json_string(r->format));
    if (r->verdict == FM_INGEST_ADDED) {
        json_object_set_new(o, "testcases", json_integer((json_int_t)r->testcases));
        json_object_set_new(o, "skipped", json_integer((json_int_t)r->skipped));
        json_object_set_new(o, "results", json_integer((json_int_t)r->attempts));
        json_object_set_new(o, "timeouts", json_integer((json_int_t)r->timeouts));
    }
    return o;
}

static void count(totals *t, const fm_ingest_result *r)
{
    if (r->verdict == FM_INGEST_ADDED) {
        t->added++;
        t->results += r->attempts;
        t->testcases += r->testcases;
    } else if (r->verdict == FM_INGEST_DUPLICATE) {
        t->duplicates++;
    } else {
        t->rejected++;
    }
}

/* "-": standard input copied into an anonymous file (ingest hashes, then parses: it reads twice).
 */
static fm_hist_status ingest_stdin(fm_store *store, const fm_ingest_options *opt,
                                   fm_ingest_result *r)
{
    int fd = memfd_create("flakemeter-stdin", MFD_CLOEXEC);
    char buf[65536];
    ssize_t got = 0;
    while (fd >= 0 && (got = read(STDIN_FILENO, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || write(fd, buf, (size_t)got) != got)
            break;
    }
    if (fd < 0 || got != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        memset(r, 0, sizeof *r);
        r->verdict = FM_INGEST_REJECTED;
        snprintf(r->error, sizeof r->error, "cannot read standard input: %s", strerror(err));
        return FM_HIST_OK;
    }
    return fm_ingest_fd(store, fd, "-", opt, r);
}

static int ingest_all(fm_store *store, const char *db, char **files, size_t n,
                      const fm_ingest_options *opt, bool json)
{
    totals t = {0};
    json_t *list = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        fm_ingest_result r;
        fm_hist_status st = fm_cli_is_stdio(files[i]) ? ingest_stdin(store, opt, &r)
                                                      : fm_ingest_file(store, files[i], opt, &r);
        if (st != FM_HIST_OK) {
            json_decref(list);
            return fm_cli_fail("%s: cannot write %s: %s (this file not ingested, %zu before it "
                               "were)",
                               files[i], db, fm_store_errmsg(store), t.added);
        }
        /* "FILE:LINE:COLUMN: what" for a parse error, "FILE: what" otherwise. */
        if (r.verdict == FM_INGEST_REJECTED)
            fm_cli_fail("%s:%s%s", files[i], isdigit((unsigned char)r.error[0]) ? "" : " ",
                        r.error);
        count(&t, &r);
        if (list != NULL)
            json_array_append_new(list, file_json(files[i], &r));
    }
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "db", json_string(db));
        json_object_set_new(o, "added", json_integer((json_int_t)t.added));
        json_object_set_new(o, "duplicates", json_integer((json_int_t)t.duplicates));
        json_object_set_new(o, "rejected", json_integer((json_int_t)t.rejected));
        json_object_set_new(o, "files", list);
        int rc = fm_cli_print_json(o);
        if (rc != FM_EXIT_OK)
            return rc;
    } else {
        printf("%zu file%s ingested into %s (%llu testcases, %llu results); %zu already there; "
               "%zu rejected\n",
               t.added, t.added == 1 ? "" : "s", db, (unsigned long long)t.testcases,
               (unsigned long long)t.results, t.duplicates, t.rejected);
    }
    if (t.rejected > 0)
        return fm_cli_fail("%zu of %zu file%s rejected", t.rejected, n, n == 1 ? "" : "s");
    return FM_EXIT_OK;
}

int cmd_ingest(int argc, char **argv)
{
    const char *db = "flakemeter.db", *label = FM_INGEST_DEFAULT_LABEL, *run = NULL;
    bool json = false;
    const struct fm_opt options[] = {
        FM_OPT_STRING(0, "db", &db, "PATH",
                      "the store (default flakemeter.db; created if missing)"),
        FM_OPT_STRING('l', "label", &label, "SUITE",
                      "the suite the results belong to (default ci)"),
        FM_OPT_STRING(0, "run", &run, "ID", "all these files are one CI run, named ID"),
        FM_OPT_BOOL(0, "json", &json, "print the outcome of every file as JSON"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_OPERANDS);
    if (rc >= 0)
        return rc;
    if (optind >= argc)
        return fm_cli_usage_error("no FILE or DIR given (see 'flakemeter ingest --help')");
    if (*label == '\0')
        return fm_cli_usage_error("--label: the suite name must not be empty");
    if (run != NULL && *run == '\0')
        return fm_cli_usage_error("--run: the CI run's name must not be empty");
    int dashes = 0;
    for (int i = optind; i < argc; i++)
        dashes += fm_cli_is_stdio(argv[i]);
    if (dashes > 1)
        return fm_cli_usage_error("'-' (standard input) given %d times; it can be read once",
                                  dashes);
    /* A directory without a single report file is a mistake (a wrong path, an artifact not
     * downloaded), never "0 files ingested" and success. */
    for (int i = optind; i < argc; i++) {
        struct stat sb;
        char **one = NULL;
        size_t n_one = 0;
        if (stat(argv[i], &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        if (fm_ingest_list((const char *const *)argv + i, 1, &one, &n_one) != FM_HIST_OK)
            return fm_cli_fail("out of memory listing the files");
        fm_ingest_list_free(one, n_one);
        if (n_one == 0)
            return fm_cli_fail("%s: no report files in this directory (*.xml, *.tap, *.jsonl, "
                               "_results.json, LastTest*.log; name other files one by one)",
                               argv[i]);
    }
    char **files = NULL;
    size_t n = 0;
    if (fm_ingest_list((const char *const *)argv + optind, (size_t)(argc - optind), &files, &n) !=
        FM_HIST_OK)
        return fm_cli_fail("cannot list the files: %s", strerror(errno));
    fm_store *store = NULL;
    rc = fm_cli_open_store(db, true, &store);
    if (rc == 0) {
        fm_ingest_options opt = {.label = label, .run = run};
        rc = ingest_all(store, db, files, n, &opt, json);
        if (fm_store_close(store) != FM_STORE_OK && rc == FM_EXIT_OK)
            rc = fm_cli_fail("cannot close %s", db);
    }
    fm_ingest_list_free(files, n);
    return rc;
}
