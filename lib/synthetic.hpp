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

// Implicit play counts of the shape of Last.fm 360K (issue 15's benchmark set): n_events distinct
// (user, item) pairs, each with a count. Items by a Zipf-like popularity (weight 1 / (1 + r)^popularity
// for the item of popularity rank r, the ranks a seeded permutation of the ids); each user's number of
// distinct items uniform in 1 .. 2 * mean - 1 (Last.fm 360K lists up to ~50 artists a user), adjusted so
// the total is n_events exactly; counts 1 + floor(Pareto(1, 1.2)), at most 100,000. No planted taste: a
// set for timing, not for accuracy.
struct ImplicitSpec {
    std::uint32_t n_users = 360000;
    std::uint32_t n_items = 160000;
    std::uint64_t n_events = 17500000;
    double item_popularity = 1.0;
    std::uint64_t seed = 2024;
};
// `scale` in (0, 1]: users, items and events times scale (a scaled-down set of the same shape).
ImplicitSpec lastfm_preset(double scale = 1.0);
// SIMDMF_ERR_INVALID_ARGUMENT unless n_users <= n_events <= n_users * n_items / 4, n_items >= 4 and the mean
// events a user <= n_items / 4.
Ratings make_implicit(const ImplicitSpec& spec);

// Labels +1 where value >= threshold, else -1.
Ratings binarize(const Ratings& r, float threshold);

}  // namespace simdmf
