/*
 * fm_stats_tie.c - does p1 q^m reach a target, decided so that rounding never gives a count
 * that is too small (docs/statistics.md sec. 2, "Ties").
 *
 * Three steps:
 *   1. In log space with a margin far above the rounding error of the logs: clearly below or
 *      clearly above the target decides at once.
 *   2. Near the target, exactly: p1, q and the target are m 2^e with integer m (the exact
 *      binary values of the doubles), so p1 q^m <= target is a comparison of integers, done
 *      with a small big-number type while the numbers stay below EXACT_BITS bits.
 *   3. A power that equals the target exactly in the decimals the user typed (each double's
 *      shortest round-trip decimal, as Python's repr gives it: 0.1^6 = 1e-6) meets it.
 * What none of these decides (near the target, too many bits, no decimal tie) counts as
 * missing: the count errs to the larger A, never to the smaller.
 */
#include "fm_stats_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- step 2: exact binary comparison ----------------------------------------------------------
 */

enum { LIMB_BITS = 10, EXACT_BITS = 8192, MAX_LIMBS = EXACT_BITS / LIMB_BITS + 8 };

/* A natural number in base 2^10, least significant limb first. */
typedef struct {
    size_t n;
    uint16_t d[MAX_LIMBS];
} bignum;

static void bn_set(bignum *a, uint64_t v)
{
    a->n = 0;
    for (; v; v >>= LIMB_BITS)
        a->d[a->n++] = (uint16_t)(v & ((1u << LIMB_BITS) - 1));
}

/* a *= v with v < 2^53 (limb 2^10 times v plus carry fits in 64 bits); false on overflow. */
static bool bn_mul(bignum *a, uint64_t v)
{
    uint64_t carry = 0;
    for (size_t i = 0; i < a->n; i++) {
        uint64_t x = (uint64_t)a->d[i] * v + carry;
        a->d[i] = (uint16_t)(x & ((1u << LIMB_BITS) - 1));
        carry = x >> LIMB_BITS;
    }
    for (; carry; carry >>= LIMB_BITS) {
        if (a->n == MAX_LIMBS)
            return false;
        a->d[a->n++] = (uint16_t)(carry & ((1u << LIMB_BITS) - 1));
    }
    return true;
}

/* a *= 2^s; false on overflow. */
static bool bn_shift(bignum *a, uint64_t s)
{
    if (!bn_mul(a, (uint64_t)1 << (s % LIMB_BITS)))
        return false;
    size_t limbs = (size_t)(s / LIMB_BITS);
    if (a->n == 0 || limbs == 0)
        return true;
    if (limbs > MAX_LIMBS - a->n)
        return false;
    memmove(a->d + limbs, a->d, a->n * sizeof a->d[0]);
    memset(a->d, 0, limbs * sizeof a->d[0]);
    a->n += limbs;
    return true;
}

static int bn_cmp(const bignum *a, const bignum *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (size_t i = a->n; i-- > 0;)
        if (a->d[i] != b->d[i])
            return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

/* x > 0 as odd mantissa * 2^exp. */
static void split(double x, uint64_t *mant, int64_t *exp)
{
    int e;
    double f = frexp(x, &e); /* x = f 2^e, f in [0.5, 1) */
    uint64_t m = (uint64_t)ldexp(f, 64 - 11);
    int64_t ex = (int64_t)e - 53;
    while ((m & 1u) == 0) {
        m >>= 1;
        ex++;
    }
    *mant = m;
    *exp = ex;
}

/* -1, 0 or 1 as p1 q^m is below, at or above target exactly; 2 when too large to decide. */
static int exact_cmp(double p1, double q, uint64_t m, double target)
{
    uint64_t mp, mq, mt;
    int64_t ep, eq, et;
    split(p1, &mp, &ep);
    split(q, &mq, &eq);
    split(target, &mt, &et);
    double bits = 64.0 + (double)m * log2((double)mq);
    if (bits > EXACT_BITS - 64)
        return 2;
    bignum *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    int result = 2;
    if (a == NULL || b == NULL)
        goto out;
    bn_set(a, mp);
    for (uint64_t i = 0; i < m && mq != 1; i++)
        if (!bn_mul(a, mq))
            goto out;
    bn_set(b, mt);
    /* a 2^(ep + m eq) against b 2^et: shift the one with the larger exponent. */
    double shift = (double)et - ((double)ep + (double)m * (double)eq);
    if (fabs(shift) > EXACT_BITS)
        result = shift > 0 ? -1 : 1; /* the sizes differ by far more than the mantissas */
    else if (shift >= 0 ? bn_shift(b, (uint64_t)shift) : bn_shift(a, (uint64_t)-shift))
        result = bn_cmp(a, b);
out:
    free(a);
    free(b);
    return result;
}

/* ---- step 3: ties in the decimals typed -------------------------------------------------------
 */

/* x > 0 as its shortest round-trip decimal mant 10^exp, mant without trailing zeros. */
static bool shortest_decimal(double x, uint64_t *mant, int *exp)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) != x)
            continue;
        uint64_t m = 0;
        int digits = 0;
        char *p = buf;
        for (; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                m = m * 10 + (uint64_t)(*p - '0'), digits++;
        int e = *p == 'e' ? atoi(p + 1) : 0;
        e -= digits - 1; /* d.ddd e E = dddd 10^(E - digits + 1) */
        while (m != 0 && m % 10 == 0)
            m /= 10, e++;
        *mant = m;
        *exp = e;
        return true;
    }
    return false;
}

static bool decimal_tie(double p1, double q, uint64_t m, double target)
{
    uint64_t mp, mq, mt;
    int ep, eq, et;
    if (!shortest_decimal(p1, &mp, &ep) || !shortest_decimal(q, &mq, &eq) ||
        !shortest_decimal(target, &mt, &et))
        return false;
    /* mp mq^m 10^(ep + m eq) = mt 10^et, the mantissas free of factors 10 on both sides. */
    if ((double)ep + (double)m * (double)eq != (double)et)
        return false;
    uint64_t prod = mp;
    for (uint64_t i = 0; i < m && mq != 1; i++) {
        if (prod > mt / mq)
            return false;
        prod *= mq;
    }
    return prod == mt;
}

/* ---- the decision ---------------------------------------------------------------------------- */

bool fm_stats_power_meets(double p1, double q, uint64_t m, double target)
{
    if (p1 == 0.0 || (q == 0.0 && m > 0))
        return true;
    if (m == 0)
        q = 1.0; /* p1 alone (q^0 = 1, also for q = 0) */
    double lp = log(p1), lq = log(q), lt = log(target);
    double diff = lp + (double)m * lq - lt;
    /* log() is within an ulp or two; 1e-13 of the magnitudes involved is far above that. */
    double margin = 1e-13 * (fabs(lp) + (double)m * fabs(lq) + fabs(lt)) + 1e-300;
    if (diff < -margin)
        return true;
    if (diff > margin)
        return false;
    int c = exact_cmp(p1, q, m, target);
    if (c <= 0)
        return true;
    return decimal_tie(p1, q, m, target);
}
