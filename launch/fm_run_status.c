/*
 * fm_run_status.c - the text of every fm_run_status (fm_run_status.h): one short phrase per
 * kind of failure, without the detail, which each call leaves in its error buffer; and the two
 * helpers that fill such buffers inside launch/ (fm_run__fail, fm_run__append: clamped, never
 * past the end).
 */
#include "fm_run_internal.h"

#include <stdarg.h>
#include <stdio.h>

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

fm_run_status fm_run__fail(fm_run_status st, char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return st;
}

bool fm_run__append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    if (*used >= size)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *used) {
        *used = size;
        return false;
    }
    *used += (size_t)n;
    return true;
}
