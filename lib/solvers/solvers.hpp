// Internal interface between train() and the solvers.
#pragma once
#include <cstdint>

#include "solvers/epoch_control.hpp"
#include "solvers/grid.hpp"
#include "solvers/trainer.hpp"

namespace simdmf {

// The GD solver (gd.cpp): full-batch steps on the exact objective, for small dense problems.
void train_gd(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl);

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
// Implicit-feedback ALS (ials.cpp, loss implicit): sweeps of weighted row solves over every cell.
void train_ials(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl);

// The implicit-feedback solvers (implicit.cpp): BPR and logistic MF with sampled negatives, on the
// positive events (value > 0) of `train`, on an initialised model.
bool implicit_solver(Solver s);
void train_implicit(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl);

}  // namespace simdmf
