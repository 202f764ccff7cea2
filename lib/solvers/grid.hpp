// The training ratings reordered once for locality: a side x side grid of (user range) x (item range)
// blocks, each block's ratings stored contiguously with 16-bit block-local indices (8 bytes a rating)
// and sorted by user (stable: a user's ratings keep the input order), then interleaved across a few
// users at a time (see interleave()).
//
// Users are cut into `side` contiguous id ranges holding about equal numbers of ratings, at most 65536
// ids each (items likewise, balanced_cuts()); block (a, b) holds the ratings of the a-th user range on
// the b-th item range.
// Two blocks in different grid rows and columns touch disjoint factor rows and biases: the unit of
// parallel work in the SGD solver (lib/solvers/sgd.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataset.hpp"

namespace simdmf {

struct GridEntry {
    std::uint16_t u, i;  // block-local user and item
    float v;
};
static_assert(sizeof(GridEntry) == 8);

class RatingGrid {
public:
    // side >= 1 and large enough that users_per_block and items_per_block are <= 65536 (min_side()).
    // lanes > 1: within each block, ratings of `lanes` users are interleaved (see interleave()).
    // With `release` (the same object as r), the pages of r's arrays are handed back to the OS as
    // their ratings are copied, and r is left with no ratings (dimensions and id maps kept): the peak
    // then holds about one copy of the ratings instead of two. The grid is the same either way.
    // threads: at most that many threads build it (passes over input chunks, then blocks); the grid is
    // the same for any number. Checks the indices in its first pass (train() leaves that to it for
    // SGD): an index >= n_users / n_items throws OUT_OF_RANGE naming the rating, before anything of r
    // is released.
    RatingGrid(const Ratings& r, std::uint32_t side, std::uint32_t lanes = kDefaultLanes, Ratings* release = nullptr,
               unsigned threads = 1);
    static constexpr std::uint32_t kDefaultLanes = 8;

    // The smallest side whose blocks fit 16-bit local indices.
    static std::uint32_t min_side(std::uint32_t n_users, std::uint32_t n_items);
    // The side used when the "grid" option is 0: 1 for small sets (< 65536 ratings), otherwise about
    // 80k ratings a block (measured best on the 5M synthetic set at k = 32..128), at least 8 and
    // min_side(). Depends on the data only (never on the thread count), so a deterministic run gives
    // the same model with any number of threads.
    static std::uint32_t auto_side(const Ratings& r);

    std::uint32_t side() const { return side_; }
    std::size_t n_blocks() const { return std::size_t(side_) * side_; }
    // The longest user / item range of a grid row / column (every local index is below it).
    std::uint32_t users_per_block() const { return upb_; }
    std::uint32_t items_per_block() const { return ipb_; }
    std::size_t size() const { return n_; }
    // Block b = row * side + col.
    GridEntry* block(std::size_t b) { return data_.get() + start_[b]; }
    const GridEntry* block(std::size_t b) const { return data_.get() + start_[b]; }
    std::size_t block_size(std::size_t b) const { return start_[b + 1] - start_[b]; }
    // Block b holds the ratings of users [first_user(b), end_user(b)) on items [first_item(b), end_item(b)).
    std::uint32_t first_user(std::size_t b) const { return row_start_[b / side_]; }
    std::uint32_t end_user(std::size_t b) const { return row_start_[b / side_ + 1]; }
    std::uint32_t first_item(std::size_t b) const { return col_start_[b % side_]; }
    std::uint32_t end_item(std::size_t b) const { return col_start_[b % side_ + 1]; }
    // Bytes held (entries and offsets).
    std::size_t bytes() const { return n_ * sizeof(GridEntry) + start_.size() * sizeof(std::size_t); }

    static std::vector<std::uint32_t> balanced_cuts(const std::vector<std::uint32_t>& count, std::uint32_t side);

private:
    static void interleave(const GridEntry* src, std::size_t n, std::uint32_t lanes, GridEntry* dst);
    std::uint32_t side_ = 1, upb_ = 1, ipb_ = 1;
    std::size_t n_ = 0;
    std::vector<std::size_t> start_;  // n_blocks() + 1 offsets
    std::unique_ptr<GridEntry[]> data_;
    std::vector<std::uint32_t> row_start_, col_start_;  // side + 1 range boundaries each
};

// A seed for (seed, a, b): distinct streams for epochs, blocks and threads.
std::uint64_t seed_mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b);

// The block order of one epoch: side rounds of side blocks each; element [r * side + j] is block j of
// round r (block = row * side + col). Within a round the blocks have distinct grid rows and columns (a
// permuted diagonal: row rows[j], column cols[(j + shift[r]) % side]); over the epoch every block
// appears exactly once. Drawn from (seed, epoch) only.
std::vector<std::uint32_t> epoch_schedule(std::uint32_t side, std::uint64_t seed, std::uint32_t epoch);

}  // namespace simdmf
