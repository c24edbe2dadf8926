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

int main(int argc, char **argv)
{
    int seqs = argc > 1 ? atoi(argv[1]) : 1000;
    unsigned long seed = argc > 2 ? strtoul(argv[2], NULL, 10) : 20261126;
    static const double targets[] = {1e-6, 1e-3};
    static const double ps[] = {0.003, 0.02, 0.05, 0.08, 0.11, 0.2};
    struct verdict (*rules[])(uint64_t, uint64_t, double) = {old_rule, new_rule, running_rule};
    static const char *const names[] = {"old", "new", "new, running"};
    uint64_t *ex = malloc(sizeof *ex * (size_t)seqs), *ind = malloc(sizeof *ind * (size_t)seqs);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    printf("c = %.2f, %d sequences per cell, seed %lu\n", C, seqs, seed);
    printf("| target | p | A | oracle n | rule | exact: median | p90 | wrong | cut | "
           "indifference: median | p90 | +1 | low |\n");
    printf("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
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
                printf("| %g | %g | %llu | %llu | %s | %.2f | %.2f | %d | %d | %.2f | %.2f | "
                       "%.3f | %d |\n",
                       t, p, (unsigned long long)A, (unsigned long long)on, names[r],
                       quantile(ex, seqs, 0.5) / (double)on, quantile(ex, seqs, 0.9) / (double)on,
                       wrong, cut, quantile(ind, seqs, 0.5) / (double)on,
                       quantile(ind, seqs, 0.9) / (double)on, (double)plus / seqs, low);
                fflush(stdout);
            }
        }
    gsl_rng_free(rng);
    free(ex);
    free(ind);
    return 0;
}
