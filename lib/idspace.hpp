// Raw ids and id spaces: the raw id of an index, the index of a raw id, one side's id map or none.
#pragma once
#include <cstdint>

#include "dataset.hpp"

namespace simdmf {

// The raw id of an index (no map: the index is the id).
std::int64_t raw_of(const IdMap* map, std::uint32_t index);
// The index of a raw id among the first n indices (no map: raw itself when 0 <= raw < n); false when
// the id is unknown.
bool find_raw(const IdMap* map, std::uint32_t n, std::int64_t raw, std::uint32_t* index);

}  // namespace simdmf
