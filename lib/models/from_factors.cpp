// Models from factor tables and back (from_factors.hpp).
#include "models/from_factors.hpp"

#include <cmath>
#include <cstring>

#include "common.hpp"

namespace simdmf {

namespace {

void check_table(const factors::Table& t, const char* side) {
    const std::string s = side;
    if (t.rows == 0) fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " factors: no rows");
    if (t.values.size() != std::size_t(t.rows) * t.k)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " factors: " + std::to_string(t.values.size()) + " values for " +
                                              std::to_string(t.rows) + " rows of k = " + std::to_string(t.k));
    for (std::size_t j = 0; j < t.values.size(); ++j)
        if (!std::isfinite(t.values[j]))
            fail(SIMDMF_ERR_INVALID_DATA, s + " factors: row " + std::to_string(j / t.k) + " has a NaN or infinite value");
    if (!t.bias.empty() && t.bias.size() != t.rows)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " biases: " + std::to_string(t.bias.size()) + " for " + std::to_string(t.rows) + " rows");
    for (std::size_t j = 0; j < t.bias.size(); ++j)
        if (!std::isfinite(t.bias[j]))
            fail(SIMDMF_ERR_INVALID_DATA, s + " biases: row " + std::to_string(j) + " is NaN or infinite");
    if (!t.ids.empty() && t.ids.size() != t.rows)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " ids: " + std::to_string(t.ids.size()) + " for " + std::to_string(t.rows) + " rows");
    if (!t.untrained.empty() && t.untrained.size() != t.rows)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " rows: untrained flags do not match the rows");
}

void fill(const factors::Table& t, std::uint32_t stride, ParamArray& rows, ParamArray& bias) {
    float* dst = rows.data();
    for (std::uint32_t r = 0; r < t.rows; ++r) {
        if (t.untrained.empty() || !t.untrained[r])
            std::memcpy(dst + std::size_t(r) * stride, t.values.data() + std::size_t(r) * t.k, t.k * sizeof(float));
        if (!bias.empty() && !t.bias.empty()) bias[r] = t.bias[r];
    }
}

void unfill(const MFModel& m, int side, factors::Table& t) {
    t.rows = m.count(side);
    t.k = m.k;
    t.values.resize(std::size_t(t.rows) * t.k);
    for (std::uint32_t r = 0; r < t.rows; ++r)
        std::memcpy(t.values.data() + std::size_t(r) * t.k, m.row(side, r), t.k * sizeof(float));
    if (m.biases) {
        const ParamArray& b = side == SIMDMF_USERS ? m.bu : m.bi;
        t.bias.assign(b.begin(), b.end());
    }
    const auto& ids = side == SIMDMF_USERS ? m.user_ids : m.item_ids;
    if (ids) t.ids = ids->raws();
}

}  // namespace

MFModel model_from_factors(const factors::FactorSet& s) {
    check_table(s.users, "user");
    check_table(s.items, "item");
    if (s.users.k != s.items.k)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "user factors have k = " + std::to_string(s.users.k) + ", item factors k = " +
                                              std::to_string(s.items.k));
    if (s.users.bias.empty() != s.items.bias.empty())
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "biases given for one side only");
    if (!std::isfinite(s.mu)) fail(SIMDMF_ERR_INVALID_DATA, "the global offset is NaN or infinite");
    const bool biases = !s.users.bias.empty() || s.mu != 0.0f;
    MFModel m;
    m.allocate(s.logistic ? Loss::logistic : Loss::squared, s.users.k, s.users.rows, s.items.rows, biases);
    m.mu = biases ? s.mu : 0.0f;
    fill(s.users, m.stride, m.P, m.bu);
    fill(s.items, m.stride, m.Q, m.bi);
    if (!s.users.ids.empty()) m.user_ids = std::make_shared<const IdMap>(IdMap::from_raws(s.users.ids));
    if (!s.items.ids.empty()) m.item_ids = std::make_shared<const IdMap>(IdMap::from_raws(s.items.ids));
    m.set_prediction_range(s.min_pred, s.max_pred);
    return m;
}

factors::FactorSet factors_of(const MFModel& m) {
    factors::FactorSet s;
    unfill(m, SIMDMF_USERS, s.users);
    unfill(m, SIMDMF_ITEMS, s.items);
    s.logistic = m.logistic();
    s.mu = m.biases ? m.mu : 0.0f;
    s.min_pred = m.min_pred;
    s.max_pred = m.max_pred;
    return s;
}

}  // namespace simdmf
