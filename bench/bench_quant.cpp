// Quantized tables against fp32 and against faiss (issue 13): top-10 over 1M items x k = 64 for 1 user
// and batches of 64 and 1,024, simdmf's fp32, fp16, int8 and int8 with fp32 re-ranking of 4 n
// candidates, beside faiss IndexFlatIP and IndexScalarQuantizer (QT_8bit, QT_fp16), one thread each,
// the sides alternating round by round (best round of each reported: the machine is shared). Also the
// top-10 overlap of each with the exact fp32 ranking, and the two ways of scoring int8 (the user's int8
// row x int8 items, or its float row x dequantised int8 items).
// Run: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 build/bench/bench_quant [items] [rounds]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <omp.h>

#include "kernels/kernels.hpp"
#include "serve_table.hpp"
#include "models/mf.hpp"
#include "serve/serve.hpp"

using namespace simdmf;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double overlap(const std::vector<long>& a, const std::vector<long>& b, std::size_t queries, std::size_t n) {
    std::size_t same = 0;
    for (std::size_t q = 0; q < queries; ++q) {
        std::set<long> s(a.begin() + q * n, a.begin() + (q + 1) * n);
        for (std::size_t j = 0; j < n; ++j) same += s.count(b[q * n + j]);
    }
    return double(same) / double(queries * n);
}
}  // namespace

int main(int argc, char** argv) {
    const std::uint32_t n_items = argc > 1 ? std::atoi(argv[1]) : 1000000;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    const std::uint32_t k = 64, n_users = 1024;
    const std::size_t topn = 10;
    omp_set_num_threads(1);

    MFModel m = serving_table(n_users, n_items, k);
    MFModel h = m, b = m, r = m;
    h.quantize(TableType::fp16, false);
    b.quantize(TableType::int8, false);
    r.quantize(TableType::int8, true);
    r.quant.rerank = 4;

    faiss::IndexFlatIP flat(k);
    flat.add(n_items, m.Q.data());
    faiss::IndexScalarQuantizer sq8(k, faiss::ScalarQuantizer::QT_8bit, faiss::METRIC_INNER_PRODUCT);
    faiss::IndexScalarQuantizer sq16(k, faiss::ScalarQuantizer::QT_fp16, faiss::METRIC_INNER_PRODUCT);
    sq8.train(n_items, m.Q.data());
    sq8.add(n_items, m.Q.data());
    sq16.train(n_items, m.Q.data());
    sq16.add(n_items, m.Q.data());

    std::printf("simdmf level %s; %u items x k = %u; top-%zu; %d rounds, best of each side\n", kernels::active().name,
                n_items, k, topn, rounds);
    struct Side {
        const char* name;
        std::function<void(const std::uint32_t*, const float*, std::size_t, long*)> run;
        bool big;  // run at batch 1024 too
    };
    serve::Scratch scratch;
    std::vector<std::uint32_t> it(n_users * topn);
    std::vector<float> vals(n_users * topn), D(n_users * topn);
    std::vector<std::size_t> counts(n_users);
    std::vector<faiss::Index::idx_t> I(n_users * topn);
    auto simd = [&](const MFModel& mm) {
        return [&](const std::uint32_t* users, const float*, std::size_t B, long* out) {
            serve::recommend_batch(mm, users, B, topn, serve::Filter{}, scratch, it.data(), topn, vals.data(), topn,
                                   counts.data());
            for (std::size_t j = 0; j < B * topn; ++j) out[j] = it[j];
        };
    };
    auto fa = [&](faiss::Index& ix) {
        return [&](const std::uint32_t*, const float* q, std::size_t B, long* out) {
            ix.search(static_cast<faiss::Index::idx_t>(B), q, topn, D.data(), I.data());
            for (std::size_t j = 0; j < B * topn; ++j) out[j] = I[j];
        };
    };
    std::vector<Side> sides = {{"simdmf fp32", simd(m), true},          {"simdmf fp16", simd(h), true},
                               {"simdmf int8", simd(b), true},          {"simdmf int8+rerank4", simd(r), true},
                               {"faiss IndexFlatIP", fa(flat), true},   {"faiss SQ QT_8bit", fa(sq8), false},
                               {"faiss SQ QT_fp16", fa(sq16), false}};
    for (std::size_t B : {std::size_t(1), std::size_t(64), std::size_t(1024)}) {
        const std::size_t calls = B == 1 ? 8 : 1, nq = B * calls;
        std::vector<std::uint32_t> users(nq);
        for (std::size_t q = 0; q < nq; ++q) users[q] = static_cast<std::uint32_t>((q * 131) % n_users);
        std::vector<float> queries(nq * k);
        for (std::size_t q = 0; q < nq; ++q) std::copy(m.user_row(users[q]), m.user_row(users[q]) + k, queries.begin() + q * k);
        std::vector<double> best(sides.size(), 1e30);
        std::vector<std::vector<long>> res(sides.size(), std::vector<long>(nq * topn, -1));
        for (int rr = 0; rr < rounds; ++rr)
            for (std::size_t s = 0; s < sides.size(); ++s) {
                if (B == 1024 && !sides[s].big) continue;
                const auto t0 = Clock::now();
                for (std::size_t c = 0; c < calls; ++c)
                    sides[s].run(users.data() + c * B, queries.data() + c * B * k, B, res[s].data() + c * B * topn);
                best[s] = std::min(best[s], since(t0) / double(nq));
            }
        std::printf("\nbatch %zu: %-22s %10s %9s %12s %12s\n", B, "side", "ms/query", "vs fp32", "overlap@10", "vs faiss-exact");
        for (std::size_t s = 0; s < sides.size(); ++s) {
            if (B == 1024 && !sides[s].big) {
                std::printf("         %-22s %10s (scans each query alone: the per-query time of batch 64)\n", sides[s].name, "-");
                continue;
            }
            std::printf("         %-22s %10.3f %8.2fx %12.3f %12.3f\n", sides[s].name, best[s] * 1e3, best[0] / best[s],
                        overlap(res[0], res[s], nq, topn), overlap(res[4], res[s], nq, topn));
        }
    }

    // The two ways of scoring int8 for one user: time of one scan of the table (best of rounds), and
    // the top-10 overlap of each with fp32 over 64 users.
    {
        const auto& kt = kernels::active();
        const QuantTables& q = r.quant;
        std::vector<float> sc(n_items), ex(n_items);
        double t_ii = 1e30, t_fi = 1e30, o_ii = 0, o_fi = 0;
        auto top = [&](const std::vector<float>& v) {
            std::vector<std::uint32_t> ix(n_items);
            for (std::uint32_t j = 0; j < n_items; ++j) ix[j] = j;
            std::partial_sort(ix.begin(), ix.begin() + topn, ix.end(), [&](auto a, auto c) { return v[a] > v[c]; });
            return std::set<std::uint32_t>(ix.begin(), ix.begin() + topn);
        };
        for (std::uint32_t u = 0; u < 64; ++u) {
            auto t0 = Clock::now();
            kt.dot_rows_i8(q.b(false), n_items, q.stride, q.sQ.data(), q.b(true) + std::size_t(u) * q.stride, q.sP[u],
                           q.stride, sc.data());
            t_ii = std::min(t_ii, since(t0));
            kt.dot_rows(m.Q.data(), n_items, m.stride, m.user_row(u), m.stride, ex.data());
            const auto want = top(ex);
            std::size_t same = 0;
            for (auto j : top(sc)) same += want.count(j);
            o_ii += same;
            t0 = Clock::now();
            kt.dot_rows_i8f(q.b(false), n_items, q.stride, q.sQ.data(), m.user_row(u), q.stride, sc.data());
            t_fi = std::min(t_fi, since(t0));
            same = 0;
            for (auto j : top(sc)) same += want.count(j);
            o_fi += same;
        }
        std::printf("\nint8 scoring, one scan of the table: int8 user x int8 items %.2f ms (overlap@10 %.3f); float user x "
                    "int8 items %.2f ms (overlap@10 %.3f)\n",
                    t_ii * 1e3, o_ii / (64.0 * topn), t_fi * 1e3, o_fi / (64.0 * topn));
    }
    return 0;
}
