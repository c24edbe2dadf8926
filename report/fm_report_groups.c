/*
 * fm_report_groups.c - campaigns that belong together: the cells of a sweep (labels
 * "BASE [name=value ...]") and the native/emulated pairs of `bench emu` ("emu ARCH native: W"
 * and "emu ARCH QEMU: W").
 *
 * A sweep's cells are counted as `show --list` counts them (fm_verdict_list: first attempts that
 * ran, their failures, the exact interval) and tested for homogeneity with the calls of
 * fm_sweep_analyze (Fisher-Freeman-Halton, chi-square when the table is too big).  A bench pair
 * is read back from the store (its two runs share a run_index, docs/emulation.md "Store") and
 * analysed by fm_bench_analyze, the function `bench emu` itself calls.  The pictures are the
 * interval charts of `sweep --plot` and `bench emu --plot`, drawn as inline SVG.
 */
#include "fm_bench_emu.h"
#include "fm_report_internal.h"
#include "fm_verdict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sweeps --------------------------------------------------------------------------------- */

void fm_rep_sweep(fm_rep_doc *d, fm_store *store, const char *base, const int64_t *ids, size_t n)
{
    fm_verdict_row *all = NULL;
    int64_t *ids_all = NULL;
    size_t n_all = 0, m = 0;
    uint64_t *k = calloc(n, sizeof *k), *t = calloc(n, sizeof *t);
    fm_svg_interval *rows = calloc(n, sizeof *rows);
    const fm_verdict_row **cell = calloc(n, sizeof *cell);
    if (k == NULL || t == NULL || rows == NULL || cell == NULL) {
        fm_rep_fail(d, FM_REPORT_ENOMEM, "out of memory");
        goto out;
    }
    if (fm_verdict_list(store, d->opt->confidence, &all, &n_all) != FM_STORE_OK) {
        fm_rep_fail(d, FM_REPORT_ESTORE, "cannot read %s: %s", d->opt->db, fm_store_errmsg(store));
        goto out;
    }
    /* fm_verdict_list is in creation order, as fm_store_campaign_list: match by id. */
    if (fm_store_campaign_list(store, &ids_all, &m) != FM_STORE_OK || m != n_all) {
        fm_rep_fail(d, FM_REPORT_ESTORE, "cannot read %s: %s", d->opt->db, fm_store_errmsg(store));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < m; j++)
            if (ids_all[j] == ids[i])
                cell[i] = &all[j];
        if (cell[i] == NULL) {
            fm_rep_fail(d, FM_REPORT_ESTORE, "a campaign vanished while reading %s", d->opt->db);
            goto out;
        }
        k[i] = cell[i]->failures;
        t[i] = cell[i]->runs;
        const char *open = strrchr(cell[i]->info.label, '[');
        rows[i] = (fm_svg_interval){.name = open ? open : cell[i]->info.label,
                                    .estimate = cell[i]->ci.estimate,
                                    .lower = cell[i]->ci.lower,
                                    .upper = cell[i]->ci.upper};
    }
    double homog_p = 1;
    const char *test = "exact";
    fm_stats_status st = n < 2 ? FM_STATS_OK : fm_stats_ffh_exact(k, t, n, 20000000, &homog_p);
    if (st == FM_STATS_ETOOBIG) {
        double x2, df;
        test = "chi-square";
        st = fm_stats_chisq_homogeneity(k, t, n, &x2, &df, &homog_p);
    }
    fm_rep_heading(d, 2, "Sweep: ", base);
    if (st == FM_STATS_OK)
        fm_rep_para(d, "%zu conditions; homogeneity test (%s): p = %.4g%s", n, test, homog_p,
                    homog_p < 1 - d->opt->confidence ? " - the conditions differ" : "");
    fm_rep_buf svg = {0};
    char xlabel[96];
    snprintf(xlabel, sizeof xlabel, "failure probability (%g%% exact CI)",
             d->opt->confidence * 100);
    fm_svg_intervals(&svg, "Sweep: failure probability by condition", xlabel, "condition", rows, n,
                     false, true, 0);
    fm_rep_picture(d, &svg,
                   "Failure probability of each condition with its exact interval "
                   "(the picture of sweep --plot)");
    static const char *const h[] = {"condition", "runs", "failures", "estimate", "lower", "upper"};
    fm_rep_table_begin(d, "sweep", h, 6);
    for (size_t i = 0; i < n; i++) {
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, cell[i]->info.label);
        fm_rep_cell_int(d, "runs", (int64_t)t[i]);
        fm_rep_cell_int(d, "failures", (int64_t)k[i]);
        fm_rep_cell_prob(d, "estimate", cell[i]->ci.estimate);
        fm_rep_cell_prob(d, "lower", cell[i]->ci.lower);
        fm_rep_cell_prob(d, "upper", cell[i]->ci.upper);
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
    if (st == FM_STATS_OK) {
        static const char *const hh[] = {"homogeneity test", "p"};
        fm_rep_table_begin(d, "homogeneity", hh, 2);
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, test);
        char p[32];
        snprintf(p, sizeof p, "%.4g", homog_p);
        fm_rep_cell_num(d, "homogeneity_p", homog_p, p);
        fm_rep_row_end(d);
        fm_rep_table_end(d);
    }
out:
    free(all);
    free(ids_all);
    free(k);
    free(t);
    free(rows);
    free(cell);
}

/* ---- bench emu ------------------------------------------------------------------------------ */

typedef struct {
    fm_run_record *r;
    size_t n, cap;
    bool oom;
} records;

static int collect_run(const fm_run_record *r, void *ctx)
{
    records *rs = ctx;
    if (r->attempt != 1)
        return 0;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        fm_run_record *p = realloc(rs->r, cap * sizeof *p);
        if (p == NULL) {
            rs->oom = true;
            return 1;
        }
        rs->r = p, rs->cap = cap;
    }
    rs->r[rs->n++] = *r;
    return 0;
}

/* Pair the two campaigns' runs by run_index (both are in run_index order). */
static bool read_pair(fm_store *store, int64_t native, int64_t emulated, fm_bench_pair *pair)
{
    records a = {0}, b = {0};
    bool ok = fm_store_runs_each(store, native, collect_run, &a) == FM_STORE_OK &&
              fm_store_runs_each(store, emulated, collect_run, &b) == FM_STORE_OK && !a.oom &&
              !b.oom;
    *pair = (fm_bench_pair){0};
    size_t cap = a.n < b.n ? a.n : b.n;
    pair->rep = ok ? calloc(cap ? cap : 1, sizeof *pair->rep) : NULL;
    ok = ok && pair->rep != NULL;
    for (size_t i = 0, j = 0; ok && i < a.n && j < b.n;) {
        if (a.r[i].run_index < b.r[j].run_index)
            i++;
        else if (a.r[i].run_index > b.r[j].run_index)
            j++;
        else {
            fm_bench_rep *rep = &pair->rep[pair->reps++];
            rep->native = a.r[i++];
            rep->emulated = b.r[j++];
        }
    }
    free(a.r);
    free(b.r);
    return ok;
}

void fm_rep_bench(fm_rep_doc *d, fm_store *store, const int64_t *native, const int64_t *emulated,
                  size_t n)
{
    fm_svg_interval *rows = calloc(n ? n : 1, sizeof *rows);
    fm_bench_analysis *an = calloc(n ? n : 1, sizeof *an);
    fm_campaign_info *info = calloc(n ? n : 1, sizeof *info);
    char(*names)[768] = calloc(n ? n : 1, sizeof *names);
    size_t done = 0;
    if (rows == NULL || an == NULL || info == NULL || names == NULL) {
        fm_rep_fail(d, FM_REPORT_ENOMEM, "out of memory");
        goto out;
    }
    double timeout = d->opt->timeout_s;
    fm_bench_analysis_options ao = {.timeouts_s = &timeout,
                                    .n_timeouts = timeout > 0 ? 1 : 0,
                                    .target = d->opt->target,
                                    .confidence = d->opt->confidence,
                                    .attempts = 3};
    for (; done < n; done++) {
        fm_bench_pair pair;
        if (fm_store_campaign_info(store, emulated[done], &info[done]) != FM_STORE_OK ||
            !read_pair(store, native[done], emulated[done], &pair)) {
            fm_rep_fail(d, FM_REPORT_ESTORE, "cannot read %s: %s", d->opt->db,
                        fm_store_errmsg(store));
            goto out;
        }
        fm_run_status rs = fm_bench_analyze(&pair, &ao, &an[done]);
        fm_bench_pair_free(&pair);
        if (rs != FM_RUN_OK) {
            fm_bench_analysis_free(&an[done]);
            fm_rep_fail(d, FM_REPORT_ENOMEM, "the analysis of %s failed", info[done].label);
            goto out;
        }
        /* "emu ARCH QEMU: WORKLOAD params": the category is what follows ": ". */
        const char *colon = strstr(info[done].label, ": ");
        snprintf(names[done], sizeof names[done], "%s", colon ? colon + 2 : info[done].label);
        rows[done] = (fm_svg_interval){.name = names[done],
                                       .series = info[done].arch,
                                       .estimate = an[done].have_ratio ? an[done].ratio.ratio : NAN,
                                       .lower = an[done].have_ratio ? an[done].ratio.lower : NAN,
                                       .upper = an[done].have_ratio ? an[done].ratio.upper : NAN};
    }
    fm_rep_heading(d, 2, "Emulator benchmark", NULL);
    fm_rep_para(d,
                "%zu workload and architecture pairs, each a native and an emulated campaign "
                "whose runs alternate (bench emu).",
                n);
    fm_rep_buf svg = {0};
    char xlabel[96];
    snprintf(xlabel, sizeof xlabel, "slowdown, emulated / native (%g%% interval)",
             d->opt->confidence * 100);
    fm_svg_intervals(&svg, "Slowdown under QEMU user mode", xlabel, "workload", rows, n, true,
                     false, 1);
    fm_rep_picture(d, &svg,
                   "Slowdown of each workload per architecture with its interval (the "
                   "picture of bench emu --plot)");
    static const char *const h[] = {"emulated campaign",   "arch",     "pairs", "native median (s)",
                                    "emulated median (s)", "slowdown", "lower", "upper"};
    fm_rep_table_begin(d, "bench", h, 8);
    for (size_t i = 0; i < n; i++) {
        char s[5][32];
        const double v[5] = {an[i].native_median_s, an[i].emulated_median_s,
                             an[i].have_ratio ? an[i].ratio.ratio : NAN,
                             an[i].have_ratio ? an[i].ratio.lower : NAN,
                             an[i].have_ratio ? an[i].ratio.upper : NAN};
        for (int j = 0; j < 5; j++)
            snprintf(s[j], sizeof s[j], isfinite(v[j]) ? "%.4g" : "-", v[j]);
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, info[i].label);
        fm_rep_cell_text(d, info[i].arch);
        fm_rep_cell_int(d, "pairs", (int64_t)an[i].pairs);
        fm_rep_cell_num(d, "native_median_s", v[0], s[0]);
        fm_rep_cell_num(d, "emulated_median_s", v[1], s[1]);
        fm_rep_cell_num(d, "ratio", v[2], s[2]);
        fm_rep_cell_num(d, "ratio_lower", v[3], s[3]);
        fm_rep_cell_num(d, "ratio_upper", v[4], s[4]);
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
    for (size_t i = 0; timeout > 0 && i < n; i++) {
        if (i == 0) {
            static const char *const th[] = {"emulated campaign", "timeout (s)", "runs", "exceeded",
                                             "P(exceed)",         "lower",       "upper"};
            fm_rep_table_begin(d, "bench_timeouts", th, 7);
        }
        const fm_bench_timeout *t = &an[i].timeouts[0];
        char s[32];
        snprintf(s, sizeof s, "%g", t->timeout_s);
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, info[i].label);
        fm_rep_cell_num(d, "timeout_s", t->timeout_s, s);
        fm_rep_cell_int(d, "runs", t->runs);
        fm_rep_cell_int(d, "exceeded", t->exceeded);
        fm_rep_cell_prob(d, "p", t->p.estimate);
        fm_rep_cell_prob(d, "p_lower", t->p.lower);
        fm_rep_cell_prob(d, "p_upper", t->p.upper);
        fm_rep_row_end(d);
        if (i + 1 == n)
            fm_rep_table_end(d);
    }
out:
    for (size_t i = 0; an != NULL && i < done; i++)
        fm_bench_analysis_free(&an[i]);
    free(rows);
    free(an);
    free(info);
    free(names);
}
