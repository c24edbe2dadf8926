/*
 * fm_pg_internal.h - what the PostgreSQL backend's files (fm_pg.c, fm_pg_writer.c,
 * fm_pg_merge.c) share: the handle and the libpq helpers.  Only store/fm_pg*.c include it.
 */
#ifndef FM_PG_INTERNAL_H
#define FM_PG_INTERNAL_H

#include "fm_pg.h"

#include <libpq-fe.h>
#include <pthread.h>

/* Claimed blocks double while one lasts less than a second, up to this size. */
#define FM_PG_MAX_BLOCK 1024

/* A write waiting for the writer thread: a run row, or the output tail of one. */
typedef struct {
    bool evidence;
    fm_run_record r;
    char *tail; /* evidence: tail_len bytes (malloc'd) */
    size_t tail_len;
    int64_t output_bytes;
} fm_pg_item;

struct fm_pg {
    char *url;
    PGconn *conn; /* the caller's connection: opening, campaigns, reads, merge */
    fm_store_cached_campaign *campaigns;
    size_t n_campaigns, cap_campaigns;

    /* The runner (fm_pg_writer.c): all below but the connection is guarded by mu. */
    bool runner;
    int64_t campaign, runner_id;
    int block;
    PGconn *wconn;    /* the writer thread's connection */
    fm_store *wstore; /* the writer's scratch handle, for its error messages */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wake_fd; /* an eventfd: wakes the writer at once */
    fm_pg_item *q;
    size_t q_len, q_cap;
    size_t q_marker; /* the items before it were all added before the last in-flight count */
    int64_t marker_in_flight;
    bool markers; /* set_in_flight was called: commit only up to the marker */
    int64_t claim_next, claim_end, next_start, next_end;
    int64_t block_since; /* CLOCK_MONOTONIC when the current block was taken */
    bool claim_wanted;
    fm_store_cluster cluster;
    bool have_cluster;
    fm_store_cluster_decision decision;
    bool decision_pending;
    uint64_t flush_req, flush_done;
    bool stop, writer_dead;
    fm_store_status werr; /* sticky: the first failure of the writer */
    char werrmsg[512];
};

/* Connect quietly (no notices printed) with search_path at the schema flakemeter. */
PGconn *fm_pg__connect(fm_store *store, const char *url);
/* postgresql://user:secret@host/db with the password replaced by *** (for messages). */
void fm_pg__redact(const char *url, char *out, size_t size);
PGresult *fm_pg__query(fm_store *store, PGconn *conn, const char *what, const char *sql, int n,
                       const char *const *values);
fm_store_status fm_pg__exec(fm_store *store, PGconn *conn, const char *what, const char *sql);
fm_store_status fm_pg__fail_conn(fm_store *store, PGconn *conn, const char *what);
int64_t fm_pg__int(const PGresult *res, int row, int col);
int64_t fm_pg__bin_int(const PGresult *res, int row, int col);

/* The 13 text parameters of a run row (the SQLite store's NULL rules for exit code and signal). */
typedef struct {
    char buf[13][24];
    const char *v[13];
} fm_pg_run_params;
void fm_pg__run_params(const fm_run_record *r, bool has_exit, bool has_signal, fm_pg_run_params *p);
/* Read the campaign's combined counts on conn. */
fm_store_status fm_pg__read_cluster(fm_store *store, PGconn *conn, int64_t campaign,
                                    fm_store_cluster *out);

#endif
