/*
 * bench_seq.c - stopping times of the `--until-decided` rules against the oracle fixed n.
 *
 *     ninja -C build && nice build/bench/bench_seq [SEQUENCES [SEED]]
 *
 * Per (p, target): the oracle fixed n (the smallest n at which the exact two-sided
 * Clopper-Pearson interval at level c, computed at n fixed in advance, pins the true count down
 * with probability >= 0.9: exactly, from binomial sums), then for the old rule (Robbins' beta
 * mixture, fm_stats_cs_decide) and the new one (boundary tests, fm_stats_seq_decide), over
 * SEQUENCES seeded sequences checked after every run up to 100 and every 1 % of n beyond:
 *   exact:        the first n where both ends give the same count; median and 90th percentile
 *                 as ratios to the oracle n; wrong = the count differs from the true one;
 * "new, running" is the new rule through fm_stats_seq_update (bounds intersected over n).
 *   indifference: the first n where the ends are at most one apart (what `decided` means now);
 *                 its median ratio, the share reported one above the true count, and low =
 *                 reported below the true count (the error the guarantee bounds by alpha).
 * Sequences are cut at 40 times the oracle n (counted as not decided: "cut").
 */
#include "fm_stats.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const double C = 0.95;

/* smallest n where P_p(Clopper-Pearson at n pins the count A(p) down) >= 0.9 */
static uint64_t oracle_n(double p, double target, uint64_t A)
{
    double alpha2 = (1.0 - C) / 2.0;
    double b_hi = exp(log(target) / (double)A),
           b_lo = A > 1 ? exp(log(target) / (double)(A - 1)) : 0;
    unsigned klo = 0, khi = 0;
    for (unsigned n = 1; n < 2000000; n++) {
        /* lower bound > b_lo  <=>  P_{b_lo}(X >= k) < alpha/2 */
        if (b_lo > 0)
            while (klo <= n && (klo == 0 || gsl_cdf_binomial_Q(klo - 1, b_lo, n) >= alpha2))
                klo++;
        /* upper bound <= b_hi  <=>  P_{b_hi}(X <= k) <= alpha/2: khi = first k that fails */
        while (khi <= n && gsl_cdf_binomial_P(khi, b_hi, n) <= alpha2)
            khi++;
        if (khi == 0 || klo > khi - 1)
            continue;
        double prob =
            gsl_cdf_binomial_P(khi - 1, p, n) - (klo > 0 ? gsl_cdf_binomial_P(klo - 1, p, n) : 0.0);
        if (prob >= 0.9)
            return n;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double quantile(uint64_t *v, int m, double q)
{
    qsort(v, (size_t)m, sizeof v[0], cmp_u64);
    return (double)v[(int)ceil(q * m) - 1];
}

struct verdict {
    bool decided, exact;
    uint64_t count;
};

static struct verdict old_rule(uint64_t k, uint64_t n, double target)
{
    fm_cs_decision d;
    fm_stats_cs_decide(k, n, C, target, FM_STATS_CS_PRIOR_A, FM_STATS_CS_PRIOR_B, &d);
    return (struct verdict){d.decided || d.indifferent, d.decided, d.attempts.attempts};
}

static struct verdict new_rule(uint64_t k, uint64_t n, double target)
{
    fm_seq_decision d;
    fm_stats_seq_decide(k, n, C, target, &d);
    return (struct verdict){d.decided || d.indifferent, d.decided, d.attempts.attempts};
}

/* the new rule with the running intersection of the bounds (fm_stats_seq_update) */
static fm_seq_decision state;

static struct verdict running_rule(uint64_t k, uint64_t n, double target)
{
    fm_stats_seq_update(k, n, C, target, &state);
    return (struct verdict){state.decided || state.indifferent, state.decided,
                            state.attempts.attempts};
}

static uint64_t next_check(uint64_t n)
{
    return n < 100 ? n + 1 : n + n / 100;
}

/* ==== Candidates for issue 12 item 4 (BENCH_SEQ_CANDIDATES=1) ===============================
 *
 * Per-boundary tests combined by the same closed chain as the boundary rule: p > b_j is shown
 * when the tests above b_1 .. b_j have all rejected (at some time: Ville's inequality bounds
 * "ever crosses", so a crossing stays valid), p < b_j when the tests below b_j .. b_JMAX have.
 * Bench shortcut: boundaries past JMAX = A + 8 are taken as rejected (they are at least 8 steps
 * from p; for the boundary rule this reproduces fm_stats_seq_update's figures, printed beside).
 * The data are drawn run by run (the plug-in bets need the order), the same seeds for every rule.
 *   mix16     the boundary rule's window mixture (G = 16 uniform points), checked at the
 *             bench's check points;
 *   mix64     a finer mixture, 64 uniform points over the same window;
 *   geo24     24 points at distances (window) 2^(-i/4), i = 0..23, from the boundary: mass
 *             concentrated near the boundary, where the hard (slow) sequences are;
 *   plugin    predictable plug-in bets (Waudby-Smith & Ramdas 2023, the Kelly bet for Bernoulli,
 *             which aGRAPA approximates): the likelihood ratio of run i against theta at
 *             q_i = (k_(i-1) + 1/2)/(i - 1 + 1), clipped into the window (no bet when the
 *             estimate is on the null side); wealth checked after every run;
 *   oracle    NOT a rule (it knows p): each boundary's likelihood ratio aimed at the true p, the
 *             growth-optimal test (SPRT) - what no rule that must learn p can beat by much;
 *   oracle-0.8  the same aimed 0.8 of the way from theta to p (the normal approximation's best
 *             90th percentile: 1.30x the fixed-n normal test at alpha/2, against 1.35x at p);
 *   library   fm_stats_seq_update itself on the same data (checks the chain and its shortcut);
 *   *-uneven  alpha split 0.04 (tests above b_j: errors make the count too high) and 0.01 (tests
 *             below: too low) instead of 0.025 and 0.025.
 */
enum {
    JMAX_EXTRA = 8,
    MAXJ = 64,
    KIND_MIX16,
    KIND_MIX64,
    KIND_GEO24,
    KIND_PLUGIN,
    KIND_ORACLE,
    KIND_ORACLE08,
    KIND_LIB
};

struct cand {
    const char *name;
    int kind;
    double alpha_above, alpha_below;
};

struct btest {
    double theta, lo, hi; /* window [lo, theta) below, (theta, hi] above */
    double logw;          /* plug-in / oracle wealth */
    bool rejected;
};

static double lr_term(double k, double m, double q, double theta)
{
    double r = 0.0;
    if (k > 0.0)
        r += k * log(q / theta);
    if (m > 0.0)
        r += m * log1p((theta - q) / (1.0 - theta));
    return r;
}

static double mixture(double k, double m, const double *q, int g, double theta)
{
    double t[64], top = -INFINITY, s = 0.0;
    for (int i = 0; i < g; i++)
        top = fmax(top, t[i] = lr_term(k, m, q[i], theta));
    for (int i = 0; i < g; i++)
        s += exp(t[i] - top);
    return top + log(s / g);
}

static double grid_evidence(int kind, double k, double m, double theta, double a, double b)
{
    /* [a, b] the window, theta at one end */
    double q[64];
    int g = 0;
    if (kind == KIND_GEO24) {
        double w = b - a, sgn = theta <= a ? 1.0 : -1.0;
        for (g = 0; g < 24; g++)
            q[g] = theta + sgn * w * exp2(-g / 4.0);
    } else {
        g = kind == KIND_MIX64 ? 64 : 16;
        for (int i = 0; i < g; i++)
            q[i] = a + (i + 0.5) * (b - a) / g;
    }
    return mixture(k, m, q, g, theta);
}

static void cand_run(const struct cand *cd, gsl_rng *rng, int seqs, double p, double t, uint64_t A,
                     uint64_t on, uint64_t *ex, uint64_t *ind, int *wrong, int *cut, int *plus,
                     int *low)
{
    uint64_t J = A + JMAX_EXTRA, cap = 40 * on;
    struct btest above[MAXJ + 1], below[MAXJ + 1];
    double thr_a = -log(cd->alpha_above), thr_b = -log(cd->alpha_below);
    *wrong = *cut = *plus = *low = 0;
    for (int s = 0; s < seqs; s++) {
        for (uint64_t j = 1; j <= J; j++) {
            double b, lo, hi;
            fm_stats_seq_boundary(t, j, &b, &lo, &hi);
            above[j] = (struct btest){b, b, hi, 0.0, false};
            below[j] = (struct btest){b, lo, b, 0.0, false};
        }
        uint64_t k = 0, n = 0, check = 1, ind_n = 0;
        state = (fm_seq_decision){0};
        for (;;) {
            if (n >= cap) {
                (*cut)++;
                break;
            }
            int x = gsl_rng_uniform(rng) < p;
            bool oracle = cd->kind == KIND_ORACLE || cd->kind == KIND_ORACLE08;
            bool per_run = cd->kind == KIND_PLUGIN || oracle;
            if (per_run) {
                double est = oracle ? p : (k + 0.5) / (n + 1.0);
                for (uint64_t j = 1; j <= J; j++)
                    for (int side = 0; side < 2; side++) {
                        struct btest *bt = side ? &below[j] : &above[j];
                        if (bt->rejected)
                            continue;
                        double q;
                        if (side) /* below: alternative q < theta */
                            q = est >= bt->theta ? bt->theta : fmax(est, oracle ? 0 : bt->lo);
                        else
                            q = est <= bt->theta ? bt->theta : fmin(est, oracle ? 1 : bt->hi);
                        if (cd->kind == KIND_ORACLE08) /* 0.8 of the way to p: best p90 (normal) */
                            q = bt->theta + 0.8 * (q - bt->theta);
                        if (q != bt->theta)
                            bt->logw +=
                                x ? log(q / bt->theta) : log1p((bt->theta - q) / (1.0 - bt->theta));
                        if (bt->logw >= (side ? thr_b : thr_a))
                            bt->rejected = true;
                    }
            }
            k += (uint64_t)x;
            n++;
            if (n < check)
                continue;
            check = next_check(n);
            if (cd->kind == KIND_LIB) { /* the library's rule on the same data */
                fm_stats_seq_update(k, n, C, t, &state);
                if (state.decided || state.indifferent) {
                    if (ind_n == 0) {
                        ind_n = n;
                        *plus += state.attempts.attempts == A + 1;
                        *low += state.attempts.attempts < A;
                    }
                    if (state.decided) {
                        *wrong += state.attempts.attempts != A;
                        break;
                    }
                }
                continue;
            }
            if (!per_run)
                for (uint64_t j = 1; j <= J; j++) {
                    double ph = (double)k / (double)n, kd = (double)k, md = (double)(n - k);
                    if (!above[j].rejected && ph > above[j].theta)
                        above[j].rejected = grid_evidence(cd->kind, kd, md, above[j].theta,
                                                          above[j].theta, above[j].hi) >= thr_a;
                    if (!below[j].rejected && ph < below[j].theta && below[j].lo < below[j].theta)
                        below[j].rejected = grid_evidence(cd->kind, kd, md, below[j].theta,
                                                          below[j].lo, below[j].theta) >= thr_b;
                }
            uint64_t at_least = 1, at_most = 0;
            for (uint64_t j = 1; j <= J && above[j].rejected; j++)
                at_least = j + 1;
            for (uint64_t j = J; j >= 1 && below[j].rejected; j--)
                at_most = j;
            if (at_most != 0 && at_most <= at_least + 1 && ind_n == 0) {
                ind_n = n;
                *plus += at_most == A + 1;
                *low += at_most < A;
            }
            if (at_most != 0 && at_most <= at_least) {
                *wrong += at_most != A || at_least != A;
                break;
            }
        }
        ex[s] = n;
        ind[s] = ind_n ? ind_n : cap;
    }
}

/* Normal approximation (docs/statistics.md sec. 5): the SPRT's log likelihood ratio aimed at
   shift d (units of delta, time in sigma^2/delta^2) drifts d(1 - d/2) with variance d^2; its
   crossing time of level a is inverse Gaussian.  The q-quantile over the fixed-n test's
   (z_(1-alpha/2) + z_0.9)^2. */
static double ig_cdf(double x, double mean, double shape)
{
    double r = sqrt(shape / x);
    return gsl_cdf_ugaussian_P(r * (x / mean - 1)) +
           exp(2 * shape / mean) * gsl_cdf_ugaussian_P(-r * (x / mean + 1));
}

static double sprt_quantile_ratio(double a, double d, double q)
{
    double mean = a / (d * (1 - d / 2)), shape = a * a / (d * d), lo = 1e-9, hi = 1e4;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        *(ig_cdf(mid, mean, shape) < q ? &lo : &hi) = mid;
    }
    double z = gsl_cdf_ugaussian_Qinv((1 - C) / 2) + gsl_cdf_ugaussian_Qinv(0.1);
    return lo / (z * z);
}

/* The grid of the goal (issue 12): these failure probabilities at these targets. */
static const double targets[] = {1e-6, 1e-3};
static const double ps[] = {0.003, 0.02, 0.05, 0.08, 0.11, 0.2};

static void print_head(void)
{
    printf("| target | p | A | oracle n | rule | exact: median | p90 | wrong | cut | "
           "indifference: median | p90 | +1 | low |\n");
    printf("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

/* One table row: stopping n as ratios to the oracle fixed n, exact and indifferent. */
static void print_row(double t, double p, uint64_t A, uint64_t on, const char *name, uint64_t *ex,
                      uint64_t *ind, int seqs, int wrong, int cut, int plus, int low)
{
    printf("| %g | %g | %llu | %llu | %s | %.2f | %.2f | %d | %d | %.2f | %.2f | %.3f | %d |\n", t,
           p, (unsigned long long)A, (unsigned long long)on, name,
           quantile(ex, seqs, 0.5) / (double)on, quantile(ex, seqs, 0.9) / (double)on, wrong, cut,
           quantile(ind, seqs, 0.5) / (double)on, quantile(ind, seqs, 0.9) / (double)on,
           (double)plus / seqs, low);
}

static int candidates(int seqs, unsigned long seed)
{
    double a = log(2 / (1 - C));
    printf("normal approximation, SPRT at ln(2/alpha): aimed at p: median %.3f p90 %.3f; "
           "0.8 of the way: median %.3f p90 %.3f (x the fixed-n normal test)\n",
           sprt_quantile_ratio(a, 1.0, 0.5), sprt_quantile_ratio(a, 1.0, 0.9),
           sprt_quantile_ratio(a, 0.8, 0.5), sprt_quantile_ratio(a, 0.8, 0.9));
    static const struct cand cands[] = {
        {"mix16", KIND_MIX16, 0.025, 0.025},
        {"mix64", KIND_MIX64, 0.025, 0.025},
        {"geo24", KIND_GEO24, 0.025, 0.025},
        {"plugin", KIND_PLUGIN, 0.025, 0.025},
        {"mix16-uneven", KIND_MIX16, 0.04, 0.01},
        {"plugin-uneven", KIND_PLUGIN, 0.04, 0.01},
        {"oracle (not a rule)", KIND_ORACLE, 0.025, 0.025},
        {"oracle-uneven (not a rule)", KIND_ORACLE, 0.04, 0.01},
        {"oracle-0.8 (not a rule)", KIND_ORACLE08, 0.025, 0.025},
        {"library (fm_stats_seq_update)", KIND_LIB, 0.025, 0.025},
    };
    const char *only = getenv("BENCH_SEQ_ONLY"); /* a substring of the names to run */
    uint64_t *ex = malloc(sizeof *ex * (size_t)seqs), *ind = malloc(sizeof *ind * (size_t)seqs);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    printf("candidates: c = %.2f, %d sequences per cell, seed %lu\n", C, seqs, seed);
    print_head();
    for (size_t ti = 0; ti < LEN(targets); ti++)
        for (size_t pi = 0; pi < LEN(ps); pi++) {
            double p = ps[pi], t = targets[ti];
            fm_attempts truth;
            fm_stats_attempts_independent(p, t, &truth);
            uint64_t A = truth.attempts, on = oracle_n(p, t, A);
            for (size_t r = 0; r < LEN(cands); r++) {
                if (only && !strstr(cands[r].name, only))
                    continue;
                gsl_rng_set(rng, seed + 1000 * ti + 10 * pi);
                int wrong, cut, plus, low;
                cand_run(&cands[r], rng, seqs, p, t, A, on, ex, ind, &wrong, &cut, &plus, &low);
                print_row(t, p, A, on, cands[r].name, ex, ind, seqs, wrong, cut, plus, low);
                fflush(stdout);
            }
        }
    gsl_rng_free(rng);
    free(ex);
    free(ind);
    return 0;
}

int main(int argc, char **argv)
{
    int seqs = argc > 1 ? atoi(argv[1]) : 1000;
    unsigned long seed = argc > 2 ? strtoul(argv[2], NULL, 10) : 20261126;
    if (getenv("BENCH_SEQ_CANDIDATES"))
        return candidates(seqs, seed);
    struct verdict (*rules[])(uint64_t, uint64_t, double) = {old_rule, new_rule, running_rule};
    static const char *const names[] = {"old", "new", "new, running"};
    uint64_t *ex = malloc(sizeof *ex * (size_t)seqs), *ind = malloc(sizeof *ind * (size_t)seqs);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    printf("c = %.2f, %d sequences per cell, seed %lu\n", C, seqs, seed);
    print_head();
    for (size_t ti = 0; ti < LEN(targets); ti++)
        for (size_t pi = 0; pi < LEN(ps); pi++) {
            double p = ps[pi], t = targets[ti];
            fm_attempts truth;
            fm_stats_attempts_independent(p, t, &truth);
            uint64_t A = truth.attempts, on = oracle_n(p, t, A), cap = 40 * on;
            for (size_t r = getenv("BENCH_SEQ_NEW_ONLY") ? 1 : 0; r < LEN(rules); r++) {
                gsl_rng_set(rng, seed + 1000 * ti + 10 * pi); /* same data for both rules */
                int wrong = 0, cut = 0, plus = 0, low = 0;
                for (int s = 0; s < seqs; s++) {
                    uint64_t k = 0, n = 0, ind_n = 0;
                    bool done = false;
                    state = (fm_seq_decision){0};
                    while (!done) {
                        uint64_t m = next_check(n);
                        if (m > cap) {
                            cut++;
                            n = cap;
                            break;
                        }
                        k += gsl_ran_binomial(rng, p, (unsigned)(m - n));
                        n = m;
                        struct verdict v = rules[r](k, n, t);
                        if (v.decided && ind_n == 0) {
                            ind_n = n;
                            plus += v.count == A + 1;
                            low += v.count < A;
                        }
                        if (v.exact) {
                            wrong += v.count != A;
                            done = true;
                        }
                    }
                    ex[s] = n;
                    ind[s] = ind_n ? ind_n : cap;
                }
                print_row(t, p, A, on, names[r], ex, ind, seqs, wrong, cut, plus, low);
                fflush(stdout);
            }
        }
    gsl_rng_free(rng);
    free(ex);
    free(ind);
    return 0;
}
