#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "common.hpp"
#include "dataset.hpp"
#include "rng.hpp"
#include "eval/split.hpp"
#include "test_util.hpp"

using namespace simdmf;

namespace {

// Ratings with distinct values 0, 1, 2, ... so each rating can be identified after a split.
Ratings make_data(std::size_t n, std::uint32_t users, std::uint32_t items, std::uint64_t seed,
                  bool skewed = false) {
    Rng rng(seed);
    Ratings r;
    for (std::size_t k = 0; k < n; ++k) {
        std::uint32_t u = static_cast<std::uint32_t>(rng.below(users));
        std::uint32_t i = static_cast<std::uint32_t>(rng.below(items));
        if (skewed) {  // many users / items with very few ratings
            double x = rng.uniform();
            u = static_cast<std::uint32_t>(users * x * x * x);
            double y = rng.uniform();
            i = static_cast<std::uint32_t>(items * y * y);
        }
        r.add(u, i, static_cast<float>(k));
        r.timestamp.push_back(static_cast<std::int64_t>(rng.below(1000)));
    }
    r.n_users = users;
    r.n_items = items;
    r.user_ids = std::make_shared<const IdMap>();
    return r;
}

std::vector<std::size_t> ids_of(const Ratings& r) {
    std::vector<std::size_t> v;
    for (float x : r.value) v.push_back(static_cast<std::size_t>(x));
    return v;
}

// The parts are disjoint and together exactly the input; each row intact; order preserved.
void check_partition(const Ratings& data, const std::vector<const Ratings*>& parts) {
    std::vector<int> seen(data.size(), 0);
    for (const Ratings* p : parts) {
        CHECK(p->n_users == data.n_users);
        CHECK(p->n_items == data.n_items);
        CHECK(p->user_ids == data.user_ids);
        CHECK(p->timestamp.size() == p->size());
        auto ids = ids_of(*p);
        CHECK(std::is_sorted(ids.begin(), ids.end()));
        for (std::size_t k = 0; k < ids.size(); ++k) {
            std::size_t id = ids[k];
            REQUIRE(id < data.size());
            ++seen[id];
            CHECK(p->user[k] == data.user[id]);
            CHECK(p->item[k] == data.item[id]);
            CHECK(p->timestamp[k] == data.timestamp[id]);
        }
    }
    CHECK(std::count(seen.begin(), seen.end(), 1) == static_cast<long>(data.size()));
}

using simdmf_test::status_of;

}  // namespace

TEST_CASE("random split: sizes, partition, reproducible") {
    Ratings d = make_data(1001, 50, 40, 1);
    auto [train, test] = split::random(d, 0.2, 7);
    CHECK(test.size() == 200);  // round(200.2)
    CHECK(train.size() == 801);
    check_partition(d, {&train, &test});
    auto [train2, test2] = split::random(d, 0.2, 7);
    CHECK(ids_of(test2) == ids_of(test));
    auto [train3, test3] = split::random(d, 0.2, 8);
    CHECK(ids_of(test3) != ids_of(test));
    CHECK(split::random(d, 0.5, 1).second.size() == 501);  // round(500.5) = 501
    for (double bad : {0.0, 1.0, -0.1, 1.5, std::nan("")})
        CHECK(status_of([&] { split::random(d, bad, 1); }) == SIMDMF_ERR_INVALID_ARGUMENT);
}

TEST_CASE("kfold: disjoint folds covering everything") {
    Ratings d = make_data(103, 20, 20, 2);
    auto folds = split::kfold(d, 5, 3);
    REQUIRE(folds.size() == 5);
    std::vector<int> in_test(d.size(), 0);
    for (auto& [train, test] : folds) {
        check_partition(d, {&train, &test});
        CHECK((test.size() == 20 || test.size() == 21));
        for (std::size_t id : ids_of(test)) ++in_test[id];
    }
    CHECK(std::count(in_test.begin(), in_test.end(), 1) == 103);
    auto again = split::kfold(d, 5, 3);
    for (std::size_t f = 0; f < 5; ++f) CHECK(ids_of(again[f].second) == ids_of(folds[f].second));
    CHECK(status_of([&] { split::kfold(d, 1, 0); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { split::kfold(d, 104, 0); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    // One fold at a time from the assignment: the same parts as kfold.
    const auto fold_of = split::kfold_assignment(d.size(), 5, 3);
    REQUIRE(fold_of.size() == d.size());
    for (unsigned f = 0; f < 5; ++f) {
        auto part = split::kfold_part(d, fold_of, f);
        CHECK(ids_of(part.first) == ids_of(folds[f].first));
        CHECK(ids_of(part.second) == ids_of(folds[f].second));
    }
    CHECK(status_of([&] { split::kfold_part(d, std::vector<std::uint32_t>(3, 0), 0); }) == SIMDMF_ERR_INVALID_ARGUMENT);
}

TEST_CASE("per_user: n_test per user with more than n_test ratings") {
    Ratings d = make_data(2000, 300, 50, 3, true);
    auto [train, test] = split::per_user(d, 2, 11);
    check_partition(d, {&train, &test});
    std::vector<std::size_t> all(d.n_users, 0), in_test(d.n_users, 0);
    for (auto u : d.user) ++all[u];
    for (auto u : test.user) ++in_test[u];
    std::size_t expect = 0;
    for (std::uint32_t u = 0; u < d.n_users; ++u) {
        CHECK(in_test[u] == (all[u] > 2 ? 2u : 0u));
        expect += all[u] > 2 ? 2 : 0;
    }
    CHECK(test.size() == expect);
    CHECK(ids_of(split::per_user(d, 2, 11).second) == ids_of(test));
    CHECK(status_of([&] { split::per_user(d, 0, 1); }) == SIMDMF_ERR_INVALID_ARGUMENT);
}

TEST_CASE("by_time: the latest ratings go to test") {
    Ratings d = make_data(500, 30, 30, 4);
    auto [train, test] = split::by_time(d, 0.25);
    check_partition(d, {&train, &test});
    CHECK(test.size() == 125);
    std::int64_t train_max = *std::max_element(train.timestamp.begin(), train.timestamp.end());
    std::int64_t test_min = *std::min_element(test.timestamp.begin(), test.timestamp.end());
    CHECK(train_max <= test_min);
    // On a tie at the boundary, later rows are later.
    auto test_ids = ids_of(test);
    std::set<std::size_t> test_set(test_ids.begin(), test_ids.end());
    for (std::size_t k = 0; k < d.size(); ++k)
        if (!test_set.count(k) && d.timestamp[k] == test_min)
            for (std::size_t id : test_ids)
                if (d.timestamp[id] == test_min) CHECK(id > k);
    Ratings no_time = d;
    no_time.timestamp.clear();
    CHECK(status_of([&] { split::by_time(no_time, 0.2); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { split::by_time(d, 0.0); }) == SIMDMF_ERR_INVALID_ARGUMENT);
}

namespace {
void check_covering(const Ratings& d, const split::Three& t, unsigned min_count) {
    check_partition(d, {&t.train, &t.valid, &t.test});
    std::vector<std::size_t> ucount(d.n_users, 0), icount(d.n_items, 0);
    for (std::size_t k = 0; k < d.size(); ++k) ++ucount[d.user[k]], ++icount[d.item[k]];
    std::size_t checked = 0;
    for (const Ratings* part : {&t.train, &t.valid, &t.test}) {
        std::vector<char> uhas(d.n_users, 0), ihas(d.n_items, 0);
        for (std::size_t k = 0; k < part->size(); ++k) uhas[part->user[k]] = ihas[part->item[k]] = 1;
        for (std::uint32_t u = 0; u < d.n_users; ++u)
            if (ucount[u] >= min_count) {
                ++checked;
                if (!uhas[u]) FAIL_CHECK("user " << u << " with " << ucount[u] << " ratings missing from a part");
            }
        for (std::uint32_t i = 0; i < d.n_items; ++i)
            if (icount[i] >= min_count) {
                ++checked;
                if (!ihas[i]) FAIL_CHECK("item " << i << " with " << icount[i] << " ratings missing from a part");
            }
    }
    CHECK(checked > 0);
}
}  // namespace

TEST_CASE("covering: every frequent user and item is in train, valid and test") {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        Ratings d = make_data(3000, 400, 300, 100 + seed, true);
        split::Three t = split::covering(d, 0.1, 0.1, seed);
        check_covering(d, t, 3);
        // Sizes stay near the fractions (the repair moves few ratings).
        // Targets round(0.1 * 3000) = 300; only the guarantee itself may need more: at least one
        // rating per frequent user (and per frequent item) in each part.
        std::vector<std::size_t> uc(d.n_users, 0), ic(d.n_items, 0);
        for (std::size_t k = 0; k < d.size(); ++k) ++uc[d.user[k]], ++ic[d.item[k]];
        std::size_t fu = 0, fi = 0;
        for (auto c : uc) fu += c >= 3;
        for (auto c : ic) fi += c >= 3;
        const double need = std::max<double>(300, static_cast<double>(std::max(fu, fi)));
        CAPTURE(need);
        CHECK(t.test.size() >= 300);
        CHECK(static_cast<double>(t.test.size()) < need * 1.35);
        CHECK(t.valid.size() >= 300);
        CHECK(static_cast<double>(t.valid.size()) < need * 1.35);
    }
    // Tight case: users and items with exactly 3 ratings each (a 3-regular bipartite multigraph)
    // need a proper 3-edge-colouring, which random assignment almost never is.
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        const std::uint32_t m = 60;
        Rng rng(seed);
        std::vector<std::uint32_t> items;
        for (int rep = 0; rep < 3; ++rep)
            for (std::uint32_t i = 0; i < m; ++i) items.push_back(i);
        rng.shuffle(items.data(), items.size());
        Ratings d;
        for (std::size_t k = 0; k < items.size(); ++k) {
            d.add(static_cast<std::uint32_t>(k / 3), items[k], static_cast<float>(k));
            d.timestamp.push_back(0);
        }
        split::Three t = split::covering(d, 0.1, 0.1, seed);
        check_covering(d, t, 3);
        CHECK(t.test.size() == m);
        CHECK(t.valid.size() == m);
    }
    Ratings d = make_data(3000, 200, 100, 9, true);
    split::Three a = split::covering(d, 0.15, 0.1, 5, 5);
    check_covering(d, a, 5);
    split::Three b = split::covering(d, 0.15, 0.1, 5, 5);
    CHECK(ids_of(a.test) == ids_of(b.test));
    CHECK(ids_of(a.valid) == ids_of(b.valid));
    CHECK(status_of([&] { split::covering(d, 0.5, 0.5, 1); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { split::covering(d, 0.0, 0.1, 1); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { split::covering(d, 0.1, 0.1, 1, 2); }) == SIMDMF_ERR_INVALID_ARGUMENT);
}
