// Evaluation metrics: rating prediction (RMSE, MAE), binary classification (log-loss, accuracy, ROC AUC),
// top-k ranking (precision, recall, NDCG, MAP), and mean / sample standard deviation over runs.
// All sums are accumulated in double. An empty input gives NaN (no observations, no value).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace simdmf::metrics {

// sqrt(mean((pred - truth)^2)).
double rmse(const float* pred, const float* truth, std::size_t n);
// mean(|pred - truth|).
double mae(const float* pred, const float* truth, std::size_t n);

// Mean binary cross-entropy with labels +1 / -1 (a label > 0 counts as positive). Probabilities are
// clipped to [1e-7, 1 - 1e-7] so a confident mistake costs about 16.1, not infinity.
double log_loss(const float* prob, const float* label_pm1, std::size_t n);
// Fraction with (prob >= 0.5) == (label > 0).
double accuracy(const float* prob, const float* label_pm1, std::size_t n);
// ROC AUC: the probability that a random positive scores above a random negative, ties counting 1/2
// (Mann-Whitney U with average ranks). NaN when either class is absent.
double auc(const float* score, const float* label_pm1, std::size_t n);

struct RankingMetrics {
    double precision = 0, recall = 0, ndcg = 0, map = 0;  // means over the users counted
    std::size_t users = 0;                                // users with at least one relevant item
};

// Top-k metrics with binary relevance. recommended[u] is user u's ranked list (best first; only its
// first k entries are used; duplicates after the first occurrence count as misses), relevant[u] the
// user's relevant items (order irrelevant). Users with no relevant items (or beyond relevant.size()) are
// skipped; a missing recommended[u] counts as an empty list.
//   precision@k = hits / k            recall@k = hits / |relevant|
//   NDCG@k      = DCG / ideal DCG, DCG = sum over hit positions p (0-based) of 1/log2(p+2), the ideal
//                 DCG putting min(k, |relevant|) hits first
//   AP@k        = sum over hit positions p of precision@(p+1), divided by min(k, |relevant|)
// All four are 0 (users 0) when no user is counted.
RankingMetrics ranking_at_k(const std::vector<std::vector<std::uint32_t>>& recommended,
                            const std::vector<std::vector<std::uint32_t>>& relevant, std::size_t k);

struct MeanStd {
    double mean = 0, stddev = 0;
};
// Mean and sample standard deviation (n - 1 denominator; 0 for a single value, NaN/NaN for none).
MeanStd mean_std(const std::vector<double>& values);

}  // namespace simdmf::metrics
