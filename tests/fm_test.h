/*
 * fm_test.h - the few helpers flakemeter's C tests share: a failure counter, checks that say
 * what they compared, and relative comparison of reals.  Each test program is its own process
 * (meson runs them one by one); it exits 1 if any check failed.
 */
#ifndef FM_TEST_H
#define FM_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

static int fm_test_failures;
static int fm_test_checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        fm_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            fm_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* |a - b| <= rel * max(|a|, |b|) + abs_floor; equal infinities and exact equality pass. */
static inline bool fm_test_close(double a, double b, double rel, double abs_floor)
{
    if (a == b)
        return true;
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + abs_floor;
}

static inline int fm_test_report(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, fm_test_checks, fm_test_failures);
    return fm_test_failures ? 1 : 0;
}

#endif
