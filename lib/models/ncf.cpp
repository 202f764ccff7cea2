// GMF, MLP and NeuMF: parameters, the forward pass of a batch (serving and training) and its
// backward pass, on the NnTable kernels. See ncf.hpp.
#include "models/ncf.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace simdmf {

using kernels::nn_pad;

namespace {

constexpr std::size_t kMaxTower = 16;  // dense layers in the MLP tower
const char* const kWNames[kMaxTower] = {"mlp.W1",  "mlp.W2",  "mlp.W3",  "mlp.W4",  "mlp.W5",  "mlp.W6",
                                        "mlp.W7",  "mlp.W8",  "mlp.W9",  "mlp.W10", "mlp.W11", "mlp.W12",
                                        "mlp.W13", "mlp.W14", "mlp.W15", "mlp.W16"};
const char* const kBNames[kMaxTower] = {"mlp.b1",  "mlp.b2",  "mlp.b3",  "mlp.b4",  "mlp.b5",  "mlp.b6",
                                        "mlp.b7",  "mlp.b8",  "mlp.b9",  "mlp.b10", "mlp.b11", "mlp.b12",
                                        "mlp.b13", "mlp.b14", "mlp.b15", "mlp.b16"};
constexpr std::size_t kServeBatch = 256;

void fit(AlignedFloats& a, std::size_t n) {
    if (a.size() < n) a.assign(n, 0.0f);
}

// Copies n rows of w floats from src (stride ls) into dst (stride ld) at column c.
void copy_cols(const float* src, std::size_t ls, std::size_t n, std::size_t w, float* dst, std::size_t ld,
               std::size_t c) {
    for (std::size_t r = 0; r < n; ++r) std::memcpy(dst + r * ld + c, src + r * ls, w * sizeof(float));
}

}  // namespace

std::uint32_t NCFModel::out_in() const {
    return (has_gmf() ? shape.k : 0) + (has_mlp() ? tower_out() : 0);
}

void NCFModel::allocate(ModelKind k, const NcfShape& s, std::uint32_t nu, std::uint32_t ni) {
    if (k != ModelKind::gmf && k != ModelKind::mlp && k != ModelKind::neumf)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "NCFModel: kind must be gmf, mlp or neumf");
    if (k != ModelKind::mlp && (s.k < 1 || s.k > 4096)) fail(SIMDMF_ERR_OUT_OF_RANGE, "k must be in 1..4096 for GMF");
    if (k != ModelKind::gmf) {
        if (s.layers.empty() || s.layers.size() > kMaxTower + 1)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "ncf_layers: 1 to " + std::to_string(kMaxTower + 1) + " widths");
        if (s.layers[0] < 2 || s.layers[0] % 2 != 0)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "ncf_layers: the first width (user + item embedding) must be even");
        for (std::uint32_t w : s.layers)
            if (w < 1 || w > 8192) fail(SIMDMF_ERR_OUT_OF_RANGE, "ncf_layers: widths must be in 1..8192");
    }
    if (s.act == kernels::Act::leaky_relu && !(s.slope > 0.0f && s.slope < 1.0f))
        fail(SIMDMF_ERR_OUT_OF_RANGE, "ncf_slope must be in (0, 1)");
    NcfShape keep = s;
    if (k == ModelKind::gmf) keep.layers = {2};  // unused; kept valid
    const std::uint64_t rows = std::uint64_t(nu) + ni;
    std::uint64_t floats = (k != ModelKind::mlp ? rows * nn_pad(keep.k) : 0) +
                           (k != ModelKind::gmf ? rows * nn_pad(keep.layers[0] / 2) : 0);
    const std::uint64_t mem = physical_memory_bytes();
    if (mem && floats * 4 * 4 > mem)  // parameters, gradients and two Adam moments
        fail(SIMDMF_ERR_OUT_OF_MEMORY, "NCF model of " + std::to_string(floats) + " embedding floats (x4 to train) "
                                       "exceeds physical memory");
    kind = k;
    shape = keep;
    n_users = nu;
    n_items = ni;
    min_pred = -std::numeric_limits<float>::infinity();
    max_pred = std::numeric_limits<float>::infinity();
    gP.clear(); gQ.clear(); mP.clear(); mQ.clear(); W.clear(); b.clear();
    if (has_gmf()) {
        gP.assign(std::size_t(nu) * nn_pad(shape.k), 0.0f);
        gQ.assign(std::size_t(ni) * nn_pad(shape.k), 0.0f);
    }
    if (has_mlp()) {
        mP.assign(std::size_t(nu) * nn_pad(embed()), 0.0f);
        mQ.assign(std::size_t(ni) * nn_pad(embed()), 0.0f);
        for (std::size_t l = 1; l < shape.layers.size(); ++l) {
            W.emplace_back(std::size_t(shape.layers[l - 1]) * nn_pad(shape.layers[l]), 0.0f);
            b.emplace_back(nn_pad(shape.layers[l]), 0.0f);
        }
    }
    hW.assign(std::size_t(out_in()) * 16, 0.0f);
    hb.assign(16, 0.0f);
}

std::uint64_t NCFModel::parameter_count() const {
    std::uint64_t n = 0;
    for (const ConstParamView& v : params()) n += v.rows * v.used;
    return n;
}

std::vector<ParamView> NCFModel::params() {
    std::vector<ParamView> v;
    if (has_gmf()) {
        v.push_back({"gmf.P", &gP, n_users, nn_pad(shape.k), shape.k});
        v.push_back({"gmf.Q", &gQ, n_items, nn_pad(shape.k), shape.k});
    }
    if (has_mlp()) {
        v.push_back({"mlp.P", &mP, n_users, nn_pad(embed()), embed()});
        v.push_back({"mlp.Q", &mQ, n_items, nn_pad(embed()), embed()});
        for (std::size_t l = 0; l < W.size(); ++l) {
            const std::uint32_t out = shape.layers[l + 1];
            v.push_back({kWNames[l], &W[l], shape.layers[l], nn_pad(out), out});
            v.push_back({kBNames[l], &b[l], 1, nn_pad(out), out});
        }
    }
    v.push_back({"out.W", &hW, out_in(), 16, 1});
    v.push_back({"out.b", &hb, 1, 16, 1});
    return v;
}

bool NCFModel::identical(const Model& other) const {
    const auto* o = dynamic_cast<const NCFModel*>(&other);
    if (!o || o->shape.k != shape.k || o->shape.layers != shape.layers || o->shape.act != shape.act ||
        o->shape.slope != shape.slope)
        return false;
    return Model::identical(other);
}

void NcfWorkspace::reserve(const NCFModel& m, std::size_t n) {
    if (n <= cap && !x.empty() == m.has_mlp()) return;
    cap = std::max(n, cap);
    const std::size_t pk = nn_pad(m.shape.k), pe = nn_pad(m.embed()), ph = nn_pad(m.out_in());
    if (m.has_gmf())
        for (AlignedFloats* a : {&gu, &gi, &gv, &dgv, &dgu, &dgi}) fit(*a, cap * pk);
    if (m.has_mlp()) {
        for (AlignedFloats* a : {&eu, &ei, &deu, &dei}) fit(*a, cap * pe);
        x.resize(m.shape.layers.size());
        dx.resize(m.shape.layers.size());
        drop.resize(m.shape.layers.size());
        for (std::size_t l = 0; l < x.size(); ++l) {
            fit(x[l], cap * nn_pad(m.shape.layers[l]));
            fit(dx[l], cap * nn_pad(m.shape.layers[l]));
            fit(drop[l], cap * nn_pad(m.shape.layers[l]));
        }
    }
    fit(h, cap * ph);
    fit(dh, cap * ph);
}

void NcfGrads::init(NCFModel& m, bool embeddings) {
    g.clear();
    for (const ParamView& v : m.params()) {
        const std::string name(v.name);
        const bool embedding = name.size() > 2 && name[name.size() - 2] == '.' && (name.back() == 'P' || name.back() == 'Q');
        g.emplace_back(embedding && !embeddings ? 0 : v.rows * v.cols, 0.0f);
    }
}

void ncf_forward(const NCFModel& m, const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                 NcfWorkspace& ws, float* out) {
    const auto& nt = kernels::nn_active();
    const std::size_t pk = nn_pad(m.shape.k), pe = nn_pad(m.embed()), ph = nn_pad(m.out_in());
    const std::uint32_t e = m.embed();
    const float* hin = nullptr;
    if (m.has_gmf()) {
        nt.gather(m.gP.data(), pk, users, n, m.shape.k, ws.gu.data(), pk);
        nt.gather(m.gQ.data(), pk, items, n, m.shape.k, ws.gi.data(), pk);
        const float *a = ws.gu.data(), *c = ws.gi.data();
        float* v = ws.gv.data();
        for (std::size_t j = 0; j < n * pk; ++j) v[j] = a[j] * c[j];
        hin = ws.gv.data();
    }
    if (m.has_mlp()) {
        const std::size_t l0 = nn_pad(m.shape.layers[0]);
        if (e % 16 == 0) {  // [p_u, q_i] gathered in place: each half is whole padded vectors
            nt.gather(m.mP.data(), pe, users, n, e, ws.x[0].data(), l0);
            nt.gather(m.mQ.data(), pe, items, n, e, ws.x[0].data() + e, l0);
        } else {
            nt.gather(m.mP.data(), pe, users, n, e, ws.eu.data(), pe);
            nt.gather(m.mQ.data(), pe, items, n, e, ws.ei.data(), pe);
            copy_cols(ws.eu.data(), pe, n, e, ws.x[0].data(), l0, 0);
            copy_cols(ws.ei.data(), pe, n, e, ws.x[0].data(), l0, e);
        }
        for (std::size_t l = 1; l < m.shape.layers.size(); ++l) {
            const std::size_t in = m.shape.layers[l - 1], o = m.shape.layers[l];
            nt.dense_forward(ws.x[l - 1].data(), nn_pad(in), n, in, o, m.W[l - 1].data(), nn_pad(o),
                             m.b[l - 1].data(), ws.x[l].data(), nn_pad(o), static_cast<int>(m.shape.act),
                             m.shape.slope);
            if (ws.dropout > 0.0f) {  // inverted dropout on the layer's output (padding stays zero)
                const std::size_t lo = nn_pad(o);
                float* mask = ws.drop[l].data();
                if (!ws.reuse_mask) {
                    const float keep = 1.0f / (1.0f - ws.dropout);
                    for (std::size_t j = 0; j < n; ++j)
                        for (std::size_t c = 0; c < lo; ++c)
                            mask[j * lo + c] = c < o && ws.rng.uniform() >= ws.dropout ? keep : 0.0f;
                }
                float* y = ws.x[l].data();
                for (std::size_t j = 0; j < n * lo; ++j) y[j] *= mask[j];
            }
        }
        hin = ws.x.back().data();
    }
    if (m.kind == ModelKind::neumf) {
        const std::size_t pt = nn_pad(m.tower_out());
        std::fill(ws.h.begin(), ws.h.begin() + n * ph, 0.0f);
        copy_cols(ws.gv.data(), pk, n, m.shape.k, ws.h.data(), ph, 0);
        copy_cols(ws.x.back().data(), pt, n, m.tower_out(), ws.h.data(), ph, m.shape.k);
        hin = ws.h.data();
    }
    // The output unit: one dot product a row (its weights as one contiguous, zero-padded vector).
    fit(ws.hw, ph);
    std::fill(ws.hw.begin(), ws.hw.begin() + ph, 0.0f);
    for (std::uint32_t c = 0; c < m.out_in(); ++c) ws.hw[c] = m.hW[std::size_t(c) * 16];
    nt.dot_rows(hin, ph, n, ws.hw.data(), m.out_in(), out);
    const float bias = m.hb[0];
    for (std::size_t j = 0; j < n; ++j) out[j] += bias;
}

void ncf_backward(const NCFModel& m, const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                  const float* dscore, NcfWorkspace& ws, NcfGrads& grads, bool scatter) {
    const auto& nt = kernels::nn_active();
    const std::size_t pk = nn_pad(m.shape.k), pe = nn_pad(m.embed()), ph = nn_pad(m.out_in());
    const std::uint32_t e = m.embed();
    std::size_t gi = 0;  // index into grads, in params() order
    std::size_t g_w0 = 0;
    if (m.has_gmf()) gi += 2;
    if (m.has_mlp()) { gi += 2; g_w0 = gi; gi += 2 * m.W.size(); }
    const std::size_t g_hw = gi, g_hb = gi + 1;

    // The output unit (linear, 1 unit): dW[c] += sum_b h[b, c] ds_b, db += sum_b ds_b (b in order),
    // dh[b, c] = ds_b W[c] (padding zero).
    const float* hin = m.kind == ModelKind::neumf ? ws.h.data() : m.has_gmf() ? ws.gv.data() : ws.x.back().data();
    {  // over whole padded rows (h's and hw's padding zero: dh's stays zero), dW summed contiguously first
        const std::uint32_t w = m.out_in();
        float* dW = grads.g[g_hw].data();
        float* db = grads.g[g_hb].data();
        fit(ws.dhw, ph);
        float* acc = ws.dhw.data();
        const float* hw = ws.hw.data();
        for (std::uint32_t c = 0; c < w; ++c) acc[c] = dW[std::size_t(c) * 16];
        std::fill(acc + w, acc + ph, 0.0f);
        for (std::size_t j = 0; j < n; ++j) {
            const float ds = dscore[j];
            const float* h = hin + j * ph;
            float* dh = ws.dh.data() + j * ph;
            for (std::size_t c = 0; c < ph; ++c) {
                acc[c] += h[c] * ds;
                dh[c] = ds * hw[c];
            }
            db[0] += ds;
        }
        for (std::uint32_t c = 0; c < w; ++c) dW[std::size_t(c) * 16] = acc[c];
    }
    // Split dh into the branches (neumf), or take it whole.
    float* dgv = m.has_gmf() ? (m.kind == ModelKind::neumf ? ws.dgv.data() : ws.dh.data()) : nullptr;
    if (m.kind == ModelKind::neumf) {
        const std::size_t pt = nn_pad(m.tower_out());
        std::fill(ws.dgv.begin(), ws.dgv.begin() + n * pk, 0.0f);
        std::fill(ws.dx.back().begin(), ws.dx.back().begin() + n * pt, 0.0f);
        copy_cols(ws.dh.data(), ph, n, m.shape.k, ws.dgv.data(), pk, 0);
        copy_cols(ws.dh.data() + m.shape.k, ph, n, m.tower_out(), ws.dx.back().data(), pt, 0);
    }
    if (m.has_gmf()) {
        const float *a = ws.gu.data(), *c = ws.gi.data();
        for (std::size_t j = 0; j < n * pk; ++j) {
            ws.dgu[j] = dgv[j] * c[j];
            ws.dgi[j] = dgv[j] * a[j];
        }
    }
    if (m.has_mlp()) {
        const std::size_t L = m.shape.layers.size();
        if (m.kind != ModelKind::neumf)  // dh is the tower's output gradient (ph = its padded width)
            std::copy(ws.dh.begin(), ws.dh.begin() + n * ph, ws.dx.back().begin());
        for (std::size_t l = L - 1; l >= 1; --l) {
            const std::size_t in = m.shape.layers[l - 1], o = m.shape.layers[l];
            if (ws.dropout > 0.0f) {  // through the dropout mask of the forward pass
                float* d = ws.dx[l].data();
                const float* mask = ws.drop[l].data();
                for (std::size_t j = 0; j < n * nn_pad(o); ++j) d[j] *= mask[j];
            }
            nt.dense_backward(ws.x[l - 1].data(), nn_pad(in), n, in, o, m.W[l - 1].data(), nn_pad(o), ws.x[l].data(),
                              ws.dx[l].data(), nn_pad(o), grads.g[g_w0 + 2 * (l - 1)].data(),
                              grads.g[g_w0 + 2 * (l - 1) + 1].data(), ws.dx[l - 1].data(), nn_pad(in),
                              static_cast<int>(m.shape.act), m.shape.slope);
        }
        const std::size_t l0 = nn_pad(m.shape.layers[0]);
        if (e % 16 != 0) {  // else ncf_scatter reads the halves of dx[0] in place
            std::fill(ws.deu.begin(), ws.deu.begin() + n * pe, 0.0f);
            std::fill(ws.dei.begin(), ws.dei.begin() + n * pe, 0.0f);
            copy_cols(ws.dx[0].data(), l0, n, e, ws.deu.data(), pe, 0);
            copy_cols(ws.dx[0].data() + e, l0, n, e, ws.dei.data(), pe, 0);
        }
    }
    if (scatter) ncf_scatter(m, users, items, n, ws, grads);
}

void ncf_scatter(const NCFModel& m, const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                 const NcfWorkspace& ws, NcfGrads& grads, bool to_users, bool to_items) {
    const auto& nt = kernels::nn_active();
    const std::size_t pk = nn_pad(m.shape.k), pe = nn_pad(m.embed());
    std::size_t gi = 0;  // params() order: gmf.P, gmf.Q, then mlp.P, mlp.Q
    if (m.has_gmf()) {
        if (to_users) nt.scatter_add(grads.g[gi].data(), pk, users, n, m.shape.k, ws.dgu.data(), pk);
        if (to_items) nt.scatter_add(grads.g[gi + 1].data(), pk, items, n, m.shape.k, ws.dgi.data(), pk);
        gi += 2;
    }
    if (m.has_mlp()) {
        const std::uint32_t e = m.embed();
        if (e % 16 == 0) {
            const std::size_t l0 = nn_pad(m.shape.layers[0]);
            if (to_users) nt.scatter_add(grads.g[gi].data(), pe, users, n, e, ws.dx[0].data(), l0);
            if (to_items) nt.scatter_add(grads.g[gi + 1].data(), pe, items, n, e, ws.dx[0].data() + e, l0);
        } else {
            if (to_users) nt.scatter_add(grads.g[gi].data(), pe, users, n, e, ws.deu.data(), pe);
            if (to_items) nt.scatter_add(grads.g[gi + 1].data(), pe, items, n, e, ws.dei.data(), pe);
        }
    }
}

void NCFModel::score_pairs(const std::uint32_t* users, const std::uint32_t* items, std::size_t n, float* out) const {
    thread_local NcfWorkspace ws;
    ws.cap = 0;  // a workspace may have served another model's shape
    ws.reserve(*this, std::min(n, kServeBatch));
    for (std::size_t j = 0; j < n; j += kServeBatch) {
        const std::size_t c = std::min(kServeBatch, n - j);
        ncf_forward(*this, users + j, items + j, c, ws, out + j);
    }
}

// Serving all items of a range for a user, batched by item blocks, without the training path's
// padding: the GMF branch and the output unit's 1 unit as dot products (w_u = h_gmf * p_u once per
// user, then dot(w_u, q_i) over the item block, rows in place), the MLP's first layer split into the
// user's half (once per user, folded into the bias) and the item half over the block's rows in place.
void NCFModel::score_block(const std::uint32_t* users, std::size_t n_rows, std::uint32_t item_begin,
                           std::uint32_t item_end, float* out, std::size_t ld) const {
    const auto& nt = kernels::nn_active();
    const auto& kt = kernels::active();
    const std::size_t pk = nn_pad(shape.k), pe = nn_pad(embed()), L = shape.layers.size();
    const std::uint32_t e = embed(), k = shape.k;
    struct Scratch {  // padding columns must stay zero: rebuilt zeroed when the shape changes
        NcfShape shape;
        AlignedFloats wu, hg, ht, b1u, dots;
        std::vector<AlignedFloats> x;
    };
    thread_local Scratch w;
    if (w.shape.k != shape.k || w.shape.layers != shape.layers || w.dots.empty()) {
        w = Scratch{};
        w.shape = shape;
        w.dots.assign(kServeBatch, 0.0f);
        w.wu.assign(pk, 0.0f);
        w.hg.assign(pk, 0.0f);
        w.ht.assign(nn_pad(shape.layers.back()), 0.0f);
        w.b1u.assign(L > 1 ? nn_pad(shape.layers[1]) : 0, 0.0f);
        w.x.resize(L);
        for (std::size_t l = 1; l < L; ++l) w.x[l].assign(kServeBatch * nn_pad(shape.layers[l]), 0.0f);
    }
    // The output unit's weights, contiguous: the GMF part, then the MLP part.
    if (has_gmf())
        for (std::uint32_t c = 0; c < k; ++c) w.hg[c] = hW[std::size_t(c) * 16];
    if (has_mlp())
        for (std::uint32_t c = 0, t0 = has_gmf() ? k : 0; c < tower_out(); ++c) w.ht[c] = hW[std::size_t(t0 + c) * 16];
    for (std::size_t r = 0; r < n_rows; ++r) {
        const std::uint32_t u = users[r];
        float user_part = hb[0];
        if (has_gmf()) {
            const float* pu = gP.data() + std::size_t(u) * pk;
            for (std::uint32_t c = 0; c < k; ++c) w.wu[c] = w.hg[c] * pu[c];
        }
        if (has_mlp() && L > 1) {  // the user's half of layer 1 plus its bias (W1's rows 0..e-1), no activation
            const std::size_t o1 = shape.layers[1];
            nt.dense_forward(mP.data() + std::size_t(u) * pe, pe, 1, e, o1, W[0].data(), nn_pad(o1), b[0].data(),
                             w.b1u.data(), nn_pad(o1), 0, 0.0f);
        } else if (has_mlp()) {  // no tower: the output unit reads [p_u, q_i] directly
            user_part += kt.dot(w.ht.data(), mP.data() + std::size_t(u) * pe, e);
        }
        for (std::uint32_t i0 = item_begin; i0 < item_end; i0 += kServeBatch) {
            const std::size_t c = std::min<std::size_t>(kServeBatch, item_end - i0);
            float* o = out + r * ld + (i0 - item_begin);
            if (has_gmf()) nt.dot_rows(gQ.data() + std::size_t(i0) * pk, pk, c, w.wu.data(), k, o);
            else std::fill(o, o + c, 0.0f);
            if (has_mlp() && L == 1) {
                kt.dot_rows(mQ.data() + std::size_t(i0) * pe, c, pe, w.ht.data() + e, e, w.dots.data());
                for (std::size_t j = 0; j < c; ++j) o[j] += w.dots[j];
            } else if (has_mlp()) {
                const std::size_t o1 = shape.layers[1];
                nt.dense_forward(mQ.data() + std::size_t(i0) * pe, pe, c, e, o1, W[0].data() + std::size_t(e) * nn_pad(o1),
                                 nn_pad(o1), w.b1u.data(), w.x[1].data(), nn_pad(o1), static_cast<int>(shape.act),
                                 shape.slope);
                for (std::size_t l = 2; l < L; ++l) {
                    const std::size_t in = shape.layers[l - 1], ol = shape.layers[l];
                    nt.dense_forward(w.x[l - 1].data(), nn_pad(in), c, in, ol, W[l - 1].data(), nn_pad(ol),
                                     b[l - 1].data(), w.x[l].data(), nn_pad(ol), static_cast<int>(shape.act), shape.slope);
                }
                nt.dot_rows(w.x[L - 1].data(), nn_pad(tower_out()), c, w.ht.data(), tower_out(), w.dots.data());
                for (std::size_t j = 0; j < c; ++j) o[j] += w.dots[j];
            }
            for (std::size_t j = 0; j < c; ++j) o[j] += user_part;
        }
    }
}

}  // namespace simdmf
