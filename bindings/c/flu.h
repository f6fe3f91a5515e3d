/* flu.h: what train_flu.c and infer_flu.c share: the bundled influenza data
 * (data/flu-bybw: weekly counts of 140 districts, 2001-2008, and their 0/1
 * adjacency), the forecasting task, the model, and its evaluation.
 *
 * Task: from 8 weeks of log1p(counts) of every district, predict the next
 * week's. Windows whose target falls in the last 104 weeks (2007-2008) are the
 * test set; the others train. Values are standardised with the mean and
 * standard deviation of the training weeks.
 *
 * Model: a GConvLSTM (GSQ_MODEL_GCONV_LSTM, Chebyshev order 2, 16 hidden
 * features) over the district graph, whose last hidden state feeds a linear
 * readout (GSQ_MODEL_LINEAR, 16 -> 1) per district.
 */
#ifndef FLU_H
#define FLU_H

#include <graphseq.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    DISTRICTS = 140,
    WEEKS = 416,
    WINDOW = 8,                /* weeks of input per prediction */
    TEST_WEEKS = 104,          /* the last two years */
    FIRST_TEST = WEEKS - TEST_WEEKS,
    HIDDEN = 16,
    BATCH = 32                 /* windows per step */
};

#define CHECK(call)                                                            \
    do {                                                                       \
        gsq_status_t s_ = (call);                                              \
        if (s_ != GSQ_SUCCESS) {                                               \
            fprintf(stderr, "%s failed: %s (%s)\n", #call,                     \
                    gsq_status_string(s_), gsq_last_error());                  \
            return 1;                                                          \
        }                                                                      \
    } while (0)

typedef struct flu_data {
    float counts[WEEKS][DISTRICTS]; /* raw weekly counts */
    float z[WEEKS][DISTRICTS];      /* standardised log1p(counts) */
    float mean, std;                /* of log1p(counts) over the training weeks */
    gsq_graph_t adjacency;
} flu_data_t;

typedef struct flu_model {
    gsq_model_t gconv, readout;
} flu_model_t;

/* Reads a table of `rows` lines after a header of DISTRICTS quoted ids; each
 * line is a quoted label and DISTRICTS numbers. */
static int flu_read_table(const char *path, int rows, float *table) {
    char token[64];
    int line = 1, ok;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    ok = 1;
    for (int j = 0; ok && j < DISTRICTS; j++)
        ok = fscanf(f, "%63s", token) == 1 && token[0] == '"';
    for (int i = 0; ok && i < rows; i++) {
        line = i + 2;
        ok = fscanf(f, "%63s", token) == 1 && token[0] == '"';
        for (int j = 0; ok && j < DISTRICTS; j++) {
            char *end = token;
            if (fscanf(f, "%63s", token) == 1) table[i * DISTRICTS + j] = strtof(token, &end);
            ok = end != token && *end == '\0';
        }
    }
    if (ok && fscanf(f, "%63s", token) == 1) {
        line = rows + 2;
        ok = 0;
    }
    fclose(f);
    if (!ok)
        fprintf(stderr, "%s:%d: expected %d quoted ids, then %d rows of a quoted "
                "label and %d numbers\n", path, line, DISTRICTS, rows, DISTRICTS);
    return !ok;
}

/* Loads counts and adjacency from the folder `dir`. */
static int flu_load(flu_data_t *d, const char *dir) {
    char path[4096];
    float *a = (float *)malloc(sizeof(float) * DISTRICTS * DISTRICTS);
    int32_t *rows = (int32_t *)malloc(sizeof(int32_t) * DISTRICTS * DISTRICTS);
    int32_t *cols = (int32_t *)malloc(sizeof(int32_t) * DISTRICTS * DISTRICTS);
    int64_t nnz = 0;
    double sum = 0, sq = 0;
    int failed;

    snprintf(path, sizeof path, "%s/counts_flu_BYBW.txt", dir);
    failed = !a || !rows || !cols || flu_read_table(path, WEEKS, &d->counts[0][0]);
    snprintf(path, sizeof path, "%s/neighbourhood_BYBW.txt", dir);
    failed = failed || flu_read_table(path, DISTRICTS, a);
    for (int i = 0; !failed && i < DISTRICTS * DISTRICTS; i++)
        if (a[i] != 0) rows[nnz] = i / DISTRICTS, cols[nnz++] = i % DISTRICTS;
    d->adjacency = NULL;
    if (!failed && gsq_graph_create_coo(&d->adjacency, DISTRICTS, DISTRICTS, nnz,
                                        rows, cols, NULL) != GSQ_SUCCESS) {
        fprintf(stderr, "%s: %s\n", path, gsq_last_error());
        failed = 1;
    }
    free(a), free(rows), free(cols);
    if (failed) return 1;

    for (int t = 0; t < FIRST_TEST; t++)
        for (int n = 0; n < DISTRICTS; n++) {
            double v = log1p(d->counts[t][n]);
            sum += v, sq += v * v;
        }
    d->mean = (float)(sum / (FIRST_TEST * DISTRICTS));
    d->std = (float)sqrt(sq / (FIRST_TEST * DISTRICTS) - (double)d->mean * d->mean);
    for (int t = 0; t < WEEKS; t++)
        for (int n = 0; n < DISTRICTS; n++)
            d->z[t][n] = ((float)log1p(d->counts[t][n]) - d->mean) / d->std;
    printf("flu-bybw: %d weeks x %d districts, %lld adjacency entries\n", WEEKS,
           DISTRICTS, (long long)nnz);
    return 0;
}

/* The model, with parameters initialised from `seed`. */
static int flu_model_create(flu_model_t *m, uint64_t seed) {
    gsq_model_options_t gconv = GSQ_MODEL_OPTIONS_INIT;
    gsq_model_options_t readout = GSQ_MODEL_OPTIONS_INIT;
    gconv.kind = GSQ_MODEL_GCONV_LSTM;
    gconv.lstm_flags = GSQ_LSTM_PEEPHOLE;
    gconv.input_size = 1;
    gconv.hidden_size = HIDDEN;
    gconv.order = 2;
    gconv.seed = seed;
    readout.kind = GSQ_MODEL_LINEAR;
    readout.input_size = HIDDEN;
    readout.output_size = 1;
    readout.seed = seed + 1;
    m->gconv = m->readout = NULL;
    CHECK(gsq_model_create(&m->gconv, &gconv));
    CHECK(gsq_model_create(&m->readout, &readout));
    return 0;
}

static void flu_model_destroy(flu_model_t *m) {
    gsq_model_destroy(m->gconv);
    gsq_model_destroy(m->readout);
}

/* Fills x [WINDOW][DISTRICTS][b][1] and target [DISTRICTS][b] for the
 * windows whose targets are the weeks in `weeks` (b of them). */
static void flu_batch(const flu_data_t *d, const int *weeks, int b, float *x,
                      float *target) {
    for (int s = 0; s < WINDOW; s++)
        for (int n = 0; n < DISTRICTS; n++)
            for (int k = 0; k < b; k++)
                x[(s * DISTRICTS + n) * b + k] = d->z[weeks[k] - WINDOW + s][n];
    for (int n = 0; n < DISTRICTS; n++)
        for (int k = 0; k < b; k++) target[n * b + k] = d->z[weeks[k]][n];
}

/* Forward through both models; *pred points at the readout's output
 * [DISTRICTS * b][1] (model-owned, valid until the next forward). */
static int flu_forward(const flu_model_t *m, const flu_data_t *d, const float *x,
                       int b, const float **pred) {
    const int64_t shape[4] = {WINDOW, DISTRICTS, b, 1};
    const int64_t last[2] = {(int64_t)DISTRICTS * b, HIDDEN};
    const float *h;
    CHECK(gsq_model_forward(m->gconv, d->adjacency, x, 4, shape, NULL, NULL, NULL));
    CHECK(gsq_model_tensor(m->gconv, GSQ_MODEL_OUTPUT, &h, NULL, NULL));
    h += (size_t)(WINDOW - 1) * DISTRICTS * b * HIDDEN; /* the last step */
    CHECK(gsq_model_forward(m->readout, NULL, h, 2, last, NULL, NULL, NULL));
    CHECK(gsq_model_tensor(m->readout, GSQ_MODEL_OUTPUT, pred, NULL, NULL));
    return 0;
}

/* Mean absolute error in counts over the test weeks, of the model and of the
 * persistence forecast (next week = this week). */
static int flu_evaluate(const flu_model_t *m, const flu_data_t *d, double *mae,
                        double *persistence) {
    float *x = (float *)malloc(sizeof(float) * WINDOW * DISTRICTS * BATCH);
    float *target = (float *)malloc(sizeof(float) * DISTRICTS * BATCH);
    int weeks[BATCH], failed = !x || !target;
    double err = 0, base = 0;
    for (int first = FIRST_TEST; !failed && first < WEEKS; first += BATCH) {
        int b = WEEKS - first < BATCH ? WEEKS - first : BATCH;
        const float *pred;
        for (int k = 0; k < b; k++) weeks[k] = first + k;
        flu_batch(d, weeks, b, x, target);
        failed = flu_forward(m, d, x, b, &pred);
        for (int n = 0; !failed && n < DISTRICTS; n++)
            for (int k = 0; k < b; k++) {
                double count = expm1(fmax(pred[n * b + k] * d->std + d->mean, 0.0));
                err += fabs(count - d->counts[weeks[k]][n]);
                base += fabs(d->counts[weeks[k] - 1][n] - d->counts[weeks[k]][n]);
            }
    }
    free(x), free(target);
    *mae = err / (TEST_WEEKS * DISTRICTS);
    *persistence = base / (TEST_WEEKS * DISTRICTS);
    return failed;
}

/* 0 if the loaded library serves this header, else 1 with a message. */
static int flu_check_version(void) {
    if (GSQ_VERSION_COMPATIBLE(gsq_version())) return 0;
    fprintf(stderr, "graphseq: header %d, library %d\n", GSQ_VERSION, gsq_version());
    return 1;
}

#endif /* FLU_H */
