// Seen-item index: every user's items in a data set, sorted and unique, in one CSR array built once per
// data set (O(ratings)); a user's list is then an O(1) lookup. Top-N lists exclude these items
// (evaluation, the CLI's recommend, the C ABI's recommend with exclude).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dataset.hpp"

namespace simdmf {

// A borrowed CSR view of item lists, one per user: user u's items are items[offsets[u] ..
// offsets[u + 1]), ascending and unique; users at or beyond `rows` have none. What top-N calls take
// (from a SeenItems, or arrays a caller built).
struct ItemLists {
    const std::uint64_t* offsets = nullptr;  // rows + 1 entries
    const std::uint32_t* items = nullptr;
    std::uint32_t rows = 0;
    std::span<const std::uint32_t> of(std::uint32_t u) const {
        if (u >= rows) return {};
        return {items + offsets[u], items + offsets[u + 1]};
    }
};

class SeenItems {
public:
    SeenItems() = default;  // no user has seen anything
    explicit SeenItems(const Ratings& r);

    // The items of user u, ascending, no duplicates; empty for a user beyond the data set.
    std::span<const std::uint32_t> of(std::uint32_t u) const {
        if (std::size_t(u) + 1 >= offsets_.size()) return {};
        return {items_.data() + offsets_[u], items_.data() + offsets_[u + 1]};
    }
    std::uint32_t users() const { return offsets_.empty() ? 0 : static_cast<std::uint32_t>(offsets_.size() - 1); }
    std::size_t entries() const { return items_.size(); }  // distinct (user, item) pairs
    ItemLists view() const { return {offsets_.data(), items_.data(), users()}; }

private:
    std::vector<std::uint64_t> offsets_;  // users() + 1 entries; user u's items are [offsets_[u], offsets_[u+1])
    std::vector<std::uint32_t> items_;
};

}  // namespace simdmf
