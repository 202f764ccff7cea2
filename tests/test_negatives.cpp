// The negative sampler (lib/solvers/negatives) and the leave-one-out / per-user-fraction splits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common.hpp"
#include "dataset.hpp"
#include "eval/split.hpp"
#include "rng.hpp"
#include "solvers/negatives.hpp"

using namespace simdmf;

namespace {

Ratings random_events(std::size_t n, std::uint32_t users, std::uint32_t items, std::uint64_t seed) {
    Rng rng(seed);
    Ratings r;
    for (std::size_t k = 0; k < n; ++k) {
        r.add(static_cast<std::uint32_t>(rng.below(users)), static_cast<std::uint32_t>(rng.below(items)),
              static_cast<float>(k));
        r.timestamp.push_back(static_cast<std::int64_t>(rng.below(50)));
    }
    r.n_users = users;
    r.n_items = items;
    return r;
}

}  // namespace

TEST_CASE("negative sampler: never a seen item, every unseen item reachable, uniform") {
    Ratings r = random_events(400, 10, 40, 3);
    SeenItems seen(r);
    NegativeSampler s(seen, 40);
    Rng rng(11);
    for (std::uint32_t u = 0; u < 10; ++u) {
        const auto mine = seen.of(u);
        const std::set<std::uint32_t> seen_set(mine.begin(), mine.end());
        REQUIRE(s.unseen_count(u) == 40 - seen_set.size());
        // nth_unseen enumerates exactly the complement, ascending.
        std::vector<std::uint32_t> all;
        for (std::uint32_t i = 0; i < 40; ++i)
            if (!seen_set.count(i)) all.push_back(i);
        for (std::uint32_t q = 0; q < s.unseen_count(u); ++q) CHECK(s.nth_unseen(u, q) == all[q]);
        std::map<std::uint32_t, int> hist;
        const int draws = 2000;
        for (int d = 0; d < draws; ++d) {
            const std::uint32_t i = s.draw(u, rng);
            REQUIRE(i < 40);
            CHECK(seen_set.count(i) == 0);
            ++hist[i];
        }
        if (!all.empty()) {
            CHECK(hist.size() == all.size());  // every unseen item drawn at least once
            const double expect = double(draws) / double(all.size());
            for (auto& [i, c] : hist) CHECK(std::abs(c - expect) < 5.0 * std::sqrt(expect) + 5);
        }
    }
}

TEST_CASE("negative sampler: reproducible for a seed, different for another") {
    Ratings r = random_events(300, 8, 100, 5);
    SeenItems seen(r);
    NegativeSampler s(seen, 100);
    auto stream = [&](std::uint64_t seed) {
        Rng rng(seed);
        std::vector<std::uint32_t> v;
        for (int d = 0; d < 200; ++d) v.push_back(s.draw(static_cast<std::uint32_t>(d % 8), rng));
        for (std::uint32_t u = 0; u < 8; ++u) s.draw_distinct(u, 20, rng, v);
        return v;
    };
    CHECK(stream(7) == stream(7));
    CHECK(stream(7) != stream(8));
}

TEST_CASE("negative sampler: distinct draws, and users who have seen every item") {
    Ratings r;
    for (std::uint32_t i = 0; i < 6; ++i) r.add(0, i, 1);  // user 0 has seen all 6 items
    r.add(1, 2, 1);
    r.add(1, 4, 1);
    r.add(1, 9, 1);  // beyond the model's 6 items: ignored
    r.n_items = 10;
    SeenItems seen(r);
    NegativeSampler s(seen, 6);
    Rng rng(1);
    CHECK(s.unseen_count(0) == 0);
    CHECK(s.draw(0, rng) == kNoItem);
    std::vector<std::uint32_t> out;
    CHECK(s.draw_distinct(0, 3, rng, out) == 0);
    CHECK(out.empty());
    // User 1: 4 unseen items {0, 1, 3, 5}; asking for 3 gives 3 distinct of them, asking for 10 gives all.
    CHECK(s.unseen_count(1) == 4);
    for (int rep = 0; rep < 50; ++rep) {
        out.clear();
        REQUIRE(s.draw_distinct(1, 3, rng, out) == 3);
        CHECK(std::is_sorted(out.begin(), out.end()));
        CHECK(std::adjacent_find(out.begin(), out.end()) == out.end());
        for (auto i : out) CHECK((i == 0 || i == 1 || i == 3 || i == 5));
    }
    out.clear();
    CHECK(s.draw_distinct(1, 10, rng, out) == 4);
    CHECK(out == std::vector<std::uint32_t>{0, 1, 3, 5});
    // A user beyond the index has seen nothing.
    CHECK(s.unseen_count(5) == 6);
    // seen_union covers both sets.
    Ratings other;
    other.add(1, 0, 1);
    SeenItems both = seen_union(r, other);
    NegativeSampler s2(both, 6);
    CHECK(s2.unseen_count(1) == 3);
}

TEST_CASE("leave-one-out: one event per user with two or more, the latest or a seeded random one") {
    Ratings r = random_events(500, 30, 50, 9);
    r.add(29, 1, 1000);  // make sure a one-event user exists: user 30
    r.add(30, 3, 1001);
    r.timestamp.push_back(10);
    r.timestamp.push_back(10);
    r.n_users = 31;
    std::map<std::uint32_t, std::size_t> count;
    for (auto u : r.user) ++count[u];
    auto [train, test] = split::leave_one_out(r, true, 1);
    CHECK(train.size() + test.size() == r.size());
    std::map<std::uint32_t, int> in_test;
    for (std::size_t k = 0; k < test.size(); ++k) {
        const std::uint32_t u = test.user[k];
        ++in_test[u];
        // No training event of u is later than the test event.
        for (std::size_t j = 0; j < train.size(); ++j)
            if (train.user[j] == u) CHECK(train.timestamp[j] <= test.timestamp[k]);
    }
    for (auto [u, c] : count) CHECK(in_test[u] == (c >= 2 ? 1 : 0));
    // Random choice: reproducible for a seed.
    auto [tr2, te2] = split::leave_one_out(r, false, 4);
    auto [tr3, te3] = split::leave_one_out(r, false, 4);
    auto [tr4, te4] = split::leave_one_out(r, false, 5);
    CHECK(te2.value == te3.value);
    CHECK(te2.value != te4.value);
    CHECK(te2.size() == test.size());
    Ratings no_time = r;
    no_time.timestamp.clear();
    CHECK_THROWS_AS(split::leave_one_out(no_time, true, 1), Error);
    CHECK(split::leave_one_out(no_time, false, 1).second.size() == test.size());
}

TEST_CASE("per-user fraction: round(c * f) of each user's events, at least one kept in train") {
    Ratings r = random_events(800, 20, 200, 13);
    r.add(20, 0, 5000);  // a one-event user
    r.timestamp.push_back(0);
    r.n_users = 21;
    std::map<std::uint32_t, std::size_t> count;
    for (auto u : r.user) ++count[u];
    auto [train, test] = split::per_user_fraction(r, 0.2, 3);
    CHECK(train.size() + test.size() == r.size());
    std::map<std::uint32_t, std::size_t> in_test, in_train;
    for (auto u : test.user) ++in_test[u];
    for (auto u : train.user) ++in_train[u];
    for (auto [u, c] : count) {
        const std::size_t want = std::min<std::size_t>(static_cast<std::size_t>(std::round(c * 0.2)), c - 1);
        CHECK(in_test[u] == want);
        CHECK(in_train[u] >= 1);
    }
    CHECK(split::per_user_fraction(r, 0.2, 3).second.value == test.value);
    CHECK(split::per_user_fraction(r, 0.2, 4).second.value != test.value);
    CHECK_THROWS_AS(split::per_user_fraction(r, 1.0, 3), Error);
}
