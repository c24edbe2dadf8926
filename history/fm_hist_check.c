/*
 * fm_hist_check.c - the regression alarm's input: the baseline split of every test's CI history
 * (fm_hist_check.h), then fm_stats_alarm and the order of the report.
 *
 * By date, a CI run is recent when its time is at or after the split.  By runs, each suite's CI
 * runs are ordered by (time, CI run id) and the distinct ones counted; the base_runs-th is the
 * last of the baseline, and a run is recent when it comes after it in that order (so two CI
 * runs at the same time are told apart by id, and every test of the suite splits at the same
 * CI run, whether or not it ran in it).  Invariant: for every test, n_base + n_recent is its
 * number of CI runs.  Nothing here prints; the statistics are libfmstats'.
 */
#include "fm_hist_check.h"

#include <stdlib.h>
#include <string.h>

/* A CI run's place in its suite's order. */
struct stamp {
    int64_t time_ns, ci_run;
};

static int cmp_stamp(const void *x, const void *y)
{
    const struct stamp *a = x, *b = y;
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    return (a->ci_run > b->ci_run) - (a->ci_run < b->ci_run);
}

/*
 * For the tests [first, end) of one suite: the last baseline CI run, the base_runs-th of the
 * suite in (time, id) order ({INT64_MAX, INT64_MAX} when the suite has no more: all baseline).
 */
static fm_hist_status suite_boundary(const fm_history_test *h, size_t first, size_t end,
                                     uint64_t base_runs, struct stamp *boundary)
{
    size_t total = 0, n = 0;
    for (size_t i = first; i < end; i++)
        total += h[i].n;
    struct stamp *all = malloc((total + 1) * sizeof *all);
    if (all == NULL)
        return FM_HIST_ENOMEM;
    for (size_t i = first; i < end; i++)
        for (size_t j = 0; j < h[i].n; j++)
            all[n++] = (struct stamp){h[i].runs[j].time_ns, h[i].runs[j].ci_run};
    qsort(all, n, sizeof *all, cmp_stamp);
    size_t distinct = 0;
    *boundary = (struct stamp){INT64_MAX, INT64_MAX};
    for (size_t i = 0; i < n; i++)
        if ((i == 0 || cmp_stamp(&all[i], &all[i - 1]) != 0) && ++distinct == base_runs) {
            *boundary = all[i];
            break;
        }
    free(all);
    return FM_HIST_OK;
}

static void count_split(const fm_history_test *h, const fm_hist_split *split,
                        const struct stamp *boundary, fm_alarm_counts *c)
{
    *c = (fm_alarm_counts){0, 0, 0, 0};
    for (size_t j = 0; j < h->n; j++) {
        const fm_history_run *r = &h->runs[j];
        struct stamp s = {r->time_ns, r->ci_run};
        bool recent = split->by_date ? r->time_ns >= split->split_ns : cmp_stamp(&s, boundary) > 0;
        bool fail = r->first != FM_OUTCOME_PASS;
        if (recent)
            c->n_recent++, c->k_recent += fail;
        else
            c->n_base++, c->k_base += fail;
    }
}

fm_hist_status fm_hist_split_counts(const fm_history_test *tests, size_t n,
                                    const fm_hist_split *split, fm_alarm_counts *counts)
{
    if ((tests == NULL && n > 0) || split == NULL || (counts == NULL && n > 0))
        return FM_HIST_EINVAL;
    for (size_t first = 0; first < n;) {
        size_t end = first + 1;
        while (end < n && strcmp(tests[end].label, tests[first].label) == 0)
            end++;
        struct stamp boundary = {0, 0};
        if (!split->by_date) {
            fm_hist_status st = suite_boundary(tests, first, end, split->base_runs, &boundary);
            if (st != FM_HIST_OK)
                return st;
        }
        for (size_t i = first; i < end; i++)
            count_split(&tests[i], split, &boundary, &counts[i]);
        first = end;
    }
    return FM_HIST_OK;
}

/* The family in report order: by p-value, ties by index. */
struct ranked {
    size_t i;
    double p;
};

static int cmp_ranked(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;
    if (a->p != b->p)
        return a->p < b->p ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static fm_hist_status rank(fm_hist_check_result *out)
{
    struct ranked *r = malloc((out->n + 1) * sizeof *r);
    if (r == NULL)
        return FM_HIST_ENOMEM;
    out->family = out->regressed = 0;
    for (size_t i = 0; i < out->n; i++)
        if (out->results[i].tested) {
            r[out->family++] = (struct ranked){i, out->results[i].p_value};
            out->regressed += out->results[i].regressed;
        }
    qsort(r, out->family, sizeof *r, cmp_ranked);
    for (size_t j = 0; j < out->family; j++)
        out->order[j] = r[j].i;
    free(r);
    return FM_HIST_OK;
}

fm_hist_status fm_hist_check(fm_store *store, const fm_hist_check_options *opt,
                             fm_hist_check_result *out)
{
    if (out == NULL)
        return FM_HIST_EINVAL;
    *out = (fm_hist_check_result){0};
    if (store == NULL || opt == NULL)
        return FM_HIST_EINVAL;
    fm_history_filter filter = {.label = opt->label};
    fm_hist_status st = fm_history_load(store, &filter, &out->tests, &out->n);
    if (st != FM_HIST_OK)
        return st;
    if (out->n == 0)
        return FM_HIST_ENODATA;
    out->counts = calloc(out->n, sizeof *out->counts);
    out->results = calloc(out->n, sizeof *out->results);
    out->order = calloc(out->n, sizeof *out->order);
    if (out->counts == NULL || out->results == NULL || out->order == NULL)
        return FM_HIST_ENOMEM;
    st = fm_hist_split_counts(out->tests, out->n, &opt->split, out->counts);
    if (st != FM_HIST_OK)
        return st;
    out->stats = fm_stats_alarm(out->counts, out->n, opt->alpha, opt->confidence, out->results);
    if (out->stats != FM_STATS_OK)
        return FM_HIST_ESTATS;
    return rank(out);
}

void fm_hist_check_free(fm_hist_check_result *out)
{
    if (out == NULL)
        return;
    fm_history_free(out->tests, out->n);
    free(out->counts);
    free(out->results);
    free(out->order);
    *out = (fm_hist_check_result){0};
}
