/*
 * fm_hist_budget_format.h - a computed retry budget (fm_hist_budget.h) written as each test
 * runner's own configuration, for `flakemeter budget --format`: nextest per-test retries,
 * a pytest conftest plugin for pytest-rerunfailures, CTest labels with one ctest call each, Bazel
 * --flaky_test_attempts lines, MicroPython run-tests.py allowlists (the proposed retry list and
 * today's flaky_tests_to_ignore, with what ignoring hides) and Wine LOOP_ON_FLAKY_TESTS counts.
 *
 * Every text opens with comments that state the red rate per CI run the written configuration
 * achieves under the plan's model (which can differ from the plan's when the runner cannot give
 * the never-failed tests their count), and names tests by the runner's own ids (mapping rules:
 * docs/history.md, "Budget formats").  The library never prints: the text is returned.
 */
#ifndef FM_HIST_BUDGET_FORMAT_H
#define FM_HIST_BUDGET_FORMAT_H

#include "fm_hist_budget.h"

typedef enum {
    FM_BUDGET_FMT_TOML,        /* flakemeter's own list (not a runner's configuration) */
    FM_BUDGET_FMT_NEXTEST,     /* .config/nextest.toml */
    FM_BUDGET_FMT_PYTEST,      /* conftest.py plugin (pytest-rerunfailures) */
    FM_BUDGET_FMT_CTEST,       /* CMakeLists.txt snippet: labels, and the ctest calls */
    FM_BUDGET_FMT_BAZEL,       /* .bazelrc lines */
    FM_BUDGET_FMT_MICROPYTHON, /* run-tests.py: the retry allowlist and flaky_tests_to_ignore */
    FM_BUDGET_FMT_WINE,        /* LOOP_ON_FLAKY_TESTS(n) per test file */
    FM_BUDGET_FMT_N
} fm_budget_fmt;

/* "toml", "nextest", ... ; and back (false when unknown). */
const char *fm_budget_fmt_name(fm_budget_fmt f);
bool fm_budget_fmt_parse(const char *name, fm_budget_fmt *f);

typedef struct {
    int model;             /* FM_HIST_MODEL_POINT or FM_HIST_MODEL_CONSERVATIVE */
    double target;         /* as planned */
    double confidence;     /* of the upper bounds, for the comments */
    uint32_t max_attempts; /* as planned */
} fm_budget_fmt_options;

/*
 * The configuration as a malloc'ed NUL-terminated text in *out (free it).  FM_HIST_OK,
 * FM_HIST_ENOMEM, FM_HIST_EINVAL (NULL arguments, unknown format).
 */
fm_hist_status fm_hist_budget_format(const fm_hist_budget *b, fm_budget_fmt f,
                                     const fm_budget_fmt_options *o, char **out);

/*
 * The red rate per CI run with every test seen failing at its planned attempts and the
 * never-failed tests at `others` attempts (1 .. their options), under model m.
 */
double fm_hist_budget_red_with(const fm_hist_budget *b, int m, uint32_t others);

/* pytest's JUnit name "a.b.test_x.TestC::test_y[p]" as a node id "a/b/test_x.py::TestC::test_y[p]"
 * (into buf); a name that already is a node id (has ".py::") is copied. */
void fm_hist_pytest_nodeid(const char *junit_name, char *buf, size_t size);

#endif
