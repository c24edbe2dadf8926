/*
 * cmd_plan.c - `flakemeter plan`: how many runs show that the failure probability is below p0.
 */
#include "fm_cli.h"
#include "fm_stats.h"

#include <stdio.h>

static const char help[] =
    "usage: flakemeter plan --p0 P0 [--failures K] [--confidence C] [--json]\n"
    "\n"
    "Smallest number of runs N such that seeing at most K failures in N runs shows, at\n"
    "confidence C, that the failure probability is below P0 (if it were P0, at most K failures\n"
    "would happen with probability <= 1 - C).  K = 0 is the rule of three: N ~ 3/P0 at 95%.\n";

int cmd_plan(int argc, char **argv)
{
    double p0 = 0, c = 0.95;
    uint64_t k = 0, runs;
    bool have_p0 = false, json = false;
    const struct fm_opt options[] = {
        FM_OPT_REAL(0, "p0", &p0, 0, 1, FM_OPT_OPEN, "P0",
                    "failure probability to rule out, in (0, 1)", .seen = &have_p0),
        FM_OPT_COUNT('k', "failures", &k, 0, FM_STATS_MAX_ATTEMPTS - 1, "K",
                     "failures allowed in the N runs; default 0"),
        FM_OPT_REAL('c', "confidence", &c, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level in (0, 1); default 0.95"),
        FM_OPT_BOOL(0, "json", &json, "print a JSON object: p0, failures, confidence, runs"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if (!have_p0)
        return fm_cli_usage_error("--p0 is required (see 'flakemeter plan --help')");
    fm_stats_status st = fm_stats_plan_runs(p0, k, c, &runs);
    if (st == FM_STATS_EDOM)
        return fm_cli_fail("more than 2^53 runs would be needed for p0 = %g", p0);
    if (st != FM_STATS_OK)
        return fm_cli_fail("cannot plan: %s", fm_stats_strerror(st));
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "p0", json_real(p0));
        json_object_set_new(o, "failures", json_integer((json_int_t)k));
        json_object_set_new(o, "confidence", json_real(c));
        json_object_set_new(o, "runs", json_integer((json_int_t)runs));
        return fm_cli_print_json(o);
    }
    char p[32];
    printf("Run %llu times: if at most %llu fail%s, the failure probability is below %s "
           "with %.10g%% confidence.\n",
           (unsigned long long)runs, (unsigned long long)k, k == 1 ? "s" : "",
           fm_cli_fmt_prob(p0, p, sizeof p), c * 100);
    return FM_EXIT_OK;
}
