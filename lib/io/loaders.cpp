// Text ratings files: format detection, the streaming parser, and the text writer.
#include "io/loaders.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "common.hpp"
#include "io/file_util.hpp"

namespace simdmf::io {

const char* format_name(Format f) {
    switch (f) {
        case Format::automatic: return "automatic";
        case Format::movielens_data: return "movielens_data";
        case Format::movielens_dat: return "movielens_dat";
        case Format::movielens_csv: return "movielens_csv";
        case Format::libmf: return "libmf";
        case Format::delimited: return "delimited";
        case Format::binary: return "binary";
    }
    return "unknown";
}

namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kChunk = std::size_t{4} << 20;
constexpr int kMaxColumns = 64;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string quoted(const char* b, const char* e) {
    const std::size_t n = static_cast<std::size_t>(e - b);
    std::string q;
    q.reserve(48);
    q.push_back('\'');
    q.append(b, n > 40 ? 40 : n);
    if (n > 40) q.append("...");
    q.push_back('\'');
    return q;
}

enum class ParseResult { ok, empty, not_number, out_of_range, not_finite };

// A whole field as a signed 64-bit integer (optional sign, decimal digits only).
ParseResult parse_i64(const char* b, const char* e, std::int64_t& out) {
    bool neg = false;
    if (b < e && (*b == '-' || *b == '+')) neg = *b++ == '-';
    if (b == e) return ParseResult::empty;
    std::uint64_t v = 0;
    bool overflow = false;
    for (; b < e; ++b) {
        unsigned d = static_cast<unsigned char>(*b) - static_cast<unsigned>('0');
        if (d > 9) return ParseResult::not_number;
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) overflow = true;
        v = v * 10 + d;
    }
    const std::uint64_t limit = neg ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    if (overflow || v > limit) return ParseResult::out_of_range;
    out = neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
    return ParseResult::ok;
}

ParseResult parse_float(const char* b, const char* e, float& out) {
    if (b < e && *b == '+') {
        ++b;
        if (b < e && *b == '-') return ParseResult::not_number;
    }
    if (b == e) return ParseResult::empty;
    // Fast path: up to 6 integer digits with an optional 1-2 digit fraction ("4", "3.5", "12.25"),
    // exact in float as computed (integer / power of ten, correctly rounded by one division).
    {
        const char* p = b;
        bool neg = false;
        if (*p == '-') neg = true, ++p;
        std::uint32_t ip = 0;
        const char* d0 = p;
        while (p < e && p - d0 < 7 && static_cast<unsigned>(*p - '0') <= 9) ip = ip * 10 + (*p++ - '0');
        if (p > d0 && p - d0 <= 6) {
            if (p == e) {
                out = neg ? -static_cast<float>(ip) : static_cast<float>(ip);
                return ParseResult::ok;
            }
            if (*p == '.' && e - p >= 2 && e - p <= 3) {
                const char* q = p + 1;
                std::uint32_t fp = 0, scale = 1;
                while (q < e && static_cast<unsigned>(*q - '0') <= 9) fp = fp * 10 + (*q++ - '0'), scale *= 10;
                if (q == e) {
                    // ip*scale+fp < 10^7 is exact in double and the quotient is correctly
                    // rounded; a decimal with <= 2 fraction digits below 10^5 is either exactly a float
                    // halfway point or far (>> one double ulp) from it, so rounding the double to float
                    // gives the correctly rounded float.
                    if (ip < 100000) {
                        double v = static_cast<double>(ip * scale + fp) / static_cast<double>(scale);
                        float f = static_cast<float>(v);
                        out = neg ? -f : f;
                        return ParseResult::ok;
                    }
                }
            }
        }
    }
    float v;
    auto [ptr, ec] = std::from_chars(b, e, v, std::chars_format::general);
    if (ec == std::errc::result_out_of_range) return ParseResult::out_of_range;
    if (ec != std::errc() || ptr != e) return ParseResult::not_number;
    if (!std::isfinite(v)) return ParseResult::not_finite;
    out = v;
    return ParseResult::ok;
}

// Raw id -> dense index: an IdMap, with a flat table in front of it for small non-negative ids.
class Indexer {
public:
    explicit Indexer(bool identity) : identity_(identity) {}

    // kNone with *why set when raw cannot be an index (identity mode only).
    std::uint32_t index(std::int64_t raw, const char** why) {
        if (identity_) {
            if (raw < 0) {
                *why = "is negative (ids are used as 0-based indices)";
                return kNone;
            }
            if (raw >= static_cast<std::int64_t>(kNone)) {
                *why = "is too large for an index (ids are used as indices)";
                return kNone;
            }
            auto v = static_cast<std::uint32_t>(raw);
            if (v >= count_) count_ = v + 1;
            return v;
        }
        if (raw >= 0 && static_cast<std::uint64_t>(raw) < table_.size()) {
            std::uint32_t& slot = table_[static_cast<std::size_t>(raw)];
            if (slot == kNone) slot = map_.intern(raw);
            return slot;
        }
        const std::uint64_t limit = std::max<std::uint64_t>(std::uint64_t{1} << 16, 16 * (map_.size() + 1));
        if (raw >= 0 && static_cast<std::uint64_t>(raw) < limit) {
            std::size_t want = std::max<std::size_t>(static_cast<std::size_t>(raw) + 1,
                                                     std::min<std::size_t>(2 * table_.size(), limit));
            table_.resize(want, kNone);
            std::uint32_t& slot = table_[static_cast<std::size_t>(raw)];
            slot = map_.intern(raw);
            return slot;
        }
        return map_.intern(raw);
    }
    std::uint32_t count() const { return identity_ ? count_ : static_cast<std::uint32_t>(map_.size()); }
    std::shared_ptr<const IdMap> release() {
        table_.clear();
        table_.shrink_to_fit();
        if (identity_) return nullptr;
        return std::make_shared<const IdMap>(std::move(map_));
    }

private:
    bool identity_;
    std::uint32_t count_ = 0;
    IdMap map_;
    std::vector<std::uint32_t> table_;
};

enum class Sep { whitespace, single, double_colon };
enum class Header { none, first, detect };

struct Spec {
    Sep sep = Sep::whitespace;
    char ch = 0;
    int user_col = 0, item_col = 1, value_col = 2, time_col = -1;  // time_col: -1 when not kept
    Header header = Header::none;
    bool identity = false;
};

Spec spec_for(Format fmt, const LoadOptions& o) {
    Spec s;
    const bool ts = o.keep_timestamps;
    switch (fmt) {
        case Format::movielens_data:
            s.time_col = ts ? 3 : -1;
            break;
        case Format::movielens_dat:
            s.sep = Sep::double_colon;
            s.time_col = ts ? 3 : -1;
            break;
        case Format::movielens_csv:
            s.sep = Sep::single;
            s.ch = ',';
            s.header = Header::detect;
            s.time_col = ts ? 3 : -1;
            break;
        case Format::libmf:
            if (ts) fail(SIMDMF_ERR_INVALID_ARGUMENT, "keep_timestamps: the libmf format has no timestamps");
            s.identity = true;
            break;
        case Format::delimited:
            if (o.delimiter == '\n' || o.delimiter == '\r' || o.delimiter == '\0' || o.delimiter == '#' ||
                o.delimiter == '-' || o.delimiter == '+' || o.delimiter == '.' ||
                (o.delimiter >= '0' && o.delimiter <= '9'))
                fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("delimiter '") + o.delimiter + "' cannot separate numbers");
            if (is_blank(o.delimiter)) {
                s.sep = Sep::whitespace;
            } else {
                s.sep = Sep::single;
                s.ch = o.delimiter;
            }
            for (int c : {o.user_col, o.item_col, o.value_col})
                if (c < 0 || c >= kMaxColumns)
                    fail(SIMDMF_ERR_INVALID_ARGUMENT, "column " + std::to_string(c) + " out of [0, 64)");
            if (o.time_col < -1 || o.time_col >= kMaxColumns)
                fail(SIMDMF_ERR_INVALID_ARGUMENT, "time_col " + std::to_string(o.time_col) + " out of [-1, 64)");
            if (ts && o.time_col < 0)
                fail(SIMDMF_ERR_INVALID_ARGUMENT, "keep_timestamps needs time_col for the delimited format");
            s.user_col = o.user_col;
            s.item_col = o.item_col;
            s.value_col = o.value_col;
            s.time_col = ts ? o.time_col : -1;
            s.header = o.header ? Header::first : Header::none;
            break;
        default:
            fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("not a text format: ") + format_name(fmt));
    }
    if (!s.identity) s.identity = !o.map_ids;
    return s;
}

class TextLoader {
public:
    TextLoader(const std::string& path, const Spec& spec, const LoadOptions& opts, LoadReport& report)
        : path_(path), spec_(spec), skip_(opts.skip_bad_lines), report_(report),
          users_(spec.identity), items_(spec.identity) {
        need_ = std::max({spec.user_col, spec.item_col, spec.value_col, spec.time_col}) + 1;
        header_pending_ = spec.header != Header::none;
    }

    void reserve(std::size_t n) {
        out_.reserve(n);
        if (spec_.time_col >= 0) out_.timestamp.reserve(n);
    }

    // One line without its '\n' (a trailing '\r' is removed here).
    void line(const char* b, const char* e) {
        ++line_no_;
        if (e > b && e[-1] == '\r') --e;
        const char* p = b;
        while (p < e && is_blank(*p)) ++p;
        if (p == e || *p == '#') {
            ++report_.comments;
            return;
        }
        if (header_pending_) {
            header_pending_ = false;
            bool numeric = *p == '-' || *p == '+' || *p == '.' || static_cast<unsigned>(*p - '0') <= 9;
            if (spec_.header == Header::first || !numeric) {
                ++report_.comments;
                return;
            }
        }
        const char* fb[kMaxColumns];
        const char* fe[kMaxColumns];
        int nf = 0;
        switch (spec_.sep) {
            case Sep::whitespace:
                while (nf < need_) {
                    while (p < e && is_blank(*p)) ++p;
                    if (p == e) break;
                    fb[nf] = p;
                    while (p < e && !is_blank(*p)) ++p;
                    fe[nf++] = p;
                }
                break;
            case Sep::single:
            case Sep::double_colon:
                p = b;
                while (nf < need_) {
                    const char* q = p;
                    if (spec_.sep == Sep::single) {
                        q = static_cast<const char*>(std::memchr(p, spec_.ch, static_cast<std::size_t>(e - p)));
                        if (!q) q = e;
                    } else {
                        for (;;) {
                            q = static_cast<const char*>(std::memchr(q, ':', static_cast<std::size_t>(e - q)));
                            if (!q) { q = e; break; }
                            if (q + 1 < e && q[1] == ':') break;
                            ++q;
                        }
                    }
                    const char* s = p;
                    const char* t = q;
                    while (s < t && is_blank(*s)) ++s;
                    while (t > s && is_blank(t[-1])) --t;
                    fb[nf] = s;
                    fe[nf++] = t;
                    if (q == e) break;
                    p = q + (spec_.sep == Sep::single ? 1 : 2);
                }
                break;
        }
        if (nf < need_) {
            bad("expected at least " + std::to_string(need_) + " fields, found " + std::to_string(nf));
            return;
        }
        std::int64_t raw_user = 0, raw_item = 0, ts = 0;
        float v = 0;
        const int uc = spec_.user_col, ic = spec_.item_col, vc = spec_.value_col, tc = spec_.time_col;
        if (!check(parse_i64(fb[uc], fe[uc], raw_user), "user id", fb[uc], fe[uc])) return;
        if (!check(parse_i64(fb[ic], fe[ic], raw_item), "item id", fb[ic], fe[ic])) return;
        if (!check(parse_float(fb[vc], fe[vc], v), "rating", fb[vc], fe[vc])) return;
        if (tc >= 0 && !check(parse_i64(fb[tc], fe[tc], ts), "timestamp", fb[tc], fe[tc])) return;
        const char* why = nullptr;
        std::uint32_t u = users_.index(raw_user, &why);
        if (u == kNone) {
            bad("user id " + std::to_string(raw_user) + " " + why);
            return;
        }
        std::uint32_t i = items_.index(raw_item, &why);
        if (i == kNone) {
            bad("item id " + std::to_string(raw_item) + " " + why);
            return;
        }
        out_.user.push_back(u);
        out_.item.push_back(i);
        out_.value.push_back(v);
        if (tc >= 0) out_.timestamp.push_back(ts);
    }

    Ratings finish() {
        if (header_pending_ && spec_.header == Header::first) header_pending_ = false;
        out_.n_users = users_.count();
        out_.n_items = items_.count();
        out_.user_ids = users_.release();
        out_.item_ids = items_.release();
        auto shrink = [](auto& v) {
            if (v.capacity() - v.size() > v.size() / 32 + 1024) v.shrink_to_fit();
        };
        shrink(out_.user);
        shrink(out_.item);
        shrink(out_.value);
        shrink(out_.timestamp);
        report_.lines = line_no_;
        report_.ratings = out_.size();
        return std::move(out_);
    }

private:
    bool check(ParseResult r, const char* what, const char* b, const char* e) {
        switch (r) {
            case ParseResult::ok: return true;
            case ParseResult::empty: bad(std::string("empty ") + what); break;
            case ParseResult::not_number:
                bad(std::string(what) + " " + quoted(b, e) +
                    (std::strcmp(what, "rating") == 0 ? " is not a number" : " is not an integer"));
                break;
            case ParseResult::out_of_range:
                bad(std::string(what) + " " + quoted(b, e) +
                    (std::strcmp(what, "rating") == 0 ? " is out of float range" : " is out of int64 range"));
                break;
            case ParseResult::not_finite: bad(std::string(what) + " " + quoted(b, e) + " is not finite"); break;
        }
        return false;
    }

    void bad(const std::string& what) {
        std::string msg = path_ + ":" + std::to_string(line_no_) + ": " + what;
        if (!skip_) fail(SIMDMF_ERR_FORMAT, msg);
        ++report_.skipped;
        if (report_.errors.size() < 10) report_.errors.push_back(std::move(msg));
    }

    const std::string& path_;
    Spec spec_;
    bool skip_;
    LoadReport& report_;
    int need_;
    bool header_pending_;
    std::uint64_t line_no_ = 0;
    Indexer users_, items_;
    Ratings out_;
};

Ratings load_text(const std::string& path, Format fmt, const LoadOptions& opts, LoadReport& report) {
    const Spec spec = spec_for(fmt, opts);
    detail::InputFile f(path);
    const std::uint64_t total = f.size();
    TextLoader loader(path, spec, opts, report);
    std::vector<char> buf(kChunk);
    std::size_t have = 0;
    std::uint64_t done = 0;
    bool first = true;
    for (;;) {
        if (have == buf.size()) buf.resize(buf.size() * 2);  // a line longer than the buffer
        const std::size_t want = buf.size() - have;
        const std::size_t got = f.read(buf.data() + have, want);
        const bool eof = got < want;
        done += got;
        have += got;
        char* p = buf.data();
        char* end = p + have;
        if (first) {
            first = false;
            if (have >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
            if (total > 0) {
                // Reserve from the average line length of the first chunk (slightly generous).
                std::size_t sample = std::min<std::size_t>(static_cast<std::size_t>(end - p), std::size_t{1} << 20);
                std::size_t nl = static_cast<std::size_t>(std::count(p, p + sample, '\n'));
                if (nl > 0 && sample > 0) {
                    double per_line = static_cast<double>(sample) / static_cast<double>(nl);
                    loader.reserve(static_cast<std::size_t>(static_cast<double>(total) / per_line * 1.02) + 64);
                }
            }
        }
        for (;;) {
            char* nl = static_cast<char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
            if (!nl) break;
            loader.line(p, nl);
            p = nl + 1;
        }
        if (eof) {
            if (p < end) loader.line(p, end);  // no final newline
            break;
        }
        have = static_cast<std::size_t>(end - p);
        std::memmove(buf.data(), p, have);
        if (opts.progress) opts.progress(done, total);
    }
    buf.clear();
    buf.shrink_to_fit();
    Ratings r = loader.finish();
    if (opts.progress) opts.progress(done, total);
    return r;
}

std::string lower_basename(const std::string& path) {
    auto slash = path.find_last_of('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
}

bool ends_with(const std::string& s, const char* suffix) {
    std::size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

Format detect_format(const std::string& path) {
    detail::InputFile f(path);
    std::vector<char> head(1 << 16);
    head.resize(f.read(head.data(), head.size()));
    if (detail::is_binary_magic(reinterpret_cast<const unsigned char*>(head.data()), head.size()))
        return Format::binary;
    const std::string name = lower_basename(path);
    if (ends_with(name, ".smr")) return Format::binary;
    if (name == "u.data" || ends_with(name, ".data") || ends_with(name, ".base") || ends_with(name, ".test"))
        return Format::movielens_data;
    if (ends_with(name, ".dat")) return Format::movielens_dat;
    if (ends_with(name, ".csv")) return Format::movielens_csv;
    // The first content line.
    const char* p = head.data();
    const char* end = p + head.size();
    if (end - p >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    while (p < end) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* e = nl ? nl : end;
        const char* b = p;
        p = nl ? nl + 1 : end;
        if (e > b && e[-1] == '\r') --e;
        while (b < e && is_blank(*b)) ++b;
        if (b == e || *b == '#') continue;
        std::string_view line(b, static_cast<std::size_t>(e - b));
        if (line.find("::") != std::string_view::npos) return Format::movielens_dat;
        if (line.find(',') != std::string_view::npos) return Format::movielens_csv;
        if (line.find('\t') != std::string_view::npos) return Format::movielens_data;
        int fields = 0;
        for (std::size_t k = 0; k < line.size();) {
            while (k < line.size() && is_blank(line[k])) ++k;
            if (k == line.size()) break;
            ++fields;
            while (k < line.size() && !is_blank(line[k])) ++k;
        }
        if (fields == 3) return Format::libmf;
        if (fields >= 4) return Format::movielens_data;
        break;
    }
    fail(SIMDMF_ERR_FORMAT, "cannot detect the format of '" + path + "'; name the format explicitly");
}

Ratings load(const std::string& path, const LoadOptions& options, LoadReport* report) {
    LoadReport local;
    LoadReport& rep = report ? *report : local;
    rep = LoadReport{};
    Format fmt = options.format;
    if (fmt == Format::automatic) fmt = detect_format(path);
    if (fmt == Format::binary) {
        Ratings r = load_binary(path);
        rep.ratings = r.size();
        if (options.progress) {
            std::uint64_t bytes = 0;
            try {
                bytes = detail::InputFile(path).size();
            } catch (const Error&) {
            }
            options.progress(bytes, bytes);
        }
        return r;
    }
    return load_text(path, fmt, options, rep);
}

void write_text(const Ratings& data, const std::string& path, Format fmt) {
    if (fmt == Format::binary) return save_binary(data, path);
    if (fmt == Format::automatic)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "write_text needs an explicit format");
    const std::size_t n = data.size();
    if (data.user.size() != n || data.item.size() != n || (!data.timestamp.empty() && data.timestamp.size() != n))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "write_text: ratings arrays have different lengths");
    const bool raw = fmt != Format::libmf;
    const IdMap* um = raw ? data.user_ids.get() : nullptr;
    const IdMap* im = raw ? data.item_ids.get() : nullptr;
    for (std::size_t k = 0; k < n; ++k) {
        if ((um && data.user[k] >= um->size()) || (im && data.item[k] >= im->size()))
            fail(SIMDMF_ERR_OUT_OF_RANGE, "write_text: rating " + std::to_string(k) + " has no raw id");
    }
    const bool ts = !data.timestamp.empty() && fmt != Format::libmf;
    const char* sep = "\t";
    switch (fmt) {
        case Format::libmf: sep = " "; break;
        case Format::movielens_data: sep = "\t"; break;
        case Format::movielens_dat: sep = "::"; break;
        case Format::movielens_csv:
        case Format::delimited: sep = ","; break;
        default: break;
    }
    const std::size_t sl = std::strlen(sep);
    detail::AtomicWriter w(path);
    if (fmt == Format::movielens_csv) {
        std::string h = ts ? "userId,movieId,rating,timestamp\n" : "userId,movieId,rating\n";
        w.write(h.data(), h.size());
    }
    char line[160];
    const bool strings = (um && um->is_string()) || (im && im->is_string());
    std::string sline;
    for (std::size_t k = 0; k < n; ++k) {
        char* p = line;
        char* e = line + sizeof line;
        if (strings) {  // string ids: up to IdMap::kMaxIdBytes each, through a string
            sline = id_text(um, data.user[k]);
            sline += sep;
            sline += id_text(im, data.item[k]);
            sline += sep;
        } else {
            std::int64_t u = um ? um->raw(data.user[k]) : static_cast<std::int64_t>(data.user[k]);
            std::int64_t i = im ? im->raw(data.item[k]) : static_cast<std::int64_t>(data.item[k]);
            p = std::to_chars(p, e, u).ptr;
            std::memcpy(p, sep, sl);
            p += sl;
            p = std::to_chars(p, e, i).ptr;
            std::memcpy(p, sep, sl);
            p += sl;
        }
        p = std::to_chars(p, e, data.value[k]).ptr;
        if (ts) {
            std::memcpy(p, sep, sl);
            p += sl;
            p = std::to_chars(p, e, data.timestamp[k]).ptr;
        }
        *p++ = '\n';
        if (strings) {
            sline.append(line, static_cast<std::size_t>(p - line));
            w.write(sline.data(), sline.size());
        } else {
            w.write(line, static_cast<std::size_t>(p - line));
        }
    }
    w.commit();
}

}  // namespace simdmf::io
