// The SIMD kernels, written once as templates on the xsimd architecture.
//
// Included only by the per-level translation units (kernels_sse2.cpp, ...), each of which defines
// SIMDMF_KERNEL_NS to a level-specific name first. Everything here lives in that namespace, so a
// non-template helper compiled with AVX-512 flags can never be merged by the linker with the copy of
// another level (ODR): the symbols differ. Only xsimd templates on the level's own Arch are used, and
// raw intrinsics (always inlined) only under the macros of the TU's own flags (__SSE2__, __AVX__,
// __AVX512F__): the horizontal sums (hsum, bsum, and for two ratings at once bsum2_halves), and
// AVX-512's half-vector rows (sgd_regs_half).
//
// The fused steps specialised per length (sgd_regs, sgd_pair, adagrad_regs, adagrad_pair) share their
// pieces (rows_acc, rows_acc_norms, the Loss policies' coefs, update_rows), so that a pair of
// steps on distinct rows computes bit for bit what the two single steps compute; their scalar work is
// kept small (the error and coefficients as vector ops on the summed dot), as at k = 32 on AVX2 the
// ops around the 5 k/8 of the rule itself are a large share of the FMA ports' time.
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
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>
#if defined(__SSE4_2__) && defined(__x86_64__)
#include <nmmintrin.h>
#elif defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#endif

#include "kernels/kernels.hpp"
#include "kernels/sigmoid_table.hpp"
#include "kernels/quant_impl.hpp"

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
    [[maybe_unused]] constexpr std::size_t W = fbatch<A>::size;  // unused where no x86 case applies (NEON)
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

// Sum of the lanes of one vector, in every lane (a butterfly: swap halves and add, log2(W) times), so
// that the fused steps' error and coefficients need no broadcast after the sum. Same association as
// hsum() (x86; elsewhere hsum() broadcast): each lane's value is bit for bit hsum(v).
template <class A>
[[gnu::always_inline]] inline fbatch<A> bsum(fbatch<A> v) {
    [[maybe_unused]] constexpr std::size_t W = fbatch<A>::size;
#if defined(__AVX512F__)
    if constexpr (W == 16) {
        __m512 x = v;
        x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, 0x4E));  // i + (i+8)
        x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, 0xB1));  // + the other 128-bit quarter
        x = _mm512_add_ps(x, _mm512_permute_ps(x, 0x4E));        // (0+2), (1+3)
        return _mm512_add_ps(x, _mm512_permute_ps(x, 0xB1));     // (0+2) + (1+3)
    }
#endif
#if defined(__AVX__)
    if constexpr (W == 8) {
        __m256 x = v;
        x = _mm256_add_ps(x, _mm256_permute2f128_ps(x, x, 0x01));  // i + (i+4)
        x = _mm256_add_ps(x, _mm256_permute_ps(x, 0x4E));
        return _mm256_add_ps(x, _mm256_permute_ps(x, 0xB1));
    }
#endif
#if defined(__SSE2__)
    if constexpr (W == 4) {
        __m128 x = v;
        x = _mm_add_ps(x, _mm_shuffle_ps(x, x, 0x4E));
        return _mm_add_ps(x, _mm_shuffle_ps(x, x, 0xB1));
    }
#endif
    return fbatch<A>(hsum<A>(v));
}

// Lane 0 of a vector (no instruction on x86: the low lane of the register).
template <class A>
[[gnu::always_inline]] inline float lane0(fbatch<A> v) {
    [[maybe_unused]] constexpr std::size_t W = fbatch<A>::size;
#if defined(__AVX512F__)
    if constexpr (W == 16) return _mm512_cvtss_f32(v);
#endif
#if defined(__AVX__)
    if constexpr (W == 8) return _mm256_cvtss_f32(v);
#endif
#if defined(__SSE2__)
    if constexpr (W == 4) return _mm_cvtss_f32(v);
#endif
    alignas(64) float t[W];
    v.store_aligned(t);
    return t[0];
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
    // fmadd, not s += a*b: GCC may vectorise a plain tail (products as a vector, then summed in
    // order) in one alias-check version and contract it to FMAs in the other, so that the result would
    // depend on where the rows are; an FMA chain is not vectorised.
    for (; j < n; ++j) s = fmadd(a[j], b[j], s);
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
#if defined(__AVX__)
// Two 8-lane vectors' lane sums at once: [sum x in lanes 0-3 | sum y in lanes 4-7], each summed with
// bsum()'s association (so bit for bit bsum(x), bsum(y)); 4 shuffles and 3 adds for both instead of 6 and 6.
inline __m256 bsum2_halves(__m256 x, __m256 y) {
    __m256 s = _mm256_add_ps(_mm256_permute2f128_ps(x, y, 0x20), _mm256_permute2f128_ps(x, y, 0x31));
    s = _mm256_add_ps(s, _mm256_permute_ps(s, 0x4E));
    return _mm256_add_ps(s, _mm256_permute_ps(s, 0xB1));
}
inline __m256 low_both(__m256 u) { return _mm256_permute2f128_ps(u, u, 0x00); }
inline __m256 high_both(__m256 u) { return _mm256_permute2f128_ps(u, u, 0x11); }
inline float lane4(__m256 u) { return _mm_cvtss_f32(_mm256_extractf128_ps(u, 1)); }
inline __m256 halves(float lo, float hi) { return _mm256_set_m128(_mm_set1_ps(hi), _mm_set1_ps(lo)); }
#endif

// The specialised steps (sgd_regs, sgd_pair, adagrad_*) compute the error and what the update needs
// as vectors, from the dot's accumulator vector acc (not yet summed):
//   coefs(): e, and bp = lr_p e, bq = lr_q e in every lane (the SGD and AdaGrad updates);  coefs2():
//   the same for two ratings at once (the SGD pairs), bit for bit equal to two calls, with one combined
//   lane sum on 8 lanes.
// Squared loss: e = (r - offset) - d, where d = bsum(acc): the subtraction and the multiplications are
// vector ops on every lane (for a pair on both halves of one register), no broadcast after the sum.
struct SquaredLoss {
    template <class A>
    static float error(float z, float r) { return r - z; }
    template <class A>
    [[gnu::always_inline]] static float coefs(fbatch<A> acc, float offset, float r, float lr_p, float lr_q,
                                              fbatch<A>& bp, fbatch<A>& bq) {
        using B = fbatch<A>;
        const B ev = B(r - offset) - bsum<A>(acc);
        bp = B(lr_p) * ev;
        bq = B(lr_q) * ev;
        return lane0<A>(ev);
    }
    template <class A>
    [[gnu::always_inline]] static void coefs2(fbatch<A> a0, fbatch<A> a1, const float* ot, float lr_p, float lr_q,
                                              fbatch<A>* bp, fbatch<A>* bq, float* e) {
#if defined(__AVX__)
        if constexpr (fbatch<A>::size == 8) {
            const __m256 ev = _mm256_sub_ps(halves(ot[1] - ot[0], ot[3] - ot[2]), bsum2_halves(a0, a1));
            const __m256 p = _mm256_mul_ps(_mm256_set1_ps(lr_p), ev), q = _mm256_mul_ps(_mm256_set1_ps(lr_q), ev);
            bp[0] = low_both(p), bp[1] = high_both(p), bq[0] = low_both(q), bq[1] = high_both(q);
            e[0] = _mm256_cvtss_f32(ev), e[1] = lane4(ev);
            return;
        }
#endif
        e[0] = coefs<A>(a0, ot[0], ot[1], lr_p, lr_q, bp[0], bq[0]);
        e[1] = coefs<A>(a1, ot[2], ot[3], lr_p, lr_q, bp[1], bq[1]);
    }
};
// sigmoid_inline(): no call, so the rows held in registers are not spilled around it (::expf was,
// and sigmoid_batch() on a broadcast z measured slower still: longer chain). Scalar, per rating.
struct LogisticLoss {
    template <class A>
    static float error(float z, float y) { return y - sigmoid_inline(z); }
    template <class A>
    [[gnu::always_inline]] static float coefs_d(float d, float offset, float y, float lr_p, float lr_q,
                                                fbatch<A>& bp, fbatch<A>& bq) {
        const float e = error<A>(offset + d, y);
        bp = fbatch<A>(lr_p * e);
        bq = fbatch<A>(lr_q * e);
        return e;
    }
    template <class A>
    [[gnu::always_inline]] static float coefs(fbatch<A> acc, float offset, float y, float lr_p, float lr_q,
                                              fbatch<A>& bp, fbatch<A>& bq) {
        return coefs_d<A>(lane0<A>(bsum<A>(acc)), offset, y, lr_p, lr_q, bp, bq);
    }
    // The two dots' lane sums (combined on 8 lanes), then the scalar sigmoid of each.
    template <class A>
    [[gnu::always_inline]] static void sums2(fbatch<A> a0, fbatch<A> a1, float& d0, float& d1) {
#if defined(__AVX__)
        if constexpr (fbatch<A>::size == 8) {
            const __m256 u = bsum2_halves(a0, a1);
            d0 = _mm256_cvtss_f32(u), d1 = lane4(u);
            return;
        }
#endif
        d0 = lane0<A>(bsum<A>(a0));
        d1 = lane0<A>(bsum<A>(a1));
    }
    template <class A>
    [[gnu::always_inline]] static void coefs2(fbatch<A> a0, fbatch<A> a1, const float* ot, float lr_p, float lr_q,
                                              fbatch<A>* bp, fbatch<A>* bq, float* e) {
        float d0, d1;
        sums2<A>(a0, a1, d0, d1);
        e[0] = coefs_d<A>(d0, ot[0], ot[1], lr_p, lr_q, bp[0], bq[0]);
        e[1] = coefs_d<A>(d1, ot[2], ot[3], lr_p, lr_q, bp[1], bq[1]);
    }
};

// Row update shared by both paths, as p' = (1 - lr*l2) p + (lr*e) q: algebraically the textbook
// p + lr(e q - l2 p), two vector ops instead of three; differs from it by float rounding only.
struct UpdateCoefs {
    float ap, bp, aq, bq;
    UpdateCoefs(float e, float lr_p, float lr_q, float l2_p, float l2_q)
        : ap(1.0f - lr_p * l2_p), bp(lr_p * e), aq(1.0f - lr_q * l2_q), bq(lr_q * e) {}
};

// The lanes of two vectors summed (AdaGrad's two norms), each exactly as hsum() sums it, with fewer
// shuffles on 8 and 16 lanes: one pair of cross-lane shuffles for both vectors' 128-bit halves, then
// in-lane shuffles for both at once.
template <class A>
[[gnu::always_inline]] inline void hsum2(fbatch<A> a, fbatch<A> b, float& sa, float& sb) {
    [[maybe_unused]] constexpr std::size_t W = fbatch<A>::size;
#if defined(__AVX__)
    if constexpr (W == 8 || W == 16) {
        __m256 x, y;
#if defined(__AVX512F__)
        if constexpr (W == 16) {
            x = fold512(a);
            y = fold512(b);
        }
#endif
        if constexpr (W == 8) {
            x = a;
            y = b;
        }
        const __m256 s = _mm256_add_ps(_mm256_permute2f128_ps(x, y, 0x20),   // lanes i + (i+4): x in 0-3,
                                       _mm256_permute2f128_ps(x, y, 0x31));  // y in 4-7
        const __m256 t = _mm256_add_ps(s, _mm256_permute_ps(s, 0x4E));       // (0+2), (1+3) per half
        const __m256 u = _mm256_add_ps(t, _mm256_permute_ps(t, 0xB1));       // (0+2) + (1+3)
        sa = _mm256_cvtss_f32(u);
        sb = _mm_cvtss_f32(_mm256_extractf128_ps(u, 1));
        return;
    }
#endif
    sa = hsum<A>(a);
    sb = hsum<A>(b);
}

// Compiler barrier: memory may have changed, so rows read before it are read again after it (from
// L1) instead of being kept live (and spilled) across it. No instruction.
[[gnu::always_inline]] inline void reload_barrier() { __asm__ volatile("" ::: "memory"); }

// Products of rows p and q of NV vectors summed into one vector: min(NV, 4) vector accumulators
// (vector i into accumulator i % 4), combined as a tree; error bound as for dot(). With Keep the loaded
// rows are left in pv, qv for the update (the register path); without, the update reloads them.
template <class A, std::size_t NV, bool Keep>
[[gnu::always_inline]] inline fbatch<A> rows_acc(const float* p, const float* q, fbatch<A>* pv, fbatch<A>* qv) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    constexpr std::size_t NA = NV < 4 ? NV : 4;
    B acc[4];
#pragma GCC unroll 4
    for (std::size_t i = 0; i < NA; ++i) {
        const B a = B::load_unaligned(p + i * W), b = B::load_unaligned(q + i * W);
        if constexpr (Keep) pv[i] = a, qv[i] = b;
        acc[i] = a * b;
    }
#pragma GCC unroll 32
    for (std::size_t i = NA; i < NV; ++i) {
        const B a = B::load_unaligned(p + i * W), b = B::load_unaligned(q + i * W);
        if constexpr (Keep) pv[i] = a, qv[i] = b;
        acc[i % NA] = xsimd::fma(a, b, acc[i % NA]);
    }
    return tree<A, NA>(acc);
}

// As rows_acc, rows kept.
template <class A, std::size_t NV>
[[gnu::always_inline]] inline fbatch<A> load_rows_acc(const float* p, const float* q, fbatch<A> (&pv)[NV],
                                                      fbatch<A> (&qv)[NV]) {
    return rows_acc<A, NV, true>(p, q, pv, qv);
}

// p' = ap p + bp q, q' = aq q + bq p over NV vectors, from pv, qv (Keep) or reloaded; ap = 1 - lr_p l2_p
// and aq = 1 - lr_q l2_q as in UpdateCoefs.
template <class A, std::size_t NV, bool Keep>
[[gnu::always_inline]] inline void update_rows(float* p, float* q, const fbatch<A>* pv, const fbatch<A>* qv,
                                               fbatch<A> ap, fbatch<A> bp, fbatch<A> aq, fbatch<A> bq) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
#pragma GCC unroll 32
    for (std::size_t i = 0; i < NV; ++i) {
        B a, b;
        if constexpr (Keep) a = pv[i], b = qv[i];
        else a = B::load_unaligned(p + i * W), b = B::load_unaligned(q + i * W);
        xsimd::fma(bp, b, ap * a).store_unaligned(p + i * W);
        xsimd::fma(bq, a, aq * b).store_unaligned(q + i * W);
    }
}

// Fused SGD step specialised for rows of NV whole vectors (n == NV * W, not read). Keep (rows of up to
// the level's register budget): p and q loaded once, held in registers through the dot and the
// update, stored once. Otherwise (streamed): the dot, then the update reloads the rows from L1 (one
// row pair would not fit the register file: at k = 64 on 16 ymm registers, holding them spilled).
// The Table's signature, so that sgd_for_length() can hand it out.
template <class A, std::size_t NV, class Loss, bool Keep>
[[gnu::noinline]] float sgd_regs(float* p, float* q, std::size_t /*n*/, float offset, float target, float lr_p,
                                 float lr_q, float l2_p, float l2_q) {
    using B = fbatch<A>;
    B pv[Keep ? NV : 1], qv[Keep ? NV : 1], bp, bq;
    const float e = Loss::template coefs<A>(rows_acc<A, NV, Keep>(p, q, pv, qv), offset, target, lr_p, lr_q, bp, bq);
    if constexpr (!Keep) reload_barrier();
    update_rows<A, NV, Keep>(p, q, pv, qv, B(1.0f - lr_p * l2_p), bp, B(1.0f - lr_q * l2_q), bq);
    return e;
}

// Two fused steps on distinct rows (SgdPairFn), interleaved: both dots, both errors (one combined
// horizontal sum), then both updates, so that one rating's chain dot -> error -> update runs while the
// other's waits. Each rating's arithmetic is sgd_regs<A, NV, Loss, *>'s, so the results are bit for
// bit those of two single steps. Keep as sgd_regs, for the two row pairs together.
template <class A, std::size_t NV, class Loss, bool Keep>
[[gnu::noinline]] void sgd_pair(float* p0, float* q0, float* p1, float* q1, std::size_t /*n*/, float offset0,
                                float target0, float offset1, float target1, float lr_p, float lr_q, float l2_p,
                                float l2_q, float* e) {
    using B = fbatch<A>;
    B pv0[Keep ? NV : 1], qv0[Keep ? NV : 1], pv1[Keep ? NV : 1], qv1[Keep ? NV : 1], bp[2], bq[2];
    const B a0 = rows_acc<A, NV, Keep>(p0, q0, pv0, qv0);
    const B a1 = rows_acc<A, NV, Keep>(p1, q1, pv1, qv1);
    const float ot[4] = {offset0, target0, offset1, target1};
    Loss::template coefs2<A>(a0, a1, ot, lr_p, lr_q, bp, bq, e);
    if constexpr (!Keep) reload_barrier();
    const B ap(1.0f - lr_p * l2_p), aq(1.0f - lr_q * l2_q);
    update_rows<A, NV, Keep>(p0, q0, pv0, qv0, ap, bp[0], aq, bq[0]);
    update_rows<A, NV, Keep>(p1, q1, pv1, qv1, ap, bp[1], aq, bq[1]);
}

// A pair made of two calls of one single step (the lengths without an interleaved version).
template <SgdFn F>
void pair_of(float* p0, float* q0, float* p1, float* q1, std::size_t n, float offset0, float target0,
             float offset1, float target1, float lr_p, float lr_q, float l2_p, float l2_q, float* e) {
    e[0] = F(p0, q0, n, offset0, target0, lr_p, lr_q, l2_p, l2_q);
    e[1] = F(p1, q1, n, offset1, target1, lr_p, lr_q, l2_p, l2_q);
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

// The fused step's function for rows of length n: the version specialised for that length when the
// rows are 1 to MaxStreamNV whole vectors (held in registers up to KeepNV vectors, streamed beyond), on
// AVX-512 also whole vectors plus a half (up to KeepNV); the general path otherwise. The trainer
// chooses once (Table::sgd_for_length), so that its calls pay no dispatch on n.
constexpr std::size_t kMaxStreamNV = 16;  // k = 128 on AVX2, 256 on AVX-512, 64 on SSE / NEON

template <class A, class Loss, std::size_t KeepNV, std::size_t... I>
SgdFn regs_fn(std::size_t nv, std::index_sequence<I...>) {  // nv in [1, sizeof...(I)]
    static constexpr SgdFn fns[] = {&sgd_regs<A, I + 1, Loss, (I + 1 <= KeepNV)>...};
    return fns[nv - 1];
}
template <class A, class Loss, std::size_t KeepNV, std::size_t... I>
SgdPairFn pair_regs_fn(std::size_t nv, std::index_sequence<I...>) {  // the two row pairs kept if they fit
    static constexpr SgdPairFn fns[] = {&sgd_pair<A, I + 1, Loss, (2 * (I + 1) <= KeepNV)>...};
    return fns[nv - 1];
}
#if defined(__AVX512F__)
template <class A, class Loss, std::size_t... I>
SgdFn half_fn(std::size_t nv, std::index_sequence<I...>) {  // nv in [0, sizeof...(I) - 1]
    static constexpr SgdFn fns[] = {&sgd_regs_half<A, I, Loss>...};
    return fns[nv];
}
template <class A, class Loss, std::size_t... I>
SgdPairFn half_pair_fn(std::size_t nv, std::index_sequence<I...>) {
    static constexpr SgdPairFn fns[] = {&pair_of<&sgd_regs_half<A, I, Loss>>...};
    return fns[nv];
}
#endif

// Which version serves length n: 1 = whole vectors (nv of them), 2 = AVX-512 whole plus half, 0 = general.
template <class A, std::size_t KeepNV>
int length_class(std::size_t n) {
    constexpr std::size_t W = fbatch<A>::size;
    const std::size_t nv = n / W;
    if (n % W == 0 && nv - 1 < kMaxStreamNV) return 1;
    if (W == 16 && n % W == 8 && nv < KeepNV) return 2;
    return 0;
}

template <class A, std::size_t KeepNV, class Loss>
SgdFn sgd_fn(std::size_t n) {
    constexpr std::size_t W = fbatch<A>::size;
    const int c = length_class<A, KeepNV>(n);
    if (c == 1) return regs_fn<A, Loss, KeepNV>(n / W, std::make_index_sequence<kMaxStreamNV>{});
#if defined(__AVX512F__)
    if constexpr (W == 16)
        if (c == 2) return half_fn<A, Loss>(n / W, std::make_index_sequence<KeepNV>{});
#endif
    return &sgd_general<A, Loss>;
}

template <class A, std::size_t KeepNV, class Loss>
SgdPairFn sgd_pair_fn(std::size_t n) {
    constexpr std::size_t W = fbatch<A>::size;
    const int c = length_class<A, KeepNV>(n);
    if (c == 1) return pair_regs_fn<A, Loss, KeepNV>(n / W, std::make_index_sequence<kMaxStreamNV>{});
#if defined(__AVX512F__)
    if constexpr (W == 16)
        if (c == 2) return half_pair_fn<A, Loss>(n / W, std::make_index_sequence<KeepNV>{});
#endif
    return &pair_of<&sgd_general<A, Loss>>;
}

// The Table's per-call entry (Table::sgd_squared / sgd_logistic): chooses for this n, then calls.
template <class A, std::size_t KeepNV, class Loss>
float sgd(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q,
          float l2_p, float l2_q) {
    return sgd_fn<A, KeepNV, Loss>(n)(p, q, n, offset, target, lr_p, lr_q, l2_p, l2_q);
}

template <class A, std::size_t KeepNV>
SgdFn sgd_for_length(std::size_t n, int logistic) {
    return logistic ? sgd_fn<A, KeepNV, LogisticLoss>(n) : sgd_fn<A, KeepNV, SquaredLoss>(n);
}

template <class A, std::size_t KeepNV>
SgdPairFn sgd_pair_for_length(std::size_t n, int logistic) {
    return logistic ? sgd_pair_fn<A, KeepNV, LogisticLoss>(n) : sgd_pair_fn<A, KeepNV, SquaredLoss>(n);
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

// dot_rows: four rows at a time against the same x, one vector accumulator per row (four independent
// FMA chains), each row's loads one after the other (row-major: on a Zen 5 core this reads a 1M x 64
// table at 27-31 GB/s where the four rows interleaved vector by vector read 8-17 GB/s, the same sums);
// remaining rows through dot(). Error bound per row ~ (n/W + log2 W) * eps * sum|a_i x_i|.
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
        const std::size_t nv = n / W * W;
        for (std::size_t t = 0; t < nv; t += W) s0 = xsimd::fma(B::load_unaligned(r0 + t), B::load_unaligned(x + t), s0);
        for (std::size_t t = 0; t < nv; t += W) s1 = xsimd::fma(B::load_unaligned(r1 + t), B::load_unaligned(x + t), s1);
        for (std::size_t t = 0; t < nv; t += W) s2 = xsimd::fma(B::load_unaligned(r2 + t), B::load_unaligned(x + t), s2);
        for (std::size_t t = 0; t < nv; t += W) s3 = xsimd::fma(B::load_unaligned(r3 + t), B::load_unaligned(x + t), s3);
        std::size_t j = nv;
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

// AdaGrad, specialised per length: 7 vector ops a vector of the rows instead of the textbook 9. The
// ascent directions gp = e q - l2_p p and gq = e p - l2_q q are never formed: the rows get the SGD
// step's two-op update, p' = (1 - lr_p l2_p) p + (lr_p e) q (and q likewise; update_rows), and the
// squared norms the caller needs come from the rows before the step, expanded:
//   |gp|^2 = e^2 |q|^2 - 2 e l2_p (p.q) + l2_p^2 |p|^2,   |gq|^2 = e^2 |p|^2 - 2 e l2_q (p.q) + l2_q^2 |q|^2,
// with |p|^2 and |q|^2 summed in the same pass as the dot (one FMA each a vector). The expansion loses
// relative accuracy only when gp is far smaller than e q and l2 p (cancellation; the error is then
// ~eps (e |q| + l2 |p|)^2, and a result below zero is clamped to 0): the norms feed a running sum of
// mean squared gradients, where that is noise far below the update's own size.
//
// The rows' pass: the dot's accumulator vector (as rows_acc) and the two squared norms' (min(NV, 2)
// accumulators each, vector i into i % 2), rows kept in pv, qv with Keep.
template <class A, std::size_t NV, bool Keep>
[[gnu::always_inline]] inline fbatch<A> rows_acc_norms(const float* p, const float* q, fbatch<A>* pv, fbatch<A>* qv,
                                                       fbatch<A>& np, fbatch<A>& nq) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    constexpr std::size_t NA = NV < 4 ? NV : 4;
    constexpr std::size_t NS = NV < 2 ? NV : 2;
    B acc[4], sp[2], sq[2];
#pragma GCC unroll 32
    for (std::size_t i = 0; i < NV; ++i) {
        const B a = B::load_unaligned(p + i * W), b = B::load_unaligned(q + i * W);
        if constexpr (Keep) pv[i] = a, qv[i] = b;
        if (i < NA) acc[i] = a * b;
        else acc[i % NA] = xsimd::fma(a, b, acc[i % NA]);
        if (i < NS) sp[i] = a * a, sq[i] = b * b;
        else sp[i % NS] = xsimd::fma(a, a, sp[i % NS]), sq[i % NS] = xsimd::fma(b, b, sq[i % NS]);
    }
    if constexpr (NS == 2) np = sp[0] + sp[1], nq = sq[0] + sq[1];
    else np = sp[0], nq = sq[0];
    return tree<A, NA>(acc);
}

// The two squared norms of the directions from the expansion above: d = p.q, pp = |p|^2, qq = |q|^2.
[[gnu::always_inline]] inline void adagrad_norms(float e, float d, float pp, float qq, float l2_p, float l2_q,
                                                 float* g2) {
    const float ee = e * e, ed = e * d;
    g2[0] = std::max(0.0f, fmadd(ee, qq, fmadd(l2_p * l2_p, pp, -2.0f * l2_p * ed)));
    g2[1] = std::max(0.0f, fmadd(ee, pp, fmadd(l2_q * l2_q, qq, -2.0f * l2_q * ed)));
}

// Fused AdaGrad step specialised for rows of NV whole vectors (AdagradFn), rows kept or streamed as in
// sgd_regs: one pass for the dot and the norms, then the update.
template <class A, std::size_t NV, class Loss, bool Keep>
[[gnu::noinline]] float adagrad_regs(float* p, float* q, std::size_t /*n*/, float offset, float target, float lr_p,
                                     float lr_q, float l2_p, float l2_q, float* g2) {
    using B = fbatch<A>;
    B pv[Keep ? NV : 1], qv[Keep ? NV : 1], np, nq, bp, bq;
    const B acc = rows_acc_norms<A, NV, Keep>(p, q, pv, qv, np, nq);
    float pp, qq;
    hsum2<A>(np, nq, pp, qq);
    const float d = lane0<A>(bsum<A>(acc));
    const float e = Loss::template coefs<A>(acc, offset, target, lr_p, lr_q, bp, bq);
    adagrad_norms(e, d, pp, qq, l2_p, l2_q, g2);
    if constexpr (!Keep) reload_barrier();
    update_rows<A, NV, Keep>(p, q, pv, qv, B(1.0f - lr_p * l2_p), bp, B(1.0f - lr_q * l2_q), bq);
    return e;
}

// Two AdaGrad steps on distinct rows, interleaved as sgd_pair (AdagradPairFn); bit for bit adagrad_regs twice.
template <class A, std::size_t NV, class Loss, bool Keep>
[[gnu::noinline]] void adagrad_pair(float* p0, float* q0, float* p1, float* q1, std::size_t /*n*/, const float* a,
                                    float l2_p, float l2_q, float* out) {
    using B = fbatch<A>;
    B pv0[Keep ? NV : 1], qv0[Keep ? NV : 1], pv1[Keep ? NV : 1], qv1[Keep ? NV : 1], np0, nq0, np1, nq1, bp0, bq0,
        bp1, bq1;
    const B a0 = rows_acc_norms<A, NV, Keep>(p0, q0, pv0, qv0, np0, nq0);
    const B a1 = rows_acc_norms<A, NV, Keep>(p1, q1, pv1, qv1, np1, nq1);
    float pp0, qq0, pp1, qq1;
    hsum2<A>(np0, nq0, pp0, qq0);
    hsum2<A>(np1, nq1, pp1, qq1);
    const float d0 = lane0<A>(bsum<A>(a0)), d1 = lane0<A>(bsum<A>(a1));
    out[0] = Loss::template coefs<A>(a0, a[0], a[1], a[2], a[3], bp0, bq0);
    out[1] = Loss::template coefs<A>(a1, a[4], a[5], a[6], a[7], bp1, bq1);
    adagrad_norms(out[0], d0, pp0, qq0, l2_p, l2_q, out + 2);
    adagrad_norms(out[1], d1, pp1, qq1, l2_p, l2_q, out + 4);
    if constexpr (!Keep) reload_barrier();
    update_rows<A, NV, Keep>(p0, q0, pv0, qv0, B(1.0f - a[2] * l2_p), bp0, B(1.0f - a[3] * l2_q), bq0);
    update_rows<A, NV, Keep>(p1, q1, pv1, qv1, B(1.0f - a[6] * l2_p), bp1, B(1.0f - a[7] * l2_q), bq1);
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
        tp = fmadd(gp, gp, tp);  // as in dot(): the same bits wherever the rows are
        tq = fmadd(gq, gq, tq);
    }
    g2[0] = tp;
    g2[1] = tq;
    return e;
}

template <class Loss>
constexpr int kLogistic = std::is_same_v<Loss, LogisticLoss> ? 1 : 0;

template <class A, class Loss>
float adagrad_general(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q,
                      float l2_p, float l2_q, float* g2) {
    return sgd_adagrad_general<A>(p, q, n, offset, target, lr_p, lr_q, l2_p, l2_q, kLogistic<Loss>, g2);
}

template <AdagradFn F>
void adagrad_pair_of(float* p0, float* q0, float* p1, float* q1, std::size_t n, const float* a, float l2_p,
                     float l2_q, float* out) {
    out[0] = F(p0, q0, n, a[0], a[1], a[2], a[3], l2_p, l2_q, out + 2);
    out[1] = F(p1, q1, n, a[4], a[5], a[6], a[7], l2_p, l2_q, out + 4);
}

template <class A, class Loss, std::size_t KeepNV, std::size_t... I>
AdagradFn adagrad_regs_fn(std::size_t nv, std::index_sequence<I...>) {
    static constexpr AdagradFn fns[] = {&adagrad_regs<A, I + 1, Loss, (I + 1 <= KeepNV)>...};
    return fns[nv - 1];
}
template <class A, class Loss, std::size_t KeepNV, std::size_t... I>
AdagradPairFn adagrad_pair_regs_fn(std::size_t nv, std::index_sequence<I...>) {
    static constexpr AdagradPairFn fns[] = {&adagrad_pair<A, I + 1, Loss, (2 * (I + 1) <= KeepNV)>...};
    return fns[nv - 1];
}

// The AdaGrad step for length n: specialised for 1 to kMaxStreamNV whole vectors, general otherwise.
template <class A, std::size_t KeepNV, class Loss>
AdagradFn adagrad_fn(std::size_t n) {
    constexpr std::size_t W = fbatch<A>::size;
    if (n % W == 0 && n / W - 1 < kMaxStreamNV)
        return adagrad_regs_fn<A, Loss, KeepNV>(n / W, std::make_index_sequence<kMaxStreamNV>{});
    return &adagrad_general<A, Loss>;
}

template <class A, std::size_t KeepNV, class Loss>
AdagradPairFn adagrad_pair_fn(std::size_t n) {
    constexpr std::size_t W = fbatch<A>::size;
    if (n % W == 0 && n / W - 1 < kMaxStreamNV)
        return adagrad_pair_regs_fn<A, Loss, KeepNV>(n / W, std::make_index_sequence<kMaxStreamNV>{});
    return &adagrad_pair_of<&adagrad_general<A, Loss>>;
}

template <class A, std::size_t KeepNV>
AdagradFn adagrad_for_length(std::size_t n, int logistic) {
    return logistic ? adagrad_fn<A, KeepNV, LogisticLoss>(n) : adagrad_fn<A, KeepNV, SquaredLoss>(n);
}

template <class A, std::size_t KeepNV>
AdagradPairFn adagrad_pair_for_length(std::size_t n, int logistic) {
    return logistic ? adagrad_pair_fn<A, KeepNV, LogisticLoss>(n) : adagrad_pair_fn<A, KeepNV, SquaredLoss>(n);
}

// The Table's per-call AdaGrad entry: chooses for this n and loss, then calls.
template <class A, std::size_t KeepNV>
float sgd_adagrad(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q,
                  float l2_p, float l2_q, int logistic, float* g2) {
    return adagrad_for_length<A, KeepNV>(n, logistic)(p, q, n, offset, target, lr_p, lr_q, l2_p, l2_q, g2);
}

// gram (Table::gram): four feature rows at a time. For each vector of columns [v, v + W) the four
// rows' vectors stay in registers while every row a < v + W of A takes four FMAs (one load and one
// store of A per four ratings), so row a gets the vectors from the one holding its diagonal up to
// padded(n). Each entry is the chain of FMAs over j in order, like the scalar sum (error
// <= ~m * eps * sum_j |w_j x_ja x_jc|, FMA rounding aside).
template <class A>
void gram(float* Am, std::size_t lda, float* b, const float* const* rows, const float* w, const float* c,
          std::size_t m, std::size_t n) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const std::size_t np = (n + 15) / 16 * 16;
    std::size_t j = 0;
    for (; j + 4 <= m; j += 4) {
        const float *x0 = rows[j], *x1 = rows[j + 1], *x2 = rows[j + 2], *x3 = rows[j + 3];
        const float w0 = w ? w[j] : 1.0f, w1 = w ? w[j + 1] : 1.0f, w2 = w ? w[j + 2] : 1.0f,
                    w3 = w ? w[j + 3] : 1.0f;
        const B c0(c[j]), c1(c[j + 1]), c2(c[j + 2]), c3(c[j + 3]);
        for (std::size_t v = 0; v < np; v += W) {
            const B X0 = B::load_unaligned(x0 + v), X1 = B::load_unaligned(x1 + v);
            const B X2 = B::load_unaligned(x2 + v), X3 = B::load_unaligned(x3 + v);
            B bv = B::load_unaligned(b + v);
            bv = xsimd::fma(c0, X0, bv);
            bv = xsimd::fma(c1, X1, bv);
            bv = xsimd::fma(c2, X2, bv);
            bv = xsimd::fma(c3, X3, bv);
            bv.store_unaligned(b + v);
            const std::size_t rows_here = std::min(n, v + W);
            for (std::size_t a = 0; a < rows_here; ++a) {
                float* ra = Am + a * lda + v;
                B acc = B::load_unaligned(ra);
                acc = xsimd::fma(B(w0 * x0[a]), X0, acc);
                acc = xsimd::fma(B(w1 * x1[a]), X1, acc);
                acc = xsimd::fma(B(w2 * x2[a]), X2, acc);
                acc = xsimd::fma(B(w3 * x3[a]), X3, acc);
                acc.store_unaligned(ra);
            }
        }
    }
    for (; j < m; ++j) {
        const float* x0 = rows[j];
        const float w0 = w ? w[j] : 1.0f;
        const B c0(c[j]);
        for (std::size_t v = 0; v < np; v += W) {
            const B X0 = B::load_unaligned(x0 + v);
            xsimd::fma(c0, X0, B::load_unaligned(b + v)).store_unaligned(b + v);
            const std::size_t rows_here = std::min(n, v + W);
            for (std::size_t a = 0; a < rows_here; ++a) {
                float* ra = Am + a * lda + v;
                xsimd::fma(B(w0 * x0[a]), X0, B::load_unaligned(ra)).store_unaligned(ra);
            }
        }
    }
}

// cholesky (Table::cholesky): right-looking on rows, as the scalar one; the trailing updates of row i
// (columns i..n-1) are axpy() on the row segments.
template <class A>
int cholesky(float* Am, std::size_t lda, std::size_t n) {
    for (std::size_t j = 0; j < n; ++j) {
        float* uj = Am + j * lda;
        const float d = uj[j];
        if (!(d > 0.0f)) return static_cast<int>(j + 1);
        const float s = std::sqrt(d), inv = 1.0f / s;
        uj[j] = s;
        for (std::size_t col = j + 1; col < n; ++col) uj[col] *= inv;
        for (std::size_t i = j + 1; i < n; ++i) axpy<A>(n - i, -uj[i], uj + i, Am + i * lda + i);
    }
    return 0;
}

// cholesky_solve (Table::cholesky_solve): forward substitution as axpy() on rows of U, back
// substitution as dot() with them.
template <class A>
void cholesky_solve(const float* U, std::size_t lda, std::size_t n, float* b) {
    for (std::size_t j = 0; j < n; ++j) {
        const float* uj = U + j * lda;
        b[j] /= uj[j];
        axpy<A>(n - j - 1, -b[j], uj + j + 1, b + j + 1);
    }
    for (std::size_t j = n; j-- > 0;) {
        const float* uj = U + j * lda;
        b[j] = (b[j] - dot<A>(uj + j + 1, b + j + 1, n - j - 1)) / uj[j];
    }
}

// Serving GEMM (Table::pack_panels, gemm_packed): panels of 2 vectors of items; a tile of MR rows x
// the panel keeps 2 MR accumulators in registers (MR = 6 with 16 registers, 12 with 32); each step t
// loads the panel's two vectors once and broadcasts each row's a[r][t].
template <class A>
constexpr std::size_t panel_width() { return 2 * fbatch<A>::size; }

template <class A>
void pack_panels(const float* B, std::size_t nb, std::size_t ldb, std::size_t k, float* out) {
    constexpr std::size_t P = panel_width<A>();
    for (std::size_t p0 = 0; p0 < nb; p0 += P) {
        float* o = out + p0 * k;
        const std::size_t w = std::min(P, nb - p0);
        for (std::size_t j = 0; j < w; ++j) {
            const float* b = B + (p0 + j) * ldb;
            for (std::size_t t = 0; t < k; ++t) o[t * P + j] = b[t];
        }
        for (std::size_t j = w; j < P; ++j)
            for (std::size_t t = 0; t < k; ++t) o[t * P + j] = 0.0f;
    }
}

// With thr, also hit[r] = 1 for each row of the tile with some score above its column's threshold
// (thr[j] for column j of the tile; NaN is never above); rows without one are left as they are.
template <class A, std::size_t MR>
[[gnu::always_inline]] inline void gemm_tile(const float* const* a, const float* panel, std::size_t k, float* c,
                                             std::size_t ldc, std::size_t w, const float* thr, std::uint8_t* hit) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const float* ar[MR];
    B s0[MR], s1[MR];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < MR; ++r) {
        ar[r] = a[r];
        s0[r] = B(0.0f);
        s1[r] = B(0.0f);
    }
    for (std::size_t t = 0; t < k; ++t) {
        const B b0 = B::load_unaligned(panel + t * 2 * W);
        const B b1 = B::load_unaligned(panel + t * 2 * W + W);
#pragma GCC unroll 16
        for (std::size_t r = 0; r < MR; ++r) {
            const B av(ar[r][t]);
            s0[r] = xsimd::fma(av, b0, s0[r]);
            s1[r] = xsimd::fma(av, b1, s1[r]);
        }
    }
    if (w == 2 * W) {
#pragma GCC unroll 16
        for (std::size_t r = 0; r < MR; ++r) {
            s0[r].store_unaligned(c + r * ldc);
            s1[r].store_unaligned(c + r * ldc + W);
        }
        if (thr) {  // one test for the tile, the rows only when it finds something
            const B t0 = B::load_unaligned(thr), t1 = B::load_unaligned(thr + W);
            auto any = (s0[0] > t0) || (s1[0] > t1);
#pragma GCC unroll 16
            for (std::size_t r = 1; r < MR; ++r) any = any || (s0[r] > t0) || (s1[r] > t1);
            if (xsimd::any(any))
                for (std::size_t r = 0; r < MR; ++r)
                    if (xsimd::any((s0[r] > t0) || (s1[r] > t1))) hit[r] = 1;
        }
    } else {
        alignas(64) float tmp[2 * W];
#pragma GCC unroll 16
        for (std::size_t r = 0; r < MR; ++r) {
            s0[r].store_aligned(tmp);
            s1[r].store_aligned(tmp + W);
            for (std::size_t j = 0; j < w; ++j) {
                c[r * ldc + j] = tmp[j];
                if (thr && tmp[j] > thr[j]) hit[r] = 1;
            }
        }
    }
}

// hit + r, or null without flags (no arithmetic on a null pointer).
inline std::uint8_t* hit_at(std::uint8_t* hit, std::size_t r) { return hit ? hit + r : nullptr; }

// The rows of a (< MR) left after the whole tiles, against one panel, by tiles of 8, 4, 2, 1.
template <class A, std::size_t MR>
void gemm_rest(const float* const* a, std::size_t m, std::size_t r, const float* panel, std::size_t k, float* c,
               std::size_t ldc, std::size_t w, const float* thr, std::uint8_t* hit) {
    if constexpr (MR > 8)
        if (m - r >= 8) gemm_tile<A, 8>(a + r, panel, k, c + r * ldc, ldc, w, thr, hit_at(hit, r)), r += 8;
    if (m - r >= 4) gemm_tile<A, 4>(a + r, panel, k, c + r * ldc, ldc, w, thr, hit_at(hit, r)), r += 4;
    if (m - r >= 2) gemm_tile<A, 2>(a + r, panel, k, c + r * ldc, ldc, w, thr, hit_at(hit, r)), r += 2;
    if (m - r >= 1) gemm_tile<A, 1>(a + r, panel, k, c + r * ldc, ldc, w, thr, hit_at(hit, r));
}

// Every cache line of rows a[0 .. n) (k floats each) asked into L1.
[[gnu::always_inline]] inline void prefetch_rows(const float* const* a, std::size_t n, std::size_t k) {
    constexpr std::uintptr_t line = 64;
    for (std::size_t r = 0; r < n; ++r) {
        const auto first = reinterpret_cast<std::uintptr_t>(a[r]) & ~(line - 1);
        const auto end = reinterpret_cast<std::uintptr_t>(a[r] + k);
        for (std::uintptr_t p = first; p < end; p += line) __builtin_prefetch(reinterpret_cast<const void*>(p), 0, 3);
    }
}

// The rows' tiles outside, the panels inside, by groups of panels of about 16 KB: a tile of MR rows
// runs through every panel of the group while its rows stay in L1 (the group's panels stay there too),
// and the next tile's rows are prefetched meanwhile, so rows streaming from memory are fetched once per
// group ahead of their use. (Panels outside instead, the rows' first pass waits on memory: 64 users at
// AVX2 on a Zen 5, 1.7 ms against 1.25 a query.) With thr, the tiles flag their rows in hit as they
// store them (gemm_tile), so the caller's scan skips the rows without a score above its threshold.
template <class A>
void gemm_packed(const float* const* a, std::size_t m, const float* panels, std::size_t nb, std::size_t k, float* C,
                 std::size_t ldc, const float* thr, std::uint8_t* hit) {
    constexpr std::size_t P = panel_width<A>();
#if defined(__AVX512F__)
    constexpr std::size_t MR = fbatch<A>::size == 16 ? 12 : 6;
#else
    constexpr std::size_t MR = 6;
#endif
    if (thr) std::fill(hit, hit + m, std::uint8_t(0));
    const std::size_t np = (nb + P - 1) / P;
    const std::size_t group = std::max<std::size_t>(1, 4096 / (P * std::max<std::size_t>(k, 1)));
    for (std::size_t g0 = 0; g0 < np; g0 += group) {
        const std::size_t g1 = std::min(np, g0 + group);
        std::size_t r = 0;
        for (; r + MR <= m; r += MR) {
            prefetch_rows(a + r + MR, std::min(MR, m - r - MR), k);
            for (std::size_t p = g0; p < g1; ++p)
                gemm_tile<A, MR>(a + r, panels + p * P * k, k, C + r * ldc + p * P, ldc, std::min(P, nb - p * P),
                                 thr ? thr + p * P : nullptr, hit_at(hit, r));
        }
        for (std::size_t p = g0; p < g1; ++p)
            gemm_rest<A, MR>(a, m, r, panels + p * P * k, k, C + p * P, ldc, std::min(P, nb - p * P),
                             thr ? thr + p * P : nullptr, hit);
    }
}

// find_above: one compare per vector, scalar only around a hit.
template <class A>
std::size_t find_above(const float* s, std::size_t n, float thr) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const B tv(thr);
    std::size_t j = 0;
    for (; j + 2 * W <= n; j += 2 * W)
        if (xsimd::any((B::load_unaligned(s + j) > tv) || (B::load_unaligned(s + j + W) > tv))) break;
    for (; j < n; ++j)
        if (s[j] > thr) return j;
    return n;
}

// find_above_rows: a row's lanes against their thresholds, one compare per vector.
template <class A>
std::size_t find_above_rows(const float* C, std::size_t rows, std::size_t width, std::size_t ld, const float* thr) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* c = C + r * ld;
        std::size_t l = 0;
        for (; l + W <= width; l += W)
            if (xsimd::any(B::load_unaligned(c + l) > B::load_unaligned(thr + l))) return r;
        for (; l < width; ++l)
            if (c[l] > thr[l]) return r;
    }
    return rows;
}

// Fused BPR step for rows of NV whole vectors: d = qi - qj, acc = p * d, x = offset + sum, g = sigmoid(-x),
// then the three updates in one pass with t = lr_q g p computed once per vector:
//   p' = (1 - lr_p l2_p) p + lr_p g d,   qi' = (1 - lr_q l2_q) qi + t,   qj' = (1 - lr_q l2_q) qj - t
// (7 vector FP operations per vector: the dot's subtraction and FMA, the update's 2 multiplies and 3 FMAs).
// Keep = 2: the three rows stay in registers from the dot to the update (3 NV vectors); Keep = 1: only d
// (NV vectors; the update reads p, qi, qj again from L1, qi and qj as FMA memory operands); Keep = 0: d is
// recomputed.
template <class A, std::size_t NV, int Keep>
[[gnu::always_inline]] inline float bpr_step(float* p, float* qi, float* qj, float offset, float lr_p, float lr_q,
                                             float l2_p, float l2_q) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    constexpr std::size_t NA = NV < 4 ? NV : 4;
    constexpr std::size_t NK = Keep == 2 ? NV : 1, ND = Keep >= 1 ? NV : 1;
    B pv[NK], iv[NK], jv[NK], dv[ND], acc[4];
#pragma GCC unroll 32
    for (std::size_t v = 0; v < NV; ++v) {
        const B a = B::load_unaligned(p + v * W), b = B::load_unaligned(qi + v * W), c = B::load_unaligned(qj + v * W);
        const B d = b - c;
        if constexpr (Keep == 2) pv[v] = a, iv[v] = b, jv[v] = c;
        if constexpr (Keep >= 1) dv[v] = d;
        if (v < NA) acc[v] = a * d;
        else acc[v % NA] = xsimd::fma(a, d, acc[v % NA]);
    }
    const float g = sigmoid_inline(-(offset + hsum<A>(tree<A, NA>(acc))));
    if constexpr (Keep < 2) reload_barrier();
    const B ap(1.0f - lr_p * l2_p), aq(1.0f - lr_q * l2_q), bp(lr_p * g), bq(lr_q * g);
#pragma GCC unroll 32
    for (std::size_t v = 0; v < NV; ++v) {
        B a, b, c, d;
        if constexpr (Keep == 2) a = pv[v], b = iv[v], c = jv[v];
        else a = B::load_unaligned(p + v * W), b = B::load_unaligned(qi + v * W), c = B::load_unaligned(qj + v * W);
        if constexpr (Keep >= 1) d = dv[v];
        else d = b - c;
        const B t = bq * a;
        xsimd::fma(bp, d, ap * a).store_unaligned(p + v * W);
        xsimd::fma(aq, b, t).store_unaligned(qi + v * W);
        xsimd::fms(aq, c, t).store_unaligned(qj + v * W);
    }
    return g;
}

template <class A, std::size_t NV, int Keep>
[[gnu::noinline]] float bpr_regs(float* p, float* qi, float* qj, std::size_t /*n*/, float offset, float lr_p,
                                 float lr_q, float l2_p, float l2_q) {
    return bpr_step<A, NV, Keep>(p, qi, qj, offset, lr_p, lr_q, l2_p, l2_q);
}

// Fused BPR step for any n: vector body and scalar tail, the dot first, then the update.
template <class A>
[[gnu::noinline]] float bpr_general(float* p, float* qi, float* qj, std::size_t n, float offset, float lr_p,
                                    float lr_q, float l2_p, float l2_q) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    B acc(0.0f);
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        acc = xsimd::fma(B::load_unaligned(p + j), B::load_unaligned(qi + j) - B::load_unaligned(qj + j), acc);
    float x = hsum<A>(acc);
    for (std::size_t t = j; t < n; ++t) x += p[t] * (qi[t] - qj[t]);
    const float g = sigmoid_inline(-(offset + x));
    const float ap = 1.0f - lr_p * l2_p, aq = 1.0f - lr_q * l2_q, bp = lr_p * g, bq = lr_q * g;
    const B vap(ap), vaq(aq), vbp(bp), vbq(bq);
    for (j = 0; j + W <= n; j += W) {
        const B a = B::load_unaligned(p + j), b = B::load_unaligned(qi + j), c = B::load_unaligned(qj + j);
        const B t = vbq * a;
        xsimd::fma(vbp, b - c, vap * a).store_unaligned(p + j);
        xsimd::fma(vaq, b, t).store_unaligned(qi + j);
        xsimd::fms(vaq, c, t).store_unaligned(qj + j);
    }
    for (; j < n; ++j) {
        const float a = p[j], b = qi[j], c = qj[j];
        p[j] = ap * a + bp * (b - c);
        qi[j] = aq * b + bq * a;
        qj[j] = aq * c - bq * a;
    }
    return g;
}

template <class A, std::size_t KeepNV, std::size_t... I>
BprFn bpr_regs_fn(std::size_t nv, std::index_sequence<I...>) {
    // Three rows kept if they fit two rows' budget, d = qi - qj alone if it fits two rows' budget.
    static constexpr BprFn fns[] = {
        &bpr_regs<A, I + 1, (3 * (I + 1) <= 2 * KeepNV) ? 2 : (I + 1 <= 2 * KeepNV) ? 1 : 0>...};
    return fns[nv - 1];
}

template <class A, std::size_t KeepNV>
BprFn bpr_for_length(std::size_t n) {
    constexpr std::size_t W = fbatch<A>::size;
    if (n % W == 0 && n / W - 1 < kMaxStreamNV)
        return bpr_regs_fn<A, KeepNV>(n / W, std::make_index_sequence<kMaxStreamNV>{});
    return &bpr_general<A>;
}

// The BPR block loop with Step(p, qi, qj, offset) the fused step (inlined where it is bpr_step).
template <class Step>
[[gnu::always_inline]] inline void bpr_block_loop(BprBlock& b, Step step) {
    constexpr std::size_t kAhead = 16;
    float* const P = b.P;
    float* const Q = b.Q;
    float* const bi = b.bi;
    const std::size_t stride = b.stride, count = b.count, us = b.ui_step;
    const std::uint16_t* const ui = b.ui;
    const std::uint32_t* const J = b.j;
    const std::uint32_t u0 = b.u0, i0 = b.i0;
    const float lr = b.lr, l2b = b.l2b;
    double sum = b.loss_sum, prod = b.loss_prod;
    std::size_t steps = 0;
    auto fetch = [stride](const float* row) {
        const char* c = reinterpret_cast<const char*>(row);
        for (std::size_t off = 0; off < stride * sizeof(float); off += 64) __builtin_prefetch(c + off, 1, 3);
    };
    for (std::size_t t = 0; t < count; ++t) {
        if (b.prefetch && t + kAhead < count) {
            const std::size_t a = t + kAhead;
            fetch(P + (u0 + ui[a * us]) * stride);
            fetch(Q + (i0 + ui[a * us + 1]) * stride);
            if (J[a] != kBprSkip) fetch(Q + std::size_t(J[a]) * stride);
        }
        const std::uint32_t j = J[t];
        if (j == kBprSkip) continue;
        const std::uint32_t u = u0 + ui[t * us], i = i0 + ui[t * us + 1];
        const float off = bi ? bi[i] - bi[j] : 0.0f;
        const float g = step(P + std::size_t(u) * stride, Q + std::size_t(i) * stride, Q + std::size_t(j) * stride, off);
        if (bi) {
            bi[i] += lr * (g - l2b * bi[i]);
            bi[j] += lr * (-g - l2b * bi[j]);
        }
        prod *= std::max(1.0 - g, 1e-12);
        if (prod < 1e-280) {
            sum -= std::log(prod);
            prod = 1.0;
        }
        ++steps;
    }
    b.loss_sum = sum;
    b.loss_prod = prod;
    b.steps = steps;
}

template <class A, std::size_t NV, int Keep>
void bpr_block_regs(BprBlock& b) {
    const float lr = b.lr, l2 = b.l2;
    bpr_block_loop(b, [lr, l2](float* p, float* qi, float* qj, float off) __attribute__((always_inline)) {
        return bpr_step<A, NV, Keep>(p, qi, qj, off, lr, lr, l2, l2);
    });
}

template <class A>
void bpr_block_general(BprBlock& b) {
    const float lr = b.lr, l2 = b.l2;
    const std::size_t n = b.n;
    bpr_block_loop(b, [lr, l2, n](float* p, float* qi, float* qj, float off) {
        return bpr_general<A>(p, qi, qj, n, off, lr, lr, l2, l2);
    });
}

template <class A, std::size_t KeepNV, std::size_t... I>
BprBlockFn bpr_block_regs_fn(std::size_t nv, std::index_sequence<I...>) {  // Keep as bpr_regs_fn
    static constexpr BprBlockFn fns[] = {
        &bpr_block_regs<A, I + 1, (3 * (I + 1) <= 2 * KeepNV) ? 2 : (I + 1 <= 2 * KeepNV) ? 1 : 0>...};
    return fns[nv - 1];
}

template <class A, std::size_t KeepNV>
BprBlockFn bpr_block_for_length(std::size_t n) {
    constexpr std::size_t W = fbatch<A>::size;
    if (n % W == 0 && n / W - 1 < kMaxStreamNV)
        return bpr_block_regs_fn<A, KeepNV>(n / W, std::make_index_sequence<kMaxStreamNV>{});
    return &bpr_block_general<A>;
}

template <class A, std::size_t KeepNV>
float bpr(float* p, float* qi, float* qj, std::size_t n, float offset, float lr_p, float lr_q, float l2_p,
          float l2_q) {
    return bpr_for_length<A, KeepNV>(n)(p, qi, qj, n, offset, lr_p, lr_q, l2_p, l2_q);
}

// implicit_matvec (LinalgKernels::implicit_matvec) and implicit_cg. G v as a sum of G's rows scaled by
// v's entries (G is symmetric, so row a is column a): the columns in blocks of up to 8 vectors whose
// accumulators stay in registers over every row a (one broadcast of v[a] and NB loads of G per NB FMAs;
// no load and store of out per FMA), each entry one FMA chain over a in order. Then the event rows four
// at a time: their four dots with v (two accumulators each, so eight chains cover the FMA latency), then
// one pass over out adding the four rows, each entry in order j. Error per entry <= ~(n + m) * eps *
// sum|terms|.
template <class A, std::size_t NB>
[[gnu::always_inline]] inline void gv_block(const float* G, std::size_t lda, std::size_t n, const float* v,
                                            float* out, float scale, const float* add) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    B acc[NB];
#pragma GCC unroll 8
    for (std::size_t b = 0; b < NB; ++b) acc[b] = B(0.0f);
    for (std::size_t a = 0; a < n; ++a) {
        const B va(v[a]);
        const float* ga = G + a * lda;
#pragma GCC unroll 8
        for (std::size_t b = 0; b < NB; ++b) acc[b] = xsimd::fma(va, B::load_unaligned(ga + b * W), acc[b]);
    }
#pragma GCC unroll 8
    for (std::size_t b = 0; b < NB; ++b) {
        B o = acc[b];
        if (add != nullptr) o = xsimd::fma(B(scale), B::load_unaligned(add + b * W), o);
        o.store_unaligned(out + b * W);
    }
}

// out[0, np) = G v (+ scale * add, when add is given), np = padded(n).
template <class A>
inline void gv(const float* G, std::size_t lda, std::size_t n, std::size_t np, const float* v, float* out,
               float scale, const float* add) {
    constexpr std::size_t W = fbatch<A>::size;
    for (std::size_t c = 0; c < np; c += 8 * W) {
        const std::size_t nb = std::min<std::size_t>(8, (np - c) / W);
        const float* ad = add ? add + c : nullptr;
        switch (nb) {
            case 8: gv_block<A, 8>(G + c, lda, n, v, out + c, scale, ad); break;
            case 7: gv_block<A, 7>(G + c, lda, n, v, out + c, scale, ad); break;
            case 6: gv_block<A, 6>(G + c, lda, n, v, out + c, scale, ad); break;
            case 5: gv_block<A, 5>(G + c, lda, n, v, out + c, scale, ad); break;
            case 4: gv_block<A, 4>(G + c, lda, n, v, out + c, scale, ad); break;
            case 3: gv_block<A, 3>(G + c, lda, n, v, out + c, scale, ad); break;
            case 2: gv_block<A, 2>(G + c, lda, n, v, out + c, scale, ad); break;
            default: gv_block<A, 1>(G + c, lda, n, v, out + c, scale, ad); break;
        }
    }
}

// out[0, np) += (alpha_j + beta_j (x_j . v)) x_j over the m rows (alpha = nullptr: alpha_j = 0).
template <class A>
inline void events_update(const float* const* rows, const float* alpha, const float* beta, std::size_t m,
                          std::size_t np, const float* v, float* out) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    std::size_t j = 0;
    for (; j + 4 <= m; j += 4) {
        const float *x0 = rows[j], *x1 = rows[j + 1], *x2 = rows[j + 2], *x3 = rows[j + 3];
        B a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f), b0(0.0f), b1(0.0f), b2(0.0f), b3(0.0f);
        std::size_t c = 0;
        for (; c + 2 * W <= np; c += 2 * W) {
            const B v0 = B::load_unaligned(v + c), v1 = B::load_unaligned(v + c + W);
            a0 = xsimd::fma(B::load_unaligned(x0 + c), v0, a0);
            a1 = xsimd::fma(B::load_unaligned(x1 + c), v0, a1);
            a2 = xsimd::fma(B::load_unaligned(x2 + c), v0, a2);
            a3 = xsimd::fma(B::load_unaligned(x3 + c), v0, a3);
            b0 = xsimd::fma(B::load_unaligned(x0 + c + W), v1, b0);
            b1 = xsimd::fma(B::load_unaligned(x1 + c + W), v1, b1);
            b2 = xsimd::fma(B::load_unaligned(x2 + c + W), v1, b2);
            b3 = xsimd::fma(B::load_unaligned(x3 + c + W), v1, b3);
        }
        for (; c < np; c += W) {
            const B v0 = B::load_unaligned(v + c);
            a0 = xsimd::fma(B::load_unaligned(x0 + c), v0, a0);
            a1 = xsimd::fma(B::load_unaligned(x1 + c), v0, a1);
            a2 = xsimd::fma(B::load_unaligned(x2 + c), v0, a2);
            a3 = xsimd::fma(B::load_unaligned(x3 + c), v0, a3);
        }
        const B s0(beta[j] * hsum<A>(a0 + b0) + (alpha ? alpha[j] : 0.0f));
        const B s1(beta[j + 1] * hsum<A>(a1 + b1) + (alpha ? alpha[j + 1] : 0.0f));
        const B s2(beta[j + 2] * hsum<A>(a2 + b2) + (alpha ? alpha[j + 2] : 0.0f));
        const B s3(beta[j + 3] * hsum<A>(a3 + b3) + (alpha ? alpha[j + 3] : 0.0f));
        for (c = 0; c < np; c += W) {
            B o = B::load_unaligned(out + c);
            o = xsimd::fma(s0, B::load_unaligned(x0 + c), o);
            o = xsimd::fma(s1, B::load_unaligned(x1 + c), o);
            o = xsimd::fma(s2, B::load_unaligned(x2 + c), o);
            o = xsimd::fma(s3, B::load_unaligned(x3 + c), o);
            o.store_unaligned(out + c);
        }
    }
    for (; j < m; ++j) {
        const float* x = rows[j];
        B acc(0.0f);
        for (std::size_t c = 0; c < np; c += W) acc = xsimd::fma(B::load_unaligned(x + c), B::load_unaligned(v + c), acc);
        const B s(beta[j] * hsum<A>(acc) + (alpha ? alpha[j] : 0.0f));
        for (std::size_t c = 0; c < np; c += W)
            xsimd::fma(s, B::load_unaligned(x + c), B::load_unaligned(out + c)).store_unaligned(out + c);
    }
}

template <class A>
void implicit_matvec(const float* G, std::size_t lda, const float* const* rows, const float* w, std::size_t m,
                     std::size_t n, const float* v, float* out) {
    const std::size_t np = (n + 15) / 16 * 16;
    gv<A>(G, lda, n, np, v, out, 0.0f, nullptr);
    events_update<A>(rows, nullptr, w, m, np, v, out);
}

// implicit_cg (LinalgKernels::implicit_cg): the scalar reference's steps with the products above and
// the vector updates fused (x and r in one pass that also sums r.r).
template <class A>
void implicit_cg(const float* G, std::size_t lda, const float* const* rows, const float* wd, const float* c,
                 std::size_t m, std::size_t n, float reg, unsigned steps, float* x, float* scratch) {
    using B = fbatch<A>;
    constexpr std::size_t W = B::size;
    const std::size_t np = (n + 15) / 16 * 16;
    float *r = scratch, *p = scratch + np, *Ap = scratch + 2 * np, *nwd = scratch + 3 * np;
    // r = b - A x = sum_j (c_j - wd_j x_j.x) x_j - G x - reg x
    for (std::size_t j = 0; j < m; ++j) nwd[j] = -wd[j];
    gv<A>(G, lda, n, np, x, r, reg, x);
    B rs_acc(0.0f);
    for (std::size_t t = 0; t < np; t += W) {
        const B rv = -B::load_unaligned(r + t);
        rv.store_unaligned(r + t);
    }
    events_update<A>(rows, c, nwd, m, np, x, r);
    for (std::size_t t = 0; t < np; t += W) {
        const B rv = B::load_unaligned(r + t);
        rv.store_unaligned(p + t);
        rs_acc = xsimd::fma(rv, rv, rs_acc);
    }
    float rs = hsum<A>(rs_acc);
    for (unsigned step = 0; step < steps && rs > 1e-20f; ++step) {
        gv<A>(G, lda, n, np, p, Ap, reg, p);
        events_update<A>(rows, nullptr, wd, m, np, p, Ap);
        B pa(0.0f);
        for (std::size_t t = 0; t < np; t += W) pa = xsimd::fma(B::load_unaligned(p + t), B::load_unaligned(Ap + t), pa);
        const float pAp = hsum<A>(pa);
        if (!(pAp > 0.0f)) break;
        const float alpha = rs / pAp;
        const B va(alpha);
        B rn(0.0f);
        for (std::size_t t = 0; t < np; t += W) {
            const B pv = B::load_unaligned(p + t);
            xsimd::fma(va, pv, B::load_unaligned(x + t)).store_unaligned(x + t);
            const B rv = xsimd::fnma(va, B::load_unaligned(Ap + t), B::load_unaligned(r + t));
            rv.store_unaligned(r + t);
            rn = xsimd::fma(rv, rv, rn);
        }
        const float rs_new = hsum<A>(rn);
        const B beta(rs_new / rs);
        for (std::size_t t = 0; t < np; t += W)
            xsimd::fma(beta, B::load_unaligned(p + t), B::load_unaligned(r + t)).store_unaligned(p + t);
        rs = rs_new;
    }
}

// CRC-32C register update (VectorKernels::crc32c). The CRC32 instruction where this translation unit
// may use it (SSE4.2 and above: 8 bytes an instruction; ARMv8 with the CRC extension), else the
// scalar level's slicing-by-8 tables. The same bits either way.
inline std::uint32_t crc32c_update(std::uint32_t crc, const unsigned char* p, std::size_t n) {
#if defined(__SSE4_2__) && defined(__x86_64__)
    std::uint64_t c = crc;
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        __builtin_memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
    }
    crc = static_cast<std::uint32_t>(c);
    for (; n > 0; --n) crc = _mm_crc32_u8(crc, *p++);
    return crc;
#elif defined(__ARM_FEATURE_CRC32)
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        __builtin_memcpy(&w, p, 8);
        crc = __crc32cd(crc, w);
    }
    for (; n > 0; --n) crc = __crc32cb(crc, *p++);
    return crc;
#else
    return crc32c_soft(crc, p, n);
#endif
}

// The table of one level. MaxNV: longest row (in vectors) kept in registers through a fused step, such
// that p, q, the accumulators and the coefficients fit in the register file without spills: 4 with 16
// registers, 8 with 32 (AVX-512: 128 floats; holding 16 spilled). Longer rows, up to kMaxStreamNV
// vectors, are streamed (the update reloads them from L1); a pair keeps its rows if both fit.
template <class A, std::size_t MaxNV>
constexpr Table make_table(Level level, const char* name) {
    Table t{};
    t.dot = &dot<A>;
    t.axpy = &axpy<A>;
    t.dot_rows = &dot_rows<A>;
    t.sigmoid = &sigmoid<A>;
    t.crc32c = &crc32c_update;
#ifndef SIMDMF_SERVING_ONLY
    // The fused training steps (most of a level's code: one register-held version per row length). A
    // serving-only build (-Dtraining=false) leaves them null: nothing there trains.
    t.sgd_squared = &sgd<A, MaxNV, SquaredLoss>;
    t.sgd_logistic = &sgd<A, MaxNV, LogisticLoss>;
    t.sgd_adagrad = &sgd_adagrad<A, MaxNV>;
    t.sgd_for_length = &sgd_for_length<A, MaxNV>;
    t.sgd_pair_for_length = &sgd_pair_for_length<A, MaxNV>;
    t.adagrad_for_length = &adagrad_for_length<A, MaxNV>;
    t.adagrad_pair_for_length = &adagrad_pair_for_length<A, MaxNV>;
    t.bpr = &bpr<A, MaxNV>;
    t.bpr_for_length = &bpr_for_length<A, MaxNV>;
    t.bpr_block_for_length = &bpr_block_for_length<A, MaxNV>;
#endif
    t.gram = &gram<A>;
    t.cholesky = &cholesky<A>;
    t.cholesky_solve = &cholesky_solve<A>;
    t.implicit_matvec = &implicit_matvec<A>;
    t.implicit_cg = &implicit_cg<A>;
    t.panel = panel_width<A>();
    t.pack_panels = &pack_panels<A>;
    t.gemm_packed = &gemm_packed<A>;
    t.find_above = &find_above<A>;
    t.find_above_rows = &find_above_rows<A>;
    t.dot_rows_f16 = &dot_rows_f16;
    t.dot_rows_i8 = &dot_rows_i8;
    t.dot_rows_i8f = &dot_rows_i8f;
    t.f32_to_f16 = &f32_to_f16;
    t.f16_to_f32 = &f16_to_f32;
    t.i8_panel = 8;
    t.gemm_i8 = &gemm_i8;
    t.level = level;
    t.name = name;
    return t;
}

}  // namespace simdmf::kernels::SIMDMF_KERNEL_NS
