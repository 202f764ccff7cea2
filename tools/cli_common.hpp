// Shared pieces of the simdmf command-line tool: progress lines, data loading with a report,
// evaluation summaries, JSON output.
#pragma once
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "dataset.hpp"
#include "io/loaders.hpp"
#include "model.hpp"
#include "trainer.hpp"

namespace simdmf::cli {

struct Output {
    bool quiet = false;  // no progress lines
    bool json = false;   // results as one JSON document on stdout
};

// One line per epoch on stderr: epoch, train loss, validation metric, learning rate, elapsed, ETA.
EpochCallback progress_printer(const Output& out, const char* valid_name);

// Loads a ratings file, printing what was read (and skipped) on stderr unless quiet.
Ratings load_ratings(const std::string& path, io::LoadOptions opt, const Output& out, const char* role);

// Metrics of a model on a data set in the model's indices: rmse/mae for MF, log_loss/auc/accuracy
// for logistic.
nlohmann::json evaluate(const Model& m, const Ratings& test);

// Writes the per-epoch learning curve as CSV (epoch,train_loss,valid_metric,learning_rate,elapsed_seconds).
void write_curve(const std::vector<EpochInfo>& history, const std::string& path);

// "user item" raw id of a model's index, as text.
std::string raw_user(const Model& m, std::uint32_t u);
std::string raw_item(const Model& m, std::uint32_t i);

}  // namespace simdmf::cli
