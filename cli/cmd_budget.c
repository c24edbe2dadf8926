/*
 * cmd_budget.c - `flakemeter budget`: per-test attempt counts for a whole suite from its CI
 * history, so that a CI run goes red at most a target fraction of the time with the least
 * expected added CI time, and the allowlist that carries them into the CI configuration.  The
 * inputs and both plans are history/fm_hist_budget.c; this file parses, calls it and prints.
 */
#include "cli_report.h"
#include "fm_cli.h"
#include "fm_hist_budget.h"
#include "fm_hist_budget_format.h"
#include "fm_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flakemeter budget --target T [--db PATH] [--label SUITE] [--point] [--timeout S]\n"
    "                         [--max-attempts N] [--confidence C] [--min-runs N]\n"
    "                         [--json | --format FORMAT]\n"
    "\n"
    "Per-test attempt counts (first try + retries) that keep the chance of a red CI run at or\n"
    "below T with the least expected added CI time, from the CI history in the store\n"
    "(flakemeter ingest).  A failed attempt costs its measured duration, a timeout the full\n"
    "timeout.  By default every failure rate is its one-sided exact upper bound at C\n"
    "(conservative); the point-estimate plan is shown beside it.\n"
    "\n"
    "--format writes the plan as a runner's configuration, its achieved red rate in a comment:\n"
    "nextest (.config/nextest.toml), pytest (conftest.py for pytest-rerunfailures), ctest\n"
    "(set_tests_properties REPEAT), bazel (.bazelrc --flaky_test_attempts), micropython\n"
    "(run-tests.py allowlists), wine (LOOP_ON_FLAKY_TESTS), toml or json (flakemeter's list).\n";

enum { MAX_CAMPAIGNS = 32 };

struct budget_args {
    const char *db, *label, *format;
    const char *campaigns[MAX_CAMPAIGNS];
    size_t n_campaigns;
    double target, conf, timeout;
    uint64_t max_attempts, min_runs;
    bool point, json, have_target, have_timeout;
};

struct budget {
    const struct budget_args *args;
    fm_hist_budget h;
};

static int add_campaign(void *value, const char *text, const char *name)
{
    struct budget_args *a = value;
    if (a->n_campaigns == MAX_CAMPAIGNS)
        return fm_cli_usage_error("%s: at most %d campaigns", name, MAX_CAMPAIGNS);
    a->campaigns[a->n_campaigns++] = text;
    return 0;
}

static int parse(int argc, char **argv, struct budget_args *a)
{
    const struct fm_opt options[] = {
        FM_OPT_REAL('t', "target", &a->target, 0, 1, FM_OPT_OPEN, "T",
                    "red-rate target per CI run, in (0, 1), e.g. 0.01", .seen = &a->have_target),
        FM_OPT_STRING(0, "db", &a->db, "PATH", "the store (default flakemeter.db)"),
        FM_OPT_STRING('l', "label", &a->label, "SUITE",
                      "the suite (needed when the store holds several)"),
        FM_OPT_BOOL(0, "point", &a->point, "plan with the point estimates k/n instead"),
        FM_OPT_REAL(0, "timeout", &a->timeout, 0, 1e9, FM_OPT_LO_OPEN, "S",
                    "a timed-out attempt costs S seconds (default: its measured time)",
                    .seen = &a->have_timeout),
        FM_OPT_COUNT(0, "max-attempts", &a->max_attempts, 1, 64, "N",
                     "at most N attempts per test, 1..64 (default 10)"),
        FM_OPT_REAL('c', "confidence", &a->conf, 0, 1, FM_OPT_OPEN, "C",
                    "level of the upper bounds, in (0, 1) (default 0.95)"),
        FM_OPT_COUNT(0, "min-runs", &a->min_runs, 1, FM_STATS_MAX_ATTEMPTS, "N",
                     "leave out tests with fewer than N CI runs (default 1)"),
        FM_OPT_CALL(0, "campaign", a, add_campaign, "LABEL",
                    "add a campaign measured with 'flakemeter run' as a test of the suite, named "
                    "LABEL (its first attempts, retry chains and median duration); it replaces a "
                    "CI test of the same name (repeatable)"),
        FM_OPT_BOOL(0, "json", &a->json, "print one JSON object"),
        FM_OPT_STRING('f', "format", &a->format, "F",
                      "write the plan as nextest, pytest, ctest, bazel, micropython or wine "
                      "configuration, or flakemeter's own list as json or toml"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if (!a->have_target)
        return fm_cli_usage_error("--target is required (see 'flakemeter budget --help')");
    fm_budget_fmt fmt;
    if (a->format != NULL && strcmp(a->format, "json") != 0 &&
        !fm_budget_fmt_parse(a->format, &fmt))
        return fm_cli_usage_error("--format: unknown format '%s'; expected nextest, pytest, ctest, "
                                  "bazel, micropython, wine, toml or json",
                                  a->format);
    if (a->format != NULL && a->json)
        return fm_cli_usage_error("--json and --format go separately (--format json prints the "
                                  "allowlist)");
    return -1;
}

/* ---- output ---------------------------------------------------------------------------------- */

enum { POINT = FM_HIST_MODEL_POINT, CONS = FM_HIST_MODEL_CONSERVATIVE };

static const char *const model_names[] = {[POINT] = "point", [CONS] = "conservative"};

static json_t *plan_json(const struct budget *b, int m)
{
    const fm_hist_budget_plan *p = &b->h.plans[m];
    json_t *o = json_pack(
        "{s:b, s:o, s:o, s:o, s:o, s:i}", "feasible", p->plan.feasible, "predicted_red_rate",
        fm_cli_json_real(p->plan.red_rate), "current_red_rate", fm_cli_json_real(p->current),
        "expected_extra_seconds", fm_cli_json_real(p->plan.cost), "optimality_gap_seconds",
        fm_cli_json_real(p->plan.gap), "other_tests_attempts", (int)b->h.others.attempts[m]);
    if (o != NULL && !p->plan.feasible) /* only then: the tests that make it so */
        json_object_set_new(o, "infeasible_because",
                            fm_cli_budget_why_json(&b->h, m, (uint32_t)b->args->max_attempts));
    return o;
}

static json_t *row_json(const struct budget *b, const fm_hist_budget_test *r, int m)
{
    bool d = b->h.durations_known;
    return json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:o, s:o, s:i, s:i, s:i, s:o, "
        "s:o, s:o, s:o}",
        "test", r->test, "runs", (json_int_t)r->n, "failures", (json_int_t)r->k, "timeouts",
        (json_int_t)r->timeouts, "retries", (json_int_t)r->nq, "retry_failures", (json_int_t)r->kq,
        "estimate", r->ci.estimate, "lower", r->ci.lower, "upper", r->p[CONS], "after_failure",
        r->nq ? json_real(r->q[POINT]) : json_null(), "after_failure_upper",
        r->nq ? json_real(r->q[CONS]) : json_null(), "attempts", (int)r->attempts[m],
        "attempts_conservative", (int)r->attempts[CONS], "attempts_point", (int)r->attempts[POINT],
        "all_fail_probability", fm_cli_json_real(r->all_fail[m]), "expected_extra_seconds",
        fm_cli_json_real(r->extra[m]), "pass_seconds", d ? json_real(r->pass_s) : json_null(),
        "fail_seconds", d ? json_real(r->fail_s) : json_null());
}

static int print_json(const struct budget *b)
{
    const struct budget_args *a = b->args;
    const fm_hist_budget_pool *g = &b->h.others;
    int m = a->point ? POINT : CONS;
    const fm_hist_budget_plan *p = &b->h.plans[m];
    json_t *tests = json_array();
    for (size_t i = 0; i < b->h.n_tests; i++)
        json_array_append_new(tests, row_json(b, &b->h.tests[i], m));
    return fm_cli_print_json(json_pack(
        "{s:s, s:f, s:s, s:f, s:b, s:o, s:o, s:o, s:I, s:I, s:o, s:b, s:o, s:o, "
        "s:{s:I, s:o, s:i, s:o}, s:I, s:o}",
        "suite", b->h.suite, "target", a->target, "model", model_names[m], "confidence", a->conf,
        "feasible", p->plan.feasible, "predicted_red_rate", fm_cli_json_real(p->plan.red_rate),
        "current_red_rate", fm_cli_json_real(p->current), "observed_red_rate",
        fm_cli_json_real(b->h.observed), "ci_runs", (json_int_t)b->h.ci_runs, "red_runs",
        (json_int_t)b->h.red_runs, "expected_extra_seconds", fm_cli_json_real(p->plan.cost),
        "durations_known", b->h.durations_known, "conservative", plan_json(b, CONS), "point",
        plan_json(b, POINT), "other_tests", "tests", (json_int_t)g->tests, "fewest_runs",
        g->tests ? json_integer((json_int_t)g->bound.fewest_runs) : json_null(), "attempts",
        (int)g->attempts[m], "upper", g->tests ? fm_cli_json_real(g->fail[CONS][0]) : json_null(),
        "excluded_tests", (json_int_t)b->h.excluded, "tests", tests));
}

/* "failed 40 of 575 first attempts (6.96%, 95% upper 9.40%); 3 of 9 retries failed" */
static void reason(const struct budget *b, const fm_hist_budget_test *r, char *buf, size_t size)
{
    char est[32], up[32], retries[80] = "", timeouts[40] = "";
    if (r->nq > 0)
        snprintf(retries, sizeof retries, "; %llu of %llu retries failed",
                 (unsigned long long)r->kq, (unsigned long long)r->nq);
    if (r->timeouts > 0)
        snprintf(timeouts, sizeof timeouts, "; %llu timeouts", (unsigned long long)r->timeouts);
    snprintf(buf, size, "failed %llu of %llu first attempts (%s, %.10g%% upper %s)%s%s",
             (unsigned long long)r->k, (unsigned long long)r->n,
             fm_cli_fmt_prob(r->ci.estimate, est, sizeof est), b->args->conf * 100,
             fm_cli_fmt_prob(r->p[CONS], up, sizeof up), retries, timeouts);
}

static int print_allowlist(const struct budget *b)
{
    const struct budget_args *a = b->args;
    int m = a->point ? POINT : CONS;
    char why[256];
    if (!b->h.plans[m].plan.feasible) { /* no allowlist that looks like a working plan */
        fm_cli_fail("the target %.10g is unreachable within %llu attempts (%s plan); no allowlist "
                    "written:",
                    a->target, (unsigned long long)a->max_attempts, model_names[m]);
        fm_cli_budget_why_print(&b->h, m, (uint32_t)a->max_attempts, stderr);
        return FM_EXIT_FAIL;
    }
    if (strcmp(a->format, "json") == 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < b->h.n_tests; i++) {
            const fm_hist_budget_test *r = &b->h.tests[i];
            if (r->attempts[m] < 2)
                continue;
            reason(b, r, why, sizeof why);
            json_array_append_new(list,
                                  json_pack("{s:s, s:i, s:f, s:f, s:s}", "test", r->test,
                                            "attempts", (int)r->attempts[m], "rate", r->ci.estimate,
                                            "upper", r->p[CONS], "reason", why));
        }
        return fm_cli_print_json(json_pack("{s:s, s:f, s:s, s:b, s:i, s:o}", "suite", b->h.suite,
                                           "target", a->target, "model", model_names[m], "feasible",
                                           b->h.plans[m].plan.feasible, "other_tests_attempts",
                                           (int)b->h.others.attempts[m], "allowlist", list));
    }
    fm_budget_fmt fmt = FM_BUDGET_FMT_TOML;
    fm_budget_fmt_parse(a->format, &fmt);
    fm_budget_fmt_options fo = {m, a->target, a->conf, (uint32_t)a->max_attempts};
    char *text = NULL;
    if (fm_hist_budget_format(&b->h, fmt, &fo, &text) != FM_HIST_OK)
        return fm_cli_fail("out of memory writing the %s configuration", a->format);
    fputs(text, stdout);
    free(text);
    return FM_EXIT_OK;
}

static void print_plan_line(const struct budget *b, int m, const char *name)
{
    const fm_hist_budget_plan *p = &b->h.plans[m];
    char red[32], now[32];
    printf("%-12s plan: red rate %s per CI run (%s with one attempt each), ", name,
           fm_cli_fmt_prob(p->plan.red_rate, red, sizeof red),
           fm_cli_fmt_prob(p->current, now, sizeof now));
    if (p->plan.feasible)
        printf("+%.4g %s per CI run%s\n", p->plan.cost, b->h.durations_known ? "s" : "attempts",
               p->plan.gap > 0 ? " (within a proven gap)" : "");
    else
        printf("the target is UNREACHABLE within %llu attempts\n",
               (unsigned long long)b->args->max_attempts);
    if (!p->plan.feasible)
        fm_cli_budget_why_print(&b->h, m, (uint32_t)b->args->max_attempts, stdout);
}

static int print_table(const struct budget *b)
{
    const struct budget_args *a = b->args;
    int m = a->point ? POINT : CONS, other = 1 - m;
    char obs[32], tgt[32];
    printf("Retry budget for suite '%s': target red rate %s per CI run\n", b->h.suite,
           fm_cli_fmt_prob(a->target, tgt, sizeof tgt));
    printf("observed red rate %s (%lld of %lld CI runs)\n",
           fm_cli_fmt_prob(b->h.observed, obs, sizeof obs), (long long)b->h.red_runs,
           (long long)b->h.ci_runs);
    print_plan_line(b, CONS, "conservative");
    print_plan_line(b, POINT, "point");
    printf("\n%-36s %6s %5s  %-28s %8s %6s %9s\n", "test", "runs", "fail", "p (exact CI)",
           "attempts", m == POINT ? "cons." : "point", "extra s");
    for (size_t i = 0; i < b->h.n_tests; i++) {
        const fm_hist_budget_test *r = &b->h.tests[i];
        double v[3] = {r->ci.estimate, r->ci.lower, r->ci.upper};
        char t[3][32], ci[128];
        fm_cli_fmt_probs(v, t, 3);
        snprintf(ci, sizeof ci, "%s (%s..%s)", t[0], t[1], t[2]);
        printf("%-36s %6llu %5llu  %-28s %8u %6u %9.4g\n", r->test, (unsigned long long)r->n,
               (unsigned long long)r->k, ci, r->attempts[m], r->attempts[other], r->extra[m]);
    }
    if (b->h.others.tests > 0) {
        char up[32];
        printf("%zu other test%s never failed: %u attempt%s each (%s plan); together at most %s "
               "(%.10g%% bound over all %zu tests, valid for the tests the history chose)\n",
               b->h.others.tests, b->h.others.tests == 1 ? "" : "s", b->h.others.attempts[m],
               b->h.others.attempts[m] == 1 ? "" : "s", model_names[m],
               fm_cli_fmt_prob(b->h.others.bound.rate, up, sizeof up), a->conf * 100,
               b->h.others.suite_tests);
    }
    if (b->h.excluded > 0)
        printf("%zu test%s with fewer than %llu runs left out\n", b->h.excluded,
               b->h.excluded == 1 ? "" : "s", (unsigned long long)a->min_runs);
    if (!b->h.durations_known)
        printf("(the history has no durations: costs are in attempts)\n");
    return FM_EXIT_OK;
}

static int fail(const struct budget_args *a, fm_store *store, const fm_hist_budget *b,
                fm_hist_status st)
{
    const char *campaign = b->campaign != SIZE_MAX ? a->campaigns[b->campaign] : NULL;
    if (st == FM_HIST_ESTORE)
        return fm_cli_fail("cannot read %s: %s", a->db, fm_store_errmsg(store));
    if (st == FM_HIST_EAMBIGUOUS)
        return fm_cli_usage_error("%s holds several suites ('%s', '%s', ...): pick one with "
                                  "--label",
                                  a->db, b->suite, b->other_suite);
    if (st == FM_HIST_ENOENT)
        return fm_cli_usage_error("--campaign: no campaign '%s' in %s", campaign, a->db);
    if (st == FM_HIST_ENODATA)
        return campaign ? fm_cli_usage_error("--campaign: '%s' has no completed run", campaign)
               : a->label
                   ? fm_cli_usage_error("no CI history for suite '%s' in %s", a->label, a->db)
                   : fm_cli_usage_error("%s holds no CI history (see 'flakemeter ingest')", a->db);
    if (st == FM_HIST_ESTATS && b->stats == FM_STATS_ENOMEM)
        return fm_cli_fail("the plan is too large to compute (%zu tests seen failing); lower "
                           "--max-attempts",
                           b->n_tests);
    if (st == FM_HIST_ESTATS)
        return fm_cli_fail("cannot compute the plan: %s", fm_stats_strerror(b->stats));
    return fm_cli_fail("%s", fm_hist_strerror(st));
}

int cmd_budget(int argc, char **argv)
{
    struct budget_args a = {.db = "flakemeter.db", .conf = 0.95, .max_attempts = 10, .min_runs = 1};
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    fm_store *store = NULL;
    if ((rc = fm_cli_open_store(a.db, false, &store)) != 0)
        return rc;
    fm_hist_budget_options opt = {
        a.label,   a.campaigns,    a.n_campaigns, a.target,
        a.conf,    a.have_timeout, a.timeout,     (uint32_t)a.max_attempts,
        a.min_runs};
    struct budget b = {.args = &a};
    fm_hist_status st = fm_hist_budget_compute(store, &opt, &b.h);
    if (st != FM_HIST_OK)
        rc = fail(&a, store, &b.h, st);
    else if (a.format != NULL)
        rc = print_allowlist(&b);
    else
        rc = a.json ? print_json(&b) : print_table(&b);
    fm_hist_budget_free(&b.h);
    fm_store_close(store);
    return rc;
}
