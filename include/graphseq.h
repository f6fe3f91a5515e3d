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
/**
 * Nonzero when a library of version v (gsq_version()) serves this header:
 * major and minor agree (a patch release changes no declaration). A program
 * checks it once, before any other call, so that running against another
 * build of the shared library fails clearly instead of corrupting memory:
 *
 *     if (!GSQ_VERSION_COMPATIBLE(gsq_version())) {
 *         fprintf(stderr, "graphseq: header %d, library %d\n", GSQ_VERSION,
 *                 gsq_version());
 *         return 1;
 *     }
 */
#define GSQ_VERSION_COMPATIBLE(v) ((v) / 100 == GSQ_VERSION / 100)

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
/** Calls with less work than this per thread use fewer threads (a call under
 *  twice it runs on the calling thread alone): waking a team costs more than
 *  small products gain. Work is counted in multiply-adds (or floats moved);
 *  default 262144. 0 always uses every thread. Results are the same either
 *  way (they never depend on the thread count). */
GSQ_API gsq_status_t gsq_set_min_work_per_thread(int64_t work);
GSQ_API int64_t gsq_get_min_work_per_thread(void);

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

/** op(B) packed once for many products with it, e.g. a recurrent weight
 *  applied at every step: the per-call packing of B is skipped. */
typedef struct gsq_packed_b *gsq_packed_b_t;
/** Packs op(B) (k x n; B is k x n, or n x k with GSQ_TRANS, ldb) for the
 *  active ISA into a new object (about k * n floats); B is not referenced
 *  afterwards. Free it with gsq_sgemm_packed_b_destroy. */
GSQ_API gsq_status_t gsq_sgemm_pack_b(gsq_transpose_t transb, int64_t k,
                                      int64_t n, const float *b, int64_t ldb,
                                      gsq_packed_b_t *out);
/** Frees a packed B; NULL is allowed. */
GSQ_API void gsq_sgemm_packed_b_destroy(gsq_packed_b_t b);
/** C := alpha * op(A) * B + beta * C with a packed B (k x n): op(A) is m x k,
 *  C m x n. Bitwise the same as gsq_sgemm on the unpacked B. The active ISA
 *  must be the one B was packed for (else GSQ_ERR_INVALID_ARGUMENT). */
GSQ_API gsq_status_t gsq_sgemm_packed(gsq_transpose_t transa, int64_t m,
                                      float alpha, const float *a, int64_t lda,
                                      gsq_packed_b_t b, float beta, float *c,
                                      int64_t ldc);

/** One operand of a product given as column blocks side by side, as when
 *  the GEMM of a recurrent step reads [x_t h_{t-1}] or a Chebyshev layer
 *  [T_0 X, T_1 X, ...] without assembling it: part i has `cols` columns at
 *  `data`, `ld` (>= cols) apart, and every part has the operand's rows. */
typedef struct gsq_matrix_part {
    const float *data;
    int64_t ld;
    int64_t cols;
} gsq_matrix_part_t;
/** C := alpha * [A_0 A_1 ... A_{nparts-1}] * B + beta * C with a packed B
 *  (k x n): the A parts are m rows each, their widths summing to k. Bitwise
 *  the same as gsq_sgemm_packed on the assembled A. */
GSQ_API gsq_status_t gsq_sgemm_packed_parts(int64_t m, float alpha, int64_t nparts,
                                            const gsq_matrix_part_t *a,
                                            gsq_packed_b_t b, float beta, float *c,
                                            int64_t ldc);
/** C := alpha * op(A) * [B_0 B_1 ... B_{nparts-1}] + beta * C: op(A) is
 *  m x k as in gsq_sgemm, the B parts are k rows each and their widths sum
 *  to n, C is m x n. Bitwise the same as gsq_sgemm on the assembled B. Parts
 *  starting at multiples of the kernel's tile width (32 columns with
 *  AVX-512, 16 with AVX2) pack fastest. */
GSQ_API gsq_status_t gsq_sgemm_parts_b(gsq_transpose_t transa, int64_t m, int64_t k,
                                       float alpha, const float *a, int64_t lda,
                                       int64_t nparts, const gsq_matrix_part_t *b,
                                       float beta, float *c, int64_t ldc);

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

/**
 * The Chebyshev basis of `batch` signals at once, laid out as the rows of the
 * GEMM that applies the filters. X is n x (batch * nfeat) (ldx): row i holds
 * nfeat features of each batch entry b, at columns [b*nfeat, (b+1)*nfeat).
 * basis is the (n * batch) x ldb matrix (ldb >= K * nfeat) whose row
 * i*batch + b holds entry b's K terms at node i side by side: T_k at columns
 * [k*nfeat, (k+1)*nfeat); columns past K * nfeat are left untouched (room for
 * other GEMM inputs). Same recursion and limits as gsq_cheb_basis (batch == 1
 * gives its layout); graphs up to tens of thousands of nodes run feature
 * block by feature block in cache (scratch of up to 16 MiB per thread), on
 * a copy of lhat renumbered for locality (reverse Cuthill-McKee, built on
 * first use and kept with lhat; bitwise the same sums) once a block outgrows
 * L2, larger ones through gsq_cheb_basis and a reorder (scratch of
 * n * K * batch * nfeat floats).
 */
GSQ_API gsq_status_t gsq_cheb_basis_batched(gsq_graph_t lhat, int64_t K,
                                            int64_t batch, int64_t nfeat,
                                            const float *x, int64_t ldx,
                                            float *basis, int64_t ldb);
/**
 * The terms T_k(L) X for k = 1..K-1, each its own n x nfeat matrix: T_k at
 * terms + (k-1) * term_stride (>= n * ldt), rows ldt apart; T_0 = X is not
 * copied. With X holding a batch of signals side by side (as in
 * gsq_cheb_basis_batched), row i*batch + b of [X, T_1 X, ...] read as
 * matrices of nfeat/batch columns is entry b's basis at node i: the parts
 * of a GEMM that applies the filters without assembling the basis
 * (gsq_sgemm_packed_parts). Bitwise the same terms as gsq_cheb_basis; same
 * cache blocking and relabelling as gsq_cheb_basis_batched, T_0 is neither
 * computed nor copied. The terms must not overlap X.
 */
GSQ_API gsq_status_t gsq_cheb_terms(gsq_graph_t lhat, int64_t K, int64_t nfeat,
                                    const float *x, int64_t ldx, float *terms,
                                    int64_t ldt, int64_t term_stride);
/**
 * Adjoint of gsq_cheb_basis_batched: dX := sum_k T_k(L)^T G_k + beta * dX
 * with G in the batched layout ((n * batch) x ldb rows, dbasis), which is left
 * unchanged. dX is n x (batch * nfeat) (lddx); with beta == 0 it is not read.
 */
GSQ_API gsq_status_t gsq_cheb_basis_batched_backward(gsq_graph_t lhat, int64_t K,
                                                     int64_t batch, int64_t nfeat,
                                                     const float *dbasis,
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
 * Each phase fused with the product before it: gates' r and z slots (phase 1)
 * or its n slot (phase 2) := [A_0 A_1 ...] * w as gsq_sgemm_packed_parts (w
 * packed k x 2*hidden, or k x hidden), then the phase on each block of rows
 * as soon as the product has finished it, while it is in cache. Bitwise the
 * same as the product followed by the phase. gates and rh / h must not
 * overlap the A parts (h_prev may be one of them).
 */
GSQ_API gsq_status_t gsq_gru_rb_gates_forward_parts(int64_t batch, int64_t hidden,
                                                    int64_t nparts,
                                                    const gsq_matrix_part_t *a,
                                                    gsq_packed_b_t w, float *gates,
                                                    const float *bias,
                                                    const float *h_prev, float *rh);
GSQ_API gsq_status_t gsq_gru_rb_output_forward_parts(int64_t batch, int64_t hidden,
                                                     int64_t nparts,
                                                     const gsq_matrix_part_t *a,
                                                     gsq_packed_b_t w, float *gates,
                                                     const float *bias,
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

/* ------------------------------------------------------------------------ */
/* Models: layers, training, checkpoints                                     */
/* ------------------------------------------------------------------------ */

/*
 * A gsq_model_t is one layer (or stack) of the Swift API behind an opaque
 * handle: it owns its parameters, their gradients, and the tensors of its
 * last forward and backward. The math of each kind is documented on the
 * Swift type named below (Sources/GraphSeq/Layers), which these functions
 * call unchanged, so results are bitwise equal to the Swift API's.
 *
 *   kind            Swift type          src              graph   output
 *   RNN_TANH, _RELU RNN                 [T, B, I] (1)    NULL    [T, B, D*H]
 *   LSTM            LSTM                [T, B, I] (1)    NULL    [T, B, D*O]
 *   GRU             GRU                 [T, B, I] (1)    NULL    [T, B, D*H]
 *   LINEAR          Linear              [..., I] (2)     NULL    [..., O]
 *   GCN_CONV        GCNConv             [N, (B,) I]      needed  [N, (B,) O]
 *   CHEB_CONV       ChebConv            [N, (B,) I]      needed  [N, (B,) O]
 *   GCONV_LSTM      GConvLSTM           [T, N, B, I]     needed  [T, N, B, H]
 *   GCONV_GRU       GConvGRU            [T, N, B, I]     needed  [T, N, B, H]
 *   GCRN_SEQ2SEQ    GCRNEncoderDecoder  [T, N, B, I]     needed  [horizon, N, B, O]
 *   GCRN1           GCRNModel1          [T, N, B, I]     needed  [T, N, B, H]
 *                   (a ChebConv I -> output_size per frame, ReLU, an LSTM
 *                   output_size -> H shared by all nodes)
 *
 * I = input_size, H = hidden_size, O = output_size (for LSTM: proj_size if
 * > 0, else H), D = 2 if bidirectional else 1, L = num_layers.
 * (1) [B, T, I] in and [B, T, D*.] out with batch_first. (2) rank 1 to 4.
 * States (h0, c0, final h and c, their gradients): sequence kinds h
 * [L*D, B, O] (O = H except for a projected LSTM) and, for LSTM only, c
 * [L*D, B, H], in PyTorch's order (layer-major, direction minor); GCONV_LSTM
 * h and c [N, B, H]; GCONV_GRU h [N, B, H]; the other kinds have no state.
 * `graph` is the (weighted) adjacency as the user has it: the model
 * normalises it (GCN renormalisation, or the scaled Laplacian of
 * `normalization` and `lambda_max`) and reuses the result while the same
 * adjacency (same arrays) is passed again.
 *
 * Ownership: every pointer a model hands out (tensors, parameter values and
 * gradients, names) belongs to the model; input arrays are copied, never
 * retained. A model or optimiser serves one call at a time (different
 * handles may be used concurrently). On failure nothing is written and the
 * model keeps the state of its last successful call.
 *
 * Worked example: a GConvLSTM trained with Adam on an MSE loss.
 *
 *     gsq_model_options_t mo = GSQ_MODEL_OPTIONS_INIT;
 *     mo.kind = GSQ_MODEL_GCONV_LSTM;  mo.lstm_flags = GSQ_LSTM_PEEPHOLE;
 *     mo.input_size = F;  mo.hidden_size = H;  mo.order = 3;
 *     gsq_optimizer_options_t oo = GSQ_OPTIMIZER_OPTIONS_INIT;  // Adam, 1e-3
 *     gsq_model_t m = NULL;
 *     gsq_optimizer_t opt = NULL;
 *     const int64_t shape[4] = {T, N, B, F};
 *     const float *y;
 *     float loss;
 *     gsq_status_t s = gsq_model_create(&m, &mo);
 *     if (!s) s = gsq_optimizer_create(&opt, m, &oo);
 *     for (int step = 0; !s && step < 100; step++) {
 *         s = gsq_model_forward(m, adjacency, x, 4, shape, NULL, NULL, NULL);
 *         if (!s) s = gsq_model_tensor(m, GSQ_MODEL_OUTPUT, &y, NULL, NULL);
 *         if (!s) s = gsq_loss_mse(T * N * B * H, y, target, &loss, dy);
 *         if (!s) s = gsq_model_zero_grad(m);
 *         if (!s) s = gsq_model_backward(m, dy, NULL, NULL);
 *         if (!s) s = gsq_model_clip_grad_norm(m, 5.0f, NULL);
 *         if (!s) s = gsq_optimizer_step(opt);
 *     }
 *     if (s) fprintf(stderr, "graphseq: %s\n", gsq_last_error());
 *     gsq_optimizer_destroy(opt);
 *     gsq_model_destroy(m);
 */

typedef struct gsq_model *gsq_model_t;

typedef enum gsq_model_kind {
    GSQ_MODEL_RNN_TANH = 0, /**< RNN, h = tanh(W_ih x + b_ih + W_hh h + b_hh) */
    GSQ_MODEL_RNN_RELU = 1, /**< RNN with ReLU */
    GSQ_MODEL_LSTM = 2,     /**< LSTM (torch.nn.LSTM + peephole/coupled options) */
    GSQ_MODEL_GRU = 3,      /**< GRU (torch.nn.GRU, or reset-before-product) */
    GSQ_MODEL_LINEAR = 4,   /**< y = x W^T + b on the last dimension */
    GSQ_MODEL_GCN_CONV = 5, /**< GCNConv (PyTorch Geometric) */
    GSQ_MODEL_CHEB_CONV = 6,  /**< ChebConv (PyTorch Geometric) */
    GSQ_MODEL_GCONV_LSTM = 7, /**< GConvLSTM (PyG-Temporal; GCRN model 2) */
    GSQ_MODEL_GCONV_GRU = 8,  /**< GConvGRU (PyG-Temporal) */
    GSQ_MODEL_GCRN1 = 9,      /**< GCRN model 1: per-frame graph CNN into an LSTM */
    GSQ_MODEL_GCRN_SEQ2SEQ = 10 /**< GCRN encoder-decoder, horizon steps ahead */
} gsq_model_kind_t;

/**
 * What to build. Start from GSQ_MODEL_OPTIONS_INIT and set the fields the
 * kind uses; fields a kind does not use are ignored.
 */
typedef struct gsq_model_options {
    uint32_t struct_size;    /**< sizeof(gsq_model_options_t) */
    gsq_model_kind_t kind;
    int64_t input_size;      /**< all kinds */
    int64_t hidden_size;     /**< recurrent kinds, GCONV_*, GCRN1, GCRN_SEQ2SEQ */
    int64_t output_size;     /**< LINEAR, GCN_CONV, CHEB_CONV, GCRN_SEQ2SEQ; GCRN1: graph CNN width */
    int64_t num_layers;      /**< sequence kinds, GCRN_SEQ2SEQ (>= 1) */
    int32_t bidirectional;   /**< sequence kinds: 0 or 1 */
    float dropout;           /**< sequence kinds: between layers, in training */
    int32_t bias;            /**< 0: no bias parameters */
    int32_t batch_first;     /**< sequence kinds: [B, T, .] instead of [T, B, .] */
    uint32_t lstm_flags;     /**< LSTM: GSQ_LSTM_PEEPHOLE | GSQ_LSTM_COUPLED;
                                  GCONV_LSTM: GSQ_LSTM_PEEPHOLE (PyG-Temporal has it) */
    int64_t proj_size;       /**< LSTM: projection of h (0: none) */
    int32_t gru_reset_before_product; /**< GRU: 1 = Cho et al.'s form */
    int64_t order;           /**< Chebyshev K >= 1: CHEB_CONV, GCONV_*, GCRN1, GCRN_SEQ2SEQ */
    gsq_laplacian_t normalization; /**< of the Chebyshev Laplacian */
    float lambda_max;        /**< > 0: used as given; 0: estimated per graph */
    int64_t horizon;         /**< GCRN_SEQ2SEQ: steps predicted */
    gsq_model_kind_t cell;   /**< GCRN_SEQ2SEQ: GSQ_MODEL_GCONV_LSTM or _GRU */
    uint64_t seed;           /**< parameters are initialised from it */
} gsq_model_options_t;

/** PyTorch's defaults: one unidirectional layer, bias, no dropout, time-major,
 *  symmetric Laplacian with lambda_max estimated, K = 2, horizon 1, seed 0. */
#define GSQ_MODEL_OPTIONS_INIT                                                 \
    {sizeof(gsq_model_options_t), GSQ_MODEL_LSTM, 0, 0, 0, 1, 0, 0.0f, 1, 0,  \
     0u, 0, 0, 2, GSQ_LAPLACIAN_SYM, 0.0f, 1, GSQ_MODEL_GCONV_LSTM, 0u}

/** Builds a model with freshly initialised parameters (the Swift type's
 *  initialisation, from options->seed). struct_size must equal
 *  sizeof(gsq_model_options_t). GSQ_ERR_UNSUPPORTED for a kind this library
 *  does not provide. */
GSQ_API gsq_status_t gsq_model_create(gsq_model_t *out,
                                      const gsq_model_options_t *options);
/** Releases a model; NULL is allowed. Its memory (and every pointer it
 *  handed out) is freed once no optimiser of it remains either. */
GSQ_API void gsq_model_destroy(gsq_model_t model);
/** training != 0 enables training-only behaviour (dropout); the default is
 *  training. */
GSQ_API gsq_status_t gsq_model_set_training(gsq_model_t model, int32_t training);

/**
 * Runs the model on src (rank and shape as in the table above, row-major)
 * and keeps what backward needs. graph: required for graph kinds, NULL
 * otherwise (only read during the call). lengths: sequence kinds only, B
 * entries in 1..T (outputs past a sequence's end are zero, its final state is
 * the state at its length), NULL = all T. h0, c0: initial states in the shapes
 * above, NULL = zeros; must be NULL for kinds without that state.
 */
GSQ_API gsq_status_t gsq_model_forward(gsq_model_t model, gsq_graph_t graph,
                                       const float *src, int64_t rank,
                                       const int64_t *shape,
                                       const int64_t *lengths,
                                       const float *h0, const float *c0);

typedef enum gsq_model_tensor {
    GSQ_MODEL_OUTPUT = 0,     /**< forward's output */
    GSQ_MODEL_STATE_H = 1,    /**< forward's final h */
    GSQ_MODEL_STATE_C = 2,    /**< forward's final c */
    GSQ_MODEL_GRAD_INPUT = 3, /**< backward's dLoss/dsrc */
    GSQ_MODEL_GRAD_H0 = 4,    /**< backward's dLoss/dh0 */
    GSQ_MODEL_GRAD_C0 = 5     /**< backward's dLoss/dc0 */
} gsq_model_tensor_t;

/**
 * A result of the last forward or backward: data (row-major), rank (<= 4) and
 * shape (rank entries written). Any output pointer may be NULL. Model-owned:
 * forward results stay valid until the next forward, backward results until
 * the next forward or backward, all until gsq_model_destroy. Fails when the
 * tensor does not exist (no forward/backward yet, or a kind without states).
 */
GSQ_API gsq_status_t gsq_model_tensor(gsq_model_t model, gsq_model_tensor_t which,
                                      const float **data, int64_t *rank,
                                      int64_t shape[4]);

/**
 * Back-propagates through the last forward: doutput = dLoss/doutput (the
 * output's shape), dh, dc = dLoss/d(final h, c) (the states' shapes, NULL =
 * zeros; must be NULL for kinds without that state). Accumulates (+=) the
 * parameter gradients, as PyTorch does, and sets GRAD_INPUT, GRAD_H0, GRAD_C0.
 */
GSQ_API gsq_status_t gsq_model_backward(gsq_model_t model, const float *doutput,
                                        const float *dh, const float *dc);

/** The number of parameter tensors (-1 for NULL). */
GSQ_API int64_t gsq_model_parameter_count(gsq_model_t model);
/**
 * Parameter `index` (0 <= index < count, a fixed order): its name, value and
 * gradient (row-major, model-owned, valid until gsq_model_destroy; writing
 * the value is how a custom optimiser updates it), rank (<= 4) and shape.
 * Any output pointer may be NULL. Names and layouts are the Swift layer's
 * `namedParameters`: PyTorch's where the layout is the same.
 */
GSQ_API gsq_status_t gsq_model_parameter(gsq_model_t model, int64_t index,
                                         const char **name, float **value,
                                         float **grad, int64_t *rank,
                                         int64_t shape[4]);
/** Sets every parameter gradient to zero. */
GSQ_API gsq_status_t gsq_model_zero_grad(gsq_model_t model);
/** Rescales all gradients together so that their global L2 norm is at most
 *  max_norm (finite, >= 0): when the coefficient max_norm / (norm + 1e-6) is
 *  below 1 every gradient is multiplied by it (torch.nn.utils.clip_grad_norm_).
 *  total_norm (may be NULL) receives the norm before clipping, accumulated in
 *  double in parameter order. */
GSQ_API gsq_status_t gsq_model_clip_grad_norm(gsq_model_t model, float max_norm,
                                              float *total_norm);
/** Writes the model's state dict (PyTorch names and shapes) as a safetensors
 *  file at path (UTF-8). */
GSQ_API gsq_status_t gsq_model_save(gsq_model_t model, const char *path);
/** Loads a safetensors file written by gsq_model_save or by PyTorch with the
 *  peer's names: names, shapes and dtypes are validated and nothing changes
 *  on failure. */
GSQ_API gsq_status_t gsq_model_load(gsq_model_t model, const char *path);

typedef struct gsq_optimizer *gsq_optimizer_t;

typedef enum gsq_optimizer_kind {
    GSQ_OPTIMIZER_SGD = 0,     /**< torch.optim.SGD (momentum, Nesterov) */
    GSQ_OPTIMIZER_RMSPROP = 1, /**< torch.optim.RMSprop */
    GSQ_OPTIMIZER_ADAM = 2,    /**< torch.optim.Adam (L2 weight decay) */
    GSQ_OPTIMIZER_ADAMW = 3    /**< torch.optim.AdamW (decoupled weight decay) */
} gsq_optimizer_kind_t;

/**
 * Hyper-parameters, named and defined as torch.optim's; fields a kind does
 * not use are ignored. Start from GSQ_OPTIMIZER_OPTIONS_INIT (torch's Adam
 * defaults); note torch's other defaults: RMSprop lr 0.01, AdamW
 * weight_decay 0.01.
 */
typedef struct gsq_optimizer_options {
    uint32_t struct_size;       /**< sizeof(gsq_optimizer_options_t) */
    gsq_optimizer_kind_t kind;
    float learning_rate;        /**< all kinds, >= 0 */
    float momentum;             /**< SGD, RMSPROP */
    float dampening;            /**< SGD */
    int32_t nesterov;           /**< SGD (needs momentum > 0, dampening 0) */
    float alpha;                /**< RMSPROP smoothing constant */
    float beta1, beta2;         /**< ADAM, ADAMW, in [0, 1) */
    float epsilon;              /**< RMSPROP, ADAM, ADAMW */
    float weight_decay;         /**< all kinds (decoupled for ADAMW) */
    int32_t centered;           /**< RMSPROP */
    int32_t amsgrad;            /**< ADAM, ADAMW */
} gsq_optimizer_options_t;

#define GSQ_OPTIMIZER_OPTIONS_INIT                                             \
    {sizeof(gsq_optimizer_options_t), GSQ_OPTIMIZER_ADAM, 1e-3f, 0.0f, 0.0f,  \
     0, 0.99f, 0.9f, 0.999f, 1e-8f, 0.0f, 0, 0}

/** An optimiser over all of model's parameters (in gsq_model_parameter's
 *  order), with its state (momentum, averages) zeroed. It keeps the model's
 *  parameters alive, so the two may be destroyed in either order. struct_size
 *  must equal sizeof(gsq_optimizer_options_t); hyper-parameters are checked
 *  as torch.optim checks them. */
GSQ_API gsq_status_t gsq_optimizer_create(gsq_optimizer_t *out, gsq_model_t model,
                                          const gsq_optimizer_options_t *options);
/** Frees an optimiser; NULL is allowed. */
GSQ_API void gsq_optimizer_destroy(gsq_optimizer_t optimizer);
/** Updates every parameter in place from its accumulated gradient (one
 *  torch.optim step; gradients are not cleared). */
GSQ_API gsq_status_t gsq_optimizer_step(gsq_optimizer_t optimizer);
/** Sets the step size (finite, >= 0), e.g. from a schedule between epochs. */
GSQ_API gsq_status_t gsq_optimizer_set_learning_rate(gsq_optimizer_t optimizer,
                                                     float learning_rate);
/** Writes the optimiser's state (torch.optim's names: exp_avg, exp_avg_sq,
 *  momentum_buffer, step, ... per parameter) as a safetensors file at path,
 *  so that training resumes exactly after gsq_model_load + gsq_optimizer_load. */
GSQ_API gsq_status_t gsq_optimizer_save(gsq_optimizer_t optimizer, const char *path);
/** Loads a state written by gsq_optimizer_save for an optimiser of the same
 *  kind and options over the same parameters: names and shapes are
 *  validated and nothing changes on failure. */
GSQ_API gsq_status_t gsq_optimizer_load(gsq_optimizer_t optimizer, const char *path);

/*
 * Losses: the mean loss into *loss and, when grad is not NULL, dLoss/dpred
 * (or dLoss/dlogits) into grad, in the layout of pred; both are written only
 * on success. Arrays are dense; n, rows, classes >= 1; NaN inputs give NaN.
 * The formulas are the Swift `Loss` functions' (PyTorch's mse_loss, l1_loss,
 * cross_entropy, binary_cross_entropy_with_logits with mean reduction over
 * the counted entries), summed in double in a fixed order.
 */

/** mean((pred - target)^2) over n entries. */
GSQ_API gsq_status_t gsq_loss_mse(int64_t n, const float *pred,
                                  const float *target, float *loss,
                                  float *grad);
/** mean |pred - target| over the entries with mask 1 (mask: n values, each
 *  0 or 1, or NULL = all; masked-out targets may be NaN, e.g. missing
 *  readings). 0 with zero gradient when nothing is counted. */
GSQ_API gsq_status_t gsq_loss_mae(int64_t n, const float *pred,
                                  const float *target, const float *mask,
                                  float *loss, float *grad);
/** Softmax cross-entropy of logits [rows][classes] against labels (rows
 *  entries in 0..classes-1), averaged over the rows whose mask is non-zero
 *  (mask: rows bytes, or NULL = all; labels of masked-out rows may hold
 *  anything, e.g. -1): semi-supervised node classification. 0 with zero
 *  gradient when no row is counted. */
GSQ_API gsq_status_t gsq_loss_softmax_cross_entropy(
    int64_t rows, int64_t classes, const float *logits, const int32_t *labels,
    const uint8_t *mask, float *loss, float *grad);
/** Binary cross-entropy of sigmoid(logits) against targets in [0, 1], in the
 *  numerically stable form, averaged over n entries: link prediction. */
GSQ_API gsq_status_t gsq_loss_bce_with_logits(int64_t n, const float *logits,
                                              const float *targets, float *loss,
                                              float *grad);

#ifdef __cplusplus
}
#endif

#endif /* GRAPHSEQ_H */
