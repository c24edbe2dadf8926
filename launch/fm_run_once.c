/*
 * fm_run_once.c - one attempt of a command, alone and timed: what a benchmark needs when runs
 * must not overlap (`flakemeter bench emu` alternates native and emulated runs one at a time).
 *
 * The command is started as the run engine starts one (its own process group, /dev/null in,
 * stdout and stderr into one non-blocking pipe, FLAKEMETER_SEED/RUN/ATTEMPT/RUNNER in the
 * environment) and contained as the engine contains one (docs/reliability.md, "No escapes"):
 * in a cgroup of its own (fm_cgroup.h; a set opened and closed around the run, so nothing is
 * left between calls), joined by the child before exec (fork + exec, waiting until the exec);
 * where no cgroup can be made, by posix_spawn with this process a child subreaper, and after
 * the leader is reaped the run's processes that left its group are swept by their token
 * (fm_reap_sweep).  The caller's thread then waits in poll() on the pipe, a pidfd of the child
 * (a 5 ms tick instead when pidfd_open is missing) and the caller's signalfd, keeps up to
 * output_cap - 1 bytes of output, and at the deadline sends SIGTERM to the group, then SIGKILL
 * after the grace period.  When the leader has exited it is first peeked at with
 * waitid(WNOWAIT), what is left of its group is killed, and only then is it reaped with wait4
 * (for its CPU times and peak RSS), so the group id is never signalled after it could be
 * reused.  Wall time is CLOCK_MONOTONIC from just before the spawn to the reaping.
 * Stopping is the engine's design: signals arrive through a signalfd (the caller's, its signals
 * blocked), never through a handler; one read from it kills the run (group and cgroup) and
 * reaps it, and the run is reported as an error, "interrupted".
 */
#include "fm_reap.h"
#include "fm_run_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

typedef struct {
    pid_t pid;
    int out_fd, pid_fd;
    int64_t start_ns, deadline_ns, kill_ns; /* deadline 0: none; kill_ns: SIGKILL due (0: no) */
    bool timed_out, exited;
    char *buf;
    size_t cap, len;
    fm_cgroup_set *set; /* NULL or kind NONE: swept instead */
    fm_cgroup cg;
} once_state;

/* Read what the pipe holds; returns false at end of file. */
static bool drain(once_state *s)
{
    char scratch[4096];
    for (;;) {
        char *dst = scratch;
        size_t room = sizeof scratch;
        if (s->buf != NULL && s->len + 1 < s->cap) {
            dst = s->buf + s->len;
            room = s->cap - 1 - s->len;
        }
        ssize_t n = read(s->out_fd, dst, room);
        if (n > 0) {
            if (dst != scratch)
                s->len += (size_t)n;
            continue;
        }
        if (n == 0)
            return false;
        return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

/* Milliseconds poll may wait: to the next deadline, or a tick without a pidfd. */
static int wait_ms(const once_state *s, int64_t now)
{
    int64_t next = s->kill_ns ? s->kill_ns : s->timed_out ? 0 : s->deadline_ns;
    int ms = -1;
    if (next > 0)
        ms = next <= now ? 0 : (int)((next - now) / 1000000 + 1);
    if (s->pid_fd < 0 && (ms < 0 || ms > 5))
        ms = 5;
    return ms;
}

/* The deadlines: SIGTERM to the group at the timeout, SIGKILL after the grace period. */
static void enforce(once_state *s, int64_t now, double grace_s)
{
    if (!s->timed_out && s->deadline_ns > 0 && now >= s->deadline_ns) {
        s->timed_out = true;
        kill(-s->pid, SIGTERM);
        s->kill_ns = now + (int64_t)(grace_s * 1e9) + 1;
    } else if (s->kill_ns > 0 && now >= s->kill_ns) {
        kill(-s->pid, SIGKILL);
        fm_cgroup_kill(s->set, &s->cg);
        s->kill_ns = 0;
    }
}

/* Has the leader exited?  Peek without reaping. */
static bool leader_exited(const once_state *s)
{
    siginfo_t si = {0};
    return waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
}

static void classify(int status, bool timed_out, fm_run_record *rec)
{
    rec->exit_code = 0;
    rec->signal = 0;
    rec->core_dumped = false;
    if (WIFSIGNALED(status)) {
        rec->signal = WTERMSIG(status);
        rec->core_dumped = WCOREDUMP(status);
        rec->outcome = timed_out ? FM_OUTCOME_TIMEOUT : FM_OUTCOME_CRASH;
    } else {
        rec->exit_code = WEXITSTATUS(status);
        rec->outcome = timed_out             ? FM_OUTCOME_TIMEOUT
                       : rec->exit_code == 0 ? FM_OUTCOME_PASS
                                             : FM_OUTCOME_FAIL;
    }
}

/* Reap the leader after killing what is left of its group; fills the record. */
static void reap(once_state *s, const fm_run_once_config *cfg, fm_run_record *rec)
{
    kill(-s->pid, SIGKILL);         /* grandchildren never outlive the run */
    fm_cgroup_kill(s->set, &s->cg); /* nor what left its group */
    int status = 0;
    struct rusage ru = {0};
    while (wait4(s->pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    if (s->cg.dir[0])
        fm_cgroup_release(s->set, &s->cg);
    else
        fm_reap_sweep(NULL, 0, (fm_reap_which){.run = cfg->run, .attempt = cfg->attempt});
    rec->wall_ns = fm_run_now_ns() - s->start_ns;
    rec->user_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
    rec->sys_us = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    rec->max_rss_kb = ru.ru_maxrss;
    classify(status, s->timed_out, rec);
    drain(s); /* the last of the output (what a writer outside the group adds later is lost) */
}

/* A signal waiting in the caller's signalfd: its number (also to *stop_signal), else 0. */
static int read_signal(const fm_run_once_config *cfg)
{
    struct signalfd_siginfo si;
    if (cfg->signal_fd < 0 || read(cfg->signal_fd, &si, sizeof si) != (ssize_t)sizeof si)
        return 0;
    if (cfg->stop_signal != NULL)
        *cfg->stop_signal = (int)si.ssi_signo;
    return (int)si.ssi_signo;
}

static void loop(once_state *s, const fm_run_once_config *cfg, bool *interrupted)
{
    bool open_out = true;
    while (!s->exited) {
        struct pollfd fds[3] = {{.fd = open_out ? s->out_fd : -1, .events = POLLIN},
                                {.fd = s->pid_fd, .events = POLLIN},
                                {.fd = cfg->signal_fd, .events = POLLIN}};
        int rc = poll(fds, 3, wait_ms(s, fm_run_now_ns()));
        if (rc > 0 && fds[2].revents && read_signal(cfg) != 0) {
            *interrupted = true;
            return;
        }
        if (open_out && rc > 0 && (fds[0].revents & (POLLIN | POLLHUP)))
            open_out = drain(s);
        enforce(s, fm_run_now_ns(), cfg->grace_s);
        s->exited = leader_exited(s);
    }
}

void fm_run_once_config_init(fm_run_once_config *cfg)
{
    *cfg = (fm_run_once_config){.grace_s = 2.0, .attempt = 1, .signal_fd = -1};
}

fm_run_status fm_run_once(const fm_run_once_config *cfg, fm_run_record *rec, char *output,
                          size_t output_cap, char *error, size_t error_size)
{
    if (cfg == NULL || cfg->argv == NULL || cfg->argv[0] == NULL || rec == NULL ||
        cfg->timeout_s < 0 || cfg->grace_s < 0 || cfg->attempt < 1) {
        snprintf(error, error_size, "bad configuration for a single run");
        return FM_RUN_EINVAL;
    }
    fm_run_id id = {.seed = cfg->seed, .run = cfg->run, .attempt = cfg->attempt};
    fm_cgroup_set set;
    once_state s = {.buf = output, .cap = output_cap, .pid_fd = -1, .set = &set};
    *rec = (fm_run_record){.run_index = cfg->run, .attempt = cfg->attempt, .seed = cfg->seed};
    if (output != NULL && output_cap > 0)
        output[0] = '\0';
    if ((cfg->stop_signal != NULL && *cfg->stop_signal != 0) || read_signal(cfg) != 0) {
        rec->outcome = FM_OUTCOME_ERROR;
        snprintf(error, error_size, "interrupted");
        return FM_RUN_ESYSTEM;
    }
    char why[700];
    if (fm_cgroup_open(&set, cfg->cgroup, NULL, why, sizeof why) != FM_CGROUP_OK) {
        snprintf(error, error_size, "cgroup: %s", why);
        return FM_RUN_EUNAVAILABLE;
    }
    if (set.kind == FM_CGROUP_NONE) { /* the sweep finds the run's escapes among our children */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        fm_reap_token();
    }
    int err = 0;
    if (fm_cgroup_new(&set, &s.cg, why, sizeof why) != FM_CGROUP_OK)
        err = errno ? errno : EIO;
    rec->start_ns = fm_run_realtime_ns();
    s.start_ns = fm_run_now_ns();
    fm_launcher *launcher = NULL; /* keeps &lc until freed */
    fm_run_config lc;
    int efd = -1;
    fm_run_config_init(&lc);
    lc.argv = cfg->argv;
    lc.jobs = 1;
    if (err == 0 && s.cg.procs_fd >= 0) { /* the engine's launch: the child joins the cgroup */
        err = fm_launcher_new(&lc, 1, &launcher);
        if (err == 0)
            err = fm_launcher_start(launcher, 0, id, &s.cg, &s.pid, &s.out_fd, &efd);
    } else if (err == 0) {
        err = fm_run_spawn_command(cfg->argv, id, &s.pid, &s.out_fd);
    }
    if (err != 0) {
        fm_cgroup_release(&set, &s.cg);
        fm_cgroup_close(&set);
        fm_launcher_free(launcher);
        rec->outcome = FM_OUTCOME_ERROR;
        snprintf(error, error_size, "cannot start '%s': %s", cfg->argv[0], strerror(err));
        return FM_RUN_ESTART;
    }
    s.pid_fd = (int)syscall(SYS_pidfd_open, s.pid, 0);
    if (cfg->timeout_s > 0)
        s.deadline_ns = s.start_ns + (int64_t)(cfg->timeout_s * 1e9);
    bool interrupted = false;
    loop(&s, cfg, &interrupted);
    reap(&s, cfg, rec);
    fm_cgroup_close(&set);
    fm_launcher_free(launcher); /* its child was reaped */
    if (efd >= 0 && fm_run_setup_status(efd) != 0 && rec->outcome != FM_OUTCOME_PASS)
        rec->outcome = FM_OUTCOME_ERROR; /* the command could not be started */
    if (interrupted) {
        rec->outcome = FM_OUTCOME_ERROR;
        snprintf(error, error_size, "interrupted");
    }
    if (output != NULL && output_cap > 0)
        output[s.len < output_cap ? s.len : output_cap - 1] = '\0';
    close(s.out_fd);
    if (s.pid_fd >= 0)
        close(s.pid_fd);
    return interrupted ? FM_RUN_ESYSTEM : FM_RUN_OK;
}
