/*
 * fm_run_exec.c - starting one attempt: a command by clone(CLONE_VM) + execve (the default),
 * fork + execve, posix_spawnp, or through /bin/sh -c; a built-in workload by forking this
 * (already warmed-up) process and running it in the child.
 *
 * Either way the child is the leader of a new process group (so a timeout can signal the whole
 * group), has an empty signal mask and default dispositions (the engine blocks SIGCHLD, SIGINT
 * and SIGTERM for its signalfd, and a blocked mask or an ignored SIGPIPE would otherwise be
 * inherited), reads /dev/null, and writes stdout and stderr into one pipe (output=pipe), a
 * temporary file of its own (output=file) or /dev/null (output=null).  The identity of the
 * attempt is in the environment: FLAKEMETER_SEED, FLAKEMETER_RUN, FLAKEMETER_ATTEMPT.
 *
 * Launching (docs/design.md, "Launching"): by default the runner does not wait for the child
 * to reach exec.  posix_spawn (a vfork: the parent sleeps until the child has exec'd) makes the
 * runner wake up exactly as the program starts, and that wake-up on the other CPU was measured
 * to hide the start-up race of stress_recurse.  fork + exec does not wait, but copies the
 * runner's page tables and makes it take copy-on-write faults (a quarter of the speed of a
 * spawn loop on /bin/true).  So the default is clone(CLONE_VM | SIGCHLD) without CLONE_VFORK:
 * the child runs on the runner's memory, on a stack of its slot, until its execve, and the
 * runner goes on at once.  Its invariants:
 *  - everything the child reads (the plan, argv, the environment, the stack) is prepared before
 *    the clone and kept, per slot, until the child is reaped (fm_run_internal.h);
 *  - the child runs only child_setup and child_exec: raw system calls (fm_run_sys.h), no libc,
 *    no errno (the runner's), no malloc, no lock, no sanitizer code;
 *  - signals that have a handler in the runner are blocked in the runner around the clone and
 *    set back to SIG_DFL in the child before it unblocks anything, so no handler of the runner
 *    ever runs on the child's stack;
 *  - the command is resolved in PATH once, at the first start (as a shell hashes it); execve's
 *    ENOEXEC falls back to /bin/sh as execvp does;
 *  - a failed set-up or exec is reported through a close-on-exec pipe (the errno; end-of-file
 *    when exec succeeded) that the engine reads only after the child has ended
 *    (fm_run_setup_status).
 *  - where the attempt has a cgroup v2 cgroup (fm_cgroup.h), the child is born in it:
 *    clone3(CLONE_VM | CLONE_INTO_CGROUP) through fm_run_clone3 (fm_run_clone3.c) instead of
 *    clone, so it does not join by a write to cgroup.procs (a migration: the cost of issue 14's
 *    per-attempt cgroups); any "not here" error of clone3 turns it off for the campaign and the
 *    child joins as before (v1, the fork paths and other architectures always join).
 * launch=spawn restores the waiting launch: posix_spawnp; with a v2 cgroup, clone3 with
 * CLONE_VFORK into it; or, when other code must run in the child (conditions, a v1 cgroup, a
 * workload), fork with a synchronous read of that pipe.  launch=shell
 * starts "/bin/sh -c SCRIPT" by the default launch; the shell forks the command and waits, as a
 * CI step does (SCRIPT passes a death by signal on to the shell, so a crash stays a crash).
 */
#include "fm_cond.h"
#include "fm_reap.h"
#include "fm_run_internal.h"
#include "fm_run_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#if defined(__GLIBC__)
/* glibc's own name for clone: ThreadSanitizer intercepts `clone` as if it were a fork, and its
 * bookkeeping in a child that shares our memory would corrupt the runner's. */
extern int __clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
#define fm_clone __clone
#else
#define fm_clone clone
#endif

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

/* Signals a run starts with at SIG_DFL even when the runner ignores them. */
static const int child_default_signals[] = {SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGQUIT, SIGHUP};

/* The stack of a clone child: its set-up and exec need a few hundred bytes. */
#define CLONE_STACK (64 * 1024)

/* launch=shell: the command as "$@"; the shell waits for it and dies of the signal it died of. */
static const char shell_script[] =
    "\"$@\"; s=$?; if [ $s -gt 128 ]; then trap - $((s - 128)); kill -$((s - 128)) $$; fi; exit $s";

static bool is_ours(const char *entry)
{
    return strncmp(entry, "FLAKEMETER_SEED=", 16) == 0 ||
           strncmp(entry, "FLAKEMETER_RUN=", 15) == 0 ||
           strncmp(entry, "FLAKEMETER_ATTEMPT=", 19) == 0 ||
           strncmp(entry, "FLAKEMETER_RUNNER=", 18) == 0;
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

/* ---- the child: raw system calls only -------------------------------------------------------- */

/* The kernel's struct sigaction with SIG_DFL: the handler is its first member on every arch, and
 * an all-zero struct is "default, no flags, empty mask" whatever the layout. */
typedef struct {
    unsigned long words[4];
} kernel_sigaction;

/* fd onto target, without close-on-exec. */
FM_RUN_CHILD_CODE static long child_dup(int fd, int target)
{
    if (fd == target)
        return fm_sys3(SYS_fcntl, fd, F_SETFD, 0);
    return fm_sys3(SYS_dup3, fd, target, 0);
}

/* Apply the plan; 0, or an errno. */
FM_RUN_CHILD_CODE static long child_setup(const fm_run_plan *p)
{
    long rc = fm_sys2(SYS_setpgid, 0, 0);
    kernel_sigaction dfl = {{0}};
    for (int sig = 1; rc >= 0 && sig <= 64; sig++)
        if (p->reset_signals & (1ULL << (sig - 1)))
            rc = fm_sys4(SYS_rt_sigaction, sig, &dfl, 0, 8);
    if (rc >= 0)
        rc = fm_sys2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
    if (rc >= 0)
        rc = child_dup(p->in_fd, 0);
    if (rc >= 0)
        rc = child_dup(p->out_fd, 1);
    if (rc >= 0)
        rc = child_dup(p->out_fd, 2);
    if (rc >= 0 && p->set_affinity)
        rc = fm_sys3(SYS_sched_setaffinity, 0, sizeof p->mask, &p->mask);
    if (rc >= 0 && p->set_nice)
        rc = fm_sys3(SYS_setpriority, PRIO_PROCESS, 0, p->nice);
    if (rc >= 0 && p->quota_procs_fd >= 0) /* the quota first: the attempt's may be below it */
        rc = fm_sys3(SYS_write, p->quota_procs_fd, "0", 1);
    if (rc >= 0 && p->cgroup_procs_fd >= 0)
        rc = fm_sys3(SYS_write, p->cgroup_procs_fd, "0", 1);
    unsigned long long none = 0;
    if (rc >= 0)
        rc = fm_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &none, 0, 8);
    return rc < 0 ? -rc : 0;
}

/* execve the plan's command (ENOEXEC: through /bin/sh, as execvp); returns the errno. */
FM_RUN_CHILD_CODE static long child_exec(const fm_run_plan *p)
{
    long rc = fm_sys3(SYS_execve, p->path, p->argv, p->envp);
    if (rc == -ENOEXEC && p->sh_argv != NULL)
        rc = fm_sys3(SYS_execve, "/bin/sh", p->sh_argv, p->envp);
    return -rc;
}

/* Report errno err on the set-up pipe and end the child. */
FM_RUN_CHILD_CODE __attribute__((noreturn)) static void child_fail(const fm_run_plan *p, long err)
{
    int e = (int)err;
    if (p->err_fd >= 0)
        fm_sys3(SYS_write, p->err_fd, &e, sizeof e);
    for (;;)
        fm_sys1(SYS_exit_group, 127);
}

/* The body of a clone or fork child that execs a command: never returns. */
FM_RUN_CHILD_CODE static int child_command(void *arg)
{
    const fm_run_plan *p = arg;
    long rc = child_setup(p);
    child_fail(p, rc ? rc : child_exec(p));
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

/* ---- the launcher ---------------------------------------------------------------------------- */

typedef struct {
    fm_run_plan plan;
    char **envp; /* the runner's environment without FLAKEMETER_*, then the four below */
    char seed[48], run[48], attempt[48];
    void *stack;      /* clone: a guard page, then CLONE_STACK bytes; NULL until needed */
    size_t stack_len; /* what was mapped */
    int file_fd;      /* output=file: this attempt's temporary file, -1 none */
} launch_area;

struct fm_launcher {
    const fm_run_config *cfg;
    fm_launch launch;
    fm_output output;
    bool workload, per_run, resolved;
    int devnull_r, devnull_w;
    char path[4096]; /* the command as PATH found it (launch=shell: /bin/sh) */
    char **argv;     /* what is exec'd (launch=shell: sh -c SCRIPT sh COMMAND ...) */
    char **sh_argv;  /* ENOEXEC: /bin/sh PATH ARGS */
    char **env;      /* the runner's environment without FLAKEMETER_* (pointers into environ) */
    size_t n_env;
    char runner[96];
    unsigned long long reset_signals; /* handled here, or in child_default_signals */
    bool block_around_clone;          /* a handled signal is not blocked here */
    const char *tmpdir;
    int n_slots;
    launch_area *areas;
    bool clone3_off; /* clone3(CLONE_INTO_CGROUP) failed once: the child joins by cgroup.procs */
};

/* Which signals the child sets back to SIG_DFL, and whether any of them could be delivered to
 * the child before it does (handled and not blocked here).  The engine installs no handler
 * while a campaign runs, so this is read once. */
static void signal_sets(fm_launcher *l)
{
    sigset_t blocked;
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    for (int sig = 1; sig <= 64; sig++) {
        kernel_sigaction ks = {{0}};
        if (sig == SIGKILL || sig == SIGSTOP || fm_sys4(SYS_rt_sigaction, sig, 0, &ks, 8) != 0)
            continue;
        if (ks.words[0] != (unsigned long)SIG_DFL && ks.words[0] != (unsigned long)SIG_IGN) {
            l->reset_signals |= 1ULL << (sig - 1);
            if (sigismember(&blocked, sig) != 1)
                l->block_around_clone = true;
        }
    }
    for (size_t i = 0; i < sizeof child_default_signals / sizeof *child_default_signals; i++)
        l->reset_signals |= 1ULL << (child_default_signals[i] - 1);
}

static int build_argv(fm_launcher *l)
{
    char *const *argv = l->cfg->argv;
    size_t n = 0;
    while (argv[n])
        n++;
    l->sh_argv = calloc(n + 2, sizeof *l->sh_argv);
    if (l->sh_argv == NULL)
        return ENOMEM;
    l->sh_argv[0] = "/bin/sh";
    l->sh_argv[1] = l->path;
    for (size_t i = 1; i < n; i++)
        l->sh_argv[i + 1] = argv[i];
    if (l->launch != FM_LAUNCH_SHELL) {
        l->argv = (char **)argv;
        return 0;
    }
    static const char *const head[] = {"/bin/sh", "-c", shell_script, "sh"};
    l->argv = calloc(n + 5, sizeof *l->argv);
    if (l->argv == NULL)
        return ENOMEM;
    for (size_t i = 0; i < 4; i++)
        l->argv[i] = (char *)head[i];
    for (size_t i = 0; i < n; i++)
        l->argv[i + 4] = argv[i];
    return 0;
}

static int build_env(fm_launcher *l)
{
    size_t n = 0;
    while (environ[n])
        n++;
    l->env = malloc((n + 1) * sizeof *l->env);
    if (l->env == NULL)
        return ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!is_ours(environ[i]))
            l->env[l->n_env++] = environ[i];
    /* The runner's token: how fm_reap finds an attempt's processes that left its group. */
    snprintf(l->runner, sizeof l->runner, "FLAKEMETER_RUNNER=%s", fm_reap_token());
    return 0;
}

static int area_init(fm_launcher *l, launch_area *a)
{
    a->file_fd = -1;
    a->envp = malloc((l->n_env + 5) * sizeof *a->envp);
    if (a->envp == NULL)
        return ENOMEM;
    memcpy(a->envp, l->env, l->n_env * sizeof *a->envp);
    a->envp[l->n_env] = a->seed;
    a->envp[l->n_env + 1] = a->run;
    a->envp[l->n_env + 2] = a->attempt;
    a->envp[l->n_env + 3] = l->runner;
    a->envp[l->n_env + 4] = NULL;
    const fm_cond_rt *rt = l->cfg->cond;
    fm_run_plan *p = &a->plan;
    *p = (fm_run_plan){.in_fd = l->devnull_r,
                       .out_fd = -1,
                       .err_fd = -1,
                       .quota_procs_fd = rt ? rt->procs_fd : -1,
                       .cgroup_procs_fd = -1,
                       .reset_signals = l->reset_signals,
                       .path = l->path,
                       .argv = l->argv,
                       .envp = a->envp,
                       .sh_argv = l->launch == FM_LAUNCH_SHELL ? NULL : l->sh_argv};
    if (rt && rt->cond && (rt->cond->have_cpus || rt->cond->have_pin)) {
        p->set_affinity = true;
        p->mask = rt->mask;
    }
    if (rt && rt->cond && rt->cond->have_nice) {
        p->set_nice = true;
        p->nice = rt->cond->nice;
    }
    return 0;
}

int fm_launcher_new(const fm_run_config *cfg, int n_slots, fm_launcher **out)
{
    fm_launcher *l = calloc(1, sizeof *l);
    *out = l;
    if (l == NULL)
        return ENOMEM;
    const fm_cond *c = cfg->cond ? cfg->cond->cond : NULL;
    l->cfg = cfg;
    l->launch = c ? c->launch : FM_LAUNCH_CLONE;
    l->output = c ? c->output : FM_OUTPUT_PIPE;
    l->workload = cfg->wl_args.wl != NULL;
    l->per_run = cfg->cond && cfg->cond->per_run;
    l->tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    l->devnull_r = open("/dev/null", O_RDONLY | O_CLOEXEC);
    l->devnull_w = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (l->devnull_r < 0 || l->devnull_w < 0)
        return errno;
    signal_sets(l);
    int rc = build_env(l);
    if (rc == 0 && !l->workload)
        rc = build_argv(l);
    l->areas = rc ? NULL : calloc((size_t)n_slots, sizeof *l->areas);
    if (rc == 0 && l->areas == NULL)
        rc = ENOMEM;
    for (int i = 0; rc == 0 && i < n_slots; i++, l->n_slots = i)
        rc = area_init(l, &l->areas[i]);
    return rc;
}

void fm_launcher_free(fm_launcher *l)
{
    if (l == NULL)
        return;
    for (int i = 0; i < l->n_slots; i++) {
        launch_area *a = &l->areas[i];
        if (a->stack)
            munmap(a->stack, a->stack_len);
        if (a->file_fd >= 0)
            close(a->file_fd);
        free(a->envp);
    }
    if (l->devnull_r >= 0)
        close(l->devnull_r);
    if (l->devnull_w >= 0)
        close(l->devnull_w);
    if (l->argv != (char **)l->cfg->argv)
        free(l->argv);
    free(l->sh_argv);
    free(l->env);
    free(l->areas);
    free(l);
}

/* An unnamed temporary file in TMPDIR (a named one, unlinked at once, where O_TMPFILE is not
 * supported), close-on-exec. */
static int temp_file(const fm_launcher *l, int *out)
{
    int fd = open(l->tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        char name[4200];
        snprintf(name, sizeof name, "%s/flakemeter-out-XXXXXX", l->tmpdir);
        fd = mkostemp(name, O_CLOEXEC);
        if (fd >= 0)
            unlink(name);
    }
    if (fd < 0)
        return errno;
    *out = fd;
    return 0;
}

int fm_launcher_output(fm_launcher *l, int slot, int fd)
{
    launch_area *a = &l->areas[slot];
    if (a->file_fd < 0)
        return fd;
    int file = a->file_fd;
    a->file_fd = -1;
    if (lseek(file, 0, SEEK_SET) != 0) {
        close(file);
        return fd;
    }
    return file;
}

/* The clone launch: the child runs child_command on the slot's stack, on our memory.  With a
 * cgroup directory (into >= 0) by clone3, born inside that cgroup (and with CLONE_VFORK, for
 * launch=spawn, we sleep until it has exec'd); else by clone. */
static pid_t start_clone(fm_launcher *l, launch_area *a, int into, bool vfork)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (a->stack == NULL) {
        void *m = mmap(NULL, page + CLONE_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (m == MAP_FAILED)
            return -1;
        if (mprotect(m, page, PROT_NONE) != 0) { /* the guard page: an overflow faults */
            int err = errno;
            munmap(m, page + CLONE_STACK);
            errno = err;
            return -1;
        }
        a->stack = m;
        a->stack_len = page + CLONE_STACK;
    }
    sigset_t all, old;
    if (l->block_around_clone) {
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &old);
    }
    pid_t child = -1;
    int err = 0;
#if FM_RUN_CLONE3
    if (into >= 0) {
        fm_run_clone_args ca = {.flags = CLONE_VM | CLONE_INTO_CGROUP | (vfork ? CLONE_VFORK : 0),
                                .exit_signal = SIGCHLD,
                                .stack = (uint64_t)(uintptr_t)a->stack + page,
                                .stack_size = a->stack_len - page,
                                .cgroup = (uint64_t)into};
        long r = fm_run_clone3(&ca, sizeof ca, child_command, &a->plan);
        child = r < 0 ? -1 : (pid_t)r;
        err = r < 0 ? (int)-r : 0;
    } else
#endif
    {
        (void)into;
        (void)vfork;
        child =
            fm_clone(child_command, (char *)a->stack + a->stack_len, CLONE_VM | SIGCHLD, &a->plan);
        err = errno;
    }
    if (l->block_around_clone)
        sigprocmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return child;
}

/* In the child of a workload fork: never returns. */
static void run_workload_child(const fm_launcher *l, launch_area *a, fm_run_id id, int rfd,
                               int efd_r)
{
    if (rfd >= 0)
        close(rfd);
    if (efd_r >= 0)
        close(efd_r);
    long rc = child_setup(&a->plan);
    if (rc)
        child_fail(&a->plan, rc);
    if (a->plan.err_fd >= 0)
        close(a->plan.err_fd); /* end-of-file: set up */
    struct fm_wl_args args = l->cfg->wl_args;
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

static int spawn_attrs(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa, int in_fd,
                       int out_fd)
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
    rc = rc           ? rc
         : in_fd >= 0 ? posix_spawn_file_actions_adddup2(fa, in_fd, 0)
                      : posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(fa, out_fd, 1);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(fa, out_fd, 2);
    return rc;
}

static int spawn(char *const *argv, char *const *envp, int in_fd, int out_fd, pid_t *pid)
{
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    int rc = spawn_attrs(&attr, &fa, in_fd, out_fd);
    rc = rc ? rc : posix_spawnp(pid, argv[0], &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

int fm_run_spawn_command(char *const *argv, fm_run_id id, pid_t *pid, int *fd)
{
    char seed[48], run[48], attempt[48], runner[96];
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = malloc((n + 5) * sizeof *envp);
    int fds[2], rc = envp ? output_pipe(fds) : ENOMEM;
    if (rc) {
        free(envp);
        return rc;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_ours(environ[i]))
            envp[m++] = environ[i];
    snprintf(seed, sizeof seed, "FLAKEMETER_SEED=%llu", (unsigned long long)id.seed);
    snprintf(run, sizeof run, "FLAKEMETER_RUN=%lld", (long long)id.run);
    snprintf(attempt, sizeof attempt, "FLAKEMETER_ATTEMPT=%u", id.attempt);
    snprintf(runner, sizeof runner, "FLAKEMETER_RUNNER=%s", fm_reap_token());
    envp[m++] = seed;
    envp[m++] = run;
    envp[m++] = attempt;
    envp[m++] = runner;
    envp[m] = NULL;
    rc = spawn(argv, envp, -1, fds[1], pid);
    free(envp);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        return rc;
    }
    *fd = fds[0];
    return 0;
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
    int err = fm_run_setup_status(efd_read);
    if (err != 0) {
        kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    return err;
}

/* clone3's errors that say "not here" (an old kernel or a seccomp filter: ENOSYS; flags or a
 * size it does not know: EINVAL, E2BIG; a cgroup it will not put a process in: the rest), not
 * "not now" (EAGAIN, ENOMEM, EINTR). */
static bool clone3_unsupported(int err)
{
    return err != EAGAIN && err != ENOMEM && err != EINTR;
}

/* Start the child of slot a with its plan ready: 0 and *pid, or an errno.  cg: the attempt's
 * cgroup (dir "" none); the plan's cgroup_procs_fd is set here, to its cgroup.procs unless the
 * child is born inside by clone3 (then, a v2 quota cgroup holding the set is not joined
 * either: the attempt's cgroup is below it, and a join would take the child out of it). */
static int start_child(fm_launcher *l, launch_area *a, const fm_cgroup *cg, fm_run_id id, int rfd,
                       int efd_r, pid_t *pid)
{
    fm_run_plan *p = &a->plan;
    const fm_cond_rt *rt = l->cfg->cond;
    int quota = rt ? rt->procs_fd : -1;
    bool clone_launch = l->launch == FM_LAUNCH_CLONE || l->launch == FM_LAUNCH_SHELL;
    int into = FM_RUN_CLONE3 && FM_RUN_RAW_SYSCALLS && !l->workload && !l->clone3_off && cg &&
                       cg->dir_fd >= 0 && (clone_launch || l->launch == FM_LAUNCH_SPAWN)
                   ? cg->dir_fd
                   : -1;
    p->cgroup_procs_fd = into >= 0 || cg == NULL ? -1 : cg->procs_fd;
    p->quota_procs_fd = into >= 0 && rt && rt->cgroup_version == 2 ? -1 : quota;
    bool spawn_only = l->launch == FM_LAUNCH_SPAWN && !l->workload && p->err_fd < 0;
    if (spawn_only)
        return spawn(l->argv, p->envp, p->in_fd, p->out_fd, pid);
    pid_t child = -1;
    if (into >= 0) {
        child = start_clone(l, a, into, l->launch == FM_LAUNCH_SPAWN);
        if (child < 0 && clone3_unsupported(errno)) { /* from now on: join by cgroup.procs */
            l->clone3_off = true;
            into = -1;
            p->cgroup_procs_fd = cg->procs_fd;
            p->quota_procs_fd = quota;
        }
    }
    if (into >= 0) {
        /* started by clone3 (or failed for want of memory or processes) */
    } else if (!l->workload && FM_RUN_RAW_SYSCALLS && clone_launch) {
        child = start_clone(l, a, -1, false);
    } else {
        child = fork();
        if (child == 0 && l->workload)
            run_workload_child(l, a, id, rfd, efd_r);
        if (child == 0)
            child_command(&a->plan);
    }
    if (child < 0)
        return errno;
    setpgid(child, child); /* also here, so the group exists before any signal to it */
    *pid = child;
    return 0;
}

int fm_launcher_start(fm_launcher *l, int slot, fm_run_id id, const fm_cgroup *cg, pid_t *pid,
                      int *fd, int *efd)
{
    if (cg != NULL && cg->dir[0] == '\0')
        cg = NULL;
    launch_area *a = &l->areas[slot];
    fm_run_plan *p = &a->plan;
    int ofds[2] = {-1, -1}, efds[2] = {-1, -1}, rc = 0;
    *fd = *efd = -1;
    if (!l->workload && !l->resolved) { /* missing: one error, nothing run */
        rc = fm_run_which(l->cfg->argv[0], l->path, sizeof l->path);
        if (rc == 0 && l->launch == FM_LAUNCH_SHELL)
            snprintf(l->path, sizeof l->path, "/bin/sh");
        if (rc)
            return rc;
        l->resolved = true;
    }
    snprintf(a->seed, sizeof a->seed, "FLAKEMETER_SEED=%llu", (unsigned long long)id.seed);
    snprintf(a->run, sizeof a->run, "FLAKEMETER_RUN=%lld", (long long)id.run);
    snprintf(a->attempt, sizeof a->attempt, "FLAKEMETER_ATTEMPT=%u", id.attempt);
    p->err_fd = -1;
    rc = l->output == FM_OUTPUT_PIPE   ? output_pipe(ofds)
         : l->output == FM_OUTPUT_FILE ? temp_file(l, &a->file_fd)
                                       : 0;
    p->out_fd = l->output == FM_OUTPUT_PIPE   ? ofds[1]
                : l->output == FM_OUTPUT_FILE ? a->file_fd
                                              : l->devnull_w;
    bool wait_start = l->launch == FM_LAUNCH_SPAWN;
    bool code_in_child = l->per_run || cg != NULL;
    bool setup_pipe = l->workload ? wait_start || code_in_child : !wait_start || code_in_child;
    if (rc == 0 && setup_pipe && pipe2(efds, O_CLOEXEC) != 0)
        rc = errno;
    p->err_fd = efds[1];
    rc = rc ? rc : start_child(l, a, cg, id, ofds[0], efds[0], pid);
    if (ofds[1] >= 0)
        close(ofds[1]);
    if (efds[1] >= 0)
        close(efds[1]); /* the plan keeps the number: the child may still read it */
    if (rc == 0 && efds[0] >= 0 && wait_start)
        rc = await_setup(*pid, efds[0]);
    else if (rc == 0 && efds[0] >= 0)
        *efd = efds[0]; /* read once the child has ended */
    else if (efds[0] >= 0)
        close(efds[0]);
    if (rc) {
        if (ofds[0] >= 0)
            close(ofds[0]);
        if (a->file_fd >= 0)
            close(a->file_fd);
        a->file_fd = -1;
        return rc;
    }
    *fd = ofds[0];
    return 0;
}
