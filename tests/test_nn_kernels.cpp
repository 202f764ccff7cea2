// Neural-network kernels (lib/kernels/nn.hpp): every level compiled in and supported here agrees with
// the scalar table (itself checked against double-precision loops), for widths with and without
// padding, each activation; the padding stays zero.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/nn.hpp"

using namespace simdmf::kernels;

namespace {

constexpr Level kNnLevels[] = {Level::sse2, Level::sse4_2, Level::avx2, Level::avx512, Level::neon};

// n rows of `w` used floats at stride nn_pad(w), padding zero.
std::vector<float> padded(std::mt19937& g, std::size_t n, std::size_t w, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n * nn_pad(w), 0.0f);
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < w; ++j) v[r * nn_pad(w) + j] = d(g);
    return v;
}

void check_close(const std::vector<float>& a, const std::vector<float>& b, float tol, const char* what) {
    REQUIRE(a.size() == b.size());
    for (std::size_t j = 0; j < a.size(); ++j) {
        INFO(what << " at " << j);
        REQUIRE(std::fabs(a[j] - b[j]) <= tol * (1.0f + std::fabs(b[j])));
    }
}

}  // namespace

TEST_CASE("nn dense forward: scalar matches double precision") {
    std::mt19937 g(3);
    const std::size_t n = 4, in = 5, out = 3;
    auto X = padded(g, n, in), W = padded(g, in, out), bias = padded(g, 1, out);
    std::vector<float> Y(n * nn_pad(out), 0.0f);
    for (int act = 0; act < 3; ++act) {
        nn_table_for(Level::scalar)->dense_forward(X.data(), nn_pad(in), n, in, out, W.data(), nn_pad(out),
                                                   bias.data(), Y.data(), nn_pad(out), act, 0.3f);
        for (std::size_t b = 0; b < n; ++b)
            for (std::size_t o = 0; o < out; ++o) {
                double z = bias[o];
                for (std::size_t i = 0; i < in; ++i) z += double(X[b * 16 + i]) * W[i * 16 + o];
                if (act == 1) z = std::max(z, 0.0);
                if (act == 2 && z < 0) z *= 0.3;
                CHECK(Y[b * 16 + o] == doctest::Approx(z).epsilon(1e-5));
            }
    }
}

TEST_CASE("nn adam_catchup: scalar matches dense Adam's zero-gradient steps") {
    // A row last updated at step t0, skipped on steps t0+1 .. t0+d: dense Adam (eps ~0, so the closed
    // form is exact) stepped d times with a zero gradient, against one catch-up call with the
    // coefficients of nn.hpp computed here by their definition.
    const double lr = 0.01, b1 = 0.9, b2 = 0.999;
    const float eps = 1e-30f;
    const NnTable& s = *nn_table_for(Level::scalar);
    for (std::uint64_t t0 : {1u, 40u, 3000u})
        for (std::uint64_t d : {1u, 5u, 60u}) {
            CAPTURE(t0); CAPTURE(d);
            std::mt19937 g(static_cast<unsigned>(t0 + d));
            const std::size_t width = 5, ld = nn_pad(width);
            auto w = padded(g, 1, width), m = padded(g, 1, width, 0.01f), v = padded(g, 1, width, 0.01f);
            for (auto& x : v) x = x * x;
            auto w1 = w, m1 = m, v1 = v;
            std::vector<float> zero(ld, 0.0f);
            double cw = 0;
            for (std::uint64_t j = 1; j <= d; ++j) {
                const double bc1 = 1.0 - std::pow(b1, double(t0 + j)), bc2 = 1.0 - std::pow(b2, double(t0 + j));
                s.adam(w.data(), m.data(), v.data(), zero.data(), width, float(lr / bc1), float(1.0 / std::sqrt(bc2)),
                       float(b1), float(b2), eps, 0.0f);
                cw += lr * std::sqrt(bc2) / bc1 * std::pow(b1 / std::sqrt(b2), double(j));
            }
            const float fcw = float(cw), fcm = float(std::pow(b1, double(d))), fcv = float(std::pow(b2, double(d)));
            const std::uint32_t row = 0;
            s.adam_catchup(w1.data(), m1.data(), v1.data(), ld, &row, 1, width, &fcw, &fcm, &fcv);
            check_close(m1, m, 1e-4f, "catchup m");
            check_close(v1, v, 1e-4f, "catchup v");
            check_close(w1, w, 1e-5f, "catchup w");  // the weights moved as dense Adam moved them
        }
}

TEST_CASE("nn kernels: every level agrees with scalar, padding stays zero") {
    const NnTable& s = *nn_table_for(Level::scalar);
    int levels = 0;
    for (Level lv : kNnLevels) {
        const NnTable* t = nn_table_for(lv);
        if (!t) continue;
        ++levels;
        CAPTURE(level_name(lv));
        std::mt19937 g(7);
        for (std::size_t n : {1u, 5u, 33u})
            for (std::size_t in : {1u, 3u, 16u, 17u, 64u})
                for (std::size_t out : {1u, 8u, 20u, 32u, 150u})
                    for (int act = 0; act < 3; ++act) {
                        CAPTURE(n); CAPTURE(in); CAPTURE(out); CAPTURE(act);
                        const std::size_t li = nn_pad(in), lo = nn_pad(out);
                        auto X = padded(g, n, in), W = padded(g, in, out, 0.3f), bias = padded(g, 1, out);
                        std::vector<float> Y0(n * lo, 0.0f), Y1(n * lo, 0.0f);
                        s.dense_forward(X.data(), li, n, in, out, W.data(), lo, bias.data(), Y0.data(), lo, act, 0.3f);
                        t->dense_forward(X.data(), li, n, in, out, W.data(), lo, bias.data(), Y1.data(), lo, act, 0.3f);
                        check_close(Y1, Y0, 1e-5f, "forward");
                        auto dY0 = padded(g, n, out), dY1 = dY0;
                        auto dW0 = padded(g, in, out), dW1 = dW0, db0 = padded(g, 1, out), db1 = db0;
                        std::vector<float> dX0(n * li, 0.0f), dX1(n * li, 0.0f);
                        s.dense_backward(X.data(), li, n, in, out, W.data(), lo, Y0.data(), dY0.data(), lo, dW0.data(),
                                         db0.data(), dX0.data(), li, act, 0.3f);
                        t->dense_backward(X.data(), li, n, in, out, W.data(), lo, Y0.data(), dY1.data(), lo, dW1.data(),
                                          db1.data(), dX1.data(), li, act, 0.3f);
                        check_close(dY1, dY0, 1e-6f, "dZ");
                        check_close(dW1, dW0, 1e-5f, "dW");
                        check_close(db1, db0, 1e-5f, "db");
                        check_close(dX1, dX0, 1e-5f, "dX");
                    }
        // Gather, scatter (repeated rows add up), Adam dense and lazy, SGD.
        const std::size_t rows = 10, width = 24, ld = nn_pad(width);
        auto table = padded(g, rows, width);
        const std::vector<std::uint32_t> idx = {3, 0, 3, 9, 5};
        std::vector<float> o0(idx.size() * ld, 0.0f), o1 = o0;
        s.gather(table.data(), ld, idx.data(), idx.size(), width, o0.data(), ld);
        t->gather(table.data(), ld, idx.data(), idx.size(), width, o1.data(), ld);
        check_close(o1, o0, 0.0f, "gather");
        auto gr = padded(g, idx.size(), width);
        auto t0 = table, t1 = table;
        s.scatter_add(t0.data(), ld, idx.data(), idx.size(), width, gr.data(), ld);
        t->scatter_add(t1.data(), ld, idx.data(), idx.size(), width, gr.data(), ld);
        check_close(t1, t0, 0.0f, "scatter");
        CHECK(t0[3 * ld] == doctest::Approx(table[3 * ld] + gr[0] + gr[2 * ld]));
        for (std::size_t n : {1u, 7u, 16u, 37u, 240u}) {
            auto w0 = padded(g, 1, n), m0 = padded(g, 1, n, 0.1f), v0 = padded(g, 1, n, 0.1f), g0 = padded(g, 1, n);
            for (auto& x : v0) x = x * x;
            auto w1 = w0, m1 = m0, v1 = v0, g1 = g0;
            s.adam(w0.data(), m0.data(), v0.data(), g0.data(), n, 0.01f, 1.2f, 0.9f, 0.999f, 1e-8f, 0.1f);
            t->adam(w1.data(), m1.data(), v1.data(), g1.data(), n, 0.01f, 1.2f, 0.9f, 0.999f, 1e-8f, 0.1f);
            check_close(w1, w0, 1e-6f, "adam w");
            check_close(m1, m0, 1e-6f, "adam m");
            check_close(v1, v0, 1e-6f, "adam v");
            check_close(g1, g0, 0.0f, "adam g");
            for (float x : g1) REQUIRE(x == 0.0f);
            auto gg = padded(g, 1, n), s0 = w0, s1 = w0, gg1 = gg;
            s.sgd_update(s0.data(), gg.data(), n, 0.1f, 0.01f);
            t->sgd_update(s1.data(), gg1.data(), n, 0.1f, 0.01f);
            check_close(s1, s0, 1e-6f, "sgd");
        }
        const std::vector<std::uint32_t> touched = {0, 4, 9};
        auto w0 = table, m0 = padded(g, rows, width, 0.1f), v0 = padded(g, rows, width, 0.1f), g0 = padded(g, rows, width);
        for (auto& x : v0) x = x * x;
        auto w1 = w0, m1 = m0, v1 = v0, g1 = g0;
        s.adam_rows(w0.data(), m0.data(), v0.data(), g0.data(), ld, touched.data(), touched.size(), width, 0.01f, 1.1f,
                    0.9f, 0.999f, 1e-8f, 0.0f);
        t->adam_rows(w1.data(), m1.data(), v1.data(), g1.data(), ld, touched.data(), touched.size(), width, 0.01f, 1.1f,
                     0.9f, 0.999f, 1e-8f, 0.0f);
        check_close(w1, w0, 1e-6f, "adam_rows w");
        check_close(g1, g0, 0.0f, "adam_rows g");
        CHECK(w0[1 * ld] == table[1 * ld]);  // an untouched row is left alone
        CHECK(w0[0] != table[0]);
        {  // Catch-up lazy Adam: the level against scalar, per-row coefficients (row 4's: no skipped step)
            const std::vector<float> cw = {0.02f, 0.0f, 0.5f}, cm = {0.5f, 1.0f, 0.01f}, cv = {0.9f, 1.0f, 0.7f};
            auto w2 = table, m2 = padded(g, rows, width, 0.1f), v2 = padded(g, rows, width, 0.1f);
            for (auto& x : v2) x = x * x;
            for (std::size_t j = 0; j < width; j += 3) m2[9 * ld + j] = v2[9 * ld + j] = 0.0f;  // never-updated entries
            auto w3 = w2, m3 = m2, v3 = v2;
            s.adam_catchup(w2.data(), m2.data(), v2.data(), ld, touched.data(), touched.size(), width, cw.data(),
                           cm.data(), cv.data());
            t->adam_catchup(w3.data(), m3.data(), v3.data(), ld, touched.data(), touched.size(), width, cw.data(),
                            cm.data(), cv.data());
            check_close(w3, w2, 1e-6f, "adam_catchup w");
            check_close(m3, m2, 1e-6f, "adam_catchup m");
            check_close(v3, v2, 1e-6f, "adam_catchup v");
            for (float x : w3) REQUIRE(std::isfinite(x));
            CHECK(w3[1 * ld] == table[1 * ld]);  // not listed
            CHECK(w3[4 * ld] == table[4 * ld]);  // listed, nothing skipped
            CHECK(w3[0] != table[0]);
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = width; j < ld; ++j) REQUIRE(w3[r * ld + j] == 0.0f);  // padding
        }
        // The 1-unit output: every row count around the vector width (whole blocks and leftovers),
        // widths within one vector and across several; each row's own sum (lane order checked).
        for (std::size_t w : {1u, 8u, 16u, 24u, 40u})
            for (std::size_t n : {1u, 3u, 15u, 16u, 17u, 33u, 70u}) {
                CAPTURE(w); CAPTURE(n);
                auto R = padded(g, n, w), x = padded(g, 1, w);
                std::vector<float> d0(n, -1.0f), d1(n, -1.0f), ref(n, 0.0f);
                for (std::size_t b = 0; b < n; ++b) {
                    double acc = 0;
                    for (std::size_t j = 0; j < w; ++j) acc += double(R[b * nn_pad(w) + j]) * x[j];
                    ref[b] = static_cast<float>(acc);
                }
                s.dot_rows(R.data(), nn_pad(w), n, x.data(), w, d0.data());
                t->dot_rows(R.data(), nn_pad(w), n, x.data(), w, d1.data());
                check_close(d0, ref, 1e-5f, "dot_rows scalar");
                check_close(d1, d0, 1e-5f, "dot_rows");
            }
    }
    MESSAGE(levels << " SIMD levels checked");
}

TEST_CASE("nn logistic_grad: scalar matches double precision, every level agrees with scalar") {
    std::mt19937 g(11);
    std::normal_distribution<float> d(0.0f, 4.0f);
    for (std::size_t n : {1u, 7u, 16u, 33u, 256u}) {
        CAPTURE(n);
        std::vector<float> s(n), y(n), ds0(n), ds1(n);
        for (std::size_t j = 0; j < n; ++j) {
            s[j] = d(g);
            y[j] = (g() & 1) ? 1.0f : -1.0f;
        }
        s[0] = n > 1 ? 120.0f : -120.0f;  // far out: exp underflows, no NaN
        const float scale = 1.0f / float(n);
        const double L0 = nn_table_for(Level::scalar)->logistic_grad(s.data(), y.data(), n, scale, ds0.data());
        double ref = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const double z = s[j], y01 = y[j] > 0 ? 1.0 : 0.0, p = 1.0 / (1.0 + std::exp(-z));
            ref += std::log1p(std::exp(-std::fabs(z))) + std::max(z, 0.0) - y01 * z;
            INFO("j " << j);
            REQUIRE(std::fabs(ds0[j] - scale * (p - y01)) <= scale * 1e-6);  // sigmoid's float error ~1e-7
        }
        CHECK(L0 == doctest::Approx(ref).epsilon(1e-5));
        for (Level lv : kNnLevels) {
            const NnTable* t = nn_table_for(lv);
            if (!t) continue;
            CAPTURE(level_name(lv));
            std::fill(ds1.begin(), ds1.end(), -7.0f);
            const double L1 = t->logistic_grad(s.data(), y.data(), n, scale, ds1.data());
            CHECK(L1 == doctest::Approx(L0).epsilon(1e-5));
            for (std::size_t j = 0; j < n; ++j) REQUIRE(std::fabs(ds1[j] - ds0[j]) <= scale * 1e-6f);
        }
    }
}

namespace {

// A random CSR matrix of `rows` rows over `cols` columns (some rows empty, one with a repeated column).
struct Csr {
    std::vector<std::uint64_t> ptr{0};
    std::vector<std::uint32_t> idx;
    std::vector<float> val;
};
Csr random_csr(std::mt19937& g, std::size_t rows, std::size_t cols) {
    Csr m;
    for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t nnz = r % 4 == 1 ? 0 : g() % 30;
        for (std::size_t t = 0; t < nnz; ++t) {
            m.idx.push_back(static_cast<std::uint32_t>(g() % cols));
            m.val.push_back(1.0f + float(g() % 5));
        }
        if (r == 2 && nnz > 1) m.idx.back() = m.idx.front();  // a repeated column adds up
        m.ptr.push_back(m.idx.size());
    }
    return m;
}

}  // namespace

TEST_CASE("nn sparse input layer: scalar matches double precision; every level agrees with scalar") {
    std::mt19937 g(19);
    const std::size_t rows = 12, cols = 40;
    const Csr x = random_csr(g, rows, cols);
    const std::vector<std::uint32_t> batch = {2, 0, 5, 2, 11, 1, 7};  // repeated and empty rows
    for (std::size_t width : {1u, 8u, 16u, 30u, 33u, 80u}) {
        CAPTURE(width);
        const std::size_t ld = nn_pad(width), n = batch.size();
        auto W = padded(g, cols, width, 0.3f), bias = padded(g, 1, width);
        // Skip: the second pair leaves out the first entry of its row's columns; the others none.
        std::vector<std::uint32_t> skip(n, UINT32_MAX);
        skip[0] = x.idx[x.ptr[2]];
        std::vector<float> o0(n * ld, 0.0f);
        const NnTable& s = *nn_table_for(Level::scalar);
        s.sparse_forward(W.data(), ld, x.ptr.data(), x.idx.data(), x.val.data(), batch.data(), n, skip.data(), width,
                         bias.data(), o0.data(), ld);
        for (std::size_t b = 0; b < n; ++b)
            for (std::size_t c = 0; c < width; ++c) {
                double z = bias[c];
                for (std::uint64_t t = x.ptr[batch[b]]; t < x.ptr[batch[b] + 1]; ++t)
                    if (x.idx[t] != skip[b]) z += double(x.val[t]) * W[x.idx[t] * ld + c];
                INFO("b " << b << " c " << c);
                REQUIRE(o0[b * ld + c] == doctest::Approx(z).epsilon(1e-5));
            }
        auto d = padded(g, n, width);
        auto dW0 = padded(g, cols, width), db0 = padded(g, 1, width);
        const auto dW_in = dW0, db_in = db0;
        s.sparse_backward(dW0.data(), ld, x.ptr.data(), x.idx.data(), x.val.data(), batch.data(), n, skip.data(), width,
                          d.data(), ld, db0.data());
        // Against the dense product: dW = dW_in + X_batch^T d (skipped entries out), db = db_in + sum d.
        std::vector<double> ref(cols * ld, 0.0), rb(ld, 0.0);
        for (std::size_t b = 0; b < n; ++b)
            for (std::size_t c = 0; c < width; ++c) {
                rb[c] += d[b * ld + c];
                for (std::uint64_t t = x.ptr[batch[b]]; t < x.ptr[batch[b] + 1]; ++t)
                    if (x.idx[t] != skip[b]) ref[x.idx[t] * ld + c] += double(x.val[t]) * d[b * ld + c];
            }
        for (std::size_t j = 0; j < cols * ld; ++j) REQUIRE(dW0[j] == doctest::Approx(dW_in[j] + ref[j]).epsilon(1e-5));
        for (std::size_t c = 0; c < ld; ++c) REQUIRE(db0[c] == doctest::Approx(db_in[c] + rb[c]).epsilon(1e-5));
        // The skipped entry really is left out (not a no-op check): without skip, the first pair differs.
        std::vector<float> o_all(n * ld, 0.0f);
        s.sparse_forward(W.data(), ld, x.ptr.data(), x.idx.data(), x.val.data(), batch.data(), n, nullptr, width,
                         bias.data(), o_all.data(), ld);
        CHECK(o_all[0] != o0[0]);
        for (Level lv : kNnLevels) {
            const NnTable* t = nn_table_for(lv);
            if (!t) continue;
            CAPTURE(level_name(lv));
            std::vector<float> o1(n * ld, 0.0f);
            t->sparse_forward(W.data(), ld, x.ptr.data(), x.idx.data(), x.val.data(), batch.data(), n, skip.data(),
                              width, bias.data(), o1.data(), ld);
            check_close(o1, o0, 1e-5f, "sparse_forward");
            for (std::size_t b = 0; b < n; ++b)
                for (std::size_t c = width; c < ld; ++c) REQUIRE(o1[b * ld + c] == 0.0f);
            auto dW1 = dW_in, db1 = db_in;
            t->sparse_backward(dW1.data(), ld, x.ptr.data(), x.idx.data(), x.val.data(), batch.data(), n, skip.data(),
                               width, d.data(), ld, db1.data());
            check_close(dW1, dW0, 1e-5f, "sparse_backward dW");
            check_close(db1, db0, 1e-5f, "sparse_backward db");
        }
    }
}
