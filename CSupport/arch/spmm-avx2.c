/* AVX2 CSR SpMM rows: per row, a register block of up to 8 ymm (64 features)
 * accumulates the row's nonzeros; the feature tail uses maskload/maskstore.
 * Rows of x for upcoming nonzeros of the column window are prefetched (they
 * are random gathers). */
#include "../graph-internal.h"

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE inline __attribute__((always_inline))

/* Features [c, c + 8 * nv) of rows [r0, r1); the last vector uses mask m. */
static INLINE AVX2 void block_rows(const struct gsq__spmm_args *a, int64_t r0,
                                   int64_t r1, int64_t c, int nv, __m256i m,
                                   bool full) {
    const int64_t *rp = a->row_ptr;
    const int32_t *col = a->col_idx;
    const float *val = a->values, *x = a->x + c;
    const int64_t ldx = a->ldx, pf = a->prefetch, pf_end = rp[r1] - pf;
    const int32_t col_lo = a->col_lo, col_hi = a->col_hi;
    const __m256 alpha = _mm256_set1_ps(a->alpha), beta = _mm256_set1_ps(a->beta);
    for (int64_t i = r0; i < r1; i++) {
        __m256 acc[8];
        for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
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
                for (int v = 0; v < nv; v += 2) _mm_prefetch(p + 32 * v, _MM_HINT_T0);
            }
            const __m256 w = _mm256_set1_ps(val ? val[j] : 1.0f);
            const float *xr = x + col[j] * ldx;
            for (int v = 0; v < nv - 1; v++)
                acc[v] = _mm256_fmadd_ps(w, _mm256_loadu_ps(xr + 8 * v), acc[v]);
            acc[nv - 1] = _mm256_fmadd_ps(
                w, _mm256_maskload_ps(xr + 8 * (nv - 1), m), acc[nv - 1]);
        }
        float *y = a->y + i * a->ldy + c;
        if (a->beta == 0) {
            for (int v = 0; v < nv; v++) acc[v] = _mm256_mul_ps(alpha, acc[v]);
        } else {
            const float *z = a->z + i * a->ldz + c;
            for (int v = 0; v < nv - 1; v++)
                acc[v] = _mm256_fmadd_ps(beta, _mm256_loadu_ps(z + 8 * v),
                                         _mm256_mul_ps(alpha, acc[v]));
            acc[nv - 1] = _mm256_fmadd_ps(
                beta, _mm256_maskload_ps(z + 8 * (nv - 1), m),
                _mm256_mul_ps(alpha, acc[nv - 1]));
        }
        if (a->stream && full && ((uintptr_t)y & 31) == 0) {
            for (int v = 0; v < nv; v++) _mm256_stream_ps(y + 8 * v, acc[v]);
        } else {
            for (int v = 0; v < nv - 1; v++) _mm256_storeu_ps(y + 8 * v, acc[v]);
            _mm256_maskstore_ps(y + 8 * (nv - 1), m, acc[nv - 1]);
        }
        if (a->y2) {
            float *y2 = a->y2 + i * a->ldy2 + c;
            for (int v = 0; v < nv - 1; v++) _mm256_storeu_ps(y2 + 8 * v, acc[v]);
            _mm256_maskstore_ps(y2 + 8 * (nv - 1), m, acc[nv - 1]);
        }
    }
}

AVX2 void gsq__spmm_rows_avx2(const struct gsq__spmm_args *a, int64_t r0,
                              int64_t r1) {
    for (int64_t c = 0; c < a->nfeat; c += GSQ_SPMM_BLOCK) {
        int64_t w = a->nfeat - c < GSQ_SPMM_BLOCK ? a->nfeat - c : GSQ_SPMM_BLOCK;
        int nv = (int)((w + 7) / 8);
        __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(w - 8 * (nv - 1))),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const bool full = w % 8 == 0;
        switch (nv) {
        case 1: block_rows(a, r0, r1, c, 1, m, full); break;
        case 2: block_rows(a, r0, r1, c, 2, m, full); break;
        case 3: block_rows(a, r0, r1, c, 3, m, full); break;
        case 4: block_rows(a, r0, r1, c, 4, m, full); break;
        case 5: block_rows(a, r0, r1, c, 5, m, full); break;
        case 6: block_rows(a, r0, r1, c, 6, m, full); break;
        case 7: block_rows(a, r0, r1, c, 7, m, full); break;
        default: block_rows(a, r0, r1, c, 8, m, full); break;
        }
    }
    if (a->stream) _mm_sfence(); /* order streamed rows before any barrier */
}
