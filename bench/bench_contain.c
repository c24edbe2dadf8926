/*
 * bench_contain.c - what containing an attempt costs, and how fast a tree of escaped processes
 * dies, for each path of docs/reliability.md "No escapes": the subreaper sweep (fm_reap.h) and
 * a cgroup per attempt (fm_cgroup.h: v2 cgroup.kill, v2 freeze, v1 freezer).
 *
 * usage: bench_contain [ROUNDS [ATTEMPTS]]     (as root, or with a delegated cgroup)
 *
 * 1. Cost per attempt: fork, the child joins its cgroup (where there is one) and execs
 *    /bin/true, the parent waits for it and ends the attempt as the engine does (cgroup: kill
 *    unless empty, back to the pool for the next attempt; sweep: fm_reap_sweep of the attempt's
 *    orphans, none here).  Baseline: the same fork + exec + wait with no containment.  Two more
 *    rows: the child started inside its v2 cgroup by clone3(CLONE_INTO_CGROUP) instead of
 *    joining it (the engine's clone launch, fm_run_exec.c), and the join into a new cgroup made
 *    and removed per attempt (the engine before cgroups were reused).  ATTEMPTS per mode per
 * round, the modes in turn each round, medians over rounds of the mean µs per attempt.
 * 2. Time to kill a tree: an attempt whose leader starts N processes that each setsid() away
 *    (as a daemon would) and exits; from the leader's exit to the last of the N reaped, as the
 *    engine does it: cgroup kill + remove, or the sweep (which reads each orphan's environment
 *    to find the attempt's).  N = 10, 100, 1000, modes in turn, median over ROUNDS.
 * A mode that cannot be used here is reported as such and left out.
 */
#include "fm_cgroup.h"
#include "fm_reap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { SWEEP, V2, V2_FREEZE, V1, N_MODES, BASE = N_MODES, CLONE3, V2_FRESH, N_ROWS };
static const char *const mode_names[] = {"sweep (no cgroup)",
                                         "cgroup v2 (cgroup.kill), join",
                                         "cgroup v2 (freeze + kill), join",
                                         "cgroup v1 freezer, join",
                                         "no containment",
                                         "cgroup v2 (cgroup.kill), born inside (clone3)",
                                         "cgroup v2, join, new cgroup per attempt (before)"};

/* The set of the cgroup modes a row uses. */
static int set_of(int mode)
{
    return mode == CLONE3 || mode == V2_FRESH ? V2 : mode;
}

/* clone3 with CLONE_INTO_CGROUP: the child starts in the cgroup, no migration (Linux 5.7, v2).
 * Raw clone3 skips glibc's fork bookkeeping, so the child only execs. */
static pid_t clone_into(int dir_fd)
{
    struct clone_args ca = {
        .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)dir_fd};
    return dir_fd < 0 ? -1 : (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool open_mode(int mode, fm_cgroup_set *set)
{
    char why[700];
    unsetenv("FLAKEMETER_CGROUP_NO_KILL");
    if (mode == V2_FREEZE)
        setenv("FLAKEMETER_CGROUP_NO_KILL", "1", 1);
    fm_cgroup_mode m = mode == SWEEP ? FM_CGROUP_OFF : mode == V1 ? FM_CGROUP_V1 : FM_CGROUP_V2;
    if (fm_cgroup_open(set, m, NULL, why, sizeof why) != FM_CGROUP_OK) {
        fprintf(stderr, "%s: not here: %s\n", mode_names[mode], why);
        return false;
    }
    return true;
}

/* The attempt's identity in the environment, as fm_run_exec.c sets it (the sweep reads it). */
static void mark_attempt(unsigned attempt)
{
    char v[32];
    setenv("FLAKEMETER_RUNNER", fm_reap_token(), 1);
    setenv("FLAKEMETER_RUN", "0", 1);
    snprintf(v, sizeof v, "%u", attempt);
    setenv("FLAKEMETER_ATTEMPT", v, 1);
}

static void end_attempt(int mode, fm_cgroup_set *set, fm_cgroup *cg, unsigned attempt)
{
    if (mode == BASE)
        return;
    if (cg->dir[0]) {
        fm_cgroup_kill(set, cg);
        fm_cgroup_release(set, cg);
        while (fm_cgroup_collect(set) > 0)
            ;
        while (mode == V2_FRESH && set->n_pool > 0) { /* no reuse: mkdir and rmdir each time */
            fm_cgroup *p = &set->pool[--set->n_pool];
            close(p->dir_fd);
            close(p->procs_fd);
            close(p->events_fd);
            close(p->stat_fd);
            rmdir(p->dir);
        }
    } else {
        fm_reap_sweep(NULL, 0, (fm_reap_which){.run = 0, .attempt = attempt});
    }
}

/* ---- 1. cost per attempt --------------------------------------------------------------------- */

static double per_attempt(int mode, fm_cgroup_set *set, int attempts)
{
    char why[256];
    double t0 = now_us();
    for (int i = 0; i < attempts; i++) {
        fm_cgroup cg = {.procs_fd = -1};
        if (mode != BASE && fm_cgroup_new(set, &cg, why, sizeof why) != FM_CGROUP_OK) {
            fprintf(stderr, "%s\n", why);
            exit(1);
        }
        pid_t pid = mode == CLONE3 ? clone_into(cg.dir_fd) : fork();
        if (pid < 0) {
            perror("fork/clone3");
            exit(1);
        }
        if (pid == 0) {
            if (mode != CLONE3 && cg.procs_fd >= 0 && fm_cgroup_attach(cg.procs_fd) != 0)
                _exit(126);
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        end_attempt(mode, set, &cg, (unsigned)i);
    }
    return (now_us() - t0) / attempts;
}

/* ---- 2. killing a tree ----------------------------------------------------------------------- */

static double kill_tree(int mode, fm_cgroup_set *set, int n, unsigned attempt)
{
    char why[256];
    fm_cgroup cg = {.procs_fd = -1};
    if (fm_cgroup_new(set, &cg, why, sizeof why) != FM_CGROUP_OK) {
        fprintf(stderr, "%s\n", why);
        exit(1);
    }
    /* Close-on-exec: end-of-file once the leader is gone and all N have exec'd sleep (so the
     * sweep reads their environment, which is what /proc shows after an exec). */
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        exit(1);
    pid_t leader = fork();
    if (leader == 0) {
        if (cg.procs_fd >= 0 && fm_cgroup_attach(cg.procs_fd) != 0)
            _exit(126);
        mark_attempt(attempt);
        for (int i = 0; i < n; i++)
            if (fork() == 0) {
                setsid();
                execl("/bin/sleep", "sleep", "1000", (char *)NULL);
                _exit(127);
            }
        _exit(0);
    }
    close(ready[1]);
    char c;
    while (read(ready[0], &c, 1) > 0 || errno == EINTR)
        ;
    close(ready[0]);
    while (waitpid(leader, NULL, 0) < 0 && errno == EINTR)
        ;
    /* The leader is gone; its N escaped processes are ours (subreaper).  Kill them all. */
    double t0 = now_us();
    int reaped = 0;
    if (cg.dir[0]) {
        fm_cgroup_kill(set, &cg);
        while (reaped < n && waitpid(-1, NULL, 0) > 0) /* the engine reaps them as they come */
            reaped++;
        fm_cgroup_release(set, &cg); /* then removes the emptied cgroup */
        while (fm_cgroup_collect(set) > 0)
            ;
    } else {
        reaped = fm_reap_sweep(NULL, 0, (fm_reap_which){.run = 0, .attempt = attempt});
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
    double t = now_us() - t0;
    if (reaped < n) { /* a bug of the path measured: say so, and leave nothing behind */
        fprintf(stderr, "%s: only %d of %d killed\n", mode_names[mode], reaped, n);
        fm_reap_sweep(NULL, 0, (fm_reap_which){.all = true});
    }
    return t;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7, attempts = argc > 2 ? atoi(argv[2]) : 300;
    if (rounds < 1 || attempts < 1) {
        fprintf(stderr, "usage: bench_contain [ROUNDS [ATTEMPTS]]\n");
        return 2;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    fm_reap_token(); /* made here, so the attempts carry the token the sweep looks for */
    fm_cgroup_set sets[N_MODES];
    bool have[N_MODES];
    for (int m = 0; m < N_MODES; m++)
        have[m] = open_mode(m, &sets[m]);
    unsetenv("FLAKEMETER_CGROUP_NO_KILL");

    double cost[N_ROWS][64];
    int r_max = rounds > 64 ? 64 : rounds;
    for (int r = 0; r < r_max; r++)
        for (int m = 0; m < N_ROWS; m++)
            if (m == BASE || have[set_of(m)])
                cost[m][r] = per_attempt(m, m == BASE ? NULL : &sets[set_of(m)], attempts);
    printf(
        "Cost per attempt (fork, join, exec /bin/true, wait, end the attempt; cgroups reused "
        "while empty): median of %d "
        "rounds x %d attempts\n\n| path | µs per attempt | vs no containment |\n|---|---:|---:|\n",
        r_max, attempts);
    double base = median(cost[BASE], r_max);
    printf("| %s | %.0f | 1.00 |\n", mode_names[BASE], base);
    for (int m = 0; m < N_ROWS; m++)
        if (m != BASE && have[set_of(m)]) {
            double c = median(cost[m], r_max);
            printf("| %s | %.0f (%+.0f) | %.2f |\n", mode_names[m], c, c - base, c / base);
        }

    static const int sizes[] = {10, 100, 1000};
    printf("\nTime to kill a tree of N escaped (setsid) processes, leader exit to the last reaped: "
           "median of %d, ms\n\n| N |",
           r_max);
    for (int m = 0; m < N_MODES; m++)
        if (have[m])
            printf(" %s |", mode_names[m]);
    printf("\n|---:|");
    for (int m = 0; m < N_MODES; m++)
        if (have[m])
            printf("---:|");
    printf("\n");
    unsigned attempt = 1000000;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        double t[N_MODES][64];
        for (int r = 0; r < r_max; r++)
            for (int m = 0; m < N_MODES; m++)
                if (have[m])
                    t[m][r] = kill_tree(m, &sets[m], sizes[k], attempt++);
        printf("| %d |", sizes[k]);
        double sweep = have[SWEEP] ? median(t[SWEEP], r_max) : 0;
        for (int m = 0; m < N_MODES; m++)
            if (have[m]) {
                double x = median(t[m], r_max);
                if (m != SWEEP && sweep > 0)
                    printf(" %.2f (%.2fx) |", x / 1e3, x / sweep);
                else
                    printf(" %.2f |", x / 1e3);
            }
        printf("\n");
    }
    for (int m = 0; m < N_MODES; m++)
        if (have[m])
            fm_cgroup_close(&sets[m]);
    return 0;
}
