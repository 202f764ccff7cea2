#include "eval/evaluate.hpp"
#include "serve/serve.hpp"

#include <cmath>
#include <limits>
#include <mutex>

#include "common.hpp"
#include "eval/split.hpp"
#include "serve/seen.hpp"
#include "task_pool.hpp"

namespace simdmf::evaluate {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_indices(const Model& m, const Ratings& r) {
    if (r.n_users > m.n_users || r.n_items > m.n_items)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "the data set has more users or items than the model");
}

}  // namespace

double find(const Metrics& m, const std::string& name) {
    for (const auto& [k, v] : m)
        if (k == name) return v;
    return kNaN;
}

Metrics point_metrics(const Model& m, const Ratings& test) {
    check_indices(m, test);
    const bool logistic = m.logistic();
    if (logistic && !test.empty()) test.validate(true);
    const std::size_t n = test.size();
    std::vector<float> pred = m.predict_pairs(test);
    const float* p = pred.data();
    const float* y = test.value.data();
    if (logistic)
        return {{"log_loss", metrics::log_loss(p, y, n)}, {"auc", metrics::auc(p, y, n)},
                {"accuracy", metrics::accuracy(p, y, n)}};
    return {{"rmse", metrics::rmse(p, y, n)}, {"mae", metrics::mae(p, y, n)}};
}

metrics::RankingMetrics ranking(const Model& m, const Ratings& test, const RankingOptions& opt) {
    if (opt.k < 1) fail(SIMDMF_ERR_INVALID_ARGUMENT, "ranking metrics need k >= 1");
    check_indices(m, test);
    if (opt.exclude) check_indices(m, *opt.exclude);
    const bool logistic = m.logistic();
    // Relevant test items per user.
    std::vector<std::vector<std::uint32_t>> relevant(m.n_users);
    for (std::size_t j = 0; j < test.size(); ++j) {
        const bool rel = logistic ? test.value[j] > 0.0f : test.value[j] >= opt.threshold;
        if (rel) relevant[test.user[j]].push_back(test.item[j]);
    }
    std::vector<std::uint32_t> users;
    for (std::uint32_t u = 0; u < m.n_users; ++u)
        if (!relevant[u].empty()) users.push_back(u);
    const SeenItems seen = opt.exclude ? SeenItems(*opt.exclude) : SeenItems();
    std::vector<std::vector<std::uint32_t>> recommended(m.n_users);
    parallel_for(users.size(), opt.threads, [&](std::size_t j) {
        const std::uint32_t u = users[j];
        auto top = simdmf::serve::recommend(m, u, opt.k, seen.of(u));
        auto& out = recommended[u];
        out.reserve(top.size());
        for (const auto& [item, score] : top) out.push_back(item);
    });
    return metrics::ranking_at_k(recommended, relevant, opt.k);
}

Metrics ranking_named(const metrics::RankingMetrics& r, std::size_t k) {
    // Appends rather than operator+ on a literal: GCC 12 -O2 gives a -Wrestrict false positive there.
    auto name = [k](const char* metric) {
        std::string s(metric);
        s.append(1, '@');
        s.append(std::to_string(k));
        return s;
    };
    return {{name("precision"), r.precision}, {name("recall"), r.recall}, {name("ndcg"), r.ndcg}, {name("map"), r.map}};
}

CvResult cross_validate(const TrainOptions& opt, const Ratings& data, const CvOptions& cv,
                        const FoldCallback& callback) {
    const std::vector<std::uint32_t> fold_of = split::kfold_assignment(data.size(), cv.folds, cv.seed);
    CvResult res;
    res.folds.resize(cv.folds);
    std::mutex done_mutex;
    unsigned done = 0;
    parallel_for(cv.folds, cv.parallel, [&](std::size_t f) {
        CvFold fold;
        {
            auto [train_part, test_part] = split::kfold_part(data, fold_of, static_cast<unsigned>(f));
            fold.train_size = train_part.size();
            fold.test_size = test_part.size();
            EpochCallback cb;
            if (cv.on_epoch) cb = [&cv, f](const EpochInfo& e) { return cv.on_epoch(static_cast<unsigned>(f), e); };
            TrainResult tr = train(opt, train_part, nullptr, cb);
            if (tr.status == SIMDMF_CANCELLED) fail(SIMDMF_CANCELLED, "cross-validation cancelled");
            fold.epochs = tr.history.size();
            fold.seconds = tr.history.empty() ? 0.0 : tr.history.back().elapsed_seconds;
            fold.metrics = point_metrics(tr.model, test_part);
            if (cv.rank_k > 0) {
                RankingOptions ro;
                ro.k = cv.rank_k;
                ro.threshold = cv.threshold;
                ro.exclude = &train_part;
                ro.threads = 1;
                Metrics rk = ranking_named(ranking(tr.model, test_part, ro), cv.rank_k);
                fold.metrics.insert(fold.metrics.end(), rk.begin(), rk.end());
            }
        }
        std::lock_guard<std::mutex> lock(done_mutex);
        res.folds[f] = std::move(fold);
        ++done;
        if (callback) callback(done, cv.folds, res.folds[f]);
    });
    for (std::size_t k = 0; k < res.folds[0].metrics.size(); ++k) {
        std::vector<double> values;
        for (const auto& fold : res.folds) values.push_back(fold.metrics[k].second);
        res.summary.emplace_back(res.folds[0].metrics[k].first, metrics::mean_std(values));
    }
    return res;
}

}  // namespace simdmf::evaluate
