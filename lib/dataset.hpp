// The data model: observed entries of a users x items matrix as three parallel arrays (12 bytes per
// rating), with optional maps from raw ids (as found in files) to dense indices.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace simdmf {

// Raw id <-> dense index. Indices are handed out in order of first appearance.
class IdMap {
public:
    // Index of raw, adding it when new. Throws OUT_OF_RANGE past 2^32-1 ids.
    std::uint32_t intern(std::int64_t raw);
    bool find(std::int64_t raw, std::uint32_t* index) const;
    std::int64_t raw(std::uint32_t index) const { return raws_[index]; }
    std::size_t size() const { return raws_.size(); }
    const std::vector<std::int64_t>& raws() const { return raws_; }
    // Rebuild from a list of raw ids (index = position). Throws INVALID_DATA on duplicates.
    static IdMap from_raws(std::vector<std::int64_t> raws);

private:
    std::vector<std::int64_t> raws_;
    std::unordered_map<std::int64_t, std::uint32_t> index_;
};

struct Ratings {
    std::vector<std::uint32_t> user;
    std::vector<std::uint32_t> item;
    std::vector<float> value;
    std::vector<std::int64_t> timestamp;  // empty, or one per rating
    std::uint32_t n_users = 0;            // every user index < n_users
    std::uint32_t n_items = 0;
    std::shared_ptr<const IdMap> user_ids;  // null when the indices are the ids
    std::shared_ptr<const IdMap> item_ids;

    std::size_t size() const { return value.size(); }
    bool empty() const { return value.empty(); }
    void reserve(std::size_t n);
    // Appends one rating and grows n_users / n_items to cover it.
    void add(std::uint32_t u, std::uint32_t i, float v);
    // The ratings at the given positions, same dimensions and id maps.
    Ratings subset(const std::vector<std::size_t>& rows) const;
    // A copy with no ratings but the same dimensions and id maps.
    Ratings empty_like() const;
    // Throws Error: INVALID_DATA for non-finite values, sizes that disagree, or (logistic) a label
    // other than -1/+1; OUT_OF_RANGE for an index >= n_users / n_items.
    void validate(bool logistic) const;
    double mean_value() const;
};

// From parallel arrays; n_users / n_items of 0 mean "one past the largest index seen".
Ratings ratings_from_triples(const std::uint32_t* users, const std::uint32_t* items, const float* values,
                             std::size_t n, std::uint32_t n_users, std::uint32_t n_items);

// Re-expresses r (loaded on its own, with its own id maps or none) in the indices of a reference:
// each rating's raw user and item ids are looked up in ref_users / ref_items (null map: the raw id is
// the index, valid below ref_n_users / ref_n_items). Ratings whose user or item the reference does not
// know are left out and counted in *unknown (never silently: callers report the count).
Ratings align_ids(const Ratings& r, std::shared_ptr<const IdMap> ref_users, std::shared_ptr<const IdMap> ref_items,
                  std::uint32_t ref_n_users, std::uint32_t ref_n_items, std::size_t* unknown);

// From a dense row-major rows x cols matrix; 0 and NaN mark missing entries. Rows are users.
Ratings ratings_from_dense(const float* matrix, std::size_t rows, std::size_t cols);

}  // namespace simdmf
