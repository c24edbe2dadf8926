/*
 * fm_wl_markov.c - calibration workload: a first attempt fails with probability p, a retry
 * (FLAKEMETER_ATTEMPT > 1) with probability q.
 *
 * It models failures that are correlated across retries (q > p: a test that failed once is
 * likely to fail again, e.g. a loaded machine) or anti-correlated (q < p).  The draw is the
 * same counter-based function of (seed, run, attempt) as bernoulli, so outcomes are
 * reproducible; only the threshold depends on the attempt.  With p = q it is bernoulli.
 */
#include "fm_wl_internal.h"

static const struct fm_wl_param params[] = {
    {"p", FM_WL_REAL, 0.1, 0, 1, NULL, "failure probability of a first attempt"},
    {"q", FM_WL_REAL, 0.5, 0, 1, NULL, "failure probability of a retry"},
};

static int markov_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    double limit = fm_wl_args_get(args, args->attempt > 1 ? "q" : "p");
    double u = fm_wl_unit(fm_wl_hash3(args->seed, args->run, args->attempt));
    res->work = 1;
    if (u < limit)
        fm_wl_fail(res, "drew u=%.6f < %s=%g (run %llu, attempt %llu)", u,
                   args->attempt > 1 ? "q" : "p", limit, (unsigned long long)args->run,
                   (unsigned long long)args->attempt);
    return FM_WL_OK;
}

const struct fm_wl_desc fm_wl_markov_desc = {
    .name = "markov",
    .summary = "first attempts fail with probability p, retries with q",
    .upstream = "calibration",
    .unit = "draws",
    .params = params,
    .n_params = FM_WL_N(params),
    .race = FM_WL_RACE_NONE,
    .run = markov_run,
};
