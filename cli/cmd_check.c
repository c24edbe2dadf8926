/*
 * cmd_check.c - `flakemeter check`: the regression alarm.  Splits every test's CI history at a
 * date or after the suite's first RUNS CI runs, and flags the tests whose first-attempt failure
 * rate rose significantly (one-sided Fisher exact test, Holm's correction across tests at
 * family-wise level --alpha: fm_stats_alarm; docs/statistics.md, sec. 10).  Exit status 1 when
 * any test is flagged, so CI can gate on it; 0 otherwise; 2 on bad input.
 *
 * Dates follow fm_hist_parse_time's grammar (history/fm_hist.h, the same as `tests --since`);
 * a CI run at or after the date is recent.  With RUNS, the first RUNS CI runs of each suite, in
 * (time, id) order, are the baseline.  The split and the test are history/fm_hist_check.c;
 * this file parses, calls fm_hist_check and prints.
 */
#include "fm_cli.h"
#include "fm_hist.h"
#include "fm_hist_check.h"
#include "fm_history.h"
#include "fm_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flakemeter check --baseline DATE|RUNS [--db PATH] [--label SUITE] [--alpha A]\n"
    "                        [--confidence C] [--json]\n"
    "\n"
    "Did a test get worse?  Compares each test's first-attempt failure rate after a split point\n"
    "with its rate before it: one-sided Fisher exact test per test, Holm's correction across\n"
    "tests, so that the chance of flagging any test whose rate did not rise is at most A.\n"
    "Tests with recent failures that cannot be flagged yet (too few runs on either side for\n"
    "a rise to be significant at A) are listed as not judged.  Exit status 1 when a test is\n"
    "flagged, 0 when none is, 2 when the split leaves nothing to compare (no test has CI runs\n"
    "on both sides of it).\n";

struct check_args {
    const char *db, *label, *baseline;
    double alpha, conf;
    bool json;
    fm_hist_split split;
};

/* ---- the split point ---------------------------------------------------------------------- */

static int parse_baseline(struct check_args *a)
{
    const char *s = a->baseline;
    size_t n = strspn(s, "0123456789");
    if (n > 0 && s[n] == '\0')
        return fm_cli_parse_count("--baseline", s, 1, FM_STATS_MAX_ATTEMPTS, &a->split.base_runs);
    fm_hist_status st = fm_hist_parse_time(s, &a->split.split_ns);
    if (st == FM_HIST_ERANGE)
        return fm_cli_usage_error("--baseline: '%s' is outside 1970-01-01 .. 2261-12-31 (UTC)", s);
    if (st != FM_HIST_OK)
        return fm_cli_usage_error("--baseline: '%s' is neither a date (YYYY-MM-DD or ISO 8601 "
                                  "date and time) nor a number of CI runs",
                                  s);
    a->split.by_date = true;
    return 0;
}

static int parse(int argc, char **argv, struct check_args *a)
{
    const struct fm_opt options[] = {
        FM_OPT_STRING(
            'b', "baseline", &a->baseline, "X",
            "a date (YYYY-MM-DD or ISO 8601 date and time; CI runs before it are the baseline) or "
            "a number RUNS (the suite's first RUNS CI runs are the baseline)"),
        FM_OPT_STRING(0, "db", &a->db, "PATH", "the store (default flakemeter.db)"),
        FM_OPT_STRING('l', "label", &a->label, "SUITE", "only this suite"),
        FM_OPT_REAL(0, "alpha", &a->alpha, 0, 1, FM_OPT_OPEN, "A",
                    "family-wise false-alarm level, in (0, 1) (default 0.05)"),
        FM_OPT_REAL('c', "confidence", &a->conf, 0, 1, FM_OPT_OPEN, "C",
                    "level of the reported intervals (default 0.95)"),
        FM_OPT_BOOL(0, "json", &a->json, "print one JSON object"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if (a->baseline == NULL)
        return fm_cli_usage_error("--baseline is required (see 'flakemeter check --help')");
    rc = parse_baseline(a);
    return rc != 0 ? rc : -1;
}

/* ---- output
 * ---------------------------------------------------------------------------------------- */

static json_t *period_json(uint64_t k, uint64_t n, const fm_interval *ci)
{
    json_t *o = json_object();
    json_object_set_new(o, "failures", json_integer((json_int_t)k));
    json_object_set_new(o, "runs", json_integer((json_int_t)n));
    json_object_set_new(o, "estimate", fm_cli_json_real(ci->estimate));
    json_object_set_new(o, "lower", json_real(ci->lower));
    json_object_set_new(o, "upper", json_real(ci->upper));
    return o;
}

static json_t *test_json(const fm_history_test *h, const fm_alarm_counts *c,
                         const fm_alarm_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "test", json_string(h->test));
    json_object_set_new(o, "suite", json_string(h->label));
    json_object_set_new(o, "baseline", period_json(c->k_base, c->n_base, &r->baseline));
    json_object_set_new(o, "recent", period_json(c->k_recent, c->n_recent, &r->recent));
    json_object_set_new(o, "p_value", json_real(r->p_value));
    json_object_set_new(o, "adjusted_p_value", json_real(r->adjusted));
    json_object_set_new(o, "regressed", json_boolean(r->regressed));
    return o;
}

static void print_period(uint64_t k, uint64_t n, const fm_interval *ci)
{
    if (n == 0) {
        printf("%-30s", "no runs");
        return;
    }
    double v[3] = {ci->estimate, ci->lower, ci->upper};
    char t[3][32], buf[160];
    fm_cli_fmt_probs(v, t, 3);
    snprintf(buf, sizeof buf, "%llu/%llu %s (%s..%s)", (unsigned long long)k, (unsigned long long)n,
             t[0], t[1], t[2]);
    printf("%-30s", buf);
}

/* A test outside the family (its margins cannot show a rise at alpha) that failed recently. */
static bool not_judged(const fm_hist_check_result *res, size_t i)
{
    return !res->results[i].tested && res->counts[i].k_recent > 0;
}

static size_t count_not_judged(const fm_hist_check_result *res)
{
    size_t k = 0;
    for (size_t i = 0; i < res->n; i++)
        k += not_judged(res, i);
    return k;
}

static const char *why_not_judged(const fm_alarm_counts *c)
{
    if (c->n_base == 0)
        return "no baseline runs";
    if (c->k_base >= c->n_base)
        return "failed every baseline run";
    return "too few runs to show a rise";
}

static void print_not_judged(const fm_hist_check_result *res)
{
    size_t k = count_not_judged(res);
    if (k == 0)
        return;
    printf("\nnot judged yet: %zu test%s failed recently but cannot be flagged at this alpha "
           "(run longer, or move the split)\n",
           k, k == 1 ? "" : "s");
    for (size_t i = 0; i < res->n; i++) {
        if (!not_judged(res, i))
            continue;
        const fm_alarm_counts *c = &res->counts[i];
        char esc[512];
        printf("%-36s ", fm_cli_esc(res->tests[i].test, esc, sizeof esc));
        print_period(c->k_base, c->n_base, &res->results[i].baseline);
        printf(" ");
        print_period(c->k_recent, c->n_recent, &res->results[i].recent);
        printf("  %s\n", why_not_judged(c));
    }
}

static void print_text(const struct check_args *a, const fm_hist_check_result *res)
{
    const fm_history_test *h = res->tests;
    const fm_alarm_counts *c = res->counts;
    const fm_alarm_result *r = res->results;
    size_t n = res->n, family = res->family, regressed = res->regressed;
    if (a->split.by_date)
        printf("Regression check, baseline: CI runs before %s\n", a->baseline);
    else
        printf("Regression check, baseline: the first %s CI runs of each suite\n", a->baseline);
    printf("%zu tests; %zu could show a rise at family-wise alpha %.10g; %zu rose "
           "(one-sided Fisher, Holm)\n",
           n, family, a->alpha, regressed);
    if (family == 0) {
        print_not_judged(res);
        return;
    }
    char head[40];
    snprintf(head, sizeof head, "baseline (%.10g%% CI)", a->conf * 100);
    printf("\n%-36s %-30s %-30s %10s %10s\n", "test", head, "recent", "p", "Holm p");
    for (size_t j = 0; j < family; j++) {
        size_t i = res->order[j];
        char esc[512];
        printf("%-36s ", fm_cli_esc(h[i].test, esc, sizeof esc));
        print_period(c[i].k_base, c[i].n_base, &r[i].baseline);
        printf(" ");
        print_period(c[i].k_recent, c[i].n_recent, &r[i].recent);
        printf(" %10.3g %10.3g%s\n", r[i].p_value, r[i].adjusted, r[i].regressed ? "  ROSE" : "");
    }
    print_not_judged(res);
}

static int report(const struct check_args *a, const fm_hist_check_result *res)
{
    int rc;
    if (a->json) {
        json_t *o = json_object(), *tests = json_array();
        json_object_set_new(o, "baseline", json_string(a->baseline));
        json_object_set_new(o, "alpha", json_real(a->alpha));
        json_object_set_new(o, "confidence", json_real(a->conf));
        json_object_set_new(o, "tests_compared", json_integer((json_int_t)res->n));
        json_object_set_new(o, "family", json_integer((json_int_t)res->family));
        json_object_set_new(o, "regressed", json_integer((json_int_t)res->regressed));
        for (size_t j = 0; j < res->family; j++) {
            size_t i = res->order[j];
            json_array_append_new(tests,
                                  test_json(&res->tests[i], &res->counts[i], &res->results[i]));
        }
        json_object_set_new(o, "tests", tests);
        json_t *nj = json_array();
        for (size_t i = 0; i < res->n; i++) {
            if (!not_judged(res, i))
                continue;
            json_t *t = test_json(&res->tests[i], &res->counts[i], &res->results[i]);
            json_object_set_new(t, "reason", json_string(why_not_judged(&res->counts[i])));
            json_array_append_new(nj, t);
        }
        json_object_set_new(o, "not_judged", nj);
        rc = fm_cli_print_json(o);
    } else {
        print_text(a, res);
        rc = FM_EXIT_OK;
    }
    return rc == FM_EXIT_OK && res->regressed > 0 ? FM_EXIT_FAIL : rc;
}

/* Some test has CI runs on both sides of the split. */
static bool comparable(const fm_hist_check_result *res)
{
    for (size_t i = 0; i < res->n; i++)
        if (res->counts[i].n_base > 0 && res->counts[i].n_recent > 0)
            return true;
    return false;
}

/* A gate must not pass when it compared nothing: one line, exit 2. */
static int nothing_to_compare(const struct check_args *a, const fm_hist_check_result *res)
{
    uint64_t most = 0; /* the most CI runs of any test */
    bool any_recent = false;
    for (size_t i = 0; i < res->n; i++) {
        uint64_t n = res->counts[i].n_base + res->counts[i].n_recent;
        most = n > most ? n : most;
        any_recent |= res->counts[i].n_recent > 0;
    }
    if (!any_recent && !a->split.by_date)
        return fm_cli_usage_error("--baseline %s: the baseline takes every CI run (a test has at "
                                  "most %llu); nothing recent to compare, give fewer runs",
                                  a->baseline, (unsigned long long)most);
    if (!any_recent)
        return fm_cli_usage_error("--baseline %s: no CI run at or after it; nothing recent to "
                                  "compare, give an earlier date",
                                  a->baseline);
    return fm_cli_usage_error("--baseline %s: no CI run before it; no baseline to compare with, "
                              "give a later date",
                              a->baseline);
}

int cmd_check(int argc, char **argv)
{
    struct check_args a = {.db = "flakemeter.db", .alpha = 0.05, .conf = 0.95};
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    fm_store *store = NULL;
    if ((rc = fm_cli_open_store(a.db, false, &store)) != 0)
        return rc;
    fm_hist_check_options opt = {a.label, a.split, a.alpha, a.conf};
    fm_hist_check_result res;
    fm_hist_status st = fm_hist_check(store, &opt, &res);
    if (st == FM_HIST_OK && !comparable(&res))
        rc = nothing_to_compare(&a, &res);
    else if (st == FM_HIST_OK)
        rc = report(&a, &res);
    else if (st == FM_HIST_ESTORE)
        rc = fm_cli_fail("cannot read %s: %s", a.db, fm_store_errmsg(store));
    else if (st == FM_HIST_ENODATA)
        rc = a.label ? fm_cli_usage_error("no CI history for suite '%s' in %s", a.label, a.db)
                     : fm_cli_usage_error("%s holds no CI history (see 'flakemeter ingest')", a.db);
    else if (st == FM_HIST_ESTATS)
        rc = fm_cli_fail("cannot compute the check: %s", fm_stats_strerror(res.stats));
    else
        rc = fm_cli_fail("%s", fm_hist_strerror(st));
    fm_hist_check_free(&res);
    fm_store_close(store);
    return rc;
}
