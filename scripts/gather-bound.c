/* A bound for the SpMM benchmark (CSR, N=100k, 16 uniform random columns
 * per row, F=64): the product reads 1.6M rows of 256 bytes of X (25.6 MB)
 * in random order. No order reads them faster than streaming X start to end
 * as often (16 times), so that streaming time bounds the SpMM's from below.
 * Both are timed here on one thread, alternated, best of R runs each:
 *
 *   swift build -c release --product GraphSeqC
 *   cc -O2 -mavx512f -Iinclude scripts/gather-bound.c -L.build/release -lGraphSeqC \
 *      -Wl,-rpath,$PWD/.build/release -o /tmp/gather-bound && /tmp/gather-bound 10
 *
 * Needs a CPU with AVX-512. */
#include "graphseq.h"

#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 100000, DEG = 16, F = 64 };

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Reads x (N x F) start to end DEG times, as many bytes as the SpMM gathers,
 * in the order hardware reads fastest; returns a sum so the reads happen. */
static float stream_rows(const float *x) {
    __m512 acc[8];
    for (int v = 0; v < 8; v++) acc[v] = _mm512_setzero_ps();
    for (int pass = 0; pass < DEG; pass++)
        for (int64_t e = 0; e < (int64_t)N * F; e += 128)
            for (int v = 0; v < 8; v++) acc[v] = _mm512_add_ps(acc[v], _mm512_load_ps(x + e + 16 * v));
    for (int v = 1; v < 8; v++) acc[0] = _mm512_add_ps(acc[0], acc[v]);
    return _mm512_reduce_add_ps(acc[0]);
}

int main(int argc, char **argv) {
    const int runs = argc > 1 ? atoi(argv[1]) : 10;
    int64_t *row_ptr = malloc((N + 1) * sizeof *row_ptr);
    int32_t *col = malloc((size_t)N * DEG * sizeof *col);
    float *values = malloc((size_t)N * DEG * sizeof *values);
    float *x = aligned_alloc(64, (size_t)N * F * sizeof(float));
    float *y = aligned_alloc(64, (size_t)N * F * sizeof(float));
    srand(7);
    for (int64_t i = 0; i <= N; i++) row_ptr[i] = i * DEG;
    for (int64_t i = 0; i < N; i++) /* DEG distinct sorted columns per row */
        for (int64_t a = i * DEG; a < (i + 1) * DEG; a++) {
            int32_t c;
            int64_t b;
            do {
                c = rand() % N;
                for (b = i * DEG; b < a && col[b] != c; b++) {}
            } while (b < a);
            for (b = a; b > i * DEG && col[b - 1] > c; b--) col[b] = col[b - 1];
            col[b] = c;
        }
    for (int64_t j = 0; j < (int64_t)N * DEG; j++) values[j] = 0.5f;
    for (int64_t e = 0; e < (int64_t)N * F; e++) x[e] = (float)(e % 13), y[e] = 0;
    gsq_graph_t a;
    if (gsq_graph_create_csr(&a, N, N, row_ptr, col, values) != GSQ_SUCCESS ||
        gsq_set_num_threads(1) != GSQ_SUCCESS) {
        fprintf(stderr, "gather-bound: %s\n", gsq_last_error());
        return 1;
    }
    double bound = 1e30, spmm = 1e30;
    float sink = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now_ms();
        sink += stream_rows(x);
        double t1 = now_ms();
        gsq_graph_spmm(a, GSQ_NO_TRANS, F, 1.0f, x, F, 0.0f, y, F);
        double t2 = now_ms();
        if (t1 - t0 < bound) bound = t1 - t0;
        if (t2 - t1 < spmm) spmm = t2 - t1;
    }
    const double gathered = (double)N * DEG * F * sizeof(float);
    printf("streaming X 16 times: %.1f ms (%.1f GB/s); gsq_graph_spmm: %.1f ms (%.1f GB/s "
           "of gathered rows), %.2f of the bound (sum %g)\n", bound, gathered / bound / 1e6,
           spmm, gathered / spmm / 1e6, bound / spmm, (double)sink);
    gsq_graph_destroy(a);
    return 0;
}
