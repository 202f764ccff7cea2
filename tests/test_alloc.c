/* The serving calls allocate nothing per call: malloc, calloc, realloc and the aligned allocators are
 * replaced here (forwarding to glibc's) and counted while a call runs; predict, predict_batch,
 * predict_row, recommend, recommend_filtered and recommend_batch (with a warmed scratch) must make 0
 * allocations. Also checks the batch and filtered calls against the one-user call through the ABI.
 * Not built under sanitizers (they own malloc). */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simdmf/simdmf.h"

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

static int g_counting = 0;
static long g_allocs = 0;

void* malloc(size_t n) {
    if (g_counting) ++g_allocs;
    return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
    if (g_counting) ++g_allocs;
    return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
    if (g_counting) ++g_allocs;
    return __libc_realloc(p, n);
}
void* memalign(size_t al, size_t n) {
    if (g_counting) ++g_allocs;
    return __libc_memalign(al, n);
}
void* aligned_alloc(size_t al, size_t n) {
    if (g_counting) ++g_allocs;
    return __libc_memalign(al, n);
}
int posix_memalign(void** out, size_t al, size_t n) {
    if (g_counting) ++g_allocs;
    *out = __libc_memalign(al, n);
    return *out ? 0 : 12;
}
void free(void* p) { __libc_free(p); }

static int g_pass = 0, g_fail = 0;
#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (cond) ++g_pass;                                                                                  \
        else {                                                                                               \
            ++g_fail;                                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond,          \
                    simdmf_last_error());                                                                    \
        }                                                                                                    \
    } while (0)
#define CHECK_OK(call) CHECK((call) == SIMDMF_OK)

/* Runs `call` with counting on; checks it returned OK and allocated nothing. */
#define NO_ALLOC(name, call)                                                                                 \
    do {                                                                                                     \
        simdmf_status st_;                                                                                   \
        g_allocs = 0;                                                                                        \
        g_counting = 1;                                                                                      \
        st_ = (call);                                                                                        \
        g_counting = 0;                                                                                      \
        CHECK(st_ == SIMDMF_OK);                                                                             \
        if (g_allocs != 0) fprintf(stderr, "%s: %ld allocations\n", name, g_allocs);                        \
        CHECK(g_allocs == 0);                                                                                \
    } while (0)

#define K 16
#define USERS 50
#define ITEMS 3000
#define N 10
#define BATCH 20

static uint64_t g_state = 88172645463325252ull;
static float next_float(void) {
    g_state ^= g_state << 13;
    g_state ^= g_state >> 7;
    g_state ^= g_state << 17;
    return (float)((g_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

int main(void) {
    static float P[USERS * K], Q[ITEMS * K], bu[USERS], bi[ITEMS];
    uint32_t su[400], si[400];
    float sv[400];
    size_t j, b;
    for (j = 0; j < USERS * K; ++j) P[j] = next_float();
    for (j = 0; j < ITEMS * K; ++j) Q[j] = next_float();
    for (j = 0; j < USERS; ++j) bu[j] = 0.1f * next_float();
    for (j = 0; j < ITEMS; ++j) bi[j] = 0.1f * next_float();
    for (j = 0; j < 400; ++j) {
        su[j] = (uint32_t)(j % USERS);
        si[j] = (uint32_t)((j * 7919u) % ITEMS);
        sv[j] = 1.0f;
    }
    simdmf_factor_tables t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.k = K;
    t.n_users = USERS;
    t.n_items = ITEMS;
    t.user_factors = P;
    t.item_factors = Q;
    t.user_bias = bu;
    t.item_bias = bi;
    t.global_bias = 3.0f;
    t.kind = SIMDMF_MODEL_MF;
    t.min_prediction = -INFINITY;
    t.max_prediction = INFINITY;
    simdmf_model* m = NULL;
    simdmf_dataset* seen = NULL;
    simdmf_scratch* s = NULL;
    CHECK_OK(simdmf_model_from_factors(&t, SIMDMF_FACTORS_COPY, &m));
    CHECK_OK(simdmf_dataset_from_triples(su, si, sv, 400, USERS, ITEMS, &seen));
    CHECK_OK(simdmf_scratch_create(&s));
    if (!m || !seen || !s) return 1;

    uint32_t users[BATCH], pu[64], pi[64], items[BATCH * N], one[N];
    float out[64], row[ITEMS], scores[BATCH * N], one_s[N];
    size_t counts[BATCH], n_out = 0;
    uint32_t deny[100];
    for (j = 0; j < 64; ++j) pu[j] = (uint32_t)(j % USERS), pi[j] = (uint32_t)((j * 31) % ITEMS);
    for (b = 0; b < BATCH; ++b) users[b] = (uint32_t)((b * 7) % USERS);
    for (j = 0; j < 100; ++j) deny[j] = (uint32_t)(j * 29);
    simdmf_filter f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.exclude = seen;
    f.deny = deny;
    f.n_deny = 100;

    /* Warm up: the data set's seen-item index, the scratch, the per-thread state. */
    CHECK_OK(simdmf_model_recommend(m, 0, N, seen, one, one_s, &n_out));
    CHECK_OK(simdmf_model_recommend_batch(m, users, BATCH, N, &f, s, items, scores, counts));
    CHECK_OK(simdmf_model_recommend_batch(m, users, BATCH, N, &f, s, items, NULL, counts));
    CHECK_OK(simdmf_model_nearest_batch(m, SIMDMF_ITEMS, SIMDMF_METRIC_COSINE, users, BATCH, N, s, items, scores,
                                        counts));
    CHECK_OK(simdmf_model_predict(m, 0, 0, out));

    NO_ALLOC("predict", simdmf_model_predict(m, 3, 7, out));
    NO_ALLOC("predict_batch", simdmf_model_predict_batch(m, pu, pi, 64, out));
    NO_ALLOC("predict_row", simdmf_model_predict_row(m, 4, row));
    NO_ALLOC("recommend", simdmf_model_recommend(m, 5, N, seen, one, one_s, &n_out));
    NO_ALLOC("recommend (no scores)", simdmf_model_recommend(m, 5, N, NULL, one, NULL, &n_out));
    NO_ALLOC("recommend_filtered", simdmf_model_recommend_filtered(m, 5, N, &f, one, one_s, &n_out));
    NO_ALLOC("recommend_batch", simdmf_model_recommend_batch(m, users, BATCH, N, &f, s, items, scores, counts));
    NO_ALLOC("recommend_batch (no scores)", simdmf_model_recommend_batch(m, users, BATCH, N, &f, s, items, NULL, counts));
    NO_ALLOC("nearest_batch", simdmf_model_nearest_batch(m, SIMDMF_ITEMS, SIMDMF_METRIC_COSINE, users, BATCH, N, s,
                                                        items, scores, counts));
    /* The counter works: a call that does allocate is seen. */
    {
        simdmf_scratch* s2 = NULL;
        g_allocs = 0;
        g_counting = 1;
        simdmf_scratch_create(&s2);
        g_counting = 0;
        CHECK(g_allocs > 0);
        simdmf_scratch_free(s2);
    }

    /* The batch gives each user the filtered one-user list; no seen or denied item appears. */
    CHECK_OK(simdmf_model_recommend_batch(m, users, BATCH, N, &f, s, items, scores, counts));
    for (b = 0; b < BATCH; ++b) {
        int same = 1, clean = 1;
        CHECK_OK(simdmf_model_recommend_filtered(m, users[b], N, &f, one, one_s, &n_out));
        CHECK(n_out == N && counts[b] == N);
        for (j = 0; j < N; ++j) {
            size_t r;
            if (fabsf(one_s[j] - scores[b * N + j]) > 1e-4f) same = 0;
            for (r = 0; r < 400; ++r)
                if (su[r] == users[b] && si[r] == items[b * N + j]) clean = 0;
            for (r = 0; r < 100; ++r)
                if (deny[r] == items[b * N + j]) clean = 0;
        }
        CHECK(same);
        CHECK(clean);
    }
    /* Caller-given seen lists (CSR) and an allow-list. */
    {
        uint64_t off[USERS + 1];
        uint32_t lists[USERS];
        uint32_t allow[5] = {3, 10, 11, 2000, 2999};
        simdmf_filter g;
        for (j = 0; j < USERS; ++j) off[j] = j, lists[j] = 10;  /* every user has seen item 10 */
        off[USERS] = USERS;
        memset(&g, 0, sizeof g);
        g.struct_size = sizeof g;
        g.seen_offsets = off;
        g.seen_items = lists;
        g.seen_users = USERS;
        g.allow = allow;
        g.n_allow = 5;
        CHECK_OK(simdmf_model_recommend_batch(m, users, BATCH, N, &g, s, items, scores, counts));
        for (b = 0; b < BATCH; ++b) {
            CHECK(counts[b] == 4);
            for (j = 0; j < counts[b]; ++j) CHECK(items[b * N + j] != 10);
        }
        allow[1] = 3; /* not ascending */
        CHECK(simdmf_model_recommend_batch(m, users, BATCH, N, &g, s, items, scores, counts) ==
              SIMDMF_ERR_INVALID_ARGUMENT);
        g.struct_size = 0;
        CHECK(simdmf_model_recommend_filtered(m, 0, N, &g, one, one_s, &n_out) == SIMDMF_ERR_INVALID_ARGUMENT);
    }
    /* The same calls on quantized tables (fp16; int8 with fp32 re-ranking of 4 n candidates). */
    {
        int tt, has;
        for (tt = SIMDMF_TABLE_FP16; tt <= SIMDMF_TABLE_INT8; ++tt) {
            CHECK_OK(simdmf_model_quantize(m, tt, 1));
            CHECK_OK(simdmf_model_set_rerank(m, tt == SIMDMF_TABLE_INT8 ? 4u : 0u));
            CHECK_OK(simdmf_model_table(m, &has, NULL));
            CHECK(has == tt);
            CHECK_OK(simdmf_model_recommend_batch(m, users, BATCH, N, &f, s, items, scores, counts));
            CHECK_OK(simdmf_model_recommend(m, 5, N, seen, one, one_s, &n_out));
            CHECK(n_out == N);
            NO_ALLOC("quantized predict", simdmf_model_predict(m, 3, 7, out));
            NO_ALLOC("quantized predict_batch", simdmf_model_predict_batch(m, pu, pi, 64, out));
            NO_ALLOC("quantized predict_row", simdmf_model_predict_row(m, 4, row));
            NO_ALLOC("quantized recommend", simdmf_model_recommend(m, 5, N, seen, one, one_s, &n_out));
            NO_ALLOC("quantized recommend_filtered", simdmf_model_recommend_filtered(m, 5, N, &f, one, one_s, &n_out));
            NO_ALLOC("quantized recommend_batch",
                     simdmf_model_recommend_batch(m, users, BATCH, N, &f, s, items, scores, counts));
        }
        CHECK_OK(simdmf_model_quantize(m, SIMDMF_TABLE_FP32, 1));
    }
    users[3] = USERS;
    CHECK(simdmf_model_recommend_batch(m, users, BATCH, N, NULL, s, items, scores, counts) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(simdmf_model_nearest_batch(m, SIMDMF_ITEMS, 7, users, 1, N, s, items, scores, counts) ==
          SIMDMF_ERR_INVALID_ARGUMENT);

    simdmf_scratch_free(s);
    simdmf_scratch_free(NULL);
    simdmf_dataset_free(seen);
    simdmf_model_free(m);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}
