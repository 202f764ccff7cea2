#include "cli_common.hpp"

#include <cmath>
#include <fstream>

#include "fileio.hpp"
#include "metrics.hpp"

namespace simdmf::cli {

EpochCallback progress_printer(const Output& out, const char* valid_name) {
    if (out.quiet) return {};
    std::string vname = valid_name ? valid_name : "valid";
    return [vname](const EpochInfo& e) {
        const double per_epoch = e.elapsed_seconds / e.epoch;
        const double eta = per_epoch * (e.max_epochs - e.epoch);
        std::fprintf(stderr, "  epoch %4u/%-4u  train loss %.4f", e.epoch, e.max_epochs, e.train_loss);
        if (!std::isnan(e.valid_metric)) std::fprintf(stderr, "  %s %.4f", vname.c_str(), e.valid_metric);
        std::fprintf(stderr, "  lr %.4g  %.2fs  ETA %.2fs\n", e.learning_rate, e.elapsed_seconds, eta);
        return true;
    };
}

Ratings load_ratings(const std::string& path, io::LoadOptions opt, const Output& out, const char* role) {
    io::LoadReport rep;
    Ratings r = io::load(path, opt, &rep);
    if (!out.quiet) {
        std::fprintf(stderr, "%s: %s: %llu ratings, %u users, %u items", role, path.c_str(),
                     static_cast<unsigned long long>(r.size()), r.n_users, r.n_items);
        if (rep.skipped) std::fprintf(stderr, ", %llu malformed lines skipped", static_cast<unsigned long long>(rep.skipped));
        std::fprintf(stderr, "\n");
        for (const auto& e : rep.errors) std::fprintf(stderr, "  skipped: %s\n", e.c_str());
    }
    return r;
}

nlohmann::json evaluate(const Model& m, const Ratings& test) {
    nlohmann::json j;
    j["ratings"] = test.size();
    if (test.empty()) return j;
    std::vector<float> pred = m.predict_pairs(test);
    if (m.kind == ModelKind::logistic) {
        j["log_loss"] = metrics::log_loss(pred.data(), test.value.data(), test.size());
        j["auc"] = metrics::auc(pred.data(), test.value.data(), test.size());
        j["accuracy"] = metrics::accuracy(pred.data(), test.value.data(), test.size());
    } else {
        j["rmse"] = metrics::rmse(pred.data(), test.value.data(), test.size());
        j["mae"] = metrics::mae(pred.data(), test.value.data(), test.size());
    }
    return j;
}

void write_curve(const std::vector<EpochInfo>& history, const std::string& path) {
    std::string text = "epoch,train_loss,valid_metric,learning_rate,elapsed_seconds\n";
    char line[256];
    for (const auto& e : history) {
        std::snprintf(line, sizeof line, "%u,%.9g,%.9g,%.9g,%.6f\n", e.epoch, e.train_loss, e.valid_metric,
                      e.learning_rate, e.elapsed_seconds);
        text += line;
    }
    atomic_write_file(path, text.data(), text.size());
}

std::string raw_user(const Model& m, std::uint32_t u) {
    return std::to_string(m.user_ids ? m.user_ids->raw(u) : std::int64_t(u));
}
std::string raw_item(const Model& m, std::uint32_t i) {
    return std::to_string(m.item_ids ? m.item_ids->raw(i) : std::int64_t(i));
}

}  // namespace simdmf::cli
