// The data model: observed entries of a users x items matrix as three parallel arrays (12 bytes per
// rating), with optional maps from raw ids (as found in files) to dense indices.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace simdmf {

// Raw id <-> dense index. Indices are handed out in order of first appearance. A map holds either
// integer ids (int64, the fast path) or string ids ("USER_894", hash ids), never both: a loader starts
// with an integer map and turns it into a string map (to_strings) when an id of the file is not an
// integer. One rule makes the two kinds agree: an id whose text is an integer (parse_int_id) IS that
// integer, so in a string map it is stored as its canonical decimal text ("+007" -> "7"), and looking up
// 7 in a string map or "7" in an integer map finds the same entry.
class IdMap {
public:
    static constexpr std::size_t kMaxIdBytes = 255;  // longest string id

    IdMap() = default;  // an empty integer map
    static IdMap strings() { IdMap m; m.string_ = true; return m; }  // an empty string map

    bool is_string() const { return string_; }
    std::size_t size() const { return string_ ? strs_.size() : raws_.size(); }

    // Index of raw, adding it when new. Throws OUT_OF_RANGE past 2^32-1 ids. On a string map the
    // integer is added as its decimal text.
    std::uint32_t intern(std::int64_t raw);
    // Index of a text id, adding it when new: an integer text goes through intern(int64); any other
    // text needs a string map (INVALID_ARGUMENT on an integer map: call to_strings first) and must be
    // a valid string id (check_string_id: INVALID_DATA otherwise).
    std::uint32_t intern(std::string_view raw);
    bool find(std::int64_t raw, std::uint32_t* index) const;
    bool find(std::string_view raw, std::uint32_t* index) const;

    // The integer id at index: integer maps only (UNSUPPORTED on a string map).
    std::int64_t raw(std::uint32_t index) const {
        if (string_) unsupported_raw();
        return raws_[index];
    }
    // The id at index as text (decimal for an integer map). Either kind.
    std::string text(std::uint32_t index) const;
    const std::vector<std::int64_t>& raws() const { return raws_; }       // integer maps (else empty)
    const std::vector<std::string>& strings_list() const { return strs_; }  // string maps (else empty)

    // Turns an integer map into a string map with the same indices (each id as its decimal text).
    // No effect on a string map.
    void to_strings();

    // Rebuild from a list of ids (index = position). Throws INVALID_DATA on duplicates (after making
    // integer texts canonical) or an invalid string id.
    static IdMap from_raws(std::vector<std::int64_t> raws);
    static IdMap from_strings(std::vector<std::string> ids);

private:
    [[noreturn]] static void unsupported_raw();
    std::uint32_t intern_string(std::string_view canonical);
    bool find_string(std::string_view canonical, std::uint32_t* index) const;
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    bool string_ = false;
    std::vector<std::int64_t> raws_;
    std::unordered_map<std::int64_t, std::uint32_t> index_;
    std::vector<std::string> strs_;
    std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> str_index_;
};

// True when s is an integer id: an optional sign and 1..19 decimal digits within int64 (the loaders'
// rule); sets *out.
bool parse_int_id(std::string_view s, std::int64_t* out);
// Empty when s is a valid string id (1..IdMap::kMaxIdBytes bytes, no control bytes, no blanks, not an
// integer beyond int64), else why it is not.
std::string check_string_id(std::string_view s);
// The id at index of map as text; without a map the index is the id.
std::string id_text(const IdMap* map, std::uint32_t index);
// Looks up in `ref` the id that index `idx` has in `own` (null own: the index is the id; null ref:
// the id must be an integer below ref_n, which is then the index).
bool find_same_id(const IdMap* own, std::uint32_t idx, const IdMap* ref, std::uint32_t ref_n, std::uint32_t* out);

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
    // other than -1/+1; OUT_OF_RANGE for an index >= n_users / n_items. ids = false leaves the index
    // check to a caller that makes its own pass over the indices (the SGD grid: one pass fewer).
    void validate(bool logistic, bool ids = true) const;
    double mean_value() const;
};

// From parallel arrays; n_users / n_items of 0 mean "one past the largest index seen".
Ratings ratings_from_triples(const std::uint32_t* users, const std::uint32_t* items, const float* values,
                             std::size_t n, std::uint32_t n_users, std::uint32_t n_items);

// From parallel arrays of text ids (NUL-terminated) and values: indices in order of first appearance,
// a side's map integer when every id is an integer text, else a string map. INVALID_DATA for an id
// that is not a valid id (check_string_id), a repeated (user, item) pair or a non-finite value, each
// naming its position.
Ratings ratings_from_text_triples(const char* const* users, const char* const* items, const float* values,
                                  std::size_t n);

// Re-expresses r (loaded on its own, with its own id maps or none) in the indices of a reference:
// each rating's raw user and item ids are looked up in ref_users / ref_items (null map: the raw id is
// the index, valid below ref_n_users / ref_n_items). Ratings whose user or item the reference does not
// know are left out and counted in *unknown (never silently: callers report the count).
Ratings align_ids(const Ratings& r, std::shared_ptr<const IdMap> ref_users, std::shared_ptr<const IdMap> ref_items,
                  std::uint32_t ref_n_users, std::uint32_t ref_n_items, std::size_t* unknown);

// From a dense row-major rows x cols matrix; 0 and NaN mark missing entries. Rows are users.
Ratings ratings_from_dense(const float* matrix, std::size_t rows, std::size_t cols);

}  // namespace simdmf
