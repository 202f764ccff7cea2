// AVX2 + FMA kernels: xsimd::fma3<xsimd::avx2>, compiled with this level's flags only (lib/kernels/meson.build).
#define SIMDMF_KERNEL_NS impl_avx2
#include "kernels/kernels_impl.hpp"
#include "kernels/tables.hpp"
#include "kernels/nn_impl.hpp"
#include "kernels/nn_tables.hpp"

namespace simdmf::kernels {

const Table& table_avx2_no_vnni() {
    static constexpr Table table = impl_avx2::make_table<xsimd::fma3<xsimd::avx2>, 4>(Level::avx2, "avx2");
    return table;
}

const Table& table_avx2() {
    // The int8 batch GEMM uses AVX-VNNI (vpdpbusd on 256-bit vectors, VEX) where the CPU has it
    // (Alder Lake and later, Zen 5); this level does not assume it.
    static const Table table = [] {
        Table t = table_avx2_no_vnni();
        if (vnni_usable(Level::avx2)) t.gemm_i8 = &impl_avx2::gemm_i8_avxvnni;
        return t;
    }();
    return table;
}

const NnTable& nn_table_avx2() {
    static constexpr NnTable table = impl_avx2::make_nn_table<xsimd::fma3<xsimd::avx2>>(Level::avx2);
    return table;
}

}  // namespace simdmf::kernels
