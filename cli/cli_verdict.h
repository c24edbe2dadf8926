/*
 * cli_verdict.h - printing a campaign's verdict (text for people, JSON for programs) and its
 * live progress; shared by `flakemeter run` and `flakemeter show`.
 */
#ifndef CLI_VERDICT_H
#define CLI_VERDICT_H

#include "fm_run.h"
#include "fm_verdict.h"

#include <jansson.h>
#include <stdbool.h>

/* What the JSON and text need beyond the verdict (NULL report: `show`, from the store only). */
typedef struct {
    const char *label;
    const char *db;
    const fm_run_report *report;
    bool until_decided;
    const char *conditions; /* the campaign's conditions (stored JSON object), NULL: none */
    const char *keep_dir;   /* --keep-output of the run, NULL: none */
} fm_verdict_context;

json_t *fm_cli_verdict_json(const fm_verdict *v, const fm_verdict_context *ctx);
void fm_cli_verdict_print(const fm_verdict *v, const fm_verdict_context *ctx);

/* Progress for people: a live line on a terminal, a line every 5 s otherwise. */
typedef struct {
    bool tty;
    double confidence;
    double last_line_s;
    bool drew;
} fm_cli_progress;

void fm_cli_progress_init(fm_cli_progress *p, double confidence);
void fm_cli_progress_cb(const fm_run_progress *progress, void *ctx);

/* run's exit status after the verdict was printed (printed: its status): 130/143/129 after
 * SIGINT/SIGTERM/SIGHUP, else printed (cli_gate.c). */
int fm_cli_run_exit_status(const fm_run_report *rep, int printed);

#endif
