/*
 * fm_faultshim.c - an LD_PRELOAD library for the fault loops (tests/faults/): it makes the Nth
 * call of one kind of system or library call fail, as SQLite's malloc and I/O-error tests do,
 * without a line of flakemeter's own code knowing about it.  Built only for the tests.
 *
 * Control (environment of the process under test):
 *   FM_FAULT=SITE:N[:ERRNO][:persist]  fail the Nth call of SITE (counted from main's start)
 *                                       with ERRNO (a name: ENOSPC, EMFILE, ...); "persist"
 *                                       fails every later call of SITE too.  N = 0: count only.
 *   FM_FAULT_PATH=TEXT                  write, read and fd: count only calls on a file whose
 *                                       path (readlink of /proc/self/fd/N) contains TEXT.
 *   FM_FAULT_STATE=FILE                 a file (>= 4096 bytes, made by the driver) the counts,
 *                                       the injections and the first injection's caller go to.
 *
 * Sites (default errno):
 *   alloc  malloc calloc realloc posix_memalign aligned_alloc memalign valloc: NULL (ENOMEM).
 *          strdup, asprintf, fopen ... allocate through malloc, so they fail with it.
 *   fork   fork (EAGAIN)             spawn  posix_spawn, posix_spawnp (EAGAIN)
 *   pipe   pipe, pipe2 (EMFILE)      exec   execve/execveat of a child of the tool (EAGAIN)
 *   fd     every call that makes a descriptor: open*, openat*, creat, pipe*, dup, dup3, socket,
 *          signalfd, eventfd, memfd_create, fopen*, opendir, mkstemp*, pidfd_open (EMFILE)
 *   write  write pwrite* writev pwritev ftruncate* fallocate posix_fallocate fsync fdatasync
 *          (ENOSPC); on a FILE (fwrite fputs fputc putc fprintf vfprintf fflush fclose) the
 *          stream's descriptor is replaced by /dev/full, so its buffered data fails with
 *          ENOSPC when stdio writes it, as on a full disk
 *   read   read pread* readv fread fgets getline getdelim (EIO)
 *
 * Scope: calls are counted in the process that loaded the shim, after its main() started
 * (library constructors are not the code under test) and never in a forked child, except exec,
 * which only happens in one (the counters are in shared memory, so the Nth exec of all the
 * children fails).  The tool's children exec by raw system calls (a clone(CLONE_VM) or clone3
 * child may not call libc: launch/fm_run_exec.c), which no LD_PRELOAD can see, so with FM_FAULT
 * naming exec the shim installs a seccomp filter that hands every execve and execveat to a
 * thread of the tool (SECCOMP_RET_USER_NOTIF, Linux >= 5.5 for the "continue" answer): an exec
 * by a direct child of the tool is counted there and fails with ERRNO or goes on; a later
 * exec (a grandchild's) goes on uncounted.  Where the filter cannot be installed, the libc
 * exec functions of a forked child are counted as before.  The shim takes itself out of LD_PRELOAD
 * at load time, so programs the tool starts run without it.  glibc only: the real allocator is
 * reached through __libc_malloc and friends, the rest through dlsym(RTLD_NEXT).  Not for sanitizer
 * builds (they interpose malloc).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

enum { S_ALLOC, S_FORK, S_SPAWN, S_PIPE, S_EXEC, S_FD, S_WRITE, S_READ, S_COUNT };
static const char *const site_names[S_COUNT] = {"alloc", "fork", "spawn", "pipe",
                                                "exec",  "fd",   "write", "read"};
static const int site_errno[S_COUNT] = {ENOMEM, EAGAIN, EAGAIN, EMFILE,
                                        EAGAIN, EMFILE, ENOSPC, EIO};

/* The state shared with the driver (and with forked children): one page of FM_FAULT_STATE. */
typedef struct {
    long calls[S_COUNT];    /* counted calls per site */
    long injected[S_COUNT]; /* failed calls per site */
    char where[256];        /* the caller of the first injected call: "module+0xoffset" */
} shim_state;

static shim_state local_state, *state = &local_state;
static int target_site = -1, target_errno;
static long target_n;
static bool persist, armed, in_child;
static bool exec_by_seccomp; /* exec is counted by the seccomp supervisor, not the wrappers */
static char path_filter[256];
static int devfull = -1;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

#define REAL(ret, name, params)                                                                    \
    static ret(*real_##name) params;                                                               \
    static ret(*get_##name(void)) params                                                           \
    {                                                                                              \
        if (real_##name == NULL)                                                                   \
            real_##name = (ret(*) params)dlsym(RTLD_NEXT, #name);                                  \
        return real_##name;                                                                        \
    }

REAL(int, dup2, (int, int))
REAL(int, open, (const char *, int, ...))
REAL(ssize_t, readlink, (const char *, char *, size_t))

static int errno_by_name(const char *s)
{
    static const struct {
        const char *name;
        int value;
    } table[] = {{"ENOMEM", ENOMEM}, {"EAGAIN", EAGAIN}, {"EMFILE", EMFILE}, {"ENFILE", ENFILE},
                 {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EIO", EIO},       {"EINTR", EINTR},
                 {"EFBIG", EFBIG},   {"E2BIG", E2BIG},   {"EPERM", EPERM},   {"ENOENT", ENOENT}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strncmp(s, table[i].name, strlen(table[i].name)) == 0)
            return table[i].value;
    return 0;
}

static void parse_spec(const char *spec)
{
    for (int s = 0; s < S_COUNT; s++) {
        size_t len = strlen(site_names[s]);
        if (strncmp(spec, site_names[s], len) != 0 || spec[len] != ':')
            continue;
        target_site = s;
        target_errno = site_errno[s];
        char *end;
        target_n = strtol(spec + len + 1, &end, 10);
        while (*end == ':') {
            end++;
            if (strncmp(end, "persist", 7) == 0)
                persist = true;
            else if (errno_by_name(end) != 0)
                target_errno = errno_by_name(end);
            end = strchr(end, ':') != NULL ? strchr(end, ':') : end + strlen(end);
        }
        return;
    }
}

static bool count(int s, void *ret);

/* ---- exec by seccomp (see Scope above) ----------------------------------------------------- */

#if defined(__x86_64__)
#define SHIM_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SHIM_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Is pid a child of this process?  /proc/PID/stat, by raw system calls (no site counted). */
static bool child_of_us(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *p = strrchr(buf, ')'); /* "pid (comm) state ppid ..." */
    int ppid = 0;
    return p != NULL && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == (int)getpid();
}

static void *exec_supervisor(void *arg)
{
    int fd = (int)(intptr_t)arg;
    for (;;) {
        struct seccomp_notif req;
        struct seccomp_notif_resp resp;
        memset(&req, 0, sizeof req);
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
            if (errno == EINTR || errno == ENOENT)
                continue;
            return NULL;
        }
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (armed && child_of_us((pid_t)req.pid) && count(S_EXEC, NULL)) {
            resp.flags = 0;
            resp.error = -target_errno;
        }
        ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp); /* ENOENT: it died meanwhile */
    }
}

static void exec_filter(void)
{
#ifdef SHIM_AUDIT_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SHIM_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof *f, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return;
    int fd =
        (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    pthread_t t;
    if (fd >= 0 && pthread_create(&t, NULL, exec_supervisor, (void *)(intptr_t)fd) == 0)
        exec_by_seccomp = true;
#endif
}

__attribute__((constructor)) static void shim_init(void)
{
    const char *spec = getenv("FM_FAULT"), *filter = getenv("FM_FAULT_PATH"),
               *file = getenv("FM_FAULT_STATE");
    if (spec != NULL)
        parse_spec(spec);
    if (filter != NULL)
        snprintf(path_filter, sizeof path_filter, "%s", filter);
    if (file != NULL) {
        int fd = get_open()(file, O_RDWR | O_CLOEXEC);
        void *p = fd >= 0
                      ? mmap(NULL, sizeof(shim_state), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                      : MAP_FAILED;
        if (p != MAP_FAILED)
            state = p;
        if (fd >= 0)
            close(fd);
    }
    devfull = get_open()("/dev/full", O_WRONLY | O_CLOEXEC);
    if (target_site == S_EXEC)
        exec_filter();
    /* Programs the tool starts run without the shim. */
    unsetenv("LD_PRELOAD");
}

/* Arm when main starts: what runs before it is the loader's and the libraries' business. */
typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;
static int armed_main(int argc, char **argv, char **envp)
{
    armed = true;
    return real_main(argc, argv, envp);
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end)
{
    int (*real)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *) =
        (int (*)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                 void *))dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return real(armed_main, argc, argv, init, fini, rtld_fini, stack_end);
}

static void note_where(void *ret)
{
    Dl_info info;
    if (state->where[0] != '\0')
        return;
    if (ret != NULL && dladdr(ret, &info) != 0 && info.dli_fname != NULL) {
        const char *base = strrchr(info.dli_fname, '/');
        snprintf(state->where, sizeof state->where, "%s+0x%lx%s%s",
                 base ? base + 1 : info.dli_fname,
                 (unsigned long)((uintptr_t)ret - (uintptr_t)info.dli_fbase),
                 info.dli_sname ? " in " : "", info.dli_sname ? info.dli_sname : "");
    } else {
        snprintf(state->where, sizeof state->where, "%p", ret);
    }
}

/* Count a call of site s; true when this one must fail. */
static bool hit(int s, void *ret)
{
    if (!armed || (in_child && s != S_EXEC) || (!in_child && s == S_EXEC) ||
        (s == S_EXEC && exec_by_seccomp))
        return false;
    return count(s, ret);
}

static bool count(int s, void *ret)
{
    long n = __atomic_add_fetch(&state->calls[s], 1, __ATOMIC_SEQ_CST);
    if (s != target_site || target_n <= 0 || (n != target_n && !(persist && n > target_n)))
        return false;
    if (__atomic_add_fetch(&state->injected[s], 1, __ATOMIC_SEQ_CST) == 1)
        note_where(ret);
    return true;
}

#define FAIL_IF(site, value)                                                                       \
    do {                                                                                           \
        if (hit(site, __builtin_return_address(0))) {                                              \
            errno = target_errno;                                                                  \
            return value;                                                                          \
        }                                                                                          \
    } while (0)

/* Does descriptor fd lead to a file the filter names? */
static bool fd_matches(int fd)
{
    if (path_filter[0] == '\0')
        return true;
    if (fd < 0)
        return false;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = get_readlink()(link, path, sizeof path - 1);
    if (n <= 0)
        return false;
    path[n] = '\0';
    return strstr(path, path_filter) != NULL;
}

static bool path_matches(const char *path)
{
    return path_filter[0] == '\0' || (path != NULL && strstr(path, path_filter) != NULL);
}

/* A counted call on descriptor fd (only if it matches the filter). */
static bool fd_hit(int s, int fd, void *ret)
{
    if (!armed || in_child || (path_filter[0] != '\0' && !fd_matches(fd)))
        return false;
    return hit(s, ret);
}

#define FAIL_FD(site, fd, value)                                                                   \
    do {                                                                                           \
        if (fd_hit(site, fd, __builtin_return_address(0))) {                                       \
            errno = target_errno;                                                                  \
            return value;                                                                          \
        }                                                                                          \
    } while (0)

/* ---- alloc --------------------------------------------------------------------------------- */

void *malloc(size_t size)
{
    FAIL_IF(S_ALLOC, NULL);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    FAIL_IF(S_ALLOC, NULL);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    if (size > 0)
        FAIL_IF(S_ALLOC, NULL);
    return __libc_realloc(p, size);
}

void *memalign(size_t align, size_t size)
{
    FAIL_IF(S_ALLOC, NULL);
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    FAIL_IF(S_ALLOC, NULL);
    return __libc_memalign(align, size);
}

void *valloc(size_t size)
{
    FAIL_IF(S_ALLOC, NULL);
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (hit(S_ALLOC, __builtin_return_address(0)))
        return ENOMEM;
    if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = __libc_memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

/* ---- processes ----------------------------------------------------------------------------- */

REAL(pid_t, fork, (void))
pid_t fork(void)
{
    FAIL_IF(S_FORK, -1);
    pid_t pid = get_fork()();
    if (pid == 0)
        in_child = true;
    return pid;
}

REAL(int, posix_spawn,
     (pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
      char *const[], char *const[]))
int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    if (hit(S_SPAWN, __builtin_return_address(0)))
        return target_errno;
    return get_posix_spawn()(pid, path, fa, attr, argv, envp);
}

REAL(int, posix_spawnp,
     (pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
      char *const[], char *const[]))
int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    if (hit(S_SPAWN, __builtin_return_address(0)))
        return target_errno;
    return get_posix_spawnp()(pid, file, fa, attr, argv, envp);
}

REAL(int, execve, (const char *, char *const[], char *const[]))
int execve(const char *path, char *const argv[], char *const envp[])
{
    FAIL_IF(S_EXEC, -1);
    return get_execve()(path, argv, envp);
}

REAL(int, execv, (const char *, char *const[]))
int execv(const char *path, char *const argv[])
{
    FAIL_IF(S_EXEC, -1);
    return get_execv()(path, argv);
}

REAL(int, execvp, (const char *, char *const[]))
int execvp(const char *file, char *const argv[])
{
    FAIL_IF(S_EXEC, -1);
    return get_execvp()(file, argv);
}

REAL(int, execvpe, (const char *, char *const[], char *const[]))
int execvpe(const char *file, char *const argv[], char *const envp[])
{
    FAIL_IF(S_EXEC, -1);
    return get_execvpe()(file, argv, envp);
}

/* ---- descriptors --------------------------------------------------------------------------- */

REAL(int, pipe, (int[2]))
int pipe(int fds[2])
{
    FAIL_IF(S_PIPE, -1);
    FAIL_IF(S_FD, -1);
    return get_pipe()(fds);
}

REAL(int, pipe2, (int[2], int))
int pipe2(int fds[2], int flags)
{
    FAIL_IF(S_PIPE, -1);
    FAIL_IF(S_FD, -1);
    return get_pipe2()(fds, flags);
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

#define OPEN_LIKE(name, ...)                                                                       \
    do {                                                                                           \
        if (path_matches(path))                                                                    \
            FAIL_IF(S_FD, -1);                                                                     \
        va_list ap;                                                                                \
        va_start(ap, flags);                                                                       \
        mode_t mode = mode_arg(flags, ap);                                                         \
        va_end(ap);                                                                                \
        return get_##name()(__VA_ARGS__, mode);                                                    \
    } while (0)

int open(const char *path, int flags, ...)
{
    OPEN_LIKE(open, path, flags);
}

REAL(int, open64, (const char *, int, ...))
int open64(const char *path, int flags, ...)
{
    OPEN_LIKE(open64, path, flags);
}

REAL(int, openat, (int, const char *, int, ...))
int openat(int dir, const char *path, int flags, ...)
{
    OPEN_LIKE(openat, dir, path, flags);
}

REAL(int, openat64, (int, const char *, int, ...))
int openat64(int dir, const char *path, int flags, ...)
{
    OPEN_LIKE(openat64, dir, path, flags);
}

REAL(int, creat, (const char *, mode_t))
int creat(const char *path, mode_t mode)
{
    if (path_matches(path))
        FAIL_IF(S_FD, -1);
    return get_creat()(path, mode);
}

REAL(FILE *, fopen, (const char *, const char *))
FILE *fopen(const char *path, const char *mode)
{
    if (path_matches(path))
        FAIL_IF(S_FD, NULL);
    return get_fopen()(path, mode);
}

REAL(FILE *, fopen64, (const char *, const char *))
FILE *fopen64(const char *path, const char *mode)
{
    if (path_matches(path))
        FAIL_IF(S_FD, NULL);
    return get_fopen64()(path, mode);
}

REAL(DIR *, opendir, (const char *))
DIR *opendir(const char *path)
{
    if (path_matches(path))
        FAIL_IF(S_FD, NULL);
    return get_opendir()(path);
}

REAL(int, mkstemp, (char *))
int mkstemp(char *templ)
{
    if (path_matches(templ))
        FAIL_IF(S_FD, -1);
    return get_mkstemp()(templ);
}

REAL(int, mkostemp, (char *, int))
int mkostemp(char *templ, int flags)
{
    if (path_matches(templ))
        FAIL_IF(S_FD, -1);
    return get_mkostemp()(templ, flags);
}

REAL(int, mkstemp64, (char *))
int mkstemp64(char *templ)
{
    if (path_matches(templ))
        FAIL_IF(S_FD, -1);
    return get_mkstemp64()(templ);
}

REAL(int, mkostemp64, (char *, int))
int mkostemp64(char *templ, int flags)
{
    if (path_matches(templ))
        FAIL_IF(S_FD, -1);
    return get_mkostemp64()(templ, flags);
}

/* Descriptors that name no file: counted only without a path filter. */
#define ANON_FD(value)                                                                             \
    do {                                                                                           \
        if (path_filter[0] == '\0')                                                                \
            FAIL_IF(S_FD, value);                                                                  \
    } while (0)

REAL(int, dup, (int))
int dup(int fd)
{
    ANON_FD(-1);
    return get_dup()(fd);
}

REAL(int, dup3, (int, int, int))
int dup3(int fd, int to, int flags)
{
    ANON_FD(-1);
    return get_dup3()(fd, to, flags);
}

REAL(int, socket, (int, int, int))
int socket(int domain, int type, int protocol)
{
    ANON_FD(-1);
    return get_socket()(domain, type, protocol);
}

REAL(int, signalfd, (int, const sigset_t *, int))
int signalfd(int fd, const sigset_t *mask, int flags)
{
    if (fd == -1)
        ANON_FD(-1);
    return get_signalfd()(fd, mask, flags);
}

REAL(int, eventfd, (unsigned, int))
int eventfd(unsigned value, int flags)
{
    ANON_FD(-1);
    return get_eventfd()(value, flags);
}

REAL(int, memfd_create, (const char *, unsigned))
int memfd_create(const char *name, unsigned flags)
{
    ANON_FD(-1);
    return get_memfd_create()(name, flags);
}

/* syscall(2) itself: only pidfd_open is a descriptor maker the tool calls this way. */
REAL(long, syscall, (long, ...))
long syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (nr == SYS_pidfd_open)
        ANON_FD(-1);
    return get_syscall()(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- write --------------------------------------------------------------------------------- */

REAL(ssize_t, write, (int, const void *, size_t))
ssize_t write(int fd, const void *buf, size_t n)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_write()(fd, buf, n);
}

REAL(ssize_t, pwrite, (int, const void *, size_t, off_t))
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_pwrite()(fd, buf, n, off);
}

REAL(ssize_t, pwrite64, (int, const void *, size_t, off_t))
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_pwrite64()(fd, buf, n, off);
}

REAL(ssize_t, writev, (int, const struct iovec *, int))
ssize_t writev(int fd, const struct iovec *iov, int n)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_writev()(fd, iov, n);
}

REAL(ssize_t, pwritev, (int, const struct iovec *, int, off_t))
ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_pwritev()(fd, iov, n, off);
}

REAL(int, ftruncate, (int, off_t))
int ftruncate(int fd, off_t len)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_ftruncate()(fd, len);
}

REAL(int, ftruncate64, (int, off_t))
int ftruncate64(int fd, off_t len)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_ftruncate64()(fd, len);
}

REAL(int, fallocate, (int, int, off_t, off_t))
int fallocate(int fd, int mode, off_t off, off_t len)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_fallocate()(fd, mode, off, len);
}

REAL(int, posix_fallocate, (int, off_t, off_t))
int posix_fallocate(int fd, off_t off, off_t len)
{
    if (fd_hit(S_WRITE, fd, __builtin_return_address(0)))
        return target_errno;
    return get_posix_fallocate()(fd, off, len);
}

REAL(int, fsync, (int))
int fsync(int fd)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_fsync()(fd);
}

REAL(int, fdatasync, (int))
int fdatasync(int fd)
{
    FAIL_FD(S_WRITE, fd, -1);
    return get_fdatasync()(fd);
}

/*
 * stdio writes through libc's internal write, which no preload can reach: at the Nth counted
 * call the stream's descriptor becomes /dev/full, and whatever stdio writes from then on fails
 * with ENOSPC (now, or at the fflush/fclose that writes the buffer).
 */
static void stream_hit(FILE *f, void *ret)
{
    if (f != NULL && fd_hit(S_WRITE, fileno(f), ret) && devfull >= 0)
        get_dup2()(devfull, fileno(f));
}

REAL(size_t, fwrite, (const void *, size_t, size_t, FILE *))
size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    stream_hit(f, __builtin_return_address(0));
    return get_fwrite()(p, size, n, f);
}

REAL(int, fputs, (const char *, FILE *))
int fputs(const char *s, FILE *f)
{
    stream_hit(f, __builtin_return_address(0));
    return get_fputs()(s, f);
}

REAL(int, fputc, (int, FILE *))
int fputc(int c, FILE *f)
{
    stream_hit(f, __builtin_return_address(0));
    return get_fputc()(c, f);
}

REAL(int, putc, (int, FILE *))
int putc(int c, FILE *f)
{
    stream_hit(f, __builtin_return_address(0));
    return get_putc()(c, f);
}

REAL(int, vfprintf, (FILE *, const char *, va_list))
int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    stream_hit(f, __builtin_return_address(0));
    return get_vfprintf()(f, fmt, ap);
}

int fprintf(FILE *f, const char *fmt, ...)
{
    stream_hit(f, __builtin_return_address(0));
    va_list ap;
    va_start(ap, fmt);
    int rc = get_vfprintf()(f, fmt, ap);
    va_end(ap);
    return rc;
}

REAL(int, fflush, (FILE *))
int fflush(FILE *f)
{
    stream_hit(f, __builtin_return_address(0));
    return get_fflush()(f);
}

REAL(int, fclose, (FILE *))
int fclose(FILE *f)
{
    stream_hit(f, __builtin_return_address(0));
    return get_fclose()(f);
}

/* ---- read ---------------------------------------------------------------------------------- */

REAL(ssize_t, read, (int, void *, size_t))
ssize_t read(int fd, void *buf, size_t n)
{
    FAIL_FD(S_READ, fd, -1);
    return get_read()(fd, buf, n);
}

REAL(ssize_t, pread, (int, void *, size_t, off_t))
ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    FAIL_FD(S_READ, fd, -1);
    return get_pread()(fd, buf, n, off);
}

REAL(ssize_t, pread64, (int, void *, size_t, off_t))
ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    FAIL_FD(S_READ, fd, -1);
    return get_pread64()(fd, buf, n, off);
}

REAL(ssize_t, readv, (int, const struct iovec *, int))
ssize_t readv(int fd, const struct iovec *iov, int n)
{
    FAIL_FD(S_READ, fd, -1);
    return get_readv()(fd, iov, n);
}

/* A stream read fails as a device error would: the error flag set, nothing read. */
#define STREAM_READ(f, value)                                                                      \
    do {                                                                                           \
        if ((f) != NULL && fd_hit(S_READ, fileno(f), __builtin_return_address(0))) {               \
            errno = target_errno;                                                                  \
            (f)->_flags |= 0x20; /* _IO_ERR_SEEN: ferror() is true */                              \
            return value;                                                                          \
        }                                                                                          \
    } while (0)

REAL(size_t, fread, (void *, size_t, size_t, FILE *))
size_t fread(void *p, size_t size, size_t n, FILE *f)
{
    STREAM_READ(f, 0);
    return get_fread()(p, size, n, f);
}

REAL(char *, fgets, (char *, int, FILE *))
char *fgets(char *s, int n, FILE *f)
{
    STREAM_READ(f, NULL);
    return get_fgets()(s, n, f);
}

REAL(ssize_t, getdelim, (char **, size_t *, int, FILE *))
ssize_t getdelim(char **line, size_t *n, int delim, FILE *f)
{
    STREAM_READ(f, -1);
    return get_getdelim()(line, n, delim, f);
}

ssize_t getline(char **line, size_t *n, FILE *f)
{
    STREAM_READ(f, -1);
    return get_getdelim()(line, n, '\n', f);
}
