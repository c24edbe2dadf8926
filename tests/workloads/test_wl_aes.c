/*
 * test_wl_aes.c - the AES behind stress_aes: known answers, implementations agree, and the
 * keystream keeps upstream's position quirk.
 *
 * Provenance of the vectors: FIPS-197 Appendix B (cipher example) and Appendix C.1-C.3
 * (example vectors for 128/192/256-bit keys), Appendix A.1/A.3 (last word of the expanded
 * key); the zero-key AES-256 block dc95c078a2408989ad48a21492842087 is the known answer named
 * in the issue (NIST SP 800-38A style zero test, also what stress_aes's first block is).
 * Exact comparisons: AES has no tolerance.
 */
#include "fm_test.h"
#include "fm_wl_internal.h"

#include <string.h>

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static int equals_hex(const uint8_t *got, const char *hex, size_t n)
{
    uint8_t want[64];
    from_hex(hex, want, n);
    return memcmp(got, want, n) == 0;
}

static void test_fips197_vectors(void)
{
    static const struct {
        const char *key, *plain, *cipher;
        size_t key_bytes;
    } v[] = {
        {"2b7e151628aed2a6abf7158809cf4f3c", "3243f6a8885a308d313198a2e0370734",
         "3925841d02dc09fbdc118597196a0b32", 16},
        {"000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff",
         "69c4e0d86a7b0430d8cdb78070b4c55a", 16},
        {"000102030405060708090a0b0c0d0e0f1011121314151617", "00112233445566778899aabbccddeeff",
         "dda97ca4864cdfe06eaf70a0ec0d7191", 24},
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         "00112233445566778899aabbccddeeff", "8ea2b7ca516745bfeafc49904b496089", 32},
        {"0000000000000000000000000000000000000000000000000000000000000000",
         "00000000000000000000000000000000", "dc95c078a2408989ad48a21492842087", 32},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct fm_wl_aes_soft aes;
        uint8_t key[32], block[16];
        from_hex(v[i].key, key, v[i].key_bytes);
        from_hex(v[i].plain, block, 16);
        CHECK(fm_wl_aes_soft_set_key(&aes, key, v[i].key_bytes) == FM_WL_OK, "vector %zu", i);
        fm_wl_aes_soft_encrypt(&aes, block, block);
        CHECK(equals_hex(block, v[i].cipher, 16), "portable AES, vector %zu", i);
    }
}

static void test_key_expansion(void)
{
    struct fm_wl_aes_soft aes;
    uint8_t key[32];
    from_hex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    fm_wl_aes_soft_set_key(&aes, key, 16);
    CHECK(aes.nr == 10 && equals_hex(aes.w + 4 * 43, "b6630ca6", 4), "FIPS-197 A.1 w[43]");
    from_hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", key, 32);
    fm_wl_aes_soft_set_key(&aes, key, 32);
    CHECK(aes.nr == 14 && equals_hex(aes.w + 4 * 59, "706c631e", 4), "FIPS-197 A.3 w[59]");
    CHECK(fm_wl_aes_soft_set_key(&aes, key, 20) == FM_WL_ERANGE, "20-byte key refused");
}

/* Both implementations through the workload's interface: zero vector and seeded blocks. */
static void test_implementations_agree(void)
{
    if (!fm_wl_have_openssl()) {
        printf("libfmwl built without OpenSSL: portable AES only\n");
        return;
    }
    struct fm_wl_aes soft, ossl;
    CHECK(fm_wl_aes_init(&soft, FM_WL_AES_PORTABLE) == FM_WL_OK, "init portable");
    CHECK(fm_wl_aes_init(&ossl, FM_WL_AES_OPENSSL) == FM_WL_OK, "init openssl");
    uint8_t key[32] = {0}, a[16] = {0}, b[16] = {0};
    fm_wl_aes_set_key(&ossl, key);
    CHECK(fm_wl_aes_encrypt(&ossl, a, b) == FM_WL_OK, "openssl encrypt");
    CHECK(equals_hex(b, "dc95c078a2408989ad48a21492842087", 16), "OpenSSL zero-key vector");
    /* 500 keys and blocks from a fixed seed: deterministic, so not flaky. */
    int mismatches = 0;
    for (uint64_t i = 1; i <= 500; i++) {
        fm_wl_fill(key, 32, 0xae5 + i, 1);
        fm_wl_fill(a, 16, 0xae5 + i, 2);
        fm_wl_aes_set_key(&soft, key);
        fm_wl_aes_set_key(&ossl, key);
        fm_wl_aes_encrypt(&soft, a, b);
        fm_wl_aes_encrypt(&ossl, a, a);
        mismatches += memcmp(a, b, 16) != 0;
    }
    CHECK(mismatches == 0, "%d of 500 seeded blocks differ between portable and OpenSSL",
          mismatches);
    fm_wl_aes_free(&soft);
    fm_wl_aes_free(&ossl);
}

/* b[k] = E^k(0) for k = 1..n under the zero key: the OFB keystream blocks. */
static void chain(uint8_t b[][16], int n)
{
    struct fm_wl_aes_soft aes;
    uint8_t key[32] = {0}, s[16] = {0};
    fm_wl_aes_soft_set_key(&aes, key, 32);
    for (int k = 1; k <= n; k++) {
        fm_wl_aes_soft_encrypt(&aes, s, s);
        memcpy(b[k], s, 16);
    }
}

static void test_keystream_quirk(enum fm_wl_aes_impl impl)
{
    uint8_t key[32] = {0}, iv[16] = {0}, data[128] = {0}, b[16][16];
    uint64_t blocks;
    chain(b, 15);
    /* One call after set_iv: 8 fresh blocks, chunk j is b[j+1]. */
    CHECK(fm_wl_keystream_pass(impl, key, iv, data, 128, 1, &blocks) == FM_WL_OK, "pass");
    CHECK(blocks == 8, "first call generates 8 blocks, got %llu", (unsigned long long)blocks);
    for (int j = 0; j < 8; j++)
        CHECK(memcmp(data + 16 * j, b[j + 1], 16) == 0, "impl %d call 1 chunk %d", impl, j);
    /* Two calls: the second call's first chunk reuses b[8], then b[9..15]. */
    memset(data, 0, sizeof data);
    fm_wl_keystream_pass(impl, key, iv, data, 128, 2, &blocks);
    CHECK(blocks == 15, "two calls generate 15 blocks, got %llu", (unsigned long long)blocks);
    for (int j = 0; j < 8; j++) {
        uint8_t want[16];
        for (int i = 0; i < 16; i++)
            want[i] = b[j + 1][i] ^ (j == 0 ? b[8][i] : b[8 + j][i]);
        CHECK(memcmp(data + 16 * j, want, 16) == 0, "impl %d call 2 chunk %d", impl, j);
    }
    /* Upstream's loop: 8 calls = 57 blocks; a second pass decrypts back to zeros. */
    memset(data, 0, sizeof data);
    uint64_t enc, dec;
    fm_wl_keystream_pass(impl, key, iv, data, 128, 8, &enc);
    fm_wl_keystream_pass(impl, key, iv, data, 128, 8, &dec);
    uint8_t zero[128] = {0};
    CHECK(enc + dec == 114, "114 blocks per loop, got %llu", (unsigned long long)(enc + dec));
    CHECK(memcmp(data, zero, 128) == 0, "impl %d: decrypting restores the zeros", impl);
}

int main(void)
{
    test_fips197_vectors();
    test_key_expansion();
    test_implementations_agree();
    test_keystream_quirk(FM_WL_AES_PORTABLE);
    if (fm_wl_have_openssl())
        test_keystream_quirk(FM_WL_AES_OPENSSL);
    return fm_test_report("test_wl_aes");
}
