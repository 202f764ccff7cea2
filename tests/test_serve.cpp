// Serving-side helpers shared by the C ABI and the CLI: the seen-item index, raw-id lookups, status
// names and the progress-callback adapter.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"
#include "idspace.hpp"
#include <memory>
#include "progress.hpp"
#include "serve/seen.hpp"
#include "status.hpp"
#include "test_util.hpp"

using namespace simdmf;
using simdmf_test::status_of;

TEST_CASE("SeenItems: each user's items sorted and unique, empty beyond the data set") {
    const std::vector<std::uint32_t> u = {2, 0, 2, 2, 0, 3};
    const std::vector<std::uint32_t> i = {5, 1, 0, 5, 1, 7};
    const std::vector<float> v(u.size(), 1.0f);
    const Ratings r = ratings_from_triples(u.data(), i.data(), v.data(), u.size(), 5, 8);
    const SeenItems seen(r);
    CHECK(seen.users() == 5);
    CHECK(seen.entries() == 4);  // (0,1) (2,0) (2,5) (3,7)
    auto items = [&](std::uint32_t user) {
        auto s = seen.of(user);
        return std::vector<std::uint32_t>(s.begin(), s.end());
    };
    CHECK(items(0) == std::vector<std::uint32_t>{1});
    CHECK(items(1).empty());
    CHECK(items(2) == std::vector<std::uint32_t>{0, 5});
    CHECK(items(3) == std::vector<std::uint32_t>{7});
    CHECK(items(4).empty());
    CHECK(items(99).empty());
    CHECK(SeenItems().of(0).empty());
}

TEST_CASE("SeenItems agrees with a per-user scan on random data") {
    std::vector<std::uint32_t> u, i;
    std::uint64_t x = 12345;
    for (int k = 0; k < 2000; ++k) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        u.push_back(static_cast<std::uint32_t>((x >> 33) % 37));
        i.push_back(static_cast<std::uint32_t>((x >> 17) % 53));
    }
    const std::vector<float> v(u.size(), 3.0f);
    const Ratings r = ratings_from_triples(u.data(), i.data(), v.data(), u.size(), 0, 0);
    const SeenItems seen(r);
    for (std::uint32_t user = 0; user < 37; ++user) {
        std::vector<std::uint32_t> want;
        for (std::size_t k = 0; k < u.size(); ++k)
            if (u[k] == user) want.push_back(i[k]);
        std::sort(want.begin(), want.end());
        want.erase(std::unique(want.begin(), want.end()), want.end());
        auto s = seen.of(user);
        CHECK(std::vector<std::uint32_t>(s.begin(), s.end()) == want);
    }
}

TEST_CASE("raw-id lookups: through a map, or the index itself without one") {
    auto map = IdMap::from_raws({10, -4, 99});
    std::uint32_t idx = 7;
    CHECK(find_raw(&map, 3, -4, &idx));
    CHECK(idx == 1);
    CHECK_FALSE(find_raw(&map, 3, 11, &idx));
    CHECK_FALSE(find_raw(&map, 2, 99, &idx));  // beyond the first n indices
    CHECK(raw_of(&map, 2) == 99);
    CHECK(find_raw(nullptr, 5, 4, &idx));
    CHECK(idx == 4);
    CHECK_FALSE(find_raw(nullptr, 5, 5, &idx));
    CHECK_FALSE(find_raw(nullptr, 5, -1, &idx));
    CHECK(raw_of(nullptr, 3) == 3);
}

TEST_CASE("status names: one per status, 'unknown status' otherwise") {
    CHECK(std::string(status_name(SIMDMF_OK)) == "ok");
    CHECK(std::string(status_name(SIMDMF_ERR_INVALID_ARGUMENT)) == "invalid argument");
    CHECK(std::string(status_name(SIMDMF_ERR_NOT_FOUND)) == "not found");
    CHECK(std::string(status_name(static_cast<simdmf_status>(12345))) == "unknown status");
}

namespace {
struct Calls {
    int n = 0;
    int stop_at = 0;
    simdmf_epoch_info last{};
};
int record_call(const simdmf_epoch_info* info, void* user) {
    auto* c = static_cast<Calls*>(user);
    c->last = *info;
    return ++c->n == c->stop_at ? 1 : 0;
}
}  // namespace

TEST_CASE("progress adapter: epochs, folds and tuning trials reach the C callback") {
    CHECK_FALSE(CProgress{}.epochs());
    CHECK_FALSE(CProgress{}.fold_epochs());
    CHECK_FALSE(CProgress{}.trials());
    Calls calls;
    calls.stop_at = 2;
    const CProgress p{record_call, &calls};
    EpochInfo e;
    e.epoch = 3;
    e.max_epochs = 9;
    e.train_loss = 0.5;
    CHECK(p.epochs()(e));
    CHECK(calls.last.struct_size == sizeof(simdmf_epoch_info));
    CHECK(calls.last.epoch == 3);
    CHECK(calls.last.train_loss == 0.5);
    CHECK_FALSE(p.fold_epochs()(1, e));  // the second call asks to stop
    calls.n = 0;
    calls.stop_at = 2;
    auto trials = p.trials();
    tune::Trial t;
    t.score = 0.9;
    t.lr = 0.02;
    trials(1, 4, t);
    CHECK(calls.last.epoch == 1);
    CHECK(calls.last.max_epochs == 4);
    CHECK(calls.last.valid_metric == 0.9);
    CHECK(std::isnan(calls.last.train_loss));
    CHECK(status_of([&] { trials(2, 4, t); }) == SIMDMF_CANCELLED);
    trials(3, 4, t);  // after a stop, later runs are not reported
    CHECK(calls.n == 2);
}

TEST_CASE("id spaces: string maps, prefixes, and align_to extending the reference's map") {
    auto ref = std::make_shared<const IdMap>(IdMap::from_strings({"USER_1", "7", "USER_3"}));
    auto items = std::make_shared<const IdMap>(IdMap::from_raws({5, 6}));
    Ratings r;
    r.add(0, 0, 4.0f);
    r.add(2, 1, 3.0f);
    r.user_ids = ref;
    r.item_ids = items;
    IdSpace space{ref, items, 3, 2, false};
    CHECK(id_space_mismatch(r, space, "the data").empty());
    // A separate but equal map (integer text 7 stored canonically), and a prefix of it.
    Ratings same = r;
    same.user_ids = std::make_shared<const IdMap>(IdMap::from_strings({"USER_1", "7"}));
    same.n_users = 2;
    same.user = {0, 1};
    CHECK(id_space_mismatch(same, space, "the data").empty());
    // A map that differs at index 1: refused, naming both ids.
    Ratings other = same;
    other.user_ids = std::make_shared<const IdMap>(IdMap::from_strings({"USER_1", "USER_9"}));
    const std::string why = id_space_mismatch(other, space, "the data");
    CHECK(why.find("user index 1") != std::string::npos);
    CHECK(why.find("USER_9") != std::string::npos);
    CHECK(status_of([&] { check_id_space(other, space, "the data"); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    // align_to: known ids take the reference's indices, new ones follow (cold) or are left out.
    std::size_t unknown = 0;
    const Ratings a = align_to(other, space, true, &unknown);
    CHECK(unknown == 1);
    CHECK(a.user == std::vector<std::uint32_t>{0, 3});
    CHECK(a.n_users == 4);
    CHECK(a.user_ids->text(3) == "USER_9");
    CHECK(id_space_mismatch(a, space, "the aligned data").empty());
    const Ratings d = align_to(other, space, false, &unknown);
    CHECK(unknown == 1);
    CHECK(d.size() == 1);
    CHECK(d.user_ids == ref);  // nothing added: the reference's map itself
}

// ---- top-N: one user, batches, filters, nearest ----
#include <random>
#include <set>

#include "models/mf.hpp"
#include "serve/serve.hpp"

namespace {

// A random MF model (biases on unless `biases` is false), rows drawn uniformly; `dup` makes item 2j+1 a
// copy of item 2j for j < dup, so that those pairs score exactly alike.
MFModel random_mf(std::uint32_t users, std::uint32_t items, std::uint32_t k, unsigned seed, std::uint32_t dup = 0,
                  Loss loss = Loss::squared, bool biases = true) {
    MFModel m;
    m.allocate(loss, k, users, items, biases);
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (std::uint32_t u = 0; u < users; ++u) {
        for (std::uint32_t f = 0; f < k; ++f) m.user_row(u)[f] = d(g);
        if (biases) m.bu[u] = 0.1f * d(g);
    }
    for (std::uint32_t i = 0; i < items; ++i) {
        for (std::uint32_t f = 0; f < k; ++f) m.item_row(i)[f] = d(g);
        if (biases) m.bi[i] = 0.1f * d(g);
    }
    for (std::uint32_t j = 0; j < dup && 2 * j + 1 < items; ++j) {
        std::copy(m.item_row(2 * j), m.item_row(2 * j) + m.stride, m.item_row(2 * j + 1));
        if (biases) m.bi[2 * j + 1] = m.bi[2 * j];
    }
    if (biases) m.mu = 3.0f;
    return m;
}

// Brute force: every allowed item's score in double, best first (ties by index).
std::vector<std::pair<double, std::uint32_t>> brute(const MFModel& m, std::uint32_t u,
                                                    const std::set<std::uint32_t>& banned,
                                                    const std::vector<std::uint32_t>* allow) {
    std::vector<std::pair<double, std::uint32_t>> all;
    for (std::uint32_t i = 0; i < m.n_items; ++i) {
        if (banned.count(i)) continue;
        if (allow && !std::binary_search(allow->begin(), allow->end(), i)) continue;
        double s = m.biases ? double(m.mu) + m.bu[u] + m.bi[i] : 0.0;
        for (std::uint32_t f = 0; f < m.k; ++f) s += double(m.user_row(u)[f]) * m.item_row(i)[f];
        all.emplace_back(-s, i);
    }
    std::sort(all.begin(), all.end());
    for (auto& a : all) a.first = -a.first;
    return all;
}

}  // namespace

// Both with biases (each block's scores get them before the scan) and without (a pure inner product:
// the GEMM flags the rows above a user's threshold and the scan reads only those), the latter with
// 150 users (two chunks of the batch's 128) over six blocks of items.
TEST_CASE("recommend_into and recommend_batch: the brute-force top-n with seen, deny and allow lists") {
  for (const bool biases : {true, false}) {
    CAPTURE(biases);
    const std::uint32_t nu = biases ? 40 : 150;
    const MFModel m = random_mf(nu, 3001, 13, 5, 0, Loss::squared, biases);
    // Seen items per user from a data set.
    std::vector<std::uint32_t> su, si;
    std::mt19937 g(9);
    for (int j = 0; j < 4000; ++j) su.push_back(g() % nu), si.push_back(g() % 3001);
    const std::vector<float> sv(su.size(), 1.0f);
    const SeenItems seen(ratings_from_triples(su.data(), si.data(), sv.data(), su.size(), nu, 3001));
    std::vector<std::uint32_t> deny, allow;
    for (std::uint32_t i = 0; i < 3001; i += 7) deny.push_back(i);
    for (std::uint32_t i = 1; i < 3001; i += 3) allow.push_back(i);
    std::vector<std::uint32_t> users;
    for (std::uint32_t u = 0; u < nu; ++u) users.push_back((u * 17) % nu);
    serve::Scratch scratch;
    for (int mode = 0; mode < 3; ++mode) {  // seen only; seen + deny; allow (+ seen)
        serve::Filter f;
        f.seen = seen.view();
        if (mode == 1) f.deny = deny.data(), f.n_deny = deny.size();
        if (mode == 2) f.allow = allow.data(), f.n_allow = allow.size();
        for (std::size_t n : {1, 10, 64}) {
            CAPTURE(mode);
            CAPTURE(n);
            std::vector<std::uint32_t> items(users.size() * n);
            std::vector<float> values(users.size() * n);
            std::vector<std::size_t> counts(users.size());
            serve::recommend_batch(m, users.data(), users.size(), n, f, scratch, items.data(), n, values.data(), n,
                                   counts.data());
            for (std::size_t b = 0; b < users.size(); ++b) {
                const std::uint32_t u = users[b];
                std::set<std::uint32_t> banned(seen.of(u).begin(), seen.of(u).end());
                if (mode == 1) banned.insert(deny.begin(), deny.end());
                const auto want = brute(m, u, banned, mode == 2 ? &allow : nullptr);
                REQUIRE(counts[b] == std::min(n, want.size()));
                std::vector<std::uint32_t> one(n);
                std::vector<float> one_v(n);
                CHECK(serve::recommend_into(m, u, n, f, one.data(), one_v.data()) == counts[b]);
                bool ok = true;
                for (std::size_t j = 0; j < counts[b]; ++j) {
                    const std::uint32_t it = items[b * n + j];
                    ok &= !banned.count(it);
                    // The j-th best score (up to float rounding of both sides), as a prediction.
                    ok &= std::fabs(values[b * n + j] - m.prediction(float(want[j].first))) < 1e-4f;
                    ok &= std::fabs(one_v[j] - values[b * n + j]) < 1e-4f;
                    if (j) ok &= values[b * n + j - 1] >= values[b * n + j];
                }
                CHECK(ok);
            }
        }
    }
  }
}

TEST_CASE("top-n: equal scores go to the lower item index, batched or not; memory does not grow with items") {
  for (const bool biases : {true, false}) {  // without: the scan reads only the rows the GEMM flags
    CAPTURE(biases);
    std::size_t bytes_small = 0, bytes_large = 0;
    for (std::uint32_t n_items : {2000u, 20000u}) {
        // items 2j and 2j+1 identical
        const MFModel m = random_mf(9, n_items, 8, 3, n_items / 2, Loss::squared, biases);
        std::vector<std::uint32_t> users = {0, 1, 2, 3, 4, 5, 6, 7, 8};
        const std::size_t n = 20;
        std::vector<std::uint32_t> items(users.size() * n);
        std::vector<float> values(users.size() * n);
        std::vector<std::size_t> counts(users.size());
        serve::Scratch s;
        serve::recommend_batch(m, users.data(), users.size(), n, serve::Filter{}, s, items.data(), n, values.data(), n,
                               counts.data());
        for (std::size_t b = 0; b < users.size(); ++b) {
            REQUIRE(counts[b] == n);
            for (std::size_t j = 0; j < n; j += 2) {  // pairs of twins, the even one first
                CHECK(items[b * n + j] % 2 == 0);
                CHECK(items[b * n + j + 1] == items[b * n + j] + 1);
                CHECK(values[b * n + j] == values[b * n + j + 1]);
            }
            std::vector<std::uint32_t> one(n);
            std::vector<float> one_v(n);
            serve::recommend_into(m, users[b], n, serve::Filter{}, one.data(), one_v.data());
            CHECK(std::equal(one.begin(), one.end(), items.begin() + b * n));
        }
        (n_items == 2000 ? bytes_small : bytes_large) = s.bytes();
    }
    CHECK(bytes_small > 0);
    CHECK(bytes_small == bytes_large);
  }
}

TEST_CASE("nearest_batch: cosine as nearest(), dot as brute force, the query left out") {
    const MFModel m = random_mf(700, 1500, 11, 21);
    for (int side : {SIMDMF_USERS, SIMDMF_ITEMS}) {
        const std::uint32_t count = m.count(side);
        std::vector<std::uint32_t> q = {0, 5, 699, 3, 3, 100, 42};
        const std::size_t n = 12;
        std::vector<std::uint32_t> out(q.size() * n);
        std::vector<float> sims(q.size() * n);
        std::vector<std::size_t> counts(q.size());
        serve::Scratch s;
        for (serve::Metric metric : {serve::Metric::cosine, serve::Metric::dot}) {
            serve::nearest_batch(m, side, metric, q.data(), q.size(), n, s, out.data(), n, sims.data(), n, counts.data());
            for (std::size_t b = 0; b < q.size(); ++b) {
                REQUIRE(counts[b] == n);
                std::vector<std::pair<double, std::uint32_t>> want;
                const float* x = m.row(side, q[b]);
                for (std::uint32_t j = 0; j < count; ++j) {
                    if (j == q[b]) continue;
                    const float* y = m.row(side, j);
                    double d = 0, nx = 0, ny = 0;
                    for (std::uint32_t f = 0; f < m.k; ++f) d += double(x[f]) * y[f], nx += double(x[f]) * x[f], ny += double(y[f]) * y[f];
                    want.emplace_back(-(metric == serve::Metric::cosine ? d / std::sqrt(nx * ny) : d), j);
                }
                std::sort(want.begin(), want.end());
                bool ok = true;
                for (std::size_t j = 0; j < n; ++j) {
                    ok &= out[b * n + j] != q[b];
                    ok &= std::fabs(sims[b * n + j] + want[j].first) < 1e-4;
                }
                CHECK(ok);
                if (metric == serve::Metric::cosine) {
                    const auto one = serve::nearest(m, side, q[b], n);
                    REQUIRE(one.size() == n);
                    for (std::size_t j = 0; j < n; ++j) CHECK(std::fabs(one[j].second - sims[b * n + j]) < 1e-5f);
                }
            }
        }
    }
}
