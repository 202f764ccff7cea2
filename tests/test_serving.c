/* The serving calls of the C ABI through the real shared library, the ones a serving-only build
 * (meson -Dtraining=false) keeps: a model from the caller's factor tables, save, load and open mapped,
 * predict, top-N (one user, filtered, a batch), nearest, quantized tables; every result is checked
 * against a brute-force computation here. Usage: test_serving training|serving-only [dir [absent level...]]: with
 * "serving-only" the training, data-loading and option-registry calls must answer
 * SIMDMF_ERR_UNSUPPORTED naming the build; with "training" they must work. Further arguments: the
 * simdmf_simd values of levels the build leaves out, which must be refused as such. Exit 0 when all
 * pass. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simdmf/simdmf.h"

static int failures = 0;
#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: EXPECT(%s) failed\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                        \
        }                                                                      \
    } while (0)
#define OK(call)                                                                               \
    do {                                                                                       \
        simdmf_status st_ = (call);                                                            \
        if (st_ != SIMDMF_OK) {                                                                \
            fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #call, simdmf_status_string(st_), \
                    simdmf_last_error());                                                      \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

enum { USERS = 37, ITEMS = 301, K = 11, TOP = 7 };
static float P[USERS * K], Q[ITEMS * K], BU[USERS], BI[ITEMS];
static const float MU = 3.25f;

static double score(uint32_t u, uint32_t i) {
    double s = MU + BU[u] + BI[i];
    for (int t = 0; t < K; ++t) s += (double)P[u * K + t] * Q[i * K + t];
    return s;
}

/* The brute-force top n of user u: highest score first, ties by lower item; items with skip[i] left out. */
static size_t brute_top(uint32_t u, size_t n, const unsigned char* skip, uint32_t* out) {
    size_t got = 0;
    unsigned char taken[ITEMS] = {0};
    while (got < n) {
        int best = -1;
        for (int i = 0; i < ITEMS; ++i)
            if (!taken[i] && !(skip && skip[i]) && (best < 0 || score(u, i) > score(u, best))) best = i;
        if (best < 0) break;
        taken[best] = 1;
        out[got++] = (uint32_t)best;
    }
    return got;
}

/* The library's list against the brute-force one. The first TOP + 1 scores must be apart by more than
 * float rounding (checked), so that the order is the same at every level and for every table. */
static void check_top(const simdmf_model* m, uint32_t u, const simdmf_filter* f, const unsigned char* skip) {
    uint32_t got[TOP], want[TOP + 1];
    float sc[TOP];
    size_t n_got = 0;
    OK(simdmf_model_recommend_filtered(m, u, TOP, f, got, sc, &n_got));
    const size_t n_ranked = brute_top(u, TOP + 1, skip, want);
    for (size_t j = 1; j < n_ranked; ++j) EXPECT(score(u, want[j - 1]) - score(u, want[j]) > 1e-5);
    const size_t n_want = n_ranked < TOP ? n_ranked : TOP;
    EXPECT(n_got == n_want);
    for (size_t j = 0; j < n_got && j < n_want; ++j) {
        EXPECT(got[j] == want[j]);
        EXPECT(fabs(sc[j] - score(u, want[j])) < 1e-4);
    }
}

static void fill_tables(void) {
    uint32_t x = 12345;
    for (int j = 0; j < USERS * K; ++j) P[j] = (float)((x = x * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
    for (int j = 0; j < ITEMS * K; ++j) Q[j] = (float)((x = x * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
    for (int j = 0; j < USERS; ++j) BU[j] = 0.01f * (float)(j % 5);
    for (int j = 0; j < ITEMS; ++j) BI[j] = 0.003f * (float)(j % 17);
}

/* Training, data-loading and registry calls: UNSUPPORTED naming the serving-only build, or working. */
static void check_training_calls(int serving_only, const char* dir) {
    simdmf_trainer* t = NULL;
    simdmf_status st = simdmf_trainer_create(&t);
    if (serving_only) {
        EXPECT(st == SIMDMF_ERR_UNSUPPORTED);
        EXPECT(strstr(simdmf_last_error(), "simdmf_trainer_create") != NULL);
        EXPECT(strstr(simdmf_last_error(), "serving-only") != NULL);
        EXPECT(t == NULL);
        size_t count = 0;
        EXPECT(simdmf_option_count(&count) == SIMDMF_ERR_UNSUPPORTED);
        EXPECT(strstr(simdmf_last_error(), "simdmf_option_count") != NULL);
        simdmf_dataset* ds = NULL;
        EXPECT(simdmf_dataset_load(dir, 0, &ds) == SIMDMF_ERR_UNSUPPORTED && ds == NULL);
        simdmf_model* m = NULL;
        EXPECT(simdmf_model_import(SIMDMF_FACTORS_NPZ, dir, NULL, &m) == SIMDMF_ERR_UNSUPPORTED && m == NULL);
        EXPECT(simdmf_trainer_fit(NULL, NULL, NULL, &m) == SIMDMF_ERR_UNSUPPORTED);
    } else {
        EXPECT(st == SIMDMF_OK && t != NULL);
        EXPECT(simdmf_trainer_set(t, "k", 4) == SIMDMF_OK);
        size_t count = 0;
        EXPECT(simdmf_option_count(&count) == SIMDMF_OK && count > 0);
        simdmf_trainer_free(t);
    }
}

int main(int argc, char** argv) {
    if (argc < 2 || (strcmp(argv[1], "training") != 0 && strcmp(argv[1], "serving-only") != 0)) {
        fprintf(stderr, "usage: test_serving training|serving-only [dir [absent level...]]\n");
        return 2;
    }
    const int serving_only = strcmp(argv[1], "serving-only") == 0;
    const char* dir = argc > 2 ? argv[2] : ".";
    char path[4096];
    const char* level_env = getenv("SIMDMF_SIMD"); /* one file per run: the per-level runs are parallel */
    snprintf(path, sizeof path, "%s/test_serving-%s.smf", dir, level_env && *level_env ? level_env : "best");
    fill_tables();

    simdmf_factor_tables tab;
    memset(&tab, 0, sizeof tab);
    tab.struct_size = sizeof tab;
    tab.k = K;
    tab.n_users = USERS;
    tab.n_items = ITEMS;
    tab.user_factors = P;
    tab.item_factors = Q;
    tab.user_bias = BU;
    tab.item_bias = BI;
    tab.global_bias = MU;
    tab.min_prediction = -INFINITY;
    tab.max_prediction = INFINITY;
    simdmf_model* m = NULL;
    OK(simdmf_model_from_factors(&tab, SIMDMF_FACTORS_COPY, &m));

    /* Predictions and rows. */
    float row[ITEMS];
    OK(simdmf_model_predict_row(m, 5, row));
    for (uint32_t i = 0; i < ITEMS; ++i) EXPECT(fabs(row[i] - score(5, i)) < 1e-4);
    float p;
    OK(simdmf_model_predict(m, 36, 300, &p));
    EXPECT(fabs(p - score(36, 300)) < 1e-4);

    /* Top-N: no filter, a deny list, the caller's seen lists, an exclude data set, an allow list. */
    for (uint32_t u = 0; u < USERS; u += 6) check_top(m, u, NULL, NULL);
    uint32_t top[TOP];
    brute_top(3, TOP, NULL, top);
    uint32_t deny[2] = {top[0] < top[2] ? top[0] : top[2], top[0] < top[2] ? top[2] : top[0]};
    unsigned char skip[ITEMS] = {0};
    skip[deny[0]] = skip[deny[1]] = 1;
    simdmf_filter f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.deny = deny;
    f.n_deny = 2;
    check_top(m, 3, &f, skip);
    /* The same two items as user 3's seen items in a data set (exclude). */
    uint32_t eu[2] = {3, 3};
    float ev[2] = {1.0f, 1.0f};
    simdmf_dataset* ex = NULL;
    OK(simdmf_dataset_from_triples(eu, deny, ev, 2, USERS, ITEMS, &ex));
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.exclude = ex;
    check_top(m, 3, &f, skip);
    check_top(m, 4, &f, NULL); /* user 4 has seen nothing */
    /* allow: only even items. */
    uint32_t allow[ITEMS / 2 + 1];
    size_t n_allow = 0;
    unsigned char odd[ITEMS];
    for (uint32_t i = 0; i < ITEMS; ++i) {
        odd[i] = i % 2;
        if (!odd[i]) allow[n_allow++] = i;
    }
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.allow = allow;
    f.n_allow = n_allow;
    check_top(m, 10, &f, odd);

    /* A batch: every user's list as one user's. */
    uint32_t users[USERS];
    for (uint32_t u = 0; u < USERS; ++u) users[u] = u;
    static uint32_t bitems[USERS * TOP];
    size_t counts[USERS];
    simdmf_scratch* s = NULL;
    OK(simdmf_scratch_create(&s));
    OK(simdmf_model_recommend_batch(m, users, USERS, TOP, NULL, s, bitems, NULL, counts));
    for (uint32_t u = 0; u < USERS; ++u) {
        uint32_t want[TOP];
        EXPECT(counts[u] == brute_top(u, TOP, NULL, want));
        EXPECT(memcmp(bitems + u * TOP, want, sizeof want) == 0);
    }

    /* Nearest items by dot product: the item whose row has the largest dot with item 0's. */
    uint32_t near[1];
    size_t n_near = 0;
    uint32_t q0 = 0;
    OK(simdmf_model_nearest_batch(m, SIMDMF_ITEMS, SIMDMF_METRIC_DOT, &q0, 1, 1, s, near, NULL, &n_near));
    {
        int best = -1;
        double bd = 0;
        for (int i = 1; i < ITEMS; ++i) {
            double d = 0;
            for (int t = 0; t < K; ++t) d += (double)Q[t] * Q[i * K + t];
            if (best < 0 || d > bd) best = i, bd = d;
        }
        EXPECT(n_near == 1 && near[0] == (uint32_t)best);
    }

    /* Saved, opened mapped: the same lists. */
    OK(simdmf_model_save(m, path));
    simdmf_model* mapped = NULL;
    OK(simdmf_model_open(path, SIMDMF_OPEN_MMAP, &mapped));
    for (uint32_t u = 1; u < USERS; u += 7) check_top(mapped, u, NULL, NULL);

    /* Quantized (int8, fp32 kept, re-ranked in fp32): the same lists; fp16 predictions close. */
    OK(simdmf_model_quantize(mapped, SIMDMF_TABLE_INT8, 1));
    OK(simdmf_model_set_rerank(mapped, 8));
    for (uint32_t u = 2; u < USERS; u += 7) check_top(mapped, u, NULL, NULL);
    OK(simdmf_model_quantize(m, SIMDMF_TABLE_FP16, 0));
    int table = -1, has_fp32 = -1;
    OK(simdmf_model_table(m, &table, &has_fp32));
    EXPECT(table == SIMDMF_TABLE_FP16 && has_fp32 == 0);
    OK(simdmf_model_predict_row(m, 9, row));
    for (uint32_t i = 0; i < ITEMS; ++i) EXPECT(fabs(row[i] - score(9, i)) < 5e-3);

    check_training_calls(serving_only, dir);

    /* Levels the build leaves out (meson option simd_levels; passed as their simdmf_simd values after
     * the directory): forcing one says so, and the level in use stays one that is compiled in. */
    for (int a = 3; a < argc; ++a) {
        const int absent = atoi(argv[a]);
        int before = -1;
        OK(simdmf_simd_level(&before, NULL));
        EXPECT(simdmf_set_simd_level(absent) == SIMDMF_ERR_UNSUPPORTED);
        EXPECT(strstr(simdmf_last_error(), "not compiled into this build") != NULL);
        int after = -1;
        OK(simdmf_simd_level(&after, NULL));
        EXPECT(after == before && after != absent);
    }

    simdmf_scratch_free(s);
    simdmf_dataset_free(ex);
    simdmf_model_free(mapped);
    simdmf_model_free(m);
    remove(path);
    int level = -1;
    const char* name = NULL;
    OK(simdmf_simd_level(&level, &name));
    printf("test_serving (%s build, %s): %s\n", serving_only ? "serving-only" : "full", name,
           failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
