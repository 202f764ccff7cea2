// GMF, MLP and NeuMF: parameters, the forward pass of a batch (serving and training) and its
// backward pass, on the NnTable kernels. See ncf.hpp.
#include "models/ncf.hpp"

#include <cmath>
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

// The parameters' positions in params() (and NcfGrads), by branch; the rows form's input biases
// come after the output unit.
struct Slots {
    std::size_t gP = 0, gQ = 0, mP = 0, mQ = 0, w0 = 0, hw = 0, hb = 0, gPb = 0, gQb = 0, mPb = 0, mQb = 0;
    explicit Slots(const NCFModel& m) {
        std::size_t j = 0;
        if (m.has_gmf()) gP = j++, gQ = j++;
        if (m.has_mlp()) mP = j++, mQ = j++, w0 = j, j += 2 * m.W.size();
        hw = j++;
        hb = j++;
        if (m.shape.rows) {
            if (m.has_gmf()) gPb = j++, gQb = j++;
            if (m.has_mlp()) mPb = j++, mQb = j++;
        }
    }
};

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
    in_users = nu;
    n_items = ni;
    min_pred = -std::numeric_limits<float>::infinity();
    max_pred = std::numeric_limits<float>::infinity();
    gP.clear(); gQ.clear(); mP.clear(); mQ.clear(); W.clear(); b.clear();
    gPb.clear(); gQb.clear(); mPb.clear(); mQb.clear();
    // Rows form: the user side's weights have a row per item, the item side's a row per user.
    const std::size_t p_rows = shape.rows ? ni : nu, q_rows = shape.rows ? nu : ni;
    if (has_gmf()) {
        gP.assign(p_rows * nn_pad(shape.k), 0.0f);
        gQ.assign(q_rows * nn_pad(shape.k), 0.0f);
        if (shape.rows) gPb.assign(nn_pad(shape.k), 0.0f), gQb.assign(nn_pad(shape.k), 0.0f);
    }
    if (has_mlp()) {
        mP.assign(p_rows * nn_pad(embed()), 0.0f);
        mQ.assign(q_rows * nn_pad(embed()), 0.0f);
        if (shape.rows) mPb.assign(nn_pad(embed()), 0.0f), mQb.assign(nn_pad(embed()), 0.0f);
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
    const bool r = shape.rows;
    const std::uint64_t p_rows = r ? n_items : n_users, q_rows = r ? in_users : n_items;
    if (has_gmf()) {
        v.push_back({r ? "gmf.Pw" : "gmf.P", &gP, p_rows, nn_pad(shape.k), shape.k});
        v.push_back({r ? "gmf.Qw" : "gmf.Q", &gQ, q_rows, nn_pad(shape.k), shape.k});
    }
    if (has_mlp()) {
        v.push_back({r ? "mlp.Pw" : "mlp.P", &mP, p_rows, nn_pad(embed()), embed()});
        v.push_back({r ? "mlp.Qw" : "mlp.Q", &mQ, q_rows, nn_pad(embed()), embed()});
        for (std::size_t l = 0; l < W.size(); ++l) {
            const std::uint32_t out = shape.layers[l + 1];
            v.push_back({kWNames[l], &W[l], shape.layers[l], nn_pad(out), out});
            v.push_back({kBNames[l], &b[l], 1, nn_pad(out), out});
        }
    }
    v.push_back({"out.W", &hW, out_in(), 16, 1});
    v.push_back({"out.b", &hb, 1, 16, 1});
    if (r && has_gmf()) {
        v.push_back({"gmf.Pb", &gPb, 1, nn_pad(shape.k), shape.k});
        v.push_back({"gmf.Qb", &gQb, 1, nn_pad(shape.k), shape.k});
    }
    if (r && has_mlp()) {
        v.push_back({"mlp.Pb", &mPb, 1, nn_pad(embed()), embed()});
        v.push_back({"mlp.Qb", &mQb, 1, nn_pad(embed()), embed()});
    }
    return v;
}

bool NCFModel::identical(const Model& other) const {
    const auto* o = dynamic_cast<const NCFModel*>(&other);
    if (!o || o->shape.k != shape.k || o->shape.layers != shape.layers || o->shape.act != shape.act ||
        o->shape.slope != shape.slope || o->shape.rows != shape.rows || o->in_users != in_users)
        return false;
    if (shape.rows && (!input || !o->input || !(*input == *o->input))) return false;
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
        // Embeddings and the rows form's input layers: their gradients come from ncf_scatter.
        const std::size_t dot = name.rfind('.');
        const std::string tail = dot == std::string::npos ? name : name.substr(dot + 1);
        const bool embedding = tail == "P" || tail == "Q" || tail == "Pw" || tail == "Qw" || tail == "Pb" || tail == "Qb";
        g.emplace_back(embedding && !embeddings ? 0 : v.rows * v.cols, 0.0f);
    }
}

void ncf_forward(const NCFModel& m, const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                 NcfWorkspace& ws, float* out) {
    const auto& nt = kernels::nn_active();
    const std::size_t pk = nn_pad(m.shape.k), pe = nn_pad(m.embed()), ph = nn_pad(m.out_in());
    const std::uint32_t e = m.embed();
    const float* hin = nullptr;
    const bool rows = m.shape.rows;
    const std::uint32_t* skip_u = rows && ws.leave_out ? items : nullptr;  // a user row's entry of the pair's item
    const std::uint32_t* skip_i = rows && ws.leave_out ? users : nullptr;
    if (m.has_gmf()) {
        if (rows) {
            m.input_forward(true, true, users, n, skip_u, ws.gu.data(), pk);
            m.input_forward(false, true, items, n, skip_i, ws.gi.data(), pk);
        } else {
            nt.gather(m.gP.data(), pk, users, n, m.shape.k, ws.gu.data(), pk);
            nt.gather(m.gQ.data(), pk, items, n, m.shape.k, ws.gi.data(), pk);
        }
        const float *a = ws.gu.data(), *c = ws.gi.data();
        float* v = ws.gv.data();
        for (std::size_t j = 0; j < n * pk; ++j) v[j] = a[j] * c[j];
        hin = ws.gv.data();
    }
    if (m.has_mlp()) {
        const std::size_t l0 = nn_pad(m.shape.layers[0]);
        if (rows && e % 16 == 0) {  // the input layers' outputs in place
            m.input_forward(true, false, users, n, skip_u, ws.x[0].data(), l0);
            m.input_forward(false, false, items, n, skip_i, ws.x[0].data() + e, l0);
        } else if (rows) {
            m.input_forward(true, false, users, n, skip_u, ws.eu.data(), pe);
            m.input_forward(false, false, items, n, skip_i, ws.ei.data(), pe);
            copy_cols(ws.eu.data(), pe, n, e, ws.x[0].data(), l0, 0);
            copy_cols(ws.ei.data(), pe, n, e, ws.x[0].data(), l0, e);
        } else if (e % 16 == 0) {  // [p_u, q_i] gathered in place: each half is whole padded vectors
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
    if (m.shape.rows) {  // the input layers' gradients: scattered into the rows the inputs name, and the biases
        const Slots at(m);
        const NcfInputs& x = *m.input;
        const std::uint32_t* skip_u = ws.leave_out ? items : nullptr;
        const std::uint32_t* skip_i = ws.leave_out ? users : nullptr;
        auto side = [&](bool u, std::size_t gw, std::size_t gb, std::uint32_t width, std::size_t ld, const float* d,
                        std::size_t ldd) {
            if (u)
                nt.sparse_backward(grads.g[gw].data(), ld, x.uptr.data(), x.uidx.data(), x.uin.data(), users, n,
                                   skip_u, width, d, ldd, grads.g[gb].data());
            else
                nt.sparse_backward(grads.g[gw].data(), ld, x.iptr.data(), x.iidx.data(), x.ival.data(), items, n,
                                   skip_i, width, d, ldd, grads.g[gb].data());
        };
        if (m.has_gmf()) {
            if (to_users) side(true, at.gP, at.gPb, m.shape.k, pk, ws.dgu.data(), pk);
            if (to_items) side(false, at.gQ, at.gQb, m.shape.k, pk, ws.dgi.data(), pk);
        }
        if (m.has_mlp()) {
            const std::uint32_t e = m.embed();
            const std::size_t l0 = nn_pad(m.shape.layers[0]);
            const bool in_place = e % 16 == 0;
            if (to_users) side(true, at.mP, at.mPb, e, pe, in_place ? ws.dx[0].data() : ws.deu.data(), in_place ? l0 : pe);
            if (to_items)
                side(false, at.mQ, at.mQb, e, pe, in_place ? ws.dx[0].data() + e : ws.dei.data(), in_place ? l0 : pe);
        }
        return;
    }
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
        AlignedFloats ug, ue, qg, qe;    // rows form: the input layers' outputs (a user; a block of items)
        std::vector<std::uint32_t> ids;  // rows form: the block's items
    };
    thread_local Scratch w;
    const bool rows = shape.rows;
    const NcfItemCache* cache =
        rows && item_cache && item_cache->n_items == n_items && item_cache->in_users == in_users ? item_cache.get() : nullptr;
    if (w.shape.k != shape.k || w.shape.layers != shape.layers || w.shape.rows != rows || w.dots.empty()) {
        w = Scratch{};
        w.shape = shape;
        if (rows) {
            w.ug.assign(pk, 0.0f);
            w.ue.assign(pe, 0.0f);
            w.qg.assign(kServeBatch * pk, 0.0f);
            w.qe.assign(kServeBatch * pe, 0.0f);
            w.ids.resize(kServeBatch);
        }
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
        if (rows) {  // the user's input layers once
            if (has_gmf()) input_forward(true, true, &u, 1, nullptr, w.ug.data(), pk);
            if (has_mlp()) input_forward(true, false, &u, 1, nullptr, w.ue.data(), pe);
        }
        const float* user_e = rows ? w.ue.data() : has_mlp() ? mP.data() + std::size_t(u) * pe : nullptr;
        if (has_gmf()) {
            const float* pu = rows ? w.ug.data() : gP.data() + std::size_t(u) * pk;
            for (std::uint32_t c = 0; c < k; ++c) w.wu[c] = w.hg[c] * pu[c];
        }
        if (has_mlp() && L > 1) {  // the user's half of layer 1 plus its bias (W1's rows 0..e-1), no activation
            const std::size_t o1 = shape.layers[1];
            nt.dense_forward(user_e, pe, 1, e, o1, W[0].data(), nn_pad(o1), b[0].data(),
                             w.b1u.data(), nn_pad(o1), 0, 0.0f);
        } else if (has_mlp()) {  // no tower: the output unit reads [p_u, q_i] directly
            user_part += kt.dot(w.ht.data(), user_e, e);
        }
        for (std::uint32_t i0 = item_begin; i0 < item_end; i0 += kServeBatch) {
            const std::size_t c = std::min<std::size_t>(kServeBatch, item_end - i0);
            float* o = out + r * ld + (i0 - item_begin);
            // The block's item rows: the embeddings in place, or (rows form) the input layers' outputs.
            const float* qg = has_gmf() ? gQ.data() + std::size_t(i0) * pk : nullptr;
            const float* qe = has_mlp() ? mQ.data() + std::size_t(i0) * pe : nullptr;
            if (cache) {  // the item side's outputs, computed once (NcfItemCache)
                if (has_gmf()) qg = cache->qg.data() + std::size_t(i0) * pk;
                if (has_mlp()) qe = cache->qe.data() + std::size_t(i0) * pe;
            } else if (rows) {
                for (std::size_t j = 0; j < c; ++j) w.ids[j] = i0 + static_cast<std::uint32_t>(j);
                if (has_gmf()) input_forward(false, true, w.ids.data(), c, nullptr, w.qg.data(), pk), qg = w.qg.data();
                if (has_mlp()) input_forward(false, false, w.ids.data(), c, nullptr, w.qe.data(), pe), qe = w.qe.data();
            }
            if (has_gmf()) nt.dot_rows(qg, pk, c, w.wu.data(), k, o);
            else std::fill(o, o + c, 0.0f);
            if (has_mlp() && L == 1) {
                kt.dot_rows(qe, c, pe, w.ht.data() + e, e, w.dots.data());
                for (std::size_t j = 0; j < c; ++j) o[j] += w.dots[j];
            } else if (has_mlp()) {
                const std::size_t o1 = shape.layers[1];
                nt.dense_forward(qe, pe, c, e, o1, W[0].data() + std::size_t(e) * nn_pad(o1),
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

// ---- the rows form (ncf_input = rows)

NcfInputs NcfInputs::from_triples(std::uint32_t nu, std::uint32_t ni, const std::uint32_t* user,
                                  const std::uint32_t* item, const float* value, std::size_t n,
                                  std::uint32_t norm) {
    NcfInputs x;
    x.norm = norm;
    x.n_users = nu;
    x.n_items = ni;
    x.in_users = nu;
    x.uptr.assign(std::size_t(nu) + 1, 0);
    for (std::size_t j = 0; j < n; ++j) ++x.uptr[user[j] + 1];
    for (std::uint32_t u = 0; u < nu; ++u) x.uptr[u + 1] += x.uptr[u];
    std::vector<std::uint64_t> at(x.uptr.begin(), x.uptr.end() - 1);
    x.uidx.resize(n);
    x.uval.resize(n);
    for (std::size_t j = 0; j < n; ++j) {
        const std::uint64_t t = at[user[j]]++;
        x.uidx[t] = item[j];
        x.uval[t] = value[j];
    }
    for (std::uint32_t u = 0; u < nu; ++u) {  // each row in item order (stable: repeated pairs keep their order)
        const std::uint64_t a = x.uptr[u], e = x.uptr[u + 1];
        std::vector<std::pair<std::uint32_t, float>> row(e - a);
        for (std::uint64_t t = a; t < e; ++t) row[t - a] = {x.uidx[t], x.uval[t]};
        std::stable_sort(row.begin(), row.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
        for (std::uint64_t t = a; t < e; ++t) x.uidx[t] = row[t - a].first, x.uval[t] = row[t - a].second;
    }
    x.build_columns();
    return x;
}

void NcfInputs::build_columns() {
    const std::uint64_t m = uptr[in_users];  // the entries of the first in_users users
    iptr.assign(std::size_t(n_items) + 1, 0);
    for (std::uint64_t t = 0; t < m; ++t) ++iptr[uidx[t] + 1];
    for (std::uint32_t i = 0; i < n_items; ++i) iptr[i + 1] += iptr[i];
    std::vector<std::uint64_t> at(iptr.begin(), iptr.end() - 1);
    iidx.resize(m);
    ival.resize(m);
    for (std::uint32_t u = 0; u < in_users; ++u)  // users in order: each column in user order
        for (std::uint64_t t = uptr[u]; t < uptr[u + 1]; ++t) {
            const std::uint64_t q = at[uidx[t]]++;
            iidx[q] = u;
            ival[q] = uval[t];
        }
    uin = uval;
    if (norm == 1) {  // each row (and column) divided by the root of its entry count
        for (std::uint32_t u = 0; u < n_users; ++u) {
            const std::uint64_t c = uptr[u + 1] - uptr[u];
            const float s = c ? static_cast<float>(1.0 / std::sqrt(double(c))) : 0.0f;
            for (std::uint64_t t = uptr[u]; t < uptr[u + 1]; ++t) uin[t] *= s;
        }
        for (std::uint32_t i = 0; i < n_items; ++i) {
            const std::uint64_t c = iptr[i + 1] - iptr[i];
            const float s = c ? static_cast<float>(1.0 / std::sqrt(double(c))) : 0.0f;
            for (std::uint64_t t = iptr[i]; t < iptr[i + 1]; ++t) ival[t] *= s;
        }
    }
}

bool NcfInputs::operator==(const NcfInputs& o) const {
    auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
    };
    return norm == o.norm && same(uin, o.uin) && n_users == o.n_users && n_items == o.n_items && in_users == o.in_users && uptr == o.uptr &&
           uidx == o.uidx && iptr == o.iptr && iidx == o.iidx &&
           std::memcmp(uval.data(), o.uval.data(), uval.size() * 4) == 0 && uval.size() == o.uval.size() &&
           ival.size() == o.ival.size() && std::memcmp(ival.data(), o.ival.data(), ival.size() * 4) == 0;
}

void NCFModel::build_item_cache() {
    item_cache.reset();
    if (!shape.rows || !input) return;
    auto c = std::make_shared<NcfItemCache>();
    c->n_items = n_items;
    c->in_users = in_users;
    const std::size_t pk = nn_pad(shape.k), pe = nn_pad(embed());
    if (has_gmf()) c->qg.assign(std::size_t(n_items) * pk, 0.0f);
    if (has_mlp()) c->qe.assign(std::size_t(n_items) * pe, 0.0f);
    std::vector<std::uint32_t> ids(std::min<std::size_t>(n_items, 4096));
    for (std::uint32_t i0 = 0; i0 < n_items; i0 += static_cast<std::uint32_t>(ids.size())) {
        const std::size_t n = std::min<std::size_t>(ids.size(), n_items - i0);
        for (std::size_t j = 0; j < n; ++j) ids[j] = i0 + static_cast<std::uint32_t>(j);
        if (has_gmf()) input_forward(false, true, ids.data(), n, nullptr, c->qg.data() + std::size_t(i0) * pk, pk);
        if (has_mlp()) input_forward(false, false, ids.data(), n, nullptr, c->qe.data() + std::size_t(i0) * pe, pe);
    }
    item_cache = std::move(c);
}

void NCFModel::input_forward(bool users, bool gmf, const std::uint32_t* ids, std::size_t n,
                             const std::uint32_t* skip, float* out, std::size_t ld) const {
    const auto& nt = kernels::nn_active();
    const NcfInputs& x = *input;
    const std::uint32_t width = gmf ? shape.k : embed();
    const std::size_t lw = nn_pad(width);
    const ParamArray& Wt = users ? (gmf ? gP : mP) : (gmf ? gQ : mQ);
    const float* bias = (users ? (gmf ? gPb : mPb) : (gmf ? gQb : mQb)).data();
    const std::uint64_t* ptr = users ? x.uptr.data() : x.iptr.data();
    const std::uint32_t* idx = users ? x.uidx.data() : x.iidx.data();
    const float* val = users ? x.uin.data() : x.ival.data();
    const std::uint32_t have = users ? x.n_users : x.n_items;
    std::size_t j = 0;
    while (j < n) {  // runs of ids with a row in one call each; the others the bias alone
        std::size_t e = j;
        while (e < n && ids[e] < have) ++e;
        if (e > j)
            nt.sparse_forward(Wt.data(), lw, ptr, idx, val, ids + j, e - j, skip ? skip + j : nullptr, width, bias,
                              out + j * ld, ld);
        for (; e < n && ids[e] >= have; ++e) std::memcpy(out + e * ld, bias, width * sizeof(float));
        j = e;
    }
}

float NCFModel::fallback_score(std::uint32_t u, std::uint32_t i) const {
    if (!shape.rows) return Model::fallback_score(u, i);
    thread_local NcfWorkspace ws;
    ws.cap = 0;
    ws.reserve(*this, 1);
    float s = 0.0f;
    ncf_forward(*this, &u, &i, 1, ws, &s);  // ids without a row: the input layers' biases alone
    return s;
}

std::uint32_t NCFModel::fold_in_user(const std::uint32_t* items, const float* values, std::size_t n, double l2,
                                     std::int64_t raw_id) {
    if (!shape.rows) return Model::fold_in_user(items, values, n, l2, raw_id);
    if (n > 0 && (!items || !values)) fail(SIMDMF_ERR_INVALID_ARGUMENT, "null items or values with n > 0");
    if (n_users == UINT32_MAX - 1) fail(SIMDMF_ERR_OUT_OF_RANGE, "the model has the maximum number of users");
    for (std::size_t j = 0; j < n; ++j) {
        check_item(items[j]);
        if (!std::isfinite(values[j]) || (logistic() && values[j] != 1.0f && values[j] != -1.0f))
            fail(SIMDMF_ERR_INVALID_DATA, "fold-in value " + std::to_string(j) +
                                              (logistic() ? " is not +1 or -1" : " is not finite"));
    }
    std::uint32_t existing;
    if (user_ids && user_ids->find(raw_id, &existing))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "user id " + std::to_string(raw_id) + " is already in the model");
    auto x = std::make_shared<NcfInputs>(*input);  // copy on write: other copies of the model keep theirs
    std::vector<std::pair<std::uint32_t, float>> row(n);
    for (std::size_t j = 0; j < n; ++j) row[j] = {items[j], values[j]};
    std::stable_sort(row.begin(), row.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
    for (const auto& [i, v] : row) x->uidx.push_back(i), x->uval.push_back(v);
    x->uptr.push_back(x->uidx.size());
    ++x->n_users;  // the item columns stay: the item-side layer has no weight row for the new user
    x->build_columns();  // and the new row's input values
    if (user_ids) {
        auto map = std::make_shared<IdMap>(*user_ids);
        map->intern(raw_id);
        user_ids = std::move(map);
    }
    input = std::move(x);
    return n_users++;
}

}  // namespace simdmf
