#include "fileio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>

#include "common.hpp"

namespace simdmf {

namespace {
constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr auto kCrcTable = make_crc_table();

template <class T>
T to_le(T v) {
    if constexpr (std::endian::native == std::endian::little) {
        return v;
    } else {
        unsigned char b[sizeof(T)];
        std::memcpy(b, &v, sizeof(T));
        for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
        std::memcpy(&v, b, sizeof(T));
        return v;
    }
}

std::string errno_text() { return std::strerror(errno); }
}  // namespace

std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc) {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

void ByteWriter::raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    bytes.insert(bytes.end(), b, b + n);
}
void ByteWriter::u32(std::uint32_t v) { v = to_le(v); raw(&v, 4); }
void ByteWriter::u64(std::uint64_t v) { v = to_le(v); raw(&v, 8); }
void ByteWriter::f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
void ByteWriter::f32s(const float* p, std::size_t n) {
    if constexpr (std::endian::native == std::endian::little) {
        raw(p, n * sizeof(float));
    } else {
        for (std::size_t i = 0; i < n; ++i) f32(p[i]);
    }
}
void ByteWriter::i64s(const std::int64_t* p, std::size_t n) {
    if constexpr (std::endian::native == std::endian::little) {
        raw(p, n * sizeof(std::int64_t));
    } else {
        for (std::size_t i = 0; i < n; ++i) u64(static_cast<std::uint64_t>(p[i]));
    }
}

void ByteReader::need(std::size_t n) const {
    if (n > n_ - pos_) fail(SIMDMF_ERR_FORMAT, what_ + ": truncated");
}
std::uint32_t ByteReader::u32() {
    need(4);
    std::uint32_t v;
    std::memcpy(&v, p_ + pos_, 4);
    pos_ += 4;
    return to_le(v);
}
std::uint64_t ByteReader::u64() {
    need(8);
    std::uint64_t v;
    std::memcpy(&v, p_ + pos_, 8);
    pos_ += 8;
    return to_le(v);
}
float ByteReader::f32() { return std::bit_cast<float>(u32()); }
void ByteReader::f32s(float* out, std::size_t n) {
    if (n > (n_ - pos_) / sizeof(float)) fail(SIMDMF_ERR_FORMAT, what_ + ": truncated");
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(out, p_ + pos_, n * sizeof(float));
        pos_ += n * sizeof(float);
    } else {
        for (std::size_t i = 0; i < n; ++i) out[i] = f32();
    }
}
void ByteReader::i64s(std::int64_t* out, std::size_t n) {
    if (n > (n_ - pos_) / sizeof(std::int64_t)) fail(SIMDMF_ERR_FORMAT, what_ + ": truncated");
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(out, p_ + pos_, n * sizeof(std::int64_t));
        pos_ += n * sizeof(std::int64_t);
    } else {
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::int64_t>(u64());
    }
}
void ByteReader::skip(std::size_t n) {
    need(n);
    pos_ += n;
}

void atomic_write_file(const std::string& path, const void* data, std::size_t size) {
    static std::atomic<unsigned> counter{0};
    const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail(SIMDMF_ERR_IO, "cannot create " + tmp + ": " + errno_text());
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t done = 0;
    while (done < size) {
        ssize_t w = ::write(fd, p + done, size - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            std::string why = errno_text();
            ::close(fd);
            ::unlink(tmp.c_str());
            fail(SIMDMF_ERR_IO, "cannot write " + tmp + ": " + why);
        }
        done += static_cast<std::size_t>(w);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        std::string why = errno_text();
        ::unlink(tmp.c_str());
        fail(SIMDMF_ERR_IO, "cannot flush " + tmp + ": " + why);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        std::string why = errno_text();
        ::unlink(tmp.c_str());
        fail(SIMDMF_ERR_IO, "cannot rename " + tmp + " to " + path + ": " + why);
    }
    // Make the rename itself durable.
    std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.find_last_of('/'));
    if (dir.empty()) dir = "/";
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

std::vector<unsigned char> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(SIMDMF_ERR_IO, "cannot open " + path + ": " + errno_text());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(SIMDMF_ERR_IO, "cannot read " + path + ": not a regular file");
    }
    std::vector<unsigned char> buf(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < buf.size()) {
        ssize_t r = ::read(fd, buf.data() + done, buf.size() - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        done += static_cast<std::size_t>(r);
    }
    ::close(fd);
    buf.resize(done);
    return buf;
}

}  // namespace simdmf
