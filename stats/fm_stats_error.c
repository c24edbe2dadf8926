/*
 * fm_stats_error.c - status codes to text, and GSL's error handler.
 *
 * GSL's default handler aborts the process on a domain error or a failed convergence.  A
 * library must not do that to its caller, so the first call into the statistics core switches
 * the handler off (process-wide, once) and every GSL status or NaN is checked where it arises.
 */
#include "fm_stats_internal.h"

#include <gsl/gsl_errno.h>
#include <pthread.h>

const char *fm_stats_strerror(fm_stats_status status)
{
    switch (status) {
    case FM_STATS_OK:
        return "success";
    case FM_STATS_EDOM:
        return "argument outside its domain";
    case FM_STATS_ENOCONV:
        return "numerical routine failed to converge";
    case FM_STATS_ENOMEM:
        return "out of memory or beyond the size limit";
    }
    return "unknown status";
}

static void quiet_once(void)
{
    gsl_set_error_handler_off();
}

void fm_stats_gsl_quiet(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, quiet_once);
}
