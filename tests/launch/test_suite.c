/*
 * test_suite.c - the listings of each runner (launch/fm_suite.h), parsed without running the
 * runner.  Each fixture is the runner's own output format: pytest 7.2 `--collect-only -q`,
 * CTest 3.25 `--show-only=json-v1` (trimmed to the fields read), GoogleTest 1.12
 * `--gtest_list_tests` with typed and parameterised tests (their "# TypeParam" comments),
 * `go test -list .` (Go 1.19), and `cargo test -- --list --format terse` (Rust 1.95).
 */
#include "fm_suite.h"
#include "fm_test.h"

#include <string.h>

static void expect(fm_suite_kind kind, const char *text, const char *const *want, size_t n_want)
{
    char **ids = NULL, err[256] = "";
    size_t n = 0;
    fm_run_status st = fm_suite_parse_list(kind, text, &ids, &n, err, sizeof err);
    CHECK(st == FM_RUN_OK, "%s: %s", fm_suite_kind_name(kind), err);
    CHECK(n == n_want, "%s: %zu ids, want %zu", fm_suite_kind_name(kind), n, n_want);
    for (size_t i = 0; i < n && i < n_want; i++)
        CHECK(strcmp(ids[i], want[i]) == 0, "%s: id %zu '%s', want '%s'", fm_suite_kind_name(kind),
              i, ids[i], want[i]);
    fm_suite_free_ids(ids, n);
}

#define IDS(...)                                                                                   \
    ((const char *const[]){__VA_ARGS__}),                                                          \
        sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)

int main(void)
{
    expect(FM_SUITE_PYTEST,
           "tests/test_a.py::test_one\n"
           "tests/test_a.py::test_p[1-x]\n"
           "tests/test_b.py::TestK::test_m\n"
           "\n"
           "3 tests collected in 0.01s\n"
           "tests/after_blank.py::ignored\n",
           IDS("tests/test_a.py::test_one", "tests/test_a.py::test_p[1-x]",
               "tests/test_b.py::TestK::test_m"));
    expect(FM_SUITE_CTEST,
           "{\"kind\":\"ctestInfo\",\"version\":{\"major\":1,\"minor\":0},\"tests\":["
           "{\"name\":\"stable\",\"command\":[\"sh\",\"a.sh\"]},{\"name\":\"with space (x)\"}]}",
           IDS("stable", "with space (x)"));
    expect(FM_SUITE_GTEST,
           "Demo.\n"
           "  Stable\n"
           "  Flaky\n"
           "TypedTest/0.  # TypeParam = int\n"
           "  Works\n"
           "Each/Param.\n"
           "  Rare/0  # GetParam() = 1\n"
           "  Rare/1  # GetParam() = 2\n",
           IDS("Demo.Stable", "Demo.Flaky", "TypedTest/0.Works", "Each/Param.Rare/0",
               "Each/Param.Rare/1"));
    expect(FM_SUITE_GO, "TestStable\nTestFlaky\nExampleHello\nBenchmarkX\nok  \tdemo\t0.002s\n",
           IDS("TestStable", "TestFlaky", "ExampleHello"));
    expect(FM_SUITE_CARGO, "tests::stable: test\ntests::flaky: test\nbenches::b: bench\n",
           IDS("tests::stable", "tests::flaky"));
    expect(FM_SUITE_GENERIC, "  a  \r\n\nb\n", IDS("a", "b"));

    char **ids = NULL, err[256] = "";
    size_t n = 0;
    CHECK(fm_suite_parse_list(FM_SUITE_GENERIC, "a\nb\na\n", &ids, &n, err, sizeof err) ==
                  FM_RUN_EINVAL &&
              strstr(err, "'a' twice") != NULL,
          "a duplicate id is refused: %s", err);
    CHECK(fm_suite_parse_list(FM_SUITE_CTEST, "{\"tests\": 3}", &ids, &n, err, sizeof err) ==
              FM_RUN_EINVAL,
          "ctest without a tests array");
    CHECK(fm_suite_parse_list(FM_SUITE_CTEST, "{\"tests\":[{\"name\":\"\"}]}", &ids, &n, err,
                              sizeof err) == FM_RUN_EINVAL,
          "ctest: an empty name is refused (fuzz/crashes/suite_list/ctest-empty-name)");
    CHECK(fm_suite_parse_list(FM_SUITE_CTEST, "not json", &ids, &n, err, sizeof err) ==
                  FM_RUN_EINVAL &&
              strchr(err, '\n') == NULL,
          "ctest: not JSON, one line: %s", err);
    fm_suite_kind k;
    CHECK(fm_suite_kind_parse("micropython", &k) == FM_RUN_OK && k == FM_SUITE_MICROPYTHON,
          "kind names");
    CHECK(fm_suite_kind_parse("nose", &k) == FM_RUN_EINVAL, "unknown kind");
    printf("%d checks, %d failed\n", fm_test_checks, fm_test_failures);
    return fm_test_failures != 0;
}
