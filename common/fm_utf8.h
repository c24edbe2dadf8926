/*
 * fm_utf8.h - one UTF-8 check for every place that keeps text we did not write (the command
 * line's arguments, labels and test names in exports).  Plain C, libc only.
 */
#ifndef FM_UTF8_H
#define FM_UTF8_H

#include <stddef.h>

/*
 * The length (1..4) of the well-formed UTF-8 sequence at s, or 0 when it is none: a bad lead
 * or continuation byte, an overlong form, a surrogate or a code point above U+10FFFF.  Reads at
 * most up to the first byte that is not a continuation, so a NUL ends it.
 */
size_t fm_utf8_length(const unsigned char *s);

#endif
