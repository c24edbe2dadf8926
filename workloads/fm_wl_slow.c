/*
 * fm_wl_slow.c - calibration workload: takes a seeded, log-normally distributed time.
 *
 * The duration is median x exp(sigma Z), with Z standard normal drawn by the Box-Muller
 * transform from two counter-based uniforms of (seed, run, attempt), and capped at max_ms.
 * So a run's duration is reproducible, its median is `median_ms` and log-duration has
 * standard deviation sigma: the ground truth for timeout studies.  mode=sleep sleeps,
 * mode=spin burns CPU on the monotonic clock.  It always passes; the work is the drawn
 * duration in microseconds.  Source for Box-Muller: Box & Muller, Ann. Math. Stat. 29 (1958).
 */
#include "fm_wl_internal.h"

#include <math.h>

static const char *const modes[] = {"sleep", "spin", NULL};

static const struct fm_wl_param params[] = {
    {"median_ms", FM_WL_REAL, 100, 0, 3600000, NULL, "median duration in milliseconds"},
    {"sigma", FM_WL_REAL, 0.5, 0, 5, NULL, "standard deviation of the log-duration"},
    {"max_ms", FM_WL_REAL, 60000, 0, 3600000, NULL, "cap on the duration"},
    {"mode", FM_WL_CHOICE, 0, 0, 1, modes, "sleep, or spin on the CPU"},
};

/* The drawn duration in nanoseconds. */
uint64_t fm_wl_slow_draw_ns(const struct fm_wl_args *args)
{
    double median = fm_wl_args_get(args, "median_ms"), sigma = fm_wl_args_get(args, "sigma");
    double cap = fm_wl_args_get(args, "max_ms");
    /* u1 in (0, 1] so log(u1) is finite. */
    double u1 = 1.0 - fm_wl_unit(fm_wl_hash3(args->seed, args->run, 2 * args->attempt));
    double u2 = fm_wl_unit(fm_wl_hash3(args->seed, args->run, 2 * args->attempt + 1));
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    double ms = fmin(median * exp(sigma * z), cap);
    return (uint64_t)llround(ms * 1e6);
}

static int slow_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    uint64_t ns = fm_wl_slow_draw_ns(args);
    if (fm_wl_int(args, "mode") == 0) {
        fm_wl_sleep_ns(ns);
    } else {
        uint64_t end = fm_wl_now_ns() + ns;
        while (fm_wl_now_ns() < end)
            ;
    }
    res->work = (ns + 500) / 1000;
    return FM_WL_OK;
}

const struct fm_wl_desc fm_wl_slow_desc = {
    .name = "slow",
    .summary = "sleeps or spins a seeded log-normal duration (for timeout studies)",
    .upstream = "calibration",
    .unit = "us",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_NONE,
    .run = slow_run,
};
