/*
 * fm_stats_budget.c - a retry budget for a whole suite: per-test attempt counts a_i that keep
 * the chance of a red CI run, P(red) = 1 - prod_i (1 - f_i(a_i)), at or below a target with the
 * least expected added CI time sum_i c_i(a_i).
 *
 * With w_i(a) = -log(1 - f_i(a)) >= 0 the constraint is sum_i w_i(a_i) <= W = -log(1 - T): a
 * multiple-choice knapsack (one choice per test) with real weights.  Greedy steps by marginal
 * cost per unit of weight are optimal for the continuous relaxation only, so the plan is found
 * exactly by the Pareto-frontier dynamic programme of Nemhauser & Ullmann (1969): after the
 * first i tests keep every partial plan (cost C, weight S) that no other partial plan beats in
 * both; a dominated partial plan can be replaced by its dominator in any completion without
 * raising cost or weight, so an optimal plan's prefixes (or equally good ones) survive.  Two
 * prunings keep the frontier small and are safe for the same reason: a partial plan whose
 * weight plus the least weight the remaining tests can reach exceeds W can never be completed,
 * and one whose cost plus a lower bound on completing it (Lagrangian: for lambda >= 0 the rest
 * costs at least sum_j min_a (c_j(a) + lambda w_j(a)) - lambda (W - S)) exceeds the cost of a
 * known feasible plan (the greedy one) cannot win.  When the frontier still outgrows
 * FM_STATS_BUDGET_MAX_STATES (many tests with near-free retries make many near-equal plans),
 * the search is repeated with a cost resolution eta: of kept plans within eta of each other's
 * cost only the lightest stays, which loses at most eta per test, so the plan found is within
 * gap = n eta of the optimum (reported); eta grows from 0 (exact) in steps of 1e-9, 1e-6, 1e-4
 * and 1e-2 of the greedy cost / n.  Invariant of a layer: sorted by cost ascending
 * with weight strictly decreasing.  Proof and numbers: docs/statistics.md, sec. 9.
 *
 * Costs of one test: attempt j >= 2 runs with probability p1 q^(j-2) and lasts the failure
 * duration with probability q, the pass duration otherwise (a timeout costs the full timeout,
 * which the caller passes as the failure duration).
 */
#include "fm_stats_internal.h"

#include <math.h>
#include <stdlib.h>

fm_stats_status fm_stats_retry_extra_seconds(double p1, double q, uint64_t attempts,
                                             double pass_seconds, double fail_seconds,
                                             double *extra)
{
    if (!fm_stats_is_prob(p1) || !fm_stats_is_prob(q) || attempts < 1 ||
        attempts > FM_STATS_MAX_ATTEMPTS || !(pass_seconds >= 0.0) || !(fail_seconds >= 0.0) ||
        isinf(pass_seconds) || isinf(fail_seconds))
        return FM_STATS_EDOM;
    double retries = (double)(attempts - 1);
    /* sum_{j=0}^{A-2} q^j = (1 - q^(A-1)) / (1 - q), accurate for q near 1 and huge A */
    double geometric = attempts == 1 ? 0.0
                       : q == 1.0    ? retries
                       : q == 0.0    ? 1.0
                                     : -expm1(retries * log(q)) / (1.0 - q);
    *extra = p1 * geometric * (q * fail_seconds + (1.0 - q) * pass_seconds);
    return FM_STATS_OK;
}

fm_stats_status fm_stats_budget_tables(double p1, double q, double pass_seconds,
                                       double fail_seconds, uint32_t max_attempts, double *fail,
                                       double *cost)
{
    if (max_attempts < 1 || !fm_stats_is_prob(p1) || !fm_stats_is_prob(q))
        return FM_STATS_EDOM;
    for (uint32_t a = 1; a <= max_attempts; a++) {
        fm_stats_status st =
            fm_stats_retry_extra_seconds(p1, q, a, pass_seconds, fail_seconds, &cost[a - 1]);
        if (st != FM_STATS_OK)
            return st;
        fail[a - 1] = a == 1 ? p1 : p1 * pow(q, (double)(a - 1));
    }
    return FM_STATS_OK;
}

/* One choice of one test, or one partial plan (prev: its parent in the previous layer). */
struct choice {
    double cost, weight;
    uint32_t a;
};

struct state {
    double cost, weight;
    uint32_t prev, a;
};

/* A test's choices that no other of its choices beats: cost ascending, weight descending. */
struct front {
    struct choice *c;
    uint32_t n;
};

static int cmp_choice(const void *x, const void *y)
{
    const struct choice *a = x, *b = y;
    if (a->cost != b->cost)
        return a->cost < b->cost ? -1 : 1;
    if (a->weight != b->weight)
        return a->weight < b->weight ? -1 : 1;
    return (a->a > b->a) - (a->a < b->a);
}

static int cmp_state(const void *x, const void *y)
{
    const struct state *a = x, *b = y;
    if (a->cost != b->cost)
        return a->cost < b->cost ? -1 : 1;
    if (a->weight != b->weight)
        return a->weight < b->weight ? -1 : 1;
    return (a->prev > b->prev) - (a->prev < b->prev);
}

static bool valid_item(const fm_budget_item *it)
{
    if (it->options < 1 || it->fail == NULL || it->cost == NULL)
        return false;
    for (uint32_t a = 0; a < it->options; a++)
        if (!fm_stats_is_prob(it->fail[a]) || !(it->cost[a] >= 0.0) || isinf(it->cost[a]))
            return false;
    return true;
}

/* Sort an item's choices and keep the Pareto ones; fills f (f->c has room for options). */
static void build_front(const fm_budget_item *it, struct front *f)
{
    for (uint32_t a = 0; a < it->options; a++)
        f->c[a] = (struct choice){it->cost[a], -log1p(-it->fail[a]), a + 1};
    qsort(f->c, it->options, sizeof *f->c, cmp_choice);
    uint32_t kept = 0;
    for (uint32_t a = 0; a < it->options; a++)
        if (kept == 0 || f->c[a].weight < f->c[kept - 1].weight)
            f->c[kept++] = f->c[a];
    f->n = kept;
}

/* 1 - prod (1 - f_i(a_i)) and sum c_i(a_i) of a plan. */
static void evaluate(const fm_budget_item *items, size_t n, const uint32_t *attempts,
                     fm_budget_plan *out)
{
    double log_pass = 0.0, cost = 0.0;
    for (size_t i = 0; i < n; i++) {
        log_pass += log1p(-items[i].fail[attempts[i] - 1]);
        cost += items[i].cost[attempts[i] - 1];
    }
    out->red_rate = -expm1(log_pass);
    out->cost = cost;
}

/* The weight budget W = -log(1 - T), with the tie slack of the rest of the library. */
static double weight_budget(double target)
{
    double t = target * (1.0 + FM_STATS_TIE);
    return t >= 1.0 ? INFINITY : -log1p(-t);
}

/* At most this many multipliers for the Lagrangian bound (below). */
#define MAX_LAMBDA 4096

struct problem {
    const fm_budget_item *items;
    size_t n;
    struct front *fronts;
    double *rest; /* rest[i]: least total weight tests i..n-1 can reach; rest[n] = 0 */
    double budget;
    size_t n_lambda;
    double *lambda; /* ascending */
    double *dual;   /* dual[i * n_lambda + k] = sum_{j >= i} min_a (c_j(a) + lambda_k w_j(a)) */
    double eta;     /* per-test cost resolution of the search: the plan is within n eta */
};

static void release(struct problem *p)
{
    if (p->fronts != NULL)
        for (size_t i = 0; i < p->n; i++)
            free(p->fronts[i].c);
    free(p->fronts);
    free(p->rest);
    free(p->lambda);
    free(p->dual);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/*
 * The Lagrangian bound: for any lambda >= 0, completing tests i.. within a weight budget B
 * costs at least dual_i(lambda) - lambda B (weak duality).  dual_i is concave in lambda, so
 * the bound is unimodal along the multipliers; over every marginal cost per unit weight of
 * the fronts (the kinks of dual_i) its maximum is the LP relaxation's least cost.  More than
 * MAX_LAMBDA kinks: evenly spaced quantiles of them (still a valid, slightly weaker bound).
 */
static fm_stats_status prepare_dual(struct problem *p)
{
    size_t n_slopes = 0, cap = 1;
    for (size_t i = 0; i < p->n; i++)
        cap += p->fronts[i].n;
    double *slopes = malloc(cap * sizeof *slopes);
    if (slopes == NULL)
        return FM_STATS_ENOMEM;
    slopes[n_slopes++] = 0.0;
    for (size_t i = 0; i < p->n; i++)
        for (uint32_t j = 1; j < p->fronts[i].n; j++) {
            const struct choice *a = &p->fronts[i].c[j - 1], *b = &p->fronts[i].c[j];
            if (!isinf(a->weight))
                slopes[n_slopes++] = (b->cost - a->cost) / (a->weight - b->weight);
        }
    qsort(slopes, n_slopes, sizeof *slopes, cmp_double);
    size_t k_max = n_slopes < MAX_LAMBDA ? n_slopes : MAX_LAMBDA;
    p->n_lambda = k_max;
    p->lambda = malloc(k_max * sizeof *p->lambda);
    p->dual = calloc((p->n + 1) * k_max, sizeof *p->dual);
    if (p->lambda == NULL || p->dual == NULL) {
        free(slopes);
        return FM_STATS_ENOMEM;
    }
    for (size_t k = 0; k < k_max; k++)
        p->lambda[k] = slopes[k_max == 1 ? 0 : k * (n_slopes - 1) / (k_max - 1)];
    free(slopes);
    for (size_t i = p->n; i-- > 0;)
        for (size_t k = 0; k < k_max; k++) {
            double best = INFINITY;
            for (uint32_t j = 0; j < p->fronts[i].n; j++)
                best = fmin(best, p->fronts[i].c[j].cost + p->lambda[k] * p->fronts[i].c[j].weight);
            p->dual[i * k_max + k] = p->dual[(i + 1) * k_max + k] + best;
        }
    return FM_STATS_OK;
}

/* dual_i(lambda_k) - lambda_k left, less an allowance for rounding (never above the truth). */
static double dual_bound(const struct problem *p, size_t i, size_t k, double left)
{
    double g = p->dual[i * p->n_lambda + k], l = p->lambda[k] * left;
    return g - l - 1e-9 * (fabs(g) + fabs(l));
}

/* A lower bound on the cost of completing tests i.. within weight budget left: the largest
 * dual_bound, found by bisection on the sign of its step (any k gives a valid bound). */
static double rest_cost_bound(const struct problem *p, size_t i, double left)
{
    size_t lo = 0, hi = p->n_lambda - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dual_bound(p, i, mid + 1, left) > dual_bound(p, i, mid, left))
            lo = mid + 1;
        else
            hi = mid;
    }
    return fmax(0.0, dual_bound(p, i, lo, left));
}

static fm_stats_status prepare(const fm_budget_item *items, size_t n, double target,
                               struct problem *p)
{
    *p = (struct problem){.items = items, .n = n, .budget = weight_budget(target)};
    if (!fm_stats_is_open_prob(target) || (n > 0 && items == NULL))
        return FM_STATS_EDOM;
    for (size_t i = 0; i < n; i++)
        if (!valid_item(&items[i]))
            return FM_STATS_EDOM;
    p->fronts = calloc(n + 1, sizeof *p->fronts);
    p->rest = calloc(n + 1, sizeof *p->rest);
    if (p->fronts == NULL || p->rest == NULL)
        return FM_STATS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        p->fronts[i].c = malloc(items[i].options * sizeof *p->fronts[i].c);
        if (p->fronts[i].c == NULL)
            return FM_STATS_ENOMEM;
        build_front(&items[i], &p->fronts[i]);
    }
    for (size_t i = n; i-- > 0;) {
        const struct front *f = &p->fronts[i];
        p->rest[i] = p->rest[i + 1] + f->c[f->n - 1].weight;
    }
    return FM_STATS_OK;
}

/* No plan meets the target: the least weight (red rate) of every test, cheapest among ties. */
static void least_red_plan(const struct problem *p, uint32_t *attempts)
{
    for (size_t i = 0; i < p->n; i++)
        attempts[i] = p->fronts[i].c[p->fronts[i].n - 1].a;
}

/* Greedy on the fronts; pos[i] indexes the chosen choice.  Requires rest[0] <= budget. */
static void greedy_fronts(const struct problem *p, uint32_t *pos)
{
    double total = 0.0;
    for (size_t i = 0; i < p->n; i++) {
        pos[i] = 0; /* an infinite weight can never stay: take the cheapest finite one */
        while (isinf(p->fronts[i].c[pos[i]].weight))
            pos[i]++;
        total += p->fronts[i].c[pos[i]].weight;
    }
    while (total > p->budget) {
        size_t best_i = p->n;
        uint32_t best_j = 0;
        double best_ratio = INFINITY;
        for (size_t i = 0; i < p->n; i++) {
            const struct front *f = &p->fronts[i];
            for (uint32_t j = pos[i] + 1; j < f->n; j++) {
                double ratio =
                    (f->c[j].cost - f->c[pos[i]].cost) / (f->c[pos[i]].weight - f->c[j].weight);
                if (ratio < best_ratio || best_i == p->n) {
                    best_ratio = ratio;
                    best_i = i;
                    best_j = j;
                }
            }
        }
        if (best_i == p->n)
            break; /* cannot happen when rest[0] <= budget, up to rounding */
        total -= p->fronts[best_i].c[pos[best_i]].weight - p->fronts[best_i].c[best_j].weight;
        pos[best_i] = best_j;
    }
}

fm_stats_status fm_stats_budget_greedy(const fm_budget_item *items, size_t n_items, double target,
                                       uint32_t *attempts, fm_budget_plan *out)
{
    struct problem p;
    uint32_t *pos = NULL;
    fm_stats_status st = prepare(items, n_items, target, &p);
    if (st == FM_STATS_OK && (pos = calloc(n_items + 1, sizeof *pos)) == NULL)
        st = FM_STATS_ENOMEM;
    if (st == FM_STATS_OK) {
        bool feasible = p.rest[0] <= p.budget;
        if (feasible) {
            greedy_fronts(&p, pos);
            for (size_t i = 0; i < n_items; i++)
                attempts[i] = p.fronts[i].c[pos[i]].a;
        } else {
            least_red_plan(&p, attempts);
        }
        evaluate(items, n_items, attempts, out);
        out->feasible = feasible;
        out->states = 0;
        out->gap = NAN; /* unknown */
        out->lower_bound = NAN;
    }
    free(pos);
    release(&p);
    return st;
}

/* Layers of the dynamic programme, kept for the walk back from the best final plan. */
struct layers {
    struct state **s;
    size_t *n;
    size_t total;
};

/* Extend layer i by test i's choices, pruned; the new layer goes to L->s[i + 1]. */
static fm_stats_status extend(const struct problem *p, size_t i, double cost_cap, struct layers *L)
{
    const struct front *f = &p->fronts[i];
    size_t n_old = L->n[i];
    if (n_old > FM_STATS_BUDGET_MAX_STATES / f->n)
        return FM_STATS_ENOMEM;
    struct state *cand = malloc((n_old * f->n + 1) * sizeof *cand);
    if (cand == NULL)
        return FM_STATS_ENOMEM;
    size_t m = 0;
    for (size_t s = 0; s < n_old; s++)
        for (uint32_t j = 0; j < f->n; j++) {
            double c = L->s[i][s].cost + f->c[j].cost, w = L->s[i][s].weight + f->c[j].weight;
            if (w + p->rest[i + 1] <= p->budget && c <= cost_cap &&
                c + rest_cost_bound(p, i + 1, p->budget - w) <= cost_cap)
                cand[m++] = (struct state){c, w, (uint32_t)s, f->c[j].a};
        }
    qsort(cand, m, sizeof *cand, cmp_state);
    size_t kept = 0;
    double window = -INFINITY; /* cost of the cheapest plan the last kept one stands for */
    for (size_t s = 0; s < m; s++) {
        if (kept > 0 && !(cand[s].weight < cand[kept - 1].weight))
            continue; /* dominated */
        if (kept > 0 && cand[s].cost <= window + p->eta) {
            cand[kept - 1] = cand[s]; /* at most eta dearer, and lighter: it stands for both */
        } else {
            window = cand[s].cost;
            cand[kept++] = cand[s];
        }
    }
    L->total += kept;
    if (L->total > FM_STATS_BUDGET_MAX_STATES) {
        free(cand);
        return FM_STATS_ENOMEM;
    }
    L->s[i + 1] = cand;
    L->n[i + 1] = kept;
    return FM_STATS_OK;
}

static fm_stats_status exact_plan(const struct problem *p, double cost_cap, uint32_t *attempts,
                                  uint64_t *states)
{
    struct layers L = {calloc(p->n + 1, sizeof *L.s), calloc(p->n + 1, sizeof *L.n), 1};
    fm_stats_status st = FM_STATS_OK;
    if (L.s == NULL || L.n == NULL || (L.s[0] = malloc(sizeof **L.s)) == NULL)
        st = FM_STATS_ENOMEM;
    if (st == FM_STATS_OK) {
        L.s[0][0] = (struct state){0.0, 0.0, 0, 0};
        L.n[0] = 1;
    }
    for (size_t i = 0; st == FM_STATS_OK && i < p->n; i++)
        st = extend(p, i, cost_cap, &L);
    if (st == FM_STATS_OK && L.n[p->n] == 0)
        st = FM_STATS_ENOCONV; /* the greedy plan is feasible, so this cannot happen */
    if (st == FM_STATS_OK) {
        uint32_t s = 0; /* the cheapest final plan (ties: the lowest weight) is first */
        for (size_t i = p->n; i-- > 0;) {
            attempts[i] = L.s[i + 1][s].a;
            s = L.s[i + 1][s].prev;
        }
        *states = L.total;
    }
    for (size_t i = 0; L.s != NULL && i <= p->n; i++)
        free(L.s[i]);
    free(L.s);
    free(L.n);
    return st;
}

fm_stats_status fm_stats_budget_optimize(const fm_budget_item *items, size_t n_items, double target,
                                         uint32_t *attempts, fm_budget_plan *out)
{
    struct problem p;
    uint32_t *pos = NULL;
    uint64_t states = 0;
    fm_stats_status st = prepare(items, n_items, target, &p);
    if (st == FM_STATS_OK && (pos = calloc(n_items + 1, sizeof *pos)) == NULL)
        st = FM_STATS_ENOMEM;
    bool feasible = st == FM_STATS_OK && p.rest[0] <= p.budget;
    double gap = 0.0, lower = 0.0;
    if (st == FM_STATS_OK && feasible) {
        greedy_fronts(&p, pos);
        st = prepare_dual(&p);
        double greedy_cost = 0.0;
        for (size_t i = 0; i < n_items; i++)
            greedy_cost += p.fronts[i].c[pos[i]].cost;
        if (st == FM_STATS_OK)
            lower = fmin(rest_cost_bound(&p, 0, p.budget), greedy_cost);
        /* exact first; coarser cost resolutions only when the frontier outgrows the limit */
        static const double resolution[] = {0.0, 1e-9, 1e-6, 1e-4, 1e-2};
        st = st == FM_STATS_OK ? FM_STATS_ENOMEM : st;
        for (size_t r = 0; st == FM_STATS_ENOMEM && r < sizeof resolution / sizeof *resolution;
             r++) {
            gap = resolution[r] * greedy_cost;
            p.eta = gap / (double)n_items;
            /* a hair of slack: sums taken in another order may round the other way */
            st = exact_plan(&p, greedy_cost * (1.0 + 1e-9) + 1e-300, attempts, &states);
        }
    } else if (st == FM_STATS_OK) {
        least_red_plan(&p, attempts);
    }
    if (st == FM_STATS_OK) {
        evaluate(items, n_items, attempts, out);
        out->feasible = feasible;
        out->states = states;
        out->gap = gap;
        out->lower_bound = lower;
    }
    free(pos);
    release(&p);
    return st;
}

/*
 * The tests never seen failing (docs/statistics.md, sec. 9).  For one test with k ~ Bin(n, p),
 * u = -log(1 - p), lambda <= n y and y in (0, 1):
 *   E exp(lambda (u [k = 0] - h(k))) = 1 - (1 - (1 - y) p)^n + (1 - p)^(n - lambda) <= 1,
 * with h(0) = 0 and h(k) = -log(1 - y^k) / lambda, because (1 - y) L(p) >= L((1 - y) p) for the
 * convex L(x) = -log(1 - x) with L(0) = 0.  The product over independent tests is then an
 * e-value for the sum over the never-failed tests, and so is a fixed mixture of such products
 * over lambda; Markov's inequality gives the bound.  The mixture (y_j, weight_j), lambda_j =
 * y_j n_min, was fixed before any data: weight near y = 1, where the bound is ~log(1/(w (1-c)))
 * / n_min when no test failed only once or twice, and spread down to y = 0.03 for suites with
 * many rare failures (there the best y is about sqrt(2 log(1/(w (1-c))) / #once-failed)).
 */
static const double pool_y[] = {0.999, 0.97, 0.9, 0.75, 0.55, 0.4, 0.28,
                                0.2,   0.14, 0.1, 0.07, 0.05, 0.03};
static const double pool_w[] = {0.30, 0.20, 0.15,  0.10, 0.07, 0.05, 0.04,
                                0.03, 0.02, 0.015, 0.01, 0.01, 0.005}; /* sum 1 */
#define POOL_NODES (sizeof pool_y / sizeof *pool_y)

/* log sum_j w_j exp(lambda_j s + logk_j) (log-sum-exp), where logk_j = -lambda_j H_j. */
static double pool_log_mixture(double s, double n_min, const double *logk)
{
    double t[POOL_NODES], top = -INFINITY, sum = 0.0;
    for (size_t j = 0; j < POOL_NODES; j++) {
        t[j] = log(pool_w[j]) + pool_y[j] * n_min * s + logk[j];
        top = fmax(top, t[j]);
    }
    for (size_t j = 0; j < POOL_NODES; j++)
        sum += exp(t[j] - top);
    return top + log(sum);
}

fm_stats_status fm_stats_pool_bound(const uint64_t *failures, const uint64_t *runs, size_t m,
                                    double c, fm_pool_bound *out)
{
    if (!fm_stats_is_open_prob(c) || (m > 0 && (failures == NULL || runs == NULL)))
        return FM_STATS_EDOM;
    uint64_t n_min = UINT64_MAX;
    size_t quiet = 0;
    for (size_t i = 0; i < m; i++) {
        if (runs[i] == 0 || failures[i] > runs[i])
            return FM_STATS_EDOM;
        n_min = runs[i] < n_min ? runs[i] : n_min;
        quiet += failures[i] == 0;
    }
    *out = (fm_pool_bound){.tests = quiet, .fewest_runs = m > 0 ? n_min : 0};
    if (quiet == 0)
        return FM_STATS_OK; /* nothing to bound: B = 0 */
    /* logk_j = sum_{k_i >= 1} log(1 - y_ij^k_i), y_ij = lambda_j / n_i = y_j n_min / n_i */
    double logk[POOL_NODES] = {0}, nm = (double)n_min;
    for (size_t i = 0; i < m; i++)
        if (failures[i] > 0)
            for (size_t j = 0; j < POOL_NODES; j++) {
                double y = pool_y[j] * nm / (double)runs[i];
                logk[j] += log1p(-exp((double)failures[i] * log(y)));
            }
    /* the root of log mixture(s) = log(1/(1-c)), increasing in s, from 0 (mixture <= 1 there)
     * to the least single-node root; bisection keeps the upper end (the safe side) */
    double target = -log1p(-c), lo = 0.0, hi = INFINITY;
    for (size_t j = 0; j < POOL_NODES; j++)
        hi = fmin(hi, (target - log(pool_w[j]) - logk[j]) / (pool_y[j] * nm));
    for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
        double mid = lo + (hi - lo) / 2;
        if (pool_log_mixture(mid, nm, logk) < target)
            lo = mid;
        else
            hi = mid;
    }
    out->sum_bound = hi;
    out->rate = -expm1(-hi);
    return FM_STATS_OK;
}

fm_stats_status fm_stats_pool_tables(const fm_pool_bound *bound, double seconds,
                                     uint32_t max_attempts, double *fail, double *cost)
{
    if (bound == NULL || max_attempts < 1 || !(bound->sum_bound >= 0.0) ||
        isinf(bound->sum_bound) || !(seconds >= 0.0) || isinf(seconds))
        return FM_STATS_EDOM;
    double b = bound->sum_bound, p = -expm1(-b), geometric = 0.0, power = 1.0;
    for (uint32_t a = 1; a <= max_attempts; a++) {
        /* power = P^(a-1); geometric = sum_{j=0}^{a-2} P^j */
        fail[a - 1] = fmin(p, b * power);
        cost[a - 1] = b * geometric * seconds;
        geometric += power;
        power *= p;
    }
    return FM_STATS_OK;
}
