// Neural CF (lib/models/ncf.*, lib/solvers/ncf_train.*): every backward pass against central finite
// differences (each model, each activation, each loss), planted data each model can represent,
// determinism, NeuMF from pretrained GMF + MLP, the model file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <random>
#include <vector>

#include "models/ncf.hpp"
#include "io/model_file.hpp"
#include "rng.hpp"
#include "v2_image.hpp"
#include "solvers/ncf_train.hpp"
#include "task_pool.hpp"

using namespace simdmf;

namespace {

// A random training matrix of nu x ni for the rows form: about half the cells, ratings 1..5, user
// `empty` (if < nu) without any rating; the pairs of check_gradients' batch always in.
std::shared_ptr<const NcfInputs> random_inputs(std::uint32_t nu, std::uint32_t ni, std::uint64_t seed,
                                               std::uint32_t empty = UINT32_MAX) {
    Rng rng(seed ^ 0x5151);
    std::vector<std::uint32_t> us, is;
    std::vector<float> vs;
    for (std::uint32_t u = 0; u < nu; ++u)
        for (std::uint32_t i = 0; i < ni; ++i) {
            const bool batch_pair = (u == 0 && i == 0) || (u == 1 && i == 2) || (u == 2 && i == 1) || (u == 3 && i == 3);
            if (u == empty || (!batch_pair && rng.uniform() < 0.5)) continue;
            us.push_back(u), is.push_back(i), vs.push_back(static_cast<float>(1 + rng.below(5)));
        }
    return std::make_shared<const NcfInputs>(NcfInputs::from_triples(nu, ni, us.data(), is.data(), vs.data(), us.size()));
}

NCFModel random_model(ModelKind kind, kernels::Act act, std::uint32_t nu, std::uint32_t ni, std::uint64_t seed,
                      std::vector<std::uint32_t> layers = {10, 7, 3}, bool rows = false) {
    NcfShape s;
    s.k = 5;
    s.layers = layers;
    s.act = act;
    s.slope = 0.3f;
    s.rows = rows;
    NCFModel m;
    m.allocate(kind, s, nu, ni);
    if (rows) m.input = random_inputs(nu, ni, seed);
    // The rows form's inputs are ratings up to 5 over several entries: smaller weights keep the
    // pre-activations (and the finite differences) in a moderate range.
    const double scale = rows ? 0.1 : 0.5;
    Rng rng(seed);
    for (const ParamView& v : m.params())
        for (std::uint64_t r = 0; r < v.rows; ++r)
            for (std::uint64_t c = 0; c < v.used; ++c) (*v.array)[r * v.cols + c] = static_cast<float>(rng.normal() * scale);
    return m;
}

double batch_loss(const NCFModel& m, const std::vector<std::uint32_t>& u, const std::vector<std::uint32_t>& i,
                  const std::vector<float>& y, NcfWorkspace ws = {}) {
    ws.reserve(m, u.size());
    std::vector<float> s(u.size());
    ncf_forward(m, u.data(), i.data(), u.size(), ws, s.data());
    double l = 0;
    for (std::size_t j = 0; j < u.size(); ++j) l += m.objective.term(y[j], s[j]);
    return l / double(u.size());
}

// Scores of a pair through the training path's forward pass (gathered rows, padded output unit).
float forward_score(const NCFModel& m, std::uint32_t u, std::uint32_t i) {
    NcfWorkspace ws;
    ws.reserve(m, 1);
    float s = 0;
    ncf_forward(m, &u, &i, 1, ws, &s);
    return s;
}

// dropout > 0: through the masks of one forward pass (the finite differences reuse them).
// leave_out (rows form): each pair's own rating out of its inputs, as training does.
void check_gradients(NCFModel m, float dropout = 0.0f, bool leave_out = false) {
    const std::vector<std::uint32_t> u = {0, 1, 2, 1, 3}, i = {0, 2, 1, 2, 3};  // repeats: scatter adds up
    std::vector<float> y = {4.0f, 2.0f, 5.0f, 3.0f, 1.0f};
    if (m.logistic()) y = {1.0f, -1.0f, 1.0f, 1.0f, -1.0f};
    NcfWorkspace ws;
    ws.reserve(m, u.size());
    ws.dropout = dropout;
    ws.leave_out = leave_out;
    ws.rng = Rng(3);
    std::vector<float> s(u.size()), ds(u.size());
    ncf_forward(m, u.data(), i.data(), u.size(), ws, s.data());
    NcfWorkspace fixed = ws;  // the masks just drawn
    fixed.reuse_mask = true;
    for (std::size_t j = 0; j < u.size(); ++j) ds[j] = static_cast<float>(-m.objective.residual(y[j], s[j]) / double(u.size()));
    NcfGrads g;
    g.init(m);
    {  // the threads' path: the embeddings' rows left in a workspace, scattered afterwards, the same sums
        NcfWorkspace ws2 = ws;
        NcfGrads g2, gd;
        g2.init(m);
        gd.init(m, false);
        ncf_backward(m, u.data(), i.data(), u.size(), ds.data(), ws2, gd, false);
        ncf_scatter(m, u.data(), i.data(), u.size(), ws2, g2);
        ncf_backward(m, u.data(), i.data(), u.size(), ds.data(), ws, g);
        for (std::size_t j = 0; j < g.g.size(); ++j) {
            const AlignedFloats& want = g.g[j];
            const AlignedFloats& got = gd.g[j].empty() ? g2.g[j] : gd.g[j];
            REQUIRE(got.size() == want.size());
            CHECK(std::equal(got.begin(), got.end(), want.begin()));
        }
    }
    std::size_t p = 0, checked = 0, kinks = 0;
    for (const ParamView& v : m.params()) {
        for (std::uint64_t r = 0; r < v.rows; ++r)
            for (std::uint64_t c = 0; c < v.used; ++c) {
                float& w = (*v.array)[r * v.cols + c];
                const float keep = w;
                auto central = [&](float h) {
                    w = keep + h;
                    const double lp = batch_loss(m, u, i, y, fixed);
                    w = keep - h;
                    const double lm = batch_loss(m, u, i, y, fixed);
                    w = keep;
                    return (lp - lm) / (2.0 * double(h));
                };
                double fd = central(2e-3f);
                const double an = g.g[p][r * v.cols + c];
                // A kink within the step: the quarter step is the derivative (the limit as h -> 0).
                if (std::fabs(fd - an) > 2e-3 + 2e-2 * std::fabs(fd)) fd = central(5e-4f);
                // A step across a ReLU kink is not a derivative: then the halved step disagrees.
                if (std::fabs(central(1e-3f) - fd) > 1e-3 + 1e-2 * std::fabs(fd)) { ++kinks; continue; }
                INFO(std::string(model_kind_name(m.kind)) << " " << std::string(v.name) << "[" << r << "," << c << "] fd " << fd << " analytic " << an);
                CHECK(std::fabs(fd - an) <= 2e-3 + 2e-2 * std::fabs(fd));
                ++checked;
            }
        // Padding columns get no gradient.
        for (std::uint64_t r = 0; r < v.rows; ++r)
            for (std::uint64_t c = v.used; c < v.cols; ++c) REQUIRE(g.g[p][r * v.cols + c] == 0.0f);
        ++p;
    }
    CHECK(checked + kinks == m.parameter_count());  // every parameter visited
    CHECK(kinks * 20 <= checked);  // almost every entry is smooth
}

// Planted ratings: 3 + 1.5 * tanh(p_u . q_i) on 60 users x 50 items, 70% observed; returns (train, test).
std::pair<Ratings, Ratings> planted(bool labels, std::uint64_t seed) {
    Rng rng(seed);
    const std::uint32_t nu = 60, ni = 50, k = 3;
    std::vector<double> P(nu * k), Q(ni * k);
    for (double& x : P) x = rng.normal();
    for (double& x : Q) x = rng.normal();
    Ratings tr, te;
    for (std::uint32_t u = 0; u < nu; ++u)
        for (std::uint32_t i = 0; i < ni; ++i) {
            double d = 0;
            for (std::uint32_t f = 0; f < k; ++f) d += P[u * k + f] * Q[i * k + f];
            const float v = labels ? (d > 0 ? 1.0f : -1.0f) : static_cast<float>(3.0 + 1.5 * std::tanh(d));
            const double x = rng.uniform();
            if (x < 0.7) tr.add(u, i, v);
            else te.add(u, i, v);
        }
    tr.n_users = te.n_users = nu;
    tr.n_items = te.n_items = ni;
    return {tr, te};
}

TrainOptions ncf_options(ModelKind kind) {
    TrainOptions o;
    o.model = kind;
    o.k = 8;
    o.ncf.layers = {16, 16, 8};
    o.ncf.batch = 32;
    o.ncf.init_std = 0.1;
    o.epochs = 40;
    o.lr = 0.01;
    return o;
}

// The test RMSE of predicting the training mean for every pair: the baseline a model must beat.
double mean_predictor_rmse(const Ratings& tr, const Ratings& te) {
    const double mean = tr.mean_value();
    double sum = 0;
    for (float v : te.value) sum += (v - mean) * (v - mean);
    return std::sqrt(sum / double(te.size()));
}

// GMF and MLP trained with o (its model kind aside), and NeuMF started from them with alpha: checks
// that NeuMF scores alpha * GMF + (1 - alpha) * MLP at a few pairs.
struct Pretrained {
    NCFModel gmf, mlp, neumf;
};
Pretrained pretrained_neumf(TrainOptions o, const Ratings& tr, double alpha) {
    o.model = ModelKind::gmf;
    NCFModel g = train_ncf(o, tr, nullptr).model;
    o.model = ModelKind::mlp;
    NCFModel p = train_ncf(o, tr, nullptr).model;
    NCFModel n = neumf_from(g, p, alpha);
    for (std::uint32_t u : {0u, 7u})
        for (std::uint32_t i : {1u, 30u})
            CHECK(n.score(u, i) ==
                  doctest::Approx(alpha * g.score(u, i) + (1 - alpha) * p.score(u, i)).epsilon(1e-4));
    return {std::move(g), std::move(p), std::move(n)};
}

}  // namespace

TEST_CASE("ncf backward: every model, activation and loss agrees with finite differences") {
    for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf})
        for (auto act : {kernels::Act::identity, kernels::Act::relu, kernels::Act::leaky_relu})
            for (int loss = 0; loss < 3; ++loss) {
                NCFModel m = random_model(kind, act, 4, 4, 11 + loss);
                if (loss == 0) m.objective = Objective::for_loss(Loss::squared);
                if (loss == 1) m.objective = Objective::scaled(1.0, 5.0);
                if (loss == 2) m.objective = Objective::for_loss(Loss::logistic);
                CAPTURE(static_cast<int>(act));
                CAPTURE(loss);
                check_gradients(m);
                if (kind != ModelKind::gmf) {  // MLP embeddings of whole vectors (16): gathered into layer 1 in place
                    NCFModel w = random_model(kind, act, 4, 4, 21 + loss, {32, 6, 3});
                    w.objective = m.objective;
                    check_gradients(w);
                }
            }
}

TEST_CASE("ncf dropout: backward through the masks agrees with finite differences; seeded; off when serving") {
    for (ModelKind kind : {ModelKind::mlp, ModelKind::neumf})
        for (auto act : {kernels::Act::relu, kernels::Act::leaky_relu}) {
            const std::string name = model_kind_name(kind);
            CAPTURE(name);
            NCFModel m = random_model(kind, act, 4, 4, 17);
            m.objective = Objective::for_loss(Loss::squared);
            check_gradients(m, 0.4f);
        }
    // A mask drops units (about the rate) and scales the kept ones by 1 / (1 - rate).
    NCFModel m = random_model(ModelKind::mlp, kernels::Act::identity, 4, 4, 18);
    std::vector<std::uint32_t> u(64, 1), i(64, 2);
    NcfWorkspace ws;
    ws.reserve(m, u.size());
    std::vector<float> plain(u.size()), dropped(u.size());
    ncf_forward(m, u.data(), i.data(), u.size(), ws, plain.data());
    ws.dropout = 0.5f;
    ws.rng = Rng(1);
    ncf_forward(m, u.data(), i.data(), u.size(), ws, dropped.data());
    std::size_t zeros = 0, scaled = 0;
    for (std::size_t j = 0; j < u.size() * kernels::nn_pad(7); ++j) {
        const float v = ws.drop[1][j];
        if (j % kernels::nn_pad(7) >= 7) { REQUIRE(v == 0.0f); continue; }  // padding stays zero
        zeros += v == 0.0f;
        scaled += v == 2.0f;
    }
    CHECK(zeros + scaled == u.size() * 7);
    CHECK(zeros > u.size() * 7 / 4);
    CHECK(scaled > u.size() * 7 / 4);
    CHECK(plain != dropped);
    // Training: dropout changes the model, the same seed gives the same one, serving has no dropout
    // (the same scores twice, equal to the forward pass without masks).
    auto [tr, te] = planted(false, 12);
    TrainOptions o = ncf_options(ModelKind::neumf);
    o.epochs = 3;
    const NcfTrainResult a = train_ncf(o, tr, &te);
    o.ncf.dropout = 0.3;
    const NcfTrainResult b = train_ncf(o, tr, &te), c = train_ncf(o, tr, &te);
    CHECK(b.model.identical(c.model));
    CHECK_FALSE(b.model.identical(a.model));
    CHECK(std::isfinite(b.history.back().valid_metric));
    CHECK(b.model.score(3, 4) == b.model.score(3, 4));
    CHECK(b.model.score(3, 4) == doctest::Approx(forward_score(b.model, 3, 4)).epsilon(1e-5));
}

TEST_CASE("ncf planted ratings: each model beats the mean by a wide margin") {
    auto [tr, te] = planted(false, 5);
    const double base = mean_predictor_rmse(tr, te);
    for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf}) {
        const std::string name = model_kind_name(kind);
        CAPTURE(name);
        const NcfTrainResult r = train_ncf(ncf_options(kind), tr, nullptr);
        REQUIRE(r.status == SIMDMF_OK);
        REQUIRE(r.history.size() == 40);
        CHECK(r.history.back().train_loss < r.history.front().train_loss);
        const double rmse = valid_metric(r.model, te);
        MESSAGE(std::string(model_kind_name(kind)) << " test RMSE " << rmse << " (mean predictor " << base << ")");
        CHECK(rmse < 0.7 * base);
    }
}

TEST_CASE("ncf planted implicit feedback, log loss with sampled negatives: held-out positives rank first") {
    auto [all, te] = planted(true, 6);
    Ratings tr;  // positives only: implicit feedback; the negatives are sampled
    for (std::size_t j = 0; j < all.size(); ++j)
        if (all.value[j] > 0) tr.add(all.user[j], all.item[j], 1.0f);
    tr.n_users = all.n_users;
    tr.n_items = all.n_items;
    for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf}) {
        TrainOptions o = ncf_options(kind);
        o.loss = Loss::logistic;
        o.ncf.negatives = 2;
        const NcfTrainResult r = train_ncf(o, tr, nullptr);
        REQUIRE(r.status == SIMDMF_OK);
        // Per user: held-out positive vs held-out negative pairs in the right order (an AUC).
        std::size_t right = 0, pairs = 0;
        for (std::size_t a = 0; a < te.size(); ++a)
            for (std::size_t b = 0; b < te.size(); ++b)
                if (te.user[a] == te.user[b] && te.value[a] > 0 && te.value[b] < 0) {
                    ++pairs;
                    right += r.model.score(te.user[a], te.item[a]) > r.model.score(te.user[b], te.item[b]);
                }
        const double auc = double(right) / double(pairs);
        MESSAGE(std::string(model_kind_name(kind)) << " held-out AUC " << auc);
        CHECK(auc > 0.75);
    }
}

TEST_CASE("ncf: catch-up lazy Adam gives dense Adam's model; LazyAdam another; L2 falls back to dense") {
    // Log loss on a sparse planted matrix, small batches: most rows skip most steps.
    auto [tr, te] = planted(true, 21);
    Ratings pos;
    for (std::size_t j = 0; j < tr.size(); ++j)
        if (tr.value[j] > 0 && (tr.user[j] + 3 * tr.item[j]) % 4 == 0) pos.add(tr.user[j], tr.item[j], 1.0f);
    pos.n_users = tr.n_users;
    pos.n_items = tr.n_items;
    // Embeddings, the rows form, and embeddings with beta1 0.5 (a ring of 41 steps: long skips summed directly).
    for (std::uint32_t variant : {0u, 1u, 2u}) {
        CAPTURE(variant);
        const std::uint32_t rows = variant == 1 ? 1 : 0;
        TrainOptions o = ncf_options(ModelKind::neumf);
        if (variant == 2) o.ncf.beta1 = 0.5;
        o.loss = Loss::logistic;
        o.ncf.input = rows;
        o.ncf.batch = 8;
        o.epochs = 3;
        o.lr = 0.003;
        auto run = [&](std::uint32_t lazy) {
            TrainOptions q = o;
            q.ncf.lazy_adam = lazy;
            return train_ncf(q, pos, nullptr).model;
        };
        const NCFModel dense = run(0), caught = run(1), lazy = run(2);
        // The largest change of a score from the dense model's, against the scores' own spread.
        auto gap = [&](const NCFModel& m) {
            double worst = 0, spread = 0;
            for (std::uint32_t u = 0; u < pos.n_users; ++u)
                for (std::uint32_t i = 0; i < pos.n_items; ++i) {
                    worst = std::max(worst, std::fabs(double(m.score(u, i)) - dense.score(u, i)));
                    spread = std::max(spread, std::fabs(double(dense.score(u, i)) - dense.score(0, 0)));
                }
            return worst / spread;
        };
        const double g1 = gap(caught), g2 = gap(lazy);
        MESSAGE("scores' largest change from dense Adam's, of their spread: catch-up " << g1 << ", LazyAdam " << g2);
        CHECK(g1 < 1e-3);  // 3e-5 (embeddings) and 2e-5 (rows form) when written
        CHECK(g2 > 30 * g1);
        // With L2 on the rows the skipped steps' gradients are not zero: ncf_lazy_adam 1 runs dense Adam.
        o.ncf.l2_embed = o.ncf.l2_weights = 1e-3;
        CHECK(run(1).identical(run(0)));
    }
}

TEST_CASE("ncf: same seed, same model; another seed, another; lazy and dense Adam and SGD all train") {
    auto [tr, te] = planted(false, 7);
    TrainOptions o = ncf_options(ModelKind::neumf);
    o.epochs = 3;
    const NcfTrainResult a = train_ncf(o, tr, &te), b = train_ncf(o, tr, &te);
    CHECK(a.model.identical(b.model));
    o.seed = 43;
    CHECK_FALSE(train_ncf(o, tr, &te).model.identical(a.model));
    o.seed = 42;
    o.ncf.lazy_adam = false;
    const NcfTrainResult d = train_ncf(o, tr, &te);
    CHECK_FALSE(d.model.identical(a.model));
    CHECK(d.history.back().train_loss < d.history.front().train_loss * 1.01);
    o.ncf.optimizer = 1;
    o.lr = 0.05;
    o.epochs = 10;
    const NcfTrainResult s = train_ncf(o, tr, &te);
    CHECK(s.history.back().train_loss < s.history.front().train_loss);
}

namespace {
// The parameters alone (train_options record the thread count).
bool same_params(const NCFModel& a, const NCFModel& b) {
    const auto pa = a.params(), pb = b.params();
    if (pa.size() != pb.size()) return false;
    for (std::size_t j = 0; j < pa.size(); ++j) {
        const ParamArray &x = *pa[j].array, &y = *pb[j].array;
        if (x.size() != y.size() || !std::equal(x.begin(), x.end(), y.begin())) return false;
    }
    return true;
}
}  // namespace

TEST_CASE("ncf threads: the same thread count gives the same model, refused threads change nothing, all learn") {
    for (bool logistic : {false, true}) {
        auto [tr, te] = planted(logistic, 8);
        if (logistic) {  // positives only, negatives sampled
            Ratings pos;
            for (std::size_t j = 0; j < tr.size(); ++j)
                if (tr.value[j] > 0) pos.add(tr.user[j], tr.item[j], 1.0f);
            pos.n_users = tr.n_users;
            pos.n_items = tr.n_items;
            tr = pos;
        }
        for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf}) {
            CAPTURE(logistic);
            const std::string name = model_kind_name(kind);
            CAPTURE(name);
            TrainOptions o = ncf_options(kind);
            o.epochs = 4;
            if (logistic) o.loss = Loss::logistic, o.ncf.negatives = 2;
            o.threads = 1;
            const NcfTrainResult one = train_ncf(o, tr, nullptr);
            o.threads = 3;
            const NcfTrainResult a = train_ncf(o, tr, nullptr), b = train_ncf(o, tr, nullptr);
            REQUIRE(a.status == SIMDMF_OK);
            CHECK(same_params(a.model, b.model));
            thread_start_budget.store(0);  // every worker refused: the caller runs the three slices
            const NcfTrainResult c = train_ncf(o, tr, nullptr);
            thread_start_budget.store(-1);
            CHECK(same_params(a.model, c.model));
            // 3 slices learn as one does (the same data and steps; the sums grouped otherwise).
            MESSAGE(name << std::string(logistic ? " log loss" : " squared") << ": identical to 1 thread " << same_params(one.model, a.model) << ", train loss, 1 thread " << one.history.back().train_loss
                         << ", 3 threads " << a.history.back().train_loss);
            CHECK(a.history.back().train_loss < a.history.front().train_loss);
            CHECK(a.history.back().train_loss == doctest::Approx(one.history.back().train_loss).epsilon(0.005));
            if (kind != ModelKind::gmf) {  // dropout: a mask stream per slice, still reproducible
                o.ncf.dropout = 0.1;
                const NcfTrainResult d = train_ncf(o, tr, nullptr), e = train_ncf(o, tr, nullptr);
                CHECK(same_params(d.model, e.model));
                CHECK_FALSE(same_params(d.model, a.model));
            }
            if (!logistic) CHECK(valid_metric(a.model, te) == doctest::Approx(valid_metric(one.model, te)).epsilon(0.05));
        }
    }
}

TEST_CASE("ncf: early stopping, cancellation, divergence") {
    auto [tr, te] = planted(false, 8);
    TrainOptions o = ncf_options(ModelKind::gmf);
    o.epochs = 200;
    o.patience = 2;
    o.ncf.init_std = 1.0;  // overfits quickly
    const NcfTrainResult r = train_ncf(o, tr, &te);
    CHECK(r.stop_reason == "early stop");
    CHECK(r.history.size() < 200);
    int calls = 0;
    o.patience = 0;
    const NcfTrainResult c = train_ncf(o, tr, nullptr, [&](const EpochInfo&) { return ++calls < 3; });
    CHECK(c.status == SIMDMF_CANCELLED);
    CHECK(calls == 3);
    o.epochs = 5;
    o.ncf.optimizer = 1;
    o.ncf.link = 1;  // identity: nothing bounds the scores
    o.lr = 1e6;
    const NcfTrainResult dv = train_ncf(o, tr, nullptr);
    CHECK(dv.status == SIMDMF_ERR_DIVERGED);
    CHECK(dv.model.finite());
    CHECK(dv.message.find("diverged in epoch") != std::string::npos);
}

TEST_CASE("neumf_from: pretrained GMF + MLP give the alpha-weighted score of the two") {
    auto [tr, te] = planted(false, 9);
    TrainOptions o = ncf_options(ModelKind::gmf);
    o.epochs = 3;
    o.ncf.link = 1;
    const Pretrained pre = pretrained_neumf(o, tr, 0.5);
    const NCFModel& g = pre.gmf;
    const NCFModel& p = pre.mlp;
    const NCFModel& n = pre.neumf;
    o.model = ModelKind::neumf;
    o.k = 3;                 // ignored: the start's shape is kept, and recorded as the model's options
    o.ncf.layers = {4, 2};
    const NcfTrainResult r = train_ncf(o, tr, nullptr, {}, &n);
    CHECK(r.status == SIMDMF_OK);
    CHECK(r.model.shape.k == 8);
    CHECK(r.model.shape.layers == std::vector<std::uint32_t>{16, 16, 8});
    auto recorded = [&](const char* key) {
        for (const auto& [k, v] : r.model.train_options)
            if (k == key) return v;
        return std::string("(absent)");
    };
    CHECK(recorded("k") == "8");
    CHECK(recorded("ncf_layers") == "16,16,8");
    // Training moved the start (and only the copy: n is unchanged).
    CHECK(r.model.score(0, 1) != n.score(0, 1));
    CHECK(n.score(0, 1) == doctest::Approx(0.5 * g.score(0, 1) + 0.5 * p.score(0, 1)).epsilon(1e-4));
    // Same start, same options: the same model.
    CHECK(train_ncf(o, tr, nullptr, {}, &n).model.identical(r.model));
    CHECK_THROWS(neumf_from(p, g, 0.5));
    CHECK_THROWS(neumf_from(g, p, 1.5));
    // Other user ids than the start's: refused, naming the data.
    Ratings other = tr;
    std::vector<std::int64_t> raws(other.n_users);
    for (std::size_t j = 0; j < raws.size(); ++j) raws[j] = std::int64_t(j) + 1000;
    other.user_ids = std::make_shared<const IdMap>(IdMap::from_raws(raws));
    CHECK_THROWS_WITH(train_ncf(o, other, nullptr, {}, &n), doctest::Contains("the training data"));
    // GMF and MLP of different ids do not combine.
    NCFModel p2 = p;
    p2.user_ids = other.user_ids;
    CHECK_THROWS_WITH(neumf_from(g, p2, 0.5), doctest::Contains("different user or item ids"));
}

TEST_CASE("ncf model file v2: round trip of every kind, loaded and mapped; MF-only readers refuse it") {
    auto [tr, te] = planted(false, 10);
    for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf}) {
        const std::string name = model_kind_name(kind);
        CAPTURE(name);
        TrainOptions o = ncf_options(kind);
        o.epochs = 2;
        o.ncf.activation = 2;
        NcfTrainResult r = train_ncf(o, tr, nullptr);
        const std::string path = "test_ncf_" + name + ".smf";
        save_model(r.model, path);
        for (bool map : {false, true}) {
            OpenOptions oo;
            oo.map = map;
            std::unique_ptr<Model> back = open_any_model(path, oo);
            REQUIRE(back->kind == kind);
            CHECK(back->identical(r.model));
            CHECK(back->objective.link == Link::scaled_sigmoid);
            CHECK(back->predict(3, 4) == r.model.predict(3, 4));
            std::vector<float> a(tr.n_items), b(tr.n_items);
            back->predict_row(5, a.data());
            r.model.predict_row(5, b.data());
            CHECK(a == b);
        }
        try {
            (void)load_model(path);
            FAIL("load_model read a " << name << " model");
        } catch (const Error& e) {
            CHECK(e.status() == SIMDMF_ERR_UNSUPPORTED);
            CHECK(std::string(e.what()).find(name) != std::string::npos);
        }
        std::remove(path.c_str());
    }
}

TEST_CASE("ncf: score_block and score_pairs agree with one-pair scoring; MF-only parts are absent") {
    auto [tr, te] = planted(false, 11);
    TrainOptions o = ncf_options(ModelKind::neumf);
    o.epochs = 1;
    const NCFModel m = train_ncf(o, tr, nullptr).model;
    std::vector<float> row(m.n_items);
    m.score_row(2, row.data());
    for (std::uint32_t i = 0; i < m.n_items; ++i) CHECK(row[i] == doctest::Approx(m.score(2, i)).epsilon(1e-6));
    CHECK_FALSE(m.factors());
    CHECK_THROWS_AS(m.require_factors("similarity"), Error);
}

TEST_CASE("ncf score_block (the serving path: dot-product output, split first layer) matches the forward pass") {
    // Every kind and activation, item ranges crossing the 256-item serving block, several users with a
    // wide leading dimension, a tower-less MLP; two shapes interleaved on one thread (its scratch).
    for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf})
        for (kernels::Act act : {kernels::Act::relu, kernels::Act::leaky_relu}) {
            const std::string name = model_kind_name(kind);
            CAPTURE(name);
            const NCFModel m = random_model(kind, act, 9, 300, 21);
            NcfShape flat = m.shape;
            flat.layers = {12};
            NCFModel f;
            f.allocate(kind, flat, 9, 300);
            Rng rng(5);
            for (const ParamView& v : f.params())
                for (std::uint64_t r = 0; r < v.rows; ++r)
                    for (std::uint64_t c = 0; c < v.used; ++c) (*v.array)[r * v.cols + c] = static_cast<float>(rng.normal());
            for (const NCFModel* x : std::initializer_list<const NCFModel*>{&m, &f, &m}) {
                const std::uint32_t users[3] = {4, 0, 8};
                const std::uint32_t i0 = 5, i1 = 290;
                const std::size_t ld = 300;
                std::vector<float> block(3 * ld, -99.0f);
                x->score_block(users, 3, i0, i1, block.data(), ld);
                for (std::size_t r = 0; r < 3; ++r) {
                    for (std::uint32_t i = i0; i < i1; ++i) {
                        const float want = forward_score(*x, users[r], i);
                        REQUIRE(block[r * ld + (i - i0)] == doctest::Approx(want).epsilon(1e-5).scale(1.0));
                    }
                    CHECK(block[r * ld + (i1 - i0)] == -99.0f);  // nothing written past the range
                }
            }
        }
}

TEST_CASE("ncf model file: a network shape the file cannot hold is FORMAT before anything is allocated") {
    // Found by fuzz_model_file: a 7 KB file whose metadata named a large network made the reader
    // allocate it (GBs) before comparing it with the file's arrays.
    auto [tr, te] = planted(false, 10);
    TrainOptions o = ncf_options(ModelKind::mlp);
    o.ncf.layers = {64, 32, 16, 8};
    o.epochs = 1;
    NcfTrainResult r = train_ncf(o, tr, nullptr);
    const std::string path = "test_ncf_shape.smf", bad = "test_ncf_shape_bad.smf";
    save_model(r.model, path);
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string from = "64,32,16,8", to = "8192,08192";  // same length: layers [8192, 8192]
    auto at = std::search(bytes.begin(), bytes.end(), from.begin(), from.end());
    REQUIRE(at != bytes.end());
    std::copy(to.begin(), to.end(), at);
    simdmf_test::V2Image::fix_all_crcs(bytes);
    {
        std::ofstream out(bad, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    for (bool map : {false, true}) {
        OpenOptions oo;
        oo.map = map;
        try {
            (void)open_any_model(bad, oo);
            FAIL("a network larger than its file was opened");
        } catch (const Error& e) {
            CHECK(e.status() == SIMDMF_ERR_FORMAT);
            CHECK(std::string(e.what()).find("more than the file's") != std::string::npos);
        }
    }
    std::remove(path.c_str());
    std::remove(bad.c_str());
}

// ---- the rows form (ncf_input = rows): the training matrix's user rows and item columns through
// sparse input layers.

TEST_CASE("ncf rows form: the sparse input layers' backward and every model's agree with finite differences") {
    for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf})
        for (auto act : {kernels::Act::relu, kernels::Act::leaky_relu})
            for (int loss = 0; loss < 3; ++loss)
                for (bool leave_out : {false, true}) {
                    const std::string name = model_kind_name(kind);
                    CAPTURE(name);
                    CAPTURE(static_cast<int>(act));
                    CAPTURE(loss);
                    CAPTURE(leave_out);
                    NCFModel m = random_model(kind, act, 4, 5, 31 + loss, {10, 7, 3}, true);
                    if (loss == 0) m.objective = Objective::for_loss(Loss::squared);
                    if (loss == 1) m.objective = Objective::scaled(1.0, 5.0);
                    if (loss == 2) m.objective = Objective::for_loss(Loss::logistic);
                    check_gradients(m, 0.0f, leave_out);
                    if (kind != ModelKind::gmf) {  // input layers of whole vectors (16 wide): written into layer 1 in place
                        NCFModel w = random_model(kind, act, 4, 5, 41 + loss, {32, 6, 3}, true);
                        w.objective = m.objective;
                        check_gradients(w, 0.0f, leave_out);
                    }
                }
}

TEST_CASE("ncf rows form: leaving the pair's rating out changes the inputs of exactly that pair") {
    NCFModel m = random_model(ModelKind::neumf, kernels::Act::relu, 4, 5, 3, {10, 7, 3}, true);
    m.objective = Objective::for_loss(Loss::squared);
    const std::vector<std::uint32_t> u = {1, 1}, i = {2, 4};  // (1, 2) is rated; (1, 4) may or may not be
    NcfWorkspace a, b;
    a.reserve(m, 2);
    b.reserve(m, 2);
    b.leave_out = true;
    float sa[2], sb[2];
    ncf_forward(m, u.data(), i.data(), 2, a, sa);
    ncf_forward(m, u.data(), i.data(), 2, b, sb);
    CHECK(sa[0] != sb[0]);
    bool rated = false;
    const NcfInputs& x = *m.input;
    for (std::uint64_t t = x.uptr[1]; t < x.uptr[2]; ++t) rated |= x.uidx[t] == 4;
    if (!rated) CHECK(sa[1] == sb[1]);
    // Serving (score) reads the whole matrix: the forward pass without leave-out.
    CHECK(m.score(1, 2) == doctest::Approx(sa[0]).epsilon(1e-5));
}

namespace {
TrainOptions rows_options(ModelKind kind) {
    TrainOptions o = ncf_options(kind);
    o.ncf.input = 1;
    o.ncf.l2_weights = 1e-4;
    o.lr = 0.003;
    return o;
}
}  // namespace

TEST_CASE("ncf rows form planted ratings: each model learns what a user's row and an item's column reveal") {
    // Ratings of users from 3 taste groups on items of 3 kinds: 4.5 where the group likes the kind,
    // else 1.5, 60% observed. A user's row (and an item's column) shows its group; the mean does not.
    Rng rng(4);
    const std::uint32_t nu = 60, ni = 45;
    Ratings tr, te;
    for (std::uint32_t u = 0; u < nu; ++u)
        for (std::uint32_t i = 0; i < ni; ++i) {
            const float v = (u % 3) == (i % 3) ? 4.5f : 1.5f;
            (rng.uniform() < 0.6 ? tr : te).add(u, i, v);
        }
    tr.n_users = te.n_users = nu;
    tr.n_items = te.n_items = ni;
    const double base = mean_predictor_rmse(tr, te);
    for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf}) {
        const std::string name = model_kind_name(kind);
        CAPTURE(name);
        const NcfTrainResult r = train_ncf(rows_options(kind), tr, nullptr);
        REQUIRE(r.status == SIMDMF_OK);
        REQUIRE(r.model.shape.rows);
        CHECK(r.history.back().train_loss < r.history.front().train_loss);
        const double rmse = valid_metric(r.model, te);
        MESSAGE(name << " rows form: test RMSE " << rmse << " (mean predictor " << base << ")");
        CHECK(rmse < 0.35 * base);
    }
}

TEST_CASE("ncf rows form: same seed, same model; lazy and dense Adam and SGD train; threads reproducible") {
    auto [tr, te] = planted(false, 7);
    TrainOptions o = rows_options(ModelKind::neumf);
    o.epochs = 3;
    const NcfTrainResult a = train_ncf(o, tr, &te), b = train_ncf(o, tr, &te);
    CHECK(a.model.identical(b.model));
    o.ncf.input_leave_out = false;
    CHECK_FALSE(train_ncf(o, tr, &te).model.identical(a.model));
    o.ncf.input_leave_out = true;
    {  // LazyAdam (ncf_lazy_adam 2) and dense Adam differ only where a batch leaves weight rows
       // untouched: a sparse matrix, small batches (on the dense planted data every batch names every
       // row: the same model). With L2 on the weights (rows_options), ncf_lazy_adam 1 is dense Adam.
        Ratings sp;
        for (std::size_t j = 0; j < tr.size(); ++j)
            if ((tr.user[j] * 7 + tr.item[j] * 3) % 10 == 0) sp.add(tr.user[j], tr.item[j], tr.value[j]);
        sp.n_users = tr.n_users;
        sp.n_items = tr.n_items;
        TrainOptions q = o;
        q.ncf.batch = 4;
        q.ncf.lazy_adam = 2;
        const NcfTrainResult lazy = train_ncf(q, sp, nullptr);
        q.ncf.lazy_adam = 0;
        const NcfTrainResult d = train_ncf(q, sp, nullptr);
        CHECK_FALSE(d.model.identical(lazy.model));
        q.ncf.lazy_adam = 1;
        CHECK(train_ncf(q, sp, nullptr).model.identical(d.model));
        q.ncf.lazy_adam = 0;
        CHECK(d.history.back().train_loss < d.history.front().train_loss);
        CHECK(lazy.history.back().train_loss < lazy.history.front().train_loss);
        q.ncf.batch = 32;
        CHECK(train_ncf(q, tr, &te).model.identical(a.model));
    }
    o.ncf.lazy_adam = true;
    o.threads = 3;
    const NcfTrainResult t1 = train_ncf(o, tr, &te), t2 = train_ncf(o, tr, &te);
    CHECK(same_params(t1.model, t2.model));
    CHECK(t1.history.back().train_loss == doctest::Approx(a.history.back().train_loss).epsilon(0.01));
    o.threads = 1;
    o.ncf.optimizer = 1;
    o.lr = 0.01;
    o.epochs = 10;
    const NcfTrainResult s = train_ncf(o, tr, &te);
    CHECK(s.history.back().train_loss < s.history.front().train_loss);
}

TEST_CASE("ncf rows form: serving path, model file round trip (loaded and mapped), fold-in, fallback") {
    auto [tr, te] = planted(false, 13);
    Ratings tr2 = tr;
    tr2.n_users += 1;  // a user with no rating: its row is empty, the input layers give their biases
    for (ModelKind kind : {ModelKind::gmf, ModelKind::mlp, ModelKind::neumf})
      for (std::uint32_t norm : {0u, 1u}) {
        const std::string name = model_kind_name(kind) + std::string(norm ? "_sqrt" : "");
        CAPTURE(name);
        TrainOptions o = rows_options(kind);
        o.epochs = 2;
        o.ncf.activation = 2;
        o.ncf.input_norm = norm;
        NcfTrainResult r = train_ncf(o, tr2, nullptr);
        NCFModel& m = r.model;
        {  // the input values: as given, or each row's and column's divided by the root of its count
            const NcfInputs& x = *m.input;
            REQUIRE(x.norm == norm);
            const std::uint64_t c = x.uptr[5] - x.uptr[4];
            REQUIRE(c > 1);
            CHECK(x.uin[x.uptr[4]] == doctest::Approx(x.uval[x.uptr[4]] / (norm ? std::sqrt(double(c)) : 1.0)));
            const std::uint64_t ci = x.iptr[8] - x.iptr[7];
            double col = 0, want = 0;
            for (std::uint64_t t = x.iptr[7]; t < x.iptr[8]; ++t) col += x.ival[t];
            for (std::size_t j = 0; j < tr.size(); ++j)
                if (tr.item[j] == 7) want += tr.value[j];
            CHECK(col == doctest::Approx(want / (norm ? std::sqrt(double(ci)) : 1.0)));
        }
        const std::uint32_t empty = tr.n_users;
        // score_block (per-user input once, the items' input layers per block) against the forward pass.
        std::vector<float> row(m.n_items);
        for (std::uint32_t u : {0u, 9u, empty}) {
            m.score_row(u, row.data());
            for (std::uint32_t i = 0; i < m.n_items; ++i)
                REQUIRE(row[i] == doctest::Approx(forward_score(m, u, i)).epsilon(1e-5).scale(1.0));
        }
        {  // The item side's outputs cached (built by train_ncf): the same scores as computing them per block.
            REQUIRE(m.item_cache);
            const std::size_t pk = kernels::nn_pad(m.shape.k), pe = kernels::nn_pad(m.embed());
            CHECK(m.item_cache->qg.size() == (m.has_gmf() ? std::size_t(m.n_items) * pk : 0));
            CHECK(m.item_cache->qe.size() == (m.has_mlp() ? std::size_t(m.n_items) * pe : 0));
            NCFModel plain = m;
            plain.item_cache.reset();
            std::vector<float> c1(m.n_items), c2(m.n_items);
            for (std::uint32_t u : {0u, 9u, empty}) {
                m.score_row(u, c1.data());
                plain.score_row(u, c2.data());
                REQUIRE(c1 == c2);
            }
            // A stale cache (item count changed) is not read.
            auto stale = std::make_shared<NcfItemCache>(*m.item_cache);
            stale->n_items = m.n_items + 1;
            for (float& x : stale->qg) x = 1e3f;
            for (float& x : stale->qe) x = 1e3f;
            plain.item_cache = stale;
            plain.score_row(9, c2.data());
            m.score_row(9, c1.data());
            CHECK(c1 == c2);
        }
        // A user outside the model scores as the user with no rating.
        CHECK(m.fallback_score(m.n_users + 5, 3) == doctest::Approx(m.score(empty, 3)).epsilon(1e-6));
        CHECK(m.fallback_score(2, m.n_items) != m.score(2, 0));
        // Fold-in: a new user with user 4's training ratings scores as user 4 (the row is the input).
        std::vector<std::uint32_t> items;
        std::vector<float> values;
        for (std::size_t j = 0; j < tr.size(); ++j)
            if (tr.user[j] == 4) items.push_back(tr.item[j]), values.push_back(tr.value[j]);
        NCFModel f = m;
        const std::uint32_t nu = f.fold_in_user(items.data(), values.data(), items.size(), 0.0, -1);
        REQUIRE(nu == m.n_users);
        REQUIRE(f.n_users == m.n_users + 1);
        std::vector<float> a(m.n_items), b(m.n_items);
        f.score_row(nu, a.data());
        m.score_row(4, b.data());
        CHECK(a == b);
        CHECK(f.item_cache == m.item_cache);  // kept: the item columns read the training users only
        {
            NCFModel plain = f;
            plain.item_cache.reset();
            plain.score_row(nu, b.data());
            CHECK(a == b);
        }
        f.score_row(3, a.data());  // the others unchanged, and the original model untouched
        m.score_row(3, b.data());
        CHECK(a == b);
        CHECK(m.input->n_users == m.n_users);
        const std::uint32_t bad_item = m.n_items;
        CHECK_THROWS_AS(f.fold_in_user(&bad_item, values.data(), 1, 0.0, -1), Error);  // not an item of the model
        CHECK(f.n_users == m.n_users + 1);
        // The file: both models (one with a folded-in user), loaded and mapped, predict identically.
        for (const NCFModel* x : {&m, &f}) {
            const std::string path = "test_ncf_rows_" + name + ".smf";
            save_model(*x, path);
            for (bool map : {false, true}) {
                OpenOptions oo;
                oo.map = map;
                std::unique_ptr<Model> back = open_any_model(path, oo);
                REQUIRE(back->kind == kind);
                CHECK(back->identical(*x));
                CHECK(dynamic_cast<const NCFModel&>(*back).item_cache);  // built on loading
                std::vector<float> p(x->n_items), q(x->n_items);
                for (std::uint32_t u = 0; u < x->n_users; ++u) {
                    back->predict_row(u, p.data());
                    x->predict_row(u, q.data());
                    REQUIRE(p == q);
                }
                CHECK(back->fallback_score(x->n_users, 1) == x->fallback_score(x->n_users, 1));
            }
            std::remove(path.c_str());
        }
      }
    // The embedding form has no fold-in.
    TrainOptions o = ncf_options(ModelKind::gmf);
    o.epochs = 1;
    NCFModel e = train_ncf(o, tr, nullptr).model;
    const std::uint32_t item = 1;
    const float value = 4.0f;
    try {
        e.fold_in_user(&item, &value, 1, 0.0, -1);
        FAIL("fold-in on the embedding form");
    } catch (const Error& err) {
        CHECK(err.status() == SIMDMF_ERR_UNSUPPORTED);
    }
}

TEST_CASE("ncf rows form: neumf_from pretrained rows-form GMF + MLP; the forms do not mix") {
    auto [tr, te] = planted(false, 9);
    TrainOptions o = rows_options(ModelKind::gmf);
    o.epochs = 2;
    o.ncf.link = 1;
    const Pretrained pre = pretrained_neumf(o, tr, 0.3);
    const NCFModel& g = pre.gmf;
    const NCFModel& n = pre.neumf;
    REQUIRE(n.shape.rows);
    o.model = ModelKind::neumf;
    const NcfTrainResult r = train_ncf(o, tr, nullptr, {}, &n);
    CHECK(r.status == SIMDMF_OK);
    CHECK(r.history.back().train_loss <= r.history.front().train_loss * 1.01);
    TrainOptions e = ncf_options(ModelKind::mlp);
    e.epochs = 1;
    const NCFModel pe = train_ncf(e, tr, nullptr).model;
    CHECK_THROWS_WITH(neumf_from(g, pe, 0.5), doctest::Contains("input forms"));
}
