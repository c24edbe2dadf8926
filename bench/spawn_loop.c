/*
 * spawn_loop.c - the baseline for the runner benchmark: the fastest honest way to run a command
 * N times with J in flight.  posix_spawn (vfork speed), stdout and stderr to /dev/null, one
 * waitpid(-1) per exit, no bookkeeping.  flakemeter does strictly more per run (a process
 * group, a pipe read with poll, a signalfd, wait4 rusage, a store row), so the ratio of its
 * rate to this one is the price of that work.
 *
 * usage: spawn_loop N JOBS COMMAND [ARG ...]    prints: runs seconds runs_per_second
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: spawn_loop N JOBS COMMAND [ARG ...]\n");
        return 2;
    }
    long n = atol(argv[1]), jobs = atol(argv[2]), started = 0, done = 0;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double t0 = now();
    while (done < n) {
        while (started < n && started - done < jobs) {
            pid_t pid;
            if (posix_spawnp(&pid, argv[3], &fa, NULL, argv + 3, environ) != 0) {
                perror("posix_spawnp");
                return 1;
            }
            started++;
        }
        if (waitpid(-1, NULL, 0) > 0)
            done++;
    }
    double t = now() - t0;
    printf("%ld %.6f %.1f\n", n, t, (double)n / t);
    return 0;
}
