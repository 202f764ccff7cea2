/* End-to-end test of the C ABI through the shared library, in plain C99. Prints one summary line
 * "N passed, N failed" and exits non-zero when anything failed. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simdmf/simdmf.h"

static int g_pass = 0, g_fail = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            ++g_pass;                                                                 \
        } else {                                                                      \
            ++g_fail;                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
                    __LINE__, #cond, simdmf_last_error());                            \
        }                                                                             \
    } while (0)

#define CHECK_STATUS(call, expected)                                                            \
    do {                                                                                        \
        simdmf_status st_ = (call);                                                             \
        if (st_ == (expected)) {                                                                \
            ++g_pass;                                                                           \
        } else {                                                                                \
            ++g_fail;                                                                           \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (last error: %s)\n",      \
                    __FILE__, __LINE__, #call, (int)st_, simdmf_status_string(st_),             \
                    (int)(expected), simdmf_last_error());                                      \
        }                                                                                       \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, SIMDMF_OK)

#define ROWS 5
#define COLS 10

static const float RATINGS[ROWS * COLS] = {
    0, 0, 0, 0, 3, 4, 1, 2, 0, 0,
    0, 0, 0, 0, 5, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 4, 0, 0, 0, 3,
    0, 0, 0, 0, 0, 0, 0, 4, 2, 0,
    0, 0, 1, 0, 2, 0, 0, 0, 0, 2,
};

static const float LABELS[ROWS * COLS] = {
    1, 1, 0, 0, 0, 1, 0, 0, -1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, -1, 0, 0, -1, 0, 0, 0, 0, -1,
    0, 0, 0, -1, 1, -1, 0, 0, -1, -1,
    0, 0, -1, 0, 0, 0, 0, 0, 0, 0,
};

static char g_tmpdir[256];

static void tmp_path(char* buf, size_t size, const char* name) {
    snprintf(buf, size, "%s/%s", g_tmpdir, name);
}

static int write_file(const char* path, const char* text) {
    FILE* f = fopen(path, "wb");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

/* ------------------------------------------------------------------------------------------------ */

static void test_version_and_status(void) {
    int s;
    const char* name = NULL;
    int level = -1;

    CHECK(simdmf_version_number() == SIMDMF_VERSION_NUMBER);
    CHECK(simdmf_version_string() != NULL);
    CHECK(strcmp(simdmf_version_string(), SIMDMF_VERSION_STRING) == 0);
    for (s = SIMDMF_OK; s <= SIMDMF_ERR_INTERNAL; ++s) {
        const char* str = simdmf_status_string((simdmf_status)s);
        CHECK(str != NULL && str[0] != '\0' && strcmp(str, "unknown status") != 0);
    }
    CHECK(strcmp(simdmf_status_string((simdmf_status)999), "unknown status") == 0);
    CHECK(strcmp(simdmf_status_string((simdmf_status)-1), "unknown status") == 0);
    CHECK(strcmp(simdmf_status_string(SIMDMF_OK), "ok") == 0);

    CHECK_OK(simdmf_simd_level(&level, &name));
    CHECK(level >= SIMDMF_SIMD_SCALAR && level <= SIMDMF_SIMD_NEON);
    CHECK(name != NULL && name[0] != '\0');
    CHECK_OK(simdmf_simd_level(NULL, NULL));
    /* Scalar is always available; forcing it and going back must work. */
    CHECK_OK(simdmf_set_simd_level(SIMDMF_SIMD_SCALAR));
    {
        int now = -1;
        CHECK_OK(simdmf_simd_level(&now, NULL));
        CHECK(now == SIMDMF_SIMD_SCALAR);
    }
    CHECK_OK(simdmf_set_simd_level(level));
    CHECK_STATUS(simdmf_set_simd_level(77), SIMDMF_ERR_UNSUPPORTED);
}

static void test_datasets(void) {
    simdmf_dataset* ds = NULL;
    size_t n = 0;
    uint32_t nu = 0, ni = 0;
    uint32_t users[3] = {0, 2, 1}, items[3] = {1, 0, 3};
    float values[3] = {1.5f, -2.0f, 3.0f};
    uint32_t gu[3], gi[3];
    float gv[3];

    CHECK_OK(simdmf_dataset_from_triples(users, items, values, 3, 0, 0, &ds));
    CHECK(ds != NULL);
    CHECK_OK(simdmf_dataset_shape(ds, &n, &nu, &ni));
    CHECK(n == 3 && nu == 3 && ni == 4);
    CHECK_OK(simdmf_dataset_shape(ds, NULL, NULL, NULL));
    CHECK_OK(simdmf_dataset_get(ds, 0, 3, gu, gi, gv));
    CHECK(memcmp(gu, users, sizeof users) == 0 && memcmp(gi, items, sizeof items) == 0 &&
          memcmp(gv, values, sizeof values) == 0);
    CHECK_OK(simdmf_dataset_get(ds, 1, 2, NULL, gi, NULL));
    CHECK(gi[0] == 0 && gi[1] == 3);
    CHECK_OK(simdmf_dataset_get(ds, 3, 0, NULL, NULL, NULL));
    CHECK_STATUS(simdmf_dataset_get(ds, 2, 2, gu, gi, gv), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_dataset_get(ds, (size_t)-1, 2, gu, gi, gv), SIMDMF_ERR_OUT_OF_RANGE);
    simdmf_dataset_free(ds);

    /* explicit dimensions */
    ds = NULL;
    CHECK_OK(simdmf_dataset_from_triples(users, items, values, 3, 10, 20, &ds));
    CHECK_OK(simdmf_dataset_shape(ds, &n, &nu, &ni));
    CHECK(n == 3 && nu == 10 && ni == 20);
    simdmf_dataset_free(ds);

    /* index beyond the given dimensions: out handle set to NULL */
    ds = (simdmf_dataset*)&n; /* garbage that must be overwritten */
    CHECK_STATUS(simdmf_dataset_from_triples(users, items, values, 3, 2, 0, &ds), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(ds == NULL);
    CHECK(simdmf_last_error()[0] != '\0');

    /* null arrays with n > 0; empty data set allowed */
    CHECK_STATUS(simdmf_dataset_from_triples(NULL, items, values, 3, 0, 0, &ds), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(simdmf_last_error(), "users") != NULL);
    CHECK_STATUS(simdmf_dataset_from_triples(users, items, values, 3, 0, 0, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_OK(simdmf_dataset_from_triples(NULL, NULL, NULL, 0, 0, 0, &ds));
    CHECK_OK(simdmf_dataset_shape(ds, &n, &nu, &ni));
    CHECK(n == 0);
    simdmf_dataset_free(ds);

    /* dense */
    ds = NULL;
    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &ds));
    CHECK_OK(simdmf_dataset_shape(ds, &n, &nu, &ni));
    CHECK(n == 13 && nu == ROWS && ni == COLS);
    {
        size_t k;
        uint32_t du[13], di[13];
        float dv[13];
        int all_match = 1;
        CHECK_OK(simdmf_dataset_get(ds, 0, 13, du, di, dv));
        for (k = 0; k < 13; ++k)
            if (RATINGS[du[k] * COLS + di[k]] != dv[k] || dv[k] == 0.0f) all_match = 0;
        CHECK(all_match);
    }
    simdmf_dataset_free(ds);

    {
        float bad[4] = {1, 0, INFINITY, 2};
        float with_nan[4] = {1, NAN, 0, 2};
        ds = NULL;
        CHECK_STATUS(simdmf_dataset_from_dense(bad, 2, 2, &ds), SIMDMF_ERR_INVALID_DATA);
        CHECK(ds == NULL);
        CHECK_OK(simdmf_dataset_from_dense(with_nan, 2, 2, &ds)); /* NaN marks missing */
        CHECK_OK(simdmf_dataset_shape(ds, &n, NULL, NULL));
        CHECK(n == 2);
        simdmf_dataset_free(ds);
        CHECK_STATUS(simdmf_dataset_from_dense(NULL, 2, 2, &ds), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(simdmf_dataset_from_dense(bad, 0, 2, &ds), SIMDMF_ERR_INVALID_ARGUMENT);
    }

    CHECK_STATUS(simdmf_dataset_shape(NULL, &n, NULL, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
}

static void test_split(void) {
    simdmf_dataset *ds = NULL, *tr = NULL, *te = NULL;
    size_t n_all = 0, n_tr = 0, n_te = 0;
    uint32_t nu = 0, ni = 0;
    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &ds));
    CHECK_OK(simdmf_dataset_split(ds, 0.2, 7, &tr, &te));
    CHECK(tr != NULL && te != NULL);
    simdmf_dataset_shape(ds, &n_all, NULL, NULL);
    simdmf_dataset_shape(tr, &n_tr, &nu, &ni);
    simdmf_dataset_shape(te, &n_te, NULL, NULL);
    CHECK(n_tr + n_te == n_all);
    CHECK(n_te == 3);
    CHECK(nu == ROWS && ni == COLS);
    simdmf_dataset_free(tr);
    simdmf_dataset_free(te);
    tr = te = NULL;
    CHECK_STATUS(simdmf_dataset_split(ds, 0.0, 7, &tr, &te), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_dataset_split(ds, 1.0, 7, &tr, &te), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_dataset_split(ds, NAN, 7, &tr, &te), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(tr == NULL && te == NULL);
    simdmf_dataset_free(ds);
}

static void test_options(void) {
    simdmf_trainer* t = NULL;
    double v = 0;
    const char* s = NULL;
    const char* s2 = NULL;

    CHECK_OK(simdmf_trainer_create(&t));
    CHECK(t != NULL);
    CHECK_OK(simdmf_trainer_get(t, "k", &v));
    CHECK(v == 32);
    CHECK_OK(simdmf_trainer_get(t, "l2", &v));
    CHECK(v == 0.05);
    CHECK_OK(simdmf_trainer_get(t, "seed", &v));
    CHECK(v == 42);
    CHECK_OK(simdmf_trainer_set(t, "k", 8));
    CHECK_OK(simdmf_trainer_get(t, "k", &v));
    CHECK(v == 8);

    CHECK_STATUS(simdmf_trainer_set(t, "k", 0), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(simdmf_last_error()[0] != '\0');
    CHECK_STATUS(simdmf_trainer_set(t, "k", 65537), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "k", 2.5), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "lr", -0.1), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "lr", 0.0), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "l2", NAN), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "k", NAN), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_OK(simdmf_trainer_get(t, "k", &v));
    CHECK(v == 8); /* unchanged by the failures */
    CHECK_STATUS(simdmf_trainer_set(t, "no_such_key", 1), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK(strlen(simdmf_last_error()) > 0);
    CHECK_STATUS(simdmf_trainer_set(t, "loss", 1), SIMDMF_ERR_UNKNOWN_OPTION);       /* string key */
    CHECK_STATUS(simdmf_trainer_set_string(t, "k", "3"), SIMDMF_ERR_UNKNOWN_OPTION); /* numeric key */
    CHECK_STATUS(simdmf_trainer_get(t, "loss", &v), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_get_string(t, "k", &s), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_get(t, "bogus", &v), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_set(t, NULL, 1), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(simdmf_last_error(), "key") != NULL);
    CHECK_STATUS(simdmf_trainer_set(NULL, "k", 1), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_get(t, "k", NULL), SIMDMF_ERR_INVALID_ARGUMENT);

    CHECK_OK(simdmf_trainer_get_string(t, "loss", &s));
    CHECK(s != NULL && strcmp(s, "squared") == 0);
    CHECK_OK(simdmf_trainer_get_string(t, "solver", &s2));
    CHECK(s2 != NULL && strcmp(s2, "sgd") == 0);
    CHECK(strcmp(s, "squared") == 0); /* the first pointer is still valid */
    CHECK_OK(simdmf_trainer_set_string(t, "loss", "logistic"));
    CHECK_OK(simdmf_trainer_get_string(t, "loss", &s));
    CHECK(strcmp(s, "logistic") == 0);
    CHECK_STATUS(simdmf_trainer_set_string(t, "loss", "hinge"), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set_string(t, "loss", NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_OK(simdmf_trainer_get_string(t, "loss", &s));
    CHECK(strcmp(s, "logistic") == 0);

    {
        double lrs[3] = {0.1, 0.05, 0.01};
        CHECK_OK(simdmf_trainer_set_array(t, "lr_list", lrs, 3));
        CHECK_STATUS(simdmf_trainer_set_array(t, "lr_list", NULL, 3), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(simdmf_trainer_set_array(t, "k", lrs, 3), SIMDMF_ERR_UNKNOWN_OPTION);
        CHECK_OK(simdmf_trainer_set_string(t, "schedule", "list"));
    }

    {
        size_t h = 99;
        simdmf_epoch_info info;
        CHECK_OK(simdmf_trainer_history_size(t, &h));
        CHECK(h == 0);
        CHECK_STATUS(simdmf_trainer_history_get(t, 0, &info), SIMDMF_ERR_OUT_OF_RANGE);
    }
    simdmf_trainer_free(t);

    CHECK_STATUS(simdmf_trainer_create(NULL), SIMDMF_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------------------------------ */

static simdmf_model* train_mf(simdmf_dataset** data_out) {
    simdmf_dataset* ds = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model* m = NULL;
    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &ds));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 3));
    CHECK_OK(simdmf_trainer_set(t, "biases", 0));
    CHECK_OK(simdmf_trainer_set(t, "l2", 0.001));
    CHECK_OK(simdmf_trainer_set(t, "init_std", 0.5));
    CHECK_OK(simdmf_trainer_set(t, "lr", 0.05));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 3000));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &m));
    {
        size_t h = 0;
        CHECK_OK(simdmf_trainer_history_size(t, &h));
        CHECK(h >= 1 && h <= 3000);
    }
    simdmf_trainer_free(t);
    *data_out = ds;
    return m;
}

/* The option registry: enumeration, types, bounds with open/closed ends, static and effective defaults,
 * allowed values, and a struct_size smaller than the library's. */
static void test_option_registry(void) {
    size_t n = 0, i = 0, idx = 0, cnt = 0, seen_tune = 0, seen_string = 0;
    simdmf_option_info info;
    simdmf_trainer* t = NULL;
    const char* s = NULL;
    double v = 0, arr[8];

    CHECK_OK(simdmf_option_count(&n));
    CHECK(n > 20);
    for (i = 0; i < n; ++i) {
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        CHECK_OK(simdmf_option_info_get(i, &info));
        CHECK(info.name != NULL && info.name[0] != '\0');
        CHECK(info.group != NULL && info.group[0] != '\0');
        CHECK(info.doc != NULL && info.doc[0] != '\0');
        CHECK(info.default_text != NULL && info.default_text[0] != '\0');
        CHECK(simdmf_option_find(info.name, &idx) == SIMDMF_OK && idx == i);
        if (strncmp(info.name, "tune_", 5) == 0) {
            ++seen_tune;
            CHECK(strcmp(info.group, "tune") == 0);
        }
        if (info.type == SIMDMF_OPTION_STRING) {
            ++seen_string;
            CHECK(info.allowed_count >= 1);
            CHECK_OK(simdmf_option_allowed(i, 0, &s));
            CHECK(s != NULL);
            CHECK_STATUS(simdmf_option_allowed(i, info.allowed_count, &s), SIMDMF_ERR_OUT_OF_RANGE);
        } else {
            CHECK(info.allowed_count == 0);
            CHECK_STATUS(simdmf_option_allowed(i, 0, &s), SIMDMF_ERR_INVALID_ARGUMENT);
        }
        /* A numeric static default lies within its own bounds. */
        if (info.type == SIMDMF_OPTION_INTEGER || info.type == SIMDMF_OPTION_REAL) {
            CHECK(info.lower_open ? info.default_value > info.lower : info.default_value >= info.lower);
            CHECK(info.upper_open ? info.default_value < info.upper : info.default_value <= info.upper);
        }
    }
    CHECK(seen_tune >= 9);
    CHECK(seen_string >= 4);
    CHECK_STATUS(simdmf_option_info_get(n, &info), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_option_find("no_such_key", &idx), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_option_count(NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_option_info_get(0, NULL), SIMDMF_ERR_INVALID_ARGUMENT);

    /* lr: real, (0, 10], default depends on loss and solver. */
    CHECK_OK(simdmf_option_find("lr", &idx));
    info.struct_size = sizeof info;
    CHECK_OK(simdmf_option_info_get(idx, &info));
    CHECK(strcmp(info.name, "lr") == 0);
    CHECK(info.type == SIMDMF_OPTION_REAL);
    CHECK(info.lower == 0 && info.lower_open == 1);
    CHECK(info.upper == 10 && info.upper_open == 0);
    CHECK(info.default_value == 0.01);
    CHECK(info.has_conditional_default == 1);
    CHECK(strstr(info.default_text, "0.05 if loss = logistic") != NULL);
    /* k: integer, [1, 65536], default 32. */
    CHECK_OK(simdmf_option_find("k", &idx));
    CHECK_OK(simdmf_option_info_get(idx, &info));
    CHECK(info.type == SIMDMF_OPTION_INTEGER && info.lower == 1 && info.upper == 65536);
    CHECK(info.lower_open == 0 && info.upper_open == 0 && info.default_value == 32);
    CHECK(info.has_conditional_default == 0);
    /* tune_valid_fraction: open at both ends. */
    CHECK_OK(simdmf_option_find("tune_valid_fraction", &idx));
    CHECK_OK(simdmf_option_info_get(idx, &info));
    CHECK(info.lower_open == 1 && info.upper_open == 1 && info.default_value == 0.1);
    /* loss: string with its allowed values. */
    CHECK_OK(simdmf_option_find("loss", &idx));
    CHECK_OK(simdmf_option_info_get(idx, &info));
    CHECK(info.type == SIMDMF_OPTION_STRING && strcmp(info.default_string, "squared") == 0);
    CHECK(isnan(info.default_value));
    CHECK_OK(simdmf_option_allowed(idx, 1, &s));
    CHECK(strcmp(s, "logistic") == 0);
    /* tune_k: integer array; its static default. */
    CHECK_OK(simdmf_option_find("tune_k", &idx));
    CHECK_OK(simdmf_option_info_get(idx, &info));
    CHECK(info.type == SIMDMF_OPTION_ARRAY && info.element_type == SIMDMF_OPTION_INTEGER);
    CHECK(info.default_count == 4);
    CHECK_OK(simdmf_option_default_array(idx, NULL, 0, &cnt));
    CHECK(cnt == 4);
    CHECK_OK(simdmf_option_default_array(idx, arr, 8, &cnt));
    CHECK(cnt == 4 && arr[0] == 64 && arr[3] == 512);
    CHECK_STATUS(simdmf_option_default_array(0, arr, 8, &cnt), SIMDMF_ERR_INVALID_ARGUMENT); /* not an array */

    /* A caller compiled against an older, smaller struct gets only the fields that fit. */
    memset(&info, 0xAB, sizeof info);
    info.struct_size = offsetof(simdmf_option_info, allowed_count) + sizeof(size_t);
    CHECK_OK(simdmf_option_info_get(idx, &info));
    CHECK(info.struct_size == offsetof(simdmf_option_info, allowed_count) + sizeof(size_t));
    info.struct_size = sizeof(size_t);
    CHECK_STATUS(simdmf_option_info_get(idx, &info), SIMDMF_ERR_INVALID_ARGUMENT);

    /* Defaults in effect follow the trainer's other options. */
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_default(t, "lr", &v));
    CHECK(v == 0.01);
    CHECK_OK(simdmf_trainer_set_string(t, "loss", "logistic"));
    CHECK_OK(simdmf_trainer_default(t, "lr", &v));
    CHECK(v == 0.05);
    CHECK_OK(simdmf_trainer_default_array(t, "tune_lr", arr, 8, &cnt));
    CHECK(cnt == 3 && arr[0] == 0.02 && arr[2] == 0.1);
    CHECK_OK(simdmf_trainer_set_string(t, "solver", "gd"));
    CHECK_OK(simdmf_trainer_set(t, "lr", 0.3));
    CHECK_OK(simdmf_trainer_default(t, "lr", &v));
    CHECK(v == 0.5); /* the default, not the value set */
    CHECK_OK(simdmf_trainer_get(t, "lr", &v));
    CHECK(v == 0.3);
    CHECK_OK(simdmf_trainer_default(t, "epochs", &v));
    CHECK(v == 500);
    CHECK_OK(simdmf_trainer_default_string(t, "tune_method", &s));
    CHECK(strcmp(s, "grid") == 0);
    CHECK_STATUS(simdmf_trainer_default(t, "loss", &v), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_default_string(t, "k", &s), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_default_array(t, "nope", NULL, 0, &cnt), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_default(NULL, "lr", &v), SIMDMF_ERR_INVALID_ARGUMENT);
    simdmf_trainer_free(t);
}

static void test_mf(void) {
    simdmf_dataset* ds = NULL;
    simdmf_model* m = train_mf(&ds);
    int kind = 0, biases = -1;
    uint32_t k = 0, nu = 0, ni = 0;
    size_t r, c;
    float all[ROWS * COLS], row[COLS], p;
    int within = 1, consistent = 1;

    CHECK(m != NULL);
    if (!m) {
        simdmf_dataset_free(ds);
        return;
    }
    CHECK_OK(simdmf_model_shape(m, &kind, &k, &nu, &ni, &biases));
    CHECK(kind == SIMDMF_MODEL_MF && k == 3 && nu == ROWS && ni == COLS && biases == 0);
    CHECK_OK(simdmf_model_shape(m, NULL, NULL, NULL, NULL, NULL));
    {
        int loss = 0;
        const char* name = NULL;
        CHECK_OK(simdmf_model_loss(m, &loss));
        CHECK(loss == SIMDMF_LOSS_SQUARED);
        CHECK_OK(simdmf_model_name(m, &name));
        CHECK(name && strcmp(name, "mf") == 0);
        CHECK(simdmf_model_loss(m, NULL) == SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK(simdmf_model_name(NULL, &name) == SIMDMF_ERR_INVALID_ARGUMENT);
    }

    CHECK_OK(simdmf_model_predict_all(m, all));
    for (r = 0; r < ROWS; ++r)
        for (c = 0; c < COLS; ++c) {
            float want = RATINGS[r * COLS + c];
            if (want != 0.0f && fabsf(all[r * COLS + c] - want) > 0.1f) {
                within = 0;
                fprintf(stderr, "  MF (%u,%u): predicted %g, observed %g\n", (unsigned)r, (unsigned)c,
                        all[r * COLS + c], want);
            }
        }
    CHECK(within);

    /* predict / predict_row / predict_batch agree with predict_all */
    for (r = 0; r < ROWS; ++r) {
        CHECK_OK(simdmf_model_predict_row(m, (uint32_t)r, row));
        for (c = 0; c < COLS; ++c) {
            if (simdmf_model_predict(m, (uint32_t)r, (uint32_t)c, &p) != SIMDMF_OK) consistent = 0;
            if (fabsf(p - all[r * COLS + c]) > 1e-5f || fabsf(row[c] - all[r * COLS + c]) > 1e-5f)
                consistent = 0;
        }
    }
    CHECK(consistent);
    {
        uint32_t bu[4] = {0, 4, 2, 3}, bi[4] = {5, 9, 0, 7};
        float out[4] = {0, 0, 0, 0}, keep[4] = {-7, -7, -7, -7};
        int j, ok = 1;
        CHECK_OK(simdmf_model_predict_batch(m, bu, bi, 4, out));
        for (j = 0; j < 4; ++j)
            if (fabsf(out[j] - all[bu[j] * COLS + bi[j]]) > 1e-5f) ok = 0;
        CHECK(ok);
        bi[3] = COLS; /* out of range: nothing written */
        CHECK_STATUS(simdmf_model_predict_batch(m, bu, bi, 4, keep), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK(keep[0] == -7 && keep[1] == -7 && keep[2] == -7 && keep[3] == -7);
        CHECK_OK(simdmf_model_predict_batch(m, NULL, NULL, 0, NULL));
    }

    /* prediction range: the training values' [1, 5] by default; settable, saved; clamps predictions */
    {
        float lo = 0, hi = 0, q = 0;
        CHECK_OK(simdmf_model_prediction_range(m, &lo, &hi));
        CHECK(lo == 1.0f && hi == 5.0f);
        CHECK_OK(simdmf_model_prediction_range(m, NULL, NULL));
        CHECK_OK(simdmf_model_set_prediction_range(m, 2.5f, 3.0f));
        for (r = 0; r < ROWS; ++r)
            for (c = 0; c < COLS; ++c) {
                CHECK_OK(simdmf_model_predict(m, (uint32_t)r, (uint32_t)c, &q));
                if (q < 2.5f || q > 3.0f || (all[r * COLS + c] >= 2.5f && all[r * COLS + c] <= 3.0f && q != all[r * COLS + c]))
                    consistent = 0;
            }
        CHECK(consistent);
        CHECK_STATUS(simdmf_model_set_prediction_range(m, 3.0f, 2.0f), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(simdmf_model_set_prediction_range(m, NAN, 2.0f), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(simdmf_model_set_prediction_range(NULL, 1.0f, 2.0f), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_OK(simdmf_model_prediction_range(m, &lo, &hi));
        CHECK(lo == 2.5f && hi == 3.0f); /* a refused range changes nothing */
        CHECK_OK(simdmf_model_set_prediction_range(m, -INFINITY, INFINITY));
        CHECK_OK(simdmf_model_predict(m, 1, 4, &q));
        CHECK(fabsf(q - all[1 * COLS + 4]) <= 1e-5f);
        CHECK_OK(simdmf_model_set_prediction_range(m, 1.0f, 5.0f));
    }

    /* range errors leave outputs untouched */
    p = 123.0f;
    CHECK_STATUS(simdmf_model_predict(m, ROWS, 0, &p), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(p == 123.0f);
    CHECK(simdmf_last_error()[0] != '\0');
    CHECK_STATUS(simdmf_model_predict(m, 0, COLS, &p), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_model_predict_row(m, ROWS, row), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_model_predict(m, 0, 0, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_predict(NULL, 0, 0, &p), SIMDMF_ERR_INVALID_ARGUMENT);

    /* recommend */
    {
        uint32_t items[COLS];
        float scores[COLS];
        size_t n_out = 99, j;
        int seen = 0, sorted = 1, matches = 1;
        CHECK_OK(simdmf_model_recommend(m, 0, COLS, ds, items, scores, &n_out));
        CHECK(n_out == COLS - 4); /* user 0 rated items 4,5,6,7 */
        for (j = 0; j < n_out; ++j) {
            if (RATINGS[0 * COLS + items[j]] != 0.0f) seen = 1;
            if (j > 0 && scores[j] > scores[j - 1]) sorted = 0;
            if (fabsf(scores[j] - all[items[j]]) > 1e-5f) matches = 0;
        }
        CHECK(!seen);
        CHECK(sorted);
        CHECK(matches);
        CHECK_OK(simdmf_model_recommend(m, 0, 3, NULL, items, NULL, &n_out));
        CHECK(n_out == 3);
        {
            /* without exclusion the best item overall comes first */
            size_t best = 0;
            for (j = 1; j < COLS; ++j)
                if (all[j] > all[best]) best = j;
            CHECK(items[0] == best);
        }
        CHECK_OK(simdmf_model_recommend(m, 1, 0, ds, NULL, NULL, &n_out));
        CHECK(n_out == 0);
        CHECK_STATUS(simdmf_model_recommend(m, ROWS, 3, ds, items, scores, &n_out), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK_STATUS(simdmf_model_recommend(m, 0, 3, ds, items, scores, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    }

    /* similarity and nearest */
    {
        float sim = 0, sims[COLS], f[3], bias = 5;
        uint32_t near[COLS];
        size_t n_out = 0, j;
        uint32_t a;
        int in_range = 1, no_self = 1, sorted = 1, side;
        for (side = SIMDMF_USERS; side <= SIMDMF_ITEMS; ++side) {
            uint32_t count = side == SIMDMF_USERS ? ROWS : COLS;
            for (a = 0; a < count; ++a) {
                uint32_t b;
                for (b = 0; b < count; ++b) {
                    if (simdmf_model_similarity(m, side, a, b, &sim) != SIMDMF_OK) in_range = 0;
                    if (!(sim >= -1.0001f && sim <= 1.0001f)) in_range = 0;
                }
                if (simdmf_model_nearest(m, side, a, count, near, sims, &n_out) != SIMDMF_OK) no_self = 0;
                if (n_out != count - 1) no_self = 0;
                for (j = 0; j < n_out; ++j) {
                    if (near[j] == a) no_self = 0;
                    if (j > 0 && sims[j] > sims[j - 1]) sorted = 0;
                }
            }
        }
        CHECK(in_range);
        CHECK(no_self);
        CHECK(sorted);
        CHECK_OK(simdmf_model_similarity(m, SIMDMF_ITEMS, 4, 4, &sim));
        CHECK(fabsf(sim - 1.0f) < 1e-4f);
        CHECK_STATUS(simdmf_model_similarity(m, 2, 0, 0, &sim), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(simdmf_model_similarity(m, SIMDMF_USERS, 0, ROWS, &sim), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK_STATUS(simdmf_model_nearest(m, -1, 0, 2, near, sims, &n_out), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_OK(simdmf_model_nearest(m, SIMDMF_USERS, 0, 2, near, NULL, &n_out));
        CHECK(n_out == 2);

        CHECK_OK(simdmf_model_factors(m, SIMDMF_USERS, 1, f, &bias));
        CHECK(bias == 0.0f); /* no biases */
        CHECK_OK(simdmf_model_factors(m, SIMDMF_ITEMS, 9, f, NULL));
        CHECK_STATUS(simdmf_model_factors(m, SIMDMF_ITEMS, COLS, f, NULL), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK_STATUS(simdmf_model_factors(m, 7, 0, f, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    }

    /* id maps: none here, so raw id == index */
    {
        uint32_t idx = 99;
        int64_t raw = -5;
        CHECK_OK(simdmf_model_index(m, SIMDMF_USERS, 3, &idx));
        CHECK(idx == 3);
        CHECK_OK(simdmf_model_raw_id(m, SIMDMF_ITEMS, 7, &raw));
        CHECK(raw == 7);
        CHECK_STATUS(simdmf_model_index(m, SIMDMF_USERS, ROWS, &idx), SIMDMF_ERR_NOT_FOUND);
        CHECK_STATUS(simdmf_model_index(m, SIMDMF_ITEMS, -1, &idx), SIMDMF_ERR_NOT_FOUND);
        CHECK_STATUS(simdmf_model_raw_id(m, SIMDMF_ITEMS, COLS, &raw), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK_STATUS(simdmf_model_index(m, 3, 0, &idx), SIMDMF_ERR_INVALID_ARGUMENT);
    }

    /* save / load round trip */
    {
        char path[512], bad[512];
        simdmf_model* m2 = NULL;
        float all2[ROWS * COLS];
        int kind2 = 0, biases2 = -1;
        uint32_t k2 = 0, nu2 = 0, ni2 = 0;
        tmp_path(path, sizeof path, "model.smf");
        CHECK_OK(simdmf_model_save(m, path));
        CHECK_OK(simdmf_model_load(path, &m2));
        CHECK(m2 != NULL);
        if (m2) {
            CHECK_OK(simdmf_model_shape(m2, &kind2, &k2, &nu2, &ni2, &biases2));
            CHECK(kind2 == kind && k2 == k && nu2 == nu && ni2 == ni && biases2 == biases);
            CHECK_OK(simdmf_model_predict_all(m2, all2));
            CHECK(memcmp(all, all2, sizeof all) == 0);
        }
        simdmf_model_free(m2);
        /* opened memory-mapped (with and without checksum verification): the same predictions, bit
         * for bit; the mapping lives until the model is freed, past the file's removal */
        {
            const uint32_t flags[3] = {SIMDMF_OPEN_MMAP, SIMDMF_OPEN_MMAP | SIMDMF_OPEN_NO_VERIFY, SIMDMF_OPEN_NO_VERIFY};
            int f;
            for (f = 0; f < 3; ++f) {
                simdmf_model* mm = NULL;
                uint32_t top[3];
                size_t got = 0;
                CHECK_OK(simdmf_model_open(path, flags[f], &mm));
                CHECK(mm != NULL);
                if (!mm) continue;
                if (f == 0) remove(path);
                CHECK_OK(simdmf_model_predict_all(mm, all2));
                CHECK(memcmp(all, all2, sizeof all) == 0);
                CHECK_OK(simdmf_model_recommend(mm, 0, 3, NULL, top, NULL, &got));
                CHECK(got == 3);
                simdmf_model_free(mm);
                if (f == 0) CHECK_OK(simdmf_model_save(m, path));
            }
            m2 = (simdmf_model*)&k;
            CHECK_STATUS(simdmf_model_open(path, 4u, &m2), SIMDMF_ERR_INVALID_ARGUMENT);
            CHECK(m2 == NULL);
            CHECK_STATUS(simdmf_model_open(NULL, SIMDMF_OPEN_MMAP, &m2), SIMDMF_ERR_INVALID_ARGUMENT);
        }
        remove(path);
        /* quantized to int8 without the fp32 tables: predictions close to the float model's, saved and
         * memory-mapped bit for bit; factor calls and another quantization need the fp32 tables */
        {
            simdmf_model* mq = NULL;
            simdmf_model* mm = NULL;
            int table = -1, has = -1;
            size_t j;
            float fr[256];
            CHECK_OK(simdmf_model_save(m, path));
            CHECK_OK(simdmf_model_load(path, &mq));
            CHECK_OK(simdmf_model_table(mq, &table, &has));
            CHECK(table == SIMDMF_TABLE_FP32 && has == 1);
            CHECK_STATUS(simdmf_model_quantize(mq, 7, 0), SIMDMF_ERR_INVALID_ARGUMENT);
            CHECK_STATUS(simdmf_model_quantize(NULL, SIMDMF_TABLE_INT8, 0), SIMDMF_ERR_INVALID_ARGUMENT);
            CHECK_OK(simdmf_model_quantize(mq, SIMDMF_TABLE_INT8, 0));
            CHECK_OK(simdmf_model_table(mq, &table, &has));
            CHECK(table == SIMDMF_TABLE_INT8 && has == 0);
            CHECK_OK(simdmf_model_predict_all(mq, all2));
            for (j = 0; j < sizeof all / sizeof all[0]; ++j) CHECK(fabsf(all[j] - all2[j]) < 0.25f);
            CHECK_STATUS(simdmf_model_factors(mq, SIMDMF_ITEMS, 0, fr, NULL), SIMDMF_ERR_UNSUPPORTED);
            CHECK_STATUS(simdmf_model_quantize(mq, SIMDMF_TABLE_FP16, 1), SIMDMF_ERR_UNSUPPORTED);
            CHECK_OK(simdmf_model_save(mq, path));
            CHECK_OK(simdmf_model_open(path, SIMDMF_OPEN_MMAP, &mm));
            if (mm) {
                float all3[sizeof all / sizeof all[0]];
                CHECK_OK(simdmf_model_table(mm, &table, NULL));
                CHECK(table == SIMDMF_TABLE_INT8);
                CHECK_OK(simdmf_model_predict_all(mm, all3));
                CHECK(memcmp(all2, all3, sizeof all3) == 0);
            }
            simdmf_model_free(mm);
            simdmf_model_free(mq);
            remove(path);
        }

        m2 = (simdmf_model*)&k;
        tmp_path(bad, sizeof bad, "does-not-exist.smf");
        CHECK_STATUS(simdmf_model_load(bad, &m2), SIMDMF_ERR_IO);
        CHECK(m2 == NULL);
        CHECK(simdmf_last_error()[0] != '\0');

        tmp_path(bad, sizeof bad, "garbage.smf");
        CHECK(write_file(bad, "this is not a simdmf model file, just some text that goes on for a while\n"));
        CHECK_STATUS(simdmf_model_load(bad, &m2), SIMDMF_ERR_FORMAT);
        CHECK(m2 == NULL);
        remove(bad);

        tmp_path(bad, sizeof bad, "no-such-dir/model.smf");
        CHECK_STATUS(simdmf_model_save(m, bad), SIMDMF_ERR_IO);
        CHECK_STATUS(simdmf_model_save(m, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(simdmf_model_load(NULL, &m2), SIMDMF_ERR_INVALID_ARGUMENT);
    }

    /* fold-in: a new user who rated like user 0 gets user 0's observed items right */
    {
        uint32_t items[4] = {4, 5, 6, 7}, nu_before = 0, nu_after = 0, u = 0;
        float values[4] = {3, 4, 1, 2}, pred = 0, worst = 0;
        int j;
        CHECK_OK(simdmf_model_shape(m, NULL, NULL, &nu_before, NULL, NULL));
        CHECK_OK(simdmf_model_fold_in_user(m, items, values, 4, 0.001, 77, &u));
        CHECK(u == nu_before);
        CHECK_OK(simdmf_model_shape(m, NULL, NULL, &nu_after, NULL, NULL));
        CHECK(nu_after == nu_before + 1);
        for (j = 0; j < 4; ++j) {
            CHECK_OK(simdmf_model_predict(m, u, items[j], &pred));
            if (fabsf(pred - values[j]) > worst) worst = fabsf(pred - values[j]);
        }
        CHECK(worst < 0.5f);
        items[0] = COLS;
        CHECK_STATUS(simdmf_model_fold_in_user(m, items, values, 4, 0.001, 78, &u), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK_STATUS(simdmf_model_fold_in_user(m, items, values, 4, 0.001, 78, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK_OK(simdmf_model_shape(m, NULL, NULL, &nu_after, NULL, NULL));
        CHECK(nu_after == nu_before + 1);
    }

    simdmf_model_free(m);
    simdmf_dataset_free(ds);
}

static void test_logistic(void) {
    simdmf_dataset* ds = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model* m = NULL;
    int kind = 0;
    size_t r, c;
    int ok = 1;

    CHECK_OK(simdmf_dataset_from_dense(LABELS, ROWS, COLS, &ds));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set_string(t, "loss", "logistic"));
    CHECK_OK(simdmf_trainer_set(t, "k", 3));
    CHECK_OK(simdmf_trainer_set(t, "l2", 0.001));
    CHECK_OK(simdmf_trainer_set(t, "init_std", 0.5));
    CHECK_OK(simdmf_trainer_set(t, "lr", 0.1));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 2000));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &m));
    CHECK(m != NULL);
    if (m) {
        const char* name = NULL;
        int loss = 0;
        CHECK_OK(simdmf_model_shape(m, &kind, NULL, NULL, NULL, NULL));
        CHECK(kind == SIMDMF_MODEL_LOGISTIC);
        CHECK_OK(simdmf_model_loss(m, &loss));
        CHECK(loss == SIMDMF_LOSS_LOGISTIC);
        CHECK_OK(simdmf_model_name(m, &name));
        CHECK(name && strcmp(name, "mf") == 0);
        for (r = 0; r < ROWS; ++r)
            for (c = 0; c < COLS; ++c) {
                float want = LABELS[r * COLS + c], p = -1;
                if (simdmf_model_predict(m, (uint32_t)r, (uint32_t)c, &p) != SIMDMF_OK) ok = 0;
                if (!(p > 0.0f && p < 1.0f)) ok = 0;
                if ((want == 1.0f && !(p > 0.9f)) || (want == -1.0f && !(p < 0.1f))) {
                    ok = 0;
                    fprintf(stderr, "  logistic (%u,%u): P=%g, label %g\n", (unsigned)r, (unsigned)c, p, want);
                }
            }
        CHECK(ok);
        {
            float lo = 0, hi = 0;
            CHECK_OK(simdmf_model_prediction_range(m, &lo, &hi));
            CHECK(isinf(lo) && lo < 0 && isinf(hi) && hi > 0);
            CHECK_STATUS(simdmf_model_set_prediction_range(m, 0.0f, 1.0f), SIMDMF_ERR_UNSUPPORTED);
        }
    }
    simdmf_model_free(m);

    /* the MF ratings are not +1/-1 labels */
    {
        simdmf_dataset* rd = NULL;
        CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &rd));
        m = (simdmf_model*)&kind;
        CHECK_STATUS(simdmf_trainer_fit(t, rd, NULL, &m), SIMDMF_ERR_INVALID_DATA);
        CHECK(m == NULL);
        simdmf_dataset_free(rd);
    }
    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
}

struct progress {
    unsigned calls;
    unsigned last_epoch;
    int in_order;
    int sizes_ok;
    unsigned stop_at;
};

static int on_epoch(const simdmf_epoch_info* info, void* user) {
    struct progress* pr = (struct progress*)user;
    ++pr->calls;
    if (info->struct_size != sizeof(simdmf_epoch_info)) pr->sizes_ok = 0;
    if (info->epoch != pr->last_epoch + 1) pr->in_order = 0;
    pr->last_epoch = info->epoch;
    return pr->stop_at != 0 && info->epoch >= pr->stop_at;
}

static void test_callback_and_history(void) {
    simdmf_dataset *ds = NULL, *tr = NULL, *va = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model* m = NULL;
    struct progress pr = {0, 0, 1, 1, 0};
    size_t h = 0, j;
    simdmf_epoch_info info;
    int order = 1;

    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &ds));
    CHECK_OK(simdmf_dataset_split(ds, 0.2, 3, &tr, &va));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 2));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 20));
    CHECK_OK(simdmf_trainer_set_callback(t, on_epoch, &pr));

    CHECK_OK(simdmf_trainer_fit(t, tr, va, &m));
    CHECK(m != NULL);
    CHECK(pr.calls == 20 && pr.in_order && pr.sizes_ok);
    CHECK_OK(simdmf_trainer_history_size(t, &h));
    CHECK(h == 20);
    for (j = 0; j < h; ++j) {
        CHECK_OK(simdmf_trainer_history_get(t, j, &info));
        if (info.epoch != j + 1 || info.max_epochs != 20 || info.struct_size != sizeof info) order = 0;
        if (!isfinite(info.train_loss) || !isfinite(info.valid_metric)) order = 0;
    }
    CHECK(order);
    CHECK_STATUS(simdmf_trainer_history_get(t, h, &info), SIMDMF_ERR_OUT_OF_RANGE);
    simdmf_model_free(m);

    /* without validation data the metric is NaN */
    m = NULL;
    pr.calls = pr.last_epoch = 0;
    CHECK_OK(simdmf_trainer_fit(t, tr, NULL, &m));
    CHECK_OK(simdmf_trainer_history_get(t, 0, &info));
    CHECK(isnan(info.valid_metric));
    simdmf_model_free(m);

    /* cancel after epoch 5: CANCELLED with a usable model */
    m = NULL;
    pr.calls = pr.last_epoch = 0;
    pr.stop_at = 5;
    CHECK_STATUS(simdmf_trainer_fit(t, tr, va, &m), SIMDMF_CANCELLED);
    CHECK(m != NULL);
    CHECK(pr.calls == 5);
    CHECK_OK(simdmf_trainer_history_size(t, &h));
    CHECK(h == 5);
    if (m) {
        float p = NAN;
        CHECK_OK(simdmf_model_predict(m, 0, 4, &p));
        CHECK(isfinite(p));
    }
    simdmf_model_free(m);

    /* clearing the callback */
    m = NULL;
    pr.calls = 0;
    CHECK_OK(simdmf_trainer_set_callback(t, NULL, NULL));
    CHECK_OK(simdmf_trainer_fit(t, tr, va, &m));
    CHECK(pr.calls == 0);
    simdmf_model_free(m);

    /* NaN data -> INVALID_DATA; empty train -> INVALID_DATA */
    {
        uint32_t u[2] = {0, 1}, i[2] = {1, 0};
        float v[2] = {1.0f, NAN};
        simdmf_dataset* nan_ds = NULL;
        simdmf_dataset* empty = NULL;
        CHECK_OK(simdmf_dataset_from_triples(u, i, v, 2, 0, 0, &nan_ds));
        m = (simdmf_model*)&h;
        CHECK_STATUS(simdmf_trainer_fit(t, nan_ds, NULL, &m), SIMDMF_ERR_INVALID_DATA);
        CHECK(m == NULL);
        CHECK(simdmf_last_error()[0] != '\0');
        CHECK_OK(simdmf_dataset_from_triples(NULL, NULL, NULL, 0, 3, 3, &empty));
        CHECK_STATUS(simdmf_trainer_fit(t, empty, NULL, &m), SIMDMF_ERR_INVALID_DATA);
        simdmf_dataset_free(nan_ds);
        simdmf_dataset_free(empty);
    }
    CHECK_STATUS(simdmf_trainer_fit(t, NULL, NULL, &m), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(simdmf_last_error(), "train") != NULL);
    CHECK_STATUS(simdmf_trainer_fit(t, tr, NULL, NULL), SIMDMF_ERR_INVALID_ARGUMENT);

    simdmf_trainer_free(t);
    simdmf_dataset_free(tr);
    simdmf_dataset_free(va);
    simdmf_dataset_free(ds);
}

static void test_determinism(void) {
    simdmf_dataset* ds = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model *a = NULL, *b = NULL;
    float pa[ROWS * COLS], pb[ROWS * COLS];
    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &ds));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 4));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 50));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &a));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &b));
    if (a && b) {
        CHECK_OK(simdmf_model_predict_all(a, pa));
        CHECK_OK(simdmf_model_predict_all(b, pb));
        CHECK(memcmp(pa, pb, sizeof pa) == 0);
    }
    simdmf_model_free(b);
    b = NULL;
    /* fit_take: the same model, and the data set gives up its ratings but keeps its shape */
    {
        size_t n = 99;
        uint32_t nu = 0, ni = 0;
        CHECK_OK(simdmf_trainer_fit_take(t, ds, NULL, &b));
        if (a && b) {
            CHECK_OK(simdmf_model_predict_all(b, pb));
            CHECK(memcmp(pa, pb, sizeof pa) == 0);
        }
        CHECK_OK(simdmf_dataset_shape(ds, &n, &nu, &ni));
        CHECK(n == 0 && nu == ROWS && ni == COLS);
        simdmf_model_free(b);
        b = NULL;
        CHECK_STATUS(simdmf_trainer_fit_take(t, ds, NULL, &b), SIMDMF_ERR_INVALID_DATA); /* now empty */
        CHECK(b == NULL);
        CHECK_STATUS(simdmf_trainer_fit_take(t, NULL, NULL, &b), SIMDMF_ERR_INVALID_ARGUMENT);
    }
    simdmf_model_free(a);
    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
}

/* ALS through the ABI: solver "als" and its option, the textbook matrix reproduced, the same model
 * for 1 and 2 threads, and fit_take leaves the ratings in place (ALS reads them). */
static void test_als(void) {
    simdmf_dataset* ds = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model *a = NULL, *b = NULL;
    float pa[ROWS * COLS], pb[ROWS * COLS];
    const char* s = NULL;
    double v = -1;
    int r;
    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &ds));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set_string(t, "solver", "als"));
    CHECK_OK(simdmf_trainer_get_string(t, "solver", &s));
    CHECK(s != NULL && strcmp(s, "als") == 0);
    CHECK_OK(simdmf_trainer_get(t, "epochs", &v));
    CHECK(v == 10);
    CHECK_OK(simdmf_trainer_get(t, "als_weighted_lambda", &v));
    CHECK(v == 1);
    CHECK_STATUS(simdmf_trainer_set(t, "als_weighted_lambda", 0.5), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set_string(t, "solver", "lbfgs"), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_OK(simdmf_trainer_set(t, "als_weighted_lambda", 0));
    CHECK_OK(simdmf_trainer_set(t, "k", 3));
    CHECK_OK(simdmf_trainer_set(t, "biases", 0));
    CHECK_OK(simdmf_trainer_set(t, "l2", 0.0001));
    CHECK_OK(simdmf_trainer_set(t, "init_std", 1));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 200));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &a));
    if (a) {
        double worst = 0;
        CHECK_OK(simdmf_model_predict_all(a, pa));
        for (r = 0; r < ROWS * COLS; ++r)
            if (RATINGS[r] != 0 && fabs(pa[r] - RATINGS[r]) > worst) worst = fabs(pa[r] - RATINGS[r]);
        CHECK(worst < 0.1);
    }
    CHECK_OK(simdmf_trainer_set(t, "threads", 2));
    CHECK_OK(simdmf_trainer_fit_take(t, ds, NULL, &b));
    if (a && b) {
        size_t n = 0;
        uint32_t nu = 0, ni = 0;
        CHECK_OK(simdmf_model_predict_all(b, pb));
        CHECK(memcmp(pa, pb, sizeof pa) == 0);
        CHECK_OK(simdmf_dataset_shape(ds, &n, &nu, &ni));
        CHECK(n == 13);
    }
    simdmf_model_free(a);
    simdmf_model_free(b);
    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
}

/* Implicit feedback through the ABI: a count file and the same events one a line train the same iALS
 * model (repeats summed); the model reports SIMDMF_LOSS_IMPLICIT, recommends within a user's block,
 * folds in a new user from events; a negative count and alpha < 0 are refused. */
static void test_implicit(void) {
    char counts[512], events[512], bad[512];
    simdmf_dataset *dc = NULL, *de = NULL, *db = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model *a = NULL, *b = NULL;
    float pa[36], pb[36];
    FILE* f;
    int u, i, j, loss = 0;
    tmp_path(counts, sizeof counts, "counts.txt");
    tmp_path(events, sizeof events, "events.txt");
    tmp_path(bad, sizeof bad, "bad_counts.txt");
    /* users 10..15 x items 20..25: users 10-12 use items 20-22, users 13-15 items 23-25 */
    f = fopen(counts, "w");
    CHECK(f != NULL);
    if (!f) return;
    for (u = 0; u < 6; ++u)
        for (i = 0; i < 6; ++i)
            if ((u < 3) == (i < 3)) fprintf(f, "%d %d %d\n", 10 + u, 20 + i, 1 + (u + i) % 2);
    fclose(f);
    f = fopen(events, "w");
    CHECK(f != NULL);
    if (!f) return;
    for (u = 0; u < 6; ++u)
        for (i = 0; i < 6; ++i)
            if ((u < 3) == (i < 3))
                for (j = 0; j < 1 + (u + i) % 2; ++j) fprintf(f, "%d %d\n", 10 + u, 20 + i);
    fclose(f);
    CHECK(write_file(bad, "1 2 3\n1 3 -2\n2 2 1\n"));
    CHECK_OK(simdmf_dataset_load(counts, SIMDMF_FORMAT_AUTO, &dc));
    CHECK_OK(simdmf_dataset_load(events, SIMDMF_FORMAT_AUTO, &de));
    CHECK_OK(simdmf_dataset_load(bad, SIMDMF_FORMAT_AUTO, &db));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set_string(t, "loss", "implicit"));
    CHECK_OK(simdmf_trainer_set_string(t, "solver", "als"));
    CHECK_OK(simdmf_trainer_set(t, "k", 2));
    CHECK_OK(simdmf_trainer_set(t, "alpha", 10));
    CHECK_OK(simdmf_trainer_set(t, "l2", 0.01));
    CHECK_STATUS(simdmf_trainer_set(t, "alpha", -1), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_OK(simdmf_trainer_fit(t, dc, NULL, &a));
    CHECK_OK(simdmf_trainer_fit(t, de, NULL, &b));
    CHECK_STATUS(simdmf_trainer_fit(t, db, NULL, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    {
        simdmf_model* m = NULL;
        CHECK_STATUS(simdmf_trainer_fit(t, db, NULL, &m), SIMDMF_ERR_INVALID_DATA);
        CHECK(strstr(simdmf_last_error(), "negative") != NULL);
        CHECK(m == NULL);
    }
    if (a && b) {
        uint32_t top[3], idx = 0, nu = 0;
        size_t n = 0;
        int64_t raw = 0;
        CHECK_OK(simdmf_model_loss(a, &loss));
        CHECK(loss == SIMDMF_LOSS_IMPLICIT);
        CHECK_OK(simdmf_model_predict_all(a, pa));
        CHECK_OK(simdmf_model_predict_all(b, pb));
        CHECK(memcmp(pa, pb, sizeof pa) == 0);
        /* user 13's top 3 items are 23..25 */
        CHECK_OK(simdmf_model_index(a, SIMDMF_USERS, 13, &idx));
        CHECK_OK(simdmf_model_recommend(a, idx, 3, NULL, top, NULL, &n));
        CHECK(n == 3);
        for (j = 0; j < 3 && n == 3; ++j) {
            CHECK_OK(simdmf_model_raw_id(a, SIMDMF_ITEMS, top[j], &raw));
            CHECK(raw >= 23 && raw <= 25);
        }
        {   /* a new user with events on items 20 and 21 (raw, 20 twice): its top 3 are 20..22 */
            uint32_t items[3];
            float values[3] = {1, 2, 1};
            CHECK_OK(simdmf_model_index(a, SIMDMF_ITEMS, 20, &items[0]));
            CHECK_OK(simdmf_model_index(a, SIMDMF_ITEMS, 21, &items[1]));
            items[2] = items[0];
            CHECK_OK(simdmf_model_fold_in_user(a, items, values, 3, 0.01, 99, &nu));
            CHECK(nu == 6);
            CHECK_OK(simdmf_model_recommend(a, nu, 3, NULL, top, NULL, &n));
            for (j = 0; j < 3 && n == 3; ++j) {
                CHECK_OK(simdmf_model_raw_id(a, SIMDMF_ITEMS, top[j], &raw));
                CHECK(raw >= 20 && raw <= 22);
            }
            values[1] = -1;
            CHECK_STATUS(simdmf_model_fold_in_user(a, items, values, 3, 0.01, 100, &nu), SIMDMF_ERR_INVALID_DATA);
        }
    }
    simdmf_model_free(a);
    simdmf_model_free(b);
    simdmf_trainer_free(t);
    simdmf_dataset_free(dc);
    simdmf_dataset_free(de);
    simdmf_dataset_free(db);
    remove(counts);
    remove(events);
    remove(bad);
}

static void test_load_dataset(void) {
    char path[512];
    simdmf_dataset* ds = NULL;
    size_t n = 0;
    uint32_t nu = 0, ni = 0;

    tmp_path(path, sizeof path, "ratings.txt");
    CHECK(write_file(path, "0 1 4\n2 0 3.5\n1 1 1\n"));
    CHECK_OK(simdmf_dataset_load(path, SIMDMF_FORMAT_LIBMF, &ds));
    CHECK_OK(simdmf_dataset_shape(ds, &n, &nu, &ni));
    CHECK(n == 3);
    simdmf_dataset_free(ds);
    ds = NULL;

    CHECK(write_file(path, "0 1 4\n2 zero 3.5\n"));
    CHECK_STATUS(simdmf_dataset_load(path, SIMDMF_FORMAT_LIBMF, &ds), SIMDMF_ERR_FORMAT);
    CHECK(ds == NULL);
    CHECK(simdmf_last_error()[0] != '\0');
    remove(path);

    tmp_path(path, sizeof path, "missing.txt");
    CHECK_STATUS(simdmf_dataset_load(path, SIMDMF_FORMAT_LIBMF, &ds), SIMDMF_ERR_IO);
    CHECK_STATUS(simdmf_dataset_load(path, 99, &ds), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_dataset_load(NULL, SIMDMF_FORMAT_AUTO, &ds), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(ds == NULL);
}

static void test_id_maps(void) {
    char path[512], mpath[512];
    simdmf_dataset *ds = NULL, *big = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model *m = NULL, *m2 = NULL;
    uint32_t nu = 0, ni = 0, idx = 99;
    int64_t raw = 0;
    int pass;

    /* u.data layout with raw ids: indices follow first appearance */
    tmp_path(path, sizeof path, "u.data");
    CHECK(write_file(path, "100\t7\t5\t881250949\n200\t9\t3\t881250950\n100\t9\t4\t881250951\n"
                           "300\t7\t1\t881250952\n"));
    CHECK_OK(simdmf_dataset_load(path, SIMDMF_FORMAT_MOVIELENS_DATA, &ds));
    remove(path);
    CHECK_OK(simdmf_dataset_shape(ds, NULL, &nu, &ni));
    CHECK(nu == 3 && ni == 2);
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 2));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 5));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &m));

    tmp_path(mpath, sizeof mpath, "mapped.smf");
    CHECK_OK(simdmf_model_save(m, mpath));
    CHECK_OK(simdmf_model_load(mpath, &m2));
    remove(mpath);
    for (pass = 0; pass < 2; ++pass) {
        const simdmf_model* mm = pass == 0 ? m : m2;
        if (!mm) continue;
        CHECK_OK(simdmf_model_index(mm, SIMDMF_USERS, 200, &idx));
        CHECK(idx == 1);
        CHECK_OK(simdmf_model_index(mm, SIMDMF_ITEMS, 9, &idx));
        CHECK(idx == 1);
        CHECK_OK(simdmf_model_raw_id(mm, SIMDMF_USERS, 2, &raw));
        CHECK(raw == 300);
        CHECK_OK(simdmf_model_raw_id(mm, SIMDMF_ITEMS, 0, &raw));
        CHECK(raw == 7);
        CHECK_STATUS(simdmf_model_index(mm, SIMDMF_USERS, 0, &idx), SIMDMF_ERR_NOT_FOUND);
        CHECK_STATUS(simdmf_model_index(mm, SIMDMF_ITEMS, 100, &idx), SIMDMF_ERR_NOT_FOUND);
        CHECK_STATUS(simdmf_model_raw_id(mm, SIMDMF_USERS, 3, &raw), SIMDMF_ERR_OUT_OF_RANGE);
    }

    /* validation data larger than the training data */
    {
        uint32_t u[1] = {5}, i[1] = {0};
        float v[1] = {3.0f};
        simdmf_model* mv = NULL;
        CHECK_OK(simdmf_dataset_from_triples(u, i, v, 1, 0, 0, &big));
        CHECK_STATUS(simdmf_trainer_fit(t, ds, big, &mv), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK(mv == NULL);
    }

    simdmf_model_free(m);
    simdmf_model_free(m2);
    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
    simdmf_dataset_free(big);
}

/* ------------------------------------------------------------------------------------------------ */
/* Evaluation, cross-validation, tuning                                                             */
/* ------------------------------------------------------------------------------------------------ */

static uint32_t g_rng = 12345u;
static double uniform01(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return (g_rng >> 8) / 16777216.0;
}

/* A planted rank-2 matrix, about `density` of it observed: ratings in [1, 5], or +1/-1 labels. */
static simdmf_dataset* synth(uint32_t nu, uint32_t ni, double density, int logistic, uint32_t seed) {
    double uf[64][2], vf[64][2];
    uint32_t users[64 * 64], items[64 * 64];
    float values[64 * 64];
    size_t n = 0;
    uint32_t u, i;
    simdmf_dataset* ds = NULL;
    g_rng = seed ? seed : 1u;
    for (u = 0; u < nu; ++u) uf[u][0] = 2 * uniform01() - 1, uf[u][1] = 2 * uniform01() - 1;
    for (i = 0; i < ni; ++i) vf[i][0] = 2 * uniform01() - 1, vf[i][1] = 2 * uniform01() - 1;
    for (u = 0; u < nu; ++u)
        for (i = 0; i < ni; ++i) {
            double dot = uf[u][0] * vf[i][0] + uf[u][1] * vf[i][1];
            double r = 3.0 + 2.0 * dot + 0.3 * (uniform01() - 0.5);
            if (uniform01() >= density) continue;
            users[n] = u;
            items[n] = i;
            if (logistic) values[n] = dot > 0 ? 1.0f : -1.0f;
            else values[n] = (float)(r < 1 ? 1 : r > 5 ? 5 : r);
            ++n;
        }
    CHECK_OK(simdmf_dataset_from_triples(users, items, values, n, nu, ni, &ds));
    return ds;
}

static size_t report_size(const simdmf_report* r) {
    size_t n = 0;
    CHECK_OK(simdmf_report_size(r, &n));
    return n;
}

static double report_value(const simdmf_report* r, const char* name) {
    double v = NAN;
    CHECK_OK(simdmf_report_find(r, name, &v));
    return v;
}

/* Whether entries [first, first + count) of r are named names[0..count). */
static int report_names(const simdmf_report* r, size_t first, const char* const* names, size_t count) {
    size_t j;
    for (j = 0; j < count; ++j) {
        const char* name = NULL;
        if (simdmf_report_get(r, first + j, &name, NULL) != SIMDMF_OK || strcmp(name, names[j]) != 0) {
            fprintf(stderr, "report entry %zu is '%s', expected '%s'\n", first + j, name ? name : "(none)", names[j]);
            return 0;
        }
    }
    return 1;
}

/* Issue 15's protocols through the ABI: split kinds, the ranking report with the popularity baseline,
 * notes on an undefined metric. */
static void test_ranking_protocol(void) {
    simdmf_dataset *ds = synth(30, 20, 0.6, 0, 12), *tr = NULL, *te = NULL, *pos = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model *m = NULL, *lm = NULL;
    simdmf_report *r = NULL, *r2 = NULL;
    size_t n_test = 0, n_all = 0, n_train = 0, notes = 99, j;
    uint32_t n_users = 0;
    const char* text = NULL;
    double hr = -1, hr2 = -2, cases = 0;
    const uint32_t pu[2] = {0, 1}, pi[2] = {1, 2};
    const float pv[2] = {1.0f, 1.0f};

    CHECK_OK(simdmf_dataset_shape(ds, &n_all, &n_users, NULL));
    CHECK_STATUS(simdmf_dataset_split_by(ds, SIMDMF_SPLIT_LEAVE_ONE_OUT_LATEST, 0, 1, &tr, &te),
                 SIMDMF_ERR_INVALID_ARGUMENT); /* no timestamps */
    CHECK(tr == NULL && te == NULL);
    CHECK_STATUS(simdmf_dataset_split_by(ds, 9u, 0.2, 1, &tr, &te), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_OK(simdmf_dataset_split_by(ds, SIMDMF_SPLIT_PER_USER_FRACTION, 0.2, 1, &tr, &te));
    CHECK_OK(simdmf_dataset_shape(tr, &n_train, NULL, NULL));
    CHECK_OK(simdmf_dataset_shape(te, &n_test, NULL, NULL));
    CHECK(n_train + n_test == n_all && n_test > 0);
    simdmf_dataset_free(tr);
    simdmf_dataset_free(te);
    CHECK_OK(simdmf_dataset_split_by(ds, SIMDMF_SPLIT_LEAVE_ONE_OUT_RANDOM, 0, 1, &tr, &te));
    CHECK_OK(simdmf_dataset_shape(te, &n_test, NULL, NULL));
    CHECK(n_test == n_users);

    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 4));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 10));
    CHECK_OK(simdmf_trainer_fit(t, tr, NULL, &m));
    CHECK_STATUS(simdmf_model_evaluate_ranking(m, te, NULL, 10, 0.0, 5, 1, 0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_evaluate_ranking(m, te, tr, 0, 0.0, 5, 1, 0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_OK(simdmf_model_evaluate_ranking(m, te, tr, 10, 0.0, 5, 1, 0, &r));
    CHECK_OK(simdmf_report_find(r, "sampled_hr@10", &hr));
    CHECK(hr >= 0 && hr <= 1);
    CHECK_OK(simdmf_report_find(r, "sampled_cases", &cases));
    CHECK(cases == (double)n_test);
    CHECK_OK(simdmf_report_find(r, "popularity.ndcg@10", NULL));
    CHECK_OK(simdmf_report_find(r, "popularity.sampled_ndcg@10", NULL));
    CHECK_OK(simdmf_report_note_count(r, &notes));
    CHECK(notes == 0);
    CHECK_STATUS(simdmf_report_note(r, 0, &text), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_OK(simdmf_model_evaluate_ranking(m, te, tr, 10, 0.0, 5, 1, 0, &r2)); /* seeded: the same */
    CHECK_OK(simdmf_report_find(r2, "sampled_hr@10", &hr2));
    CHECK(hr == hr2);
    simdmf_report_free(r);
    simdmf_report_free(r2);
    r = NULL;

    /* A logistic model on a test set of one class: AUC is NaN and a note says why. */
    CHECK_OK(simdmf_trainer_set_string(t, "loss", "logistic"));
    simdmf_dataset_free(tr);
    tr = NULL;
    {
        simdmf_dataset* lab = synth(30, 20, 0.6, 1, 13);
        CHECK_OK(simdmf_trainer_fit(t, lab, NULL, &lm));
        simdmf_dataset_free(lab);
    }
    CHECK_OK(simdmf_dataset_from_triples(pu, pi, pv, 2, 0, 0, &pos));
    CHECK_OK(simdmf_model_evaluate(lm, pos, NULL, 0, 4.0, &r));
    CHECK(isnan(report_value(r, "auc")));
    CHECK_OK(simdmf_report_note_count(r, &notes));
    CHECK(notes == 1);
    CHECK_OK(simdmf_report_note(r, 0, &text));
    CHECK(text != NULL && strstr(text, "auc is undefined") == text);
    for (j = 0; j < notes; ++j) CHECK_OK(simdmf_report_note(r, j, &text));
    simdmf_report_free(r);
    simdmf_dataset_free(pos);
    simdmf_dataset_free(te);
    simdmf_dataset_free(ds);
    simdmf_model_free(m);
    simdmf_model_free(lm);
    simdmf_trainer_free(t);
}

static void test_evaluate(void) {
    simdmf_dataset *ds = synth(30, 20, 0.6, 0, 11), *tr = NULL, *te = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model* m = NULL;
    simdmf_report* r = NULL;
    size_t n_test = 0, j;
    double v = 0;
    const char* name = NULL;

    CHECK_OK(simdmf_dataset_split(ds, 0.25, 5, &tr, &te));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 4));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 40));
    CHECK_OK(simdmf_trainer_fit(t, tr, NULL, &m));
    CHECK_OK(simdmf_dataset_shape(te, &n_test, NULL, NULL));
    CHECK(n_test > 20);

    /* point metrics only */
    CHECK_OK(simdmf_model_evaluate(m, te, NULL, 0, 4.0, &r));
    CHECK(r != NULL);
    {
        static const char* const names[] = {"rmse", "mae", "ratings", "cold_ratings", "left_out"};
        CHECK(report_size(r) == 5);
        CHECK(report_names(r, 0, names, 5));
    }
    CHECK(report_value(r, "ratings") == (double)n_test);
    CHECK(report_value(r, "cold_ratings") == 0 && report_value(r, "left_out") == 0);
    /* rmse and mae equal those computed from simdmf_model_predict_batch */
    {
        uint32_t* u = (uint32_t*)malloc(n_test * sizeof *u);
        uint32_t* it = (uint32_t*)malloc(n_test * sizeof *it);
        float* y = (float*)malloc(n_test * sizeof *y);
        float* p = (float*)malloc(n_test * sizeof *p);
        double se = 0, ae = 0, rmse, mae;
        CHECK_OK(simdmf_dataset_get(te, 0, n_test, u, it, y));
        CHECK_OK(simdmf_model_predict_batch(m, u, it, n_test, p));
        for (j = 0; j < n_test; ++j) {
            double d = (double)p[j] - (double)y[j];
            se += d * d;
            ae += fabs(d);
        }
        rmse = sqrt(se / n_test);
        mae = ae / n_test;
        CHECK(fabs(report_value(r, "rmse") - rmse) <= 1e-12 * rmse);
        CHECK(fabs(report_value(r, "mae") - mae) <= 1e-12 * mae);
        CHECK(rmse < 1.0); /* the planted structure is learnt */
        free(u);
        free(it);
        free(y);
        free(p);
    }

    /* report access */
    CHECK_OK(simdmf_report_get(r, 0, &name, &v));
    CHECK(strcmp(name, "rmse") == 0 && v == report_value(r, "rmse"));
    CHECK_OK(simdmf_report_get(r, 2, NULL, NULL));
    name = "untouched";
    CHECK_STATUS(simdmf_report_get(r, 5, &name, &v), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(strcmp(name, "untouched") == 0);
    CHECK_STATUS(simdmf_report_get(r, (size_t)-1, &name, &v), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_report_find(r, "precision@10", &v), SIMDMF_ERR_NOT_FOUND);
    CHECK(strstr(simdmf_last_error(), "precision@10") != NULL);
    CHECK_STATUS(simdmf_report_find(r, "RMSE", &v), SIMDMF_ERR_NOT_FOUND); /* exact names */
    CHECK_OK(simdmf_report_find(r, "mae", NULL));
    CHECK_STATUS(simdmf_report_find(r, NULL, &v), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_report_find(NULL, "rmse", &v), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_report_size(NULL, &j), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_report_size(r, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_report_get(NULL, 0, &name, &v), SIMDMF_ERR_INVALID_ARGUMENT);
    simdmf_report_free(r);
    simdmf_report_free(NULL);

    /* ranking metrics, training items excluded */
    r = NULL;
    CHECK_OK(simdmf_model_evaluate(m, te, tr, 5, 3.5, &r));
    {
        static const char* const names[] = {"rmse", "mae", "precision@5", "recall@5", "ndcg@5", "map@5",
                                            "ratings", "cold_ratings", "left_out", "ranking_users"};
        CHECK(report_size(r) == 10);
        CHECK(report_names(r, 0, names, 10));
        for (j = 2; j < 6; ++j) {
            CHECK_OK(simdmf_report_get(r, j, NULL, &v));
            CHECK(v >= 0 && v <= 1);
        }
        CHECK(report_value(r, "ranking_users") >= 1 && report_value(r, "ranking_users") <= 30);
        CHECK(report_value(r, "precision@5") > 0);
    }
    simdmf_report_free(r);
    /* a threshold above every rating: no user to rank */
    r = NULL;
    CHECK_OK(simdmf_model_evaluate(m, te, NULL, 5, 6.0, &r));
    CHECK(report_value(r, "ranking_users") == 0);
    simdmf_report_free(r);

    /* errors: the out handle is NULL afterwards */
    r = (simdmf_report*)&v;
    CHECK_STATUS(simdmf_model_evaluate(NULL, te, NULL, 0, 4.0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK_STATUS(simdmf_model_evaluate(m, NULL, NULL, 0, 4.0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_evaluate(m, te, NULL, 0, 4.0, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_evaluate(m, te, NULL, 5, NAN, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_OK(simdmf_model_evaluate(m, te, NULL, 0, NAN, &r)); /* threshold unused without ranking */
    simdmf_report_free(r);
    {
        uint32_t u[2] = {0, 30}, i[2] = {0, 1}; /* user 30: beyond the model's 30 users */
        float y[2] = {3.0f, 4.0f};
        simdmf_dataset* big = NULL;
        simdmf_dataset* bad = NULL;
        simdmf_dataset* empty = NULL;
        CHECK_OK(simdmf_dataset_from_triples(u, i, y, 2, 0, 0, &big));
        /* the model has no id maps (ids are indices): user 30 is a new user, scored by the fallback */
        r = NULL;
        CHECK_OK(simdmf_model_evaluate(m, big, NULL, 0, 4.0, &r));
        CHECK(report_value(r, "cold_ratings") == 1 && report_value(r, "ratings") == 2);
        simdmf_report_free(r);
        CHECK_OK(simdmf_model_evaluate(m, te, big, 3, 4.0, &r)); /* exclude too */
        simdmf_report_free(r);
        u[1] = 1;
        y[1] = NAN;
        CHECK_OK(simdmf_dataset_from_triples(u, i, y, 2, 0, 0, &bad));
        CHECK_STATUS(simdmf_model_evaluate(m, bad, NULL, 0, 4.0, &r), SIMDMF_ERR_INVALID_DATA);
        CHECK_OK(simdmf_dataset_from_triples(NULL, NULL, NULL, 0, 30, 20, &empty));
        CHECK_OK(simdmf_model_evaluate(m, empty, NULL, 0, 4.0, &r));
        CHECK(isnan(report_value(r, "rmse")) && report_value(r, "ratings") == 0);
        simdmf_report_free(r);
        simdmf_dataset_free(big);
        simdmf_dataset_free(bad);
        simdmf_dataset_free(empty);
    }
    simdmf_model_free(m);

    /* a logistic model: log_loss, auc, accuracy; labels must be +1/-1 */
    {
        simdmf_dataset *lds = synth(30, 20, 0.6, 1, 12), *ltr = NULL, *lte = NULL;
        static const char* const names[] = {"log_loss", "auc", "accuracy", "ratings", "cold_ratings", "left_out"};
        m = NULL;
        r = NULL;
        CHECK_OK(simdmf_dataset_split(lds, 0.25, 5, &ltr, &lte));
        CHECK_OK(simdmf_trainer_set_string(t, "loss", "logistic"));
        CHECK_OK(simdmf_trainer_set(t, "epochs", 60));
        CHECK_OK(simdmf_trainer_fit(t, ltr, NULL, &m));
        CHECK_OK(simdmf_model_evaluate(m, lte, NULL, 0, 4.0, &r));
        CHECK(report_size(r) == 6);
        CHECK(report_names(r, 0, names, 6));
        CHECK(report_value(r, "auc") > 0.6 && report_value(r, "auc") <= 1.0);
        CHECK(report_value(r, "accuracy") >= 0 && report_value(r, "accuracy") <= 1.0);
        CHECK(report_value(r, "log_loss") > 0);
        simdmf_report_free(r);
        r = NULL;
        CHECK_OK(simdmf_model_evaluate(m, lte, ltr, 3, 100.0, &r)); /* labels: threshold unused */
        CHECK(report_size(r) == 11);
        CHECK(report_value(r, "ranking_users") > 0);
        simdmf_report_free(r);
        r = (simdmf_report*)&v;
        CHECK_STATUS(simdmf_model_evaluate(m, te, NULL, 0, 4.0, &r), SIMDMF_ERR_INVALID_DATA); /* ratings */
        CHECK(r == NULL);
        simdmf_model_free(m);
        simdmf_dataset_free(lds);
        simdmf_dataset_free(ltr);
        simdmf_dataset_free(lte);
    }

    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
    simdmf_dataset_free(tr);
    simdmf_dataset_free(te);
}

/* Records every epoch the callback sees; stops once `stop_after` calls were made (0: never). */
struct cv_progress {
    unsigned calls;
    unsigned restarts; /* epoch == 1 */
    unsigned last_epoch;
    int in_order;
    unsigned stop_after;
    unsigned max_epochs_seen;
    int nan_train_loss;
};

static int cv_epoch(const simdmf_epoch_info* info, void* user) {
    struct cv_progress* p = (struct cv_progress*)user;
    ++p->calls;
    if (info->epoch == 1) ++p->restarts;
    else if (info->epoch != p->last_epoch + 1) p->in_order = 0;
    p->last_epoch = info->epoch;
    p->max_epochs_seen = info->max_epochs;
    if (isnan(info->train_loss)) p->nan_train_loss = 1;
    return p->stop_after != 0 && p->calls >= p->stop_after;
}

static void test_cross_validate(void) {
    simdmf_dataset* ds = synth(30, 20, 0.6, 0, 21);
    simdmf_trainer* t = NULL;
    simdmf_model* m = NULL;
    simdmf_report *r = NULL, *r2 = NULL;
    struct cv_progress pr = {0, 0, 0, 1, 0, 0, 0};
    size_t h = 0, j, n = 0;
    double v = 0;

    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 4));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 10));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &m)); /* a history that cross-validation leaves alone */
    CHECK_OK(simdmf_trainer_set(t, "epochs", 12));
    CHECK_OK(simdmf_trainer_set_callback(t, cv_epoch, &pr));

    CHECK_OK(simdmf_trainer_cross_validate(t, ds, 3, 7, 0, 4.0, &r));
    {
        static const char* const names[] = {"rmse", "rmse_std", "mae", "mae_std",
                                            "fold1.rmse", "fold1.mae", "fold1.epochs",
                                            "fold2.rmse", "fold2.mae", "fold2.epochs",
                                            "fold3.rmse", "fold3.mae", "fold3.epochs"};
        CHECK(report_size(r) == 13);
        CHECK(report_names(r, 0, names, 13));
    }
    /* every epoch of every fold, folds one after the other */
    CHECK(pr.calls == 36 && pr.restarts == 3 && pr.in_order && pr.max_epochs_seen == 12 && !pr.nan_train_loss);
    {
        double f1 = report_value(r, "fold1.rmse"), f2 = report_value(r, "fold2.rmse"), f3 = report_value(r, "fold3.rmse");
        double mean = (f1 + f2 + f3) / 3, sd;
        sd = sqrt(((f1 - mean) * (f1 - mean) + (f2 - mean) * (f2 - mean) + (f3 - mean) * (f3 - mean)) / 2);
        CHECK(fabs(report_value(r, "rmse") - mean) < 1e-12);
        CHECK(fabs(report_value(r, "rmse_std") - sd) < 1e-12);
        CHECK(report_value(r, "fold2.epochs") == 12);
        CHECK(mean > 0 && mean < 1.5);
    }
    CHECK_OK(simdmf_trainer_history_size(t, &h));
    CHECK(h == 10); /* the last fit's, untouched */

    /* reproducible; the seed changes the folds */
    CHECK_OK(simdmf_trainer_cross_validate(t, ds, 3, 7, 0, 4.0, &r2));
    CHECK(report_size(r2) == 13);
    for (j = 0; j < 13; ++j) {
        double a = 0, b = 0;
        CHECK_OK(simdmf_report_get(r, j, NULL, &a));
        CHECK_OK(simdmf_report_get(r2, j, NULL, &b));
        CHECK(a == b);
    }
    simdmf_report_free(r2);
    r2 = NULL;
    CHECK_OK(simdmf_trainer_cross_validate(t, ds, 3, 8, 0, 4.0, &r2));
    CHECK(report_value(r2, "fold1.rmse") != report_value(r, "fold1.rmse"));
    simdmf_report_free(r2);
    simdmf_report_free(r);

    /* with ranking metrics */
    r = NULL;
    CHECK_OK(simdmf_trainer_set_callback(t, NULL, NULL));
    CHECK_OK(simdmf_trainer_cross_validate(t, ds, 2, 7, 4, 3.5, &r));
    {
        static const char* const names[] = {"rmse", "rmse_std", "mae", "mae_std", "precision@4", "precision@4_std",
                                            "recall@4", "recall@4_std", "ndcg@4", "ndcg@4_std", "map@4",
                                            "map@4_std", "fold1.rmse", "fold1.mae", "fold1.precision@4",
                                            "fold1.recall@4", "fold1.ndcg@4", "fold1.map@4", "fold1.epochs"};
        n = report_size(r);
        CHECK(n == 12 + 2 * 7);
        CHECK(report_names(r, 0, names, 19));
        CHECK_STATUS(simdmf_report_find(r, "ratings", &v), SIMDMF_ERR_NOT_FOUND);
    }
    simdmf_report_free(r);

    /* cancel through the callback: CANCELLED, no report */
    CHECK_OK(simdmf_trainer_set_callback(t, cv_epoch, &pr));
    pr.calls = pr.restarts = pr.last_epoch = 0;
    pr.stop_after = 15; /* during fold 2 */
    r = (simdmf_report*)&v;
    CHECK_STATUS(simdmf_trainer_cross_validate(t, ds, 3, 7, 0, 4.0, &r), SIMDMF_CANCELLED);
    CHECK(r == NULL);
    CHECK(pr.calls == 15 && pr.restarts == 2);
    CHECK(simdmf_last_error()[0] != '\0');
    pr.stop_after = 0;

    /* argument errors */
    CHECK_STATUS(simdmf_trainer_cross_validate(t, ds, 1, 7, 0, 4.0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK_STATUS(simdmf_trainer_cross_validate(t, ds, 100000, 7, 0, 4.0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_cross_validate(t, ds, 3, 7, 5, NAN, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_cross_validate(NULL, ds, 3, 7, 0, 4.0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_cross_validate(t, NULL, 3, 7, 0, 4.0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_cross_validate(t, ds, 3, 7, 0, 4.0, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(pr.calls == 15); /* none of them trained */
    {
        uint32_t u[4] = {0, 1, 2, 3}, i[4] = {0, 1, 2, 3};
        float y[4] = {1, 2, NAN, 4};
        simdmf_dataset* bad = NULL;
        CHECK_OK(simdmf_dataset_from_triples(u, i, y, 4, 0, 0, &bad));
        CHECK_STATUS(simdmf_trainer_cross_validate(t, bad, 2, 7, 0, 4.0, &r), SIMDMF_ERR_INVALID_DATA);
        simdmf_dataset_free(bad);
    }

    simdmf_model_free(m);
    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
}

static void test_tune_options(void) {
    simdmf_trainer* t = NULL;
    double v = 0, a[32];
    size_t n = 0;
    const char* s = NULL;

    CHECK_OK(simdmf_trainer_create(&t));
    /* defaults */
    CHECK_OK(simdmf_trainer_get(t, "tune_budget", &v));
    CHECK(v == 0);
    CHECK_OK(simdmf_trainer_get(t, "tune_valid_fraction", &v));
    CHECK(v == 0.1);
    CHECK_OK(simdmf_trainer_get(t, "tune_seed", &v));
    CHECK(v == 1);
    CHECK_OK(simdmf_trainer_get(t, "tune_parallel", &v));
    CHECK(v == 1);
    CHECK_OK(simdmf_trainer_get(t, "tune_extend", &v)); /* extension past an edge: on, 3 rounds */
    CHECK(v == 3);
    CHECK(simdmf_trainer_set(t, "tune_extend", 11) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(simdmf_trainer_set(t, "tune_extend", 1.5) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_OK(simdmf_trainer_get_string(t, "tune_method", &s));
    CHECK(strcmp(s, "grid") == 0);
    CHECK_OK(simdmf_trainer_get_array(t, "tune_k", NULL, 0, &n));
    CHECK(n == 4);
    CHECK_OK(simdmf_trainer_get_array(t, "tune_k", a, 32, &n));
    CHECK(n == 4 && a[0] == 64 && a[3] == 512);
    CHECK_OK(simdmf_trainer_get_array(t, "tune_epochs", a, 32, &n));
    CHECK(n == 15 && a[0] == 10 && a[14] == 150);
    CHECK_OK(simdmf_trainer_get_array(t, "tune_lr", a, 32, &n));
    CHECK(n == 3 && a[0] == 0.005 && a[2] == 0.02);
    CHECK_OK(simdmf_trainer_get_array(t, "tune_l2", a, 1, &n)); /* truncated copy, full count */
    CHECK(n == 3 && a[0] == 0.03);
    CHECK_OK(simdmf_trainer_set_string(t, "loss", "logistic")); /* defaults follow the loss */
    CHECK_OK(simdmf_trainer_get_array(t, "tune_lr", a, 32, &n));
    CHECK(n == 3 && a[0] == 0.02 && a[2] == 0.1);
    CHECK_OK(simdmf_trainer_set_string(t, "loss", "squared"));
    CHECK_OK(simdmf_trainer_get_array(t, "lr_list", a, 32, &n));
    CHECK(n == 0);

    /* set and read back */
    CHECK_OK(simdmf_trainer_set(t, "tune_budget", 7));
    CHECK_OK(simdmf_trainer_set(t, "tune_valid_fraction", 0.25));
    CHECK_OK(simdmf_trainer_set(t, "tune_seed", 99));
    CHECK_OK(simdmf_trainer_set(t, "tune_parallel", 0));
    CHECK_OK(simdmf_trainer_set_string(t, "tune_method", "random"));
    CHECK_OK(simdmf_trainer_get(t, "tune_budget", &v));
    CHECK(v == 7);
    CHECK_OK(simdmf_trainer_get(t, "tune_valid_fraction", &v));
    CHECK(v == 0.25);
    CHECK_OK(simdmf_trainer_get(t, "tune_seed", &v));
    CHECK(v == 99);
    CHECK_OK(simdmf_trainer_get(t, "tune_parallel", &v));
    CHECK(v == 0);
    CHECK_OK(simdmf_trainer_get_string(t, "tune_method", &s));
    CHECK(strcmp(s, "random") == 0);
    {
        double ks[2] = {3, 5}, lrs[1] = {0.02}, l2s[2] = {0, 0.1}, eps[2] = {20, 5};
        CHECK_OK(simdmf_trainer_set_array(t, "tune_k", ks, 2));
        CHECK_OK(simdmf_trainer_set_array(t, "tune_lr", lrs, 1));
        CHECK_OK(simdmf_trainer_set_array(t, "tune_l2", l2s, 2));
        CHECK_OK(simdmf_trainer_set_array(t, "tune_epochs", eps, 2));
        CHECK_OK(simdmf_trainer_get_array(t, "tune_k", a, 32, &n));
        CHECK(n == 2 && a[0] == 3 && a[1] == 5);
        CHECK_OK(simdmf_trainer_get_array(t, "tune_l2", a, 32, &n));
        CHECK(n == 2 && a[0] == 0 && a[1] == 0.1);
        CHECK_OK(simdmf_trainer_get_array(t, "tune_epochs", a, 32, &n));
        CHECK(n == 2 && a[0] == 20 && a[1] == 5);
        CHECK_OK(simdmf_trainer_set_array(t, "lr_list", lrs, 1));
        CHECK_OK(simdmf_trainer_get_array(t, "lr_list", a, 32, &n));
        CHECK(n == 1 && a[0] == 0.02);
        /* n == 0 restores the default */
        CHECK_OK(simdmf_trainer_set_array(t, "tune_lr", NULL, 0));
        CHECK_OK(simdmf_trainer_get_array(t, "tune_lr", a, 32, &n));
        CHECK(n == 3 && a[0] == 0.005);

        /* bounds: OUT_OF_RANGE, value unchanged */
        ks[1] = 0;
        CHECK_STATUS(simdmf_trainer_set_array(t, "tune_k", ks, 2), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK(strstr(simdmf_last_error(), "tune_k") != NULL);
        ks[1] = 2.5;
        CHECK_STATUS(simdmf_trainer_set_array(t, "tune_k", ks, 2), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK_OK(simdmf_trainer_get_array(t, "tune_k", a, 32, &n));
        CHECK(n == 2 && a[1] == 5);
        lrs[0] = 0;
        CHECK_STATUS(simdmf_trainer_set_array(t, "tune_lr", lrs, 1), SIMDMF_ERR_OUT_OF_RANGE);
        lrs[0] = NAN;
        CHECK_STATUS(simdmf_trainer_set_array(t, "tune_lr", lrs, 1), SIMDMF_ERR_OUT_OF_RANGE);
        l2s[0] = -1;
        CHECK_STATUS(simdmf_trainer_set_array(t, "tune_l2", l2s, 2), SIMDMF_ERR_OUT_OF_RANGE);
        eps[0] = 0;
        CHECK_STATUS(simdmf_trainer_set_array(t, "tune_epochs", eps, 2), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK_STATUS(simdmf_trainer_set_array(t, "tune_k", NULL, 2), SIMDMF_ERR_INVALID_ARGUMENT);
    }
    CHECK_STATUS(simdmf_trainer_set(t, "tune_valid_fraction", 0), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "tune_valid_fraction", 1), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "tune_valid_fraction", NAN), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "tune_budget", -1), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "tune_budget", 1.5), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "tune_parallel", 1025), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set(t, "tune_seed", -1), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_trainer_set_string(t, "tune_method", "bayes"), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_OK(simdmf_trainer_get(t, "tune_valid_fraction", &v));
    CHECK(v == 0.25);
    CHECK_OK(simdmf_trainer_get(t, "tune_budget", &v));
    CHECK(v == 7);
    CHECK_OK(simdmf_trainer_get_string(t, "tune_method", &s));
    CHECK(strcmp(s, "random") == 0);

    /* wrong type or unknown key: UNKNOWN_OPTION */
    CHECK_STATUS(simdmf_trainer_set(t, "tune_method", 1), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_set(t, "tune_k", 4), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_set_string(t, "tune_budget", "3"), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_set_array(t, "tune_seed", a, 1), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_get(t, "tune_k", &v), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_get(t, "tune_method", &v), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_get_string(t, "tune_seed", &s), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_set(t, "tune_bogus", 1), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_get_array(t, "k", a, 32, &n), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_get_array(t, "tune_budget", a, 32, &n), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK_STATUS(simdmf_trainer_get_array(t, "tune_k", a, 32, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_get_array(t, "tune_k", NULL, 3, &n), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_get_array(NULL, "tune_k", a, 32, &n), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_get_array(t, NULL, a, 32, &n), SIMDMF_ERR_INVALID_ARGUMENT);
    /* the training options themselves still work */
    CHECK_OK(simdmf_trainer_set(t, "k", 9));
    CHECK_OK(simdmf_trainer_get(t, "k", &v));
    CHECK(v == 9);
    simdmf_trainer_free(t);
}

struct tune_progress {
    unsigned calls;
    int in_order;
    unsigned total;
    int nan_loss;
    double best_seen;
    unsigned stop_after;
};

static int tune_run(const simdmf_epoch_info* info, void* user) {
    struct tune_progress* p = (struct tune_progress*)user;
    ++p->calls;
    if (info->epoch != p->calls || info->struct_size != sizeof *info) p->in_order = 0;
    p->total = info->max_epochs;
    if (!isnan(info->train_loss)) p->nan_loss = 0;
    if (info->valid_metric < p->best_seen) p->best_seen = info->valid_metric;
    return p->stop_after != 0 && p->calls >= p->stop_after;
}

static void test_tune(void) {
    simdmf_dataset* ds = synth(40, 30, 0.5, 0, 31);
    simdmf_trainer* t = NULL;
    simdmf_model* m = NULL;
    simdmf_report* r = NULL;
    struct tune_progress pr = {0, 1, 0, 1, INFINITY, 0};
    double ks[2] = {2, 4}, lrs[2] = {0.01, 0.04}, l2s[1] = {0.02}, eps[3] = {5, 10, 25};
    double v = 0, best = INFINITY;
    size_t n_ratings = 0, j, h = 0;

    CHECK_OK(simdmf_dataset_shape(ds, &n_ratings, NULL, NULL));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set_array(t, "tune_k", ks, 2));
    CHECK_OK(simdmf_trainer_set_array(t, "tune_lr", lrs, 2));
    CHECK_OK(simdmf_trainer_set_array(t, "tune_l2", l2s, 1));
    CHECK_OK(simdmf_trainer_set_array(t, "tune_epochs", eps, 3));
    CHECK_OK(simdmf_trainer_set(t, "tune_valid_fraction", 0.2));
    CHECK_OK(simdmf_trainer_set(t, "tune_extend", 0)); /* the plan's runs only */
    CHECK_OK(simdmf_trainer_set_callback(t, tune_run, &pr));

    CHECK_OK(simdmf_trainer_tune(t, ds, &r));
    CHECK(r != NULL);
    {
        static const char* const names[] = {"best.k", "best.lr", "best.l2", "best.epochs", "best.score", "trials",
                                            "train_ratings", "valid_ratings", "trial1.k", "trial1.lr",
                                            "trial1.l2", "trial1.epochs", "trial1.score", "trial2.k"};
        static const char* const edges[] = {"edge.k", "edge.lr", "edge.l2", "edge.epochs", "extended"};
        CHECK(report_size(r) == 8 + 4 * 5 + 5);
        CHECK(report_names(r, 0, names, 14));
        CHECK(report_names(r, 8 + 4 * 5, edges, 5));
    }
    {
        const char* name = NULL;
        CHECK_OK(simdmf_report_get(r, 8 + 4 * 5 - 1, &name, NULL));
        CHECK(strcmp(name, "trial4.score") == 0);
    }
    CHECK(report_value(r, "extended") == 0);
    v = report_value(r, "edge.k");
    CHECK(v == -1 || v == 0 || v == 1);
    CHECK(report_value(r, "edge.l2") == 0); /* a single value is not searched */
    CHECK(report_value(r, "trials") == 4);
    CHECK(report_value(r, "train_ratings") + report_value(r, "valid_ratings") == (double)n_ratings);
    CHECK(report_value(r, "valid_ratings") > 0);
    /* grid order: k outer, then lr, then l2 */
    CHECK(report_value(r, "trial1.k") == 2 && report_value(r, "trial1.lr") == 0.01);
    CHECK(report_value(r, "trial2.k") == 2 && report_value(r, "trial2.lr") == 0.04);
    CHECK(report_value(r, "trial4.k") == 4 && report_value(r, "trial4.l2") == 0.02);
    {
        char key[32];
        for (j = 1; j <= 4; ++j) {
            double e;
            snprintf(key, sizeof key, "trial%zu.score", j);
            v = report_value(r, key);
            if (v < best) best = v;
            snprintf(key, sizeof key, "trial%zu.epochs", j);
            e = report_value(r, key);
            CHECK(e == 5 || e == 10 || e == 25);
        }
    }
    CHECK(report_value(r, "best.score") == best && isfinite(best));
    /* a run per point, reported once each */
    CHECK(pr.calls == 4 && pr.in_order && pr.total == 4 && pr.nan_loss && pr.best_seen == best);
    /* the trainer now holds the best run's options */
    CHECK_OK(simdmf_trainer_get(t, "k", &v));
    CHECK(v == report_value(r, "best.k"));
    CHECK_OK(simdmf_trainer_get(t, "lr", &v));
    CHECK(v == report_value(r, "best.lr"));
    CHECK_OK(simdmf_trainer_get(t, "l2", &v));
    CHECK(v == report_value(r, "best.l2"));
    CHECK_OK(simdmf_trainer_get(t, "epochs", &v));
    CHECK(v == report_value(r, "best.epochs"));
    /* and a fit trains that model */
    CHECK_OK(simdmf_trainer_set_callback(t, NULL, NULL));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &m));
    CHECK_OK(simdmf_trainer_history_size(t, &h));
    CHECK((double)h == report_value(r, "best.epochs"));
    {
        uint32_t k = 0;
        CHECK_OK(simdmf_model_shape(m, NULL, &k, NULL, NULL, NULL));
        CHECK(k == report_value(r, "best.k"));
    }
    simdmf_model_free(m);

    /* the same settings give the same search */
    {
        simdmf_report* r2 = NULL;
        CHECK_OK(simdmf_trainer_tune(t, ds, &r2));
        CHECK(report_size(r2) == report_size(r));
        CHECK(report_value(r2, "trial3.score") == report_value(r, "trial3.score"));
        simdmf_report_free(r2);
    }
    simdmf_report_free(r);

    /* random search, two runs at a time */
    r = NULL;
    CHECK_OK(simdmf_trainer_set_string(t, "tune_method", "random"));
    CHECK_OK(simdmf_trainer_set(t, "tune_budget", 3));
    CHECK_OK(simdmf_trainer_set(t, "tune_parallel", 2));
    pr.calls = 0;
    pr.best_seen = INFINITY;
    CHECK_OK(simdmf_trainer_set_callback(t, tune_run, &pr));
    CHECK_OK(simdmf_trainer_tune(t, ds, &r));
    CHECK(report_value(r, "trials") == 3 && report_size(r) == 8 + 3 * 5 + 5);
    CHECK(pr.calls == 3 && pr.in_order);
    v = report_value(r, "trial2.lr");
    CHECK(v >= 0.01 && v <= 0.04);
    simdmf_report_free(r);

    /* cancel through the callback: CANCELLED, no report, options unchanged */
    {
        double k0 = 0, lr0 = 0, ep0 = 0, k1 = 0, lr1 = 0, ep1 = 0;
        unsigned par;
        CHECK_OK(simdmf_trainer_set_string(t, "tune_method", "grid"));
        CHECK_OK(simdmf_trainer_set(t, "tune_budget", 0));
        for (par = 1; par <= 2; ++par) {
            CHECK_OK(simdmf_trainer_set(t, "tune_parallel", par));
            CHECK_OK(simdmf_trainer_get(t, "k", &k0));
            CHECK_OK(simdmf_trainer_get(t, "lr", &lr0));
            CHECK_OK(simdmf_trainer_get(t, "epochs", &ep0));
            pr.calls = 0;
            pr.stop_after = 1;
            r = (simdmf_report*)&v;
            CHECK_STATUS(simdmf_trainer_tune(t, ds, &r), SIMDMF_CANCELLED);
            CHECK(r == NULL);
            CHECK(pr.calls == 1); /* never called again after it said stop */
            CHECK(strstr(simdmf_last_error(), "cancelled") != NULL);
            CHECK_OK(simdmf_trainer_get(t, "k", &k1));
            CHECK_OK(simdmf_trainer_get(t, "lr", &lr1));
            CHECK_OK(simdmf_trainer_get(t, "epochs", &ep1));
            CHECK(k0 == k1 && lr0 == lr1 && ep0 == ep1);
        }
        pr.stop_after = 0;
    }

    /* errors */
    CHECK_STATUS(simdmf_trainer_tune(NULL, ds, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK_STATUS(simdmf_trainer_tune(t, NULL, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_trainer_tune(t, ds, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    {
        uint32_t u[1] = {0}, i[1] = {0};
        float y[1] = {3};
        simdmf_dataset* tiny = NULL;
        CHECK_OK(simdmf_dataset_from_triples(u, i, y, 1, 0, 0, &tiny));
        CHECK_STATUS(simdmf_trainer_tune(t, tiny, &r), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK(r == NULL);
        simdmf_dataset_free(tiny);
    }

    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
}

/* Id spaces: a test file loaded on its own is refused until aligned; cold users and items are scored
 * with the model's fallback (or left out) and counted. */
static void test_id_spaces(void) {
    char tpath[512], spath[512];
    simdmf_dataset *tr = NULL, *tr2 = NULL, *te = NULL, *al = NULL, *al_out = NULL, *idx_space = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model* m = NULL;
    simdmf_report* r = NULL;
    size_t n = 0, unknown = 99, cold = 99, j;
    uint32_t nu = 0, ni = 0, items[8];
    float pred[6], bias_u = 0, bias_i = 0, f[2];
    size_t n_out = 0;
    int64_t raw = 0;

    /* training: users 10, 20, 30; items 1, 2, 3 (in that order of first appearance) */
    tmp_path(tpath, sizeof tpath, "ids-train.data");
    CHECK(write_file(tpath, "10\t1\t5\t1\n20\t2\t3\t2\n30\t3\t4\t3\n10\t2\t4\t4\n20\t3\t2\t5\n30\t1\t5\t6\n"
                            "10\t3\t3\t7\n20\t1\t4\t8\n"));
    /* test, loaded on its own: user 30 first, then a new user 40 and a new item 9 */
    tmp_path(spath, sizeof spath, "ids-test.data");
    CHECK(write_file(spath, "30\t2\t4\t1\n20\t1\t3\t2\n40\t1\t5\t3\n10\t9\t2\t4\n40\t9\t3\t5\n10\t1\t4\t6\n"));
    CHECK_OK(simdmf_dataset_load(tpath, SIMDMF_FORMAT_MOVIELENS_DATA, &tr));
    CHECK_OK(simdmf_dataset_load(tpath, SIMDMF_FORMAT_MOVIELENS_DATA, &tr2)); /* a separate load */
    CHECK_OK(simdmf_dataset_load(spath, SIMDMF_FORMAT_MOVIELENS_DATA, &te));
    remove(tpath);
    remove(spath);
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 2));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 30));
    CHECK_OK(simdmf_trainer_fit(t, tr, NULL, &m));

    /* the unaligned test set is refused, naming the mismatch */
    r = (simdmf_report*)&n;
    CHECK_STATUS(simdmf_model_evaluate(m, te, NULL, 0, 4.0, &r), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK(strstr(simdmf_last_error(), "id space") != NULL);
    CHECK(strstr(simdmf_last_error(), "user index 0") != NULL);
    CHECK_STATUS(simdmf_model_evaluate(m, tr, te, 3, 4.0, &r), SIMDMF_ERR_INVALID_ARGUMENT); /* exclude */
    CHECK_STATUS(simdmf_model_recommend(m, 0, 3, te, items, NULL, &n_out), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_predict_dataset(m, te, 0, pred, &cold), SIMDMF_ERR_INVALID_ARGUMENT);
    /* equal maps from a separate load are the same space */
    CHECK_OK(simdmf_model_recommend(m, 0, 3, tr2, items, NULL, &n_out));
    CHECK(n_out == 0); /* user 10 has rated every item */
    CHECK_OK(simdmf_model_evaluate(m, tr2, tr, 0, 4.0, &r));
    simdmf_report_free(r);

    /* aligned: known ids take the model's indices, new ones come after them */
    CHECK_OK(simdmf_dataset_align(te, m, NULL, 0, &al, &unknown));
    CHECK(unknown == 3);
    CHECK_OK(simdmf_dataset_shape(al, &n, &nu, &ni));
    CHECK(n == 6 && nu == 4 && ni == 4);
    {
        uint32_t u[6], i[6];
        CHECK_OK(simdmf_dataset_get(al, 0, 6, u, i, NULL));
        CHECK(u[0] == 2 && i[0] == 1); /* user 30 -> index 2, item 2 -> index 1 */
        CHECK(u[2] == 3 && i[3] == 3); /* user 40 and item 9: new, past the model's 3 x 3 */
        CHECK_OK(simdmf_model_raw_id(m, SIMDMF_USERS, u[1], &raw));
        CHECK(raw == 20);
    }
    CHECK_OK(simdmf_model_predict_dataset(m, al, 0, pred, &cold));
    CHECK(cold == 3);
    for (j = 0; j < 6; ++j) CHECK(isfinite(pred[j]));
    /* the fallback: (new user, item 1) - (new user, new item) = b_item1; (user 10, new item) - mu = b_user10 */
    CHECK_OK(simdmf_model_factors(m, SIMDMF_ITEMS, 0, f, &bias_i));
    CHECK_OK(simdmf_model_factors(m, SIMDMF_USERS, 0, f, &bias_u));
    CHECK(fabs((pred[2] - pred[4]) - bias_i) < 1e-5);
    CHECK(fabs((pred[3] - pred[4]) - bias_u) < 1e-5);
    {
        float keep[6];
        CHECK_OK(simdmf_model_predict_dataset(m, al, SIMDMF_COLD_LEAVE_OUT, keep, &cold));
        CHECK(cold == 3);
        CHECK(isnan(keep[2]) && isnan(keep[3]) && isnan(keep[4]));
        CHECK(keep[0] == pred[0] && keep[1] == pred[1] && keep[5] == pred[5]);
    }
    CHECK_STATUS(simdmf_model_predict_dataset(m, al, 4u, pred, &cold), SIMDMF_ERR_INVALID_ARGUMENT);

    /* evaluation scores the cold ratings with the fallback, or leaves them out */
    {
        static const float y[6] = {4, 3, 5, 2, 3, 4};
        double se = 0, se_known = 0, rmse = 0;
        for (j = 0; j < 6; ++j) {
            double d = (double)pred[j] - y[j];
            se += d * d;
            if (j != 2 && j != 3 && j != 4) se_known += d * d;
        }
        r = NULL;
        CHECK_OK(simdmf_model_evaluate(m, al, tr, 2, 4.0, &r));
        CHECK(report_value(r, "ratings") == 6 && report_value(r, "cold_ratings") == 3);
        CHECK(report_value(r, "left_out") == 0);
        rmse = report_value(r, "rmse");
        CHECK(fabs(rmse - sqrt(se / 6)) < 1e-6);
        CHECK(report_value(r, "ranking_users") == 3); /* users 30, 40 and 10 have a rating >= 4 */
        simdmf_report_free(r);
        r = NULL;
        CHECK_OK(simdmf_model_evaluate_ex(m, al, tr, 2, 4.0, SIMDMF_COLD_LEAVE_OUT, &r));
        CHECK(report_value(r, "ratings") == 3 && report_value(r, "cold_ratings") == 3);
        CHECK(report_value(r, "left_out") == 3);
        CHECK(fabs(report_value(r, "rmse") - sqrt(se_known / 3)) < 1e-6);
        CHECK(report_value(r, "ranking_users") == 2);
        simdmf_report_free(r);
        r = (simdmf_report*)&n;
        CHECK_STATUS(simdmf_model_evaluate_ex(m, al, NULL, 0, 4.0, 2u, &r), SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK(r == NULL);
    }
    /* recommend with the aligned set as exclude */
    CHECK_OK(simdmf_model_recommend(m, 2, 3, al, items, NULL, &n_out));
    CHECK(n_out == 2); /* user 30 has item 2 in the aligned set */

    /* aligned with SIMDMF_COLD_LEAVE_OUT: the cold ratings are gone, the model's maps are shared */
    CHECK_OK(simdmf_dataset_align(te, NULL, tr, SIMDMF_COLD_LEAVE_OUT, &al_out, &unknown));
    CHECK(unknown == 3);
    CHECK_OK(simdmf_dataset_shape(al_out, &n, &nu, &ni));
    CHECK(n == 3 && nu == 3 && ni == 3);
    CHECK_OK(simdmf_model_predict_dataset(m, al_out, 0, pred, &cold));
    CHECK(cold == 0);

    /* a data set without maps is in the index space: accepted as the model's indices */
    {
        uint32_t u[2] = {0, 2}, i[2] = {1, 2};
        float v[2] = {4, 3};
        CHECK_OK(simdmf_dataset_from_triples(u, i, v, 2, 0, 0, &idx_space));
        r = NULL;
        CHECK_OK(simdmf_model_evaluate(m, idx_space, tr, 0, 4.0, &r));
        CHECK(report_value(r, "cold_ratings") == 0);
        simdmf_report_free(r);
    }

    /* argument checks (al_out is freed first: a failed call sets *out to NULL, it does not free it) */
    simdmf_dataset_free(al_out);
    al_out = NULL;
    CHECK_STATUS(simdmf_dataset_align(te, m, tr, 0, &al_out, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(al_out == NULL);
    CHECK_STATUS(simdmf_dataset_align(te, NULL, NULL, 0, &al_out, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_dataset_align(NULL, m, NULL, 0, &al_out, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_dataset_align(te, m, NULL, 8u, &al_out, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_dataset_align(te, m, NULL, 0, NULL, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_predict_dataset(NULL, al, 0, pred, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_predict_dataset(m, al, 0, NULL, NULL), SIMDMF_ERR_INVALID_ARGUMENT);

    simdmf_model_free(m);
    simdmf_trainer_free(t);
    simdmf_dataset_free(tr);
    simdmf_dataset_free(tr2);
    simdmf_dataset_free(te);
    simdmf_dataset_free(al);
    simdmf_dataset_free(al_out);
    simdmf_dataset_free(idx_space);
}

static void test_last_error_is_sticky(void) {
    simdmf_trainer* t = NULL;
    double v;
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_STATUS(simdmf_trainer_set(t, "nope", 1), SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK(strstr(simdmf_last_error(), "nope") != NULL);
    CHECK_OK(simdmf_trainer_get(t, "k", &v));
    /* documented choice: a success does not clear the last failure's message */
    CHECK(strstr(simdmf_last_error(), "nope") != NULL);
    simdmf_trainer_free(t);
}

static void test_free_null(void) {
    simdmf_dataset_free(NULL);
    simdmf_trainer_free(NULL);
    simdmf_model_free(NULL);
    simdmf_report_free(NULL);
    CHECK(1);
}

/* Factors in and out: a model from caller tables (copied and borrowed), export then import, errors. */
static void test_factors(void) {
    /* 3 users, 2 items, k = 2; the borrowed tables are rows of 16 floats, zero past k. */
    static float up[3 * 16], ip[2 * 16];
    const float u[3][2] = {{1, 2}, {0.5f, -1}, {3, 0}};
    const float v[2][2] = {{2, 1}, {-1, 4}};
    const float ub[3] = {0.1f, 0.2f, 0.3f}, ib[2] = {-0.5f, 0.5f};
    const int64_t uid[3] = {100, 200, 300}, iid[2] = {7, 9};
    for (int r = 0; r < 3; ++r) { up[r * 16] = u[r][0]; up[r * 16 + 1] = u[r][1]; }
    for (int r = 0; r < 2; ++r) { ip[r * 16] = v[r][0]; ip[r * 16 + 1] = v[r][1]; }

    simdmf_factor_tables t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.k = 2;
    t.n_users = 3;
    t.n_items = 2;
    t.user_factors = &u[0][0];
    t.item_factors = &v[0][0];
    t.user_bias = ub;
    t.item_bias = ib;
    t.global_bias = 3.0f;
    t.kind = SIMDMF_MODEL_MF;
    t.min_prediction = -INFINITY;
    t.max_prediction = INFINITY;
    t.user_ids = uid;
    t.item_ids = iid;
    simdmf_model* m = NULL;
    CHECK_OK(simdmf_model_from_factors(&t, SIMDMF_FACTORS_COPY, &m));
    float p = 0;
    CHECK_OK(simdmf_model_predict(m, 1, 1, &p));
    CHECK(fabsf(p - (3.0f + 0.2f + 0.5f + (0.5f * -1 + -1 * 4))) < 1e-5f);
    uint32_t index = 99;
    CHECK_OK(simdmf_model_index(m, SIMDMF_ITEMS, 9, &index));
    CHECK(index == 1);

    /* Borrowed: same predictions, served from the caller's rows. */
    simdmf_factor_tables b = t;
    b.user_factors = up;
    b.user_stride = 16;
    b.item_factors = ip;
    b.item_stride = 16;
    simdmf_model* mb = NULL;
    CHECK_OK(simdmf_model_from_factors(&b, SIMDMF_FACTORS_BORROW, &mb));
    float pb = 0;
    CHECK_OK(simdmf_model_predict(mb, 1, 1, &pb));
    CHECK(pb == p);
    up[16] = 10.0f; /* the model reads the caller's memory */
    CHECK_OK(simdmf_model_predict(mb, 1, 1, &pb));
    CHECK(fabsf(pb - (3.0f + 0.2f + 0.5f + (10.0f * -1 + -1 * 4))) < 1e-4f);
    up[16] = 0.5f;
    {
        const float* table = NULL;
        size_t stride = 0, nb = 0;
        uint32_t rows = 0, kk = 0;
        const float* bias = NULL;
        float g = 0;
        CHECK_OK(simdmf_model_factor_table(mb, SIMDMF_USERS, &table, &stride, &rows, &kk));
        CHECK(table == up && stride == 16 && rows == 3 && kk == 2); /* zero copy */
        CHECK_OK(simdmf_model_factor_table(m, SIMDMF_ITEMS, &table, &stride, &rows, &kk));
        CHECK(table[stride] == v[1][0] && table[stride + 1] == v[1][1] && table[2] == 0.0f && rows == 2);
        CHECK_OK(simdmf_model_bias_table(m, SIMDMF_ITEMS, &bias, &nb, &g));
        CHECK(nb == 2 && bias[1] == ib[1] && g == 3.0f);
        CHECK_STATUS(simdmf_model_factor_table(m, 7, &table, NULL, NULL, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    }
    b.user_stride = 2; /* borrowing needs the padded stride */
    simdmf_model* bad = (simdmf_model*)1;
    CHECK_STATUS(simdmf_model_from_factors(&b, SIMDMF_FACTORS_BORROW, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(bad == NULL);
    b.user_stride = 16;
    up[5] = 1.0f; /* not zero past k */
    CHECK_STATUS(simdmf_model_from_factors(&b, SIMDMF_FACTORS_BORROW, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    up[5] = 0.0f;

    /* Bad tables. */
    simdmf_factor_tables e = t;
    e.user_ids = (const int64_t[]){1, 1, 2};
    CHECK_STATUS(simdmf_model_from_factors(&e, 0, &bad), SIMDMF_ERR_INVALID_DATA);
    e = t;
    e.item_bias = NULL;
    CHECK_STATUS(simdmf_model_from_factors(&e, 0, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    e = t;
    e.struct_size = 8;
    CHECK_STATUS(simdmf_model_from_factors(&e, 0, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    const float nan_row[2][2] = {{NAN, 1}, {1, 1}};
    e = t;
    e.item_factors = &nan_row[0][0];
    CHECK_STATUS(simdmf_model_from_factors(&e, 0, &bad), SIMDMF_ERR_INVALID_DATA);
    CHECK_STATUS(simdmf_model_from_factors(NULL, 0, &bad), SIMDMF_ERR_INVALID_ARGUMENT);

    /* Export then import: bit-identical predictions for every format that holds biases and ids. */
    const int formats[] = {SIMDMF_FACTORS_SPARK_JSON, SIMDMF_FACTORS_CSV, SIMDMF_FACTORS_NPY, SIMDMF_FACTORS_NPZ};
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; ++f) {
        char path[512];
        char name[32];
        snprintf(name, sizeof name, "export%d", formats[f]);
        tmp_path(path, sizeof path, name);
        CHECK_OK(simdmf_model_export(m, formats[f], path));
        simdmf_model* back = NULL;
        CHECK_OK(simdmf_model_import(formats[f], path, NULL, &back));
        simdmf_model* mapped = NULL;
        CHECK_OK(simdmf_model_import_flags(formats[f], path, NULL, SIMDMF_IMPORT_MAP, &mapped));
        for (uint32_t uu = 0; uu < 3; ++uu)
            for (uint32_t ii = 0; ii < 2; ++ii) {
                float a = 0, c = 1, d = 2;
                CHECK_OK(simdmf_model_predict(m, uu, ii, &a));
                CHECK_OK(simdmf_model_predict(back, uu, ii, &c));
                CHECK_OK(simdmf_model_predict(mapped, uu, ii, &d));
                CHECK(a == c);
                CHECK(a == d);
            }
        simdmf_model_free(back);
        simdmf_model_free(mapped);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
        CHECK(system(cmd) == 0);
    }
    char lpath[512];
    tmp_path(lpath, sizeof lpath, "model.libmf");
    CHECK_STATUS(simdmf_model_export(m, SIMDMF_FACTORS_LIBMF, lpath), SIMDMF_ERR_UNSUPPORTED); /* biases, ids */
    CHECK_STATUS(simdmf_model_export(m, 99, lpath), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_import(SIMDMF_FACTORS_NPZ, "/nonexistent/x.npz", NULL, &bad), SIMDMF_ERR_IO);
    CHECK_STATUS(simdmf_model_import_flags(SIMDMF_FACTORS_NPZ, lpath, NULL, 2, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    simdmf_model_free(mb);
    simdmf_model_free(m);
}

/* Neural CF through the same calls as MF: train GMF / MLP / NeuMF, predict, top-N, evaluate, save and
 * open (loaded and mapped); MF-only calls are UNSUPPORTED with a message naming the kind. */
static void test_ncf(void) {
    static const char* kinds[] = {"gmf", "mlp", "neumf"};
    const double layers[] = {8, 8, 4};
    simdmf_dataset* ds = NULL;
    int k;
    char path[512];
    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &ds));
    for (k = 0; k < 3; ++k) {
        simdmf_trainer* t = NULL;
        simdmf_model *m = NULL, *back = NULL, *mapped = NULL;
        const char* name = NULL;
        float p = 0, q = -1, sim = 0, row[COLS], row2[COLS], scores[3];
        uint32_t items[3];
        size_t n_out = 0;
        int r, good = 0, total = 0;
        simdmf_report* rep = NULL;
        CHECK_OK(simdmf_trainer_create(&t));
        CHECK_OK(simdmf_trainer_set_string(t, "model", kinds[k]));
        CHECK_OK(simdmf_trainer_set_array(t, "ncf_layers", layers, 3));
        CHECK_OK(simdmf_trainer_set(t, "k", 4));
        CHECK_OK(simdmf_trainer_set(t, "ncf_batch", 4));
        CHECK_OK(simdmf_trainer_set(t, "ncf_init_std", 0.3));
        CHECK_OK(simdmf_trainer_set(t, "lr", 0.02));
        CHECK_OK(simdmf_trainer_set(t, "epochs", 150));
        CHECK_STATUS(simdmf_trainer_set_string(t, "ncf_activation", "tanh"), SIMDMF_ERR_OUT_OF_RANGE);
        CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &m));
        if (!m) {
            simdmf_trainer_free(t);
            continue;
        }
        CHECK_OK(simdmf_model_name(m, &name));
        CHECK(name && strcmp(name, kinds[k]) == 0);
        /* It fits the small matrix it was trained on. */
        CHECK_OK(simdmf_model_predict_row(m, 1, row));
        for (r = 0; r < COLS; ++r)
            if (RATINGS[COLS + r] != 0) {
                ++total;
                good += fabs(row[r] - RATINGS[COLS + r]) < 0.5;
            }
        CHECK(good == total);
        CHECK_OK(simdmf_model_predict(m, 1, 2, &p));
        CHECK(fabs(p - row[2]) < 1e-5); /* the row's link is the SIMD sigmoid */
        CHECK_OK(simdmf_model_recommend(m, 1, 3, ds, items, scores, &n_out));
        CHECK(n_out == 3);
        CHECK_OK(simdmf_model_evaluate(m, ds, NULL, 0, 0, &rep));
        simdmf_report_free(rep);
        CHECK_STATUS(simdmf_model_similarity(m, SIMDMF_ITEMS, 0, 1, &sim), SIMDMF_ERR_UNSUPPORTED);
        CHECK(strstr(simdmf_last_error(), kinds[k]) != NULL);
        CHECK_STATUS(simdmf_model_factors(m, SIMDMF_USERS, 0, row2, NULL), SIMDMF_ERR_UNSUPPORTED);
        {
            const uint32_t fi[1] = {0};
            const float fv[1] = {4.0f};
            uint32_t nu = 0;
            CHECK_STATUS(simdmf_model_fold_in_user(m, fi, fv, 1, 0.1, -1, &nu), SIMDMF_ERR_UNSUPPORTED);
        }
        tmp_path(path, sizeof path, "ncf.smf");
        CHECK_OK(simdmf_model_save(m, path));
        CHECK_OK(simdmf_model_load(path, &back));
        CHECK_OK(simdmf_model_open(path, SIMDMF_OPEN_MMAP, &mapped));
        if (back && mapped) {
            CHECK_OK(simdmf_model_predict(back, 1, 2, &q));
            CHECK(q == p);
            CHECK_OK(simdmf_model_predict_row(mapped, 1, row2));
            CHECK(memcmp(row, row2, sizeof row) == 0);
        }
        remove(path);
        simdmf_model_free(mapped);
        simdmf_model_free(back);
        simdmf_model_free(m);
        simdmf_trainer_free(t);
    }
    simdmf_dataset_free(ds);
}

/* NeuMF from pretrained GMF and MLP (simdmf_model_neumf_from), trained on with simdmf_trainer_fit_from. */
static void test_ncf_pretrained(void) {
    const double layers[] = {8, 8, 4};
    simdmf_dataset *ds = NULL, *small = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model *g = NULL, *p = NULL, *n1 = NULL, *n0 = NULL, *n = NULL, *fit = NULL, *fit2 = NULL, *mf = NULL;
    simdmf_model* bad = (simdmf_model*)&bad;
    const char* name = NULL;
    float rg[COLS], rp[COLS], r1[COLS], r0[COLS], rf[COLS], rf2[COLS];
    int c;
    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS, COLS, &ds));
    CHECK_OK(simdmf_dataset_from_dense(RATINGS, ROWS - 1, COLS, &small));
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set_array(t, "ncf_layers", layers, 3));
    CHECK_OK(simdmf_trainer_set(t, "k", 4));
    CHECK_OK(simdmf_trainer_set(t, "ncf_batch", 4));
    CHECK_OK(simdmf_trainer_set(t, "ncf_init_std", 0.3));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 20));
    CHECK_OK(simdmf_trainer_set_string(t, "model", "gmf"));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &g));
    CHECK_OK(simdmf_trainer_set_string(t, "model", "mlp"));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &p));
    CHECK_OK(simdmf_trainer_set_string(t, "model", "mf"));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &mf));
    if (!g || !p || !mf) goto done;
    /* alpha 1 is the GMF, alpha 0 the MLP (same scores through the NeuMF's output unit). */
    CHECK_OK(simdmf_model_neumf_from(g, p, 1.0, &n1));
    CHECK_OK(simdmf_model_neumf_from(g, p, 0.0, &n0));
    CHECK_OK(simdmf_model_neumf_from(g, p, 0.5, &n));
    if (!n1 || !n0 || !n) goto done;
    CHECK_OK(simdmf_model_name(n, &name));
    CHECK(name && strcmp(name, "neumf") == 0);
    CHECK_OK(simdmf_model_predict_row(g, 2, rg));
    CHECK_OK(simdmf_model_predict_row(p, 2, rp));
    CHECK_OK(simdmf_model_predict_row(n1, 2, r1));
    CHECK_OK(simdmf_model_predict_row(n0, 2, r0));
    for (c = 0; c < COLS; ++c) {
        CHECK(fabs(r1[c] - rg[c]) < 1e-4);
        CHECK(fabs(r0[c] - rp[c]) < 1e-4);
    }
    CHECK_STATUS(simdmf_model_neumf_from(p, g, 0.5, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(bad == NULL);
    CHECK_STATUS(simdmf_model_neumf_from(g, mf, 0.5, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(simdmf_last_error(), "mf") != NULL);
    CHECK_STATUS(simdmf_model_neumf_from(g, p, 1.5, &bad), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_model_neumf_from(NULL, p, 0.5, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(simdmf_model_neumf_from(g, p, 0.5, NULL), SIMDMF_ERR_INVALID_ARGUMENT);
    /* Train it on: a NeuMF that moved from its start, the same twice; the start is unchanged. */
    CHECK_OK(simdmf_trainer_set_string(t, "model", "neumf"));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 5));
    CHECK_OK(simdmf_trainer_fit_from(t, ds, NULL, n1, &fit));
    CHECK_OK(simdmf_trainer_fit_from(t, ds, NULL, n1, &fit2));
    if (fit && fit2) {
        CHECK_OK(simdmf_model_predict_row(fit, 2, rf));
        CHECK_OK(simdmf_model_predict_row(fit2, 2, rf2));
        CHECK(memcmp(rf, rf2, sizeof rf) == 0);
        CHECK(memcmp(rf, r1, sizeof rf) != 0);
        CHECK_OK(simdmf_model_predict_row(n1, 2, rf2));
        CHECK(memcmp(rf2, r1, sizeof rf2) == 0);
    }
    bad = (simdmf_model*)&bad;
    CHECK_STATUS(simdmf_trainer_fit_from(t, small, NULL, n1, &bad), SIMDMF_ERR_INVALID_ARGUMENT); /* other users */
    CHECK(bad == NULL);
    CHECK_STATUS(simdmf_trainer_fit_from(t, ds, NULL, g, &bad), SIMDMF_ERR_INVALID_ARGUMENT); /* kind != model */
    CHECK(strstr(simdmf_last_error(), "gmf") != NULL);
    CHECK_STATUS(simdmf_trainer_fit_from(t, ds, NULL, mf, &bad), SIMDMF_ERR_UNSUPPORTED);
    CHECK_STATUS(simdmf_trainer_fit_from(t, ds, NULL, NULL, &bad), SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(bad == NULL);
done:
    simdmf_model_free(fit2);
    simdmf_model_free(fit);
    simdmf_model_free(n);
    simdmf_model_free(n0);
    simdmf_model_free(n1);
    simdmf_model_free(mf);
    simdmf_model_free(p);
    simdmf_model_free(g);
    simdmf_trainer_free(t);
    simdmf_dataset_free(small);
    simdmf_dataset_free(ds);
}

/* Issue 10, items 14 and 15: string ids through the ABI (kinds, text lookups both ways, text triples,
 * a string-id model saved and loaded), and the warnings a load recorded. */
static void test_text_ids_and_warnings(void) {
    const char* users[] = {"USER_894", "USER_12", "USER_894", "7"};
    const char* items[] = {"LOC_1", "LOC_2", "LOC_2", "LOC_1"};
    const float values[] = {1, 1, 1, 1};
    const char* dup_users[] = {"a", "a"};
    const char* dup_items[] = {"x", "x"};
    const char* bad_users[] = {"has space"};
    simdmf_dataset *ds = NULL, *ints = NULL, *loaded = NULL;
    simdmf_trainer* t = NULL;
    simdmf_model *m = NULL, *m2 = NULL;
    char buf[64], path[512], mpath[512];
    size_t len = 0, count = 0;
    uint32_t idx = 99, nu = 0, ni = 0;
    int kind = -1, pass;
    const char* w = NULL;

    CHECK_OK(simdmf_dataset_from_text_triples(users, items, values, 4, &ds));
    CHECK_OK(simdmf_dataset_shape(ds, NULL, &nu, &ni));
    CHECK(nu == 3 && ni == 2);
    CHECK_OK(simdmf_dataset_id_kind(ds, SIMDMF_USERS, &kind));
    CHECK(kind == SIMDMF_IDS_STRING);
    CHECK_OK(simdmf_dataset_index_text(ds, SIMDMF_USERS, "USER_12", &idx));
    CHECK(idx == 1);
    CHECK_OK(simdmf_dataset_index_text(ds, SIMDMF_USERS, "7", &idx));
    CHECK(idx == 2);
    CHECK_STATUS(simdmf_dataset_index_text(ds, SIMDMF_ITEMS, "LOC_9", &idx), SIMDMF_ERR_NOT_FOUND);
    CHECK(strstr(simdmf_last_error(), "LOC_9") != NULL);
    CHECK_OK(simdmf_dataset_id_text(ds, SIMDMF_USERS, 0, NULL, 0, &len));
    CHECK(len == 8);
    CHECK_OK(simdmf_dataset_id_text(ds, SIMDMF_USERS, 0, buf, 5, &len));
    CHECK(strcmp(buf, "USER") == 0 && len == 8); /* truncated as snprintf does */
    CHECK_STATUS(simdmf_dataset_id_text(ds, SIMDMF_USERS, 3, buf, sizeof buf, &len), SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_STATUS(simdmf_dataset_from_text_triples(dup_users, dup_items, values, 2, &ints), SIMDMF_ERR_INVALID_DATA);
    CHECK(ints == NULL);
    CHECK_STATUS(simdmf_dataset_from_text_triples(bad_users, items, values, 1, &ints), SIMDMF_ERR_INVALID_DATA);
    CHECK_STATUS(simdmf_dataset_from_text_triples(NULL, items, values, 1, &ints), SIMDMF_ERR_INVALID_ARGUMENT);
    {
        const char* iu[] = {"196", "186"};
        const char* ii[] = {"242", "302"};
        CHECK_OK(simdmf_dataset_from_text_triples(iu, ii, values, 2, &ints));
        CHECK_OK(simdmf_dataset_id_kind(ints, SIMDMF_ITEMS, &kind));
        CHECK(kind == SIMDMF_IDS_INTEGER);
        simdmf_dataset_free(ints);
    }

    /* A model of string ids, loaded back: the same lookups through the model. */
    CHECK_OK(simdmf_trainer_create(&t));
    CHECK_OK(simdmf_trainer_set(t, "k", 2));
    CHECK_OK(simdmf_trainer_set(t, "epochs", 2));
    CHECK_OK(simdmf_trainer_fit(t, ds, NULL, &m));
    tmp_path(mpath, sizeof mpath, "strings.smf");
    CHECK_OK(simdmf_model_save(m, mpath));
    CHECK_OK(simdmf_model_load(mpath, &m2));
    remove(mpath);
    for (pass = 0; pass < 2; ++pass) {
        const simdmf_model* mm = pass == 0 ? m : m2;
        CHECK_OK(simdmf_model_id_kind(mm, SIMDMF_USERS, &kind));
        CHECK(kind == SIMDMF_IDS_STRING);
        CHECK_OK(simdmf_model_index_text(mm, SIMDMF_ITEMS, "LOC_2", &idx));
        CHECK(idx == 1);
        CHECK_OK(simdmf_model_id_text(mm, SIMDMF_USERS, 1, buf, sizeof buf, &len));
        CHECK(strcmp(buf, "USER_12") == 0 && len == 7);
        CHECK_STATUS(simdmf_model_index_text(mm, SIMDMF_USERS, "USER_0", &idx), SIMDMF_ERR_NOT_FOUND);
        CHECK_STATUS(simdmf_model_index_text(mm, SIMDMF_USERS, NULL, &idx), SIMDMF_ERR_INVALID_ARGUMENT);
    }

    /* Without id maps the text of an index is its decimal. */
    {
        const uint32_t tu[] = {0, 1}, ti[] = {1, 0};
        CHECK_OK(simdmf_dataset_from_triples(tu, ti, values, 2, 0, 0, &ints));
        CHECK_OK(simdmf_dataset_id_kind(ints, SIMDMF_USERS, &kind));
        CHECK(kind == SIMDMF_IDS_INDICES);
        CHECK_OK(simdmf_dataset_index_text(ints, SIMDMF_ITEMS, "1", &idx));
        CHECK(idx == 1);
        CHECK_STATUS(simdmf_dataset_index_text(ints, SIMDMF_ITEMS, "2", &idx), SIMDMF_ERR_NOT_FOUND);
        CHECK_OK(simdmf_dataset_id_text(ints, SIMDMF_USERS, 1, buf, sizeof buf, NULL));
        CHECK(strcmp(buf, "1") == 0);
        CHECK_OK(simdmf_dataset_warning_count(ints, &count));
        CHECK(count == 0);
        simdmf_dataset_free(ints);
    }

    /* A file whose third column looks like counts: the load's warning is readable through the ABI. */
    tmp_path(path, sizeof path, "counts.data");
    {
        FILE* f = fopen(path, "w");
        int u;
        CHECK(f != NULL);
        for (u = 0; u < 40; ++u) fprintf(f, "%d\t%d\t%d\n", u, u % 5, 100 * u + 7);
        fclose(f);
    }
    CHECK_OK(simdmf_dataset_load(path, SIMDMF_FORMAT_AUTO, &loaded));
    remove(path);
    CHECK_OK(simdmf_dataset_warning_count(loaded, &count));
    CHECK(count >= 1);
    CHECK_OK(simdmf_dataset_warning(loaded, 0, &w));
    CHECK(w != NULL && strstr(w, "counts") != NULL);
    CHECK_STATUS(simdmf_dataset_warning(loaded, count, &w), SIMDMF_ERR_OUT_OF_RANGE);

    /* ds's values are all 1: the fit says the model is trivial; a mixed set clears the warning. */
    CHECK_OK(simdmf_trainer_warning_count(t, &count));
    CHECK(count == 1);
    CHECK_OK(simdmf_trainer_warning(t, 0, &w));
    CHECK(strstr(w, "training values are 1") != NULL);
    CHECK_STATUS(simdmf_trainer_warning(t, 1, &w), SIMDMF_ERR_OUT_OF_RANGE);
    {
        const uint32_t tu[] = {0, 1, 1}, ti[] = {1, 0, 1};
        const float tv[] = {1, 2, 3};
        simdmf_model* m3 = NULL;
        CHECK_OK(simdmf_dataset_from_triples(tu, ti, tv, 3, 0, 0, &ints));
        CHECK_OK(simdmf_trainer_fit(t, ints, NULL, &m3));
        CHECK_OK(simdmf_trainer_warning_count(t, &count));
        CHECK(count == 0);
        simdmf_model_free(m3);
        simdmf_dataset_free(ints);
    }

    simdmf_dataset_free(loaded);
    simdmf_model_free(m2);
    simdmf_model_free(m);
    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
}

int main(void) {
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/simdmf-capi-XXXXXX");
    if (!mkdtemp(g_tmpdir)) {
        perror("mkdtemp");
        return 2;
    }

    test_version_and_status();
    test_datasets();
    test_split();
    test_options();
    test_option_registry();
    test_mf();
    test_logistic();
    test_callback_and_history();
    test_determinism();
    test_als();
    test_ncf();
    test_ncf_pretrained();
    test_implicit();
    test_load_dataset();
    test_id_maps();
    test_evaluate();
    test_ranking_protocol();
    test_id_spaces();
    test_cross_validate();
    test_tune_options();
    test_tune();
    test_last_error_is_sticky();
    test_factors();
    test_text_ids_and_warnings();
    test_free_null();

    rmdir(g_tmpdir);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}
