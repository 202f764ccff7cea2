// The model family's interface: what serving, evaluation, tuning, the model file and the C ABI know of
// a trained model. Metadata are plain fields (read with no call); scoring is virtual once per batch of
// pairs or block of rows, never per element; the factor tables and the parameter arrays are views.
// Training never goes through this interface: each solver works on its concrete model type
// (lib/models/mf.hpp for MF) with the kernels inlined in its loops. See docs/architecture.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"
#include "models/param_array.hpp"
#include "models/quant.hpp"
#include "objective.hpp"

namespace simdmf {

// A member of the family (option "model"). Values are stable (model files, the C ABI's model name).
// gmf, mlp, neumf: neural collaborative filtering (lib/models/ncf.hpp).
enum class ModelKind : std::uint32_t { mf = 1, gmf = 2, mlp = 3, neumf = 4 };
const char* model_kind_name(ModelKind kind);  // "mf", "gmf", "mlp", "neumf"
bool parse_model_kind(const std::string& name, ModelKind* out);

// A model's factor tables, for the calls only factor models have (similarity, raw factors, fold-in,
// quantized serving). P is null for a model without them.
struct FactorView {
    const float* P = nullptr;   // n_users rows of `stride` floats (64-byte aligned, zero past k)
    const float* Q = nullptr;   // n_items rows
    std::uint32_t k = 0, stride = 0, n_users = 0, n_items = 0;
    const float* bu = nullptr;  // null without biases
    const float* bi = nullptr;
    float mu = 0.0f;
    // The quantized tables a model scores with (null or type fp32: none). A quantized model that
    // dropped its fp32 tables has P = Q = null (a false view) and quant set.
    const QuantTables* quant = nullptr;

    explicit operator bool() const { return P != nullptr; }
    bool quantized() const { return quant && quant->on(); }
    const float* row(int side, std::uint32_t index) const {
        return (side == SIMDMF_USERS ? P : Q) + std::size_t(index) * stride;
    }
    std::uint32_t count(int side) const { return side == SIMDMF_USERS ? n_users : n_items; }
};

// One named parameter array of a model with its shape (rows x cols floats, row-major; `used` of the
// cols carry values, the rest is padding that stays zero). Snapshots, epoch control and model files
// work on these, never on a model's field names.
struct ParamView {
    const char* name;          // stable within a kind: "P", "Q", "bu", "bi"
    ParamArray* array;
    std::uint64_t rows, cols, used;
};
struct ConstParamView {
    const char* name;
    const ParamArray* array;
    std::uint64_t rows, cols, used;
};

class Model {
public:
    virtual ~Model() = default;

    // --- kind and metadata (fields: no virtual call) ---
    ModelKind kind = ModelKind::mf;
    Objective objective;           // loss and link: predictions are link(score), clamped below
    std::uint32_t n_users = 0;
    std::uint32_t n_items = 0;
    // Predictions are clamped to [min_pred, max_pred] (squared loss: the rating range, declared or the
    // training data's; +-inf: no clamping; logistic models keep +-inf, they predict probabilities).
    float min_pred = -std::numeric_limits<float>::infinity();
    float max_pred = std::numeric_limits<float>::infinity();
    std::shared_ptr<const IdMap> user_ids, item_ids;  // may be null (indices are the raw ids)
    // The options the model was trained with (key, value as text), kept in the model file's metadata;
    // descriptive only (nothing reads them to serve).
    std::vector<std::pair<std::string, std::string>> train_options;

    Loss loss() const { return objective.loss; }
    bool logistic() const { return objective.logistic(); }
    const char* kind_name() const { return model_kind_name(kind); }
    // The C ABI's simdmf_model_kind value: SIMDMF_MODEL_MF or SIMDMF_MODEL_LOGISTIC (an MF with the
    // logistic loss), kept for compatibility; simdmf_model_loss / simdmf_model_name say the rest.
    int abi_kind() const { return logistic() ? SIMDMF_MODEL_LOGISTIC : SIMDMF_MODEL_MF; }
    std::uint32_t count(int side) const { return side == SIMDMF_USERS ? n_users : n_items; }

    // --- scoring (no range checks; callers check indices once per batch) ---
    // out[j] = score of (users[j], items[j]).
    virtual void score_pairs(const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                             float* out) const = 0;
    // Scores of a block: out[r * ld + (i - item_begin)] for the n_rows users in `users` and the items
    // [item_begin, item_end). One user's row is a block of one; batched top-N uses larger blocks.
    virtual void score_block(const std::uint32_t* users, std::size_t n_rows, std::uint32_t item_begin,
                             std::uint32_t item_end, float* out, std::size_t ld) const = 0;

    // Predictions are the objective's link applied to scores, then clamped to the prediction range.
    float prediction(float score) const;
    void scores_to_predictions(float* v, std::size_t n) const;  // in place
    float score(std::uint32_t u, std::uint32_t i) const;        // one pair (a batch of one)
    float predict(std::uint32_t u, std::uint32_t i) const;
    void score_row(std::uint32_t u, float* out) const;          // n_items scores
    void predict_row(std::uint32_t u, float* out) const;        // n_items predictions
    void predict_all(float* out) const;                         // n_users * n_items, row-major
    std::vector<float> predict_pairs(const Ratings& r) const;   // sizes must fit the model

    // --- cold start ---
    // The fallback score of a pair the model may not know (u >= n_users: a new user; i >= n_items: a
    // new item): the terms it has parameters for. MF: mu + b_i for a new user, mu + b_u for a new item,
    // mu for both (0 without biases). Called for cold pairs only (virtual per pair: they are few). The
    // base has no such terms: 0.
    virtual float fallback_score(std::uint32_t u, std::uint32_t i) const;
    // predict(u, i) for a known pair, else the prediction of fallback_score(u, i).
    float predict_with_fallback(std::uint32_t u, std::uint32_t i) const;
    void fallback_row(float* out) const;  // n_items fallback scores of a new user

    // --- optional parts ---
    // The factor tables (a null view for a model without them).
    virtual FactorView factors() const { return {}; }
    // Every trained parameter array, in a fixed order.
    virtual std::vector<ParamView> params() = 0;
    std::vector<ConstParamView> params() const;
    // Fits and appends a new user from a few (item, value) ratings (see MFModel). UNSUPPORTED here.
    virtual std::uint32_t fold_in_user(const std::uint32_t* items, const float* values, std::size_t n,
                                       double l2, std::int64_t raw_id);
    virtual std::unique_ptr<Model> clone() const = 0;

    // --- checks ---
    // Sets the prediction range (lo <= hi; +-inf turns a side off). INVALID_ARGUMENT for NaN or lo > hi,
    // UNSUPPORTED for a logistic model.
    void set_prediction_range(float lo, float hi);
    void check_user(std::uint32_t u) const;   // OUT_OF_RANGE
    void check_item(std::uint32_t i) const;
    void check_side(int side, std::uint32_t index) const;  // INVALID_ARGUMENT for a bad side
    // The factor tables, or UNSUPPORTED naming `what` and this model's kind.
    FactorView require_factors(const char* what) const;
    // Bit-exact equality of the metadata and every parameter array (tests, round trips); a kind adds
    // its own scalars.
    virtual bool identical(const Model& other) const;
    // Every parameter finite.
    bool finite() const;
    // An upper bound on |score| over every (user, item) pair, computed in double from the parameters
    // (MF: |mu| + max |b_u| + max |b_i| + max |p_u| * max |q_i|); +inf when a float score may
    // overflow or any parameter is NaN or infinite (a finite bound says every parameter is finite);
    // NaN when the kind cannot bound its scores cheaply. Divergence is judged on it
    // (lib/solvers/epoch_control.hpp): finite parameters whose dot products overflow are no model.
    virtual double score_bound() const { return std::numeric_limits<double>::quiet_NaN(); }

protected:
    Model() = default;
    Model(const Model&) = default;  // copies only through a concrete type (no slicing)
    Model(Model&&) noexcept = default;
    Model& operator=(const Model&) = default;
    Model& operator=(Model&&) noexcept = default;
};

// Bytes of an MF model's parameters (padded factor rows and biases), and of the machine's physical
// memory (0 when unknown).
std::uint64_t parameter_bytes(std::uint32_t k, std::uint32_t n_users, std::uint32_t n_items, bool biases);
std::uint64_t physical_memory_bytes();

}  // namespace simdmf
