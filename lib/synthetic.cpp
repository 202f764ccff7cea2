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

ImplicitSpec lastfm_preset(double scale) {
    ImplicitSpec s;
    if (!(scale > 0.0 && scale <= 1.0)) fail(SIMDMF_ERR_INVALID_ARGUMENT, "lastfm preset: the scale must be in (0, 1]");
    s.n_users = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::llround(s.n_users * scale)));
    s.n_items = std::max<std::uint32_t>(4, static_cast<std::uint32_t>(std::llround(s.n_items * scale)));
    s.n_events = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(double(s.n_events) * scale)));
    return s;
}

Ratings make_implicit(const ImplicitSpec& spec) {
    const std::uint32_t U = spec.n_users, I = spec.n_items;
    if (U == 0 || I < 4 || spec.n_events < U || double(spec.n_events) > double(U) * double(I) / 4.0 ||
        double(spec.n_events) / U > I / 4.0 || !(spec.item_popularity >= 0.0) || !std::isfinite(spec.item_popularity))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "implicit set: need users, at least 4 items, users <= events <= users x items / 4, "
                                          "at most items / 4 events a user on average, popularity >= 0");
    Rng rng(spec.seed);
    // Popularity: cumulative weights over the items in id order, item i at a seeded rank.
    std::vector<std::uint32_t> rank(I);
    for (std::uint32_t i = 0; i < I; ++i) rank[i] = i;
    rng.shuffle(rank.data(), I);
    std::vector<double> cum(I);
    double total = 0.0;
    for (std::uint32_t i = 0; i < I; ++i) cum[i] = total += std::pow(1.0 + rank[i], -spec.item_popularity);
    // Events per user: uniform around the mean, then nudged to the exact total (each within 1 .. cap).
    const std::uint64_t mean = std::max<std::uint64_t>(1, spec.n_events / U);
    const std::uint32_t cap = I / 2;
    std::vector<std::uint32_t> per(U);
    std::uint64_t sum = 0;
    for (auto& n : per) sum += n = static_cast<std::uint32_t>(std::min<std::uint64_t>(cap, 1 + rng.below(2 * mean - 1)));
    while (sum != spec.n_events) {
        std::uint32_t& n = per[rng.below(U)];
        if (sum < spec.n_events && n < cap) ++n, ++sum;
        else if (sum > spec.n_events && n > 1) --n, --sum;
    }
    Ratings r;
    r.n_users = U;
    r.n_items = I;
    r.user.reserve(spec.n_events);
    r.item.reserve(spec.n_events);
    r.value.reserve(spec.n_events);
    std::vector<std::uint32_t> items;
    for (std::uint32_t u = 0; u < U; ++u) {
        items.clear();
        while (items.size() < per[u]) {  // distinct items by popularity: draw the missing ones, deduplicate
            for (std::size_t t = items.size(); t < per[u]; ++t) {
                const double x = rng.uniform() * total;
                items.push_back(static_cast<std::uint32_t>(
                    std::min<std::size_t>(I - 1, std::upper_bound(cum.begin(), cum.end(), x) - cum.begin())));
            }
            std::sort(items.begin(), items.end());
            items.erase(std::unique(items.begin(), items.end()), items.end());
        }
        for (std::uint32_t i : items) {
            const double c = 1.0 + std::floor(std::pow(1.0 - rng.uniform(), -1.0 / 1.2));
            r.user.push_back(u);
            r.item.push_back(i);
            r.value.push_back(static_cast<float>(std::min(c, 100000.0)));
        }
    }
    return r;
}

Ratings binarize(const Ratings& r, float threshold) {
    Ratings b = r;
    for (float& v : b.value) v = v >= threshold ? 1.0f : -1.0f;
    return b;
}

}  // namespace simdmf
