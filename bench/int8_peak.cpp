// The compute bound of the int8 batch GEMM against the fp32 one (issue 13), measured on this CPU: peak
// multiply-accumulates per nanosecond of each instruction mix a GEMM inner loop can use, every mix
// throughput-bound (8 or 12 independent accumulators, operands from registers and L1 broadcasts, as the
// kernels' inner loops have them), so the ratio of two rows is the best a compute-bound GEMM of one kind
// can do against the other on this core:
//   fp32 FMA (ymm, zmm)             8 / 16 MACs per instruction
//   AVX2 int8, sign trick           vpsignb + vpmaddubsw + vpmaddwd + vpaddd: 32 MACs per 4 ops (gemm_i8)
//   AVX2 int8, unsigned users       vpmaddubsw + vpmaddwd + vpaddd: 32 MACs per 3 ops (needs users < 128)
//   AVX-VNNI vpdpbusd ymm           32 MACs per op (where the CPU has avx_vnni)
//   AVX-512 VNNI vpdpbusd zmm       64 MACs per op (where the CPU has avx512_vnni)
// Run: build/bench/int8_peak [millions of iterations]; the figures are the best of 5 runs each.
#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

using Clock = std::chrono::steady_clock;
alignas(64) std::int32_t g_words[64];  // the broadcast operands (an item's 4 bytes in gemm_i8)
alignas(64) float g_floats[64];

// Each runs n iterations of 12 (ymm) or 24 (zmm) independent accumulations, two per broadcast operand
// (an item's value or 4 bytes, from L1 as in the kernels), and returns a value depending on all of them.
// The accumulators are named variables (an array here was kept in memory by GCC 12).
#define SIMDMF_ACC12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define SIMDMF_ACC24(X) SIMDMF_ACC12(X) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

[[gnu::target("avx2,fma"), gnu::noinline]] float fma_ymm(std::size_t n) {
#define DECL(i) __m256 a##i = _mm256_set1_ps(float(i));
    SIMDMF_ACC12(DECL)
#undef DECL
    __m256 b0 = _mm256_set1_ps(0.999f), b1 = _mm256_set1_ps(1.001f);
    for (std::size_t r = 0; r < n; ++r) {
        const float* f = g_floats + (r & 7) * 6;
#define STEP(i) a##i = _mm256_fmadd_ps(_mm256_broadcast_ss(f + (i) / 2), (i) % 2 ? b1 : b0, a##i);
        SIMDMF_ACC12(STEP)
#undef STEP
    }
    __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, a##i);
    SIMDMF_ACC12(SUM)
#undef SUM
    return _mm256_cvtss_f32(s);
}

[[gnu::target("avx512f"), gnu::noinline]] float fma_zmm(std::size_t n) {
#define DECL(i) __m512 a##i = _mm512_set1_ps(float(i));
    SIMDMF_ACC24(DECL)
#undef DECL
    const __m512 b0 = _mm512_set1_ps(0.999f), b1 = _mm512_set1_ps(1.001f);
    for (std::size_t r = 0; r < n; ++r) {
        const float* f = g_floats + (r & 3) * 12;
#define STEP(i) a##i = _mm512_fmadd_ps(_mm512_set1_ps(f[(i) / 2]), (i) % 2 ? b1 : b0, a##i);
        SIMDMF_ACC24(STEP)
#undef STEP
    }
    __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, a##i);
    SIMDMF_ACC24(SUM)
#undef SUM
    alignas(64) float o[16];  // (not _mm512_reduce_add_ps: GCC 12's spurious -Wuninitialized, bug 105593)
    _mm512_store_ps(o, s);
    return o[0] + o[15];
}

// The panels (users' bytes) the integer mixes load from L1, a new vector each iteration as in gemm_i8.
alignas(64) std::int8_t g_panels[64 * 64];

// The AVX2 gemm_i8 step: 4 item rows x 2 panels of 8 users, |u| once per group, sign(b, u) per row.
// Eight accumulators: one add of latency 1 carries each, and 16 registers hold no more with the operands.
[[gnu::target("avx2"), gnu::noinline]] float i8_sign(std::size_t n) {
#define DECL(i) __m256i c##i = _mm256_setzero_si256();
    SIMDMF_ACC12(DECL)
#undef DECL
    const __m256i ones = _mm256_set1_epi16(1);
    for (std::size_t r = 0; r < n; ++r) {
        const std::int8_t* p = g_panels + (r & 63) * 64;
        const __m256i u0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i u1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 32));
        const __m256i au0 = _mm256_sign_epi8(u0, u0), au1 = _mm256_sign_epi8(u1, u1);
        const std::int32_t* w = g_words + (r & 15) * 4;
#define STEP(i)                                                                                                   \
    if ((i) < 8)                                                                                                  \
        c##i = _mm256_add_epi32(                                                                                  \
            c##i, _mm256_madd_epi16(_mm256_maddubs_epi16((i) % 2 ? au1 : au0,                                     \
                                                         _mm256_sign_epi8(_mm256_set1_epi32(w[(i) / 2]),          \
                                                                          (i) % 2 ? u1 : u0)),                    \
                                    ones));
        SIMDMF_ACC12(STEP)
#undef STEP
    }
    __m256i s = _mm256_setzero_si256();
#define SUM(i) s = _mm256_add_epi32(s, c##i);
    SIMDMF_ACC12(SUM)
#undef SUM
    return float(_mm256_extract_epi32(s, 0));
}

// maddubs on unsigned users (no sign): 4 rows x 2 panels.
[[gnu::target("avx2"), gnu::noinline]] float i8_unsigned(std::size_t n) {
#define DECL(i) __m256i c##i = _mm256_setzero_si256();
    SIMDMF_ACC12(DECL)
#undef DECL
    const __m256i ones = _mm256_set1_epi16(1);
    for (std::size_t r = 0; r < n; ++r) {
        const std::int8_t* p = g_panels + (r & 63) * 64;
        const __m256i u0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i u1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 32));
        const std::int32_t* w = g_words + (r & 15) * 4;
#define STEP(i)                                                                                                   \
    if ((i) < 8)                                                                                                  \
        c##i = _mm256_add_epi32(                                                                                  \
            c##i, _mm256_madd_epi16(_mm256_maddubs_epi16((i) % 2 ? u1 : u0, _mm256_set1_epi32(w[(i) / 2])), ones));
        SIMDMF_ACC12(STEP)
#undef STEP
    }
    __m256i s = _mm256_setzero_si256();
#define SUM(i) s = _mm256_add_epi32(s, c##i);
    SIMDMF_ACC12(SUM)
#undef SUM
    return float(_mm256_extract_epi32(s, 0));
}

// vpdpbusd through inline asm: GCC 12 copies the tied accumulator of the intrinsic through extra
// registers and the stack here, which would measure the compiler, not the core.
[[gnu::target("avx2,avxvnni"), gnu::noinline]] float vnni_ymm(std::size_t n) {
#define DECL(i) __m256i c##i = _mm256_setzero_si256();
    SIMDMF_ACC12(DECL)
#undef DECL
    for (std::size_t r = 0; r < n; ++r) {
        const std::int8_t* p = g_panels + (r & 63) * 64;
        const __m256i u0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i u1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 32));
        const std::int32_t* w = g_words + (r & 7) * 6;
#define STEP(i)                                                                                    \
    {                                                                                              \
        const __m256i b = _mm256_set1_epi32(w[(i) / 2]);                                           \
        asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(c##i) : "x"((i) % 2 ? u1 : u0), "x"(b));            \
    }
        SIMDMF_ACC12(STEP)
#undef STEP
    }
    __m256i s = _mm256_setzero_si256();
#define SUM(i) s = _mm256_add_epi32(s, c##i);
    SIMDMF_ACC12(SUM)
#undef SUM
    return float(_mm256_extract_epi32(s, 0));
}

[[gnu::target("avx512f,avx512bw,avx512vnni"), gnu::noinline]] float vnni_zmm(std::size_t n) {
#define DECL(i) __m512i c##i = _mm512_setzero_si512();
    SIMDMF_ACC24(DECL)
#undef DECL
    for (std::size_t r = 0; r < n; ++r) {
        const std::int8_t* p = g_panels + (r & 31) * 128;
        const __m512i u0 = _mm512_load_si512(p), u1 = _mm512_load_si512(p + 64);
        const std::int32_t* w = g_words + (r & 3) * 12;
#define STEP(i)                                                                                    \
    {                                                                                              \
        const __m512i b = _mm512_set1_epi32(w[(i) / 2]);                                           \
        asm("vpdpbusd %2, %1, %0" : "+v"(c##i) : "v"((i) % 2 ? u1 : u0), "v"(b));                  \
    }
        SIMDMF_ACC24(STEP)
#undef STEP
    }
    __m512i s = _mm512_setzero_si512();
#define SUM(i) s = _mm512_add_epi32(s, c##i);
    SIMDMF_ACC24(SUM)
#undef SUM
    alignas(64) std::int32_t o[16];
    _mm512_store_si512(o, s);
    return float(o[0] + o[15]);
}

struct Mix {
    const char* name;
    float (*run)(std::size_t);
    double macs_per_iter;  // multiply-accumulates per loop iteration
    bool available;
};

}  // namespace

// AVX-VNNI: cpuid leaf 7, sub-leaf 1, EAX bit 4 (clang 14's __builtin_cpu_supports has no "avxvnni").
static bool has_avx_vnni() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
    return ((a >> 4) & 1u) != 0;
}

int main(int argc, char** argv) {
    const std::size_t n = std::size_t(argc > 1 ? std::atof(argv[1]) : 20.0) * 1000000;
    for (int i = 0; i < 64; ++i) {
        g_words[i] = 0x01020304 * (i + 1);
        g_floats[i] = 1.0f + float(i) * 1e-3f;
    }
    for (int i = 0; i < 64 * 64; ++i) g_panels[i] = static_cast<std::int8_t>((i * 37) % 255 - 127);
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    const Mix mixes[] = {
        {"fp32 FMA ymm (8 MACs/op)", fma_ymm, 12 * 8, true},
        {"fp32 FMA zmm (16 MACs/op)", fma_zmm, 24 * 16, avx512},
        {"AVX2 int8 sign+maddubs+madd+add (gemm_i8)", i8_sign, 8 * 32, true},
        {"AVX2 int8 maddubs+madd+add (unsigned users)", i8_unsigned, 8 * 32, true},
        {"AVX-VNNI vpdpbusd ymm", vnni_ymm, 12 * 32, has_avx_vnni()},
        {"AVX-512 VNNI vpdpbusd zmm", vnni_zmm, 24 * 64, avx512 && __builtin_cpu_supports("avx512vnni")},
    };
    double rate[6] = {0};
    float sink = 0;
    for (int m = 0; m < 6; ++m) {
        if (!mixes[m].available) continue;
        double best = 1e30;
        for (int rep = 0; rep < 5; ++rep) {
            const auto t0 = Clock::now();
            sink += mixes[m].run(n);
            best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
        }
        rate[m] = mixes[m].macs_per_iter * double(n) / best * 1e-9;
    }
    std::printf("%-46s %12s %14s %14s\n", "instruction mix", "GMAC/s", "vs FMA ymm", "vs FMA zmm");
    for (int m = 0; m < 6; ++m) {
        if (!mixes[m].available) {
            std::printf("%-46s %12s\n", mixes[m].name, "(absent)");
            continue;
        }
        std::printf("%-46s %12.1f %13.2fx", mixes[m].name, rate[m], rate[m] / rate[0]);
        if (rate[1] > 0) std::printf(" %13.2fx", rate[m] / rate[1]);
        std::printf("\n");
    }
    return sink == 12345.0f ? 1 : 0;
}
