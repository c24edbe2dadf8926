/*
 * cli_store.c - opening the results store for a subcommand, with the one error line and exit
 * status every command gives for it: no store (2), not a store or a newer schema (2, the file
 * untouched), an I/O failure (1).
 */
#include "fm_cli.h"
#include "fm_store.h"

int fm_cli_open_store(const char *path, bool create, struct fm_store **out)
{
    fm_store_status st = fm_store_open(path, create, out);
    if (st == FM_STORE_OK)
        return 0;
    if (st == FM_STORE_ENOENT)
        return fm_cli_usage_error("--db: no store at '%s'", path);
    if (st == FM_STORE_EIO || st == FM_STORE_ENOMEM)
        return fm_cli_fail("--db: cannot open '%s': %s", path, fm_store_errmsg(NULL));
    return fm_cli_usage_error("--db: '%s': %s", path, fm_store_errmsg(NULL));
}
