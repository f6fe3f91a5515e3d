/* SGEMM, C := alpha * op(A) * op(B) + beta * C, packed and register-blocked
 * as in BLIS, with the cache roles chosen for a broadcast-A kernel:
 *
 *   for jc over n, step nc:
 *     for pc over k, step kc:
 *       pack op(B)[pc.., jc..] (kc x nc) into nr-column micro-panels: the
 *         shared B block, sized for L2 (all threads pack, then a barrier)
 *       for ic over this thread's rows, step mc:
 *         pack op(A)[ic.., pc..] (mc x kc) into mr-row micro-panels (private)
 *         for each A micro-panel (in L1):
 *           for each nr-column panel of this thread's columns:
 *             microkernel: one mr x nr tile of C, streaming B from L2,
 *               prefetching a share of the next A block's source into L2
 *       barrier before the B block is replaced
 *
 * Packing zero-pads the edges, so one microkernel computes every tile (its
 * half-width variant when at most nr/2 columns are left); a partial tile goes
 * through a stack buffer, unless the ISA has edge kernels, which compute
 * only the valid rows and store the valid columns in place (masked, without
 * the copy). Transposing packs (A untransposed, B transposed) use the ISA's
 * packer. A product one B panel wide (mr <= n <= nr) with A untransposed (or
 * in a few parts) does not pack A: each A micro-panel would serve a single
 * tile, so packing costs about as much as its FMAs, and the ISA's direct
 * kernel reads A's rows in place instead, summing in the same order (the
 * same values). Tiles sit at fixed multiples of mr and nr, each is owned by one
 * thread, and each element is summed in a fixed order (p ascending within a
 * kc block, kc blocks in order): the result is bitwise the same for every
 * thread count. K is never split.
 */
#include "internal.h"
#include "arch/gemm-kernels.h"

#include <stdlib.h>
#include <string.h>

static const char *const FN = "gsq_sgemm";

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- generic microkernels and packer -------------------------------------- */

/* GCC/Clang vector extension: portable, and SSE on baseline x86-64. */
typedef float gsq__v4f __attribute__((vector_size(16)));

static gsq__v4f load4(const float *p) {
    gsq__v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A 4 x (4 * nv) tile, nv = 1 or 2: up to eight 4-wide accumulators, which
 * fit the 16 SSE registers. */
static inline __attribute__((always_inline)) void
generic_kernel(int nv, int64_t kc, float alpha, const float *a, const float *b,
               float beta, float *c, int64_t ldc) {
    enum { MR = 4, NR = 8 };
    gsq__v4f acc[MR][2] = {{{0}}};
    for (int64_t p = 0; p < kc; p++, a += MR, b += NR) {
        gsq__v4f bv[2];
        for (int v = 0; v < nv; v++) bv[v] = load4(b + 4 * v);
        for (int i = 0; i < MR; i++)
            for (int v = 0; v < nv; v++) acc[i][v] += a[i] * bv[v];
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 4 * nv; j++) {
            const float t = alpha * acc[i][j / 4][j % 4];
            c[i * ldc + j] = beta == 0 ? t : t + beta * c[i * ldc + j];
        }
}

void gsq__sgemm_generic_4x8(int64_t kc, float alpha, const float *a,
                            const float *b, float beta, float *c, int64_t ldc,
                            const char *const *prefetch, int n_prefetch) {
    (void)prefetch, (void)n_prefetch;
    generic_kernel(2, kc, alpha, a, b, beta, c, ldc);
}

void gsq__sgemm_generic_4x4(int64_t kc, float alpha, const float *a,
                            const float *b, float beta, float *c, int64_t ldc,
                            const char *const *prefetch, int n_prefetch) {
    (void)prefetch, (void)n_prefetch;
    generic_kernel(1, kc, alpha, a, b, beta, c, ldc);
}

void gsq__sgemm_copy_generic(int64_t kc, const float *src, int64_t ld,
                             int64_t cols, int width, int64_t panel_floats,
                             float *dst) {
    for (int64_t p = 0; p < kc; p++, src += ld, dst += width)
        for (int64_t x = 0; x * width < cols; x++) {
            const int64_t c0 = x * width, real = min64(width, cols - c0);
            float *out = dst + x * panel_floats;
            for (int64_t c = 0; c < real; c++) out[c] = src[c0 + c];
            for (int64_t c = real; c < width; c++) out[c] = 0;
        }
}

void gsq__sgemm_pack_generic(int64_t kc, const float *src, int64_t ld, int rows,
                             int width, float *dst) {
    for (int i = 0; i < rows; i++)
        for (int64_t p = 0; p < kc; p++) dst[p * width + i] = src[i * ld + p];
    for (int i = rows; i < width; i++)
        for (int64_t p = 0; p < kc; p++) dst[p * width + i] = 0;
}

/* ---- packing ------------------------------------------------------------ */

typedef struct sgemm_job {
    const gsq__sgemm_tiles *tiles;
    bool trans_a, trans_b;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    /* Or op(A) (untransposed) / op(B) (untransposed) given as column parts
     * side by side: A's parts split k, B's split n. */
    const gsq_matrix_part_t *a_parts, *b_parts;
    int64_t a_nparts, b_nparts;
    float *c;
    float *packed_b;   /* kc x nc block of op(B), shared */
    const float *prepacked; /* all blocks of op(B) packed ahead (gsq_sgemm_packed) */
    int64_t b_stride;  /* floats per prepacked block */
    float *packed_a;   /* one mc x kc block of op(A) per thread, a_stride apart */
    int64_t a_stride;
    const gsq__rows_then *then; /* run on each block of finished rows, or NULL */
    int threads_used;  /* the team size granted, for the verbose log */
} sgemm_job;

/* The columns [*s, *e) of op(A)'s k block [p0, p0 + kc) that a part
 * starting at column `start` holds; false when it holds none. */
static bool part_share(const gsq_matrix_part_t *part, int64_t start, int64_t p0, int64_t kc,
                       int64_t *s, int64_t *e) {
    *s = start > p0 ? start : p0;
    *e = min64(start + part->cols, p0 + kc);
    return *s < *e;
}

/* op(A)[i0 .. i0+rows, p0 .. p0+kc) as mr-row micro-panels: element (i, p)
 * of panel x at dst[x*mr*kc + p*mr + i]; rows past `rows` are zero. */
static void pack_a(const sgemm_job *j, int64_t i0, int64_t rows, int64_t p0,
                   int64_t kc, float *dst) {
    const int mr = j->tiles->mr;
    if (j->a_parts) { /* each part's share of [p0, p0 + kc), at its offset in the panels */
        for (int64_t x = 0; x < rows; x += mr, dst += mr * kc)
            for (int64_t q = 0, start = 0; q < j->a_nparts; start += j->a_parts[q++].cols) {
                const gsq_matrix_part_t *part = &j->a_parts[q];
                int64_t s, e;
                if (part_share(part, start, p0, kc, &s, &e))
                    j->tiles->pack(e - s, part->data + (i0 + x) * part->ld + (s - start), part->ld,
                                   (int)min64(mr, rows - x), mr, dst + (s - p0) * mr);
            }
        return;
    }
    if (!j->trans_a) { /* A is m x k: a transpose per panel */
        for (int64_t x = 0; x < rows; x += mr, dst += mr * kc)
            j->tiles->pack(kc, j->a + (i0 + x) * j->lda + p0, j->lda,
                           (int)min64(mr, rows - x), mr, dst);
        return;
    }
    j->tiles->copy(kc, j->a + p0 * j->lda + i0, j->lda, rows, mr, mr * kc, dst);
}

/* Panels [q0, q1) of op(B)[p0.., j0..] (kc x nc) as nr-column micro-panels:
 * element (p, j) of panel q at dst[q*nr*kc + p*nr + j]; columns past nc are
 * 0. */
static void pack_b_parts(const sgemm_job *j, int64_t j0, int64_t nc, int64_t p0,
                         int64_t kc, int64_t q0, int64_t q1, float *dst);

static void pack_b(const sgemm_job *j, int64_t j0, int64_t nc, int64_t p0,
                   int64_t kc, int64_t q0, int64_t q1, float *dst) {
    const int nr = j->tiles->nr;
    if (j->b_parts) {
        pack_b_parts(j, j0, nc, p0, kc, q0, q1, dst);
        return;
    }
    if (j->trans_b) { /* B is n x k: a transpose */
        for (int64_t q = q0; q < q1; q++)
            j->tiles->pack(kc, j->b + (j0 + q * nr) * j->ldb + p0, j->ldb,
                           (int)(min64((q + 1) * nr, nc) - q * nr), nr, dst + q * nr * kc);
        return;
    }
    j->tiles->copy(kc, j->b + p0 * j->ldb + j0 + q0 * nr, j->ldb,
                   min64(q1 * nr, nc) - q0 * nr, nr, nr * kc, dst + q0 * nr * kc);
}

/* pack_b for B given as parts: the panels within one part are that part's
 * copy (one call for all of them, so its rows stream whole); a panel that
 * straddles parts is zeroed and filled part by part. */
static void pack_b_parts(const sgemm_job *j, int64_t j0, int64_t nc, int64_t p0,
                         int64_t kc, int64_t q0, int64_t q1, float *dst) {
    const int nr = j->tiles->nr;
    int64_t q_part = 0, start = 0; /* the part holding column c0, and its first column */
    for (int64_t q = q0, q_end; q < q1; q = q_end) {
        const int64_t c0 = j0 + q * nr;
        while (start + j->b_parts[q_part].cols <= c0) start += j->b_parts[q_part++].cols;
        const gsq_matrix_part_t *part = &j->b_parts[q_part];
        const int64_t part_end = start + part->cols;
        for (q_end = q; q_end < q1 && j0 + min64((q_end + 1) * nr, nc) <= part_end; q_end++) {}
        float *panel = dst + q * nr * kc;
        if (q_end > q) { /* panels [q, q_end) lie within the part */
            j->tiles->copy(kc, part->data + p0 * part->ld + (c0 - start), part->ld,
                           j0 + min64(q_end * nr, nc) - c0, nr, nr * kc, panel);
            continue;
        }
        q_end = q + 1;
        const int64_t c1 = j0 + min64((q + 1) * nr, nc);
        for (int64_t p = 0; p < kc; p++) memset(panel + p * nr, 0, (size_t)nr * sizeof(float));
        for (int64_t r = q_part, s0 = start; s0 < c1; s0 += j->b_parts[r++].cols) {
            const int64_t lo = c0 > s0 ? c0 : s0, hi = min64(c1, s0 + j->b_parts[r].cols);
            const float *src = j->b_parts[r].data + p0 * j->b_parts[r].ld + (lo - s0);
            for (int64_t p = 0; p < kc; p++)
                memcpy(panel + p * nr + (lo - c0), src + p * j->b_parts[r].ld,
                       (size_t)(hi - lo) * sizeof(float));
        }
    }
}

/* ---- prefetching the next A block --------------------------------------- */

/* The cache lines of the source of one op(A) block, handed out in order a
 * few per tile, so the block is in L2 when it is packed instead of stalling
 * the packer on L3 or memory. Each of its rows is a byte range of every
 * segment (one, or one per part of A it takes columns from). */
enum { MAX_SEGMENTS = 8 }; /* parts past these are not prefetched */
typedef struct line_segment {
    const char *base;
    int64_t ld, row_bytes;
} line_segment;
typedef struct line_walk {
    line_segment seg[MAX_SEGMENTS];
    int nseg, s;      /* the segment being walked */
    int64_t rows, row; /* the row being walked; rows when done */
    const char *next; /* its next line, NULL before the first */
} line_walk;

enum { MAX_PREFETCH = 128 }; /* lines per tile */

static void walk_block(const sgemm_job *j, int64_t i0, int64_t rows, int64_t p0,
                       int64_t kc, line_walk *w) {
    *w = (line_walk){.rows = j->trans_a ? kc : rows};
    if (j->a_parts) {
        for (int64_t q = 0, start = 0; q < j->a_nparts && w->nseg < MAX_SEGMENTS;
             start += j->a_parts[q++].cols) {
            const gsq_matrix_part_t *part = &j->a_parts[q];
            int64_t s, e;
            if (part_share(part, start, p0, kc, &s, &e))
                w->seg[w->nseg++] = (line_segment){
                    (const char *)(part->data + i0 * part->ld + (s - start)),
                    part->ld * (int64_t)sizeof(float), (e - s) * (int64_t)sizeof(float)};
        }
        return;
    }
    const float *src = j->trans_a ? j->a + p0 * j->lda + i0 : j->a + i0 * j->lda + p0;
    w->seg[0] = (line_segment){(const char *)src, j->lda * (int64_t)sizeof(float),
                                    (j->trans_a ? rows : kc) * (int64_t)sizeof(float)};
    w->nseg = 1;
}

static int take_lines(line_walk *w, int max, const char **out) {
    int n = 0;
    while (n < max && w->row < w->rows && w->nseg > 0) {
        const char *start = w->seg[w->s].base + w->row * w->seg[w->s].ld;
        const char *end = start + w->seg[w->s].row_bytes;
        if (!w->next) w->next = (const char *)((uintptr_t)start & ~(uintptr_t)63);
        for (; n < max && w->next < end; w->next += 64) out[n++] = w->next;
        if (w->next >= end) {
            w->next = NULL;
            if (++w->s == w->nseg) w->s = 0, w->row++;
        }
    }
    return n;
}

/* The A block a thread packs after block (jc, pc, i) of its rows
 * [row0, row1): its lines go to `next`, a share of them to each of the
 * `tiles` tiles of the current block. Returns that share (0: no
 * prefetching). */
static int plan_prefetch(const sgemm_job *j, int64_t jc, int64_t pc, int64_t kc,
                         int64_t i, int64_t rows, int64_t row0, int64_t row1,
                         int64_t tiles, line_walk *next) {
    const gsq__sgemm_tiles *t = j->tiles;
    *next = (line_walk){.rows = 0};
    const bool more_i = i + rows < row1, more_p = pc + kc < j->k;
    if (!t->prefetch_a || tiles == 0 || !(more_i || more_p || jc + t->nc < j->n))
        return 0;
    const int64_t i2 = more_i ? i + rows : row0;
    const int64_t pc2 = more_i ? pc : more_p ? pc + kc : 0;
    walk_block(j, i2, min64(t->mc, row1 - i2), pc2, min64(t->kc, j->k - pc2), next);
    int64_t lines = 0;
    for (int q = 0; q < next->nseg; q++) lines += next->rows * (next->seg[q].row_bytes / 64 + 2);
    return (int)min64(min64(ceil_div(lines, tiles), kc / GSQ_SGEMM_PREFETCH_STEP),
                      MAX_PREFETCH);
}

/* ---- blocked product ---------------------------------------------------- */

/* One tile of C at (i, jcol) with mr_eff x nr_eff valid elements; the kernel
 * also prefetches up to n_pf lines of `pf`. */
static void tile(const sgemm_job *j, int64_t kc, const float *ap,
                 const float *bp, float beta, int64_t i, int64_t jcol,
                 line_walk *pf, int n_pf) {
    const char *lines[MAX_PREFETCH];
    n_pf = n_pf > 0 ? take_lines(pf, n_pf, lines) : 0;
    const gsq__sgemm_tiles *t = j->tiles;
    const int64_t ldc = j->ldc;
    float *c = j->c + i * ldc + jcol;
    const int mr_eff = j->m - i < t->mr ? (int)(j->m - i) : t->mr;
    const int nr_eff = j->n - jcol < t->nr ? (int)(j->n - jcol) : t->nr;
    if (mr_eff == t->mr && nr_eff == t->nr) {
        t->kernel(kc, j->alpha, ap, bp, beta, c, ldc, lines, n_pf);
        return;
    }
    if (mr_eff == t->mr && t->edge_kernel) {
        t->edge_kernel(kc, j->alpha, ap, bp, beta, c, ldc, nr_eff, lines, n_pf);
        return;
    }
    if (mr_eff < t->mr && t->rows_kernel) {
        t->rows_kernel(kc, j->alpha, ap, bp, beta, c, ldc, mr_eff, nr_eff, lines, n_pf);
        return;
    }
    float tmp[GSQ_SGEMM_MAX_TILE] __attribute__((aligned(64)));
    gsq__sgemm_kernel_fn kernel = nr_eff <= t->nr / 2 ? t->half_kernel : t->kernel;
    kernel(kc, j->alpha, ap, bp, 0.0f, tmp, t->nr, lines, n_pf);
    for (int r = 0; r < mr_eff; r++)
        for (int s = 0; s < nr_eff; s++) {
            float v = tmp[r * t->nr + s];
            c[r * ldc + s] = beta == 0 ? v : v + beta * c[r * ldc + s];
        }
}

enum { MAX_DIRECT_PARTS = 8 }; /* A in more parts is packed */

/* One tile of C at (i, jcol) from A's own rows (k block [p0, p0 + kc)), by
 * the direct kernel: one segment, or one per part the block takes columns
 * from. */
static void direct_tile(const sgemm_job *j, int64_t p0, int64_t kc, const float *bp,
                        float beta, int64_t i, int64_t jcol) {
    gsq__sgemm_segment seg[MAX_DIRECT_PARTS];
    int nseg = 0;
    if (j->a_parts) {
        for (int64_t q = 0, start = 0; q < j->a_nparts; start += j->a_parts[q++].cols) {
            const gsq_matrix_part_t *part = &j->a_parts[q];
            int64_t s, e;
            if (part_share(part, start, p0, kc, &s, &e))
                seg[nseg++] = (gsq__sgemm_segment){part->data + i * part->ld + (s - start), part->ld, e - s};
        }
    } else {
        seg[nseg++] = (gsq__sgemm_segment){j->a + i * j->lda + p0, j->lda, kc};
    }
    const gsq__sgemm_tiles *t = j->tiles;
    t->direct_kernel(nseg, seg, j->alpha, bp, beta, j->c + i * j->ldc + jcol, j->ldc,
                     (int)min64(t->mr, j->m - i), (int)min64(t->nr, j->n - jcol));
}

/* Threads form a ways_m x ways_n grid over the tiles: rows split in whole
 * mr panels and, only when there are fewer row panels than threads (and no
 * `then` needs whole rows), columns in whole nr panels. Every thread helps
 * pack each B block. */
static void sgemm_task(void *ctx, int tid, int nth) {
    sgemm_job *j = ctx;
    const gsq__sgemm_tiles *t = j->tiles;
    if (tid == 0) j->threads_used = nth;
    const int64_t m_panels = ceil_div(j->m, t->mr);
    const int ways_m = (int)min64(nth, m_panels), ways_n = j->then ? 1 : nth / ways_m;
    const int tm = tid % ways_m, tn = tid / ways_m;
    int64_t r0, r1;
    gsq__split(m_panels, tm, ways_m, &r0, &r1);
    const int64_t row0 = r0 * t->mr, row1 = min64(r1 * t->mr, j->m);
    float *packed_a = j->packed_a + tid * j->a_stride;
    const bool direct = t->direct_kernel && !j->trans_a && j->a_nparts <= MAX_DIRECT_PARTS &&
                        j->n >= t->mr && j->n <= t->nr;
    bool first = true;

    for (int64_t jc = 0; jc < j->n; jc += t->nc) {
        const int64_t nc = min64(t->nc, j->n - jc), n_panels = ceil_div(nc, t->nr);
        int64_t q0, q1, lo, hi;
        gsq__split(n_panels, tn, ways_n, &q0, &q1);
        for (int64_t pc = 0; pc < j->k; pc += t->kc) {
            const int64_t kc = min64(t->kc, j->k - pc);
            const float beta = pc == 0 ? j->beta : 1.0f;
            const float *packed_b = j->packed_b;
            if (j->prepacked) { /* block (jc, pc) is ready: no packing, no barrier */
                packed_b = j->prepacked +
                           (jc / t->nc * ceil_div(j->k, t->kc) + pc / t->kc) * j->b_stride;
            } else {
                if (!first) gsq__barrier(); /* all are done with the old B block */
                first = false;
                gsq__split(n_panels, tid, nth, &lo, &hi);
                pack_b(j, jc, nc, pc, kc, lo, hi, j->packed_b);
                gsq__barrier();
            }
            if (tn >= ways_n) continue;
            for (int64_t i = row0; i < row1; i += t->mc) {
                const int64_t rows = min64(t->mc, row1 - i);
                if (direct) {
                    for (int64_t x = 0; x < rows; x += t->mr)
                        for (int64_t q = q0; q < q1; q++)
                            direct_tile(j, pc, kc, packed_b + q * t->nr * kc, beta, i + x,
                                        jc + q * t->nr);
                } else {
                    pack_a(j, i, rows, pc, kc, packed_a);
                    line_walk next;
                    const int n_pf = plan_prefetch(j, jc, pc, kc, i, rows, row0, row1,
                                                   ceil_div(rows, t->mr) * (q1 - q0), &next);
                    for (int64_t x = 0; x < rows; x += t->mr)
                        for (int64_t q = q0; q < q1; q++)
                            tile(j, kc, packed_a + x * kc, packed_b + q * t->nr * kc,
                                 beta, i + x, jc + q * t->nr, &next, n_pf);
                }
                if (j->then && jc + nc == j->n && pc + kc == j->k)
                    j->then->run(j->then->ctx, i, i + rows);
            }
        }
    }
}

/* ---- C := beta * C (k == 0 or alpha == 0) ------------------------------- */

static void scale_task(void *ctx, int tid, int nth) {
    sgemm_job *j = ctx;
    if (tid == 0) j->threads_used = nth;
    int64_t lo, hi;
    gsq__split(j->m, tid, nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        float *c = j->c + i * j->ldc;
        if (j->beta == 0)
            memset(c, 0, j->n * sizeof(float));
        else
            for (int64_t s = 0; s < j->n; s++) c[s] *= j->beta;
    }
}

/* ---- entry point -------------------------------------------------------- */

static gsq_status_t check_trans(const char *name, gsq_transpose_t t) {
    if (t == GSQ_NO_TRANS || t == GSQ_TRANS) return GSQ_SUCCESS;
    return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                     "%s: %s = %d is not GSQ_NO_TRANS or GSQ_TRANS", FN, name,
                     (int)t);
}

/* Floats of one packed kc x nc block of op(B) (64-byte multiple: the SIMD
 * kernels load B with aligned loads). */
static int64_t b_block_floats(const gsq__sgemm_tiles *t, int64_t n, int64_t k) {
    return ceil_div(min64(t->kc, k) * ceil_div(min64(t->nc, n), t->nr) * t->nr, 16) * 16;
}

/* Runs a checked product whose job is filled in except for scratch; with
 * j->prepacked, op(B) is not read. */
static gsq_status_t run(const char *fn, sgemm_job *j, gsq_isa_t isa, double t0) {
    const gsq__sgemm_tiles *t = j->tiles;
    const int64_t m = j->m, n = j->n, k = j->k;
    const int64_t tiles = ceil_div(m, t->mr) * ceil_div(n, t->nr);
    const int nth = (int)min64(gsq__threads_for((double)m * n * (k > 0 ? k : 1)),
                               tiles > 0 ? tiles : 1);
    j->threads_used = 1;

    if (m == 0 || n == 0 || k == 0 || j->alpha == 0) { /* no product */
        if (m > 0 && n > 0 && j->beta != 1)
            gsq__parallel(scale_task, j, (int)min64(nth, m));
        if (m > 0 && j->then) j->then->run(j->then->ctx, 0, m);
        gsq__log_kernel(fn, isa, j->threads_used, t0,
                        "kernel=scale m=%lld n=%lld k=%lld", (long long)m,
                        (long long)n, (long long)k);
        return GSQ_SUCCESS;
    }

    /* Scratch: the shared B block (unless prepacked), then one A block per
     * thread, all 64-byte aligned. */
    const int64_t b_floats = j->prepacked ? 0 : b_block_floats(t, n, k);
    j->a_stride = ceil_div(min64(t->kc, k) * ceil_div(min64(t->mc, m), t->mr) * t->mr, 16) * 16;
    const size_t bytes = (size_t)(b_floats + nth * j->a_stride) * sizeof(float);
    float *scratch = gsq__scratch(bytes);
    if (!scratch)
        return gsq__fail(GSQ_ERR_OUT_OF_MEMORY,
                         "%s: cannot allocate %zu bytes of packing space", fn, bytes);
    j->packed_b = scratch;
    j->packed_a = scratch + b_floats;

    gsq__parallel(sgemm_task, j, nth);
    gsq__log_kernel(fn, isa, j->threads_used, t0,
                    "kernel=%s m=%lld n=%lld k=%lld op=%c%c", t->kernel_name,
                    (long long)m, (long long)n, (long long)k, j->trans_a ? 'T' : 'N',
                    j->prepacked ? 'P' : j->trans_b ? 'T' : 'N');
    return GSQ_SUCCESS;
}

gsq_status_t gsq_sgemm(gsq_transpose_t transa, gsq_transpose_t transb,
                       int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc) {
    GSQ_TRY(check_trans("transa", transa));
    GSQ_TRY(check_trans("transb", transb));
    GSQ_TRY(gsq__check_size(FN, "m", m));
    GSQ_TRY(gsq__check_size(FN, "n", n));
    GSQ_TRY(gsq__check_size(FN, "k", k));
    const bool ta = transa == GSQ_TRANS, tb = transb == GSQ_TRANS;
    GSQ_TRY(gsq__check_matrix(FN, "A", a, ta ? k : m, ta ? m : k, lda));
    GSQ_TRY(gsq__check_matrix(FN, "B", b, tb ? n : k, tb ? k : n, ldb));
    GSQ_TRY(gsq__check_matrix(FN, "C", c, m, n, ldc));
    const double t0 = gsq__now_ms();
    const gsq_isa_t isa = gsq__isa();
    sgemm_job j = {.tiles = &gsq__sgemm_tile_table[isa], .trans_a = ta, .trans_b = tb,
                   .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc,
                   .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c};
    return run(FN, &j, isa, t0);
}

/* ---- pre-packed B --------------------------------------------------------- */

/* op(B) in the layout sgemm_task reads: block (jc, pc) of every jc (step nc)
 * and pc (step kc) at data + (jc/nc * pc_blocks + pc/kc) * stride. */
struct gsq_packed_b {
    gsq_isa_t isa;
    int64_t k, n, stride;
    float *data;
};

gsq_status_t gsq_sgemm_pack_b(gsq_transpose_t transb, int64_t k, int64_t n,
                              const float *b, int64_t ldb, gsq_packed_b_t *out) {
    static const char fn[] = "gsq_sgemm_pack_b";
    GSQ_TRY(gsq__check_ptr(fn, "out", out));
    *out = NULL;
    if (transb != GSQ_NO_TRANS && transb != GSQ_TRANS)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: transb = %d is not GSQ_NO_TRANS or GSQ_TRANS", fn, (int)transb);
    GSQ_TRY(gsq__check_size(fn, "k", k));
    GSQ_TRY(gsq__check_size(fn, "n", n));
    const bool tb = transb == GSQ_TRANS;
    GSQ_TRY(gsq__check_matrix(fn, "B", b, tb ? n : k, tb ? k : n, ldb));
    const gsq_isa_t isa = gsq__isa();
    const gsq__sgemm_tiles *t = &gsq__sgemm_tile_table[isa];
    const int64_t stride = n > 0 && k > 0 ? b_block_floats(t, n, k) : 0;
    const int64_t blocks = ceil_div(n, t->nc) * ceil_div(k, t->kc);
    struct gsq_packed_b *p = calloc(1, sizeof *p);
    float *data = stride > 0 ? gsq__alloc((size_t)(blocks * stride) * sizeof(float)) : NULL;
    if (!p || (stride > 0 && !data)) {
        free(p);
        gsq__free(data);
        return gsq__fail(GSQ_ERR_OUT_OF_MEMORY, "%s: cannot allocate the packed %lld x %lld B",
                         fn, (long long)k, (long long)n);
    }
    *p = (struct gsq_packed_b){isa, k, n, stride, data};
    const sgemm_job j = {.tiles = t, .trans_b = tb, .n = n, .k = k, .ldb = ldb, .b = b};
    float *dst = data;
    for (int64_t jc = 0; jc < n; jc += t->nc) {
        const int64_t nc = min64(t->nc, n - jc);
        for (int64_t pc = 0; pc < k; pc += t->kc, dst += stride)
            pack_b(&j, jc, nc, pc, min64(t->kc, k - pc), 0, ceil_div(nc, t->nr), dst);
    }
    *out = p;
    return GSQ_SUCCESS;
}

void gsq_sgemm_packed_b_destroy(gsq_packed_b_t b) {
    if (!b) return;
    gsq__free(b->data);
    free(b);
}

/* Runs a product whose A and C are filled in and checked against the packed
 * B, which must be for the active ISA. */
static gsq_status_t run_packed(const char *fn, sgemm_job *j, gsq_packed_b_t b) {
    const gsq_isa_t isa = gsq__isa();
    if (isa != b->isa)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: B was packed for %s but the active ISA is %s; pack it again",
                         fn, gsq_isa_name(b->isa), gsq_isa_name(isa));
    const double t0 = gsq__now_ms();
    j->tiles = &gsq__sgemm_tile_table[isa];
    j->n = b->n, j->k = b->k, j->prepacked = b->data, j->b_stride = b->stride;
    return run(fn, j, isa, t0);
}

gsq_status_t gsq_sgemm_packed(gsq_transpose_t transa, int64_t m, float alpha,
                              const float *a, int64_t lda, gsq_packed_b_t b,
                              float beta, float *c, int64_t ldc) {
    static const char fn[] = "gsq_sgemm_packed";
    GSQ_TRY(check_trans("transa", transa));
    GSQ_TRY(gsq__check_ptr(fn, "b", b));
    GSQ_TRY(gsq__check_size(fn, "m", m));
    const bool ta = transa == GSQ_TRANS;
    const int64_t n = b->n, k = b->k;
    GSQ_TRY(gsq__check_matrix(fn, "A", a, ta ? k : m, ta ? m : k, lda));
    GSQ_TRY(gsq__check_matrix(fn, "C", c, m, n, ldc));
    sgemm_job j = {.trans_a = ta, .m = m, .lda = lda, .ldc = ldc, .alpha = alpha, .beta = beta,
                   .a = a, .c = c};
    return run_packed(fn, &j, b);
}

/* ---- operands in parts ---------------------------------------------------- */

/* Checks parts of `rows` rows each (all but empty ones non-NULL, ld >= cols);
 * *cols: their total width. */
static gsq_status_t check_parts(const char *fn, const char *name, int64_t nparts,
                                const gsq_matrix_part_t *parts, int64_t rows,
                                int64_t *cols) {
    GSQ_TRY(gsq__check_size(fn, "nparts", nparts));
    if (nparts > 0) GSQ_TRY(gsq__check_ptr(fn, name, parts));
    *cols = 0;
    for (int64_t q = 0; q < nparts; q++) {
        GSQ_TRY(gsq__check_matrix(fn, name, parts[q].data, rows, parts[q].cols, parts[q].ld));
        if (parts[q].cols > INT64_MAX - *cols)
            return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: the %s widths overflow", fn, name);
        *cols += parts[q].cols;
    }
    return GSQ_SUCCESS;
}

static gsq_status_t packed_parts(const char *fn, int64_t m, float alpha, int64_t nparts,
                                 const gsq_matrix_part_t *a, gsq_packed_b_t b, float beta,
                                 float *c, int64_t ldc, const gsq__rows_then *then) {
    GSQ_TRY(gsq__check_ptr(fn, "b", b));
    GSQ_TRY(gsq__check_size(fn, "m", m));
    int64_t k;
    GSQ_TRY(check_parts(fn, "A part", nparts, a, m, &k));
    if (k != b->k)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: the A parts are %lld columns wide, B has k = %lld",
                         fn, (long long)k, (long long)b->k);
    GSQ_TRY(gsq__check_matrix(fn, "C", c, m, b->n, ldc));
    sgemm_job j = {.m = m, .ldc = ldc, .alpha = alpha, .beta = beta, .a_parts = a,
                   .a_nparts = nparts, .c = c, .then = then};
    return run_packed(fn, &j, b);
}

gsq_status_t gsq_sgemm_packed_parts(int64_t m, float alpha, int64_t nparts,
                                    const gsq_matrix_part_t *a, gsq_packed_b_t b,
                                    float beta, float *c, int64_t ldc) {
    return packed_parts("gsq_sgemm_packed_parts", m, alpha, nparts, a, b, beta, c, ldc, NULL);
}

gsq_status_t gsq__sgemm_packed_parts_then(const char *fn, int64_t m, int64_t nparts,
                                          const gsq_matrix_part_t *a, gsq_packed_b_t b,
                                          int64_t n, float *c, int64_t ldc,
                                          const gsq__rows_then *then) {
    GSQ_TRY(gsq__check_ptr(fn, "w", b));
    if (b->n != n)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: w is %lld columns wide, expected %lld",
                         fn, (long long)b->n, (long long)n);
    return packed_parts(fn, m, 1.0f, nparts, a, b, 0.0f, c, ldc, then);
}

gsq_status_t gsq_sgemm_parts_b(gsq_transpose_t transa, int64_t m, int64_t k, float alpha,
                               const float *a, int64_t lda, int64_t nparts,
                               const gsq_matrix_part_t *b, float beta, float *c,
                               int64_t ldc) {
    static const char fn[] = "gsq_sgemm_parts_b";
    GSQ_TRY(check_trans("transa", transa));
    GSQ_TRY(gsq__check_size(fn, "m", m));
    GSQ_TRY(gsq__check_size(fn, "k", k));
    const bool ta = transa == GSQ_TRANS;
    GSQ_TRY(gsq__check_matrix(fn, "A", a, ta ? k : m, ta ? m : k, lda));
    int64_t n;
    GSQ_TRY(check_parts(fn, "B part", nparts, b, k, &n));
    GSQ_TRY(gsq__check_matrix(fn, "C", c, m, n, ldc));
    const double t0 = gsq__now_ms();
    const gsq_isa_t isa = gsq__isa();
    sgemm_job j = {.tiles = &gsq__sgemm_tile_table[isa], .trans_a = ta, .m = m, .n = n, .k = k,
                   .lda = lda, .ldc = ldc, .alpha = alpha, .beta = beta, .a = a,
                   .b_parts = b, .b_nparts = nparts, .c = c};
    return run(fn, &j, isa, t0);
}
