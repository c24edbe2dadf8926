/*
 * test_store_merge.c - fm_store_merge: shards combine to the unsharded campaign, nothing is
 * counted twice, and a failed merge leaves the output as it was.
 *
 * Asserts: two shard stores (even and odd run indices of one seeded campaign, written by
 * "different hosts") merged into a new file give exactly the summary and quantiles of one
 * store holding all runs, and the inputs stay byte-identical; merging the same inputs again into
 * that output adds nothing; a second campaign in an input comes along; a label whose command
 * differs is ECONFLICT with the label in errbuf, and leaves an existing output byte-for-byte
 * unchanged and a missing output absent (no temporary file left); two unsharded campaigns of one
 * label (same keys, different runs) are ECONFLICT; a missing input, or an input that is not a
 * store, fails naming it.
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

    /* Again, into the now existing output, and the same input twice: nothing added. */
    int64_t before = su_query(merged, "SELECT count(*) FROM runs");
    const char *twice[] = {odd, even, odd};
    CHECK(fm_store_merge(merged, twice, 3, err, sizeof err) == FM_STORE_OK, "re-merge: %s", err);
    CHECK(su_query(merged, "SELECT count(*) FROM runs") == before, "no double counting");
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

    /* Two unsharded runs of one label: the same keys hold different runs. */
    make(twin, "lbl", "[\"t\"]", 0, 1, 77, "h2");
    const char *twins[] = {a, twin};
    CHECK(fm_store_merge(fresh, twins, 2, err, sizeof err) == FM_STORE_ECONFLICT,
          "unsharded twins: %s", err);
    CHECK(strstr(err, "lbl") != NULL && strstr(err, "shard") != NULL, "says why: %s", err);

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

int main(void)
{
    su_mkdir();
    test_shards();
    test_conflicts();
    su_rmdir();
    return fm_test_report("store_merge");
}
