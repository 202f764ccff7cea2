// The serving benchmarks' table (bench_serve, bench_quant): an MF model without biases (a pure inner
// product, as faiss IndexFlatIP scores) whose user and item rows are N(0, 1) draws of one seeded stream,
// items first, so both programs score exactly the same numbers.
#pragma once
#include <cstdint>
#include <random>

#include "models/mf.hpp"

inline simdmf::MFModel serving_table(std::uint32_t n_users, std::uint32_t n_items, std::uint32_t k) {
    simdmf::MFModel m;
    m.allocate(simdmf::Loss::squared, k, n_users, n_items, false);
    std::mt19937 g(7);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (std::uint32_t i = 0; i < n_items; ++i)
        for (std::uint32_t f = 0; f < k; ++f) m.item_row(i)[f] = d(g);
    for (std::uint32_t u = 0; u < n_users; ++u)
        for (std::uint32_t f = 0; f < k; ++f) m.user_row(u)[f] = d(g);
    return m;
}
