/* One Chebyshev graph convolution feeding one LSTM step, from plain C through
 * graphseq.h and the shared library libgraphseq.so.
 *
 * A ring of N nodes with C input features per node: the scaled Laplacian's
 * Chebyshev basis (K terms) times a weight matrix gives the LSTM gate
 * pre-activations of every node, and one fused cell step gives c and h.
 * The program checks its GEMM result against a naive loop, shows a rejected
 * call, and exits non-zero on any failure.
 *
 * Build against an installed library (make install, then):
 *   cc -std=c99 kernels_example.c $(pkg-config --cflags --libs graphseq) -lm -o kernels_example
 */
#include <graphseq.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 12, C = 3, K = 3, H = 4 };

#define CHECK(call)                                                            \
    do {                                                                       \
        gsq_status_t s_ = (call);                                              \
        if (s_ != GSQ_SUCCESS) {                                               \
            fprintf(stderr, "%s failed: %s (%s)\n", #call,                     \
                    gsq_status_string(s_), gsq_last_error());                  \
            return 1;                                                          \
        }                                                                      \
    } while (0)

int main(void) {
    if (!GSQ_VERSION_COMPATIBLE(gsq_version())) {
        fprintf(stderr, "graphseq: header %d, library %d\n", GSQ_VERSION,
                gsq_version());
        return 1;
    }
    printf("graphseq %s, isa %s, %d threads\n", gsq_version_string(),
           gsq_isa_name(gsq_get_isa()), gsq_get_num_threads());

    /* The ring graph as COO edges in both directions. */
    int32_t rows[2 * N], cols[2 * N];
    for (int i = 0; i < N; i++) {
        rows[2 * i] = i, cols[2 * i] = (i + 1) % N;
        rows[2 * i + 1] = (i + 1) % N, cols[2 * i + 1] = i;
    }
    gsq_graph_t ring = NULL, lhat = NULL;
    CHECK(gsq_graph_create_coo(&ring, N, N, 2 * N, rows, cols, NULL));
    CHECK(gsq_graph_scaled_laplacian(&lhat, ring, GSQ_LAPLACIAN_SYM, 2.0f));

    /* Node features, the basis [N][K*C], and weights [K*C][4H]. */
    float x[N * C], basis[N * K * C], w[K * C * 4 * H], gates[N * 4 * H];
    for (int i = 0; i < N * C; i++) x[i] = sinf((float)i);
    for (int i = 0; i < K * C * 4 * H; i++) w[i] = 0.1f * cosf((float)i);
    CHECK(gsq_cheb_basis(lhat, K, C, x, C, basis, K * C));
    CHECK(gsq_sgemm(GSQ_NO_TRANS, GSQ_NO_TRANS, N, 4 * H, K * C, 1.0f, basis,
                    K * C, w, 4 * H, 0.0f, gates, 4 * H));

    double worst = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 4 * H; j++) {
            double ref = 0;
            for (int p = 0; p < K * C; p++)
                ref += (double)basis[i * K * C + p] * w[p * 4 * H + j];
            worst = fmax(worst, fabs(ref - gates[i * 4 * H + j]));
        }
    printf("gemm vs naive loop: max |error| = %.2e\n", worst);
    if (worst > 1e-5) return 1;

    /* One LSTM step for every node from zero state. */
    float c[N * H], h[N * H];
    CHECK(gsq_lstm_cell_forward(N, H, 0, gates, NULL, NULL, NULL, c, h));
    printf("h[node 0] = %.4f %.4f %.4f %.4f\n", h[0], h[1], h[2], h[3]);

    /* Bad input is reported, not a crash. */
    gsq_status_t s = gsq_sgemm(GSQ_NO_TRANS, GSQ_NO_TRANS, N, 4 * H, K * C, 1.0f,
                               basis, 1, w, 4 * H, 0.0f, gates, 4 * H);
    printf("lda too small -> %s: %s\n", gsq_status_string(s), gsq_last_error());
    if (s != GSQ_ERR_INVALID_ARGUMENT) return 1;

    gsq_graph_destroy(lhat);
    gsq_graph_destroy(ring);
    return 0;
}
