/*
 * fm_report.h - `flakemeter report`: one page a person reads, as self-contained HTML (every
 * picture inline SVG, no script, no network) or GitHub-flavoured Markdown (pictures as SVG files
 * beside it), covering campaigns, sweeps, `bench emu` results and an ingested CI history.
 *
 * The numbers come from the same library calls as the commands' --json outputs
 * (fm_verdict_compute for `show`, fm_history_flakiness for `tests`, fm_hist_budget_compute for
 * `budget`, fm_bench_analyze for `bench emu`, the homogeneity test of fm_sweep_analyze), never
 * computed a second way; a table cell of the HTML carries the value it shows in data-value with
 * every digit and its --json key in data-key.  A report summarises: no table lists runs, so a
 * campaign of a million runs costs one pass over its rows (the running estimate) and the store's
 * own summaries.  Every text that came from outside (labels, test names, output) is escaped for
 * the format (docs/report.md, "Escaping"); pictures are written by fm_report_svg.c.
 *
 * The library never prints: a status, and one line of detail in err.
 */
#ifndef FM_REPORT_H
#define FM_REPORT_H

#include "fm_history.h"
#include "fm_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    FM_REPORT_OK = 0,
    FM_REPORT_EINVAL,  /* bad options, or a label that names nothing in the store */
    FM_REPORT_ENODATA, /* the store holds nothing to report */
    FM_REPORT_ESTORE,  /* the store failed (detail in err) */
    FM_REPORT_EIO,     /* a picture file could not be written */
    FM_REPORT_ENOMEM,
} fm_report_status;

const char *fm_report_strerror(fm_report_status status); /* never NULL */

typedef enum { FM_REPORT_HTML, FM_REPORT_MARKDOWN } fm_report_format;

/* What a picture of the report is (also the single pictures of `run/show/tests --plot`). */
typedef enum {
    FM_REPORT_PIC_RETRY,     /* P(all attempts fail) against attempts */
    FM_REPORT_PIC_DURATIONS, /* the ECDF of durations */
    FM_REPORT_PIC_RUNNING,   /* the running estimate with the confidence-sequence band */
    FM_REPORT_PIC_TESTS,     /* per-test failure rates with intervals */
} fm_report_picture;

typedef struct {
    const char *db;            /* the store's name as shown */
    const char *const *labels; /* campaigns or suites to cover; none: everything in the store */
    size_t n_labels;
    double target, confidence;
    double timeout_s; /* > 0: the durations picture's timeout line and predicted exceedance */
    fm_report_format format;
    /*
     * Markdown only: the pictures are written as picture_dir/picture_base-N.svg (through
     * common/fm_target) and linked by their base name; picture_dir NULL: no picture files (a
     * report to standard output), the Markdown says so where a picture would be.
     */
    const char *picture_dir, *picture_base;
    const char *title; /* NULL: "flakemeter report" */
    /* The TESTS picture: the window of `tests` (NULL: the whole history; its label is used). */
    const fm_history_filter *filter;
} fm_report_options;

/* Write the report to out.  The store is only read. */
fm_report_status fm_report_write(fm_store *store, const fm_report_options *opt, FILE *out,
                                 char *err, size_t err_size);

/*
 * One picture as a standalone SVG document into out: of the campaign `label` (NULL: the newest)
 * for RETRY, DURATIONS and RUNNING, of the CI history (opt->filter, else suite `label`, NULL:
 * every suite) for TESTS.  FM_REPORT_EINVAL when the label names nothing.
 */
fm_report_status fm_report_picture_write(fm_store *store, fm_report_picture what, const char *label,
                                         const fm_report_options *opt, FILE *out, char *err,
                                         size_t err_size);

#endif
