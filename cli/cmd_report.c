/*
 * cmd_report.c - `flakemeter report`: one page for people, self-contained HTML (inline SVG, no
 * script, no network) or GitHub-flavoured Markdown with its pictures as SVG files beside it, of
 * campaigns, sweeps, `bench emu` results and CI histories (report/fm_report.h; what each
 * picture shows: docs/report.md).  The output is written by common/fm_target's rule.
 */
#include "fm_cli.h"
#include "fm_report.h"
#include "fm_store.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help[] =
    "usage: flakemeter report [--db PATH] [--format html|md] [--target T] [--confidence C]\n"
    "                         [--timeout S] [--title TEXT] -o FILE|- [LABEL ...]\n"
    "\n"
    "One page to read and to link: the verdict of each campaign with its retry curve,\n"
    "durations and running estimate, each sweep and emulator benchmark with its picture, and\n"
    "each ingested CI history with per-test rates, failures over time, the red rate over time\n"
    "and the retry budget against the target; tables under every picture.  LABEL names a\n"
    "campaign, a sweep (the label before ' [') or a CI suite; without LABEL, everything in the\n"
    "store.  HTML is one file with every picture inline; Markdown (for $GITHUB_STEP_SUMMARY)\n"
    "writes its pictures as FILE-N.svg beside FILE, or none with -o -.\n";

static int parse_format(void *value, const char *text, const char *name)
{
    if (strcmp(text, "html") == 0)
        *(int *)value = FM_REPORT_HTML;
    else if (strcmp(text, "md") == 0 || strcmp(text, "markdown") == 0)
        *(int *)value = FM_REPORT_MARKDOWN;
    else
        return fm_cli_usage_error("%s: '%s' is not a format; expected html or md", name, text);
    return 0;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcasecmp(s + a - b, tail) == 0;
}

/* The format from the extension when --format is not given: .html/.htm, .md/.markdown. */
static int pick_format(const char *path, int *format)
{
    if (*format >= 0)
        return 0;
    if (fm_cli_is_stdio(path) || ends_with(path, ".md") || ends_with(path, ".markdown"))
        *format = FM_REPORT_MARKDOWN;
    else if (ends_with(path, ".html") || ends_with(path, ".htm"))
        *format = FM_REPORT_HTML;
    else
        return fm_cli_usage_error("-o: '%s' ends in neither .html nor .md; give --format", path);
    return 0;
}

/*
 * Markdown pictures go beside a file the report replaces: FILE's folder, named after FILE
 * without its extension.  Standard output, a device or a FIFO gets none.
 */
static void picture_place(const char *path, char *dir, size_t dir_size, char *base,
                          size_t base_size, bool *pictures)
{
    struct stat st;
    *pictures = !fm_cli_is_stdio(path) && (stat(path, &st) != 0 || S_ISREG(st.st_mode));
    if (!*pictures)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(dir, dir_size, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", path);
    char *name = basename(tmp), *dot = strrchr(name, '.');
    if (dot != NULL && dot != name)
        *dot = '\0';
    snprintf(base, base_size, "%s", name);
}

static int write_report(fm_store *store, const fm_report_options *opt, const char *path)
{
    fm_cli_output out;
    int rc = fm_cli_output_open(&out, "-o", path);
    if (rc != 0)
        return rc;
    char err[1024];
    fm_report_status st = fm_report_write(store, opt, out.f, err, sizeof err);
    if (st == FM_REPORT_EINVAL || st == FM_REPORT_ENODATA)
        rc = fm_cli_usage_error("%s", err);
    else if (st != FM_REPORT_OK)
        rc = fm_cli_fail("report: %s", err);
    int crc = fm_cli_output_close(&out, rc != FM_EXIT_OK);
    return rc != FM_EXIT_OK ? rc : crc;
}

int cmd_report(int argc, char **argv)
{
    const char *output = NULL, *title = NULL;
    fm_cli_stores dbs = {0};
    int format = -1;
    fm_report_options opt = {.target = 1e-6, .confidence = 0.95};
    const struct fm_opt options[] = {
        FM_OPT_CALL(0, "db", &dbs, fm_cli_parse_db, "PATH",
                    "the store (default flakemeter.db); repeated, or a quoted glob: several "
                    "stores read as one"),
        FM_OPT_STRING('o', "output", &output, "FILE",
                      "the report: FILE.html, FILE.md, or - (Markdown on standard output)"),
        FM_OPT_CALL('f', "format", &format, parse_format, "FORMAT",
                    "html or md (default: from the extension of -o)"),
        FM_OPT_REAL('t', "target", &opt.target, 0, 1, FM_OPT_OPEN, "T",
                    "all-fail probability for the retry counts and budget (default 1e-6)"),
        FM_OPT_REAL('c', "confidence", &opt.confidence, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level of every interval (default 0.95)"),
        FM_OPT_REAL(0, "timeout", &opt.timeout_s, 0, 1e9, FM_OPT_LO_OPEN, "S",
                    "a CI timeout: its line on the durations and the predicted exceedance"),
        FM_OPT_STRING(0, "title", &title, "TEXT", "the page's title (default flakemeter report)"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_OPERANDS);
    if (rc < 0 && output == NULL)
        rc = fm_cli_usage_error("-o: give the report's file (FILE.html, FILE.md or -)");
    if (rc < 0 && (rc = pick_format(output, &format)) == 0)
        rc = -1;
    fm_store *store = NULL;
    if (rc >= 0 || (rc = fm_cli_open_stores(&dbs, &store)) != 0) {
        fm_cli_close_stores(&dbs, NULL);
        return rc;
    }
    char dir[4096], base[1024];
    bool pictures;
    picture_place(output, dir, sizeof dir, base, sizeof base, &pictures);
    opt.db = dbs.display;
    opt.title = title;
    opt.format = (fm_report_format)format;
    opt.labels = (const char *const *)argv + optind;
    opt.n_labels = (size_t)(argc - optind);
    opt.picture_dir = pictures && format == FM_REPORT_MARKDOWN ? dir : NULL;
    opt.picture_base = base;
    rc = write_report(store, &opt, output);
    fm_cli_close_stores(&dbs, store);
    return rc;
}
