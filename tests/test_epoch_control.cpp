// Epoch control on a model's parameter views, and divergence judged on what the model predicts
// (issue 10, item 1).
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "models/mf.hpp"
#include "solvers/epoch_control.hpp"
#include "solvers/trainer.hpp"

using namespace simdmf;

namespace {

// The repro: ratings `a b 1+(a*b)%5` for a < 12, b < 9 with (a*7 + b*3) % 4 == 0 (27 ratings;
// the issue counts the 108 cells of the 12 x 9 matrix it predicted).
Ratings repro_ratings() {
    std::vector<std::uint32_t> u, i;
    std::vector<float> v;
    for (std::uint32_t a = 0; a < 12; ++a)
        for (std::uint32_t b = 0; b < 9; ++b)
            if ((a * 7 + b * 3) % 4 == 0) {
                u.push_back(a);
                i.push_back(b);
                v.push_back(static_cast<float>(1 + (a * b) % 5));
            }
    return ratings_from_triples(u.data(), i.data(), v.data(), v.size(), 12, 9);
}

TrainOptions repro_options(std::uint32_t epochs) {
    // The run was `simdmf train FILE --format libmf --lr 3 --epochs N --init-std 10 --set grid=8`;
    // since the initial factors come from the ziggurat (issue 11) that run's epoch 1 overflows to
    // non-finite factors, and lr 2 is the run whose factors stay finite while their scores overflow.
    TrainOptions o;
    o.lr = 2;
    o.epochs = epochs;
    o.init_std = 10;
    o.grid = 8;
    return o;
}

// NaN predictions over every cell of the matrix (the issue found 48 of 108).
std::size_t nan_predictions(const Model& m, const Ratings&) {
    std::vector<float> all(std::size_t(m.n_users) * m.n_items);
    m.predict_all(all.data());
    std::size_t n = 0;
    for (float p : all) n += std::isnan(p);
    return n;
}

// A one-array model for epoch control without MF: score = w[i].
class Weights final : public Model {
public:
    ParamArray w;
    void score_pairs(const std::uint32_t*, const std::uint32_t* items, std::size_t n, float* out) const override {
        for (std::size_t j = 0; j < n; ++j) out[j] = w[items[j]];
    }
    void score_block(const std::uint32_t*, std::size_t rows, std::uint32_t i0, std::uint32_t i1, float* out,
                     std::size_t ld) const override {
        for (std::size_t r = 0; r < rows; ++r)
            for (std::uint32_t i = i0; i < i1; ++i) out[r * ld + (i - i0)] = w[i];
    }
    std::vector<ParamView> params() override { return {{"w", &w, n_items, 1, 1}}; }
    using Model::params;
    std::unique_ptr<Model> clone() const override { return std::make_unique<Weights>(*this); }
};

}  // namespace

TEST_CASE("issue 10.1: finite factors whose scores overflow are divergence, never an OK model") {
    const Ratings r = repro_ratings();
    REQUIRE(r.size() == 27);
    {
        TrainResult res = train(repro_options(1), r, nullptr);
        CHECK(res.status == SIMDMF_ERR_DIVERGED);
        CHECK(res.diverged_epoch == 1);
        CHECK(res.message.find("overflow") != std::string::npos);
        CHECK(nan_predictions(res.model, r) == 0);  // the initial model, handed back
        CHECK(predicts_finite(res.model));
    }
    {
        TrainResult res = train(repro_options(2), r, nullptr);  // the "last good" epoch is no NaN model
        CHECK(res.status == SIMDMF_ERR_DIVERGED);
        CHECK(nan_predictions(res.model, r) == 0);
    }
    {
        TrainOptions o = repro_options(2);  // with validation and patience: no "early stop" with OK
        o.patience = 1;
        TrainResult res = train(o, r, &r);
        CHECK(res.status == SIMDMF_ERR_DIVERGED);
        CHECK(nan_predictions(res.model, r) == 0);
    }
    {
        TrainOptions o = repro_options(1);  // without snapshots: the initial model re-created
        o.snapshot = false;
        TrainResult res = train(o, r, nullptr);
        CHECK(res.status == SIMDMF_ERR_DIVERGED);
        CHECK(nan_predictions(res.model, r) == 0);
    }
    // The bound is what the check reads: ~1e30 factors give a bound past FLT_MAX, ordinary ones not.
    MFModel m;
    m.allocate(Loss::squared, 2, 1, 1, false);
    m.user_row(0)[0] = 1e30f;
    m.item_row(0)[0] = 1e30f;
    CHECK(m.finite());
    CHECK(m.score_bound() > 1e59);
    CHECK_FALSE(predicts_finite(m));
    m.user_row(0)[0] = 3.0f;
    m.item_row(0)[1] = 4.0f;
    CHECK(m.score_bound() == doctest::Approx(3.0 * 1e30));  // |p| * |q|
    CHECK(predicts_finite(m));
}

TEST_CASE("epoch control works on parameter views: snapshots, restore-best and divergence of any kind") {
    Weights m;
    m.n_users = 1;
    m.n_items = 3;
    m.w.assign(3, 1.0f);
    TrainOptions opt;
    opt.epochs = 10;
    opt.patience = 2;
    std::vector<std::uint32_t> u{0, 0, 0}, it{0, 1, 2};
    std::vector<float> v{1, 1, 1};
    const Ratings valid = ratings_from_triples(u.data(), it.data(), v.data(), 3, 1, 3);
    TrainResult res;
    const EpochCallback none;
    EpochControl ctl(opt, &valid, none, res);
    ctl.begin(m);
    // Epoch 1 is the best (w = 1 fits the validation set exactly); epochs 2, 3 are worse: early stop.
    m.w.assign(3, 1.0f);
    REQUIRE(ctl.after_epoch(1, 0.5, 0.1, m));
    m.w.assign(3, 2.0f);
    REQUIRE(ctl.after_epoch(2, 0.4, 0.1, m));
    m.w.assign(3, 3.0f);
    CHECK_FALSE(ctl.after_epoch(3, 0.3, 0.1, m));
    REQUIRE(ctl.finish(m));
    CHECK(res.stop_reason == "early stop");
    CHECK(res.history.size() == 3);
    CHECK(m.w[0] == 1.0f);  // the best epoch's parameters, restored through the view

    // Divergence on any kind: a non-finite parameter hands back the last good snapshot.
    Weights d = m;
    TrainResult res2;
    TrainOptions o2;
    o2.epochs = 5;
    EpochControl c2(o2, nullptr, none, res2);
    c2.begin(d);
    d.w[1] = 5.0f;
    REQUIRE(c2.after_epoch(1, 1.0, 0.1, d));
    d.w[1] = NAN;
    CHECK_FALSE(c2.after_epoch(2, 1.0, 0.1, d));
    REQUIRE(c2.finish(d));
    CHECK(res2.status == SIMDMF_ERR_DIVERGED);
    CHECK(d.w[1] == 5.0f);
    CHECK(res2.message.find("epoch 1's") != std::string::npos);

    // ParamSnapshot round trip on MF's four views.
    MFModel mf;
    mf.allocate(Loss::squared, 3, 4, 5, true);
    mf.bu[2] = 7.0f;
    ParamSnapshot s;
    s.take(mf, 4);
    mf.bu[2] = -1.0f;
    mf.Q[0] = 9.0f;
    s.restore_into(mf);
    CHECK(mf.bu[2] == 7.0f);
    CHECK(mf.Q[0] == 0.0f);
    CHECK_FALSE(s.valid());
}
