// Kernel tests: every level compiled in and supported here agrees with the scalar table (itself checked
// against double-precision textbook formulas), on lengths with and without tails, aligned and not.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernels/kernels.hpp"

using namespace simdmf::kernels;

namespace {

constexpr Level kLevels[] = {Level::scalar, Level::sse2,   Level::sse4_2,
                             Level::avx2,   Level::avx512, Level::neon};
// 8, 24, 40, 120, 136: multiples of 8 that are not of 16 (AVX-512's whole vectors plus a half).
constexpr std::size_t kSizes[] = {0, 1, 3, 8, 16, 17, 24, 31, 32, 40, 48, 64, 96, 100, 120, 128, 136, 256, 272};
constexpr std::size_t kOffsets[] = {0, 1, 3};  // in floats from a 64-byte boundary
constexpr float kRel = 1e-5f;                   // relative to sum of |terms|
constexpr float kGuard = -12345.0f;

// The CPU flags the kernel reports (x86 "flags", AArch64 "Features"), as Linux shows them.
std::set<std::string> cpu_flags() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    std::set<std::string> flags;
    while (std::getline(in, line)) {
        if (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0) {
            std::istringstream words(line.substr(line.find(':') + 1));
            std::string w;
            while (words >> w) flags.insert(w);
            break;
        }
    }
    return flags;
}

[[maybe_unused]] bool has_all(const std::set<std::string>& flags, std::initializer_list<const char*> names) {
    for (const char* n : names)
        if (!flags.count(n)) return false;
    return true;
}

std::vector<const Table*> supported_tables() {
    std::vector<const Table*> out;
    for (Level l : kLevels)
        if (const Table* t = table_for(l)) out.push_back(t);
    return out;
}

const Table& scalar() {
    const Table* t = table_for(Level::scalar);
    REQUIRE(t != nullptr);
    return *t;
}

// A 64-byte aligned buffer with guard values after the used part, to use at a chosen misalignment.
struct Buf {
    std::vector<float> store;
    float* data;
    std::size_t n;
    Buf(std::size_t n_, std::size_t offset) : store(16 + 16 + offset + n_ + 16, kGuard), n(n_) {
        auto addr = reinterpret_cast<std::uintptr_t>(store.data() + 16);
        std::size_t skip = ((64 - addr % 64) % 64) / sizeof(float);
        data = store.data() + 16 + skip + offset;
    }
    void fill(std::mt19937& g, float lo, float hi) {
        std::uniform_real_distribution<float> d(lo, hi);
        for (std::size_t j = 0; j < n; ++j) data[j] = d(g);
    }
    bool guards_intact() const {
        for (std::size_t j = n; j < n + 16; ++j)
            if (data[j] != kGuard) return false;
        return data[-1] == kGuard;
    }
    float& operator[](std::size_t j) { return data[j]; }
    float operator[](std::size_t j) const { return data[j]; }
};

double abs_dot(const float* a, const float* b, std::size_t n) {
    double s = 0;
    for (std::size_t j = 0; j < n; ++j) s += std::fabs(double(a[j]) * b[j]);
    return s;
}

double exact_dot(const float* a, const float* b, std::size_t n) {
    double s = 0;
    for (std::size_t j = 0; j < n; ++j) s += double(a[j]) * b[j];
    return s;
}

double ref_sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

std::string where(const Table& t, std::size_t n, std::size_t off) {
    return std::string(t.name) + " n=" + std::to_string(n) + " offset=" + std::to_string(off);
}

}  // namespace

TEST_CASE("kernels: table_for returns every level this machine supports") {
    [[maybe_unused]] const auto flags = cpu_flags();
    REQUIRE(table_for(Level::scalar) != nullptr);
#if defined(__x86_64__)
    CHECK(table_for(Level::sse2) != nullptr);
    if (has_all(flags, {"sse4_2", "popcnt"})) CHECK(table_for(Level::sse4_2) != nullptr);
    if (has_all(flags, {"avx2", "fma"})) CHECK(table_for(Level::avx2) != nullptr);
    if (has_all(flags, {"avx512f", "avx512cd", "avx512dq", "avx512bw"}))
        CHECK(table_for(Level::avx512) != nullptr);
    CHECK(table_for(Level::neon) == nullptr);
#elif defined(__aarch64__)
    CHECK(table_for(Level::neon) != nullptr);
    CHECK(table_for(Level::avx2) == nullptr);
    CHECK(table_for(Level::sse2) == nullptr);
#endif
    for (Level l : kLevels) {
        const Table* t = table_for(l);
        if (t == nullptr) continue;
        CAPTURE(level_name(l));
        CHECK(t->level == l);
        CHECK(std::string(t->name) == level_name(l));
        CHECK((t->dot != nullptr));
        CHECK((t->sgd_squared != nullptr));
        CHECK((t->sgd_logistic != nullptr));
        CHECK((t->sgd_adagrad != nullptr));
        CHECK((t->axpy != nullptr));
        CHECK((t->dot_rows != nullptr));
        CHECK((t->sigmoid != nullptr));
    }
    MESSAGE("levels supported here: " << [] {
        std::string s;
        for (const Table* t : supported_tables()) s += std::string(t->name) + " ";
        return s;
    }());
}

TEST_CASE("kernels: best_supported matches /proc/cpuinfo") {
    [[maybe_unused]] const auto flags = cpu_flags();
    const Level best = best_supported();
    CHECK(table_for(best) != nullptr);
    for (Level l : kLevels)
        if (table_for(l) != nullptr) CHECK(static_cast<int>(l) <= static_cast<int>(best));
#if defined(__x86_64__)
    // (A build with the option simd_levels may leave a level out: then the next one compiled in.)
    if (has_all(flags, {"avx512f", "avx512cd", "avx512dq", "avx512bw"}) && table_for(Level::avx512))
        CHECK(best == Level::avx512);
    else if (has_all(flags, {"avx2", "fma"}) && table_for(Level::avx2))
        CHECK(best == Level::avx2);
#elif defined(__aarch64__)
    CHECK(best == Level::neon);
#endif
}

TEST_CASE("kernels: dot agrees with scalar and with a double reference") {
    std::mt19937 g(1);
    for (const Table* t : supported_tables())
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets) {
                Buf a(n, off), b(n, (off * 5) % 7);
                a.fill(g, -1, 1);
                b.fill(g, -1, 1);
                const double tol = kRel * abs_dot(a.data, b.data, n) + 1e-30;
                const float got = t->dot(a.data, b.data, n);
                CAPTURE(where(*t, n, off));
                CHECK(std::fabs(got - scalar().dot(a.data, b.data, n)) <= tol);
                CHECK(std::fabs(got - exact_dot(a.data, b.data, n)) <= tol);
                CHECK(a.guards_intact());
            }
}

TEST_CASE("kernels: axpy agrees with scalar") {
    std::mt19937 g(2);
    for (const Table* t : supported_tables())
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets) {
                Buf x(n, off), y(n, off + 1), y_ref(n, 0);
                x.fill(g, -1, 1);
                y.fill(g, -1, 1);
                std::copy(y.data, y.data + n, y_ref.data);
                const float a = 0.37f;
                t->axpy(n, a, x.data, y.data);
                scalar().axpy(n, a, x.data, y_ref.data);
                CAPTURE(where(*t, n, off));
                for (std::size_t j = 0; j < n; ++j)
                    CHECK(std::fabs(y[j] - y_ref[j]) <= 1e-6f * (std::fabs(y_ref[j]) + std::fabs(a * x[j])) + 1e-30f);
                CHECK(y.guards_intact());
            }
}

TEST_CASE("kernels: crc32c is the Castagnoli CRC at every level, bit for bit the scalar tables") {
    // The check value of CRC-32C: "123456789" -> 0xE3069283 (with the inversions fileio adds).
    const unsigned char check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    std::mt19937 g(11);
    std::vector<unsigned char> bytes(1000 + 7);
    for (auto& b : bytes) b = static_cast<unsigned char>(g());
    for (const Table* t : supported_tables()) {
        CAPTURE(t->name);
        CHECK(~t->crc32c(~0u, check, sizeof check) == 0xE3069283u);
        CHECK(t->crc32c(0x1234u, bytes.data(), 0) == 0x1234u);
        for (std::size_t n : {1u, 7u, 8u, 9u, 63u, 64u, 1000u})
            for (std::size_t off : {0u, 1u, 3u, 7u}) {
                CAPTURE(n);
                CAPTURE(off);
                CHECK(t->crc32c(~0u, bytes.data() + off, n) == scalar().crc32c(~0u, bytes.data() + off, n));
            }
        // Chaining: the register after a then b is the register of a followed by b.
        CHECK(t->crc32c(t->crc32c(~0u, bytes.data(), 13), bytes.data() + 13, 500) ==
              scalar().crc32c(~0u, bytes.data(), 513));
    }
}

TEST_CASE("kernels: dot_rows agrees with scalar") {
    std::mt19937 g(3);
    for (const Table* t : supported_tables())
        for (std::size_t n : kSizes)
            for (std::size_t pad : {0, 3, 16})
                for (std::size_t n_rows : {0, 1, 3, 4, 5, 9}) {
                    const std::size_t stride = n + pad;
                    Buf rows(n_rows * stride, 1), x(n, 2), out(n_rows, 0), out_ref(n_rows, 0);
                    rows.fill(g, -1, 1);
                    x.fill(g, -1, 1);
                    t->dot_rows(rows.data, n_rows, stride, x.data, n, out.data);
                    scalar().dot_rows(rows.data, n_rows, stride, x.data, n, out_ref.data);
                    CAPTURE(where(*t, n, 1));
                    CAPTURE(n_rows);
                    CAPTURE(stride);
                    for (std::size_t r = 0; r < n_rows; ++r) {
                        const float* row = rows.data + r * stride;
                        const double tol = kRel * abs_dot(row, x.data, n) + 1e-30;
                        CHECK(std::fabs(out[r] - out_ref[r]) <= tol);
                        CHECK(std::fabs(out[r] - exact_dot(row, x.data, n)) <= tol);
                    }
                    CHECK(out.guards_intact());
                }
}

namespace {

// The textbook rule in double precision: e = target - f(offset + p.q);
// p += lr_p (e q - l2_p p); q += lr_q (e p_old - l2_q q).
struct Step {
    float offset, target, lr_p, lr_q, l2_p, l2_q;
};

// fn_t: the function under test; nullptr for the table's sgd_squared / sgd_logistic.
void check_sgd(const Table& t, bool logistic, std::size_t n, std::size_t off, const Step& s,
               std::mt19937& g, SgdFn fn_t = nullptr) {
    Buf p(n, off), q(n, (off + 2) % 5), p0(n, 0), q0(n, 0);
    p.fill(g, -0.5f, 0.5f);
    q.fill(g, -0.5f, 0.5f);
    std::copy(p.data, p.data + n, p0.data);
    std::copy(q.data, q.data + n, q0.data);

    // Double-precision textbook reference.
    const double z = s.offset + exact_dot(p.data, q.data, n);
    const double e_ref = s.target - (logistic ? ref_sigmoid(z) : z);
    // Error of e: float rounding of the dot (and of sigmoid: slope <= 1/4, plus its own 1e-6).
    const double tol_e =
        kRel * (abs_dot(p.data, q.data, n) + std::fabs(s.offset) + std::fabs(s.target)) +
        (logistic ? 2e-6 : 0.0);

    // The scalar table, then the level under test, from the same rows.
    Buf ps(n, 0), qs(n, 0);
    std::copy(p.data, p.data + n, ps.data);
    std::copy(q.data, q.data + n, qs.data);
    auto fn_s = logistic ? scalar().sgd_logistic : scalar().sgd_squared;
    if (fn_t == nullptr) fn_t = logistic ? t.sgd_logistic : t.sgd_squared;
    const float e_s = fn_s(ps.data, qs.data, n, s.offset, s.target, s.lr_p, s.lr_q, s.l2_p, s.l2_q);
    const float e_t = fn_t(p.data, q.data, n, s.offset, s.target, s.lr_p, s.lr_q, s.l2_p, s.l2_q);

    CAPTURE(where(t, n, off));
    CAPTURE(logistic);
    REQUIRE(std::isfinite(e_t));
    CHECK(std::fabs(e_t - e_ref) <= tol_e);
    CHECK(std::fabs(e_s - e_ref) <= tol_e);
    CHECK(std::fabs(e_t - e_s) <= 2 * tol_e);
    for (std::size_t j = 0; j < n; ++j) {
        const double pj = p0[j], qj = q0[j];
        const double p_ref = pj + s.lr_p * (e_ref * qj - s.l2_p * pj);
        const double q_ref = qj + s.lr_q * (e_ref * pj - s.l2_q * qj);
        // Rounding of the update itself plus the propagated error of e.
        const double tol_p = 4e-7 * (std::fabs(pj) + s.lr_p * std::fabs(e_ref * qj) + s.lr_p * s.l2_p * std::fabs(pj)) +
                             s.lr_p * std::fabs(qj) * 2 * tol_e + 1e-30;
        const double tol_q = 4e-7 * (std::fabs(qj) + s.lr_q * std::fabs(e_ref * pj) + s.lr_q * s.l2_q * std::fabs(qj)) +
                             s.lr_q * std::fabs(pj) * 2 * tol_e + 1e-30;
        CAPTURE(j);
        CHECK(std::fabs(p[j] - p_ref) <= tol_p);
        CHECK(std::fabs(q[j] - q_ref) <= tol_q);
        CHECK(std::fabs(p[j] - ps[j]) <= 2 * tol_p);
        CHECK(std::fabs(q[j] - qs[j]) <= 2 * tol_q);
    }
    CHECK(p.guards_intact());
    CHECK(q.guards_intact());
}

}  // namespace

TEST_CASE("kernels: fused sgd_squared follows the textbook rule") {
    std::mt19937 g(4);
    std::uniform_real_distribution<float> r(1.0f, 5.0f);
    for (const Table* t : supported_tables())
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets)
                check_sgd(*t, false, n, off, Step{0.3f, r(g), 0.05f, 0.03f, 0.02f, 0.07f}, g);
}

TEST_CASE("kernels: fused sgd_logistic follows the textbook rule") {
    std::mt19937 g(5);
    for (const Table* t : supported_tables())
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets)
                for (float y : {0.0f, 1.0f})
                    check_sgd(*t, true, n, off, Step{-0.2f, y, 0.05f, 0.03f, 0.02f, 0.07f}, g);
}

TEST_CASE("kernels: sgd_length rounds k up to a multiple of 8") {
    CHECK(sgd_length(0) == 0);
    CHECK(sgd_length(1) == 8);
    CHECK(sgd_length(8) == 8);
    CHECK(sgd_length(9) == 16);
    CHECK(sgd_length(17) == 24);
    CHECK(sgd_length(128) == 128);
    for (std::size_t k = 1; k <= 300; ++k) {
        CHECK(sgd_length(k) % 8 == 0);
        CHECK(sgd_length(k) >= k);
        CHECK(sgd_length(k) < k + 8);
        CHECK(sgd_length(k) <= (k + 15) / 16 * 16);  // within the model's padded stride
    }
}

// The functions sgd_for_length hands out (register paths specialised for one length) compute what
// the general entries compute, for their own length.
TEST_CASE("kernels: sgd_for_length gives fused steps that follow the textbook rule") {
    std::mt19937 g(8);
    std::uniform_real_distribution<float> r(1.0f, 5.0f);
    for (const Table* t : supported_tables()) {
        REQUIRE((t->sgd_for_length != nullptr));
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets) {
                CAPTURE(where(*t, n, off));
                const SgdFn sq = t->sgd_for_length(n, 0), lg = t->sgd_for_length(n, 1);
                REQUIRE((sq != nullptr));
                REQUIRE((lg != nullptr));
                check_sgd(*t, false, n, off, Step{0.3f, r(g), 0.05f, 0.03f, 0.02f, 0.07f}, g, sq);
                for (float y : {0.0f, 1.0f})
                    check_sgd(*t, true, n, off, Step{-0.2f, y, 0.05f, 0.03f, 0.02f, 0.07f}, g, lg);
            }
    }
}

// What the trainer does: rows of k factors zero-padded to a stride of 16, the steps at sgd_length(k).
// The padding stays exactly zero, and the factors agree with the scalar table on the whole stride.
TEST_CASE("kernels: steps at sgd_length(k) keep the row padding zero") {
    std::mt19937 g(9);
    for (const Table* t : supported_tables())
        for (std::size_t k : {1, 3, 8, 9, 16, 20, 24, 33, 64, 100, 120, 128, 136, 200}) {
            const std::size_t stride = (k + 15) / 16 * 16, n = sgd_length(k);
            for (int logistic : {0, 1}) {
                CAPTURE(where(*t, k, 0));
                CAPTURE(logistic);
                Buf p(stride, 0), q(stride, 0), ps(stride, 0), qs(stride, 0);
                std::fill(p.data, p.data + stride, 0.0f);
                std::fill(q.data, q.data + stride, 0.0f);
                std::uniform_real_distribution<float> d(-0.5f, 0.5f);
                for (std::size_t j = 0; j < k; ++j) {
                    p[j] = d(g);
                    q[j] = d(g);
                }
                std::copy(p.data, p.data + stride, ps.data);
                std::copy(q.data, q.data + stride, qs.data);
                const SgdFn fn = t->sgd_for_length(n, logistic);
                const auto fn_s = logistic ? scalar().sgd_logistic : scalar().sgd_squared;
                const float target = logistic ? 1.0f : 3.5f;
                for (int step = 0; step < 3; ++step) {
                    const float e_t = fn(p.data, q.data, n, 0.1f, target, 0.05f, 0.03f, 0.02f, 0.07f);
                    const float e_s = fn_s(ps.data, qs.data, stride, 0.1f, target, 0.05f, 0.03f, 0.02f, 0.07f);
                    CHECK(std::fabs(e_t - e_s) <= 1e-5f * (std::fabs(e_s) + 1.0f));
                }
                for (std::size_t j = k; j < stride; ++j) {
                    CAPTURE(j);
                    CHECK(p[j] == 0.0f);
                    CHECK(q[j] == 0.0f);
                }
                for (std::size_t j = 0; j < k; ++j) {
                    CAPTURE(j);
                    CHECK(std::fabs(p[j] - ps[j]) <= 1e-5f * (std::fabs(ps[j]) + 0.1f));
                    CHECK(std::fabs(q[j] - qs[j]) <= 1e-5f * (std::fabs(qs[j]) + 0.1f));
                }
                CHECK(p.guards_intact());
                CHECK(q.guards_intact());
            }
        }
}

TEST_CASE("kernels: fused sgd_adagrad follows the textbook rule and returns the gradient norms") {
    std::mt19937 g(6);
    std::uniform_real_distribution<float> r(1.0f, 5.0f);
    for (const Table* t : supported_tables()) {
        REQUIRE((t->sgd_adagrad != nullptr));
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets)
                for (int logistic : {0, 1}) {
                    const Step s{logistic ? -0.2f : 0.3f, logistic ? float(n % 2) : r(g), 0.05f, 0.03f, 0.02f, 0.07f};
                    Buf p(n, off), q(n, (off + 2) % 5), ps(n, 0), qs(n, 0);
                    p.fill(g, -0.5f, 0.5f);
                    q.fill(g, -0.5f, 0.5f);
                    std::vector<double> p0(p.data, p.data + n), q0(q.data, q.data + n);
                    std::copy(p.data, p.data + n, ps.data);
                    std::copy(q.data, q.data + n, qs.data);
                    const double z = s.offset + exact_dot(p.data, q.data, n);
                    const double e_ref = s.target - (logistic ? ref_sigmoid(z) : z);
                    const double tol_e = kRel * (abs_dot(p.data, q.data, n) + std::fabs(s.offset) + std::fabs(s.target)) +
                                         (logistic ? 2e-6 : 0.0);
                    float g2t[2] = {-1, -1}, g2s[2] = {-1, -1};
                    const float e_t = t->sgd_adagrad(p.data, q.data, n, s.offset, s.target, s.lr_p, s.lr_q, s.l2_p,
                                                     s.l2_q, logistic, g2t);
                    const float e_s = scalar().sgd_adagrad(ps.data, qs.data, n, s.offset, s.target, s.lr_p, s.lr_q,
                                                           s.l2_p, s.l2_q, logistic, g2s);
                    CAPTURE(where(*t, n, off));
                    CAPTURE(logistic);
                    CHECK(std::fabs(e_t - e_ref) <= tol_e);
                    CHECK(std::fabs(e_t - e_s) <= 2 * tol_e);
                    double gp2 = 0, gq2 = 0, sum_abs = 0;
                    for (std::size_t j = 0; j < n; ++j) {
                        const double gp = e_ref * q0[j] - s.l2_p * p0[j], gq = e_ref * p0[j] - s.l2_q * q0[j];
                        gp2 += gp * gp;
                        gq2 += gq * gq;
                        sum_abs += std::fabs(q0[j]) + std::fabs(p0[j]);
                        const double tol_p = 4e-7 * (std::fabs(p0[j]) + s.lr_p * std::fabs(gp)) +
                                             s.lr_p * std::fabs(q0[j]) * 2 * tol_e + 1e-30;
                        const double tol_q = 4e-7 * (std::fabs(q0[j]) + s.lr_q * std::fabs(gq)) +
                                             s.lr_q * std::fabs(p0[j]) * 2 * tol_e + 1e-30;
                        CAPTURE(j);
                        CHECK(std::fabs(p[j] - (p0[j] + s.lr_p * gp)) <= tol_p);
                        CHECK(std::fabs(q[j] - (q0[j] + s.lr_q * gq)) <= tol_q);
                        CHECK(std::fabs(p[j] - ps[j]) <= 2 * tol_p);
                        CHECK(std::fabs(q[j] - qs[j]) <= 2 * tol_q);
                    }
                    // Norms: float sums of n squares (rel. ~n eps) plus the propagated error of e.
                    const double tol_g = 1e-5 * (gp2 + gq2) + 4 * tol_e * sum_abs * (std::fabs(e_ref) + 1) + 1e-12;
                    CHECK(std::fabs(g2t[0] - gp2) <= tol_g);
                    CHECK(std::fabs(g2t[1] - gq2) <= tol_g);
                    CHECK(std::fabs(g2s[0] - gp2) <= tol_g);
                    CHECK(std::fabs(g2s[1] - gq2) <= tol_g);
                    CHECK(p.guards_intact());
                    CHECK(q.guards_intact());
                }
    }
}

// The pairs (Table::sgd_pair_for_length, adagrad_pair_for_length): on four distinct rows, each of the
// two steps is bit for bit the single step of that length (which the tests above hold to the
// textbook rule), whatever the two ratings' targets, offsets and rates; the guards stay intact.
namespace {
bool same_floats(const float* a, const float* b, std::size_t n) { return n == 0 || std::memcmp(a, b, n * sizeof(float)) == 0; }
}  // namespace

TEST_CASE("kernels: sgd_pair_for_length gives each rating bit for bit the single step") {
    std::mt19937 g(12);
    std::uniform_real_distribution<float> r(1.0f, 5.0f), o(-0.5f, 0.5f);
    for (const Table* t : supported_tables()) {
        REQUIRE((t->sgd_pair_for_length != nullptr));
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets)
                for (int logistic : {0, 1}) {
                    CAPTURE(where(*t, n, off));
                    CAPTURE(logistic);
                    const SgdFn one = t->sgd_for_length(n, logistic);
                    const SgdPairFn two = t->sgd_pair_for_length(n, logistic);
                    REQUIRE((two != nullptr));
                    Buf p0(n, off), q0(n, (off + 1) % 4), p1(n, (off + 2) % 4), q1(n, (off + 3) % 4);
                    for (Buf* b : {&p0, &q0, &p1, &q1}) b->fill(g, -0.5f, 0.5f);
                    std::vector<float> rp0(p0.data, p0.data + n), rq0(q0.data, q0.data + n),
                        rp1(p1.data, p1.data + n), rq1(q1.data, q1.data + n);
                    const float t0 = logistic ? 1.0f : r(g), t1 = logistic ? 0.0f : r(g);
                    const float o0 = o(g), o1 = o(g);
                    for (int step = 0; step < 3; ++step) {  // on rows already updated, too
                        float e[2] = {-7.0f, -7.0f};
                        two(p0.data, q0.data, p1.data, q1.data, n, o0, t0, o1, t1, 0.05f, 0.03f, 0.02f, 0.07f, e);
                        const float e0 = one(rp0.data(), rq0.data(), n, o0, t0, 0.05f, 0.03f, 0.02f, 0.07f);
                        const float e1 = one(rp1.data(), rq1.data(), n, o1, t1, 0.05f, 0.03f, 0.02f, 0.07f);
                        CHECK(same_floats(&e[0], &e0, 1));
                        CHECK(same_floats(&e[1], &e1, 1));
                        CHECK(same_floats(p0.data, rp0.data(), n));
                        CHECK(same_floats(q0.data, rq0.data(), n));
                        CHECK(same_floats(p1.data, rp1.data(), n));
                        CHECK(same_floats(q1.data, rq1.data(), n));
                    }
                    for (Buf* b : {&p0, &q0, &p1, &q1}) CHECK(b->guards_intact());
                }
    }
}

TEST_CASE("kernels: adagrad_for_length is sgd_adagrad; adagrad_pair_for_length is it twice, bit for bit") {
    std::mt19937 g(13);
    std::uniform_real_distribution<float> r(1.0f, 5.0f), o(-0.5f, 0.5f), lr(0.01f, 0.1f);
    for (const Table* t : supported_tables()) {
        REQUIRE((t->adagrad_for_length != nullptr));
        REQUIRE((t->adagrad_pair_for_length != nullptr));
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets)
                for (int logistic : {0, 1}) {
                    CAPTURE(where(*t, n, off));
                    CAPTURE(logistic);
                    const AdagradFn one = t->adagrad_for_length(n, logistic);
                    const AdagradPairFn two = t->adagrad_pair_for_length(n, logistic);
                    Buf p0(n, off), q0(n, (off + 1) % 4), p1(n, (off + 2) % 4), q1(n, (off + 3) % 4);
                    for (Buf* b : {&p0, &q0, &p1, &q1}) b->fill(g, -0.5f, 0.5f);
                    std::vector<float> rp0(p0.data, p0.data + n), rq0(q0.data, q0.data + n),
                        rp1(p1.data, p1.data + n), rq1(q1.data, q1.data + n), sp0 = rp0, sq0 = rq0;
                    const float a[8] = {o(g), logistic ? 1.0f : r(g), lr(g), lr(g),
                                        o(g), logistic ? 0.0f : r(g), lr(g), lr(g)};
                    float out[6], g0[2], g1[2], gs[2];
                    two(p0.data, q0.data, p1.data, q1.data, n, a, 0.02f, 0.07f, out);
                    const float e0 = one(rp0.data(), rq0.data(), n, a[0], a[1], a[2], a[3], 0.02f, 0.07f, g0);
                    const float e1 = one(rp1.data(), rq1.data(), n, a[4], a[5], a[6], a[7], 0.02f, 0.07f, g1);
                    const float es = t->sgd_adagrad(sp0.data(), sq0.data(), n, a[0], a[1], a[2], a[3], 0.02f, 0.07f,
                                                    logistic, gs);
                    CHECK(same_floats(&es, &e0, 1));
                    CHECK(same_floats(gs, g0, 2));
                    CHECK(same_floats(sp0.data(), rp0.data(), n));
                    CHECK(same_floats(sq0.data(), rq0.data(), n));
                    CHECK(same_floats(&out[0], &e0, 1));
                    CHECK(same_floats(&out[1], &e1, 1));
                    CHECK(same_floats(out + 2, g0, 2));
                    CHECK(same_floats(out + 4, g1, 2));
                    CHECK(same_floats(p0.data, rp0.data(), n));
                    CHECK(same_floats(q0.data, rq0.data(), n));
                    CHECK(same_floats(p1.data, rp1.data(), n));
                    CHECK(same_floats(q1.data, rq1.data(), n));
                    for (Buf* b : {&p0, &q0, &p1, &q1}) CHECK(b->guards_intact());
                }
    }
}

TEST_CASE("kernels: sgd_logistic stays finite at extreme predictions") {
    std::mt19937 g(6);
    for (const Table* t : supported_tables())
        for (std::size_t n : {8, 16, 17, 24, 64})
            for (float offset : {-1e30f, -88.0f, 88.0f, 1e30f})
                for (float y : {0.0f, 1.0f})
                    for (const SgdFn fn : {t->sgd_logistic, t->sgd_for_length(n, 1)}) {
                        Buf p(n, 0), q(n, 0);
                        p.fill(g, -0.5f, 0.5f);
                        q.fill(g, -0.5f, 0.5f);
                        const float e = fn(p.data, q.data, n, offset, y, 0.05f, 0.05f, 0.01f, 0.01f);
                        CAPTURE(where(*t, n, 0));
                        CAPTURE(offset);
                        CHECK(std::isfinite(e));
                        CHECK(std::fabs(e - (y - ref_sigmoid(offset))) <= 1e-6);
                        for (std::size_t j = 0; j < n; ++j) CHECK((std::isfinite(p[j]) && std::isfinite(q[j])));
                    }
}

// The fused logistic steps compute their sigmoid inline (not through the table's sigmoid). With p = q = 0
// the prediction is the offset exactly and the rows stay 0, so e = y - sigmoid(offset) shows that
// sigmoid itself: max abs error <= 1e-6 (as the table's sigmoid) on a grid over [-30, 30] step 1e-3, in
// every fused logistic step (sgd_logistic, sgd_for_length, sgd_adagrad) on the register paths and the
// general one; for z >= 17 exactly 1, for z <= -17 within 1e-7 of the true value and never negative,
// up to the infinities; NaN in, NaN out (as the scalar table).
TEST_CASE("kernels: the fused logistic steps' sigmoid: abs error <= 1e-6, saturation, NaN") {
    using Step1 = float (*)(const Table&, std::size_t, float*, float*, float z, float y);
    const Step1 kinds[] = {
        [](const Table& t, std::size_t n, float* p, float* q, float z, float y) {
            return t.sgd_logistic(p, q, n, z, y, 0.05f, 0.05f, 0.01f, 0.01f);
        },
        [](const Table& t, std::size_t n, float* p, float* q, float z, float y) {
            return t.sgd_for_length(n, 1)(p, q, n, z, y, 0.05f, 0.05f, 0.01f, 0.01f);
        },
        [](const Table& t, std::size_t n, float* p, float* q, float z, float y) {
            float g2[2];
            return t.sgd_adagrad(p, q, n, z, y, 0.05f, 0.05f, 0.01f, 0.01f, 1, g2);
        },
    };
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> grid;
    for (int j = -30000; j <= 30000; ++j) grid.push_back(static_cast<float>(1e-3 * j));
    for (const Table* t : supported_tables())
        for (std::size_t n : {8, 16, 17, 24, 64, 128, 136, 272})
            for (std::size_t kind = 0; kind < 3; ++kind) {
                CAPTURE(where(*t, n, 0));
                CAPTURE(kind);
                Buf p(n, 0), q(n, 0);
                std::fill(p.data, p.data + n, 0.0f);
                std::fill(q.data, q.data + n, 0.0f);
                double worst = 0;
                for (std::size_t j = 0; j < grid.size(); ++j) {
                    const float y = float(j % 2);
                    const float e = kinds[kind](*t, n, p.data, q.data, grid[j], y);
                    worst = std::max(worst, std::fabs(double(y - e) - ref_sigmoid(grid[j])));
                }
                if (n == 8 && kind == 1) MESSAGE(std::string(t->name) << " fused sigmoid max abs error " << worst);
                CHECK(worst <= 1e-6);
                for (float z : {17.0f, 20.0f, 40.0f, 87.0f, 88.0f, 88.7f, 100.0f, 1e30f, std::numeric_limits<float>::max(),
                                inf}) {
                    CAPTURE(z);
                    CHECK(kinds[kind](*t, n, p.data, q.data, z, 1.0f) == 0.0f);  // sigmoid(z) == 1 exactly
                    const float s = -kinds[kind](*t, n, p.data, q.data, -z, 0.0f);
                    CHECK(s >= 0.0f);  // 0, or close to the true tiny value
                    CHECK(std::fabs(s - ref_sigmoid(-z)) <= 1e-7);
                }
                for (std::size_t j = 0; j < n; ++j) CHECK((p[j] == 0.0f && q[j] == 0.0f));
                CHECK(std::isnan(kinds[kind](*t, n, p.data, q.data, std::numeric_limits<float>::quiet_NaN(), 1.0f)));
                CHECK(p.guards_intact());
                CHECK(q.guards_intact());
            }
}

TEST_CASE("kernels: sigmoid max abs error <= 1e-6 over [-30, 30] and at extremes") {
    // The grid: 600001 points over [-30, 30] (step 1e-4), processed as one row (tails included).
    const std::size_t n = 600001;
    std::vector<float> in(n), out(n);
    for (std::size_t j = 0; j < n; ++j) in[j] = static_cast<float>(-30.0 + 1e-4 * double(j));
    const float inf = std::numeric_limits<float>::infinity();
    const float fmax = std::numeric_limits<float>::max();
    const std::vector<float> extremes = {88.0f,  -88.0f,  88.7f,  -88.7f, 89.0f,   -89.0f, 100.0f,
                                         -100.0f, 1e30f,  -1e30f, fmax,   -fmax,   inf,    -inf,
                                         0.0f,   -0.0f,   1e-30f, -1e-30f, 1e-40f, -1e-40f, 103.0f, -104.0f};

    double worst_scalar = 0;
    for (float z : in) worst_scalar = std::max(worst_scalar, std::fabs(sigmoid(z) - ref_sigmoid(z)));
    for (float z : extremes) {
        CAPTURE(z);
        CHECK(std::isfinite(sigmoid(z)));
        CHECK(std::fabs(sigmoid(z) - ref_sigmoid(z)) <= 1e-6);
    }
    MESSAGE("simdmf::kernels::sigmoid max abs error " << worst_scalar);
    CHECK(worst_scalar <= 1e-6);

    for (const Table* t : supported_tables()) {
        CAPTURE(std::string(t->name));
        t->sigmoid(in.data(), out.data(), n);
        double worst = 0;
        for (std::size_t j = 0; j < n; ++j) worst = std::max(worst, std::fabs(out[j] - ref_sigmoid(in[j])));
        MESSAGE(std::string(t->name) << " sigmoid max abs error " << worst);
        CHECK(worst <= 1e-6);

        // Extremes, in place (in == out), at every position of a vector and in the tail.
        for (std::size_t len : {extremes.size(), std::size_t(64)}) {
            std::vector<float> x(len);
            for (std::size_t j = 0; j < len; ++j) x[j] = extremes[j % extremes.size()];
            const std::vector<float> x0 = x;
            t->sigmoid(x.data(), x.data(), len);
            for (std::size_t j = 0; j < len; ++j) {
                CAPTURE(x0[j]);
                CHECK(!std::isnan(x[j]));
                CHECK(x[j] >= 0.0f);
                CHECK(x[j] <= 1.0f);
                CHECK(std::fabs(x[j] - ref_sigmoid(x0[j])) <= 1e-6);
            }
        }

        // Small lengths and misaligned, against the scalar table.
        std::mt19937 g(7);
        for (std::size_t m : kSizes)
            for (std::size_t off : kOffsets) {
                Buf a(m, off), b(m, off + 1);
                a.fill(g, -40, 40);
                t->sigmoid(a.data, b.data, m);
                CAPTURE(where(*t, m, off));
                for (std::size_t j = 0; j < m; ++j) CHECK(std::fabs(b[j] - ref_sigmoid(a[j])) <= 1e-6);
                CHECK(b.guards_intact());
            }
    }
}

// Gram, Cholesky and triangular solves (Table::gram / cholesky / cholesky_solve): the scalar table
// against double-precision formulas, every level against the scalar one, on sizes with and without
// vector tails; rows zero-padded to 16 floats as the contract asks, with guards after the used parts.
namespace {
constexpr std::size_t kGramSizes[] = {1, 2, 5, 8, 11, 16, 17, 24, 33, 64, 65};
constexpr std::size_t kGramCounts[] = {0, 1, 3, 4, 7, 50};

std::size_t pad16(std::size_t n) { return (n + 15) / 16 * 16; }

struct GramCase {
    std::size_t n, m, lda;
    std::vector<float> X, w, c, A0, b0;  // X: m rows of pad16(n), zero beyond n
    std::vector<const float*> rows;
    GramCase(std::size_t n_, std::size_t m_, std::mt19937& g) : n(n_), m(m_), lda(pad16(n_) + 16) {
        std::uniform_real_distribution<float> d(-1, 1);
        X.assign(m * pad16(n), 0.0f);
        for (std::size_t j = 0; j < m; ++j)
            for (std::size_t a = 0; a < n; ++a) X[j * pad16(n) + a] = d(g);
        for (std::size_t j = 0; j < m; ++j) rows.push_back(X.data() + j * pad16(n));
        for (std::size_t j = 0; j < m; ++j) w.push_back(0.5f + 0.5f * std::fabs(d(g)));
        for (std::size_t j = 0; j < m; ++j) c.push_back(2.0f * d(g));
        A0.assign(n * lda + 16, kGuard);  // guards after the last row
        for (std::size_t a = 0; a < n; ++a)
            for (std::size_t col = 0; col < pad16(n); ++col) A0[a * lda + col] = col < n ? d(g) : 0.0f;
        b0.assign(pad16(n) + 16, kGuard);
        for (std::size_t a = 0; a < pad16(n); ++a) b0[a] = a < n ? d(g) : 0.0f;
    }
};

// An SPD matrix (upper triangle, stride lda) and a right-hand side: G G^T / n + shift I.
void spd(std::size_t n, std::size_t lda, double shift, std::mt19937& g, std::vector<float>& A, std::vector<float>& b) {
    std::uniform_real_distribution<double> d(-1, 1);
    std::vector<double> G(n * n);
    for (auto& v : G) v = d(g);
    A.assign(n * lda + 16, kGuard);
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t col = a; col < n; ++col) {
            double s = a == col ? shift : 0.0;
            for (std::size_t t = 0; t < n; ++t) s += G[a * n + t] * G[col * n + t] / double(n);
            A[a * lda + col] = static_cast<float>(s);
        }
    b.assign(n + 16, kGuard);
    for (std::size_t a = 0; a < n; ++a) b[a] = static_cast<float>(d(g));
}
}  // namespace

TEST_CASE("kernels: gram accumulates the upper triangle of sum w x x^T and sum c x, every level as scalar") {
    std::mt19937 g(21);
    for (std::size_t n : kGramSizes)
        for (std::size_t m : kGramCounts)
            for (bool weighted : {false, true}) {
                const GramCase gc(n, m, g);
                // Scalar against double sums.
                std::vector<float> A = gc.A0, b = gc.b0;
                const float* w = weighted ? gc.w.data() : nullptr;
                scalar().gram(A.data(), gc.lda, b.data(), gc.rows.data(), w, gc.c.data(), m, n);
                for (std::size_t a = 0; a < n; ++a) {
                    double sb = gc.b0[a], ab = 0;
                    for (std::size_t j = 0; j < m; ++j) sb += double(gc.c[j]) * gc.rows[j][a], ab += std::fabs(gc.c[j] * gc.rows[j][a]);
                    CHECK(std::fabs(b[a] - sb) <= 1e-5 * (ab + 1));
                    for (std::size_t col = a; col < n; ++col) {
                        double s = gc.A0[a * gc.lda + col], as = 0;
                        for (std::size_t j = 0; j < m; ++j) {
                            const double t = double(w ? w[j] : 1.0f) * gc.rows[j][a] * gc.rows[j][col];
                            s += t, as += std::fabs(t);
                        }
                        CHECK(std::fabs(A[a * gc.lda + col] - s) <= 1e-5 * (as + 1));
                    }
                }
                for (const Table* t : supported_tables()) {
                    CAPTURE(where(*t, n, m));
                    CAPTURE(weighted);
                    std::vector<float> At = gc.A0, bt = gc.b0;
                    t->gram(At.data(), gc.lda, bt.data(), gc.rows.data(), w, gc.c.data(), m, n);
                    bool same = true, rest_zero = true, guards = true;
                    for (std::size_t a = 0; a < n; ++a) {
                        for (std::size_t col = a; col < n; ++col) {
                            const float r = A[a * gc.lda + col], v = At[a * gc.lda + col];
                            same = same && std::fabs(v - r) <= 2e-6f * (std::fabs(r) + float(m) + 1.0f);
                        }
                        for (std::size_t col = n; col < pad16(n); ++col) rest_zero = rest_zero && At[a * gc.lda + col] == 0.0f;
                        for (std::size_t col = pad16(n); col < gc.lda; ++col) guards = guards && At[a * gc.lda + col] == kGuard;
                        same = same && std::fabs(bt[a] - b[a]) <= 2e-6f * (std::fabs(b[a]) + float(m) + 1.0f);
                    }
                    for (std::size_t a = n; a < pad16(n); ++a) rest_zero = rest_zero && bt[a] == 0.0f;
                    for (std::size_t a = pad16(n); a < bt.size(); ++a) guards = guards && bt[a] == kGuard;
                    for (std::size_t j = n * gc.lda; j < At.size(); ++j) guards = guards && At[j] == kGuard;
                    CHECK(same);
                    CHECK(rest_zero);
                    CHECK(guards);
                }
            }
}

TEST_CASE("kernels: cholesky and cholesky_solve solve SPD systems, every level as scalar") {
    std::mt19937 g(22);
    for (std::size_t n : kGramSizes)
        for (double shift : {1.0, 0.01}) {
            const std::size_t lda = pad16(n) + 3;
            std::vector<float> A, b;
            spd(n, lda, shift, g, A, b);
            // Scalar: U^T U = A and A x = b, in double arithmetic on the float results.
            std::vector<float> U = A, x = b;
            REQUIRE(scalar().cholesky(U.data(), lda, n) == 0);
            scalar().cholesky_solve(U.data(), lda, n, x.data());
            double worst_uu = 0, worst_res = 0, norm_b = 0;
            for (std::size_t a = 0; a < n; ++a) {
                for (std::size_t col = a; col < n; ++col) {
                    double s = 0;
                    for (std::size_t t = 0; t <= a; ++t) s += double(U[t * lda + a]) * U[t * lda + col];
                    worst_uu = std::max(worst_uu, std::fabs(s - A[a * lda + col]));
                }
                double r = -b[a];
                for (std::size_t col = 0; col < n; ++col)
                    r += double(col >= a ? A[a * lda + col] : A[col * lda + a]) * x[col];
                worst_res = std::max(worst_res, std::fabs(r));
                norm_b = std::max(norm_b, std::fabs(double(b[a])));
            }
            CAPTURE(n);
            CAPTURE(shift);
            CHECK(worst_uu <= 1e-5 * (1 + shift));
            CHECK(worst_res <= 1e-4 * norm_b * (1 + 1 / shift));
            for (const Table* t : supported_tables()) {
                CAPTURE(t->name);
                std::vector<float> Ut = A, xt = b;
                REQUIRE(t->cholesky(Ut.data(), lda, n) == 0);
                t->cholesky_solve(Ut.data(), lda, n, xt.data());
                bool same = true, lower_untouched = true, guards = true;
                for (std::size_t a = 0; a < n; ++a) {
                    for (std::size_t col = a; col < n; ++col)
                        same = same && std::fabs(Ut[a * lda + col] - U[a * lda + col]) <= 1e-5f * (std::fabs(U[a * lda + col]) + 1);
                    for (std::size_t col = 0; col < a; ++col) lower_untouched = lower_untouched && Ut[a * lda + col] == kGuard;
                    same = same && std::fabs(xt[a] - x[a]) <= 1e-4f * (std::fabs(x[a]) + 1) / float(shift);
                }
                for (std::size_t a = n; a < xt.size(); ++a) guards = guards && xt[a] == kGuard;
                for (std::size_t j = n * lda; j < Ut.size(); ++j) guards = guards && Ut[j] == kGuard;
                CHECK(same);
                CHECK(lower_untouched);
                CHECK(guards);
            }
        }
}

TEST_CASE("kernels: implicit_matvec is G v + sum w (x.v) x, every level as scalar") {
    std::mt19937 g(23);
    std::uniform_real_distribution<float> d(-1, 1);
    for (std::size_t n : kGramSizes)
        for (std::size_t m : kGramCounts) {
            const std::size_t np = pad16(n), lda = np + 16;
            GramCase gc(n, m, g);
            std::vector<float> G(n * lda, kGuard), v(np, 0.0f);
            for (std::size_t a = 0; a < n; ++a)
                for (std::size_t c = 0; c < np; ++c) G[a * lda + c] = 0.0f;
            for (std::size_t a = 0; a < n; ++a)
                for (std::size_t c = a; c < n; ++c) G[a * lda + c] = G[c * lda + a] = d(g);
            for (std::size_t a = 0; a < n; ++a) v[a] = d(g);
            for (float& wj : gc.w) wj -= 0.7f;  // negative weights too (c - w0 < 0)
            // Scalar against double sums.
            std::vector<float> out(np + 16, kGuard);
            scalar().implicit_matvec(G.data(), lda, gc.rows.data(), gc.w.data(), m, n, v.data(), out.data());
            for (std::size_t c = 0; c < n; ++c) {
                double s = 0, as = 0;
                for (std::size_t a = 0; a < n; ++a) s += double(G[a * lda + c]) * v[a], as += std::fabs(G[a * lda + c] * v[a]);
                for (std::size_t j = 0; j < m; ++j) {
                    double xv = 0;
                    for (std::size_t a = 0; a < n; ++a) xv += double(gc.rows[j][a]) * v[a];
                    s += gc.w[j] * xv * gc.rows[j][c], as += std::fabs(gc.w[j] * xv * gc.rows[j][c]);
                }
                CHECK(std::fabs(out[c] - s) <= 1e-5 * (as + 1));
            }
            for (const Table* t : supported_tables()) {
                CAPTURE(where(*t, n, m));
                std::vector<float> ot(np + 16, kGuard);
                t->implicit_matvec(G.data(), lda, gc.rows.data(), gc.w.data(), m, n, v.data(), ot.data());
                bool same = true, rest_zero = true, guards = true;
                for (std::size_t c = 0; c < n; ++c)
                    same = same && std::fabs(ot[c] - out[c]) <= 2e-6f * (std::fabs(out[c]) + float(n + m) + 1.0f);
                for (std::size_t c = n; c < np; ++c) rest_zero = rest_zero && ot[c] == 0.0f;
                for (std::size_t c = np; c < ot.size(); ++c) guards = guards && ot[c] == kGuard;
                CHECK(same);
                CHECK(rest_zero);
                CHECK(guards);
            }
        }
}

// CG in double on (G + sum wd x x^T + reg I) x = sum c x, the kernels' stopping rules, from x.
std::vector<double> cg_double(const std::vector<float>& G, std::size_t lda, const GramCase& gc, float reg,
                              unsigned steps, std::vector<double> x) {
    const std::size_t n = gc.n, m = gc.m;
    auto mul = [&](const std::vector<double>& v) {
        std::vector<double> o(n, 0.0);
        for (std::size_t c = 0; c < n; ++c) {
            for (std::size_t a = 0; a < n; ++a) o[c] += double(G[a * lda + c]) * v[a];
            o[c] += double(reg) * v[c];
        }
        for (std::size_t j = 0; j < m; ++j) {
            double s = 0;
            for (std::size_t a = 0; a < n; ++a) s += double(gc.rows[j][a]) * v[a];
            for (std::size_t c = 0; c < n; ++c) o[c] += double(gc.w[j]) * s * gc.rows[j][c];
        }
        return o;
    };
    auto dotd = [&](const std::vector<double>& a, const std::vector<double>& b) {
        double s = 0;
        for (std::size_t t = 0; t < n; ++t) s += a[t] * b[t];
        return s;
    };
    std::vector<double> r = mul(x);
    for (std::size_t t = 0; t < n; ++t) {
        double b = 0;
        for (std::size_t j = 0; j < m; ++j) b += double(gc.c[j]) * gc.rows[j][t];
        r[t] = b - r[t];
    }
    std::vector<double> p = r;
    double rs = dotd(r, r);
    for (unsigned step = 0; step < steps && rs > 1e-20; ++step) {
        const std::vector<double> Ap = mul(p);
        const double pAp = dotd(p, Ap);
        if (!(pAp > 0)) break;
        const double al = rs / pAp;
        for (std::size_t t = 0; t < n; ++t) x[t] += al * p[t], r[t] -= al * Ap[t];
        const double rn = dotd(r, r);
        for (std::size_t t = 0; t < n; ++t) p[t] = r[t] + rn / rs * p[t];
        rs = rn;
    }
    return x;
}

TEST_CASE("kernels: implicit_cg takes CG steps on the implicit row problem, every level as scalar") {
    std::mt19937 g(29);
    std::uniform_real_distribution<float> d(-1, 1);
    for (std::size_t n : {1, 2, 5, 16, 17, 33, 64, 65, 130})
        for (std::size_t m : {0, 1, 3, 4, 7, 50}) {
            const std::size_t np = pad16(n), lda = np + 16;
            GramCase gc(n, m, g);
            // G: a symmetric positive definite YtY of 2n random rows, full, zero padding.
            std::vector<float> G(n * lda, 0.0f), x0(np, 0.0f);
            std::vector<std::vector<float>> Y(2 * n, std::vector<float>(n));
            for (auto& y : Y)
                for (float& e : y) e = d(g);
            for (std::size_t a = 0; a < n; ++a)
                for (std::size_t c = 0; c < n; ++c) {
                    double s = 0;
                    for (const auto& y : Y) s += double(y[a]) * y[c];
                    G[a * lda + c] = float(s);
                }
            for (std::size_t a = 0; a < n; ++a) x0[a] = d(g);
            const float reg = 0.5f;
            for (unsigned steps : {0u, 1u, 3u}) {
                std::vector<double> xd(x0.begin(), x0.begin() + std::ptrdiff_t(n));
                const std::vector<double> ref = cg_double(G, lda, gc, reg, steps, xd);
                std::vector<float> xs = x0, scratch(3 * np + m + 16, kGuard);
                scalar().implicit_cg(G.data(), lda, gc.rows.data(), gc.w.data(), gc.c.data(), m, n, reg, steps,
                                     xs.data(), scratch.data());
                double scale = 1;
                for (double e : ref) scale = std::max(scale, std::fabs(e));
                for (std::size_t a = 0; a < n; ++a) CHECK(std::fabs(xs[a] - ref[a]) <= 1e-3 * scale);
                for (const Table* t : supported_tables()) {
                    CAPTURE(where(*t, n, m));
                    CAPTURE(steps);
                    std::vector<float> xt = x0, st(3 * np + m + 16, kGuard);
                    t->implicit_cg(G.data(), lda, gc.rows.data(), gc.w.data(), gc.c.data(), m, n, reg, steps,
                                   xt.data(), st.data());
                    bool same = true, pad_zero = true, guards = true;
                    for (std::size_t a = 0; a < n; ++a) same = same && std::fabs(xt[a] - xs[a]) <= 1e-3 * scale;
                    for (std::size_t a = n; a < np; ++a) pad_zero = pad_zero && xt[a] == 0.0f;
                    for (std::size_t j = 3 * np + m; j < st.size(); ++j) guards = guards && st[j] == kGuard;
                    CHECK(same);
                    CHECK(pad_zero);
                    CHECK(guards);
                }
            }
            // Enough steps: the solution of the system (residual small against b).
            std::vector<float> xs = x0, scratch(3 * np + m);
            const unsigned many = unsigned(2 * n + 10);
            for (const Table* t : supported_tables()) {
                CAPTURE(where(*t, n, m));
                std::vector<float> xt = x0;
                t->implicit_cg(G.data(), lda, gc.rows.data(), gc.w.data(), gc.c.data(), m, n, reg, many, xt.data(),
                               scratch.data());
                const std::vector<double> xdd(xt.begin(), xt.begin() + std::ptrdiff_t(n));
                const std::vector<double> again = cg_double(G, lda, gc, reg, 1, xdd);  // one more step moves little
                double moved = 0, norm = 1;
                for (std::size_t a = 0; a < n; ++a) moved = std::max(moved, std::fabs(again[a] - xdd[a])), norm = std::max(norm, std::fabs(xdd[a]));
                CHECK(moved <= 2e-2 * norm);
            }
        }
}

TEST_CASE("kernels: cholesky reports the first non-positive or NaN pivot, every level") {
    for (const Table* t : supported_tables()) {
        CAPTURE(t->name);
        // diag(4, 1, -1, 1): pivot 2 fails.
        float A[4 * 4] = {4, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1};
        CHECK(t->cholesky(A, 4, 4) == 3);
        CHECK(A[0] == 2.0f);
        // Rank one [1 1; 1 1]: the second pivot is 0.
        float B[2 * 2] = {1, 1, 1, 1};
        CHECK(t->cholesky(B, 2, 2) == 2);
        float C[1] = {std::numeric_limits<float>::quiet_NaN()};
        CHECK(t->cholesky(C, 1, 1) == 1);
        float D[1] = {9};
        CHECK(t->cholesky(D, 1, 1) == 0);
        CHECK(D[0] == 3.0f);
        CHECK(t->cholesky(D, 1, 0) == 0);
    }
}

TEST_CASE("kernels: parse_level and level_name round trip") {
    for (Level l : kLevels) {
        Level got = Level::scalar;
        CAPTURE(level_name(l));
        CHECK(parse_level(level_name(l), &got));
        CHECK(got == l);
        std::string upper = level_name(l);
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        got = Level::scalar;
        CHECK(parse_level(upper.c_str(), &got));
        CHECK(got == l);
    }
    Level got = Level::scalar;
    CHECK(parse_level("sse42", &got));
    CHECK(got == Level::sse4_2);
    CHECK(parse_level("AVX512BW", &got));
    CHECK(got == Level::avx512);
    CHECK(std::string(level_name(Level::sse4_2)) == "sse4.2");
    got = Level::neon;
    for (const char* bad : {"", "avx", "avx3", "sse", "scalarx", "avx512 ", "neon64"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_level(bad, &got));
    }
    CHECK_FALSE(parse_level(nullptr, &got));
    CHECK(got == Level::neon);  // untouched on failure
}

TEST_CASE("kernels: force_level switches active() and refuses unsupported levels") {
    const Level original = active().level;
    for (Level l : kLevels) {
        CAPTURE(level_name(l));
        const Table* t = table_for(l);
        const Level before = active().level;
        if (t != nullptr) {
            CHECK(force_level(l));
            CHECK(&active() == t);
            CHECK(active().level == l);
            // The active table computes.
            float a[17], b[17];
            for (int j = 0; j < 17; ++j) a[j] = b[j] = 1.0f;
            CHECK(active().dot(a, b, 17) == 17.0f);
        } else {
            CHECK_FALSE(force_level(l));
            CHECK(active().level == before);
        }
    }
    CHECK(force_level(original));
    CHECK(active().level == original);
}

TEST_CASE("kernels: active() is the same table from many threads") {
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    const Table* first = &active();
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            for (int k = 0; k < 1000; ++k)
                if (&active() != first) ++mismatches;
        });
    for (auto& th : threads) th.join();
    CHECK(mismatches.load() == 0);
    CHECK(table_for(active().level) == &active());
}

// Run by itself with SIMDMF_SIMD set (tests/meson.build, test "kernels_env_*"): the level chosen at
// first use follows the variable. Skipped in the normal run, where other cases force levels first.
TEST_CASE("SIMDMF_SIMD lowers the level chosen at first use" * doctest::skip()) {
    const char* env = std::getenv("SIMDMF_SIMD");
    REQUIRE(env != nullptr);
    Level wanted;
    REQUIRE(parse_level(env, &wanted));
    REQUIRE(table_for(wanted) != nullptr);
    CHECK(active().level == wanted);
    CHECK(std::strcmp(active().name, level_name(wanted)) == 0);
    CHECK(static_cast<int>(active().level) <= static_cast<int>(best_supported()));
}

TEST_CASE("kernels: pack_panels + gemm_packed agree with scalar and a double reference") {
    std::mt19937 g(11);
    for (const Table* t : supported_tables())
        for (std::size_t k : {1, 3, 16, 17, 64, 100})
            for (std::size_t m : {1, 2, 5, 6, 7, 12, 13, 25})
                for (std::size_t nb : {1, 4, 15, 16, 33, 64, 70}) {
                    const std::size_t lda = k + 3, ldb = k + 5, ldc = nb + 2;
                    Buf a(m * lda, 1), b(nb * ldb, 2), c(m * ldc, 0), c_ref(m * ldc, 0);
                    a.fill(g, -1, 1);
                    b.fill(g, -1, 1);
                    std::fill(c.data, c.data + c.n, kGuard);
                    std::vector<const float*> rows(m);
                    for (std::size_t r = 0; r < m; ++r) rows[r] = a.data + r * lda;
                    CAPTURE(where(*t, k, 0));
                    CAPTURE(m);
                    CAPTURE(nb);
                    REQUIRE(t->panel > 0);
                    std::vector<float> packed((nb + t->panel - 1) / t->panel * t->panel * k, kGuard);
                    t->pack_panels(b.data, nb, ldb, k, packed.data());
                    t->gemm_packed(rows.data(), m, packed.data(), nb, k, c.data, ldc, nullptr, nullptr);
                    std::vector<float> packed_ref((nb + scalar().panel - 1) / scalar().panel * scalar().panel * k);
                    scalar().pack_panels(b.data, nb, ldb, k, packed_ref.data());
                    scalar().gemm_packed(rows.data(), m, packed_ref.data(), nb, k, c_ref.data, ldc, nullptr, nullptr);
                    bool ok = true;
                    for (std::size_t r = 0; r < m; ++r)
                        for (std::size_t j = 0; j < ldc; ++j) {
                            const float got = c[r * ldc + j];
                            if (j >= nb) {  // between rows: untouched
                                ok &= got == kGuard;
                                continue;
                            }
                            const float* x = rows[r];
                            const float* y = b.data + j * ldb;
                            const double tol = kRel * abs_dot(x, y, k) + 1e-30;
                            ok &= std::fabs(got - exact_dot(x, y, k)) <= tol;
                            ok &= std::fabs(got - c_ref[r * ldc + j]) <= tol;
                        }
                    CHECK(ok);
                    CHECK(c.guards_intact());
                }
}

// gemm_packed's flags: hit[r] = 1 exactly for the rows with a stored score above its column's threshold
// (compared with the level's own C, so rounding cannot make the check ambiguous), C the same bits as
// without flags, the bytes past m untouched. Thresholds between each column's two best scores (one row
// above), some +inf (none), -inf (every row) or NaN (none), a few columns with a NaN score.
TEST_CASE("kernels: gemm_packed flags the rows with a score above its column's threshold") {
    std::mt19937 g(14);
    const float inf = std::numeric_limits<float>::infinity();
    std::size_t flagged = 0, clear = 0;
    for (const Table* t : supported_tables())
        for (std::size_t k : {1, 16, 17, 64, 100})
            for (std::size_t m : {1, 2, 5, 6, 7, 12, 13, 25, 40})
                for (std::size_t nb : {1, 15, 16, 33, 64, 70}) {
                    const std::size_t lda = k + 3, ldb = k + 5, ldc = nb + 2;
                    Buf a(m * lda, 1), b(nb * ldb, 2), c(m * ldc, 0), c2(m * ldc, 0);
                    a.fill(g, -1, 1);
                    b.fill(g, -1, 1);
                    if (nb > 20) a.data[(m / 2) * lda] = std::nanf("");  // a row of NaN scores
                    std::vector<const float*> rows(m);
                    for (std::size_t r = 0; r < m; ++r) rows[r] = a.data + r * lda;
                    std::vector<float> packed((nb + t->panel - 1) / t->panel * t->panel * k);
                    t->pack_panels(b.data, nb, ldb, k, packed.data());
                    t->gemm_packed(rows.data(), m, packed.data(), nb, k, c.data, ldc, nullptr, nullptr);
                    std::vector<float> thr(nb);
                    for (std::size_t j = 0; j < nb; ++j) {
                        float best = -inf, second = -inf;
                        for (std::size_t r = 0; r < m; ++r) {
                            const float v = c.data[r * ldc + j];
                            if (v > best) second = best, best = v;
                            else if (v > second) second = v;
                        }
                        const unsigned pick = g() % 8;
                        thr[j] = pick == 0 ? inf : pick == 1 ? std::nanf("") : pick == 2 && m < 3 ? -inf
                                 : m == 1 || second == -inf ? best - 1.0f : (best + second) / 2;
                    }
                    std::vector<std::uint8_t> hit(m + 8, 7);
                    t->gemm_packed(rows.data(), m, packed.data(), nb, k, c2.data, ldc, thr.data(), hit.data());
                    CAPTURE(where(*t, k, 0));
                    CAPTURE(m);
                    CAPTURE(nb);
                    bool same = true, flags = true;
                    for (std::size_t r = 0; r < m; ++r) {
                        bool want = false;
                        for (std::size_t j = 0; j < nb; ++j) {
                            const float v = c.data[r * ldc + j];
                            same &= std::memcmp(&v, &c2.data[r * ldc + j], sizeof v) == 0;
                            want |= c2.data[r * ldc + j] > thr[j];
                        }
                        flags &= hit[r] == (want ? 1 : 0);
                        (want ? flagged : clear) += 1;
                    }
                    CHECK(same);
                    CHECK(flags);
                    CHECK(std::all_of(hit.begin() + m, hit.end(), [](std::uint8_t x) { return x == 7; }));
                    CHECK(c2.guards_intact());
                }
    CHECK(flagged > 100);
    CHECK(clear > 100);
}

TEST_CASE("kernels: find_above finds the first element above the threshold") {
    std::mt19937 g(12);
    for (const Table* t : supported_tables())
        for (std::size_t n : kSizes)
            for (int trial = 0; trial < 4; ++trial) {
                Buf s(n, trial % 3);
                s.fill(g, -1, 1);
                if (n > 2 && trial == 3) s.data[n / 2] = std::nanf("");
                const float thr = trial == 0 ? 2.0f : (trial == 1 ? 0.9f : 0.0f);
                std::size_t want = n;
                for (std::size_t j = 0; j < n; ++j)
                    if (s.data[j] > thr) {
                        want = j;
                        break;
                    }
                CAPTURE(where(*t, n, 0));
                CHECK(t->find_above(s.data, n, thr) == want);
                CHECK(scalar().find_above(s.data, n, thr) == want);
            }
}

TEST_CASE("kernels: find_above_rows finds the first row with a lane above its threshold") {
    std::mt19937 g(13);
    for (const Table* t : supported_tables())
        for (std::size_t width : {1, 3, 8, 16, 17, 32, 33, 64})
            for (int trial = 0; trial < 6; ++trial) {
                const std::size_t rows = 40, ld = width + 5;
                Buf c(rows * ld, 1), thr(width, 2);
                c.fill(g, -1, 1);
                thr.fill(g, 0.995f, 1.2f);
                if (trial % 2) thr.data[width / 2] = std::nanf("");      // NaN threshold: never above
                if (trial > 2) c.data[(trial * 7 % rows) * ld + width - 1] = 1.5f;
                std::size_t want = rows;
                for (std::size_t r = 0; r < rows && want == rows; ++r)
                    for (std::size_t l = 0; l < width; ++l)
                        if (c.data[r * ld + l] > thr.data[l]) {
                            want = r;
                            break;
                        }
                CAPTURE(where(*t, width, 0));
                CHECK(t->find_above_rows(c.data, rows, width, ld, thr.data) == want);
            }
}

// The fused BPR step (Table::bpr and bpr_for_length) on every level: the double-precision textbook rule and
// the scalar table, at every size and misalignment, guards intact.
TEST_CASE("kernels: fused bpr follows the textbook rule, every level as scalar") {
    std::mt19937 g(21);
    for (const Table* t : supported_tables()) {
        REQUIRE((t->bpr != nullptr));
        REQUIRE((t->bpr_for_length != nullptr));
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets)
                for (int via_length : {0, 1}) {
                    CAPTURE(where(*t, n, off));
                    CAPTURE(via_length);
                    Buf p(n, off), qi(n, (off + 2) % 5), qj(n, (off + 1) % 4);
                    p.fill(g, -0.5f, 0.5f);
                    qi.fill(g, -0.5f, 0.5f);
                    qj.fill(g, -0.5f, 0.5f);
                    std::vector<float> p0(p.data, p.data + n), i0(qi.data, qi.data + n), j0(qj.data, qj.data + n);
                    std::vector<float> ps = p0, is = i0, js = j0;
                    const float offset = 0.15f, lr_p = 0.05f, lr_q = 0.04f, l2_p = 0.02f, l2_q = 0.03f;
                    double x = offset, ax = std::fabs(offset);
                    for (std::size_t j = 0; j < n; ++j) {
                        x += double(p0[j]) * (double(i0[j]) - j0[j]);
                        ax += std::fabs(double(p0[j]) * (double(i0[j]) - j0[j]));
                    }
                    const double g_ref = 1.0 - ref_sigmoid(x);
                    const double tol_g = kRel * ax + 2e-6;
                    const BprFn fn = via_length ? t->bpr_for_length(n) : t->bpr;
                    const float g_t = fn(p.data, qi.data, qj.data, n, offset, lr_p, lr_q, l2_p, l2_q);
                    const float g_s = scalar().bpr(ps.data(), is.data(), js.data(), n, offset, lr_p, lr_q, l2_p, l2_q);
                    CHECK(std::fabs(g_t - g_ref) <= tol_g);
                    CHECK(std::fabs(g_s - g_ref) <= tol_g);
                    for (std::size_t j = 0; j < n; ++j) {
                        CAPTURE(j);
                        const double pj = p0[j], ij = i0[j], jj = j0[j];
                        const double p_ref = pj + lr_p * (g_ref * (ij - jj) - l2_p * pj);
                        const double i_ref = ij + lr_q * (g_ref * pj - l2_q * ij);
                        const double j_ref = jj + lr_q * (-g_ref * pj - l2_q * jj);
                        const double tol = 1e-6 * (std::fabs(pj) + std::fabs(ij) + std::fabs(jj)) + 0.06 * tol_g + 1e-30;
                        CHECK(std::fabs(p[j] - p_ref) <= tol);
                        CHECK(std::fabs(qi[j] - i_ref) <= tol);
                        CHECK(std::fabs(qj[j] - j_ref) <= tol);
                        CHECK(std::fabs(p[j] - ps[j]) <= 2 * tol);
                        CHECK(std::fabs(qi[j] - is[j]) <= 2 * tol);
                        CHECK(std::fabs(qj[j] - js[j]) <= 2 * tol);
                    }
                    CHECK(p.guards_intact());
                    CHECK(qi.guards_intact());
                    CHECK(qj.guards_intact());
                }
    }
}

// The BPR block loop (Table::bpr_block_for_length) on every level: the same rows, biases, loss and step count
// as the level's own per-triple step plus the bias updates (to rounding), and as the scalar block; skipped
// triples leave their rows alone; rows repeat within the block (users and items drawn from a few).
TEST_CASE("kernels: bpr block is the per-triple step with biases and loss, every level as scalar") {
    std::mt19937 g(77);
    for (const Table* t : supported_tables()) {
        REQUIRE((t->bpr_block_for_length != nullptr));
        for (std::size_t n : {std::size_t(8), std::size_t(17), std::size_t(64), std::size_t(128)})
            for (int with_bias : {0, 1})
                for (int prefetch : {0, 1}) {
                    CAPTURE(t->name);
                    CAPTURE(n);
                    CAPTURE(with_bias);
                    const std::size_t stride = (n + 15) / 16 * 16, users = 5, items = 9, count = 300;
                    std::uniform_real_distribution<float> val(-0.5f, 0.5f);
                    std::vector<float> P(users * stride), Q(items * stride), bi(items);
                    for (float& x : P) x = val(g);
                    for (float& x : Q) x = val(g);
                    for (float& x : bi) x = val(g);
                    std::vector<std::uint16_t> ui(count * 3);  // step 3: a u, an i and one unused slot
                    std::vector<std::uint32_t> J(count);
                    const std::uint32_t u0 = 1, i0 = 2;
                    std::size_t skips = 0;
                    for (std::size_t k = 0; k < count; ++k) {
                        ui[3 * k] = static_cast<std::uint16_t>(g() % (users - u0));
                        ui[3 * k + 1] = static_cast<std::uint16_t>(g() % (items - i0));
                        ui[3 * k + 2] = 0xFFFF;
                        std::uint32_t j = static_cast<std::uint32_t>(g() % items);
                        if (j == i0 + ui[3 * k + 1]) j = (j + 1) % items;
                        if (k % 37 == 5) j = kBprSkip, ++skips;
                        J[k] = j;
                    }
                    // The reference: the level's step per triple, the biases after it, the loss in double.
                    std::vector<float> Pr = P, Qr = Q, br = bi, Ps = P, Qs = Q, bs = bi;
                    const float lr = 0.05f, l2 = 0.02f, l2b = 0.03f;
                    const BprFn step = t->bpr_for_length(n);
                    double loss_ref = 0.0;
                    for (std::size_t k = 0; k < count; ++k) {
                        if (J[k] == kBprSkip) continue;
                        const std::uint32_t u = u0 + ui[3 * k], i = i0 + ui[3 * k + 1], j = J[k];
                        const float off = with_bias ? br[i] - br[j] : 0.0f;
                        const float gk = step(&Pr[u * stride], &Qr[i * stride], &Qr[j * stride], n, off, lr, lr, l2, l2);
                        if (with_bias) {
                            br[i] += lr * (gk - l2b * br[i]);
                            br[j] += lr * (-gk - l2b * br[j]);
                        }
                        loss_ref -= std::log(std::max(1.0 - gk, 1e-12));
                    }
                    auto run = [&](const Table& tab, std::vector<float>& Pb, std::vector<float>& Qb, std::vector<float>& bb) {
                        BprBlock b{};
                        b.P = Pb.data();
                        b.Q = Qb.data();
                        b.bi = with_bias ? bb.data() : nullptr;
                        b.stride = stride;
                        b.n = n;
                        b.ui = ui.data();
                        b.ui_step = 3;
                        b.u0 = u0;
                        b.i0 = i0;
                        b.j = J.data();
                        b.count = count;
                        b.lr = lr;
                        b.l2 = l2;
                        b.l2b = l2b;
                        b.prefetch = prefetch != 0;
                        b.loss_sum = 0.25;  // carried in: the block adds to it
                        b.loss_prod = 1.0;
                        tab.bpr_block_for_length(n)(b);
                        CHECK(b.steps == count - skips);
                        return b.loss_sum - 0.25 - std::log(b.loss_prod);
                    };
                    const double loss_t = run(*t, P, Q, bi);
                    const double loss_s = run(scalar(), Ps, Qs, bs);
                    CHECK(std::fabs(loss_t - loss_ref) <= 1e-4 * loss_ref);
                    CHECK(std::fabs(loss_s - loss_ref) <= 1e-3 * loss_ref);
                    double dev = 0.0, dev_s = 0.0;
                    for (std::size_t x = 0; x < P.size(); ++x) {
                        dev = std::max(dev, double(std::fabs(P[x] - Pr[x])));
                        dev_s = std::max(dev_s, double(std::fabs(Ps[x] - Pr[x])));
                    }
                    for (std::size_t x = 0; x < Q.size(); ++x) {
                        dev = std::max(dev, double(std::fabs(Q[x] - Qr[x])));
                        dev_s = std::max(dev_s, double(std::fabs(Qs[x] - Qr[x])));
                    }
                    for (std::size_t x = 0; x < bi.size(); ++x) {
                        dev = std::max(dev, double(std::fabs(bi[x] - br[x])));
                        dev_s = std::max(dev_s, double(std::fabs(bs[x] - br[x])));
                    }
                    CHECK(dev <= 1e-5);     // the level's block against its own step
                    CHECK(dev_s <= 1e-3);   // the scalar block against this level's steps (300 steps of rounding)
                    // The unused slots and the padding beyond n were not touched.
                    for (std::size_t r = 0; r < items; ++r)
                        for (std::size_t x = n; x < stride; ++x) CHECK(Q[r * stride + x] == Qr[r * stride + x]);
                }
    }
}
