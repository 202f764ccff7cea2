// A trained factor model and everything served from it: predictions, top-N, similarity, fold-in.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"
#include "models/param_array.hpp"

namespace simdmf {

enum class ModelKind : std::uint32_t { mf = SIMDMF_MODEL_MF, logistic = SIMDMF_MODEL_LOGISTIC };

struct Model {
    ModelKind kind = ModelKind::mf;
    std::uint32_t k = 0;
    std::uint32_t stride = 0;  // padded_stride(k): row r of P starts at P.data() + r*stride
    std::uint32_t n_users = 0;
    std::uint32_t n_items = 0;
    bool biases = false;
    float mu = 0.0f;               // global offset (mean rating, or logit of the positive rate)
    // MF predictions are clamped to [min_pred, max_pred], the rating range (the declared one, or the
    // training data's; +-inf: no clamping). Scores never are; logistic models keep +-inf.
    float min_pred = -std::numeric_limits<float>::infinity();
    float max_pred = std::numeric_limits<float>::infinity();
    ParamArray bu, bi;             // empty without biases
    ParamArray P, Q;               // n_users x stride, n_items x stride; padding stays zero
    std::shared_ptr<const IdMap> user_ids, item_ids;  // may be null

    // Throws OUT_OF_RANGE for k = 0 and OUT_OF_MEMORY for a model this machine cannot hold.
    static void check_fits(std::uint32_t k, std::uint32_t n_users, std::uint32_t n_items, bool biases);
    // Allocates zeroed parameters. Throws OUT_OF_MEMORY, before allocating, when the sizes overflow or
    // the parameters (parameter_bytes) exceed the machine's physical memory.
    void allocate(ModelKind kind, std::uint32_t k, std::uint32_t n_users, std::uint32_t n_items, bool biases);

    float* user_row(std::uint32_t u) { return P.data() + std::size_t(u) * stride; }
    float* item_row(std::uint32_t i) { return Q.data() + std::size_t(i) * stride; }
    const float* user_row(std::uint32_t u) const { return P.data() + std::size_t(u) * stride; }
    const float* item_row(std::uint32_t i) const { return Q.data() + std::size_t(i) * stride; }
    const float* row(int side, std::uint32_t index) const {
        return side == SIMDMF_USERS ? user_row(index) : item_row(index);
    }
    std::uint32_t count(int side) const { return side == SIMDMF_USERS ? n_users : n_items; }

    // Linear score mu + b_u + b_i + p_u . q_i (no range checks).
    float score(std::uint32_t u, std::uint32_t i) const;
    // The prediction: the score clamped to [min_pred, max_pred] for MF, sigmoid(score) for logistic
    // (no range checks).
    float predict(std::uint32_t u, std::uint32_t i) const;
    // Sets the MF prediction range (lo <= hi; +-inf turns a side off). INVALID_ARGUMENT for NaN or
    // lo > hi, UNSUPPORTED for a logistic model (its predictions are probabilities).
    void set_prediction_range(float lo, float hi);

    // Range-checked forms (throw OUT_OF_RANGE / INVALID_ARGUMENT).
    void check_user(std::uint32_t u) const;
    void check_item(std::uint32_t i) const;
    void check_side(int side, std::uint32_t index) const;

    void predict_row(std::uint32_t u, float* out) const;  // n_items values
    void score_row(std::uint32_t u, float* out) const;    // n_items scores (unclamped, no sigmoid)
    void scores_to_predictions(float* row) const;         // what predict_row does to score_row's row
    void predict_all(float* out) const;                   // n_users*n_items values, row-major

    // Top-n items for u by score, best first, leaving out `exclude` items (ascending; items
    // beyond the model are ignored; SeenItems::of gives such a list); the values
    // returned are the predictions (clamped, or probabilities). Ranking by the unclamped score keeps
    // the order among items whose predictions clamp to the same maximum.
    std::vector<std::pair<std::uint32_t, float>> recommend(std::uint32_t u, std::size_t n,
                                                           std::span<const std::uint32_t> exclude) const;
    float cosine(int side, std::uint32_t a, std::uint32_t b) const;
    // The n most cosine-similar users/items to index, itself excluded, best first.
    std::vector<std::pair<std::uint32_t, float>> nearest(int side, std::uint32_t index, std::size_t n) const;

    // Predictions for a data set's pairs (sizes must match the model).
    std::vector<float> predict_pairs(const Ratings& r) const;

    // Fold-in: fits a factor row (and bias) for a user not seen in training from a few (item, value)
    // ratings with the items' factors fixed, minimising the training objective for that row
    // (squared loss: exact ridge solution; logistic: Newton's method), then appends the user and returns
    // its index. raw_id is added to the user id map when the model has one (INVALID_ARGUMENT if
    // already present). Throws OUT_OF_RANGE for an unknown item, INVALID_DATA for bad values,
    // UNSUPPORTED for k > 4096. Not thread-safe with concurrent readers of this model.
    std::uint32_t fold_in_user(const std::uint32_t* items, const float* values, std::size_t n, double l2,
                               std::int64_t raw_id);

    // Bit-exact equality of every parameter (tests, round trips).
    bool identical(const Model& other) const;
};

// Bytes of a model's parameters (padded factor rows and biases), and of the machine's physical memory
// (0 when unknown).
std::uint64_t parameter_bytes(std::uint32_t k, std::uint32_t n_users, std::uint32_t n_items, bool biases);
std::uint64_t physical_memory_bytes();

// Model file v1 (see model_io.cpp for the layout).
void save_model(const Model& m, const std::string& path);
Model load_model(const std::string& path);

}  // namespace simdmf
