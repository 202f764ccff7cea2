// Implicit-feedback solvers on MF with sampled negatives: BPR (solver "bpr"; Rendle et al., UAI 2009)
// and logistic MF with `ncf_negatives` sampled unseen items per positive per epoch (solver "lmf-neg"; the
// training of GMF in He et al., WWW 2017). Every training rating with a value > 0 is a positive event.
//
// The events are copied into a RatingGrid as SGD's are (lib/solvers/grid.hpp) and an epoch visits its
// blocks in the seeded rounds of epoch_schedule: the blocks of a round have distinct user and item
// ranges and run in parallel. A negative for an event in block (a, b) is drawn, by NegativeSampler,
// among the items of the block's item range the user has not seen, so the rows one thread writes are
// never another's. The grid has one block (every item a candidate, one thread) below
// kOneBlockBelow events; above, SGD's automatic side; the "grid" option sets the side. Each block draws from its own stream (seed,
// epoch, block), so the model depends on the seed and the data only: the same for any thread count.
// BPR: per event (u, i) one sampled j and one fused kernel step (Table::bpr_for_length) on rows
// p_u, q_i, q_j, biases b_i, b_j beside it; a block's negatives are drawn first, in event order (the same
// stream as drawing each at its step; NegativeSampler::draw_in_each with the seen bitset), then the updates
// run in one kernel call (the block loop with the step inlined, Table::bpr_block_for_length), and where P
// and Q outgrow L2 the rows of the triple 16 ahead are prefetched. (A pair kernel of two independent triples, as SGD has,
// was measured slower here.) lmf-neg: the fused logistic step on (u, i) with label 1,
// then on (u, j) with label 0 for each of the negatives. The epoch's loss is the mean -ln sigmoid(x)
// (BPR) or the mean cross-entropy per step (lmf-neg).
#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "common.hpp"
#include "kernels/kernels.hpp"
#include "rng.hpp"
#include "serve/seen.hpp"
#include "solvers/negatives.hpp"
#include "solvers/solvers.hpp"
#include "task_pool.hpp"

namespace simdmf {

namespace {

static_assert(kNoItem == kernels::kBprSkip, "the sampler's no-item mark is the BPR block's skip mark");

constexpr std::size_t kOneBlockBelow = 1u << 20;
constexpr std::size_t kBitsetBytes = 64u << 20;    // the sampler's seen bitset when users x items bits fit
constexpr std::size_t kPrefetchAbove = 2u << 20;   // BPR prefetches rows when P and Q exceed this many bytes

// -sum ln(prob) as the log of a running product (one log every few hundred steps).
struct LogLoss {
    double sum = 0.0, prod = 1.0;
    void add(double prob) {
        prod *= std::max(prob, 1e-12);
        if (prod < 1e-280) flush();
    }
    void flush() {
        sum -= std::log(prod);
        prod = 1.0;
    }
};

Ratings positives_of(const Ratings& train) {
    std::vector<std::size_t> rows;
    rows.reserve(train.size());
    for (std::size_t j = 0; j < train.size(); ++j)
        if (train.value[j] > 0.0f) rows.push_back(j);
    Ratings pos = train.subset(rows);
    for (float& v : pos.value) v = 1.0f;
    pos.timestamp.clear();
    return pos;
}

class ImplicitSolver {
public:
    ImplicitSolver(const TrainOptions& opt, const Ratings& pos, MFModel& m)
        : opt_(opt), m_(m), seen_(pos), sampler_(seen_, m.n_items, kBitsetBytes),
          grid_(pos, opt.grid ? std::max(opt.grid, RatingGrid::min_side(pos.n_users, pos.n_items))
                     : pos.size() < kOneBlockBelow ? 1 : RatingGrid::auto_side(pos)) {
        const kernels::Table& kt = kernels::active();
        n_ = kernels::sgd_length(m.k);
        bpr_block_ = kt.bpr_block_for_length(n_);
        // Rows of tables that stay in L2 are not prefetched (measured on MovieLens 100K: +9% without).
        prefetch_ = std::size_t(m.n_users + m.n_items) * m.stride * sizeof(float) > kPrefetchAbove;
        logistic_ = kt.sgd_for_length(n_, 1);
        threads_ = std::min<std::uint32_t>(sgd_workers(opt.threads, std::thread::hardware_concurrency()), grid_.side());
        block_loss_.assign(grid_.n_blocks(), 0.0);
        block_steps_.assign(grid_.n_blocks(), 0);
    }

    double epoch(std::uint32_t e, double lr) {
        lr_ = static_cast<float>(lr);
        const std::uint32_t G = grid_.side();
        const std::vector<std::uint32_t> sched = epoch_schedule(G, opt_.seed, e);
        for (std::uint32_t r = 0; r < G; ++r)
            parallel_for(G, threads_, [&](std::size_t j) { run(sched[std::size_t(r) * G + j], e); });
        double sum = 0.0;
        std::size_t steps = 0;
        for (std::size_t b = 0; b < block_loss_.size(); ++b) {
            sum += block_loss_[b];
            steps += block_steps_[b];
        }
        return steps ? sum / static_cast<double>(steps) : 0.0;
    }

private:
    void run(std::uint32_t blk, std::uint32_t e) {
        GridEntry* ent = grid_.block(blk);
        const std::size_t n = grid_.block_size(blk);
        block_loss_[blk] = 0.0;
        block_steps_[blk] = 0;
        if (n == 0) return;
        Rng rng(seed_mix(opt_.seed, e, 0x1B9A0000ull + blk));
        if (grid_.n_blocks() == 1) rng.shuffle(ent, n);
        const std::uint32_t u0 = grid_.first_user(blk), i0 = grid_.first_item(blk), i1 = grid_.end_item(blk);
        if (opt_.solver == Solver::bpr) run_bpr(ent, n, u0, i0, i1, rng, blk);
        else run_lmf(ent, n, u0, i0, i1, rng, blk);
    }

    void run_bpr(const GridEntry* ent, std::size_t n, std::uint32_t u0, std::uint32_t i0, std::uint32_t i1, Rng& rng,
                 std::uint32_t blk) {
        const float lr = lr_, l2 = static_cast<float>(opt_.l2), l2b = static_cast<float>(opt_.l2_bias);
        const bool biases = m_.biases;
        float* bi = biases ? m_.bi.data() : nullptr;
        const std::uint32_t stride = m_.stride;
        float* const P = m_.P.data();  // once: ParamArray::data() is copy-on-write checked
        float* const Q = m_.Q.data();
        LogLoss loss;
        std::size_t steps = 0;
        // The block's negatives first, in event order (the stream and the model are those of drawing each at
        // its step), then the updates in one kernel call (Table::bpr_block_for_length: the step inlined),
        // which prefetches the rows 16 triples ahead where P and Q outgrow L2.
        thread_local std::vector<std::uint32_t> neg;  // one block's worth a worker thread, reused
        neg.resize(n);
        sampler_.draw_in_each(n, [&](std::size_t t) { return u0 + ent[t].u; }, i0, i1, rng, neg.data());
        kernels::BprBlock b{};
        b.P = P;
        b.Q = Q;
        b.bi = biases ? bi : nullptr;
        b.stride = stride;
        b.n = n_;
        b.ui = &ent[0].u;
        b.ui_step = sizeof(GridEntry) / sizeof(std::uint16_t);
        b.u0 = u0;
        b.i0 = i0;
        b.j = neg.data();
        b.count = n;
        b.lr = lr;
        b.l2 = l2;
        b.l2b = l2b;
        b.prefetch = prefetch_;
        b.loss_sum = loss.sum;
        b.loss_prod = loss.prod;
        bpr_block_(b);
        loss.sum = b.loss_sum;
        loss.prod = b.loss_prod;
        steps = b.steps;
        loss.flush();
        block_loss_[blk] = loss.sum;
        block_steps_[blk] = steps;
    }

    void run_lmf(const GridEntry* ent, std::size_t n, std::uint32_t u0, std::uint32_t i0, std::uint32_t i1, Rng& rng,
                 std::uint32_t blk) {
        const float lr = lr_, l2 = static_cast<float>(opt_.l2), l2b = static_cast<float>(opt_.l2_bias);
        const bool biases = m_.biases;
        float* bu = biases ? m_.bu.data() : nullptr;
        float* bi = biases ? m_.bi.data() : nullptr;
        const float mu = m_.mu;
        LogLoss loss;
        std::size_t steps = 0;
        auto step = [&](std::uint32_t u, std::uint32_t i, float y) {
            const float off = biases ? mu + bu[u] + bi[i] : 0.0f;
            const float err = logistic_(m_.user_row(u), m_.item_row(i), n_, off, y, lr, lr, l2, l2);
            if (biases) {
                bu[u] += lr * (err - l2b * bu[u]);
                bi[i] += lr * (err - l2b * bi[i]);
            }
            loss.add(1.0 - std::fabs(err));
            ++steps;
        };
        for (std::size_t t = 0; t < n; ++t) {
            const std::uint32_t u = u0 + ent[t].u, i = i0 + ent[t].i;
            step(u, i, 1.0f);
            for (std::uint32_t q = 0; q < opt_.ncf.negatives; ++q) {
                const std::uint32_t j = sampler_.draw_in(u, i0, i1, rng);
                if (j == kNoItem) break;
                step(u, j, 0.0f);
            }
        }
        loss.flush();
        block_loss_[blk] = loss.sum;
        block_steps_[blk] = steps;
    }

    const TrainOptions& opt_;
    MFModel& m_;
    SeenItems seen_;
    NegativeSampler sampler_;
    RatingGrid grid_;
    std::size_t n_ = 0;
    kernels::BprBlockFn bpr_block_ = nullptr;
    bool prefetch_ = true;
    kernels::SgdFn logistic_ = nullptr;
    std::uint32_t threads_ = 1;
    float lr_ = 0.0f;
    std::vector<double> block_loss_;
    std::vector<std::size_t> block_steps_;
};

}  // namespace

bool implicit_solver(Solver s) { return s == Solver::bpr || s == Solver::lmf_neg; }

void train_implicit(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl) {
    const Ratings pos = positives_of(train);
    if (pos.empty()) fail(SIMDMF_ERR_INVALID_DATA, "the training set has no positive event (value > 0)");
    // The offset of the logistic model: positives are 1 in (1 + negatives) of the steps. BPR: unused.
    if (m.biases) m.mu = opt.solver == Solver::lmf_neg ? -std::log(std::max(1.0, double(opt.ncf.negatives))) : 0.0f;
    m.train_options.emplace_back("solver", opt.solver == Solver::bpr ? "bpr" : "lmf-neg");
    ImplicitSolver solver(opt, pos, m);
    const std::uint32_t epochs = opt.effective_epochs();
    for (std::uint32_t e = 0; e < epochs; ++e) {
        const double lr = opt.lr_at(e);
        const double loss = solver.epoch(e, lr);
        if (!ctl.after_epoch(e + 1, loss, lr, m)) return;
    }
}

}  // namespace simdmf
