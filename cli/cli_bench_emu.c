/*
 * cli_bench_emu.c - what `flakemeter bench emu` prints (cli_report.h): the table of slowdowns
 * and the timeout lines for people, one JSON object for programs (keys: docs/emulation.md), and
 * the slowdown plot.  The numbers come from libfmrun's fm_bench_run (launch/fm_bench_emu.h).
 */
#include "cli_report.h"
#include "fm_cli.h"
#include "fm_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* ---- text ------------------------------------------------------------------------------------ */

static const char *fmt_secs(double s, char *buf, size_t size)
{
    if (!isfinite(s))
        snprintf(buf, size, "-");
    else if (s < 1e-3)
        snprintf(buf, size, "%.0f us", s * 1e6);
    else if (s < 1.0)
        snprintf(buf, size, "%.1f ms", s * 1e3);
    else
        snprintf(buf, size, "%.2f s", s);
    return buf;
}

static const char *fmt_outcomes(const int64_t *counts, char *buf, size_t size)
{
    int len = 0;
    buf[0] = '\0';
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        if (counts[o] && len >= 0 && (size_t)len < size)
            len += snprintf(buf + len, size - (size_t)len, "%s%lld %s", len ? ", " : "",
                            (long long)counts[o], fm_outcome_name((fm_outcome)o));
    return buf;
}

static void print_row(const fm_bench_result *r)
{
    const fm_bench_analysis *an = &r->analysis;
    char wl[64], nat[32], emu[32], ratio[64], cpu[32], outc[128];
    snprintf(wl, sizeof wl, "%s%s%s", r->spec->wl->name, r->spec->n_assign ? "*" : "",
             r->impl ? (strcmp(r->impl, "openssl") == 0 ? " openssl" : " portable") : "");
    if (an->have_ratio)
        snprintf(ratio, sizeof ratio, "%.1fx (%.1f-%.1f)", an->ratio.ratio, an->ratio.lower,
                 an->ratio.upper);
    else
        snprintf(ratio, sizeof ratio, "-");
    snprintf(cpu, sizeof cpu, "%.1fx", an->emulated_cpu_median_s / an->native_cpu_median_s);
    printf("%-22s %-8s %9s %10s  %-22s %7s %4zu  %s\n", wl, r->arch->name,
           fmt_secs(an->native_median_s, nat, sizeof nat),
           fmt_secs(an->emulated_median_s, emu, sizeof emu), ratio,
           isfinite(an->emulated_cpu_median_s / an->native_cpu_median_s) ? cpu : "-", r->pair.reps,
           fmt_outcomes(an->emulated_outcomes, outc, sizeof outc));
    if (r->pair.first_failure[0])
        printf("%-22s first failing emulated run: %s\n", "", r->pair.first_failure);
}

static void print_timeouts(const fm_bench_result *r, const fm_cli_bench_view *a)
{
    const fm_bench_analysis *an = &r->analysis;
    char pt[32], ct[32], tgt[32];
    printf("  %s%s%s on %s:", r->spec->wl->name, r->impl ? " " : "", r->impl ? r->impl : "",
           r->arch->name);
    fm_cli_fmt_prob(a->target, tgt, sizeof tgt);
    if (an->have_timeout_for_target)
        printf(" a timeout of %s keeps P(exceed) at %s (%s with %g%% confidence)\n",
               fmt_secs(an->timeout_for_target.point, pt, sizeof pt), tgt,
               fmt_secs(an->timeout_for_target.conservative, ct, sizeof ct), a->confidence * 100);
    else
        printf(" %s\n", an->limit_reached ? "runs reached the --limit: no timeout for the target"
                                          : "too few passing runs to fit");
    for (size_t i = 0; i < an->n_timeouts; i++) {
        const fm_bench_timeout *t = &an->timeouts[i];
        char p[3][32], cost[32];
        double v[3] = {t->p.estimate, t->p.lower, t->p.upper};
        fm_cli_fmt_probs(v, p, 3);
        for (int k = 0; k < 3; k++)
            if (v[k] == 0.0 && t->method == FM_BENCH_P_LOGNORMAL)
                snprintf(p[k], sizeof p[k], "<1e-300");
        printf("    timeout %g s: P(exceed) %s (CI %s to %s, %s, %lld of %lld exceeded); %llu "
               "attempts: %.3f per job, %s\n",
               t->timeout_s, p[0], p[1], p[2], fm_bench_p_method_name(t->method),
               (long long)t->exceeded, (long long)t->runs, (unsigned long long)t->attempts,
               t->cost.expected_attempts, fmt_secs(t->cost.expected_seconds, cost, sizeof cost));
    }
}

void fm_cli_bench_print(const fm_bench_report *rep, const fm_cli_bench_view *a)
{
    struct utsname u;
    uname(&u);
    printf("Emulated (QEMU user mode) vs native (%s) wall time, medians of passing runs;\n"
           "slowdown = geometric mean of paired ratios with its %g%% interval (log-scale t)\n\n",
           u.machine, a->confidence * 100);
    printf("%-22s %-8s %9s %10s  %-22s %7s %4s  %s\n", "workload", "arch", "native", "emulated",
           "slowdown (CI)", "cpu", "reps", "emulated outcomes");
    for (size_t i = 0; i < rep->n_results; i++)
        print_row(&rep->results[i]);
    bool star = false;
    for (size_t i = 0; i < a->n_specs; i++)
        star |= a->specs[i].n_assign > 0;
    if (star)
        printf("* with parameters (JSON: params)\n");
    printf("\nTimeouts (emulated runs; retries cost with %llu attempts per job):\n",
           (unsigned long long)a->attempts);
    for (size_t i = 0; i < rep->n_results; i++)
        print_timeouts(&rep->results[i], a);
    for (size_t i = 0; i < rep->n_results; i++)
        if (rep->results[i].analysis.machine[0] == '\0')
            printf("note: the emulated fm-stress for %s printed no machine= (an old build? "
                   "tools/cross/build.sh %s)\n",
                   rep->results[i].arch->name, rep->results[i].arch->name);
    for (size_t i = 0; i < rep->n_notes; i++)
        printf("note: %s\n", rep->notes[i]);
    for (size_t i = 0; i < rep->n_skipped; i++)
        printf("skipped: %s\n", rep->skipped[i]);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_t *outcomes_json(const int64_t *counts)
{
    json_t *o = json_object();
    for (int k = 0; k < FM_OUTCOME_COUNT; k++)
        json_object_set_new(o, fm_outcome_name((fm_outcome)k), json_integer(counts[k]));
    return o;
}

static json_t *timeout_json(const fm_bench_timeout *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "timeout_s", fm_cli_json_real(t->timeout_s));
    json_object_set_new(o, "runs", json_integer(t->runs));
    json_object_set_new(o, "exceeded", json_integer(t->exceeded));
    json_object_set_new(o, "method", json_string(fm_bench_p_method_name(t->method)));
    json_object_set_new(o, "p", fm_cli_json_real(t->p.estimate));
    json_object_set_new(o, "p_lower", fm_cli_json_real(t->p.lower));
    json_object_set_new(o, "p_upper", fm_cli_json_real(t->p.upper));
    json_object_set_new(o, "pass_mean_s", fm_cli_json_real(t->pass_mean_s));
    json_object_set_new(o, "attempts", json_integer((json_int_t)t->attempts));
    json_object_set_new(o, "expected_attempts", fm_cli_json_real(t->cost.expected_attempts));
    json_object_set_new(o, "expected_seconds", fm_cli_json_real(t->cost.expected_seconds));
    json_object_set_new(o, "all_fail", fm_cli_json_real(t->cost.residual));
    json_object_set_new(o, "attempts_for_target",
                        t->needed.reachable ? json_integer((json_int_t)t->needed.attempts)
                                            : json_null());
    json_object_set_new(o, "attempts_for_target_conservative",
                        t->needed_conservative.reachable
                            ? json_integer((json_int_t)t->needed_conservative.attempts)
                            : json_null());
    return o;
}

static json_t *target_json(const fm_bench_analysis *an, double target)
{
    json_t *o = json_object();
    bool ok = an->have_timeout_for_target;
    json_object_set_new(o, "target", fm_cli_json_real(target));
    json_object_set_new(o, "point_s",
                        ok ? fm_cli_json_real(an->timeout_for_target.point) : json_null());
    json_object_set_new(o, "conservative_s",
                        ok ? fm_cli_json_real(an->timeout_for_target.conservative) : json_null());
    return o;
}

static json_t *result_json(const fm_bench_result *r, const fm_cli_bench_view *a)
{
    const fm_bench_analysis *an = &r->analysis;
    json_t *o = json_object();
    json_object_set_new(o, "workload", json_string(r->spec->wl->name));
    json_object_set_new(o, "params", json_string(r->params));
    json_object_set_new(o, "implementation", r->impl ? json_string(r->impl) : json_null());
    json_object_set_new(o, "arch", json_string(r->arch->name));
    json_object_set_new(o, "emulator", json_string(r->arch->qemu));
    json_object_set_new(o, "machine", json_string(an->machine));
    json_object_set_new(o, "reps", json_integer((json_int_t)r->pair.reps));
    json_object_set_new(o, "pairs", json_integer((json_int_t)an->pairs));
    json_object_set_new(o, "native_median_s", fm_cli_json_real(an->native_median_s));
    json_object_set_new(o, "emulated_median_s", fm_cli_json_real(an->emulated_median_s));
    json_object_set_new(o, "native_cpu_median_s", fm_cli_json_real(an->native_cpu_median_s));
    json_object_set_new(o, "emulated_cpu_median_s", fm_cli_json_real(an->emulated_cpu_median_s));
    json_object_set_new(o, "ratio",
                        an->have_ratio ? fm_cli_json_real(an->ratio.ratio) : json_null());
    json_object_set_new(o, "ratio_lower",
                        an->have_ratio ? fm_cli_json_real(an->ratio.lower) : json_null());
    json_object_set_new(o, "ratio_upper",
                        an->have_ratio ? fm_cli_json_real(an->ratio.upper) : json_null());
    json_object_set_new(o, "median_ratio", fm_cli_json_real(an->median_ratio));
    json_object_set_new(o, "outcomes", outcomes_json(an->emulated_outcomes));
    json_object_set_new(o, "native_outcomes", outcomes_json(an->native_outcomes));
    json_object_set_new(o, "first_failure",
                        r->pair.first_failure[0] ? json_string(r->pair.first_failure)
                                                 : json_null());
    json_t *ts = json_array();
    for (size_t i = 0; i < an->n_timeouts; i++)
        json_array_append_new(ts, timeout_json(&an->timeouts[i]));
    json_object_set_new(o, "timeouts", ts);
    json_object_set_new(o, "timeout_for_target", target_json(an, a->target));
    json_t *c = json_object();
    json_object_set_new(c, "native", json_string(r->label_native));
    json_object_set_new(c, "emulated", json_string(r->label_emulated));
    json_object_set_new(o, "campaigns", c);
    return o;
}

json_t *fm_cli_bench_json(const fm_bench_report *rep, const fm_cli_bench_view *a)
{
    struct utsname u;
    uname(&u);
    json_t *o = json_object(), *results = json_array(), *skipped = json_array(),
           *notes = json_array();
    json_object_set_new(o, "host_machine", json_string(u.machine));
    json_object_set_new(o, "confidence", fm_cli_json_real(a->confidence));
    json_object_set_new(o, "target", fm_cli_json_real(a->target));
    json_object_set_new(o, "reps", json_integer((json_int_t)a->reps));
    json_object_set_new(o, "warmup", json_integer((json_int_t)a->warmup));
    json_object_set_new(o, "limit_s", fm_cli_json_real(a->limit));
    json_object_set_new(o, "db", json_string(a->db));
    for (size_t i = 0; i < rep->n_results; i++)
        json_array_append_new(results, result_json(&rep->results[i], a));
    for (size_t i = 0; i < rep->n_skipped; i++)
        json_array_append_new(skipped, json_string(rep->skipped[i]));
    for (size_t i = 0; i < rep->n_notes; i++)
        json_array_append_new(notes, json_string(rep->notes[i]));
    json_object_set_new(o, "results", results);
    json_object_set_new(o, "skipped", skipped);
    json_object_set_new(o, "notes", notes);
    return o;
}

/* ---- plot ------------------------------------------------------------------------------------ */

int fm_cli_bench_plot(const fm_bench_report *rep, const fm_cli_bench_view *a)
{
    fm_bench_slowdown *s;
    size_t n;
    if (fm_bench_slowdowns(rep, &s, &n) != FM_RUN_OK)
        return fm_cli_fail("out of memory");
    fm_plot_point *pts = calloc(n ? n : 1, sizeof *pts);
    int rc = 0;
    for (size_t i = 0; pts && i < n; i++)
        pts[i] = (fm_plot_point){.category = s[i].category,
                                 .series = s[i].series,
                                 .estimate = s[i].estimate,
                                 .lower = s[i].lower,
                                 .upper = s[i].upper};
    char title[160], err[256];
    snprintf(title, sizeof title,
             "Slowdown under QEMU user mode (emulated / native wall time, %g%% CI)",
             a->confidence * 100);
    fm_plot_style style = {.title = title,
                           .ylabel = "slowdown (emulated / native)",
                           .log_y = true,
                           .y_reference = 1.0};
    if (pts == NULL)
        rc = fm_cli_fail("out of memory");
    else if (n == 0)
        rc = fm_cli_fail("--plot: no slowdown to plot (fewer than 2 passing pairs everywhere)");
    else if (fm_plot_intervals(a->plot, &style, pts, n, err, sizeof err) != FM_PLOT_OK)
        rc = fm_cli_fail("--plot: %s", err);
    free(pts);
    free(s);
    return rc;
}
