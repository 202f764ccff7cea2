// Internal interface between train() and the solvers.
#pragma once
#include <chrono>
#include <cstdint>
#include <limits>

#include "solvers/grid.hpp"
#include "solvers/trainer.hpp"

namespace simdmf {

// Bookkeeping after each epoch, shared by every solver: learning curve, callback, divergence check,
// tolerance and patience rules, the best model for restore_best.
class EpochControl {
public:
    EpochControl(const TrainOptions& opt, const Ratings* valid, const EpochCallback& cb, TrainResult& res);
    // Takes the epoch-0 snapshot of the initialised model (train() calls it before the solver).
    void begin(const MFModel& m);
    // Records the epoch; returns false when training must stop. Non-finite loss or factors stop
    // training with status SIMDMF_ERR_DIVERGED (nothing thrown, the epoch is not recorded); otherwise,
    // with opt.snapshot, the parameters are copied as the last good epoch's.
    bool after_epoch(std::uint32_t epoch, double train_loss, double lr, const MFModel& m);
    // Sets the stop reason; after an early stop with restore_best, the best epoch's model; after a
    // divergence, the last good snapshot (returns false when there is none to restore).
    bool finish(MFModel& m);
    double seconds() const;

private:
    const TrainOptions& opt_;
    const Ratings* valid_;
    const EpochCallback& cb_;
    TrainResult& res_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    double best_ = std::numeric_limits<double>::infinity();
    std::uint32_t since_best_ = 0;
    bool has_best_ = false;
    MFModel best_model_;
    struct Snapshot {
        ParamArray P, Q, bu, bi;
        std::uint32_t epoch = 0;
        bool valid = false;
    } snap_;
    void take_snapshot(const MFModel& m, std::uint32_t epoch);
};

bool finite_model(const MFModel& m);

// The SGD solver (sgd.cpp). make_grid copies the ratings once into the solver's blocked order (with
// `consume`, the same object as `train`, it releases the caller's arrays while copying, so the peak
// holds about one copy of the ratings, and leaves them empty); train_sgd then runs epochs of fused
// updates over that grid on an initialised model (several attempts may share one grid).
RatingGrid make_grid(const TrainOptions& opt, const Ratings& train, Ratings* consume);
void train_sgd(const TrainOptions& opt, RatingGrid& grid, MFModel& m, EpochControl& ctl);
// Worker threads the SGD solver starts for opt.threads (0: every hardware thread): at most the
// hardware thread count, since threads beyond the cores only wait for blocks and for each other
// (issue 10, item 11), unless the environment has SIMDMF_OVERSUBSCRIBE=1; `hw` stands for
// std::thread::hardware_concurrency() (0: unknown, taken as 1). The grid's side caps it again.
std::uint32_t sgd_workers(std::uint32_t threads, unsigned hw);

// The ALS solver (als.cpp): sweeps of exact per-row solves, users then items, on an initialised model.
void train_als(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl);

}  // namespace simdmf
