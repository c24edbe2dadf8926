/*
 * bench_store.c - how fast the store is at campaign scale (a benchmark, not a test):
 *   bench_store [RUNS]   (default 1000000)
 * Inserts RUNS seeded attempts through fm_store_add_run (batch commits as in a campaign), then
 * times fm_store_summarize, fm_store_wall_quantile and a JSON export to /dev/null, and prints
 * the file size.  Numbers for docs/store.md; run with `meson test --benchmark`.
 */
#include "store_util.h"

#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int64_t target = argc > 1 ? atoll(argv[1]) : 1000000;
    su_mkdir();
    const char *path = su_path("bench.db");
    fm_store *s;
    fm_campaign_info c = su_campaign("bench", "[\"./t\"]");
    int64_t id, chains = 0, rows = 0;
    bool existed;
    fm_store_summary sum;
    if (fm_store_open(path, true, &s) != FM_STORE_OK ||
        fm_store_campaign(s, &c, &id, &existed) != FM_STORE_OK)
        return 1;
    double t0 = now_s();
    while (rows < target) {
        uint64_t rng = 77 ^ (uint64_t)chains * 0x100000001b3ULL;
        fm_run_record r[SU_MAX_ATTEMPTS];
        int n = su_chain(&rng, chains++, r);
        for (int k = 0; k < n; k++)
            if (fm_store_add_run(s, id, &r[k]) != FM_STORE_OK)
                return 1;
        rows += n;
    }
    fm_store_flush(s);
    double t1 = now_s();
    printf("insert: %lld rows (%lld chains) in %.2f s = %.0f rows/s\n", (long long)rows,
           (long long)chains, t1 - t0, rows / (t1 - t0));
    for (int rep = 0; rep < 2; rep++) { /* the second one runs with a warm page cache */
        t0 = now_s();
        fm_store_summarize(s, id, &sum);
        t1 = now_s();
        printf("summarize (%s): %.1f ms\n", rep ? "warm" : "first", (t1 - t0) * 1e3);
    }
    int64_t q;
    t0 = now_s();
    fm_store_wall_quantile(s, id, 0.5, &q);
    fm_store_wall_quantile(s, id, 0.99, &q);
    t1 = now_s();
    printf("quantiles p50+p99: %.1f ms\n", (t1 - t0) * 1e3);
    FILE *null = fopen("/dev/null", "w");
    t0 = now_s();
    fm_store_export(s, NULL, FM_EXPORT_JSON, null);
    t1 = now_s();
    printf("export json: %.2f s\n", t1 - t0);
    t0 = now_s();
    fm_store_export(s, NULL, FM_EXPORT_JUNIT, null);
    t1 = now_s();
    printf("export junit: %.2f s\n", t1 - t0);
    fclose(null);
    fm_store_close(s);
    struct stat sb;
    stat(path, &sb);
    printf("file: %.1f MB (%.1f bytes/row)\n", sb.st_size / 1e6, (double)sb.st_size / rows);
    char merged[600];
    snprintf(merged, sizeof merged, "%s/merged.db", su_dir);
    const char *in[] = {path};
    char err[256];
    t0 = now_s();
    fm_store_status st = fm_store_merge(merged, in, 1, err, sizeof err);
    t1 = now_s();
    printf("merge into a new store: %.2f s (%s)\n", t1 - t0, fm_store_strerror(st));
    su_rmdir();
    return 0;
}
