// Serving over the model family's interface: top-N items for a user (seen items excluded), and the
// similarity calls of factor models (cosine, nearest users / items). Every call is const on the model
// and safe from many threads. Scores come a row at a time (Model::score_block), so a model kind serves
// here by implementing the interface; similarity needs factor tables (UNSUPPORTED without them).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "models/model.hpp"

namespace simdmf::serve {

using Scored = std::pair<std::uint32_t, float>;

// Top-n items for user u by score, best first (ties by lower index), leaving out `exclude` (sorted,
// unique item indices) and NaN scores; the values returned are the predictions. Ranking by the score,
// not the clamped prediction, keeps the order among items whose predictions clamp to the same maximum.
// OUT_OF_RANGE for an unknown user.
std::vector<Scored> recommend(const Model& m, std::uint32_t u, std::size_t n,
                              std::span<const std::uint32_t> exclude);

// Top-n for a new user (no factor row: Model::fallback_row, for MF mu + b_i), as recommend ranks.
std::vector<Scored> recommend_new_user(const Model& m, std::size_t n, std::span<const std::uint32_t> exclude);

// Cosine similarity of two users' (or items') factor rows, 0 when either is zero.
float cosine(const Model& m, int side, std::uint32_t a, std::uint32_t b);

// The n most cosine-similar users/items to index, itself excluded, best first.
std::vector<Scored> nearest(const Model& m, int side, std::uint32_t index, std::size_t n);

// The n best of count scores (ties by lower index), skipping `exclude` (ascending), the index `skip`
// and NaN.
std::vector<Scored> top_n(const float* scores, std::uint32_t count, std::size_t n,
                          std::span<const std::uint32_t> exclude, std::uint32_t skip);

}  // namespace simdmf::serve
