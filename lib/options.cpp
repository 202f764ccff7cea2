// Training options by key: one table gives each numeric key its bounds, integrality and field.
#include <cmath>
#include <cstdio>
#include <string>

#include "solvers/trainer.hpp"

namespace simdmf {

namespace {

struct NumericKey {
    const char* name;
    double lo, hi;
    bool lo_open;  // value must be > lo rather than >= lo
    bool integer;
    double (*get)(const TrainOptions&);
    void (*set)(TrainOptions&, double);
};

std::string fmt(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.17g", v);
    return b;
}

#define SIMDMF_NUM(name, lo, hi, lo_open, integer, field, type)                                      \
    NumericKey {                                                                                     \
        name, lo, hi, lo_open, integer, [](const TrainOptions& o) { return static_cast<double>(o.field); }, \
            [](TrainOptions& o, double v) { o.field = static_cast<type>(v); }                        \
    }

const NumericKey kNumeric[] = {
    SIMDMF_NUM("k", 1, 65536, false, true, k, std::uint32_t),
    SIMDMF_NUM("epochs", 1, 1e7, false, true, epochs, std::uint32_t),
    SIMDMF_NUM("lr", 0, 10, true, false, lr, double),
    SIMDMF_NUM("lr_decay", 0, 1e6, false, false, lr_decay, double),
    SIMDMF_NUM("l2", 0, 1e6, false, false, l2, double),
    SIMDMF_NUM("l2_bias", 0, 1e6, false, false, l2_bias, double),
    SIMDMF_NUM("biases", 0, 1, false, true, biases, bool),
    SIMDMF_NUM("init_std", 0, 100, false, false, init_std, double),
    SIMDMF_NUM("seed", 0, 9007199254740992.0, false, true, seed, std::uint64_t),
    SIMDMF_NUM("threads", 0, 1024, false, true, threads, std::uint32_t),
    SIMDMF_NUM("tol", 0, 1e30, false, false, tol, double),
    SIMDMF_NUM("patience", 0, 1e6, false, true, patience, std::uint32_t),
    SIMDMF_NUM("restore_best", 0, 1, false, true, restore_best, bool),
    SIMDMF_NUM("exact_loss", 0, 1, false, true, exact_loss, bool),
    SIMDMF_NUM("min_rating", -HUGE_VAL, HUGE_VAL, false, false, min_rating, double),
    SIMDMF_NUM("max_rating", -HUGE_VAL, HUGE_VAL, false, false, max_rating, double),
    SIMDMF_NUM("clip_predictions", 0, 1, false, true, clip_predictions, bool),
    SIMDMF_NUM("snapshot", 0, 1, false, true, snapshot, bool),
    SIMDMF_NUM("retry_diverged", 0, 10, false, true, retry_diverged, std::uint32_t),
    SIMDMF_NUM("deterministic", 0, 1, false, true, deterministic, bool),
    SIMDMF_NUM("adagrad", 0, 1, false, true, adagrad, bool),
    SIMDMF_NUM("grid", 0, 4096, false, true, grid, std::uint32_t),
};
#undef SIMDMF_NUM

const NumericKey* find_numeric(const std::string& key) {
    for (const auto& k : kNumeric)
        if (key == k.name) return &k;
    return nullptr;
}

bool is_string_key(const std::string& key) { return key == "loss" || key == "solver" || key == "schedule"; }

}  // namespace

void TrainOptions::set(const std::string& key, double value) {
    const NumericKey* nk = find_numeric(key);
    if (!nk) {
        if (is_string_key(key) || key == "lr_list")
            fail(SIMDMF_ERR_UNKNOWN_OPTION, "option '" + key + "' is not numeric");
        fail(SIMDMF_ERR_UNKNOWN_OPTION, "unknown option '" + key + "'");
    }
    const bool below = nk->lo_open ? !(value > nk->lo) : !(value >= nk->lo);
    if (std::isnan(value) || below || value > nk->hi)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "option '" + key + "' = " + fmt(value) + " is outside " +
                                          (nk->lo_open ? "(" : "[") + fmt(nk->lo) + ", " + fmt(nk->hi) + "]");
    if (nk->integer && value != std::floor(value))
        fail(SIMDMF_ERR_OUT_OF_RANGE, "option '" + key + "' = " + fmt(value) + " must be an integer");
    nk->set(*this, value);
}

double TrainOptions::get(const std::string& key) const {
    if (key == "epochs") return effective_epochs();
    if (key == "lr") return effective_lr();
    const NumericKey* nk = find_numeric(key);
    if (!nk) fail(SIMDMF_ERR_UNKNOWN_OPTION, "unknown numeric option '" + key + "'");
    return nk->get(*this);
}

void TrainOptions::set(const std::string& key, const std::string& value) {
    auto bad = [&](const char* allowed) {
        fail(SIMDMF_ERR_OUT_OF_RANGE, "option '" + key + "' = '" + value + "': expected " + allowed);
    };
    if (key == "loss") {
        if (value == "squared") kind = ModelKind::mf;
        else if (value == "logistic") kind = ModelKind::logistic;
        else bad("squared or logistic");
    } else if (key == "solver") {
        if (value == "sgd") solver = Solver::sgd;
        else if (value == "gd") solver = Solver::gd;
        else bad("sgd or gd");
    } else if (key == "schedule") {
        if (value == "constant") schedule = Schedule::constant;
        else if (value == "decay") schedule = Schedule::decay;
        else if (value == "list") schedule = Schedule::list;
        else bad("constant, decay or list");
    } else if (find_numeric(key) || key == "lr_list") {
        fail(SIMDMF_ERR_UNKNOWN_OPTION, "option '" + key + "' is not a string option");
    } else {
        fail(SIMDMF_ERR_UNKNOWN_OPTION, "unknown option '" + key + "'");
    }
}

std::string TrainOptions::get_string(const std::string& key) const {
    if (key == "loss") return kind == ModelKind::logistic ? "logistic" : "squared";
    if (key == "solver") return solver == Solver::gd ? "gd" : "sgd";
    if (key == "schedule")
        return schedule == Schedule::decay ? "decay" : schedule == Schedule::list ? "list" : "constant";
    fail(SIMDMF_ERR_UNKNOWN_OPTION, "unknown string option '" + key + "'");
}

void TrainOptions::set(const std::string& key, const std::vector<double>& values) {
    if (key != "lr_list") fail(SIMDMF_ERR_UNKNOWN_OPTION, "unknown array option '" + key + "'");
    if (values.empty()) fail(SIMDMF_ERR_OUT_OF_RANGE, "option 'lr_list' needs at least one value");
    for (double v : values)
        if (!(v > 0.0 && v <= 10.0))
            fail(SIMDMF_ERR_OUT_OF_RANGE, "option 'lr_list' value " + fmt(v) + " is outside (0, 10]");
    lr_list = values;
}

std::uint32_t TrainOptions::effective_epochs() const {
    if (epochs) return epochs;
    return solver == Solver::gd ? 500 : 30;
}

double TrainOptions::effective_lr() const {
    if (lr > 0) return lr;
    if (solver == Solver::gd) return 0.5;
    // Logistic gradients are bounded by 1 and start near a saddle (small factors): SGD needs a larger
    // step to leave it within the default epochs (0.01 underfits, 0.1 overfits on MovieLens-shaped data).
    return kind == ModelKind::logistic ? 0.05 : 0.01;
}

double TrainOptions::lr_at(std::uint32_t epoch0) const {
    switch (schedule) {
        case Schedule::constant: return effective_lr();
        case Schedule::decay: return effective_lr() / (1.0 + lr_decay * epoch0);
        case Schedule::list:
            if (lr_list.empty()) return effective_lr();
            return lr_list[epoch0 < lr_list.size() ? epoch0 : lr_list.size() - 1];
    }
    return effective_lr();
}

}  // namespace simdmf
