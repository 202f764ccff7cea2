// Neural CF training: seeded initialisation (N(0, init_std^2) embeddings, Glorot uniform dense
// layers), per epoch a seeded shuffle of the samples (log loss: the positives and `negatives` fresh
// unseen items per positive), mini-batches through ncf_forward / ncf_backward, then Adam (dense for
// the layers; lazy or dense for the embeddings) or SGD, and the shared EpochControl (epoch_control.hpp). See ncf_train.hpp.
#include "solvers/ncf_train.hpp"

#include <algorithm>
#include <bit>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <thread>

#include "idspace.hpp"
#include "rng.hpp"
#include "serve/seen.hpp"
#include "solvers/epoch_control.hpp"
#include "solvers/negatives.hpp"
#include "task_pool.hpp"

namespace simdmf {

using kernels::nn_pad;

namespace {

constexpr std::size_t kBitsetBytes = 64u << 20;  // the negative sampler's seen bitset when users x items bits fit

bool is_embedding(const char* name) {
    const std::string s(name);
    return s.size() > 2 && (s.compare(s.size() - 2, 2, ".P") == 0 || s.compare(s.size() - 2, 2, ".Q") == 0);
}

void init_params(NCFModel& m, const TrainOptions& opt) {
    Rng rng(opt.seed);
    for (const ParamView& v : m.params()) {
        float* d = v.array->data();
        if (is_embedding(v.name)) {
            for (std::uint64_t r = 0; r < v.rows; ++r)
                for (std::uint64_t c = 0; c < v.used; ++c)
                    d[r * v.cols + c] = static_cast<float>(rng.normal() * opt.ncf.init_std);
        } else if (v.rows > 1 || std::string(v.name).find(".W") != std::string::npos) {
            const double a = std::sqrt(6.0 / double(v.rows + v.used));  // Glorot uniform
            for (std::uint64_t r = 0; r < v.rows; ++r)
                for (std::uint64_t c = 0; c < v.used; ++c)
                    d[r * v.cols + c] = static_cast<float>((2.0 * rng.uniform() - 1.0) * a);
        }  // biases start at zero
    }
}

Objective objective_for(const TrainOptions& opt, double lo, double hi) {
    Objective o = Objective::for_loss(opt.loss);
    switch (opt.ncf.link) {
        case 1: o.link = Link::identity; break;
        case 2: o.link = Link::sigmoid; break;
        case 3: o.link = Link::scaled_sigmoid; break;
        default: o.link = opt.logistic() ? Link::sigmoid : Link::scaled_sigmoid;
    }
    if (opt.logistic() && o.link != Link::sigmoid)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "the logistic loss needs ncf_link sigmoid (or auto)");
    if (o.link == Link::scaled_sigmoid) {
        if (!(hi > lo)) fail(SIMDMF_ERR_INVALID_DATA, "ncf_link scaled_sigmoid needs a rating range with max > min");
        o.lo = lo;
        o.hi = hi;
    }
    return o;
}

// The same ids, index by index (both without a map: both index spaces).
bool same_ids(const std::shared_ptr<const IdMap>& a, const std::shared_ptr<const IdMap>& b) {
    if (a == b) return true;
    if (!a || !b || a->size() != b->size() || a->is_string() != b->is_string()) return false;
    return a->is_string() ? a->strings_list() == b->strings_list() : a->raws() == b->raws();
}

// Rng::shuffle's permutation (the same draws in the same order), with the swap partners drawn 64
// ahead and prefetched: the epoch's samples are megabytes and a swap is otherwise a cache miss.
template <class T>
void shuffle_prefetched(Rng& rng, T* first, std::size_t n) {
    constexpr std::size_t kAhead = 64;
    std::size_t ring[kAhead];
    std::size_t drawn = n;  // partners drawn for positions i = n .. drawn + 1
    auto draw = [&] {
        const std::size_t j = static_cast<std::size_t>(rng.below(drawn));
        ring[drawn % kAhead] = j;
        __builtin_prefetch(first + j, 1);
        --drawn;
    };
    for (std::size_t i = n; i > 1; --i) {
        while (drawn > 1 && drawn + kAhead > i) draw();
        std::swap(first[i - 1], first[ring[i % kAhead]]);
    }
}

// Runs f(t) for the slices t < n of a batch on the caller and up to n - 1 persistent threads (started
// once per training run; the ones the system refuses are done without: the caller runs their slices).
// Slices are handed out one at a time; a slice's work does not depend on the thread that runs it.
// Waiting threads spin up to 200 us, then sleep on the atomic (futex).
class SliceRunner {
public:
    explicit SliceRunner(unsigned n) : n_(n) {
        try {
            for (unsigned t = 1; t < n; ++t) {
                auto loop = [this] { worker(); };
                pool_.push_back(start_thread(loop));
            }
        } catch (const std::system_error&) {  // fewer threads than slices
        } catch (const std::bad_alloc&) {
        }
    }
    ~SliceRunner() {
        stop_.store(true);
        gen_.fetch_add(1);
        gen_.notify_all();
        for (auto& th : pool_) th.join();
    }
    SliceRunner(const SliceRunner&) = delete;
    SliceRunner& operator=(const SliceRunner&) = delete;

    template <class F>
    void run(F& f) {
        if (pool_.empty()) {
            for (unsigned t = 0; t < n_; ++t) f(t);
            return;
        }
        job_ = &f;
        call_ = [](void* p, unsigned t) { (*static_cast<F*>(p))(t); };
        done_.store(0);  // before next_: a thread late from the last batch may take a slice at once
        next_.store(0);
        gen_.fetch_add(1, std::memory_order_release);
        gen_.notify_all();
        work();
        const auto t0 = std::chrono::steady_clock::now();
        for (unsigned spin = 0;; ++spin) {
            const unsigned d = done_.load(std::memory_order_acquire);
            if (d == n_) break;
            if (spinning_too_long(spin, t0)) done_.wait(d);
        }
        if (error_) {
            std::exception_ptr e = error_;
            error_ = nullptr;
            std::rethrow_exception(e);
        }
    }

private:
    // Spin (a pause an iteration) for up to kSpin, then sleep: the serial step between two batches'
    // parallel parts takes tens of microseconds, about what waking a sleeping thread takes, and a
    // worker that wakes late finds the caller has done its slice already.
    static bool spinning_too_long(unsigned spin, std::chrono::steady_clock::time_point t0) {
        constexpr auto kSpin = std::chrono::microseconds(200);
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        return spin % 64 == 63 && std::chrono::steady_clock::now() - t0 > kSpin;
    }
    void work() {
        for (;;) {
            const unsigned t = next_.fetch_add(1);
            if (t >= n_) return;
            try {
                call_(job_, t);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex_);
                if (!error_) error_ = std::current_exception();
            }
            if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) done_.notify_all();
        }
    }
    void worker() {
        unsigned seen = 0;
        for (;;) {
            unsigned g = gen_.load(std::memory_order_acquire);
            const auto t0 = std::chrono::steady_clock::now();
            for (unsigned spin = 0; g == seen; ++spin) {
                if (spinning_too_long(spin, t0)) gen_.wait(g);
                g = gen_.load(std::memory_order_acquire);
            }
            seen = g;
            if (stop_.load()) return;
            work();
        }
    }
    unsigned n_;
    std::vector<std::thread> pool_;
    std::atomic<unsigned> gen_{0}, next_{0}, done_{0};
    std::atomic<bool> stop_{false};
    void* job_ = nullptr;
    void (*call_)(void*, unsigned) = nullptr;
    std::exception_ptr error_;
    std::mutex error_mutex_;
};

// The rows form's input layers: weights (".Pw", ".Qw": lazy like embeddings, over the rows the
// batch's inputs name) and their biases (".Pb", ".Qb": dense). Both belong to the side they read.
bool is_input_weight(const char* name) {
    const std::string s(name);
    return s.size() > 3 && (s.compare(s.size() - 3, 3, ".Pw") == 0 || s.compare(s.size() - 3, 3, ".Qw") == 0);
}
bool is_input_bias(const char* name) {
    const std::string s(name);
    return s.size() > 3 && (s.compare(s.size() - 3, 3, ".Pb") == 0 || s.compare(s.size() - 3, 3, ".Qb") == 0);
}

struct Slot {
    ParamArray* w;
    AlignedFloats* g;
    AlignedFloats m, v;
    bool embedding;
    int side;  // embeddings: SIMDMF_USERS or SIMDMF_ITEMS
    std::size_t ld, width;
    bool input_w = false;  // rows form: an input layer's weights (lazy over the rows its inputs name)
    int half = 1;          // the optimizer step's half: 0 the users' side, 1 the items' and the dense layers
    bool lazy = false;     // row-wise: only the rows a batch touched (embeddings, input weights; else dense)
    bool catchup = false;  // lazy Adam whose rows catch up on their skipped steps (ncf_lazy_adam 1)
    std::vector<std::uint64_t> last{};         // catchup: the step each row is up to (0: the start)
    std::vector<std::uint32_t> behind{};       // catchup: the listed rows that skipped steps
    std::vector<float> cw{}, cm{}, cv{};       // their coefficients (NnTable::adam_catchup)
};

// Catch-up lazy Adam (ncf_lazy_adam 1). A row that no batch touched on steps t0+1 .. T would, under
// dense Adam, have moved by sum_s step_s m_s / (sqrt(v_s) isb2_s + eps) with m_s = b1^(s-t0) m and
// v_s = b2^(s-t0) v (zero gradients). Leaving eps out, that is m / sqrt(v) times
//   cw(t0, T) = sum_{s=t0+1}^{T} c(s) r^(s-t0),   c(s) = lr sqrt(1 - b2^s) / (1 - b1^s),  r = b1 / sqrt(b2),
// kept for every t0 of the last D steps in a ring (advancing T by one is one pass over the D values);
// a row skipped D steps or more sums its first D terms directly (the rest is below r^D < 1e-12 of it).
class Catchup {
public:
    Catchup(double lr, double b1, double b2) : lr_(lr), b1_(b1), b2_(b2), r_(b1 / std::sqrt(b2)) {
        if (!usable()) return;
        const auto need = static_cast<std::size_t>(std::ceil(std::log(1e-12) / std::log(r_))) + 1;
        d_ = std::bit_ceil(need);  // a power of two: ring slots by a mask (264 -> 512 for the usual betas)
        mask_ = d_ - 1;
        ring_.assign(d_, 0.0);
        rpow_.resize(d_ + 1);
        p1_.resize(d_);
        p2_.resize(d_);
        for (std::size_t j = 0; j <= d_; ++j) rpow_[j] = std::pow(r_, double(j));
        for (std::size_t j = 0; j < d_; ++j) p1_[j] = std::pow(b1, double(j)), p2_[j] = std::pow(b2, double(j));
    }
    // When the skipped steps' moves shrink geometrically (r < 0.99; Adam's usual betas give 0.90).
    bool usable() const { return r_ > 0.0 && r_ < 0.99; }
    // The ring covers the skipped steps up to T.
    void advance(std::uint64_t T) {
        for (; covered_ < T;) {
            const std::uint64_t s = ++covered_;
            const double cs = c(s);
            const std::uint64_t lo = s >= d_ ? s - d_ + 1 : 0;
            for (std::uint64_t t0 = lo; t0 < s; ++t0) ring_[t0 & mask_] += cs * rpow_[s - t0];
            ring_[s & mask_] = 0.0;  // a row up to s has nothing to catch up yet
        }
    }
    // The coefficients of a row up to step t0 < T brought to T (T <= the last advance).
    void coef(std::uint64_t t0, std::uint64_t T, float* cw, float* cm, float* cv) const {
        const std::uint64_t d = T - t0;
        if (d < d_) {
            *cw = static_cast<float>(ring_[t0 & mask_]);
            *cm = static_cast<float>(p1_[d]);
            *cv = static_cast<float>(p2_[d]);
            return;
        }
        double sum = 0.0;
        for (std::size_t j = 1; j <= d_; ++j) sum += c(t0 + j) * rpow_[j];
        *cw = static_cast<float>(sum);
        *cm = static_cast<float>(std::pow(b1_, double(d)));
        *cv = static_cast<float>(std::pow(b2_, double(d)));
    }

private:
    double c(std::uint64_t s) const {
        return lr_ * std::sqrt(1.0 - std::pow(b2_, double(s))) / (1.0 - std::pow(b1_, double(s)));
    }
    double lr_, b1_, b2_, r_;
    std::size_t d_ = 0, mask_ = 0;
    std::uint64_t covered_ = 0;
    std::vector<double> ring_, rpow_, p1_, p2_;
};

}  // namespace

NCFModel neumf_from(const NCFModel& g, const NCFModel& p, double alpha) {
    if (g.kind != ModelKind::gmf || p.kind != ModelKind::mlp)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "neumf_from needs a GMF and an MLP model");
    if (g.n_users != p.n_users || g.n_items != p.n_items)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "neumf_from: the GMF and MLP models have different user or item counts");
    if (!same_ids(g.user_ids, p.user_ids) || !same_ids(g.item_ids, p.item_ids))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "neumf_from: the GMF and MLP models were trained on different user or item ids");
    if (!(alpha >= 0.0 && alpha <= 1.0)) fail(SIMDMF_ERR_OUT_OF_RANGE, "neumf_from: alpha must be in [0, 1]");
    if (g.shape.rows != p.shape.rows)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "neumf_from: the GMF and MLP models have different input forms (ncf_input)");
    if (g.shape.rows && (g.in_users != p.in_users || !g.input || !p.input || !(*g.input == *p.input)))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "neumf_from: the GMF and MLP models (ncf_input rows) read different training matrices");
    NcfShape s = p.shape;
    s.k = g.shape.k;
    NCFModel m;
    m.allocate(ModelKind::neumf, s, g.in_users, g.n_items);
    m.n_users = g.n_users;
    m.input = g.input;
    m.gPb = g.gPb;
    m.gQb = g.gQb;
    m.mPb = p.mPb;
    m.mQb = p.mQb;
    m.objective = g.objective;
    m.min_pred = g.min_pred;
    m.max_pred = g.max_pred;
    m.user_ids = g.user_ids;
    m.item_ids = g.item_ids;
    m.gP = g.gP;
    m.gQ = g.gQ;
    m.mP = p.mP;
    m.mQ = p.mQ;
    m.W = p.W;
    m.b = p.b;
    for (std::uint32_t j = 0; j < s.k; ++j) m.hW[j * 16] = static_cast<float>(alpha * g.hW[j * 16]);
    for (std::uint32_t j = 0; j < p.tower_out(); ++j)
        m.hW[(s.k + j) * 16] = static_cast<float>((1.0 - alpha) * p.hW[j * 16]);
    m.hb[0] = static_cast<float>(alpha * g.hb[0] + (1.0 - alpha) * p.hb[0]);
    m.build_item_cache();
    return m;
}

TrainOptions with_shape_of(const TrainOptions& opt, const NCFModel& m) {
    TrainOptions o = opt;
    if (m.has_gmf()) o.k = m.shape.k;
    if (m.has_mlp()) {
        o.ncf.layers = m.shape.layers;
        o.ncf.activation = static_cast<std::uint32_t>(m.shape.act);
        o.ncf.slope = m.shape.slope;
    }
    return o;
}

NcfTrainResult train_ncf(const TrainOptions& opt, const Ratings& train, const Ratings* valid,
                         const EpochCallback& callback, const NCFModel* init) {
    if (opt.model != ModelKind::gmf && opt.model != ModelKind::mlp && opt.model != ModelKind::neumf)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "train_ncf: model must be gmf, mlp or neumf");
    if (train.empty()) fail(SIMDMF_ERR_INVALID_DATA, "the training set has no ratings");
    train.validate(false);
    if (valid) {
        valid->validate(false);
        if (valid->n_users > train.n_users || valid->n_items > train.n_items)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "validation set has more users or items than the training set");
    }
    const NcfOptions& no = opt.ncf;
    if (no.batch < 1) fail(SIMDMF_ERR_OUT_OF_RANGE, "ncf_batch must be at least 1");
    const auto [vlo, vhi] = std::minmax_element(train.value.begin(), train.value.end());
    for (const Ratings* r : {&train, valid})
        if (r && (opt.min_rating > -HUGE_VAL || opt.max_rating < HUGE_VAL))
            for (float v : r->value)
                if (v < opt.min_rating || v > opt.max_rating)
                    fail(SIMDMF_ERR_INVALID_DATA, "a rating " + std::to_string(v) + " is outside the declared range");
    const double lo = std::isfinite(opt.min_rating) ? opt.min_rating : *vlo;
    const double hi = std::isfinite(opt.max_rating) ? opt.max_rating : *vhi;

    NcfTrainResult res;
    NCFModel& m = res.model;
    if (init) {
        m = *init;
        m.item_cache.reset();  // its parameters change from here
        if (m.n_users != train.n_users || m.n_items != train.n_items || m.kind != opt.model)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("the initial model (") + init->kind_name() + ", " +
                                                  std::to_string(init->n_users) + " x " + std::to_string(init->n_items) +
                                                  ") does not match the data or the model kind");
        check_id_space(train, space_of(*init), "the training data");
    } else {
        NcfShape s;
        s.k = opt.k;
        if (!no.layers.empty()) s.layers = no.layers;  // else NcfShape's 64,32,16,8
        s.act = static_cast<kernels::Act>(no.activation);
        s.slope = static_cast<float>(no.slope);
        s.rows = no.input == 1;
        m.allocate(opt.model, s, train.n_users, train.n_items);
        init_params(m, opt);
        if (s.rows)  // the training matrix the input layers read (and the model serves with)
            m.input = std::make_shared<const NcfInputs>(NcfInputs::from_triples(
                train.n_users, train.n_items, train.user.data(), train.item.data(), train.value.data(), train.size(),
                no.input_norm));
    }
    if (m.shape.rows && (!m.input || m.in_users != train.n_users))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "the initial model (ncf_input rows) has no training matrix for this data");
    m.objective = objective_for(opt, lo, hi);
    m.user_ids = train.user_ids;
    m.item_ids = train.item_ids;
    if (!opt.logistic() && opt.clip_predictions) {
        m.min_pred = static_cast<float>(lo);
        m.max_pred = static_cast<float>(hi);
    }

    NcfGrads grads;
    grads.init(m);
    std::vector<Slot> slots;
    {
        std::size_t j = 0;
        for (const ParamView& v : m.params()) {
            Slot s{nullptr, &grads.g[j], {}, {}, is_embedding(v.name), 0, v.cols, v.used};
            s.input_w = is_input_weight(v.name);
            const std::string name(v.name);
            const char tag = s.embedding ? name.back() : name[name.size() - 2];
            s.side = tag == 'P' ? SIMDMF_USERS : SIMDMF_ITEMS;
            s.half = (s.embedding || s.input_w || is_input_bias(v.name)) && s.side == SIMDMF_USERS ? 0 : 1;
            if (s.embedding || s.input_w) {  // dense Adam's rule when the skipped steps have gradients (L2)
                const double l2 = s.embedding ? no.l2_embed : no.l2_weights;
                s.catchup = no.optimizer == 0 && no.lazy_adam == 1 && l2 == 0.0 &&
                            Catchup(1.0, no.beta1, no.beta2).usable();
                s.lazy = no.optimizer == 1 || no.lazy_adam == 2 || s.catchup;
                if (s.catchup) s.last.assign(v.rows, 0);
            }
            if (no.optimizer == 0) {
                s.m.assign(v.rows * v.cols, 0.0f);
                s.v.assign(v.rows * v.cols, 0.0f);
            }
            slots.push_back(std::move(s));
            ++j;
        }
    }
    auto bind = [&] {  // the param arrays (the model may have been replaced by a snapshot)
        std::size_t j = 0;
        for (const ParamView& v : m.params()) slots[j++].w = v.array;
    };
    bind();

    // Samples: (user, item, target). Squared loss: the ratings of `train`, read in place (no copy); log
    // loss: the events (target +1 or -1) and ncf_negatives fresh unseen items per positive each epoch
    // (target -1), 12 bytes a sample.
    const bool logistic = opt.logistic();
    const std::size_t n_train = train.size();
    auto target = [&](std::size_t k) -> float { return train.value[k] > 0 ? 1.0f : -1.0f; };
    std::unique_ptr<SeenItems> seen;
    std::unique_ptr<NegativeSampler> sampler;  // the rank lane's: uniform over unseen items, never a seen one
    if (logistic) {
        seen = std::make_unique<SeenItems>(train);
        sampler = std::make_unique<NegativeSampler>(*seen, train.n_items, kBitsetBytes);
    }
    std::vector<std::size_t> order;
    struct Sample {
        std::uint32_t u, i;
        float y;
    };
    std::vector<Sample> samples;

    const std::uint32_t epochs = opt.effective_epochs();
    const double lr = opt.effective_lr();  // 0.001 unless set (the registry)
    Rng rng(opt.seed ^ 0x6E63665F73686666ull);  // the shuffle and negatives' stream
    // Threads: each batch is split into `slices` contiguous parts (the thread count asked for), each
    // with its own workspace and dense-layer gradients; the embeddings' gradient rows are added in the
    // batch's order, the slices' dense gradients in slice order (slice 0 into `grads`, then 1, 2, ...).
    const unsigned slices = static_cast<unsigned>(std::min<std::size_t>(resolve_threads(opt.threads), no.batch));
    struct Slice {
        NcfWorkspace ws;
        NcfGrads grads;  // slices >= 1: dense layers only
        std::vector<float> score, dscore;
        double loss = 0;
    };
    std::vector<Slice> part(slices);
    for (unsigned t = 0; t < slices; ++t) {
        Slice& S = part[t];
        const std::size_t cap = (std::size_t(no.batch) + slices - 1) / slices;
        S.ws.reserve(m, cap);
        S.ws.dropout = static_cast<float>(no.dropout);
        S.ws.leave_out = m.shape.rows && no.input_leave_out;
        S.ws.rng = Rng(opt.seed ^ 0x6E63665F64726F70ull ^ (std::uint64_t(t) * 0x9E3779B97F4A7C15ull));  // dropout masks
        if (t) S.grads.init(m, false);
        S.score.resize(cap);
        S.dscore.resize(cap);
    }
    SliceRunner runner(slices);
    std::vector<std::uint32_t> bu(no.batch), bi(no.batch), touched_u, touched_i;
    std::vector<float> by(no.batch);
    std::vector<std::uint32_t> mark_u(m.n_users, 0), mark_i(m.n_items, 0);
    // Rows form: the input layers' weight rows a batch touched (the items in its users' rows, the
    // users in its items' columns).
    const bool rows_form = m.shape.rows;
    std::vector<std::uint32_t> mark_wu(rows_form ? m.n_items : 0, 0), mark_wi(rows_form ? m.in_users : 0, 0);
    std::vector<std::uint32_t> touched_wu, touched_wi;
    std::uint32_t stamp = 0;
    std::uint64_t step_t = 0;
    Catchup catchup(lr, no.beta1, no.beta2);
    const bool catching = catchup.usable() && no.lazy_adam == 1 && no.optimizer == 0;  // ncf_lazy_adam 1 with Adam
    // Catch-up slots: the listed rows brought to step T (the ring advanced to T).
    auto catch_up = [&](Slot& s, const std::vector<std::uint32_t>& rows, std::uint64_t T) {
        if (s.behind.size() < rows.size()) {
            s.behind.resize(rows.size());
            s.cw.resize(rows.size());
            s.cm.resize(rows.size());
            s.cv.resize(rows.size());
        }
        std::size_t k = 0;
        for (std::uint32_t r : rows) {
            const std::uint64_t t0 = s.last[r];
            if (t0 == T) continue;
            s.behind[k] = r;
            catchup.coef(t0, T, &s.cw[k], &s.cm[k], &s.cv[k]);
            s.last[r] = T;
            ++k;
        }
        kernels::nn_active().adam_catchup(s.w->data(), s.m.data(), s.v.data(), s.ld, s.behind.data(), k, s.width,
                                          s.cw.data(), s.cm.data(), s.cv.data());
    };
    std::vector<std::uint32_t> all_rows;

    EpochControl control(opt, valid, callback, res);
    control.begin(m);

    for (std::uint32_t epoch = 1; epoch <= epochs; ++epoch) {
        // Log loss: the positives and their fresh negatives as (user, item, target) samples, shuffled in
        // place (one read a sample in the batches below, not three scattered ones); squared loss: the
        // ratings read in place through a shuffled index. The same stream of rng draws either way.
        std::size_t n_samples = n_train;
        if (logistic) {
            samples.clear();
            for (std::size_t k = 0; k < n_train; ++k) samples.push_back({train.user[k], train.item[k], target(k)});
            if (no.negatives > 0)
                for (std::size_t k = 0; k < n_train; ++k) {
                    if (!(train.value[k] > 0)) continue;
                    const std::uint32_t u = train.user[k];
                    for (std::uint32_t q = 0; q < no.negatives; ++q) {
                        const std::uint32_t i = sampler->draw_in(u, 0, train.n_items, rng);
                        if (i == kNoItem) break;  // the user has seen every item
                        samples.push_back({u, i, -1.0f});
                    }
                }
            n_samples = samples.size();
            shuffle_prefetched(rng, samples.data(), n_samples);
        } else {
            order.resize(n_train);
            for (std::size_t k = 0; k < n_train; ++k) order[k] = k;
            rng.shuffle(order.data(), n_train);
        }

        double loss_sum = 0;
        for (std::size_t at = 0; at < n_samples; at += no.batch) {
            const std::size_t n = std::min<std::size_t>(no.batch, n_samples - at);
            if (logistic)
                for (std::size_t j = 0; j < n; ++j) {
                    const Sample& x = samples[at + j];
                    bu[j] = x.u, bi[j] = x.i, by[j] = x.y;
                }
            else
                for (std::size_t j = 0; j < n; ++j) {
                    const std::size_t k = order[at + j];
                    bu[j] = train.user[k], bi[j] = train.item[k], by[j] = train.value[k];
                }
            const unsigned used = static_cast<unsigned>(std::min<std::size_t>(slices, n));
            // The rows this batch touches on each side (distinct, in first-seen order) and, rows form,
            // the input layers' weight rows its inputs name; catch-up slots bring those rows to the
            // step before this one (what dense Adam would read) before the forward pass reads them.
            ++stamp;
            if (catching) catchup.advance(step_t);
            auto touch = [&](unsigned h) {
                if (h > 1) return;
                const bool users = h == 0;
                const std::uint32_t* ids = users ? bu.data() : bi.data();
                auto& mark = users ? mark_u : mark_i;
                auto& touched = users ? touched_u : touched_i;
                touched.clear();
                for (std::size_t j = 0; j < n; ++j)
                    if (mark[ids[j]] != stamp) mark[ids[j]] = stamp, touched.push_back(ids[j]);
                auto& touched_w = users ? touched_wu : touched_wi;
                if (rows_form && (no.lazy_adam || no.optimizer == 1)) {  // the weight rows the inputs name
                    const NcfInputs& x = *m.input;
                    const std::uint64_t* ptr = users ? x.uptr.data() : x.iptr.data();
                    const std::uint32_t* idx = users ? x.uidx.data() : x.iidx.data();
                    auto& wmark = users ? mark_wu : mark_wi;
                    touched_w.clear();
                    for (std::uint32_t r : touched)
                        for (std::uint64_t t = ptr[r]; t < ptr[r + 1]; ++t)
                            if (wmark[idx[t]] != stamp) wmark[idx[t]] = stamp, touched_w.push_back(idx[t]);
                }
                if (catching)
                    for (Slot& s : slots)
                        if (s.catchup && (s.half == 0) == users) catch_up(s, s.input_w ? touched_w : touched, step_t);
            };
            if (used > 1) {
                runner.run(touch);
            } else {
                touch(0);
                touch(1);
            }
            auto slice = [&](unsigned t) {
                if (t >= used) return;
                Slice& S = part[t];
                const std::size_t a = n * t / used, c = n * (t + 1) / used - a;
                ncf_forward(m, bu.data() + a, bi.data() + a, c, S.ws, S.score.data());
                double& acc = used == 1 ? loss_sum : S.loss;
                if (logistic) {  // cross-entropy and sigmoid(s) - y01, a vector of scores at a time
                    acc += kernels::nn_active().logistic_grad(S.score.data(), by.data() + a, c, 1.0f / float(n),
                                                              S.dscore.data());
                } else {
                    for (std::size_t j = 0; j < c; ++j) {
                        const double y = by[a + j];
                        acc += m.objective.curve_loss(y, S.score[j]);
                        S.dscore[j] = static_cast<float>(-m.objective.residual(y, S.score[j]) / double(n));
                    }
                }
                ncf_backward(m, bu.data() + a, bi.data() + a, c, S.dscore.data(), S.ws, t ? S.grads : grads, used == 1);
            };
            runner.run(slice);
            if (used > 1)
                for (unsigned t = 0; t < used; ++t) {  // in slice order
                    loss_sum += part[t].loss;
                    part[t].loss = 0;
                }
            // The optimizer step in two halves that touch disjoint arrays, run at once on two threads
            // when there are: the users' embeddings (their slices' rows added in batch order, the rows
            // the batch touched, their update) and the items' embeddings with the dense layers (the
            // slices' dense gradients added in slice order). Each array sees the same operations in
            // the same order as one thread doing both halves would: the same model.
            ++step_t;
            const double bc1 = 1.0 - std::pow(no.beta1, double(step_t)), bc2 = 1.0 - std::pow(no.beta2, double(step_t));
            const float step = static_cast<float>(lr / bc1), isb2 = static_cast<float>(1.0 / std::sqrt(bc2));
            const float b1 = static_cast<float>(no.beta1), b2 = static_cast<float>(no.beta2), eps = static_cast<float>(no.eps);
            auto update = [&](unsigned h) {
                if (h > 1) return;
                const bool users = h == 0;
                if (used > 1)
                    for (unsigned t = 0; t < used; ++t) {
                        Slice& S = part[t];
                        const std::size_t a = n * t / used, c = n * (t + 1) / used - a;
                        ncf_scatter(m, bu.data() + a, bi.data() + a, c, S.ws, grads, users, !users);
                        if (t && !users)
                            for (std::size_t j = 0; j < grads.g.size(); ++j) {
                                AlignedFloats& src = S.grads.g[j];
                                float* dst = grads.g[j].data();
                                for (std::size_t q = 0; q < src.size(); ++q) dst[q] += src[q], src[q] = 0.0f;
                            }
                    }
                const auto& touched = users ? touched_u : touched_i;
                const auto& touched_w = users ? touched_wu : touched_wi;
                const auto& nt = kernels::nn_active();
                for (Slot& s : slots) {
                    if ((s.half == 0) != users) continue;
                    const float l2 = static_cast<float>(s.embedding ? no.l2_embed : no.l2_weights);
                    float* w = s.w->data();
                    if (s.lazy) {
                        // Lazy: only the rows this batch touched (embedding rows, or the input layers'
                        // weight rows its inputs named).
                        const auto& rows = s.input_w ? touched_w : touched;
                        if (s.catchup)
                            for (std::uint32_t r : rows) s.last[r] = step_t;  // caught up: now up to this step
                        if (no.optimizer == 0)
                            nt.adam_rows(w, s.m.data(), s.v.data(), s.g->data(), s.ld, rows.data(), rows.size(),
                                         s.width, step, isb2, b1, b2, eps, l2);
                        else
                            for (std::uint32_t r : rows)
                                nt.sgd_update(w + std::size_t(r) * s.ld, s.g->data() + std::size_t(r) * s.ld, s.ld,
                                              static_cast<float>(lr), l2);
                    } else if (no.optimizer == 0) {
                        nt.adam(w, s.m.data(), s.v.data(), s.g->data(), s.g->size(), step, isb2, b1, b2, eps, l2);
                    } else {
                        nt.sgd_update(w, s.g->data(), s.g->size(), static_cast<float>(lr), l2);
                    }
                }
            };
            if (used > 1) {
                runner.run(update);
            } else {
                update(0);
                update(1);
            }
        }
        const double train_loss = loss_sum / double(n_samples);
        // Every catch-up row brought to the epoch's last step: the model dense Adam would hand over.
        if (catching && step_t > 0) {
            catchup.advance(step_t);
            for (Slot& s : slots) {
                if (!s.catchup) continue;
                all_rows.resize(s.last.size());
                for (std::size_t r = 0; r < all_rows.size(); ++r) all_rows[r] = static_cast<std::uint32_t>(r);
                catch_up(s, all_rows, step_t);
            }
        }

        if (!control.after_epoch(epoch, train_loss, lr, m)) break;
        bind();
    }
    if (!control.finish(m)) res.message += "; snapshot off: the model is the diverged one";
    m.build_item_cache();  // rows form: the item side's outputs for serving
    res.model.train_options = (init ? with_shape_of(opt, *init) : opt).in_effect();
    return res;
}

}  // namespace simdmf
