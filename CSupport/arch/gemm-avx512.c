/* AVX-512 SGEMM microkernels (14 x 32, its 14 x 16 half, and the edge kernel
 * that stores partial-width tiles in place) and the transposing packer. Per
 * k step the 14 x 32 kernel loads two B vectors and broadcasts 14 A values
 * (16 loads) to feed 28 FMAs into 28 zmm accumulators, so the two FMA pipes,
 * not the load ports, set the pace. */
#include "gemm-kernels.h"

#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

enum { MR = 14, NR = 32 };

/* One k step: acc[i][v] += a[i * lda] * b[16v .. 16v+16). */
static inline __attribute__((always_inline)) TARGET void
step(int nv, int rows, __m512 acc[MR][2], const float *a, int64_t lda, const float *b) {
    __m512 bv[2];
    for (int v = 0; v < nv; v++) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma unroll
    for (int i = 0; i < rows; i++) {
        const __m512 ai = _mm512_set1_ps(a[i * lda]);
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
}

/* The kernel body for the first `rows` rows (MR for a full tile) of a
 * 14 x (16 * nv) tile of a packed B panel NR wide; nv = 1 serves tiles with
 * at most 16 valid columns at half the cost. The k range is `nseg` segments
 * in order; element (i, p) of segment s is at seg[s].a[i * seg[s].lda + p *
 * ka]: a packed micro-panel (lda = 1, ka = MR), or A's own rows read in place
 * (ka = 1). The last C vector of a row is
 * masked to `last` (all lanes for a full tile), so an edge tile is stored in
 * place: masked-off lanes and rows past `rows` are neither read nor
 * written, and fewer rows cost proportionally less. */
static inline __attribute__((always_inline)) TARGET void
kernel_rows(int nv, int rows, __mmask16 last, int64_t ka, int nseg, const gsq__sgemm_segment *seg,
       float alpha, const float *b, float beta, float *c, int64_t ldc,
       const char *const *prefetch, int n_prefetch) {
    enum { STEP = GSQ_SGEMM_PREFETCH_STEP };
    __m512 acc[MR][2];
#pragma unroll
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma unroll
    for (int i = 0; i < rows; i++) { /* C is needed only at the end: fetch it now */
        for (int x = 0; x < 16 * nv; x += 16)
            _mm_prefetch((const char *)(c + i * ldc + x), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 16 * nv - 1), _MM_HINT_T0);
    }
    for (int g = 0, q = 0; g < nseg; g++) {
        const float *a = seg[g].a;
        const int64_t lda = seg[g].lda, kc = seg[g].kc;
        int64_t p = 0;
        for (; p + STEP <= kc; p += STEP) {
            if (q < n_prefetch) _mm_prefetch(prefetch[q++], _MM_HINT_T1);
#pragma unroll
            for (int s = 0; s < STEP; s++) step(nv, rows, acc, a + s * ka, lda, b + s * NR);
            a += STEP * ka;
            b += STEP * NR;
        }
        for (; p < kc; p++, a += ka, b += NR) step(nv, rows, acc, a, lda, b);
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma unroll
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < nv; v++) {
            float *cv = c + i * ldc + 16 * v;
            const __mmask16 mask = v == nv - 1 ? last : 0xFFFF;
            __m512 t = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0)
                t = _mm512_add_ps(t, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mask, cv)));
            _mm512_mask_storeu_ps(cv, mask, t);
        }
}

static inline __attribute__((always_inline)) TARGET void
kernel(int nv, __mmask16 last, int64_t kc, float alpha, const float *a,
       const float *b, float beta, float *c, int64_t ldc,
       const char *const *prefetch, int n_prefetch) {
    const gsq__sgemm_segment panel = {a, 1, kc};
    kernel_rows(nv, MR, last, MR, 1, &panel, alpha, b, beta, c, ldc, prefetch, n_prefetch);
}

TARGET void gsq__sgemm_avx512_14x32(int64_t kc, float alpha, const float *a,
                                    const float *b, float beta, float *c,
                                    int64_t ldc, const char *const *prefetch,
                                    int n_prefetch) {
    kernel(2, 0xFFFF, kc, alpha, a, b, beta, c, ldc, prefetch, n_prefetch);
}

TARGET void gsq__sgemm_avx512_14x16(int64_t kc, float alpha, const float *a,
                                    const float *b, float beta, float *c,
                                    int64_t ldc, const char *const *prefetch,
                                    int n_prefetch) {
    kernel(1, 0xFFFF, kc, alpha, a, b, beta, c, ldc, prefetch, n_prefetch);
}

/* Transposes 16 x 16 floats in registers: r[i] holds row i on entry and
 * column i on return. */
static inline __attribute__((always_inline)) TARGET void transpose16(__m512 r[16]) {
    __m512 t[16];
#pragma unroll
    for (int i = 0; i < 16; i += 2) { /* 2 x 2 blocks of floats */
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma unroll
    for (int i = 0; i < 16; i += 4) /* 4 x 4 blocks within each 128-bit lane */
        for (int h = 0; h < 2; h++) {
            const __m512d lo = _mm512_castps_pd(t[i + h]);
            const __m512d hi = _mm512_castps_pd(t[i + h + 2]);
            r[i + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, hi));
            r[i + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, hi));
        }
#pragma unroll
    for (int c = 0; c < 4; c++) { /* 4 x 4 blocks of 128-bit lanes */
        const __m512 v0 = _mm512_shuffle_f32x4(r[c], r[c + 4], 0x44);
        const __m512 v1 = _mm512_shuffle_f32x4(r[c], r[c + 4], 0xEE);
        const __m512 v2 = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0x44);
        const __m512 v3 = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0xEE);
        t[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        t[c + 4] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        t[c + 8] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        t[c + 12] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
#pragma unroll
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* An edge tile of cols < MR columns, computed transposed: a register per
 * column holds its 14 rows, so a k step is one A load, `cols` B broadcasts
 * and `cols` FMAs instead of the 15 loads and 14 FMAs of the half kernel.
 * Each element still sums a[p][i] * b[p][j], p ascending, in one
 * accumulator, then t = alpha * sum; c = t + beta * c: the same values as the
 * wide kernels. */
static inline __attribute__((always_inline)) TARGET void
narrow_step(int cols, __m512 acc[16], __mmask16 rows, const float *a, const float *b) {
    const __m512 av = _mm512_maskz_loadu_ps(rows, a);
#pragma unroll
    for (int j = 0; j < cols; j++) acc[j] = _mm512_fmadd_ps(av, _mm512_set1_ps(b[j]), acc[j]);
}

static inline __attribute__((always_inline)) TARGET void
narrow_kernel(int cols, int64_t kc, float alpha, const float *a, const float *b,
              float beta, float *c, int64_t ldc, const char *const *prefetch,
              int n_prefetch) {
    enum { STEP = GSQ_SGEMM_PREFETCH_STEP };
    const __mmask16 rows = (1u << MR) - 1, lanes = (__mmask16)((1u << cols) - 1);
    __m512 acc[16];
#pragma unroll
    for (int j = 0; j < 16; j++) acc[j] = _mm512_setzero_ps();
#pragma unroll
    for (int i = 0; i < MR; i++)
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    int64_t p = 0;
    for (int q = 0; p + STEP <= kc; p += STEP) {
        if (q < n_prefetch) _mm_prefetch(prefetch[q++], _MM_HINT_T1);
#pragma unroll
        for (int s = 0; s < STEP; s++) narrow_step(cols, acc, rows, a + s * MR, b + s * NR);
        a += STEP * MR;
        b += STEP * NR;
    }
    for (; p < kc; p++, a += MR, b += NR) narrow_step(cols, acc, rows, a, b);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma unroll
    for (int j = 0; j < cols; j++) acc[j] = _mm512_mul_ps(va, acc[j]);
    transpose16(acc); /* acc[i]: row i of the tile */
#pragma unroll
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        __m512 t = acc[i];
        if (beta != 0) t = _mm512_add_ps(t, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(lanes, ci)));
        _mm512_mask_storeu_ps(ci, lanes, t);
    }
}

TARGET void gsq__sgemm_avx512_14xn(int64_t kc, float alpha, const float *a,
                                   const float *b, float beta, float *c,
                                   int64_t ldc, int cols,
                                   const char *const *prefetch, int n_prefetch) {
    switch (cols) { /* a body per width keeps the accumulators in registers */
#define NARROW_CASE(w) \
    case w: narrow_kernel(w, kc, alpha, a, b, beta, c, ldc, prefetch, n_prefetch); return;
        NARROW_CASE(1) NARROW_CASE(2) NARROW_CASE(3) NARROW_CASE(4)
        NARROW_CASE(5) NARROW_CASE(6) NARROW_CASE(7) NARROW_CASE(8)
        NARROW_CASE(9) NARROW_CASE(10) NARROW_CASE(11) NARROW_CASE(12)
        NARROW_CASE(13)
#undef NARROW_CASE
    }
    const __mmask16 last = (__mmask16)(0xFFFFu >> (-cols & 15)); /* cols % 16 lanes */
    if (cols <= 16)
        kernel(1, last, kc, alpha, a, b, beta, c, ldc, prefetch, n_prefetch);
    else
        kernel(2, last, kc, alpha, a, b, beta, c, ldc, prefetch, n_prefetch);
}

TARGET void gsq__sgemm_avx512_rows(int64_t kc, float alpha, const float *a,
                                   const float *b, float beta, float *c,
                                   int64_t ldc, int rows, int cols,
                                   const char *const *prefetch, int n_prefetch) {
    const __mmask16 last = (__mmask16)(0xFFFFu >> (-cols & 15)); /* cols % 16 lanes */
    const gsq__sgemm_segment panel = {a, 1, kc};
    switch (rows) { /* a body per height keeps the accumulators in registers */
#define ROWS_CASE(r)                                                            \
    case r:                                                                    \
        if (cols <= 16)                                                        \
            kernel_rows(1, r, last, MR, 1, &panel, alpha, b, beta, c, ldc, prefetch, n_prefetch); \
        else                                                                   \
            kernel_rows(2, r, last, MR, 1, &panel, alpha, b, beta, c, ldc, prefetch, n_prefetch); \
        return;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5)
        ROWS_CASE(6) ROWS_CASE(7) ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10)
        ROWS_CASE(11) ROWS_CASE(12) ROWS_CASE(13)
#undef ROWS_CASE
    }
}

TARGET void gsq__sgemm_avx512_direct(int nseg, const gsq__sgemm_segment *seg, float alpha,
                                     const float *b, float beta, float *c, int64_t ldc,
                                     int rows, int cols) {
    const __mmask16 last = (__mmask16)(0xFFFFu >> (-cols & 15)); /* cols % 16 lanes */
    switch (rows) {
#define DIRECT_CASE(r)                                                           \
    case r:                                                                      \
        if (cols <= 16)                                                          \
            kernel_rows(1, r, last, 1, nseg, seg, alpha, b, beta, c, ldc, NULL, 0); \
        else                                                                     \
            kernel_rows(2, r, last, 1, nseg, seg, alpha, b, beta, c, ldc, NULL, 0); \
        return;
        DIRECT_CASE(1) DIRECT_CASE(2) DIRECT_CASE(3) DIRECT_CASE(4) DIRECT_CASE(5)
        DIRECT_CASE(6) DIRECT_CASE(7) DIRECT_CASE(8) DIRECT_CASE(9) DIRECT_CASE(10)
        DIRECT_CASE(11) DIRECT_CASE(12) DIRECT_CASE(13) DIRECT_CASE(14)
#undef DIRECT_CASE
    }
}

TARGET void gsq__sgemm_pack_avx512(int64_t kc, const float *src, int64_t ld,
                                   int rows, int width, float *dst) {
    for (int g = 0; g < width; g += 16) { /* 16 panel columns at a time */
        const int real = rows - g, lanes = width - g < 16 ? width - g : 16;
        const __mmask16 mask = (__mmask16)((1u << lanes) - 1);
        for (int64_t p = 0; p < kc; p += 16) { /* the last block masked to kc */
            const int depth = kc - p < 16 ? (int)(kc - p) : 16;
            const __mmask16 cols = (__mmask16)(0xFFFFu >> (16 - depth));
            __m512 r[16];
#pragma unroll
            for (int i = 0; i < 16; i++) /* rows past `rows` read as zeros */
                r[i] = _mm512_maskz_loadu_ps(i < real ? cols : 0,
                                             src + (i < real ? g + i : 0) * ld + p);
            transpose16(r);
#pragma unroll
            for (int x = 0; x < 16; x++)
                if (x < depth) _mm512_mask_storeu_ps(dst + (p + x) * width + g, mask, r[x]);
        }
    }
}

/* The first n lanes (n <= 0: none). */
static inline __mmask16 first_lanes(int64_t n) {
    return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
}

TARGET void gsq__sgemm_copy_avx512(int64_t kc, const float *src, int64_t ld,
                                   int64_t cols, int width, int64_t panel_floats,
                                   float *dst) {
    for (int64_t p = 0; p < kc; p++, src += ld, dst += width)
        for (int64_t c0 = 0, x = 0; c0 < cols; c0 += width, x++)
            for (int c = 0; c < width; c += 16) { /* 16 panel columns at a time */
                const int64_t real = cols - c0 - c, lanes = width - c < 16 ? width - c : 16;
                _mm512_mask_storeu_ps(dst + x * panel_floats + c, first_lanes(lanes),
                                      _mm512_maskz_loadu_ps(first_lanes(real < lanes ? real : lanes),
                                                            src + c0 + c));
            }
}
