// The negative sampler (lib/solvers/negatives) and the leave-one-out / per-user-fraction splits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"
#include "eval/evaluate.hpp"
#include "eval/split.hpp"
#include "rng.hpp"
#include "solvers/negatives.hpp"
#include "solvers/trainer.hpp"
#include <cstdlib>

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

TEST_CASE("negative sampler: the seen bitset answers as the sorted lists, draw for draw") {
    // Dense and sparse users, items beyond the model, a user beyond the data: draw_in over sub-ranges
    // (the training solvers' call) gives the same items from the same stream with and without the bitset.
    Ratings r = random_events(900, 12, 70, 11);
    for (std::uint32_t i = 0; i < 60; ++i) r.add(3, i, 1);  // user 3 has seen most of the items
    r.add(4, 75, 1);                                           // beyond the model's 70 items
    r.n_items = 80;
    SeenItems seen(r);
    NegativeSampler plain(seen, 70), bits(seen, 70, std::size_t(1) << 20);
    CHECK_FALSE(plain.has_bitset());
    REQUIRE(bits.has_bitset());
    CHECK_FALSE(NegativeSampler(seen, 70, 8).has_bitset());  // over the budget: the lists
    Rng a(21), b(21);
    std::size_t drawn = 0;
    for (int d = 0; d < 3000; ++d) {
        const std::uint32_t u = static_cast<std::uint32_t>(d % 14);  // users 12, 13: beyond the data
        const std::uint32_t lo = static_cast<std::uint32_t>((d / 14) % 3) * 20, hi = std::min(70u, lo + 30);
        const std::uint32_t x = plain.draw_in(u, lo, hi, a), y = bits.draw_in(u, lo, hi, b);
        REQUIRE(x == y);
        if (d < 42)  // every user and range once
            for (std::uint32_t c = 0; c < 70; ++c) CHECK(bits.seen(u, c) == plain.seen(u, c));
        if (x == kNoItem) continue;
        ++drawn;
        CHECK(x >= lo);
        CHECK(x < hi);
        CHECK_FALSE(plain.seen(u, x));
    }
    CHECK(drawn > 2000);
}

TEST_CASE("negative sampler: draw_in_each gives draw_in's items in order and leaves the stream where it would") {
    // Users dense (the exact path), sparse (rejection), full within a range (no item), beyond the data,
    // with and without the bitset: each batch equals one draw_in per event from a twin generator.
    Ratings r = random_events(700, 10, 64, 5);
    for (std::uint32_t i = 0; i < 50; ++i) r.add(2, i, 1);  // user 2: most items (the exact draw)
    for (std::uint32_t i = 32; i < 64; ++i) r.add(5, i, 1); // user 5: every item of [32, 64)
    SeenItems seen(r);
    NegativeSampler plain(seen, 64), bits(seen, 64, std::size_t(1) << 20);
    REQUIRE(bits.has_bitset());
    std::vector<std::uint32_t> users(500);
    Rng pick(9);
    for (auto& u : users) u = static_cast<std::uint32_t>(pick.below(13));  // 10..12: beyond the data
    std::size_t none = 0, drawn = 0;
    for (const NegativeSampler* s : {&plain, &bits})
        for (const auto& [lo, hi] : {std::pair<std::uint32_t, std::uint32_t>{0, 64}, {32, 64}, {8, 40}, {7, 7}}) {
            Rng a(33), b(33);
            std::vector<std::uint32_t> got(users.size(), 0);
            s->draw_in_each(users.size(), [&](std::size_t t) { return users[t]; }, lo, hi, a, got.data());
            for (std::size_t t = 0; t < users.size(); ++t) {
                CAPTURE(t);
                const std::uint32_t want = s->draw_in(users[t], lo, hi, b);
                REQUIRE(got[t] == want);
                if (want == kNoItem) {
                    ++none;
                    continue;
                }
                ++drawn;
                CHECK(want >= lo);
                CHECK(want < hi);
                CHECK_FALSE(s->seen(users[t], want));
            }
            CHECK(a.next() == b.next());  // the same number of draws consumed
        }
    CHECK(none > 50);    // user 5 on [32, 64) and the empty range
    CHECK(drawn > 2500);
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

// ------------------------------------------------------------------ sampled protocol, popularity, notes
namespace {

// k = 1, no biases: score(u, i) = p_u * q_i.
MFModel line_model(std::uint32_t users, const std::vector<float>& q, Loss loss = Loss::squared) {
    MFModel m;
    m.allocate(loss, 1, users, static_cast<std::uint32_t>(q.size()), false);
    for (std::uint32_t u = 0; u < users; ++u) m.user_row(u)[0] = 1.0f;
    for (std::uint32_t i = 0; i < q.size(); ++i) m.item_row(i)[0] = q[i];
    return m;
}

Ratings events(std::vector<std::uint32_t> u, std::vector<std::uint32_t> i, std::uint32_t nu, std::uint32_t ni) {
    std::vector<float> v(u.size(), 1.0f);
    return ratings_from_triples(u.data(), i.data(), v.data(), v.size(), nu, ni);
}

}  // namespace

TEST_CASE("sampled ranking: the rank among all unseen items, ties to the smaller index") {
    std::vector<float> q(20);
    for (std::uint32_t i = 0; i < 20; ++i) q[i] = static_cast<float>(i);  // score grows with the index
    const MFModel m = line_model(2, q);
    // User 0 saw items 2, 7 in training; test: 15. User 1: test item 3, train 19.
    const Ratings train = events({0, 0, 1}, {2, 7, 19}, 2, 20);
    const Ratings test = events({0, 1}, {15, 3}, 2, 20);
    evaluate::SampledOptions so;
    so.negatives = 1000;  // more than there are: every unseen item is a negative
    so.threshold = 0.5f;
    so.k = 4;
    // User 0: unseen above 15 are 16..19 -> rank 4 (a miss at k=4, a hit at k=5). User 1: above 3, unseen and
    // not 19: 4..18 -> rank 15.
    auto r = evaluate::sampled_ranking(m, test, train, so);
    CHECK(r.cases == 2);
    CHECK(r.hr == 0.0);
    so.k = 5;
    r = evaluate::sampled_ranking(m, test, train, so);
    CHECK(r.hr == doctest::Approx(0.5));
    CHECK(r.ndcg == doctest::Approx(0.5 / std::log2(6.0)));
    so.k = 16;
    r = evaluate::sampled_ranking(m, test, train, so);
    CHECK(r.hr == doctest::Approx(1.0));
    CHECK(r.ndcg == doctest::Approx(0.5 / std::log2(6.0) + 0.5 / std::log2(17.0)));
    // All scores equal: the rank is the number of unseen items with a smaller index.
    const MFModel flat = line_model(2, std::vector<float>(20, 1.0f));
    so.k = 3;
    r = evaluate::sampled_ranking(flat, test, train, so);  // user 0: 0,1,3..6,8..14 -> 13; user 1: 0,1,2 -> 3
    CHECK(r.hr == 0.0);
    so.k = 4;
    r = evaluate::sampled_ranking(flat, test, train, so);
    CHECK(r.hr == doctest::Approx(0.5));
    // Irrelevant events (below the threshold) and unknown users are not counted.
    so.threshold = 2.0f;
    CHECK(evaluate::sampled_ranking(m, test, train, so).cases == 0);
    CHECK(std::isnan(evaluate::sampled_ranking(m, test, train, so).hr));
}

TEST_CASE("sampled ranking: seeded, the same for any thread count, negatives never seen") {
    Rng rng(3);
    std::vector<float> q(60);
    for (auto& x : q) x = static_cast<float>(rng.uniform());
    const MFModel m = line_model(30, q);
    Ratings all = random_events(900, 30, 60, 21);
    for (auto& v : all.value) v = 1.0f;
    auto [train, test] = split::leave_one_out(all, false, 2);
    evaluate::SampledOptions so;
    so.negatives = 10;
    so.threshold = 0.5f;
    const auto a = evaluate::sampled_ranking(m, test, train, so);
    so.threads = 2;
    const auto b = evaluate::sampled_ranking(m, test, train, so);
    CHECK(a.hr == b.hr);
    CHECK(a.ndcg == b.ndcg);
    CHECK(a.cases == test.size());
    so.seed = 99;
    const auto c = evaluate::sampled_ranking(m, test, train, so);
    CHECK(c.cases == a.cases);
    CHECK((c.hr != a.hr || c.ndcg != a.ndcg));
    // With 10 negatives, k = 11 always hits.
    so.k = 11;
    CHECK(evaluate::sampled_ranking(m, test, train, so).hr == 1.0);
}

TEST_CASE("popularity baseline: training counts, and evaluate_model reports it beside the model") {
    // Item 3 most popular (3 events), then item 1 (2), then 0 (1).
    const Ratings train = events({0, 1, 2, 0, 1, 2}, {3, 3, 3, 1, 1, 0}, 4, 5);
    const MFModel pop = evaluate::popularity_model(train, 4, 5);
    std::vector<float> row(5);
    pop.score_row(3, row.data());
    CHECK(row == std::vector<float>{1, 2, 0, 3, 0});
    // User 3 has seen nothing: popularity recommends 3 first; a model scoring by index recommends 4.
    std::vector<float> q = {0, 1, 2, 3, 4};
    const MFModel m = line_model(4, q);
    const Ratings test = events({3}, {3}, 4, 5);
    evaluate::EvalOptions eo;
    eo.rank_k = 1;
    eo.threshold = 0.5f;
    eo.popularity = true;
    eo.negatives = 2;
    const auto res = evaluate::evaluate_model(m, test, &train, eo);
    CHECK(evaluate::find(res.metrics, "precision@1") == 0.0);
    CHECK(evaluate::find(res.baseline, "precision@1") == 1.0);
    CHECK(evaluate::find(res.baseline, "sampled_hr@1") == 1.0);  // the most popular item beats any negative
    CHECK(res.sampled_cases == 1);
    const auto rep = res.report(1);
    CHECK(evaluate::find(rep, "popularity.ndcg@1") == 1.0);
    CHECK(evaluate::find(rep, "sampled_cases") == 1.0);
    CHECK(res.notes.empty());
}

TEST_CASE("undefined metrics carry a note, not a bare NaN") {
    const MFModel m = line_model(3, {0.5f, -0.5f, 1.0f}, Loss::logistic);
    const Ratings test = events({0, 1, 2}, {0, 1, 2}, 3, 3);  // every label +1: one class
    evaluate::EvalOptions eo;
    const auto res = evaluate::evaluate_model(m, test, nullptr, eo);
    CHECK(std::isnan(evaluate::find(res.metrics, "auc")));
    REQUIRE(res.notes.size() == 1);
    CHECK(res.notes[0].find("auc is undefined") == 0);
    CHECK(res.notes[0].find("only positive labels") != std::string::npos);
    // No relevant user for the ranking metrics: said so.
    const MFModel mf = line_model(3, {1, 2, 3});
    eo.rank_k = 2;
    eo.threshold = 5.0f;
    const auto r2 = evaluate::evaluate_model(mf, test, nullptr, eo);
    CHECK(r2.ranking_users == 0);
    CHECK(!r2.notes.empty());
}

// ------------------------------------------------------------------ BPR and lmf-neg solvers
namespace {

// Implicit events from a planted taste: user u likes items of its group (u % 4) far more often.
Ratings planted_events(std::uint32_t users, std::uint32_t items, std::size_t per_user, std::uint64_t seed) {
    Rng rng(seed);
    Ratings r;
    for (std::uint32_t u = 0; u < users; ++u)
        for (std::size_t t = 0; t < per_user; ++t) {
            std::uint32_t i = static_cast<std::uint32_t>(rng.below(items));
            if (rng.uniform() < 0.8) i = (i / 4) * 4 + u % 4;  // the user's group
            if (i >= items) i = u % 4;
            r.add(u, i, 1.0f);
        }
    r.n_users = users;
    r.n_items = items;
    return r;
}

}  // namespace

TEST_CASE("bpr and lmf-neg: learn a planted taste, beat popularity, same model for any thread count") {
    const Ratings all = planted_events(120, 80, 20, 31);
    auto [train_part, test_part] = split::leave_one_out(all, false, 5);
    for (Solver s : {Solver::bpr, Solver::lmf_neg}) {
        CAPTURE(static_cast<int>(s));
        TrainOptions o;
        o.solver = s;
        o.k = 8;
        o.epochs = 15;
        o.l2 = 0.01;
        o.seed = 3;
        const TrainResult r = train(o, train_part, nullptr);
        REQUIRE(r.status == SIMDMF_OK);
        CHECK(r.model.logistic());
        CHECK(evaluate::implicit_model(r.model));
        CHECK(r.history.back().train_loss < r.history.front().train_loss);
        evaluate::EvalOptions eo;
        eo.rank_k = 10;
        eo.threshold = 0.5f;
        eo.negatives = 20;
        eo.popularity = true;
        const auto res = evaluate::evaluate_model(r.model, test_part, &train_part, eo);
        const double hr = evaluate::find(res.metrics, "sampled_hr@10"), pop = evaluate::find(res.baseline, "sampled_hr@10");
        CHECK(hr > pop + 0.1);
        // A 3 x 3 grid: blocks of a round run in parallel; the model is the same with 1 or 2 threads.
        o.grid = 3;
        o.epochs = 3;
        o.threads = 1;
        const MFModel a = train(o, train_part, nullptr).model;
        o.threads = 2;
        setenv("SIMDMF_OVERSUBSCRIBE", "1", 1);
        const MFModel b = train(o, train_part, nullptr).model;
        unsetenv("SIMDMF_OVERSUBSCRIBE");
        CHECK(a.identical(b));
        o.seed = 4;
        CHECK(!train(o, train_part, nullptr).model.identical(a));
    }
    // Validation: the implicit metric (1 - NDCG@10 over every item not in training) falls as the model
    // learns, and is the ranking metric of the final model.
    TrainOptions o;
    o.solver = Solver::bpr;
    o.k = 8;
    o.epochs = 10;
    o.l2 = 0.01;
    const TrainResult r = train(o, train_part, &test_part);
    CHECK(r.history.back().valid_metric < r.history.front().valid_metric);
    evaluate::RankingOptions ro;
    ro.k = 10;
    ro.exclude = &train_part;
    CHECK(r.history.back().valid_metric == doctest::Approx(1.0 - evaluate::ranking(r.model, test_part, ro).ndcg));
}

TEST_CASE("sampler: draws within an item range never leave it nor hit a seen item") {
    Ratings r = random_events(300, 6, 40, 17);
    SeenItems seen(r);
    NegativeSampler s(seen, 40);
    Rng rng(2);
    for (std::uint32_t u = 0; u < 6; ++u) {
        const auto mine = seen.of(u);
        const std::set<std::uint32_t> ss(mine.begin(), mine.end());
        std::uint32_t unseen_in = 0;
        for (std::uint32_t i = 10; i < 25; ++i) unseen_in += !ss.count(i);
        std::set<std::uint32_t> got;
        for (int d = 0; d < 400; ++d) {
            const std::uint32_t i = s.draw_in(u, 10, 25, rng);
            if (unseen_in == 0) {
                CHECK(i == kNoItem);
                continue;
            }
            REQUIRE(i >= 10);
            REQUIRE(i < 25);
            CHECK(!ss.count(i));
            got.insert(i);
        }
        CHECK(got.size() == unseen_in);
    }
}
