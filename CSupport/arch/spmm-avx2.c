/* CSR SpMM rows for AVX2: 8 floats a vector, maskload/maskstore tails. */
#include "../graph-internal.h"

#include <immintrin.h>

typedef __m256 V;
typedef __m256i VM;
#define VL 8
#define SPMM_FN __attribute__((target("avx2,fma")))
#define SPMM_ROWS_FN SPMM_FN void gsq__spmm_rows_avx2

#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vload _mm256_loadu_ps
#define vload_m(p, m) _mm256_maskload_ps((p), (m))
#define vstore _mm256_storeu_ps
#define vstore_m(p, v, m) _mm256_maskstore_ps((p), (m), (v))
#define vstream _mm256_stream_ps
#define vmul _mm256_mul_ps
#define vfma _mm256_fmadd_ps
#define vtail_mask(n)                                                          \
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))

#include "spmm-body.h"
