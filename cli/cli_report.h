/*
 * cli_report.h - the printers of `sweep` (cli_sweep.c) and `bench emu` (cli_bench_emu.c): text
 * for people, JSON for programs, plots.  The commands compute through libfmrun and call these.
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include "fm_bench_emu.h"
#include "fm_sweep.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

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
    const char *db, *plot;
} fm_cli_sweep_view;

void fm_cli_sweep_print(const fm_cli_sweep_view *view, const fm_sweep_analysis *analysis,
                        const fm_sweep_report *report);
json_t *fm_cli_sweep_json(const fm_cli_sweep_view *view, const fm_sweep_analysis *analysis,
                          const fm_sweep_report *report);
int fm_cli_sweep_plot(const fm_cli_sweep_view *view);

#endif
