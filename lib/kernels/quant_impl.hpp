// Kernels of the quantized tables (lib/models/quant.hpp): fp16 and int8 rows against a query, the int8
// batch GEMM (gemm_i8), and the fp16 <-> fp32 conversions. Included by every level's translation unit (the scalar one too), each of
// which defines SIMDMF_KERNEL_NS first; the vector paths are chosen by the TU's own flags: F16C + AVX2
// (the avx2 and avx512 levels), AVX2 maddubs/madd for int8 (sign trick: |x| . sign(q, x), exact for
// values in [-127, 127]), NEON (fp16 conversion; int8 rows and the batch GEMM by vmull/vmlal/vpadal, or
// sdot where the CPU or the compiler's target has the dot-product extension), plain loops otherwise. The VNNI variants (vpdpbusd: AVX-VNNI on
// 256-bit vectors for the avx2 level, AVX-512 VNNI for the avx512 level) are compiled with target
// attributes and chosen at run time by kernels_avx2.cpp / kernels_avx512.cpp when the CPU has them.
//
// Results: int8 sums are exact integers, so every level gives the same bits (the scale multiply is
// the same two float products everywhere); fp16 and float x int8 dots differ only by summation order.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__ARM_NEON)
#include <arm_neon.h>
#endif

namespace simdmf::kernels::SIMDMF_KERNEL_NS {

// IEEE binary16 <-> binary32, round to nearest even, subnormals, infinities and NaN (quiet) kept.
inline float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13) | (man ? 0x400000u : 0u);
    } else if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do {
                man <<= 1;
                ++e;
            } while (!(man & 0x400u));
            bits = sign | (std::uint32_t(127 - 15 - e) << 23) | ((man & 0x3FFu) << 13);
        }
    } else {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline std::uint16_t float_to_half(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t absx = x & 0x7FFFFFFFu;
    if (absx > 0x7F800000u) return sign | 0x7E00u | static_cast<std::uint16_t>((absx >> 13) & 0x3FFu);  // NaN
    if (absx >= 0x477FF000u) return sign | 0x7C00u;  // rounds to >= 65520: infinity
    if (absx < 0x38800000u) {                          // below 2^-14: subnormal half (or zero)
        if (absx < 0x33000000u) return sign;           // below 2^-25: rounds to zero
        const std::uint32_t e = absx >> 23, m = (absx & 0x7FFFFFu) | 0x800000u;
        const std::uint32_t shift = 126 - e;           // 14..24 bits dropped
        std::uint32_t r = m >> shift;
        const std::uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (r & 1u))) ++r;
        return sign | static_cast<std::uint16_t>(r);
    }
    std::uint32_t r = absx - 0x38000000u;  // rebias the exponent by 112
    const std::uint32_t rest = r & 0x1FFFu;
    r >>= 13;
    if (rest > 0x1000u || (rest == 0x1000u && (r & 1u))) ++r;  // may carry into the exponent: correct
    return sign | static_cast<std::uint16_t>(r);
}

inline void f16_to_f32(const std::uint16_t* in, float* out, std::size_t n) {
    std::size_t j = 0;
#if defined(__F16C__) && defined(__AVX2__)
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(out + j, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + j))));
#elif defined(__ARM_NEON) && defined(__aarch64__)
    for (; j + 4 <= n; j += 4) vst1q_f32(out + j, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(in + j))));
#endif
    for (; j < n; ++j) out[j] = half_to_float(in[j]);
}

inline void f32_to_f16(const float* in, std::uint16_t* out, std::size_t n) {
    std::size_t j = 0;
#if defined(__F16C__) && defined(__AVX2__)
    for (; j + 8 <= n; j += 8) {
        const __m256 v = _mm256_loadu_ps(in + j);
        // NaN keeps the scalar path's payload rule; everything else is the F16C conversion (RNE).
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0) break;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    }
#endif
    for (; j < n; ++j) out[j] = float_to_half(in[j]);
}

#if defined(__AVX2__)
// The four 8-lane sums of a0..a3 as one 4-lane vector.
[[gnu::always_inline]] inline __m128 hsum4_ps(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}
[[gnu::always_inline]] inline __m128i hsum4_epi32(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}
[[gnu::always_inline]] inline __m256i i8_madd(__m256i q, __m256i ax, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(q, x)), _mm256_set1_epi16(1));
}

// Four rows' dots with x over t < nv (a multiple of 8), each group of 8 elements widened to floats by
// cvt; lane c of the result is row c (q0 + c * stride). The four-row loop of dot_rows_f16 and dot_rows_i8f.
// Each row's loads one after the other (row-major, as fp32 dot_rows: faster on Zen 5; the same sums).
template <class T, class Cvt>
[[gnu::always_inline]] inline __m128 dot4_rows(const T* q0, std::size_t stride, const float* x, std::size_t nv,
                                               Cvt cvt) {
    const T *q1 = q0 + stride, *q2 = q1 + stride, *q3 = q2 + stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t t = 0; t < nv; t += 8) a0 = _mm256_fmadd_ps(cvt(q0 + t), _mm256_loadu_ps(x + t), a0);
    for (std::size_t t = 0; t < nv; t += 8) a1 = _mm256_fmadd_ps(cvt(q1 + t), _mm256_loadu_ps(x + t), a1);
    for (std::size_t t = 0; t < nv; t += 8) a2 = _mm256_fmadd_ps(cvt(q2 + t), _mm256_loadu_ps(x + t), a2);
    for (std::size_t t = 0; t < nv; t += 8) a3 = _mm256_fmadd_ps(cvt(q3 + t), _mm256_loadu_ps(x + t), a3);
    return hsum4_ps(a0, a1, a2, a3);
}
#endif

// out[r] = sum_t half(rows[r * stride + t]) * x[t], t < n.
inline void dot_rows_f16(const std::uint16_t* rows, std::size_t n_rows, std::size_t stride, const float* x,
                         std::size_t n, float* out) {
    std::size_t r = 0;
#if defined(__F16C__) && defined(__AVX2__)
    const std::size_t nv = n / 8 * 8;
    auto cvt = [](const std::uint16_t* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    };
    auto tail = [&](const std::uint16_t* q) {
        float s = 0.0f;
        for (std::size_t t = nv; t < n; ++t) s += half_to_float(q[t]) * x[t];
        return s;
    };
    for (; r + 4 <= n_rows; r += 4) {
        const std::uint16_t* q0 = rows + r * stride;
        __m128 s = dot4_rows(q0, stride, x, nv, cvt);
        if (nv < n)
            s = _mm_add_ps(s, _mm_setr_ps(tail(q0), tail(q0 + stride), tail(q0 + 2 * stride), tail(q0 + 3 * stride)));
        _mm_storeu_ps(out + r, s);
    }
    for (; r < n_rows; ++r) {
        const std::uint16_t* q = rows + r * stride;
        __m256 a = _mm256_setzero_ps();
        for (std::size_t t = 0; t < nv; t += 8) a = _mm256_fmadd_ps(cvt(q + t), _mm256_loadu_ps(x + t), a);
        const __m128 s = hsum4_ps(a, a, a, a);
        out[r] = _mm_cvtss_f32(s) + tail(q);
    }
#elif defined(__ARM_NEON) && defined(__aarch64__)
    const std::size_t nv = n / 4 * 4;
    for (; r < n_rows; ++r) {
        const std::uint16_t* q = rows + r * stride;
        float32x4_t a = vdupq_n_f32(0.0f), b = a;
        std::size_t t = 0;
        for (; t + 8 <= nv; t += 8) {
            a = vfmaq_f32(a, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(q + t))), vld1q_f32(x + t));
            b = vfmaq_f32(b, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(q + t + 4))), vld1q_f32(x + t + 4));
        }
        for (; t < nv; t += 4) a = vfmaq_f32(a, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(q + t))), vld1q_f32(x + t));
        float s = vaddvq_f32(vaddq_f32(a, b));
        for (; t < n; ++t) s += half_to_float(q[t]) * x[t];
        out[r] = s;
    }
#endif
    for (; r < n_rows; ++r) {
        const std::uint16_t* q = rows + r * stride;
        float s = 0.0f;
        for (std::size_t t = 0; t < n; ++t) s += half_to_float(q[t]) * x[t];
        out[r] = s;
    }
}

// The exact integer dot of one int8 row with x (values in [-127, 127]), without vectors.
inline std::int32_t dot_i8_plain(const std::int8_t* q, const std::int8_t* x, std::size_t from, std::size_t n) {
    std::int32_t s = 0;
    for (std::size_t t = from; t < n; ++t) s += std::int32_t(q[t]) * x[t];
    return s;
}

// out[r] = float(sum_t rows[r * stride + t] * x[t]) * (xscale * scale[r]): int8 rows (per-row scale)
// against an int8 query (its own scale), the integer sum exact. Values must lie in [-127, 127].
inline void dot_rows_i8(const std::int8_t* rows, std::size_t n_rows, std::size_t stride, const float* scale,
                        const std::int8_t* x, float xscale, std::size_t n, float* out) {
    std::size_t r = 0;
#if defined(__AVX2__)
    const std::size_t nv = n / 32 * 32;
    auto ld = [](const std::int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
    for (; r + 4 <= n_rows; r += 4) {
        const std::int8_t* q0 = rows + r * stride;
        const std::int8_t *q1 = q0 + stride, *q2 = q1 + stride, *q3 = q2 + stride;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        auto row = [&](const std::int8_t* q, __m256i a) {  // one row's loads after another (as dot4_rows)
            for (std::size_t t = 0; t < nv; t += 32) {
                const __m256i xv = ld(x + t);
                a = _mm256_add_epi32(a, i8_madd(ld(q + t), _mm256_sign_epi8(xv, xv), xv));
            }
            return a;
        };
        a0 = row(q0, a0), a1 = row(q1, a1), a2 = row(q2, a2), a3 = row(q3, a3);
        const __m128i sums = hsum4_epi32(a0, a1, a2, a3);
        if (nv == n) {  // no tail: the four scores as one vector, lane by lane the operations below
            const __m128 sc = _mm_mul_ps(_mm_set1_ps(xscale), _mm_loadu_ps(scale + r));
            _mm_storeu_ps(out + r, _mm_mul_ps(_mm_cvtepi32_ps(sums), sc));
            continue;
        }
        alignas(16) std::int32_t s[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(s), sums);
        const std::int8_t* q[4] = {q0, q1, q2, q3};
        for (int c = 0; c < 4; ++c)
            out[r + c] = float(s[c] + dot_i8_plain(q[c], x, nv, n)) * (xscale * scale[r + c]);
    }
#elif defined(__ARM_NEON) && defined(__aarch64__)
    const std::size_t nv = n / 16 * 16;
    for (; r < n_rows; ++r) {
        const std::int8_t* q = rows + r * stride;
        int32x4_t a = vdupq_n_s32(0);
        for (std::size_t t = 0; t < nv; t += 16) {
            const int8x16_t qv = vld1q_s8(q + t), xv = vld1q_s8(x + t);
#if defined(__ARM_FEATURE_DOTPROD)
            a = vdotq_s32(a, qv, xv);
#else
            a = vpadalq_s16(a, vmull_s8(vget_low_s8(qv), vget_low_s8(xv)));
            a = vpadalq_s16(a, vmull_high_s8(qv, xv));
#endif
        }
        out[r] = float(vaddvq_s32(a) + dot_i8_plain(q, x, nv, n)) * (xscale * scale[r]);
    }
#endif
    for (; r < n_rows; ++r) out[r] = float(dot_i8_plain(rows + r * stride, x, 0, n)) * (xscale * scale[r]);
}

// out[r] = scale[r] * sum_t float(rows[r * stride + t]) * x[t]: int8 rows dequantised against a float
// query (the other way of scoring an int8 table; bench_serve compares the two).
inline void dot_rows_i8f(const std::int8_t* rows, std::size_t n_rows, std::size_t stride, const float* scale,
                         const float* x, std::size_t n, float* out) {
    std::size_t r = 0;
#if defined(__AVX2__)
    const std::size_t nv = n / 8 * 8;
    auto cvt = [](const std::int8_t* p) {
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    };
    auto tail = [&](const std::int8_t* q) {
        float s = 0.0f;
        for (std::size_t t = nv; t < n; ++t) s += float(q[t]) * x[t];
        return s;
    };
    for (; r + 4 <= n_rows; r += 4) {
        const std::int8_t* q0 = rows + r * stride;
        alignas(16) float s[4];
        _mm_store_ps(s, dot4_rows(q0, stride, x, nv, cvt));
        for (int c = 0; c < 4; ++c) out[r + c] = (s[c] + tail(q0 + c * stride)) * scale[r + c];
    }
#endif
    for (; r < n_rows; ++r) {
        const std::int8_t* q = rows + r * stride;
        float s = 0.0f;
        for (std::size_t t = 0; t < n; ++t) s += float(q[t]) * x[t];
        out[r] = s * scale[r];
    }
}

// The batch's int8 scores, a small GEMM: C[j * ldc + l] = float(sum_t a_j[t] u_l[t]) * (ascale[j] * uscale[l])
// for the m item rows a_j = a + j * stride and the nu users (a multiple of the panel width W) packed by
// the caller: panel p (users pW .. pW + W - 1) at panels + p * W * stride holds, for each group g of 4
// coordinates, the W users' 4 bytes (user l's at (g * W + l) * 4). usum[l] = 128 * sum_t u_l[t] (the
// VNNI variant's correction). Values in [-127, 127]; the integer sums are exact, so every level and
// dot_rows_i8 give the same bits.
inline void gemm_i8(const std::int8_t* a, std::size_t m, std::size_t stride, const float* ascale,
                    const std::int8_t* panels, const std::int32_t* usum, const float* uscale, std::size_t nu,
                    std::size_t W, float* C, std::size_t ldc) {
    (void)usum;
    const std::size_t groups = stride / 4;
    std::size_t j = 0;
#if defined(__AVX2__)
    if (W == 8) {
        const __m256i ones = _mm256_set1_epi16(1);
        for (; j + 4 <= m; j += 4) {
            const std::int8_t* a0 = a + j * stride;
            for (std::size_t p = 0; p < nu; p += 16) {
                const bool two = p + 8 < nu;
                const std::int8_t* P0 = panels + p * stride;
                const std::int8_t* P1 = two ? P0 + 8 * stride : P0;
                __m256i c[4][2];
                for (int r = 0; r < 4; ++r) c[r][0] = c[r][1] = _mm256_setzero_si256();
                for (std::size_t g = 0; g < groups; ++g) {
                    const __m256i u0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P0 + g * 32));
                    const __m256i u1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P1 + g * 32));
                    const __m256i au0 = _mm256_sign_epi8(u0, u0), au1 = _mm256_sign_epi8(u1, u1);
                    for (int r = 0; r < 4; ++r) {
                        std::int32_t w;
                        std::memcpy(&w, a0 + r * stride + g * 4, 4);
                        const __m256i b = _mm256_set1_epi32(w);
                        c[r][0] = _mm256_add_epi32(c[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(au0, _mm256_sign_epi8(b, u0)), ones));
                        c[r][1] = _mm256_add_epi32(c[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(au1, _mm256_sign_epi8(b, u1)), ones));
                    }
                }
                const __m256 us0 = _mm256_loadu_ps(uscale + p), us1 = two ? _mm256_loadu_ps(uscale + p + 8) : us0;
                for (int r = 0; r < 4; ++r) {
                    const __m256 as = _mm256_set1_ps(ascale[j + r]);
                    float* out = C + (j + r) * ldc + p;
                    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_cvtepi32_ps(c[r][0]), _mm256_mul_ps(as, us0)));
                    if (two) _mm256_storeu_ps(out + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(c[r][1]), _mm256_mul_ps(as, us1)));
                }
            }
        }
    }
#elif defined(__ARM_NEON) && defined(__aarch64__)
    // Plain NEON (no dot-product extension; the sdot variant below when the CPU has it): tiles of 4 item
    // rows x 8 users. An item's 4 bytes of a group are broadcast to every lane and multiplied by the
    // panel's 8 users' 4 bytes into 16-bit products (vmull_s8); the products of two consecutive groups are
    // added in 16 bits (vmlal_s8: at most 2 x 127^2 = 32,258 in magnitude, within int16), then pairwise
    // into 32-bit lanes (vpadalq_s16), two lanes a user; vpaddq_s32 adds each user's two at the end.
    // Exact integer sums, so dot_rows_i8's bits.
    if (W == 8) {
        auto bcast = [](const std::int8_t* q) {
            std::int32_t w;
            std::memcpy(&w, q, 4);
            return vreinterpretq_s8_s32(vdupq_n_s32(w));
        };
        for (; j + 4 <= m; j += 4) {
            const std::int8_t* a0 = a + j * stride;
            for (std::size_t p = 0; p < nu; p += 8) {
                const std::int8_t* P = panels + p * stride;
                int32x4_t c[4][4];  // [row][users 0-1, 2-3, 4-5, 6-7]
                for (int r = 0; r < 4; ++r) c[r][0] = c[r][1] = c[r][2] = c[r][3] = vdupq_n_s32(0);
                std::size_t g = 0;
                for (; g + 2 <= groups; g += 2) {
                    const std::int8_t* U = P + g * 32;
                    const int8x16_t u0 = vld1q_s8(U), u1 = vld1q_s8(U + 16), v0 = vld1q_s8(U + 32), v1 = vld1q_s8(U + 48);
                    for (int r = 0; r < 4; ++r) {
                        const int8x16_t b = bcast(a0 + r * stride + g * 4), d = bcast(a0 + r * stride + g * 4 + 4);
                        const int8x8_t bl = vget_low_s8(b), dl = vget_low_s8(d);
                        c[r][0] = vpadalq_s16(c[r][0], vmlal_s8(vmull_s8(bl, vget_low_s8(u0)), dl, vget_low_s8(v0)));
                        c[r][1] = vpadalq_s16(c[r][1], vmlal_high_s8(vmull_high_s8(b, u0), d, v0));
                        c[r][2] = vpadalq_s16(c[r][2], vmlal_s8(vmull_s8(bl, vget_low_s8(u1)), dl, vget_low_s8(v1)));
                        c[r][3] = vpadalq_s16(c[r][3], vmlal_high_s8(vmull_high_s8(b, u1), d, v1));
                    }
                }
                if (g < groups) {  // an odd number of groups: the last one alone
                    const std::int8_t* U = P + g * 32;
                    const int8x16_t u0 = vld1q_s8(U), u1 = vld1q_s8(U + 16);
                    for (int r = 0; r < 4; ++r) {
                        const int8x16_t b = bcast(a0 + r * stride + g * 4);
                        c[r][0] = vpadalq_s16(c[r][0], vmull_s8(vget_low_s8(b), vget_low_s8(u0)));
                        c[r][1] = vpadalq_s16(c[r][1], vmull_high_s8(b, u0));
                        c[r][2] = vpadalq_s16(c[r][2], vmull_s8(vget_low_s8(b), vget_low_s8(u1)));
                        c[r][3] = vpadalq_s16(c[r][3], vmull_high_s8(b, u1));
                    }
                }
                const float32x4_t us0 = vld1q_f32(uscale + p), us1 = vld1q_f32(uscale + p + 4);
                for (int r = 0; r < 4; ++r) {
                    const float32x4_t as = vdupq_n_f32(ascale[j + r]);
                    float* o = C + (j + r) * ldc + p;
                    vst1q_f32(o, vmulq_f32(vcvtq_f32_s32(vpaddq_s32(c[r][0], c[r][1])), vmulq_f32(as, us0)));
                    vst1q_f32(o + 4, vmulq_f32(vcvtq_f32_s32(vpaddq_s32(c[r][2], c[r][3])), vmulq_f32(as, us1)));
                }
            }
        }
    }
#endif
    for (; j < m; ++j)
        for (std::size_t l = 0; l < nu; ++l) {
            const std::int8_t* u = panels + (l / W) * W * stride + (l % W) * 4;
            const std::int8_t* x = a + j * stride;
            std::int32_t sum = 0;
            for (std::size_t g = 0; g < groups; ++g)
                for (std::size_t b = 0; b < 4; ++b) sum += std::int32_t(x[g * 4 + b]) * u[g * W * 4 + b];
            C[j * ldc + l] = float(sum) * (ascale[j] * uscale[l]);
        }
}

#if defined(__AVX2__) && defined(__x86_64__)
// vpdpbusd (c += u8 a x s8 b, four bytes a lane) through inline asm: GCC 12 copies the accumulator of
// the intrinsics through extra registers (and, in larger tiles, the stack) at every call, which cost
// the VNNI tiles a quarter of their throughput (bench/int8_peak.cpp measures the instruction alone).
[[gnu::always_inline]] inline void dpbusd_vex(__m256i& c, __m256i a, __m256i b) {
    asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(c) : "x"(a), "x"(b));
}

// R item rows x nu users (W = 8 panels, two at a time) of gemm_i8 with AVX-VNNI: vpdpbusd(item bytes ^
// 0x80 broadcast, user panel) = sum (a + 128) u, less usum = 128 sum u; 2 R accumulators.
template <int R>
[[gnu::target("avx2,fma,avxvnni"), gnu::always_inline]] inline void gemm_i8_tile_avxvnni(
    const std::int8_t* a0, std::size_t stride, const float* ascale, const std::int8_t* panels,
    const std::int32_t* usum, const float* uscale, std::size_t nu, float* C, std::size_t ldc) {
    const std::size_t groups = stride / 4;
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (std::size_t p = 0; p < nu; p += 16) {
        const bool two = p + 8 < nu;
        const std::int8_t* P0 = panels + p * stride;
        const std::int8_t* P1 = two ? P0 + 8 * stride : P0;
        __m256i c0[R], c1[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm256_setzero_si256();
        for (std::size_t g = 0; g < groups; ++g) {
            const __m256i u0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P0 + g * 32));
            const __m256i u1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P1 + g * 32));
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                std::int32_t w;
                std::memcpy(&w, a0 + r * stride + g * 4, 4);
                const __m256i b = _mm256_xor_si256(_mm256_set1_epi32(w), flip);
                dpbusd_vex(c0[r], b, u0);
                dpbusd_vex(c1[r], b, u1);
            }
        }
        const __m256i s0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(usum + p));
        const __m256i s1 = two ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(usum + p + 8)) : s0;
        const __m256 us0 = _mm256_loadu_ps(uscale + p), us1 = two ? _mm256_loadu_ps(uscale + p + 8) : us0;
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m256 as = _mm256_set1_ps(ascale[r]);
            float* out = C + r * ldc + p;
            _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(c0[r], s0)), _mm256_mul_ps(as, us0)));
            if (two)
                _mm256_storeu_ps(out + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(c1[r], s1)), _mm256_mul_ps(as, us1)));
        }
    }
}

// gemm_i8 with AVX-VNNI (W = 8): tiles of 6 item rows x 16 users (12 accumulators, the 16 registers'
// worth), then 4, 2, 1 rows. Only called when the CPU reports avx_vnni (kernels_avx2.cpp).
[[gnu::target("avx2,fma,avxvnni")]] inline void gemm_i8_avxvnni(const std::int8_t* a, std::size_t m, std::size_t stride,
                                                               const float* ascale, const std::int8_t* panels,
                                                               const std::int32_t* usum, const float* uscale,
                                                               std::size_t nu, std::size_t W, float* C, std::size_t ldc) {
    if (W != 8) return gemm_i8(a, m, stride, ascale, panels, usum, uscale, nu, W, C, ldc);
    std::size_t j = 0;
    for (; j + 6 <= m; j += 6)
        gemm_i8_tile_avxvnni<6>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc);
    if (m - j >= 4)
        gemm_i8_tile_avxvnni<4>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc), j += 4;
    if (m - j >= 2)
        gemm_i8_tile_avxvnni<2>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc), j += 2;
    if (m - j >= 1) gemm_i8_tile_avxvnni<1>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc);
}
#endif

#if defined(__AVX512BW__) && defined(__x86_64__)
// dot_rows_i8 with AVX-512 VNNI on 256-bit vectors (AVX512VL): vpdpbusd(q ^ 0x80 as u8, x) = sum (q + 128)
// x, less 128 sum(x). Only called when the CPU reports avx512_vnni (kernels_avx512.cpp).
[[gnu::target("avx512vnni,avx512vl,avx512bw,avx512f")]] inline void dot_rows_i8_vnni(
    const std::int8_t* rows, std::size_t n_rows, std::size_t stride, const float* scale, const std::int8_t* x,
    float xscale, std::size_t n, float* out) {
    const std::size_t nv = n / 32 * 32;
    std::int32_t xsum = 0;
    for (std::size_t t = 0; t < nv; ++t) xsum += x[t];
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    auto ld = [](const std::int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
    std::size_t r = 0;
    for (; r + 4 <= n_rows; r += 4) {
        const std::int8_t* q0 = rows + r * stride;
        const std::int8_t *q1 = q0 + stride, *q2 = q1 + stride, *q3 = q2 + stride;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        // One row's loads after another (as dot4_rows; no lambda: it would not inherit this target).
        for (std::size_t t = 0; t < nv; t += 32) a0 = _mm256_dpbusd_epi32(a0, _mm256_xor_si256(ld(q0 + t), flip), ld(x + t));
        for (std::size_t t = 0; t < nv; t += 32) a1 = _mm256_dpbusd_epi32(a1, _mm256_xor_si256(ld(q1 + t), flip), ld(x + t));
        for (std::size_t t = 0; t < nv; t += 32) a2 = _mm256_dpbusd_epi32(a2, _mm256_xor_si256(ld(q2 + t), flip), ld(x + t));
        for (std::size_t t = 0; t < nv; t += 32) a3 = _mm256_dpbusd_epi32(a3, _mm256_xor_si256(ld(q3 + t), flip), ld(x + t));
        const __m128i sums = _mm_sub_epi32(hsum4_epi32(a0, a1, a2, a3), _mm_set1_epi32(128 * xsum));
        if (nv == n) {  // no tail: as dot_rows_i8
            const __m128 sc = _mm_mul_ps(_mm_set1_ps(xscale), _mm_loadu_ps(scale + r));
            _mm_storeu_ps(out + r, _mm_mul_ps(_mm_cvtepi32_ps(sums), sc));
            continue;
        }
        alignas(16) std::int32_t s[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(s), sums);
        const std::int8_t* q[4] = {q0, q1, q2, q3};
        for (int c = 0; c < 4; ++c)
            out[r + c] = float(s[c] + dot_i8_plain(q[c], x, nv, n)) * (xscale * scale[r + c]);
    }
    for (; r < n_rows; ++r) out[r] = float(dot_i8_plain(rows + r * stride, x, 0, n)) * (xscale * scale[r]);
}

// R item rows x nu users (W = 16 panels, two at a time) of gemm_i8 with AVX-512 VNNI: vpdpbusd(item
// bytes ^ 0x80 broadcast, user panel), less usum; 2 R accumulators.
[[gnu::always_inline]] inline void dpbusd_evex(__m512i& c, __m512i a, __m512i b) {
    asm("vpdpbusd %2, %1, %0" : "+v"(c) : "v"(a), "v"(b));  // asm: see dpbusd_vex
}

template <int R>
[[gnu::target("avx512vnni,avx512vl,avx512bw,avx512f"), gnu::always_inline]] inline void gemm_i8_tile_vnni(
    const std::int8_t* a0, std::size_t stride, const float* ascale, const std::int8_t* panels,
    const std::int32_t* usum, const float* uscale, std::size_t nu, float* C, std::size_t ldc) {
    const std::size_t groups = stride / 4;
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (std::size_t p = 0; p < nu; p += 32) {
        const bool two = p + 16 < nu;
        const std::int8_t* P0 = panels + p * stride;
        const std::int8_t* P1 = two ? P0 + 16 * stride : P0;
        __m512i c0[R], c1[R];
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm512_setzero_si512();
        for (std::size_t g = 0; g < groups; ++g) {
            const __m512i u0 = _mm512_loadu_si512(P0 + g * 64), u1 = _mm512_loadu_si512(P1 + g * 64);
#pragma GCC unroll 16
            for (int r = 0; r < R; ++r) {
                std::int32_t w;
                std::memcpy(&w, a0 + r * stride + g * 4, 4);
                const __m512i b = _mm512_xor_si512(_mm512_set1_epi32(w), flip);
                dpbusd_evex(c0[r], b, u0);
                dpbusd_evex(c1[r], b, u1);
            }
        }
        const __m512i s0 = _mm512_loadu_si512(usum + p), s1 = two ? _mm512_loadu_si512(usum + p + 16) : s0;
        const __m512 us0 = _mm512_loadu_ps(uscale + p), us1 = two ? _mm512_loadu_ps(uscale + p + 16) : us0;
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
            const __m512 as = _mm512_set1_ps(ascale[r]);
            float* out = C + r * ldc + p;
            _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c0[r], s0)), _mm512_mul_ps(as, us0)));
            if (two)
                _mm512_storeu_ps(out + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c1[r], s1)),
                                                         _mm512_mul_ps(as, us1)));
        }
    }
}

// gemm_i8 with VNNI on 512-bit vectors (W = 16): tiles of 12 item rows x 32 users (24 accumulators of
// the 32 registers), then 8, 4, 2, 1 rows. Only called when the CPU reports avx512_vnni.
[[gnu::target("avx512vnni,avx512vl,avx512bw,avx512f")]] inline void gemm_i8_vnni(
    const std::int8_t* a, std::size_t m, std::size_t stride, const float* ascale, const std::int8_t* panels,
    const std::int32_t* usum, const float* uscale, std::size_t nu, std::size_t W, float* C, std::size_t ldc) {
    if (W != 16) return gemm_i8(a, m, stride, ascale, panels, usum, uscale, nu, W, C, ldc);
    std::size_t j = 0;
    for (; j + 12 <= m; j += 12)
        gemm_i8_tile_vnni<12>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc);
    if (m - j >= 8) gemm_i8_tile_vnni<8>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc), j += 8;
    if (m - j >= 4) gemm_i8_tile_vnni<4>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc), j += 4;
    if (m - j >= 2) gemm_i8_tile_vnni<2>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc), j += 2;
    if (m - j >= 1) gemm_i8_tile_vnni<1>(a + j * stride, stride, ascale + j, panels, usum, uscale, nu, C + j * ldc, ldc);
}
#endif

#if defined(__ARM_NEON) && defined(__aarch64__) && !defined(__ARM_FEATURE_DOTPROD)
// The int8 kernels with the Armv8.2 dot-product instruction (sdot: four lanes, each += the dot of 4
// bytes), compiled for it by a target attribute and chosen at run time by kernels_neon.cpp when the CPU
// reports it (HWCAP_ASIMDDP); the same exact integer sums as the plain NEON ones, so the same bits.
// (A build whose compiler targets dotprod everywhere uses sdot in dot_rows_i8 itself.)
#define SIMDMF_NEON_SDOT_VARIANTS 1
[[gnu::target("arch=armv8.2-a+dotprod")]] inline void dot_rows_i8_sdot(
    const std::int8_t* rows, std::size_t n_rows, std::size_t stride, const float* scale, const std::int8_t* x,
    float xscale, std::size_t n, float* out) {
    const std::size_t nv = n / 16 * 16;
    std::size_t r = 0;
    for (; r + 4 <= n_rows; r += 4) {
        const std::int8_t* q0 = rows + r * stride;
        const std::int8_t *q1 = q0 + stride, *q2 = q1 + stride, *q3 = q2 + stride;
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
        for (std::size_t t = 0; t < nv; t += 16) {
            const int8x16_t xv = vld1q_s8(x + t);
            a0 = vdotq_s32(a0, vld1q_s8(q0 + t), xv);
            a1 = vdotq_s32(a1, vld1q_s8(q1 + t), xv);
            a2 = vdotq_s32(a2, vld1q_s8(q2 + t), xv);
            a3 = vdotq_s32(a3, vld1q_s8(q3 + t), xv);
        }
        out[r] = float(vaddvq_s32(a0) + dot_i8_plain(q0, x, nv, n)) * (xscale * scale[r]);
        out[r + 1] = float(vaddvq_s32(a1) + dot_i8_plain(q1, x, nv, n)) * (xscale * scale[r + 1]);
        out[r + 2] = float(vaddvq_s32(a2) + dot_i8_plain(q2, x, nv, n)) * (xscale * scale[r + 2]);
        out[r + 3] = float(vaddvq_s32(a3) + dot_i8_plain(q3, x, nv, n)) * (xscale * scale[r + 3]);
    }
    for (; r < n_rows; ++r) {
        const std::int8_t* q = rows + r * stride;
        int32x4_t a = vdupq_n_s32(0);
        for (std::size_t t = 0; t < nv; t += 16) a = vdotq_s32(a, vld1q_s8(q + t), vld1q_s8(x + t));
        out[r] = float(vaddvq_s32(a) + dot_i8_plain(q, x, nv, n)) * (xscale * scale[r]);
    }
}

// gemm_i8 with sdot on 8-user panels (W = 8): for each group of 4 coordinates an item's 4 bytes,
// broadcast to the four lanes, against the panel's two vectors of 4 users x 4 bytes; tiles of 4 items x
// 8 users (8 accumulators), the rest by the plain gemm_i8.
[[gnu::target("arch=armv8.2-a+dotprod")]] inline void gemm_i8_sdot(
    const std::int8_t* a, std::size_t m, std::size_t stride, const float* ascale, const std::int8_t* panels,
    const std::int32_t* usum, const float* uscale, std::size_t nu, std::size_t W, float* C, std::size_t ldc) {
    if (W != 8) return gemm_i8(a, m, stride, ascale, panels, usum, uscale, nu, W, C, ldc);
    const std::size_t groups = stride / 4;
    std::size_t j = 0;
    for (; j + 4 <= m; j += 4) {
        const std::int8_t* a0 = a + j * stride;
        for (std::size_t p = 0; p < nu; p += 8) {
            const std::int8_t* P = panels + p * stride;
            int32x4_t c[4][2];
            for (int r = 0; r < 4; ++r) c[r][0] = c[r][1] = vdupq_n_s32(0);
            for (std::size_t g = 0; g < groups; ++g) {
                const int8x16_t u0 = vld1q_s8(P + g * 32), u1 = vld1q_s8(P + g * 32 + 16);
                for (int r = 0; r < 4; ++r) {
                    std::int32_t w;
                    std::memcpy(&w, a0 + r * stride + g * 4, 4);
                    const int8x16_t b = vreinterpretq_s8_s32(vdupq_n_s32(w));
                    c[r][0] = vdotq_s32(c[r][0], b, u0);
                    c[r][1] = vdotq_s32(c[r][1], b, u1);
                }
            }
            const float32x4_t us0 = vld1q_f32(uscale + p), us1 = vld1q_f32(uscale + p + 4);
            for (int r = 0; r < 4; ++r) {
                const float32x4_t as = vdupq_n_f32(ascale[j + r]);
                float* o = C + (j + r) * ldc + p;
                vst1q_f32(o, vmulq_f32(vcvtq_f32_s32(c[r][0]), vmulq_f32(as, us0)));
                vst1q_f32(o + 4, vmulq_f32(vcvtq_f32_s32(c[r][1]), vmulq_f32(as, us1)));
            }
        }
    }
    if (j < m) gemm_i8(a + j * stride, m - j, stride, ascale + j, panels, usum, uscale, nu, W, C + j * ldc, ldc);
}
#endif

}  // namespace simdmf::kernels::SIMDMF_KERNEL_NS
