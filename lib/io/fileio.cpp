#include "io/fileio.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>

#include "common.hpp"
#include "kernels/kernels.hpp"

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


std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc) {
    // The level's kernel (hardware CRC32 from SSE4.2 up), chosen where every kernel is (SIMDMF_SIMD).
    return ~kernels::active().crc32c(~crc, static_cast<const unsigned char*>(data), n);
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
    if (n == 0) return;  // out may be the null data() of an empty vector (memcpy must not see it)
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(out, p_ + pos_, n * sizeof(float));
        pos_ += n * sizeof(float);
    } else {
        for (std::size_t i = 0; i < n; ++i) out[i] = f32();
    }
}
void ByteReader::i64s(std::int64_t* out, std::size_t n) {
    if (n > (n_ - pos_) / sizeof(std::int64_t)) fail(SIMDMF_ERR_FORMAT, what_ + ": truncated");
    if (n == 0) return;
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

namespace {
// The file a save to `path` must replace: `path` itself, or the end of its chain of symbolic links
// (relative links resolved against the link's folder). Fills `st` when that file exists (found = true).
// A target that exists but is not a regular file (a device, a FIFO, a folder, a socket) is refused.
std::string save_target(const std::string& path, struct stat& st, bool& found) {
    std::string p = path;
    for (int hops = 0;; ++hops) {
        if (::lstat(p.c_str(), &st) != 0) {
            if (errno != ENOENT) fail(SIMDMF_ERR_IO, "cannot write " + path + ": " + errno_text());
            found = false;
            return p;
        }
        if (!S_ISLNK(st.st_mode)) break;
        if (hops >= 40) fail(SIMDMF_ERR_IO, "cannot write " + path + ": too many levels of symbolic links");
        std::string link(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
        const ssize_t n = ::readlink(p.c_str(), link.data(), link.size());
        if (n < 0) fail(SIMDMF_ERR_IO, "cannot write " + path + ": " + errno_text());
        link.resize(static_cast<std::size_t>(n));
        if (link.empty() || link[0] == '/') {
            p = link;
        } else {
            const auto slash = p.find_last_of('/');
            p = slash == std::string::npos ? link : p.substr(0, slash + 1) + link;
        }
    }
    if (!S_ISREG(st.st_mode))
        fail(SIMDMF_ERR_IO, "cannot write " + path + ": not a regular file (saves replace regular files only)");
    found = true;
    return p;
}
}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
    static std::atomic<unsigned> counter{0};
    struct stat st {};
    bool found = false;
    path_ = save_target(path, st, found);
    tmp_ = path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(SIMDMF_ERR_IO, "cannot write " + path_ + ": " + errno_text() + " (creating the temporary file " + tmp_ + " beside it)");
    if (found) {
        // The replacement keeps the replaced file's owner (where allowed) and permission bits.
        if (::fchown(fd_, st.st_uid, st.st_gid) != 0) { /* not the owner and not root: keep ours */ }
        if (::fchmod(fd_, st.st_mode & 07777) != 0) {
            std::string why = errno_text();
            discard();
            fail(SIMDMF_ERR_IO, "cannot write " + path_ + ": setting the mode of its temporary file failed: " + why);
        }
    }
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
}

void AtomicFile::write_all(const void* data, std::size_t n) {
    if (fd_ < 0) fail(SIMDMF_ERR_IO, "cannot write " + path_ + ": already committed or failed");
    const auto* p = static_cast<const unsigned char*>(data);
    while (n > 0) {
        const std::size_t want = n < (std::size_t{1} << 30) ? n : (std::size_t{1} << 30);
        ssize_t w = ::write(fd_, p, want);
        if (w < 0) {
            if (errno == EINTR) continue;
            std::string why = errno_text();
            discard();
            fail(SIMDMF_ERR_IO, "cannot write " + path_ + ": " + why);
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void AtomicFile::flush() {
    if (used_ == 0) return;
    const std::size_t n = used_;
    used_ = 0;
    write_all(buf_.data(), n);
}

void AtomicFile::write(const void* data, std::size_t n) {
    constexpr std::size_t kBuffer = std::size_t{1} << 20;
    if (n >= kBuffer) {  // large blocks straight from the caller's memory
        flush();
        write_all(data, n);
        return;
    }
    if (buf_.empty()) buf_.resize(kBuffer);
    if (used_ + n > buf_.size()) flush();
    std::memcpy(buf_.data() + used_, data, n);
    used_ += n;
}

void AtomicFile::commit() {
    flush();
    if (fd_ < 0) fail(SIMDMF_ERR_IO, "cannot write " + path_ + ": already committed or failed");
    if (::fsync(fd_) != 0) {
        std::string why = errno_text();
        discard();
        fail(SIMDMF_ERR_IO, "cannot write " + path_ + ": flushing failed: " + why);
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        std::string why = errno_text();
        ::unlink(tmp_.c_str());
        fail(SIMDMF_ERR_IO, "cannot write " + path_ + ": closing failed: " + why);
    }
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
        std::string why = errno_text();
        ::unlink(tmp_.c_str());
        fail(SIMDMF_ERR_IO, "cannot write " + path_ + ": replacing it by its temporary file failed: " + why);
    }
    // Make the rename itself durable (best effort: some file systems refuse to fsync a folder).
    std::string dir = ".";
    const auto slash = path_.find_last_of('/');
    if (slash != std::string::npos) dir = slash == 0 ? "/" : path_.substr(0, slash);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

void atomic_write_file(const std::string& path, const void* data, std::size_t size) {
    AtomicFile f(path);
    f.write(data, size);
    f.commit();
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

std::shared_ptr<const FileBytes> FileBytes::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(SIMDMF_ERR_IO, "cannot open " + path + ": " + errno_text());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(SIMDMF_ERR_IO, "cannot read " + path + ": not a regular file");
    }
    std::shared_ptr<FileBytes> f(new FileBytes());
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > SIZE_MAX) {
        ::close(fd);
        fail(SIMDMF_ERR_IO, "cannot read " + path + ": larger than the address space");
    }
    f->size_ = static_cast<std::size_t>(size);
    if (f->size_ > 0) {
        void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            f->data_ = static_cast<const unsigned char*>(p);
            f->mapped_ = true;
        } else {  // a file system that cannot map: read it
            try {
                f->copy_.resize(f->size_);
            } catch (...) {
                ::close(fd);
                throw;
            }
            std::size_t done = 0;
            while (done < f->size_) {
                ssize_t r = ::pread(fd, f->copy_.data() + done, f->size_ - done, static_cast<off_t>(done));
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) break;
                done += static_cast<std::size_t>(r);
            }
            f->size_ = done;
            f->data_ = f->copy_.data();
        }
    }
    ::close(fd);
    return f;
}

FileBytes::~FileBytes() {
    if (mapped_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

}  // namespace simdmf
