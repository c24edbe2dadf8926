/*
 * cmd_merge.c - `flakemeter merge`: combine stores (the shards of one campaign, or campaigns of
 * several machines) into one, without counting a run twice.
 *
 * All the work is fm_store_merge (store/fm_store_merge.c): campaigns matched by label, runs
 * by (campaign, run_index, attempt), the output written all or nothing.  This file parses
 * and maps statuses: anything wrong with the inputs (missing, not a store, newer schema, a
 * conflicting label) is bad input, exit 2; an I/O failure is exit 1.
 */
#include "fm_cli.h"
#include "fm_store.h"

#include <string.h>

#include <stdio.h>

static const char help[] =
    "usage: flakemeter merge -o OUT.db INPUT.db [INPUT.db ...]\n"
    "\n"
    "Merge the campaigns and runs of the input stores into OUT.db (created if missing).\n"
    "Campaigns are matched by label and must have the same kind, command and parameters;\n"
    "a run (run index, attempt) already in OUT.db is not added again, so merging the shards\n"
    "of `flakemeter run --shard I/N` gives the unsharded campaign, and merging twice adds\n"
    "nothing.  OUT.db is written all or nothing: on any error it is left as it was.\n";

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    const struct fm_opt options[] = {
        FM_OPT_STRING('o', "output", &out, "OUT.db", "the store to merge into (required)"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_OPERANDS);
    if (rc >= 0)
        return rc;
    if (out == NULL)
        return fm_cli_usage_error("-o OUT.db is required (see 'flakemeter merge --help')");
    if (optind >= argc)
        return fm_cli_usage_error("no input store given (see 'flakemeter merge --help')");
    for (int i = optind - 1; i < argc; i++)
        if (fm_cli_is_stdio(i < optind ? out : argv[i]))
            return fm_cli_usage_error("'-': a store is an SQLite file, not standard input or "
                                      "output; give a PATH");
    char err[1024];
    fm_store_status st =
        fm_store_merge(out, (const char *const *)argv + optind, argc - optind, err, sizeof err);
    return st == FM_STORE_OK ? FM_EXIT_OK : fm_cli_merge_failed(st, err);
}
