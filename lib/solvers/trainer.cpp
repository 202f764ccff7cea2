// train(): checks the data and options, initialises the model, runs the chosen solver (sgd.cpp,
// gd.cpp) under EpochControl (epoch_control.cpp), retries a diverged run at a halved rate; and the
// model-generic losses (mean_loss, valid_metric) over the Model interface.
#include "solvers/trainer.hpp"

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "kernels/kernels.hpp"
#include "rng.hpp"
#include "solvers/solvers.hpp"

namespace simdmf {

namespace {

void check_range(const TrainOptions& opt, const Ratings& r, const char* what) {
    if (opt.min_rating == -HUGE_VAL && opt.max_rating == HUGE_VAL) return;
    for (std::size_t k = 0; k < r.size(); ++k) {
        const double v = r.value[k];
        if (v < opt.min_rating || v > opt.max_rating)
            fail(SIMDMF_ERR_INVALID_DATA, std::string(what) + " rating " + std::to_string(k) + " = " +
                                              std::to_string(v) + " is outside the declared range [" +
                                              std::to_string(opt.min_rating) + ", " +
                                              std::to_string(opt.max_rating) + "]");
    }
}

void check_inputs(const TrainOptions& opt, const Ratings& train, const Ratings* valid) {
    if (opt.model != ModelKind::mf)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("train() trains MF models; model ") + model_kind_name(opt.model) +
                                              " is trained by train_ncf (lib/solvers/ncf_train.hpp)");
    const bool logistic = opt.logistic();
    if (opt.min_rating > opt.max_rating)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "min_rating " + std::to_string(opt.min_rating) + " > max_rating " +
                                          std::to_string(opt.max_rating));
    if (train.empty()) fail(SIMDMF_ERR_INVALID_DATA, "the training set has no ratings");
    // The implicit solvers read events (value > 0 positive), not labels.
    const bool labels = logistic && !implicit_solver(opt.solver);
    // SGD: the grid's first pass over the indices checks them (RatingGrid), so validate() does not.
    train.validate(labels, /*ids=*/opt.solver != Solver::sgd);
    if (opt.implicit_loss()) {
        if (opt.solver != Solver::als)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "loss implicit trains with solver als only (iALS)");
        for (const Ratings* r : {&train, valid})
            if (r)
                for (std::size_t k = 0; k < r->size(); ++k)
                    if (r->value[k] < 0.0f)
                        fail(SIMDMF_ERR_INVALID_DATA, std::string(r == &train ? "training" : "validation") +
                                                          " event " + std::to_string(k) + ": count " +
                                                          std::to_string(r->value[k]) +
                                                          " is negative (loss implicit reads counts >= 0)");
    }
    check_range(opt, train, "training");
    if (valid) {
        valid->validate(labels);
        check_range(opt, *valid, "validation");
        if (valid->n_users > train.n_users || valid->n_items > train.n_items)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "validation set has more users or items than the training set");
    }
}

// What initialisation needs of the training data, taken before the SGD grid may consume it.
struct DataShape {
    std::uint32_t n_users = 0, n_items = 0;
    std::shared_ptr<const IdMap> user_ids, item_ids;
    float mu = 0.0f;  // mean rating, or logit of the positive rate
    float min_value = 0.0f, max_value = 0.0f;
    double scale = 1.0;  // TrainOptions::rating_scale
};

// Sum, minimum and maximum of the values in one pass; four partial sums, so that the pass is not one
// chain of dependent adds (part of train()'s set-up, issue 11).
struct ValueStats {
    double sum = 0.0;
    float lo = 0.0f, hi = 0.0f;
};
ValueStats value_stats(const std::vector<float>& v) {
    ValueStats st;
    if (v.empty()) return st;
    double s[4] = {0, 0, 0, 0};
    float lo = v[0], hi = v[0];
    const std::size_t n = v.size(), n4 = n & ~std::size_t(3);
    for (std::size_t j = 0; j < n4; j += 4)
        for (std::size_t l = 0; l < 4; ++l) {
            s[l] += v[j + l];
            lo = std::min(lo, v[j + l]);
            hi = std::max(hi, v[j + l]);
        }
    for (std::size_t j = n4; j < n; ++j) {
        s[0] += v[j];
        lo = std::min(lo, v[j]);
        hi = std::max(hi, v[j]);
    }
    st.sum = (s[0] + s[1]) + (s[2] + s[3]);
    st.lo = lo;
    st.hi = hi;
    return st;
}

// Sum of (v - c)^2, four partial sums.
double sum_squares_about(const std::vector<float>& v, double c) {
    double s[4] = {0, 0, 0, 0};
    const std::size_t n = v.size(), n4 = n & ~std::size_t(3);
    for (std::size_t j = 0; j < n4; j += 4)
        for (std::size_t l = 0; l < 4; ++l) s[l] += (v[j + l] - c) * (v[j + l] - c);
    for (std::size_t j = n4; j < n; ++j) s[0] += (v[j] - c) * (v[j] - c);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

DataShape shape_of(const TrainOptions& opt, const Ratings& train) {
    DataShape d{train.n_users, train.n_items, train.user_ids, train.item_ids, 0.0f};
    if (opt.logistic()) {
        std::size_t pos = 0;
        for (float v : train.value) pos += v > 0.0f;
        double rate = std::clamp(static_cast<double>(pos) / static_cast<double>(train.size()), 1e-4, 1.0 - 1e-4);
        d.mu = static_cast<float>(std::log(rate / (1.0 - rate)));
    } else {
        const ValueStats st = value_stats(train.value);
        const double mean = st.sum / static_cast<double>(train.size());
        d.mu = static_cast<float>(mean);
        d.min_value = st.lo;
        d.max_value = st.hi;
        // The spread SGD normalises by (issue 10, item 16): around the mean with biases, else around 0.
        if (opt.normalize && opt.solver == Solver::sgd && opt.optimizer != Optimizer::adagrad) {
            const double c = opt.biases ? mean : 0.0;
            const double ss = sum_squares_about(train.value, c);
            const double s = std::sqrt(ss / static_cast<double>(train.size()));
            // In units of the spread the defaults were chosen on (MovieLens 1..5 ratings, sd 1.12..1.13 on
            // u1..u5.base), so those data train as before and other scales train alike.
            constexpr double kReferenceSpread = 1.125;
            if (std::isfinite(s) && s > 1e-6) d.scale = s / kReferenceSpread;
        }
    }
    return d;
}

void init_model(MFModel& m, const TrainOptions& opt, const DataShape& train) {
    m.allocate(opt.loss, opt.k, train.n_users, train.n_items, opt.biases && !opt.implicit_loss());
    m.user_ids = train.user_ids;
    m.item_ids = train.item_ids;
    if (opt.implicit_loss()) m.implicit = opt.implicit;  // fold-in's weights
    if (m.biases) m.mu = train.mu;
    if (!opt.logistic() && !opt.implicit_loss() && opt.clip_predictions) {
        // The declared range where declared (an infinite bound would be no bound), else the data's.
        m.min_pred = std::isfinite(opt.min_rating) ? static_cast<float>(opt.min_rating) : train.min_value;
        m.max_pred = std::isfinite(opt.max_rating) ? static_cast<float>(opt.max_rating) : train.max_value;
    }
    // N(0, init_std^2 / k): the expected row norm is init_std whatever k is. Drawn by the ziggurat
    // (Rng::fill_normal: the stream of Rng::normal_ziggurat, ~3 ns a draw), row by row: part of the
    // set-up budget (issue 11).
    Rng rng(opt.seed);
    const double sd = opt.init_std * std::sqrt(opt.rating_scale) / std::sqrt(static_cast<double>(opt.k));
    for (std::uint32_t u = 0; u < m.n_users; ++u) rng.fill_normal(m.user_row(u), m.k, sd);
    for (std::uint32_t i = 0; i < m.n_items; ++i) rng.fill_normal(m.item_row(i), m.k, sd);
}

}  // namespace

namespace {
// grid: the SGD solver's copy of the ratings (null for GD, which reads `train`).
TrainResult train_once(const TrainOptions& opt, const DataShape& shape, const Ratings& train, RatingGrid* grid,
                       const Ratings* valid, const EpochCallback& callback) {
    TrainResult res;
    init_model(res.model, opt, shape);
    EpochControl ctl(opt, valid, callback, res, &train);
    ctl.begin(res.model);
    if (opt.solver == Solver::gd) train_gd(opt, train, res.model, ctl);
    else if (opt.solver == Solver::als && opt.implicit_loss()) train_ials(opt, train, res.model, ctl);
    else if (opt.solver == Solver::als) train_als(opt, train, res.model, ctl);
    else if (implicit_solver(opt.solver)) train_implicit(opt, train, res.model, ctl);
    else train_sgd(opt, *grid, res.model, ctl);
    if (!ctl.finish(res.model)) {
        // No snapshot kept (snapshot = 0): hand back the initial model, re-created from the seed.
        init_model(res.model, opt, shape);
        res.message += "; the model is the initial one (snapshot off)";
    }
    return res;
}

TrainResult train_impl(const TrainOptions& opt_in, const Ratings& train, Ratings* consume, const Ratings* valid,
                       const EpochCallback& callback) {
    TrainOptions opt = opt_in;
    if (implicit_solver(opt.solver)) opt.loss = Loss::logistic;  // scores through the sigmoid, ranking items
    check_inputs(opt, train, valid);
    std::vector<std::string> warnings = data_warnings(opt, train);
    const DataShape shape = shape_of(opt, train);
    MFModel::check_fits(opt.k, shape.n_users, shape.n_items, opt.biases);  // before the grid's memory
    std::optional<RatingGrid> grid;
    if (opt.solver == Solver::sgd) grid.emplace(make_grid(opt, train, consume));
    TrainOptions o = opt;
    o.rating_scale = shape.scale;
    for (std::uint32_t attempt = 0;; ++attempt) {
        TrainResult res = train_once(o, shape, train, grid ? &*grid : nullptr, valid, callback);
        res.retries = attempt;
        res.warnings = warnings;
        res.model.train_options = opt.in_effect();
        if (res.status != SIMDMF_ERR_DIVERGED || attempt >= opt.retry_diverged || res.status == SIMDMF_CANCELLED) {
            if (res.status == SIMDMF_ERR_DIVERGED)
                res.message += attempt ? "; still diverging after " + std::to_string(attempt) +
                                             " retries at a halved learning rate"
                                       : "; lower the learning rate";
            return res;
        }
        o.lr = o.effective_lr() * 0.5;  // retry from scratch at half the rate
        for (double& v : o.lr_list) v *= 0.5;
    }
}
}  // namespace

CurveNames curve_names(const TrainOptions& opt) {
    // The implicit models are validated by ranking (RankValidation, lib/solvers/epoch_control.hpp).
    if (opt.solver == Solver::bpr) return {"bpr_loss", "BPR loss", "one_minus_ndcg10", "1 - NDCG@10"};
    if (opt.solver == Solver::lmf_neg) return {"log_loss", "log-loss", "one_minus_ndcg10", "1 - NDCG@10"};
    if (opt.loss == Loss::implicit) return {"weighted_loss", "weighted loss", "one_minus_ndcg10", "1 - NDCG@10"};
    const Objective o = Objective::for_loss(opt.loss);
    return {o.train_loss_name(), o.train_loss_label(), o.metric_name(), o.metric_label()};
}

std::vector<std::string> data_warnings(const TrainOptions& opt, const Ratings& train) {
    std::vector<std::string> out;
    // The implicit models (iALS, BPR, logistic MF with sampled negatives) take positive-only events.
    if (opt.model != ModelKind::mf || opt.loss == Loss::implicit || implicit_solver(opt.solver) || train.empty())
        return out;
    const float first = train.value[0];
    for (const float v : train.value)
        if (v != first) return out;
    char b[32];
    std::snprintf(b, sizeof b, "%g", static_cast<double>(first));
    const std::string n = std::to_string(train.size());
    if (opt.loss == Loss::logistic)
        out.push_back("all " + n + " training labels are " + (first > 0 ? "+1" : "-1") +
                      ": one class only, so the model learns to predict it for every pair and its log-loss and "
                      "accuracy say nothing about ranking; positive-only feedback (clicks, plays, check-ins) "
                      "needs negatives: sample them, or train an implicit-feedback model");
    else
        out.push_back("all " + n + " training values are " + b + ": the model can only learn to predict " + b +
                      " for every pair (a near-zero training error says nothing); for positive-only events "
                      "train an implicit-feedback model");
    return out;
}

TrainResult train(const TrainOptions& opt, const Ratings& train, const Ratings* valid, const EpochCallback& callback) {
    return train_impl(opt, train, nullptr, valid, callback);
}

TrainResult train(const TrainOptions& opt, Ratings&& train, const Ratings* valid, const EpochCallback& callback) {
    // Only the SGD solver works from its own copy; GD and ALS read the ratings.
    const bool take = opt.solver == Solver::sgd && valid != &train;
    return train_impl(opt, train, take ? &train : nullptr, valid, callback);
}

double mean_loss(const Model& m, const Ratings& r) {
    if (r.empty()) return std::numeric_limits<double>::quiet_NaN();
    double sum = 0.0;
    float s[256];
    for (std::size_t j0 = 0; j0 < r.size(); j0 += 256) {
        const std::size_t n = std::min<std::size_t>(256, r.size() - j0);
        m.score_pairs(r.user.data() + j0, r.item.data() + j0, n, s);
        for (std::size_t j = 0; j < n; ++j) sum += m.objective.curve_loss(r.value[j0 + j], s[j]);
    }
    return sum / static_cast<double>(r.size());
}

double valid_metric(const Model& m, const Ratings& r) {
    if (m.logistic() || m.objective.implicit() || r.empty()) return mean_loss(m, r);
    double sum = 0.0;  // RMSE of the predictions (clamped like predict())
    float s[256];
    for (std::size_t j0 = 0; j0 < r.size(); j0 += 256) {
        const std::size_t n = std::min<std::size_t>(256, r.size() - j0);
        m.score_pairs(r.user.data() + j0, r.item.data() + j0, n, s);
        for (std::size_t j = 0; j < n; ++j) {
            const double e = r.value[j0 + j] - m.prediction(s[j]);
            sum += e * e;
        }
    }
    return std::sqrt(sum / static_cast<double>(r.size()));
}

}  // namespace simdmf
