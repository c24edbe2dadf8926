/*
 * fm_stats_flaky.c - per-test flakiness from a CI history: flip rate, failure probability with
 * its exact interval, and the class (stable / flaky / failing) with the evidence for it.
 *
 * Flip rate after Kowalczyk, Nair, Gao, Silberstein, Long and Memon, "Modeling and Ranking
 * Flaky Tests at Apple" (ICSE-SEIP 2020): the number of times the outcome
 * changes between consecutive runs, divided by the number of consecutive pairs (runs - 1).  The
 * outcome of a CI run is its first attempt (the one a retry policy acts on).
 *
 * Classification (docs/statistics.md, sec. 8): flaky needs evidence that the test passes and
 * fails on the same code, tried in order of strength: a CI run holding both a pass and a
 * failure (a retry that passed); a revision seen with both; failing again after passing (two or
 * more separate stretches of failures, the weakest: without revisions, a break fixed and broken
 * again looks the same).  Otherwise one stretch of failures lasting to the latest run is failing,
 * one that ended is a fixed break (stable), and no failure is stable.
 *
 * Pure computation: the only allocation is a sorted copy of the revisions.
 */
#include "fm_stats_internal.h"

#include <math.h>
#include <stdlib.h>

const char *fm_stats_class_name(fm_flaky_class cls)
{
    switch (cls) {
    case FM_CLASS_STABLE:
        return "stable";
    case FM_CLASS_FLAKY:
        return "flaky";
    case FM_CLASS_FAILING:
        return "failing";
    }
    return "unknown";
}

typedef struct {
    int64_t revision;
    bool failed;
} rev_outcome;

static int by_revision(const void *a, const void *b)
{
    const rev_outcome *x = a, *y = b;
    if (x->revision != y->revision)
        return x->revision < y->revision ? -1 : 1;
    return (int)x->failed - (int)y->failed;
}

/* Revisions whose first attempts include both a pass and a failure. */
static fm_stats_status count_same_revision(const fm_stats_ci_run *runs, size_t n, uint64_t *count)
{
    *count = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += runs[i].revision != 0;
    if (m < 2)
        return FM_STATS_OK;
    rev_outcome *v = malloc(m * sizeof *v);
    if (v == NULL)
        return FM_STATS_ENOMEM;
    m = 0;
    for (size_t i = 0; i < n; i++)
        if (runs[i].revision != 0)
            v[m++] = (rev_outcome){runs[i].revision, runs[i].first_failed};
    qsort(v, m, sizeof *v, by_revision);
    /* Sorted with passes first within a revision: a revision is mixed when its first and last
     * entries differ. */
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j + 1 < m && v[j + 1].revision == v[i].revision)
            j++;
        *count += v[i].failed != v[j].failed;
        i = j + 1;
    }
    free(v);
    return FM_STATS_OK;
}

static void count_runs(const fm_stats_ci_run *runs, size_t n, fm_flaky_report *r)
{
    for (size_t i = 0; i < n; i++) {
        const fm_stats_ci_run *x = &runs[i];
        r->failures += x->first_failed;
        r->red += x->last_failed;
        r->passed_on_retry += x->first_failed && !x->last_failed;
        r->mixed += x->first_failed != x->last_failed;
        if (i > 0)
            r->flips += x->first_failed != runs[i - 1].first_failed;
        if (x->first_failed && (i == 0 || !runs[i - 1].first_failed))
            r->stretches++;
        r->last_stretch = x->first_failed ? r->last_stretch + 1 : 0;
    }
    r->runs = n;
    r->flip_rate = n >= 2 ? (double)r->flips / (double)(n - 1) : NAN;
}

static void classify(fm_flaky_report *r)
{
    if (r->mixed > 0) {
        r->cls = FM_CLASS_FLAKY;
        r->evidence = FM_EVIDENCE_MIXED_RUN;
    } else if (r->same_revision > 0) {
        r->cls = FM_CLASS_FLAKY;
        r->evidence = FM_EVIDENCE_SAME_REVISION;
    } else if (r->stretches >= 2) {
        r->cls = FM_CLASS_FLAKY;
        r->evidence = FM_EVIDENCE_INTERMITTENT;
    } else if (r->failures == r->runs) {
        r->cls = FM_CLASS_FAILING;
        r->evidence = FM_EVIDENCE_NEVER_PASSED;
    } else if (r->last_stretch > 0) {
        r->cls = FM_CLASS_FAILING;
        r->evidence = FM_EVIDENCE_BROKEN;
    } else if (r->stretches == 1) {
        r->cls = FM_CLASS_STABLE;
        r->evidence = FM_EVIDENCE_FIXED;
    } else {
        r->cls = FM_CLASS_STABLE;
        r->evidence = FM_EVIDENCE_NEVER_FAILED;
    }
}

fm_stats_status fm_stats_flaky(const fm_stats_ci_run *runs, size_t n, double c,
                               fm_flaky_report *out)
{
    fm_stats_gsl_quiet();
    if (runs == NULL || out == NULL || n == 0 || !fm_stats_is_open_prob(c))
        return FM_STATS_EDOM;
    *out = (fm_flaky_report){0};
    count_runs(runs, n, out);
    fm_stats_status status = count_same_revision(runs, n, &out->same_revision);
    if (status == FM_STATS_OK)
        status = fm_stats_interval(out->failures, out->runs, c, FM_CI_EXACT, FM_CI_TWO_SIDED,
                                   &out->interval);
    if (status == FM_STATS_OK)
        classify(out);
    return status;
}
