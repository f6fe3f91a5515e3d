/* Graphs: validated CSR operators. Construction from CSR and COO, the cached
 * transpose, GCN renormalisation, Laplacians, and the largest-eigenvalue
 * estimate (Lanczos / power iteration) behind the scaled Laplacian. */
#include "graph-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIM ((INT64_C(1) << 31) - 1) /* nrows, ncols < 2^31 */

/* ---- the object --------------------------------------------------------- */

struct gsq_graph *gsq__graph_alloc(const char *fn, int64_t nrows, int64_t ncols,
                                   int64_t nnz) {
    struct gsq_graph *g = calloc(1, sizeof *g);
    if (g) {
        g->row_ptr = gsq__alloc((size_t)(nrows + 1) * sizeof(int64_t));
        g->col_idx = gsq__alloc((size_t)nnz * sizeof(int32_t));
        g->values = gsq__alloc((size_t)nnz * sizeof(float));
    }
    if (!g || !g->row_ptr || !g->col_idx || !g->values) {
        if (g) gsq__free(g->row_ptr), gsq__free(g->col_idx), gsq__free(g->values);
        free(g);
        gsq__fail(GSQ_ERR_OUT_OF_MEMORY,
                  "%s: cannot allocate a %lld x %lld graph with %lld entries", fn,
                  (long long)nrows, (long long)ncols, (long long)nnz);
        return NULL;
    }
    g->nrows = nrows, g->ncols = ncols, g->nnz = nnz;
    g->row_ptr[0] = 0;
    pthread_mutex_init(&g->cache_lock, NULL);
    atomic_init(&g->transpose, NULL);
    atomic_init(&g->relabelled, NULL);
    return g;
}

/* Position of column c in row i, or -1. */
static int64_t find_entry(const struct gsq_graph *g, int64_t i, int32_t c) {
    int64_t k = gsq__lower_col(g->col_idx, g->row_ptr[i], g->row_ptr[i + 1], c);
    return k < g->row_ptr[i + 1] && g->col_idx[k] == c ? k : -1;
}

/* Every entry (i, j) has a mirror (j, i) with the same value. */
static bool compute_symmetric(const struct gsq_graph *g) {
    if (g->nrows != g->ncols) return false;
    for (int64_t i = 0; i < g->nrows; i++)
        for (int64_t k = g->row_ptr[i]; k < g->row_ptr[i + 1]; k++) {
            int32_t j = g->col_idx[k];
            if (j == i) continue;
            int64_t m = find_entry(g, j, (int32_t)i);
            if (m < 0 || g->values[m] != g->values[k]) return false;
        }
    return true;
}

void gsq__graph_finish(struct gsq_graph *g) { g->symmetric = compute_symmetric(g); }

void gsq_graph_destroy(gsq_graph_t g) {
    if (!g) return;
    gsq_graph_destroy(atomic_load(&g->transpose));
    gsq_graph_destroy(atomic_load(&g->relabelled));
    pthread_mutex_destroy(&g->cache_lock);
    gsq__free(g->row_ptr), gsq__free(g->col_idx), gsq__free(g->values);
    gsq__free(g->order);
    free(g);
}

/* A new graph holding A^T (a counting sort by column keeps rows sorted). */
static struct gsq_graph *build_transpose(const struct gsq_graph *g,
                                         const char *fn) {
    struct gsq_graph *t = gsq__graph_alloc(fn, g->ncols, g->nrows, g->nnz);
    if (!t) return NULL;
    int64_t *rp = t->row_ptr; /* counts, then starts, then ends shifted back */
    memset(rp, 0, (size_t)(t->nrows + 1) * sizeof *rp);
    for (int64_t k = 0; k < g->nnz; k++) rp[g->col_idx[k]]++;
    for (int64_t c = 0, start = 0; c <= t->nrows; c++) {
        int64_t n = rp[c];
        rp[c] = start;
        start += n;
    }
    for (int64_t i = 0; i < g->nrows; i++)
        for (int64_t k = g->row_ptr[i]; k < g->row_ptr[i + 1]; k++) {
            int64_t dst = rp[g->col_idx[k]]++;
            t->col_idx[dst] = (int32_t)i;
            t->values[dst] = g->values[k];
        }
    memmove(rp + 1, rp, (size_t)t->nrows * sizeof *rp);
    rp[0] = 0;
    t->symmetric = g->symmetric;
    return t;
}

struct gsq_graph *gsq__graph_cached(
    struct gsq_graph *g, _Atomic(struct gsq_graph *) *slot,
    struct gsq_graph *(*build)(const struct gsq_graph *, const char *), const char *fn) {
    struct gsq_graph *t = atomic_load_explicit(slot, memory_order_acquire);
    if (t) return t;
    pthread_mutex_lock(&g->cache_lock);
    t = atomic_load_explicit(slot, memory_order_relaxed);
    if (!t) {
        t = build(g, fn);
        if (t) atomic_store_explicit(slot, t, memory_order_release);
    }
    pthread_mutex_unlock(&g->cache_lock);
    return t;
}

const struct gsq_graph *gsq__graph_transposed(struct gsq_graph *g,
                                              const char *fn) {
    return g->symmetric ? g : gsq__graph_cached(g, &g->transpose, build_transpose, fn);
}

/* ---- validation --------------------------------------------------------- */

static gsq_status_t check_dim(const char *fn, const char *name, int64_t v) {
    if (v >= 0 && v <= MAX_DIM) return GSQ_SUCCESS;
    return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                     "%s: %s = %lld is not in [0, 2^31)", fn, name, (long long)v);
}

static gsq_status_t check_values(const char *fn, const float *values,
                                 int64_t nnz) {
    if (values)
        for (int64_t k = 0; k < nnz; k++)
            if (!isfinite(values[k]))
                return gsq__fail(GSQ_ERR_INVALID_GRAPH,
                                 "%s: value %g at entry %lld is not finite", fn,
                                 (double)values[k], (long long)k);
    return GSQ_SUCCESS;
}

gsq_status_t gsq__check_csr(const char *fn, int64_t nrows, int64_t ncols,
                            const int64_t *row_ptr, const int32_t *col_idx,
                            const float *values) {
    GSQ_TRY(check_dim(fn, "nrows", nrows));
    GSQ_TRY(check_dim(fn, "ncols", ncols));
    GSQ_TRY(gsq__check_ptr(fn, "row_ptr", row_ptr));
    if (row_ptr[0] != 0)
        return gsq__fail(GSQ_ERR_INVALID_GRAPH, "%s: row_ptr[0] = %lld, must be 0",
                         fn, (long long)row_ptr[0]);
    for (int64_t i = 0; i < nrows; i++)
        if (row_ptr[i + 1] < row_ptr[i])
            return gsq__fail(GSQ_ERR_INVALID_GRAPH,
                             "%s: row_ptr decreases at row %lld (%lld -> %lld)", fn,
                             (long long)i, (long long)row_ptr[i],
                             (long long)row_ptr[i + 1]);
    const int64_t nnz = row_ptr[nrows];
    if (nnz > (INT64_C(1) << 40))
        return gsq__fail(GSQ_ERR_INVALID_GRAPH,
                         "%s: row_ptr[nrows] = %lld entries is too many", fn,
                         (long long)nnz);
    if (nnz > 0) GSQ_TRY(gsq__check_ptr(fn, "col_idx", col_idx));
    for (int64_t i = 0; i < nrows; i++)
        for (int64_t k = row_ptr[i]; k < row_ptr[i + 1]; k++) {
            if (col_idx[k] < 0 || col_idx[k] >= ncols)
                return gsq__fail(GSQ_ERR_INVALID_GRAPH,
                                 "%s: column %d of entry %lld (row %lld) is not in "
                                 "[0, %lld)",
                                 fn, col_idx[k], (long long)k, (long long)i,
                                 (long long)ncols);
            if (k > row_ptr[i] && col_idx[k] <= col_idx[k - 1])
                return gsq__fail(GSQ_ERR_INVALID_GRAPH,
                                 "%s: columns of row %lld are not strictly "
                                 "increasing at entry %lld",
                                 fn, (long long)i, (long long)k);
        }
    return check_values(fn, values, nnz);
}

/* [first, last) byte range of a row-major matrix; empty for no elements. */
static void matrix_span(const float *p, int64_t rows, int64_t cols, int64_t ld,
                        uintptr_t *lo, uintptr_t *hi) {
    *lo = *hi = (uintptr_t)p;
    if (rows > 0 && cols > 0) *hi += (size_t)((rows - 1) * ld + cols) * sizeof(float);
}

gsq_status_t gsq__check_disjoint(const char *fn, const char *name_a,
                                 const float *a, int64_t rows_a, int64_t cols_a,
                                 int64_t ld_a, const char *name_b, const float *b,
                                 int64_t rows_b, int64_t cols_b, int64_t ld_b) {
    uintptr_t a0, a1, b0, b1;
    matrix_span(a, rows_a, cols_a, ld_a, &a0, &a1);
    matrix_span(b, rows_b, cols_b, ld_b, &b0, &b1);
    if (!(a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1)) return GSQ_SUCCESS;
    /* Column blocks of one wider matrix (same ld, whole floats apart) are
     * disjoint when b's columns, taken modulo ld on a's row grid, miss a's. */
    uintptr_t d = b0 > a0 ? b0 - a0 : a0 - b0;
    if (ld_a == ld_b && d % sizeof(float) == 0) {
        int64_t ld = ld_a, off = (int64_t)(d / sizeof(float) % (uint64_t)ld);
        int64_t first = b0 > a0 ? cols_a : cols_b; /* the lower one's columns */
        int64_t second = b0 > a0 ? cols_b : cols_a;
        if (off >= first && off + second <= ld) return GSQ_SUCCESS;
    }
    return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: %s overlaps %s", fn, name_a,
                     name_b);
}

/* ---- construction ------------------------------------------------------- */

gsq_status_t gsq_graph_create_csr(gsq_graph_t *out, int64_t nrows, int64_t ncols,
                                  const int64_t *row_ptr, const int32_t *col_idx,
                                  const float *values) {
    static const char fn[] = "gsq_graph_create_csr";
    GSQ_TRY(gsq__check_ptr(fn, "out", out));
    GSQ_TRY(gsq__check_csr(fn, nrows, ncols, row_ptr, col_idx, values));
    const int64_t nnz = row_ptr[nrows];
    struct gsq_graph *g = gsq__graph_alloc(fn, nrows, ncols, nnz);
    if (!g) return GSQ_ERR_OUT_OF_MEMORY;
    memcpy(g->row_ptr, row_ptr, (size_t)(nrows + 1) * sizeof *row_ptr);
    if (nnz) memcpy(g->col_idx, col_idx, (size_t)nnz * sizeof *col_idx);
    for (int64_t k = 0; k < nnz; k++) g->values[k] = values ? values[k] : 1.0f;
    gsq__graph_finish(g);
    *out = g;
    return GSQ_SUCCESS;
}

/* Stable counting sort of order[0..n) by key[order[k]] in [0, nkeys) into
 * sorted; count has nkeys + 1 slots. */
static void counting_sort(const int64_t *order, int64_t n, const int32_t *key,
                          int64_t nkeys, int64_t *count, int64_t *sorted) {
    memset(count, 0, (size_t)(nkeys + 1) * sizeof *count);
    for (int64_t k = 0; k < n; k++) count[key[order ? order[k] : k] + 1]++;
    for (int64_t c = 0; c < nkeys; c++) count[c + 1] += count[c];
    for (int64_t k = 0; k < n; k++) {
        int64_t e = order ? order[k] : k;
        sorted[count[key[e]]++] = e;
    }
}

gsq_status_t gsq_graph_create_coo(gsq_graph_t *out, int64_t nrows, int64_t ncols,
                                  int64_t nnz, const int32_t *rows,
                                  const int32_t *cols, const float *values) {
    static const char fn[] = "gsq_graph_create_coo";
    GSQ_TRY(gsq__check_ptr(fn, "out", out));
    GSQ_TRY(check_dim(fn, "nrows", nrows));
    GSQ_TRY(check_dim(fn, "ncols", ncols));
    GSQ_TRY(gsq__check_size(fn, "nnz", nnz));
    if (nnz > 0) {
        GSQ_TRY(gsq__check_ptr(fn, "rows", rows));
        GSQ_TRY(gsq__check_ptr(fn, "cols", cols));
    }
    for (int64_t k = 0; k < nnz; k++)
        if (rows[k] < 0 || rows[k] >= nrows || cols[k] < 0 || cols[k] >= ncols)
            return gsq__fail(GSQ_ERR_INVALID_GRAPH,
                             "%s: entry %lld at (%d, %d) is outside %lld x %lld", fn,
                             (long long)k, rows[k], cols[k], (long long)nrows,
                             (long long)ncols);
    GSQ_TRY(check_values(fn, values, nnz));

    /* LSD radix sort: by column, then stably by row; duplicates stay in
     * input order and are summed in that order. */
    int64_t nkeys = (nrows > ncols ? nrows : ncols) + 1;
    int64_t *count = gsq__alloc((size_t)nkeys * sizeof(int64_t));
    int64_t *by_col = gsq__alloc((size_t)nnz * sizeof(int64_t));
    int64_t *order = gsq__alloc((size_t)nnz * sizeof(int64_t));
    struct gsq_graph *g = NULL;
    gsq_status_t status = GSQ_SUCCESS;
    if (!count || !by_col || !order) {
        status = gsq__fail(GSQ_ERR_OUT_OF_MEMORY,
                           "%s: cannot allocate sort buffers for %lld entries", fn,
                           (long long)nnz);
        goto done;
    }
    counting_sort(NULL, nnz, cols, ncols, count, by_col);
    counting_sort(by_col, nnz, rows, nrows, count, order);

    int64_t unique = 0;
    for (int64_t k = 0; k < nnz; k++)
        unique += k == 0 || rows[order[k]] != rows[order[k - 1]] ||
                  cols[order[k]] != cols[order[k - 1]];
    g = gsq__graph_alloc(fn, nrows, ncols, unique);
    if (!g) {
        status = GSQ_ERR_OUT_OF_MEMORY;
        goto done;
    }
    memset(g->row_ptr, 0, (size_t)(nrows + 1) * sizeof *g->row_ptr);
    for (int64_t k = 0, u = -1; k < nnz; k++) {
        int64_t e = order[k];
        float v = values ? values[e] : 1.0f;
        if (u >= 0 && rows[e] == rows[order[k - 1]] && cols[e] == g->col_idx[u]) {
            v += g->values[u];
        } else {
            u++;
            g->col_idx[u] = cols[e];
            g->row_ptr[rows[e] + 1]++;
        }
        g->values[u] = v;
        if (!isfinite(g->values[u])) {
            status = gsq__fail(GSQ_ERR_INVALID_GRAPH,
                               "%s: duplicates at (%d, %d) sum to a non-finite value",
                               fn, rows[e], cols[e]);
            goto done;
        }
    }
    for (int64_t i = 0; i < nrows; i++) g->row_ptr[i + 1] += g->row_ptr[i];
    gsq__graph_finish(g);
    *out = g;
    g = NULL;
done:
    gsq_graph_destroy(g);
    gsq__free(count), gsq__free(by_col), gsq__free(order);
    return status;
}

/* ---- accessors ---------------------------------------------------------- */

gsq_status_t gsq_graph_shape(gsq_graph_t g, int64_t *nrows, int64_t *ncols,
                             int64_t *nnz) {
    GSQ_TRY(gsq__check_ptr("gsq_graph_shape", "graph", g));
    if (nrows) *nrows = g->nrows;
    if (ncols) *ncols = g->ncols;
    if (nnz) *nnz = g->nnz;
    return GSQ_SUCCESS;
}

gsq_status_t gsq_graph_csr(gsq_graph_t g, const int64_t **row_ptr,
                           const int32_t **col_idx, const float **values) {
    GSQ_TRY(gsq__check_ptr("gsq_graph_csr", "graph", g));
    if (row_ptr) *row_ptr = g->row_ptr;
    if (col_idx) *col_idx = g->col_idx;
    if (values) *values = g->values;
    return GSQ_SUCCESS;
}

gsq_status_t gsq_graph_is_symmetric(gsq_graph_t g, int *out) {
    GSQ_TRY(gsq__check_ptr("gsq_graph_is_symmetric", "graph", g));
    GSQ_TRY(gsq__check_ptr("gsq_graph_is_symmetric", "out", out));
    *out = g->symmetric;
    return GSQ_SUCCESS;
}

gsq_status_t gsq_graph_transpose(gsq_graph_t *out, gsq_graph_t g) {
    static const char fn[] = "gsq_graph_transpose";
    GSQ_TRY(gsq__check_ptr(fn, "out", out));
    GSQ_TRY(gsq__check_ptr(fn, "graph", g));
    struct gsq_graph *t = build_transpose(g, fn);
    if (!t) return GSQ_ERR_OUT_OF_MEMORY;
    *out = t;
    return GSQ_SUCCESS;
}

/* ---- normalised operators ----------------------------------------------- */

/* The operators built from A with every diagonal entry present:
 *   GCN:  D^-1/2 (A + I) D^-1/2, existing self loops keep their weight;
 *   NONE: D - A;  SYM: I - D^-1/2 A D^-1/2;  RW: I - D^-1 A,
 * where the Laplacians ignore A's self loops. Products are formed as
 * a * (s_i * s_j) so a symmetric A gives an exactly symmetric result. */
enum transform { GCN = -1, LAP_NONE = GSQ_LAPLACIAN_NONE, LAP_SYM = GSQ_LAPLACIAN_SYM,
                 LAP_RW = GSQ_LAPLACIAN_RW };

static gsq_status_t check_square(const char *fn, gsq_graph_t g) {
    GSQ_TRY(gsq__check_ptr(fn, "graph", g));
    if (g->nrows == g->ncols) return GSQ_SUCCESS;
    return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: needs a square matrix, got %lld x %lld",
                     fn, (long long)g->nrows, (long long)g->ncols);
}

static gsq_status_t transform(gsq_graph_t *out, const char *fn,
                              const struct gsq_graph *a, enum transform kind) {
    const int64_t n = a->nrows;
    float *deg = gsq__alloc((size_t)n * sizeof(float));
    float *scale = gsq__alloc((size_t)n * sizeof(float));
    if (!deg || !scale) {
        gsq__free(deg), gsq__free(scale);
        return gsq__fail(GSQ_ERR_OUT_OF_MEMORY, "%s: cannot allocate %lld degrees",
                         fn, (long long)n);
    }
    int64_t diagonals = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = 0;
        bool has_loop = false;
        for (int64_t k = a->row_ptr[i]; k < a->row_ptr[i + 1]; k++) {
            has_loop |= a->col_idx[k] == i;
            if (a->col_idx[k] != i || kind == GCN) d += a->values[k];
        }
        if (kind == GCN && !has_loop) d += 1;
        diagonals += has_loop;
        deg[i] = (float)d;
        scale[i] = kind == LAP_RW ? (d != 0 ? (float)(1 / d) : 0)
                                  : (d > 0 ? (float)(1 / sqrt(d)) : 0);
    }
    struct gsq_graph *g = gsq__graph_alloc(fn, n, n, a->nnz - diagonals + n);
    if (!g) {
        gsq__free(deg), gsq__free(scale);
        return GSQ_ERR_OUT_OF_MEMORY;
    }
    int64_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        const float si = scale[i];
        float diag = kind == GCN ? si * si : kind == LAP_NONE ? deg[i] : 1.0f;
        bool placed = false;
        for (int64_t k = a->row_ptr[i]; k <= a->row_ptr[i + 1]; k++) {
            const bool end = k == a->row_ptr[i + 1];
            const int32_t j = end ? 0 : a->col_idx[k];
            const float v = end ? 0 : a->values[k];
            if (!placed && (end || j >= i)) {
                if (kind == GCN && !end && j == i) diag = v * (si * si);
                g->col_idx[o] = (int32_t)i, g->values[o++] = diag;
                placed = true;
            }
            if (end || j == i) continue;
            g->col_idx[o] = j;
            g->values[o++] = kind == GCN       ? v * (si * scale[j])
                             : kind == LAP_NONE ? -v
                             : kind == LAP_SYM  ? -(v * (si * scale[j]))
                                                : -(v * si);
        }
        g->row_ptr[i + 1] = o;
    }
    gsq__free(deg), gsq__free(scale);
    gsq__graph_finish(g);
    *out = g;
    return GSQ_SUCCESS;
}

gsq_status_t gsq_graph_gcn_norm(gsq_graph_t *out, gsq_graph_t graph) {
    static const char fn[] = "gsq_graph_gcn_norm";
    GSQ_TRY(gsq__check_ptr(fn, "out", out));
    GSQ_TRY(check_square(fn, graph));
    return transform(out, fn, graph, GCN);
}

static gsq_status_t check_norm(const char *fn, gsq_laplacian_t norm) {
    if (norm == GSQ_LAPLACIAN_NONE || norm == GSQ_LAPLACIAN_SYM ||
        norm == GSQ_LAPLACIAN_RW)
        return GSQ_SUCCESS;
    return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                     "%s: norm = %d is not a gsq_laplacian_t", fn, (int)norm);
}

gsq_status_t gsq_graph_laplacian(gsq_graph_t *out, gsq_graph_t graph,
                                 gsq_laplacian_t norm) {
    static const char fn[] = "gsq_graph_laplacian";
    GSQ_TRY(gsq__check_ptr(fn, "out", out));
    GSQ_TRY(check_square(fn, graph));
    GSQ_TRY(check_norm(fn, norm));
    return transform(out, fn, graph, (enum transform)norm);
}

/* ---- largest eigenvalue ------------------------------------------------- */

#define LANCZOS_STEPS 100
#define POWER_STEPS 2000
#define TOL_EARLY 1e-6 /* relative: stop as soon as this is reached */
#define TOL_FINAL 1e-3 /* relative: accept at the step limit */

/* y = A x in double. */
static void matvec(const struct gsq_graph *a, const double *x, double *y) {
    for (int64_t i = 0; i < a->nrows; i++) {
        double s = 0;
        for (int64_t k = a->row_ptr[i]; k < a->row_ptr[i + 1]; k++)
            s += a->values[k] * x[a->col_idx[k]];
        y[i] = s;
    }
}

static double dot(const double *a, const double *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* A fixed pseudo-random unit vector (SplitMix64), so estimates are repeatable. */
static void start_vector(double *v, int64_t n) {
    uint64_t state = 0x6772617068736571u; /* "graphseq" */
    for (int64_t i = 0; i < n; i++) {
        uint64_t z = (state += 0x9E3779B97F4A7C15u);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        v[i] = (double)((z ^ (z >> 31)) >> 11) * 0x1p-53 - 0.5;
    }
    double s = 1 / sqrt(dot(v, v, n));
    for (int64_t i = 0; i < n; i++) v[i] *= s;
}

/* Largest eigenvalue of the symmetric m x m matrix t (destroyed) and the
 * last component of its eigenvector, by cyclic Jacobi rotations; q is m x m
 * scratch. */
static void jacobi_top(double *t, double *q, int m, double *theta, double *last) {
    for (int i = 0; i < m * m; i++) q[i] = i % (m + 1) == 0;
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = 0, diag = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                *(i == j ? &diag : &off) += t[i * m + j] * t[i * m + j];
        if (off <= 1e-30 * diag || off == 0) break;
        for (int p = 0; p < m; p++)
            for (int r = p + 1; r < m; r++) {
                double apr = t[p * m + r];
                if (apr == 0) continue;
                double tau = (t[r * m + r] - t[p * m + p]) / (2 * apr);
                double tn = (tau >= 0 ? 1 : -1) / (fabs(tau) + sqrt(1 + tau * tau));
                double c = 1 / sqrt(1 + tn * tn), s = tn * c;
                for (int k = 0; k < m; k++) { /* columns p, r */
                    double a = t[k * m + p], b = t[k * m + r];
                    t[k * m + p] = c * a - s * b, t[k * m + r] = s * a + c * b;
                }
                for (int k = 0; k < m; k++) { /* rows p, r */
                    double a = t[p * m + k], b = t[r * m + k];
                    t[p * m + k] = c * a - s * b, t[r * m + k] = s * a + c * b;
                }
                for (int k = 0; k < m; k++) { /* eigenvectors: columns of q */
                    double a = q[k * m + p], b = q[k * m + r];
                    q[k * m + p] = c * a - s * b, q[k * m + r] = s * a + c * b;
                }
            }
    }
    int best = 0;
    for (int i = 1; i < m; i++)
        if (t[i * m + i] > t[best * m + best]) best = i;
    *theta = t[best * m + best];
    *last = q[(m - 1) * m + best];
}

/* Lanczos with full reorthogonalisation; converged when the Ritz residual
 * bound beta * |s_last| or the change over the last check is small. */
static gsq_status_t lanczos_max(const char *fn, const struct gsq_graph *a,
                                double *out) {
    const int64_t n = a->nrows;
    const int m_max = n < LANCZOS_STEPS ? (int)n : LANCZOS_STEPS;
    double *v = gsq__alloc((size_t)(m_max + 1) * (size_t)n * sizeof(double));
    double *tri = gsq__alloc(2 * (size_t)m_max * m_max * sizeof(double));
    double alpha[LANCZOS_STEPS], beta[LANCZOS_STEPS];
    if (!v || !tri) {
        gsq__free(v), gsq__free(tri);
        return gsq__fail(GSQ_ERR_OUT_OF_MEMORY,
                         "%s: cannot allocate %d Lanczos vectors of %lld", fn,
                         m_max + 1, (long long)n);
    }
    start_vector(v, n);
    double theta = 0, previous = 0, err = INFINITY, scale = 0;
    for (int k = 0; k < m_max; k++) {
        double *vk = v + (size_t)k * n, *w = vk + n;
        matvec(a, vk, w);
        alpha[k] = dot(vk, w, n);
        /* Full reorthogonalisation, two MGS passes ("twice is enough"): with
         * one, components along converged Ritz vectors regrow and produce
         * spurious Ritz values above lambda_max. */
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j <= k; j++) {
                const double *vj = v + (size_t)j * n;
                const double h = dot(vj, w, n);
                for (int64_t i = 0; i < n; i++) w[i] -= h * vj[i];
            }
        beta[k] = sqrt(dot(w, w, n));
        scale = fmax(scale, fabs(alpha[k]) + beta[k]);
        const int m = k + 1;
        const bool breakdown = beta[k] <= 1e-12 * scale; /* invariant subspace */
        if (m % 10 == 0 || m == m_max || breakdown) {
            double *t = tri, *q = tri + (size_t)m * m, last;
            memset(t, 0, (size_t)m * m * sizeof *t);
            for (int i = 0; i < m; i++) {
                t[i * m + i] = alpha[i];
                if (i + 1 < m) t[i * m + i + 1] = t[(i + 1) * m + i] = beta[i];
            }
            jacobi_top(t, q, m, &theta, &last);
            double bound = beta[k] * fabs(last), change = fabs(theta - previous);
            err = breakdown || m == n ? 0 : (bound < change ? bound : change);
            if (err <= TOL_EARLY * fabs(theta)) break;
            previous = theta;
        }
        const double inv = 1 / beta[k];
        for (int64_t i = 0; i < n; i++) w[i] *= inv;
    }
    gsq__free(v), gsq__free(tri);
    if (!(err <= TOL_FINAL * fabs(theta)))
        return gsq__fail(GSQ_ERR_NOT_CONVERGED,
                         "%s: Lanczos did not converge in %d steps (estimate %g, "
                         "error bound %g)",
                         fn, m_max, theta, err);
    *out = theta;
    return GSQ_SUCCESS;
}

/* Power iteration: the growth factor |A x| / |x| tends to the dominant
 * eigenvalue's magnitude, geometrically; the remaining error is estimated
 * from the ratio q of successive changes as change * q / (1 - q), so slow
 * convergence (close eigenvalues) does not stop it early. */
static gsq_status_t power_max(const char *fn, const struct gsq_graph *a,
                              double *out) {
    const int64_t n = a->nrows;
    double *x = gsq__alloc(2 * (size_t)n * sizeof(double)), *y = x + n;
    if (!x)
        return gsq__fail(GSQ_ERR_OUT_OF_MEMORY, "%s: cannot allocate 2 vectors of %lld",
                         fn, (long long)n);
    start_vector(x, n);
    double lambda = 0, change = INFINITY, err = INFINITY;
    for (int it = 0; it < POWER_STEPS; it++) {
        matvec(a, x, y);
        const double norm = sqrt(dot(y, y, n)), previous = change;
        change = fabs(norm - lambda), lambda = norm;
        const double q = change / previous;
        err = isfinite(previous) && q < 1 ? change * q / (1 - q) : INFINITY;
        if (norm == 0 || change == 0 || err <= TOL_EARLY * norm) break;
        double *t = x;
        x = y, y = t;
        for (int64_t i = 0; i < n; i++) x[i] /= norm;
    }
    gsq__free(x < y ? x : y);
    if (!(err <= TOL_FINAL * lambda || lambda == 0 || change == 0))
        return gsq__fail(GSQ_ERR_NOT_CONVERGED,
                         "%s: power iteration did not converge in %d steps "
                         "(estimate %g)",
                         fn, POWER_STEPS, lambda);
    *out = lambda;
    return GSQ_SUCCESS;
}

static gsq_status_t lambda_max(const char *fn, const struct gsq_graph *a,
                               double *out) {
    if (a->nrows == 0) {
        *out = 0;
        return GSQ_SUCCESS;
    }
    return a->symmetric ? lanczos_max(fn, a, out) : power_max(fn, a, out);
}

gsq_status_t gsq_graph_lambda_max(gsq_graph_t graph, float *out) {
    static const char fn[] = "gsq_graph_lambda_max";
    GSQ_TRY(check_square(fn, graph));
    GSQ_TRY(gsq__check_ptr(fn, "out", out));
    double l;
    GSQ_TRY(lambda_max(fn, graph, &l));
    *out = (float)l;
    return GSQ_SUCCESS;
}

gsq_status_t gsq_graph_scaled_laplacian(gsq_graph_t *out, gsq_graph_t graph,
                                        gsq_laplacian_t norm, float lambda_max_in) {
    static const char fn[] = "gsq_graph_scaled_laplacian";
    GSQ_TRY(gsq__check_ptr(fn, "out", out));
    GSQ_TRY(check_square(fn, graph));
    GSQ_TRY(check_norm(fn, norm));
    if (!isfinite(lambda_max_in))
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: lambda_max is not finite", fn);
    gsq_graph_t lap = NULL;
    GSQ_TRY(transform(&lap, fn, graph, (enum transform)norm));
    double lmax = lambda_max_in;
    gsq_status_t status = GSQ_SUCCESS;
    if (lmax <= 0) {
        /* I - D^-1 A = D^-1/2 (I - D^-1/2 A D^-1/2) D^1/2: RW has SYM's
         * eigenvalues, and SYM is symmetric whenever A is (Lanczos applies). */
        gsq_graph_t sym = NULL;
        if (norm == GSQ_LAPLACIAN_RW) status = transform(&sym, fn, graph, LAP_SYM);
        if (status == GSQ_SUCCESS) status = lambda_max(fn, sym ? sym : lap, &lmax);
        gsq_graph_destroy(sym);
        if (status == GSQ_SUCCESS && !(lmax > 0))
            status = gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                               "%s: the Laplacian's largest eigenvalue is %g; "
                               "cannot scale by it (a graph without edges?)",
                               fn, lmax);
    }
    if (status != GSQ_SUCCESS) {
        gsq_graph_destroy(lap);
        return status;
    }
    const float s = (float)(2 / lmax);
    for (int64_t i = 0; i < lap->nrows; i++)
        for (int64_t k = lap->row_ptr[i]; k < lap->row_ptr[i + 1]; k++)
            lap->values[k] = lap->col_idx[k] == i ? s * lap->values[k] - 1.0f
                                                  : s * lap->values[k];
    *out = lap;
    return GSQ_SUCCESS;
}
