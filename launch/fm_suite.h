/*
 * fm_suite.h - the tests of a suite, as its runner names them, and the command that runs one
 * (`flakemeter stress`, docs/integrations.md).
 *
 * An adapter asks the runner for its tests and builds one command per test:
 *   pytest      CMD --collect-only -q        -> node ids (path::name[param])
 *               per test: CMD's program and options (its path operands dropped) + -p
 *               no:cacheprovider NODEID
 *   ctest       CMD --show-only=json-v1      -> .tests[].name
 *               per test: CMD -R ^NAME$ --no-tests=error --output-on-failure
 *   gtest       CMD --gtest_list_tests       -> Suite.Test (typed/parameterised names included)
 *               per test: CMD --gtest_filter=Suite.Test
 *   go          go test [FLAGS] PKG -list .  -> TestName lines (one package)
 *               per test: go test [FLAGS] -count=1 -run ^TestName$ PKG
 *   cargo       CMD -- --list --format terse -> "name: test" lines
 *               per test: CMD -- --exact NAME
 *   micropython CMD's operands (test files, or directories of *.py) as run-tests.py takes them
 *               per test: CMD's program and options + PATH; run-tests.py decides pass (the
 *               output matches the expected output) and exits 1 on a failure
 *   generic     --list-command (sh -c; one id per line), --each TEMPLATE (sh -c, {} = the id,
 *               quoted for the shell)
 * Invariants: ids are unique (a duplicate from the runner is an error, never merged), in the
 * runner's order; every argv is NULL-terminated and owned by the suite; discovery runs the
 * runner once, with its output bounded (16 MiB), and a runner that fails or lists nothing is an
 * error with one line naming the command.
 */
#ifndef FM_SUITE_H
#define FM_SUITE_H

#include "fm_run_status.h"

#include <regex.h>
#include <stddef.h>

typedef enum {
    FM_SUITE_PYTEST,
    FM_SUITE_CTEST,
    FM_SUITE_GTEST,
    FM_SUITE_GO,
    FM_SUITE_CARGO,
    FM_SUITE_MICROPYTHON,
    FM_SUITE_GENERIC,
} fm_suite_kind;

/* "pytest", ... "generic"; NULL-safe parse: FM_RUN_EINVAL for an unknown name. */
const char *fm_suite_kind_name(fm_suite_kind kind);
fm_run_status fm_suite_kind_parse(const char *name, fm_suite_kind *kind);

typedef struct {
    fm_suite_kind kind;
    char *const *argv;        /* the runner's command (not generic), NULL-terminated */
    const char *list_command; /* generic */
    const char *each;         /* generic: template with {} */
    const regex_t *filter;    /* keep only ids that match (NULL: all) */
} fm_suite_spec;

typedef struct {
    char *id;    /* the runner's own id */
    char **argv; /* the command that runs this test alone */
} fm_suite_test;

typedef struct {
    fm_suite_test *tests;
    size_t n;
} fm_suite;

/* Discover; err gets one line on failure.  Free with fm_suite_free (also after a failure). */
fm_run_status fm_suite_discover(const fm_suite_spec *spec, fm_suite *out, char *err,
                                size_t err_size);
void fm_suite_free(fm_suite *suite);

/* The ids of a runner's listing (no process: for tests and fuzzing).  text is NUL-terminated. */
fm_run_status fm_suite_parse_list(fm_suite_kind kind, const char *text, char ***ids, size_t *n,
                                  char *err, size_t err_size);
void fm_suite_free_ids(char **ids, size_t n);

#endif
