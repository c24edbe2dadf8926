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
#include <stdlib.h>

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

/*
 * Reference tables (the CSV files in tests/reference/, each made by a committed R or Python
 * script): open dir/name and skip its header row (a failed CHECK and NULL when it cannot be read).
 */
static inline FILE *fm_test_open_table(const char *dir, const char *name)
{
    char path[4096], header[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL && fgets(header, sizeof header, f) != NULL, "cannot read %s", path);
    return f;
}

/* The first nv numeric fields of the next CSV row (later text fields are skipped); false at
 * the end of the table. */
static inline bool fm_test_read_row(FILE *f, double *v, int nv)
{
    char line[1024];
    if (f == NULL || !fgets(line, sizeof line, f))
        return false;
    char *p = line;
    for (int i = 0; i < nv; i++) {
        v[i] = strtod(p, &p);
        p += *p == ',';
    }
    return true;
}

static inline int fm_test_report(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, fm_test_checks, fm_test_failures);
    return fm_test_failures ? 1 : 0;
}

#endif
