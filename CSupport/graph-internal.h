/* Internals of the sparse family: the gsq_graph object, CSR validation, and
 * the SpMM row kernels shared by spmm-csr.c, cheb.c and the per-ISA files. */
#ifndef GSQ_GRAPH_INTERNAL_H
#define GSQ_GRAPH_INTERNAL_H

#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>

/* A validated CSR matrix. The arrays are owned and immutable after creation;
 * values are always materialised. Two derived operators are built on first
 * use and cached: the transpose (never for a symmetric matrix) and the
 * relabelled copy (graph-order.c). */
struct gsq_graph {
    int64_t nrows, ncols, nnz;
    int64_t *row_ptr; /* nrows + 1 */
    int32_t *col_idx; /* nnz */
    float *values;    /* nnz */
    bool symmetric;
    /* Only in a relabelled copy: row i is row order[i] of the original, its
     * columns renumbered alike but kept in the original's entry order (so
     * each row sums in the same order; columns are not sorted). */
    int64_t *order;
    pthread_mutex_t cache_lock;
    _Atomic(struct gsq_graph *) transpose, relabelled;
};

/* A graph with uninitialised arrays for nnz entries (row_ptr[0] = 0), or NULL
 * with an error recorded by `fn`. Fill it, then call gsq__graph_finish. */
GSQ_HIDDEN struct gsq_graph *gsq__graph_alloc(const char *fn, int64_t nrows,
                                              int64_t ncols, int64_t nnz);
/* Computes the symmetric flag once the arrays are filled. */
GSQ_HIDDEN void gsq__graph_finish(struct gsq_graph *g);
/* op(A) for a product with A^T: the graph itself when symmetric, else the
 * cached transpose (built once, thread-safe). NULL (error recorded) on OOM. */
GSQ_HIDDEN const struct gsq_graph *gsq__graph_transposed(struct gsq_graph *g,
                                                         const char *fn);
/* The square graph g relabelled in a locality order (graph-order.c), built
 * once and cached (thread-safe; the cache is not part of g's value, hence
 * const). NULL (error recorded) on OOM. */
GSQ_HIDDEN const struct gsq_graph *gsq__graph_relabelled(const struct gsq_graph *g,
                                                         const char *fn);
/* The cached operator built by `build` into *slot under g's cache lock. */
GSQ_HIDDEN struct gsq_graph *gsq__graph_cached(
    struct gsq_graph *g, _Atomic(struct gsq_graph *) *slot,
    struct gsq_graph *(*build)(const struct gsq_graph *, const char *), const char *fn);

/* Validates raw CSR arrays as gsq_graph_create_csr requires; values may be
 * NULL. Returns GSQ_ERR_INVALID_GRAPH / _INVALID_ARGUMENT naming `fn`. */
GSQ_HIDDEN gsq_status_t gsq__check_csr(const char *fn, int64_t nrows,
                                       int64_t ncols, const int64_t *row_ptr,
                                       const int32_t *col_idx,
                                       const float *values);

/* Checks a Chebyshev operator (square), K in [1, 64] and nfeat >= 0. */
GSQ_HIDDEN gsq_status_t gsq__check_cheb_operator(const char *fn, gsq_graph_t lhat,
                                                 int64_t K, int64_t nfeat);

/* ---- SpMM row kernels --------------------------------------------------- */

/* y[i] := alpha * sum_j A_ij x[j] + beta * z[i] for the rows of one range,
 * summing only the nonzeros with col_lo <= j < col_hi (a column window, so
 * the rows of x gathered by one pass over all rows stay in cache). Each row is
 * summed in storage order, so its result does not depend on which thread
 * computes it. values == NULL means ones. With beta == 0, z is not read (may
 * be NULL); z may equal y (ldz == ldy). When y2 is not NULL the result is
 * also stored there (ldy2), at row y2_rows[i] when given (a relabelled
 * graph's rows back at their nodes), e.g. as a contiguous copy for later
 * gathers.
 * When copy_to is not NULL, row i of copy_from is copied to its row i as
 * well (stored like y): a sequential stream that hides behind the gathers.
 * With stream, full 64-byte aligned rows of y bypass the cache. */
struct gsq__spmm_args {
    const int64_t *row_ptr;
    const int32_t *col_idx;
    const float *values;
    int64_t nfeat;
    float alpha;
    const float *x;
    int64_t ldx;
    float beta;
    const float *z;
    int64_t ldz;
    float *y;
    int64_t ldy;
    float *y2;
    int64_t ldy2;
    const int64_t *y2_rows; /* y2's row for row i, or NULL for i */
    const float *copy_from;
    int64_t ld_copy_from;
    float *copy_to;
    int64_t ld_copy_to;
    int32_t col_lo, col_hi;
    bool windowed;    /* false: the window is every column (no search) */
    bool stream;      /* y is not read again soon: non-temporal stores */
    int64_t prefetch; /* nonzeros ahead whose rows of x are prefetched (0: none) */
};

typedef void (*gsq__spmm_rows_fn)(const struct gsq__spmm_args *a, int64_t r0,
                                  int64_t r1);
GSQ_HIDDEN void gsq__spmm_rows_generic(const struct gsq__spmm_args *a,
                                       int64_t r0, int64_t r1);
GSQ_HIDDEN void gsq__spmm_rows_avx2(const struct gsq__spmm_args *a, int64_t r0,
                                    int64_t r1);
GSQ_HIDDEN void gsq__spmm_rows_avx512(const struct gsq__spmm_args *a,
                                      int64_t r0, int64_t r1);
/* The row kernel of the active ISA. */
GSQ_HIDDEN gsq__spmm_rows_fn gsq__spmm_rows(void);

/* How many column windows a product over ncols columns uses, so that one
 * window of x (up to GSQ_SPMM_BLOCK features per row) fits in `budget`
 * bytes. A function of the shape only, never of threads. */
GSQ_HIDDEN int gsq__spmm_windows(int64_t ncols, int64_t nfeat, int64_t budget);
/* The arguments of pass w of nw for a product described by `full` (window
 * over every column): window w's columns; passes after the first accumulate
 * into y (beta = 1, z = y); only the last pass stores y2, copies rows or
 * streams y. */
GSQ_HIDDEN struct gsq__spmm_args gsq__spmm_pass(const struct gsq__spmm_args *full,
                                                int64_t ncols, int w, int nw);

/* The first position in [lo, hi) whose column is >= c (columns are sorted).
 * Branch-free: its loop count depends only on hi - lo, so the search costs no
 * mispredictions when run for every row. */
static inline int64_t gsq__lower_col(const int32_t *col, int64_t lo, int64_t hi,
                                     int32_t c) {
    if (lo == hi) return lo;
    const int32_t *base = col + lo;
    for (int64_t n = hi - lo; n > 1;) {
        const int64_t half = n / 2;
        base = base[half] < c ? base + half : base;
        n -= half;
    }
    return (base - col) + (*base < c);
}

/* Rows [*lo, *hi) of thread tid out of nth, balanced on nonzeros plus rows
 * (a binary search on row_ptr[i] + i); a pure function of its arguments. */
GSQ_HIDDEN void gsq__split_rows(const int64_t *row_ptr, int64_t nrows, int tid,
                                int nth, int64_t *lo, int64_t *hi);

/* Features processed per pass over a row's nonzeros: the widest register
 * block of any ISA (arch/spmm-body.h), which the column windows budget for. */
#define GSQ_SPMM_BLOCK 128
/* Cache budget for the rows of x one column window gathers. */
#define GSQ_SPMM_WINDOW_BYTES (16 << 20)
/* The same for the Chebyshev recursion, whose outputs are rows of the wide
 * basis: each extra window re-reads and re-writes such a row, which costs
 * more than the gathers a smaller window keeps in cache (measured: N = 100k,
 * F = 64, one window instead of two makes the K = 3 basis 10-15% faster). */
#define GSQ_CHEB_WINDOW_BYTES (32 << 20)
/* Outputs larger than this are written with non-temporal stores when the
 * caller knows they are not read again soon. */
#define GSQ_SPMM_STREAM_BYTES (32 << 20)
/* How many in-window nonzeros ahead the vector kernels prefetch rows of x. */
#define GSQ_SPMM_PREFETCH 16

#endif
