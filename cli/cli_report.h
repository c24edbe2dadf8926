/*
 * cli_report.h - the printers of `sweep` (cli_sweep.c), `bench emu` (cli_bench_emu.c) and an
 * infeasible `budget` (cli_budget.c): text
 * for people, JSON for programs, plots.  The commands compute through libfmrun and call these.
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include "fm_bench_emu.h"
#include "fm_hist_budget.h"
#include "fm_sweep.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * `budget`, plan m infeasible (cli_budget.c): one line per test (or the never-failed pool) that
 * makes it so, with its bound and the passing runs or retries that would fix it; the same as a
 * JSON array.
 */
void fm_cli_budget_why_print(const fm_hist_budget *b, int m, uint32_t max_attempts, FILE *out);
json_t *fm_cli_budget_why_json(const fm_hist_budget *b, int m, uint32_t max_attempts);
/* s as a JSON/TOML/Python double-quoted literal on stdout (the allowlists). */
void fm_cli_put_quoted(const char *s);

/* `bench emu`: the options the report repeats. */
typedef struct {
    double confidence, target, limit;
    uint64_t reps, warmup, attempts;
    const char *db, *plot;
    const fm_bench_spec *specs; /* as given (a '*' marks results with parameters) */
    size_t n_specs;
} fm_cli_bench_view;

void fm_cli_bench_print(const fm_bench_report *rep, const fm_cli_bench_view *view);
json_t *fm_cli_bench_json(const fm_bench_report *rep, const fm_cli_bench_view *view);
int fm_cli_bench_plot(const fm_bench_report *rep, const fm_cli_bench_view *view);

/* `sweep`: the options the report repeats. */
typedef struct {
    const fm_sweep *sweep;
    double confidence;
    int64_t runs; /* per cell in this invocation */
    int rounds;
    int jobs; /* -j as given (cells may run fewer: fm_sweep_cell.jobs) */
    const char *db, *plot;
} fm_cli_sweep_view;

/* One line on out when -j is lowered for cells whose conditions allow fewer CPUs (nothing
 * otherwise): which cells, to what, why, and the option that keeps it. */
void fm_cli_sweep_jobs_note(const fm_sweep *sweep, int jobs, bool allow_oversubscribe, FILE *out);

void fm_cli_sweep_print(const fm_cli_sweep_view *view, const fm_sweep_analysis *analysis,
                        const fm_sweep_report *report);
json_t *fm_cli_sweep_json(const fm_cli_sweep_view *view, const fm_sweep_analysis *analysis,
                          const fm_sweep_report *report);
int fm_cli_sweep_plot(const fm_cli_sweep_view *view);

#endif
