/*
 * fm_bench_emu.c - targets and measurement of `flakemeter bench emu` (fm_bench_emu.h).
 *
 * The arch table is launch/fm_cross.c's (shared with `run --emulator`): for each cross file in
 * tools/cross/, the QEMU user-mode emulator, what uname -m reports under it and the Debian
 * packages of its toolchain, so that a missing piece is one line saying what to install.  Cross
 * builds live in CROSS_DIR/build-cross-ARCH (made by tools/cross/build.sh ARCH).
 *
 * Measuring: each rep is a native run followed by an emulated run, one process at a time
 * (fm_run_once), so both sides of a pair see the same machine state and slow drift (thermal,
 * other jobs) cancels in their ratio; warm-up pairs fill the page cache and QEMU's first-run
 * costs and are not counted.  Both sides get the same argv after the program (workload and
 * key=value assignments) and the same FLAKEMETER_SEED/RUN/ATTEMPT, so they do the same work;
 * parameters left at their defaults take each build's own default (stress_recurse's stack size
 * depends on the word size, as upstream's does).  Invariant: a rep is stored only when both of
 * its runs are done, in the two campaigns under the same run index, so pairs can be found
 * again in the store.
 */
#include "fm_bench_emu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t fm_bench_arch_count(void)
{
    return fm_cross_count();
}

const fm_bench_arch *fm_bench_arch_at(size_t index)
{
    return fm_cross_at(index);
}

const fm_bench_arch *fm_bench_arch_find(const char *name)
{
    return fm_cross_find(name);
}

fm_run_status fm_bench_locate(const fm_bench_arch *arch, const char *cross_dir,
                              fm_bench_target *out, char *why, size_t why_size)
{
    if (arch == NULL || cross_dir == NULL || out == NULL)
        return FM_RUN_EINVAL;
    out->arch = arch;
    char detail[4600];
    if (fm_cross_locate(arch, cross_dir, out->qemu_path, sizeof out->qemu_path, out->fm_stress,
                        sizeof out->fm_stress, detail, sizeof detail) != 0) {
        snprintf(why, why_size, "%s skipped: %s", arch->name, detail);
        return FM_RUN_EUNAVAILABLE;
    }
    return FM_RUN_OK;
}

bool fm_bench_have_openssl(const char *qemu, const char *fm_stress)
{
    char *argv[] = {(char *)qemu, (char *)fm_stress, "stress_aes", "impl=openssl",
                    "threads=0",  "loops=1",         "applies=1",  NULL};
    fm_run_once_config cfg;
    fm_run_once_config_init(&cfg);
    cfg.argv = qemu != NULL ? argv : argv + 1;
    cfg.timeout_s = 60;
    fm_run_record rec;
    char err[256];
    return fm_run_once(&cfg, &rec, NULL, 0, err, sizeof err) == FM_RUN_OK &&
           rec.outcome == FM_OUTCOME_PASS;
}

/* ---- measuring ----------------------------------------------------------------------------- */

/* argv for one side: [qemu] fm-stress workload args... NULL; NULL when out of memory. */
static char **side_argv(const char *qemu, const char *fm_stress, const char *workload,
                        const char *const *args)
{
    size_t n = 0;
    while (args != NULL && args[n] != NULL)
        n++;
    char **argv = calloc(n + 4, sizeof *argv);
    if (argv == NULL)
        return NULL;
    size_t k = 0;
    if (qemu != NULL)
        argv[k++] = (char *)qemu;
    argv[k++] = (char *)fm_stress;
    argv[k++] = (char *)workload;
    for (size_t i = 0; i < n; i++)
        argv[k++] = (char *)args[i];
    return argv;
}

/* The value of machine= in a result line. */
static void parse_machine(const char *output, char *machine, size_t size)
{
    const char *m = strstr(output, " machine=");
    machine[0] = '\0';
    if (m != NULL) {
        m += 9;
        size_t len = strcspn(m, " \n");
        snprintf(machine, size, "%.*s", (int)(len < size ? len : size - 1), m);
    }
}

/* The first run index both campaigns have free. */
static fm_run_status first_index(const fm_bench_pair_config *cfg, int64_t *index)
{
    int64_t a = -1, b = -1;
    *index = 0;
    if (cfg->store == NULL)
        return FM_RUN_OK;
    if ((cfg->native_campaign >= 0 &&
         fm_store_max_run_index(cfg->store, cfg->native_campaign, &a) != FM_STORE_OK) ||
        (cfg->emulated_campaign >= 0 &&
         fm_store_max_run_index(cfg->store, cfg->emulated_campaign, &b) != FM_STORE_OK))
        return FM_RUN_ESTORE;
    *index = (a > b ? a : b) + 1;
    return FM_RUN_OK;
}

static fm_run_status store_rep(const fm_bench_pair_config *cfg, const fm_bench_rep *rep)
{
    if (cfg->store == NULL)
        return FM_RUN_OK;
    if ((cfg->native_campaign >= 0 &&
         fm_store_add_run(cfg->store, cfg->native_campaign, &rep->native) != FM_STORE_OK) ||
        (cfg->emulated_campaign >= 0 &&
         fm_store_add_run(cfg->store, cfg->emulated_campaign, &rep->emulated) != FM_STORE_OK) ||
        fm_store_poll(cfg->store) != FM_STORE_OK)
        return FM_RUN_ESTORE;
    return FM_RUN_OK;
}

/* One run of one side; FM_RUN_ESYSTEM when it could not start or was interrupted. */
static fm_run_status run_side(const fm_bench_pair_config *cfg, char **argv, int64_t index,
                              fm_run_record *rec, char *output, size_t output_size, char *error,
                              size_t error_size)
{
    fm_run_once_config once;
    fm_run_once_config_init(&once);
    once.argv = argv;
    once.seed = cfg->seed;
    once.run = index;
    once.timeout_s = cfg->limit_s;
    once.grace_s = 1.0;
    once.signal_fd = cfg->signal_fd;
    once.stop_signal = cfg->stop_signal;
    fm_run_status st = fm_run_once(&once, rec, output, output_size, error, error_size);
    return st == FM_RUN_OK ? FM_RUN_OK : FM_RUN_ESYSTEM;
}

static bool stopped(const fm_bench_pair_config *cfg)
{
    return cfg->stop_signal != NULL && *cfg->stop_signal != 0;
}

typedef struct {
    char **native, **emulated;
    char output[4096];
} pair_argv;

/* Rep i (warm-ups first): native, then emulated. */
static fm_run_status one_rep(const fm_bench_pair_config *cfg, pair_argv *pa, int64_t index,
                             fm_bench_rep *rep, char *error, size_t error_size)
{
    fm_run_status st = run_side(cfg, pa->native, index, &rep->native, pa->output, sizeof pa->output,
                                error, error_size);
    if (st == FM_RUN_OK)
        st = run_side(cfg, pa->emulated, index, &rep->emulated, pa->output, sizeof pa->output,
                      error, error_size);
    if (st == FM_RUN_OK)
        parse_machine(pa->output, rep->machine, sizeof rep->machine);
    return st;
}

static void note_failure(fm_bench_pair *out, const fm_bench_rep *rep, const char *output)
{
    if (rep->emulated.outcome == FM_OUTCOME_PASS || out->first_failure[0] != '\0')
        return;
    size_t len = strcspn(output, "\n");
    snprintf(out->first_failure, sizeof out->first_failure, "%.*s", (int)len, output);
    if (out->first_failure[0] == '\0')
        snprintf(out->first_failure, sizeof out->first_failure, "(no output)");
}

static fm_run_status measure_loop(const fm_bench_pair_config *cfg, pair_argv *pa,
                                  fm_bench_pair *out, char *error, size_t error_size)
{
    int64_t base;
    fm_run_status st = first_index(cfg, &base);
    if (st != FM_RUN_OK) {
        snprintf(error, error_size, "%s", fm_store_errmsg(cfg->store));
        return st;
    }
    for (size_t i = 0; i < cfg->warmup + cfg->reps && st == FM_RUN_OK; i++) {
        bool counted = i >= cfg->warmup;
        int64_t index = counted ? base + (int64_t)(i - cfg->warmup) : base;
        fm_bench_rep rep = {0};
        st = one_rep(cfg, pa, index, &rep, error, error_size);
        if (st != FM_RUN_OK && stopped(cfg)) {
            out->interrupted = true;
            return FM_RUN_OK;
        }
        if (st != FM_RUN_OK || !counted)
            continue;
        note_failure(out, &rep, pa->output);
        out->rep[out->reps++] = rep;
        if ((st = store_rep(cfg, &rep)) != FM_RUN_OK)
            snprintf(error, error_size, "%s", fm_store_errmsg(cfg->store));
        if (cfg->progress != NULL)
            cfg->progress(out->reps, cfg->reps, cfg->progress_ctx);
    }
    return st;
}

fm_run_status fm_bench_measure(const fm_bench_pair_config *cfg, fm_bench_pair *out, char *error,
                               size_t error_size)
{
    *out = (fm_bench_pair){0};
    if (cfg == NULL || cfg->target == NULL || cfg->native_fm_stress == NULL ||
        cfg->workload == NULL || cfg->reps < 1 || cfg->limit_s < 0) {
        snprintf(error, error_size, "bad benchmark configuration");
        return FM_RUN_EINVAL;
    }
    pair_argv pa = {
        .native = side_argv(NULL, cfg->native_fm_stress, cfg->workload, cfg->args),
        .emulated =
            side_argv(cfg->target->qemu_path, cfg->target->fm_stress, cfg->workload, cfg->args),
    };
    out->rep = calloc(cfg->reps, sizeof *out->rep);
    fm_run_status st = FM_RUN_ENOMEM;
    if (pa.native != NULL && pa.emulated != NULL && out->rep != NULL)
        st = measure_loop(cfg, &pa, out, error, error_size);
    else
        snprintf(error, error_size, "out of memory");
    free(pa.native);
    free(pa.emulated);
    return st;
}

void fm_bench_pair_free(fm_bench_pair *pair)
{
    if (pair != NULL) {
        free(pair->rep);
        pair->rep = NULL;
        pair->reps = 0;
    }
}
