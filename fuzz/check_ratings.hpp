// Invariants every successfully loaded data set must satisfy.
#pragma once
#include <cmath>

#include "dataset.hpp"
#include "fuzz_util.hpp"

namespace simdmf_fuzz {

inline void check_ratings(const simdmf::Ratings& r) {
    const std::size_t n = r.size();
    SIMDMF_FUZZ_CHECK(r.user.size() == n && r.item.size() == n);
    SIMDMF_FUZZ_CHECK(r.timestamp.empty() || r.timestamp.size() == n);
    for (std::size_t k = 0; k < n; ++k) {
        SIMDMF_FUZZ_CHECK(r.user[k] < r.n_users);
        SIMDMF_FUZZ_CHECK(r.item[k] < r.n_items);
    }
    if (r.user_ids) {
        SIMDMF_FUZZ_CHECK(r.user_ids->size() >= r.n_users);
        for (std::uint32_t u = 0; u < r.user_ids->size(); ++u) {
            std::uint32_t back = 0;
            SIMDMF_FUZZ_CHECK(r.user_ids->find(r.user_ids->raw(u), &back) && back == u);
        }
    }
    if (r.item_ids) {
        SIMDMF_FUZZ_CHECK(r.item_ids->size() >= r.n_items);
        for (std::uint32_t i = 0; i < r.item_ids->size(); ++i) {
            std::uint32_t back = 0;
            SIMDMF_FUZZ_CHECK(r.item_ids->find(r.item_ids->raw(i), &back) && back == i);
        }
    }
}

}  // namespace simdmf_fuzz
