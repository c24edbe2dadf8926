/*
 * cli_gate.c - `run --require-below P0`: the exit status CI gates on (README, next to `plan`).
 */
#include "fm_cli.h"
#include "fm_stats.h"
#include "fm_verdict.h"

#include <stdio.h>

/*
 * --require-below P0, the gate: 0 when the campaign's k failures in n counted runs put the exact
 * one-sided upper bound at --confidence below P0 (what 'flakemeter plan --p0 P0' plans for),
 * else 1, with one line saying which and, when not shown, how many clean runs would show it.
 */
int fm_cli_require_below(fm_store *store, int64_t campaign, double conf, double p0_value,
                         bool json)
{
    fm_verdict v;
    if (fm_verdict_compute(store, campaign, 1e-6, conf, &v) !=
        FM_STORE_OK)
        return fm_cli_fail("cannot read the results: %s", fm_store_errmsg(store));
    fm_interval up = {0};
    if (v.n <= 0 || fm_stats_interval((uint64_t)v.k, (uint64_t)v.n, conf, FM_CI_EXACT,
                                      FM_CI_UPPER, &up) != FM_STATS_OK)
        return fm_cli_fail("--require-below: no counted runs, nothing shown");
    double vals[2] = {up.upper, p0_value};
    char txt[2][32], *ub = txt[0], *p0 = txt[1];
    fm_cli_fmt_probs(vals, txt, 2); /* as many digits as it takes to tell them apart */
    FILE *out = json ? stderr : stdout; /* JSON output stays one object */
    if (up.upper < p0_value) {
        fprintf(out, "  shown fixed: %lld failures in %lld runs, upper bound %s (%.10g%%, "
                     "one-sided exact) is below --require-below %s\n",
                (long long)v.k, (long long)v.n, ub, conf * 100, p0);
        return FM_EXIT_OK;
    }
    uint64_t need = 0;
    bool planned = fm_stats_plan_runs(p0_value, (uint64_t)v.k, conf,
                                      &need) == FM_STATS_OK;
    fprintf(out, "  NOT shown fixed: upper bound %s (%.10g%%, one-sided exact) is not below "
                 "--require-below %s",
            ub, conf * 100, p0);
    if (planned && need > (uint64_t)v.n)
        fprintf(out, "; with %lld failures it takes %llu runs in all ('flakemeter plan')",
                (long long)v.k, (unsigned long long)need);
    fputc('\n', out);
    return FM_EXIT_FAIL;
}

