/*
 * test_report.c - libfmreport's pieces in C: escaping of outside text for HTML and Markdown
 * (expected strings written out by hand from the rules of docs/report.md, "Escaping"), the
 * truncation of long names at a character boundary, the SVG writer's contract (one <svg> with
 * a title and both axis labels, clipped lines, points that cannot be drawn break the line
 * instead of reaching the file as NaN), and a Markdown picture refusing to replace a directory.
 */
#include "fm_report_internal.h"
#include "fm_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *esc(const char *s, size_t n, fm_esc_mode mode, size_t max)
{
    static fm_rep_buf b;
    fm_rep_buf_free(&b);
    fm_rep_escape(&b, s, n, mode, max);
    return b.p ? b.p : "";
}

#define ESC(s, mode) esc(s, sizeof(s) - 1, mode, 0)

static void escaping(void)
{
    const char *h = ESC("<script>alert(\"x\")</script> & 'y'", FM_ESC_HTML);
    CHECK(strcmp(h, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;") == 0,
          "%s", h);
    /* ANSI, a newline, a tab, U+FFFE, U+FFFF, a C1 control, DEL, bidi override, a bad byte. */
    h = ESC("a\x1b[31mb\nc\td\xef\xbf\xbe\xef\xbf\xbf\xc2\x85\x7f\xe2\x80\xae\xff", FM_ESC_HTML);
    CHECK(strcmp(h, "a\\x1b[31mb\\nc\\td\\u{FFFE}\\u{FFFF}\\u{0085}\\x7f\\u{202E}\\xff") == 0, "%s",
          h);
    /* In <pre>: newlines and tabs stay, the rest as in HTML text. */
    h = ESC("l1\n\tl2 <b>\x1b", FM_ESC_PRE);
    CHECK(strcmp(h, "l1\n\tl2 &lt;b&gt;\\x1b") == 0, "%s", h);
    /* Markdown: every ASCII punctuation an entity, so no pipe, backtick, emphasis or tag. */
    h = ESC("a|b `c` *d* _e_ <f> [g](h) \\", FM_ESC_MD);
    CHECK(strcmp(h,
                 "a&#124;b &#96;c&#96; &#42;d&#42; &#95;e&#95; &#60;f&#62; &#91;g&#93;&#40;h&#41; "
                 "&#92;") == 0,
          "%s", h);
    /* A control character's visible form is escaped for Markdown too. */
    h = ESC("x\ny", FM_ESC_MD);
    CHECK(strcmp(h, "x&#92;ny") == 0, "%s", h);
    /* UTF-8 passes; overlong, surrogate and truncated sequences become bytes. */
    h = ESC("\xc3\xa9\xe2\x82\xac \xc0\xaf \xed\xa0\x80 \xe2\x82", FM_ESC_HTML);
    CHECK(strcmp(h, "\xc3\xa9\xe2\x82\xac \\xc0\\xaf \\xed\\xa0\\x80 \\xe2\\x82") == 0, "%s", h);
    /* Truncation counts characters, never cuts one, and ends with an ellipsis. */
    h = esc("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, FM_ESC_HTML, 2);
    CHECK(strcmp(h, "\xc3\xa9\xc3\xa9\xe2\x80\xa6") == 0, "%s", h);
    h = esc("ab", 2, FM_ESC_HTML, 2);
    CHECK(strcmp(h, "ab") == 0, "%s", h);
}

static void svg(void)
{
    fm_rep_buf b = {0};
    fm_svg c;
    fm_svg_begin(&c, &b, 400, 300, "T: ", "<name>", "the x", "the y", 1, 10, false, 1e-6, 1, true,
                 false);
    const double x[4] = {1, 2, 3, 4}, y[4] = {0.5, NAN, 0, 1e-3};
    fm_svg_line(&c, x, y, 4, "#000000", NULL, 1);
    fm_svg_end(&c);
    CHECK(b.p && strncmp(b.p, "<svg ", 5) == 0, "starts with <svg");
    CHECK(strstr(b.p, "<title>T: &lt;name&gt;</title>") != NULL, "title escaped");
    CHECK(strstr(b.p, "class=\"x-label\"") && strstr(b.p, ">the x</text>"), "x label");
    CHECK(strstr(b.p, "class=\"y-label\"") && strstr(b.p, ">the y</text>"), "y label");
    CHECK(strstr(b.p, "nan") == NULL && strstr(b.p, "inf") == NULL, "no NaN or inf: %s", b.p);
    /* NaN and 0 (on a log axis) break the line: two moves, each starting a piece. */
    const char *d = strstr(b.p, "<path class=\"series\" d=\"");
    CHECK(d != NULL, "the line is drawn");
    size_t moves = 0;
    for (const char *p = d; p && *p && *p != '/'; p++)
        moves += *p == 'M';
    CHECK(moves == 2, "%zu pieces", moves);
    CHECK(strstr(b.p, "clip-path=\"url(#fm-clip-") != NULL, "clipped");
    CHECK(strcmp(b.p + b.len - 7, "</svg>\n") == 0, "ends with </svg>");
    fm_rep_buf_free(&b);
}

static void picture_target(void)
{
    char dir[] = "/tmp/fm-report-unit-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/r-1.svg", dir);
    CHECK(mkdir(path, 0700) == 0, "a directory where the picture would go");
    fm_report_options opt = {.format = FM_REPORT_MARKDOWN, .picture_dir = dir, .picture_base = "r"};
    fm_rep_doc d = {.opt = &opt};
    fm_rep_buf pic = {0};
    fm_rep_puts(&pic, "<svg/>");
    fm_rep_picture(&d, &pic, "caption");
    struct stat st;
    CHECK(d.status == FM_REPORT_EINVAL, "status %d (%s)", d.status, d.err);
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "the directory is left as it was");
    rmdir(path);
    fm_rep_buf_free(&d.out);
    /* A regular file is replaced whole, with the XML declaration first. */
    d = (fm_rep_doc){.opt = &opt};
    fm_rep_puts(&pic, "<svg/>");
    fm_rep_picture(&d, &pic, "caption");
    FILE *f = fopen(path, "r");
    char got[128] = "";
    CHECK(d.status == FM_REPORT_OK && f != NULL, "written (%s)", d.err);
    if (f) {
        size_t n = fread(got, 1, sizeof got - 1, f);
        got[n] = '\0';
        fclose(f);
    }
    CHECK(strcmp(got, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg/>") == 0, "%s", got);
    CHECK(strstr(d.out.p, "](r-1.svg)") != NULL, "linked by its base name: %s", d.out.p);
    fm_rep_buf_free(&d.out);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    escaping();
    svg();
    picture_target();
    printf("%d checks, %d failed\n", fm_test_checks, fm_test_failures);
    return fm_test_failures ? 1 : 0;
}
