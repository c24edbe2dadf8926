/*
 * cmd_plan.c - `flakemeter plan`: how many runs a question needs, and how long they take on a
 * fleet (launch/fm_fleet.h).
 */
#include "fm_cli.h"
#include "fm_fleet.h"
#include "fm_stats.h"

#include <stdio.h>

static const char help[] =
    "usage: flakemeter plan --p0 P0 [--failures K] [--confidence C] [FLEET] [--json]\n"
    "       flakemeter plan --p P --target T [--confidence C] [FLEET] [--json]\n"
    "FLEET: --seconds-per-run S [--machines M] [--jobs J]\n"
    "\n"
    "With --p0: the smallest number of runs N such that seeing at most K failures in N runs\n"
    "shows, at confidence C, that the failure probability is below P0 (if it were P0, at most\n"
    "K failures would happen with probability <= 1 - C).  K = 0 is the rule of three.\n"
    "With --p: about how many runs `run --until-decided` needs to pin down the attempt count\n"
    "for the target if the failure rate is P, with the fleet's M*J runs in flight (a shared\n"
    "store: docs/scale.md).  With --seconds-per-run: how long that takes on M machines with J\n"
    "runs at a time each (runs start in waves of M*J).\n";

static void print_duration(double s)
{
    if (s < 120)
        printf("%.0f s", s);
    else if (s < 7200)
        printf("%.1f min", s / 60);
    else if (s < 3 * 86400)
        printf("%.1f h", s / 3600);
    else
        printf("%.1f days", s / 86400);
}

int cmd_plan(int argc, char **argv)
{
    double p0 = 0, p = 0, target = 0, c = 0.95;
    uint64_t k = 0, runs = 0, machines = 1, jobs = 1;
    fm_fleet fleet = {0};
    bool have_p0 = false, have_p = false, have_t = false, have_s = false, have_k = false,
         json = false;
    const struct fm_opt options[] = {
        FM_OPT_REAL(0, "p0", &p0, 0, 1, FM_OPT_OPEN, "P0",
                    "failure probability to rule out, in (0, 1)", .seen = &have_p0),
        FM_OPT_COUNT('k', "failures", &k, 0, FM_STATS_MAX_ATTEMPTS - 1, "K",
                     "failures allowed in the N runs; default 0", .seen = &have_k),
        FM_OPT_REAL('p', "p", &p, 0, 1, FM_OPT_OPEN, "P",
                    "the failure rate expected, for the runs --until-decided needs",
                    .seen = &have_p),
        FM_OPT_REAL('t', "target", &target, 0, 1, FM_OPT_OPEN, "T",
                    "all-fail probability the attempt count must reach (with --p)",
                    .seen = &have_t),
        FM_OPT_REAL('c', "confidence", &c, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level in (0, 1); default 0.95"),
        FM_OPT_REAL(0, "seconds-per-run", &fleet.seconds_per_run, 0, 1e9, FM_OPT_OPEN, "S",
                    "how long one run takes, for the time on a fleet", .seen = &have_s),
        FM_OPT_COUNT(0, "machines", &machines, 1, 1000000, "M", "machines of the fleet; default 1"),
        FM_OPT_COUNT('j', "jobs", &jobs, 1, 100000, "J", "runs at a time per machine; default 1"),
        FM_OPT_BOOL(0, "json", &json,
                    "print a JSON object: the question's inputs, runs, and the fleet's waves, "
                    "wall_seconds, cpu_hours"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if (have_p0 == have_p)
        return fm_cli_usage_error("give --p0 (rule out a rate) or --p with --target (pin the "
                                  "attempt count), one of them (see 'flakemeter plan --help')");
    if (have_p && !have_t)
        return fm_cli_usage_error("--p needs --target T: the all-fail probability to reach");
    if (have_p0 && have_t)
        return fm_cli_usage_error("--target goes with --p, not with --p0");
    if (have_p && have_k)
        return fm_cli_usage_error("--failures goes with --p0, not with --p");
    fleet.machines = (unsigned)machines;
    fleet.jobs = (unsigned)jobs;
    if (!have_s)
        fleet.seconds_per_run = 1;
    fm_fleet_plan plan;
    if (have_p0) {
        fm_stats_status st = fm_stats_plan_runs(p0, k, c, &runs);
        if (st == FM_STATS_EDOM)
            return fm_cli_fail("more than 2^53 runs would be needed for p0 = %g", p0);
        if (st != FM_STATS_OK)
            return fm_cli_fail("cannot plan: %s", fm_stats_strerror(st));
        fm_fleet_spread(runs, &fleet, &plan);
    } else {
        fm_run_status st = fm_fleet_until_decided(p, c, target, &fleet, &plan);
        if (st != FM_RUN_OK)
            return fm_cli_fail("cannot plan: %s", fm_run_strerror(st));
        if (plan.runs == 0)
            return fm_cli_fail("at p = %g, even 2^50 runs would not pin the attempt count for "
                               "target %g",
                               p, target);
        runs = plan.runs;
    }
    if (json) {
        json_t *o = json_object();
        if (have_p0) {
            json_object_set_new(o, "p0", json_real(p0));
            json_object_set_new(o, "failures", json_integer((json_int_t)k));
        } else {
            json_object_set_new(o, "p", json_real(p));
            json_object_set_new(o, "target", json_real(target));
        }
        json_object_set_new(o, "confidence", json_real(c));
        json_object_set_new(o, "runs", json_integer((json_int_t)runs));
        if (have_s) {
            json_object_set_new(o, "seconds_per_run", json_real(fleet.seconds_per_run));
            json_object_set_new(o, "machines", json_integer((json_int_t)machines));
            json_object_set_new(o, "jobs", json_integer((json_int_t)jobs));
            json_object_set_new(o, "waves", json_integer((json_int_t)plan.waves));
            json_object_set_new(o, "wall_seconds", json_real(plan.wall_s));
            json_object_set_new(o, "cpu_hours", json_real(plan.cpu_hours));
        }
        return fm_cli_print_json(o);
    }
    char pb[32];
    if (have_p0)
        printf("Run %llu times: if at most %llu fail%s, the failure probability is below %s "
               "with %.10g%% confidence.\n",
               (unsigned long long)runs, (unsigned long long)k, k == 1 ? "s" : "",
               fm_cli_fmt_prob(p0, pb, sizeof pb), c * 100);
    else
        printf("About %llu runs pin down the attempt count for target %g at a failure rate of "
               "%s (--until-decided, %.10g%% confidence, %llu in flight).\n",
               (unsigned long long)runs, target, fm_cli_fmt_prob(p, pb, sizeof pb), c * 100,
               (unsigned long long)plan.in_flight);
    if (have_s) {
        printf("On %llu machine%s x %llu at a time, %g s a run: %llu wave%s, ",
               (unsigned long long)machines, machines == 1 ? "" : "s", (unsigned long long)jobs,
               fleet.seconds_per_run, (unsigned long long)plan.waves, plan.waves == 1 ? "" : "s");
        print_duration(plan.wall_s);
        printf(" wall, %.3g CPU-hours.\n", plan.cpu_hours);
        if (have_p && machines > 1)
            printf("(The fleet stops together only on a shared store; shards with merge each "
                   "need -n %llu.)\n",
                   (unsigned long long)((runs + machines - 1) / machines));
    }
    return FM_EXIT_OK;
}
