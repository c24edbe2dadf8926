/*
 * fm_cgroup.c - per-attempt cgroups (fm_cgroup.h).  Linux only: cgroup v2 (cgroup.kill, or
 * cgroup.freeze) or the v1 freezer hierarchy.
 *
 * Killing without cgroup.kill: freeze the cgroup (a frozen process cannot fork, so the list
 * of its processes stops changing), SIGKILL every pid in cgroup.procs of it and of every cgroup
 * below it, thaw (v1 delivers the kill only then), and again until nothing is listed.  A process
 * killed here leaves its cgroup when it exits (a zombie is no longer in it), so the cgroup can
 * be removed before the zombies are reaped.
 *
 * Reuse: a released cgroup with nothing left in it takes the slot's next attempt.  Not one that
 * cgroup.kill was written to: Linux (seen on 6.18) SIGKILLs a child born by clone3 with
 * CLONE_INTO_CGROUP at once when the target cgroup's count of cgroup.kill writes differs from
 * that of the parent's own cgroup (cgroup_css_set_fork reads the count before it knows the
 * target), so such a cgroup is removed and the next attempt gets a new one; a killed attempt
 * costs a mkdir and an rmdir, a clean one nothing.  For the same reason a set is probed with
 * one clone3 into it (clone_into): where the runner's own cgroup was ever killed, every clone3
 * child would die, and the children join by cgroup.procs instead.
 */
#include "fm_cgroup.h"
#include "fm_run_sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *fm_cgroup_strerror(fm_cgroup_status st)
{
    switch (st) {
    case FM_CGROUP_OK:
        return "ok";
    case FM_CGROUP_EUNAVAILABLE:
        return "no cgroup can be used here";
    case FM_CGROUP_ESYSTEM:
        return "a cgroup operation failed";
    case FM_CGROUP_EINVAL:
        return "invalid argument";
    }
    return "unknown status";
}

fm_cgroup_status fm_cgroup_mode_parse(const char *text, fm_cgroup_mode *mode)
{
    static const struct {
        const char *name;
        fm_cgroup_mode mode;
    } names[] = {{"auto", FM_CGROUP_AUTO},
                 {"off", FM_CGROUP_OFF},
                 {"require", FM_CGROUP_REQUIRE},
                 {"v2", FM_CGROUP_V2},
                 {"v1", FM_CGROUP_V1}};
    for (size_t i = 0; text && i < sizeof names / sizeof *names; i++)
        if (strcmp(text, names[i].name) == 0) {
            *mode = names[i].mode;
            return FM_CGROUP_OK;
        }
    return FM_CGROUP_EINVAL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- small file helpers ---------------------------------------------------------------------- */

bool fm_cgroup_read(const char *dir, const char *name, char *buf, size_t size)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t len = 0;
    ssize_t n = 0;
    while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return n >= 0;
}

int fm_cgroup_write(const char *dir, const char *name, const char *text)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = write(fd, text, strlen(text)) < 0 ? errno : 0;
    close(fd);
    return rc;
}

bool fm_cgroup_has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
        bool start = p == list || p[-1] == ' ' || p[-1] == ',' || p[-1] == '+' || p[-1] == '\n';
        bool end = p[n] == '\0' || p[n] == ' ' || p[n] == ',' || p[n] == '\n';
        if (start && end)
            return true;
    }
    return false;
}

/* ---- finding the hierarchies ----------------------------------------------------------------- */

/* This process's cgroup path in the hierarchy that holds `controller` (NULL: the v2 one). */
static bool own_cgroup_path(const char *controller, char *out, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[1024];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        c2[1 + strcspn(c2 + 1, "\n")] = '\0';
        bool v2 = strcmp(line, "0") == 0 && c1[1] == '\0';
        if (controller ? (!v2 && fm_cgroup_has_word(c1 + 1, controller)) : v2) {
            snprintf(out, size, "%s", c2 + 1);
            found = true;
        }
    }
    if (f)
        fclose(f);
    return found;
}

bool fm_cgroup_mount(const char *controller, char *out, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *dash = strstr(line, " - ");
        char mnt[1024], fstype[64], source[256], opts[1024] = "";
        if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
            sscanf(dash + 3, "%63s %255s %1023s", fstype, source, opts) < 2)
            continue;
        if (controller ? (strcmp(fstype, "cgroup") == 0 && fm_cgroup_has_word(opts, controller))
                       : strcmp(fstype, "cgroup2") == 0) {
            snprintf(out, size, "%s", mnt);
            found = true;
        }
    }
    if (f)
        fclose(f);
    return found;
}

void fm_cgroup_own_dir(const char *mnt, const char *controller, char *out, size_t size)
{
    char rel[512], dir[1024];
    struct stat st;
    snprintf(out, size, "%s", mnt);
    if (!own_cgroup_path(controller, rel, sizeof rel) || strcmp(rel, "/") == 0)
        return;
    snprintf(dir, sizeof dir, "%s%s", mnt, rel);
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, size, "%s", dir);
}

/* ---- killing and removing -------------------------------------------------------------------- */

/* SIGKILL every pid in dir/cgroup.procs: the number signalled. */
static int kill_listed(const char *dir)
{
    char procs[16384];
    int n = 0;
    if (!fm_cgroup_read(dir, "cgroup.procs", procs, sizeof procs))
        return 0;
    for (char *p = procs, *end; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
            n++;
    }
    return n;
}

/* Call fn on dir and every cgroup below it (children first). */
static void walk(const char *dir, void (*fn)(const char *dir, void *ctx), void *ctx, int depth)
{
    DIR *d = depth < 16 ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        char sub[1400];
        if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) < (int)sizeof sub)
            walk(sub, fn, ctx, depth + 1);
    }
    if (d)
        closedir(d);
    fn(dir, ctx);
}

static void count_killed(const char *dir, void *ctx)
{
    *(int *)ctx += kill_listed(dir);
}

static void rmdir_one(const char *dir, void *ctx)
{
    if (rmdir(dir) != 0 && errno != ENOENT)
        *(int *)ctx = errno;
}

/* rmdir dir and every cgroup below it: 0, or the errno of one that stays (EBUSY). */
static int rmdir_tree(const char *dir)
{
    int err = 0;
    walk(dir, rmdir_one, &err, 0);
    return err;
}

static bool is_v1(const char *dir)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/freezer.state", dir);
    return access(path, F_OK) == 0;
}

/* Freeze (or thaw) dir and wait, at most ~100 ms, until it is. */
static void freeze(const char *dir, bool v1, bool on)
{
    if (fm_cgroup_write(dir, v1 ? "freezer.state" : "cgroup.freeze",
                        v1 ? (on ? "FROZEN" : "THAWED") : (on ? "1" : "0")) != 0 ||
        !on)
        return;
    char buf[512];
    for (int i = 0; i < 100; i++) {
        if (v1 ? fm_cgroup_read(dir, "freezer.state", buf, sizeof buf) &&
                     strncmp(buf, "FROZEN", 6) == 0
               : fm_cgroup_read(dir, "cgroup.events", buf, sizeof buf) &&
                     strstr(buf, "frozen 1") != NULL)
            return;
        sleep_ms(1);
    }
}

/* Without cgroup.kill: freeze, kill what is listed (below too), thaw; until nothing is. */
static int freeze_kill(const char *dir)
{
    bool v1 = is_v1(dir);
    for (int round = 0; round < 50; round++) {
        freeze(dir, v1, true);
        int n = 0;
        walk(dir, count_killed, &n, 0);
        freeze(dir, v1, false);
        if (n == 0)
            return 0;
        sleep_ms(round < 5 ? 0 : 1);
    }
    return EBUSY;
}

static int kill_dir(const char *dir, bool has_kill)
{
    if (has_kill) {
        int rc = fm_cgroup_write(dir, "cgroup.kill", "1");
        return rc == ENOENT ? 0 : rc;
    }
    return freeze_kill(dir);
}

int fm_cgroup_remove_dir(const char *dir)
{
    for (int tries = 0; tries < 100; tries++) {
        kill_listed(dir);
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return errno;
        sleep_ms(10);
    }
    return EBUSY;
}

/* ---- sets ------------------------------------------------------------------------------------ */

static unsigned sets_made;

/* Kill what a set holds and remove it, waiting up to ~2 s for its processes to exit. */
static void remove_set(const char *root, bool has_kill)
{
    kill_dir(root, has_kill);
    for (int i = 0; i < 400 && rmdir_tree(root) == EBUSY; i++) {
        if (i % 20 == 19)
            kill_dir(root, has_kill);
        sleep_ms(5);
    }
}

/* Remove the sets of runners that are gone: "flakemeter-run-*" that no process holds an flock
 * on.  (A set being made is not locked yet for a moment: make_set then sees it go, and retries.
 * The directory's times cannot tell its age: cgroupfs makes them anew with its inodes.) */
static void remove_stale(const char *parent)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "flakemeter-run-", 15) != 0)
            continue;
        char dir[1400], path[1500];
        snprintf(dir, sizeof dir, "%s/%s", parent, e->d_name);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        snprintf(path, sizeof path, "%s/cgroup.kill", dir);
        remove_set(dir, access(path, F_OK) == 0);
        close(fd);
    }
    if (d)
        closedir(d);
}

/* Can a child of this process join root?  Forks once and tries. */
static int probe_join(const char *root)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/cgroup.procs", root);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    pid_t pid = fork();
    if (pid == 0)
        _exit(fm_cgroup_attach(fd) & 0xff);
    int err = pid < 0 ? errno : 0, status = 0;
    close(fd);
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        err = WIFEXITED(status) ? WEXITSTATUS(status) : EPERM;
    return err;
}

#if FM_RUN_CLONE3
FM_RUN_CHILD_CODE static int probe_child(void *arg)
{
    (void)arg;
    return 0;
}
#endif

/* Does a child born in root by clone3(CLONE_INTO_CGROUP) live to exit 0?  (Linux >= 5.7, and
 * not where the kernel kills it at birth: see "Reuse" above.)  The child shares our memory
 * and runs on a stack of ours while we wait (CLONE_VFORK); it only returns. */
static bool probe_clone_into(const char *root)
{
#if FM_RUN_CLONE3
    _Alignas(16) char stack[4096]; /* ours: we sleep until the child has exited */
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old); /* no handler of ours on the child's stack */
    fm_run_clone_args ca = {.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP,
                            .exit_signal = SIGCHLD,
                            .stack = (uint64_t)(uintptr_t)stack,
                            .stack_size = sizeof stack,
                            .cgroup = (uint64_t)fd};
    long pid = fm_run_clone3(&ca, sizeof ca, probe_child, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fd);
    int status = -1;
    while (pid > 0 && waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR)
        ;
    return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
#else
    (void)root;
    return false;
#endif
}

static bool make_set(fm_cgroup_set *set, const char *parent, fm_cgroup_kind kind, char *why,
                     size_t size)
{
    remove_stale(parent);
    /* The flock is held while the set is open: how another runner tells a live set from a
     * stale one.  Another runner's remove_stale may take the new directory before we lock it:
     * then it is gone (or going) and we make another. */
    int err = 0;
    for (int tries = 0; tries < 5 && set->lock_fd < 0; tries++) {
        unsigned r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (unsigned)time(NULL) ^ (unsigned)getpid() * 2654435761u;
        snprintf(set->root, sizeof set->root, "%s/flakemeter-run-%ld-%08x-%u", parent,
                 (long)getpid(), r, sets_made++);
        if (mkdir(set->root, 0755) != 0) {
            snprintf(why, size, "cannot make a cgroup in %s: %s", parent, strerror(errno));
            set->root[0] = '\0';
            return false;
        }
        struct stat a, b;
        int fd = open(set->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        err = fd < 0 ? errno : 0;
        if (fd >= 0 && (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &a) != 0 ||
                        stat(set->root, &b) != 0 || a.st_ino != b.st_ino)) {
            err = errno ? errno : ENOENT;
            close(fd);
            fd = -1;
        }
        set->lock_fd = fd;
    }
    if (set->lock_fd < 0) {
        snprintf(why, size, "cannot lock a cgroup made in %s: %s", parent, strerror(err));
        set->root[0] = '\0';
        return false;
    }
    char path[1400];
    const char *no_kill = getenv("FLAKEMETER_CGROUP_NO_KILL");
    snprintf(path, sizeof path, "%s/cgroup.kill", set->root);
    set->has_kill = kind == FM_CGROUP_KIND_V2 && access(path, F_OK) == 0 &&
                    !(no_kill && strcmp(no_kill, "1") == 0);
    snprintf(path, sizeof path, "%s/%s", set->root,
             kind == FM_CGROUP_KIND_V1 ? "freezer.state" : "cgroup.freeze");
    err = set->has_kill || access(path, F_OK) == 0 ? probe_join(set->root) : -1;
    if (err == -1)
        snprintf(why, size, "%s has neither cgroup.kill nor a freezer", parent);
    else if (err != 0)
        snprintf(why, size, "cannot join a cgroup made in %s: %s", parent, strerror(err));
    if (err != 0) {
        rmdir(set->root);
        close(set->lock_fd);
        set->lock_fd = -1;
        set->root[0] = '\0';
        return false;
    }
    set->kind = kind;
    const char *no_clone3 = getenv("FLAKEMETER_CGROUP_NO_CLONE3");
    set->clone_into = kind == FM_CGROUP_KIND_V2 && !(no_clone3 && strcmp(no_clone3, "1") == 0) &&
                      probe_clone_into(set->root);
    return true;
}

fm_cgroup_status fm_cgroup_open(fm_cgroup_set *set, fm_cgroup_mode mode, const char *parent,
                                char *why, size_t why_size)
{
    *set = (fm_cgroup_set){.kind = FM_CGROUP_NONE, .lock_fd = -1};
    char mnt[1024], dir[1024], why2[600] = "not asked for", why1[600] = "not asked for";
    if (mode == FM_CGROUP_OFF) {
        snprintf(why, why_size, "cgroups are off (--cgroup off)");
        return FM_CGROUP_OK;
    }
    if (mode != FM_CGROUP_V1) {
        if (!fm_cgroup_mount(NULL, mnt, sizeof mnt)) {
            snprintf(why2, sizeof why2, "no cgroup v2 file system is mounted");
        } else {
            if (parent && *parent)
                snprintf(dir, sizeof dir, "%s", parent);
            else
                fm_cgroup_own_dir(mnt, NULL, dir, sizeof dir);
            if (make_set(set, dir, FM_CGROUP_KIND_V2, why2, sizeof why2))
                return FM_CGROUP_OK;
        }
    }
    if (mode != FM_CGROUP_V2) {
        if (!fm_cgroup_mount("freezer", mnt, sizeof mnt)) {
            snprintf(why1, sizeof why1, "no cgroup v1 freezer hierarchy is mounted");
        } else {
            fm_cgroup_own_dir(mnt, "freezer", dir, sizeof dir);
            if (make_set(set, dir, FM_CGROUP_KIND_V1, why1, sizeof why1))
                return FM_CGROUP_OK;
        }
    }
    snprintf(why, why_size, "v2: %s; v1: %s", why2, why1);
    return mode == FM_CGROUP_AUTO ? FM_CGROUP_OK : FM_CGROUP_EUNAVAILABLE;
}

const char *fm_cgroup_describe(const fm_cgroup_set *set)
{
    switch (set->kind) {
    case FM_CGROUP_KIND_V2:
        return set->has_kill ? "cgroup v2" : "cgroup v2 (freeze)";
    case FM_CGROUP_KIND_V1:
        return "cgroup v1 freezer";
    case FM_CGROUP_NONE:
        break;
    }
    return "sweep";
}

static void close_fds(fm_cgroup *cg)
{
    int *fds[] = {&cg->dir_fd, &cg->procs_fd, &cg->events_fd, &cg->stat_fd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

static int open_in(const char *dir, const char *name, int flags)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return open(path, flags | O_CLOEXEC);
}

fm_cgroup_status fm_cgroup_new(fm_cgroup_set *set, fm_cgroup *cg, char *why, size_t why_size)
{
    *cg = (fm_cgroup){.dir_fd = -1, .procs_fd = -1, .events_fd = -1, .stat_fd = -1};
    if (set->kind == FM_CGROUP_NONE)
        return FM_CGROUP_OK;
    if (set->n_pool > 0) { /* empty since its last attempt (fm_cgroup_release) */
        *cg = set->pool[--set->n_pool];
        set->reused++;
        return FM_CGROUP_OK;
    }
    bool v2 = set->kind == FM_CGROUP_KIND_V2;
    snprintf(cg->dir, sizeof cg->dir, "%s/a%u", set->root, set->serial++);
    int err = mkdir(cg->dir, 0755) == 0 ? 0 : errno;
    if (err == 0) {
        cg->procs_fd = open_in(cg->dir, "cgroup.procs", O_WRONLY);
        cg->events_fd = v2 ? open_in(cg->dir, "cgroup.events", O_RDONLY) : -1;
        cg->stat_fd = v2 ? open_in(cg->dir, "cgroup.stat", O_RDONLY) : -1;
        cg->dir_fd = set->clone_into ? open(cg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (cg->procs_fd < 0 || (v2 && (cg->events_fd < 0 || cg->stat_fd < 0)) ||
            (set->clone_into && cg->dir_fd < 0)) {
            err = errno;
            close_fds(cg);
            rmdir(cg->dir);
        }
    }
    if (err != 0) {
        snprintf(why, why_size, "cannot make the cgroup %s: %s", cg->dir, strerror(err));
        cg->dir[0] = '\0';
        errno = err;
        return FM_CGROUP_ESYSTEM;
    }
    set->made++;
    return FM_CGROUP_OK;
}

int fm_cgroup_attach(int procs_fd)
{
    return write(procs_fd, "0", 1) == 1 ? 0 : errno;
}

bool fm_cgroup_empty(const fm_cgroup_set *set, const fm_cgroup *cg)
{
    char buf[256];
    if (set->kind == FM_CGROUP_KIND_V1) /* no pid listed (a new open: v1 keeps the list it
                                         * made for an open file for a second) */
        return fm_cgroup_read(cg->dir, "cgroup.procs", buf, sizeof buf) &&
               buf[strspn(buf, " \n")] == '\0';
    ssize_t n = cg->events_fd >= 0 ? pread(cg->events_fd, buf, sizeof buf - 1, 0) : -1;
    if (n < 0)
        return false;
    buf[n] = '\0';
    return strstr(buf, "populated 0") != NULL; /* the whole subtree */
}

int fm_cgroup_kill(const fm_cgroup_set *set, fm_cgroup *cg)
{
    if (cg->dir[0] == '\0' || fm_cgroup_empty(set, cg))
        return 0;
    cg->killed = cg->killed || set->has_kill;
    return kill_dir(cg->dir, set->has_kill);
}

/* May an empty cgroup take the next attempt?  Not while a freeze of it is asked for (a kill
 * without cgroup.kill thaws at its end; a thaw that failed would freeze the next attempt), nor
 * (v2) when the attempt made cgroups below it (root may: then it could hold controllers, and
 * no process may be born in a cgroup whose children have them). */
static bool reusable(const fm_cgroup_set *set, const fm_cgroup *cg)
{
    char buf[256];
    if (cg->killed || !fm_cgroup_empty(set, cg))
        return false;
    if (set->kind == FM_CGROUP_KIND_V1)
        return fm_cgroup_read(cg->dir, "freezer.state", buf, sizeof buf) &&
               strncmp(buf, "THAWED", 6) == 0;
    ssize_t n = pread(cg->stat_fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (strncmp(buf, "nr_descendants 0\n", 17) != 0) /* its first line */
        return false;
    return set->has_kill ||
           (fm_cgroup_read(cg->dir, "cgroup.freeze", buf, sizeof buf) && buf[0] == '0');
}

void fm_cgroup_release(fm_cgroup_set *set, fm_cgroup *cg)
{
    if (cg->dir[0] == '\0')
        return;
    if (reusable(set, cg)) {
        if (set->n_pool == set->cap_pool) {
            size_t cap = set->cap_pool ? set->cap_pool * 2 : 8;
            fm_cgroup *v = realloc(set->pool, cap * sizeof *v);
            if (v != NULL) {
                set->pool = v;
                set->cap_pool = cap;
            }
        }
        if (set->n_pool < set->cap_pool) {
            set->pool[set->n_pool++] = *cg;
            cg->dir[0] = '\0';
            cg->dir_fd = cg->procs_fd = cg->events_fd = cg->stat_fd = -1;
            return;
        }
    }
    /* Something is left (an escape, or its processes are still exiting): kill it all and
     * retire the cgroup; the next attempt gets a new one. */
    close_fds(cg);
    kill_dir(cg->dir, set->has_kill);
    if (rmdir_tree(cg->dir) == EBUSY) { /* its processes are still exiting: later */
        if (set->n_dying == set->cap_dying) {
            size_t cap = set->cap_dying ? set->cap_dying * 2 : 16;
            char(*v)[1100] = realloc(set->dying, cap * sizeof *v);
            if (v != NULL) {
                set->dying = v;
                set->cap_dying = cap;
            }
        }
        if (set->n_dying < set->cap_dying) /* else fm_cgroup_close removes it */
            snprintf(set->dying[set->n_dying++], sizeof set->dying[0], "%s", cg->dir);
    }
    cg->dir[0] = '\0';
}

size_t fm_cgroup_collect(fm_cgroup_set *set)
{
    size_t kept = 0;
    for (size_t i = 0; i < set->n_dying; i++) {
        if (rmdir_tree(set->dying[i]) != EBUSY)
            continue;
        if (!set->has_kill)
            freeze_kill(set->dying[i]);
        if (kept != i)
            memcpy(set->dying[kept], set->dying[i], sizeof set->dying[0]);
        kept++;
    }
    set->n_dying = kept;
    return kept;
}

void fm_cgroup_close(fm_cgroup_set *set)
{
    if (set->kind != FM_CGROUP_NONE && set->root[0]) { /* else never opened, or failed */
        remove_set(set->root, set->has_kill);
        if (set->lock_fd >= 0)
            close(set->lock_fd);
    }
    for (size_t i = 0; i < set->n_pool; i++)
        close_fds(&set->pool[i]);
    free(set->pool);
    set->pool = NULL;
    set->n_pool = set->cap_pool = 0;
    set->lock_fd = -1;
    free(set->dying);
    set->dying = NULL;
    set->n_dying = set->cap_dying = 0;
    set->root[0] = '\0';
    set->kind = FM_CGROUP_NONE;
}
