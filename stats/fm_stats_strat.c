/*
 * fm_stats_strat.c - is a failure rate the same under C conditions when the runs come in
 * strata (the blocks of a sweep, each run at one time on one machine state)?  The
 * Cochran-Mantel-Haenszel family on the 2 x C x K table: the generalised CMH statistic of
 * general association, the exact conditional test for C = 2, the Mantel-Haenszel common odds
 * ratio, and the CMH correlation (trend) statistic along scores.
 *
 * Within stratum s, given its column totals t_j (runs of condition j) and its failures F, the
 * failures x_j are multivariate hypergeometric under "the conditions do not matter (within the
 * stratum)": E x_j = F t_j / N, Cov(x_i, x_j) = F (N - F) / (N^2 (N - 1)) (N t_j d_ij - t_i t_j).
 * Whatever the strata's own rates (a drifting machine), these moments hold, so the sums over
 * strata d = sum (x - E), V = sum Cov give Q = d' V^- d, chi-square with rank(V) degrees of
 * freedom (Mantel & Haenszel 1959; Landis, Heyman & Koch 1978; R's mantelhaen.test on the
 * C x 2 x K array, without continuity correction).  V is inverted through its singular value
 * decomposition, dropping singular values below 1e-10 of the largest, so a condition that ran
 * in no informative stratum costs a degree of freedom instead of failing.
 *
 * C = 2, exact: the total S = sum_s x_1s is a sum of independent hypergeometrics; its law is
 * their convolution, and the two-sided p-value is the probability of the values no more likely
 * than the observed one (relative slack 1 + 1e-7), as R's mantelhaen.test(exact = TRUE).  The
 * convolution's work (sum over strata of the support so far times the stratum's) is bounded by
 * a count: past it the exact p-value is NaN and the caller uses Q.
 *
 * Trend: with scores u_j, T = sum_s sum_j u_j (x_js - E x_js), Var T = sum_s F(N-F)/(N^2(N-1))
 * (N sum_j t_j u_j^2 - (sum_j t_j u_j)^2), z = T / sqrt(Var T) (Mantel 1963's extension; the
 * stratified Cochran-Armitage test): z > 0 when failures rise with the score.
 *
 * A stratum counts when N >= 2, 0 < F < N and at least two conditions ran in it; the others
 * have no variance and add nothing.  Sources and checks against R: docs/statistics.md sec. 7b,
 * tests/reference/strat_r.csv.
 */
#include "fm_stats_internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STRAT_REL_ERR 1e-7
#define STRAT_SV_TOL  1e-10

static double lchoose(double n, double k)
{
    return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0);
}

/* Totals of stratum s; true when it carries information. */
static bool stratum(const uint64_t *k, const uint64_t *n, size_t cols, size_t s, double *big_n,
                    double *big_f)
{
    double tn = 0, tf = 0;
    size_t with_runs = 0;
    for (size_t j = 0; j < cols; j++) {
        tn += (double)n[s * cols + j];
        tf += (double)k[s * cols + j];
        with_runs += n[s * cols + j] > 0;
    }
    *big_n = tn;
    *big_f = tf;
    return tn >= 2 && tf > 0 && tf < tn && with_runs >= 2;
}

/* Exact conditional two-sided p-value for cols == 2; NaN past max_work. */
static fm_stats_status exact2(const uint64_t *k, const uint64_t *n, size_t strata,
                              uint64_t max_work, double *p)
{
    *p = NAN;
    double *d = malloc(sizeof *d), *next = NULL;
    fm_stats_status st = FM_STATS_OK;
    if (d == NULL)
        return FM_STATS_ENOMEM;
    d[0] = 1;
    uint64_t len = 1, obs = 0, work = 0;
    for (size_t s = 0; s < strata; s++) {
        double tn, tf;
        if (!stratum(k, n, 2, s, &tn, &tf))
            continue;
        uint64_t n1 = n[2 * s], n2 = n[2 * s + 1], f = (uint64_t)tf;
        uint64_t lo = f > n2 ? f - n2 : 0, hi = f < n1 ? f : n1, m = hi - lo + 1;
        obs += k[2 * s] - lo;
        work += len * m;
        if (work > max_work)
            goto out;
        if ((next = calloc(len + m - 1, sizeof *next)) == NULL) {
            st = FM_STATS_ENOMEM;
            goto out;
        }
        double lnorm = lchoose(tn, tf);
        for (uint64_t x = 0; x < m; x++) {
            double h = exp(lchoose((double)n1, (double)(lo + x)) +
                           lchoose((double)n2, (double)(f - lo - x)) - lnorm);
            for (uint64_t y = 0; y < len; y++)
                next[x + y] += h * d[y];
        }
        free(d);
        d = next;
        next = NULL;
        len += m - 1;
    }
    double limit = d[obs] * (1 + STRAT_REL_ERR), sum = 0;
    for (uint64_t y = 0; y < len; y++)
        if (d[y] <= limit)
            sum += d[y];
    *p = sum > 1 ? 1 : sum;
out:
    free(d);
    free(next);
    return st;
}

/* Q = d' V^- d through the SVD of V (m x m); *rank the degrees of freedom. */
static fm_stats_status quad_form(gsl_matrix *v, const gsl_vector *d, double *q, size_t *rank)
{
    size_t m = v->size1;
    gsl_matrix *vt = gsl_matrix_alloc(m, m);
    gsl_vector *sv = gsl_vector_alloc(m), *work = gsl_vector_alloc(m);
    fm_stats_status st = FM_STATS_OK;
    if (vt == NULL || sv == NULL || work == NULL) {
        st = FM_STATS_ENOMEM;
        goto out;
    }
    if (gsl_linalg_SV_decomp(v, vt, sv, work) != 0) { /* v becomes U */
        st = FM_STATS_ENOCONV;
        goto out;
    }
    double smax = gsl_vector_get(sv, 0), sum = 0;
    *rank = 0;
    for (size_t i = 0; i < m; i++) {
        double s = gsl_vector_get(sv, i);
        if (!(s > STRAT_SV_TOL * smax))
            continue;
        double proj = 0;
        for (size_t r = 0; r < m; r++)
            proj += gsl_matrix_get(v, r, i) * gsl_vector_get(d, r);
        sum += proj * proj / s;
        (*rank)++;
    }
    *q = sum;
out:
    gsl_matrix_free(vt);
    gsl_vector_free(sv);
    gsl_vector_free(work);
    return st;
}

/* Mantel-Haenszel common odds ratio of failing, condition 0 against condition 1 (cols == 2). */
static double mh_odds_ratio(const uint64_t *k, const uint64_t *n, size_t strata)
{
    double num = 0, den = 0;
    for (size_t s = 0; s < strata; s++) {
        double n0 = (double)n[2 * s], n1 = (double)n[2 * s + 1], tn = n0 + n1;
        if (tn < 2 || n0 == 0 || n1 == 0)
            continue;
        double a = (double)k[2 * s], b = n0 - a, c = (double)k[2 * s + 1], dd = n1 - c;
        num += a * dd / tn;
        den += b * c / tn;
    }
    return den > 0 ? num / den : num > 0 ? INFINITY : NAN;
}

fm_stats_status fm_stats_cmh(const uint64_t *k, const uint64_t *n, size_t cols, size_t strata,
                             const double *score, uint64_t max_work, fm_stats_cmh_result *out)
{
    fm_stats_gsl_quiet();
    *out = (fm_stats_cmh_result){.p_value = 1, .exact_p = NAN, .odds_ratio = NAN, .trend_p = 1};
    if (k == NULL || n == NULL || cols < 2 || strata < 1)
        return FM_STATS_EDOM;
    for (size_t i = 0; i < cols * strata; i++)
        if (k[i] > n[i] || n[i] > (UINT64_C(1) << 53))
            return FM_STATS_EDOM;
    if (score != NULL)
        for (size_t j = 0; j < cols; j++)
            if (!isfinite(score[j]))
                return FM_STATS_EDOM;
    size_t m = cols - 1;
    gsl_matrix *v = gsl_matrix_calloc(m, m);
    gsl_vector *d = gsl_vector_calloc(m);
    fm_stats_status st = FM_STATS_OK;
    if (v == NULL || d == NULL) {
        st = FM_STATS_ENOMEM;
        goto out;
    }
    double t_sum = 0, t_var = 0;
    for (size_t s = 0; s < strata; s++) {
        double tn, tf;
        if (!stratum(k, n, cols, s, &tn, &tf))
            continue;
        out->strata_used++;
        const uint64_t *ks = k + s * cols, *ns = n + s * cols;
        double c = tf * (tn - tf) / (tn * tn * (tn - 1));
        for (size_t i = 0; i < m; i++) {
            double ti = (double)ns[i];
            *gsl_vector_ptr(d, i) += (double)ks[i] - tf * ti / tn;
            for (size_t j = 0; j < m; j++)
                *gsl_matrix_ptr(v, i, j) += c * ((i == j ? tn * ti : 0) - ti * (double)ns[j]);
        }
        if (score != NULL) {
            double su = 0, su2 = 0;
            for (size_t j = 0; j < cols; j++) {
                double tj = (double)ns[j];
                t_sum += score[j] * ((double)ks[j] - tf * tj / tn);
                su += tj * score[j];
                su2 += tj * score[j] * score[j];
            }
            t_var += c * (tn * su2 - su * su);
        }
    }
    if (out->strata_used == 0) {
        out->exact_p = cols == 2 ? 1 : NAN;
        goto out;
    }
    size_t rank = 0;
    if ((st = quad_form(v, d, &out->statistic, &rank)) != FM_STATS_OK)
        goto out;
    out->df = (double)rank;
    out->p_value = rank > 0 ? gsl_cdf_chisq_Q(out->statistic, out->df) : 1;
    if (score != NULL && t_var > 0) {
        out->have_trend = true;
        out->trend_z = t_sum / sqrt(t_var);
        out->trend_p = 2 * gsl_cdf_ugaussian_Q(fabs(out->trend_z));
        if (out->trend_p > 1)
            out->trend_p = 1;
    }
    if (cols == 2) {
        out->odds_ratio = mh_odds_ratio(k, n, strata);
        st = exact2(k, n, strata, max_work, &out->exact_p);
    }
out:
    gsl_matrix_free(v);
    gsl_vector_free(d);
    return st;
}
