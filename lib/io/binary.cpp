// The compact binary ratings file (layout in loaders.hpp).
#include <bit>
#include <cstring>
#include <limits>

#include "common.hpp"
#include "io/file_util.hpp"
#include "io/loaders.hpp"

namespace simdmf::io {

namespace {

constexpr unsigned char kMagic[8] = {0x89, 'S', 'M', 'R', '\r', '\n', 0x1A, '\n'};
constexpr unsigned char kEnd[4] = {'S', 'M', 'R', 'E'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderSize = 56, kTrailerSize = 8;
constexpr std::uint32_t kFlagTime = 1, kFlagUserMap = 2, kFlagItemMap = 4;
constexpr std::uint32_t kFlagUserStrings = 8, kFlagItemStrings = 16;  // that map holds string ids
constexpr bool kLittle = std::endian::native == std::endian::little;

void put32(unsigned char* p, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) p[k] = static_cast<unsigned char>(v >> (8 * k));
}
void put64(unsigned char* p, std::uint64_t v) {
    for (int k = 0; k < 8; ++k) p[k] = static_cast<unsigned char>(v >> (8 * k));
}
std::uint32_t get32(const unsigned char* p) {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= static_cast<std::uint32_t>(p[k]) << (8 * k);
    return v;
}
std::uint64_t get64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v |= static_cast<std::uint64_t>(p[k]) << (8 * k);
    return v;
}

template <class T>
void byteswap_all(T* p, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        unsigned char b[sizeof(T)];
        std::memcpy(b, p + k, sizeof(T));
        for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
        std::memcpy(p + k, b, sizeof(T));
    }
}

// Writes an array little-endian, feeding the CRC.
template <class T>
void write_array(detail::AtomicWriter& w, std::uint32_t& crc, const T* p, std::size_t n) {
    if (n == 0) return;
    if constexpr (kLittle) {
        crc = detail::crc32c(crc, p, n * sizeof(T));
        w.write(p, n * sizeof(T));
    } else {
        std::vector<T> tmp(p, p + n);
        byteswap_all(tmp.data(), n);
        crc = detail::crc32c(crc, tmp.data(), n * sizeof(T));
        w.write(tmp.data(), n * sizeof(T));
    }
}

// Reads n values in slices (the CRC runs over data still in cache). When the file's size was checked
// against the header (a regular file) the array is sized once; otherwise (a pipe) it grows with the
// data actually read, so a header that promises more than arrives cannot make us allocate it.
template <class T>
void read_array(detail::InputFile& f, std::uint32_t& crc, std::vector<T>& out, std::size_t n, bool size_checked) {
    out.clear();
    if (n == 0) return;
    if (size_checked) out.resize(n);
    constexpr std::size_t slice = (std::size_t{1} << 20) / sizeof(T);
    for (std::size_t done = 0; done < n;) {
        const std::size_t m = std::min(slice, n - done);
        if (!size_checked) out.resize(done + m);  // libstdc++ grows the capacity geometrically
        auto* bytes = reinterpret_cast<unsigned char*>(out.data() + done);
        if (f.read(bytes, m * sizeof(T)) != m * sizeof(T))
            fail(SIMDMF_ERR_FORMAT, f.path() + ": truncated binary ratings file");
        crc = detail::crc32c(crc, bytes, m * sizeof(T));
        done += m;
    }
    if constexpr (!kLittle) byteswap_all(out.data(), n);
}

// An id map: integer ids as i64[n]; string ids as u64 text bytes | u32 length[n] | the texts.
void write_map(detail::AtomicWriter& w, std::uint32_t& crc, const IdMap& map) {
    if (!map.is_string()) return write_array(w, crc, map.raws().data(), map.size());
    const auto& ids = map.strings_list();
    std::vector<std::uint32_t> len(ids.size());
    std::uint64_t bytes = 0;
    for (std::size_t k = 0; k < ids.size(); ++k) bytes += len[k] = static_cast<std::uint32_t>(ids[k].size());
    write_array(w, crc, &bytes, 1);
    write_array(w, crc, len.data(), len.size());
    std::string text;
    text.reserve(static_cast<std::size_t>(bytes));
    for (const auto& s : ids) text += s;
    write_array(w, crc, text.data(), text.size());
}

// Reads a string id map of n ids; `left` is what the file has left after the fixed-size arrays (0:
// unknown, a pipe), against which the text size is checked before it is allocated.
std::vector<std::string> read_string_map(detail::InputFile& f, std::uint32_t& crc, std::size_t n, bool checked, std::uint64_t& left) {
    std::vector<std::uint64_t> bytes;
    read_array(f, crc, bytes, 1, checked);
    if (bytes[0] > std::uint64_t{n} * IdMap::kMaxIdBytes || (checked && bytes[0] > left))
        fail(SIMDMF_ERR_FORMAT, f.path() + ": string id map size is inconsistent with the file");
    if (checked) left -= bytes[0];
    std::vector<std::uint32_t> len;
    read_array(f, crc, len, n, checked);
    std::vector<char> text;
    read_array(f, crc, text, static_cast<std::size_t>(bytes[0]), checked);
    std::vector<std::string> ids(n);
    std::uint64_t at = 0;
    for (std::size_t k = 0; k < n; ++k) {
        if (len[k] > bytes[0] - at) fail(SIMDMF_ERR_FORMAT, f.path() + ": string id lengths exceed the map's text");
        ids[k].assign(text.data() + at, len[k]);
        at += len[k];
    }
    if (at != bytes[0]) fail(SIMDMF_ERR_FORMAT, f.path() + ": string id lengths do not add up to the map's text");
    return ids;
}

}  // namespace

void save_binary(const Ratings& data, const std::string& path) {
    const std::size_t n = data.size();
    if (data.user.size() != n || data.item.size() != n || (!data.timestamp.empty() && data.timestamp.size() != n))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "save_binary: ratings arrays have different lengths");
    if (data.user_ids && data.user_ids->size() != data.n_users)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "save_binary: user id map size differs from n_users");
    if (data.item_ids && data.item_ids->size() != data.n_items)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "save_binary: item id map size differs from n_items");
    const bool ts = !data.timestamp.empty();
    const std::uint64_t nu_map = data.user_ids ? data.user_ids->size() : 0;
    const std::uint64_t ni_map = data.item_ids ? data.item_ids->size() : 0;
    const bool us = data.user_ids && data.user_ids->is_string(), is = data.item_ids && data.item_ids->is_string();
    std::uint32_t flags = (ts ? kFlagTime : 0) | (data.user_ids ? kFlagUserMap : 0) |
                          (data.item_ids ? kFlagItemMap : 0) | (us ? kFlagUserStrings : 0) |
                          (is ? kFlagItemStrings : 0);
    unsigned char h[kHeaderSize] = {};
    std::memcpy(h, kMagic, 8);
    put32(h + 8, kVersion);
    put32(h + 12, flags);
    put64(h + 16, n);
    put32(h + 24, data.n_users);
    put32(h + 28, data.n_items);
    put64(h + 32, nu_map);
    put64(h + 40, ni_map);
    put32(h + 48, detail::crc32c(0, h, 48));
    detail::AtomicWriter w(path);
    w.write(h, kHeaderSize);
    std::uint32_t crc = 0;
    write_array(w, crc, data.user.data(), n);
    write_array(w, crc, data.item.data(), n);
    write_array(w, crc, data.value.data(), n);
    if (ts) write_array(w, crc, data.timestamp.data(), n);
    if (data.user_ids) write_map(w, crc, *data.user_ids);
    if (data.item_ids) write_map(w, crc, *data.item_ids);
    unsigned char t[kTrailerSize];
    put32(t, crc);
    std::memcpy(t + 4, kEnd, 4);
    w.write(t, kTrailerSize);
    w.commit();
}

namespace detail {
Ratings load_binary_from(InputFile& f);
bool is_binary_magic(const unsigned char* p, std::size_t n) {
    return n >= 8 && std::memcmp(p, kMagic, 8) == 0;
}
}  // namespace detail

Ratings load_binary(const std::string& path) {
    detail::InputFile f(path);
    return detail::load_binary_from(f);
}

Ratings detail::load_binary_from(detail::InputFile& f) {
    const std::string& path = f.path();
    const std::uint64_t file_size = f.size();
    unsigned char h[kHeaderSize];
    std::size_t got = f.read(h, kHeaderSize);
    if (got < 8 || std::memcmp(h, kMagic, 8) != 0)
        fail(SIMDMF_ERR_FORMAT, path + ": not a simdmf binary ratings file (bad magic)");
    if (got < kHeaderSize) fail(SIMDMF_ERR_FORMAT, path + ": truncated binary ratings file (header)");
    const std::uint32_t version = get32(h + 8);
    // A newer version may lay its header out differently, so its CRC need not match ours.
    if (get32(h + 48) != detail::crc32c(0, h, 48) && version <= kVersion)
        fail(SIMDMF_ERR_CHECKSUM, path + ": header checksum mismatch");
    if (version > kVersion)
        fail(SIMDMF_ERR_VERSION, path + ": binary ratings format version " + std::to_string(version) +
                                     " is newer than this library's " + std::to_string(kVersion));
    if (version == 0) fail(SIMDMF_ERR_FORMAT, path + ": invalid binary ratings format version 0");
    // The reserved word after the header CRC is not covered by it: it must be zero.
    if (get32(h + 52) != 0) fail(SIMDMF_ERR_FORMAT, path + ": reserved binary ratings header field is not zero");
    const std::uint32_t flags = get32(h + 12);
    if (flags & ~(kFlagTime | kFlagUserMap | kFlagItemMap | kFlagUserStrings | kFlagItemStrings))
        fail(SIMDMF_ERR_FORMAT, path + ": unknown flags in binary ratings header");
    const bool us = flags & kFlagUserStrings, is = flags & kFlagItemStrings;
    if ((us && !(flags & kFlagUserMap)) || (is && !(flags & kFlagItemMap)))
        fail(SIMDMF_ERR_FORMAT, path + ": string id flag without an id map in binary ratings header");
    const std::uint64_t n = get64(h + 16);
    const std::uint32_t n_users = get32(h + 24), n_items = get32(h + 28);
    const std::uint64_t nu_map = get64(h + 32), ni_map = get64(h + 40);
    if ((!(flags & kFlagUserMap) && nu_map) || (!(flags & kFlagItemMap) && ni_map) ||
        ((flags & kFlagUserMap) && nu_map != n_users) || ((flags & kFlagItemMap) && ni_map != n_items))
        fail(SIMDMF_ERR_FORMAT, path + ": id map sizes in binary ratings header differ from the user and item counts");
    // Expected size, overflow-checked, before allocating anything.
    const std::uint64_t per_rating = (flags & kFlagTime) ? 20 : 12;
    constexpr std::uint64_t big = std::numeric_limits<std::uint64_t>::max() / 32;
    if (n > big || nu_map > big || ni_map > big)
        fail(SIMDMF_ERR_FORMAT, path + ": impossible counts in binary ratings header");
    // A string map takes 8 + 4 per id + its text (whose size is read later): `expected` is then a minimum.
    const std::uint64_t expected = kHeaderSize + n * per_rating + (us ? 8 + 4 * nu_map : 8 * nu_map) +
                                   (is ? 8 + 4 * ni_map : 8 * ni_map) + kTrailerSize;
    if (file_size != 0 && file_size < expected)
        fail(SIMDMF_ERR_FORMAT, path + ": truncated binary ratings file (" + std::to_string(file_size) +
                                    " bytes, header promises " + std::to_string(expected) + ")");
    if (file_size != 0 && file_size > expected && !us && !is)
        fail(SIMDMF_ERR_FORMAT, path + ": " + std::to_string(file_size - expected) +
                                    " unexpected bytes after the binary ratings data");
    if (n > SIZE_MAX / 8) fail(SIMDMF_ERR_OUT_OF_MEMORY, path + ": too many ratings for this machine");

    Ratings r;
    r.n_users = n_users;
    r.n_items = n_items;
    std::uint32_t crc = 0;
    const bool checked = file_size != 0;
    read_array(f, crc, r.user, n, checked);
    read_array(f, crc, r.item, n, checked);
    read_array(f, crc, r.value, n, checked);
    if (flags & kFlagTime) read_array(f, crc, r.timestamp, n, checked);
    std::vector<std::int64_t> uraw, iraw;
    std::uint64_t left = file_size - expected;  // bytes for string ids (checked files)
    std::vector<std::string> ustr, istr;
    if (us) ustr = read_string_map(f, crc, nu_map, checked, left);
    else read_array(f, crc, uraw, nu_map, checked);
    if (is) istr = read_string_map(f, crc, ni_map, checked, left);
    else read_array(f, crc, iraw, ni_map, checked);
    if (checked && left != 0)
        fail(SIMDMF_ERR_FORMAT, path + ": " + std::to_string(left) + " unexpected bytes after the binary ratings data");
    unsigned char t[kTrailerSize + 1];
    std::size_t tail = f.read(t, kTrailerSize + 1);
    if (tail < kTrailerSize) fail(SIMDMF_ERR_FORMAT, path + ": truncated binary ratings file (trailer)");
    if (tail > kTrailerSize) fail(SIMDMF_ERR_FORMAT, path + ": unexpected bytes after the binary ratings data");
    if (std::memcmp(t + 4, kEnd, 4) != 0) fail(SIMDMF_ERR_FORMAT, path + ": bad end marker");
    if (get32(t) != crc) fail(SIMDMF_ERR_CHECKSUM, path + ": data checksum mismatch");

    for (std::size_t k = 0; k < n; ++k)
        if (r.user[k] >= n_users || r.item[k] >= n_items)
            fail(SIMDMF_ERR_FORMAT, path + ": rating " + std::to_string(k) + " has an index out of range");
    try {
        if (us) r.user_ids = std::make_shared<const IdMap>(IdMap::from_strings(std::move(ustr)));
        else if (flags & kFlagUserMap) r.user_ids = std::make_shared<const IdMap>(IdMap::from_raws(std::move(uraw)));
        if (is) r.item_ids = std::make_shared<const IdMap>(IdMap::from_strings(std::move(istr)));
        else if (flags & kFlagItemMap) r.item_ids = std::make_shared<const IdMap>(IdMap::from_raws(std::move(iraw)));
    } catch (const Error& e) {
        fail(SIMDMF_ERR_FORMAT, path + ": " + e.what());
    }
    return r;
}

}  // namespace simdmf::io
