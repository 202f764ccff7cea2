// libFuzzer target: the binary ratings file reader (io::load_binary). Each input is tried as is and
// with its header and payload CRCs recomputed, so the fuzzer reaches the code behind the checksums.
#include <cstdint>
#include <vector>

#include "check_ratings.hpp"
#include "common.hpp"
#include "io/fileio.hpp"
#include "fuzz_util.hpp"
#include "io/loaders.hpp"

namespace {
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) p[k] = static_cast<std::uint8_t>(v >> (8 * k));
}

void try_load(simdmf_fuzz::MemFile& file, const std::uint8_t* data, std::size_t size) {
    const std::string& path = file.set(data, size);
    try {
        simdmf::Ratings r = simdmf::io::load_binary(path);
        simdmf_fuzz::check_ratings(r);
    } catch (const simdmf::Error& e) {
        const simdmf_status s = e.status();
        SIMDMF_FUZZ_CHECK(s == SIMDMF_ERR_FORMAT || s == SIMDMF_ERR_CHECKSUM || s == SIMDMF_ERR_VERSION ||
                          s == SIMDMF_ERR_OUT_OF_MEMORY);
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static simdmf_fuzz::MemFile file;
    try_load(file, data, size);
    if (size >= 64) {
        std::vector<std::uint8_t> fixed(data, data + size);
        put32(fixed.data() + 48, simdmf::crc32c(fixed.data(), 48));
        put32(fixed.data() + size - 8, simdmf::crc32c(fixed.data() + 56, size - 64));
        try_load(file, fixed.data(), fixed.size());
    }
    return 0;
}
