/*
 * fm_run_exec.c - starting one attempt: a command by fork + execvpe (or posix_spawnp), or a
 * built-in workload by forking this (already warmed-up) process and running it in the child.
 *
 * Either way the child is the leader of a new process group (so a timeout can signal the whole
 * group), has an empty signal mask and default dispositions (the engine blocks SIGCHLD, SIGINT
 * and SIGTERM for its signalfd, and a blocked mask or an ignored SIGPIPE would otherwise be
 * inherited), reads /dev/null, and writes stdout and stderr into one pipe.  The identity of the
 * attempt is in the environment: FLAKEMETER_SEED, FLAKEMETER_RUN, FLAKEMETER_ATTEMPT.
 * Launching (docs/design.md, "Launching"): by default the runner does not wait for the child
 * to reach exec.  posix_spawn (a vfork: the parent sleeps until the child has exec'd) makes the
 * runner wake up exactly as the program starts, and that wake-up on the other CPU was measured
 * to hide the start-up race of stress_recurse: 0 of 80 crashed against 91 of 160 with fork, on
 * the same idle machine.  So commands are started by fork + execvpe, like a shell, and the
 * child reports a failed set-up or exec through a close-on-exec pipe (its errno; end-of-file
 * when exec succeeded) that the engine reads only after the child has ended
 * (fm_run_setup_status).  The condition launch=spawn restores the waiting launch: posix_spawnp,
 * or, when code must run in the child, fork with a synchronous read of that pipe.
 *
 * Run conditions that act on the child itself (CPU affinity, nice, the quota cgroup; fm_cond.h)
 * run between fork and exec.  The fork path gives commands PR_SET_PDEATHSIG(SIGKILL), as
 * workloads always have.
 */
#include "fm_cgroup.h"
#include "fm_cond.h"
#include "fm_reap.h"
#include "fm_run_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
    char seed[48], run[48], attempt[48], runner[96];
};

static bool is_ours(const char *entry)
{
    return strncmp(entry, "FLAKEMETER_SEED=", 16) == 0 ||
           strncmp(entry, "FLAKEMETER_RUN=", 15) == 0 ||
           strncmp(entry, "FLAKEMETER_ATTEMPT=", 19) == 0 ||
           strncmp(entry, "FLAKEMETER_RUNNER=", 18) == 0;
}

static int child_env_build(struct child_env *e, fm_run_id id)
{
    size_t n = 0;
    while (environ[n])
        n++;
    e->envp = malloc((n + 5) * sizeof *e->envp);
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
    /* The runner's token: how fm_reap finds an attempt's processes that left its group. */
    snprintf(e->runner, sizeof e->runner, "FLAKEMETER_RUNNER=%s", fm_reap_token());
    e->envp[m++] = e->runner;
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

int fm_run_which(const char *name, char *out, size_t size)
{
    if (name == NULL || *name == '\0')
        return ENOENT;
    struct stat sb;
    if (strchr(name, '/') != NULL) {
        if (stat(name, &sb) != 0)
            return errno;
        if (S_ISDIR(sb.st_mode))
            return EACCES;
        if (access(name, X_OK) != 0)
            return errno;
        return snprintf(out, size, "%s", name) < (int)size ? 0 : ENAMETOOLONG;
    }
    /* As execvp searches: each PATH entry (an empty one is the current folder). */
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/bin:/usr/bin";
    int found = ENOENT;
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        int len = snprintf(out, size, "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "", name);
        if (len > 0 && (size_t)len < size && stat(out, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            if (access(out, X_OK) == 0)
                return 0;
            found = EACCES;
        }
        if (*end == '\0')
            return found;
        p = end;
    }
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

/* In a forked child: our signal state undone, a run never outlives a killed runner, stdin
 * from /dev/null, stdout and stderr into the pipe. */
static void child_common(int wfd)
{
    sigset_t empty;
    sigemptyset(&empty);
    for (size_t i = 0; i < sizeof child_default_signals / sizeof *child_default_signals; i++)
        signal(child_default_signals[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(wfd, 1);
    dup2(wfd, 2);
}

/* Report errno rc on the set-up pipe and end the child. */
static void child_fail(int efd, int rc)
{
    ssize_t n = write(efd, &rc, sizeof rc);
    (void)n;
    _exit(127);
}

/* In the child of a workload fork: never returns. */
static void run_workload_child(const struct fm_wl_args *base, fm_run_id id, int wfd,
                               const fm_cond_rt *cond, int efd, int cgfd)
{
    child_common(wfd);
    int rc = cond && cond->per_run ? fm_cond_child(cond) : 0;
    if (rc == 0 && cgfd >= 0) /* the attempt's cgroup, after the quota's (it may be below it) */
        rc = fm_cgroup_attach(cgfd);
    if (rc)
        child_fail(efd, rc);
    if (efd >= 0)
        close(efd); /* end-of-file: set up */
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

/* In the child of a command fork: never returns. */
static void exec_command_child(char *const *argv, char *const *envp, int wfd,
                               const fm_cond_rt *cond, int efd, int cgfd)
{
    child_common(wfd);
    int rc = cond && cond->per_run ? fm_cond_child(cond) : 0;
    if (rc == 0 && cgfd >= 0) /* the attempt's cgroup, after the quota's (it may be below it) */
        rc = fm_cgroup_attach(cgfd);
    if (rc)
        child_fail(efd, rc);
    execvpe(argv[0], argv, envp);
    child_fail(efd, errno);
}

int fm_run_setup_status(int efd)
{
    int err = 0;
    ssize_t n;
    while ((n = read(efd, &err, sizeof err)) < 0 && errno == EINTR)
        ;
    close(efd);
    return n == (ssize_t)sizeof err ? err : 0;
}

/* launch=spawn: wait until the child got going; 0, else its errno (child reaped). */
static int await_setup(pid_t child, int efd_read)
{
    int err = 0;
    ssize_t n;
    while ((n = read(efd_read, &err, sizeof err)) < 0 && errno == EINTR)
        ;
    close(efd_read);
    if (n == (ssize_t)sizeof err && err != 0) {
        kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        return err;
    }
    return 0;
}

/* fork() with the output pipe and, when asked, a set-up pipe; the child runs body. */
typedef struct {
    const struct fm_wl_args *wl;
    fm_run_id id;
    char *const *argv;
    char *const *envp;
    const fm_cond_rt *cond;
    int cgroup_procs_fd; /* -1 none */
} child_job;

static int fork_child(const child_job *job, bool setup_pipe, bool wait_start, pid_t *pid, int *fd,
                      int *efd_out)
{
    *efd_out = -1;
    int fds[2], efd[2] = {-1, -1}, rc = output_pipe(fds);
    if (rc)
        return rc;
    if (setup_pipe && pipe2(efd, O_CLOEXEC) != 0) {
        rc = errno;
        close(fds[0]);
        close(fds[1]);
        return rc;
    }
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        close(fds[0]);
        if (efd[0] >= 0)
            close(efd[0]);
        if (job->wl)
            run_workload_child(job->wl, job->id, fds[1], job->cond, efd[1], job->cgroup_procs_fd);
        exec_command_child(job->argv, job->envp, fds[1], job->cond, efd[1], job->cgroup_procs_fd);
    }
    rc = child < 0 ? errno : 0;
    if (child > 0)
        setpgid(child, child); /* also here, so the group exists before any signal to it */
    close(fds[1]);
    if (efd[1] >= 0)
        close(efd[1]);
    if (child > 0 && efd[0] >= 0 && wait_start)
        rc = await_setup(child, efd[0]);
    else if (child > 0 && efd[0] >= 0)
        *efd_out = efd[0]; /* read once the child has ended */
    else if (efd[0] >= 0)
        close(efd[0]);
    if (rc) {
        close(fds[0]);
        return rc;
    }
    *pid = child;
    *fd = fds[0];
    return 0;
}

int fm_run_fork_workload(const struct fm_wl_args *base, fm_run_id id, const fm_cond_rt *cond,
                         bool wait_start, int cgroup_procs_fd, pid_t *pid, int *fd, int *efd)
{
    child_job job = {.wl = base, .id = id, .cond = cond, .cgroup_procs_fd = cgroup_procs_fd};
    return fork_child(&job, wait_start || (cond && cond->per_run) || cgroup_procs_fd >= 0,
                      wait_start, pid, fd, efd);
}

int fm_run_exec_command(char *const *argv, fm_run_id id, const fm_cond_rt *cond, bool wait_start,
                        int cgroup_procs_fd, pid_t *pid, int *fd, int *efd)
{
    struct child_env env = {0};
    int rc = child_env_build(&env, id);
    if (rc)
        return rc;
    child_job job = {
        .argv = argv, .envp = env.envp, .id = id, .cond = cond, .cgroup_procs_fd = cgroup_procs_fd};
    rc = fork_child(&job, true, wait_start, pid, fd, efd);
    free(env.envp);
    return rc;
}
