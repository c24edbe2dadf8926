/*
 * fm_wl_mutate.c - port of MicroPython's tests/thread/mutate_list.py (the mutate_* family).
 *
 * Upstream, 4 threads share one list.  Thread t owns the values [60 t, 60 (t + 1)) and, 4
 * times over, for each of its values appends it once, extends the list by it twice, then
 * removes it twice, checking the value's count after every step (r + 1, r + 3, r + 2, r + 1 in
 * repeat r).  At the end the sorted list holds every value 4 times.  The other mutate_* tests
 * (bytearray, dict, instance, set) follow the same plan on other containers.
 *
 * The shared container is a growable array of ints; every operation (append, extend, remove
 * of the first occurrence, count) holds one mutex, as the interpreter's object operations are
 * atomic.  The seed shuffles the order in which each thread visits its values (seed 0 keeps
 * upstream's ascending order); the final state does not depend on it.  Workers are joined.
 */
#include "fm_wl_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct fm_wl_param params[] = {
    {"threads", FM_WL_INT, 4, 1, 256, NULL, "mutating threads"},
    {"repeats", FM_WL_INT, 4, 1, 1000, NULL, "passes over each thread's values"},
    {"span", FM_WL_INT, 60, 1, 10000, NULL, "values owned by each thread"},
};

/* The shared list: items[0..len), under lock. */
struct shared_list {
    pthread_mutex_t lock;
    long *items;
    size_t len, cap;
    int oom;
};

struct mutate_worker {
    struct shared_list *list;
    long lo, span, repeats;
    uint64_t seed;
    char reason[FM_WL_REASON_MAX];
};

static void list_append_locked(struct shared_list *l, long v)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        long *items = realloc(l->items, cap * sizeof *items);
        if (items == NULL) {
            l->oom = 1;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = v;
}

/* Append v `times` times as one operation (append: 1, extend([v, v]): 2). */
static void list_add(struct shared_list *l, long v, int times)
{
    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < times; i++)
        list_append_locked(l, v);
    pthread_mutex_unlock(&l->lock);
}

/* Remove the first occurrence of v, shifting the rest down. */
static void list_remove(struct shared_list *l, long v)
{
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i] == v) {
            memmove(l->items + i, l->items + i + 1, (l->len - i - 1) * sizeof *l->items);
            l->len--;
            break;
        }
    }
    pthread_mutex_unlock(&l->lock);
}

static long list_count(struct shared_list *l, long v)
{
    long n = 0;
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->len; i++)
        n += l->items[i] == v;
    pthread_mutex_unlock(&l->lock);
    return n;
}

/* One value in repeat r: the four steps with their expected counts; false on a mismatch. */
static int mutate_value(struct mutate_worker *w, long v, long r)
{
    static const char *const step[] = {"append", "extend", "remove", "remove again"};
    const long want[] = {r + 1, r + 3, r + 2, r + 1};
    for (int s = 0; s < 4; s++) {
        if (s < 2)
            list_add(w->list, v, s + 1);
        else
            list_remove(w->list, v);
        long got = list_count(w->list, v);
        if (got != want[s]) {
            snprintf(w->reason, sizeof w->reason, "value %ld: count %ld after %s, expected %ld", v,
                     got, step[s], want[s]);
            return 0;
        }
    }
    return 1;
}

static void *mutate_thread(void *arg)
{
    struct mutate_worker *w = arg;
    long *order = malloc((size_t)w->span * sizeof *order);
    struct fm_wl_rng rng;
    if (order == NULL) {
        snprintf(w->reason, sizeof w->reason, "out of memory");
        return NULL;
    }
    for (long i = 0; i < w->span; i++)
        order[i] = w->lo + i;
    fm_wl_rng_seed(&rng, w->seed, (uint64_t)w->lo);
    for (long i = w->span - 1; w->seed != 0 && i > 0; i--) {
        long j = (long)fm_wl_rng_below(&rng, (uint64_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (long r = 0; r < w->repeats; r++)
        for (long i = 0; i < w->span; i++)
            if (!mutate_value(w, order[i], r))
                goto out;
out:
    free(order);
    return NULL;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The final state: sorted, every value in [0, threads * span) exactly `repeats` times. */
static void check_final(struct shared_list *l, long n_values, long repeats,
                        struct fm_wl_result *res)
{
    qsort(l->items, l->len, sizeof *l->items, cmp_long);
    if (l->len != (size_t)(n_values * repeats)) {
        fm_wl_fail(res, "final list has %zu items, expected %ld", l->len, n_values * repeats);
        return;
    }
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i] != (long)i / repeats) {
            fm_wl_fail(res, "final list item %zu is %ld, expected %ld", i, l->items[i],
                       (long)i / repeats);
            return;
        }
    }
}

static int mutate_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    long n = fm_wl_int(args, "threads"), span = fm_wl_int(args, "span"), started = 0;
    long repeats = fm_wl_int(args, "repeats");
    struct shared_list list = {.items = NULL};
    struct mutate_worker *w = calloc((size_t)n, sizeof *w);
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    int status = (w && tids) ? FM_WL_OK : FM_WL_ENOMEM;
    pthread_mutex_init(&list.lock, NULL);
    for (; status == FM_WL_OK && started < n; started++) {
        w[started] = (struct mutate_worker){&list, started * span, span, repeats, args->seed, ""};
        if (pthread_create(&tids[started], NULL, mutate_thread, &w[started]) != 0) {
            fm_wl_fail(res, "cannot create thread %ld", started);
            break;
        }
    }
    for (long i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        if (w[i].reason[0] && res->passed)
            fm_wl_fail(res, "thread %ld: %s", i, w[i].reason);
    }
    if (list.oom)
        status = FM_WL_ENOMEM;
    else if (res->passed && status == FM_WL_OK)
        check_final(&list, n * span, repeats, res);
    res->work = (uint64_t)(started * span * repeats * 4);
    pthread_mutex_destroy(&list.lock);
    free(list.items);
    free(tids);
    free(w);
    return status;
}

const struct fm_wl_desc fm_wl_mutate_desc = {
    .name = "mutate",
    .summary = "threads append/extend/remove in one locked list; fixed final state",
    .upstream = "tests/thread/mutate_list.py (and mutate_*.py)",
    .unit = "operations",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_NONE,
    .run = mutate_run,
};
