/* simd_probe LEVEL: exit 0 when this machine runs the SIMD level LEVEL (scalar, sse2, sse4.2, avx2,
 * avx512, neon), 77 (meson's "skipped") with the library's reason when it does not (the CPU lacks it,
 * or the build leaves it out: meson option simd_levels). tests/at_level.sh calls it before running a
 * suite at a forced level, so such a level is reported as skipped, never as passed. */
#include <stdio.h>
#include <string.h>

#include "simdmf/simdmf.h"

int main(int argc, char** argv) {
    static const char* names[] = {"scalar", "sse2", "sse4.2", "avx2", "avx512", "neon"};
    if (argc != 2) {
        fprintf(stderr, "usage: simd_probe LEVEL\n");
        return 2;
    }
    for (int level = 0; level < (int)(sizeof names / sizeof names[0]); ++level) {
        if (strcmp(argv[1], names[level]) != 0) continue;
        if (simdmf_set_simd_level(level) == SIMDMF_OK) return 0;
        printf("%s: suite skipped at this level\n", simdmf_last_error());
        return 77;
    }
    fprintf(stderr, "simd_probe: unknown level '%s'\n", argv[1]);
    return 2;
}
