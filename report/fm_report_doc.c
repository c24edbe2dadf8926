/*
 * fm_report_doc.c - the text side of a report: the growing buffer, escaping of outside text,
 * and the document elements (headings, paragraphs, tables, excerpts, pictures) in HTML or
 * GitHub-flavoured Markdown.
 *
 * Escaping (docs/report.md, "Escaping"): UTF-8 is decoded; what a reader could not see or a
 * parser could take for markup becomes visible text.  HTML gets & < > " ' as entities (valid in
 * SVG/XML too); Markdown gets every ASCII punctuation character as a numeric entity, so no
 * emphasis, link, code span, HTML tag or table pipe can start, and a newline never ends a table
 * row.  A Markdown picture is a file beside the report written through common/fm_target.
 */
#include "fm_report_internal.h"
#include "fm_target.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- buffer --------------------------------------------------------------------------------- */

static bool grow(fm_rep_buf *b, size_t need)
{
    if (b->oom)
        return false;
    if (b->len + need + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + need + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void fm_rep_add(fm_rep_buf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void fm_rep_puts(fm_rep_buf *b, const char *s)
{
    fm_rep_add(b, s, strlen(s));
}

void fm_rep_printf(fm_rep_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        fm_rep_add(b, small, (size_t)n);
        return;
    }
    if (!grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap); /* room for n + 1 bytes checked above */
    va_end(ap);
    b->len += (size_t)n;
}

void fm_rep_buf_free(fm_rep_buf *b)
{
    free(b->p);
    *b = (fm_rep_buf){0};
}

/* ---- escaping ------------------------------------------------------------------------------- */

/* One visible ASCII character of the result, encoded for the mode. */
static void put_ascii(fm_rep_buf *b, char c, fm_esc_mode mode)
{
    if (mode == FM_ESC_MD) {
        if ((c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
            (c >= '{' && c <= '~'))
            fm_rep_printf(b, "&#%d;", c);
        else
            fm_rep_add(b, &c, 1);
        return;
    }
    switch (c) {
    case '&':
        fm_rep_puts(b, "&amp;");
        return;
    case '<':
        fm_rep_puts(b, "&lt;");
        return;
    case '>':
        fm_rep_puts(b, "&gt;");
        return;
    case '"':
        fm_rep_puts(b, "&quot;");
        return;
    case '\'':
        fm_rep_puts(b, "&#39;");
        return;
    default:
        fm_rep_add(b, &c, 1);
    }
}

/*
 * Text of ours (and the visible forms of escaped characters): in Markdown only the characters
 * that could start markup in running text are entities; outside text gets them all (put_ascii).
 */
static void put_visible(fm_rep_buf *b, const char *text, fm_esc_mode mode)
{
    for (; *text; text++) {
        if (mode == FM_ESC_MD && !strchr("\\`*_[]<>|&~#!", *text))
            fm_rep_add(b, text, 1);
        else
            put_ascii(b, *text, mode);
    }
}

/* Length of the valid UTF-8 sequence at s (1..4) and its code point, or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static bool invisible(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe ||
           (cp >= 0x2028 && cp <= 0x2029) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

void fm_rep_escape(fm_rep_buf *b, const char *s, size_t n, fm_esc_mode mode, size_t max_chars)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t chars = 0;
    for (size_t i = 0; i < n;) {
        if (max_chars && chars == max_chars) {
            fm_rep_puts(b, "\xe2\x80\xa6"); /* U+2026 */
            return;
        }
        chars++;
        uint32_t cp;
        size_t len = utf8_decode(u + i, n - i, &cp);
        char vis[16];
        if (len == 0) {
            snprintf(vis, sizeof vis, "\\x%02x", u[i]);
            put_visible(b, vis, mode);
            i++;
            continue;
        }
        if (mode == FM_ESC_PRE && (cp == '\n' || cp == '\t')) {
            fm_rep_add(b, (const char *)u + i, 1);
        } else if (cp == '\n') {
            put_visible(b, "\\n", mode);
        } else if (cp == '\t') {
            put_visible(b, "\\t", mode);
        } else if (cp == '\r') {
            put_visible(b, "\\r", mode);
        } else if (invisible(cp)) {
            if (cp < 0x80)
                snprintf(vis, sizeof vis, "\\x%02x", (unsigned)cp);
            else
                snprintf(vis, sizeof vis, "\\u{%04X}", (unsigned)cp);
            put_visible(b, vis, mode);
        } else if (cp < 0x80) {
            put_ascii(b, (char)cp, mode);
        } else {
            fm_rep_add(b, (const char *)u + i, len);
        }
        i += len;
    }
}

void fm_rep_escs(fm_rep_buf *b, const char *s, fm_esc_mode mode)
{
    if (s != NULL)
        fm_rep_escape(b, s, strlen(s), mode, 0);
}

/* ---- document ------------------------------------------------------------------------------- */

fm_esc_mode fm_rep_mode(const fm_rep_doc *d)
{
    return d->opt->format == FM_REPORT_MARKDOWN ? FM_ESC_MD : FM_ESC_HTML;
}

static bool md(const fm_rep_doc *d)
{
    return d->opt->format == FM_REPORT_MARKDOWN;
}

void fm_rep_fail(fm_rep_doc *d, fm_report_status st, const char *fmt, ...)
{
    if (d->status != FM_REPORT_OK)
        return;
    d->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
}

void fm_rep_heading(fm_rep_doc *d, int level, const char *prefix, const char *name)
{
    if (md(d)) {
        fm_rep_printf(&d->out, "\n%.*s ", level, "######");
        put_visible(&d->out, prefix, FM_ESC_MD);
        fm_rep_escs(&d->out, name, FM_ESC_MD);
        fm_rep_puts(&d->out, "\n\n");
        return;
    }
    fm_rep_printf(&d->out, "<h%d>", level);
    put_visible(&d->out, prefix, FM_ESC_HTML);
    fm_rep_escs(&d->out, name, FM_ESC_HTML);
    fm_rep_printf(&d->out, "</h%d>\n", level);
}

void fm_rep_para(fm_rep_doc *d, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fm_rep_para_named(d, text, NULL, NULL);
}

void fm_rep_para_named(fm_rep_doc *d, const char *prefix, const char *name, const char *suffix)
{
    fm_esc_mode m = fm_rep_mode(d);
    fm_rep_puts(&d->out, md(d) ? "" : "<p>");
    put_visible(&d->out, prefix, m);
    fm_rep_escs(&d->out, name, m);
    if (suffix)
        put_visible(&d->out, suffix, m);
    fm_rep_puts(&d->out, md(d) ? "\n\n" : "</p>\n");
}

void fm_rep_table_begin(fm_rep_doc *d, const char *id, const char *const *headers, int n)
{
    if (md(d)) {
        fm_rep_puts(&d->out, "|");
        for (int i = 0; i < n; i++) {
            fm_rep_puts(&d->out, " ");
            put_visible(&d->out, headers[i], FM_ESC_MD);
            fm_rep_puts(&d->out, " |");
        }
        fm_rep_puts(&d->out, "\n|");
        for (int i = 0; i < n; i++)
            fm_rep_puts(&d->out, i == 0 ? "---|" : "--:|");
        fm_rep_puts(&d->out, "\n");
        return;
    }
    fm_rep_printf(&d->out, "<table class=\"fm-table\" data-table=\"%s\"><thead><tr>", id);
    for (int i = 0; i < n; i++) {
        fm_rep_puts(&d->out, "<th>");
        put_visible(&d->out, headers[i], FM_ESC_HTML);
        fm_rep_puts(&d->out, "</th>");
    }
    fm_rep_puts(&d->out, "</tr></thead><tbody>\n");
}

void fm_rep_row_begin(fm_rep_doc *d)
{
    fm_rep_puts(&d->out, md(d) ? "|" : "<tr>");
}

void fm_rep_cell_text(fm_rep_doc *d, const char *text)
{
    if (md(d)) {
        fm_rep_puts(&d->out, " ");
        fm_rep_escs(&d->out, text, FM_ESC_MD);
        fm_rep_puts(&d->out, " |");
        return;
    }
    fm_rep_puts(&d->out, "<td class=\"name\">");
    fm_rep_escs(&d->out, text, FM_ESC_HTML);
    fm_rep_puts(&d->out, "</td>");
}

void fm_rep_cell_num(fm_rep_doc *d, const char *key, double value, const char *display)
{
    if (md(d)) {
        fm_rep_puts(&d->out, " ");
        put_visible(&d->out, display, FM_ESC_MD);
        fm_rep_puts(&d->out, " |");
        return;
    }
    if (isfinite(value))
        fm_rep_printf(&d->out, "<td data-key=\"%s\" data-value=\"%.17g\">", key, value);
    else
        fm_rep_printf(&d->out, "<td data-key=\"%s\" data-value=\"null\">", key);
    put_visible(&d->out, display, FM_ESC_HTML);
    fm_rep_puts(&d->out, "</td>");
}

void fm_rep_cell_int(fm_rep_doc *d, const char *key, int64_t value)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)value);
    fm_rep_cell_num(d, key, (double)value, s);
}

void fm_rep_fmt_prob(double p, char *buf, size_t size)
{
    if (!isfinite(p))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.4g%%", p * 100);
}

void fm_rep_cell_prob(fm_rep_doc *d, const char *key, double p)
{
    char s[32];
    fm_rep_fmt_prob(p, s, sizeof s);
    fm_rep_cell_num(d, key, p, s);
}

void fm_rep_row_end(fm_rep_doc *d)
{
    fm_rep_puts(&d->out, md(d) ? "\n" : "</tr>\n");
}

void fm_rep_table_end(fm_rep_doc *d)
{
    fm_rep_puts(&d->out, md(d) ? "\n" : "</tbody></table>\n");
}

void fm_rep_pre(fm_rep_doc *d, const char *bytes, size_t n)
{
    /* An HTML block in Markdown too: it ends only at </pre>, which escaping keeps out. */
    fm_rep_puts(&d->out, "<pre class=\"evidence\">");
    fm_rep_escape(&d->out, bytes, n, FM_ESC_PRE, 0);
    fm_rep_puts(&d->out, "</pre>\n\n");
}

static void write_picture_file(fm_rep_doc *d, const fm_rep_buf *svg, const char *name)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", d->opt->picture_dir, name);
    fm_target t;
    fm_target_status st = fm_target_open(&t, path, 0, err, sizeof err);
    if (st != FM_TARGET_OK) {
        fm_rep_fail(d, st == FM_TARGET_EINVAL ? FM_REPORT_EINVAL : FM_REPORT_EIO, "%s", err);
        return;
    }
    static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    size_t off = 0, total = sizeof head - 1 + svg->len;
    while (off < total) {
        const char *p = off < sizeof head - 1 ? head + off : svg->p + (off - (sizeof head - 1));
        size_t left = off < sizeof head - 1 ? sizeof head - 1 - off : total - off;
        ssize_t w = write(t.fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fm_rep_fail(d, FM_REPORT_EIO, "%s: %s", path, strerror(errno));
            fm_target_discard(&t);
            return;
        }
        off += (size_t)w;
    }
    if (fm_target_commit(&t, err, sizeof err) != FM_TARGET_OK)
        fm_rep_fail(d, FM_REPORT_EIO, "%s", err);
}

void fm_rep_picture(fm_rep_doc *d, fm_rep_buf *svg, const char *caption)
{
    d->n_pictures++;
    if (svg->oom)
        d->out.oom = true;
    if (!md(d)) {
        fm_rep_puts(&d->out, "<figure>\n");
        if (svg->p)
            fm_rep_add(&d->out, svg->p, svg->len);
        fm_rep_puts(&d->out, "<figcaption>");
        put_visible(&d->out, caption, FM_ESC_HTML);
        fm_rep_puts(&d->out, "</figcaption></figure>\n");
    } else if (d->opt->picture_dir == NULL) {
        fm_rep_puts(&d->out, "*");
        put_visible(&d->out, "(picture not written: the report went to standard output) ",
                    FM_ESC_MD);
        put_visible(&d->out, caption, FM_ESC_MD);
        fm_rep_puts(&d->out, "*\n\n");
    } else {
        char name[1024];
        snprintf(name, sizeof name, "%s-%d.svg", d->opt->picture_base, d->n_pictures);
        write_picture_file(d, svg, name);
        fm_rep_puts(&d->out, "![");
        put_visible(&d->out, caption, FM_ESC_MD);
        fm_rep_puts(&d->out, "](");
        /* The base name is ours (the report's file name): percent-encode all but safe bytes. */
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_' || *p == '.')
                fm_rep_add(&d->out, (const char *)p, 1);
            else
                fm_rep_printf(&d->out, "%%%02X", *p);
        }
        fm_rep_puts(&d->out, ")\n\n");
        fm_rep_puts(&d->out, "*");
        put_visible(&d->out, caption, FM_ESC_MD);
        fm_rep_puts(&d->out, "*\n\n");
    }
    fm_rep_buf_free(svg);
}
