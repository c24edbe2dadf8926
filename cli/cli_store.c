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

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fm_cli_open_store(const char *path, bool create, struct fm_store **out)
{
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

int fm_cli_merge_failed(int status, const char *err)
{
    switch ((fm_store_status)status) {
    case FM_STORE_EIO:
    case FM_STORE_ENOMEM:
        return fm_cli_fail("%s", err);
    default: /* a damaged store is the environment's failure (above), not bad input */
        return strstr(err, "a damaged store") != NULL ? fm_cli_fail("%s", err)
                                                      : fm_cli_usage_error("%s", err);
    }
}

static int add_path(fm_cli_stores *s, const char *path)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        char **v = realloc(s->paths, cap * sizeof *v);
        if (v == NULL)
            return fm_cli_fail("out of memory");
        s->paths = v, s->cap = cap;
    }
    if ((s->paths[s->n] = strdup(path)) == NULL)
        return fm_cli_fail("out of memory");
    s->n++;
    return 0;
}

int fm_cli_parse_db(void *value, const char *text, const char *name)
{
    fm_cli_stores *s = value;
    if (fm_cli_is_stdio(text))
        return fm_cli_usage_error("%s: a store is an SQLite file, not standard input or output; "
                                  "give a PATH",
                                  name);
    if (strpbrk(text, "*?[") == NULL)
        return add_path(s, text);
    glob_t g;
    int rc = glob(text, GLOB_ERR, NULL, &g);
    if (rc == GLOB_NOMATCH && access(text, F_OK) == 0) /* a file whose name has a '*' */
        return add_path(s, text);
    if (rc == GLOB_NOMATCH)
        return fm_cli_usage_error("%s '%s': no store matches", name, text);
    if (rc != 0)
        return fm_cli_fail("%s '%s': cannot list the files it matches", name, text);
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
        rc = add_path(s, g.gl_pathv[i]);
    globfree(&g);
    return rc;
}

int fm_cli_open_stores(fm_cli_stores *s, struct fm_store **out)
{
    int rc = 0;
    if (s->n == 0 && (rc = add_path(s, "flakemeter.db")) != 0)
        return rc;
    if (s->n == 1)
        snprintf(s->display, sizeof s->display, "%s", s->paths[0]);
    else
        snprintf(s->display, sizeof s->display, "%s and %zu more", s->paths[0], s->n - 1);
    if (s->n == 1)
        return fm_cli_open_store(s->paths[0], false, out);
    /* Each must be a store before merging, so a typo is named as one (fm_cli_open_store). */
    for (size_t i = 0; i < s->n; i++) {
        fm_store *one = NULL;
        if ((rc = fm_cli_open_store(s->paths[i], false, &one)) != 0)
            return rc;
        fm_store_close(one);
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(s->tmpdir, sizeof s->tmpdir, "%s/flakemeter-stores.XXXXXX",
             tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    if (mkdtemp(s->tmpdir) == NULL) {
        rc = fm_cli_fail("cannot make a temporary folder in %s to read %zu stores as one: %s",
                         tmp != NULL && tmp[0] == '/' ? tmp : "/tmp", s->n, strerror(errno));
        s->tmpdir[0] = '\0';
        return rc;
    }
    char merged[4200], err[1024];
    snprintf(merged, sizeof merged, "%s/all.db", s->tmpdir);
    fm_store_status st =
        fm_store_merge(merged, (const char *const *)s->paths, (int)s->n, err, sizeof err);
    if (st != FM_STORE_OK)
        return fm_cli_merge_failed(st, err);
    return fm_cli_open_store(merged, false, out);
}

void fm_cli_close_stores(fm_cli_stores *s, struct fm_store *store)
{
    if (store != NULL)
        fm_store_close(store);
    if (s->tmpdir[0] != '\0') {
        static const char *const files[] = {"all.db", "all.db-wal", "all.db-shm", "all.db-journal"};
        char path[4200];
        for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
            snprintf(path, sizeof path, "%s/%s", s->tmpdir, files[i]);
            unlink(path);
        }
        rmdir(s->tmpdir);
        s->tmpdir[0] = '\0';
    }
    for (size_t i = 0; i < s->n; i++)
        free(s->paths[i]);
    free(s->paths);
    s->paths = NULL;
    s->n = s->cap = 0;
}
