/* AVX-512 CSR SpMM rows: per row, a register block of up to 4 zmm (64
 * features) accumulates the row's nonzeros; the feature tail is masked.
 * Rows of x for upcoming nonzeros of the column window are prefetched (they
 * are random gathers). */
#include "../graph-internal.h"

#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE inline __attribute__((always_inline))

/* Features [c, c + 16 * nv) of rows [r0, r1); the last vector uses mask m. */
static INLINE AVX512 void block_rows(const struct gsq__spmm_args *a, int64_t r0,
                                     int64_t r1, int64_t c, int nv, __mmask16 m) {
    const int64_t *rp = a->row_ptr;
    const int32_t *col = a->col_idx;
    const float *val = a->values, *x = a->x + c;
    const int64_t ldx = a->ldx, pf = a->prefetch, pf_end = rp[r1] - pf;
    const int32_t col_lo = a->col_lo, col_hi = a->col_hi;
    const __m512 alpha = _mm512_set1_ps(a->alpha), beta = _mm512_set1_ps(a->beta);
    for (int64_t i = r0; i < r1; i++) {
        __m512 acc[4];
        for (int v = 0; v < nv; v++) acc[v] = _mm512_setzero_ps();
        int64_t j0 = rp[i], j1 = rp[i + 1];
        if (a->windowed) {
            j0 = gsq__lower_col(col, j0, j1, col_lo);
            j1 = gsq__lower_col(col, j0, j1, col_hi);
        }
        for (int64_t j = j0; j < j1; j++) {
            if (j < pf_end) { /* out-of-window rows: re-touch a window row */
                int32_t cp = col[j + pf];
                cp = cp >= col_lo && cp < col_hi ? cp : col_lo;
                const char *p = (const char *)(x + cp * ldx);
                for (int v = 0; v < nv; v++) _mm_prefetch(p + 64 * v, _MM_HINT_T0);
            }
            const __m512 w = _mm512_set1_ps(val ? val[j] : 1.0f);
            const float *xr = x + col[j] * ldx;
            for (int v = 0; v < nv - 1; v++)
                acc[v] = _mm512_fmadd_ps(w, _mm512_loadu_ps(xr + 16 * v), acc[v]);
            acc[nv - 1] = _mm512_fmadd_ps(
                w, _mm512_maskz_loadu_ps(m, xr + 16 * (nv - 1)), acc[nv - 1]);
        }
        float *y = a->y + i * a->ldy + c;
        if (a->beta == 0) {
            for (int v = 0; v < nv; v++) acc[v] = _mm512_mul_ps(alpha, acc[v]);
        } else {
            const float *z = a->z + i * a->ldz + c;
            for (int v = 0; v < nv - 1; v++)
                acc[v] = _mm512_fmadd_ps(beta, _mm512_loadu_ps(z + 16 * v),
                                         _mm512_mul_ps(alpha, acc[v]));
            acc[nv - 1] = _mm512_fmadd_ps(
                beta, _mm512_maskz_loadu_ps(m, z + 16 * (nv - 1)),
                _mm512_mul_ps(alpha, acc[nv - 1]));
        }
        if (a->stream && m == 0xFFFF && ((uintptr_t)y & 63) == 0) {
            for (int v = 0; v < nv; v++) _mm512_stream_ps(y + 16 * v, acc[v]);
        } else {
            for (int v = 0; v < nv - 1; v++) _mm512_storeu_ps(y + 16 * v, acc[v]);
            _mm512_mask_storeu_ps(y + 16 * (nv - 1), m, acc[nv - 1]);
        }
        if (a->y2) {
            float *y2 = a->y2 + i * a->ldy2 + c;
            for (int v = 0; v < nv - 1; v++) _mm512_storeu_ps(y2 + 16 * v, acc[v]);
            _mm512_mask_storeu_ps(y2 + 16 * (nv - 1), m, acc[nv - 1]);
        }
    }
}

AVX512 void gsq__spmm_rows_avx512(const struct gsq__spmm_args *a, int64_t r0,
                                  int64_t r1) {
    for (int64_t c = 0; c < a->nfeat; c += GSQ_SPMM_BLOCK) {
        int64_t w = a->nfeat - c < GSQ_SPMM_BLOCK ? a->nfeat - c : GSQ_SPMM_BLOCK;
        int nv = (int)((w + 15) / 16);
        __mmask16 m = (__mmask16)((1u << (w - 16 * (nv - 1))) - 1);
        switch (nv) {
        case 1: block_rows(a, r0, r1, c, 1, m); break;
        case 2: block_rows(a, r0, r1, c, 2, m); break;
        case 3: block_rows(a, r0, r1, c, 3, m); break;
        default: block_rows(a, r0, r1, c, 4, m); break;
        }
    }
    if (a->stream) _mm_sfence(); /* order streamed rows before any barrier */
}
