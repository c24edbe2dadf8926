/*
 * cmd_bench_emu.c - `flakemeter bench emu`: how much slower each workload runs under QEMU user
 * mode than natively, per architecture, with a 95 % interval, and what that means for CI
 * timeouts.
 *
 * Thin: parses the options and the workload list and makes one call of libfmrun
 * (launch/fm_bench_emu.h, fm_bench_run), which locates each arch's emulator and cross build (an
 * arch that cannot run is one line on stderr saying what to install, and is skipped), makes the
 * two store campaigns of every (workload, arch, AES implementation), measures and analyses;
 * then prints a table, JSON or a plot (cli/cli_bench_emu.c).  Methods: docs/emulation.md and
 * docs/statistics.md sec. 11. Exit status: 0 measured, 1 nothing could be measured or a run or the
 * store failed, 2 bad input, 130/143 interrupted (what was measured is still reported).
 */
#include "cli_report.h"
#include "fm_bench_emu.h"
#include "fm_cli.h"
#include "fm_wl.h"

#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char help[] =
    "usage: flakemeter bench emu [OPTIONS]\n"
    "\n"
    "Run each workload natively and under QEMU user mode (qemu-ARCH running the static\n"
    "cross-built fm-stress), alternating one run at a time after a warm-up, and report the\n"
    "slowdown with a 95% interval, CPU time, and for CI timeouts the chance that an emulated\n"
    "run exceeds them. Every run goes into the store (two campaigns per workload and arch).\n";

#define MAX_TIMEOUTS 16
#define MAX_SPECS    32

static const char *const default_workloads =
    "stress_aes,stress_recurse,stress_schedule,stress_heap,stress_create,mutate,gc_race";

struct emu_args {
    const char *arch_list, *workload_list, *cross_dir, *native, *db, *plot;
    uint64_t reps, warmup, attempts, seed;
    double limit, target, confidence;
    double timeouts[MAX_TIMEOUTS];
    size_t n_timeouts;
    bool json, quiet, limit_given;
    const fm_bench_arch *arches[8];
    size_t n_arches;
    fm_bench_spec specs[MAX_SPECS];
    size_t n_specs;
    char native_buf[4096];
};

/* ---- options --------------------------------------------------------------------------------- */

static int parse_timeouts(void *value, const char *text, const char *name)
{
    struct emu_args *a = value;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (a->n_timeouts == MAX_TIMEOUTS)
            return fm_cli_usage_error("%s: at most %d timeouts", name, MAX_TIMEOUTS);
        int rc = fm_cli_parse_real(name, tok, 0, true, 1e7, false, &a->timeouts[a->n_timeouts]);
        if (rc != 0)
            return rc;
        a->n_timeouts++;
    }
    return 0;
}

static int parse_arches(struct emu_args *a)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", a->arch_list);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const fm_bench_arch *arch = fm_bench_arch_find(tok);
        if (arch == NULL)
            return fm_cli_usage_error("--arch: unknown arch '%s'; expected aarch64, armhf, armel, "
                                      "riscv64, mipsel or mips",
                                      tok);
        bool dup = false;
        for (size_t i = 0; i < a->n_arches; i++)
            dup |= a->arches[i] == arch;
        if (!dup && a->n_arches < sizeof a->arches / sizeof a->arches[0])
            a->arches[a->n_arches++] = arch;
    }
    return a->n_arches ? 0 : fm_cli_usage_error("--arch: no arch given");
}

/* NAME[:key=value...]: the name must exist and every assignment be valid natively. */
static int parse_spec(const char *text, fm_bench_spec *s)
{
    char err[512];
    if (fm_bench_spec_parse(text, s, err, sizeof err) != FM_RUN_OK)
        return fm_cli_usage_error("--workload: %s", err);
    return 0;
}

static int parse_specs(struct emu_args *a)
{
    char *buf = strdup(a->workload_list);
    int rc = buf ? 0 : fm_cli_fail("out of memory");
    char *save;
    for (char *tok = buf ? strtok_r(buf, ",", &save) : NULL; tok && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        if (a->n_specs == MAX_SPECS)
            rc = fm_cli_usage_error("--workload: at most %d entries", MAX_SPECS);
        else
            rc = parse_spec(tok, &a->specs[a->n_specs++]);
    }
    free(buf);
    return rc ? rc : a->n_specs ? 0 : fm_cli_usage_error("--workload: no workload given");
}

/* The fm-stress built with this flakemeter: ../workloads/fm-stress of the build tree, or next
 * to the installed binary, or fm-stress in PATH. */
static void default_native(struct emu_args *a)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    a->native = "fm-stress";
    if (n <= 0)
        return;
    self[n] = '\0';
    const char *dir = dirname(self);
    snprintf(a->native_buf, sizeof a->native_buf, "%s/../workloads/fm-stress", dir);
    if (access(a->native_buf, X_OK) != 0)
        snprintf(a->native_buf, sizeof a->native_buf, "%s/fm-stress", dir);
    if (access(a->native_buf, X_OK) == 0)
        a->native = a->native_buf;
}

static int parse(int argc, char **argv, struct emu_args *a)
{
    const struct fm_opt options[] = {
        FM_OPT_STRING(0, "arch", &a->arch_list, "LIST",
                      "aarch64,armhf,armel,riscv64,mipsel,mips (default: all)"),
        FM_OPT_STRING(0, "workload", &a->workload_list, "LIST",
                      "NAME[:key=value...],... (default: the seven ports); stress_aes without "
                      "impl= is measured with both AES implementations"),
        FM_OPT_COUNT('n', "runs", &a->reps, 1, 1e6, "N",
                     "counted native/emulated pairs (default 10)"),
        FM_OPT_COUNT(0, "warmup", &a->warmup, 0, 1000, "N",
                     "pairs run first and not counted (default 1)"),
        FM_OPT_CALL(0, "timeout", a, parse_timeouts, "S[,S..]",
                    "CI timeouts to judge (repeatable; e.g. 30,90,120,180,200)"),
        FM_OPT_REAL('t', "target", &a->target, 0, 1, FM_OPT_OPEN, "T",
                    "keep P(emulated run exceeds the timeout) below T (default 0.001)"),
        FM_OPT_COUNT('a', "attempts", &a->attempts, 1, 1000, "A",
                     "the retry policy to cost: A attempts per CI job (default 3)"),
        FM_OPT_REAL('c', "confidence", &a->confidence, 0, 1, FM_OPT_OPEN, "C",
                    "of every interval (default 0.95)"),
        FM_OPT_REAL(0, "limit", &a->limit, 0, 1e7, FM_OPT_LO_OPEN, "S",
                    "kill a run after S seconds (default: the largest --timeout, else 600)",
                    .seen = &a->limit_given),
        FM_OPT_COUNT(0, "seed", &a->seed, 0, (double)(UINT64_MAX >> 11), "S",
                     "FLAKEMETER_SEED of every run (default 0: upstream inputs)"),
        FM_OPT_STRING(0, "cross-dir", &a->cross_dir, "DIR",
                      "where build-cross-ARCH/ folders are (default $FM_CROSS_DIR, else the source "
                      "tree flakemeter was built from; made by tools/cross/build.sh ARCH)"),
        FM_OPT_STRING(0, "native", &a->native, "PATH",
                      "the native fm-stress (default: the one built with flakemeter)"),
        FM_OPT_STRING(0, "db", &a->db, "PATH", "the store (default flakemeter.db)"),
        FM_OPT_BOOL(0, "json", &a->json, "one JSON object for programs"),
        FM_OPT_STRING(0, "plot", &a->plot, "FILE",
                      "slowdown per workload and arch with intervals (.png or .svg)"),
        FM_OPT_BOOL('q', "quiet", &a->quiet, "no progress on stderr"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if ((rc = parse_arches(a)) || (rc = parse_specs(a)))
        return rc;
    if ((rc = fm_cli_check_plot(a->plot)) != 0) /* before anything runs */
        return rc;
    if (a->native == NULL)
        default_native(a);
    else if (access(a->native, X_OK) != 0)
        return fm_cli_usage_error("--native: '%s' is not an executable fm-stress", a->native);
    if (!a->limit_given) {
        a->limit = 600;
        if (a->n_timeouts) {
            a->limit = a->timeouts[0];
            for (size_t i = 1; i < a->n_timeouts; i++)
                a->limit = fmax(a->limit, a->timeouts[i]);
        }
    }
    return -1;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void on_skip(const char *why, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "flakemeter bench emu: %s\n", why);
}

static void progress(const fm_bench_result *r, size_t done, size_t reps, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\r%s%s%s on %s: %zu/%zu pairs", r->spec->wl->name, r->impl ? " " : "",
            r->impl ? r->impl : "", r->arch->name, done, reps);
    if (done == reps)
        fputc('\n', stderr);
}

static int measure_all(struct emu_args *a, fm_store *store, fm_bench_report *rep)
{
    fm_bench_config cfg = {.arches = a->arches,
                           .n_arches = a->n_arches,
                           .specs = a->specs,
                           .n_specs = a->n_specs,
                           .cross_dir = a->cross_dir,
                           .native_fm_stress = a->native,
                           .seed = a->seed,
                           .reps = a->reps,
                           .warmup = a->warmup,
                           .limit_s = a->limit,
                           .analysis = {.timeouts_s = a->timeouts,
                                        .n_timeouts = a->n_timeouts,
                                        .target = a->target,
                                        .confidence = a->confidence,
                                        .attempts = a->attempts},
                           .store = store,
                           .on_skip = on_skip,
                           .progress = a->quiet || !isatty(2) ? NULL : progress};
    char err[1024];
    fm_run_status st = fm_bench_run(&cfg, rep, err, sizeof err);
    if (st == FM_RUN_ECONFLICT)
        return fm_cli_usage_error("--db: campaign '%s' in %s was made with other parameters", err,
                                  a->db);
    return st == FM_RUN_OK ? 0 : fm_cli_fail("%s", err);
}

static int report(const fm_bench_report *rep, const struct emu_args *a, int measured_rc)
{
    if (rep->n_results == 0) {
        if (measured_rc == 0)
            return fm_cli_fail("nothing measured: no arch could run (see the lines above)");
        return measured_rc;
    }
    fm_cli_bench_view view = {.confidence = a->confidence,
                              .target = a->target,
                              .limit = a->limit,
                              .reps = a->reps,
                              .warmup = a->warmup,
                              .attempts = a->attempts,
                              .db = a->db,
                              .plot = a->plot,
                              .specs = a->specs,
                              .n_specs = a->n_specs};
    int rc = a->json ? fm_cli_print_json(fm_cli_bench_json(rep, &view))
                     : (fm_cli_bench_print(rep, &view), 0);
    if (rc == 0 && a->plot != NULL)
        rc = fm_cli_bench_plot(rep, &view);
    if (measured_rc != 0)
        return measured_rc;
    return rep->stop_signal == SIGINT    ? 130
           : rep->stop_signal == SIGTERM ? 143
           : rep->stop_signal == SIGHUP  ? 129
                                         : rc;
}

int cmd_bench_emu(int argc, char **argv)
{
    struct emu_args a = {.arch_list = "aarch64,armhf,armel,riscv64,mipsel,mips",
                         .workload_list = default_workloads,
                         .cross_dir = fm_cross_dir(FM_SOURCE_ROOT),
                         .db = "flakemeter.db",
                         .reps = 10,
                         .warmup = 1,
                         .attempts = 3,
                         .target = 1e-3,
                         .confidence = 0.95};
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    fm_store *store = NULL;
    if ((rc = fm_cli_open_store(a.db, true, &store)) != 0)
        return rc;
    fm_bench_report rep;
    rc = measure_all(&a, store, &rep);
    if (fm_store_close(store) != FM_STORE_OK && rc == 0)
        rc = fm_cli_fail("cannot close the store %s", a.db);
    rc = report(&rep, &a, rc);
    fm_bench_report_free(&rep);
    return rc;
}
