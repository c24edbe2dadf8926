/*
 * cmd_sweep.c - `flakemeter sweep`: find the conditions that make a test fail.
 *
 * Lays out the full factorial of the --vary lists as cells (one campaign each, labelled
 * "BASE [name=value ...]"), checks every cell's conditions before anything runs (a condition
 * that cannot be applied is bad input: exit 2, store untouched), runs them interleaved in
 * rounds (launch/fm_sweep.c), and reports per cell runs, failures and the exact interval, the
 * homogeneity test (exact Fisher-Freeman-Halton, chi-square when the exact walk is too big), the
 * Cochran-Armitage trend when one numeric variable is swept, a one-line conclusion, and
 * optionally a plot.  Counts are first attempts (errors excluded), read back from the store,
 * so a sweep run again with the same labels adds to its cells.
 * JSON keys (a contract): label, varied [names], conditions [{NAME: value..., label, runs,
 * failures, estimate, lower, upper}], homogeneity_test, homogeneity_p, trend_variable, trend_z,
 * trend_p (null unless one numeric variable is swept), confidence, most, least (indices),
 * stop.
 */
#include "fm_cli.h"
#include "fm_plot.h"
#include "fm_stats.h"
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
    "parameters), interleaved in rounds, and say whether and how the failure probability\n"
    "depends on them.  NAME is a run condition (cpus, pin, load, load_nice, quota, nice,\n"
    "emulator, launch; see 'flakemeter run --help') or a parameter of the workload.  Values are\n"
    "separated by commas, or by semicolons when a value holds a comma (--vary 'pin=0;0,1').\n";

enum { MAX_VARY = 8, MAX_VALUES = 64, MAX_CELLS = 1024, MAX_WORDS = 64 };

/* One --vary: a name and its values (pointers into the option's own copy). */
struct vary {
    char *text; /* strdup of "name=v1,v2" with separators replaced by NULs */
    const char *name;
    const char *values[MAX_VALUES];
    int n_values;
    bool is_condition;
    bool numeric;
    double score[MAX_VALUES];
};

/* One combination. */
struct cell {
    int level[MAX_VARY]; /* index of each variable's value */
    fm_cond cond;
    fm_cond_rt rt;
    char *words[MAX_WORDS + 4]; /* workload: NAME key=value...; or the emulator's command */
    char label[768], what[256], params[1024];
    uint64_t failures, runs;
    fm_interval ci;
};

struct sweep_args {
    fm_run_config cfg;
    fm_cond fixed;
    struct vary vary[MAX_VARY];
    int n_vary;
    int64_t runs;
    int rounds;
    const char *db, *label, *plot;
    bool json, quiet;
    char **wl_words; /* the workload and its key=value words; NULL for a command */
    int wl_n;
    char **argv; /* the command */
    char base_label[512], command_json[4096];
    struct cell *cells;
    size_t n_cells;
};

/* ---- parsing -------------------------------------------------------------------------------- */

static int parse_vary(void *value, const char *text, const char *name)
{
    struct sweep_args *a = value;
    (void)name;
    if (a->n_vary >= MAX_VARY)
        return fm_cli_usage_error("--vary: at most %d variables", MAX_VARY);
    struct vary *v = &a->vary[a->n_vary];
    char *eq = strchr(text, '=');
    if (eq == NULL || eq == text || eq[1] == '\0')
        return fm_cli_usage_error("--vary: '%s' is not NAME=V1,V2,...", text);
    v->text = strdup(text);
    if (v->text == NULL)
        return fm_cli_fail("out of memory");
    a->n_vary++;
    char *values = v->text + (eq - text);
    *values++ = '\0';
    v->name = v->text;
    const char *sep = strchr(values, ';') ? ";" : ",";
    for (char *save = NULL, *t = strtok_r(values, sep, &save); t; t = strtok_r(NULL, sep, &save)) {
        if (v->n_values >= MAX_VALUES)
            return fm_cli_usage_error("--vary %s: at most %d values", v->name, MAX_VALUES);
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
        FM_OPT_COUNT('n', "runs", &runs, 1, INT64_MAX / 2, "N",
                     "runs per combination (default 100)"),
        FM_OPT_COUNT(0, "rounds", &rounds, 1, 100000, "R", "interleave in R rounds (default 10)"),
        FM_OPT_COUNT('j', "jobs", &jobs, 1, 4096, "N",
                     "runs in parallel (default: number of CPUs)"),
        FM_OPT_RUN_LIMITS(c),
        FM_OPT_REAL('c', "confidence", &c->confidence, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level of the intervals (default 0.95)"),
        FM_OPT_GROUP("Conditions for every combination (as for 'run'; --vary overrides them):"),
        FM_OPT_CONDITIONS(&a->fixed),
        FM_OPT_GROUP(""),
        FM_OPT_STRING(0, "plot", &a->plot, "FILE",
                      "draw the failure probabilities with their intervals (.png, .svg)"),
        FM_OPT_STRING(0, "db", &a->db, "PATH", "the store (default flakemeter.db)"),
        FM_OPT_STRING(0, "label", &a->label, "NAME",
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

/* Is the condition `name` set in c (to refuse varying what is also fixed)? */
static bool cond_given(const fm_cond *c, const char *name)
{
    char *json = fm_cond_json(c), key[64];
    snprintf(key, sizeof key, "\"%s\":", strcmp(name, "load-nice") == 0 ? "load_nice" : name);
    bool given = json && strstr(json, key) != NULL;
    free(json);
    return given;
}

/* Check each variable's name and values once, and whether its values are ordered numbers. */
static int check_vary(struct sweep_args *a)
{
    const struct fm_wl_desc *wl = a->wl_words ? fm_wl_find(a->wl_words[0]) : NULL;
    for (int i = 0; i < a->n_vary; i++) {
        struct vary *v = &a->vary[i];
        v->is_condition = fm_cond_is_name(v->name);
        if (v->is_condition && cond_given(&a->fixed, v->name))
            return fm_cli_usage_error("--vary %s: also given as --%s", v->name, v->name);
        if (!v->is_condition && wl == NULL)
            return fm_cli_usage_error("--vary %s: not a run condition (cpus, pin, load, "
                                      "load_nice, quota, nice, emulator)",
                                      v->name);
        v->numeric = true;
        for (int j = 0; j < v->n_values; j++) {
            char assignment[256], err[256], *end;
            snprintf(assignment, sizeof assignment, "%s=%s", v->name, v->values[j]);
            if (v->is_condition) {
                fm_cond probe = {0};
                if (fm_cond_set(&probe, v->name, v->values[j], err, sizeof err) != 0)
                    return fm_cli_usage_error("--vary %s", err);
            } else {
                struct fm_wl_args probe;
                const struct fm_wl_param *bad = NULL;
                fm_wl_args_init(&probe, wl);
                int st = fm_wl_args_set(&probe, assignment, &bad);
                if (st != FM_WL_OK) {
                    fm_wl_args_explain(wl, assignment, st, bad, err, sizeof err);
                    return fm_cli_usage_error("--vary: %s (not a run condition either)", err);
                }
            }
            v->score[j] = strtod(v->values[j], &end);
            v->numeric &= end != v->values[j] && *end == '\0' && isfinite(v->score[j]);
        }
    }
    return 0;
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
    const struct fm_wl_desc *wl = fm_wl_find(argv[0]);
    if (wl == NULL)
        return fm_cli_usage_error("unknown workload '%s' (see 'flakemeter list'; a command "
                                  "goes after '--')",
                                  argv[0]);
    if (argc > MAX_WORDS - MAX_VARY)
        return fm_cli_usage_error("too many workload parameters");
    a->wl_words = argv;
    a->wl_n = argc;
    size_t len = 0;
    for (int i = 0; i < argc; i++) {
        struct fm_wl_args probe;
        const struct fm_wl_param *bad = NULL;
        char why[256];
        fm_wl_args_init(&probe, wl);
        int st = i ? fm_wl_args_set(&probe, argv[i], &bad) : FM_WL_OK;
        if (st != FM_WL_OK)
            return fm_cli_usage_error("%s",
                                      fm_wl_args_explain(wl, argv[i], st, bad, why, sizeof why));
        len += (size_t)snprintf(a->base_label + len, sizeof a->base_label - len, "%s%s",
                                i ? " " : "", argv[i]);
        if (len >= sizeof a->base_label)
            return fm_cli_usage_error("the workload's parameters are too long");
    }
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
    return check_vary(a) != 0 ? FM_EXIT_USAGE : -1;
}

/* ---- cells ---------------------------------------------------------------------------------- */

static size_t cell_count(const struct sweep_args *a)
{
    size_t n = 1;
    for (int i = 0; i < a->n_vary && n <= MAX_CELLS; i++)
        n *= (size_t)a->vary[i].n_values;
    return n;
}

/* The words of the cell's workload: NAME, the user's key=value, then the varied parameters. */
static void cell_words(const struct sweep_args *a, struct cell *c, char **words, int *n)
{
    *n = 0;
    for (int i = 0; i < a->wl_n; i++)
        words[(*n)++] = a->wl_words[i];
    for (int i = 0; i < a->n_vary; i++)
        if (!a->vary[i].is_condition) {
            char *w = malloc(strlen(a->vary[i].name) + strlen(a->vary[i].values[c->level[i]]) + 2);
            if (w)
                sprintf(w, "%s=%s", a->vary[i].name, a->vary[i].values[c->level[i]]);
            words[(*n)++] = w;
        }
    words[*n] = NULL;
}

/* Lay out cell `index` (mixed radix over the variables, the last varying fastest). */
static int make_cell(struct sweep_args *a, size_t index, fm_sweep_cell *sc)
{
    struct cell *c = &a->cells[index];
    size_t rest = index, len = 0;
    char err[512];
    for (int i = a->n_vary; i-- > 0;) {
        c->level[i] = (int)(rest % (size_t)a->vary[i].n_values);
        rest /= (size_t)a->vary[i].n_values;
    }
    c->cond = a->fixed;
    for (int i = 0; i < a->n_vary; i++) {
        const struct vary *v = &a->vary[i];
        if (v->is_condition)
            fm_cond_set(&c->cond, v->name, v->values[c->level[i]], err, sizeof err);
        len += (size_t)snprintf(c->what + len, sizeof c->what - len, "%s%s=%s", i ? " " : "",
                                v->name, v->values[c->level[i]]);
    }
    char fixed[256];
    fm_cond_describe(&a->fixed, fixed, sizeof fixed);
    int ll = snprintf(c->label, sizeof c->label, "%s [%s%s%s]", a->label ? a->label : a->base_label,
                      c->what, *fixed ? " " : "", fixed);
    if (ll < 0 || (size_t)ll >= sizeof c->label)
        return fm_cli_usage_error("--label: the campaign names are too long");
    if (fm_cond_check(&c->cond, FM_SOURCE_ROOT, &c->rt, err, sizeof err) != 0)
        return fm_cli_usage_error("%s: --%s", c->what, err);
    sc->label = c->label;
    sc->cond = &c->rt;
    if (a->argv) {
        sc->argv = a->argv;
        return 0;
    }
    char *words[MAX_WORDS + 1];
    int n;
    cell_words(a, c, words, &n);
    struct fm_wl_args args;
    fm_wl_args_init(&args, fm_wl_find(words[0]));
    for (int i = 1; i < n; i++) {
        const struct fm_wl_param *bad;
        if (words[i] == NULL || fm_wl_args_set(&args, words[i], &bad) != FM_WL_OK)
            return fm_cli_fail("cannot set '%s'", words[i] ? words[i] : "(out of memory)");
    }
    fm_wl_args_format(&args, c->params, sizeof c->params);
    bool emu = c->cond.have_emulator;
    if (emu) {
        c->words[0] = c->rt.qemu;
        c->words[1] = c->rt.cross_stress;
        sc->argv = c->words;
    } else {
        sc->wl_args = args;
    }
    memcpy(c->words + (emu ? 2 : 0), words, ((size_t)n + 1) * sizeof *words);
    return 0;
}

static void free_cells(struct sweep_args *a)
{
    for (size_t i = 0; a->cells && i < a->n_cells; i++) {
        int first = a->wl_n + (a->cells[i].cond.have_emulator ? 2 : 0);
        for (int w = first; a->wl_words && a->cells[i].words[w]; w++)
            free(a->cells[i].words[w]);
    }
    free(a->cells);
}

/* Create (or find) every cell's campaign. */
static int open_campaigns(struct sweep_args *a, fm_store *store, fm_sweep_cell *sc)
{
    for (size_t i = 0; i < a->n_cells; i++) {
        char *cond = fm_cond_json(&a->cells[i].cond);
        bool wl = a->wl_words != NULL, existed;
        fm_campaign_info info = {.label = sc[i].label,
                                 .kind = wl ? "workload" : "command",
                                 .command = wl ? a->wl_words[0] : a->command_json,
                                 .params = wl ? a->cells[i].params : "",
                                 .conditions = cond};
        fm_store_status st =
            cond ? fm_store_campaign(store, &info, &sc[i].campaign, &existed) : FM_STORE_ENOMEM;
        free(cond);
        if (st == FM_STORE_ECONFLICT)
            return fm_cli_usage_error("--label: campaign '%s' in %s was made with another "
                                      "command, parameters or conditions; choose another label",
                                      info.label, a->db);
        if (st != FM_STORE_OK)
            return fm_cli_fail("cannot create the campaign: %s", fm_store_errmsg(store));
    }
    return 0;
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

/* ---- results -------------------------------------------------------------------------------- */

struct results {
    const char *test; /* "exact" or "chi-square" */
    double homog_p;
    bool have_trend;
    double trend_z, trend_p;
    size_t most, least;
};

static int collect(struct sweep_args *a, fm_store *store, const fm_sweep_cell *sc,
                   struct results *r)
{
    uint64_t k[MAX_CELLS], n[MAX_CELLS];
    double score[MAX_CELLS];
    for (size_t i = 0; i < a->n_cells; i++) {
        struct cell *c = &a->cells[i];
        fm_store_summary s;
        if (fm_store_summarize(store, sc[i].campaign, &s) != FM_STORE_OK)
            return fm_cli_fail("cannot read the results: %s", fm_store_errmsg(store));
        c->runs = (uint64_t)fm_store_summary_trials(&s);
        c->failures = (uint64_t)fm_store_summary_failures(&s);
        c->ci = (fm_interval){NAN, 0, 1};
        if (c->runs > 0)
            fm_stats_interval(c->failures, c->runs, a->cfg.confidence, FM_CI_EXACT, FM_CI_TWO_SIDED,
                              &c->ci);
        k[i] = c->failures;
        n[i] = c->runs;
        score[i] = a->n_vary == 1 ? a->vary[0].score[c->level[0]] : 0;
    }
    for (size_t i = 0; i < a->n_cells; i++) {
        const struct cell *c = &a->cells[i], *m = &a->cells[r->most], *l = &a->cells[r->least];
        if (c->runs && (!m->runs || c->ci.estimate > m->ci.estimate))
            r->most = i;
        if (c->runs && (!l->runs || c->ci.estimate < l->ci.estimate))
            r->least = i;
    }
    r->homog_p = 1;
    r->test = "exact";
    fm_stats_status st =
        a->n_cells < 2 ? FM_STATS_OK : fm_stats_ffh_exact(k, n, a->n_cells, 20000000, &r->homog_p);
    if (st == FM_STATS_ETOOBIG) {
        double x2, df;
        r->test = "chi-square";
        st = fm_stats_chisq_homogeneity(k, n, a->n_cells, &x2, &df, &r->homog_p);
    }
    if (st != FM_STATS_OK)
        return fm_cli_fail("homogeneity test: %s", fm_stats_strerror(st));
    r->have_trend = a->n_vary == 1 && a->vary[0].numeric && a->n_cells >= 2;
    if (r->have_trend &&
        fm_stats_trend(k, n, score, a->n_cells, &r->trend_z, &r->trend_p) != FM_STATS_OK)
        return fm_cli_fail("trend test failed");
    return 0;
}

static json_t *value_json(const struct vary *v, int level)
{
    char *end;
    long long i = strtoll(v->values[level], &end, 10);
    if (*end == '\0' && end != v->values[level])
        return json_integer(i);
    return v->numeric ? json_real(v->score[level]) : json_string(v->values[level]);
}

static json_t *results_json(const struct sweep_args *a, const struct results *r,
                            const fm_sweep_report *rep)
{
    json_t *o = json_object(), *arr = json_array(), *names = json_array();
    json_object_set_new(o, "label", json_string(a->label ? a->label : a->base_label));
    for (int i = 0; i < a->n_vary; i++)
        json_array_append_new(names, json_string(a->vary[i].name));
    json_object_set_new(o, "varied", names);
    for (size_t i = 0; i < a->n_cells; i++) {
        const struct cell *c = &a->cells[i];
        json_t *e = json_object();
        for (int v = 0; v < a->n_vary; v++)
            json_object_set_new(e, a->vary[v].name, value_json(&a->vary[v], c->level[v]));
        json_object_set_new(e, "label", json_string(c->label));
        json_object_set_new(e, "runs", json_integer((json_int_t)c->runs));
        json_object_set_new(e, "failures", json_integer((json_int_t)c->failures));
        json_object_set_new(e, "estimate", fm_cli_json_real(c->ci.estimate));
        json_object_set_new(e, "lower", json_real(c->ci.lower));
        json_object_set_new(e, "upper", json_real(c->ci.upper));
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "conditions", arr);
    json_object_set_new(o, "confidence", json_real(a->cfg.confidence));
    json_object_set_new(o, "homogeneity_test", json_string(r->test));
    json_object_set_new(o, "homogeneity_p", json_real(r->homog_p));
    json_object_set_new(o, "trend_variable",
                        r->have_trend ? json_string(a->vary[0].name) : json_null());
    json_object_set_new(o, "trend_z", r->have_trend ? json_real(r->trend_z) : json_null());
    json_object_set_new(o, "trend_p", r->have_trend ? json_real(r->trend_p) : json_null());
    json_object_set_new(o, "most", json_integer((json_int_t)r->most));
    json_object_set_new(o, "least", json_integer((json_int_t)r->least));
    static const char *const stops[] = {"runs",   "duration", "decided",
                                        "sigint", "sigterm",  "error"};
    json_object_set_new(o, "stop", json_string(stops[rep->stop]));
    return o;
}

/* "90.0% (86.1-93.2%)" */
static const char *fmt_cell(const struct cell *c, char *buf, size_t size)
{
    double v[3] = {c->ci.estimate, c->ci.lower, c->ci.upper};
    char t[3][32];
    if (c->runs == 0)
        return snprintf(buf, size, "no runs"), buf;
    fm_cli_fmt_probs(v, t, 3);
    snprintf(buf, size, "%s (%s to %s)", t[0], t[1], t[2]);
    return buf;
}

static void print_results(const struct sweep_args *a, const struct results *r,
                          const fm_sweep_report *rep)
{
    printf("%s: %zu conditions, %lld runs each in this invocation (%d of %d rounds, %.1f s) in "
           "%s\n",
           a->label ? a->label : a->base_label, a->n_cells, (long long)a->runs, rep->rounds_done,
           a->rounds, rep->wall_s, a->db);
    int width[MAX_VARY];
    printf(" ");
    for (int v = 0; v < a->n_vary; v++) {
        width[v] = (int)strlen(a->vary[v].name);
        for (int j = 0; j < a->vary[v].n_values; j++)
            if ((int)strlen(a->vary[v].values[j]) > width[v])
                width[v] = (int)strlen(a->vary[v].values[j]);
        printf(" %*s", width[v], a->vary[v].name);
    }
    printf("  %8s  %8s  failure probability (%.10g%% exact CI)\n", "runs", "failures",
           a->cfg.confidence * 100);
    for (size_t i = 0; i < a->n_cells; i++) {
        const struct cell *c = &a->cells[i];
        char buf[128];
        printf(" ");
        for (int v = 0; v < a->n_vary; v++)
            printf(" %*s", width[v], a->vary[v].values[c->level[v]]);
        printf("  %8llu  %8llu  %s\n", (unsigned long long)c->runs, (unsigned long long)c->failures,
               fmt_cell(c, buf, sizeof buf));
    }
    double alpha = 1 - a->cfg.confidence;
    printf("  homogeneity: %s p = %.3g (%s)\n",
           strcmp(r->test, "exact") == 0 ? "Fisher-Freeman-Halton exact test"
                                         : "chi-square test (too many tables for the exact one)",
           r->homog_p,
           r->homog_p < alpha ? "the failure probability depends on the conditions"
                              : "no dependence detected");
    if (r->have_trend)
        printf("  trend over %s: Cochran-Armitage z = %.3g, p = %.3g (%s)\n", a->vary[0].name,
               r->trend_z, r->trend_p,
               r->trend_p >= alpha ? "no trend detected"
               : r->trend_z > 0    ? "fails more as it grows"
                                   : "fails less as it grows");
    char most[128], least[128];
    const struct cell *hi = &a->cells[r->most], *lo = &a->cells[r->least];
    if (hi->runs && lo->runs && hi->ci.estimate == lo->ci.estimate)
        printf("  every condition failed alike: e.g. %s: %s\n", hi->what,
               fmt_cell(hi, most, sizeof most));
    else
        printf("  fails most with %s: %s; least with %s: %s\n", hi->what,
               fmt_cell(hi, most, sizeof most), lo->what, fmt_cell(lo, least, sizeof least));
}

static int plot(const struct sweep_args *a)
{
    fm_plot_point *pts = calloc(a->n_cells, sizeof *pts);
    if (pts == NULL)
        return fm_cli_fail("out of memory");
    size_t n = 0;
    for (size_t i = 0; i < a->n_cells; i++)
        if (a->cells[i].runs > 0)
            pts[n++] = (fm_plot_point){.category = a->cells[i].what,
                                       .estimate = a->cells[i].ci.estimate,
                                       .lower = a->cells[i].ci.lower,
                                       .upper = a->cells[i].ci.upper};
    char title[700], err[512];
    snprintf(title, sizeof title, "%s: failure probability (%.10g%% exact CI)",
             a->label ? a->label : a->base_label, a->cfg.confidence * 100);
    fm_plot_style style = {.title = title, .ylabel = "failure probability", .percent = true};
    int rc = fm_plot_intervals(a->plot, &style, pts, n, err, sizeof err);
    free(pts);
    return rc == 0 ? 0 : fm_cli_fail("--plot: %s", err);
}

/* ---- the command ---------------------------------------------------------------------------- */

static int run_sweep(struct sweep_args *a, fm_store *store, fm_sweep_cell *sc)
{
    struct progress prog = {.tty = isatty(STDERR_FILENO) && !a->quiet};
    fm_sweep_config cfg = {.base = a->cfg,
                           .cells = sc,
                           .n_cells = a->n_cells,
                           .runs_each = a->runs,
                           .rounds = a->rounds,
                           .on_batch = on_batch,
                           .ctx = &prog};
    cfg.base.store = store;
    cfg.base.progress = progress_cb;
    cfg.base.progress_ctx = &prog;
    fm_sweep_report rep;
    fm_run_status st = fm_sweep_run(&cfg, &rep);
    if (prog.tty)
        fprintf(stderr, "\r\033[K");
    if (st == FM_RUN_EINVAL)
        return fm_cli_usage_error("%s", rep.error);
    if (st != FM_RUN_OK)
        return fm_cli_fail("%s", rep.error);
    if (rep.stop == FM_STOP_ERROR)
        return fm_cli_usage_error("%s", rep.error); /* e.g. the command does not exist */
    struct results r = {0};
    int rc = collect(a, store, sc, &r);
    if (rc)
        return rc;
    if (a->json)
        rc = fm_cli_print_json(results_json(a, &r, &rep));
    else
        print_results(a, &r, &rep);
    if (rc == 0 && a->plot)
        rc = plot(a);
    if (rc == 0 && rep.stop == FM_STOP_SIGINT)
        rc = 130;
    if (rc == 0 && rep.stop == FM_STOP_SIGTERM)
        rc = 143;
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    struct sweep_args a = {.db = "flakemeter.db", .runs = 100, .rounds = 10};
    fm_run_config_init(&a.cfg);
    fm_store *store = NULL;
    fm_sweep_cell *sc = NULL;
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        goto out;
    a.n_cells = cell_count(&a);
    if (a.n_cells > MAX_CELLS) {
        rc = fm_cli_usage_error("--vary: more than %d combinations", MAX_CELLS);
        goto out;
    }
    if (a.rounds > a.runs)
        a.rounds = (int)a.runs;
    a.cells = calloc(a.n_cells, sizeof *a.cells);
    sc = calloc(a.n_cells, sizeof *sc);
    if (a.cells == NULL || sc == NULL) {
        rc = fm_cli_fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < a.n_cells; i++)
        if ((rc = make_cell(&a, i, &sc[i])) != 0)
            goto out;
    if ((rc = fm_cli_open_store(a.db, true, &store)) != 0 ||
        (rc = open_campaigns(&a, store, sc)) != 0)
        goto out;
    /* Signals wait (blocked) between batches; each batch's engine reads them from its
     * signalfd, so a Ctrl-C at any moment ends the sweep after the running batch. */
    sigprocmask(SIG_BLOCK, &mask, &old);
    rc = run_sweep(&a, store, sc);
out:
    if (store && fm_store_close(store) != FM_STORE_OK && rc == FM_EXIT_OK)
        rc = fm_cli_fail("cannot close the store");
    free_cells(&a);
    free(sc);
    for (int i = 0; i < a.n_vary; i++)
        free(a.vary[i].text);
    return rc;
}
