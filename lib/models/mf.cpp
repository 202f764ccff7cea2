// MF: allocation, scores (one pair, batches, blocks of rows through the dot_rows kernel), parameter
// views and fold-in (exact ridge row for squared loss, Newton's method for logistic).
#include "models/mf.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "kernels/kernels.hpp"
#include "linalg.hpp"

namespace simdmf {

void MFModel::check_fits(std::uint32_t k_, std::uint32_t n_users_, std::uint32_t n_items_, bool biases_) {
    if (k_ == 0) fail(SIMDMF_ERR_OUT_OF_RANGE, "k must be at least 1");
    const std::size_t max_rows = SIZE_MAX / sizeof(float) / padded_stride(k_) / 2;
    if (n_users_ > max_rows || n_items_ > max_rows)
        fail(SIMDMF_ERR_OUT_OF_MEMORY, "factor matrices too large for this address space");
    // Refuse, before touching memory, what this machine cannot hold (an overcommitting kernel would
    // otherwise hand out the pages and kill the process when they are used).
    const std::uint64_t need = parameter_bytes(k_, n_users_, n_items_, biases_);
    const std::uint64_t have = physical_memory_bytes();
    if (have != 0 && need > have)
        fail(SIMDMF_ERR_OUT_OF_MEMORY,
             "a model with k = " + std::to_string(k_) + ", " + std::to_string(n_users_) + " users and " +
                 std::to_string(n_items_) + " items needs " + std::to_string(need) +
                 " bytes, more than the " + std::to_string(have) + " bytes of physical memory");
}

void MFModel::allocate(Loss loss_, std::uint32_t k_, std::uint32_t n_users_, std::uint32_t n_items_,
                       bool biases_) {
    check_fits(k_, n_users_, n_items_, biases_);
    kind = ModelKind::mf;
    objective = Objective::for_loss(loss_);
    k = k_;
    stride = padded_stride(k_);
    n_users = n_users_;
    n_items = n_items_;
    biases = biases_;
    mu = 0.0f;
    min_pred = -std::numeric_limits<float>::infinity();
    max_pred = std::numeric_limits<float>::infinity();
    P.assign(std::size_t(n_users) * stride, 0.0f);
    Q.assign(std::size_t(n_items) * stride, 0.0f);
    bu.assign(biases ? n_users : 0, 0.0f);
    bi.assign(biases ? n_items : 0, 0.0f);
    quant = QuantTables{};
    has_fp32 = true;
}

float MFModel::score(std::uint32_t u, std::uint32_t i) const {
    if (quant.on()) {
        float s;
        score_pairs(&u, &i, 1, &s);
        return s;
    }
    return score_fp32(u, i);
}

float MFModel::score_fp32(std::uint32_t u, std::uint32_t i) const {
    float s = kernels::active().dot(user_row(u), item_row(i), stride);
    if (biases) s += mu + bu[u] + bi[i];
    return s;
}

void MFModel::quantize(TableType type, bool keep_fp32) {
    if (!has_fp32) {
        if (type == quant.type && !keep_fp32) return;
        fail(SIMDMF_ERR_UNSUPPORTED, std::string("this model keeps only its ") + table_type_name(quant.type) +
                                         " tables; quantizing again needs the fp32 tables (convert the float model)");
    }
    quantize_tables(quant, type, P.data(), n_users, Q.data(), n_items, k, stride);
    if (type != TableType::fp32 && !keep_fp32) {
        P.clear();
        Q.clear();
        has_fp32 = false;
    }
}

namespace {

// A quantized user row as the kernels take it: int8 values and scale, or fp16 widened to floats.
struct QuantQuery {
    alignas(64) float buf[1024];
    std::vector<float> big;  // k beyond 1024 (rare): on the heap
    const float* x = nullptr;
    const std::int8_t* q = nullptr;
    float scale = 0.0f;

    QuantQuery(const QuantTables& t, std::uint32_t u) {
        if (t.type == TableType::int8) {
            q = t.b(true) + std::size_t(u) * t.stride;
            scale = t.sP[u];
            return;
        }
        float* dst = buf;
        if (t.stride > 1024) big.resize(t.stride), dst = big.data();
        kernels::active().f16_to_f32(t.h(true) + std::size_t(u) * t.stride, dst, t.stride);
        x = dst;
    }
};

// Scores of n consecutive items of a quantized table for one user's query.
void quant_scores(const QuantTables& t, const QuantQuery& qq, std::uint32_t i0, std::size_t n, float* out) {
    const auto& kt = kernels::active();
    if (t.type == TableType::int8)
        kt.dot_rows_i8(t.b(false) + std::size_t(i0) * t.stride, n, t.stride, t.sQ.data() + i0, qq.q, qq.scale,
                       t.stride, out);
    else
        kt.dot_rows_f16(t.h(false) + std::size_t(i0) * t.stride, n, t.stride, qq.x, t.stride, out);
}

}  // namespace

float MFModel::fallback_score(std::uint32_t u, std::uint32_t i) const {
    if (u < n_users && i < n_items) return score(u, i);
    if (!biases) return 0.0f;
    return mu + (u < n_users ? bu[u] : 0.0f) + (i < n_items ? bi[i] : 0.0f);
}

void MFModel::score_pairs(const std::uint32_t* users, const std::uint32_t* items, std::size_t n, float* out) const {
    if (quant.on()) {
        for (std::size_t j = 0; j < n;) {  // runs of one user share its query
            const std::uint32_t u = users[j];
            const QuantQuery qq(quant, u);
            for (; j < n && users[j] == u; ++j) {
                quant_scores(quant, qq, items[j], 1, out + j);
                if (biases) out[j] += mu + bu[u] + bi[items[j]];
            }
        }
        return;
    }
    const auto dot = kernels::active().dot;
    for (std::size_t j = 0; j < n; ++j) {
        const std::uint32_t u = users[j], i = items[j];
        float s = dot(user_row(u), item_row(i), stride);
        if (biases) s += mu + bu[u] + bi[i];
        out[j] = s;
    }
}

void MFModel::score_block(const std::uint32_t* users, std::size_t n_rows, std::uint32_t item_begin,
                          std::uint32_t item_end, float* out, std::size_t ld) const {
    const auto& kt = kernels::active();
    const std::size_t n = item_end - item_begin;
    for (std::size_t r = 0; r < n_rows; ++r) {
        const std::uint32_t u = users[r];
        float* o = out + r * ld;
        if (quant.on())
            quant_scores(quant, QuantQuery(quant, u), item_begin, n, o);
        else
            kt.dot_rows(item_row(item_begin), n, stride, user_row(u), stride, o);
        if (biases) {
            const float base = mu + bu[u];
            const float* b = bi.data() + item_begin;
            for (std::size_t j = 0; j < n; ++j) o[j] += base + b[j];
        }
    }
}

FactorView MFModel::factors() const {
    FactorView f;
    f.P = has_fp32 ? P.data() : nullptr;
    f.Q = has_fp32 ? Q.data() : nullptr;
    f.quant = &quant;
    f.k = k;
    f.stride = stride;
    f.n_users = n_users;
    f.n_items = n_items;
    f.bu = biases ? bu.data() : nullptr;
    f.bi = biases ? bi.data() : nullptr;
    f.mu = mu;
    return f;
}

std::vector<ParamView> MFModel::params() {
    std::vector<ParamView> v;
    if (has_fp32) v = {{"P", &P, n_users, stride, k}, {"Q", &Q, n_items, stride, k}};
    if (biases) {
        v.push_back({"bu", &bu, n_users, 1, 1});
        v.push_back({"bi", &bi, n_items, 1, 1});
    }
    return v;
}

double MFModel::score_bound() const {
    if (!has_fp32) return std::numeric_limits<double>::quiet_NaN();
    // Row norms by the float dot kernel (one pass over the tables, the epoch's divergence check), a row
    // redone in double when its float sum of squares is not clearly representable; any NaN or infinity
    // makes the bound +inf, so the bound alone also says whether every parameter is finite.
    constexpr double inf = std::numeric_limits<double>::infinity();
    const auto dot = kernels::active().dot;
    auto max_norm = [&](const ParamArray& t, std::uint32_t rows) {
        double best = 0.0;
        for (std::uint32_t r = 0; r < rows; ++r) {
            const float* x = t.data() + std::size_t(r) * stride;
            double s = dot(x, x, stride);
            if (!(s < 1e36)) {  // NaN, overflow or near it
                s = 0.0;        // in double: a float sum of squares would overflow first
                for (std::uint32_t f = 0; f < k; ++f) s += double(x[f]) * x[f];
                if (!std::isfinite(s)) return inf;
            }
            best = std::max(best, s);
        }
        return std::sqrt(best);
    };
    auto max_abs = [&](const ParamArray& v) {
        double best = 0.0;
        for (float x : v) {
            if (!std::isfinite(x)) return inf;
            best = std::max(best, std::fabs(double(x)));
        }
        return best;
    };
    if (!std::isfinite(mu)) return inf;
    double b = max_norm(P, n_users) * max_norm(Q, n_items);
    if (biases) b += std::fabs(double(mu)) + max_abs(bu) + max_abs(bi);
    return b;
}

bool MFModel::identical(const Model& other) const {
    const auto* o = dynamic_cast<const MFModel*>(&other);
    auto same = [](const ParamArray& a, const ParamArray& b) {
        return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    };
    return o && k == o->k && stride == o->stride && biases == o->biases && has_fp32 == o->has_fp32 &&
           quant.type == o->quant.type && same(quant.P, o->quant.P) && same(quant.Q, o->quant.Q) &&
           same(quant.sP, o->quant.sP) && same(quant.sQ, o->quant.sQ) &&
           std::memcmp(&mu, &o->mu, sizeof mu) == 0 && Model::identical(other);
}

// iALS's exact row solve for a new user (lib/implicit.hpp): (w0 QtQ + sum (c_i - w0) q_i q_i^T + l2_u I) x
// = sum c_i q_i, repeated items summed into one count, in double precision (QtQ from the gram kernel).
std::vector<double> MFModel::fold_in_implicit(const std::uint32_t* items, const float* values, std::size_t n,
                                              double l2) const {
    std::vector<std::pair<std::uint32_t, double>> cells(n);
    for (std::size_t j = 0; j < n; ++j) cells[j] = {items[j], values[j]};
    std::stable_sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    AlignedFloats G;
    implicit_gram(Q.data(), n_items, stride, k, implicit.unobserved_weight, 1, G);
    std::vector<double> A(std::size_t(k) * k), x(k, 0.0);
    for (std::size_t a = 0; a < k; ++a)
        for (std::size_t c = 0; c < k; ++c) A[a * k + c] = G[a * stride + c];
    std::size_t distinct = 0;
    for (std::size_t j = 0; j < n;) {
        const std::uint32_t i = cells[j].first;
        double count = 0.0;
        for (; j < n && cells[j].first == i; ++j) count += cells[j].second;
        if (!(count > 0.0)) continue;
        ++distinct;
        const double c = implicit.weight(count), wd = c - implicit.unobserved_weight;
        const float* q = item_row(i);
        for (std::size_t a = 0; a < k; ++a) {
            x[a] += c * q[a];
            for (std::size_t b = 0; b < k; ++b) A[a * k + b] += wd * double(q[a]) * q[b];
        }
    }
    const double reg = implicit.row_l2(l2, double(distinct), double(n_items)) + 1e-9;
    for (std::size_t a = 0; a < k; ++a) A[a * k + a] += reg;
    if (!linalg::solve_spd(A.data(), x.data(), k)) fail(SIMDMF_ERR_INTERNAL, "fold-in system is not positive definite");
    return x;
}

std::uint32_t MFModel::fold_in_user(const std::uint32_t* items, const float* values, std::size_t n, double l2,
                                  std::int64_t raw_id) {
    if (n > 0 && (!items || !values)) fail(SIMDMF_ERR_INVALID_ARGUMENT, "null items or values with n > 0");
    if (!(l2 >= 0.0) || !std::isfinite(l2)) fail(SIMDMF_ERR_OUT_OF_RANGE, "fold-in l2 must be finite and >= 0");
    if (k > 4096) fail(SIMDMF_ERR_UNSUPPORTED, "fold-in supports k <= 4096");
    if (!has_fp32)
        fail(SIMDMF_ERR_UNSUPPORTED, std::string("fold-in needs the fp32 tables; this model keeps only its ") +
                                         table_type_name(quant.type) + " tables");
    if (n_users == UINT32_MAX - 1) fail(SIMDMF_ERR_OUT_OF_RANGE, "the model has the maximum number of users");
    const bool logistic = this->logistic(), implicit_loss = objective.implicit();
    for (std::size_t j = 0; j < n; ++j) {
        check_item(items[j]);
        if (!std::isfinite(values[j]) || (logistic && values[j] != 1.0f && values[j] != -1.0f))
            fail(SIMDMF_ERR_INVALID_DATA, "fold-in value " + std::to_string(j) +
                                              (logistic ? " is not +1 or -1" : " is not finite"));
        if (implicit_loss && values[j] < 0.0f)
            fail(SIMDMF_ERR_INVALID_DATA, "fold-in count " + std::to_string(j) + " is negative");
    }
    std::uint32_t existing;
    if (user_ids && user_ids->find(raw_id, &existing))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "user id " + std::to_string(raw_id) + " is already in the model");

    // Unknowns x = [p (k), b_u (if biases)]; features a_j = [q_i, 1]; target offset mu + b_i.
    const std::size_t d = k + (biases ? 1 : 0);
    std::vector<double> x(d, 0.0);
    if (implicit_loss) {
        x = fold_in_implicit(items, values, n, l2);
    } else {
    const double reg = l2 * static_cast<double>(n) + 1e-9;  // the per-rating L2 of the training objective
    const MFModel& self = *this;  // reads through const: a mapped model's tables are not copied to be read
    auto feature = [&](std::size_t j, std::size_t f) -> double {
        return f < k ? double(self.item_row(items[j])[f]) : 1.0;
    };
    const int iterations = objective.link == Link::identity ? 1 : 25;
    for (int it = 0; it < iterations; ++it) {
        // Normal equations of one Newton step (exact for squared loss): H dx = -g.
        std::vector<double> H(d * d, 0.0), g(d, 0.0);
        for (std::size_t j = 0; j < n; ++j) {
            double s = biases ? mu + self.bi[items[j]] : 0.0;
            for (std::size_t f = 0; f < d; ++f) s += feature(j, f) * x[f];
            const double resid = objective.residual(values[j], s);  // -dloss/ds
            const double w = objective.curvature(s);                 // d2loss/ds2 (Gauss-Newton)
            for (std::size_t a = 0; a < d; ++a) {
                const double fa = feature(j, a);
                g[a] -= resid * fa;
                for (std::size_t b = 0; b <= a; ++b) H[a * d + b] += w * fa * feature(j, b);
            }
        }
        for (std::size_t a = 0; a < d; ++a) {
            for (std::size_t b = 0; b < a; ++b) H[b * d + a] = H[a * d + b];
            H[a * d + a] += reg;
            g[a] += reg * x[a];
        }
        for (auto& v : g) v = -v;
        if (!linalg::solve_spd(H.data(), g.data(), d)) fail(SIMDMF_ERR_INTERNAL, "fold-in system is not positive definite");
        double step = 0;
        for (std::size_t f = 0; f < d; ++f) {
            x[f] += g[f];
            step = std::max(step, std::fabs(g[f]));
        }
        if (step < 1e-7) break;
    }
    }
    for (double v : x)
        if (!std::isfinite(v)) fail(SIMDMF_ERR_DIVERGED, "fold-in produced non-finite factors");

    if (user_ids) {
        auto map = std::make_shared<IdMap>(*user_ids);
        map->intern(raw_id);
        user_ids = std::move(map);
    }
    const std::uint32_t u = n_users;
    P.resize(P.size() + stride, 0.0f);
    float* p = user_row(u);
    for (std::uint32_t f = 0; f < k; ++f) p[f] = static_cast<float>(x[f]);
    if (biases) bu.push_back(static_cast<float>(x[k]));
    if (quant.on()) quantize_append_user(quant, p, k);
    ++n_users;
    return u;
}

}  // namespace simdmf
