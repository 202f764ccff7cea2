// EpochControl and the parameter snapshots it keeps (see epoch_control.hpp).
#include "solvers/epoch_control.hpp"
#include "solvers/solvers.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "rng.hpp"
#include "serve/serve.hpp"
#include "task_pool.hpp"

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

RankValidation::RankValidation(const Ratings& train, const Ratings& valid, unsigned threads)
    : seen_(train), threads_(threads) {
    std::vector<std::uint32_t> users;
    for (std::size_t j = 0; j < valid.size(); ++j)
        if (valid.value[j] > 0.0f) users.push_back(valid.user[j]);
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
    if (users.size() > kRankValidUsers) {
        Rng rng(0x52414E4Bull);
        rng.shuffle(users.data(), users.size());
        users.resize(kRankValidUsers);
        std::sort(users.begin(), users.end());
    }
    users_ = users;
    relevant_.resize(users_.size());
    for (std::size_t j = 0; j < valid.size(); ++j) {
        if (!(valid.value[j] > 0.0f)) continue;
        const auto it = std::lower_bound(users_.begin(), users_.end(), valid.user[j]);
        if (it != users_.end() && *it == valid.user[j]) relevant_[std::size_t(it - users_.begin())].push_back(valid.item[j]);
    }
    for (auto& rel : relevant_) {  // sorted, distinct: membership by binary search
        std::sort(rel.begin(), rel.end());
        rel.erase(std::unique(rel.begin(), rel.end()), rel.end());
    }
}

double RankValidation::operator()(const Model& m) const {
    constexpr std::size_t k = 10;
    std::vector<std::vector<std::uint32_t>> rec(users_.size());
    parallel_for(users_.size(), threads_, [&](std::size_t j) {
        const std::uint32_t u = users_[j];
        if (u >= m.n_users) return;  // a user unknown to training: an empty list (no hit)
        for (const auto& [item, score] : serve::recommend(m, u, k, seen_.of(u))) rec[j].push_back(item);
    });
    if (users_.empty()) return std::numeric_limits<double>::quiet_NaN();
    // Binary-relevance NDCG@k as metrics::ranking_at_k defines it (computed here: eval stands above solvers).
    double sum = 0.0;
    for (std::size_t j = 0; j < users_.size(); ++j) {
        const auto& rel = relevant_[j];
        double dcg = 0.0, ideal = 0.0;
        for (std::size_t p = 0; p < rec[j].size() && p < k; ++p)
            if (std::binary_search(rel.begin(), rel.end(), rec[j][p])) dcg += 1.0 / std::log2(double(p) + 2.0);
        for (std::size_t p = 0; p < rel.size() && p < k; ++p) ideal += 1.0 / std::log2(double(p) + 2.0);
        sum += dcg / ideal;
    }
    return 1.0 - sum / static_cast<double>(users_.size());
}

EpochControl::EpochControl(const TrainOptions& opt, const Ratings* valid, const EpochCallback& cb, RunRecord& res,
                           const Ratings* train)
    : opt_(opt), valid_(valid), cb_(cb), res_(res) {
    if (valid && train && (implicit_solver(opt.solver) || opt.implicit_loss()))
        rank_ = std::make_unique<RankValidation>(*train, *valid, opt.threads);
}

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
                        : rank_ ? (*rank_)(m)
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
    // The last epoch's copy is never restored (no epoch follows that could diverge): not taken, which
    // saves one copy of the model a run (issue 11's set-up budget).
    if (opt_.snapshot && epoch < info.max_epochs) last_good_.take(m, epoch);
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
