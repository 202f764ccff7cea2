// Raw ids and id spaces (see idspace.hpp).
#include "idspace.hpp"

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

}  // namespace simdmf
