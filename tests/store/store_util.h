/*
 * store_util.h - what the store tests share: a scratch directory, whole-file snapshots (to show
 * a refused file is byte-for-byte unchanged), and a seeded generator of retry chains together
 * with the summary they must produce, computed here in plain C independently of the SQL.
 */
#ifndef STORE_UTIL_H
#define STORE_UTIL_H

#include "fm_store.h"
#include "fm_test.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Scratch directory ---------------------------------------------------------------------- */

static char su_dir[256];

static inline const char *su_mkdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(su_dir, sizeof su_dir, "%s/fmstore-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(su_dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    return su_dir;
}

/* dir/name in a static rotating buffer (a few paths may be live at once). */
static inline const char *su_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", su_dir, name);
    return b;
}

static inline void su_rmdir(void)
{
    DIR *d = opendir(su_dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(su_path(e->d_name));
    closedir(d);
    rmdir(su_dir);
}

static inline bool su_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* One integer from SQL on a separate read-only connection; -1 on any failure. */
static inline int64_t su_query(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Run SQL on a plain read-write connection (to make foreign or tampered files). */
static inline bool su_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    bool ok = sqlite3_open(path, &db) == SQLITE_OK &&
              sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

/* ---- File snapshots ------------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t size;
} su_file;

static inline su_file su_read(const char *path)
{
    su_file f = {NULL, 0};
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return f;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f.data = malloc(n > 0 ? (size_t)n : 1);
    f.size = fread(f.data, 1, (size_t)n, fp);
    fclose(fp);
    return f;
}

static inline bool su_same(const su_file *a, const su_file *b)
{
    return a->data != NULL && b->data != NULL && a->size == b->size &&
           memcmp(a->data, b->data, a->size) == 0;
}

static inline void su_write(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
        perror(path);
        exit(2);
    }
}

/* ---- Seeded retry chains ----------------------------------------------------------------------
 */

static inline uint64_t su_next(uint64_t *s)
{
    /* splitmix64 (Steele, Lea, Flood 2014). */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline double su_unif(uint64_t *s)
{
    return (double)(su_next(s) >> 11) * 0x1.0p-53;
}

#define SU_MAX_ATTEMPTS 4

/*
 * The attempts of chain run_index: the first fails with probability 0.25, a retry after a
 * failure with 0.5 (a correlated flake); a failure is fail, crash, timeout or error with
 * probabilities 0.6, 0.2, 0.1, 0.1; the chain stops at its first pass or after
 * SU_MAX_ATTEMPTS.  Returns the number of attempts written to out.
 */
static inline int su_chain(uint64_t *rng, int64_t run_index, fm_run_record *out)
{
    int n = 0;
    for (uint32_t a = 1; a <= SU_MAX_ATTEMPTS; a++) {
        fm_run_record r = {0};
        r.run_index = run_index;
        r.attempt = a;
        r.seed = su_next(rng); /* full 64 bits: exercises the unsigned round trip */
        double p = a == 1 ? 0.25 : 0.5;
        if (su_unif(rng) >= p) {
            r.outcome = FM_OUTCOME_PASS;
        } else {
            double u = su_unif(rng);
            r.outcome = u < 0.6   ? FM_OUTCOME_FAIL
                        : u < 0.8 ? FM_OUTCOME_CRASH
                        : u < 0.9 ? FM_OUTCOME_TIMEOUT
                                  : FM_OUTCOME_ERROR;
        }
        r.exit_code = r.outcome == FM_OUTCOME_FAIL ? 1 : r.outcome == FM_OUTCOME_ERROR ? -1 : 0;
        r.signal = r.outcome == FM_OUTCOME_CRASH ? 11 : r.outcome == FM_OUTCOME_TIMEOUT ? 9 : 0;
        r.core_dumped = r.outcome == FM_OUTCOME_CRASH && (su_next(rng) & 1);
        r.start_ns = 1700000000000000000LL + run_index * 1000000LL + a * 1000LL;
        r.wall_ns = 1000000 + (int64_t)(su_next(rng) % 99000000);
        r.user_us = 100 + run_index % 7;
        r.sys_us = 50 + a;
        r.max_rss_kb = 2048 + run_index % 100;
        out[n++] = r;
        if (r.outcome == FM_OUTCOME_PASS)
            break;
    }
    return n;
}

/* Fold one chain into the summary it should produce (the definitions of fm_store.h). */
static inline void su_expect(fm_store_summary *s, const fm_run_record *rows, int n)
{
    s->chains++;
    for (int i = 0; i < n; i++) {
        const fm_run_record *r = &rows[i];
        s->attempts++;
        s->by_outcome[r->outcome]++;
        if (r->attempt == 1) {
            s->first++;
            s->first_by_outcome[r->outcome]++;
        } else {
            s->retries++;
            s->retries_failed += r->outcome != FM_OUTCOME_PASS;
        }
        if ((int64_t)r->attempt > s->max_attempt)
            s->max_attempt = r->attempt;
        s->wall_ns_total += r->wall_ns;
        if (s->first_start_ns == 0 || r->start_ns < s->first_start_ns)
            s->first_start_ns = r->start_ns;
        if (r->start_ns + r->wall_ns > s->last_end_ns)
            s->last_end_ns = r->start_ns + r->wall_ns;
    }
    const fm_run_record *last = &rows[n - 1];
    s->chains_failed += last->outcome != FM_OUTCOME_PASS;
    s->passed_on_retry += last->outcome == FM_OUTCOME_PASS && last->attempt >= 2;
}

/* Compare two summaries field by field; names the first that differs. */
static inline bool su_summary_equal(const fm_store_summary *a, const fm_store_summary *b,
                                    const char *what)
{
    struct {
        const char *name;
        int64_t x, y;
    } f[] = {
        {"attempts", a->attempts, b->attempts},
        {"first", a->first, b->first},
        {"chains", a->chains, b->chains},
        {"chains_failed", a->chains_failed, b->chains_failed},
        {"passed_on_retry", a->passed_on_retry, b->passed_on_retry},
        {"retries", a->retries, b->retries},
        {"retries_failed", a->retries_failed, b->retries_failed},
        {"max_attempt", a->max_attempt, b->max_attempt},
        {"wall_ns_total", a->wall_ns_total, b->wall_ns_total},
        {"first_start_ns", a->first_start_ns, b->first_start_ns},
        {"last_end_ns", a->last_end_ns, b->last_end_ns},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].x != f[i].y) {
            fprintf(stderr, "%s: %s %lld != %lld\n", what, f[i].name, (long long)f[i].x,
                    (long long)f[i].y);
            ok = false;
        }
    for (int k = 0; k < FM_OUTCOME_COUNT; k++)
        if (a->by_outcome[k] != b->by_outcome[k] ||
            a->first_by_outcome[k] != b->first_by_outcome[k]) {
            fprintf(stderr, "%s: outcome %d counts differ\n", what, k);
            ok = false;
        }
    return ok;
}

/* A campaign description for tests (kind command, argv as JSON). */
static inline fm_campaign_info su_campaign(const char *label, const char *command)
{
    fm_campaign_info c = {
        label, "command", command, "", "testhost", "x86_64", "0.1.0", NULL, 1700000000000000000LL,
        NULL};
    return c;
}

/*
 * Add chains [from, to) with run_index stepping by `step` (shards: from = shard, step = N);
 * optionally fold them into *expect.  Returns the first failing status.
 */
static inline fm_store_status su_add_chains(fm_store *s, int64_t campaign, int64_t from, int64_t to,
                                            int64_t step, uint64_t seed, fm_store_summary *expect)
{
    for (int64_t i = from; i < to; i += step) {
        uint64_t rng = seed ^ (uint64_t)i * 0x100000001b3ULL; /* per chain: shards agree */
        fm_run_record rows[SU_MAX_ATTEMPTS];
        int n = su_chain(&rng, i, rows);
        for (int k = 0; k < n; k++) {
            fm_store_status st = fm_store_add_run(s, campaign, &rows[k]);
            if (st != FM_STORE_OK)
                return st;
        }
        if (expect != NULL)
            su_expect(expect, rows, n);
    }
    return FM_STORE_OK;
}

/* ---- The counts kept in the store (schema 4) against the rows ---------------------------------
 *
 * The tallies, causes and wall_buckets rows recomputed here by plain SQL aggregates over runs
 * (the way the PostgreSQL backend counts, independent of the C scan and the per-batch deltas):
 * the number of campaigns whose stored counts differ (0 when all agree), or -1 on failure.
 */
#define SU_EXPECTED_TALLIES                                                                        \
    "WITH a AS (SELECT campaign, count(*) n, sum(outcome = 0) o0, sum(outcome = 1) o1,"            \
    " sum(outcome = 2) o2, sum(outcome = 3) o3, sum(outcome = 4) o4, sum(outcome = 5) o5,"         \
    " sum(attempt = 1) f, sum(attempt = 1 AND outcome = 0) f0, sum(attempt = 1 AND outcome = 1) "  \
    "f1,"                                                                                          \
    " sum(attempt = 1 AND outcome = 2) f2, sum(attempt = 1 AND outcome = 3) f3,"                   \
    " sum(attempt = 1 AND outcome = 4) f4, sum(attempt = 1 AND outcome = 5) f5,"                   \
    " sum(attempt >= 2 AND outcome <> 5) r, sum(attempt >= 2 AND outcome NOT IN (0, 5)) rf,"       \
    " max(attempt) ma, sum(wall_ns) w, min(start_ns) s, max(start_ns + wall_ns) e"                 \
    " FROM runs GROUP BY campaign),"                                                               \
    " l AS (SELECT campaign, max(attempt * 8 + outcome) last FROM runs GROUP BY campaign, "        \
    "run_index),"                                                                                  \
    " ch AS (SELECT campaign, sum(last % 8 <> 5) c, sum(last % 8 NOT IN (0, 5)) cf,"               \
    " sum(last % 8 = 0 AND last / 8 >= 2) pr FROM l GROUP BY campaign),"                           \
    " x AS (SELECT k.id, ifnull(n, 0), ifnull(o0, 0), ifnull(o1, 0), ifnull(o2, 0), ifnull(o3, "   \
    "0),"                                                                                          \
    " ifnull(o4, 0), ifnull(o5, 0), ifnull(f, 0), ifnull(f0, 0), ifnull(f1, 0), ifnull(f2, 0),"    \
    " ifnull(f3, 0), ifnull(f4, 0), ifnull(f5, 0), ifnull(c, 0), ifnull(cf, 0), ifnull(pr, 0),"    \
    " ifnull(r, 0), ifnull(rf, 0), ifnull(ma, 0), ifnull(w, 0), ifnull(s, 0), ifnull(e, 0)"        \
    " FROM campaigns k LEFT JOIN a ON a.campaign = k.id LEFT JOIN ch ON ch.campaign = k.id),"      \
    " t AS (SELECT campaign, attempts, n_pass, n_fail, n_crash, n_timeout, n_error, "              \
    "n_interrupted,"                                                                               \
    " first_attempts, first_pass, first_fail, first_crash, first_timeout, first_error,"            \
    " first_interrupted, chains, chains_failed, passed_on_retry, retries, retries_failed,"         \
    " max_attempt, wall_ns_total, first_start_ns, last_end_ns FROM tallies),"                      \
    " ec AS (SELECT campaign, outcome, code IS NOT NULL, ifnull(code, 0), count(*) FROM"           \
    " (SELECT campaign, outcome, CASE WHEN outcome IN (1, 4) THEN exit_code ELSE signal END code"  \
    " FROM runs WHERE attempt = 1 AND outcome NOT IN (0, 5)) GROUP BY 1, 2, 3, 4),"                \
    " sc AS (SELECT campaign, outcome, has_code, code, n FROM causes WHERE n > 0),"                \
    " eb AS (SELECT campaign, count(*) FROM runs WHERE outcome <> 5 GROUP BY campaign),"           \
    " sb AS (SELECT campaign, sum(n) FROM wall_buckets GROUP BY campaign HAVING sum(n) > 0)"       \
    " SELECT (SELECT count(*) FROM (SELECT * FROM x EXCEPT SELECT * FROM t))"                      \
    " + (SELECT count(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM x))"                           \
    " + (SELECT count(*) FROM (SELECT * FROM ec EXCEPT SELECT * FROM sc))"                         \
    " + (SELECT count(*) FROM (SELECT * FROM sc EXCEPT SELECT * FROM ec))"                         \
    " + (SELECT count(*) FROM (SELECT * FROM eb EXCEPT SELECT * FROM sb))"                         \
    " + (SELECT count(*) FROM (SELECT * FROM sb EXCEPT SELECT * FROM eb))"

static inline int64_t su_counts_mismatch(const char *path)
{
    return su_query(path, SU_EXPECTED_TALLIES);
}

#endif
