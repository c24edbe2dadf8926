/*
 * cmd_bench_emu.c - `flakemeter bench emu`: how much slower each workload runs under QEMU user
 * mode than natively, per architecture, with a 95 % interval, and what that means for CI
 * timeouts.
 *
 * Thin: parses the options and the workload list, locates each arch's emulator and cross build
 * (an arch that cannot run is one line on stderr saying what to install, and is skipped), makes
 * the two store campaigns of every (workload, arch, AES implementation), and hands the pair to
 * libfmbench (bench/fm_bench_emu.h), which measures and analyses; then prints a table, JSON or
 * a plot (cli/fm_plot.h).  Methods: docs/emulation.md and docs/statistics.md sec. 11.
 * Exit status: 0 measured, 1 nothing could be measured or a run or the store failed, 2 bad
 * input, 130/143 interrupted (what was measured is still reported).
 */
#include "fm_bench_emu.h"
#include "fm_cli.h"
#include "fm_cond.h"
#include "fm_plot.h"
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
    "run exceeds them. Every run goes into the store (two campaigns per workload and arch).\n"
    "\n"
    "      --arch LIST        aarch64,armhf,armel,riscv64,mipsel,mips (default: all)\n"
    "      --workload LIST    NAME[:key=value...],... (default: the seven ports); stress_aes\n"
    "                         without impl= is measured with both AES implementations\n"
    "  -n, --reps N           counted native/emulated pairs (default 10)\n"
    "      --warmup N         pairs run first and not counted (default 1)\n"
    "      --timeout S[,S..]  CI timeouts to judge (repeatable; e.g. 30,90,120,180,200)\n"
    "  -t, --target T         keep P(emulated run exceeds the timeout) below T (default 0.001)\n"
    "      --attempts A       the retry policy to cost: A attempts per CI job (default 3)\n"
    "  -c, --confidence C     of every interval (default 0.95)\n"
    "      --limit S          kill a run after S seconds (default: the largest --timeout, else\n"
    "                         600)\n"
    "      --seed S           FLAKEMETER_SEED of every run (default 0: upstream inputs)\n"
    "      --cross-dir DIR    where build-cross-ARCH/ folders are (default $FM_CROSS_DIR, else\n"
    "                         the source tree flakemeter was built from; made by\n"
    "                         tools/cross/build.sh ARCH)\n"
    "      --native PATH      the native fm-stress (default: the one built with flakemeter)\n"
    "      --db PATH          the store (default flakemeter.db)\n"
    "      --json             one JSON object for programs\n"
    "      --plot FILE        slowdown per workload and arch with intervals (.png or .svg)\n"
    "  -q, --quiet            no progress on stderr\n"
    "  -h, --help             show this help\n";

#define MAX_TIMEOUTS 16
#define MAX_SPECS    32
#define MAX_ARGS     24

static const char *const default_workloads =
    "stress_aes,stress_recurse,stress_schedule,stress_heap,stress_create,mutate,gc_race";

typedef struct {
    const struct fm_wl_desc *wl;
    char buf[512];
    const char *assign[MAX_ARGS];
    size_t n_assign;
    bool has_impl;
} wl_spec;

struct emu_args {
    const char *arch_list, *workload_list, *cross_dir, *native, *db, *plot;
    uint64_t reps, warmup, attempts, seed;
    double limit, target, confidence;
    double timeouts[MAX_TIMEOUTS];
    size_t n_timeouts;
    bool json, quiet, limit_given;
    const fm_bench_arch *arches[8];
    size_t n_arches;
    wl_spec specs[MAX_SPECS];
    size_t n_specs;
    char native_buf[4096];
};

/* One measured (workload, arch, implementation). */
typedef struct {
    const wl_spec *spec;
    const fm_bench_arch *arch;
    const char *impl; /* stress_aes: "portable"/"openssl"; else NULL */
    char params[640], label_native[768], label_emulated[768];
    fm_bench_pair pair;
    fm_bench_analysis analysis;
} emu_result;

typedef struct {
    emu_result *results;
    size_t n_results, cap;
    char skipped[8][512];
    size_t n_skipped;
    char notes[16][256];
    size_t n_notes;
} emu_report;

static volatile int stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

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
static int parse_spec(const char *text, wl_spec *s)
{
    snprintf(s->buf, sizeof s->buf, "%s", text);
    char *save, *name = strtok_r(s->buf, ":", &save);
    s->wl = name ? fm_wl_find(name) : NULL;
    if (s->wl == NULL)
        return fm_cli_usage_error("--workload: unknown workload '%s' (see 'flakemeter list')",
                                  name ? name : text);
    struct fm_wl_args args;
    fm_wl_args_init(&args, s->wl);
    for (char *tok = strtok_r(NULL, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        const struct fm_wl_param *bad = NULL;
        int st = fm_wl_args_set(&args, tok, &bad);
        if (st != FM_WL_OK) {
            char why[256];
            return fm_cli_usage_error("--workload: %s",
                                      fm_wl_args_explain(s->wl, tok, st, bad, why, sizeof why));
        }
        if (s->n_assign == MAX_ARGS - 2)
            return fm_cli_usage_error("--workload: too many parameters for %s", name);
        s->assign[s->n_assign++] = tok;
        s->has_impl |= strncmp(tok, "impl=", 5) == 0;
    }
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
        FM_OPT_STRING(0, "arch", &a->arch_list),
        FM_OPT_STRING(0, "workload", &a->workload_list),
        FM_OPT_COUNT('n', "reps", &a->reps, 1, 1e6),
        FM_OPT_COUNT(0, "warmup", &a->warmup, 0, 1000),
        FM_OPT_CALL(0, "timeout", a, parse_timeouts),
        FM_OPT_REAL('t', "target", &a->target, 0, 1, FM_OPT_OPEN),
        FM_OPT_COUNT(0, "attempts", &a->attempts, 1, 1000),
        FM_OPT_REAL('c', "confidence", &a->confidence, 0, 1, FM_OPT_OPEN),
        FM_OPT_REAL(0, "limit", &a->limit, 0, 1e7, FM_OPT_LO_OPEN, .seen = &a->limit_given),
        FM_OPT_COUNT(0, "seed", &a->seed, 0, (double)(UINT64_MAX >> 11)),
        FM_OPT_STRING(0, "cross-dir", &a->cross_dir),
        FM_OPT_STRING(0, "native", &a->native),
        FM_OPT_STRING(0, "db", &a->db),
        FM_OPT_BOOL(0, "json", &a->json),
        FM_OPT_STRING(0, "plot", &a->plot),
        FM_OPT_BOOL('q', "quiet", &a->quiet),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_NO_OPERANDS);
    if (rc >= 0)
        return rc;
    if ((rc = parse_arches(a)) || (rc = parse_specs(a)))
        return rc;
    if (a->plot != NULL) {
        const char *dot = strrchr(a->plot, '.');
        if (dot == NULL || (strcmp(dot, ".png") != 0 && strcmp(dot, ".svg") != 0))
            return fm_cli_usage_error("--plot: '%s' should end in .png or .svg", a->plot);
    }
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

/* ---- campaigns ------------------------------------------------------------------------------- */

static void describe(emu_result *r, const char *const *args, size_t n)
{
    int len = snprintf(r->params, sizeof r->params, "%s", "");
    for (size_t i = 0; i < n && len >= 0 && (size_t)len < sizeof r->params; i++)
        len += snprintf(r->params + len, sizeof r->params - (size_t)len, "%s%s", i ? " " : "",
                        args[i]);
    snprintf(r->label_native, sizeof r->label_native, "emu %s native: %s%s%s", r->arch->name,
             r->spec->wl->name, n ? " " : "", r->params);
    snprintf(r->label_emulated, sizeof r->label_emulated, "emu %s %s: %s%s%s", r->arch->name,
             r->arch->qemu, r->spec->wl->name, n ? " " : "", r->params);
}

static int campaign(fm_store *store, const char *db, emu_result *r, bool emulated, int64_t *id)
{
    char why[256];
    fm_cond cond = {0};
    if (emulated && fm_cond_set(&cond, "emulator", r->arch->name, why, sizeof why) != 0)
        return fm_cli_fail("%s", why);
    char *conditions = fm_cond_json_extra(&cond, "impl", r->impl);
    if (conditions == NULL)
        return fm_cli_fail("out of memory");
    fm_campaign_info info = {.label = emulated ? r->label_emulated : r->label_native,
                             .kind = "workload",
                             .command = r->spec->wl->name,
                             .params = r->params,
                             .arch = emulated ? r->arch->name : NULL, /* NULL: the host's */
                             .conditions = conditions};
    bool existed;
    fm_store_status st = fm_store_campaign(store, &info, id, &existed);
    free(conditions);
    if (st == FM_STORE_ECONFLICT)
        return fm_cli_usage_error("--db: campaign '%s' in %s was made with other parameters",
                                  info.label, db);
    if (st != FM_STORE_OK)
        return fm_cli_fail("cannot create the campaign: %s", fm_store_errmsg(store));
    return 0;
}

/* ---- measuring ------------------------------------------------------------------------------- */

static void progress(size_t done, size_t reps, void *ctx)
{
    const emu_result *r = ctx;
    fprintf(stderr, "\r%s%s%s on %s: %zu/%zu pairs", r->spec->wl->name, r->impl ? " " : "",
            r->impl ? r->impl : "", r->arch->name, done, reps);
    if (done == reps)
        fputc('\n', stderr);
}

static int measure_one(struct emu_args *a, fm_store *store, const fm_bench_target *t, emu_result *r)
{
    const char *args[MAX_ARGS];
    size_t n = 0;
    char impl_arg[32];
    for (size_t i = 0; i < r->spec->n_assign; i++)
        args[n++] = r->spec->assign[i];
    if (r->impl != NULL) {
        snprintf(impl_arg, sizeof impl_arg, "impl=%s", r->impl);
        args[n++] = impl_arg;
    }
    args[n] = NULL;
    describe(r, args, n);
    fm_bench_pair_config cfg = {.native_fm_stress = a->native,
                                .target = t,
                                .workload = r->spec->wl->name,
                                .args = args,
                                .seed = a->seed,
                                .reps = a->reps,
                                .warmup = a->warmup,
                                .limit_s = a->limit,
                                .stop = &stop_signal,
                                .store = store,
                                .progress = a->quiet || !isatty(2) ? NULL : progress,
                                .progress_ctx = r};
    int rc = campaign(store, a->db, r, false, &cfg.native_campaign);
    if (rc == 0)
        rc = campaign(store, a->db, r, true, &cfg.emulated_campaign);
    if (rc != 0)
        return rc;
    char err[512];
    fm_run_status st = fm_bench_measure(&cfg, &r->pair, err, sizeof err);
    if (st != FM_RUN_OK)
        return fm_cli_fail("%s on %s: %s", r->spec->wl->name, r->arch->name, err);
    fm_bench_analysis_options opt = {.timeouts_s = a->timeouts,
                                     .n_timeouts = a->n_timeouts,
                                     .target = a->target,
                                     .confidence = a->confidence,
                                     .attempts = a->attempts};
    if (fm_bench_analyze(&r->pair, &opt, &r->analysis) != FM_RUN_OK)
        return fm_cli_fail("%s on %s: the analysis failed", r->spec->wl->name, r->arch->name);
    return 0;
}

static emu_result *add_result(emu_report *rep, const wl_spec *s, const fm_bench_arch *arch,
                              const char *impl)
{
    if (rep->n_results == rep->cap) {
        size_t cap = rep->cap ? rep->cap * 2 : 16;
        emu_result *grown = realloc(rep->results, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        rep->results = grown;
        rep->cap = cap;
    }
    emu_result *r = &rep->results[rep->n_results++];
    *r = (emu_result){.spec = s, .arch = arch, .impl = impl};
    return r;
}

/* Why stress_aes impl=openssl was not measured on this target. */
static void note_no_openssl(emu_report *rep, bool native_has, const char *arch)
{
    if (rep->n_notes == sizeof rep->notes / sizeof rep->notes[0])
        return;
    char *buf = rep->notes[rep->n_notes++];
    if (native_has)
        snprintf(buf, sizeof rep->notes[0],
                 "stress_aes impl=openssl skipped on %s: its cross build has no libcrypto "
                 "(tools/cross/build.sh --openssl %s)",
                 arch, arch);
    else
        snprintf(buf, sizeof rep->notes[0],
                 "stress_aes impl=openssl skipped on %s: the native fm-stress has no libcrypto",
                 arch);
}

/* Every (implementation) of one spec on one located target. */
static int measure_spec(struct emu_args *a, fm_store *store, const fm_bench_target *t,
                        const bool openssl[2], const wl_spec *s, emu_report *rep)
{
    bool aes = strcmp(s->wl->name, "stress_aes") == 0 && !s->has_impl;
    const char *impls[2] = {aes ? "portable" : NULL, "openssl"};
    size_t n_impls = aes ? 2 : 1;
    for (size_t k = 0; k < n_impls && !stop_signal; k++) {
        if (k == 1 && !(openssl[0] && openssl[1])) {
            note_no_openssl(rep, openssl[0], t->arch->name);
            continue;
        }
        emu_result *r = add_result(rep, s, t->arch, impls[k]);
        if (r == NULL)
            return fm_cli_fail("out of memory");
        int rc = measure_one(a, store, t, r);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int measure_all(struct emu_args *a, fm_store *store, emu_report *rep)
{
    fm_bench_target targets[8];
    bool ok[8] = {0}, openssl[8][2] = {{0}};
    bool native_openssl = fm_bench_have_openssl(NULL, a->native);
    for (size_t i = 0; i < a->n_arches; i++) {
        fm_run_status st = fm_bench_locate(a->arches[i], a->cross_dir, &targets[i],
                                             rep->skipped[rep->n_skipped], sizeof rep->skipped[0]);
        if (st != FM_RUN_OK) {
            fprintf(stderr, "flakemeter bench emu: %s\n", rep->skipped[rep->n_skipped++]);
            continue;
        }
        ok[i] = true;
        openssl[i][0] = native_openssl;
        openssl[i][1] = fm_bench_have_openssl(targets[i].qemu_path, targets[i].fm_stress);
    }
    for (size_t w = 0; w < a->n_specs; w++)
        for (size_t i = 0; i < a->n_arches && !stop_signal; i++) {
            int rc = ok[i] ? measure_spec(a, store, &targets[i], openssl[i], &a->specs[w], rep) : 0;
            if (rc != 0)
                return rc;
        }
    return 0;
}

/* ---- text ------------------------------------------------------------------------------------ */

static const char *fmt_secs(double s, char *buf, size_t size)
{
    if (!isfinite(s))
        snprintf(buf, size, "-");
    else if (s < 1e-3)
        snprintf(buf, size, "%.0f us", s * 1e6);
    else if (s < 1.0)
        snprintf(buf, size, "%.1f ms", s * 1e3);
    else
        snprintf(buf, size, "%.2f s", s);
    return buf;
}

static const char *fmt_outcomes(const int64_t *counts, char *buf, size_t size)
{
    int len = 0;
    buf[0] = '\0';
    for (int o = 0; o < FM_OUTCOME_COUNT; o++)
        if (counts[o] && len >= 0 && (size_t)len < size)
            len += snprintf(buf + len, size - (size_t)len, "%s%lld %s", len ? ", " : "",
                            (long long)counts[o], fm_outcome_name((fm_outcome)o));
    return buf;
}

static void print_row(const emu_result *r)
{
    const fm_bench_analysis *an = &r->analysis;
    char wl[64], nat[32], emu[32], ratio[64], cpu[32], outc[128];
    snprintf(wl, sizeof wl, "%s%s%s", r->spec->wl->name, r->spec->n_assign ? "*" : "",
             r->impl ? (strcmp(r->impl, "openssl") == 0 ? " openssl" : " portable") : "");
    if (an->have_ratio)
        snprintf(ratio, sizeof ratio, "%.1fx (%.1f-%.1f)", an->ratio.ratio, an->ratio.lower,
                 an->ratio.upper);
    else
        snprintf(ratio, sizeof ratio, "-");
    snprintf(cpu, sizeof cpu, "%.1fx", an->emulated_cpu_median_s / an->native_cpu_median_s);
    printf("%-22s %-8s %9s %10s  %-22s %7s %4zu  %s\n", wl, r->arch->name,
           fmt_secs(an->native_median_s, nat, sizeof nat),
           fmt_secs(an->emulated_median_s, emu, sizeof emu), ratio,
           isfinite(an->emulated_cpu_median_s / an->native_cpu_median_s) ? cpu : "-", r->pair.reps,
           fmt_outcomes(an->emulated_outcomes, outc, sizeof outc));
    if (r->pair.first_failure[0])
        printf("%-22s first failing emulated run: %s\n", "", r->pair.first_failure);
}

static void print_timeouts(const emu_result *r, const struct emu_args *a)
{
    const fm_bench_analysis *an = &r->analysis;
    char pt[32], ct[32], tgt[32];
    printf("  %s%s%s on %s:", r->spec->wl->name, r->impl ? " " : "", r->impl ? r->impl : "",
           r->arch->name);
    fm_cli_fmt_prob(a->target, tgt, sizeof tgt);
    if (an->have_timeout_for_target)
        printf(" a timeout of %s keeps P(exceed) at %s (%s with %g%% confidence)\n",
               fmt_secs(an->timeout_for_target.point, pt, sizeof pt), tgt,
               fmt_secs(an->timeout_for_target.conservative, ct, sizeof ct), a->confidence * 100);
    else
        printf(" %s\n", an->limit_reached ? "runs reached the --limit: no timeout for the target"
                                          : "too few passing runs to fit");
    for (size_t i = 0; i < an->n_timeouts; i++) {
        const fm_bench_timeout *t = &an->timeouts[i];
        char p[3][32], cost[32];
        double v[3] = {t->p.estimate, t->p.lower, t->p.upper};
        fm_cli_fmt_probs(v, p, 3);
        for (int k = 0; k < 3; k++)
            if (v[k] == 0.0 && t->method == FM_BENCH_P_LOGNORMAL)
                snprintf(p[k], sizeof p[k], "<1e-300");
        printf("    timeout %g s: P(exceed) %s (CI %s to %s, %s, %lld of %lld exceeded); %llu "
               "attempts: %.3f per job, %s\n",
               t->timeout_s, p[0], p[1], p[2], fm_bench_p_method_name(t->method),
               (long long)t->exceeded, (long long)t->runs, (unsigned long long)t->attempts,
               t->cost.expected_attempts, fmt_secs(t->cost.expected_seconds, cost, sizeof cost));
    }
}

static void print_text(const emu_report *rep, const struct emu_args *a)
{
    struct utsname u;
    uname(&u);
    printf("Emulated (QEMU user mode) vs native (%s) wall time, medians of passing runs;\n"
           "slowdown = geometric mean of paired ratios with its %g%% interval (log-scale t)\n\n",
           u.machine, a->confidence * 100);
    printf("%-22s %-8s %9s %10s  %-22s %7s %4s  %s\n", "workload", "arch", "native", "emulated",
           "slowdown (CI)", "cpu", "reps", "emulated outcomes");
    for (size_t i = 0; i < rep->n_results; i++)
        print_row(&rep->results[i]);
    bool star = false;
    for (size_t i = 0; i < a->n_specs; i++)
        star |= a->specs[i].n_assign > 0;
    if (star)
        printf("* with parameters (JSON: params)\n");
    printf("\nTimeouts (emulated runs; retries cost with %llu attempts per job):\n",
           (unsigned long long)a->attempts);
    for (size_t i = 0; i < rep->n_results; i++)
        print_timeouts(&rep->results[i], a);
    for (size_t i = 0; i < rep->n_results; i++)
        if (rep->results[i].analysis.machine[0] == '\0')
            printf("note: the emulated fm-stress for %s printed no machine= (an old build? "
                   "tools/cross/build.sh %s)\n",
                   rep->results[i].arch->name, rep->results[i].arch->name);
    for (size_t i = 0; i < rep->n_notes; i++)
        printf("note: %s\n", rep->notes[i]);
    for (size_t i = 0; i < rep->n_skipped; i++)
        printf("skipped: %s\n", rep->skipped[i]);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_t *outcomes_json(const int64_t *counts)
{
    json_t *o = json_object();
    for (int k = 0; k < FM_OUTCOME_COUNT; k++)
        json_object_set_new(o, fm_outcome_name((fm_outcome)k), json_integer(counts[k]));
    return o;
}

static json_t *timeout_json(const fm_bench_timeout *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "timeout_s", fm_cli_json_real(t->timeout_s));
    json_object_set_new(o, "runs", json_integer(t->runs));
    json_object_set_new(o, "exceeded", json_integer(t->exceeded));
    json_object_set_new(o, "method", json_string(fm_bench_p_method_name(t->method)));
    json_object_set_new(o, "p", fm_cli_json_real(t->p.estimate));
    json_object_set_new(o, "p_lower", fm_cli_json_real(t->p.lower));
    json_object_set_new(o, "p_upper", fm_cli_json_real(t->p.upper));
    json_object_set_new(o, "pass_mean_s", fm_cli_json_real(t->pass_mean_s));
    json_object_set_new(o, "attempts", json_integer((json_int_t)t->attempts));
    json_object_set_new(o, "expected_attempts", fm_cli_json_real(t->cost.expected_attempts));
    json_object_set_new(o, "expected_seconds", fm_cli_json_real(t->cost.expected_seconds));
    json_object_set_new(o, "all_fail", fm_cli_json_real(t->cost.residual));
    json_object_set_new(o, "attempts_for_target",
                        t->needed.reachable ? json_integer((json_int_t)t->needed.attempts)
                                            : json_null());
    json_object_set_new(o, "attempts_for_target_conservative",
                        t->needed_conservative.reachable
                            ? json_integer((json_int_t)t->needed_conservative.attempts)
                            : json_null());
    return o;
}

static json_t *target_json(const fm_bench_analysis *an, double target)
{
    json_t *o = json_object();
    bool ok = an->have_timeout_for_target;
    json_object_set_new(o, "target", fm_cli_json_real(target));
    json_object_set_new(o, "point_s",
                        ok ? fm_cli_json_real(an->timeout_for_target.point) : json_null());
    json_object_set_new(o, "conservative_s",
                        ok ? fm_cli_json_real(an->timeout_for_target.conservative) : json_null());
    return o;
}

static json_t *result_json(const emu_result *r, const struct emu_args *a)
{
    const fm_bench_analysis *an = &r->analysis;
    json_t *o = json_object();
    json_object_set_new(o, "workload", json_string(r->spec->wl->name));
    json_object_set_new(o, "params", json_string(r->params));
    json_object_set_new(o, "implementation", r->impl ? json_string(r->impl) : json_null());
    json_object_set_new(o, "arch", json_string(r->arch->name));
    json_object_set_new(o, "emulator", json_string(r->arch->qemu));
    json_object_set_new(o, "machine", json_string(an->machine));
    json_object_set_new(o, "reps", json_integer((json_int_t)r->pair.reps));
    json_object_set_new(o, "pairs", json_integer((json_int_t)an->pairs));
    json_object_set_new(o, "native_median_s", fm_cli_json_real(an->native_median_s));
    json_object_set_new(o, "emulated_median_s", fm_cli_json_real(an->emulated_median_s));
    json_object_set_new(o, "native_cpu_median_s", fm_cli_json_real(an->native_cpu_median_s));
    json_object_set_new(o, "emulated_cpu_median_s", fm_cli_json_real(an->emulated_cpu_median_s));
    json_object_set_new(o, "ratio",
                        an->have_ratio ? fm_cli_json_real(an->ratio.ratio) : json_null());
    json_object_set_new(o, "ratio_lower",
                        an->have_ratio ? fm_cli_json_real(an->ratio.lower) : json_null());
    json_object_set_new(o, "ratio_upper",
                        an->have_ratio ? fm_cli_json_real(an->ratio.upper) : json_null());
    json_object_set_new(o, "median_ratio", fm_cli_json_real(an->median_ratio));
    json_object_set_new(o, "outcomes", outcomes_json(an->emulated_outcomes));
    json_object_set_new(o, "native_outcomes", outcomes_json(an->native_outcomes));
    json_object_set_new(o, "first_failure",
                        r->pair.first_failure[0] ? json_string(r->pair.first_failure)
                                                 : json_null());
    json_t *ts = json_array();
    for (size_t i = 0; i < an->n_timeouts; i++)
        json_array_append_new(ts, timeout_json(&an->timeouts[i]));
    json_object_set_new(o, "timeouts", ts);
    json_object_set_new(o, "timeout_for_target", target_json(an, a->target));
    json_t *c = json_object();
    json_object_set_new(c, "native", json_string(r->label_native));
    json_object_set_new(c, "emulated", json_string(r->label_emulated));
    json_object_set_new(o, "campaigns", c);
    return o;
}

static json_t *report_json(const emu_report *rep, const struct emu_args *a)
{
    struct utsname u;
    uname(&u);
    json_t *o = json_object(), *results = json_array(), *skipped = json_array(),
           *notes = json_array();
    json_object_set_new(o, "host_machine", json_string(u.machine));
    json_object_set_new(o, "confidence", fm_cli_json_real(a->confidence));
    json_object_set_new(o, "target", fm_cli_json_real(a->target));
    json_object_set_new(o, "reps", json_integer((json_int_t)a->reps));
    json_object_set_new(o, "warmup", json_integer((json_int_t)a->warmup));
    json_object_set_new(o, "limit_s", fm_cli_json_real(a->limit));
    json_object_set_new(o, "db", json_string(a->db));
    for (size_t i = 0; i < rep->n_results; i++)
        json_array_append_new(results, result_json(&rep->results[i], a));
    for (size_t i = 0; i < rep->n_skipped; i++)
        json_array_append_new(skipped, json_string(rep->skipped[i]));
    for (size_t i = 0; i < rep->n_notes; i++)
        json_array_append_new(notes, json_string(rep->notes[i]));
    json_object_set_new(o, "results", results);
    json_object_set_new(o, "skipped", skipped);
    json_object_set_new(o, "notes", notes);
    return o;
}

/* ---- plot ------------------------------------------------------------------------------------ */

static int plot(const emu_report *rep, const struct emu_args *a)
{
    fm_plot_point *pts = calloc(rep->n_results ? rep->n_results : 1, sizeof *pts);
    char(*cats)[sizeof rep->results[0].params + 64] =
        calloc(rep->n_results ? rep->n_results : 1, sizeof *cats);
    size_t n = 0;
    int rc = 0;
    if (pts == NULL || cats == NULL) {
        rc = fm_cli_fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < rep->n_results; i++) {
        const emu_result *r = &rep->results[i];
        if (!r->analysis.have_ratio)
            continue;
        /* The parameters as given (impl= included), so that two specs of one workload differ. */
        snprintf(cats[n], sizeof cats[n], "%s%s%s", r->spec->wl->name, r->params[0] ? " " : "",
                 r->params);
        pts[n] = (fm_plot_point){.category = cats[n],
                                 .series = r->arch->name,
                                 .estimate = r->analysis.ratio.ratio,
                                 .lower = r->analysis.ratio.lower,
                                 .upper = r->analysis.ratio.upper};
        n++;
    }
    char title[160], err[256];
    snprintf(title, sizeof title,
             "Slowdown under QEMU user mode (emulated / native wall time, %g%% CI)",
             a->confidence * 100);
    fm_plot_style style = {.title = title,
                           .ylabel = "slowdown (emulated / native)",
                           .log_y = true,
                           .y_reference = 1.0};
    if (n == 0)
        rc = fm_cli_fail("--plot: no slowdown to plot (fewer than 2 passing pairs everywhere)");
    else if (fm_plot_intervals(a->plot, &style, pts, n, err, sizeof err) != 0)
        rc = fm_cli_fail("--plot: %s", err);
out:
    free(pts);
    free(cats);
    return rc;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void free_report(emu_report *rep)
{
    for (size_t i = 0; i < rep->n_results; i++) {
        fm_bench_pair_free(&rep->results[i].pair);
        fm_bench_analysis_free(&rep->results[i].analysis);
    }
    free(rep->results);
}

static int report(const emu_report *rep, const struct emu_args *a, int measured_rc)
{
    if (rep->n_results == 0) {
        if (measured_rc == 0)
            return fm_cli_fail("nothing measured: no arch could run (see the lines above)");
        return measured_rc;
    }
    int rc = a->json ? fm_cli_print_json(report_json(rep, a)) : (print_text(rep, a), 0);
    if (rc == 0 && a->plot != NULL)
        rc = plot(rep, a);
    if (measured_rc != 0)
        return measured_rc;
    return stop_signal == SIGINT ? 130 : stop_signal == SIGTERM ? 143 : rc;
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
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    emu_report rep = {0};
    rc = measure_all(&a, store, &rep);
    if (fm_store_close(store) != FM_STORE_OK && rc == 0)
        rc = fm_cli_fail("cannot close the store %s", a.db);
    rc = report(&rep, &a, rc);
    free_report(&rep);
    return rc;
}
