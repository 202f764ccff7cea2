// The ALS solver (lib/solvers/als.cpp) and the shared row solve (lib/linalg.*): exact per-row ridge
// solutions against a brute-force double solve, planted-model accuracy, determinism across thread
// counts, the objective it shares with SGD, epoch control, options; fold-in through linalg.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "eval/metrics.hpp"
#include "eval/split.hpp"
#include "linalg.hpp"
#include "solvers/trainer.hpp"
#include "synthetic.hpp"
#include "test_util.hpp"

using namespace simdmf;

namespace {

Ratings planted(std::uint64_t n, std::uint32_t users, std::uint32_t items, double noise = 0.5,
                std::uint64_t seed = 31) {
    PlantedSpec s;
    s.n_users = users;
    s.n_items = items;
    s.n_ratings = n;
    s.rank = 4;
    s.bias_std = 0.3;
    s.noise_std = noise;
    s.integer_ratings = false;
    s.min_rating = -100;
    s.max_rating = 100;
    s.item_popularity = 0.5;
    s.seed = seed;
    return make_planted(s);
}

// Gaussian elimination with partial pivoting, double: an independent reference for the row solves.
std::vector<double> gauss_solve(std::vector<double> A, std::vector<double> b) {
    const std::size_t n = b.size();
    for (std::size_t c = 0; c < n; ++c) {
        std::size_t piv = c;
        for (std::size_t r = c + 1; r < n; ++r)
            if (std::fabs(A[r * n + c]) > std::fabs(A[piv * n + c])) piv = r;
        for (std::size_t k = 0; k < n; ++k) std::swap(A[c * n + k], A[piv * n + k]);
        std::swap(b[c], b[piv]);
        for (std::size_t r = c + 1; r < n; ++r) {
            const double f = A[r * n + c] / A[c * n + c];
            for (std::size_t k = c; k < n; ++k) A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    }
    std::vector<double> x(n);
    for (std::size_t r = n; r-- > 0;) {
        double s = b[r];
        for (std::size_t k = r + 1; k < n; ++k) s -= A[r * n + k] * x[k];
        x[r] = s / A[r * n + r];
    }
    return x;
}

// The ridge solution of item i's row given the model's users (the last half-sweep of ALS): unknowns
// [q_i, b_i], features [p_u, 1], targets r - mu - b_u, regulariser (l2, .., l2_bias) * (n_i or 1).
std::vector<double> brute_item_row(const MFModel& m, const Ratings& r, std::uint32_t i, double l2, double l2b,
                                   bool weighted) {
    const std::size_t d = m.k + (m.biases ? 1 : 0);
    std::vector<double> A(d * d, 0.0), b(d, 0.0), f(d);
    std::size_t n = 0;
    for (std::size_t j = 0; j < r.size(); ++j) {
        if (r.item[j] != i) continue;
        ++n;
        const std::uint32_t u = r.user[j];
        for (std::size_t a = 0; a < m.k; ++a) f[a] = m.user_row(u)[a];
        if (m.biases) f[m.k] = 1.0;
        const double t = r.value[j] - (m.biases ? m.mu + m.bu[u] : 0.0);
        for (std::size_t a = 0; a < d; ++a) {
            b[a] += t * f[a];
            for (std::size_t c = 0; c < d; ++c) A[a * d + c] += f[a] * f[c];
        }
    }
    const double scale = weighted ? double(n) : 1.0;
    for (std::size_t a = 0; a < d; ++a) A[a * d + a] += scale * (a < m.k ? l2 : l2b);
    return gauss_solve(A, b);
}

bool same_bits(const MFModel& a, const MFModel& b) {
    auto eq = [](const auto& x, const auto& y) {
        return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(x[0])) == 0;
    };
    return eq(a.P, b.P) && eq(a.Q, b.Q) && eq(a.bu, b.bu) && eq(a.bi, b.bi);
}

TrainOptions als(std::uint32_t k, std::uint32_t epochs) {
    TrainOptions o;
    o.set("solver", "als");
    o.k = k;
    o.epochs = epochs;
    return o;
}

}  // namespace

TEST_CASE("linalg: solve_spd solves SPD systems and rejects indefinite ones") {
    std::mt19937 g(5);
    std::uniform_real_distribution<double> d(-1, 1);
    for (std::size_t n : {1u, 3u, 12u, 40u}) {
        std::vector<double> G(n * n), A(n * n, 0.0), b(n);
        for (auto& v : G) v = d(g);
        for (std::size_t a = 0; a < n; ++a)
            for (std::size_t c = 0; c < n; ++c) {
                for (std::size_t t = 0; t < n; ++t) A[a * n + c] += G[a * n + t] * G[c * n + t];
                if (a == c) A[a * n + c] += 0.1;
            }
        for (auto& v : b) v = d(g);
        const std::vector<double> ref = gauss_solve(A, b);
        std::vector<double> Aw = A, x = b;
        REQUIRE(linalg::solve_spd(Aw.data(), x.data(), n));
        for (std::size_t a = 0; a < n; ++a) CHECK(x[a] == doctest::Approx(ref[a]).epsilon(1e-9));
    }
    std::vector<double> bad = {1, 2, 2, 1}, rhs = {1, 1};
    CHECK_FALSE(linalg::solve_spd(bad.data(), rhs.data(), 2));
}

TEST_CASE("linalg: NormalEquations builds and solves a weighted ridge system like the double reference") {
    std::mt19937 g(6);
    std::uniform_real_distribution<float> d(-1, 1);
    for (std::size_t n : {1u, 5u, 11u, 17u, 33u}) {
        const std::size_t m = 3 * n + 2, stride = padded_stride(static_cast<std::uint32_t>(n));
        AlignedFloats X(m * stride, 0.0f);
        std::vector<const float*> rows;
        std::vector<float> w(m), c(m), reg(n, 0.3f);
        for (std::size_t j = 0; j < m; ++j) {
            for (std::size_t a = 0; a < n; ++a) X[j * stride + a] = d(g);
            rows.push_back(X.data() + j * stride);
            w[j] = 0.5f + std::fabs(d(g));
            c[j] = d(g);
        }
        std::vector<double> A(n * n, 0.0), b(n, 0.0);
        for (std::size_t j = 0; j < m; ++j)
            for (std::size_t a = 0; a < n; ++a) {
                b[a] += double(c[j]) * rows[j][a];
                for (std::size_t col = 0; col < n; ++col) A[a * n + col] += double(w[j]) * rows[j][a] * rows[j][col];
            }
        for (std::size_t a = 0; a < n; ++a) A[a * n + a] += 0.3;
        const std::vector<double> ref = gauss_solve(A, b);
        linalg::NormalEquations ne(n);
        for (int twice = 0; twice < 2; ++twice) {  // clear() really resets
            ne.clear();
            ne.add(rows.data(), w.data(), c.data(), m);
            ne.add_diagonal(reg.data());
            const float* x = ne.solve();
            REQUIRE(x != nullptr);
            CAPTURE(n);
            for (std::size_t a = 0; a < n; ++a) CHECK(std::fabs(x[a] - ref[a]) <= 1e-4 * (1 + std::fabs(ref[a])));
        }
    }
    // Singular in float and double (no regulariser, one feature row for two unknowns): nullptr.
    AlignedFloats X(16, 0.0f);
    X[0] = 1;
    X[1] = 1;
    const float* rows[1] = {X.data()};
    const float c1[1] = {1.0f};
    linalg::NormalEquations ne(2);
    ne.add(rows, nullptr, c1, 1);
    CHECK(ne.solve() == nullptr);
}

TEST_CASE("fold-in through linalg::solve_spd: the exact ridge row of a brute-force solve") {
    const Ratings r = planted(4000, 120, 80);
    TrainOptions o = als(6, 4);
    MFModel m = train(o, r, nullptr).model;
    std::vector<std::uint32_t> items = {0, 3, 5, 8, 13, 21, 34, 55, 60, 70, 79};
    std::vector<float> values = {1.0f, 2.5f, 3.0f, 4.5f, 2.0f, 3.5f, 5.0f, 1.5f, 4.0f, 3.0f, 2.0f};
    const double l2 = 0.07;
    const std::uint32_t u = m.fold_in_user(items.data(), values.data(), items.size(), l2, 0);
    const std::size_t d = m.k + 1;
    std::vector<double> A(d * d, 0.0), b(d, 0.0), f(d);
    for (std::size_t j = 0; j < items.size(); ++j) {
        for (std::size_t a = 0; a < m.k; ++a) f[a] = m.item_row(items[j])[a];
        f[m.k] = 1.0;
        const double t = values[j] - m.mu - m.bi[items[j]];
        for (std::size_t a = 0; a < d; ++a) {
            b[a] += t * f[a];
            for (std::size_t c = 0; c < d; ++c) A[a * d + c] += f[a] * f[c];
        }
    }
    for (std::size_t a = 0; a < d; ++a) A[a * d + a] += l2 * double(items.size()) + 1e-9;
    const std::vector<double> x = gauss_solve(A, b);
    for (std::size_t a = 0; a < m.k; ++a) CHECK(m.user_row(u)[a] == doctest::Approx(x[a]).epsilon(1e-5));
    CHECK(m.bu[u] == doctest::Approx(x[m.k]).epsilon(1e-5));
}

TEST_CASE("ALS: every item row is the exact ridge solve given the users (weighted and plain lambda, biases or not)") {
    const Ratings r = planted(4000, 150, 60);
    for (int variant = 0; variant < 4; ++variant) {
        CAPTURE(variant);
        TrainOptions o = als(5, 3);
        o.als_weighted_lambda = variant % 2 == 0;
        o.biases = variant < 2;
        o.l2 = o.als_weighted_lambda ? 0.05 : 2.0;
        o.l2_bias = o.als_weighted_lambda ? 0.02 : 0.5;
        const MFModel m = train(o, r, nullptr).model;
        double worst = 0;
        for (std::uint32_t i = 0; i < m.n_items; ++i) {
            const std::vector<double> x = brute_item_row(m, r, i, o.l2, o.l2_bias, o.als_weighted_lambda);
            for (std::size_t a = 0; a < m.k; ++a)
                worst = std::max(worst, std::fabs(m.item_row(i)[a] - x[a]) / (1 + std::fabs(x[a])));
            if (m.biases) worst = std::max(worst, std::fabs(m.bi[i] - x[m.k]) / (1 + std::fabs(x[m.k])));
        }
        CHECK(worst < 2e-4);
    }
}

TEST_CASE("ALS: reaches the planted model's noise level in a few sweeps; the objective never rises") {
    const Ratings all = planted(60000, 600, 400);
    auto [tr, te] = split::random(all, 0.2, 11);
    TrainOptions o = als(8, 8);
    o.l2 = 0.05;
    const TrainResult res = train(o, tr, &te);
    REQUIRE(res.history.size() == 8);
    const double rmse = res.history.back().valid_metric;
    MESSAGE("ALS planted test RMSE " << rmse << " (noise 0.5) after " << res.history.size() << " sweeps");
    CHECK(rmse <= 0.55);
    // Each half-sweep minimises the objective J exactly over one side (weighted lambda = J's L2), so J
    // after sweep e (models of runs of e sweeps: deterministic) never increases.
    double prev = 1e30;
    for (std::uint32_t e = 1; e <= 4; ++e) {
        TrainOptions oe = o;
        oe.epochs = e;
        const double J = objective(train(oe, tr, nullptr).model, tr, o.l2, o.l2_bias, nullptr);
        CHECK(J <= prev * (1 + 1e-6));
        prev = J;
    }
    // The reported training loss is the mean squared error of the final model's scores.
    double se = 0;
    for (std::size_t j = 0; j < tr.size(); ++j) se += std::pow(tr.value[j] - res.model.score(tr.user[j], tr.item[j]), 2);
    CHECK(res.history.back().train_loss == doctest::Approx(se / double(tr.size())).epsilon(1e-4));
}

TEST_CASE("ALS: bit-identical models and losses for 1, 2 and 3 threads (squared and logistic)") {
    const Ratings r = planted(30000, 1100, 700);
    for (bool logistic : {false, true}) {
        CAPTURE(logistic);
        const Ratings data = logistic ? binarize(r, 3.5f) : r;
        TrainOptions o = als(12, 3);
        o.loss = logistic ? Loss::logistic : Loss::squared;
        o.threads = 1;
        const TrainResult one = train(o, data, nullptr);
        for (std::uint32_t t : {2u, 3u}) {
            o.threads = t;
            const TrainResult many = train(o, data, nullptr);
            CHECK(same_bits(one.model, many.model));
            REQUIRE(many.history.size() == one.history.size());
            for (std::size_t e = 0; e < one.history.size(); ++e) CHECK(many.history[e].train_loss == one.history[e].train_loss);
        }
        o.seed = 43;  // another initialisation gives another model
        CHECK_FALSE(same_bits(one.model, train(o, data, nullptr).model));
    }
}

TEST_CASE("ALS logistic: Newton row steps separate the binarised planted data") {
    PlantedSpec spec;
    spec.n_users = 600;
    spec.n_items = 400;
    spec.n_ratings = 60000;
    spec.rank = 4;
    spec.noise_std = 0.25;
    spec.integer_ratings = false;
    spec.min_rating = -100;
    spec.max_rating = 100;
    spec.item_popularity = 0;
    auto [ptr, pte] = split::random(make_planted(spec), 0.2, 11);
    const Ratings btr = binarize(ptr, 3.5f), bte = binarize(pte, 3.5f);
    TrainOptions o = als(8, 10);
    o.loss = Loss::logistic;
    o.l2 = 0.01;
    const TrainResult res = train(o, btr, &bte);
    const auto prob = res.model.predict_pairs(bte);
    const double auc = metrics::auc(prob.data(), bte.value.data(), bte.size());
    MESSAGE("ALS logistic test AUC " << auc);
    CHECK(auc > 0.9);
    CHECK(res.history.back().train_loss < res.history.front().train_loss);
}

TEST_CASE("ALS: epoch control (callback, patience, history) and options") {
    const Ratings all = planted(20000, 300, 200);
    auto [tr, va] = split::random(all, 0.2, 3);
    TrainOptions o = als(6, 20);
    int calls = 0;
    const TrainResult cancelled = train(o, tr, &va, [&](const EpochInfo& info) {
        CHECK(info.max_epochs == 20);
        CHECK(std::isfinite(info.valid_metric));
        return ++calls < 3;
    });
    CHECK(cancelled.status == SIMDMF_CANCELLED);
    CHECK(cancelled.history.size() == 3);
    o.patience = 2;
    o.l2 = 0.0005;  // weak regularisation: the validation RMSE turns up, patience stops the run
    const TrainResult early = train(o, tr, &va);
    CHECK(early.history.size() <= 20);
    CHECK(early.status == SIMDMF_OK);
    if (early.history.size() < 20) CHECK(early.stop_reason == "early stop");

    TrainOptions k;
    k.set("solver", "als");
    CHECK(k.get_string("solver") == "als");
    CHECK(k.effective_epochs() == 10);
    CHECK(k.get("als_weighted_lambda") == 1.0);
    k.set("als_weighted_lambda", 0);
    CHECK_FALSE(k.als_weighted_lambda);
    CHECK(simdmf_test::status_of([&] { k.set("als_weighted_lambda", 2); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(simdmf_test::status_of([&] { k.set("solver", "alsx"); }) == SIMDMF_ERR_OUT_OF_RANGE);
    // Moving the ratings in leaves them intact with ALS (it reads them; only SGD copies and releases).
    Ratings moved = tr;
    TrainOptions m1 = als(4, 2);
    const TrainResult a = train(m1, std::move(moved), nullptr);
    CHECK(moved.size() == tr.size());
    CHECK(same_bits(a.model, train(m1, tr, nullptr).model));
}
