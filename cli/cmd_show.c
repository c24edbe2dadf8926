/*
 * cmd_show.c - `flakemeter show`: the verdict of a stored campaign, or (--list) one line per
 * campaign: its first-attempt failures with the exact interval, as the verdict counts them.
 */
#include "cli_verdict.h"
#include "fm_cli.h"
#include "fm_cond.h"
#include "fm_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: flakemeter show [--db PATH] [--target T] [--confidence C] [--json] [LABEL]\n"
    "       flakemeter show --list [--db PATH] [--confidence C] [--json]\n"
    "       flakemeter show --failures [--db PATH] [--json] [LABEL]\n"
    "\n"
    "The verdict of a campaign in the store (default: the most recent one), or with --list\n"
    "every campaign: arch, conditions, runs, failures and the failure probability with its\n"
    "exact interval (first attempts; start errors left out), or with --failures the output\n"
    "tails kept of the first failing attempts of each cause.  One campaign at a time: runs of\n"
    "different campaigns are never pooled.\n";

static int show(fm_store *store, const char *db, const char *label, double target, double conf,
                bool json)
{
    int64_t id;
    fm_campaign_info info;
    fm_store_status st = label ? fm_store_find_campaign(store, label, &id, &info)
                               : fm_store_last_campaign(store, &id, &info);
    if (st == FM_STORE_ENOENT)
        return label ? fm_cli_usage_error("no campaign '%s' in %s", label, db)
                     : fm_cli_usage_error("%s holds no campaign", db);
    fm_verdict v;
    if (st == FM_STORE_OK)
        st = fm_verdict_compute(store, id, target, conf, &v);
    if (st != FM_STORE_OK)
        return fm_cli_fail("cannot read %s: %s", db, fm_store_errmsg(store));
    fm_verdict_context ctx = {.label = info.label, .db = db, .conditions = info.conditions};
    if (json)
        return fm_cli_print_json(fm_cli_verdict_json(&v, &ctx));
    fm_cli_verdict_print(&v, &ctx);
    return FM_EXIT_OK;
}

/* Output as text on a terminal: printable bytes, newlines and tabs; others as \xNN. */
static void print_tail(const char *p, size_t n)
{
    fputs("    | ", stdout);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n')
            fputs(i + 1 < n ? "\n    | " : "", stdout);
        else if (c == '\t' || (c >= 0x20 && c != 0x7f))
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('\n');
}

static int print_evidence_text(const fm_store_evidence *ev, void *ctx)
{
    (void)ctx;
    const char *what = fm_outcome_name(ev->cause.outcome);
    printf("run %lld attempt %u: %s", (long long)ev->run_index, ev->attempt, what);
    if (ev->cause.has_code)
        printf(ev->cause.outcome == FM_OUTCOME_FAIL || ev->cause.outcome == FM_OUTCOME_ERROR
                   ? ", exit code %d"
                   : ", signal %d",
               ev->cause.code);
    if ((size_t)ev->output_bytes > ev->tail_len)
        printf(" (last %zu of %lld bytes of output)\n", ev->tail_len, (long long)ev->output_bytes);
    else
        printf(" (%zu bytes of output)\n", ev->tail_len);
    if (ev->tail_len > 0)
        print_tail(ev->tail, ev->tail_len);
    return 0;
}

static int add_evidence_json(const fm_store_evidence *ev, void *ctx)
{
    json_t *e = json_object();
    bool exit = ev->cause.outcome == FM_OUTCOME_FAIL || ev->cause.outcome == FM_OUTCOME_ERROR;
    json_object_set_new(e, "run_index", json_integer(ev->run_index));
    json_object_set_new(e, "attempt", json_integer(ev->attempt));
    json_object_set_new(e, "outcome", json_string(fm_outcome_name(ev->cause.outcome)));
    json_object_set_new(e, "exit_code",
                        ev->cause.has_code && exit ? json_integer(ev->cause.code) : json_null());
    json_object_set_new(e, "signal",
                        ev->cause.has_code && !exit ? json_integer(ev->cause.code) : json_null());
    json_object_set_new(e, "output_bytes", json_integer(ev->output_bytes));
    /* Not valid UTF-8 (binary output, a tail cut in a character): the bytes as \u00NN each. */
    json_t *tail = json_stringn(ev->tail, ev->tail_len);
    if (tail == NULL) {
        char *lat = malloc(ev->tail_len * 2 + 1);
        size_t k = 0;
        for (size_t i = 0; lat != NULL && i < ev->tail_len; i++) {
            unsigned char c = (unsigned char)ev->tail[i];
            if (c < 0x80)
                lat[k++] = (char)c;
            else
                lat[k++] = (char)(0xc0 | c >> 6), lat[k++] = (char)(0x80 | (c & 0x3f));
        }
        tail = lat != NULL ? json_stringn(lat, k) : json_null();
        free(lat);
    }
    json_object_set_new(e, "tail", tail);
    json_array_append_new(ctx, e);
    return 0;
}

static int show_failures(fm_store *store, const char *db, const char *label, bool json)
{
    int64_t id;
    fm_campaign_info info;
    fm_store_status st = label ? fm_store_find_campaign(store, label, &id, &info)
                               : fm_store_last_campaign(store, &id, &info);
    if (st == FM_STORE_ENOENT)
        return label ? fm_cli_usage_error("no campaign '%s' in %s", label, db)
                     : fm_cli_usage_error("%s holds no campaign", db);
    if (st != FM_STORE_OK)
        return fm_cli_fail("cannot read %s: %s", db, fm_store_errmsg(store));
    if (json) {
        json_t *arr = json_array();
        st = fm_store_evidence_each(store, id, add_evidence_json, arr);
        if (st != FM_STORE_OK) {
            json_decref(arr);
            return fm_cli_fail("cannot read %s: %s", db, fm_store_errmsg(store));
        }
        json_t *o = json_object();
        json_object_set_new(o, "label", json_string(info.label));
        json_object_set_new(o, "failures", arr);
        return fm_cli_print_json(o);
    }
    char shown[1024];
    printf("%s: output of the first failing attempts of each cause (at most %d each, the last "
           "%d bytes)\n",
           fm_cli_esc(info.label, shown, sizeof shown), FM_STORE_EVIDENCE_PER_CAUSE,
           FM_STORE_EVIDENCE_BYTES);
    st = fm_store_evidence_each(store, id, print_evidence_text, NULL);
    if (st != FM_STORE_OK)
        return fm_cli_fail("cannot read %s: %s", db, fm_store_errmsg(store));
    return FM_EXIT_OK;
}

typedef fm_verdict_row list_row;

static void format_created(int64_t ns, char *buf, size_t size)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    buf[0] = '\0';
    if (ns > 0 && gmtime_r(&t, &tm) != NULL)
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int print_list_json(const list_row *rows, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const list_row *r = &rows[i];
        json_t *o = json_object(), *cond = json_loads(r->info.conditions, 0, NULL);
        json_object_set_new(o, "label", json_string(r->info.label));
        json_object_set_new(o, "kind", json_string(r->info.kind));
        json_object_set_new(o, "arch", json_string(r->info.arch));
        char created[24];
        format_created(r->info.created_ns, created, sizeof created);
        json_object_set_new(o, "created", *created ? json_string(created) : json_null());
        json_object_set_new(o, "conditions", json_is_object(cond) ? cond : json_object());
        if (!json_is_object(cond))
            json_decref(cond);
        json_object_set_new(o, "runs", json_integer((json_int_t)r->runs));
        json_object_set_new(o, "failures", json_integer((json_int_t)r->failures));
        json_object_set_new(o, "estimate", fm_cli_json_real(r->ci.estimate));
        json_object_set_new(o, "lower", fm_cli_json_real(r->ci.lower));
        json_object_set_new(o, "upper", fm_cli_json_real(r->ci.upper));
        json_array_append_new(arr, o);
    }
    return fm_cli_print_json(arr);
}

static void print_list_text(const list_row *rows, size_t n, const char *db, double conf)
{
    int wl = 5, wa = 4, wc = 10; /* column widths: the longest entry, at least the header */
    char cond[256];
    for (size_t i = 0; i < n; i++) {
        wl = (int)fmax(wl, (double)fm_cli_escape(rows[i].info.label, NULL, 0));
        wa = (int)fmax(wa, (double)strlen(rows[i].info.arch));
        fm_cond_describe_json(rows[i].info.conditions, cond, sizeof cond);
        wc = (int)fmax(wc, (double)strlen(cond));
    }
    printf("%zu campaign%s in %s\n", n, n == 1 ? "" : "s", db);
    printf("%-*s  %-20s  %-*s  %-*s %8s %8s  failure probability (%.10g%% exact CI)\n", wl, "label",
           "created (UTC)", wa, "arch", wc, "conditions", "runs", "failures", conf * 100);
    for (size_t i = 0; i < n; i++) {
        const list_row *r = &rows[i];
        char p[3][32], prob[128] = "-", created[24], label[1024];
        fm_cond_describe_json(r->info.conditions, cond, sizeof cond);
        format_created(r->info.created_ns, created, sizeof created);
        if (r->runs > 0) {
            double v[3] = {r->ci.estimate, r->ci.lower, r->ci.upper};
            fm_cli_fmt_probs(v, p, 3);
            snprintf(prob, sizeof prob, "%s (%s to %s)", p[0], p[1], p[2]);
        }
        printf("%-*s  %-20s  %-*s  %-*s %8llu %8llu  %s\n", wl,
               fm_cli_esc(r->info.label, label, sizeof label), /* control characters escaped */
               *created ? created : "-", wa, r->info.arch, wc, *cond ? cond : "-",
               (unsigned long long)r->runs, (unsigned long long)r->failures, prob);
    }
}

static int show_list(fm_store *store, const char *db, double conf, bool json)
{
    list_row *rows = NULL;
    size_t n = 0;
    fm_store_status st = fm_verdict_list(store, conf, &rows, &n);
    int rc;
    if (st != FM_STORE_OK)
        rc = fm_cli_fail("cannot read %s: %s", db, fm_store_errmsg(store));
    else if (json)
        rc = print_list_json(rows, n);
    else
        print_list_text(rows, n, db, conf), rc = FM_EXIT_OK;
    free(rows);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    const char *db, *label = NULL;
    fm_cli_stores dbs = {0};
    double target = 1e-6, conf = 0.95;
    bool json = false, list = false, failures = false;
    const struct fm_opt options[] = {
        FM_OPT_BOOL(0, "list", &list, "one line per campaign (JSON: an array of objects)"),
        FM_OPT_BOOL(0, "failures", &failures,
                    "the output tails kept of the campaign's first failing attempts"),
        FM_OPT_CALL(0, "db", &dbs, fm_cli_parse_db, "PATH",
                    "the store (default flakemeter.db); repeated, or a quoted glob: several "
                    "stores read as one"),
        FM_OPT_REAL('t', "target", &target, 0, 1, FM_OPT_OPEN, "T",
                    "all-fail probability for the retry count (default 1e-6)"),
        FM_OPT_REAL('c', "confidence", &conf, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level (default 0.95)"),
        FM_OPT_BOOL(0, "json", &json, "print the verdict as one JSON object"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_OPERANDS);
    if (rc < 0)
        rc = fm_cli_optional_operand(argc, argv, &label);
    fm_store *store = NULL;
    if (rc >= 0 || (rc = fm_cli_open_stores(&dbs, &store)) != 0) {
        fm_cli_close_stores(&dbs, NULL);
        return rc;
    }
    db = dbs.display;
    if (list && label != NULL)
        rc = fm_cli_usage_error("--list lists every campaign: give no LABEL with it");
    else if (list && failures)
        rc = fm_cli_usage_error("--failures shows one campaign: not with --list");
    else if (failures)
        rc = show_failures(store, db, label, json);
    else
        rc = list ? show_list(store, db, conf, json) : show(store, db, label, target, conf, json);
    fm_cli_close_stores(&dbs, store);
    return rc;
}
