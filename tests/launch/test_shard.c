/*
 * test_shard.c - `--shard` forms and the job engines' environments (launch/fm_shard.h), and the
 * fleet plan's arithmetic (launch/fm_fleet.h).
 *
 * The environments are tables, not the process's own, so each case is exactly the variables a
 * Slurm array task, an Indexed Job pod, a GitLab parallel job or a Bazel shard sees (as their
 * documentation lists them: sbatch(1) "OUTPUT ENVIRONMENT VARIABLES", Kubernetes "Indexed Job",
 * GitLab "predefined variables", Bazel "Test encyclopedia").
 */
#include "fm_fleet.h"
#include "fm_shard.h"
#include "fm_stats.h"
#include "fm_test.h"

#include <string.h>

typedef struct {
    const char *const *kv; /* name, value, ..., NULL */
} env_table;

static const char *table_env(const char *name, void *ctx)
{
    const env_table *t = ctx;
    for (const char *const *p = t->kv; p[0] != NULL; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

/* Parse text with the table; expect ok with (index, count) or a refusal whose line holds word. */
static void expect(const char *text, const char *const *kv, bool ok, unsigned index, unsigned count,
                   const char *word)
{
    env_table t = {kv};
    fm_shard s;
    char why[512];
    fm_shard_status st = fm_shard_parse(text, table_env, &t, &s, why, sizeof why);
    if (ok) {
        CHECK(st == FM_SHARD_OK, "'%s': refused: %s", text, why);
        if (st == FM_SHARD_OK)
            CHECK(s.index == index && s.count == count, "'%s': %u/%u, want %u/%u", text, s.index,
                  s.count, index, count);
        if (st == FM_SHARD_OK && word != NULL)
            CHECK(strstr(s.source, word) != NULL, "'%s': source '%s', want %s", text, s.source,
                  word);
    } else {
        CHECK(st == FM_SHARD_EINVAL, "'%s': accepted as %u/%u", text, s.index, s.count);
        if (st == FM_SHARD_EINVAL) {
            CHECK(strchr(why, '\n') == NULL && why[0] != '\0', "'%s': not one line: '%s'", text,
                  why);
            CHECK(word == NULL || strstr(why, word) != NULL, "'%s': '%s' does not name %s", text,
                  why, word);
        }
    }
}

#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOENV    ((const char *const[]){NULL})

static void forms(void)
{
    expect("0/1", NOENV, true, 0, 1, "--shard");
    expect("3/4", NOENV, true, 3, 4, NULL);
    expect("1of4", NOENV, true, 0, 4, NULL);
    expect("4of4", NOENV, true, 3, 4, NULL);
    expect("2/2", NOENV, false, 0, 0, "2of2"); /* the 1-based reading is suggested */
    expect("0of4", NOENV, false, 0, 0, "1 <= I");
    expect("5of4", NOENV, false, 0, 0, "IofN");
    expect("0/0", NOENV, false, 0, 0, "0 <= I < N");
    expect("-1/4", NOENV, false, 0, 0, "I/N");
    expect("1/4x", NOENV, false, 0, 0, NULL);
    expect(" 1/4", NOENV, false, 0, 0, NULL);
    expect("1/", NOENV, false, 0, 0, NULL);
    expect("", NOENV, false, 0, 0, NULL);
    expect("4294967297/4294967298", NOENV, false, 0, 0, NULL); /* no wrap to 1/2 */
    expect("autox", NOENV, false, 0, 0, NULL);
    expect("auto", NOENV, false, 0, 0, "SLURM_ARRAY_TASK_ID");
    expect("auto/0", NOENV, false, 0, 0, "N >= 1");
}

static void slurm(void)
{
    /* sbatch --array=0-3: task 2 */
    expect("auto",
           ENV("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3",
               "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_STEP", "1"),
           true, 2, 4, "Slurm");
    /* --array=1-8: 1-based ids, task 8 is the last shard */
    expect("auto",
           ENV("SLURM_ARRAY_TASK_ID", "8", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "8",
               "SLURM_ARRAY_TASK_COUNT", "8"),
           true, 7, 8, NULL);
    /* --array=0-15:4: ids 0 4 8 12, task 12 is shard 3 of 4 */
    expect("auto",
           ENV("SLURM_ARRAY_TASK_ID", "12", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX",
               "12", "SLURM_ARRAY_TASK_STEP", "4", "SLURM_ARRAY_TASK_COUNT", "4"),
           true, 3, 4, NULL);
    /* --array=1,5,9: no positions */
    expect("auto",
           ENV("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "9",
               "SLURM_ARRAY_TASK_COUNT", "3"),
           false, 0, 0, "holes");
    expect("auto", ENV("SLURM_ARRAY_TASK_ID", "2"), false, 0, 0, "SLURM_ARRAY_TASK_MIN");
    expect(
        "auto",
        ENV("SLURM_ARRAY_TASK_ID", "x", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3"),
        false, 0, 0, "SLURM_ARRAY_TASK_ID='x'");
    /* auto/N must agree with the array */
    expect(
        "auto/4",
        ENV("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3"),
        true, 1, 4, NULL);
    expect(
        "auto/5",
        ENV("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3"),
        false, 0, 0, "Slurm says there are 4");
}

static void others(void)
{
    expect("auto/8", ENV("JOB_COMPLETION_INDEX", "7"), true, 7, 8, "Kubernetes");
    expect("auto", ENV("JOB_COMPLETION_INDEX", "7", "FLAKEMETER_SHARD_COUNT", "8"), true, 7, 8,
           NULL);
    expect("auto", ENV("JOB_COMPLETION_INDEX", "7"), false, 0, 0, "auto/N");
    expect("auto/4", ENV("JOB_COMPLETION_INDEX", "4"), false, 0, 0, "impossible");
    expect("auto", ENV("CI_NODE_INDEX", "1", "CI_NODE_TOTAL", "3"), true, 0, 3, "GitLab");
    expect("auto", ENV("CI_NODE_INDEX", "3", "CI_NODE_TOTAL", "3"), true, 2, 3, NULL);
    expect("auto", ENV("CI_NODE_INDEX", "0", "CI_NODE_TOTAL", "3"), false, 0, 0, "from 1");
    expect("auto", ENV("CI_NODE_INDEX", "2"), false, 0, 0, "CI_NODE_TOTAL");
    expect("auto", ENV("TEST_SHARD_INDEX", "0", "TEST_TOTAL_SHARDS", "2"), true, 0, 2, "Bazel");
    expect("auto", ENV("TEST_SHARD_INDEX", "2", "TEST_TOTAL_SHARDS", "2"), false, 0, 0,
           "impossible");
    /* two engines: agreeing is fine, disagreeing is refused naming both */
    expect("auto",
           ENV("CI_NODE_INDEX", "2", "CI_NODE_TOTAL", "3", "TEST_SHARD_INDEX", "1",
               "TEST_TOTAL_SHARDS", "3"),
           true, 1, 3, "GitLab+Bazel");
    expect("auto",
           ENV("CI_NODE_INDEX", "2", "CI_NODE_TOTAL", "3", "TEST_SHARD_INDEX", "2",
               "TEST_TOTAL_SHARDS", "3"),
           false, 0, 0, "Bazel says");
    /* an explicit form ignores the environment */
    expect("0/2", ENV("CI_NODE_INDEX", "2", "CI_NODE_TOTAL", "3"), true, 0, 2, NULL);

    env_table t = {
        ENV("TEST_SHARD_INDEX", "0", "TEST_TOTAL_SHARDS", "2", "TEST_SHARD_STATUS_FILE", "/tmp/x")};
    fm_shard s;
    char why[256];
    CHECK(fm_shard_parse("auto", table_env, &t, &s, why, sizeof why) == FM_SHARD_OK, "%s", why);
    const char *f = fm_shard_bazel_status_file(&s, table_env, &t);
    CHECK(f != NULL && strcmp(f, "/tmp/x") == 0, "status file %s", f ? f : "(none)");
    CHECK(fm_shard_parse("0/2", table_env, &t, &s, why, sizeof why) == FM_SHARD_OK, "%s", why);
    CHECK(fm_shard_bazel_status_file(&s, table_env, &t) == NULL, "explicit: no status file");
}

static void fleet(void)
{
    fm_fleet f = {10, 100, 2};
    fm_fleet_plan p;
    /* 29956 runs (fm_stats_plan_runs(1e-4, 0, 0.95): ceil(log(0.05)/log(1-1e-4))) on 200 slots:
     * 149.78 -> 150 waves of 10 s; 29956 * 10 / 3600 CPU-hours. */
    CHECK(fm_fleet_spread(29956, &f, &p) == FM_RUN_OK, "spread");
    CHECK(p.waves == 150 && p.wall_s == 1500 && p.in_flight == 200, "waves %llu wall %g",
          (unsigned long long)p.waves, p.wall_s);
    CHECK(fm_test_close(p.cpu_hours, 29956.0 * 10 / 3600, 1e-15, 0), "cpu %g", p.cpu_hours);
    CHECK(fm_fleet_spread(200, &f, &p) == FM_RUN_OK && p.waves == 1, "exact fill");
    CHECK(fm_fleet_spread(201, &f, &p) == FM_RUN_OK && p.waves == 2, "one over");
    fm_fleet bad = {0, 1, 1};
    CHECK(fm_fleet_spread(1, &bad, &p) == FM_RUN_EINVAL, "zero seconds");
    CHECK(fm_fleet_until_decided(0, 0.95, 1e-6, &f, &p) == FM_RUN_EINVAL, "p = 0");

    /* One slot: the engine's rule with nothing in flight; it must agree with the boundary rule's
     * own estimate (fm_stats_seq_runs_needed, a bisection on fresh states) within the grid's
     * step of 1/64, and never stop sooner than the first N at which a fresh state stops. */
    const double ps[] = {0.3, 0.1, 0.02};
    const uint64_t ks[] = {3, 1, 1}, ns[] = {10, 10, 50}; /* k/n = p exactly, n small */
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
        fm_fleet one = {1, 1, 1};
        uint64_t ref = 0;
        CHECK(fm_stats_seq_runs_needed(ks[i], ns[i], 0.95, 1e-6, &ref) == FM_STATS_OK, "reference");
        CHECK(fm_fleet_until_decided(ps[i], 0.95, 1e-6, &one, &p) == FM_RUN_OK, "plan");
        CHECK(p.runs > 0 && fm_test_close((double)p.runs, (double)ref, 0.05, 0),
              "p %g: plan %llu runs, boundary rule %llu", ps[i], (unsigned long long)p.runs,
              (unsigned long long)ref);
        /* More runs in flight never need fewer runs. */
        uint64_t last = p.runs;
        const unsigned ws[] = {2, 8, 32, 128};
        for (size_t j = 0; j < sizeof ws / sizeof *ws; j++) {
            fm_fleet many = {1, ws[j], 1};
            CHECK(fm_fleet_until_decided(ps[i], 0.95, 1e-6, &many, &p) == FM_RUN_OK, "plan");
            CHECK(p.runs >= last, "p %g: %u in flight need %llu < %llu", ps[i], ws[j],
                  (unsigned long long)p.runs, (unsigned long long)last);
            last = p.runs;
        }
    }
}

int main(void)
{
    forms();
    slurm();
    others();
    fleet();
    printf("%d checks, %d failed\n", fm_test_checks, fm_test_failures);
    return fm_test_failures != 0;
}
