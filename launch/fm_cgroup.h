/*
 * fm_cgroup.h - one cgroup per attempt, so that nothing an attempt started outlives it
 * (docs/reliability.md, "No escapes"; docs/design.md, "Runner").
 *
 * A campaign opens a set: a directory PARENT/flakemeter-run-PID-RANDOM-N made below the cgroup this
 * process is in (or below the quota cgroup of fm_cond, which then limits every attempt), in
 * the cgroup v2 hierarchy where one can be made and joined, else in the v1 freezer hierarchy.
 * Each attempt runs alone in a cgroup below it (fm_cgroup_new), which holds its directory,
 * its cgroup.procs and its cgroup.events open.  The child is born inside it (v2: clone3 with
 * CLONE_INTO_CGROUP and the directory's descriptor, fm_run_exec.c) or joins it with one write(2)
 * of "0" to cgroup.procs (fm_cgroup_attach, async-signal-safe) before it execs; either way every
 * process it starts is born inside, whatever it does to its session or process group.  At the
 * timeout and at the end of the attempt, fm_cgroup_kill kills everything inside: `cgroup.kill`
 * where the kernel has it (v2, Linux >= 5.14: one write, and a fork racing it cannot escape),
 * else freeze, SIGKILL every pid in cgroup.procs, thaw, until it is empty.  Both first read
 * whether anything is left in it (cgroup.events "populated 0"; v1: an empty cgroup.procs): an
 * empty cgroup stays empty, since only a process inside it (or a clone3 of ours) can put one
 * there.  fm_cgroup_release then keeps an empty (and thawed) cgroup for the next attempt
 * (a pool: one cgroup per slot, made once per campaign, not a mkdir and rmdir per attempt);
 * one whose processes are still dying is retired and removed at a later fm_cgroup_collect,
 * and the next attempt gets a new one.  fm_cgroup_close kills whatever is below the set and
 * removes it; it needs only the directory's name, so the runner's watchdog (fm_reap.h) calls
 * it after the runner was SIGKILLed.  The runner holds an flock on its set's directory while
 * the set is open; a set that nobody holds a lock on was left by a runner that died with its
 * watchdog, and the next fm_cgroup_open in the same parent removes it (a set still being made
 * may be taken so: its maker sees it go and makes another).  (Not by the PID in its name: runners
 * in other PID namespaces share the cgroup tree, and their PIDs mean nothing here; the random part
 * keeps their names apart.)
 *
 * Invariants: a set is never made in a cgroup that is not ours to write (an open that cannot
 * make, join and remove a probe cgroup reports FM_CGROUP_EUNAVAILABLE and changes nothing);
 * nothing here prints; status codes with one line of detail.
 */
#ifndef FM_CGROUP_H
#define FM_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum {
    FM_CGROUP_OK = 0,
    FM_CGROUP_EUNAVAILABLE, /* no cgroup can be made and joined here (why: one line) */
    FM_CGROUP_ESYSTEM,      /* a cgroup file could not be made or written (errno in why) */
    FM_CGROUP_EINVAL,       /* a bad mode name */
} fm_cgroup_status;

const char *fm_cgroup_strerror(fm_cgroup_status st);

/* What `--cgroup` asks for. */
typedef enum {
    FM_CGROUP_AUTO = 0, /* a cgroup where one can be made, else the subreaper sweep */
    FM_CGROUP_OFF,      /* the subreaper sweep only */
    FM_CGROUP_REQUIRE,  /* a cgroup (v2 or v1), or fail */
    FM_CGROUP_V2,       /* a cgroup v2, or fail */
    FM_CGROUP_V1,       /* the v1 freezer hierarchy, or fail (tests the v1 path on hybrid hosts) */
} fm_cgroup_mode;

/* "auto", "off", "require", "v2", "v1" -> mode; FM_CGROUP_EINVAL otherwise. */
fm_cgroup_status fm_cgroup_mode_parse(const char *text, fm_cgroup_mode *mode);

typedef enum { FM_CGROUP_NONE = 0, FM_CGROUP_KIND_V2, FM_CGROUP_KIND_V1 } fm_cgroup_kind;

typedef struct {
    fm_cgroup_kind kind; /* NONE: no set (mode off, or auto where none can be made) */
    bool has_kill;       /* v2 cgroup.kill; else freeze, kill, thaw */
    bool clone_into;     /* v2: a child born inside by clone3(CLONE_INTO_CGROUP) lives (probed) */
    char root[1024];     /* the set's directory; "" none */
    int lock_fd;         /* the set's directory, flock'ed while it is open; -1 none */
    unsigned serial;     /* names of the attempts' cgroups */
    char (*dying)[1100]; /* released cgroups whose processes were still exiting */
    size_t n_dying, cap_dying;
    struct fm_cgroup *pool; /* released empty cgroups, ready for the next attempt */
    size_t n_pool, cap_pool;
    unsigned long made, reused; /* cgroups made, and attempts that reused one (tests, bench) */
} fm_cgroup_set;

/* One attempt's cgroup; its descriptors are close-on-exec and live as long as it does. */
typedef struct fm_cgroup {
    char dir[1100]; /* "" none */
    int dir_fd;     /* the directory, for clone3(CLONE_INTO_CGROUP); -1 none (v1, or no clone3) */
    int procs_fd;   /* its cgroup.procs, open for writing; -1 none */
    int events_fd;  /* v2: cgroup.events, open for reading; -1 none (v1: cgroup.procs is read) */
    int stat_fd;    /* v2: cgroup.stat (nr_descendants), open for reading; -1 none (v1) */
    bool killed;    /* cgroup.kill was written to it: not reused (fm_cgroup.c, "Reuse") */
} fm_cgroup;

/*
 * Open a set by mode.  parent: the cgroup to make it in (NULL: below this process's own cgroup
 * in the chosen hierarchy; a v2 quota cgroup of fm_cond to nest under it).  FM_CGROUP_AUTO
 * never fails: without a usable cgroup, set->kind is NONE and why says why.  The environment
 * variable FLAKEMETER_CGROUP_NO_KILL=1 makes a v2 set use freeze+kill, and
 * FLAKEMETER_CGROUP_NO_CLONE3=1 makes its children join by cgroup.procs (tests, bench).
 */
fm_cgroup_status fm_cgroup_open(fm_cgroup_set *set, fm_cgroup_mode mode, const char *parent,
                                char *why, size_t why_size);

/* "cgroup v2", "cgroup v2 (freeze)", "cgroup v1 freezer" or "sweep" (kind NONE). */
const char *fm_cgroup_describe(const fm_cgroup_set *set);

/* The next attempt's cgroup: an empty one from the pool, else a new one below the set, with
 * its descriptors open.  (Kind NONE: cg->dir is "" and every descriptor -1.) */
fm_cgroup_status fm_cgroup_new(fm_cgroup_set *set, fm_cgroup *cg, char *why, size_t why_size);

/* In the child between fork and exec: join the cgroup.  Async-signal-safe.  0 or an errno. */
int fm_cgroup_attach(int procs_fd);

/* Is nothing (alive) left in the cgroup or below it?  One read of a descriptor it keeps. */
bool fm_cgroup_empty(const fm_cgroup_set *set, const fm_cgroup *cg);

/* SIGKILL everything in the cgroup (and below), unless it is empty.  Returns 0 or an errno. */
int fm_cgroup_kill(const fm_cgroup_set *set, fm_cgroup *cg);

/* The attempt is over (its main process reaped): an empty cgroup goes back to the pool; else
 * everything in it is killed and it is retired, removed now or at a later fm_cgroup_collect
 * while its processes exit.  cg becomes empty. */
void fm_cgroup_release(fm_cgroup_set *set, fm_cgroup *cg);

/* Remove released cgroups that have emptied; the number still waiting. */
size_t fm_cgroup_collect(fm_cgroup_set *set);

/* Kill everything below the set, wait (at most ~2 s) for it to die, remove it all (the pool
 * too: call it after every attempt's cgroup was released). */
void fm_cgroup_close(fm_cgroup_set *set);

/* ---- shared with the CPU-quota condition (fm_cond_apply.c) ---------------------------------- */

/* Mount point of the cgroup2 file system (controller NULL), or of the v1 hierarchy with it. */
bool fm_cgroup_mount(const char *controller, char *out, size_t size);
/* This process's cgroup directory in that hierarchy (the mount point when not found). */
void fm_cgroup_own_dir(const char *mnt, const char *controller, char *out, size_t size);
/* Is word one of the words of list (separated by spaces, commas, '+' or a newline)? */
bool fm_cgroup_has_word(const char *list, const char *word);
/* Read dir/name into buf (terminated); false when it cannot be read. */
bool fm_cgroup_read(const char *dir, const char *name, char *buf, size_t size);
/* Write text to dir/name: 0 or an errno. */
int fm_cgroup_write(const char *dir, const char *name, const char *text);
/* SIGKILL every process listed in dir/cgroup.procs, then rmdir dir, retrying for ~1 s: 0 or an
 * errno (EBUSY: something is still in it). */
int fm_cgroup_remove_dir(const char *dir);

#endif
