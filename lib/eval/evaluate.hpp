// Evaluating models: point metrics on held-out ratings, top-k ranking metrics with training items
// excluded, and the k-fold cross-validation driver (train + evaluate per fold, mean and standard
// deviation per metric).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dataset.hpp"
#include "eval/metrics.hpp"
#include "models/mf.hpp"
#include "models/model.hpp"
#include "solvers/trainer.hpp"

namespace simdmf::evaluate {

// Metric name -> value, in a fixed order (the order results are printed in).
using Metrics = std::vector<std::pair<std::string, double>>;

// Value of a named metric, NaN when absent.
double find(const Metrics& m, const std::string& name);

// Point metrics of a model on ratings expressed in its indices (see align_ids): "rmse", "mae" for MF;
// "log_loss", "auc", "accuracy" for logistic (labels +1/-1). Empty `test`: the names with NaN values.
// Throws OUT_OF_RANGE when an index is beyond the model, INVALID_DATA for a logistic label other
// than +1/-1.
Metrics point_metrics(const Model& m, const Ratings& test);

// Point metrics that score pairs the model does not know (user index >= n_users or item index >=
// n_items: cold) with its fallback (Model::predict_with_fallback) instead of refusing them.
Metrics point_metrics_with_fallback(const Model& m, const Ratings& test);

struct RankingOptions {
    std::size_t k = 10;        // list length (>= 1)
    float threshold = 4.0f;    // MF: a test rating >= threshold is relevant; logistic: label +1 is
    const Ratings* exclude = nullptr;  // e.g. the training set: each user's items here are never
                                       // recommended (in the model's indices; may be null)
    unsigned threads = 1;      // users are split across this many threads (0: hardware threads)
    // Accept users and items beyond the model (cold): a new user's list ranks items by the fallback
    // score mu + b_i; a new item stays relevant but is never a candidate (the candidates are the
    // model's items). Off: OUT_OF_RANGE for such an index.
    bool cold = false;
};

// precision@k, recall@k, NDCG@k and MAP@k (metrics::ranking_at_k) of the model's top-k lists for the
// users that have at least one relevant rating in `test`; every item not excluded is a candidate.
metrics::RankingMetrics ranking(const Model& m, const Ratings& test, const RankingOptions& opt);

// The ranking metrics as named values: "precision@10", "recall@10", "ndcg@10", "map@10".
Metrics ranking_named(const metrics::RankingMetrics& r, std::size_t k);

// The sampled protocol of He et al. (NCF, WWW 2017): each relevant test event (user u, item i) is
// ranked against `negatives` distinct items u has in neither `train` nor `test` (NegativeSampler),
// drawn from a stream seeded by (seed, u) so the figures do not depend on the thread count. The rank r
// of i counts the negatives that score above it, and those that tie with a smaller item index;
// HR@k = mean(r < k), NDCG@k = mean(r < k ? 1 / log2(r + 2) : 0), over the events counted. Events of
// users or items beyond the model, and of users with no unseen item, are not counted (`skipped`).
struct SampledOptions {
    std::size_t k = 10;          // >= 1
    std::size_t negatives = 99;  // >= 1
    std::uint64_t seed = 1;
    float threshold = 4.0f;      // relevance, as RankingOptions (logistic: label +1)
    unsigned threads = 1;
};
struct SampledMetrics {
    double hr = 0, ndcg = 0;     // NaN when no event is counted
    std::size_t cases = 0, skipped = 0;
};
SampledMetrics sampled_ranking(const Model& m, const Ratings& test, const Ratings& train, const SampledOptions& opt);

// The popularity baseline as a model: MF with no factors whose score for (u, i) is the number of
// training events of item i (items ranked by popularity, ties to the smaller index, the same for every
// user), n_users x n_items of the model it is compared with.
MFModel popularity_model(const Ratings& train, std::uint32_t n_users, std::uint32_t n_items);

// Why a metric in `m` is NaN (undefined), one sentence per such metric: e.g. AUC on a test set of one
// class, sampled HR with no test event counted. Empty when every metric is defined.
std::vector<std::string> undefined_notes(const Metrics& m, const Ratings& test, bool logistic);

// Whether m was trained on implicit events (solver bpr or lmf-neg, recorded in its train_options):
// evaluate_model then reads test values > 0 as label +1, others as -1.
bool implicit_model(const Model& m);

// What evaluate_model does with test ratings whose user or item the model does not know.
enum class Cold { fallback, leave_out };

struct EvalOptions {
    std::size_t rank_k = 0;      // > 0: ranking metrics @rank_k
    float threshold = 4.0f;      // relevance threshold (MF; logistic: label +1)
    unsigned threads = 1;        // for the ranking metrics
    Cold cold = Cold::fallback;  // score cold ratings with the model's fallback, or leave them out
    // With `exclude` (the training set) and rank_k > 0: the sampled protocol with this many negatives
    // (0: off; the paper's 99) and the popularity baseline (popularity_model of `exclude`) measured the
    // same way.
    std::size_t negatives = 0;
    std::uint64_t sample_seed = 1;
    bool popularity = false;
};

struct EvalResult {
    Metrics metrics;                 // point metrics, then the ranking metrics @rank_k
    std::size_t ratings = 0;         // test ratings scored
    std::size_t cold = 0;            // test ratings naming a user or item the model does not know
    std::size_t left_out = 0;        // of those, left out (Cold::leave_out), else 0
    std::size_t ranking_users = 0;   // users with a relevant test rating (rank_k > 0)
    std::size_t sampled_cases = 0;   // events counted by the sampled protocol (negatives > 0)
    bool has_sampled = false;
    Metrics baseline;                // popularity's ranking metrics (same names), when asked for
    std::vector<std::string> notes;  // why a metric is undefined (NaN), one sentence each
    // metrics, then "ratings", "cold_ratings", "left_out", (rank_k > 0) "ranking_users", (negatives > 0)
    // "sampled_cases", then the baseline's metrics as "popularity.NAME".
    Metrics report(std::size_t rank_k) const;
};

// The evaluation workflow of the C ABI and the CLI: a model on a test set, ranking with `exclude`'s
// items (may be null) left out of each list. Both data sets must be in the model's id space (see
// idspace.hpp; INVALID_ARGUMENT naming the mismatch); a side without a map (the index space) must fit
// the model (OUT_OF_RANGE). Ratings whose user or item index is past the model's (the ids an aligned
// set adds) are cold: scored by the model's fallback, or left out. INVALID_DATA for non-finite values
// or (logistic) labels other than +1/-1; INVALID_ARGUMENT for a NaN threshold with rank_k > 0.
EvalResult evaluate_model(const Model& m, const Ratings& test, const Ratings* exclude, const EvalOptions& opt);

// Predictions for r's pairs (r in m's id space, as evaluate_model checks): cold pairs get the fallback,
// or NaN with Cold::leave_out; *n_cold (may be null) counts them.
std::vector<float> predict_with_fallback(const Model& m, const Ratings& r, Cold cold, std::size_t* n_cold);

struct CvOptions {
    unsigned folds = 5;       // >= 2
    std::uint64_t seed = 1;   // of the fold assignment
    unsigned parallel = 1;    // folds trained at the same time (each with TrainOptions::threads)
    std::size_t rank_k = 0;   // > 0: add ranking metrics @rank_k (training items of the fold excluded)
    float threshold = 4.0f;   // relevance threshold for the ranking metrics (MF)
    // Called after every epoch of every fold (fold 0-based); may be called from several worker
    // threads at once when parallel > 1. Return false to cancel the whole run (CANCELLED is thrown).
    std::function<bool(unsigned fold, const EpochInfo& epoch)> on_epoch;
};

struct CvFold {
    Metrics metrics;          // test metrics of this fold
    std::size_t train_size = 0, test_size = 0;
    std::size_t epochs = 0;   // epochs run
    double seconds = 0;       // training time
};

struct CvResult {
    std::vector<CvFold> folds;
    // Per metric (same order as each fold's metrics): mean and sample standard deviation over folds.
    std::vector<std::pair<std::string, metrics::MeanStd>> summary;
};

// Called after each finished fold (from the calling thread when parallel == 1, otherwise from a
// worker, never concurrently): folds done so far and the total.
using FoldCallback = std::function<void(unsigned done, unsigned total, const CvFold& fold)>;

// k-fold cross-validation: each fold trains `opt` on the other folds (no validation data, so
// patience does not apply) and measures point_metrics (and ranking metrics) on its test part.
// Throws what split::kfold_assignment / train throw, and Error(SIMDMF_CANCELLED) when on_epoch says stop.
CvResult cross_validate(const TrainOptions& opt, const Ratings& data, const CvOptions& cv,
                        const FoldCallback& callback = {});

}  // namespace simdmf::evaluate
