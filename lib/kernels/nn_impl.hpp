// The neural-network kernels (nn.hpp) as templates on the xsimd architecture, included by each
// level's translation unit after kernels_impl.hpp (same level namespace, SIMDMF_KERNEL_NS).
//
// Dense layers keep W as in x out, so every dense kernel vectorises over the output units (whole
// vectors up to nn_pad(out), the padding zero) and needs no horizontal sum; the 1-unit output
// (nn_dot_rows) reduces a vector's worth of rows at once. Forward, dW and dX are one
// small GEMM (mm_block: 8 or 4 rows x up to 2 vectors of accumulators, independent FMA chains), with
// dX taken against a transposed copy of W (out x nn_pad(in), a per-thread scratch built once per
// call). Their sums run over k in the same order as the scalar table's (only FMA contraction
// differs); nn_dot_rows sums a vector's width at a time, then across lanes.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <algorithm>
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

// The one small GEMM all three products are: C[r, c] = init[r, c] + sum_k A[r*ar + k*ak] B[k*ldb + c]
// for R rows and NV vectors of columns held in registers (R*NV accumulators, so the FMA chains of a
// block are independent), the k sum in order (as the scalar loops), then the activation on store.
// init: null (zero), or rows of stride init_ld (0: one row broadcast, a bias; C itself: accumulate).
//   forward  Y  = X W + bias      A = X (ar = ldx, ak = 1),   B = W
//   dW      dW += X^T dZ          A = X (ar = 1, ak = ldx),   B = dZ, rows of C = inputs
//   dX      dX  = dZ W^T          A = dZ (ar = ldy, ak = 1),  B = W^T (a per-thread transposed copy)
template <class A, std::size_t NV, std::size_t R>
[[gnu::always_inline]] inline void mm_block(float* C, std::size_t ldc, const float* Am, std::size_t ar, std::size_t ak,
                                            std::size_t K, const float* Bm, std::size_t ldb, const float* init,
                                            std::size_t init_ld, int act, float slope) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    B acc[R][NV];
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t v = 0; v < NV; ++v) acc[r][v] = init ? B::load_unaligned(init + r * init_ld + v * L) : B(0.0f);
    for (std::size_t k = 0; k < K; ++k) {
        B bv[NV];
        for (std::size_t v = 0; v < NV; ++v) bv[v] = B::load_unaligned(Bm + k * ldb + v * L);
        for (std::size_t r = 0; r < R; ++r) {
            const B a(Am[r * ar + k * ak]);
            for (std::size_t v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(a, bv[v], acc[r][v]);
        }
    }
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t v = 0; v < NV; ++v) nn_act<A>(acc[r][v], act, slope).store_unaligned(C + r * ldc + v * L);
}

// A block is kRows rows x up to 2 vectors: R * NV accumulators + NV row vectors + a broadcast within
// the register file (16 registers below AVX-512: 4 x 2; 32 with it: 8 x 2, so each loaded row vector
// feeds 8 FMAs and the loads stay below the FMA rate). Measured on MovieLens' MLP epoch (AVX-512):
// 4 x 4 took about twice the time of 8 x 2 (0.058 s against 0.027 s, under load).
template <class A>
constexpr std::size_t kMaxNV = 2;
template <class A>
constexpr std::size_t kRows = fbatch<A>::size == 16 ? 8 : 4;

template <class A, std::size_t R>
inline void mm_rows(float* C, std::size_t ldc, std::size_t cols, const float* Am, std::size_t ar, std::size_t ak,
                    std::size_t K, const float* Bm, std::size_t ldb, const float* init, std::size_t init_ld, int act,
                    float slope) {
    constexpr std::size_t L = fbatch<A>::size, M = kMaxNV<A>;
    for (std::size_t c0 = 0; c0 < cols; c0 += M * L) {
        const float* in = init ? init + c0 : nullptr;
        switch (std::min(M, (cols - c0) / L)) {
            case 1: mm_block<A, 1, R>(C + c0, ldc, Am, ar, ak, K, Bm + c0, ldb, in, init_ld, act, slope); break;
            case 2: mm_block<A, 2, R>(C + c0, ldc, Am, ar, ak, K, Bm + c0, ldb, in, init_ld, act, slope); break;
            case 3:
                if constexpr (M >= 3) mm_block<A, 3, R>(C + c0, ldc, Am, ar, ak, K, Bm + c0, ldb, in, init_ld, act, slope);
                break;
            default:
                if constexpr (M >= 4) mm_block<A, 4, R>(C + c0, ldc, Am, ar, ak, K, Bm + c0, ldb, in, init_ld, act, slope);
                break;
        }
    }
}

// C (rows x cols, cols a multiple of the vector width) by blocks of kRows rows, then single rows.
template <class A>
inline void mm(float* C, std::size_t ldc, std::size_t rows, std::size_t cols, const float* Am, std::size_t ar,
               std::size_t ak, std::size_t K, const float* Bm, std::size_t ldb, const float* init, std::size_t init_ld,
               int act, float slope) {
    constexpr std::size_t R = kRows<A>;
    std::size_t r = 0;
    for (; r + R <= rows; r += R)
        mm_rows<A, R>(C + r * ldc, ldc, cols, Am + r * ar, ar, ak, K, Bm, ldb, init ? init + r * init_ld : nullptr,
                      init_ld, act, slope);
    for (; r < rows; ++r)
        mm_rows<A, 1>(C + r * ldc, ldc, cols, Am + r * ar, ar, ak, K, Bm, ldb, init ? init + r * init_ld : nullptr,
                      init_ld, act, slope);
}

template <class A>
void dense_forward(const float* X, std::size_t ldx, std::size_t n, std::size_t in, std::size_t out,
                   const float* W, std::size_t ldw, const float* bias, float* Y, std::size_t ldy, int act,
                   float slope) {
    mm<A>(Y, ldy, n, nn_pad(out), X, ldx, 1, in, W, ldw, bias, 0, act, slope);
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
    // dW += X^T dZ: rows of dW are the inputs, the sum over the batch in order.
    mm<A>(dW, ldw, in, op, X, 1, ldx, n, dY, ldy, dW, ldw, 0, 0.0f);
    if (!dX) return;
    // dX = dZ W^T from WT (out x ip).
    thread_local std::vector<float> wt;
    if (wt.size() < out * ip) wt.resize(out * ip);
    for (std::size_t o = 0; o < out; ++o) {
        float* r = wt.data() + o * ip;
        for (std::size_t i = 0; i < in; ++i) r[i] = W[i * ldw + o];
        for (std::size_t i = in; i < ip; ++i) r[i] = 0.0f;
    }
    mm<A>(dX, lddx, n, ip, dY, ldy, 1, out, wt.data(), ip, nullptr, 0, 0, 0.0f);
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
    const std::size_t wp = (width + B::size - 1) / B::size * B::size;  // adding the zero padding changes nothing
    for (std::size_t b = 0; b < n; ++b) {
        float* d = table + std::size_t(idx[b]) * ld;
        const float* s = g + b * ldg;
        for (std::size_t j = 0; j < wp; j += B::size)
            (B::load_unaligned(d + j) + B::load_unaligned(s + j)).store_unaligned(d + j);
    }
}

// The sparse input layer: per row, NV vectors of columns held in two sets of accumulators (entries
// alternate between them, so two FMA chains run at once; the set of the bias first), the entries
// skip[b] names passed over. Wider layers go through the entries once per block of kSparseNV vectors.
template <class A>
constexpr std::size_t kSparseNV = fbatch<A>::size == 16 ? 2 : 4;

template <class A, std::size_t NV>
[[gnu::always_inline]] inline void sparse_row_fwd(const float* W, std::size_t ldw, std::uint64_t t, std::uint64_t end,
                                                  const std::uint32_t* idx, const float* val, std::uint32_t sk,
                                                  const float* bias, float* o) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    B a0[NV], a1[NV];
    for (std::size_t v = 0; v < NV; ++v) a0[v] = B::load_unaligned(bias + v * L), a1[v] = B(0.0f);
    for (;;) {
        while (t < end && idx[t] == sk) ++t;
        if (t >= end) break;
        {
            const float* w = W + std::size_t(idx[t]) * ldw;
            const B x(val[t]);
            for (std::size_t v = 0; v < NV; ++v) a0[v] = xsimd::fma(x, B::load_unaligned(w + v * L), a0[v]);
        }
        ++t;
        while (t < end && idx[t] == sk) ++t;
        if (t >= end) break;
        {
            const float* w = W + std::size_t(idx[t]) * ldw;
            const B x(val[t]);
            for (std::size_t v = 0; v < NV; ++v) a1[v] = xsimd::fma(x, B::load_unaligned(w + v * L), a1[v]);
        }
        ++t;
    }
    for (std::size_t v = 0; v < NV; ++v) (a0[v] + a1[v]).store_unaligned(o + v * L);
}

template <class A, std::size_t NV>
[[gnu::always_inline]] inline void sparse_row_bwd(float* dW, std::size_t ldw, std::uint64_t t, std::uint64_t end,
                                                  const std::uint32_t* idx, const float* val, std::uint32_t sk,
                                                  const float* g, float* db) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    B gv[NV];
    for (std::size_t v = 0; v < NV; ++v) {
        gv[v] = B::load_unaligned(g + v * L);
        (B::load_unaligned(db + v * L) + gv[v]).store_unaligned(db + v * L);
    }
    for (; t < end; ++t) {
        if (idx[t] == sk) continue;
        float* w = dW + std::size_t(idx[t]) * ldw;
        const B x(val[t]);
        for (std::size_t v = 0; v < NV; ++v) xsimd::fma(x, gv[v], B::load_unaligned(w + v * L)).store_unaligned(w + v * L);
    }
}

template <class A>
void sparse_forward(const float* W, std::size_t ldw, const std::uint64_t* ptr, const std::uint32_t* idx,
                    const float* val, const std::uint32_t* rows, std::size_t n, const std::uint32_t* skip,
                    std::size_t width, const float* bias, float* out, std::size_t ldo) {
    constexpr std::size_t L = fbatch<A>::size, M = kSparseNV<A>;
    const std::size_t nv = (width + L - 1) / L;
    for (std::size_t b = 0; b < n; ++b) {
        const std::uint64_t t0 = ptr[rows[b]], t1 = ptr[rows[b] + 1];
        const std::uint32_t sk = skip ? skip[b] : UINT32_MAX;
        float* o = out + b * ldo;
        for (std::size_t v0 = 0; v0 < nv; v0 += M) {
            const std::size_t c = v0 * L;
            switch (std::min(M, nv - v0)) {
                case 1: sparse_row_fwd<A, 1>(W + c, ldw, t0, t1, idx, val, sk, bias + c, o + c); break;
                case 2: sparse_row_fwd<A, 2>(W + c, ldw, t0, t1, idx, val, sk, bias + c, o + c); break;
                case 3:
                    if constexpr (M >= 3) sparse_row_fwd<A, 3>(W + c, ldw, t0, t1, idx, val, sk, bias + c, o + c);
                    break;
                default:
                    if constexpr (M >= 4) sparse_row_fwd<A, 4>(W + c, ldw, t0, t1, idx, val, sk, bias + c, o + c);
                    break;
            }
        }
    }
}

template <class A>
void sparse_backward(float* dW, std::size_t ldw, const std::uint64_t* ptr, const std::uint32_t* idx,
                     const float* val, const std::uint32_t* rows, std::size_t n, const std::uint32_t* skip,
                     std::size_t width, const float* d, std::size_t ldd, float* db) {
    constexpr std::size_t L = fbatch<A>::size, M = kSparseNV<A>;
    const std::size_t nv = (width + L - 1) / L;
    for (std::size_t b = 0; b < n; ++b) {
        const std::uint64_t t0 = ptr[rows[b]], t1 = ptr[rows[b] + 1];
        const std::uint32_t sk = skip ? skip[b] : UINT32_MAX;
        const float* g = d + b * ldd;
        for (std::size_t v0 = 0; v0 < nv; v0 += M) {
            const std::size_t c = v0 * L;
            switch (std::min(M, nv - v0)) {
                case 1: sparse_row_bwd<A, 1>(dW + c, ldw, t0, t1, idx, val, sk, g + c, db + c); break;
                case 2: sparse_row_bwd<A, 2>(dW + c, ldw, t0, t1, idx, val, sk, g + c, db + c); break;
                case 3:
                    if constexpr (M >= 3) sparse_row_bwd<A, 3>(dW + c, ldw, t0, t1, idx, val, sk, g + c, db + c);
                    break;
                default:
                    if constexpr (M >= 4) sparse_row_bwd<A, 4>(dW + c, ldw, t0, t1, idx, val, sk, g + c, db + c);
                    break;
            }
        }
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
    // Whole vectors up to width: the padding's w, m, v and g are zero, and Adam keeps zeros zero, so
    // it is left alone (GMF's k = 8 is one vector at AVX2, not nn_pad's two).
    constexpr std::size_t L = fbatch<A>::size;
    const std::size_t wp = (width + L - 1) / L * L;
    for (std::size_t r = 0; r < n_rows; ++r) {
        const std::size_t o = std::size_t(rows[r]) * ld;
        adam_span<A>(w + o, m + o, v + o, g + o, wp, step, isb2, b1, b2, eps, l2);
    }
}

template <class A>
void adam_catchup(float* w, float* m, float* v, std::size_t ld, const std::uint32_t* rows, std::size_t n_rows,
                  std::size_t width, const float* cw, const float* cm, const float* cv) {
    using B = fbatch<A>;
    constexpr std::size_t L = B::size;
    const std::size_t wp = (width + L - 1) / L * L;
    const B zero(0.0f);
    for (std::size_t r = 0; r < n_rows; ++r) {
        const std::size_t o = std::size_t(rows[r]) * ld;
        float *wr = w + o, *mr = m + o, *vr = v + o;
        const B vcw(cw[r]), vcm(cm[r]), vcv(cv[r]);
        for (std::size_t j = 0; j < wp; j += L) {
            const B mj = B::load_unaligned(mr + j), vj = B::load_unaligned(vr + j);
            (B::load_unaligned(wr + j) - xsimd::select(vj > zero, vcw * mj / xsimd::sqrt(vj), zero)).store_unaligned(wr + j);
            (mj * vcm).store_unaligned(mr + j);
            (vj * vcv).store_unaligned(vr + j);
        }
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

// The W lane sums of W vectors as one vector (lane t: the sum of s[t]), a transposing tree of
// shuffles and adds. AVX-512: our own (xsimd 8's avx512f haddp returns the lanes permuted); the other
// x86 levels: xsimd::haddp; elsewhere one hsum a vector.
template <class A>
inline fbatch<A> lane_sums(const fbatch<A>* s) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
#if defined(__AVX512F__)
    if constexpr (W == 16) {
        __m512 u[8], w[4], x[2];
        for (int t = 0; t < 8; ++t)  // 256-bit halves: lanes 0-7 of s[t], 8-15 of s[t + 8]
            u[t] = _mm512_add_ps(_mm512_shuffle_f32x4(s[t], s[t + 8], 0x44), _mm512_shuffle_f32x4(s[t], s[t + 8], 0xEE));
        for (int t = 0; t < 4; ++t)  // 128-bit blocks: rows t, t + 8, t + 4, t + 12
            w[t] = _mm512_add_ps(_mm512_shuffle_f32x4(u[t], u[t + 4], 0x88), _mm512_shuffle_f32x4(u[t], u[t + 4], 0xDD));
        for (int t = 0; t < 2; ++t)  // pairs within each block
            x[t] = _mm512_add_ps(_mm512_shuffle_ps(w[t], w[t + 2], 0x44), _mm512_shuffle_ps(w[t], w[t + 2], 0xEE));
        const __m512 y = _mm512_add_ps(_mm512_shuffle_ps(x[0], x[1], 0x88), _mm512_shuffle_ps(x[0], x[1], 0xDD));
        // y holds rows 0,2,1,3, 8,10,9,11, 4,6,5,7, 12,14,13,15 (an involution): put them in order.
        const __m512i perm = _mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15);
        return _mm512_permutexvar_ps(perm, y);
    }
#endif
#if defined(__SSE2__)
    if constexpr (W == 4 || W == 8) return xsimd::haddp(s);
#endif
    alignas(64) float out[W];
    for (std::size_t t = 0; t < W; ++t) out[t] = hsum<A>(s[t]);
    return B::load_aligned(out);
}

// nn_dot_rows: W rows at a time, one accumulator per row over the padded width, then lane_sums gives
// their W sums as one vector; leftover rows one hsum each.
template <class A>
void nn_dot_rows(const float* rows, std::size_t ld, std::size_t n, const float* x, std::size_t width, float* out) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const std::size_t wp = (width + W - 1) / W * W;  // whole vectors; the padding past width is zero
    std::size_t b = 0;
    if (wp == W) {  // one vector a row (GMF k = 8: AVX2 and AVX-512): x stays in a register
        const B xv = B::load_unaligned(x);
        for (; b + W <= n; b += W) {
            B s[W];
            for (std::size_t t = 0; t < W; ++t) s[t] = B::load_unaligned(rows + (b + t) * ld) * xv;
            lane_sums<A>(s).store_unaligned(out + b);
        }
    } else {
        for (; b + W <= n; b += W) {
            B s[W];
            for (std::size_t t = 0; t < W; ++t) s[t] = B(0.0f);
            for (std::size_t j = 0; j < wp; j += W) {
                const B xv = B::load_unaligned(x + j);
                for (std::size_t t = 0; t < W; ++t) s[t] = xsimd::fma(B::load_unaligned(rows + (b + t) * ld + j), xv, s[t]);
            }
            lane_sums<A>(s).store_unaligned(out + b);
        }
    }
    for (; b < n; ++b) {
        B s(0.0f);
        for (std::size_t j = 0; j < wp; j += W) s = xsimd::fma(B::load_unaligned(rows + b * ld + j), B::load_unaligned(x + j), s);
        out[b] = hsum<A>(s);
    }
}

// Log loss and its gradient a vector of scores at a time (sigmoid_batch's exp, xsimd::log1p), each
// vector's terms summed in float (hsum) and then into the double total; leftover scores one at a
// time, as the scalar table.
template <class A>
double logistic_grad(const float* s, const float* y, std::size_t n, float scale, float* ds) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const B zero(0.0f), one(1.0f), vscale(scale);
    double sum = 0;
    std::size_t j = 0;
    for (; j + W <= n; j += W) {
        const B z = B::load_unaligned(s + j);
        const B y01 = xsimd::select(B::load_unaligned(y + j) > zero, one, zero);
        const B t = xsimd::exp(-xsimd::abs(z));
        const B q = one / (one + t);
        const B p = xsimd::select(z >= zero, q, t * q);
        sum += double(hsum<A>(xsimd::log1p(t) + xsimd::max(z, zero) - y01 * z));
        (vscale * (p - y01)).store_unaligned(ds + j);
    }
    for (; j < n; ++j) {
        const float z = s[j], y01 = y[j] > 0.0f ? 1.0f : 0.0f;
        const float t = std::exp(-std::fabs(z)), p = z >= 0.0f ? 1.0f / (1.0f + t) : t / (1.0f + t);
        sum += double(std::log1p(t) + std::max(z, 0.0f) - y01 * z);
        ds[j] = scale * (p - y01);
    }
    return sum;
}

template <class A>
constexpr NnTable make_nn_table(Level level) {
    NnTable t{};
    t.level = level;
    t.dense_forward = &dense_forward<A>;
    t.gather = &gather<A>;
    t.sparse_forward = &sparse_forward<A>;
    t.dot_rows = &nn_dot_rows<A>;
#ifndef SIMDMF_SERVING_ONLY
    // The training kernels (backward passes, optimizers, the loss gradient). A serving-only build
    // (-Dtraining=false) leaves them null, as it does the MF table's fused steps: nothing there trains.
    t.dense_backward = &dense_backward<A>;
    t.scatter_add = &scatter_add<A>;
    t.sparse_backward = &sparse_backward<A>;
    t.adam = &adam<A>;
    t.adam_rows = &adam_rows<A>;
    t.adam_catchup = &adam_catchup<A>;
    t.sgd_update = &sgd_update<A>;
    t.logistic_grad = &logistic_grad<A>;
#endif
    return t;
}

}  // namespace simdmf::kernels::SIMDMF_KERNEL_NS
