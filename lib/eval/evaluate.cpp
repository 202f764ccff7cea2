#include "eval/evaluate.hpp"
#include "serve/serve.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "common.hpp"
#include "eval/split.hpp"
#include "idspace.hpp"
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

namespace {

Metrics point_metrics_of(const Model& m, const std::vector<float>& pred, const Ratings& test) {
    const std::size_t n = test.size();
    const float* p = pred.data();
    const float* y = test.value.data();
    if (m.logistic())
        return {{"log_loss", metrics::log_loss(p, y, n)}, {"auc", metrics::auc(p, y, n)},
                {"accuracy", metrics::accuracy(p, y, n)}};
    return {{"rmse", metrics::rmse(p, y, n)}, {"mae", metrics::mae(p, y, n)}};
}

}  // namespace

Metrics point_metrics(const Model& m, const Ratings& test) {
    check_indices(m, test);
    if (m.logistic() && !test.empty()) test.validate(true);
    return point_metrics_of(m, m.predict_pairs(test), test);
}

Metrics point_metrics_with_fallback(const Model& m, const Ratings& test) {
    if (m.logistic() && !test.empty()) test.validate(true);
    std::vector<float> pred(test.size());
    for (std::size_t j = 0; j < test.size(); ++j) pred[j] = m.predict_with_fallback(test.user[j], test.item[j]);
    return point_metrics_of(m, pred, test);
}

metrics::RankingMetrics ranking(const Model& m, const Ratings& test, const RankingOptions& opt) {
    if (opt.k < 1) fail(SIMDMF_ERR_INVALID_ARGUMENT, "ranking metrics need k >= 1");
    if (!opt.cold) {
        check_indices(m, test);
        if (opt.exclude) check_indices(m, *opt.exclude);
    }
    const bool logistic = m.logistic();
    // Relevant test items per user (users past the model's are new: cold).
    std::uint32_t n_users = m.n_users;
    for (std::uint32_t u : test.user) n_users = std::max(n_users, u + 1);
    std::vector<std::vector<std::uint32_t>> relevant(n_users);
    for (std::size_t j = 0; j < test.size(); ++j) {
        const bool rel = logistic ? test.value[j] > 0.0f : test.value[j] >= opt.threshold;
        if (rel) relevant[test.user[j]].push_back(test.item[j]);
    }
    std::vector<std::uint32_t> users;
    for (std::uint32_t u = 0; u < n_users; ++u)
        if (!relevant[u].empty()) users.push_back(u);
    const SeenItems seen = opt.exclude ? SeenItems(*opt.exclude) : SeenItems();
    std::vector<std::vector<std::uint32_t>> recommended(n_users);
    parallel_for(users.size(), opt.threads, [&](std::size_t j) {
        const std::uint32_t u = users[j];
        auto top = u < m.n_users ? serve::recommend(m, u, opt.k, seen.of(u)) : serve::recommend_new_user(m, opt.k, seen.of(u));
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

std::vector<float> predict_with_fallback(const Model& m, const Ratings& r, Cold cold, std::size_t* n_cold) {
    check_model_space(r, m, "the data set");
    std::vector<float> out(r.size());
    std::size_t c = 0;
    for (std::size_t j = 0; j < r.size(); ++j) {
        const bool known = r.user[j] < m.n_users && r.item[j] < m.n_items;
        c += !known;
        out[j] = known || cold == Cold::fallback ? m.predict_with_fallback(r.user[j], r.item[j])
                                                 : std::numeric_limits<float>::quiet_NaN();
    }
    if (n_cold) *n_cold = c;
    return out;
}

Metrics EvalResult::report(std::size_t rank_k) const {
    Metrics r = metrics;
    r.emplace_back("ratings", static_cast<double>(ratings));
    r.emplace_back("cold_ratings", static_cast<double>(cold));
    r.emplace_back("left_out", static_cast<double>(left_out));
    if (rank_k > 0) r.emplace_back("ranking_users", static_cast<double>(ranking_users));
    return r;
}

EvalResult evaluate_model(const Model& m, const Ratings& test, const Ratings* exclude, const EvalOptions& opt) {
    if (opt.rank_k > 0 && std::isnan(opt.threshold))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "the relevance threshold is NaN");
    check_model_space(test, m, "the test data set");
    if (exclude) check_model_space(*exclude, m, "the data set of items to exclude");
    test.validate(m.logistic());

    EvalResult res;
    std::vector<std::size_t> known;
    known.reserve(test.size());
    for (std::size_t j = 0; j < test.size(); ++j) {
        if (test.user[j] < m.n_users && test.item[j] < m.n_items) known.push_back(j);
        else ++res.cold;
    }
    Ratings kept;
    const Ratings* scored = &test;
    if (opt.cold == Cold::leave_out && res.cold > 0) {
        kept = test.subset(known);
        kept.n_users = std::min(kept.n_users, m.n_users);
        kept.n_items = std::min(kept.n_items, m.n_items);
        scored = &kept;
        res.left_out = res.cold;
    }
    res.ratings = scored->size();
    res.metrics = point_metrics_with_fallback(m, *scored);
    if (opt.rank_k > 0) {
        RankingOptions ro;
        ro.k = opt.rank_k;
        ro.threshold = opt.threshold;
        ro.exclude = exclude;
        ro.threads = opt.threads;
        ro.cold = true;
        const metrics::RankingMetrics rm = ranking(m, *scored, ro);
        res.ranking_users = rm.users;
        Metrics named = ranking_named(rm, opt.rank_k);
        res.metrics.insert(res.metrics.end(), named.begin(), named.end());
    }
    return res;
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
