/*
 * fm_stats_internal.h - helpers shared by the files of the statistics core; not installed.
 */
#ifndef FM_STATS_INTERNAL_H
#define FM_STATS_INTERNAL_H

#include "fm_stats.h"

/*
 * Relative slack for ties: a probability within this relative distance of its target counts as
 * meeting it.  Typed decimals (0.1, 1e-6) are not exact in binary, and 0.1^6 evaluates to
 * 1.0000000000000004e-06; 1e-12 is far above rounding error and far below any real difference.
 */
#define FM_STATS_TIE 1e-12

/* Switch GSL's aborting error handler off, once per process; every status is checked instead. */
void fm_stats_gsl_quiet(void);

/* Is x a probability (in [0, 1]) / strictly inside (0, 1)? NaN is neither. */
static inline bool fm_stats_is_prob(double x)
{
    return x >= 0.0 && x <= 1.0;
}

static inline bool fm_stats_is_open_prob(double x)
{
    return x > 0.0 && x < 1.0;
}

/*
 * Does p1 q^m meet target (p1, q in [0, 1], target in (0, 1))?  Exact for the binary values
 * where that can be decided (log space far from the target, exact integers near it), true for a
 * power that equals the target exactly in the shortest decimals of the three numbers (0.1^6 =
 * 1e-6), false otherwise: rounding can only make a count larger (fm_stats_tie.c).
 */
bool fm_stats_power_meets(double p1, double q, uint64_t m, double target);

#endif
