/*
 * cmd_show.c - `flakemeter show`: the verdict of a stored campaign.
 */
#include "cli_verdict.h"
#include "fm_cli.h"

#include <stdio.h>

static const char help[] =
    "usage: flakemeter show [--db PATH] [--target T] [--confidence C] [--json] [LABEL]\n"
    "\n"
    "The verdict of a campaign in the store (default: the most recent one).\n"
    "\n"
    "      --db PATH           the store (default flakemeter.db)\n"
    "  -t, --target T          all-fail probability for the retry count (default 1e-6)\n"
    "  -c, --confidence C      confidence level (default 0.95)\n"
    "      --json              print the verdict as one JSON object\n"
    "  -h, --help              show this help\n";

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

int cmd_show(int argc, char **argv)
{
    const char *db = "flakemeter.db", *label = NULL;
    double target = 1e-6, conf = 0.95;
    bool json = false;
    const struct fm_opt options[] = {
        FM_OPT_STRING(0, "db", &db),
        FM_OPT_REAL('t', "target", &target, 0, 1, FM_OPT_OPEN),
        FM_OPT_REAL('c', "confidence", &conf, 0, 1, FM_OPT_OPEN),
        FM_OPT_BOOL(0, "json", &json),
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
    rc = show(store, db, label, target, conf, json);
    fm_store_close(store);
    return rc;
}
