/*
 * test_store_roundtrip.c - campaigns and runs in, summaries and quantiles out.
 *
 * Asserts: opening a missing path without create is ENOENT and creates nothing; the summary of
 * 3000 seeded retry chains equals the one computed in C from the same chains (every field,
 * including chains, chains_failed, passed_on_retry, retries and retries_failed), before and
 * after a reopen; wall-time quantiles equal the nearest-rank values of the sorted walls, also
 * past the bounded selection's one-pass size (200 000 walls with ties and a 63-bit span); resume
 * (same label again) accumulates and max_run_index follows; a different command, kind or
 * parameters under the same label is ECONFLICT naming the label, host/arch/version may differ;
 * a duplicate (run_index, attempt) is ECONFLICT and leaves the batch intact; lookups by label
 * and "last campaign" work and their strings stay valid; an empty campaign summarizes to zero.
 * A campaign opened without host, arch, version or creation time gets this machine's hostname
 * and uname -m, this build's version and a creation time between the clock read before and
 * after; given values are kept; and a continued campaign keeps its first creation time.
 * The counted-attempts rule: trials are first attempts minus errors, failures those not passed.
 */
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "store_util.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_missing(void)
{
    fm_store *s = (fm_store *)1;
    const char *path = su_path("missing.db");
    CHECK(fm_store_open(path, false, &s) == FM_STORE_ENOENT, "status");
    CHECK(s == NULL, "handle must be NULL on failure");
    CHECK(!su_exists(path), "no file may be created");
    CHECK(strlen(fm_store_errmsg(NULL)) > 0, "a detail for the failed open");
    /* A folder that does not exist: the path is wrong (as for export -o and --plot). */
    CHECK(fm_store_open(su_path("no/such/dir.db"), true, &s) == FM_STORE_EINVAL, "bad directory");
}

/* Every wall_ns of chains [0, n) with the seed, sorted. */
static int64_t *sorted_walls(int64_t n, uint64_t seed, size_t *count)
{
    int64_t *w = malloc((size_t)n * SU_MAX_ATTEMPTS * sizeof *w);
    size_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t rng = seed ^ (uint64_t)i * 0x100000001b3ULL;
        fm_run_record rows[SU_MAX_ATTEMPTS];
        int m = su_chain(&rng, i, rows);
        for (int j = 0; j < m; j++)
            w[k++] = rows[j].wall_ns;
    }
    qsort(w, k, sizeof *w, cmp_i64);
    *count = k;
    return w;
}

static void check_quantiles(fm_store *s, int64_t id, int64_t chains, uint64_t seed)
{
    /* q as exact fractions, so the expected rank ceil(q n) is integer arithmetic. */
    static const int q[][2] = {{0, 1}, {1, 10}, {1, 2}, {9, 10}, {99, 100}, {999, 1000}, {1, 1}};
    size_t n;
    int64_t *w = sorted_walls(chains, seed, &n);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        int64_t k = ((int64_t)q[i][0] * (int64_t)n + q[i][1] - 1) / q[i][1];
        k = k < 1 ? 1 : k;
        int64_t got = -2;
        CHECK(fm_store_wall_quantile(s, id, (double)q[i][0] / q[i][1], &got) == FM_STORE_OK,
              "quantile status");
        CHECK(got == w[k - 1], "q=%d/%d: %lld, want %lld (rank %lld of %zu)", q[i][0], q[i][1],
              (long long)got, (long long)w[k - 1], (long long)k, n);
    }
    int64_t got;
    CHECK(fm_store_wall_quantile(s, id, 1.5, &got) == FM_STORE_EINVAL, "q outside [0, 1]");
    free(w);
}

/*
 * More walls than one collecting pass takes (FM_SEL_CAP = 65536), so the bounded selection
 * narrows through histogram passes: 200 000 walls with a heavy tie, a dense body, a long tail
 * and the extremes 0 and INT64_MAX (a 63-bit span), against the sorted array (the definition:
 * nearest rank ceil(q n)).  Interrupted attempts are left out, as the summary leaves them out.
 */
static void test_quantiles_big(void)
{
    const char *path = su_path("big.db");
    fm_store *s = NULL;
    fm_campaign_info info = su_campaign("big", "[\"./big\"]");
    int64_t id;
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "create: %s", fm_store_errmsg(NULL));
    CHECK(fm_store_campaign(s, &info, &id, NULL) == FM_STORE_OK, "campaign");
    enum { N = 200000 };
    int64_t *w = malloc(N * sizeof *w);
    size_t n = 0;
    uint64_t rng = 20261122;
    for (int64_t i = 0; i < N + 500; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t u = rng >> 11;
        int64_t v = i == 0       ? 0
                    : i == 1     ? INT64_MAX
                    : u % 10 < 4 ? 500000 /* a tie of 40 % */
                    : u % 10 < 9 ? 400000 + (int64_t)(u / 10 % 200000)
                                 : (int64_t)(u / 10 % 1000000000);
        fm_run_record r = {.run_index = i, .attempt = 1, .seed = u, .start_ns = i, .wall_ns = v};
        r.outcome = i >= N ? FM_OUTCOME_INTERRUPTED : FM_OUTCOME_PASS;
        if (i >= N)
            r.wall_ns = 7; /* would move the low ranks if counted */
        else
            w[n++] = v;
        CHECK(fm_store_add_run(s, id, &r) == FM_STORE_OK, "add: %s", fm_store_errmsg(s));
    }
    qsort(w, n, sizeof *w, cmp_i64);
    static const int q[][2] = {{0, 1},      {1, 200000},      {1, 100}, {1, 10}, {1, 4},
                               {2, 5},      {1, 2},           {3, 5},   {9, 10}, {99, 100},
                               {999, 1000}, {199999, 200000}, {1, 1}};
    enum { NQ = sizeof q / sizeof q[0] };
    double qs[NQ];
    int64_t got[NQ];
    for (int i = 0; i < NQ; i++)
        qs[i] = (double)q[i][0] / q[i][1];
    for (int pass = 0; pass < 2; pass++) { /* pending rows, then committed */
        CHECK(fm_store_wall_quantiles(s, id, qs, NQ, got) == FM_STORE_OK, "quantiles: %s",
              fm_store_errmsg(s));
        for (int i = 0; i < NQ; i++) {
            int64_t k = ((int64_t)q[i][0] * (int64_t)n + q[i][1] - 1) / q[i][1];
            k = k < 1 ? 1 : k;
            CHECK(got[i] == w[k - 1], "q=%d/%d: %lld, want %lld", q[i][0], q[i][1],
                  (long long)got[i], (long long)w[k - 1]);
            int64_t one = -2;
            CHECK(fm_store_wall_quantile(s, id, qs[i], &one) == FM_STORE_OK && one == got[i],
                  "one at a time equals all at once");
        }
        CHECK(fm_store_flush(s) == FM_STORE_OK, "flush");
    }
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    /*
     * The answers above come from the stored counts and the walls of one bucket (schema 5), not
     * from passes over all walls, which would give the same values: one more wall counted by
     * hand in the lowest bucket (wall 0's) moves every higher rank's answer down by one rank.
     * The rank is one in the tail whose neighbour below differs, so the move shows.
     */
    int64_t k = (int64_t)n - 100;
    while (k > 2 && w[k - 1] == w[k - 2])
        k--;
    CHECK(k > 2 && w[k - 1] != w[k - 2], "a rank with a different neighbour below");
    CHECK(su_exec(path, "UPDATE wall_buckets SET n = n + 1 WHERE campaign = 1 AND bucket = 0"),
          "count a wall more in bucket 0");
    s = NULL;
    CHECK(fm_store_open(path, false, &s) == FM_STORE_OK, "open: %s", fm_store_errmsg(NULL));
    int64_t moved = -2;
    CHECK(s != NULL &&
              fm_store_wall_quantile(s, id, (double)k / (double)n, &moved) == FM_STORE_OK &&
              moved == w[k - 2],
          "rank %lld answered from the stored counts: %lld (rank below %lld, rank %lld)",
          (long long)k, (long long)moved, (long long)w[k - 2], (long long)w[k - 1]);
    if (s != NULL)
        CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    free(w);
}

static void test_roundtrip(void)
{
    const char *path = su_path("rt.db");
    fm_store *s = NULL;
    fm_store_summary want = {0}, got;
    fm_campaign_info info = su_campaign("rt", "[\"./t\", \"-x\"]");
    int64_t id;
    bool existed = true;
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "create: %s", fm_store_errmsg(NULL));
    CHECK(fm_store_campaign(s, &info, &id, &existed) == FM_STORE_OK, "campaign");
    CHECK(!existed, "a new label");
    /* Summaries between adds come from the handle's cache, kept current row by row; each
     * must equal the one computed here (and, at the end, the one computed in SQL). */
    for (int64_t from = 0; from < 3000; from += 500) {
        CHECK(fm_store_summarize(s, id, &got) == FM_STORE_OK, "summarize");
        CHECK(su_summary_equal(&got, &want, "incremental"), "summary after %lld chains",
              (long long)from);
        CHECK(su_add_chains(s, id, from, from + 500, 1, 42, &want) == FM_STORE_OK, "add: %s",
              fm_store_errmsg(s));
    }
    /* Before a flush: the handle sees its own pending rows. */
    CHECK(fm_store_summarize(s, id, &got) == FM_STORE_OK, "summarize");
    CHECK(su_summary_equal(&got, &want, "pending"), "summary with rows pending");
    CHECK(want.passed_on_retry > 0 && want.chains_failed > 0 && want.retries_failed > 0 &&
              want.by_outcome[FM_OUTCOME_ERROR] > 0 && want.max_attempt == SU_MAX_ATTEMPTS,
          "the generator exercises every field");
    check_quantiles(s, id, 3000, 42);

    /* Another connection adds chains: this handle's cached summary and walls must see them. */
    fm_store *other;
    CHECK(fm_store_flush(s) == FM_STORE_OK, "flush");
    CHECK(fm_store_open(path, false, &other) == FM_STORE_OK, "second handle");
    CHECK(su_add_chains(other, id, 3000, 3100, 1, 42, &want) == FM_STORE_OK, "add elsewhere");
    CHECK(fm_store_close(other) == FM_STORE_OK, "close the second handle");
    CHECK(fm_store_summarize(s, id, &got) == FM_STORE_OK, "summarize");
    CHECK(su_summary_equal(&got, &want, "other writer"), "sees the other connection's rows");
    check_quantiles(s, id, 3100, 42);
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");

    CHECK(fm_store_open(path, false, &s) == FM_STORE_OK, "reopen");
    CHECK(fm_store_summarize(s, id, &got) == FM_STORE_OK, "summarize");
    CHECK(su_summary_equal(&got, &want, "reopened"), "summary after reopen");
    check_quantiles(s, id, 3100, 42);
    CHECK(su_query(path, "PRAGMA user_version") == FM_STORE_SCHEMA, "user_version");
    CHECK(su_query(path, "PRAGMA application_id") == 0x464d7472, "application_id");
    fm_store_close(s);
}

static void test_resume(void)
{
    const char *path = su_path("resume.db");
    fm_store *s;
    fm_campaign_info info = su_campaign("resume", "[\"./t\"]");
    fm_store_summary want = {0}, got;
    int64_t id, id2, max = 0;
    bool existed;
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "create");
    CHECK(fm_store_campaign(s, &info, &id, &existed) == FM_STORE_OK && !existed, "campaign");
    CHECK(fm_store_max_run_index(s, id, &max) == FM_STORE_OK && max == -1, "empty: -1");
    CHECK(su_add_chains(s, id, 0, 500, 1, 7, &want) == FM_STORE_OK, "add");
    CHECK(fm_store_max_run_index(s, id, &max) == FM_STORE_OK && max == 499, "max %lld",
          (long long)max);
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");

    /* A second invocation: other host and version are fine (shards, upgrades). */
    info.host = "otherhost";
    info.version = "0.2.0";
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "reopen");
    CHECK(fm_store_campaign(s, &info, &id2, &existed) == FM_STORE_OK && existed && id2 == id,
          "continues the campaign");
    CHECK(fm_store_max_run_index(s, id, &max) == FM_STORE_OK && max == 499, "max after reopen");
    CHECK(su_add_chains(s, id, max + 1, 800, 1, 7, &want) == FM_STORE_OK, "add more");
    CHECK(fm_store_summarize(s, id, &got) == FM_STORE_OK, "summarize");
    CHECK(su_summary_equal(&got, &want, "resumed") && got.chains == 800, "counts accumulate");
    CHECK(fm_store_max_run_index(s, id, &max) == FM_STORE_OK && max == 799, "max %lld",
          (long long)max);

    /* Conflicts: the label with another command, kind or parameters. */
    fm_campaign_info other = info;
    other.command = "[\"./other\"]";
    CHECK(fm_store_campaign(s, &other, &id2, &existed) == FM_STORE_ECONFLICT, "other command");
    CHECK(strstr(fm_store_errmsg(s), "'resume'") != NULL, "names the label: %s",
          fm_store_errmsg(s));
    other = info;
    other.kind = "workload";
    CHECK(fm_store_campaign(s, &other, &id2, &existed) == FM_STORE_ECONFLICT, "other kind");
    other = info;
    other.params = "p=0.5";
    CHECK(fm_store_campaign(s, &other, &id2, &existed) == FM_STORE_ECONFLICT, "other params");

    /* A duplicate key: refused, and the pending batch survives it. */
    fm_run_record dup = {.run_index = 3, .attempt = 1, .outcome = FM_OUTCOME_PASS};
    fm_run_record fresh = {
        .run_index = 5000, .attempt = 1, .outcome = FM_OUTCOME_FAIL, .exit_code = 3};
    CHECK(fm_store_add_run(s, id, &fresh) == FM_STORE_OK, "a pending row");
    CHECK(fm_store_add_run(s, id, &dup) == FM_STORE_ECONFLICT, "duplicate: %s", fm_store_errmsg(s));
    fm_run_record bad = {.run_index = 1, .attempt = 0};
    CHECK(fm_store_add_run(s, id, &bad) == FM_STORE_EINVAL, "attempt 0");
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE run_index = 5000");
    CHECK(su_query(path, sql) == 1, "the row before the duplicate was kept");
}

static void test_lookup(void)
{
    const char *path = su_path("lookup.db");
    fm_store *s;
    fm_campaign_info a = su_campaign("alpha", "[\"a\"]"), b = su_campaign("beta", "[\"b\"]");
    b.created_ns = a.created_ns + 10;
    int64_t ida, idb, id;
    bool existed;
    fm_campaign_info got, got2;
    fm_store_summary sum;
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "create");
    CHECK(fm_store_last_campaign(s, &id, &got) == FM_STORE_ENOENT, "no campaign yet");
    CHECK(fm_store_campaign(s, &a, &ida, &existed) == FM_STORE_OK, "alpha");
    CHECK(fm_store_campaign(s, &b, &idb, &existed) == FM_STORE_OK, "beta");
    CHECK(fm_store_find_campaign(s, "alpha", &id, &got) == FM_STORE_OK && id == ida, "find");
    CHECK(strcmp(got.command, "[\"a\"]") == 0 && strcmp(got.host, "testhost") == 0 &&
              got.created_ns == a.created_ns,
          "fields");
    CHECK(fm_store_last_campaign(s, &id, &got2) == FM_STORE_OK && id == idb, "last is beta");
    CHECK(strcmp(got.label, "alpha") == 0 && strcmp(got2.label, "beta") == 0,
          "strings stay valid across lookups");
    CHECK(fm_store_find_campaign(s, "gamma", &id, &got) == FM_STORE_ENOENT, "unknown label");
    CHECK(fm_store_summarize(s, ida, &sum) == FM_STORE_OK && sum.attempts == 0 && sum.chains == 0 &&
              sum.first_start_ns == 0,
          "empty summary");
    int64_t q;
    CHECK(fm_store_wall_quantile(s, ida, 0.5, &q) == FM_STORE_OK && q == -1, "no runs: -1");
    fm_campaign_info nolabel = su_campaign("", "x");
    CHECK(fm_store_campaign(s, &nolabel, &id, &existed) == FM_STORE_EINVAL, "empty label");
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_filled(void)
{
    const char *path = su_path("filled.db");
    fm_store *s;
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "open");
    fm_campaign_info c = {.label = "f", .kind = "command", .command = "[\"true\"]", .params = ""};
    int64_t id, id2, before = now_ns();
    bool existed;
    CHECK(fm_store_campaign(s, &c, &id, &existed) == FM_STORE_OK && !existed, "create");
    int64_t after = now_ns();
    fm_campaign_info got;
    CHECK(fm_store_campaign_info(s, id, &got) == FM_STORE_OK, "info");
    char host[256] = "";
    struct utsname u;
    gethostname(host, sizeof host - 1);
    uname(&u);
    CHECK(strcmp(got.host, host) == 0, "host %s, expected %s", got.host, host);
    CHECK(strcmp(got.arch, u.machine) == 0, "arch %s, expected %s", got.arch, u.machine);
    CHECK(strcmp(got.version, FM_VERSION) == 0, "version %s", got.version);
    CHECK(got.created_ns >= before && got.created_ns <= after, "created %lld not in [%lld, %lld]",
          (long long)got.created_ns, (long long)before, (long long)after);
    int64_t first = got.created_ns;
    CHECK(fm_store_campaign(s, &c, &id2, &existed) == FM_STORE_OK && existed && id2 == id,
          "continue");
    CHECK(fm_store_campaign_info(s, id, &got) == FM_STORE_OK && got.created_ns == first,
          "a continued campaign keeps its creation time");
    fm_campaign_info given = {.label = "g",
                              .kind = "command",
                              .command = "[\"true\"]",
                              .params = "",
                              .host = "h1",
                              .arch = "riscv64",
                              .version = "9.9",
                              .created_ns = 12345};
    CHECK(fm_store_campaign(s, &given, &id, &existed) == FM_STORE_OK, "create given");
    CHECK(fm_store_campaign_info(s, id, &got) == FM_STORE_OK && strcmp(got.host, "h1") == 0 &&
              strcmp(got.arch, "riscv64") == 0 && strcmp(got.version, "9.9") == 0 &&
              got.created_ns == 12345,
          "given values are kept");
    fm_store_summary sum = {.first = 10};
    sum.first_by_outcome[FM_OUTCOME_PASS] = 5;
    sum.first_by_outcome[FM_OUTCOME_FAIL] = 2;
    sum.first_by_outcome[FM_OUTCOME_ERROR] = 3;
    CHECK(fm_store_summary_trials(&sum) == 7 && fm_store_summary_failures(&sum) == 2,
          "trials %lld failures %lld", (long long)fm_store_summary_trials(&sum),
          (long long)fm_store_summary_failures(&sum));
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
}

/* Interrupted attempts are stored but left out of every count the estimates use. */
static void summary_of_interrupted(fm_store *s, int64_t id, const char *how)
{
    fm_store_summary sum;
    CHECK(fm_store_summarize(s, id, &sum) == FM_STORE_OK, "%s: summary", how);
    CHECK(sum.attempts == 7 && sum.first == 6 &&
              sum.first_by_outcome[FM_OUTCOME_INTERRUPTED] == 1 &&
              sum.by_outcome[FM_OUTCOME_INTERRUPTED] == 2,
          "%s: stored and counted apart (%lld attempts)", how, (long long)sum.attempts);
    CHECK(fm_store_summary_trials(&sum) == 4 && fm_store_summary_failures(&sum) == 3,
          "%s: trials %lld failures %lld, want 4 and 3", how,
          (long long)fm_store_summary_trials(&sum), (long long)fm_store_summary_failures(&sum));
    CHECK(sum.chains == 4 && sum.chains_failed == 3 && sum.retries == 0 && sum.retries_failed == 0,
          "%s: chains %lld failed %lld retries %lld", how, (long long)sum.chains,
          (long long)sum.chains_failed, (long long)sum.retries);
    int64_t max;
    CHECK(fm_store_wall_quantile(s, id, 1.0, &max) == FM_STORE_OK && max == 100,
          "%s: durations leave interrupted attempts out (max %lld)", how, (long long)max);
}

static void test_interrupted_and_evidence(void)
{
    const char *path = su_path("interrupted.db");
    fm_store *s;
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "open");
    fm_campaign_info c = su_campaign("i", "[\"x\"]");
    int64_t id;
    bool existed;
    CHECK(fm_store_campaign(s, &c, &id, &existed) == FM_STORE_OK, "campaign");
    fm_store_summary warm;
    CHECK(fm_store_summarize(s, id, &warm) == FM_STORE_OK, "summary before (the cached path)");
    const struct {
        int64_t run;
        uint32_t attempt;
        fm_outcome o;
        int code, sig;
        int64_t wall;
    } rows[] = {
        {0, 1, FM_OUTCOME_PASS, 0, 0, 100},          {1, 1, FM_OUTCOME_FAIL, 1, 0, 100},
        {1, 2, FM_OUTCOME_INTERRUPTED, -1, 9, 5000}, {2, 1, FM_OUTCOME_INTERRUPTED, -1, 9, 9000},
        {3, 1, FM_OUTCOME_CRASH, -1, 11, 100},       {4, 1, FM_OUTCOME_ERROR, 4, 0, 100},
        {5, 1, FM_OUTCOME_FAIL, 1, 0, 100},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        fm_run_record r = {.run_index = rows[i].run,
                           .attempt = rows[i].attempt,
                           .outcome = rows[i].o,
                           .exit_code = rows[i].code,
                           .signal = rows[i].sig,
                           .start_ns = 1000 * (int64_t)i,
                           .wall_ns = rows[i].wall};
        CHECK(fm_store_add_run(s, id, &r) == FM_STORE_OK, "row %zu: %s", i, fm_store_errmsg(s));
    }
    summary_of_interrupted(s, id, "cached");
    /* Evidence: 3 tails per cause, the last FM_STORE_EVIDENCE_BYTES of each. */
    char big[FM_STORE_EVIDENCE_BYTES + 1000];
    memset(big, 'a', sizeof big);
    memcpy(big + sizeof big - 4, "END\n", 4);
    int kept_fail = 0;
    for (int i = 0; i < 5; i++) {
        fm_run_record r = {
            .run_index = 100 + i, .attempt = 1, .outcome = FM_OUTCOME_FAIL, .exit_code = 1};
        bool kept;
        CHECK(fm_store_add_evidence(s, id, &r, big, sizeof big, (int64_t)sizeof big, &kept) ==
                  FM_STORE_OK,
              "evidence %d", i);
        kept_fail += kept;
    }
    CHECK(kept_fail == FM_STORE_EVIDENCE_PER_CAUSE, "%d tails of exit 1 kept", kept_fail);
    int kept_codes = 0;
    for (int code = 2; code < 2 + 2 * FM_STORE_EVIDENCE_CAUSES; code++) {
        fm_run_record r = {
            .run_index = 1000 + code, .attempt = 1, .outcome = FM_OUTCOME_FAIL, .exit_code = code};
        bool kept;
        fm_store_add_evidence(s, id, &r, "x", 1, 1, &kept);
        kept_codes += kept;
    }
    CHECK(kept_codes == FM_STORE_EVIDENCE_CAUSES - 1, "causes bounded: %d more kept", kept_codes);
    fm_run_record pass = {.run_index = 7, .attempt = 1, .outcome = FM_OUTCOME_PASS};
    bool kept = true;
    CHECK(fm_store_add_evidence(s, id, &pass, "x", 1, 1, &kept) == FM_STORE_OK && !kept,
          "a pass keeps no evidence");
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    CHECK(su_query(path, "SELECT max(length(tail)) FROM evidence") == FM_STORE_EVIDENCE_BYTES,
          "tails are bounded");
    CHECK(su_query(path,
                   "SELECT count(*) FROM evidence WHERE CAST(substr(tail, -4) AS TEXT) = 'END' || "
                   "char(10) AND output_bytes = 5096") == 3,
          "the tail is the end of the output, with the total size");
    CHECK(fm_store_open(path, false, &s) == FM_STORE_OK, "reopen");
    summary_of_interrupted(s, id, "recomputed in SQL");
    fm_store_cause causes[8];
    size_t n, total;
    CHECK(fm_store_causes(s, id, causes, 8, &n, &total) == FM_STORE_OK && n == 3 && total == 3,
          "causes of first attempts: %zu", n);
    CHECK(n == 3 && causes[0].outcome == FM_OUTCOME_FAIL && causes[0].code == 1 &&
              causes[0].count == 2 && causes[1].outcome == FM_OUTCOME_CRASH &&
              causes[1].code == 11 && causes[2].outcome == FM_OUTCOME_ERROR && causes[2].code == 4,
          "exit 1 twice, then SIGSEGV, then error exit 4");
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
}

int main(void)
{
    su_mkdir();
    test_missing();
    test_roundtrip();
    test_quantiles_big();
    test_resume();
    test_lookup();
    test_filled();
    test_interrupted_and_evidence();
    su_rmdir();
    return fm_test_report("store_roundtrip");
}
