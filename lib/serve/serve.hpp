// Serving over the model family's interface: top-N items for one user or a batch of users (seen items,
// allow- and deny-lists applied), and the similarity calls of factor models (cosine, nearest users /
// items by cosine or dot, one query or a batch). Every call is const on the model and safe from many
// threads (each with its own Scratch). Memory is bounded by the batch and n, never by users x items:
// scores are made a block of items at a time (Model::score_block for one user; for a batch of a factor
// model, the users packed once and each block of items scored for all of them by the gemm_packed
// kernel), each
// user's best n kept in a bounded heap that lives in the caller's output arrays, and only the n
// results turned into predictions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "models/model.hpp"
#include "serve/seen.hpp"

namespace simdmf::serve {

using Scored = std::pair<std::uint32_t, float>;

// Which items a top-N list may hold. Lists are ascending and unique (checked by the C ABI).
struct Filter {
    ItemLists seen;                        // per user: left out (a SeenItems' view, or the caller's)
    const std::uint32_t* allow = nullptr;  // non-null: only these items (n_allow of them, < n_items)
    std::size_t n_allow = 0;
    const std::uint32_t* deny = nullptr;   // left out for every user
    std::size_t n_deny = 0;
};

enum class Metric { cosine = 0, dot = 1 };  // the C ABI's SIMDMF_METRIC_* values

// One query's selection while scoring: a bounded heap of its best n (worst at the root) in the
// caller's output arrays, and cursors into its ascending exclusion lists.
struct Selection {
    std::uint32_t* items;
    float* values;
    std::size_t n, count;
    const std::uint32_t *seen, *seen_end;
    const std::uint32_t *deny, *deny_end;
    std::uint32_t skip;
};

// Working memory of the batch paths, grown on first use to what (model, batch, n) needs and then
// reused: a call that fits what a Scratch already holds allocates nothing. One per thread.
class Scratch {
public:
    std::size_t bytes() const;  // held now
    // internal
    std::vector<float> scores, panels, norms, query_norms, thresholds;
    std::vector<const float*> rows, item_rows;
    std::vector<std::uint8_t> hits;  // fp32 batch: the block's rows with a score above a threshold
    std::vector<Selection> sel;
    std::vector<std::uint32_t> cand_items;  // re-ranking on quantized tables: each user's candidates
    std::vector<float> cand_values;
    std::vector<std::int8_t> qpanels;  // int8 batch: the users packed for gemm_i8, their sums and scales
    std::vector<std::int32_t> qsums;
    std::vector<float> qscales;
    std::vector<float> conv, user_conv;  // fp16 batch: a block of items and the users widened to fp32
};

// A quantized MF model (models/quant.hpp) scores with its fp16 / int8 tables on every path here; when it
// keeps its fp32 tables and its rerank factor is 2 or more, top-N lists take rerank * n candidates (at
// most 4,096) from the quantized scan and return the best n of them re-scored in fp32.
//
// Top-n items for user u, best first by score (ties by lower item index), NaN scores and filtered
// items left out; writes up to n items and their predictions (ranking by the unclamped score keeps
// the order among items whose predictions clamp to the same maximum) and returns how many. `values`
// holds n floats (it is the heap while scoring). Allocates nothing. OUT_OF_RANGE for an unknown user.
std::size_t recommend_into(const Model& m, std::uint32_t u, std::size_t n, const Filter& f,
                           std::uint32_t* items, float* values);

// The same for users[0 .. n_users): user b's list at items + b * n, values + b * n, its length in
// counts[b] (strides ld_*). Allocates nothing once `s` holds what this (model, batch, n) needs. The results are those
// of recommend_into for each user, up to the summation order of the scores (the batch path of a factor
// model sums in a different order than one user's row).
// ld_items, ld_values (>= n): the strides of the outputs (user b's list at items + b * ld_items).
void recommend_batch(const Model& m, const std::uint32_t* users, std::size_t n_users, std::size_t n,
                     const Filter& f, Scratch& s, std::uint32_t* items, std::size_t ld_items, float* values,
                     std::size_t ld_values, std::size_t* counts);

// Top-n items for user u, leaving out `exclude` (ascending unique item indices): recommend_into into
// a vector.
std::vector<Scored> recommend(const Model& m, std::uint32_t u, std::size_t n,
                              std::span<const std::uint32_t> exclude);

// Top-n for a new user (no factor row: Model::fallback_row, for MF mu + b_i), as recommend ranks.
std::vector<Scored> recommend_new_user(const Model& m, std::size_t n, std::span<const std::uint32_t> exclude);

// Cosine similarity of two users' (or items') factor rows, 0 when either is zero.
float cosine(const Model& m, int side, std::uint32_t a, std::uint32_t b);

// The n users/items most similar to each query (by cosine, clamped to [-1, 1] and 0 against a zero
// row, or by dot product), the query itself left out, best first (ties by lower index): query b's at
// out + b * n, sims + b * n, its length in counts[b]. Allocates nothing once `s` holds what it needs.
// UNSUPPORTED without factor tables.
void nearest_batch(const Model& m, int side, Metric metric, const std::uint32_t* queries, std::size_t n_queries,
                   std::size_t n, Scratch& s, std::uint32_t* out, std::size_t ld_out, float* sims,
                   std::size_t ld_sims, std::size_t* counts);

// The n most cosine-similar users/items to index, itself excluded, best first.
std::vector<Scored> nearest(const Model& m, int side, std::uint32_t index, std::size_t n);

// The n best of count scores (ties by lower index), skipping `exclude` (ascending), the index `skip`
// and NaN.
std::vector<Scored> top_n(const float* scores, std::uint32_t count, std::size_t n,
                          std::span<const std::uint32_t> exclude, std::uint32_t skip);

}  // namespace simdmf::serve
