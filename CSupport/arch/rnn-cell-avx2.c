/* Fused recurrent cells for AVX2 + FMA: 8 floats a vector, masked tails. */
#include "rnn-cell.h"
#include "vmath-avx2.h"

typedef __m256 V;
typedef __m256i VM;
#define VL 8
#define CELL_FN GSQ_AVX2_INLINE
#define CELL_KERNEL_FN static __attribute__((target("avx2,fma")))
#define CELL_KERNELS gsq__cell_kernels_avx2

#define vset1 _mm256_set1_ps
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vload_m(p, m) _mm256_maskload_ps((p), (m))
#define vstore_m(p, v, m) _mm256_maskstore_ps((p), (m), (v))
#define vfull_mask() _mm256_set1_epi32(-1)
#define vtail_mask(n) \
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vfma _mm256_fmadd_ps
#define vsigmoid gsq__sigmoid_avx2
#define vtanh gsq__tanh_avx2
#define vprefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#define vrelu(x) _mm256_max_ps(_mm256_setzero_ps(), (x)) /* NaN and -0 pass */
#define vrelu_grad(h, d) \
    _mm256_and_ps(_mm256_cmp_ps((h), _mm256_setzero_ps(), _CMP_GT_OQ), (d))

#include "rnn-cell-body.h"
