// AVX-512 (F, CD, DQ, BW) kernels: xsimd::avx512bw, compiled with this level's flags only (lib/kernels/meson.build).
#define SIMDMF_KERNEL_NS impl_avx512
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps "__Y = __Y", GCC bug 105593) when
// xsimd::exp or _mm512_extractf64x4_pd (fold512) is inlined here; the warning is spurious.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include "kernels/kernels_impl.hpp"
#include "kernels/tables.hpp"
#include "kernels/nn_impl.hpp"
#include "kernels/nn_tables.hpp"

namespace simdmf::kernels {

const Table& table_avx512_no_vnni() {
    static const Table table = impl_avx512::make_table<xsimd::avx512bw, 8>(Level::avx512, "avx512");
    return table;
}

const Table& table_avx512() {
    // The int8 scan uses VNNI (vpdpbusd) where the CPU has it; this level does not assume it.
    static const Table table = [] {
        Table t = table_avx512_no_vnni();
        if (vnni_usable(Level::avx512)) {
            t.dot_rows_i8 = &impl_avx512::dot_rows_i8_vnni;
            t.gemm_i8 = &impl_avx512::gemm_i8_vnni;
            t.i8_panel = 16;
        }
        return t;
    }();
    return table;
}

const NnTable& nn_table_avx512() {
    static constexpr NnTable table = impl_avx512::make_nn_table<xsimd::avx512bw>(Level::avx512);
    return table;
}

}  // namespace simdmf::kernels
