/*
 * fuzz_store_open.c - an arbitrary file opened as a store (store/fm_store.c) and, when it opens,
 * read the way `export` reads it (runs and CI history, every format).  The file is never
 * created or upgraded by the harness: fm_store_open(create = false).
 */
#include "fm_store.h"
#include "fuzz_util.h"

#include <stdio.h>

static char path[64];
static FILE *sink;

static void cleanup(void)
{
    unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/fm-fuzz-store-%d.db", (int)getpid());
    sink = fopen("/dev/null", "w");
    atexit(cleanup);
    return sink != NULL ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    /* SQLite's side files of the previous input must not leak into this one. */
    char side[80];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-journal", path);
    unlink(side);
    fm_store *s = NULL;
    if (fm_store_open(path, false, &s) == FM_STORE_OK) {
        for (int fmt = FM_EXPORT_JSON; fmt <= FM_EXPORT_JUNIT; fmt++)
            fm_store_export(s, NULL, (fm_export_format)fmt, sink);
        for (int fmt = FM_EXPORT_JSON; fmt <= FM_EXPORT_CSV; fmt++)
            fm_store_export_history(s, NULL, (fm_export_format)fmt, sink);
        fm_store_close(s);
    }
    return 0;
}
