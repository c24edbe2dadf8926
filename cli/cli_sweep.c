/*
 * cli_sweep.c - what `flakemeter sweep` prints (cli_report.h): per cell runs, failures and the
 * exact interval, the tests within blocks (which decide), the drift across blocks (the machine
 * is unstable when beyond chance), the pooled tests, and a one-line conclusion for people; one
 * JSON object for programs (keys in cmd_sweep.c's comment); the plot of the intervals; the note
 * when -j is lowered for a combination's CPUs.  The numbers come from libfmrun
 * (launch/fm_sweep.h, fm_sweep_analyze).
 */
#include "cli_report.h"
#include "fm_cli.h"
#include "fm_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- results -------------------------------------------------------------------------------- */

static json_t *value_json(const fm_sweep_var *v, int level)
{
    char *end;
    long long i = strtoll(v->values[level], &end, 10);
    if (*end == '\0' && end != v->values[level])
        return json_integer(i);
    return v->numeric ? json_real(v->score[level]) : json_string(v->values[level]);
}

json_t *fm_cli_sweep_json(const fm_cli_sweep_view *a, const fm_sweep_analysis *r,
                          const fm_sweep_report *rep)
{
    const fm_sweep *sw = a->sweep;
    json_t *o = json_object(), *arr = json_array(), *names = json_array();
    json_object_set_new(
        o, "label", json_string(a->sweep->spec->label ? a->sweep->spec->label : sw->base_label));
    for (int i = 0; i < sw->spec->n_vars; i++)
        json_array_append_new(names, json_string(sw->spec->vars[i].name));
    json_object_set_new(o, "varied", names);
    for (size_t i = 0; i < sw->n_cells; i++) {
        const fm_sweep_cell *c = &sw->cells[i];
        json_t *e = json_object();
        for (int v = 0; v < sw->spec->n_vars; v++)
            json_object_set_new(e, sw->spec->vars[v].name,
                                value_json(&sw->spec->vars[v], c->level[v]));
        json_object_set_new(e, "label", json_string(c->label));
        json_object_set_new(e, "runs", json_integer((json_int_t)c->runs));
        json_object_set_new(e, "failures", json_integer((json_int_t)c->failures));
        json_object_set_new(e, "estimate", fm_cli_json_real(c->ci.estimate));
        json_object_set_new(e, "lower", json_real(c->ci.lower));
        json_object_set_new(e, "upper", json_real(c->ci.upper));
        json_object_set_new(e, "jobs", json_integer(c->jobs));
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "conditions", arr);
    json_object_set_new(o, "confidence", json_real(a->confidence));
    json_object_set_new(o, "homogeneity_test", json_string(r->test));
    json_object_set_new(o, "homogeneity_p", json_real(r->homog_p));
    json_object_set_new(o, "trend_variable",
                        r->have_trend ? json_string(sw->spec->vars[0].name) : json_null());
    json_object_set_new(o, "trend_z", r->have_trend ? json_real(r->trend_z) : json_null());
    json_object_set_new(o, "trend_p", r->have_trend ? json_real(r->trend_p) : json_null());
    json_object_set_new(o, "blocks", json_integer(a->rounds));
    json_object_set_new(o, "strata", json_integer((json_int_t)r->strata));
    json_object_set_new(o, "strata_used", json_integer((json_int_t)r->strata_used));
    json_object_set_new(o, "stratified_test", json_string(r->strat_test));
    json_object_set_new(o, "stratified_p", json_real(r->strat_p));
    json_object_set_new(o, "stratified_statistic", json_real(r->strat_statistic));
    json_object_set_new(o, "stratified_df", json_real(r->strat_df));
    json_object_set_new(o, "odds_ratio", fm_cli_json_real(r->odds_ratio));
    json_object_set_new(o, "stratified_trend_z",
                        r->have_strat_trend ? json_real(r->strat_trend_z) : json_null());
    json_object_set_new(o, "stratified_trend_p",
                        r->have_strat_trend ? json_real(r->strat_trend_p) : json_null());
    json_object_set_new(o, "drift_p", r->have_drift ? json_real(r->drift_p) : json_null());
    json_object_set_new(o, "drift_condition",
                        r->have_drift ? json_integer((json_int_t)r->drift_cell) : json_null());
    json_object_set_new(o, "drift_low", r->have_drift ? json_real(r->drift_low) : json_null());
    json_object_set_new(o, "drift_high", r->have_drift ? json_real(r->drift_high) : json_null());
    json_object_set_new(o, "unstable",
                        json_boolean(r->have_drift && r->drift_p < 1 - a->confidence));
    json_object_set_new(o, "most", json_integer((json_int_t)r->most));
    json_object_set_new(o, "least", json_integer((json_int_t)r->least));
    static const char *const stops[] = {"runs",   "duration", "decided",
                                        "sigint", "sigterm",  "error"};
    json_object_set_new(o, "stop", json_string(stops[rep->stop]));
    return o;
}

/* "90.0% (86.1-93.2%)" */
static const char *fmt_cell(const fm_sweep_cell *c, char *buf, size_t size)
{
    double v[3] = {c->ci.estimate, c->ci.lower, c->ci.upper};
    char t[3][32];
    if (c->runs == 0)
        return snprintf(buf, size, "no runs"), buf;
    fm_cli_fmt_probs(v, t, 3);
    snprintf(buf, size, "%s (%s to %s)", t[0], t[1], t[2]);
    return buf;
}

/* The tests within blocks: these decide whether the conditions matter. */
static void print_within(const fm_cli_sweep_view *a, const fm_sweep_analysis *r, double alpha)
{
    const fm_sweep *sw = a->sweep;
    char strata[96];
    snprintf(strata, sizeof strata, "%zu of %zu blocks informative", r->strata_used, r->strata);
    if (strcmp(r->strat_test, "generalised CMH") == 0)
        printf("  within blocks: generalised Cochran-Mantel-Haenszel chi-square %.3g, df %.0f, "
               "p = %.3g (%s; %s)\n",
               r->strat_statistic, r->strat_df, r->strat_p, strata,
               r->strat_p < alpha ? "the failure probability depends on the conditions"
                                  : "no dependence detected");
    else
        printf("  within blocks: %s test (Cochran-Mantel-Haenszel) p = %.3g, common odds ratio "
               "%.3g (%s; %s)\n",
               strcmp(r->strat_test, "exact conditional") == 0 ? "exact conditional" : "chi-square",
               r->strat_p, r->odds_ratio, strata,
               r->strat_p < alpha ? "the failure probability depends on the conditions"
                                  : "no dependence detected");
    if (r->have_strat_trend)
        printf("  trend over %s within blocks: z = %.3g, p = %.3g (%s)\n", sw->spec->vars[0].name,
               r->strat_trend_z, r->strat_trend_p,
               r->strat_trend_p >= alpha ? "no trend detected"
               : r->strat_trend_z > 0    ? "fails more as it grows"
                                         : "fails less as it grows");
}

/* Drift: the same condition's rate across the blocks of this invocation. */
static void print_drift(const fm_cli_sweep_view *a, const fm_sweep_analysis *r, double alpha)
{
    if (a->rounds == 1) {
        printf("  drift: not measured in one block (--rounds 1): a drifting machine would look "
               "like an effect of the conditions\n");
        return;
    }
    if (!r->have_drift)
        return;
    const fm_sweep_cell *c = &a->sweep->cells[r->drift_cell];
    double v[2] = {r->drift_low, r->drift_high};
    char t[2][32];
    fm_cli_fmt_probs(v, t, 2);
    if (r->drift_p < alpha)
        printf("  drift: the machine is unstable: %s's rate varied from %s to %s across blocks "
               "(p = %.3g, exact test across blocks, Bonferroni over %d conditions); only the "
               "comparison within blocks is sound\n",
               c->what, t[0], t[1], r->drift_p, r->drift_tested);
    else
        printf("  drift: none detected across blocks (largest: %s, %s to %s, p = %.3g)\n", c->what,
               t[0], t[1], r->drift_p);
}

void fm_cli_sweep_jobs_note(const fm_sweep *sw, int jobs, bool allow, FILE *out)
{
    char list[512] = "";
    size_t used = 0, lowered = 0;
    int limit = 0;
    bool same = true;
    for (size_t i = 0; i < sw->n_cells; i++) {
        const fm_sweep_cell *c = &sw->cells[i];
        if (c->cpu_limit <= 0 || c->cpu_limit >= jobs)
            continue;
        same &= lowered == 0 || c->cpu_limit == limit;
        limit = c->cpu_limit;
        lowered++;
        if (used < sizeof list) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", c->what);
            used = w < 0 ? sizeof list : used + (size_t)w;
        }
    }
    if (lowered == 0)
        return;
    if (used >= sizeof list)
        snprintf(list + sizeof list - 5, 5, "...");
    if (lowered == sw->n_cells && same) {
        char fixed[256];
        fm_cond_describe(&sw->spec->fixed, fixed, sizeof fixed);
        if (*fixed)
            snprintf(list, sizeof list, "every combination (%s)", fixed);
    }
    if (allow)
        fprintf(out,
                "flakemeter sweep: -j %d kept for %s (--allow-oversubscribe): attempts share "
                "fewer CPUs than they are many and measure preemption\n",
                jobs, list);
    else if (same)
        fprintf(out,
                "flakemeter sweep: -j lowered to %d for %s: %d attempts on %d CPU%s measure "
                "preemption, not placement; --allow-oversubscribe to keep it\n",
                limit, list, jobs, limit, limit == 1 ? "" : "s");
    else
        fprintf(out,
                "flakemeter sweep: -j lowered to the CPUs each combination allows for %s: more "
                "attempts than CPUs measure preemption, not placement; --allow-oversubscribe to "
                "keep -j %d\n",
                list, jobs);
}

void fm_cli_sweep_print(const fm_cli_sweep_view *a, const fm_sweep_analysis *r,
                        const fm_sweep_report *rep)
{
    const fm_sweep *sw = a->sweep;
    printf("%s: %zu conditions, %lld runs each in this invocation (%d of %d blocks, %.1f s) in "
           "%s\n",
           a->sweep->spec->label ? a->sweep->spec->label : sw->base_label, sw->n_cells,
           (long long)a->runs, rep->rounds_done, a->rounds, rep->wall_s, a->db);
    int width[FM_SWEEP_MAX_VARY];
    printf(" ");
    for (int v = 0; v < sw->spec->n_vars; v++) {
        width[v] = (int)strlen(sw->spec->vars[v].name);
        for (int j = 0; j < sw->spec->vars[v].n_values; j++)
            if ((int)strlen(sw->spec->vars[v].values[j]) > width[v])
                width[v] = (int)strlen(sw->spec->vars[v].values[j]);
        printf(" %*s", width[v], sw->spec->vars[v].name);
    }
    printf("  %8s  %8s  failure probability (%.10g%% exact CI)\n", "runs", "failures",
           a->confidence * 100);
    for (size_t i = 0; i < sw->n_cells; i++) {
        const fm_sweep_cell *c = &sw->cells[i];
        char buf[128];
        printf(" ");
        for (int v = 0; v < sw->spec->n_vars; v++)
            printf(" %*s", width[v], sw->spec->vars[v].values[c->level[v]]);
        printf("  %8llu  %8llu  %s\n", (unsigned long long)c->runs, (unsigned long long)c->failures,
               fmt_cell(c, buf, sizeof buf));
    }
    double alpha = 1 - a->confidence;
    print_within(a, r, alpha);
    print_drift(a, r, alpha);
    printf("  pooled over blocks: %s p = %.3g",
           strcmp(r->test, "exact") == 0 ? "homogeneity (Fisher-Freeman-Halton exact test)"
                                         : "homogeneity (chi-square test; too many tables for the "
                                           "exact one)",
           r->homog_p);
    if (r->have_trend)
        printf("; trend over %s (Cochran-Armitage) z = %.3g, p = %.3g", sw->spec->vars[0].name,
               r->trend_z, r->trend_p);
    printf("\n");
    char most[128], least[128];
    const fm_sweep_cell *hi = &sw->cells[r->most], *lo = &sw->cells[r->least];
    if (hi->runs && lo->runs && hi->ci.estimate == lo->ci.estimate)
        printf("  every condition failed alike: e.g. %s: %s\n", hi->what,
               fmt_cell(hi, most, sizeof most));
    else
        printf("  fails most with %s: %s; least with %s: %s\n", hi->what,
               fmt_cell(hi, most, sizeof most), lo->what, fmt_cell(lo, least, sizeof least));
}

int fm_cli_sweep_plot(const fm_cli_sweep_view *a)
{
    const fm_sweep *sw = a->sweep;
    fm_plot_point *pts = calloc(sw->n_cells, sizeof *pts);
    if (pts == NULL)
        return fm_cli_fail("out of memory");
    size_t n = 0;
    for (size_t i = 0; i < sw->n_cells; i++)
        if (sw->cells[i].runs > 0)
            pts[n++] = (fm_plot_point){.category = sw->cells[i].what,
                                       .estimate = sw->cells[i].ci.estimate,
                                       .lower = sw->cells[i].ci.lower,
                                       .upper = sw->cells[i].ci.upper};
    char title[700], err[512];
    snprintf(title, sizeof title, "%s: failure probability (%.10g%% exact CI)",
             a->sweep->spec->label ? a->sweep->spec->label : sw->base_label, a->confidence * 100);
    fm_plot_style style = {.title = title, .ylabel = "failure probability", .percent = true};
    fm_plot_status st = fm_plot_intervals(a->plot, &style, pts, n, err, sizeof err);
    free(pts);
    return st == FM_PLOT_OK ? 0 : fm_cli_fail("--plot: %s", err);
}
