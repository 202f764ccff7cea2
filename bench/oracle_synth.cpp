// Oracle floors of the issue-4 synthetic set (large_preset(), the set of bench_train_synth): how well
// could ANY method do on its test ratings, given more than a trainer ever has?
//
//   build-perf/bench/oracle_synth            # about 10 s
//
// 1. True scores known (U and V): the Bayes predictor E[clip(3 + s + e, 1, 5) | s], its test RMSE, and
//    the test AUC of s against the binarised labels (rating >= 4, i.e. s + e >= 1).
// 2. V known exactly, each user's u inferred from that user's training ratings with the true prior
//    u ~ N(0, 10^-0.5 I) and the true likelihood (Gaussian noise sd 0.5, censored at 1 and 5; for the
//    binarised set the probit P(+1 | s) = Phi((s - 1) / 0.5)): MAP by Newton's method, Laplace
//    covariance S, and the posterior-predictive prediction (E[clip] over s ~ N(u.v, v'Sv) plus the
//    noise; for labels Phi((u.v - 1) / sqrt(0.25 + v'Sv))). Knowing V exactly is strictly more than
//    a trainer knows, so these figures bound from below (RMSE) and above (AUC) what any trainer can
//    reach on this test set, up to the Laplace approximation (a nearly Gaussian posterior: ~100
//    ratings for 10 unknowns) and the sampling error of 500,000 test ratings (~0.001). Also printed:
//    the MAP point estimate's plug-in prediction (mean + u.v; score u.v), which is what an MF model
//    that had found V exactly would predict.
// 3. The same with U known and each item's v inferred (items have ~500 ratings: a weaker bound).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "eval/metrics.hpp"
#include "eval/split.hpp"
#include "synthetic.hpp"

using namespace simdmf;

namespace {

constexpr double kPi = 3.14159265358979323846;
std::size_t g_not_converged = 0;  // rows whose Newton iteration did not settle (printed; expected 0)

double phi(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2 * kPi); }
double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
// phi(z) / Phi(z), stable for very negative z.
double mills(double z) {
    if (z < -30) return -z;  // asymptotic: Phi(z) ~ phi(z)/(-z)
    return phi(z) / Phi(z);
}

// E[clip(X, a, b)] for X ~ N(m, t^2).
double mean_clipped(double m, double t, double a, double b) {
    const double al = (a - m) / t, be = (b - m) / t;
    return a * Phi(al) + b * (1 - Phi(be)) + m * (Phi(be) - Phi(al)) + t * (phi(al) - phi(be));
}

// In-place Cholesky of an n x n SPD matrix (lower); returns false when not positive definite.
bool cholesky(std::vector<double>& A, int n) {
    for (int j = 0; j < n; ++j) {
        double d = A[j * n + j];
        for (int k = 0; k < j; ++k) d -= A[j * n + k] * A[j * n + k];
        if (d <= 0) return false;
        d = std::sqrt(d);
        A[j * n + j] = d;
        for (int i = j + 1; i < n; ++i) {
            double s = A[i * n + j];
            for (int k = 0; k < j; ++k) s -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = s / d;
        }
    }
    return true;
}
// Solves L L' x = b with the factor from cholesky().
void chol_solve(const std::vector<double>& L, int n, std::vector<double>& b) {
    for (int i = 0; i < n; ++i) {
        double s = b[i];
        for (int k = 0; k < i; ++k) s -= L[i * n + k] * b[k];
        b[i] = s / L[i * n + i];
    }
    for (int i = n - 1; i >= 0; --i) {
        double s = b[i];
        for (int k = i + 1; k < n; ++k) s -= L[k * n + i] * b[k];
        b[i] = s / L[i * n + i];
    }
}

// One observation's log-likelihood derivatives in the score s (d1 = dlog/ds, d2 = d2log/ds2).
struct Lik {
    bool labels;    // binarised: value is +1 / -1, P(+1 | s) = Phi((s - 1) / sd)
    double mean, sd, lo, hi;
    void derivs(double value, double s, double& d1, double& d2) const {
        if (labels) {
            const double sign = value > 0 ? 1.0 : -1.0;  // log Phi(sign * (s - 1) / sd)
            const double z = sign * (s - 1.0) / sd, l = mills(z);
            d1 = sign * l / sd;
            d2 = -l * (z + l) / (sd * sd);
        } else if (value <= lo) {  // censored below: log Phi((lo - mean - s) / sd)
            const double z = (lo - mean - s) / sd, l = mills(z);
            d1 = -l / sd;
            d2 = -l * (z + l) / (sd * sd);
        } else if (value >= hi) {  // censored above: log Phi((mean + s - hi) / sd)
            const double z = (mean + s - hi) / sd, l = mills(z);
            d1 = l / sd;
            d2 = -l * (z + l) / (sd * sd);
        } else {
            d1 = (value - mean - s) / (sd * sd);
            d2 = -1.0 / (sd * sd);
        }
    }
};

// Posterior of one row x (rank r) given rows W[j] of the other side (known) and values y[j]:
// MAP by Newton's method from 0 (the log-posterior is concave), then S = (-Hessian)^-1, kept as the
// Cholesky factor of -H.
struct RowPosterior {
    std::vector<double> x, L;  // mean, Cholesky factor of the precision
    bool converged = false;
};
RowPosterior infer_row(const Lik& lik, int r, double prior_var, const std::vector<const float*>& W,
                       const std::vector<float>& y) {
    RowPosterior post{std::vector<double>(r, 0.0), std::vector<double>(r * r), false};
    std::vector<double> g(r), H(r * r);
    for (int it = 0; it < 50; ++it) {
        for (int a = 0; a < r; ++a) g[a] = -post.x[a] / prior_var;
        for (int a = 0; a < r * r; ++a) H[a] = (a % (r + 1) == 0) ? 1.0 / prior_var : 0.0;  // -Hessian
        for (std::size_t j = 0; j < W.size(); ++j) {
            double s = 0;
            for (int a = 0; a < r; ++a) s += post.x[a] * W[j][a];
            double d1, d2;
            lik.derivs(y[j], s, d1, d2);
            for (int a = 0; a < r; ++a) {
                g[a] += d1 * W[j][a];
                for (int b = 0; b <= a; ++b) H[a * r + b] -= d2 * W[j][a] * W[j][b];
            }
        }
        for (int a = 0; a < r; ++a)
            for (int b = a + 1; b < r; ++b) H[a * r + b] = H[b * r + a];
        post.L = H;
        if (!cholesky(post.L, r)) break;  // cannot happen: log-concave likelihood plus a proper prior
        std::vector<double> step = g;
        chol_solve(post.L, r, step);
        double norm = 0;
        for (int a = 0; a < r; ++a) post.x[a] += step[a], norm += step[a] * step[a];
        if (norm < 1e-20) {
            post.converged = true;
            break;
        }
    }
    return post;
}

// v' S v with S = (L L')^-1: |L^-1 v|^2.
double quad_inv(const std::vector<double>& L, int r, const float* v) {
    std::vector<double> t(r);
    double q = 0;
    for (int i = 0; i < r; ++i) {
        double s = v[i];
        for (int k = 0; k < i; ++k) s -= L[i * r + k] * t[k];
        t[i] = s / L[i * r + i];
        q += t[i] * t[i];
    }
    return q;
}

// Side-known oracle: infer every row of one side from its training ratings given the other side's
// true rows, and return the test predictions (rating scale or probabilities).
// `point` receives the plug-in predictions of the MAP row alone (mean + u.v, or the score u.v for
// labels): what a point-estimate trainer would predict if it had found V exactly.
std::vector<float> oracle(const Lik& lik, const PlantedTruth& t, const PlantedSpec& spec, const Ratings& train,
                          const Ratings& test, bool infer_users, std::vector<float>& point, std::vector<float>& clipped,
                          std::vector<float>& plugin) {
    const int r = static_cast<int>(t.rank);
    const std::uint32_t n_rows = infer_users ? train.n_users : train.n_items;
    const std::vector<float>& known = infer_users ? t.V : t.U;
    std::vector<std::vector<std::uint32_t>> by_row(n_rows);
    for (std::size_t j = 0; j < train.size(); ++j) by_row[infer_users ? train.user[j] : train.item[j]].push_back(std::uint32_t(j));
    std::vector<std::vector<std::uint32_t>> test_by_row(n_rows);
    for (std::size_t j = 0; j < test.size(); ++j) test_by_row[infer_users ? test.user[j] : test.item[j]].push_back(std::uint32_t(j));
    const double prior_var = spec.factor_std * spec.factor_std;
    std::vector<float> pred(test.size());
    point.assign(test.size(), 0.0f);
    clipped.assign(test.size(), 0.0f);
    plugin.assign(test.size(), 0.0f);
    std::vector<const float*> W;
    std::vector<float> y;
    for (std::uint32_t row = 0; row < n_rows; ++row) {
        W.clear();
        y.clear();
        for (std::uint32_t j : by_row[row]) {
            const std::uint32_t other = infer_users ? train.item[j] : train.user[j];
            W.push_back(&known[std::size_t(other) * r]);
            y.push_back(train.value[j]);
        }
        const RowPosterior post = infer_row(lik, r, prior_var, W, y);
        if (!post.converged) ++g_not_converged;
        for (std::uint32_t j : test_by_row[row]) {
            const std::uint32_t other = infer_users ? test.item[j] : test.user[j];
            const float* w = &known[std::size_t(other) * r];
            double m = 0;
            for (int a = 0; a < r; ++a) m += post.x[a] * w[a];
            point[j] = static_cast<float>(lik.labels ? m : lik.mean + m);
            clipped[j] = static_cast<float>(lik.labels ? m : std::fmin(std::fmax(lik.mean + m, lik.lo), lik.hi));
            plugin[j] = static_cast<float>(lik.labels ? m : mean_clipped(lik.mean + m, lik.sd, lik.lo, lik.hi));
            const double var = quad_inv(post.L, r, w) + lik.sd * lik.sd;
            pred[j] = static_cast<float>(lik.labels ? Phi((m - 1.0) / std::sqrt(var))
                                                    : mean_clipped(lik.mean + m, std::sqrt(var), lik.lo, lik.hi));
        }
    }
    return pred;
}

}  // namespace

int main() {
    const auto t0 = std::chrono::steady_clock::now();
    const PlantedSpec spec = large_preset();
    PlantedTruth truth;
    Ratings all = make_planted(spec, &truth);
    auto [train, test] = split::random(all, kLargeTestFraction, kLargeSplitSeed);
    all = Ratings{};
    const Ratings train_bin = binarize(train, 4.0f), test_bin = binarize(test, 4.0f);
    const int r = static_cast<int>(truth.rank);
    std::printf("# oracle floors of the issue-4 set: %zu train, %zu test ratings, rank %d, noise sd %.2f\n", train.size(),
                test.size(), r, spec.noise_std);

    // 1. True scores.
    std::vector<float> bayes(test.size()), score(test.size());
    for (std::size_t j = 0; j < test.size(); ++j) {
        double s = 0;
        for (int a = 0; a < r; ++a) s += double(truth.U[std::size_t(test.user[j]) * r + a]) * truth.V[std::size_t(test.item[j]) * r + a];
        score[j] = static_cast<float>(s);
        bayes[j] = static_cast<float>(mean_clipped(spec.mean + s, spec.noise_std, spec.min_rating, spec.max_rating));
    }
    std::printf("%-44s test RMSE %.4f   test AUC %.4f\n", "U and V known (Bayes floor):", metrics::rmse(bayes.data(), test.value.data(), test.size()),
                metrics::auc(score.data(), test_bin.value.data(), test.size()));

    // 2, 3. One side known, the other inferred.
    const Lik ratings_lik{false, spec.mean, spec.noise_std, spec.min_rating, spec.max_rating};
    const Lik labels_lik{true, spec.mean, spec.noise_std, spec.min_rating, spec.max_rating};
    for (bool users : {true, false}) {
        std::vector<float> rp, lp, rc, lc, rg, lg;
        const std::vector<float> pr = oracle(ratings_lik, truth, spec, train, test, users, rp, rc, rg);
        const std::vector<float> pl = oracle(labels_lik, truth, spec, train_bin, test_bin, users, lp, lc, lg);
        std::printf("%-44s test RMSE %.4f   test AUC %.4f\n",
                    users ? "V known, each user inferred (posterior):" : "U known, each item inferred (posterior):",
                    metrics::rmse(pr.data(), test.value.data(), test.size()),
                    metrics::auc(pl.data(), test_bin.value.data(), test.size()));
        std::printf("%-44s test RMSE %.4f   test AUC %.4f\n", "  the same, MAP point estimate only:",
                    metrics::rmse(rp.data(), test.value.data(), test.size()),
                    metrics::auc(lp.data(), test_bin.value.data(), test.size()));
        std::printf("%-44s test RMSE %.4f\n", "  MAP, prediction clipped to [1, 5]:", metrics::rmse(rc.data(), test.value.data(), test.size()));
        std::printf("%-44s test RMSE %.4f\n", "  MAP, prediction E[clip(mean + u.v + noise)]:",
                    metrics::rmse(rg.data(), test.value.data(), test.size()));
    }
    std::printf("# rows whose Newton iteration did not converge: %zu\n", g_not_converged);
    std::printf("# %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
}
