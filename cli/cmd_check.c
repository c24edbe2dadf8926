/*
 * cmd_check.c - `flakemeter check`: the regression alarm.  Splits every test's CI history at a
 * date or after the suite's first RUNS CI runs, and flags the tests whose first-attempt failure
 * rate rose significantly (one-sided Fisher exact test, Holm's correction across tests at
 * family-wise level --alpha: fm_stats_alarm; docs/statistics.md, sec. 10).  Exit status 1 when
 * any test is flagged, so CI can gate on it; 0 otherwise; 2 on bad input.
 *
 * Dates are ISO 8601: YYYY-MM-DD, optionally with THH:MM[:SS[.frac]] and Z or +HH:MM / -HH:MM
 * (no zone = UTC).  A CI run at or after the date is recent.  With RUNS, the first RUNS CI runs
 * of each suite, in (time, id) order, are the baseline.
 */
#include "fm_cli.h"
#include "fm_history.h"
#include "fm_stats.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: flakemeter check --baseline DATE|RUNS [--db PATH] [--label SUITE] [--alpha A]\n"
    "                        [--confidence C] [--json]\n"
    "\n"
    "Did a test get worse?  Compares each test's first-attempt failure rate after a split point\n"
    "with its rate before it: one-sided Fisher exact test per test, Holm's correction across\n"
    "tests, so that the chance of flagging any test whose rate did not rise is at most A.\n"
    "Exit status 1 when a test is flagged, 0 when none is.\n";

struct check_args {
    const char *db, *label, *baseline;
    double alpha, conf;
    bool json, by_date;
    int64_t split_ns;   /* by date */
    uint64_t base_runs; /* by runs */
};

/* ---- the split point ---------------------------------------------------------------------------
 */

/* Read exactly `digits` decimal digits. */
static bool digits(const char **s, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++, (*s)++) {
        if (!isdigit((unsigned char)**s))
            return false;
        v = v * 10 + (**s - '0');
    }
    *out = v;
    return true;
}

static bool parse_time_of_day(const char **s, struct tm *tm, double *frac)
{
    if (!digits(s, 2, &tm->tm_hour) || *(*s)++ != ':' || !digits(s, 2, &tm->tm_min))
        return false;
    if (**s == ':') {
        (*s)++;
        if (!digits(s, 2, &tm->tm_sec))
            return false;
        if (**s == '.' || **s == ',') {
            char *end;
            *frac = strtod(*s, &end); /* ".25" */
            if (**s == ',' || end == *s + 1)
                return false;
            *s = end;
        }
    }
    return tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;
}

/* An ISO 8601 date (and time) to nanoseconds since the epoch; false when it is not one. */
static bool parse_date(const char *text, int64_t *ns)
{
    struct tm tm = {0};
    double frac = 0;
    int zone = 0, zh = 0, zm = 0;
    const char *s = text;
    if (!digits(&s, 4, &tm.tm_year) || *s++ != '-' || !digits(&s, 2, &tm.tm_mon) || *s++ != '-' ||
        !digits(&s, 2, &tm.tm_mday) || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31)
        return false;
    if ((*s == 'T' || *s == ' ') && !(s++, parse_time_of_day(&s, &tm, &frac)))
        return false;
    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1;
        if (!digits(&s, 2, &zh))
            return false;
        if (*s == ':')
            s++;
        if (!digits(&s, 2, &zm) || zh > 23 || zm > 59)
            return false;
        zone = sign * (zh * 3600 + zm * 60);
    }
    if (*s != '\0')
        return false;
    int mday = tm.tm_mday, mon = tm.tm_mon;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (tm.tm_mday != mday || tm.tm_mon != mon - 1) /* 2024-02-30 was normalised */
        return false;
    *ns = ((int64_t)t - zone) * 1000000000 + (int64_t)(frac * 1e9);
    return true;
}

static int parse_baseline(struct check_args *a)
{
    const char *s = a->baseline;
    size_t n = strspn(s, "0123456789");
    if (n > 0 && s[n] == '\0')
        return fm_cli_parse_count("--baseline", s, 1, FM_STATS_MAX_ATTEMPTS, &a->base_runs);
    if (!parse_date(s, &a->split_ns))
        return fm_cli_usage_error("--baseline: '%s' is neither a date (YYYY-MM-DD or ISO 8601 "
                                  "date and time) nor a number of CI runs",
                                  s);
    a->by_date = true;
    return 0;
}

static int parse(int argc, char **argv, struct check_args *a)
{
    const struct fm_opt options[] = {
        FM_OPT_STRING(
            'b', "baseline", &a->baseline, "X",
            "a date (YYYY-MM-DD or ISO 8601 date and time; CI runs before it are the baseline) or "
            "a number RUNS (the suite's first RUNS CI runs are the baseline)"),
        FM_OPT_STRING(0, "db", &a->db, "PATH", "the store (default flakemeter.db)"),
        FM_OPT_STRING(0, "label", &a->label, "SUITE", "only this suite"),
        FM_OPT_REAL('a', "alpha", &a->alpha, 0, 1, FM_OPT_OPEN, "A",
                    "family-wise false-alarm level, in (0, 1) (default 0.05)"),
        FM_OPT_REAL('c', "confidence", &a->conf, 0, 1, FM_OPT_OPEN, "C",
                    "level of the reported intervals (default 0.95)"),
        FM_OPT_BOOL(0, "json", &a->json, "print one JSON object"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if (a->baseline == NULL)
        return fm_cli_usage_error("--baseline is required (see 'flakemeter check --help')");
    rc = parse_baseline(a);
    return rc != 0 ? rc : -1;
}

/* ---- counting
 * ------------------------------------------------------------------------------------ */

/* A CI run's place in its suite's order. */
struct stamp {
    int64_t time_ns, ci_run;
};

static int cmp_stamp(const void *x, const void *y)
{
    const struct stamp *a = x, *b = y;
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    return (a->ci_run > b->ci_run) - (a->ci_run < b->ci_run);
}

/*
 * For the tests [first, end) of one suite: the last baseline CI run, the base_runs-th of the
 * suite in (time, id) order (*none = true when the suite has no more than that: all baseline).
 */
static int suite_boundary(const fm_history_test *h, size_t first, size_t end, uint64_t base_runs,
                          struct stamp *boundary)
{
    size_t total = 0, n = 0;
    for (size_t i = first; i < end; i++)
        total += h[i].n;
    struct stamp *all = malloc((total + 1) * sizeof *all);
    if (all == NULL)
        return fm_cli_fail("out of memory");
    for (size_t i = first; i < end; i++)
        for (size_t j = 0; j < h[i].n; j++)
            all[n++] = (struct stamp){h[i].runs[j].time_ns, h[i].runs[j].ci_run};
    qsort(all, n, sizeof *all, cmp_stamp);
    size_t distinct = 0;
    *boundary = (struct stamp){INT64_MAX, INT64_MAX};
    for (size_t i = 0; i < n; i++)
        if ((i == 0 || cmp_stamp(&all[i], &all[i - 1]) != 0) && ++distinct == base_runs) {
            *boundary = all[i];
            break;
        }
    free(all);
    return -1;
}

static void count_split(const fm_history_test *h, const struct check_args *a,
                        const struct stamp *boundary, fm_alarm_counts *c)
{
    *c = (fm_alarm_counts){0, 0, 0, 0};
    for (size_t j = 0; j < h->n; j++) {
        const fm_history_run *r = &h->runs[j];
        struct stamp s = {r->time_ns, r->ci_run};
        bool recent = a->by_date ? r->time_ns >= a->split_ns : cmp_stamp(&s, boundary) > 0;
        bool fail = r->first != FM_OUTCOME_PASS;
        if (recent)
            c->n_recent++, c->k_recent += fail;
        else
            c->n_base++, c->k_base += fail;
    }
}

static int count_all(const fm_history_test *h, size_t n, const struct check_args *a,
                     fm_alarm_counts *c)
{
    for (size_t first = 0; first < n;) {
        size_t end = first + 1;
        while (end < n && strcmp(h[end].label, h[first].label) == 0)
            end++;
        struct stamp boundary = {0, 0};
        if (!a->by_date) {
            int rc = suite_boundary(h, first, end, a->base_runs, &boundary);
            if (rc >= 0)
                return rc;
        }
        for (size_t i = first; i < end; i++)
            count_split(&h[i], a, &boundary, &c[i]);
        first = end;
    }
    return -1;
}

/* ---- output
 * ---------------------------------------------------------------------------------------- */

struct ranked {
    size_t i;
    double p;
};

static int cmp_ranked(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;
    if (a->p != b->p)
        return a->p < b->p ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static json_t *period_json(uint64_t k, uint64_t n, const fm_interval *ci)
{
    json_t *o = json_object();
    json_object_set_new(o, "failures", json_integer((json_int_t)k));
    json_object_set_new(o, "runs", json_integer((json_int_t)n));
    json_object_set_new(o, "estimate", fm_cli_json_real(ci->estimate));
    json_object_set_new(o, "lower", json_real(ci->lower));
    json_object_set_new(o, "upper", json_real(ci->upper));
    return o;
}

static json_t *test_json(const fm_history_test *h, const fm_alarm_counts *c,
                         const fm_alarm_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "test", json_string(h->test));
    json_object_set_new(o, "suite", json_string(h->label));
    json_object_set_new(o, "baseline", period_json(c->k_base, c->n_base, &r->baseline));
    json_object_set_new(o, "recent", period_json(c->k_recent, c->n_recent, &r->recent));
    json_object_set_new(o, "p_value", json_real(r->p_value));
    json_object_set_new(o, "adjusted_p_value", json_real(r->adjusted));
    json_object_set_new(o, "regressed", json_boolean(r->regressed));
    return o;
}

static void print_period(uint64_t k, uint64_t n, const fm_interval *ci)
{
    if (n == 0) {
        printf("%-30s", "no runs");
        return;
    }
    double v[3] = {ci->estimate, ci->lower, ci->upper};
    char t[3][32], buf[160];
    fm_cli_fmt_probs(v, t, 3);
    snprintf(buf, sizeof buf, "%llu/%llu %s (%s..%s)", (unsigned long long)k, (unsigned long long)n,
             t[0], t[1], t[2]);
    printf("%-30s", buf);
}

static void print_text(const struct check_args *a, const fm_history_test *h, size_t n,
                       const fm_alarm_counts *c, const fm_alarm_result *r,
                       const struct ranked *order, size_t family, size_t regressed)
{
    if (a->by_date)
        printf("Regression check, baseline: CI runs before %s\n", a->baseline);
    else
        printf("Regression check, baseline: the first %s CI runs of each suite\n", a->baseline);
    printf("%zu tests; %zu could show a rise at family-wise alpha %.10g; %zu rose "
           "(one-sided Fisher, Holm)\n",
           n, family, a->alpha, regressed);
    if (family == 0)
        return;
    char head[40];
    snprintf(head, sizeof head, "baseline (%.10g%% CI)", a->conf * 100);
    printf("\n%-36s %-30s %-30s %10s %10s\n", "test", head, "recent", "p", "Holm p");
    for (size_t j = 0; j < family; j++) {
        size_t i = order[j].i;
        printf("%-36s ", h[i].test);
        print_period(c[i].k_base, c[i].n_base, &r[i].baseline);
        printf(" ");
        print_period(c[i].k_recent, c[i].n_recent, &r[i].recent);
        printf(" %10.3g %10.3g%s\n", r[i].p_value, r[i].adjusted, r[i].regressed ? "  ROSE" : "");
    }
}

static int report(const struct check_args *a, const fm_history_test *h, size_t n,
                  const fm_alarm_counts *c, const fm_alarm_result *r)
{
    struct ranked *order = malloc((n + 1) * sizeof *order);
    if (order == NULL)
        return fm_cli_fail("out of memory");
    size_t family = 0, regressed = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].tested) {
            order[family++] = (struct ranked){i, r[i].p_value};
            regressed += r[i].regressed;
        }
    qsort(order, family, sizeof *order, cmp_ranked);
    int rc;
    if (a->json) {
        json_t *o = json_object(), *tests = json_array();
        json_object_set_new(o, "baseline", json_string(a->baseline));
        json_object_set_new(o, "alpha", json_real(a->alpha));
        json_object_set_new(o, "confidence", json_real(a->conf));
        json_object_set_new(o, "tests_compared", json_integer((json_int_t)n));
        json_object_set_new(o, "family", json_integer((json_int_t)family));
        json_object_set_new(o, "regressed", json_integer((json_int_t)regressed));
        for (size_t j = 0; j < family; j++)
            json_array_append_new(tests, test_json(&h[order[j].i], &c[order[j].i], &r[order[j].i]));
        json_object_set_new(o, "tests", tests);
        rc = fm_cli_print_json(o);
    } else {
        print_text(a, h, n, c, r, order, family, regressed);
        rc = FM_EXIT_OK;
    }
    free(order);
    return rc == FM_EXIT_OK && regressed > 0 ? FM_EXIT_FAIL : rc;
}

int cmd_check(int argc, char **argv)
{
    struct check_args a = {.db = "flakemeter.db", .alpha = 0.05, .conf = 0.95};
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    fm_store *store = NULL;
    if ((rc = fm_cli_open_store(a.db, false, &store)) != 0)
        return rc;
    fm_history_filter filter = {.label = a.label};
    fm_history_test *h = NULL;
    size_t n = 0;
    fm_alarm_counts *c = NULL;
    fm_alarm_result *r = NULL;
    if (fm_history_load(store, &filter, &h, &n) != FM_STORE_OK)
        rc = fm_cli_fail("cannot read %s: %s", a.db, fm_store_errmsg(store));
    else if (n == 0)
        rc = a.label ? fm_cli_usage_error("no CI history for suite '%s' in %s", a.label, a.db)
                     : fm_cli_usage_error("%s holds no CI history (see 'flakemeter ingest')", a.db);
    else if ((c = calloc(n, sizeof *c)) == NULL || (r = calloc(n, sizeof *r)) == NULL)
        rc = fm_cli_fail("out of memory");
    else
        rc = count_all(h, n, &a, c);
    if (rc < 0) {
        fm_stats_status st = fm_stats_alarm(c, n, a.alpha, a.conf, r);
        rc = st == FM_STATS_OK ? report(&a, h, n, c, r)
                               : fm_cli_fail("cannot compute the check: %s", fm_stats_strerror(st));
    }
    free(c);
    free(r);
    fm_history_free(h, n);
    fm_store_close(store);
    return rc;
}
