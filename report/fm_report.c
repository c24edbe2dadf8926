/*
 * fm_report.c - what a report covers and the page around it.
 *
 * Selection: with no LABEL, everything in the store; a LABEL names a campaign, a sweep (the base
 * of its cells' labels "BASE [...]"), or a CI suite (ingest --label); a label that names none of
 * them is FM_REPORT_EINVAL.  Grouping: the two campaigns of a `bench emu` pair ("emu ARCH
 * native: W" and "emu ARCH QEMU: W") go into one benchmark section, campaigns whose labels share
 * a base "BASE [" into one sweep section, every other campaign gets its own section, then one
 * section per CI suite.  The HTML page carries a Content-Security-Policy that forbids scripts and
 * every fetch, on top of the escaping that keeps any outside text from becoming markup.
 */
#include "fm_history.h"
#include "fm_report_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fm_report_strerror(fm_report_status status)
{
    switch (status) {
    case FM_REPORT_OK:
        return "success";
    case FM_REPORT_EINVAL:
        return "invalid argument";
    case FM_REPORT_ENODATA:
        return "nothing to report";
    case FM_REPORT_ESTORE:
        return "the store could not be read";
    case FM_REPORT_EIO:
        return "a file could not be written";
    case FM_REPORT_ENOMEM:
        return "out of memory";
    }
    return "unknown report status";
}

typedef enum { K_PLAIN, K_SWEEP, K_NATIVE, K_EMULATED } kind;

typedef struct {
    int64_t id;
    fm_campaign_info info;
    kind k;
    size_t base_len; /* sweep: length of BASE in "BASE [...]" */
    bool selected, done;
} camp;

static size_t sweep_base(const char *label)
{
    size_t n = strlen(label);
    if (n < 4 || label[n - 1] != ']')
        return 0;
    const char *open = strrchr(label, '[');
    if (open == NULL || open == label || open[-1] != ' ')
        return 0;
    return (size_t)(open - label) - 1;
}

/* "emu ARCH native: W" -> K_NATIVE, "emu ARCH X: W" -> K_EMULATED; *arch_len, *rest. */
static kind bench_kind(const char *label, size_t *arch_len, const char **rest)
{
    if (strncmp(label, "emu ", 4) != 0)
        return K_PLAIN;
    const char *arch = label + 4, *sp = strchr(arch, ' '), *colon = strstr(arch, ": ");
    if (sp == NULL || colon == NULL || colon < sp)
        return K_PLAIN;
    *arch_len = (size_t)(sp - arch);
    *rest = colon + 2;
    return strncmp(sp + 1, "native: ", 8) == 0 ? K_NATIVE : K_EMULATED;
}

static bool same_pair(const camp *native, const camp *emulated)
{
    size_t la, lb;
    const char *ra, *rb;
    bench_kind(native->info.label, &la, &ra);
    bench_kind(emulated->info.label, &lb, &rb);
    return la == lb && strncmp(native->info.label, emulated->info.label, 4 + la) == 0 &&
           strcmp(ra, rb) == 0;
}

static void page_begin(fm_rep_doc *d, size_t n_campaigns, size_t n_suites)
{
    const char *title = d->opt->title ? d->opt->title : "flakemeter report";
    if (d->opt->format == FM_REPORT_MARKDOWN) {
        fm_rep_puts(&d->out, "# ");
        fm_rep_escs(&d->out, title, FM_ESC_MD);
        fm_rep_puts(&d->out, "\n\n");
    } else {
        fm_rep_puts(&d->out,
                    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "style-src 'unsafe-inline'\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>");
        fm_rep_escs(&d->out, title, FM_ESC_HTML);
        fm_rep_puts(&d->out,
                    "</title>\n<style>\n"
                    "body{font-family:sans-serif;max-width:820px;margin:2em auto;padding:0 1em;"
                    "color:#222;line-height:1.4}\n"
                    "h1,h2{border-bottom:1px solid #ccc}\n"
                    "table.fm-table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:90%}\n"
                    "table.fm-table td,table.fm-table th{border:1px solid #ccc;padding:2px 8px}\n"
                    "table.fm-table td[data-key]{text-align:right;font-variant-numeric:"
                    "tabular-nums}\n"
                    "td.name{max-width:28em;overflow-wrap:anywhere}\n"
                    "figure{margin:1em 0}svg.fm-chart{max-width:100%;height:auto;"
                    "border:1px solid #eee}\n"
                    "figcaption{font-size:90%;color:#555}\n"
                    "pre.evidence{background:#f6f6f6;padding:0.5em;overflow-x:auto;"
                    "white-space:pre-wrap;overflow-wrap:anywhere}\n"
                    "</style>\n</head>\n<body>\n<h1>");
        fm_rep_escs(&d->out, title, FM_ESC_HTML);
        fm_rep_puts(&d->out, "</h1>\n");
    }
    fm_rep_para_named(d, "Store: ", d->opt->db, NULL);
    fm_rep_para(d,
                "%zu campaign%s and %zu CI suite%s; target %g, confidence %g%%. How to read "
                "each picture: docs/report.md.",
                n_campaigns, n_campaigns == 1 ? "" : "s", n_suites, n_suites == 1 ? "" : "s",
                d->opt->target, d->opt->confidence * 100);
}

static void page_end(fm_rep_doc *d)
{
    if (d->opt->format == FM_REPORT_HTML)
        fm_rep_puts(&d->out, "</body>\n</html>\n");
}

/* Mark what the labels select; every label must select something. */
static bool select_all(fm_rep_doc *d, camp *c, size_t n, fm_history_test *tests, size_t n_tests,
                       bool *suite_selected)
{
    const fm_report_options *o = d->opt;
    for (size_t i = 0; i < n; i++)
        c[i].selected = o->n_labels == 0;
    for (size_t i = 0; i < n_tests; i++)
        suite_selected[i] = o->n_labels == 0;
    for (size_t l = 0; l < o->n_labels; l++) {
        const char *label = o->labels[l];
        size_t len = strlen(label);
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            const char *cl = c[i].info.label;
            bool hit =
                strcmp(cl, label) == 0 || (c[i].base_len == len && strncmp(cl, label, len) == 0);
            c[i].selected |= hit;
            any |= hit;
        }
        for (size_t i = 0; i < n_tests; i++)
            if (strcmp(tests[i].label, label) == 0)
                suite_selected[i] = any = true;
        if (!any) {
            char shown[256];
            size_t k = 0;
            for (const char *p = label; *p && k + 5 < sizeof shown; p++) {
                unsigned char ch = (unsigned char)*p;
                k += (size_t)snprintf(shown + k, sizeof shown - k,
                                      ch < 0x20 || ch == 0x7f ? "\\x%02x" : "%c", ch);
            }
            fm_rep_fail(d, FM_REPORT_EINVAL, "no campaign, sweep or CI suite '%s' in %s", shown,
                        o->db);
            return false;
        }
    }
    return true;
}

static void sections(fm_rep_doc *d, fm_store *store, camp *c, size_t n)
{
    int64_t *a = calloc(n ? n : 1, sizeof *a), *b = calloc(n ? n : 1, sizeof *b);
    if (a == NULL || b == NULL) {
        fm_rep_fail(d, FM_REPORT_ENOMEM, "out of memory");
        goto out;
    }
    /* Benchmarks: every selected native campaign with its emulated partner. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].k != K_NATIVE || c[i].done)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (c[j].k == K_EMULATED && !c[j].done && (c[i].selected || c[j].selected) &&
                same_pair(&c[i], &c[j])) {
                a[m] = c[i].id, b[m++] = c[j].id;
                c[i].done = c[j].done = true;
                break;
            }
        }
    }
    if (m > 0)
        fm_rep_bench(d, store, a, b, m);
    /* Sweeps: the selected cells of one base, in creation order. */
    for (size_t i = 0; i < n && d->status == FM_REPORT_OK; i++) {
        if (c[i].k != K_SWEEP || c[i].done || !c[i].selected)
            continue;
        m = 0;
        for (size_t j = i; j < n; j++)
            if (c[j].k == K_SWEEP && !c[j].done && c[j].selected &&
                c[j].base_len == c[i].base_len &&
                strncmp(c[j].info.label, c[i].info.label, c[i].base_len + 2) == 0) {
                a[m++] = c[j].id;
                c[j].done = true;
            }
        char base[1024];
        snprintf(base, sizeof base, "%.*s", (int)c[i].base_len, c[i].info.label);
        fm_rep_sweep(d, store, base, a, m);
    }
    for (size_t i = 0; i < n && d->status == FM_REPORT_OK; i++)
        if (c[i].selected && !c[i].done)
            fm_rep_campaign(d, store, c[i].id);
out:
    free(a);
    free(b);
}

fm_report_status fm_report_write(fm_store *store, const fm_report_options *opt, FILE *out,
                                 char *err, size_t err_size)
{
    fm_rep_doc d = {.opt = opt};
    int64_t *ids = NULL;
    size_t n = 0, n_tests = 0;
    camp *c = NULL;
    fm_history_test *tests = NULL;
    bool *suite_sel = NULL;
    if (fm_store_campaign_list(store, &ids, &n) != FM_STORE_OK) {
        fm_rep_fail(&d, FM_REPORT_ESTORE, "cannot read %s: %s", opt->db, fm_store_errmsg(store));
        goto out;
    }
    if (fm_history_load(store, NULL, &tests, &n_tests) != FM_HIST_OK) {
        fm_rep_fail(&d, FM_REPORT_ESTORE, "cannot read the CI history of %s: %s", opt->db,
                    fm_store_errmsg(store));
        goto out;
    }
    c = calloc(n ? n : 1, sizeof *c);
    suite_sel = calloc(n_tests ? n_tests : 1, sizeof *suite_sel);
    if (c == NULL || suite_sel == NULL) {
        fm_rep_fail(&d, FM_REPORT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        c[i].id = ids[i];
        if (fm_store_campaign_info(store, ids[i], &c[i].info) != FM_STORE_OK) {
            fm_rep_fail(&d, FM_REPORT_ESTORE, "cannot read %s: %s", opt->db,
                        fm_store_errmsg(store));
            goto out;
        }
        size_t al;
        const char *rest;
        c[i].k = bench_kind(c[i].info.label, &al, &rest);
        c[i].base_len = sweep_base(c[i].info.label);
    }
    /* A base shared by at least two campaigns is a sweep. */
    for (size_t i = 0; i < n; i++) {
        if (c[i].k != K_PLAIN || c[i].base_len == 0)
            continue;
        for (size_t j = 0; j < n; j++)
            if (j != i && c[j].base_len == c[i].base_len &&
                strncmp(c[j].info.label, c[i].info.label, c[i].base_len + 2) == 0)
                c[i].k = K_SWEEP;
    }
    if (!select_all(&d, c, n, tests, n_tests, suite_sel))
        goto out;
    size_t n_sel = 0, n_suites = 0;
    for (size_t i = 0; i < n; i++)
        n_sel += c[i].selected;
    for (size_t i = 0; i < n_tests; i++)
        n_suites += suite_sel[i] && (i == 0 || strcmp(tests[i].label, tests[i - 1].label) != 0);
    if (n_sel == 0 && n_suites == 0) {
        fm_rep_fail(&d, FM_REPORT_ENODATA, "%s holds no campaign and no CI history", opt->db);
        goto out;
    }
    page_begin(&d, n_sel, n_suites);
    sections(&d, store, c, n);
    for (size_t i = 0; i < n_tests && d.status == FM_REPORT_OK; i++)
        if (suite_sel[i] && (i == 0 || strcmp(tests[i].label, tests[i - 1].label) != 0))
            fm_rep_history(&d, store, tests[i].label);
    page_end(&d);
    if (d.out.oom)
        fm_rep_fail(&d, FM_REPORT_ENOMEM, "out of memory");
    if (d.status == FM_REPORT_OK && fwrite(d.out.p, 1, d.out.len, out) != d.out.len)
        fm_rep_fail(&d, FM_REPORT_EIO, "cannot write the report");
out:
    if (d.status != FM_REPORT_OK)
        snprintf(err, err_size, "%s", *d.err ? d.err : fm_report_strerror(d.status));
    fm_rep_buf_free(&d.out);
    fm_history_free(tests, n_tests);
    free(ids);
    free(c);
    free(suite_sel);
    return d.status;
}

fm_report_status fm_report_picture_write(fm_store *store, fm_report_picture what, const char *label,
                                         const fm_report_options *opt, FILE *out, char *err,
                                         size_t err_size)
{
    fm_rep_buf svg = {0};
    fm_report_status st;
    if (what == FM_REPORT_PIC_TESTS) {
        st = fm_rep_tests_picture(store, label, opt, &svg, err, err_size);
    } else {
        int64_t id;
        fm_campaign_info info;
        fm_store_status ss = label ? fm_store_find_campaign(store, label, &id, &info)
                                   : fm_store_last_campaign(store, &id, &info);
        if (ss == FM_STORE_ENOENT) {
            snprintf(err, err_size, "no campaign to draw");
            return FM_REPORT_EINVAL;
        }
        if (ss != FM_STORE_OK) {
            snprintf(err, err_size, "cannot read %s: %s", opt->db, fm_store_errmsg(store));
            return FM_REPORT_ESTORE;
        }
        st = fm_rep_campaign_picture(store, id, what, opt, &svg, err, err_size);
    }
    if (st == FM_REPORT_OK && (fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out) < 0 ||
                               fwrite(svg.p, 1, svg.len, out) != svg.len)) {
        snprintf(err, err_size, "cannot write the picture");
        st = FM_REPORT_EIO;
    }
    fm_rep_buf_free(&svg);
    return st;
}
