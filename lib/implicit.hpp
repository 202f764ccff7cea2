// Implicit feedback (loss "implicit", iALS: Hu, Koren and Volinsky, ICDM 2008): how a cell's count
// becomes its weight in the weighted squared loss over every user x item cell, shared by the solver
// (lib/solvers/ials.cpp), fold-in (lib/models/mf.cpp) and the model file.
//
//   minimise  sum_{(u,i) observed} c_ui (1 - p_u.q_i)^2 + w0 sum_{(u,i) unobserved} (p_u.q_i)^2
//             + sum_u l2_u |p_u|^2 + sum_i l2_i |q_i|^2
//   c = 1 + alpha * count                  (confidence "linear")
//   c = 1 + alpha * log(1 + count / eps)   (confidence "log")
//   l2_u = l2 * (n_u + w0 * n_items)^nu    (nu = reg_exponent; nu = 0: l2 for every row)
// n_u is the number of distinct items user u has events on. The scaling is the frequency-scaled
// regularisation of Rendle, Krichene, Zhang and Koren, "Revisiting the Performance of iALS on Item
// Recommendation Benchmarks" (RecSys 2022), lambda (|I_u| + alpha_0 |I|)^nu, with their alpha_0 our w0.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "common.hpp"

namespace simdmf {

enum class Confidence : std::uint32_t { linear = 0, log = 1 };

struct ImplicitParams {
    Confidence confidence = Confidence::linear;  // option "confidence"
    double alpha = 1.0;                          // option "alpha" (>= 0)
    double eps = 1.0;                            // option "confidence_eps" (> 0), the log form's scale
    double unobserved_weight = 1.0;              // option "unobserved_weight": w0 (> 0)
    double reg_exponent = 0.0;                   // option "ials_reg_exponent": nu in [0, 1]

    // The weight c of a cell with this count (> 0).
    double weight(double count) const {
        return confidence == Confidence::log ? 1.0 + alpha * std::log1p(count / eps) : 1.0 + alpha * count;
    }
    // The L2 weight of a row with n events when the other side has n_other rows.
    double row_l2(double l2, double n, double n_other) const {
        return reg_exponent == 0.0 ? l2 : l2 * std::pow(n + unobserved_weight * n_other, reg_exponent);
    }
};

const char* confidence_name(Confidence c);  // "linear", "log"

// w0 Y^T Y of the n rows of Y (row stride fs, zero from k to fs) into G, a full symmetric k x k matrix of
// row stride fs (its padding zero): the gram kernel over fixed blocks of rows, the blocks on `threads`
// threads and added in block order, so the result is the same for any thread count (ials.cpp).
void implicit_gram(const float* Y, std::size_t n, std::size_t fs, std::size_t k, double scale, unsigned threads,
                   AlignedFloats& G);

}  // namespace simdmf
