/* Trains a model end to end through the model-level C ABI of
 * include/graphseq.h and the shared library (libGraphSeqC.so): forward, MSE
 * loss, backward, gradient clipping, an Adam step, then a checkpoint round
 * trip. The data are synthetic: a random linear map plus noise, so the loss
 * must fall well below its starting value. Exits non-zero on any failure.
 *
 * Build (see scripts/check-c-abi):
 *   cc -std=c99 -Iinclude bindings/c/train_example.c -L.build/release \
 *      -lGraphSeqC -Wl,-rpath,.build/release -o train_example
 */
#include <graphseq.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 64, IN = 8, OUT = 3, STEPS = 300 };

#define CHECK(call)                                                            \
    do {                                                                       \
        gsq_status_t s_ = (call);                                              \
        if (s_ != GSQ_SUCCESS) {                                               \
            fprintf(stderr, "%s failed: %s (%s)\n", #call,                     \
                    gsq_status_string(s_), gsq_last_error());                  \
            return 1;                                                          \
        }                                                                      \
    } while (0)

/* A reproducible uniform number in [-1, 1). */
static float uniform(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 8388608.0f - 1.0f;
}

static int train(gsq_model_t model, gsq_optimizer_t adam, const float *x,
                 const float *target, float *loss) {
    static const int64_t shape[2] = {ROWS, IN};
    float dy[ROWS * OUT];
    const float *y;
    int64_t rank, yshape[4];
    for (int step = 0; step < STEPS; step++) {
        float norm;
        CHECK(gsq_model_forward(model, NULL, x, 2, shape, NULL, NULL, NULL));
        CHECK(gsq_model_tensor(model, GSQ_MODEL_OUTPUT, &y, &rank, yshape));
        if (rank != 2 || yshape[0] != ROWS || yshape[1] != OUT) return 1;
        CHECK(gsq_loss_mse(ROWS * OUT, y, target, &loss[step], dy));
        CHECK(gsq_model_zero_grad(model));
        CHECK(gsq_model_backward(model, dy, NULL, NULL));
        CHECK(gsq_model_clip_grad_norm(model, 1.0f, &norm));
        CHECK(gsq_optimizer_step(adam));
        if (step % 50 == 0 || step == STEPS - 1)
            printf("step %3d  loss %.5f  |grad| %.4f\n", step, loss[step], norm);
    }
    return 0;
}

int main(void) {
    /* Synthetic regression data: target = x W + b + noise. */
    unsigned seed = 42;
    float x[ROWS * IN], target[ROWS * OUT], w[IN * OUT], b[OUT];
    for (int i = 0; i < IN * OUT; i++) w[i] = uniform(&seed);
    for (int j = 0; j < OUT; j++) b[j] = 0.5f * uniform(&seed);
    for (int i = 0; i < ROWS * IN; i++) x[i] = uniform(&seed);
    for (int r = 0; r < ROWS; r++)
        for (int j = 0; j < OUT; j++) {
            float acc = b[j] + 0.01f * uniform(&seed);
            for (int k = 0; k < IN; k++) acc += x[r * IN + k] * w[k * OUT + j];
            target[r * OUT + j] = acc;
        }

    gsq_model_options_t mo = GSQ_MODEL_OPTIONS_INIT;
    mo.kind = GSQ_MODEL_LINEAR;
    mo.input_size = IN;
    mo.output_size = OUT;
    mo.seed = 1;
    gsq_optimizer_options_t oo = GSQ_OPTIMIZER_OPTIONS_INIT;
    oo.learning_rate = 0.05f;
    gsq_model_t model = NULL, restored = NULL;
    gsq_optimizer_t adam = NULL;
    CHECK(gsq_model_create(&model, &mo));
    CHECK(gsq_optimizer_create(&adam, model, &oo));

    printf("model:");
    for (int64_t i = 0; i < gsq_model_parameter_count(model); i++) {
        const char *name;
        int64_t rank, shape[4];
        CHECK(gsq_model_parameter(model, i, &name, NULL, NULL, &rank, shape));
        printf(" %s [", name);
        for (int64_t d = 0; d < rank; d++)
            printf("%s%lld", d ? ", " : "", (long long)shape[d]);
        printf("]");
    }
    printf("\n");

    float loss[STEPS];
    if (train(model, adam, x, target, loss)) return 1;
    if (!(loss[STEPS - 1] < 0.01f * loss[0])) {
        fprintf(stderr, "the loss did not fall: %g -> %g\n", loss[0], loss[STEPS - 1]);
        return 1;
    }

    /* A checkpoint round trip: a fresh model with another seed loads the
     * trained parameters and reproduces the output bit for bit. */
    const char *path = "train_example.safetensors";
    static const int64_t shape[2] = {ROWS, IN};
    const float *y1, *y2;
    mo.seed = 2;
    CHECK(gsq_model_save(model, path));
    CHECK(gsq_model_create(&restored, &mo));
    CHECK(gsq_model_load(restored, path));
    remove(path);
    CHECK(gsq_model_forward(model, NULL, x, 2, shape, NULL, NULL, NULL));
    CHECK(gsq_model_forward(restored, NULL, x, 2, shape, NULL, NULL, NULL));
    CHECK(gsq_model_tensor(model, GSQ_MODEL_OUTPUT, &y1, NULL, NULL));
    CHECK(gsq_model_tensor(restored, GSQ_MODEL_OUTPUT, &y2, NULL, NULL));
    if (memcmp(y1, y2, sizeof(float) * ROWS * OUT) != 0) {
        fprintf(stderr, "the restored model differs\n");
        return 1;
    }
    printf("checkpoint round trip: outputs identical\n");

    /* Bad input is reported, not a crash. */
    const int64_t wrong[2] = {ROWS, IN + 1};
    gsq_status_t s = gsq_model_forward(model, NULL, x, 2, wrong, NULL, NULL, NULL);
    printf("wrong input width -> %s: %s\n", gsq_status_string(s), gsq_last_error());
    if (s != GSQ_ERR_INVALID_ARGUMENT) return 1;

    gsq_model_destroy(model); /* either order: the optimiser keeps it alive */
    gsq_optimizer_destroy(adam);
    gsq_model_destroy(restored);
    return 0;
}
