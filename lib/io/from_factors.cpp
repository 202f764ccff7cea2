// Models from factor tables and back (from_factors.hpp): interop of lib/io/factors with the model family.
#include "io/from_factors.hpp"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "common.hpp"

namespace simdmf {

namespace {

void check_view(const SideTable& t, std::uint32_t k, bool borrow, const char* side) {
    const std::string s = side;
    if (t.rows == 0) fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " factors: no rows");
    if (!t.values) fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " factors: NULL");
    if (t.stride < k) fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " factors: stride " + std::to_string(t.stride) + " < k");
    if (borrow && t.stride != padded_stride(k))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " factors: borrowing needs rows of k rounded up to 16 floats (" +
                                              std::to_string(padded_stride(k)) + "), not " + std::to_string(t.stride));
    const bool dense = t.stride == k;  // one pass over the whole table
    if (dense && !t.finite) {
        const std::size_t n = std::size_t(t.rows) * k, at = first_non_finite(t.values, n);
        if (at < n) fail(SIMDMF_ERR_INVALID_DATA, s + " factors: row " + std::to_string(at / k) + " has a NaN or infinite value");
    }
    for (std::uint32_t r = 0; r < t.rows; ++r) {
        const float* row = t.values + std::size_t(r) * t.stride;
        if (!dense && first_non_finite(row, k) < k)
            fail(SIMDMF_ERR_INVALID_DATA, s + " factors: row " + std::to_string(r) + " has a NaN or infinite value");
        if (borrow)
            for (std::size_t j = k; j < t.stride; ++j)
                if (row[j] != 0.0f)
                    fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " factors: row " + std::to_string(r) +
                                                          " is not zero past k (borrowed rows must be zero-padded)");
        if (t.bias && !std::isfinite(t.bias[r]))
            fail(SIMDMF_ERR_INVALID_DATA, s + " biases: row " + std::to_string(r) + " is NaN or infinite");
    }
}

void fill(const SideTable& t, std::uint32_t k, std::uint32_t stride, ParamArray& rows, ParamArray& bias) {
    float* dst = rows.data();
    for (std::uint32_t r = 0; r < t.rows; ++r) {
        if (!t.untrained || !t.untrained[r])
            std::memcpy(dst + std::size_t(r) * stride, t.values + std::size_t(r) * t.stride, k * sizeof(float));
    }
    if (!bias.empty() && t.bias) std::memcpy(bias.data(), t.bias, t.rows * sizeof(float));
}

SideTable view_of(const factors::Table& t, const char* side) {
    const std::string s = side;
    if (t.size() != std::size_t(t.rows) * t.k)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " factors: " + std::to_string(t.size()) + " values for " +
                                              std::to_string(t.rows) + " rows of k = " + std::to_string(t.k));
    auto sized = [&](std::size_t n, const char* what) {
        if (n != 0 && n != t.rows)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, s + " " + what + ": " + std::to_string(n) + " for " + std::to_string(t.rows) + " rows");
    };
    sized(t.bias.size(), "biases");
    sized(t.ids.size(), "ids");
    sized(t.str_ids.size(), "ids");
    sized(t.untrained.size(), "untrained flags");
    SideTable v;
    v.values = t.data();
    v.stride = t.k;
    v.rows = t.rows;
    v.bias = t.bias.empty() ? nullptr : t.bias.data();
    v.ids = t.ids.empty() ? nullptr : t.ids.data();
    v.str_ids = t.str_ids.empty() ? nullptr : t.str_ids.data();
    v.untrained = t.untrained.empty() ? nullptr : t.untrained.data();
    v.finite = t.finite;
    return v;
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
    if (ids && ids->is_string()) t.str_ids = ids->strings_list();
    else if (ids) t.ids = ids->raws();
}

}  // namespace

MFModel model_from_views(std::uint32_t k, const SideTable& users, const SideTable& items, float mu, bool logistic,
                       float min_pred, float max_pred, bool borrow) {
    if (k == 0 || k > 65536) fail(SIMDMF_ERR_OUT_OF_RANGE, "k = " + std::to_string(k) + " is outside 1..65536");
    check_view(users, k, borrow, "user");
    check_view(items, k, borrow, "item");
    if (!users.bias != !items.bias) fail(SIMDMF_ERR_INVALID_ARGUMENT, "biases given for one side only");
    if (!std::isfinite(mu)) fail(SIMDMF_ERR_INVALID_DATA, "the global offset is NaN or infinite");
    const bool biases = users.bias || mu != 0.0f;
    MFModel m;
    if (borrow) {
        // Sizes and memory as allocate() checks them, without allocating the factor tables.
        MFModel::check_fits(k, users.rows, items.rows, biases);
        m.allocate(logistic ? Loss::logistic : Loss::squared, k, 0, 0, biases);
        m.n_users = users.rows;
        m.n_items = items.rows;
        m.P = ParamArray::borrow(users.values, std::size_t(users.rows) * m.stride, nullptr);
        m.Q = ParamArray::borrow(items.values, std::size_t(items.rows) * m.stride, nullptr);
        m.bu.assign(biases ? users.rows : 0, 0.0f);
        m.bi.assign(biases ? items.rows : 0, 0.0f);
        if (users.bias) {
            std::memcpy(m.bu.data(), users.bias, users.rows * sizeof(float));
            std::memcpy(m.bi.data(), items.bias, items.rows * sizeof(float));
        }
    } else {
        m.allocate(logistic ? Loss::logistic : Loss::squared, k, users.rows, items.rows, biases);
        fill(users, k, m.stride, m.P, m.bu);
        fill(items, k, m.stride, m.Q, m.bi);
    }
    m.mu = biases ? mu : 0.0f;
    auto map_of = [](const SideTable& t) -> std::shared_ptr<const IdMap> {
        if (t.str_ids) return std::make_shared<const IdMap>(IdMap::from_strings({t.str_ids, t.str_ids + t.rows}));
        if (t.ids) return std::make_shared<const IdMap>(IdMap::from_raws({t.ids, t.ids + t.rows}));
        return nullptr;
    };
    m.user_ids = map_of(users);
    m.item_ids = map_of(items);
    m.set_prediction_range(min_pred, max_pred);
    return m;
}

MFModel model_from_factors(const factors::FactorSet& s) {
    if (s.users.k != s.items.k)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "user factors have k = " + std::to_string(s.users.k) + ", item factors k = " +
                                              std::to_string(s.items.k));
    return model_from_views(s.users.k, view_of(s.users, "user"), view_of(s.items, "item"), s.mu, s.logistic, s.min_pred,
                            s.max_pred, false);
}

MFModel model_from_factors(factors::FactorSet&& s) {
    const std::uint32_t k = s.users.k;
    auto zeroing = [](const factors::Table& t) {  // untrained rows to zero, impossible in a read-only view
        return t.mapped && std::find(t.untrained.begin(), t.untrained.end(), 1) != t.untrained.end();
    };
    if (k != s.items.k || k == 0 || k != padded_stride(k) || zeroing(s.users) || zeroing(s.items))
        return model_from_factors(std::as_const(s));
    SideTable users = view_of(s.users, "user"), items = view_of(s.items, "item");
    for (auto* t : {&s.users, &s.items})  // ours now: untrained rows become zeros in place
        for (std::size_t r = 0; r < t->untrained.size(); ++r)
            if (t->untrained[r]) std::fill_n(t->values.data() + r * k, k, 0.0f);
    users.untrained = items.untrained = nullptr;
    MFModel m = model_from_views(k, users, items, s.mu, s.logistic, s.min_pred, s.max_pred, true);
    // The model's tables take over the reader's buffers (or its file mapping), which the borrows keep alive.
    auto owner = [](factors::Table& t) -> std::shared_ptr<const void> {
        if (t.mapped) return std::move(t.mapping);
        return std::make_shared<const factors::Floats>(std::move(t.values));
    };
    const float* p = std::as_const(m.P).data();
    const float* q = std::as_const(m.Q).data();
    m.P = ParamArray::borrow(p, m.P.size(), owner(s.users));
    m.Q = ParamArray::borrow(q, m.Q.size(), owner(s.items));
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
