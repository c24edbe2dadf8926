/*
 * cli_picture.c - `--plot FILE` of `run`, `show` and `tests`: the picture the report would show
 * (the retry curve, the durations, the running estimate, the per-test rates), alone, as SVG.
 * The file is written through fm_cli_output_open (common/fm_target's rule: a temporary file
 * renamed over a regular file, a link written through, a device written directly).
 */
#include "cli_picture.h"
#include "fm_cli.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int fm_cli_picture_check(const char *path)
{
    if (path == NULL)
        return 0;
    if (fm_cli_is_stdio(path))
        return fm_cli_usage_error("--plot: a picture does not go to standard output (it has the "
                                  "text); give a FILE.svg");
    size_t n = strlen(path);
    if (n < 4 || strcasecmp(path + n - 4, ".svg") != 0)
        return fm_cli_usage_error("--plot: '%s' is not a .svg file (run, show and tests draw "
                                  "SVG; flakemeter report makes a whole page)",
                                  path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    struct stat st;
    const char *d = dirname(dir);
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode) || access(d, W_OK) != 0)
        return fm_cli_usage_error("--plot: the folder '%s' does not exist or is not writable", d);
    return 0;
}

static int draw(fm_store *store, fm_report_picture what, const char *label,
                const fm_report_options *opt, const char *path)
{
    fm_cli_output out;
    int rc = fm_cli_output_open(&out, "--plot", path);
    if (rc != 0)
        return rc;
    char err[512];
    fm_report_status st = fm_report_picture_write(store, what, label, opt, out.f, err, sizeof err);
    if (st == FM_REPORT_EINVAL || st == FM_REPORT_ENODATA)
        rc = fm_cli_usage_error("--plot: %s", err);
    else if (st != FM_REPORT_OK)
        rc = fm_cli_fail("--plot: %s", err);
    int crc = fm_cli_output_close(&out, rc != 0);
    return rc != 0 ? rc : crc;
}

int fm_cli_picture(fm_store *store, fm_report_picture what, const char *label, const char *db,
                   double target, double confidence, const char *path)
{
    fm_report_options opt = {.db = db, .target = target, .confidence = confidence};
    return draw(store, what, label, &opt, path);
}

int fm_cli_picture_tests(fm_store *store, const fm_history_filter *filter, const char *db,
                         double confidence, const char *path)
{
    fm_report_options opt = {.db = db, .target = 1e-6, .confidence = confidence, .filter = filter};
    return draw(store, FM_REPORT_PIC_TESTS, filter->label, &opt, path);
}

int fm_cli_parse_picture(void *value, const char *text, const char *name)
{
    static const char *const names[] = {"retry", "durations", "running"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *(fm_report_picture *)value = (fm_report_picture)i;
            return 0;
        }
    return fm_cli_usage_error("%s: '%s' is not a picture; expected retry, durations or running",
                              name, text);
}
