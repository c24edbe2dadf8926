/*
 * fm_wl_aes.c - the AES block cipher behind stress_aes, in two implementations.
 *
 * The portable one is written from FIPS-197 (Advanced Encryption Standard, NIST 2001/2023):
 * the state is 16 bytes in column order (s[r + 4c]); a round is SubBytes, ShiftRows,
 * MixColumns (left out of the last round) and AddRoundKey; the key schedule of section 5.2
 * expands an Nk-word key to 4 (Nr + 1) words.  The S-box is computed once from its definition
 * (multiplicative inverse in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, then the affine map with
 * constant 0x63) rather than typed in, so the tests' FIPS-197 vectors check it too.
 *
 * The other one is OpenSSL's EVP AES-256-ECB on single blocks, without padding, when libfmwl
 * is built with libcrypto (FM_WL_HAVE_OPENSSL).  Both are deterministic and keep no shared
 * mutable state once the S-box exists, so any number of threads may use their own contexts.
 *
 * A native build does not link libcrypto: it is loaded with dlopen (FM_WL_LIBCRYPTO, its soname)
 * the first time impl=openssl is asked for, so that fm-stress and flakemeter start without
 * mapping it (an exec'd fm-stress paid about 30 % of its start for libcrypto, issue 19).  The
 * static cross builds (tools/cross/) link it as before.  The six EVP functions are called
 * through one table either way.
 */
#include "fm_wl_internal.h"

#include <pthread.h>
#include <string.h>

#ifdef FM_WL_HAVE_OPENSSL
#include <openssl/evp.h>
#ifdef FM_WL_LIBCRYPTO
#include <dlfcn.h>
#endif

static struct {
    __typeof__(&EVP_CIPHER_CTX_new) ctx_new;
    __typeof__(&EVP_CIPHER_CTX_free) ctx_free;
    __typeof__(&EVP_aes_256_ecb) aes_256_ecb;
    __typeof__(&EVP_EncryptInit_ex) init;
    __typeof__(&EVP_CIPHER_CTX_set_padding) set_padding;
    __typeof__(&EVP_EncryptUpdate) update;
} evp;
static bool evp_ok;
static pthread_once_t evp_once = PTHREAD_ONCE_INIT;

static void evp_load(void)
{
#ifdef FM_WL_LIBCRYPTO
    void *h = dlopen(FM_WL_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return;
    static const char *const names[] = {
        "EVP_CIPHER_CTX_new", "EVP_CIPHER_CTX_free",        "EVP_aes_256_ecb",
        "EVP_EncryptInit_ex", "EVP_CIPHER_CTX_set_padding", "EVP_EncryptUpdate"};
    void *f[6];
    for (int i = 0; i < 6; i++)
        if ((f[i] = dlsym(h, names[i])) == NULL)
            return;
    memcpy(&evp.ctx_new, &f[0], sizeof f[0]);
    memcpy(&evp.ctx_free, &f[1], sizeof f[1]);
    memcpy(&evp.aes_256_ecb, &f[2], sizeof f[2]);
    memcpy(&evp.init, &f[3], sizeof f[3]);
    memcpy(&evp.set_padding, &f[4], sizeof f[4]);
    memcpy(&evp.update, &f[5], sizeof f[5]);
#else
    evp.ctx_new = EVP_CIPHER_CTX_new;
    evp.ctx_free = EVP_CIPHER_CTX_free;
    evp.aes_256_ecb = EVP_aes_256_ecb;
    evp.init = EVP_EncryptInit_ex;
    evp.set_padding = EVP_CIPHER_CTX_set_padding;
    evp.update = EVP_EncryptUpdate;
#endif
    evp_ok = true;
}

/* libcrypto's EVP functions are there (loaded now if they were not). */
static bool evp_ready(void)
{
    pthread_once(&evp_once, evp_load);
    return evp_ok;
}
#endif

static uint8_t sbox[256];
static pthread_once_t sbox_once = PTHREAD_ONCE_INIT;

/* Multiply by x (i.e. 0x02) in GF(2^8). */
static uint8_t xtime(uint8_t a)
{
    return (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0x00));
}

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
    uint8_t p = 0;
    while (b) {
        if (b & 1)
            p ^= a;
        a = xtime(a);
        b >>= 1;
    }
    return p;
}

/* a^254 = a^-1 for a != 0, and 0 for 0 (FIPS-197 section 5.1.1). */
static uint8_t gf_inverse(uint8_t a)
{
    uint8_t result = 1, base = a;
    for (unsigned e = 254; e; e >>= 1) {
        if (e & 1)
            result = gf_mul(result, base);
        base = gf_mul(base, base);
    }
    return a ? result : 0;
}

static uint8_t rotl8(uint8_t x, unsigned n)
{
    return (uint8_t)((x << n) | (x >> (8 - n)));
}

static void build_sbox(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint8_t b = gf_inverse((uint8_t)i);
        sbox[i] = b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ 0x63;
    }
}

static void sub_bytes(uint8_t s[16])
{
    for (int i = 0; i < 16; i++)
        s[i] = sbox[s[i]];
}

/* Row r moves r columns to the left. */
static void shift_rows(uint8_t s[16])
{
    uint8_t t[16];
    for (int c = 0; c < 4; c++)
        for (int r = 0; r < 4; r++)
            t[r + 4 * c] = s[r + 4 * ((c + r) % 4)];
    memcpy(s, t, 16);
}

static void mix_columns(uint8_t s[16])
{
    for (int c = 0; c < 4; c++) {
        uint8_t *a = s + 4 * c;
        uint8_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        uint8_t all = a0 ^ a1 ^ a2 ^ a3;
        /* 2a0 ^ 3a1 ^ a2 ^ a3 == a0 ^ all ^ 2(a0 ^ a1), and so on round the column. */
        a[0] = a0 ^ all ^ xtime(a0 ^ a1);
        a[1] = a1 ^ all ^ xtime(a1 ^ a2);
        a[2] = a2 ^ all ^ xtime(a2 ^ a3);
        a[3] = a3 ^ all ^ xtime(a3 ^ a0);
    }
}

static void add_round_key(uint8_t s[16], const uint8_t *k)
{
    for (int i = 0; i < 16; i++)
        s[i] ^= k[i];
}

int fm_wl_aes_soft_set_key(struct fm_wl_aes_soft *aes, const uint8_t *key, size_t key_bytes)
{
    if (key_bytes != 16 && key_bytes != 24 && key_bytes != 32)
        return FM_WL_ERANGE;
    pthread_once(&sbox_once, build_sbox);
    int nk = (int)key_bytes / 4;
    aes->nr = nk + 6;
    int words = 4 * (aes->nr + 1);
    memcpy(aes->w, key, key_bytes);
    uint8_t rcon = 0x01;
    for (int i = nk; i < words; i++) {
        uint8_t t[4];
        memcpy(t, aes->w + 4 * (i - 1), 4);
        if (i % nk == 0) {
            uint8_t t0 = t[0]; /* RotWord, SubWord, then Rcon */
            t[0] = sbox[t[1]] ^ rcon;
            t[1] = sbox[t[2]];
            t[2] = sbox[t[3]];
            t[3] = sbox[t0];
            rcon = xtime(rcon);
        } else if (nk > 6 && i % nk == 4) {
            for (int j = 0; j < 4; j++)
                t[j] = sbox[t[j]];
        }
        for (int j = 0; j < 4; j++)
            aes->w[4 * i + j] = aes->w[4 * (i - nk) + j] ^ t[j];
    }
    return FM_WL_OK;
}

void fm_wl_aes_soft_encrypt(const struct fm_wl_aes_soft *aes, const uint8_t in[16], uint8_t out[16])
{
    uint8_t s[16];
    memcpy(s, in, 16);
    add_round_key(s, aes->w);
    for (int round = 1; round < aes->nr; round++) {
        sub_bytes(s);
        shift_rows(s);
        mix_columns(s);
        add_round_key(s, aes->w + 16 * round);
    }
    sub_bytes(s);
    shift_rows(s);
    add_round_key(s, aes->w + 16 * aes->nr);
    memcpy(out, s, 16);
}

int fm_wl_aes_init(struct fm_wl_aes *aes, enum fm_wl_aes_impl impl)
{
    memset(aes, 0, sizeof *aes);
    aes->impl = impl;
    if (impl == FM_WL_AES_PORTABLE)
        return FM_WL_OK;
#ifdef FM_WL_HAVE_OPENSSL
    if (!evp_ready())
        return FM_WL_ECRYPTO;
    aes->evp = evp.ctx_new();
    return aes->evp ? FM_WL_OK : FM_WL_ENOMEM;
#else
    return FM_WL_ECRYPTO;
#endif
}

int fm_wl_aes_set_key(struct fm_wl_aes *aes, const uint8_t key[32])
{
    if (aes->impl == FM_WL_AES_PORTABLE)
        return fm_wl_aes_soft_set_key(&aes->soft, key, 32);
#ifdef FM_WL_HAVE_OPENSSL
    EVP_CIPHER_CTX *ctx = aes->evp;
    if (evp.init(ctx, evp.aes_256_ecb(), NULL, key, NULL) != 1 || evp.set_padding(ctx, 0) != 1)
        return FM_WL_ECRYPTO;
    return FM_WL_OK;
#else
    return FM_WL_ECRYPTO;
#endif
}

int fm_wl_aes_encrypt(struct fm_wl_aes *aes, const uint8_t in[16], uint8_t out[16])
{
    if (aes->impl == FM_WL_AES_PORTABLE) {
        fm_wl_aes_soft_encrypt(&aes->soft, in, out);
        return FM_WL_OK;
    }
#ifdef FM_WL_HAVE_OPENSSL
    uint8_t tmp[16];
    int len = 0;
    if (evp.update(aes->evp, tmp, &len, in, 16) != 1 || len != 16)
        return FM_WL_ECRYPTO;
    memcpy(out, tmp, 16);
    return FM_WL_OK;
#else
    return FM_WL_ECRYPTO;
#endif
}

void fm_wl_aes_free(struct fm_wl_aes *aes)
{
#ifdef FM_WL_HAVE_OPENSSL
    if (aes->evp)
        evp.ctx_free(aes->evp);
#endif
    aes->evp = NULL;
}

bool fm_wl_have_openssl(void)
{
#ifdef FM_WL_HAVE_OPENSSL
    return evp_ready();
#else
    return false;
#endif
}
