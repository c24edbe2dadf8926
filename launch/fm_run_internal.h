/*
 * fm_run_internal.h - what the files of the run engine share; not installed.
 */
#ifndef FM_RUN_INTERNAL_H
#define FM_RUN_INTERNAL_H

#include "fm_cgroup.h"
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
 * The launch plan: everything a run's child reads between clone/fork and its exec (or its
 * workload), prepared by the parent before the child exists and kept, one per slot, until the
 * child is reaped.  The child applies it in one async-signal-safe function (fm_run_exec.c,
 * child_setup) of raw system calls (fm_run_sys.h): no malloc, no lock, no errno.  Order: own
 * process group; signals that have a handler here (or are in the default list) back to
 * SIG_DFL; PR_SET_PDEATHSIG(SIGKILL); stdin, stdout, stderr; affinity; nice; "0" into the
 * quota cgroup's and then the attempt's cgroup.procs; an empty signal mask.  A failure is an
 * errno written into err_fd, and the child exits 127.
 */
typedef struct {
    int in_fd;  /* dup'd to 0: /dev/null */
    int out_fd; /* dup'd to 1 and 2: the pipe's write end, a temporary file, or /dev/null */
    int err_fd; /* the set-up pipe's write end (close-on-exec): an errno, or end-of-file */
    bool set_affinity, set_nice;
    cpu_set_t mask;
    int nice;
    int quota_procs_fd;  /* the campaign's quota cgroup (fm_cond_rt.procs_fd), -1 none */
    int cgroup_procs_fd; /* the attempt's own cgroup, -1 none (or born inside it by clone3) */
    unsigned long long reset_signals; /* bit s-1: signal s back to SIG_DFL */
    const char *path;                 /* the executable (NULL: a built-in workload) */
    char *const *argv;
    char *const *envp;
    char *const *sh_argv; /* exec failed with ENOEXEC: "/bin/sh PATH ARGS", as execvp */
} fm_run_plan;

/*
 * The launcher of one campaign (fm_run_exec.c): the plan's fixed parts (resolved command,
 * environment, conditions, output mode, launch mode) and one launch area per slot (plan,
 * environment array, and for the clone launch an mmap'd stack with a guard page).  A slot's
 * area is reused only after its child was reaped; fm_launcher_free only after every child was.
 */
typedef struct fm_launcher fm_launcher;
int fm_launcher_new(const fm_run_config *cfg, int n_slots, fm_launcher **out); /* 0 or errno */
void fm_launcher_free(fm_launcher *l);
/*
 * Start attempt id in slot (0 .. n_slots-1), the leader of a new process group, stdin from
 * /dev/null, stdout and stderr into the output of the condition `output` (a pipe whose
 * non-blocking read end is *fd; a temporary file or /dev/null, *fd = -1).  cg: the attempt's
 * cgroup (NULL or dir "" none), which the child is born in (clone3 with CLONE_INTO_CGROUP, v2)
 * or joins just before its exec or workload (its cgroup.procs).  Returns 0, or
 * an errno (the command could not be started; a missing command at the first start).
 * launch=spawn returns only once the child has started its program; otherwise *efd is the
 * read end of the child's set-up pipe (-1 for none), for fm_run_setup_status once the child
 * has ended.
 */
int fm_launcher_start(fm_launcher *l, int slot, fm_run_id id, const fm_cgroup *cg, pid_t *pid,
                      int *fd, int *efd);
/* After the slot's child was reaped: with output=file its temporary file, rewound, now the
 * caller's to read and close; else fd unchanged. */
int fm_launcher_output(fm_launcher *l, int slot, int fd);

/*
 * One command by posix_spawnp, output into a pipe (*fd), for fm_run_once: returns 0 or an
 * errno.
 */
int fm_run_spawn_command(char *const *argv, fm_run_id id, pid_t *pid, int *fd);
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
