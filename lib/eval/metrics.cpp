#include "eval/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

namespace simdmf::metrics {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

double rmse(const float* pred, const float* truth, std::size_t n) {
    if (n == 0) return kNaN;
    double s = 0;
    for (std::size_t k = 0; k < n; ++k) {
        double d = static_cast<double>(pred[k]) - static_cast<double>(truth[k]);
        s += d * d;
    }
    return std::sqrt(s / static_cast<double>(n));
}

double mae(const float* pred, const float* truth, std::size_t n) {
    if (n == 0) return kNaN;
    double s = 0;
    for (std::size_t k = 0; k < n; ++k) s += std::fabs(static_cast<double>(pred[k]) - truth[k]);
    return s / static_cast<double>(n);
}

double log_loss(const float* prob, const float* label_pm1, std::size_t n) {
    if (n == 0) return kNaN;
    constexpr double lo = 1e-7, hi = 1.0 - 1e-7;
    double s = 0;
    for (std::size_t k = 0; k < n; ++k) {
        double p = static_cast<double>(prob[k]);
        p = std::isnan(p) ? 0.5 : std::clamp(p, lo, hi);
        s -= label_pm1[k] > 0 ? std::log(p) : std::log1p(-p);
    }
    return s / static_cast<double>(n);
}

double accuracy(const float* prob, const float* label_pm1, std::size_t n) {
    if (n == 0) return kNaN;
    std::size_t right = 0;
    for (std::size_t k = 0; k < n; ++k) right += (prob[k] >= 0.5f) == (label_pm1[k] > 0);
    return static_cast<double>(right) / static_cast<double>(n);
}

double auc(const float* score, const float* label_pm1, std::size_t n) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    // NaN scores rank lowest (and tie with each other) so the sort stays a strict weak ordering.
    auto less = [&](std::size_t a, std::size_t b) {
        float x = score[a], y = score[b];
        return std::isnan(x) ? !std::isnan(y) : (!std::isnan(y) && x < y);
    };
    std::sort(order.begin(), order.end(), less);
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    double rank_sum = 0;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < n;) {
        std::size_t j = i;
        std::size_t pos_in_group = 0;
        while (j < n && !less(order[i], order[j])) {
            pos_in_group += label_pm1[order[j]] > 0;
            ++j;
        }
        double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
        rank_sum += avg_rank * static_cast<double>(pos_in_group);
        pos += pos_in_group;
        i = j;
    }
    std::size_t neg = n - pos;
    if (pos == 0 || neg == 0) return kNaN;
    double p = static_cast<double>(pos);
    double u = rank_sum - p * (p + 1) / 2.0;
    return u / (p * static_cast<double>(neg));
}

RankingMetrics ranking_at_k(const std::vector<std::vector<std::uint32_t>>& recommended,
                            const std::vector<std::vector<std::uint32_t>>& relevant, std::size_t k) {
    RankingMetrics m;
    if (k == 0) return m;
    // 1/log2(p+2) for p < k, computed once.
    std::vector<double> discount;
    std::unordered_set<std::uint32_t> rel, seen;
    for (std::size_t u = 0; u < relevant.size(); ++u) {
        if (relevant[u].empty()) continue;
        rel.clear();
        rel.insert(relevant[u].begin(), relevant[u].end());
        seen.clear();
        const std::vector<std::uint32_t> none;
        const auto& rec = u < recommended.size() ? recommended[u] : none;
        std::size_t len = std::min(k, rec.size());
        if (discount.size() < std::max(len, std::min(k, rel.size())))
            for (std::size_t p = discount.size(); p < std::max(len, std::min(k, rel.size())); ++p)
                discount.push_back(1.0 / std::log2(static_cast<double>(p) + 2.0));
        std::size_t hits = 0;
        double dcg = 0, ap = 0;
        for (std::size_t p = 0; p < len; ++p) {
            std::uint32_t it = rec[p];
            if (!seen.insert(it).second) continue;  // a repeat is never a second hit
            if (!rel.count(it)) continue;
            ++hits;
            dcg += discount[p];
            ap += static_cast<double>(hits) / static_cast<double>(p + 1);
        }
        std::size_t ideal_n = std::min(k, rel.size());
        double idcg = 0;
        for (std::size_t p = 0; p < ideal_n; ++p) idcg += discount[p];
        m.precision += static_cast<double>(hits) / static_cast<double>(k);
        m.recall += static_cast<double>(hits) / static_cast<double>(rel.size());
        m.ndcg += dcg / idcg;
        m.map += ap / static_cast<double>(ideal_n);
        ++m.users;
    }
    if (m.users > 0) {
        double c = static_cast<double>(m.users);
        m.precision /= c;
        m.recall /= c;
        m.ndcg /= c;
        m.map /= c;
    }
    return m;
}

MeanStd mean_std(const std::vector<double>& values) {
    MeanStd r;
    if (values.empty()) return {kNaN, kNaN};
    double s = 0;
    for (double v : values) s += v;
    r.mean = s / static_cast<double>(values.size());
    if (values.size() < 2) return r;
    double ss = 0;
    for (double v : values) ss += (v - r.mean) * (v - r.mean);
    r.stddev = std::sqrt(ss / static_cast<double>(values.size() - 1));
    return r;
}

}  // namespace simdmf::metrics
