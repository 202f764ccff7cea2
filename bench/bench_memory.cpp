// Peak resident memory of training, against the bytes that must be resident anyway: the ratings
// (12 bytes each: user, item, value) plus the model's parameters (padded factor rows and biases).
//
// Each case runs in a forked child so that one case's heap cannot hide in another's figures:
//   base   = VmRSS of the fresh child before the data exist (code, libraries, allocator)
//   data is loaded (MovieLens 100K) or generated (make_planted), malloc_trim(0), then the peak RSS
//   (VmHWM) is reset through /proc/self/clear_refs and train() runs;
//   peak   = VmHWM after train()
//   ratio  = (peak - base) / (ratings + parameters)          (issue 5 target: <= 1.5)
// Usage: bench_memory [--ml100k FILE] [--ratings N] [--k K] [--epochs E] [--threads T] [--snapshot 0|1]
//                     [--take 0|1]  (1, the default: the ratings are moved into train(), which releases
//                     them while building its own copy; 0: the caller keeps them alive throughout)
//                     [--warmup 0|1] (1, the default: a tiny training run and load before the baseline,
//                     so the library's code pages and one-time set-up are not counted as data)
//   Defaults: ../shared/data/ml-100k/u.data beside the checkout (skipped when absent), a synthetic set
//   of 10,000,000 ratings (70,000 users x 10,000 items, MovieLens-10M shaped), k 32, 5 epochs, 1 thread.
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/loaders.hpp"
#include "models/mf.hpp"
#include "synthetic.hpp"
#include "solvers/trainer.hpp"

using namespace simdmf;

namespace {

long status_kb(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const std::size_t n = std::strlen(field);
    while (std::getline(f, line))
        if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n + 1);
    return -1;
}

bool reset_peak() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
    return static_cast<bool>(f);
}

struct Args {
    std::string ml100k;
    std::uint64_t ratings = 10000000;
    std::uint32_t k = 32, epochs = 5, threads = 1;
    bool snapshot = true;
    bool take = true;  // train(o, std::move(r)): the solver releases the caller's ratings as it copies
    bool warmup = true;  // train a tiny problem first, so that code pages and one-time set-up are in base
};

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

// Runs in the child: prints one result line, returns the exit code.
int measure(const char* name, const Args& a, bool ml) {
    if (a.warmup) {
        // The library's code pages (the loader, the solver, the kernels) and one-time set-up (kernel
        // dispatch, locale) are faulted in on first use; count them in the baseline, not in the data.
        PlantedSpec s;
        s.n_users = 50;
        s.n_items = 40;
        s.n_ratings = 500;
        TrainOptions o;
        o.k = a.k;
        o.epochs = 2;
        o.threads = a.threads;
        o.snapshot = a.snapshot;
        Ratings tiny = make_planted(s);
        TrainResult warm = a.take ? train(o, std::move(tiny), nullptr) : train(o, tiny, nullptr);
        if (ml && std::filesystem::exists(a.ml100k)) {  // the text parser's code, on a few lines
            const std::string tmp = std::filesystem::temp_directory_path() / ("simdmf-warm-" + std::to_string(::getpid()));
            std::FILE* f = std::fopen(tmp.c_str(), "w");
            if (f) {
                std::fputs("1\t2\t3\t881250949\n2\t3\t4\t881250950\n", f);
                std::fclose(f);
                io::LoadOptions lo;
                lo.format = io::Format::movielens_data;
                Ratings few = io::load(tmp, lo);
                std::remove(tmp.c_str());
            }
        }
    }
    malloc_trim(0);
    const long base_kb = status_kb("VmRSS:");
    Ratings r;
    const auto t0 = std::chrono::steady_clock::now();
    if (ml) {
        io::LoadOptions lo;
        lo.format = io::Format::movielens_data;
        r = io::load(a.ml100k, lo);
    } else {
        PlantedSpec s;
        s.n_users = 70000;
        s.n_items = 10000;
        s.n_ratings = a.ratings;
        r = make_planted(s);
    }
    malloc_trim(0);
    const long loaded_kb = status_kb("VmRSS:");
    if (!reset_peak()) std::fprintf(stderr, "cannot reset VmHWM (/proc/self/clear_refs); peak includes loading\n");
    TrainOptions o;
    o.k = a.k;
    o.epochs = a.epochs;
    o.threads = a.threads;
    o.snapshot = a.snapshot;
    const auto t1 = std::chrono::steady_clock::now();
    const std::size_t n = r.size();
    const std::uint32_t nu = r.n_users, ni = r.n_items;
    TrainResult res = a.take ? train(o, std::move(r), nullptr) : train(o, r, nullptr);
    const auto t2 = std::chrono::steady_clock::now();
    const long peak_kb = status_kb("VmHWM:");
    const double ratings = 12.0 * static_cast<double>(n);
    const double params = static_cast<double>(parameter_bytes(o.k, nu, ni, o.biases));
    const double peak = 1024.0 * static_cast<double>(peak_kb - base_kb);
    std::printf("%-10s %10zu %7u %6u %4u %3u %9.1f %9.1f %9.1f %9.1f %9.1f %6.2f %7.2fs %7.2fs\n", name, n,
                nu, ni, o.k, o.threads, mib(ratings), mib(params), mib(1024.0 * base_kb),
                mib(1024.0 * (loaded_kb - base_kb)), mib(peak), peak / (ratings + params),
                std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count());
    std::fflush(stdout);
    return res.status == SIMDMF_OK ? 0 : 1;
}

int run_child(const char* name, const Args& a, bool ml) {
    std::fflush(stdout);
    const pid_t pid = ::fork();
    if (pid < 0) return 1;
    if (pid == 0) ::_exit(measure(name, a, ml));
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    a.ml100k = (std::filesystem::path(SIMDMF_SOURCE_DIR) / ".." / "shared" / "data" / "ml-100k" / "u.data").string();
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--ml100k") a.ml100k = argv[i + 1];
        else if (k == "--ratings") a.ratings = std::strtoull(argv[i + 1], nullptr, 10);
        else if (k == "--k") a.k = static_cast<std::uint32_t>(std::atoi(argv[i + 1]));
        else if (k == "--epochs") a.epochs = static_cast<std::uint32_t>(std::atoi(argv[i + 1]));
        else if (k == "--threads") a.threads = static_cast<std::uint32_t>(std::atoi(argv[i + 1]));
        else if (k == "--snapshot") a.snapshot = std::atoi(argv[i + 1]) != 0;
        else if (k == "--take") a.take = std::atoi(argv[i + 1]) != 0;
        else if (k == "--warmup") a.warmup = std::atoi(argv[i + 1]) != 0;
        else {
            std::fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    std::printf("%-10s %10s %7s %6s %4s %3s %9s %9s %9s %9s %9s %6s %8s %8s\n", "data", "ratings", "users", "items",
                "k", "thr", "data MiB", "model MiB", "base MiB", "load MiB", "peak MiB", "ratio", "load", "train");
    int rc = 0;
    if (std::filesystem::exists(a.ml100k)) rc |= run_child("ml-100k", a, true);
    else std::printf("ml-100k    skipped: %s not found\n", a.ml100k.c_str());
    rc |= run_child("synthetic", a, false);
    return rc;
}
