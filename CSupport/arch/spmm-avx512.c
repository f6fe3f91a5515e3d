/* CSR SpMM rows for AVX-512: 16 floats a vector, masked tails. */
#include "../graph-internal.h"

#include <immintrin.h>

typedef __m512 V;
typedef __mmask16 VM;
#define VL 16
#define SPMM_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define SPMM_ROWS_FN SPMM_FN void gsq__spmm_rows_avx512

#define vset1 _mm512_set1_ps
#define vzero _mm512_setzero_ps
#define vload _mm512_loadu_ps
#define vload_m(p, m) _mm512_maskz_loadu_ps((m), (p))
#define vstore _mm512_storeu_ps
#define vstore_m(p, v, m) _mm512_mask_storeu_ps((p), (m), (v))
#define vstream _mm512_stream_ps
#define vmul _mm512_mul_ps
#define vfma _mm512_fmadd_ps
#define vtail_mask(n) ((__mmask16)((1u << (n)) - 1))

#include "spmm-body.h"
