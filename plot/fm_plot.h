/*
 * fm_plot.h - plots of estimates with confidence intervals, drawn by gnuplot (Debian's
 * gnuplot-nox) driven as a program: the one plotting path of the tool (`bench emu --plot`,
 * `sweep --plot`).
 *
 * A plot is a set of categories along x (conditions, workloads), each with one point per series
 * (architectures, AES implementations; one series is fine), drawn as the estimate with an error
 * bar from lower to upper.  The file's extension picks the format: .png (pngcairo) or .svg.
 * Errors come back as an fm_plot_status (fm_plot_strerror names it) and one line of detail in
 * err, never printed: the CLI prints them.
 */
#ifndef FM_PLOT_H
#define FM_PLOT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    FM_PLOT_OK = 0,
    FM_PLOT_EINVAL,     /* not .png or .svg, or nothing to plot */
    FM_PLOT_ENOGNUPLOT, /* gnuplot is not in PATH */
    FM_PLOT_EGNUPLOT,   /* gnuplot ran and failed (its first error line in err) */
    FM_PLOT_ESYSTEM,    /* a temporary file, starting gnuplot, the final rename */
    FM_PLOT_ENOMEM,
} fm_plot_status;

const char *fm_plot_strerror(fm_plot_status status); /* never NULL */

typedef struct {
    const char *category; /* x position (e.g. "cpus=1 load=0", "stress_aes") */
    const char *series;   /* legend entry (e.g. "aarch64"); NULL or "" for a single series */
    double estimate, lower, upper;
} fm_plot_point;

typedef struct {
    const char *title;
    const char *ylabel; /* e.g. "failure probability", "slowdown (emulated / native)" */
    bool log_y;         /* a logarithmic y axis (slowdowns, small probabilities) */
    bool percent;       /* values are probabilities: y axis in % from 0 */
    double y_reference; /* draw a dashed horizontal line here when > 0 (e.g. 1 = no slowdown) */
} fm_plot_style;

/*
 * Write the plot to path.  FM_PLOT_OK, or a status with a one-line reason in err (gnuplot
 * missing: "gnuplot not found: install gnuplot-nox"; a bad extension; gnuplot's own first error
 * line).  A failed plot leaves nothing at path.
 */
/*
 * Whether a plot could be drawn into path, before the work that makes its data: the extension
 * (.png or .svg; FM_PLOT_EINVAL), a writable folder that exists (FM_PLOT_EINVAL), gnuplot on
 * PATH (FM_PLOT_ENOGNUPLOT).  One line of detail in err.
 */
fm_plot_status fm_plot_check(const char *path, char *err, size_t err_size);

fm_plot_status fm_plot_intervals(const char *path, const fm_plot_style *style,
                                 const fm_plot_point *points, size_t n_points, char *err,
                                 size_t err_size);

#endif
