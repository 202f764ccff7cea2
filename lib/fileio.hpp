// Small file utilities shared by the model and ratings file formats: CRC-32, little-endian
// encoding, atomic writes and whole-file reads with clear errors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace simdmf {

// CRC-32 (IEEE 802.3, the zlib/PNG polynomial), continuing from `crc` (0 to start).
std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc = 0);

// Appends little-endian encodings to a byte buffer.
class ByteWriter {
public:
    std::vector<unsigned char> bytes;
    void u32(std::uint32_t v);
    void u64(std::uint64_t v);
    void f32(float v);
    void raw(const void* p, std::size_t n);
    void f32s(const float* p, std::size_t n);
    void i64s(const std::int64_t* p, std::size_t n);
};

// Reads little-endian values from a byte range; every read is bounds-checked and a short read
// throws Error(SIMDMF_ERR_FORMAT, "<what>: truncated").
class ByteReader {
public:
    ByteReader(const unsigned char* p, std::size_t n, std::string what) : p_(p), n_(n), what_(std::move(what)) {}
    std::uint32_t u32();
    std::uint64_t u64();
    float f32();
    void f32s(float* out, std::size_t n);
    void i64s(std::int64_t* out, std::size_t n);
    void skip(std::size_t n);
    std::size_t remaining() const { return n_ - pos_; }
    std::size_t position() const { return pos_; }

private:
    void need(std::size_t n) const;
    const unsigned char* p_;
    std::size_t n_;
    std::size_t pos_ = 0;
    std::string what_;
};

// Writes `data` to `path` atomically: a temporary file in the same folder, fsync, rename over
// path, fsync of the folder. Throws Error(SIMDMF_ERR_IO) with the path and reason; on failure the
// previous file at `path` is untouched and the temporary is removed.
void atomic_write_file(const std::string& path, const void* data, std::size_t size);

// Reads a whole file. Throws Error(SIMDMF_ERR_IO) naming the path and reason.
std::vector<unsigned char> read_file(const std::string& path);

}  // namespace simdmf
