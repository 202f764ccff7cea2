// The option registry (see options.hpp): the table kRows, keyed access through it, and its text forms.
#include "options.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "common.hpp"

namespace simdmf::options {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Bound closed(double v) { return {v, false}; }
Bound open(double v) { return {v, true}; }

Case always(double v) { return Case{"", v, {}, {}}; }
Case when(const char* cond, double v) { return Case{cond, v, {}, {}}; }
Case always(std::vector<double> v) { return Case{"", 0, std::move(v), {}}; }
Case when(const char* cond, std::vector<double> v) { return Case{cond, 0, std::move(v), {}}; }

Option number(const char* name, const char* group, Type type, Bound lo, Bound hi, std::vector<Case> def,
              const char* doc, Binding b) {
    return Option{name, type, type, group, lo, hi, {}, std::move(def), 0, doc, b};
}
Option integer(const char* name, const char* group, double lo, double hi, std::vector<Case> def, const char* doc,
               Binding b) {
    return number(name, group, Type::integer, closed(lo), closed(hi), std::move(def), doc, b);
}
Option real(const char* name, const char* group, Bound lo, Bound hi, std::vector<Case> def, const char* doc,
            Binding b) {
    return number(name, group, Type::real, lo, hi, std::move(def), doc, b);
}
// `allowed` in the order of the bound enum's values.
Option choice(const char* name, const char* group, std::vector<std::string> allowed, const char* def, const char* doc,
              Binding b) {
    return Option{name, Type::string, Type::string, group, closed(0), closed(0), std::move(allowed),
                  {Case{"", 0, {}, def}}, 0, doc, b};
}
Option array(const char* name, const char* group, Type element, Bound lo, Bound hi, std::vector<Case> def,
             std::size_t min_count, const char* doc, Binding b) {
    return Option{name, Type::array, element, group, lo, hi, {}, std::move(def), min_count, doc, b};
}

// Bindings. A numeric field reads as itself; fields whose default depends on other options hold a
// sentinel (0) and read as NaN while unset.
#define SIMDMF_NUMBER(scope, path)                                                                         \
    Binding {                                                                                              \
        Scope::scope, [](const Target& t) { return static_cast<double>(t.path); },                         \
            [](Target& t, double v) { t.path = static_cast<std::remove_reference_t<decltype(t.path)>>(v); } \
    }
#define SIMDMF_UNSET_IF_ZERO(path)                                                                             \
    Binding {                                                                                                  \
        Scope::train, [](const Target& t) { return t.path > 0 ? static_cast<double>(t.path) : kNaN; },         \
            [](Target& t, double v) { t.path = static_cast<std::remove_reference_t<decltype(t.path)>>(v); }     \
    }
// An enum whose values are 0, 1, ... in the order of the row's `allowed` list.
#define SIMDMF_ENUM(scope, path)                                                                            \
    Binding {                                                                                               \
        Scope::scope, nullptr, nullptr, [](const Target& t) { return static_cast<std::size_t>(t.path); },   \
            [](Target& t, std::size_t i) { t.path = static_cast<std::remove_reference_t<decltype(t.path)>>(i); } \
    }
#define SIMDMF_ARRAY(scope, path)                                                                          \
    Binding {                                                                                              \
        Scope::scope, nullptr, nullptr, nullptr, nullptr,                                                  \
            [](const Target& t) { return std::vector<double>(t.path.begin(), t.path.end()); },             \
            [](Target& t, const std::vector<double>& v) {                                                  \
                t.path.clear();                                                                            \
                for (double x : v) t.path.push_back(static_cast<typename decltype(t.path)::value_type>(x)); \
            }                                                                                              \
    }

// Bounds shared by a training option and the search dimension of the same name.
const Bound kKLo = closed(1), kKHi = closed(65536);
const Bound kEpochsLo = closed(1), kEpochsHi = closed(1e7);
const Bound kLrLo = open(0), kLrHi = closed(10);
const Bound kL2Lo = closed(0), kL2Hi = closed(1e6);

std::vector<Option> make_rows() {
    std::vector<Option> r = {
        // ---- train: every solver
        choice("model", "train", {"mf", "gmf", "mlp", "neumf", "ials", "bpr", "lmf-neg"}, "mf",
               "the member of the model family to train (mf: matrix factorization; gmf, mlp, neumf: neural "
               "collaborative filtering, the ncf group; solver, the sgd and als groups do not apply to them); "
               "implicit feedback, names for mf with an objective and solver (read back as mf): ials = loss "
               "implicit + solver als (the ials group), bpr = solver bpr, lmf-neg = solver lmf-neg",
               Binding{Scope::train, nullptr, nullptr,
                       [](const Target& t) -> std::size_t { return static_cast<std::size_t>(t.train->model) - 1; },
                       [](Target& t, std::size_t i) {
                           if (i < 4) {
                               t.train->model = static_cast<ModelKind>(i + 1);
                               return;
                           }
                           t.train->model = ModelKind::mf;
                           if (i == 4) t.train->loss = Loss::implicit;
                           t.train->solver = i == 4 ? Solver::als : i == 5 ? Solver::bpr : Solver::lmf_neg;
                       }}),
        choice("loss", "train", {"squared", "logistic", "implicit"}, "squared",
               "squared: ratings (MF); logistic: +1/-1 labels, predictions are P(label = +1); implicit: counts of "
               "events (iALS, solver als only: weighted squared loss over every user x item cell, no biases, "
               "predictions are unclamped scores; the ials group)",
               Binding{Scope::train, nullptr, nullptr,
                       [](const Target& t) -> std::size_t { return static_cast<std::size_t>(t.train->loss) - 1; },
                       [](Target& t, std::size_t i) { t.train->loss = static_cast<Loss>(i + 1); }}),
        choice("solver", "train", {"sgd", "gd", "als", "bpr", "lmf-neg"}, "sgd",
               "sgd: stochastic gradient descent; gd: full-batch gradient descent; als: alternating least squares "
               "(each sweep solves every user's row exactly with the items fixed, then every item's; logistic: one "
               "Newton step per row; lr, schedule and the sgd group do not apply; ~k^2 per rating and sweep); "
               "implicit feedback (every rating > 0 an event; the model is logistic, scores rank items): bpr: "
               "Bayesian personalised ranking, one sampled unseen item per event and epoch; lmf-neg: logistic MF "
               "with ncf_negatives sampled unseen items per event and epoch",
               SIMDMF_ENUM(train, train->solver)),
        integer("k", "train", kKLo.value, kKHi.value, {always(32)}, "factors per user and item",
                SIMDMF_NUMBER(train, train->k)),
        number("epochs", "train", Type::integer, kEpochsLo, kEpochsHi, {when("solver=gd", 500), when("solver=als", 10), always(30)},
               "maximum epochs (sgd), iterations (gd) or sweeps (als)", SIMDMF_UNSET_IF_ZERO(train->epochs)),
        real("lr", "train", kLrLo, kLrHi, {when("model=gmf", 0.001), when("model=mlp", 0.001), when("model=neumf", 0.001),
              when("solver=gd", default_gd_lr(Loss::squared)), when("solver=bpr", 0.05),
              when("solver=lmf-neg", 0.05), when("loss=logistic", default_sgd_lr(Loss::logistic)),
              always(default_sgd_lr(Loss::squared))},
             "learning rate (gd: the first step, halved while the objective would rise)",
             SIMDMF_UNSET_IF_ZERO(train->lr)),
        choice("schedule", "train", {"constant", "decay", "list"}, "constant",
               "learning rate per epoch: constant lr; decay lr / (1 + lr_decay * epoch); list: lr_list",
               SIMDMF_ENUM(train, train->schedule)),
        real("lr_decay", "train", closed(0), closed(1e6), {always(0.05)}, "decay of schedule \"decay\"",
             SIMDMF_NUMBER(train, train->lr_decay)),
        array("lr_list", "train", Type::real, kLrLo, kLrHi, {always(std::vector<double>{})}, 1,
              "learning rate per epoch for schedule \"list\" (at least one value); the last value repeats",
              SIMDMF_ARRAY(train, train->lr_list)),
        real("l2", "train", kL2Lo, kL2Hi, {always(0.05)}, "L2 weight on factors", SIMDMF_NUMBER(train, train->l2)),
        real("l2_bias", "train", closed(0), closed(1e6), {always(0.05)}, "L2 weight on biases",
             SIMDMF_NUMBER(train, train->l2_bias)),
        integer("biases", "train", 0, 1, {always(1)}, "1: mu + b_u + b_i + p.q; 0: p.q",
                SIMDMF_NUMBER(train, train->biases)),
        real("init_std", "train", closed(0), closed(100), {always(0.1)},
             "norm of the initial factor rows (entries N(0, init_std^2 / k))", SIMDMF_NUMBER(train, train->init_std)),
        integer("seed", "train", 0, 9007199254740992.0, {always(42)}, "random seed",
                SIMDMF_NUMBER(train, train->seed)),
        integer("threads", "train", 0, 1024, {always(1)}, "worker threads (0: all cores); sgd starts at most the hardware thread count (environment "
                "SIMDMF_OVERSUBSCRIBE=1 lifts that cap); threads the system refuses to start are done without; "
                "gmf/mlp/neumf: each batch cut into this many slices, reproducible for a given count",
                SIMDMF_NUMBER(train, train->threads)),
        real("tol", "train", closed(0), closed(1e30), {always(0)}, "stop when the training loss falls below tol (0: off)",
             SIMDMF_NUMBER(train, train->tol)),
        integer("patience", "train", 0, 1e6, {always(0)},
                "stop after this many epochs without validation improvement (0: off)",
                SIMDMF_NUMBER(train, train->patience)),
        integer("restore_best", "train", 0, 1, {always(1)}, "with patience: hand back the best epoch's model",
                SIMDMF_NUMBER(train, train->restore_best)),
        real("min_rating", "train", closed(-kInf), closed(kInf), {always(-kInf)},
             "declared range: a training or validation value below min_rating is SIMDMF_ERR_INVALID_DATA (-inf: off)",
             SIMDMF_NUMBER(train, train->min_rating)),
        real("max_rating", "train", closed(-kInf), closed(kInf), {always(kInf)},
             "declared range: a training or validation value above max_rating is SIMDMF_ERR_INVALID_DATA (inf: off)",
             SIMDMF_NUMBER(train, train->max_rating)),
        integer("clip_predictions", "train", 0, 1, {always(1)},
                "MF: clamp predictions to the rating range, the declared one where declared, else the training "
                "values' [min, max] (simdmf_model_prediction_range); 0: raw scores",
                SIMDMF_NUMBER(train, train->clip_predictions)),
        integer("snapshot", "train", 0, 1, {always(1)},
                "on SIMDMF_ERR_DIVERGED hand back a copy of the last good epoch's parameters (1; one copy of the "
                "factors) or the initial model (0)",
                SIMDMF_NUMBER(train, train->snapshot)),
        integer("retry_diverged", "train", 0, 10, {always(0)},
                "on divergence retrain from scratch at half the learning rate, up to this many times (0: off)",
                SIMDMF_NUMBER(train, train->retry_diverged)),
        // ---- sgd
        integer("exact_loss", "sgd", 0, 1, {always(0)},
                "recompute the training loss after each epoch (1) or report the running loss seen during it (0)",
                SIMDMF_NUMBER(train, train->exact_loss)),
        integer("deterministic", "sgd", 0, 1, {always(1)},
                "1: the same seed gives a bit-identical model for any thread count (grid blocks in lock-step "
                "rounds); 0: free-running block scheduler",
                SIMDMF_NUMBER(train, train->deterministic)),
        choice("optimizer", "sgd", {"sgd", "adagrad"}, "sgd",
               "sgd: plain steps lr * gradient; adagrad: per-row rates lr / sqrt(G), G = 1 + the row's running "
               "mean squared gradient (wants a larger lr, e.g. 0.1)",
               SIMDMF_ENUM(train, train->optimizer)),
        integer("adagrad", "sgd", 0, 1, {always(0)}, "1: optimizer \"adagrad\", 0: optimizer \"sgd\" (an alias)",
                Binding{Scope::train, [](const Target& t) { return t.train->optimizer == Optimizer::adagrad ? 1.0 : 0.0; },
                        [](Target& t, double v) { t.train->optimizer = v != 0 ? Optimizer::adagrad : Optimizer::sgd; }}),
        integer("normalize", "sgd", 0, 1, {always(1)},
                "squared loss without adagrad: train as if on ratings centred by their mean and divided by their "
                "standard deviation s, in units of 1.125 (MovieLens' spread, where the defaults were chosen) (factor rate lr / s, factor L2 l2 * s, initial rows init_std * sqrt(s)), so "
                "the defaults suit any rating scale; the model predicts raw units (0: lr, l2, init_std as given)",
                SIMDMF_NUMBER(train, train->normalize)),
        integer("grid", "sgd", 0, 4096, {always(0)},
                "blocks per side of the user x item grid (0: automatic, 1 below 65536 ratings, else ~80k ratings "
                "a block, at least 8; raised to keep block-local indices 16-bit); at most `grid` threads run",
                SIMDMF_NUMBER(train, train->grid)),
        // ---- als
        integer("als_weighted_lambda", "als", 0, 1, {always(1)},
                "1: each row's ridge term is l2 (l2_bias for its bias) times the row's rating count (Zhou et al. "
                "2008, as Spark MLlib; the objective the sgd and gd solvers minimise); 0: l2 per row (classic "
                "ridge ALS)",
                SIMDMF_NUMBER(train, train->als_weighted_lambda)),
        // ---- ncf: model gmf, mlp, neumf (lib/solvers/ncf_train.hpp)
        array("ncf_layers", "ncf", Type::integer, closed(1), closed(8192), {always({64, 32, 16, 8})}, 1,
              "MLP widths: the first is the user + item embedding (even; each embedding half of it), then each "
              "dense layer's units (mlp, neumf; set with simdmf_trainer_set_array)",
              SIMDMF_ARRAY(train, train->ncf.layers)),
        choice("ncf_activation", "ncf", {"identity", "relu", "leaky_relu"}, "relu",
               "activation of the MLP's dense layers (the output unit is linear before the link)",
               SIMDMF_ENUM(train, train->ncf.activation)),
        real("ncf_slope", "ncf", open(0), open(1), {always(0.3)}, "leaky_relu: the slope below zero",
             SIMDMF_NUMBER(train, train->ncf.slope)),
        choice("ncf_link", "ncf", {"auto", "identity", "sigmoid", "scaled_sigmoid"}, "auto",
               "output link: auto is scaled_sigmoid min + (max - min) sigmoid(z) on the rating range (declared, else "
               "the training values') for the squared loss, sigmoid for the logistic loss",
               SIMDMF_ENUM(train, train->ncf.link)),
        choice("ncf_optimizer", "ncf", {"adam", "sgd"}, "adam",
               "adam (bias-corrected, L2 coupled as weight decay) or plain mini-batch sgd",
               SIMDMF_ENUM(train, train->ncf.optimizer)),
        real("adam_beta1", "ncf", closed(0), open(1), {always(0.9)}, "Adam: decay of the first moment",
             SIMDMF_NUMBER(train, train->ncf.beta1)),
        real("adam_beta2", "ncf", closed(0), open(1), {always(0.999)}, "Adam: decay of the second moment",
             SIMDMF_NUMBER(train, train->ncf.beta2)),
        real("adam_eps", "ncf", open(0), closed(1), {always(1e-8)}, "Adam: added to the root of the second moment",
             SIMDMF_NUMBER(train, train->ncf.eps)),
        integer("ncf_batch", "ncf", 1, 65536, {always(256)}, "mini-batch size (samples per optimizer step)",
                SIMDMF_NUMBER(train, train->ncf.batch)),
        real("ncf_l2_embed", "ncf", closed(0), closed(1e6), {always(0)},
             "L2 on embedding rows (added to the gradient of each row a batch touches)",
             SIMDMF_NUMBER(train, train->ncf.l2_embed)),
        real("ncf_l2_weights", "ncf", closed(0), closed(1e6), {always(0)}, "L2 on dense weights and biases",
             SIMDMF_NUMBER(train, train->ncf.l2_weights)),
        integer("ncf_negatives", "ncf", 0, 1000, {always(4)},
                "logistic loss (and solver lmf-neg): unseen items sampled per positive per epoch (seeded; every rating > 0 is a positive)",
                SIMDMF_NUMBER(train, train->ncf.negatives)),
        integer("ncf_lazy_adam", "ncf", 0, 2, {always(1)},
                "Adam on the embedding rows (and the rows form's input weight rows). 0: every row every step "
                "(textbook Adam, PyTorch's); 1: only the rows a batch touched, each catching up on the steps it "
                "skipped in closed form (the same model as 0 but for eps in the skipped steps; cost per batch, not "
                "per table; with L2 on those rows, 0's rule); 2: only the rows a batch touched, skipped steps "
                "dropped (TensorFlow's LazyAdam: rarely seen rows move less)",
                SIMDMF_NUMBER(train, train->ncf.lazy_adam)),
        real("ncf_init_std", "ncf", closed(0), closed(100), {always(0.01)},
             "embeddings start N(0, ncf_init_std^2) (He et al.); dense layers Glorot uniform, biases 0",
             SIMDMF_NUMBER(train, train->ncf.init_std)),
        real("ncf_dropout", "ncf", closed(0), closed(0.95), {always(0)},
             "dropout rate on the MLP tower's layer outputs while training (seeded; kept units scaled by 1 / (1 - "
             "rate)); never when serving",
             SIMDMF_NUMBER(train, train->ncf.dropout)),
        choice("ncf_input", "ncf", {"embedding", "rows"}, "embedding",
               "what feeds gmf, mlp and neumf: embedding (a learned row per user and item, He et al.) or rows (the "
               "notebook's form: the user's row of the training matrix and the item's column, values raw, missing 0, "
               "each through a dense layer with bias, computed sparse x dense; the model keeps the matrix to serve)",
               SIMDMF_ENUM(train, train->ncf.input)),
        integer("ncf_input_leave_out", "ncf", 0, 1, {always(1)},
                "ncf_input rows: 1 leaves a training pair's own rating out of its user row and item column while "
                "training (the model cannot read the target; serving reads the whole training matrix); 0 keeps it",
                SIMDMF_NUMBER(train, train->ncf.input_leave_out)),
        choice("ncf_input_norm", "ncf", {"none", "sqrt"}, "sqrt",
               "ncf_input rows: the input values; sqrt: each user row and item column divided by the square root of "
               "its entry count (inputs of one scale for light and heavy users and items; MovieLens u1 NeuMF RMSE "
               "0.908 against 0.934 raw); none: as given (the notebook's raw ratings)",
               SIMDMF_ENUM(train, train->ncf.input_norm)),
        // ---- ials: loss implicit with solver als (lib/implicit.hpp, lib/solvers/ials.cpp)
        choice("confidence", "ials", {"linear", "log"}, "linear",
               "weight of a cell with count r: linear 1 + alpha * r; log 1 + alpha * log(1 + r / confidence_eps) "
               "(Hu, Koren and Volinsky 2008)",
               SIMDMF_ENUM(train, train->implicit.confidence)),
        real("alpha", "ials", closed(0), closed(1e6), {always(1)}, "confidence scale alpha",
             SIMDMF_NUMBER(train, train->implicit.alpha)),
        real("confidence_eps", "ials", open(0), closed(1e12), {always(1)}, "the log confidence's count scale eps",
             SIMDMF_NUMBER(train, train->implicit.eps)),
        real("unobserved_weight", "ials", open(0), closed(1e6), {always(1)},
             "weight w0 of every cell without events (target 0); cells with events have weight c, target 1",
             SIMDMF_NUMBER(train, train->implicit.unobserved_weight)),
        real("ials_reg_exponent", "ials", closed(0), closed(1), {always(0)},
             "row L2 l2 * (n_row + unobserved_weight * n_other)^nu (Rendle et al. 2022's frequency scaling; "
             "0: l2 for every row)",
             SIMDMF_NUMBER(train, train->implicit.reg_exponent)),
        choice("ials_solver", "ials", {"cholesky", "cg"}, "cholesky",
               "per-row solve: cholesky (exact, ~k^3 / 3 a row) or cg (cg_steps conjugate-gradient steps from the "
               "current row, ~k^2 + k per event a step; Takacs et al. 2011)",
               SIMDMF_ENUM(train, train->ials_solver)),
        integer("cg_steps", "ials", 1, 1000, {always(3)}, "conjugate-gradient steps per row and sweep (ials_solver cg)",
                SIMDMF_NUMBER(train, train->cg_steps)),
        // ---- tune: search settings of simdmf_trainer_tune (a trainer holds them beside the options)
        array("tune_k", "tune", Type::integer, kKLo, kKHi, {when("loss=implicit", {32, 64, 128}), always({64, 128, 256, 512})}, 0,
              "factor counts searched (0 values: the default)", SIMDMF_ARRAY(tune, tune->space.k)),
        array("tune_lr", "tune", Type::real, kLrLo, kLrHi,
              {when("loss=implicit", std::vector<double>{0.01}), when("solver=bpr", {0.02, 0.05, 0.1}),
               when("solver=lmf-neg", {0.02, 0.05, 0.1}), when("loss=logistic", {0.02, 0.05, 0.1}),
               always({0.005, 0.01, 0.02})}, 0,
              "learning rates searched (0 values: the default; iALS has no learning rate: one value)", SIMDMF_ARRAY(tune, tune->space.lr)),
        array("tune_l2", "tune", Type::real, kL2Lo, kL2Hi,
              {when("loss=implicit", {1, 3, 10, 30, 100, 300}), when("solver=bpr", {0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3}),
               when("solver=lmf-neg", {0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3}),
               when("loss=logistic", {0.01, 0.02, 0.05}), always({0.03, 0.05, 0.08})}, 0,
              "L2 weights searched (0 values: the default; iALS up to 300, as its regularisation is a sum over rows)", SIMDMF_ARRAY(tune, tune->space.l2)),
        array("tune_epochs", "tune", Type::integer, kEpochsLo, kEpochsHi,
              {when("loss=implicit", {5, 10, 15, 20, 25, 30}),
               always({10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150})}, 0,
              "candidate epoch counts, all scored from one run per point (0 values: the default)",
              SIMDMF_ARRAY(tune, tune->space.epochs)),
        choice("tune_method", "tune", {"grid", "random"}, "grid",
               "grid: every k x lr x l2 point; random: k drawn from tune_k, lr and l2 log-uniform between the "
               "smallest and largest value given (l2 floored at 1e-4), every epoch count up to the largest of "
               "tune_epochs a candidate",
               SIMDMF_ENUM(tune, tune->options.method)),
        integer("tune_budget", "tune", 0, 1e6, {always(0)},
                "grid: 0 = every point, else a seeded random subset of that many points; random: number of runs "
                "(0 = 20)",
                SIMDMF_NUMBER(tune, tune->options.budget)),
        real("tune_valid_fraction", "tune", open(0), open(1), {always(0.1)},
             "share of the training data held out for validation", SIMDMF_NUMBER(tune, tune->options.valid_fraction)),
        integer("tune_seed", "tune", 0, 9007199254740992.0, {always(1)},
                "seed of the validation split and of the random choices", SIMDMF_NUMBER(tune, tune->options.seed)),
        integer("tune_parallel", "tune", 0, 1024, {always(1)},
                "runs trained at the same time, each with the trainer's threads (0: one per hardware thread)",
                SIMDMF_NUMBER(tune, tune->options.parallel)),
        integer("tune_extend", "tune", 0, 10, {always(3)},
                "rounds of extension past an edge: when the best run's k, lr or l2 is the smallest or largest "
                "of two or more values searched, or its epochs the largest candidate while still improving, the "
                "search adds the next value that way (the geometric step of the two outermost values, within "
                "the option's bounds; epochs: three more candidates), again while the best stays on an edge "
                "(random method: k and epochs only); 0: off",
                SIMDMF_NUMBER(tune, tune->options.extend)),
    };
    return r;
}

#undef SIMDMF_NUMBER
#undef SIMDMF_UNSET_IF_ZERO
#undef SIMDMF_ENUM
#undef SIMDMF_ARRAY

const Option& require(Target t, const std::string& key) {
    const Option* o = find(key);
    if (!o) fail(SIMDMF_ERR_UNKNOWN_OPTION, "unknown option '" + key + "'");
    if (o->bind.scope == Scope::tune && !t.tune)
        fail(SIMDMF_ERR_UNKNOWN_OPTION,
             "option '" + key + "' is a search setting of a trainer (simdmf_trainer_tune), not a training option");
    if (o->bind.scope == Scope::train && !t.train)
        fail(SIMDMF_ERR_UNKNOWN_OPTION, "option '" + key + "' is a training option, not available here");
    return *o;
}

std::string allowed_text(const Option& o) {
    std::string s;
    for (std::size_t i = 0; i < o.allowed.size(); ++i) {
        if (i) s += i + 1 == o.allowed.size() ? " or " : ", ";
        s += o.allowed[i];
    }
    return s;
}

[[noreturn]] void wrong_type(const Option& o, const char* wanted) {
    std::string is = o.type == Type::string ? "a string option (" + allowed_text(o) + ")"
                     : o.type == Type::array ? std::string("an array option")
                                             : std::string("a numeric option");
    fail(SIMDMF_ERR_UNKNOWN_OPTION, "option '" + o.name + "' is " + is + ", not " + wanted);
}

bool numeric(const Option& o) { return o.type == Type::integer || o.type == Type::real; }

// Whether every "key=value" of a case's condition holds for t (unavailable options at their default).
bool holds(const std::string& when, Target t) {
    TrainOptions defaults;
    if (!t.train) t.train = &defaults;
    std::size_t pos = 0;
    while (pos < when.size()) {
        std::size_t end = when.find(',', pos);
        if (end == std::string::npos) end = when.size();
        const std::string cond = when.substr(pos, end - pos);
        const std::size_t eq = cond.find('=');
        const std::string key = cond.substr(0, eq), value = cond.substr(eq + 1);
        const Option* o = find(key);
        std::string current;
        if (o->bind.scope == Scope::tune && !t.tune) current = static_default(*o).text;
        else current = get_string(t, key);
        if (current != value) return false;
        pos = end + 1;
    }
    return true;
}

}  // namespace

const std::vector<Option>& all() {
    static const std::vector<Option> rows = make_rows();
    return rows;
}

const Option* find(std::string_view name) {
    for (const Option& o : all())
        if (o.name == name) return &o;
    return nullptr;
}

const Case& default_case(const Option& o, Target t) {
    for (const Case& c : o.defaults)
        if (c.when.empty() || holds(c.when, t)) return c;
    return o.defaults.back();
}

const Case& static_default(const Option& o) { return o.defaults.back(); }

std::string number_text(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char b[40];
    if (v == std::floor(v) && std::fabs(v) < 1e6) {
        std::snprintf(b, sizeof b, "%.0f", v);
        return b;
    }
    for (int p = 1; p <= 17; ++p) {
        std::snprintf(b, sizeof b, "%.*g", p, v);
        if (std::strtod(b, nullptr) == v) break;
    }
    std::string s = b;
    // 1e+06 -> 1e6, 1e-05 -> 1e-5
    const std::size_t e = s.find('e');
    if (e != std::string::npos) {
        std::string mant = s.substr(0, e), ex = s.substr(e + 1);
        const bool neg = ex[0] == '-';
        if (ex[0] == '+' || ex[0] == '-') ex.erase(0, 1);
        while (ex.size() > 1 && ex[0] == '0') ex.erase(0, 1);
        s = mant + "e" + (neg ? "-" : "") + ex;
    }
    return s;
}

const char* type_name(Type t) {
    switch (t) {
        case Type::integer: return "int";
        case Type::real: return "real";
        case Type::string: return "string";
        case Type::array: return "array";
    }
    return "?";
}

std::string bounds_text(const Option& o) {
    if (o.type == Type::string) {
        std::string s;
        for (std::size_t i = 0; i < o.allowed.size(); ++i) s += (i ? " | \"" : "\"") + o.allowed[i] + "\"";
        return s;
    }
    if (o.lo.value == -kInf && o.hi.value == kInf) return "any";
    return std::string(o.lo.open ? "(" : "[") + number_text(o.lo.value) + ", " + number_text(o.hi.value) +
           (o.hi.open ? ")" : "]");
}

namespace {

std::string case_text(const Option& o, const Case& c) {
    if (o.type == Type::string) return "\"" + c.text + "\"";
    if (o.type != Type::array) return number_text(c.number);
    if (c.array.empty()) return "none";
    std::string s;
    for (std::size_t i = 0; i < c.array.size(); ++i) s += (i ? ", " : "") + number_text(c.array[i]);
    return s;
}

std::string condition_text(const std::string& when) {
    std::string s;
    std::size_t pos = 0;
    while (pos < when.size()) {
        std::size_t end = when.find(',', pos);
        if (end == std::string::npos) end = when.size();
        std::string cond = when.substr(pos, end - pos);
        const std::size_t eq = cond.find('=');
        s += (pos ? " and " : "") + cond.substr(0, eq) + " = " + cond.substr(eq + 1);
        pos = end + 1;
    }
    return s;
}

}  // namespace

std::string default_text(const Option& o) {
    if (o.defaults.size() == 1) return case_text(o, o.defaults[0]);
    std::string s;
    for (const Case& c : o.defaults) {
        if (!s.empty()) s += "; ";
        s += c.when.empty() ? "else " + case_text(o, c) : case_text(o, c) + " if " + condition_text(c.when);
    }
    return s;
}

void check_number(const Option& o, double v, const std::string& what) {
    const std::string range = " is outside " + bounds_text(o);
    if (std::isnan(v)) fail(SIMDMF_ERR_OUT_OF_RANGE, what + " = nan" + range);
    const bool below = o.lo.open ? !(v > o.lo.value) : !(v >= o.lo.value);
    const bool above = o.hi.open ? !(v < o.hi.value) : !(v <= o.hi.value);
    if (below)
        fail(SIMDMF_ERR_OUT_OF_RANGE, what + " = " + number_text(v) + range + ": it must be " +
                                          (o.lo.open ? "> " : ">= ") + number_text(o.lo.value));
    if (above)
        fail(SIMDMF_ERR_OUT_OF_RANGE, what + " = " + number_text(v) + range + ": it must be " +
                                          (o.hi.open ? "< " : "<= ") + number_text(o.hi.value));
    if (o.element == Type::integer && v != std::floor(v))
        fail(SIMDMF_ERR_OUT_OF_RANGE, what + " = " + number_text(v) + " must be an integer");
}

void set_number(Target t, const std::string& key, double value) {
    const Option& o = require(t, key);
    if (!numeric(o)) wrong_type(o, "a number");
    check_number(o, value, "option '" + key + "'");
    o.bind.set_number(t, value);
}

void set_string(Target t, const std::string& key, const std::string& value) {
    const Option& o = require(t, key);
    if (o.type != Type::string) wrong_type(o, "a string option");
    for (std::size_t i = 0; i < o.allowed.size(); ++i)
        if (o.allowed[i] == value) return o.bind.set_choice(t, i);
    fail(SIMDMF_ERR_OUT_OF_RANGE, "option '" + key + "' = '" + value + "': expected " + allowed_text(o));
}

void set_array(Target t, const std::string& key, const std::vector<double>& values) {
    const Option& o = require(t, key);
    if (o.type != Type::array) wrong_type(o, "an array option");
    if (values.size() < o.min_count)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "option '" + key + "' needs at least " + std::to_string(o.min_count) +
                                          (o.min_count == 1 ? " value" : " values"));
    for (double v : values) check_number(o, v, "option '" + key + "' value");
    o.bind.set_array(t, values);
}

double get_number(Target t, const std::string& key) {
    const Option& o = require(t, key);
    if (!numeric(o)) wrong_type(o, "a number");
    const double v = o.bind.get_number(t);
    return std::isnan(v) ? default_case(o, t).number : v;
}

std::string get_string(Target t, const std::string& key) {
    const Option& o = require(t, key);
    if (o.type != Type::string) wrong_type(o, "a string option");
    return o.allowed.at(o.bind.get_choice(t));
}

std::vector<double> get_array(Target t, const std::string& key) {
    const Option& o = require(t, key);
    if (o.type != Type::array) wrong_type(o, "an array option");
    std::vector<double> v = o.bind.get_array(t);
    return v.empty() ? default_case(o, t).array : v;
}

static std::vector<std::pair<std::string, std::string>> in_effect_text(const TrainOptions& opt) {  // TrainOptions::in_effect
    TrainOptions copy = opt;
    Target t{&copy, nullptr};
    std::vector<std::pair<std::string, std::string>> out;
    for (const Option& o : all()) {
        if (o.bind.scope != Scope::train) continue;
        std::string v;
        if (o.type == Type::string) {
            v = get_string(t, o.name);
        } else if (o.type == Type::array) {
            for (const double x : get_array(t, o.name)) {
                if (!v.empty()) v += ',';
                v += number_text(x);  // (appended: GCC 12 warns falsely (-Wrestrict) on "," + std::string&&)
            }
        } else {
            v = number_text(get_number(t, o.name));
        }
        out.emplace_back(o.name, std::move(v));
    }
    return out;
}

std::string render_header_block() {
    constexpr std::size_t kName = 20, kType = 11, kBounds = 20, kWidth = 108;
    auto pad = [](std::string s, std::size_t n) {
        if (s.size() < n) s.append(n - s.size(), ' ');
        else s += ' ';
        return s;
    };
    std::string out, group;
    for (const Option& o : all()) {
        if (o.group != group) {
            group = o.group;
            out += " * group " + group + ":\n";
        }
        std::string type = o.type == Type::array ? std::string(type_name(o.element)) + " array" : type_name(o.type);
        std::string line = " *   " + pad(o.name, kName) + pad(type, kType);
        std::string bounds = o.type == Type::array && o.lo.value == -kInf && o.hi.value == kInf ? "any"
                             : o.type == Type::array ? "each " + bounds_text(o) : bounds_text(o);
        // The doc line (and a default too long for the first line), wrapped under the type column.
        const std::string indent = " *   " + std::string(kName + 2, ' ');
        const std::string def = "default " + default_text(o);
        line += bounds;
        if (line.size() + 1 + def.size() <= kWidth) out += pad(line, line.size() + 1 < indent.size() + kType + kBounds ? indent.size() + kType + kBounds - 2 : line.size() + 1) + def + "\n";
        else out += line + "\n" + indent + def + "\n";
        std::string cur = indent;
        std::size_t pos = 0;
        const std::string& d = o.doc;
        while (pos < d.size()) {
            std::size_t sp = d.find(' ', pos);
            if (sp == std::string::npos) sp = d.size();
            const std::string word = d.substr(pos, sp - pos);
            if (cur.size() > indent.size() && cur.size() + 1 + word.size() > kWidth) {
                out += cur + "\n";
                cur = indent;
            }
            cur += (cur.size() > indent.size() ? " " : "") + word;
            pos = sp + 1;
        }
        if (cur.size() > indent.size()) out += cur + "\n";
    }
    return out;
}

}  // namespace simdmf::options

// ---- TrainOptions: keyed access through the registry ----------------------------------------------
namespace simdmf {

namespace {
options::Target train_target(const TrainOptions& o) { return {const_cast<TrainOptions*>(&o), nullptr}; }  // read only
}  // namespace

std::vector<std::pair<std::string, std::string>> TrainOptions::in_effect() const { return options::in_effect_text(*this); }

// tune::Space's defaults are the tune_* rows' defaults for `base` (the registry answers for tune.hpp too).
tune::Space tune::Space::defaults(const TrainOptions& base) {
    options::Target t{const_cast<TrainOptions*>(&base), nullptr};  // read only
    auto values = [&](const char* key) { return options::default_case(*options::find(key), t).array; };
    Space s;
    for (double v : values("tune_k")) s.k.push_back(static_cast<std::uint32_t>(v));
    s.lr = values("tune_lr");
    s.l2 = values("tune_l2");
    for (double v : values("tune_epochs")) s.epochs.push_back(static_cast<std::uint32_t>(v));
    return s;
}

void TrainOptions::set(const std::string& key, double value) { options::set_number({this, nullptr}, key, value); }
void TrainOptions::set(const std::string& key, const std::string& value) {
    options::set_string({this, nullptr}, key, value);
}
void TrainOptions::set(const std::string& key, const std::vector<double>& values) {
    options::set_array({this, nullptr}, key, values);
}
double TrainOptions::get(const std::string& key) const { return options::get_number(train_target(*this), key); }
std::string TrainOptions::get_string(const std::string& key) const {
    return options::get_string(train_target(*this), key);
}

// Logistic gradients are bounded by 1 and start near a saddle (small factors): SGD needs a larger
// step to leave it within the default epochs (0.01 underfits, 0.1 overfits on MovieLens-shaped data);
// the registry's "lr" row holds the defaults.
std::uint32_t TrainOptions::effective_epochs() const {
    if (epochs) return epochs;
    static const options::Option* row = options::find("epochs");
    return static_cast<std::uint32_t>(options::default_case(*row, train_target(*this)).number);
}

double TrainOptions::effective_lr() const {
    if (lr > 0) return lr;
    static const options::Option* row = options::find("lr");
    return options::default_case(*row, train_target(*this)).number;
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
