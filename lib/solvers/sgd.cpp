// The SGD solver: blocked, cache-aware, optionally parallel, optionally AdaGrad.
//
// Before the first epoch the ratings are copied once into a RatingGrid (lib/solvers/grid.hpp): side x side
// blocks of (user range) x (item range), 8 bytes a rating, each block sorted by user with 8 users
// interleaved (consecutive updates then do not wait on each other through a row). An epoch visits
// every block exactly once, in `side` rounds; a round is a set of `side` blocks in distinct grid rows
// and columns (a permuted diagonal), so its blocks touch disjoint factor rows and biases and may run
// on different threads with no locks. The rounds of an epoch come from seeded permutations of the grid
// rows, columns and round order (seed, epoch), so:
//   * deterministic mode (default): threads work through a round's blocks and meet at a barrier before
//     the next round. A block is always processed start to end by one thread and its running loss is
//     kept per block and summed in block order, so the model and the losses are bit-identical for any
//     thread count (threads = 1 runs the same schedule on the calling thread).
//   * free mode (deterministic = 0): no rounds; a thread takes any not-yet-visited block whose grid row
//     and column no other thread holds (FPSG, Chin et al.), picked at random; a thread with none free
//     sleeps until a block is released. Each non-empty block is still visited once per epoch; the
//     order depends on timing.
// Workers: at most the hardware threads (sgd_workers), so more threads than cores never slow a run down;
// in deterministic mode one when the rounds hold under kMinRatingsPerRound ratings on average.
// Within a block, the ratings are visited in their stored order with the rows of the rating kPrefetch
// steps ahead prefetched, two consecutive ones through one pair kernel when their users and items differ
// (the same model as one at a time, see independent()); small data sets (one block) are reshuffled every epoch instead, from
// (seed, epoch, block). The per-epoch training loss is the running loss seen during the epoch.
// AdaGrad (optimizer "adagrad", lib/optim.hpp): per-row learning rates lr / sqrt(G) with G the running sum of the row's mean
// squared gradient (starting at 1), as in Chin et al., PAKDD 2015, through the fused AdaGrad kernel
// (Table::adagrad_for_length at the padded stride, and its pair); the biases use their row's rate.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "solvers/grid.hpp"
#include "kernels/kernels.hpp"
#include "rng.hpp"
#include "solvers/solvers.hpp"
#include "task_pool.hpp"

namespace simdmf {

namespace {

using SgdFn = kernels::SgdFn;

struct Step {
    SgdFn fn;       // the fused step for rows of length n (Table::sgd_for_length)
    kernels::SgdPairFn pair;        // two of them on distinct rows (Table::sgd_pair_for_length)
    kernels::AdagradFn ada;         // the AdaGrad step at the stride (Table::adagrad_for_length)
    kernels::AdagradPairFn ada_pair;
    std::size_t n;  // kernels::sgd_length(k): k rounded up to 8 (the padding beyond k stays zero)
    const kernels::Table* kt;
    std::uint32_t stride;
    float mu, lr, lr_f, l2, l2b, inv_k;  // lr: biases; lr_f: factors (lr / rating_scale)
    bool logistic, biases, adagrad;
};

// The factor rows and biases of one block (pointers at its first user / item).
struct BlockRows {
    float *P, *Q, *bu, *bi, *gu, *gi;
};

constexpr std::size_t kMinRatingsPerRound = 4096;  // deterministic mode: fewer a round run on one thread
constexpr std::size_t kPrefetch = 32;  // prefetch distance in ratings (measured: 3 -> 32 is +20-60%)

inline void prefetch_row(const float* row, std::uint32_t stride) {
    const char* c = reinterpret_cast<const char*>(row);
    for (std::uint32_t off = 0; off < stride * sizeof(float); off += 64) __builtin_prefetch(c + off, 1, 3);
}

// Running loss accumulator: squared error, or the cross-entropy as a log of a running product of the
// probabilities given to the true labels (one log every ~600 ratings instead of one per rating).
struct LossSum {
    double sum = 0.0, prod = 1.0;
    void squared(float e) { sum += static_cast<double>(e) * e; }
    void logistic(float e) {
        // e = y - sigmoid(s): the probability given to the true label is 1 - |e|.
        prod *= std::max(1.0 - std::fabs(static_cast<double>(e)), 1e-12);
        if (prod < 1e-280) flush();
    }
    void flush() {
        sum -= std::log(prod);
        prod = 1.0;
    }
    double total() {
        flush();
        return sum;
    }
};

// Two consecutive ratings with different users and different items touch four distinct rows and
// biases, so the second does not depend on the first: they go through one pair call (the kernels'
// SgdPairFn, whose two chains dot -> update overlap), which computes bit for bit what two single steps
// compute. Otherwise (rare: the grid interleaves 8 users) the first goes alone. The model is therefore
// the same as with single steps only, for any thread count.
inline bool independent(const GridEntry& a, const GridEntry& b) { return a.u != b.u && a.i != b.i; }

template <bool Logistic, bool Biases>
double run_block(const Step& s, const GridEntry* e, std::size_t n, const BlockRows& b) {
    constexpr std::size_t D = kPrefetch;
    const SgdFn fn = s.fn;
    const kernels::SgdPairFn pair = s.pair;
    const std::size_t len = s.n;
    const std::uint32_t stride = s.stride;
    const float lr = s.lr, lr_f = s.lr_f, l2 = s.l2, l2b = s.l2b, mu = s.mu;
    float* const P = b.P;
    float* const Q = b.Q;
    float* const bu = b.bu;
    float* const bi = b.bi;
    LossSum loss;
    auto target_of = [](float v) { return Logistic ? (v > 0.0f ? 1.0f : 0.0f) : v; };
    auto offset_of = [&](std::uint32_t u, std::uint32_t i) { return Biases ? mu + bu[u] + bi[i] : 0.0f; };
    auto after = [&](std::uint32_t u, std::uint32_t i, float err) {
        if constexpr (Logistic) loss.logistic(err);
        else loss.squared(err);
        if constexpr (Biases) {
            bu[u] += lr * (err - l2b * bu[u]);
            bi[i] += lr * (err - l2b * bi[i]);
        }
    };
    auto prefetch = [&](std::size_t j) {
        if (j < n) {
            prefetch_row(P + std::size_t(e[j].u) * stride, stride);
            prefetch_row(Q + std::size_t(e[j].i) * stride, stride);
        }
    };
    for (std::size_t j = 0; j < n;) {
        const std::uint32_t u = e[j].u, i = e[j].i;
        if (j + 1 < n && independent(e[j], e[j + 1])) {
            prefetch(j + D);
            prefetch(j + D + 1);
            const std::uint32_t u1 = e[j + 1].u, i1 = e[j + 1].i;
            float err[2];
            pair(P + std::size_t(u) * stride, Q + std::size_t(i) * stride, P + std::size_t(u1) * stride,
                 Q + std::size_t(i1) * stride, len, offset_of(u, i), target_of(e[j].v), offset_of(u1, i1),
                 target_of(e[j + 1].v), lr_f, lr_f, l2, l2, err);
            after(u, i, err[0]);
            after(u1, i1, err[1]);
            j += 2;
        } else {
            prefetch(j + D);
            after(u, i, fn(P + std::size_t(u) * stride, Q + std::size_t(i) * stride, len, offset_of(u, i),
                           target_of(e[j].v), lr_f, lr_f, l2, l2));
            j += 1;
        }
    }
    return loss.total();
}

// AdaGrad step: the fused kernel returns the squared norms of the two gradients it applied; each row's
// G grows by their mean over the k factors. The rates use G before the step (as LIBMF does). Pairs of
// independent ratings as in run_block.
double run_block_adagrad(const Step& s, const GridEntry* e, std::size_t n, const BlockRows& b) {
    const std::uint32_t stride = s.stride;
    LossSum loss;
    auto target_of = [&](float v) { return s.logistic ? (v > 0.0f ? 1.0f : 0.0f) : v; };
    auto offset_of = [&](std::uint32_t u, std::uint32_t i) { return s.biases ? s.mu + b.bu[u] + b.bi[i] : 0.0f; };
    auto after = [&](std::uint32_t u, std::uint32_t i, float err, float lr_p, float lr_q, const float* g2) {
        if (s.logistic) loss.logistic(err);
        else loss.squared(err);
        if (s.biases) {
            b.bu[u] += lr_p * (err - s.l2b * b.bu[u]);
            b.bi[i] += lr_q * (err - s.l2b * b.bi[i]);
        }
        b.gu[u] += g2[0] * s.inv_k;
        b.gi[i] += g2[1] * s.inv_k;
    };
    auto prefetch = [&](std::size_t j) {
        if (j < n) {
            prefetch_row(b.P + std::size_t(e[j].u) * stride, stride);
            prefetch_row(b.Q + std::size_t(e[j].i) * stride, stride);
        }
    };
    for (std::size_t j = 0; j < n;) {
        const std::uint32_t u = e[j].u, i = e[j].i;
        float* p = b.P + std::size_t(u) * stride;
        float* q = b.Q + std::size_t(i) * stride;
        const float lr_p = s.lr / std::sqrt(b.gu[u]), lr_q = s.lr / std::sqrt(b.gi[i]);
        if (j + 1 < n && independent(e[j], e[j + 1])) {
            prefetch(j + kPrefetch);
            prefetch(j + kPrefetch + 1);
            const std::uint32_t u1 = e[j + 1].u, i1 = e[j + 1].i;
            const float lr_p1 = s.lr / std::sqrt(b.gu[u1]), lr_q1 = s.lr / std::sqrt(b.gi[i1]);
            const float a[8] = {offset_of(u, i),   target_of(e[j].v),     lr_p,  lr_q,
                                offset_of(u1, i1), target_of(e[j + 1].v), lr_p1, lr_q1};
            float out[6];
            s.ada_pair(p, q, b.P + std::size_t(u1) * stride, b.Q + std::size_t(i1) * stride, stride, a, s.l2, s.l2,
                       out);
            after(u, i, out[0], lr_p, lr_q, out + 2);
            after(u1, i1, out[1], lr_p1, lr_q1, out + 4);
            j += 2;
        } else {
            prefetch(j + kPrefetch);
            float g2[2];
            const float err = s.ada(p, q, stride, offset_of(u, i), target_of(e[j].v), lr_p, lr_q, s.l2, s.l2, g2);
            after(u, i, err, lr_p, lr_q, g2);
            j += 1;
        }
    }
    return loss.total();
}

class SgdSolver {
public:
    SgdSolver(const TrainOptions& opt, RatingGrid& grid, MFModel& m) : opt_(opt), m_(m), grid_(grid) {
        const auto& kt = kernels::active();
        step_.kt = &kt;
        step_.logistic = m.logistic();
        step_.n = kernels::sgd_length(m.k);
        step_.fn = kt.sgd_for_length(step_.n, step_.logistic ? 1 : 0);
        step_.pair = kt.sgd_pair_for_length(step_.n, step_.logistic ? 1 : 0);
        step_.ada = kt.adagrad_for_length(m.stride, step_.logistic ? 1 : 0);
        step_.ada_pair = kt.adagrad_pair_for_length(m.stride, step_.logistic ? 1 : 0);
        step_.stride = m.stride;
        step_.inv_k = 1.0f / static_cast<float>(m.k);
        step_.mu = m.mu;
        step_.biases = m.biases;
        step_.adagrad = opt.optimizer == Optimizer::adagrad;
        step_.l2 = static_cast<float>(opt.l2 * opt.rating_scale);  // rating_scale: 1 unless normalising
        step_.l2b = static_cast<float>(opt.l2_bias);
        if (step_.adagrad) {
            gu_.assign(m.n_users, 1.0f);
            gi_.assign(m.n_items, 1.0f);
        }
        threads_ = sgd_workers(opt.threads, std::thread::hardware_concurrency());
        threads_ = std::min<std::uint32_t>(threads_, grid_.side());  // at most `side` blocks run at once
        // Lock-step rounds meet at a barrier `side` times an epoch: with too few ratings a round, the
        // waiting costs more than the work it shares (and far more on a loaded machine), so one thread
        // runs them. The model is the same for any thread count in this mode.
        if (opt.deterministic && grid_.size() < kMinRatingsPerRound * grid_.side()) threads_ = 1;
        block_loss_.assign(grid_.n_blocks(), 0.0);
    }

    // One epoch; returns the mean running loss.
    double epoch(std::uint32_t e, double lr) {
        step_.lr = static_cast<float>(lr);
        step_.lr_f = static_cast<float>(lr / opt_.rating_scale);
        make_schedule(e);
        if (threads_ <= 1) {
            for (std::uint32_t b : sched_) run(b, e);
        } else if (opt_.deterministic) {
            run_rounds(e);
        } else {
            run_free(e);
        }
        double sum = 0.0;  // in block order: the same for any thread count and visiting order
        for (double l : block_loss_) sum += l;
        return sum / static_cast<double>(grid_.size());
    }

private:
    void make_schedule(std::uint32_t e) { sched_ = epoch_schedule(grid_.side(), opt_.seed, e); }

    static std::uint64_t mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b) { return seed_mix(seed, a, b); }

    void run(std::uint32_t blk, std::uint32_t e) {
        GridEntry* ent = grid_.block(blk);
        const std::size_t n = grid_.block_size(blk);
        if (n == 0) {
            block_loss_[blk] = 0.0;
            return;
        }
        // One block only (small data): a fresh order every epoch, from (seed, epoch, block).
        if (grid_.n_blocks() == 1) {
            Rng rng(mix(opt_.seed, e, 0xB10C0000ull + blk));
            rng.shuffle(ent, n);
        }
        const std::uint32_t u0 = grid_.first_user(blk), i0 = grid_.first_item(blk);
        BlockRows rows{m_.P.data() + std::size_t(u0) * m_.stride,
                       m_.Q.data() + std::size_t(i0) * m_.stride,
                       m_.bu.data() + (m_.biases ? u0 : 0),
                       m_.bi.data() + (m_.biases ? i0 : 0),
                       gu_.empty() ? nullptr : gu_.data() + u0,
                       gi_.empty() ? nullptr : gi_.data() + i0};
        double l;
        if (step_.adagrad) l = run_block_adagrad(step_, ent, n, rows);
        else if (step_.logistic) l = step_.biases ? run_block<true, true>(step_, ent, n, rows)
                                                  : run_block<true, false>(step_, ent, n, rows);
        else l = step_.biases ? run_block<false, true>(step_, ent, n, rows)
                              : run_block<false, false>(step_, ent, n, rows);
        block_loss_[blk] = l;
    }

    void run_rounds(std::uint32_t e) {
        const std::uint32_t G = grid_.side();
        std::vector<std::atomic<std::uint32_t>> next(G);
        for (auto& x : next) x.store(0, std::memory_order_relaxed);
        std::barrier sync(static_cast<std::ptrdiff_t>(threads_));
        auto worker = [&] {
            for (std::uint32_t r = 0; r < G; ++r) {
                for (std::uint32_t j; (j = next[r].fetch_add(1, std::memory_order_relaxed)) < G;)
                    run(sched_[std::size_t(r) * G + j], e);
                sync.arrive_and_wait();
            }
        };
        run_threads(worker, [&] { sync.arrive_and_drop(); });
    }

    // Free mode. Only blocks holding ratings are handed out (an empty block has nothing to visit): each
    // grid row keeps the columns of its unvisited non-empty blocks. A thread that finds no block whose
    // row and column are both free sleeps on a condition variable (no spinning); a release wakes one
    // sleeper, and a sleeper that gets a block wakes the next, since one release can free two blocks.
    void run_free(std::uint32_t e) {
        const std::uint32_t G = grid_.side();
        std::mutex mu;
        std::condition_variable cv;
        std::vector<char> row_busy(G, 0), col_busy(G, 0);
        std::vector<std::vector<std::uint32_t>> row_cols(G);  // unvisited non-empty blocks' columns
        std::size_t left = 0;  // blocks not yet handed out
        for (std::uint32_t r = 0; r < G; ++r)
            for (std::uint32_t c = 0; c < G; ++c) {
                const std::uint32_t b = r * G + c;
                if (grid_.block_size(b) != 0) {
                    row_cols[r].push_back(c);
                    ++left;
                } else {
                    block_loss_[b] = 0.0;
                }
            }
        std::uint32_t waiting = 0;
        std::atomic<std::uint32_t> tid{0};
        auto worker = [&] {
            Rng rng(mix(opt_.seed, e, 0xF4EE0000ull + tid.fetch_add(1)));
            std::uint32_t held = UINT32_MAX;
            std::unique_lock<std::mutex> lock(mu);
            for (;;) {
                if (held != UINT32_MAX) {
                    row_busy[held / G] = 0;
                    col_busy[held % G] = 0;
                    held = UINT32_MAX;
                    if (waiting) cv.notify_one();
                }
                if (left == 0) {
                    cv.notify_all();  // the sleepers see the epoch is over
                    return;
                }
                // A random free grid row with unvisited blocks, then a random one of them in a free column.
                const auto r0 = static_cast<std::uint32_t>(rng.below(G));
                for (std::uint32_t dr = 0; dr < G && held == UINT32_MAX; ++dr) {
                    const std::uint32_t r = (r0 + dr) % G;
                    auto& cols = row_cols[r];
                    if (row_busy[r] || cols.empty()) continue;
                    const std::size_t n = cols.size(), j0 = rng.below(n);
                    for (std::size_t dj = 0; dj < n; ++dj) {
                        const std::size_t j = (j0 + dj) % n;
                        if (col_busy[cols[j]]) continue;
                        held = r * G + cols[j];
                        cols[j] = cols.back();
                        cols.pop_back();
                        break;
                    }
                }
                if (held == UINT32_MAX) {
                    ++waiting;
                    cv.wait(lock);
                    --waiting;
                    continue;
                }
                row_busy[held / G] = col_busy[held % G] = 1;
                --left;
                if (waiting && left) cv.notify_one();  // there may be another block free for a sleeper
                lock.unlock();
                run(held, e);
                lock.lock();
            }
        };
        run_threads(worker, [] {});
    }

    // Runs worker on threads_ threads (the calling one included). A thread that cannot be started is
    // reported to on_missing (the barrier then expects one participant fewer); the others share its work.
    template <class F, class M>
    void run_threads(F& worker, M&& on_missing) {
        std::vector<std::thread> pool;
        pool.reserve(threads_ - 1);
        for (std::uint32_t t = 1; t < threads_; ++t) {
            try {
                pool.push_back(start_thread(worker));
            } catch (const std::system_error&) {
                on_missing();
            }
        }
        worker();
        for (auto& th : pool) th.join();
    }

    const TrainOptions& opt_;
    MFModel& m_;
    RatingGrid& grid_;
    Step step_{};
    std::uint32_t threads_ = 1;
    std::vector<std::uint32_t> sched_;
    std::vector<double> block_loss_;
    std::vector<float> gu_, gi_;
};

// Mean data loss of the model over the grid's ratings (the exact_loss option).
double grid_mean_loss(const MFModel& m, const RatingGrid& g) {
    double sum = 0.0;
    for (std::size_t b = 0; b < g.n_blocks(); ++b) {
        const GridEntry* e = g.block(b);
        const std::uint32_t u0 = g.first_user(b), i0 = g.first_item(b);
        for (std::size_t j = 0; j < g.block_size(b); ++j) {
            sum += m.objective.curve_loss(e[j].v, m.score(u0 + e[j].u, i0 + e[j].i));
        }
    }
    return g.size() ? sum / static_cast<double>(g.size()) : 0.0;
}

}  // namespace

std::uint32_t sgd_workers(std::uint32_t threads, unsigned hw) {
    hw = std::max(1u, hw);
    if (threads == 0) return hw;
    const char* over = std::getenv("SIMDMF_OVERSUBSCRIBE");
    if (over && std::string_view(over) == "1") return threads;
    return std::min<std::uint32_t>(threads, hw);
}

RatingGrid make_grid(const TrainOptions& opt, const Ratings& train, Ratings* consume) {
    const std::uint32_t side = opt.grid ? std::max(opt.grid, RatingGrid::min_side(train.n_users, train.n_items))
                                        : RatingGrid::auto_side(train);
    // The grid is the same for any number of builders; below ~256k ratings threads cost more than they save.
    const std::uint32_t builders =
        train.size() < (std::size_t(1) << 18) ? 1 : sgd_workers(opt.threads, std::thread::hardware_concurrency());
    return RatingGrid(train, side, RatingGrid::kDefaultLanes, consume, builders);
}

void train_sgd(const TrainOptions& opt, RatingGrid& grid, MFModel& m, EpochControl& ctl) {
    SgdSolver solver(opt, grid, m);
    const std::uint32_t epochs = opt.effective_epochs();
    for (std::uint32_t e = 0; e < epochs; ++e) {
        const double lr = opt.lr_at(e);
        double loss = solver.epoch(e, lr);
        if (opt.exact_loss) loss = grid_mean_loss(m, grid);
        if (!ctl.after_epoch(e + 1, loss, lr, m)) return;
    }
}

}  // namespace simdmf
