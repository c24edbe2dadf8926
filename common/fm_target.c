/*
 * fm_target.c - how to write a file the user named (fm_target.h).
 *
 * lstat says what the name is, stat what it leads to.  A regular file (or none) is replaced
 * atomically by a temporary file made with mkstemp in the same folder (the folder of the file a
 * link names, so the link survives); anything else that can be written is written directly,
 * opened without O_CREAT or O_TRUNC and checked again with fstat after the open.
 */
#include "fm_target.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static fm_target_status fail(fm_target_status st, char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static fm_target_status fail(fm_target_status st, char *err, size_t size, const char *fmt, ...)
{
    if (err != NULL && size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return st;
}

static const char *kind_name(mode_t mode)
{
    return S_ISCHR(mode)    ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISDIR(mode)  ? "a directory"
                            : "not a regular file";
}

/* A temporary file beside t->final with the given permission bits. */
static fm_target_status make_temp(fm_target *t, mode_t mode, const struct stat *old, char *err,
                                  size_t size)
{
    size_t len = strlen(t->final) + sizeof ".tmp-XXXXXX";
    t->temp = malloc(len);
    if (t->temp == NULL)
        return fail(FM_TARGET_ENOMEM, err, size, "out of memory");
    snprintf(t->temp, len, "%s.tmp-XXXXXX", t->final);
    t->fd = mkostemp(t->temp, O_CLOEXEC);
    int e = errno;
    if (t->fd >= 0 && fchmod(t->fd, mode) != 0)
        e = errno, close(t->fd), unlink(t->temp), t->fd = -1;
    if (t->fd >= 0 && old != NULL && fchown(t->fd, old->st_uid, old->st_gid) != 0) {
        /* not root: the file is ours, as any file we create */
    }
    if (t->fd >= 0)
        return FM_TARGET_OK;
    free(t->temp);
    t->temp = NULL;
    /* A folder that does not exist or cannot be written: the path given is wrong. */
    bool input = e == ENOENT || e == ENOTDIR || e == EACCES || e == EROFS || e == ENAMETOOLONG;
    return fail(input ? FM_TARGET_EINVAL : FM_TARGET_EIO, err, size,
                "cannot create a file beside '%s': %s", t->final, strerror(e));
}

/* A device, FIFO or terminal: opened as it is, never created or truncated. */
static fm_target_status open_direct(fm_target *t, const char *path, char *err, size_t size)
{
    t->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (t->fd < 0)
        return fail(errno == EACCES || errno == ENXIO ? FM_TARGET_EINVAL : FM_TARGET_EIO, err, size,
                    "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(t->fd, &sb) != 0 || S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))
        return fail(FM_TARGET_EINVAL, err, size, "'%s' changed while it was opened", path);
    return FM_TARGET_OK;
}

static fm_target_status open_target(fm_target *t, const char *path, unsigned flags, char *err,
                                    size_t err_size)
{
    struct stat lsb, sb;
    mode_t mask = umask(0); /* umask can only be read by setting it: set it back at once */
    umask(mask);
    if (lstat(path, &lsb) != 0) {
        if (errno != ENOENT)
            return fail(errno == ENOTDIR || errno == EACCES || errno == ENAMETOOLONG
                            ? FM_TARGET_EINVAL
                            : FM_TARGET_EIO,
                        err, err_size, "cannot examine '%s': %s", path, strerror(errno));
        t->final = strdup(path);
        return t->final == NULL ? fail(FM_TARGET_ENOMEM, err, err_size, "out of memory")
                                : make_temp(t, 0666 & ~mask, NULL, err, err_size);
    }
    if (stat(path, &sb) != 0)
        return fail(FM_TARGET_EINVAL, err, err_size,
                    "'%s' is a symbolic link that leads nowhere (%s); not following it", path,
                    strerror(errno));
    if (S_ISREG(sb.st_mode)) {
        t->final = S_ISLNK(lsb.st_mode) ? realpath(path, NULL) : strdup(path);
        if (t->final == NULL)
            return fail(errno == ENOMEM ? FM_TARGET_ENOMEM : FM_TARGET_EINVAL, err, err_size,
                        "cannot resolve '%s': %s", path, strerror(errno));
        return make_temp(t, sb.st_mode & 07777, &sb, err, err_size);
    }
    if (S_ISDIR(sb.st_mode) || S_ISSOCK(sb.st_mode) || (flags & FM_TARGET_REGULAR))
        return fail(FM_TARGET_EINVAL, err, err_size, "'%s' is %s%s", path, kind_name(sb.st_mode),
                    S_ISDIR(sb.st_mode) || S_ISSOCK(sb.st_mode)
                        ? ", not a file"
                        : "; only a regular file (or a new one) will do");
    t->final = strdup(path);
    if (t->final == NULL)
        return fail(FM_TARGET_ENOMEM, err, err_size, "out of memory");
    return open_direct(t, path, err, err_size);
}

fm_target_status fm_target_open(fm_target *t, const char *path, unsigned flags, char *err,
                                size_t err_size)
{
    *t = (fm_target){.fd = -1};
    fm_target_status st = open_target(t, path, flags, err, err_size);
    if (st != FM_TARGET_OK)
        fm_target_discard(t);
    return st;
}

const char *fm_target_path(const fm_target *t)
{
    return t->temp != NULL ? t->temp : t->final;
}

static void sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

fm_target_status fm_target_commit(fm_target *t, char *err, size_t err_size)
{
    fm_target_status st = FM_TARGET_OK;
    if (t->fd >= 0 && close(t->fd) != 0)
        st = fail(FM_TARGET_EIO, err, err_size, "cannot write '%s': %s", t->final, strerror(errno));
    t->fd = -1;
    if (st == FM_TARGET_OK && t->temp != NULL) {
        if (rename(t->temp, t->final) != 0)
            st = fail(FM_TARGET_EIO, err, err_size, "cannot rename a file over '%s': %s", t->final,
                      strerror(errno));
        else
            sync_dir_of(t->final);
    }
    if (st != FM_TARGET_OK && t->temp != NULL)
        unlink(t->temp);
    free(t->temp);
    free(t->final);
    *t = (fm_target){.fd = -1};
    return st;
}

void fm_target_discard(fm_target *t)
{
    if (t->fd >= 0)
        close(t->fd);
    if (t->temp != NULL)
        unlink(t->temp);
    free(t->temp);
    free(t->final);
    *t = (fm_target){.fd = -1};
}
