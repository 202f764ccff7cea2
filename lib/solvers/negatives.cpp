// Negative sampler (see negatives.hpp). The r-th unseen item: with seen items s_0 < s_1 < ..., exactly
// s_j - j unseen items lie below s_j, so the answer is r + (the number of j with s_j - j <= r).
#include "solvers/negatives.hpp"

#include <algorithm>

namespace simdmf {

NegativeSampler::NegativeSampler(const SeenItems& seen, std::uint32_t n_items, std::size_t bitset_bytes)
    : seen_(&seen), n_items_(n_items) {
    const std::uint32_t users = seen.users();
    count_.resize(users);
    for (std::uint32_t u = 0; u < users; ++u) {
        auto s = seen.of(u);
        // Items beyond the model are not candidates either way: the count stops below n_items.
        count_[u] = static_cast<std::uint32_t>(std::lower_bound(s.begin(), s.end(), n_items_) - s.begin());
    }
    words_ = (std::size_t(n_items_) + 63) / 64;
    if (bitset_bytes > 0 && users > 0 && words_ > 0 && std::size_t(users) * words_ * 8 <= bitset_bytes) {
        bits_.assign(std::size_t(users) * words_, 0);
        for (std::uint32_t u = 0; u < users; ++u)
            for (std::uint32_t c : seen_of(u)) bits_[std::size_t(u) * words_ + (c >> 6)] |= std::uint64_t(1) << (c & 63);
    }
}

std::span<const std::uint32_t> NegativeSampler::seen_of(std::uint32_t u) const {
    if (u >= count_.size()) return {};
    return seen_->of(u).first(count_[u]);
}

bool NegativeSampler::seen_search(std::uint32_t u, std::uint32_t c) const {
    const auto s = seen_of(u);
    return std::binary_search(s.begin(), s.end(), c);
}

std::uint32_t NegativeSampler::unseen_count(std::uint32_t u) const {
    return n_items_ - static_cast<std::uint32_t>(seen_of(u).size());
}

std::uint32_t NegativeSampler::nth_unseen(std::uint32_t u, std::uint32_t r) const {
    const auto s = seen_of(u);
    // s_j - j is non-decreasing in j: binary search for the first j with s_j - j > r.
    std::size_t lo = 0, hi = s.size();
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (s[mid] - static_cast<std::uint32_t>(mid) <= r) lo = mid + 1;
        else hi = mid;
    }
    return r + static_cast<std::uint32_t>(lo);
}

// draw_in's exact draw (after the rejection tries of draw_in, or for a crowded user).
std::uint32_t NegativeSampler::draw_exact(std::uint32_t u, std::uint32_t lo, std::uint32_t hi, Rng& rng) const {
    const auto s = seen_of(u);
    // Unseen items below x: x - (seen items below x).
    auto below = [&](std::uint32_t x) {
        return x - static_cast<std::uint32_t>(std::lower_bound(s.begin(), s.end(), x) - s.begin());
    };
    const std::uint32_t first = below(lo), c = below(hi) - first;
    if (c == 0) return kNoItem;
    return nth_unseen(u, first + static_cast<std::uint32_t>(rng.below(c)));
}

std::size_t NegativeSampler::draw_distinct(std::uint32_t u, std::size_t n, Rng& rng,
                                           std::vector<std::uint32_t>& out) const {
    const std::uint32_t c = unseen_count(u);
    const std::size_t first = out.size();
    if (n >= c) {  // every unseen item
        for (std::uint32_t r = 0; r < c; ++r) out.push_back(nth_unseen(u, r));
        return c;
    }
    // Floyd: for j = c-n .. c-1 take t = below(j+1), or j itself when t was already taken. The ranks
    // are kept sorted so membership is a binary search.
    std::vector<std::uint32_t> ranks;
    ranks.reserve(n);
    for (std::uint32_t j = c - static_cast<std::uint32_t>(n); j < c; ++j) {
        std::uint32_t t = static_cast<std::uint32_t>(rng.below(std::uint64_t(j) + 1));
        auto it = std::lower_bound(ranks.begin(), ranks.end(), t);
        if (it != ranks.end() && *it == t) {
            ranks.push_back(j);  // j is above every rank taken so far
            continue;
        }
        ranks.insert(it, t);
    }
    for (std::uint32_t r : ranks) out.push_back(nth_unseen(u, r));
    return out.size() - first;
}

SeenItems seen_union(const Ratings& a, const Ratings& b) {
    Ratings both;
    both.n_users = std::max(a.n_users, b.n_users);
    both.n_items = std::max(a.n_items, b.n_items);
    both.user.reserve(a.size() + b.size());
    both.item.reserve(a.size() + b.size());
    both.user.insert(both.user.end(), a.user.begin(), a.user.end());
    both.user.insert(both.user.end(), b.user.begin(), b.user.end());
    both.item.insert(both.item.end(), a.item.begin(), a.item.end());
    both.item.insert(both.item.end(), b.item.begin(), b.item.end());
    both.value.assign(both.user.size(), 1.0f);  // SeenItems sizes by the value array
    return SeenItems(both);
}

}  // namespace simdmf
