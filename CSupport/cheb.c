/* Chebyshev basis T_k(L) X and its adjoint. Each call is one parallel region:
 * every thread owns the same nonzero-balanced block of rows (nodes) in all
 * terms, and a barrier separates terms. Each step is one fused SpMM pass,
 * y = alpha * L x + beta * z, so no term is copied or cleared. */
#include "graph-internal.h"

#include <string.h>

/* Rows per tile when a row-local update is fused behind an SpMM pass. */
#define TILE_ROWS 32

struct cheb {
    const struct gsq_graph *op; /* L (forward) or L^T (backward) */
    gsq__spmm_rows_fn rows;
    int64_t K, nfeat;
    const float *x;
    int64_t ldx;
    float *basis; /* G in backward */
    int64_t ldb;
    float beta; /* backward: dX := ... + beta * dX */
    float *dx;
    int64_t lddx;
    float *gather[2]; /* forward: contiguous copies of T_{k-1} for gathers */
};

/* Term k's columns in the node-major basis. */
static float *term(const struct cheb *c, int64_t k) { return c->basis + k * c->nfeat; }

/* y[i] := alpha * op[i] x + beta * z[i] for rows [lo, hi). */
static void spmm(const struct cheb *c, int64_t lo, int64_t hi, float alpha,
                 const float *x, int64_t ldx, float beta, const float *z,
                 int64_t ldz, float *y, int64_t ldy) {
    const struct gsq__spmm_args a = {c->op->row_ptr, c->op->col_idx,
                                     c->op->values, c->nfeat, alpha, x, ldx,
                                     beta, z, ldz, y, ldy};
    if (lo < hi) c->rows(&a, lo, hi);
}

/* y[i] := a * x[i] + b * y[i] for rows [lo, hi). */
static void axpby(int64_t lo, int64_t hi, int64_t nfeat, float a,
                  const float *x, int64_t ldx, float b, float *y, int64_t ldy) {
    for (int64_t i = lo; i < hi; i++)
        for (int64_t f = 0; f < nfeat; f++)
            y[i * ldy + f] = a * x[i * ldx + f] + b * y[i * ldy + f];
}

/* Rows [lo, hi) of src (ld lds) into dst (ld ldd), nfeat floats each. */
static void copy_rows(int64_t lo, int64_t hi, int64_t nfeat, const float *src,
                      int64_t lds, float *dst, int64_t ldd) {
    for (int64_t i = lo; i < hi; i++)
        memcpy(dst + i * ldd, src + i * lds, (size_t)nfeat * sizeof(float));
}

static void basis_task(void *p, int tid, int nth) {
    const struct cheb *c = p;
    const int64_t n = c->op->nrows, nf = c->nfeat, ldb = c->ldb;
    int64_t lo, hi;
    gsq__split_rows(c->op->row_ptr, n, tid, nth, &lo, &hi);
    /* T_0 = X and T_1 = L X (reads only X: no barrier before it). */
    for (int64_t r = lo; r < hi; r += TILE_ROWS) {
        int64_t r1 = r + TILE_ROWS < hi ? r + TILE_ROWS : hi;
        copy_rows(r, r1, nf, c->x, c->ldx, c->basis, ldb);
        if (c->K > 1) spmm(c, r, r1, 1.0f, c->x, c->ldx, 0.0f, NULL, 0, term(c, 1), ldb);
        if (c->K > 2) copy_rows(r, r1, nf, term(c, 1), ldb, c->gather[1], nf);
    }
    for (int64_t k = 2; k < c->K; k++) { /* T_k = 2 L T_{k-1} - T_{k-2} */
        gsq__barrier();
        for (int64_t r = lo; r < hi; r += TILE_ROWS) {
            int64_t r1 = r + TILE_ROWS < hi ? r + TILE_ROWS : hi;
            spmm(c, r, r1, 2.0f, c->gather[(k - 1) & 1], nf, -1.0f, term(c, k - 2), ldb,
                 term(c, k), ldb);
            if (k + 1 < c->K) copy_rows(r, r1, nf, term(c, k), ldb, c->gather[k & 1], nf);
        }
    }
}

/* The adjoint of T_k = 2 L T_{k-1} - T_{k-2} sends G_k to G_{k-1} (2 L^T G_k)
 * and G_{k-2} (-G_k). Going down from k = K-1, G_k is final when reached. */
static void backward_task(void *p, int tid, int nth) {
    const struct cheb *c = p;
    const int64_t n = c->op->nrows, nf = c->nfeat, ldb = c->ldb;
    int64_t lo, hi;
    gsq__split_rows(c->op->row_ptr, n, tid, nth, &lo, &hi);
    for (int64_t k = c->K - 1; k >= 2; k--) {
        if (k < c->K - 1) gsq__barrier();
        for (int64_t r = lo; r < hi; r += TILE_ROWS) { /* one pass, tile-fused */
            int64_t r1 = r + TILE_ROWS < hi ? r + TILE_ROWS : hi;
            spmm(c, r, r1, 2.0f, term(c, k), ldb, 1.0f, term(c, k - 1), ldb,
                 term(c, k - 1), ldb);
            axpby(r, r1, nf, -1.0f, term(c, k), ldb, 1.0f, term(c, k - 2), ldb);
        }
    }
    if (c->K > 2) gsq__barrier();
    float *g0 = term(c, 0);
    if (c->K == 1) {
        if (c->beta == 0)
            for (int64_t i = lo; i < hi; i++)
                memcpy(c->dx + i * c->lddx, g0 + i * ldb, (size_t)nf * sizeof(float));
        else
            axpby(lo, hi, nf, 1.0f, g0, ldb, c->beta, c->dx, c->lddx);
    } else if (c->beta == 0) { /* dX = L^T G_1 + G_0 */
        spmm(c, lo, hi, 1.0f, term(c, 1), ldb, 1.0f, g0, ldb, c->dx, c->lddx);
    } else { /* G_0 += L^T G_1, then dX = G_0 + beta dX */
        for (int64_t r = lo; r < hi; r += TILE_ROWS) {
            int64_t r1 = r + TILE_ROWS < hi ? r + TILE_ROWS : hi;
            spmm(c, r, r1, 1.0f, term(c, 1), ldb, 1.0f, g0, ldb, g0, ldb);
            axpby(r, r1, nf, 1.0f, g0, ldb, c->beta, c->dx, c->lddx);
        }
    }
}

static gsq_status_t check_operator(const char *fn, gsq_graph_t lhat, int64_t K,
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

gsq_status_t gsq_cheb_basis(gsq_graph_t lhat, int64_t K, int64_t nfeat,
                            const float *x, int64_t ldx, float *basis,
                            int64_t ldb) {
    static const char fn[] = "gsq_cheb_basis";
    const double t0 = gsq__now_ms();
    GSQ_TRY(check_operator(fn, lhat, K, nfeat));
    const int64_t n = lhat->nrows;
    GSQ_TRY(gsq__check_matrix(fn, "x", x, n, nfeat, ldx));
    GSQ_TRY(gsq__check_matrix(fn, "basis", basis, n, K * nfeat, ldb));
    GSQ_TRY(gsq__check_disjoint(fn, "basis", basis, n, K * nfeat, ldb, "x", x, n,
                                nfeat, ldx));
    const gsq_isa_t isa = gsq__isa();
    const int nth = gsq__num_threads();
    struct cheb c = {.op = lhat, .rows = gsq__spmm_rows(), .K = K, .nfeat = nfeat,
                     .x = x, .ldx = ldx, .basis = basis, .ldb = ldb};
    if (K > 2) { /* T_1 .. T_{K-2} are gathered: ping-pong between two */
        float *s = gsq__scratch((K > 3 ? 2 : 1) * (size_t)n * (size_t)nfeat * sizeof(float));
        if (!s) return GSQ_ERR_OUT_OF_MEMORY;
        c.gather[1] = s, c.gather[0] = K > 3 ? s + n * nfeat : NULL;
    }
    if (n > 0 && nfeat > 0) gsq__parallel(basis_task, &c, nth);
    gsq__log_kernel(fn, isa, nth, t0, "n=%lld nnz=%lld K=%lld nfeat=%lld",
                    (long long)n, (long long)lhat->nnz, (long long)K,
                    (long long)nfeat);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_cheb_basis_backward(gsq_graph_t lhat, int64_t K, int64_t nfeat,
                                     float *dbasis, int64_t ldb, float beta,
                                     float *dx, int64_t lddx) {
    static const char fn[] = "gsq_cheb_basis_backward";
    const double t0 = gsq__now_ms();
    GSQ_TRY(check_operator(fn, lhat, K, nfeat));
    const int64_t n = lhat->nrows;
    GSQ_TRY(gsq__check_matrix(fn, "dbasis", dbasis, n, K * nfeat, ldb));
    GSQ_TRY(gsq__check_matrix(fn, "dx", dx, n, nfeat, lddx));
    GSQ_TRY(gsq__check_disjoint(fn, "dbasis", dbasis, n, K * nfeat, ldb, "dx", dx,
                                n, nfeat, lddx));
    const struct gsq_graph *lt = gsq__graph_transposed(lhat, fn);
    if (!lt) return GSQ_ERR_OUT_OF_MEMORY;
    const gsq_isa_t isa = gsq__isa();
    const int nth = gsq__num_threads();
    struct cheb c = {.op = lt, .rows = gsq__spmm_rows(), .K = K, .nfeat = nfeat,
                     .basis = dbasis, .ldb = ldb, .beta = beta, .dx = dx,
                     .lddx = lddx};
    if (n > 0 && nfeat > 0) gsq__parallel(backward_task, &c, nth);
    gsq__log_kernel(fn, isa, nth, t0, "n=%lld nnz=%lld K=%lld nfeat=%lld",
                    (long long)n, (long long)lhat->nnz, (long long)K,
                    (long long)nfeat);
    return GSQ_SUCCESS;
}
