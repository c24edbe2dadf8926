/*
 * fm_run_internal.h - what the files of the run engine share; not installed.
 */
#ifndef FM_RUN_INTERNAL_H
#define FM_RUN_INTERNAL_H

#include "fm_cond.h"
#include "fm_run.h"

#include <sys/resource.h>
#include <sys/types.h>

/* The identity of one attempt, passed to the child as FLAKEMETER_SEED/RUN/ATTEMPT. */
typedef struct {
    uint64_t seed;
    int64_t run;
    uint32_t attempt;
} fm_run_id;

/*
 * Start a command (posix_spawnp) or a built-in workload (fork, no exec) as the leader of a new
 * process group, stdin from /dev/null, stdout and stderr into one non-blocking pipe whose read
 * end is *fd.  Returns 0, or an errno value (the command could not be started).
 */
int fm_run_spawn_command(char *const *argv, fm_run_id id, pid_t *pid, int *fd);
int fm_run_fork_workload(const struct fm_wl_args *base, fm_run_id id, const fm_cond_rt *cond,
                         pid_t *pid, int *fd);
/* A command by fork + execvpe, for conditions that act in the child (cond->per_run). */
int fm_run_exec_command(char *const *argv, fm_run_id id, const fm_cond_rt *cond, pid_t *pid,
                        int *fd);

/* Monotonic and real-time clocks in nanoseconds. */
int64_t fm_run_now_ns(void);
int64_t fm_run_realtime_ns(void);

#endif
