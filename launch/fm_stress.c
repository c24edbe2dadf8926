/*
 * fm_stress.c - rounds of per-test batches with adaptive allocation (fm_stress.h).
 *
 * Invariants: a test's counts and decision state only ever come from its own campaign (never
 * pooled with another test's); a batch never exceeds the budget or the per-test cap left; the
 * round order is a seeded shuffle, so a rerun with the same seed runs in the same order.
 */
#include "fm_stress.h"

#include "fm_fingerprint.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fm_run_status fail(fm_stress_report *rep, fm_run_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static fm_run_status fail(fm_stress_report *rep, fm_run_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->error, sizeof rep->error, fmt, ap);
    va_end(ap);
    rep->stop = FM_STOP_ERROR;
    return st;
}

static char *argv_json(char *const *argv)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && argv[i]; i++)
        json_array_append_new(a, json_string(argv[i]));
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

static fm_run_status open_campaigns(const fm_stress_config *c, fm_stress_report *rep)
{
    fm_store *store = c->base.store;
    for (size_t i = 0; i < c->suite->n; i++) {
        const fm_suite_test *t = &c->suite->tests[i];
        fm_stress_test *s = &rep->tests[i];
        size_t n = strlen(c->label) + strlen(t->id) + 3;
        char *label = malloc(n), *cmd = argv_json(t->argv), *fp = fm_fingerprint(t->argv[0]);
        fm_run_status st = FM_RUN_OK;
        if (label == NULL || cmd == NULL || fp == NULL) {
            st = fail(rep, FM_RUN_ENOMEM, "out of memory");
            goto next;
        }
        snprintf(label, n, "%s::%s", c->label, t->id);
        fm_campaign_info info = {.label = label,
                                 .kind = "command",
                                 .command = cmd,
                                 .params = "",
                                 .conditions = c->conditions ? c->conditions : "{}",
                                 .fingerprint = fp};
        bool existed;
        fm_store_status ss = fm_store_campaign(store, &info, &s->campaign, &existed);
        if (ss == FM_STORE_ECONFLICT)
            st = fail(rep, FM_RUN_ECONFLICT,
                      "campaign '%s' exists with another command or conditions", label);
        else if (ss != FM_STORE_OK)
            st = fail(rep, FM_RUN_ESTORE, "%s", fm_store_errmsg(store));
        fm_store_summary sum;
        if (st == FM_RUN_OK && existed) {
            if (fm_store_summarize(store, s->campaign, &sum) != FM_STORE_OK)
                st = fail(rep, FM_RUN_ESTORE, "%s", fm_store_errmsg(store));
            else
                s->runs = fm_store_summary_trials(&sum),
                s->failures = fm_store_summary_failures(&sum);
        }
    next:
        free(label), free(cmd), free(fp);
        if (st != FM_RUN_OK)
            return st;
    }
    return FM_RUN_OK;
}

/* Re-decide test s from its counts; the state only narrows (fm_stats_seq_update). */
static fm_run_status decide(const fm_stress_config *c, fm_stress_test *s)
{
    if (!c->until_decided || s->runs < 1)
        return FM_RUN_OK;
    if (fm_stats_seq_update((uint64_t)s->failures, (uint64_t)s->runs, c->base.confidence,
                            c->base.target, &s->seq) != FM_STATS_OK)
        return FM_RUN_ENUMERIC;
    s->decided = s->seq.decided || s->seq.indifferent;
    s->indifferent = s->seq.indifferent && !s->seq.decided;
    s->beyond = s->seq.beyond;
    s->attempts = s->seq.attempts.attempts;
    return FM_RUN_OK;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static fm_run_status batch(const fm_stress_config *c, int round, size_t i, int64_t runs,
                           fm_stress_report *rep)
{
    const fm_suite_test *t = &c->suite->tests[i];
    fm_stress_test *s = &rep->tests[i];
    fm_store *store = c->base.store;
    int64_t max = -1, from, to;
    if (fm_store_max_run_index(store, s->campaign, &max) != FM_STORE_OK)
        return fail(rep, FM_RUN_ESTORE, "%s", fm_store_errmsg(store));
    from = max + 1;
    fm_run_config cfg = c->base;
    cfg.argv = t->argv;
    cfg.wl_args = (struct fm_wl_args){0};
    cfg.campaign = s->campaign;
    cfg.label = NULL;
    cfg.runs = runs;
    cfg.until_decided = false; /* decided here, per test, across batches */
    cfg.shard_index = 0, cfg.shard_count = 1;
    fm_run_report r;
    fm_run_status st = fm_run_campaign(&cfg, &r);
    rep->wall_s += r.wall_s;
    if (st != FM_RUN_OK || r.stop == FM_STOP_ERROR) {
        rep->stop = FM_STOP_ERROR;
        snprintf(rep->error, sizeof rep->error, "%s: %s", t->id, r.error);
        return st != FM_RUN_OK ? st : FM_RUN_ESTART;
    }
    s->runs = r.counts.first_counted;
    s->failures = r.counts.first_fail;
    s->runs_here += r.first_here;
    rep->runs_here += r.first_here;
    if (fm_store_max_run_index(store, s->campaign, &max) != FM_STORE_OK)
        return fail(rep, FM_RUN_ESTORE, "%s", fm_store_errmsg(store));
    to = max + 1;
    if (c->on_batch && to > from)
        c->on_batch(round, t, s->campaign, from, to, c->ctx);
    if (r.stop == FM_STOP_SIGINT || r.stop == FM_STOP_SIGTERM || r.stop == FM_STOP_SIGHUP) {
        rep->stop = r.stop;
        return FM_RUN_OK;
    }
    return decide(c, s);
}

fm_run_status fm_stress_run(const fm_stress_config *c, fm_stress_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->stop = FM_STOP_RUNS;
    size_t n = c->suite->n;
    if (n == 0 || c->batch < 1 || c->base.store == NULL || c->label == NULL ||
        (!c->until_decided && c->budget == 0 && c->max_per_test == 0)) {
        snprintf(rep->error, sizeof rep->error, "stress needs tests, a batch and a limit");
        return FM_RUN_EINVAL;
    }
    rep->tests = calloc(n, sizeof *rep->tests);
    size_t *order = calloc(n, sizeof *order);
    fm_run_status st = FM_RUN_OK;
    if (rep->tests == NULL || order == NULL) {
        st = fail(rep, FM_RUN_ENOMEM, "out of memory");
        goto out;
    }
    if ((st = open_campaigns(c, rep)) != FM_RUN_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((st = decide(c, &rep->tests[i])) != FM_RUN_OK)
            goto out;
    for (int round = 0;; round++) {
        bool all_decided = true, any = false;
        for (size_t i = 0; i < n; i++)
            all_decided &= rep->tests[i].decided;
        if (c->until_decided && all_decided) {
            rep->stop = FM_STOP_DECIDED;
            break;
        }
        /* A seeded Fisher-Yates shuffle of the tests for this round. */
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        uint64_t x = mix(c->base.seed ^ mix((uint64_t)round + 1));
        for (size_t i = n; i > 1; i--) {
            x = mix(x);
            size_t j = (size_t)(x % i), tmp = order[i - 1];
            order[i - 1] = order[j], order[j] = tmp;
        }
        for (size_t k = 0; k < n; k++) {
            fm_stress_test *s = &rep->tests[order[k]];
            if (c->until_decided && s->decided && !c->uniform)
                continue;
            int64_t runs = c->batch;
            if (c->max_per_test > 0 && runs > c->max_per_test - s->runs_here)
                runs = c->max_per_test - s->runs_here;
            if (c->budget > 0 && runs > c->budget - rep->runs_here)
                runs = c->budget - rep->runs_here;
            if (runs <= 0)
                continue;
            any = true;
            if ((st = batch(c, round, order[k], runs, rep)) != FM_RUN_OK ||
                rep->stop != FM_STOP_RUNS)
                goto out;
        }
        if (any)
            rep->rounds = round + 1;
        else { /* every test at its cap, or the budget spent */
            rep->budget_spent = c->budget > 0 && rep->runs_here >= c->budget;
            break;
        }
    }
out:
    free(order);
    return st;
}

void fm_stress_report_free(fm_stress_report *rep)
{
    free(rep->tests);
    rep->tests = NULL;
}
