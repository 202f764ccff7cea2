#include "eval/tune.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "common.hpp"
#include "options.hpp"
#include "rng.hpp"
#include "eval/split.hpp"
#include "task_pool.hpp"

namespace simdmf::tune {

Space Space::defaults(const TrainOptions& base) {
    options::Target t{const_cast<TrainOptions*>(&base), nullptr};  // read only
    auto values = [&](const char* key) { return options::default_case(*options::find(key), t).array; };
    Space s;
    for (double v : values("tune_k")) s.k.push_back(static_cast<std::uint32_t>(v));
    s.lr = values("tune_lr");
    s.l2 = values("tune_l2");
    for (double v : values("tune_epochs")) s.epochs.push_back(static_cast<std::uint32_t>(v));
    return s;
}

namespace {

struct Plan {
    std::uint32_t k;
    double lr, l2;
    std::vector<std::uint32_t> candidates;  // sorted epoch counts to score
};

void check_space(const TrainOptions& base, const Space& s) {
    if (s.k.empty() || s.lr.empty() || s.l2.empty() || s.epochs.empty())
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "tune: every dimension of the search space (k, lr, l2, epochs) needs a value");
    // Bounds as the options table states them: set() on a scratch copy throws OUT_OF_RANGE.
    TrainOptions probe = base;
    try {
        for (auto v : s.k) probe.set("k", v);
        for (auto v : s.lr) probe.set("lr", v);
        for (auto v : s.l2) probe.set("l2", v);
        for (auto v : s.epochs) probe.set("epochs", v);
    } catch (const Error& e) {
        fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("tune: search space: ") + e.what());
    }
}

double log_uniform(Rng& rng, double lo, double hi) {
    if (lo == hi) return lo;
    return std::exp(std::log(lo) + rng.uniform() * (std::log(hi) - std::log(lo)));
}

std::vector<Plan> make_plans(const Space& s, const Options& opt) {
    std::vector<std::uint32_t> epochs = s.epochs;
    std::sort(epochs.begin(), epochs.end());
    epochs.erase(std::unique(epochs.begin(), epochs.end()), epochs.end());
    Rng rng(opt.seed ^ 0x7475'6e65ull);
    std::vector<Plan> plans;
    if (opt.method == Method::grid) {
        for (auto k : s.k)
            for (double lr : s.lr)
                for (double l2 : s.l2) plans.push_back({k, lr, l2, epochs});
        if (opt.budget > 0 && opt.budget < plans.size()) {
            // A seeded random subset, kept in grid order.
            std::vector<std::size_t> idx(plans.size());
            for (std::size_t j = 0; j < idx.size(); ++j) idx[j] = j;
            for (std::size_t j = 0; j < opt.budget; ++j) std::swap(idx[j], idx[j + rng.below(idx.size() - j)]);
            idx.resize(opt.budget);
            std::sort(idx.begin(), idx.end());
            std::vector<Plan> sub;
            for (auto j : idx) sub.push_back(plans[j]);
            plans = std::move(sub);
        }
    } else {
        const std::size_t runs = opt.budget ? opt.budget : 20;
        const auto [lr_lo, lr_hi] = std::minmax_element(s.lr.begin(), s.lr.end());
        const auto [l2_lo, l2_hi] = std::minmax_element(s.l2.begin(), s.l2.end());
        std::vector<std::uint32_t> every(epochs.back());
        for (std::uint32_t e = 0; e < epochs.back(); ++e) every[e] = e + 1;
        for (std::size_t r = 0; r < runs; ++r) {
            Plan p;
            p.k = s.k[rng.below(s.k.size())];
            p.lr = log_uniform(rng, *lr_lo, *lr_hi);
            // l2 may include 0: sample log-uniformly above a floor of 1e-4.
            p.l2 = *l2_hi <= 0 ? 0.0 : log_uniform(rng, std::max(*l2_lo, 1e-4), *l2_hi);
            p.candidates = every;
            plans.push_back(std::move(p));
        }
    }
    return plans;
}

}  // namespace

Result search(const TrainOptions& base, const Ratings& train_data, const Space& space, const Options& opt,
              const TrialCallback& callback) {
    check_space(base, space);
    if (!(opt.valid_fraction > 0.0 && opt.valid_fraction < 1.0))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "tune: the validation fraction must be in (0, 1)");
    // Named references, not a structured binding: clang 14 cannot capture bindings in the lambda below.
    auto fit_valid = split::random(train_data, opt.valid_fraction, opt.seed);
    Ratings& fit = fit_valid.first;
    Ratings& valid = fit_valid.second;
    if (fit.empty() || valid.empty())
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "tune: too few ratings for a validation split");
    const std::vector<Plan> plans = make_plans(space, opt);

    Result res;
    res.metric = base.kind == ModelKind::logistic ? "log_loss" : "rmse";
    res.train_size = fit.size();
    res.valid_size = valid.size();
    res.trials.resize(plans.size());
    std::mutex done_mutex;
    std::size_t done = 0;
    parallel_for(plans.size(), opt.parallel, [&](std::size_t j) {
        const Plan& p = plans[j];
        TrainOptions o = base;
        o.k = p.k;
        o.lr = p.lr;
        o.l2 = p.l2;
        o.epochs = p.candidates.back();
        o.patience = 0;  // the run's own stopping rule is below: every candidate epoch must be seen
        o.tol = 0;
        // Stop once the validation metric has not improved for `wait` epochs.
        const std::uint32_t wait = std::max<std::uint32_t>(5, o.epochs / 5);
        double best = std::numeric_limits<double>::infinity();
        std::uint32_t best_epoch = 0;
        auto stop_rule = [&](const EpochInfo& e) {
            if (e.valid_metric < best) {
                best = e.valid_metric;
                best_epoch = e.epoch;
            }
            return e.epoch < best_epoch + wait;
        };
        Trial t;
        // A run that diverges (too large a step for this point) returns the epochs before it; with none
        // the point loses and the search goes on.
        const TrainResult tr = train(o, fit, &valid, stop_rule);
        if (tr.history.empty()) {
            t.k = p.k;
            t.lr = p.lr;
            t.l2 = p.l2;
            t.score = std::numeric_limits<double>::infinity();
            std::lock_guard<std::mutex> lock(done_mutex);
            res.trials[j] = t;
            ++done;
            if (callback) callback(done, plans.size(), t);
            return;
        }
        t.k = p.k;
        t.lr = p.lr;
        t.l2 = p.l2;
        t.epochs_run = tr.history.size();
        t.seconds = tr.history.empty() ? 0.0 : tr.history.back().elapsed_seconds;
        t.score = std::numeric_limits<double>::infinity();
        for (std::uint32_t c : p.candidates) {
            if (c > tr.history.size()) break;
            const double v = tr.history[c - 1].valid_metric;
            if (v < t.score) {
                t.score = v;
                t.epochs = c;
            }
        }
        if (t.epochs == 0) {  // stopped before the first candidate: score the last epoch run
            t.epochs = static_cast<std::uint32_t>(tr.history.size());
            t.score = tr.history.back().valid_metric;
        }
        std::lock_guard<std::mutex> lock(done_mutex);
        res.trials[j] = t;
        ++done;
        if (callback) callback(done, plans.size(), t);
    });
    for (std::size_t j = 1; j < res.trials.size(); ++j)
        if (res.trials[j].score < res.trials[res.best].score) res.best = j;
    const Trial& b = res.trials[res.best];
    res.best_options = base;
    res.best_options.k = b.k;
    res.best_options.lr = b.lr;
    res.best_options.l2 = b.l2;
    res.best_options.epochs = b.epochs;
    return res;
}

}  // namespace simdmf::tune
