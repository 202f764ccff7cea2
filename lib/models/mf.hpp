// MF, the first member of the model family: score mu + b_u + b_i + p_u . q_i with the squared loss
// (predictions clamped to the rating range) or the logistic loss (predictions sigmoid(score)). Its math
// lives here (score, scored rows, fold-in); its training is the SGD and GD solvers (lib/solvers/).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "implicit.hpp"
#include "models/model.hpp"

namespace simdmf {

class MFModel final : public Model {
public:
    std::uint32_t k = 0;
    std::uint32_t stride = 0;  // padded_stride(k): row r of P starts at P.data() + r*stride
    bool biases = false;
    float mu = 0.0f;           // global offset (mean rating, or logit of the positive rate)
    ParamArray bu, bi;         // empty without biases
    ParamArray P, Q;           // n_users x stride, n_items x stride; padding stays zero
    ImplicitParams implicit;   // loss implicit: the cell weights it was trained with (fold-in, model file)
    QuantTables quant;         // fp16 / int8 tables it scores with when quantized (models/quant.hpp)
    bool has_fp32 = true;      // P and Q hold the fp32 tables (false: a quantized model that dropped them)

    // Quantizes the fp32 tables (type fp32: drops the quantized ones); keep_fp32 = false frees P and Q.
    // UNSUPPORTED when the model has no fp32 tables left. Not thread-safe with concurrent readers.
    void quantize(TableType type, bool keep_fp32);
    // The fp32 score (mu + b_u + b_i + p_u . q_i) of a quantized model that kept its fp32 tables.
    float score_fp32(std::uint32_t u, std::uint32_t i) const;

    MFModel() = default;
    MFModel(const MFModel&) = default;
    MFModel(MFModel&&) noexcept = default;
    MFModel& operator=(const MFModel&) = default;
    MFModel& operator=(MFModel&&) noexcept = default;

    // Throws OUT_OF_RANGE for k = 0 and OUT_OF_MEMORY for a model this machine cannot hold.
    static void check_fits(std::uint32_t k, std::uint32_t n_users, std::uint32_t n_items, bool biases);
    // Allocates zeroed parameters (the prediction range reset to none). Throws OUT_OF_MEMORY, before
    // allocating, when the sizes overflow or the parameters (parameter_bytes) exceed physical memory.
    void allocate(Loss loss, std::uint32_t k, std::uint32_t n_users, std::uint32_t n_items, bool biases);

    float* user_row(std::uint32_t u) { return P.data() + std::size_t(u) * stride; }
    float* item_row(std::uint32_t i) { return Q.data() + std::size_t(i) * stride; }
    const float* user_row(std::uint32_t u) const { return P.data() + std::size_t(u) * stride; }
    const float* item_row(std::uint32_t i) const { return Q.data() + std::size_t(i) * stride; }
    const float* row(int side, std::uint32_t index) const {
        return side == SIMDMF_USERS ? user_row(index) : item_row(index);
    }

    // The linear score mu + b_u + b_i + p_u . q_i (no range checks), non-virtual for the solvers' loops.
    float score(std::uint32_t u, std::uint32_t i) const;
    float predict(std::uint32_t u, std::uint32_t i) const { return prediction(score(u, i)); }

    void score_pairs(const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                     float* out) const override;
    void score_block(const std::uint32_t* users, std::size_t n_rows, std::uint32_t item_begin,
                     std::uint32_t item_end, float* out, std::size_t ld) const override;
    float fallback_score(std::uint32_t u, std::uint32_t i) const override;  // mu + the known biases
    FactorView factors() const override;
    using Model::params;
    std::vector<ParamView> params() override;
    std::unique_ptr<Model> clone() const override { return std::make_unique<MFModel>(*this); }
    bool identical(const Model& other) const override;
    double score_bound() const override;

    // Fold-in: fits a factor row (and bias) for a user not seen in training from a few (item, value)
    // ratings with the items' factors fixed, minimising the training objective for that row
    // (squared loss: exact ridge solution; logistic: Newton's method), then appends the user and returns
    // its index. raw_id is added to the user id map when the model has one (INVALID_ARGUMENT if
    // already present). Throws OUT_OF_RANGE for an unknown item, INVALID_DATA for bad values,
    // UNSUPPORTED for k > 4096. Not thread-safe with concurrent readers of this model.
    // Loss implicit: values are counts (>= 0), and the row is iALS's exact solve with the unobserved
    // cells (every other item) at weight w0, l2 scaled as in training (lib/implicit.hpp).
    std::uint32_t fold_in_user(const std::uint32_t* items, const float* values, std::size_t n, double l2,
                               std::int64_t raw_id) override;

private:
    std::vector<double> fold_in_implicit(const std::uint32_t* items, const float* values, std::size_t n,
                                         double l2) const;
};

// The model file (lib/io/model_file.hpp, docs/model_file.md): save_model writes format v2 atomically
// (streamed into a temporary file, fsync, rename); load_model reads v2 or v1 into memory (open_model
// with default options; open_model can also serve from a memory mapping).
void save_model(const MFModel& m, const std::string& path);
MFModel load_model(const std::string& path);

}  // namespace simdmf
