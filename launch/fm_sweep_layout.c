/*
 * fm_sweep_layout.c - what a sweep is before and after it runs (fm_sweep.h): the variables
 * checked, the full factorial laid out as cells (labels, conditions, the workload's words or the
 * emulator's command, the CPUs its conditions allow), and the cells' campaigns.  The schedule
 * that runs the cells is fm_sweep.c, the analysis fm_sweep_analyze.c.
 *
 * Invariants:
 *  - Every text is built with clamped appends (fm_run__append() stops at the end of its buffer and
 *    reports the truncation), never `len += snprintf` past the end; a label or a combination
 *    that does not fit is bad input, so two cells can never share a truncated label.
 *  - A cell's conditions are checked (fm_cond_check) before any store is touched.
 */
#include "fm_sweep.h"

#include "fm_run_internal.h"
#include <math.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "name=value", malloc'd. */
static char *assignment(const char *name, const char *value)
{
    size_t size = strlen(name) + strlen(value) + 2;
    char *s = malloc(size);
    if (s != NULL)
        snprintf(s, size, "%s=%s", name, value);
    return s;
}

/* Is the condition `name` set in c (to refuse varying what is also fixed)? */
static bool cond_given(const fm_cond *c, const char *name)
{
    char *json = fm_cond_json(c), key[64];
    snprintf(key, sizeof key, "\"%s\":", strcmp(name, "load-nice") == 0 ? "load_nice" : name);
    bool given = json && strstr(json, key) != NULL;
    free(json);
    return given;
}

/* The workload's own key=value words are valid; the base label is the words joined. */
static fm_run_status check_words(const fm_sweep_spec *s, fm_sweep *sw, char *err, size_t size)
{
    size_t used = 0;
    sw->base_label[0] = '\0';
    if (s->wl_words == NULL)
        return fm_run__append(sw->base_label, sizeof sw->base_label, &used, "%s",
                              s->command_label ? s->command_label : "")
                   ? FM_RUN_OK
                   : fm_run__fail(FM_RUN_EINVAL, err, size, "the command is too long for a label");
    const struct fm_wl_desc *wl = fm_wl_find(s->wl_words[0]);
    if (wl == NULL || s->wl_n > FM_SWEEP_MAX_WORDS - FM_SWEEP_MAX_VARY)
        return fm_run__fail(FM_RUN_EINVAL, err, size, "unknown workload or too many parameters");
    for (int i = 0; i < s->wl_n; i++) {
        struct fm_wl_args probe;
        const struct fm_wl_param *bad = NULL;
        char why[256];
        fm_wl_args_init(&probe, wl);
        int st = i ? fm_wl_args_set(&probe, s->wl_words[i], &bad) : FM_WL_OK;
        if (st != FM_WL_OK)
            return fm_run__fail(FM_RUN_EINVAL, err, size, "%s",
                                fm_wl_args_explain(wl, s->wl_words[i], st, bad, why, sizeof why));
        if (!fm_run__append(sw->base_label, sizeof sw->base_label, &used, "%s%s", i ? " " : "",
                            s->wl_words[i]))
            return fm_run__fail(FM_RUN_EINVAL, err, size, "the workload's parameters are too long");
    }
    return FM_RUN_OK;
}

/* Each variable's name and values once, and whether its values are ordered numbers. */
static fm_run_status check_vars(const fm_sweep_spec *s, char *err, size_t size)
{
    const struct fm_wl_desc *wl = s->wl_words ? fm_wl_find(s->wl_words[0]) : NULL;
    for (int i = 0; i < s->n_vars; i++) {
        fm_sweep_var *v = &s->vars[i];
        v->is_condition = fm_cond_is_name(v->name);
        if (v->is_condition && cond_given(&s->fixed, v->name))
            return fm_run__fail(FM_RUN_EINVAL, err, size, "--vary %s: also given as --%s", v->name,
                                v->name);
        if (!v->is_condition && wl == NULL)
            return fm_run__fail(
                FM_RUN_EINVAL, err, size,
                "--vary %s: not a run condition (cpus, pin, load, load_nice, quota, "
                "nice, emulator, launch)",
                v->name);
        v->numeric = true;
        for (int j = 0; j < v->n_values; j++) {
            char why[256], *end;
            if (v->is_condition) {
                fm_cond probe = {0};
                if (fm_cond_set(&probe, v->name, v->values[j], why, sizeof why) != FM_RUN_OK)
                    return fm_run__fail(FM_RUN_EINVAL, err, size, "--vary %s", why);
            } else {
                struct fm_wl_args probe;
                const struct fm_wl_param *bad = NULL;
                char *a = assignment(v->name, v->values[j]);
                if (a == NULL)
                    return fm_run__fail(FM_RUN_ENOMEM, err, size, "out of memory");
                fm_wl_args_init(&probe, wl);
                int st = fm_wl_args_set(&probe, a, &bad);
                if (st != FM_WL_OK)
                    fm_wl_args_explain(wl, a, st, bad, why, sizeof why);
                free(a);
                if (st != FM_WL_OK)
                    return fm_run__fail(FM_RUN_EINVAL, err, size,
                                        "--vary: %s (not a run condition either)", why);
            }
            v->score[j] = strtod(v->values[j], &end);
            v->numeric &= end != v->values[j] && *end == '\0' && isfinite(v->score[j]);
        }
    }
    return FM_RUN_OK;
}

/* The cell's workload: its words (NAME, the user's key=value, the varied parameters) and args. */
static fm_run_status cell_workload(const fm_sweep_spec *s, fm_sweep_cell *c, char *err, size_t size)
{
    char *words[FM_SWEEP_MAX_WORDS + 1];
    int n = 0, n_owned = 0;
    for (int i = 0; i < s->wl_n; i++)
        words[n++] = s->wl_words[i];
    for (int i = 0; i < s->n_vars; i++)
        if (!s->vars[i].is_condition) {
            char *w = assignment(s->vars[i].name, s->vars[i].values[c->level[i]]);
            if (w == NULL)
                return fm_run__fail(FM_RUN_ENOMEM, err, size, "out of memory");
            c->owned[n_owned++] = w;
            words[n++] = w;
        }
    words[n] = NULL;
    struct fm_wl_args args;
    fm_wl_args_init(&args, fm_wl_find(words[0]));
    for (int i = 1; i < n; i++) {
        const struct fm_wl_param *bad;
        if (fm_wl_args_set(&args, words[i], &bad) != FM_WL_OK)
            return fm_run__fail(FM_RUN_EINVAL, err, size, "cannot set '%s'", words[i]);
    }
    fm_wl_args_format(&args, c->params, sizeof c->params);
    bool emu = c->cond_set.have_emulator;
    if (emu) {
        c->words[0] = c->rt.qemu;
        c->words[1] = c->rt.cross_stress;
        c->argv = c->words;
    } else {
        c->wl_args = args;
    }
    memcpy(c->words + (emu ? 2 : 0), words, ((size_t)n + 1) * sizeof *words);
    return FM_RUN_OK;
}

/* Lay out cell `index` (mixed radix over the variables, the last varying fastest). */
static fm_run_status make_cell(const fm_sweep_spec *s, fm_sweep *sw, size_t index, char *err,
                               size_t size)
{
    fm_sweep_cell *c = &sw->cells[index];
    size_t rest = index, used = 0;
    char why[512];
    for (int i = s->n_vars; i-- > 0;) {
        c->level[i] = (int)(rest % (size_t)s->vars[i].n_values);
        rest /= (size_t)s->vars[i].n_values;
    }
    c->cond_set = s->fixed;
    c->cond_set.workload = s->wl_words != NULL; /* for fm_cond_check (launch=shell) */
    for (int i = 0; i < s->n_vars; i++) {
        const fm_sweep_var *v = &s->vars[i];
        if (v->is_condition)
            fm_cond_set(&c->cond_set, v->name, v->values[c->level[i]], why, sizeof why);
        if (!fm_run__append(c->what, sizeof c->what, &used, "%s%s=%s", i ? " " : "", v->name,
                            v->values[c->level[i]]))
            return fm_run__fail(FM_RUN_EINVAL, err, size,
                                "--vary: the names and values of one combination are too long (at "
                                "most %zu characters)",
                                sizeof c->what - 1);
    }
    char fixed[256];
    fm_cond_describe(&s->fixed, fixed, sizeof fixed);
    used = 0;
    if (!fm_run__append(c->label_buf, sizeof c->label_buf, &used, "%s [%s%s%s]",
                        s->label ? s->label : sw->base_label, c->what, *fixed ? " " : "", fixed))
        return fm_run__fail(FM_RUN_EINVAL, err, size, "--label: the campaign names are too long");
    c->label = c->label_buf;
    if (fm_cond_check(&c->cond_set, s->source_root, &c->rt, why, sizeof why) != FM_RUN_OK)
        return fm_run__fail(FM_RUN_EINVAL, err, size, "%s: --%s", c->what, why);
    c->cond = &c->rt;
    c->cpu_limit = fm_cond_cpu_limit(&c->rt);
    if (s->wl_words == NULL) {
        c->argv = s->argv;
        return FM_RUN_OK;
    }
    return cell_workload(s, c, err, size);
}

fm_run_status fm_sweep_layout(const fm_sweep_spec *s, fm_sweep *sw, char *err, size_t size)
{
    memset(sw, 0, sizeof *sw);
    sw->spec = s;
    if (s->n_vars < 1 || s->n_vars > FM_SWEEP_MAX_VARY)
        return fm_run__fail(FM_RUN_EINVAL, err, size, "--vary: give 1 to %d variables",
                            FM_SWEEP_MAX_VARY);
    for (int i = 0; i < s->n_vars; i++)
        if (s->vars[i].n_values < 1 || s->vars[i].n_values > FM_SWEEP_MAX_VALUES)
            return fm_run__fail(FM_RUN_EINVAL, err, size, "--vary %s: give 1 to %d values",
                                s->vars[i].name, FM_SWEEP_MAX_VALUES);
    fm_run_status st = check_words(s, sw, err, size);
    if (st == FM_RUN_OK)
        st = check_vars(s, err, size);
    if (st != FM_RUN_OK)
        return st;
    size_t n = 1;
    for (int i = 0; i < s->n_vars && n <= FM_SWEEP_MAX_CELLS; i++)
        n *= (size_t)s->vars[i].n_values;
    if (n > FM_SWEEP_MAX_CELLS)
        return fm_run__fail(FM_RUN_EINVAL, err, size, "--vary: more than %d combinations",
                            FM_SWEEP_MAX_CELLS);
    sw->cells = calloc(n, sizeof *sw->cells);
    if (sw->cells == NULL)
        return fm_run__fail(FM_RUN_ENOMEM, err, size, "out of memory");
    sw->n_cells = n;
    for (size_t i = 0; i < n && st == FM_RUN_OK; i++)
        st = make_cell(s, sw, i, err, size);
    return st;
}

void fm_sweep_free(fm_sweep *sw)
{
    for (size_t i = 0; sw->cells && i < sw->n_cells; i++) {
        free(sw->cells[i].blk_runs);
        free(sw->cells[i].blk_fail);
        for (int k = 0; k < FM_SWEEP_MAX_VARY; k++)
            free(sw->cells[i].owned[k]);
    }
    free(sw->cells);
    sw->cells = NULL;
    sw->n_cells = 0;
}

fm_run_status fm_sweep_campaigns(fm_sweep *sw, fm_store *store, char *err, size_t size)
{
    const fm_sweep_spec *s = sw->spec;
    for (size_t i = 0; i < sw->n_cells; i++) {
        fm_sweep_cell *c = &sw->cells[i];
        char *cond = fm_cond_json(&c->cond_set);
        bool wl = s->wl_words != NULL, existed;
        fm_campaign_info info = {.label = c->label,
                                 .kind = wl ? "workload" : "command",
                                 .command = wl ? s->wl_words[0] : s->command_json,
                                 .params = wl ? c->params : "",
                                 .conditions = cond};
        fm_store_status st =
            cond ? fm_store_campaign(store, &info, &c->campaign, &existed) : FM_STORE_ENOMEM;
        free(cond);
        if (st == FM_STORE_ECONFLICT)
            return fm_run__fail(FM_RUN_ECONFLICT, err, size, "%s", c->label);
        if (st != FM_STORE_OK)
            return fm_run__fail(FM_RUN_ESTORE, err, size, "%s", fm_store_errmsg(store));
    }
    return FM_RUN_OK;
}
