// Text ratings files: format detection, the streaming parser, and the text writer.
#include "io/loaders.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

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

namespace detail {
Ratings load_binary_from(InputFile& f);  // binary.cpp
}

namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kChunk = std::size_t{4} << 20;
constexpr std::size_t kMaxLine = std::size_t{16} << 20;  // a longer line is not a ratings file
constexpr int kMaxColumns = 64;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string quoted(const char* b, const char* e) {
    return escape_bytes(std::string_view(b, static_cast<std::size_t>(e - b)), true, 40);
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

// Raw id -> dense index: an IdMap, with a flat table in front of it for small non-negative ids. The
// map turns into a string map at the first id that is not an integer (the table stays valid: indices
// do not change).
class Indexer {
public:
    explicit Indexer(bool identity) : identity_(identity) {}

    // An id field, checked but not yet added: an integer (*is_int) or a valid string id. Empty `why`
    // when fine.
    std::string check(const char* b, const char* e, std::int64_t* v, bool* is_int) const {
        const ParseResult r = parse_i64(b, e, *v);
        *is_int = r == ParseResult::ok;
        if (*is_int) return {};
        if (r == ParseResult::empty) return "is empty";
        if (identity_) {
            return r == ParseResult::out_of_range ? "is out of int64 range"
                                                  : "is not an integer (this format's ids are 0-based indices)";
        }
        return check_string_id(std::string_view(b, static_cast<std::size_t>(e - b)));
    }

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
    // A string id that check() accepted.
    std::uint32_t index(const char* b, const char* e) {
        map_.to_strings();
        return map_.intern(std::string_view(b, static_cast<std::size_t>(e - b)));
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
    int user_col = 0, item_col = 1, value_col = 2, time_col = -1;  // value_col -1: events; time_col -1: not kept
    bool time_optional = false;  // timestamps kept when every line has one (timestamps_if_present)
    int known = 3;               // fields the format gives a meaning to; more are counted as ignored
    Header header = Header::none;
    bool identity = false;
    bool labels = false;         // values must be +1/-1
    std::string label;           // the format as errors name it
};

std::string sep_name(const Spec& s) {
    switch (s.sep) {
        case Sep::whitespace: return "tab/space-separated";
        case Sep::double_colon: return "'::'-separated";
        case Sep::single: return escape_bytes(std::string_view(&s.ch, 1)) + "-separated";
    }
    return "";
}

Spec spec_for(Format fmt, const LoadOptions& o, bool guessed) {
    Spec s;
    const bool ts = o.keep_timestamps || o.timestamps_if_present;
    s.time_optional = !o.keep_timestamps && o.timestamps_if_present;
    switch (fmt) {
        case Format::movielens_data:
            s.time_col = ts ? 3 : -1;
            s.known = 4;
            break;
        case Format::movielens_dat:
            s.sep = Sep::double_colon;
            s.time_col = ts ? 3 : -1;
            s.known = 4;
            break;
        case Format::movielens_csv:
            s.sep = Sep::single;
            s.ch = ',';
            s.header = Header::detect;
            s.time_col = ts ? 3 : -1;
            s.known = 4;
            break;
        case Format::libmf:
            if (o.keep_timestamps) fail(SIMDMF_ERR_INVALID_ARGUMENT, "keep_timestamps: the libmf format has no timestamps");
            s.time_optional = false;
            s.identity = true;
            break;
        case Format::delimited:
            if (o.delimiter == '\n' || o.delimiter == '\r' || o.delimiter == '\0' || o.delimiter == '#' ||
                o.delimiter == '-' || o.delimiter == '+' || o.delimiter == '.' ||
                (o.delimiter >= '0' && o.delimiter <= '9'))
                fail(SIMDMF_ERR_INVALID_ARGUMENT, "delimiter " + escape_bytes(std::string_view(&o.delimiter, 1)) +
                                                      " cannot separate numbers");
            if (is_blank(o.delimiter)) {
                s.sep = Sep::whitespace;
            } else {
                s.sep = Sep::single;
                s.ch = o.delimiter;
            }
            for (int c : {o.user_col, o.item_col})
                if (c < 0 || c >= kMaxColumns)
                    fail(SIMDMF_ERR_INVALID_ARGUMENT, "column " + std::to_string(c) + " out of [0, 64)");
            if (o.value_col < -1 || o.value_col >= kMaxColumns)
                fail(SIMDMF_ERR_INVALID_ARGUMENT, "value_col " + std::to_string(o.value_col) + " out of [-1, 64)");
            if (o.time_col < -1 || o.time_col >= kMaxColumns)
                fail(SIMDMF_ERR_INVALID_ARGUMENT, "time_col " + std::to_string(o.time_col) + " out of [-1, 64)");
            if (o.keep_timestamps && o.time_col < 0)
                fail(SIMDMF_ERR_INVALID_ARGUMENT, "keep_timestamps needs time_col for the delimited format");
            s.user_col = o.user_col;
            s.item_col = o.item_col;
            s.value_col = o.value_col;
            s.time_col = ts ? o.time_col : -1;
            s.known = std::max({o.user_col, o.item_col, o.value_col, o.time_col}) + 1;
            break;
        default:
            fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("not a text format: ") + format_name(fmt));
    }
    if (fmt != Format::delimited && o.value_col < 0) {  // two-column events in any text format
        s.value_col = -1;
        if (s.time_col >= 0) s.time_col = 2;
        s.known = s.time_col >= 0 || fmt != Format::libmf ? 3 : 2;
    }
    if (o.header) s.header = Header::first;
    else if (guessed && s.header == Header::none) s.header = Header::detect;
    if (!s.identity) s.identity = !o.map_ids;
    s.labels = o.expect_labels;
    s.label = std::string(format_name(fmt)) + ", " + sep_name(s) + (s.value_col < 0 ? ", user item events" : "") +
              (s.identity ? ", ids are 0-based indices" : "") + (guessed ? ", guessed" : "");
    return s;
}

class TextLoader {
public:
    TextLoader(const std::string& path, const Spec& spec, const LoadOptions& opts, LoadReport& report)
        : path_(path), spec_(spec), skip_(opts.skip_bad_lines), report_(report),
          users_(spec.identity), items_(spec.identity) {
        need_ = std::max({spec.user_col, spec.item_col, spec.value_col, spec.time_optional ? -1 : spec.time_col}) + 1;
        split_ = std::min(kMaxColumns, std::max({need_, spec.known, spec.time_col + 1}) + 1);
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
        const char* fb[kMaxColumns + 1];
        const char* fe[kMaxColumns + 1];
        int nf = 0;
        switch (spec_.sep) {
            case Sep::whitespace:
                while (nf < split_) {
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
                while (nf < split_) {
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
        if (header_pending_) {
            header_pending_ = false;
            if (spec_.header == Header::first || looks_like_header(fb, fe, nf)) {
                ++report_.comments;
                report_.header.assign(b, e);
                return;
            }
        }
        if (nf < need_) {
            bad("expected at least " + std::to_string(need_) + " fields, found " + std::to_string(nf));
            return;
        }
        std::int64_t raw_user = 0, raw_item = 0, ts = 0;
        float v = 1.0f;
        bool uint = false, iint = false;
        const int uc = spec_.user_col, ic = spec_.item_col, vc = spec_.value_col, tc = spec_.time_col;
        std::string why = users_.check(fb[uc], fe[uc], &raw_user, &uint);
        if (!why.empty()) return bad("user id " + quoted(fb[uc], fe[uc]) + " " + why);
        why = items_.check(fb[ic], fe[ic], &raw_item, &iint);
        if (!why.empty()) return bad("item id " + quoted(fb[ic], fe[ic]) + " " + why);
        if (vc >= 0 && !check(parse_float(fb[vc], fe[vc], v), "rating", fb[vc], fe[vc])) return;
        const bool has_ts = tc >= 0 && nf > tc;
        if (has_ts && !check(parse_i64(fb[tc], fe[tc], ts), "timestamp", fb[tc], fe[tc])) return;
        if (spec_.labels && v != 1.0f && v != -1.0f) {
            return bad("value " + quoted(fb[vc], fe[vc]) +
                       " is not a +1/-1 label, which logistic loss needs: binarise the ratings (e.g. "
                       "+1 at or above a threshold, -1 below), or for counts or events read the file as "
                       "two-column user item events and train an implicit model (loss implicit, solver als)");
        }
        const char* cwhy = nullptr;
        std::uint32_t u = uint ? users_.index(raw_user, &cwhy) : users_.index(fb[uc], fe[uc]);
        if (u == kNone) return bad("user id " + std::to_string(raw_user) + " " + cwhy);
        std::uint32_t i = iint ? items_.index(raw_item, &cwhy) : items_.index(fb[ic], fe[ic]);
        if (i == kNone) return bad("item id " + std::to_string(raw_item) + " " + cwhy);
        if (nf > spec_.known) ++extra_lines_;
        out_.user.push_back(u);
        out_.item.push_back(i);
        out_.value.push_back(v);
        if (tc >= 0) {
            out_.timestamp.push_back(ts);
            ts_lines_ += has_ts;
        }
    }

    Ratings finish() {
        if (header_pending_ && spec_.header == Header::first) header_pending_ = false;
        out_.n_users = users_.count();
        out_.n_items = items_.count();
        out_.user_ids = users_.release();
        out_.item_ids = items_.release();
        if (spec_.time_col >= 0 && ts_lines_ != out_.size()) {
            if (ts_lines_ != 0)
                warn("timestamps on only " + std::to_string(ts_lines_) + " of " + std::to_string(out_.size()) +
                     " lines: timestamps dropped");
            out_.timestamp.clear();
        }
        if (spec_.value_col < 0) merge_events();
        auto shrink = [](auto& v) {
            if (v.capacity() - v.size() > v.size() / 32 + 1024) v.shrink_to_fit();
        };
        shrink(out_.user);
        shrink(out_.item);
        shrink(out_.value);
        shrink(out_.timestamp);
        report_.lines = line_no_;
        report_.ratings = out_.size();
        if (extra_lines_)
            warn(std::to_string(extra_lines_) + " lines have more than " + std::to_string(spec_.known) +
                 " fields; the extra fields were ignored (" + spec_.label + ")");
        plausibility();
        return std::move(out_);
    }

private:
    // A first line is a header when its rating field is not a number, or (events) it has no digit.
    bool looks_like_header(const char* const* fb, const char* const* fe, int nf) const {
        const int vc = spec_.value_col;
        if (vc >= 0 && nf > vc) {
            float v;
            return parse_float(fb[vc], fe[vc], v) != ParseResult::ok;
        }
        for (int k = 0; k < nf; ++k)
            for (const char* c = fb[k]; c < fe[k]; ++c)
                if (static_cast<unsigned>(*c - '0') <= 9) return false;
        return nf > 0;
    }

    // Two-column events: one rating per (user, item), its value the number of lines naming it; the
    // first line's timestamp is kept.
    void merge_events() {
        std::unordered_map<std::uint64_t, std::size_t> at;
        at.reserve(out_.size());
        std::size_t w = 0;
        const bool ts = !out_.timestamp.empty();
        for (std::size_t k = 0; k < out_.size(); ++k) {
            const std::uint64_t key = (std::uint64_t{out_.user[k]} << 32) | out_.item[k];
            auto [it, fresh] = at.emplace(key, w);
            if (!fresh) {
                out_.value[it->second] += 1.0f;
                continue;
            }
            out_.user[w] = out_.user[k];
            out_.item[w] = out_.item[k];
            out_.value[w] = out_.value[k];
            if (ts) out_.timestamp[w] = out_.timestamp[k];
            ++w;
        }
        report_.merged = out_.size() - w;
        out_.user.resize(w);
        out_.item.resize(w);
        out_.value.resize(w);
        if (ts) out_.timestamp.resize(w);
    }

    // Values that do not look like what the format holds.
    void plausibility() {
        if (out_.empty() || spec_.value_col < 0 || spec_.labels) return;
        float lo = out_.value[0], hi = lo;
        double sum = 0;
        bool integers = true;
        for (float v : out_.value) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            sum += v;
            integers = integers && v == std::floor(v);
        }
        const double mean = sum / static_cast<double>(out_.size());
        char range[128];
        std::snprintf(range, sizeof range, "values %g..%g, mean %.4g", static_cast<double>(lo), static_cast<double>(hi), mean);
        if (integers && lo >= 0 && hi > 100 && mean > 10) {
            warn(std::string(range) + ": these look like counts, not ratings (" + spec_.label +
                 "); for play or event counts train an implicit model on them (loss implicit, solver als: iALS), or "
                 "binarise them");
        } else if (spec_.label.rfind("movielens", 0) == 0 && spec_.label.find("guessed") == std::string::npos &&
                   (lo < 0 || hi > 10)) {
            warn(std::string(range) + ": outside the 0..10 of MovieLens star ratings (" + spec_.label + ")");
        }
    }

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
        std::string msg = path_ + ":" + std::to_string(line_no_) + ": " + what + " (read as " + spec_.label + ")";
        if (!skip_) fail(SIMDMF_ERR_FORMAT, msg);
        ++report_.skipped;
        if (report_.errors.size() < 10) report_.errors.push_back(std::move(msg));
    }

    void warn(std::string w) { report_.warnings.push_back(path_ + ": " + std::move(w)); }

public:
    std::uint64_t line_no() const { return line_no_; }

private:
    const std::string& path_;
    Spec spec_;
    bool skip_;
    LoadReport& report_;
    int need_, split_;
    bool header_pending_;
    std::uint64_t line_no_ = 0, extra_lines_ = 0, ts_lines_ = 0;
    Indexer users_, items_;
    Ratings out_;
};

Ratings load_text(detail::InputFile& f, const Spec& spec, const LoadOptions& opts, LoadReport& report) {
    const std::string& path = f.path();
    const std::uint64_t total = f.size();
    TextLoader loader(path, spec, opts, report);
    std::vector<char> buf(kChunk);
    std::size_t have = 0;
    std::uint64_t done = 0;
    bool first = true;
    for (;;) {
        if (have == buf.size()) {  // a line longer than the buffer
            if (buf.size() >= kMaxLine)
                fail(SIMDMF_ERR_FORMAT, path + ":" + std::to_string(loader.line_no() + 1) + ": a line longer than " +
                                            std::to_string(kMaxLine >> 20) + " MiB (not a text ratings file?) (read as " +
                                            spec.label + ")");
            buf.resize(buf.size() * 2);
        }
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
    f.check_complete(done);
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

struct Detected {
    Format format = Format::automatic;
    bool events = false;  // two fields a line
};

// The format from the first bytes of a file: the binary magic, else the first content line (the second
// with skip_header); the name only decides for .smr and when the head has no content line. Never libmf (dense 0-based
// indices are a claim about the ids only the caller can make).
Detected detect_head(const std::string& path, const char* p, std::size_t n, bool skip_header) {
    if (detail::is_binary_magic(reinterpret_cast<const unsigned char*>(p), n)) return {Format::binary};
    const std::string name = lower_basename(path);
    if (ends_with(name, ".smr")) return {Format::binary};
    const char* end = p + n;
    if (end - p >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    bool seen_content = false;
    while (p < end) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* e = nl ? nl : end;
        const char* b = p;
        p = nl ? nl + 1 : end;
        if (e > b && e[-1] == '\r') --e;
        while (b < e && is_blank(*b)) ++b;
        if (b == e || *b == '#') continue;
        if (skip_header && !seen_content) {
            seen_content = true;
            continue;
        }
        std::string_view line(b, static_cast<std::size_t>(e - b));
        auto count = [&](auto is_sep, std::size_t step) {
            int fields = 1;
            for (std::size_t k = 0; k < line.size(); ++k)
                if (is_sep(k)) ++fields, k += step - 1;
            return fields;
        };
        if (line.find("::") != std::string_view::npos) {
            int f = count([&](std::size_t k) { return line.compare(k, 2, "::") == 0; }, 2);
            return {Format::movielens_dat, f == 2};
        }
        if (line.find(',') != std::string_view::npos) {
            int f = count([&](std::size_t k) { return line[k] == ','; }, 1);
            return {Format::movielens_csv, f == 2};
        }
        int fields = 0;
        for (std::size_t k = 0; k < line.size();) {
            while (k < line.size() && is_blank(line[k])) ++k;
            if (k == line.size()) break;
            ++fields;
            while (k < line.size() && !is_blank(line[k])) ++k;
        }
        if (fields >= 2) return {Format::movielens_data, fields == 2};
        break;
    }
    // Nothing decisive in the head (an empty file, a long comment): the name, as a last resort.
    if (name == "u.data" || ends_with(name, ".data") || ends_with(name, ".base") || ends_with(name, ".test"))
        return {Format::movielens_data};
    if (ends_with(name, ".dat")) return {Format::movielens_dat};
    if (ends_with(name, ".csv")) return {Format::movielens_csv};
    fail(SIMDMF_ERR_FORMAT, "cannot detect the format of '" + path +
                                "' (no line of 2 or more fields separated by tabs, spaces, ',' or '::' in its first "
                                "64 KiB); name the format explicitly");
}

}  // namespace

Format detect_format(const std::string& path) {
    detail::InputFile f(path);
    std::vector<char> head(1 << 16);
    head.resize(f.read(head.data(), head.size()));
    return detect_head(path, head.data(), head.size(), false).format;
}

Ratings load(const std::string& path, const LoadOptions& options, LoadReport* report) {
    LoadReport local;
    LoadReport& rep = report ? *report : local;
    rep = LoadReport{};
    detail::InputFile f(path);  // opened once: a pipe is read once, detection peeks at its head
    Format fmt = options.format;
    LoadOptions o = options;
    const bool guessed = fmt == Format::automatic;
    if (guessed) {
        std::vector<char> head(1 << 16);
        head.resize(f.read(head.data(), head.size()));
        const Detected d = detect_head(path, head.data(), head.size(), options.header);
        f.unread(head.data(), head.size());
        fmt = d.format;
        if (d.events) o.value_col = -1;
    }
    rep.format = fmt;
    if (fmt == Format::binary) {
        if (options.header) fail(SIMDMF_ERR_INVALID_ARGUMENT, path + ": a header line does not apply to the binary format");
        rep.described = "binary";
        Ratings r = detail::load_binary_from(f);
        rep.ratings = r.size();
        if (options.progress) options.progress(f.size(), f.size());
        return r;
    }
    const Spec spec = spec_for(fmt, o, guessed);
    rep.described = spec.label;
    rep.events = spec.value_col < 0;
    return load_text(f, spec, o, rep);
}

void write_text(const Ratings& data, const std::string& path, Format fmt, const std::string& header) {
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
    if (fmt == Format::movielens_csv || (fmt == Format::delimited && !header.empty())) {
        std::string h = !header.empty() ? header + "\n"
                        : ts            ? "userId,movieId,rating,timestamp\n"
                                        : "userId,movieId,rating\n";
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
