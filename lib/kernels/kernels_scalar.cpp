// Scalar kernels: plain C++, written for clarity. This is the reference every SIMD level is tested
// against, and the fallback on CPUs without any SIMD level. The fused SGD steps follow the textbook
// rule literally: e = r - (offset + p.q); p += lr_p (e q - l2_p p); q += lr_q (e p_old - l2_q q).
// dot sums left to right in one float: error bound ~ n * eps * sum|a_i b_i|. gram, cholesky,
// cholesky_solve and implicit_matvec are the textbook loops (upper triangle, row-oriented).
#include <math.h>  // ::expf

#include <cstddef>
#include <cstring>
#include <cstdint>
#include <bit>

#include "kernels/tables.hpp"
#define SIMDMF_KERNEL_NS impl_scalar_quant
#include "kernels/quant_impl.hpp"

namespace simdmf::kernels {
namespace {

float stable_sigmoid(float z) {
    if (z >= 0.0f) return 1.0f / (1.0f + ::expf(-z));
    const float e = ::expf(z);
    return e / (1.0f + e);
}

float dot(const float* a, const float* b, std::size_t n) {
    float s = 0.0f;
    for (std::size_t j = 0; j < n; ++j) s += a[j] * b[j];
    return s;
}

void update_rows(float* p, float* q, std::size_t n, float e, float lr_p, float lr_q, float l2_p,
                 float l2_q) {
    for (std::size_t j = 0; j < n; ++j) {
        const float p_old = p[j];
        p[j] += lr_p * (e * q[j] - l2_p * p_old);
        q[j] += lr_q * (e * p_old - l2_q * q[j]);
    }
}

float sgd_squared(float* p, float* q, std::size_t n, float offset, float r, float lr_p, float lr_q,
                  float l2_p, float l2_q) {
    const float e = r - (offset + dot(p, q, n));
    update_rows(p, q, n, e, lr_p, lr_q, l2_p, l2_q);
    return e;
}

float sgd_logistic(float* p, float* q, std::size_t n, float offset, float y, float lr_p, float lr_q,
                   float l2_p, float l2_q) {
    const float e = y - stable_sigmoid(offset + dot(p, q, n));
    update_rows(p, q, n, e, lr_p, lr_q, l2_p, l2_q);
    return e;
}

void axpy(std::size_t n, float a, const float* x, float* y) {
    for (std::size_t j = 0; j < n; ++j) y[j] += a * x[j];
}

void dot_rows(const float* rows, std::size_t n_rows, std::size_t stride, const float* x,
              std::size_t n, float* out) {
    for (std::size_t r = 0; r < n_rows; ++r) out[r] = dot(rows + r * stride, x, n);
}

void sigmoid(const float* in, float* out, std::size_t n) {
    for (std::size_t j = 0; j < n; ++j) out[j] = stable_sigmoid(in[j]);
}

float sgd_adagrad(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q,
                  float l2_p, float l2_q, int logistic, float* g2) {
    const float z = offset + dot(p, q, n);
    const float e = target - (logistic ? stable_sigmoid(z) : z);
    float tp = 0.0f, tq = 0.0f;
    for (std::size_t j = 0; j < n; ++j) {
        const float p_old = p[j];
        const float gp = e * q[j] - l2_p * p_old, gq = e * p_old - l2_q * q[j];
        p[j] += lr_p * gp;
        q[j] += lr_q * gq;
        tp += gp * gp;
        tq += gq * gq;
    }
    g2[0] = tp;
    g2[1] = tq;
    return e;
}

// No specialised versions: the one function of each loss serves every length; a pair is two calls.
SgdFn sgd_for_length(std::size_t /*n*/, int logistic) { return logistic ? &sgd_logistic : &sgd_squared; }

template <SgdFn F>
void pair_of(float* p0, float* q0, float* p1, float* q1, std::size_t n, float offset0, float target0,
             float offset1, float target1, float lr_p, float lr_q, float l2_p, float l2_q, float* e) {
    e[0] = F(p0, q0, n, offset0, target0, lr_p, lr_q, l2_p, l2_q);
    e[1] = F(p1, q1, n, offset1, target1, lr_p, lr_q, l2_p, l2_q);
}

SgdPairFn sgd_pair_for_length(std::size_t /*n*/, int logistic) {
    return logistic ? &pair_of<&sgd_logistic> : &pair_of<&sgd_squared>;
}

template <int Logistic>
float adagrad(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q, float l2_p,
              float l2_q, float* g2) {
    return sgd_adagrad(p, q, n, offset, target, lr_p, lr_q, l2_p, l2_q, Logistic, g2);
}

template <int Logistic>
void adagrad_pair(float* p0, float* q0, float* p1, float* q1, std::size_t n, const float* a, float l2_p,
                  float l2_q, float* out) {
    out[0] = adagrad<Logistic>(p0, q0, n, a[0], a[1], a[2], a[3], l2_p, l2_q, out + 2);
    out[1] = adagrad<Logistic>(p1, q1, n, a[4], a[5], a[6], a[7], l2_p, l2_q, out + 4);
}

AdagradFn adagrad_for_length(std::size_t /*n*/, int logistic) { return logistic ? &adagrad<1> : &adagrad<0>; }
AdagradPairFn adagrad_pair_for_length(std::size_t /*n*/, int logistic) {
    return logistic ? &adagrad_pair<1> : &adagrad_pair<0>;
}

// The upper triangle of A += sum_j w_j x_j x_j^T and b += sum_j c_j x_j, entry by entry, j in order.
void gram(float* A, std::size_t lda, float* b, const float* const* rows, const float* w, const float* c,
          std::size_t m, std::size_t n) {
    for (std::size_t j = 0; j < m; ++j) {
        const float* x = rows[j];
        const float wj = w ? w[j] : 1.0f;
        for (std::size_t a = 0; a < n; ++a) {
            const float wa = wj * x[a];
            for (std::size_t col = a; col < n; ++col) A[a * lda + col] += wa * x[col];
            b[a] += c[j] * x[a];
        }
    }
}

// Right-looking Cholesky on rows: pivot j scales row j, then every later row i loses U_ji * row j.
int cholesky(float* A, std::size_t lda, std::size_t n) {
    for (std::size_t j = 0; j < n; ++j) {
        float* uj = A + j * lda;
        const float d = uj[j];
        if (!(d > 0.0f)) return static_cast<int>(j + 1);
        const float s = ::sqrtf(d), inv = 1.0f / s;
        uj[j] = s;
        for (std::size_t col = j + 1; col < n; ++col) uj[col] *= inv;
        for (std::size_t i = j + 1; i < n; ++i) {
            float* ui = A + i * lda;
            const float f = uj[i];
            for (std::size_t col = i; col < n; ++col) ui[col] -= f * uj[col];
        }
    }
    return 0;
}

// U^T y = b (forward, by rows of U), then U x = y (back, dots with rows of U).
void cholesky_solve(const float* U, std::size_t lda, std::size_t n, float* b) {
    for (std::size_t j = 0; j < n; ++j) {
        const float* uj = U + j * lda;
        b[j] /= uj[j];
        for (std::size_t col = j + 1; col < n; ++col) b[col] -= b[j] * uj[col];
    }
    for (std::size_t j = n; j-- > 0;) {
        const float* uj = U + j * lda;
        float s = b[j];
        for (std::size_t col = j + 1; col < n; ++col) s -= uj[col] * b[col];
        b[j] = s / uj[j];
    }
}

// Serving GEMM on panels of 4 items: C = A B^T by plain dot loops over the packed layout.
constexpr std::size_t kPanel = 4;

void pack_panels(const float* B, std::size_t nb, std::size_t ldb, std::size_t k, float* out) {
    for (std::size_t p0 = 0; p0 < nb; p0 += kPanel)
        for (std::size_t j = 0; j < kPanel; ++j)
            for (std::size_t t = 0; t < k; ++t)
                out[p0 * k + t * kPanel + j] = p0 + j < nb ? B[(p0 + j) * ldb + t] : 0.0f;
}

void gemm_packed(const float* const* a, std::size_t m, const float* panels, std::size_t nb, std::size_t k, float* C,
                 std::size_t ldc, const float* thr, std::uint8_t* hit) {
    for (std::size_t r = 0; r < m; ++r) {
        if (thr) hit[r] = 0;
        for (std::size_t j = 0; j < nb; ++j) {
            const float* panel = panels + (j / kPanel) * kPanel * k;
            float s = 0.0f;
            for (std::size_t t = 0; t < k; ++t) s += a[r][t] * panel[t * kPanel + j % kPanel];
            C[r * ldc + j] = s;
            if (thr && s > thr[j]) hit[r] = 1;
        }
    }
}

std::size_t find_above(const float* s, std::size_t n, float thr) {
    for (std::size_t j = 0; j < n; ++j)
        if (s[j] > thr) return j;
    return n;
}

std::size_t find_above_rows(const float* C, std::size_t rows, std::size_t width, std::size_t ld, const float* thr) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t l = 0; l < width; ++l)
            if (C[r * ld + l] > thr[l]) return r;
    return rows;
}

// BPR: x = offset + p.(qi - qj) summed left to right, g = 1 - sigmoid(x), the textbook updates.
float bpr(float* p, float* qi, float* qj, std::size_t n, float offset, float lr_p, float lr_q, float l2_p,
          float l2_q) {
    float x = 0.0f;
    for (std::size_t j = 0; j < n; ++j) x += p[j] * (qi[j] - qj[j]);
    const float g = stable_sigmoid(-(offset + x));
    for (std::size_t j = 0; j < n; ++j) {
        const float p_old = p[j];
        p[j] += lr_p * (g * (qi[j] - qj[j]) - l2_p * p_old);
        qi[j] += lr_q * (g * p_old - l2_q * qi[j]);
        qj[j] += lr_q * (-g * p_old - l2_q * qj[j]);
    }
    return g;
}

BprFn bpr_for_length(std::size_t) { return &bpr; }

// The BPR block as its definition reads (kernels.hpp, BprBlock): per triple the step above, the biases, the
// loss's running product; no prefetch.
void bpr_block(BprBlock& b) {
    b.steps = 0;
    for (std::size_t t = 0; t < b.count; ++t) {
        const std::uint32_t j = b.j[t];
        if (j == kBprSkip) continue;
        const std::uint32_t u = b.u0 + b.ui[t * b.ui_step], i = b.i0 + b.ui[t * b.ui_step + 1];
        const float off = b.bi ? b.bi[i] - b.bi[j] : 0.0f;
        const float g = bpr(b.P + std::size_t(u) * b.stride, b.Q + std::size_t(i) * b.stride,
                            b.Q + std::size_t(j) * b.stride, b.n, off, b.lr, b.lr, b.l2, b.l2);
        if (b.bi) {
            b.bi[i] += b.lr * (g - b.l2b * b.bi[i]);
            b.bi[j] += b.lr * (-g - b.l2b * b.bi[j]);
        }
        b.loss_prod *= std::max(1.0 - g, 1e-12);
        if (b.loss_prod < 1e-280) {
            b.loss_sum -= std::log(b.loss_prod);
            b.loss_prod = 1.0;
        }
        ++b.steps;
    }
}

BprBlockFn bpr_block_for_length(std::size_t) { return &bpr_block; }

// out = G v (rows of G scaled by v's entries), then + w_j (x_j . v) x_j for each event row.
void implicit_matvec(const float* G, std::size_t lda, const float* const* rows, const float* w, std::size_t m,
                     std::size_t n, const float* v, float* out) {
    const std::size_t np = (n + 15) / 16 * 16;
    for (std::size_t c = 0; c < np; ++c) out[c] = 0.0f;
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t c = 0; c < n; ++c) out[c] += v[a] * G[a * lda + c];
    for (std::size_t j = 0; j < m; ++j) {
        const float s = w[j] * dot(rows[j], v, n);
        for (std::size_t c = 0; c < n; ++c) out[c] += s * rows[j][c];
    }
}

// The textbook CG: r = b - A x, p = r, then each step A p by implicit_matvec plus reg p.
void implicit_cg(const float* G, std::size_t lda, const float* const* rows, const float* wd, const float* c,
                 std::size_t m, std::size_t n, float reg, unsigned steps, float* x, float* scratch) {
    const std::size_t np = (n + 15) / 16 * 16;
    float *r = scratch, *p = scratch + np, *Ap = scratch + 2 * np;
    implicit_matvec(G, lda, rows, wd, m, n, x, Ap);
    for (std::size_t t = 0; t < np; ++t) r[t] = -(Ap[t] + reg * x[t]);
    for (std::size_t j = 0; j < m; ++j)
        for (std::size_t t = 0; t < n; ++t) r[t] += c[j] * rows[j][t];
    for (std::size_t t = 0; t < np; ++t) p[t] = r[t];
    float rs = dot(r, r, n);
    for (unsigned step = 0; step < steps && rs > 1e-20f; ++step) {
        implicit_matvec(G, lda, rows, wd, m, n, p, Ap);
        for (std::size_t t = 0; t < n; ++t) Ap[t] += reg * p[t];
        const float pAp = dot(p, Ap, n);
        if (!(pAp > 0.0f)) break;
        const float alpha = rs / pAp;
        for (std::size_t t = 0; t < n; ++t) x[t] += alpha * p[t], r[t] -= alpha * Ap[t];
        const float rs_new = dot(r, r, n);
        const float beta = rs_new / rs;
        for (std::size_t t = 0; t < n; ++t) p[t] = r[t] + beta * p[t];
        rs = rs_new;
    }
}

}  // namespace

namespace {

// Slicing-by-8 over the reflected Castagnoli polynomial 0x82F63B78 (tables built at compile time).
struct Crc32cTables {
    std::uint32_t t[8][256];
};
constexpr Crc32cTables make_crc_tables() {
    Crc32cTables x{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        x.t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
        for (int s = 1; s < 8; ++s) x.t[s][i] = (x.t[s - 1][i] >> 8) ^ x.t[0][x.t[s - 1][i] & 0xFF];
    return x;
}
constexpr Crc32cTables kCrc = make_crc_tables();

}  // namespace

std::uint32_t crc32c_soft(std::uint32_t crc, const unsigned char* p, std::size_t n) {
    const auto& t = kCrc.t;
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
        w ^= crc;
        crc = t[7][w & 0xFF] ^ t[6][(w >> 8) & 0xFF] ^ t[5][(w >> 16) & 0xFF] ^ t[4][(w >> 24) & 0xFF] ^
              t[3][(w >> 32) & 0xFF] ^ t[2][(w >> 40) & 0xFF] ^ t[1][(w >> 48) & 0xFF] ^ t[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFF];
    return crc;
}

namespace {
constexpr Table make_scalar_table() {
    Table t{};
    t.dot = &dot;
    t.axpy = &axpy;
    t.dot_rows = &dot_rows;
    t.sigmoid = &sigmoid;
    t.crc32c = &crc32c_soft;
    t.sgd_squared = &sgd_squared;
    t.sgd_logistic = &sgd_logistic;
    t.sgd_adagrad = &sgd_adagrad;
    t.sgd_for_length = &sgd_for_length;
    t.sgd_pair_for_length = &sgd_pair_for_length;
    t.adagrad_for_length = &adagrad_for_length;
    t.adagrad_pair_for_length = &adagrad_pair_for_length;
    t.bpr = &bpr;
    t.bpr_for_length = &bpr_for_length;
    t.bpr_block_for_length = &bpr_block_for_length;
    t.gram = &gram;
    t.cholesky = &cholesky;
    t.cholesky_solve = &cholesky_solve;
    t.implicit_matvec = &implicit_matvec;
    t.implicit_cg = &implicit_cg;
    t.panel = kPanel;
    t.pack_panels = &pack_panels;
    t.gemm_packed = &gemm_packed;
    t.find_above = &find_above;
    t.find_above_rows = &find_above_rows;
    t.dot_rows_f16 = &impl_scalar_quant::dot_rows_f16;
    t.dot_rows_i8 = &impl_scalar_quant::dot_rows_i8;
    t.dot_rows_i8f = &impl_scalar_quant::dot_rows_i8f;
    t.f32_to_f16 = &impl_scalar_quant::f32_to_f16;
    t.f16_to_f32 = &impl_scalar_quant::f16_to_f32;
    t.i8_panel = 8;
    t.gemm_i8 = &impl_scalar_quant::gemm_i8;
    t.level = Level::scalar;
    t.name = "scalar";
    return t;
}
}  // namespace

const Table& table_scalar() {
    static constexpr Table table = make_scalar_table();
    return table;
}

}  // namespace simdmf::kernels
