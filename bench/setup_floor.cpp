// A measured floor under the SGD solver's set-up (issue 11): what any build of a fresh 8-byte-a-rating
// copy of the ratings must pay on this machine, before sorting or drawing anything. Process CPU time
// (user + system, so the kernel's page faults count), best of 5 repetitions of each part:
//   * fresh pages: first touch of newly mapped memory the size of the grid (8 bytes a rating; glibc
//     maps any block over 32 MiB afresh, and unmaps it when freed, so each train() call pays this);
//     the kernel zero-fills and maps every page on first write. The model's rows and the epoch-0
//     snapshot are left out (smaller blocks may come from heap memory freed earlier);
//   * one streaming read of the caller's arrays (12 bytes a rating: user, item, value), warm pages;
//   * one streaming write of 8 bytes a rating into warm pages.
// The real set-up reads the ratings at least twice (counts, then placement), so the floor is lower
// than any such build; compare it with 5% of a 20-epoch run (bench_train_synth's mean epoch).
//
//   build/bench/setup_floor [ratings=5000000]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include <sys/mman.h>

namespace {

double cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// Best of 5: the machine is shared; the floor is the least it ever took.
template <class F>
double best_ms(F&& f) {
    double best = 1e30;
    for (int r = 0; r < 5; ++r) {
        const double c0 = cpu_seconds();
        f();
        best = std::min(best, cpu_seconds() - c0);
    }
    return best * 1e3;
}

volatile std::uint64_t sink;

double fresh_pages_ms(std::size_t bytes) {
    return best_ms([&] {
        void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) std::abort();
        char* p = static_cast<char*>(m);
        for (std::size_t j = 0; j < bytes; j += 4096) p[j] = 1;
        sink = sink + static_cast<unsigned char>(p[bytes / 2]);
        ::munmap(m, bytes);
    });
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5000000;
    const double grid_pages = fresh_pages_ms(n * 8);
    std::vector<std::uint32_t> u(n), i(n);
    std::vector<float> v(n);
    for (std::size_t j = 0; j < n; ++j) u[j] = std::uint32_t(j % 50000), i[j] = std::uint32_t(j % 10000), v[j] = 3.0f;
    const double read = best_ms([&] {
        std::uint64_t s = 0;
        float f = 0;
        for (std::size_t j = 0; j < n; ++j) s += u[j] + i[j], f += v[j];
        sink = s + static_cast<std::uint64_t>(f);
    });
    std::vector<std::uint64_t> out(n, 0);  // warm: written once before timing
    const double write = best_ms([&] {
        for (std::size_t j = 0; j < n; ++j) out[j] = j;
        sink = sink + out[n / 3];
    });
    std::printf("ratings %zu\n", n);
    std::printf("fresh pages for the grid (%.1f MB): %.2f ms\n", double(n * 8) / 1e6, grid_pages);
    std::printf("read 12 B a rating: %.2f ms; write 8 B a rating: %.2f ms\n", read, write);
    std::printf("floor %.1f ms (the grid's pages, one read, one write)\n", grid_pages + read + write);
    return 0;
}
