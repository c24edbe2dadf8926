/*
 * fm_cond.h - run conditions: the circumstances a campaign's runs run under (CPUs, placement,
 * competing load, CPU quota, priority, emulation), parsed, written into the store as one JSON
 * object, checked, and applied.
 *
 * Life of a set of conditions (docs/design.md, "Run conditions"):
 *   fm_cond_set      parse "name=value" (from `run --cpus 2` or `sweep --vary cpus=1,2`)
 *   fm_cond_json     the compact JSON object stored with the campaign (keys in a fixed order)
 *   fm_cond_check    everything that can be known before anything is done: enough CPUs, a
 *                    writable cgroup with a cpu controller, qemu-ARCH and the cross fm-stress;
 *                    a failure is bad input (one line), and nothing has been changed
 *   fm_cond_start    make the campaign's cgroup, start the load spinners
 *   (the child's part, affinity, nice and joining the cgroup, is in the launch plan of
 *    fm_run_internal.h, applied with raw system calls by fm_run_exec.c)
 *   fm_cond_stop     stop the spinners, remove the cgroup (idempotent)
 * Spinners are processes with PR_SET_PDEATHSIG(SIGKILL), so they die with flakemeter even on
 * SIGKILL; a cgroup left by a SIGKILLed flakemeter is removed by the next fm_cond_start.
 * Functions return an fm_run_status (fm_run_status.h; FM_RUN_OK = 0) with one line of detail in
 * err; none prints.
 */
#ifndef FM_COND_H
#define FM_COND_H

#include "fm_run_status.h"

#include <sched.h> /* cpu_set_t (_GNU_SOURCE is set for the whole project) */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What was asked for.  A field counts only when its have_ flag is set. */
/*
 * How a run is started (docs/design.md, "Launching").  clone (the default) and fork let the
 * runner go back to sleep at once, as a shell does: clone(CLONE_VM) on a stack of the slot,
 * without the page-table copy of a fork; fork + exec as a shell forks.  spawn makes the runner
 * wait until the run has started its program (exec, or the workload) and wake up then, as
 * posix_spawn, vfork and Python's subprocess do.  shell runs the command through
 * `/bin/sh -c` (the shell forks it and waits, as a CI shell step does).  Races at a program's
 * start can depend on it.  Built-in workloads are forked for clone and fork alike.
 */
typedef enum { FM_LAUNCH_CLONE, FM_LAUNCH_FORK, FM_LAUNCH_SPAWN, FM_LAUNCH_SHELL } fm_launch;
/* Where a run's stdout and stderr go: one pipe the runner reads as it comes (the default),
 * a temporary file per attempt read back when it ended, or /dev/null (nothing kept). */
typedef enum { FM_OUTPUT_PIPE, FM_OUTPUT_FILE, FM_OUTPUT_NULL } fm_output;

typedef struct {
    bool have_cpus, have_pin, have_load, have_load_nice, have_quota, have_nice, have_emulator,
        have_launch, have_output;
    int cpus;          /* run on the first `cpus` CPUs this process may use */
    char pin[128];     /* run on exactly these CPUs ("0,2-3"; normalised) */
    int load;          /* busy-loop spinner processes, competing with the runs */
    int load_nice;     /* the spinners' nice value */
    double quota;      /* CPU bandwidth of the runs, in CPUs (0.5 = half of one CPU) */
    int nice;          /* the runs' nice value */
    char emulator[32]; /* qemu-ARCH runs the cross-built fm-stress (built-in workloads) */
    fm_launch launch;
    fm_output output;
    /* Not conditions (never stored), set by the caller for fm_cond_check: a built-in workload
     * runs in a forked child (no shell), and output options (--fail-regex, ...) need output. */
    bool workload, output_needed;
} fm_cond;

/* "clone", "fork", "spawn", "shell"; "pipe", "file", "null". */
const char *fm_cond_launch_name(fm_launch l);
const char *fm_cond_output_name(fm_output o);

/* The condition names, in the order they are stored ("cpus", "pin", "load", ...). */
extern const char *const fm_cond_names[];
bool fm_cond_is_name(const char *name);

/* Set condition `name` from text ("load_nice" may be written "load-nice"). */
/* FM_RUN_EINVAL: an unknown name or a bad value. */
fm_run_status fm_cond_set(fm_cond *c, const char *name, const char *value, char *err,
                          size_t err_size);

/* The conditions as a compact JSON object (malloc'd; "{}" for none), keys in fixed order. */
char *fm_cond_json(const fm_cond *c);
/* The same with one more string member after the conditions (e.g. "impl" for stress_aes's AES
 * implementation in `bench emu`); key NULL: none. */
char *fm_cond_json_extra(const fm_cond *c, const char *key, const char *value);
/* "cpus=1 load=2" (empty for none), for labels and people. */
const char *fm_cond_describe(const fm_cond *c, char *buf, size_t size);
/* The same from a stored JSON object ("" for "{}" or anything unreadable). */
const char *fm_cond_describe_json(const char *json, char *buf, size_t size);

/* What applying the conditions needs at run time. */
typedef struct fm_cond_rt {
    const fm_cond *cond;
    bool per_run;      /* something to do in each run's child (affinity, nice, cgroup) */
    cpu_set_t mask;    /* with have_cpus/have_pin */
    int procs_fd;      /* the campaign cgroup's cgroup.procs, open for writing; -1 none */
    char cgroup[1100]; /* its directory, "" none */
    char cgroup_parent[1024];
    int cgroup_version; /* 1 or 2 */
    pid_t *spinners;
    int n_spinners;
    char qemu[256], cross_stress[4096]; /* with an emulator */
} fm_cond_rt;

/*
 * Check that every condition can be applied here (no side effects).  source_root is where
 * build-cross-ARCH/workloads/fm-stress is looked for unless FM_CROSS_DIR is set.
 */
fm_run_status fm_cond_check(const fm_cond *c, const char *source_root, fm_cond_rt *rt, char *err,
                            size_t err_size); /* FM_RUN_EUNAVAILABLE: cannot be applied here */
fm_run_status fm_cond_start(fm_cond_rt *rt, char *err, size_t err_size); /* FM_RUN_ESYSTEM */
void fm_cond_stop(fm_cond_rt *rt);

/*
 * Concurrency per allowed CPU (issue 18): attempts that outnumber the CPUs their conditions
 * allow preempt one another, and a rate measured so is one of preemption, not of placement.
 * fm_cond_cpu_limit: the CPUs rt's conditions allow (the cpus/pin mask; ceil(quota)); 0 = no
 * limit.  fm_cond_fit_jobs: the attempts to run at once, `jobs` lowered to that limit unless
 * `allow` (--allow-oversubscribe); note gets one line saying what was lowered or kept ("" when
 * jobs fits).  `run` follows it; `sweep` applies the same limit per combination (fm_sweep_jobs).
 */
int fm_cond_cpu_limit(const fm_cond_rt *rt);
int fm_cond_fit_jobs(const fm_cond_rt *rt, int jobs, bool allow, char *note, size_t note_size);

#endif
