/*
 * drift_wl.c - a test-only command: a calibration workload (bernoulli or markov) whose failure
 * probability drifts with the machine's clock, simulated as the number of runs made so far by
 * every process sharing COUNTER (a file; the count is read and advanced under flock).
 *
 *   drift_wl COUNTER P0 P1 TOTAL WORKLOAD [key=value ...]
 *
 * Run number i (0, 1, ... over the whole sweep, whatever condition it belongs to) sets the
 * workload's p to P0 + (P1 - P0) min(1, i / TOTAL) and runs it once with run index i, the seed
 * of FLAKEMETER_SEED and the attempt of FLAKEMETER_ATTEMPT: the outcome is a pure function of
 * the order of the runs, so with -j 1 a seeded sweep is reproducible.  Exit 0 pass, 1 fail,
 * 2 bad arguments or an unusable counter.
 */
#include "fm_wl.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

static int next_index(const char *path, unsigned long long *out)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    char buf[32] = {0};
    int rc = -1;
    if (fd < 0 || flock(fd, LOCK_EX) != 0)
        goto out;
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    *out = got > 0 ? strtoull(buf, NULL, 10) : 0;
    int len = snprintf(buf, sizeof buf, "%llu\n", *out + 1);
    if (len > 0 && pwrite(fd, buf, (size_t)len, 0) == len && ftruncate(fd, len) == 0)
        rc = 0;
out:
    if (fd >= 0)
        close(fd); /* releases the lock */
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: drift_wl COUNTER P0 P1 TOTAL WORKLOAD [key=value ...]\n");
        return 2;
    }
    double p0 = strtod(argv[2], NULL), p1 = strtod(argv[3], NULL), total = strtod(argv[4], NULL);
    const struct fm_wl_desc *wl = fm_wl_find(argv[5]);
    unsigned long long i;
    if (wl == NULL || !(total > 0) || next_index(argv[1], &i) != 0) {
        fprintf(stderr, "drift_wl: bad workload, TOTAL or counter\n");
        return 2;
    }
    struct fm_wl_args args;
    const struct fm_wl_param *bad;
    fm_wl_args_init(&args, wl);
    for (int a = 6; a < argc; a++)
        if (fm_wl_args_set(&args, argv[a], &bad) != FM_WL_OK) {
            fprintf(stderr, "drift_wl: bad parameter %s\n", argv[a]);
            return 2;
        }
    double f = (double)i / total, p = p0 + (p1 - p0) * (f < 1 ? f : 1);
    char set[64];
    snprintf(set, sizeof set, "p=%.17g", p);
    if (fm_wl_args_set(&args, set, &bad) != FM_WL_OK) {
        fprintf(stderr, "drift_wl: %s has no p in range\n", argv[5]);
        return 2;
    }
    const char *seed = getenv("FLAKEMETER_SEED"), *attempt = getenv("FLAKEMETER_ATTEMPT");
    args.seed = seed ? strtoull(seed, NULL, 10) : 0;
    args.attempt = attempt ? strtoull(attempt, NULL, 10) : 1;
    args.run = i;
    struct fm_wl_result res;
    if (fm_wl_run(&args, &res) != FM_WL_OK)
        return 2;
    printf("run %llu p=%.4f %s\n", i, p, res.passed ? "pass" : "FAIL");
    return res.passed ? 0 : 1;
}
