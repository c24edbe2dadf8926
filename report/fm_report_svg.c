/*
 * fm_report_svg.c - the pictures of a report, written as SVG directly: axes with ticks and
 * labelled both ways, lines, step lines, bands, reference lines, dots, legends, and the
 * interval chart (one row per category) that sweeps, `bench emu` and CI histories share.
 *
 * Invariants: every picture is one <svg> element with a <title>, a text of class "x-label" and
 * one of class "y-label" (the axes' names); outside text goes through fm_rep_escape (HTML mode,
 * which is also valid XML); coordinates are finite (points that cannot be drawn - NaN, or <= 0
 * on a log axis - break the line instead); no script, no external reference, no font file.
 */
#include "fm_report_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double tr(double v, bool logv)
{
    return logv ? log10(v) : v;
}

double fm_svg_x(const fm_svg *c, double x)
{
    double a = tr(c->x0, c->logx), z = tr(c->x1, c->logx);
    return c->left + (tr(x, c->logx) - a) / (z - a) * (c->right - c->left);
}

double fm_svg_y(const fm_svg *c, double y)
{
    double a = tr(c->y0, c->logy), z = tr(c->y1, c->logy);
    return c->bottom - (tr(y, c->logy) - a) / (z - a) * (c->bottom - c->top);
}

static bool drawable(const fm_svg *c, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!c->logx || x > 0) && (!c->logy || y > 0);
}

static void tick_label(double v, bool percent, char *buf, size_t size)
{
    if (percent)
        snprintf(buf, size, "%g%%", v * 100);
    else if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3))
        snprintf(buf, size, "%.0e", v);
    else
        snprintf(buf, size, "%g", v);
}

/* Tick positions: decades on a log axis, 1-2-5 steps on a linear one (at most max). */
static size_t ticks(double a, double z, bool logv, double *out, size_t max)
{
    size_t n = 0;
    if (logv) {
        int lo = (int)ceil(log10(a) - 1e-9), hi = (int)floor(log10(z) + 1e-9);
        int step = 1;
        while ((hi - lo) / step + 1 > (int)max)
            step++;
        for (int e = lo; e <= hi && n < max; e += step)
            out[n++] = pow(10, e);
        return n;
    }
    double span = z - a;
    if (!(span > 0))
        return 0;
    double raw = span / 6, mag = pow(10, floor(log10(raw))), step = mag;
    if (raw / mag > 5)
        step = 10 * mag;
    else if (raw / mag > 2)
        step = 5 * mag;
    else if (raw / mag > 1)
        step = 2 * mag;
    for (double v = ceil(a / step - 1e-9) * step; v <= z + step * 1e-9 && n < max; v += step)
        out[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

static void begin(fm_svg *c, fm_rep_buf *b, int width, int height, const char *title,
                  const char *title_name, const char *xlabel, const char *ylabel, double x0,
                  double x1, bool logx, double y0, double y1, bool logy, bool y_percent,
                  double left, bool y_ticks, bool x_percent)
{
    if (!(x1 > x0))
        x1 = x0 + 1;
    if (!(y1 > y0))
        y1 = logy ? y0 * 10 : y0 + 1;
    *c = (fm_svg){.b = b,
                  .x0 = x0,
                  .x1 = x1,
                  .y0 = y0,
                  .y1 = y1,
                  .logx = logx,
                  .logy = logy,
                  .left = left,
                  .right = width - 20,
                  .top = 34,
                  .bottom = height - 46};
    fm_rep_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"fm-chart\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                  "font-family=\"sans-serif\" font-size=\"12\">\n<title>",
                  width, height, width, height);
    fm_rep_escs(b, title, FM_ESC_HTML);
    fm_rep_escape(b, title_name ? title_name : "", title_name ? strlen(title_name) : 0, FM_ESC_HTML,
                  80);
    fm_rep_puts(b, "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    fm_rep_printf(b,
                  "<text class=\"chart-title\" x=\"%d\" y=\"20\" font-size=\"14\" "
                  "font-weight=\"bold\">",
                  10);
    fm_rep_escs(b, title, FM_ESC_HTML);
    fm_rep_escape(b, title_name ? title_name : "", title_name ? strlen(title_name) : 0, FM_ESC_HTML,
                  60);
    fm_rep_puts(b, "</text>\n");
    double t[16];
    size_t n = ticks(x0, x1, logx, t, 12);
    fm_rep_puts(b, "<g class=\"x-axis\" stroke=\"#dddddd\">\n");
    for (size_t i = 0; i < n; i++) {
        char lab[32];
        double x = fm_svg_x(c, t[i]);
        tick_label(t[i], x_percent, lab, sizeof lab);
        fm_rep_printf(b,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" stroke=\"none\" "
                      "fill=\"#333333\">%s</text>\n",
                      x, c->top, x, c->bottom, x, c->bottom + 15, lab);
    }
    fm_rep_puts(b, "</g>\n<g class=\"y-axis\" stroke=\"#dddddd\">\n");
    n = y_ticks ? ticks(y0, y1, logy, t, 12) : 0;
    for (size_t i = 0; i < n; i++) {
        char lab[32];
        double y = fm_svg_y(c, t[i]);
        tick_label(t[i], y_percent, lab, sizeof lab);
        fm_rep_printf(b,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" stroke=\"none\" "
                      "fill=\"#333333\">%s</text>\n",
                      c->left, y, c->right, y, c->left - 5, y + 4, lab);
    }
    fm_rep_printf(b,
                  "</g>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                  "fill=\"none\" stroke=\"#333333\"/>\n",
                  c->left, c->top, c->right - c->left, c->bottom - c->top);
    /* Lines, bands and dots are clipped to the plot area; ids unique within one process run
     * (a report is one page made by one process), so two charts of a page never share one. */
    static unsigned clips;
    c->clip = ++clips;
    fm_rep_printf(b,
                  "<defs><clipPath id=\"fm-clip-%u\"><rect x=\"%.1f\" y=\"%.1f\" "
                  "width=\"%.1f\" height=\"%.1f\"/></clipPath></defs>\n",
                  c->clip, c->left, c->top, c->right - c->left, c->bottom - c->top);
    fm_rep_printf(b, "<text class=\"x-label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
                  (c->left + c->right) / 2, height - 8);
    fm_rep_escs(b, xlabel, FM_ESC_HTML);
    fm_rep_printf(b,
                  "</text>\n<text class=\"y-label\" transform=\"translate(14 %.1f) "
                  "rotate(-90)\" text-anchor=\"middle\">",
                  (c->top + c->bottom) / 2);
    fm_rep_escs(b, ylabel, FM_ESC_HTML);
    fm_rep_puts(b, "</text>\n");
}

void fm_svg_begin(fm_svg *c, fm_rep_buf *b, int width, int height, const char *title,
                  const char *title_name, const char *xlabel, const char *ylabel, double x0,
                  double x1, bool logx, double y0, double y1, bool logy, bool y_percent)
{
    begin(c, b, width, height, title, title_name, xlabel, ylabel, x0, x1, logx, y0, y1, logy,
          y_percent, 78, true, false);
}

void fm_svg_begin_rows(fm_svg *c, fm_rep_buf *b, int width, int height, const char *title,
                       const char *xlabel, const char *ylabel, double x0, double x1)
{
    begin(c, b, width, height, title, NULL, xlabel, ylabel, x0, x1, false, 0, 1, false, false, 260,
          false, false);
}

static void path_points(fm_svg *c, const double *x, const double *y, size_t n, bool steps)
{
    bool pen = false;
    double last_y = 0;
    for (size_t i = 0; i < n; i++) {
        if (!drawable(c, x[i], y[i])) {
            pen = false;
            continue;
        }
        double px = fm_svg_x(c, x[i]), py = fm_svg_y(c, y[i]);
        if (steps && pen)
            fm_rep_printf(c->b, "L%.2f %.2f", px, last_y);
        fm_rep_printf(c->b, "%s%.2f %.2f", pen ? "L" : "M", px, py);
        pen = true;
        last_y = py;
    }
}

void fm_svg_line(fm_svg *c, const double *x, const double *y, size_t n, const char *color,
                 const char *dash, double width)
{
    fm_rep_puts(c->b, "<path class=\"series\" d=\"");
    path_points(c, x, y, n, false);
    fm_rep_printf(c->b,
                  "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s%s%s "
                  "clip-path=\"url(#fm-clip-%u)\"/>\n",
                  color, width, dash ? " stroke-dasharray=\"" : "", dash ? dash : "",
                  dash ? "\"" : "", c->clip);
}

void fm_svg_steps(fm_svg *c, const double *x, const double *y, size_t n, const char *color)
{
    fm_rep_puts(c->b, "<path class=\"series\" d=\"");
    path_points(c, x, y, n, true);
    fm_rep_printf(c->b,
                  "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                  "clip-path=\"url(#fm-clip-%u)\"/>\n",
                  color, c->clip);
}

void fm_svg_band(fm_svg *c, const double *x, const double *lo, const double *hi, size_t n,
                 const char *color, double opacity)
{
    fm_rep_puts(c->b, "<path class=\"band\" d=\"");
    bool pen = false;
    for (size_t i = 0; i < n; i++) {
        if (!drawable(c, x[i], hi[i]))
            continue;
        fm_rep_printf(c->b, "%s%.2f %.2f", pen ? "L" : "M", fm_svg_x(c, x[i]),
                      fm_svg_y(c, fmin(hi[i], c->y1)));
        pen = true;
    }
    for (size_t i = n; i-- > 0;) {
        if (!drawable(c, x[i], hi[i]))
            continue;
        double l = lo[i];
        if (!drawable(c, x[i], l) || l < c->y0)
            l = c->y0;
        fm_rep_printf(c->b, "L%.2f %.2f", fm_svg_x(c, x[i]), fm_svg_y(c, l));
    }
    fm_rep_printf(c->b,
                  "%s\" fill=\"%s\" fill-opacity=\"%.2f\" stroke=\"none\" "
                  "clip-path=\"url(#fm-clip-%u)\"/>\n",
                  pen ? "Z" : "", color, opacity, c->clip);
}

void fm_svg_hline(fm_svg *c, double y, const char *color, const char *label)
{
    if (!drawable(c, c->x0, y) || y < c->y0 || y > c->y1)
        return;
    double py = fm_svg_y(c, y);
    fm_rep_printf(c->b,
                  "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"%s\" "
                  "stroke-dasharray=\"6 3\" stroke-width=\"1.5\"/>",
                  c->left, py, c->right, py, color);
    fm_rep_printf(c->b, "<text x=\"%.1f\" y=\"%.2f\" fill=\"%s\" text-anchor=\"end\">",
                  c->right - 4, py - 4, color);
    fm_rep_escs(c->b, label, FM_ESC_HTML);
    fm_rep_puts(c->b, "</text>\n");
}

void fm_svg_vline(fm_svg *c, double x, const char *color, const char *label)
{
    if (!drawable(c, x, c->y0 > 0 ? c->y0 : 1) || x < c->x0 || x > c->x1)
        return;
    double px = fm_svg_x(c, x);
    fm_rep_printf(c->b,
                  "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"%s\" "
                  "stroke-dasharray=\"4 3\" stroke-width=\"1.5\"/>",
                  px, c->top, px, c->bottom, color);
    fm_rep_printf(c->b, "<text x=\"%.2f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"%s\">",
                  px + (px > (c->left + c->right) / 2 ? -4 : 4), c->bottom - 6, color,
                  px > (c->left + c->right) / 2 ? "end" : "start");
    fm_rep_escs(c->b, label, FM_ESC_HTML);
    fm_rep_puts(c->b, "</text>\n");
}

void fm_svg_dot(fm_svg *c, double x, double y, const char *color, double r)
{
    if (!drawable(c, x, y))
        return;
    fm_rep_printf(c->b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.1f\" fill=\"%s\"/>\n",
                  fm_svg_x(c, x), fm_svg_y(c, y), r, color);
}

void fm_svg_legend(fm_svg *c, const char *const *names, const char *const *colors, size_t n)
{
    double y = c->top + 8, x = c->right - 230;
    fm_rep_printf(c->b,
                  "<g class=\"legend\"><rect x=\"%.1f\" y=\"%.1f\" width=\"226\" "
                  "height=\"%.1f\" fill=\"#ffffff\" fill-opacity=\"0.85\" "
                  "stroke=\"#cccccc\"/>\n",
                  x - 4, y - 4, 16.0 * (double)n + 6);
    for (size_t i = 0; i < n; i++) {
        double ly = y + 16.0 * (double)i + 8;
        fm_rep_printf(c->b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\">",
                      x, ly - 4, colors[i], x + 20, ly + 1);
        fm_rep_escs(c->b, names[i], FM_ESC_HTML);
        fm_rep_puts(c->b, "</text>\n");
    }
    fm_rep_puts(c->b, "</g>\n");
}

void fm_svg_end(fm_svg *c)
{
    fm_rep_puts(c->b, "</svg>\n");
}

/* ---- intervals by category ------------------------------------------------------------------ */

static const char *const palette[] = {FM_C_POINT, FM_C_CONS, FM_C_BAYES, FM_C_TARGET,
                                      "#e69f00",  "#000000", FM_C_BAND,  FM_C_GREY};

void fm_svg_intervals(fm_rep_buf *b, const char *title, const char *xlabel, const char *ylabel,
                      const fm_svg_interval *rows, size_t n, bool logx, bool percent,
                      double reference)
{
    double lo = INFINITY, hi = -INFINITY;
    const char *series[8];
    size_t n_series = 0;
    for (size_t i = 0; i < n; i++) {
        const double v[3] = {rows[i].estimate, rows[i].lower, rows[i].upper};
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k]) && (!logx || v[k] > 0))
                lo = fmin(lo, v[k]), hi = fmax(hi, v[k]);
        bool seen = false;
        for (size_t s = 0; s < n_series; s++)
            seen |= rows[i].series && strcmp(series[s], rows[i].series) == 0;
        if (rows[i].series && !seen && n_series < 8)
            series[n_series++] = rows[i].series;
    }
    if (reference > 0)
        lo = fmin(lo, reference), hi = fmax(hi, reference);
    if (!isfinite(lo))
        lo = logx ? 0.1 : 0, hi = 1;
    if (logx) {
        lo = pow(10, floor(log10(lo))), hi = pow(10, ceil(log10(hi)));
        if (hi <= lo)
            hi = lo * 10;
    } else {
        if (percent || lo > 0)
            lo = 0;
        hi = hi > lo ? hi * 1.05 : lo + 1;
    }
    int height = 84 + 20 * (int)(n ? n : 1);
    fm_svg c;
    begin(&c, b, 760, height, title, NULL, xlabel, ylabel, lo, hi, logx, 0, 1, false, false, 260,
          false, percent);
    double step = (c.bottom - c.top) / (double)(n ? n : 1);
    if (reference > 0) {
        double x = fm_svg_x(&c, reference);
        fm_rep_printf(b,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                      "stroke-dasharray=\"6 3\"/>\n",
                      x, c.top, x, c.bottom, FM_C_TARGET);
    }
    for (size_t i = 0; i < n; i++) {
        const fm_svg_interval *r = &rows[i];
        size_t s = 0;
        while (r->series && s < n_series && strcmp(series[s], r->series) != 0)
            s++;
        const char *color = palette[s % 8];
        double y = c.top + step * ((double)i + 0.5);
        fm_rep_printf(b,
                      "<g class=\"row\"><text class=\"row-name\" x=\"%.1f\" y=\"%.1f\" "
                      "text-anchor=\"end\">",
                      c.left - 6, y + 4);
        fm_rep_escape(b, r->name, strlen(r->name), FM_ESC_HTML, 36);
        fm_rep_puts(b, "</text>");
        double l = isfinite(r->lower) && (!logx || r->lower > 0) ? r->lower : lo;
        double u = isfinite(r->upper) && (!logx || r->upper > 0) ? r->upper : l;
        l = fmax(l, lo), u = fmin(u, hi);
        if (u >= l)
            fm_rep_printf(b,
                          "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                          "stroke=\"%s\" stroke-width=\"3\"/>",
                          fm_svg_x(&c, l), y, fm_svg_x(&c, u), y, color);
        if (isfinite(r->estimate) && (!logx || r->estimate > 0))
            fm_rep_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"%s\"/>",
                          fm_svg_x(&c, r->estimate), y, color);
        fm_rep_puts(b, "</g>\n");
    }
    for (size_t s = 0; n_series > 1 && s < n_series; s++) {
        double x = 430 + 110.0 * (double)s;
        fm_rep_printf(b,
                      "<rect x=\"%.1f\" y=\"12\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                      "<text x=\"%.1f\" y=\"18\">",
                      x, palette[s % 8], x + 18);
        fm_rep_escape(b, series[s], strlen(series[s]), FM_ESC_HTML, 12);
        fm_rep_puts(b, "</text>\n");
    }
    fm_svg_end(&c);
}
