/*
 * fm_grow.h - the one way an array of ours grows: capacities double from a first size, and a
 * failed growth leaves the array and its capacity as they were (the caller reports out of
 * memory; what it holds is still freed by its owner).  Header only, libc only.
 *
 * One array:           if (!fm_grow(&v, &cap, n + 1, sizeof *v, 64)) fail;
 * Parallel arrays of one capacity: each grows to the same new capacity, and the shared capacity
 * is set only when all did:
 *     size_t c = fm_grow_cap(cap, 256);
 *     if (!fm_grow_to(&a, c, sizeof *a) || !fm_grow_to(&b, c, sizeof *b)) fail;
 *     cap = c;
 * An array that grew while another failed is larger than cap says: harmless, as realloc keeps
 * its items.
 */
#ifndef FM_GROW_H
#define FM_GROW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next capacity after cap: first when empty, else twice (held at SIZE_MAX). */
static inline size_t fm_grow_cap(size_t cap, size_t first)
{
    return cap == 0 ? first : cap > SIZE_MAX / 2 ? SIZE_MAX : 2 * cap;
}

/* Resize the array *pp (pp: the address of any object pointer) to n items of elem bytes. */
static inline bool fm_grow_to(void *pp, size_t n, size_t elem)
{
    void *old, *p;
    if (elem != 0 && n > SIZE_MAX / elem)
        return false;
    memcpy(&old, pp, sizeof old);
    if ((p = realloc(old, n * elem)) == NULL)
        return false;
    memcpy(pp, &p, sizeof p);
    return true;
}

/* Make room for need items in *pp of capacity *cap, doubling from first. */
static inline bool fm_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return true;
    size_t c = fm_grow_cap(*cap, first);
    while (c < need && c < SIZE_MAX)
        c = fm_grow_cap(c, first);
    if (c < need || !fm_grow_to(pp, c, elem))
        return false;
    *cap = c;
    return true;
}

#endif
