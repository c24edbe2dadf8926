/*
 * fm_wl_rng.c - the seeded generators every workload draws its inputs from.
 *
 * Two shapes.  A counter-based draw, fm_wl_hash3(key, a, b), is a pure function of its inputs:
 * the calibration workloads use it so that the outcome of run i with a given seed never depends
 * on what ran before.  A sequential SplitMix64 stream fills buffers and shuffles orders.
 *
 * Invariant: seed 0 means "the upstream inputs" for the ports; fm_wl_fill() then gives zeros.
 * Source: Steele, Lea, Flood, "Fast splittable pseudorandom number generators" (OOPSLA 2014)
 * for SplitMix64 and its finaliser (constants from that paper and Stafford's mix13).
 */
#include "fm_wl_internal.h"

#include <string.h>

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL

uint64_t fm_wl_mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t fm_wl_hash3(uint64_t key, uint64_t a, uint64_t b)
{
    /* Each step is a bijection of the running word, keyed by the next input. */
    uint64_t x = fm_wl_mix64(key + GOLDEN_GAMMA);
    x = fm_wl_mix64(x ^ (a * GOLDEN_GAMMA + 1));
    x = fm_wl_mix64(x ^ (b * 0xd1b54a32d192ed03ULL + 2));
    return x;
}

double fm_wl_unit(uint64_t x)
{
    return (double)(x >> 11) * 0x1.0p-53;
}

void fm_wl_rng_seed(struct fm_wl_rng *rng, uint64_t seed, uint64_t stream)
{
    rng->state = fm_wl_hash3(seed, stream, 0x5eed);
}

uint64_t fm_wl_rng_next(struct fm_wl_rng *rng)
{
    rng->state += GOLDEN_GAMMA;
    return fm_wl_mix64(rng->state);
}

uint64_t fm_wl_rng_below(struct fm_wl_rng *rng, uint64_t n)
{
    /* Reject the top partial copy of [0, n) so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = fm_wl_rng_next(rng);
    while (x >= limit);
    return x % n;
}

void fm_wl_fill(uint8_t *buf, size_t n, uint64_t seed, uint64_t stream)
{
    if (seed == 0) {
        memset(buf, 0, n);
        return;
    }
    struct fm_wl_rng rng;
    fm_wl_rng_seed(&rng, seed, stream);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = fm_wl_rng_next(&rng);
        for (size_t j = 0; j < 8 && i + j < n; j++)
            buf[i + j] = (uint8_t)(x >> (8 * j));
    }
}
