/* Per-ISA FMA chains for gsq_measure_fma_peak; each returns the flops done. */
#ifndef GSQ_ARCH_PEAK_H
#define GSQ_ARCH_PEAK_H
#include "../internal.h"
GSQ_HIDDEN double gsq__fma_chain_avx2(int64_t iters);
GSQ_HIDDEN double gsq__fma_chain_avx512(int64_t iters);
extern GSQ_HIDDEN volatile float gsq__peak_sink;
#endif
