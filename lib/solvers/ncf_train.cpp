// Neural CF training: seeded initialisation (N(0, init_std^2) embeddings, Glorot uniform dense
// layers), per epoch a seeded shuffle of the samples (log loss: the positives and `negatives` fresh
// unseen items per positive), mini-batches through ncf_forward / ncf_backward, then Adam (dense for
// the layers; lazy or dense for the embeddings) or SGD, and the shared EpochControl (epoch_control.hpp). See ncf_train.hpp.
#include "solvers/ncf_train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "idspace.hpp"
#include "rng.hpp"
#include "serve/seen.hpp"
#include "solvers/epoch_control.hpp"
#include "solvers/negatives.hpp"

namespace simdmf {

using kernels::nn_pad;

namespace {

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

struct Slot {
    ParamArray* w;
    AlignedFloats* g;
    AlignedFloats m, v;
    bool embedding;
    int side;  // embeddings: SIMDMF_USERS or SIMDMF_ITEMS
    std::size_t ld, width;
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
    NcfShape s = p.shape;
    s.k = g.shape.k;
    NCFModel m;
    m.allocate(ModelKind::neumf, s, g.n_users, g.n_items);
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
        m.allocate(opt.model, s, train.n_users, train.n_items);
        init_params(m, opt);
    }
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
            s.side = std::string(v.name).back() == 'P' ? SIMDMF_USERS : SIMDMF_ITEMS;
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

    // Samples: (user, item, target). Index k < train.size() is rating k of `train` (read in place, no
    // copy); log loss adds ncf_negatives fresh unseen items per positive each epoch (nu, ni: target -1).
    const bool logistic = opt.logistic();
    const std::size_t n_train = train.size();
    std::vector<std::uint32_t> nu, ni;
    auto target = [&](std::size_t k) -> float {
        if (k >= n_train) return -1.0f;
        return logistic ? (train.value[k] > 0 ? 1.0f : -1.0f) : train.value[k];
    };
    std::unique_ptr<SeenItems> seen;
    std::unique_ptr<NegativeSampler> sampler;  // the rank lane's: uniform over unseen items, never a seen one
    if (logistic) {
        seen = std::make_unique<SeenItems>(train);
        sampler = std::make_unique<NegativeSampler>(*seen, train.n_items);
    }
    std::vector<std::size_t> order;

    const std::uint32_t epochs = opt.effective_epochs();
    const double lr = opt.effective_lr();  // 0.001 unless set (the registry)
    Rng rng(opt.seed ^ 0x6E63665F73686666ull);  // the shuffle and negatives' stream
    NcfWorkspace ws;
    ws.reserve(m, no.batch);
    ws.dropout = static_cast<float>(no.dropout);
    ws.rng = Rng(opt.seed ^ 0x6E63665F64726F70ull);  // the dropout masks' stream
    std::vector<std::uint32_t> bu(no.batch), bi(no.batch), touched_u, touched_i;
    std::vector<std::uint32_t> mark_u(m.n_users, 0), mark_i(m.n_items, 0);
    std::uint32_t stamp = 0;
    std::vector<float> score(no.batch), dscore(no.batch);
    std::uint64_t step_t = 0;

    EpochControl control(opt, valid, callback, res);
    control.begin(m);

    for (std::uint32_t epoch = 1; epoch <= epochs; ++epoch) {
        nu.clear();
        ni.clear();
        if (logistic && no.negatives > 0)
            for (std::size_t k = 0; k < train.size(); ++k) {
                if (!(train.value[k] > 0)) continue;
                const std::uint32_t u = train.user[k];
                for (std::uint32_t q = 0; q < no.negatives; ++q) {
                    const std::uint32_t i = sampler->draw(u, rng);
                    if (i == kNoItem) break;  // the user has seen every item
                    nu.push_back(u);
                    ni.push_back(i);
                }
            }
        order.resize(n_train + nu.size());
        for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
        rng.shuffle(order.data(), order.size());

        double loss_sum = 0;
        for (std::size_t at = 0; at < order.size(); at += no.batch) {
            const std::size_t n = std::min<std::size_t>(no.batch, order.size() - at);
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t k = order[at + j];
                bu[j] = k < n_train ? train.user[k] : nu[k - n_train];
                bi[j] = k < n_train ? train.item[k] : ni[k - n_train];
            }
            ncf_forward(m, bu.data(), bi.data(), n, ws, score.data());
            for (std::size_t j = 0; j < n; ++j) {
                const double y = target(order[at + j]);
                loss_sum += m.objective.curve_loss(y, score[j]);
                dscore[j] = static_cast<float>(-m.objective.residual(y, score[j]) / double(n));
            }
            ncf_backward(m, bu.data(), bi.data(), n, dscore.data(), ws, grads);
            // The rows this batch touched (distinct, in first-seen order).
            ++stamp;
            touched_u.clear();
            touched_i.clear();
            for (std::size_t j = 0; j < n; ++j) {
                if (mark_u[bu[j]] != stamp) mark_u[bu[j]] = stamp, touched_u.push_back(bu[j]);
                if (mark_i[bi[j]] != stamp) mark_i[bi[j]] = stamp, touched_i.push_back(bi[j]);
            }
            ++step_t;
            const auto& nt = kernels::nn_active();
            const double bc1 = 1.0 - std::pow(no.beta1, double(step_t)), bc2 = 1.0 - std::pow(no.beta2, double(step_t));
            const float step = static_cast<float>(lr / bc1), isb2 = static_cast<float>(1.0 / std::sqrt(bc2));
            const float b1 = static_cast<float>(no.beta1), b2 = static_cast<float>(no.beta2), eps = static_cast<float>(no.eps);
            for (Slot& s : slots) {
                const float l2 = static_cast<float>(s.embedding ? no.l2_embed : no.l2_weights);
                float* w = s.w->data();
                if (s.embedding && (no.lazy_adam || no.optimizer == 1)) {
                    const auto& rows = s.side == SIMDMF_USERS ? touched_u : touched_i;
                    if (no.optimizer == 0)
                        nt.adam_rows(w, s.m.data(), s.v.data(), s.g->data(), s.ld, rows.data(), rows.size(), s.width,
                                     step, isb2, b1, b2, eps, l2);
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
        }
        const double train_loss = loss_sum / double(order.size());

        if (!control.after_epoch(epoch, train_loss, lr, m)) break;
        bind();
    }
    if (!control.finish(m)) res.message += "; snapshot off: the model is the diverged one";
    res.model.train_options = (init ? with_shape_of(opt, *init) : opt).in_effect();
    return res;
}

}  // namespace simdmf
