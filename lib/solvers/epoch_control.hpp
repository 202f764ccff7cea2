// Bookkeeping after each epoch, shared by every solver and every model kind: the learning curve, the
// callback, the divergence check, the tolerance and patience rules, the best epoch for restore_best
// and the last good epoch's snapshot. It sees the model only through the interface (lib/models/
// model.hpp): its parameter views and its score bound, never a kind's field names.
#pragma once
#include <chrono>
#include <cstdint>
#include <limits>
#include <vector>

#include "models/model.hpp"
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

class EpochControl {
public:
    EpochControl(const TrainOptions& opt, const Ratings* valid, const EpochCallback& cb, TrainResult& res);
    // Takes the epoch-0 snapshot of the initialised model (train() calls it before the solver).
    void begin(const Model& m);
    // Records the epoch; returns false when training must stop. A non-finite loss, or a model that
    // would predict a non-finite value (predicts_finite), stops training with SIMDMF_ERR_DIVERGED
    // (nothing thrown, the epoch is not recorded, nor kept as the best or the last good one);
    // otherwise, with opt.snapshot, the parameters are copied as the last good epoch's.
    bool after_epoch(std::uint32_t epoch, double train_loss, double lr, const Model& m);
    // Sets the stop reason; after an early stop with restore_best, the best epoch's parameters; after a
    // divergence, the last good snapshot (returns false when there is none to restore).
    bool finish(Model& m);
    double seconds() const;

private:
    const TrainOptions& opt_;
    const Ratings* valid_;
    const EpochCallback& cb_;
    TrainResult& res_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    double best_ = std::numeric_limits<double>::infinity();
    std::uint32_t since_best_ = 0;
    ParamSnapshot best_params_, last_good_;
};

}  // namespace simdmf
