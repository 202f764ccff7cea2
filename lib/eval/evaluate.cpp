#include "eval/evaluate.hpp"
#include "serve/serve.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "common.hpp"
#include "eval/split.hpp"
#include "idspace.hpp"
#include "rng.hpp"
#include "serve/seen.hpp"
#include "solvers/negatives.hpp"
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

SampledMetrics sampled_ranking(const Model& m, const Ratings& test, const Ratings& train, const SampledOptions& opt) {
    if (opt.k < 1) fail(SIMDMF_ERR_INVALID_ARGUMENT, "sampled ranking needs k >= 1");
    if (opt.negatives < 1) fail(SIMDMF_ERR_INVALID_ARGUMENT, "sampled ranking needs at least one negative");
    const bool logistic = m.logistic();
    // Relevant test events per known user, in test order.
    std::vector<std::vector<std::uint32_t>> relevant(m.n_users);
    SampledMetrics res;
    for (std::size_t j = 0; j < test.size(); ++j) {
        const bool rel = logistic ? test.value[j] > 0.0f : test.value[j] >= opt.threshold;
        if (!rel) continue;
        if (test.user[j] >= m.n_users || test.item[j] >= m.n_items) ++res.skipped;
        else relevant[test.user[j]].push_back(test.item[j]);
    }
    const SeenItems seen = seen_union(train, test);
    const NegativeSampler sampler(seen, m.n_items);
    std::vector<double> hr(m.n_users, 0.0), ndcg(m.n_users, 0.0);
    std::vector<std::size_t> cases(m.n_users, 0), skipped(m.n_users, 0);
    parallel_for(m.n_users, opt.threads, [&](std::size_t uu) {
        const auto u = static_cast<std::uint32_t>(uu);
        if (relevant[u].empty()) return;
        if (sampler.unseen_count(u) == 0) {
            skipped[u] = relevant[u].size();
            return;
        }
        std::uint64_t state = opt.seed ^ (0x9E3779B97F4A7C15ull * (std::uint64_t(u) + 1));
        Rng rng(splitmix64(state));
        std::vector<std::uint32_t> items, users;
        std::vector<float> scores;
        for (std::uint32_t pos : relevant[u]) {
            items.assign(1, pos);
            sampler.draw_distinct(u, opt.negatives, rng, items);
            users.assign(items.size(), u);
            scores.resize(items.size());
            m.score_pairs(users.data(), items.data(), items.size(), scores.data());
            const float sp = scores[0];
            std::size_t rank = 0;
            for (std::size_t q = 1; q < items.size(); ++q)
                rank += scores[q] > sp || (scores[q] == sp && items[q] < pos) || std::isnan(sp);
            if (rank < opt.k) {
                hr[u] += 1.0;
                ndcg[u] += 1.0 / std::log2(static_cast<double>(rank) + 2.0);
            }
            ++cases[u];
        }
    });
    double h = 0, g = 0;
    for (std::uint32_t u = 0; u < m.n_users; ++u) {
        h += hr[u];
        g += ndcg[u];
        res.cases += cases[u];
        res.skipped += skipped[u];
    }
    res.hr = res.cases ? h / double(res.cases) : kNaN;
    res.ndcg = res.cases ? g / double(res.cases) : kNaN;
    return res;
}

MFModel popularity_model(const Ratings& train, std::uint32_t n_users, std::uint32_t n_items) {
    MFModel p;
    p.allocate(Loss::squared, 1, n_users, n_items, true);
    for (std::size_t j = 0; j < train.size(); ++j)
        if (train.item[j] < n_items) p.bi.data()[train.item[j]] += 1.0f;
    p.user_ids = train.user_ids;
    p.item_ids = train.item_ids;
    return p;
}

std::vector<std::string> undefined_notes(const Metrics& m, const Ratings& test, bool logistic) {
    std::vector<std::string> notes;
    std::size_t pos = 0;
    for (std::size_t j = 0; j < test.size(); ++j) pos += test.value[j] > 0.0f;
    for (const auto& [name, v] : m) {
        if (!std::isnan(v)) continue;
        std::string why;
        if (test.empty()) why = "the test set is empty";
        else if (name == "auc" && logistic)
            why = pos == test.size() ? "the test set has only positive labels (AUC needs both classes; "
                                       "for implicit data use the ranking metrics)"
                                     : "the test set has only negative labels (AUC needs both classes)";
        else if (name.rfind("sampled_", 0) == 0)
            why = "no relevant test event of a known user with an unseen item was counted";
        else if (name.find('@') != std::string::npos)
            why = "no test user has a relevant item (check --threshold)";
        else why = "no value could be computed";
        notes.push_back(name + " is undefined: " + why);
    }
    return notes;
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
    if (sampled_cases > 0 || has_sampled) r.emplace_back("sampled_cases", static_cast<double>(sampled_cases));
    for (const auto& [name, v] : baseline) r.emplace_back("popularity." + name, v);
    return r;
}

bool implicit_model(const Model& m) {
    for (const auto& [key, value] : m.train_options)
        if (key == "solver") return value == "bpr" || value == "lmf-neg";
    return false;
}

EvalResult evaluate_model(const Model& m, const Ratings& test_in, const Ratings* exclude, const EvalOptions& opt) {
    if (opt.rank_k > 0 && std::isnan(opt.threshold))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "the relevance threshold is NaN");
    check_model_space(test_in, m, "the test data set");
    if (exclude) check_model_space(*exclude, m, "the data set of items to exclude");
    // A model trained on events (bpr, lmf-neg) reads a test file of events: value > 0 is label +1.
    Ratings events;
    const bool implicit = implicit_model(m);
    if (implicit) {
        test_in.validate(false);
        events = test_in;
        for (float& v : events.value) v = v > 0.0f ? 1.0f : -1.0f;
    }
    const Ratings& test = implicit ? events : test_in;
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
        const std::string at = "@" + std::to_string(opt.rank_k);
        SampledOptions so;
        so.k = opt.rank_k;
        so.negatives = opt.negatives;
        so.seed = opt.sample_seed;
        so.threshold = opt.threshold;
        so.threads = opt.threads;
        if (exclude && opt.negatives > 0) {
            const SampledMetrics sm = sampled_ranking(m, *scored, *exclude, so);
            res.sampled_cases = sm.cases;
            res.has_sampled = true;
            res.metrics.emplace_back("sampled_hr" + at, sm.hr);
            res.metrics.emplace_back("sampled_ndcg" + at, sm.ndcg);
        }
        if (exclude && opt.popularity) {
            const MFModel pop = popularity_model(*exclude, m.n_users, m.n_items);
            ro.cold = false;
            Ratings known_part;
            const Ratings* pt = scored;
            if (res.cold > 0 && !res.left_out) {  // popularity has no fallback for new users: known ones only
                std::vector<std::size_t> rows;
                for (std::size_t j = 0; j < scored->size(); ++j)
                    if (scored->user[j] < m.n_users && scored->item[j] < m.n_items) rows.push_back(j);
                known_part = scored->subset(rows);
                known_part.n_users = std::min(known_part.n_users, m.n_users);
                known_part.n_items = std::min(known_part.n_items, m.n_items);
                pt = &known_part;
            }
            Ratings pos_part;  // popularity is MF: relevance by the same rule as the model's
            if (m.logistic()) {
                pos_part = *pt;
                for (auto& v : pos_part.value) v = v > 0.0f ? 1.0f : 0.0f;
                pt = &pos_part;
                ro.threshold = 0.5f;
                so.threshold = 0.5f;
            }
            const metrics::RankingMetrics pr = ranking(pop, *pt, ro);
            res.baseline = ranking_named(pr, opt.rank_k);
            if (opt.negatives > 0) {
                const SampledMetrics ps = sampled_ranking(pop, *pt, *exclude, so);
                res.baseline.emplace_back("sampled_hr" + at, ps.hr);
                res.baseline.emplace_back("sampled_ndcg" + at, ps.ndcg);
            }
        }
    }
    res.notes = undefined_notes(res.metrics, *scored, m.logistic());
    if (opt.rank_k > 0 && res.ranking_users == 0)
        res.notes.push_back("the ranking metrics are 0 over 0 users: no test user has a relevant item (check the "
                            "relevance threshold)");
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
