#include "synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "common.hpp"
#include "rng.hpp"

namespace simdmf {

namespace {
std::string shown(double v) {
    char b[40];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}
}  // namespace

std::string planted_spec_problem(const PlantedSpec& s) {
    const std::uint64_t cells = std::uint64_t(s.n_users) * s.n_items;
    if (s.n_users == 0 || s.n_items == 0 || s.rank == 0) return "planted data needs users, items and rank >= 1";
    if (s.n_ratings == 0 || s.n_ratings > cells / 2)
        return "planted data needs 0 < ratings <= users * items / 2 (" + std::to_string(cells / 2) + ")";
    const struct { const char* name; double v; bool spread; } reals[] = {
        {"factor sd", s.factor_std, true}, {"bias sd", s.bias_std, true}, {"noise sd", s.noise_std, true},
        {"mean", s.mean, false},           {"min rating", s.min_rating, false},
        {"max rating", s.max_rating, false}, {"popularity exponent", s.item_popularity, true}};
    for (const auto& r : reals) {
        if (!std::isfinite(r.v)) return std::string(r.name) + " must be a finite number, not " + shown(r.v);
        if (r.spread && r.v < 0) return std::string(r.name) + " must be >= 0, not " + shown(r.v);
    }
    if (s.min_rating > s.max_rating)
        return "min rating " + shown(s.min_rating) + " is above max rating " + shown(s.max_rating);
    return {};
}

Ratings make_planted(const PlantedSpec& s, PlantedTruth* truth) {
    if (const std::string why = planted_spec_problem(s); !why.empty()) fail(SIMDMF_ERR_INVALID_ARGUMENT, why);
    Rng rng(s.seed);
    const double fsd = s.factor_std > 0 ? s.factor_std : std::pow(double(s.rank), -0.25);
    std::vector<float> U(std::size_t(s.n_users) * s.rank), V(std::size_t(s.n_items) * s.rank);
    for (auto& x : U) x = static_cast<float>(rng.normal() * fsd);
    for (auto& x : V) x = static_cast<float>(rng.normal() * fsd);
    std::vector<float> bu(s.n_users), bi(s.n_items);
    for (auto& x : bu) x = static_cast<float>(rng.normal() * s.bias_std);
    for (auto& x : bi) x = static_cast<float>(rng.normal() * s.bias_std);

    // Item popularity: P(item at rank r) ~ (r+1)^-a over a random permutation of the items.
    std::vector<double> cdf;
    std::vector<std::uint32_t> perm;
    if (s.item_popularity > 0) {
        cdf.resize(s.n_items);
        double acc = 0;
        for (std::uint32_t r = 0; r < s.n_items; ++r) cdf[r] = acc += std::pow(r + 1.0, -s.item_popularity);
        for (auto& c : cdf) c /= acc;
        perm.resize(s.n_items);
        for (std::uint32_t i = 0; i < s.n_items; ++i) perm[i] = i;
        rng.shuffle(perm.data(), perm.size());
    }
    auto draw_item = [&]() -> std::uint32_t {
        if (cdf.empty()) return static_cast<std::uint32_t>(rng.below(s.n_items));
        auto it = std::lower_bound(cdf.begin(), cdf.end(), rng.uniform());
        auto r = static_cast<std::uint32_t>(std::min<std::ptrdiff_t>(it - cdf.begin(), s.n_items - 1));
        return perm[r];
    };

    // Distinct cells: draw, sort, unique; top up until there are enough, then keep a random n.
    std::vector<std::uint64_t> cell;
    cell.reserve(s.n_ratings + s.n_ratings / 8 + 16);
    for (int round = 0; cell.size() < s.n_ratings; ++round) {
        if (round > 64) fail(SIMDMF_ERR_INVALID_ARGUMENT, "too few distinct cells for the popularity skew");
        std::uint64_t want = s.n_ratings - cell.size();
        want += want / 8 + 16;
        for (std::uint64_t j = 0; j < want; ++j)
            cell.push_back(rng.below(s.n_users) * s.n_items + draw_item());
        std::sort(cell.begin(), cell.end());
        cell.erase(std::unique(cell.begin(), cell.end()), cell.end());
    }
    rng.shuffle(cell.data(), cell.size());
    cell.resize(s.n_ratings);

    Ratings out;
    out.reserve(s.n_ratings);
    for (std::uint64_t c : cell) {
        const auto u = static_cast<std::uint32_t>(c / s.n_items);
        const auto i = static_cast<std::uint32_t>(c % s.n_items);
        double dot = 0;
        for (std::uint32_t f = 0; f < s.rank; ++f)
            dot += double(U[std::size_t(u) * s.rank + f]) * V[std::size_t(i) * s.rank + f];
        double v = s.mean + bu[u] + bi[i] + dot + rng.normal() * s.noise_std;
        if (s.integer_ratings) v = std::round(v);
        v = std::clamp(v, s.min_rating, s.max_rating);
        out.user.push_back(u);
        out.item.push_back(i);
        out.value.push_back(static_cast<float>(v));
    }
    out.n_users = s.n_users;
    out.n_items = s.n_items;
    if (truth != nullptr) {
        truth->rank = s.rank;
        truth->U = std::move(U);
        truth->V = std::move(V);
        truth->bu = std::move(bu);
        truth->bi = std::move(bi);
    }
    return out;
}

PlantedSpec large_preset() {
    PlantedSpec s;
    s.n_users = 50000;
    s.n_items = 10000;
    s.n_ratings = 5500000;
    s.rank = 10;
    s.factor_std = std::pow(10.0, -0.25);  // variance 10^-0.5: U.V has variance 1
    s.bias_std = 0;
    s.mean = 3;
    s.noise_std = 0.5;
    s.integer_ratings = false;
    s.item_popularity = 0;
    s.seed = 4;
    return s;
}

Ratings binarize(const Ratings& r, float threshold) {
    Ratings b = r;
    for (float& v : b.value) v = v >= threshold ? 1.0f : -1.0f;
    return b;
}

}  // namespace simdmf
