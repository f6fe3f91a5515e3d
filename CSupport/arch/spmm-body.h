/* The CSR SpMM row kernel, written once over a small vector vocabulary and
 * compiled per ISA: arch/spmm-avx2.c and arch/spmm-avx512.c include this file
 * after defining
 *   V, VM, VL            a vector of VL floats and its tail-mask type
 *   SPMM_FN              attributes of the always-inlined block kernel
 *   SPMM_ROWS_FN         the name (with attributes) of the entry point
 *   vset1(x) vzero() vload(p) vload_m(p, m) vstore(p, v) vstore_m(p, v, m)
 *   vstream(p, v) vmul(a, b), vfma(a, b, c) = a * b + c
 *   vtail_mask(n)        the first n lanes, 1 <= n <= VL
 * Per row, up to eight vector accumulators (128 features with AVX-512, 64
 * with AVX2) sum the row's nonzeros in order, so each output depends only on
 * its row. Eight independent FMA chains cover the FMA latency; with four (64
 * features) AVX-512 waited on it, and the Chebyshev recursion on L2-resident
 * blocks ran 15-18% slower. Rows of x for upcoming nonzeros of the column
 * window are prefetched (when prefetch > 0): they are random gathers. */

#define SPMM_MAX_NV 8
#define SPMM_STEP (SPMM_MAX_NV * VL)

/* Features [c, c + VL * nv) of rows [r0, r1); the last vector uses mask m,
 * which is all lanes when `full`. */
static inline __attribute__((always_inline)) SPMM_FN void
block_rows(const struct gsq__spmm_args *a, int64_t r0, int64_t r1, int64_t c,
           int nv, VM m, bool full) {
    const int64_t *rp = a->row_ptr;
    const int32_t *col = a->col_idx;
    const float *val = a->values, *x = a->x + c;
    const int64_t ldx = a->ldx, pf = a->prefetch, pf_end = rp[r1] - pf;
    const int32_t col_lo = a->col_lo, col_hi = a->col_hi;
    const V alpha = vset1(a->alpha), beta = vset1(a->beta);
    for (int64_t i = r0; i < r1; i++) {
        V acc[SPMM_MAX_NV];
        for (int v = 0; v < nv; v++) acc[v] = vzero();
        int64_t j0 = rp[i], j1 = rp[i + 1];
        if (a->windowed) {
            j0 = gsq__lower_col(col, j0, j1, col_lo);
            j1 = gsq__lower_col(col, j0, j1, col_hi);
        }
        for (int64_t j = j0; j < j1; j++) {
            if (pf > 0 && j < pf_end) { /* out-of-window rows: re-touch a window row */
                int32_t cp = col[j + pf];
                cp = cp >= col_lo && cp < col_hi ? cp : col_lo;
                const float *p = x + cp * ldx;
                for (int f = 0; f < nv * VL; f += 16) /* one per cache line */
                    _mm_prefetch((const char *)(p + f), _MM_HINT_T0);
            }
            const V w = vset1(val ? val[j] : 1.0f);
            const float *xr = x + col[j] * ldx;
            for (int v = 0; v < nv - 1; v++) acc[v] = vfma(w, vload(xr + VL * v), acc[v]);
            acc[nv - 1] = vfma(w, vload_m(xr + VL * (nv - 1), m), acc[nv - 1]);
        }
        float *y = a->y + i * a->ldy + c;
        if (a->beta == 0) {
            for (int v = 0; v < nv; v++) acc[v] = vmul(alpha, acc[v]);
        } else {
            const float *z = a->z + i * a->ldz + c;
            for (int v = 0; v < nv - 1; v++)
                acc[v] = vfma(beta, vload(z + VL * v), vmul(alpha, acc[v]));
            acc[nv - 1] = vfma(beta, vload_m(z + VL * (nv - 1), m),
                               vmul(alpha, acc[nv - 1]));
        }
        if (a->stream && full && ((uintptr_t)y % sizeof(V)) == 0) {
            for (int v = 0; v < nv; v++) vstream(y + VL * v, acc[v]);
        } else {
            for (int v = 0; v < nv - 1; v++) vstore(y + VL * v, acc[v]);
            vstore_m(y + VL * (nv - 1), acc[nv - 1], m);
        }
        if (a->y2) {
            float *y2 = a->y2 + (a->y2_rows ? a->y2_rows[i] : i) * a->ldy2 + c;
            for (int v = 0; v < nv - 1; v++) vstore(y2 + VL * v, acc[v]);
            vstore_m(y2 + VL * (nv - 1), acc[nv - 1], m);
        }
        if (a->copy_to) {
            const float *s = a->copy_from + i * a->ld_copy_from + c;
            float *d = a->copy_to + i * a->ld_copy_to + c;
            if (a->stream && full && ((uintptr_t)d % sizeof(V)) == 0) {
                for (int v = 0; v < nv; v++) vstream(d + VL * v, vload(s + VL * v));
            } else {
                for (int v = 0; v < nv - 1; v++) vstore(d + VL * v, vload(s + VL * v));
                vstore_m(d + VL * (nv - 1), vload_m(s + VL * (nv - 1), m), m);
            }
        }
    }
}

/* Each block width gets its own unrolled copy of block_rows. */
#define SPMM_CASE(n)                                                           \
    case n: block_rows(a, r0, r1, c, n, m, full); break;

SPMM_ROWS_FN(const struct gsq__spmm_args *a, int64_t r0, int64_t r1) {
    for (int64_t c = 0; c < a->nfeat; c += SPMM_STEP) {
        const int64_t w = a->nfeat - c < SPMM_STEP ? a->nfeat - c : SPMM_STEP;
        const int nv = (int)((w + VL - 1) / VL);
        const VM m = vtail_mask((int)(w - VL * (nv - 1)));
        const bool full = w % VL == 0;
        switch (nv) {
            SPMM_CASE(1)
            SPMM_CASE(2)
            SPMM_CASE(3)
            SPMM_CASE(4)
            SPMM_CASE(5)
            SPMM_CASE(6)
            SPMM_CASE(7)
        default: block_rows(a, r0, r1, c, SPMM_MAX_NV, m, full); break;
        }
    }
    if (a->stream) _mm_sfence(); /* order streamed rows before any barrier */
}
