// Internal helpers of the io code: errno-carrying failures, a read-only file, and the atomic writer
// and CRC-32C of lib/io/fileio.hpp under their io names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/fileio.hpp"

namespace simdmf::io::detail {

// Throws Error(SIMDMF_ERR_IO, "<what> '<path>': <strerror(err)>").
[[noreturn]] void fail_errno(const std::string& what, const std::string& path, int err);

class InputFile {
public:
    explicit InputFile(const std::string& path);  // SIMDMF_ERR_IO when it cannot be opened
    ~InputFile();
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    std::uint64_t size() const { return size_; }  // 0 when not a regular file
    bool regular() const { return regular_; }
    // Reads up to n bytes; fewer only at end of file. SIMDMF_ERR_IO on error.
    std::size_t read(void* dst, std::size_t n);
    // Puts bytes back in front of what read() returns next (format detection peeks this way, so a pipe
    // is read once).
    void unread(const char* p, std::size_t n);
    // At end of input: SIMDMF_ERR_IO when a regular file changed size while being read (bytes read
    // differ from its size at open, or its size now differs).
    void check_complete(std::uint64_t bytes_read) const;
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    bool regular_ = false;
    std::vector<char> pending_;  // unread bytes, served before the file's
    std::size_t pending_at_ = 0;
};

// The library's one atomic writer (lib/io/fileio.hpp): a unique temporary, commit() fsyncs and renames
// it over the path; destroyed uncommitted, it removes the temporary.
using AtomicWriter = simdmf::AtomicFile;

// True when p starts with the magic of the binary ratings file.
bool is_binary_magic(const unsigned char* p, std::size_t n);

// CRC-32C (Castagnoli); crc is the running value (start with 0). Implemented in lib/io/fileio.cpp.
inline std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) {
    return simdmf::crc32c(data, n, crc);
}

}  // namespace simdmf::io::detail
