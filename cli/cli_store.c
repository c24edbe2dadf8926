/*
 * cli_store.c - opening the results store for a subcommand, with the one error line and exit
 * status every command gives for it.
 *
 * The rule (README, "Exit statuses"): a path that does not name a flakemeter store is bad input,
 * exit 2 (no file there, not an SQLite database, another application's database, a newer
 * schema, "-"), and the file is left untouched; a flakemeter store that is damaged (SQLite
 * reports it malformed, or one of its tables is missing) or cannot be read (I/O, memory) is a
 * failure of the environment, exit 1, whether it shows at open or later while reading.
 */
#include "fm_cli.h"
#include "fm_store.h"

#include <string.h>

/*
 * A PostgreSQL URL (docs/scale.md): run, show and export take one (and merge, through
 * fm_store_merge); the commands that read the CI history or sweep keep to SQLite files.
 */
int fm_cli_open_shared_store(const char *url, bool create, struct fm_store **out)
{
    if (!fm_store_is_url(url))
        return fm_cli_open_store(url, create, out);
    fm_store_status st = fm_store_open(url, create, out);
    if (st == FM_STORE_OK)
        return 0;
    if (st == FM_STORE_EIO || st == FM_STORE_ENOMEM) /* the message names the URL, no password */
        return fm_cli_fail("--db: %s", fm_store_errmsg(NULL));
    return fm_cli_usage_error("--db: %s", fm_store_errmsg(NULL));
}

int fm_cli_open_store(const char *path, bool create, struct fm_store **out)
{
    if (fm_store_is_url(path))
        return fm_cli_usage_error("--db: a PostgreSQL store is for run, show, export and merge; "
                                  "this command needs an SQLite file");
    if (fm_cli_is_stdio(path))
        return fm_cli_usage_error("--db: a store is an SQLite file, not standard input or "
                                  "output; give a PATH");
    fm_store_status st = fm_store_open(path, create, out);
    if (st == FM_STORE_OK)
        return 0;
    if (st == FM_STORE_ENOENT)
        return fm_cli_usage_error("--db: no store at '%s'", path);
    if (st == FM_STORE_EIO || st == FM_STORE_ENOMEM)
        return fm_cli_fail("--db: cannot open '%s': %s", path, fm_store_errmsg(NULL));
    /* libfmstore says ENOTSTORE for a store missing a table too; that one is damage. */
    if (strncmp(fm_store_errmsg(NULL), "a damaged store", 15) == 0)
        return fm_cli_fail("--db: '%s': %s", path, fm_store_errmsg(NULL));
    return fm_cli_usage_error("--db: '%s': %s", path, fm_store_errmsg(NULL));
}
