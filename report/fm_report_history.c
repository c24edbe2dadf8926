/*
 * fm_report_history.c - an ingested CI history in a report: per-test failure rates with their
 * intervals (fm_history_flakiness, the numbers of `tests --json`), a strip per flaky test of
 * what it did in each CI run, the suite's red rate over time, and the retry budget's expected
 * extra CI time against the red-rate target (fm_hist_budget_compute, the numbers of
 * `budget --json`, once per target).
 *
 * The red rate over time: the suite's CI runs in time order cut into at most 20 windows of
 * (nearly) equal count, each with its exact interval; a CI run is red when some test's last
 * attempt in it did not pass (the rule of fm_history_suite).  docs/statistics.md sec. 8 and 9.
 */
#include "fm_hist_budget.h"
#include "fm_history.h"
#include "fm_report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_RATE_ROWS = 40, MAX_STRIPS = 20, MAX_WINDOWS = 20 };

typedef struct {
    int64_t time_ns, ci_run;
    bool red;
} ci_run;

static int cmp_run(const void *a, const void *b)
{
    const ci_run *x = a, *y = b;
    if (x->time_ns != y->time_ns)
        return x->time_ns < y->time_ns ? -1 : 1;
    return x->ci_run < y->ci_run ? -1 : x->ci_run > y->ci_run;
}

/* The suite's CI runs in time order, with their colour (red or not); *n of them. */
static ci_run *suite_runs(const fm_history_test *t, size_t n_tests, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < n_tests; i++)
        total += t[i].n;
    ci_run *all = malloc((total ? total : 1) * sizeof *all);
    if (all == NULL)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n_tests; i++)
        for (size_t j = 0; j < t[i].n; j++)
            all[m++] = (ci_run){t[i].runs[j].time_ns, t[i].runs[j].ci_run,
                                t[i].runs[j].last != FM_OUTCOME_PASS};
    qsort(all, m, sizeof *all, cmp_run);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u > 0 && all[u - 1].ci_run == all[i].ci_run && all[u - 1].time_ns == all[i].time_ns)
            all[u - 1].red |= all[i].red;
        else
            all[u++] = all[i];
    }
    *n = u;
    return all;
}

static size_t run_position(const ci_run *runs, size_t n, int64_t time_ns, int64_t id)
{
    size_t lo = 0, hi = n;
    ci_run key = {time_ns, id, false};
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_run(&runs[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int cmp_estimate(const void *a, const void *b)
{
    const fm_history_flaky *x = *(fm_history_flaky *const *)a, *y = *(fm_history_flaky *const *)b;
    double ex = x->report.interval.estimate, ey = y->report.interval.estimate;
    if (ex != ey)
        return ex > ey ? -1 : 1;
    return strcmp(x->test->test, y->test->test);
}

/* ---- per-test rates ------------------------------------------------------------------------- */

static void rates_svg(fm_history_flaky *const *shown, size_t n, double conf, fm_rep_buf *b)
{
    fm_svg_interval *rows = calloc(n ? n : 1, sizeof *rows);
    if (rows == NULL) {
        b->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        rows[i] = (fm_svg_interval){.name = shown[i]->test->test,
                                    .estimate = shown[i]->report.interval.estimate,
                                    .lower = shown[i]->report.interval.lower,
                                    .upper = shown[i]->report.interval.upper};
    char xlabel[96];
    snprintf(xlabel, sizeof xlabel, "first-attempt failure rate (%g%% exact CI)", conf * 100);
    fm_svg_intervals(b, "Failure rate per test", xlabel, "test", rows, n, false, true, 0);
    free(rows);
}

/* The tests to show: those that failed (else all), highest estimate first, at most 40. */
static fm_history_flaky **pick(fm_history_flaky *rows, size_t n, size_t *shown, size_t *failed)
{
    fm_history_flaky **p = malloc((n ? n : 1) * sizeof *p);
    if (p == NULL)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].report.failures > 0)
            p[m++] = &rows[i];
    *failed = m;
    if (m == 0)
        for (size_t i = 0; i < n; i++)
            p[m++] = &rows[i];
    qsort(p, m, sizeof *p, cmp_estimate);
    *shown = m < MAX_RATE_ROWS ? m : MAX_RATE_ROWS;
    return p;
}

/* ---- strips --------------------------------------------------------------------------------- */

static void strips_svg(fm_history_flaky *const *tests, size_t n, const ci_run *runs, size_t n_runs,
                       fm_rep_buf *b)
{
    fm_svg c;
    int height = 90 + 22 * (int)(n ? n : 1);
    fm_svg_begin_rows(&c, b, 760, height, "Failures over time, one strip per flaky test",
                      "CI runs in time order", "test", 0, (double)(n_runs ? n_runs : 1));
    double step = (c.bottom - c.top) / (double)(n ? n : 1);
    double w = fmax((c.right - c.left) / (double)(n_runs ? n_runs : 1), 0.5);
    for (size_t i = 0; i < n; i++) {
        const fm_history_test *t = tests[i]->test;
        double y = c.top + step * (double)i;
        fm_rep_printf(b,
                      "<g class=\"strip\"><text class=\"row-name\" x=\"%.1f\" y=\"%.1f\" "
                      "text-anchor=\"end\">",
                      c.left - 6, y + step / 2 + 4);
        fm_rep_escape(b, t->test, strlen(t->test), FM_ESC_HTML, 36);
        fm_rep_puts(b, "</text>");
        for (size_t j = 0; j < t->n; j++) {
            const fm_history_run *r = &t->runs[j];
            size_t pos = run_position(runs, n_runs, r->time_ns, r->ci_run);
            const char *color = r->first == FM_OUTCOME_PASS  ? "#dddddd"
                                : r->last == FM_OUTCOME_PASS ? "#e69f00"
                                                             : "#d55e00";
            fm_rep_printf(b,
                          "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                          "fill=\"%s\"/>",
                          fm_svg_x(&c, (double)pos), y + 3, w, step - 6, color);
        }
        fm_rep_puts(b, "</g>\n");
    }
    const char *names[] = {"passed", "failed, passed on retry", "failed"};
    const char *colors[] = {"#dddddd", "#e69f00", "#d55e00"};
    for (int i = 0; i < 3; i++) {
        double x = 300 + 150.0 * i;
        fm_rep_printf(b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"%s\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                      x, 8.0, colors[i], x + 16, 17.0, names[i]);
    }
    fm_svg_end(&c);
}

/* ---- red rate over time --------------------------------------------------------------------- */

typedef struct {
    size_t first, last; /* CI runs [first, last] */
    int64_t runs, red;
    fm_interval ci;
} window;

static size_t windows(const ci_run *runs, size_t n, double conf, window *w)
{
    size_t m = n < MAX_WINDOWS * 5 ? (n + 4) / 5 : MAX_WINDOWS;
    for (size_t i = 0; i < m; i++) {
        w[i] = (window){.first = i * n / m, .last = (i + 1) * n / m - 1};
        for (size_t j = w[i].first; j <= w[i].last; j++)
            w[i].runs++, w[i].red += runs[j].red;
        if (fm_stats_interval((uint64_t)w[i].red, (uint64_t)w[i].runs, conf, FM_CI_EXACT,
                              FM_CI_TWO_SIDED, &w[i].ci) != FM_STATS_OK)
            w[i].ci = (fm_interval){NAN, NAN, NAN};
    }
    return m;
}

static void red_svg(const window *w, size_t m, double conf, fm_rep_buf *b)
{
    double x[MAX_WINDOWS], e[MAX_WINDOWS], lo[MAX_WINDOWS], hi[MAX_WINDOWS], top = 0;
    for (size_t i = 0; i < m; i++) {
        x[i] = (double)(w[i].first + w[i].last) / 2 + 1;
        e[i] = w[i].ci.estimate, lo[i] = w[i].ci.lower, hi[i] = w[i].ci.upper;
        top = fmax(top, hi[i]);
    }
    char ylabel[96];
    snprintf(ylabel, sizeof ylabel, "red CI runs (%g%% exact CI)", conf * 100);
    fm_svg c;
    fm_svg_begin(&c, b, 760, 320, "Suite red rate over time", NULL,
                 "CI runs in time order (window midpoints)", ylabel, 0,
                 m ? (double)w[m - 1].last + 2 : 1, false, 0, top > 0 ? fmin(1, top * 1.1) : 1,
                 false, true);
    fm_svg_band(&c, x, lo, hi, m, FM_C_BAND, 0.3);
    fm_svg_line(&c, x, e, m, FM_C_POINT, NULL, 2);
    for (size_t i = 0; i < m; i++)
        fm_svg_dot(&c, x[i], e[i], FM_C_POINT, 3);
    fm_svg_end(&c);
}

/* ---- the budget against the target ---------------------------------------------------------- */

enum { N_TARGETS = 7 };

typedef struct {
    double target;
    bool ok, feasible[2];
    double cost[2], red[2];
} budget_point;

static size_t budget_points(fm_store *store, const char *suite, const fm_report_options *opt,
                            budget_point *pts, bool *durations_known)
{
    double targets[N_TARGETS] = {1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, opt->target};
    size_t n = 0;
    for (int i = 0; i < N_TARGETS; i++) {
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            dup |= pts[j].target == targets[i];
        if (dup)
            continue;
        fm_hist_budget_options bo = {.label = suite,
                                     .target = targets[i],
                                     .confidence = opt->confidence,
                                     .max_attempts = 10,
                                     .min_runs = 1};
        fm_hist_budget h;
        fm_hist_status st = fm_hist_budget_compute(store, &bo, &h);
        budget_point p = {.target = targets[i], .ok = st == FM_HIST_OK};
        for (int m = 0; p.ok && m < 2; m++) {
            p.feasible[m] = h.plans[m].plan.feasible;
            p.cost[m] = h.plans[m].plan.cost;
            p.red[m] = h.plans[m].plan.red_rate;
        }
        if (p.ok)
            *durations_known = h.durations_known;
        fm_hist_budget_free(&h);
        pts[n++] = p;
    }
    /* In order of the target, largest first. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && pts[j].target > pts[j - 1].target; j--) {
            budget_point t = pts[j];
            pts[j] = pts[j - 1], pts[j - 1] = t;
        }
    return n;
}

static void budget_svg(const budget_point *p, size_t n, const fm_report_options *opt, bool seconds,
                       fm_rep_buf *b)
{
    double x[N_TARGETS], y[2][N_TARGETS], top = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = p[i].target;
        for (int m = 0; m < 2; m++) {
            y[m][i] = p[i].ok && p[i].feasible[m] ? p[i].cost[m] : NAN;
            if (isfinite(y[m][i]))
                top = fmax(top, y[m][i]);
        }
    }
    fm_svg c;
    fm_svg_begin(&c, b, 760, 340, "Retry budget: expected extra CI time against the target", NULL,
                 "target red rate per CI run",
                 seconds ? "expected extra seconds per CI run"
                         : "expected extra attempts per CI run",
                 1e-6 < opt->target ? 1e-6 : opt->target, 0.1 > opt->target ? 0.1 : opt->target,
                 true, 0, top > 0 ? top * 1.15 : 1, false, false);
    fm_svg_line(&c, x, y[FM_HIST_MODEL_POINT], n, FM_C_POINT, NULL, 2);
    fm_svg_line(&c, x, y[FM_HIST_MODEL_CONSERVATIVE], n, FM_C_CONS, NULL, 2);
    for (size_t i = 0; i < n; i++) {
        fm_svg_dot(&c, x[i], y[0][i], FM_C_POINT, 3);
        fm_svg_dot(&c, x[i], y[1][i], FM_C_CONS, 3);
    }
    char lab[64];
    snprintf(lab, sizeof lab, "target %g", opt->target);
    fm_svg_vline(&c, opt->target, FM_C_TARGET, lab);
    const char *names[] = {"point plan", "conservative plan"};
    const char *colors[] = {FM_C_POINT, FM_C_CONS};
    fm_svg_legend(&c, names, colors, 2);
    fm_svg_end(&c);
}

/* ---- the section ---------------------------------------------------------------------------- */

static void format_day(int64_t ns, char *buf, size_t size)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    buf[0] = '\0';
    if (gmtime_r(&t, &tm) != NULL)
        strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

static void rates_table(fm_rep_doc *d, fm_history_flaky *const *shown, size_t n)
{
    static const char *const h[] = {"test",  "suite", "CI runs",   "failures", "estimate",
                                    "lower", "upper", "flip rate", "class"};
    fm_rep_table_begin(d, "tests", h, 9);
    for (size_t i = 0; i < n; i++) {
        const fm_flaky_report *r = &shown[i]->report;
        char flip[32];
        snprintf(flip, sizeof flip, isfinite(r->flip_rate) ? "%.4g" : "-", r->flip_rate);
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, shown[i]->test->test);
        fm_rep_cell_text(d, shown[i]->test->label);
        fm_rep_cell_int(d, "runs", (int64_t)r->runs);
        fm_rep_cell_int(d, "failures", (int64_t)r->failures);
        fm_rep_cell_prob(d, "estimate", r->interval.estimate);
        fm_rep_cell_prob(d, "lower", r->interval.lower);
        fm_rep_cell_prob(d, "upper", r->interval.upper);
        fm_rep_cell_num(d, "flip_rate", r->flip_rate, flip);
        fm_rep_cell_text(d, fm_stats_class_name(r->cls));
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
}

static void red_table(fm_rep_doc *d, const window *w, size_t m, const ci_run *runs)
{
    static const char *const h[] = {"from", "to", "CI runs", "red", "red rate", "lower", "upper"};
    fm_rep_table_begin(d, "red", h, 7);
    for (size_t i = 0; i < m; i++) {
        char a[32], z[32];
        format_day(runs[w[i].first].time_ns, a, sizeof a);
        format_day(runs[w[i].last].time_ns, z, sizeof z);
        fm_rep_row_begin(d);
        fm_rep_cell_text(d, a);
        fm_rep_cell_text(d, z);
        fm_rep_cell_int(d, "runs", w[i].runs);
        fm_rep_cell_int(d, "red", w[i].red);
        fm_rep_cell_prob(d, "estimate", w[i].ci.estimate);
        fm_rep_cell_prob(d, "lower", w[i].ci.lower);
        fm_rep_cell_prob(d, "upper", w[i].ci.upper);
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
}

static void budget_table(fm_rep_doc *d, const budget_point *p, size_t n)
{
    static const char *const h[] = {"target", "point: extra", "point: red rate",
                                    "conservative: extra", "conservative: red rate"};
    fm_rep_table_begin(d, "budget", h, 5);
    for (size_t i = 0; i < n; i++) {
        char t[32];
        snprintf(t, sizeof t, "%g", p[i].target);
        fm_rep_row_begin(d);
        fm_rep_cell_num(d, "target", p[i].target, t);
        static const char *const ck[2] = {"point.expected_extra_seconds",
                                          "conservative.expected_extra_seconds"};
        static const char *const rk[2] = {"point.predicted_red_rate",
                                          "conservative.predicted_red_rate"};
        for (int m = 0; m < 2; m++) {
            char s[48];
            if (!p[i].ok)
                snprintf(s, sizeof s, "-");
            else
                snprintf(s, sizeof s, "%.4g%s", p[i].cost[m],
                         p[i].feasible[m] ? "" : " (misses the target)");
            fm_rep_cell_num(d, ck[m], p[i].ok ? p[i].cost[m] : NAN, s);
            fm_rep_cell_prob(d, rk[m], p[i].ok ? p[i].red[m] : NAN);
        }
        fm_rep_row_end(d);
    }
    fm_rep_table_end(d);
}

static void suite_section(fm_rep_doc *d, fm_store *store, const char *suite, fm_history_test *tests,
                          size_t n)
{
    fm_history_filter filter = {.label = suite};
    fm_history_flaky *rows = NULL, **shown = NULL;
    ci_run *runs = NULL;
    size_t n_runs = 0, n_shown = 0, n_failed = 0;
    fm_hist_status hs =
        fm_history_flakiness(store, &filter, tests, n, d->opt->confidence, &rows, NULL, NULL);
    if (hs != FM_HIST_OK) {
        fm_rep_fail(d, hs == FM_HIST_ENOMEM ? FM_REPORT_ENOMEM : FM_REPORT_ESTORE,
                    "cannot read the CI history: %s", fm_hist_strerror(hs));
        goto out;
    }
    shown = pick(rows, n, &n_shown, &n_failed);
    runs = suite_runs(tests, n, &n_runs);
    if (shown == NULL || runs == NULL) {
        fm_rep_fail(d, FM_REPORT_ENOMEM, "out of memory");
        goto out;
    }
    int64_t red = 0;
    for (size_t i = 0; i < n_runs; i++)
        red += runs[i].red;
    fm_rep_heading(d, 2, "CI history: ", suite);
    fm_rep_para(d, "%zu tests in %zu CI runs, %lld of them red; %zu tests failed at least once.", n,
                n_runs, (long long)red, n_failed);

    fm_rep_heading(d, 3, "Failure rate per test", NULL);
    fm_rep_buf svg = {0};
    rates_svg(shown, n_shown, d->opt->confidence, &svg);
    fm_rep_picture(d, &svg,
                   n_failed ? "The tests that failed, highest rate first, with exact "
                              "intervals"
                            : "No test failed: the tests with their intervals");
    rates_table(d, shown, n_shown);
    if (n_failed > n_shown)
        fm_rep_para(d, "(%zu more tests failed; flakemeter tests lists them all.)",
                    n_failed - n_shown);

    size_t n_strips = 0;
    for (size_t i = 0; i < n_shown && n_strips < MAX_STRIPS; i++)
        if (shown[i]->report.cls != FM_CLASS_STABLE)
            shown[n_strips++] = shown[i]; /* reorders the shown prefix: the tables are out */
    if (n_strips > 0) {
        fm_rep_heading(d, 3, "Flaky and failing tests over time", NULL);
        strips_svg(shown, n_strips, runs, n_runs, &svg);
        fm_rep_picture(d, &svg, "What each flaky or failing test did in each CI run");
    }

    fm_rep_heading(d, 3, "Red rate over time", NULL);
    window w[MAX_WINDOWS];
    size_t m = windows(runs, n_runs, d->opt->confidence, w);
    red_svg(w, m, d->opt->confidence, &svg);
    fm_rep_picture(d, &svg,
                   "The share of red CI runs in consecutive windows, with exact intervals");
    red_table(d, w, m, runs);

    fm_rep_heading(d, 3, "Retry budget", NULL);
    budget_point bp[N_TARGETS];
    bool seconds = true;
    size_t nb = budget_points(store, suite, d->opt, bp, &seconds);
    budget_svg(bp, nb, d->opt, seconds, &svg);
    fm_rep_picture(d, &svg,
                   "Expected extra CI time of the cheapest plan that meets each target "
                   "(flakemeter budget), point and conservative");
    budget_table(d, bp, nb);
out:
    free(rows);
    free(shown);
    free(runs);
}

void fm_rep_history(fm_rep_doc *d, fm_store *store, const char *suite)
{
    fm_history_filter filter = {.label = suite};
    fm_history_test *tests = NULL;
    size_t n = 0;
    fm_hist_status hs = fm_history_load(store, &filter, &tests, &n);
    if (hs != FM_HIST_OK) {
        fm_rep_fail(d, FM_REPORT_ESTORE, "cannot read the CI history: %s", fm_hist_strerror(hs));
        return;
    }
    /* Sorted by (label, test): one section per suite. */
    for (size_t i = 0; i < n && d->status == FM_REPORT_OK;) {
        size_t j = i;
        while (j < n && strcmp(tests[j].label, tests[i].label) == 0)
            j++;
        suite_section(d, store, tests[i].label, tests + i, j - i);
        i = j;
    }
    fm_history_free(tests, n);
}

fm_report_status fm_rep_tests_picture(fm_store *store, const char *suite,
                                      const fm_report_options *opt, fm_rep_buf *svg, char *err,
                                      size_t err_size)
{
    fm_history_filter filter = opt->filter ? *opt->filter : (fm_history_filter){.label = suite};
    fm_history_test *tests = NULL;
    fm_history_flaky *rows = NULL, **shown = NULL;
    size_t n = 0, n_shown = 0, n_failed = 0;
    fm_report_status st = FM_REPORT_OK;
    fm_hist_status hs = fm_history_load(store, &filter, &tests, &n);
    if (hs == FM_HIST_OK)
        hs = fm_history_flakiness(store, &filter, tests, n, opt->confidence, &rows, NULL, NULL);
    if (hs != FM_HIST_OK) {
        snprintf(err, err_size, "cannot read the CI history: %s", fm_hist_strerror(hs));
        st = FM_REPORT_ESTORE;
    } else if (n == 0) {
        snprintf(err, err_size, "no CI history to draw");
        st = FM_REPORT_ENODATA;
    } else if ((shown = pick(rows, n, &n_shown, &n_failed)) == NULL) {
        st = FM_REPORT_ENOMEM;
    } else {
        rates_svg(shown, n_shown, opt->confidence, svg);
    }
    free(shown);
    free(rows);
    fm_history_free(tests, n);
    return st == FM_REPORT_OK && svg->oom ? FM_REPORT_ENOMEM : st;
}
