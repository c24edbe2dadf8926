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
 * Start a command (fork + execvpe, or posix_spawnp) or a built-in workload (fork, no exec) as the
 * leader of a new process group, stdin from /dev/null, stdout and stderr into one non-blocking
 * pipe whose read end is *fd.  Returns 0, or an errno value (the command could not be started).
 * wait_start (launch=spawn): return only once the child has started its program.  Otherwise
 * *efd is the read end of the child's set-up pipe (-1 for none), for fm_run_setup_status once
 * the child has ended.
 */
int fm_run_spawn_command(char *const *argv, fm_run_id id, pid_t *pid, int *fd);
/* cgroup_procs_fd: the attempt's cgroup.procs (fm_cgroup_new), which the child joins just
 * before its exec or workload; -1 none. */
int fm_run_fork_workload(const struct fm_wl_args *base, fm_run_id id, const fm_cond_rt *cond,
                         bool wait_start, int cgroup_procs_fd, pid_t *pid, int *fd, int *efd);
int fm_run_exec_command(char *const *argv, fm_run_id id, const fm_cond_rt *cond, bool wait_start,
                        int cgroup_procs_fd, pid_t *pid, int *fd, int *efd);
/* After the child has ended: 0 when it started its program, else the errno it failed with. */
int fm_run_setup_status(int efd);
/*
 * Find name as execvp would (a path, or the first executable file of that name in PATH) and
 * put its path in out: 0, or an errno (ENOENT, EACCES when found but not executable).
 */
int fm_run_which(const char *name, char *out, size_t size);

/* Monotonic and real-time clocks in nanoseconds. */
int64_t fm_run_now_ns(void);
int64_t fm_run_realtime_ns(void);

/*
 * Error and text buffers inside launch/ (fm_run_status.c).  fm_run__fail writes the detail into
 * err (size bytes, always terminated) and returns st.  fm_run__append adds to buf (size bytes,
 * *used of them written), clamped like workloads/fm_wl_args.c: false, and *used = size, once
 * the text no longer fits; never writes past the end.
 */
fm_run_status fm_run__fail(fm_run_status st, char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool fm_run__append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
