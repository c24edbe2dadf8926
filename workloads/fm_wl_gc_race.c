/*
 * fm_wl_gc_race.c - a workload modelled on MicroPython's tests/thread/thread_gc1.py.
 *
 * Upstream, 4 threads each fill a 256-byte buffer, then 10 times copy it onto itself byte by
 * byte and run a garbage collection; at the end each checks its buffer is intact.  It is
 * flaky in CI ("GC race condition", about 1.3% of executions) because a collection in one
 * thread scans memory other threads are changing.
 *
 * The model keeps the shape and adds the synchronisation that makes it correct.  A collector
 * thread (Redis bio.c shape: one mutex, a condition for requests and one for completions,
 * joined at shutdown) scans every registered buffer and checks each against its expected
 * contents.  A worker rewrites its buffer in place through a transient value (each byte goes
 * to its complement and back in two passes), so a scan that overlapped a rewrite would see
 * torn data; both the rewrite and the scan hold the heap lock, which is what excludes that.
 * Then the worker requests a collection and waits until one that started after its request
 * has completed, like gc.collect().  A failure names the buffer and byte the scan or the final
 * check saw.  Buffer contents: 0..255 for seed 0 (as upstream), seeded bytes otherwise.
 */
#include "fm_wl_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct fm_wl_param params[] = {
    {"threads", FM_WL_INT, 4, 1, 256, NULL, "mutator threads"},
    {"loops", FM_WL_INT, 10, 1, 1000000, NULL, "rewrite-and-collect rounds per thread"},
    {"size", FM_WL_INT, 256, 1, 1 << 20, NULL, "bytes per buffer"},
};

struct gc_state {
    pthread_mutex_t heap_lock; /* held by a rewrite and by a scan */
    uint8_t **bufs;            /* bufs[t]: thread t's buffer */
    uint8_t *expect;           /* what every buffer holds between rewrites */
    size_t n_bufs, size;

    pthread_mutex_t lock; /* the collector's queue: fields below */
    pthread_cond_t request_cond, done_cond;
    uint64_t requested, completed, scans;
    int shutdown;
    char reason[FM_WL_REASON_MAX]; /* first torn buffer seen */
};

struct gc_worker {
    struct gc_state *gc;
    size_t index;
    long loops;
};

/* Check every buffer under the heap lock; record the first mismatch. */
static void gc_scan(struct gc_state *gc)
{
    char reason[FM_WL_REASON_MAX] = "";
    pthread_mutex_lock(&gc->heap_lock);
    for (size_t t = 0; t < gc->n_bufs && !reason[0]; t++)
        for (size_t i = 0; i < gc->size && !reason[0]; i++)
            if (gc->bufs[t][i] != gc->expect[i])
                snprintf(reason, sizeof reason, "collector saw buffer %zu byte %zu = 0x%02x", t, i,
                         gc->bufs[t][i]);
    pthread_mutex_unlock(&gc->heap_lock);
    pthread_mutex_lock(&gc->lock);
    if (reason[0] && !gc->reason[0])
        memcpy(gc->reason, reason, sizeof reason);
    pthread_mutex_unlock(&gc->lock);
}

static void *collector(void *arg)
{
    struct gc_state *gc = arg;
    pthread_mutex_lock(&gc->lock);
    for (;;) {
        while (gc->completed == gc->requested && !gc->shutdown)
            pthread_cond_wait(&gc->request_cond, &gc->lock);
        if (gc->completed == gc->requested)
            break; /* shutdown with nothing pending */
        uint64_t target = gc->requested;
        pthread_mutex_unlock(&gc->lock);
        gc_scan(gc);
        pthread_mutex_lock(&gc->lock);
        gc->completed = target;
        gc->scans++;
        pthread_cond_broadcast(&gc->done_cond);
    }
    pthread_mutex_unlock(&gc->lock);
    return NULL;
}

/* gc.collect(): request a collection and wait for one that covers the request. */
static void gc_collect(struct gc_state *gc)
{
    pthread_mutex_lock(&gc->lock);
    uint64_t ticket = ++gc->requested;
    pthread_cond_signal(&gc->request_cond);
    while (gc->completed < ticket)
        pthread_cond_wait(&gc->done_cond, &gc->lock);
    pthread_mutex_unlock(&gc->lock);
}

/* Copy the buffer onto itself through its complement, under the heap lock. */
static void rewrite(struct gc_state *gc, uint8_t *buf)
{
    pthread_mutex_lock(&gc->heap_lock);
    for (size_t i = 0; i < gc->size; i++)
        buf[i] = (uint8_t)~buf[i];
    for (size_t i = 0; i < gc->size; i++)
        buf[i] = (uint8_t)~buf[i];
    pthread_mutex_unlock(&gc->heap_lock);
}

static void *gc_worker_thread(void *arg)
{
    struct gc_worker *w = arg;
    for (long i = 0; i < w->loops; i++) {
        rewrite(w->gc, w->gc->bufs[w->index]);
        gc_collect(w->gc);
    }
    return NULL;
}

static int gc_alloc(struct gc_state *gc, size_t n, size_t size, uint64_t seed)
{
    gc->n_bufs = n;
    gc->size = size;
    gc->bufs = calloc(n, sizeof *gc->bufs);
    gc->expect = malloc(size);
    if (gc->bufs == NULL || gc->expect == NULL)
        return FM_WL_ENOMEM;
    if (seed)
        fm_wl_fill(gc->expect, size, seed, 11);
    else
        for (size_t i = 0; i < size; i++)
            gc->expect[i] = (uint8_t)i;
    for (size_t t = 0; t < n; t++) {
        gc->bufs[t] = malloc(size);
        if (gc->bufs[t] == NULL)
            return FM_WL_ENOMEM;
        memcpy(gc->bufs[t], gc->expect, size);
    }
    return FM_WL_OK;
}

static void gc_free(struct gc_state *gc)
{
    for (size_t t = 0; gc->bufs && t < gc->n_bufs; t++)
        free(gc->bufs[t]);
    free(gc->bufs);
    free(gc->expect);
}

/* The final check of upstream: every thread's buffer is intact. */
static void gc_check_final(struct gc_state *gc, struct fm_wl_result *res)
{
    for (size_t t = 0; t < gc->n_bufs && res->passed; t++)
        if (memcmp(gc->bufs[t], gc->expect, gc->size) != 0)
            fm_wl_fail(res, "thread %zu: buffer not intact at the end", t);
}

static int gc_race_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    long n = fm_wl_int(args, "threads"), started = 0;
    struct gc_state gc = {.bufs = NULL};
    struct gc_worker *w = calloc((size_t)n, sizeof *w);
    pthread_t *tids = calloc((size_t)n, sizeof *tids), ctid;
    int status = (w && tids) ? gc_alloc(&gc, (size_t)n, (size_t)fm_wl_int(args, "size"), args->seed)
                             : FM_WL_ENOMEM;
    pthread_mutex_init(&gc.heap_lock, NULL);
    pthread_mutex_init(&gc.lock, NULL);
    pthread_cond_init(&gc.request_cond, NULL);
    pthread_cond_init(&gc.done_cond, NULL);
    if (status != FM_WL_OK)
        goto out;
    if (pthread_create(&ctid, NULL, collector, &gc) != 0) {
        fm_wl_fail(res, "cannot create the collector thread");
        goto out;
    }
    for (; started < n; started++) {
        w[started] = (struct gc_worker){&gc, (size_t)started, fm_wl_int(args, "loops")};
        if (pthread_create(&tids[started], NULL, gc_worker_thread, &w[started]) != 0) {
            fm_wl_fail(res, "cannot create thread %ld", started);
            break;
        }
    }
    for (long i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_lock(&gc.lock);
    gc.shutdown = 1;
    pthread_cond_signal(&gc.request_cond);
    pthread_mutex_unlock(&gc.lock);
    pthread_join(ctid, NULL);

    res->work = gc.scans;
    if (res->passed && gc.reason[0])
        fm_wl_fail(res, "%s", gc.reason);
    if (res->passed)
        gc_check_final(&gc, res);
out:
    pthread_cond_destroy(&gc.done_cond);
    pthread_cond_destroy(&gc.request_cond);
    pthread_mutex_destroy(&gc.lock);
    pthread_mutex_destroy(&gc.heap_lock);
    gc_free(&gc);
    free(tids);
    free(w);
    return status;
}

const struct fm_wl_desc fm_wl_gc_race_desc = {
    .name = "gc_race",
    .summary = "threads rewrite buffers while a collector thread scans them, synchronised",
    .upstream = "tests/thread/thread_gc1.py (modelled)",
    .unit = "scans",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_NONE,
    .run = gc_race_run,
};
