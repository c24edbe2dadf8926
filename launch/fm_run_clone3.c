/*
 * fm_run_clone3.c - fm_run_clone3 (fm_run_sys.h): clone3(2) for a child that runs fn(arg) on a
 * stack of its own, in a few instructions of assembly per architecture (x86-64, AArch64), as
 * glibc's clone.S does for clone(2).  glibc 2.36 has no clone3 wrapper, and a raw clone3 returns
 * in the child with the stack pointer at args->stack + args->stack_size: the caller's C frame
 * is not there, so the child must not return into C.  It calls fn(arg) at once and ends the
 * process (exit_group) with fn's value; fn never returns in fm_run_exec.c.
 *
 * Invariants: the function touches no memory but the kernel's arguments (no errno: the result
 * is the pid in the parent, or -errno; no libc, no sanitizer code, so it is safe for a CLONE_VM
 * child and for TSan, which would take an intercepted clone for a fork); the values the child
 * needs (fn, arg) travel in registers the system call preserves; the child clears the frame
 * pointer (and on AArch64 the link register), so a backtrace ends at fn.  The stack handed in is
 * 16-byte aligned (the caller's page-aligned mmap).  Elsewhere FM_RUN_CLONE3 is 0 and this file
 * is empty.
 */
#include "fm_run_sys.h"

#include <sys/syscall.h>

#if FM_RUN_CLONE3

/* The system call numbers are written out in the assembly; the compiler checks them here. */
#if defined(SYS_clone3)
_Static_assert(SYS_clone3 == 435, "clone3 is 435 on every architecture");
#endif
#if defined(__x86_64__)
_Static_assert(SYS_exit_group == 231, "exit_group on x86-64");
#else
_Static_assert(SYS_exit_group == 94, "exit_group on AArch64");
#endif

// clang-format off
#if defined(__x86_64__)
/* rdi = args, rsi = size, rdx = fn, rcx = arg.  syscall clobbers rcx and r11 only: arg goes to
 * r8 and fn stays in rdx.  The child's rsp is the stack top (16-byte aligned), so after the
 * call's push fn sees the alignment of an ordinary function entry. */
__asm__(".text\n"
        ".globl fm_run_clone3\n"
        ".hidden fm_run_clone3\n"
        ".type fm_run_clone3, @function\n"
        ".p2align 4\n"
        "fm_run_clone3:\n"
        "  .cfi_startproc\n"
        "  mov %rcx, %r8\n"
        "  mov $435, %eax\n"           /* clone3 */
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jz 1f\n"
        "  ret\n"                      /* the parent: pid or -errno */
        "1:\n"                         /* the child, on its stack */
        "  .cfi_undefined %rip\n"
        "  xor %ebp, %ebp\n"
        "  mov %r8, %rdi\n"
        "  call *%rdx\n"
        "  mov %eax, %edi\n"
        "  mov $231, %eax\n"           /* exit_group */
        "  syscall\n"
        "  hlt\n"
        "  .cfi_endproc\n"
        ".size fm_run_clone3, .-fm_run_clone3\n");
#elif defined(__aarch64__)
/* x0 = args, x1 = size, x2 = fn, x3 = arg; svc preserves every register but x0. */
__asm__(".text\n"
        ".globl fm_run_clone3\n"
        ".hidden fm_run_clone3\n"
        ".type fm_run_clone3, %function\n"
        ".p2align 4\n"
        "fm_run_clone3:\n"
        "  .cfi_startproc\n"
        "  mov x8, #435\n"             /* clone3 */
        "  svc #0\n"
        "  cbz x0, 1f\n"
        "  ret\n"                      /* the parent: pid or -errno */
        "1:\n"                         /* the child, on its stack */
        "  .cfi_undefined x30\n"
        "  mov x29, xzr\n"
        "  mov x30, xzr\n"
        "  mov x0, x3\n"
        "  blr x2\n"
        "  mov x8, #94\n"              /* exit_group */
        "  svc #0\n"
        "  brk #0\n"
        "  .cfi_endproc\n"
        ".size fm_run_clone3, .-fm_run_clone3\n");
#endif
// clang-format on

#endif
