/* Fused recurrent cell kernels: the arguments of each public call, validated,
 * and one table of column-range kernels per ISA. A kernel processes columns
 * [c0, c1) of the hidden dimension for every batch row, rows in order, so the
 * per-column sums over the batch (dbias, dpeephole) have one fixed order
 * whatever the column split. */
#ifndef GSQ_ARCH_RNN_CELL_H
#define GSQ_ARCH_RNN_CELL_H
#include "../internal.h"

struct gsq__lstm_fwd {
    int64_t batch, hidden;
    uint32_t flags;
    float *gates;
    const float *bias, *peephole, *c_prev;
    float *c, *h;
};

struct gsq__lstm_bwd {
    int64_t batch, hidden;
    uint32_t flags;
    const float *gates, *peephole, *c_prev, *c, *dh, *dc;
    float *dgates, *dc_prev, *dpeephole, *dbias;
};

struct gsq__gru_fwd {
    int64_t batch, hidden;
    float *gx, *gh;
    const float *b_ih, *b_hh, *h_prev;
    float *h;
};

struct gsq__gru_bwd {
    int64_t batch, hidden;
    const float *gx, *gh, *h_prev, *dh;
    float *dgx, *dgh, *dh_prev, *db_ih, *db_hh;
};

/* Both reset-before-product phases: out is rh (gates phase) or h (output). */
struct gsq__gru_rb_fwd {
    int64_t batch, hidden;
    float *gates;
    const float *bias, *h_prev;
    float *out;
};

/* Both backward phases: dout is dh (output phase) or drh (gates phase). */
struct gsq__gru_rb_bwd {
    int64_t batch, hidden;
    const float *gates, *h_prev, *dout;
    float *dgates, *dh_prev, *dbias;
};

struct gsq__rnn_fwd {
    int64_t batch, hidden;
    gsq_activation_t act;
    const float *pre, *bias;
    float *h;
};

struct gsq__rnn_bwd {
    int64_t batch, hidden;
    gsq_activation_t act;
    const float *h, *dh;
    float *dpre, *dbias;
};

/* args points to the struct named by the table entry. */
typedef void gsq__cell_kernel(const void *args, int64_t c0, int64_t c1);

struct gsq__cell_kernels {
    gsq__cell_kernel *lstm_fwd, *lstm_bwd, *gru_fwd, *gru_bwd;
    gsq__cell_kernel *gru_rb_gates_fwd, *gru_rb_output_fwd;
    gsq__cell_kernel *gru_rb_output_bwd, *gru_rb_gates_bwd;
    gsq__cell_kernel *rnn_fwd, *rnn_bwd;
};

extern GSQ_HIDDEN const struct gsq__cell_kernels gsq__cell_kernels_generic;
extern GSQ_HIDDEN const struct gsq__cell_kernels gsq__cell_kernels_avx2;
extern GSQ_HIDDEN const struct gsq__cell_kernels gsq__cell_kernels_avx512;

#endif
