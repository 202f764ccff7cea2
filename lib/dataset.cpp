#include "dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>
#include <string>
#include <unordered_set>

#include "common.hpp"

namespace simdmf {

bool parse_int_id(std::string_view s, std::int64_t* out) {
    std::size_t k = 0;
    bool neg = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) neg = s[k++] == '-';
    if (k == s.size()) return false;
    std::uint64_t v = 0;
    for (; k < s.size(); ++k) {
        unsigned d = static_cast<unsigned char>(s[k]) - static_cast<unsigned>('0');
        if (d > 9) return false;
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    const std::uint64_t limit = neg ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    if (v > limit) return false;
    *out = neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
    return true;
}

std::string check_string_id(std::string_view s) {
    if (s.empty()) return "is empty";
    if (s.size() > IdMap::kMaxIdBytes)
        return "is longer than " + std::to_string(IdMap::kMaxIdBytes) + " bytes";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == ' ') return "contains a blank or control byte";
    }
    std::size_t k = s[0] == '-' || s[0] == '+' ? 1 : 0;
    bool digits = k < s.size();
    for (; k < s.size() && digits; ++k) digits = s[k] >= '0' && s[k] <= '9';
    if (digits) return "is out of int64 range";  // an integer that int64 cannot hold is not a string id
    return {};
}

void IdMap::unsupported_raw() {
    fail(SIMDMF_ERR_UNSUPPORTED, "string id map asked for an integer id (use the string id calls)");
}

std::uint32_t IdMap::intern(std::int64_t raw) {
    if (string_) return intern_string(std::to_string(raw));
    auto it = index_.find(raw);
    if (it != index_.end()) return it->second;
    if (raws_.size() >= UINT32_MAX) fail(SIMDMF_ERR_OUT_OF_RANGE, "more than 2^32-1 distinct ids");
    auto idx = static_cast<std::uint32_t>(raws_.size());
    raws_.push_back(raw);
    index_.emplace(raw, idx);
    return idx;
}

std::uint32_t IdMap::intern(std::string_view raw) {
    std::int64_t v;
    if (parse_int_id(raw, &v)) return intern(v);
    if (!string_) fail(SIMDMF_ERR_INVALID_ARGUMENT, "string id in an integer id map (to_strings first)");
    std::string why = check_string_id(raw);
    if (!why.empty()) fail(SIMDMF_ERR_INVALID_DATA, "id " + escape_bytes(raw) + " " + why);
    return intern_string(raw);
}

std::uint32_t IdMap::intern_string(std::string_view canonical) {
    auto it = str_index_.find(canonical);
    if (it != str_index_.end()) return it->second;
    if (strs_.size() >= UINT32_MAX) fail(SIMDMF_ERR_OUT_OF_RANGE, "more than 2^32-1 distinct ids");
    auto idx = static_cast<std::uint32_t>(strs_.size());
    strs_.emplace_back(canonical);
    str_index_.emplace(strs_.back(), idx);
    return idx;
}

bool IdMap::find(std::int64_t raw, std::uint32_t* index) const {
    if (string_) {
        char b[24];
        auto r = std::to_chars(b, b + sizeof b, raw);
        return find_string(std::string_view(b, static_cast<std::size_t>(r.ptr - b)), index);
    }
    auto it = index_.find(raw);
    if (it == index_.end()) return false;
    *index = it->second;
    return true;
}

bool IdMap::find(std::string_view raw, std::uint32_t* index) const {
    std::int64_t v;
    if (parse_int_id(raw, &v)) return find(v, index);
    return string_ && find_string(raw, index);
}

bool IdMap::find_string(std::string_view canonical, std::uint32_t* index) const {
    auto it = str_index_.find(canonical);
    if (it == str_index_.end()) return false;
    *index = it->second;
    return true;
}

std::string IdMap::text(std::uint32_t index) const {
    return string_ ? strs_[index] : std::to_string(raws_[index]);
}

void IdMap::to_strings() {
    if (string_) return;
    string_ = true;
    strs_.reserve(raws_.size());
    str_index_.reserve(raws_.size());
    for (std::size_t k = 0; k < raws_.size(); ++k) {
        strs_.push_back(std::to_string(raws_[k]));
        str_index_.emplace(strs_.back(), static_cast<std::uint32_t>(k));
    }
    std::vector<std::int64_t>().swap(raws_);
    std::unordered_map<std::int64_t, std::uint32_t>().swap(index_);
}

IdMap IdMap::from_raws(std::vector<std::int64_t> raws) {
    IdMap m;
    m.index_.reserve(raws.size());
    for (std::size_t i = 0; i < raws.size(); ++i) {
        if (!m.index_.emplace(raws[i], static_cast<std::uint32_t>(i)).second)
            fail(SIMDMF_ERR_INVALID_DATA, "duplicate raw id " + std::to_string(raws[i]) + " in id map");
    }
    m.raws_ = std::move(raws);
    return m;
}

IdMap IdMap::from_strings(std::vector<std::string> ids) {
    IdMap m = strings();
    m.str_index_.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        std::int64_t v;
        if (parse_int_id(ids[i], &v)) {
            ids[i] = std::to_string(v);
        } else {
            std::string why = check_string_id(ids[i]);
            if (!why.empty()) fail(SIMDMF_ERR_INVALID_DATA, "id " + escape_bytes(ids[i]) + " in id map " + why);
        }
        if (!m.str_index_.emplace(ids[i], static_cast<std::uint32_t>(i)).second)
            fail(SIMDMF_ERR_INVALID_DATA, "duplicate raw id " + escape_bytes(ids[i]) + " in id map");
    }
    m.strs_ = std::move(ids);
    return m;
}

std::string id_text(const IdMap* map, std::uint32_t index) {
    return map ? map->text(index) : std::to_string(index);
}

bool find_same_id(const IdMap* own, std::uint32_t idx, const IdMap* ref, std::uint32_t ref_n, std::uint32_t* out) {
    std::int64_t raw;
    if (own && own->is_string()) {
        if (ref) return ref->find(std::string_view(own->strings_list()[idx]), out);
        if (!parse_int_id(own->strings_list()[idx], &raw)) return false;
    } else {
        raw = own ? own->raw(idx) : std::int64_t(idx);
        if (ref) return ref->find(raw, out);
    }
    if (raw < 0 || raw >= std::int64_t(ref_n)) return false;
    *out = static_cast<std::uint32_t>(raw);
    return true;
}

void Ratings::reserve(std::size_t n) {
    user.reserve(n);
    item.reserve(n);
    value.reserve(n);
}

void Ratings::add(std::uint32_t u, std::uint32_t i, float v) {
    user.push_back(u);
    item.push_back(i);
    value.push_back(v);
    if (u >= n_users) n_users = u + 1;
    if (i >= n_items) n_items = i + 1;
}

Ratings Ratings::empty_like() const {
    Ratings r;
    r.n_users = n_users;
    r.n_items = n_items;
    r.user_ids = user_ids;
    r.item_ids = item_ids;
    return r;
}

Ratings Ratings::subset(const std::vector<std::size_t>& rows) const {
    Ratings r = empty_like();
    r.reserve(rows.size());
    bool ts = !timestamp.empty();
    if (ts) r.timestamp.reserve(rows.size());
    for (std::size_t k : rows) {
        r.user.push_back(user[k]);
        r.item.push_back(item[k]);
        r.value.push_back(value[k]);
        if (ts) r.timestamp.push_back(timestamp[k]);
    }
    return r;
}

void Ratings::validate(bool logistic, bool ids) const {
    if (user.size() != value.size() || item.size() != value.size() ||
        (!timestamp.empty() && timestamp.size() != value.size()))
        fail(SIMDMF_ERR_INVALID_DATA, "ratings arrays have different lengths");
    // Fast pass (vectorisable reductions, part of train()'s set-up); the loop below only runs to name
    // the first bad rating.
    const std::size_t n = value.size();
    std::uint32_t max_u = 0, max_i = 0, bad = 0;
    if (ids) {
        for (std::size_t k = 0; k < n; ++k) max_u = std::max(max_u, user[k]);
        for (std::size_t k = 0; k < n; ++k) max_i = std::max(max_i, item[k]);
    }
    for (std::size_t k = 0; k < n; ++k) {
        std::uint32_t b;
        std::memcpy(&b, &value[k], 4);
        const bool finite = (b & 0x7f800000u) != 0x7f800000u;
        const bool label = (b & 0x7fffffffu) == 0x3f800000u;  // +1 or -1
        bad |= static_cast<std::uint32_t>(!finite || (logistic && !label));
    }
    if (n == 0 || (max_u < n_users && max_i < n_items && !bad)) return;
    for (std::size_t k = 0; k < value.size(); ++k) {
        if (user[k] >= n_users)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "rating " + std::to_string(k) + ": user index " +
                                              std::to_string(user[k]) + " >= n_users " +
                                              std::to_string(n_users));
        if (item[k] >= n_items)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "rating " + std::to_string(k) + ": item index " +
                                              std::to_string(item[k]) + " >= n_items " +
                                              std::to_string(n_items));
        float v = value[k];
        if (!std::isfinite(v))
            fail(SIMDMF_ERR_INVALID_DATA, "rating " + std::to_string(k) + " is not finite");
        if (logistic && v != 1.0f && v != -1.0f)
            fail(SIMDMF_ERR_INVALID_DATA, "rating " + std::to_string(k) + ": logistic label " +
                                              std::to_string(v) + " is not +1 or -1");
    }
}

double Ratings::mean_value() const {
    if (value.empty()) return 0.0;
    double s = 0;
    for (float v : value) s += v;
    return s / static_cast<double>(value.size());
}

Ratings ratings_from_triples(const std::uint32_t* users, const std::uint32_t* items, const float* values,
                             std::size_t n, std::uint32_t n_users, std::uint32_t n_items) {
    if (n > 0 && (!users || !items || !values))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "null array with n > 0");
    Ratings r;
    r.user.assign(users, users + n);
    r.item.assign(items, items + n);
    r.value.assign(values, values + n);
    std::uint32_t mu = 0, mi = 0;
    for (std::size_t k = 0; k < n; ++k) {
        if (users[k] == UINT32_MAX || items[k] == UINT32_MAX)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "index 2^32-1 is reserved");
        mu = users[k] + 1 > mu ? users[k] + 1 : mu;
        mi = items[k] + 1 > mi ? items[k] + 1 : mi;
    }
    if (n_users != 0 && mu > n_users)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "user index " + std::to_string(mu - 1) + " >= n_users " +
                                          std::to_string(n_users));
    if (n_items != 0 && mi > n_items)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "item index " + std::to_string(mi - 1) + " >= n_items " +
                                          std::to_string(n_items));
    r.n_users = n_users ? n_users : mu;
    r.n_items = n_items ? n_items : mi;
    return r;
}

Ratings ratings_from_text_triples(const char* const* users, const char* const* items, const float* values,
                                  std::size_t n) {
    if (n > 0 && (!users || !items || !values)) fail(SIMDMF_ERR_INVALID_ARGUMENT, "null array with n > 0");
    auto side_map = [n](const char* const* ids, const char* what) {
        bool strings = false;
        for (std::size_t k = 0; k < n; ++k) {
            if (!ids[k]) fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string(what) + " id " + std::to_string(k) + " is NULL");
            std::int64_t v;
            if (!parse_int_id(ids[k], &v)) {
                const std::string why = check_string_id(ids[k]);
                if (!why.empty())
                    fail(SIMDMF_ERR_INVALID_DATA, std::string(what) + " id " + std::to_string(k) + " " +
                                                      escape_bytes(ids[k]) + " " + why);
                strings = true;
            }
        }
        return strings ? IdMap::strings() : IdMap();
    };
    IdMap um = side_map(users, "user"), im = side_map(items, "item");
    Ratings r;
    r.reserve(n);
    std::unordered_set<std::uint64_t> pairs;
    pairs.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
        if (!std::isfinite(values[k]))
            fail(SIMDMF_ERR_INVALID_DATA, "value " + std::to_string(k) + " is not finite");
        const std::uint32_t u = um.intern(std::string_view(users[k]));
        const std::uint32_t i = im.intern(std::string_view(items[k]));
        if (!pairs.insert((std::uint64_t(u) << 32) | i).second)
            fail(SIMDMF_ERR_INVALID_DATA, "triple " + std::to_string(k) + " repeats user " + escape_bytes(users[k]) +
                                              " and item " + escape_bytes(items[k]));
        r.add(u, i, values[k]);
    }
    r.n_users = static_cast<std::uint32_t>(um.size());
    r.n_items = static_cast<std::uint32_t>(im.size());
    r.user_ids = std::make_shared<const IdMap>(std::move(um));
    r.item_ids = std::make_shared<const IdMap>(std::move(im));
    return r;
}

Ratings align_ids(const Ratings& r, std::shared_ptr<const IdMap> ref_users, std::shared_ptr<const IdMap> ref_items,
                  std::uint32_t ref_n_users, std::uint32_t ref_n_items, std::size_t* unknown) {
    auto lookup = [](const IdMap* own, const IdMap* ref, std::uint32_t ref_n, std::uint32_t idx,
                     std::uint32_t* out) { return find_same_id(own, idx, ref, ref_n, out); };
    Ratings out;
    out.n_users = ref_n_users;
    out.n_items = ref_n_items;
    out.user_ids = ref_users;
    out.item_ids = ref_items;
    out.reserve(r.size());
    const bool ts = !r.timestamp.empty();
    std::size_t dropped = 0;
    for (std::size_t k = 0; k < r.size(); ++k) {
        std::uint32_t u, i;
        if (!lookup(r.user_ids.get(), ref_users.get(), ref_n_users, r.user[k], &u) ||
            !lookup(r.item_ids.get(), ref_items.get(), ref_n_items, r.item[k], &i)) {
            ++dropped;
            continue;
        }
        out.user.push_back(u);
        out.item.push_back(i);
        out.value.push_back(r.value[k]);
        if (ts) out.timestamp.push_back(r.timestamp[k]);
    }
    if (unknown) *unknown = dropped;
    return out;
}

Ratings ratings_from_dense(const float* matrix, std::size_t rows, std::size_t cols) {
    if (rows == 0 || cols == 0) fail(SIMDMF_ERR_INVALID_ARGUMENT, "dense matrix with no rows or columns");
    if (!matrix) fail(SIMDMF_ERR_INVALID_ARGUMENT, "null matrix");
    if (rows >= UINT32_MAX || cols >= UINT32_MAX)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "dense matrix larger than 2^32-1 rows or columns");
    Ratings r;
    for (std::size_t u = 0; u < rows; ++u)
        for (std::size_t i = 0; i < cols; ++i) {
            float v = matrix[u * cols + i];
            if (v == 0.0f || std::isnan(v)) continue;
            if (std::isinf(v))
                fail(SIMDMF_ERR_INVALID_DATA, "dense entry (" + std::to_string(u) + "," +
                                                  std::to_string(i) + ") is infinite");
            r.add(static_cast<std::uint32_t>(u), static_cast<std::uint32_t>(i), v);
        }
    r.n_users = static_cast<std::uint32_t>(rows);
    r.n_items = static_cast<std::uint32_t>(cols);
    return r;
}

}  // namespace simdmf
