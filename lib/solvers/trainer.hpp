// Training: options set by key, the SGD, full-batch GD and ALS solvers, schedules, early stopping.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "dataset.hpp"
#include "implicit.hpp"
#include "models/mf.hpp"
#include "optim.hpp"

namespace simdmf {

enum class Solver { sgd, gd, als, bpr, lmf_neg };

// Neural collaborative filtering (model gmf, mlp, neumf; lib/solvers/ncf_train.hpp): the options of
// the "ncf" group. The GMF width is TrainOptions::k; lr, epochs, seed, patience, tol, restore_best,
// snapshot, min/max_rating and clip_predictions mean what they mean for MF.
struct NcfOptions {
    std::vector<std::uint32_t> layers;  // ncf_layers: [2 x MLP embedding, tower widths...]; empty: 64,32,16,8
    std::uint32_t activation = 1;   // ncf_activation: 0 identity, 1 relu, 2 leaky_relu (kernels::Act)
    double slope = 0.3;             // ncf_slope (leaky_relu)
    std::uint32_t link = 0;         // ncf_link: 0 auto (squared: scaled_sigmoid on the rating range;
                                    // logistic: sigmoid), 1 identity, 2 sigmoid, 3 scaled_sigmoid
    std::uint32_t optimizer = 0;    // ncf_optimizer: 0 adam, 1 sgd
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam_beta1, adam_beta2, adam_eps
    std::uint32_t batch = 256;      // ncf_batch
    double l2_embed = 0.0;          // ncf_l2_embed: L2 on embedding rows (coupled, as weight decay)
    double l2_weights = 0.0;        // ncf_l2_weights: L2 on dense weights and biases
    std::uint32_t negatives = 4;    // ncf_negatives: sampled unseen items per positive per epoch (logistic)
    std::uint32_t lazy_adam = 1;    // ncf_lazy_adam: 0 dense Adam over every embedding row every step; 1 only
                                    // the rows a batch touched, their skipped steps caught up (dense Adam's
                                    // model but for eps); 2 LazyAdam (skipped steps dropped)
    double init_std = 0.01;         // ncf_init_std: embeddings N(0, init_std^2); dense layers Glorot uniform
    std::uint32_t input = 0;        // ncf_input: 0 embedding, 1 rows (the training matrix's rows / columns)
    bool input_leave_out = true;    // ncf_input_leave_out: rows form, a pair's own rating out of its inputs
    std::uint32_t input_norm = 1;   // ncf_input_norm: 0 none (raw values), 1 sqrt (row / sqrt(entries))
    double dropout = 0.0;           // ncf_dropout: rate on the tower layers' outputs while training (0: off)
};
enum class Schedule { constant, decay, list };
enum class IalsSolve { cholesky, cg };

// Field initialisers are the option registry's static defaults (lib/options.cpp; tests/test_options.cpp
// checks that they agree).
struct TrainOptions {
    Loss loss = Loss::squared;           // option "loss": the objective (squared or logistic)
    ModelKind model = ModelKind::mf;     // option "model": the member of the model family
    Solver solver = Solver::sgd;
    Schedule schedule = Schedule::constant;
    std::uint32_t k = 32;
    std::uint32_t epochs = 0;  // 0: unset, the registry default (lib/options.cpp: 30 sgd, 500 gd, 10 als)
    double lr = 0.0;           // 0: unset, the registry default (sgd: 0.01 squared, 0.05 logistic; gd: 0.5)
    double lr_decay = 0.05;
    std::vector<double> lr_list;
    double l2 = 0.05;
    double l2_bias = 0.05;
    bool biases = true;
    double init_std = 0.1;
    std::uint64_t seed = 42;
    std::uint32_t threads = 1;
    double tol = 0.0;
    std::uint32_t patience = 0;
    bool restore_best = true;
    bool exact_loss = false;
    // Declared rating range (issue 5): a training or validation value outside [min_rating, max_rating]
    // is SIMDMF_ERR_INVALID_DATA. Default: no range.
    double min_rating = -std::numeric_limits<double>::infinity();
    double max_rating = std::numeric_limits<double>::infinity();
    // MF: clamp the model's predictions to the rating range, the declared one where declared, else the
    // training values' [min, max] (MFModel::min_pred / max_pred). Never worse for RMSE or MAE on values
    // inside that range. Off: predictions are the raw scores.
    bool clip_predictions = true;
    // Divergence (non-finite loss or factors after an epoch): keep a copy of the last good epoch's
    // parameters to hand back (snapshot, one extra copy of the factors), or hand back the initial
    // model re-created from the seed (snapshot = false, no extra memory). retry_diverged > 0 retrains
    // from scratch up to that many times, halving the learning rate each time.
    bool snapshot = true;
    std::uint32_t retry_diverged = 0;
    bool deterministic = true;  // sgd: same seed -> bit-identical model for any thread count
    Optimizer optimizer = Optimizer::sgd;  // sgd: "adagrad" = per-row AdaGrad rates lr / sqrt(G) (lib/optim.hpp)
    std::uint32_t grid = 0;     // sgd: blocks per side of the user x item grid (0: automatic)
    // sgd, squared loss, no AdaGrad: train as if on ratings normalised to unit spread (issue 10, item 16),
    // so lr, l2 and init_std mean the same on a 1..5 and a -10..10 or 0..100 scale. See rating_scale.
    bool normalize = true;
    // Set by train() from the data, not a key: the ratings' spread s = sqrt(mean((r - c)^2)) / 1.125,
    // c the mean with biases, else 0; 1.125 is the spread of the MovieLens ratings the defaults were
    // chosen on (1 when normalize is off or does not apply). SGD on the raw ratings with
    // factor rate lr / s, factor L2 l2 * s, bias rate lr, bias L2 l2_bias and initial rows init_std *
    // sqrt(s) is exactly SGD on (r - c) / s with lr, l2, l2_bias, init_std, folded back (factors times
    // sqrt(s), biases times s, mu = c): the model predicts raw units and every loss is in raw units.
    double rating_scale = 1.0;
    bool als_weighted_lambda = true;  // als: row regulariser l2 * n_row (Zhou et al. 2008), else l2
    NcfOptions ncf;                   // model gmf, mlp, neumf
    // loss implicit (iALS, solver als): confidence weighting, unobserved weight, regularisation scaling
    // (lib/implicit.hpp), and the per-row solve: exact Cholesky, or cg_steps conjugate-gradient steps
    // from the current row.
    ImplicitParams implicit;
    IalsSolve ials_solver = IalsSolve::cholesky;
    std::uint32_t cg_steps = 3;

    // Keyed access through the option registry (lib/options.hpp: keys, bounds, defaults). Throw Error with
    // SIMDMF_ERR_UNKNOWN_OPTION or SIMDMF_ERR_OUT_OF_RANGE, leaving the options unchanged.
    void set(const std::string& key, double value);
    void set(const std::string& key, const std::string& value);
    void set(const std::string& key, const std::vector<double>& values);
    double get(const std::string& key) const;
    std::string get_string(const std::string& key) const;
    // Every training option with the value in effect (set, or the default that applies), as text
    // ("0.01", "sgd", "64,32,16,8"): what a trained model records of how it was made (model file v2
    // meta "train.KEY"). The registry writes it (lib/options.cpp), as it does set and get.
    std::vector<std::pair<std::string, std::string>> in_effect() const;

    bool logistic() const { return loss == Loss::logistic; }
    bool implicit_loss() const { return loss == Loss::implicit; }
    std::uint32_t effective_epochs() const;
    double effective_lr() const;
    double lr_at(std::uint32_t epoch0) const;  // 0-based epoch
};

struct EpochInfo {
    std::uint32_t epoch = 0;  // 1-based
    std::uint32_t max_epochs = 0;
    double train_loss = 0;
    double valid_metric = 0;  // NaN without validation data
    double learning_rate = 0;
    double elapsed_seconds = 0;
};

// Return true to continue, false to cancel.
using EpochCallback = std::function<bool(const EpochInfo&)>;

// How a run went, whatever the model kind: what EpochControl (epoch_control.hpp) records.
struct RunRecord {
    std::vector<EpochInfo> history;
    simdmf_status status = SIMDMF_OK;  // OK, CANCELLED, or ERR_DIVERGED (model = last good epoch)
    std::string stop_reason;           // "max epochs", "tolerance", "early stop", "cancelled", "diverged"
    std::string message;               // with ERR_DIVERGED: the epoch, the rate and what was handed back
    std::uint32_t diverged_epoch = 0;  // 1-based epoch that produced non-finite values (0: none)
};

struct TrainResult : RunRecord {
    MFModel model;
    std::uint32_t retries = 0;         // restarts at a halved learning rate (retry_diverged)
    // What the data makes of the run that the figures will not show (data_warnings), e.g. one class.
    std::vector<std::string> warnings;
};

// What the per-epoch numbers of a run with these options are (EpochInfo::train_loss, valid_metric):
// a name for files (curve CSV, JSON) and a label for people. MF: mse / log_loss and rmse / log_loss
// (Objective); bpr: the mean -ln sigmoid(x_uij); lmf-neg: log-loss; iALS (loss implicit): the weighted
// data term per event; the three implicit models validated by 1 - NDCG@10 over every item not in the
// user's training events (RankValidation, epoch_control.hpp).
struct CurveNames {
    const char* train_name;
    const char* train_label;
    const char* valid_name;
    const char* valid_label;
};
CurveNames curve_names(const TrainOptions& opt);

// Warnings about training data that trains a trivial model of an explicit objective (MF on ratings
// or +1/-1 labels): every value the same (squared: the model predicts that value for every pair;
// logistic: one class only, so its log-loss and accuracy say nothing). Empty otherwise.
std::vector<std::string> data_warnings(const TrainOptions& opt, const Ratings& train);

// Throws Error on invalid data or options. `valid` may be null. Divergence is not thrown: the result
// has status SIMDMF_ERR_DIVERGED, a message naming the epoch, and the last good epoch's model.
TrainResult train(const TrainOptions& opt, const Ratings& train, const Ratings* valid,
                  const EpochCallback& callback = {});
// The same, but it may take the memory of `train`: the SGD solver copies the ratings into its own
// blocked order and releases the caller's pages as it goes, so the peak holds about one copy of the
// ratings instead of two. Afterwards `train` has no ratings but keeps its dimensions and id maps (GD
// leaves it intact). The model is the same as with the const overload.
TrainResult train(const TrainOptions& opt, Ratings&& train, const Ratings* valid,
                  const EpochCallback& callback = {});

// Mean data loss of a model on r: squared error (MF) or cross-entropy (logistic, labels +1/-1).
double mean_loss(const Model& m, const Ratings& r);
// Validation metric, lower is better: RMSE of the predictions (MF: clamped to the model's prediction
// range, as predict() does) or mean log-loss (logistic).
double valid_metric(const Model& m, const Ratings& r);

// The full objective the solvers minimise, and its exact gradient (for tests and the GD solver):
//   J = (1/N) sum_obs [ loss(r, s_ui) + l2/2 (|p_u|^2 + |q_i|^2) + l2_bias/2 (b_u^2 + b_i^2) ]
// with loss = 1/2 (r - s)^2 for MF and cross-entropy for logistic. grad has the model's layout
// (gP, gQ with the model's stride, gbu, gbi); mu is not trained.
struct Gradient {
    AlignedFloats P, Q;
    std::vector<float> bu, bi;
};
double objective(const MFModel& m, const Ratings& r, double l2, double l2_bias, Gradient* grad);

}  // namespace simdmf
