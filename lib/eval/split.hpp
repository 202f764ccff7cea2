// Train / test splits of a Ratings set. Every split is reproducible from its seed (simdmf::Rng), keeps
// the dimensions and id maps of the input (Ratings::subset), keeps timestamps when present, and lists
// the ratings of each part in their original order. Bad fractions / counts throw
// simdmf::Error(SIMDMF_ERR_INVALID_ARGUMENT).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "dataset.hpp"

namespace simdmf::split {

// A uniformly random test part of exactly round(n * test_fraction) ratings; 0 < test_fraction < 1.
std::pair<Ratings, Ratings> random(const Ratings& data, double test_fraction, std::uint64_t seed);

// `folds` (>= 2, <= number of ratings) pairs (train, test); the test parts are disjoint, cover every
// rating, and differ in size by at most one.
std::vector<std::pair<Ratings, Ratings>> kfold(const Ratings& data, unsigned folds, std::uint64_t seed);

// The fold (0..folds-1) of each of n ratings, as kfold assigns them; with kfold_part, one fold's
// (train, test) pair at a time (what kfold returns at index `fold`) without holding all folds in memory.
std::vector<std::uint32_t> kfold_assignment(std::size_t n, unsigned folds, std::uint64_t seed);
std::pair<Ratings, Ratings> kfold_part(const Ratings& data, const std::vector<std::uint32_t>& fold_of, unsigned fold);

// For every user with more than n_test ratings, n_test of them (chosen at random) go to test; users with
// n_test or fewer ratings stay wholly in train. n_test >= 1.
std::pair<Ratings, Ratings> per_user(const Ratings& data, unsigned n_test, std::uint64_t seed);

// Per-user holdout of a fraction of events: each user with c events sends round(c * test_fraction) of
// them, chosen at random, to test, but at most c - 1 (every user keeps at least one training event; a
// user with one event stays wholly in train). 0 < test_fraction < 1.
std::pair<Ratings, Ratings> per_user_fraction(const Ratings& data, double test_fraction, std::uint64_t seed);

// Leave-one-out: each user with at least two events sends exactly one to test, the latest by timestamp
// (ties: the later row) when `latest` is set, otherwise one chosen at random from the seed; users with
// one event stay in train. latest without timestamps is INVALID_ARGUMENT.
std::pair<Ratings, Ratings> leave_one_out(const Ratings& data, bool latest, std::uint64_t seed);

// The latest round(n * test_fraction) ratings by timestamp go to test (ties broken by position, later
// rows count as later). 0 < test_fraction < 1; INVALID_ARGUMENT when the data has no timestamps.
std::pair<Ratings, Ratings> by_time(const Ratings& data, double test_fraction);

struct Three {
    Ratings train, valid, test;
};

// Three-way split that guarantees every user and every item with at least min_count (>= 3) ratings has at
// least one rating in each of train, valid and test. Ratings that touch a user or item with fewer than
// min_count ratings start in train; the others are split at random so valid and test hold
// round(n * fraction) ratings when enough ratings are eligible. A repair pass then flips as few ratings
// as it needs (alternating-path swaps, always possible since users x items is bipartite) to meet the
// guarantee (and may move a rating touching a rare user or item out of train when its other side needs
// it); finally valid / test ratings beyond their targets go back to train where coverage allows, so the
// sizes end at the targets unless the guarantee itself needs more.
// valid_fraction > 0, test_fraction > 0, sum < 1.
Three covering(const Ratings& data, double valid_fraction, double test_fraction, std::uint64_t seed,
               unsigned min_count = 3);

}  // namespace simdmf::split
