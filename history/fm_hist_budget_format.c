/*
 * fm_hist_budget_format.c - a retry budget written as a test runner's configuration
 * (fm_hist_budget_format.h).  Reads the plan (fm_hist_budget_compute's result) and never
 * changes it; the search itself stays in fm_hist_budget.c.
 *
 * Invariants: the text goes into an open_memstream buffer and is returned whole or not at all;
 * a test is listed when its plan gives it more than one attempt; every name is quoted for the
 * language it lands in (TOML basic strings, Python string literals, CMake bracket arguments,
 * Java regular expressions, C comments); the red rate in each header is recomputed for what the
 * configuration can express (fm_hist_budget_red_with).  The runners' documented forms:
 *  - nextest (nexte.st, "Per-test settings"): [[profile.default.overrides]] filter = '...',
 *    retries = N (N = attempts - 1), later overrides losing to earlier ones; [profile.default]
 *    retries for every other test.  A JUnit name "binary::test" cannot be split back with
 *    certainty (binary ids and test names both contain "::"), so every split is listed as
 *    (binary_id(=B) & test(=T)) | ...: only the true one matches a test.
 *  - pytest-rerunfailures: @pytest.mark.flaky(reruns=N) added to the items at collection
 *    (pytest_collection_modifyitems); items are matched by node id and by the JUnit name
 *    pytest derives from it (_pytest/junitxml.py, mangle_test_address), so both kinds of
 *    history match.
 *  - CTest: no per-test retry count exists (CMake 3.25's test properties have no REPEAT; an
 *    unknown property is silently kept and ignored), and `ctest --repeat until-pass:N` covers
 *    one call: each count becomes a label (set_property(TEST ... APPEND PROPERTY LABELS
 *    flakemeter_attempts_N)) and the header lists one `ctest -L` call per label plus
 *    `ctest -LE` for every other test.
 *  - Bazel (command-line reference, --flaky_test_attempts): "regex@N", the last matching flag
 *    wins, so the default comes first.
 *  - MicroPython tests/run-tests.py: flaky_tests_to_ignore = {path: (reason, platforms)}
 *    (platforms None = all); the proposed retry list has the same shape and one retry count.
 *  - Wine: LOOP_ON_FLAKY_TESTS(n) per test file, named "dll:unit" as winetest prints it.
 */
#include "fm_hist_budget_format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { POINT = FM_HIST_MODEL_POINT, CONS = FM_HIST_MODEL_CONSERVATIVE };

static const char *const names[FM_BUDGET_FMT_N] = {
    [FM_BUDGET_FMT_TOML] = "toml",     [FM_BUDGET_FMT_NEXTEST] = "nextest",
    [FM_BUDGET_FMT_PYTEST] = "pytest", [FM_BUDGET_FMT_CTEST] = "ctest",
    [FM_BUDGET_FMT_BAZEL] = "bazel",   [FM_BUDGET_FMT_MICROPYTHON] = "micropython",
    [FM_BUDGET_FMT_WINE] = "wine"};

const char *fm_budget_fmt_name(fm_budget_fmt f)
{
    return f < FM_BUDGET_FMT_N ? names[f] : "?";
}

bool fm_budget_fmt_parse(const char *name, fm_budget_fmt *f)
{
    for (int i = 0; i < FM_BUDGET_FMT_N; i++)
        if (name != NULL && strcmp(name, names[i]) == 0) {
            *f = (fm_budget_fmt)i;
            return true;
        }
    return false;
}

double fm_hist_budget_red_with(const fm_hist_budget *b, int m, uint32_t others)
{
    double keep = 1.0;
    for (size_t i = 0; i < b->n_tests; i++)
        keep *= 1.0 - b->tests[i].all_fail[m];
    if (b->others.tests > 0) {
        uint32_t k = others < 1 ? 1 : others;
        if (k > b->others.options[m])
            k = b->others.options[m];
        keep *= 1.0 - b->others.fail[m][k - 1];
    }
    return 1.0 - keep;
}

/* Red rate with the listed tests at a attempts each (the others seen failing at 1, the pool
 * at 1): MicroPython's one count for every listed test. */
static double red_uniform(const fm_hist_budget *b, int m, uint32_t a)
{
    double keep = 1.0;
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        keep *= 1.0 - r->fail[m][(r->attempts[m] > 1 ? a : 1) - 1];
    }
    if (b->others.tests > 0)
        keep *= 1.0 - b->others.fail[m][0];
    return 1.0 - keep;
}

void fm_hist_pytest_nodeid(const char *junit, char *buf, size_t size)
{
    const char *sep = strstr(junit, "::");
    if (strstr(junit, ".py::") != NULL || sep == NULL) {
        snprintf(buf, size, "%s", junit);
        return;
    }
    /* classname: module path segments, then classes (pytest's python_classes: "Test*") */
    size_t used = 0, cls_len = (size_t)(sep - junit);
    bool in_classes = false;
    const char *seg = junit;
    while (seg < junit + cls_len && used < size) {
        const char *dot = memchr(seg, '.', (size_t)(junit + cls_len - seg));
        size_t n = dot != NULL ? (size_t)(dot - seg) : (size_t)(junit + cls_len - seg);
        bool first = seg == junit;
        if (!in_classes && !first && n >= 4 && strncmp(seg, "Test", 4) == 0) {
            in_classes = true;
            used += (size_t)snprintf(buf + used, size - used, ".py");
        }
        if (used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%.*s",
                                     first        ? ""
                                     : in_classes ? "::"
                                                  : "/",
                                     (int)n, seg);
        seg += n + (dot != NULL);
    }
    if (used < size)
        snprintf(buf + used, size - used, "%s::%s", in_classes ? "" : ".py", sep + 2);
}

/* ---- Quoting ------------------------------------------------------------------------------ */

/* A string literal for Python and for TOML basic strings (the same escapes here). */
static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A comment's text: no newline, no comment closer. */
static void put_comment_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else if (s[0] == '*' && s[1] == '/')
            fputs("* /", f), s++;
        else
            fputc(*s, f);
    }
}

/* A nextest filterset matcher's text: ',', ')' and '\' escaped with '\'. */
static void put_nextest_matcher(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',' || s[i] == ')' || s[i] == '\\')
            fputc('\\', f);
        fputc(s[i], f);
    }
}

/* A Java regular expression matching exactly s (Bazel's regex filter; ',' separates filters
 * there, so it becomes \x2c). */
static void put_regex(FILE *f, const char *s)
{
    fputc('^', f);
    for (; *s; s++) {
        if (*s == ',')
            fputs("\\x2c", f);
        else if (strchr("\\.[]{}()*+?^$|-@", *s) != NULL)
            fprintf(f, "\\%c", *s);
        else
            fputc(*s, f);
    }
    fputc('$', f);
}

/* ---- Pieces ------------------------------------------------------------------------------- */

static void reason(const fm_hist_budget_test *r, double confidence, char *buf, size_t size)
{
    char retries[80] = "", timeouts[40] = "";
    if (r->nq > 0)
        snprintf(retries, sizeof retries, "; %llu of %llu retries failed",
                 (unsigned long long)r->kq, (unsigned long long)r->nq);
    if (r->timeouts > 0)
        snprintf(timeouts, sizeof timeouts, "; %llu timeouts", (unsigned long long)r->timeouts);
    snprintf(buf, size, "failed %llu of %llu first attempts (%.3g%%, %.10g%% upper %.3g%%)%s%s",
             (unsigned long long)r->k, (unsigned long long)r->n, 100 * r->ci.estimate,
             100 * confidence, 100 * r->p[CONS], retries, timeouts);
}

static void header(FILE *f, const char *c, const fm_hist_budget *b, const fm_budget_fmt_options *o,
                   const char *runner, double red, uint32_t others)
{
    int m = o->model;
    fprintf(f, "%s %s written by flakemeter budget --target %.10g (%s plan, %.10g%% bounds)\n", c,
            runner, o->target, m == POINT ? "point" : "conservative", 100 * o->confidence);
    fprintf(f, "%s suite ", c);
    put_comment_text(f, b->suite);
    fprintf(f, ": %lld CI runs, %lld red (%.3g%%); red rate with one attempt each: %.4g%%\n",
            (long long)b->ci_runs, (long long)b->red_runs,
            b->ci_runs > 0 ? 100.0 * (double)b->red_runs / (double)b->ci_runs : 0.0,
            100 * b->plans[m].current);
    fprintf(f, "%s red rate per CI run this configuration achieves: %.4g%% (%s the target %.4g%%)",
            c, 100 * red, red <= o->target * (1 + 1e-12) ? "meets" : "MISSES", 100 * o->target);
    if (b->others.tests > 0)
        fprintf(f, "; the %zu tests never seen failing get %u attempt%s", b->others.tests, others,
                others == 1 ? "" : "s");
    fputc('\n', f);
    if (fabs(red - b->plans[m].plan.red_rate) > 1e-15)
        fprintf(f, "%s (the plan, with every other test at %u attempts: %.4g%%)\n", c,
                b->others.attempts[m], 100 * b->plans[m].plan.red_rate);
}

/* ---- Formats ------------------------------------------------------------------------------ */

static void write_toml(FILE *f, const fm_hist_budget *b, const fm_budget_fmt_options *o)
{
    int m = o->model;
    char why[256];
    uint32_t others = b->others.attempts[m];
    header(f, "#", b, o,
           "flakemeter's allowlist (not a runner's configuration; see --format "
           "nextest|pytest|ctest|bazel|micropython|wine)",
           fm_hist_budget_red_with(b, m, others), others);
    fprintf(f, "other_tests_attempts = %u\n", others);
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] < 2)
            continue;
        reason(r, o->confidence, why, sizeof why);
        fputs("\n[[flaky]]\ntest = ", f);
        put_str(f, r->test);
        fprintf(f, "\nattempts = %u\nall_fail = %.6g\nrate = %.6g\nupper = %.6g\nreason = ",
                r->attempts[m], r->all_fail[m], r->ci.estimate, r->p[CONS]);
        put_str(f, why);
        fputc('\n', f);
    }
}

static void write_nextest(FILE *f, const fm_hist_budget *b, const fm_budget_fmt_options *o)
{
    int m = o->model;
    char why[256];
    uint32_t others = b->others.attempts[m];
    header(f, "#", b, o, ".config/nextest.toml", fm_hist_budget_red_with(b, m, others), others);
    fprintf(f, "\n[profile.default]\nretries = %u\n", others - 1);
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] == others)
            continue;
        reason(r, o->confidence, why, sizeof why);
        fputs("\n# ", f);
        put_comment_text(f, r->test);
        fprintf(f, ": %s; all %u attempts fail with chance %.3g\n", why, r->attempts[m],
                r->all_fail[m]);
        /* every split of "binary::test" at a "::" (and the whole name as a test name) */
        fputs("[[profile.default.overrides]]\nfilter = ", f);
        char *expr = NULL;
        size_t len = 0;
        FILE *e = open_memstream(&expr, &len);
        if (e == NULL)
            continue;
        const char *t = r->test;
        fputs("test(=", e);
        put_nextest_matcher(e, t, strlen(t));
        fputc(')', e);
        for (const char *sep = strstr(t, "::"); sep != NULL; sep = strstr(sep + 2, "::")) {
            fputs(" | (binary_id(=", e);
            put_nextest_matcher(e, t, (size_t)(sep - t));
            fputs(") & test(=", e);
            put_nextest_matcher(e, sep + 2, strlen(sep + 2));
            fputs("))", e);
        }
        fclose(e);
        if (expr != NULL)
            put_str(f, expr);
        free(expr);
        fprintf(f, "\nretries = %u\n", r->attempts[m] - 1);
    }
}

static void write_pytest(FILE *f, const fm_hist_budget *b, const fm_budget_fmt_options *o)
{
    int m = o->model;
    char why[256], node[1024];
    uint32_t others = b->others.attempts[m];
    header(f, "#", b, o, "conftest.py plugin for pytest-rerunfailures",
           fm_hist_budget_red_with(b, m, others), others);
    fputs("# Put this file (or its contents) in the conftest.py at the rootdir the history's node\n"
          "# ids are relative to.  Node ids derived from JUnit names: a.b.test_x.TestC::test_y ->\n"
          "# a/b/test_x.py::TestC::test_y (classes start with \"Test\"); the plugin also matches\n"
          "# pytest's own JUnit name of each item, so a wrong guess here still matches.\n"
          "import re\n\nimport pytest\n\n"
          "# node id -> reruns (attempts - 1)\nFLAKEMETER_RERUNS = {\n",
          f);
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] == others)
            continue;
        reason(r, o->confidence, why, sizeof why);
        fm_hist_pytest_nodeid(r->test, node, sizeof node);
        fputs("    ", f);
        put_str(f, node);
        fprintf(f, ": %u,  # %s; all %u attempts fail with chance %.3g\n", r->attempts[m] - 1, why,
                r->attempts[m], r->all_fail[m]);
    }
    fputs("}\n# the same tests by the names in the history (JUnit classname::name)\n"
          "FLAKEMETER_JUNIT_RERUNS = {\n",
          f);
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] == others)
            continue;
        fputs("    ", f);
        put_str(f, r->test);
        fprintf(f, ": %u,\n", r->attempts[m] - 1);
    }
    fprintf(
        f,
        "}\n# every other test\nFLAKEMETER_OTHER_RERUNS = %u\n\n\n"
        "def _flakemeter_junit_name(nodeid):\n"
        "    # pytest's _pytest/junitxml.py mangle_test_address, joined as classname::name\n"
        "    path, bracket, params = nodeid.partition(\"[\")\n"
        "    names = path.split(\"::\")\n"
        "    names[0] = re.sub(r\"\\.py$\", \"\", names[0].replace(\"/\", \".\"))\n"
        "    names[-1] += bracket + params\n"
        "    return \".\".join(names[:-1]) + \"::\" + names[-1]\n\n\n"
        "def pytest_collection_modifyitems(config, items):\n"
        "    for item in items:\n"
        "        reruns = FLAKEMETER_RERUNS.get(item.nodeid)\n"
        "        if reruns is None:\n"
        "            reruns = FLAKEMETER_JUNIT_RERUNS.get(_flakemeter_junit_name(item.nodeid))\n"
        "        if reruns is None:\n"
        "            reruns = FLAKEMETER_OTHER_RERUNS\n"
        "        if reruns > 0 and item.get_closest_marker(\"flaky\") is None:\n"
        "            item.add_marker(pytest.mark.flaky(reruns=reruns))\n",
        others - 1);
}

static void write_ctest(FILE *f, const fm_hist_budget *b, const fm_budget_fmt_options *o)
{
    int m = o->model;
    char why[256];
    uint32_t others = b->others.attempts[m];
    header(f, "#", b, o, "CMake snippet (after the add_test calls)",
           fm_hist_budget_red_with(b, m, others), others);
    fputs("# CTest has no per-test retry count (CMake 3.25 knows no REPEAT test property, and a\n"
          "# property it does not know is accepted and ignored); --repeat until-pass:N applies to\n"
          "# one ctest call.  So each count is a label, and each label one ctest call:\n",
          f);
    uint32_t used[FM_HIST_BUDGET_MAX_ATTEMPTS + 1] = {0};
    for (size_t i = 0; i < b->n_tests; i++)
        if (b->tests[i].attempts[m] != others &&
            b->tests[i].attempts[m] <= FM_HIST_BUDGET_MAX_ATTEMPTS)
            used[b->tests[i].attempts[m]] = 1;
    for (uint32_t a = 1; a <= FM_HIST_BUDGET_MAX_ATTEMPTS; a++)
        if (used[a])
            fprintf(f, "#   ctest -L '^flakemeter_attempts_%u$' --repeat until-pass:%u\n", a, a);
    fprintf(f, "#   ctest -LE '^flakemeter_attempts_' --repeat until-pass:%u\n", others);
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] == others)
            continue;
        reason(r, o->confidence, why, sizeof why);
        fputs("# ", f);
        put_comment_text(f, r->test);
        fprintf(f, ": %s; all %u attempts fail with chance %.3g\n", why, r->attempts[m],
                r->all_fail[m]);
        /* a bracket argument: no escapes, no variable references; its '=' count avoids any
         * "]=...=]" inside the name */
        int eq = 1;
        char close[40];
        for (;;) {
            snprintf(close, sizeof close, "]%.*s]", eq, "================================");
            if (strstr(r->test, close) == NULL || eq >= 30)
                break;
            eq++;
        }
        fprintf(f,
                "set_property(TEST [%.*s[%s]%.*s] APPEND PROPERTY LABELS flakemeter_attempts_%u)\n",
                eq, "================================", r->test, eq,
                "================================", r->attempts[m]);
    }
}

static void write_bazel(FILE *f, const fm_hist_budget *b, const fm_budget_fmt_options *o)
{
    int m = o->model;
    char why[256];
    uint32_t others = b->others.attempts[m];
    header(f, "#", b, o, ".bazelrc lines", fm_hist_budget_red_with(b, m, others), others);
    fputs("# The last matching --flaky_test_attempts wins: the default comes first.\n", f);
    fprintf(f, "test --flaky_test_attempts=%u\n", others);
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] == others)
            continue;
        reason(r, o->confidence, why, sizeof why);
        fputs("# ", f);
        put_comment_text(f, r->test);
        fprintf(f, ": %s\ntest --flaky_test_attempts=", why);
        put_regex(f, r->test);
        fprintf(f, "@%u\n", r->attempts[m]);
    }
}

/* A run-tests.py dict of the retried tests: path -> (reason, None), the plan or what ignoring
 * hides in each comment. */
static void put_micropython_dict(FILE *f, const char *name, const fm_hist_budget *b,
                                 const fm_budget_fmt_options *o, bool ignore)
{
    int m = o->model;
    char why[256];
    fprintf(f, "%s = {\n", name);
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] < 2)
            continue;
        reason(r, o->confidence, why, sizeof why);
        fputs("    ", f);
        put_str(f, r->test);
        fputs(": (", f);
        put_str(f, why);
        if (ignore)
            fprintf(f, ", None),  # hides a failure rate of %.3g%% per CI run\n",
                    100 * r->fail[m][0]);
        else
            fprintf(f, ", None),  # the plan: %u attempts (all fail with chance %.3g)\n",
                    r->attempts[m], r->all_fail[m]);
    }
    fputs("}\n", f);
}

static void write_micropython(FILE *f, const fm_hist_budget *b, const fm_budget_fmt_options *o)
{
    int m = o->model;
    /* run-tests.py retries listed tests only: the others stay at one attempt */
    header(f, "#", b, o, "MicroPython tests/run-tests.py allowlists",
           fm_hist_budget_red_with(b, m, 1), 1);
    uint32_t need = 0;
    size_t listed = 0;
    for (size_t i = 0; i < b->n_tests; i++)
        listed += b->tests[i].attempts[m] > 1;
    for (uint32_t a = 1; a <= o->max_attempts && need == 0; a++)
        if (red_uniform(b, m, a) <= o->target * (1 + 1e-12))
            need = a;
    fputs("#\n# 1. The proposed retry list: path -> (reason, platforms); None = every platform.\n"
          "#    The plan's attempts per test are in each comment.\n",
          f);
    if (need > 0)
        fprintf(f,
                "#    With one count for every listed test, %u attempts (%u re-runs) meet the "
                "target: red rate %.4g%%.\n",
                need, need - 1, 100 * red_uniform(b, m, need));
    else
        fprintf(f,
                "#    No single count up to %u attempts meets the target for all (%u "
                "attempts: red rate %.4g%%).\n",
                o->max_attempts, o->max_attempts, 100 * red_uniform(b, m, o->max_attempts));
    fprintf(f, "#    The proposal's \"up to 2 more times\" (3 attempts): red rate %.4g%%.\n",
            100 * red_uniform(b, m, 3 <= o->max_attempts ? 3 : o->max_attempts));
    put_micropython_dict(f, "flaky_tests", b, o, false);
    fprintf(f, "FLAKY_TEST_ATTEMPTS = %u\n", need > 0 ? need : o->max_attempts);
    /* ignoring: the listed tests' failures are hidden, the rest still turns CI red */
    double hidden_keep = 1.0, rest_keep = 1.0;
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] > 1)
            hidden_keep *= 1.0 - r->fail[m][0];
        else
            rest_keep *= 1.0 - r->fail[m][0];
    }
    if (b->others.tests > 0)
        rest_keep *= 1.0 - b->others.fail[m][0];
    fprintf(f,
            "\n# 2. Today's flaky_tests_to_ignore (failures reclassified as \"ignored\", exit "
            "0).\n#    What ignoring costs: these %zu tests' failures are hidden in %.4g%% of CI "
            "runs\n#    (each test's hidden rate in its comment); the rest still turns CI red in "
            "%.4g%%.\n",
            listed, 100 * (1 - hidden_keep), 100 * (1 - rest_keep));
    put_micropython_dict(f, "flaky_tests_to_ignore", b, o, true);
}

static void write_wine(FILE *f, const fm_hist_budget *b, const fm_budget_fmt_options *o)
{
    int m = o->model;
    char why[256];
    header(f, "//", b, o, "Wine LOOP_ON_FLAKY_TESTS counts per test file",
           fm_hist_budget_red_with(b, m, 1), 1);
    fputs("// One line per test file (dll:unit as winetest names it); the others run once.\n", f);
    for (size_t i = 0; i < b->n_tests; i++) {
        const fm_hist_budget_test *r = &b->tests[i];
        if (r->attempts[m] < 2)
            continue;
        reason(r, o->confidence, why, sizeof why);
        fputs("/* ", f);
        put_comment_text(f, r->test);
        fputs(": ", f);
        put_comment_text(f, why);
        fprintf(f, " */ LOOP_ON_FLAKY_TESTS(%u)\n", r->attempts[m]);
    }
}

fm_hist_status fm_hist_budget_format(const fm_hist_budget *b, fm_budget_fmt fmt,
                                     const fm_budget_fmt_options *o, char **out)
{
    static void (*const writers[FM_BUDGET_FMT_N])(FILE *, const fm_hist_budget *,
                                                  const fm_budget_fmt_options *) = {
        [FM_BUDGET_FMT_TOML] = write_toml,     [FM_BUDGET_FMT_NEXTEST] = write_nextest,
        [FM_BUDGET_FMT_PYTEST] = write_pytest, [FM_BUDGET_FMT_CTEST] = write_ctest,
        [FM_BUDGET_FMT_BAZEL] = write_bazel,   [FM_BUDGET_FMT_MICROPYTHON] = write_micropython,
        [FM_BUDGET_FMT_WINE] = write_wine};
    if (b == NULL || o == NULL || out == NULL || fmt >= FM_BUDGET_FMT_N ||
        (o->model != POINT && o->model != CONS))
        return FM_HIST_EINVAL;
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return FM_HIST_ENOMEM;
    writers[fmt](f, b, o);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad || text == NULL) {
        free(text);
        return FM_HIST_ENOMEM;
    }
    *out = text;
    return FM_HIST_OK;
}
