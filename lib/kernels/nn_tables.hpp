// Internal: the neural-network kernel table of each compiled level (kernels_<level>.cpp and
// nn_scalar.cpp); only nn_dispatch.cpp and the kernel tests use these.
#pragma once
#include "kernels/nn.hpp"

namespace simdmf::kernels {

const NnTable& nn_table_scalar();
const NnTable& nn_table_sse2();
const NnTable& nn_table_sse42();
const NnTable& nn_table_avx2();
const NnTable& nn_table_avx512();
const NnTable& nn_table_neon();

}  // namespace simdmf::kernels
