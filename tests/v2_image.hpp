// A model file v2 image in memory, for tests and the fuzzer: parse a file's bytes into its header
// fields, directory entries and section bytes, change them, and write the bytes back with every CRC
// recomputed (or set by hand). The layout is docs/model_file.md's; lib/io/model_file.cpp is the reader.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace simdmf_test {

struct V2Section {
    std::string name;
    std::uint32_t type = 2, flags = 1, dtype = 1;
    std::uint64_t rows = 0, cols = 0, stride = 0;
    std::vector<unsigned char> bytes;
    // Overrides for bad files: offset and length as written (0 = computed), CRC (computed unless set).
    std::uint64_t offset = 0, length = 0;
    bool crc_set = false;
    std::uint32_t crc = 0;
};

inline std::uint32_t v2_crc32c(const unsigned char* p, std::size_t n, std::uint32_t crc = 0) {
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i) {
        crc ^= p[i];
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

inline std::uint64_t v2_get(const unsigned char* p, int bytes) {
    std::uint64_t v = 0;
    for (int b = bytes - 1; b >= 0; --b) v = (v << 8) | p[b];
    return v;
}
inline void v2_put(std::vector<unsigned char>& out, std::uint64_t v, int bytes) {
    for (int b = 0; b < bytes; ++b) out.push_back(static_cast<unsigned char>(v >> (8 * b)));
}
inline void v2_set(unsigned char* p, std::uint64_t v, int bytes) {
    for (int b = 0; b < bytes; ++b) p[b] = static_cast<unsigned char>(v >> (8 * b));
}

struct V2Image {
    std::uint32_t version = 2, file_flags = 0;
    std::vector<V2Section> sections;

    // False when the bytes are not a v2 file with a directory inside them (sections past the end are
    // cut to what the file holds).
    bool parse(const unsigned char* p, std::size_t n) {
        if (n < 64 || std::memcmp(p, "SIMDMFMD", 8) != 0) return false;
        version = static_cast<std::uint32_t>(v2_get(p + 8, 4));
        const std::uint64_t header = v2_get(p + 12, 4), count = v2_get(p + 16, 4), entry = v2_get(p + 20, 4);
        file_flags = static_cast<std::uint32_t>(v2_get(p + 40, 4));
        if (header < 64 || entry < 96 || count > 4096 || header + count * entry > n) return false;
        sections.clear();
        for (std::uint64_t j = 0; j < count; ++j) {
            const unsigned char* e = p + header + j * entry;
            V2Section s;
            s.name.assign(reinterpret_cast<const char*>(e), strnlen(reinterpret_cast<const char*>(e), 32));
            s.type = static_cast<std::uint32_t>(v2_get(e + 32, 4));
            s.flags = static_cast<std::uint32_t>(v2_get(e + 36, 4));
            const std::uint64_t off = v2_get(e + 40, 8), len = v2_get(e + 48, 8);
            s.dtype = static_cast<std::uint32_t>(v2_get(e + 60, 4));
            s.rows = v2_get(e + 64, 8);
            s.cols = v2_get(e + 72, 8);
            s.stride = v2_get(e + 80, 8);
            if (off < n) s.bytes.assign(p + off, p + off + (len < n - off ? len : n - off));
            sections.push_back(std::move(s));
        }
        return true;
    }
    bool parse(const std::vector<unsigned char>& b) { return parse(b.data(), b.size()); }

    V2Section* find(const std::string& name) {
        for (auto& s : sections)
            if (s.name == name) return &s;
        return nullptr;
    }

    std::vector<unsigned char> bytes() const {
        std::vector<unsigned char> out;
        const std::uint64_t dir_end = 64 + 96 * std::uint64_t(sections.size());
        std::vector<std::uint64_t> offs;
        std::uint64_t pos = (dir_end + 63) / 64 * 64, end = pos;
        for (const auto& s : sections) {
            const std::uint64_t off = s.offset ? s.offset : pos;
            offs.push_back(off);
            if (!s.offset) {
                end = off + s.bytes.size();
                pos = (end + 63) / 64 * 64;
            }
        }
        out.insert(out.end(), {'S', 'I', 'M', 'D', 'M', 'F', 'M', 'D'});
        v2_put(out, version, 4);
        v2_put(out, 64, 4);
        v2_put(out, sections.size(), 4);
        v2_put(out, 96, 4);
        v2_put(out, 64, 8);
        v2_put(out, end, 8);
        v2_put(out, file_flags, 4);
        out.resize(64, 0);
        for (std::size_t j = 0; j < sections.size(); ++j) {
            const auto& s = sections[j];
            std::vector<unsigned char> name(32, 0);
            std::memcpy(name.data(), s.name.data(), s.name.size() < 31 ? s.name.size() : 31);
            out.insert(out.end(), name.begin(), name.end());
            v2_put(out, s.type, 4);
            v2_put(out, s.flags, 4);
            v2_put(out, offs[j], 8);
            v2_put(out, s.length ? s.length : s.bytes.size(), 8);
            v2_put(out, s.crc_set ? s.crc : v2_crc32c(s.bytes.data(), s.bytes.size()), 4);
            v2_put(out, s.dtype, 4);
            v2_put(out, s.rows, 8);
            v2_put(out, s.cols, 8);
            v2_put(out, s.stride, 8);
            v2_put(out, 0, 8);
        }
        out.resize(end, 0);
        for (std::size_t j = 0; j < sections.size(); ++j) {
            const auto& s = sections[j];
            if (s.offset) continue;
            std::memcpy(out.data() + offs[j], s.bytes.data(), s.bytes.size());
        }
        fix_header_crc(out);
        return out;
    }

    // Recomputes the header CRC of v2 bytes in place (no-op when the directory is not inside them).
    static void fix_header_crc(std::vector<unsigned char>& b) {
        if (b.size() < 64) return;
        const std::uint64_t header = v2_get(b.data() + 12, 4), count = v2_get(b.data() + 16, 4),
                            entry = v2_get(b.data() + 20, 4);
        if (header < 64 || header > 4096 || entry > 4096 || count > 4096 || header + count * entry > b.size()) return;
        std::uint32_t crc = v2_crc32c(b.data(), 60);
        crc = v2_crc32c(b.data() + 64, header + count * entry - 64, crc);
        v2_set(b.data() + 60, crc, 4);
    }

    // Recomputes every CRC of v2 bytes in place where the sections lie inside the file (the fuzzer's
    // "as if written by a buggy writer" variant).
    static void fix_all_crcs(std::vector<unsigned char>& b) {
        if (b.size() < 64) return;
        const std::uint64_t header = v2_get(b.data() + 12, 4), count = v2_get(b.data() + 16, 4),
                            entry = v2_get(b.data() + 20, 4);
        if (header < 64 || header > 4096 || entry < 96 || entry > 4096 || count > 4096 ||
            header + count * entry > b.size())
            return;
        for (std::uint64_t j = 0; j < count; ++j) {
            unsigned char* e = b.data() + header + j * entry;
            const std::uint64_t off = v2_get(e + 40, 8), len = v2_get(e + 48, 8);
            if (off <= b.size() && len <= b.size() - off) v2_set(e + 56, v2_crc32c(b.data() + off, len), 4);
        }
        fix_header_crc(b);
    }
};

}  // namespace simdmf_test
