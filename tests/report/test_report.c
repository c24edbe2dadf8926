/*
 * test_report.c - libfmreport's pieces in C: escaping of outside text for HTML and Markdown
 * (expected strings written out by hand from the rules of docs/report.md, "Escaping"), the
 * truncation of long names at a character boundary, the SVG writer's contract (one <svg> with
 * a title and both axis labels, clipped lines, points that cannot be drawn break the line
 * instead of reaching the file as NaN), a Markdown picture refusing to replace a directory, and
 * the store's fm_store_runs_each (the one pass a report makes): every attempt in (run_index,
 * attempt) order with its fields, stopping when the callback asks.
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

typedef struct {
    fm_run_record seen[8];
    int n, stop_after;
} runs_seen;

static int on_run(const fm_run_record *r, void *ctx)
{
    runs_seen *s = ctx;
    if (s->n < 8)
        s->seen[s->n] = *r;
    return ++s->n == s->stop_after;
}

static void runs_each(void)
{
    char dir[] = "/tmp/fm-report-runs-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/s.db", dir);
    fm_store *st = NULL;
    CHECK(fm_store_open(path, true, &st) == FM_STORE_OK, "open");
    fm_campaign_info info = {
        .label = "c", .kind = "workload", .command = "bernoulli", .params = "p=0.5"};
    int64_t id;
    bool existed;
    CHECK(fm_store_campaign(st, &info, &id, &existed) == FM_STORE_OK, "campaign");
    /* Added out of order: (2,1), (0,1) failed, (0,2) passed on retry, (1,1) crashed. */
    const fm_run_record in[4] = {
        {.run_index = 2, .attempt = 1, .seed = 9, .outcome = FM_OUTCOME_PASS, .wall_ns = 30},
        {.run_index = 0,
         .attempt = 1,
         .seed = 7,
         .outcome = FM_OUTCOME_FAIL,
         .exit_code = 3,
         .wall_ns = 10,
         .user_us = 5,
         .sys_us = 6,
         .max_rss_kb = 77},
        {.run_index = 0, .attempt = 2, .seed = 7, .outcome = FM_OUTCOME_PASS, .wall_ns = 11},
        {.run_index = 1,
         .attempt = 1,
         .seed = 8,
         .outcome = FM_OUTCOME_CRASH,
         .signal = 11,
         .core_dumped = true,
         .wall_ns = 20},
    };
    for (int i = 0; i < 4; i++)
        CHECK(fm_store_add_run(st, id, &in[i]) == FM_STORE_OK, "add %d", i);
    CHECK(fm_store_flush(st) == FM_STORE_OK, "flush");
    runs_seen s = {0};
    CHECK(fm_store_runs_each(st, id, on_run, &s) == FM_STORE_OK, "runs_each");
    const int order[4] = {1, 2, 3, 0};
    CHECK(s.n == 4, "%d attempts", s.n);
    for (int i = 0; i < 4 && i < s.n; i++) {
        const fm_run_record *a = &s.seen[i], *b = &in[order[i]];
        CHECK(a->run_index == b->run_index && a->attempt == b->attempt && a->seed == b->seed &&
                  a->outcome == b->outcome && a->wall_ns == b->wall_ns &&
                  a->core_dumped == b->core_dumped,
              "attempt %d: (%lld, %u)", i, (long long)a->run_index, a->attempt);
    }
    CHECK(s.seen[0].exit_code == 3 && s.seen[0].user_us == 5 && s.seen[0].sys_us == 6 &&
              s.seen[0].max_rss_kb == 77,
          "the fields of the first attempt");
    CHECK(s.seen[2].signal == 11, "the crash's signal %d", s.seen[2].signal);
    s = (runs_seen){.stop_after = 2};
    CHECK(fm_store_runs_each(st, id, on_run, &s) == FM_STORE_OK && s.n == 2, "stopped at %d", s.n);
    CHECK(fm_store_runs_each(st, id, NULL, NULL) == FM_STORE_EINVAL, "no callback");
    fm_store_close(st);
    unlink(path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rmdir(dir);
}

int main(void)
{
    escaping();
    svg();
    picture_target();
    runs_each();
    printf("%d checks, %d failed\n", fm_test_checks, fm_test_failures);
    return fm_test_failures ? 1 : 0;
}
