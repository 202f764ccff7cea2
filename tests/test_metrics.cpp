#include <doctest/doctest.h>

#include <cmath>

#include "eval/metrics.hpp"

using namespace simdmf::metrics;

TEST_CASE("rmse and mae by hand") {
    const float pred[] = {1, 2, 3, 4};
    const float truth[] = {2, 2, 1, 5};
    // errors -1, 0, 2, -1: squares 1+0+4+1 = 6, abs 1+0+2+1 = 4
    CHECK(rmse(pred, truth, 4) == doctest::Approx(std::sqrt(6.0 / 4)));
    CHECK(mae(pred, truth, 4) == doctest::Approx(1.0));
    CHECK(rmse(pred, pred, 4) == 0.0);
    CHECK(std::isnan(rmse(pred, truth, 0)));
}

TEST_CASE("log_loss and accuracy") {
    const float prob[] = {0.8f, 0.3f, 0.6f, 0.1f};
    const float label[] = {1, -1, -1, 1};
    double want = -(std::log(0.8) + std::log(0.7) + std::log(0.4) + std::log(0.1)) / 4;
    CHECK(log_loss(prob, label, 4) == doctest::Approx(want).epsilon(1e-6));
    CHECK(accuracy(prob, label, 4) == doctest::Approx(0.5));
    // Clipping: a certain, wrong prediction costs -log(1e-7), not infinity.
    const float p1[] = {0.0f, 1.0f};
    const float l1[] = {1, -1};
    CHECK(log_loss(p1, l1, 2) == doctest::Approx(-std::log(1e-7)).epsilon(1e-6));
    const float p2[] = {1.0f};
    const float l2[] = {1};
    CHECK(log_loss(p2, l2, 1) == doctest::Approx(-std::log1p(-1e-7)));
    // Threshold 0.5 counts as positive.
    const float p3[] = {0.5f, 0.4999f};
    const float l3[] = {1, -1};
    CHECK(accuracy(p3, l3, 2) == 1.0);
}

TEST_CASE("auc with ties by hand") {
    // Positives: 0.8, 0.5; negatives: 0.5, 0.2. Pairs (pos, neg): (0.8,0.5)=1 (0.8,0.2)=1 (0.5,0.5)=1/2
    // (0.5,0.2)=1 -> 3.5 / 4 = 0.875.
    const float s[] = {0.8f, 0.5f, 0.5f, 0.2f};
    const float l[] = {1, 1, -1, -1};
    CHECK(auc(s, l, 4) == doctest::Approx(0.875));
    // All scores tied: 0.5. Perfect ranking: 1. Reversed: 0.
    const float t[] = {1, 1, 1, 1};
    CHECK(auc(t, l, 4) == doctest::Approx(0.5));
    const float perfect[] = {4, 3, 2, 1};
    CHECK(auc(perfect, l, 4) == 1.0);
    const float reversed[] = {1, 2, 3, 4};
    CHECK(auc(reversed, l, 4) == 0.0);
    // 0.75 case: positives {3, 1}, negatives {2, 0}: pairs 1,1,0,1 -> 3/4, order of input irrelevant.
    const float s2[] = {2, 3, 0, 1};
    const float l2[] = {-1, 1, -1, 1};
    CHECK(auc(s2, l2, 4) == doctest::Approx(0.75));
    // A tie group spanning both classes among others: pos {2, 2, 1}, neg {2, 0}.
    // pairs: (2,2)=.5 (2,0)=1 twice -> 3, (1,2)=0 (1,0)=1 -> 1: total 4 / 6.
    const float s3[] = {2, 2, 1, 2, 0};
    const float l3[] = {1, 1, 1, -1, -1};
    CHECK(auc(s3, l3, 5) == doctest::Approx(4.0 / 6.0));
    const float one_class[] = {1, 1};
    CHECK(std::isnan(auc(s, one_class, 2)));
}

TEST_CASE("ranking_at_k by hand") {
    // User 0: relevant {1, 5}; recommended [1, 2, 5]. k = 3.
    //   hits at positions 0 and 2: precision 2/3, recall 1,
    //   DCG = 1 + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3), AP = (1/1 + 2/3) / 2.
    // User 1: no relevant items: skipped.
    // User 2: relevant {7}; recommended [3, 7, 8]: hit at position 1:
    //   precision 1/3, recall 1, NDCG = (1/log2(3)) / 1, AP = (1/2) / min(3, 1).
    // User 3: relevant {1, 2, 3, 4}; recommended [9, 9]: no hits (and a short list): all 0.
    std::vector<std::vector<std::uint32_t>> rec = {{1, 2, 5}, {4}, {3, 7, 8}, {9, 9}};
    std::vector<std::vector<std::uint32_t>> rel = {{5, 1}, {}, {7}, {1, 2, 3, 4}};
    RankingMetrics m = ranking_at_k(rec, rel, 3);
    CHECK(m.users == 3);
    const double l3 = std::log2(3.0);
    CHECK(m.precision == doctest::Approx((2.0 / 3 + 1.0 / 3 + 0) / 3));
    CHECK(m.recall == doctest::Approx((1.0 + 1.0 + 0) / 3));
    CHECK(m.ndcg == doctest::Approx((1.5 / (1 + 1 / l3) + 1 / l3 + 0) / 3));
    CHECK(m.map == doctest::Approx(((1.0 + 2.0 / 3) / 2 + 0.5 + 0) / 3));

    // Fewer relevant items than k: the ideal DCG covers only them, so a perfect list scores 1.
    RankingMetrics p = ranking_at_k({{4, 8, 0, 1}}, {{8, 4}}, 4);
    CHECK(p.ndcg == doctest::Approx(1.0));
    CHECK(p.map == doctest::Approx(1.0));
    CHECK(p.precision == doctest::Approx(0.5));
    CHECK(p.recall == doctest::Approx(1.0));

    // k truncates the list; more relevant than k: recall uses |relevant|, MAP normalised by k.
    RankingMetrics t = ranking_at_k({{1, 2, 3, 4}}, {{1, 2, 3}}, 2);
    CHECK(t.precision == doctest::Approx(1.0));
    CHECK(t.recall == doctest::Approx(2.0 / 3));
    CHECK(t.map == doctest::Approx(1.0));
    CHECK(t.ndcg == doctest::Approx(1.0));

    // Duplicates in a list count once.
    RankingMetrics d = ranking_at_k({{1, 1}}, {{1, 2}}, 2);
    CHECK(d.precision == doctest::Approx(0.5));

    RankingMetrics none = ranking_at_k({{1}}, {{}}, 5);
    CHECK(none.users == 0);
    CHECK(none.ndcg == 0.0);
}

TEST_CASE("mean_std uses the sample standard deviation") {
    MeanStd m = mean_std({2, 4, 4, 4, 5, 5, 7, 9});
    CHECK(m.mean == doctest::Approx(5.0));
    CHECK(m.stddev == doctest::Approx(std::sqrt(32.0 / 7)));
    MeanStd one = mean_std({3});
    CHECK(one.mean == 3.0);
    CHECK(one.stddev == 0.0);
    CHECK(std::isnan(mean_std({}).mean));
}
