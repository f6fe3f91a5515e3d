/* Chebyshev basis T_k(L) X and its adjoint. Each call is one parallel region:
 * every thread owns the same nonzero-balanced block of rows (nodes) in all
 * terms, and a barrier separates terms. Each term is one fused SpMM,
 * y = alpha * L x + beta * z, so no term is cleared or combined separately.
 * The term the next step gathers from is also stored contiguously in scratch:
 * random gathers from rows of the wide node-major basis touch K times more
 * pages than gathers from an n x nfeat copy. */
#include "graph-internal.h"

#include <string.h>

/* Rows per tile when a row-local update follows an SpMM pass. */
#define TILE_ROWS 32

struct cheb {
    const struct gsq_graph *op; /* L (forward) or L^T (backward) */
    gsq__spmm_rows_fn rows;
    int windows; /* column windows of every product (gsq__spmm_windows) */
    bool stream; /* forward: the basis is too large to stay in cache */
    int64_t K, nfeat;
    const float *x;
    int64_t ldx;
    float *basis; /* G in backward */
    int64_t ldb;
    float beta; /* backward: dX := ... + beta * dX */
    float *dx;
    int64_t lddx;
    float *gather[2]; /* contiguous n x nfeat copies, ping-pong */
};

/* Term k's columns in the node-major basis. */
static float *term(const struct cheb *c, int64_t k) { return c->basis + k * c->nfeat; }

/* y := alpha * op x + beta * z (and y2 := y) on rows [lo, hi). */
static struct gsq__spmm_args product(const struct cheb *c, float alpha,
                                     const float *x, int64_t ldx, float beta,
                                     const float *z, float *y, int64_t ldy,
                                     float *y2) {
    return (struct gsq__spmm_args){
        .row_ptr = c->op->row_ptr, .col_idx = c->op->col_idx,
        .values = c->op->values, .nfeat = c->nfeat, .alpha = alpha, .x = x,
        .ldx = ldx, .beta = beta, .z = z, .ldz = ldy, .y = y, .ldy = ldy,
        .y2 = y2, .ldy2 = c->nfeat, .stream = c->stream};
}

/* A row-local update applied to a tile right after its last SpMM pass. */
typedef void (*row_update)(const struct cheb *c, int64_t k, int64_t lo, int64_t hi);

/* Runs every column window of `full` over rows [lo, hi); the last window
 * goes tile by tile, each tile followed by `after` (if any) while hot. */
static void run(const struct cheb *c, const struct gsq__spmm_args *full,
                int64_t lo, int64_t hi, row_update after, int64_t k) {
    for (int w = 0; w < c->windows; w++) {
        const struct gsq__spmm_args a =
            gsq__spmm_pass(full, c->op->ncols, w, c->windows);
        const int64_t tile = after && w == c->windows - 1 ? TILE_ROWS : hi - lo;
        for (int64_t r = lo; r < hi; r += tile) {
            const int64_t r1 = hi - r < tile ? hi : r + tile;
            c->rows(&a, r, r1);
            if (after && w == c->windows - 1) after(c, k, r, r1);
        }
    }
}

/* y[i] := a * x[i] + b * y[i] for rows [lo, hi). */
static void axpby(int64_t lo, int64_t hi, int64_t nfeat, float a,
                  const float *x, int64_t ldx, float b, float *y, int64_t ldy) {
    for (int64_t i = lo; i < hi; i++)
        for (int64_t f = 0; f < nfeat; f++)
            y[i * ldy + f] = a * x[i * ldx + f] + b * y[i * ldy + f];
}

static void basis_task(void *p, int tid, int nth) {
    const struct cheb *c = p;
    const int64_t nf = c->nfeat, ldb = c->ldb;
    int64_t lo, hi;
    gsq__split_rows(c->op->row_ptr, c->op->nrows, tid, nth, &lo, &hi);
    if (c->K == 1) { /* T_0 = X */
        for (int64_t i = lo; i < hi; i++)
            memcpy(c->basis + i * ldb, c->x + i * c->ldx, (size_t)nf * sizeof(float));
    } else { /* T_1 = L X, copying X to T_0 on the way: reads only X, so no barrier */
        struct gsq__spmm_args a = product(
            c, 1.0f, c->x, c->ldx, 0.0f, NULL, term(c, 1), ldb,
            c->K > 2 ? c->gather[1] : NULL);
        a.copy_from = c->x, a.ld_copy_from = c->ldx;
        a.copy_to = term(c, 0), a.ld_copy_to = ldb;
        run(c, &a, lo, hi, NULL, 0);
    }
    for (int64_t k = 2; k < c->K; k++) { /* T_k = 2 L T_{k-1} - T_{k-2} */
        gsq__barrier();
        const struct gsq__spmm_args a = product(
            c, 2.0f, c->gather[(k - 1) & 1], nf, -1.0f, term(c, k - 2), term(c, k),
            ldb, k + 1 < c->K ? c->gather[k & 1] : NULL);
        run(c, &a, lo, hi, NULL, 0);
    }
}

/* G_{k-2} -= G_k, the second half of step k of the adjoint. */
static void subtract_term(const struct cheb *c, int64_t k, int64_t lo, int64_t hi) {
    axpby(lo, hi, c->nfeat, -1.0f, term(c, k), c->ldb, 1.0f, term(c, k - 2), c->ldb);
}

/* dX = G_0 + beta * dX after G_0 += L^T G_1. */
static void finish_dx(const struct cheb *c, int64_t k, int64_t lo, int64_t hi) {
    (void)k;
    axpby(lo, hi, c->nfeat, 1.0f, term(c, 0), c->ldb, c->beta, c->dx, c->lddx);
}

/* The adjoint of T_k = 2 L T_{k-1} - T_{k-2} sends G_k to G_{k-1} (2 L^T G_k)
 * and to G_{k-2} (-G_k). Going down from k = K-1, G_k is final when reached;
 * step k also stores the final G_{k-1} contiguously for step k-1's gathers. */
static void backward_task(void *p, int tid, int nth) {
    const struct cheb *c = p;
    const int64_t nf = c->nfeat, ldb = c->ldb, K = c->K;
    int64_t lo, hi;
    gsq__split_rows(c->op->row_ptr, c->op->nrows, tid, nth, &lo, &hi);
    for (int64_t k = K - 1; k >= 2; k--) {
        if (k < K - 1) gsq__barrier();
        const float *gk = k == K - 1 ? term(c, k) : c->gather[k & 1];
        const struct gsq__spmm_args a =
            product(c, 2.0f, gk, k == K - 1 ? ldb : nf, 1.0f, term(c, k - 1),
                    term(c, k - 1), ldb, c->gather[(k - 1) & 1]);
        run(c, &a, lo, hi, subtract_term, k);
    }
    if (K > 2) gsq__barrier();
    const float *g1 = K == 2 ? term(c, 1) : c->gather[1];
    const int64_t ld1 = K == 2 ? ldb : nf;
    if (K == 1) {
        if (c->beta == 0)
            for (int64_t i = lo; i < hi; i++)
                memcpy(c->dx + i * c->lddx, term(c, 0) + i * ldb,
                       (size_t)nf * sizeof(float));
        else
            finish_dx(c, 0, lo, hi);
    } else if (c->beta == 0) { /* dX = L^T G_1 + G_0 */
        struct gsq__spmm_args a =
            product(c, 1.0f, g1, ld1, 1.0f, term(c, 0), c->dx, c->lddx, NULL);
        a.ldz = ldb;
        run(c, &a, lo, hi, NULL, 0);
    } else { /* G_0 += L^T G_1, then dX = G_0 + beta dX */
        const struct gsq__spmm_args a =
            product(c, 1.0f, g1, ld1, 1.0f, term(c, 0), term(c, 0), ldb, NULL);
        run(c, &a, lo, hi, finish_dx, 0);
    }
}

gsq_status_t gsq__check_cheb_operator(const char *fn, gsq_graph_t lhat, int64_t K,
                                      int64_t nfeat) {
    GSQ_TRY(gsq__check_ptr(fn, "lhat", lhat));
    if (lhat->nrows != lhat->ncols)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: lhat must be square, got %lld x %lld", fn,
                         (long long)lhat->nrows, (long long)lhat->ncols);
    if (K < 1 || K > 64)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: K = %lld is not in [1, 64]",
                         fn, (long long)K);
    return gsq__check_size(fn, "nfeat", nfeat);
}

/* Scratch for the contiguous copies: K > 2 gathers from K - 2 terms besides
 * X (or G_{K-1}), which alternate between two buffers. */
static gsq_status_t gather_buffers(struct cheb *c) {
    const int64_t n = c->op->nrows, count = c->K > 3 ? 2 : c->K > 2 ? 1 : 0;
    if (count == 0 || n == 0 || c->nfeat == 0) return GSQ_SUCCESS;
    float *s = gsq__scratch((size_t)(count * n * c->nfeat) * sizeof(float));
    if (!s) return GSQ_ERR_OUT_OF_MEMORY;
    c->gather[1] = s;
    c->gather[0] = count == 2 ? s + n * c->nfeat : NULL;
    return GSQ_SUCCESS;
}

/* Takes the gather scratch, runs `task` in one parallel region and logs the
 * call: the common tail of the basis and its adjoint. */
static gsq_status_t launch(const char *fn, double t0, struct cheb *c,
                           gsq__task_fn task) {
    GSQ_TRY(gather_buffers(c));
    const gsq_isa_t isa = gsq__isa();
    const int64_t n = c->op->nrows;
    const int nth = gsq__threads_for((double)c->K * (c->op->nnz + n) * c->nfeat);
    if (n > 0 && c->nfeat > 0) gsq__parallel(task, c, nth);
    gsq__log_kernel(fn, isa, nth, t0, "n=%lld nnz=%lld K=%lld nfeat=%lld",
                    (long long)n, (long long)c->op->nnz, (long long)c->K,
                    (long long)c->nfeat);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_cheb_basis(gsq_graph_t lhat, int64_t K, int64_t nfeat,
                            const float *x, int64_t ldx, float *basis,
                            int64_t ldb) {
    static const char fn[] = "gsq_cheb_basis";
    const double t0 = gsq__now_ms();
    GSQ_TRY(gsq__check_cheb_operator(fn, lhat, K, nfeat));
    const int64_t n = lhat->nrows;
    GSQ_TRY(gsq__check_matrix(fn, "x", x, n, nfeat, ldx));
    GSQ_TRY(gsq__check_matrix(fn, "basis", basis, n, K * nfeat, ldb));
    GSQ_TRY(gsq__check_disjoint(fn, "basis", basis, n, K * nfeat, ldb, "x", x, n,
                                nfeat, ldx));
    struct cheb c = {.op = lhat, .rows = gsq__spmm_rows(),
                     .windows = gsq__spmm_windows(n, nfeat, GSQ_CHEB_WINDOW_BYTES),
                     .K = K, .nfeat = nfeat, .x = x, .ldx = ldx, .basis = basis, .ldb = ldb,
                     .stream = (double)n * ldb * sizeof(float) >= GSQ_SPMM_STREAM_BYTES};
    return launch(fn, t0, &c, basis_task);
}

gsq_status_t gsq_cheb_basis_backward(gsq_graph_t lhat, int64_t K, int64_t nfeat,
                                     float *dbasis, int64_t ldb, float beta,
                                     float *dx, int64_t lddx) {
    static const char fn[] = "gsq_cheb_basis_backward";
    const double t0 = gsq__now_ms();
    GSQ_TRY(gsq__check_cheb_operator(fn, lhat, K, nfeat));
    const int64_t n = lhat->nrows;
    GSQ_TRY(gsq__check_matrix(fn, "dbasis", dbasis, n, K * nfeat, ldb));
    GSQ_TRY(gsq__check_matrix(fn, "dx", dx, n, nfeat, lddx));
    GSQ_TRY(gsq__check_disjoint(fn, "dbasis", dbasis, n, K * nfeat, ldb, "dx", dx,
                                n, nfeat, lddx));
    const struct gsq_graph *lt = gsq__graph_transposed(lhat, fn);
    if (!lt) return GSQ_ERR_OUT_OF_MEMORY;
    struct cheb c = {.op = lt, .rows = gsq__spmm_rows(),
                     .windows = gsq__spmm_windows(n, nfeat, GSQ_CHEB_WINDOW_BYTES),
                     .K = K, .nfeat = nfeat, .basis = dbasis, .ldb = ldb, .beta = beta,
                     .dx = dx, .lddx = lddx};
    return launch(fn, t0, &c, backward_task);
}
