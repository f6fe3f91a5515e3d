/* Machine probes for benchmark ratios: fp32 FMA peak and STREAM triad. */
#include "internal.h"
#include "arch/peak.h"

#include <stdlib.h>

/* Portable: 12 independent multiply-add chains of 4-float vectors, the
 * width every x86-64 CPU has (SSE2), with no FMA instruction assumed; the
 * generic kernels are measured against this. */
typedef float v4f __attribute__((vector_size(16)));

static double fma_chain_generic(int64_t iters) {
    v4f a[12];
    const v4f m = {0.999999f, 0.999999f, 0.999999f, 0.999999f},
              d = {1e-7f, 1e-7f, 1e-7f, 1e-7f};
    for (int j = 0; j < 12; j++) a[j] = (v4f){1, 1, 1, 1} * (float)(j + 1);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < 12; j++) a[j] = a[j] * m + d;
    v4f s = a[0];
    for (int j = 1; j < 12; j++) s += a[j];
    gsq__peak_sink = s[0] + s[1] + s[2] + s[3];
    return 2.0 * 4 * 12 * (double)iters;
}

static double (*const fma_chain[GSQ_ISA_COUNT])(int64_t) = {
    fma_chain_generic, gsq__fma_chain_avx2, gsq__fma_chain_avx512};

volatile float gsq__peak_sink;

gsq_status_t gsq_measure_fma_peak(double seconds, double *gflops) {
    GSQ_TRY(gsq__check_ptr("gsq_measure_fma_peak", "gflops", gflops));
    if (!(seconds > 0 && seconds <= 60))
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "gsq_measure_fma_peak: seconds must be in (0, 60]");
    double (*chain)(int64_t) = fma_chain[gsq__isa()];
    const int64_t iters = 1 << 20;
    double best = 0, start = gsq__now_ms();
    do {
        double t0 = gsq__now_ms();
        double flops = chain(iters);
        double ms = gsq__now_ms() - t0;
        if (ms > 0 && flops / (ms * 1e6) > best) best = flops / (ms * 1e6);
    } while (gsq__now_ms() - start < seconds * 1e3);
    *gflops = best;
    return GSQ_SUCCESS;
}

struct triad {
    float *a;
    const float *b, *c;
    int64_t n;
};

static void triad_task(void *p, int tid, int nth) {
    struct triad *t = p;
    int64_t lo, hi;
    gsq__split(t->n, tid, nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) t->a[i] = t->b[i] + 3.0f * t->c[i];
}

static void init_task(void *p, int tid, int nth) {
    struct triad *t = p; /* first touch by the thread that will stream it */
    int64_t lo, hi;
    gsq__split(t->n, tid, nth, &lo, &hi);
    float *b = (float *)t->b, *c = (float *)t->c;
    for (int64_t i = lo; i < hi; i++) t->a[i] = 0, b[i] = 1, c[i] = 2;
}

gsq_status_t gsq_measure_stream_triad(size_t bytes_per_array, double seconds,
                                      double *gbps) {
    GSQ_TRY(gsq__check_ptr("gsq_measure_stream_triad", "gbps", gbps));
    if (bytes_per_array < 4096 || bytes_per_array > ((size_t)1 << 34) ||
        !(seconds > 0 && seconds <= 60))
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "gsq_measure_stream_triad: need 4 KiB <= bytes <= 16 "
                         "GiB and 0 < seconds <= 60");
    int64_t n = (int64_t)(bytes_per_array / sizeof(float));
    float *a = gsq__alloc(n * sizeof(float)), *b = gsq__alloc(n * sizeof(float)),
          *c = gsq__alloc(n * sizeof(float));
    if (!a || !b || !c) {
        gsq__free(a), gsq__free(b), gsq__free(c);
        return gsq__fail(GSQ_ERR_OUT_OF_MEMORY,
                         "gsq_measure_stream_triad: cannot allocate 3 x %zu bytes",
                         bytes_per_array);
    }
    struct triad t = {a, b, c, n};
    int nth = gsq__num_threads();
    gsq__parallel(init_task, &t, nth);
    double best = 0, start = gsq__now_ms();
    do {
        double t0 = gsq__now_ms();
        gsq__parallel(triad_task, &t, nth);
        double ms = gsq__now_ms() - t0;
        double g = 3.0 * (double)n * sizeof(float) / (ms * 1e6);
        if (ms > 0 && g > best) best = g;
    } while (gsq__now_ms() - start < seconds * 1e3);
    gsq__free(a), gsq__free(b), gsq__free(c);
    *gbps = best;
    return GSQ_SUCCESS;
}
