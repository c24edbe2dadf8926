/*
 * fm_run.h - the run engine: execute a built-in workload or any command many times, in
 * parallel, with timeouts and retry chains, record every attempt in the store, and keep the
 * counts a verdict needs.
 *
 * Design (docs/design.md, "Runner"):
 *  - One single-threaded event loop in the calling process.  Runs are child processes, each the
 *    leader of its own process group; output (stdout and stderr together) comes through one pipe
 *    per run, read without blocking (poll), bounded per run.  SIGCHLD, SIGINT, SIGTERM and
 *    SIGHUP arrive through a signalfd, so the loop never races a handler.
 *  - Commands are started with posix_spawn (vfork speed).  Built-in workloads are forked from
 *    this process, which has the workload library loaded and warmed up, and run in the child
 *    without exec (a crash is still isolated in the child).
 *  - A timeout sends SIGTERM to the run's group, then SIGKILL after the grace period.  When a
 *    run's leader exits, whatever is left of its group is killed, and the engine is a child
 *    subreaper, so grandchildren never outlive their run and are reaped here.
 *  - Stopping: after `runs` chains, after `duration`, when decided (--until-decided), or on a
 *    signal: the first SIGINT/SIGTERM/SIGHUP stops starting runs and lets the running ones
 *    finish; a second kills them at once, and the attempts it kills are stored as interrupted
 *    (FM_OUTCOME_INTERRUPTED: left out of every estimate).  Every attempt is in the store
 *    (batched commits) before return.
 *  - Evidence: the last FM_STORE_EVIDENCE_BYTES of output of each attempt are kept in a ring,
 *    and those of attempts that did not pass go to the store's evidence table (bounded per
 *    cause there: fm_store_add_evidence).
 *  - The engine never prints: progress goes to a callback; errors come back as a status and one
 *    line of text.
 */
#ifndef FM_RUN_H
#define FM_RUN_H

#include "fm_cgroup.h"
#include "fm_cond.h"
#include "fm_store.h"
#include "fm_wl.h"

#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* fm_run_status and fm_run_strerror: fm_run_status.h (through fm_cond.h). */

/* Why the loop stopped. */
typedef enum {
    FM_STOP_RUNS,     /* the planned number of runs is done */
    FM_STOP_DURATION, /* --duration elapsed */
    FM_STOP_DECIDED,  /* --until-decided: the attempt count is pinned down */
    FM_STOP_SIGINT,
    FM_STOP_SIGTERM,
    FM_STOP_SIGHUP,
    FM_STOP_ERROR, /* a run could not start, the first runs all were usage errors
                      (--error-exit), or the store failed */
} fm_stop_reason;

/* Counts of this campaign, including what the store held before this invocation. */
/* --until-decided without -n or --duration makes at most this many runs (run says so). */
#define FM_RUN_DECIDE_CAP 100000

typedef struct {
    int64_t chains_done;                  /* chains finished (first attempt + its retries) */
    int64_t first_fail;                   /* first attempts that did not pass (errors excluded) */
    int64_t first_counted;                /* first attempts that count (errors excluded) */
    int64_t by_outcome[FM_OUTCOME_COUNT]; /* first attempts by outcome */
    int64_t attempts;                     /* all attempts */
    int64_t retries, retries_failed;
    int64_t chains_failed; /* chains with no passing attempt */
} fm_run_counts;

typedef struct {
    const fm_run_counts *counts;
    int64_t planned;      /* chains planned in this invocation (0: no limit) */
    int64_t started_here; /* chains started in this invocation */
    int64_t done_here;
    int active;
    double elapsed_s;  /* since the engine started */
    double duration_s; /* the --duration limit, 0 if none */
    bool final;        /* last call, after the loop ended */
} fm_run_progress;

typedef struct {
    /* What to run: a workload (wl_args.wl != NULL) or a command (argv, NULL-terminated). */
    struct fm_wl_args wl_args;
    char *const *argv;

    /* How much. */
    int64_t runs;      /* chains to run in this invocation; 0 = no limit */
    double duration_s; /* stop starting after this long; 0 = no limit */
    int jobs;          /* parallel runs, >= 1 */
    double timeout_s;  /* per attempt; 0 = none */
    double grace_s;    /* between SIGTERM and SIGKILL at a timeout */
    uint64_t seed;
    unsigned retries;                  /* up to this many more attempts after a failure */
    unsigned shard_index, shard_count; /* run only indices = index mod count; count >= 1 */

    /* Classification of failures by output (Go stress's -failure / -ignore). */
    const regex_t *fail_regex;     /* a failure counts only if the output matches */
    const regex_t *ignore_regex;   /* a failure whose output matches counts as a pass */
    const regex_t *fail_if_output; /* a pass whose output matches counts as a failure */
    /* Exit codes that mean the command was called wrongly (--error-exit): outcome error,
     * excluded like start errors; when the first runs of the invocation all end so, stop. */
    bool error_exit[256];
    bool no_evidence;  /* do not keep output tails in the store */
    size_t output_cap; /* bytes of output kept per attempt */

    /* Keep the output of failing attempts: one file each in keep_dir, at most keep_files. */
    const char *keep_dir;
    int keep_files;

    /* --until-decided */
    bool until_decided;
    double target, confidence;

    /* Run conditions applied in each run's child (fm_cond.h; NULL: none).  The caller starts
     * and stops them (spinners, cgroup) around the campaign. */
    const fm_cond_rt *cond;
    /* Containment (fm_cgroup.h): each attempt in its own cgroup (auto: where one can be made),
     * else the subreaper sweep (fm_reap.h). */
    fm_cgroup_mode cgroup;
    /* Where. */
    fm_store *store;
    int64_t campaign;
    const char *label;

    /* Progress: called at most every progress_interval_s, and once at the end. */
    void (*progress)(const fm_run_progress *progress, void *ctx);
    void *progress_ctx;
    double progress_interval_s;
} fm_run_config;

/* Defaults: jobs = number of CPUs, grace 2 s, output_cap 64 KiB, keep_files 100, shard 0/1. */
void fm_run_config_init(fm_run_config *config);

typedef struct {
    fm_stop_reason stop;
    fm_run_counts counts;
    int64_t first_here;       /* first attempts recorded in this invocation (runs) */
    int64_t interrupted_here; /* attempts stored as interrupted in this invocation */
    double wall_s;            /* of this invocation */
    bool decided; /* with until_decided: the attempt count is pinned down (or indifferent) */
    /* decided between two neighbouring counts: decided_attempts is the larger, the safe side */
    bool decided_indifferent;
    uint64_t decided_attempts;
    bool decided_reachable; /* false: decided that no attempt count reaches the target */
    /* first attempts still running when it decided: the decision holds whatever they give */
    uint64_t decided_pending;
    char error[256];      /* one line when status != OK or stop == FM_STOP_ERROR */
    int start_errno;      /* the errno of the last attempt that could not start, or 0 */
    bool usage_error;     /* stopped because the first runs all ended in an --error-exit code */
    char containment[32]; /* "cgroup v2", "cgroup v1 freezer", "sweep" (fm_cgroup_describe) */
} fm_run_report;

fm_run_status fm_run_campaign(const fm_run_config *config, fm_run_report *report);

/*
 * What must hold before a campaign is made, so that a refusal leaves nothing behind: the
 * containment --cgroup require|v2|v1 asks for can be made here (a set is opened and closed;
 * FM_RUN_EUNAVAILABLE), and keep_dir is a directory or can be made (FM_RUN_EINVAL; the engine
 * makes it).  Nothing is created.  err gets one line.  Call it before the store is opened.
 */
fm_run_status fm_run_check(const fm_run_config *config, char *err, size_t err_size);

/* ---- One run alone (benchmarks) -------------------------------------------------------------- */

typedef struct {
    char *const *argv; /* the command, NULL-terminated; looked up in PATH */
    uint64_t seed;     /* FLAKEMETER_SEED, FLAKEMETER_RUN, FLAKEMETER_ATTEMPT of the run */
    int64_t run;
    uint32_t attempt;
    double timeout_s; /* 0 = none; then SIGTERM to the group, SIGKILL after grace_s */
    double grace_s;
    /* Stopping, as the engine stops (one design: a signalfd, no handler): a signalfd of the
     * caller (who blocks its signals), polled beside the run; a signal read from it kills and
     * reaps the run, and its number goes to *stop_signal.  -1: none.  A non-zero *stop_signal
     * on entry starts nothing. */
    int signal_fd;
    int *stop_signal;
    fm_cgroup_mode cgroup; /* containment, as the engine's (fm_run_config.cgroup) */
} fm_run_once_config;

/* Defaults: no timeout, grace 2 s, attempt 1, run 0, seed 0, no signalfd, cgroup auto. */
void fm_run_once_config_init(fm_run_once_config *cfg);

/*
 * Run the command once in the calling thread, started as the engine starts a run (own process
 * group, output through a pipe), and wait for it: rec gets the outcome (pass, fail, crash,
 * timeout), exit code or signal, wall time (CLOCK_MONOTONIC), CPU times and peak RSS; output
 * (if not NULL) the first output_cap - 1 bytes of stdout and stderr, NUL-terminated.  Nothing
 * the run started outlives it: it runs in a cgroup of its own where one can be made, else the
 * calling process becomes a child subreaper and sweeps the run's escaped processes
 * (fm_reap.h), as the engine does.
 * FM_RUN_ESTART: the command could not be started (rec->outcome = error, detail in error);
 * FM_RUN_EUNAVAILABLE: cfg->cgroup asked for a cgroup that cannot be made here;
 * FM_RUN_ESYSTEM: interrupted through signal_fd (the run was killed and reaped).
 */
fm_run_status fm_run_once(const fm_run_once_config *cfg, fm_run_record *rec, char *output,
                          size_t output_cap, char *error, size_t error_size);

#endif
