/*
 * fm_pg_writer.c - the runner's side of a PostgreSQL store: run-index claims, the writer
 * thread, the in-flight count and the cluster-wide decision (docs/scale.md, "PostgreSQL shared
 * store").
 *
 * Invariants:
 *  - The caller's thread never waits for the server once fm_pg_runner_begin has returned: it
 *    only appends to the queue, reads the last claimed block and the last combined counts,
 *    under a mutex held for a copy.  The writer thread does every round trip on its own
 *    connection.
 *  - A commit holds the rows added before the last fm_pg_set_in_flight (the marker) and that
 *    in-flight count, with the runner row's counts raised by exactly the counted first attempts
 *    it inserts: per runner, what the database shows is a prefix of the runner's own starts.
 *  - A failed commit is rolled back (its rows are lost, as a SIGKILL would lose them) and its
 *    failure is sticky: fm_pg_poll and fm_pg_flush report it, so the engine stops with one line.
 *  - Claims: blocks of `block` indices from campaign_state.next_index (UPDATE ... RETURNING,
 *    atomic in PostgreSQL); the next block is fetched while half of the current one is left.
 *  - The decision: the first runner to decide writes it to campaign_state (WHERE decided_ns IS
 *    NULL, so the first stands) and NOTIFYs flakemeter_decided; every writer LISTENs and re-reads
 *    the combined counts at once, else every FM_PG_TICK_MS.
 */
#include "fm_pg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void wake(fm_pg *pg)
{
    uint64_t one = 1;
    if (pg->wake_fd >= 0 && write(pg->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN) {
        /* the writer still wakes at its next tick */
    }
}

void fm_pg__run_params(const fm_run_record *r, bool has_exit, bool has_signal, fm_pg_run_params *p)
{
    int64_t v[13] = {0,
                     r->run_index,
                     r->attempt,
                     (int64_t)r->seed,
                     (int64_t)r->outcome,
                     r->exit_code,
                     r->signal,
                     r->core_dumped ? 1 : 0,
                     r->start_ns,
                     r->wall_ns,
                     r->user_us,
                     r->sys_us,
                     r->max_rss_kb};
    for (int i = 1; i < 13; i++) {
        snprintf(p->buf[i], sizeof p->buf[i], "%" PRId64, v[i]);
        p->v[i] = p->buf[i];
    }
    if (!has_exit)
        p->v[5] = NULL;
    if (!has_signal)
        p->v[6] = NULL;
}

/* The SQLite store's rule (fm_store.c, bind_run): where exit code and signal mean something. */
static void record_params(const fm_run_record *r, fm_pg_run_params *p)
{
    bool has_exit = r->outcome == FM_OUTCOME_PASS || r->outcome == FM_OUTCOME_FAIL ||
                    (r->outcome == FM_OUTCOME_ERROR && r->exit_code >= 0);
    bool has_signal = (r->outcome == FM_OUTCOME_CRASH || r->outcome == FM_OUTCOME_TIMEOUT ||
                       r->outcome == FM_OUTCOME_INTERRUPTED) &&
                      r->signal > 0;
    fm_pg__run_params(r, has_exit, has_signal, p);
}

fm_store_status fm_pg__read_cluster(fm_store *store, PGconn *conn, int64_t campaign,
                                    fm_store_cluster *out)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, campaign);
    const char *v[1] = {ids};
    PGresult *res = fm_pg__query(
        store, conn, "cannot read the campaign's counts",
        "SELECT (SELECT coalesce(sum(counted), 0) FROM runners WHERE campaign = $1),"
        " (SELECT coalesce(sum(failed), 0) FROM runners WHERE campaign = $1),"
        " (SELECT coalesce(sum(in_flight), 0) FROM runners WHERE campaign = $1),"
        " (SELECT count(*) FROM runners WHERE campaign = $1 AND NOT finished AND"
        "  heartbeat > now() - interval '" FM_PG_DEAD_TEXT " seconds'),"
        " decided_ns, decided_attempts, decided_pending, decided_reachable, decided_indifferent"
        " FROM campaign_state WHERE campaign = $1",
        1, v);
    if (res == NULL)
        return FM_STORE_EIO;
    fm_store_status status = FM_STORE_OK;
    if (PQntuples(res) != 1) {
        status = fm_store__fail(store, FM_STORE_ENOENT, "campaign %lld has no state row",
                                (long long)campaign);
    } else {
        out->counted = fm_pg__int(res, 0, 0);
        out->failed = fm_pg__int(res, 0, 1);
        out->in_flight = fm_pg__int(res, 0, 2);
        out->runners_live = fm_pg__int(res, 0, 3);
        out->decided = !PQgetisnull(res, 0, 4);
        out->decided_ns = fm_pg__int(res, 0, 4);
        out->decided_attempts = (uint64_t)fm_pg__int(res, 0, 5);
        out->decided_pending = (uint64_t)fm_pg__int(res, 0, 6);
        out->decided_reachable = PQgetvalue(res, 0, 7)[0] == 't';
        out->decided_indifferent = PQgetvalue(res, 0, 8)[0] == 't';
    }
    PQclear(res);
    return status;
}

/* Take the next block of run indices (on conn): [*start, *start + block). */
static fm_store_status claim_block(fm_store *store, PGconn *conn, int64_t campaign, int block,
                                   int64_t *start)
{
    char ids[24], n[24];
    snprintf(ids, sizeof ids, "%" PRId64, campaign);
    snprintf(n, sizeof n, "%d", block);
    const char *v[2] = {ids, n};
    PGresult *res = fm_pg__query(store, conn, "cannot claim run indices",
                                 "UPDATE campaign_state SET next_index = next_index + $2 "
                                 "WHERE campaign = $1 RETURNING next_index - $2",
                                 2, v);
    if (res == NULL)
        return FM_STORE_EIO;
    fm_store_status status = FM_STORE_OK;
    if (PQntuples(res) == 1)
        *start = fm_pg__int(res, 0, 0);
    else
        status = fm_store__fail(store, FM_STORE_ENOENT, "campaign %lld has no state row",
                                (long long)campaign);
    PQclear(res);
    return status;
}

/* ---- The writer thread ---------------------------------------------------------------------- */

static void writer_failed(fm_pg *pg, fm_store_status status, const char *msg)
{
    pthread_mutex_lock(&pg->mu);
    if (pg->werr == FM_STORE_OK) {
        pg->werr = status;
        snprintf(pg->werrmsg, sizeof pg->werrmsg, "%s", msg);
    }
    pthread_mutex_unlock(&pg->mu);
}

/* Up to this many rows in one INSERT (14 parameters each, under PostgreSQL's 65535). */
#define ROWS_PER_INSERT 500

static fm_store_status insert_runs(fm_pg *pg, const fm_pg_item *items, size_t n)
{
    fm_store *ws = pg->wstore;
    size_t rows = 0;
    for (size_t i = 0; i < n; i++)
        rows += !items[i].evidence;
    size_t done = 0, i = 0;
    char runner[24], campaign[24];
    snprintf(runner, sizeof runner, "%" PRId64, pg->runner_id);
    snprintf(campaign, sizeof campaign, "%" PRId64, pg->campaign);
    fm_store_status status = FM_STORE_OK;
    while (done < rows && status == FM_STORE_OK) {
        size_t chunk = rows - done < ROWS_PER_INSERT ? rows - done : ROWS_PER_INSERT;
        size_t sql_size = 256 + chunk * 320;
        char *sql = malloc(sql_size);
        fm_pg_run_params *p = malloc(chunk * sizeof *p);
        const char **v = malloc(chunk * 14 * sizeof *v);
        if (sql == NULL || p == NULL || v == NULL) {
            free(sql), free(p), free(v);
            return fm_store__fail(ws, FM_STORE_ENOMEM, "out of memory");
        }
        size_t len = (size_t)snprintf(sql, sql_size,
                                      "INSERT INTO runs (campaign, run_index, attempt, seed, "
                                      "outcome, exit_code, signal, core_dumped, start_ns, "
                                      "wall_ns, user_us, sys_us, max_rss_kb, runner) VALUES ");
        for (size_t k = 0; k < chunk; i++) {
            if (items[i].evidence)
                continue;
            record_params(&items[i].r, &p[k]);
            p[k].v[0] = campaign;
            memcpy(v + 14 * k, p[k].v, 13 * sizeof *v);
            v[14 * k + 13] = runner;
            size_t b = 14 * k;
            if (len < sql_size)
                len += (size_t)snprintf(
                    sql + len, sql_size - len,
                    "%s($%zu::bigint, $%zu::bigint, $%zu::int, $%zu::bigint, $%zu::smallint, "
                    "$%zu::int, $%zu::int, $%zu::smallint, $%zu::bigint, $%zu::bigint, "
                    "$%zu::bigint, $%zu::bigint, $%zu::bigint, $%zu::bigint)",
                    k ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9,
                    b + 10, b + 11, b + 12, b + 13, b + 14);
            k++;
        }
        if (len >= sql_size)
            status = fm_store__fail(ws, FM_STORE_ENOMEM, "an INSERT too long");
        else {
            PGresult *res =
                fm_pg__query(ws, pg->wconn, "cannot store runs", sql, (int)(chunk * 14), v);
            status = res != NULL ? FM_STORE_OK : FM_STORE_EIO;
            PQclear(res);
        }
        free(sql), free(p), free(v);
        done += chunk;
    }
    return status;
}

/* Evidence, bounded per cause and campaign as in the SQLite store (fm_store.c). */
static fm_store_status insert_evidence(fm_store *ws, PGconn *conn, int64_t campaign,
                                       const fm_store_evidence *ev)
{
    char b[6][24], per[8], causes[8];
    snprintf(b[0], sizeof b[0], "%" PRId64, campaign);
    snprintf(b[1], sizeof b[1], "%" PRId64, ev->run_index);
    snprintf(b[2], sizeof b[2], "%u", ev->attempt);
    snprintf(b[3], sizeof b[3], "%d", (int)ev->cause.outcome);
    snprintf(b[4], sizeof b[4], "%d", ev->cause.code);
    snprintf(b[5], sizeof b[5], "%" PRId64, ev->output_bytes);
    snprintf(per, sizeof per, "%d", FM_STORE_EVIDENCE_PER_CAUSE);
    snprintf(causes, sizeof causes, "%d", FM_STORE_EVIDENCE_CAUSES);
    const char *v[9] = {b[0],
                        b[1],
                        b[2],
                        b[3],
                        ev->cause.has_code ? b[4] : NULL,
                        b[5],
                        ev->tail_len ? ev->tail : "",
                        per,
                        causes};
    int lengths[9] = {0, 0, 0, 0, 0, 0, (int)ev->tail_len, 0, 0};
    int formats[9] = {0, 0, 0, 0, 0, 0, 1, 0, 0};
    /* The per-campaign lock keeps the bound exact between runners (evidence is rare). */
    PGresult *res = PQexecParams(
        conn,
        "WITH l AS (SELECT pg_advisory_xact_lock(1179472498, $1::int)) "
        "INSERT INTO evidence (campaign, run_index, attempt, outcome, code, output_bytes, tail) "
        "SELECT $1::bigint, $2::bigint, $3::int, $4::smallint, $5::int, $6::bigint, $7::bytea "
        "FROM l WHERE (SELECT count(*) FROM evidence WHERE campaign = $1 AND outcome = $4 AND "
        "code IS NOT DISTINCT FROM $5::int) < $8::int AND ((SELECT count(*) FROM evidence WHERE "
        "campaign = $1 AND outcome = $4 AND code IS NOT DISTINCT FROM $5::int) > 0 OR "
        "(SELECT count(*) FROM (SELECT DISTINCT outcome, code FROM evidence WHERE campaign = $1) "
        "d) < $9::int) ON CONFLICT DO NOTHING",
        9, NULL, v, lengths, formats, 0);
    fm_store_status status = PQresultStatus(res) == PGRES_COMMAND_OK
                                 ? FM_STORE_OK
                                 : fm_pg__fail_conn(ws, conn, "cannot keep the output of a run");
    PQclear(res);
    return status;
}

fm_store_status fm_pg__copy_evidence(fm_store *store, int64_t campaign, const fm_store_evidence *ev)
{
    return insert_evidence(store, store->pg->conn, campaign, ev);
}

/* One transaction: the rows, the runner row (counts, in flight, heartbeat), the decision. */
static fm_store_status commit(fm_pg *pg, const fm_pg_item *items, size_t n, int64_t in_flight,
                              const fm_store_cluster_decision *d)
{
    fm_store *ws = pg->wstore;
    PGconn *c = pg->wconn;
    int64_t counted = 0, failed = 0;
    for (size_t i = 0; i < n; i++)
        if (!items[i].evidence && items[i].r.attempt == 1 &&
            fm_outcome_counted(items[i].r.outcome)) {
            counted++;
            failed += items[i].r.outcome != FM_OUTCOME_PASS;
        }
    fm_store_status status = fm_pg__exec(ws, c, "cannot begin a transaction", "BEGIN");
    if (status == FM_STORE_OK)
        status = insert_runs(pg, items, n);
    for (size_t i = 0; i < n && status == FM_STORE_OK; i++)
        if (items[i].evidence) {
            fm_store_evidence ev = {.run_index = items[i].r.run_index,
                                    .attempt = items[i].r.attempt,
                                    .cause = fm_store_cause_of(&items[i].r),
                                    .output_bytes = items[i].output_bytes,
                                    .tail = items[i].tail,
                                    .tail_len = items[i].tail_len};
            status = insert_evidence(ws, c, pg->campaign, &ev);
        }
    char b[4][24];
    snprintf(b[0], sizeof b[0], "%" PRId64, pg->runner_id);
    snprintf(b[1], sizeof b[1], "%" PRId64, counted);
    snprintf(b[2], sizeof b[2], "%" PRId64, failed);
    snprintf(b[3], sizeof b[3], "%" PRId64, in_flight);
    const char *v[4] = {b[0], b[1], b[2], b[3]};
    if (status == FM_STORE_OK) {
        PGresult *res = fm_pg__query(ws, c, "cannot update the runner",
                                     "UPDATE runners SET counted = counted + $2, failed = failed "
                                     "+ $3, in_flight = $4, heartbeat = now() WHERE id = $1",
                                     4, v);
        status = res != NULL ? FM_STORE_OK : FM_STORE_EIO;
        PQclear(res);
    }
    if (status == FM_STORE_OK && d != NULL) {
        char e[6][24];
        snprintf(e[0], sizeof e[0], "%" PRId64, pg->campaign);
        snprintf(e[1], sizeof e[1], "%" PRId64, d->decided_ns);
        snprintf(e[2], sizeof e[2], "%" PRIu64, d->attempts);
        snprintf(e[3], sizeof e[3], "%" PRIu64, d->pending);
        const char *w[7] = {
            e[0], e[1], b[0], e[2], e[3], d->reachable ? "t" : "f", d->indifferent ? "t" : "f"};
        PGresult *res = fm_pg__query(
            ws, c, "cannot record the decision",
            "WITH u AS (UPDATE campaign_state SET decided_ns = $2, decided_at = now(), "
            "decided_by = $3, decided_attempts = $4, decided_pending = $5, decided_reachable = "
            "$6, decided_indifferent = $7 WHERE campaign = $1 AND decided_ns IS NULL RETURNING 1) "
            "SELECT pg_notify('flakemeter_decided', $1::text)",
            7, w);
        status = res != NULL ? FM_STORE_OK : FM_STORE_EIO;
        PQclear(res);
    }
    if (status == FM_STORE_OK)
        status = fm_pg__exec(ws, c, "commit failed", "COMMIT");
    if (status != FM_STORE_OK)
        PQclear(PQexec(c, "ROLLBACK"));
    return status;
}

static void free_items(fm_pg_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].tail);
    free(items);
}

/* Did a NOTIFY for our campaign arrive? */
static bool notified(fm_pg *pg)
{
    bool ours = false;
    if (!PQconsumeInput(pg->wconn))
        return false;
    PGnotify *n;
    while ((n = PQnotifies(pg->wconn)) != NULL) {
        ours = ours || strtoll(n->extra, NULL, 10) == pg->campaign;
        PQfreemem(n);
    }
    return ours;
}

static void *writer(void *arg)
{
    fm_store *store = arg;
    fm_pg *pg = store->pg;
    int64_t next_beat = 0, published = -1;
    bool notify = false;
    for (;;) {
        struct pollfd p[2] = {{.fd = pg->wake_fd, .events = POLLIN},
                              {.fd = PQsocket(pg->wconn), .events = POLLIN}};
        if (poll(p, 2, FM_PG_TICK_MS) > 0) {
            uint64_t count;
            if (p[0].revents && read(pg->wake_fd, &count, sizeof count) < 0) {
                /* nothing to drain */
            }
        }
        notify = notified(pg) || notify;
        /* Take what is complete, under the lock; the round trips happen without it. */
        pthread_mutex_lock(&pg->mu);
        bool stop = pg->stop;
        uint64_t flush = pg->flush_req;
        size_t take = stop || flush != pg->flush_done || !pg->markers ? pg->q_len : pg->q_marker;
        int64_t in_flight = stop ? 0 : pg->marker_in_flight;
        fm_pg_item *items = NULL;
        if (take > 0 && (items = malloc(take * sizeof *items)) != NULL) {
            memcpy(items, pg->q, take * sizeof *items);
            memmove(pg->q, pg->q + take, (pg->q_len - take) * sizeof *pg->q);
            pg->q_len -= take;
            pg->q_marker = pg->q_marker > take ? pg->q_marker - take : 0;
        } else if (take > 0) {
            take = 0; /* out of memory: try again at the next tick */
        }
        fm_store_cluster_decision d = pg->decision;
        bool decide = pg->decision_pending;
        pg->decision_pending = false;
        bool claim = pg->claim_wanted;
        int block = pg->block;
        pthread_mutex_unlock(&pg->mu);

        if (claim) { /* first: the loop may be waiting for it */
            int64_t start;
            fm_store_status st = claim_block(pg->wstore, pg->wconn, pg->campaign, block, &start);
            pthread_mutex_lock(&pg->mu);
            if (st == FM_STORE_OK) {
                pg->next_start = start;
                pg->next_end = start + block;
            }
            pg->claim_wanted = false;
            pthread_mutex_unlock(&pg->mu);
            if (st != FM_STORE_OK)
                writer_failed(pg, st, pg->wstore->errmsg);
        }
        int64_t now = mono_ns();
        if (take > 0 || decide || in_flight != published || now >= next_beat) {
            fm_store_status st = commit(pg, items, take, in_flight, decide ? &d : NULL);
            if (st != FM_STORE_OK)
                writer_failed(pg, st, pg->wstore->errmsg);
            published = in_flight;
            next_beat = now + 1000000000LL; /* the heartbeat: at least every second */
        }
        free_items(items, take);
        /* Re-read the combined counts: every tick, and at once after a NOTIFY. */
        fm_store_cluster c = {0};
        if (!stop && fm_pg__read_cluster(pg->wstore, pg->wconn, pg->campaign, &c) == FM_STORE_OK) {
            pthread_mutex_lock(&pg->mu);
            c.version = pg->cluster.version + 1;
            pg->cluster = c;
            pg->have_cluster = true;
            pthread_mutex_unlock(&pg->mu);
            notify = false;
        }
        pthread_mutex_lock(&pg->mu);
        if (flush != pg->flush_done) {
            pg->flush_done = flush;
            pthread_cond_broadcast(&pg->cv);
        }
        pthread_mutex_unlock(&pg->mu);
        if (stop)
            break;
    }
    return NULL;
}

/* ---- The caller's side ---------------------------------------------------------------------- */

fm_store_status fm_pg_runner_begin(fm_store *store, int64_t campaign, int block)
{
    fm_pg *pg = store->pg;
    if (pg->runner)
        return pg->campaign == campaign
                   ? FM_STORE_OK
                   : fm_store__fail(store, FM_STORE_EINVAL, "one campaign per runner");
    char ids[24], pid[24], host[256] = "";
    snprintf(ids, sizeof ids, "%" PRId64, campaign);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    const char *v[3] = {ids, host, pid};
    PGresult *res = fm_pg__query(store, pg->conn, "cannot start the runner",
                                 "INSERT INTO campaign_state (campaign, next_index) "
                                 "SELECT $1, coalesce(max(run_index) + 1, 0) FROM runs "
                                 "WHERE campaign = $1 ON CONFLICT DO NOTHING",
                                 1, v);
    if (res == NULL)
        return FM_STORE_EIO;
    PQclear(res);
    res = fm_pg__query(store, pg->conn, "cannot start the runner",
                       "INSERT INTO runners (campaign, kind, host, pid) VALUES ($1, 'run', $2, "
                       "$3) RETURNING id",
                       3, v);
    if (res == NULL)
        return FM_STORE_EIO;
    pg->runner_id = fm_pg__int(res, 0, 0);
    PQclear(res);
    pg->campaign = campaign;
    pg->block = block;
    int64_t start;
    fm_store_status status = claim_block(store, pg->conn, campaign, block, &start);
    if (status != FM_STORE_OK)
        return status;
    pg->claim_next = start;
    pg->claim_end = start + block;
    pg->block_since = mono_ns();
    status = fm_pg__read_cluster(store, pg->conn, campaign, &pg->cluster);
    if (status != FM_STORE_OK)
        return status;
    pg->cluster.version = 1;
    pg->have_cluster = true;
    if ((pg->wstore = calloc(1, sizeof *pg->wstore)) == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    pg->wconn = fm_pg__connect(store, pg->url);
    if (pg->wconn == NULL)
        return FM_STORE_EIO;
    status = fm_pg__exec(store, pg->wconn, "cannot listen", "LISTEN flakemeter_decided");
    if (status != FM_STORE_OK)
        return status;
    pg->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pg->wake_fd < 0)
        return fm_store__fail(store, FM_STORE_EIO, "eventfd: %s", strerror(errno));
    pthread_mutex_init(&pg->mu, NULL);
    pthread_cond_init(&pg->cv, NULL);
    pg->runner = true;
    if (pthread_create(&pg->thread, NULL, writer, store) != 0)
        return fm_store__fail(store, FM_STORE_EIO, "cannot start the writer thread");
    pg->thread_started = true;
    return FM_STORE_OK;
}

bool fm_pg_claim_run(fm_store *store, int64_t *index)
{
    fm_pg *pg = store->pg;
    if (!pg->runner)
        return false;
    bool got = false, want = false;
    pthread_mutex_lock(&pg->mu);
    if (pg->claim_next == pg->claim_end && pg->next_end > pg->next_start) {
        /* A block used up within a second: the next ones twice as large (fewer stalls). */
        int64_t now = mono_ns();
        if (now - pg->block_since < 1000000000LL && pg->block < FM_PG_MAX_BLOCK)
            pg->block *= 2;
        pg->block_since = now;
        pg->claim_next = pg->next_start;
        pg->claim_end = pg->next_end;
        pg->next_start = pg->next_end = 0;
    }
    if (pg->claim_next < pg->claim_end) {
        *index = pg->claim_next++;
        got = true;
    }
    /* Half the block left and none waiting: fetch the next one now. */
    if (pg->next_end == pg->next_start && !pg->claim_wanted &&
        2 * (pg->claim_end - pg->claim_next) <= pg->block) {
        pg->claim_wanted = want = true;
    }
    pthread_mutex_unlock(&pg->mu);
    if (want)
        wake(pg);
    return got;
}

static fm_store_status enqueue(fm_store *store, int64_t campaign, const fm_pg_item *item)
{
    fm_pg *pg = store->pg;
    if (!pg->runner) {
        fm_store_status status = fm_pg_runner_begin(store, campaign, 1);
        if (status != FM_STORE_OK)
            return status;
    }
    if (campaign != pg->campaign)
        return fm_store__fail(store, FM_STORE_EINVAL, "one campaign per runner");
    pthread_mutex_lock(&pg->mu);
    fm_store_status status = pg->werr;
    if (status == FM_STORE_OK && pg->q_len == pg->q_cap) {
        size_t cap = pg->q_cap ? 2 * pg->q_cap : 256;
        fm_pg_item *q = realloc(pg->q, cap * sizeof *q);
        if (q == NULL)
            status = FM_STORE_ENOMEM;
        else
            pg->q = q, pg->q_cap = cap;
    }
    if (status == FM_STORE_OK)
        pg->q[pg->q_len++] = *item;
    else
        snprintf(store->errmsg, sizeof store->errmsg, "%s",
                 pg->werr != FM_STORE_OK ? pg->werrmsg : "out of memory");
    pthread_mutex_unlock(&pg->mu);
    return status;
}

fm_store_status fm_pg_add_run(fm_store *store, int64_t campaign, const fm_run_record *run)
{
    fm_pg_item item = {.r = *run};
    return enqueue(store, campaign, &item);
}

fm_store_status fm_pg_add_evidence(fm_store *store, int64_t campaign, const fm_store_evidence *ev)
{
    fm_pg_item item = {
        .evidence = true,
        .r = {.run_index = ev->run_index, .attempt = ev->attempt, .outcome = ev->cause.outcome},
        .tail_len = ev->tail_len,
        .output_bytes = ev->output_bytes};
    /* fm_store_cause_of reads these back: the code rides as exit code or signal. */
    if (ev->cause.outcome == FM_OUTCOME_FAIL || ev->cause.outcome == FM_OUTCOME_ERROR)
        item.r.exit_code = ev->cause.has_code ? ev->cause.code : -1;
    else
        item.r.signal = ev->cause.has_code ? ev->cause.code : 0;
    item.tail = malloc(ev->tail_len ? ev->tail_len : 1);
    if (item.tail == NULL)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
    memcpy(item.tail, ev->tail, ev->tail_len);
    fm_store_status status = enqueue(store, campaign, &item);
    if (status != FM_STORE_OK)
        free(item.tail);
    return status;
}

void fm_pg_set_in_flight(fm_store *store, int64_t n)
{
    fm_pg *pg = store->pg;
    if (!pg->runner)
        return;
    pthread_mutex_lock(&pg->mu);
    pg->markers = true;
    pg->q_marker = pg->q_len;
    pg->marker_in_flight = n;
    pthread_mutex_unlock(&pg->mu);
}

bool fm_pg_cluster(fm_store *store, fm_store_cluster *out)
{
    fm_pg *pg = store->pg;
    if (!pg->runner)
        return false;
    pthread_mutex_lock(&pg->mu);
    bool have = pg->have_cluster;
    *out = pg->cluster;
    pthread_mutex_unlock(&pg->mu);
    return have;
}

void fm_pg_decide(fm_store *store, const fm_store_cluster_decision *d)
{
    fm_pg *pg = store->pg;
    if (!pg->runner)
        return;
    pthread_mutex_lock(&pg->mu);
    pg->decision = *d;
    pg->decision_pending = true;
    pthread_mutex_unlock(&pg->mu);
    wake(pg);
}

fm_store_status fm_pg_poll(fm_store *store)
{
    fm_pg *pg = store->pg;
    if (!pg->runner)
        return FM_STORE_OK;
    pthread_mutex_lock(&pg->mu);
    fm_store_status status = pg->werr;
    if (status != FM_STORE_OK)
        snprintf(store->errmsg, sizeof store->errmsg, "%s", pg->werrmsg);
    pthread_mutex_unlock(&pg->mu);
    return status;
}

/* Wait until the writer has committed everything added so far. */
fm_store_status fm_pg_flush(fm_store *store)
{
    fm_pg *pg = store->pg;
    if (!pg->runner || !pg->thread_started)
        return FM_STORE_OK;
    pthread_mutex_lock(&pg->mu);
    uint64_t want = ++pg->flush_req;
    pthread_mutex_unlock(&pg->mu);
    wake(pg);
    pthread_mutex_lock(&pg->mu);
    while (pg->flush_done < want)
        pthread_cond_wait(&pg->cv, &pg->mu);
    pthread_mutex_unlock(&pg->mu);
    return fm_pg_poll(store);
}

fm_store_status fm_pg_close(fm_store *store)
{
    fm_pg *pg = store->pg;
    if (pg == NULL)
        return FM_STORE_OK;
    fm_store_status status = FM_STORE_OK;
    if (pg->thread_started) {
        pthread_mutex_lock(&pg->mu);
        pg->stop = true;
        pthread_mutex_unlock(&pg->mu);
        wake(pg);
        pthread_join(pg->thread, NULL);
        status = fm_pg_poll(store);
        /* The runner is done: nothing of it is in flight any more. */
        char id[24];
        snprintf(id, sizeof id, "%" PRId64, pg->runner_id);
        const char *v[1] = {id};
        PGresult *res = fm_pg__query(store, pg->wconn, "cannot finish the runner",
                                     "UPDATE runners SET finished = true, in_flight = 0, "
                                     "heartbeat = now() WHERE id = $1",
                                     1, v);
        if (res == NULL && status == FM_STORE_OK)
            status = FM_STORE_EIO;
        PQclear(res);
    }
    if (pg->runner) {
        pthread_mutex_destroy(&pg->mu);
        pthread_cond_destroy(&pg->cv);
    }
    if (pg->wake_fd >= 0)
        close(pg->wake_fd);
    if (pg->wconn != NULL)
        PQfinish(pg->wconn);
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    for (size_t i = 0; i < pg->q_len; i++)
        free(pg->q[i].tail);
    free(pg->q);
    for (size_t i = 0; i < pg->n_campaigns; i++)
        free(pg->campaigns[i].strings);
    free(pg->campaigns);
    free(pg->wstore);
    free(pg->url);
    free(pg);
    store->pg = NULL;
    return status;
}
