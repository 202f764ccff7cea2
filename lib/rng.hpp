// Deterministic random numbers: the same seed gives the same stream on every platform and compiler
// (no std:: distributions, whose output is implementation-defined).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace simdmf {

inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna), seeded through splitmix64.
class Rng {
public:
    explicit Rng(std::uint64_t seed = 0) {
        std::uint64_t s = seed;
        for (auto& w : s_) w = splitmix64(s);
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, bias < 2^-32 for n < 2^32).
    std::uint64_t below(std::uint64_t n) {
        return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
    }
    // Standard normal (Box-Muller; one value per call for simplicity of the stream).
    double normal() {
        double u1 = uniform();
        double u2 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    // Standard normal by the ziggurat method (Marsaglia & Tsang 2000; 256 layers, one 64-bit draw
    // giving the layer, the sign and the abscissa, as in Doornik 2005): 99% of draws cost one next(), a
    // table lookup, a multiply and a compare; the wedges and the tail beyond r use exp / log. About 3x
    // faster than normal() (the factor initialisation's generator); a different stream from normal().
    double normal_ziggurat() {
        const Ziggurat& z = ziggurat();
        const std::uint64_t b = next();
        const unsigned i = static_cast<unsigned>(b & 255);
        const double sign = (b & 256) ? -1.0 : 1.0;
        const double u = static_cast<double>(b >> 11) * 0x1.0p-53;  // [0, 1)
        if (u < z.ratio[i]) return sign * u * z.x[i];  // inside layer i's rectangle under the curve
        return ziggurat_rest(z, b, u);
    }
    // out[j] = float(normal_ziggurat() * sd) for j < n, drawn in that order: the same values as that loop
    // (the same stream), about 3x faster (the sign is a bit flip, not a branch; the table is looked up
    // once). The factor initialisation's generator.
    void fill_normal(float* out, std::size_t n, double sd) {
        const Ziggurat& z = ziggurat();
        for (std::size_t j = 0; j < n; ++j) {
            const std::uint64_t b = next();
            const unsigned i = static_cast<unsigned>(b & 255);
            const double u = static_cast<double>(b >> 11) * 0x1.0p-53;
            double x;
            if (u < z.ratio[i]) [[likely]] {
                // sign * u * x[i] of normal_ziggurat(): the product's sign bit set from bit 8 of the draw.
                std::uint64_t bits;
                const double m = u * z.x[i];
                std::memcpy(&bits, &m, 8);
                bits ^= (b & 256) << 55;
                std::memcpy(&x, &bits, 8);
            } else {
                x = ziggurat_rest(z, b, u);
            }
            out[j] = static_cast<float>(x * sd);
        }
    }
    // Fisher-Yates shuffle of [first, first+n).
    template <class T>
    void shuffle(T* first, std::size_t n) {
        for (std::size_t i = n; i > 1; --i) std::swap(first[i - 1], first[below(i)]);
    }

private:
    // Layer i (1..255) is the rectangle [0, x[i]] x [f(x[i]), f(x[i + 1])], f(x) = exp(-x^2 / 2); layer 0
    // is [0, x[0]] x [0, f(r)] with x[0] = v / f(r), its part beyond r standing for the tail. Every layer
    // has area v.
    struct Ziggurat {
        static constexpr double r = 3.6541528853610088, v = 0.00492867323399;
        double x[257], f[257], ratio[256];
        Ziggurat() {
            x[0] = v / std::exp(-0.5 * r * r);
            x[1] = r;
            for (int i = 1; i < 255; ++i) x[i + 1] = std::sqrt(-2.0 * std::log(v / x[i] + std::exp(-0.5 * x[i] * x[i])));
            x[256] = 0.0;
            for (int i = 0; i <= 256; ++i) f[i] = std::exp(-0.5 * x[i] * x[i]);
            for (int i = 0; i < 256; ++i) ratio[i] = x[i + 1] / x[i];
        }
    };
    static const Ziggurat& ziggurat() {
        static const Ziggurat z;
        return z;
    }
    // The rest of a ziggurat draw whose first word b (abscissa u) fell outside its layer's rectangle:
    // the tail or the wedge, else a fresh draw.
    double ziggurat_rest(const Ziggurat& z, std::uint64_t b, double u) {
        const unsigned i = static_cast<unsigned>(b & 255);
        const double sign = (b & 256) ? -1.0 : 1.0;
        if (i == 0) {  // the tail beyond r (Marsaglia 1964)
            double a, c;
            do {
                a = -std::log(1.0 - uniform()) / Ziggurat::r;
                c = -std::log(1.0 - uniform());
            } while (c + c < a * a);
            return sign * (Ziggurat::r + a);
        }
        const double x = u * z.x[i];  // in the wedge between x[i + 1] and x[i]
        if (z.f[i] + uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-0.5 * x * x)) return sign * x;
        return normal_ziggurat();
    }
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

}  // namespace simdmf
