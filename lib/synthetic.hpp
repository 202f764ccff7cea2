// Synthetic rating data with a known structure: planted low-rank scores plus biases plus noise.
#pragma once
#include <cstdint>

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

// Ratings on distinct (user, item) cells. n_ratings must be below n_users*n_items/2.
Ratings make_planted(const PlantedSpec& spec);

// Labels +1 where value >= threshold, else -1.
Ratings binarize(const Ratings& r, float threshold);

}  // namespace simdmf
