// Top-N and similarity over Model (see serve.hpp): scores by blocks of items, a bounded heap per query
// in the caller's output arrays, the filters as cursors over ascending lists.
#include "serve/serve.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/kernels.hpp"

namespace simdmf::serve {

namespace {

constexpr std::size_t kBlock = 1024;      // items scored at a time for one query (a multiple of 4: see dot_rows)
constexpr std::size_t kBatchBlock = 512;  // items scored at a time for a batch (k = 64: 128 KB, in L2)
constexpr std::size_t kBatchRows = 128;   // queries per gemm_packed call (a multiple of every panel width)

// a is worse than b: lower score, or the same score and a higher index.
bool worse(float as, std::uint32_t ai, float bs, std::uint32_t bi) { return as < bs || (as == bs && ai > bi); }

void sift_down(Selection& q, std::size_t at, std::size_t end) {
    const float v = q.values[at];
    const std::uint32_t it = q.items[at];
    for (;;) {
        std::size_t c = 2 * at + 1;
        if (c >= end) break;
        if (c + 1 < end && worse(q.values[c + 1], q.items[c + 1], q.values[c], q.items[c])) ++c;
        if (!worse(q.values[c], q.items[c], v, it)) break;
        q.values[at] = q.values[c];
        q.items[at] = q.items[c];
        at = c;
    }
    q.values[at] = v;
    q.items[at] = it;
}

void push(Selection& q, std::uint32_t j, float s) {
    if (q.count < q.n) {
        std::size_t at = q.count++;
        while (at > 0) {
            const std::size_t p = (at - 1) / 2;
            if (!worse(s, j, q.values[p], q.items[p])) break;
            q.values[at] = q.values[p];
            q.items[at] = q.items[p];
            at = p;
        }
        q.values[at] = s;
        q.items[at] = j;
    } else if (worse(q.values[0], q.items[0], s, j)) {
        q.values[0] = s;
        q.items[0] = j;
        sift_down(q, 0, q.count);
    }
}

// Item j (ascending across calls) with score s, unless filtered.
inline void consider(Selection& q, std::uint32_t j, float s) {
    if (j == q.skip) return;
    while (q.seen != q.seen_end && *q.seen < j) ++q.seen;
    if (q.seen != q.seen_end && *q.seen == j) return;
    while (q.deny != q.deny_end && *q.deny < j) ++q.deny;
    if (q.deny != q.deny_end && *q.deny == j) return;
    push(q, j, s);
}

// The scores of items [i0, i0 + nb): one at a time until the heap is full, then only those above its
// worst (found by the find_above kernel; a later item with an equal score is worse, ties going to the
// lower index).
void scan(Selection& q, const float* row, std::uint32_t i0, std::size_t nb, const kernels::Table& kt) {
    std::size_t j = 0;
    for (; j < nb && q.count < q.n; ++j)
        if (!std::isnan(row[j])) consider(q, i0 + static_cast<std::uint32_t>(j), row[j]);
    if (q.n == 0) return;
    while (j < nb) {
        j += kt.find_above(row + j, nb - j, q.values[0]);
        if (j >= nb) break;
        consider(q, i0 + static_cast<std::uint32_t>(j), row[j]);
        ++j;
    }
}

// Heap to best-first order, in place; returns the count.
std::size_t finish(Selection& q) {
    for (std::size_t end = q.count; end > 1; --end) {
        std::swap(q.values[0], q.values[end - 1]);
        std::swap(q.items[0], q.items[end - 1]);
        sift_down(q, 0, end - 1);
    }
    return q.count;
}

Selection selection(std::uint32_t* items, float* values, std::size_t n, std::span<const std::uint32_t> seen,
                    const Filter& f, std::uint32_t skip) {
    return {items, values, n, 0, seen.data(), seen.data() + seen.size(),
            f.deny, f.deny + (f.deny ? f.n_deny : 0), skip};
}

float* aligned(std::vector<float>& v, std::size_t floats) {
    if (v.size() < floats + 16) v.resize(floats + 16);
    auto addr = reinterpret_cast<std::uintptr_t>(v.data());
    return v.data() + ((64 - addr % 64) % 64) / sizeof(float);
}

// Scores of the queries' rows (rows[0 .. nq)) against `count` rows of `base`, by blocks: the queries
// packed once into panels (pack layout of gemm_packed: k x panel floats each, zero past nq), then for
// each block of kBatchBlock items and each chunk of kBatchRows queries one gemm_packed call with the
// items as its rows (read in place, no copy) and the queries as its panels: C[j][l] = score of item
// i0 + j for query c0 + l. `after(c0, C, i0, nb, hit)` gets each such block (row stride kBatchRows).
// With `flags` (an `after` that scans C as it is, no biases or cosine applied first), the GEMM also
// flags the block's rows with a score above its user's threshold at the block's start (s.thresholds,
// which only rise), so hit[j] = 0 means row j holds nothing for the scan; else hit is null.
template <class After>
void batch_blocks(const float* const* rows, std::size_t nq, const float* base, std::uint32_t count, std::size_t stride,
                  std::size_t k, Scratch& s, bool flags, After&& after, const std::uint16_t* half = nullptr) {
    const auto& kt = kernels::active();
    const std::size_t P = kt.panel;
    const std::size_t nqp = (nq + kBatchRows - 1) / kBatchRows * kBatchRows;  // kBatchRows is a multiple of P
    float* panels = aligned(s.panels, nqp * k);
    for (std::size_t p0 = 0; p0 < nqp; p0 += P)
        for (std::size_t t = 0; t < k; ++t)
            for (std::size_t l = 0; l < P; ++l)
                panels[p0 * k + t * P + l] = p0 + l < nq ? rows[p0 + l][t] : 0.0f;
    float* scores = aligned(s.scores, kBatchRows * kBatchBlock);
    s.item_rows.resize(kBatchBlock);
    if (flags) s.hits.resize(kBatchBlock);
    std::uint8_t* hit = flags ? s.hits.data() : nullptr;
    for (std::uint32_t i0 = 0; i0 < count; i0 += kBatchBlock) {
        const std::size_t nb = std::min<std::size_t>(kBatchBlock, count - i0);
        if (half) {  // fp16 items: the block widened to fp32 once (in L2), then the same GEMM
            float* conv = aligned(s.conv, kBatchBlock * stride);
            kt.f16_to_f32(half + std::size_t(i0) * stride, conv, nb * stride);
            for (std::size_t j = 0; j < nb; ++j) s.item_rows[j] = conv + j * stride;
        } else {
            for (std::size_t j = 0; j < nb; ++j) s.item_rows[j] = base + (std::size_t(i0) + j) * stride;
        }
        for (std::size_t c0 = 0; c0 < nq; c0 += kBatchRows) {
            const std::size_t cols = std::min(kBatchRows, (nq + P - 1) / P * P - c0);  // whole panels only
            kt.gemm_packed(s.item_rows.data(), nb, panels + c0 * k, cols, k, scores, kBatchRows,
                           flags ? s.thresholds.data() + c0 : nullptr, hit);
            after(c0, static_cast<float*>(scores), i0, nb, hit);
        }
    }
}

// Scans a block of C[j][l] (items i0 + j, queries c0 + l, row stride kBatchRows) for every query's
// scores above its threshold (thr: the worst of its full heap, -inf before, +inf past nq). With hit
// (batch_blocks' flags), only the rows flagged there.
void scan_block(Scratch& s, const float* C, std::size_t c0, std::uint32_t i0, std::size_t nb,
                const kernels::Table& kt, const std::uint8_t* hit = nullptr) {
    float* thr = s.thresholds.data() + c0;
    const std::size_t width = std::min(kBatchRows, s.sel.size() - c0);
    auto row_scan = [&](std::size_t j) {
        const float* row = C + j * kBatchRows;
        for (std::size_t l = 0; l < width; ++l)
            if (row[l] > thr[l]) {
                Selection& q = s.sel[c0 + l];
                consider(q, i0 + static_cast<std::uint32_t>(j), row[l]);
                if (q.count == q.n) thr[l] = q.values[0];
            }
    };
    if (hit) {
        std::size_t j = 0;
        for (; j + 8 <= nb; j += 8) {  // eight flags at a time: most blocks have few
            std::uint64_t w;
            std::memcpy(&w, hit + j, 8);
            if (w)
                for (std::size_t b = 0; b < 8; ++b)
                    if (hit[j + b]) row_scan(j + b);
        }
        for (; j < nb; ++j)
            if (hit[j]) row_scan(j);
        return;
    }
    std::size_t j = 0;
    while (j < nb) {
        j += kt.find_above_rows(C + j * kBatchRows, nb - j, width, kBatchRows, thr);
        if (j >= nb) break;
        row_scan(j);
        ++j;
    }
}

// A block of batch scores C (nb items x kBatchRows users, from user c0 and item i0) gets the biases
// as MFModel::score_block adds them: score + (mu + b_u + b_i). s.norms holds the users' part.
void add_biases(Scratch& s, const FactorView& fv, const std::uint32_t* users, std::size_t n_users, std::size_t c0,
                float* C, std::uint32_t i0, std::size_t nb) {
    if (!fv.bu) return;
    const std::size_t w = std::min(kBatchRows, n_users - c0);
    float* base = s.norms.data();
    for (std::size_t l = 0; l < w; ++l) base[l] = fv.mu + fv.bu[users[c0 + l]];
    for (std::size_t j = 0; j < nb; ++j) {
        float* row = C + j * kBatchRows;
        const float bi = fv.bi[i0 + j];
        for (std::size_t l = 0; l < w; ++l) row[l] += base[l] + bi;
    }
}

void init_thresholds(Scratch& s, std::size_t nq) {
    const std::size_t nqp = (nq + kBatchRows - 1) / kBatchRows * kBatchRows;
    s.thresholds.assign(nqp, std::numeric_limits<float>::infinity());
    std::fill(s.thresholds.begin(), s.thresholds.begin() + static_cast<std::ptrdiff_t>(nq),
              -std::numeric_limits<float>::infinity());
}

}  // namespace

std::size_t Scratch::bytes() const {
    return (scores.capacity() + panels.capacity() + norms.capacity() + query_norms.capacity() +
            thresholds.capacity() + cand_values.capacity() + qscales.capacity() + conv.capacity() +
            user_conv.capacity()) * sizeof(float) +
           (cand_items.capacity() + qsums.capacity()) * 4 + qpanels.capacity() + hits.capacity() +
           (rows.capacity() + item_rows.capacity()) * sizeof(const float*) + sel.capacity() * sizeof(Selection);
}

namespace {

constexpr std::size_t kMaxCandidates = 4096;  // re-ranking: candidates per user at most

// Candidates a quantized top-n takes for exact re-ranking (n * rerank, bounded), or n when it does not
// re-rank (no quantized tables, no fp32 tables kept, or a factor below 2).
std::size_t candidates(const FactorView& fv, std::size_t n, std::uint32_t n_items) {
    if (!fv.quantized() || !fv.P || fv.quant->rerank < 2 || n == 0) return n;
    return std::max(n, std::min({n * fv.quant->rerank, kMaxCandidates, std::size_t(n_items)}));
}

// The best n of `got` candidates (scores from the quantized tables) re-scored in fp32, best first, into
// items/values (scores); returns how many.
std::size_t rerank(const FactorView& fv, std::uint32_t u, const std::uint32_t* ci, std::size_t got, std::size_t n,
                   std::uint32_t* items, float* values) {
    const auto& kt = kernels::active();
    const Filter none;
    Selection q = selection(items, values, n, {}, none, UINT32_MAX);
    const float* p = fv.P + std::size_t(u) * fv.stride;
    const float base = fv.bu ? fv.mu + fv.bu[u] : 0.0f;
    for (std::size_t j = 0; j < got; ++j) {
        float sc = kt.dot(p, fv.Q + std::size_t(ci[j]) * fv.stride, fv.stride);
        if (fv.bu) sc += base + fv.bi[ci[j]];
        if (!std::isnan(sc)) push(q, ci[j], sc);
    }
    return finish(q);
}

std::size_t select_one(const Model& m, std::uint32_t u, std::size_t n, const Filter& f,
                       std::span<const std::uint32_t> seen, std::uint32_t* items, float* values) {
    Selection q = selection(items, values, n, seen, f, UINT32_MAX);
    if (n == 0) return 0;
    const auto& kt = kernels::active();
    if (f.allow) {
        constexpr std::size_t kChunk = 256;
        std::uint32_t us[kChunk];
        float sc[kChunk];
        std::fill(us, us + kChunk, u);
        for (std::size_t c = 0; c < f.n_allow; c += kChunk) {
            const std::size_t w = std::min(kChunk, f.n_allow - c);
            m.score_pairs(us, f.allow + c, w, sc);
            for (std::size_t j = 0; j < w; ++j)
                if (!std::isnan(sc[j])) consider(q, f.allow[c + j], sc[j]);
        }
    } else {
        alignas(64) float buf[kBlock];
        for (std::uint32_t i0 = 0; i0 < m.n_items; i0 += kBlock) {
            const std::uint32_t i1 = static_cast<std::uint32_t>(std::min<std::size_t>(m.n_items, i0 + kBlock));
            m.score_block(&u, 1, i0, i1, buf, kBlock);
            scan(q, buf, i0, i1 - i0, kt);
        }
    }
    return finish(q);
}

std::size_t recommend_one(const Model& m, std::uint32_t u, std::size_t n, const Filter& f,
                          std::span<const std::uint32_t> seen, std::uint32_t* items, float* values) {
    const FactorView fv = m.factors();
    const std::size_t c = candidates(fv, n, m.n_items);
    std::size_t got;
    if (c > n) {
        std::uint32_t ci[kMaxCandidates];
        float cv[kMaxCandidates];
        got = rerank(fv, u, ci, select_one(m, u, c, f, seen, ci, cv), n, items, values);
    } else {
        got = select_one(m, u, n, f, seen, items, values);
    }
    for (std::size_t j = 0; j < got; ++j) values[j] = m.prediction(values[j]);
    return got;
}

// An int8 batch: the users' int8 rows packed once into gemm_i8 panels (zero past the batch), then each
// block of kBatchBlock items scored for kBatchRows users at a time by gemm_i8, biases added as in
// MFModel::score_block, and scanned as the fp32 batch is (scan_block, per-user thresholds).
template <class After>
void int8_blocks(const QuantTables& q, const std::uint32_t* users, std::size_t nq, std::uint32_t n_items, Scratch& s,
                 After&& after) {
    const auto& kt = kernels::active();
    const std::size_t W = kt.i8_panel, st = q.stride;
    const std::size_t nqp = (nq + kBatchRows - 1) / kBatchRows * kBatchRows;  // kBatchRows: a multiple of W
    if (s.qpanels.size() < nqp * st) s.qpanels.resize(nqp * st);
    if (s.qsums.size() < nqp) s.qsums.resize(nqp);
    if (s.qscales.size() < nqp) s.qscales.resize(nqp);
    std::int8_t* pan = s.qpanels.data();
    for (std::size_t l = 0; l < nqp; ++l) {
        const std::int8_t* u = l < nq ? q.b(true) + std::size_t(users[l]) * st : nullptr;
        std::int32_t sum = 0;
        std::int8_t* dst = pan + (l / W) * W * st + (l % W) * 4;
        for (std::size_t g = 0; g < st / 4; ++g)
            for (std::size_t b = 0; b < 4; ++b) {
                const std::int8_t v = u ? u[g * 4 + b] : 0;
                dst[g * W * 4 + b] = v;
                sum += v;
            }
        s.qsums[l] = 128 * sum;
        s.qscales[l] = u ? q.sP[users[l]] : 0.0f;
    }
    float* scores = aligned(s.scores, kBatchRows * kBatchBlock);
    const std::int8_t* items = q.b(false);
    for (std::uint32_t i0 = 0; i0 < n_items; i0 += kBatchBlock) {
        const std::size_t nb = std::min<std::size_t>(kBatchBlock, n_items - i0);
        for (std::size_t c0 = 0; c0 < nq; c0 += kBatchRows) {
            const std::size_t cols = std::min(kBatchRows, (nq + W - 1) / W * W - c0);
            kt.gemm_i8(items + std::size_t(i0) * st, nb, st, q.sQ.data() + i0, pan + c0 * st, s.qsums.data() + c0,
                       s.qscales.data() + c0, cols, W, scores, kBatchRows);
            after(c0, scores, i0, nb, nullptr);
        }
    }
}

// A batch on quantized tables, by blocks of kBatchBlock items so the table is read from memory once per
// batch: int8 through gemm_i8 (int8_blocks), fp16 widened a block at a time into the fp32 GEMM; with
// re-ranking, each user's candidates are kept in the scratch and re-scored in fp32 at the end.
void quant_batch(const Model& m, const FactorView& fv, const std::uint32_t* users, std::size_t n_users,
                 std::size_t n, const Filter& f, Scratch& s, std::uint32_t* items, std::size_t ld_items,
                 float* values, std::size_t ld_values, std::size_t* counts) {
    const auto& kt = kernels::active();
    const std::size_t c = candidates(fv, n, m.n_items);
    const bool re = c > n;
    if (re) {
        if (s.cand_items.size() < n_users * c) s.cand_items.resize(n_users * c);
        if (s.cand_values.size() < n_users * c) s.cand_values.resize(n_users * c);
    }
    s.sel.resize(n_users);
    for (std::size_t b = 0; b < n_users; ++b)
        s.sel[b] = re ? selection(s.cand_items.data() + b * c, s.cand_values.data() + b * c, c, f.seen.of(users[b]),
                                  f, UINT32_MAX)
                      : selection(items + b * ld_items, values + b * ld_values, n, f.seen.of(users[b]), f, UINT32_MAX);
    if (s.norms.size() < kBatchRows) s.norms.resize(kBatchRows);
    init_thresholds(s, n_users);
    auto bias_scan = [&](std::size_t c0, float* C, std::uint32_t i0, std::size_t nb, const std::uint8_t* hit) {
        add_biases(s, fv, users, n_users, c0, C, i0, nb);
        scan_block(s, C, c0, i0, nb, kt, hit);
    };
    const QuantTables& q = *fv.quant;
    if (q.type == TableType::int8) {
        int8_blocks(q, users, n_users, m.n_items, s, bias_scan);
    } else {  // fp16: the users widened once, each block of items widened once, the fp32 batch GEMM
        float* ux = aligned(s.user_conv, n_users * q.stride);
        s.rows.resize(n_users);
        for (std::size_t b = 0; b < n_users; ++b) {
            kt.f16_to_f32(q.h(true) + std::size_t(users[b]) * q.stride, ux + b * q.stride, q.stride);
            s.rows[b] = ux + b * q.stride;
        }
        batch_blocks(s.rows.data(), n_users, nullptr, m.n_items, q.stride, fv.k, s, !fv.bu, bias_scan, q.h(false));
    }
    for (std::size_t b = 0; b < n_users; ++b) {
        std::size_t got = finish(s.sel[b]);
        if (re) got = rerank(fv, users[b], s.cand_items.data() + b * c, got, n, items + b * ld_items, values + b * ld_values);
        counts[b] = got;
        float* v = values + b * ld_values;
        for (std::size_t j = 0; j < got; ++j) v[j] = m.prediction(v[j]);
    }
}

}  // namespace

std::size_t recommend_into(const Model& m, std::uint32_t u, std::size_t n, const Filter& f, std::uint32_t* items,
                           float* values) {
    m.check_user(u);
    return recommend_one(m, u, n, f, f.seen.of(u), items, values);
}

void recommend_batch(const Model& m, const std::uint32_t* users, std::size_t n_users, std::size_t n,
                     const Filter& f, Scratch& s, std::uint32_t* items, std::size_t ld_items, float* values,
                     std::size_t ld_values, std::size_t* counts) {
    for (std::size_t b = 0; b < n_users; ++b) m.check_user(users[b]);
    const FactorView fv = m.factors();
    if (fv.quantized() && n_users >= 2 && n > 0 && !f.allow) {
        quant_batch(m, fv, users, n_users, n, f, s, items, ld_items, values, ld_values, counts);
        return;
    }
    if (n_users < 2 || n == 0 || !fv || f.allow) {
        for (std::size_t b = 0; b < n_users; ++b)
            counts[b] = recommend_into(m, users[b], n, f, items + b * ld_items, values + b * ld_values);
        return;
    }
    s.rows.resize(n_users);
    s.sel.resize(n_users);
    if (s.norms.size() < kBatchRows) s.norms.resize(kBatchRows);
    for (std::size_t b = 0; b < n_users; ++b) {
        s.rows[b] = fv.P + std::size_t(users[b]) * fv.stride;
        s.sel[b] = selection(items + b * ld_items, values + b * ld_values, n, f.seen.of(users[b]), f, UINT32_MAX);
    }
    const auto& kt = kernels::active();
    init_thresholds(s, n_users);
    batch_blocks(s.rows.data(), n_users, fv.Q, fv.n_items, fv.stride, fv.k, s, !fv.bu,
                 [&](std::size_t c0, float* C, std::uint32_t i0, std::size_t nb, const std::uint8_t* hit) {
                     add_biases(s, fv, users, n_users, c0, C, i0, nb);
                     scan_block(s, C, c0, i0, nb, kt, hit);
                 });
    for (std::size_t b = 0; b < n_users; ++b) {
        counts[b] = finish(s.sel[b]);
        float* v = values + b * ld_values;
        for (std::size_t j = 0; j < counts[b]; ++j) v[j] = m.prediction(v[j]);
    }
}

std::vector<Scored> recommend(const Model& m, std::uint32_t u, std::size_t n, std::span<const std::uint32_t> exclude) {
    m.check_user(u);
    n = std::min<std::size_t>(n, m.n_items);
    std::vector<std::uint32_t> items(n);
    std::vector<float> values(n);
    const std::size_t got = recommend_one(m, u, n, Filter{}, exclude, items.data(), values.data());
    std::vector<Scored> out(got);
    for (std::size_t j = 0; j < got; ++j) out[j] = {items[j], values[j]};
    return out;
}

std::vector<Scored> recommend_new_user(const Model& m, std::size_t n, std::span<const std::uint32_t> exclude) {
    std::vector<float> scores(m.n_items);
    m.fallback_row(scores.data());
    std::vector<Scored> top = top_n(scores.data(), m.n_items, n, exclude, UINT32_MAX);
    m.scores_to_predictions(scores.data(), scores.size());
    for (Scored& s : top) s.second = scores[s.first];
    return top;
}

float cosine(const Model& m, int side, std::uint32_t a, std::uint32_t b) {
    m.check_side(side, a);
    m.check_side(side, b);
    const FactorView f = m.require_factors("cosine similarity");
    const auto& kt = kernels::active();
    const float* x = f.row(side, a);
    const float* y = f.row(side, b);
    double nx = kt.dot(x, x, f.stride), ny = kt.dot(y, y, f.stride);
    if (nx <= 0.0 || ny <= 0.0) return 0.0f;
    double c = kt.dot(x, y, f.stride) / std::sqrt(nx * ny);
    return static_cast<float>(std::clamp(c, -1.0, 1.0));
}

void nearest_batch(const Model& m, int side, Metric metric, const std::uint32_t* queries, std::size_t n_queries,
                   std::size_t n, Scratch& s, std::uint32_t* out, std::size_t ld_out, float* sims,
                   std::size_t ld_sims, std::size_t* counts) {
    for (std::size_t b = 0; b < n_queries; ++b) m.check_side(side, queries[b]);
    const FactorView f = m.require_factors("nearest neighbours");
    const auto& kt = kernels::active();
    const std::uint32_t count = f.count(side);
    const float* base = side == SIMDMF_USERS ? f.P : f.Q;
    const bool cos = metric == Metric::cosine;
    const Filter none;
    s.sel.resize(n_queries);
    s.query_norms.resize(n_queries);
    for (std::size_t b = 0; b < n_queries; ++b) {
        s.sel[b] = selection(out + b * ld_out, sims + b * ld_sims, n, {}, none, queries[b]);
        const float* r = f.row(side, queries[b]);
        s.query_norms[b] = cos ? std::sqrt(kt.dot(r, r, f.stride)) : 0.0f;
    }
    float* norms = aligned(s.norms, std::max(kBlock, kBatchBlock));
    // Cosine as the similarity calls compute it: dot / (|q| |x|), clamped; 0 against a zero row.
    auto to_sims = [&](std::size_t b, float* row, std::uint32_t i0, std::size_t nb) {
        if (cos) {
            const float self = s.query_norms[b];
            for (std::size_t j = 0; j < nb; ++j) {
                const float d = self * norms[j];
                row[j] = d > 0.0f ? std::clamp(row[j] / d, -1.0f, 1.0f) : 0.0f;
            }
        }
        (void)i0;
    };
    auto block_norms = [&](std::uint32_t i0, std::size_t nb) {
        if (!cos) return;
        for (std::size_t j = 0; j < nb; ++j) {
            const float* r = base + (std::size_t(i0) + j) * f.stride;
            norms[j] = std::sqrt(kt.dot(r, r, f.stride));
        }
    };
    if (n > 0 && n_queries == 1) {
        alignas(64) float buf[kBlock];
        const float* q = f.row(side, queries[0]);
        for (std::uint32_t i0 = 0; i0 < count; i0 += kBlock) {
            const std::size_t nb = std::min<std::size_t>(kBlock, count - i0);
            kt.dot_rows(base + std::size_t(i0) * f.stride, nb, f.stride, q, f.stride, buf);
            block_norms(i0, nb);
            to_sims(0, buf, i0, nb);
            scan(s.sel[0], buf, i0, nb, kt);
        }
    } else if (n > 0 && n_queries > 1) {
        s.rows.resize(n_queries);
        for (std::size_t b = 0; b < n_queries; ++b) s.rows[b] = f.row(side, queries[b]);
        init_thresholds(s, n_queries);
        std::uint32_t last = UINT32_MAX;
        batch_blocks(s.rows.data(), n_queries, base, count, f.stride, f.k, s, !cos,
                     [&](std::size_t c0, float* C, std::uint32_t i0, std::size_t nb, const std::uint8_t* hit) {
                         if (cos) {
                             if (i0 != last) block_norms(i0, nb), last = i0;
                             const std::size_t w = std::min(kBatchRows, n_queries - c0);
                             for (std::size_t j = 0; j < nb; ++j) {
                                 float* row = C + j * kBatchRows;
                                 for (std::size_t l = 0; l < w; ++l) {
                                     const float d = s.query_norms[c0 + l] * norms[j];
                                     row[l] = d > 0.0f ? std::clamp(row[l] / d, -1.0f, 1.0f) : 0.0f;
                                 }
                             }
                         }
                         scan_block(s, C, c0, i0, nb, kt, hit);
                     });
    }
    for (std::size_t b = 0; b < n_queries; ++b) counts[b] = finish(s.sel[b]);
}

std::vector<Scored> nearest(const Model& m, int side, std::uint32_t index, std::size_t n) {
    m.check_side(side, index);
    m.require_factors("nearest neighbours");
    n = std::min<std::size_t>(n, m.count(side));
    std::vector<std::uint32_t> out(n);
    std::vector<float> sims(n);
    std::size_t got = 0;
    Scratch s;
    nearest_batch(m, side, Metric::cosine, &index, 1, n, s, out.data(), n, sims.data(), n, &got);
    std::vector<Scored> r(got);
    for (std::size_t j = 0; j < got; ++j) r[j] = {out[j], sims[j]};
    return r;
}

std::vector<Scored> top_n(const float* scores, std::uint32_t count, std::size_t n,
                          std::span<const std::uint32_t> exclude, std::uint32_t skip) {
    n = std::min<std::size_t>(n, count);
    std::vector<std::uint32_t> items(n);
    std::vector<float> values(n);
    const Filter none;
    Selection q = selection(items.data(), values.data(), n, exclude, none, skip);
    if (n > 0) scan(q, scores, 0, count, kernels::active());
    const std::size_t got = finish(q);
    std::vector<Scored> out(got);
    for (std::size_t j = 0; j < got; ++j) out[j] = {items[j], values[j]};
    return out;
}

}  // namespace simdmf::serve
