/*
 * fm_wl_atb.c - a first-fit allocation table in the shape of MicroPython's garbage-collected
 * heap, for stress_aes's contention=on scan=N (issue 18).
 *
 * Why: the coverage build of MicroPython spends about 90 % of its native CPU time in gc_alloc's
 * search of the allocation table (perf, docs/workloads.md, stress_aes): sys.settrace makes every
 * call allocate a frame of several blocks, the heap is full of one-block holes, and each such
 * allocation walks the table byte by byte from the first free block looking for a long enough
 * run.  That loop (one byte load, four two-bit tests, a counter) has direct branches only, so
 * qemu-user runs it with far less overhead relative to native than the interpreter's indirect
 * jumps and calls: it is what sets the coverage build's emulated/native CPU ratio.
 *
 * The table: 2 bits per block, 4 blocks per byte, 0 = free (upstream: also head 1, tail 2).
 * It starts with `prefix` bytes of fragmented entries (seeded; no run of free blocks is as long
 * as a frame, and the last entry is used), followed by the frames' area: `frames` slots of
 * `frame_blocks` blocks each, starting on a byte boundary, with any entries past the area
 * marked used.  fm_wl_atb_take searches from block 0 for the first run of frame_blocks free
 * blocks, so it always visits the whole prefix, then the frames' area up to the first free
 * slot; it marks the run used (head, then tails) and returns its first block.  Since every
 * frame has the same size and the area's runs start at multiples of frame_blocks, the area
 * never fragments: a take fails only when all `frames` slots are held.  Not thread-safe: the
 * caller holds its lock, as gc_alloc holds the GC mutex.
 */
#include "fm_wl_internal.h"

#include <stdlib.h>

#define ATB_FREE 0u
#define ATB_HEAD 1u
#define ATB_TAIL 2u

static unsigned atb_get(const struct fm_wl_atb *t, size_t block)
{
    return (t->table[block / 4] >> (2 * (block % 4))) & 3u;
}

static void atb_set(struct fm_wl_atb *t, size_t block, unsigned kind)
{
    unsigned shift = 2 * (block % 4);
    t->table[block / 4] = (uint8_t)((t->table[block / 4] & ~(3u << shift)) | (kind << shift));
}

int fm_wl_atb_init(struct fm_wl_atb *t, size_t prefix, size_t frames, size_t frame_blocks,
                   uint64_t seed)
{
    if (frames == 0 || frame_blocks == 0)
        return FM_WL_ERANGE;
    size_t area = frames * frame_blocks;
    t->prefix = prefix;
    t->frames = frames;
    t->frame_blocks = frame_blocks;
    t->len = prefix + (area + 3) / 4;
    t->table = calloc(t->len, 1);
    if (t->table == NULL)
        return FM_WL_ENOMEM;
    /* The fragmented prefix: each entry free with probability 1/64 (the coverage build's heap
       during stress_aes.py: 1.5 % of the blocks before the free space, mostly one-block holes
       between two-block objects), unless that would make a run of frame_blocks free entries;
       used entries are heads or tails at random. */
    struct fm_wl_rng rng;
    fm_wl_rng_seed(&rng, seed, 4);
    size_t run = 0;
    for (size_t b = 0; b < 4 * prefix; b++) {
        uint64_t r = fm_wl_rng_next(&rng);
        if ((r & 63) == 0 && run + 1 < frame_blocks && b + 1 < 4 * prefix) {
            run++; /* stays free */
            continue;
        }
        run = 0;
        atb_set(t, b, (r & 64) ? ATB_TAIL : ATB_HEAD);
    }
    for (size_t b = 4 * prefix + area; b < 4 * t->len; b++)
        atb_set(t, b, ATB_HEAD);
    return FM_WL_OK;
}

size_t fm_wl_atb_take(struct fm_wl_atb *t, size_t *scanned)
{
    const uint8_t *table = t->table;
    size_t need = t->frame_blocks, n_free = 0, i, block = SIZE_MAX;
    for (i = 0; i < t->len; i++) {
        uint8_t a = table[i];
        /* The four entries of the byte, as gc_alloc tests them. */
        if ((a & 0x03) == 0) {
            if (++n_free >= need) {
                block = 4 * i + 0;
                break;
            }
        } else {
            n_free = 0;
        }
        if ((a & 0x0c) == 0) {
            if (++n_free >= need) {
                block = 4 * i + 1;
                break;
            }
        } else {
            n_free = 0;
        }
        if ((a & 0x30) == 0) {
            if (++n_free >= need) {
                block = 4 * i + 2;
                break;
            }
        } else {
            n_free = 0;
        }
        if ((a & 0xc0) == 0) {
            if (++n_free >= need) {
                block = 4 * i + 3;
                break;
            }
        } else {
            n_free = 0;
        }
    }
    *scanned = i < t->len ? i + 1 : t->len;
    if (block == SIZE_MAX)
        return SIZE_MAX;
    block -= need - 1;
    atb_set(t, block, ATB_HEAD);
    for (size_t b = block + 1; b < block + need; b++)
        atb_set(t, b, ATB_TAIL);
    return block;
}

void fm_wl_atb_give(struct fm_wl_atb *t, size_t block)
{
    for (size_t b = block; b < block + t->frame_blocks; b++)
        atb_set(t, b, ATB_FREE);
}

size_t fm_wl_atb_slot(const struct fm_wl_atb *t, size_t block)
{
    return (block - 4 * t->prefix) / t->frame_blocks;
}

int fm_wl_atb_is_free(const struct fm_wl_atb *t, size_t block)
{
    return atb_get(t, block) == ATB_FREE;
}

void fm_wl_atb_free(struct fm_wl_atb *t)
{
    free(t->table);
    t->table = NULL;
}
