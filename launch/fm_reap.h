/*
 * fm_reap.h - no process outlives its attempt or its runner (docs/design.md "Runner": escapes).
 *
 * Every attempt's environment carries FLAKEMETER_RUNNER=<token> (one token per runner) beside
 * FLAKEMETER_RUN and FLAKEMETER_ATTEMPT.  The runner is a child subreaper, so a process that
 * left the attempt's process group (setsid, setpgid, a double-fork daemon) is reparented to the
 * runner when its parent dies: fm_reap_sweep finds such orphans among the runner's children and
 * kills each with everything below it.  fm_reap_watchdog is a helper process that outlives a
 * killed runner and kills every process that carries the token.
 */
#ifndef FM_REAP_H
#define FM_REAP_H

#include "fm_cgroup.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The token of this runner (made on first use): "<pid>-<random hex>". */
const char *fm_reap_token(void);

/* Which orphans a sweep kills. */
typedef struct {
    bool all;      /* every orphan (campaign end) */
    bool unmarked; /* also orphans without a readable FLAKEMETER_RUNNER (no other attempt runs) */
    int64_t run;   /* else: the orphans of this attempt */
    uint32_t attempt;
} fm_reap_which;

/*
 * Kill the orphans that `which` selects - children of this process other than keep[0..n_keep) -
 * and all their descendants, reaping the orphans, round after round until none is left (a
 * process that forked before it died hands its child to us).  Returns the number of processes
 * killed.  Cheap when there is no orphan: one read of /proc/self/task/N/children.
 */
int fm_reap_sweep(const pid_t *keep, int n_keep, fm_reap_which which);

/*
 * Start the watchdog: a child that waits on a pipe and, at end-of-file (the runner ended or was
 * killed), kills everything in the runner's cgroup set (cgroups: NULL or kind NONE for none)
 * and removes it, then kills every process whose environment holds this runner's token, then
 * exits.  Call while single-threaded, after the set is open.  *wfd: the write end
 * (close-on-exec), to close at the end.  Returns the watchdog's pid, or -1 (errno).
 */
pid_t fm_reap_watchdog(int *wfd, const fm_cgroup_set *cgroups);

/* The number of live processes whose environment holds token (tests, the watchdog). */
int fm_reap_kill_token(const char *token, bool kill_them);

#endif
