// Kernel throughput on cached data: dot, sgd_squared and sgd_logistic at k = 8 ... 256 for every
// level this machine supports, against the textbook SGD loop (bench/textbook_scalar.cpp) compiled
// -O2 and auto-vectorised at -O3 (on x86-64 for each level's target: plain x86-64 = SSE2, v2, v3, v4;
// compare a level with the best -O3 variant that runs on it, i.e. whose target is that level or lower).
// Rows are the model's layout: 64-byte aligned, stride padded to 16 floats (zeros beyond k). 256 row
// pairs cycle (<= 512 KiB at k = 256: L1/L2). items_per_second = updates (or dots) per second.
//
// What is compared, per update, identically for both sides:
//   * the same rows, ratings and constants, one call per rating through a function pointer, in the
//     same loop; each call's return value is stored to its own slot of an array (no loop-carried
//     dependency: a running sum kept across an opaque call lives on the stack, and its store ->
//     load -> add chain alone costs ~3 ns an iteration here, which used to hide both sides at k = 8);
//   * the fused kernels as the trainer (lib/solvers/sgd.cpp) calls them: the function
//     Table::sgd_for_length(n) returns, with n = sgd_length(k) = k rounded up to 8 (the register path
//     specialised for that length, no dispatch on n per call);
//   * the textbook loop as such code is written: one function for any k, a runtime loop over k itself.
// dot is called with n = stride (as the GD solver calls it).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"
#include "kernels/kernels.hpp"

namespace kn = simdmf::kernels;

#define DECLARE_TEXTBOOK(name) float name(float* p, float* q, std::size_t k, float r, float lr, float l2);
DECLARE_TEXTBOOK(textbook_o2)
DECLARE_TEXTBOOK(textbook_o3)
DECLARE_TEXTBOOK(textbook_o3_v2)
DECLARE_TEXTBOOK(textbook_o3_v3)
DECLARE_TEXTBOOK(textbook_o3_v4)

namespace {

constexpr std::size_t kPairs = 256;
constexpr int kKs[] = {8, 16, 32, 64, 128, 256};
constexpr float kLr = 0.01f, kL2 = 0.05f;

// kPairs p rows and kPairs q rows, padded, with ratings; small positive values keep the SGD stable.
struct Rows {
    std::size_t stride;
    simdmf::AlignedFloats p, q;
    std::vector<float> r;
    std::vector<float> e = std::vector<float>(kPairs, 0.0f);  // what each call returns
    explicit Rows(int k) : stride(simdmf::padded_stride(static_cast<std::uint32_t>(k))) {
        p.assign(kPairs * stride, 0.0f);
        q.assign(kPairs * stride, 0.0f);
        std::mt19937 g(42);
        std::uniform_real_distribution<float> d(0.0f, 0.3f), rating(1.0f, 5.0f);
        for (std::size_t i = 0; i < kPairs; ++i)
            for (int j = 0; j < k; ++j) {
                p[i * stride + j] = d(g);
                q[i * stride + j] = d(g);
            }
        for (std::size_t i = 0; i < kPairs; ++i) r.push_back(rating(g));
    }
};

void bench_dot(benchmark::State& state, const kn::Table* t, int k) {
    Rows rows(k);
    for (auto _ : state) {
        for (std::size_t i = 0; i < kPairs; ++i)
            rows.e[i] = t->dot(&rows.p[i * rows.stride], &rows.q[i * rows.stride], rows.stride);
        benchmark::DoNotOptimize(rows.e.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPairs));
}

void bench_sgd(benchmark::State& state, const kn::Table* t, int k, bool logistic) {
    Rows rows(k);
    const std::size_t n = kn::sgd_length(static_cast<std::size_t>(k));  // as the trainer calls it
    const kn::SgdFn fn = t->sgd_for_length(n, logistic ? 1 : 0);
    for (auto _ : state) {
        for (std::size_t i = 0; i < kPairs; ++i) {
            const float target = logistic ? float(i & 1) : rows.r[i];
            rows.e[i] = fn(&rows.p[i * rows.stride], &rows.q[i * rows.stride], n, 0.0f, target,
                           kLr, kLr, kL2, kL2);
        }
        benchmark::DoNotOptimize(rows.e.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPairs));
}

using TextbookFn = float (*)(float*, float*, std::size_t, float, float, float);

// The textbook loop runs over k itself (not the padded stride): that is what such code does.
void bench_textbook(benchmark::State& state, TextbookFn fn, int k) {
    Rows rows(k);
    for (auto _ : state) {
        for (std::size_t i = 0; i < kPairs; ++i)
            rows.e[i] = fn(&rows.p[i * rows.stride], &rows.q[i * rows.stride], static_cast<std::size_t>(k),
                           rows.r[i], kLr, kL2);
        benchmark::DoNotOptimize(rows.e.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPairs));
}

void register_all() {
    const kn::Level levels[] = {kn::Level::scalar, kn::Level::sse2,   kn::Level::sse4_2,
                                kn::Level::avx2,   kn::Level::avx512, kn::Level::neon};
    for (const char* kernel : {"dot", "sgd_squared", "sgd_logistic"})
        for (kn::Level l : levels) {
            const kn::Table* t = kn::table_for(l);
            if (t == nullptr) continue;
            for (int k : kKs) {
                const std::string name = std::string(kernel) + "/" + t->name + "/k:" + std::to_string(k);
                const std::string which = kernel;
                if (which == "dot")
                    benchmark::RegisterBenchmark(name.c_str(), bench_dot, t, k);
                else
                    benchmark::RegisterBenchmark(name.c_str(), bench_sgd, t, k, which == "sgd_logistic");
            }
        }

    struct Baseline {
        const char* name;
        TextbookFn fn;
        bool runnable;
    };
    const std::vector<Baseline> baselines = {
#ifdef HAVE_TEXTBOOK_O2
        {"textbook_O2", &textbook_o2, true},
#endif
#ifdef HAVE_TEXTBOOK_O3
        {"textbook_O3", &textbook_o3, true},
#endif
#ifdef HAVE_TEXTBOOK_O3_V2
        {"textbook_O3_x86-64-v2", &textbook_o3_v2, kn::table_for(kn::Level::sse4_2) != nullptr},
#endif
#ifdef HAVE_TEXTBOOK_O3_V3
        {"textbook_O3_x86-64-v3", &textbook_o3_v3, kn::table_for(kn::Level::avx2) != nullptr},
#endif
#ifdef HAVE_TEXTBOOK_O3_V4
        {"textbook_O3_x86-64-v4", &textbook_o3_v4, kn::table_for(kn::Level::avx512) != nullptr},
#endif
    };
    for (const Baseline& b : baselines) {
        if (!b.runnable) continue;
        for (int k : kKs) {
            const std::string name = std::string(b.name) + "/k:" + std::to_string(k);
            benchmark::RegisterBenchmark(name.c_str(), bench_textbook, b.fn, k);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
