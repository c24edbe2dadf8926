/*
 * fm_wl_stress_recurse.c - port of MicroPython's tests/thread/stress_recurse.py, with its race.
 *
 * Upstream, a thread recurses without bound until the interpreter's stack check raises
 * RuntimeError; the thread reports it and sets a flag the main thread spins on.  The check
 * compares the stack used since the thread's entry with a limit, and the limit is the thread's
 * stack size minus an 8 KiB margin that leaves room to unwind.
 *
 * The race (why upstream crashes): the unix port creates the thread with the full stack size
 * and only *after* pthread_create returns writes the margin-adjusted size into the argument
 * block the new thread reads its limit from.  When the thread reads first, its limit is the
 * whole stack - but the stack also holds the C library's thread control block and TLS and the
 * frames above the entry point - so the recursion runs into the guard page: SIGSEGV.
 *   publish=late   upstream's order: write after the start, racing with the thread's read (a
 *                  real data race on a plain size_t, which ThreadSanitizer reports); `window`
 *                  busy-waits that many microseconds first, widening the same gap.
 *   publish=early  the fix: write before pthread_create, which orders it before the read.
 * check=off drops the limit check: a plain overflow crash.  margin=0 also crashes, every time.
 *
 * The window, as upstream has it (py/modthread.c, ports/unix/mpthreadport.c): the margin is
 * subtracted by the very next statement after pthread_create returns, and the new thread reads
 * the size in the first statement of its entry after storing its thread state in TLS
 * (mp_thread_init_state: mp_thread_set_state, then mp_cstack_init_with_top).  So with window=0
 * the main thread writes at once (no clock is read), and the thread sets a thread-local state
 * pointer before it reads.  Measured (docs/workloads.md, "Why pinning nearly removes the
 * crash"): the thread wins only when it runs before pthread_create has returned, on the
 * creating CPU - when the kernel's wake-up of the new thread preempts its creator inside the
 * clone.  Whether it does depends on where the creation falls in the creator's scheduler
 * slice, i.e. on the CPU time the process used since it was forked: the interpreter's start-up
 * (startup=, fixed work without system calls, as MicroPython's), and under `taskset` that
 * program's own exec before it.
 *
 * Main thread's wait (wait=): upstream spins `while not finished: time.sleep(0)`, a select()
 * with a zero timeout that releases and retakes the GIL around it; wait=poll does that
 * (select() with a zero timeout in a loop), wait=yield (the default, as before) sched_yield()s.
 *
 * Under ThreadSanitizer the default stack and margin both grow by FM_WL_TSAN_TLS, the room its
 * runtime's thread-local state takes from every thread stack (see fm_wl_internal.h).
 *
 * As upstream, a stack size below PTHREAD_STACK_MIN is raised to it (128 KiB on aarch64 and
 * mips) before the margin is taken off.
 *
 * Invariants: the stack grows down (true on every target we build for); a recursion level
 * checks before it touches its own frame, like MP_STACK_CHECK on function entry; the flag the
 * main thread waits on is an atomic with release/acquire, so reading the depth is race-free.
 */
#include "fm_wl_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/select.h>

static const char *const publish_choices[] = {"early", "late", NULL};
static const char *const on_off[] = {"off", "on", NULL};
static const char *const wait_choices[] = {"yield", "poll", NULL};

static const struct fm_wl_param params[] = {
    {"stack", FM_WL_INT, FM_WL_UPSTREAM_STACK + FM_WL_TSAN_TLS, 16384, 1 << 30, NULL,
     "thread stack size in bytes (default: the unix port's for this build)"},
    {"margin", FM_WL_INT, 8192 + FM_WL_TSAN_TLS, 0, 1 << 30, NULL,
     "bytes the limit keeps free below the stack"},
    {"publish", FM_WL_CHOICE, 0, 0, 1, publish_choices,
     "write the adjusted size before (early) or after (late, racy) the thread starts"},
    {"window", FM_WL_INT, 0, 0, 1000000, NULL, "microseconds between start and a late write"},
    {"check", FM_WL_CHOICE, 1, 0, 1, on_off, "stack-limit check (off: plain overflow crash)"},
    {"frame", FM_WL_INT, 256, 16, 65536, NULL, "bytes of locals per recursion level"},
    {"startup", FM_WL_INT, 300, 0, 10000000, NULL,
     "work before the thread starts, in microseconds of CPU on the reference machine "
     "(MicroPython's start-up and compile: 300)"},
    {"wait", FM_WL_CHOICE, 0, 0, 1, wait_choices,
     "main thread's wait: yield (sched_yield) or poll (upstream's time.sleep(0): select)"},
};

/* The thread's interpreter state, set before the stack size is read (mp_thread_set_state). */
static _Thread_local const void *thread_state;

/* Shared between the main thread and the recursing thread. */
struct recurse_run {
    size_t stack_size; /* the argument block's size: read by the thread, racy when late */
    size_t frame;
    int check;
    size_t depth; /* written by the thread before `finished` */
    int hit_limit;
    atomic_int finished;
};

/* What one recursion level needs; lives on the thread's entry frame. */
struct probe {
    uintptr_t top;
    size_t limit, frame;
    int check;
};

/*
 * One level: check the stack used so far against the limit ("RuntimeError"), else use a frame
 * of `frame` bytes and go one deeper.  Returns the depth reached; the volatile frame and the
 * use after the call keep the compiler from turning the recursion into a loop.
 */
/*
 * The frame's size is a workload parameter, and using that much stack per level is the point
 * of the port (a Python frame's C stack use), so this is the project's one variable-length
 * array; -Wvla stays on everywhere else.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wvla"
__attribute__((noinline)) static size_t recurse(const struct probe *p, size_t depth, int *hit)
{
    volatile unsigned char pad[p->frame];
    size_t used = p->top - (uintptr_t)&pad[0];
    if (p->check && used >= p->limit) {
        *hit = 1;
        return depth;
    }
    pad[0] = (unsigned char)depth;
    pad[p->frame - 1] = (unsigned char)depth;
    size_t reached = recurse(p, depth + 1, hit);
    return reached + (size_t)(pad[0] ^ pad[p->frame - 1]);
}
#pragma GCC diagnostic pop

static void *recurse_thread(void *arg)
{
    struct recurse_run *run = arg;
    volatile char top = 0; /* like mp_stack_set_top at thread entry */
    thread_state = run;    /* mp_thread_set_state(ts), upstream's first act */
    struct probe p = {
        .top = (uintptr_t)&top,
        .limit = run->stack_size, /* like mp_stack_set_limit: the racy read */
        .frame = run->frame,
        .check = run->check,
    };
    int hit = 0;
    run->depth = recurse(&p, 1, &hit);
    run->hit_limit = hit;
    atomic_store_explicit(&run->finished, 1, memory_order_release);
    return NULL;
}

/*
 * The interpreter's start-up: `units` of fixed work, one unit about a microsecond of CPU on the
 * reference machine (x86-64 at 2.4 GHz: 590 dependent multiply-adds, 1.7 ns each), so that,
 * like MicroPython's own start-up, it takes longer where the CPU is slower or emulated.  No
 * clock and no system call: reading a CPU-time clock would enter the scheduler (it updates the
 * running task's accounting, renewing its slice), which MicroPython's start-up never does, and
 * where the creation falls in the creating thread's slice is what decides the race.
 */
#define STARTUP_ITERS_PER_UNIT 590u

static void compute_units(long units)
{
    uint64_t x = 1;
    for (uint64_t i = 0; i < (uint64_t)(units > 0 ? units : 0) * STARTUP_ITERS_PER_UNIT; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        __asm__ volatile("" : "+r"(x)); /* a dependent chain the compiler cannot fold */
    }
}

static void spin_us(long us)
{
    if (us <= 0)
        return; /* upstream: the write follows pthread_create directly */
    uint64_t end = fm_wl_now_ns() + (uint64_t)us * 1000u;
    while (fm_wl_now_ns() < end)
        ;
}

static int stress_recurse_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    size_t stack = fm_wl_clamp_stack((size_t)fm_wl_int(args, "stack"));
    size_t margin = (size_t)fm_wl_int(args, "margin");
    int late = fm_wl_int(args, "publish") == 1;
    struct recurse_run run;
    pthread_attr_t attr;
    pthread_t tid;
    int status = FM_WL_OK;

    if (margin + (size_t)fm_wl_int(args, "frame") >= stack) {
        fm_wl_fail(res, "margin + frame must be below stack (%zu)", stack);
        return FM_WL_ERANGE;
    }
    memset(&run, 0, sizeof run);
    run.stack_size = stack;
    run.frame = (size_t)fm_wl_int(args, "frame");
    run.check = (int)fm_wl_int(args, "check");
    atomic_init(&run.finished, 0);
    compute_units(fm_wl_int(args, "startup"));
    pthread_attr_init(&attr);
    if (pthread_attr_setstacksize(&attr, stack) != 0) {
        fm_wl_fail(res, "pthread_attr_setstacksize(%zu) refused", stack);
        status = FM_WL_ERANGE;
        goto out;
    }
    if (!late)
        run.stack_size = stack - margin; /* publish, then start */
    if (pthread_create(&tid, &attr, recurse_thread, &run) != 0) {
        fm_wl_fail(res, "cannot create the recursing thread");
        goto out;
    }
    if (late) {
        spin_us(fm_wl_int(args, "window"));
        run.stack_size = stack - margin; /* upstream's order: races with the thread's read */
    }
    bool poll = fm_wl_int(args, "wait") == 1;
    while (!atomic_load_explicit(&run.finished, memory_order_acquire)) {
        if (poll) {
            struct timeval zero = {0, 0}; /* time.sleep(0) on the unix port */
            select(0, NULL, NULL, NULL, &zero);
        } else {
            sched_yield();
        }
    }
    pthread_join(tid, NULL);
    res->work = run.depth;
    if (!run.hit_limit)
        fm_wl_fail(res, "the recursion stopped at depth %zu without hitting the limit", run.depth);
out:
    pthread_attr_destroy(&attr);
    return status;
}

const struct fm_wl_desc fm_wl_stress_recurse_desc = {
    .name = "stress_recurse",
    .summary = "a thread recurses to its stack limit; publish=late races like upstream",
    .upstream = "tests/thread/stress_recurse.py",
    .unit = "depth",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_CHOICE,
    .race_key = "publish",
    .race_value = "late",
    .run = stress_recurse_run,
};
