/* AVX2+FMA SGEMM microkernels (6 x 16 and its 6 x 8 half) and the
 * transposing packer. Per k step the 6 x 16 kernel loads two B vectors and
 * broadcasts 6 A values to feed 12 FMAs into 12 ymm accumulators (of 16
 * registers). */
#include "gemm-kernels.h"

#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))

enum { MR = 6, NR = 16 };

/* The kernel body for a 6 x (8 * nv) tile of a packed B panel NR wide;
 * nv = 1 serves tiles with at most 8 valid columns at half the cost. */
static inline __attribute__((always_inline)) TARGET void
kernel(int nv, int64_t kc, float alpha, const float *a, const float *b,
       float beta, float *c, int64_t ldc) {
    __m256 acc[MR][2];
#pragma unroll
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma unroll
    for (int i = 0; i < MR; i++) { /* C is needed only at the end: fetch it now */
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 8 * nv - 1), _MM_HINT_T0);
    }
#pragma clang loop unroll_count(4)
    for (int64_t p = 0; p < kc; p++) {
        __m256 bv[2];
        for (int v = 0; v < nv; v++) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma unroll
        for (int i = 0; i < MR; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += MR;
        b += NR;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma unroll
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < nv; v++) {
            float *cv = c + i * ldc + 8 * v;
            __m256 t = _mm256_mul_ps(va, acc[i][v]);
            if (beta != 0) t = _mm256_add_ps(t, _mm256_mul_ps(vb, _mm256_loadu_ps(cv)));
            _mm256_storeu_ps(cv, t);
        }
}

TARGET void gsq__sgemm_avx2_6x16(int64_t kc, float alpha, const float *a,
                                 const float *b, float beta, float *c,
                                 int64_t ldc, const char *const *prefetch,
                                 int n_prefetch) {
    (void)prefetch, (void)n_prefetch; /* no measured gain here */
    kernel(2, kc, alpha, a, b, beta, c, ldc);
}

TARGET void gsq__sgemm_avx2_6x8(int64_t kc, float alpha, const float *a,
                                const float *b, float beta, float *c,
                                int64_t ldc, const char *const *prefetch,
                                int n_prefetch) {
    (void)prefetch, (void)n_prefetch; /* no measured gain here */
    kernel(1, kc, alpha, a, b, beta, c, ldc);
}

/* Transposes 8 x 8 floats in registers: r[i] holds row i on entry and column
 * i on return. */
static inline __attribute__((always_inline)) TARGET void transpose8(__m256 r[8]) {
    __m256 t[8];
#pragma unroll
    for (int i = 0; i < 8; i += 2) { /* 2 x 2 blocks of floats */
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma unroll
    for (int i = 0; i < 8; i += 4) { /* 4 x 4 blocks within each 128-bit lane */
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
#pragma unroll
    for (int c = 0; c < 4; c++) { /* 2 x 2 blocks of 128-bit lanes */
        t[c] = _mm256_permute2f128_ps(r[c], r[c + 4], 0x20);
        t[c + 4] = _mm256_permute2f128_ps(r[c], r[c + 4], 0x31);
    }
#pragma unroll
    for (int i = 0; i < 8; i++) r[i] = t[i];
}

TARGET void gsq__sgemm_pack_avx2(int64_t kc, const float *src, int64_t ld,
                                 int rows, int width, float *dst) {
    for (int g = 0; g < width; g += 8) { /* 8 panel columns at a time */
        const int real = rows - g, lanes = width - g < 8 ? width - g : 8;
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes),
                                                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        int64_t p = 0;
        for (; p + 8 <= kc; p += 8) {
            __m256 r[8];
#pragma unroll
            for (int i = 0; i < 8; i++) { /* rows past `rows` read as zeros */
                const __m256 keep = _mm256_castsi256_ps(_mm256_set1_epi32(-(i < real)));
                r[i] = _mm256_and_ps(keep, _mm256_loadu_ps(src + (i < real ? g + i : 0) * ld + p));
            }
            transpose8(r);
#pragma unroll
            for (int x = 0; x < 8; x++)
                _mm256_maskstore_ps(dst + (p + x) * width + g, mask, r[x]);
        }
        for (; p < kc; p++)
            for (int i = 0; i < lanes; i++)
                dst[p * width + g + i] = i < real ? src[(g + i) * ld + p] : 0;
    }
}

/* The first n lanes (n <= 8; n <= 0: none). */
static inline __attribute__((always_inline)) TARGET __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

TARGET void gsq__sgemm_copy_avx2(int64_t kc, const float *src, int64_t ld,
                                 int64_t cols, int width, int64_t panel_floats,
                                 float *dst) {
    for (int64_t p = 0; p < kc; p++, src += ld, dst += width)
        for (int64_t c0 = 0, x = 0; c0 < cols; c0 += width, x++)
            for (int c = 0; c < width; c += 8) { /* 8 panel columns at a time */
                const int64_t real = cols - c0 - c, lanes = width - c < 8 ? width - c : 8;
                _mm256_maskstore_ps(dst + x * panel_floats + c, first_lanes(lanes),
                                    _mm256_maskload_ps(src + c0 + c,
                                                       first_lanes(real < lanes ? real : lanes)));
            }
}
