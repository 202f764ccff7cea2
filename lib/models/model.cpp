// The model family's shared behaviour: predictions from scores, range checks, parameter views.
#include "models/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include <unistd.h>

#include "kernels/kernels.hpp"

namespace simdmf {

const char* model_kind_name(ModelKind kind) {
    switch (kind) {
        case ModelKind::mf: return "mf";
        case ModelKind::gmf: return "gmf";
        case ModelKind::mlp: return "mlp";
        case ModelKind::neumf: return "neumf";
    }
    return "unknown";
}

bool parse_model_kind(const std::string& name, ModelKind* out) {
    if (name == "mf") *out = ModelKind::mf;
    else if (name == "gmf") *out = ModelKind::gmf;
    else if (name == "mlp") *out = ModelKind::mlp;
    else if (name == "neumf") *out = ModelKind::neumf;
    else return false;
    return true;
}

std::uint64_t physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return 0;
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

std::uint64_t parameter_bytes(std::uint32_t k, std::uint32_t n_users, std::uint32_t n_items, bool biases) {
    const std::uint64_t rows = std::uint64_t{n_users} + n_items;
    return rows * padded_stride(k) * sizeof(float) + (biases ? rows * sizeof(float) : 0);
}

float Model::prediction(float s) const {
    const float p = objective.link == Link::identity ? s : static_cast<float>(objective.apply_link(s));
    return std::clamp(p, min_pred, max_pred);
}

void Model::scores_to_predictions(float* v, std::size_t n) const {
    switch (objective.link) {
        case Link::identity: break;
        case Link::sigmoid: kernels::active().sigmoid(v, v, n); break;
        case Link::scaled_sigmoid: {
            kernels::active().sigmoid(v, v, n);
            const float lo = static_cast<float>(objective.lo), span = static_cast<float>(objective.hi - objective.lo);
            for (std::size_t j = 0; j < n; ++j) v[j] = lo + span * v[j];
            break;
        }
    }
    if (min_pred > -std::numeric_limits<float>::infinity() || max_pred < std::numeric_limits<float>::infinity())
        for (std::size_t j = 0; j < n; ++j) v[j] = std::clamp(v[j], min_pred, max_pred);
}

float Model::score(std::uint32_t u, std::uint32_t i) const {
    float s;
    score_pairs(&u, &i, 1, &s);
    return s;
}

float Model::predict(std::uint32_t u, std::uint32_t i) const { return prediction(score(u, i)); }

float Model::fallback_score(std::uint32_t, std::uint32_t) const { return 0.0f; }

float Model::predict_with_fallback(std::uint32_t u, std::uint32_t i) const {
    return u < n_users && i < n_items ? predict(u, i) : prediction(fallback_score(u, i));
}

void Model::fallback_row(float* out) const {
    for (std::uint32_t i = 0; i < n_items; ++i) out[i] = fallback_score(n_users, i);
}

void Model::score_row(std::uint32_t u, float* out) const { score_block(&u, 1, 0, n_items, out, n_items); }

void Model::predict_row(std::uint32_t u, float* out) const {
    score_row(u, out);
    scores_to_predictions(out, n_items);
}

void Model::predict_all(float* out) const {
    for (std::uint32_t u = 0; u < n_users; ++u) predict_row(u, out + std::size_t(u) * n_items);
}

std::vector<float> Model::predict_pairs(const Ratings& r) const {
    if (r.n_users > n_users || r.n_items > n_items)
        fail(SIMDMF_ERR_OUT_OF_RANGE, "data set has more users or items than the model");
    std::vector<float> out(r.size());
    if (!out.empty()) {
        score_pairs(r.user.data(), r.item.data(), r.size(), out.data());
        scores_to_predictions(out.data(), out.size());
    }
    return out;
}

std::vector<ConstParamView> Model::params() const {
    std::vector<ConstParamView> out;
    for (const ParamView& v : const_cast<Model*>(this)->params())  // views only: nothing is written
        out.push_back({v.name, v.array, v.rows, v.cols, v.used});
    return out;
}

std::uint32_t Model::fold_in_user(const std::uint32_t*, const float*, std::size_t, double, std::int64_t) {
    fail(SIMDMF_ERR_UNSUPPORTED, std::string("fold-in is not available for a model of kind '") + kind_name() + "'");
}

void Model::set_prediction_range(float lo, float hi) {
    if (std::isnan(lo) || std::isnan(hi) || lo > hi)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "prediction range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                              "] is not an interval");
    if (logistic() && (lo != -std::numeric_limits<float>::infinity() || hi != std::numeric_limits<float>::infinity()))
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

FactorView Model::require_factors(const char* what) const {
    FactorView f = factors();
    if (!f && f.quantized())
        fail(SIMDMF_ERR_UNSUPPORTED, std::string(what) + " needs the fp32 factor tables, which this model dropped "
                                         "when it was quantized to " + table_type_name(f.quant->type) +
                                         " (convert the float model with --keep-fp32)");
    if (!f)
        fail(SIMDMF_ERR_UNSUPPORTED, std::string(what) + " needs factor tables, which a model of kind '" +
                                         kind_name() + "' does not have");
    return f;
}

bool Model::identical(const Model& o) const {
    auto same_bits = [](const void* a, const void* b, std::size_t n) { return std::memcmp(a, b, n) == 0; };
    if (kind != o.kind || objective.loss != o.objective.loss || objective.link != o.objective.link ||
        n_users != o.n_users || n_items != o.n_items || !same_bits(&min_pred, &o.min_pred, sizeof min_pred) ||
        !same_bits(&max_pred, &o.max_pred, sizeof max_pred))
        return false;
    const auto a = params(), b = o.params();
    if (a.size() != b.size()) return false;
    for (std::size_t j = 0; j < a.size(); ++j) {
        const ParamArray &x = *a[j].array, &y = *b[j].array;
        if (std::strcmp(a[j].name, b[j].name) != 0 || x.size() != y.size() ||
            (!x.empty() && !same_bits(x.data(), y.data(), x.size() * sizeof(float))))
            return false;
    }
    return true;
}

bool Model::finite() const {
    for (const ConstParamView& v : params())
        for (float x : *v.array)
            if (!std::isfinite(x)) return false;
    return true;
}

}  // namespace simdmf
