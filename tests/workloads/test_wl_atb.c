/*
 * test_wl_atb.c - stress_aes's first-fit allocation table (contention=on scan=N, issue 18):
 * its layout, that a take searches exactly the prefix plus the frames' area up to the first
 * free slot, and that take agrees with a block-by-block reference search over seeded
 * sequences of takes and gives.
 *
 * The reference (first_fit below) walks blocks one at a time through fm_wl_atb_is_free, not
 * bytes four entries at a time as the table does; the expected counts are exact arithmetic.
 * Fixed seeds: nothing here is random between runs.
 */
#include "fm_test.h"
#include "fm_wl_internal.h"

#include <string.h>

/* The first block of the first run of `need` free blocks, or SIZE_MAX. */
static size_t first_fit(const struct fm_wl_atb *t, size_t need)
{
    size_t run = 0;
    for (size_t b = 0; b < 4 * t->len; b++) {
        run = fm_wl_atb_is_free(t, b) ? run + 1 : 0;
        if (run == need)
            return b + 1 - need;
    }
    return SIZE_MAX;
}

static void test_layout(size_t prefix, size_t frames, size_t blocks, uint64_t seed)
{
    struct fm_wl_atb t;
    CHECK(fm_wl_atb_init(&t, prefix, frames, blocks, seed) == FM_WL_OK, "init");
    CHECK(t.len == prefix + (frames * blocks + 3) / 4, "length %zu", t.len);
    size_t run = 0, longest = 0, n_free = 0;
    for (size_t b = 0; b < 4 * prefix; b++) {
        run = fm_wl_atb_is_free(&t, b) ? run + 1 : 0;
        n_free += run > 0;
        longest = run > longest ? run : longest;
    }
    CHECK(longest < blocks, "prefix free run %zu < a frame's %zu blocks", longest, blocks);
    CHECK(prefix == 0 || !fm_wl_atb_is_free(&t, 4 * prefix - 1), "last prefix entry used");
    if (blocks > 1 && prefix >= 4096) {
        /* About 1/64 of the entries free: 4 * prefix / 64 expected, binomial sd < 1/8 of it
           at prefix >= 4096; the seed is fixed, so this is a check of the generator. */
        double want = 4.0 * (double)prefix / 64.0;
        CHECK(n_free > 0.75 * want && n_free < 1.25 * want, "free entries %zu, expected ~%.0f",
              n_free, want);
    }
    if (blocks == 1)
        CHECK(n_free == 0, "one-block frames: no holes in the prefix, got %zu", n_free);
    for (size_t b = 4 * prefix; b < 4 * prefix + frames * blocks; b++)
        CHECK(fm_wl_atb_is_free(&t, b), "frame area block %zu free at start", b);
    for (size_t b = 4 * prefix + frames * blocks; b < 4 * t.len; b++)
        CHECK(!fm_wl_atb_is_free(&t, b), "entry %zu past the area is used", b);
    fm_wl_atb_free(&t);
}

/* Taking every slot in turn: slot k, searching the prefix and the area up to its last block. */
static void test_take_all(size_t prefix, size_t frames, size_t blocks)
{
    struct fm_wl_atb t;
    CHECK(fm_wl_atb_init(&t, prefix, frames, blocks, 7) == FM_WL_OK, "init");
    uint8_t *before = malloc(prefix + 1);
    memcpy(before, t.table, prefix);
    for (size_t k = 0; k < frames; k++) {
        size_t scanned = 0, block = fm_wl_atb_take(&t, &scanned);
        size_t want = 4 * prefix + k * blocks;
        CHECK(block == want, "take %zu: block %zu, expected %zu", k, block, want);
        CHECK(fm_wl_atb_slot(&t, block) == k, "take %zu: slot", k);
        size_t want_scanned = (want + blocks - 1) / 4 + 1;
        CHECK(scanned == want_scanned, "take %zu: searched %zu bytes, expected %zu", k, scanned,
              want_scanned);
        CHECK(scanned > prefix, "take %zu: the whole prefix searched", k);
    }
    size_t scanned = 0;
    CHECK(fm_wl_atb_take(&t, &scanned) == SIZE_MAX, "all %zu slots held: no frame", frames);
    CHECK(scanned == t.len, "a failed take searches the whole table: %zu of %zu", scanned, t.len);
    CHECK(memcmp(before, t.table, prefix) == 0, "the prefix is never written");
    free(before);
    fm_wl_atb_free(&t);
}

/* Seeded takes and gives, as the arena does them with several threads: take agrees with the
   block-by-block reference, the area never fragments (slots start at multiples of a frame). */
static void test_against_reference(size_t prefix, size_t frames, size_t blocks, uint64_t seed)
{
    struct fm_wl_atb t;
    CHECK(fm_wl_atb_init(&t, prefix, frames, blocks, seed) == FM_WL_OK, "init");
    size_t held[64], n_held = 0, bad = 0;
    struct fm_wl_rng rng;
    fm_wl_rng_seed(&rng, seed, 99);
    for (int step = 0; step < 5000; step++) {
        if (n_held > 0 && (n_held == frames || fm_wl_rng_below(&rng, 2) == 0)) {
            size_t j = (size_t)fm_wl_rng_below(&rng, n_held);
            fm_wl_atb_give(&t, held[j]);
            held[j] = held[--n_held];
            continue;
        }
        size_t want = first_fit(&t, blocks), scanned = 0;
        size_t got = fm_wl_atb_take(&t, &scanned);
        bad += got != want || got == SIZE_MAX || (got - 4 * prefix) % blocks != 0 ||
               scanned != (got + blocks - 1) / 4 + 1;
        if (got != SIZE_MAX)
            held[n_held++] = got;
    }
    CHECK(bad == 0, "prefix %zu, %zu x %zu blocks: %zu takes disagree with the reference", prefix,
          frames, blocks, bad);
    fm_wl_atb_free(&t);
}

int main(void)
{
    CHECK(fm_wl_atb_init(&(struct fm_wl_atb){0}, 8, 0, 4, 1) == FM_WL_ERANGE, "no frames");
    test_layout(8192, 6, 4, 0);
    test_layout(4096, 6, 3, 5);
    test_layout(4096, 6, 1, 5);
    test_layout(0, 5, 5, 1);
    test_take_all(8192, 6, 4);
    test_take_all(100, 7, 3);
    test_take_all(0, 4, 1);
    test_against_reference(512, 6, 4, 11);
    test_against_reference(300, 9, 3, 12);
    test_against_reference(64, 12, 5, 13);
    test_against_reference(64, 8, 1, 14);
    return fm_test_report("test_wl_atb");
}
