// Implicit-feedback ALS (loss "implicit", solver "als"; Hu, Koren and Volinsky, ICDM 2008): the
// objective of lib/implicit.hpp, a sweep solving every user's row with the items fixed, then every
// item's with the users fixed.
//
// Row problem (users; items alike), with Y the fixed side's factor rows, C_u the row's cell weights
// c_ui on its events and w0 the unobserved weight:
//   (w0 YtY + sum_{i in I(u)} (c_ui - w0) y_i y_i^T + l2_u I) x = sum_{i in I(u)} c_ui y_i
// YtY is computed once per half-sweep by the gram kernel over Y in fixed blocks of rows (blocks in
// parallel, their partial sums added in block order), then scaled by w0 and mirrored to a full matrix.
//   * ials_solver cholesky: the row's matrix is YtY plus the gram kernel's weighted sum over its events
//     (the rank-m correction), solved by the cholesky / cholesky_solve kernels (lib/linalg.hpp);
//   * ials_solver cg: cg_steps steps of conjugate gradients from the current row (Takacs, Pilaszy and
//     Tikk 2011, as Python's `implicit` does), each one product by the implicit_matvec kernel (YtY v plus
//     the events' correction, never forming the matrix), dot and axpy kernels for the vector updates.
// Events: the training cells are grouped by user and by item once; repeated (user, item) pairs are summed
// into one count (so a two-column event file is a count matrix), zero counts dropped. Rows run in chunks
// on `threads` threads; each row depends only on the fixed side, YtY and its own events, so the model is
// bit-identical for any thread count. The epoch's loss is the weighted data term of the objective (every
// cell, no L2) after the item half, divided by the number of cells with events.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/kernels.hpp"
#include "linalg.hpp"
#include "solvers/solvers.hpp"
#include "task_pool.hpp"

namespace simdmf {

namespace {

// Events grouped by row: row r's cells are [start[r], start[r+1]) of other / weight, sorted by the other
// index, duplicates merged; weight is the confidence c of the summed count.
struct Cells {
    std::vector<std::size_t> start;
    std::vector<std::uint32_t> other;
    std::vector<float> weight;
};

Cells group_cells(const Ratings& r, bool users, const ImplicitParams& ip) {
    const std::uint32_t n = users ? r.n_users : r.n_items;
    const std::vector<std::uint32_t>& key = users ? r.user : r.item;
    const std::vector<std::uint32_t>& oth = users ? r.item : r.user;
    std::vector<std::size_t> start(std::size_t(n) + 1, 0);
    for (std::uint32_t k : key) ++start[std::size_t(k) + 1];
    for (std::size_t j = 0; j < n; ++j) start[j + 1] += start[j];
    std::vector<std::size_t> pos(start.begin(), start.end() - 1);
    std::vector<std::pair<std::uint32_t, double>> tmp(r.size());
    for (std::size_t j = 0; j < r.size(); ++j) tmp[pos[key[j]]++] = {oth[j], r.value[j]};
    Cells c;
    c.start.assign(std::size_t(n) + 1, 0);
    c.other.reserve(r.size());
    c.weight.reserve(r.size());
    for (std::uint32_t row = 0; row < n; ++row) {
        auto b = tmp.begin() + static_cast<std::ptrdiff_t>(start[row]);
        auto e = tmp.begin() + static_cast<std::ptrdiff_t>(start[row + 1]);
        std::stable_sort(b, e, [](const auto& x, const auto& y) { return x.first < y.first; });
        for (auto it = b; it != e;) {
            double count = 0.0;
            const std::uint32_t o = it->first;
            for (; it != e && it->first == o; ++it) count += it->second;
            if (count > 0.0) {
                c.other.push_back(o);
                c.weight.push_back(static_cast<float>(ip.weight(count)));
            }
        }
        c.start[row + 1] = c.other.size();
    }
    return c;
}

constexpr std::size_t kChunk = 256;       // rows per task
constexpr std::size_t kGramBlock = 4096;  // fixed-side rows per partial Gram (independent of threads)

}  // namespace

// YtY of n rows of Y (stride fs, zero beyond k) into G (k x lda, full symmetric), times scale: the gram
// kernel over fixed blocks of rows, blocks in parallel, their sums added in block order.
void implicit_gram(const float* Y, std::size_t n, std::size_t fs, std::size_t k, double scale, unsigned threads,
                   AlignedFloats& G) {
    const auto& kt = kernels::active();
    const std::size_t lda = fs, blocks = (n + kGramBlock - 1) / kGramBlock;
    std::vector<AlignedFloats> part(blocks);
    parallel_for(blocks, threads, [&](std::size_t b) {
        const std::size_t r0 = b * kGramBlock, r1 = std::min(n, r0 + kGramBlock);
        std::vector<const float*> rows(r1 - r0);
        for (std::size_t r = r0; r < r1; ++r) rows[r - r0] = Y + r * fs;
        std::vector<float> c(rows.size(), 0.0f);
        AlignedFloats b_unused(lda, 0.0f);
        part[b].assign(k * lda, 0.0f);
        kt.gram(part[b].data(), lda, b_unused.data(), rows.data(), nullptr, c.data(), rows.size(), k);
    });
    G.assign(k * lda, 0.0f);
    for (const AlignedFloats& p : part)
        for (std::size_t a = 0; a < k; ++a)
            for (std::size_t col = a; col < k; ++col) G[a * lda + col] += p[a * lda + col];
    for (std::size_t a = 0; a < k; ++a)
        for (std::size_t col = a; col < k; ++col) {
            const float v = static_cast<float>(G[a * lda + col] * scale);
            G[a * lda + col] = v;
            G[col * lda + a] = v;
        }
}

namespace {

class IalsSolver {
public:
    IalsSolver(const TrainOptions& opt, const Ratings& train, MFModel& m)
        : opt_(opt), ip_(opt.implicit), m_(m), by_user_(group_cells(train, true, ip_)),
          by_item_(group_cells(train, false, ip_)) {
        k_ = m.k;
        fs_ = m.stride;
        threads_ = resolve_threads(opt.threads);
        n_cells_ = std::max<double>(1.0, static_cast<double>(by_user_.other.size()));
    }

    double sweep() {
        half(true);
        return half(false);
    }

private:
    double half(bool users) {
        const Cells& g = users ? by_user_ : by_item_;
        const std::uint32_t n_fixed = users ? m_.n_items : m_.n_users;
        const std::uint32_t n_rows = users ? m_.n_users : m_.n_items;
        const float* Y = users ? m_.Q.data() : m_.P.data();
        implicit_gram(Y, n_fixed, fs_, k_, ip_.unobserved_weight, threads_, G_);
        const std::size_t chunks = (n_rows + kChunk - 1) / kChunk;
        chunk_loss_.assign(chunks, 0.0);
        parallel_for(chunks, threads_, [&](std::size_t c) {
            chunk_loss_[c] = solve_rows(users, g, n_fixed, static_cast<std::uint32_t>(c * kChunk),
                                        static_cast<std::uint32_t>(std::min<std::size_t>(n_rows, (c + 1) * kChunk)));
        });
        double sum = 0.0;
        for (double l : chunk_loss_) sum += l;
        return sum / n_cells_;
    }

    // Solves rows [r0, r1) of one side; on the item half returns their share of the data term:
    //   x^T (w0 PtP) x + sum_events [c (1 - s)^2 - w0 s^2]   (= every cell of the item's column).
    double solve_rows(bool users, const Cells& g, std::uint32_t n_fixed, std::uint32_t r0, std::uint32_t r1) {
        const auto& kt = kernels::active();
        const float w0 = static_cast<float>(ip_.unobserved_weight);
        const float* Y = users ? m_.Q.data() : m_.P.data();
        linalg::NormalEquations ne(k_);
        std::vector<const float*> rows;
        std::vector<float> wd;  // c - w0
        AlignedFloats b(fs_), r(fs_), p(fs_), Ap(fs_), Gx(fs_);
        double loss = 0.0;
        for (std::uint32_t row = r0; row < r1; ++row) {
            const std::size_t e0 = g.start[row], e1 = g.start[std::size_t(row) + 1], m = e1 - e0;
            float* x = users ? m_.user_row(row) : m_.item_row(row);
            rows.resize(m);
            wd.resize(m);
            for (std::size_t j = 0; j < m; ++j) {
                rows[j] = Y + std::size_t(g.other[e0 + j]) * fs_;
                wd[j] = g.weight[e0 + j] - w0;
            }
            const float reg = static_cast<float>(ip_.row_l2(opt_.l2, double(m), double(n_fixed)));
            if (opt_.ials_solver == IalsSolve::cholesky) {
                float* A = ne.matrix();
                for (std::size_t a = 0; a < k_; ++a) std::copy(&G_[a * fs_], &G_[a * fs_] + fs_, A + a * ne.lda());
                std::fill(ne.rhs(), ne.rhs() + fs_, 0.0f);
                ne.add(rows.data(), wd.data(), g.weight.data() + e0, m);
                for (std::size_t a = 0; a < k_; ++a) A[a * ne.lda() + a] += reg;
                const float* sol = ne.solve();
                if (sol) std::copy(sol, sol + k_, x);
                else std::fill(x, x + k_, std::numeric_limits<float>::quiet_NaN());  // reported as divergence
            } else {
                cg(x, rows.data(), wd.data(), g.weight.data() + e0, m, reg, b, r, p, Ap);
            }
            if (!users) {
                kt.implicit_matvec(G_.data(), fs_, nullptr, nullptr, 0, k_, x, Gx.data());
                double l = kt.dot(x, Gx.data(), fs_);
                for (std::size_t j = 0; j < m; ++j) {
                    const double s = kt.dot(rows[j], x, fs_), c = g.weight[e0 + j];
                    l += c * (1.0 - s) * (1.0 - s) - w0 * s * s;
                }
                loss += l;
            }
        }
        return loss;
    }

    // cg_steps conjugate-gradient steps on (G + sum wd_j y_j y_j^T + reg I) x = sum c_j y_j from x.
    void cg(float* x, const float* const* rows, const float* wd, const float* c, std::size_t m, float reg,
            AlignedFloats& b, AlignedFloats& r, AlignedFloats& p, AlignedFloats& Ap) const {
        const auto& kt = kernels::active();
        // r = b - A x
        std::fill(b.begin(), b.end(), 0.0f);
        for (std::size_t j = 0; j < m; ++j) kt.axpy(fs_, c[j], rows[j], b.data());
        kt.implicit_matvec(G_.data(), fs_, rows, wd, m, k_, x, Ap.data());
        kt.axpy(fs_, reg, x, Ap.data());
        for (std::size_t a = 0; a < fs_; ++a) r[a] = b[a] - Ap[a];
        std::copy(r.begin(), r.end(), p.begin());
        float rs = kt.dot(r.data(), r.data(), fs_);
        for (std::uint32_t step = 0; step < opt_.cg_steps && rs > 1e-20f; ++step) {
            kt.implicit_matvec(G_.data(), fs_, rows, wd, m, k_, p.data(), Ap.data());
            kt.axpy(fs_, reg, p.data(), Ap.data());
            const float pAp = kt.dot(p.data(), Ap.data(), fs_);
            if (!(pAp > 0.0f)) break;
            const float a = rs / pAp;
            kt.axpy(fs_, a, p.data(), x);
            kt.axpy(fs_, -a, Ap.data(), r.data());
            const float rs_new = kt.dot(r.data(), r.data(), fs_);
            const float beta = rs_new / rs;
            for (std::size_t j = 0; j < fs_; ++j) p[j] = r[j] + beta * p[j];
            rs = rs_new;
        }
    }

    const TrainOptions& opt_;
    ImplicitParams ip_;
    MFModel& m_;
    Cells by_user_, by_item_;
    std::size_t k_ = 0, fs_ = 0;
    unsigned threads_ = 1;
    double n_cells_ = 1.0;
    AlignedFloats G_;
    std::vector<double> chunk_loss_;
};

}  // namespace

void train_ials(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl) {
    IalsSolver solver(opt, train, m);
    const std::uint32_t epochs = opt.effective_epochs();
    for (std::uint32_t e = 0; e < epochs; ++e) {
        const double loss = solver.sweep();
        if (!ctl.after_epoch(e + 1, loss, 0.0, m)) return;
    }
}

}  // namespace simdmf
