/*
 * fm_stats.h - flakemeter's statistics core: failure probabilities with confidence intervals,
 * the number of attempts that reaches a target failure rate, and how many runs a claim needs.
 *
 * Conventions (after GSL): every function returns an fm_stats_status (FM_STATS_OK = 0) and
 * writes its results through the last arguments; arguments come in the order
 * (data, parameters, options, result).  Counts are k failures in n runs.  Probabilities are
 * fractions in [0, 1].  Nothing here prints, does I/O or touches processes: the
 * library is pure computation on GSL, with GSL's aborting error handler switched off.
 *
 * Methods and sources: docs/statistics.md.
 */
#ifndef FM_STATS_H
#define FM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    FM_STATS_OK = 0,
    FM_STATS_EDOM,    /* an argument is outside its domain */
    FM_STATS_ENOCONV, /* a numerical routine failed to converge (never expected) */
    FM_STATS_ETOOBIG, /* an exact computation would exceed its work limit (use an approximation) */
    FM_STATS_ENOMEM,  /* out of memory */
} fm_stats_status;

const char *fm_stats_strerror(fm_stats_status status);

/* ---- Confidence intervals for a binomial proportion ---------------------------------------- */

typedef enum {
    FM_CI_EXACT,         /* Clopper-Pearson, from beta quantiles; coverage >= nominal always */
    FM_CI_WILSON,        /* Wilson score */
    FM_CI_JEFFREYS,      /* equal-tailed Beta(k+1/2, n-k+1/2), lower 0 at k=0, upper 1 at k=n */
    FM_CI_AGRESTI_COULL, /* "add z^2/2 successes and failures", then Wald */
    FM_CI_WALD,          /* p +- z*sqrt(p(1-p)/n): a known bad example, kept for comparison */
    FM_CI_BLAKER,        /* Blaker (2000): inverts the exact test whose p-value is the
                            acceptability; two-sided, coverage >= c, inside Clopper-Pearson.
                            Two-sided needs c >= 1/2 (EDOM below) and min(k, n-k) <= 1e11
                            (ETOOBIG above); FM_CI_UPPER gives the Clopper-Pearson bound,
                            which is Blaker's construction with one tail */
} fm_ci_method;

typedef enum {
    FM_CI_TWO_SIDED, /* equal tails of (1-c)/2 */
    FM_CI_UPPER,     /* one-sided upper bound at level c; lower = 0 */
} fm_ci_sided;

typedef struct {
    double estimate; /* k/n, the maximum-likelihood estimate */
    double lower;
    double upper;
} fm_interval;

/* Name <-> method ("exact", "wilson", "jeffreys", "agresti-coull", "wald", "blaker"). */
const char *fm_stats_method_name(fm_ci_method method);
fm_stats_status fm_stats_method_parse(const char *name, fm_ci_method *method);

/*
 * Interval for k failures in n runs at confidence c in (0, 1); 0 <= k <= n, 1 <= n <= 2^53.
 * Bounds are clipped to [0, 1].
 */
fm_stats_status fm_stats_interval(uint64_t k, uint64_t n, double c, fm_ci_method method,
                                  fm_ci_sided sided, fm_interval *out);

/*
 * CDF of Beta(a, b): P(X <= x), or P(X > x) when upper; each to full relative precision when it
 * is the small tail.  (GSL 2.7's gsl_cdf_beta_P/Q lose ~1e-8 relative for a < 10, b > 1e5.)
 */
fm_stats_status fm_stats_beta_cdf(double x, double a, double b, bool upper, double *tail);

/*
 * Quantiles of Beta(a, b): x with P(X <= x) = lower_tail, or P(X > x) = upper_tail.  Found
 * with GSL's Brent solver on fm_stats_beta_cdf (GSL 2.7's gsl_cdf_beta_Pinv returns NaN for
 * large b); asking for the tail that is small keeps full relative precision.
 */
fm_stats_status fm_stats_beta_quantile(double lower_tail, double a, double b, double *x);
fm_stats_status fm_stats_beta_quantile_upper(double upper_tail, double a, double b, double *x);

/* ---- Attempts: first try + retries --------------------------------------------------------- */

/* Attempt counts larger than this are reported as unreachable in practice. */
#define FM_STATS_MAX_ATTEMPTS ((uint64_t)1 << 53)

typedef struct {
    bool reachable;    /* false: no attempt count <= FM_STATS_MAX_ATTEMPTS meets the target */
    uint64_t attempts; /* smallest A >= 1 meeting the target (0 when unreachable) */
    double residual;   /* P(all A attempts fail) at that A (at A = 1 when unreachable) */
} fm_attempts;

/*
 * Smallest A >= 1 with p^A <= target, p in [0, 1], target in (0, 1).  Unreachable when p = 1.
 * Exact for the binary values; a power equal to the target in the decimals typed meets it
 * (p = 0.1, target = 1e-6 gives 6), and rounding only ever makes the count larger
 * (p = 0.1, target = 9.999999999995e-7 gives 7; docs/statistics.md sec. 2).
 */
fm_stats_status fm_stats_attempts_independent(double p, double target, fm_attempts *out);

/*
 * Correlated attempts: the first fails with p1, each retry after a failure with q, so
 * P(all A fail) = p1 * q^(A-1).  Unreachable when p1 > target and q = 1.
 */
fm_stats_status fm_stats_attempts_correlated(double p1, double q, double target, fm_attempts *out);

/*
 * Bayesian attempts: p ~ Beta(k + a, n - k + b) after k failures in n runs under a Beta(a, b)
 * prior; smallest A with E[p^A] = prod_{i<A} (alpha+i)/(alpha+beta+i) <= target.
 */
fm_stats_status fm_stats_attempts_bayes(uint64_t k, uint64_t n, double prior_a, double prior_b,
                                        double target, fm_attempts *out);

/* E[p^A] under the Beta(alpha, beta) posterior, exactly (A = 0 gives 1). */
fm_stats_status fm_stats_beta_moment(double alpha, double beta, uint64_t order, double *moment);

/* The three answers from k of n, side by side. */
typedef struct {
    double p; /* the failure probability the answer assumes (bayes: the posterior mean) */
    fm_attempts attempts;
} fm_attempts_answer;

typedef struct {
    fm_attempts_answer point;        /* p = k/n */
    fm_attempts_answer conservative; /* p = one-sided exact upper bound at confidence c */
    fm_attempts_answer bayes;        /* E[p^A] under the posterior */
} fm_attempts_report;

fm_stats_status fm_stats_attempts_from_counts(uint64_t k, uint64_t n, double c, double prior_a,
                                              double prior_b, double target,
                                              fm_attempts_report *out);

/* ---- Cost of a retry policy ---------------------------------------------------------------- */

typedef struct {
    double expected_attempts; /* E[number of attempts run] */
    double expected_seconds;  /* E[time], from the mean durations of a pass and of a failure */
    double residual;          /* P(all attempts fail) */
} fm_policy_cost;

/*
 * A policy of at most `attempts` attempts, stopping at the first pass; the first attempt fails
 * with p1, a retry after a failure with q (q = p1 for independent attempts).  A failure that
 * is a timeout costs the full timeout: pass it as fail_seconds.
 */
fm_stats_status fm_stats_policy_cost(double p1, double q, uint64_t attempts, double pass_seconds,
                                     double fail_seconds, fm_policy_cost *out);

/* The same under a Beta(alpha, beta) belief about p (independent attempts given p). */
fm_stats_status fm_stats_policy_cost_bayes(double alpha, double beta, uint64_t attempts,
                                           double pass_seconds, double fail_seconds,
                                           fm_policy_cost *out);

/* ---- Planning ------------------------------------------------------------------------------ */

/*
 * Smallest n such that P(at most k failures in n runs | p0) <= 1 - c: seeing at most k failures
 * in n runs then shows p < p0 at confidence c.  p0 in (0, 1), c in (0, 1).  k = 0 is the rule
 * of three (n ~ 3/p0 at c = 0.95).  Fails with FM_STATS_EDOM past 2^53 runs.
 */
fm_stats_status fm_stats_plan_runs(double p0, uint64_t k, double c, uint64_t *runs);

/* ==== Sequential decisions and retry chains (for `flakemeter run`) =========================== */

/* ---- Anytime-valid confidence sequence ----------------------------------------------------- */

/*
 * Default Beta(a, b) mixing prior of the confidence sequence: Jeffreys, a = b = 1/2.  Its
 * density ~ p^(-1/2) near 0 puts more weight on small failure rates than the uniform prior,
 * which keeps the sequence narrow where flakes live (docs/statistics.md, sec. 5).
 */
#define FM_STATS_CS_PRIOR_A 0.5
#define FM_STATS_CS_PRIOR_B 0.5

/*
 * log M_n(p), the log of Robbins' beta-binomial mixture ratio after k failures in n runs:
 * ln[B(k+a, n-k+b) / B(a, b)] - k ln p - (n-k) ln(1-p); +inf where p^k (1-p)^(n-k) = 0.
 * p leaves the confidence sequence at level c once this reaches ln(1 / (1-c)).
 * 1 <= n <= 2^53, 0 <= k <= n, p in [0, 1], a, b > 0.
 */
fm_stats_status fm_stats_cs_log_ratio(uint64_t k, uint64_t n, double p, double prior_a,
                                      double prior_b, double *log_ratio);

/*
 * The confidence sequence {p : M_n(p) < 1/(1-c)} at n, an interval holding k/n.  It covers the
 * true p at every n simultaneously with probability >= c, so it may be watched after every run
 * and the watching stopped at any time.  Bounds to ~1e-15 relative; lower = 0 at k = 0,
 * upper = 1 at k = n; estimate = k/n.
 */
fm_stats_status fm_stats_cs_interval(uint64_t k, uint64_t n, double c, double prior_a,
                                     double prior_b, fm_interval *out);

typedef struct {
    bool decided;         /* every p in the sequence needs the same attempt count */
    fm_attempts attempts; /* that count when decided; at_upper when indifferent (else zero) */
    fm_interval cs;       /* the confidence sequence at this n */
    fm_attempts at_lower; /* attempt counts at its two ends: the count lies between them */
    fm_attempts at_upper;
    bool indifferent; /* not decided, but the ends are one apart: attempts = at_upper */
} fm_cs_decision;

/*
 * `--until-decided` with the Robbins sequence: the minimum attempt count for the target
 * (fm_stats_attempts_independent) at both ends of the confidence sequence at level c.  Counts
 * rise with p, so every p in the sequence needs a count between them.  decided: they agree, and
 * with probability >= c that is the true p's count.  indifferent: they are one apart (the
 * indifference zone: a p on a step of the count, p = 0.1 at target 1e-6, keeps them so for ever,
 * so without it such a p never decides); attempts is then the larger, and with probability >= c
 * it is the true p's count or one more, never fewer.  Any stopping rule keeps both guarantees.
 * A caller that stops on indifference stops when decided || indifferent and must then print that
 * one fewer may suffice, e.g. "decided: 7 attempts (6 may suffice; 7 is the safe side)".
 */
fm_stats_status fm_stats_cs_decide(uint64_t k, uint64_t n, double c, double target, double prior_a,
                                   double prior_b, fm_cs_decision *out);

/* ---- Boundary tests: the faster `--until-decided` rule (LIBFMSTATS_0.2) -------------------- */

/*
 * The count A(p) = min{A : p^A <= target} steps up at the boundaries b_j = target^(1/j).  Deciding
 * A needs only two facts: p < b_A and p > b_(A-1).  The boundary rule tests each b_j on its own
 * (docs/statistics.md, sec. 5): the evidence for "p below theta" is the likelihood ratio
 * L(q)/L(theta), L(q) = q^k (1-q)^(n-k), averaged over G = FM_STATS_SEQ_GRID points spread
 * evenly over a window [lo, hi] on that side of theta,
 *     E_n = (1/G) sum_{i=1..G} L(q_i) / L(theta),   q_i = lo + (i - 1/2) (hi - lo) / G,
 * a nonnegative supermartingale with E_0 = 1 under every p on the other side of theta (p >= theta
 * when the window is below it), so by Ville P(ever E_n >= 1/a) <= a.
 *
 * ln E_n for 0 <= lo < hi <= theta < 1 or 0 < theta <= lo < hi <= 1; 1 <= n <= 2^53, k <= n.
 */
#define FM_STATS_SEQ_GRID 16
fm_stats_status fm_stats_seq_log_evidence(uint64_t k, uint64_t n, double theta, double lo,
                                          double hi, double *log_evidence);

/* The window of boundary j (>= 1) at the target: below b_j, [lo, b_j) with lo = min(b_(j-1),
   b_j - b_j (1 - b_j) / 4) (b_0 = 0); above it, (b_j, hi] with hi = max(b_(j+1), b_j + b_j (1 -
   b_j) / 4), at most 1. */
fm_stats_status fm_stats_seq_boundary(double target, uint64_t j, double *b, double *lo, double *hi);

/* Counts beyond this are not scanned: a p that needs more is reported as "more than this". */
#define FM_STATS_SEQ_MAX_COUNT ((uint64_t)4096)

typedef struct {
    bool decided;         /* at_most = at_least (or beyond): attempts is the count */
    bool indifferent;     /* at_most = at_least + 1: attempts = at_most may be one too many */
    fm_attempts attempts; /* when decided or indifferent: at_most (residual b_j^j <= target) */
    uint64_t at_least;    /* the count is >= this: p > b_(at_least - 1) was shown (1: nothing) */
    uint64_t at_most;     /* the count is <= this: p < b_(at_most) was shown; 0: not yet */
    bool beyond;          /* at_least > FM_STATS_SEQ_MAX_COUNT: decided, attempts unreachable */
} fm_seq_decision;

/*
 * The boundary rule at level c: p > b_j is shown when the windows above b_1 .. b_j all have
 * evidence >= 2/(1-c), p < b_j when the windows below b_j, b_(j+1), ... all have (a closed chain
 * of tests, so each side errs with probability <= (1-c)/2 however many boundaries there are).
 * Guarantee, for every p and any stopping rule (look after every run, stop at the first n with
 * decided || indifferent): with probability >= c, at_least <= A(p) <= at_most at every n at
 * once, so attempts is A(p) when decided and A(p) or A(p) + 1 when indifferent; with probability
 * >= 1 - (1-c)/2 it is never below A(p).  What the caller prints: decided, "decided: A
 * attempts"; indifferent, "decided: A attempts (A-1 may suffice; A is the safe side)"; beyond
 * (decided, attempts unreachable), "decided: more than FM_STATS_SEQ_MAX_COUNT attempts".
 */
fm_stats_status fm_stats_seq_decide(uint64_t k, uint64_t n, double c, double target,
                                    fm_seq_decision *out);

/*
 * The same, intersected with the earlier state: at_least = the largest so far, at_most = the
 * smallest so far (the bounds hold at every n at once, so their intersection does too).  Start
 * from a zeroed fm_seq_decision and pass it back after every batch; it decides sooner than
 * fm_stats_seq_decide on the current counts alone, with the same guarantee.
 */
fm_stats_status fm_stats_seq_update(uint64_t k, uint64_t n, double c, double target,
                                    fm_seq_decision *state);

/*
 * The same when the failures among the first n runs are only known to lie in [k_low, k_high]
 * (runs in flight: k_low = failures finished, k_high = k_low + runs still running, n = finished +
 * running).  at_least and at_most only grow with k, so at_least at k_low and at_most at k_high
 * hold whatever the true k is; the state keeps the guarantee for any -j and any durations.
 */
fm_stats_status fm_stats_seq_update_range(uint64_t k_low, uint64_t k_high, uint64_t n, double c,
                                          double target, fm_seq_decision *state);

/*
 * How many runs in all the boundary rule would take to stop (decided or indifferent) if the
 * failure rate stayed at the estimate k/n: the smallest N >= n, found by doubling and then
 * bisection on fm_stats_seq_decide at (round(N k/n), N), that stops.  The decision is not
 * monotone in N at the margin, so N is "about" (the first stop found); *needed = 0 when even
 * 2^50 runs would not stop.  For the message when --until-decided reaches its run cap.
 */
fm_stats_status fm_stats_seq_runs_needed(uint64_t k, uint64_t n, double c, double target,
                                         uint64_t *needed);

/* ---- Retry chains -------------------------------------------------------------------------- */

/*
 * Two-sided p-value of Fisher's exact test for the 2x2 table [[a, b], [c, d]], as R's
 * fisher.test computes it: the sum of the probabilities of all tables with the same margins
 * that are at most the observed one's times 1 + 1e-7 (hypergeometric, summed in log space).
 * Counts up to 2^53; 1 when a margin is 0.
 */
fm_stats_status fm_stats_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                                      double *p_value);

/*
 * Two-sided Boschloo test (Boschloo 1970) of p1 = p2 for two independent binomials, rows
 * [a, b] and [c, d] of the 2x2 table (a of a+b, c of c+d): the p-value is
 *     sup over p in [0, 1] of P_p(Fisher's two-sided p-value of the table <= the observed one's),
 * the tables drawn as Binomial(a+b, p) x Binomial(c+d, p).  It is exact (size <= alpha for
 * every p) and never above Fisher's p-value, so it is uniformly more powerful than Fisher.  The
 * sup is taken on a grid in arcsine scale refined by golden-section search around its three
 * best points.  FM_STATS_ETOOBIG when (a+b+1)(c+d+1) > max_tables (the work is linear in it);
 * 1 when a row is empty.  docs/statistics.md, sec. 6.
 */
fm_stats_status fm_stats_boschloo(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                                  uint64_t max_tables, double *p_value);

/* fm_stats_chain's limit for Boschloo's test; larger tables fall back to Fisher's. */
#define FM_STATS_CHAIN_MAX_TABLES ((uint64_t)1 << 20)

typedef struct {
    fm_interval p1;           /* first attempts: k1/n1, exact two-sided interval at c */
    fm_interval q;            /* retries after a failure: kq/nq, exact two-sided at c;
                                 estimate NaN and [0, 1] when there were no retries */
    double fisher_p;          /* independence test of q versus p1 (two-sided Fisher exact) */
    double level_each;        /* (1 + c) / 2: each upper bound's level (Bonferroni) */
    double p1_upper;          /* one-sided exact upper bounds at level_each */
    double q_upper;           /* (1 when there were no retries) */
    fm_attempts point;        /* fm_stats_attempts_correlated at (k1/n1, kq/nq) */
    fm_attempts conservative; /* ... at (p1_upper, q_upper): with probability >= c the true
                                 all-fail rate of that many attempts is <= target */
    double independence_p;    /* the independence test to report: Boschloo's (fm_stats_boschloo),
                                 or Fisher's when the table is above FM_STATS_CHAIN_MAX_TABLES;
                                 both have size <= alpha, Boschloo is more powerful (sec. 6) */
    const char *independence_test; /* "boschloo" or "fisher" */
} fm_chain_stats;

/*
 * Retry-chain statistics from k1 failures in n1 first attempts and kq failures in nq retries
 * (each retry follows a failed attempt of its chain).  n1 >= 1; nq = 0 is allowed (no
 * information on q: the point answer then assumes q = p1, the conservative one q = 1).
 */
fm_stats_status fm_stats_chain(uint64_t k1, uint64_t n1, uint64_t kq, uint64_t nq, double c,
                               double target, fm_chain_stats *out);

/* ==== Comparing conditions (for `flakemeter sweep`) ========================================== */

/*
 * The 2xK table: k[i] failures in n[i] runs under condition i, i < cols (cols >= 2; a column
 * with n[i] = 0 is left out).  When fewer than two columns have runs, or nothing (or
 * everything) failed, there is nothing to test and the p-value is 1.
 */

/*
 * Exact Fisher-Freeman-Halton test of homogeneity: the probability, given the margins, of a
 * table no more likely than the observed one (within 1 + 1e-7), as R's fisher.test on the 2xK
 * table.  Walks the network of partial tables with exact bounds; FM_STATS_ETOOBIG when it would
 * visit more than max_nodes nodes (or the table is too big for the bounds: (F+1) N > 2e8),
 * which is a count, so the same table gives the same answer on every machine.
 */
fm_stats_status fm_stats_ffh_exact(const uint64_t *k, const uint64_t *n, size_t cols,
                                   uint64_t max_nodes, double *p_value);

/* Pearson's chi-square test of homogeneity, K-1 degrees of freedom, no continuity correction. */
fm_stats_status fm_stats_chisq_homogeneity(const uint64_t *k, const uint64_t *n, size_t cols,
                                           double *statistic, double *df, double *p_value);

/*
 * Cochran-Armitage test for a trend in the failure probability along scores score[i] (finite;
 * e.g. the values of cpus): z (> 0: failures rise with the score) and the two-sided p-value
 * P(|Z| >= |z|); z^2 is R's prop.trend.test statistic.  p = 1 and z = 0 when all scores of the
 * runs are equal.
 */
fm_stats_status fm_stats_trend(const uint64_t *k, const uint64_t *n, const double *score,
                               size_t cols, double *z, double *p_value);
/*
 * Stratified comparison (blocked sweeps): the 2 x C x K table, k[s * cols + j] failures in
 * n[s * cols + j] runs of condition j (cols >= 2) in stratum s (strata >= 1; a block of runs
 * made at one time).  Tests "the conditions do not matter within a stratum", whatever each
 * stratum's own rate (a drifting machine), after Cochran-Mantel-Haenszel; strata with fewer
 * than two runs, no failure, no pass or a single condition carry no information and are left
 * out (strata_used counts the others).  With no informative stratum p-values are 1.
 */
typedef struct {
    size_t strata_used;
    double statistic, df, p_value; /* generalised CMH (general association): chi-square, df =
                                      rank of the covariance (C - 1 unless degenerate); R's
                                      mantelhaen.test(correct = FALSE) */
    double exact_p;    /* cols == 2: exact conditional test (R's mantelhaen.test(exact = TRUE));
                          NaN for cols > 2 or past max_work */
    double odds_ratio; /* cols == 2: Mantel-Haenszel common odds ratio of failing, condition 0
                          against condition 1 (NaN when undefined, +inf when 1 never failed) */
    bool have_trend;   /* score given and not constant over the informative strata */
    double trend_z, trend_p; /* CMH correlation statistic along score: z > 0 when failures rise
                                with the score; two-sided p */
} fm_stats_cmh_result;

/* score: NULL or one finite value per condition; max_work bounds the exact convolution. */
fm_stats_status fm_stats_cmh(const uint64_t *k, const uint64_t *n, size_t cols, size_t strata,
                             const double *score, uint64_t max_work, fm_stats_cmh_result *out);

/* ==== CI history: per-test flakiness (for `flakemeter tests`) ================================ */

/* One CI run of one test, in time order (built from fm_history_run by the caller). */
typedef struct {
    bool first_failed; /* the first attempt did not pass */
    bool last_failed;  /* the last attempt did not pass: the test turned this CI run red */
    int64_t revision;  /* the code tested (equal = same commit); 0 = not known */
} fm_stats_ci_run;

typedef enum { FM_CLASS_STABLE, FM_CLASS_FLAKY, FM_CLASS_FAILING } fm_flaky_class;

/* Why a test got its class, in the order the rules are tried (docs/statistics.md, sec. 8). */
typedef enum {
    FM_EVIDENCE_MIXED_RUN,     /* flaky: passed and failed within one CI run (a retry) */
    FM_EVIDENCE_SAME_REVISION, /* flaky: passed and failed at one revision, in different runs */
    FM_EVIDENCE_INTERMITTENT,  /* flaky: failures in >= 2 stretches separated by passes */
    FM_EVIDENCE_NEVER_PASSED,  /* failing: failed every CI run */
    FM_EVIDENCE_BROKEN,        /* failing: one stretch of failures that lasts to the latest run */
    FM_EVIDENCE_FIXED,         /* stable: one stretch of failures, passing since */
    FM_EVIDENCE_NEVER_FAILED,  /* stable: passed every CI run */
} fm_flaky_evidence;

const char *fm_stats_class_name(fm_flaky_class cls); /* "stable", "flaky", "failing" */

typedef struct {
    uint64_t runs;            /* CI runs */
    uint64_t failures;        /* runs whose first attempt failed */
    uint64_t red;             /* runs whose last attempt failed */
    uint64_t passed_on_retry; /* first attempt failed, last passed */
    uint64_t mixed;        /* first and last attempt differ (passed on retry, or failed a repeat) */
    uint64_t flips;        /* consecutive runs whose first attempts differ */
    double flip_rate;      /* flips / (runs - 1); NaN with one run */
    uint64_t stretches;    /* maximal stretches of consecutive first-attempt failures */
    uint64_t last_stretch; /* length of the stretch ending at the latest run (0 if it passed) */
    uint64_t same_revision; /* revisions with both a passing and a failing first attempt */
    fm_interval interval;   /* failures / runs with its exact (Clopper-Pearson) interval at c */
    fm_flaky_class cls;
    fm_flaky_evidence evidence;
} fm_flaky_report;

/*
 * Flip rate (Kowalczyk et al., "Modeling and Ranking Flaky Tests at Apple", ICSE-SEIP 2020),
 * failure probability with its exact two-sided interval at confidence c, and the class, from a
 * test's n >= 1 CI runs in time order.
 */
fm_stats_status fm_stats_flaky(const fm_stats_ci_run *runs, size_t n, double c,
                               fm_flaky_report *out);
/* ==== CI histories: a retry budget for a suite, and a regression alarm ======================= */

/* ---- Suite retry budget -------------------------------------------------------------------- */

/*
 * Expected seconds that allowing `attempts` attempts adds to a CI run, over running the test
 * once: attempt j >= 2 runs with probability p1 q^(j-2) and then lasts fail_seconds if it fails
 * (probability q; a timeout lasts the full timeout) and pass_seconds if it passes, so
 * extra = p1 (1 - q^(A-1)) / (1 - q) (q fail_seconds + (1 - q) pass_seconds).
 */
fm_stats_status fm_stats_retry_extra_seconds(double p1, double q, uint64_t attempts,
                                             double pass_seconds, double fail_seconds,
                                             double *extra);

/*
 * One test's choices for the budget: allowing a = 1 .. options attempts makes every attempt fail
 * with probability fail[a-1] and adds cost[a-1] >= 0 to a CI run (typically seconds, 0 at a = 1).
 * Any numbers are accepted (a pooled group of tests is one item, too).
 */
typedef struct {
    uint32_t options;
    const double *fail; /* in [0, 1] */
    const double *cost; /* finite, >= 0 */
} fm_budget_item;

/* The all-fail probabilities and added seconds of 1 .. max_attempts attempts of one test. */
fm_stats_status fm_stats_budget_tables(double p1, double q, double pass_seconds,
                                       double fail_seconds, uint32_t max_attempts, double *fail,
                                       double *cost);

typedef struct {
    bool feasible;   /* some choice meets the target; when not, the plan minimises the red rate */
    double red_rate; /* 1 - prod_i (1 - fail_i(a_i)) of the plan */
    double cost;     /* sum_i cost_i(a_i) of the plan */
    uint64_t states; /* partial plans the search kept (its work; 0 for the greedy plan) */
    double gap;      /* the cost is at most the least possible + gap (0: exactly optimal) */
    double lower_bound; /* a proven lower bound on the least possible cost (LP relaxation) */
} fm_budget_plan;

/* Limit of one search (partial plans held in all); beyond it a coarser search (see gap). */
#define FM_STATS_BUDGET_MAX_STATES ((size_t)1 << 22)

/*
 * The attempt counts a_i (written to attempts[i], 1-based) that minimise sum_i cost_i(a_i)
 * subject to P(red) = 1 - prod_i (1 - fail_i(a_i)) <= target (target in (0, 1); a red rate
 * within a relative 1e-12 of it meets it).  A Pareto-frontier dynamic programme over the tests
 * (Nemhauser & Ullmann 1969) on (cost, -sum log(1 - fail)) with bounds: exactly optimal
 * (gap = 0) unless the frontier outgrows FM_STATS_BUDGET_MAX_STATES, then optimal to within the
 * reported gap (at most 1e-2 of the greedy plan's cost; FM_STATS_ENOMEM beyond).  Proof in
 * docs/statistics.md, sec. 9.
 * Ties in cost go to the plan with the lower red rate.  Infeasible: attempts that minimise the
 * red rate (the cheapest such), feasible = false.
 */
fm_stats_status fm_stats_budget_optimize(const fm_budget_item *items, size_t n_items, double target,
                                         uint32_t *attempts, fm_budget_plan *out);

/*
 * The greedy heuristic for comparison (NOT always optimal for integer attempts): start at the
 * cheapest choice of every test, then repeatedly take the step with the least added cost per
 * unit of -log(1 - fail) removed until the target is met.
 */
fm_stats_status fm_stats_budget_greedy(const fm_budget_item *items, size_t n_items, double target,
                                       uint32_t *attempts, fm_budget_plan *out);

/* ---- The tests never seen failing: a bound that allows for their selection ----------------- */

/*
 * An upper confidence bound for the tests of a suite that never failed.  The pool is chosen by
 * the data (the tests that happened to show no failure), so a bound computed as if it had been
 * fixed in advance does not hold; this one does (docs/statistics.md, sec. 9).  Model: test i
 * fails each of its n_i runs independently with p_i, the tests independently of each other, and
 * the n_i do not depend on the outcomes.  With u_i = -log(1 - p_i) and Q = {i : k_i = 0}, the
 * bound B satisfies P(sum_{i in Q} u_i <= B) >= c for every p_1 .. p_m; so, with the same
 * probability, every subset of Q together fails a CI run (at least one of them fails its one
 * attempt) with 1 - prod (1 - p_i) = 1 - exp(-sum u_i) <= rate = 1 - exp(-B), and has
 * sum p_i <= B.
 *
 * B is the root of sum_j w_j exp(lambda_j (B - H_j)) = 1 / (1 - c) over a fixed mixture of
 * lambda_j = y_j n_min (y_j in (0, 1), n_min the fewest runs of the m tests) with
 * H_j = sum_{i : k_i >= 1} -log(1 - (lambda_j / n_i)^(k_i)) / lambda_j: every test that failed
 * exactly once or twice raises the bound (a Good-Turing-like "the tests seen failing rarely say
 * how many more fail unseen"), a test that failed often barely does, a test never seen failing
 * does not at all.
 */
typedef struct {
    size_t tests;         /* never failed (k_i = 0) */
    uint64_t fewest_runs; /* n_min over all m tests: it sets the scale of every lambda_j */
    double sum_bound;     /* B >= sum_{k_i = 0} -log(1 - p_i), at confidence c */
    double rate;          /* 1 - exp(-B): their chance that some one fails a CI run */
} fm_pool_bound;

/*
 * The bound from failures[i] of runs[i] first attempts of EVERY test i = 0 .. m-1 of the suite
 * (the tests seen failing too: how many failed once or twice is part of the bound; m = 0 gives
 * B = 0), at confidence c in (0, 1).  Every runs[i] >= 1 and failures[i] <= runs[i]; a test left
 * out by its number of runs alone (never by its outcomes) is simply not covered.
 */
fm_stats_status fm_stats_pool_bound(const uint64_t *failures, const uint64_t *runs, size_t m,
                                    double c, fm_pool_bound *out);

/*
 * The pool as one budget item, valid on the same event as the bound (each p_i <= P =
 * 1 - exp(-B), sum p_i <= B): with A attempts each, the chance that some test of the pool fails
 * all of them is at most fail[A-1] = min(P, B P^(A-1)), and the attempts after the first add at
 * most cost[A-1] = B (1 - P^(A-1)) / (1 - P) * seconds (seconds: the longest mean duration in the
 * pool, >= 0) to a CI run; A = 1 .. max_attempts.
 */
fm_stats_status fm_stats_pool_tables(const fm_pool_bound *bound, double seconds,
                                     uint32_t max_attempts, double *fail, double *cost);

/* ---- Regression alarm ---------------------------------------------------------------------- */

/*
 * One-sided Fisher exact test for the table [[a, b], [c, d]] (rows: recent, baseline; columns:
 * failed, passed): P(X >= a) for the top-left cell X under the hypergeometric law given the
 * margins, i.e. R's fisher.test(alternative = "greater").  min_p_value (may be NULL) gets the
 * smallest p-value these margins allow, P(X = max X).  Counts up to 2^53.
 */
fm_stats_status fm_stats_fisher_greater(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                                        double *p_value, double *min_p_value);

/*
 * Holm's step-down procedure (Holm 1979) at family-wise level alpha over the n p-values:
 * adjusted[i] = max over j <= rank(i) of min(1, (n - j + 1) p_(j)), reject[i] = adjusted[i] <=
 * alpha.  Controls the chance of any false rejection at alpha under any dependence.  Either
 * output may be NULL.  NaN p-values are EDOM.
 */
fm_stats_status fm_stats_holm(const double *p_values, size_t n, double alpha, double *adjusted,
                              bool *reject);

typedef struct {
    uint64_t k_base, n_base;     /* first-attempt failures and runs before the split */
    uint64_t k_recent, n_recent; /* ... and after it */
} fm_alarm_counts;

typedef struct {
    fm_interval baseline, recent; /* k/n with exact two-sided intervals at c ([0, 1] at n = 0) */
    double p_value;               /* one-sided Fisher: recent rate > baseline rate */
    double min_p_value;           /* the smallest p-value these margins allow */
    bool tested;                  /* min_p_value <= alpha: in the Holm family */
    double adjusted;              /* Holm-adjusted p-value within the family (1 if not tested) */
    bool regressed;               /* tested and adjusted <= alpha */
} fm_alarm_result;

/*
 * The regression alarm over n tests: each test's one-sided Fisher test of "the recent failure
 * rate is higher than the baseline's", Holm's correction at family-wise level alpha over the
 * tests whose margins allow a p-value <= alpha (the others can never be rejected, so leaving
 * them out keeps the guarantee and the power).  The chance that any test whose rate did not
 * rise is flagged is <= alpha.  Uses scratch memory (FM_STATS_ENOMEM when it cannot).
 */
fm_stats_status fm_stats_alarm(const fm_alarm_counts *counts, size_t n, double alpha, double c,
                               fm_alarm_result *out);
/* ==== Emulator slowdown and timeouts (for `flakemeter bench emu`) ============================= */

/* ---- Paired slowdown ratio ----------------------------------------------------------------- */

typedef struct {
    double ratio;        /* exp(mean of ln(numer_i / denom_i)): the geometric mean of the ratios */
    double lower, upper; /* exp(mean -+ t_{n-1,(1+c)/2} sd / sqrt(n)) */
    double log_mean, log_sd;
    size_t n;
} fm_ratio_interval;

/*
 * Ratio of paired durations (emulated / native, one pair per interleaved rep) with the
 * log-scale t interval at confidence c: exact when the log ratios are independent normals.
 * n >= 2; every duration > 0 and finite.  docs/statistics.md, sec. 11.
 */
fm_stats_status fm_stats_ratio_paired(const double *numer, const double *denom, size_t n, double c,
                                      fm_ratio_interval *out);

/* ---- Log-normal durations and timeouts ----------------------------------------------------- */

typedef struct {
    double mean_log, sd_log; /* mean and sample standard deviation of ln x */
    size_t n;
} fm_lognormal_fit;

/* Fit ln x ~ Normal(mean_log, sd_log^2) to n >= 2 durations, each > 0 and finite. */
fm_stats_status fm_stats_lognormal_fit(const double *x, size_t n, fm_lognormal_fit *out);

/*
 * P(X > t) under the fit, with a two-sided interval at confidence c that is exact under the
 * log-normal model: sqrt(n) (ln t - mean) / sd is noncentral t with n - 1 degrees of freedom
 * and noncentrality sqrt(n) z, z = (ln t - mu) / sigma, inverted in z.  t > 0.
 */
fm_stats_status fm_stats_lognormal_exceed(const fm_lognormal_fit *fit, double t, double c,
                                          fm_interval *out);

typedef struct {
    double point;        /* t with P(X > t) = target under the fitted parameters */
    double conservative; /* smallest t whose one-sided upper bound at c is <= target: the
                            one-sided normal tolerance bound exp(mean + k sd) */
} fm_timeout_answer;

/* The timeout that keeps P(X > t) at or below target, target and c in (0, 1). */
fm_stats_status fm_stats_lognormal_timeout(const fm_lognormal_fit *fit, double target, double c,
                                           fm_timeout_answer *out);

#endif
