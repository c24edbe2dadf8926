/*
 * cmd_sweep.c - `flakemeter sweep`: find the conditions that make a test fail.
 *
 * Parses the --vary lists and the workload or command; libfmrun (launch/fm_sweep.h) lays out
 * the full factorial as cells (one campaign each, labelled "BASE [name=value ...]"), checks
 * every cell's conditions before anything runs (a condition that cannot be applied is bad
 * input: exit 2, store untouched), runs them interleaved in randomised blocks, and analyses the
 * counts (homogeneity, trend, extremes).  This file prints per cell runs, failures and the exact
 * interval, the tests, a one-line conclusion, and optionally a plot.
 * JSON keys (a contract): label, varied [names], conditions [{NAME: value..., label, runs,
 * failures, estimate, lower, upper}], homogeneity_test, homogeneity_p, trend_variable, trend_z,
 * trend_p (null unless one numeric variable is swept), confidence, most, least (indices),
 * stop; within blocks: blocks, strata, strata_used, stratified_test, stratified_p,
 * stratified_statistic, stratified_df, odds_ratio (null unless two conditions),
 * stratified_trend_z, stratified_trend_p (null without a trend); drift: drift_p,
 * drift_condition (index), drift_low, drift_high (null when no condition ran in two blocks),
 * unstable (drift_p < 1 - confidence); per condition also jobs.
 */
#include "cli_report.h"
#include "fm_cli.h"
#include "fm_sweep.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: flakemeter sweep [OPTIONS] --vary NAME=V1,V2,... [--vary ...] WORKLOAD [key=value "
    "...]\n"
    "       flakemeter sweep [OPTIONS] --vary NAME=V1,V2,... [--vary ...] -- COMMAND [ARG ...]\n"
    "\n"
    "Run the same test under every combination of the varied conditions (or workload\n"
    "parameters), interleaved in randomised blocks, and say whether and how the failure\n"
    "probability depends on them, compared within blocks so that a drifting machine cannot\n"
    "pass for an effect (and say when it drifts).  NAME is a run condition (cpus, pin, load, "
    "load_nice, quota, nice,\n"
    "emulator, launch; see 'flakemeter run --help') or a parameter of the workload.  Values are\n"
    "separated by commas, or by semicolons when a value holds a comma (--vary 'pin=0;0,1').\n";

enum { MAX_WORDS = FM_SWEEP_MAX_WORDS };

struct sweep_args {
    fm_run_config cfg;
    fm_cond fixed;
    fm_sweep_var vary[FM_SWEEP_MAX_VARY];
    char *vary_text[FM_SWEEP_MAX_VARY]; /* strdup of "name=v1,v2", separators made NULs */
    int n_vary;
    int64_t runs;
    int rounds;
    const char *db, *label, *plot;
    bool json, quiet, allow_oversubscribe;
    char **wl_words; /* the workload and its key=value words; NULL for a command */
    int wl_n;
    char **argv; /* the command */
    char base_label[512], command_json[4096];
};

/* ---- parsing -------------------------------------------------------------------------------- */

static int parse_vary(void *value, const char *text, const char *name)
{
    struct sweep_args *a = value;
    (void)name;
    if (a->n_vary >= FM_SWEEP_MAX_VARY)
        return fm_cli_usage_error("--vary: at most %d variables", FM_SWEEP_MAX_VARY);
    fm_sweep_var *v = &a->vary[a->n_vary];
    char *eq = strchr(text, '=');
    if (eq == NULL || eq == text || eq[1] == '\0')
        return fm_cli_usage_error("--vary: '%s' is not NAME=V1,V2,...", text);
    char *copy = a->vary_text[a->n_vary] = strdup(text);
    if (copy == NULL)
        return fm_cli_fail("out of memory");
    a->n_vary++;
    char *values = copy + (eq - text);
    *values++ = '\0';
    v->name = copy;
    const char *sep = strchr(values, ';') ? ";" : ",";
    for (char *save = NULL, *t = strtok_r(values, sep, &save); t; t = strtok_r(NULL, sep, &save)) {
        if (v->n_values >= FM_SWEEP_MAX_VALUES)
            return fm_cli_usage_error("--vary %s: at most %d values", v->name, FM_SWEEP_MAX_VALUES);
        for (int j = 0; j < v->n_values; j++)
            if (strcmp(v->values[j], t) == 0)
                return fm_cli_usage_error("--vary %s: the value '%s' is given twice", v->name, t);
        v->values[v->n_values++] = t;
    }
    for (int i = 0; i < a->n_vary - 1; i++)
        if (strcmp(a->vary[i].name, v->name) == 0)
            return fm_cli_usage_error("--vary %s: given twice", v->name);
    if (v->n_values < 1)
        return fm_cli_usage_error("--vary %s: no values", v->name);
    return 0;
}

static int parse_options(int argc, char **argv, struct sweep_args *a)
{
    fm_run_config *c = &a->cfg;
    uint64_t runs = (uint64_t)a->runs, rounds = (uint64_t)a->rounds, jobs = (uint64_t)c->jobs;
    const struct fm_opt options[] = {
        FM_OPT_CALL(0, "vary", a, parse_vary, "NAME=V1,V2,...",
                    "a condition or workload parameter and the values it takes (repeatable: every "
                    "combination is run)"),
        FM_OPT_COUNT('n', "runs", &runs, 1, (double)(INT64_MAX / 2), "N",
                     "runs per combination (default 100)"),
        FM_OPT_COUNT(0, "rounds", &rounds, 1, 100000, "R",
                     "interleave in R randomised blocks, each running every combination once in "
                     "an order drawn from --seed (default 10)"),
        FM_OPT_COUNT('j', "jobs", &jobs, 1, 4096, "N",
                     "runs in parallel (default: number of CPUs; lowered to the CPUs a "
                     "combination allows)"),
        FM_OPT_BOOL(0, "allow-oversubscribe", &a->allow_oversubscribe,
                    "keep -j where a combination allows fewer CPUs (measures preemption)"),
        FM_OPT_RUN_LIMITS(c),
        FM_OPT_REAL('c', "confidence", &c->confidence, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level of the intervals (default 0.95)"),
        FM_OPT_GROUP("Conditions for every combination (as for 'run'; --vary overrides them):"),
        FM_OPT_CONDITIONS(&a->fixed),
        FM_OPT_GROUP(""),
        FM_OPT_STRING(0, "plot", &a->plot, "FILE",
                      "draw the failure probabilities with their intervals (.png, .svg)"),
        FM_OPT_STRING(0, "db", &a->db, "PATH", "the store (default flakemeter.db)"),
        FM_OPT_STRING('l', "label", &a->label, "NAME",
                      "base of the campaigns' names (default: the workload or command)"),
        FM_OPT_BOOL(0, "json", &a->json, "print the result as one JSON object"),
        FM_OPT_BOOL('q', "quiet", &a->quiet, "no progress line"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_COMMAND_FOLLOWS);
    a->runs = (int64_t)runs;
    a->rounds = (int)rounds;
    c->jobs = (int)jobs;
    return rc;
}

static int parse_target(int argc, char **argv, struct sweep_args *a, bool dashdash)
{
    if (dashdash) {
        a->argv = argv;
        if (a->fixed.have_emulator)
            return fm_cli_usage_error("--emulator runs a built-in workload's cross-built "
                                      "fm-stress; for a command, put the emulator in it");
        return fm_cli_describe_command(argv, a->base_label, sizeof a->base_label, a->command_json,
                                       sizeof a->command_json);
    }
    if (fm_wl_find(argv[0]) == NULL)
        return fm_cli_unknown_workload(argv[0], true);
    if (argc > MAX_WORDS - FM_SWEEP_MAX_VARY)
        return fm_cli_usage_error("too many workload parameters");
    a->wl_words = argv;
    a->wl_n = argc;
    return 0;
}

static int parse(int argc, char **argv, struct sweep_args *a)
{
    int rc = parse_options(argc, argv, a);
    if (rc >= 0)
        return rc;
    bool dashdash;
    if ((rc = fm_cli_what_to_run(argc, argv, &dashdash)) >= 0)
        return rc;
    if (a->n_vary == 0)
        return fm_cli_usage_error("--vary: give at least one NAME=V1,V2,... to sweep over");
    if ((rc = parse_target(argc - optind, argv + optind, a, dashdash)) != 0)
        return rc;
    if ((rc = fm_cli_check_plot(a->plot)) != 0) /* before any run, not after the sweep */
        return rc;
    return -1;
}

/* ---- progress ------------------------------------------------------------------------------- */

struct progress {
    bool tty;
    const char *what;
    int round, rounds;
};

static void on_batch(const fm_sweep_cell *cell, int round, int rounds, void *ctx)
{
    struct progress *p = ctx;
    const char *open = strrchr(cell->label, '[');
    p->what = open ? open : cell->label;
    p->round = round;
    p->rounds = rounds;
}

static void progress_cb(const fm_run_progress *pr, void *ctx)
{
    struct progress *p = ctx;
    if (!p->tty || pr->final)
        return;
    fprintf(stderr, "\r\033[Kround %d/%d %s: runs %lld/%lld, failures so far %lld", p->round + 1,
            p->rounds, p->what, (long long)pr->done_here, (long long)pr->planned,
            (long long)pr->counts->first_fail);
}

/* ---- the command ---------------------------------------------------------------------------- */

static int run_sweep(struct sweep_args *a, fm_store *store, fm_sweep *sw)
{
    struct progress prog = {.tty = isatty(STDERR_FILENO) && !a->quiet};
    fm_sweep_config cfg = {.base = a->cfg,
                           .cells = sw->cells,
                           .n_cells = sw->n_cells,
                           .runs_each = a->runs,
                           .rounds = a->rounds,
                           .allow_oversubscribe = a->allow_oversubscribe,
                           .on_batch = on_batch,
                           .ctx = &prog};
    cfg.base.store = store;
    cfg.base.progress = progress_cb;
    cfg.base.progress_ctx = &prog;
    fm_sweep_report rep;
    fm_cli_sweep_jobs_note(sw, a->cfg.jobs, a->allow_oversubscribe, stderr);
    fm_run_status st = fm_sweep_run(&cfg, &rep);
    if (prog.tty)
        fprintf(stderr, "\r\033[K");
    if (st == FM_RUN_EINVAL)
        return fm_cli_usage_error("%s", rep.error);
    if (st != FM_RUN_OK)
        return fm_cli_fail("%s", rep.error);
    if (rep.stop == FM_STOP_ERROR)
        return fm_cli_usage_error("%s", rep.error); /* e.g. the command does not exist */
    fm_sweep_analysis r;
    char err[512];
    if (fm_sweep_analyze(sw, store, a->cfg.confidence, &r, err, sizeof err) != FM_RUN_OK)
        return fm_cli_fail("%s", err);
    fm_cli_sweep_view view = {.sweep = sw,
                              .confidence = a->cfg.confidence,
                              .runs = a->runs,
                              .rounds = a->rounds,
                              .jobs = a->cfg.jobs,
                              .db = a->db,
                              .plot = a->plot};
    int rc = 0;
    if (a->json)
        rc = fm_cli_print_json(fm_cli_sweep_json(&view, &r, &rep));
    else
        fm_cli_sweep_print(&view, &r, &rep);
    if (rc == 0 && a->plot)
        rc = fm_cli_sweep_plot(&view);
    if (rc == 0 && rep.stop == FM_STOP_SIGINT)
        rc = 130;
    if (rc == 0 && rep.stop == FM_STOP_SIGTERM)
        rc = 143;
    if (rc == 0 && rep.stop == FM_STOP_SIGHUP)
        rc = 129;
    return rc;
}

/* Lay out the cells and make their campaigns: nothing is stored unless every cell can run. */
static int prepare(struct sweep_args *a, fm_sweep *sw, fm_store **store)
{
    fm_sweep_spec *spec = malloc(sizeof *spec);
    if (spec == NULL)
        return fm_cli_fail("out of memory");
    *spec = (fm_sweep_spec){.vars = a->vary,
                            .n_vars = a->n_vary,
                            .fixed = a->fixed,
                            .wl_words = a->wl_words,
                            .wl_n = a->wl_n,
                            .argv = a->argv,
                            .command_label = a->base_label,
                            .command_json = a->command_json,
                            .label = a->label,
                            .source_root = FM_SOURCE_ROOT};
    char err[1024];
    fm_run_status st = fm_sweep_layout(spec, sw, err, sizeof err);
    if (st != FM_RUN_OK)
        return st == FM_RUN_EINVAL ? fm_cli_usage_error("%s", err) : fm_cli_fail("%s", err);
    int rc = fm_cli_open_store(a->db, true, store);
    if (rc != 0)
        return rc;
    st = fm_sweep_campaigns(sw, *store, err, sizeof err);
    if (st == FM_RUN_ECONFLICT)
        return fm_cli_usage_error("--label: campaign '%s' in %s was made with another "
                                  "command, parameters or conditions; choose another label",
                                  err, a->db);
    if (st != FM_RUN_OK)
        return fm_cli_fail("cannot create the campaign: %s", err);
    return 0;
}

int cmd_sweep(int argc, char **argv)
{
    struct sweep_args a = {.db = "flakemeter.db", .runs = 100, .rounds = 10};
    fm_run_config_init(&a.cfg);
    fm_store *store = NULL;
    fm_sweep sw = {0};
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        goto out;
    if (a.rounds > a.runs)
        a.rounds = (int)a.runs;
    if ((rc = prepare(&a, &sw, &store)) != 0)
        goto out;
    /* Signals wait (blocked) between batches; each batch's engine reads them from its
     * signalfd, so a Ctrl-C at any moment ends the sweep after the running batch. */
    sigprocmask(SIG_BLOCK, &mask, &old);
    rc = run_sweep(&a, store, &sw);
out:
    if (store && fm_store_close(store) != FM_STORE_OK && rc == FM_EXIT_OK)
        rc = fm_cli_fail("cannot close the store");
    free((void *)sw.spec);
    fm_sweep_free(&sw);
    for (int i = 0; i < a.n_vary; i++)
        free(a.vary_text[i]);
    return rc;
}
