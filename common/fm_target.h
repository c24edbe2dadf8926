/*
 * fm_target.h - how to write a file the user named, never replacing what is not ours.
 *
 * Shared by libfmstore (merge -o), libfmplot (--plot) and the CLI (export -o): a tiny pure-C
 * library (libfmcommon) that includes nothing else of ours, so every folder may use it
 * (docs/design.md, "Writing a named file").  The rule:
 *
 *  - missing, or a regular file: a temporary file beside it, renamed over it when complete
 *    (a new file gets 0666 & ~umask, a replaced one keeps its mode);
 *  - a symbolic link to a regular file: written through, the temporary file beside the file
 *    it names; the link is left in place;
 *  - a device, FIFO or terminal (also through a link, e.g. /dev/stdout): written directly,
 *    never created, truncated or replaced -- unless FM_TARGET_REGULAR (an SQLite store);
 *  - a directory, a socket, a dangling or looping link: refused (FM_TARGET_EINVAL).
 */
#ifndef FM_TARGET_H
#define FM_TARGET_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    FM_TARGET_OK = 0,
    FM_TARGET_EINVAL, /* the target cannot be written safely, or its folder does not exist */
    FM_TARGET_EIO,    /* the system failed (no space, a failed rename) */
    FM_TARGET_ENOMEM,
} fm_target_status;

/* fm_target_open flags */
#define FM_TARGET_REGULAR 1u /* only a regular file will do: refuse devices, FIFOs, terminals */

typedef struct {
    char *final; /* the file the data ends in: the path, or the regular file its link names */
    char *temp;  /* the temporary file beside final, or NULL: final is written directly */
    int fd;      /* open for writing on temp (or on final when temp is NULL); -1 once closed */
} fm_target;

/* Decide how to write path and open it (t->fd); one line of detail in err on failure. */
fm_target_status fm_target_open(fm_target *t, const char *path, unsigned flags, char *err,
                                size_t err_size);
/* The name to write by (for a program or SQLite that opens by name): temp, else final. */
const char *fm_target_path(const fm_target *t);
/* Close fd if still open, rename the temporary file over final, sync the folder; frees t. */
fm_target_status fm_target_commit(fm_target *t, char *err, size_t err_size);
/* Close fd if still open and remove the temporary file (final is left as it was); frees t. */
void fm_target_discard(fm_target *t);

#endif
