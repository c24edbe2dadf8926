/*
 * fm_shard.c - `--shard` as written or from the job engine's environment (fm_shard.h).
 *
 * Invariants: a result always has index < count and count >= 1; every refusal is one line in
 * why naming the variable or text at fault; the environment is only read, never changed.
 */
#include "fm_shard.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shard counts beyond this are typos, not fleets. */
#define SHARD_MAX 100000000u

static const char *sys_getenv(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static fm_shard_status refuse(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static fm_shard_status refuse(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (size > 0)
        vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return FM_SHARD_EINVAL;
}

/* Digits only (no sign, space or base prefix), at most SHARD_MAX; len bytes of s. */
static bool number(const char *s, size_t len, unsigned *out)
{
    if (len == 0 || len > 9)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > SHARD_MAX)
        return false;
    *out = v;
    return true;
}

static bool env_number(fm_shard_getenv_fn env, void *ctx, const char *name, unsigned *out,
                       bool *set)
{
    const char *v = env(name, ctx);
    *set = v != NULL;
    return v == NULL || number(v, strlen(v), out);
}

typedef struct {
    const char *engine;
    unsigned index, count;
    bool have_count;
} reading;

#define ENV_NUM(name, var, set)                                                                    \
    do {                                                                                           \
        if (!env_number(env, ctx, name, var, set))                                                 \
            return refuse(why, size, "--shard auto: %s='%s' is not a number", name,                \
                          env(name, ctx));                                                         \
    } while (0)

static fm_shard_status read_slurm(fm_shard_getenv_fn env, void *ctx, reading *r, bool *found,
                                  char *why, size_t size)
{
    unsigned id, lo = 0, hi = 0, step = 1, count = 0;
    bool set, have_lo, have_hi, have_step, have_count;
    ENV_NUM("SLURM_ARRAY_TASK_ID", &id, &set);
    if (!(*found = set))
        return FM_SHARD_OK;
    ENV_NUM("SLURM_ARRAY_TASK_MIN", &lo, &have_lo);
    ENV_NUM("SLURM_ARRAY_TASK_MAX", &hi, &have_hi);
    ENV_NUM("SLURM_ARRAY_TASK_STEP", &step, &have_step);
    ENV_NUM("SLURM_ARRAY_TASK_COUNT", &count, &have_count);
    if (!have_lo || !have_hi)
        return refuse(why, size,
                      "--shard auto: SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_MIN and "
                      "_MAX");
    if (step == 0 || lo > hi || id < lo || id > hi || (id - lo) % step != 0)
        return refuse(
            why, size,
            "--shard auto: Slurm task %u is not in the array %u-%u:%u (SLURM_ARRAY_TASK_*)", id, lo,
            hi, step);
    unsigned span = (hi - lo) / step + 1;
    if (!have_count)
        count = span;
    if (count != span)
        return refuse(why, size,
                      "--shard auto: the Slurm array %u-%u:%u has %u tasks but "
                      "SLURM_ARRAY_TASK_COUNT=%u: an array with holes (--array=1,5,9) gives no "
                      "shard positions; use --array=0-%u and --shard auto",
                      lo, hi, step, span, count, count - 1);
    *r = (reading){"Slurm", (id - lo) / step, count, true};
    return FM_SHARD_OK;
}

static fm_shard_status read_k8s(fm_shard_getenv_fn env, void *ctx, reading *r, bool *found,
                                char *why, size_t size)
{
    unsigned id, count = 0;
    bool set, have_count;
    ENV_NUM("JOB_COMPLETION_INDEX", &id, &set);
    if (!(*found = set))
        return FM_SHARD_OK;
    ENV_NUM("FLAKEMETER_SHARD_COUNT", &count, &have_count);
    *r = (reading){"Kubernetes", id, count, have_count};
    return FM_SHARD_OK;
}

static fm_shard_status read_gitlab(fm_shard_getenv_fn env, void *ctx, reading *r, bool *found,
                                   char *why, size_t size)
{
    unsigned id, count = 0;
    bool set, have_count;
    ENV_NUM("CI_NODE_INDEX", &id, &set);
    if (!(*found = set))
        return FM_SHARD_OK;
    ENV_NUM("CI_NODE_TOTAL", &count, &have_count);
    if (!have_count)
        return refuse(why, size, "--shard auto: CI_NODE_INDEX is set without CI_NODE_TOTAL");
    if (id < 1 || id > count)
        return refuse(why, size,
                      "--shard auto: CI_NODE_INDEX=%u is not in 1..CI_NODE_TOTAL=%u (GitLab "
                      "counts from 1)",
                      id, count);
    *r = (reading){"GitLab", id - 1, count, true};
    return FM_SHARD_OK;
}

static fm_shard_status read_bazel(fm_shard_getenv_fn env, void *ctx, reading *r, bool *found,
                                  char *why, size_t size)
{
    unsigned id, count = 0;
    bool set, have_count;
    ENV_NUM("TEST_SHARD_INDEX", &id, &set);
    if (!(*found = set))
        return FM_SHARD_OK;
    ENV_NUM("TEST_TOTAL_SHARDS", &count, &have_count);
    if (!have_count)
        return refuse(why, size, "--shard auto: TEST_SHARD_INDEX is set without TEST_TOTAL_SHARDS");
    *r = (reading){"Bazel", id, count, true};
    return FM_SHARD_OK;
}

#undef ENV_NUM

static fm_shard_status from_env(fm_shard_getenv_fn env, void *ctx, bool have_n, unsigned n,
                                fm_shard *out, char *why, size_t size)
{
    fm_shard_status (*const readers[])(fm_shard_getenv_fn, void *, reading *, bool *, char *,
                                       size_t) = {read_slurm, read_k8s, read_gitlab, read_bazel};
    reading got[4];
    size_t n_got = 0;
    for (size_t i = 0; i < sizeof readers / sizeof *readers; i++) {
        bool found = false;
        fm_shard_status st = readers[i](env, ctx, &got[n_got], &found, why, size);
        if (st != FM_SHARD_OK)
            return st;
        n_got += found;
    }
    if (n_got == 0)
        return refuse(why, size,
                      "--shard auto: no job engine's shard variables are set "
                      "(SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, CI_NODE_INDEX, "
                      "TEST_SHARD_INDEX); give --shard I/N (0-based) or IofN (1-based)");
    for (size_t i = 0; i < n_got; i++) {
        reading *r = &got[i];
        if (have_n && r->have_count && r->count != n)
            return refuse(why, size, "--shard auto/%u: %s says there are %u shards", n, r->engine,
                          r->count);
        if (!r->have_count && !have_n)
            return refuse(why, size,
                          "--shard auto: %s gives the index but not the count: --shard auto/N, "
                          "or FLAKEMETER_SHARD_COUNT from the Job's .spec.completions",
                          r->engine);
        if (!r->have_count)
            r->count = n;
        if (r->count < 1 || r->index >= r->count)
            return refuse(why, size, "--shard auto: %s gives shard %u of %u (0-based): impossible",
                          r->engine, r->index, r->count);
        if (i > 0 && (r->index != got[0].index || r->count != got[0].count))
            return refuse(why, size,
                          "--shard auto: %s says shard %u/%u but %s says %u/%u (0-based): which "
                          "one runs this? give --shard I/N",
                          got[0].engine, got[0].index, got[0].count, r->engine, r->index, r->count);
    }
    out->index = got[0].index;
    out->count = got[0].count;
    size_t len = 0;
    out->source[0] = '\0';
    for (size_t i = 0; i < n_got && len < sizeof out->source; i++) {
        int w = snprintf(out->source + len, sizeof out->source - len, "%s%s", i ? "+" : "",
                         got[i].engine);
        if (w < 0)
            break;
        len += (size_t)w < sizeof out->source - len ? (size_t)w : sizeof out->source - len;
    }
    return FM_SHARD_OK;
}

fm_shard_status fm_shard_parse(const char *text, fm_shard_getenv_fn env, void *ctx, fm_shard *out,
                               char *why, size_t size)
{
    if (env == NULL)
        env = sys_getenv;
    if (why != NULL && size > 0)
        why[0] = '\0';
    const char *slash = strchr(text, '/');
    if (strncmp(text, "auto", 4) == 0 && (text[4] == '\0' || text[4] == '/')) {
        unsigned n = 0;
        bool have_n = text[4] == '/';
        if (have_n && (!number(text + 5, strlen(text + 5), &n) || n < 1))
            return refuse(why, size, "--shard '%s': auto/N needs a shard count N >= 1", text);
        return from_env(env, ctx, have_n, n, out, why, size);
    }
    const char *of = strstr(text, "of");
    unsigned i, n;
    if (slash != NULL && number(text, (size_t)(slash - text), &i) &&
        number(slash + 1, strlen(slash + 1), &n)) {
        if (n >= 1 && i < n) {
            *out = (fm_shard){.index = i, .count = n};
            snprintf(out->source, sizeof out->source, "--shard");
            return FM_SHARD_OK;
        }
        if (n >= 1 && i == n)
            return refuse(why, size,
                          "--shard '%s': I/N counts from 0 (0/%u .. %u/%u); for counting from 1 "
                          "write %uof%u",
                          text, n, n - 1, n, i, n);
        return refuse(why, size, "--shard '%s': not I/N with 0 <= I < N", text);
    }
    if (of != NULL && number(text, (size_t)(of - text), &i) && number(of + 2, strlen(of + 2), &n)) {
        if (n >= 1 && i >= 1 && i <= n) {
            *out = (fm_shard){.index = i - 1, .count = n};
            snprintf(out->source, sizeof out->source, "--shard");
            return FM_SHARD_OK;
        }
        return refuse(why, size, "--shard '%s': not IofN with 1 <= I <= N", text);
    }
    return refuse(why, size,
                  "--shard '%s': give I/N (0-based, 0/4 .. 3/4), IofN (1-based, 1of4 .. 4of4) "
                  "or auto",
                  text);
}

const char *fm_shard_bazel_status_file(const fm_shard *s, fm_shard_getenv_fn env, void *ctx)
{
    if (env == NULL)
        env = sys_getenv;
    if (strstr(s->source, "Bazel") == NULL)
        return NULL;
    const char *f = env("TEST_SHARD_STATUS_FILE", ctx);
    return f != NULL && f[0] != '\0' ? f : NULL;
}
