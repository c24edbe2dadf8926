/*
 * cmd_tests.c - `flakemeter tests`: every test of the ingested CI history with its failure
 * probability (exact interval), flip rate and class, sorted by how much of the CI red rate it
 * explains.
 *
 * Reading is history/fm_history.c, the statistics stats/fm_stats_flaky.c (docs/statistics.md,
 * sec. 8); this file windows, sorts and prints.  A test's share of the red rate is the fraction
 * of its suite's CI runs (in the window) in which its last attempt failed.
 */
#include "fm_cli.h"
#include "fm_hist.h"
#include "fm_history.h"
#include "fm_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: flakemeter tests [--db PATH] [--label SUITE] [--last N] [--since DATE]\n"
    "                        [--until DATE] [--confidence C] [--json]\n"
    "\n"
    "Every test of the CI history read by `flakemeter ingest`: CI runs, first-attempt\n"
    "failures, passes on retry, failure probability with its exact confidence interval, flip\n"
    "rate (how often consecutive runs differ) and class (stable, flaky or failing) with the\n"
    "evidence.  Sorted by the share of CI runs each test turned red.\n";

typedef fm_history_flaky row;

/* The grammar of fm_hist_parse_time, as `check --baseline` reads it. */
static int parse_date(void *value, const char *text, const char *name)
{
    int64_t ns;
    fm_hist_status st = fm_hist_parse_time(text, &ns);
    if (st == FM_HIST_ERANGE)
        return fm_cli_usage_error("%s: '%s' is outside 1970-01-01 .. 2261-12-31 (UTC)", name, text);
    if (st != FM_HIST_OK)
        return fm_cli_usage_error("%s: '%s' is not a date; expected " FM_HIST_TIME_GRAMMAR, name,
                                  text);
    *(int64_t *)value = ns;
    return 0;
}

static void evidence_text(const row *w, char *buf, size_t size)
{
    const fm_flaky_report *r = &w->report;
    unsigned long long n = r->runs;
    switch (r->evidence) {
    case FM_EVIDENCE_MIXED_RUN:
        if (r->passed_on_retry == r->mixed)
            snprintf(buf, size, "passed on retry in %llu of %llu runs",
                     (unsigned long long)r->passed_on_retry, n);
        else
            snprintf(buf, size, "passed and failed within %llu of %llu runs",
                     (unsigned long long)r->mixed, n);
        return;
    case FM_EVIDENCE_SAME_REVISION:
        snprintf(buf, size, "passed and failed at the same revision (%llu revision%s)",
                 (unsigned long long)r->same_revision, r->same_revision == 1 ? "" : "s");
        return;
    case FM_EVIDENCE_INTERMITTENT:
        snprintf(buf, size, "failed in %llu separate stretches", (unsigned long long)r->stretches);
        return;
    case FM_EVIDENCE_NEVER_PASSED:
        snprintf(buf, size, "failed all %llu run%s", n, n == 1 ? "" : "s");
        return;
    case FM_EVIDENCE_BROKEN:
        snprintf(buf, size, "failed the last %llu run%s, passed before",
                 (unsigned long long)r->last_stretch, r->last_stretch == 1 ? "" : "s");
        return;
    case FM_EVIDENCE_FIXED:
        snprintf(buf, size, "one stretch of %llu failure%s, passing since",
                 (unsigned long long)r->failures, r->failures == 1 ? "" : "s");
        return;
    case FM_EVIDENCE_NEVER_FAILED:
        snprintf(buf, size, "passed all %llu run%s", n, n == 1 ? "" : "s");
        return;
    }
    snprintf(buf, size, "?");
}

static const char *const evidence_keys[] = {
    [FM_EVIDENCE_MIXED_RUN] = "mixed_run",
    [FM_EVIDENCE_SAME_REVISION] = "same_revision",
    [FM_EVIDENCE_INTERMITTENT] = "intermittent",
    [FM_EVIDENCE_NEVER_PASSED] = "never_passed",
    [FM_EVIDENCE_BROKEN] = "broken",
    [FM_EVIDENCE_FIXED] = "fixed",
    [FM_EVIDENCE_NEVER_FAILED] = "never_failed",
};

static json_t *row_json(const row *w)
{
    const fm_flaky_report *r = &w->report;
    char text[160];
    evidence_text(w, text, sizeof text);
    json_t *o = json_object();
    json_object_set_new(o, "label", json_string(w->test->label));
    json_object_set_new(o, "test", json_string(w->test->test));
    json_object_set_new(o, "runs", json_integer((json_int_t)r->runs));
    json_object_set_new(o, "failures", json_integer((json_int_t)r->failures));
    json_object_set_new(o, "passed_on_retry", json_integer((json_int_t)r->passed_on_retry));
    json_object_set_new(o, "red_runs", json_integer((json_int_t)r->red));
    json_object_set_new(o, "timeouts", json_integer((json_int_t)w->timeouts));
    json_object_set_new(o, "estimate", fm_cli_json_real(r->interval.estimate));
    json_object_set_new(o, "lower", fm_cli_json_real(r->interval.lower));
    json_object_set_new(o, "upper", fm_cli_json_real(r->interval.upper));
    json_object_set_new(o, "flip_rate", fm_cli_json_real(r->flip_rate));
    json_object_set_new(o, "red_share", fm_cli_json_real(w->red_share));
    json_object_set_new(o, "suite_runs", json_integer((json_int_t)w->suite_runs));
    json_object_set_new(o, "class", json_string(fm_stats_class_name(r->cls)));
    json_object_set_new(o, "evidence", json_string(evidence_keys[r->evidence]));
    json_object_set_new(o, "evidence_text", json_string(text));
    return o;
}

static size_t name_width(const row *rows, size_t n, bool with_label)
{
    size_t w = 4;
    for (size_t i = 0; i < n; i++) {
        size_t len = fm_cli_escape(rows[i].test->test, NULL, 0) +
                     (with_label ? fm_cli_escape(rows[i].test->label, NULL, 0) + 2 : 0);
        if (len > w)
            w = len;
    }
    return w < 60 ? w : 60;
}

static void print_table(const row *rows, size_t n, double conf, bool with_label)
{
    int w = (int)name_width(rows, n, with_label);
    char ci_head[32];
    snprintf(ci_head, sizeof ci_head, "%g%% CI", conf * 100.0);
    printf("%-*s %6s %6s %6s %6s  %-8s %-19s %5s  %-7s  %s\n", w, "test", "runs", "fail", "retry",
           "red", "p(fail)", ci_head, "flip", "class", "evidence");
    for (size_t i = 0; i < n; i++) {
        const fm_flaky_report *r = &rows[i].report;
        double p[3] = {r->interval.estimate, r->interval.lower, r->interval.upper};
        char b[3][32], name[1024], ci[72], flip[16], ev[160], e1[512], e2[512];
        fm_cli_fmt_probs(p, b, 3);
        snprintf(ci, sizeof ci, "%s-%s", b[1], b[2]);
        if (isnan(r->flip_rate))
            snprintf(flip, sizeof flip, "-");
        else
            snprintf(flip, sizeof flip, "%.2f", r->flip_rate);
        if (with_label)
            snprintf(name, sizeof name, "%s: %s", fm_cli_esc(rows[i].test->label, e1, sizeof e1),
                     fm_cli_esc(rows[i].test->test, e2, sizeof e2));
        else /* a newline or an escape sequence in a name must not break the table */
            fm_cli_esc(rows[i].test->test, name, sizeof name);
        evidence_text(&rows[i], ev, sizeof ev);
        printf("%-*s %6llu %6llu %6llu %6llu  %-8s %-19s %5s  %-7s  %s\n", w, name,
               (unsigned long long)r->runs, (unsigned long long)r->failures,
               (unsigned long long)r->passed_on_retry, (unsigned long long)r->red, b[0], ci, flip,
               fm_stats_class_name(r->cls), ev);
    }
}

/* One line per suite: its CI runs in the window and how many were red (in label order). */
static void print_suites(const fm_history_test *tests, const row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(tests[i].label, tests[i - 1].label) == 0)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(rows[j].test->label, tests[i].label) != 0)
                continue;
            char pct[32], esc[512];
            int64_t runs = rows[j].suite_runs, red = rows[j].suite_red;
            printf("suite %s: %lld CI runs, %lld red (%s)\n",
                   fm_cli_esc(tests[i].label, esc, sizeof esc), (long long)runs, (long long)red,
                   fm_cli_fmt_prob(runs ? (double)red / (double)runs : 0, pct, sizeof pct));
            break;
        }
    }
}

static int report(fm_store *store, const fm_history_filter *filter, double conf, bool json)
{
    fm_history_test *tests = NULL;
    size_t n = 0, failed = 0;
    row *rows = NULL;
    fm_stats_status why = FM_STATS_OK;
    int rc = 0;
    fm_hist_status st = fm_history_load(store, filter, &tests, &n);
    if (st == FM_HIST_OK)
        st = fm_history_flakiness(store, filter, tests, n, conf, &rows, &failed, &why);
    if (st == FM_HIST_ESTATS)
        rc = fm_cli_fail("%s: %s", tests[failed].test, fm_stats_strerror(why));
    else if (st == FM_HIST_ESTORE)
        rc = fm_cli_fail("cannot read the CI history: %s", fm_store_errmsg(store));
    else if (st != FM_HIST_OK)
        rc = fm_cli_fail("cannot read the CI history: %s", fm_hist_strerror(st));
    if (rc == 0 && json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, row_json(&rows[i]));
        rc = fm_cli_print_json(a);
    } else if (rc == 0) {
        print_suites(tests, rows, n);
        if (n == 0)
            printf("no CI history in the window (see 'flakemeter ingest')\n");
        else
            print_table(rows, n, conf, strcmp(tests[0].label, tests[n - 1].label) != 0);
    }
    free(rows);
    fm_history_free(tests, n);
    return rc;
}

/* No CI history at all (or none for --label): bad input, exit 2, as budget and check. */
static int check_suite(fm_store *store, const char *db, const char *label)
{
    fm_history_filter all = {.label = label};
    fm_history_test *tests = NULL;
    size_t n = 0;
    fm_hist_status st = fm_history_load(store, &all, &tests, &n);
    fm_history_free(tests, n);
    if (st == FM_HIST_ESTORE)
        return fm_cli_fail("cannot read the CI history: %s", fm_store_errmsg(store));
    if (st != FM_HIST_OK)
        return fm_cli_fail("cannot read the CI history: %s", fm_hist_strerror(st));
    if (n > 0)
        return 0;
    if (label != NULL)
        return fm_cli_usage_error("no CI history for suite '%s' in %s", label, db);
    return fm_cli_usage_error("%s holds no CI history (see 'flakemeter ingest')", db);
}

int cmd_tests(int argc, char **argv)
{
    const char *db;
    fm_cli_stores dbs = {0};
    fm_history_filter filter = {.until_ns = -1}; /* -1: --until not given */
    uint64_t last = 0;
    double conf = 0.95;
    bool json = false;
    const struct fm_opt options[] = {
        FM_OPT_CALL(0, "db", &dbs, fm_cli_parse_db, "PATH",
                    "the store (default flakemeter.db); repeated, or a quoted glob: several "
                    "stores read as one"),
        FM_OPT_STRING('l', "label", &filter.label, "SUITE",
                      "only this suite (default: every suite)"),
        FM_OPT_COUNT(0, "last", &last, 1, 1e12, "N", "only the last N CI runs of each suite"),
        FM_OPT_CALL(0, "since", &filter.since_ns, parse_date, "DATE",
                    "only CI runs at or after DATE (YYYY-MM-DD or ISO 8601, UTC)"),
        FM_OPT_CALL(0, "until", &filter.until_ns, parse_date, "DATE", "only CI runs before DATE"),
        FM_OPT_REAL('c', "confidence", &conf, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level of the intervals (default 0.95)"),
        FM_OPT_BOOL(0, "json", &json, "print an array of objects, one per test"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0) {
        fm_cli_close_stores(&dbs, NULL);
        return rc;
    }
    filter.last_runs = (size_t)last;
    /* 0 means "no bound" to the filter; --until 1970-01-01 means "nothing". */
    filter.until_ns = filter.until_ns == -1  ? 0
                      : filter.until_ns == 0 ? INT64_MIN
                                             : filter.until_ns;
    fm_store *store = NULL;
    if ((rc = fm_cli_open_stores(&dbs, &store)) != 0) {
        fm_cli_close_stores(&dbs, NULL);
        return rc;
    }
    db = dbs.display;
    rc = check_suite(store, db, filter.label);
    if (rc == 0)
        rc = report(store, &filter, conf, json);
    fm_cli_close_stores(&dbs, store);
    return rc;
}
