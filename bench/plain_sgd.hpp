// The textbook SGD step as plain scalar loops: the in-process baseline of the training benchmarks.
// Given the error of one rating, updates both rows (q from the old p) and both biases.
#pragma once
#include <cstddef>

namespace simdmf_bench {

inline void plain_sgd_update(float* p, float* q, float& bu, float& bi, std::size_t k, float err, float lr, float l2,
                             float l2b) {
    for (std::size_t f = 0; f < k; ++f) {
        const float pf = p[f];
        p[f] += lr * (err * q[f] - l2 * pf);
        q[f] += lr * (err * pf - l2 * q[f]);
    }
    bu += lr * (err - l2b * bu);
    bi += lr * (err - l2b * bi);
}

}  // namespace simdmf_bench
