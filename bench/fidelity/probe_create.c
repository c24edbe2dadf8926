/*
 * probe_create.c - an LD_PRELOAD probe of the first pthread_create of a program, for
 * bench/fidelity/probe_create.py (issue 18: why pinning nearly removes stress_recurse's crash).
 * Not part of flakemeter; built by probe_create.py with `cc -shared -fPIC`.
 *
 * It records, into the first page of the file PROBE_OUT (which the driver creates, zeroed,
 * before each run; MAP_SHARED, so the record survives the crash of the process): the CPU time
 * the creating thread had used when it called pthread_create (since its fork: exec keeps the
 * task's account), the CPU time at this library's constructor (after the dynamic loader, before
 * main), the monotonic times just before and after pthread_create, the CPU each ran on, and the
 * monotonic time at which the new thread entered its start routine (wrapped here), with the
 * machine word at PROBE_OFF bytes into the thread's argument as it read it then (the stack
 * size: offset 16 in MicroPython's thread_entry_args_t, 0 in fm-stress's recurse_run).  The
 * probe's own work before the creation is one open and one mmap, both in the creator.
 * PROBE_CALL=N records the Nth pthread_create instead of the first (under qemu-user the probe is
 * loaded into QEMU itself, whose first host thread is its RCU thread and whose second is the
 * guest's first clone: PROBE_CALL=2); PROBE_OFF=-1 reads no word (QEMU's argument is its own).
 * Invariants: only one pthread_create is wrapped; nothing is written when PROBE_OUT is unset
 * or cannot be mapped.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct probe_record {
    int64_t cpu_at_create, t_before, t_after, t_thread, cpu_at_ctor;
    int32_t cpu_before, cpu_after, cpu_thread, created;
    uint64_t word_read;
};

static struct probe_record *rec;
static int64_t cpu_ctor;
static size_t word_off;
static void *(*real_start)(void *);

static int64_t ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((constructor)) static void at_load(void)
{
    cpu_ctor = ns(CLOCK_THREAD_CPUTIME_ID);
}

static void *wrapped_start(void *arg)
{
    rec->t_thread = ns(CLOCK_MONOTONIC);
    rec->cpu_thread = sched_getcpu();
    if (word_off != (size_t)-1)
        rec->word_read = *(volatile uint64_t *)((char *)arg + word_off);
    return real_start(arg);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    static int calls;
    if (real == NULL)
        real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(
            RTLD_NEXT, "pthread_create");
    const char *path = getenv("PROBE_OUT"), *off = getenv("PROBE_OFF");
    const char *which = getenv("PROBE_CALL");
    if (++calls != (which ? atoi(which) : 1) || path == NULL)
        return real(t, attr, start, arg);
    int fd = open(path, O_RDWR);
    void *map = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0)
        close(fd);
    if (map == MAP_FAILED)
        return real(t, attr, start, arg);
    rec = map;
    word_off = off ? (size_t)strtol(off, NULL, 0) : 0;
    real_start = start;
    rec->cpu_at_ctor = cpu_ctor;
    rec->cpu_at_create = ns(CLOCK_THREAD_CPUTIME_ID);
    rec->cpu_before = sched_getcpu();
    rec->t_before = ns(CLOCK_MONOTONIC);
    int r = real(t, attr, wrapped_start, arg);
    rec->t_after = ns(CLOCK_MONOTONIC);
    rec->cpu_after = sched_getcpu();
    rec->created = 1;
    return r;
}
