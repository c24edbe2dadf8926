/*
 * fm_wl_stress_aes.c - port of MicroPython's tests/thread/stress_aes.py.
 *
 * Upstream uses pure-software AES-256 as a keystream generator (output feedback: the 16-byte
 * state is encrypted in place to give the next keystream block).  Each of n threads, and the
 * main thread too, runs `loops` times: set key and IV, apply the keystream to a 128-byte
 * buffer 8 times (encrypt), set key and IV again and apply it 8 more times (decrypt), check
 * the buffer is back to its start (all zeros upstream), then bump a lock-protected counter.
 *
 * The position quirk is kept: after XORing a chunk, apply_to advances the position by the
 * bytes still *remaining*, not by the chunk, so the first call after set_iv generates 8 blocks
 * and every later call 7 (the first chunk reuses the last block).  That is 57 blocks per 8
 * calls and 114 AES-256 block operations per loop with the default 128-byte buffer.
 *
 * contention=on reproduces the coverage build the QEMU CI jobs use, where tracing support
 * makes every call allocate a frame from the interpreter's heap under its global lock: each
 * apply_to call and `calls` times per block operation, a thread takes a zeroed frame from one
 * shared arena under one mutex and gives it back.  The arena never runs out: each thread holds
 * at most one frame at a time and the arena has two per thread.
 *
 * Threading (Redis bio.c shape): workers are joined at the end; completion is a counter under
 * a mutex with a condition variable (wait=cond, the default), or, with wait=poll, upstream's
 * `while count.value < n_thread + 1: time.sleep(1)`: the main thread checks the counter and
 * sleeps poll_ms (1000) until it is complete, so the run's wall time is whole polls, as
 * upstream's, which an emulator does not slow down.  Upstream a
 * failed check kills its thread before it counts, so the test hangs until its timeout; here the
 * first failure is recorded and the run reports it.
 */
#include "fm_wl_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const impl_choices[] = {"portable",
#ifdef FM_WL_HAVE_OPENSSL
                                           "openssl",
#endif
                                           NULL};
static const char *const on_off[] = {"off", "on", NULL};
static const char *const wait_choices[] = {"cond", "poll", NULL};

static const struct fm_wl_param params[] = {
    {"threads", FM_WL_INT, 10, 0, 1000, NULL, "threads started besides the main thread"},
    {"loops", FM_WL_INT, 5, 1, 1000000, NULL, "encrypt/decrypt/check loops per thread"},
    {"data", FM_WL_INT, 128, 1, 1 << 20, NULL, "bytes of data per thread"},
    {"applies", FM_WL_INT, 8, 1, 10000, NULL, "keystream applications per encrypt and decrypt"},
    {"impl", FM_WL_CHOICE, 0, 0, FM_WL_N(impl_choices) - 2, impl_choices,
     "AES block implementation"},
    {"contention", FM_WL_CHOICE, 0, 0, 1, on_off,
     "allocate frames from one locked arena (QEMU coverage-build profile)"},
    {"calls", FM_WL_INT, 16, 1, 10000, NULL, "frame allocations per block when contention=on"},
    {"frame", FM_WL_INT, 64, 16, 65536, NULL, "bytes per frame when contention=on"},
    {"scan", FM_WL_INT, 0, 0, 1 << 20, NULL,
     "allocation-table bytes searched per frame when contention=on (0: a free list)"},
    {"wait", FM_WL_CHOICE, 0, 0, 1, wait_choices,
     "main thread's wait: cond (condition variable) or poll (upstream's time.sleep loop)"},
    {"poll_ms", FM_WL_INT, 1000, 1, 3600000, NULL, "sleep between checks when wait=poll"},
};

static const struct fm_wl_preset presets[] = {
    {"coverage", "threads=2 loops=2 contention=on calls=16 scan=8192",
     "the 2 x 2 of the QEMU coverage build (sys.settrace present), bound by its first-fit "
     "heap search"},
};

/*
 * The shared frame arena of contention=on: fixed-size frames, one lock; with scan=0 on a free
 * list, otherwise found by a first-fit search of an allocation table whose first `scan` bytes
 * are fragmented (fm_wl_atb.c: the coverage build's gc_alloc).
 */
struct arena {
    pthread_mutex_t lock;
    uint8_t *mem;
    size_t frame, n_free;
    size_t *free_list;
    struct fm_wl_atb atb; /* used when atb.table != NULL */
    uint64_t scanned;     /* allocation-table bytes searched, under lock */
};

/* One run: inputs, the arena, the completion counter and the first failure. */
struct aes_run {
    long loops, applies;
    size_t data_len;
    enum fm_wl_aes_impl impl;
    long calls;
    struct arena *arena;
    uint8_t key[32], iv[16];
    uint8_t *data0; /* the starting data, shared read-only */
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    long done;                     /* workers that finished, under lock */
    uint64_t blocks;               /* block operations, under lock */
    int status;                    /* first error status, under lock */
    char reason[FM_WL_REASON_MAX]; /* first failed check, under lock */
};

/* A keystream generator with upstream's position behaviour. */
struct keystream {
    struct fm_wl_aes aes;
    uint8_t state[16];
    size_t pos;
    uint64_t blocks;
    struct arena *arena; /* NULL unless contention=on */
    long calls;
};

static int arena_init(struct arena *a, size_t frames, size_t frame, size_t scan, uint64_t seed)
{
    a->mem = calloc(frames, frame);
    a->free_list = calloc(frames, sizeof *a->free_list);
    a->atb.table = NULL;
    a->scanned = 0;
    int status = a->mem && a->free_list ? FM_WL_OK : FM_WL_ENOMEM;
    /* 16-byte blocks, as MicroPython's heap on 32-bit targets. */
    if (status == FM_WL_OK && scan > 0)
        status = fm_wl_atb_init(&a->atb, scan, frames, (frame + 15) / 16, seed);
    if (status != FM_WL_OK) {
        free(a->mem);
        free(a->free_list);
        return status;
    }
    for (size_t i = 0; i < frames; i++)
        a->free_list[i] = i;
    a->n_free = frames;
    a->frame = frame;
    pthread_mutex_init(&a->lock, NULL);
    return FM_WL_OK;
}

static void arena_destroy(struct arena *a)
{
    pthread_mutex_destroy(&a->lock);
    if (a->atb.table)
        fm_wl_atb_free(&a->atb);
    free(a->mem);
    free(a->free_list);
}

/* A frame's index: from the free list, or by searching the allocation table. */
static size_t arena_take(struct arena *a, size_t *block)
{
    if (a->atb.table == NULL)
        return a->free_list[--a->n_free];
    size_t scanned;
    *block = fm_wl_atb_take(&a->atb, &scanned);
    a->scanned += scanned;
    /* Never SIZE_MAX: each thread holds one frame at a time, the arena has two per thread. */
    return fm_wl_atb_slot(&a->atb, *block);
}

/* Take a frame, zeroed under the lock like the interpreter's allocator; give it back. */
static void arena_churn(struct arena *a, long times)
{
    for (long t = 0; t < times; t++) {
        size_t block = 0;
        pthread_mutex_lock(&a->lock);
        size_t i = arena_take(a, &block);
        memset(a->mem + i * a->frame, 0, a->frame);
        pthread_mutex_unlock(&a->lock);
        /* ... the call would run here ... */
        pthread_mutex_lock(&a->lock);
        if (a->atb.table)
            fm_wl_atb_give(&a->atb, block);
        else
            a->free_list[a->n_free++] = i;
        pthread_mutex_unlock(&a->lock);
    }
}

static void ks_churn(struct keystream *ks, long times)
{
    if (ks->arena)
        arena_churn(ks->arena, times);
}

static int ks_set_key(struct keystream *ks, const uint8_t key[32])
{
    ks->pos = 16;
    return fm_wl_aes_set_key(&ks->aes, key);
}

static void ks_set_iv(struct keystream *ks, const uint8_t iv[16])
{
    memcpy(ks->state, iv, 16);
    ks->pos = 16;
}

/* Make keystream available: a new block when the position is past the state. */
static int ks_some_state(struct keystream *ks, size_t needed, size_t *n)
{
    if (ks->pos >= 16) {
        ks_churn(ks, ks->calls);
        int status = fm_wl_aes_encrypt(&ks->aes, ks->state, ks->state);
        if (status != FM_WL_OK)
            return status;
        ks->blocks++;
        ks->pos = 0;
    }
    *n = 16 - ks->pos < needed ? 16 - ks->pos : needed;
    return FM_WL_OK;
}

/* XOR the keystream into data; the position advances by what remains (upstream's quirk). */
static int ks_apply(struct keystream *ks, uint8_t *data, size_t len)
{
    size_t idx = 0, n = len;
    ks_churn(ks, 1);
    while (n > 0) {
        size_t ln;
        int status = ks_some_state(ks, n, &ln);
        if (status != FM_WL_OK)
            return status;
        n -= ln;
        for (size_t i = 0; i < ln; i++)
            data[idx + i] ^= ks->state[ks->pos + i];
        idx += ln;
        ks->pos += n;
    }
    return FM_WL_OK;
}

/* Set key and IV, then apply the keystream `applies` times. */
static int ks_pass(struct keystream *ks, const uint8_t key[32], const uint8_t iv[16], uint8_t *data,
                   size_t len, long applies)
{
    int status = ks_set_key(ks, key);
    ks_set_iv(ks, iv);
    for (long i = 0; i < applies && status == FM_WL_OK; i++)
        status = ks_apply(ks, data, len);
    return status;
}

int fm_wl_keystream_pass(enum fm_wl_aes_impl impl, const uint8_t key[32], const uint8_t iv[16],
                         uint8_t *data, size_t len, long applies, uint64_t *blocks)
{
    struct keystream ks = {.arena = NULL};
    int status = fm_wl_aes_init(&ks.aes, impl);
    if (status == FM_WL_OK)
        status = ks_pass(&ks, key, iv, data, len, applies);
    fm_wl_aes_free(&ks.aes);
    *blocks = ks.blocks;
    return status;
}

static void record_mismatch(struct aes_run *run, const uint8_t *data, long loop)
{
    size_t i = 0;
    while (data[i] == run->data0[i])
        i++;
    pthread_mutex_lock(&run->lock);
    if (run->reason[0] == '\0')
        snprintf(run->reason, sizeof run->reason,
                 "loop %ld: byte %zu is 0x%02x after decrypting, expected 0x%02x", loop, i, data[i],
                 run->data0[i]);
    pthread_mutex_unlock(&run->lock);
}

/* The loops of one thread; returns a status, records a failed check in run->reason. */
static int worker_loops(struct aes_run *run, struct keystream *ks, uint8_t *data)
{
    memcpy(data, run->data0, run->data_len);
    for (long loop = 0; loop < run->loops; loop++) {
        int status = ks_pass(ks, run->key, run->iv, data, run->data_len, run->applies);
        if (status == FM_WL_OK)
            status = ks_pass(ks, run->key, run->iv, data, run->data_len, run->applies);
        if (status != FM_WL_OK)
            return status;
        if (memcmp(data, run->data0, run->data_len) != 0) {
            record_mismatch(run, data, loop);
            return FM_WL_OK;
        }
    }
    return FM_WL_OK;
}

static void *worker(void *arg)
{
    struct aes_run *run = arg;
    struct keystream ks = {.arena = run->arena, .calls = run->calls};
    uint8_t *data = malloc(run->data_len);
    int status = data ? fm_wl_aes_init(&ks.aes, run->impl) : FM_WL_ENOMEM;
    if (status == FM_WL_OK)
        status = worker_loops(run, &ks, data);
    fm_wl_aes_free(&ks.aes);
    free(data);

    pthread_mutex_lock(&run->lock);
    if (status != FM_WL_OK && run->status == FM_WL_OK)
        run->status = status;
    run->blocks += ks.blocks;
    run->done++;
    pthread_cond_signal(&run->done_cond);
    pthread_mutex_unlock(&run->lock);
    return NULL;
}

static int run_setup(struct aes_run *run, const struct fm_wl_args *args)
{
    memset(run, 0, sizeof *run);
    run->loops = fm_wl_int(args, "loops");
    run->applies = fm_wl_int(args, "applies");
    run->data_len = (size_t)fm_wl_int(args, "data");
    run->impl = fm_wl_int(args, "impl") ? FM_WL_AES_OPENSSL : FM_WL_AES_PORTABLE;
    run->calls = fm_wl_int(args, "calls");
    fm_wl_fill(run->key, sizeof run->key, args->seed, 1);
    fm_wl_fill(run->iv, sizeof run->iv, args->seed, 2);
    run->data0 = malloc(run->data_len);
    if (run->data0 == NULL)
        return FM_WL_ENOMEM;
    fm_wl_fill(run->data0, run->data_len, args->seed, 3);
    pthread_mutex_init(&run->lock, NULL);
    pthread_cond_init(&run->done_cond, NULL);
    return FM_WL_OK;
}

static int stress_aes_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    struct aes_run run;
    struct arena arena;
    long n_thread = fm_wl_int(args, "threads"), started = 0;
    pthread_t *tids = calloc((size_t)n_thread + 1, sizeof *tids);
    int status = tids ? run_setup(&run, args) : FM_WL_ENOMEM;
    if (status != FM_WL_OK)
        goto out_free;
    if (fm_wl_int(args, "contention")) {
        status = arena_init(&arena, 2 * ((size_t)n_thread + 1), (size_t)fm_wl_int(args, "frame"),
                            (size_t)fm_wl_int(args, "scan"), args->seed);
        if (status != FM_WL_OK)
            goto out_run;
        run.arena = &arena;
    }
    for (; started < n_thread; started++)
        if (pthread_create(&tids[started], NULL, worker, &run) != 0)
            break;
    worker(&run); /* the main thread works too */

    /* Wait for every worker that started, then join them. */
    pthread_mutex_lock(&run.lock);
    while (run.done < started + 1) {
        if (fm_wl_int(args, "wait") == 0) {
            pthread_cond_wait(&run.done_cond, &run.lock);
            continue;
        }
        pthread_mutex_unlock(&run.lock);
        fm_wl_sleep_ns((uint64_t)fm_wl_int(args, "poll_ms") * 1000000u);
        pthread_mutex_lock(&run.lock);
    }
    pthread_mutex_unlock(&run.lock);
    for (long i = 0; i < started; i++)
        pthread_join(tids[i], NULL);

    res->work = run.blocks;
    status = started < n_thread ? FM_WL_ETHREAD : run.status;
    if (status == FM_WL_OK && run.reason[0])
        fm_wl_fail(res, "%s", run.reason);
    if (run.arena)
        arena_destroy(&arena);
out_run:
    pthread_cond_destroy(&run.done_cond);
    pthread_mutex_destroy(&run.lock);
    free(run.data0);
out_free:
    free(tids);
    return status;
}

const struct fm_wl_desc fm_wl_stress_aes_desc = {
    .name = "stress_aes",
    .summary = "AES-256 keystream en/decryption in threads, checked to round-trip",
    .upstream = "tests/thread/stress_aes.py",
    .unit = "blocks",
    .params = params,
    .n_params = FM_WL_N(params),
    .presets = presets,
    .n_presets = FM_WL_N(presets),
    .race = FM_WL_RACE_NONE,
    .run = stress_aes_run,
};
