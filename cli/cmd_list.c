/*
 * cmd_list.c - `flakemeter list`: the workloads flakemeter can run, with their parameters.
 *
 * The text is the table `fm-stress --list` prints (libfmwl formats it; this file prints);
 * --json gives the same registry as data for scripts.  Names select workloads; an unknown
 * name is bad input (exit 2).
 */
#include "fm_cli.h"
#include "fm_wl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] = "usage: flakemeter list [--json] [NAME...]\n"
                           "\n"
                           "List the built-in workloads (the same table as 'fm-stress --list'):\n"
                           "each one's summary, the upstream test it ports, what its work\n"
                           "counts, and every parameter with its default and accepted values.\n";

static const char *const kind_names[] = {"int", "real", "choice"};

static json_t *json_number(const struct fm_wl_param *p, double v)
{
    return p->kind == FM_WL_INT ? json_integer((json_int_t)v) : json_real(v);
}

static json_t *param_json(const struct fm_wl_param *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "key", json_string(p->key));
    json_object_set_new(o, "kind", json_string(kind_names[p->kind]));
    if (p->kind == FM_WL_CHOICE) {
        json_t *choices = json_array();
        for (size_t i = 0; p->choices[i]; i++)
            json_array_append_new(choices, json_string(p->choices[i]));
        json_object_set_new(o, "default", json_string(p->choices[(size_t)p->def]));
        json_object_set_new(o, "choices", choices);
    } else {
        json_object_set_new(o, "default", json_number(p, p->def));
        json_object_set_new(o, "min", json_number(p, p->lo));
        json_object_set_new(o, "max", json_number(p, p->hi));
    }
    json_object_set_new(o, "help", json_string(p->help));
    return o;
}

static json_t *race_json(const struct fm_wl_desc *wl)
{
    char text[96];
    if (wl->race == FM_WL_RACE_ALWAYS)
        return json_string("always");
    if (wl->race == FM_WL_RACE_NONE)
        return json_null();
    snprintf(text, sizeof text, "%s=%s", wl->race_key, wl->race_value);
    return json_string(text);
}

static json_t *desc_json(const struct fm_wl_desc *wl)
{
    json_t *o = json_object(), *params = json_array(), *presets = json_array();
    json_object_set_new(o, "name", json_string(wl->name));
    json_object_set_new(o, "summary", json_string(wl->summary));
    json_object_set_new(o, "upstream", json_string(wl->upstream));
    json_object_set_new(o, "unit", json_string(wl->unit));
    json_object_set_new(o, "declared_race", race_json(wl));
    for (size_t i = 0; i < wl->n_params; i++)
        json_array_append_new(params, param_json(&wl->params[i]));
    for (size_t i = 0; i < wl->n_presets; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "name", json_string(wl->presets[i].name));
        json_object_set_new(p, "values", json_string(wl->presets[i].values));
        json_object_set_new(p, "help", json_string(wl->presets[i].help));
        json_array_append_new(presets, p);
    }
    json_object_set_new(o, "params", params);
    json_object_set_new(o, "presets", presets);
    return o;
}

static int print_desc(const struct fm_wl_desc *wl)
{
    size_t n = fm_wl_format_desc(wl, NULL, 0) + 1;
    char *text = malloc(n);
    if (text == NULL)
        return fm_cli_fail("out of memory");
    fm_wl_format_desc(wl, text, n);
    fputs(text, stdout);
    free(text);
    return FM_EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
    bool json = false;
    const struct fm_opt options[] = {
        FM_OPT_BOOL(0, "json", &json,
                    "print a JSON array: name, summary, upstream, unit, declared_race, params "
                    "(key, kind, default, min, max, choices, help) and presets"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_OPERANDS);
    if (rc >= 0)
        return rc;
    /* Selected workloads: the named ones, or all. */
    size_t n_sel = optind < argc ? (size_t)(argc - optind) : fm_wl_count();
    const struct fm_wl_desc **sel = calloc(n_sel, sizeof *sel);
    if (sel == NULL)
        return fm_cli_fail("out of memory");
    rc = FM_EXIT_OK;
    for (size_t i = 0; i < n_sel && rc == FM_EXIT_OK; i++) {
        sel[i] = optind < argc ? fm_wl_find(argv[optind + (int)i]) : fm_wl_at(i);
        if (sel[i] == NULL)
            rc = fm_cli_unknown_workload(argv[optind + (int)i], false);
    }
    if (rc == FM_EXIT_OK && json) {
        json_t *array = json_array();
        for (size_t i = 0; i < n_sel; i++)
            json_array_append_new(array, desc_json(sel[i]));
        rc = fm_cli_print_json(array);
    } else if (rc == FM_EXIT_OK) {
        for (size_t i = 0; i < n_sel && rc == FM_EXIT_OK; i++) {
            if (i)
                putchar('\n');
            rc = print_desc(sel[i]);
        }
    }
    free(sel);
    return rc;
}
