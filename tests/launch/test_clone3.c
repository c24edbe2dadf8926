/*
 * test_clone3.c - fm_run_clone3 (launch/fm_run_clone3.c), the clone3 trampoline of the default
 * launch, on its own: a CLONE_VM child runs fn(arg) on the stack it was given, its writes are
 * seen by the parent (shared memory), its exit status is fn's value, with and without
 * CLONE_VFORK; a bad argument size is -EINVAL in the parent and no child.  Where there is no
 * trampoline (FM_RUN_CLONE3 0) or the kernel has no clone3 (ENOSYS), it exits 77 saying so.
 */
#include "fm_run_sys.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>

static int failures;

static void check(int cond, const char *what)
{
    if (!cond) {
        failures++;
        fprintf(stderr, "FAIL: %s\n", what);
    }
}

#if FM_RUN_CLONE3
static volatile int seen;

/* Runs in the child, on our memory: no libc, no sanitizer code. */
FM_RUN_CHILD_CODE static int child(void *arg)
{
    volatile char on_stack[256]; /* uses the stack it was given */
    on_stack[0] = (char)*(int *)arg;
    seen = on_stack[0] + 1;
    return 40 + *(int *)arg;
}

static int wait_status(long pid)
{
    int status = -1;
    while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

int main(void)
{
#if !FM_RUN_CLONE3
    printf("SKIP: no clone3 trampoline for this architecture (the launch uses clone)\n");
    return 77;
#else
    size_t size = 64 * 1024;
    char *stack =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (int vfork = 0; vfork < 2; vfork++) {
        int arg = 2 + vfork;
        seen = 0;
        fm_run_clone_args ca = {.flags = CLONE_VM | (vfork ? CLONE_VFORK : 0),
                                .exit_signal = SIGCHLD,
                                .stack = (uint64_t)(uintptr_t)stack,
                                .stack_size = size};
        long pid = fm_run_clone3(&ca, sizeof ca, child, &arg);
        if (pid == -ENOSYS) {
            printf("SKIP: this kernel has no clone3 (the launch falls back to clone)\n");
            return 77;
        }
        check(pid > 0, "clone3 started a child");
        if (pid <= 0)
            continue;
        int st = wait_status(pid);
        check(st == 40 + arg,
              vfork ? "CLONE_VFORK: exit status is fn's value" : "exit status is fn's value");
        check(seen == arg + 1, "the child's write is in our memory");
    }
    fm_run_clone_args ca = {.flags = CLONE_VM,
                            .exit_signal = SIGCHLD,
                            .stack = (uint64_t)(uintptr_t)stack,
                            .stack_size = size};
    int arg = 0;
    check(fm_run_clone3(&ca, 8, child, &arg) == -EINVAL, "a too small size is -EINVAL");
    munmap(stack, size);
    printf("test_clone3: %d failed\n", failures);
    return failures ? 1 : 0;
#endif
}
