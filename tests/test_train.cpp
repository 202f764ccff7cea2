#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "common.hpp"
#include "dataset.hpp"
#include "eval/metrics.hpp"
#include "eval/split.hpp"
#include "synthetic.hpp"
#include "test_util.hpp"
#include "solvers/solvers.hpp"
#include "solvers/trainer.hpp"

using namespace simdmf;
using simdmf_test::textbook_labels;
using simdmf_test::textbook_ratings;
using simdmf_test::status_of;

namespace {

Ratings textbook(bool labels) {
    const auto& m = labels ? textbook_labels() : textbook_ratings();
    return ratings_from_dense(m.data(), 5, 10);
}

TrainOptions textbook_options(Solver solver, bool logistic) {
    TrainOptions o;
    o.solver = solver;
    o.loss = logistic ? Loss::logistic : Loss::squared;
    o.k = 3;
    o.biases = false;
    o.l2 = 0.001;
    o.init_std = 0.5;
    o.seed = 7;
    if (solver == Solver::sgd) {
        o.epochs = 3000;
        o.lr = 0.02;
    } else {
        o.epochs = 5000;
        o.lr = 2.0;
    }
    return o;
}

}  // namespace

TEST_CASE("textbook ratings matrix is reproduced by SGD and by GD") {
    const Ratings r = textbook(false);
    REQUIRE(r.size() == 13);
    for (Solver s : {Solver::sgd, Solver::gd}) {
        CAPTURE(s == Solver::sgd ? "sgd" : "gd");
        TrainResult res = train(textbook_options(s, false), r, nullptr);
        CHECK(res.status == SIMDMF_OK);
        double worst = 0;
        for (std::size_t j = 0; j < r.size(); ++j)
            worst = std::max(worst, std::fabs(double(res.model.predict(r.user[j], r.item[j])) - r.value[j]));
        CHECK(worst < 0.1);
    }
}

TEST_CASE("textbook +1/-1 matrix is separated by logistic MF, SGD and GD") {
    const Ratings r = textbook(true);
    REQUIRE(r.size() == 13);
    for (Solver s : {Solver::sgd, Solver::gd}) {
        CAPTURE(s == Solver::sgd ? "sgd" : "gd");
        TrainResult res = train(textbook_options(s, true), r, nullptr);
        for (std::size_t j = 0; j < r.size(); ++j) {
            float p = res.model.predict(r.user[j], r.item[j]);
            CAPTURE(j);
            CHECK(p > 0.0f);
            CHECK(p < 1.0f);
            if (r.value[j] > 0) CHECK(p > 0.9f);
            else CHECK(p < 0.1f);
        }
    }
}

TEST_CASE("objective gradient matches finite differences") {
    PlantedSpec spec;
    spec.n_users = 7;
    spec.n_items = 6;
    spec.n_ratings = 18;
    spec.rank = 2;
    spec.seed = 3;
    const Ratings base = make_planted(spec);
    for (bool logistic : {false, true}) {
        for (bool biases : {false, true}) {
            CAPTURE(logistic);
            CAPTURE(biases);
            const Ratings r = logistic ? binarize(base, 3.5f) : base;
            TrainOptions o;
            o.loss = logistic ? Loss::logistic : Loss::squared;
            o.k = 5;
            o.biases = biases;
            o.epochs = 3;
            o.init_std = 1.0;
            o.lr = 0.05;
            MFModel m = train(o, r, nullptr).model;  // a generic point, not the initial one
            const double l2 = 0.3, l2b = 0.2;
            Gradient g;
            objective(m, r, l2, l2b, &g);
            const float h = 1e-2f;
            auto check_param = [&](float& x, float analytic) {
                const float saved = x;
                x = saved + h;
                const double jp = objective(m, r, l2, l2b, nullptr);
                x = saved - h;
                const double jm = objective(m, r, l2, l2b, nullptr);
                x = saved;
                const double numeric = (jp - jm) / (2.0 * h);
                CHECK(std::fabs(numeric - analytic) <= 2e-4 + 1e-2 * std::fabs(numeric));
            };
            for (std::uint32_t u = 0; u < m.n_users; ++u)
                for (std::uint32_t f = 0; f < m.k; ++f)
                    check_param(m.user_row(u)[f], g.P[std::size_t(u) * m.stride + f]);
            for (std::uint32_t i = 0; i < m.n_items; ++i)
                for (std::uint32_t f = 0; f < m.k; ++f)
                    check_param(m.item_row(i)[f], g.Q[std::size_t(i) * m.stride + f]);
            if (biases) {
                for (std::uint32_t u = 0; u < m.n_users; ++u) check_param(m.bu[u], g.bu[u]);
                for (std::uint32_t i = 0; i < m.n_items; ++i) check_param(m.bi[i], g.bi[i]);
            }
            // The padding of the gradient rows stays zero.
            for (std::uint32_t u = 0; u < m.n_users; ++u)
                for (std::uint32_t f = m.k; f < m.stride; ++f) CHECK(g.P[std::size_t(u) * m.stride + f] == 0.0f);
        }
    }
}

TEST_CASE("planted low-rank data: test RMSE near the noise level, AUC of the binarised data") {
    PlantedSpec spec;
    spec.n_users = 600;
    spec.n_items = 400;
    spec.n_ratings = 60000;
    spec.rank = 4;
    spec.noise_std = 0.5;
    spec.integer_ratings = false;
    spec.min_rating = -100;
    spec.max_rating = 100;
    spec.item_popularity = 0;
    const Ratings all = make_planted(spec);
    auto [tr, te] = split::random(all, 0.2, 11);
    TrainOptions o;
    o.k = 8;
    o.epochs = 60;
    o.lr = 0.01;
    o.l2 = 0.05;
    TrainResult res = train(o, tr, nullptr);
    auto pred = res.model.predict_pairs(te);
    const double rmse = metrics::rmse(pred.data(), te.value.data(), te.size());
    MESSAGE("planted test RMSE " << rmse << " (noise 0.5)");
    CHECK(rmse <= 0.55);

    // The binarised version, from the same planted structure with less noise (the label noise of
    // noise_std 0.5 caps the attainable AUC near 0.9).
    spec.noise_std = 0.25;
    auto [ptr, pte] = split::random(make_planted(spec), 0.2, 11);
    const Ratings btr = binarize(ptr, 3.5f), bte = binarize(pte, 3.5f);
    TrainOptions lo = o;
    lo.loss = Loss::logistic;
    lo.lr = 0.05;
    lo.l2 = 0.01;
    lo.epochs = 40;
    MFModel lm = train(lo, btr, nullptr).model;
    auto prob = lm.predict_pairs(bte);
    const double auc = metrics::auc(prob.data(), bte.value.data(), bte.size());
    MESSAGE("planted binarised test AUC " << auc);
    CHECK(auc > 0.9);
}

TEST_CASE("same seed gives a bit-identical model; another seed does not") {
    const Ratings r = textbook(false);
    TrainOptions o = textbook_options(Solver::sgd, false);
    o.epochs = 50;
    MFModel a = train(o, r, nullptr).model;
    MFModel b = train(o, r, nullptr).model;
    CHECK(a.identical(b));
    o.seed = 8;
    MFModel c = train(o, r, nullptr).model;
    CHECK_FALSE(a.identical(c));
}

TEST_CASE("callback sees every epoch and can cancel with a valid model") {
    const Ratings r = textbook(false);
    TrainOptions o = textbook_options(Solver::sgd, false);
    o.epochs = 20;
    std::vector<std::uint32_t> seen;
    TrainResult res = train(o, r, nullptr, [&](const EpochInfo& e) {
        seen.push_back(e.epoch);
        CHECK(e.max_epochs == 20);
        CHECK(std::isnan(e.valid_metric));
        CHECK(e.train_loss >= 0);
        return e.epoch < 5;
    });
    CHECK(res.status == SIMDMF_CANCELLED);
    CHECK(seen == std::vector<std::uint32_t>{1, 2, 3, 4, 5});
    CHECK(res.history.size() == 5);
    CHECK(std::isfinite(res.model.predict(0, 4)));
}

TEST_CASE("stopping rules: tolerance and validation patience") {
    PlantedSpec spec;
    spec.n_users = 200;
    spec.n_items = 150;
    spec.n_ratings = 8000;
    const Ratings all = make_planted(spec);
    auto [tr, va] = split::random(all, 0.2, 5);

    TrainOptions o;
    o.k = 16;
    o.epochs = 200;
    o.lr = 0.02;
    o.tol = 0.9;
    TrainResult t = train(o, tr, nullptr);
    CHECK(t.stop_reason == "tolerance");
    CHECK(t.history.size() < 200);
    CHECK(t.history.back().train_loss < 0.9);
    for (std::size_t j = 0; j + 1 < t.history.size(); ++j) CHECK(t.history[j].train_loss >= 0.9);

    TrainOptions p;
    p.k = 64;
    p.epochs = 300;
    p.lr = 0.03;
    p.l2 = 0.0;  // overfits, so validation stops improving
    p.patience = 3;
    TrainResult res = train(p, tr, &va);
    CHECK(res.stop_reason == "early stop");
    REQUIRE(res.history.size() > 3);
    double best = std::numeric_limits<double>::infinity();
    for (auto& e : res.history) best = std::min(best, e.valid_metric);
    // restore_best hands back the best epoch's model
    CHECK(valid_metric(res.model, va) == doctest::Approx(best).epsilon(1e-9));
    CHECK(res.history.back().valid_metric > best);
}

TEST_CASE("learning-rate schedules") {
    TrainOptions o;
    o.lr = 0.1;
    CHECK(o.lr_at(5) == doctest::Approx(0.1));
    o.set("schedule", std::string("decay"));
    o.set("lr_decay", 0.5);
    CHECK(o.lr_at(0) == doctest::Approx(0.1));
    CHECK(o.lr_at(2) == doctest::Approx(0.05));
    o.set("schedule", std::string("list"));
    o.set("lr_list", std::vector<double>{0.3, 0.2, 0.1});
    CHECK(o.lr_at(0) == doctest::Approx(0.3));
    CHECK(o.lr_at(1) == doctest::Approx(0.2));
    CHECK(o.lr_at(9) == doctest::Approx(0.1));
    o.epochs = 4;
    o.k = 2;
    TrainResult res = train(o, textbook(false), nullptr);
    REQUIRE(res.history.size() == 4);
    CHECK(res.history[0].learning_rate == doctest::Approx(0.3));
    CHECK(res.history[3].learning_rate == doctest::Approx(0.1));
}

TEST_CASE("invalid options and data give clear statuses") {
    TrainOptions o;
    CHECK(status_of([&] { o.set("k", 0); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { o.set("k", 2.5); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { o.set("lr", -0.1); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { o.set("lr", std::nan("")); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { o.set("no_such_key", 1); }) == SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK(status_of([&] { o.set("loss", 1); }) == SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK(status_of([&] { o.set("loss", std::string("hinge")); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(o.k == 32);  // unchanged by the failures
    CHECK(o.get("lr") == doctest::Approx(0.01));
    o.set("k", 12);
    CHECK(o.get("k") == 12);

    std::vector<float> m = textbook_ratings();
    m[4] = std::numeric_limits<float>::quiet_NaN();  // NaN is "missing" in a dense matrix
    CHECK(ratings_from_dense(m.data(), 5, 10).size() == 12);
    Ratings bad = textbook(false);
    bad.value[3] = std::numeric_limits<float>::quiet_NaN();
    CHECK(status_of([&] { train(TrainOptions{}, bad, nullptr); }) == SIMDMF_ERR_INVALID_DATA);
    Ratings out_of_range = textbook(false);
    out_of_range.item[0] = 10;
    CHECK(status_of([&] { train(TrainOptions{}, out_of_range, nullptr); }) == SIMDMF_ERR_OUT_OF_RANGE);
    TrainOptions lo;
    lo.loss = Loss::logistic;
    CHECK(status_of([&] { train(lo, textbook(false), nullptr); }) == SIMDMF_ERR_INVALID_DATA);
    CHECK(status_of([&] { train(TrainOptions{}, Ratings{}, nullptr); }) == SIMDMF_ERR_INVALID_DATA);
}

TEST_CASE("a learning rate that blows up is reported as divergence") {
    TrainOptions o;
    o.lr = 10;
    o.init_std = 10;
    o.epochs = 50;
    // Not thrown: the result says DIVERGED and holds the last good (here: the initial) model.
    TrainResult res = train(o, textbook(false), nullptr);
    CHECK(res.status == SIMDMF_ERR_DIVERGED);
    CHECK(res.stop_reason == "diverged");
    CHECK(res.diverged_epoch >= 1);
    CHECK(res.message.find("epoch " + std::to_string(res.diverged_epoch)) != std::string::npos);
    CHECK(predicts_finite(res.model));
}
