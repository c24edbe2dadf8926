/*
 * fm_bench_emu.h - the emulator benchmark behind `flakemeter bench emu`: how much slower a
 * workload runs under QEMU user mode than natively, per architecture, and what that means for a
 * CI timeout.
 *
 * A measurement is one (workload, arch) pair: the native fm-stress and the cross-built static
 * fm-stress under qemu-ARCH, with the same seed and parameters, alternated one run at a time
 * (native, emulated, native, ...) after a warm-up pair, each run a whole process
 * (fm_run_once).  Every counted run goes into the store: two campaigns per pair (native and
 * emulated; docs/emulation.md, "Store").  The analysis (fm_bench_emu_analyze) turns the runs
 * into medians, the slowdown ratio with its interval and timeout predictions, through
 * libfmstats.  Runs that fail, crash or time out are counted by outcome and kept out of
 * medians and ratios.
 *
 * The library never prints: problems come back as a status and one line of text.
 */
#ifndef FM_BENCH_EMU_H
#define FM_BENCH_EMU_H

#include "fm_cross.h"
#include "fm_run.h"
#include "fm_stats.h"
#include "fm_store.h"
#include "fm_wl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every function that can fail returns an fm_run_status (fm_run_status.h): FM_RUN_EUNAVAILABLE
 * when an arch cannot be measured here, FM_RUN_ESYSTEM when a run could not start. */

/* ---- Targets ------------------------------------------------------------------------------- */

/* An architecture QEMU user mode can run (tools/cross/ has its cross file): launch/fm_cross.h. */
typedef fm_cross_arch fm_bench_arch;

size_t fm_bench_arch_count(void);
const fm_bench_arch *fm_bench_arch_at(size_t index);
const fm_bench_arch *fm_bench_arch_find(const char *name);

/* A located target: the emulator and the cross-built fm-stress it runs. */
typedef struct {
    const fm_bench_arch *arch;
    char qemu_path[4096];
    char fm_stress[4096];
} fm_bench_target;

/*
 * Find qemu-ARCH in PATH and CROSS_DIR/build-cross-ARCH/workloads/fm-stress.  When either is
 * missing: FM_RUN_EUNAVAILABLE and one line in why naming what to install or build.
 */
fm_run_status fm_bench_locate(const fm_bench_arch *arch, const char *cross_dir,
                              fm_bench_target *out, char *why, size_t why_size);

/*
 * Was this fm-stress (under qemu when qemu is not NULL) built with libcrypto, so that
 * stress_aes accepts impl=openssl?  Runs it once with the least work.
 */
bool fm_bench_have_openssl(const char *qemu, const char *fm_stress);

/* ---- Measuring a pair ---------------------------------------------------------------------- */

/* One rep: a native run and the emulated run after it. */
typedef struct {
    fm_run_record native, emulated;
    char machine[32]; /* machine= of the emulated run's result line ("" when it printed none) */
} fm_bench_rep;

typedef struct {
    const char *native_fm_stress; /* the host's fm-stress */
    const fm_bench_target *target;
    const char *workload;    /* workload name */
    const char *const *args; /* key=value assignments given to both sides (NULL-terminated) */
    uint64_t seed;
    size_t reps;    /* counted pairs, >= 1 */
    size_t warmup;  /* pairs run first and not counted */
    double limit_s; /* per run: killed (outcome timeout) after this long; 0 = none */
    /* Stopping (fm_run_once_config): a signalfd of the caller (-1 none) and where the number of
     * the signal read from it goes; a non-zero *stop_signal stops before the next run. */
    int signal_fd;
    int *stop_signal;
    /* Store: every counted run, in two campaigns (native_campaign may equal -1: not stored). */
    fm_store *store;
    int64_t native_campaign, emulated_campaign;
    /* Progress after each rep (optional). */
    void (*progress)(size_t done, size_t reps, void *ctx);
    void *progress_ctx;
} fm_bench_pair_config;

typedef struct {
    size_t reps; /* reps made (fewer than asked when interrupted) */
    fm_bench_rep *rep;
    char first_failure[256]; /* output of the first emulated run that did not pass */
    bool interrupted;
} fm_bench_pair;

/*
 * Measure one pair: warm-up, then reps alternating native and emulated.  out->rep is
 * allocated (fm_bench_pair_free).  FM_RUN_ESYSTEM when a run cannot be started (detail in
 * error); an interruption through signal_fd returns FM_RUN_OK with out->interrupted set and the
 * reps made so far.
 */
fm_run_status fm_bench_measure(const fm_bench_pair_config *cfg, fm_bench_pair *out, char *error,
                               size_t error_size);
void fm_bench_pair_free(fm_bench_pair *pair);

/* ---- Analysis ------------------------------------------------------------------------------ */

typedef enum {
    FM_BENCH_P_NONE,      /* no run to judge by */
    FM_BENCH_P_BINOMIAL,  /* some runs exceeded the timeout: k of n, exact interval */
    FM_BENCH_P_LOGNORMAL, /* none did: the log-normal fit of the passing durations */
} fm_bench_p_method;

const char *fm_bench_p_method_name(fm_bench_p_method method); /* "none", "binomial", "lognormal" */

typedef struct {
    double timeout_s;
    int64_t runs;     /* emulated runs that count (every outcome but error) */
    int64_t exceeded; /* of them, slower than the timeout or killed at the limit */
    fm_bench_p_method method;
    fm_interval p;       /* P(an emulated run exceeds the timeout), two-sided at the confidence */
    double pass_mean_s;  /* mean of the passing runs within the timeout (timeout_s if none) */
    uint64_t attempts;   /* the policy costed: this many attempts, stopping at the first pass */
    fm_policy_cost cost; /* its expected attempts and CI seconds (a timeout costs timeout_s) */
    fm_attempts needed;  /* attempts that bring P(all fail) to the target, at p.estimate */
    fm_attempts needed_conservative; /* ... at p.upper */
} fm_bench_timeout;

typedef struct {
    int64_t native_outcomes[FM_OUTCOME_COUNT], emulated_outcomes[FM_OUTCOME_COUNT];
    size_t native_passed, emulated_passed, pairs;      /* pairs: both sides passed */
    double native_median_s, emulated_median_s;         /* NaN without passing runs */
    double native_cpu_median_s, emulated_cpu_median_s; /* user + system */
    double median_ratio;                               /* emulated_median / native_median */
    bool have_ratio;                                   /* pairs >= 2 */
    fm_ratio_interval ratio;
    char machine[32];   /* machine= of the first emulated result line */
    bool limit_reached; /* some emulated run was killed at the limit */
    fm_bench_timeout *timeouts;
    size_t n_timeouts;
    bool have_timeout_for_target; /* a log-normal fit was possible and no run hit the limit */
    fm_timeout_answer timeout_for_target;
} fm_bench_analysis;

typedef struct {
    const double *timeouts_s; /* the CI timeouts to judge */
    size_t n_timeouts;
    double target;     /* for the timeout and the attempt counts, in (0, 1) */
    double confidence; /* of every interval, in (0, 1) */
    uint64_t attempts; /* the retry policy to cost (MicroPython's proposal: 3) */
} fm_bench_analysis_options;

fm_run_status fm_bench_analyze(const fm_bench_pair *pair, const fm_bench_analysis_options *opt,
                               fm_bench_analysis *out);
void fm_bench_analysis_free(fm_bench_analysis *analysis);

/* ---- A whole benchmark: every (workload, arch, implementation) ---------------------------------
 */

enum { FM_BENCH_MAX_ARGS = 24 };

/* One workload as given: NAME[:key=value...] (fm_bench_spec_parse). */
typedef struct {
    const struct fm_wl_desc *wl;
    char buf[512];
    const char *assign[FM_BENCH_MAX_ARGS]; /* the key=value assignments (into buf) */
    size_t n_assign;
    bool has_impl; /* impl= given: stress_aes is measured with that implementation only */
} fm_bench_spec;

/*
 * Parse "NAME[:key=value...]": the name must be a workload and every assignment valid natively.
 * FM_RUN_EINVAL with one line in err (the workload's own explanation).
 */
fm_run_status fm_bench_spec_parse(const char *text, fm_bench_spec *spec, char *err,
                                  size_t err_size);

/* One measured (workload, arch, implementation), its two campaigns, its runs and analysis. */
typedef struct {
    const fm_bench_spec *spec;
    const fm_bench_arch *arch;
    const char *impl; /* stress_aes without impl=: "portable" or "openssl"; else NULL */
    char params[640]; /* the assignments as given, impl= included ("threads=2 impl=openssl") */
    char label_native[768], label_emulated[768];
    fm_bench_pair pair;
    fm_bench_analysis analysis;
} fm_bench_result;

typedef struct {
    fm_bench_result *results;
    size_t n_results, cap;
    char skipped[8][512]; /* archs that cannot be measured here: what to install or build */
    size_t n_skipped;
    char notes[16][256]; /* e.g. why stress_aes impl=openssl was not measured on an arch */
    size_t n_notes;
    int stop_signal; /* the signal that stopped it (SIGINT, SIGTERM, SIGHUP), or 0 */
} fm_bench_report;

typedef struct {
    const fm_bench_arch *const *arches;
    size_t n_arches; /* at most 8 */
    const fm_bench_spec *specs;
    size_t n_specs;
    const char *cross_dir;        /* fm_cross_dir() */
    const char *native_fm_stress; /* the host's fm-stress */
    uint64_t seed;
    size_t reps, warmup;
    double limit_s;
    fm_bench_analysis_options analysis;
    /* SIGINT, SIGTERM and SIGHUP are blocked during fm_bench_run and read from a signalfd, as
     * the run engine reads them: one kills the running run and stops (fm_bench_report's
     * stop_signal); the caller picks its exit status from it. */
    fm_store *store;
    /* Set by fm_bench_run itself (the caller's values are ignored): its signalfd, and where the
     * signal read from it goes (rep->stop_signal). */
    int signal_fd;
    int *stop_signal;
    /* An arch is skipped (why: one line), at the moment it is found out (optional). */
    void (*on_skip)(const char *why, void *ctx);
    /* After each rep of a result (optional). */
    void (*progress)(const fm_bench_result *result, size_t done, size_t reps, void *ctx);
    void *ctx;
} fm_bench_config;

/*
 * Locate every arch, then measure and analyse every spec on every arch that can run (stress_aes
 * without impl= with both implementations where both builds have libcrypto), each in its two
 * campaigns ("emu ARCH native: ..." and "emu ARCH QEMU: ..."), into rep (fm_bench_report_free,
 * also after a failure: what was measured stays).  Stops early on SIGINT/SIGTERM/SIGHUP.
 * FM_RUN_ECONFLICT: err holds the label of a campaign made with other parameters; otherwise
 * err is one line (FM_RUN_ESTORE, FM_RUN_ESYSTEM: "WORKLOAD on ARCH: ...", FM_RUN_ENOMEM).
 */
fm_run_status fm_bench_run(const fm_bench_config *cfg, fm_bench_report *rep, char *err,
                           size_t err_size);
void fm_bench_report_free(fm_bench_report *rep);

/* A slowdown with its interval, for a plot: the results with a ratio, in order. */
typedef struct {
    char category[704]; /* "WORKLOAD params" */
    const char *series; /* the arch */
    double estimate, lower, upper;
} fm_bench_slowdown;

/* *out malloc'd (free), *n of them; FM_RUN_ENOMEM. */
fm_run_status fm_bench_slowdowns(const fm_bench_report *rep, fm_bench_slowdown **out, size_t *n);

#endif
