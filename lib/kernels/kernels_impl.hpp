// The SIMD kernels, written once as templates on the xsimd architecture.
//
// Included only by the per-level translation units (kernels_sse2.cpp, ...), each of which defines
// SIMDMF_KERNEL_NS to a level-specific name first. Everything here lives in that namespace, so a
// non-template helper compiled with AVX-512 flags can never be merged by the linker with the copy of
// another level (ODR): the symbols differ. Only xsimd templates on the level's own Arch are used, and
// raw intrinsics (always inlined) only under the macros of the TU's own flags (__SSE2__, __AVX__,
// __AVX512F__): a few horizontal sums, and AVX-512's half-vector rows (sgd_regs_half).
//
// Floating point: all kernels use FMA where the level has it (xsimd::fma falls back to mul+add). The
// results differ from the scalar table only by summation order: a dot of length n with the lane
// accumulators below has error <= ~(n/(W*A) + log2(W*A)) * eps * sum|a_i b_i| (W lanes, A accumulators).
#pragma once

#ifndef SIMDMF_KERNEL_NS
#error "define SIMDMF_KERNEL_NS (a level-specific namespace) before including kernels_impl.hpp"
#endif

#include <math.h>  // ::expf, an extern C function (no inline wrapper emitted per TU)

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "kernels/kernels.hpp"
#include "kernels/sigmoid_table.hpp"

namespace simdmf::kernels::SIMDMF_KERNEL_NS {

// Numerically stable logistic function on a scalar; abs error ~1 ulp of the result (expf is < 1 ulp).
inline float stable_sigmoid(float z) {
    if (z >= 0.0f) return 1.0f / (1.0f + ::expf(-z));
    const float e = ::expf(z);
    return e / (1.0f + e);
}

// a * b + c: one FMA where the level has it (x86 -mfma, every AArch64), else a multiply and an add
// (never a call to fmaf).
[[gnu::always_inline]] inline float fmadd(float a, float b, float c) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
    return __builtin_fmaf(a, b, c);
#else
    return a * b + c;
#endif
}

// The logistic function of the fused steps, inline and without any call: stable_sigmoid() calls
// ::expf, and as no vector register survives a call, the rows the register paths hold (up to 16
// zmm) were spilled and reloaded around it, with the call's latency on the chain dot -> update.
//
// Piecewise polynomial (sigmoid_table.hpp, from gen_sigmoid_table.py): z clamped to [-17, 17],
// m = round(z), u = z - m in [-1/2, 1/2], and the degree-6 polynomial of row 17 + m in u, evaluated
// by Estrin's scheme; rows 0 and 34 are the constants 0 and 1 (|z| >= 16.5, where the function is
// within 6.8e-8 of them). Abs error <= ~1e-7 (interpolation 7e-8 plus float rounding); exactly 1 for
// z >= 16.5, exactly 0 for z <= -16.5 (the true value is below 7e-8 there). Shorter than an exp by
// range reduction followed by 1/(1 + t) (measured: that one's division and reduction made the chain
// dot -> update ~15 cycles longer). NaN gives NaN: it survives the clamp, its index is masked into
// the table, and u = NaN.
[[gnu::always_inline]] inline float sigmoid_inline(float z) {
    constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: x + kShift rounds x to an integer in its low bits
    const float zc = std::min(std::max(z, -17.0f), 17.0f);  // NaN stays NaN
    const float j = zc + kShift;                             // kShift + m, m = round(zc) in [-17, 17]
    const float u = zc - (j - kShift);                       // exact
    const std::uint32_t row = (std::bit_cast<std::uint32_t>(j) + 17u) & 63u;  // 17 + m (bits(kShift) end in 22 zeros)
    const float* c = kSigmoidPoly[row];
    const float u2 = u * u;
    const float c01 = fmadd(u, c[1], c[0]), c23 = fmadd(u, c[3], c[2]), c45 = fmadd(u, c[5], c[4]);
    const float u4 = u2 * u2;
    const float c46 = fmadd(u2, c[6], c45);
    return fmadd(u4, c46, fmadd(u2, c23, c01));
}

template <class A>
using fbatch = xsimd::batch<float, A>;

// Horizontal sums on raw registers (level-specific namespace, so no ODR merging across levels):
// halve the width with one shuffle and one add per step. Shorter than xsimd 8.1's hadd, which uses
// two haddps on SSE3+/AVX and a vperm2f128 on AVX.
#if defined(__SSE2__)
inline float hsum128(__m128 x) {
    const __m128 s = _mm_add_ps(x, _mm_movehl_ps(x, x));                 // lanes 0+2, 1+3
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));        // (0+2) + (1+3)
}
#endif
#if defined(__AVX__)
inline float hsum256(__m256 x) {
    return hsum128(_mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1)));
}
#endif
#if defined(__AVX512F__)
// The upper half of a zmm register folded onto the lower one.
inline __m256 fold512(__m512 x) {
    return _mm256_add_ps(_mm512_castps512_ps256(x),
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}
#endif

// Sum of the lanes of one vector.
template <class A>
inline float hsum(fbatch<A> v) {
    constexpr std::size_t W = fbatch<A>::size;
#if defined(__AVX512F__)
    if constexpr (W == 16) return hsum256(fold512(v));
#endif
#if defined(__AVX__)
    if constexpr (W == 8) return hsum256(v);
#endif
#if defined(__SSE2__)
    if constexpr (W == 4) return hsum128(v);
#endif
    return xsimd::hadd(v);
}

// Sum of the first NA (1 to 4) vector accumulators as one vector, combined as a tree (no adds of
// zero vectors: without -ffast-math the compiler may not drop them).
template <class A, std::size_t NA>
inline fbatch<A> tree(const fbatch<A> (&s)[4]) {
    static_assert(NA >= 1 && NA <= 4);
    if constexpr (NA == 1) return s[0];
    else if constexpr (NA == 2) return s[0] + s[1];
    else if constexpr (NA == 3) return (s[0] + s[1]) + s[2];
    else return (s[0] + s[1]) + (s[2] + s[3]);
}

// Sum of the lanes of four accumulators, combined as a tree.
template <class A>
inline float reduce4(fbatch<A> s0, fbatch<A> s1, fbatch<A> s2, fbatch<A> s3) {
    return hsum<A>((s0 + s1) + (s2 + s3));
}

// dot: 4 vector accumulators (4*W partial sums) over blocks of 4W, one accumulator for the remaining
// whole vectors, scalar tail (< W elements). Error bound ~ (n/(4W) + log2(4W)) * eps * sum|a_i b_i|.
template <class A>
float dot(const float* a, const float* b, std::size_t n) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    B s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
    std::size_t j = 0;
    for (; j + 4 * W <= n; j += 4 * W) {
        s0 = xsimd::fma(B::load_unaligned(a + j), B::load_unaligned(b + j), s0);
        s1 = xsimd::fma(B::load_unaligned(a + j + W), B::load_unaligned(b + j + W), s1);
        s2 = xsimd::fma(B::load_unaligned(a + j + 2 * W), B::load_unaligned(b + j + 2 * W), s2);
        s3 = xsimd::fma(B::load_unaligned(a + j + 3 * W), B::load_unaligned(b + j + 3 * W), s3);
    }
    for (; j + W <= n; j += W) s0 = xsimd::fma(B::load_unaligned(a + j), B::load_unaligned(b + j), s0);
    float s = reduce4<A>(s0, s1, s2, s3);
    for (; j < n; ++j) s += a[j] * b[j];
    return s;
}

// Stable logistic function on a batch: t = exp(-|z|), s = 1/(1+t), z >= 0 ? s : t*s. xsimd::exp is
// within a few ulp, so the abs error stays ~1e-7 (<= 1e-6 required); exp underflows to 0 for
// |z| > ~88, giving exactly 0 or 1, never NaN.
template <class A>
inline fbatch<A> sigmoid_batch(fbatch<A> z) {
    using B = fbatch<A>;
    const B one(1.0f);
    const B t = xsimd::exp(-xsimd::abs(z));
    const B s = one / (one + t);
    return xsimd::select(z >= B(0.0f), s, t * s);
}

// Losses of the fused SGD step: the error e from the prediction z = offset + p.q and the target.
struct SquaredLoss {
    template <class A>
    static float error(float z, float r) { return r - z; }
};
// sigmoid_inline(): no call, so the rows held in registers are not spilled around it (::expf was,
// and sigmoid_batch() on a broadcast z measured slower still: longer chain).
struct LogisticLoss {
    template <class A>
    static float error(float z, float y) { return y - sigmoid_inline(z); }
};

// Row update shared by both paths, as p' = (1 - lr*l2) p + (lr*e) q: algebraically the textbook
// p + lr(e q - l2 p), two vector ops instead of three; differs from it by float rounding only.
struct UpdateCoefs {
    float ap, bp, aq, bq;
    UpdateCoefs(float e, float lr_p, float lr_q, float l2_p, float l2_q)
        : ap(1.0f - lr_p * l2_p), bp(lr_p * e), aq(1.0f - lr_q * l2_q), bq(lr_q * e) {}
};

// Loads rows p and q of NV vectors into registers (pv, qv) and returns their products summed into one
// vector: min(NV, 4) vector accumulators, combined as a tree; error bound as for dot().
template <class A, std::size_t NV>
[[gnu::always_inline]] inline fbatch<A> load_rows_acc(const float* p, const float* q, fbatch<A> (&pv)[NV],
                                                      fbatch<A> (&qv)[NV]) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    constexpr std::size_t NA = NV < 4 ? NV : 4;
    B acc[4];
#pragma GCC unroll 32
    for (std::size_t i = 0; i < NV; ++i) {
        pv[i] = B::load_unaligned(p + i * W);
        qv[i] = B::load_unaligned(q + i * W);
    }
#pragma GCC unroll 4
    for (std::size_t i = 0; i < NA; ++i) acc[i] = pv[i] * qv[i];
#pragma GCC unroll 32
    for (std::size_t i = NA; i < NV; ++i) acc[i % NA] = xsimd::fma(pv[i], qv[i], acc[i % NA]);
    return tree<A, NA>(acc);
}

// As load_rows_acc, returning the dot product.
template <class A, std::size_t NV>
[[gnu::always_inline]] inline float load_rows_dot(const float* p, const float* q, fbatch<A> (&pv)[NV],
                                                  fbatch<A> (&qv)[NV]) {
    return hsum<A>(load_rows_acc<A, NV>(p, q, pv, qv));
}

// Fused SGD step with both rows held in registers (n == NV * W, not read): one load and one store of
// every element. Dot: min(NV, 4) vector accumulators, combined as a tree; error bound as for dot().
// The Table's signature, so that sgd_for_length() can hand it out.
template <class A, std::size_t NV, class Loss>
[[gnu::noinline]] float sgd_regs(float* p, float* q, std::size_t /*n*/, float offset, float target, float lr_p,
                                 float lr_q, float l2_p, float l2_q) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    B pv[NV], qv[NV];
    const float e = Loss::template error<A>(offset + load_rows_dot<A, NV>(p, q, pv, qv), target);
    const UpdateCoefs c(e, lr_p, lr_q, l2_p, l2_q);
    const B ap(c.ap), bp(c.bp), aq(c.aq), bq(c.bq);
#pragma GCC unroll 32
    for (std::size_t i = 0; i < NV; ++i) {
        xsimd::fma(bp, qv[i], ap * pv[i]).store_unaligned(p + i * W);
        xsimd::fma(bq, pv[i], aq * qv[i]).store_unaligned(q + i * W);
    }
    return e;
}

// Fused SGD step for any n: dot() (rows now in L1), then the update, vector body and scalar tail.
template <class A, class Loss>
[[gnu::noinline]] float sgd_general(float* p, float* q, std::size_t n, float offset, float target, float lr_p,
                  float lr_q, float l2_p, float l2_q) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const float e = Loss::template error<A>(offset + dot<A>(p, q, n), target);
    const UpdateCoefs c(e, lr_p, lr_q, l2_p, l2_q);
    const B ap(c.ap), bp(c.bp), aq(c.aq), bq(c.bq);
    std::size_t j = 0;
    for (; j + W <= n; j += W) {
        const B pv = B::load_unaligned(p + j), qv = B::load_unaligned(q + j);
        xsimd::fma(bp, qv, ap * pv).store_unaligned(p + j);
        xsimd::fma(bq, pv, aq * qv).store_unaligned(q + j);
    }
    for (; j < n; ++j) {
        const float pj = p[j], qj = q[j];
        p[j] = c.ap * pj + c.bp * qj;
        q[j] = c.aq * qj + c.bq * pj;
    }
    return e;
}

#if defined(__AVX512F__)
// AVX-512 only (W = 16): rows of NV whole vectors plus one half vector (n = 16 NV + 8, as sgd_length()
// gives for k = 8, 24, ...), the half in a ymm register, so that no 16-wide op works on zero padding.
// Dot: the whole vectors as in sgd_regs, folded to 8 lanes, plus the half's products, then hsum256.
template <class A, std::size_t NV, class Loss>
[[gnu::noinline]] float sgd_regs_half(float* p, float* q, std::size_t /*n*/, float offset, float target,
                                      float lr_p, float lr_q, float l2_p, float l2_q) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    static_assert(W == 16);
    constexpr std::size_t NB = NV > 0 ? NV : 1;
    B pv[NB], qv[NB];
    const __m256 ph = _mm256_loadu_ps(p + NV * W), qh = _mm256_loadu_ps(q + NV * W);
    __m256 d = _mm256_mul_ps(ph, qh);
    if constexpr (NV > 0) d = _mm256_add_ps(fold512(load_rows_acc<A, NV>(p, q, pv, qv)), d);
    const float e = Loss::template error<A>(offset + hsum256(d), target);
    const UpdateCoefs c(e, lr_p, lr_q, l2_p, l2_q);
    if constexpr (NV > 0) {
        const B ap(c.ap), bp(c.bp), aq(c.aq), bq(c.bq);
#pragma GCC unroll 32
        for (std::size_t i = 0; i < NV; ++i) {
            xsimd::fma(bp, qv[i], ap * pv[i]).store_unaligned(p + i * W);
            xsimd::fma(bq, pv[i], aq * qv[i]).store_unaligned(q + i * W);
        }
    }
    const __m256 ap = _mm256_set1_ps(c.ap), bp = _mm256_set1_ps(c.bp);
    const __m256 aq = _mm256_set1_ps(c.aq), bq = _mm256_set1_ps(c.bq);
    _mm256_storeu_ps(p + NV * W, _mm256_fmadd_ps(bp, qh, _mm256_mul_ps(ap, ph)));
    _mm256_storeu_ps(q + NV * W, _mm256_fmadd_ps(bq, ph, _mm256_mul_ps(aq, qh)));
    return e;
}
#endif

// The fused step's function for rows of length n: the register path specialised for that length when
// the rows are at most MaxNV whole vectors (the model's rows at sgd_length(k)), on AVX-512 also whole
// vectors plus a half; the general path otherwise. The trainer chooses once (Table::sgd_for_length),
// so that its calls pay no dispatch on n.
template <class A, class Loss, std::size_t... I>
SgdFn regs_fn(std::size_t nv, std::index_sequence<I...>) {  // nv in [1, sizeof...(I)]
    static constexpr SgdFn fns[] = {&sgd_regs<A, I + 1, Loss>...};
    return fns[nv - 1];
}
#if defined(__AVX512F__)
template <class A, class Loss, std::size_t... I>
SgdFn half_fn(std::size_t nv, std::index_sequence<I...>) {  // nv in [0, sizeof...(I) - 1]
    static constexpr SgdFn fns[] = {&sgd_regs_half<A, I, Loss>...};
    return fns[nv];
}
#endif

template <class A, std::size_t MaxNV, class Loss>
SgdFn sgd_fn(std::size_t n) {
    constexpr std::size_t W = fbatch<A>::size;
    const std::size_t nv = n / W;
    if (n % W == 0 && nv - 1 < MaxNV) return regs_fn<A, Loss>(nv, std::make_index_sequence<MaxNV>{});
#if defined(__AVX512F__)
    if constexpr (W == 16)
        if (n % W == 8 && nv < MaxNV) return half_fn<A, Loss>(nv, std::make_index_sequence<MaxNV>{});
#endif
    return &sgd_general<A, Loss>;
}

// The Table's per-call entry (Table::sgd_squared / sgd_logistic): chooses for this n, then calls.
template <class A, std::size_t MaxNV, class Loss>
float sgd(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q,
          float l2_p, float l2_q) {
    return sgd_fn<A, MaxNV, Loss>(n)(p, q, n, offset, target, lr_p, lr_q, l2_p, l2_q);
}

template <class A, std::size_t MaxNV>
SgdFn sgd_for_length(std::size_t n, int logistic) {
    return logistic ? sgd_fn<A, MaxNV, LogisticLoss>(n) : sgd_fn<A, MaxNV, SquaredLoss>(n);
}

// axpy: y += a x, two independent vectors per iteration, scalar tail. Exact up to one FMA rounding.
template <class A>
void axpy(std::size_t n, float a, const float* x, float* y) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const B av(a);
    std::size_t j = 0;
    for (; j + 2 * W <= n; j += 2 * W) {
        xsimd::fma(av, B::load_unaligned(x + j), B::load_unaligned(y + j)).store_unaligned(y + j);
        xsimd::fma(av, B::load_unaligned(x + j + W), B::load_unaligned(y + j + W))
            .store_unaligned(y + j + W);
    }
    for (; j + W <= n; j += W)
        xsimd::fma(av, B::load_unaligned(x + j), B::load_unaligned(y + j)).store_unaligned(y + j);
    for (; j < n; ++j) y[j] += a * x[j];
}

// dot_rows: four rows at a time against the same x (x loaded once per four rows), one vector
// accumulator per row (four independent FMA chains); remaining rows through dot(). Error bound per
// row ~ (n/W + log2 W) * eps * sum|a_i x_i|.
template <class A>
void dot_rows(const float* rows, std::size_t n_rows, std::size_t stride, const float* x,
              std::size_t n, float* out) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    std::size_t r = 0;
    for (; r + 4 <= n_rows; r += 4) {
        const float* r0 = rows + r * stride;
        const float* r1 = r0 + stride;
        const float* r2 = r1 + stride;
        const float* r3 = r2 + stride;
        B s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
        std::size_t j = 0;
        for (; j + W <= n; j += W) {
            const B xv = B::load_unaligned(x + j);
            s0 = xsimd::fma(B::load_unaligned(r0 + j), xv, s0);
            s1 = xsimd::fma(B::load_unaligned(r1 + j), xv, s1);
            s2 = xsimd::fma(B::load_unaligned(r2 + j), xv, s2);
            s3 = xsimd::fma(B::load_unaligned(r3 + j), xv, s3);
        }
        float t0 = hsum<A>(s0), t1 = hsum<A>(s1), t2 = hsum<A>(s2), t3 = hsum<A>(s3);
        for (; j < n; ++j) {
            t0 += r0[j] * x[j];
            t1 += r1[j] * x[j];
            t2 += r2[j] * x[j];
            t3 += r3[j] * x[j];
        }
        out[r] = t0;
        out[r + 1] = t1;
        out[r + 2] = t2;
        out[r + 3] = t3;
    }
    for (; r < n_rows; ++r) out[r] = dot<A>(rows + r * stride, x, n);
}

// sigmoid over a row: sigmoid_batch() on whole vectors (abs error ~1e-7), scalar tail through
// stable_sigmoid(). in == out allowed (each vector is loaded before it is stored).
template <class A>
void sigmoid(const float* in, float* out, std::size_t n) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    std::size_t j = 0;
    for (; j + W <= n; j += W) sigmoid_batch<A>(B::load_unaligned(in + j)).store_unaligned(out + j);
    for (; j < n; ++j) out[j] = stable_sigmoid(in[j]);
}

// Fused AdaGrad step, rows of NV vectors held in registers (as sgd_regs): one load and one store of
// every element; the gradient norms use one accumulator per row.
template <class A, std::size_t NV>
[[gnu::noinline]] float sgd_adagrad_regs(float* p, float* q, float offset, float target, float lr_p, float lr_q,
                                         float l2_p, float l2_q, int logistic, float* g2) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    B pv[NV], qv[NV];
    const float z = offset + load_rows_dot<A, NV>(p, q, pv, qv);
    const float e = logistic ? LogisticLoss::template error<A>(z, target) : SquaredLoss::template error<A>(z, target);
    const B ev(e), lp(lr_p), lq(lr_q), rp(l2_p), rq(l2_q);
    B sp(0.0f), sq(0.0f);
#pragma GCC unroll 32
    for (std::size_t i = 0; i < NV; ++i) {
        const B gp = xsimd::fms(ev, qv[i], rp * pv[i]), gq = xsimd::fms(ev, pv[i], rq * qv[i]);
        xsimd::fma(lp, gp, pv[i]).store_unaligned(p + i * W);
        xsimd::fma(lq, gq, qv[i]).store_unaligned(q + i * W);
        sp = xsimd::fma(gp, gp, sp);
        sq = xsimd::fma(gq, gq, sq);
    }
    g2[0] = hsum<A>(sp);
    g2[1] = hsum<A>(sq);
    return e;
}

// Fused AdaGrad step for any n: dot() (rows now in L1), then one pass computing the ascent directions,
// the update and their squared norms (one vector accumulator each), scalar tail.
template <class A>
[[gnu::noinline]] float sgd_adagrad_general(float* p, float* q, std::size_t n, float offset, float target,
                                            float lr_p, float lr_q, float l2_p, float l2_q, int logistic, float* g2) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const float z = offset + dot<A>(p, q, n);
    const float e = logistic ? LogisticLoss::template error<A>(z, target) : SquaredLoss::template error<A>(z, target);
    const B ev(e), lp(lr_p), lq(lr_q), rp(l2_p), rq(l2_q);
    B sp(0.0f), sq(0.0f);
    std::size_t j = 0;
    for (; j + W <= n; j += W) {
        const B pv = B::load_unaligned(p + j), qv = B::load_unaligned(q + j);
        const B gp = xsimd::fms(ev, qv, rp * pv), gq = xsimd::fms(ev, pv, rq * qv);
        xsimd::fma(lp, gp, pv).store_unaligned(p + j);
        xsimd::fma(lq, gq, qv).store_unaligned(q + j);
        sp = xsimd::fma(gp, gp, sp);
        sq = xsimd::fma(gq, gq, sq);
    }
    float tp = hsum<A>(sp), tq = hsum<A>(sq);
    for (; j < n; ++j) {
        const float pj = p[j], qj = q[j];
        const float gp = e * qj - l2_p * pj, gq = e * pj - l2_q * qj;
        p[j] = pj + lr_p * gp;
        q[j] = qj + lr_q * gq;
        tp += gp * gp;
        tq += gq * gq;
    }
    g2[0] = tp;
    g2[1] = tq;
    return e;
}

template <class A, std::size_t Lo, std::size_t Hi>
inline float sgd_adagrad_dispatch(std::size_t nv, float* p, float* q, float offset, float target, float lr_p,
                                  float lr_q, float l2_p, float l2_q, int logistic, float* g2) {
    if constexpr (Lo == Hi) {
        return sgd_adagrad_regs<A, Lo>(p, q, offset, target, lr_p, lr_q, l2_p, l2_q, logistic, g2);
    } else {
        constexpr std::size_t Mid = (Lo + Hi) / 2;
        if (nv <= Mid)
            return sgd_adagrad_dispatch<A, Lo, Mid>(nv, p, q, offset, target, lr_p, lr_q, l2_p, l2_q, logistic, g2);
        return sgd_adagrad_dispatch<A, Mid + 1, Hi>(nv, p, q, offset, target, lr_p, lr_q, l2_p, l2_q, logistic, g2);
    }
}

// Entry point of the fused AdaGrad step: the register path for the model's padded rows up to MaxNV
// vectors, the general one otherwise.
template <class A, std::size_t MaxNV>
float sgd_adagrad(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q,
                  float l2_p, float l2_q, int logistic, float* g2) {
    constexpr std::size_t W = fbatch<A>::size;
    const std::size_t nv = n / W;
    if (n % W == 0 && nv - 1 < MaxNV)
        return sgd_adagrad_dispatch<A, 1, MaxNV>(nv, p, q, offset, target, lr_p, lr_q, l2_p, l2_q, logistic, g2);
    return sgd_adagrad_general<A>(p, q, n, offset, target, lr_p, lr_q, l2_p, l2_q, logistic, g2);
}

// The table of one level. MaxNV: longest row (in vectors) of the register path, such that p, q, the
// accumulators and the coefficients fit in the register file without spills: 4 with 16 registers,
// 8 with 32 (AVX-512: 128 floats; with 16 vectors GCC spilled and k=256 ran ~15% slower than the
// two-pass path, whose second pass hits L1).
template <class A, std::size_t MaxNV>
constexpr Table make_table(Level level, const char* name) {
    return Table{level,
                 name,
                 &dot<A>,
                 &sgd<A, MaxNV, SquaredLoss>,
                 &sgd<A, MaxNV, LogisticLoss>,
                 &axpy<A>,
                 &dot_rows<A>,
                 &sigmoid<A>,
                 &sgd_adagrad<A, MaxNV>,
                 &sgd_for_length<A, MaxNV>};
}

}  // namespace simdmf::kernels::SIMDMF_KERNEL_NS
