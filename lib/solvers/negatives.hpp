// Seeded negative sampling over the seen-item index (lib/serve/seen.hpp): items a user has not seen,
// drawn uniformly, never a seen one. Each draw consumes exactly one Rng::below call (the r-th unseen
// item is found by a binary search over the user's sorted seen list, O(log seen)), so a stream of draws
// is reproducible from the seed alone and does not depend on how crowded a user's list is.
// Membership: by default a binary search of the user's sorted list; with a bitset budget (the training
// solvers' sampler) and n_users x n_items bits within it, one bit test (the same answers, so the same
// draws). Users' seen counts below n_items are precomputed (one lookup a draw).
// A user who has seen every item has no negative: draw() returns kNoItem and draw_distinct() returns 0
// items; callers skip such users (BPR and logistic MF skip the positive, sampled evaluation skips the user).
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "dataset.hpp"
#include "rng.hpp"
#include "serve/seen.hpp"

namespace simdmf {

inline constexpr std::uint32_t kNoItem = std::numeric_limits<std::uint32_t>::max();

class NegativeSampler {
public:
    // `seen` must outlive the sampler; n_items is the item count of the model (items >= n_items in
    // `seen` are ignored).
    // bitset_bytes > 0: build the seen bitset when it needs at most that many bytes.
    NegativeSampler(const SeenItems& seen, std::uint32_t n_items, std::size_t bitset_bytes = 0);

    // Number of items user u has not seen.
    std::uint32_t unseen_count(std::uint32_t u) const;
    // The r-th (0-based, ascending) item user u has not seen; r < unseen_count(u).
    std::uint32_t nth_unseen(std::uint32_t u, std::uint32_t r) const;
    // One item user u has not seen, uniform over them; kNoItem when there is none.
    std::uint32_t draw(std::uint32_t u, Rng& rng) const {
        const std::uint32_t c = unseen_count(u);
        if (c == 0) return kNoItem;
        return nth_unseen(u, static_cast<std::uint32_t>(rng.below(c)));
    }
    // One item of [lo, hi) user u has not seen, uniform over them; kNoItem when there is none
    // (lo <= hi <= n_items). For a user who has seen under 3/4 of the range: rejection (uniform draws
    // until an unseen one, at most 8), then the exact draw; the training solvers' sampler.
    std::uint32_t draw_in(std::uint32_t u, std::uint32_t lo, std::uint32_t hi, Rng& rng) const {
        if (u < count_.size() && hi > lo && std::size_t(count_[u]) * 4 < std::size_t(hi - lo) * 3) {
            if (!bits_.empty()) {
                const std::uint64_t* row = bits_.data() + std::size_t(u) * words_;
                for (int t = 0; t < 8; ++t) {
                    const std::uint32_t c = lo + static_cast<std::uint32_t>(rng.below(hi - lo));
                    if (!((row[c >> 6] >> (c & 63)) & 1u)) return c;
                }
            } else {
                for (int t = 0; t < 8; ++t) {
                    const std::uint32_t c = lo + static_cast<std::uint32_t>(rng.below(hi - lo));
                    if (!seen_search(u, c)) return c;
                }
            }
        } else if (u >= count_.size() && hi > lo) {
            return lo + static_cast<std::uint32_t>(rng.below(hi - lo));  // a user with no seen item
        }
        return draw_exact(u, lo, hi, rng);
    }
    // out[t] = draw_in(user_of(t), lo, hi, rng) for t = 0 .. n-1 in that order: the same draws and the same
    // stream as n calls, with the range, the bitset and the generator's state held in locals across the loop
    // (the training solvers draw a block's negatives in one pass before its updates).
    template <class UserOf>
    void draw_in_each(std::size_t n, UserOf user_of, std::uint32_t lo, std::uint32_t hi, Rng& rng,
                      std::uint32_t* out) const {
        if (bits_.empty() || hi <= lo) {
            for (std::size_t t = 0; t < n; ++t) out[t] = draw_in(user_of(t), lo, hi, rng);
            return;
        }
        const std::uint32_t range = hi - lo, users = static_cast<std::uint32_t>(count_.size());
        const std::size_t limit = std::size_t(range) * 3, words = words_;
        const std::uint32_t* count = count_.data();
        const std::uint64_t* bits = bits_.data();
        Rng r = rng;  // its address never escapes the loop: the state stays in registers
        for (std::size_t t = 0; t < n; ++t) {
            const std::uint32_t u = user_of(t);
            std::uint32_t c = kNoItem;
            if (u >= users) {
                c = lo + static_cast<std::uint32_t>(r.below(range));  // a user with no seen item
            } else {
                if (std::size_t(count[u]) * 4 < limit) {
                    const std::uint64_t* row = bits + std::size_t(u) * words;
                    for (int k = 0; k < 8; ++k) {
                        const std::uint32_t x = lo + static_cast<std::uint32_t>(r.below(range));
                        if (!((row[x >> 6] >> (x & 63)) & 1u)) {
                            c = x;
                            break;
                        }
                    }
                }
                if (c == kNoItem) {
                    rng = r;
                    c = draw_exact(u, lo, hi, rng);
                    r = rng;
                }
            }
            out[t] = c;
        }
        rng = r;
    }
    // Whether user u has seen item c (c < n_items).
    bool seen(std::uint32_t u, std::uint32_t c) const {
        if (!bits_.empty())
            return u < count_.size() && (bits_[std::size_t(u) * words_ + (c >> 6)] >> (c & 63)) & 1u;
        return seen_search(u, c);
    }
    // The bitset row of user u (for a prefetch), or nullptr without a bitset.
    const std::uint64_t* bits_of(std::uint32_t u) const {
        return bits_.empty() || u >= count_.size() ? nullptr : bits_.data() + std::size_t(u) * words_;
    }
    bool has_bitset() const { return !bits_.empty(); }
    // min(n, unseen_count(u)) distinct unseen items of user u, a uniform sample without replacement
    // (Floyd's algorithm; n draws when n < unseen_count(u), none when all are taken), appended to `out`
    // in ascending order. Returns how many were appended.
    std::size_t draw_distinct(std::uint32_t u, std::size_t n, Rng& rng, std::vector<std::uint32_t>& out) const;

    std::uint32_t n_items() const { return n_items_; }

private:
    std::span<const std::uint32_t> seen_of(std::uint32_t u) const;
    bool seen_search(std::uint32_t u, std::uint32_t c) const;
    std::uint32_t draw_exact(std::uint32_t u, std::uint32_t lo, std::uint32_t hi, Rng& rng) const;
    const SeenItems* seen_;
    std::uint32_t n_items_;
    std::vector<std::uint32_t> count_;  // per user: seen items below n_items
    std::vector<std::uint64_t> bits_;   // optional: words_ 64-bit words a user, bit c = item c seen
    std::size_t words_ = 0;
};

// The seen-item index of the union of two data sets (e.g. training and test events: sampled evaluation
// draws negatives the user has interacted with in neither).
SeenItems seen_union(const Ratings& a, const Ratings& b);

}  // namespace simdmf
