// Importing factor tables (lib/io/factors): numpy .npy at disk speed, Spark JSON lines in MB/s.
//
// The fixtures are written once per run into $TMPDIR (default /tmp): an .npy pair of
// SIMDMF_BENCH_ROWS x 64 user factors (default 10,000,000 rows: 2.56 GB) beside 1,000 items, and the
// same users as Spark JSON lines for the first SIMDMF_BENCH_JSON_ROWS rows (default 1,000,000: about
// 0.7 GB). BM_PlainRead reads the .npy file in 4 MiB blocks and does nothing else: the speed of the
// storage (or page cache) that the import is held against in the same run. The <true> (cold) variants
// evict the file's pages from the page cache before each iteration (posix_fadvise DONTNEED, outside the timing),
// so both read from the disk: "at disk speed" is BM_ImportNpy<true> against BM_PlainRead<true>. Files are
// removed at exit.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "io/factors.hpp"
#include "io/from_factors.hpp"

using namespace simdmf;

namespace {

std::size_t env_size(const char* name, std::size_t dflt) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

struct Fixture {
    std::string dir, users_npy, items_npy, json_dir;
    std::uint64_t npy_bytes = 0, json_bytes = 0;
    Fixture() {
        const char* t = std::getenv("TMPDIR");
        dir = std::string(t && *t ? t : "/tmp") + "/simdmf-bench-interop-" + std::to_string(::getpid());
        std::filesystem::create_directories(dir);
        const std::uint32_t k = 64;
        const std::size_t rows = env_size("SIMDMF_BENCH_ROWS", 10'000'000);
        const std::size_t json_rows = std::min(rows, env_size("SIMDMF_BENCH_JSON_ROWS", 1'000'000));
        factors::FactorSet s;
        std::mt19937 rng(7);
        std::normal_distribution<float> nd(0.0f, 0.1f);
        auto fill = [&](factors::Table& tb, std::size_t n) {
            tb.rows = static_cast<std::uint32_t>(n);
            tb.k = k;
            tb.values.resize(n * k);
            for (auto& x : tb.values) x = nd(rng);
        };
        fill(s.users, json_rows);
        fill(s.items, 1000);
        factors::write(s, factors::Format::spark_json, dir + "/json");
        json_dir = dir + "/json";
        json_bytes = std::filesystem::file_size(json_dir + "/users.json");
        fill(s.users, rows);
        factors::write(s, factors::Format::npy, dir + "/npy");
        users_npy = dir + "/npy/user_factors.npy";
        items_npy = dir + "/npy/item_factors.npy";
        npy_bytes = std::filesystem::file_size(users_npy);
        // Written back before any timing: posix_fadvise(DONTNEED) cannot evict dirty pages, so without
        // this the first cold runs would read part of the file from the cache and race the write-back.
        for (const std::string& p : {users_npy, items_npy}) {
            const int fd = ::open(p.c_str(), O_RDONLY);
            if (fd >= 0) {
                ::fsync(fd);
                ::close(fd);
            }
        }
    }
    ~Fixture() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

void evict(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

// Cold: the file's pages are evicted before each iteration, outside the timing.
template <bool Cold>
void BM_PlainRead(benchmark::State& state) {
    auto& f = fixture();
    std::vector<char> buf(4u << 20);
    for (auto _ : state) {
        if constexpr (Cold) {
            state.PauseTiming();
            evict(f.users_npy);
            state.ResumeTiming();
        }
        int fd = ::open(f.users_npy.c_str(), O_RDONLY);
        std::uint64_t total = 0;
        for (ssize_t got; (got = ::read(fd, buf.data(), buf.size())) > 0;) total += static_cast<std::uint64_t>(got);
        ::close(fd);
        benchmark::DoNotOptimize(total);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.npy_bytes));
}

// BM_ImportNpy: the .npy pair read and checked (factors::read). BM_ImportNpyModel: the whole import,
// the model built over the tables too; Map: the tables borrowed from the file's mapping (factors::read
// with map), as `simdmf import` does.
template <bool Cold, bool Model, bool Map = false>
void BM_ImportNpyAs(benchmark::State& state) {
    auto& f = fixture();
    for (auto _ : state) {
        if constexpr (Cold) {
            state.PauseTiming();
            evict(f.users_npy);
            evict(f.items_npy);
            state.ResumeTiming();
        }
        auto s = factors::read(factors::Format::npy, f.users_npy, f.items_npy, Map);
        if constexpr (Model) {
            MFModel m = model_from_factors(std::move(s));
            benchmark::DoNotOptimize(std::as_const(m.P).data());
        } else {
            benchmark::DoNotOptimize(s.users.data());
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.npy_bytes));
}
template <bool Cold>
void BM_ImportNpy(benchmark::State& state) { BM_ImportNpyAs<Cold, false>(state); }
template <bool Cold, bool Map>
void BM_ImportNpyModel(benchmark::State& state) { BM_ImportNpyAs<Cold, true, Map>(state); }

void BM_ImportSparkJson(benchmark::State& state) {
    auto& f = fixture();
    for (auto _ : state) {
        auto s = factors::read(factors::Format::spark_json, f.json_dir + "/users.json", f.json_dir + "/items.json");
        benchmark::DoNotOptimize(s.users.values.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.json_bytes));
}

}  // namespace

// The disk's speed moves by 2x between runs on a VM, so the mapped import is also timed against a plain
// read of the same file in alternating rounds (evicted before each side): counters give each side's
// GB/s over all rounds and the median of the per-round ratios mapped / plain (1 = disk speed).
void BM_ColdMappedVsRead(benchmark::State& state) {
    auto& f = fixture();
    const int rounds = static_cast<int>(state.range(0));
    std::vector<char> buf(4u << 20);
    struct Cost {
        double wall = 0, cpu = 0;
    };
    auto timed = [](auto&& fn) {  // wall and process CPU seconds of fn
        auto cpu_now = [] {
            timespec t{};
            ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
            return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
        };
        const double c0 = cpu_now();
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        return Cost{std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu_now() - c0};
    };
    auto plain_read = [&] {
        evict(f.users_npy);
        return timed([&] {
            int fd = ::open(f.users_npy.c_str(), O_RDONLY);
            std::uint64_t total = 0;
            for (ssize_t got; (got = ::read(fd, buf.data(), buf.size())) > 0;) total += static_cast<std::uint64_t>(got);
            ::close(fd);
            benchmark::DoNotOptimize(total);
        });
    };
    auto mapped_import = [&] {
        evict(f.users_npy);
        evict(f.items_npy);
        return timed([&] {
            MFModel m = model_from_factors(factors::read(factors::Format::npy, f.users_npy, f.items_npy, true));
            benchmark::DoNotOptimize(std::as_const(m.P).data());
        });
    };
    Cost plain, mapped;
    std::vector<double> ratios;
    for (auto _ : state) {
        for (int r = 0; r < rounds; ++r) {  // the order alternates too: odd rounds import first
            Cost a, b;
            if (r % 2 == 0) {
                a = plain_read();
                b = mapped_import();
            } else {
                b = mapped_import();
                a = plain_read();
            }
            plain.wall += a.wall;
            plain.cpu += a.cpu;
            mapped.wall += b.wall;
            mapped.cpu += b.cpu;
            ratios.push_back(a.wall / b.wall);
        }
    }
    std::sort(ratios.begin(), ratios.end());
    const double bytes = double(f.npy_bytes) * double(ratios.size());
    state.counters["plain_GBps"] = bytes / plain.wall / 1e9;
    state.counters["mapped_GBps"] = bytes / mapped.wall / 1e9;
    state.counters["speed_ratio_median"] = ratios[ratios.size() / 2];
    state.counters["speed_ratio_min"] = ratios.front();
    state.counters["speed_ratio_max"] = ratios.back();
    state.counters["cpu_ratio"] = mapped.cpu / plain.cpu;
}

BENCHMARK_TEMPLATE(BM_PlainRead, false)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_TEMPLATE(BM_ImportNpy, false)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_TEMPLATE(BM_ImportNpyModel, false, false)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_TEMPLATE(BM_ImportNpyModel, false, true)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_TEMPLATE(BM_PlainRead, true)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK_TEMPLATE(BM_ImportNpy, true)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK_TEMPLATE(BM_ImportNpyModel, true, false)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK_TEMPLATE(BM_ImportNpyModel, true, true)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_ColdMappedVsRead)->Arg(6)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ImportSparkJson)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_MAIN();
