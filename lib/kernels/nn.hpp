// Neural-network kernels (neural collaborative filtering, lib/models/ncf.*): a second family of the
// one dispatch point. Written once as xsimd templates (nn_impl.hpp), compiled in every level's
// translation unit beside the MF kernels, gathered in an NnTable; `nn_active()` is the table of the
// level `active()` chose (SIMDMF_SIMD lowers both), `nn_table_for(level)` any compiled level's.
//
// Layout contract (an exception to kernels.hpp's "any length", for whole vectors): a layer of width w
// is stored with a row stride ld >= nn_pad(w) floats, w rounded up to 16 (the widest vector), and the
// columns from w to nn_pad(w) are zero in every input (activations, weights, biases, gradients coming
// in). The SIMD levels read and write whole vectors up to the padded width and keep the padding zero
// in what they write; the scalar table touches only the w used columns. Results agree with the scalar
// table within float rounding of a different summation order.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.hpp"

namespace simdmf::kernels {

// Stable values (model files record them): the activation fused into a dense layer.
enum class Act : int { identity = 0, relu = 1, leaky_relu = 2 };

constexpr std::size_t nn_pad(std::size_t w) { return (w + 15) / 16 * 16; }

struct NnTable {
    Level level;

    // Batched dense layer, bias and activation fused:
    //   Y[b*ldy + o] = act(bias[o] + sum_i X[b*ldx + i] * W[i*ldw + o])   for b < n, o < out
    // W is in x out (row i: the weights from input i), act(z) = z, max(z, 0), or z > 0 ? z : slope*z.
    void (*dense_forward)(const float* X, std::size_t ldx, std::size_t n, std::size_t in, std::size_t out,
                          const float* W, std::size_t ldw, const float* bias, float* Y, std::size_t ldy, int act,
                          float slope);

    // Its backward pass. dY (n x out, stride ldy) holds dLoss/dY on entry and dLoss/dZ (Z the
    // pre-activation) on exit: dY *= act'(Z), read from the sign of Y (slope > 0 for leaky_relu).
    //   dW[i*ldw + o] += sum_b X[b, i] dZ[b, o];  db[o] += sum_b dZ[b, o];
    //   dX[b*lddx + i] = sum_o dZ[b, o] W[i, o]   (dX may be null: not computed)
    // The sums over b run in order b = 0..n-1 for every level (so a model does not depend on how
    // the batch is split into vectors).
    void (*dense_backward)(const float* X, std::size_t ldx, std::size_t n, std::size_t in, std::size_t out,
                           const float* W, std::size_t ldw, const float* Y, float* dY, std::size_t ldy, float* dW,
                           float* db, float* dX, std::size_t lddx, int act, float slope);

    // Embedding gather: out[b*ldo + j] = table[idx[b]*ld + j] for j < width (SIMD levels: to nn_pad).
    void (*gather)(const float* table, std::size_t ld, const std::uint32_t* idx, std::size_t n, std::size_t width,
                   float* out, std::size_t ldo);
    // Gradient scatter: table[idx[b]*ld + j] += g[b*ldg + j], b in order (repeated indices add up);
    // SIMD levels to width rounded up to their vector width (the padding beyond adds zeros).
    void (*scatter_add)(float* table, std::size_t ld, const std::uint32_t* idx, std::size_t n, std::size_t width,
                        const float* g, std::size_t ldg);

    // The sparse input layer (ncf_input = rows: a user's row of the training matrix, or an item's
    // column, through a dense layer in place of an embedding lookup). The inputs are a CSR matrix
    // (ptr, idx, val: entries ptr[r] .. ptr[r + 1] - 1 of row r); W has a row per input column:
    //   out[b*ldo + c] = bias[c] + sum_t val[t] W[idx[t]*ldw + c]   for t in row rows[b], c < width,
    // skipping the entries with idx[t] == skip[b] (skip may be null: none skipped; training leaves the
    // pair's own rating out of its input). The sum runs over t in order after the bias (SIMD levels:
    // two interleaved partial sums over t, to width rounded up to their vector width, within
    // nn_pad(width): W's and bias's padding zero, so out's stays zero).
    void (*sparse_forward)(const float* W, std::size_t ldw, const std::uint64_t* ptr, const std::uint32_t* idx,
                           const float* val, const std::uint32_t* rows, std::size_t n, const std::uint32_t* skip,
                           std::size_t width, const float* bias, float* out, std::size_t ldo);
    // Its backward pass: the weight gradient of the rows' entries (a scatter: only the rows of W
    // that the inputs' non-zeros name) and the bias gradient, b in order, then t in order:
    //   dW[idx[t]*ldw + c] += val[t] d[b*ldd + c];   db[c] += d[b*ldd + c]   (skip as forward)
    void (*sparse_backward)(float* dW, std::size_t ldw, const std::uint64_t* ptr, const std::uint32_t* idx,
                            const float* val, const std::uint32_t* rows, std::size_t n, const std::uint32_t* skip,
                            std::size_t width, const float* d, std::size_t ldd, float* db);

    // Adam (Kingma & Ba) over n floats, L2 coupled into the gradient (PyTorch's weight_decay):
    //   g' = g + l2 w;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;
    //   w -= step * m / (sqrt(v) * inv_sqrt_bc2 + eps)
    // with step = lr / (1 - b1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t) (bias correction), g zeroed.
    void (*adam)(float* w, float* m, float* v, float* g, std::size_t n, float step, float inv_sqrt_bc2, float b1,
                 float b2, float eps, float l2);
    // Lazy Adam: the same update on the listed rows only (stride ld, `width` floats used, SIMD levels
    // to width rounded up to their vector width: the padding, all zero, stays zero without it); the
    // rows' gradients zeroed. Rows must be distinct.
    void (*adam_rows)(float* w, float* m, float* v, float* g, std::size_t ld, const std::uint32_t* rows,
                      std::size_t n_rows, std::size_t width, float step, float inv_sqrt_bc2, float b1, float b2,
                      float eps, float l2);
    // Lazy Adam that catches up (ncf_lazy_adam = 1): the steps a row skipped since its last update,
    // which dense Adam takes with a zero gradient, in closed form, applied before the row is read again
    // (no L2: with it the skipped gradients are not zero). Per listed row j and column c < width:
    //   w -= cw[j] * m / sqrt(v)   (where v > 0; v == 0 means m == 0: nothing to apply);
    //   m *= cm[j];  v *= cv[j].
    // The caller's coefficients for the skipped steps t0+1 .. t0+d: cm = b1^d, cv = b2^d and
    // cw = sum_{j=1..d} lr sqrt(1 - b2^(t0+j)) / (1 - b1^(t0+j)) (b1 / sqrt(b2))^j: dense Adam's d steps
    // exactly but for eps in their denominators (relative difference eps / sqrt(v-hat)). Rows distinct;
    // SIMD levels to width rounded up to their vector width (the padding, all zero, stays zero).
    void (*adam_catchup)(float* w, float* m, float* v, std::size_t ld, const std::uint32_t* rows, std::size_t n_rows,
                         std::size_t width, const float* cw, const float* cm, const float* cv);
    // Plain SGD: w -= lr * (g + l2 w), g zeroed.
    void (*sgd_update)(float* w, float* g, std::size_t n, float lr, float l2);

    // A 1-unit layer (the models' output unit) over n rows: out[b] = sum_j rows[b*ld + j] x[j], j < width
    // (SIMD levels: to width rounded up to their vector width, within nn_pad(width): the rows' and x's
    // padding zero). A vector's worth of rows at a
    // time, their sums reduced together (one transposing horizontal add per W rows, not one per row).
    void (*dot_rows)(const float* rows, std::size_t ld, std::size_t n, const float* x, std::size_t width, float* out);

    // The log loss of n scores s against labels y (y > 0: positive, else negative; y01 its 0/1 target):
    //   ds[j] = scale * (sigmoid(s_j) - y01_j)        (dLoss/ds_j for a loss scaled by `scale`)
    //   returns sum_j log(1 + exp(-|s_j|)) + max(s_j, 0) - y01_j s_j  (the terms in float, summed in double)
    // Stable for any finite s (no overflow; sigmoid exactly 0 or 1 beyond |s| ~ 88). SIMD levels sum a
    // vector's terms in float before adding them, so the sum agrees with scalar within float rounding.
    double (*logistic_grad)(const float* s, const float* y, std::size_t n, float scale, float* ds);
};

const NnTable& nn_active();
const NnTable* nn_table_for(Level level);

}  // namespace simdmf::kernels
