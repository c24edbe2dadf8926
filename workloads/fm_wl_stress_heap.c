/*
 * fm_wl_stress_heap.c - port of MicroPython's tests/thread/stress_heap.py.
 *
 * Upstream, 10 threads each fill a 256-byte buffer, then 10000 times allocate a small list
 * (8 slots, the last one i + 1) and add the previous list's last slot to a sum; at the end each
 * checks the buffer is intact and reports `49995000 10000` (the sum of 0..9999 and the last
 * slot).  The port allocates each list with malloc and frees the one it replaces, so threads
 * contend in the C allocator as the interpreter's threads do in its heap.
 *
 * Invariant checked: per thread, sum == iters (iters - 1) / 2, last == iters, buffer unchanged.
 * The buffer holds 0, 1, ..., 255 for seed 0 (as upstream) and seeded bytes otherwise.
 * Workers are joined; the main thread only waits, as upstream.
 */
#include "fm_wl_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct fm_wl_param params[] = {
    {"threads", FM_WL_INT, 10, 1, 1000, NULL, "allocating threads"},
    {"iters", FM_WL_INT, 10000, 1, 100000000, NULL, "allocations per thread"},
    {"slots", FM_WL_INT, 8, 1, 4096, NULL, "words per allocated list"},
    {"data", FM_WL_INT, 256, 1, 1 << 20, NULL, "bytes of the buffer that must stay intact"},
};

struct heap_worker {
    long index, iters;
    size_t slots, data_len;
    uint64_t seed;
    int status;
    char reason[FM_WL_REASON_MAX];
};

static void fill_data(uint8_t *data, size_t n, uint64_t seed)
{
    if (seed != 0)
        fm_wl_fill(data, n, seed, 7);
    else
        for (size_t i = 0; i < n; i++)
            data[i] = (uint8_t)i;
}

/* The allocation loop; returns the last list (caller frees) or NULL when out of memory. */
static uint64_t *alloc_loop(struct heap_worker *w, uint64_t *sum)
{
    uint64_t *lst = calloc(w->slots, sizeof *lst);
    for (long i = 0; i < w->iters && lst; i++) {
        *sum += lst[w->slots - 1];
        uint64_t *next = calloc(w->slots, sizeof *next);
        free(lst);
        lst = next;
        if (lst)
            lst[w->slots - 1] = (uint64_t)i + 1;
    }
    return lst;
}

static void *heap_thread(void *arg)
{
    struct heap_worker *w = arg;
    uint8_t *data = malloc(w->data_len), *expect = malloc(w->data_len);
    uint64_t sum = 0, *lst = NULL;
    uint64_t want = (uint64_t)w->iters * (uint64_t)(w->iters - 1) / 2;
    if (data == NULL || expect == NULL)
        goto nomem;
    fill_data(data, w->data_len, w->seed);
    lst = alloc_loop(w, &sum);
    if (lst == NULL)
        goto nomem;
    fill_data(expect, w->data_len, w->seed);
    if (memcmp(data, expect, w->data_len) != 0)
        snprintf(w->reason, sizeof w->reason, "thread %ld: buffer changed", w->index);
    else if (sum != want || lst[w->slots - 1] != (uint64_t)w->iters)
        snprintf(w->reason, sizeof w->reason, "thread %ld: got %llu %llu, expected %llu %ld",
                 w->index, (unsigned long long)sum, (unsigned long long)lst[w->slots - 1],
                 (unsigned long long)want, w->iters);
    goto out;
nomem:
    w->status = FM_WL_ENOMEM;
out:
    free(lst);
    free(expect);
    free(data);
    return NULL;
}

static int stress_heap_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    long n = fm_wl_int(args, "threads"), started = 0;
    struct heap_worker *w = calloc((size_t)n, sizeof *w);
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    int status = (w && tids) ? FM_WL_OK : FM_WL_ENOMEM;
    for (; status == FM_WL_OK && started < n; started++) {
        w[started] = (struct heap_worker){
            .index = started,
            .iters = fm_wl_int(args, "iters"),
            .slots = (size_t)fm_wl_int(args, "slots"),
            .data_len = (size_t)fm_wl_int(args, "data"),
            .seed = args->seed,
        };
        if (pthread_create(&tids[started], NULL, heap_thread, &w[started]) != 0) {
            fm_wl_fail(res, "cannot create thread %ld", started);
            break;
        }
    }
    for (long i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        if (w[i].status != FM_WL_OK)
            status = w[i].status;
        else if (w[i].reason[0] && res->passed)
            fm_wl_fail(res, "%s", w[i].reason);
        else
            res->work += (uint64_t)w[i].iters;
    }
    free(tids);
    free(w);
    return status;
}

const struct fm_wl_desc fm_wl_stress_heap_desc = {
    .name = "stress_heap",
    .summary = "threads allocate and free small lists, then check sums and a buffer",
    .upstream = "tests/thread/stress_heap.py",
    .unit = "allocations",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_NONE,
    .run = stress_heap_run,
};
