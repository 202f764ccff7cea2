// Quantized tables (lib/models/quant.hpp): the kernels at every level against scalar, quantization
// error bounds, scoring and top-N through the model (one user, batches, filters, re-ranking), and the
// model file sections (round trip, memory mapping, bad scales refused).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "io/model_file.hpp"
#include "kernels/kernels.hpp"
#include "kernels/tables.hpp"
#include "models/mf.hpp"
#include "serve/serve.hpp"

using namespace simdmf;
using kernels::Level;
using kernels::Table;

namespace {

// Every supported level's table, and where the CPU has VNNI (x86) or sdot (AArch64) also the level's
// table without them (the kernels a CPU without them runs: both are checked here).
std::vector<const Table*> tables() {
    std::vector<const Table*> out;
    for (Level l : {Level::scalar, Level::sse2, Level::sse4_2, Level::avx2, Level::avx512, Level::neon}) {
        if (const Table* t = kernels::table_for(l)) out.push_back(t);
        const Table* plain = kernels::table_without_vnni(l);
        if (plain && plain != kernels::table_for(l)) out.push_back(plain);
    }
    return out;
}
const Table& scalar() { return *kernels::table_for(Level::scalar); }

MFModel random_model(std::uint32_t k, std::uint32_t nu, std::uint32_t ni, std::uint32_t seed, bool biases = true) {
    MFModel m;
    m.allocate(Loss::squared, k, nu, ni, biases);
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.0f, 0.5f);
    for (std::uint32_t u = 0; u < nu; ++u)
        for (std::uint32_t f = 0; f < k; ++f) m.user_row(u)[f] = d(g);
    for (std::uint32_t i = 0; i < ni; ++i)
        for (std::uint32_t f = 0; f < k; ++f) m.item_row(i)[f] = d(g);
    if (biases) {
        for (auto& b : m.bu) b = d(g) * 0.1f;
        for (auto& b : m.bi) b = d(g) * 0.1f;
        m.mu = 3.0f;
    }
    return m;
}

// Per process: the level runs of this suite go in parallel.
std::string tmp(const char* name) {
    return std::string("/tmp/simdmf_test_quant_") + std::to_string(::getpid()) + "_" + name + ".smf";
}

}  // namespace

TEST_CASE("quant kernels: fp16 conversions are IEEE round-to-nearest-even, bit for bit at every level") {
    std::vector<std::uint16_t> all(65536);
    for (std::size_t j = 0; j < all.size(); ++j) all[j] = static_cast<std::uint16_t>(j);
    std::vector<float> ref(all.size());
    scalar().f16_to_f32(all.data(), ref.data(), all.size());
    CHECK(ref[0x3C00] == 1.0f);
    CHECK(ref[0xC000] == -2.0f);
    CHECK(ref[0x0001] == std::ldexp(1.0f, -24));  // smallest subnormal
    CHECK(ref[0x7BFF] == 65504.0f);
    CHECK(std::isinf(ref[0x7C00]));
    CHECK(std::isnan(ref[0x7E00]));
    // Every finite half converts back to itself.
    std::vector<std::uint16_t> back(all.size());
    scalar().f32_to_f16(ref.data(), back.data(), ref.size());
    for (std::size_t j = 0; j < all.size(); ++j)
        if (((j >> 10) & 0x1F) != 0x1F) REQUIRE(back[j] == all[j]);
    // Ties and rounding: 1 + 2^-11 is a tie (to even: 1), 1 + 3 * 2^-12 rounds up; overflow to inf.
    const float cases[] = {1.0f + std::ldexp(1.0f, -11), 1.0f + 3 * std::ldexp(1.0f, -12), 65519.0f, 65520.0f,
                           std::ldexp(1.0f, -25), std::ldexp(1.5f, -25), -0.0f, 1e-30f, 3.14159f, -7e4f};
    std::uint16_t h[10];
    scalar().f32_to_f16(cases, h, 10);
    CHECK(h[0] == 0x3C00);
    CHECK(h[1] == 0x3C01);
    CHECK(h[2] == 0x7BFF);
    CHECK(h[3] == 0x7C00);
    CHECK(h[4] == 0x0000);
    CHECK(h[5] == 0x0001);
    CHECK(h[6] == 0x8000);
    CHECK(h[9] == 0xFC00);
    std::mt19937 g(3);
    std::vector<float> x(4099);
    for (float& v : x) v = std::ldexp(std::uniform_real_distribution<float>(-1, 1)(g), int(g() % 40) - 28);
    std::vector<std::uint16_t> want(x.size()), got(x.size());
    scalar().f32_to_f16(x.data(), want.data(), x.size());
    for (const Table* t : tables()) {
        CAPTURE(t->name);
        t->f32_to_f16(x.data(), got.data(), x.size());
        CHECK(got == want);
        std::vector<float> f(all.size());
        t->f16_to_f32(all.data(), f.data(), all.size());
        CHECK(std::memcmp(f.data(), ref.data(), f.size() * 4) == 0);
    }
}

TEST_CASE("quant kernels: dot_rows_f16, dot_rows_i8 and dot_rows_i8f agree with scalar at every level") {
    std::mt19937 g(7);
    for (std::size_t n : {1u, 5u, 16u, 31u, 32u, 37u, 64u, 100u, 128u, 200u}) {
        const std::size_t stride = (n + 31) / 32 * 32, rows = 11;
        std::vector<std::uint16_t> h(rows * stride, 0);
        std::vector<std::int8_t> b(rows * stride, 0), xq(stride, 0);
        std::vector<float> xf(stride, 0.0f), hx(rows * stride), scale(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            scale[r] = std::uniform_real_distribution<float>(0.001f, 0.02f)(g);
            for (std::size_t t = 0; t < n; ++t) {
                hx[r * stride + t] = std::uniform_real_distribution<float>(-2, 2)(g);
                b[r * stride + t] = static_cast<std::int8_t>(int(g() % 255) - 127);
            }
        }
        scalar().f32_to_f16(hx.data(), h.data(), hx.size());
        for (std::size_t t = 0; t < n; ++t) {
            xf[t] = std::uniform_real_distribution<float>(-1, 1)(g);
            xq[t] = static_cast<std::int8_t>(t % 3 == 0 ? 127 : t % 3 == 1 ? -127 : int(g() % 255) - 127);
        }
        std::vector<float> w16(rows), w8(rows), w8f(rows), o(rows);
        scalar().dot_rows_f16(h.data(), rows, stride, xf.data(), n, w16.data());
        scalar().dot_rows_i8(b.data(), rows, stride, scale.data(), xq.data(), 0.01f, n, w8.data());
        scalar().dot_rows_i8f(b.data(), rows, stride, scale.data(), xf.data(), n, w8f.data());
        for (std::size_t r = 0; r < rows; ++r) {  // the scalar reference against a double sum
            double s8 = 0, s16 = 0, s8f = 0, a16 = 0, a8f = 0;
            for (std::size_t t = 0; t < n; ++t) {
                float hv;
                scalar().f16_to_f32(&h[r * stride + t], &hv, 1);
                s16 += double(hv) * xf[t];
                a16 += std::fabs(double(hv) * xf[t]);
                s8 += double(b[r * stride + t]) * xq[t];
                s8f += double(b[r * stride + t]) * xf[t];
                a8f += std::fabs(double(b[r * stride + t]) * xf[t]);
            }
            CHECK(w8[r] == float(float(std::int64_t(s8)) * (0.01f * scale[r])));
            CHECK(std::fabs(w16[r] - s16) <= 1e-5 * (a16 + 1));
            CHECK(std::fabs(w8f[r] - s8f * scale[r]) <= 1e-5 * (a8f + 1) * scale[r]);
        }
        for (const Table* t : tables()) {
            CAPTURE(t->name);
            CAPTURE(n);
            for (std::size_t nr : {rows, std::size_t(4), std::size_t(1)}) {
                t->dot_rows_i8(b.data(), nr, stride, scale.data(), xq.data(), 0.01f, n, o.data());
                for (std::size_t r = 0; r < nr; ++r) CHECK(o[r] == w8[r]);  // exact integer sums
                t->dot_rows_f16(h.data(), nr, stride, xf.data(), n, o.data());
                for (std::size_t r = 0; r < nr; ++r) CHECK(o[r] == doctest::Approx(w16[r]).epsilon(1e-4).scale(1));
                t->dot_rows_i8f(b.data(), nr, stride, scale.data(), xf.data(), n, o.data());
                for (std::size_t r = 0; r < nr; ++r)
                    CHECK(o[r] == doctest::Approx(w8f[r]).epsilon(1e-4).scale(scale[r]));
            }
        }
    }
}

TEST_CASE("quant kernels: gemm_i8 gives dot_rows_i8's bits for every item and user, at every level") {
    std::mt19937 g(11);
    // m: every tile height and remainder of the VNNI tiles (12, 8, 4, 2, 1 rows; 6, 4, 2, 1 rows);
    // stride 36: an odd number of 4-byte groups (plain NEON adds two groups' products at a time).
    for (std::size_t stride : {32u, 36u, 64u, 96u})
    for (std::size_t m : {10u, 13u, 20u, 31u}) {
        const std::size_t nu = 48;
        std::vector<std::int8_t> a(m * stride), u(nu * stride);
        std::vector<float> as(m), us(nu);
        for (auto& v : a) v = static_cast<std::int8_t>(int(g() % 255) - 127);
        for (auto& v : u) v = static_cast<std::int8_t>(int(g() % 255) - 127);
        for (auto& v : as) v = std::uniform_real_distribution<float>(0.001f, 0.1f)(g);
        for (auto& v : us) v = std::uniform_real_distribution<float>(0.001f, 0.1f)(g);
        for (const Table* t : tables()) {
            CAPTURE(t->name);
            CAPTURE(stride);
            CAPTURE(m);
            const std::size_t W = t->i8_panel;
            REQUIRE(nu % W == 0);
            std::vector<std::int8_t> pan(nu * stride);
            std::vector<std::int32_t> sums(nu);
            for (std::size_t l = 0; l < nu; ++l) {
                std::int32_t sum = 0;
                for (std::size_t c = 0; c < stride; ++c) {
                    pan[(l / W) * W * stride + (c / 4) * W * 4 + (l % W) * 4 + c % 4] = u[l * stride + c];
                    sum += u[l * stride + c];
                }
                sums[l] = 128 * sum;
            }
            for (std::size_t cols : {nu, W}) {
                std::vector<float> C(m * nu, -1.0f), want(m);
                t->gemm_i8(a.data(), m, stride, as.data(), pan.data(), sums.data(), us.data(), cols, W, C.data(), nu);
                for (std::size_t l = 0; l < cols; ++l) {
                    scalar().dot_rows_i8(a.data(), m, stride, as.data(), u.data() + l * stride, us[l], stride, want.data());
                    for (std::size_t j = 0; j < m; ++j) REQUIRE(C[j * nu + l] == want[j]);
                }
            }
        }
    }
}

#if defined(__aarch64__)
// NEON's int8 kernels use sdot exactly when the CPU reports the dot-product extension (HWCAP_ASIMDDP);
// scripts/check_aarch64.sh runs this under qemu with a CPU that has it (max) and one that has not
// (cortex-a53) and checks the message. The two tables' results are checked above, against scalar.
TEST_CASE("quant kernels: the NEON table takes the sdot kernels when the CPU has them") {
    const Table& neon = *kernels::table_for(Level::neon);
    const Table& plain = kernels::table_neon_no_dotprod();
    const bool sdot = kernels::neon_dotprod();
#if defined(__ARM_FEATURE_DOTPROD)
    CHECK(sdot);  // the whole level is compiled for it: one set of kernels
    CHECK((neon.dot_rows_i8 == plain.dot_rows_i8));
#else
    CHECK((neon.dot_rows_i8 != plain.dot_rows_i8) == sdot);
    CHECK((neon.gemm_i8 != plain.gemm_i8) == sdot);
#endif
    CHECK((neon.dot_rows_f16 == plain.dot_rows_f16));
    const std::string which = sdot ? "sdot (dot-product extension)" : "plain NEON (no dot product)";
    MESSAGE("NEON int8 kernels: " << which);
}
#endif

TEST_CASE("quant: int8 and fp16 tables stay within their rounding of the fp32 values") {
    MFModel m = random_model(37, 20, 30, 1);
    const MFModel f = m;
    for (TableType type : {TableType::fp16, TableType::int8}) {
        m = f;
        m.quantize(type, true);
        CHECK(m.quant.stride % (type == TableType::int8 ? 32 : 16) == 0);
        for (std::uint32_t i = 0; i < m.n_items; ++i) {
            float amax = 0;
            for (std::uint32_t t = 0; t < m.k; ++t) amax = std::max(amax, std::fabs(f.item_row(i)[t]));
            for (std::uint32_t t = 0; t < m.k; ++t) {
                const float v = quant_value(m.quant, false, i, t), x = f.item_row(i)[t];
                if (type == TableType::int8)
                    CHECK(std::fabs(v - x) <= amax / 127.0f * 0.5f * 1.0001f);
                else
                    CHECK(std::fabs(v - x) <= std::fabs(x) * std::ldexp(1.0f, -11) + 1e-7f);
            }
            if (type == TableType::int8) CHECK(m.quant.sQ[i] == doctest::Approx(amax / 127.0f));
        }
        // Scores: the quantized model's predictions are close to the float model's, and not identical.
        double maxdiff = 0;
        for (std::uint32_t u = 0; u < m.n_users; ++u)
            for (std::uint32_t i = 0; i < m.n_items; ++i) maxdiff = std::max(maxdiff, double(std::fabs(m.score(u, i) - f.score(u, i))));
        CHECK(maxdiff > 0);
        CHECK(maxdiff < (type == TableType::int8 ? 0.15 : 0.01));
    }
}

TEST_CASE("quant: top-N on quantized tables is the ranking of the quantized scores, one user and batches") {
    MFModel m = random_model(64, 40, 2500, 2);  // over two blocks of items for the batch path
    for (TableType type : {TableType::fp16, TableType::int8}) {
        CAPTURE(table_type_name(type));
        MFModel q = m;
        q.quantize(type, false);
        CHECK(!q.has_fp32);
        CHECK(q.P.empty());
        CHECK_FALSE(bool(q.factors()));
        // Seen items (CSR) and a deny list.
        std::vector<std::uint64_t> off{0};
        std::vector<std::uint32_t> seen;
        for (std::uint32_t u = 0; u < q.n_users; ++u) {
            for (std::uint32_t i = u; i < q.n_items; i += 97) seen.push_back(i);
            off.push_back(seen.size());
        }
        const std::vector<std::uint32_t> deny{3, 500, 2499};
        serve::Filter f;
        f.seen = ItemLists{off.data(), seen.data(), q.n_users};
        f.deny = deny.data();
        f.n_deny = deny.size();
        const std::size_t n = 10;
        std::vector<std::uint32_t> users;
        for (std::uint32_t u = 0; u < q.n_users; u += 3) users.push_back(u);
        std::vector<std::uint32_t> bi(users.size() * n);
        std::vector<float> bv(users.size() * n);
        std::vector<std::size_t> counts(users.size());
        serve::Scratch s;
        serve::recommend_batch(q, users.data(), users.size(), n, f, s, bi.data(), n, bv.data(), n, counts.data());
        std::vector<float> row(q.n_items);
        for (std::size_t b = 0; b < users.size(); ++b) {
            const std::uint32_t u = users[b];
            q.score_row(u, row.data());
            std::vector<std::pair<float, std::uint32_t>> all;
            const std::set<std::uint32_t> skip(seen.begin() + off[u], seen.begin() + off[u + 1]);
            for (std::uint32_t i = 0; i < q.n_items; ++i)
                if (!skip.count(i) && std::find(deny.begin(), deny.end(), i) == deny.end()) all.push_back({-row[i], i});
            std::sort(all.begin(), all.end());
            std::uint32_t one[n];
            float ov[n];
            const std::size_t got = serve::recommend_into(q, u, n, f, one, ov);
            REQUIRE(got == n);
            REQUIRE(counts[b] == n);
            for (std::size_t j = 0; j < n; ++j) {
                CHECK(one[j] == all[j].second);
                CHECK(bi[b * n + j] == all[j].second);
                if (type == TableType::int8)
                    CHECK(bv[b * n + j] == ov[j]);  // gemm_i8 gives dot_rows_i8's bits
                else
                    CHECK(bv[b * n + j] == doctest::Approx(ov[j]).epsilon(1e-5));  // fp16: the fp32 GEMM's order
                CHECK(ov[j] == q.prediction(-all[j].first));
            }
        }
        // A warm batch allocates nothing more.
        const std::size_t held = s.bytes();
        serve::recommend_batch(q, users.data(), users.size(), n, f, s, bi.data(), n, bv.data(), n, counts.data());
        CHECK(s.bytes() == held);
        // Factor calls need the fp32 tables this model dropped.
        CHECK_THROWS_AS(serve::cosine(q, SIMDMF_USERS, 0, 1), Error);
        CHECK_THROWS_AS(q.quantize(type == TableType::int8 ? TableType::fp16 : TableType::int8, true), Error);
    }
}

TEST_CASE("quant: re-ranking with fp32 returns the exact fp32 top-N when the candidates cover it") {
    MFModel m = random_model(16, 6, 300, 4);
    MFModel q = m;
    q.quantize(TableType::int8, true);
    q.quant.rerank = 1000;  // 10 x 1000 candidates, capped at the 300 items: every item re-scored
    for (std::uint32_t u = 0; u < m.n_users; ++u) {
        const auto want = serve::recommend(m, u, 10, {});
        const auto got = serve::recommend(q, u, 10, {});
        REQUIRE(got.size() == want.size());
        for (std::size_t j = 0; j < want.size(); ++j) {
            CHECK(got[j].first == want[j].first);
            CHECK(got[j].second == doctest::Approx(want[j].second).epsilon(1e-6));  // dot vs dot_rows: summation order
        }
    }
    // The batch path re-ranks the same way.
    std::vector<std::uint32_t> users{0, 1, 2, 3, 4, 5}, items(60);
    std::vector<float> vals(60);
    std::vector<std::size_t> counts(6);
    serve::Scratch s;
    serve::recommend_batch(q, users.data(), 6, 10, serve::Filter{}, s, items.data(), 10, vals.data(), 10, counts.data());
    for (std::uint32_t u = 0; u < 6; ++u) {
        const auto want = serve::recommend(m, u, 10, {});
        for (std::size_t j = 0; j < 10; ++j) CHECK(items[u * 10 + j] == want[j].first);
    }
}

TEST_CASE("quant: model files hold the quantized tables; load and memory-map them; bad scales are FORMAT") {
    const MFModel m = random_model(24, 9, 33, 5);
    for (TableType type : {TableType::fp16, TableType::int8})
        for (bool keep : {true, false}) {
            CAPTURE(table_type_name(type));
            CAPTURE(keep);
            MFModel q = m;
            q.quantize(type, keep);
            const std::string path = tmp("rt");
            save_model(q, path);
            for (bool map : {false, true}) {
                OpenOptions o;
                o.map = map;
                const MFModel r = open_model(path, o);
                CHECK(r.identical(q));
                CHECK(r.quant.type == type);
                CHECK(r.has_fp32 == keep);
                if (map) CHECK(r.quant.Q.borrowed());
                CHECK(r.score(3, 7) == q.score(3, 7));
            }
            std::remove(path.c_str());
        }
    // A NaN scale in an int8 file (checksums off, so that the reader's own checks answer).
    MFModel q = m;
    q.quantize(TableType::int8, false);
    q.quant.sQ[2] = std::nanf("");
    const std::string path = tmp("bad");
    save_model(q, path);
    OpenOptions o;
    o.verify = false;
    try {
        (void)open_model(path, o);
        FAIL("a NaN scale was accepted");
    } catch (const Error& e) {
        CHECK(e.status() == SIMDMF_ERR_FORMAT);
        CHECK(std::string(e.what()).find("quant.sQ") != std::string::npos);
    }
    std::remove(path.c_str());
}

TEST_CASE("quant: the re-ranking factor is saved with the tables; files without it serve without; above 1024 is FORMAT") {
    const MFModel m = random_model(16, 6, 40, 8, false);
    const std::string path = tmp("rerank");
    for (std::uint32_t factor : {0u, 4u, 1024u}) {
        CAPTURE(factor);
        MFModel q = m;
        q.quantize(TableType::int8, true);
        q.quant.rerank = factor;
        save_model(q, path);
        for (bool map : {false, true}) {
            OpenOptions o;
            o.map = map;
            const MFModel r = open_model(path, o);
            CHECK(r.quant.rerank == factor);
            // The loaded factor is the one serving uses: with 4, top-3 takes 12 candidates re-scored in fp32.
            std::uint32_t got_i[3], want_i[3];
            float got_v[3], want_v[3];
            const std::size_t ng = serve::recommend_into(r, 2, 3, serve::Filter{}, got_i, got_v);
            const std::size_t nw = serve::recommend_into(q, 2, 3, serve::Filter{}, want_i, want_v);
            REQUIRE(ng == nw);
            for (std::size_t j = 0; j < ng; ++j) CHECK((got_i[j] == want_i[j] && got_v[j] == want_v[j]));
        }
    }
    // Quantizing again keeps the factor; a float model (and so an older file's reader) has none.
    MFModel q = m;
    q.quantize(TableType::fp16, true);
    q.quant.rerank = 3;
    q.quantize(TableType::int8, true);
    CHECK(q.quant.rerank == 3);
    save_model(m, path);
    CHECK(open_model(path, OpenOptions{}).quant.rerank == 0);
    // A factor past the limit (written here by setting the field directly) is refused by the reader.
    q.quant.rerank = kMaxRerank + 1;
    save_model(q, path);
    try {
        (void)open_model(path, OpenOptions{});
        FAIL("a re-ranking factor above the limit was accepted");
    } catch (const Error& e) {
        CHECK(e.status() == SIMDMF_ERR_FORMAT);
        CHECK(std::string(e.what()).find("rerank") != std::string::npos);
    }
    std::remove(path.c_str());
}

TEST_CASE("quant: fold-in on a quantized model that kept fp32 appends a quantized user row") {
    MFModel q = random_model(8, 5, 20, 6);
    q.quantize(TableType::int8, true);
    const std::uint32_t items[] = {1, 4, 9};
    const float values[] = {4, 2, 5};
    const std::uint32_t u = q.fold_in_user(items, values, 3, 0.05, 99);
    CHECK(u == 5);
    CHECK(q.quant.sP.size() == 6);
    CHECK(q.score(u, 4) == doctest::Approx(q.score_fp32(u, 4)).epsilon(0.05));
    MFModel d = random_model(8, 5, 20, 6);
    d.quantize(TableType::fp16, false);
    CHECK_THROWS_AS(d.fold_in_user(items, values, 3, 0.05, 99), Error);
}
