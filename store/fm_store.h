/*
 * fm_store.h - the results store of flakemeter: one SQLite file (WAL mode) that holds
 * campaigns and every attempt of every run, so that measurements survive the process that made
 * them, accumulate across invocations, and merge across machines.
 *
 * Contract:
 *  - Durability: rows are added to an open transaction and committed in batches (at most
 *    FM_STORE_BATCH_ROWS rows or FM_STORE_BATCH_NS since the batch began, whichever first, checked
 *    on every add), and on fm_store_flush/fm_store_close.  A SIGKILL loses at most the rows of
 *    the open batch; the file always opens afterwards (SQLite's WAL journal guarantees it).
 *  - Schema: PRAGMA user_version holds FM_STORE_SCHEMA.  Opening a file with a newer or unknown
 *    version, or a file that is not a flakemeter store, fails with FM_STORE_ESCHEMA /
 *    FM_STORE_ENOTSTORE and leaves the file byte-for-byte untouched (nothing is written before
 *    the check).  Layout: docs/store.md.
 *  - A campaign is identified by its label.  Adding runs again to a label continues it; whether
 *    an invocation may do so is the caller's decision (`run` asks for --resume).
 *  - (campaign, run_index, attempt) is unique; merge relies on it to never double count.
 *  - The library never prints.  Functions return fm_store_status; fm_store_strerror gives the
 *    text of a status and fm_store_errmsg the detail of the last failure on a handle.
 */
#ifndef FM_STORE_H
#define FM_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define FM_STORE_SCHEMA     5
#define FM_STORE_BATCH_ROWS 256
#define FM_STORE_BATCH_NS   100000000LL /* 100 ms */

typedef enum {
    FM_STORE_OK = 0,
    FM_STORE_EIO,       /* SQLite or file system failure (detail: fm_store_errmsg) */
    FM_STORE_ESCHEMA,   /* a newer or unknown schema version: not touched */
    FM_STORE_ENOTSTORE, /* not an SQLite file, or not a flakemeter store: not touched */
    FM_STORE_ENOENT,    /* no such file (when not creating), or no such campaign */
    FM_STORE_ECONFLICT, /* the label exists with a different command or parameters */
    FM_STORE_EINVAL,    /* bad argument */
    FM_STORE_ENOMEM,
} fm_store_status;

const char *fm_store_strerror(fm_store_status status);

typedef struct fm_store fm_store;

/* Open (create = true: create if missing) a store.  *out is NULL on failure. */
fm_store_status fm_store_open(const char *path, bool create, fm_store **out);
/*
 * Detail of the last failure on this handle ("database is locked", "schema version 7 ...").
 * fm_store_errmsg(NULL) is the detail of the last failed fm_store_open in this thread.
 */
const char *fm_store_errmsg(const fm_store *store);
/* Commit what is pending and close; returns the status of that final commit. */
fm_store_status fm_store_close(fm_store *store);

/* ---- Campaigns ------------------------------------------------------------------------------ */

typedef struct {
    const char *label;   /* unique name */
    const char *kind;    /* "workload" or "command" */
    const char *command; /* workload name, or the command line as a JSON array of strings */
    const char *params;  /* "key=value ..." for a workload, "" for a command */
    const char *host;    /* hostname (NULL: this machine's, filled by fm_store_campaign) */
    const char *arch;    /* uname -m, or the emulated arch (NULL: this machine's) */
    const char *version; /* flakemeter version (NULL: this build's) */
    /*
     * The conditions the runs ran under, as a compact JSON object with keys in a fixed order
     * ({"cpus":1,"load":2} ...; docs/store.md); NULL or "" means none, stored as "{}".
     */
    const char *conditions;
    int64_t created_ns; /* CLOCK_REALTIME when created (0: now, filled by fm_store_campaign) */
    /*
     * What ran, as a compact JSON object made by the caller (launch/fm_fingerprint.c: path,
     * size, mtime_ns, build_id or sha256 of the executable); NULL or "" means unknown, stored as
     * "{}".  Informational to the store: it is not compared when a label is continued.
     */
    const char *fingerprint;
} fm_campaign_info;

/*
 * Find the campaign with info->label, or create it: the one open-or-create of every command
 * (run, sweep, bench emu).  Fields left NULL or 0 are filled here: host (gethostname), arch
 * (uname -m), version (this build's) and created_ns (now).  An existing label must have the
 * same kind, command, params and conditions (else FM_STORE_ECONFLICT); host/arch/version may
 * differ (shards) and the stored row keeps its first values.
 */
fm_store_status fm_store_campaign(fm_store *store, const fm_campaign_info *info, int64_t *id,
                                  bool *existed);
/* Look a campaign up by label (FM_STORE_ENOENT if absent).  Strings stay valid until close. */
fm_store_status fm_store_find_campaign(fm_store *store, const char *label, int64_t *id,
                                       fm_campaign_info *info);
/*
 * Every campaign's id, in creation order (malloc'd; *n = 0 and *ids = NULL for none), and one
 * campaign's row by id (strings valid until close).
 */
fm_store_status fm_store_campaign_list(fm_store *store, int64_t **ids, size_t *n);
fm_store_status fm_store_campaign_info(fm_store *store, int64_t id, fm_campaign_info *info);
/* The label of the most recently created campaign (for `show` without a label). */
fm_store_status fm_store_last_campaign(fm_store *store, int64_t *id, fm_campaign_info *info);

/* ---- Runs ----------------------------------------------------------------------------------- */

typedef enum {
    FM_OUTCOME_PASS = 0,
    FM_OUTCOME_FAIL,        /* non-zero exit (or a --fail-regex match) */
    FM_OUTCOME_CRASH,       /* killed by a signal */
    FM_OUTCOME_TIMEOUT,     /* killed at its timeout */
    FM_OUTCOME_ERROR,       /* could not start, or exited with a --error-exit code (usage error) */
    FM_OUTCOME_INTERRUPTED, /* killed by the runner because it was stopping (second Ctrl-C ...) */
} fm_outcome;

#define FM_OUTCOME_COUNT 6
/* "pass", "fail", "crash", "timeout", "error", "interrupted" */
const char *fm_outcome_name(fm_outcome outcome);
/*
 * Does an attempt with this outcome count as a trial of the failure probability?  Not errors
 * (the test did not run, or was called wrongly) and not interrupted attempts (cut short by the
 * runner): the one rule behind fm_store_summary_trials and the run engine's live counts.
 */
bool fm_outcome_counted(fm_outcome outcome);

typedef struct {
    int64_t run_index; /* index of the chain (the run); with --shard I/N, index = I mod N */
    uint32_t attempt;  /* 1 for a first try, 2... for retries within the chain */
    uint64_t seed;
    fm_outcome outcome;
    int exit_code; /* when outcome is pass or fail, or an error with an exit code (>= 0) */
    int signal;    /* when crash (or the signal that ended a timeout) */
    bool core_dumped;
    int64_t start_ns;                    /* CLOCK_REALTIME at start */
    int64_t wall_ns;                     /* CLOCK_MONOTONIC duration */
    int64_t user_us, sys_us, max_rss_kb; /* from wait4 */
} fm_run_record;

/*
 * Add one attempt (buffered; see the durability contract).  A (campaign, run_index, attempt)
 * already stored is FM_STORE_ECONFLICT and leaves the batch as it was.  A failed commit rolls
 * the open batch back (its rows are lost, as with a SIGKILL) and returns FM_STORE_EIO.
 */
fm_store_status fm_store_add_run(fm_store *store, int64_t campaign, const fm_run_record *run);
/* Commit what is pending now. */
fm_store_status fm_store_flush(fm_store *store);

/*
 * Call fn for each stored attempt of the campaign with run_index >= from_index, in (run_index,
 * attempt) order (fn returns non-zero to stop).  Rows still in this handle's open batch are
 * included (same connection).
 */
fm_store_status fm_store_runs_from(fm_store *store, int64_t campaign, int64_t from_index,
                                   int (*fn)(const fm_run_record *run, void *ctx), void *ctx);
/*
 * How long a write waits for another process's write lock (SQLite's busy timeout; 5000 ms after
 * fm_store_open).  0: a write that finds the lock held fails at once with FM_STORE_EIO and
 * fm_store_busy() true, having changed nothing (the batch begins with BEGIN IMMEDIATE), so the
 * caller can keep the row and try again later - the run loop does (docs/design.md "Runner").
 */
void fm_store_set_busy_timeout(fm_store *store, int ms);
/* The last failure was another process holding the write lock (SQLITE_BUSY). */
bool fm_store_busy(const fm_store *store);
/*
 * Commit the open batch if it is FM_STORE_BATCH_NS old, else do nothing (cheap: one clock
 * read).  The age rule is otherwise only checked on an add, so a caller whose runs are slow
 * calls this from its loop (e.g. at each progress tick) to keep the 100 ms bound.
 */
fm_store_status fm_store_poll(fm_store *store);
/*
 * Call fn for every stored attempt of the campaign in (run_index, attempt) order (for a report's
 * running estimate and durations, and to pair `bench emu` runs again); fn returning non-zero
 * stops early.  One pass over the rows, nothing held: a million runs take well under a second.
 */
fm_store_status fm_store_runs_each(fm_store *store, int64_t campaign,
                                   int (*fn)(const fm_run_record *run, void *ctx), void *ctx);
/* Largest run_index stored for the campaign, or -1 when it has none. */
fm_store_status fm_store_max_run_index(fm_store *store, int64_t campaign, int64_t *max);

/* ---- Summaries (everything the verdict needs, computed in SQL) ------------------------------ */

typedef struct {
    int64_t attempts;                     /* all rows */
    int64_t by_outcome[FM_OUTCOME_COUNT]; /* all attempts, by outcome */
    int64_t first;                        /* first attempts (attempt = 1) */
    int64_t first_by_outcome[FM_OUTCOME_COUNT];
    int64_t chains;          /* distinct run_index, but not chains whose last attempt was
                                interrupted (they did not finish) */
    int64_t chains_failed;   /* of those, chains whose last attempt is not a pass */
    int64_t passed_on_retry; /* chains that passed at attempt >= 2 */
    /* Retry statistics: attempts >= 2 (each follows a failed attempt of its chain), not the
     * interrupted ones. */
    int64_t retries, retries_failed;
    int64_t max_attempt;
    int64_t wall_ns_total;
    int64_t first_start_ns, last_end_ns; /* span of the campaign (realtime) */
} fm_store_summary;

/*
 * The counted attempts rule, in one place: the first attempts that ran to their end (errors and
 * interrupted attempts excluded: fm_outcome_counted) are the trials of the failure probability,
 * and those of them that did not pass are its failures.
 */
int64_t fm_store_summary_trials(const fm_store_summary *s);
int64_t fm_store_summary_failures(const fm_store_summary *s);

/* A "failure" is any outcome other than pass; errors count apart in by_outcome. */
fm_store_status fm_store_summarize(fm_store *store, int64_t campaign, fm_store_summary *out);
/*
 * The q-quantile (0..1, exact nearest rank) of wall_ns over all attempts but interrupted ones; -1
 * when there are none.  Memory stays bounded (about 0.5 MiB a quantile) whatever the number of
 * runs: a few passes over the campaign's rows (fm_store_summary.c).  fm_store_wall_quantiles
 * answers n of them in the same passes.
 */
fm_store_status fm_store_wall_quantile(fm_store *store, int64_t campaign, double q, int64_t *ns);
fm_store_status fm_store_wall_quantiles(fm_store *store, int64_t campaign, const double *q, int n,
                                        int64_t *ns);

/* ---- Evidence: the output tail of the first failing attempts of each cause --------------------
 */

#define FM_STORE_EVIDENCE_BYTES     4096 /* the last bytes of output kept per attempt */
#define FM_STORE_EVIDENCE_PER_CAUSE 3    /* attempts kept per cause */
#define FM_STORE_EVIDENCE_CAUSES    32   /* causes kept per campaign */

/*
 * A cause: the outcome with its exit code (fail, error) or signal (crash, timeout); has_code
 * false when there is none (a start error, a timeout that ended by itself).
 */
typedef struct {
    fm_outcome outcome;
    bool has_code;
    int code;
    int64_t count; /* first attempts with this cause (fm_store_causes) */
} fm_store_cause;

fm_store_cause fm_store_cause_of(const fm_run_record *r);

/*
 * Keep the output tail (at most FM_STORE_EVIDENCE_BYTES; output_bytes: how much the attempt
 * wrote in all) of a stored attempt that did not pass, if its cause has fewer than
 * FM_STORE_EVIDENCE_PER_CAUSE attempts kept and the campaign fewer than FM_STORE_EVIDENCE_CAUSES
 * causes (*kept says whether it was).  Rides in the open batch like fm_store_add_run.
 */
fm_store_status fm_store_add_evidence(fm_store *store, int64_t campaign, const fm_run_record *run,
                                      const char *tail, size_t tail_len, int64_t output_bytes,
                                      bool *kept);

typedef struct {
    int64_t run_index;
    uint32_t attempt;
    fm_store_cause cause;
    int64_t output_bytes;
    const char *tail; /* tail_len bytes, not NUL-terminated; valid during the callback */
    size_t tail_len;
} fm_store_evidence;

/* Call fn for every kept tail of the campaign, by cause then (run_index, attempt). */
fm_store_status fm_store_evidence_each(fm_store *store, int64_t campaign,
                                       int (*fn)(const fm_store_evidence *ev, void *ctx),
                                       void *ctx);

/*
 * The causes of the campaign's first attempts that did not pass (errors included, interrupted
 * ones not), most frequent first: at most max in out, *n of them; *total: how many causes in all.
 */
fm_store_status fm_store_causes(fm_store *store, int64_t campaign, fm_store_cause *out, size_t max,
                                size_t *n, size_t *total);

/* ---- Shared stores (PostgreSQL: docs/scale.md) ------------------------------------------------
 *
 * fm_store_open also takes a postgresql:// or postgres:// URL (libpq's connection URI): a store
 * in a PostgreSQL database that many runners on many machines write at once.  Built without
 * libpq (the Meson feature 'postgresql'), such a URL is FM_STORE_EINVAL, "built without
 * PostgreSQL support".  The functions below are no-ops (or false) on an SQLite store.
 */

/* Is text a PostgreSQL URL (postgresql:// or postgres://)? */
bool fm_store_is_url(const char *text);
/* Was the store opened from a URL (run indices are claimed, counts are the cluster's)? */
bool fm_store_shared(const fm_store *store);

/*
 * Become a runner of the campaign: claim a first block of `block` run indices, register this
 * process in the campaign's runners, and start the writer thread.  Blocking (call before the
 * loop); from here on add_run/add_evidence/poll and the calls below never wait for the server.
 */
fm_store_status fm_store_runner_begin(fm_store *store, int64_t campaign, int block);
/* The next run index of this runner; false when none is ready yet (the next block is being
 * claimed: try again later). */
bool fm_store_claim_run(fm_store *store, int64_t *index);
/*
 * The number of first attempts running now, at a point where every finished attempt has been
 * added: published with the rows added before it, in one transaction.
 */
void fm_store_set_in_flight(fm_store *store, int64_t first_attempts_running);

/* The campaign's combined counts over all its runners, as last read (every 200 ms or on NOTIFY). */
typedef struct {
    uint64_t version;  /* changes with every read */
    int64_t counted;   /* counted first attempts stored (fm_outcome_counted) */
    int64_t failed;    /* of those, not passed */
    int64_t in_flight; /* first attempts running on live runners, plus those a dead runner left */
    int64_t runners_live;
    bool decided; /* a runner recorded the decision: the fields below are its */
    int64_t decided_ns;
    uint64_t decided_attempts, decided_pending;
    bool decided_reachable, decided_indifferent;
} fm_store_cluster;

typedef struct {
    int64_t decided_ns; /* CLOCK_REALTIME of the decision */
    uint64_t attempts, pending;
    bool reachable, indifferent;
} fm_store_cluster_decision;

/* The last combined counts read (false: none yet, or not a shared store). */
bool fm_store_cluster_counts(fm_store *store, fm_store_cluster *out);
/* Record the decision for every runner (queued; the first recorded one stands) and wake them. */
void fm_store_cluster_decide(fm_store *store, const fm_store_cluster_decision *decision);

/* ---- Whole-store operations ----------------------------------------------------------------- */

/*
 * Merge stores into out (created if missing): campaigns matched by label (a label whose
 * command differs is an ECONFLICT naming it), runs copied without double counting by
 * (campaign, run_index, attempt).  out is written in one transaction: all or nothing.
 */
fm_store_status fm_store_merge(const char *out, const char *const *inputs, int n_inputs,
                               char *errbuf, size_t errsize);

typedef enum { FM_EXPORT_JSON, FM_EXPORT_CSV, FM_EXPORT_JUNIT } fm_export_format;

/* Write the runs of one campaign (label) or of all (label NULL) to f. */
fm_store_status fm_store_export(fm_store *store, const char *label, fm_export_format format,
                                FILE *f);
/*
 * Write the ingested CI history (`flakemeter ingest`) of one suite (NULL: all) to f, as JSON
 * (one object per CI run with its results) or CSV (one row per result); FM_STORE_EINVAL for
 * JUnit (the history came from JUnit reports: they are the original).  Layout: docs/store.md.
 */
fm_store_status fm_store_export_history(fm_store *store, const char *suite, fm_export_format format,
                                        FILE *f);

#endif
