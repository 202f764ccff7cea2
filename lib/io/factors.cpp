// Factor import and export (factors.hpp). Text is streamed in 4 MiB blocks and parsed with
// std::from_chars; numpy arrays are read straight into the destination vector (float32, C order) or
// converted in blocks; .npz members are found through the zip central directory (zip64 included) and
// must be stored, not deflated (numpy's np.savez; np.savez_compressed is refused with a message).
#include "io/factors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>
#include <unordered_set>

#include "common.hpp"
#include "io/fileio.hpp"

namespace simdmf::factors {

void* bulk_allocate(std::size_t bytes) {
    constexpr std::size_t align = 64;
    if (bytes > SIZE_MAX - align) throw std::bad_alloc();
    const std::size_t rounded = (bytes == 0 ? align : bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, rounded);
    if (!p) throw std::bad_alloc();
    return p;
}

void bulk_free(void* p) noexcept { std::free(p); }


namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBlock = 4u << 20;
constexpr std::size_t kMaxLine = 64u << 20;
constexpr std::uint32_t kMaxK = 65536;

[[noreturn]] void fail_at(simdmf_status s, const std::string& file, std::size_t line, const std::string& what) {
    fail(s, file + (line ? ":" + std::to_string(line) : std::string()) + ": " + what);
}

// A file read with pread (no shared offset), closed on destruction.
class File {
public:
    explicit File(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) fail(SIMDMF_ERR_IO, "cannot open '" + path + "': " + std::strerror(errno));
        struct stat st {};
        if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd_);
            fail(SIMDMF_ERR_IO, "'" + path + "' is not a regular file");
        }
        size_ = static_cast<std::uint64_t>(st.st_size);
    }
    ~File() { ::close(fd_); }
    // Whether `path` names this open file now (same device and inode).
    bool same_file(const std::string& path) const {
        struct stat a {}, b {};
        return ::fstat(fd_, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    }
    // Tells the kernel [off, off + n) will be read once, front to back, soon: read-ahead starts now
    // and runs beside the caller's work on the pieces already read.
    void advise_sequential(std::uint64_t off, std::uint64_t n, bool will_need = true) const {
#ifdef POSIX_FADV_SEQUENTIAL
        ::posix_fadvise(fd_, static_cast<off_t>(off), static_cast<off_t>(n), POSIX_FADV_SEQUENTIAL);
        if (will_need) ::posix_fadvise(fd_, static_cast<off_t>(off), static_cast<off_t>(n), POSIX_FADV_WILLNEED);
#else
        (void)off;
        (void)n;
#endif
    }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    std::uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }
    // Reads exactly n bytes at off; FORMAT "truncated" when the file ends first.
    void read_at(std::uint64_t off, void* dst, std::size_t n, const std::string& what) const {
        auto* p = static_cast<char*>(dst);
        while (n > 0) {
            ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(off));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail(SIMDMF_ERR_IO, "cannot read '" + path_ + "': " + std::strerror(errno));
            if (got == 0) fail(SIMDMF_ERR_FORMAT, path_ + ": " + what + ": truncated");
            p += got;
            off += static_cast<std::uint64_t>(got);
            n -= static_cast<std::size_t>(got);
        }
    }

private:
    std::string path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

// Lines of a text file, streamed; a line may not exceed kMaxLine bytes.
class Lines {
public:
    explicit Lines(const std::string& path) : f_(path) {}
    bool next(std::string_view* line) {
        for (;;) {
            const char* b = buf_.data() + pos_;
            const char* e = buf_.data() + end_;
            if (const void* nl = std::memchr(b, '\n', static_cast<std::size_t>(e - b))) {
                const char* n = static_cast<const char*>(nl);
                *line = trim_cr(std::string_view(b, static_cast<std::size_t>(n - b)));
                pos_ = static_cast<std::size_t>(n + 1 - buf_.data());
                ++number_;
                return true;
            }
            if (eof_) {
                if (pos_ == end_) return false;
                *line = trim_cr(std::string_view(b, static_cast<std::size_t>(e - b)));
                pos_ = end_;
                ++number_;
                return true;
            }
            refill();
        }
    }
    std::size_t number() const { return number_; }
    const std::string& path() const { return f_.path(); }

private:
    static std::string_view trim_cr(std::string_view s) {
        if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
        return s;
    }
    void refill() {
        std::size_t keep = end_ - pos_;
        if (keep >= kMaxLine) fail_at(SIMDMF_ERR_FORMAT, f_.path(), number_ + 1, "line longer than 64 MiB");
        if (buf_.size() < keep + kBlock) buf_.resize(keep + kBlock);
        std::memmove(buf_.data(), buf_.data() + pos_, keep);
        pos_ = 0;
        end_ = keep;
        std::uint64_t left = f_.size() - offset_;
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf_.size() - keep));
        if (want) f_.read_at(offset_, buf_.data() + end_, want, "text");
        offset_ += want;
        end_ += want;
        if (offset_ >= f_.size()) eof_ = true;
    }
    File f_;
    std::vector<char> buf_ = std::vector<char>(kBlock);
    std::size_t pos_ = 0, end_ = 0, number_ = 0;
    std::uint64_t offset_ = 0;
    bool eof_ = false;
};

// ---- small text scanning ----------------------------------------------------------------------------

struct Cursor {
    const char* p;
    const char* e;
    void ws() {
        while (p < e && (*p == ' ' || *p == '\t')) ++p;
    }
    bool eat(char c) {
        ws();
        if (p < e && *p == c) {
            ++p;
            return true;
        }
        return false;
    }
};

bool parse_float(Cursor& c, float* out) {
    c.ws();
    if (c.p < c.e && *c.p == '+') ++c.p;
    auto r = std::from_chars(c.p, c.e, *out);
    if (r.ec == std::errc::result_out_of_range) {
        *out = std::numeric_limits<float>::infinity();  // rejected as non-finite by the checks
        c.p = r.ptr;
        return true;
    }
    if (r.ec != std::errc()) return false;
    c.p = r.ptr;
    return true;
}

bool parse_int(Cursor& c, std::int64_t* out) {
    c.ws();
    auto r = std::from_chars(c.p, c.e, *out);
    if (r.ec != std::errc()) return false;
    c.p = r.ptr;
    return true;
}

bool whole_int(std::string_view s, std::int64_t* out) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '"')) s.remove_suffix(1);
    if (s.empty()) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool whole_float(std::string_view s, float* out) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '"')) s.remove_suffix(1);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
    if (r.ec == std::errc::result_out_of_range && r.ptr == s.data() + s.size()) {
        *out = std::numeric_limits<float>::infinity();
        return true;
    }
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// A JSON string starting at c.p (after optional spaces); the value is returned unescaped only for plain
// strings (object keys and ids here never need escapes; an escape is FORMAT).
bool json_string(Cursor& c, std::string_view* out) {
    c.ws();
    if (c.p >= c.e || *c.p != '"') return false;
    const char* b = ++c.p;
    while (c.p < c.e && *c.p != '"') {
        if (*c.p == '\\') return false;
        ++c.p;
    }
    if (c.p >= c.e) return false;
    *out = std::string_view(b, static_cast<std::size_t>(c.p - b));
    ++c.p;
    return true;
}

// Skips one JSON value of a simple kind (number, string, literal, array of those).
bool json_skip(Cursor& c) {
    c.ws();
    if (c.p >= c.e) return false;
    if (*c.p == '"') {
        std::string_view s;
        return json_string(c, &s);
    }
    if (*c.p == '[') {
        ++c.p;
        if (c.eat(']')) return true;
        do {
            if (!json_skip(c)) return false;
        } while (c.eat(','));
        return c.eat(']');
    }
    const char* b = c.p;
    while (c.p < c.e && *c.p != ',' && *c.p != '}' && *c.p != ']' && *c.p != ' ') ++c.p;
    return c.p > b;
}

// Raw ids as they come: integers until the first string id, then every id as text.
void add_id(Table& t, std::int64_t id) {
    if (t.str_ids.empty()) t.ids.push_back(id);
    else t.str_ids.push_back(std::to_string(id));
}
void add_id(Table& t, std::string_view id) {
    if (t.str_ids.empty()) {
        t.str_ids.reserve(t.ids.size() + 1);
        for (auto v : t.ids) t.str_ids.push_back(std::to_string(v));
        t.ids.clear();
        t.ids.shrink_to_fit();
    }
    t.str_ids.emplace_back(id);
}

void append_row(Table& t, const std::vector<float>& row, const std::string& file, std::size_t line) {
    if (t.rows == 0 && t.values.empty()) {
        if (row.empty()) fail_at(SIMDMF_ERR_FORMAT, file, line, "a row with no factors");
        if (row.size() > kMaxK) fail_at(SIMDMF_ERR_FORMAT, file, line, "more than 65536 factors");
        t.k = static_cast<std::uint32_t>(row.size());
    } else if (row.size() != t.k) {
        fail_at(SIMDMF_ERR_FORMAT, file, line,
                std::to_string(row.size()) + " factors where earlier rows have " + std::to_string(t.k));
    }
    for (float v : row)
        if (!std::isfinite(v)) fail_at(SIMDMF_ERR_INVALID_DATA, file, line, "a factor is NaN or infinite");
    if (t.rows == UINT32_MAX) fail_at(SIMDMF_ERR_FORMAT, file, line, "more than 2^32-1 rows");
    t.values.insert(t.values.end(), row.begin(), row.end());
    ++t.rows;
}

// Part files of a Spark output folder (every file not starting with '_' or '.', not *.crc), sorted; a
// plain file is itself.
std::vector<std::string> part_files(const std::string& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return {path};
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(path, ec)) {
        std::string name = e.path().filename().string();
        if (name.empty() || name[0] == '_' || name[0] == '.') continue;
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".crc") == 0) continue;
        if (!e.is_regular_file(ec)) continue;
        files.push_back(e.path().string());
    }
    if (ec) fail(SIMDMF_ERR_IO, "cannot list '" + path + "': " + ec.message());
    std::sort(files.begin(), files.end());
    if (files.empty()) fail(SIMDMF_ERR_FORMAT, "'" + path + "' holds no part files");
    return files;
}

// ---- Spark JSON lines: {"id": 12, "features": [0.1, ...]} (simdmf's own export adds "bias") ----------

void read_json_file(const std::string& path, Table& t, bool& any_bias) {
    Lines lines(path);
    std::string_view line;
    std::vector<float> row;
    while (lines.next(&line)) {
        Cursor c{line.data(), line.data() + line.size()};
        c.ws();
        if (c.p == c.e) continue;
        auto bad = [&](const std::string& what) { fail_at(SIMDMF_ERR_FORMAT, path, lines.number(), what); };
        if (!c.eat('{')) bad("expected a JSON object {\"id\": ..., \"features\": [...]}");
        bool has_id = false, has_features = false, has_bias = false;
        std::int64_t id = 0;
        std::string_view str_id;
        bool string_id = false;
        float bias = 0;
        row.clear();
        if (!c.eat('}')) {
            do {
                std::string_view key;
                if (!json_string(c, &key) || !c.eat(':')) bad("malformed JSON object");
                if (key == "id") {
                    c.ws();
                    if (c.p < c.e && *c.p == '"') {
                        if (!json_string(c, &str_id) || str_id.empty()) bad("\"id\" is not a plain string");
                        string_id = true;
                    } else if (!parse_int(c, &id)) {
                        bad("\"id\" is neither an integer nor a string");
                    }
                    has_id = true;
                } else if (key == "features") {
                    if (!c.eat('[')) bad("\"features\" is not an array");
                    if (!c.eat(']')) {
                        do {
                            float v;
                            if (!parse_float(c, &v)) bad("a feature is not a number");
                            row.push_back(v);
                        } while (c.eat(','));
                        if (!c.eat(']')) bad("unterminated \"features\" array");
                    }
                    has_features = true;
                } else if (key == "bias") {
                    if (!parse_float(c, &bias)) bad("\"bias\" is not a number");
                    has_bias = true;
                } else if (!json_skip(c)) {
                    bad("malformed value of \"" + std::string(key) + "\"");
                }
            } while (c.eat(','));
            if (!c.eat('}')) bad("malformed JSON object");
        }
        if (!has_id || !has_features) bad("a row needs \"id\" and \"features\"");
        if (t.rows > 0 && has_bias != any_bias) bad("\"bias\" on some rows only");
        any_bias = has_bias;
        append_row(t, row, path, lines.number());
        if (string_id) add_id(t, str_id);
        else add_id(t, id);
        if (has_bias) {
            if (!std::isfinite(bias)) fail_at(SIMDMF_ERR_INVALID_DATA, path, lines.number(), "bias is NaN or infinite");
            t.bias.push_back(bias);
        }
    }
}

// ---- CSV: id,f1,...,fk (optionally a header; simdmf's export writes id,bias,f0,... with a header) ------

std::vector<std::string_view> split_csv(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        std::size_t comma = line.find(',', start);
        out.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

void read_csv_file(const std::string& path, Table& t, bool& bias_column) {
    Lines lines(path);
    std::string_view line;
    std::vector<float> row;
    bool first = true;
    while (lines.next(&line)) {
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
        // Spark's concat_ws output may arrive quoted as one field: "0.1,0.2"; quotes are dropped.
        std::string unquoted;
        if (line.find('"') != std::string_view::npos) {
            unquoted.reserve(line.size());
            for (char ch : line)
                if (ch != '"') unquoted.push_back(ch);
            line = unquoted;
        }
        auto fields = split_csv(line);
        std::int64_t id;
        float v;
        if (first) {
            first = false;
            // A header names its columns: its second field is no number (ids may be strings).
            bool header = fields.size() > 1 && !whole_float(fields[1], &v);
            if (header) {
                if (t.rows == 0) bias_column = fields.size() > 1 && fields[1] == "bias";
                continue;
            }
        }
        auto bad = [&](const std::string& what) { fail_at(SIMDMF_ERR_FORMAT, path, lines.number(), what); };
        if (fields.size() < 2) bad("expected id followed by the factors");
        std::string_view sid = fields[0];
        while (!sid.empty() && sid.front() == ' ') sid.remove_prefix(1);
        while (!sid.empty() && sid.back() == ' ') sid.remove_suffix(1);
        if (sid.empty()) bad("an empty id");
        row.clear();
        std::size_t from = bias_column ? 2 : 1;
        if (bias_column) {
            if (!whole_float(fields[1], &v)) bad("the bias is not a number");
            if (!std::isfinite(v)) fail_at(SIMDMF_ERR_INVALID_DATA, path, lines.number(), "bias is NaN or infinite");
            t.bias.push_back(v);
        }
        for (std::size_t j = from; j < fields.size(); ++j) {
            if (!whole_float(fields[j], &v)) bad("field " + std::to_string(j + 1) + " is not a number");
            row.push_back(v);
        }
        append_row(t, row, path, lines.number());
        if (whole_int(sid, &id)) add_id(t, id);
        else add_id(t, sid);
    }
}

// ---- numpy .npy ------------------------------------------------------------------------------------------

struct NpyInfo {
    char kind = 0;         // 'f' float, 'i' signed, 'u' unsigned
    std::size_t item = 0;  // bytes per element
    bool big_endian = false;
    bool fortran = false;
    std::vector<std::uint64_t> shape;
    std::uint64_t data_offset = 0;  // from the start of the array
    std::uint64_t count() const {
        std::uint64_t n = 1;
        for (auto d : shape) n *= d;
        return n;
    }
};

std::string_view header_value(std::string_view h, std::string_view key) {
    std::size_t at = h.find(key);
    if (at == std::string_view::npos) return {};
    std::size_t colon = h.find(':', at + key.size());
    if (colon == std::string_view::npos) return {};
    std::size_t b = h.find_first_not_of(' ', colon + 1);
    if (b == std::string_view::npos) return {};
    std::size_t e = h[b] == '(' ? h.find(')', b) + 1 : h.find_first_of(",}", b + 1);
    if (h[b] == '\'' || h[b] == '"') e = h.find(h[b], b + 1) + 1;
    if (e == std::string_view::npos || e <= b) return {};
    return h.substr(b, e - b);
}

// Parses the header of the array at [base, base + length) of f.
NpyInfo npy_header(const File& f, std::uint64_t base, std::uint64_t length, const std::string& what) {
    unsigned char pre[12];
    if (length < 10) fail(SIMDMF_ERR_FORMAT, f.path() + ": " + what + ": not a .npy array (too short)");
    f.read_at(base, pre, 10, what);
    if (std::memcmp(pre, "\x93NUMPY", 6) != 0) fail(SIMDMF_ERR_FORMAT, f.path() + ": " + what + ": not a .npy array");
    std::uint64_t hlen, hstart;
    if (pre[6] == 1) {
        hlen = pre[8] | (pre[9] << 8);
        hstart = 10;
    } else if (pre[6] == 2 || pre[6] == 3) {
        f.read_at(base + 10, pre + 10, 2, what);
        hlen = std::uint64_t(pre[8]) | (std::uint64_t(pre[9]) << 8) | (std::uint64_t(pre[10]) << 16) |
               (std::uint64_t(pre[11]) << 24);
        hstart = 12;
    } else {
        fail(SIMDMF_ERR_UNSUPPORTED, f.path() + ": " + what + ": .npy format version " + std::to_string(pre[6]));
    }
    if (hlen > (1u << 20) || hstart + hlen > length) fail(SIMDMF_ERR_FORMAT, f.path() + ": " + what + ": bad header length");
    std::string h(hlen, '\0');
    f.read_at(base + hstart, h.data(), hlen, what);
    NpyInfo info;
    info.data_offset = hstart + hlen;
    std::string_view descr = header_value(h, "'descr'");
    std::string_view order = header_value(h, "'fortran_order'");
    std::string_view shape = header_value(h, "'shape'");
    auto bad = [&](const std::string& why) { fail(SIMDMF_ERR_FORMAT, f.path() + ": " + what + ": " + why); };
    if (descr.size() < 5 || shape.empty() || order.empty()) bad("malformed .npy header");
    descr = descr.substr(1, descr.size() - 2);
    info.big_endian = descr[0] == '>';
    info.kind = descr[1];
    std::int64_t item = 0;
    if (!whole_int(descr.substr(2), &item) || item <= 0 || item > 8 ||
        (info.kind != 'f' && info.kind != 'i' && info.kind != 'u'))
        fail(SIMDMF_ERR_UNSUPPORTED, f.path() + ": " + what + ": dtype '" + std::string(descr) +
                                         "' (float32/float64 factors and integer ids are supported)");
    if (info.kind == 'f' && item != 4 && item != 8)
        fail(SIMDMF_ERR_UNSUPPORTED, f.path() + ": " + what + ": dtype '" + std::string(descr) + "'");
    info.item = static_cast<std::size_t>(item);
    info.fortran = order.substr(0, 4) == "True";
    std::string_view dims = shape.substr(1, shape.size() - 2);
    while (!dims.empty()) {
        std::size_t comma = dims.find(',');
        std::string_view d = dims.substr(0, comma);
        while (!d.empty() && d.front() == ' ') d.remove_prefix(1);
        while (!d.empty() && (d.back() == ' ' || d.back() == 'L')) d.remove_suffix(1);
        if (!d.empty()) {
            std::int64_t v;
            if (!whole_int(d, &v) || v < 0) bad("malformed shape");
            info.shape.push_back(static_cast<std::uint64_t>(v));
        }
        if (comma == std::string_view::npos) break;
        dims.remove_prefix(comma + 1);
    }
    if (info.shape.size() > 2) bad("an array of more than 2 dimensions");
    for (auto d : info.shape)
        if (d > (std::uint64_t(1) << 40)) bad("a dimension too large");
    if (info.count() > (length - info.data_offset) / info.item) bad("data shorter than its shape (truncated)");
    return info;
}

template <class T>
T load_le(const unsigned char* p, bool big) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, p, sizeof(T));
    if (big) std::reverse(b, b + sizeof(T));
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
}

// Elements of the array as floats (float64 narrowed), C order. With `finite_k` > 0 every value is
// checked as it arrives (rows of finite_k: INVALID_DATA naming the row). The little-endian float32 C
// order case (what numpy writes) reads the file straight into the table, 1 MiB at a time, checking
// each piece while it is in cache, after asking the kernel to read ahead of it.
Floats npy_floats(const File& f, std::uint64_t base, const NpyInfo& a, const std::string& what,
                  std::uint32_t finite_k = 0) {
    if (a.kind != 'f') fail(SIMDMF_ERR_UNSUPPORTED, f.path() + ": " + what + ": factors must be float32 or float64");
    std::uint64_t n = a.count();
    Floats out;
    out.resize(static_cast<std::size_t>(n));  // uninitialised (BulkAllocator): every element is read below
    auto check = [&](std::size_t from, std::size_t m) {
        if (finite_k == 0 || a.fortran) return;
        std::size_t at = first_non_finite(out.data() + from, m);
        if (at < m)
            fail(SIMDMF_ERR_INVALID_DATA, f.path() + ": " + what + ": row " + std::to_string((from + at) / finite_k) +
                                              " has a NaN or infinite factor");
    };
    if (a.item == 4 && !a.big_endian) {
        f.advise_sequential(base + a.data_offset, n * 4);
        constexpr std::size_t piece = (std::size_t(1) << 20) / 4;
        for (std::size_t i = 0; i < out.size(); i += piece) {
            const std::size_t m = std::min(piece, out.size() - i);
            f.read_at(base + a.data_offset + i * 4ull, out.data() + i, m * 4, what);
            check(i, m);
        }
    } else {
        std::vector<unsigned char> buf(kBlock);
        std::size_t per = kBlock / a.item;
        for (std::uint64_t i = 0; i < n; i += per) {
            std::size_t m = static_cast<std::size_t>(std::min<std::uint64_t>(per, n - i));
            f.read_at(base + a.data_offset + i * a.item, buf.data(), m * a.item, what);
            for (std::size_t j = 0; j < m; ++j)
                out[i + j] = a.item == 4 ? load_le<float>(&buf[j * 4], a.big_endian)
                                         : static_cast<float>(load_le<double>(&buf[j * 8], a.big_endian));
            check(static_cast<std::size_t>(i), m);
        }
    }
    if (a.fortran && a.shape.size() == 2) {
        Floats c;
        c.resize(out.size());
        std::uint64_t r = a.shape[0], k = a.shape[1];
        for (std::uint64_t j = 0; j < k; ++j)
            for (std::uint64_t i = 0; i < r; ++i) c[i * k + j] = out[j * r + i];
        out.swap(c);
        if (finite_k) {
            std::size_t at = first_non_finite(out.data(), out.size());
            if (at < out.size())
                fail(SIMDMF_ERR_INVALID_DATA, f.path() + ": " + what + ": row " + std::to_string(at / finite_k) +
                                                  " has a NaN or infinite factor");
        }
    }
    return out;
}

std::vector<std::int64_t> npy_ints(const File& f, std::uint64_t base, const NpyInfo& a, const std::string& what) {
    if (a.kind == 'f' || a.shape.size() != 1)
        fail(SIMDMF_ERR_UNSUPPORTED, f.path() + ": " + what + ": ids must be a 1-D integer array");
    std::uint64_t n = a.count();
    std::vector<unsigned char> buf(static_cast<std::size_t>(n * a.item));
    f.read_at(base + a.data_offset, buf.data(), buf.size(), what);
    std::vector<std::int64_t> out(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < out.size(); ++i) {
        const unsigned char* p = &buf[i * a.item];
        std::uint64_t u = 0;
        for (std::size_t b = 0; b < a.item; ++b) u |= std::uint64_t(p[a.big_endian ? a.item - 1 - b : b]) << (8 * b);
        if (a.kind == 'i' && a.item < 8 && (u >> (8 * a.item - 1)) & 1) u |= ~std::uint64_t(0) << (8 * a.item);
        if (a.kind == 'u' && a.item == 8 && u > std::uint64_t(INT64_MAX))
            fail(SIMDMF_ERR_FORMAT, f.path() + ": " + what + ": an id above 2^63-1");
        out[i] = static_cast<std::int64_t>(u);
    }
    return out;
}

// A named array inside a file: a whole .npy, or one member of an .npz.
struct ArrayRef {
    const File* file = nullptr;
    bool map = false;  // a .npy in the model's layout may be borrowed from a mapping (read() with map)
    std::uint64_t base = 0, length = 0;
    std::string what;
};

void fill_factors(Table& t, const ArrayRef& a) {
    NpyInfo info = npy_header(*a.file, a.base, a.length, a.what);
    if (info.shape.size() != 2) fail(SIMDMF_ERR_FORMAT, a.file->path() + ": " + a.what + ": factors must be a 2-D array");
    if (info.shape[1] == 0 || info.shape[1] > kMaxK || info.shape[0] > UINT32_MAX)
        fail(SIMDMF_ERR_FORMAT, a.file->path() + ": " + a.what + ": shape out of range (k must be 1..65536)");
    t.rows = static_cast<std::uint32_t>(info.shape[0]);
    t.k = static_cast<std::uint32_t>(info.shape[1]);
    const std::uint64_t at = a.base + info.data_offset;
    const std::size_t n = std::size_t(t.rows) * t.k;
    if (a.map && info.item == 4 && !info.big_endian && !info.fortran && t.k % 16 == 0 && at % 64 == 0 &&
        at + n * 4ull <= a.file->size()) {
        auto bytes = FileBytes::open(a.file->path());
        if (bytes->size() == a.file->size()) {
            const float* p = reinterpret_cast<const float*>(bytes->data() + at);
            auto bad_row = [&](std::size_t at_value) {
                fail(SIMDMF_ERR_INVALID_DATA, a.file->path() + ": " + a.what + ": row " +
                                                  std::to_string(at_value / t.k) + " has a NaN or infinite factor");
            };
            if (bytes->mapped() && a.file->same_file(a.file->path())) {
                // The check reads the file through one reused 1 MiB buffer, not through the mapping:
                // read() fills the page cache the mapping shares at the disk's pace, and the cold
                // mapping's page faults (1.3-2.5x read()'s CPU on 2.56 GB) move to the pages' first
                // use, minor faults then (bench/README.md, "Factor import").
                a.file->advise_sequential(at, n * 4ull, false);
                constexpr std::size_t piece = (std::size_t(1) << 20) / 4;
                Floats buf;
                buf.resize(std::min(piece, n));
                for (std::size_t i = 0; i < n; i += piece) {
                    const std::size_t m = std::min(piece, n - i);
                    a.file->read_at(at + i * 4ull, buf.data(), m * 4, a.what);
                    const std::size_t bad = first_non_finite(buf.data(), m);
                    if (bad < m) bad_row(i + bad);
                }
            } else if (const std::size_t bad = first_non_finite(p, n); bad < n) {  // a copy, or another file now
                bad_row(bad);
            }
            t.mapped = p;
            t.mapping = std::move(bytes);
            t.finite = true;
            return;
        }
    }
    t.values = npy_floats(*a.file, a.base, info, a.what, t.k);
    t.finite = true;
}

std::vector<float> vector_of(const ArrayRef& a, std::size_t want, bool exact) {
    NpyInfo info = npy_header(*a.file, a.base, a.length, a.what);
    const Floats read = npy_floats(*a.file, a.base, info, a.what);
    std::vector<float> v(read.begin(), read.end());
    if (exact && v.size() != want)
        fail(SIMDMF_ERR_FORMAT, a.file->path() + ": " + a.what + ": " + std::to_string(v.size()) + " values, " +
                                    std::to_string(want) + " expected");
    for (float x : v)
        if (!std::isnan(x) && !std::isfinite(x) && exact)
            fail(SIMDMF_ERR_INVALID_DATA, a.file->path() + ": " + a.what + ": a value is infinite");
    return v;
}

// ---- zip (.npz) ------------------------------------------------------------------------------------------

std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const unsigned char* p) {
    return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
std::uint64_t le64(const unsigned char* p) { return le32(p) | (std::uint64_t(le32(p + 4)) << 32); }

// Members of a stored zip: name -> (data offset, length).
std::vector<std::pair<std::string, ArrayRef>> zip_members(const File& f) {
    const std::string& path = f.path();
    auto bad = [&](const std::string& why) { fail(SIMDMF_ERR_FORMAT, path + ": not a valid .npz (zip) file: " + why); };
    std::uint64_t size = f.size();
    if (size < 22) bad("too short");
    std::size_t tail = static_cast<std::size_t>(std::min<std::uint64_t>(size, 65557));
    std::vector<unsigned char> t(tail);
    f.read_at(size - tail, t.data(), tail, "zip directory");
    std::size_t eocd = std::string::npos;
    for (std::size_t i = tail - 22 + 1; i-- > 0;)
        if (le32(&t[i]) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == std::string::npos) bad("no end of central directory");
    std::uint64_t entries = le16(&t[eocd + 10]);
    std::uint64_t cd_size = le32(&t[eocd + 12]);
    std::uint64_t cd_off = le32(&t[eocd + 16]);
    if ((entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) && eocd >= 20 &&
        le32(&t[eocd - 20]) == 0x07064b50) {  // zip64 locator
        std::uint64_t z64 = le64(&t[eocd - 20 + 8]);
        unsigned char r[56];
        if (z64 + 56 > size) bad("zip64 record outside the file");
        f.read_at(z64, r, 56, "zip64 directory");
        if (le32(r) != 0x06064b50) bad("bad zip64 record");
        entries = le64(r + 32);
        cd_size = le64(r + 40);
        cd_off = le64(r + 48);
    }
    if (cd_off > size || cd_size > size - cd_off || cd_size > (std::uint64_t(64) << 20)) bad("directory outside the file");
    std::vector<unsigned char> cd(static_cast<std::size_t>(cd_size));
    f.read_at(cd_off, cd.data(), cd.size(), "zip directory");
    std::vector<std::pair<std::string, ArrayRef>> out;
    std::size_t p = 0;
    for (std::uint64_t e = 0; e < entries; ++e) {
        if (p + 46 > cd.size() || le32(&cd[p]) != 0x02014b50) bad("bad directory entry");
        std::uint16_t method = le16(&cd[p + 10]);
        std::uint64_t csize = le32(&cd[p + 20]), usize = le32(&cd[p + 24]);
        std::size_t nlen = le16(&cd[p + 28]), xlen = le16(&cd[p + 30]), clen = le16(&cd[p + 32]);
        std::uint64_t loff = le32(&cd[p + 42]);
        if (p + 46 + nlen + xlen + clen > cd.size()) bad("bad directory entry");
        std::string name(reinterpret_cast<const char*>(&cd[p + 46]), nlen);
        const unsigned char* x = &cd[p + 46 + nlen];
        for (std::size_t q = 0; q + 4 <= xlen;) {  // zip64 extra: the fields that are all ones, in order
            std::uint16_t id = le16(x + q), len = le16(x + q + 2);
            if (q + 4 + len > xlen) bad("bad extra field");
            if (id == 0x0001) {
                std::size_t r = q + 4;
                auto take = [&](std::uint64_t& v) {
                    if (r + 8 <= q + 4 + len) {
                        v = le64(x + r);
                        r += 8;
                    }
                };
                if (usize == 0xFFFFFFFFu) take(usize);
                if (csize == 0xFFFFFFFFu) take(csize);
                if (loff == 0xFFFFFFFFu) take(loff);
            }
            q += 4 + len;
        }
        p += 46 + nlen + xlen + clen;
        if (method != 0)
            fail(SIMDMF_ERR_UNSUPPORTED, path + ": member '" + name +
                                             "' is compressed (np.savez_compressed); save with np.savez, or unzip it");
        unsigned char lh[30];
        if (loff > size || size - loff < 30) bad("member outside the file");
        f.read_at(loff, lh, 30, "zip member");
        if (le32(lh) != 0x04034b50) bad("bad local header");
        std::uint64_t data = loff + 30 + le16(lh + 26) + le16(lh + 28);
        if (data > size || csize > size - data || usize != csize) bad("member '" + name + "' outside the file");
        ArrayRef a;
        a.file = &f;
        a.base = data;
        a.length = csize;
        a.what = "array '" + name + "'";
        out.emplace_back(name, a);
    }
    return out;
}

// ---- the simdmf folder layout (meta.json) -------------------------------------------------------------------

struct Meta {
    bool present = false;
    bool user_ids = true, item_ids = true;  // false: the "id" of each row is its index, not a raw id
    FactorSet s;
};

float meta_number(std::string_view text, std::string_view key, float dflt, const std::string& path) {
    std::string k = "\"" + std::string(key) + "\"";
    std::size_t at = text.find(k);
    if (at == std::string_view::npos) return dflt;
    Cursor c{text.data() + at + k.size(), text.data() + text.size()};
    if (!c.eat(':')) fail(SIMDMF_ERR_FORMAT, path + ": malformed \"" + std::string(key) + "\"");
    c.ws();
    if (std::string_view(c.p, static_cast<std::size_t>(c.e - c.p)).substr(0, 4) == "null") return dflt;
    float v;
    if (!parse_float(c, &v)) fail(SIMDMF_ERR_FORMAT, path + ": \"" + std::string(key) + "\" is not a number");
    return v;
}

Meta read_meta(const std::string& dir) {
    Meta m;
    std::string path = (fs::path(dir) / "meta.json").string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return m;
    auto bytes = read_file(path);
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    m.present = true;
    m.s.logistic = text.find("\"loss\": \"logistic\"") != std::string_view::npos;
    m.s.mu = meta_number(text, "global_bias", 0.0f, path);
    m.s.min_pred = meta_number(text, "min_prediction", -std::numeric_limits<float>::infinity(), path);
    m.s.max_pred = meta_number(text, "max_prediction", std::numeric_limits<float>::infinity(), path);
    m.user_ids = text.find("\"user_ids\": false") == std::string_view::npos;
    m.item_ids = text.find("\"item_ids\": false") == std::string_view::npos;
    return m;
}

void index_ids(Table& t, const char* side) {
    for (std::size_t r = 0; r < t.ids.size(); ++r)
        if (t.ids[r] != static_cast<std::int64_t>(r))
            fail(SIMDMF_ERR_FORMAT, std::string("meta.json says the ") + side + " rows have no raw ids, but row " +
                                        std::to_string(r) + " has id " + std::to_string(t.ids[r]));
    t.ids.clear();
}

void apply_meta(FactorSet& s, const Meta& m) {
    if (!m.present) return;
    if (!m.user_ids) index_ids(s.users, "user");
    if (!m.item_ids) index_ids(s.items, "item");
    s.logistic = m.s.logistic;
    s.mu = m.s.mu;
    s.min_pred = m.s.min_pred;
    s.max_pred = m.s.max_pred;
}

void append_float(std::string& out, char sep, float v) {
    char b[32];
    b[0] = sep;
    auto r = std::to_chars(b + 1, b + sizeof b, v);
    out.append(b, r.ptr);
}

std::string fmt_float(float v) {
    char b[32];
    auto r = std::to_chars(b, b + sizeof b, v);
    return std::string(b, r.ptr);
}

void write_meta(const FactorSet& s, const std::string& dir) {
    std::string t = "{\"format\": \"simdmf-factors\", \"version\": 1, \"loss\": \"";
    t += s.logistic ? "logistic" : "squared";
    t += "\", \"global_bias\": " + fmt_float(s.mu);
    t += ", \"min_prediction\": " + (std::isfinite(s.min_pred) ? fmt_float(s.min_pred) : std::string("null"));
    t += ", \"max_prediction\": " + (std::isfinite(s.max_pred) ? fmt_float(s.max_pred) : std::string("null"));
    t += std::string(", \"user_ids\": ") + (s.users.ids.empty() && s.users.str_ids.empty() ? "false" : "true");
    t += std::string(", \"item_ids\": ") + (s.items.ids.empty() && s.items.str_ids.empty() ? "false" : "true");
    t += "}\n";
    atomic_write_file((fs::path(dir) / "meta.json").string(), t.data(), t.size());
}

// ---- LIBMF model text: f/m/n/k/b header lines, then "p<i> T|F v..." and "q<j> T|F v..." ------------------

FactorSet read_libmf(const std::string& path) {
    Lines lines(path);
    std::string_view line;
    FactorSet s;
    std::int64_t m = -1, n = -1, k = -1, fun = 0;
    float b = 0;
    std::vector<float> row;
    std::uint64_t seen_p = 0, seen_q = 0;
    while (lines.next(&line)) {
        auto bad = [&](const std::string& what) { fail_at(SIMDMF_ERR_FORMAT, path, lines.number(), what); };
        if (line.empty()) continue;
        Cursor c{line.data() + 1, line.data() + line.size()};
        char tag = line[0];
        if ((tag == 'p' || tag == 'q') && line.size() > 1 && line[1] >= '0' && line[1] <= '9') {
            if (k <= 0 || m < 0 || n < 0) bad("factor row before the m, n, k header");
            std::int64_t idx;
            if (!parse_int(c, &idx)) bad("bad row name");
            Table& t = tag == 'p' ? s.users : s.items;
            std::uint64_t& seen = tag == 'p' ? seen_p : seen_q;
            if (idx < 0 || static_cast<std::uint64_t>(idx) != seen || seen >= static_cast<std::uint64_t>(tag == 'p' ? m : n))
                bad(std::string(1, tag) + std::to_string(idx) + " out of order or beyond the header's size");
            c.ws();
            if (c.p >= c.e || (*c.p != 'T' && *c.p != 'F')) bad("expected T or F after the row name");
            bool trained = *c.p == 'T';
            ++c.p;
            row.clear();
            float v;
            while (c.p < c.e) {
                c.ws();
                if (c.p >= c.e) break;
                if (!parse_float(c, &v)) bad("a factor is not a number");
                row.push_back(trained ? v : 0.0f);
            }
            if (row.size() != static_cast<std::size_t>(k))
                bad(std::to_string(row.size()) + " factors where k is " + std::to_string(k));
            append_row(t, row, path, lines.number());
            t.untrained.push_back(trained ? 0 : 1);
            ++seen;
            continue;
        }
        std::int64_t* field = tag == 'f' ? &fun : tag == 'm' ? &m : tag == 'n' ? &n : tag == 'k' ? &k : nullptr;
        if (field) {
            if (!parse_int(c, field) || *field < 0) bad("bad header line");
        } else if (tag == 'b') {
            if (!parse_float(c, &b) || !std::isfinite(b)) bad("bad b line");
        } else {
            bad("not a LIBMF model line");
        }
    }
    if (k <= 0 || k > kMaxK) fail(SIMDMF_ERR_FORMAT, path + ": missing or out-of-range k");
    if (seen_p != static_cast<std::uint64_t>(m) || seen_q != static_cast<std::uint64_t>(n))
        fail(SIMDMF_ERR_FORMAT, path + ": " + std::to_string(seen_p) + " p rows and " + std::to_string(seen_q) +
                                    " q rows where the header says m " + std::to_string(m) + ", n " + std::to_string(n) +
                                    " (truncated?)");
    s.users.k = s.items.k = static_cast<std::uint32_t>(k);
    // LIBMF predicts p.q (b is only its answer for rows it never trained); losses 5-7 are binary.
    s.logistic = fun == 5;
    return s;
}

// Streams text into an atomic file in blocks.
class TextOut {
public:
    explicit TextOut(const std::string& path) : f_(path) {}
    std::string buf;
    void flush_if_full() {
        if (buf.size() >= kBlock) flush();
    }
    void flush() {
        f_.write(buf.data(), buf.size());
        buf.clear();
    }
    void commit() {
        flush();
        f_.commit();
    }

private:
    AtomicFile f_;
};

void write_libmf(const FactorSet& s, const std::string& path) {
    if (!s.users.bias.empty() || s.mu != 0.0f)
        fail(SIMDMF_ERR_UNSUPPORTED, "LIBMF's model file has no biases or global offset: export a model without biases "
                                     "(biases=0), or use npz, json or csv");
    if (!s.users.ids.empty() || !s.items.ids.empty() || !s.users.str_ids.empty() || !s.items.str_ids.empty())
        fail(SIMDMF_ERR_UNSUPPORTED, "LIBMF's model file has no raw ids (its rows are the 0-based indices of its input "
                                     "file): use npz, json or csv for a model with id maps");
    TextOut out(path);
    out.buf = "f " + std::string(s.logistic ? "5" : "0") + "\nm " + std::to_string(s.users.rows) + "\nn " +
              std::to_string(s.items.rows) + "\nk " + std::to_string(s.users.k) + "\nb 0\n";
    for (int side = 0; side < 2; ++side) {
        const Table& t = side == 0 ? s.users : s.items;
        for (std::uint32_t r = 0; r < t.rows; ++r) {
            out.buf += side == 0 ? 'p' : 'q';
            out.buf += std::to_string(r);
            out.buf += " T";
            for (std::uint32_t j = 0; j < t.k; ++j) append_float(out.buf, ' ', t.data()[std::size_t(r) * t.k + j]);
            out.buf += '\n';
            out.flush_if_full();
        }
    }
    out.commit();
}

void write_json_side(const Table& t, const std::string& path) {
    TextOut out(path);
    for (std::uint32_t r = 0; r < t.rows; ++r) {
        out.buf += "{\"id\":";
        if (!t.str_ids.empty()) {
            out.buf += '"';
            for (char ch : t.str_ids[r]) {
                if (ch == '"' || ch == '\\') out.buf += '\\';
                out.buf += ch;
            }
            out.buf += '"';
        } else {
            out.buf += std::to_string(t.ids.empty() ? std::int64_t(r) : t.ids[r]);
        }
        out.buf += ",\"features\":[";
        for (std::uint32_t j = 0; j < t.k; ++j) {
            if (j) out.buf += ',';
            out.buf += fmt_float(t.data()[std::size_t(r) * t.k + j]);
        }
        out.buf += ']';
        if (!t.bias.empty()) {
            out.buf += ",\"bias\":";
            out.buf += fmt_float(t.bias[r]);
        }
        out.buf += "}\n";
        out.flush_if_full();
    }
    out.commit();
}

void write_csv_side(const Table& t, const std::string& path) {
    TextOut out(path);
    out.buf = "id";
    if (!t.bias.empty()) out.buf += ",bias";
    for (std::uint32_t j = 0; j < t.k; ++j) out.buf += ",f" + std::to_string(j);
    out.buf += '\n';
    for (std::uint32_t r = 0; r < t.rows; ++r) {
        if (!t.str_ids.empty()) {
            if (t.str_ids[r].find_first_of(",\"") != std::string::npos)
                fail(SIMDMF_ERR_UNSUPPORTED, "the id '" + t.str_ids[r] + "' holds a comma or quote: export to json");
            out.buf += t.str_ids[r];
        } else {
            out.buf += std::to_string(t.ids.empty() ? std::int64_t(r) : t.ids[r]);
        }
        if (!t.bias.empty()) append_float(out.buf, ',', t.bias[r]);
        for (std::uint32_t j = 0; j < t.k; ++j) append_float(out.buf, ',', t.data()[std::size_t(r) * t.k + j]);
        out.buf += '\n';
        out.flush_if_full();
    }
    out.commit();
}

// .npy bytes: header padded to 64 bytes, then the data.
std::string npy_header_bytes(const char* descr, const std::vector<std::uint64_t>& shape, std::uint64_t payload) {
    std::string dims;
    for (std::size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
    std::string dict = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
    std::size_t total = 10 + dict.size() + 1;
    std::size_t pad = (64 - total % 64) % 64;
    dict.append(pad, ' ');
    dict += '\n';
    std::string h = "\x93NUMPY";
    h += '\x01';
    h += '\x00';
    h += static_cast<char>(dict.size() & 0xFF);
    h += static_cast<char>(dict.size() >> 8);
    (void)payload;
    return h + dict;
}

struct NpyOut {
    std::string name;
    std::string header;
    const void* data;
    std::uint64_t bytes;
};

std::vector<NpyOut> npy_arrays(const FactorSet& s, std::vector<float>& scalars) {
    if (!s.users.str_ids.empty() || !s.items.str_ids.empty())
        fail(SIMDMF_ERR_UNSUPPORTED, "string ids are not written to numpy files: export to json or csv");
    std::vector<NpyOut> a;
    auto table = [&](const Table& t, const char* side) {
        std::uint64_t n = std::uint64_t(t.rows) * t.k;
        a.push_back({std::string(side) + "_factors", npy_header_bytes("<f4", {t.rows, t.k}, n * 4), t.data(), n * 4});
        if (!t.ids.empty())
            a.push_back({std::string(side) + "_ids", npy_header_bytes("<i8", {t.rows}, t.rows * 8ull), t.ids.data(), t.rows * 8ull});
        if (!t.bias.empty())
            a.push_back({std::string(side) + "_bias", npy_header_bytes("<f4", {t.rows}, t.rows * 4ull), t.bias.data(), t.rows * 4ull});
    };
    table(s.users, "user");
    table(s.items, "item");
    scalars = {s.mu, s.min_pred, s.max_pred, s.logistic ? 1.0f : 0.0f};
    a.push_back({"global_bias", npy_header_bytes("<f4", {1}, 4), &scalars[0], 4});
    a.push_back({"prediction_range", npy_header_bytes("<f4", {2}, 8), &scalars[1], 8});
    a.push_back({"logistic", npy_header_bytes("<f4", {1}, 4), &scalars[3], 4});
    return a;
}

void put16(std::string& b, std::uint32_t v) {
    b += static_cast<char>(v & 0xFF);
    b += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& b, std::uint32_t v) {
    put16(b, v & 0xFFFF);
    put16(b, v >> 16);
}

void write_npz(const FactorSet& s, const std::string& path) {
    std::vector<float> scalars;
    auto arrays = npy_arrays(s, scalars);
    AtomicFile f(path);
    std::string cd;
    std::uint64_t off = 0;
    for (const auto& a : arrays) {
        std::string name = a.name + ".npy";
        std::uint64_t size = a.header.size() + a.bytes;
        if (size >= 0xFFFFFFFFull || off >= 0xFFFFFFFFull)
            fail(SIMDMF_ERR_UNSUPPORTED, "an .npz export over 4 GB is not supported: export to npy (one file per array)");
        std::uint32_t crc = crc32(a.header.data(), a.header.size());
        crc = crc32(a.data, a.bytes, crc);
        std::string lh;
        put32(lh, 0x04034b50);
        put16(lh, 20);
        put16(lh, 0);
        put16(lh, 0);  // stored
        put16(lh, 0);
        put16(lh, 0x21);  // 1980-01-01
        put32(lh, crc);
        put32(lh, static_cast<std::uint32_t>(size));
        put32(lh, static_cast<std::uint32_t>(size));
        put16(lh, static_cast<std::uint32_t>(name.size()));
        put16(lh, 0);
        lh += name;
        f.write(lh.data(), lh.size());
        f.write(a.header.data(), a.header.size());
        f.write(a.data, a.bytes);
        put32(cd, 0x02014b50);
        put16(cd, 20);
        put16(cd, 20);
        put16(cd, 0);
        put16(cd, 0);
        put16(cd, 0);
        put16(cd, 0x21);
        put32(cd, crc);
        put32(cd, static_cast<std::uint32_t>(size));
        put32(cd, static_cast<std::uint32_t>(size));
        put16(cd, static_cast<std::uint32_t>(name.size()));
        put16(cd, 0);
        put16(cd, 0);
        put16(cd, 0);
        put16(cd, 0);
        put32(cd, 0);
        put32(cd, static_cast<std::uint32_t>(off));
        cd += name;
        off += lh.size() + size;
    }
    if (off >= 0xFFFFFFFFull) fail(SIMDMF_ERR_UNSUPPORTED, "an .npz export over 4 GB is not supported: export to npy");
    std::string end;
    put32(end, 0x06054b50);
    put16(end, 0);
    put16(end, 0);
    put16(end, static_cast<std::uint32_t>(arrays.size()));
    put16(end, static_cast<std::uint32_t>(arrays.size()));
    put32(end, static_cast<std::uint32_t>(cd.size()));
    put32(end, static_cast<std::uint32_t>(off));
    put16(end, 0);
    f.write(cd.data(), cd.size());
    f.write(end.data(), end.size());
    f.commit();
}

void write_npy_dir(const FactorSet& s, const std::string& dir) {
    std::vector<float> scalars;
    auto arrays = npy_arrays(s, scalars);
    // Arrays of an earlier export into the same folder that this model does not have would be read back
    // with it: remove them.
    for (const char* name : {"user_ids", "item_ids", "user_bias", "item_bias"}) {
        bool written = false;
        for (const auto& a : arrays) written = written || a.name == name;
        std::error_code ec;
        if (!written) fs::remove(fs::path(dir) / (std::string(name) + ".npy"), ec);
    }
    for (const auto& a : arrays) {
        AtomicFile f((fs::path(dir) / (a.name + ".npy")).string());
        f.write(a.header.data(), a.header.size());
        f.write(a.data, a.bytes);
        f.commit();
    }
}

// Reads the arrays of an npz or an npy folder, by name (without ".npy").
FactorSet read_arrays(std::vector<std::pair<std::string, ArrayRef>> members, const std::string& where, bool map) {
    for (auto& m : members) m.second.map = map;
    auto find = [&](const std::string& name) -> const ArrayRef* {
        for (const auto& [n, a] : members)
            if (n == name || n == name + ".npy") return &a;
        return nullptr;
    };
    FactorSet s;
    const ArrayRef* u = find("user_factors");
    const ArrayRef* i = find("item_factors");
    if (!u || !i) fail(SIMDMF_ERR_FORMAT, where + ": needs arrays 'user_factors' and 'item_factors'");
    fill_factors(s.users, *u);
    fill_factors(s.items, *i);
    for (auto [t, side] : {std::pair<Table*, const char*>{&s.users, "user"}, {&s.items, "item"}}) {
        if (const ArrayRef* a = find(std::string(side) + "_ids")) {
            NpyInfo info = npy_header(*a->file, a->base, a->length, a->what);
            t->ids = npy_ints(*a->file, a->base, info, a->what);
            if (t->ids.size() != t->rows)
                fail(SIMDMF_ERR_FORMAT, where + ": " + a->what + " has " + std::to_string(t->ids.size()) +
                                            " ids for " + std::to_string(t->rows) + " rows");
        }
        if (const ArrayRef* a = find(std::string(side) + "_bias")) t->bias = vector_of(*a, t->rows, true);
    }
    if (const ArrayRef* a = find("global_bias")) s.mu = vector_of(*a, 1, true)[0];
    if (const ArrayRef* a = find("prediction_range")) {
        auto r = vector_of(*a, 2, false);
        if (r.size() != 2) fail(SIMDMF_ERR_FORMAT, where + ": prediction_range must hold 2 values");
        s.min_pred = r[0];
        s.max_pred = r[1];
    }
    if (const ArrayRef* a = find("logistic")) s.logistic = vector_of(*a, 1, true)[0] != 0.0f;
    return s;
}

void check_ids(const Table& t, const char* side) {
    if (!t.str_ids.empty()) {
        std::unordered_set<std::string_view> seen;
        seen.reserve(t.str_ids.size());
        for (const auto& id : t.str_ids)
            if (!seen.insert(id).second) fail(SIMDMF_ERR_INVALID_DATA, std::string("duplicate ") + side + " id '" + id + "'");
        return;
    }
    if (t.ids.empty()) return;
    std::unordered_set<std::int64_t> seen;
    seen.reserve(t.ids.size());
    for (auto id : t.ids)
        if (!seen.insert(id).second) fail(SIMDMF_ERR_INVALID_DATA, std::string("duplicate ") + side + " id " + std::to_string(id));
}

void ensure_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir, ec)) fail(SIMDMF_ERR_IO, "cannot create the folder '" + dir + "'");
}

}  // namespace

bool parse_format(const std::string& name, Format* out) {
    if (name == "spark-json" || name == "json") *out = Format::spark_json;
    else if (name == "csv") *out = Format::csv;
    else if (name == "npy") *out = Format::npy;
    else if (name == "npz") *out = Format::npz;
    else if (name == "libmf") *out = Format::libmf;
    else return false;
    return true;
}

const char* format_name(Format f) {
    switch (f) {
        case Format::spark_json: return "json";
        case Format::csv: return "csv";
        case Format::npy: return "npy";
        case Format::npz: return "npz";
        case Format::libmf: return "libmf";
    }
    return "?";
}

FactorSet read(Format f, const std::string& users, const std::string& items, bool map) {
    FactorSet s;
    std::error_code ec;
    const bool own_dir = items.empty() && fs::is_directory(users, ec);
    if (f == Format::npz || f == Format::libmf) {
        if (!items.empty()) fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string(format_name(f)) + " is one file: give no item path");
        if (f == Format::libmf) {
            s = read_libmf(users);
        } else {
            File file(users);
            s = read_arrays(zip_members(file), users, map);
        }
    } else if (f == Format::npy) {
        std::vector<std::unique_ptr<File>> files;
        std::vector<std::pair<std::string, ArrayRef>> members;
        auto add = [&](const std::string& name, const std::string& path) {
            files.push_back(std::make_unique<File>(path));
            ArrayRef a;
            a.file = files.back().get();
            a.length = files.back()->size();
            a.what = "array '" + name + "'";
            members.emplace_back(name, a);
        };
        if (own_dir) {
            for (const auto& e : fs::directory_iterator(users, ec)) {
                std::string name = e.path().filename().string();
                if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
                    add(name.substr(0, name.size() - 4), e.path().string());
            }
        } else {
            if (items.empty()) fail(SIMDMF_ERR_INVALID_ARGUMENT, "npy import needs the user and the item factor files");
            add("user_factors", users);
            add("item_factors", items);
        }
        s = read_arrays(members, users, map);
    } else {
        std::string up = users, ip = items;
        Meta meta;
        const char* ext = f == Format::csv ? "csv" : "json";
        if (own_dir) {
            meta = read_meta(users);
            up = (fs::path(users) / (std::string("users.") + ext)).string();
            ip = (fs::path(users) / (std::string("items.") + ext)).string();
            if (!fs::exists(up, ec)) fail(SIMDMF_ERR_INVALID_ARGUMENT, "'" + users + "' is a folder without " +
                                                                           "users." + ext + ": give the user and item factor paths");
        } else if (items.empty()) {
            fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string(ext) + " import needs the user and the item factor paths");
        }
        for (auto [path, t] : {std::pair<std::string, Table*>{up, &s.users}, {ip, &s.items}}) {
            bool flag = false;
            for (const auto& part : part_files(path)) {
                if (f == Format::csv) read_csv_file(part, *t, flag);
                else read_json_file(part, *t, flag);
            }
            if (t->rows == 0) fail(SIMDMF_ERR_FORMAT, "'" + path + "' holds no factor rows");
        }
        apply_meta(s, meta);
    }
    if (s.users.k != s.items.k)
        fail(SIMDMF_ERR_FORMAT, "user factors have k = " + std::to_string(s.users.k) + " but item factors k = " +
                                    std::to_string(s.items.k));
    if (!s.users.bias.empty() != !s.items.bias.empty())
        fail(SIMDMF_ERR_FORMAT, "biases are given for one side only");
    check_ids(s.users, "user");
    check_ids(s.items, "item");
    return s;
}

void write(const FactorSet& s, Format f, const std::string& path) {
    switch (f) {
        case Format::libmf: write_libmf(s, path); return;
        case Format::npz: write_npz(s, path); return;
        case Format::npy:
            ensure_dir(path);
            write_npy_dir(s, path);
            return;
        case Format::spark_json:
        case Format::csv: {
            ensure_dir(path);
            const bool csv = f == Format::csv;
            std::string ext = csv ? ".csv" : ".json";
            auto side = [&](const Table& t, const char* name) {
                std::string p = (fs::path(path) / (name + ext)).string();
                if (csv) write_csv_side(t, p);
                else write_json_side(t, p);
            };
            side(s.users, "users");
            side(s.items, "items");
            write_meta(s, path);
            return;
        }
    }
}

}  // namespace simdmf::factors
