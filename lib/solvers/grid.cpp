#include "solvers/grid.hpp"

#include <algorithm>
#include <cmath>

#include <sys/mman.h>
#include <unistd.h>

#include "common.hpp"
#include "rng.hpp"
#include "task_pool.hpp"

namespace simdmf {

std::uint32_t RatingGrid::min_side(std::uint32_t n_users, std::uint32_t n_items) {
    const std::uint32_t m = std::max(n_users, n_items);
    return std::max<std::uint32_t>(1, static_cast<std::uint32_t>((std::uint64_t(m) + 65535) / 65536));
}

std::uint32_t RatingGrid::auto_side(const Ratings& r) {
    const std::uint32_t lo = min_side(r.n_users, r.n_items);
    if (r.size() < 65536) return lo;
    const double s = std::sqrt(static_cast<double>(r.size()) / 80000.0);
    const auto side = static_cast<std::uint32_t>(std::clamp(std::lround(s), 8L, 1024L));
    return std::max(lo, side);
}

// Boundaries of `side` ranges of [0, n) holding about equal numbers of ratings (count[x] of id x),
// each at most 65536 ids long. Ids often follow popularity or time: equal-length ranges then make
// very unequal blocks (MovieLens 100K, 8 x 8: 0 to 5204 ratings a block; these cuts: 1225 to 1757).
std::vector<std::uint32_t> RatingGrid::balanced_cuts(const std::vector<std::uint32_t>& count, std::uint32_t side) {
    constexpr std::uint64_t cap = 65536;
    const auto n = static_cast<std::uint32_t>(count.size());
    std::uint64_t total = 0;
    for (std::uint32_t c : count) total += c;
    std::vector<std::uint32_t> cut(side + 1, n);
    cut[0] = 0;
    std::uint32_t x = 0;
    std::uint64_t acc = 0;  // ratings of ids < x
    for (std::uint32_t a = 1; a < side; ++a) {
        const std::uint32_t lo = cut[a - 1];
        // Leave room for the remaining ranges (each <= cap ids).
        const std::uint64_t need_rest = cap * (side - a);
        const std::uint64_t min_x = n > need_rest ? n - need_rest : 0;
        // acc < total * a / side, compared exactly in integers (no long double: 80 bits on x86-64, a
        // software 128-bit type on AArch64).
        const unsigned __int128 target = static_cast<unsigned __int128>(total) * a;
        while (x < n && x - lo < cap && (static_cast<unsigned __int128>(acc) * side < target || x < min_x))
            acc += count[x++];
        cut[a] = x;
    }
    return cut;
}

namespace {
// Returns the whole pages inside [from, to) of an array to the OS (their contents become zero). That
// part of the array is never read again; its allocation is freed as usual later.
template <class T>
void release_range(const std::vector<T>& v, std::size_t from, std::size_t to) {
    static const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    to = std::min(to, v.size());
    if (from >= to) return;
    const auto lo = (reinterpret_cast<std::uintptr_t>(v.data() + from) + page - 1) & ~(page - 1);
    const auto hi = reinterpret_cast<std::uintptr_t>(v.data() + to) & ~(page - 1);
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

// An id's place in the grid, packed: grid row (or column) in the high 16 bits, local index in the low.
inline std::uint32_t map_high(std::uint32_t m) { return m >> 16; }

}  // namespace

RatingGrid::RatingGrid(const Ratings& r, std::uint32_t side, std::uint32_t lanes, Ratings* release, unsigned threads)
    : side_(side), n_(r.size()) {
    if (release && release != &r) fail(SIMDMF_ERR_INTERNAL, "RatingGrid: release must be the ratings copied");
    if (side > 65536) fail(SIMDMF_ERR_OUT_OF_RANGE, "grid side " + std::to_string(side) + " is over 65536");
    if (side == 0 || side < min_side(r.n_users, r.n_items))
        fail(SIMDMF_ERR_OUT_OF_RANGE, "grid side " + std::to_string(side) + " is too small for " +
                                          std::to_string(r.n_users) + " users and " +
                                          std::to_string(r.n_items) + " items (16-bit block indices)");
    const std::uint32_t* U = r.user.data();
    const std::uint32_t* I = r.item.data();
    const float* V = r.value.data();
    const std::size_t nb = n_blocks();
    // The input is cut into T contiguous chunks, one a thread, for the passes over it; every count is an
    // integer sum and every rating's place depends on the input order only, so the grid is the same
    // for any T.
    const unsigned T = static_cast<unsigned>(std::clamp<std::size_t>(std::min<std::size_t>(threads, n_), 1, 64));
    auto chunk = [&](unsigned t) { return n_ * t / T; };

    // Pass 1: ratings per user and per item (per chunk, then summed). It also checks the indices (the
    // one pass over them; train() leaves that check out of Ratings::validate for SGD): an index out of
    // range is counted in one extra slot, and then validate() names it.
    const std::uint32_t nu = r.n_users, ni = r.n_items;
    std::vector<std::uint32_t> row(std::size_t(nu) + 1, 0), col(std::size_t(ni) + 1, 0);  // counts, then maps
    {
        std::vector<std::vector<std::uint32_t>> part_row(T - 1), part_col(T - 1);
        parallel_for(T, T, [&](std::size_t t) {
            std::uint32_t* cr = row.data();
            std::uint32_t* cc = col.data();
            if (t > 0) {
                part_row[t - 1].assign(std::size_t(nu) + 1, 0);
                part_col[t - 1].assign(std::size_t(ni) + 1, 0);
                cr = part_row[t - 1].data();
                cc = part_col[t - 1].data();
            }
            for (std::size_t j = chunk(unsigned(t)), e = chunk(unsigned(t) + 1); j < e; ++j)
                ++cr[std::min(U[j], nu)], ++cc[std::min(I[j], ni)];
        });
        for (const auto& p : part_row)
            for (std::size_t u = 0; u <= nu; ++u) row[u] += p[u];
        for (const auto& p : part_col)
            for (std::size_t i = 0; i <= ni; ++i) col[i] += p[i];
    }
    if (row[nu] || col[ni]) {
        r.validate(false);  // throws OUT_OF_RANGE naming the first rating with an index out of range
        fail(SIMDMF_ERR_INTERNAL, "RatingGrid: an index out of range that validate() did not find");
    }
    row.pop_back();
    col.pop_back();
    row_start_ = balanced_cuts(row, side);
    col_start_ = balanced_cuts(col, side);
    // Every user's (item's) grid row (column) and local index in one word: one lookup a rating.
    upb_ = ipb_ = 1;
    for (std::uint32_t a = 0; a < side; ++a) {
        upb_ = std::max(upb_, row_start_[a + 1] - row_start_[a]);
        ipb_ = std::max(ipb_, col_start_[a + 1] - col_start_[a]);
        for (std::uint32_t u = row_start_[a]; u < row_start_[a + 1]; ++u) row[u] = (a << 16) | (u - row_start_[a]);
        for (std::uint32_t i = col_start_[a]; i < col_start_[a + 1]; ++i) col[i] = (a << 16) | (i - col_start_[a]);
    }
    const std::uint32_t* um = row.data();
    const std::uint32_t* im = col.data();
    auto block_of = [&](std::size_t j) { return std::size_t(map_high(um[U[j]])) * side_ + map_high(im[I[j]]); };

    // Pass 2: ratings per (chunk, block); then each chunk's cursor into each block, chunks in input order.
    std::vector<std::size_t> cur(std::size_t(T) * nb, 0);  // [t * nb + b]
    parallel_for(T, T, [&](std::size_t t) {
        std::size_t* c = cur.data() + t * nb;
        for (std::size_t j = chunk(unsigned(t)), e = chunk(unsigned(t) + 1); j < e; ++j) ++c[block_of(j)];
    });
    start_.assign(nb + 1, 0);
    for (std::size_t b = 0, acc = 0; b < nb; ++b) {
        start_[b] = acc;
        for (unsigned t = 0; t < T; ++t) {
            const std::size_t c = cur[t * nb + b];
            acc += c;
            cur[t * nb + b] = acc;  // the end of chunk t's part of block b: its cursor counts down
        }
        start_[b + 1] = acc;
    }
    data_.reset(new GridEntry[n_ ? n_ : 1]);

    // Pass 3: every rating to its block, in input order within the block (each chunk from its last rating
    // to its first, cursors counting down from the end of its part), local indices taken from the maps.
    // With `release`, the pages of the source arrays are returned as soon as they are copied.
    parallel_for(T, T, [&](std::size_t t) {
        std::size_t* c = cur.data() + t * nb;
        GridEntry* out = data_.get();
        constexpr std::size_t kReleaseEvery = std::size_t(1) << 14;  // 64 KiB of each source array
        const std::size_t lo = chunk(unsigned(t)), hi = chunk(unsigned(t) + 1);
        for (std::size_t top = hi; top > lo;) {
            const std::size_t bottom = release ? std::max(lo, (top - 1) & ~(kReleaseEvery - 1)) : lo;
            for (std::size_t j = top; j-- > bottom;) {
                const std::uint32_t mu = um[U[j]], mi = im[I[j]];
                out[--c[std::size_t(map_high(mu)) * side_ + map_high(mi)]] =
                    GridEntry{static_cast<std::uint16_t>(mu), static_cast<std::uint16_t>(mi), V[j]};
            }
            if (release) {
                release_range(release->user, bottom, hi);
                release_range(release->item, bottom, hi);
                release_range(release->value, bottom, hi);
                release_range(release->timestamp, bottom, hi);
            }
            top = bottom;
        }
    });
    if (release) {
        std::vector<std::uint32_t>().swap(release->user);
        std::vector<std::uint32_t>().swap(release->item);
        std::vector<float>().swap(release->value);
        std::vector<std::int64_t>().swap(release->timestamp);
    }
    row = {};
    col = {};
    cur = {};

    // Each block: sorted by user into a scratch block (a counting sort; a stable comparison sort for
    // sparse blocks), then interleaved from it back into place. Blocks are independent: T threads
    // take every T-th block, each with its own scratch.
    std::size_t max_block = 0;
    for (std::size_t b = 0; b < nb; ++b) max_block = std::max(max_block, block_size(b));
    const unsigned TB = static_cast<unsigned>(std::min<std::size_t>(T, nb));
    parallel_for(TB, TB, [&](std::size_t t) {
        std::vector<std::uint32_t> cnt(std::size_t(upb_) + 1);
        std::unique_ptr<GridEntry[]> tmp(new GridEntry[max_block ? max_block : 1]);
        for (std::size_t b = t; b < nb; b += TB) {
            const std::size_t n = block_size(b);
            if (n < 2) continue;
            GridEntry* e = block(b);
            // Input sorted by user (many exports are; the synthetic sets are) gives sorted blocks: the
            // interleave then reads the block itself. Unsorted input leaves this scan at its first descent.
            std::size_t up = 1;
            while (up < n && e[up - 1].u <= e[up].u) ++up;
            if (up == n) {
                if (lanes > 1) {
                    interleave(e, n, lanes, tmp.get());
                    std::copy(tmp.get(), tmp.get() + n, e);
                }
                continue;
            }
            if (n < upb_ / 8) {  // sparse block: a comparison sort beats clearing upb counters
                std::stable_sort(e, e + n, [](const GridEntry& x, const GridEntry& y) { return x.u < y.u; });
                std::copy(e, e + n, tmp.get());
            } else {
                std::fill(cnt.begin(), cnt.end(), 0u);
                for (std::size_t j = 0; j < n; ++j) ++cnt[e[j].u + 1];
                for (std::uint32_t u = 0; u < upb_; ++u) cnt[u + 1] += cnt[u];
                for (std::size_t j = 0; j < n; ++j) tmp[cnt[e[j].u]++] = e[j];
            }
            if (lanes > 1) interleave(tmp.get(), n, lanes, e);
            else std::copy(tmp.get(), tmp.get() + n, e);
        }
    });
}

// Consecutive ratings of one user form a dependency chain through the user's row (each update reads
// the row the previous one wrote), which leaves the core waiting on the dot product's latency. Here
// `lanes` users are worked through side by side, one rating from each in turn, each lane taking the
// next user when its own runs out: consecutive ratings then belong to different users, so the CPU can
// overlap their updates, while the rows of only `lanes` users are live at a time. The lanes walk
// neighbouring users in step, so on input sorted by user and item they also touch nearby item rows:
// a transpose of 8 equal segments instead (no per-user bookkeeping), tried in issue 11, made the
// epochs on the 5M synthetic set ~25% slower.
void RatingGrid::interleave(const GridEntry* src, std::size_t n, std::uint32_t lanes, GridEntry* dst) {
    if (n < 2) {
        std::copy(src, src + n, dst);
        return;
    }
    struct Run {
        std::size_t pos, end;
    };
    std::vector<Run> lane;
    lane.reserve(lanes);
    std::size_t next = 0;  // start of the next user's run not yet in a lane
    auto take = [&]() -> Run {
        const std::size_t s = next;
        while (next < n && src[next].u == src[s].u) ++next;
        return Run{s, next};
    };
    while (lane.size() < lanes && next < n) lane.push_back(take());
    std::size_t out = 0;
    while (!lane.empty()) {
        for (std::size_t l = 0; l < lane.size();) {
            dst[out++] = src[lane[l].pos++];
            if (lane[l].pos == lane[l].end) {
                if (next < n) {
                    lane[l] = take();
                } else {
                    lane.erase(lane.begin() + static_cast<std::ptrdiff_t>(l));
                    continue;
                }
            }
            ++l;
        }
    }
}

std::uint64_t seed_mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
    std::uint64_t s = seed ^ (a * 0x9E3779B97F4A7C15ull);
    const std::uint64_t x = splitmix64(s);
    s ^= b * 0xD1B54A32D192ED03ull;
    return x ^ splitmix64(s);
}

std::vector<std::uint32_t> epoch_schedule(std::uint32_t G, std::uint64_t seed, std::uint32_t epoch) {
    Rng rng(seed_mix(seed, epoch, 0x5C4EDu));
    std::vector<std::uint32_t> rows(G), cols(G), shift(G);
    for (std::uint32_t x = 0; x < G; ++x) rows[x] = cols[x] = shift[x] = x;
    rng.shuffle(rows.data(), G);
    rng.shuffle(cols.data(), G);
    rng.shuffle(shift.data(), G);
    std::vector<std::uint32_t> sched(std::size_t(G) * G);
    for (std::uint32_t r = 0; r < G; ++r)
        for (std::uint32_t j = 0; j < G; ++j) sched[std::size_t(r) * G + j] = rows[j] * G + cols[(j + shift[r]) % G];
    return sched;
}

}  // namespace simdmf
