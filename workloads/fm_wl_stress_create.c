/*
 * fm_wl_stress_create.c - port of MicroPython's tests/thread/stress_create.py.
 *
 * Upstream creates 500 threads that do nothing, one after another, and when the system
 * refuses one it waits 50 ms and tries again; then it waits for the last ones and prints
 * `done`.  The unix port creates its threads detached, so thread stacks pile up until their
 * threads exit: that is what makes creation fail (EAGAIN) on small or emulated systems.
 *
 * The port creates detached threads with the unix port's stack size (raised to
 * PTHREAD_STACK_MIN where that is larger, as upstream).  Each thread adds its
 * index to a sum and counts itself under a mutex and signals a condition; the main thread
 * waits until all have counted (wait=cond, the default: a condition variable; wait=poll: it
 * sleeps poll_ms, 500 as upstream's final sleep_ms(500), and checks again until they have)
 * and checks count == threads and
 * sum == 0 + 1 + ... + (threads - 1), so a lost or doubled thread start fails the run.  A
 * bound on retries turns upstream's endless retrying into a failure with the count reached.
 */
#include "fm_wl_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

static const char *const wait_choices[] = {"cond", "poll", NULL};

static const struct fm_wl_param params[] = {
    {"threads", FM_WL_INT, 500, 1, 1000000, NULL, "threads to create"},
    {"retry_ms", FM_WL_INT, 50, 0, 60000, NULL, "wait before retrying a refused creation"},
    {"retries", FM_WL_INT, 1200, 0, 1000000, NULL, "refusals tolerated before failing"},
    {"stack", FM_WL_INT, FM_WL_UPSTREAM_STACK, 16384, 1 << 30, NULL,
     "thread stack size in bytes (default: the unix port's for this build)"},
    {"wait", FM_WL_CHOICE, 0, 0, 1, wait_choices,
     "main thread's wait: cond (condition variable) or poll (upstream's sleep_ms)"},
    {"poll_ms", FM_WL_INT, 500, 1, 3600000, NULL, "sleep between checks when wait=poll"},
};

struct create_run {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t finished, index_sum; /* under lock */
};

struct create_arg {
    struct create_run *run;
    uint64_t index;
};

static void *empty_thread(void *p)
{
    struct create_arg *arg = p;
    struct create_run *run = arg->run;
    pthread_mutex_lock(&run->lock);
    run->finished++;
    run->index_sum += arg->index;
    pthread_cond_signal(&run->cond);
    pthread_mutex_unlock(&run->lock);
    return NULL;
}

/* Create all threads; returns how many were created and counts the refusals. */
static long create_all(struct create_run *run, struct create_arg *argv, long n,
                       const struct fm_wl_args *args, pthread_attr_t *attr, long *refused)
{
    long created = 0, max_refused = fm_wl_int(args, "retries");
    uint64_t wait_ns = (uint64_t)fm_wl_int(args, "retry_ms") * 1000000u;
    while (created < n) {
        pthread_t tid;
        argv[created] = (struct create_arg){run, (uint64_t)created};
        int err = pthread_create(&tid, attr, empty_thread, &argv[created]);
        if (err == 0) {
            created++;
        } else if (err == EAGAIN && *refused < max_refused) {
            (*refused)++;
            fm_wl_sleep_ns(wait_ns);
        } else {
            break;
        }
    }
    return created;
}

static int stress_create_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    long n = fm_wl_int(args, "threads"), refused = 0;
    struct create_run run = {.finished = 0};
    struct create_arg *argv = calloc((size_t)n, sizeof *argv);
    pthread_attr_t attr;
    if (argv == NULL)
        return FM_WL_ENOMEM;
    pthread_mutex_init(&run.lock, NULL);
    pthread_cond_init(&run.cond, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int status = FM_WL_OK;
    if (pthread_attr_setstacksize(&attr, fm_wl_clamp_stack((size_t)fm_wl_int(args, "stack"))) !=
        0) {
        fm_wl_fail(res, "pthread_attr_setstacksize refused the stack size");
        status = FM_WL_ERANGE;
        goto out;
    }
    long created = create_all(&run, argv, n, args, &attr, &refused);

    bool poll = fm_wl_int(args, "wait") == 1;
    pthread_mutex_lock(&run.lock);
    while (run.finished < (uint64_t)created) {
        if (!poll) {
            pthread_cond_wait(&run.cond, &run.lock);
            continue;
        }
        pthread_mutex_unlock(&run.lock);
        fm_wl_sleep_ns((uint64_t)fm_wl_int(args, "poll_ms") * 1000000u);
        pthread_mutex_lock(&run.lock);
    }
    uint64_t sum = run.index_sum, finished = run.finished;
    pthread_mutex_unlock(&run.lock);

    uint64_t want = (uint64_t)n * (uint64_t)(n - 1) / 2;
    res->work = finished;
    if (created < n)
        fm_wl_fail(res, "created %ld of %ld threads (%ld refusals)", created, n, refused);
    else if (finished != (uint64_t)n || sum != want)
        fm_wl_fail(res, "%llu threads ran with index sum %llu, expected %ld and %llu",
                   (unsigned long long)finished, (unsigned long long)sum, n,
                   (unsigned long long)want);
out:
    pthread_attr_destroy(&attr);
    pthread_cond_destroy(&run.cond);
    pthread_mutex_destroy(&run.lock);
    free(argv);
    return status;
}

const struct fm_wl_desc fm_wl_stress_create_desc = {
    .name = "stress_create",
    .summary = "create 500 detached threads, retrying after 50 ms when refused",
    .upstream = "tests/thread/stress_create.py",
    .unit = "threads",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_NONE,
    .run = stress_create_run,
};
