/*
 * fm_fingerprint.h - what a campaign ran, so that continuing it (`run --resume`) can refuse
 * when the executable changed: the path it resolves to through PATH (as execvp finds it), its
 * size and mtime, and its identity, the GNU build id of an ELF file that has one, else the
 * SHA-256 of its bytes.  Stored with the campaign (campaigns.fingerprint, docs/store.md).
 */
#ifndef FM_FINGERPRINT_H
#define FM_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The fingerprint of the program name would run (a path, or looked up in PATH), as a compact
 * JSON object {"path":..,"size":..,"mtime_ns":..,"build_id":".."} or with "sha256" in place of
 * build_id; {} when it cannot be found (or may be run but not read).  malloc'd (free()); NULL,
 * with errno, when this machine failed to tell: no memory, no descriptor, a read error.
 */
char *fm_fingerprint(const char *name);

/*
 * Same executable?  Compared by build id when both have one, else by SHA-256, else by size and
 * mtime; a fingerprint without any of these ("{}", a campaign stored before schema 3) compares
 * equal.  When different, why holds one line ("build id 1a2b... is now 3c4d...").
 */
bool fm_fingerprint_same(const char *stored, const char *now, char *why, size_t why_size);

#endif
