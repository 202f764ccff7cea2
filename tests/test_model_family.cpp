// The model family's interface (a model used only through Model&), and the objective's link and
// gradient against finite differences.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "models/mf.hpp"
#include "objective.hpp"
#include "optim.hpp"
#include "serve/serve.hpp"
#include "solvers/trainer.hpp"
#include "synthetic.hpp"

using namespace simdmf;

namespace {

MFModel trained(Loss loss) {
    PlantedSpec spec;
    spec.n_users = 20;
    spec.n_items = 15;
    spec.n_ratings = 140;
    Ratings r = make_planted(spec);
    if (loss == Loss::logistic) r = binarize(r, 3.5f);
    TrainOptions o;
    o.k = 4;
    o.loss = loss;
    o.epochs = 3;
    return train(o, r, nullptr).model;
}

// The MF score written out here, from the tables, as the reference.
double mf_score(const MFModel& m, std::uint32_t u, std::uint32_t i) {
    double s = m.biases ? double(m.mu) + m.bu[u] + m.bi[i] : 0.0;
    for (std::uint32_t f = 0; f < m.k; ++f) s += double(m.user_row(u)[f]) * m.item_row(i)[f];
    return s;
}

// Everything below sees the model only as Model&.
void check_through_interface(const Model& m, const MFModel& ref) {
    REQUIRE(m.n_users == ref.n_users);
    CHECK(std::string(m.kind_name()) == "mf");
    CHECK(m.abi_kind() == (ref.logistic() ? SIMDMF_MODEL_LOGISTIC : SIMDMF_MODEL_MF));
    // Pairs.
    std::vector<std::uint32_t> us, is;
    for (std::uint32_t u = 0; u < m.n_users; ++u)
        for (std::uint32_t i = 0; i < m.n_items; i += 3) us.push_back(u), is.push_back(i);
    std::vector<float> s(us.size());
    m.score_pairs(us.data(), is.data(), us.size(), s.data());
    for (std::size_t j = 0; j < s.size(); ++j) {
        CHECK(s[j] == doctest::Approx(mf_score(ref, us[j], is[j])).epsilon(1e-5));
        const double link = ref.logistic() ? 1.0 / (1.0 + std::exp(-double(s[j])))
                                           : std::clamp(double(s[j]), double(ref.min_pred), double(ref.max_pred));
        CHECK(m.predict(us[j], is[j]) == doctest::Approx(link).epsilon(1e-5));
    }
    // A block of three users x items [2, 11) with a leading dimension wider than the range.
    const std::uint32_t users[3] = {4, 0, 7};
    const std::size_t ld = 12;
    std::vector<float> block(3 * ld, -99.0f);
    m.score_block(users, 3, 2, 11, block.data(), ld);
    for (std::size_t r = 0; r < 3; ++r) {
        for (std::uint32_t i = 2; i < 11; ++i)
            CHECK(block[r * ld + (i - 2)] == doctest::Approx(mf_score(ref, users[r], i)).epsilon(1e-5));
        CHECK(block[r * ld + 9] == -99.0f);  // nothing written past the range
    }
    // A row: predictions are the link of the scores.
    std::vector<float> row(m.n_items), pred(m.n_items);
    m.score_row(3, row.data());
    m.predict_row(3, pred.data());
    for (std::uint32_t i = 0; i < m.n_items; ++i) CHECK(pred[i] == doctest::Approx(m.prediction(row[i])).epsilon(1e-6));
    // Top-N over the interface; factor views and parameter views.
    const std::vector<std::uint32_t> seen{0, 1};
    auto top = serve::recommend(m, 3, 4, seen);
    REQUIRE(top.size() == 4);
    for (const auto& [item, value] : top) CHECK(item > 1);
    const FactorView f = m.factors();
    REQUIRE(f);
    CHECK(f.P == ref.P.data());
    CHECK(f.k == ref.k);
    const auto views = m.params();
    REQUIRE(views.size() == (ref.biases ? 4u : 2u));
    CHECK(std::string(views[0].name) == "P");
    CHECK(views[0].rows * views[0].cols == ref.P.size());
    CHECK(views[1].array->data() == ref.Q.data());
    // clone() is a deep, identical copy.
    std::unique_ptr<Model> c = m.clone();
    CHECK(c->identical(m));
    CHECK(c->params()[0].array->data() != ref.P.data());
}

// A member of the family without factor tables: a bias-only model (score b_i), written in the test.
class ItemBiasModel final : public Model {
public:
    ParamArray b;
    void score_pairs(const std::uint32_t*, const std::uint32_t* items, std::size_t n, float* out) const override {
        for (std::size_t j = 0; j < n; ++j) out[j] = b[items[j]];
    }
    void score_block(const std::uint32_t*, std::size_t rows, std::uint32_t i0, std::uint32_t i1, float* out,
                     std::size_t ld) const override {
        for (std::size_t r = 0; r < rows; ++r)
            for (std::uint32_t i = i0; i < i1; ++i) out[r * ld + (i - i0)] = b[i];
    }
    std::vector<ParamView> params() override { return {{"b", &b, n_items, 1, 1}}; }
    using Model::params;
    std::unique_ptr<Model> clone() const override { return std::make_unique<ItemBiasModel>(*this); }
};

}  // namespace

TEST_CASE("an MF model used only through Model&: pairs, blocks, rows, top-N, views, clone") {
    for (Loss loss : {Loss::squared, Loss::logistic}) {
        CAPTURE(loss_name(loss));
        const MFModel m = trained(loss);
        check_through_interface(m, m);
    }
}

TEST_CASE("a model without factor tables serves top-N; similarity and fold-in are UNSUPPORTED") {
    ItemBiasModel m;
    m.n_users = 2;
    m.n_items = 5;
    m.b.assign(5, 0.0f);
    for (int i = 0; i < 5; ++i) m.b[i] = float((i * 3) % 5);  // 0 3 1 4 2
    const Model& view = m;
    const std::vector<std::uint32_t> seen{3};
    auto top = serve::recommend(view, 1, 2, seen);
    REQUIRE(top.size() == 2);
    CHECK(top[0].first == 1);
    CHECK(top[1].first == 4);
    try {
        serve::cosine(view, SIMDMF_ITEMS, 0, 1);
        FAIL("cosine on a model without factors");
    } catch (const Error& e) {
        CHECK(e.status() == SIMDMF_ERR_UNSUPPORTED);
        CHECK(std::string(e.what()).find("factor tables") != std::string::npos);
    }
    CHECK_THROWS_AS(serve::nearest(view, SIMDMF_USERS, 0, 1), Error);
    const std::uint32_t items[1] = {0};
    const float values[1] = {1.0f};
    CHECK_THROWS_AS(m.fold_in_user(items, values, 1, 0.1, 7), Error);
    CHECK(m.clone()->identical(m));
    m.b[2] = NAN;
    CHECK_FALSE(m.finite());
}

TEST_CASE("objective: link and residual agree with finite differences; logistic is sigmoid cross-entropy") {
    const Objective objectives[] = {Objective::for_loss(Loss::squared), Objective::for_loss(Loss::logistic),
                                    Objective::scaled(1.0, 5.0)};
    for (const Objective& o : objectives) {
        CAPTURE(link_name(o.link));
        for (double s : {-6.0, -1.3, -0.2, 0.0, 0.4, 2.5, 7.0}) {
            const double h = 1e-5;
            const double dlink = (o.apply_link(s + h) - o.apply_link(s - h)) / (2 * h);
            CHECK(o.link_grad(s) == doctest::Approx(dlink).epsilon(1e-6));
            for (double y : o.logistic() ? std::vector<double>{-1.0, 1.0} : std::vector<double>{1.0, 3.5, 5.0}) {
                const double dterm = (o.term(y, s + h) - o.term(y, s - h)) / (2 * h);
                CHECK(-o.residual(y, s) == doctest::Approx(dterm).epsilon(1e-6));
                CHECK(o.curve_loss(y, s) == doctest::Approx(o.logistic() ? o.term(y, s) : 2 * o.term(y, s)));
            }
        }
    }
    const Objective sc = Objective::scaled(1.0, 5.0);
    CHECK(sc.apply_link(0.0) == doctest::Approx(3.0));
    CHECK(sc.apply_link(40.0) == doctest::Approx(5.0));
    CHECK(sc.apply_link(-40.0) == doctest::Approx(1.0));
    const Objective lg = Objective::for_loss(Loss::logistic);
    CHECK(lg.term(1.0, 0.0) == doctest::Approx(std::log(2.0)));
    CHECK(lg.term(-1.0, 50.0) == doctest::Approx(50.0));  // stable far out
    CHECK(std::isfinite(lg.term(1.0, -800.0)));
    CHECK(sigmoid(-100.0f) >= 0.0f);
    CHECK(std::isnan(sigmoid(NAN)));
    CHECK(std::string(lg.metric_name()) == "log_loss");
    CHECK(default_sgd_lr(Loss::logistic) > default_sgd_lr(Loss::squared));
}

TEST_CASE("options: model and loss are two choices") {
    TrainOptions o;
    CHECK(o.get_string("model") == "mf");
    o.set("loss", std::string("logistic"));
    CHECK(o.loss == Loss::logistic);
    CHECK(o.model == ModelKind::mf);
    o.set("model", std::string("mf"));
    CHECK(o.get_string("loss") == "logistic");
    o.set("model", std::string("neumf"));  // a neural CF model keeps the loss chosen
    CHECK(o.model == ModelKind::neumf);
    CHECK(o.get_string("loss") == "logistic");
    CHECK_THROWS_AS(o.set("model", std::string("wide_and_deep")), Error);
}

TEST_CASE("optimizer: chosen by key, \"adagrad\" = 1 an alias; SGD and AdaGrad steps on a parameter array") {
    TrainOptions o;
    CHECK(o.get_string("optimizer") == "sgd");
    o.set("optimizer", std::string("adagrad"));
    CHECK(o.optimizer == Optimizer::adagrad);
    CHECK(o.get("adagrad") == 1);
    o.set("adagrad", 0);
    CHECK(o.get_string("optimizer") == "sgd");
    CHECK_THROWS_AS(o.set("optimizer", std::string("adam")), Error);

    // The same run chosen either way gives the same model, and AdaGrad is not SGD.
    PlantedSpec spec;
    spec.n_users = 30;
    spec.n_items = 20;
    spec.n_ratings = 250;
    const Ratings r = make_planted(spec);
    TrainOptions a, b, c;
    for (TrainOptions* t : {&a, &b, &c}) {
        t->k = 4;
        t->epochs = 4;
        t->lr = 0.05;
    }
    a.set("optimizer", std::string("adagrad"));
    b.set("adagrad", 1);
    const TrainResult ra = train(a, r, nullptr), rb = train(b, r, nullptr), rc = train(c, r, nullptr);
    CHECK(ra.model.identical(rb.model));
    CHECK_FALSE(ra.model.identical(rc.model));

    // Steps on an array: SGD w -= lr g; AdaGrad G = 1 + sum g^2, w -= lr g / sqrt(G).
    float w[3] = {1, 2, 3}, g[3] = {0.5f, -1, 2};
    make_optimizer(Optimizer::sgd)->step(w, g, 3, 0.1);
    CHECK(w[0] == doctest::Approx(0.95));
    CHECK(w[1] == doctest::Approx(2.1));
    auto ada = make_optimizer(Optimizer::adagrad);
    CHECK(ada->kind() == Optimizer::adagrad);
    float v[1] = {1};
    const float gv[1] = {2};
    ada->step(v, gv, 1, 0.1);  // G = 5
    CHECK(v[0] == doctest::Approx(1 - 0.1 * 2 / std::sqrt(5.0)));
    ada->step(v, gv, 1, 0.1);  // G = 9
    CHECK(v[0] == doctest::Approx(1 - 0.1 * 2 / std::sqrt(5.0) - 0.1 * 2 / 3.0));
    CHECK(std::string(optimizer_name(Optimizer::adagrad)) == "adagrad");
}
