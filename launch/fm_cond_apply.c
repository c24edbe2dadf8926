/*
 * fm_cond_apply.c - applying run conditions: the campaign's CPU-quota cgroup, the load
 * spinners, and what each run's child does to itself before it runs (fm_cond.h).
 *
 * Design (docs/design.md, "Run conditions"):
 *  - Quota: a cgroup "flakemeter-PID" made below the cgroup this process is in.  cgroup v2
 *    (`cpu.max` = "QUOTA 100000") is preferred; where the cpu controller is bound to a v1
 *    hierarchy instead (as on hybrid systems), v1's `cpu.cfs_quota_us`/`cpu.cfs_period_us` are
 *    the same limit.  FLAKEMETER_CGROUP names another (e.g. delegated) parent.  Each run's child
 *    writes "0" (itself) into the cgroup's cgroup.procs before it runs, so the runner and the
 *    spinners stay outside the limit.  fm_cond_stop kills whatever is left inside and removes
 *    it; a cgroup whose flakemeter died (SIGKILL) is removed by the next fm_cond_start.  The
 *    engine's per-attempt cgroups (fm_cgroup.h) nest below a v2 quota cgroup, so its limit
 *    covers them; finding hierarchies and reading/writing cgroup files is fm_cgroup's code.
 *  - Load: `load` spinner processes that only burn CPU, forked from this process with
 *    PR_SET_PDEATHSIG(SIGKILL) (the kernel kills them when this process dies, however it dies;
 *    a spinner that finds itself already orphaned exits), named "fm-load", deaf to
 *    SIGINT/SIGTERM/SIGHUP/SIGQUIT so that a Ctrl-C at the terminal leaves the load in place
 *    while the running attempts finish; stopped with SIGKILL and reaped by fm_cond_stop.
 *  - The child's part (affinity, nice, "0" into cgroup.procs) is done by the launch plan's
 *    set-up in fm_run_exec.c with raw system calls, safe after clone(CLONE_VM) and fork.
 */
#include "fm_cgroup.h"
#include "fm_cond.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QUOTA_PERIOD_US 100000

int fm_cgroup_check(fm_cond_rt *rt, char *err, size_t size);

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

/* The cgroup file helpers and the hierarchy look-ups are fm_cgroup's (fm_cgroup.h). */

/* Can a cpu-limited child cgroup be made below the v2 cgroup dir?  Why not, in why. */
static bool v2_usable(const char *dir, bool is_root, char *why, size_t size)
{
    char buf[4096];
    if (!fm_cgroup_read(dir, "cgroup.controllers", buf, sizeof buf))
        return snprintf(why, size, "%s is not a cgroup v2 directory", dir), false;
    if (!fm_cgroup_has_word(buf, "cpu"))
        return snprintf(why, size, "cgroup v2 at %s has no cpu controller", dir), false;
    if (access(dir, W_OK) != 0)
        return snprintf(why, size, "cgroup v2 at %s is not writable: %s", dir, strerror(errno)),
               false;
    if (fm_cgroup_read(dir, "cgroup.subtree_control", buf, sizeof buf) &&
        fm_cgroup_has_word(buf, "cpu"))
        return true;
    if (!is_root && fm_cgroup_read(dir, "cgroup.procs", buf, sizeof buf) && buf[0] != '\0')
        return snprintf(why, size,
                        "cgroup v2 at %s holds processes, so its cpu controller "
                        "cannot be enabled for a child (give a delegated cgroup in "
                        "FLAKEMETER_CGROUP)",
                        dir),
               false;
    return true;
}

static bool v1_usable(const char *dir, char *why, size_t size)
{
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/cpu.cfs_quota_us", dir);
    if (access(probe, F_OK) != 0)
        return snprintf(why, size, "%s is not a cgroup v1 cpu directory", dir), false;
    if (access(dir, W_OK) != 0)
        return snprintf(why, size, "cgroup v1 cpu at %s is not writable: %s", dir, strerror(errno)),
               false;
    return true;
}

int fm_cgroup_check(fm_cond_rt *rt, char *err, size_t size)
{
    char mnt[1024], dir[1024], why2[1200] = "", why1[1200] = "";
    const char *forced = getenv("FLAKEMETER_CGROUP");
    if (forced && *forced) {
        if (v2_usable(forced, false, why2, sizeof why2))
            rt->cgroup_version = 2;
        else if (v1_usable(forced, why1, sizeof why1))
            rt->cgroup_version = 1;
        else
            return fail(err, size, "quota: FLAKEMETER_CGROUP: %s; %s", why2, why1);
        snprintf(rt->cgroup_parent, sizeof rt->cgroup_parent, "%s", forced);
        return 0;
    }
    if (!fm_cgroup_mount(NULL, mnt, sizeof mnt)) {
        snprintf(why2, sizeof why2, "no cgroup v2 file system is mounted");
    } else {
        fm_cgroup_own_dir(mnt, NULL, dir, sizeof dir);
        if (v2_usable(dir, strcmp(dir, mnt) == 0, why2, sizeof why2)) {
            rt->cgroup_version = 2;
            snprintf(rt->cgroup_parent, sizeof rt->cgroup_parent, "%s", dir);
            return 0;
        }
    }
    if (!fm_cgroup_mount("cpu", mnt, sizeof mnt)) {
        snprintf(why1, sizeof why1, "no cgroup v1 cpu hierarchy either");
    } else {
        fm_cgroup_own_dir(mnt, "cpu", dir, sizeof dir);
        if (v1_usable(dir, why1, sizeof why1)) {
            rt->cgroup_version = 1;
            snprintf(rt->cgroup_parent, sizeof rt->cgroup_parent, "%s", dir);
            return 0;
        }
    }
    return fail(err, size, "quota: no cgroup to limit the CPU in: %s; %s", why2, why1);
}

/* ---- making and removing the cgroup --------------------------------------------------------- */

/* Remove "flakemeter-PID" cgroups whose flakemeter is gone (it was SIGKILLed). */
static void remove_stale(const char *parent)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        long pid;
        char rest;
        if (sscanf(e->d_name, "flakemeter-%ld%c", &pid, &rest) != 1 || pid == getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char dir[1300];
        snprintf(dir, sizeof dir, "%s/%s", parent, e->d_name);
        fm_cgroup_remove_dir(dir);
    }
    if (d)
        closedir(d);
}

static int make_cgroup(fm_cond_rt *rt, char *err, size_t size)
{
    long long quota = (long long)(rt->cond->quota * QUOTA_PERIOD_US + 0.5);
    char text[64];
    int rc = 0;
    remove_stale(rt->cgroup_parent);
    snprintf(rt->cgroup, sizeof rt->cgroup, "%s/flakemeter-%ld", rt->cgroup_parent, (long)getpid());
    if (rt->cgroup_version == 2) {
        char sub[4096];
        if (!fm_cgroup_read(rt->cgroup_parent, "cgroup.subtree_control", sub, sizeof sub) ||
            !fm_cgroup_has_word(sub, "cpu"))
            rc = fm_cgroup_write(rt->cgroup_parent, "cgroup.subtree_control", "+cpu");
        if (rc)
            return fail(err, size, "quota: cannot enable the cpu controller in %s: %s",
                        rt->cgroup_parent, strerror(rc));
    }
    if (mkdir(rt->cgroup, 0755) != 0 && errno != EEXIST) {
        rc = errno;
        rt->cgroup[0] = '\0';
        return fail(err, size, "quota: cannot create the cgroup %s: %s", rt->cgroup, strerror(rc));
    }
    if (rt->cgroup_version == 2) {
        snprintf(text, sizeof text, "%lld %d", quota < 1000 ? 1000 : quota, QUOTA_PERIOD_US);
        rc = fm_cgroup_write(rt->cgroup, "cpu.max", text);
    } else {
        snprintf(text, sizeof text, "%d", QUOTA_PERIOD_US);
        rc = fm_cgroup_write(rt->cgroup, "cpu.cfs_period_us", text);
        snprintf(text, sizeof text, "%lld", quota < 1000 ? 1000 : quota);
        rc = rc ? rc : fm_cgroup_write(rt->cgroup, "cpu.cfs_quota_us", text);
    }
    char procs[1200];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", rt->cgroup);
    if (rc == 0 && (rt->procs_fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0)
        rc = errno;
    if (rc)
        return fail(err, size, "quota: cannot set up the cgroup %s: %s", rt->cgroup, strerror(rc));
    return 0;
}

/* ---- load spinners -------------------------------------------------------------------------- */

static void spin(const fm_cond *c, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0); /* the runner died before the line above took effect */
    prctl(PR_SET_NAME, "fm-load");
    static const int deaf[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof deaf / sizeof *deaf; i++)
        signal(deaf[i], SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (c->have_load_nice)
        setpriority(PRIO_PROCESS, 0, c->load_nice);
    volatile unsigned long x = 1;
    for (;;)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
}

static int start_spinners(fm_cond_rt *rt, char *err, size_t size)
{
    int n = rt->cond->have_load ? rt->cond->load : 0;
    if (n == 0)
        return 0;
    rt->spinners = calloc((size_t)n, sizeof *rt->spinners);
    if (rt->spinners == NULL)
        return fail(err, size, "load: out of memory");
    pid_t self = getpid();
    for (int i = 0; i < n; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return fail(err, size, "load: cannot start a spinner: %s", strerror(errno));
        if (pid == 0)
            spin(rt->cond, self);
        rt->spinners[rt->n_spinners++] = pid;
    }
    return 0;
}

static int start(fm_cond_rt *rt, char *err, size_t size)
{
    if (rt->cond->have_quota && make_cgroup(rt, err, size) != 0) {
        fm_cond_stop(rt);
        return -1;
    }
    if (start_spinners(rt, err, size) != 0) {
        fm_cond_stop(rt);
        return -1;
    }
    return 0;
}

fm_run_status fm_cond_start(fm_cond_rt *rt, char *err, size_t size)
{
    return start(rt, err, size) == 0 ? FM_RUN_OK : FM_RUN_ESYSTEM;
}

void fm_cond_stop(fm_cond_rt *rt)
{
    for (int i = 0; i < rt->n_spinners; i++)
        kill(rt->spinners[i], SIGKILL);
    for (int i = 0; i < rt->n_spinners; i++)
        while (waitpid(rt->spinners[i], NULL, 0) < 0 && errno == EINTR)
            ;
    free(rt->spinners);
    rt->spinners = NULL;
    rt->n_spinners = 0;
    if (rt->procs_fd >= 0)
        close(rt->procs_fd);
    rt->procs_fd = -1;
    if (rt->cgroup[0])
        fm_cgroup_remove_dir(rt->cgroup);
    rt->cgroup[0] = '\0';
}
