/*
 * fm_hist_flaky.c - `flakemeter tests` as a library call: every test of a CI history with its
 * flakiness (stats/fm_stats_flaky.c: failure probability with its exact interval, flip rate,
 * class with the evidence), its timeouts, its suite's CI runs and its share of the red rate,
 * sorted so that the tests that turn CI red most often come first.
 *
 * Invariants: a test's share of the red rate is the fraction of its suite's CI runs in the
 * window in which its last attempt failed; rows point into the tests array they were computed
 * from, so that array must outlive them; on failure nothing is returned (*rows NULL).
 */
#include "fm_history.h"

#include <stdlib.h>
#include <string.h>

static int by_share(const void *a, const void *b)
{
    const fm_history_flaky *x = a, *y = b;
    if (x->red_share != y->red_share)
        return x->red_share > y->red_share ? -1 : 1;
    if (x->report.interval.estimate != y->report.interval.estimate)
        return x->report.interval.estimate > y->report.interval.estimate ? -1 : 1;
    int c = strcmp(x->test->label, y->test->label);
    return c != 0 ? c : strcmp(x->test->test, y->test->test);
}

/* fm_stats_flaky on one test's CI runs. */
static fm_hist_status flaky_one(const fm_history_test *t, double conf, fm_history_flaky *row,
                                fm_stats_status *why)
{
    fm_stats_ci_run *runs = malloc((t->n ? t->n : 1) * sizeof *runs);
    if (runs == NULL)
        return FM_HIST_ENOMEM;
    *row = (fm_history_flaky){.test = t};
    for (size_t j = 0; j < t->n; j++) {
        runs[j] = (fm_stats_ci_run){t->runs[j].first != FM_OUTCOME_PASS,
                                    t->runs[j].last != FM_OUTCOME_PASS, t->runs[j].revision};
        row->timeouts += t->runs[j].first == FM_OUTCOME_TIMEOUT;
    }
    *why = fm_stats_flaky(runs, t->n, conf, &row->report);
    free(runs);
    return *why == FM_STATS_OK ? FM_HIST_OK : FM_HIST_ESTATS;
}

fm_hist_status fm_history_flakiness(fm_store *store, const fm_history_filter *filter,
                                    const fm_history_test *tests, size_t n, double conf,
                                    fm_history_flaky **rows, size_t *failed, fm_stats_status *why)
{
    if (store == NULL || rows == NULL || (tests == NULL && n > 0))
        return FM_HIST_EINVAL;
    *rows = NULL;
    if (n == 0)
        return FM_HIST_OK;
    fm_history_flaky *r = calloc(n, sizeof *r);
    if (r == NULL)
        return FM_HIST_ENOMEM;
    fm_hist_status st = FM_HIST_OK;
    fm_stats_status stats = FM_STATS_OK;
    for (size_t i = 0; i < n && st == FM_HIST_OK; i++) {
        st = flaky_one(&tests[i], conf, &r[i], &stats);
        if (st == FM_HIST_ESTATS && failed != NULL)
            *failed = i;
        if (st == FM_HIST_ESTATS && why != NULL)
            *why = stats;
    }
    /* The suite totals, once per suite (tests come sorted by label). */
    for (size_t i = 0; i < n && st == FM_HIST_OK; i++) {
        if (i > 0 && strcmp(tests[i].label, tests[i - 1].label) == 0) {
            r[i].suite_runs = r[i - 1].suite_runs;
            r[i].suite_red = r[i - 1].suite_red;
            continue;
        }
        fm_history_filter f = filter ? *filter : (fm_history_filter){0};
        f.label = tests[i].label;
        st = fm_history_suite(store, &f, &r[i].suite_runs, &r[i].suite_red);
    }
    if (st != FM_HIST_OK) {
        free(r);
        return st;
    }
    for (size_t i = 0; i < n; i++)
        r[i].red_share =
            r[i].suite_runs > 0 ? (double)r[i].report.red / (double)r[i].suite_runs : 0;
    qsort(r, n, sizeof *r, by_share);
    *rows = r;
    return FM_HIST_OK;
}
