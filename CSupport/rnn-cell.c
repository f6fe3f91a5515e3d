/* Fused recurrent cells (LSTM, GRU in both forms, vanilla RNN): argument
 * checks, the thread split and the portable generic kernels. The kernels
 * themselves are in arch/rnn-cell-body.h, compiled here with one float per
 * "vector" and libm, and per ISA in arch/rnn-cell-avx2.c / -avx512.c.
 *
 * Threads split the hidden dimension into ranges of whole 16-column blocks;
 * each thread runs every batch row over its columns. So a column's sums over
 * the batch (dbias, dpeephole) are made by one thread in row order, and the
 * results are bitwise identical for any thread count. */
#include "internal.h"
#include "arch/rnn-cell.h"

#include <math.h>

/* ---- generic kernels -------------------------------------------------------- */

typedef float V;
typedef int VM;
#define VL 1
#define CELL_FN static inline __attribute__((always_inline))
#define CELL_KERNEL_FN static
#define CELL_KERNELS gsq__cell_kernels_generic

static inline float generic_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

#define vset1(x) (x)
#define vload(p) (*(p))
#define vstore(p, v) (*(p) = (v))
#define vload_m(p, m) ((void)(m), *(p))
#define vstore_m(p, v, m) ((void)(m), *(p) = (v))
#define vfull_mask() 0
#define vtail_mask(n) 0
#define vadd(a, b) ((a) + (b))
#define vsub(a, b) ((a) - (b))
#define vmul(a, b) ((a) * (b))
#define vfma(a, b, c) ((a) * (b) + (c))
#define vsigmoid generic_sigmoid
#define vtanh tanhf
#define vprefetch(p) ((void)(p))
#define vrelu(x) ((x) < 0.0f ? 0.0f : (x)) /* NaN and -0 pass, as with max */
#define vrelu_grad(h, d) ((h) > 0.0f ? (d) : 0.0f)

#include "arch/rnn-cell-body.h"

static const struct gsq__cell_kernels *const cell_kernels[GSQ_ISA_COUNT] = {
    &gsq__cell_kernels_generic, &gsq__cell_kernels_avx2, &gsq__cell_kernels_avx512};

/* ---- threads ------------------------------------------------------------------ */

enum {
    COLUMN_BLOCK = 16,  /* columns per unit of the split: a cache line */
    ELEMENT_WORK = 32   /* work units per element: several loads, exp, tanh */
};

struct cell_job {
    gsq__cell_kernel *kernel;
    const void *args;
    int64_t hidden;
};

static void cell_task(void *p, int tid, int nth) {
    const struct cell_job *job = p;
    int64_t lo, hi;
    gsq__split((job->hidden + COLUMN_BLOCK - 1) / COLUMN_BLOCK, tid, nth, &lo, &hi);
    int64_t c0 = lo * COLUMN_BLOCK, c1 = hi * COLUMN_BLOCK;
    if (c1 > job->hidden) c1 = job->hidden;
    if (c0 < c1) job->kernel(job->args, c0, c1);
}

/* Runs kernel over all batch x hidden elements in one parallel region;
 * returns the number of threads requested. */
static int run_cells(gsq__cell_kernel *kernel, const void *args, int64_t batch,
                     int64_t hidden) {
    int64_t nth = gsq__threads_for((double)batch * hidden * ELEMENT_WORK);
    int64_t blocks = (hidden + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
    if (nth > blocks) nth = blocks;
    if (nth < 1) nth = 1;
    struct cell_job job = {kernel, args, hidden};
    gsq__parallel(cell_task, &job, (int)nth);
    return (int)nth;
}

/* ---- argument checks ---------------------------------------------------------- */

/* batch and hidden are sizes and batch x (width * hidden) floats fit. */
static gsq_status_t check_shape(const char *fn, int64_t batch, int64_t hidden,
                                int64_t width) {
    GSQ_TRY(gsq__check_size(fn, "batch", batch));
    GSQ_TRY(gsq__check_size(fn, "hidden", hidden));
    if (gsq__mul_overflows(batch, width * hidden))
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: batch (%lld) x %lld * hidden (%lld) is too large", fn,
                         (long long)batch, (long long)width, (long long)hidden);
    return GSQ_SUCCESS;
}

/* A required buffer may be NULL only when it is empty. */
static gsq_status_t check_buffer(const char *fn, const char *name, const void *p,
                                 int64_t count) {
    return count > 0 ? gsq__check_ptr(fn, name, p) : GSQ_SUCCESS;
}

static gsq_status_t check_lstm(const char *fn, int64_t batch, int64_t hidden,
                               uint32_t flags, const float *peephole) {
    GSQ_TRY(check_shape(fn, batch, hidden, 4));
    if (flags & ~(uint32_t)(GSQ_LSTM_PEEPHOLE | GSQ_LSTM_COUPLED))
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: flags = 0x%x has unknown bits (known: "
                         "GSQ_LSTM_PEEPHOLE, GSQ_LSTM_COUPLED)",
                         fn, flags);
    if (flags & GSQ_LSTM_PEEPHOLE)
        GSQ_TRY(check_buffer(fn, "peephole (required with GSQ_LSTM_PEEPHOLE)",
                             peephole, 3 * hidden));
    return GSQ_SUCCESS;
}

static gsq_status_t check_activation(const char *fn, gsq_activation_t act) {
    if (act == GSQ_ACTIVATION_TANH || act == GSQ_ACTIVATION_RELU) return GSQ_SUCCESS;
    return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                     "%s: act = %d is not a gsq_activation_t", fn, (int)act);
}

#define LOG_CELL(kernel, isa, nth, t0, batch, hidden)                          \
    gsq__log_kernel(kernel, isa, nth, t0, "batch=%lld hidden=%lld",            \
                    (long long)(batch), (long long)(hidden))

/* ---- LSTM ----------------------------------------------------------------------- */

gsq_status_t gsq_lstm_cell_forward(int64_t batch, int64_t hidden, uint32_t flags,
                                   float *gates, const float *bias,
                                   const float *peephole, const float *c_prev,
                                   float *c, float *h) {
    static const char fn[] = "gsq_lstm_cell_forward";
    GSQ_TRY(check_lstm(fn, batch, hidden, flags, peephole));
    const int64_t n = batch * hidden;
    GSQ_TRY(check_buffer(fn, "gates", gates, n));
    GSQ_TRY(check_buffer(fn, "c", c, n));
    GSQ_TRY(check_buffer(fn, "h", h, n));
    const double t0 = gsq__now_ms();
    const gsq_isa_t isa = gsq__isa();
    const struct gsq__lstm_fwd a = {batch, hidden, flags, gates, bias, peephole,
                                    c_prev, c, h};
    const int nth = run_cells(cell_kernels[isa]->lstm_fwd, &a, batch, hidden);
    gsq__log_kernel(fn, isa, nth, t0, "batch=%lld hidden=%lld flags=%u",
                    (long long)batch, (long long)hidden, flags);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_lstm_cell_backward(int64_t batch, int64_t hidden, uint32_t flags,
                                    const float *gates, const float *peephole,
                                    const float *c_prev, const float *c,
                                    const float *dh, const float *dc, float *dgates,
                                    float *dc_prev, float *dpeephole, float *dbias) {
    static const char fn[] = "gsq_lstm_cell_backward";
    GSQ_TRY(check_lstm(fn, batch, hidden, flags, peephole));
    const int64_t n = batch * hidden;
    GSQ_TRY(check_buffer(fn, "gates", gates, n));
    GSQ_TRY(check_buffer(fn, "c", c, n));
    GSQ_TRY(check_buffer(fn, "dh", dh, n));
    GSQ_TRY(check_buffer(fn, "dgates", dgates, n));
    const double t0 = gsq__now_ms();
    const gsq_isa_t isa = gsq__isa();
    const struct gsq__lstm_bwd a = {batch, hidden, flags, gates, peephole, c_prev, c,
                                    dh, dc, dgates, dc_prev, dpeephole, dbias};
    const int nth = run_cells(cell_kernels[isa]->lstm_bwd, &a, batch, hidden);
    gsq__log_kernel(fn, isa, nth, t0, "batch=%lld hidden=%lld flags=%u",
                    (long long)batch, (long long)hidden, flags);
    return GSQ_SUCCESS;
}

/* ---- GRU, linear before reset ---------------------------------------------- */

gsq_status_t gsq_gru_cell_forward(int64_t batch, int64_t hidden, float *gx, float *gh,
                                  const float *b_ih, const float *b_hh,
                                  const float *h_prev, float *h) {
    static const char fn[] = "gsq_gru_cell_forward";
    GSQ_TRY(check_shape(fn, batch, hidden, 3));
    const int64_t n = batch * hidden;
    GSQ_TRY(check_buffer(fn, "gx", gx, n));
    GSQ_TRY(check_buffer(fn, "gh", gh, n));
    GSQ_TRY(check_buffer(fn, "h", h, n));
    const double t0 = gsq__now_ms();
    const gsq_isa_t isa = gsq__isa();
    const struct gsq__gru_fwd a = {batch, hidden, gx, gh, b_ih, b_hh, h_prev, h};
    const int nth = run_cells(cell_kernels[isa]->gru_fwd, &a, batch, hidden);
    LOG_CELL(fn, isa, nth, t0, batch, hidden);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_gru_cell_backward(int64_t batch, int64_t hidden, const float *gx,
                                   const float *gh, const float *h_prev,
                                   const float *dh, float *dgx, float *dgh,
                                   float *dh_prev, float *db_ih, float *db_hh) {
    static const char fn[] = "gsq_gru_cell_backward";
    GSQ_TRY(check_shape(fn, batch, hidden, 3));
    const int64_t n = batch * hidden;
    GSQ_TRY(check_buffer(fn, "gx", gx, n));
    GSQ_TRY(check_buffer(fn, "gh", gh, n));
    GSQ_TRY(check_buffer(fn, "dh", dh, n));
    GSQ_TRY(check_buffer(fn, "dgx", dgx, n));
    GSQ_TRY(check_buffer(fn, "dgh", dgh, n));
    const double t0 = gsq__now_ms();
    const gsq_isa_t isa = gsq__isa();
    const struct gsq__gru_bwd a = {batch, hidden, gx, gh, h_prev, dh,
                                   dgx, dgh, dh_prev, db_ih, db_hh};
    const int nth = run_cells(cell_kernels[isa]->gru_bwd, &a, batch, hidden);
    LOG_CELL(fn, isa, nth, t0, batch, hidden);
    return GSQ_SUCCESS;
}

/* ---- GRU, reset before product ----------------------------------------------- */

/* The arguments both forward phases share, with or without their product. */
static gsq_status_t check_gru_rb_forward(const char *fn, const char *out_name, int64_t batch,
                                         int64_t hidden, const float *gates, const float *out) {
    GSQ_TRY(check_shape(fn, batch, hidden, 3));
    GSQ_TRY(check_buffer(fn, "gates", gates, batch * hidden));
    return check_buffer(fn, out_name, out, batch * hidden);
}

/* Both forward phases: gates (batch x 3*hidden) in place, out = rh or h.
 * isa is read before the checks only to pick the phase's kernel. */
static gsq_status_t gru_rb_forward(const char *fn, const char *out_name, gsq_isa_t isa,
                                   gsq__cell_kernel *kernel, int64_t batch,
                                   int64_t hidden, float *gates, const float *bias,
                                   const float *h_prev, float *out) {
    GSQ_TRY(check_gru_rb_forward(fn, out_name, batch, hidden, gates, out));
    const double t0 = gsq__now_ms();
    const struct gsq__gru_rb_fwd a = {batch, hidden, gates, bias, h_prev, out};
    const int nth = run_cells(kernel, &a, batch, hidden);
    LOG_CELL(fn, isa, nth, t0, batch, hidden);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_gru_rb_gates_forward(int64_t batch, int64_t hidden, float *gates,
                                      const float *bias, const float *h_prev,
                                      float *rh) {
    const gsq_isa_t isa = gsq__isa();
    return gru_rb_forward("gsq_gru_rb_gates_forward", "rh", isa,
                          cell_kernels[isa]->gru_rb_gates_fwd, batch, hidden, gates,
                          bias, h_prev, rh);
}

gsq_status_t gsq_gru_rb_output_forward(int64_t batch, int64_t hidden, float *gates,
                                       const float *bias, const float *h_prev,
                                       float *h) {
    const gsq_isa_t isa = gsq__isa();
    return gru_rb_forward("gsq_gru_rb_output_forward", "h", isa,
                          cell_kernels[isa]->gru_rb_output_fwd, batch, hidden, gates,
                          bias, h_prev, h);
}

/* Both backward phases: dout = dh or drh. */
static gsq_status_t gru_rb_backward(const char *fn, const char *dout_name,
                                    gsq_isa_t isa, gsq__cell_kernel *kernel,
                                    int64_t batch, int64_t hidden, const float *gates,
                                    const float *h_prev, const float *dout,
                                    float *dgates, float *dh_prev, float *dbias) {
    GSQ_TRY(check_shape(fn, batch, hidden, 3));
    const int64_t n = batch * hidden;
    GSQ_TRY(check_buffer(fn, "gates", gates, n));
    GSQ_TRY(check_buffer(fn, dout_name, dout, n));
    GSQ_TRY(check_buffer(fn, "dgates", dgates, n));
    const double t0 = gsq__now_ms();
    const struct gsq__gru_rb_bwd a = {batch, hidden, gates, h_prev, dout,
                                      dgates, dh_prev, dbias};
    const int nth = run_cells(kernel, &a, batch, hidden);
    LOG_CELL(fn, isa, nth, t0, batch, hidden);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_gru_rb_output_backward(int64_t batch, int64_t hidden,
                                        const float *gates, const float *h_prev,
                                        const float *dh, float *dgates,
                                        float *dh_prev, float *dbias) {
    const gsq_isa_t isa = gsq__isa();
    return gru_rb_backward("gsq_gru_rb_output_backward", "dh", isa,
                           cell_kernels[isa]->gru_rb_output_bwd, batch, hidden, gates,
                           h_prev, dh, dgates, dh_prev, dbias);
}

gsq_status_t gsq_gru_rb_gates_backward(int64_t batch, int64_t hidden,
                                       const float *gates, const float *h_prev,
                                       const float *drh, float *dgates,
                                       float *dh_prev, float *dbias) {
    const gsq_isa_t isa = gsq__isa();
    return gru_rb_backward("gsq_gru_rb_gates_backward", "drh", isa,
                           cell_kernels[isa]->gru_rb_gates_bwd, batch, hidden, gates,
                           h_prev, drh, dgates, dh_prev, dbias);
}

/* ---- phases fused with their gate products ------------------------------------- */

/* A phase's outputs must not overlap the product's A parts, whose rows other
 * threads may still be reading. Malformed parts are left to the product's
 * own checks. */
static gsq_status_t check_apart(const char *fn, int64_t nparts, const gsq_matrix_part_t *a,
                                int64_t rows, const char *name, const float *out,
                                int64_t cols, int64_t ld) {
    for (int64_t q = 0; a && q < nparts; q++)
        if (a[q].data && a[q].cols > 0 && a[q].ld >= a[q].cols)
            GSQ_TRY(gsq__check_disjoint(fn, "an A part", a[q].data, rows, a[q].cols, a[q].ld,
                                        name, out, rows, cols, ld));
    return GSQ_SUCCESS;
}

/* A reset-before-product phase on rows [r0, r1): its kernel on a view of
 * those rows. The forward phases are elementwise, so this is bitwise the
 * whole-batch call. */
struct gru_rb_rows {
    gsq__cell_kernel *kernel;
    struct gsq__gru_rb_fwd args;
};

static void gru_rb_rows(const void *ctx, int64_t r0, int64_t r1) {
    const struct gru_rb_rows *p = ctx;
    struct gsq__gru_rb_fwd a = p->args;
    const int64_t h = a.hidden;
    a.batch = r1 - r0, a.gates += r0 * 3 * h, a.out += r0 * h;
    if (a.h_prev) a.h_prev += r0 * h;
    p->kernel(&a, 0, h);
}

/* The product into gates' slots [slot, slot + slots), then the phase. */
static gsq_status_t gru_rb_forward_parts(const char *fn, const char *out_name,
                                         gsq__cell_kernel *kernel, int64_t slot,
                                         int64_t slots, int64_t batch, int64_t hidden,
                                         int64_t nparts, const gsq_matrix_part_t *a,
                                         gsq_packed_b_t w, float *gates, const float *bias,
                                         const float *h_prev, float *out) {
    GSQ_TRY(check_gru_rb_forward(fn, out_name, batch, hidden, gates, out));
    if (batch * hidden > 0) {
        GSQ_TRY(check_apart(fn, nparts, a, batch, "gates", gates, 3 * hidden, 3 * hidden));
        GSQ_TRY(check_apart(fn, nparts, a, batch, out_name, out, hidden, hidden));
    }
    const struct gru_rb_rows rows = {kernel, {batch, hidden, gates, bias, h_prev, out}};
    const gsq__rows_then then = {gru_rb_rows, &rows};
    return gsq__sgemm_packed_parts_then(fn, batch, nparts, a, w, slots * hidden,
                                        gates + slot * hidden, 3 * hidden, &then);
}

gsq_status_t gsq_gru_rb_gates_forward_parts(int64_t batch, int64_t hidden, int64_t nparts,
                                            const gsq_matrix_part_t *a, gsq_packed_b_t w,
                                            float *gates, const float *bias,
                                            const float *h_prev, float *rh) {
    return gru_rb_forward_parts("gsq_gru_rb_gates_forward_parts", "rh",
                                cell_kernels[gsq__isa()]->gru_rb_gates_fwd, 0, 2, batch,
                                hidden, nparts, a, w, gates, bias, h_prev, rh);
}

gsq_status_t gsq_gru_rb_output_forward_parts(int64_t batch, int64_t hidden, int64_t nparts,
                                             const gsq_matrix_part_t *a, gsq_packed_b_t w,
                                             float *gates, const float *bias,
                                             const float *h_prev, float *h) {
    return gru_rb_forward_parts("gsq_gru_rb_output_forward_parts", "h",
                                cell_kernels[gsq__isa()]->gru_rb_output_fwd, 2, 1, batch,
                                hidden, nparts, a, w, gates, bias, h_prev, h);
}

/* ---- vanilla RNN ------------------------------------------------------------------ */

gsq_status_t gsq_rnn_cell_forward(int64_t batch, int64_t hidden, gsq_activation_t act,
                                  const float *pre, const float *bias, float *h) {
    static const char fn[] = "gsq_rnn_cell_forward";
    GSQ_TRY(check_shape(fn, batch, hidden, 1));
    GSQ_TRY(check_activation(fn, act));
    const int64_t n = batch * hidden;
    GSQ_TRY(check_buffer(fn, "pre", pre, n));
    GSQ_TRY(check_buffer(fn, "h", h, n));
    const double t0 = gsq__now_ms();
    const gsq_isa_t isa = gsq__isa();
    const struct gsq__rnn_fwd a = {batch, hidden, act, pre, bias, h};
    const int nth = run_cells(cell_kernels[isa]->rnn_fwd, &a, batch, hidden);
    LOG_CELL(fn, isa, nth, t0, batch, hidden);
    return GSQ_SUCCESS;
}

gsq_status_t gsq_rnn_cell_backward(int64_t batch, int64_t hidden, gsq_activation_t act,
                                   const float *h, const float *dh, float *dpre,
                                   float *dbias) {
    static const char fn[] = "gsq_rnn_cell_backward";
    GSQ_TRY(check_shape(fn, batch, hidden, 1));
    GSQ_TRY(check_activation(fn, act));
    const int64_t n = batch * hidden;
    GSQ_TRY(check_buffer(fn, "h", h, n));
    GSQ_TRY(check_buffer(fn, "dh", dh, n));
    GSQ_TRY(check_buffer(fn, "dpre", dpre, n));
    const double t0 = gsq__now_ms();
    const gsq_isa_t isa = gsq__isa();
    const struct gsq__rnn_bwd a = {batch, hidden, act, h, dh, dpre, dbias};
    const int nth = run_cells(cell_kernels[isa]->rnn_bwd, &a, batch, hidden);
    LOG_CELL(fn, isa, nth, t0, batch, hidden);
    return GSQ_SUCCESS;
}
