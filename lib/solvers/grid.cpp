#include "solvers/grid.hpp"

#include <algorithm>
#include <cmath>

#include <sys/mman.h>
#include <unistd.h>

#include "common.hpp"
#include "rng.hpp"

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
// Returns the whole pages of [from, end) of an array to the OS (their contents become zero). The
// array is never read there again; its allocation is freed as usual later.
template <class T>
void release_tail(const std::vector<T>& v, std::size_t from) {
    static const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto lo = (reinterpret_cast<std::uintptr_t>(v.data() + from) + page - 1) & ~(page - 1);
    const auto hi = reinterpret_cast<std::uintptr_t>(v.data() + v.size()) & ~(page - 1);
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

}  // namespace

RatingGrid::RatingGrid(const Ratings& r, std::uint32_t side, std::uint32_t lanes, Ratings* release)
    : side_(side), n_(r.size()) {
    if (release && release != &r) fail(SIMDMF_ERR_INTERNAL, "RatingGrid: release must be the ratings copied");
    if (side == 0 || side < min_side(r.n_users, r.n_items))
        fail(SIMDMF_ERR_OUT_OF_RANGE, "grid side " + std::to_string(side) + " is too small for " +
                                          std::to_string(r.n_users) + " users and " +
                                          std::to_string(r.n_items) + " items (16-bit block indices)");
    const std::uint32_t* U = r.user.data();
    const std::uint32_t* I = r.item.data();
    const float* V = r.value.data();
    // Grid row of every user, grid column of every item (temporary, 4 bytes an id).
    std::vector<std::uint32_t> row(r.n_users, 0), col(r.n_items, 0);
    for (std::size_t j = 0; j < n_; ++j) ++row[U[j]], ++col[I[j]];
    row_start_ = balanced_cuts(row, side);
    col_start_ = balanced_cuts(col, side);
    upb_ = ipb_ = 1;
    for (std::uint32_t a = 0; a < side; ++a) {
        upb_ = std::max(upb_, row_start_[a + 1] - row_start_[a]);
        ipb_ = std::max(ipb_, col_start_[a + 1] - col_start_[a]);
        for (std::uint32_t u = row_start_[a]; u < row_start_[a + 1]; ++u) row[u] = a;
        for (std::uint32_t i = col_start_[a]; i < col_start_[a + 1]; ++i) col[i] = a;
    }

    const std::size_t nb = n_blocks();
    start_.assign(nb + 1, 0);
    for (std::size_t j = 0; j < n_; ++j) ++start_[std::size_t(row[U[j]]) * side_ + col[I[j]] + 1];
    for (std::size_t b = 0; b < nb; ++b) start_[b + 1] += start_[b];
    data_.reset(new GridEntry[n_ ? n_ : 1]);

    // Ratings go to their block in input order, then each block is sorted by local user, stably, with
    // a small counting sort (per (block, user) cursors would need side * n_users counters). The copy
    // runs from the last rating to the first with a cursor per block counting down from its end (the
    // same placement as forward), so that with `release` the source's tail pages can be returned as
    // soon as they are copied.
    std::vector<std::size_t> cur(start_.begin() + 1, start_.end());
    constexpr std::size_t kReleaseEvery = std::size_t(1) << 14;  // 64 KiB of each source array
    for (std::size_t j = n_; j-- > 0;) {
        const std::uint32_t a = row[U[j]], c = col[I[j]];
        data_[--cur[std::size_t(a) * side_ + c]] = GridEntry{static_cast<std::uint16_t>(U[j] - row_start_[a]),
                                                              static_cast<std::uint16_t>(I[j] - col_start_[c]), V[j]};
        if (release && j % kReleaseEvery == 0) {
            release_tail(release->user, j);
            release_tail(release->item, j);
            release_tail(release->value, j);
            release_tail(release->timestamp, std::min(j, release->timestamp.size()));
        }
    }
    if (release) {
        std::vector<std::uint32_t>().swap(release->user);
        std::vector<std::uint32_t>().swap(release->item);
        std::vector<float>().swap(release->value);
        std::vector<std::int64_t>().swap(release->timestamp);
    }
    row = {};
    col = {};
    // Each block: sorted by user into tmp (a counting sort; a comparison sort for sparse blocks), then
    // interleaved from tmp back into place.
    std::vector<std::uint32_t> cnt(std::size_t(upb_) + 1);
    std::size_t max_block = 0;
    for (std::size_t b = 0; b < nb; ++b) max_block = std::max(max_block, block_size(b));
    std::vector<GridEntry> tmp(max_block);
    for (std::size_t b = 0; b < nb; ++b) {
        const std::size_t n = block_size(b);
        if (n < 2) continue;
        GridEntry* e = block(b);
        if (n < upb_ / 8) {  // sparse block: a comparison sort beats clearing upb counters
            std::stable_sort(e, e + n, [](const GridEntry& x, const GridEntry& y) { return x.u < y.u; });
            std::copy(e, e + n, tmp.begin());
        } else {
            std::fill(cnt.begin(), cnt.end(), 0u);
            for (std::size_t j = 0; j < n; ++j) ++cnt[e[j].u + 1];
            for (std::uint32_t u = 0; u < upb_; ++u) cnt[u + 1] += cnt[u];
            for (std::size_t j = 0; j < n; ++j) tmp[cnt[e[j].u]++] = e[j];
        }
        if (lanes > 1) interleave(tmp.data(), n, lanes, e);
        else std::copy(tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(n), e);
    }
}

// Consecutive ratings of one user form a dependency chain through the user's row (each update reads
// the row the previous one wrote), which leaves the core waiting on the dot product's latency. Here
// `lanes` users are worked through side by side, one rating from each in turn, each lane taking the
// next user when its own runs out: consecutive ratings then belong to different users, so the CPU can
// overlap their updates, while the rows of only `lanes` users are live at a time.
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
