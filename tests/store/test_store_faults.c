/*
 * test_store_faults.c - fault injection in SQLite's style: make the Nth write fail, for
 * N = 1, 2, ... until the operation completes, and check each time that the store survives.
 *
 * A VFS shim (registered as the default VFS of this process) forwards every call to the real
 * one but fails the Nth xWrite/xSync/xTruncate with an I/O error: once ("transient") or from
 * then on ("persistent", like a full disk).  Verification always runs with injection off.
 * Asserts, for every N and both modes:
 *  - adding runs (with flushes) stops with a status, never a crash; the store then opens,
 *    PRAGMA integrity_check is ok, it holds at least every row whose flush returned OK and at
 *    most the rows added, as a prefix (no gaps); and the failing handle's own (cached) summary,
 *    after a final flush, agrees with what another connection counts;
 *  - a merge into an existing store either succeeds completely or leaves it with exactly its
 *    old rows and campaigns (all or nothing); a merge into a missing output either creates the
 *    complete store or creates nothing.
 * Sources: SQLite's own I/O-error tests (test/malloc_common.tcl, ioerr.test) inject the same
 * way; the shim follows the shape of SQLite's ext/misc/vfstrace.c.
 */
#include "store_util.h"

/* ---- The faulty VFS ------------------------------------------------------------------------- */

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* the real VFS's file, allocated right after this struct */
} shim_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static long write_calls, fail_at, injected;
static bool persistent;

static bool inject(void)
{
    write_calls++;
    if (fail_at > 0 && (write_calls == fail_at || (persistent && write_calls > fail_at))) {
        injected++;
        return true;
    }
    return false;
}

static void arm(long n, bool keep_failing)
{
    write_calls = injected = 0;
    fail_at = n;
    persistent = keep_failing;
}

#define REAL(f) (((shim_file *)(f))->real)

static int shim_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int shim_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int shim_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    return inject() ? SQLITE_IOERR_WRITE : REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return inject() ? SQLITE_IOERR_TRUNCATE : REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int shim_sync(sqlite3_file *f, int flags)
{
    return inject() ? SQLITE_IOERR_FSYNC : REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int shim_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int shim_lock(sqlite3_file *f, int level)
{
    return REAL(f)->pMethods->xLock(REAL(f), level);
}
static int shim_unlock(sqlite3_file *f, int level)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), level);
}
static int shim_check_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int shim_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int shim_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int shim_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int shim_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, out);
}
static int shim_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void shim_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int shim_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int shim_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}
static int shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods shim_io = {
    3,           shim_close,   shim_read,     shim_write,       shim_truncate,  shim_sync,
    shim_size,   shim_lock,    shim_unlock,   shim_check_lock,  shim_control,   shim_sector,
    shim_device, shim_shm_map, shim_shm_lock, shim_shm_barrier, shim_shm_unmap, shim_fetch,
    shim_unfetch};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                     int *out_flags)
{
    (void)vfs;
    shim_file *p = (shim_file *)file;
    p->real = (sqlite3_file *)(p + 1);
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out_flags);
    p->base.pMethods = rc == SQLITE_OK && p->real->pMethods != NULL ? &shim_io : NULL;
    return rc;
}

static void install_shim(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    shim_vfs = *real_vfs;
    shim_vfs.zName = "faulty";
    shim_vfs.szOsFile = (int)sizeof(shim_file) + real_vfs->szOsFile;
    shim_vfs.xOpen = shim_open;
    shim_vfs.pNext = NULL;
    sqlite3_vfs_register(&shim_vfs, 1);
}

/* ---- Scenario: adding runs ------------------------------------------------------------------ */

enum { BASE_ROWS = 300, ADD_ROWS = 700, FLUSH_EVERY = 100 };

static fm_run_record row(int64_t i)
{
    fm_run_record r = {.run_index = i,
                       .attempt = 1,
                       .outcome = (fm_outcome)(i % 4 == 0),
                       .exit_code = i % 4 == 0,
                       .start_ns = i,
                       .wall_ns = 100 + i % 37};
    return r;
}

static void make_base(const char *path)
{
    fm_store *s;
    fm_campaign_info c = su_campaign("f", "[\"f\"]");
    int64_t id;
    bool existed;
    unlink(path);
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "base");
    CHECK(fm_store_campaign(s, &c, &id, &existed) == FM_STORE_OK, "campaign");
    for (int64_t i = 0; i < BASE_ROWS; i++) {
        fm_run_record r = row(i);
        fm_store_add_run(s, id, &r);
    }
    CHECK(fm_store_close(s) == FM_STORE_OK, "close base");
}

/* Add rows under injection; returns true when the Nth write was never reached. */
static bool add_under_faults(const char *path, long n, bool keep_failing)
{
    fm_store *s = NULL;
    int64_t id, acked = 0, tried = 0;
    fm_campaign_info info;
    arm(n, keep_failing);
    fm_store_status st = fm_store_open(path, false, &s);
    if (st == FM_STORE_OK)
        st = fm_store_find_campaign(s, "f", &id, &info);
    for (int64_t i = 0; st == FM_STORE_OK && i < ADD_ROWS; i++) {
        fm_run_record r = row(BASE_ROWS + i);
        tried++;
        st = fm_store_add_run(s, id, &r);
        if (st == FM_STORE_OK && (i + 1) % FLUSH_EVERY == 0 &&
            (st = fm_store_flush(s)) == FM_STORE_OK)
            acked = i + 1;
    }
    if (st == FM_STORE_OK && (st = fm_store_flush(s)) == FM_STORE_OK)
        acked = tried;
    bool clean = injected == 0;
    arm(0, false);
    CHECK(st == FM_STORE_OK || st == FM_STORE_EIO, "N=%ld: status %s", n, fm_store_strerror(st));
    if (s != NULL) {
        fm_store_summary sum;
        bool flushed = fm_store_flush(s) == FM_STORE_OK;
        if (flushed && fm_store_summarize(s, id, &sum) == FM_STORE_OK)
            CHECK(sum.attempts == su_query(path, "SELECT count(*) FROM runs"),
                  "N=%ld: the handle's summary (%lld) matches the file", n,
                  (long long)sum.attempts);
        fm_store_close(s);
    }
    int64_t rows = su_query(path, "SELECT count(*) FROM runs");
    int64_t max = su_query(path, "SELECT max(run_index) FROM runs");
    fm_store *check = NULL;
    CHECK(fm_store_open(path, false, &check) == FM_STORE_OK, "N=%ld: opens: %s", n,
          fm_store_errmsg(NULL));
    fm_store_close(check);
    sqlite3 *db;
    sqlite3_stmt *q;
    sqlite3_open(path, &db);
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL);
    CHECK(sqlite3_step(q) == SQLITE_ROW &&
              strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0,
          "N=%ld: integrity", n);
    sqlite3_finalize(q);
    sqlite3_close(db);
    CHECK(rows >= BASE_ROWS + acked && rows <= BASE_ROWS + tried,
          "N=%ld: %lld rows, acked %lld, tried %lld", n, (long long)rows,
          (long long)(BASE_ROWS + acked), (long long)(BASE_ROWS + tried));
    CHECK(rows == max + 1, "N=%ld: rows form a prefix (%lld rows, max %lld)", n, (long long)rows,
          (long long)max);
    return clean;
}

static void test_add(bool keep_failing)
{
    const char *path = su_path("add.db");
    long n = 1;
    for (; n < 5000; n++) {
        make_base(path);
        if (add_under_faults(path, n, keep_failing))
            break;
    }
    CHECK(n > 3 && n < 5000, "the loop reached a run without faults (N=%ld)", n);
    printf("add (%s): %ld fault points\n", keep_failing ? "persistent" : "transient", n - 1);
}

/* ---- Scenario: merging ---------------------------------------------------------------------- */

static void make_inputs(const char *a, const char *b)
{
    for (int k = 0; k < 2; k++) {
        fm_store *s;
        fm_campaign_info c = su_campaign("m", "[\"m\"]");
        int64_t id;
        bool existed;
        CHECK(fm_store_open(k ? b : a, true, &s) == FM_STORE_OK, "input");
        CHECK(fm_store_campaign(s, &c, &id, &existed) == FM_STORE_OK, "campaign");
        CHECK(su_add_chains(s, id, k, 400, 2, 3, NULL) == FM_STORE_OK, "runs");
        CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    }
}

static bool merge_under_faults(const char *out, bool exists, const char *const *in, long n,
                               bool keep_failing, int64_t full_rows)
{
    int64_t rows0 = exists ? su_query(out, "SELECT count(*) FROM runs") : 0;
    int64_t camps0 = exists ? su_query(out, "SELECT count(*) FROM campaigns") : 0;
    char err[256];
    arm(n, keep_failing);
    fm_store_status st = fm_store_merge(out, in, 2, err, sizeof err);
    bool clean = injected == 0;
    arm(0, false);
    if (st != FM_STORE_OK) {
        CHECK(st == FM_STORE_EIO, "N=%ld: status %s (%s)", n, fm_store_strerror(st), err);
        if (exists)
            CHECK(su_query(out, "SELECT count(*) FROM runs") == rows0 &&
                      su_query(out, "SELECT count(*) FROM campaigns") == camps0,
                  "N=%ld: a failed merge left the output as it was", n);
        else
            CHECK(!su_exists(out), "N=%ld: a failed merge created no output", n);
    } else {
        CHECK(su_query(out, "SELECT count(*) FROM runs") == rows0 + full_rows,
              "N=%ld: a successful merge is complete", n);
    }
    fm_store *check = NULL;
    if (su_exists(out)) {
        CHECK(fm_store_open(out, false, &check) == FM_STORE_OK, "N=%ld: output opens", n);
        fm_store_close(check);
    }
    return clean;
}

static void test_merge(bool exists, bool keep_failing)
{
    const char *a = su_path("ma.db"), *b = su_path("mb.db"), *out = su_path("mout.db");
    const char *in[] = {a, b};
    make_inputs(a, b);
    int64_t full =
        su_query(a, "SELECT count(*) FROM runs") + su_query(b, "SELECT count(*) FROM runs");
    long n = 1;
    for (; n < 5000; n++) {
        unlink(out);
        if (exists)
            make_base(out);
        if (merge_under_faults(out, exists, in, n, keep_failing, full))
            break;
    }
    CHECK(n > 3 && n < 5000, "the loop reached a run without faults (N=%ld)", n);
    printf("merge into %s output (%s): %ld fault points\n", exists ? "an existing" : "a new",
           keep_failing ? "persistent" : "transient", n - 1);
    unlink(a);
    unlink(b);
}

int main(void)
{
    su_mkdir();
    install_shim();
    test_add(false);
    test_add(true);
    test_merge(true, false);
    test_merge(true, true);
    test_merge(false, false);
    test_merge(false, true);
    su_rmdir();
    return fm_test_report("store_faults");
}
