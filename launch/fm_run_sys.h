/*
 * fm_run_sys.h - raw Linux system calls that return -errno and touch nothing else: no errno,
 * no lock, no allocation, no sanitizer interceptor.  A child made by clone(CLONE_VM) runs on
 * the runner's memory and thread pointer while the runner goes on, so it may call nothing of
 * libc (errno is the runner's thread-local variable); these are what it calls instead
 * (fm_run_exec.c).  Defined for x86-64, AArch64 and RISC-V 64; elsewhere FM_RUN_RAW_SYSCALLS is
 * 0 and the clone launch falls back to fork (whose child may use libc).
 *
 * fm_run_clone3 (fm_run_clone3.c, x86-64 and AArch64; FM_RUN_CLONE3 says where): clone3(2),
 * which glibc 2.36 has no wrapper for, for a child that starts on a stack of its own.  The raw
 * system call returns in the child on that stack, where no C frame of the caller exists, so a
 * few instructions of assembly (as glibc's clone.S) call fn(arg) there and end the process with
 * what it returns; the parent gets the child's pid, or -errno.
 */
#ifndef FM_RUN_SYS_H
#define FM_RUN_SYS_H

/* Functions that run in a CLONE_VM child: no sanitizer code may run there (it keeps state in
 * the runner's thread). */
#if defined(__clang__)
#define FM_RUN_CHILD_CODE                                                                          \
    __attribute__((no_sanitize("address", "thread", "undefined"),                                  \
                   disable_sanitizer_instrumentation))
#else
#define FM_RUN_CHILD_CODE __attribute__((no_sanitize("address", "thread", "undefined")))
#endif

#if defined(__x86_64__) || defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64)
#define FM_RUN_RAW_SYSCALLS 1

FM_RUN_CHILD_CODE static inline long fm_sys6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
#else
    register long a7 __asm__("a7") = n;
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d;
    register long a4 __asm__("a4") = e;
    register long a5 __asm__("a5") = f;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a7), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5)
                     : "memory");
    return a0;
#endif
}

#else
#define FM_RUN_RAW_SYSCALLS 0
#include <errno.h>
#include <unistd.h>
/* Only after fork (own memory): libc's syscall(), its errno turned into -errno. */
static inline long fm_sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long r = syscall(n, a, b, c, d, e, f);
    return r == -1 ? -errno : r;
}
#endif

#if defined(__x86_64__) || defined(__aarch64__)
#define FM_RUN_CLONE3 1
#include <stddef.h>
#include <stdint.h>

/* The kernel's struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2, Linux 5.7). */
typedef struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
} fm_run_clone_args;

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

long fm_run_clone3(fm_run_clone_args *args, size_t size, int (*fn)(void *), void *arg);
#else
#define FM_RUN_CLONE3 0
#endif

#define fm_sys0(n)             fm_sys6((n), 0, 0, 0, 0, 0, 0)
#define fm_sys1(n, a)          fm_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define fm_sys2(n, a, b)       fm_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define fm_sys3(n, a, b, c)    fm_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define fm_sys4(n, a, b, c, d) fm_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

#endif
