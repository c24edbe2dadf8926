/*
 * fuzz_util.h - small helpers shared by the libFuzzer harnesses (fuzz/README.md).
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The input as a NUL-terminated string (a NUL inside ends it early, as in argv). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* The input in an anonymous file, at offset 0; -1 on failure. */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Split the input at NUL bytes into at most max words (argv-like, NULL-terminated).  The words
 * point into *buf, which the caller frees. */
static inline int fuzz_words(const uint8_t *data, size_t size, char **buf, char **words, int max)
{
    *buf = malloc(size + 1);
    if (*buf == NULL)
        return 0;
    memcpy(*buf, data, size);
    (*buf)[size] = '\0';
    int n = 0;
    for (size_t i = 0; i <= size && n < max;) {
        words[n++] = *buf + i;
        i += strlen(*buf + i) + 1;
    }
    words[n] = NULL;
    return n;
}

#endif
