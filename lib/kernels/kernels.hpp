// SIMD kernels: the one dispatch point of simdmf.
//
// Every kernel exists once as a template on the xsimd architecture (kernels_impl.hpp) and is compiled
// once per instruction-set level in its own translation unit with its own flags. A level's functions
// are gathered in a Table; the library calls kernels only through `active()`, which is chosen once, at
// first use, from what the CPU *and* the OS support, optionally lowered by the environment variable
// SIMDMF_SIMD (scalar, sse2, sse4.2, avx2, avx512, neon).
//
// Contract shared by all levels:
//   * n >= 0 is any length; pointers need no alignment (the model's rows are 64-byte aligned and
//     zero-padded to a multiple of 16 floats, so the trainer's calls have no tail).
//   * Results agree with the scalar table within float rounding of a different summation order.
#pragma once
#include <cstddef>
#include <cstdint>

namespace simdmf::kernels {

// Values are stable: they are reported through the C ABI (simdmf_simd_level).
enum class Level : int { scalar = 0, sse2 = 1, sse4_2 = 2, avx2 = 3, avx512 = 4, neon = 5 };

// The signature of the fused SGD steps (Table::sgd_squared, Table::sgd_logistic).
using SgdFn = float (*)(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q,
                        float l2_p, float l2_q);

// Two fused steps at once (Table::sgd_pair_for_length): rating 0 on rows (p0, q0), rating 1 on (p1, q1),
// e[0], e[1] their errors. The four rows must be distinct (the caller checks: users differ and items
// differ); then the result is bit-identical to the two single steps one after the other, and the two
// dot -> error -> update chains overlap.
using SgdPairFn = void (*)(float* p0, float* q0, float* p1, float* q1, std::size_t n, float offset0, float target0,
                           float offset1, float target1, float lr_p, float lr_q, float l2_p, float l2_q, float* e);

// The AdaGrad step for one length and loss (Table::adagrad_for_length): sgd_adagrad without `logistic`.
using AdagradFn = float (*)(float* p, float* q, std::size_t n, float offset, float target, float lr_p, float lr_q,
                            float l2_p, float l2_q, float* g2);

// Two AdaGrad steps at once on distinct rows, as SgdPairFn: a[4r .. 4r+3] = offset, target, lr_p, lr_q of
// rating r; out = e0, e1, then g2 of rating 0 (p, q), then of rating 1. Bit-identical to the two steps.
using AdagradPairFn = void (*)(float* p0, float* q0, float* p1, float* q1, std::size_t n, const float* a,
                               float l2_p, float l2_q, float* out);

// The fused BPR step (MfKernels::bpr, bpr_for_length): user row p, positive item row qi, negative qj.
using BprFn = float (*)(float* p, float* qi, float* qj, std::size_t n, float offset, float lr_p, float lr_q,
                        float l2_p, float l2_q);

// A block of BPR triples in order (MfKernels::bpr_block_for_length): triple t is user u0 + ui[t * ui_step],
// positive item i0 + ui[t * ui_step + 1] (16-bit block-local indices, as the solvers' rating grid holds them)
// and negative j[t] (kBprSkip: no negative, the triple is skipped). Each is the step bpr_for_length(n) makes
// on rows P + u stride, Q + i stride, Q + j stride with lr_p = lr_q = lr, l2_p = l2_q = l2 and offset
// bi[i] - bi[j] (bi null: 0), then bi[i] += lr (g - l2b bi[i]), bi[j] += lr (-g - l2b bi[j]). The loss
// -ln sigmoid(x) = -ln(1 - g) is kept as a running product (prod *= max(1 - g, 1e-12); below 1e-280 it is
// added to sum as -ln prod and reset to 1). With prefetch the rows of the triple 16 ahead are prefetched.
struct BprBlock {
    float* P;
    float* Q;
    float* bi;  // item biases, or null
    std::size_t stride, n;
    const std::uint16_t* ui;
    std::size_t ui_step;
    std::uint32_t u0, i0;
    const std::uint32_t* j;
    std::size_t count;
    float lr, l2, l2b;
    bool prefetch;
    double loss_sum, loss_prod;  // in and out
    std::size_t steps;           // out: triples not skipped
};
inline constexpr std::uint32_t kBprSkip = 0xFFFFFFFFu;
using BprBlockFn = void (*)(BprBlock& b);

// The kernels come in families by purpose, each a struct of function pointers; a level's Table holds
// them all (so a call reads `active().dot`, `active().gram`), and the one dispatch point chooses the
// whole Table at once. The neural CF kernels are a family of their own (nn.hpp: NnTable, nn_active(),
// chosen with the same level).

// Vectors and bytes: dot products, axpy, rows against a vector, the sigmoid, the CRC-32C of files.
struct VectorKernels {
    // sum_j a[j] * b[j]
    float (*dot)(const float* a, const float* b, std::size_t n);

    // y[j] += a * x[j]
    void (*axpy)(std::size_t n, float a, const float* x, float* y);

    // out[r] = dot(rows + r*stride, x, n) for r in [0, n_rows)
    void (*dot_rows)(const float* rows, std::size_t n_rows, std::size_t stride, const float* x,
                     std::size_t n, float* out);

    // out[j] = 1 / (1 + exp(-in[j])), max abs error <= 1e-6, in == out allowed
    void (*sigmoid)(const float* in, float* out, std::size_t n);

    // crc32c: the CRC-32C (Castagnoli) register after n more bytes, without the initial and final
    // inversion (lib/io/fileio.cpp's crc32c adds them). Bit-identical at every level: SSE4.2 and above
    // use the CRC32 instruction, NEON the ARMv8 CRC instructions where the compiler targets them, the
    // others slicing-by-8 tables (crc32c_soft).
    std::uint32_t (*crc32c)(std::uint32_t crc, const unsigned char* p, std::size_t n);
};

// Matrix factorization's fused SGD and AdaGrad steps (lib/solvers/sgd.cpp).
struct MfKernels {
    // Fused SGD step, squared loss, one pass over both rows:
    //   e = r - (offset + p.q);  p += lr_p * (e*q - l2_p*p);  q += lr_q * (e*p_old - l2_q*q);  return e.
    float (*sgd_squared)(float* p, float* q, std::size_t n, float offset, float r, float lr_p,
                         float lr_q, float l2_p, float l2_q);

    // Fused SGD step, logistic loss with label y in {0, 1}:
    //   e = y - sigmoid(offset + p.q);  then the same row updates as sgd_squared;  return e.
    // The SIMD levels compute this sigmoid inline (kernels_impl.hpp, sigmoid_inline: abs error
    // <= ~1.1e-7, exactly 1 for z >= 16.5, 0 for z <= -16.5, NaN for NaN); also in sgd_adagrad.
    float (*sgd_logistic)(float* p, float* q, std::size_t n, float offset, float y, float lr_p,
                          float lr_q, float l2_p, float l2_q);

    // Fused AdaGrad step (Chin et al., PAKDD 2015): e as sgd_squared (logistic = 0) or sgd_logistic
    // (logistic = 1), then the textbook update with the ascent directions gp = e*q - l2_p*p and
    // gq = e*p_old - l2_q*q:  p += lr_p * gp;  q += lr_q * gq;  g2[0] = |gp|^2, g2[1] = |gq|^2;
    // return e. The caller turns g2 into per-row learning rates.
    float (*sgd_adagrad)(float* p, float* q, std::size_t n, float offset, float target, float lr_p,
                         float lr_q, float l2_p, float l2_q, int logistic, float* g2);

    // The fused step for rows of length n, chosen once by a caller that makes many steps of one
    // length (the trainer): a function that computes what sgd_squared (logistic = 0) or sgd_logistic
    // (logistic = 1) computes, for calls with this n only; the same function for every thread. Where a
    // level has a version specialised for n (rows held in registers), it is that one, and a call pays
    // no dispatch on n; otherwise it is the level's general path for any n. sgd_squared and
    // sgd_logistic are this choice followed by the call.
    SgdFn (*sgd_for_length)(std::size_t n, int logistic);

    // The pair of fused steps for rows of length n (see SgdPairFn), chosen once as sgd_for_length; each
    // of its two steps computes bit for bit what sgd_for_length(n, logistic) computes.
    SgdPairFn (*sgd_pair_for_length)(std::size_t n, int logistic);

    // The AdaGrad step for rows of length n, and the pair of them, chosen once as sgd_for_length (rows
    // held in registers or streamed, specialised for n where the level has it); they compute what
    // sgd_adagrad computes (the pair: bit for bit what adagrad_for_length's function does twice).
    AdagradFn (*adagrad_for_length)(std::size_t n, int logistic);
    AdagradPairFn (*adagrad_pair_for_length)(std::size_t n, int logistic);


    // Fused BPR step (Rendle et al., UAI 2009), one pass over the three rows: with x = offset +
    // p.(qi - qj) (offset: b_i - b_j, or 0) and g = 1 - sigmoid(x) = d ln sigmoid(x) / dx,
    //   p += lr_p (g (qi - qj) - l2_p p);  qi += lr_q (g p_old - l2_q qi);  qj += lr_q (-g p_old - l2_q qj);
    // return g. The three rows must be distinct. bpr_for_length(n) is the version for rows of length n,
    // chosen once as sgd_for_length (rows held in registers where they fit, otherwise streamed).
    float (*bpr)(float* p, float* qi, float* qj, std::size_t n, float offset, float lr_p, float lr_q, float l2_p,
                 float l2_q);
    BprFn (*bpr_for_length)(std::size_t n);
    // The BPR epoch loop over a block of triples (BprBlock), the step inlined: the same rows, biases and
    // loss as calling bpr_for_length(n)'s function per triple and updating the biases after it.
    BprBlockFn (*bpr_block_for_length)(std::size_t n);
};

// Small dense linear algebra (lib/linalg.hpp: ALS, iALS, fold-in).
struct LinalgKernels {
    // The normal equations of one row's
    // weighted least-squares problem, and their solve by Cholesky. Matrices are row-major, row stride
    // lda; only the upper triangle (row a, columns a..n-1) is meaningful.
    //
    // gram: over the m feature rows x_j = rows[j],  A += sum_j w_j x_j x_j^T  and  b += sum_j c_j x_j
    // (w = nullptr: every w_j = 1), each entry summed over j in order. An exception to the contract
    // above, for whole vectors: the rows, b and A's rows are read and written up to padded(n), n rounded
    // up to 16 (the model's row stride), the rows must be zero from n to padded(n), and A's entries
    // left of the diagonal in a row may be written (with Gram sums; unspecified afterwards).
    void (*gram)(float* A, std::size_t lda, float* b, const float* const* rows, const float* w, const float* c,
                 std::size_t m, std::size_t n);

    // cholesky: A = U^T U in place of A's upper triangle (n x n, symmetric positive definite). Returns
    // 0, or j + 1 when pivot j is not positive or is NaN (A is then partly overwritten). Touches the
    // upper triangle only.
    int (*cholesky)(float* A, std::size_t lda, std::size_t n);

    // cholesky_solve: x with U^T U x = b, in place of b (U from cholesky): forward then back substitution.
    void (*cholesky_solve)(const float* U, std::size_t lda, std::size_t n, float* b);

    // implicit_matvec (iALS's conjugate-gradient solver, lib/solvers/ials.cpp): the product of one row's
    // implicit normal-equation matrix with v, without forming it:
    //   out = G v + sum_j w_j (x_j . v) x_j
    // G: a full symmetric n x n matrix, row stride lda (every row, not only the upper triangle); x_j =
    // rows[j] (m of them), w_j their weights. The same whole-vector exception as gram: v, out, the rows
    // and G's rows are read or written up to padded(n) and must be zero from n to padded(n) (out is
    // then zero there too). Each out entry is summed in order: G's columns, then j.
    void (*implicit_matvec)(const float* G, std::size_t lda, const float* const* rows, const float* w,
                            std::size_t m, std::size_t n, const float* v, float* out);

    // implicit_cg (iALS's CG solver): `steps` steps of conjugate gradients from x (updated in place) on
    //   (G + sum_j wd_j x_j x_j^T + reg I) x = sum_j c_j x_j
    // (G, rows, wd as implicit_matvec's w). r = b - A x; p = r; then per step, while r.r > 1e-20 and
    // p.Ap > 0: alpha = r.r / p.Ap, x += alpha p, r -= alpha Ap, p = r + (r.r new / r.r) p. x is read and
    // written up to padded(n) and must be zero from n (it stays zero there). scratch: 3 padded(n) + m
    // floats, the caller's. Levels differ from the scalar reference by float rounding only.
    void (*implicit_cg)(const float* G, std::size_t lda, const float* const* rows, const float* wd,
                        const float* c, std::size_t m, std::size_t n, float reg, unsigned steps, float* x,
                        float* scratch);
};

// Serving: blocks of scores and the top-N scans (lib/serve).
struct ServeKernels {
    // Serving scores of a block, a small GEMM C = A B^T (lib/serve: batched top-N and nearest). B's rows
    // are first packed into panels of `panel` rows each (pack_panels: panel p at out + p * panel * k
    // holds, for t < k, the panel's `panel` values of coordinate t, zero past nb; out holds
    // ceil(nb / panel) * panel * k floats), then
    //   gemm_packed: C[r * ldc + j] = sum_t a[r][t] * B_j[t]  for r < m, j < nb  (a: m row pointers);
    //   with thr (nb floats; else null, and hit unused): also hit[r] = 1 if C[r * ldc + j] > thr[j] for
    //   some j < nb, else 0 (m bytes; the stored values compared, so a level's flags match its C).
    // Serving packs the batch's queries once (B) and passes the item rows in place (a), so the item
    // table is read once per batch and each register tile reuses a panel from L1; the flags let the
    // top-N scan skip the rows with no score above any user's threshold. Error as dot (one FMA chain
    // over t per output).
    std::size_t panel;
    void (*pack_panels)(const float* B, std::size_t nb, std::size_t ldb, std::size_t k, float* out);
    void (*gemm_packed)(const float* const* a, std::size_t m, const float* panels, std::size_t nb, std::size_t k,
                        float* C, std::size_t ldc, const float* thr, std::uint8_t* hit);

    // Index of the first s[j] > thr (j < n), or n: the top-N selection's scan (NaN is never above).
    std::size_t (*find_above)(const float* s, std::size_t n, float thr);
    // The batch's scan: the first row r < rows with C[r * ld + l] > thr[l] for some l < width, or rows.
    std::size_t (*find_above_rows)(const float* C, std::size_t rows, std::size_t width, std::size_t ld,
                                   const float* thr);

    // Quantized tables (lib/models/quant.hpp; rows of `stride` elements, zero past k):
    //   dot_rows_f16: out[r] = sum_t half(rows[r * stride + t]) * x[t], t < n (F16C on avx2 / avx512);
    //   dot_rows_i8: out[r] = float(sum_t rows[r * stride + t] * x[t]) * (xscale * scale[r]), the integer
    //     sum exact (AVX2 maddubs/madd; AVX-512 VNNI vpdpbusd where the CPU has it; NEON), so every level
    //     gives the same bits; values must lie in [-127, 127];
    //   dot_rows_i8f: out[r] = scale[r] * sum_t float(rows[r * stride + t]) * x[t] (a float query);
    //   f32_to_f16 / f16_to_f32: IEEE binary16, round to nearest even, bit-identical at every level.
    void (*dot_rows_f16)(const std::uint16_t* rows, std::size_t n_rows, std::size_t stride, const float* x,
                         std::size_t n, float* out);
    void (*dot_rows_i8)(const std::int8_t* rows, std::size_t n_rows, std::size_t stride, const float* scale,
                        const std::int8_t* x, float xscale, std::size_t n, float* out);
    void (*dot_rows_i8f)(const std::int8_t* rows, std::size_t n_rows, std::size_t stride, const float* scale,
                         const float* x, std::size_t n, float* out);
    void (*f32_to_f16)(const float* in, std::uint16_t* out, std::size_t n);
    void (*f16_to_f32)(const std::uint16_t* in, float* out, std::size_t n);
    // gemm_i8: the int8 batch's block of scores, C[j * ldc + l] = float(sum_t a_j[t] u_l[t]) * (ascale[j] *
    //   uscale[l]) (the same bits as dot_rows_i8), for m item rows a + j * stride and nu users (a multiple
    //   of i8_panel) packed in panels of i8_panel users: for each group g of 4 coordinates, the panel's
    //   users' 4 bytes (user l's at (g * W + l) * 4; W = i8_panel, passed back as W); usum[l] = 128 *
    //   sum_t u_l[t]. AVX2: maddubs/madd on 8-user panels, or AVX-VNNI vpdpbusd (256-bit) where the CPU
    //   has it; AVX-512 with VNNI: vpdpbusd on 16-user panels.
    std::size_t i8_panel;
    void (*gemm_i8)(const std::int8_t* a, std::size_t m, std::size_t stride, const float* ascale,
                    const std::int8_t* panels, const std::int32_t* usum, const float* uscale, std::size_t nu,
                    std::size_t W, float* C, std::size_t ldc);

};

struct Table : VectorKernels, MfKernels, LinalgKernels, ServeKernels {
    Level level;
    const char* name;
};

// The table used by the library (chosen once; thread-safe).
const Table& active();

// The table of a level, or nullptr when that level is not compiled in or not supported here.
const Table* table_for(Level level);
// The same level's table without the int8 kernels that use VNNI (vpdpbusd; chosen by table_for when
// the CPU has it): the kernels a CPU without VNNI runs, for the tests to check them here too. Where a
// level has no VNNI variant (or the CPU no VNNI), table_for(level). On AArch64 the NEON table without
// the sdot int8 kernels (table_neon_no_dotprod).
const Table* table_without_vnni(Level level);
// False when the environment says SIMDMF_VNNI=0: the avx2 and avx512 tables then keep their int8
// kernels without VNNI (to measure, on a CPU with VNNI, what one without it does). Read once.
bool vnni_allowed();
// Whether a level's int8 kernels may use VNNI here: vnni_allowed() and the CPU has it for that level
// (AVX-VNNI for avx2, AVX512-VNNI for avx512; cpuid leaf 7). False for the other levels.
bool vnni_usable(Level level);

// Whether a level's kernels are compiled into this build (meson option simd_levels; scalar always).
bool compiled_in(Level level);

// Why table_for(level) is null, as text into buf (NUL-terminated, truncated to size): the level is not
// compiled in (naming those that are), or this CPU or OS does not support it.
void unavailable_reason(Level level, char* buf, std::size_t size);

// Highest level this CPU and OS support among those compiled in.
Level best_supported();

// Force the active level (tests, bindings). Returns false, changing nothing, when unsupported.
// Not thread-safe with concurrent training; meant for start-up.
bool force_level(Level level);

const char* level_name(Level level);
// Accepts the names level_name returns (case-insensitive; "sse42" and "avx512bw" also accepted).
bool parse_level(const char* name, Level* out);

// The table-driven CRC-32C update (VectorKernels::crc32c's portable path), defined with the scalar level.
std::uint32_t crc32c_soft(std::uint32_t crc, const unsigned char* p, std::size_t n);

// Scalar helpers used outside kernels.
float sigmoid(float z);

// The length the trainer passes to sgd_squared and sgd_logistic for rows of k factors: k rounded up to
// 8. The model's rows hold zeros from k to their stride (a multiple of 16), and the fused steps keep
// them zero, so any length from k to the stride gives the same model up to summation order; a
// multiple of 8 is a whole number of vectors on every level (one ymm at k = 8 on AVX2, where the
// stride would take two; on AVX-512, whole zmm plus at most one ymm).
constexpr std::size_t sgd_length(std::size_t k) { return (k + 7) / 8 * 8; }

}  // namespace simdmf::kernels
