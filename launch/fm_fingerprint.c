/*
 * fm_fingerprint.c - the executable's identity for a campaign (fm_fingerprint.h).  The build id
 * is read from the ELF notes (PT_NOTE segments, NT_GNU_BUILD_ID of owner "GNU") of a 32- or
 * 64-bit ELF file of either byte order; a file without one (a script, a binary built without
 * --build-id) is hashed with SHA-256 (OpenSSL EVP).  libcrypto is loaded with dlopen (by its
 * soname, FM_RUN_LIBCRYPTO) only then, so a runner whose command has a build id (and every
 * built-in workload: /proc/self/exe) never maps it (issue 19); where it cannot be loaded the
 * fingerprint has no hash and fm_fingerprint_same compares size and modification time.
 */
#include "fm_fingerprint.h"
#include "fm_run_internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t rd32(const unsigned char *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static uint64_t rd64(const unsigned char *p, bool le)
{
    return le ? (uint64_t)rd32(p, le) | (uint64_t)rd32(p + 4, le) << 32
              : (uint64_t)rd32(p + 4, le) | (uint64_t)rd32(p, le) << 32;
}

static uint16_t rd16(const unsigned char *p, bool le)
{
    return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[1] | p[0] << 8);
}

/* Scan one note area for NT_GNU_BUILD_ID; hex into out (>= 129 bytes). */
static bool find_build_id(const unsigned char *n, size_t size, bool le, char *out)
{
    size_t off = 0;
    while (off + 12 <= size) {
        uint32_t namesz = rd32(n + off, le), descsz = rd32(n + off + 4, le),
                 type = rd32(n + off + 8, le);
        size_t name_off = off + 12, desc_off = name_off + ((namesz + 3u) & ~3u);
        size_t next = desc_off + ((descsz + 3u) & ~3u);
        if (desc_off > size || next > size || next <= off)
            return false;
        if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(n + name_off, "GNU", 4) == 0 &&
            descsz > 0 && descsz <= 64) {
            for (uint32_t i = 0; i < descsz; i++)
                snprintf(out + 2 * i, 3, "%02x", n[desc_off + i]);
            return true;
        }
        off = next;
    }
    return false;
}

/* 1: the build id is in out; 0: the file has none; -1: it could not be read (errno). */
static int elf_build_id(int fd, char *out)
{
    unsigned char h[64];
    ssize_t got = pread(fd, h, sizeof h, 0);
    if (got < 0)
        return -1;
    if (got != (ssize_t)sizeof h || memcmp(h, ELFMAG, SELFMAG) != 0)
        return 0;
    bool is64 = h[EI_CLASS] == ELFCLASS64, le = h[EI_DATA] == ELFDATA2LSB;
    uint64_t phoff = is64 ? rd64(h + 32, le) : rd32(h + 28, le);
    uint16_t phentsize = rd16(h + (is64 ? 54 : 42), le), phnum = rd16(h + (is64 ? 56 : 44), le);
    if (phentsize < (is64 ? 56 : 32) || phnum > 512)
        return 0;
    for (uint16_t i = 0; i < phnum; i++) {
        unsigned char ph[64];
        got = pread(fd, ph, phentsize < sizeof ph ? phentsize : sizeof ph,
                    (off_t)(phoff + (uint64_t)i * phentsize));
        if (got < 0)
            return -1;
        if (got < (is64 ? 56 : 32))
            return 0;
        if (rd32(ph, le) != PT_NOTE)
            continue;
        uint64_t off = is64 ? rd64(ph + 8, le) : rd32(ph + 4, le);
        uint64_t size = is64 ? rd64(ph + 32, le) : rd32(ph + 16, le);
        if (size == 0 || size > 1 << 20)
            continue;
        unsigned char *notes = malloc(size);
        if (notes == NULL)
            return -1;
        got = pread(fd, notes, size, (off_t)off);
        int found = got < 0 ? -1 : got == (ssize_t)size && find_build_id(notes, size, le, out);
        int e = errno;
        free(notes);
        errno = e;
        if (found != 0)
            return found;
    }
    return 0;
}

static struct {
    __typeof__(&EVP_MD_CTX_new) ctx_new;
    __typeof__(&EVP_MD_CTX_free) ctx_free;
    __typeof__(&EVP_sha256) sha256;
    __typeof__(&EVP_DigestInit_ex) init;
    __typeof__(&EVP_DigestUpdate) update;
    __typeof__(&EVP_DigestFinal_ex) final;
} evp;
static bool evp_ok;
static pthread_once_t evp_once = PTHREAD_ONCE_INIT;

static void evp_load(void)
{
    void *h = dlopen(FM_RUN_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);
    static const char *const names[] = {"EVP_MD_CTX_new",   "EVP_MD_CTX_free",
                                        "EVP_sha256",       "EVP_DigestInit_ex",
                                        "EVP_DigestUpdate", "EVP_DigestFinal_ex"};
    void *f[6];
    for (int i = 0; i < 6; i++)
        if (h == NULL || (f[i] = dlsym(h, names[i])) == NULL)
            return;
    memcpy(&evp.ctx_new, &f[0], sizeof f[0]);
    memcpy(&evp.ctx_free, &f[1], sizeof f[1]);
    memcpy(&evp.sha256, &f[2], sizeof f[2]);
    memcpy(&evp.init, &f[3], sizeof f[3]);
    memcpy(&evp.update, &f[4], sizeof f[4]);
    memcpy(&evp.final, &f[5], sizeof f[5]);
    evp_ok = true;
}

/* false: the file could not be read, no memory, or no libcrypto (errno). */
static bool sha256_fd(int fd, char *out)
{
    pthread_once(&evp_once, evp_load);
    if (!evp_ok) {
        errno = ELIBACC; /* libcrypto could not be loaded */
        return false;
    }
    EVP_MD_CTX *ctx = evp.ctx_new();
    bool ok = ctx != NULL && evp.init(ctx, evp.sha256(), NULL) == 1;
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    off_t off = 0;
    ssize_t n = 0;
    if (!ok)
        errno = ENOMEM;
    while (ok && (n = pread(fd, buf, sizeof buf, off)) > 0) {
        ok = evp.update(ctx, buf, (size_t)n) == 1;
        off += n;
    }
    int e = n < 0 ? errno : ENOMEM;
    ok = ok && n == 0 && evp.final(ctx, md, &len) == 1;
    if (ctx)
        evp.ctx_free(ctx);
    for (unsigned int i = 0; ok && i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    if (!ok)
        errno = e;
    return ok;
}

/* Set key to a new value; false (errno ENOMEM) when either could not be made. */
static bool set(json_t *o, const char *key, json_t *value)
{
    if (value != NULL && json_object_set_new(o, key, value) == 0)
        return true;
    errno = ENOMEM;
    return false;
}

/* The file cannot be opened for a reason of this machine, not of the file. */
static bool machine_error(int e)
{
    return e == EMFILE || e == ENFILE || e == ENOMEM || e == EIO || e == EAGAIN || e == EINTR;
}

char *fm_fingerprint(const char *name)
{
    char path[4096];
    json_t *o = json_object();
    if (o == NULL)
        return errno = ENOMEM, NULL;
    int fd = -1;
    bool ok = true;
    struct stat sb;
    if (fm_run_which(name, path, sizeof path) == 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ok = fd >= 0 ? fstat(fd, &sb) == 0 : !machine_error(errno);
    }
    if (ok && fd >= 0) {
        char id[160] = "";
        int build = -1;
        ok = set(o, "path", json_string(path)) &&
             set(o, "size", json_integer((json_int_t)sb.st_size)) &&
             set(o, "mtime_ns",
                 json_integer((json_int_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec)) &&
             (build = elf_build_id(fd, id)) >= 0;
        if (ok && build == 1)
            ok = set(o, "build_id", json_string(id));
        else if (ok)
            ok = sha256_fd(fd, id) && set(o, "sha256", json_string(id));
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    char *text = ok ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (ok && text == NULL)
        e = ENOMEM;
    json_decref(o);
    errno = e;
    return text;
}

static const char *str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

bool fm_fingerprint_same(const char *stored, const char *now, char *why, size_t why_size)
{
    json_t *a = json_loads(stored != NULL ? stored : "{}", 0, NULL);
    json_t *b = json_loads(now != NULL ? now : "{}", 0, NULL);
    bool same = true;
    const char *keys[2] = {"build_id", "sha256"}, *names[2] = {"build id", "SHA-256"};
    bool compared = false;
    for (int i = 0; i < 2 && !compared; i++) {
        const char *x = str_of(a, keys[i]), *y = str_of(b, keys[i]);
        if (x == NULL || y == NULL)
            continue;
        compared = true;
        if (strcmp(x, y) != 0) {
            same = false;
            snprintf(why, why_size, "its %s %.16s... is now %.16s...", names[i], x, y);
        }
    }
    json_t *sx = json_object_get(a, "size"), *sy = json_object_get(b, "size");
    json_t *mx = json_object_get(a, "mtime_ns"), *my = json_object_get(b, "mtime_ns");
    if (!compared && sx && sy && mx && my &&
        (json_integer_value(sx) != json_integer_value(sy) ||
         json_integer_value(mx) != json_integer_value(my))) {
        same = false;
        snprintf(why, why_size, "its size or modification time changed");
    }
    if (!compared && same && (str_of(a, "path") != NULL) != (str_of(b, "path") != NULL)) {
        same = false; /* found once, not the other time */
        snprintf(why, why_size, "%s",
                 str_of(a, "path") ? "it is no longer found" : "it was not found before");
    }
    json_decref(a);
    json_decref(b);
    return same;
}
