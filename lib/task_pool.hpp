// parallel_for over independent tasks (cross-validation folds, tuning runs, users of a ranking
// evaluation): work is handed out one index at a time to a few std::threads.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

namespace simdmf {

// 0 -> the hardware thread count (at least 1).
inline unsigned resolve_threads(unsigned t) {
    if (t) return t;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? hw : 1;
}

// Test hook: when >= 0, the number of threads start_thread may still start; each start takes one and
// at 0 it throws std::system_error(EAGAIN) as a failing pthread_create does. -1 (default): no limit.
inline std::atomic<long> thread_start_budget{-1};

// Every thread the library starts goes through here. Throws std::system_error when the system (or the
// test hook) refuses a thread; callers fall back to the threads they have, the caller's own included.
template <class F>
std::thread start_thread(F& f) {
    for (long b = thread_start_budget.load(); b >= 0;) {
        if (b == 0) throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                            "thread creation refused (test hook)");
        if (thread_start_budget.compare_exchange_weak(b, b - 1)) break;
    }
    return std::thread(f);
}

// Runs body(i) for every i in [0, n) on up to `threads` threads, the caller's thread being one of them
// (the caller alone when 1). Threads the system refuses to start (std::system_error: address space,
// process limits) are done without: the threads that did start share their indices, and with none the
// caller runs them all, so thread exhaustion slows the call down but never fails or aborts it.
// The first exception from body stops the hand-out of further indices and is rethrown in the caller
// once the running bodies have returned.
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
    try {
        pool.reserve(threads - 1);
        for (unsigned t = 1; t < threads; ++t) pool.push_back(start_thread(worker));
    } catch (const std::system_error&) {  // fewer threads than asked for
    } catch (const std::bad_alloc&) {
    }
    worker();
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace simdmf
