// The FMA limit of bench_kernels, measured: 12 independent chains of 256-bit FMAs (enough to cover a
// 4-cycle latency on two pipes), compiled for AVX2 + FMA (bench/meson.build). A core issues at most 2
// such FMAs a cycle, so ns per FMA here = half a cycle; bench_kernels reports each fused step's time as a
// share of its FMA limit, 5 * ceil(k/8) vector ops (one dot FMA, two ops per row update) at this rate.
#include <immintrin.h>

#include <cstddef>

// Runs n rounds of 12 FMAs; returns a value that depends on all of them.
float fma_peak_avx2(std::size_t n, float seed) {
    __m256 a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(seed + float(i));
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (std::size_t r = 0; r < n; ++r) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    __m256 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
    return _mm256_cvtss_f32(s);
}
