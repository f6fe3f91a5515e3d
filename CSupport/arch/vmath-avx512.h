/* Vector exp, sigmoid and tanh for AVX-512, within 3 ulp (1.5e-7 absolute)
 * of the exact functions; the method of vmath-avx2.h. Nothing overflows:
 * sigmoid(-100) ~ 4e-39, tanh(50) == 1; NaN in gives NaN out. */
#ifndef GSQ_ARCH_VMATH_AVX512_H
#define GSQ_ARCH_VMATH_AVX512_H
#include <immintrin.h>

#define GSQ_AVX512_TARGET "avx512f,avx512bw,avx512dq,avx512vl,fma"
#define GSQ_AVX512_INLINE \
    static inline __attribute__((always_inline, target(GSQ_AVX512_TARGET)))

/* Range reduction for exp(x), |x| <= 88.3 (Cephes expf): x = n ln2 + r with
 * |r| <= ln2/2. Returns expm1(r) = r + r^2 P(r), P of degree 5 (Estrin's
 * scheme), and sets *scale = 2^n, so exp(x) = scale (1 + result). x is
 * clamped to [-87.3, 88.3] first, so 2^n stays normal and exp(x) finite. */
GSQ_AVX512_INLINE __m512 gsq__exp_reduce_avx512(__m512 x, __m512 *scale) {
    /* NaN stays in x: max and min return their second operand for NaN */
    x = _mm512_min_ps(_mm512_set1_ps(88.3f), _mm512_max_ps(_mm512_set1_ps(-87.3f), x));
    /* adding 1.5 * 2^23 rounds to an integer */
    const __m512 shifter = _mm512_set1_ps(0x1.8p23f);
    const __m512 n = _mm512_sub_ps(
        _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), shifter), shifter);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x); /* ln2 in two parts */
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    const __m512 r2 = _mm512_mul_ps(r, r), r4 = _mm512_mul_ps(r2, r2);
    const __m512 a = _mm512_fmadd_ps(_mm512_set1_ps(1.6666665459e-1f), r, _mm512_set1_ps(5.0000001201e-1f));
    const __m512 b = _mm512_fmadd_ps(_mm512_set1_ps(8.3334519073e-3f), r, _mm512_set1_ps(4.1665795894e-2f));
    const __m512 c = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r, _mm512_set1_ps(1.3981999507e-3f));
    const __m512 p = _mm512_fmadd_ps(r4, c, _mm512_fmadd_ps(r2, b, a));
    *scale = _mm512_scalef_ps(_mm512_set1_ps(1.0f), n);
    return _mm512_fmadd_ps(p, r2, r);
}

/* sigmoid(x) = 1 / (1 + exp(-x)): relative accuracy on both sides, since
 * exp(-x) is computed accurately (and finitely) wherever it matters. */
GSQ_AVX512_INLINE __m512 gsq__sigmoid_avx512(__m512 x) {
    __m512 scale;
    const __m512 m = gsq__exp_reduce_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x), &scale);
    const __m512 e1 = _mm512_add_ps(_mm512_fmadd_ps(scale, m, scale), _mm512_set1_ps(1.0f));
    return _mm512_div_ps(_mm512_set1_ps(1.0f), e1);
}

/* tanh(x) = sign(x) (-m) / (2 + m) with m = expm1(-2|x|) in (-1, 0]: no
 * cancellation near 0, where m ~ -2|x|. */
GSQ_AVX512_INLINE __m512 gsq__tanh_avx512(__m512 x) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 scale;
    const __m512 p = gsq__exp_reduce_avx512(
        _mm512_mul_ps(_mm512_andnot_ps(sign, x), _mm512_set1_ps(-2.0f)), &scale);
    const __m512 m = _mm512_fmadd_ps(scale, p, _mm512_sub_ps(scale, _mm512_set1_ps(1.0f)));
    const __m512 t = _mm512_div_ps(_mm512_sub_ps(_mm512_setzero_ps(), m),
                                   _mm512_add_ps(_mm512_set1_ps(2.0f), m));
    return _mm512_or_ps(t, _mm512_and_ps(sign, x));
}

#endif
