/* A small C program against the installed library (issue 10, item 20): plants a rank-2 rating matrix,
 * trains, saves and reloads the model, and checks its predictions and a top-3 list. Build:
 *     cc recommend.c $(pkg-config --cflags --libs simdmf) -lm -o recommend   (-lm: this file calls sqrt)
 *     cc -static recommend.c $(pkg-config --static --cflags --libs simdmf) -lm -o recommend-static
 * Run: ./recommend [model path]   (exit 0 when the model fits the data). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <simdmf/simdmf.h>

#define CHECK(call)                                                                            \
    do {                                                                                       \
        simdmf_status st_ = (call);                                                            \
        if (st_ != SIMDMF_OK) {                                                                \
            fprintf(stderr, "%s: %s (%s)\n", #call, simdmf_status_string(st_), simdmf_last_error()); \
            return 1;                                                                          \
        }                                                                                      \
    } while (0)

enum { USERS = 40, ITEMS = 30 };

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "example.smf";
    static uint32_t u[USERS * ITEMS], it[USERS * ITEMS];
    static float v[USERS * ITEMS];
    size_t n = 0;
    for (uint32_t a = 0; a < USERS; ++a)
        for (uint32_t b = 0; b < ITEMS; ++b) {
            if ((a * 7 + b * 3) % 4 == 0) continue; /* a quarter of the cells held out */
            u[n] = a;
            it[n] = b;
            v[n] = 3.0f + sinf(0.3f * (float)a) * cosf(0.2f * (float)b) + 0.5f * cosf(0.5f * (float)a + 1.0f);
            ++n;
        }
    simdmf_dataset* data;
    simdmf_trainer* t;
    simdmf_model *m, *loaded;
    CHECK(simdmf_dataset_from_triples(u, it, v, n, USERS, ITEMS, &data));
    CHECK(simdmf_trainer_create(&t));
    CHECK(simdmf_trainer_set(t, "k", 8));
    CHECK(simdmf_trainer_set(t, "epochs", 200));
    CHECK(simdmf_trainer_set(t, "lr", 0.02));
    CHECK(simdmf_trainer_set(t, "l2", 0.001));
    CHECK(simdmf_trainer_fit(t, data, NULL, &m));
    CHECK(simdmf_model_save(m, path));
    CHECK(simdmf_model_load(path, &loaded));
    double se = 0;
    for (size_t j = 0; j < n; ++j) {
        float p;
        CHECK(simdmf_model_predict(loaded, u[j], it[j], &p));
        se += (p - v[j]) * (double)(p - v[j]);
    }
    const double rmse = sqrt(se / (double)n);
    uint32_t top[3];
    float score[3];
    size_t got;
    CHECK(simdmf_model_recommend(loaded, 0, 3, data, top, score, &got));
    printf("simdmf %s: %zu ratings, training RMSE %.4f; user 0's top %zu:", simdmf_version_string(), n, rmse, got);
    for (size_t j = 0; j < got; ++j) printf(" item %u (%.2f)", top[j], score[j]);
    printf("\n");
    simdmf_model_free(loaded);
    simdmf_model_free(m);
    simdmf_trainer_free(t);
    simdmf_dataset_free(data);
    return rmse < 0.1 && got == 3 ? 0 : 1;
}
