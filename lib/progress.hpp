// The progress-callback adapter: one C callback (simdmf_progress_fn + user data, as simdmf.h describes
// it) turned into the core's callbacks for training, cross-validation and tuning.
#pragma once
#include <functional>

#include "simdmf/simdmf.h"
#include "eval/tune.hpp"
#include "solvers/trainer.hpp"

namespace simdmf {

// The C view of an epoch (struct_size set, every other field copied).
simdmf_epoch_info to_c(const EpochInfo& e);

struct CProgress {
    simdmf_progress_fn fn = nullptr;  // null: no callback, every adapter below is empty
    void* user_data = nullptr;

    // Training: called after every epoch; the callback's non-zero return stops training.
    EpochCallback epochs() const;
    // Cross-validation: the same per fold (the fold number is not passed on).
    std::function<bool(unsigned fold, const EpochInfo&)> fold_epochs() const;
    // Tuning: called after every finished run with epoch = runs done, max_epochs = runs planned,
    // train_loss NaN, valid_metric = the run's score, learning_rate = its lr, elapsed since this call.
    // A non-zero return throws Error(SIMDMF_CANCELLED) naming the runs done; runs still finishing
    // afterwards are not reported.
    tune::TrialCallback trials() const;
};

}  // namespace simdmf
