/*
 * test_stats_flaky.c - fm_stats_flaky on hand-made histories: the domain checks, one-run
 * histories (no flip rate), a failed repeat after a pass (a mixed run that is not a retry pass),
 * and the order of the classification rules.  The full numbers are checked against R in
 * tests/ingest/test_tests_cli.py.
 */
#include "fm_stats.h"
#include "fm_test.h"

#include <string.h>

/* "P", "F", "FP" (first failed, last passed), "PF"; revision r (0 = unknown) per run. */
static fm_flaky_report classify(const char *const *runs, const int64_t *revs, size_t n)
{
    fm_stats_ci_run v[64];
    for (size_t i = 0; i < n; i++)
        v[i] = (fm_stats_ci_run){runs[i][0] != 'P', runs[i][strlen(runs[i]) - 1] != 'P',
                                 revs ? revs[i] : 0};
    fm_flaky_report r;
    CHECK(fm_stats_flaky(v, n, 0.95, &r) == FM_STATS_OK, "status");
    return r;
}

int main(void)
{
    fm_stats_ci_run one = {false, false, 0};
    fm_flaky_report r;
    CHECK(fm_stats_flaky(&one, 0, 0.95, &r) == FM_STATS_EDOM, "n = 0");
    CHECK(fm_stats_flaky(NULL, 1, 0.95, &r) == FM_STATS_EDOM, "NULL runs");
    CHECK(fm_stats_flaky(&one, 1, 1.0, &r) == FM_STATS_EDOM, "c = 1");
    CHECK(fm_stats_flaky(&one, 1, 0.95, &r) == FM_STATS_OK && isnan(r.flip_rate) &&
              r.cls == FM_CLASS_STABLE && r.evidence == FM_EVIDENCE_NEVER_FAILED &&
              fm_test_close(r.interval.upper, 0.975, 1e-14, 0),
          "one passing run: upper %.17g", r.interval.upper);

    const char *repeat_failed[] = {"P", "PF", "P"}; /* go test -count: passed, then failed */
    r = classify(repeat_failed, NULL, 3);
    CHECK(r.cls == FM_CLASS_FLAKY && r.evidence == FM_EVIDENCE_MIXED_RUN &&
              r.passed_on_retry == 0 && r.mixed == 1 && r.red == 1 && r.failures == 0,
          "failed repeat");

    const char *retry_then_broken[] = {"FP", "P", "F", "F"}; /* rule 1 before rule 5 */
    r = classify(retry_then_broken, NULL, 4);
    CHECK(r.cls == FM_CLASS_FLAKY && r.evidence == FM_EVIDENCE_MIXED_RUN, "retry wins");

    const char *two_stretches[] = {"F", "P", "F", "P"};
    int64_t distinct[] = {1, 2, 3, 4}, paired[] = {1, 1, 2, 2};
    r = classify(two_stretches, distinct, 4);
    CHECK(r.evidence == FM_EVIDENCE_INTERMITTENT && r.stretches == 2 && r.flip_rate == 1.0,
          "intermittent, flip 1");
    r = classify(two_stretches, paired, 4);
    CHECK(r.evidence == FM_EVIDENCE_SAME_REVISION && r.same_revision == 2, "same revision x2");

    const char *broke[] = {"P", "P", "F", "F"};
    r = classify(broke, NULL, 4);
    CHECK(r.cls == FM_CLASS_FAILING && r.evidence == FM_EVIDENCE_BROKEN && r.last_stretch == 2 &&
              fm_test_close(r.flip_rate, 1.0 / 3.0, 1e-15, 0),
          "broken at the end");

    const char *fixed[] = {"P", "F", "F", "P"};
    r = classify(fixed, NULL, 4);
    CHECK(r.cls == FM_CLASS_STABLE && r.evidence == FM_EVIDENCE_FIXED && r.last_stretch == 0,
          "fixed break");

    const char *never[] = {"F", "F"};
    r = classify(never, paired, 2);
    CHECK(r.cls == FM_CLASS_FAILING && r.evidence == FM_EVIDENCE_NEVER_PASSED && r.flip_rate == 0,
          "never passed");
    CHECK(strcmp(fm_stats_class_name(FM_CLASS_FLAKY), "flaky") == 0 &&
              strcmp(fm_stats_class_name(FM_CLASS_FAILING), "failing") == 0 &&
              strcmp(fm_stats_class_name(FM_CLASS_STABLE), "stable") == 0,
          "names");
    return fm_test_report("stats flaky");
}
