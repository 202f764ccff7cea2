// The neural-network kernels (nn.hpp) as templates on the xsimd architecture, included by each
// level's translation unit after kernels_impl.hpp (same level namespace, SIMDMF_KERNEL_NS).
//
// Dense layers keep W as in x out, so every kernel vectorises over the output units (whole vectors up
// to nn_pad(out), the padding zero) and no kernel needs a horizontal sum: forward broadcasts X[b, i]
// against row i of W; backward accumulates dW row by row over the batch in order, and computes dX from
// a transposed copy of W (out x nn_pad(in), a per-thread scratch built once per call) by broadcasting
// dZ[b, o]. Sums run in the same order as the scalar table's; only FMA contraction differs.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/nn.hpp"

namespace simdmf::kernels::SIMDMF_KERNEL_NS {

template <class A>
inline fbatch<A> nn_act(fbatch<A> z, int act, float slope) {
    using B = fbatch<A>;
    if (act == static_cast<int>(Act::relu)) return xsimd::max(z, B(0.0f));
    if (act == static_cast<int>(Act::leaky_relu)) return xsimd::select(z > B(0.0f), z, z * B(slope));
    return z;
}

// Forward over one batch row: NV vectors of outputs held in registers per pass over the inputs.
template <class A, std::size_t NV>
[[gnu::always_inline]] inline void forward_block(const float* x, std::size_t in, const float* W, std::size_t ldw,
                                                 const float* bias, float* y, int act, float slope) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    B acc[NV];
    for (std::size_t v = 0; v < NV; ++v) acc[v] = B::load_unaligned(bias + v * L);
    for (std::size_t i = 0; i < in; ++i) {
        const B xi(x[i]);
        const float* w = W + i * ldw;
        for (std::size_t v = 0; v < NV; ++v) acc[v] = xsimd::fma(xi, B::load_unaligned(w + v * L), acc[v]);
    }
    for (std::size_t v = 0; v < NV; ++v) nn_act<A>(acc[v], act, slope).store_unaligned(y + v * L);
}

// dW rows += X[b, i] dZ[b, :] over the batch in order, NV vectors of one row of dW in registers.
template <class A, std::size_t NV>
[[gnu::always_inline]] inline void dw_block(const float* X, std::size_t ldx, std::size_t n, std::size_t i,
                                            const float* dZ, std::size_t ldz, float* w) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    B acc[NV];
    for (std::size_t v = 0; v < NV; ++v) acc[v] = B::load_unaligned(w + v * L);
    for (std::size_t b = 0; b < n; ++b) {
        const B xb(X[b * ldx + i]);
        const float* d = dZ + b * ldz;
        for (std::size_t v = 0; v < NV; ++v) acc[v] = xsimd::fma(xb, B::load_unaligned(d + v * L), acc[v]);
    }
    for (std::size_t v = 0; v < NV; ++v) acc[v].store_unaligned(w + v * L);
}

// Calls F<A, nv>(args...) for blocks of at most 8 vectors covering [0, op).
template <class A, template <class, std::size_t> class F, class... Args>
inline void over_blocks(std::size_t op, Args... args) {
    constexpr std::size_t L = fbatch<A>::size;
    for (std::size_t o0 = 0; o0 < op; o0 += 8 * L) {
        switch (std::min<std::size_t>(8, (op - o0) / L)) {
            case 1: F<A, 1>::run(o0, args...); break;
            case 2: F<A, 2>::run(o0, args...); break;
            case 3: F<A, 3>::run(o0, args...); break;
            case 4: F<A, 4>::run(o0, args...); break;
            case 5: F<A, 5>::run(o0, args...); break;
            case 6: F<A, 6>::run(o0, args...); break;
            case 7: F<A, 7>::run(o0, args...); break;
            default: F<A, 8>::run(o0, args...); break;
        }
    }
}

template <class A, std::size_t NV>
struct ForwardBlock {
    static void run(std::size_t o0, const float* x, std::size_t in, const float* W, std::size_t ldw,
                    const float* bias, float* y, int act, float slope) {
        forward_block<A, NV>(x, in, W + o0, ldw, bias + o0, y + o0, act, slope);
    }
};
template <class A, std::size_t NV>
struct DwBlock {
    static void run(std::size_t o0, const float* X, std::size_t ldx, std::size_t n, std::size_t i, const float* dZ,
                    std::size_t ldz, float* w) {
        dw_block<A, NV>(X, ldx, n, i, dZ + o0, ldz, w + o0);
    }
};

// dX[b, i0 ..] = sum_o dZ[b, o] WT[o, i0 ..], NV vectors of the row in registers.
template <class A, std::size_t NV>
struct DxBlock {
    static void run(std::size_t i0, const float* d, std::size_t out, const float* wt, std::size_t ip, float* x) {
        using B = fbatch<A>;
        constexpr std::size_t L = B::size;
        B acc[NV];
        for (std::size_t v = 0; v < NV; ++v) acc[v] = B(0.0f);
        for (std::size_t o = 0; o < out; ++o) {
            const B dz(d[o]);
            const float* w = wt + o * ip + i0;
            for (std::size_t v = 0; v < NV; ++v) acc[v] = xsimd::fma(dz, B::load_unaligned(w + v * L), acc[v]);
        }
        for (std::size_t v = 0; v < NV; ++v) acc[v].store_unaligned(x + i0 + v * L);
    }
};

template <class A>
void dense_forward(const float* X, std::size_t ldx, std::size_t n, std::size_t in, std::size_t out,
                   const float* W, std::size_t ldw, const float* bias, float* Y, std::size_t ldy, int act,
                   float slope) {
    const std::size_t op = nn_pad(out);
    for (std::size_t b = 0; b < n; ++b)
        over_blocks<A, ForwardBlock>(op, X + b * ldx, in, W, ldw, bias, Y + b * ldy, act, slope);
}

template <class A>
void dense_backward(const float* X, std::size_t ldx, std::size_t n, std::size_t in, std::size_t out,
                    const float* W, std::size_t ldw, const float* Y, float* dY, std::size_t ldy, float* dW,
                    float* db, float* dX, std::size_t lddx, int act, float slope) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    const std::size_t op = nn_pad(out), ip = nn_pad(in);
    // dZ = dY * act'(Z), and db.
    for (std::size_t b = 0; b < n; ++b) {
        float* d = dY + b * ldy;
        const float* y = Y + b * ldy;
        for (std::size_t o = 0; o < op; o += L) {
            B g = B::load_unaligned(d + o);
            if (act != static_cast<int>(Act::identity)) {
                const auto pos = B::load_unaligned(y + o) > B(0.0f);
                g = xsimd::select(pos, g, act == static_cast<int>(Act::relu) ? B(0.0f) : g * B(slope));
                g.store_unaligned(d + o);
            }
            (B::load_unaligned(db + o) + g).store_unaligned(db + o);
        }
    }
    // dW, row i over the batch in order.
    for (std::size_t i = 0; i < in; ++i) over_blocks<A, DwBlock>(op, X, ldx, n, i, static_cast<const float*>(dY), ldy, dW + i * ldw);
    if (!dX) return;
    // dX = dZ W^T from WT (out x ip).
    thread_local std::vector<float> wt;
    if (wt.size() < out * ip) wt.resize(out * ip);
    for (std::size_t o = 0; o < out; ++o) {
        float* r = wt.data() + o * ip;
        for (std::size_t i = 0; i < in; ++i) r[i] = W[i * ldw + o];
        for (std::size_t i = in; i < ip; ++i) r[i] = 0.0f;
    }
    for (std::size_t b = 0; b < n; ++b)
        over_blocks<A, DxBlock>(ip, static_cast<const float*>(dY + b * ldy), out, static_cast<const float*>(wt.data()), ip,
                                dX + b * lddx);
}

template <class A>
void gather(const float* table, std::size_t ld, const std::uint32_t* idx, std::size_t n, std::size_t width,
            float* out, std::size_t ldo) {
    using B = fbatch<A>;
    const std::size_t wp = nn_pad(width);
    for (std::size_t b = 0; b < n; ++b) {
        const float* s = table + std::size_t(idx[b]) * ld;
        float* d = out + b * ldo;
        for (std::size_t j = 0; j < wp; j += B::size) B::load_unaligned(s + j).store_unaligned(d + j);
    }
}

template <class A>
void scatter_add(float* table, std::size_t ld, const std::uint32_t* idx, std::size_t n, std::size_t width,
                 const float* g, std::size_t ldg) {
    using B = fbatch<A>;
    const std::size_t wp = nn_pad(width);
    for (std::size_t b = 0; b < n; ++b) {
        float* d = table + std::size_t(idx[b]) * ld;
        const float* s = g + b * ldg;
        for (std::size_t j = 0; j < wp; j += B::size)
            (B::load_unaligned(d + j) + B::load_unaligned(s + j)).store_unaligned(d + j);
    }
}

// One Adam step on whole vectors [0, nv*L) and a scalar tail to n.
template <class A>
inline void adam_span(float* w, float* m, float* v, float* g, std::size_t n, float step, float isb2, float b1,
                      float b2, float eps, float l2) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    const B vb1(b1), vc1(1.0f - b1), vb2(b2), vc2(1.0f - b2), vstep(step), visb2(isb2), veps(eps), vl2(l2);
    std::size_t j = 0;
    for (; j + L <= n; j += L) {
        const B wj = B::load_unaligned(w + j);
        const B gj = xsimd::fma(vl2, wj, B::load_unaligned(g + j));
        const B mj = xsimd::fma(vb1, B::load_unaligned(m + j), vc1 * gj);
        const B vj = xsimd::fma(vb2, B::load_unaligned(v + j), vc2 * (gj * gj));
        mj.store_unaligned(m + j);
        vj.store_unaligned(v + j);
        (wj - vstep * mj / xsimd::fma(xsimd::sqrt(vj), visb2, veps)).store_unaligned(w + j);
        B(0.0f).store_unaligned(g + j);
    }
    for (; j < n; ++j) {
        const float gj = fmadd(l2, w[j], g[j]);
        m[j] = fmadd(b1, m[j], (1.0f - b1) * gj);
        v[j] = fmadd(b2, v[j], (1.0f - b2) * (gj * gj));
        w[j] -= step * m[j] / fmadd(std::sqrt(v[j]), isb2, eps);
        g[j] = 0.0f;
    }
}

template <class A>
void adam(float* w, float* m, float* v, float* g, std::size_t n, float step, float isb2, float b1, float b2, float eps,
          float l2) {
    adam_span<A>(w, m, v, g, n, step, isb2, b1, b2, eps, l2);
}

template <class A>
void adam_rows(float* w, float* m, float* v, float* g, std::size_t ld, const std::uint32_t* rows, std::size_t n_rows,
               std::size_t width, float step, float isb2, float b1, float b2, float eps, float l2) {
    const std::size_t wp = nn_pad(width);
    for (std::size_t r = 0; r < n_rows; ++r) {
        const std::size_t o = std::size_t(rows[r]) * ld;
        adam_span<A>(w + o, m + o, v + o, g + o, wp, step, isb2, b1, b2, eps, l2);
    }
}

template <class A>
void sgd_update(float* w, float* g, std::size_t n, float lr, float l2) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    const B vlr(lr), vl2(l2);
    std::size_t j = 0;
    for (; j + L <= n; j += L) {
        const B wj = B::load_unaligned(w + j);
        (wj - vlr * xsimd::fma(vl2, wj, B::load_unaligned(g + j))).store_unaligned(w + j);
        B(0.0f).store_unaligned(g + j);
    }
    for (; j < n; ++j) {
        w[j] -= lr * fmadd(l2, w[j], g[j]);
        g[j] = 0.0f;
    }
}

template <class A>
constexpr NnTable make_nn_table(Level level) {
    return NnTable{level,           &dense_forward<A>, &dense_backward<A>, &gather<A>,    &scatter_add<A>,
                   &adam<A>,        &adam_rows<A>,     &sgd_update<A>};
}

}  // namespace simdmf::kernels::SIMDMF_KERNEL_NS
