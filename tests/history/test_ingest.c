/*
 * test_ingest.c - JUnit ingest: every dialect fixture read attempt by attempt (fm_junit), the
 * malformed-file suite (each rejected with a position and the store unchanged, compared row by
 * row), idempotent re-ingest, several files as one CI run, and the history reader (fm_history)
 * with its windows.  Fixtures: tests/ingest/fixtures/ (hand-written).  Argument: that folder.
 */
#include "fm_hist.h"
#include "fm_history.h"
#include "fm_ingest.h"
#include "fm_junit.h"
#include "fm_test.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *fixtures;
static char tmpdir[256];

/* ---- Reading a fixture into "test=ATTEMPTS" lines (P pass, F fail, E error, T timeout) ------- */

typedef struct {
    char text[4096];
    double first_seconds[32];
    int n;
} seen;

static int collect(void *ctx, const fm_junit_case *c)
{
    seen *s = ctx;
    static const char letters[] = "PFCTE";
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof s->text - len, "%s=", c->test);
    for (size_t i = 0; i < c->n_attempts; i++) {
        len = strlen(s->text);
        snprintf(s->text + len, sizeof s->text - len, "%c", letters[c->attempts[i].outcome]);
    }
    len = strlen(s->text);
    snprintf(s->text + len, sizeof s->text - len, ";");
    if (s->n < 32)
        s->first_seconds[s->n++] = c->attempts[0].seconds;
    return 0;
}

static fm_hist_status read_fixture(const char *name, seen *s, fm_junit_info *info)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "cannot open %s", path);
    if (fd < 0)
        return FM_HIST_EIO;
    fm_hist_status st = fm_junit_parse_fd(fd, path, collect, s, info);
    close(fd);
    return st;
}

static int64_t utc(const char *stamp)
{
    int64_t ns = 0;
    CHECK(fm_hist_parse_time(stamp, &ns) == FM_HIST_OK, "cannot parse %s", stamp);
    return ns;
}

static void test_dialects(void)
{
    static const struct {
        const char *file, *expect, *run, *host, *platform, *revision, *time;
        uint64_t skipped, timeouts;
    } cases[] = {
        {"pytest.xml",
         "tests.test_net::test_connect=P;tests.test_net::test_retry_budget=F;"
         "tests.test_net::test_slow_server=T;tests.test_db::test_migrate=E;"
         "tests.test_db::test_teardown=F;",
         "pytest-run-41", "ci-runner-7", "linux-x86_64", "0a1b2c3", "2024-03-05T09:15:30.25Z", 1,
         1},
        {"nextest.xml",
         "mycrate::integration::net::reconnects=FFP;mycrate::integration::net::handshake=P;"
         "mycrate::integration::io::spin=TT;mycrate::integration::io::read_all=P;",
         "", "", "", "", "2024-04-01T08:00:00Z", 0, 2},
        {"surefire.xml",
         "org.example.CacheTest::evictsOldest=FP;org.example.CacheTest::concurrentPut=EEF;"
         "org.example.CacheTest::loads=P;",
         "jenkins-812", "", "Linux", "", NULL, 1, 0},
        {"ctest.xml", "unit_math=P;stress_threads=T;io_roundtrip=F;", "", "buildbox", "", "",
         "2024-02-29T23:59:58", 2, 1},
        {"bazel_test.xml", "//net/quic:stream_test=E;", "", "", "", "", NULL, 0, 0},
        {"bazel_timeout.xml", "//storage:compaction_test=T;", "", "", "", "", NULL, 0, 1},
        {"gojunit.xml",
         "example.com/svc/cache::TestGet=P;example.com/svc/cache::TestExpire=F;"
         "example.com/svc/cache::TestGet=P;example.com/svc/queue::TestDrain=T;",
         "8800123456", "gh-runner", "", "deadbeefcafe", "2024-05-06T07:08:09Z", 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seen s;
        fm_junit_info info;
        fm_hist_status st = read_fixture(cases[i].file, &s, &info);
        CHECK(st == FM_HIST_OK, "%s: status %d: %s", cases[i].file, st, info.error);
        CHECK(strcmp(s.text, cases[i].expect) == 0, "%s: got %s", cases[i].file, s.text);
        CHECK(strcmp(info.run, cases[i].run) == 0, "%s: run '%s'", cases[i].file, info.run);
        CHECK(strcmp(info.host, cases[i].host) == 0, "%s: host '%s'", cases[i].file, info.host);
        CHECK(strcmp(info.platform, cases[i].platform) == 0, "%s: platform '%s'", cases[i].file,
              info.platform);
        CHECK(strcmp(info.revision, cases[i].revision) == 0, "%s: revision '%s'", cases[i].file,
              info.revision);
        CHECK(info.skipped == cases[i].skipped, "%s: skipped %llu", cases[i].file,
              (unsigned long long)info.skipped);
        CHECK(info.timeouts == cases[i].timeouts, "%s: timeouts %llu", cases[i].file,
              (unsigned long long)info.timeouts);
        CHECK(info.has_time == (cases[i].time != NULL), "%s: has_time", cases[i].file);
        if (cases[i].time != NULL)
            CHECK(info.time_ns == utc(cases[i].time), "%s: time %lld", cases[i].file,
                  (long long)info.time_ns);
    }
    /* Durations: a failure takes the testcase's time; flaky attempts keep their own. */
    seen s;
    fm_junit_info info;
    read_fixture("nextest.xml", &s, &info);
    CHECK(s.first_seconds[0] == 0.33 && s.first_seconds[2] == 5.0, "nextest seconds %g %g",
          s.first_seconds[0], s.first_seconds[2]);
    read_fixture("surefire.xml", &s, &info);
    CHECK(isnan(s.first_seconds[0]) && s.first_seconds[1] == 1.25, "surefire seconds %g %g",
          s.first_seconds[0], s.first_seconds[1]);
}

/* The parser itself is tests/history/test_hist_time.c; here only what the reader does with it. */
static void test_times(void)
{
    int64_t ns;
    CHECK(fm_hist_parse_time("1970-01-01T00:00:01Z", &ns) == FM_HIST_OK && ns == 1000000000LL,
          "epoch+1");
    CHECK(fm_hist_parse_time("2024-01-01 01:00:00+01:00", &ns) == FM_HIST_OK &&
              ns == utc("2024-01-01T00:00:00"),
          "offset");
}

/* ---- The store: snapshots of the ci_* tables ------------------------------------------------ */

static char *snapshot(const char *db)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    CHECK(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", db);
    const char *sql =
        "SELECT 'run', id, label, run_key, time_ns, host, platform, revision FROM ci_runs "
        "UNION ALL SELECT 'file', ci_run, sha256, path, bytes, testcases, skipped, 0 FROM ci_files "
        "UNION ALL SELECT 'test', id, label, name, 0, 0, 0, 0 FROM ci_tests "
        "UNION ALL SELECT 'res', test, ci_run, attempt, outcome, seconds, 0, 0 FROM ci_results "
        "ORDER BY 1, 2, 3, 4";
    CHECK(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < 8; i++) {
            const char *v = (const char *)sqlite3_column_text(st, i);
            size_t need = strlen(v ? v : "") + 2;
            if (len + need >= cap) {
                cap *= 2;
                out = realloc(out, cap);
            }
            len += (size_t)snprintf(out + len, cap - len, "%s|", v ? v : "");
        }
        out[len++] = '\n';
        out[len] = '\0';
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

static int64_t count_rows(const char *db, const char *table)
{
    char *s = snapshot(db), prefix[16];
    int64_t n = 0;
    snprintf(prefix, sizeof prefix, "%s|", table);
    for (char *line = s; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    free(s);
    return n;
}

static void write_file(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (f == NULL)
        return;
    fwrite(bytes, 1, len, f);
    fclose(f);
}

static void fixture_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", fixtures, name);
}

static fm_ingest_verdict ingest(fm_store *s, const char *path, const char *label, const char *run,
                                fm_ingest_result *res)
{
    fm_ingest_options opt = {.label = label, .run = run, .now_ns = 0};
    fm_hist_status st = fm_ingest_file(s, path, &opt, res);
    CHECK(st == FM_HIST_OK, "%s: store status %d: %s", path, st, fm_store_errmsg(s));
    return res->verdict;
}

static const char billion_laughs[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE testsuite [\n"
    " <!ENTITY a \"aaaaaaaaaa\">\n"
    " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
    " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
    " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
    " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
    " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
    " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
    " <!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
    " <!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
    "]>\n"
    "<testsuite name=\"&i;\"><testcase name=\"t\" classname=\"&i;\">&i;</testcase></testsuite>\n";

static void test_rejected(void)
{
    /* Each: bytes, and the line the error must name. */
    char truncated[4096];
    char path[512];
    fixture_path(path, sizeof path, "nextest.xml");
    FILE *f = fopen(path, "rb");
    size_t full = f ? fread(truncated, 1, sizeof truncated, f) : 0;
    if (f)
        fclose(f);
    const struct {
        const char *name;
        const char *bytes;
        size_t len;
        int line;
        const char *says;
    } bad[] = {
        {"truncated", truncated, full / 2, -1, "truncated"},
        {"latin1",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite>\n<testcase name=\"caf\xe9\"/>"
         "</testsuite>\n",
         0, 3, "UTF-8"},
        {"utf16", "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<testsuite/>\n", 0, 1, "UTF-16"},
        {"laughs", billion_laughs, 0, -1, ""},
        {"doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE testsuite>\n<testsuite/>\n", 0, -1,
         "DOCTYPE"},
        {"root", "<project><testcase name=\"x\"/></project>\n", 0, 1, "root element"},
        {"empty", "", 0, 1, "empty"},
        {"noname", "<testsuite>\n<testcase classname=\"x\"/>\n</testsuite>\n", 0, 2,
         "without a name"},
        {"extra", "<testsuite/>\n<testsuite/>\n", 0, 2, "Extra content"},
        /* the first NUL byte is on line 3 (after "\r\n" and "\n") */
        {"binary", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, 3, "binary"},
    };
    char db[300];
    snprintf(db, sizeof db, "%s/rejected.db", tmpdir);
    fm_store *s = NULL;
    CHECK(fm_store_open(db, true, &s) == FM_STORE_OK, "open %s", db);
    fm_ingest_result res;
    fixture_path(path, sizeof path, "pytest.xml");
    CHECK(ingest(s, path, "ci", NULL, &res) == FM_INGEST_ADDED, "pytest.xml added");
    char *before = snapshot(db);
    CHECK(strstr(before, "res|") != NULL, "the snapshot holds results: %s", before);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char file[400];
        snprintf(file, sizeof file, "%s/%s.xml", tmpdir, bad[i].name);
        write_file(file, bad[i].bytes, bad[i].len ? bad[i].len : strlen(bad[i].bytes));
        fm_ingest_verdict v = ingest(s, file, "ci", NULL, &res);
        CHECK(v == FM_INGEST_REJECTED, "%s: not rejected", bad[i].name);
        int line = atoi(res.error);
        CHECK(line >= 1, "%s: error without a position: %s", bad[i].name, res.error);
        if (bad[i].line > 0)
            CHECK(line == bad[i].line, "%s: line %d, expected %d (%s)", bad[i].name, line,
                  bad[i].line, res.error);
        CHECK(strstr(res.error, bad[i].says) != NULL, "%s: '%s' does not say '%s'", bad[i].name,
              res.error, bad[i].says);
        CHECK(strchr(res.error, '\n') == NULL, "%s: error is not one line", bad[i].name);
        char *after = snapshot(db);
        CHECK(strcmp(before, after) == 0, "%s: the store changed", bad[i].name);
        free(after);
    }
    /* Not there at all, and a directory given as a file. */
    CHECK(ingest(s, "/nonexistent/x.xml", "ci", NULL, &res) == FM_INGEST_REJECTED &&
              strstr(res.error, "cannot open") != NULL,
          "missing file: %s", res.error);
    CHECK(ingest(s, tmpdir, "ci", NULL, &res) == FM_INGEST_REJECTED, "a directory");
    /* After all that the store still takes files. */
    fixture_path(path, sizeof path, "ctest.xml");
    CHECK(ingest(s, path, "ci", NULL, &res) == FM_INGEST_ADDED, "ctest.xml after the rejects");
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    free(before);
}

static void test_idempotent(void)
{
    char db[300], path[512], copy[400];
    snprintf(db, sizeof db, "%s/idem.db", tmpdir);
    fm_store *s = NULL;
    CHECK(fm_store_open(db, true, &s) == FM_STORE_OK, "open");
    fm_ingest_result res;
    static const char *const names[] = {"pytest.xml",       "nextest.xml", "surefire.xml",
                                        "ctest.xml",        "gojunit.xml", "bazel_test.xml",
                                        "bazel_timeout.xml"};
    for (size_t i = 0; i < 7; i++) {
        fixture_path(path, sizeof path, names[i]);
        CHECK(ingest(s, path, "ci", NULL, &res) == FM_INGEST_ADDED, "%s added", names[i]);
    }
    char *once = snapshot(db);
    for (size_t i = 0; i < 7; i++) {
        fixture_path(path, sizeof path, names[i]);
        CHECK(ingest(s, path, "other", NULL, &res) == FM_INGEST_DUPLICATE, "%s again", names[i]);
        CHECK(strcmp(res.label, "ci") == 0, "duplicate reports its label: %s", res.label);
    }
    /* The same bytes under another name are the same file. */
    fixture_path(path, sizeof path, "pytest.xml");
    snprintf(copy, sizeof copy, "%s/renamed.xml", tmpdir);
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    write_file(copy, buf, n);
    CHECK(ingest(s, copy, "ci", NULL, &res) == FM_INGEST_DUPLICATE, "renamed copy");
    char *twice = snapshot(db);
    CHECK(strcmp(once, twice) == 0, "re-ingest changed the store");
    CHECK(count_rows(db, "run") == 7 && count_rows(db, "file") == 7, "7 runs, 7 files");
    /* 5 + 7 + 6 + 3 + 4 + 1 + 1 attempts */
    CHECK(count_rows(db, "res") == 27, "results %lld", (long long)count_rows(db, "res"));
    /* One byte more is another file. */
    buf[n] = '\n';
    write_file(copy, buf, n + 1);
    CHECK(ingest(s, copy, "ci", NULL, &res) == FM_INGEST_ADDED, "changed copy is new");
    /* ...but it names the same CI run (property CI_RUN): its results are further attempts. */
    CHECK(strcmp(res.run_key, "pytest-run-41") == 0, "run key %s", res.run_key);
    CHECK(count_rows(db, "run") == 7, "still 7 CI runs");
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    free(once);
    free(twice);
}

/* ---- History: a small suite written here, read back through fm_history --------------------- */

static void write_run(const char *path, int day, const char *rev, const char *cases)
{
    char xml[4096];
    snprintf(xml, sizeof xml,
             "<testsuite name=\"s\" timestamp=\"2024-01-%02dT12:00:00Z\">"
             "<properties><property name=\"revision\" value=\"%s\"/></properties>%s</testsuite>",
             day, rev, cases);
    write_file(path, xml, strlen(xml));
}

static void test_history(void)
{
    char db[300], path[400];
    snprintf(db, sizeof db, "%s/history.db", tmpdir);
    fm_store *s = NULL;
    CHECK(fm_store_open(db, true, &s) == FM_STORE_OK, "open");
    /* Written out of time order: the reader sorts by the files' timestamps. */
    static const struct {
        int day;
        const char *rev, *cases;
    } runs[] = {
        {3, "r2", "<testcase name=\"a\" time=\"1\"><failure/></testcase><testcase name=\"b\"/>"},
        {1, "r1", "<testcase name=\"a\" time=\"2\"/><testcase name=\"b\"/>"},
        {2, "r1",
         "<testcase name=\"a\" time=\"3\"><flakyFailure time=\"0.5\"/></testcase>"
         "<testcase name=\"b\"><skipped/></testcase>"},
        {4, "", "<testcase name=\"a\"><failure/><rerunFailure/></testcase><testcase name=\"b\"/>"},
    };
    fm_ingest_result res;
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/day%d.xml", tmpdir, runs[i].day);
        write_run(path, runs[i].day, runs[i].rev, runs[i].cases);
        CHECK(ingest(s, path, "h", NULL, &res) == FM_INGEST_ADDED, "day %d: %s", runs[i].day,
              res.error);
    }
    fm_history_test *t = NULL;
    size_t n = 0;
    CHECK(fm_history_load(s, NULL, &t, &n) == FM_HIST_OK, "load");
    CHECK(n == 2 && strcmp(t[0].test, "a") == 0 && strcmp(t[1].test, "b") == 0, "2 tests");
    if (n == 2) {
        CHECK(t[0].n == 4 && t[1].n == 3, "a ran 4 times (%zu), b 3 (%zu)", t[0].n, t[1].n);
        const fm_history_run *a = t[0].runs;
        CHECK(a[0].first == FM_OUTCOME_PASS && a[0].attempts == 1 && a[0].first_s == 2.0, "day 1");
        CHECK(a[1].first == FM_OUTCOME_FAIL && a[1].last == FM_OUTCOME_PASS && a[1].attempts == 2 &&
                  a[1].first_s == 0.5,
              "day 2: flaky, first attempt 0.5 s");
        CHECK(a[2].first == FM_OUTCOME_FAIL && a[2].last == FM_OUTCOME_FAIL && a[2].attempts == 1 &&
                  a[2].first_s == 1.0,
              "day 3");
        CHECK(a[3].attempts == 2 && a[3].last == FM_OUTCOME_FAIL && isnan(a[3].first_s),
              "day 4: failed twice, no time");
        CHECK(a[0].revision != 0 && a[0].revision == a[1].revision &&
                  a[2].revision != a[0].revision && a[2].revision != 0 && a[3].revision == 0,
              "revisions %lld %lld %lld %lld", (long long)a[0].revision, (long long)a[1].revision,
              (long long)a[2].revision, (long long)a[3].revision);
        CHECK(a[0].time_ns < a[1].time_ns && a[1].time_ns < a[2].time_ns &&
                  a[0].time_ns == utc("2024-01-01T12:00:00Z"),
              "time order");
        CHECK(strcmp(t[0].label, "h") == 0, "label");
    }
    fm_history_free(t, n);
    int64_t ci_runs = 0, red = 0;
    CHECK(fm_history_suite(s, NULL, &ci_runs, &red) == FM_HIST_OK && ci_runs == 4 && red == 2,
          "suite: %lld runs, %lld red", (long long)ci_runs, (long long)red);
    fm_history_filter last2 = {.last_runs = 2};
    CHECK(fm_history_load(s, &last2, &t, &n) == FM_HIST_OK && n == 2 && t[0].n == 2 &&
              t[0].runs[0].time_ns == utc("2024-01-03T12:00:00Z"),
          "last 2 runs");
    fm_history_free(t, n);
    fm_history_filter window = {.since_ns = utc("2024-01-02T00:00:00Z"),
                                .until_ns = utc("2024-01-04T00:00:00Z")};
    CHECK(fm_history_load(s, &window, &t, &n) == FM_HIST_OK && n == 2 && t[0].n == 2 && t[1].n == 1,
          "since/until window");
    fm_history_free(t, n);
    CHECK(fm_history_suite(s, &window, &ci_runs, &red) == FM_HIST_OK && ci_runs == 2 && red == 1,
          "window: %lld runs, %lld red", (long long)ci_runs, (long long)red);
    fm_history_filter other = {.label = "nope"};
    CHECK(fm_history_load(s, &other, &t, &n) == FM_HIST_OK && n == 0, "unknown label: empty");
    fm_history_free(t, n);
    /* Two files as one CI run (--run): the second's results are attempts 2... of the same run. */
    snprintf(path, sizeof path, "%s/part1.xml", tmpdir);
    write_run(path, 9, "r9", "<testcase name=\"a\"><failure/></testcase>");
    CHECK(ingest(s, path, "one", "build-77", &res) == FM_INGEST_ADDED, "part 1");
    snprintf(path, sizeof path, "%s/part2.xml", tmpdir);
    write_run(path, 8, "r9", "<testcase name=\"a\"/><testcase name=\"c\"/>");
    CHECK(ingest(s, path, "one", "build-77", &res) == FM_INGEST_ADDED, "part 2");
    fm_history_filter one = {.label = "one"};
    CHECK(fm_history_load(s, &one, &t, &n) == FM_HIST_OK && n == 2 && t[0].n == 1 &&
              t[0].runs[0].attempts == 2 && t[0].runs[0].first == FM_OUTCOME_FAIL &&
              t[0].runs[0].last == FM_OUTCOME_PASS &&
              t[0].runs[0].time_ns == utc("2024-01-08T12:00:00Z"),
          "one CI run from two files (earliest time)");
    fm_history_free(t, n);
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
}

static void test_list(void)
{
    char dir[300], sub[320], path[400];
    snprintf(dir, sizeof dir, "%s/tree", tmpdir);
    snprintf(sub, sizeof sub, "%s/b", dir);
    mkdir(dir, 0700);
    mkdir(sub, 0700);
    const char *files[] = {"c.xml", "a.XML", "notes.txt", "b/z.xml", "b/y.xml"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        write_file(path, "<testsuite/>", 12);
    }
    const char *ops[] = {dir, "/nonexistent.xml"};
    char **list = NULL;
    size_t n = 0;
    CHECK(fm_ingest_list(ops, 2, &list, &n) == FM_HIST_OK, "list");
    char got[2048] = "";
    for (size_t i = 0; i < n; i++) {
        strncat(got, list[i] + (strncmp(list[i], dir, strlen(dir)) == 0 ? strlen(dir) : 0),
                sizeof got - strlen(got) - 2);
        strcat(got, ";");
    }
    CHECK(strcmp(got, "/a.XML;/b/y.xml;/b/z.xml;/c.xml;/nonexistent.xml;") == 0, "listing: %s",
          got);
    fm_ingest_list_free(list, n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_ingest FIXTURES\n");
        return 2;
    }
    fixtures = argv[1];
    snprintf(tmpdir, sizeof tmpdir, "%s/fm-ingest-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_dialects();
    test_times();
    test_rejected();
    test_idempotent();
    test_history();
    test_list();
    int rc = fm_test_report("ingest");
    if (rc == 0) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return rc;
}
