/*
 * test_wl_ports.c - the ports, run in-process and repeatedly, measure the work they should.
 *
 * The runner forks a warmed-up process per run, so the library must run a workload again and
 * again in one process: each case runs 5 times here.  Each asserts the outcome and the exact
 * work where the port fixes it (114 AES blocks per loop per thread, iters per heap thread,
 * every created thread, 4 list operations per value and repeat, every scheduled task), and
 * the contract of the failure paths (a time limit that cannot be met fails with the count;
 * inconsistent parameters are refused).  No assertion depends on timing or interleaving.
 */
#include "fm_test.h"
#include "fm_wl_internal.h"

#include <string.h>

/* Run NAME with up to three key=value settings; returns the status, fills *res. */
static int run3(const char *name, const char *kv1, const char *kv2, const char *kv3, uint64_t seed,
                struct fm_wl_result *res)
{
    struct fm_wl_args a;
    const struct fm_wl_param *bad;
    const char *kv[] = {kv1, kv2, kv3};
    fm_wl_args_init(&a, fm_wl_find(name));
    a.seed = seed;
    for (int i = 0; i < 3; i++)
        if (kv[i])
            CHECK(fm_wl_args_set(&a, kv[i], &bad) == FM_WL_OK, "%s %s", name, kv[i]);
    return fm_wl_run(&a, res);
}

/* Five runs that must pass with exactly `work` (0: any work > 0). */
static void expect_pass(const char *name, const char *kv1, const char *kv2, const char *kv3,
                        uint64_t seed, uint64_t work)
{
    for (int i = 0; i < 5; i++) {
        struct fm_wl_result r;
        int rc = run3(name, kv1, kv2, kv3, seed, &r);
        CHECK(rc == FM_WL_OK && r.passed, "%s %s %s %s: %s %s", name, kv1 ? kv1 : "",
              kv2 ? kv2 : "", kv3 ? kv3 : "", fm_wl_strerror(rc), r.reason);
        if (work)
            CHECK(r.work == work, "%s: work %llu, expected %llu", name, (unsigned long long)r.work,
                  (unsigned long long)work);
        else
            CHECK(r.work > 0, "%s: some work", name);
    }
}

static void test_stress_aes(void)
{
    expect_pass("stress_aes", "threads=3", "loops=2", NULL, 0, 4 * 2 * 114);
    expect_pass("stress_aes", "threads=3", "loops=2", NULL, 0xfeed, 4 * 2 * 114);
    expect_pass("stress_aes", "preset=coverage", NULL, NULL, 0, 3 * 2 * 114);
    expect_pass("stress_aes", "threads=2", "loops=3", "contention=on", 7, 3 * 3 * 114);
    /* The allocation table with 3-block frames (frame=40) among 11 threads: never out of frames. */
    expect_pass("stress_aes", "contention=on", "scan=200", "frame=40", 9, 11 * 5 * 114);
    expect_pass("stress_aes", "threads=0", "data=20", NULL, 0, 5 * 10); /* quirk at 20 bytes */
    /* Upstream's polling wait ends only when every worker has counted: the same work. */
    expect_pass("stress_aes", "threads=3", "wait=poll", "poll_ms=1", 0, 4 * 5 * 114);
    if (fm_wl_have_openssl())
        expect_pass("stress_aes", "threads=3", "impl=openssl", "contention=on", 3, 4 * 5 * 114);
}

static void test_stress_recurse(void)
{
    struct fm_wl_result small, big;
    expect_pass("stress_recurse", NULL, NULL, NULL, 0, 0);
    CHECK(run3("stress_recurse", "frame=128", NULL, NULL, 0, &small) == FM_WL_OK, "frame=128");
    CHECK(run3("stress_recurse", "frame=1024", NULL, NULL, 0, &big) == FM_WL_OK, "frame=1024");
    /* Each level uses at least `frame` bytes below the limit of stack - margin. */
    size_t limit =
        fm_wl_clamp_stack(FM_WL_UPSTREAM_STACK + FM_WL_TSAN_TLS) - (8192 + FM_WL_TSAN_TLS);
    CHECK(small.passed && small.work * 128 <= limit, "depth %llu x 128 within the limit",
          (unsigned long long)small.work);
    CHECK(big.passed && big.work * 1024 <= limit && big.work < small.work,
          "bigger frames, smaller depth (%llu < %llu)", (unsigned long long)big.work,
          (unsigned long long)small.work);
    struct fm_wl_result poll;
    CHECK(run3("stress_recurse", "wait=poll", NULL, NULL, 0, &poll) == FM_WL_OK && poll.passed &&
              poll.work > big.work,
          "wait=poll (upstream's time.sleep(0)) reaches the limit: %s", poll.reason);
    struct fm_wl_result r;
    CHECK(run3("stress_recurse", "stack=1048576", "margin=1048576", NULL, 0, &r) == FM_WL_ERANGE,
          "margin >= stack is refused");
    CHECK(strstr(r.reason, "margin") != NULL, "reason names margin: %s", r.reason);
}

static void test_stress_schedule(void)
{
    expect_pass("stress_schedule", "tasks=500", NULL, NULL, 0, 500);
    expect_pass("stress_schedule", "tasks=300", "depth=1", "producers=2", 0, 300);
    expect_pass("stress_schedule", "tasks=300", "wait=poll", NULL, 0, 300);
    struct fm_wl_result r;
    /* 10^9 tasks cannot run in 1 ms: the run fails and reports the count it reached. */
    CHECK(run3("stress_schedule", "tasks=1000000000", "timeout_ms=1", NULL, 0, &r) == FM_WL_OK,
          "status");
    CHECK(!r.passed && strstr(r.reason, "of 1000000000 tasks") != NULL, "short count: %s",
          r.reason);
    CHECK(run3("stress_schedule", "depth=3", NULL, NULL, 0, &r) == FM_WL_ERANGE, "depth=3");
}

static void test_others(void)
{
    expect_pass("stress_heap", "threads=4", "iters=2000", NULL, 0, 8000);
    expect_pass("stress_heap", "threads=3", "iters=100", "slots=1", 11, 300);
    expect_pass("stress_create", "threads=50", NULL, NULL, 0, 50);
    expect_pass("stress_create", "threads=50", "wait=poll", "poll_ms=1", 0, 50);
    expect_pass("mutate", NULL, NULL, NULL, 0, 4 * 60 * 4 * 4);
    expect_pass("mutate", "threads=6", "span=10", NULL, 99, 6 * 10 * 4 * 4);
    expect_pass("gc_race", "threads=3", "loops=4", NULL, 0, 0);
    expect_pass("gc_race", NULL, NULL, NULL, 12, 0);
    struct fm_wl_result r;
    run3("gc_race", "threads=3", "loops=4", NULL, 0, &r);
    CHECK(r.work >= 1 && r.work <= 12, "one scan per request at most: %llu",
          (unsigned long long)r.work);
}

int main(void)
{
    test_stress_aes();
    test_stress_recurse();
    test_stress_schedule();
    test_others();
    return fm_test_report("test_wl_ports");
}
