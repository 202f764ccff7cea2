// Cholesky solves for the row problems (see linalg.hpp).
#include "linalg.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/kernels.hpp"

namespace simdmf::linalg {

bool solve_spd(double* A, double* b, std::size_t n) {
    for (std::size_t j = 0; j < n; ++j) {  // A = L L^T, L in the lower triangle
        double d = A[j * n + j];
        for (std::size_t k = 0; k < j; ++k) d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0.0)) return false;
        d = std::sqrt(d);
        A[j * n + j] = d;
        for (std::size_t i = j + 1; i < n; ++i) {
            double s = A[i * n + j];
            for (std::size_t k = 0; k < j; ++k) s -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = s / d;
        }
    }
    for (std::size_t i = 0; i < n; ++i) {  // L y = b
        double s = b[i];
        for (std::size_t k = 0; k < i; ++k) s -= A[i * n + k] * b[k];
        b[i] = s / A[i * n + i];
    }
    for (std::size_t i = n; i-- > 0;) {  // L^T x = y
        double s = b[i];
        for (std::size_t k = i + 1; k < n; ++k) s -= A[k * n + i] * b[k];
        b[i] = s / A[i * n + i];
    }
    return true;
}

NormalEquations::NormalEquations(std::size_t n)
    : n_(n), lda_(padded_stride(static_cast<std::uint32_t>(n))), A_(n * lda_, 0.0f), b_(lda_, 0.0f) {}

void NormalEquations::clear() {
    std::fill(A_.begin(), A_.end(), 0.0f);
    std::fill(b_.begin(), b_.end(), 0.0f);
}

void NormalEquations::add(const float* const* rows, const float* w, const float* c, std::size_t m) {
    kernels::active().gram(A_.data(), lda_, b_.data(), rows, w, c, m, n_);
}

void NormalEquations::add_diagonal(const float* reg) {
    for (std::size_t a = 0; a < n_; ++a) A_[a * lda_ + a] += reg[a];
}

const float* NormalEquations::solve() {
    const auto& kt = kernels::active();
    A_copy_.assign(A_.begin(), A_.end());
    if (kt.cholesky(A_.data(), lda_, n_) == 0) {
        kt.cholesky_solve(A_.data(), lda_, n_, b_.data());
        return b_.data();
    }
    // Double precision from the saved upper triangle (solve_spd reads the lower one: transpose).
    Ad_.assign(n_ * n_, 0.0);
    bd_.assign(b_.begin(), b_.begin() + static_cast<std::ptrdiff_t>(n_));
    for (std::size_t a = 0; a < n_; ++a)
        for (std::size_t col = a; col < n_; ++col) Ad_[col * n_ + a] = A_copy_[a * lda_ + col];
    if (!solve_spd(Ad_.data(), bd_.data(), n_)) return nullptr;
    for (std::size_t a = 0; a < n_; ++a) b_[a] = static_cast<float>(bd_[a]);
    return b_.data();
}

}  // namespace simdmf::linalg
