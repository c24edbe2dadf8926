/*
 * fm_wl_stress_schedule.c - port of MicroPython's tests/thread/stress_schedule.py.
 *
 * Upstream stresses micropython.schedule(): up to 8 producer threads keep scheduling a task
 * that counts; when the scheduler's pending-callback queue is full, schedule raises and the
 * producer backs off 1 ms.  Pending callbacks run on the main thread, which waits until 10000
 * tasks have run or 10 s have passed, stops the producers and reports PASS or the count.
 *
 * The queue is ported as upstream keeps it: a ring of `depth` slots (a power of two, at most
 * 255, so a mask wraps the index) with a head index and a length, guarded by the atomic
 * section, which on the unix port is a mutex.  schedule() fails when the ring is full; the
 * main thread, like the VM loop checking sched_state, looks at an atomic copy of the length
 * without the lock and only then pops one callback under the lock and runs it outside.  The counter
 * is touched only by callbacks, so only by the main thread.  Producers stop on an atomic flag and
 * are joined (upstream sleeps 20 ms instead).  The seed has no input to choose here.
 *
 * The main thread's wait (wait=): spin (the default) drains the queue in a tight loop; poll is
 * upstream's `while n < _NUM_TASKS ...: time.sleep(0)`: each pass runs at most one pending
 * callback (mp_handle_pending runs at most one Python callback) and then a select() with a
 * zero timeout (time.sleep(0) on the unix port, which releases the GIL around it).
 */
#include "fm_wl_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

static const char *const wait_choices[] = {"spin", "poll", NULL};

static const struct fm_wl_param params[] = {
    {"tasks", FM_WL_INT, 10000, 1, 1e9, NULL, "tasks that must run"},
    {"producers", FM_WL_INT, 8, 1, 256, NULL, "threads scheduling the task"},
    {"depth", FM_WL_INT, 4, 1, 128, NULL, "pending-callback queue slots (a power of two)"},
    {"backoff_us", FM_WL_INT, 1000, 0, 1000000, NULL, "producer sleep when the queue is full"},
    {"timeout_ms", FM_WL_INT, 10000, 1, 3600000, NULL, "time limit for the tasks to run"},
    {"wait", FM_WL_CHOICE, 0, 0, 1, wait_choices,
     "main thread: spin (drain in a tight loop) or poll (upstream's time.sleep(0) loop)"},
};

struct callback {
    void (*fn)(void *arg);
    void *arg;
};

/* The scheduler's pending queue: slots[(head + i) & mask] for i < len, under lock. */
struct sched_queue {
    pthread_mutex_t lock;
    struct callback slots[128];
    unsigned head, len, mask;
    atomic_uint pending; /* copy of len, read without the lock (upstream's sched_state) */
};

struct sched_run {
    struct sched_queue q;
    atomic_int running;
    uint64_t backoff_ns;
    uint64_t n; /* tasks run: main thread only */
};

/* micropython.schedule: false when the queue is full. */
static int sched_schedule(struct sched_queue *q, void (*fn)(void *), void *arg)
{
    int ok = 0;
    pthread_mutex_lock(&q->lock);
    if (q->len <= q->mask) {
        q->slots[(q->head + q->len) & q->mask] = (struct callback){fn, arg};
        q->len++;
        atomic_store_explicit(&q->pending, q->len, memory_order_release);
        ok = 1;
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

/* Pop one pending callback; false when none. */
static int sched_pop(struct sched_queue *q, struct callback *out)
{
    int ok = 0;
    if (atomic_load_explicit(&q->pending, memory_order_acquire) == 0)
        return 0;
    pthread_mutex_lock(&q->lock);
    if (q->len > 0) {
        *out = q->slots[q->head];
        q->head = (q->head + 1) & q->mask;
        q->len--;
        atomic_store_explicit(&q->pending, q->len, memory_order_release);
        ok = 1;
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

static void task(void *arg)
{
    struct sched_run *run = arg;
    run->n++;
}

static void *producer(void *arg)
{
    struct sched_run *run = arg;
    while (atomic_load_explicit(&run->running, memory_order_relaxed))
        if (!sched_schedule(&run->q, task, run))
            fm_wl_sleep_ns(run->backoff_ns);
    return NULL;
}

/* The main thread's wait: run pending callbacks until enough tasks ran or time is up. */
static void main_loop(struct sched_run *run, uint64_t tasks, uint64_t timeout_ns, bool poll)
{
    uint64_t start = fm_wl_now_ns();
    struct callback cb;
    while (run->n < tasks && fm_wl_now_ns() - start < timeout_ns) {
        if (poll) {
            struct timeval zero = {0, 0};
            if (sched_pop(&run->q, &cb))
                cb.fn(cb.arg);
            select(0, NULL, NULL, NULL, &zero);
            continue;
        }
        while (run->n < tasks && sched_pop(&run->q, &cb))
            cb.fn(cb.arg);
    }
}

static int stress_schedule_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    long n_prod = fm_wl_int(args, "producers"), started = 0;
    unsigned depth = (unsigned)fm_wl_int(args, "depth");
    uint64_t tasks = (uint64_t)fm_wl_int(args, "tasks");
    struct sched_run *run = calloc(1, sizeof *run);
    pthread_t *tids = calloc((size_t)n_prod, sizeof *tids);
    int status = FM_WL_OK;

    if (run == NULL || tids == NULL) {
        status = FM_WL_ENOMEM;
        goto out;
    }
    if (depth & (depth - 1)) {
        fm_wl_fail(res, "depth must be a power of two, got %u", depth);
        status = FM_WL_ERANGE;
        goto out;
    }
    pthread_mutex_init(&run->q.lock, NULL);
    atomic_init(&run->q.pending, 0);
    run->q.mask = depth - 1;
    run->backoff_ns = (uint64_t)fm_wl_int(args, "backoff_us") * 1000u;
    atomic_init(&run->running, 1);
    /* Like upstream: when the system cannot create another thread, go on with fewer. */
    for (; started < n_prod; started++)
        if (pthread_create(&tids[started], NULL, producer, run) != 0)
            break;
    main_loop(run, tasks, (uint64_t)fm_wl_int(args, "timeout_ms") * 1000000u,
              fm_wl_int(args, "wait") == 1);
    atomic_store_explicit(&run->running, 0, memory_order_relaxed);
    for (long i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&run->q.lock);

    res->work = run->n;
    if (started == 0)
        fm_wl_fail(res, "could not create any producer thread");
    else if (run->n < tasks)
        fm_wl_fail(res, "only %llu of %llu tasks ran before the time limit",
                   (unsigned long long)run->n, (unsigned long long)tasks);
out:
    free(tids);
    free(run);
    return status;
}

const struct fm_wl_desc fm_wl_stress_schedule_desc = {
    .name = "stress_schedule",
    .summary = "producer threads fill a 4-slot callback queue that the main thread drains",
    .upstream = "tests/thread/stress_schedule.py",
    .unit = "tasks_run",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_NONE,
    .run = stress_schedule_run,
};
