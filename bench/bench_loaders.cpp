// Throughput of the ratings loaders: a generated u.data-style text file (about 300 MB, created once in
// the temp dir and reused) parsed by io::load, and the same ratings in the binary format.
//
//   build-*/bench/bench_loaders [--benchmark_filter=...]
//   SIMDMF_BENCH_LINES=N (default 12,500,000) sets the size of the generated file.
//
// Counters: bytes_per_second (file bytes), ratings/s, and peak_rss_per_rating: the growth of the peak
// resident set during one load (reset through /proc/self/clear_refs) divided by the ratings loaded,
// i.e. what the loader holds at its worst, arrays, id maps and buffers included.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <algorithm>

#include "io/loaders.hpp"
#include "rng.hpp"

namespace fs = std::filesystem;
using namespace simdmf;

namespace {

std::size_t bench_lines() {
    const char* s = std::getenv("SIMDMF_BENCH_LINES");
    return s ? static_cast<std::size_t>(std::strtoull(s, nullptr, 10)) : 12'500'000;
}

// VmRSS / VmHWM of this process in bytes (0 when /proc is not there).
std::uint64_t proc_status(const char* key) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const std::size_t n = std::strlen(key);
    while (std::getline(f, line))
        if (line.compare(0, n, key) == 0) return std::strtoull(line.c_str() + n + 1, nullptr, 10) * 1024;
    return 0;
}

void reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
}

// u.data-like: user TAB item TAB rating TAB timestamp, 200k users and 40k items with skewed popularity.
const std::string& text_file() {
    static const std::string path = [] {
        const std::size_t lines = bench_lines();
        std::string p = (fs::temp_directory_path() / ("simdmf_bench_" + std::to_string(lines) + ".data")).string();
        if (fs::exists(p)) return p;
        std::string tmp = p + ".tmp." + std::to_string(::getpid());
        std::FILE* f = std::fopen(tmp.c_str(), "wb");
        if (!f) std::abort();
        Rng rng(42);
        std::string buf;
        buf.reserve(1 << 22);
        for (std::size_t k = 0; k < lines; ++k) {
            double x = rng.uniform(), y = rng.uniform();
            buf += std::to_string(1 + static_cast<std::uint64_t>(200000 * x * x));
            buf += '\t';
            buf += std::to_string(1 + static_cast<std::uint64_t>(40000 * y * y * y));
            buf += '\t';
            buf += static_cast<char>('1' + rng.below(5));
            buf += '\t';
            buf += std::to_string(874724710 + rng.below(200'000'000));
            buf += '\n';
            if (buf.size() > (1 << 22) - 64) {
                std::fwrite(buf.data(), 1, buf.size(), f);
                buf.clear();
            }
        }
        std::fwrite(buf.data(), 1, buf.size(), f);
        std::fclose(f);
        fs::rename(tmp, p);
        return p;
    }();
    return path;
}

const std::string& binary_file() {
    static const std::string path = [] {
        std::string p = text_file() + ".smr";
        if (!fs::exists(p)) io::save_binary(io::load(text_file()), p);
        return p;
    }();
    return path;
}

template <class Load>
void run(benchmark::State& state, const std::string& path, Load load) {
    const auto bytes = static_cast<std::int64_t>(fs::file_size(path));
    std::size_t n = 0;
    double worst = 0;
    for (auto _ : state) {
        state.PauseTiming();
        const std::uint64_t base = proc_status("VmRSS:");
        reset_peak_rss();
        state.ResumeTiming();
        Ratings r = load(path);
        state.PauseTiming();
        const std::uint64_t peak = proc_status("VmHWM:");
        n = r.size();
        if (n) worst = std::max(worst, static_cast<double>(peak - base) / static_cast<double>(n));
        benchmark::DoNotOptimize(r.value.data());
        { Ratings gone = std::move(r); }
        state.ResumeTiming();
    }
    state.SetBytesProcessed(bytes * static_cast<std::int64_t>(state.iterations()));
    state.counters["ratings/s"] = benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate);
    state.counters["ratings"] = static_cast<double>(n);
    state.counters["peak_rss_per_rating"] = worst;
}

void BM_load_text(benchmark::State& state) {
    const std::string& p = text_file();
    run(state, p, [](const std::string& path) { return io::load(path); });
}

void BM_load_text_timestamps(benchmark::State& state) {
    const std::string& p = text_file();
    run(state, p, [](const std::string& path) {
        io::LoadOptions o;
        o.keep_timestamps = true;
        return io::load(path, o);
    });
}

void BM_load_binary(benchmark::State& state) {
    const std::string& p = binary_file();
    run(state, p, [](const std::string& path) { return io::load_binary(path); });
}

}  // namespace

BENCHMARK(BM_load_text)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_load_text_timestamps)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_load_binary)->Unit(benchmark::kMillisecond)->Iterations(5)->UseRealTime();

BENCHMARK_MAIN();
