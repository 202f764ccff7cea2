// Top-N and similarity over Model (see serve.hpp).
#include "serve/serve.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/kernels.hpp"

namespace simdmf::serve {

namespace {
// Best first; ties by lower index so results are deterministic.
bool better(const Scored& a, const Scored& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
}
}  // namespace

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

std::vector<Scored> recommend(const Model& m, std::uint32_t u, std::size_t n,
                              std::span<const std::uint32_t> exclude) {
    m.check_user(u);
    std::vector<float> scores(m.n_items);
    m.score_row(u, scores.data());
    std::vector<Scored> top = top_n(scores.data(), m.n_items, n, exclude, UINT32_MAX);
    m.scores_to_predictions(scores.data(), scores.size());  // the values predict_row gives, bit for bit
    for (Scored& s : top) s.second = scores[s.first];
    return top;
}

std::vector<Scored> recommend_new_user(const Model& m, std::size_t n, std::span<const std::uint32_t> exclude) {
    std::vector<float> scores(m.n_items);
    m.fallback_row(scores.data());
    std::vector<Scored> top = top_n(scores.data(), m.n_items, n, exclude, UINT32_MAX);
    m.scores_to_predictions(scores.data(), scores.size());
    for (Scored& s : top) s.second = scores[s.first];
    return top;
}

float cosine(const Model& m, int side, std::uint32_t a, std::uint32_t b) {
    m.check_side(side, a);
    m.check_side(side, b);
    const FactorView f = m.require_factors("cosine similarity");
    const auto& kt = kernels::active();
    const float* x = f.row(side, a);
    const float* y = f.row(side, b);
    double nx = kt.dot(x, x, f.stride), ny = kt.dot(y, y, f.stride);
    if (nx <= 0.0 || ny <= 0.0) return 0.0f;
    double c = kt.dot(x, y, f.stride) / std::sqrt(nx * ny);
    return static_cast<float>(std::clamp(c, -1.0, 1.0));
}

std::vector<Scored> nearest(const Model& m, int side, std::uint32_t index, std::size_t n) {
    m.check_side(side, index);
    const FactorView f = m.require_factors("nearest neighbours");
    const auto& kt = kernels::active();
    const std::uint32_t count = f.count(side);
    const float* base = side == SIMDMF_USERS ? f.P : f.Q;
    std::vector<float> sims(count), norms(count);
    kt.dot_rows(base, count, f.stride, f.row(side, index), f.stride, sims.data());
    for (std::uint32_t j = 0; j < count; ++j) {
        const float* r = base + std::size_t(j) * f.stride;
        norms[j] = std::sqrt(kt.dot(r, r, f.stride));
    }
    const float self = norms[index];
    for (std::uint32_t j = 0; j < count; ++j) {
        float d = self * norms[j];
        sims[j] = d > 0.0f ? std::clamp(sims[j] / d, -1.0f, 1.0f) : 0.0f;
    }
    return top_n(sims.data(), count, n, {}, index);
}

}  // namespace simdmf::serve
