/*
 * fm_run.c - the campaign loop: start attempts into free slots, read their output, enforce
 * timeouts, reap them, classify and store every attempt, schedule retries, and decide when to
 * stop.  See fm_run.h for the design; this file keeps to one thread and one poll loop.
 *
 * Invariants:
 *  - A slot is busy from the start of an attempt until its leader is reaped AND its output pipe
 *    is closed; only then is the attempt classified and stored.
 *  - The leader of a slot is reaped only after its process group has been sent SIGKILL (we peek
 *    with waitid(WNOWAIT) first), so a group id is never signalled after its number could have
 *    been reused.
 *  - Retries of a chain start before any new chain, so chains finish in order of start.
 */
#include "fm_reap.h"
#include "fm_run_internal.h"
#include "fm_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NEVER INT64_MAX

typedef struct {
    pid_t pid; /* 0: free */
    int fd;    /* output pipe, -1 when closed */
    int efd;   /* set-up pipe, read after the child ended; -1 none */
    bool reaped, timed_out;
    bool interrupted; /* killed because the runner was stopping */
    int wstatus;
    struct rusage ru;
    fm_cgroup cg; /* the attempt's cgroup ("" when the set has none) */
    int64_t start_mono, start_real, end_mono;
    int64_t deadline, kill_at;
    fm_run_id id;
    char *out; /* output_cap + 1 bytes */
    size_t out_len, out_total;
    char tail[FM_STORE_EVIDENCE_BYTES]; /* the last bytes of output, a ring at out_total */
} slot;

/* A write for the store that waits its turn: a run row, or the output tail of one (ev != NULL). */
typedef struct {
    fm_run_record r;
    char *ev;
    size_t ev_len;
    int64_t out_total;
    bool evidence;
} store_write;

/* A chain waiting for its next attempt. */
typedef struct {
    int64_t run;
    uint32_t attempt;
} pending_retry;

typedef struct {
    const fm_run_config *cfg;
    fm_run_report *rep;
    slot *slots;
    int n_slots, active;
    pending_retry *retries; /* a stack: at most one pending retry per slot */
    struct pollfd *fds;     /* n_slots + 1: the signalfd, then the busy slots' pipes */
    slot **owner;           /* the slot of each fds[i], i >= 1 */
    int n_retries;
    int sigfd;
    int64_t next_run; /* next new chain index (≡ shard_index mod shard_count) */
    int64_t started, done;
    int64_t t0, next_progress;
    int signals;           /* SIGINT/SIGTERM received */
    bool stop_new;         /* no new chains (limit reached, decided, signal or error) */
    fm_launcher *launcher; /* how attempts start (fm_run_exec.c); freed after all are reaped */
    int kept;              /* output files kept */
    int64_t usage_errors; /* first attempts of this invocation that ended in an --error-exit code */
    fm_seq_decision seq;  /* --until-decided: the boundary rule's state, kept across checks */
    pid_t *keep;          /* n_slots + 1: the processes a sweep leaves alone (fm_reap_sweep) */
    pid_t watchdog;       /* kills the attempts' processes if the runner dies; -1 none */
    int watchdog_fd;      /* its pipe: closing it (or dying) sets it off */
    int64_t swept;        /* escaped processes killed */
    fm_cgroup_set cgroups; /* one cgroup per attempt (fm_cgroup.h); kind NONE: the sweeps */
    store_write *queue;    /* writes not yet in the store (another process holds its lock) */
    size_t q_head, q_len, q_cap;
    int64_t store_retry_at; /* when to try the queue again; NEVER when empty */
    bool shared;            /* a shared store (PostgreSQL): indices claimed, decided cluster-wide */
    uint64_t cluster_seen;  /* version of the last combined counts checked */
} engine;

void fm_run_config_init(fm_run_config *c)
{
    memset(c, 0, sizeof *c);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->jobs = cpus > 0 ? (int)cpus : 1;
    c->grace_s = 2.0;
    c->output_cap = 64 * 1024;
    c->keep_files = 100;
    c->shard_count = 1;
    c->target = 1e-6;
    c->confidence = 0.95;
    c->progress_interval_s = 0.1;
}

static int64_t seconds_ns(double s)
{
    return s <= 0 ? 0 : (int64_t)(s * 1e9);
}

static void set_error(engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(engine *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->rep->error, sizeof e->rep->error, fmt, ap);
    va_end(ap);
}

/* ---- starting ------------------------------------------------------------------------------ */

static bool may_start_new_chain(engine *e, int64_t now)
{
    const fm_run_config *c = e->cfg;
    if (e->stop_new)
        return false;
    if (c->runs > 0 && e->started >= c->runs) {
        e->stop_new = true;
        e->rep->stop = FM_STOP_RUNS;
    } else if (c->duration_s > 0 && now - e->t0 >= seconds_ns(c->duration_s)) {
        e->stop_new = true;
        e->rep->stop = FM_STOP_DURATION;
    }
    return !e->stop_new;
}

static slot *free_slot(engine *e)
{
    for (int i = 0; i < e->n_slots; i++)
        if (e->slots[i].pid == 0)
            return &e->slots[i];
    return NULL;
}

static int start_attempt(engine *e, slot *s, fm_run_id id)
{
    const fm_run_config *c = e->cfg;
    int rc = 0;
    s->efd = -1;
    char why[256];
    if (fm_cgroup_new(&e->cgroups, &s->cg, why, sizeof why) != FM_CGROUP_OK)
        rc = errno ? errno : EIO;
    /* The child is born in its cgroup, or joins it before its exec (fm_launcher_start). */
    if (rc == 0)
        rc = fm_launcher_start(e->launcher, (int)(s - e->slots), id, &s->cg, &s->pid, &s->fd,
                               &s->efd);
    if (rc) {
        fm_cgroup_release(&e->cgroups, &s->cg);
        s->pid = 0;
        return rc;
    }
    s->id = id;
    s->reaped = s->timed_out = s->interrupted = false;
    s->out_len = s->out_total = 0;
    s->start_real = fm_run_realtime_ns();
    s->start_mono = fm_run_now_ns();
    s->deadline = c->timeout_s > 0 ? s->start_mono + seconds_ns(c->timeout_s) : NEVER;
    s->kill_at = NEVER;
    e->active++;
    return 0;
}

static void record_start_error(engine *e, fm_run_id id, int err, bool counted);

/* Fill free slots: pending retries first, then new chains. */
static void start_attempts(engine *e)
{
    slot *s;
    while (e->rep->stop != FM_STOP_ERROR && (s = free_slot(e)) != NULL) {
        fm_run_id id = {.seed = e->cfg->seed};
        bool retry = e->n_retries > 0 && e->signals == 0;
        if (retry) {
            pending_retry r = e->retries[--e->n_retries];
            id.run = r.run;
            id.attempt = r.attempt;
        } else if (may_start_new_chain(e, fm_run_now_ns())) {
            /* A shared store hands out the index (none ready: the next block is on its way). */
            if (e->shared && !fm_store_claim_run(e->cfg->store, &e->next_run))
                return;
            id.run = e->next_run;
            id.attempt = 1;
        } else {
            return;
        }
        int rc = start_attempt(e, s, id);
        if (rc) {
            record_start_error(e, id, rc, false);
            return;
        }
        if (!retry) {
            e->next_run += e->shared ? 0 : e->cfg->shard_count;
            e->started++;
        }
    }
}

/* ---- output and timeouts ------------------------------------------------------------------- */

/* Keep the last FM_STORE_EVIDENCE_BYTES of output in the slot's ring (before out_total grows). */
static void tail_append(slot *s, const char *p, size_t n)
{
    const size_t cap = sizeof s->tail;
    size_t skip = n > cap ? n - cap : 0; /* only the last cap bytes can stay */
    p += skip;
    n -= skip;
    size_t pos = (s->out_total + skip) % cap; /* byte i of the output lives at i % cap */
    size_t first = n < cap - pos ? n : cap - pos;
    memcpy(s->tail + pos, p, first);
    memcpy(s->tail, p + first, n - first);
}

/* The ring in order into buf (FM_STORE_EVIDENCE_BYTES); returns its length. */
static size_t tail_copy(const slot *s, char *buf)
{
    const size_t cap = sizeof s->tail;
    if (s->out_total <= cap) {
        memcpy(buf, s->tail, s->out_total);
        return s->out_total;
    }
    size_t pos = s->out_total % cap;
    memcpy(buf, s->tail + pos, cap - pos);
    memcpy(buf + cap - pos, s->tail, pos);
    return cap;
}

static void read_output(engine *e, slot *s)
{
    char scratch[4096];
    for (;;) {
        size_t room = e->cfg->output_cap - s->out_len;
        char *dst = room > 0 ? s->out + s->out_len : scratch;
        size_t want = room > 0 ? room : sizeof scratch;
        ssize_t n = read(s->fd, dst, want);
        if (n > 0)
            tail_append(s, dst, (size_t)n);
        if (n > 0) {
            if (room > 0)
                s->out_len += (size_t)n;
            s->out_total += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            close(s->fd);
            s->fd = -1;
        }
        return;
    }
}

static void enforce_timeouts(engine *e, int64_t now)
{
    for (int i = 0; i < e->n_slots; i++) {
        slot *s = &e->slots[i];
        if (s->pid == 0 || s->reaped)
            continue;
        if (!s->timed_out && now >= s->deadline) {
            s->timed_out = true;
            kill(-s->pid, SIGTERM);
            s->kill_at = now + seconds_ns(e->cfg->grace_s);
        }
        if (s->timed_out && now >= s->kill_at) {
            kill(-s->pid, SIGKILL);
            fm_cgroup_kill(&e->cgroups, &s->cg); /* and what left the group */
            s->kill_at = NEVER;
        }
    }
}

static void kill_all(engine *e)
{
    for (int i = 0; i < e->n_slots; i++)
        if (e->slots[i].pid > 0 && !e->slots[i].reaped) {
            kill(-e->slots[i].pid, SIGKILL);
            fm_cgroup_kill(&e->cgroups, &e->slots[i].cg);
            e->slots[i].interrupted = true;
        }
}

/* ---- reaping ------------------------------------------------------------------------------- */

static slot *slot_of(engine *e, pid_t pid)
{
    for (int i = 0; i < e->n_slots; i++)
        if (e->slots[i].pid == pid && !e->slots[i].reaped)
            return &e->slots[i];
    return NULL;
}

/*
 * After the leader of s was reaped: kill the processes of its attempt that left its group
 * (setsid, setpgid, a daemon), which the subreaper setting made our children.  An orphan is the
 * attempt's by its environment (fm_reap.h); one without a readable mark is killed now only when
 * no other attempt runs, else at the end of the campaign.
 */
static void sweep_attempt(engine *e, const slot *s)
{
    int n = 0;
    bool alone = true;
    for (int i = 0; i < e->n_slots; i++)
        if (&e->slots[i] != s && e->slots[i].pid > 0 && !e->slots[i].reaped) {
            e->keep[n++] = e->slots[i].pid;
            alone = false;
        }
    if (e->watchdog > 0)
        e->keep[n++] = e->watchdog;
    fm_reap_which w = {.unmarked = alone, .run = s->id.run, .attempt = s->id.attempt};
    e->swept += fm_reap_sweep(e->keep, n, w);
}

/* Reap every exited child: our leaders (after killing what is left of their group, and then
 * what escaped from it) and the orphaned grandchildren that the subreaper setting hands to us. */
static void reap(engine *e)
{
    for (;;) {
        siginfo_t si;
        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
            return;
        slot *s = slot_of(e, si.si_pid);
        if (s) {
            kill(-s->pid, SIGKILL);              /* grandchildren never outlive their run */
            fm_cgroup_kill(&e->cgroups, &s->cg); /* nor anything else the attempt started */
        }
        int status;
        struct rusage ru;
        if (wait4(si.si_pid, &status, 0, &ru) < 0)
            continue;
        if (s) {
            s->reaped = true;
            s->wstatus = status;
            s->ru = ru;
            s->end_mono = fm_run_now_ns();
            if (s->cg.dir[0])
                fm_cgroup_release(&e->cgroups, &s->cg); /* its cgroup held all of it */
            else
                sweep_attempt(e, s);
        }
    }
}

/* ---- finishing an attempt ------------------------------------------------------------------ */

static bool output_matches(const slot *s, const regex_t *re)
{
    regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)s->out_len};
    return regexec(re, s->out, 1, &m, REG_STARTEND) == 0;
}

/* The head of the output (as kept for the regexes) or, when more was written, its tail. */
static bool output_or_tail_matches(const slot *s, const regex_t *re)
{
    if (output_matches(s, re))
        return true;
    if (s->out_total <= s->out_len)
        return false;
    char buf[FM_STORE_EVIDENCE_BYTES];
    size_t len = tail_copy(s, buf);
    regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)len};
    return regexec(re, buf, 1, &m, REG_STARTEND) == 0;
}

static fm_outcome classify(const engine *e, const slot *s, fm_run_record *r)
{
    int st = s->wstatus;
    const fm_run_config *c = e->cfg;
    r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    r->core_dumped = WIFSIGNALED(st) && WCOREDUMP(st);
    if (s->timed_out)
        return FM_OUTCOME_TIMEOUT;
    /* Killed by us because we were stopping: it says nothing about the test. */
    if (s->interrupted && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        return FM_OUTCOME_INTERRUPTED;
    if (WIFEXITED(st) && c->error_exit[r->exit_code & 0xff])
        return FM_OUTCOME_ERROR; /* --error-exit: the command was called wrongly */
    fm_outcome o = WIFSIGNALED(st)     ? FM_OUTCOME_CRASH
                   : r->exit_code == 0 ? FM_OUTCOME_PASS
                                       : FM_OUTCOME_FAIL;
    if (o != FM_OUTCOME_PASS && c->fail_regex && !output_matches(s, c->fail_regex))
        o = FM_OUTCOME_PASS;
    if (o != FM_OUTCOME_PASS && c->ignore_regex && output_matches(s, c->ignore_regex))
        o = FM_OUTCOME_PASS;
    if (o == FM_OUTCOME_PASS && r->exit_code == 0 && c->fail_if_output &&
        output_or_tail_matches(s, c->fail_if_output))
        o = FM_OUTCOME_FAIL; /* --fail-if-output: a wrapper that exits 0 on failures */
    return o;
}

/* A kept output that could not be written whole: removed, and the campaign stops (exit 1). */
static void keep_failed(engine *e, const char *path, int err)
{
    unlink(path);
    if (e->rep->stop != FM_STOP_ERROR) {
        set_error(e, "--keep-output: cannot write '%s': %s", path, strerror(err));
        e->rep->stop = FM_STOP_ERROR;
        e->stop_new = true;
    }
}

/* A failure to open that says this machine ran out of something, not what the name is. */
static bool keep_machine_error(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOSPC || err == EDQUOT ||
           err == EIO;
}

/* The quota cgroup (fm_cond, v2) that holds the attempts' cgroups, or NULL. */
static const char *cgroup_parent(const fm_run_config *c)
{
    const fm_cond_rt *q = c->cond;
    return q && q->cgroup[0] && q->cgroup_version == 2 ? q->cgroup : NULL;
}

static const char *cgroup_mode_name(fm_cgroup_mode m)
{
    return m == FM_CGROUP_V1 ? "v1" : m == FM_CGROUP_V2 ? "v2" : "require";
}

static void keep_output(engine *e, const slot *s, fm_outcome o)
{
    const fm_run_config *c = e->cfg;
    if (c->keep_dir == NULL || o == FM_OUTCOME_PASS || e->kept >= c->keep_files)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/run-%lld-attempt-%u-%s.log", c->keep_dir, (long long)s->id.run,
             s->id.attempt, fm_outcome_name(o));
    /* Our own name in the folder: a link planted there is not followed (O_NOFOLLOW), a
     * device or FIFO is neither waited on (O_NONBLOCK) nor written, and a hard link to a file
     * elsewhere is not truncated (checked before the truncation, not by O_TRUNC). */
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
    if (fd < 0 && keep_machine_error(errno)) {
        int err = errno;
        if (e->rep->stop != FM_STOP_ERROR) {
            set_error(e, "--keep-output: cannot create '%s': %s", path, strerror(err));
            e->rep->stop = FM_STOP_ERROR;
            e->stop_new = true;
        }
        return;
    }
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1))
        close(fd), fd = -1; /* not a file of ours: left alone */
    if (fd < 0)
        return;
    FILE *f = ftruncate(fd, 0) == 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        int err = errno;
        close(fd);
        keep_failed(e, path, err);
        return;
    }
    bool ok = fwrite(s->out, 1, s->out_len, f) == s->out_len;
    if (ok && s->out_total > s->out_len)
        ok = fprintf(f, "\n[flakemeter: %zu more bytes not kept]\n", s->out_total - s->out_len) > 0;
    int err = ok ? 0 : errno;
    if (fclose(f) != 0 && ok)
        ok = false, err = errno;
    if (!ok) {
        keep_failed(e, path, err);
        return;
    }
    e->kept++;
}

/* ---- the store ----------------------------------------------------------------------------- */

/*
 * The loop never waits for the store's lock: during the campaign the store's busy timeout is 0,
 * writes go through this queue, and a write that finds another process holding the lock stays
 * queued and is tried again within 10 ms (poll_timeout_ms).  Any other failure stops the
 * campaign with one line.  At the end the queue is drained with the normal busy timeout.
 */
static void store_failed(engine *e, const char *what, const char *why)
{
    if (e->rep->stop != FM_STOP_ERROR) {
        set_error(e, "%s: %s", what, why);
        e->rep->stop = FM_STOP_ERROR;
        e->stop_new = true;
    }
}

static void drain_store(engine *e)
{
    fm_store *st = e->cfg->store;
    while (e->q_len > 0) {
        store_write *w = &e->queue[e->q_head];
        fm_store_status rc = w->evidence ? fm_store_add_evidence(st, e->cfg->campaign, &w->r, w->ev,
                                                                 w->ev_len, w->out_total, NULL)
                                         : fm_store_add_run(st, e->cfg->campaign, &w->r);
        if (rc != FM_STORE_OK && fm_store_busy(st)) {
            e->store_retry_at = fm_run_now_ns() + 10000000;
            return;
        }
        if (rc != FM_STORE_OK)
            store_failed(e, w->evidence ? "cannot store the output of a run" : "cannot store a run",
                         fm_store_errmsg(st));
        free(w->ev);
        e->q_head = (e->q_head + 1) % e->q_cap;
        e->q_len--;
    }
    e->store_retry_at = NEVER;
    if (fm_store_poll(st) != FM_STORE_OK && !fm_store_busy(st)) /* a batch 100 ms old */
        store_failed(e, "cannot store runs", fm_store_errmsg(st));
}

static void queue_write(engine *e, const store_write *w)
{
    if (e->q_len == e->q_cap) {
        size_t cap = e->q_cap ? e->q_cap * 2 : 64;
        store_write *q = malloc(cap * sizeof *q);
        if (q == NULL) {
            free(w->ev);
            store_failed(e, "cannot store a run", strerror(ENOMEM));
            return;
        }
        for (size_t i = 0; i < e->q_len; i++)
            q[i] = e->queue[(e->q_head + i) % e->q_cap];
        free(e->queue);
        e->queue = q;
        e->q_head = 0;
        e->q_cap = cap;
    }
    e->queue[(e->q_head + e->q_len++) % e->q_cap] = *w;
    if (e->store_retry_at == NEVER || e->q_len == 1)
        drain_store(e);
}

/* The live counts, by the store's one rule (fm_outcome_counted). */
/* The output tail of an attempt that did not pass, for `show --failures` (bounded by the store). */
static void keep_evidence(engine *e, const slot *s, const fm_run_record *r)
{
    const fm_run_config *c = e->cfg;
    if (c->no_evidence || r->outcome == FM_OUTCOME_PASS || r->outcome == FM_OUTCOME_INTERRUPTED)
        return;
    store_write w = {.r = *r, .evidence = true, .out_total = (int64_t)s->out_total};
    w.ev = malloc(FM_STORE_EVIDENCE_BYTES);
    if (w.ev == NULL) {
        store_failed(e, "cannot store the output of a run: %s", strerror(ENOMEM));
        return;
    }
    w.ev_len = tail_copy(s, w.ev);
    queue_write(e, &w);
}

static void count_attempt(fm_run_counts *n, fm_run_id id, fm_outcome o)
{
    n->attempts++;
    if (id.attempt == 1) {
        n->by_outcome[o]++;
        if (fm_outcome_counted(o)) {
            n->first_counted++;
            n->first_fail += o != FM_OUTCOME_PASS;
        }
    } else if (o != FM_OUTCOME_INTERRUPTED) {
        n->retries++;
        n->retries_failed += o != FM_OUTCOME_PASS;
    }
}

/*
 * --error-exit: when the first runs of this invocation (3, or all of fewer planned) all ended in
 * such a code, the command is being called wrongly: stop, saying so.
 */
static void check_usage_errors(engine *e, const fm_run_record *r)
{
    const fm_run_config *c = e->cfg;
    if (r->attempt != 1 || e->rep->stop == FM_STOP_ERROR)
        return;
    bool usage = r->outcome == FM_OUTCOME_ERROR && r->exit_code >= 0;
    e->usage_errors += usage;
    int64_t need = c->runs > 0 && c->runs < 3 ? c->runs : 3;
    if (!usage || e->usage_errors != e->rep->first_here || e->usage_errors < need)
        return;
    set_error(e,
              "the first %lld runs all exited with code %d, which --error-exit marks as a usage "
              "error (is the command called correctly?); their output: flakemeter show --failures",
              (long long)e->usage_errors, r->exit_code);
    e->rep->usage_error = true;
    e->rep->stop = FM_STOP_ERROR;
    e->stop_new = true;
}

static void check_decided(engine *e);

/* Store the attempt, count it, and either finish its chain or queue its retry. */
static void conclude(engine *e, fm_run_id id, fm_outcome o, const fm_run_record *r)
{
    queue_write(e, &(store_write){.r = *r});
    count_attempt(&e->rep->counts, id, o);
    e->rep->first_here += id.attempt == 1;
    e->rep->interrupted_here += o == FM_OUTCOME_INTERRUPTED;
    check_usage_errors(e, r);
    bool failed = o != FM_OUTCOME_PASS && o != FM_OUTCOME_ERROR && o != FM_OUTCOME_INTERRUPTED;
    if (failed && id.attempt <= e->cfg->retries && e->signals == 0 &&
        e->rep->stop != FM_STOP_ERROR) {
        e->retries[e->n_retries++] = (pending_retry){id.run, id.attempt + 1};
        return;
    }
    if (o == FM_OUTCOME_INTERRUPTED)
        return; /* the chain did not finish: not counted (as fm_store_summary leaves it out) */
    e->rep->counts.chains_done++;
    e->rep->counts.chains_failed += o != FM_OUTCOME_PASS;
    e->done++;
    if (id.attempt == 1)
        check_decided(e);
}

static void finish_slot(engine *e, slot *s)
{
    int err = s->efd >= 0 ? fm_run_setup_status(s->efd) : 0;
    s->efd = -1;
    if (err) { /* the child could not apply a condition or exec: a start error */
        s->pid = 0;
        e->active--;
        record_start_error(e, s->id, err, true);
        return;
    }
    fm_run_record r = {.run_index = s->id.run,
                       .attempt = s->id.attempt,
                       .seed = s->id.seed,
                       .start_ns = s->start_real,
                       .wall_ns = s->end_mono - s->start_mono,
                       .user_us = (int64_t)s->ru.ru_utime.tv_sec * 1000000 + s->ru.ru_utime.tv_usec,
                       .sys_us = (int64_t)s->ru.ru_stime.tv_sec * 1000000 + s->ru.ru_stime.tv_usec,
                       .max_rss_kb = s->ru.ru_maxrss};
    r.outcome = classify(e, s, &r);
    keep_output(e, s, r.outcome);
    s->pid = 0;
    e->active--;
    conclude(e, s->id, r.outcome, &r);
    keep_evidence(e, s, &r);
}

/* counted: the chain was already counted as started (its exec failed after the fork). */
static void record_start_error(engine *e, fm_run_id id, int err, bool counted)
{
    const fm_run_config *c = e->cfg;
    fm_run_record r = {.run_index = id.run,
                       .attempt = id.attempt,
                       .seed = id.seed,
                       .outcome = FM_OUTCOME_ERROR,
                       .exit_code = -1,
                       .start_ns = fm_run_realtime_ns()};
    snprintf(e->rep->error, sizeof e->rep->error, "cannot start '%s': %s",
             c->wl_args.wl ? c->wl_args.wl->name : c->argv[0], strerror(err));
    e->rep->stop = FM_STOP_ERROR;
    e->rep->start_errno = err;
    e->stop_new = true;
    if (id.attempt == 1 && !counted) {
        e->next_run += c->shard_count;
        e->started++;
    }
    conclude(e, id, FM_OUTCOME_ERROR, &r);
}

/* ---- deciding ------------------------------------------------------------------------------ */

/*
 * --until-decided with runs in flight.  Runs start in index order, so the first attempts
 * started so far (stored ones of a resumed campaign included) are the first m of the campaign's
 * sequence: k failures among the finished ones, u still running.  The counts of finished runs
 * alone are not a prefix of that sequence when failures take longer than passes (timeouts,
 * hangs, slow crashes): the runs in flight are then mostly failures.  So the boundary rule
 * (fm_stats_seq_update_range) is given the range [k, k + u] at m: what it shows holds whatever
 * the runs in flight give, and its state keeps the tightest bounds of every check, all valid at
 * once, so the decision stays anytime-valid for any -j and any law of durations
 * (docs/statistics.md §5).  It stops when the count is pinned down (decided) or one of two
 * neighbouring counts (indifferent: the larger is reported, the safe side), so every p decides.
 */
static void check_decided(engine *e)
{
    const fm_run_config *c = e->cfg;
    const fm_run_counts *n = &e->rep->counts;
    if (!c->until_decided || e->stop_new || n->first_counted < 1 || e->shared)
        return;     /* a shared store: cluster_decided decides on the combined counts */
    uint64_t u = 0; /* first attempts still running */
    for (int i = 0; i < e->n_slots; i++)
        u += e->slots[i].pid != 0 && e->slots[i].id.attempt == 1;
    uint64_t k = (uint64_t)n->first_fail, m = (uint64_t)n->first_counted + u;
    fm_seq_decision *d = &e->seq;
    if (fm_stats_seq_update_range(k, k + u, m, c->confidence, c->target, d) != FM_STATS_OK ||
        !(d->decided || d->indifferent))
        return;
    e->rep->decided = true;
    e->rep->decided_indifferent = d->indifferent && !d->decided;
    e->rep->decided_attempts = d->attempts.attempts;
    e->rep->decided_reachable = d->attempts.reachable;
    e->rep->decided_pending = u;
    e->rep->stop = FM_STOP_DECIDED;
    e->stop_new = true;
}

/*
 * --until-decided on a shared store (docs/scale.md, "The decision"): the same rule on the
 * campaign's combined counts over every runner: k failures among the counted first attempts
 * stored, u first attempts in flight on all runners (a dead runner's count stays: its runs
 * never resolve), so the range [k, k + u] at m = counted + u.  Each runner publishes its own
 * in-flight count with the rows before it (fm_store_set_in_flight), so what the database shows is
 * a prefix of every runner's starts.  The first runner to decide records it and wakes the others
 * (NOTIFY); a runner that reads a recorded decision stops with it.
 */
static void cluster_decided(engine *e)
{
    const fm_run_config *c = e->cfg;
    uint64_t u = 0;
    for (int i = 0; i < e->n_slots; i++)
        u += e->slots[i].pid != 0 && e->slots[i].id.attempt == 1;
    fm_store_set_in_flight(c->store, (int64_t)u);
    fm_store_cluster cl;
    if (!c->until_decided || e->stop_new || !fm_store_cluster_counts(c->store, &cl) ||
        cl.version == e->cluster_seen)
        return;
    e->cluster_seen = cl.version;
    fm_seq_decision *d = &e->seq;
    if (cl.decided) {
        e->rep->decided_attempts = cl.decided_attempts;
        e->rep->decided_reachable = cl.decided_reachable;
        e->rep->decided_indifferent = cl.decided_indifferent;
        e->rep->decided_pending = cl.decided_pending;
    } else {
        uint64_t k = (uint64_t)cl.failed, in = (uint64_t)cl.in_flight;
        uint64_t m = (uint64_t)cl.counted + in;
        if (cl.counted < 1 ||
            fm_stats_seq_update_range(k, k + in, m, c->confidence, c->target, d) != FM_STATS_OK ||
            !(d->decided || d->indifferent))
            return;
        fm_store_cluster_decision dec = {.decided_ns = fm_run_realtime_ns(),
                                         .attempts = d->attempts.attempts,
                                         .pending = in,
                                         .reachable = d->attempts.reachable,
                                         .indifferent = d->indifferent && !d->decided};
        fm_store_cluster_decide(c->store, &dec);
        e->rep->decided_attempts = dec.attempts;
        e->rep->decided_reachable = dec.reachable;
        e->rep->decided_indifferent = dec.indifferent;
        e->rep->decided_pending = in;
    }
    e->rep->decided = true;
    e->rep->stop = FM_STOP_DECIDED;
    e->stop_new = true;
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void progress(engine *e, bool final)
{
    const fm_run_config *c = e->cfg;
    int64_t now = fm_run_now_ns();
    if (e->q_len == 0 || now >= e->store_retry_at)
        drain_store(e); /* and commit a batch that is 100 ms old even when runs are slow */
    if (e->shared)
        cluster_decided(e);
    if (c->progress == NULL || (!final && now < e->next_progress))
        return;
    e->next_progress = now + seconds_ns(c->progress_interval_s);
    fm_run_progress p = {.counts = &e->rep->counts,
                         .planned = c->runs,
                         .started_here = e->started,
                         .done_here = e->done,
                         .active = e->active,
                         .elapsed_s = (double)(now - e->t0) / 1e9,
                         .duration_s = c->duration_s,
                         .final = final};
    c->progress(&p, c->progress_ctx);
}

static void on_signal(engine *e)
{
    struct signalfd_siginfo si;
    while (read(e->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            continue; /* reap() runs after every wake-up */
        if (e->signals++ == 0) {
            e->stop_new = true;
            e->n_retries = 0;
            e->rep->stop = si.ssi_signo == SIGINT   ? FM_STOP_SIGINT
                           : si.ssi_signo == SIGHUP ? FM_STOP_SIGHUP
                                                    : FM_STOP_SIGTERM;
        } else {
            kill_all(e);
        }
    }
}

static int poll_timeout_ms(engine *e, int64_t now)
{
    int64_t next = now + 100000000; /* at least every 100 ms: store batches by age */
    if (e->cfg->progress && e->next_progress < next)
        next = e->next_progress;
    if (e->q_len > 0 && e->store_retry_at < next)
        next = e->store_retry_at;
    for (int i = 0; i < e->n_slots; i++) {
        const slot *s = &e->slots[i];
        if (s->pid == 0 || s->reaped)
            continue;
        int64_t t = s->timed_out ? s->kill_at : s->deadline;
        next = t < next ? t : next;
    }
    if (e->cfg->duration_s > 0 && !e->stop_new) {
        int64_t end = e->t0 + seconds_ns(e->cfg->duration_s);
        next = end < next ? end : next;
    }
    int64_t ms = (next - now + 999999) / 1000000;
    return ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
}

static fm_run_status wait_and_handle(engine *e)
{
    struct pollfd *fds = e->fds;
    slot **owner = e->owner;
    int n = 0;
    fds[n++] = (struct pollfd){.fd = e->sigfd, .events = POLLIN};
    for (int i = 0; i < e->n_slots; i++)
        if (e->slots[i].pid > 0 && e->slots[i].fd >= 0) {
            owner[n] = &e->slots[i];
            fds[n++] = (struct pollfd){.fd = e->slots[i].fd, .events = POLLIN};
        }
    int64_t now = fm_run_now_ns();
    if (poll(fds, (nfds_t)n, poll_timeout_ms(e, now)) < 0 && errno != EINTR) {
        set_error(e, "poll: %s", strerror(errno));
        return FM_RUN_ESYSTEM;
    }
    if (fds[0].revents)
        on_signal(e);
    for (int i = 1; i < n; i++)
        if (fds[i].revents)
            read_output(e, owner[i]);
    reap(e);
    if (e->cgroups.n_dying > 0)
        fm_cgroup_collect(&e->cgroups);
    for (int i = 0; i < e->n_slots; i++) {
        slot *s = &e->slots[i];
        if (s->pid > 0 && s->reaped && s->fd < 0) /* output=file: read it back now */
            s->fd = fm_launcher_output(e->launcher, i, s->fd);
        if (s->pid > 0 && s->reaped && s->fd >= 0)
            read_output(e, s); /* the group is dead: drain what is left, then close */
        if (s->pid > 0 && s->reaped && s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
        if (s->pid > 0 && s->reaped)
            finish_slot(e, s);
    }
    enforce_timeouts(e, fm_run_now_ns());
    return FM_RUN_OK;
}

static fm_run_status loop(engine *e)
{
    fm_run_status st = FM_RUN_OK;
    for (;;) {
        start_attempts(e);
        progress(e, false);
        if (e->active == 0 && (e->stop_new || e->rep->stop == FM_STOP_ERROR) && e->n_retries == 0)
            break;
        if (e->active == 0 && e->n_retries == 0 && !may_start_new_chain(e, fm_run_now_ns()))
            break;
        if ((st = wait_and_handle(e)) != FM_RUN_OK)
            break;
    }
    return st;
}

/* ---- set-up -------------------------------------------------------------------------------- */

static fm_run_status validate(const fm_run_config *c, fm_run_report *rep)
{
    const char *bad = NULL;
    if (c->jobs < 1)
        bad = "jobs must be at least 1";
    else if (c->wl_args.wl == NULL && (c->argv == NULL || c->argv[0] == NULL))
        bad = "nothing to run";
    else if (c->shard_count < 1 || c->shard_index >= c->shard_count)
        bad = "shard index must be below the shard count";
    else if (c->store == NULL)
        bad = "no store";
    else if (c->output_cap < 1)
        bad = "output cap must be at least 1 byte";
    if (bad)
        snprintf(rep->error, sizeof rep->error, "%s", bad);
    return bad ? FM_RUN_EINVAL : FM_RUN_OK;
}

/* Counts already in the store (a resumed campaign), and the first new chain index. */
static fm_run_status resume(engine *e)
{
    const fm_run_config *c = e->cfg;
    fm_store_summary sum;
    int64_t max;
    if (fm_store_summarize(c->store, c->campaign, &sum) != FM_STORE_OK ||
        fm_store_max_run_index(c->store, c->campaign, &max) != FM_STORE_OK) {
        set_error(e, "cannot read the store: %s", fm_store_errmsg(c->store));
        return FM_RUN_ESTORE;
    }
    fm_run_counts *n = &e->rep->counts;
    memcpy(n->by_outcome, sum.first_by_outcome, sizeof n->by_outcome);
    n->first_counted = fm_store_summary_trials(&sum);
    n->first_fail = fm_store_summary_failures(&sum);
    n->attempts = sum.attempts;
    n->retries = sum.retries;
    n->retries_failed = sum.retries_failed;
    n->chains_done = sum.chains;
    n->chains_failed = sum.chains_failed;
    /* Smallest index above max that belongs to this shard. */
    int64_t next = max + 1, k = c->shard_count, r = c->shard_index;
    e->next_run = next + ((r - next % k) % k + k) % k;
    return FM_RUN_OK;
}

static fm_run_status setup(engine *e, sigset_t *old_mask)
{
    const fm_run_config *c = e->cfg;
    e->n_slots = c->jobs;
    e->slots = calloc((size_t)e->n_slots, sizeof *e->slots);
    e->retries = calloc((size_t)e->n_slots + 1, sizeof *e->retries);
    e->fds = calloc((size_t)e->n_slots + 1, sizeof *e->fds); /* sized by --jobs: not a VLA */
    e->owner = calloc((size_t)e->n_slots + 1, sizeof *e->owner);
    e->keep = calloc((size_t)e->n_slots + 1, sizeof *e->keep);
    if (e->slots == NULL || e->retries == NULL || e->fds == NULL || e->owner == NULL ||
        e->keep == NULL)
        return set_error(e, "%s", strerror(ENOMEM)), FM_RUN_ENOMEM;
    for (int i = 0; i < e->n_slots; i++) { /* before anything can fail: teardown closes these */
        e->slots[i].fd = e->slots[i].efd = -1;
        e->slots[i].cg.procs_fd = -1;
    }
    for (int i = 0; i < e->n_slots; i++) {
        e->slots[i].out = malloc(c->output_cap + 1);
        if (e->slots[i].out == NULL)
            return set_error(e, "%s", strerror(ENOMEM)), FM_RUN_ENOMEM;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, old_mask);
    e->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (e->sigfd < 0)
        return set_error(e, "signalfd: %s", strerror(errno)), FM_RUN_ESYSTEM;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    e->store_retry_at = NEVER;
    /* A v2 quota cgroup (fm_cond) holds the attempts' cgroups, so its limit covers them. */
    if (c->keep_dir && mkdir(c->keep_dir, 0777) != 0 && errno != EEXIST) /* fm_run_check */
        return set_error(e, "--keep-output: cannot create '%s': %s", c->keep_dir, strerror(errno)),
               FM_RUN_ESYSTEM;
    char why[700];
    if (fm_cgroup_open(&e->cgroups, c->cgroup, cgroup_parent(c), why, sizeof why) != FM_CGROUP_OK)
        return set_error(e, "--cgroup %s: %s", cgroup_mode_name(c->cgroup), why),
               FM_RUN_EUNAVAILABLE;
    snprintf(e->rep->containment, sizeof e->rep->containment, "%s",
             fm_cgroup_describe(&e->cgroups));
    int rc = fm_launcher_new(c, e->n_slots, &e->launcher); /* after the mask: signal_sets */
    if (rc)
        return set_error(e, "cannot prepare the launch: %s", strerror(rc)), FM_RUN_ESYSTEM;
    /* Forked while single-threaded, before any attempt: none can start unwatched.  Without it
     * (fork failed) the sweeps still work; only the runner's own SIGKILL is then not covered. */
    fm_reap_token();
    e->watchdog = fm_reap_watchdog(&e->watchdog_fd, &e->cgroups);
    fm_run_status st = resume(e);
    if (st == FM_RUN_OK && fm_store_shared(c->store)) {
        /* Blocks of twice the slots, at least 16: few claims, short gaps. */
        int block = 2 * c->jobs > 16 ? 2 * c->jobs : 16;
        if (c->shard_count > 1)
            return set_error(e, "--shard: a shared store hands out run indices itself"),
                   FM_RUN_EINVAL;
        if (fm_store_runner_begin(c->store, c->campaign, block) != FM_STORE_OK)
            return set_error(e, "cannot start the runner: %s", fm_store_errmsg(c->store)),
                   FM_RUN_ESTORE;
        e->shared = true;
    }
    return st;
}

static void teardown(engine *e, const sigset_t *old_mask)
{
    kill_all(e);
    for (int i = 0; i < e->n_slots && e->slots; i++) {
        if (e->slots[i].fd >= 0)
            close(e->slots[i].fd);
        if (e->slots[i].efd >= 0)
            close(e->slots[i].efd);
        free(e->slots[i].out);
    }
    for (int i = 0; i < e->n_slots && e->slots; i++) {
        if (e->slots[i].pid > 0 && !e->slots[i].reaped)
            while (waitpid(e->slots[i].pid, NULL, 0) < 0 && errno == EINTR)
                ;
        fm_cgroup_release(&e->cgroups, &e->slots[i].cg);
    }
    fm_cgroup_close(&e->cgroups); /* everything below the set, then the set */
    /* The campaign's end: nothing it started lives on (the watchdog then checks once more). */
    if (e->keep) {
        e->keep[0] = e->watchdog;
        e->swept += fm_reap_sweep(e->keep, e->watchdog > 0, (fm_reap_which){.all = true});
    }
    if (e->watchdog > 0) {
        close(e->watchdog_fd);
        while (waitpid(e->watchdog, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    fm_launcher_free(e->launcher); /* every child is reaped: no stack or plan is in use */
    free(e->keep);
    free(e->slots);
    free(e->retries);
    free(e->fds);
    free(e->owner);
    if (e->sigfd >= 0)
        close(e->sigfd);
    /* SIGINT/SIGTERM/SIGHUP were consumed through the signalfd; the caller learns of them from
     * report->stop and picks its exit status (130/143/129). */
    sigprocmask(SIG_SETMASK, old_mask, NULL);
}

fm_run_status fm_run_check(const fm_run_config *c, char *err, size_t err_size)
{
    if (c->cgroup == FM_CGROUP_REQUIRE || c->cgroup == FM_CGROUP_V2 || c->cgroup == FM_CGROUP_V1) {
        fm_cgroup_set set;
        char why[700];
        if (fm_cgroup_open(&set, c->cgroup, cgroup_parent(c), why, sizeof why) != FM_CGROUP_OK) {
            snprintf(err, err_size, "--cgroup %s: %s", cgroup_mode_name(c->cgroup), why);
            return FM_RUN_EUNAVAILABLE;
        }
        fm_cgroup_close(&set);
    }
    struct stat sb;
    if (c->keep_dir == NULL || (stat(c->keep_dir, &sb) == 0 && S_ISDIR(sb.st_mode)))
        return FM_RUN_OK;
    if (errno != ENOENT || stat(c->keep_dir, &sb) == 0) {
        snprintf(err, err_size, "--keep-output: '%s' is not a directory", c->keep_dir);
        return FM_RUN_EINVAL;
    }
    /* absent: made by the engine; its parent must be a directory this process can write */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", c->keep_dir);
    char *slash = strrchr(parent, '/');
    while (slash != NULL && slash > parent && slash[1] == '\0') { /* "dir/" */
        *slash = '\0';
        slash = strrchr(parent, '/');
    }
    const char *dir = slash == NULL ? "." : slash == parent ? "/" : (*slash = '\0', parent);
    int why = stat(dir, &sb) != 0             ? errno
              : !S_ISDIR(sb.st_mode)          ? ENOTDIR
              : access(dir, W_OK | X_OK) != 0 ? errno
                                              : 0;
    if (why != 0) {
        snprintf(err, err_size, "--keep-output: cannot create '%s': %s", c->keep_dir,
                 strerror(why));
        return FM_RUN_EINVAL;
    }
    return FM_RUN_OK;
}

fm_run_status fm_run_campaign(const fm_run_config *cfg, fm_run_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->stop = FM_STOP_RUNS;
    fm_run_status st = validate(cfg, rep);
    if (st != FM_RUN_OK)
        return st;
    engine e = {.cfg = cfg,
                .rep = rep,
                .sigfd = -1,
                .t0 = fm_run_now_ns(),
                .watchdog = -1,
                .watchdog_fd = -1};
    sigset_t old_mask;
    sigemptyset(&old_mask);
    st = setup(&e, &old_mask);
    fm_store_set_busy_timeout(cfg->store, 0); /* the loop never waits for the lock: drain_store */
    if (st == FM_RUN_OK)
        st = loop(&e);
    progress(&e, true);
    fm_store_set_busy_timeout(cfg->store, 5000); /* the loop is done: now we may wait */
    drain_store(&e);
    if (e.q_len > 0 && st == FM_RUN_OK) { /* still locked after 5 s */
        set_error(&e, "cannot store runs: %s", fm_store_errmsg(cfg->store));
        st = FM_RUN_ESTORE;
    }
    for (; e.q_len > 0; e.q_len--, e.q_head = (e.q_head + 1) % e.q_cap)
        free(e.queue[e.q_head].ev);
    free(e.queue);
    if (fm_store_flush(cfg->store) != FM_STORE_OK && st == FM_RUN_OK) {
        set_error(&e, "cannot store runs: %s", fm_store_errmsg(cfg->store));
        st = FM_RUN_ESTORE;
    }
    rep->wall_s = (double)(fm_run_now_ns() - e.t0) / 1e9;
    teardown(&e, &old_mask);
    return st;
}
