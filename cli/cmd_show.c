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
    "\n"
    "The verdict of a campaign in the store (default: the most recent one), or with --list\n"
    "every campaign: arch, conditions, runs, failures and the failure probability with its\n"
    "exact interval (first attempts; start errors left out).\n";

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
    const char *db = "flakemeter.db", *label = NULL;
    double target = 1e-6, conf = 0.95;
    bool json = false, list = false;
    const struct fm_opt options[] = {
        FM_OPT_BOOL(0, "list", &list, "one line per campaign (JSON: an array of objects)"),
        FM_OPT_STRING(0, "db", &db, "PATH", "the store (default flakemeter.db)"),
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
    if (rc >= 0)
        return rc;
    fm_store *store = NULL;
    if ((rc = fm_cli_open_store(db, false, &store)) != 0)
        return rc;
    if (list && label != NULL)
        rc = fm_cli_usage_error("--list lists every campaign: give no LABEL with it");
    else
        rc = list ? show_list(store, db, conf, json) : show(store, db, label, target, conf, json);
    fm_store_close(store);
    return rc;
}
