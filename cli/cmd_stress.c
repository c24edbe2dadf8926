/*
 * cmd_stress.c - `flakemeter stress`: every test of a suite run many times as its own attempts
 * (launch/fm_stress.h), each round written into the CI history (history/fm_hist_stress.h), so
 * `tests`, `budget` and `check` read the results as they read CI reports.
 */
#include "fm_cli.h"
#include "fm_hist_stress.h"
#include "fm_stress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flakemeter stress --adapter NAME [OPTIONS] -- RUNNER-COMMAND [ARG ...]\n"
    "       flakemeter stress --list-command CMD --each TEMPLATE [OPTIONS]\n"
    "\n"
    "Run every test of a suite many times, each run its own process, and measure each test's\n"
    "failure probability and retry count.  The adapter asks the runner for its tests:\n"
    "pytest (-- python3 -m pytest [OPTIONS] [PATHS]), ctest (-- ctest --test-dir DIR),\n"
    "gtest (-- ./test_binary), go (-- go test ./pkg), cargo (-- cargo test), micropython\n"
    "(-- ./run-tests.py [OPTIONS] FILE|DIR ...); or any runner: --list-command prints one id a\n"
    "line, --each runs one ({} is the id).  Tests run in rounds, a batch of each test per\n"
    "round in a shuffled order.  With --until-decided a test stops getting runs once its\n"
    "attempt count for --target is pinned down, and --budget caps the runs of all tests.\n"
    "Each test is a campaign 'SUITE::ID' (show, export); each round's runs are CI runs of\n"
    "the suite (tests, budget, check: docs/integrations.md).\n";

struct stress_args {
    fm_stress_config c;
    fm_suite_spec spec;
    const char *adapter, *db, *filter_text;
    bool json, have_filter;
    regex_t filter;
    fm_hist_stress_sink *sink;
};

static void on_batch(int round, const fm_suite_test *t, int64_t campaign, int64_t from, int64_t to,
                     void *ctx)
{
    struct stress_args *a = ctx;
    fm_hist_stress_add(a->sink, round, t->id, campaign, from, to);
}

static int parse(int argc, char **argv, struct stress_args *a)
{
    fm_run_config *c = &a->c.base;
    uint64_t jobs = (uint64_t)c->jobs, retries = 0, per_test = 0, budget = 0, batch = 0;
    const struct fm_opt options[] = {
        FM_OPT_STRING(0, "adapter", &a->adapter, "NAME",
                      "pytest, ctest, gtest, go, cargo or micropython (the runner follows --)"),
        FM_OPT_STRING(0, "list-command", &a->spec.list_command, "CMD",
                      "any runner: a shell command printing one test id a line"),
        FM_OPT_STRING(0, "each", &a->spec.each, "TEMPLATE",
                      "any runner: a shell command running one test, {} standing for its id"),
        FM_OPT_STRING(0, "filter", &a->filter_text, "RE", "only tests whose id matches RE"),
        FM_OPT_COUNT('n', "runs", &per_test, 1, (double)(INT64_MAX / 2), "N",
                     "at most N runs of each test"),
        FM_OPT_BOOL(0, "until-decided", &a->c.until_decided,
                    "stop running a test once its attempt count for --target is pinned down"),
        FM_OPT_COUNT(0, "budget", &budget, 1, (double)(INT64_MAX / 2), "N",
                     "at most N runs of all tests together (with --until-decided: 100000)"),
        FM_OPT_BOOL(0, "uniform", &a->c.uniform,
                    "keep running decided tests until all are decided (the comparison)"),
        FM_OPT_COUNT(0, "batch", &batch, 1, 1000000, "B",
                     "runs of a test per round (default: 2 x --jobs)"),
        FM_OPT_COUNT('j', "jobs", &jobs, 1, 4096, "N",
                     "runs in parallel (default: number of CPUs)"),
        FM_OPT_RUN_LIMITS(c),
        FM_OPT_COUNT(0, "retries", &retries, 0, 1000, "R",
                     "after a failure retry at once, up to R more attempts"),
        FM_OPT_REAL('t', "target", &c->target, 0, 1, FM_OPT_OPEN, "T",
                    "all-fail probability for the retry count (default 1e-6)"),
        FM_OPT_REAL('c', "confidence", &c->confidence, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level (default 0.95)"),
        FM_OPT_STRING(0, "db", &a->db, "PATH", "the store (default flakemeter.db)"),
        FM_OPT_STRING('l', "label", &a->c.label, "SUITE",
                      "the suite's name (default: the adapter's)"),
        FM_OPT_BOOL(0, "json", &a->json, "print one JSON object: the suite and every test"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_COMMAND_FOLLOWS);
    if (rc >= 0)
        return rc;
    c->jobs = (int)jobs;
    c->retries = (unsigned)retries;
    a->c.max_per_test = (int64_t)per_test;
    a->c.budget = (int64_t)(budget || !a->c.until_decided ? budget : FM_RUN_DECIDE_CAP);
    a->c.batch = (int64_t)(batch ? batch : 2 * jobs);
    bool generic = a->spec.list_command || a->spec.each;
    if (generic && (a->adapter || optind < argc))
        return fm_cli_usage_error("--list-command and --each are the generic adapter: no "
                                  "--adapter and no runner command with them");
    if (generic && (!a->spec.list_command || !a->spec.each))
        return fm_cli_usage_error("the generic adapter needs both --list-command and --each");
    if (a->spec.each && strstr(a->spec.each, "{}") == NULL)
        return fm_cli_usage_error("--each '%s': no {} for the test id", a->spec.each);
    if (!generic && a->adapter == NULL)
        return fm_cli_usage_error("--adapter NAME (or --list-command with --each) is required "
                                  "(see 'flakemeter stress --help')");
    if (!generic && fm_suite_kind_parse(a->adapter, &a->spec.kind) != FM_RUN_OK)
        return fm_cli_usage_error("--adapter '%s': not one of pytest, ctest, gtest, go, cargo, "
                                  "micropython",
                                  a->adapter);
    if (generic)
        a->spec.kind = FM_SUITE_GENERIC;
    if (!generic && optind >= argc)
        return fm_cli_usage_error("--adapter %s: give the runner's command after --", a->adapter);
    if (!a->c.until_decided && per_test == 0 && budget == 0)
        return fm_cli_usage_error("give -n N (runs of each test), --until-decided or --budget N");
    if (a->c.uniform && !a->c.until_decided)
        return fm_cli_usage_error("--uniform compares with --until-decided: give both");
    a->spec.argv = generic ? NULL : argv + optind;
    if (a->filter_text) {
        if (regcomp(&a->filter, a->filter_text, REG_EXTENDED | REG_NOSUB) != 0)
            return fm_cli_usage_error("--filter '%s': not a regular expression", a->filter_text);
        a->have_filter = true;
        a->spec.filter = &a->filter;
    }
    if (a->c.label == NULL)
        a->c.label = generic ? "generic" : a->adapter;
    return -1;
}

static void interval(const fm_stress_test *s, double conf, fm_interval *ci)
{
    *ci = (fm_interval){0, 0, 1};
    if (s->runs > 0)
        fm_stats_interval((uint64_t)s->failures, (uint64_t)s->runs, conf, FM_CI_EXACT,
                          FM_CI_TWO_SIDED, ci);
}

/* What a uniform allocation to the same decisions would have run: every test as long as the
 * last one to decide (their largest count), when all decided. */
static int64_t uniform_runs(const fm_stress_report *r, size_t n, bool *all)
{
    int64_t most = 0;
    *all = true;
    for (size_t i = 0; i < n; i++) {
        *all &= r->tests[i].decided;
        most = r->tests[i].runs_here > most ? r->tests[i].runs_here : most;
    }
    return most * (int64_t)n;
}

static int print(const struct stress_args *a, const fm_suite *suite, const fm_stress_report *r)
{
    const fm_run_config *c = &a->c.base;
    bool all;
    int64_t uni = uniform_runs(r, suite->n, &all);
    if (a->json) {
        json_t *o = json_object(), *tests = json_array();
        json_object_set_new(o, "suite", json_string(a->c.label));
        json_object_set_new(o, "adapter", json_string(fm_suite_kind_name(a->spec.kind)));
        json_object_set_new(o, "db", json_string(a->db));
        json_object_set_new(o, "runs", json_integer(r->runs_here));
        json_object_set_new(o, "rounds", json_integer(r->rounds));
        json_object_set_new(o, "ci_runs", json_integer(fm_hist_stress_runs(a->sink)));
        json_object_set_new(o, "budget_spent", json_boolean(r->budget_spent));
        json_object_set_new(o, "all_decided", json_boolean(a->c.until_decided && all));
        json_object_set_new(o, "uniform_runs",
                            a->c.until_decided && all ? json_integer(uni) : json_null());
        for (size_t i = 0; i < suite->n; i++) {
            const fm_stress_test *s = &r->tests[i];
            fm_interval ci;
            interval(s, c->confidence, &ci);
            json_t *t = json_object();
            json_object_set_new(t, "id", json_string(suite->tests[i].id));
            json_object_set_new(t, "runs", json_integer(s->runs));
            json_object_set_new(t, "failures", json_integer(s->failures));
            json_object_set_new(t, "runs_here", json_integer(s->runs_here));
            json_object_set_new(t, "estimate", s->runs ? json_real(ci.estimate) : json_null());
            json_object_set_new(t, "lower", s->runs ? json_real(ci.lower) : json_null());
            json_object_set_new(t, "upper", s->runs ? json_real(ci.upper) : json_null());
            json_object_set_new(t, "decided", json_boolean(s->decided));
            json_object_set_new(t, "attempts",
                                s->decided && !s->beyond ? json_integer((json_int_t)s->attempts)
                                                         : json_null());
            json_object_set_new(t, "indifferent", json_boolean(s->indifferent));
            json_array_append_new(tests, t);
        }
        json_object_set_new(o, "tests", tests);
        return fm_cli_print_json(o);
    }
    printf("suite '%s' (%s): %zu test%s, %lld runs in %d round%s (%.1f s) in %s\n", a->c.label,
           fm_suite_kind_name(a->spec.kind), suite->n, suite->n == 1 ? "" : "s",
           (long long)r->runs_here, r->rounds, r->rounds == 1 ? "" : "s", r->wall_s, a->db);
    printf("  %-40s %8s %7s  %-32s %s\n", "test", "runs", "failed", "failure probability",
           "attempts");
    for (size_t i = 0; i < suite->n; i++) {
        const fm_stress_test *s = &r->tests[i];
        fm_interval ci;
        interval(s, c->confidence, &ci);
        char e[32], lo[32], hi[32], ci_text[80], att[48];
        snprintf(ci_text, sizeof ci_text, "%s (%s to %s)", fm_cli_fmt_prob(ci.estimate, e, 32),
                 fm_cli_fmt_prob(ci.lower, lo, 32), fm_cli_fmt_prob(ci.upper, hi, 32));
        if (!a->c.until_decided)
            snprintf(att, sizeof att, "-");
        else if (s->decided && s->beyond)
            snprintf(att, sizeof att, "decided: none reaches the target");
        else if (s->decided)
            snprintf(att, sizeof att, "decided: %llu%s", (unsigned long long)s->attempts,
                     s->indifferent ? " (one fewer may do)" : "");
        else
            snprintf(att, sizeof att, "not decided");
        printf("  %-40s %8lld %7lld  %-32s %s\n", suite->tests[i].id, (long long)s->runs,
               (long long)s->failures, ci_text, att);
    }
    if (r->budget_spent)
        printf("the budget of %lld runs is spent%s\n", (long long)a->c.budget,
               all ? "" : ": some tests are not decided (a larger --budget decides them)");
    if (a->c.until_decided && all && !a->c.uniform)
        printf("adaptive allocation: %lld runs; a uniform allocation to the same decisions "
               "needs %lld (every test as long as the last to decide)\n",
               (long long)r->runs_here, (long long)uni);
    printf("history: %lld CI runs of suite '%s' (flakemeter tests --label '%s'; budget; check)\n",
           (long long)fm_hist_stress_runs(a->sink), a->c.label, a->c.label);
    return FM_EXIT_OK;
}

int cmd_stress(int argc, char **argv)
{
    struct stress_args a = {.db = "flakemeter.db"};
    fm_run_config_init(&a.c.base);
    fm_suite suite = {0};
    fm_store *store = NULL;
    fm_stress_report rep = {0};
    char err[1024];
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        goto out;
    fm_run_status st = fm_suite_discover(&a.spec, &suite, err, sizeof err);
    if (st != FM_RUN_OK) {
        rc = st == FM_RUN_EINVAL   ? fm_cli_usage_error("%s", err)
             : st == FM_RUN_ESTART ? fm_cli_usage_error("%s", err)
                                   : fm_cli_fail("%s", err);
        goto out;
    }
    if ((rc = fm_cli_open_store(a.db, true, &store)) != 0)
        goto out;
    if ((a.sink = fm_hist_stress_new(store, a.c.label)) == NULL) {
        rc = fm_cli_fail("out of memory");
        goto out;
    }
    a.c.suite = &suite;
    a.c.base.store = store;
    a.c.on_batch = on_batch;
    a.c.ctx = &a;
    st = fm_stress_run(&a.c, &rep);
    fm_hist_status hs = fm_hist_stress_flush(a.sink);
    if (st == FM_RUN_ECONFLICT)
        rc = fm_cli_usage_error("%s; choose another --label", rep.error);
    else if (st != FM_RUN_OK || rep.stop == FM_STOP_ERROR)
        rc = fm_cli_fail("%s", rep.error[0] ? rep.error : fm_run_strerror(st));
    else if (hs != FM_HIST_OK)
        rc = fm_cli_fail("cannot write the CI history: %s", fm_store_errmsg(store));
    else
        rc = print(&a, &suite, &rep);
    if (rc == FM_EXIT_OK &&
        (rep.stop == FM_STOP_SIGINT || rep.stop == FM_STOP_SIGTERM || rep.stop == FM_STOP_SIGHUP))
        rc = FM_EXIT_FAIL;
out:
    fm_stress_report_free(&rep);
    fm_hist_stress_free(a.sink);
    fm_suite_free(&suite);
    if (store && fm_store_close(store) != FM_STORE_OK && rc == FM_EXIT_OK)
        rc = fm_cli_fail("cannot close the store");
    if (a.have_filter)
        regfree(&a.filter);
    return rc;
}
