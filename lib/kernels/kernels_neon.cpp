// NEON (AArch64) kernels: xsimd::neon64, compiled with this level's flags only (lib/kernels/meson.build).
#define SIMDMF_KERNEL_NS impl_neon
#include "kernels/kernels_impl.hpp"
#include "kernels/tables.hpp"
#include "kernels/nn_impl.hpp"
#include "kernels/nn_tables.hpp"

#if defined(__linux__) && defined(SIMDMF_NEON_SDOT_VARIANTS)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)  // the Linux AArch64 hwcap bit of the dot-product instructions
#endif
#endif

namespace simdmf::kernels {

const Table& table_neon_no_dotprod() {
    static constexpr Table table = impl_neon::make_table<xsimd::neon64, 8>(Level::neon, "neon");
    return table;
}

bool neon_dotprod() {
#if defined(__ARM_FEATURE_DOTPROD)
    return true;  // the whole level is compiled for it
#elif defined(__linux__) && defined(SIMDMF_NEON_SDOT_VARIANTS)
    static const bool has = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
    return has;
#else
    return false;
#endif
}

const Table& table_neon() {
    // The int8 kernels use sdot (Armv8.2 dot product) where the CPU has it; this level does not assume it.
    static const Table table = [] {
        Table t = table_neon_no_dotprod();
#if defined(SIMDMF_NEON_SDOT_VARIANTS)
        if (neon_dotprod()) {
            t.dot_rows_i8 = &impl_neon::dot_rows_i8_sdot;
            t.gemm_i8 = &impl_neon::gemm_i8_sdot;
        }
#endif
        return t;
    }();
    return table;
}

const NnTable& nn_table_neon() {
    static constexpr NnTable table = impl_neon::make_nn_table<xsimd::neon64>(Level::neon);
    return table;
}

}  // namespace simdmf::kernels
