// Neural collaborative filtering (He et al., WWW 2017) as members of the model family, with learned
// embeddings: GMF (score h . (p_u * q_i) + c), MLP (a tower of dense layers over [p_u, q_i]) and NeuMF
// (both branches, their last layers concatenated into one output unit). The math of a batch lives
// here: the forward pass (serving and training) and its backward pass (training); the optimizer and
// the epochs are lib/solvers/ncf_train.cpp. Every layer runs through the NnTable kernels
// (lib/kernels/nn.hpp), on rows padded to 16 floats with zero padding; the 1-unit output is a dot
// product a row. score_block (a user's items) has its own path: see ncf.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/nn.hpp"
#include "models/model.hpp"
#include "rng.hpp"

namespace simdmf {

// The architecture (options "k", "ncf_layers", "ncf_activation", "ncf_slope").
struct NcfShape {
    std::uint32_t k = 8;                          // GMF factors (gmf, neumf)
    std::vector<std::uint32_t> layers{64, 32, 16, 8};  // MLP: layers[0] = 2 x embedding width, then the tower
    kernels::Act act = kernels::Act::relu;        // of the tower's layers (the output unit is linear)
    float slope = 0.3f;                           // leaky_relu
    bool rows = false;                            // ncf_input: false embedding, true rows (NcfInputs)
};

// The training matrix that the rows form (ncf_input = rows) reads: each user's row (CSR over items)
// and each item's column (CSR over users), values as given (raw ratings or +1/-1 labels), missing 0.
// Built once from the training data and shared by copies of a model (immutable; fold-in makes a new
// one). The item columns hold the ratings of the first `in_users` users only: the item-side input
// layer has a weight row per training user, and a user folded in later has none.
struct NcfInputs {
    std::uint32_t n_users = 0, n_items = 0, in_users = 0;
    std::vector<std::uint64_t> uptr, iptr;  // n_users + 1, n_items + 1
    std::vector<std::uint32_t> uidx, iidx;  // item of each user entry; user of each item entry
    std::vector<float> uval;                // the user rows' values as given (saved; fold-in appends)
    // The values the input layers read (option ncf_input_norm): norm 0 the values as given; 1 each
    // user row's values divided by the square root of its entry count, each item column's likewise.
    std::uint32_t norm = 0;
    std::vector<float> uin, ival;
    // From triples (user < n_users, item < n_items); entries of a row in item order (a stable sort:
    // repeated pairs stay, and add up in the layer).
    static NcfInputs from_triples(std::uint32_t n_users, std::uint32_t n_items, const std::uint32_t* user,
                                  const std::uint32_t* item, const float* value, std::size_t n,
                                  std::uint32_t norm = 0);
    // The item columns from the user rows of the first in_users users, and the input values (uin,
    // ival) by `norm`.
    void build_columns();
    std::size_t nnz() const { return uidx.size(); }
    bool operator==(const NcfInputs& o) const;
};

// Rows form, serving: every item's item-side input layer outputs (W x column + bias), computed once so
// that score_block (top-N, score rows, evaluation) reads them in place as it reads item embeddings,
// rather than recomputing each block's columns (their non-zeros times the widths) for every user.
// n_items x nn_pad(k) floats for GMF and n_items x nn_pad(layers[0] / 2) for the MLP: the size of
// the embedding form's item tables (NeuMF, k 30 and layers 60,...: 256 bytes an item, 430 KB on
// MovieLens 100K). Immutable once built, shared by copies of the model.
struct NcfItemCache {
    std::uint32_t n_items = 0, in_users = 0;  // the model's, when built
    AlignedFloats qg, qe;                      // GMF's (stride nn_pad(k)), the MLP's (stride nn_pad(e))
};

class NCFModel final : public Model {
public:
    NcfShape shape;
    ParamArray gP, gQ;            // GMF embeddings: n x nn_pad(k)
    ParamArray mP, mQ;            // MLP embeddings: n x nn_pad(layers[0] / 2)
    std::vector<ParamArray> W, b; // tower layer l (1-based in names): layers[l-1] x nn_pad(layers[l]), bias
    ParamArray hW, hb;            // the output unit: out_in() x 16 (column 0 used), bias 16 (entry 0)
    // The rows form (shape.rows): gP / mP then hold the user-side input layer's weights (a row per
    // item: n_items x width), gQ / mQ the item side's (a row per training user: in_users x width), and
    // gPb, gQb, mPb, mQb their biases (1 x width); `input` the training matrix they read.
    ParamArray gPb, gQb, mPb, mQb;
    std::shared_ptr<const NcfInputs> input;
    std::uint32_t in_users = 0;   // rows form: users of the item-side layer (n_users grows by fold-in)
    // Rows form: the item side's outputs (NcfItemCache), null when not built (score_block then computes
    // them per block: the same scores). Built by build_item_cache(), which train_ncf calls on the model
    // it returns, the model file reader on a loaded model and neumf_from on its result; fold-in keeps it
    // (the item columns read the training users only). Code that writes the item side's parameters or
    // the training matrix in place (through params()) must rebuild it or reset it.
    std::shared_ptr<const NcfItemCache> item_cache;

    NCFModel() = default;
    NCFModel(const NCFModel&) = default;
    NCFModel(NCFModel&&) noexcept = default;
    NCFModel& operator=(const NCFModel&) = default;
    NCFModel& operator=(NCFModel&&) noexcept = default;

    bool has_gmf() const { return kind != ModelKind::mlp; }
    bool has_mlp() const { return kind != ModelKind::gmf; }
    std::uint32_t embed() const { return shape.layers[0] / 2; }  // MLP embedding width
    std::uint32_t tower_out() const { return shape.layers.back(); }
    std::uint32_t out_in() const;                                // width of the output unit's input

    // Checks the shape (INVALID_ARGUMENT) and the size against physical memory (OUT_OF_MEMORY), then
    // allocates zeroed parameters for a kind among gmf, mlp, neumf.
    void allocate(ModelKind kind, const NcfShape& shape, std::uint32_t n_users, std::uint32_t n_items);
    std::uint64_t parameter_count() const;

    void score_pairs(const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                     float* out) const override;
    void score_block(const std::uint32_t* users, std::size_t n_rows, std::uint32_t item_begin,
                     std::uint32_t item_end, float* out, std::size_t ld) const override;
    using Model::params;
    std::vector<ParamView> params() override;
    std::unique_ptr<Model> clone() const override { return std::make_unique<NCFModel>(*this); }
    bool identical(const Model& other) const override;
    // Rows form: a user or item the model has no row for (a new user or item) gets an empty input row,
    // the layer's bias alone; the embedding form: the base's 0.
    float fallback_score(std::uint32_t u, std::uint32_t i) const override;
    // Rows form: the new user's row appended to the training matrix (values as training's: ratings, or
    // +1/-1 labels for the log loss); no parameter changes (the row is the input). UNSUPPORTED for the
    // embedding form.
    std::uint32_t fold_in_user(const std::uint32_t* items, const float* values, std::size_t n, double l2,
                               std::int64_t raw_id) override;
    // Rows form: the input layers' outputs of n users (or items) into out (stride ld): W x row + bias,
    // ids without a row (>= the matrix's rows) getting the bias alone; skip as the kernel's (null:
    // none). gmf: the GMF branch's layer, else the MLP's.
    void input_forward(bool users, bool gmf, const std::uint32_t* ids, std::size_t n, const std::uint32_t* skip,
                       float* out, std::size_t ld) const;
    // Rows form: (re)builds item_cache from the current parameters (the embedding form: resets it).
    // Not thread-safe against concurrent serving of this object: call it before serving starts.
    void build_item_cache();
};

// Activations of one batch (forward) and their gradients (backward), reused across batches.
struct NcfWorkspace {
    std::size_t cap = 0;
    AlignedFloats gu, gi, gv;            // GMF: gathered rows and their product
    AlignedFloats eu, ei;                // MLP: gathered rows
    std::vector<AlignedFloats> x;        // x[0] = [eu, ei], x[l] = layer l's output
    AlignedFloats h;                     // output unit input (neumf: [gv, x.back()])
    AlignedFloats hw;                    // the output unit's weights, contiguous (ncf_forward)
    AlignedFloats dhw;                   // their gradient, contiguous (ncf_backward)
    AlignedFloats dh, dgv, dgu, dgi, deu, dei;
    std::vector<AlignedFloats> dx;
    // Dropout on the tower layers' outputs (training only; 0: off, as for serving): drop[l] holds
    // layer l's mask of the last forward pass, 0 or 1 / (1 - dropout) per unit, drawn from rng;
    // reuse_mask keeps the masks already drawn (gradient checks).
    float dropout = 0.0f;
    bool reuse_mask = false;
    // Rows form, training: leave each pair's own rating out of its user row and item column.
    bool leave_out = false;
    Rng rng{0};
    std::vector<AlignedFloats> drop;
    void reserve(const NCFModel& m, std::size_t n);
};

// Gradient arrays in the order and shape of NCFModel::params(); embeddings' gradient rows are added
// by scatter (only the batch's rows are non-zero). init(m, false) leaves the embeddings' arrays empty
// (a training thread's own gradients: ncf_backward with scatter = false never touches them).
struct NcfGrads {
    std::vector<AlignedFloats> g;
    void init(NCFModel& m, bool embeddings = true);
};

// Forward pass of n <= ws.cap pairs: scores into out (n floats).
void ncf_forward(const NCFModel& m, const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                 NcfWorkspace& ws, float* out);
// Backward pass after ncf_forward on the same pairs and workspace: dscore[j] = dLoss/dscore_j; the
// parameters' gradients are added into grads (order of params()). With scatter = false the
// embeddings' per-pair gradient rows stay in ws (ncf_scatter adds them later) and grads' embedding
// arrays are not touched.
void ncf_backward(const NCFModel& m, const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                  const float* dscore, NcfWorkspace& ws, NcfGrads& grads, bool scatter = true);
// The embeddings' part of ncf_backward: the per-pair gradient rows in ws added into grads' embedding
// arrays, pairs in order 0..n-1. users / items = false leave that side's arrays alone (the two sides
// touch disjoint arrays: training threads scatter them at once).
void ncf_scatter(const NCFModel& m, const std::uint32_t* users, const std::uint32_t* items, std::size_t n,
                 const NcfWorkspace& ws, NcfGrads& grads, bool to_users = true, bool to_items = true);

}  // namespace simdmf
