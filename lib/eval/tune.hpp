// Hyper-parameter search over k, lr, l2 and epochs, scored on a validation split carved from the
// training data only (the test data is never seen).
//
// One training run per (k, lr, l2) point runs up to the largest epoch count in the space and records
// the validation metric after every epoch; since an SGD or GD run of E epochs is exactly the first E
// epochs of a longer run, all epoch counts of a point are scored from one run. A run stops early once
// the validation metric has not improved for max(5, max_epochs / 5) epochs (the curve has turned up).
//
// Edges (issue 10, item 17): when the best point sits on the edge of what was searched in a dimension
// (its k, lr or l2 is the smallest or largest value given, with at least two given; or its epoch count
// is the largest candidate and the run was still improving), a better point may lie beyond. By default
// the search then extends past that edge: one more value in that direction (the geometric step of the
// two outermost values, within the option's bounds; epochs: three more candidates a step apart, scored
// from one longer run), up to `extend` rounds while the best stays on an edge. What still sits on an
// edge at the end is reported in Result::warnings. The random method extends k and epochs only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataset.hpp"
#include "solvers/trainer.hpp"

namespace simdmf::tune {

struct Space {
    std::vector<std::uint32_t> k;
    std::vector<double> lr, l2;
    std::vector<std::uint32_t> epochs;  // candidate epoch counts (grid); random: max only matters

    // The default space for `base`'s other options (e.g. its loss): the defaults of the tune_k,
    // tune_lr, tune_l2 and tune_epochs rows of the option registry (lib/options.cpp).
    static Space defaults(const TrainOptions& base);
};

enum class Method { grid, random };

struct Options {
    Method method = Method::grid;
    // Training runs. Grid: 0 = every point, else a seeded random subset of that many points.
    // Random: 0 = 20.
    std::size_t budget = 0;
    double valid_fraction = 0.1;  // of the training data, held out by split::random
    std::uint64_t seed = 1;       // of the validation split and of the random choices
    unsigned parallel = 1;        // runs at the same time (0: hardware threads)
    unsigned extend = 3;          // rounds of extension past an edge of the space (0: off; at most 10)
};

// A trainer's search settings (keys tune_*, bound in the option registry). Empty space dimensions
// are unset: the registry's default for the training options applies.
struct Settings {
    Space space;
    Options options;
};

struct Trial {
    std::uint32_t k = 0, epochs = 0;  // epochs: the best candidate epoch count of this run
    double lr = 0, l2 = 0;
    double score = 0;                 // validation metric at `epochs` (RMSE, log-loss, or for the implicit
                                      // models 1 - NDCG@10; lower is better)
    std::size_t epochs_run = 0;
    double seconds = 0;
};

struct Result {
    std::vector<Trial> trials;  // in the order they were planned
    std::size_t best = 0;       // index of the lowest score
    std::string metric;         // "rmse", "log_loss" or "one_minus_ndcg10" (curve_names)
    std::size_t train_size = 0, valid_size = 0;
    // base with the best trial's k, lr, l2 and epochs set.
    TrainOptions best_options;
    // Where the best trial sits in each dimension of what was searched (extensions included): -1 on the
    // low edge, +1 on the high edge, 0 inside (or a dimension with a single value, or an edge that is the
    // option's bound, e.g. l2 = 0).
    int edge_k = 0, edge_lr = 0, edge_l2 = 0, edge_epochs = 0;
    std::size_t extended = 0;           // trials added past an edge (the last ones in `trials`)
    std::vector<std::string> warnings;  // one sentence per dimension still on an edge
};

// Called after each finished run (never concurrently): runs done, runs planned so far (it grows when
// the search extends past an edge), the run's trial.
using TrialCallback = std::function<void(std::size_t done, std::size_t total, const Trial& trial)>;

// Searches `space` around `base` (its other options, e.g. loss, biases, l2_bias, seed, are kept; its
// patience is ignored). Throws INVALID_ARGUMENT for an empty or out-of-bounds space, a bad fraction or
// too little data, and whatever train throws.
Result search(const TrainOptions& base, const Ratings& train, const Space& space, const Options& opt,
              const TrialCallback& callback = {});

}  // namespace simdmf::tune
