// The neural-network kernels' dispatch: the NnTable of the level kernels::active() chose (so
// SIMDMF_SIMD and force_level lower both families together).
#include "kernels/nn_tables.hpp"

namespace simdmf::kernels {

const NnTable* nn_table_for(Level level) {
    if (table_for(level) == nullptr) return nullptr;  // not compiled in, or not supported here
    switch (level) {
        case Level::scalar: return &nn_table_scalar();
#ifdef SIMDMF_HAVE_KERNELS_SSE2
        case Level::sse2: return &nn_table_sse2();
#endif
#ifdef SIMDMF_HAVE_KERNELS_SSE42
        case Level::sse4_2: return &nn_table_sse42();
#endif
#ifdef SIMDMF_HAVE_KERNELS_AVX2
        case Level::avx2: return &nn_table_avx2();
#endif
#ifdef SIMDMF_HAVE_KERNELS_AVX512
        case Level::avx512: return &nn_table_avx512();
#endif
#ifdef SIMDMF_HAVE_KERNELS_NEON
        case Level::neon: return &nn_table_neon();
#endif
        default: return nullptr;
    }
}

const NnTable& nn_active() { return *nn_table_for(active().level); }

}  // namespace simdmf::kernels
