// Explicit alternating least squares (solver "als"): a sweep (one epoch) solves every user's row
// exactly with the items fixed, then every item's row with the users fixed.
//
// Row problem (users; items alike). With biases the unknowns are x = [p_u, b_u] and the features of a
// rating (u, i) are f_i = [q_i, 1] with offset c_i = mu + b_i (the factor is augmented with a constant
// 1, so the bias is solved jointly with the factors, not by a separate update); without biases x = p_u,
// f_i = q_i, c_i = 0. Squared loss:
//   minimise  sum_{i in I(u)} 1/2 (r_ui - c_i - f_i.x)^2 + 1/2 x' R x,
//   R = diag(l2, ..., l2, l2_bias) * (als_weighted_lambda ? n_u : 1)
// solved by (sum f_i f_i' + R) x = sum (r_ui - c_i) f_i. With als_weighted_lambda = 1 (default) each
// row is regularised by lambda * n_u (Zhou et al. 2008, "weighted-lambda-regularization", as Spark
// MLlib does): this is exactly the objective the SGD and GD solvers minimise (trainer.hpp's J, per-rating
// L2), so ALS and SGD minimise the same J. With 0, lambda per row (the classic ridge ALS, MAP of a
// Gaussian prior). A ridge of 1e-6 times the Gram's mean diagonal is added to every system, so rows with
// fewer ratings than unknowns and l2 = 0 stay solvable. Logistic loss: one Newton step per row and
// half-sweep from the current row (the Gram weighted by p(1-p), the right-hand side in IRLS form), on
// the same objective.
//
// The fixed side is first copied into feature rows [factors, 1, 0...] (stride padded to 16) with their
// offsets; the Gram and the solve are the kernel table's gram / cholesky / cholesky_solve
// (lib/linalg.hpp). Rows are independent: threads take chunks of rows, and each row's result depends
// only on the fixed side and its own ratings (in input order), so the model is bit-identical for any
// thread count; the epoch's loss (mean squared error of the scores, or mean cross-entropy, after the
// item half) is summed per chunk, then over chunks in order.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/kernels.hpp"
#include "linalg.hpp"
#include "objective.hpp"
#include "solvers/solvers.hpp"
#include "task_pool.hpp"

namespace simdmf {

namespace {

// Ratings grouped by row (user or item): row r's ratings are [start[r], start[r+1]) of other / value,
// in input order.
struct RowIndex {
    std::vector<std::size_t> start;
    std::vector<std::uint32_t> other;
    std::vector<float> value;
};

RowIndex group_by(const Ratings& r, bool users) {
    const std::uint32_t n = users ? r.n_users : r.n_items;
    const std::vector<std::uint32_t>& key = users ? r.user : r.item;
    const std::vector<std::uint32_t>& oth = users ? r.item : r.user;
    RowIndex g;
    g.start.assign(std::size_t(n) + 1, 0);
    for (std::uint32_t k : key) ++g.start[std::size_t(k) + 1];
    for (std::size_t j = 0; j < n; ++j) g.start[j + 1] += g.start[j];
    std::vector<std::size_t> pos(g.start.begin(), g.start.end() - 1);
    g.other.resize(r.size());
    g.value.resize(r.size());
    for (std::size_t j = 0; j < r.size(); ++j) {
        const std::size_t p = pos[key[j]]++;
        g.other[p] = oth[j];
        g.value[p] = r.value[j];
    }
    return g;
}

constexpr std::size_t kChunk = 256;  // rows per task

class AlsSolver {
public:
    AlsSolver(const TrainOptions& opt, const Ratings& train, MFModel& m)
        : opt_(opt), m_(m), by_user_(group_by(train, true)), by_item_(group_by(train, false)) {
        d_ = m.k + (m.biases ? 1 : 0);
        fs_ = padded_stride(static_cast<std::uint32_t>(d_));
        logistic_ = m.logistic();
        threads_ = resolve_threads(opt.threads);
        n_ = static_cast<double>(train.size());
    }

    // One sweep; returns the mean data loss after it.
    double sweep() {
        half(true);
        return half(false);
    }

private:
    // Solves every row of one side (users: true) with the other side fixed; returns the mean loss of
    // the ratings at the new rows.
    double half(bool users) {
        const RowIndex& g = users ? by_user_ : by_item_;
        const std::uint32_t n_fixed = users ? m_.n_items : m_.n_users;
        const std::uint32_t n_rows = users ? m_.n_users : m_.n_items;
        // Feature rows of the fixed side: [factors, 1 (biases), zeros to fs_], and their offsets.
        F_.assign(std::size_t(n_fixed) * fs_, 0.0f);
        off_.assign(n_fixed, 0.0f);
        for (std::uint32_t r = 0; r < n_fixed; ++r) {
            const float* src = users ? m_.item_row(r) : m_.user_row(r);
            float* dst = F_.data() + std::size_t(r) * fs_;
            std::copy(src, src + m_.k, dst);
            if (m_.biases) {
                dst[m_.k] = 1.0f;
                off_[r] = m_.mu + (users ? m_.bi[r] : m_.bu[r]);
            }
        }
        const std::size_t chunks = (n_rows + kChunk - 1) / kChunk;
        chunk_loss_.assign(chunks, 0.0);
        parallel_for(chunks, threads_, [&](std::size_t c) {
            chunk_loss_[c] = solve_rows(users, g, static_cast<std::uint32_t>(c * kChunk),
                                        static_cast<std::uint32_t>(std::min<std::size_t>(n_rows, (c + 1) * kChunk)));
        });
        double sum = 0.0;
        for (double l : chunk_loss_) sum += l;
        return sum / n_;
    }

    double solve_rows(bool users, const RowIndex& g, std::uint32_t r0, std::uint32_t r1) {
        const auto& kt = kernels::active();
        linalg::NormalEquations ne(d_);
        std::vector<const float*> rows;
        std::vector<float> c, w, reg(d_);
        AlignedFloats x(fs_, 0.0f);
        double loss = 0.0;
        for (std::uint32_t r = r0; r < r1; ++r) {
            const std::size_t b = g.start[r], e = g.start[std::size_t(r) + 1], m = e - b;
            float* p = users ? m_.user_row(r) : m_.item_row(r);
            float* bias = m_.biases ? (users ? &m_.bu[r] : &m_.bi[r]) : nullptr;
            rows.resize(m);
            c.resize(m);
            for (std::size_t j = 0; j < m; ++j) rows[j] = F_.data() + std::size_t(g.other[b + j]) * fs_;
            ne.clear();
            if (logistic_) {
                // IRLS form of one Newton step from the current row x: weights w = s'(z), right-hand side
                // c = w (f.x) + y - sigmoid(z) with z = offset + f.x.
                std::copy(p, p + m_.k, x.begin());
                if (bias) x[m_.k] = *bias;
                w.resize(m);
                for (std::size_t j = 0; j < m; ++j) {
                    const float fx = kt.dot(rows[j], x.data(), fs_);
                    const float prob = sigmoid(off_[g.other[b + j]] + fx);
                    const float y = g.value[b + j] > 0.0f ? 1.0f : 0.0f;
                    w[j] = std::max(prob * (1.0f - prob), 1e-6f);
                    c[j] = w[j] * fx + (y - prob);
                }
                ne.add(rows.data(), w.data(), c.data(), m);
            } else {
                for (std::size_t j = 0; j < m; ++j) c[j] = g.value[b + j] - off_[g.other[b + j]];
                ne.add(rows.data(), nullptr, c.data(), m);
            }
            const float scale = opt_.als_weighted_lambda ? static_cast<float>(m) : 1.0f;
            double trace = 0.0;
            for (std::size_t a = 0; a < d_; ++a) trace += ne.matrix()[a * ne.lda() + a];
            const float ridge = static_cast<float>(1e-6 * trace / static_cast<double>(d_)) + 1e-30f;
            for (std::size_t a = 0; a < d_; ++a)
                reg[a] = ridge + scale * static_cast<float>(a < m_.k ? opt_.l2 : opt_.l2_bias);
            ne.add_diagonal(reg.data());
            const float* sol = ne.solve();
            std::fill(x.begin(), x.end(), 0.0f);
            if (sol) std::copy(sol, sol + d_, x.begin());
            else if (m == 0) {
                // Nothing to fit and no regulariser: the row stays zero.
            } else {
                std::fill(x.begin(), x.end(), std::numeric_limits<float>::quiet_NaN());  // reported as divergence
            }
            std::copy(x.begin(), x.begin() + m_.k, p);
            if (bias) *bias = x[m_.k];
            if (!users) {  // the epoch's loss, at the new rows
                for (std::size_t j = 0; j < m; ++j) {
                    const double z = off_[g.other[b + j]] + kt.dot(rows[j], x.data(), fs_);
                    const double v = g.value[b + j];
                    if (logistic_) {
                        const double y = v > 0.0 ? 1.0 : 0.0;
                        loss += std::log1p(std::exp(-std::fabs(z))) + std::max(z, 0.0) - y * z;
                    } else {
                        loss += (v - z) * (v - z);
                    }
                }
            }
        }
        return loss;
    }

    const TrainOptions& opt_;
    MFModel& m_;
    RowIndex by_user_, by_item_;
    std::size_t d_ = 0, fs_ = 0;
    bool logistic_ = false;
    unsigned threads_ = 1;
    double n_ = 1.0;
    AlignedFloats F_;
    std::vector<float> off_;
    std::vector<double> chunk_loss_;
};

}  // namespace

void train_als(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl) {
    AlsSolver solver(opt, train, m);
    const std::uint32_t epochs = opt.effective_epochs();
    for (std::uint32_t e = 0; e < epochs; ++e) {
        const double loss = solver.sweep();
        if (!ctl.after_epoch(e + 1, loss, 0.0, m)) return;
    }
}

}  // namespace simdmf
