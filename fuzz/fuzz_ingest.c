/*
 * fuzz_ingest.c - ingest (history/fm_ingest.c) of arbitrary bytes into a real store: the parse,
 * the staging table and the transaction.  A rejected file must leave no rows behind.
 * The store is a scratch file, replaced every 5000 inputs so it does not grow without bound.
 */
#include "fm_ingest.h"
#include "fm_store.h"
#include "fuzz_util.h"

#include <assert.h>
#include <stdio.h>

static fm_store *store;
static char path[64];
static unsigned uses;

static void reopen(void)
{
    if (store != NULL)
        fm_store_close(store);
    store = NULL;
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/fm-fuzz-ingest-%d.db", (int)getpid());
    }
    unlink(path);
    if (fm_store_open(path, true, &store) != FM_STORE_OK)
        abort();
    uses = 0;
}

static void cleanup(void)
{
    if (store != NULL)
        fm_store_close(store);
    unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    reopen();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (++uses > 5000)
        reopen();
    int fd = fuzz_memfd(data, size);
    if (fd < 0)
        return 0;
    fm_ingest_options opt = {.label = "fuzz", .now_ns = 1};
    fm_ingest_result res;
    fm_hist_status st = fm_ingest_fd(store, fd, "fuzz.xml", &opt, &res); /* closes fd */
    assert(st == FM_HIST_OK);
    assert(strchr(res.error, '\n') == NULL);
    return 0;
}
