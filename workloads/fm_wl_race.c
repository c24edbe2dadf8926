/*
 * fm_wl_race.c - calibration workload: a genuine, declared data race.
 *
 * `threads` threads each add 1 to one shared counter `iters` times with an unsynchronised
 * read-modify-write: read, spin `window` iterations, write the value read plus one.  When
 * two threads interleave inside that window, an update is lost and the final count falls
 * short of threads x iters; the run fails and reports how many were lost.  Whether that
 * happens depends on scheduling only (no random number is drawn): the threads start together
 * at a start line (a spin on an atomic count), and the failure rate grows with threads, iters and
 * window.
 *
 * Invariant: the count never exceeds threads x iters (each write stores a value read plus one).
 * The counter is volatile so each iteration really loads and stores it; volatile is not
 * synchronisation, and ThreadSanitizer reports the race - which is why this workload is the
 * one excluded from the ThreadSanitizer suite, by name.
 */
#include "fm_wl_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

static const struct fm_wl_param params[] = {
    {"threads", FM_WL_INT, 2, 1, 256, NULL, "threads incrementing the shared counter"},
    {"iters", FM_WL_INT, 1000, 1, 1000000000, NULL, "increments per thread"},
    {"window", FM_WL_INT, 100, 0, 1000000, NULL, "spin iterations between the read and the write"},
};

struct race_run {
    volatile uint64_t counter; /* the racy shared word */
    atomic_long ready;         /* the start line: threads that arrived */
    long n, iters, window;
};

static void *race_thread(void *arg)
{
    struct race_run *run = arg;
    /* Start together: every thread is on a CPU (or yielding) when the increments begin. */
    atomic_fetch_add(&run->ready, 1);
    while (atomic_load(&run->ready) < run->n)
        sched_yield();
    for (long i = 0; i < run->iters; i++) {
        uint64_t v = run->counter;
        for (volatile long s = 0; s < run->window; s++)
            ;
        run->counter = v + 1;
    }
    return NULL;
}

static int race_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    long n = fm_wl_int(args, "threads"), started = 0;
    struct race_run run = {.counter = 0,
                           .n = n,
                           .iters = fm_wl_int(args, "iters"),
                           .window = fm_wl_int(args, "window")};
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    if (tids == NULL)
        return FM_WL_ENOMEM;
    atomic_init(&run.ready, 0);
    for (; started < n; started++)
        if (pthread_create(&tids[started], NULL, race_thread, &run) != 0)
            break;
    if (started < n) /* let the started threads go */
        atomic_fetch_add(&run.ready, n - started);
    int status = started < n ? FM_WL_ETHREAD : FM_WL_OK;
    for (long i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    uint64_t want = (uint64_t)n * (uint64_t)run.iters, got = run.counter;
    res->work = got;
    if (status == FM_WL_OK && got != want)
        fm_wl_fail(res, "lost %llu of %llu updates (count %llu)", (unsigned long long)(want - got),
                   (unsigned long long)want, (unsigned long long)got);
    free(tids);
    return status;
}

const struct fm_wl_desc fm_wl_race_desc = {
    .name = "race",
    .summary = "unsynchronised read-modify-write of a shared counter (a declared data race)",
    .upstream = "calibration",
    .unit = "increments",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_ALWAYS,
    .run = race_run,
};
