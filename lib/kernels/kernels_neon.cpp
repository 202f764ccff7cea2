// NEON (AArch64) kernels: xsimd::neon64, compiled with this level's flags only (lib/kernels/meson.build).
#define SIMDMF_KERNEL_NS impl_neon
#include "kernels/kernels_impl.hpp"
#include "kernels/tables.hpp"
#include "kernels/nn_impl.hpp"
#include "kernels/nn_tables.hpp"

namespace simdmf::kernels {

const Table& table_neon() {
    static constexpr Table table = impl_neon::make_table<xsimd::neon64, 8>(Level::neon, "neon");
    return table;
}

const NnTable& nn_table_neon() {
    static constexpr NnTable table = impl_neon::make_nn_table<xsimd::neon64>(Level::neon);
    return table;
}

}  // namespace simdmf::kernels
