// Run-time choice of the kernel level: what is compiled in (SIMDMF_HAVE_KERNELS_* macros), what the
// CPU reports (cpuid) and what the OS saves on context switches (xgetbv), lowered on request by the
// environment variable SIMDMF_SIMD. Compiled with baseline flags only.
#include <math.h>  // ::expf

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/kernels.hpp"
#include "kernels/tables.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SIMDMF_X86 1
#endif

namespace simdmf::kernels {
namespace {

constexpr Level kAllLevels[] = {Level::scalar, Level::sse2, Level::sse4_2,
                                Level::avx2,   Level::avx512, Level::neon};

#ifdef SIMDMF_X86
struct X86Support {
    bool sse2 = false, sse4_2 = false, avx2 = false, avx512 = false;
    bool avx_vnni = false, avx512_vnni = false;  // vpdpbusd on ymm (VEX) / on zmm (EVEX)
};

std::uint64_t read_xcr0() {
    std::uint32_t eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (std::uint64_t(edx) << 32) | eax;
}

X86Support detect_x86() {
    X86Support s;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return s;
    const bool sse3 = ecx & (1u << 0), ssse3 = ecx & (1u << 9), fma = ecx & (1u << 12);
    const bool sse41 = ecx & (1u << 19), sse42 = ecx & (1u << 20), popcnt = ecx & (1u << 23);
    const bool osxsave = ecx & (1u << 27), avx = ecx & (1u << 28), f16c = ecx & (1u << 29);
    s.sse2 = edx & (1u << 26);
    s.sse4_2 = s.sse2 && sse3 && ssse3 && sse41 && sse42 && popcnt;

    // OS support: XCR0 bits 1 (SSE) and 2 (AVX) for ymm state; 5, 6, 7 (opmask, zmm0-15 high,
    // zmm16-31) for AVX-512 state. xgetbv is only legal when OSXSAVE is set.
    const std::uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool os_avx = (xcr0 & 0x6) == 0x6;
    const bool os_avx512 = (xcr0 & 0xE6) == 0xE6;

    unsigned b7 = 0, c7 = 0, a71 = 0;
    if (__get_cpuid_max(0, nullptr) >= 7) {
        unsigned a7 = 0, d7 = 0, b71 = 0, c71 = 0, d71 = 0;
        __cpuid_count(7, 0, a7, b7, c7, d7);
        if (a7 >= 1) __cpuid_count(7, 1, a71, b71, c71, d71);
    }
    const bool avx2 = b7 & (1u << 5);
    const bool avx512f = b7 & (1u << 16), avx512dq = b7 & (1u << 17);
    const bool avx512cd = b7 & (1u << 28), avx512bw = b7 & (1u << 30);

    s.avx2 = s.sse4_2 && osxsave && os_avx && avx && avx2 && fma && f16c;  // F16C: the fp16 tables
    s.avx512 = s.avx2 && os_avx512 && avx512f && avx512dq && avx512cd && avx512bw;
    s.avx_vnni = s.avx2 && (a71 & (1u << 4));
    s.avx512_vnni = s.avx512 && (c7 & (1u << 11));
    return s;
}

const X86Support& x86_support() {
    static const X86Support s = detect_x86();
    return s;
}
#endif

bool cpu_supports(Level level) {
    switch (level) {
        case Level::scalar: return true;
#ifdef SIMDMF_X86
        case Level::sse2: return x86_support().sse2;
        case Level::sse4_2: return x86_support().sse4_2;
        case Level::avx2: return x86_support().avx2;
        case Level::avx512: return x86_support().avx512;
#endif
#if defined(__aarch64__)
        case Level::neon: return true;  // Advanced SIMD is mandatory on AArch64
#endif
        default: return false;
    }
}

const Table* compiled_table(Level level) {
    switch (level) {
#ifdef SIMDMF_HAVE_KERNELS_SCALAR
        case Level::scalar: return &table_scalar();
#endif
#ifdef SIMDMF_HAVE_KERNELS_SSE2
        case Level::sse2: return &table_sse2();
#endif
#ifdef SIMDMF_HAVE_KERNELS_SSE42
        case Level::sse4_2: return &table_sse42();
#endif
#ifdef SIMDMF_HAVE_KERNELS_AVX2
        case Level::avx2: return &table_avx2();
#endif
#ifdef SIMDMF_HAVE_KERNELS_AVX512
        case Level::avx512: return &table_avx512();
#endif
#ifdef SIMDMF_HAVE_KERNELS_NEON
        case Level::neon: return &table_neon();
#endif
        default: return nullptr;
    }
}

// The first choice: the best level, or the one SIMDMF_SIMD asks for when it is compiled in and supported.
const Table* initial_table() {
    const Table* best = table_for(best_supported());
    const char* env = std::getenv("SIMDMF_SIMD");
    if (env == nullptr || *env == '\0') return best;
    Level wanted;
    if (!parse_level(env, &wanted)) {
        std::fprintf(stderr, "simdmf: SIMDMF_SIMD=%s is not a level (scalar, sse2, sse4.2, avx2, avx512, neon); "
                     "using %s\n", env, best->name);
        return best;
    }
    const Table* t = table_for(wanted);
    if (t == nullptr) {
        char why[160];
        unavailable_reason(wanted, why, sizeof why);
        std::fprintf(stderr, "simdmf: SIMDMF_SIMD=%s: %s; using %s\n", env, why, best->name);
        return best;
    }
    return t;
}

std::atomic<const Table*> g_active{nullptr};

bool iequals(const char* a, const char* b) {
    for (; *a && *b; ++a, ++b)
        if (std::tolower(static_cast<unsigned char>(*a)) != std::tolower(static_cast<unsigned char>(*b)))
            return false;
    return *a == *b;
}

}  // namespace

// From the build's macros only: building a level's table runs that level's code.
bool compiled_in(Level level) {
    switch (level) {
        case Level::scalar: return true;
#ifdef SIMDMF_HAVE_KERNELS_SSE2
        case Level::sse2: return true;
#endif
#ifdef SIMDMF_HAVE_KERNELS_SSE42
        case Level::sse4_2: return true;
#endif
#ifdef SIMDMF_HAVE_KERNELS_AVX2
        case Level::avx2: return true;
#endif
#ifdef SIMDMF_HAVE_KERNELS_AVX512
        case Level::avx512: return true;
#endif
#ifdef SIMDMF_HAVE_KERNELS_NEON
        case Level::neon: return true;
#endif
        default: return false;
    }
}

void unavailable_reason(Level level, char* buf, std::size_t size) {
    if (size == 0) return;
    if (compiled_in(level)) {
        std::snprintf(buf, size, "%s is not supported by this CPU or OS", level_name(level));
        return;
    }
    int n = std::snprintf(buf, size, "%s is not compiled into this build (meson option simd_levels); compiled in:",
                          level_name(level));
    for (Level l : kAllLevels)
        if (compiled_in(l) && n >= 0 && static_cast<std::size_t>(n) < size)
            n += std::snprintf(buf + n, size - n, " %s", level_name(l));
}

const Table* table_for(Level level) {
    // The CPU first: building a level's table runs that level's code (valgrind lacks AVX-512).
    return cpu_supports(level) ? compiled_table(level) : nullptr;
}

const Table* table_without_vnni(Level level) {
    if (table_for(level) == nullptr) return nullptr;
    switch (level) {
#ifdef SIMDMF_HAVE_KERNELS_AVX2
        case Level::avx2: return &table_avx2_no_vnni();
#endif
#ifdef SIMDMF_HAVE_KERNELS_AVX512
        case Level::avx512: return &table_avx512_no_vnni();
#endif
#ifdef SIMDMF_HAVE_KERNELS_NEON
        case Level::neon: return &table_neon_no_dotprod();  // the int8 kernels without sdot
#endif
        default: return table_for(level);
    }
}

bool vnni_allowed() {
    static const bool allowed = [] {
        const char* env = std::getenv("SIMDMF_VNNI");
        return env == nullptr || std::strcmp(env, "0") != 0;
    }();
    return allowed;
}

bool vnni_usable(Level level) {
    if (!vnni_allowed()) return false;
#ifdef SIMDMF_X86
    if (level == Level::avx2) return x86_support().avx_vnni;
    if (level == Level::avx512) return x86_support().avx512_vnni;
#endif
    (void)level;
    return false;
}

Level best_supported() {
    Level best = Level::scalar;
    for (Level l : kAllLevels)
        if (table_for(l) != nullptr && static_cast<int>(l) > static_cast<int>(best)) best = l;
    return best;
}

const Table& active() {
    const Table* t = g_active.load(std::memory_order_acquire);
    if (t != nullptr) return *t;
    static const Table* const first = initial_table();  // thread-safe, runs (and warns) once
    const Table* expected = nullptr;
    // A concurrent force_level wins over the first choice.
    if (g_active.compare_exchange_strong(expected, first, std::memory_order_acq_rel)) return *first;
    return *expected;
}

bool force_level(Level level) {
    const Table* t = table_for(level);
    if (t == nullptr) return false;
    g_active.store(t, std::memory_order_release);
    return true;
}

const char* level_name(Level level) {
    switch (level) {
        case Level::scalar: return "scalar";
        case Level::sse2: return "sse2";
        case Level::sse4_2: return "sse4.2";
        case Level::avx2: return "avx2";
        case Level::avx512: return "avx512";
        case Level::neon: return "neon";
    }
    return "unknown";
}

bool parse_level(const char* name, Level* out) {
    if (name == nullptr) return false;
    Level found;
    if (iequals(name, "sse42") || iequals(name, "sse4_2"))
        found = Level::sse4_2;
    else if (iequals(name, "avx512bw"))
        found = Level::avx512;
    else {
        bool ok = false;
        for (Level l : kAllLevels)
            if (iequals(name, level_name(l))) {
                found = l;
                ok = true;
                break;
            }
        if (!ok) return false;
    }
    if (out != nullptr) *out = found;
    return true;
}

float sigmoid(float z) {
    if (z >= 0.0f) return 1.0f / (1.0f + ::expf(-z));
    const float e = ::expf(z);
    return e / (1.0f + e);
}

}  // namespace simdmf::kernels
