// The progress-callback adapter (see progress.hpp).
#include "progress.hpp"

#include <chrono>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "common.hpp"

namespace simdmf {

simdmf_epoch_info to_c(const EpochInfo& e) {
    simdmf_epoch_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof(simdmf_epoch_info);
    info.epoch = e.epoch;
    info.max_epochs = e.max_epochs;
    info.train_loss = e.train_loss;
    info.valid_metric = e.valid_metric;
    info.learning_rate = e.learning_rate;
    info.elapsed_seconds = e.elapsed_seconds;
    return info;
}

EpochCallback CProgress::epochs() const {
    if (!fn) return {};
    return [fn = fn, user = user_data](const EpochInfo& e) {
        const simdmf_epoch_info info = to_c(e);
        return fn(&info, user) == 0;
    };
}

std::function<bool(unsigned, const EpochInfo&)> CProgress::fold_epochs() const {
    if (!fn) return {};
    EpochCallback each = epochs();
    return [each](unsigned, const EpochInfo& e) { return each(e); };
}

tune::TrialCallback CProgress::trials() const {
    if (!fn) return {};
    // tune::search calls this under its lock, never concurrently: `stopped` needs no lock of its own.
    auto stopped = std::make_shared<bool>(false);
    const auto start = std::chrono::steady_clock::now();
    return [fn = fn, user = user_data, stopped, start](std::size_t done, std::size_t total, const tune::Trial& trial) {
        if (*stopped) return;  // a run that was in progress when the callback said stop
        simdmf_epoch_info info;
        std::memset(&info, 0, sizeof info);
        info.struct_size = sizeof(simdmf_epoch_info);
        info.epoch = static_cast<std::uint32_t>(done);
        info.max_epochs = static_cast<std::uint32_t>(total);
        info.train_loss = std::numeric_limits<double>::quiet_NaN();
        info.valid_metric = trial.score;
        info.learning_rate = trial.lr;
        info.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (fn(&info, user) != 0) {
            *stopped = true;
            // Unwinds out of tune::search (parallel_for stops handing out runs, rethrows).
            fail(SIMDMF_CANCELLED, "tuning cancelled by the progress callback after " + std::to_string(done) + " of " +
                                       std::to_string(total) + " runs");
        }
    };
}

}  // namespace simdmf
