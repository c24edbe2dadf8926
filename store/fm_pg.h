/*
 * fm_pg.h - the PostgreSQL backend of the store (libpq): what fm_store.c dispatches to when a
 * store was opened from a postgresql:// or postgres:// URL.  Not a public header: only store/
 * includes it (through fm_store_internal.h's FM_PG_DISPATCH).
 *
 * Invariants (docs/scale.md, "PostgreSQL shared store"):
 *  - The tables live in the schema `flakemeter` of the database the URL names; flakemeter.meta
 *    holds the schema version (FM_PG_SCHEMA).  A newer version is refused untouched.
 *  - Every run row is written together with its writer's row in `runners` (counted and failed
 *    first attempts, first attempts in flight) in one transaction, so the sums over `runners`
 *    are the campaign's counts, consistent with what each runner had started.
 *  - Run indices of a runner come from `campaign_state.next_index` by blocks (UPDATE ...
 *    RETURNING): no two runners get the same index; a block a runner did not use is a gap.
 *  - During a campaign (after fm_pg_runner_begin) the caller's thread never waits for the
 *    server: rows, in-flight counts and the decision go into a queue that one writer thread,
 *    on its own connection, commits; claims are prefetched and the campaign's combined counts
 *    are read back by the same thread (every FM_PG_TICK_MS, and at once on a NOTIFY).
 */
#ifndef FM_PG_H
#define FM_PG_H

#include "fm_store_internal.h"

#define FM_PG_SCHEMA    1
#define FM_PG_TICK_MS   100 /* the writer commits and re-reads the counts at least this often */
#define FM_PG_DEAD_TEXT "5" /* seconds: a runner whose heartbeat is older is dead */

typedef struct fm_pg fm_pg;

/* Open the database of url (create: make the schema when absent); sets store->pg. */
fm_store_status fm_pg_open(fm_store *store, const char *url, bool create);
/* Stop the writer (committing its queue), mark the runner finished, disconnect, free. */
fm_store_status fm_pg_close(fm_store *store);
fm_store_status fm_pg_flush(fm_store *store);
fm_store_status fm_pg_poll(fm_store *store);

fm_store_status fm_pg_campaign(fm_store *store, const fm_campaign_info *info, int64_t *id,
                               bool *existed);
fm_store_status fm_pg_find_campaign(fm_store *store, const char *label, int64_t *id);
fm_store_status fm_pg_last_campaign(fm_store *store, int64_t *id, fm_campaign_info *info);
fm_store_status fm_pg_campaign_ids(fm_store *store, const char *label, int64_t **ids, size_t *n);
fm_store_status fm_pg_campaign_by_id(fm_store *store, int64_t id, fm_campaign_info *info);

fm_store_status fm_pg_add_run(fm_store *store, int64_t campaign, const fm_run_record *run);
fm_store_status fm_pg_add_evidence(fm_store *store, int64_t campaign, const fm_store_evidence *ev);
fm_store_status fm_pg_max_run_index(fm_store *store, int64_t campaign, int64_t *max);
fm_store_status fm_pg_summarize(fm_store *store, int64_t campaign, fm_store_summary *out);
fm_store_status fm_pg_wall_quantile(fm_store *store, int64_t campaign, double q, int64_t *ns);
fm_store_status fm_pg_causes(fm_store *store, int64_t campaign, fm_store_cause *out, size_t max,
                             size_t *n, size_t *total);
fm_store_status fm_pg_evidence_each(fm_store *store, int64_t campaign,
                                    int (*fn)(const fm_store_evidence *ev, void *ctx), void *ctx);
fm_store_status fm_pg_for_each_run(fm_store *store, int64_t campaign, fm_store__row_fn fn,
                                   void *ctx);

/* begin: a read-only REPEATABLE READ transaction (one snapshot for an export); else its end. */
fm_store_status fm_pg_read_snapshot(fm_store *store, bool begin);

/* The runner's side (fm_store.h, "Shared stores"). */
fm_store_status fm_pg_runner_begin(fm_store *store, int64_t campaign, int block);
bool fm_pg_claim_run(fm_store *store, int64_t *index);
void fm_pg_set_in_flight(fm_store *store, int64_t n);
bool fm_pg_cluster(fm_store *store, fm_store_cluster *out);
void fm_pg_decide(fm_store *store, const fm_store_cluster_decision *d);

/* fm_store_merge when the output or an input is a URL (fm_pg_merge.c). */
fm_store_status fm_pg_merge(const char *out, const char *const *inputs, int n_inputs, char *errbuf,
                            size_t errsize);

/* ---- Shared by fm_pg*.c ---- */

/* A merge's writes on the caller's connection: one transaction, rows counted in a runners row. */
fm_store_status fm_pg__begin(fm_store *store);
fm_store_status fm_pg__commit(fm_store *store, bool ok);
fm_store_status fm_pg__campaign_locked(fm_store *store, const fm_campaign_info *info, int64_t *id,
                                       bool *existed);
/* Insert a run; *inserted false when the key exists and is the same run (ECONFLICT: differs). */
fm_store_status fm_pg__copy_run(fm_store *store, int64_t campaign, const fm_run_record *r,
                                bool has_exit, bool has_signal, bool *inserted);
fm_store_status fm_pg__copy_evidence(fm_store *store, int64_t campaign,
                                     const fm_store_evidence *ev);
/* After copying into a campaign: a finished runners row with the counts copied, and the claim
 * counter above every index stored. */
fm_store_status fm_pg__copied(fm_store *store, int64_t campaign, int64_t counted, int64_t failed);

#endif
