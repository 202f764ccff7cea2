// Synthetic rating data with a known structure: planted low-rank scores plus biases plus noise.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dataset.hpp"

namespace simdmf {

struct PlantedSpec {
    std::uint32_t n_users = 943;   // MovieLens-100K shaped by default
    std::uint32_t n_items = 1682;
    std::uint64_t n_ratings = 100000;
    std::uint32_t rank = 5;
    double factor_std = 0.0;       // 0: rank^(-1/4), so that U.V has variance 1
    double bias_std = 0.3;         // user and item bias spread
    double mean = 3.5;
    double noise_std = 0.5;
    bool integer_ratings = true;   // round to integers
    double min_rating = 1.0, max_rating = 5.0;  // clip
    double item_popularity = 1.0;  // 0: uniform items; >0: Zipf-like exponent (MovieLens-like skew)
    std::uint64_t seed = 2024;
};

// The planted model behind a generated set: U (n_users x rank) and V (n_items x rank), row-major, and
// the biases; a rating is clip(mean + bu[u] + bi[i] + U[u].V[i] + noise), rounded if integer_ratings.
struct PlantedTruth {
    std::uint32_t rank = 0;
    std::vector<float> U, V, bu, bi;
};

// What is wrong with a spec, or "" when it can be generated: every real finite, spreads >= 0,
// min_rating <= max_rating, 0 < n_ratings <= cells / 2.
std::string planted_spec_problem(const PlantedSpec& spec);

// Ratings on distinct (user, item) cells (SIMDMF_ERR_INVALID_ARGUMENT with planted_spec_problem's text). n_ratings must be below n_users*n_items/2. When `truth` is
// given it receives the planted model (for oracle bounds); the ratings are the same either way.
Ratings make_planted(const PlantedSpec& spec, PlantedTruth* truth = nullptr);

// The synthetic set of issue 4's training benchmark (`simdmf gen --preset large`, bench_train_synth):
// 50,000 users x 10,000 items, 5.5M ratings on distinct uniform cells, rank 10, factors N(0, 10^-0.5),
// rating = clip(3 + U.V + N(0, 0.5^2), 1, 5) unrounded, no biases, seed 4; split::random with the
// fraction and seed below gives 5,000,000 training and 500,000 test ratings.
PlantedSpec large_preset();
inline constexpr double kLargeTestFraction = 1.0 / 11.0;
inline constexpr std::uint64_t kLargeSplitSeed = 5;

// Labels +1 where value >= threshold, else -1.
Ratings binarize(const Ratings& r, float threshold);

}  // namespace simdmf
