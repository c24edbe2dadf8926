/*
 * test_store_merge.c - fm_store_merge: shards combine to the unsharded campaign, nothing is
 * counted twice, and a failed merge leaves the output as it was.
 *
 * Asserts: two shard stores (even and odd run indices of one seeded campaign, written by
 * "different hosts") merged into a new file give exactly the summary and quantiles of one
 * store holding all runs, and the inputs stay byte-identical; merging the same inputs again into
 * that output adds nothing; a second campaign in an input comes along; a label whose command
 * differs is ECONFLICT with the label in errbuf, and leaves an existing output byte-for-byte
 * unchanged and a missing output absent (no temporary file left); a missing input, or an input
 * that is not a store, fails naming it.  Unsharded campaigns of one label (same keys, different
 * runs) merge with distinct run indices and are never counted twice (test_unsharded).  A new
 * output starts as a page copy of the first input (fm_store_merge.c, copy_whole): its counts and
 * rows are checked like the row copy's.
 */
#include "store_util.h"

enum { CHAINS = 2000 };

static int64_t make(const char *path, const char *label, const char *command, int64_t from,
                    int64_t step, uint64_t seed, const char *host)
{
    fm_store *s;
    fm_campaign_info c = su_campaign(label, command);
    c.host = host;
    int64_t id = -1;
    bool existed;
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "create %s", path);
    CHECK(fm_store_campaign(s, &c, &id, &existed) == FM_STORE_OK, "campaign %s", label);
    CHECK(su_add_chains(s, id, from, CHAINS, step, seed, NULL) == FM_STORE_OK, "runs");
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    return id;
}

static bool summary_of(const char *path, const char *label, fm_store_summary *sum, int64_t q[3])
{
    fm_store *s;
    int64_t id;
    bool ok = fm_store_open(path, false, &s) == FM_STORE_OK &&
              fm_store_find_campaign(s, label, &id, NULL) == FM_STORE_OK &&
              fm_store_summarize(s, id, sum) == FM_STORE_OK &&
              fm_store_wall_quantile(s, id, 0.5, &q[0]) == FM_STORE_OK &&
              fm_store_wall_quantile(s, id, 0.9, &q[1]) == FM_STORE_OK &&
              fm_store_wall_quantile(s, id, 1.0, &q[2]) == FM_STORE_OK;
    fm_store_close(s);
    return ok;
}

static void test_shards(void)
{
    const char *even = su_path("even.db"), *odd = su_path("odd.db"), *all = su_path("all.db"),
               *merged = su_path("merged.db");
    make(even, "shard", "[\"t\"]", 0, 2, 5, "host-a");
    make(odd, "shard", "[\"t\"]", 1, 2, 5, "host-b");
    make(all, "shard", "[\"t\"]", 0, 1, 5, "host-c");
    /* A second campaign rides along in one input. */
    make(odd, "other", "[\"o\"]", 0, 1, 9, "host-b");

    char err[256] = "";
    const char *inputs[] = {even, odd};
    su_file even0 = su_read(even);
    CHECK(fm_store_merge(merged, inputs, 2, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    su_file even1 = su_read(even);
    CHECK(su_same(&even0, &even1), "an input stays byte-identical");
    free(even0.data);
    free(even1.data);
    fm_store_summary want, got;
    int64_t qw[3], qg[3];
    CHECK(summary_of(all, "shard", &want, qw) && summary_of(merged, "shard", &got, qg),
          "summaries");
    CHECK(su_summary_equal(&got, &want, "shards") && want.chains == CHAINS,
          "two shards = one unsharded campaign");
    CHECK(memcmp(qw, qg, sizeof qw) == 0, "same quantiles");
    CHECK(summary_of(merged, "other", &got, qg) && got.chains == CHAINS, "second campaign");
    /* the first input was copied whole (a page copy), the second merged row by row */
    CHECK(su_counts_mismatch(merged) == 0, "new output: counts match the rows");
    CHECK(su_query(merged, "SELECT count(*) FROM runs") ==
              su_query(even, "SELECT count(*) FROM runs") +
                  su_query(odd, "SELECT count(*) FROM runs"),
          "new output: every run of both inputs");

    /* Again, into the now existing output, and the same input twice: nothing added. */
    int64_t before = su_query(merged, "SELECT count(*) FROM runs");
    const char *twice[] = {odd, even, odd};
    CHECK(fm_store_merge(merged, twice, 3, err, sizeof err) == FM_STORE_OK, "re-merge: %s", err);
    CHECK(su_query(merged, "SELECT count(*) FROM runs") == before, "no double counting");
    CHECK(su_counts_mismatch(merged) == 0, "merged counts match the rows");
    CHECK(su_query(merged, "SELECT count(*) FROM campaigns") == 2, "no duplicate campaigns");
    /* The output itself as an input. */
    const char *self[] = {merged};
    CHECK(fm_store_merge(merged, self, 1, err, sizeof err) == FM_STORE_OK, "self: %s", err);
    CHECK(su_query(merged, "SELECT count(*) FROM runs") == before, "self-merge adds nothing");
}

static void test_conflicts(void)
{
    const char *a = su_path("ca.db"), *b = su_path("cb.db"), *out = su_path("cout.db"),
               *fresh = su_path("fresh.db"), *twin = su_path("twin.db");
    make(a, "lbl", "[\"t\"]", 0, 2, 5, "h");
    make(b, "lbl", "[\"different\"]", 1, 2, 5, "h");
    make(out, "keep", "[\"k\"]", 0, 1, 3, "h");
    su_file before = su_read(out);

    char err[256] = "";
    const char *inputs[] = {a, b};
    CHECK(fm_store_merge(out, inputs, 2, err, sizeof err) == FM_STORE_ECONFLICT,
          "command differs: %s", err);
    CHECK(strstr(err, "'lbl'") != NULL, "errbuf names the label: %s", err);
    su_file after = su_read(out);
    CHECK(su_same(&before, &after), "an existing output is untouched by a failed merge");
    free(after.data);
    free(before.data);

    CHECK(fm_store_merge(fresh, inputs, 2, err, sizeof err) == FM_STORE_ECONFLICT, "fresh");
    CHECK(!su_exists(fresh), "a missing output stays missing");
    int64_t leftovers = 0;
    DIR *d = opendir(su_dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        leftovers += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    CHECK(leftovers == 0, "no temporary file left behind");

    (void)twin;

    const char *missing[] = {a, su_path("nope.db")};
    CHECK(fm_store_merge(fresh, missing, 2, err, sizeof err) == FM_STORE_ENOENT, "missing input");
    CHECK(strstr(err, "nope.db") != NULL, "names the input: %s", err);
    const char *text = su_path("text.db");
    su_write(text, "hello\n", 6);
    const char *bad[] = {text};
    CHECK(fm_store_merge(fresh, bad, 1, err, sizeof err) == FM_STORE_ENOTSTORE, "text input");
    CHECK(fm_store_merge(text, inputs, 1, err, sizeof err) == FM_STORE_ENOTSTORE, "text output");
    CHECK(fm_store_merge(fresh, inputs, 0, err, sizeof err) == FM_STORE_EINVAL, "no inputs");
    CHECK(!su_exists(fresh), "still no output");
}

/* An unsharded campaign of `label` with chains [from, to), its expected summary added to want. */
static void make_unsharded(const char *path, int64_t from, int64_t to, uint64_t seed,
                           fm_store_summary *want)
{
    fm_store *s;
    fm_campaign_info c = su_campaign("u", "[\"t\"]");
    int64_t id;
    CHECK(fm_store_open(path, true, &s) == FM_STORE_OK, "create %s", path);
    CHECK(fm_store_campaign(s, &c, &id, NULL) == FM_STORE_OK, "campaign");
    CHECK(su_add_chains(s, id, from, to, 1, seed, want) == FM_STORE_OK, "runs");
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
}

static void check_merged(const char *path, const fm_store_summary *want, const char *what)
{
    fm_store_summary got;
    int64_t q[3];
    CHECK(summary_of(path, "u", &got, q), "%s: summary", what);
    CHECK(su_summary_equal(&got, want, what), "%s: the sum of the campaigns merged", what);
    CHECK(su_query(path, "SELECT count(*) FROM (SELECT DISTINCT run_index FROM runs)") ==
              got.chains,
          "%s: every chain has its own run index", what);
}

/*
 * Issue 17, "Merging without shards": campaigns of one label run without --shard (every one
 * has a run 0) merge, each after the output's largest index; merging any of them again, the
 * output into itself, or another merge of the same stores in another order adds nothing; a
 * store resumed since it was merged brings only its new runs.
 */
static void test_unsharded(void)
{
    const char *u1 = su_path("u1.db"), *u2 = su_path("u2.db"), *u3 = su_path("u3.db"),
               *m = su_path("um.db"), *m2 = su_path("um2.db");
    fm_store_summary want = {0};
    make_unsharded(u1, 0, 300, 11, &want);
    make_unsharded(u2, 0, 200, 22, &want);
    make_unsharded(u3, 0, 250, 33, &want);
    char err[256] = "";
    const char *in12[] = {u1, u2};
    CHECK(fm_store_merge(m, in12, 2, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    CHECK(su_query(m, "SELECT count(DISTINCT run_index) FROM runs") == 500, "500 chains");
    const char *in21[] = {u2, u1};
    CHECK(fm_store_merge(m2, in21, 2, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    const char *in3[] = {u3};
    CHECK(fm_store_merge(m, in3, 1, err, sizeof err) == FM_STORE_OK, "merge u3: %s", err);
    check_merged(m, &want, "three unsharded stores");
    int64_t rows = su_query(m, "SELECT count(*) FROM runs");
    const char *again[] = {u2, u1, u3, m, m2, u2};
    CHECK(fm_store_merge(m, again, 6, err, sizeof err) == FM_STORE_OK, "re-merge: %s", err);
    CHECK(su_query(m, "SELECT count(*) FROM runs") == rows, "no double counting");
    CHECK(su_counts_mismatch(m) == 0, "merged counts match the rows");
    check_merged(m, &want, "merged again");
    /* The other order into a new output: the same counts. */
    const char *all[] = {m2, u3, u1};
    const char *m3 = su_path("um3.db");
    CHECK(fm_store_merge(m3, all, 3, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    check_merged(m3, &want, "another order");
    /* u1 resumed (chains 300..399): merged again, only those come. */
    fm_store *s;
    int64_t id;
    CHECK(fm_store_open(u1, false, &s) == FM_STORE_OK &&
              fm_store_find_campaign(s, "u", &id, NULL) == FM_STORE_OK &&
              su_add_chains(s, id, 300, 400, 1, 11, &want) == FM_STORE_OK &&
              fm_store_close(s) == FM_STORE_OK,
          "resume u1");
    const char *in1[] = {u1};
    CHECK(fm_store_merge(m, in1, 1, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    check_merged(m, &want, "a resumed store");
}

/*
 * More inputs than SQLite attaches to one connection (10): the first are copied by one
 * statement each, the rest row by row; both paths, for shards and for unsharded stores, give the
 * same counts, and a second merge of all of them adds nothing.
 */
static void test_many(void)
{
    enum { K = 14 };
    fm_store_summary want = {0};
    static const char *const names[K] = {"m0.db",  "m1.db",  "m2.db",  "m3.db", "m4.db",
                                         "m5.db",  "m6.db",  "m7.db",  "m8.db", "m9.db",
                                         "m10.db", "m11.db", "m12.db", "m13.db"};
    const char *paths[K];
    for (int i = 0; i < K; i++) {
        paths[i] = strdup(su_path(names[i]));
        make_unsharded(paths[i], 0, 40 + i, 100 + (uint64_t)i, &want);
    }
    char err[256] = "";
    const char *out = su_path("many.db");
    CHECK(fm_store_merge(out, paths, K, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    check_merged(out, &want, "14 unsharded stores");
    int64_t rows = su_query(out, "SELECT count(*) FROM runs");
    CHECK(fm_store_merge(out, paths, K, err, sizeof err) == FM_STORE_OK, "again: %s", err);
    CHECK(su_query(out, "SELECT count(*) FROM runs") == rows, "no double counting");
    CHECK(su_counts_mismatch(out) == 0, "merged counts match the rows");
    /* The same stores in reverse order into a new output: the late ones are now early. */
    const char *rev[K];
    for (int i = 0; i < K; i++)
        rev[i] = paths[K - 1 - i];
    const char *out2 = su_path("many2.db");
    CHECK(fm_store_merge(out2, rev, K, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    check_merged(out2, &want, "reversed");
    for (int i = 0; i < K; i++)
        free((void *)paths[i]);
}

/*
 * Inputs of more than 65536 runs are compared with the output by a side-by-side scan (smaller
 * ones key by key): two big shards, merged one after the other, equal their sum; merged again,
 * nothing is added; an unsharded store of the same label clashes and is placed after them.
 */
static void test_large(void)
{
    enum { BIG = 100000 };
    const char *even = su_path("big_even.db"), *odd = su_path("big_odd.db"),
               *twin = su_path("big_twin.db"), *out = su_path("big_out.db");
    fm_store_summary want = {0};
    fm_store *s;
    fm_campaign_info c = su_campaign("u", "[\"t\"]");
    int64_t id;
    const char *paths[] = {even, odd};
    for (int i = 0; i < 2; i++) {
        CHECK(fm_store_open(paths[i], true, &s) == FM_STORE_OK, "create");
        CHECK(fm_store_campaign(s, &c, &id, NULL) == FM_STORE_OK, "campaign");
        CHECK(su_add_chains(s, id, i, BIG, 2, 7, &want) == FM_STORE_OK, "runs");
        CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    }
    make_unsharded(twin, 0, 30000, 8, NULL);
    char err[256] = "";
    const char *first[] = {even}, *second[] = {odd}, *both[] = {odd, even};
    CHECK(fm_store_merge(out, first, 1, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    CHECK(fm_store_merge(out, second, 1, err, sizeof err) == FM_STORE_OK, "merge: %s", err);
    check_merged(out, &want, "two big shards");
    int64_t rows = su_query(out, "SELECT count(*) FROM runs");
    CHECK(fm_store_merge(out, both, 2, err, sizeof err) == FM_STORE_OK, "again: %s", err);
    CHECK(su_query(out, "SELECT count(*) FROM runs") == rows, "no double counting");
    CHECK(su_counts_mismatch(out) == 0, "merged counts match the rows");
    const char *tw[] = {twin};
    CHECK(fm_store_merge(out, tw, 1, err, sizeof err) == FM_STORE_OK, "twin: %s", err);
    CHECK(su_query(out, "SELECT count(DISTINCT run_index) FROM runs") == BIG + 30000,
          "the unsharded store's chains get indices of their own");
    CHECK(su_query(out, "SELECT max(run_index) FROM runs") == BIG - 1 + 30000,
          "placed after the shards' largest index");
    CHECK(su_query(out, "SELECT count(*) FROM runs") > rows, "the twin's runs were added");
}

int main(void)
{
    su_mkdir();
    test_shards();
    test_conflicts();
    test_unsharded();
    test_many();
    test_large();
    su_rmdir();
    return fm_test_report("store_merge");
}
