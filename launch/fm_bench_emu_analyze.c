/*
 * fm_bench_emu_analyze.c - from the runs of one (workload, arch) pair to what
 * `flakemeter bench emu` reports (fm_bench_emu.h).  The formulas are libfmstats' and
 * docs/statistics.md sec. 11 and docs/emulation.md explain them; this file only chooses the runs:
 *
 *  - medians and CPU medians: passing runs of each side;
 *  - the slowdown ratio: pairs whose two runs both passed (a failing emulated run is counted by
 *    outcome and never averaged in);
 *  - P(an emulated run exceeds timeout T): every emulated run but errors counts; a run exceeded
 *    T when it took longer or was killed at the limit.  With k > 0 exceedances the exact
 *    (Clopper-Pearson) interval of k of n; with none, the log-normal fit of the passing
 *    durations extrapolates into the tail (the binomial bound alone would say only "below
 *    3.7/n");
 *  - the timeout for the target: from that fit, only when no run was killed at the limit (the
 *    fit of durations censored at the limit would be biased);
 *  - the cost of retrying timeouts: libfmstats' policy cost with the estimate p, a pass costing
 *    the mean passing duration within T, a failure costing T itself.
 */
#include "fm_bench_emu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *fm_bench_p_method_name(fm_bench_p_method method)
{
    switch (method) {
    case FM_BENCH_P_BINOMIAL:
        return "binomial";
    case FM_BENCH_P_LOGNORMAL:
        return "lognormal";
    case FM_BENCH_P_NONE:
        break;
    }
    return "none";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (sorted in place); NaN when n = 0. */
static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static double wall_s(const fm_run_record *r)
{
    return (double)r->wall_ns * 1e-9;
}

static double cpu_s(const fm_run_record *r)
{
    return (double)(r->user_us + r->sys_us) * 1e-6;
}

typedef struct {
    double *nat, *emu, *nat_cpu, *emu_cpu, *pair_nat, *pair_emu;
} columns;

static void columns_free(columns *c)
{
    free(c->nat);
    free(c->emu);
    free(c->nat_cpu);
    free(c->emu_cpu);
    free(c->pair_nat);
    free(c->pair_emu);
}

static bool columns_alloc(columns *c, size_t n)
{
    size_t k = n ? n : 1;
    c->nat = malloc(k * sizeof(double));
    c->emu = malloc(k * sizeof(double));
    c->nat_cpu = malloc(k * sizeof(double));
    c->emu_cpu = malloc(k * sizeof(double));
    c->pair_nat = malloc(k * sizeof(double));
    c->pair_emu = malloc(k * sizeof(double));
    return c->nat && c->emu && c->nat_cpu && c->emu_cpu && c->pair_nat && c->pair_emu;
}

/* Outcome counts, passing columns, pairs, medians. */
static void collect(const fm_bench_pair *pair, columns *c, fm_bench_analysis *out)
{
    for (size_t i = 0; i < pair->reps; i++) {
        const fm_bench_rep *r = &pair->rep[i];
        out->native_outcomes[r->native.outcome]++;
        out->emulated_outcomes[r->emulated.outcome]++;
        bool np = r->native.outcome == FM_OUTCOME_PASS, ep = r->emulated.outcome == FM_OUTCOME_PASS;
        if (np) {
            c->nat[out->native_passed] = wall_s(&r->native);
            c->nat_cpu[out->native_passed++] = cpu_s(&r->native);
        }
        if (ep) {
            c->emu[out->emulated_passed] = wall_s(&r->emulated);
            c->emu_cpu[out->emulated_passed++] = cpu_s(&r->emulated);
        }
        if (np && ep) {
            c->pair_nat[out->pairs] = wall_s(&r->native);
            c->pair_emu[out->pairs++] = wall_s(&r->emulated);
        }
        if (r->emulated.outcome == FM_OUTCOME_TIMEOUT)
            out->limit_reached = true;
        if (out->machine[0] == '\0')
            memcpy(out->machine, r->machine, sizeof out->machine);
    }
}

static fm_stats_status ratio_and_medians(columns *c, double conf, fm_bench_analysis *out)
{
    fm_stats_status st = FM_STATS_OK;
    out->have_ratio = out->pairs >= 2;
    if (out->have_ratio)
        st = fm_stats_ratio_paired(c->pair_emu, c->pair_nat, out->pairs, conf, &out->ratio);
    out->native_median_s = median(c->nat, out->native_passed);
    out->emulated_median_s = median(c->emu, out->emulated_passed);
    out->native_cpu_median_s = median(c->nat_cpu, out->native_passed);
    out->emulated_cpu_median_s = median(c->emu_cpu, out->emulated_passed);
    out->median_ratio = out->emulated_median_s / out->native_median_s;
    return st;
}

/* Counts of emulated runs against one timeout, and the mean passing duration within it. */
static void count_exceed(const fm_bench_pair *pair, fm_bench_timeout *t)
{
    double sum = 0.0;
    int64_t passed = 0;
    for (size_t i = 0; i < pair->reps; i++) {
        const fm_run_record *r = &pair->rep[i].emulated;
        if (r->outcome == FM_OUTCOME_ERROR)
            continue;
        t->runs++;
        if (r->outcome == FM_OUTCOME_TIMEOUT || wall_s(r) > t->timeout_s) {
            t->exceeded++;
        } else if (r->outcome == FM_OUTCOME_PASS) {
            sum += wall_s(r);
            passed++;
        }
    }
    t->pass_mean_s = passed ? sum / (double)passed : t->timeout_s;
}

static fm_stats_status judge_timeout(const fm_bench_pair *pair, const fm_lognormal_fit *fit,
                                     bool have_fit, const fm_bench_analysis_options *opt,
                                     fm_bench_timeout *t)
{
    count_exceed(pair, t);
    fm_stats_status st = FM_STATS_OK;
    if (t->exceeded > 0 || (!have_fit && t->runs > 0)) {
        t->method = FM_BENCH_P_BINOMIAL;
        st = fm_stats_interval((uint64_t)t->exceeded, (uint64_t)t->runs, opt->confidence,
                               FM_CI_EXACT, FM_CI_TWO_SIDED, &t->p);
    } else if (have_fit) {
        t->method = FM_BENCH_P_LOGNORMAL;
        st = fm_stats_lognormal_exceed(fit, t->timeout_s, opt->confidence, &t->p);
    } else {
        t->method = FM_BENCH_P_NONE;
        t->p = (fm_interval){NAN, 0.0, 1.0};
        return FM_STATS_OK;
    }
    t->attempts = opt->attempts;
    if (st == FM_STATS_OK)
        st = fm_stats_policy_cost(t->p.estimate, t->p.estimate, opt->attempts, t->pass_mean_s,
                                  t->timeout_s, &t->cost);
    if (st == FM_STATS_OK)
        st = fm_stats_attempts_independent(t->p.estimate, opt->target, &t->needed);
    if (st == FM_STATS_OK)
        st = fm_stats_attempts_independent(t->p.upper, opt->target, &t->needed_conservative);
    return st;
}

static fm_stats_status timeouts(const fm_bench_pair *pair, columns *c,
                                const fm_bench_analysis_options *opt, fm_bench_analysis *out)
{
    fm_lognormal_fit fit;
    bool have_fit = out->emulated_passed >= 2 &&
                    fm_stats_lognormal_fit(c->emu, out->emulated_passed, &fit) == FM_STATS_OK;
    fm_stats_status st = FM_STATS_OK;
    for (size_t i = 0; i < out->n_timeouts && st == FM_STATS_OK; i++) {
        out->timeouts[i].timeout_s = opt->timeouts_s[i];
        st = judge_timeout(pair, &fit, have_fit, opt, &out->timeouts[i]);
    }
    out->have_timeout_for_target = have_fit && !out->limit_reached;
    if (st == FM_STATS_OK && out->have_timeout_for_target)
        st = fm_stats_lognormal_timeout(&fit, opt->target, opt->confidence,
                                        &out->timeout_for_target);
    return st;
}

fm_run_status fm_bench_analyze(const fm_bench_pair *pair, const fm_bench_analysis_options *opt,
                               fm_bench_analysis *out)
{
    if (pair == NULL || opt == NULL || out == NULL || (opt->n_timeouts && !opt->timeouts_s) ||
        !(opt->confidence > 0 && opt->confidence < 1) || !(opt->target > 0 && opt->target < 1) ||
        opt->attempts < 1)
        return FM_RUN_EINVAL;
    *out = (fm_bench_analysis){.n_timeouts = opt->n_timeouts};
    columns c = {0};
    fm_run_status status = FM_RUN_ENOMEM;
    out->timeouts = calloc(opt->n_timeouts ? opt->n_timeouts : 1, sizeof *out->timeouts);
    if (out->timeouts == NULL || !columns_alloc(&c, pair->reps))
        goto done;
    collect(pair, &c, out);
    status = ratio_and_medians(&c, opt->confidence, out) == FM_STATS_OK &&
                     timeouts(pair, &c, opt, out) == FM_STATS_OK
                 ? FM_RUN_OK
                 : FM_RUN_EINVAL;
done:
    columns_free(&c);
    if (status != FM_RUN_OK)
        fm_bench_analysis_free(out);
    return status;
}

void fm_bench_analysis_free(fm_bench_analysis *analysis)
{
    if (analysis != NULL) {
        free(analysis->timeouts);
        analysis->timeouts = NULL;
        analysis->n_timeouts = 0;
    }
}
