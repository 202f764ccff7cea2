// Exact top-10 inner-product search over 1M items x k = 64 fp32, simdmf against faiss IndexFlatIP
// (issue 13), one thread each, in one run: 1 user, batches of 64 and 1,024; the sides alternate
// round by round and each side's best round is reported (the machine is shared). Also this core's
// read bandwidth over the same table, and the one-user top-N's share of it; and, after the batches of
// 64 and 1,024, this core's FMA peak at simdmf's level (independent FMA chains, nothing loaded), which bounds
// any fp32 kernel's batch: items x k multiply-adds a query at that rate ("bound"), so faiss/bound is the
// largest faiss/simdmf ratio an exact fp32 batch could show in this run (the peak's best of `rounds`,
// measured right after each batch size's rounds).
// Build: meson configures it when libfaiss-dev and OpenBLAS are installed (bench/meson.build).
// Run:   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 build/bench/bench_serve [items] [rounds]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include <faiss/IndexFlat.h>
#include <immintrin.h>
#include <omp.h>

#include "kernels/kernels.hpp"
#include "serve_table.hpp"
#include "models/mf.hpp"
#include "serve/serve.hpp"

using namespace simdmf;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A read of every float of the table: eight independent vector sums (AVX2; what the hardware gives one
// core reading a table far larger than its caches).
__attribute__((target("avx2,fma"), noinline)) float read_sum(const float* x, std::size_t n) {
    typedef float v8 __attribute__((vector_size(32)));
    v8 s[8] = {};
    std::size_t j = 0;
    for (; j + 64 <= n; j += 64)
        for (int a = 0; a < 8; ++a) {
            v8 v;
            __builtin_memcpy(&v, x + j + 8 * a, sizeof v);
            s[a] += v;
        }
    float t = 0;
    for (int a = 0; a < 8; ++a)
        for (int l = 0; l < 8; ++l) t += s[a][l];
    for (; j < n; ++j) t += x[j];
    return t;
}

// n rounds of 12 independent FMA chains of 8 (AVX2) or 16 (AVX-512) lanes; multiply-adds a second.
__attribute__((target("avx2,fma"), noinline)) float fma_chains_avx2(std::size_t n, float seed) {
    __m256 a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(seed + float(i));
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (std::size_t r = 0; r < n; ++r)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
    for (int i = 1; i < 12; ++i) a[0] = _mm256_add_ps(a[0], a[i]);
    return _mm256_cvtss_f32(a[0]);
}
__attribute__((target("avx512f"), noinline)) float fma_chains_avx512(std::size_t n, float seed) {
    __m512 a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(seed + float(i));
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (std::size_t r = 0; r < n; ++r)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
    for (int i = 1; i < 12; ++i) a[0] = _mm512_add_ps(a[0], a[i]);
    return _mm512_cvtss_f32(a[0]);
}
double fma_peak_macs(bool avx512, volatile float& sink) {
    constexpr std::size_t n = 2000000;
    const auto t0 = Clock::now();
    sink = sink + (avx512 ? fma_chains_avx512(n, sink) : fma_chains_avx2(n, sink));
    return double(n) * 12 * (avx512 ? 16 : 8) / since(t0);
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint32_t n_items = argc > 1 ? std::atoi(argv[1]) : 1000000;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::uint32_t k = 64, n_users = 1024;
    const std::size_t topn = 10;
    omp_set_num_threads(1);

    MFModel m = serving_table(n_users, n_items, k);  // no biases: pure inner product, as IndexFlatIP
    if (m.stride != k) return std::fprintf(stderr, "stride %u != k\n", m.stride), 1;

    faiss::IndexFlatIP index(k);
    index.add(n_items, m.Q.data());

    std::printf("simdmf level %s; %u items x k = %u fp32 (%.0f MB); top-%zu; %d rounds, best of each side\n",
                kernels::active().name, n_items, k, n_items * k * 4.0 / 1e6, topn, rounds);
    // Read bandwidth of this core over the item table (best of `rounds`, alternating with the top-N).
    const double bytes = double(n_items) * k * sizeof(float);
    double bw_best = 1e30, one_best = 1e30;
    volatile float sink = 0;
    {
        std::vector<std::uint32_t> items(topn);
        std::vector<float> vals(topn);
        for (int r = 0; r < rounds * 2; ++r) {
            auto t0 = Clock::now();
            sink = sink + read_sum(m.Q.data(), std::size_t(n_items) * k);
            bw_best = std::min(bw_best, since(t0));
            t0 = Clock::now();
            serve::recommend_into(m, static_cast<std::uint32_t>(r % n_users), topn, serve::Filter{}, items.data(),
                                  vals.data());
            one_best = std::min(one_best, since(t0));
        }
    }
    std::printf("read bandwidth (1 core, vector sum): %.2f GB/s; one-user top-%zu: %.2f ms = %.2f GB/s = %.0f%% of it\n",
                bytes / bw_best / 1e9, topn, one_best * 1e3, bytes / one_best / 1e9, 100.0 * bw_best / one_best);

    const kernels::Level level = kernels::active().level;
    const bool fma_known = level == kernels::Level::avx2 || level == kernels::Level::avx512;
    std::printf("%-6s %14s %14s %10s %8s %10s %12s\n", "batch", "simdmf ms/q", "faiss ms/q", "faiss/simdmf", "agree",
                "bound ms/q", "faiss/bound");
    for (std::size_t B : {std::size_t(1), std::size_t(64), std::size_t(1024)}) {
        // One user: 8 different users a round; batches: one batch a round.
        const std::size_t calls = B == 1 ? 8 : 1;
        std::vector<std::uint32_t> users(B * calls);
        for (std::size_t b = 0; b < users.size(); ++b) users[b] = static_cast<std::uint32_t>((b * 131) % n_users);
        std::vector<float> queries(users.size() * k);
        for (std::size_t b = 0; b < users.size(); ++b)
            std::copy(m.user_row(users[b]), m.user_row(users[b]) + k, queries.begin() + b * k);
        std::vector<std::uint32_t> items(users.size() * topn);
        std::vector<float> vals(users.size() * topn);
        std::vector<std::size_t> counts(users.size());
        std::vector<float> D(users.size() * topn);
        std::vector<faiss::Index::idx_t> I(users.size() * topn);
        serve::Scratch scratch;
        double best_s = 1e30, best_f = 1e30, peak = 0;
        for (int r = 0; r < rounds; ++r) {
            auto t0 = Clock::now();
            for (std::size_t c = 0; c < calls; ++c)
                serve::recommend_batch(m, users.data() + c * B, B, topn, serve::Filter{}, scratch,
                                       items.data() + c * B * topn, topn, vals.data() + c * B * topn, topn,
                                       counts.data() + c * B);
            best_s = std::min(best_s, since(t0) / double(users.size()));
            t0 = Clock::now();
            for (std::size_t c = 0; c < calls; ++c)
                index.search(static_cast<faiss::Index::idx_t>(B), queries.data() + c * B * k, topn, D.data() + c * B * topn,
                             I.data() + c * B * topn);
            best_f = std::min(best_f, since(t0) / double(users.size()));
        }
        // Measured after the rounds, not between them (interleaved, it changed faiss's one-query times)
        for (int r = 0; r < rounds && fma_known && B > 1; ++r)
            peak = std::max(peak, fma_peak_macs(level == kernels::Level::avx512, sink));
        // Agreement of the two top-10 sets (float rounding may swap near-ties).
        std::size_t same = 0;
        for (std::size_t b = 0; b < users.size(); ++b) {
            std::set<long> a(I.begin() + b * topn, I.begin() + (b + 1) * topn);
            for (std::size_t j = 0; j < topn; ++j) same += a.count(items[b * topn + j]);
        }
        const double bound = peak > 0 ? double(n_items) * k / peak : 0.0;  // seconds a query at the FMA peak
        std::printf("%-6zu %14.3f %14.3f %10.2fx %8.3f", B, best_s * 1e3, best_f * 1e3, best_f / best_s,
                    double(same) / double(users.size() * topn));
        if (peak > 0) std::printf(" %10.3f %11.2fx", bound * 1e3, best_f / bound);  // (one user: memory-bound)
        std::printf("\n");
    }
    return sink == 12345.0f ? 1 : 0;
}
