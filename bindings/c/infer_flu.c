/* Inference from checkpoints through the C ABI of libgraphseq: builds the
 * model of train_flu.c with other initial parameters, loads the checkpoints
 * that train_flu.c saved, prints its test MAE (equal to train_flu's, bit for
 * bit) and forecasts the week after the data (flu.h has the task).
 *
 * Usage: infer_flu [DATA_DIR [PREFIX]]   (data/flu-bybw flu)
 * Build against an installed library (make install, then):
 *   cc -std=c99 infer_flu.c $(pkg-config --cflags --libs graphseq) -lm -o infer_flu
 */
#include "flu.h"

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "data/flu-bybw";
    const char *prefix = argc > 2 ? argv[2] : "flu";
    static flu_data_t d;
    static float x[WINDOW * DISTRICTS];
    flu_model_t m;
    const float *pred;
    double mae, persistence, total = 0, last = 0;
    int busiest = 0;
    char path[4096];

    if (flu_check_version() || flu_load(&d, dir) || flu_model_create(&m, 1234)) return 1;
    snprintf(path, sizeof path, "%s-gconv.safetensors", prefix);
    CHECK(gsq_model_load(m.gconv, path));
    snprintf(path, sizeof path, "%s-readout.safetensors", prefix);
    CHECK(gsq_model_load(m.readout, path));
    CHECK(gsq_model_set_training(m.gconv, 0));
    CHECK(gsq_model_set_training(m.readout, 0));
    printf("loaded %s-gconv.safetensors and %s-readout.safetensors\n", prefix, prefix);

    if (flu_evaluate(&m, &d, &mae, &persistence)) return 1;
    printf("test MAE %.6f cases per district-week (persistence %.6f)\n", mae, persistence);

    /* A forecast for week WEEKS + 1 from the last WINDOW weeks (batch of 1). */
    for (int s = 0; s < WINDOW; s++)
        for (int n = 0; n < DISTRICTS; n++) x[s * DISTRICTS + n] = d.z[WEEKS - WINDOW + s][n];
    if (flu_forward(&m, &d, x, 1, &pred)) return 1;
    for (int n = 0; n < DISTRICTS; n++) {
        total += expm1(fmax(pred[n] * d.std + d.mean, 0.0));
        last += d.counts[WEEKS - 1][n];
        if (pred[n] > pred[busiest]) busiest = n;
    }
    printf("week %d forecast: %.1f cases in all districts (week %d had %.0f); "
           "most in district #%d\n", WEEKS + 1, total, WEEKS, last, busiest + 1);

    flu_model_destroy(&m);
    gsq_graph_destroy(d.adjacency);
    return 0;
}
