#include "io/file_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define SIMDMF_CRC_X86 1
#endif

namespace simdmf::io::detail {

void fail_errno(const std::string& what, const std::string& path, int err) {
    fail(SIMDMF_ERR_IO, what + " '" + path + "': " + std::strerror(err));
}

InputFile::InputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail_errno("cannot open", path, errno);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        fail_errno("cannot stat", path, err);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd_);
        fd_ = -1;
        fail_errno("cannot read", path, EISDIR);
    }
    if (S_ISREG(st.st_mode)) {
        size_ = static_cast<std::uint64_t>(st.st_size);
#ifdef POSIX_FADV_SEQUENTIAL
        ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    }
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read(void* dst, std::size_t n) {
    auto* p = static_cast<char*>(dst);
    std::size_t done = 0;
    while (done < n) {
        std::size_t want = n - done;
        if (want > (std::size_t{1} << 30)) want = std::size_t{1} << 30;
        ssize_t r = ::read(fd_, p + done, want);
        if (r < 0) {
            if (errno == EINTR) continue;
            fail_errno("cannot read", path_, errno);
        }
        if (r == 0) break;
        done += static_cast<std::size_t>(r);
    }
    return done;
}

AtomicWriter::AtomicWriter(const std::string& path)
    : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())) {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_errno("cannot create", tmp_, errno);
    buf_.resize(std::size_t{1} << 20);
}

AtomicWriter::~AtomicWriter() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(tmp_.c_str());
    }
}

void AtomicWriter::flush() {
    const char* p = buf_.data();
    std::size_t left = used_;
    while (left > 0) {
        ssize_t w = ::write(fd_, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail_errno("cannot write", tmp_, errno);
        }
        p += w;
        left -= static_cast<std::size_t>(w);
    }
    used_ = 0;
}

void AtomicWriter::write(const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    if (used_ + n <= buf_.size()) {
        std::memcpy(buf_.data() + used_, p, n);
        used_ += n;
        return;
    }
    flush();
    if (n < buf_.size()) {
        std::memcpy(buf_.data(), p, n);
        used_ = n;
        return;
    }
    while (n > 0) {  // large blocks straight from the caller's memory
        ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail_errno("cannot write", tmp_, errno);
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void AtomicWriter::commit() {
    flush();
    if (::fsync(fd_) != 0) fail_errno("cannot sync", tmp_, errno);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp_.c_str());
        fail_errno("cannot close", tmp_, err);
    }
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp_.c_str());
        fail_errno("cannot rename to", path_, err);
    }
    // Make the rename itself durable (best effort: some file systems refuse to fsync a directory).
    std::string dir = ".";
    auto slash = path_.find_last_of('/');
    if (slash != std::string::npos) dir = slash == 0 ? "/" : path_.substr(0, slash);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

namespace {

struct CrcTables {
    std::array<std::array<std::uint32_t, 256>, 8> t{};
    CrcTables() {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
            t[0][i] = c;
        }
        for (std::uint32_t i = 0; i < 256; ++i)
            for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
};

std::uint32_t crc32c_soft(std::uint32_t crc, const unsigned char* p, std::size_t n) {
    static const CrcTables tables;
    const auto& t = tables.t;
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);  // little-endian byte order is what the table expects
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        w ^= crc;
        crc = t[7][w & 0xFF] ^ t[6][(w >> 8) & 0xFF] ^ t[5][(w >> 16) & 0xFF] ^ t[4][(w >> 24) & 0xFF] ^
              t[3][(w >> 32) & 0xFF] ^ t[2][(w >> 40) & 0xFF] ^ t[1][(w >> 48) & 0xFF] ^ t[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFF];
    return crc;
}

#ifdef SIMDMF_CRC_X86
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hw(std::uint32_t crc, const unsigned char* p,
                                                          std::size_t n) {
#if defined(__x86_64__)
    std::uint64_t c = crc;
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    crc = static_cast<std::uint32_t>(c);
#endif
    while (n--) crc = _mm_crc32_u8(crc, *p++);
    return crc;
}
#endif

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
#ifdef SIMDMF_CRC_X86
    static const bool hw = __builtin_cpu_supports("sse4.2");
    crc = hw ? crc32c_hw(crc, p, n) : crc32c_soft(crc, p, n);
#else
    crc = crc32c_soft(crc, p, n);
#endif
    return ~crc;
}

}  // namespace simdmf::io::detail
