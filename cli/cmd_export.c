/*
 * cmd_export.c - `flakemeter export`: the stored runs of one campaign or of all, as JSON, CSV or
 * JUnit XML (layouts in docs/store.md), on stdout or into a file.
 *
 * With -o the output goes to a temporary file next to FILE (mode 0666 & ~umask) that is renamed
 * over it once complete, so a failed export never leaves a truncated FILE behind; -o - is
 * standard output.
 */
#include "fm_cli.h"
#include "fm_store.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: flakemeter export [--db PATH] [--format json|csv|junit] [-o FILE] [LABEL]\n"
    "\n"
    "Write every stored attempt of the campaign LABEL (default: all campaigns) out:\n"
    "  json   {\"schema\": 2, \"campaigns\": [{label, kind, command, ..., \"runs\": [...]}]}\n"
    "  csv    one row per attempt under a header row (label,run_index,attempt,seed,...)\n"
    "  junit  one <testsuite> per campaign, one <testcase> per run; retries kept as\n"
    "         <flakyFailure> / <rerunFailure> elements, as Maven surefire and nextest do\n"
    "\n"
    "\n"
    "With --history, the CI history that 'flakemeter ingest' stored instead, of the suite\n"
    "LABEL (default: all suites):\n"
    "  json   {\"schema\": 2, \"ci_runs\": [{label, run_key, time_ns, ..., \"results\":\n"
    "         [{test, attempt, outcome, seconds}]}]}\n"
    "  csv    one row per result (label,run_key,time_ns,host,platform,revision,test,...)\n";

static int parse_format(void *value, const char *text, const char *name)
{
    fm_export_format *out = value;
    static const struct {
        const char *name;
        fm_export_format format;
    } formats[] = {{"json", FM_EXPORT_JSON}, {"csv", FM_EXPORT_CSV}, {"junit", FM_EXPORT_JUNIT}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(text, formats[i].name) == 0) {
            *out = formats[i].format;
            return 0;
        }
    return fm_cli_usage_error("%s: '%s' is not a format; expected json, csv or junit", name, text);
}

static bool history; /* --history: the CI history instead of the campaigns */

/* A store that cannot be opened: bad input (exit 2) unless the failure is I/O. */
static int export_status(fm_store *store, fm_store_status st, const char *db, const char *label)
{
    if (st == FM_STORE_OK)
        return FM_EXIT_OK;
    if (st == FM_STORE_ENOENT && history)
        return fm_cli_usage_error("no CI history for suite '%s' in %s", label, db);
    if (st == FM_STORE_ENOENT)
        return fm_cli_usage_error("no campaign '%s' in %s", label, db);
    if (st == FM_STORE_EINVAL) /* --history of a PostgreSQL store */
        return fm_cli_usage_error("--db %s: %s", db, fm_store_errmsg(store));
    return fm_cli_fail("cannot export from %s: %s", db, fm_store_errmsg(store));
}

static fm_store_status export(fm_store *store, const char *label, fm_export_format format, FILE *f)
{
    return history ? fm_store_export_history(store, label, format, f)
                   : fm_store_export(store, label, format, f);
}

/* Export into a temporary file beside path, renamed over path when complete ("-": stdout). */
static int export_to_file(fm_store *store, const char *db, const char *label,
                          fm_export_format format, const char *path)
{
    fm_cli_output out;
    int rc = fm_cli_output_open(&out, "-o", path);
    if (rc != 0)
        return rc;
    fm_store_status st = export(store, label, format, out.f);
    if (st == FM_STORE_EIO && out.f == stdout && ferror(stdout))
        rc = FM_EXIT_FAIL; /* fm_cli_finish reports the failed write, once */
    else
        rc = export_status(store, st, db, label);
    int crc = fm_cli_output_close(&out, rc != FM_EXIT_OK);
    return rc != FM_EXIT_OK ? rc : crc;
}

int cmd_export(int argc, char **argv)
{
    const char *db = "flakemeter.db", *output = NULL, *label = NULL;
    fm_export_format format = FM_EXPORT_JSON;
    const struct fm_opt options[] = {
        FM_OPT_STRING(0, "db", &db, "PATH",
                      "the store (default flakemeter.db), or a postgresql:// URL (docs/scale.md)"),
        FM_OPT_BOOL(0, "history", &history, "the ingested CI history instead of the campaigns"),
        FM_OPT_CALL('f', "format", &format, parse_format, "FORMAT",
                    "json, csv or junit; default json"),
        FM_OPT_STRING('o', "output", &output, "FILE",
                      "write to FILE instead of standard output (- is standard output)"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_OPERANDS);
    if (rc < 0)
        rc = fm_cli_optional_operand(argc, argv, &label);
    if (rc >= 0)
        return rc;
    if (history && format == FM_EXPORT_JUNIT)
        return fm_cli_usage_error("--history exports as json or csv (the history came from JUnit "
                                  "reports)");
    fm_store *store = NULL;
    fm_store_status st;
    if ((rc = fm_cli_open_shared_store(db, false, &store)) != 0)
        return rc;
    if (output != NULL)
        rc = export_to_file(store, db, label, format, output);
    else if ((st = export(store, label, format, stdout)) == FM_STORE_EIO && ferror(stdout))
        rc = FM_EXIT_FAIL; /* fm_cli_finish reports the failed write, once */
    else
        rc = export_status(store, st, db, label);
    fm_store_close(store);
    return rc;
}
