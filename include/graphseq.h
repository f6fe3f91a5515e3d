/*
 * graphseq.h: the C interface of GraphSeq, a CPU library for graph-structured
 * sequence models (recurrent nets, graph convolutions and their combination).
 *
 * Overview
 *   - Every fallible call returns gsq_status_t (GSQ_SUCCESS == 0, failures < 0).
 *     gsq_last_error() gives a human-readable message for the most recent
 *     failure on the calling thread. Bad arguments never crash: they are
 *     reported as GSQ_ERR_INVALID_ARGUMENT / GSQ_ERR_INVALID_GRAPH and no output
 *     is written.
 *   - Dense matrices are row-major float32; a leading dimension (ld*) is the
 *     distance in elements between the starts of consecutive rows, >= the row
 *     length. Sizes are int64_t; negative sizes are rejected.
 *   - Sparse matrices are CSR: 64-bit row offsets (nrows + 1 of them, starting
 *     at 0, non-decreasing), 32-bit column indices strictly increasing within a
 *     row, float32 values (NULL values mean every stored entry is 1).
 *   - Handles (gsq_graph_t) are opaque; what the library allocates it frees
 *     (gsq_graph_destroy, which accepts NULL). Input arrays are copied, never
 *     retained.
 *   - Kernels run on a team of OpenMP threads (gsq_set_num_threads, environment
 *     GRAPHSEQ_NUM_THREADS). Results are bitwise identical for every thread
 *     count. Kernels are chosen once per ISA (generic, AVX2+FMA, AVX-512); the
 *     ISA can be capped (gsq_set_max_isa, environment GRAPHSEQ_MAX_ISA =
 *     generic|avx2|avx512). GRAPHSEQ_VERBOSE=1 prints, per call, the kernel,
 *     ISA, thread count and time to stderr.
 *
 * Worked example: one Chebyshev graph convolution, Y = sum_k T_k(L) X W_k.
 *
 *     gsq_graph_t a = NULL, lhat = NULL;
 *     gsq_status_t s = gsq_graph_create_coo(&a, n, n, nnz, rows, cols, NULL);
 *     if (s == GSQ_SUCCESS)
 *         s = gsq_graph_scaled_laplacian(&lhat, a, GSQ_LAPLACIAN_SYM, 2.0f);
 *     if (s == GSQ_SUCCESS)     // basis: [n][K*c], term k in columns k*c..k*c+c-1
 *         s = gsq_cheb_basis(lhat, K, c, x, c, basis, K * c);
 *     if (s == GSQ_SUCCESS)     // Y[n][f] = basis[n][K*c] * W[K*c][f]
 *         s = gsq_sgemm(GSQ_NO_TRANS, GSQ_NO_TRANS, n, f, K * c, 1.0f,
 *                       basis, K * c, w, f, 0.0f, y, f);
 *     if (s != GSQ_SUCCESS)
 *         fprintf(stderr, "graphseq: %s\n", gsq_last_error());
 *     gsq_graph_destroy(lhat);
 *     gsq_graph_destroy(a);
 */
#ifndef GRAPHSEQ_H
#define GRAPHSEQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define GSQ_API __attribute__((visibility("default")))
#else
#define GSQ_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */

#define GSQ_VERSION_MAJOR 0
#define GSQ_VERSION_MINOR 1
#define GSQ_VERSION_PATCH 0
/** The header's version as one number: major * 10000 + minor * 100 + patch. */
#define GSQ_VERSION \
    (GSQ_VERSION_MAJOR * 10000 + GSQ_VERSION_MINOR * 100 + GSQ_VERSION_PATCH)

/** The library's version, encoded like GSQ_VERSION; compare the two to detect
 *  a header/library mismatch. */
GSQ_API int gsq_version(void);
/** The library's version as "major.minor.patch" (static storage). */
GSQ_API const char *gsq_version_string(void);

/* ------------------------------------------------------------------------ */
/* Status and errors                                                         */
/* ------------------------------------------------------------------------ */

typedef enum gsq_status {
    GSQ_SUCCESS = 0,
    GSQ_ERR_INVALID_ARGUMENT = -1, /**< NULL pointer, bad size, stride or enum */
    GSQ_ERR_OUT_OF_MEMORY = -2,    /**< an allocation failed; nothing was written */
    GSQ_ERR_INVALID_GRAPH = -3,    /**< CSR/COO arrays are not well formed */
    GSQ_ERR_UNSUPPORTED = -4,      /**< valid request this build/CPU cannot serve */
    GSQ_ERR_NOT_CONVERGED = -5,    /**< an iterative estimate did not converge */
    GSQ_ERR_INTERNAL = -99         /**< a bug in GraphSeq; please report it */
} gsq_status_t;

/** A short constant description of a status code (never NULL). */
GSQ_API const char *gsq_status_string(gsq_status_t status);
/** The message of the most recent failure on the calling thread, or "" if
 *  none has failed yet. Never NULL; valid until the thread's next failing call. */
GSQ_API const char *gsq_last_error(void);

/* ------------------------------------------------------------------------ */
/* Threads, ISA, diagnostics                                                 */
/* ------------------------------------------------------------------------ */

/** Number of threads each kernel call uses (process-wide). n >= 1, or 0 to
 *  restore the default (GRAPHSEQ_NUM_THREADS, else the number of CPUs). */
GSQ_API gsq_status_t gsq_set_num_threads(int n);
GSQ_API int gsq_get_num_threads(void);

typedef enum gsq_isa {
    GSQ_ISA_GENERIC = 0, /**< portable C, always available */
    GSQ_ISA_AVX2 = 1,    /**< AVX2 + FMA */
    GSQ_ISA_AVX512 = 2   /**< AVX-512 F/BW/DQ/VL */
} gsq_isa_t;

/** Caps the instruction set kernels may use (process-wide). The active ISA is
 *  the lower of the cap and the best the CPU supports. */
GSQ_API gsq_status_t gsq_set_max_isa(gsq_isa_t isa);
/** The cap last set (GSQ_ISA_AVX512, the highest, when never capped). */
GSQ_API gsq_isa_t gsq_get_max_isa(void);
/** The ISA kernels dispatch to now. */
GSQ_API gsq_isa_t gsq_get_isa(void);
/** The best ISA this CPU supports, ignoring any cap. */
GSQ_API gsq_isa_t gsq_get_cpu_isa(void);
/** "generic", "avx2", "avx512", or "unknown" (static storage, never NULL). */
GSQ_API const char *gsq_isa_name(gsq_isa_t isa);

/** 0: silent; 1: one line per kernel call on stderr (kernel, ISA, threads,
 *  milliseconds). Initialised from GRAPHSEQ_VERBOSE. */
GSQ_API void gsq_set_verbose(int level);
GSQ_API int gsq_get_verbose(void);

/** Measures this machine's single-thread fp32 FMA peak with the active ISA
 *  (independent FMA chains for about `seconds`), in GFLOP/s. */
GSQ_API gsq_status_t gsq_measure_fma_peak(double seconds, double *gflops);
/** Measures memory bandwidth with the STREAM triad a[i] = b[i] + s*c[i] over
 *  arrays of `bytes_per_array` bytes each on the current thread count, in
 *  GB/s (counting 3 arrays' worth of traffic per pass). */
GSQ_API gsq_status_t gsq_measure_stream_triad(size_t bytes_per_array,
                                              double seconds, double *gbps);

/* ------------------------------------------------------------------------ */
/* Dense: SGEMM                                                              */
/* ------------------------------------------------------------------------ */

typedef enum gsq_transpose { GSQ_NO_TRANS = 0, GSQ_TRANS = 1 } gsq_transpose_t;

/**
 * C := alpha * op(A) * op(B) + beta * C, row-major (the BLAS contract).
 *   op(A) is m x k: A is m x k (lda >= k) if transa == GSQ_NO_TRANS, else A is
 *   k x m (lda >= m). op(B) is k x n: B is k x n (ldb >= n) or n x k (ldb >= k).
 *   C is m x n, ldc >= n. With beta == 0, C is not read (NaN in C is ignored).
 *   m, n or k may be 0 (with k == 0, C := beta * C); with alpha == 0 the
 *   product is skipped (A and B are not read). C must not overlap A or B.
 * Pointers may be NULL only when the matrix they describe is empty.
 */
GSQ_API gsq_status_t gsq_sgemm(gsq_transpose_t transa, gsq_transpose_t transb,
                               int64_t m, int64_t n, int64_t k, float alpha,
                               const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc);

/* ------------------------------------------------------------------------ */
/* Sparse: CSR SpMM on raw arrays                                            */
/* ------------------------------------------------------------------------ */

/**
 * Y := alpha * A * X + beta * Y for a CSR matrix A (nrows x ncols).
 *   X is ncols x nfeat (ldx >= nfeat), Y is nrows x nfeat (ldy >= nfeat).
 *   values may be NULL (all ones). With beta == 0, Y is not read.
 *   The CSR arrays are validated on every call (O(nrows + nnz)); use a
 *   gsq_graph_t to validate once. Y must not overlap X (disjoint column
 *   blocks of one wider buffer are fine). Each row is computed by one thread
 *   in a fixed order, so results do not depend on the thread count.
 */
GSQ_API gsq_status_t gsq_spmm_csr_f32(int64_t nrows, int64_t ncols,
                                      const int64_t *row_ptr,
                                      const int32_t *col_idx,
                                      const float *values, int64_t nfeat,
                                      float alpha, const float *x, int64_t ldx,
                                      float beta, float *y, int64_t ldy);

/* ------------------------------------------------------------------------ */
/* Graphs: validated CSR operators                                           */
/* ------------------------------------------------------------------------ */

/** A validated, immutable CSR matrix. Row i holds the weights with which node i
 *  aggregates its neighbours j (Y = A X gives y_i = sum_j A_ij x_j); in
 *  PyTorch Geometric terms, an edge j -> i. Thread-safe to share. */
typedef struct gsq_graph *gsq_graph_t;

/** Copies a CSR matrix. Requires row_ptr[0] == 0, non-decreasing offsets,
 *  0 <= col_idx < ncols, strictly increasing columns within each row, finite
 *  values. values == NULL means all ones. nrows, ncols < 2^31. */
GSQ_API gsq_status_t gsq_graph_create_csr(gsq_graph_t *out, int64_t nrows,
                                          int64_t ncols, const int64_t *row_ptr,
                                          const int32_t *col_idx,
                                          const float *values);
/** Builds a CSR matrix from nnz (row, col, value) triples in any order;
 *  duplicates are summed. values == NULL means all ones. */
GSQ_API gsq_status_t gsq_graph_create_coo(gsq_graph_t *out, int64_t nrows,
                                          int64_t ncols, int64_t nnz,
                                          const int32_t *rows,
                                          const int32_t *cols,
                                          const float *values);
/** Frees a graph; NULL is allowed. */
GSQ_API void gsq_graph_destroy(gsq_graph_t graph);

/** Shape and number of stored entries; any output pointer may be NULL. */
GSQ_API gsq_status_t gsq_graph_shape(gsq_graph_t graph, int64_t *nrows,
                                     int64_t *ncols, int64_t *nnz);
/** Borrowed views of the CSR arrays (valid until gsq_graph_destroy). values
 *  is never NULL here (unit weights are materialised). */
GSQ_API gsq_status_t gsq_graph_csr(gsq_graph_t graph, const int64_t **row_ptr,
                                   const int32_t **col_idx,
                                   const float **values);
/** *out = 1 if the matrix is square and equal to its transpose, else 0. */
GSQ_API gsq_status_t gsq_graph_is_symmetric(gsq_graph_t graph, int *out);
/** A new graph holding the transpose. */
GSQ_API gsq_status_t gsq_graph_transpose(gsq_graph_t *out, gsq_graph_t graph);

/** GCN renormalisation (Kipf & Welling): D^-1/2 (A + I) D^-1/2, where D is the
 *  row sums of A + I. Existing self loops are kept and missing ones added with
 *  weight 1 (PyTorch Geometric's gcn_norm). Requires a square matrix. D^-1/2
 *  is taken as 0 where a degree is not positive. */
GSQ_API gsq_status_t gsq_graph_gcn_norm(gsq_graph_t *out, gsq_graph_t graph);

typedef enum gsq_laplacian {
    GSQ_LAPLACIAN_NONE = 0, /**< L = D - A */
    GSQ_LAPLACIAN_SYM = 1,  /**< L = I - D^-1/2 A D^-1/2 */
    GSQ_LAPLACIAN_RW = 2    /**< L = I - D^-1 A */
} gsq_laplacian_t;

/** The graph Laplacian of a square A (self loops of A are ignored, as in
 *  PyTorch Geometric's get_laplacian); D is the row sums of A. For an
 *  isolated node (zero degree) D^-1 and D^-1/2 are taken as 0, so its row is
 *  0 for NONE and the identity row for SYM and RW (D^-1/2 is also 0 for a
 *  negative degree). Every diagonal entry is stored, even when 0. */
GSQ_API gsq_status_t gsq_graph_laplacian(gsq_graph_t *out, gsq_graph_t graph,
                                         gsq_laplacian_t norm);
/** Largest eigenvalue of a square operator: Lanczos with full
 *  reorthogonalisation (at most 100 steps, memory 101 vectors of n doubles)
 *  when it is symmetric, relative accuracy about 1e-6; power iteration
 *  otherwise (dominant eigenvalue magnitude, at most 2000 steps). The start
 *  vector is fixed, so results are repeatable. 0 for an empty matrix.
 *  GSQ_ERR_NOT_CONVERGED when the error estimate stays above 1e-3. */
GSQ_API gsq_status_t gsq_graph_lambda_max(gsq_graph_t graph, float *out);
/** The scaled Laplacian 2 L / lambda_max - I that Chebyshev filters use.
 *  lambda_max > 0 is used as given (PyTorch Geometric's default is 2 for SYM
 *  and RW); lambda_max <= 0 estimates it with gsq_graph_lambda_max (for RW,
 *  on SYM, which has the same eigenvalues). Non-finite lambda_max, or an
 *  estimate that is not positive (a graph without edges, NONE), is an error. */
GSQ_API gsq_status_t gsq_graph_scaled_laplacian(gsq_graph_t *out,
                                                gsq_graph_t graph,
                                                gsq_laplacian_t norm,
                                                float lambda_max);

/**
 * Y := alpha * op(A) * X + beta * Y with op(A) = A or A^T (trans). X has
 * ncols(op(A)) rows, Y nrows(op(A)) rows, both nfeat columns. A^T uses a
 * transposed copy built on first use and cached in the graph (none is built
 * for a symmetric A), so there are no atomics and results are deterministic.
 */
GSQ_API gsq_status_t gsq_graph_spmm(gsq_graph_t graph, gsq_transpose_t trans,
                                    int64_t nfeat, float alpha, const float *x,
                                    int64_t ldx, float beta, float *y,
                                    int64_t ldy);

/* ------------------------------------------------------------------------ */
/* Chebyshev basis                                                           */
/* ------------------------------------------------------------------------ */

/**
 * Chebyshev basis of X (n x nfeat, ldx) for a square operator L (n x n,
 * usually a scaled Laplacian):
 *     T_0 = X,  T_1 = L X,  T_k = 2 L T_{k-1} - T_{k-2}   (k < K).
 * Written node-major so one GEMM applies all filters: basis is n x ldb with
 * ldb >= K * nfeat, and T_k occupies columns [k*nfeat, (k+1)*nfeat). 1 <= K
 * <= 64. basis must not overlap x. For K > 2 the terms being gathered are also
 * kept contiguously in per-thread scratch (up to 2 * n * nfeat floats).
 */
GSQ_API gsq_status_t gsq_cheb_basis(gsq_graph_t lhat, int64_t K, int64_t nfeat,
                                    const float *x, int64_t ldx, float *basis,
                                    int64_t ldb);
/**
 * Adjoint of gsq_cheb_basis: given G_k = dLoss/dT_k in dbasis (same layout),
 *     dX := sum_k T_k(L)^T G_k  +  beta * dX,
 * the gradient of the loss w.r.t. X (T_k(L) is the Chebyshev polynomial of
 * the operator, T_k X the k-th term), computed by running the recursion
 * backwards: G_{k-1} += 2 L^T G_k, G_{k-2} -= G_k for k = K-1..2, then
 * G_0 += L^T G_1. dbasis is used as scratch and is
 * overwritten. dX is n x nfeat (lddx >= nfeat); with beta == 0 it is not read.
 * L^T is the graph's cached transpose (none for a symmetric L).
 */
GSQ_API gsq_status_t gsq_cheb_basis_backward(gsq_graph_t lhat, int64_t K,
                                             int64_t nfeat, float *dbasis,
                                             int64_t ldb, float beta,
                                             float *dx, int64_t lddx);

/* ------------------------------------------------------------------------ */
/* Fused recurrent cells                                                     */
/*                                                                           */
/* All buffers are dense and row-major: batch rows of width hidden (or a     */
/* multiple of it for gates). Optional pointers may be NULL as stated.       */
/* Outputs must not overlap other arguments unless stated. sigma is the      */
/* logistic sigmoid.                                                         */
/* ------------------------------------------------------------------------ */

/** LSTM options (bit flags). */
#define GSQ_LSTM_PEEPHOLE 1u /**< diagonal peepholes w_ci, w_cf, w_co */
#define GSQ_LSTM_COUPLED 2u  /**< coupled input/forget gate: i = 1 - f */

/**
 * One LSTM step over a batch. gates is batch x 4*hidden holding the gate
 * pre-activations (input and recurrent products summed) in the order i, f, g, o;
 * on return it holds the activations i, f, g, o (what backward needs).
 *     i = sigma(a_i + b_i + w_ci * c_prev)     (i = 1 - f when COUPLED)
 *     f = sigma(a_f + b_f + w_cf * c_prev)
 *     g = tanh (a_g + b_g)
 *     c = f * c_prev + i * g
 *     o = sigma(a_o + b_o + w_co * c)
 *     h = o * tanh(c)
 * bias: 4*hidden or NULL (zeros). peephole: 3*hidden (w_ci, w_cf, w_co),
 * required with GSQ_LSTM_PEEPHOLE, ignored otherwise. c_prev: NULL means zeros.
 * c and h: batch x hidden outputs. With COUPLED, the i pre-activation slot is
 * ignored (and w_ci is unused).
 */
GSQ_API gsq_status_t gsq_lstm_cell_forward(int64_t batch, int64_t hidden,
                                           uint32_t flags, float *gates,
                                           const float *bias,
                                           const float *peephole,
                                           const float *c_prev, float *c,
                                           float *h);
/**
 * Backward of gsq_lstm_cell_forward. Inputs: gates (the activations it
 * returned), peephole, c_prev (NULL = zeros), c, dh = dLoss/dh (batch x
 * hidden), dc = dLoss/dc from later steps (NULL = zeros). Outputs: dgates
 * (batch x 4*hidden, gradient w.r.t. the pre-activations; the i slot is 0
 * with COUPLED), dc_prev (batch x hidden, may be NULL). Accumulated (+=) when
 * not NULL: dpeephole (3*hidden; used only with GSQ_LSTM_PEEPHOLE),
 * dbias (4*hidden, sum of dgates over batch). With COUPLED the i slot of
 * gates is not read (i = 1 - f) and the i parts of dbias and dpeephole are
 * left unchanged.
 */
GSQ_API gsq_status_t gsq_lstm_cell_backward(
    int64_t batch, int64_t hidden, uint32_t flags, const float *gates,
    const float *peephole, const float *c_prev, const float *c,
    const float *dh, const float *dc, float *dgates, float *dc_prev,
    float *dpeephole, float *dbias);

/**
 * GRU step, linear-before-reset form (PyTorch, cuDNN), gate order r, z, n.
 * gx = x W_ih^T and gh = h_prev W_hh^T, both batch x 3*hidden, without biases.
 *     r = sigma(gx_r + b_ir + gh_r + b_hr)
 *     z = sigma(gx_z + b_iz + gh_z + b_hz)
 *     n = tanh (gx_n + b_in + r * (gh_n + b_hn))
 *     h = (1 - z) * n + z * h_prev
 * b_ih, b_hh: 3*hidden or NULL. h_prev NULL means zeros. On return gx holds
 * r, z, n and the n slot of gh holds gh_n + b_hn (what backward needs).
 */
GSQ_API gsq_status_t gsq_gru_cell_forward(int64_t batch, int64_t hidden,
                                          float *gx, float *gh,
                                          const float *b_ih, const float *b_hh,
                                          const float *h_prev, float *h);
/**
 * Backward of gsq_gru_cell_forward. Inputs: gx, gh as it returned them,
 * h_prev (NULL = zeros), dh (batch x hidden). Outputs: dgx, dgh (batch x
 * 3*hidden: gradients w.r.t. gx and gh), dh_prev (batch x hidden, only the
 * direct path z * dh; may be NULL). Accumulated when not NULL: db_ih, db_hh.
 */
GSQ_API gsq_status_t gsq_gru_cell_backward(int64_t batch, int64_t hidden,
                                           const float *gx, const float *gh,
                                           const float *h_prev, const float *dh,
                                           float *dgx, float *dgh,
                                           float *dh_prev, float *db_ih,
                                           float *db_hh);

/**
 * GRU step, reset-before-product form (Cho et al. 2014; PyTorch Geometric
 * Temporal's GConvGRU), in two phases around the caller's recurrent product
 * for the candidate. gates is batch x 3*hidden, order r, z, n; bias is
 * 3*hidden or NULL; h_prev NULL means zeros.
 * Phase 1, gsq_gru_rb_gates_forward: the r and z slots hold the summed
 * pre-activations; computes r = sigma(. + b_r), z = sigma(. + b_z) in place and
 * rh = r * h_prev (batch x hidden), the input of the recurrent product U_n.
 * Phase 2, gsq_gru_rb_output_forward: the n slot holds W_n x + U_n (r * h_prev);
 * computes n = tanh(. + b_n) in place and h = (1 - z) * n + z * h_prev.
 */
GSQ_API gsq_status_t gsq_gru_rb_gates_forward(int64_t batch, int64_t hidden,
                                              float *gates, const float *bias,
                                              const float *h_prev, float *rh);
GSQ_API gsq_status_t gsq_gru_rb_output_forward(int64_t batch, int64_t hidden,
                                               float *gates, const float *bias,
                                               const float *h_prev, float *h);
/**
 * Backward of the two phases, in reverse order.
 * gsq_gru_rb_output_backward: from dh, writes the z and n slots of dgates
 * (gradients w.r.t. the pre-activations) and dh_prev := z * dh (may be NULL);
 * the caller then back-propagates dgates' n slot through U_n to get drh.
 * gsq_gru_rb_gates_backward: from drh = dLoss/d(r * h_prev), writes the r slot
 * of dgates and adds r * drh to dh_prev (may be NULL).
 * dbias (3*hidden) is accumulated by each phase for its slots when not NULL.
 */
GSQ_API gsq_status_t gsq_gru_rb_output_backward(
    int64_t batch, int64_t hidden, const float *gates, const float *h_prev,
    const float *dh, float *dgates, float *dh_prev, float *dbias);
GSQ_API gsq_status_t gsq_gru_rb_gates_backward(
    int64_t batch, int64_t hidden, const float *gates, const float *h_prev,
    const float *drh, float *dgates, float *dh_prev, float *dbias);

typedef enum gsq_activation {
    GSQ_ACTIVATION_TANH = 0,
    GSQ_ACTIVATION_RELU = 1
} gsq_activation_t;

/** Vanilla RNN step: h = act(pre + bias). pre, h: batch x hidden (h may equal
 *  pre); bias: hidden or NULL. */
GSQ_API gsq_status_t gsq_rnn_cell_forward(int64_t batch, int64_t hidden,
                                          gsq_activation_t act,
                                          const float *pre, const float *bias,
                                          float *h);
/** Backward: dpre = dh * act'(.) computed from h; dpre may equal dh. dbias
 *  (hidden) is accumulated when not NULL. */
GSQ_API gsq_status_t gsq_rnn_cell_backward(int64_t batch, int64_t hidden,
                                           gsq_activation_t act, const float *h,
                                           const float *dh, float *dpre,
                                           float *dbias);

#ifdef __cplusplus
}
#endif

#endif /* GRAPHSEQ_H */
