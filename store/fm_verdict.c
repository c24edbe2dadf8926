/*
 * fm_verdict.c - the verdict of a campaign, from the store's summary and the statistics
 * core.  Pure computation on what the store returns; printing is the CLI's job.
 */
#include "fm_verdict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double quantiles[4] = {0.50, 0.90, 0.99, 1.0};

fm_store_status fm_verdict_compute(fm_store *store, int64_t campaign, double target,
                                   double confidence, fm_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->target = target;
    out->confidence = confidence;
    fm_store_status st = fm_store_summarize(store, campaign, &out->sum);
    if (st == FM_STORE_OK)
        st = fm_store_wall_quantiles(store, campaign, quantiles, 4, out->durations_ns);
    if (st == FM_STORE_OK)
        st = fm_store_causes(store, campaign, out->causes, sizeof out->causes / sizeof *out->causes,
                             &out->n_causes, &out->causes_total);
    if (st != FM_STORE_OK)
        return st;
    const fm_store_summary *s = &out->sum;
    out->n = fm_store_summary_trials(s);
    out->k = fm_store_summary_failures(s);
    out->have_retries = s->max_attempt >= 2;
    if (out->n == 0)
        return FM_STORE_OK;
    if (fm_stats_interval((uint64_t)out->k, (uint64_t)out->n, confidence, FM_CI_EXACT,
                          FM_CI_TWO_SIDED, &out->ci) != FM_STATS_OK ||
        fm_stats_attempts_from_counts((uint64_t)out->k, (uint64_t)out->n, confidence, 0.5, 0.5,
                                      target, &out->attempts) != FM_STATS_OK)
        return FM_STORE_EINVAL;
    if (!out->have_retries)
        return FM_STORE_OK;
    if (fm_stats_chain((uint64_t)out->k, (uint64_t)out->n, (uint64_t)s->retries_failed,
                       (uint64_t)s->retries, confidence, target, &out->chain) != FM_STATS_OK ||
        fm_stats_interval((uint64_t)s->chains_failed, (uint64_t)s->chains, confidence, FM_CI_EXACT,
                          FM_CI_TWO_SIDED, &out->chain_fail) != FM_STATS_OK)
        return FM_STORE_EINVAL;
    return FM_STORE_OK;
}

fm_store_status fm_verdict_list(fm_store *store, double conf, fm_verdict_row **rows, size_t *n)
{
    int64_t *ids = NULL;
    *rows = NULL;
    fm_store_status st = fm_store_campaign_list(store, &ids, n);
    fm_verdict_row *r = st == FM_STORE_OK ? calloc(*n + 1, sizeof *r) : NULL;
    if (st == FM_STORE_OK && r == NULL)
        st = FM_STORE_ENOMEM;
    for (size_t i = 0; st == FM_STORE_OK && i < *n; i++) {
        fm_store_summary sum;
        st = fm_store_campaign_info(store, ids[i], &r[i].info);
        if (st == FM_STORE_OK)
            st = fm_store_summarize(store, ids[i], &sum);
        if (st != FM_STORE_OK)
            break;
        r[i].runs = (uint64_t)fm_store_summary_trials(&sum);
        r[i].failures = (uint64_t)fm_store_summary_failures(&sum);
        r[i].ci = (fm_interval){NAN, NAN, NAN};
        if (r[i].runs > 0 && fm_stats_interval(r[i].failures, r[i].runs, conf, FM_CI_EXACT,
                                               FM_CI_TWO_SIDED, &r[i].ci) != FM_STATS_OK)
            r[i].ci = (fm_interval){NAN, NAN, NAN};
    }
    free(ids);
    if (st != FM_STORE_OK) {
        free(r);
        *n = 0;
        return st;
    }
    *rows = r;
    return FM_STORE_OK;
}
