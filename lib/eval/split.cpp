#include "eval/split.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "common.hpp"
#include "rng.hpp"

namespace simdmf::split {

namespace {

void check_fraction(double f, const char* what) {
    if (!(f > 0.0 && f < 1.0))
        fail(SIMDMF_ERR_INVALID_ARGUMENT,
             std::string(what) + " must be in (0, 1), got " + std::to_string(f));
}

std::vector<std::size_t> iota_n(std::size_t n) {
    std::vector<std::size_t> v(n);
    std::iota(v.begin(), v.end(), std::size_t{0});
    return v;
}

std::size_t rounded_count(std::size_t n, double f) {
    double c = std::round(static_cast<double>(n) * f);
    if (c < 0) c = 0;
    if (c > static_cast<double>(n)) c = static_cast<double>(n);
    return static_cast<std::size_t>(c);
}

// Splits positions by a per-row part tag (0 = first, 1 = second, ...), preserving the original order.
std::vector<std::vector<std::size_t>> rows_by_part(const std::vector<std::uint8_t>& part, unsigned parts) {
    std::vector<std::size_t> count(parts, 0);
    for (auto p : part) ++count[p];
    std::vector<std::vector<std::size_t>> rows(parts);
    for (unsigned p = 0; p < parts; ++p) rows[p].reserve(count[p]);
    for (std::size_t k = 0; k < part.size(); ++k) rows[part[k]].push_back(k);
    return rows;
}

}  // namespace

std::pair<Ratings, Ratings> random(const Ratings& data, double test_fraction, std::uint64_t seed) {
    check_fraction(test_fraction, "test_fraction");
    const std::size_t n = data.size();
    const std::size_t n_test = rounded_count(n, test_fraction);
    std::vector<std::size_t> perm = iota_n(n);
    Rng rng(seed);
    // Partial Fisher-Yates: the first n_test slots become a uniform random sample.
    for (std::size_t k = 0; k < n_test; ++k) std::swap(perm[k], perm[k + rng.below(n - k)]);
    std::vector<std::uint8_t> part(n, 0);
    for (std::size_t k = 0; k < n_test; ++k) part[perm[k]] = 1;
    perm.clear();
    perm.shrink_to_fit();
    auto rows = rows_by_part(part, 2);
    return {data.subset(rows[0]), data.subset(rows[1])};
}

std::vector<std::uint32_t> kfold_assignment(std::size_t n, unsigned folds, std::uint64_t seed) {
    if (folds < 2) fail(SIMDMF_ERR_INVALID_ARGUMENT, "kfold needs at least 2 folds");
    if (folds > n)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "kfold: " + std::to_string(folds) + " folds for only " +
                                              std::to_string(n) + " ratings");
    std::vector<std::size_t> perm = iota_n(n);
    Rng rng(seed);
    rng.shuffle(perm.data(), n);
    std::vector<std::uint32_t> fold_of(n);
    for (unsigned f = 0; f < folds; ++f) {
        std::size_t lo = n * f / folds, hi = n * (f + 1) / folds;
        for (std::size_t k = lo; k < hi; ++k) fold_of[perm[k]] = f;
    }
    return fold_of;
}

std::pair<Ratings, Ratings> kfold_part(const Ratings& data, const std::vector<std::uint32_t>& fold_of, unsigned fold) {
    const std::size_t n = data.size();
    if (fold_of.size() != n)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "kfold_part: the fold assignment does not match the data size");
    std::vector<std::size_t> train_rows, test_rows;
    for (std::size_t k = 0; k < n; ++k) (fold_of[k] == fold ? test_rows : train_rows).push_back(k);
    return {data.subset(train_rows), data.subset(test_rows)};
}

std::vector<std::pair<Ratings, Ratings>> kfold(const Ratings& data, unsigned folds, std::uint64_t seed) {
    const std::vector<std::uint32_t> fold_of = kfold_assignment(data.size(), folds, seed);
    std::vector<std::pair<Ratings, Ratings>> out;
    out.reserve(folds);
    for (unsigned f = 0; f < folds; ++f) out.push_back(kfold_part(data, fold_of, f));
    return out;
}

namespace {

// Positions grouped by user (a stable counting sort: each user's ratings in file order).
struct ByUser {
    std::vector<std::size_t> start, rows;
    explicit ByUser(const Ratings& data) {
        const std::size_t n = data.size();
        const std::uint32_t n_users = data.n_users;
        for (std::size_t k = 0; k < n; ++k)
            if (data.user[k] >= n_users)
                fail(SIMDMF_ERR_OUT_OF_RANGE, "rating " + std::to_string(k) + ": user index >= n_users");
        start.assign(static_cast<std::size_t>(n_users) + 1, 0);
        for (std::size_t k = 0; k < n; ++k) ++start[data.user[k] + 1];
        for (std::size_t u = 0; u < n_users; ++u) start[u + 1] += start[u];
        rows.resize(n);
        std::vector<std::size_t> fill(start.begin(), start.end() - 1);
        for (std::size_t k = 0; k < n; ++k) rows[fill[data.user[k]]++] = k;
    }
    std::size_t users() const { return start.size() - 1; }
};

}  // namespace

std::pair<Ratings, Ratings> per_user_fraction(const Ratings& data, double test_fraction, std::uint64_t seed) {
    check_fraction(test_fraction, "test_fraction");
    ByUser g(data);
    std::vector<std::uint8_t> part(data.size(), 0);
    Rng rng(seed);
    for (std::size_t u = 0; u < g.users(); ++u) {
        std::size_t* first = g.rows.data() + g.start[u];
        const std::size_t cnt = g.start[u + 1] - g.start[u];
        if (cnt < 2) continue;
        const std::size_t n_test = std::min(rounded_count(cnt, test_fraction), cnt - 1);
        for (std::size_t k = 0; k < n_test; ++k) std::swap(first[k], first[k + rng.below(cnt - k)]);
        for (std::size_t k = 0; k < n_test; ++k) part[first[k]] = 1;
    }
    auto rows = rows_by_part(part, 2);
    return {data.subset(rows[0]), data.subset(rows[1])};
}

std::pair<Ratings, Ratings> leave_one_out(const Ratings& data, bool latest, std::uint64_t seed) {
    if (latest && data.timestamp.size() != data.size())
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "leave-one-out by latest needs a timestamp for every rating");
    ByUser g(data);
    std::vector<std::uint8_t> part(data.size(), 0);
    Rng rng(seed);
    for (std::size_t u = 0; u < g.users(); ++u) {
        const std::size_t* first = g.rows.data() + g.start[u];
        const std::size_t cnt = g.start[u + 1] - g.start[u];
        if (cnt < 2) continue;
        std::size_t pick = first[0];
        if (latest) {
            for (std::size_t k = 1; k < cnt; ++k)  // rows ascend within a user: >= makes ties the later row
                if (data.timestamp[first[k]] >= data.timestamp[pick]) pick = first[k];
        } else {
            pick = first[rng.below(cnt)];
        }
        part[pick] = 1;
    }
    auto rows = rows_by_part(part, 2);
    return {data.subset(rows[0]), data.subset(rows[1])};
}

std::pair<Ratings, Ratings> per_user(const Ratings& data, unsigned n_test, std::uint64_t seed) {
    if (n_test < 1) fail(SIMDMF_ERR_INVALID_ARGUMENT, "per_user split needs n_test >= 1");
    const std::size_t n = data.size();
    ByUser g(data);
    const std::uint32_t n_users = data.n_users;
    const auto& start = g.start;
    auto& by_user = g.rows;
    std::vector<std::uint8_t> part(n, 0);
    Rng rng(seed);
    for (std::size_t u = 0; u < n_users; ++u) {
        std::size_t* first = by_user.data() + start[u];
        std::size_t cnt = start[u + 1] - start[u];
        if (cnt <= n_test) continue;
        for (std::size_t k = 0; k < n_test; ++k) std::swap(first[k], first[k + rng.below(cnt - k)]);
        for (std::size_t k = 0; k < n_test; ++k) part[first[k]] = 1;
    }
    auto rows = rows_by_part(part, 2);
    return {data.subset(rows[0]), data.subset(rows[1])};
}

std::pair<Ratings, Ratings> by_time(const Ratings& data, double test_fraction) {
    check_fraction(test_fraction, "test_fraction");
    const std::size_t n = data.size();
    if (data.timestamp.size() != n || (n > 0 && data.timestamp.empty()))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "by_time split needs a timestamp for every rating");
    if (n == 0) return {data.empty_like(), data.empty_like()};
    const std::size_t n_test = rounded_count(n, test_fraction);
    std::vector<std::size_t> order = iota_n(n);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return data.timestamp[a] < data.timestamp[b];
    });
    std::vector<std::uint8_t> part(n, 0);
    for (std::size_t k = n - n_test; k < n; ++k) part[order[k]] = 1;
    order.clear();
    order.shrink_to_fit();
    auto rows = rows_by_part(part, 2);
    return {data.subset(rows[0]), data.subset(rows[1])};
}

namespace {

// Adjacency of one side (users or items): CSR lists of rating positions.
struct Side {
    std::vector<std::size_t> start;  // size n_vertices + 1
    std::vector<std::size_t> edges;  // rating positions grouped by vertex
    std::vector<std::uint32_t> count[3];  // ratings of each part at each vertex (live)

    void build(const std::vector<std::uint32_t>& vertex_of, std::uint32_t n_vertices) {
        const std::size_t n = vertex_of.size();
        start.assign(static_cast<std::size_t>(n_vertices) + 1, 0);
        for (std::size_t k = 0; k < n; ++k) {
            if (vertex_of[k] >= n_vertices)
                fail(SIMDMF_ERR_OUT_OF_RANGE, "rating " + std::to_string(k) + ": index out of range");
            ++start[vertex_of[k] + 1];
        }
        for (std::size_t v = 0; v < n_vertices; ++v) start[v + 1] += start[v];
        edges.resize(n);
        std::vector<std::size_t> fill(start.begin(), start.end() - 1);
        for (std::size_t k = 0; k < n; ++k) edges[fill[vertex_of[k]]++] = k;
        for (auto& c : count) c.assign(n_vertices, 0);
    }
    std::size_t degree(std::uint32_t v) const { return start[v + 1] - start[v]; }
};

}  // namespace

Three covering(const Ratings& data, double valid_fraction, double test_fraction, std::uint64_t seed,
               unsigned min_count) {
    check_fraction(valid_fraction, "valid_fraction");
    check_fraction(test_fraction, "test_fraction");
    if (!(valid_fraction + test_fraction < 1.0))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "valid_fraction + test_fraction must be < 1");
    if (min_count < 3)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "covering split needs min_count >= 3 (one rating per part)");
    const std::size_t n = data.size();
    constexpr std::uint8_t TRAIN = 0, VALID = 1, TEST = 2;

    Side sides[2];  // 0: users, 1: items
    sides[0].build(data.user, data.n_users);
    sides[1].build(data.item, data.n_items);
    const std::vector<std::uint32_t>* vertex_of[2] = {&data.user, &data.item};
    auto needy = [&](int s, std::uint32_t v) { return sides[s].degree(v) >= min_count; };

    // Initial assignment: ratings of two frequent endpoints are eligible for valid/test at random.
    std::vector<std::uint8_t> part(n, TRAIN);
    std::vector<std::size_t> eligible;
    for (std::size_t k = 0; k < n; ++k)
        if (needy(0, data.user[k]) && needy(1, data.item[k])) eligible.push_back(k);
    Rng rng(seed);
    const std::size_t want_valid = rounded_count(n, valid_fraction);
    const std::size_t want_test = rounded_count(n, test_fraction);
    const std::size_t take_test = std::min(want_test, eligible.size());
    const std::size_t take_valid = std::min(want_valid, eligible.size() - take_test);
    const std::size_t take = take_test + take_valid;
    for (std::size_t k = 0; k < take; ++k)
        std::swap(eligible[k], eligible[k + rng.below(eligible.size() - k)]);
    for (std::size_t k = 0; k < take_test; ++k) part[eligible[k]] = TEST;
    for (std::size_t k = take_test; k < take; ++k) part[eligible[k]] = VALID;
    eligible.clear();
    eligible.shrink_to_fit();
    for (std::size_t k = 0; k < n; ++k) {
        ++sides[0].count[part[k]][data.user[k]];
        ++sides[1].count[part[k]][data.item[k]];
    }

    auto set_part = [&](std::size_t e, std::uint8_t to) {
        std::uint8_t from = part[e];
        --sides[0].count[from][data.user[e]];
        --sides[1].count[from][data.item[e]];
        ++sides[0].count[to][data.user[e]];
        ++sides[1].count[to][data.item[e]];
        part[e] = to;
    };
    auto missing = [&](int s, std::uint32_t v) -> int {
        for (int c = 0; c < 3; ++c)
            if (sides[s].count[c][v] == 0) return c;
        return -1;
    };

    // Repair. A vertex v (degree >= 3) missing part a holds some part b at least twice. Flip one b
    // rating at v to a, then walk: at the other endpoint z, if it just lost its only rating of the old
    // part c and is frequent, flip another of its ratings from the new part c' back to c and continue
    // from that rating's other endpoint; otherwise stop. Passes through a vertex are balanced; the walk
    // never returns to v (arrivals on v's side are by ratings originally of part a, which v lacks); and
    // where it stops either nothing was lost or the vertex merely swapped which part it misses. So each
    // walk lowers the total number of (vertex, missing part) pairs by one and never breaks a vertex
    // already repaired: one pass over all vertices finishes the job.
    std::vector<std::uint64_t> stamp(n, 0);
    std::uint64_t walk_id = 0;
    for (int s = 0; s < 2; ++s) {
        const std::uint32_t n_vertices = s == 0 ? data.n_users : data.n_items;
        for (std::uint32_t v = 0; v < n_vertices; ++v) {
            if (!needy(s, v)) continue;
            for (int a; (a = missing(s, v)) >= 0;) {
                // At most 2 missing parts per vertex: more walks would mean the argument above broke.
                if (++walk_id > 2 * (static_cast<std::uint64_t>(data.n_users) + data.n_items))
                    fail(SIMDMF_ERR_INTERNAL, "covering split: repair did not converge");
                int b = -1;
                for (int c = 0; c < 3; ++c)
                    if (c != a && sides[s].count[c][v] >= 2) b = c;
                if (b < 0) fail(SIMDMF_ERR_INTERNAL, "covering split: no part to take from");
                const int o = 1 - s;
                // Choose the first rating to flip: prefer one whose other endpoint keeps part b anyway,
                // then one whose other endpoint is rare, then any.
                std::size_t best = SIZE_MAX;
                int best_rank = 3;
                for (std::size_t p = sides[s].start[v]; p < sides[s].start[v + 1] && best_rank > 0; ++p) {
                    std::size_t e = sides[s].edges[p];
                    if (part[e] != b) continue;
                    std::uint32_t w = (*vertex_of[o])[e];
                    int rank = sides[o].count[b][w] >= 2 ? 0 : !needy(o, w) ? 1 : 2;
                    if (rank < best_rank) best_rank = rank, best = e;
                }
                std::size_t e = best;
                int side = o;  // side of the endpoint the walk arrives at
                int old_part = b, new_part = a;
                for (;;) {
                    set_part(e, static_cast<std::uint8_t>(new_part));
                    stamp[e] = walk_id;
                    std::uint32_t z = (*vertex_of[side])[e];
                    if (!needy(side, z) || sides[side].count[old_part][z] >= 1) break;
                    std::size_t next = SIZE_MAX;
                    for (std::size_t p = sides[side].start[z]; p < sides[side].start[z + 1]; ++p) {
                        std::size_t f = sides[side].edges[p];
                        if (part[f] == new_part && stamp[f] != walk_id) {
                            next = f;
                            break;
                        }
                    }
                    if (next == SIZE_MAX) break;
                    e = next;
                    side = 1 - side;
                    std::swap(old_part, new_part);
                }
            }
        }
    }

    // The repair mostly takes ratings from train, so valid and test may now exceed their targets. Give
    // the excess back to train, in random order, wherever both endpoints keep the part anyway.
    for (std::uint8_t p : {VALID, TEST}) {
        const std::size_t target = p == VALID ? take_valid : take_test;
        std::vector<std::size_t> rows;
        for (std::size_t k = 0; k < n; ++k)
            if (part[k] == p) rows.push_back(k);
        if (rows.size() <= target) continue;
        rng.shuffle(rows.data(), rows.size());
        std::size_t have = rows.size();
        for (std::size_t e : rows) {
            if (have <= target) break;
            std::uint32_t u = data.user[e], i = data.item[e];
            if ((needy(0, u) && sides[0].count[p][u] < 2) || (needy(1, i) && sides[1].count[p][i] < 2)) continue;
            set_part(e, TRAIN);
            --have;
        }
    }

    auto rows = rows_by_part(part, 3);
    return {data.subset(rows[TRAIN]), data.subset(rows[VALID]), data.subset(rows[TEST])};
}

}  // namespace simdmf::split
