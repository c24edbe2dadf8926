/*
 * fm_run_status.h - the one status of libfmrun: every function of the engine (fm_run.h), the
 * run conditions (fm_cond.h), the cross table (fm_cross.h), sweeps (fm_sweep.h) and the
 * emulator benchmark (fm_bench_emu.h) that can fail returns an fm_run_status, as libfmstats
 * returns fm_stats_status and libfmstore fm_store_status.  FM_RUN_OK is 0, so `!= 0` tests for
 * failure.  fm_run_strerror names the kind of failure; the one-line detail (which command, which
 * condition, what to install) comes back in the caller's error buffer of each function, as
 * fm_store_errmsg gives the store's.
 */
#ifndef FM_RUN_STATUS_H
#define FM_RUN_STATUS_H

typedef enum {
    FM_RUN_OK = 0,
    FM_RUN_EINVAL,       /* bad configuration or input (a condition, a --vary value) */
    FM_RUN_ESTART,       /* the command could not be started */
    FM_RUN_ESYSTEM,      /* pipe/fork/poll/signalfd/cgroup failed, or a run was interrupted */
    FM_RUN_ESTORE,       /* the store failed */
    FM_RUN_ENOMEM,       /* out of memory */
    FM_RUN_EUNAVAILABLE, /* cannot be done on this machine (CPUs, cgroup, emulator, cross build) */
    FM_RUN_ECONFLICT,    /* a campaign of that label exists with other settings */
    FM_RUN_ENUMERIC,     /* a statistical computation failed */
} fm_run_status;

/* "invalid argument", "cannot start the command", ...: never NULL. */
const char *fm_run_strerror(fm_run_status status);

#endif
