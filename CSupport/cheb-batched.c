/* The Chebyshev basis in batched (GEMM row) layout and its adjoint, and
 * the terms T_1.. as separate matrices.
 *
 * X holds `batch` signals of nfeat features per node; basis row i*batch + b
 * (ldb apart) holds entry b's K terms side by side at node i: the A of the
 * GEMM that applies all filters (a GCRN step's gate products). The terms
 * layout (gsq_cheb_terms) gives the same GEMM its operand as parts instead.
 *
 * Graphs up to tens of thousands of nodes (the K terms of n rows of a block
 * of at least 32 features fit in 16 MiB) go feature block by feature block:
 * each thread takes whole blocks, runs the recursion on cache-resident
 * copies and writes the finished terms once, so memory sees X read once and
 * the basis written once, with no barrier. When a block's terms outgrow L2
 * the recursion runs on the graph relabelled for locality (graph-order.c),
 * its rows mapped back to nodes where they are read and stored (the SpMM
 * stores the terms and dX at their nodes as it computes them). Larger graphs
 * run the term-by-term kernel (cheb.c) into a node-major scratch and reorder
 * it.
 * Each output is summed by the same row kernel in the same order either way
 * and whatever the thread count. */
#include "graph-internal.h"

#include <string.h>

/* The per-thread budget for the K terms of one feature block. Measured with
 * K = 3, 8 signals of 32 features on 8-NN graphs: at n = 10000 (128-wide
 * blocks, L3-resident) and n = 40000 (32-wide) the blocks beat the
 * term-by-term path and its reorder by 20-35%; 16-wide blocks lose to it. */
#define BLOCK_BYTES (16 << 20)
#define MIN_BLOCK_WIDTH 32
/* Terms of one block larger than this (about L2) run on the graph relabelled
 * for locality (graph-order.c); smaller ones gather from L2 in any order. */
#define RELABEL_BYTES (1 << 20)

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Features per block for n rows and K terms: 256, 128, 64 or 32, the widest
 * that fits BLOCK_BYTES (long runs per row keep the copies streaming); 0
 * when none does (then the term-by-term path runs). */
static int64_t block_width(int64_t n, int64_t K) {
    for (int64_t w = 256; w >= MIN_BLOCK_WIDTH; w /= 2)
        if (K * n * w * (int64_t)sizeof(float) <= BLOCK_BYTES) return w;
    return 0;
}

struct batched {
    /* L (forward) or L^T (backward), possibly relabelled: its row i is then
     * node op->order[i] of X, the basis and dX. */
    const struct gsq_graph *op;
    gsq__spmm_rows_fn rows;
    int64_t K, batch, nfeat, width; /* width: features per block */
    const float *x;                 /* forward: X */
    int64_t ldx;
    float *basis; /* forward: the output; backward: NULL */
    float *terms; /* or the terms layout (gsq_cheb_terms): T_k at terms + (k-1) * term_stride */
    int64_t ldt, term_stride;
    const float *g; /* backward: the gradient, in basis layout */
    int64_t ldb;    /* between the rows of consecutive (node, entry) pairs */
    float beta; /* backward: dX := ... + beta * dX */
    float *dx;
    int64_t lddx;
    float *scratch; /* K * n * width floats per thread */
};

/* The run of features [f, end) that stays within one batch entry: returns
 * its length and stores in *at where it starts for term k, from the first
 * basis row of its node. */
static int64_t run_at(const struct batched *c, int64_t k, int64_t f, int64_t end,
                      int64_t *at) {
    const int64_t b = f / c->nfeat, ff = f - b * c->nfeat;
    *at = b * c->ldb + k * c->nfeat + ff;
    return min64(c->nfeat - ff, end - f);
}

/* The SpMM of one recursion step on block rows (ld = width). The rows it
 * gathers are prefetched only on a relabelled graph: otherwise the block is
 * L2-resident (RELABEL_BYTES), and prefetching cost 2-5%. */
static struct gsq__spmm_args block_product(const struct batched *c, int64_t w,
                                           float alpha, const float *x, float beta,
                                           const float *z, float *y) {
    const int64_t ld = c->width;
    return (struct gsq__spmm_args){
        .row_ptr = c->op->row_ptr, .col_idx = c->op->col_idx,
        .values = c->op->values, .nfeat = w, .alpha = alpha, .x = x, .ldx = ld,
        .beta = beta, .z = z, .ldz = ld, .y = y, .ldy = ld, .col_lo = 0,
        .col_hi = (int32_t)c->op->ncols, .prefetch = c->op->order ? GSQ_SPMM_PREFETCH : 0};
}

/* The node of X, the basis and dX that block row i holds. */
static int64_t node(const struct batched *c, int64_t i) {
    return c->op->order ? c->op->order[i] : i;
}

/* Prefetches the basis rows that block row i + AHEAD touches (features
 * [c0, c0 + w) of node(i + AHEAD)) when nodes are visited out of order,
 * where the hardware prefetcher cannot guess them (measured at N = 10000:
 * 10-15% off the copies; 2, 4 and 8 ahead alike). */
#define AHEAD 4
static void prefetch_rows(const struct batched *c, const float *rows, int64_t i, int64_t c0,
                          int64_t w) {
    if (!c->op->order || i + AHEAD >= c->op->nrows) return;
    const float *p = rows + node(c, i + AHEAD) * c->batch * c->ldb;
    const int64_t b0 = c0 / c->nfeat, b1 = (c0 + w - 1) / c->nfeat;
    for (const float *q = p + b0 * c->ldb; q < p + b1 * c->ldb + c->K * c->nfeat; q += 16)
        __builtin_prefetch(q, 0, 3);
}

/* Has the product store its rows at column c0 of term k of the terms
 * layout too (at their nodes), or there only when `only` (then rows must be
 * in node order). */
static void store_term(const struct batched *c, struct gsq__spmm_args *a, int64_t k,
                       int64_t c0, bool only) {
    float *out = c->terms + (k - 1) * c->term_stride + c0;
    if (only)
        a->y = out, a->ldy = c->ldt;
    else
        a->y2 = out, a->ldy2 = c->ldt, a->y2_rows = c->op->order;
}

/* The K terms of block columns [c0, c0 + w) in the block's scratch. With
 * `direct` (the terms layout), each T_k, k >= 1, is stored to the terms
 * layout as its rows are computed, so no copy-out follows; on a graph in
 * node order the last one only there. (The recursion does not run in the
 * terms layout itself: rows of a term are often a power of two apart, and
 * their blocks then share a few cache sets; measured 2.5x slower.) */
static void recur_block(const struct batched *c, float *t, int64_t c0, int64_t w,
                        bool direct) {
    const int64_t n = c->op->nrows, ld = c->width, K = c->K, tn = n * ld;
    for (int64_t i = 0; i < n; i++) /* T_0 = X */
        memcpy(t + i * ld, c->x + node(c, i) * c->ldx + c0, (size_t)w * sizeof(float));
    if (K > 1) { /* T_1 = L X */
        struct gsq__spmm_args a = block_product(c, w, 1.0f, t, 0.0f, NULL, t + tn);
        if (direct) store_term(c, &a, 1, c0, K == 2 && !c->op->order);
        c->rows(&a, 0, n);
    }
    for (int64_t k = 2; k < K; k++) { /* T_k = 2 L T_{k-1} - T_{k-2} */
        struct gsq__spmm_args a = block_product(
            c, w, 2.0f, t + (k - 1) * tn, -1.0f, t + (k - 2) * tn, t + k * tn);
        if (direct) store_term(c, &a, k, c0, k == K - 1 && !c->op->order);
        c->rows(&a, 0, n);
    }
}

static void forward_block(const struct batched *c, float *t, int64_t c0, int64_t w) {
    const int64_t n = c->op->nrows, ld = c->width, K = c->K, tn = n * ld;
    recur_block(c, t, c0, w, false);
    for (int64_t i = 0; i < n; i++) {
        float *row = c->basis + node(c, i) * c->batch * c->ldb;
        prefetch_rows(c, c->basis, i, c0, w);
        for (int64_t k = 0; k < K; k++)
            for (int64_t f = c0, run, at; f < c0 + w; f += run) {
                run = run_at(c, k, f, c0 + w, &at);
                memcpy(row + at, t + k * tn + i * ld + (f - c0), (size_t)run * sizeof(float));
            }
    }
}

/* y[i] := a * x[i] + b * y[i], rows of w features, ld = width. */
static void axpby_block(const struct batched *c, int64_t w, float a, const float *x,
                        float b, float *y) {
    const int64_t ld = c->width;
    for (int64_t i = 0; i < c->op->nrows; i++)
        for (int64_t f = 0; f < w; f++) y[i * ld + f] = a * x[i * ld + f] + b * y[i * ld + f];
}

/* The adjoint on one block: G_{k-1} += 2 L^T G_k, G_{k-2} -= G_k for k =
 * K-1..2, G_0 += L^T G_1, then dX = G_0 + beta dX. */
static void backward_block(const struct batched *c, float *t, int64_t c0, int64_t w) {
    const int64_t n = c->op->nrows, ld = c->width, K = c->K, tn = n * ld;
    for (int64_t i = 0; i < n; i++) {
        const float *row = c->g + node(c, i) * c->batch * c->ldb;
        prefetch_rows(c, c->g, i, c0, w);
        for (int64_t k = 0; k < K; k++)
            for (int64_t f = c0, run, at; f < c0 + w; f += run) {
                run = run_at(c, k, f, c0 + w, &at);
                memcpy(t + k * tn + i * ld + (f - c0), row + at, (size_t)run * sizeof(float));
            }
    }
    /* With beta == 0 the last product stores dX at the nodes as it goes. */
    const bool direct = K > 1 && c->beta == 0;
    for (int64_t k = K - 1; k >= 1; k--) {
        float *prev = t + (k - 1) * tn;
        struct gsq__spmm_args a =
            block_product(c, w, k == 1 ? 1.0f : 2.0f, t + k * tn, 1.0f, prev, prev);
        if (k == 1 && direct)
            a.y2 = c->dx + c0, a.ldy2 = c->lddx, a.y2_rows = c->op->order;
        c->rows(&a, 0, n);
        if (k >= 2) axpby_block(c, w, -1.0f, t + k * tn, 1.0f, t + (k - 2) * tn);
    }
    if (direct) return;
    for (int64_t i = 0; i < n; i++) {
        float *d = c->dx + node(c, i) * c->lddx + c0;
        const float *g0 = t + i * ld;
        if (c->beta == 0)
            memcpy(d, g0, (size_t)w * sizeof(float));
        else
            for (int64_t f = 0; f < w; f++) d[f] = g0[f] + c->beta * d[f];
    }
}

/* Each thread takes a contiguous share of the feature blocks. */
static void block_task(void *p, int tid, int nth) {
    const struct batched *c = p;
    const int64_t total = c->batch * c->nfeat, blocks = (total + c->width - 1) / c->width;
    float *t = c->scratch + (int64_t)tid * c->K * c->op->nrows * c->width;
    int64_t lo, hi;
    gsq__split(blocks, tid, nth, &lo, &hi);
    for (int64_t q = lo; q < hi; q++) {
        const int64_t c0 = q * c->width, w = min64(c->width, total - c0);
        if (c->terms)
            recur_block(c, t, c0, w, true);
        else if (c->basis)
            forward_block(c, t, c0, w);
        else
            backward_block(c, t, c0, w);
    }
}

/* Runs the blocked path (the caller has checked block_width() > 0); *used:
 * the threads it used. */
static gsq_status_t run_blocked(const char *fn, struct batched *c, int *used) {
    const int64_t n = c->op->nrows, total = c->batch * c->nfeat;
    const int64_t blocks = (total + c->width - 1) / c->width;
    const int nth = (int)min64(gsq__threads_for((double)c->K * (c->op->nnz + n) * total), blocks);
    if (n * c->width * (int64_t)sizeof(float) > RELABEL_BYTES) {
        c->op = gsq__graph_relabelled(c->op, fn);
        if (!c->op) return GSQ_ERR_OUT_OF_MEMORY;
    }
    c->rows = gsq__spmm_rows();
    c->scratch = gsq__scratch((size_t)(nth * c->K * n * c->width) * sizeof(float));
    if (!c->scratch) return GSQ_ERR_OUT_OF_MEMORY;
    gsq__parallel(block_task, c, nth);
    *used = nth;
    return GSQ_SUCCESS;
}

/* Copies between the node-major layout (row i: K terms of batch * nfeat,
 * ld_node apart) and the batched one (ld_batched apart), nodes split over
 * the threads. */
struct reorder {
    int64_t n, K, batch, nfeat;
    float *node_major;
    int64_t ld_node;
    float *batched;
    int64_t ld_batched;
    bool to_batched;
};

static void reorder_task(void *p, int tid, int nth) {
    const struct reorder *r = p;
    const int64_t width = r->batch * r->nfeat;
    const size_t bytes = (size_t)r->nfeat * sizeof(float);
    int64_t lo, hi;
    gsq__split(r->n, tid, nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++)
        for (int64_t b = 0; b < r->batch; b++)
            for (int64_t k = 0; k < r->K; k++) {
                float *nm = r->node_major + i * r->ld_node + k * width + b * r->nfeat;
                float *bt = r->batched + (i * r->batch + b) * r->ld_batched + k * r->nfeat;
                if (r->to_batched)
                    memcpy(bt, nm, bytes);
                else
                    memcpy(nm, bt, bytes);
            }
}

static void reorder(struct reorder r) {
    const int nth = gsq__threads_for((double)r.n * r.K * r.batch * r.nfeat);
    gsq__parallel(reorder_task, &r, (int)min64(nth, r.n > 0 ? r.n : 1));
}

/* Validates the shared arguments; *total = batch * nfeat on success. */
static gsq_status_t check_batched(const char *fn, gsq_graph_t lhat, int64_t K,
                                  int64_t batch, int64_t nfeat, int64_t *total) {
    GSQ_TRY(gsq__check_cheb_operator(fn, lhat, K, nfeat));
    GSQ_TRY(gsq__check_size(fn, "batch", batch));
    if (gsq__mul_overflows(batch, nfeat) || gsq__mul_overflows(batch * nfeat, K) ||
        gsq__mul_overflows(lhat->nrows, batch))
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: n * batch * K * nfeat overflows", fn);
    *total = batch * nfeat;
    return GSQ_SUCCESS;
}

/* The node-major scratch of the terms path, or NULL with an error recorded. */
static float *terms_scratch(const char *fn, int64_t floats) {
    float *t = gsq__alloc((size_t)floats * sizeof(float));
    if (!t) gsq__fail(GSQ_ERR_OUT_OF_MEMORY, "%s: cannot allocate the terms", fn);
    return t;
}

/* path: "terms", "blocked" or "relabelled" (blocked, on the relabelled graph). */
static void log_call(const char *fn, int threads, double t0, int64_t n, int64_t K,
                     int64_t batch, int64_t nfeat, const char *path) {
    gsq__log_kernel(fn, gsq__isa(), threads, t0, "n=%lld K=%lld batch=%lld nfeat=%lld path=%s",
                    (long long)n, (long long)K, (long long)batch, (long long)nfeat, path);
}

gsq_status_t gsq_cheb_basis_batched(gsq_graph_t lhat, int64_t K, int64_t batch,
                                    int64_t nfeat, const float *x, int64_t ldx,
                                    float *basis, int64_t ldb) {
    static const char fn[] = "gsq_cheb_basis_batched";
    const double t0 = gsq__now_ms();
    int64_t total;
    GSQ_TRY(check_batched(fn, lhat, K, batch, nfeat, &total));
    const int64_t n = lhat->nrows;
    GSQ_TRY(gsq__check_matrix(fn, "x", x, n, total, ldx));
    GSQ_TRY(gsq__check_matrix(fn, "basis", basis, n * batch, K * nfeat, ldb));
    GSQ_TRY(gsq__check_disjoint(fn, "basis", basis, n * batch, K * nfeat, ldb, "x", x,
                                n, total, ldx));
    if (n == 0 || total == 0) return GSQ_SUCCESS;
    const int64_t width = block_width(n, K);
    int used = gsq__num_threads(); /* the terms path: its kernels log their own */
    const char *path = "terms";
    if (width > 0) {
        struct batched c = {.op = lhat, .K = K, .batch = batch, .nfeat = nfeat,
                            .width = width, .x = x, .ldx = ldx, .basis = basis,
                            .ldb = ldb};
        GSQ_TRY(run_blocked(fn, &c, &used));
        path = c.op->order ? "relabelled" : "blocked";
    } else if (batch == 1) { /* the node-major layout already */
        GSQ_TRY(gsq_cheb_basis(lhat, K, nfeat, x, ldx, basis, ldb));
    } else {
        float *terms = terms_scratch(fn, n * K * total);
        if (!terms) return GSQ_ERR_OUT_OF_MEMORY;
        const gsq_status_t s = gsq_cheb_basis(lhat, K, total, x, ldx, terms, K * total);
        if (s == GSQ_SUCCESS)
            reorder((struct reorder){n, K, batch, nfeat, terms, K * total, basis, ldb, true});
        gsq__free(terms);
        GSQ_TRY(s);
    }
    log_call(fn, used, t0, n, K, batch, nfeat, path);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_cheb_basis_batched_backward(gsq_graph_t lhat, int64_t K,
                                             int64_t batch, int64_t nfeat,
                                             const float *dbasis, int64_t ldb,
                                             float beta, float *dx, int64_t lddx) {
    static const char fn[] = "gsq_cheb_basis_batched_backward";
    const double t0 = gsq__now_ms();
    int64_t total;
    GSQ_TRY(check_batched(fn, lhat, K, batch, nfeat, &total));
    const int64_t n = lhat->nrows;
    GSQ_TRY(gsq__check_matrix(fn, "dbasis", dbasis, n * batch, K * nfeat, ldb));
    GSQ_TRY(gsq__check_matrix(fn, "dx", dx, n, total, lddx));
    GSQ_TRY(gsq__check_disjoint(fn, "dbasis", dbasis, n * batch, K * nfeat, ldb, "dx",
                                dx, n, total, lddx));
    if (n == 0 || total == 0) return GSQ_SUCCESS;
    const struct gsq_graph *lt = gsq__graph_transposed(lhat, fn);
    if (!lt) return GSQ_ERR_OUT_OF_MEMORY;
    const int64_t width = block_width(n, K);
    int used = gsq__num_threads(); /* the terms path: its kernels log their own */
    const char *path = "terms";
    if (width > 0) {
        struct batched c = {.op = lt, .K = K, .batch = batch, .nfeat = nfeat,
                            .width = width, .g = dbasis, .ldb = ldb, .beta = beta,
                            .dx = dx, .lddx = lddx};
        GSQ_TRY(run_blocked(fn, &c, &used));
        path = c.op->order ? "relabelled" : "blocked";
    } else { /* the term-by-term adjoint overwrites its input: a copy */
        float *terms = terms_scratch(fn, n * K * total);
        if (!terms) return GSQ_ERR_OUT_OF_MEMORY;
        reorder((struct reorder){n, K, batch, nfeat, terms, K * total, (float *)dbasis, ldb,
                                 false});
        const gsq_status_t s =
            gsq_cheb_basis_backward(lhat, K, total, terms, K * total, beta, dx, lddx);
        gsq__free(terms);
        GSQ_TRY(s);
    }
    log_call(fn, used, t0, n, K, batch, nfeat, path);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_cheb_terms(gsq_graph_t lhat, int64_t K, int64_t nfeat, const float *x,
                            int64_t ldx, float *terms, int64_t ldt, int64_t term_stride) {
    static const char fn[] = "gsq_cheb_terms";
    const double t0 = gsq__now_ms();
    GSQ_TRY(gsq__check_cheb_operator(fn, lhat, K, nfeat));
    const int64_t n = lhat->nrows;
    GSQ_TRY(gsq__check_matrix(fn, "x", x, n, nfeat, ldx));
    if (K == 1 || n == 0 || nfeat == 0) return GSQ_SUCCESS;
    GSQ_TRY(gsq__check_matrix(fn, "terms", terms, n, nfeat, ldt));
    if (term_stride < n * ldt || gsq__mul_overflows(K - 1, term_stride))
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: term_stride = %lld must be at least n * ldt = %lld (and (K-1) times it "
                         "must fit)", fn, (long long)term_stride, (long long)(n * ldt));
    for (int64_t k = 1; k < K; k++)
        GSQ_TRY(gsq__check_disjoint(fn, "terms", terms + (k - 1) * term_stride, n, nfeat, ldt,
                                    "x", x, n, nfeat, ldx));
    const int64_t width = block_width(n, K);
    int used = gsq__num_threads(); /* the fallback: its kernels log their own */
    const char *path = "terms";
    if (width > 0) {
        struct batched c = {.op = lhat, .K = K, .batch = 1, .nfeat = nfeat, .width = width,
                            .x = x, .ldx = ldx, .terms = terms, .ldt = ldt,
                            .term_stride = term_stride};
        GSQ_TRY(run_blocked(fn, &c, &used));
        path = c.op->order ? "relabelled" : "blocked";
    } else { /* the node-major basis, each term then copied out */
        float *all = terms_scratch(fn, n * K * nfeat);
        if (!all) return GSQ_ERR_OUT_OF_MEMORY;
        const gsq_status_t s = gsq_cheb_basis(lhat, K, nfeat, x, ldx, all, K * nfeat);
        if (s == GSQ_SUCCESS)
            for (int64_t k = 1; k < K; k++)
                for (int64_t i = 0; i < n; i++)
                    memcpy(terms + (k - 1) * term_stride + i * ldt, all + (i * K + k) * nfeat,
                           (size_t)nfeat * sizeof(float));
        gsq__free(all);
        GSQ_TRY(s);
    }
    log_call(fn, used, t0, n, K, 1, nfeat, path);
    return GSQ_SUCCESS;
}
