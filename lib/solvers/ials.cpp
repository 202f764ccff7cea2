// Implicit-feedback ALS (loss "implicit", solver "als"; Hu, Koren and Volinsky, ICDM 2008): the
// objective of lib/implicit.hpp, a sweep solving every user's row with the items fixed, then every
// item's with the users fixed.
//
// Row problem (users; items alike), with Y the fixed side's factor rows, C_u the row's cell weights
// c_ui on its events and w0 the unobserved weight:
//   (w0 YtY + sum_{i in I(u)} (c_ui - w0) y_i y_i^T + l2_u I) x = sum_{i in I(u)} c_ui y_i
// YtY is computed once per half-sweep by the gram kernel over Y in fixed blocks of rows (blocks in
// parallel, their partial sums added in block order), then scaled by w0 and mirrored to a full matrix.
// The item half computes QtQ of the new Q for its loss term (<w0 PtP, QtQ>); the next user half scales
// that one instead of computing it again (the same bits).
//   * ials_solver cholesky: the row's matrix is YtY plus the gram kernel's weighted sum over its events
//     (the rank-m correction), solved by the cholesky / cholesky_solve kernels (lib/linalg.hpp);
//   * ials_solver cg: cg_steps steps of conjugate gradients from the current row (Takacs, Pilaszy and
//     Tikk 2011, as Python's `implicit` does) by the implicit_cg kernel: each step one product YtY v plus
//     the events' correction, never forming the matrix, and the vector updates fused.
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
constexpr std::size_t kGramBlock = 1024;
constexpr std::size_t kPrefetchAbove = 8u << 20;  // fixed-side bytes above which event rows are prefetched
constexpr std::size_t kPrefetchRows = 64;        // event rows of the next row prefetched, at most  // fixed-side rows per partial Gram (independent of threads)

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

// G = scale * S entry by entry, rounded as implicit_gram rounds its scaled sums (S: implicit_gram's with
// scale 1, so the result is bit for bit implicit_gram's with this scale).
void scale_gram(const AlignedFloats& S, double scale, AlignedFloats& G) {
    G.resize(S.size());
    for (std::size_t j = 0; j < S.size(); ++j) G[j] = static_cast<float>(S[j] * scale);
}

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
        if (users && have_qtq_) scale_gram(QtQ_, ip_.unobserved_weight, G_);  // the same bits as implicit_gram's
        else implicit_gram(Y, n_fixed, fs_, k_, ip_.unobserved_weight, threads_, G_);
        const std::size_t chunks = (n_rows + kChunk - 1) / kChunk;
        chunk_loss_.assign(chunks, 0.0);
        parallel_for(chunks, threads_, [&](std::size_t c) {
            chunk_loss_[c] = solve_rows(users, g, n_fixed, static_cast<std::uint32_t>(c * kChunk),
                                        static_cast<std::uint32_t>(std::min<std::size_t>(n_rows, (c + 1) * kChunk)));
        });
        double sum = 0.0;
        for (double l : chunk_loss_) sum += l;
        if (!users) {
            // sum_i q_i^T (w0 PtP) q_i = <w0 PtP, QtQ>, with QtQ (of the new Q) kept for the next user half.
            implicit_gram(m_.Q.data(), m_.n_items, fs_, k_, 1.0, threads_, QtQ_);
            have_qtq_ = true;
            for (std::size_t a = 0; a < k_; ++a)
                for (std::size_t c = 0; c < k_; ++c) sum += double(G_[a * fs_ + c]) * double(QtQ_[a * fs_ + c]);
        }
        return sum / n_cells_;
    }

    // Solves rows [r0, r1) of one side; on the item half returns their share of the data term's events,
    //   sum_events [c (1 - s)^2 - w0 s^2]; with x^T (w0 PtP) x over the items (added by half()) that is
    // every cell of the item's column.
    double solve_rows(bool users, const Cells& g, std::uint32_t n_fixed, std::uint32_t r0, std::uint32_t r1) {
        const auto& kt = kernels::active();
        const float w0 = static_cast<float>(ip_.unobserved_weight);
        const float* Y = users ? m_.Q.data() : m_.P.data();
        linalg::NormalEquations ne(k_);
        std::vector<const float*> rows;
        std::vector<float> wd;  // c - w0
        AlignedFloats scratch;
        double loss = 0.0;
        // Where the fixed side outgrows the caches, the next row's event rows are prefetched while this
        // row is solved (its first product would otherwise wait on memory for every event).
        const bool prefetch = std::size_t(n_fixed) * fs_ * sizeof(float) > kPrefetchAbove;
        for (std::uint32_t row = r0; row < r1; ++row) {
            const std::size_t e0 = g.start[row], e1 = g.start[std::size_t(row) + 1], m = e1 - e0;
            float* x = users ? m_.user_row(row) : m_.item_row(row);
            if (prefetch && row + 1 < r1) {
                const std::size_t n0 = e1, n1 = std::min(g.start[std::size_t(row) + 2], e1 + kPrefetchRows);
                for (std::size_t j = n0; j < n1; ++j) {
                    const char* y = reinterpret_cast<const char*>(Y + std::size_t(g.other[j]) * fs_);
                    for (std::size_t off = 0; off < fs_ * sizeof(float); off += 64) __builtin_prefetch(y + off, 0, 3);
                }
            }
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
                if (scratch.size() < 3 * fs_ + m) scratch.resize(3 * fs_ + m);
                kt.implicit_cg(G_.data(), fs_, rows.data(), wd.data(), g.weight.data() + e0, m, k_, reg, opt_.cg_steps,
                               x, scratch.data());
            }
            if (!users) {
                double l = 0.0;
                for (std::size_t j = 0; j < m; ++j) {
                    const double s = kt.dot(rows[j], x, fs_), c = g.weight[e0 + j];
                    l += c * (1.0 - s) * (1.0 - s) - w0 * s * s;
                }
                loss += l;
            }
        }
        return loss;
    }

    const TrainOptions& opt_;
    ImplicitParams ip_;
    MFModel& m_;
    Cells by_user_, by_item_;
    std::size_t k_ = 0, fs_ = 0;
    unsigned threads_ = 1;
    double n_cells_ = 1.0;
    AlignedFloats G_, QtQ_;  // w0 YtY of the half; QtQ of the last item half (unscaled)
    bool have_qtq_ = false;
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
