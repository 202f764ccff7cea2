// Opening a large model file: loaded (tables copied) against memory-mapped (SIMDMF_OPEN_MMAP), with and
// without the per-section checksum pass (issue 9; issue 13's 1 GB case). Each measurement runs in a
// fresh child process, so its RSS is that open's alone: time to open, to the first prediction and to
// the first top-10 over every item, and the resident set after each. "cold" evicts the file's pages
// from the page cache first (posix_fadvise DONTNEED: the first reads come from the disk), "warm" does
// not. The modes alternate round by round so that a noisy machine touches all of them alike.
//
// Usage: open_mapped [--users N] [--items N] [-k K] [--rounds R] [--file PATH] [--keep]
// (default 1,000,000 x 1,000,000 x k = 128: factor tables of 1.02 GB; the file is written once).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io/model_file.hpp"
#include "models/mf.hpp"
#include "rng.hpp"
#include "serve/serve.hpp"

using namespace simdmf;

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double rss_mib() {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    double kib = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::atof(line + 6);
    std::fclose(f);
    return kib / 1024.0;
}

struct Sample {
    double open_s, predict_s, top_s, rss_open, rss_predict, rss_top;
};

void evict(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

// One open in a child process; the parent reads the sample through a pipe.
bool measure(const std::string& path, bool map, bool verify, bool cold, Sample* out) {
    if (cold) evict(path);
    int p[2];
    if (::pipe(p) != 0) return false;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        try {
        Sample s{};
        const double t0 = now();
        OpenOptions o;
        o.map = map;
        o.verify = verify;
        std::unique_ptr<Model> m = open_any_model(path, o);
        const double t1 = now();
        s.rss_open = rss_mib();
        volatile float x = m->predict(m->n_users / 2, m->n_items / 3);
        (void)x;
        const double t2 = now();
        s.rss_predict = rss_mib();
        const auto top = serve::recommend(*m, m->n_users / 3, 10, {});
        const double t3 = now();
        s.rss_top = rss_mib();
        s.open_s = t1 - t0;
        s.predict_s = t2 - t0;
        s.top_s = t3 - t0;
        const bool ok = top.size() == 10 && ::write(p[1], &s, sizeof s) == static_cast<ssize_t>(sizeof s);
        ::_exit(ok ? 0 : 1);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "child: %s\n", e.what());
            ::_exit(1);
        }
    }
    ::close(p[1]);
    const bool got = pid > 0 && ::read(p[0], out, sizeof *out) == static_cast<ssize_t>(sizeof *out);
    ::close(p[0]);
    int status = 0;
    if (pid > 0) ::waitpid(pid, &status, 0);
    if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        std::fprintf(stderr, "child: read %d, status %d, signal %d\n", int(got), WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return got && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint32_t users = 1000000, items = 1000000, k = 128, rounds = 3;
    std::string path = (std::filesystem::temp_directory_path() / "simdmf_open_mapped.smf").string();
    bool keep = false;
    for (int a = 1; a < argc; ++a) {
        const std::string f = argv[a];
        auto next = [&] { return a + 1 < argc ? argv[++a] : (std::fprintf(stderr, "%s needs a value\n", f.c_str()), std::exit(2), ""); };
        if (f == "--users") users = static_cast<std::uint32_t>(std::atol(next()));
        else if (f == "--items") items = static_cast<std::uint32_t>(std::atol(next()));
        else if (f == "-k") k = static_cast<std::uint32_t>(std::atol(next()));
        else if (f == "--rounds") rounds = static_cast<std::uint32_t>(std::atol(next()));
        else if (f == "--file") path = next();
        else if (f == "--keep") keep = true;
        else { std::fprintf(stderr, "unknown flag %s\n", f.c_str()); return 2; }
    }
    if (!std::filesystem::exists(path)) {
        MFModel m;
        m.allocate(Loss::squared, k, users, items, true);
        Rng rng(1);
        for (std::uint32_t u = 0; u < users; ++u)
            for (std::uint32_t j = 0; j < k; ++j) m.user_row(u)[j] = static_cast<float>(rng.normal() * 0.1);
        for (std::uint32_t i = 0; i < items; ++i)
            for (std::uint32_t j = 0; j < k; ++j) m.item_row(i)[j] = static_cast<float>(rng.normal() * 0.1);
        m.mu = 3.5f;
        const double t0 = now();
        save_model(m, path);
        std::printf("wrote %s: %.2f GB in %.1f s\n", path.c_str(), std::filesystem::file_size(path) / 1e9, now() - t0);
    }
    std::printf("model file %s: %.3f GB (%u users x %u items x k = %u)\n", path.c_str(),
                std::filesystem::file_size(path) / 1e9, users, items, k);
    struct Mode { const char* name; bool map, verify; };
    const Mode modes[] = {{"loaded", false, true}, {"mapped", true, true}, {"mapped, no verify", true, false}};
    std::vector<Sample> best[2][3];
    for (std::uint32_t r = 0; r < rounds; ++r)
        for (int cold = 1; cold >= 0; --cold)
            for (int mi = 0; mi < 3; ++mi) {
                Sample s{};
                if (!measure(path, modes[mi].map, modes[mi].verify, cold != 0, &s)) {
                    std::fprintf(stderr, "a child failed (%s)\n", modes[mi].name);
                    return 1;
                }
                best[cold][mi].push_back(s);
            }
    std::printf("\n| cache | mode | open s | first prediction s | first top-10 s | RSS after open MiB | after prediction | after top-10 |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (int cold = 1; cold >= 0; --cold)
        for (int mi = 0; mi < 3; ++mi) {
            // The median round of each mode (by time to the first top-10).
            auto v = best[cold][mi];
            std::sort(v.begin(), v.end(), [](const Sample& a, const Sample& b) { return a.top_s < b.top_s; });
            const Sample& s = v[v.size() / 2];
            std::printf("| %s | %s | %.3f | %.3f | %.3f | %.0f | %.0f | %.0f |\n", cold ? "cold" : "warm",
                        modes[mi].name, s.open_s, s.predict_s, s.top_s, s.rss_open, s.rss_predict, s.rss_top);
        }
    if (!keep) std::filesystem::remove(path);
    return 0;
}
