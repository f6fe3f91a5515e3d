/* The CSR SpMM row kernel, written once over a small vector vocabulary and
 * compiled per ISA: arch/spmm-avx2.c and arch/spmm-avx512.c include this file
 * after defining
 *   V, VM, VL            a vector of VL floats and its tail-mask type
 *   SPMM_FN              attributes of the always-inlined block kernel
 *   SPMM_ROWS_FN         the name (with attributes) of the entry point
 *   vset1(x) vzero() vload(p) vload_m(p, m) vstore(p, v) vstore_m(p, v, m)
 *   vstream(p, v) vmul(a, b) vadd(a, b), vfma(a, b, c) = a * b + c
 *   vtail_mask(n)        the first n lanes, 1 <= n <= VL
 *   SPMM_CHAINS          accumulator sets per row (1 or 2)
 * Per row, up to GSQ_SPMM_BLOCK / VL vector accumulators (64 features) per
 * set sum the row's nonzeros in a fixed order: the q-th into set
 * q % SPMM_CHAINS, the sets added at the end. Two sets are two independent
 * FMA chains, 25-30% faster where the registers hold them (AVX-512); the
 * order depends only on the row, so each output does too. Rows of x for
 * upcoming nonzeros of the column window are prefetched (when prefetch > 0):
 * they are random gathers. */

#define SPMM_MAX_NV (GSQ_SPMM_BLOCK / VL)

/* Nonzero j of the row into acc (nv vectors, the last one masked to m),
 * first prefetching the row of x that nonzero j + pf reads when pf > 0. */
static inline __attribute__((always_inline)) SPMM_FN void
add_nonzero(const struct gsq__spmm_args *a, const float *x, int64_t j, int64_t pf_end,
            int nv, VM m, V acc[SPMM_MAX_NV]) {
    const int32_t *col = a->col_idx;
    if (a->prefetch > 0 && j < pf_end) { /* out-of-window rows: re-touch a window row */
        int32_t cp = col[j + a->prefetch];
        cp = cp >= a->col_lo && cp < a->col_hi ? cp : a->col_lo;
        const float *p = x + cp * a->ldx;
        for (int f = 0; f < nv * VL; f += 16) /* one per cache line */
            _mm_prefetch((const char *)(p + f), _MM_HINT_T0);
    }
    const V w = vset1(a->values ? a->values[j] : 1.0f);
    const float *xr = x + col[j] * a->ldx;
    for (int v = 0; v < nv - 1; v++) acc[v] = vfma(w, vload(xr + VL * v), acc[v]);
    acc[nv - 1] = vfma(w, vload_m(xr + VL * (nv - 1), m), acc[nv - 1]);
}

/* Features [c, c + VL * nv) of rows [r0, r1); the last vector uses mask m,
 * which is all lanes when `full`. */
static inline __attribute__((always_inline)) SPMM_FN void
block_rows(const struct gsq__spmm_args *a, int64_t r0, int64_t r1, int64_t c,
           int nv, VM m, bool full) {
    const int64_t *rp = a->row_ptr;
    const float *x = a->x + c;
    const int64_t pf_end = rp[r1] - a->prefetch;
    const V alpha = vset1(a->alpha), beta = vset1(a->beta);
    for (int64_t i = r0; i < r1; i++) {
        V acc[SPMM_CHAINS][SPMM_MAX_NV];
        for (int s = 0; s < SPMM_CHAINS; s++)
            for (int v = 0; v < nv; v++) acc[s][v] = vzero();
        int64_t j = rp[i], j1 = rp[i + 1];
        if (a->windowed) {
            j = gsq__lower_col(a->col_idx, j, j1, a->col_lo);
            j1 = gsq__lower_col(a->col_idx, j, j1, a->col_hi);
        }
        /* The row's q-th nonzero goes to chain q % SPMM_CHAINS. */
        for (; j + SPMM_CHAINS <= j1; j += SPMM_CHAINS)
            for (int s = 0; s < SPMM_CHAINS; s++) add_nonzero(a, x, j + s, pf_end, nv, m, acc[s]);
        for (int s = 0; s < SPMM_CHAINS - 1; s++)
            if (j + s < j1) add_nonzero(a, x, j + s, pf_end, nv, m, acc[s]);
        for (int s = 1; s < SPMM_CHAINS; s++)
            for (int v = 0; v < nv; v++) acc[0][v] = vadd(acc[0][v], acc[s][v]);
        float *y = a->y + i * a->ldy + c;
        if (a->beta == 0) {
            for (int v = 0; v < nv; v++) acc[0][v] = vmul(alpha, acc[0][v]);
        } else {
            const float *z = a->z + i * a->ldz + c;
            for (int v = 0; v < nv - 1; v++)
                acc[0][v] = vfma(beta, vload(z + VL * v), vmul(alpha, acc[0][v]));
            acc[0][nv - 1] = vfma(beta, vload_m(z + VL * (nv - 1), m),
                                  vmul(alpha, acc[0][nv - 1]));
        }
        if (a->stream && full && ((uintptr_t)y % sizeof(V)) == 0) {
            for (int v = 0; v < nv; v++) vstream(y + VL * v, acc[0][v]);
        } else {
            for (int v = 0; v < nv - 1; v++) vstore(y + VL * v, acc[0][v]);
            vstore_m(y + VL * (nv - 1), acc[0][nv - 1], m);
        }
        if (a->y2) {
            float *y2 = a->y2 + i * a->ldy2 + c;
            for (int v = 0; v < nv - 1; v++) vstore(y2 + VL * v, acc[0][v]);
            vstore_m(y2 + VL * (nv - 1), acc[0][nv - 1], m);
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
    for (int64_t c = 0; c < a->nfeat; c += GSQ_SPMM_BLOCK) {
        const int64_t w =
            a->nfeat - c < GSQ_SPMM_BLOCK ? a->nfeat - c : GSQ_SPMM_BLOCK;
        const int nv = (int)((w + VL - 1) / VL);
        const VM m = vtail_mask((int)(w - VL * (nv - 1)));
        const bool full = w % VL == 0;
        switch (nv) {
            SPMM_CASE(1)
            SPMM_CASE(2)
            SPMM_CASE(3)
#if SPMM_MAX_NV > 4
            SPMM_CASE(4)
            SPMM_CASE(5)
            SPMM_CASE(6)
            SPMM_CASE(7)
#endif
        default: block_rows(a, r0, r1, c, SPMM_MAX_NV, m, full); break;
        }
    }
    if (a->stream) _mm_sfence(); /* order streamed rows before any barrier */
}
