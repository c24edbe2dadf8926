/*
 * test_ingest_big.c - `flakemeter ingest` streams: a generated report of more than 100 MiB
 * (200 000 testcases with captured output, and a few 8 MiB text nodes) is ingested by the real
 * tool in a child process whose peak RSS (wait4's ru_maxrss) must stay under a bound; a
 * truncated copy of it is rejected after tens of MiB were staged, and leaves the store as it was;
 * a "billion laughs" file is refused within the same memory bound.
 *
 * Bound: 64 MiB, or 96 MiB under AddressSanitizer (its shadow memory and allocator add to the
 * RSS of any process, and the child runs with a 1 MiB quarantine instead of the default 256 MiB,
 * which would otherwise be counted; the plain build is the one that shows the streaming).  The
 * numbers are printed for docs/store.md.  Arguments: the flakemeter binary.
 */
#include "fm_test.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND_KB (96 * 1024L)
#else
#define RSS_BOUND_KB (64 * 1024L)
#endif

#define TESTCASES 200000L
#define BIG_TEXT  (8L << 20) /* under libxml2's 10 MB limit for one text node */

static char tmpdir[256];

/* Write the report; returns its size. */
static long generate(const char *path)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot create %s", path);
    if (f == NULL)
        return 0;
    static char line[600];
    memset(line, 'x', sizeof line - 1);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", f);
    for (long i = 0; i < TESTCASES; i++) {
        if (i % 10000 == 0)
            fprintf(f, "%s<testsuite name=\"part%ld\" timestamp=\"2024-06-01T00:00:00Z\">\n",
                    i ? "</testsuite>\n" : "", i / 10000);
        fprintf(f, "<testcase classname=\"big.part%ld\" name=\"test_%ld\" time=\"0.001\">",
                i / 10000, i);
        if (i % 97 == 0)
            fputs("<failure message=\"boom\">assertion failed</failure>", f);
        fprintf(f, "<system-out>%s</system-out></testcase>\n", line);
        if (i % 50000 == 25000) { /* a huge captured log */
            fputs("<testcase name=\"huge_log\" classname=\"big\"><system-out>", f);
            for (long k = 0; k < BIG_TEXT / (long)(sizeof line - 1); k++)
                fputs(line, f);
            fputs("</system-out></testcase>\n", f);
        }
    }
    fputs("</testsuite>\n</testsuites>\n", f);
    long size = ftell(f);
    CHECK(fclose(f) == 0, "write %s", path);
    return size;
}

/* Run flakemeter ingest in a child; its exit status and peak RSS (KiB). */
static int run_ingest(const char *flakemeter, const char *db, const char *file, long *rss_kb)
{
    char errpath[400];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", tmpdir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 2);
        if (null >= 0)
            dup2(null, 1);
#if defined(__SANITIZE_ADDRESS__)
        /* ASan keeps freed blocks in a 256 MiB quarantine by default: RSS would measure that. */
        char opts[1024];
        const char *had = getenv("ASAN_OPTIONS");
        snprintf(opts, sizeof opts, "%s%squarantine_size_mb=1", had ? had : "", had ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
#endif
        execl(flakemeter, flakemeter, "ingest", "--db", db, file, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    CHECK(wait4(pid, &status, 0, &ru) == pid, "wait4");
    *rss_kb = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static long long count(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static bool stderr_mentions(const char *what)
{
    char path[400], buf[4096] = "";
    snprintf(path, sizeof path, "%s/stderr.txt", tmpdir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, what) != NULL;
}

static void truncate_copy(const char *from, const char *to, long bytes)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    static char buf[1 << 16];
    CHECK(in != NULL && out != NULL, "copy");
    for (long left = bytes; in && out && left > 0;) {
        size_t got = fread(buf, 1, left < (long)sizeof buf ? (size_t)left : sizeof buf, in);
        if (got == 0)
            break;
        fwrite(buf, 1, got, out);
        left -= (long)got;
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_ingest_big FLAKEMETER\n");
        return 2;
    }
    const char *flakemeter = argv[1];
    snprintf(tmpdir, sizeof tmpdir, "%s/fm-big-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return perror("mkdtemp"), 2;
    char big[320], cut[320], laughs[320], db[320];
    snprintf(big, sizeof big, "%s/big.xml", tmpdir);
    snprintf(cut, sizeof cut, "%s/cut.xml", tmpdir);
    snprintf(laughs, sizeof laughs, "%s/laughs.xml", tmpdir);
    snprintf(db, sizeof db, "%s/big.db", tmpdir);

    long size = generate(big);
    CHECK(size > 100L << 20, "the report is only %ld bytes", size);
    long rss = 0;
    int rc = run_ingest(flakemeter, db, big, &rss);
    long long rows = count(db, "SELECT count(*) FROM ci_results");
    long long expected = TESTCASES + TESTCASES / 50000; /* plus the huge logs */
    printf("ingested %.1f MiB: exit %d, %lld results, peak RSS %.1f MiB (bound %.0f MiB)\n",
           size / 1048576.0, rc, rows, rss / 1024.0, RSS_BOUND_KB / 1024.0);
    CHECK(rc == 0, "ingest exit status %d", rc);
    CHECK(rows == expected, "%lld results, expected %lld", rows, expected);
    CHECK(count(db, "SELECT count(*) FROM ci_results WHERE outcome = 1") == (TESTCASES + 96) / 97,
          "failures");
    CHECK(rss > 0 && rss < RSS_BOUND_KB, "peak RSS %ld KiB", rss);

    /* Cut at 60%: rejected after most of it was staged; the store keeps exactly what it had. */
    truncate_copy(big, cut, size * 6 / 10);
    rc = run_ingest(flakemeter, db, cut, &rss);
    printf("truncated copy: exit %d, peak RSS %.1f MiB\n", rc, rss / 1024.0);
    CHECK(rc == 1, "truncated: exit %d", rc);
    CHECK(stderr_mentions("cut.xml:"), "the error names the file");
    CHECK(count(db, "SELECT count(*) FROM ci_results") == expected, "store changed");
    CHECK(count(db, "SELECT count(*) FROM ci_files") == 1, "files");
    CHECK(rss < RSS_BOUND_KB, "peak RSS %ld KiB", rss);

    /* Billion laughs, through the tool. */
    FILE *f = fopen(laughs, "w");
    if (f != NULL) {
        fputs("<?xml version=\"1.0\"?>\n<!DOCTYPE t [\n <!ENTITY a \"aaaaaaaaaaaaaaaa\">\n", f);
        for (char c = 'b'; c <= 'm'; c++) {
            fprintf(f, " <!ENTITY %c \"", c);
            for (int k = 0; k < 16; k++)
                fprintf(f, "&%c;", c - 1);
            fputs("\">\n", f);
        }
        fputs("]>\n<testsuite name=\"&m;\"><testcase name=\"&m;\">&m;</testcase></testsuite>\n", f);
        fclose(f);
    }
    rc = run_ingest(flakemeter, db, laughs, &rss);
    printf("billion laughs: exit %d, peak RSS %.1f MiB\n", rc, rss / 1024.0);
    CHECK(rc == 1, "laughs: exit %d", rc);
    CHECK(stderr_mentions("laughs.xml:"), "the error names the file");
    CHECK(rss < RSS_BOUND_KB, "peak RSS %ld KiB", rss);
    CHECK(count(db, "SELECT count(*) FROM ci_results") == expected, "store changed");

    rc = fm_test_report("ingest big");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return rc;
}
