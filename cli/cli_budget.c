/*
 * cli_budget.c - why a `budget` plan is infeasible (history/fm_hist_budget.c marks the tests):
 * the tests it cannot do without, the bound that does it, and how many more passing runs or
 * retries would let that test fit its share of the target.  Text and JSON.
 */
#include "cli_report.h"
#include "fm_cli.h"

#include <stdio.h>

/* "q <= 84.2% from 2 observed retries (1 failed)" or "p <= 37.6% from 120 runs (36 failed)". */
static void bound_text(const fm_hist_budget_test *r, int m, char *buf, size_t size)
{
    char v[32];
    const char *rel = m == FM_HIST_MODEL_CONSERVATIVE ? "<=" : "=";
    if (r->nq > 0)
        snprintf(buf, size, "q %s %s from %llu observed retr%s (%llu failed)", rel,
                 fm_cli_fmt_prob(r->q[m], v, sizeof v), (unsigned long long)r->nq,
                 r->nq == 1 ? "y" : "ies", (unsigned long long)r->kq);
    else
        snprintf(buf, size, "p %s %s from %llu run%s (%llu failed)", rel,
                 fm_cli_fmt_prob(r->p[m], v, sizeof v), (unsigned long long)r->n,
                 r->n == 1 ? "" : "s", (unsigned long long)r->k);
}

void fm_cli_budget_why_print(const fm_hist_budget *b, int m, uint32_t max_attempts, FILE *out)
{
    char bound[160], fail[32], up[32];
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (!r->blocking[m])
            continue;
        bound_text(r, m, bound, sizeof bound);
        fprintf(out, "  infeasible because of %s: %s, so all %u attempts fail with %s; ", r->test,
                bound, max_attempts,
                fm_cli_fmt_prob(r->fail[m][max_attempts - 1], fail, sizeof fail));
        if (r->more[m] > 0)
            fprintf(out, "%llu more %s, all passing, would fit its share of the target\n",
                    (unsigned long long)r->more[m], r->nq > 0 ? "retries" : "runs");
        else
            fprintf(out, "no number of passing %s fits its share of the target\n",
                    r->nq > 0 ? "retries" : "runs");
    }
    if (b->others.tests > 0 && b->others.blocking[m])
        fprintf(out,
                "  infeasible because of the %zu test%s never seen failing: together at most %s "
                "(the pooled bound), so at %u attempts each they fail together with %s; more CI "
                "runs of the suite lower that bound\n",
                b->others.tests, b->others.tests == 1 ? "" : "s",
                fm_cli_fmt_prob(b->others.bound.rate, up, sizeof up), b->others.options[m],
                fm_cli_fmt_prob(b->others.fail[m][b->others.options[m] - 1], fail, sizeof fail));
}

json_t *fm_cli_budget_why_json(const fm_hist_budget *b, int m, uint32_t max_attempts)
{
    json_t *list = json_array();
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (!r->blocking[m])
            continue;
        bool retries = r->nq > 0;
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o, s:I, s:I, s:o, s:o, s:s}", "test", r->test, "bound",
                            retries ? "after_failure" : "failure", "value",
                            fm_cli_json_real(retries ? r->q[m] : r->p[m]), "observed",
                            (json_int_t)(retries ? r->nq : r->n), "failed",
                            (json_int_t)(retries ? r->kq : r->k), "all_fail_probability",
                            fm_cli_json_real(r->fail[m][max_attempts - 1]), "more_passing",
                            r->more[m] ? json_integer((json_int_t)r->more[m]) : json_null(),
                            "more_of", retries ? "retries" : "runs"));
    }
    if (b->others.tests > 0 && b->others.blocking[m])
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o, s:I, s:o}", "test", "(never failed)", "bound", "pool",
                            "value", fm_cli_json_real(b->others.bound.rate), "tests",
                            (json_int_t)b->others.tests, "more_passing", json_null()));
    return list;
}

/* A string as a JSON/TOML/Python double-quoted literal (all three accept these escapes). */
void fm_cli_put_quoted(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}
