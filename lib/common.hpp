// Internal basics shared by the core: the error type and an aligned float buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <cmath>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "simdmf/simdmf.h"

namespace simdmf {

// Every failure inside the core is an Error carrying the C status it maps to. The C ABI catches it
// (and std::bad_alloc, and anything else) at the boundary.
class Error : public std::runtime_error {
public:
    Error(simdmf_status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    simdmf_status status() const noexcept { return status_; }

private:
    simdmf_status status_;
};

[[noreturn]] inline void fail(simdmf_status status, const std::string& message) {
    throw Error(status, message);
}

// Text from input (ids, fields, paths) made safe for a message: printable ASCII and UTF-8 lead/
// continuation bytes are kept, other bytes (NUL, ESC, BEL, ...) become \xHH, a backslash is doubled,
// and text beyond max bytes is cut with "...". Quotes it ('...') when quote is set.
inline std::string escape_bytes(std::string_view s, bool quote = true, std::size_t max = 64) {
    static const char hex[] = "0123456789abcdef";
    std::string q;
    q.reserve(s.size() < max ? s.size() + 2 : max + 5);
    if (quote) q.push_back('\'');
    for (std::size_t k = 0; k < s.size() && k < max; ++k) {
        auto c = static_cast<unsigned char>(s[k]);
        if (c == '\\') {
            q += "\\\\";
        } else if (c < 0x20 || c == 0x7f) {
            q += "\\x";
            q.push_back(hex[c >> 4]);
            q.push_back(hex[c & 15]);
        } else {
            q.push_back(static_cast<char>(c));
        }
    }
    if (s.size() > max) q += "...";
    if (quote) q.push_back('\'');
    return q;
}

// Index of the first NaN or infinity in p[0, n), or n. Blocks of 256 without an early exit, so the
// test vectorises; the exact index is searched only in a block that has one.
inline std::size_t first_non_finite(const float* p, std::size_t n) {
    constexpr std::uint32_t exp = 0x7f800000u;
    for (std::size_t b = 0; b < n; b += 256) {
        const std::size_t e = std::min(n, b + 256);
        std::uint32_t bad = 0;
        for (std::size_t i = b; i < e; ++i) {
            std::uint32_t u;
            std::memcpy(&u, p + i, 4);
            bad |= static_cast<std::uint32_t>((u & exp) == exp);
        }
        if (bad)
            for (std::size_t i = b; i < e; ++i)
                if (!std::isfinite(p[i])) return i;
    }
    return n;
}

// 64-byte aligned allocator: model rows start on a cache line.
template <class T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::size_t alignment = 64;
    AlignedAllocator() noexcept = default;
    template <class U>
    AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        if (n > (SIZE_MAX - alignment) / sizeof(T)) throw std::bad_alloc();
        std::size_t bytes = (n * sizeof(T) + alignment - 1) / alignment * alignment;
        void* p = std::aligned_alloc(alignment, bytes == 0 ? alignment : bytes);
        if (!p) throw std::bad_alloc();
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t) noexcept { std::free(p); }
    template <class U>
    bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};

using AlignedFloats = std::vector<float, AlignedAllocator<float>>;

// Row stride in floats for k factors: k rounded up to 16 (one AVX-512 vector, one cache line).
inline std::uint32_t padded_stride(std::uint32_t k) { return (k + 15u) / 16u * 16u; }

}  // namespace simdmf
