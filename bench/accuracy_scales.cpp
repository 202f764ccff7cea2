// Defaults against a tuned search at five rating scales (issue 10, item 16): a planted set (943 x 1682,
// 100,000 ratings, rank 5, MovieLens-shaped) mapped to 1..5, 0.5..5, 1..10, -10..10 and 0..100 (mean,
// biases, factors and noise (sd 0.9 on 1..5, about ML-100K's floor) stretched with the range; integer
// ratings except 0.5..5), split 80/20. For
// each scale: test RMSE with the defaults, with the defaults and normalize = 0 (before the fix), of the
// per-user mean, and of a grid search (lr 0.0025..0.04 x l2 0.01..0.2 x epochs 10..80, k 32, on a
// validation split of the training part only), then defaults / tuned. Results: docs/accuracy.md.
//   build/bench/accuracy_scales
#include <cmath>
#include <cstdio>
#include <vector>

#include "eval/evaluate.hpp"
#include "eval/split.hpp"
#include "eval/tune.hpp"
#include "solvers/trainer.hpp"
#include "synthetic.hpp"

using namespace simdmf;

namespace {

double rmse(const TrainOptions& o, const Ratings& tr, const Ratings& te) {
    return valid_metric(train(o, tr, nullptr).model, te);
}

double user_mean_rmse(const Ratings& tr, const Ratings& te) {
    std::vector<double> sum(tr.n_users, 0), n(tr.n_users, 0);
    for (std::size_t j = 0; j < tr.size(); ++j) {
        sum[tr.user[j]] += tr.value[j];
        n[tr.user[j]] += 1;
    }
    const double mu = tr.mean_value();
    double se = 0;
    for (std::size_t j = 0; j < te.size(); ++j) {
        const std::uint32_t u = te.user[j];
        const double p = n[u] > 0 ? sum[u] / n[u] : mu;
        se += (te.value[j] - p) * (te.value[j] - p);
    }
    return std::sqrt(se / static_cast<double>(te.size()));
}

}  // namespace

int main() {
    struct Scale {
        const char* name;
        double lo, hi;
        bool integer;
    } scales[] = {{"1..5", 1, 5, true}, {"0.5..5", 0.5, 5, false}, {"1..10", 1, 10, true},
                  {"-10..10", -10, 10, true}, {"0..100", 0, 100, true}};
    std::printf("| scale | defaults | defaults, normalize = 0 | per-user mean | tuned | tuned (lr, l2, epochs) | defaults / tuned |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const Scale& sc : scales) {
        const double w = (sc.hi - sc.lo) / 4.0;  // 1 on the 1..5 scale
        PlantedSpec s;
        s.mean = sc.lo + 2.5 * w;
        s.bias_std = 0.3 * w;
        s.noise_std = 0.9 * w;  // MovieLens-like: about the 0.9 RMSE floor of ML-100K
        s.factor_std = std::pow(5.0, -0.25) * std::sqrt(w);
        s.min_rating = sc.lo;
        s.max_rating = sc.hi;
        s.integer_ratings = sc.integer;
        s.seed = 2024;
        const Ratings all = make_planted(s);
        auto [tr, te] = split::random(all, 0.2, 1);
        TrainOptions def;
        const double d = rmse(def, tr, te);
        TrainOptions off;
        off.normalize = false;
        const double d0 = rmse(off, tr, te);
        tune::Space space;
        space.k = {32};
        space.lr = {0.0025, 0.005, 0.01, 0.02, 0.04};
        space.l2 = {0.01, 0.02, 0.05, 0.1, 0.2};
        space.epochs = {10, 20, 30, 40, 50, 60, 70, 80};
        tune::Options opt;
        opt.parallel = 2;
        const tune::Result res = tune::search(def, tr, space, opt);
        const double t = rmse(res.best_options, tr, te);
        std::printf("| %s | %.4f | %.4f | %.4f | %.4f | %g, %g, %u | %.3f |\n", sc.name, d, d0, user_mean_rmse(tr, te), t,
                    res.best_options.lr, res.best_options.l2, res.best_options.epochs, d / t);
        std::fflush(stdout);
    }
    return 0;
}
