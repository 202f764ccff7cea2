// Small file utilities shared by the model and ratings file formats: the two CRCs (CRC-32 for model
// files, CRC-32C for binary ratings files), little-endian encoding, atomic writes (the one
// implementation in the library) and whole-file reads with clear errors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"

namespace simdmf {

// CRC-32 (IEEE 802.3, the zlib/PNG polynomial), continuing from `crc` (0 to start).
std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc = 0);

// CRC-32C (Castagnoli; SSE4.2 instruction when the CPU has it), continuing from `crc` (0 to start).
std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc = 0);

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

// Streams a file into place atomically. The constructor creates a unique temporary
// "<path>.tmp.<pid>.<n>" in the same folder (O_EXCL); write() buffers (1 MiB) or passes large blocks
// straight through; commit() flushes, fsyncs, closes and renames it over `path`, then fsyncs the
// folder. Destroyed without commit (an exception, a failed write), it removes the temporary, so the
// file at `path` is either the old one or the complete new one. A process killed mid-write leaves the
// old file and, at worst, an orphaned temporary that nothing reads. Errors: Error(SIMDMF_ERR_IO) with
// the path and the system's reason.
// The target: a symbolic link is followed to the file it names, and that file is replaced (the link
// stays); an existing target that is not a regular file (a character device such as /dev/null, a FIFO,
// a folder) is refused with Error(SIMDMF_ERR_IO) naming the path, before anything is created. The new
// file keeps the permission bits and, where the process may set it, the owner of the file it replaces
// (a new file gets 0644 less the umask).
class AtomicFile {
public:
    explicit AtomicFile(const std::string& path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    void write(const void* data, std::size_t n);
    void commit();
    const std::string& temp_path() const { return tmp_; }

private:
    void write_all(const void* data, std::size_t n);
    void flush();
    void discard() noexcept;
    std::string path_, tmp_;
    int fd_ = -1;
    std::vector<unsigned char> buf_;
    std::size_t used_ = 0;
};

// Writes `data` to `path` atomically (AtomicFile): a temporary file in the same folder, fsync, rename over
// path, fsync of the folder. Throws Error(SIMDMF_ERR_IO) with the path and reason; on failure the
// previous file at `path` is untouched and the temporary is removed.
void atomic_write_file(const std::string& path, const void* data, std::size_t size);

// Reads a whole file. Throws Error(SIMDMF_ERR_IO) naming the path and reason.
std::vector<unsigned char> read_file(const std::string& path);

// A regular file's bytes, read-only: memory-mapped (MAP_PRIVATE, PROT_READ; unmapped when the last
// owner lets go), or read into memory where the file cannot be mapped. Page-aligned either way. The
// mapping shows the file as it is on disk: a file truncated or rewritten in place by another process
// while mapped can make reads fault (SIGBUS); simdmf's own writers replace files by rename, which
// leaves an existing mapping intact. Throws Error(SIMDMF_ERR_IO) naming the path and reason.
class FileBytes {
public:
    static std::shared_ptr<const FileBytes> open(const std::string& path);
    ~FileBytes();
    FileBytes(const FileBytes&) = delete;
    FileBytes& operator=(const FileBytes&) = delete;
    const unsigned char* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool mapped() const noexcept { return mapped_; }

private:
    FileBytes() = default;
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
    bool mapped_ = false;
    std::vector<unsigned char, AlignedAllocator<unsigned char>> copy_;
};

}  // namespace simdmf
