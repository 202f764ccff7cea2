// Implicit-feedback ALS (loss implicit, lib/solvers/ials.cpp): the exact row solve against the normal
// equations in double, CG against the exact solver, recovery of a planted set against popularity,
// determinism across thread counts, duplicates summed as counts, fold-in, the model file, bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "eval/evaluate.hpp"
#include "eval/metrics.hpp"
#include "eval/split.hpp"
#include "eval/tune.hpp"
#include "synthetic.hpp"
#include "solvers/trainer.hpp"
#include "test_util.hpp"

using namespace simdmf;
using simdmf_test::status_of;

namespace {

// A planted implicit set: rank-3 tastes, each user draws `per_user` distinct items with probability
// proportional to exp(2 u.v) times a power-law popularity, counts 1..4.
Ratings planted_events(std::uint32_t users, std::uint32_t items, std::uint32_t per_user, std::uint64_t seed) {
    std::mt19937_64 g(seed);
    std::normal_distribution<double> nd(0, 1);
    std::vector<double> U(users * 3), V(items * 3), pop(items);
    for (auto& x : U) x = nd(g);
    for (auto& x : V) x = nd(g);
    for (std::uint32_t i = 0; i < items; ++i) pop[i] = 1.0 / std::pow(1.0 + i, 0.5);
    Ratings r;
    std::uniform_int_distribution<int> cnt(1, 4);
    for (std::uint32_t u = 0; u < users; ++u) {
        std::vector<double> w(items);
        for (std::uint32_t i = 0; i < items; ++i) {
            double s = 0;
            for (int f = 0; f < 3; ++f) s += U[u * 3 + f] * V[i * 3 + f];
            w[i] = pop[i] * std::exp(2.0 * s);
        }
        for (std::uint32_t t = 0; t < per_user; ++t) {
            std::discrete_distribution<std::uint32_t> d(w.begin(), w.end());
            const std::uint32_t i = d(g);
            w[i] = 0;
            r.add(u, i, static_cast<float>(cnt(g)));
        }
    }
    r.n_users = users;
    r.n_items = items;
    return r;
}

TrainOptions ials_options(std::uint32_t k = 8) {
    TrainOptions o;
    o.set("loss", "implicit");
    o.set("solver", "als");
    o.k = k;
    o.l2 = 0.1;
    o.implicit.alpha = 5.0;
    o.epochs = 8;
    return o;
}

// NDCG@10 over every item not in train, test events relevant.
double ndcg10(const Model& m, const Ratings& train, const Ratings& test) {
    evaluate::RankingOptions ro;
    ro.k = 10;
    ro.threshold = 0.5f;
    ro.exclude = &train;
    return evaluate::ranking(m, test, ro).ndcg;
}

// The same for the popularity ranking (event counts in train, ties to the smaller index).
double popularity_ndcg10(const Ratings& train, const Ratings& test) {
    std::vector<double> pop(train.n_items, 0.0);
    for (std::size_t j = 0; j < train.size(); ++j) pop[train.item[j]] += 1.0;
    std::vector<std::uint32_t> order(train.n_items);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return pop[a] > pop[b]; });
    std::vector<std::vector<std::uint32_t>> seen(train.n_users), rec(train.n_users), rel(train.n_users);
    for (std::size_t j = 0; j < train.size(); ++j) seen[train.user[j]].push_back(train.item[j]);
    for (std::size_t j = 0; j < test.size(); ++j) rel[test.user[j]].push_back(test.item[j]);
    for (std::uint32_t u = 0; u < train.n_users; ++u)
        for (std::uint32_t i : order) {
            if (std::find(seen[u].begin(), seen[u].end(), i) != seen[u].end()) continue;
            rec[u].push_back(i);
            if (rec[u].size() == 10) break;
        }
    return metrics::ranking_at_k(rec, rel, 10).ndcg;
}

// Max |residual| / scale of side `users`' normal equations at the model's rows (the other side fixed):
// (w0 YtY + sum (c - w0) y y^T + l2_row I) x - sum c y, in double, from the raw cells (duplicates summed).
double normal_residual(const MFModel& m, const Ratings& r, const TrainOptions& o, bool users) {
    const std::uint32_t n = users ? m.n_users : m.n_items, n_other = users ? m.n_items : m.n_users;
    const std::size_t k = m.k;
    auto row = [&](bool u_side, std::uint32_t i) { return u_side ? m.user_row(i) : m.item_row(i); };
    std::vector<double> G(k * k, 0.0);
    for (std::uint32_t j = 0; j < n_other; ++j) {
        const float* y = row(!users, j);
        for (std::size_t a = 0; a < k; ++a)
            for (std::size_t b = 0; b < k; ++b) G[a * k + b] += o.implicit.unobserved_weight * y[a] * y[b];
    }
    std::vector<std::map<std::uint32_t, double>> cells(n);
    for (std::size_t j = 0; j < r.size(); ++j)
        cells[users ? r.user[j] : r.item[j]][users ? r.item[j] : r.user[j]] += r.value[j];
    double worst = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const float* x = row(users, i);
        const double l2 = o.implicit.row_l2(o.l2, double(cells[i].size()), double(n_other));
        std::vector<double> res(k, 0.0), scale(k, 1.0);
        for (std::size_t a = 0; a < k; ++a)
            for (std::size_t b = 0; b < k; ++b) res[a] += G[a * k + b] * x[b];
        for (std::size_t a = 0; a < k; ++a) res[a] += l2 * x[a];
        for (auto [j, count] : cells[i]) {
            const float* y = row(!users, j);
            const double c = o.implicit.weight(count);
            double s = 0;
            for (std::size_t a = 0; a < k; ++a) s += double(y[a]) * x[a];
            for (std::size_t a = 0; a < k; ++a) {
                res[a] += (c - o.implicit.unobserved_weight) * s * y[a] - c * y[a];
                scale[a] += std::fabs(c * y[a]);
            }
        }
        for (std::size_t a = 0; a < k; ++a) worst = std::max(worst, std::fabs(res[a]) / scale[a]);
    }
    return worst;
}

}  // namespace

TEST_CASE("ials: each item row of the exact solver solves its normal equations, linear and log confidence") {
    const Ratings r = planted_events(60, 40, 8, 1);
    for (const char* conf : {"linear", "log"})
        for (double nu : {0.0, 1.0}) {
            TrainOptions o = ials_options(6);
            o.set("confidence", conf);
            o.implicit.reg_exponent = nu;
            o.implicit.unobserved_weight = 0.5;
            o.epochs = 2;
            const TrainResult res = train(o, r, nullptr);
            REQUIRE(res.status == SIMDMF_OK);
            CAPTURE(conf);
            CAPTURE(nu);
            CHECK(!res.model.biases);
            CHECK(res.model.objective.implicit());
            CHECK(normal_residual(res.model, r, o, false) < 1e-4);  // items: the last half-sweep
            CHECK(normal_residual(res.model, r, o, true) > 1e-4);   // users: solved against older items
        }
}

TEST_CASE("ials: planted set recovered well above popularity; CG agrees with the exact solver") {
    const Ratings all = planted_events(400, 150, 20, 2);
    auto [train_set, test_set] = split::per_user(all, 4, 3);
    const double pop = popularity_ndcg10(train_set, test_set);
    TrainOptions o = ials_options(8);
    o.epochs = 10;
    const TrainResult exact = train(o, train_set, nullptr);
    REQUIRE(exact.status == SIMDMF_OK);
    o.set("ials_solver", "cg");
    o.cg_steps = 3;
    const TrainResult cg = train(o, train_set, nullptr);
    REQUIRE(cg.status == SIMDMF_OK);
    const double n_exact = ndcg10(exact.model, train_set, test_set), n_cg = ndcg10(cg.model, train_set, test_set);
    MESSAGE("popularity " << pop << ", exact " << n_exact << ", cg " << n_cg);
    CHECK(n_exact > 1.3 * pop);
    CHECK(std::fabs(n_exact - n_cg) < 0.02);
    // The same objective: the weighted data terms after the last sweep agree closely.
    const double le = exact.history.back().train_loss, lc = cg.history.back().train_loss;
    CHECK(std::fabs(le - lc) < 0.02 * le);
    // The loss falls over the sweeps.
    CHECK(exact.history.back().train_loss < exact.history.front().train_loss);
}

TEST_CASE("ials: bit-identical for any thread count, both solvers") {
    const Ratings r = planted_events(700, 300, 6, 4);  // > 1 chunk of rows
    for (const char* s : {"cholesky", "cg"}) {
        TrainOptions o = ials_options(16);
        o.set("ials_solver", s);
        o.epochs = 2;
        o.threads = 1;
        const TrainResult a = train(o, r, nullptr);
        o.threads = 3;
        const TrainResult b = train(o, r, nullptr);
        CAPTURE(s);
        REQUIRE(a.status == SIMDMF_OK);
        CHECK(a.model.identical(b.model));
    }
}

TEST_CASE("events all of value 1 warn an explicit MF fit only, never the implicit models made for them") {
    Ratings r = planted_events(200, 80, 5, 3);
    for (auto& v : r.value) v = 1.0f;
    TrainOptions mf;
    mf.k = 4;
    mf.epochs = 1;
    const TrainResult m = train(mf, r, nullptr);
    REQUIRE(m.warnings.size() == 1);
    CHECK(m.warnings[0].find("training values are 1") != std::string::npos);
    for (const char* model : {"ials", "bpr", "lmf-neg"}) {
        TrainOptions o;
        o.set("model", model);
        o.k = 4;
        o.epochs = 1;
        const TrainResult t = train(o, r, nullptr);
        CAPTURE(model);
        REQUIRE(t.status == SIMDMF_OK);
        CHECK(t.warnings.empty());
    }
}

TEST_CASE("ials: repeated events are summed into counts; zero counts are no events") {
    Ratings once, twice;
    const Ratings base = planted_events(50, 30, 5, 5);
    for (std::size_t j = 0; j < base.size(); ++j) {
        once.add(base.user[j], base.item[j], 2.0f * base.value[j]);
        twice.add(base.user[j], base.item[j], base.value[j]);
    }
    for (std::size_t j = base.size(); j-- > 0;) twice.add(base.user[j], base.item[j], base.value[j]);
    twice.add(0, 0, 0.0f);  // a zero count changes nothing
    if (std::find(base.item.begin(), base.item.end(), 0u) == base.item.end()) once.add(0, 0, 0.0f);
    once.n_users = twice.n_users = 50;
    once.n_items = twice.n_items = 30;
    TrainOptions o = ials_options(4);
    o.epochs = 3;
    const TrainResult a = train(o, once, nullptr), b = train(o, twice, nullptr);
    REQUIRE(a.status == SIMDMF_OK);
    CHECK(a.model.identical(b.model));
}

TEST_CASE("ials: fold-in of a new user is the exact row solve; model file keeps the weights") {
    const Ratings r = planted_events(80, 50, 8, 6);
    TrainOptions o = ials_options(6);
    o.set("confidence", "log");
    o.implicit.eps = 2.0;
    o.implicit.reg_exponent = 0.5;
    o.epochs = 3;
    TrainResult res = train(o, r, nullptr);
    REQUIRE(res.status == SIMDMF_OK);
    MFModel m = res.model;
    // User 0's events, with one of them split into two events: fold-in sums them.
    std::vector<std::uint32_t> items;
    std::vector<float> values;
    for (std::size_t j = 0; j < r.size(); ++j)
        if (r.user[j] == 0) items.push_back(r.item[j]), values.push_back(r.value[j]);
    REQUIRE(items.size() >= 2);
    items.push_back(items[0]);
    values.push_back(values[0] / 2);
    values[0] /= 2;
    const std::uint32_t u = m.fold_in_user(items.data(), values.data(), items.size(), o.l2, 1000);
    CHECK(u == 80);
    // Its row solves the user normal equations with the model's items: check through a data set of it alone.
    Ratings one;
    for (std::size_t j = 0; j < items.size(); ++j) one.add(0, items[j], values[j]);
    one.n_users = 1;
    one.n_items = m.n_items;
    MFModel probe = m;
    probe.n_users = 1;
    probe.P.assign(m.user_row(u), m.user_row(u) + m.stride);
    CHECK(normal_residual(probe, one, o, true) < 1e-4);
    // Save and load: the weights travel with the model; fold-in gives the same row.
    const std::string path = (std::filesystem::temp_directory_path() / "simdmf_test_ials.smf").string();
    save_model(res.model, path);
    MFModel back = load_model(path);
    std::filesystem::remove(path);
    CHECK(back.objective.implicit());
    CHECK(back.implicit.confidence == Confidence::log);
    CHECK(back.implicit.eps == 2.0);
    CHECK(back.implicit.reg_exponent == 0.5);
    CHECK(back.identical(res.model));
    back.fold_in_user(items.data(), values.data(), items.size(), o.l2, 1000);
    CHECK(std::equal(back.user_row(u), back.user_row(u) + back.stride, m.user_row(u)));
    // Negative counts are refused.
    const float neg = -1.0f;
    CHECK(status_of([&] { back.fold_in_user(items.data(), &neg, 1, o.l2, 1001); }) == SIMDMF_ERR_INVALID_DATA);
}

TEST_CASE("ials: bad input gives clear errors") {
    Ratings r = planted_events(20, 10, 3, 7);
    TrainOptions o = ials_options(4);
    r.value[3] = -2.0f;
    try {
        (void)train(o, r, nullptr);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.status() == SIMDMF_ERR_INVALID_DATA);
        CHECK(std::string(e.what()).find("negative") != std::string::npos);
    }
    r.value[3] = 1.0f;
    CHECK(status_of([&] { o.set("alpha", -1.0); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { o.set("unobserved_weight", 0.0); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { o.set("confidence_eps", 0.0); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { o.set("confidence", "cubic"); }) != SIMDMF_OK);
    o.set("solver", "sgd");
    CHECK(status_of([&] { (void)train(o, r, nullptr); }) == SIMDMF_ERR_INVALID_ARGUMENT);
}

TEST_CASE("implicit models: validated by 1 - NDCG@10 over the items not in training; tune's iALS space") {
    const Ratings all = planted_events(300, 120, 15, 5);
    auto [train_set, valid_set] = split::per_user(all, 3, 4);
    TrainOptions bpr;
    bpr.set("model", "bpr");
    bpr.k = 8;
    bpr.epochs = 4;
    for (const TrainOptions& o : {ials_options(8), bpr}) {
        const TrainResult r = train(o, train_set, &valid_set);
        REQUIRE(r.status == SIMDMF_OK);
        CHECK(std::string(curve_names(o).valid_name) == "one_minus_ndcg10");
        // The last epoch's figure is the full ranking metric of the final model.
        const double v = r.history.back().valid_metric;
        CHECK(v == doctest::Approx(1.0 - ndcg10(r.model, train_set, valid_set)).epsilon(1e-9));
        CHECK(v < 1.0);
    }
    // The default search for iALS reaches the regularisation implicit's ALS needs (~30) and beyond;
    // one learning rate (ALS has none); a small search is scored by the same metric.
    const tune::Space s = tune::Space::defaults(ials_options(8));
    CHECK(*std::max_element(s.l2.begin(), s.l2.end()) >= 300);
    CHECK(s.lr.size() == 1);
    tune::Space small = s;
    small.k = {8};
    small.l2 = {1, 30};
    small.epochs = {3};
    tune::Options topt;
    topt.extend = 0;
    const tune::Result res = tune::search(ials_options(8), train_set, small, topt);
    CHECK(res.metric == "one_minus_ndcg10");
    REQUIRE(res.trials.size() == 2);
    for (const auto& t : res.trials) CHECK((t.score >= 0.0 && t.score <= 1.0));
}

TEST_CASE("lastfm-shaped generator: exact event count on distinct pairs, skewed popularity, counts >= 1") {
    const ImplicitSpec spec = lastfm_preset(0.005);  // 1,800 users x 800 items, 87,500 counts
    CHECK(spec.n_users == 1800);
    CHECK(spec.n_items == 800);
    CHECK(spec.n_events == 87500);
    const Ratings r = make_implicit(spec);
    REQUIRE(r.size() == spec.n_events);
    std::vector<std::uint64_t> keys(r.size());
    std::vector<std::size_t> per_item(spec.n_items, 0), per_user(spec.n_users, 0);
    std::size_t bad_rows = 0;
    for (std::size_t j = 0; j < r.size(); ++j) {
        if (r.user[j] >= spec.n_users || r.item[j] >= spec.n_items || !(r.value[j] >= 1.0f)) {
            ++bad_rows;
            continue;
        }
        keys[j] = std::uint64_t(r.user[j]) << 32 | r.item[j];
        ++per_item[r.item[j]];
        ++per_user[r.user[j]];
    }
    REQUIRE(bad_rows == 0);
    std::sort(keys.begin(), keys.end());
    CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());  // distinct (user, item) pairs
    CHECK(*std::min_element(per_user.begin(), per_user.end()) >= 1);
    // Power-law popularity: the top 1% of items hold far more than 1% of the events.
    std::sort(per_item.rbegin(), per_item.rend());
    const double top = std::accumulate(per_item.begin(), per_item.begin() + 8, 0.0);
    CHECK(top / double(r.size()) > 0.05);
    // Seeded: the same set again, another with another seed.
    CHECK(make_implicit(spec).item == r.item);
    ImplicitSpec other = spec;
    other.seed = 7;
    CHECK(make_implicit(other).item != r.item);
    ImplicitSpec bad = spec;
    bad.n_events = spec.n_users - 1;  // fewer events than users
    CHECK(status_of([&] { make_implicit(bad); }) == SIMDMF_ERR_INVALID_ARGUMENT);
}
