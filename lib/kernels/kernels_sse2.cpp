// SSE2 kernels: xsimd::sse2, compiled with this level's flags only (lib/kernels/meson.build).
#define SIMDMF_KERNEL_NS impl_sse2
#include "kernels/kernels_impl.hpp"
#include "kernels/tables.hpp"
#include "kernels/nn_impl.hpp"
#include "kernels/nn_tables.hpp"

namespace simdmf::kernels {

const Table& table_sse2() {
    static constexpr Table table = impl_sse2::make_table<xsimd::sse2, 4>(Level::sse2, "sse2");
    return table;
}

const NnTable& nn_table_sse2() {
    static constexpr NnTable table = impl_sse2::make_nn_table<xsimd::sse2>(Level::sse2);
    return table;
}

}  // namespace simdmf::kernels
