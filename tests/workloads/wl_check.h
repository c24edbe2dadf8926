/*
 * wl_check.h - the few assertion helpers the workload tests share.
 *
 * CHECK(cond, fmt, ...) records a failure with its line and message and goes on, so one run
 * reports every broken check; a test's main returns wl_check_status().  Header-only: each
 * test is one file and one process (kmod's habit).
 */
#ifndef WL_CHECK_H
#define WL_CHECK_H

#include <stdio.h>

static int wl_check_failures;
static int wl_check_count;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        wl_check_count++;                                                                          \
        if (!(cond)) {                                                                             \
            wl_check_failures++;                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static inline int wl_check_status(void)
{
    printf("%d checks, %d failed\n", wl_check_count, wl_check_failures);
    return wl_check_failures ? 1 : 0;
}

#endif
