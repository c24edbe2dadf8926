/*
 * fm_run_exec.c - starting one attempt: a command through posix_spawnp, or a built-in workload
 * by forking this (already warmed-up) process and running the workload in the child.
 *
 * Either way the child is the leader of a new process group (so a timeout can signal the whole
 * group), has an empty signal mask and default dispositions (the engine blocks SIGCHLD, SIGINT
 * and SIGTERM for its signalfd, and a blocked mask or an ignored SIGPIPE would otherwise be
 * inherited), reads /dev/null, and writes stdout and stderr into one pipe.  The identity of the
 * attempt is in the environment: FLAKEMETER_SEED, FLAKEMETER_RUN, FLAKEMETER_ATTEMPT.
 * posix_spawnp reports a failed exec (ENOENT, EACCES) as its return value, so "the command
 * does not exist" is known before any run is counted.
 */
#include "fm_run_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t fm_run_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t fm_run_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const int child_default_signals[] = {SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGQUIT, SIGHUP};

/* The environment of the child: ours without FLAKEMETER_*, plus the attempt's identity. */
struct child_env {
    char **envp;
    char seed[48], run[48], attempt[48];
};

static bool is_ours(const char *entry)
{
    return strncmp(entry, "FLAKEMETER_SEED=", 16) == 0 ||
           strncmp(entry, "FLAKEMETER_RUN=", 15) == 0 ||
           strncmp(entry, "FLAKEMETER_ATTEMPT=", 19) == 0;
}

static int child_env_build(struct child_env *e, fm_run_id id)
{
    size_t n = 0;
    while (environ[n])
        n++;
    e->envp = malloc((n + 4) * sizeof *e->envp);
    if (e->envp == NULL)
        return ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_ours(environ[i]))
            e->envp[m++] = environ[i];
    snprintf(e->seed, sizeof e->seed, "FLAKEMETER_SEED=%llu", (unsigned long long)id.seed);
    snprintf(e->run, sizeof e->run, "FLAKEMETER_RUN=%lld", (long long)id.run);
    snprintf(e->attempt, sizeof e->attempt, "FLAKEMETER_ATTEMPT=%u", id.attempt);
    e->envp[m++] = e->seed;
    e->envp[m++] = e->run;
    e->envp[m++] = e->attempt;
    e->envp[m] = NULL;
    return 0;
}

/* A pipe whose read end is non-blocking; both ends close on exec. */
static int output_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno;
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    return 0;
}

static int spawn_attrs(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa, int wfd)
{
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (size_t i = 0; i < sizeof child_default_signals / sizeof *child_default_signals; i++)
        sigaddset(&defaults, child_default_signals[i]);
    int rc = posix_spawnattr_init(attr);
    rc = rc ? rc
            : posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF);
    rc = rc ? rc : posix_spawnattr_setpgroup(attr, 0);
    rc = rc ? rc : posix_spawnattr_setsigmask(attr, &empty);
    rc = rc ? rc : posix_spawnattr_setsigdefault(attr, &defaults);
    rc = rc ? rc : posix_spawn_file_actions_init(fa);
    rc = rc ? rc : posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(fa, wfd, 1);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(fa, wfd, 2);
    return rc;
}

int fm_run_spawn_command(char *const *argv, fm_run_id id, pid_t *pid, int *fd)
{
    struct child_env env = {0};
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    int fds[2], rc = output_pipe(fds);
    if (rc)
        return rc;
    rc = child_env_build(&env, id);
    rc = rc ? rc : spawn_attrs(&attr, &fa, fds[1]);
    rc = rc ? rc : posix_spawnp(pid, argv[0], &fa, &attr, argv, env.envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(env.envp);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        return rc;
    }
    *fd = fds[0];
    return 0;
}

/* In the child of a workload fork: never returns. */
static void run_workload_child(const struct fm_wl_args *base, fm_run_id id, int wfd)
{
    sigset_t empty;
    sigemptyset(&empty);
    for (size_t i = 0; i < sizeof child_default_signals / sizeof *child_default_signals; i++)
        signal(child_default_signals[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a run never outlives a killed runner */
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(wfd, 1);
    dup2(wfd, 2);
    struct fm_wl_args args = *base;
    args.seed = id.seed;
    args.run = (uint64_t)id.run;
    args.attempt = id.attempt;
    struct fm_wl_result res;
    int status = fm_wl_run(&args, &res);
    char line[1536];
    if (status != FM_WL_OK) {
        dprintf(1, "%s ERROR %s\n", args.wl->name, fm_wl_strerror(status));
        _exit(2);
    }
    dprintf(1, "%s\n", fm_wl_format_result(&args, &res, line, sizeof line));
    _exit(res.passed ? 0 : 1);
}

int fm_run_fork_workload(const struct fm_wl_args *base, fm_run_id id, pid_t *pid, int *fd)
{
    int fds[2], rc = output_pipe(fds);
    if (rc)
        return rc;
    pid_t child = fork();
    if (child < 0) {
        rc = errno;
        close(fds[0]);
        close(fds[1]);
        return rc;
    }
    if (child == 0) {
        setpgid(0, 0);
        run_workload_child(base, id, fds[1]);
    }
    setpgid(child, child); /* also here, so the group exists before any signal to it */
    close(fds[1]);
    *pid = child;
    *fd = fds[0];
    return 0;
}
