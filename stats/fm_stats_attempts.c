/*
 * fm_stats_attempts.c - how many attempts (first try + retries) bring the chance that every
 * attempt fails down to a target, and what such a policy costs.
 *
 * Independent attempts fail together with p^A; correlated ones (a retry after a failure fails
 * with q, as when the cause persists for a while) with p1 q^(A-1).  Both are solved in closed
 * by a search whose every step is decided by fm_stats_power_meets: exact for the binary values
 * near the target, a tie in the decimals typed meets it (p = 0.1, target = 1e-6 gives 6, Wine's
 * LOOP_ON_FLAKY_TESTS(6), although 0.1^6 is a hair above 1e-6 in binary), and whatever cannot be
 * decided counts as missing, so rounding can only make a count larger.
 *
 * From k failures in n runs there are three answers: the point estimate k/n; the conservative
 * one, which uses the one-sided exact upper bound at level c, so that with probability >= c
 * the true all-fail rate is <= target; and the Bayesian one, which averages over the posterior
 * Beta(k+a, n-k+b) and asks E[p^A] <= target.  E[p^A] falls with A, so a doubling search
 * followed by bisection finds the smallest A in O(log A) moments.
 */
#include "fm_stats_internal.h"

#include <math.h>

static fm_attempts unreachable_at(double residual)
{
    return (fm_attempts){.reachable = false, .attempts = 0, .residual = residual};
}

/* A computed moment meets the target only with room for its rounding error (FM_STATS_TIE). */
static bool meets(double prob, double target)
{
    return prob * (1.0 + FM_STATS_TIE) <= target;
}

fm_stats_status fm_stats_attempts_correlated(double p1, double q, double target, fm_attempts *out)
{
    if (!fm_stats_is_prob(p1) || !fm_stats_is_prob(q) || !fm_stats_is_open_prob(target))
        return FM_STATS_EDOM;
    if (fm_stats_power_meets(p1, q, 0, target)) {
        *out = (fm_attempts){true, 1, p1};
        return FM_STATS_OK;
    }
    if (q == 1.0) {
        *out = unreachable_at(p1);
        return FM_STATS_OK;
    }
    if (q == 0.0) {
        *out = (fm_attempts){true, 2, 0.0};
        return FM_STATS_OK;
    }
    /*
     * Smallest m >= 1 with p1 q^m <= target (then A = 1 + m): a first guess from the logs, a
     * bracket around it by doubling steps, and bisection, every step decided by
     * fm_stats_power_meets (exact near the target; unsure counts as missing).
     */
    const uint64_t cap = FM_STATS_MAX_ATTEMPTS - 1; /* m + 1 <= FM_STATS_MAX_ATTEMPTS */
    double guess = ceil((log(target) - log(p1)) / log(q));
    if (!(guess <= (double)cap + 2.0)) {
        if (!fm_stats_power_meets(p1, q, cap, target)) {
            *out = unreachable_at(p1);
            return FM_STATS_OK;
        }
        guess = (double)cap;
    }
    uint64_t m = guess < 1.0 ? 1 : guess > (double)cap ? cap : (uint64_t)guess;
    uint64_t lo, hi; /* p1 q^lo misses, p1 q^hi meets */
    if (fm_stats_power_meets(p1, q, m, target)) {
        hi = m;
        for (uint64_t step = 1;; step *= 2) {
            lo = hi > step ? hi - step : 0;
            if (lo == 0 || !fm_stats_power_meets(p1, q, lo, target))
                break;
            hi = lo;
        }
    } else {
        lo = m;
        for (uint64_t step = 1;; step *= 2) {
            if (lo >= cap) {
                *out = unreachable_at(p1);
                return FM_STATS_OK;
            }
            hi = cap - lo > step ? lo + step : cap;
            if (fm_stats_power_meets(p1, q, hi, target))
                break;
            lo = hi;
        }
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (fm_stats_power_meets(p1, q, mid, target))
            hi = mid;
        else
            lo = mid;
    }
    *out = (fm_attempts){true, hi + 1, p1 * pow(q, (double)hi)};
    return FM_STATS_OK;
}

fm_stats_status fm_stats_attempts_independent(double p, double target, fm_attempts *out)
{
    return fm_stats_attempts_correlated(p, p, target, out);
}

/* Is E[p^order] within the target?  Also returns the moment. */
static fm_stats_status moment_meets(double alpha, double beta, uint64_t order, double target,
                                    bool *ok, double *moment)
{
    fm_stats_status status = fm_stats_beta_moment(alpha, beta, order, moment);
    *ok = status == FM_STATS_OK && meets(*moment, target);
    return status;
}

fm_stats_status fm_stats_attempts_bayes(uint64_t k, uint64_t n, double prior_a, double prior_b,
                                        double target, fm_attempts *out)
{
    if (k > n || n > FM_STATS_MAX_ATTEMPTS || !(prior_a > 0.0) || !(prior_b > 0.0) ||
        isinf(prior_a) || isinf(prior_b) || !fm_stats_is_open_prob(target))
        return FM_STATS_EDOM;
    double alpha = (double)k + prior_a, beta = (double)(n - k) + prior_b;
    bool ok = false;
    double moment;
    uint64_t lo = 0, hi = 1; /* invariant: E[p^lo] misses the target (E[p^0] = 1) */
    fm_stats_status status;
    while (!(status = moment_meets(alpha, beta, hi, target, &ok, &moment)) && !ok) {
        lo = hi;
        if (hi >= FM_STATS_MAX_ATTEMPTS) {
            *out = unreachable_at(alpha / (alpha + beta));
            return FM_STATS_OK;
        }
        hi = hi * 2 > FM_STATS_MAX_ATTEMPTS ? FM_STATS_MAX_ATTEMPTS : hi * 2;
    }
    if (status != FM_STATS_OK)
        return status;
    double residual = moment;
    while (hi - lo > 1) { /* E[p^hi] meets the target, E[p^lo] does not */
        uint64_t mid = lo + (hi - lo) / 2;
        if ((status = moment_meets(alpha, beta, mid, target, &ok, &moment)))
            return status;
        if (ok) {
            hi = mid;
            residual = moment;
        } else {
            lo = mid;
        }
    }
    *out = (fm_attempts){true, hi, residual};
    return FM_STATS_OK;
}

fm_stats_status fm_stats_attempts_from_counts(uint64_t k, uint64_t n, double c, double prior_a,
                                              double prior_b, double target,
                                              fm_attempts_report *out)
{
    if (n < 1 || k > n || !fm_stats_is_open_prob(c) || !fm_stats_is_open_prob(target))
        return FM_STATS_EDOM;
    fm_attempts_report r;
    fm_interval ci;
    fm_stats_status status;
    r.point.p = (double)k / (double)n;
    if ((status = fm_stats_attempts_independent(r.point.p, target, &r.point.attempts)))
        return status;
    if ((status = fm_stats_interval(k, n, c, FM_CI_EXACT, FM_CI_UPPER, &ci)))
        return status;
    r.conservative.p = ci.upper;
    if ((status = fm_stats_attempts_independent(ci.upper, target, &r.conservative.attempts)))
        return status;
    double alpha = (double)k + prior_a, beta = (double)(n - k) + prior_b;
    r.bayes.p = alpha / (alpha + beta);
    if ((status = fm_stats_attempts_bayes(k, n, prior_a, prior_b, target, &r.bayes.attempts)))
        return status;
    *out = r;
    return FM_STATS_OK;
}

/*
 * Cost.  Attempt i runs if the i-1 before it failed; it fails with f_1 = p1, then f_i = q.
 * E[attempts] = sum_i P(reach i) = 1 + p1 (1 - q^(A-1)) / (1 - q), and since every attempt
 * but the last that fails leads to the next one, sum_i P(reach i) f_i = E[attempts] - 1 +
 * residual, so E[time] = pass E[attempts] + (fail - pass) (E[attempts] - 1 + residual).
 */
static double expected_seconds(double expected_attempts, double residual, double pass_seconds,
                               double fail_seconds)
{
    return pass_seconds * expected_attempts +
           (fail_seconds - pass_seconds) * (expected_attempts - 1.0 + residual);
}

static bool valid_durations(double pass_seconds, double fail_seconds)
{
    return pass_seconds >= 0.0 && fail_seconds >= 0.0 && isfinite(pass_seconds) &&
           isfinite(fail_seconds);
}

fm_stats_status fm_stats_policy_cost(double p1, double q, uint64_t attempts, double pass_seconds,
                                     double fail_seconds, fm_policy_cost *out)
{
    if (!fm_stats_is_prob(p1) || !fm_stats_is_prob(q) || attempts < 1 ||
        attempts > FM_STATS_MAX_ATTEMPTS || !valid_durations(pass_seconds, fail_seconds))
        return FM_STATS_EDOM;
    double retries = (double)(attempts - 1);
    /* q^(A-1) and (1 - q^(A-1)) / (1 - q), accurate for q near 1 and for huge A. */
    double q_pow = q == 0.0 ? (attempts == 1 ? 1.0 : 0.0) : exp(retries * log(q));
    double geometric = q == 1.0   ? retries
                       : q == 0.0 ? (attempts > 1 ? 1.0 : 0.0)
                                  : -expm1(retries * log(q)) / (1.0 - q);
    fm_policy_cost r;
    r.residual = p1 * q_pow;
    r.expected_attempts = 1.0 + p1 * geometric;
    r.expected_seconds =
        expected_seconds(r.expected_attempts, r.residual, pass_seconds, fail_seconds);
    *out = r;
    return FM_STATS_OK;
}

/* Beyond this many terms the Bayesian sum uses its closed form (or gives NaN). */
#define BAYES_SUM_TERMS 10000000u

fm_stats_status fm_stats_policy_cost_bayes(double alpha, double beta, uint64_t attempts,
                                           double pass_seconds, double fail_seconds,
                                           fm_policy_cost *out)
{
    if (!(alpha > 0.0) || !(beta > 0.0) || isinf(alpha) || isinf(beta) || attempts < 1 ||
        attempts > FM_STATS_MAX_ATTEMPTS || !valid_durations(pass_seconds, fail_seconds))
        return FM_STATS_EDOM;
    fm_policy_cost r;
    fm_stats_status status = fm_stats_beta_moment(alpha, beta, attempts, &r.residual);
    if (status != FM_STATS_OK)
        return status;
    if (attempts <= BAYES_SUM_TERMS) {
        /* E[attempts] = sum_{i<A} E[p^i], each moment from the last by one factor. */
        double sum = 0.0, m = 1.0;
        for (uint64_t i = 0; i < attempts; i++) {
            sum += m;
            m *= (alpha + (double)i) / (alpha + beta + (double)i);
        }
        r.expected_attempts = sum;
    } else if (beta > 1.0) {
        /* sum_{i<A} E[p^i] = E[(1 - p^A) / (1 - p)] = (B(a, b-1) - B(a+A, b-1)) / B(a, b). */
        double m0, mA;
        if ((status = fm_stats_beta_moment(alpha, beta - 1.0, attempts, &mA)))
            return status;
        m0 = (alpha + beta - 1.0) / (beta - 1.0); /* B(a, b-1) / B(a, b) */
        r.expected_attempts = m0 * (1.0 - mA);
    } else {
        r.expected_attempts = NAN;
    }
    r.expected_seconds =
        expected_seconds(r.expected_attempts, r.residual, pass_seconds, fail_seconds);
    *out = r;
    return FM_STATS_OK;
}
