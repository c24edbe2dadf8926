/*
 * fm_run_status.c - the text of every fm_run_status (fm_run_status.h): one short phrase per
 * kind of failure, without the detail, which each call leaves in its error buffer.
 */
#include "fm_run_status.h"

const char *fm_run_strerror(fm_run_status status)
{
    switch (status) {
    case FM_RUN_OK:
        return "success";
    case FM_RUN_EINVAL:
        return "invalid argument";
    case FM_RUN_ESTART:
        return "cannot start the command";
    case FM_RUN_ESYSTEM:
        return "system call failed or interrupted";
    case FM_RUN_ESTORE:
        return "the store failed";
    case FM_RUN_ENOMEM:
        return "out of memory";
    case FM_RUN_EUNAVAILABLE:
        return "not available on this machine";
    case FM_RUN_ECONFLICT:
        return "campaign exists with other settings";
    case FM_RUN_ENUMERIC:
        return "numerical failure";
    }
    return "unknown status";
}
