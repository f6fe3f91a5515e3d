/* FMA throughput probes: 12 independent vector FMA chains, enough to cover
 * the FMA latency (4 cycles) times the ports (2) on current x86 cores. */
#include "peak.h"

#include <immintrin.h>

#define CHAINS 12

__attribute__((target("avx2,fma"))) double gsq__fma_chain_avx2(int64_t iters) {
    __m256 acc[CHAINS];
    const __m256 m = _mm256_set1_ps(0.999999f), d = _mm256_set1_ps(1e-7f);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm256_set1_ps(1.0f + j);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm256_fmadd_ps(acc[j], m, d);
    __m256 s = acc[0];
    for (int j = 1; j < CHAINS; j++) s = _mm256_add_ps(s, acc[j]);
    gsq__peak_sink = _mm256_cvtss_f32(s);
    return 2.0 * 8 * CHAINS * (double)iters;
}

__attribute__((target("avx512f"))) double gsq__fma_chain_avx512(int64_t iters) {
    __m512 acc[CHAINS];
    const __m512 m = _mm512_set1_ps(0.999999f), d = _mm512_set1_ps(1e-7f);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_set1_ps(1.0f + j);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_fmadd_ps(acc[j], m, d);
    __m512 s = acc[0];
    for (int j = 1; j < CHAINS; j++) s = _mm512_add_ps(s, acc[j]);
    gsq__peak_sink = _mm512_reduce_add_ps(s);
    return 2.0 * 16 * CHAINS * (double)iters;
}
