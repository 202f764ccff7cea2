// Internal: the kernel table of each compiled level (defined in kernels_<level>.cpp). Only
// dispatch.cpp and the kernel tests use these; which ones exist is signalled by the
// SIMDMF_HAVE_KERNELS_<LEVEL> macros (lib/kernels/meson.build).
#pragma once
#include "kernels/kernels.hpp"

namespace simdmf::kernels {

const Table& table_scalar();
const Table& table_sse2();
const Table& table_sse42();
const Table& table_avx2();
const Table& table_avx512();
const Table& table_avx2_no_vnni();    // the same without the VNNI int8 kernels (table_without_vnni)
const Table& table_avx512_no_vnni();
const Table& table_neon();
// AArch64: the NEON table without the sdot int8 kernels (those a CPU without the dot-product extension
// runs; table_neon() is this one there), and whether this CPU has sdot (HWCAP_ASIMDDP).
const Table& table_neon_no_dotprod();
bool neon_dotprod();

}  // namespace simdmf::kernels
