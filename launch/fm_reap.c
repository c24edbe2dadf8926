/*
 * fm_reap.c - sweeping escaped processes (fm_reap.h).  Linux /proc only.
 */
#include "fm_reap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char token[64];

const char *fm_reap_token(void)
{
    if (token[0] == '\0') {
        unsigned long long r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            r = (unsigned long long)ts.tv_nsec * 6364136223846793005ull ^
                (unsigned long long)ts.tv_sec;
        }
        snprintf(token, sizeof token, "%ld-%016llx", (long)getpid(), r);
    }
    return token;
}

/* ---- /proc --------------------------------------------------------------------------------- */

typedef struct {
    pid_t *v;
    size_t n, cap;
} pids;

static bool pids_add(pids *p, pid_t x)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i] == x)
            return true;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        pid_t *v = realloc(p->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = x;
    return true;
}

/* The children of this process (all its threads). */
static void own_children(pids *out)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", de->d_name);
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        long x;
        while (fscanf(f, "%ld", &x) == 1)
            pids_add(out, (pid_t)x);
        fclose(f);
    }
    closedir(d);
}

/* The parent of pid from /proc/PID/stat, or -1. */
static pid_t parent_of(const char *pid)
{
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may hold anything; the fields follow its ')' */
    long pp;
    if (p == NULL || sscanf(p + 1, " %*c %ld", &pp) != 1)
        return -1;
    return (pid_t)pp;
}

/* The value of NAME= in the environment of pid: 1 found (copied to val), 0 not, -1 unreadable. */
static int environ_value(pid_t pid, const char *name, char *val, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    ssize_t n = 0;
    while (buf && len < cap && (n = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (buf == NULL || n < 0) {
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    size_t nl = strlen(name);
    int found = 0;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
        if (strncmp(buf + i, name, nl) == 0 && buf[i + nl] == '=') {
            snprintf(val, size, "%s", buf + i + nl + 1);
            found = 1;
            break;
        }
    free(buf);
    return len == 0 && found == 0 ? -1 : found; /* an empty environ: a kernel thread or a zombie */
}

static bool selected(pid_t pid, const fm_reap_which *w)
{
    if (w->all)
        return true;
    char v[128];
    int r = environ_value(pid, "FLAKEMETER_RUNNER", v, sizeof v);
    if (r != 1 || strcmp(v, fm_reap_token()) != 0)
        return w->unmarked;
    char want[48];
    snprintf(want, sizeof want, "%lld", (long long)w->run);
    if (environ_value(pid, "FLAKEMETER_RUN", v, sizeof v) != 1 || strcmp(v, want) != 0)
        return false;
    snprintf(want, sizeof want, "%u", w->attempt);
    return environ_value(pid, "FLAKEMETER_ATTEMPT", v, sizeof v) == 1 && strcmp(v, want) == 0;
}

/* SIGKILL every descendant of the processes in roots (one pass over /proc). */
static int kill_descendants(const pids *roots)
{
    struct pp {
        pid_t pid, parent;
        bool dead;
    } *all = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t parent = parent_of(de->d_name);
        if (parent <= 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            struct pp *v = realloc(all, cap * sizeof *v);
            if (v == NULL)
                break;
            all = v;
        }
        all[n++] = (struct pp){(pid_t)atol(de->d_name), parent, false};
    }
    closedir(d);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < roots->n; r++)
            all[i].dead |= all[i].pid == roots->v[r];
    int killed = 0;
    for (bool more = true; more;) { /* to a fixpoint: children of the dead are dead */
        more = false;
        for (size_t i = 0; i < n; i++) {
            if (all[i].dead)
                continue;
            for (size_t j = 0; j < n; j++)
                if (all[j].dead && all[j].pid == all[i].parent) {
                    all[i].dead = more = true;
                    kill(all[i].pid, SIGKILL);
                    killed++;
                    break;
                }
        }
    }
    free(all);
    return killed;
}

int fm_reap_sweep(const pid_t *keep, int n_keep, fm_reap_which which)
{
    int killed = 0;
    for (int round = 0; round < 10000; round++) {
        pids kids = {0}, orphans = {0};
        own_children(&kids);
        for (size_t i = 0; i < kids.n; i++) {
            bool kept = false;
            for (int k = 0; k < n_keep && !kept; k++)
                kept = keep[k] == kids.v[i];
            if (!kept && selected(kids.v[i], &which))
                pids_add(&orphans, kids.v[i]);
        }
        free(kids.v);
        if (orphans.n == 0) {
            free(orphans.v);
            break;
        }
        for (size_t i = 0; i < orphans.n; i++)
            kill(orphans.v[i], SIGKILL);
        killed += (int)orphans.n + kill_descendants(&orphans);
        /* Once an orphan is reaped, its children (killed too, or forked since) are ours. */
        for (size_t i = 0; i < orphans.n; i++)
            while (waitpid(orphans.v[i], NULL, __WALL) < 0 && errno == EINTR)
                ;
        free(orphans.v);
    }
    return killed;
}

/* ---- the watchdog -------------------------------------------------------------------------- */

int fm_reap_kill_token(const char *tok, bool kill_them)
{
    DIR *d = opendir("/proc");
    if (d == NULL)
        return 0;
    int n = 0;
    pid_t self = getpid();
    struct dirent *de;
    char v[128];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)atol(de->d_name);
        if (pid == self || environ_value(pid, "FLAKEMETER_RUNNER", v, sizeof v) != 1 ||
            strcmp(v, tok) != 0)
            continue;
        n++;
        if (kill_them)
            kill(pid, SIGKILL);
    }
    closedir(d);
    return n;
}

pid_t fm_reap_watchdog(int *wfd, const fm_cgroup_set *cgroups)
{
    const char *tok = fm_reap_token();
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(p[0]);
        close(p[1]);
        errno = err;
        return -1;
    }
    if (pid > 0) {
        close(p[0]);
        *wfd = p[1];
        return pid;
    }
    /* The watchdog: no signal of the terminal or of the runner's group ends it. */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    int rfd = p[0];
    for (int fd = 0; fd < 1024; fd++)
        if (fd != rfd && fd > 2)
            close(fd);
    char c;
    while (read(rfd, &c, 1) != 0 && (errno == EINTR || errno == EAGAIN))
        ;
    /* The runner is gone (or done): its cgroups first (one write each: nothing in them can fork
     * away), then what carries its token until nothing does.  Processes
     * killed between two scans may have forked; each round catches their children. */
    if (cgroups != NULL && cgroups->kind != FM_CGROUP_NONE) {
        fm_cgroup_set copy = *cgroups;
        copy.dying = NULL; /* the runner's list, not ours to free */
        copy.lock_fd = -1; /* closed above with every other descriptor */
        copy.n_dying = copy.cap_dying = 0;
        fm_cgroup_close(&copy);
    }
    struct timespec pause = {0, 2000000};
    for (int round = 0, quiet = 0; round < 5000 && quiet < 3; round++) {
        quiet = fm_reap_kill_token(tok, true) == 0 ? quiet + 1 : 0;
        nanosleep(&pause, NULL);
    }
    _exit(0);
}
