/*
 * cmd_retries.c - `flakemeter retries`: how many attempts (first try + retries) bring the
 * chance that all of them fail to at most a target, from a known failure probability or from
 * k failures in n runs, and what that policy costs.
 */
#include "fm_cli.h"
#include "fm_stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: flakemeter retries --p P --target T [--after-failure Q] [COST] [--json]\n"
    "       flakemeter retries --failures K --runs N --target T [--confidence C]\n"
    "                          [--prior jeffreys|uniform] [COST] [--json]\n"
    "\n"
    "Smallest number of attempts (first try + retries, stopping at the first pass) such that\n"
    "all of them fail with probability at most T.  From K failures in N runs it gives three\n"
    "answers: point (p = K/N), conservative (p = the one-sided exact upper bound at level C:\n"
    "with probability >= C the true all-fail rate is <= T) and bayes (E[p^A] <= T under the\n"
    "Beta posterior).\n";

struct retries_args {
    double p, q, target, c, prior_a, prior_b, pass_s, fail_s;
    uint64_t k, n, policy;
    const char *prior;
    bool have_p, have_q, have_k, have_n, have_target, have_pass, have_fail, json;
};

/* Cost and evaluated policy of one answer, for printing. */
struct answer {
    const char *name;
    double p;
    fm_attempts min;
    fm_policy_cost cost;   /* of the minimum count (when reachable) */
    fm_policy_cost policy; /* of --attempts (when given) */
};

static int parse_prior(void *value, const char *text, const char *name)
{
    struct retries_args *a = value;
    if (strcmp(text, "jeffreys") != 0 && strcmp(text, "uniform") != 0)
        return fm_cli_usage_error("%s: unknown prior '%s'; expected jeffreys or uniform", name,
                                  text);
    a->prior = text;
    a->prior_a = a->prior_b = strcmp(text, "jeffreys") == 0 ? 0.5 : 1.0; /* Beta(a, a) */
    return 0;
}

/* Returns -1 to go on, or the exit status (help shown, or bad input). */
static int parse(int argc, char **argv, struct retries_args *a)
{
    const struct fm_opt options[] = {
        FM_OPT_REAL('p', "p", &a->p, 0, 1, FM_OPT_CLOSED, "P",
                    "failure probability of one attempt, in [0, 1]", .seen = &a->have_p),
        FM_OPT_REAL(0, "after-failure", &a->q, 0, 1, FM_OPT_CLOSED, "Q",
                    "failure probability of a retry after a failure, in [0, 1] (correlated "
                    "failures; default: Q = P)",
                    .seen = &a->have_q),
        FM_OPT_COUNT('k', "failures", &a->k, 0, FM_STATS_MAX_ATTEMPTS, "K",
                     "failures seen (0 <= K <= N)", .seen = &a->have_k),
        FM_OPT_COUNT('n', "runs", &a->n, 1, FM_STATS_MAX_ATTEMPTS, "N", "runs made (N >= 1)",
                     .seen = &a->have_n),
        FM_OPT_REAL('t', "target", &a->target, 0, 1, FM_OPT_OPEN, "T",
                    "all-fail probability to reach, in (0, 1), e.g. 1e-6", .seen = &a->have_target),
        FM_OPT_REAL('c', "confidence", &a->c, 0, 1, FM_OPT_OPEN, "C",
                    "level of the conservative answer, in (0, 1); default 0.95"),
        FM_OPT_CALL(0, "prior", a, parse_prior, "NAME",
                    "jeffreys (Beta(1/2, 1/2), default) or uniform (Beta(1, 1))"),
        FM_OPT_GROUP("COST (optional; both durations together):"),
        FM_OPT_REAL(0, "pass-seconds", &a->pass_s, 0, 1e300, FM_OPT_CLOSED, "S",
                    "mean duration of a passing attempt", .seen = &a->have_pass),
        FM_OPT_REAL(0, "fail-seconds", &a->fail_s, 0, 1e300, FM_OPT_CLOSED, "S",
                    "mean duration of a failing attempt (a timeout: its full length)",
                    .seen = &a->have_fail),
        FM_OPT_COUNT('a', "attempts", &a->policy, 1, FM_STATS_MAX_ATTEMPTS, "A",
                     "also evaluate a policy of A attempts (e.g. 6 for Wine's "
                     "LOOP_ON_FLAKY_TESTS(6), 3 for MicroPython's 2 re-runs)"),
        FM_OPT_GROUP(""),
        FM_OPT_BOOL(0, "json", &a->json, "print a JSON object"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if (!a->have_target)
        return fm_cli_usage_error("--target is required (see 'flakemeter retries --help')");
    if (a->have_p == (a->have_k || a->have_n))
        return fm_cli_usage_error("give either --p or --failures with --runs");
    if (!a->have_p && !(a->have_k && a->have_n))
        return fm_cli_usage_error("--failures and --runs go together");
    if (a->have_q && !a->have_p)
        return fm_cli_usage_error("--after-failure goes with --p");
    if (a->have_k && a->k > a->n)
        return fm_cli_usage_error("--failures (%llu) must not exceed --runs (%llu)",
                                  (unsigned long long)a->k, (unsigned long long)a->n);
    if (a->have_pass != a->have_fail)
        return fm_cli_usage_error("--pass-seconds and --fail-seconds go together");
    return -1;
}

static json_t *json_count(bool present, uint64_t v)
{
    return present ? json_integer((json_int_t)v) : json_null();
}

/* The keys every answer has: p, attempts, retries, residual, reachable, and the costs. */
static json_t *answer_json(const struct retries_args *a, const struct answer *ans)
{
    bool ok = ans->min.reachable, timed = a->have_pass;
    json_t *o = json_object();
    json_object_set_new(o, "p", json_real(ans->p));
    json_object_set_new(o, "attempts", json_count(ok, ans->min.attempts));
    json_object_set_new(o, "retries", json_count(ok, ans->min.attempts - 1));
    json_object_set_new(o, "residual", json_real(ans->min.residual));
    json_object_set_new(o, "reachable", json_boolean(ok));
    json_object_set_new(o, "expected_attempts",
                        ok ? fm_cli_json_real(ans->cost.expected_attempts) : json_null());
    json_object_set_new(o, "expected_seconds",
                        ok && timed ? fm_cli_json_real(ans->cost.expected_seconds) : json_null());
    if (a->policy) {
        json_t *pol = json_object();
        json_object_set_new(pol, "attempts", json_integer((json_int_t)a->policy));
        json_object_set_new(pol, "retries", json_integer((json_int_t)a->policy - 1));
        json_object_set_new(pol, "residual", json_real(ans->policy.residual));
        json_object_set_new(pol, "meets_target",
                            json_boolean(ans->policy.residual <= a->target * (1 + 1e-12)));
        json_object_set_new(pol, "expected_attempts",
                            fm_cli_json_real(ans->policy.expected_attempts));
        json_object_set_new(pol, "expected_seconds",
                            timed ? fm_cli_json_real(ans->policy.expected_seconds) : json_null());
        json_object_set_new(o, "policy", pol);
    }
    return o;
}

/* Cost of the minimum count and of --attempts, for an answer with fixed p1 and q. */
static fm_stats_status cost_fixed(const struct retries_args *a, double q, struct answer *ans)
{
    fm_stats_status st = FM_STATS_OK;
    if (ans->min.reachable)
        st = fm_stats_policy_cost(ans->p, q, ans->min.attempts, a->pass_s, a->fail_s, &ans->cost);
    if (st == FM_STATS_OK && a->policy)
        st = fm_stats_policy_cost(ans->p, q, a->policy, a->pass_s, a->fail_s, &ans->policy);
    return st;
}

static fm_stats_status cost_bayes(const struct retries_args *a, struct answer *ans)
{
    double alpha = (double)a->k + a->prior_a, beta = (double)(a->n - a->k) + a->prior_b;
    fm_stats_status st = FM_STATS_OK;
    if (ans->min.reachable)
        st = fm_stats_policy_cost_bayes(alpha, beta, ans->min.attempts, a->pass_s, a->fail_s,
                                        &ans->cost);
    if (st == FM_STATS_OK && a->policy)
        st = fm_stats_policy_cost_bayes(alpha, beta, a->policy, a->pass_s, a->fail_s, &ans->policy);
    return st;
}

/* A percentage, as everywhere; the target exactly as given beside it (9.999999999995e-7). */
static void print_target(double target)
{
    double every = 1.0 / target;
    char t[32], pct[32];
    /* a percentage, as everywhere; the target exactly as given beside it (ties: 9.999999999995e-7)
     */
    printf("to bring the chance that every attempt fails to %s or below (%s: ",
           fm_cli_fmt_prob(target, pct, sizeof pct), fm_cli_fmt_exact(target, t, sizeof t));
    if (every < 1e9 && fabs(every - round(every)) < 1e-12 * every)
        printf("once in %.0f runs)", round(every));
    else if (isfinite(every))
        printf("once in %.3g runs)", every);
    else /* 1 / a subnormal target */
        printf("once in 10^%.4g runs)", -log10(target));
}

#define CAP_TEXT "the cap of 2^53 = 9007199254740992 attempts"

/* Why unreachable: always fails, or above FM_STATS_MAX_ATTEMPTS (about 1 + ln(t/p1)/ln q). */
static void why_unreachable(double p1, double q, double target, bool have_q, char *buf, size_t size)
{
    if (q == 1.0 && (p1 == 1.0 || !have_q)) {
        snprintf(buf, size, "the test always fails");
        return;
    }
    if (q == 1.0) {
        snprintf(buf, size, "a retry after a failure always fails, so retrying never helps");
        return;
    }
    double need = 1.0 + (log(target) - log(p1)) / log(q);
    snprintf(buf, size, "it would take about %.2g attempts, above " CAP_TEXT, need);
}

/* The same for the Bayesian count: E[p^A] ~ A^-beta Gamma(a + b) / Gamma(b) for large A. */
static void why_unreachable_bayes(const struct retries_args *a, char *buf, size_t size)
{
    double alpha = (double)a->k + a->prior_a, beta = (double)(a->n - a->k) + a->prior_b;
    double log10_need = (lgamma(alpha + beta) - lgamma(beta) - log(a->target)) / beta / log(10.0);
    snprintf(buf, size, "it would take about 10^%.0f attempts, above " CAP_TEXT, log10_need);
}

static void print_cost_line(const struct retries_args *a, const char *indent,
                            const fm_policy_cost *cost)
{
    printf("%sexpected per CI run: %.4g attempts", indent, cost->expected_attempts);
    if (a->have_pass)
        printf(", %.4g s (pass %.4g s, failure %.4g s)", cost->expected_seconds, a->pass_s,
               a->fail_s);
    printf("\n");
}

static void print_policy(const struct retries_args *a, const char *who, const fm_policy_cost *pol)
{
    char res[32];
    printf("With %llu attempts%s: all fail with probability %s, %s the target; ",
           (unsigned long long)a->policy, who, fm_cli_fmt_prob(pol->residual, res, sizeof res),
           pol->residual <= a->target * (1 + 1e-12) ? "meeting" : "MISSING");
    print_cost_line(a, "", pol);
}

static int run_known_p(const struct retries_args *a)
{
    double q = a->have_q ? a->q : a->p;
    struct answer ans = {.name = "p", .p = a->p};
    fm_stats_status st = fm_stats_attempts_correlated(a->p, q, a->target, &ans.min);
    if (st == FM_STATS_OK)
        st = cost_fixed(a, q, &ans);
    if (st != FM_STATS_OK)
        return fm_cli_fail("cannot compute attempts: %s", fm_stats_strerror(st));
    if (a->json) {
        json_t *o = answer_json(a, &ans);
        json_object_set_new(o, "target", json_real(a->target));
        json_object_set_new(o, "after_failure", a->have_q ? json_real(a->q) : json_null());
        return fm_cli_print_json(o);
    }
    char p[32], qs[32], res[32];
    printf("Failure probability %s per attempt", fm_cli_fmt_prob(a->p, p, sizeof p));
    if (a->have_q)
        printf(", %s for a retry after a failure", fm_cli_fmt_prob(q, qs, sizeof qs));
    printf(":\n");
    char why[160], t[32];
    if (!ans.min.reachable) {
        why_unreachable(a->p, q, a->target, a->have_q, why, sizeof why);
        printf("the target %s is unreachable: %s.\n", fm_cli_fmt_exact(a->target, t, sizeof t),
               why);
    } else if (fm_cli_astronomic(ans.min.attempts)) {
        printf("more than 10^6 attempts ");
        print_target(a->target);
        printf(":\nfix the test; no retry policy is that long (the exact count: --json)\n");
    } else {
        unsigned long long n = ans.min.attempts;
        printf("allow %llu attempt%s (%llu retr%s) ", n, n == 1 ? "" : "s", n - 1,
               n == 2 ? "y" : "ies");
        print_target(a->target);
        printf(";\nall %llu fail with probability %s; ", n,
               fm_cli_fmt_prob(ans.min.residual, res, sizeof res));
        print_cost_line(a, "", &ans.cost);
    }
    if (a->policy)
        print_policy(a, "", &ans.policy);
    return FM_EXIT_OK;
}

static void print_answer_row(const struct retries_args *a, const struct answer *ans,
                             const char *label)
{
    char p[32], res[32], why[160];
    fm_cli_fmt_prob(ans->p, p, sizeof p);
    if (!ans->min.reachable) {
        if (ans->p == 1.0)
            snprintf(why, sizeof why, "p = 100%%: every attempt fails");
        else if (strcmp(ans->name, "bayes") == 0)
            why_unreachable_bayes(a, why, sizeof why);
        else
            why_unreachable(ans->p, ans->p, a->target, false, why, sizeof why);
        printf("  %-13s %-4s %-8s  unreachable (%s)\n", ans->name, label, p, why);
        return;
    }
    if (fm_cli_astronomic(ans->min.attempts)) {
        printf("  %-13s %-4s %-8s  more than 10^6 attempts: fix the test\n", ans->name, label, p);
        return;
    }
    unsigned long long n = ans->min.attempts;
    printf("  %-13s %-4s %-8s  %3llu attempt%s (%llu retr%s)  all fail: %s\n", ans->name, label, p,
           n, n == 1 ? " " : "s", n - 1, n == 2 ? "y  " : "ies",
           fm_cli_fmt_prob(ans->min.residual, res, sizeof res));
}

static int run_counts(const struct retries_args *a)
{
    fm_attempts_report rep;
    fm_interval ci;
    fm_stats_status st =
        fm_stats_attempts_from_counts(a->k, a->n, a->c, a->prior_a, a->prior_b, a->target, &rep);
    if (st == FM_STATS_OK)
        st = fm_stats_interval(a->k, a->n, a->c, FM_CI_EXACT, FM_CI_TWO_SIDED, &ci);
    struct answer ans[3] = {
        {.name = "point", .p = rep.point.p, .min = rep.point.attempts},
        {.name = "conservative", .p = rep.conservative.p, .min = rep.conservative.attempts},
        {.name = "bayes", .p = rep.bayes.p, .min = rep.bayes.attempts},
    };
    for (int i = 0; i < 2 && st == FM_STATS_OK; i++)
        st = cost_fixed(a, ans[i].p, &ans[i]);
    if (st == FM_STATS_OK)
        st = cost_bayes(a, &ans[2]);
    if (st != FM_STATS_OK)
        return fm_cli_fail("cannot compute attempts: %s", fm_stats_strerror(st));
    if (a->json) {
        json_t *o = json_object();
        json_object_set_new(o, "failures", json_integer((json_int_t)a->k));
        json_object_set_new(o, "runs", json_integer((json_int_t)a->n));
        json_object_set_new(o, "target", json_real(a->target));
        json_object_set_new(o, "confidence", json_real(a->c));
        json_object_set_new(o, "prior", json_string(a->prior));
        for (int i = 0; i < 3; i++)
            json_object_set_new(o, ans[i].name, answer_json(a, &ans[i]));
        return fm_cli_print_json(o);
    }
    double values[3] = {ci.estimate, ci.lower, ci.upper};
    char text[3][32];
    fm_cli_fmt_probs(values, text, 3);
    printf("%llu failure%s in %llu runs: failure probability %s (%.10g%% exact CI %s to %s).\n",
           (unsigned long long)a->k, a->k == 1 ? "" : "s", (unsigned long long)a->n, text[0],
           a->c * 100, text[1], text[2]);
    printf("Attempts (first try + retries) ");
    print_target(a->target);
    printf(":\n");
    print_answer_row(a, &ans[0], "p =");
    print_answer_row(a, &ans[1], "p <=");
    print_answer_row(a, &ans[2], "E[p]");
    printf("conservative: with %.10g%% confidence the true all-fail rate is at most the target.\n"
           "bayes: %s prior; the all-fail rate averaged over what p might be.\n",
           a->c * 100, a->prior);
    if (ans[1].min.reachable && !fm_cli_astronomic(ans[1].min.attempts) && a->have_pass)
        print_cost_line(a, "conservative policy, ", &ans[1].cost);
    if (a->policy)
        print_policy(a, " (conservative p)", &ans[1].policy);
    return FM_EXIT_OK;
}

int cmd_retries(int argc, char **argv)
{
    struct retries_args a = {.c = 0.95, .prior = "jeffreys", .prior_a = 0.5, .prior_b = 0.5};
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    return a.have_p ? run_known_p(&a) : run_counts(&a);
}
