/*
 * fm_wl_bernoulli.c - calibration workloads: bernoulli fails with probability exactly p, and
 * slow_fail does the same with failures that take fail_ms first.
 *
 * The outcome of a run is a pure function of (seed, run index, attempt) through the
 * counter-based draw fm_wl_hash3: u = hash3(seed, run, attempt) / 2^64 taken to 53 bits, and
 * the run fails when u < p.  So the same seed gives the same sequence of outcomes whatever ran
 * before, first attempts (attempt 1) are independent Bernoulli(p) across runs, and a retry is
 * a fresh independent draw with the same p.  No threads: this is ground truth for the
 * statistics, not a stress test.
 *
 * slow_fail draws the same outcomes (bernoulli p=P and slow_fail p=P fail on the same runs), but
 * a failing attempt first sleeps fail_ms, as timeouts, hangs and slow crashes do: with several
 * runs in flight the failures then finish last, the setting in which a decision taken on the
 * runs finished so far would lean towards passing (docs/statistics.md §5).  A workload of its
 * own, so that bernoulli's stored parameters, and with them its campaigns, stay as they were.
 */
#include "fm_wl_internal.h"

static const struct fm_wl_param params[] = {
    {"p", FM_WL_REAL, 0.1, 0, 1, NULL, "failure probability of every attempt"},
};

static const struct fm_wl_param slow_fail_params[] = {
    {"p", FM_WL_REAL, 0.1, 0, 1, NULL, "failure probability of every attempt"},
    {"fail_ms", FM_WL_REAL, 100, 0, 3.6e6, NULL, "milliseconds a failing attempt takes first"},
};

static int bernoulli_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    double p = fm_wl_args_get(args, "p");
    double u = fm_wl_unit(fm_wl_hash3(args->seed, args->run, args->attempt));
    res->work = 1;
    if (u < p && args->wl == &fm_wl_slow_fail_desc)
        fm_wl_sleep_ns((uint64_t)(fm_wl_args_get(args, "fail_ms") * 1e6));
    if (u < p)
        fm_wl_fail(res, "drew u=%.6f < p=%g (run %llu, attempt %llu)", u, p,
                   (unsigned long long)args->run, (unsigned long long)args->attempt);
    return FM_WL_OK;
}

const struct fm_wl_desc fm_wl_bernoulli_desc = {
    .name = "bernoulli",
    .summary = "fails with probability exactly p, reproducibly from (seed, run, attempt)",
    .upstream = "calibration",
    .unit = "draws",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_NONE,
    .run = bernoulli_run,
};

const struct fm_wl_desc fm_wl_slow_fail_desc = {
    .name = "slow_fail",
    .summary = "fails with probability exactly p as bernoulli does; a failure takes fail_ms first",
    .upstream = "calibration",
    .unit = "draws",
    .params = slow_fail_params,
    .n_params = FM_WL_N(slow_fail_params),
    .race = FM_WL_RACE_NONE,
    .run = bernoulli_run,
};
