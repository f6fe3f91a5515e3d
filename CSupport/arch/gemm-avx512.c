/* AVX-512 SGEMM microkernels (14 x 32 and its 14 x 16 half) and the
 * transposing packer. Per k step the 14 x 32 kernel loads two B vectors and
 * broadcasts 14 A values (16 loads) to feed 28 FMAs into 28 zmm accumulators,
 * so the two FMA pipes, not the load ports, set the pace. */
#include "gemm-kernels.h"

#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

enum { MR = 14, NR = 32 };

/* One k step: acc[i][v] += a[i] * b[16v .. 16v+16). */
static inline __attribute__((always_inline)) TARGET void
step(int nv, __m512 acc[MR][2], const float *a, const float *b) {
    __m512 bv[2];
    for (int v = 0; v < nv; v++) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma unroll
    for (int i = 0; i < MR; i++) {
        const __m512 ai = _mm512_set1_ps(a[i]);
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
}

/* The kernel body for a 14 x (16 * nv) tile of a packed B panel NR wide;
 * nv = 1 serves tiles with at most 16 valid columns at half the cost. */
static inline __attribute__((always_inline)) TARGET void
kernel(int nv, int64_t kc, float alpha, const float *a, const float *b,
       float beta, float *c, int64_t ldc, const char *const *prefetch,
       int n_prefetch) {
    enum { STEP = GSQ_SGEMM_PREFETCH_STEP };
    __m512 acc[MR][2];
#pragma unroll
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma unroll
    for (int i = 0; i < MR; i++) { /* C is needed only at the end: fetch it now */
        for (int x = 0; x < 16 * nv; x += 16)
            _mm_prefetch((const char *)(c + i * ldc + x), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 16 * nv - 1), _MM_HINT_T0);
    }
    int64_t p = 0;
    for (int q = 0; p + STEP <= kc; p += STEP) {
        if (q < n_prefetch) _mm_prefetch(prefetch[q++], _MM_HINT_T1);
#pragma unroll
        for (int s = 0; s < STEP; s++) step(nv, acc, a + s * MR, b + s * NR);
        a += STEP * MR;
        b += STEP * NR;
    }
    for (; p < kc; p++, a += MR, b += NR) step(nv, acc, a, b);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma unroll
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < nv; v++) {
            float *cv = c + i * ldc + 16 * v;
            __m512 t = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0) t = _mm512_add_ps(t, _mm512_mul_ps(vb, _mm512_loadu_ps(cv)));
            _mm512_storeu_ps(cv, t);
        }
}

TARGET void gsq__sgemm_avx512_14x32(int64_t kc, float alpha, const float *a,
                                    const float *b, float beta, float *c,
                                    int64_t ldc, const char *const *prefetch,
                                    int n_prefetch) {
    kernel(2, kc, alpha, a, b, beta, c, ldc, prefetch, n_prefetch);
}

TARGET void gsq__sgemm_avx512_14x16(int64_t kc, float alpha, const float *a,
                                    const float *b, float beta, float *c,
                                    int64_t ldc, const char *const *prefetch,
                                    int n_prefetch) {
    kernel(1, kc, alpha, a, b, beta, c, ldc, prefetch, n_prefetch);
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

TARGET void gsq__sgemm_pack_avx512(int64_t kc, const float *src, int64_t ld,
                                   int rows, int width, float *dst) {
    for (int g = 0; g < width; g += 16) { /* 16 panel columns at a time */
        const int real = rows - g, lanes = width - g < 16 ? width - g : 16;
        const __mmask16 mask = (__mmask16)((1u << lanes) - 1);
        int64_t p = 0;
        for (; p + 16 <= kc; p += 16) {
            __m512 r[16];
#pragma unroll
            for (int i = 0; i < 16; i++) /* rows past `rows` read as zeros */
                r[i] = _mm512_maskz_loadu_ps(i < real ? 0xFFFF : 0,
                                             src + (i < real ? g + i : 0) * ld + p);
            transpose16(r);
#pragma unroll
            for (int x = 0; x < 16; x++)
                _mm512_mask_storeu_ps(dst + (p + x) * width + g, mask, r[x]);
        }
        for (; p < kc; p++)
            for (int i = 0; i < lanes; i++)
                dst[p * width + g + i] = i < real ? src[(g + i) * ld + p] : 0;
    }
}
