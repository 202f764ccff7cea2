// End-to-end SGD training throughput on MovieLens 100K (../shared/data/ml-100k/u.data), against a
// plain scalar SGD loop over the same ratings in the same process. Skips when the data is absent.
//   build/bench/bench_train --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/loaders.hpp"
#include "plain_sgd.hpp"
#include "rng.hpp"
#include "solvers/trainer.hpp"

namespace {

const simdmf::Ratings* ml100k() {
    static simdmf::Ratings data;
    static bool tried = false;
    if (!tried) {
        tried = true;
        std::vector<std::string> dirs;
        if (const char* d = std::getenv("SIMDMF_DATA_DIR")) dirs.push_back(d);
        dirs.push_back(SIMDMF_SOURCE_DIR "/../shared/data");
        for (const auto& d : dirs) {
            const std::string path = d + "/ml-100k/u.data";
            if (std::filesystem::exists(path)) {
                data = simdmf::io::load(path);
                break;
            }
        }
    }
    return data.empty() ? nullptr : &data;
}

constexpr int kEpochs = 5;

void BM_SGD_ML100K(benchmark::State& state) {
    const simdmf::Ratings* r = ml100k();
    if (!r) return state.SkipWithError("../shared/data/ml-100k/u.data absent");
    simdmf::TrainOptions o;
    o.k = static_cast<std::uint32_t>(state.range(0));
    o.epochs = kEpochs;
    for (auto _ : state) {
        auto res = simdmf::train(o, *r, nullptr);
        benchmark::DoNotOptimize(res.model.P.data());
    }
    state.counters["updates_per_s"] =
        benchmark::Counter(double(r->size()) * kEpochs * state.iterations(), benchmark::Counter::kIsRate);
}

// The textbook loop: shuffled order, prediction mu + b_u + b_i + p.q, then the scalar updates.
void BM_PlainScalarSGD_ML100K(benchmark::State& state) {
    const simdmf::Ratings* r = ml100k();
    if (!r) return state.SkipWithError("../shared/data/ml-100k/u.data absent");
    const std::size_t k = static_cast<std::size_t>(state.range(0));
    const float lr = 0.01f, l2 = 0.05f, l2b = 0.01f;
    const auto mu = static_cast<float>(r->mean_value());
    std::vector<std::size_t> order(r->size());
    for (std::size_t j = 0; j < order.size(); ++j) order[j] = j;
    for (auto _ : state) {
        simdmf::Rng rng(42);
        std::vector<float> P(std::size_t(r->n_users) * k), Q(std::size_t(r->n_items) * k);
        std::vector<float> bu(r->n_users), bi(r->n_items);
        for (auto& x : P) x = static_cast<float>(rng.normal() * 0.1 / std::sqrt(double(k)));
        for (auto& x : Q) x = static_cast<float>(rng.normal() * 0.1 / std::sqrt(double(k)));
        for (int e = 0; e < kEpochs; ++e) {
            rng.shuffle(order.data(), order.size());
            for (std::size_t j : order) {
                const std::uint32_t u = r->user[j], i = r->item[j];
                float* p = &P[u * k];
                float* q = &Q[i * k];
                float pred = mu + bu[u] + bi[i];
                for (std::size_t f = 0; f < k; ++f) pred += p[f] * q[f];
                const float err = r->value[j] - pred;
                simdmf_bench::plain_sgd_update(p, q, bu[u], bi[i], k, err, lr, l2, l2b);
            }
        }
        benchmark::DoNotOptimize(P.data());
    }
    state.counters["updates_per_s"] =
        benchmark::Counter(double(r->size()) * kEpochs * state.iterations(), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_SGD_ML100K)->Arg(32)->Arg(64)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PlainScalarSGD_ML100K)->Arg(32)->Arg(64)->Arg(128)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
