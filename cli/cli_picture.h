/*
 * cli_picture.h - `--plot FILE` of `run`, `show` and `tests` (cli_picture.c): one picture of
 * the report (report/fm_report.h) as an SVG file, written by common/fm_target's rule.
 */
#ifndef CLI_PICTURE_H
#define CLI_PICTURE_H

#include "fm_report.h"
#include "fm_store.h"

/* Before any work: 0, or one line and 2 (not .svg, "-", a folder that does not exist). */
int fm_cli_picture_check(const char *path);

/*
 * Draw `what` of the campaign `label` (NULL: the newest) or of the CI suite `label` (NULL:
 * every suite) into path: 0, or one line and the exit status.
 */
int fm_cli_picture(fm_store *store, fm_report_picture what, const char *label, const char *db,
                   double target, double confidence, const char *path);
/* The same for `tests --plot`: the per-test rates of the window `filter`. */
int fm_cli_picture_tests(fm_store *store, const fm_history_filter *filter, const char *db,
                         double confidence, const char *path);

/* FM_OPT_CALL parser of --picture retry|durations|running into an fm_report_picture. */
int fm_cli_parse_picture(void *value, const char *text, const char *name);

#endif
