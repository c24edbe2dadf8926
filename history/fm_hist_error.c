/*
 * fm_hist_error.c - libfmhist's status codes to text (fm_hist.h).
 *
 * Invariant: one case per fm_hist_status, each text a lower-case phrase without a final period,
 * so that callers can write "what: %s".
 */
#include "fm_hist.h"

const char *fm_hist_strerror(fm_hist_status status)
{
    switch (status) {
    case FM_HIST_OK:
        return "success";
    case FM_HIST_EINVAL:
        return "invalid argument";
    case FM_HIST_ENOMEM:
        return "out of memory";
    case FM_HIST_EIO:
        return "read error";
    case FM_HIST_EPARSE:
        return "malformed input";
    case FM_HIST_ERANGE:
        return "date outside 1970 to 2261";
    case FM_HIST_ESTORE:
        return "store failure";
    case FM_HIST_ESTATS:
        return "statistics failure";
    case FM_HIST_ENOENT:
        return "no such campaign";
    case FM_HIST_ENODATA:
        return "no data";
    case FM_HIST_EAMBIGUOUS:
        return "several suites: choose one";
    case FM_HIST_ECALLBACK:
        return "stopped by the callback";
    }
    return "unknown status";
}
