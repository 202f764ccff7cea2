// parallel_for over independent tasks (cross-validation folds, tuning runs, users of a ranking
// evaluation): work is handed out one index at a time to a few std::threads.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace simdmf {

// 0 -> the hardware thread count (at least 1).
inline unsigned resolve_threads(unsigned t) {
    if (t) return t;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? hw : 1;
}

// Runs body(i) for every i in [0, n) on up to `threads` threads (the caller's thread alone when 1).
// The first exception stops the hand-out of further indices and is rethrown in the caller once the
// running bodies have returned.
template <class Body>
void parallel_for(std::size_t n, unsigned threads, Body&& body) {
    threads = static_cast<unsigned>(std::min<std::size_t>(resolve_threads(threads), n));
    if (threads <= 1) {
        for (std::size_t i = 0; i < n; ++i) body(i);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&] {
        for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= n) return;
            try {
                body(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                next.store(n);
                return;
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace simdmf
