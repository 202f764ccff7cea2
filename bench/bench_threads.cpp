// More threads than cores (issue 10, item 11): one SGD epoch of train() at 1..128 threads, in the
// free-running (deterministic = 0) and lock-step modes, on issue 10's repro (5,000 ratings on a
// 1024 x 1024 grid: almost every block empty) and on a denser set (200,000 ratings, grid 16). The
// second argument 1 sets SIMDMF_OVERSUBSCRIBE=1, so the scheduler itself runs that many threads; 0 is
// the default, where the solver caps its workers at the hardware threads. Compare each row with the
// same set's 1-thread row:
//   build/bench/bench_threads --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "solvers/trainer.hpp"
#include "synthetic.hpp"

namespace {

const simdmf::Ratings& data(bool sparse) {
    auto make = [](std::uint64_t n, std::uint32_t users, std::uint32_t items) {
        simdmf::PlantedSpec s;
        s.n_users = users;
        s.n_items = items;
        s.n_ratings = n;
        s.seed = 3;
        return simdmf::make_planted(s);
    };
    static const simdmf::Ratings small = make(5000, 2000, 1500);
    static const simdmf::Ratings dense = make(200000, 4000, 2000);
    return sparse ? small : dense;
}

void run(benchmark::State& state, bool sparse, bool deterministic) {
    const auto threads = static_cast<std::uint32_t>(state.range(0));
    const bool over = state.range(1) != 0;
    if (over) ::setenv("SIMDMF_OVERSUBSCRIBE", "1", 1);
    else ::unsetenv("SIMDMF_OVERSUBSCRIBE");
    simdmf::TrainOptions o;
    o.k = 32;
    o.epochs = 1;
    o.grid = sparse ? 1024 : 16;
    o.threads = threads;
    o.deterministic = deterministic;
    const simdmf::Ratings& r = data(sparse);
    for (auto _ : state) {
        simdmf::TrainResult res = simdmf::train(o, r, nullptr);
        benchmark::DoNotOptimize(res.model.mu);
    }
    ::unsetenv("SIMDMF_OVERSUBSCRIBE");
    state.counters["ratings"] = static_cast<double>(r.size());
}

void args(benchmark::internal::Benchmark* b) {
    b->Args({1, 0});
    for (int t : {2, 16, 64, 128}) b->Args({t, 0})->Args({t, 1});
    b->Unit(benchmark::kMillisecond)->MinTime(0.3);
}

void BM_Free_Sparse(benchmark::State& s) { run(s, true, false); }
void BM_Free_Dense(benchmark::State& s) { run(s, false, false); }
void BM_Rounds_Sparse(benchmark::State& s) { run(s, true, true); }
void BM_Rounds_Dense(benchmark::State& s) { run(s, false, true); }
BENCHMARK(BM_Free_Sparse)->Apply(args);
BENCHMARK(BM_Free_Dense)->Apply(args);
BENCHMARK(BM_Rounds_Sparse)->Apply(args);
BENCHMARK(BM_Rounds_Dense)->Apply(args);

}  // namespace

BENCHMARK_MAIN();
