// Raw ids and id spaces (see idspace.hpp): lookups, the id-space comparison and re-indexing.
#include "idspace.hpp"

#include <algorithm>
#include <vector>

#include "common.hpp"

namespace simdmf {

std::int64_t raw_of(const IdMap* map, std::uint32_t index) {
    return map ? map->raw(index) : static_cast<std::int64_t>(index);
}

bool find_raw(const IdMap* map, std::uint32_t n, std::int64_t raw, std::uint32_t* index) {
    std::uint32_t idx = 0;
    if (map) {
        if (!map->find(raw, &idx) || idx >= n) return false;
    } else {
        if (raw < 0 || raw >= static_cast<std::int64_t>(n)) return false;
        idx = static_cast<std::uint32_t>(raw);
    }
    *index = idx;
    return true;
}

IdSpace space_of(const Model& m) { return {m.user_ids, m.item_ids, m.n_users, m.n_items, false}; }
IdSpace space_of(const Ratings& r) { return {r.user_ids, r.item_ids, r.n_users, r.n_items, true}; }

namespace {

std::string id_string(const IdMap* map, std::uint32_t index) { return escape_bytes(id_text(map, index)); }

// The one rule of IdMap: an integer text is that integer, so an integer map and a string map agree
// when the string is the integer's canonical text (which is how a string map stores it).
bool same_id(const IdMap* a, const IdMap* b, std::uint32_t index) {
    const bool a_str = a && a->is_string(), b_str = b && b->is_string();
    if (!a_str && !b_str) return raw_of(a, index) == raw_of(b, index);
    if (a_str && b_str) return a->strings_list()[index] == b->strings_list()[index];
    return id_text(a, index) == id_text(b, index);
}

// One side: empty when compatible, else the mismatch.
std::string side_mismatch(const IdMap* own, std::uint32_t own_n, const IdMap* ref, std::uint32_t ref_n,
                          bool ref_is_data, const char* side) {
    if (!own || own == ref) return {};  // the index space, or the very map
    if (!ref && ref_is_data) {
        // A reference data set in the index space has no ids to compare with.
        return std::string("its ") + side + "s have raw ids but the reference data set's have none (indices only)";
    }
    const std::uint32_t n = std::min<std::uint32_t>(
        {own_n, ref_n, static_cast<std::uint32_t>(own->size()),
         ref ? static_cast<std::uint32_t>(std::min<std::size_t>(ref->size(), UINT32_MAX)) : ref_n});
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!same_id(own, ref, i))
            return std::string(side) + " index " + std::to_string(i) + " is id " + id_string(own, i) +
                   " there but id " + id_string(ref, i) + (ref ? "" : " (trained without id maps: ids are indices)") +
                   " in the reference";
    }
    return {};
}

}  // namespace

std::string id_space_mismatch(const Ratings& data, const IdSpace& ref, const char* what) {
    std::string why = side_mismatch(data.user_ids.get(), data.n_users, ref.users.get(), ref.n_users, ref.data_set, "user");
    if (why.empty())
        why = side_mismatch(data.item_ids.get(), data.n_items, ref.items.get(), ref.n_items, ref.data_set, "item");
    if (why.empty()) return {};
    return std::string(what) + " is not in the " + (ref.data_set ? "reference data set's" : "model's") +
           " id space (" + why + ")";
}

void check_id_space(const Ratings& data, const IdSpace& ref, const char* what) {
    const std::string why = id_space_mismatch(data, ref, what);
    if (!why.empty())
        fail(SIMDMF_ERR_INVALID_ARGUMENT,
             why + ": a file loaded on its own has ids of its own; re-index it into the " +
                 (ref.data_set ? "data set's" : "model's") +
                 " space first (simdmf_dataset_align; Python Dataset.align or Dataset.load(..., like=...))");
}

void check_model_space(const Ratings& data, const Model& m, const char* what) {
    check_id_space(data, space_of(m), what);
    // An index-space side past a model side with a map names no id: an error. Past a model side without
    // a map (its ids are its indices) it is a new id: cold.
    if ((!data.user_ids && m.user_ids && data.n_users > m.n_users) ||
        (!data.item_ids && m.item_ids && data.n_items > m.n_items))
        fail(SIMDMF_ERR_OUT_OF_RANGE, std::string(what) + " has " + std::to_string(data.n_users) + " users x " +
                                          std::to_string(data.n_items) + " items, the model only " +
                                          std::to_string(m.n_users) + " x " + std::to_string(m.n_items) +
                                          ": the data set has no id maps, so its indices are taken as the model's indices, and the model (which has id maps) has no such index; load the file in the format the model was trained from, or align it (simdmf_dataset_align)");
}

void IdSpaceMemo::check(const Ratings& data, const IdSpace& ref, const char* what) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ok_ && last_.users == ref.users && last_.items == ref.items && last_.n_users == ref.n_users &&
        last_.n_items == ref.n_items && last_.data_set == ref.data_set)
        return;
    ok_ = false;
    check_id_space(data, ref, what);
    last_ = ref;
    ok_ = true;
}

namespace {

// One side's translation: own index -> ref-space index, or UINT32_MAX for an id left out.
struct SideMap {
    std::vector<std::uint32_t> to;  // empty: identity (the side stays as it is)
    std::shared_ptr<const IdMap> map;
    std::uint32_t n = 0;
};

SideMap align_side(const std::shared_ptr<const IdMap>& own, std::uint32_t own_n,
                   const std::shared_ptr<const IdMap>& ref, std::uint32_t ref_n, bool keep_unknown) {
    SideMap s;
    if (!own || own == ref) {  // the index space, or already the reference's map
        s.map = own;
        s.n = own_n;
        return s;
    }
    s.to.assign(own_n, UINT32_MAX);
    std::shared_ptr<IdMap> grown;  // ref's ids, then the new ones
    for (std::uint32_t i = 0; i < own_n && i < own->size(); ++i) {
        std::uint32_t idx;
        if (find_same_id(own.get(), i, ref.get(), ref_n, &idx) && idx < ref_n) {
            s.to[i] = idx;
            continue;
        }
        if (!keep_unknown) continue;
        if (!grown) {
            if (ref) {
                grown = std::make_shared<IdMap>(*ref);
            } else {
                std::vector<std::int64_t> identity(ref_n);
                for (std::uint32_t j = 0; j < ref_n; ++j) identity[j] = j;
                grown = std::make_shared<IdMap>(IdMap::from_raws(std::move(identity)));
            }
        }
        if (own->is_string()) {
            const std::string& text = own->strings_list()[i];
            std::int64_t v;
            if (!grown->is_string() && !parse_int_id(text, &v)) grown->to_strings();
            s.to[i] = grown->intern(std::string_view(text));
        } else {
            s.to[i] = grown->intern(own->raw(i));
        }
    }
    if (grown) {
        s.n = static_cast<std::uint32_t>(grown->size());
        s.map = std::move(grown);
    } else {
        s.map = ref;
        s.n = ref_n;
    }
    return s;
}

}  // namespace

Ratings align_to(const Ratings& r, const IdSpace& ref, bool keep_unknown, std::size_t* unknown) {
    const SideMap us = align_side(r.user_ids, r.n_users, ref.users, ref.n_users, keep_unknown);
    const SideMap is = align_side(r.item_ids, r.n_items, ref.items, ref.n_items, keep_unknown);
    // Which ratings name an id the reference does not know (before it was appended).
    auto cold = [](const SideMap& s, const std::shared_ptr<const IdMap>& own, std::uint32_t ref_n, std::uint32_t idx) {
        if (!own || s.to.empty()) return false;
        return s.to[idx] == UINT32_MAX || s.to[idx] >= ref_n;
    };
    Ratings out;
    out.user_ids = us.map;
    out.item_ids = is.map;
    out.n_users = us.n;
    out.n_items = is.n;
    out.reserve(r.size());
    const bool ts = !r.timestamp.empty();
    std::size_t n_unknown = 0;
    for (std::size_t k = 0; k < r.size(); ++k) {
        const std::uint32_t u0 = r.user[k], i0 = r.item[k];
        const std::uint32_t u = us.to.empty() ? u0 : us.to[u0], i = is.to.empty() ? i0 : is.to[i0];
        if (cold(us, r.user_ids, ref.n_users, u0) || cold(is, r.item_ids, ref.n_items, i0)) {
            ++n_unknown;
            if (!keep_unknown || u == UINT32_MAX || i == UINT32_MAX) continue;
        }
        out.user.push_back(u);
        out.item.push_back(i);
        out.value.push_back(r.value[k]);
        if (ts) out.timestamp.push_back(r.timestamp[k]);
    }
    // A side kept as it is may still be smaller than the reference's; never larger than needed.
    if (us.to.empty() && !r.user_ids) out.n_users = r.n_users;
    if (is.to.empty() && !r.item_ids) out.n_items = r.n_items;
    if (unknown) *unknown = n_unknown;
    return out;
}

}  // namespace simdmf
