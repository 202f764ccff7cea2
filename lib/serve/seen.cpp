// Seen-item index (see seen.hpp): a counting sort by user, then each user's run sorted and deduplicated
// in place.
#include "serve/seen.hpp"

#include <algorithm>

namespace simdmf {

SeenItems::SeenItems(const Ratings& r) {
    std::uint32_t n_users = r.n_users;
    for (std::uint32_t u : r.user) n_users = std::max(n_users, u + 1);  // tolerate a stale n_users
    std::vector<std::size_t> start(std::size_t(n_users) + 1, 0);
    for (std::uint32_t u : r.user) ++start[std::size_t(u) + 1];
    for (std::size_t u = 0; u < n_users; ++u) start[u + 1] += start[u];
    std::vector<std::uint32_t> items(r.size());
    std::vector<std::size_t> fill(start.begin(), start.end() - 1);
    for (std::size_t j = 0; j < r.size(); ++j) items[fill[r.user[j]]++] = r.item[j];
    // Sort and deduplicate each run, compacting the array as we go.
    offsets_.assign(std::size_t(n_users) + 1, 0);
    std::size_t w = 0;
    for (std::size_t u = 0; u < n_users; ++u) {
        auto b = items.begin() + static_cast<std::ptrdiff_t>(start[u]);
        auto e = items.begin() + static_cast<std::ptrdiff_t>(start[u + 1]);
        std::sort(b, e);
        e = std::unique(b, e);
        offsets_[u] = w;
        for (auto it = b; it != e; ++it) items[w++] = *it;
    }
    offsets_[n_users] = w;
    items.resize(w);
    items.shrink_to_fit();
    items_ = std::move(items);
}

}  // namespace simdmf
