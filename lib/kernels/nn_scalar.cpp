// Scalar neural-network kernels (nn.hpp): the textbook loops every SIMD level is tested against.
// They touch only the used columns of each layer (never the padding).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/nn_tables.hpp"

namespace simdmf::kernels {
namespace {

float act_of(float z, int act, float slope) {
    if (act == static_cast<int>(Act::relu)) return z > 0.0f ? z : 0.0f;
    if (act == static_cast<int>(Act::leaky_relu)) return z > 0.0f ? z : slope * z;
    return z;
}

void dense_forward(const float* X, std::size_t ldx, std::size_t n, std::size_t in, std::size_t out, const float* W,
                   std::size_t ldw, const float* bias, float* Y, std::size_t ldy, int act, float slope) {
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t o = 0; o < out; ++o) {
            float z = bias[o];
            for (std::size_t i = 0; i < in; ++i) z += X[b * ldx + i] * W[i * ldw + o];
            Y[b * ldy + o] = act_of(z, act, slope);
        }
}

void dense_backward(const float* X, std::size_t ldx, std::size_t n, std::size_t in, std::size_t out, const float* W,
                    std::size_t ldw, const float* Y, float* dY, std::size_t ldy, float* dW, float* db, float* dX,
                    std::size_t lddx, int act, float slope) {
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t o = 0; o < out; ++o) {
            float& g = dY[b * ldy + o];
            const bool pos = Y[b * ldy + o] > 0.0f;
            if (act == static_cast<int>(Act::relu) && !pos) g = 0.0f;
            if (act == static_cast<int>(Act::leaky_relu) && !pos) g *= slope;
            db[o] += g;
        }
    for (std::size_t i = 0; i < in; ++i)
        for (std::size_t o = 0; o < out; ++o) {
            float s = dW[i * ldw + o];
            for (std::size_t b = 0; b < n; ++b) s += X[b * ldx + i] * dY[b * ldy + o];
            dW[i * ldw + o] = s;
        }
    if (!dX) return;
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t i = 0; i < in; ++i) {
            float s = 0.0f;
            for (std::size_t o = 0; o < out; ++o) s += dY[b * ldy + o] * W[i * ldw + o];
            dX[b * lddx + i] = s;
        }
}

void gather(const float* table, std::size_t ld, const std::uint32_t* idx, std::size_t n, std::size_t width,
            float* out, std::size_t ldo) {
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t j = 0; j < width; ++j) out[b * ldo + j] = table[std::size_t(idx[b]) * ld + j];
}

void scatter_add(float* table, std::size_t ld, const std::uint32_t* idx, std::size_t n, std::size_t width,
                 const float* g, std::size_t ldg) {
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t j = 0; j < width; ++j) table[std::size_t(idx[b]) * ld + j] += g[b * ldg + j];
}

void sparse_forward(const float* W, std::size_t ldw, const std::uint64_t* ptr, const std::uint32_t* idx,
                    const float* val, const std::uint32_t* rows, std::size_t n, const std::uint32_t* skip,
                    std::size_t width, const float* bias, float* out, std::size_t ldo) {
    for (std::size_t b = 0; b < n; ++b) {
        float* o = out + b * ldo;
        for (std::size_t c = 0; c < width; ++c) o[c] = bias[c];
        const std::uint32_t sk = skip ? skip[b] : UINT32_MAX;
        for (std::uint64_t t = ptr[rows[b]]; t < ptr[rows[b] + 1]; ++t) {
            if (idx[t] == sk) continue;
            const float* w = W + std::size_t(idx[t]) * ldw;
            for (std::size_t c = 0; c < width; ++c) o[c] += val[t] * w[c];
        }
    }
}

void sparse_backward(float* dW, std::size_t ldw, const std::uint64_t* ptr, const std::uint32_t* idx,
                     const float* val, const std::uint32_t* rows, std::size_t n, const std::uint32_t* skip,
                     std::size_t width, const float* d, std::size_t ldd, float* db) {
    for (std::size_t b = 0; b < n; ++b) {
        const float* g = d + b * ldd;
        for (std::size_t c = 0; c < width; ++c) db[c] += g[c];
        const std::uint32_t sk = skip ? skip[b] : UINT32_MAX;
        for (std::uint64_t t = ptr[rows[b]]; t < ptr[rows[b] + 1]; ++t) {
            if (idx[t] == sk) continue;
            float* w = dW + std::size_t(idx[t]) * ldw;
            for (std::size_t c = 0; c < width; ++c) w[c] += val[t] * g[c];
        }
    }
}

void adam(float* w, float* m, float* v, float* g, std::size_t n, float step, float isb2, float b1, float b2, float eps,
          float l2) {
    for (std::size_t j = 0; j < n; ++j) {
        const float gj = g[j] + l2 * w[j];
        m[j] = b1 * m[j] + (1.0f - b1) * gj;
        v[j] = b2 * v[j] + (1.0f - b2) * (gj * gj);
        w[j] -= step * m[j] / (std::sqrt(v[j]) * isb2 + eps);
        g[j] = 0.0f;
    }
}

void adam_rows(float* w, float* m, float* v, float* g, std::size_t ld, const std::uint32_t* rows, std::size_t n_rows,
               std::size_t width, float step, float isb2, float b1, float b2, float eps, float l2) {
    for (std::size_t r = 0; r < n_rows; ++r) {
        const std::size_t o = std::size_t(rows[r]) * ld;
        adam(w + o, m + o, v + o, g + o, width, step, isb2, b1, b2, eps, l2);
    }
}

void adam_catchup(float* w, float* m, float* v, std::size_t ld, const std::uint32_t* rows, std::size_t n_rows,
                  std::size_t width, const float* cw, const float* cm, const float* cv) {
    for (std::size_t r = 0; r < n_rows; ++r) {
        const std::size_t o = std::size_t(rows[r]) * ld;
        for (std::size_t j = o; j < o + width; ++j) {
            if (v[j] > 0.0f) w[j] -= cw[r] * m[j] / std::sqrt(v[j]);
            m[j] *= cm[r];
            v[j] *= cv[r];
        }
    }
}

void sgd_update(float* w, float* g, std::size_t n, float lr, float l2) {
    for (std::size_t j = 0; j < n; ++j) {
        w[j] -= lr * (g[j] + l2 * w[j]);
        g[j] = 0.0f;
    }
}

void dot_rows(const float* rows, std::size_t ld, std::size_t n, const float* x, std::size_t width, float* out) {
    for (std::size_t b = 0; b < n; ++b) {
        float s = 0.0f;
        for (std::size_t j = 0; j < width; ++j) s += rows[b * ld + j] * x[j];
        out[b] = s;
    }
}

double logistic_grad(const float* s, const float* y, std::size_t n, float scale, float* ds) {
    double sum = 0;
    for (std::size_t j = 0; j < n; ++j) {
        const float z = s[j], y01 = y[j] > 0.0f ? 1.0f : 0.0f;
        const float t = std::exp(-std::fabs(z)), p = z >= 0.0f ? 1.0f / (1.0f + t) : t / (1.0f + t);
        sum += double(std::log1p(t) + std::max(z, 0.0f) - y01 * z);
        ds[j] = scale * (p - y01);
    }
    return sum;
}

}  // namespace

const NnTable& nn_table_scalar() {
    static constexpr NnTable table{Level::scalar, &dense_forward, &dense_backward, &gather,     &scatter_add,
                                   &sparse_forward, &sparse_backward, &adam,         &adam_rows,     &adam_catchup, &sgd_update,     &dot_rows, &logistic_grad};
    return table;
}

}  // namespace simdmf::kernels
