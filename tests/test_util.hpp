// Shared helpers for the doctest suites: the textbook matrices and small utilities.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "common.hpp"

namespace simdmf_test {

// The status of the simdmf::Error that f throws, or SIMDMF_OK when it returns.
template <class F>
simdmf_status status_of(F&& f) {
    try {
        f();
    } catch (const simdmf::Error& e) {
        return e.status();
    }
    return SIMDMF_OK;
}

// The 5x10 rating matrix of the textbook notebook (0 = missing).
inline const std::vector<float>& textbook_ratings() {
    static const std::vector<float> m = {
        0, 0, 0, 0, 3, 4, 1, 2, 0, 0,  //
        0, 0, 0, 0, 5, 0, 1, 0, 0, 0,  //
        0, 0, 0, 0, 0, 4, 0, 0, 0, 3,  //
        0, 0, 0, 0, 0, 0, 0, 4, 2, 0,  //
        0, 0, 1, 0, 2, 0, 0, 0, 0, 2,
    };
    return m;
}

// The +1/-1 matrix of the same notebook (0 = missing).
inline const std::vector<float>& textbook_labels() {
    static const std::vector<float> m = {
        1, 1,  0,  0,  0, 1,  0, 0, -1, 0,   //
        0, 0,  0,  0,  0, 0,  0, 0, 0,  0,   //
        0, -1, 0,  0,  -1, 0, 0, 0, 0,  -1,  //
        0, 0,  0,  -1, 1, -1, 0, 0, -1, -1,  //
        0, 0,  -1, 0,  0, 0,  0, 0, 0,  0,
    };
    return m;
}

// A fresh empty folder under /tmp, removed when the object dies.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               ("simdmf-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

// ../shared/data as given by the build (tests/meson.build), or empty when absent.
inline std::string data_dir() {
    const char* d = std::getenv("SIMDMF_DATA_DIR");
    if (!d || !std::filesystem::is_directory(d)) return {};
    return d;
}

}  // namespace simdmf_test
