// Bookkeeping after each epoch, shared by every solver and every model kind: the learning curve, the
// callback, the divergence check, the tolerance and patience rules, the best epoch for restore_best
// and the last good epoch's snapshot. It sees the model only through the interface (lib/models/
// model.hpp): its parameter views and its score bound, never a kind's field names.
#pragma once
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "models/model.hpp"
#include "serve/seen.hpp"
#include "solvers/trainer.hpp"

namespace simdmf {

// A copy of a model's parameter arrays (Model::params order), restored by swapping them back in.
class ParamSnapshot {
public:
    // Copies every array (assign reuses the buffers after the first time: no reallocation).
    void take(const Model& m, std::uint32_t epoch);
    // Swaps the copies into m (whose arrays have the same names and sizes). The snapshot is then spent.
    void restore_into(Model& m);
    bool valid() const { return valid_; }
    std::uint32_t epoch() const { return epoch_; }

private:
    std::vector<ParamArray> arrays_;
    std::uint32_t epoch_ = 0;
    bool valid_ = false;
};

// Whether the model predicts finite values for every pair: every parameter finite and the model's
// bound on |score| (Model::score_bound) below the point where a float score could overflow.
bool predicts_finite(const Model& m);

// The validation metric of the implicit-feedback models (bpr, lmf-neg, iALS): 1 - NDCG@10 of each
// validation user's top 10 over every item not in the user's training events (ties to the smaller item),
// for at most kRankValidUsers validation users (a seeded choice when there are more), so that it costs
// at most that many full rankings an epoch. Lower is better.
class RankValidation {
public:
    static constexpr std::size_t kRankValidUsers = 2000;
    RankValidation(const Ratings& train, const Ratings& valid, unsigned threads);
    double operator()(const Model& m) const;

private:
    SeenItems seen_;
    std::vector<std::uint32_t> users_;
    std::vector<std::vector<std::uint32_t>> relevant_;  // per entry of users_
    unsigned threads_;
};

class EpochControl {
public:
    // train: the training data, for the implicit models' ranking validation (items seen in it are not
    // candidates); may be null otherwise.
    EpochControl(const TrainOptions& opt, const Ratings* valid, const EpochCallback& cb, RunRecord& res,
                 const Ratings* train = nullptr);
    // Takes the epoch-0 snapshot of the initialised model (train() calls it before the solver).
    void begin(const Model& m);
    // Records the epoch; returns false when training must stop. A non-finite loss, or a model that
    // would predict a non-finite value (predicts_finite), stops training with SIMDMF_ERR_DIVERGED
    // (nothing thrown, the epoch is not recorded, nor kept as the best or the last good one);
    // otherwise, with opt.snapshot, the parameters are copied as the last good epoch's (but for the
    // last epoch, after which no epoch can diverge).
    bool after_epoch(std::uint32_t epoch, double train_loss, double lr, const Model& m);
    // Sets the stop reason; after an early stop with restore_best, the best epoch's parameters; after a
    // divergence, the last good snapshot (returns false when there is none to restore).
    bool finish(Model& m);
    double seconds() const;

private:
    const TrainOptions& opt_;
    const Ratings* valid_;
    const EpochCallback& cb_;
    RunRecord& res_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    double best_ = std::numeric_limits<double>::infinity();
    std::uint32_t since_best_ = 0;
    ParamSnapshot best_params_, last_good_;
    std::unique_ptr<RankValidation> rank_;  // implicit models with validation data
};

}  // namespace simdmf
