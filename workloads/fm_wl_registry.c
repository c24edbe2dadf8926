/*
 * fm_wl_registry.c - the table of every workload, status texts, and the helpers they share.
 *
 * The registry is one constant array of descriptors in a fixed order (ports first, then the
 * calibration workloads); fm-stress --list, `flakemeter list` and the runner all read it, so a
 * workload exists once it has a row here.  Nothing in this file keeps mutable state.
 */
#include "fm_wl_internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct fm_wl_desc *const registry[] = {
    &fm_wl_stress_aes_desc,  &fm_wl_stress_recurse_desc, &fm_wl_stress_schedule_desc,
    &fm_wl_stress_heap_desc, &fm_wl_stress_create_desc,  &fm_wl_mutate_desc,
    &fm_wl_gc_race_desc,     &fm_wl_bernoulli_desc,      &fm_wl_markov_desc,
    &fm_wl_race_desc,        &fm_wl_slow_desc,           &fm_wl_slow_fail_desc,
};

size_t fm_wl_count(void)
{
    return FM_WL_N(registry);
}

const struct fm_wl_desc *fm_wl_at(size_t index)
{
    return index < FM_WL_N(registry) ? registry[index] : NULL;
}

const struct fm_wl_desc *fm_wl_find(const char *name)
{
    for (size_t i = 0; i < FM_WL_N(registry); i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const char *fm_wl_strerror(int status)
{
    switch (status) {
    case FM_WL_OK:
        return "success";
    case FM_WL_EUNKNOWN:
        return "no such workload";
    case FM_WL_EKEY:
        return "unknown parameter";
    case FM_WL_ESYNTAX:
        return "argument is not key=value";
    case FM_WL_ENUMBER:
        return "value is not a number";
    case FM_WL_ERANGE:
        return "value out of range";
    case FM_WL_ECHOICE:
        return "value is not one of the choices";
    case FM_WL_ENOMEM:
        return "out of memory";
    case FM_WL_ETHREAD:
        return "cannot create or join a thread";
    case FM_WL_ECRYPTO:
        return "the OpenSSL cipher failed";
    default:
        return "unknown status";
    }
}

int fm_wl_run(const struct fm_wl_args *args, struct fm_wl_result *res)
{
    memset(res, 0, sizeof *res);
    res->passed = true;
    return args->wl->run(args, res);
}

void fm_wl_fail(struct fm_wl_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof res->reason, fmt, ap);
    va_end(ap);
    res->passed = false;
}

uint64_t fm_wl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fm_wl_sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

long fm_wl_int(const struct fm_wl_args *args, const char *key)
{
    return (long)fm_wl_args_get(args, key);
}

size_t fm_wl_clamp_stack(size_t size)
{
    /* Like the unix port's mp_thread_create: a smaller size becomes PTHREAD_STACK_MIN (128 KiB
     * on aarch64 and mips, where pages may be 64 KiB). */
    size_t min = (size_t)PTHREAD_STACK_MIN;
    return size < min ? min : size;
}
