/* Trains a GConvLSTM on real data through the C ABI of libgraphseq: weekly
 * influenza counts of 140 districts (data/flu-bybw), 8 weeks in, the next
 * week out (flu.h has the task and the model). Adam on the MSE of
 * standardised log1p counts, with gradient clipping. Prints the training loss
 * per epoch (the program fails unless it falls), the test MAE beside the
 * persistence forecast, and saves the trained model as two safetensors
 * checkpoints, PREFIX-gconv.safetensors and PREFIX-readout.safetensors, which
 * infer_flu.c loads.
 *
 * Usage: train_flu [DATA_DIR [PREFIX [EPOCHS]]]   (data/flu-bybw flu 10)
 * Build against an installed library (make install, then):
 *   cc -std=c99 train_flu.c $(pkg-config --cflags --libs graphseq) -lm -o train_flu
 */
#include "flu.h"

enum { TRAIN_WINDOWS = FIRST_TEST - WINDOW, SEED = 7 };

typedef struct buffers {
    float x[WINDOW * DISTRICTS * BATCH], target[DISTRICTS * BATCH];
    float dpred[DISTRICTS * BATCH], doutput[WINDOW * DISTRICTS * BATCH * HIDDEN];
} buffers_t;

/* A reproducible shuffle: Fisher-Yates driven by a 64-bit LCG. */
static void shuffle(int *v, int n, uint64_t *state) {
    for (int i = n - 1; i > 0; i--) {
        *state = *state * 6364136223846793005u + 1442695040888963407u;
        int j = (int)((*state >> 33) % (uint64_t)(i + 1)), t = v[i];
        v[i] = v[j], v[j] = t;
    }
}

/* One Adam step on the b windows whose targets are weeks[0..b); adds the
 * batch's summed squared error to *sse. */
static int train_step(const flu_model_t *m, gsq_optimizer_t adam[2],
                      const flu_data_t *d, const int *weeks, int b, buffers_t *w,
                      double *sse) {
    const size_t last = (size_t)(WINDOW - 1) * DISTRICTS * b * HIDDEN;
    const float *pred, *dlast;
    float loss;
    flu_batch(d, weeks, b, w->x, w->target);
    if (flu_forward(m, d, w->x, b, &pred)) return 1;
    CHECK(gsq_loss_mse(DISTRICTS * b, pred, w->target, &loss, w->dpred));
    CHECK(gsq_model_zero_grad(m->gconv));
    CHECK(gsq_model_zero_grad(m->readout));
    CHECK(gsq_model_backward(m->readout, w->dpred, NULL, NULL));
    CHECK(gsq_model_tensor(m->readout, GSQ_MODEL_GRAD_INPUT, &dlast, NULL, NULL));
    /* Only the last step's output reaches the loss. */
    memset(w->doutput, 0, sizeof(float) * last);
    memcpy(w->doutput + last, dlast, sizeof(float) * DISTRICTS * b * HIDDEN);
    CHECK(gsq_model_backward(m->gconv, w->doutput, NULL, NULL));
    CHECK(gsq_model_clip_grad_norm(m->gconv, 1.0f, NULL));
    CHECK(gsq_model_clip_grad_norm(m->readout, 1.0f, NULL));
    CHECK(gsq_optimizer_step(adam[0]));
    CHECK(gsq_optimizer_step(adam[1]));
    *sse += (double)loss * DISTRICTS * b;
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "data/flu-bybw";
    const char *prefix = argc > 2 ? argv[2] : "flu";
    const int epochs = argc > 3 ? atoi(argv[3]) : 10;
    static flu_data_t d;
    static buffers_t w;
    flu_model_t m;
    gsq_optimizer_t adam[2] = {NULL, NULL};
    gsq_optimizer_options_t oo = GSQ_OPTIMIZER_OPTIONS_INIT;
    int weeks[TRAIN_WINDOWS];
    uint64_t rng = SEED;
    double first_loss = 0, loss = 0, mae, persistence;
    char path[4096];

    if (epochs < 1) {
        fprintf(stderr, "usage: train_flu [DATA_DIR [PREFIX [EPOCHS >= 1]]]\n");
        return 2;
    }
    if (flu_check_version() || flu_load(&d, dir) || flu_model_create(&m, SEED)) return 1;
    oo.learning_rate = 0.01f;
    CHECK(gsq_optimizer_create(&adam[0], m.gconv, &oo));
    CHECK(gsq_optimizer_create(&adam[1], m.readout, &oo));
    printf("GConvLSTM(1 -> %d, K = 2) + Linear(%d -> 1), Adam lr %g, seed %d, "
           "%d training windows, %d test weeks\n",
           HIDDEN, HIDDEN, (double)oo.learning_rate, SEED, TRAIN_WINDOWS, TEST_WEEKS);

    for (int i = 0; i < TRAIN_WINDOWS; i++) weeks[i] = WINDOW + i;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        double sse = 0;
        shuffle(weeks, TRAIN_WINDOWS, &rng);
        for (int first = 0; first < TRAIN_WINDOWS; first += BATCH) {
            int b = TRAIN_WINDOWS - first < BATCH ? TRAIN_WINDOWS - first : BATCH;
            if (train_step(&m, adam, &d, weeks + first, b, &w, &sse)) return 1;
        }
        loss = sse / ((double)TRAIN_WINDOWS * DISTRICTS);
        if (epoch == 1) first_loss = loss;
        printf("epoch %2d  train MSE %.4f\n", epoch, loss);
    }

    if (flu_evaluate(&m, &d, &mae, &persistence)) return 1;
    printf("test MAE %.6f cases per district-week (persistence %.6f)\n", mae, persistence);
    snprintf(path, sizeof path, "%s-gconv.safetensors", prefix);
    CHECK(gsq_model_save(m.gconv, path));
    snprintf(path, sizeof path, "%s-readout.safetensors", prefix);
    CHECK(gsq_model_save(m.readout, path));
    printf("saved %s-gconv.safetensors and %s-readout.safetensors\n", prefix, prefix);

    gsq_optimizer_destroy(adam[0]);
    gsq_optimizer_destroy(adam[1]);
    flu_model_destroy(&m);
    gsq_graph_destroy(d.adjacency);
    if (epochs > 1 && !(loss < first_loss)) {
        fprintf(stderr, "the training loss did not fall: %g -> %g\n", first_loss, loss);
        return 1;
    }
    return 0;
}
