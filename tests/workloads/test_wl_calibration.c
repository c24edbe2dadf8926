/*
 * test_wl_calibration.c - the calibration workloads obey their stated laws.
 *
 * Every draw here is a pure function of (seed, run, attempt), and the seeds are fixed, so the
 * counts below are the same on every execution: the statistical bounds cannot fail by chance
 * once they pass.  They are chosen wide (6 standard deviations of the binomial or normal
 * sampling error) so that they are a real check of the generator and not a fit to one seed.
 */
#include "fm_test.h"
#include "fm_wl_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct fm_wl_args make(const char *name, const char *kv1, const char *kv2)
{
    struct fm_wl_args a;
    const struct fm_wl_param *bad;
    fm_wl_args_init(&a, fm_wl_find(name));
    if (kv1)
        CHECK(fm_wl_args_set(&a, kv1, &bad) == FM_WL_OK, "%s", kv1);
    if (kv2)
        CHECK(fm_wl_args_set(&a, kv2, &bad) == FM_WL_OK, "%s", kv2);
    return a;
}

static int fails(struct fm_wl_args *a, uint64_t run, uint64_t attempt)
{
    struct fm_wl_result r;
    a->run = run;
    a->attempt = attempt;
    CHECK(fm_wl_run(a, &r) == FM_WL_OK, "run status");
    CHECK(r.passed == (r.reason[0] == '\0'), "reason iff failed");
    return !r.passed;
}

/* |k - n p| within 6 binomial standard deviations. */
static int near_binomial(long k, long n, double p)
{
    return fabs((double)k - n * p) <= 6 * sqrt(n * p * (1 - p));
}

static void test_bernoulli(void)
{
    struct fm_wl_args a = make("bernoulli", "p=0.1", NULL);
    const long n = 100000;
    long k = 0;
    a.seed = 12345;
    for (long i = 0; i < n; i++)
        k += fails(&a, (uint64_t)i, 1);
    CHECK(near_binomial(k, n, 0.1), "bernoulli p=0.1: %ld failures in %ld", k, n);

    /* Pure function of (seed, run): the same outcomes backwards, other seeds differ. */
    int same = 1, differs = 0;
    struct fm_wl_args b = a;
    b.seed = 54321;
    for (long i = 999; i >= 0; i--) {
        int x = fails(&a, (uint64_t)i, 1), y = fails(&a, (uint64_t)i, 1);
        same &= x == y;
        differs |= x != fails(&b, (uint64_t)i, 1);
    }
    CHECK(same, "same (seed, run) gives the same outcome");
    CHECK(differs, "another seed gives another sequence");

    struct fm_wl_args never = make("bernoulli", "p=0", NULL),
                      always = make("bernoulli", "p=1", NULL);
    long k0 = 0, k1 = 0;
    for (long i = 0; i < 1000; i++) {
        k0 += fails(&never, (uint64_t)i, 1);
        k1 += fails(&always, (uint64_t)i, 1);
    }
    CHECK(k0 == 0 && k1 == 1000, "p=0 never fails (%ld), p=1 always (%ld)", k0, k1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* slow_fail is bernoulli draw for draw; its failures take at least fail_ms, its passes do not. */
static void test_slow_fail(void)
{
    struct fm_wl_args s = make("slow_fail", "p=0.3", "fail_ms=0"),
                      b = make("bernoulli", "p=0.3", NULL);
    int agree = 1;
    s.seed = b.seed = 99;
    for (long i = 0; i < 2000; i++)
        agree &= fails(&s, (uint64_t)i, 1) == fails(&b, (uint64_t)i, 1);
    CHECK(agree, "slow_fail p=0.3 equals bernoulli p=0.3 draw for draw");

    /* Runs of seed 99 that bernoulli p=0.5 fails and passes (outcomes are fixed by the seed). */
    struct fm_wl_args b5 = make("bernoulli", "p=0.5", NULL);
    b5.seed = 99;
    long fail_run = -1, pass_run = -1;
    for (long i = 0; i < 64 && (fail_run < 0 || pass_run < 0); i++)
        *(fails(&b5, (uint64_t)i, 1) ? &fail_run : &pass_run) = i;
    CHECK(fail_run >= 0 && pass_run >= 0, "seed 99 gives both outcomes in 64 runs");
    struct fm_wl_args slow = make("slow_fail", "p=0.5", "fail_ms=30");
    slow.seed = 99;
    double t0 = now_s();
    CHECK(fails(&slow, (uint64_t)fail_run, 1), "slow_fail fails where bernoulli does");
    double dt = now_s() - t0;
    CHECK(dt >= 0.030, "a failure took %.4f s, fail_ms=30", dt); /* nanosleep never ends early */
    /* A pass does not sleep at all: with fail_ms of an hour it would not return. */
    struct fm_wl_args hour = make("slow_fail", "p=0.5", "fail_ms=3600000");
    hour.seed = 99;
    CHECK(!fails(&hour, (uint64_t)pass_run, 1), "slow_fail passes where bernoulli does, at once");
}

/* First attempts follow p, retries follow q; with p = q it is bernoulli, draw for draw. */
static void test_markov(void)
{
    struct fm_wl_args m = make("markov", "p=0.05", "q=0.6");
    const long n = 50000;
    long k1 = 0, k2 = 0, k3 = 0;
    m.seed = 777;
    for (long i = 0; i < n; i++) {
        k1 += fails(&m, (uint64_t)i, 1);
        k2 += fails(&m, (uint64_t)i, 2);
        k3 += fails(&m, (uint64_t)i, 3);
    }
    CHECK(near_binomial(k1, n, 0.05), "first attempts: %ld of %ld", k1, n);
    CHECK(near_binomial(k2, n, 0.6), "second attempts: %ld of %ld", k2, n);
    CHECK(near_binomial(k3, n, 0.6), "third attempts: %ld of %ld", k3, n);

    struct fm_wl_args eq = make("markov", "p=0.3", "q=0.3"), b = make("bernoulli", "p=0.3", NULL);
    int agree = 1;
    for (long i = 0; i < 2000; i++)
        for (uint64_t att = 1; att <= 3; att++)
            agree &= fails(&eq, (uint64_t)i, att) == fails(&b, (uint64_t)i, att);
    CHECK(agree, "markov p=q=0.3 equals bernoulli p=0.3 draw for draw");

    struct fm_wl_args det = make("markov", "p=0", "q=1");
    CHECK(!fails(&det, 5, 1) && fails(&det, 5, 2), "p=0 passes first, q=1 fails retries");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* log(duration) ~ Normal(log median, sigma): check median and spread of 20000 draws. */
static void test_slow_distribution(void)
{
    enum { N = 20000 };
    static double logs[N];
    struct fm_wl_args a = make("slow", "median_ms=100", "sigma=0.5");
    double sum = 0, sumsq = 0;
    a.seed = 4242;
    for (int i = 0; i < N; i++) {
        a.run = (uint64_t)i;
        logs[i] = log((double)fm_wl_slow_draw_ns(&a) / 1e6);
        sum += logs[i];
        sumsq += logs[i] * logs[i];
    }
    double mean = sum / N, sd = sqrt(sumsq / N - mean * mean);
    qsort(logs, N, sizeof logs[0], cmp_double);
    double median = exp(logs[N / 2]);
    /* Standard errors: mean 0.5/sqrt(N) = 0.0035, sd 0.5/sqrt(2N) = 0.0025. */
    CHECK(fabs(mean - log(100.0)) < 6 * 0.0035, "mean log-duration %.4f", mean);
    CHECK(fabs(sd - 0.5) < 6 * 0.0025, "sd of log-duration %.4f", sd);
    CHECK(median > 97 && median < 103, "median %.2f ms", median);

    struct fm_wl_args c = make("slow", "median_ms=100", "max_ms=50");
    int capped = 1;
    for (int i = 0; i < 1000; i++) {
        c.run = (uint64_t)i;
        capped &= fm_wl_slow_draw_ns(&c) <= 50000000u;
    }
    CHECK(capped, "max_ms caps the duration");

    /* A real (short) run reports the drawn duration in microseconds. */
    struct fm_wl_args r = make("slow", "median_ms=0.5", "mode=spin");
    struct fm_wl_result res;
    r.seed = 9;
    CHECK(fm_wl_run(&r, &res) == FM_WL_OK && res.passed, "slow passes");
    CHECK(res.work == (fm_wl_slow_draw_ns(&r) + 500) / 1000, "work is the drawn duration");
}

/* One thread cannot race with itself: never a lost update. */
static void test_race_single_thread(void)
{
    struct fm_wl_args a = make("race", "threads=1", "iters=100000");
    struct fm_wl_result r;
    for (int i = 0; i < 3; i++) {
        CHECK(fm_wl_run(&a, &r) == FM_WL_OK, "status");
        CHECK(r.passed && r.work == 100000, "threads=1: %s", r.reason);
    }
}

int main(void)
{
    test_bernoulli();
    test_slow_fail();
    test_markov();
    test_slow_distribution();
    test_race_single_thread();
    return fm_test_report("test_wl_calibration");
}
