/*
 * fm_wl_internal.h - what the workload files of libfmwl share and do not export.
 *
 * Seeded generators (fm_wl_rng.c), the two AES block implementations (fm_wl_aes.c), small
 * helpers for results and timing (fm_wl_registry.c), and the descriptors the registry lists.
 * Tests may include this header: the symbols are hidden from a shared build, not from a link
 * against the static library.
 */
#ifndef FM_WL_INTERNAL_H
#define FM_WL_INTERNAL_H

#include "fm_wl.h"

#include <stdarg.h>
#include <stdint.h>

/* ---- seeded generators (fm_wl_rng.c) ---- */

/* SplitMix64's finaliser: a bijection on 64-bit words with good avalanche. */
uint64_t fm_wl_mix64(uint64_t x);
/* Counter-based draw: a pure function of (key, a, b); the same inputs give the same word. */
uint64_t fm_wl_hash3(uint64_t key, uint64_t a, uint64_t b);
/* A 64-bit word as a uniform double in [0, 1) with 53 bits. */
double fm_wl_unit(uint64_t x);

/* A sequential SplitMix64 stream (not thread-safe: one per thread). */
struct fm_wl_rng {
    uint64_t state;
};
void fm_wl_rng_seed(struct fm_wl_rng *rng, uint64_t seed, uint64_t stream);
uint64_t fm_wl_rng_next(struct fm_wl_rng *rng);
/* Uniform in [0, n) for n >= 1 (rejection sampling, no modulo bias). */
uint64_t fm_wl_rng_below(struct fm_wl_rng *rng, uint64_t n);
/* Fill buf from the stream; seed 0 fills zeros (the upstream inputs). */
void fm_wl_fill(uint8_t *buf, size_t n, uint64_t seed, uint64_t stream);

/* ---- AES block cipher (fm_wl_aes.c) ---- */

/* Portable AES from FIPS-197, any of the three key sizes. */
struct fm_wl_aes_soft {
    uint8_t w[240]; /* expanded key, 16 * (nr + 1) bytes */
    int nr;         /* rounds: 10, 12 or 14 */
};
/* key_bytes is 16, 24 or 32; returns FM_WL_OK or FM_WL_ERANGE. */
int fm_wl_aes_soft_set_key(struct fm_wl_aes_soft *aes, const uint8_t *key, size_t key_bytes);
void fm_wl_aes_soft_encrypt(const struct fm_wl_aes_soft *aes, const uint8_t in[16],
                            uint8_t out[16]);

enum fm_wl_aes_impl { FM_WL_AES_PORTABLE = 0, FM_WL_AES_OPENSSL = 1 };

/* One AES-256 block encryptor of either implementation. */
struct fm_wl_aes {
    enum fm_wl_aes_impl impl;
    struct fm_wl_aes_soft soft;
    void *evp; /* EVP_CIPHER_CTX * when impl is OpenSSL */
};
int fm_wl_aes_init(struct fm_wl_aes *aes, enum fm_wl_aes_impl impl);
int fm_wl_aes_set_key(struct fm_wl_aes *aes, const uint8_t key[32]);
/* Encrypt one block (in and out may alias); returns FM_WL_OK or FM_WL_ECRYPTO. */
int fm_wl_aes_encrypt(struct fm_wl_aes *aes, const uint8_t in[16], uint8_t out[16]);
void fm_wl_aes_free(struct fm_wl_aes *aes);

/*
 * stress_aes's keystream (fm_wl_stress_aes.c): set key and IV, then apply the keystream to
 * data `applies` times with upstream's position quirk; *blocks counts block operations.
 */
int fm_wl_keystream_pass(enum fm_wl_aes_impl impl, const uint8_t key[32], const uint8_t iv[16],
                         uint8_t *data, size_t len, long applies, uint64_t *blocks);

/*
 * stress_aes's first-fit allocation table for contention=on scan=N (fm_wl_atb.c): `prefix` bytes
 * of fragmented entries, then `frames` slots of `frame_blocks` blocks.  take searches from the
 * start for a free slot, marks it and returns its first block (SIZE_MAX when every slot is
 * held), *scanned = table bytes visited; give frees it; slot maps a block to its slot index.
 */
struct fm_wl_atb {
    uint8_t *table;
    size_t len, prefix, frames, frame_blocks;
};
int fm_wl_atb_init(struct fm_wl_atb *t, size_t prefix, size_t frames, size_t frame_blocks,
                   uint64_t seed);
size_t fm_wl_atb_take(struct fm_wl_atb *t, size_t *scanned);
void fm_wl_atb_give(struct fm_wl_atb *t, size_t block);
size_t fm_wl_atb_slot(const struct fm_wl_atb *t, size_t block);
int fm_wl_atb_is_free(const struct fm_wl_atb *t, size_t block);
void fm_wl_atb_free(struct fm_wl_atb *t);

/* slow's drawn duration in nanoseconds for these args (fm_wl_slow.c). */
uint64_t fm_wl_slow_draw_ns(const struct fm_wl_args *args);

/* ---- helpers (fm_wl_registry.c) ---- */

/* Mark res failed with a printf-style one-line reason. */
void fm_wl_fail(struct fm_wl_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Monotonic clock in nanoseconds. */
uint64_t fm_wl_now_ns(void);
/* Sleep for ns nanoseconds (restarts after signals). */
void fm_wl_sleep_ns(uint64_t ns);
/* A thread stack size raised to PTHREAD_STACK_MIN, as the unix port does. */
size_t fm_wl_clamp_stack(size_t size);
/* Argument by key as an integer / size. */
long fm_wl_int(const struct fm_wl_args *args, const char *key);

/*
 * Default thread stack of MicroPython's unix port: 32 KiB, x 2 on 64-bit, x 2 more on non-Thumb
 * ARM, x 4 under sanitizers.  A constant expression, so parameter tables can use it.
 */
#if defined(__arm__) && !defined(__thumb__)
#define FM_WL_ARM_FACTOR 2
#else
#define FM_WL_ARM_FACTOR 1
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FM_WL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FM_WL_SANITIZED 1
#endif
#endif
#ifdef FM_WL_SANITIZED
#define FM_WL_SAN_FACTOR 4
#else
#define FM_WL_SAN_FACTOR 1
#endif
#define FM_WL_UPSTREAM_STACK                                                                       \
    (32768 * (__SIZEOF_POINTER__ == 8 ? 2 : 1) * FM_WL_ARM_FACTOR * FM_WL_SAN_FACTOR)

/*
 * ThreadSanitizer keeps about 0.8 MB of per-thread state in static TLS, and glibc carves static
 * TLS out of the requested stack size; under TSan stress_recurse adds this allowance to both its
 * default stack and its default margin, so the limit still leaves upstream's 8 KiB of room.
 */
#if defined(__SANITIZE_THREAD__)
#define FM_WL_TSAN_TLS (1 << 20)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FM_WL_TSAN_TLS (1 << 20)
#endif
#endif
#ifndef FM_WL_TSAN_TLS
#define FM_WL_TSAN_TLS 0
#endif

/* ---- workload descriptors (one file each) ---- */

extern const struct fm_wl_desc fm_wl_stress_aes_desc;
extern const struct fm_wl_desc fm_wl_stress_recurse_desc;
extern const struct fm_wl_desc fm_wl_stress_schedule_desc;
extern const struct fm_wl_desc fm_wl_stress_heap_desc;
extern const struct fm_wl_desc fm_wl_stress_create_desc;
extern const struct fm_wl_desc fm_wl_mutate_desc;
extern const struct fm_wl_desc fm_wl_gc_race_desc;
extern const struct fm_wl_desc fm_wl_bernoulli_desc;
extern const struct fm_wl_desc fm_wl_slow_fail_desc;
extern const struct fm_wl_desc fm_wl_markov_desc;
extern const struct fm_wl_desc fm_wl_race_desc;
extern const struct fm_wl_desc fm_wl_slow_desc;

/* Parameter table helper: number of entries of a static array. */
#define FM_WL_N(a) (sizeof(a) / sizeof((a)[0]))

#endif
