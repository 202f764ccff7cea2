// Hyper-parameter search (tune.hpp): a grid or random plan of runs, each scored at its candidate epoch
// counts on a validation split, then extended past the edges the best point sits on.
#include "eval/tune.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <mutex>
#include <optional>

#include "common.hpp"
#include "rng.hpp"
#include "eval/split.hpp"
#include "task_pool.hpp"

namespace simdmf::tune {

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

// One training run of a plan, scored at each of its candidate epoch counts.
Trial run_plan(const Plan& p, const TrainOptions& base, const Ratings& fit, const Ratings& valid) {
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
    t.k = p.k;
    t.lr = p.lr;
    t.l2 = p.l2;
    t.score = std::numeric_limits<double>::infinity();
    // A run that diverges (too large a step for this point) returns the epochs before it; with none
    // the point loses and the search goes on.
    const TrainResult tr = train(o, fit, &valid, stop_rule);
    if (tr.history.empty()) return t;
    t.epochs_run = tr.history.size();
    t.seconds = tr.history.back().elapsed_seconds;
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
    return t;
}

template <class T>
void insert_sorted(std::vector<T>& v, T x) {
    v.insert(std::upper_bound(v.begin(), v.end(), x), x);
}

// -1 / +1 when x is the smallest / largest of at least two distinct searched values, else 0.
template <class T>
int edge_of(const std::vector<T>& sorted, T x) {
    if (sorted.size() < 2 || sorted.front() == sorted.back()) return 0;
    if (x == sorted.front()) return -1;
    if (x == sorted.back()) return 1;
    return 0;
}

// The next value past an edge of `sorted` (the geometric step of its two outermost values), or none
// when that leaves the option's bounds or would not move (an edge at l2 = 0 is the bound itself).
std::optional<double> beyond(const std::vector<double>& sorted, int edge, const TrainOptions& base,
                             const char* key, bool integer) {
    const std::size_t n = sorted.size();
    const double a = edge < 0 ? sorted[0] : sorted[n - 1], b = edge < 0 ? sorted[1] : sorted[n - 2];
    double v;
    if (edge < 0) {
        if (!(a > 0)) return std::nullopt;
        v = a * a / b;
    } else {
        v = b > 0 ? a * a / b : 2 * a;
    }
    if (integer) {
        v = edge < 0 ? std::floor(v) : std::ceil(v);
        if (v == a) v = a + edge;
    }
    if (!std::isfinite(v) || v == a) return std::nullopt;
    TrainOptions probe = base;
    try {
        probe.set(key, v);
    } catch (const Error&) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

Result search(const TrainOptions& base, const Ratings& train_data, const Space& space, const Options& opt,
              const TrialCallback& callback) {
    check_space(base, space);
    if (!(opt.valid_fraction > 0.0 && opt.valid_fraction < 1.0))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "tune: the validation fraction must be in (0, 1)");
    if (opt.extend > 10) fail(SIMDMF_ERR_INVALID_ARGUMENT, "tune: extend must be 0..10");
    // Named references, not a structured binding: clang 14 cannot capture bindings in the lambda below.
    auto fit_valid = split::random(train_data, opt.valid_fraction, opt.seed);
    Ratings& fit = fit_valid.first;
    Ratings& valid = fit_valid.second;
    if (fit.empty() || valid.empty())
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "tune: too few ratings for a validation split");
    std::vector<Plan> plans = make_plans(space, opt);

    Result res;
    res.metric = curve_names(base).valid_name;  // rmse, log_loss, or one_minus_ndcg10 (implicit models)
    res.train_size = fit.size();
    res.valid_size = valid.size();
    std::mutex done_mutex;
    std::size_t done = 0, total = plans.size();
    auto run_all = [&](const std::vector<Plan>& batch) {
        const std::size_t first = res.trials.size();
        res.trials.resize(first + batch.size());
        parallel_for(batch.size(), opt.parallel, [&](std::size_t j) {
            const Trial t = run_plan(batch[j], base, fit, valid);
            std::lock_guard<std::mutex> lock(done_mutex);
            res.trials[first + j] = t;
            ++done;
            if (callback) callback(done, total, t);
        });
    };
    run_all(plans);

    // What was searched, sorted (grows as the search extends past an edge).
    auto sorted_unique = [](auto v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        return v;
    };
    std::vector<double> ks, lrs, l2s;
    for (auto k : space.k) ks.push_back(k);
    ks = sorted_unique(ks);
    const bool grid = opt.method == Method::grid;
    if (grid) {
        lrs = sorted_unique(space.lr);
        l2s = sorted_unique(space.l2);
    }
    std::vector<std::uint32_t> epochs = plans.empty() ? std::vector<std::uint32_t>{} : plans.front().candidates;
    auto best_index = [&] {
        std::size_t b = 0;
        for (std::size_t j = 1; j < res.trials.size(); ++j)
            if (res.trials[j].score < res.trials[b].score) b = j;
        return b;
    };
    struct Edges {
        int k = 0, lr = 0, l2 = 0, epochs = 0;
    };
    auto edges_of = [&](const Trial& t) {
        Edges e;
        e.k = edge_of(ks, static_cast<double>(t.k));
        if (grid) {
            e.lr = edge_of(lrs, t.lr);
            e.l2 = edge_of(l2s, t.l2);
            if (e.l2 < 0 && t.l2 <= 0) e.l2 = 0;  // l2 = 0 is the option's bound
        }
        // Still improving at the largest candidate: the run reached it and scored best there.
        if (epochs.size() >= 2 && t.epochs == epochs.back() && t.epochs_run >= epochs.back()) e.epochs = 1;
        return e;
    };
    for (unsigned round = 0; round < opt.extend && !plans.empty(); ++round) {
        const Trial b = res.trials[best_index()];
        if (!std::isfinite(b.score)) break;
        const Edges e = edges_of(b);
        std::vector<Plan> more;
        if (e.epochs > 0) {
            const std::uint32_t last = epochs.back();
            const std::uint32_t prev = epochs.size() > 1 ? epochs[epochs.size() - 2] : 0;
            const std::uint32_t step = std::max<std::uint32_t>(last - prev, (last + 4) / 5);
            TrainOptions probe = base;
            for (std::uint32_t j = 1; j <= 3; ++j) {
                const double v = static_cast<double>(last) + static_cast<double>(j) * step;
                try {
                    probe.set("epochs", v);
                } catch (const Error&) {
                    break;
                }
                epochs.push_back(static_cast<std::uint32_t>(v));
            }
            if (epochs.back() != last) more.push_back({b.k, b.lr, b.l2, epochs});
        }
        if (e.k)
            if (auto v = beyond(ks, e.k, base, "k", true)) {
                insert_sorted(ks, *v);
                more.push_back({static_cast<std::uint32_t>(*v), b.lr, b.l2, epochs});
            }
        if (e.lr)
            if (auto v = beyond(lrs, e.lr, base, "lr", false)) {
                insert_sorted(lrs, *v);
                more.push_back({b.k, *v, b.l2, epochs});
            }
        if (e.l2)
            if (auto v = beyond(l2s, e.l2, base, "l2", false)) {
                insert_sorted(l2s, *v);
                more.push_back({b.k, b.lr, *v, epochs});
            }
        if (more.empty()) break;
        {
            std::lock_guard<std::mutex> lock(done_mutex);
            total += more.size();
        }
        run_all(more);
        res.extended += more.size();
    }

    res.best = best_index();
    const Trial& b = res.trials[res.best];
    if (std::isfinite(b.score)) {
        const Edges e = edges_of(b);
        res.edge_k = e.k;
        res.edge_lr = e.lr;
        res.edge_l2 = e.l2;
        res.edge_epochs = e.epochs;
        auto warn = [&](const char* name, int edge, double v) {
            if (!edge) return;
            char buf[64];
            std::snprintf(buf, sizeof buf, "%g", v);
            res.warnings.push_back(std::string("the best ") + name + " (" + buf + ") is the " +
                                   (edge < 0 ? "smallest" : "largest") + " value searched" +
                                   (res.extended ? " even after extending the search" : "") + "; a " +
                                   (edge < 0 ? "smaller" : "larger") + " one may be better");
        };
        warn("k", e.k, b.k);
        warn("lr", e.lr, b.lr);
        warn("l2", e.l2, b.l2);
        if (e.epochs) warn("epochs", 1, b.epochs);
    }
    res.best_options = base;
    res.best_options.k = b.k;
    res.best_options.lr = b.lr;
    res.best_options.l2 = b.l2;
    res.best_options.epochs = b.epochs;
    return res;
}

}  // namespace simdmf::tune
