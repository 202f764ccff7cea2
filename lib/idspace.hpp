// Raw ids and id spaces.
//
// An id space is what the indices of one side (users or items) of a data set or a model mean as raw
// ids:
//  - a side with an IdMap: index i is the id map[i] (integer or string ids);
//  - a model side without a map: index i is the raw id i (the model was trained on indices);
//  - a data-set side without a map (built from triples or a dense matrix, or a LIBMF file): the index
//    space: its indices are taken as the reference's own indices, whatever ids the reference has.
// A data set is in a reference's id space on a side when every index both have names the same id: the
// same map object (the fast path), or maps that agree index by index on their common length. So equal
// maps from separate loads match, a model grown by fold-in keeps its training data's space, and a data
// set aligned to a model (align_to) extends the model's map with the ids it does not know: they sit at
// indices >= the model's count, which is what makes them cold (unknown to the model).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "dataset.hpp"
#include "models/model.hpp"

namespace simdmf {

// The raw id of an index (no map: the index is the id).
std::int64_t raw_of(const IdMap* map, std::uint32_t index);
// The index of a raw id among the first n indices (no map: raw itself when 0 <= raw < n); false when
// the id is unknown.
bool find_raw(const IdMap* map, std::uint32_t n, std::int64_t raw, std::uint32_t* index);

// Both sides of a reference (a model or a data set).
struct IdSpace {
    std::shared_ptr<const IdMap> users, items;  // null: see the header comment
    std::uint32_t n_users = 0, n_items = 0;
    bool data_set = false;  // a data set's space (a side without a map is the index space)
};
IdSpace space_of(const Model& m);
IdSpace space_of(const Ratings& r);

// Empty when `data` is in ref's id space on both sides, else a message naming the first mismatch
// (side, index and both ids), `what` naming the data set ("the test data set").
std::string id_space_mismatch(const Ratings& data, const IdSpace& ref, const char* what);
// Throws Error(INVALID_ARGUMENT) with that message, and a hint to align.
void check_id_space(const Ratings& data, const IdSpace& ref, const char* what);

// For a model: check_id_space, then a side in the index space must fit a model side that has a map
// (OUT_OF_RANGE otherwise: its indices are the model's, there are no ids to call new). Past a model side
// without a map (ids = indices) such indices are new ids: cold.
void check_model_space(const Ratings& data, const Model& m, const char* what);

// Remembers the references a data set was found to be in, so that a check repeated on every call
// (recommend with exclude) costs O(1) after the first. Keyed by the reference's map objects (held, so
// they cannot be freed and their address reused) and counts. Thread-safe.
class IdSpaceMemo {
public:
    void check(const Ratings& data, const IdSpace& ref, const char* what) const;

private:
    mutable std::mutex mutex_;
    mutable bool ok_ = false;
    mutable IdSpace last_;
};

// Re-expresses r in ref's id space. Ids that ref knows get ref's indices. Ids it does not know are kept
// (keep_unknown) at new indices after ref's, in order of first appearance, in a copy of ref's map
// extended by them (for a model without a map: the identity map of its indices, then them), so the
// result is in ref's space and its ratings with such ids are cold; or (keep_unknown false) their
// ratings are left out. *unknown (may be null) gets the number of ratings that name an id ref does not
// know. The result shares ref's map when it adds no id. A side of r without a map is in the index space
// already and is kept as it is. Timestamps follow their ratings.
Ratings align_to(const Ratings& r, const IdSpace& ref, bool keep_unknown, std::size_t* unknown);

}  // namespace simdmf
