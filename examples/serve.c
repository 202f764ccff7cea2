/* Serving only (it works with a serving-only library, meson -Dtraining=false): a model from factor
 * tables trained elsewhere, saved, opened memory-mapped, then a top-3 list and a prediction checked
 * against the tables. Build:
 *     cc serve.c $(pkg-config --cflags --libs simdmf) -o serve
 * or against the archive (libc still shared; with -Dstatic_cxx_runtime=true no libstdc++.so either):
 *     cc serve.c $(pkg-config --static --cflags --libs simdmf | sed 's/-lsimdmf /-l:libsimdmf.a /') -o serve
 * Run: ./serve [model path]   (exit 0 when the answers are right). */
#include <stdio.h>
#include <string.h>

#include <simdmf/simdmf.h>

#define CHECK(call)                                                                            \
    do {                                                                                       \
        simdmf_status st_ = (call);                                                            \
        if (st_ != SIMDMF_OK) {                                                                \
            fprintf(stderr, "%s: %s (%s)\n", #call, simdmf_status_string(st_), simdmf_last_error()); \
            return 1;                                                                          \
        }                                                                                      \
    } while (0)

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "serve.smf";
    /* Three users and five items with k = 2: user 0 likes the first coordinate, user 2 the second. */
    static const float users[3 * 2] = {1.0f, 0.0f, 0.5f, 0.5f, 0.0f, 1.0f};
    static const float items[5 * 2] = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.6f, 0.1f, 0.3f, 0.7f, 0.0f};
    simdmf_factor_tables t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.k = 2;
    t.n_users = 3;
    t.n_items = 5;
    t.user_factors = users;
    t.item_factors = items;
    t.global_bias = 3.0f;
    t.min_prediction = 1.0f;
    t.max_prediction = 5.0f;
    simdmf_model *m, *mapped;
    CHECK(simdmf_model_from_factors(&t, SIMDMF_FACTORS_COPY, &m));
    CHECK(simdmf_model_save(m, path));
    CHECK(simdmf_model_open(path, SIMDMF_OPEN_MMAP, &mapped));
    uint32_t top[3];
    float scores[3];
    size_t n = 0;
    CHECK(simdmf_model_recommend(mapped, 0, 3, NULL, top, scores, &n));
    float p;
    CHECK(simdmf_model_predict(mapped, 2, 1, &p));
    printf("simdmf %s: user 0's top 3: %u %u %u; prediction (2, 1) = %.2f\n", simdmf_version_string(), top[0],
           top[1], top[2], p);
    const int right = n == 3 && top[0] == 0 && top[1] == 4 && top[2] == 2 && p > 3.79f && p < 3.81f;
    simdmf_model_free(mapped);
    simdmf_model_free(m);
    remove(path);
    return right ? 0 : 1;
}
