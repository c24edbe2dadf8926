/*
 * test_store_crash.c - a SIGKILL of the writer loses at most the open batch and the file
 * always opens (the durability contract of fm_store.h).
 *
 * A child adds runs 0, 1, 2, ... (attempt 1) in a loop, flushes every FLUSH_EVERY rows and then
 * reports the flushed count on a pipe.  The parent reads the reports and SIGKILLs the child as
 * soon as one reaches the kill point, while the child is already adding (and auto-committing)
 * further rows; the kill point is a count, not a time, so the test does not depend on speed.
 * After each kill it asserts: the store opens; PRAGMA integrity_check says ok; the rows are at
 * least the last reported flushed count; they form a prefix 0..n-1 (nothing committed out of
 * order, nothing torn); the summary agrees; and the campaign can be resumed.
 */
#include "store_util.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

/* Not a multiple of FM_STORE_BATCH_ROWS: kills land after size-triggered commits too. */
enum { FLUSH_EVERY = 300, CHILD_LIMIT = 10000000 };

static void child(const char *path, int fd)
{
    fm_store *s;
    fm_campaign_info c = su_campaign("crash", "[\"c\"]");
    int64_t id;
    bool existed;
    if (fm_store_open(path, true, &s) != FM_STORE_OK ||
        fm_store_campaign(s, &c, &id, &existed) != FM_STORE_OK)
        _exit(3);
    int64_t max;
    if (fm_store_max_run_index(s, id, &max) != FM_STORE_OK)
        _exit(3);
    for (int64_t i = max + 1; i < CHILD_LIMIT; i++) {
        fm_run_record r = {.run_index = i,
                           .attempt = 1,
                           .outcome = (fm_outcome)(i % 3 == 0),
                           .exit_code = i % 3 == 0,
                           .start_ns = i,
                           .wall_ns = 1000 + i % 977};
        if (fm_store_add_run(s, id, &r) != FM_STORE_OK)
            _exit(4);
        if ((i + 1) % FLUSH_EVERY == 0) {
            if (fm_store_flush(s) != FM_STORE_OK)
                _exit(5);
            int64_t flushed = i + 1;
            if (write(fd, &flushed, sizeof flushed) != (ssize_t)sizeof flushed)
                _exit(6);
        }
    }
    _exit(7); /* never reached before the kill */
}

static char *integrity(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        text = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return text;
}

/* Run a child until its reported flushed count reaches kill_at; return the last report. */
static int64_t run_and_kill(const char *path, int64_t kill_at)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(path, p[1]);
    }
    close(p[1]);
    int64_t last = 0, v;
    bool killed = false;
    ssize_t got;
    while ((got = read(p[0], &v, sizeof v)) == (ssize_t)sizeof v || (got < 0 && errno == EINTR)) {
        if (got < 0)
            continue;
        last = v;
        if (!killed && v >= kill_at) {
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    /* EOF: the child is gone; every report it wrote has been read. */
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "child killed at %lld (status %#x)", (long long)kill_at, status);
    return last;
}

static void check_after_kill(const char *path, int64_t reported)
{
    fm_store *s = NULL;
    CHECK(fm_store_open(path, false, &s) == FM_STORE_OK, "opens after SIGKILL: %s",
          fm_store_errmsg(NULL));
    if (s == NULL)
        return;
    char *ok = integrity(path);
    CHECK(ok != NULL && strcmp(ok, "ok") == 0, "integrity_check: %s", ok ? ok : "(failed)");
    /* The counts kept in the store (schema 4) ride in each batch's transaction: a kill between
     * a batch and its counts cannot leave them apart. */
    CHECK(su_counts_mismatch(path) == 0, "stored counts match the surviving rows");
    free(ok);
    int64_t id, max;
    fm_store_summary sum;
    CHECK(fm_store_find_campaign(s, "crash", &id, NULL) == FM_STORE_OK, "campaign");
    CHECK(fm_store_summarize(s, id, &sum) == FM_STORE_OK, "summarize");
    CHECK(fm_store_max_run_index(s, id, &max) == FM_STORE_OK, "max");
    CHECK(sum.attempts >= reported, "rows %lld >= last reported flush %lld",
          (long long)sum.attempts, (long long)reported);
    CHECK(sum.attempts == max + 1 && sum.chains == sum.attempts, "a prefix: %lld rows, max %lld",
          (long long)sum.attempts, (long long)max);
    printf("killed after %lld flushed: %lld rows survived\n", (long long)reported,
           (long long)sum.attempts);
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
}

/*
 * Sharded writers on one file: four processes add retry chains (disjoint run indices, i = 4k +
 * shard) at once, each in its own 256-row batches under the write lock, and one of them is
 * killed with SIGKILL midway.  The counts kept in the store must still be those of the rows.
 */
static void shard_writer(const char *path, int shard, int chains, int ready)
{
    fm_store *s;
    fm_campaign_info c = su_campaign("shards", "[\"s\"]");
    int64_t id;
    bool existed;
    if (fm_store_open(path, true, &s) != FM_STORE_OK ||
        fm_store_campaign(s, &c, &id, &existed) != FM_STORE_OK)
        _exit(3);
    for (int64_t k = 0; k < chains; k++) {
        uint64_t rng = 99 ^ (uint64_t)(4 * k + shard) * 0x100000001b3ULL;
        fm_run_record r[SU_MAX_ATTEMPTS];
        int n = su_chain(&rng, 4 * k + shard, r);
        for (int a = 0; a < n; a++)
            if (fm_store_add_run(s, id, &r[a]) != FM_STORE_OK)
                _exit(4);
        if (k == 100 && ready >= 0) { /* some rows committed: the parent may kill from here */
            if (fm_store_flush(s) != FM_STORE_OK || write(ready, "r", 1) != 1)
                _exit(6);
        }
    }
    _exit(fm_store_close(s) == FM_STORE_OK ? 0 : 5);
}

static void test_shards_one_file(void)
{
    const char *path = su_path("shards.db");
    pid_t pid[4];
    int ready[2];
    if (pipe(ready) != 0)
        return;
    for (int i = 0; i < 4; i++)
        if ((pid[i] = fork()) == 0)
            shard_writer(path, i, i == 3 ? 1000000 : 3000, i == 3 ? ready[1] : -1);
    close(ready[1]);
    char byte;
    CHECK(read(ready[0], &byte, 1) == 1, "the long writer committed some rows");
    close(ready[0]);
    int status;
    for (int i = 0; i < 3; i++) {
        waitpid(pid[i], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "shard %d finished (%d)", i, status);
    }
    kill(pid[3], SIGKILL); /* the long one, mid-batch or mid-commit */
    waitpid(pid[3], &status, 0);
    CHECK(su_query(path, "SELECT count(DISTINCT run_index % 4) FROM runs") == 4, "4 shards wrote");
    CHECK(su_counts_mismatch(path) == 0, "counts match the rows of 4 writers, one killed");
}

int main(void)
{
    su_mkdir();
    test_shards_one_file();
    /* Each round continues the same store: a kill may also land on a resumed campaign. */
    static const int64_t kill_points[] = {300, 1000, 2600, 6000, 9999};
    const char *path = su_path("crash.db");
    int64_t base = 0;
    for (size_t k = 0; k < sizeof kill_points / sizeof kill_points[0]; k++) {
        int64_t reported = run_and_kill(path, base + kill_points[k]);
        check_after_kill(path, reported);
        base = su_query(path, "SELECT count(*) FROM runs");
        /* Round off to the child's flush grid so the next kill point is reachable. */
        base -= base % FLUSH_EVERY;
    }
    su_rmdir();
    return fm_test_report("store_crash");
}
