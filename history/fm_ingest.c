/*
 * fm_ingest.c - JUnit XML reports into the store's CI history tables (fm_ingest.h).
 *
 * One file, one transaction:
 *  1. hash the file (SHA-256, OpenSSL EVP) and stop if ci_files already holds that hash;
 *  2. BEGIN IMMEDIATE; stream the report through fm_junit into temp.ingest_rows (one row per
 *     attempt, in document order), so memory stays flat however big the file is;
 *  3. only now is everything the file says about itself known (the property naming its CI run may
 *     come after its first testcase), so: find or create the CI run, add the tests, and copy the
 *     rows into ci_results, numbering attempts per test after those the CI run already holds
 *     (a test seen again in one CI run is another attempt: go test -count, gotestsum reruns, a
 *     re-run CI job);
 *  4. record the file in ci_files and COMMIT.
 * Any failure before the COMMIT rolls back: a rejected file leaves the store as it was.  The
 * parse re-hashes the bytes it reads; a file that changed between the two reads is rejected.
 * Inside, the steps speak fm_store_status (SQLite's detail goes into the handle); the public
 * functions return fm_hist_status (FM_HIST_ESTORE, detail in fm_store_errmsg).
 */
#include "fm_ingest.h"
#include "fm_hist_internal.h"
#include "fm_hist_report.h"
#include "fm_junit.h"
#include "fm_store_internal.h"

#include <openssl/evp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The file is rejected: "what" or "what: why" (why may be NULL). */
static void reject(fm_ingest_result *res, const char *what, const char *why)
{
    res->verdict = FM_INGEST_REJECTED;
    if (why != NULL)
        snprintf(res->error, sizeof res->error, "%s: %s", what, why);
    else
        snprintf(res->error, sizeof res->error, "%s", what);
}

/* SHA-256 of the whole file, leaving fd at its start again.  false + errno on failure. */
static bool hash_fd(int fd, unsigned char digest[32])
{
    bool ok = false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char buf[65536];
    ssize_t got;
    unsigned len = 0;
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    while ((got = read(fd, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || EVP_DigestUpdate(md, buf, (size_t)got) != 1)
            goto out;
    }
    ok = EVP_DigestFinal_ex(md, digest, &len) == 1 && len == 32 && lseek(fd, 0, SEEK_SET) == 0;
out:
    EVP_MD_CTX_free(md);
    return ok;
}

/* ---- SQL ------------------------------------------------------------------------------------ */

static fm_store_status prepare(fm_store *store, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(store->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? FM_STORE_OK : fm_store__sqlite(store, rc, "cannot prepare ingest SQL");
}

static fm_store_status step_done(fm_store *store, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? FM_STORE_OK : fm_store__sqlite(store, rc, what);
}

/* Is this hash stored?  Fills res (ci_run, label, run_key) when it is. */
static fm_store_status find_file(fm_store *store, const char *hex, bool *found,
                                 fm_ingest_result *res)
{
    sqlite3_stmt *st = NULL;
    fm_store_status status = prepare(store,
                                     "SELECT f.ci_run, r.label, r.run_key FROM ci_files f "
                                     "JOIN ci_runs r ON r.id = f.ci_run WHERE f.sha256 = ?1",
                                     &st);
    if (status != FM_STORE_OK)
        return status;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        res->ci_run = sqlite3_column_int64(st, 0);
        snprintf(res->label, sizeof res->label, "%s", sqlite3_column_text(st, 1));
        snprintf(res->run_key, sizeof res->run_key, "%s", sqlite3_column_text(st, 2));
    } else if (rc != SQLITE_DONE) {
        status = fm_store__sqlite(store, rc, "cannot look the file up");
    }
    sqlite3_finalize(st);
    return status;
}

/* ---- Staging: one row per attempt ------------------------------------------------------------ */

typedef struct {
    fm_store *store;
    sqlite3_stmt *insert;
    fm_store_status status;
} stage;

static int stage_case(void *ctx, const fm_junit_case *c)
{
    stage *s = ctx;
    for (size_t i = 0; i < c->n_attempts && s->status == FM_STORE_OK; i++) {
        sqlite3_bind_text(s->insert, 1, c->test, -1, SQLITE_STATIC);
        sqlite3_bind_int(s->insert, 2, (int)c->attempts[i].outcome);
        if (c->run != NULL)
            sqlite3_bind_text(s->insert, 4, c->run, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s->insert, 4);
        if (isnan(c->attempts[i].seconds))
            sqlite3_bind_null(s->insert, 3);
        else
            sqlite3_bind_double(s->insert, 3, c->attempts[i].seconds);
        s->status = step_done(s->store, s->insert, "cannot stage a result");
    }
    return s->status != FM_STORE_OK;
}

/* ---- The CI run and the rows ---------------------------------------------------------------- */

static fm_store_status upsert_run(fm_store *store, const char *label, const char *key,
                                  int64_t time_ns, const fm_junit_info *info, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    fm_store_status status =
        prepare(store,
                "INSERT INTO ci_runs (label, run_key, time_ns, host, platform, revision) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (label, run_key) DO UPDATE SET "
                "time_ns = min(time_ns, excluded.time_ns), "
                "host = CASE WHEN host = '' THEN excluded.host ELSE host END, "
                "platform = CASE WHEN platform = '' THEN excluded.platform ELSE platform END, "
                "revision = CASE WHEN revision = '' THEN excluded.revision ELSE revision END "
                "RETURNING id",
                &st);
    if (status != FM_STORE_OK)
        return status;
    const char *text[] = {label, key, NULL, info->host, info->platform, info->revision};
    for (int i = 0; i < 6; i++)
        if (text[i] != NULL)
            sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, time_ns);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot add the CI run");
    sqlite3_finalize(st);
    return status;
}

static fm_store_status copy_rows(fm_store *store, const char *label, int64_t run, const char *sub)
{
    static const char *const sql[] = {
        "INSERT OR IGNORE INTO ci_tests (label, name) "
        "SELECT ?1, test FROM temp.ingest_rows GROUP BY test",
        /* Attempts continue after those the CI run already holds for the test. */
        "INSERT INTO ci_results (test, ci_run, attempt, outcome, seconds) "
        "SELECT t.id, ?2, ifnull((SELECT max(x.attempt) FROM ci_results x "
        "WHERE x.test = t.id AND x.ci_run = ?2), 0) "
        "+ row_number() OVER (PARTITION BY s.test ORDER BY s.seq), s.outcome, s.seconds "
        "FROM temp.ingest_rows s JOIN ci_tests t ON t.label = ?1 AND t.name = s.test "
        "WHERE s.sub IS ?3",
    };
    fm_store_status status = FM_STORE_OK;
    for (size_t i = 0; i < 2 && status == FM_STORE_OK; i++) {
        sqlite3_stmt *st = NULL;
        status = prepare(store, sql[i], &st);
        if (status != FM_STORE_OK)
            break;
        sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
        if (i == 1) {
            sqlite3_bind_int64(st, 2, run);
            if (sub != NULL)
                sqlite3_bind_text(st, 3, sub, -1, SQLITE_STATIC);
        }
        status = step_done(store, st, "cannot add the results");
        sqlite3_finalize(st);
    }
    return status;
}

static fm_store_status add_file(fm_store *store, const char *path, int64_t run,
                                const fm_ingest_result *res, int64_t now)
{
    sqlite3_stmt *st = NULL;
    fm_store_status status = prepare(store,
                                     "INSERT INTO ci_files (sha256, ci_run, path, bytes, "
                                     "testcases, skipped, ingested_ns) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                     &st);
    if (status != FM_STORE_OK)
        return status;
    sqlite3_bind_text(st, 1, res->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, run);
    sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)res->bytes);
    sqlite3_bind_int64(st, 5, (int64_t)res->testcases);
    sqlite3_bind_int64(st, 6, (int64_t)res->skipped);
    sqlite3_bind_int64(st, 7, now);
    status = step_done(store, st, "cannot record the file");
    sqlite3_finalize(st);
    return status;
}

/*
 * The CI runs of the staged rows and their results: the file's run for rows without a sub-run,
 * "<run key>/<sub>" for each sub-run, created in the order of their first row (so a
 * re-ingested campaign's runs keep their order).  res->ci_run is the first one.
 */
static fm_store_status add_runs(fm_store *store, fm_ingest_result *res, int64_t time_ns,
                                const fm_junit_info *info)
{
    sqlite3_stmt *st = NULL;
    fm_store_status status = prepare(store,
                                     "SELECT sub FROM temp.ingest_rows GROUP BY sub "
                                     "ORDER BY min(seq)",
                                     &st);
    bool first = true;
    int rc = SQLITE_DONE;
    while (status == FM_STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sub = (const char *)sqlite3_column_text(st, 0);
        char key[sizeof res->run_key + 300];
        int64_t id = 0;
        if (sub != NULL)
            snprintf(key, sizeof key, "%s/%s", res->run_key, sub);
        else
            snprintf(key, sizeof key, "%s", res->run_key);
        status = upsert_run(store, res->label, key, time_ns, info, &id);
        if (status == FM_STORE_OK)
            status = copy_rows(store, res->label, id, sub);
        if (first)
            res->ci_run = id;
        first = false;
    }
    if (status == FM_STORE_OK && rc != SQLITE_DONE)
        status = fm_store__sqlite(store, rc, "cannot read the staged results");
    sqlite3_finalize(st);
    if (status == FM_STORE_OK && first) /* nothing ran (all skipped): the file's run */
        status = upsert_run(store, res->label, res->run_key, time_ns, info, &res->ci_run);
    return status;
}

/* Parse into the staging table; REJECTED leaves res->verdict set and returns OK. */
static fm_store_status parse_into_stage(fm_store *store, int fd, const char *path,
                                        const unsigned char digest[32], fm_junit_info *info,
                                        fm_ingest_result *res)
{
    stage s = {.store = store, .status = FM_STORE_OK};
    fm_store_status status = fm_store__exec(
        store, "CREATE TEMP TABLE IF NOT EXISTS ingest_rows (seq INTEGER PRIMARY KEY, "
               "test TEXT NOT NULL, outcome INTEGER NOT NULL, seconds REAL, sub TEXT);"
               "DELETE FROM temp.ingest_rows");
    if (status == FM_STORE_OK)
        status = prepare(
            store,
            "INSERT INTO temp.ingest_rows (test, outcome, seconds, sub) VALUES (?1, ?2, ?3, ?4)",
            &s.insert);
    if (status != FM_STORE_OK)
        return status;
    char why[sizeof res->error];
    fm_hist_report_format fmt = fm_hist_report_detect(fd, why, sizeof why);
    fm_hist_status js;
    snprintf(res->format, sizeof res->format, "%s", fm_hist_report_format_name(fmt));
    if (fmt == FM_HIST_REPORT_UNKNOWN) {
        sqlite3_finalize(s.insert);
        memset(info, 0, sizeof *info);
        reject(res, why, NULL);
        return FM_STORE_OK;
    }
    if (fmt == FM_HIST_REPORT_JUNIT)
        js = fm_junit_parse_fd(fd, path, stage_case, &s, info);
    else
        js = fm_hist_report_parse_fd(fd, fmt, stage_case, &s, info);
    sqlite3_finalize(s.insert);
    if (js == FM_HIST_ECALLBACK)
        return s.status;
    if (js == FM_HIST_ENOMEM)
        return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory reading %s", path);
    if (js != FM_HIST_OK)
        reject(res, info->error, NULL);
    else if (memcmp(info->sha256, digest, 32) != 0)
        reject(res, "the file changed while it was read", NULL);
    return FM_STORE_OK;
}

/* Steps 2-4 inside the caller's transaction. */
static fm_store_status ingest_locked(fm_store *store, int fd, const char *path,
                                     const fm_ingest_options *opt, const unsigned char digest[32],
                                     fm_ingest_result *res)
{
    fm_junit_info info;
    fm_store_status status = parse_into_stage(store, fd, path, digest, &info, res);
    if (status != FM_STORE_OK || res->verdict == FM_INGEST_REJECTED)
        return status;
    int64_t now = opt->now_ns ? opt->now_ns : realtime_ns();
    if (opt->run != NULL)
        snprintf(res->run_key, sizeof res->run_key, "%s", opt->run);
    else if (info.run[0] != '\0')
        snprintf(res->run_key, sizeof res->run_key, "%s", info.run);
    else
        snprintf(res->run_key, sizeof res->run_key, "sha256:%s", res->sha256);
    res->bytes = info.bytes;
    res->testcases = info.testcases;
    res->skipped = info.skipped;
    res->attempts = info.attempts;
    res->timeouts = info.timeouts;
    status = add_runs(store, res, info.has_time ? info.time_ns : now, &info);
    if (status == FM_STORE_OK)
        status = add_file(store, path, res->ci_run, res, now);
    if (status == FM_STORE_OK)
        status = fm_store__exec(store, "DELETE FROM temp.ingest_rows");
    if (status == FM_STORE_OK)
        res->verdict = FM_INGEST_ADDED;
    return status;
}

static fm_hist_status ingest_fd(fm_store *store, int fd, const char *path,
                                const fm_ingest_options *opt, fm_ingest_result *res);

static void result_init(fm_ingest_result *res, const fm_ingest_options *opt)
{
    memset(res, 0, sizeof *res);
    snprintf(res->label, sizeof res->label, "%s",
             opt != NULL && opt->label != NULL ? opt->label : FM_INGEST_DEFAULT_LABEL);
}

fm_hist_status fm_ingest_file(fm_store *store, const char *path, const fm_ingest_options *opt,
                              fm_ingest_result *res)
{
    if (store == NULL || path == NULL || res == NULL)
        return FM_HIST_EINVAL;
    result_init(res, opt);
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer forever.  Only a regular
     * file is read (ingest_fd checks), and blocking reads are restored for it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        reject(res, "cannot open", strerror(errno));
        return FM_HIST_OK;
    }
    struct stat sb;
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        reject(res, S_ISDIR(sb.st_mode) ? "a directory, not a file" : "not a regular file", NULL);
        close(fd);
        return FM_HIST_OK;
    }
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        reject(res, "cannot read", strerror(errno));
        close(fd);
        return FM_HIST_OK;
    }
    return ingest_fd(store, fd, path, opt, res);
}

fm_hist_status fm_ingest_fd(fm_store *store, int fd, const char *name, const fm_ingest_options *opt,
                            fm_ingest_result *res)
{
    if (store == NULL || name == NULL || res == NULL || fd < 0)
        return FM_HIST_EINVAL;
    result_init(res, opt);
    return ingest_fd(store, fd, name, opt, res);
}

/* fd is closed on return. */
static fm_hist_status ingest_fd(fm_store *store, int fd, const char *path,
                                const fm_ingest_options *opt, fm_ingest_result *res)
{
    static const fm_ingest_options defaults = {0};
    if (opt == NULL)
        opt = &defaults;
    fm_store_status status = FM_STORE_OK;
    unsigned char digest[32];
    struct stat sb;
    bool found = false;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        reject(res, "cannot read", strerror(errno));
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        reject(res, "not a regular file", NULL);
        goto out;
    }
    if (!hash_fd(fd, digest)) {
        reject(res, "cannot read", strerror(errno ? errno : EIO));
        goto out;
    }
    to_hex(digest, 32, res->sha256);
    status = fm_store_flush(store); /* a pending run batch is not ours to roll back */
    if (status == FM_STORE_OK)
        status = find_file(store, res->sha256, &found, res);
    if (status != FM_STORE_OK)
        goto out;
    if (found) {
        res->verdict = FM_INGEST_DUPLICATE;
        res->bytes = (uint64_t)sb.st_size;
        goto out;
    }
    status = fm_store__exec(store, "BEGIN IMMEDIATE");
    if (status != FM_STORE_OK)
        goto out;
    status = ingest_locked(store, fd, path, opt, digest, res);
    if (status == FM_STORE_OK && res->verdict == FM_INGEST_ADDED)
        status = fm_store__exec(store, "COMMIT");
    if ((status != FM_STORE_OK || res->verdict != FM_INGEST_ADDED) &&
        !sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
out:
    close(fd);
    return fm_hist__store(status);
}

/* ---- Listing FILE|DIR operands -------------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} list;

static bool push(list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **grown = realloc(l->v, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        l->v = grown;
        l->cap = cap;
    }
    char *copy = strdup(path);
    if (copy == NULL)
        return false;
    l->v[l->n++] = copy;
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names a directory's report files have: *.xml (JUnit), *.tap, *.jsonl (go test -json),
 * _results.json (MicroPython run-tests.py) and LastTest*.log (CTest).  Other files (a CI log,
 * a pytest console) are named as FILE operands; their format is found from their content. */
static bool is_report_name(const char *name)
{
    size_t n = strlen(name);
    static const char *const ends[] = {".xml", ".tap", ".jsonl"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t e = strlen(ends[i]);
        if (n > e && strcasecmp(name + n - e, ends[i]) == 0)
            return true;
    }
    return strcmp(name, "_results.json") == 0 ||
           (strncmp(name, "LastTest", 8) == 0 && n > 4 && strcmp(name + n - 4, ".log") == 0);
}

/*
 * The directories already walked, by (device, inode): a directory reached again through a
 * symbolic link (a loop such as `ln -s . d/a`, or two links to one directory) is skipped, so
 * the walk is linear and each file is listed once.  Open addressing, doubled at half full.
 */
typedef struct {
    dev_t dev;
    ino_t ino;
    bool used;
} dir_id;

typedef struct {
    dir_id *v;
    size_t n, cap;
} dir_set;

static size_t dir_hash(dev_t dev, ino_t ino, size_t cap)
{
    uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)ino * 0xC2B2AE3D27D4EB4FULL);
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Add a directory: 1 when new, 0 when already there, -1 when out of memory. */
static int dir_add(dir_set *s, dev_t dev, ino_t ino)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        dir_id *v = calloc(cap, sizeof *v);
        if (v == NULL)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i].used) {
                size_t j = dir_hash(s->v[i].dev, s->v[i].ino, cap);
                while (v[j].used)
                    j = (j + 1) & (cap - 1);
                v[j] = s->v[i];
            }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    size_t j = dir_hash(dev, ino, s->cap);
    for (; s->v[j].used; j = (j + 1) & (s->cap - 1))
        if (s->v[j].dev == dev && s->v[j].ino == ino)
            return 0;
    s->v[j] = (dir_id){dev, ino, true};
    s->n++;
    return 1;
}

/* A directory's report files (is_report_name), recursively; an unreadable directory is listed as
 * itself (it is then rejected with the reason).  A directory already walked is skipped (seen);
 * depth bounds the path length. */
static bool walk(list *l, const char *dir, int depth, dir_set *seen)
{
    struct stat db;
    if (stat(dir, &db) == 0) {
        int added = dir_add(seen, db.st_dev, db.st_ino);
        if (added <= 0)
            return added == 0;
    }
    DIR *d = depth < 64 ? opendir(dir) : NULL;
    if (d == NULL && depth < 64 && (errno == ENOMEM || errno == EMFILE || errno == ENFILE))
        return false; /* this machine, not the directory: the listing fails (errno) */
    if (d == NULL)
        return push(l, dir);
    list names = {0};
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            ok = push(&names, e->d_name);
    closedir(d);
    if (names.n > 0)
        qsort(names.v, names.n, sizeof *names.v, by_name);
    for (size_t i = 0; ok && i < names.n; i++) {
        size_t len = strlen(dir) + strlen(names.v[i]) + 2;
        char *path = malloc(len);
        struct stat sb;
        if (path == NULL) {
            ok = false;
            break;
        }
        snprintf(path, len, "%s/%s", dir, names.v[i]);
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            ok = walk(l, path, depth + 1, seen);
        else if (is_report_name(names.v[i]))
            ok = push(l, path);
        free(path);
    }
    fm_ingest_list_free(names.v, names.n);
    return ok;
}

fm_hist_status fm_ingest_list(const char *const *paths, size_t n_paths, char ***files,
                              size_t *n_files)
{
    list l = {0};
    dir_set seen = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < n_paths; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) == 0 && S_ISDIR(sb.st_mode))
            ok = walk(&l, paths[i], 0, &seen);
        else
            ok = push(&l, paths[i]);
    }
    int err = errno;
    free(seen.v);
    if (!ok) {
        fm_ingest_list_free(l.v, l.n);
        *files = NULL;
        *n_files = 0;
        errno = err;
        return err == ENOMEM ? FM_HIST_ENOMEM : FM_HIST_EIO;
    }
    *files = l.v;
    *n_files = l.n;
    return FM_HIST_OK;
}

void fm_ingest_list_free(char **files, size_t n_files)
{
    for (size_t i = 0; i < n_files; i++)
        free(files[i]);
    free(files);
}
