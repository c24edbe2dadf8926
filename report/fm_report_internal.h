/*
 * fm_report_internal.h - the pieces of libfmreport shared between its files: a growing text
 * buffer, escaping of outside text for HTML/SVG and Markdown, the document writer (headings,
 * tables, pictures, excerpts in either format) and the SVG chart primitives.
 *
 * Invariant: every byte of outside text reaches the page through fm_rep_escape (directly or via
 * the doc and SVG helpers); only literal markup of this library is added raw.
 */
#ifndef FM_REPORT_INTERNAL_H
#define FM_REPORT_INTERNAL_H

#include "fm_report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- buffer --------------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom; /* an allocation failed: the text is incomplete */
} fm_rep_buf;

void fm_rep_add(fm_rep_buf *b, const char *s, size_t n);
void fm_rep_puts(fm_rep_buf *b, const char *s);
void fm_rep_printf(fm_rep_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fm_rep_buf_free(fm_rep_buf *b);

/* ---- escaping ------------------------------------------------------------------------------- */

typedef enum {
    FM_ESC_HTML, /* HTML text, attribute values and SVG/XML text: & < > " ' as entities */
    FM_ESC_MD,   /* Markdown inline text, also inside a table cell: ASCII punctuation as &#N; */
    FM_ESC_PRE,  /* HTML <pre> content: as FM_ESC_HTML but newlines and tabs kept */
} fm_esc_mode;

/*
 * Append n bytes of outside text: valid UTF-8 passes (escaped for the mode), every control
 * character, DEL, C1 control, noncharacter (U+FFFE, U+FFFF, U+FDD0..U+FDEF, ...) and invalid
 * byte becomes visible text (\n, \t, \x1b, \u{FFFE}); at most max_chars characters (0: no
 * limit), then an ellipsis.
 */
void fm_rep_escape(fm_rep_buf *b, const char *s, size_t n, fm_esc_mode mode, size_t max_chars);
void fm_rep_escs(fm_rep_buf *b, const char *s, fm_esc_mode mode);

/* ---- the document --------------------------------------------------------------------------- */

typedef struct {
    const fm_report_options *opt;
    fm_rep_buf out;
    int n_pictures;
    fm_report_status status; /* the first failure */
    char err[512];
} fm_rep_doc;

fm_esc_mode fm_rep_mode(const fm_rep_doc *d);
void fm_rep_fail(fm_rep_doc *d, fm_report_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A heading: literal prefix (ours) then the escaped outside name (may be NULL). */
void fm_rep_heading(fm_rep_doc *d, int level, const char *prefix, const char *name);
/* A paragraph of our own words (printf) - only numbers and literal text go into fmt. */
void fm_rep_para(fm_rep_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A paragraph: literal prefix, escaped outside text, literal suffix. */
void fm_rep_para_named(fm_rep_doc *d, const char *prefix, const char *name, const char *suffix);
void fm_rep_table_begin(fm_rep_doc *d, const char *id, const char *const *headers, int n);
void fm_rep_row_begin(fm_rep_doc *d);
void fm_rep_cell_text(fm_rep_doc *d, const char *text); /* outside text, escaped */
/* A number: shown as display (ours), with key and the exact value in data attributes (HTML). */
void fm_rep_cell_num(fm_rep_doc *d, const char *key, double value, const char *display);
void fm_rep_cell_int(fm_rep_doc *d, const char *key, int64_t value);
/* A probability shown as a percentage with 4 significant digits ("-" when NaN). */
void fm_rep_cell_prob(fm_rep_doc *d, const char *key, double p);
void fm_rep_row_end(fm_rep_doc *d);
void fm_rep_table_end(fm_rep_doc *d);
/* Output bytes as a preformatted excerpt (escaped; control bytes visible). */
void fm_rep_pre(fm_rep_doc *d, const char *bytes, size_t n);
/* A picture (svg: a whole <svg> element) with its caption (ours); consumes svg. */
void fm_rep_picture(fm_rep_doc *d, fm_rep_buf *svg, const char *caption);

/* How a probability is shown in a table: "1.502%", "0%", "-" for NaN. */
void fm_rep_fmt_prob(double p, char *buf, size_t size);

/* ---- SVG charts ------------------------------------------------------------------------------ */

typedef struct {
    fm_rep_buf *b;
    double x0, x1, y0, y1; /* data range */
    bool logx, logy;
    double left, right, top, bottom; /* plot area in pixels */
    unsigned clip;                   /* id of the plot area's clipPath (unique in the process) */
} fm_svg;

/*
 * Begin a chart of width x height pixels: the <svg> element with its <title>, the frame, grid,
 * ticks and both axis labels (class "x-label" and "y-label"; the browser test looks for them).
 * title, xlabel, ylabel are ours; title_name (may be NULL) is outside text appended to the title.
 */
void fm_svg_begin(fm_svg *c, fm_rep_buf *b, int width, int height, const char *title,
                  const char *title_name, const char *xlabel, const char *ylabel, double x0,
                  double x1, bool logx, double y0, double y1, bool logy, bool y_percent);
/* The same with categories as rows: no y ticks, room for their names at the left. */
void fm_svg_begin_rows(fm_svg *c, fm_rep_buf *b, int width, int height, const char *title,
                       const char *xlabel, const char *ylabel, double x0, double x1);
double fm_svg_x(const fm_svg *c, double x);
double fm_svg_y(const fm_svg *c, double y);
/* A line through the finite points (broken where a point is missing or not drawable). */
void fm_svg_line(fm_svg *c, const double *x, const double *y, size_t n, const char *color,
                 const char *dash, double width);
/* A step line (ECDF). */
void fm_svg_steps(fm_svg *c, const double *x, const double *y, size_t n, const char *color);
/* The band between lo and hi. */
void fm_svg_band(fm_svg *c, const double *x, const double *lo, const double *hi, size_t n,
                 const char *color, double opacity);
void fm_svg_hline(fm_svg *c, double y, const char *color, const char *label);
void fm_svg_vline(fm_svg *c, double x, const char *color, const char *label);
void fm_svg_dot(fm_svg *c, double x, double y, const char *color, double r);
/* Legend entries (ours), top right, one per line. */
void fm_svg_legend(fm_svg *c, const char *const *names, const char *const *colors, size_t n);
void fm_svg_end(fm_svg *c);

/*
 * Intervals by category, one row each (names: outside text), the estimate as a dot and the
 * interval as a bar, one colour per series (series may be NULL).  Sorted as given.
 */
typedef struct {
    const char *name, *series;
    double estimate, lower, upper;
} fm_svg_interval;

void fm_svg_intervals(fm_rep_buf *b, const char *title, const char *xlabel, const char *ylabel,
                      const fm_svg_interval *rows, size_t n, bool logx, bool percent,
                      double reference);

/* ---- sections ------------------------------------------------------------------------------- */

/* Colours used throughout (a palette readable by people with red-green colour blindness). */
#define FM_C_POINT  "#0072b2"
#define FM_C_CONS   "#d55e00"
#define FM_C_BAYES  "#009e73"
#define FM_C_BAND   "#56b4e9"
#define FM_C_TARGET "#cc79a7"
#define FM_C_GREY   "#999999"

/* One campaign: its verdict, pictures and evidence. */
void fm_rep_campaign(fm_rep_doc *d, fm_store *store, int64_t id);
/* Campaigns that are the cells of one sweep (labels "BASE [...]"). */
void fm_rep_sweep(fm_rep_doc *d, fm_store *store, const char *base, const int64_t *ids, size_t n);
/* `bench emu` pairs: native[i] with emulated[i]. */
void fm_rep_bench(fm_rep_doc *d, fm_store *store, const int64_t *native, const int64_t *emulated,
                  size_t n);
/* The CI history of one suite (NULL: every suite). */
void fm_rep_history(fm_rep_doc *d, fm_store *store, const char *suite);

/* The single pictures (fm_report_picture_write); svg gets a whole <svg> element. */
fm_report_status fm_rep_campaign_picture(fm_store *store, int64_t id, fm_report_picture what,
                                         const fm_report_options *opt, fm_rep_buf *svg, char *err,
                                         size_t err_size);
fm_report_status fm_rep_tests_picture(fm_store *store, const char *suite,
                                      const fm_report_options *opt, fm_rep_buf *svg, char *err,
                                      size_t err_size);

#endif
