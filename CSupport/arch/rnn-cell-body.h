/* The fused cell kernels, written once over a small vector vocabulary and
 * compiled per ISA: rnn-cell.c (generic: a "vector" of one float, libm),
 * arch/rnn-cell-avx2.c and arch/rnn-cell-avx512.c include this file after
 * defining
 *   V, VM, VL                 a vector of VL floats and its tail mask type
 *   CELL_FN                   attributes of the always-inlined helpers
 *   CELL_KERNEL_FN            attributes of the kernels put in the table
 *   CELL_KERNELS              the name of the table to define
 *   vset1(x) vload(p) vstore(p, v) vload_m(p, m) vstore_m(p, v, m)
 *   vfull_mask() vtail_mask(n)          (tail: the first n < VL lanes)
 *   vadd vsub vmul, vfma(a, b, c) = a * b + c
 *   vsigmoid vtanh vrelu, vrelu_grad(h, d) = h > 0 ? d : 0
 *   vprefetch(p)              a prefetch hint (or nothing)
 * The math is the header's (include/graphseq.h, "Fused recurrent cells").
 * Every element is computed by the same lane operations wherever it falls in
 * a vector, so results do not depend on how columns are split. */

/* Inside a per-vector body: `full` is a compile-time constant, so full vectors
 * use plain loads and stores and only the tail is masked. */
#define LD(p) (full ? vload(p) : vload_m((p), m))
#define ST(p, v) (full ? vstore((p), (v)) : vstore_m((p), (v), m))
#define LD_OR_ZERO(base, off) ((base) ? LD((base) + (off)) : vset1(0.0f))
#define ACC(p, v) ST((p), vadd(LD(p), (v)))
/* Prefetches what a forward body reads, one row ahead (stride: the row
 * length). The forward kernels are compute-heavy (a transcendental per
 * element), and without it they leave bandwidth unused; the lighter backward
 * kernels do as well or better with the hardware prefetchers alone. */
#define PREFETCH_NEXT_ROW(p, stride)                                           \
    do {                                                                       \
        if (row + 1 < a->batch) vprefetch((p) + (stride));                     \
    } while (0)

/* Runs body over columns [c0, c1) of every row, rows in order. spec (flags or
 * activation) is a constant at each use, so the body is specialised for it.
 * Kernels pass a local copy of their arguments: vector stores may alias
 * anything, and would otherwise force the pointers to be reloaded. */
#define CELL_LOOP(body, a, c0, c1, spec)                                       \
    for (int64_t row = 0; row < (a)->batch; row++) {                           \
        int64_t j = (c0);                                                      \
        for (; j + VL <= (c1); j += VL) body(a, row, j, vfull_mask(), 1, spec); \
        if (j < (c1)) body(a, row, j, vtail_mask((int)((c1) - j)), 0, spec);   \
    }

/* Derivatives from the activation's output y. */
CELL_FN V dsigmoid(V y) { return vmul(y, vsub(vset1(1.0f), y)); }
CELL_FN V dtanh(V y) { return vmul(vsub(vset1(1.0f), y), vadd(vset1(1.0f), y)); }

/* ---- LSTM ---------------------------------------------------------------- */

CELL_FN void lstm_fwd_vec(const struct gsq__lstm_fwd *a, int64_t row,
                          int64_t j, VM m, const int full, const uint32_t flags) {
    const int peep = flags & GSQ_LSTM_PEEPHOLE, coupled = flags & GSQ_LSTM_COUPLED;
    const int64_t H = a->hidden, s = row * H + j;
    float *g = a->gates + 4 * row * H + j;
    for (int k = 0; k < 4; k++) PREFETCH_NEXT_ROW(g + k * H, 4 * H);
    if (a->c_prev) PREFETCH_NEXT_ROW(a->c_prev + s, H);
    const V cp = LD_OR_ZERO(a->c_prev, s);
    V pi = coupled ? vset1(0.0f) : LD(g), pf = LD(g + H), pg = LD(g + 2 * H),
      po = LD(g + 3 * H);
    if (a->bias) {
        const float *b = a->bias + j;
        if (!coupled) pi = vadd(pi, LD(b));
        pf = vadd(pf, LD(b + H));
        pg = vadd(pg, LD(b + 2 * H));
        po = vadd(po, LD(b + 3 * H));
    }
    const float *w = peep ? a->peephole + j : NULL;
    if (peep) {
        if (!coupled) pi = vfma(LD(w), cp, pi);
        pf = vfma(LD(w + H), cp, pf);
    }
    const V f = vsigmoid(pf);
    const V i = coupled ? vsub(vset1(1.0f), f) : vsigmoid(pi);
    const V gg = vtanh(pg);
    const V c = vfma(f, cp, vmul(i, gg));
    if (peep) po = vfma(LD(w + 2 * H), c, po);
    const V o = vsigmoid(po);
    ST(g, i);
    ST(g + H, f);
    ST(g + 2 * H, gg);
    ST(g + 3 * H, o);
    ST(a->c + s, c);
    ST(a->h + s, vmul(o, vtanh(c)));
}

CELL_FN void lstm_bwd_vec(const struct gsq__lstm_bwd *a, int64_t row,
                          int64_t j, VM m, const int full, const uint32_t flags) {
    const int peep = flags & GSQ_LSTM_PEEPHOLE, coupled = flags & GSQ_LSTM_COUPLED;
    const int64_t H = a->hidden, s = row * H + j;
    const float *g = a->gates + 4 * row * H + j;
    float *dg = a->dgates + 4 * row * H + j;
    const float *w = peep ? a->peephole + j : NULL;
    const V f = LD(g + H), gg = LD(g + 2 * H), o = LD(g + 3 * H);
    const V i = coupled ? vsub(vset1(1.0f), f) : LD(g);
    const V c = LD(a->c + s), cp = LD_OR_ZERO(a->c_prev, s), dh = LD(a->dh + s);
    const V tc = vtanh(c);
    const V dao = vmul(vmul(dh, tc), dsigmoid(o));
    /* dLoss/dc: from later steps, through h = o tanh(c), through o's peephole */
    V dct = vfma(vmul(dh, o), dtanh(tc), LD_OR_ZERO(a->dc, s));
    if (peep) dct = vfma(dao, LD(w + 2 * H), dct);
    const V dag = vmul(vmul(dct, i), dtanh(gg));
    /* coupled: c = f c_prev + (1 - f) g, so dc/df = c_prev - g */
    const V dai = coupled ? vset1(0.0f) : vmul(vmul(dct, gg), dsigmoid(i));
    const V daf = vmul(vmul(dct, coupled ? vsub(cp, gg) : cp), dsigmoid(f));
    ST(dg, dai);
    ST(dg + H, daf);
    ST(dg + 2 * H, dag);
    ST(dg + 3 * H, dao);
    if (a->dc_prev) {
        V dcp = vmul(dct, f);
        if (peep) {
            if (!coupled) dcp = vfma(dai, LD(w), dcp);
            dcp = vfma(daf, LD(w + H), dcp);
        }
        ST(a->dc_prev + s, dcp);
    }
    if (peep && a->dpeephole) {
        float *dw = a->dpeephole + j;
        if (!coupled) ST(dw, vfma(dai, cp, LD(dw)));
        ST(dw + H, vfma(daf, cp, LD(dw + H)));
        ST(dw + 2 * H, vfma(dao, c, LD(dw + 2 * H)));
    }
    if (a->dbias) {
        float *db = a->dbias + j;
        if (!coupled) ACC(db, dai);
        ACC(db + H, daf);
        ACC(db + 2 * H, dag);
        ACC(db + 3 * H, dao);
    }
}

CELL_KERNEL_FN void lstm_fwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__lstm_fwd a = *(const struct gsq__lstm_fwd *)args;
    switch (a.flags) {
    case 0: CELL_LOOP(lstm_fwd_vec, &a, c0, c1, 0); break;
    case GSQ_LSTM_PEEPHOLE: CELL_LOOP(lstm_fwd_vec, &a, c0, c1, GSQ_LSTM_PEEPHOLE); break;
    case GSQ_LSTM_COUPLED: CELL_LOOP(lstm_fwd_vec, &a, c0, c1, GSQ_LSTM_COUPLED); break;
    default:
        CELL_LOOP(lstm_fwd_vec, &a, c0, c1, GSQ_LSTM_PEEPHOLE | GSQ_LSTM_COUPLED);
    }
}

CELL_KERNEL_FN void lstm_bwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__lstm_bwd a = *(const struct gsq__lstm_bwd *)args;
    switch (a.flags) {
    case 0: CELL_LOOP(lstm_bwd_vec, &a, c0, c1, 0); break;
    case GSQ_LSTM_PEEPHOLE: CELL_LOOP(lstm_bwd_vec, &a, c0, c1, GSQ_LSTM_PEEPHOLE); break;
    case GSQ_LSTM_COUPLED: CELL_LOOP(lstm_bwd_vec, &a, c0, c1, GSQ_LSTM_COUPLED); break;
    default:
        CELL_LOOP(lstm_bwd_vec, &a, c0, c1, GSQ_LSTM_PEEPHOLE | GSQ_LSTM_COUPLED);
    }
}

/* ---- GRU, linear before reset ------------------------------------------- */

CELL_FN void gru_fwd_vec(const struct gsq__gru_fwd *a, int64_t row, int64_t j,
                         VM m, const int full, int unused) {
    (void)unused;
    const int64_t H = a->hidden, s = row * H + j;
    float *gx = a->gx + 3 * row * H + j, *gh = a->gh + 3 * row * H + j;
    for (int k = 0; k < 3; k++) {
        PREFETCH_NEXT_ROW(gx + k * H, 3 * H);
        PREFETCH_NEXT_ROW(gh + k * H, 3 * H);
    }
    if (a->h_prev) PREFETCH_NEXT_ROW(a->h_prev + s, H);
    V pr = vadd(LD(gx), LD(gh)), pz = vadd(LD(gx + H), LD(gh + H));
    V xn = LD(gx + 2 * H), hn = LD(gh + 2 * H);
    if (a->b_ih) {
        const float *b = a->b_ih + j;
        pr = vadd(pr, LD(b));
        pz = vadd(pz, LD(b + H));
        xn = vadd(xn, LD(b + 2 * H));
    }
    if (a->b_hh) {
        const float *b = a->b_hh + j;
        pr = vadd(pr, LD(b));
        pz = vadd(pz, LD(b + H));
        hn = vadd(hn, LD(b + 2 * H));
    }
    const V r = vsigmoid(pr), z = vsigmoid(pz), n = vtanh(vfma(r, hn, xn));
    const V hp = LD_OR_ZERO(a->h_prev, s);
    ST(gx, r);
    ST(gx + H, z);
    ST(gx + 2 * H, n);
    ST(gh + 2 * H, hn);
    ST(a->h + s, vfma(z, vsub(hp, n), n)); /* (1 - z) n + z h_prev */
}

CELL_FN void gru_bwd_vec(const struct gsq__gru_bwd *a, int64_t row, int64_t j,
                         VM m, const int full, int unused) {
    (void)unused;
    const int64_t H = a->hidden, s = row * H + j;
    const float *gx = a->gx + 3 * row * H + j, *gh = a->gh + 3 * row * H + j;
    float *dgx = a->dgx + 3 * row * H + j, *dgh = a->dgh + 3 * row * H + j;
    const V r = LD(gx), z = LD(gx + H), n = LD(gx + 2 * H), hn = LD(gh + 2 * H);
    const V hp = LD_OR_ZERO(a->h_prev, s), dh = LD(a->dh + s);
    const V dan = vmul(vmul(dh, vsub(vset1(1.0f), z)), dtanh(n));
    const V daz = vmul(vmul(dh, vsub(hp, n)), dsigmoid(z));
    const V dar = vmul(vmul(dan, hn), dsigmoid(r));
    const V dhn = vmul(dan, r);
    ST(dgx, dar);
    ST(dgx + H, daz);
    ST(dgx + 2 * H, dan);
    ST(dgh, dar);
    ST(dgh + H, daz);
    ST(dgh + 2 * H, dhn);
    if (a->dh_prev) ST(a->dh_prev + s, vmul(z, dh));
    if (a->db_ih) {
        float *db = a->db_ih + j;
        ACC(db, dar);
        ACC(db + H, daz);
        ACC(db + 2 * H, dan);
    }
    if (a->db_hh) {
        float *db = a->db_hh + j;
        ACC(db, dar);
        ACC(db + H, daz);
        ACC(db + 2 * H, dhn);
    }
}

CELL_KERNEL_FN void gru_fwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__gru_fwd a = *(const struct gsq__gru_fwd *)args;
    CELL_LOOP(gru_fwd_vec, &a, c0, c1, 0);
}

CELL_KERNEL_FN void gru_bwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__gru_bwd a = *(const struct gsq__gru_bwd *)args;
    CELL_LOOP(gru_bwd_vec, &a, c0, c1, 0);
}

/* ---- GRU, reset before product (two phases) ------------------------------ */

CELL_FN void gru_rb_gates_fwd_vec(const struct gsq__gru_rb_fwd *a, int64_t row,
                                  int64_t j, VM m, const int full, int unused) {
    (void)unused;
    const int64_t H = a->hidden, s = row * H + j;
    float *g = a->gates + 3 * row * H + j;
    PREFETCH_NEXT_ROW(g, 3 * H);
    PREFETCH_NEXT_ROW(g + H, 3 * H);
    if (a->h_prev) PREFETCH_NEXT_ROW(a->h_prev + s, H);
    V pr = LD(g), pz = LD(g + H);
    if (a->bias) {
        pr = vadd(pr, LD(a->bias + j));
        pz = vadd(pz, LD(a->bias + j + H));
    }
    const V r = vsigmoid(pr);
    ST(g, r);
    ST(g + H, vsigmoid(pz));
    ST(a->out + s, vmul(r, LD_OR_ZERO(a->h_prev, s))); /* rh */
}

CELL_FN void gru_rb_output_fwd_vec(const struct gsq__gru_rb_fwd *a, int64_t row,
                                   int64_t j, VM m, const int full, int unused) {
    (void)unused;
    const int64_t H = a->hidden, s = row * H + j;
    float *g = a->gates + 3 * row * H + j;
    PREFETCH_NEXT_ROW(g + H, 3 * H);
    PREFETCH_NEXT_ROW(g + 2 * H, 3 * H);
    if (a->h_prev) PREFETCH_NEXT_ROW(a->h_prev + s, H);
    V pn = LD(g + 2 * H);
    if (a->bias) pn = vadd(pn, LD(a->bias + j + 2 * H));
    const V n = vtanh(pn), z = LD(g + H), hp = LD_OR_ZERO(a->h_prev, s);
    ST(g + 2 * H, n);
    ST(a->out + s, vfma(z, vsub(hp, n), n)); /* h */
}

CELL_FN void gru_rb_output_bwd_vec(const struct gsq__gru_rb_bwd *a, int64_t row,
                                   int64_t j, VM m, const int full, int unused) {
    (void)unused;
    const int64_t H = a->hidden, s = row * H + j;
    const float *g = a->gates + 3 * row * H + j;
    float *dg = a->dgates + 3 * row * H + j;
    const V z = LD(g + H), n = LD(g + 2 * H);
    const V hp = LD_OR_ZERO(a->h_prev, s), dh = LD(a->dout + s);
    const V daz = vmul(vmul(dh, vsub(hp, n)), dsigmoid(z));
    const V dan = vmul(vmul(dh, vsub(vset1(1.0f), z)), dtanh(n));
    ST(dg + H, daz);
    ST(dg + 2 * H, dan);
    if (a->dh_prev) ST(a->dh_prev + s, vmul(z, dh));
    if (a->dbias) {
        ACC(a->dbias + j + H, daz);
        ACC(a->dbias + j + 2 * H, dan);
    }
}

CELL_FN void gru_rb_gates_bwd_vec(const struct gsq__gru_rb_bwd *a, int64_t row,
                                  int64_t j, VM m, const int full, int unused) {
    (void)unused;
    const int64_t H = a->hidden, s = row * H + j;
    const V r = LD(a->gates + 3 * row * H + j), drh = LD(a->dout + s);
    const V dar = vmul(vmul(drh, LD_OR_ZERO(a->h_prev, s)), dsigmoid(r));
    ST(a->dgates + 3 * row * H + j, dar);
    if (a->dh_prev) ST(a->dh_prev + s, vfma(r, drh, LD(a->dh_prev + s)));
    if (a->dbias) ACC(a->dbias + j, dar);
}

CELL_KERNEL_FN void gru_rb_gates_fwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__gru_rb_fwd a = *(const struct gsq__gru_rb_fwd *)args;
    CELL_LOOP(gru_rb_gates_fwd_vec, &a, c0, c1, 0);
}

CELL_KERNEL_FN void gru_rb_output_fwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__gru_rb_fwd a = *(const struct gsq__gru_rb_fwd *)args;
    CELL_LOOP(gru_rb_output_fwd_vec, &a, c0, c1, 0);
}

CELL_KERNEL_FN void gru_rb_output_bwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__gru_rb_bwd a = *(const struct gsq__gru_rb_bwd *)args;
    CELL_LOOP(gru_rb_output_bwd_vec, &a, c0, c1, 0);
}

CELL_KERNEL_FN void gru_rb_gates_bwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__gru_rb_bwd a = *(const struct gsq__gru_rb_bwd *)args;
    CELL_LOOP(gru_rb_gates_bwd_vec, &a, c0, c1, 0);
}

/* ---- vanilla RNN ---------------------------------------------------------- */

CELL_FN void rnn_fwd_vec(const struct gsq__rnn_fwd *a, int64_t row, int64_t j,
                         VM m, const int full, const gsq_activation_t act) {
    const int64_t s = row * a->hidden + j;
    PREFETCH_NEXT_ROW(a->pre + s, a->hidden);
    V x = LD(a->pre + s);
    if (a->bias) x = vadd(x, LD(a->bias + j));
    ST(a->h + s, act == GSQ_ACTIVATION_RELU ? vrelu(x) : vtanh(x));
}

CELL_FN void rnn_bwd_vec(const struct gsq__rnn_bwd *a, int64_t row, int64_t j,
                         VM m, const int full, const gsq_activation_t act) {
    const int64_t s = row * a->hidden + j;
    const V h = LD(a->h + s), dh = LD(a->dh + s);
    const V d = act == GSQ_ACTIVATION_RELU ? vrelu_grad(h, dh) : vmul(dh, dtanh(h));
    ST(a->dpre + s, d);
    if (a->dbias) ACC(a->dbias + j, d);
}

CELL_KERNEL_FN void rnn_fwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__rnn_fwd a = *(const struct gsq__rnn_fwd *)args;
    if (a.act == GSQ_ACTIVATION_RELU) {
        CELL_LOOP(rnn_fwd_vec, &a, c0, c1, GSQ_ACTIVATION_RELU);
    } else {
        CELL_LOOP(rnn_fwd_vec, &a, c0, c1, GSQ_ACTIVATION_TANH);
    }
}

CELL_KERNEL_FN void rnn_bwd(const void *args, int64_t c0, int64_t c1) {
    const struct gsq__rnn_bwd a = *(const struct gsq__rnn_bwd *)args;
    if (a.act == GSQ_ACTIVATION_RELU) {
        CELL_LOOP(rnn_bwd_vec, &a, c0, c1, GSQ_ACTIVATION_RELU);
    } else {
        CELL_LOOP(rnn_bwd_vec, &a, c0, c1, GSQ_ACTIVATION_TANH);
    }
}

GSQ_HIDDEN const struct gsq__cell_kernels CELL_KERNELS = {
    .lstm_fwd = lstm_fwd,
    .lstm_bwd = lstm_bwd,
    .gru_fwd = gru_fwd,
    .gru_bwd = gru_bwd,
    .gru_rb_gates_fwd = gru_rb_gates_fwd,
    .gru_rb_output_fwd = gru_rb_output_fwd,
    .gru_rb_output_bwd = gru_rb_output_bwd,
    .gru_rb_gates_bwd = gru_rb_gates_bwd,
    .rnn_fwd = rnn_fwd,
    .rnn_bwd = rnn_bwd,
};

#undef LD
#undef ST
#undef LD_OR_ZERO
#undef ACC
#undef PREFETCH_NEXT_ROW
#undef CELL_LOOP
