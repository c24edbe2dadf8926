/*
 * fm_hist_internal.h - what the files of history/ share and nobody else includes.
 */
#ifndef FM_HIST_INTERNAL_H
#define FM_HIST_INTERNAL_H

#include "fm_hist.h"
#include "fm_store.h"

/* A store status at libfmhist's boundary: every failure is ESTORE, detail in fm_store_errmsg. */
static inline fm_hist_status fm_hist__store(fm_store_status st)
{
    return st == FM_STORE_OK ? FM_HIST_OK : st == FM_STORE_EINVAL ? FM_HIST_EINVAL : FM_HIST_ESTORE;
}

#endif
