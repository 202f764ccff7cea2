#include "models/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include <unistd.h>

#include "kernels/kernels.hpp"

namespace simdmf {

std::uint64_t physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return 0;
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

std::uint64_t parameter_bytes(std::uint32_t k, std::uint32_t n_users, std::uint32_t n_items, bool biases) {
    const std::uint64_t rows = std::uint64_t{n_users} + n_items;
    return rows * padded_stride(k) * sizeof(float) + (biases ? rows * sizeof(float) : 0);
}

void Model::check_fits(std::uint32_t k_, std::uint32_t n_users_, std::uint32_t n_items_, bool biases_) {
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

void Model::allocate(ModelKind kind_, std::uint32_t k_, std::uint32_t n_users_, std::uint32_t n_items_,
                     bool biases_) {
    check_fits(k_, n_users_, n_items_, biases_);
    kind = kind_;
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
}

float Model::score(std::uint32_t u, std::uint32_t i) const {
    float s = kernels::active().dot(user_row(u), item_row(i), stride);
    if (biases) s += mu + bu[u] + bi[i];
    return s;
}

float Model::predict(std::uint32_t u, std::uint32_t i) const {
    const float s = score(u, i);
    return kind == ModelKind::logistic ? kernels::sigmoid(s) : std::clamp(s, min_pred, max_pred);
}

void Model::set_prediction_range(float lo, float hi) {
    if (std::isnan(lo) || std::isnan(hi) || lo > hi)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "prediction range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                              "] is not an interval");
    if (kind == ModelKind::logistic && (lo != -std::numeric_limits<float>::infinity() ||
                                        hi != std::numeric_limits<float>::infinity()))
        fail(SIMDMF_ERR_UNSUPPORTED, "a logistic model predicts probabilities: it has no rating range");
    min_pred = lo;
    max_pred = hi;
}

void Model::check_user(std::uint32_t u) const {
    if (u >= n_users)
        fail(SIMDMF_ERR_OUT_OF_RANGE,
             "user index " + std::to_string(u) + " >= n_users " + std::to_string(n_users));
}

void Model::check_item(std::uint32_t i) const {
    if (i >= n_items)
        fail(SIMDMF_ERR_OUT_OF_RANGE,
             "item index " + std::to_string(i) + " >= n_items " + std::to_string(n_items));
}

void Model::check_side(int side, std::uint32_t index) const {
    if (side == SIMDMF_USERS) return check_user(index);
    if (side == SIMDMF_ITEMS) return check_item(index);
    fail(SIMDMF_ERR_INVALID_ARGUMENT, "side must be SIMDMF_USERS (0) or SIMDMF_ITEMS (1)");
}

void Model::score_row(std::uint32_t u, float* out) const {
    kernels::active().dot_rows(Q.data(), n_items, stride, user_row(u), stride, out);
    if (biases) {
        const float base = mu + bu[u];
        for (std::uint32_t i = 0; i < n_items; ++i) out[i] += base + bi[i];
    }
}

// A row of scores to predictions, in place: sigmoid (logistic) or clamped to the prediction range (MF).
void Model::scores_to_predictions(float* row) const {
    if (kind == ModelKind::logistic) {
        kernels::active().sigmoid(row, row, n_items);
    } else if (min_pred > -std::numeric_limits<float>::infinity() || max_pred < std::numeric_limits<float>::infinity()) {
        for (std::uint32_t i = 0; i < n_items; ++i) row[i] = std::clamp(row[i], min_pred, max_pred);
    }
}

void Model::predict_row(std::uint32_t u, float* out) const {
    score_row(u, out);
    scores_to_predictions(out);
}

void Model::predict_all(float* out) const {
    for (std::uint32_t u = 0; u < n_users; ++u) predict_row(u, out + std::size_t(u) * n_items);
}

namespace {
using Scored = std::pair<std::uint32_t, float>;

// Best first; ties by lower index so results are deterministic.
bool better(const Scored& a, const Scored& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
}

std::vector<Scored> top_n(const float* scores, std::uint32_t count, std::size_t n,
                          std::span<const std::uint32_t> exclude, std::uint32_t skip) {
    std::vector<Scored> cand;
    cand.reserve(count);
    auto ex = exclude.begin();
    for (std::uint32_t j = 0; j < count; ++j) {
        while (ex != exclude.end() && *ex < j) ++ex;
        if (ex != exclude.end() && *ex == j) continue;
        if (j == skip || std::isnan(scores[j])) continue;
        cand.emplace_back(j, scores[j]);
    }
    n = std::min(n, cand.size());
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(n), cand.end(), better);
    cand.resize(n);
    return cand;
}
}  // namespace

std::vector<std::pair<std::uint32_t, float>> Model::recommend(std::uint32_t u, std::size_t n,
                                                              std::span<const std::uint32_t> exclude) const {
    check_user(u);
    std::vector<float> scores(n_items);
    score_row(u, scores.data());
    std::vector<Scored> top = top_n(scores.data(), n_items, n, exclude, UINT32_MAX);
    scores_to_predictions(scores.data());  // the values predict_row gives
    for (Scored& s : top) s.second = scores[s.first];
    return top;
}

float Model::cosine(int side, std::uint32_t a, std::uint32_t b) const {
    check_side(side, a);
    check_side(side, b);
    const auto& kt = kernels::active();
    const float* x = row(side, a);
    const float* y = row(side, b);
    double nx = kt.dot(x, x, stride), ny = kt.dot(y, y, stride);
    if (nx <= 0.0 || ny <= 0.0) return 0.0f;
    double c = kt.dot(x, y, stride) / std::sqrt(nx * ny);
    return static_cast<float>(std::clamp(c, -1.0, 1.0));
}

std::vector<std::pair<std::uint32_t, float>> Model::nearest(int side, std::uint32_t index, std::size_t n) const {
    check_side(side, index);
    const auto& kt = kernels::active();
    const std::uint32_t count = this->count(side);
    const float* base = side == SIMDMF_USERS ? P.data() : Q.data();
    std::vector<float> sims(count), norms(count);
    kt.dot_rows(base, count, stride, row(side, index), stride, sims.data());
    for (std::uint32_t j = 0; j < count; ++j) {
        const float* r = base + std::size_t(j) * stride;
        norms[j] = std::sqrt(kt.dot(r, r, stride));
    }
    const float self = norms[index];
    for (std::uint32_t j = 0; j < count; ++j) {
        float d = self * norms[j];
        sims[j] = d > 0.0f ? std::clamp(sims[j] / d, -1.0f, 1.0f) : 0.0f;
    }
    return top_n(sims.data(), count, n, {}, index);
}

std::vector<float> Model::predict_pairs(const Ratings& r) const {
    if (r.n_users > n_users || r.n_items > n_items)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "data set has more users or items than the model");
    std::vector<float> out(r.size());
    for (std::size_t j = 0; j < r.size(); ++j) out[j] = predict(r.user[j], r.item[j]);
    return out;
}

namespace {
// Solves A x = b for symmetric positive definite A (n x n, row-major, overwritten) by Cholesky.
bool cholesky_solve(std::vector<double>& A, std::vector<double>& b, std::size_t n) {
    for (std::size_t j = 0; j < n; ++j) {
        double d = A[j * n + j];
        for (std::size_t k = 0; k < j; ++k) d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0.0)) return false;
        d = std::sqrt(d);
        A[j * n + j] = d;
        for (std::size_t i = j + 1; i < n; ++i) {
            double s = A[i * n + j];
            for (std::size_t k = 0; k < j; ++k) s -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = s / d;
        }
    }
    for (std::size_t i = 0; i < n; ++i) {  // L y = b
        double s = b[i];
        for (std::size_t k = 0; k < i; ++k) s -= A[i * n + k] * b[k];
        b[i] = s / A[i * n + i];
    }
    for (std::size_t i = n; i-- > 0;) {  // L^T x = y
        double s = b[i];
        for (std::size_t k = i + 1; k < n; ++k) s -= A[k * n + i] * b[k];
        b[i] = s / A[i * n + i];
    }
    return true;
}
}  // namespace

std::uint32_t Model::fold_in_user(const std::uint32_t* items, const float* values, std::size_t n, double l2,
                                  std::int64_t raw_id) {
    if (n > 0 && (!items || !values)) fail(SIMDMF_ERR_INVALID_ARGUMENT, "null items or values with n > 0");
    if (!(l2 >= 0.0) || !std::isfinite(l2)) fail(SIMDMF_ERR_OUT_OF_RANGE, "fold-in l2 must be finite and >= 0");
    if (k > 4096) fail(SIMDMF_ERR_UNSUPPORTED, "fold-in supports k <= 4096");
    if (n_users == UINT32_MAX - 1) fail(SIMDMF_ERR_OUT_OF_RANGE, "the model has the maximum number of users");
    const bool logistic = kind == ModelKind::logistic;
    for (std::size_t j = 0; j < n; ++j) {
        check_item(items[j]);
        if (!std::isfinite(values[j]) || (logistic && values[j] != 1.0f && values[j] != -1.0f))
            fail(SIMDMF_ERR_INVALID_DATA, "fold-in value " + std::to_string(j) +
                                              (logistic ? " is not +1 or -1" : " is not finite"));
    }
    std::uint32_t existing;
    if (user_ids && user_ids->find(raw_id, &existing))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "user id " + std::to_string(raw_id) + " is already in the model");

    // Unknowns x = [p (k), b_u (if biases)]; features a_j = [q_i, 1]; target offset mu + b_i.
    const std::size_t d = k + (biases ? 1 : 0);
    std::vector<double> x(d, 0.0);
    const double reg = l2 * static_cast<double>(n) + 1e-9;  // the per-rating L2 of the training objective
    auto feature = [&](std::size_t j, std::size_t f) -> double {
        return f < k ? double(item_row(items[j])[f]) : 1.0;
    };
    const int iterations = logistic ? 25 : 1;
    for (int it = 0; it < iterations; ++it) {
        // Normal equations of one Newton step (exact for squared loss): H dx = -g.
        std::vector<double> H(d * d, 0.0), g(d, 0.0);
        for (std::size_t j = 0; j < n; ++j) {
            double s = biases ? mu + bi[items[j]] : 0.0;
            for (std::size_t f = 0; f < d; ++f) s += feature(j, f) * x[f];
            double resid, w;  // -dloss/ds and d2loss/ds2
            if (logistic) {
                const double prob = 1.0 / (1.0 + std::exp(-s));
                resid = (values[j] > 0 ? 1.0 : 0.0) - prob;
                w = std::max(prob * (1.0 - prob), 1e-6);
            } else {
                resid = values[j] - s;
                w = 1.0;
            }
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
        if (!cholesky_solve(H, g, d)) fail(SIMDMF_ERR_INTERNAL, "fold-in system is not positive definite");
        double step = 0;
        for (std::size_t f = 0; f < d; ++f) {
            x[f] += g[f];
            step = std::max(step, std::fabs(g[f]));
        }
        if (step < 1e-7) break;
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
    ++n_users;
    return u;
}

bool Model::identical(const Model& o) const {
    auto same = [](const auto& a, const auto& b) {
        return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
    };
    return kind == o.kind && k == o.k && stride == o.stride && n_users == o.n_users && n_items == o.n_items &&
           biases == o.biases && std::memcmp(&mu, &o.mu, sizeof mu) == 0 &&
           std::memcmp(&min_pred, &o.min_pred, sizeof min_pred) == 0 &&
           std::memcmp(&max_pred, &o.max_pred, sizeof max_pred) == 0 && same(bu, o.bu) && same(bi, o.bi) &&
           same(P, o.P) && same(Q, o.Q);
}

}  // namespace simdmf
