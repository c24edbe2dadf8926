/*
 * cmd_interval.c - `flakemeter interval`: a confidence interval for a failure probability
 * from k failures in n runs.
 */
#include "fm_cli.h"
#include "fm_stats.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: flakemeter interval --failures K --runs N [--confidence C]\n"
    "                           [--method exact|wilson|jeffreys|agresti-coull|wald|blaker]\n"
    "                           [--sided two|upper] [--json]\n"
    "\n"
    "Confidence interval for the failure probability after K failures in N runs.\n";

struct interval_args {
    uint64_t k, n;
    bool have_k, have_n, json;
    double c;
    fm_ci_method method;
    fm_ci_sided sided;
};

static int parse_method(void *value, const char *text, const char *name)
{
    if (fm_stats_method_parse(text, value) == FM_STATS_OK)
        return 0;
    return fm_cli_usage_error("%s: unknown method '%s'; expected exact, wilson, jeffreys, "
                              "agresti-coull, wald or blaker",
                              name, text);
}

static int parse_sided(void *value, const char *text, const char *name)
{
    fm_ci_sided *sided = value;
    if (strcmp(text, "two") == 0)
        *sided = FM_CI_TWO_SIDED;
    else if (strcmp(text, "upper") == 0)
        *sided = FM_CI_UPPER;
    else
        return fm_cli_usage_error("%s: unknown value '%s'; expected two or upper", name, text);
    return 0;
}

/* Returns -1 to go on, or the exit status (help shown, or bad input). */
static int parse(int argc, char **argv, struct interval_args *a)
{
    const struct fm_opt options[] = {
        FM_OPT_COUNT('k', "failures", &a->k, 0, FM_STATS_MAX_ATTEMPTS, "K",
                     "failures seen (0 <= K <= N)", .seen = &a->have_k),
        FM_OPT_COUNT('n', "runs", &a->n, 1, FM_STATS_MAX_ATTEMPTS, "N",
                     "runs made (1 <= N <= 2^53; 1e12 is accepted)", .seen = &a->have_n),
        FM_OPT_REAL('c', "confidence", &a->c, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level in (0, 1); default 0.95"),
        FM_OPT_CALL('m', "method", &a->method, parse_method, "M",
                    "exact (Clopper-Pearson, default), wilson, jeffreys, agresti-coull, wald (a "
                    "known bad example, for comparison), or blaker (exact, inside "
                    "Clopper-Pearson; two-sided needs C >= 0.5)"),
        FM_OPT_CALL(0, "sided", &a->sided, parse_sided, "S",
                    "two (default) or upper: a one-sided upper bound at level C"),
        FM_OPT_BOOL(0, "json", &a->json,
                    "print a JSON object: failures, runs, confidence, method, sided, estimate, "
                    "lower, upper"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if (!a->have_k || !a->have_n)
        return fm_cli_usage_error("--failures and --runs are required (see 'flakemeter "
                                  "interval --help')");
    if (a->k > a->n)
        return fm_cli_usage_error("--failures (%llu) must not exceed --runs (%llu)",
                                  (unsigned long long)a->k, (unsigned long long)a->n);
    return -1;
}

static int print_json(const struct interval_args *a, const fm_interval *ci)
{
    json_t *o = json_object();
    json_object_set_new(o, "failures", json_integer((json_int_t)a->k));
    json_object_set_new(o, "runs", json_integer((json_int_t)a->n));
    json_object_set_new(o, "confidence", json_real(a->c));
    json_object_set_new(o, "method", json_string(fm_stats_method_name(a->method)));
    json_object_set_new(o, "sided", json_string(a->sided == FM_CI_UPPER ? "upper" : "two"));
    json_object_set_new(o, "estimate", json_real(ci->estimate));
    json_object_set_new(o, "lower", json_real(ci->lower));
    json_object_set_new(o, "upper", json_real(ci->upper));
    return fm_cli_print_json(o);
}

static void print_text(const struct interval_args *a, const fm_interval *ci)
{
    double values[3] = {ci->estimate, ci->lower, ci->upper};
    char text[3][32];
    fm_cli_fmt_probs(values, text, 3);
    const char *est = text[0], *lo = text[1], *up = text[2];
    printf("%llu failure%s in %llu run%s: failure probability %s ", (unsigned long long)a->k,
           a->k == 1 ? "" : "s", (unsigned long long)a->n, a->n == 1 ? "" : "s", est);
    if (a->sided == FM_CI_UPPER)
        printf("(at most %s with %.10g%% confidence, one-sided %s bound).\n", up, a->c * 100,
               fm_stats_method_name(a->method));
    else
        printf("(%.10g%% %s CI %s to %s).\n", a->c * 100, fm_stats_method_name(a->method), lo, up);
    if (a->method == FM_CI_WALD)
        printf("Wald intervals undercover badly at small rates (at 0 failures they are [0, 0]);"
               " use exact for decisions.\n");
}

int cmd_interval(int argc, char **argv)
{
    struct interval_args a = {.c = 0.95, .method = FM_CI_EXACT, .sided = FM_CI_TWO_SIDED};
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    fm_interval ci;
    fm_stats_status status = fm_stats_interval(a.k, a.n, a.c, a.method, a.sided, &ci);
    if (status != FM_STATS_OK)
        return fm_cli_fail("cannot compute the interval: %s", fm_stats_strerror(status));
    if (a.json)
        return print_json(&a, &ci);
    print_text(&a, &ci);
    return FM_EXIT_OK;
}
