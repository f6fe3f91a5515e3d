/* Fused recurrent cells for AVX-512: 16 floats a vector, masked tails. */
#include "rnn-cell.h"
#include "vmath-avx512.h"

typedef __m512 V;
typedef __mmask16 VM;
#define VL 16
#define CELL_FN GSQ_AVX512_INLINE
#define CELL_KERNEL_FN static __attribute__((target(GSQ_AVX512_TARGET)))
#define CELL_KERNELS gsq__cell_kernels_avx512

#define vset1 _mm512_set1_ps
#define vload _mm512_loadu_ps
#define vstore _mm512_storeu_ps
#define vload_m(p, m) _mm512_maskz_loadu_ps((m), (p))
#define vstore_m(p, v, m) _mm512_mask_storeu_ps((p), (m), (v))
#define vfull_mask() ((__mmask16)0xFFFF)
#define vtail_mask(n) ((__mmask16)((1u << (n)) - 1))
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vfma _mm512_fmadd_ps
#define vsigmoid gsq__sigmoid_avx512
#define vtanh gsq__tanh_avx512
#define vprefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#define vrelu(x) _mm512_max_ps(_mm512_setzero_ps(), (x)) /* NaN and -0 pass */
#define vrelu_grad(h, d) \
    _mm512_maskz_mov_ps(_mm512_cmp_ps_mask((h), _mm512_setzero_ps(), _CMP_GT_OQ), (d))

#include "rnn-cell-body.h"
