// The blocked SGD solver (lib/solvers/sgd.cpp, lib/solvers/grid.*): grid coverage, epoch schedules, deterministic
// multi-threaded training, the free-running mode, AdaGrad, small problems.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <tuple>
#include <vector>

#include "solvers/grid.hpp"
#include "rng.hpp"
#include "eval/split.hpp"
#include "synthetic.hpp"
#include "test_util.hpp"
#include "solvers/trainer.hpp"

using namespace simdmf;

namespace {

Ratings planted(std::uint64_t n, std::uint32_t users = 2000, std::uint32_t items = 600) {
    PlantedSpec s;
    s.n_users = users;
    s.n_items = items;
    s.n_ratings = n;
    s.rank = 5;
    s.bias_std = 0.2;
    s.noise_std = 0.3;
    s.integer_ratings = false;
    s.item_popularity = 0.5;
    s.seed = 11;
    return make_planted(s);
}

bool same_bits(const MFModel& a, const MFModel& b) {
    auto eq = [](const auto& x, const auto& y) {
        return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(x[0])) == 0;
    };
    return eq(a.P, b.P) && eq(a.Q, b.Q) && eq(a.bu, b.bu) && eq(a.bi, b.bi) && a.mu == b.mu;
}

double rmse(const MFModel& m, const Ratings& r) { return valid_metric(m, r); }

}  // namespace

TEST_CASE("grid: every rating lands in its block exactly once, with its value") {
    Ratings r = planted(30000, 700, 300);
    for (std::uint32_t side : {1u, 3u, 8u, 16u}) {
        CAPTURE(side);
        RatingGrid g(r, side);
        REQUIRE(g.size() == r.size());
        CHECK(g.users_per_block() * side >= r.n_users);
        CHECK(g.items_per_block() * side >= r.n_items);
        std::vector<std::tuple<std::uint32_t, std::uint32_t, float>> seen, want;
        std::size_t total = 0;
        for (std::size_t b = 0; b < g.n_blocks(); ++b) {
            total += g.block_size(b);
            const GridEntry* e = g.block(b);
            for (std::size_t j = 0; j < g.block_size(b); ++j) {
                REQUIRE(e[j].u < g.users_per_block());
                REQUIRE(e[j].i < g.items_per_block());
                seen.emplace_back(g.first_user(b) + e[j].u, g.first_item(b) + e[j].i, e[j].v);
            }
        }
        CHECK(total == r.size());
        for (std::size_t j = 0; j < r.size(); ++j) want.emplace_back(r.user[j], r.item[j], r.value[j]);
        std::sort(seen.begin(), seen.end());
        std::sort(want.begin(), want.end());
        CHECK(seen == want);
    }
}

TEST_CASE("grid: a user's ratings keep their input order inside a block; empty blocks are fine") {
    // 3 users x 40 items, each user rating items in a scrambled order.
    Ratings r;
    Rng rng(3);
    for (std::uint32_t u = 0; u < 3; ++u) {
        std::vector<std::uint32_t> items(40);
        for (std::uint32_t i = 0; i < 40; ++i) items[i] = i;
        rng.shuffle(items.data(), items.size());
        for (std::uint32_t i : items) r.add(u, i, float(u * 100 + i));
    }
    RatingGrid g(r, 4);  // 4 > 3 users: the last grid row is empty
    for (std::size_t b = 0; b < g.n_blocks(); ++b) {
        std::vector<std::vector<float>> by_user(g.users_per_block());
        for (std::size_t j = 0; j < g.block_size(b); ++j) by_user[g.block(b)[j].u].push_back(g.block(b)[j].v);
        for (std::uint32_t lu = 0; lu < g.users_per_block(); ++lu) {
            const std::uint32_t u = g.first_user(b) + lu;
            if (u >= g.end_user(b)) {
                CHECK(by_user[lu].empty());
                continue;
            }
            std::vector<float> expect;
            for (std::size_t j = 0; j < r.size(); ++j)
                if (r.user[j] == u && r.item[j] >= g.first_item(b) && r.item[j] < g.end_item(b))
                    expect.push_back(r.value[j]);
            CHECK(by_user[lu] == expect);
        }
    }
    CHECK(g.first_user(3 * 4) == g.end_user(3 * 4));  // the last grid row is empty
    CHECK(RatingGrid::min_side(70000, 10) == 2);
    CHECK(RatingGrid::min_side(3, 10) == 1);
    CHECK_THROWS_AS(RatingGrid(r, 0), Error);
}

TEST_CASE("grid: ranges hold about equal numbers of ratings, at most 65536 ids each") {
    // Ratings concentrated on low ids: equal-length ranges would leave most blocks empty.
    std::vector<std::uint32_t> count(1000);
    for (std::uint32_t x = 0; x < 1000; ++x) count[x] = 100000 / (x + 1);
    const auto cut = RatingGrid::balanced_cuts(count, 8);
    REQUIRE(cut.size() == 9);
    CHECK(cut.front() == 0);
    CHECK(cut.back() == 1000);
    std::uint64_t total = 0;
    for (auto c : count) total += c;
    for (std::size_t a = 0; a < 8; ++a) {
        CHECK(cut[a] <= cut[a + 1]);
        std::uint64_t in = 0;
        for (std::uint32_t x = cut[a]; x < cut[a + 1]; ++x) in += count[x];
        CAPTURE(a);
        CHECK(in <= total / 8 + 100000 / (cut[a] + 1));  // overshoot by at most the id that crossed
    }
    // The 65536-id cap wins over balance: 200000 ids, all the ratings on id 0, 4 ranges.
    std::vector<std::uint32_t> skew(200000, 0);
    skew[0] = 50;
    const auto c2 = RatingGrid::balanced_cuts(skew, 4);
    for (std::size_t a = 0; a < 4; ++a) CHECK(c2[a + 1] - c2[a] <= 65536);
    CHECK(c2.back() == 200000);
}

TEST_CASE("schedule: each epoch visits every block once, rounds touch distinct rows and columns") {
    for (std::uint32_t side : {1u, 2u, 5u, 12u}) {
        for (std::uint32_t epoch : {0u, 1u, 7u}) {
            CAPTURE(side);
            CAPTURE(epoch);
            const auto s = epoch_schedule(side, 42, epoch);
            REQUIRE(s.size() == std::size_t(side) * side);
            std::set<std::uint32_t> all(s.begin(), s.end());
            CHECK(all.size() == s.size());
            CHECK(*all.rbegin() == side * side - 1);
            for (std::uint32_t r = 0; r < side; ++r) {
                std::set<std::uint32_t> rows, cols;
                for (std::uint32_t j = 0; j < side; ++j) {
                    rows.insert(s[r * side + j] / side);
                    cols.insert(s[r * side + j] % side);
                }
                CHECK(rows.size() == side);
                CHECK(cols.size() == side);
            }
            CHECK(s == epoch_schedule(side, 42, epoch));
        }
    }
    CHECK(epoch_schedule(12, 42, 0) != epoch_schedule(12, 42, 1));
    CHECK(epoch_schedule(12, 42, 0) != epoch_schedule(12, 43, 0));
}

TEST_CASE("deterministic mode: bit-identical models and losses for 1, 2 and 3 threads") {
    const Ratings r = planted(120000);
    for (int variant = 0; variant < 3; ++variant) {
        const bool logistic = variant == 1;
        CAPTURE(variant);
        const Ratings data = logistic ? binarize(r, 3.5f) : r;
        TrainOptions o;
        o.optimizer = variant == 2 ? Optimizer::adagrad : Optimizer::sgd;
        o.loss = logistic ? Loss::logistic : Loss::squared;
        o.k = 24;
        o.epochs = 4;
        o.seed = 9;
        o.grid = 6;
        o.threads = 1;
        const TrainResult one = train(o, data, nullptr);
        for (std::uint32_t t : {2u, 3u}) {
            CAPTURE(t);
            o.threads = t;
            const TrainResult many = train(o, data, nullptr);
            CHECK(same_bits(one.model, many.model));
            REQUIRE(many.history.size() == one.history.size());
            for (std::size_t e = 0; e < one.history.size(); ++e)
                CHECK(many.history[e].train_loss == one.history[e].train_loss);
        }
        o.threads = 2;
        o.seed = 10;
        CHECK_FALSE(same_bits(one.model, train(o, data, nullptr).model));
    }
}

TEST_CASE("free-running mode converges like the deterministic one") {
    const Ratings r = planted(120000);
    auto [tr, te] = split::random(r, 0.1, 1);
    TrainOptions o;
    o.k = 16;
    o.epochs = 25;
    o.lr = 0.02;
    o.l2 = 0.02;
    o.threads = 2;
    o.grid = 8;
    const double det = rmse(train(o, tr, nullptr).model, te);
    o.deterministic = false;
    const TrainResult free = train(o, tr, nullptr);
    const double fr = rmse(free.model, te);
    MESSAGE("test RMSE deterministic " << det << ", free " << fr);
    CHECK(std::isfinite(fr));
    CHECK(fr < det + 0.02);
    CHECK(fr < 0.6);  // noise 0.3; the mean-only baseline is above 1
    CHECK(free.history.back().train_loss < free.history.front().train_loss);
}

TEST_CASE("AdaGrad converges on planted data; epochs to target against plain SGD") {
    const Ratings r = planted(120000);
    // Named, not a structured binding: clang 14 cannot capture bindings in a lambda (C++20 allows it).
    const auto parts = split::random(r, 0.1, 2);
    const auto& tr = parts.first;
    const auto& te = parts.second;
    TrainOptions o;
    o.k = 16;
    o.epochs = 30;
    o.l2 = 0.02;
    o.grid = 8;
    auto epochs_to = [&](const TrainOptions& opt, double target, double* best) {
        const TrainResult res = train(opt, tr, &te);
        *best = 1e9;
        std::uint32_t hit = 0;
        for (const auto& h : res.history) {
            *best = std::min(*best, h.valid_metric);
            if (!hit && h.valid_metric <= target) hit = h.epoch;
        }
        return hit;
    };
    double best_sgd = 0, best_ada = 0;
    o.lr = 0.02;
    const std::uint32_t e_sgd = epochs_to(o, 0.45, &best_sgd);
    o.optimizer = Optimizer::adagrad;
    o.lr = 0.1;
    const std::uint32_t e_ada = epochs_to(o, 0.45, &best_ada);
    MESSAGE("epochs to test RMSE 0.45: sgd " << e_sgd << " (best " << best_sgd << "), adagrad " << e_ada
                                             << " (best " << best_ada << ")");
    CHECK(best_ada < 0.45);
    CHECK(e_ada > 0);
}

TEST_CASE("small problems: more blocks than users or items, more threads than blocks") {
    const auto& m = simdmf_test::textbook_ratings();
    const Ratings r = ratings_from_dense(m.data(), 5, 10);
    TrainOptions o;
    o.k = 3;
    o.biases = false;
    o.l2 = 0.001;
    o.init_std = 0.5;
    o.epochs = 3000;
    o.lr = 0.02;
    for (std::uint32_t grid : {0u, 4u, 16u}) {
        for (std::uint32_t threads : {1u, 3u}) {
            CAPTURE(grid);
            CAPTURE(threads);
            o.grid = grid;
            o.threads = threads;
            const TrainResult res = train(o, r, nullptr);
            double worst = 0;
            for (std::size_t j = 0; j < r.size(); ++j)
                worst = std::max(worst, std::fabs(double(res.model.predict(r.user[j], r.item[j])) - r.value[j]));
            CHECK(worst < 0.1);
        }
    }
}

TEST_CASE("options: deterministic, adagrad, grid, threads = 0") {
    TrainOptions o;
    CHECK(o.get("deterministic") == 1);
    CHECK(o.get("adagrad") == 0);
    CHECK(o.get("grid") == 0);
    o.set("deterministic", 0);
    o.set("adagrad", 1);
    o.set("grid", 12);
    o.set("threads", 0);
    CHECK_FALSE(o.deterministic);
    CHECK(o.optimizer == Optimizer::adagrad);
    CHECK(o.grid == 12);
    CHECK_THROWS_AS(o.set("grid", 70000), Error);
    CHECK_THROWS_AS(o.set("adagrad", 2), Error);
    const Ratings r = planted(20000, 300, 200);
    const TrainResult res = train(o, r, nullptr);  // all cores, free mode, AdaGrad
    CHECK(res.status == SIMDMF_OK);
    CHECK(std::isfinite(res.history.back().train_loss));
}

TEST_CASE("training that takes the caller's ratings gives the same model and leaves them empty") {
    // Many release steps (every 2^14 ratings) so that pages are handed back mid-copy.
    const Ratings r = planted(600000, 3000, 1500);
    for (bool exact : {false, true}) {
        CAPTURE(exact);
        TrainOptions o;
        o.k = 16;
        o.epochs = 3;
        o.exact_loss = exact;
        const TrainResult kept = train(o, r, nullptr);
        Ratings copy = r;
        copy.timestamp.assign(copy.size(), 7);  // released too
        const TrainResult taken = train(o, std::move(copy), nullptr);
        CHECK(same_bits(kept.model, taken.model));
        REQUIRE(taken.history.size() == kept.history.size());
        CHECK(taken.history.back().train_loss == doctest::Approx(kept.history.back().train_loss).epsilon(1e-12));
        CHECK(copy.size() == 0);
        CHECK(copy.user.empty());
        CHECK(copy.timestamp.empty());
        CHECK(copy.n_users == r.n_users);  // dimensions kept
        CHECK(copy.n_items == r.n_items);
    }
    // GD reads the ratings every iteration: they are left alone.
    TrainOptions g;
    g.solver = Solver::gd;
    g.k = 4;
    g.epochs = 2;
    Ratings small = planted(2000, 100, 80);
    const std::size_t n = small.size();
    train(g, std::move(small), nullptr);
    CHECK(small.size() == n);
}

TEST_CASE("grid: the build checks the indices (train() leaves that pass to it for SGD)") {
    for (const bool user_bad : {true, false}) {
        Ratings r = planted(3000, 200, 100);
        const std::size_t at = 1234;
        (user_bad ? r.user[at] : r.item[at]) = user_bad ? r.n_users : r.n_items + 7;
        std::string what;
        simdmf_status st = SIMDMF_OK;
        try {
            RatingGrid g(r, 2, RatingGrid::kDefaultLanes, nullptr, 2);
        } catch (const Error& e) {
            what = e.what();
            st = e.status();
        }
        CHECK(st == SIMDMF_ERR_OUT_OF_RANGE);
        CHECK(what.find("rating 1234: " + std::string(user_bad ? "user" : "item") + " index") != std::string::npos);
        // train() on ratings it may consume: the same error, and the caller's ratings are untouched.
        const std::size_t n = r.size();
        TrainOptions o;
        o.epochs = 1;
        CHECK_THROWS_AS(train(o, std::move(r), nullptr), Error);
        CHECK(r.size() == n);
    }
}

TEST_CASE("Rng::fill_normal: the values of normal_ziggurat() * sd, rounded to float, in order") {
    // 600k draws cross the rectangles, the wedges (~1%) and the tail (~1 in 4000) many times; chunks of
    // odd lengths, so that the stream continues across calls.
    Rng a(5), b(5);
    std::vector<float> got(600000);
    std::size_t at = 0;
    for (std::size_t len = 1; at < got.size(); len = len * 3 + 1) {
        const std::size_t n = std::min(len, got.size() - at);
        a.fill_normal(got.data() + at, n, 0.37);
        at += n;
    }
    std::size_t differ = 0, negative = 0;
    for (float g : got) {
        const float want = static_cast<float>(b.normal_ziggurat() * 0.37);
        differ += std::memcmp(&g, &want, sizeof g) != 0;
        negative += g < 0;
    }
    CHECK(differ == 0);
    CHECK(negative > 290000);  // the sign bit is set about half the time
    CHECK(negative < 310000);
    CHECK(a.next() == b.next());  // both streams consumed the same words
}

TEST_CASE("Rng::normal_ziggurat: a standard normal (moments, tail, cdf), its own reproducible stream") {
    Rng a(11), b(11);
    constexpr int N = 400000;
    double s1 = 0, s2 = 0, s4 = 0;
    int tail = 0, over1 = 0, below_m2 = 0;
    for (int j = 0; j < N; ++j) {
        const double x = a.normal_ziggurat();
        REQUIRE(x == b.normal_ziggurat());  // the same seed gives the same stream
        s1 += x;
        s2 += x * x;
        s4 += x * x * x * x;
        tail += std::fabs(x) > 3.6541528853610088;  // the ziggurat's tail beyond r
        over1 += x > 1.0;
        below_m2 += x < -2.0;
    }
    // Sampling sd at N = 400k: mean 0.0016, variance 0.0022, kurtosis 0.0039 (4 sd bounds below).
    CHECK(std::fabs(s1 / N) < 0.0064);
    CHECK(std::fabs(s2 / N - 1.0) < 0.009);
    CHECK(std::fabs(s4 / N - 3.0) < 0.04);
    // P(|x| > r) = 2.58e-4 (~103 +- 10 draws), P(x > 1) = 0.158655, P(x < -2) = 0.0227501.
    CHECK(tail > 63);
    CHECK(tail < 143);
    CHECK(std::fabs(over1 / double(N) - 0.158655) < 4 * std::sqrt(0.158655 * 0.841345 / N));
    CHECK(std::fabs(below_m2 / double(N) - 0.0227501) < 4 * std::sqrt(0.0227501 * 0.9772499 / N));
    // The initial factors drawn with it have the documented spread N(0, init_std^2 / k).
    TrainOptions o;
    o.k = 16;
    o.epochs = 1;
    o.lr = 1e-30;  // one epoch that leaves the initial rows as they are
    o.normalize = 0;
    const TrainResult res = train(o, planted(20000), nullptr);
    double ss = 0;
    std::size_t n = 0;
    for (std::uint32_t u = 0; u < res.model.n_users; ++u)
        for (std::uint32_t f = 0; f < o.k; ++f, ++n) ss += double(res.model.user_row(u)[f]) * res.model.user_row(u)[f];
    CHECK(std::sqrt(ss / double(n)) == doctest::Approx(o.init_std / std::sqrt(16.0)).epsilon(0.02));
}

// interleave()'s order by simulation (the definition the grid computes directly): the block's ratings
// stably sorted by user; `lanes` users side by side, one rating of each in turn, a lane taking the next
// user when its own runs out, a lane dropping out when none is left.
std::vector<GridEntry> interleaved_reference(std::vector<GridEntry> e, std::uint32_t lanes) {
    std::stable_sort(e.begin(), e.end(), [](const GridEntry& a, const GridEntry& b) { return a.u < b.u; });
    std::vector<std::pair<std::size_t, std::size_t>> lane;
    std::size_t next = 0;
    auto take = [&] {
        const std::size_t s = next;
        while (next < e.size() && e[next].u == e[s].u) ++next;
        return std::make_pair(s, next);
    };
    while (lane.size() < std::max(1u, lanes) && next < e.size()) lane.push_back(take());
    std::vector<GridEntry> out;
    while (!lane.empty())
        for (std::size_t l = 0; l < lane.size();) {
            out.push_back(e[lane[l].first++]);
            if (lane[l].first < lane[l].second) ++l;
            else if (next < e.size()) lane[l++] = take();
            else lane.erase(lane.begin() + static_cast<std::ptrdiff_t>(l));
        }
    return out;
}

TEST_CASE("grid: each block is the interleave of its ratings stably sorted by user (dense and sparse blocks)") {
    // Skewed users (a few with hundreds of ratings, many with one or two), so that lanes run dry at
    // very different times; duplicates of (user, item) kept, values identify the input position.
    Rng rng(17);
    // Input in random order, and sorted by user (blocks come out sorted: the sort is skipped).
    for (const bool presorted : {false, true})
    for (std::uint32_t users : {3u, 40u, 900u, 60000u}) {  // 60000 users: sparse blocks (comparison sort)
        CAPTURE(presorted);
        Ratings r;
        for (std::uint32_t j = 0; j < 6000; ++j) {
            const double x = rng.uniform();
            const auto u = static_cast<std::uint32_t>(x * x * x * users);
            r.add(u, static_cast<std::uint32_t>(rng.below(50)), float(j));
        }
        r.n_users = users;
        if (presorted) {
            std::vector<std::size_t> order(r.size());
            for (std::size_t j = 0; j < order.size(); ++j) order[j] = j;
            std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return r.user[a] < r.user[b]; });
            r = r.subset(order);
        }
        for (std::uint32_t side : {1u, 2u, 5u})
            for (std::uint32_t lanes : {1u, 2u, 3u, 8u, 13u}) {
                RatingGrid g(r, side, lanes);
                // Built by several threads (chunks of the input, blocks shared out): the same grid.
                const RatingGrid g3(r, side, lanes, nullptr, 3);
                for (std::size_t b = 0; b < g.n_blocks(); ++b) {
                    REQUIRE(g3.block_size(b) == g.block_size(b));
                    CHECK(std::memcmp(g3.block(b), g.block(b), g.block_size(b) * sizeof(GridEntry)) == 0);
                }
                for (std::size_t b = 0; b < g.n_blocks(); ++b) {
                    std::vector<GridEntry> in;  // the block's ratings in input order
                    for (std::size_t j = 0; j < r.size(); ++j)
                        if (r.user[j] >= g.first_user(b) && r.user[j] < g.end_user(b) && r.item[j] >= g.first_item(b) &&
                            r.item[j] < g.end_item(b))
                            in.push_back(GridEntry{static_cast<std::uint16_t>(r.user[j] - g.first_user(b)),
                                                   static_cast<std::uint16_t>(r.item[j] - g.first_item(b)), r.value[j]});
                    const std::vector<GridEntry> want = interleaved_reference(in, lanes);
                    REQUIRE(g.block_size(b) == want.size());
                    bool same = true;
                    for (std::size_t j = 0; j < want.size(); ++j)
                        same = same && std::memcmp(&want[j], g.block(b) + j, sizeof(GridEntry)) == 0;
                    CHECK_MESSAGE(same, "users " << users << " side " << side << " lanes " << lanes << " block " << b);
                }
            }
    }
}
