// SSE4.2 kernels: xsimd::sse4_2, compiled with this level's flags only (lib/kernels/meson.build).
#define SIMDMF_KERNEL_NS impl_sse42
#include "kernels/kernels_impl.hpp"
#include "kernels/tables.hpp"
#include "kernels/nn_impl.hpp"
#include "kernels/nn_tables.hpp"

namespace simdmf::kernels {

const Table& table_sse42() {
    static constexpr Table table = impl_sse42::make_table<xsimd::sse4_2, 4>(Level::sse4_2, "sse4.2");
    return table;
}

const NnTable& nn_table_sse42() {
    static constexpr NnTable table = impl_sse42::make_nn_table<xsimd::sse4_2>(Level::sse4_2);
    return table;
}

}  // namespace simdmf::kernels
