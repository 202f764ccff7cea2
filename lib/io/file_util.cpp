#include "io/file_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "common.hpp"

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
        regular_ = true;
        size_ = static_cast<std::uint64_t>(st.st_size);
#ifdef POSIX_FADV_SEQUENTIAL
        ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    }
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

void InputFile::unread(const char* p, std::size_t n) {
    std::vector<char> v(p, p + n);
    v.insert(v.end(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_at_), pending_.end());
    pending_ = std::move(v);
    pending_at_ = 0;
}

void InputFile::check_complete(std::uint64_t bytes_read) const {
    if (!regular_) return;
    struct stat st {};
    const bool now_ok = ::fstat(fd_, &st) == 0 && static_cast<std::uint64_t>(st.st_size) == size_;
    if (bytes_read != size_ || !now_ok)
        fail(SIMDMF_ERR_IO, "'" + path_ + "' changed while being read (" + std::to_string(size_) +
                                " bytes at open, " + std::to_string(bytes_read) + " read" +
                                (now_ok ? "" : ", now " + std::to_string(st.st_size)) + ")");
}

std::size_t InputFile::read(void* dst, std::size_t n) {
    auto* p = static_cast<char*>(dst);
    std::size_t done = 0;
    if (pending_at_ < pending_.size()) {
        done = std::min(n, pending_.size() - pending_at_);
        std::memcpy(p, pending_.data() + pending_at_, done);
        pending_at_ += done;
        if (pending_at_ == pending_.size()) {
            pending_.clear();
            pending_.shrink_to_fit();
            pending_at_ = 0;
        }
    }
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

}  // namespace simdmf::io::detail
