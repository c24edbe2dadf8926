/*
 * fm_bench_emu_run.c - a whole `bench emu` (fm_bench_emu.h, fm_bench_run): the workload specs,
 * the targets located once, the two campaigns of every (workload, arch, implementation), the
 * measurement and analysis of each pair (fm_bench_emu.c, fm_bench_emu_analyze.c), and the
 * slowdowns a plot draws.
 *
 * Invariants: results appear in the order specs x arches x implementations, so the report
 * reads the same on every run; a result is added before it is measured, so an interruption or a
 * failure leaves what was measured so far in the report; every text is built with clamped
 * appends.
 *
 * Signals: one design with the run engine (fm_run.c).  SIGINT, SIGTERM and SIGHUP are blocked
 * for the whole benchmark and read from a signalfd, which fm_run_once polls beside its run: the
 * first kills the running run (its process group and cgroup), which is not counted, and the
 * benchmark stops with what it measured, the signal in rep->stop_signal.  No handler runs, so
 * nothing races the loop, and a signal between two runs waits in the signalfd for the next.
 * Before the mask is restored, the signalfd is read once more, so a late signal is reported
 * rather than delivered with its default action.
 */
#include "fm_bench_emu.h"

#include "fm_run_internal.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

fm_run_status fm_bench_spec_parse(const char *text, fm_bench_spec *s, char *err, size_t size)
{
    memset(s, 0, sizeof *s);
    snprintf(s->buf, sizeof s->buf, "%s", text);
    char *save, *name = strtok_r(s->buf, ":", &save);
    s->wl = name ? fm_wl_find(name) : NULL;
    if (s->wl == NULL)
        return fm_run__fail(FM_RUN_EINVAL, err, size,
                            "unknown workload '%s' (see 'flakemeter list')", name ? name : text);
    struct fm_wl_args args;
    fm_wl_args_init(&args, s->wl);
    for (char *tok = strtok_r(NULL, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        const struct fm_wl_param *bad = NULL;
        int st = fm_wl_args_set(&args, tok, &bad);
        if (st != FM_WL_OK) {
            fm_wl_args_explain(s->wl, tok, st, bad, err, size);
            return FM_RUN_EINVAL;
        }
        if (s->n_assign == FM_BENCH_MAX_ARGS - 2)
            return fm_run__fail(FM_RUN_EINVAL, err, size, "too many parameters for %s", name);
        s->assign[s->n_assign++] = tok;
        s->has_impl |= strncmp(tok, "impl=", 5) == 0;
    }
    return FM_RUN_OK;
}

static void describe(fm_bench_result *r, const char *const *args, size_t n)
{
    size_t used = 0;
    r->params[0] = '\0';
    for (size_t i = 0; i < n; i++)
        fm_run__append(r->params, sizeof r->params, &used, "%s%s", i ? " " : "", args[i]);
    snprintf(r->label_native, sizeof r->label_native, "emu %s native: %s%s%s", r->arch->name,
             r->spec->wl->name, n ? " " : "", r->params);
    snprintf(r->label_emulated, sizeof r->label_emulated, "emu %s %s: %s%s%s", r->arch->name,
             r->arch->qemu, r->spec->wl->name, n ? " " : "", r->params);
}

static fm_run_status campaign(fm_store *store, fm_bench_result *r, bool emulated, int64_t *id,
                              char *err, size_t size)
{
    fm_cond cond = {0};
    if (emulated && fm_cond_set(&cond, "emulator", r->arch->name, err, size) != FM_RUN_OK)
        return FM_RUN_EINVAL;
    char *conditions = fm_cond_json_extra(&cond, "impl", r->impl);
    if (conditions == NULL)
        return fm_run__fail(FM_RUN_ENOMEM, err, size, "out of memory");
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
        return fm_run__fail(FM_RUN_ECONFLICT, err, size, "%s", info.label);
    if (st != FM_STORE_OK)
        return fm_run__fail(FM_RUN_ESTORE, err, size, "cannot create the campaign: %s",
                            fm_store_errmsg(store));
    return FM_RUN_OK;
}

typedef struct {
    const fm_bench_config *cfg;
    fm_bench_result *r;
} progress_ctx;

static void on_rep(size_t done, size_t reps, void *ctx)
{
    progress_ctx *p = ctx;
    p->cfg->progress(p->r, done, reps, p->cfg->ctx);
}

static fm_run_status measure_one(const fm_bench_config *c, const fm_bench_target *t,
                                 fm_bench_result *r, char *err, size_t size)
{
    const char *args[FM_BENCH_MAX_ARGS];
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
    progress_ctx pc = {c, r};
    fm_bench_pair_config cfg = {.native_fm_stress = c->native_fm_stress,
                                .target = t,
                                .workload = r->spec->wl->name,
                                .args = args,
                                .seed = c->seed,
                                .reps = c->reps,
                                .warmup = c->warmup,
                                .limit_s = c->limit_s,
                                .signal_fd = c->signal_fd,
                                .stop_signal = c->stop_signal,
                                .store = c->store,
                                .progress = c->progress ? on_rep : NULL,
                                .progress_ctx = &pc};
    fm_run_status st = campaign(c->store, r, false, &cfg.native_campaign, err, size);
    if (st == FM_RUN_OK)
        st = campaign(c->store, r, true, &cfg.emulated_campaign, err, size);
    if (st != FM_RUN_OK)
        return st;
    char why[512];
    st = fm_bench_measure(&cfg, &r->pair, why, sizeof why);
    if (st != FM_RUN_OK)
        return fm_run__fail(st, err, size, "%s on %s: %s", r->spec->wl->name, r->arch->name, why);
    if (fm_bench_analyze(&r->pair, &c->analysis, &r->analysis) != FM_RUN_OK)
        return fm_run__fail(FM_RUN_ENUMERIC, err, size, "%s on %s: the analysis failed",
                            r->spec->wl->name, r->arch->name);
    return FM_RUN_OK;
}

static fm_bench_result *add_result(fm_bench_report *rep, const fm_bench_spec *s,
                                   const fm_bench_arch *arch, const char *impl)
{
    if (rep->n_results == rep->cap) {
        size_t cap = rep->cap ? rep->cap * 2 : 16;
        fm_bench_result *grown = realloc(rep->results, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        rep->results = grown;
        rep->cap = cap;
    }
    fm_bench_result *r = &rep->results[rep->n_results++];
    *r = (fm_bench_result){.spec = s, .arch = arch, .impl = impl};
    return r;
}

/* Why stress_aes impl=openssl was not measured on this target. */
static void note_no_openssl(fm_bench_report *rep, bool native_has, const char *arch)
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

static bool stopped(const fm_bench_config *c)
{
    return c->stop_signal != NULL && *c->stop_signal != 0;
}

/* Every implementation of one spec on one located target. */
static fm_run_status measure_spec(const fm_bench_config *c, const fm_bench_target *t,
                                  const bool openssl[2], const fm_bench_spec *s,
                                  fm_bench_report *rep, char *err, size_t size)
{
    bool aes = strcmp(s->wl->name, "stress_aes") == 0 && !s->has_impl;
    const char *impls[2] = {aes ? "portable" : NULL, "openssl"};
    size_t n_impls = aes ? 2 : 1;
    for (size_t k = 0; k < n_impls && !stopped(c); k++) {
        if (k == 1 && !(openssl[0] && openssl[1])) {
            note_no_openssl(rep, openssl[0], t->arch->name);
            continue;
        }
        fm_bench_result *r = add_result(rep, s, t->arch, impls[k]);
        if (r == NULL)
            return fm_run__fail(FM_RUN_ENOMEM, err, size, "out of memory");
        fm_run_status st = measure_one(c, t, r, err, size);
        if (st != FM_RUN_OK)
            return st;
    }
    return FM_RUN_OK;
}

static fm_run_status bench_run(const fm_bench_config *c, fm_bench_report *rep, char *err,
                               size_t size);

fm_run_status fm_bench_run(const fm_bench_config *caller, fm_bench_report *rep, char *err,
                           size_t size)
{
    memset(rep, 0, sizeof *rep);
    fm_bench_config c = *caller;
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, &old);
    c.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    c.stop_signal = &rep->stop_signal;
    fm_run_status st = c.signal_fd < 0 ? fm_run__fail(FM_RUN_ESYSTEM, err, size, "signalfd: %m")
                                       : bench_run(&c, rep, err, size);
    struct signalfd_siginfo si; /* a signal that came after the last run: reported, not lost */
    if (c.signal_fd >= 0 && rep->stop_signal == 0 &&
        read(c.signal_fd, &si, sizeof si) == (ssize_t)sizeof si)
        rep->stop_signal = (int)si.ssi_signo;
    if (c.signal_fd >= 0)
        close(c.signal_fd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return st;
}

static fm_run_status bench_run(const fm_bench_config *c, fm_bench_report *rep, char *err,
                               size_t size)
{
    if (c->n_arches > 8 || c->store == NULL)
        return fm_run__fail(FM_RUN_EINVAL, err, size, "at most 8 archs, and a store");
    fm_bench_target targets[8];
    bool ok[8] = {0}, openssl[8][2] = {{0}};
    bool native_openssl = fm_bench_have_openssl(NULL, c->native_fm_stress);
    for (size_t i = 0; i < c->n_arches; i++) {
        char *why = rep->skipped[rep->n_skipped];
        if (fm_bench_locate(c->arches[i], c->cross_dir, &targets[i], why, sizeof rep->skipped[0]) !=
            FM_RUN_OK) {
            rep->n_skipped++;
            if (c->on_skip)
                c->on_skip(why, c->ctx);
            continue;
        }
        ok[i] = true;
        openssl[i][0] = native_openssl;
        openssl[i][1] = fm_bench_have_openssl(targets[i].qemu_path, targets[i].fm_stress);
    }
    for (size_t w = 0; w < c->n_specs; w++)
        for (size_t i = 0; i < c->n_arches && !stopped(c); i++) {
            fm_run_status st =
                ok[i] ? measure_spec(c, &targets[i], openssl[i], &c->specs[w], rep, err, size)
                      : FM_RUN_OK;
            if (st != FM_RUN_OK)
                return st;
        }
    return FM_RUN_OK;
}

void fm_bench_report_free(fm_bench_report *rep)
{
    for (size_t i = 0; i < rep->n_results; i++) {
        fm_bench_pair_free(&rep->results[i].pair);
        fm_bench_analysis_free(&rep->results[i].analysis);
    }
    free(rep->results);
    rep->results = NULL;
    rep->n_results = rep->cap = 0;
}

fm_run_status fm_bench_slowdowns(const fm_bench_report *rep, fm_bench_slowdown **out, size_t *n)
{
    *n = 0;
    *out = calloc(rep->n_results ? rep->n_results : 1, sizeof **out);
    if (*out == NULL)
        return FM_RUN_ENOMEM;
    for (size_t i = 0; i < rep->n_results; i++) {
        const fm_bench_result *r = &rep->results[i];
        if (!r->analysis.have_ratio)
            continue;
        fm_bench_slowdown *p = &(*out)[(*n)++];
        /* The parameters as given (impl= included), so that two specs of one workload differ. */
        snprintf(p->category, sizeof p->category, "%s%s%s", r->spec->wl->name,
                 r->params[0] ? " " : "", r->params);
        p->series = r->arch->name;
        p->estimate = r->analysis.ratio.ratio;
        p->lower = r->analysis.ratio.lower;
        p->upper = r->analysis.ratio.upper;
    }
    return FM_RUN_OK;
}
