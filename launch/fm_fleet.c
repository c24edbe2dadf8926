/*
 * fm_fleet.c - a campaign's time on a fleet (fm_fleet.h).
 *
 * Invariant: a plan's runs are a multiple of nothing in particular, but waves * W >= runs >
 * (waves - 1) * W; the decision search uses only libfmstats' boundary rule, as the engine does.
 */
#include "fm_fleet.h"

#include "fm_stats.h"

#include <math.h>
#include <stdbool.h>

static bool fleet_ok(const fm_fleet *f)
{
    return f != NULL && f->seconds_per_run > 0 && isfinite(f->seconds_per_run) &&
           f->machines >= 1 && f->jobs >= 1;
}

fm_run_status fm_fleet_spread(uint64_t runs, const fm_fleet *f, fm_fleet_plan *out)
{
    if (!fleet_ok(f) || out == NULL)
        return FM_RUN_EINVAL;
    uint64_t w = (uint64_t)f->machines * f->jobs;
    out->runs = runs;
    out->in_flight = w;
    out->waves = runs / w + (runs % w != 0);
    out->wall_s = (double)out->waves * f->seconds_per_run;
    out->cpu_hours = (double)runs * f->seconds_per_run / 3600.0;
    return FM_RUN_OK;
}

/*
 * Follow the engine: after each run ends (d done, w running, n = d + w started) it narrows its
 * state with k in [round(p d), round(p d) + w] at n.  Checking after every run to 2^50 is too
 * slow, so the checks are on a grid d = 1, 2, ..., 64, then steps of d/64: fewer checks narrow
 * the state less, so the grid stops no sooner than the engine would (the plan errs long).
 */
fm_run_status fm_fleet_until_decided(double p, double c, double target, const fm_fleet *f,
                                     fm_fleet_plan *out)
{
    if (!fleet_ok(f) || out == NULL || !(p > 0 && p < 1) || !(c > 0 && c < 1) ||
        !(target > 0 && target < 1))
        return FM_RUN_EINVAL;
    const uint64_t limit = (uint64_t)1 << 50, w = (uint64_t)f->machines * f->jobs;
    fm_seq_decision d = {0};
    for (uint64_t done = 1; done < limit; done += done < 64 ? 1 : done / 64) {
        uint64_t k = (uint64_t)llround(p * (double)done);
        if (fm_stats_seq_update_range(k, k + w, done + w, c, target, &d) != FM_STATS_OK)
            return FM_RUN_ENUMERIC;
        if (d.decided || d.indifferent)
            return fm_fleet_spread(done + w, f, out);
    }
    return fm_fleet_spread(0, f, out);
}
