// EpochControl and the parameter snapshots it keeps (see epoch_control.hpp).
#include "solvers/epoch_control.hpp"
#include "solvers/solvers.hpp"

#include <cfloat>
#include <cmath>
#include <string>

namespace simdmf {

void ParamSnapshot::take(const Model& m, std::uint32_t epoch) {
    const auto views = m.params();
    arrays_.resize(views.size());
    for (std::size_t j = 0; j < views.size(); ++j) arrays_[j].assign(views[j].array->begin(), views[j].array->end());
    epoch_ = epoch;
    valid_ = true;
}

void ParamSnapshot::restore_into(Model& m) {
    auto views = m.params();
    if (views.size() != arrays_.size()) fail(SIMDMF_ERR_INTERNAL, "snapshot of a model with other parameters");
    for (std::size_t j = 0; j < views.size(); ++j) swap(*views[j].array, arrays_[j]);
    valid_ = false;
}

bool predicts_finite(const Model& m) {
    // FLT_MAX / 4 leaves room for the rounding of a float dot product and the link.
    // A finite bound covers every parameter (model.hpp), so the separate finiteness pass runs only for
    // kinds that cannot bound their scores (NaN).
    const double bound = m.score_bound();
    if (std::isnan(bound)) return m.finite();
    return bound < static_cast<double>(FLT_MAX) / 4;
}

EpochControl::EpochControl(const TrainOptions& opt, const Ratings* valid, const EpochCallback& cb, TrainResult& res)
    : opt_(opt), valid_(valid), cb_(cb), res_(res) {}

double EpochControl::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void EpochControl::begin(const Model& m) {
    if (opt_.snapshot) last_good_.take(m, 0);
}

bool EpochControl::after_epoch(std::uint32_t epoch, double train_loss, double lr, const Model& m) {
    if (!std::isfinite(train_loss) || !predicts_finite(m)) {
        res_.status = SIMDMF_ERR_DIVERGED;
        res_.stop_reason = "diverged";
        res_.diverged_epoch = epoch;
        res_.message = "training diverged in epoch " + std::to_string(epoch) + " at learning rate " +
                       std::to_string(lr) +
                       (std::isfinite(train_loss) && m.finite()
                            ? " (parameters so large that the model's scores overflow)"
                            : " (non-finite loss or parameters)");
        return false;
    }
    EpochInfo info;
    info.epoch = epoch;
    info.max_epochs = opt_.effective_epochs();
    info.train_loss = train_loss;
    info.valid_metric = !valid_ ? std::numeric_limits<double>::quiet_NaN()
                        : implicit_solver(opt_.solver) ? implicit_valid_metric(m, *valid_)
                                                       : valid_metric(m, *valid_);
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
            if (opt_.restore_best) best_params_.take(m, epoch);
        } else if (++since_best_ >= opt_.patience) {
            res_.stop_reason = "early stop";
            return false;
        }
    }
    if (opt_.snapshot) last_good_.take(m, epoch);
    return true;
}

bool EpochControl::finish(Model& m) {
    if (res_.stop_reason.empty()) res_.stop_reason = "max epochs";
    if (best_params_.valid() && opt_.restore_best && res_.stop_reason == "early stop") best_params_.restore_into(m);
    if (res_.status == SIMDMF_ERR_DIVERGED) {
        if (!last_good_.valid()) return false;
        const std::uint32_t epoch = last_good_.epoch();
        last_good_.restore_into(m);
        res_.message += epoch ? "; the model is epoch " + std::to_string(epoch) + "'s, the last good one"
                              : "; the model is the initial one (no epoch completed cleanly)";
    }
    return true;
}

}  // namespace simdmf
