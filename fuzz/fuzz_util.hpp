// Shared by the libFuzzer targets: the input bytes as a file the loaders can open by path, without
// touching the disk (a memfd reopened through /proc/self/fd, a regular file to fstat).
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace simdmf_fuzz {

class MemFile {
public:
    MemFile() {
        fd_ = ::memfd_create("simdmf-fuzz", MFD_CLOEXEC);
        if (fd_ < 0) {
            std::perror("memfd_create");
            std::abort();
        }
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    // Replaces the contents with data[0, n).
    const std::string& set(const void* data, std::size_t n) {
        if (::ftruncate(fd_, 0) != 0) std::abort();
        const auto* p = static_cast<const char*>(data);
        std::size_t done = 0;
        while (done < n) {
            ssize_t w = ::pwrite(fd_, p + done, n - done, static_cast<off_t>(done));
            if (w <= 0) std::abort();
            done += static_cast<std::size_t>(w);
        }
        return path_;
    }

private:
    int fd_ = -1;
    std::string path_;
};

// A violated invariant: report and crash so libFuzzer saves the input.
[[noreturn]] inline void invariant_failed(const char* what) {
    std::fprintf(stderr, "simdmf fuzz invariant violated: %s\n", what);
    std::abort();
}
#define SIMDMF_FUZZ_CHECK(cond) \
    do {                        \
        if (!(cond)) ::simdmf_fuzz::invariant_failed(#cond); \
    } while (0)

}  // namespace simdmf_fuzz
