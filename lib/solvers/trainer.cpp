// The solvers. SGD visits the training ratings in a seeded random order each epoch and applies one
// fused kernel per rating; GD takes exact full-batch gradient steps on the same objective.
#include "solvers/trainer.hpp"

#include <algorithm>
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
    const bool logistic = opt.logistic();
    if (opt.min_rating > opt.max_rating)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "min_rating " + std::to_string(opt.min_rating) + " > max_rating " +
                                          std::to_string(opt.max_rating));
    if (train.empty()) fail(SIMDMF_ERR_INVALID_DATA, "the training set has no ratings");
    train.validate(logistic);
    check_range(opt, train, "training");
    if (valid) {
        valid->validate(logistic);
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

DataShape shape_of(const TrainOptions& opt, const Ratings& train) {
    DataShape d{train.n_users, train.n_items, train.user_ids, train.item_ids, 0.0f};
    if (opt.logistic()) {
        double pos = 0;
        for (float v : train.value) pos += v > 0.0f;
        double rate = std::clamp(pos / static_cast<double>(train.size()), 1e-4, 1.0 - 1e-4);
        d.mu = static_cast<float>(std::log(rate / (1.0 - rate)));
    } else {
        d.mu = static_cast<float>(train.mean_value());
        const auto [lo, hi] = std::minmax_element(train.value.begin(), train.value.end());
        d.min_value = *lo;
        d.max_value = *hi;
        // The spread SGD normalises by (issue 10, item 16): around the mean with biases, else around 0.
        if (opt.normalize && opt.solver == Solver::sgd && !opt.adagrad) {
            const double c = opt.biases ? train.mean_value() : 0.0;
            double ss = 0;
            for (float v : train.value) ss += (v - c) * (v - c);
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
    m.allocate(opt.loss, opt.k, train.n_users, train.n_items, opt.biases);
    m.user_ids = train.user_ids;
    m.item_ids = train.item_ids;
    if (m.biases) m.mu = train.mu;
    if (!opt.logistic() && opt.clip_predictions) {
        // The declared range where declared (an infinite bound would be no bound), else the data's.
        m.min_pred = std::isfinite(opt.min_rating) ? static_cast<float>(opt.min_rating) : train.min_value;
        m.max_pred = std::isfinite(opt.max_rating) ? static_cast<float>(opt.max_rating) : train.max_value;
    }
    // N(0, init_std^2 / k): the expected row norm is init_std whatever k is.
    Rng rng(opt.seed);
    const double sd = opt.init_std * std::sqrt(opt.rating_scale) / std::sqrt(static_cast<double>(opt.k));
    for (std::uint32_t u = 0; u < m.n_users; ++u) {
        float* p = m.user_row(u);
        for (std::uint32_t f = 0; f < m.k; ++f) p[f] = static_cast<float>(rng.normal() * sd);
    }
    for (std::uint32_t i = 0; i < m.n_items; ++i) {
        float* q = m.item_row(i);
        for (std::uint32_t f = 0; f < m.k; ++f) q[f] = static_cast<float>(rng.normal() * sd);
    }
}

}  // namespace

bool finite_model(const MFModel& m) {
    auto ok = [](const auto& v) {
        for (float x : v)
            if (!std::isfinite(x)) return false;
        return true;
    };
    return ok(m.P) && ok(m.Q) && ok(m.bu) && ok(m.bi);
}

namespace {

double eval_objective(const MFModel& m, const Ratings& r, double l2, double l2b, Gradient* g, double* data_loss) {
    const auto& kt = kernels::active();
    const double n = static_cast<double>(r.size());
    if (g) {
        g->P.assign(m.P.size(), 0.0f);
        g->Q.assign(m.Q.size(), 0.0f);
        g->bu.assign(m.bu.size(), 0.0f);
        g->bi.assign(m.bi.size(), 0.0f);
    }
    double data = 0.0, reg = 0.0;
    for (std::size_t j = 0; j < r.size(); ++j) {
        const std::uint32_t u = r.user[j], i = r.item[j];
        const float* p = m.user_row(u);
        const float* q = m.item_row(i);
        const double s = m.score(u, i);
        const double e = m.objective.residual(r.value[j], s);  // -dloss/ds
        data += m.objective.term(r.value[j], s);
        const double pp = kt.dot(p, p, m.stride), qq = kt.dot(q, q, m.stride);
        reg += 0.5 * l2 * (pp + qq);
        if (m.biases) reg += 0.5 * l2b * (double(m.bu[u]) * m.bu[u] + double(m.bi[i]) * m.bi[i]);
        if (g) {
            float* gp = g->P.data() + std::size_t(u) * m.stride;
            float* gq = g->Q.data() + std::size_t(i) * m.stride;
            kt.axpy(m.stride, static_cast<float>(-e / n), q, gp);
            kt.axpy(m.stride, static_cast<float>(l2 / n), p, gp);
            kt.axpy(m.stride, static_cast<float>(-e / n), p, gq);
            kt.axpy(m.stride, static_cast<float>(l2 / n), q, gq);
            if (m.biases) {
                g->bu[u] += static_cast<float>((-e + l2b * m.bu[u]) / n);
                g->bi[i] += static_cast<float>((-e + l2b * m.bi[i]) / n);
            }
        }
    }
    if (data_loss) *data_loss = (m.logistic() ? data : 2.0 * data) / n;  // as curve_loss reports it
    return (data + reg) / n;
}

void train_gd(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl) {
    Gradient g;
    double data_loss = 0;
    double J = eval_objective(m, train, opt.l2, opt.l2_bias, &g, &data_loss);
    double scale = 1.0;  // halved whenever a step would increase the objective
    const std::uint32_t epochs = opt.effective_epochs();
    MFModel trial;
    for (std::uint32_t e = 0; e < epochs; ++e) {
        const double lr = opt.lr_at(e) * scale;
        trial = m;
        const auto& kt = kernels::active();
        kt.axpy(trial.P.size(), static_cast<float>(-lr), g.P.data(), trial.P.data());
        kt.axpy(trial.Q.size(), static_cast<float>(-lr), g.Q.data(), trial.Q.data());
        for (std::size_t u = 0; u < trial.bu.size(); ++u) trial.bu[u] -= static_cast<float>(lr * g.bu[u]);
        for (std::size_t i = 0; i < trial.bi.size(); ++i) trial.bi[i] -= static_cast<float>(lr * g.bi[i]);
        Gradient g2;
        double loss2 = 0;
        const double J2 = eval_objective(trial, train, opt.l2, opt.l2_bias, &g2, &loss2);
        if (std::isfinite(J2) && J2 <= J) {
            std::swap(m, trial);
            g = std::move(g2);
            J = J2;
            data_loss = loss2;
        } else {
            scale *= 0.5;  // reject the step
        }
        if (!ctl.after_epoch(e + 1, data_loss, lr, m)) return;
    }
}

}  // namespace

EpochControl::EpochControl(const TrainOptions& opt, const Ratings* valid, const EpochCallback& cb, TrainResult& res)
    : opt_(opt), valid_(valid), cb_(cb), res_(res) {}

double EpochControl::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void EpochControl::take_snapshot(const MFModel& m, std::uint32_t epoch) {
    // assign() reuses the buffers after the first epoch: one copy of the parameters, no reallocation.
    snap_.P.assign(m.P.begin(), m.P.end());
    snap_.Q.assign(m.Q.begin(), m.Q.end());
    snap_.bu.assign(m.bu.begin(), m.bu.end());
    snap_.bi.assign(m.bi.begin(), m.bi.end());
    snap_.epoch = epoch;
    snap_.valid = true;
}

void EpochControl::begin(const MFModel& m) {
    if (opt_.snapshot) take_snapshot(m, 0);
}

bool EpochControl::after_epoch(std::uint32_t epoch, double train_loss, double lr, const MFModel& m) {
    if (!std::isfinite(train_loss) || !finite_model(m)) {
        res_.status = SIMDMF_ERR_DIVERGED;
        res_.stop_reason = "diverged";
        res_.diverged_epoch = epoch;
        res_.message = "training diverged in epoch " + std::to_string(epoch) + " at learning rate " +
                       std::to_string(lr) + " (non-finite loss or factors)";
        return false;
    }
    EpochInfo info;
    info.epoch = epoch;
    info.max_epochs = opt_.effective_epochs();
    info.train_loss = train_loss;
    info.valid_metric = valid_ ? valid_metric(m, *valid_) : std::numeric_limits<double>::quiet_NaN();
    info.learning_rate = lr;
    info.elapsed_seconds = seconds();
    res_.history.push_back(info);
    if (cb_ && !cb_(info)) {
        res_.status = SIMDMF_CANCELLED;
        res_.stop_reason = "cancelled";
        return false;
    }
    if (opt_.tol > 0 && train_loss < opt_.tol) {
        res_.stop_reason = "tolerance";
        return false;
    }
    if (valid_ && opt_.patience > 0) {
        if (info.valid_metric < best_) {
            best_ = info.valid_metric;
            since_best_ = 0;
            if (opt_.restore_best) best_model_ = m;
            has_best_ = true;
        } else if (++since_best_ >= opt_.patience) {
            res_.stop_reason = "early stop";
            return false;
        }
    }
    if (opt_.snapshot) take_snapshot(m, epoch);
    return true;
}

bool EpochControl::finish(MFModel& m) {
    if (res_.stop_reason.empty()) res_.stop_reason = "max epochs";
    if (has_best_ && opt_.restore_best && res_.stop_reason == "early stop") m = std::move(best_model_);
    if (res_.status == SIMDMF_ERR_DIVERGED) {
        if (!snap_.valid) return false;
        std::swap(m.P, snap_.P);
        std::swap(m.Q, snap_.Q);
        std::swap(m.bu, snap_.bu);
        std::swap(m.bi, snap_.bi);
        res_.message += snap_.epoch ? "; the model is epoch " + std::to_string(snap_.epoch) + "'s, the last good one"
                                    : "; the model is the initial one (no epoch completed cleanly)";
    }
    return true;
}

namespace {
// grid: the SGD solver's copy of the ratings (null for GD, which reads `train`).
TrainResult train_once(const TrainOptions& opt, const DataShape& shape, const Ratings& train, RatingGrid* grid,
                       const Ratings* valid, const EpochCallback& callback) {
    TrainResult res;
    init_model(res.model, opt, shape);
    EpochControl ctl(opt, valid, callback, res);
    ctl.begin(res.model);
    if (opt.solver == Solver::gd) train_gd(opt, train, res.model, ctl);
    else if (opt.solver == Solver::als) train_als(opt, train, res.model, ctl);
    else train_sgd(opt, *grid, res.model, ctl);
    if (!ctl.finish(res.model)) {
        // No snapshot kept (snapshot = 0): hand back the initial model, re-created from the seed.
        init_model(res.model, opt, shape);
        res.message += "; the model is the initial one (snapshot off)";
    }
    return res;
}

TrainResult train_impl(const TrainOptions& opt, const Ratings& train, Ratings* consume, const Ratings* valid,
                       const EpochCallback& callback) {
    check_inputs(opt, train, valid);
    const DataShape shape = shape_of(opt, train);
    MFModel::check_fits(opt.k, shape.n_users, shape.n_items, opt.biases);  // before the grid's memory
    std::optional<RatingGrid> grid;
    if (opt.solver == Solver::sgd) grid.emplace(make_grid(opt, train, consume));
    TrainOptions o = opt;
    o.rating_scale = shape.scale;
    for (std::uint32_t attempt = 0;; ++attempt) {
        TrainResult res = train_once(o, shape, train, grid ? &*grid : nullptr, valid, callback);
        res.retries = attempt;
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
    if (m.logistic() || r.empty()) return mean_loss(m, r);
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

double objective(const MFModel& m, const Ratings& r, double l2, double l2_bias, Gradient* grad) {
    if (r.empty()) fail(SIMDMF_ERR_INVALID_DATA, "objective of an empty data set");
    return eval_objective(m, r, l2, l2_bias, grad, nullptr);
}

}  // namespace simdmf
