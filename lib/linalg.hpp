// Small dense linear algebra shared by the row solvers: fold-in (lib/models/model.cpp), ALS
// (lib/solvers/als.cpp) and implicit-feedback ALS. A row's problem is a ridge (or Newton) system
//   (sum_j w_j x_j x_j^T + diag(reg)) x = sum_j c_j x_j
// over the feature rows x_j of the other side, solved by Cholesky.
//
// Two precisions:
//   * double, scalar (solve_spd(double*)): fold-in's path, k up to 4096, results independent of the
//     SIMD level;
//   * float through the kernel table (NormalEquations): the SIMD gram / cholesky / cholesky_solve
//     kernels (lib/kernels/kernels.hpp), for the many small systems of an ALS sweep. Accumulators:
//     each Gram entry is one float FMA chain over the row's ratings (error <= ~m * eps * sum|terms|);
//     the factorisation and substitutions are float, accurate to ~n * eps * cond(A) relative, which the
//     ridge term keeps small (cond <= 1 + max eigenvalue / min reg). A system the float factorisation
//     rejects (a non-positive pivot: reg 0 on a rank-deficient row) is solved again in double.
#pragma once
#include <cstddef>
#include <vector>

#include "common.hpp"

namespace simdmf::linalg {

// Solves A x = b for symmetric positive definite A (n x n, row-major, the lower triangle is read;
// A is overwritten by its Cholesky factor, b by x). Returns false, leaving A and b partly
// overwritten, when A is not positive definite (a pivot <= 0 or NaN).
bool solve_spd(double* A, double* b, std::size_t n);

// One row's normal equations in float, built and solved through the active kernel table.
class NormalEquations {
public:
    // Systems of n unknowns; the rows passed to add() hold n floats then zeros up to padded_stride(n).
    explicit NormalEquations(std::size_t n);
    std::size_t size() const { return n_; }
    std::size_t lda() const { return lda_; }
    // A = 0, b = 0.
    void clear();
    // A += sum_j w_j x_j x_j^T, b += sum_j c_j x_j over rows[0..m) (w = nullptr: weights 1).
    void add(const float* const* rows, const float* w, const float* c, std::size_t m);
    // A += diag(reg[0..n)).
    void add_diagonal(const float* reg);
    // Solves A x = b: x (n floats) replaces b and is returned. Falls back to double precision when the
    // float factorisation fails; returns nullptr when A is not positive definite even then.
    const float* solve();
    float* rhs() { return b_.data(); }
    float* matrix() { return A_.data(); }  // row-major, stride lda(); the upper triangle is meaningful

private:
    std::size_t n_, lda_;
    AlignedFloats A_, b_;
    std::vector<double> Ad_, bd_;  // double fallback
    AlignedFloats A_copy_;
};

}  // namespace simdmf::linalg
