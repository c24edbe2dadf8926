/*
 * fm_shard.h - which shard of a campaign this runner is: `--shard` as written, or read from the
 * environment of the job engine that started it (docs/scale.md).
 *
 * A campaign split N ways keeps to run indices = I mod N in shard I (0 <= I < N), so shards never
 * draw the same seeded run and `flakemeter merge` of all N equals the unsharded campaign.  The
 * forms of --shard:
 *   I/N     0-based, as `split`, Bazel and Kubernetes count: 0/4 .. 3/4
 *   IofN    1-based, as GitLab and most CI matrices count: 1of4 .. 4of4
 *   auto    from the environment (below); auto/N gives the count where the engine does not
 * The environments read by auto, each only when its index variable is set:
 *   Slurm job arrays      SLURM_ARRAY_TASK_ID with _MIN, _MAX, _STEP (index (ID-MIN)/STEP) and
 *                         _COUNT (or (MAX-MIN)/STEP+1); an array with holes (--array=1,5,9)
 *                         has no position, and is refused
 *   Kubernetes Indexed Jobs  JOB_COMPLETION_INDEX (0-based); the count is not in the pod's
 *                         environment: auto/N, or FLAKEMETER_SHARD_COUNT set from .spec.completions
 *   GitLab parallel:      CI_NODE_INDEX (1-based) and CI_NODE_TOTAL
 *   Bazel test sharding   TEST_SHARD_INDEX (0-based) and TEST_TOTAL_SHARDS (the caller must touch
 *                         TEST_SHARD_STATUS_FILE: fm_shard_bazel_status_file)
 * (GitHub Actions matrices have no variable of their own: --shard ${{ matrix.i }}/N.)
 * Two engines that disagree, an index outside the count, or an auto with nothing to read is bad
 * input: FM_SHARD_EINVAL with one line in why.
 */
#ifndef FM_SHARD_H
#define FM_SHARD_H

#include <stddef.h>

typedef enum {
    FM_SHARD_OK = 0,
    FM_SHARD_EINVAL, /* bad text, bad or conflicting environment: why says which */
} fm_shard_status;

/* Reads one environment variable (getenv, or a table in tests); NULL when unset. */
typedef const char *(*fm_shard_getenv_fn)(const char *name, void *ctx);

typedef struct {
    unsigned index, count; /* 0 <= index < count */
    char source[64]; /* "--shard", "Slurm", "Kubernetes", "GitLab", "Bazel", "--shard+Slurm" */
} fm_shard;

/* Parse text (one of the forms above), reading the environment through env (NULL: getenv). */
fm_shard_status fm_shard_parse(const char *text, fm_shard_getenv_fn env, void *ctx, fm_shard *out,
                               char *why, size_t why_size);

/* Bazel's TEST_SHARD_STATUS_FILE when the shard came from Bazel (else NULL): the test runner
 * must create it to say it shards, or Bazel fails the test. */
const char *fm_shard_bazel_status_file(const fm_shard *s, fm_shard_getenv_fn env, void *ctx);

#endif
