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

#include <algorithm>
#include <chrono>
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
#ifdef HAVE_FMA_PEAK
float fma_peak_avx2(std::size_t n, float seed);
#endif

namespace {

// The row pairs that cycle: as many as fit in g_working_set bytes (both rows, padded; default 24 KiB, half
// of this machine's 48 KiB L1D and 3/4 of Zen 3's 32 KiB, so that the rows stay in L1: the fused steps
// are measured, not the L2), even, from 8 to 256. `--working-set BYTES` changes it (512 KiB gives
// the 256 pairs of the earlier, L2-resident figures).
std::size_t g_working_set = 24 * 1024;

std::size_t pairs_for(std::size_t stride) {
    const std::size_t n = g_working_set / (2 * stride * sizeof(float));
    return std::clamp<std::size_t>(n / 2 * 2, 8, 256);
}
constexpr int kKs[] = {8, 16, 32, 64, 128, 256};
constexpr float kLr = 0.01f, kL2 = 0.05f;

// n p rows and n q rows, padded, with ratings; small positive values keep the SGD stable.
struct Rows {
    std::size_t stride, n;
    simdmf::AlignedFloats p, q;
    std::vector<float> r;
    std::vector<float> e;  // what each call returns
    explicit Rows(int k) : stride(simdmf::padded_stride(static_cast<std::uint32_t>(k))), n(pairs_for(stride)) {
        const std::size_t kPairs = n;
        e.assign(n, 0.0f);
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

// Seconds per cycle, from fma_peak_avx2 (bench/fma_peak.cpp: 2 ymm FMAs a cycle): the least disturbed
// of 30 short runs at start-up. 0 when that reference is not built or AVX2 is not supported here.
double g_cycle = 0.0;

void calibrate_cycle() {
#ifdef HAVE_FMA_PEAK
    if (kn::table_for(kn::Level::avx2) == nullptr) return;
    constexpr std::size_t kRounds = 200000;  // 12 FMAs each: 1.2M cycles
    double best = 1e9;
    for (int run = 0; run < 30; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(fma_peak_avx2(kRounds, float(run)));
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    g_cycle = best / (kRounds * 12 / 2.0);
#endif
}

// Counters in cycles (when calibrated): cycles an update, and the share of the FMA limit of the AVX2
// level, `limit_ops` vector ops on 2 pipes (5 * ceil(k/8) for the plain fused step).
void set_cycle_counters(benchmark::State& state, double items, double limit_ops) {
    if (g_cycle <= 0.0) return;
    using C = benchmark::Counter;
    state.counters["cycles"] = C(items * g_cycle, C::kIsRate | C::kInvert);
    state.counters["fma_share"] = C(items * g_cycle * limit_ops / 2.0, C::kIsRate);
}

double sgd_limit_ops(int k) { return 5.0 * ((k + 7) / 8); }

void bench_fma_peak(benchmark::State& state) {
#ifdef HAVE_FMA_PEAK
    constexpr std::size_t kRounds = 10000;
    float x = 0.0f;
    for (auto _ : state) x += fma_peak_avx2(kRounds, x);
    benchmark::DoNotOptimize(x);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRounds * 12));
    // Each FMA is half a cycle at the peak: share 1.0 means this run matched the calibration.
    set_cycle_counters(state, double(state.iterations()) * kRounds * 12, 1.0);
#else
    state.SkipWithError("fma_peak not built");
#endif
}

void bench_dot(benchmark::State& state, const kn::Table* t, int k) {
    Rows rows(k);
    for (auto _ : state) {
        for (std::size_t i = 0; i < rows.n; ++i)
            rows.e[i] = t->dot(&rows.p[i * rows.stride], &rows.q[i * rows.stride], rows.stride);
        benchmark::DoNotOptimize(rows.e.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows.n));
}

void bench_sgd(benchmark::State& state, const kn::Table* t, int k, bool logistic) {
    Rows rows(k);
    const std::size_t n = kn::sgd_length(static_cast<std::size_t>(k));  // as the trainer calls it
    const kn::SgdFn fn = t->sgd_for_length(n, logistic ? 1 : 0);
    for (auto _ : state) {
        for (std::size_t i = 0; i < rows.n; ++i) {
            const float target = logistic ? float(i & 1) : rows.r[i];
            rows.e[i] = fn(&rows.p[i * rows.stride], &rows.q[i * rows.stride], n, 0.0f, target,
                           kLr, kLr, kL2, kL2);
        }
        benchmark::DoNotOptimize(rows.e.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows.n));
    set_cycle_counters(state, double(state.iterations()) * rows.n, sgd_limit_ops(k));
}

// The pair of fused steps as the trainer calls it (Table::sgd_pair_for_length at sgd_length(k)): row
// pairs 2m and 2m+1 in one call; items = updates (two a call).
void bench_sgd_pair(benchmark::State& state, const kn::Table* t, int k, bool logistic) {
    Rows rows(k);
    const std::size_t n = kn::sgd_length(static_cast<std::size_t>(k)), st = rows.stride;
    const kn::SgdPairFn fn = t->sgd_pair_for_length(n, logistic ? 1 : 0);
    for (auto _ : state) {
        for (std::size_t i = 0; i < rows.n; i += 2) {
            const float t0 = logistic ? 0.0f : rows.r[i], t1 = logistic ? 1.0f : rows.r[i + 1];
            fn(&rows.p[i * st], &rows.q[i * st], &rows.p[(i + 1) * st], &rows.q[(i + 1) * st], n, 0.0f, t0, 0.0f,
               t1, kLr, kLr, kL2, kL2, &rows.e[i]);
        }
        benchmark::DoNotOptimize(rows.e.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows.n));
    set_cycle_counters(state, double(state.iterations()) * rows.n, sgd_limit_ops(k));
}

// The pair of AdaGrad steps (Table::adagrad_pair_for_length at the padded stride, as the trainer calls it).
void bench_adagrad_pair(benchmark::State& state, const kn::Table* t, int k, bool logistic) {
    Rows rows(k);
    const std::size_t n = rows.stride, st = rows.stride;
    const kn::AdagradPairFn fn = t->adagrad_pair_for_length(n, logistic ? 1 : 0);
    std::vector<float> out(3 * rows.n);
    for (auto _ : state) {
        for (std::size_t i = 0; i < rows.n; i += 2) {
            const float a[8] = {0.0f, logistic ? 0.0f : rows.r[i],     kLr, kLr,
                                0.0f, logistic ? 1.0f : rows.r[i + 1], kLr, kLr};
            fn(&rows.p[i * st], &rows.q[i * st], &rows.p[(i + 1) * st], &rows.q[(i + 1) * st], n, a, kL2, kL2,
               &out[3 * i]);
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    const double items = double(state.iterations()) * rows.n;
    state.SetItemsProcessed(static_cast<std::int64_t>(items));
    set_cycle_counters(state, items, 7.0 * ((k + 7) / 8));
}

// The AdaGrad step as the trainer calls it (length sgd_length(k)); its FMA limit is its own minimum of
// vector ops, 7 * ceil(k/8) (kernels_impl.hpp), reported against that and 5 * ceil(k/8) alike.
void bench_adagrad(benchmark::State& state, const kn::Table* t, int k, bool logistic) {
    Rows rows(k);
    const std::size_t n = rows.stride;  // as the trainer calls it
    const kn::AdagradFn fn = t->adagrad_for_length(n, logistic ? 1 : 0);
    std::vector<float> g2(2 * rows.n);
    for (auto _ : state) {
        for (std::size_t i = 0; i < rows.n; ++i) {
            const float target = logistic ? float(i & 1) : rows.r[i];
            rows.e[i] = fn(&rows.p[i * rows.stride], &rows.q[i * rows.stride], n, 0.0f, target, kLr, kLr, kL2,
                           kL2, &g2[2 * i]);
        }
        benchmark::DoNotOptimize(rows.e.data());
        benchmark::DoNotOptimize(g2.data());
        benchmark::ClobberMemory();
    }
    const double items = double(state.iterations()) * rows.n;
    state.SetItemsProcessed(static_cast<std::int64_t>(items));
    set_cycle_counters(state, items, 7.0 * ((k + 7) / 8));
}

using TextbookFn = float (*)(float*, float*, std::size_t, float, float, float);

// The textbook loop runs over k itself (not the padded stride): that is what such code does.
void bench_textbook(benchmark::State& state, TextbookFn fn, int k) {
    Rows rows(k);
    for (auto _ : state) {
        for (std::size_t i = 0; i < rows.n; ++i)
            rows.e[i] = fn(&rows.p[i * rows.stride], &rows.q[i * rows.stride], static_cast<std::size_t>(k),
                           rows.r[i], kLr, kL2);
        benchmark::DoNotOptimize(rows.e.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows.n));
    set_cycle_counters(state, double(state.iterations()) * rows.n, sgd_limit_ops(k));
}

void register_all() {
    calibrate_cycle();
    if (g_cycle > 0.0) benchmark::RegisterBenchmark("fma_peak/avx2", bench_fma_peak);
    const kn::Level levels[] = {kn::Level::scalar, kn::Level::sse2,   kn::Level::sse4_2,
                                kn::Level::avx2,   kn::Level::avx512, kn::Level::neon};
    for (const char* kernel : {"dot", "sgd_squared", "sgd_logistic", "sgd_pair_squared", "sgd_pair_logistic", "sgd_adagrad",
                               "sgd_adagrad_logistic", "sgd_adagrad_pair", "sgd_adagrad_pair_logistic"})
        for (kn::Level l : levels) {
            const kn::Table* t = kn::table_for(l);
            if (t == nullptr) continue;
            for (int k : kKs) {
                const std::string name = std::string(kernel) + "/" + t->name + "/k:" + std::to_string(k);
                const std::string which = kernel;
                if (which == "dot")
                    benchmark::RegisterBenchmark(name.c_str(), bench_dot, t, k);
                else if (which.rfind("sgd_pair", 0) == 0)
                    benchmark::RegisterBenchmark(name.c_str(), bench_sgd_pair, t, k, which == "sgd_pair_logistic");
                else if (which.rfind("sgd_adagrad_pair", 0) == 0)
                    benchmark::RegisterBenchmark(name.c_str(), bench_adagrad_pair, t, k,
                                                 which == "sgd_adagrad_pair_logistic");
                else if (which.rfind("sgd_adagrad", 0) == 0)
                    benchmark::RegisterBenchmark(name.c_str(), bench_adagrad, t, k, which == "sgd_adagrad_logistic");
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
    for (int i = 1; i + 1 < argc; ++i)  // our own option, taken out before Google Benchmark's
        if (std::string(argv[i]) == "--working-set") {
            g_working_set = std::stoul(argv[i + 1]);
            for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
            argc -= 2;
            break;
        }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
