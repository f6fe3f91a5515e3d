/* Vector exp, sigmoid and tanh for AVX2 + FMA, within 3 ulp (1.5e-7
 * absolute) of the exact functions. exp's argument is clamped, so nothing
 * overflows: sigmoid(-100) ~ 4e-39, tanh(50) == 1; NaN in gives NaN out.
 * The polynomial uses Estrin's scheme: shorter dependency chains, which the
 * transcendental-heavy cell kernels need to overlap with their memory
 * traffic. */
#ifndef GSQ_ARCH_VMATH_AVX2_H
#define GSQ_ARCH_VMATH_AVX2_H
#include <immintrin.h>

#define GSQ_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* Range reduction for exp(x), |x| <= 88.3 (Cephes expf): x = n ln2 + r with
 * |r| <= ln2/2. Returns expm1(r) = r + r^2 P(r), P of degree 5, and sets
 * *scale = 2^n, so exp(x) = scale (1 + result). x is clamped to [-87.3,
 * 88.3] first, so 2^n stays a normal number and exp(x) finite (exp(-87.3) ~
 * 1e-38, exp(88.3) ~ 2e38). */
GSQ_AVX2_INLINE __m256 gsq__exp_reduce_avx2(__m256 x, __m256 *scale) {
    /* NaN stays in x: max and min return their second operand for NaN */
    x = _mm256_min_ps(_mm256_set1_ps(88.3f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
    /* adding 1.5 * 2^23 rounds to an integer, held in the low mantissa bits */
    const __m256 shifter = _mm256_set1_ps(0x1.8p23f);
    const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), shifter);
    const __m256 n = _mm256_sub_ps(t, shifter);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x); /* ln2 in two parts */
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    const __m256 r2 = _mm256_mul_ps(r, r), r4 = _mm256_mul_ps(r2, r2);
    const __m256 a = _mm256_fmadd_ps(_mm256_set1_ps(1.6666665459e-1f), r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 b = _mm256_fmadd_ps(_mm256_set1_ps(8.3334519073e-3f), r, _mm256_set1_ps(4.1665795894e-2f));
    const __m256 c = _mm256_fmadd_ps(_mm256_set1_ps(1.9875691500e-4f), r, _mm256_set1_ps(1.3981999507e-3f));
    const __m256 p = _mm256_fmadd_ps(r4, c, _mm256_fmadd_ps(r2, b, a));
    *scale = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127)), 23));
    return _mm256_fmadd_ps(p, r2, r);
}

/* sigmoid(x) = 1 / (1 + exp(-x)): relative accuracy on both sides, since
 * exp(-x) is computed accurately (and finitely) wherever it matters. */
GSQ_AVX2_INLINE __m256 gsq__sigmoid_avx2(__m256 x) {
    __m256 scale;
    const __m256 m = gsq__exp_reduce_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x), &scale);
    const __m256 e1 = _mm256_add_ps(_mm256_fmadd_ps(scale, m, scale), _mm256_set1_ps(1.0f));
    return _mm256_div_ps(_mm256_set1_ps(1.0f), e1);
}

/* tanh(x) = sign(x) (-m) / (2 + m) with m = expm1(-2|x|) in (-1, 0]: no
 * cancellation near 0, where m ~ -2|x|. */
GSQ_AVX2_INLINE __m256 gsq__tanh_avx2(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 scale;
    const __m256 p = gsq__exp_reduce_avx2(
        _mm256_mul_ps(_mm256_andnot_ps(sign, x), _mm256_set1_ps(-2.0f)), &scale);
    const __m256 m = _mm256_fmadd_ps(scale, p, _mm256_sub_ps(scale, _mm256_set1_ps(1.0f)));
    const __m256 t = _mm256_div_ps(_mm256_sub_ps(_mm256_setzero_ps(), m),
                                   _mm256_add_ps(_mm256_set1_ps(2.0f), m));
    return _mm256_or_ps(t, _mm256_and_ps(sign, x));
}

#endif
