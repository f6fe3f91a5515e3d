/* Does a GConvLSTM step gain from keeping its operands in L2? One step at
 * N=207 B=64 H=64 F=2 K=3 over T=12 steps, forward (Chebyshev terms of h,
 * the gate product on the parts [x basis | h | T_1 h | T_2 h], the cell)
 * and backward without the weight gradient (cell, dgrad product, adjoint),
 * with rows in a [B/b, N, b, H] layout: each block of b batch entries is a
 * contiguous row range whose operands stay in L2 when b is small. b = 64 is
 * the layers' own layout. The block sizes run in alternation, one thread;
 * the medians of each are printed:
 *
 *   swift build -c release --product GraphSeqC
 *   cc -O2 -Iinclude scripts/gcrn-block-layout.c -L.build/release -lGraphSeqC \
 *      -Wl,-rpath,$PWD/.build/release -o /tmp/gcrn-block-layout && /tmp/gcrn-block-layout 7
 */
#include "graphseq.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 207, B = 64, H = 64, F = 2, K = 3, T = 12, KNN = 8, KF = K * F, KC = KF + K * H };
enum { ROWS = N * B, LAYOUTS = 3, MAX_RUNS = 64 };
static const int block_sizes[LAYOUTS] = {64, 2, 1};

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void check(gsq_status_t s) {
    if (s == GSQ_SUCCESS) return;
    fprintf(stderr, "gcrn-block-layout: %s\n", gsq_last_error());
    exit(1);
}

static float *filled(size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "gcrn-block-layout: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = 1e-3f * (float)(i % 97);
    return p;
}

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The scaled Laplacian of a symmetrised 8-nearest-neighbour graph on random points. */
static gsq_graph_t knn_laplacian(void) {
    static int32_t rows[2 * N * KNN], cols[2 * N * KNN];
    static float px[N], py[N];
    srand(3);
    for (int i = 0; i < N; i++) px[i] = rand() / (float)RAND_MAX, py[i] = rand() / (float)RAND_MAX;
    int nnz = 0;
    for (int i = 0; i < N; i++) {
        float best[KNN];
        int nearest[KNN];
        for (int j = 0; j < KNN; j++) best[j] = 1e30f, nearest[j] = 0;
        for (int j = 0; j < N; j++) {
            const float d = (px[i] - px[j]) * (px[i] - px[j]) + (py[i] - py[j]) * (py[i] - py[j]);
            if (j == i || d >= best[KNN - 1]) continue;
            int p = KNN - 1;
            for (; p > 0 && best[p - 1] > d; p--) best[p] = best[p - 1], nearest[p] = nearest[p - 1];
            best[p] = d, nearest[p] = j;
        }
        for (int j = 0; j < KNN; j++) { /* both directions; duplicates are summed */
            rows[nnz] = i, cols[nnz++] = nearest[j];
            rows[nnz] = nearest[j], cols[nnz++] = i;
        }
    }
    gsq_graph_t a, lhat;
    check(gsq_graph_create_coo(&a, N, N, nnz, rows, cols, NULL));
    check(gsq_graph_scaled_laplacian(&lhat, a, GSQ_LAPLACIAN_SYM, 2.0f));
    gsq_graph_destroy(a);
    return lhat;
}

int main(int argc, char **argv) {
    const int runs = argc > 1 && atoi(argv[1]) > 0 && atoi(argv[1]) <= MAX_RUNS ? atoi(argv[1]) : 7;
    check(gsq_set_num_threads(1));
    gsq_graph_t lhat = knn_laplacian();
    const size_t step = (size_t)ROWS * H, term_stride = (size_t)T * step;
    float *xbasis = filled((size_t)T * ROWS * KF), *terms = filled(2 * term_stride);
    float *gates = filled((size_t)(T + 1) * ROWS * 4 * H); /* slot t+1 takes step t's dgates */
    float *cells = filled((T + 1) * step), *states = filled((T + 1) * step);
    float *w = filled((size_t)KC * 4 * H), *bias = filled(4 * H), *peephole = filled(3 * H);
    float *dh = filled(step), *dc = filled(step), *dc_prev = filled(step);
    float *dbasis = filled((size_t)ROWS * KC), *dbias = filled(4 * H), *dpeephole = filled(3 * H);
    gsq_packed_b_t wp, wt;
    check(gsq_sgemm_pack_b(GSQ_NO_TRANS, KC, 4 * H, w, 4 * H, &wp));
    check(gsq_sgemm_pack_b(GSQ_TRANS, 4 * H, KC, w, 4 * H, &wt));
    double fwd[LAYOUTS][MAX_RUNS], bwd[LAYOUTS][MAX_RUNS];

    for (int r = 0; r < runs; r++)
        for (int l = 0; l < LAYOUTS; l++) {
            const int b = block_sizes[l];
            const int64_t rows = (int64_t)N * b; /* a block's rows */
            const double t0 = now_ms();
            for (int t = 0; t < T; t++)
                for (int64_t r0 = 0; r0 < ROWS; r0 += rows) {
                    float *h = states + t * step + r0 * H, *t1 = terms + t * step + r0 * H;
                    float *g = gates + ((size_t)t * ROWS + r0) * 4 * H;
                    check(gsq_cheb_terms(lhat, K, b * H, h, b * H, t1, b * H, term_stride));
                    const gsq_matrix_part_t parts[4] = {
                        {xbasis + ((size_t)t * ROWS + r0) * KF, KF, KF}, {h, H, H}, {t1, H, H},
                        {t1 + term_stride, H, H}};
                    check(gsq_sgemm_packed_parts(rows, 1, 4, parts, wp, 0, g, 4 * H));
                    check(gsq_lstm_cell_forward(rows, H, GSQ_LSTM_PEEPHOLE, g, bias, peephole,
                                                cells + t * step + r0 * H,
                                                cells + (t + 1) * step + r0 * H,
                                                states + (t + 1) * step + r0 * H));
                }
            const double t1 = now_ms();
            for (int t = T - 1; t >= 0; t--)
                for (int64_t r0 = 0; r0 < ROWS; r0 += rows) {
                    const float *g = gates + ((size_t)t * ROWS + r0) * 4 * H;
                    float *dg = gates + ((size_t)(t + 1) * ROWS + r0) * 4 * H;
                    check(gsq_lstm_cell_backward(rows, H, GSQ_LSTM_PEEPHOLE, g, peephole,
                                                 cells + t * step + r0 * H,
                                                 cells + (t + 1) * step + r0 * H, dh + r0 * H,
                                                 dc + r0 * H, dg, dc_prev + r0 * H, dpeephole,
                                                 dbias));
                    check(gsq_sgemm_packed(GSQ_NO_TRANS, rows, 1, dg, 4 * H, wt, 0,
                                           dbasis + r0 * KC, KC));
                    check(gsq_cheb_basis_batched_backward(lhat, K, b, H, dbasis + r0 * KC + KF, KC,
                                                          0, dh + r0 * H, b * H));
                }
            fwd[l][r] = t1 - t0, bwd[l][r] = now_ms() - t1;
        }

    for (int l = 0; l < LAYOUTS; l++) {
        qsort(fwd[l], runs, sizeof(double), by_value);
        qsort(bwd[l], runs, sizeof(double), by_value);
        printf("b=%2d (%2d blocks): forward median %.1f ms, backward without the weight "
               "gradient %.1f ms\n", block_sizes[l], B / block_sizes[l], fwd[l][runs / 2],
               bwd[l][runs / 2]);
    }
    return 0;
}
