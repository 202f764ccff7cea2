// The textbook SGD step for matrix factorisation, as plain loops: the dot product, then the two row
// updates, e = r - p.q;  p += lr (e q - l2 p);  q += lr (e p_old - l2 q).
// The baseline of bench_kernels. This one source is compiled several times (bench/meson.build): with
// -O2 as the "textbook scalar loop", and with -O3 for the baseline target and (x86-64) each wider
// -march as the "auto-vectorised" loop. The function name comes from TEXTBOOK_NAME so that all the
// copies link into one program.
#include <cstddef>

#ifndef TEXTBOOK_NAME
#error "define TEXTBOOK_NAME"
#endif

float TEXTBOOK_NAME(float* p, float* q, std::size_t k, float r, float lr, float l2) {
    float pred = 0.0f;
    for (std::size_t j = 0; j < k; ++j) pred += p[j] * q[j];
    const float e = r - pred;
    for (std::size_t j = 0; j < k; ++j) {
        const float p_old = p[j];
        p[j] += lr * (e * q[j] - l2 * p[j]);
        q[j] += lr * (e * p_old - l2 * q[j]);
    }
    return e;
}
