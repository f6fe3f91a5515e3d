/* CSR SpMM, Y := alpha * op(A) * X + beta * Y: the portable row kernel, ISA
 * dispatch, the nonzero-balanced row split, and the two public entry points
 * (raw CSR arrays, validated every call; gsq_graph_t, validated once). */
#include "graph-internal.h"

#include <stdint.h>
#include <string.h>

/* Portable rows: a block of GSQ_SPMM_BLOCK features per pass over a row's
 * nonzeros; rows of x for upcoming nonzeros are prefetched. */
void gsq__spmm_rows_generic(const struct gsq__spmm_args *a, int64_t r0,
                            int64_t r1) {
    const int64_t *rp = a->row_ptr;
    const int32_t *col = a->col_idx;
    const float *val = a->values;
    const int64_t pf = a->prefetch, pf_end = rp[r1] - pf;
    float acc[GSQ_SPMM_BLOCK];
    for (int64_t c = 0; c < a->nfeat; c += GSQ_SPMM_BLOCK) {
        const int64_t w =
            a->nfeat - c < GSQ_SPMM_BLOCK ? a->nfeat - c : GSQ_SPMM_BLOCK;
        const float *x = a->x + c;
        for (int64_t i = r0; i < r1; i++) {
            int64_t j0 = rp[i], j1 = rp[i + 1];
            if (a->windowed) {
                j0 = gsq__lower_col(col, j0, j1, a->col_lo);
                j1 = gsq__lower_col(col, j0, j1, a->col_hi);
            }
            for (int64_t f = 0; f < w; f++) acc[f] = 0;
            for (int64_t j = j0; j < j1; j++) {
                if (pf > 0 && j < pf_end) {
                    int32_t cp = col[j + pf];
                    cp = cp >= a->col_lo && cp < a->col_hi ? cp : a->col_lo;
                    for (int64_t f = 0; f < w; f += 16)
                        __builtin_prefetch(x + cp * a->ldx + f);
                }
                const float v = val ? val[j] : 1.0f;
                const float *xr = x + col[j] * a->ldx;
                for (int64_t f = 0; f < w; f++) acc[f] += v * xr[f];
            }
            float *y = a->y + i * a->ldy + c;
            if (a->beta == 0) {
                for (int64_t f = 0; f < w; f++) y[f] = a->alpha * acc[f];
            } else {
                const float *z = a->z + i * a->ldz + c;
                for (int64_t f = 0; f < w; f++)
                    y[f] = a->alpha * acc[f] + a->beta * z[f];
            }
            if (a->y2)
                memcpy(a->y2 + (a->y2_rows ? a->y2_rows[i] : i) * a->ldy2 + c, y,
                       (size_t)w * sizeof(float));
            if (a->copy_to)
                memcpy(a->copy_to + i * a->ld_copy_to + c,
                       a->copy_from + i * a->ld_copy_from + c, (size_t)w * sizeof(float));
        }
    }
}

static const gsq__spmm_rows_fn rows_impl[GSQ_ISA_COUNT] = {
    gsq__spmm_rows_generic, gsq__spmm_rows_avx2, gsq__spmm_rows_avx512};

gsq__spmm_rows_fn gsq__spmm_rows(void) { return rows_impl[gsq__isa()]; }


/* The first row i in [0, nrows] with row_ptr[i] + i >= target. */
static int64_t first_row_at(const int64_t *row_ptr, int64_t nrows,
                            int64_t target) {
    int64_t lo = 0, hi = nrows;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (row_ptr[mid] + mid >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void gsq__split_rows(const int64_t *row_ptr, int64_t nrows, int tid, int nth,
                     int64_t *lo, int64_t *hi) {
    const int64_t total = row_ptr[nrows] + nrows;
    *lo = first_row_at(row_ptr, nrows, total * tid / nth);
    *hi = first_row_at(row_ptr, nrows, total * (tid + 1) / nth);
}

int gsq__spmm_windows(int64_t ncols, int64_t nfeat, int64_t budget) {
    const int64_t row_bytes =
        (nfeat < GSQ_SPMM_BLOCK ? nfeat : GSQ_SPMM_BLOCK) * (int64_t)sizeof(float);
    const int64_t n = (ncols * row_bytes + budget - 1) / budget;
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

struct gsq__spmm_args gsq__spmm_pass(const struct gsq__spmm_args *full,
                                     int64_t ncols, int w, int nw) {
    struct gsq__spmm_args a = *full;
    a.col_lo = (int32_t)(ncols * w / nw);
    a.col_hi = (int32_t)(ncols * (w + 1) / nw);
    a.windowed = nw > 1;
    a.prefetch = (int64_t)GSQ_SPMM_PREFETCH * nw;
    if (w > 0) a.beta = 1.0f, a.z = a.y, a.ldz = a.ldy;
    if (w < nw - 1) a.y2 = NULL, a.copy_to = NULL, a.stream = false;
    return a;
}

struct spmm_task {
    struct gsq__spmm_args args;
    int64_t nrows, ncols;
    gsq__spmm_rows_fn rows;
};

static void spmm_task(void *p, int tid, int nth) {
    const struct spmm_task *t = p;
    int64_t lo, hi;
    gsq__split_rows(t->args.row_ptr, t->nrows, tid, nth, &lo, &hi);
    const int nw = gsq__spmm_windows(t->ncols, t->args.nfeat, GSQ_SPMM_WINDOW_BYTES);
    for (int w = 0; w < nw && lo < hi; w++) {
        const struct gsq__spmm_args a = gsq__spmm_pass(&t->args, t->ncols, w, nw);
        t->rows(&a, lo, hi);
    }
}

/* Runs a validated product on the thread team and logs it. */
static void run_spmm(const char *kernel, double t0, int64_t nrows, int64_t ncols,
                     const int64_t *row_ptr, const int32_t *col_idx,
                     const float *values, int64_t nfeat, float alpha,
                     const float *x, int64_t ldx, float beta, float *y,
                     int64_t ldy) {
    const gsq_isa_t isa = gsq__isa();
    const int nth = gsq__threads_for((double)(row_ptr[nrows] + nrows) * nfeat);
    struct spmm_task t = {
        .args = {.row_ptr = row_ptr, .col_idx = col_idx, .values = values,
                 .nfeat = nfeat, .alpha = alpha, .x = x, .ldx = ldx, .beta = beta,
                 .z = y, .ldz = ldy, .y = y, .ldy = ldy},
        .nrows = nrows,
        .ncols = ncols,
        .rows = rows_impl[isa],
    };
    if (nrows > 0 && nfeat > 0) gsq__parallel(spmm_task, &t, nth);
    gsq__log_kernel(kernel, isa, nth, t0, "nrows=%lld ncols=%lld nnz=%lld nfeat=%lld",
                    (long long)nrows, (long long)ncols, (long long)row_ptr[nrows],
                    (long long)nfeat);
}

gsq_status_t gsq_spmm_csr_f32(int64_t nrows, int64_t ncols,
                              const int64_t *row_ptr, const int32_t *col_idx,
                              const float *values, int64_t nfeat, float alpha,
                              const float *x, int64_t ldx, float beta, float *y,
                              int64_t ldy) {
    static const char fn[] = "gsq_spmm_csr_f32";
    const double t0 = gsq__now_ms();
    GSQ_TRY(gsq__check_csr(fn, nrows, ncols, row_ptr, col_idx, values));
    GSQ_TRY(gsq__check_size(fn, "nfeat", nfeat));
    GSQ_TRY(gsq__check_matrix(fn, "x", x, ncols, nfeat, ldx));
    GSQ_TRY(gsq__check_matrix(fn, "y", y, nrows, nfeat, ldy));
    GSQ_TRY(gsq__check_disjoint(fn, "y", y, nrows, nfeat, ldy, "x", x, ncols,
                                nfeat, ldx));
    run_spmm(fn, t0, nrows, ncols, row_ptr, col_idx, values, nfeat, alpha, x, ldx,
             beta, y, ldy);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_graph_spmm(gsq_graph_t graph, gsq_transpose_t trans,
                            int64_t nfeat, float alpha, const float *x,
                            int64_t ldx, float beta, float *y, int64_t ldy) {
    static const char fn[] = "gsq_graph_spmm";
    const double t0 = gsq__now_ms();
    GSQ_TRY(gsq__check_ptr(fn, "graph", graph));
    if (trans != GSQ_NO_TRANS && trans != GSQ_TRANS)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: trans = %d is not a gsq_transpose_t", fn, (int)trans);
    GSQ_TRY(gsq__check_size(fn, "nfeat", nfeat));
    const int64_t rows = trans ? graph->ncols : graph->nrows;
    const int64_t cols = trans ? graph->nrows : graph->ncols;
    GSQ_TRY(gsq__check_matrix(fn, "x", x, cols, nfeat, ldx));
    GSQ_TRY(gsq__check_matrix(fn, "y", y, rows, nfeat, ldy));
    GSQ_TRY(gsq__check_disjoint(fn, "y", y, rows, nfeat, ldy, "x", x, cols, nfeat,
                                ldx));
    const struct gsq_graph *op = trans ? gsq__graph_transposed(graph, fn) : graph;
    if (!op) return GSQ_ERR_OUT_OF_MEMORY;
    run_spmm(trans ? "gsq_graph_spmm(T)" : fn, t0, op->nrows, op->ncols,
             op->row_ptr, op->col_idx, op->values, nfeat, alpha, x, ldx, beta, y,
             ldy);
    return GSQ_SUCCESS;
}
