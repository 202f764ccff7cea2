// Issue 5, through the real shared library and only the C ABI (also run under ThreadSanitizer):
// many threads serving one const model, per-thread last-error isolation, multi-threaded training,
// and the fit contract on divergence and cancellation.
#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "simdmf/simdmf.h"

namespace {

constexpr std::uint32_t kUsers = 120, kItems = 90;

// A deterministic low-rank data set through simdmf_dataset_from_triples.
simdmf_dataset* make_data(std::size_t n = 3000) {
    std::vector<std::uint32_t> u(n), i(n);
    std::vector<float> v(n);
    std::uint64_t s = 12345;
    auto next = [&] {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<std::uint32_t>(s >> 33);
    };
    for (std::size_t j = 0; j < n; ++j) {
        u[j] = next() % kUsers;
        i[j] = next() % kItems;
        v[j] = 1.0f + static_cast<float>((u[j] * 7 + i[j] * 3) % 5);
    }
    simdmf_dataset* ds = nullptr;
    REQUIRE(simdmf_dataset_from_triples(u.data(), i.data(), v.data(), n, kUsers, kItems, &ds) == SIMDMF_OK);
    return ds;
}

simdmf_model* fit(simdmf_dataset* ds, int threads, int epochs = 8) {
    simdmf_trainer* t = nullptr;
    REQUIRE(simdmf_trainer_create(&t) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set(t, "k", 8) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set(t, "epochs", epochs) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set(t, "threads", threads) == SIMDMF_OK);
    simdmf_model* m = nullptr;
    const simdmf_status st = simdmf_trainer_fit(t, ds, nullptr, &m);
    simdmf_trainer_free(t);
    REQUIRE(st == SIMDMF_OK);
    return m;
}

struct Answers {
    std::vector<float> pred, row;
    std::vector<std::uint32_t> top, near;
};

// Everything the serving calls return for user u / item u % kItems.
Answers serve(const simdmf_model* m, const simdmf_dataset* seen, std::uint32_t u) {
    Answers a;
    a.pred.resize(kItems);
    for (std::uint32_t i = 0; i < kItems; ++i) CHECK(simdmf_model_predict(m, u, i, &a.pred[i]) == SIMDMF_OK);
    a.row.resize(kItems);
    CHECK(simdmf_model_predict_row(m, u, a.row.data()) == SIMDMF_OK);
    a.top.resize(10);
    std::size_t n = 0;
    CHECK(simdmf_model_recommend(m, u, 10, seen, a.top.data(), nullptr, &n) == SIMDMF_OK);
    a.top.resize(n);
    a.near.resize(5);
    CHECK(simdmf_model_nearest(m, SIMDMF_ITEMS, u % kItems, 5, a.near.data(), nullptr, &n) == SIMDMF_OK);
    a.near.resize(n);
    return a;
}

bool same(const Answers& a, const Answers& b) {
    return a.pred == b.pred && a.row == b.row && a.top == b.top && a.near == b.near;
}

}  // namespace

TEST_CASE("many threads serve one const model: predict, recommend, nearest agree with one thread") {
    simdmf_dataset* ds = make_data();
    simdmf_model* m = fit(ds, 1);
    std::vector<Answers> ref(kUsers);
    for (std::uint32_t u = 0; u < kUsers; ++u) ref[u] = serve(m, ds, u);

    const int T = 4;
    std::atomic<int> mismatches{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < T; ++t)
        pool.emplace_back([&, t] {
            for (int round = 0; round < 3; ++round)
                for (std::uint32_t u = static_cast<std::uint32_t>(t); u < kUsers; u += 2)
                    if (!same(serve(m, ds, u), ref[u])) ++mismatches;
        });
    for (auto& th : pool) th.join();
    CHECK(mismatches.load() == 0);
    simdmf_model_free(m);
    simdmf_dataset_free(ds);
}

TEST_CASE("simdmf_last_error is per thread") {
    simdmf_dataset* ds = make_data(500);
    simdmf_model* m = fit(ds, 1, 2);
    const int T = 4, rounds = 200;
    std::barrier sync(T);
    std::atomic<int> wrong{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < T; ++t)
        pool.emplace_back([&, t] {
            const std::uint32_t bad_user = 1000 + static_cast<std::uint32_t>(t);
            const std::string mine = "user index " + std::to_string(bad_user) + " >= n_users";
            for (int r = 0; r < rounds; ++r) {
                float out = 0;
                if (simdmf_model_predict(m, bad_user, 0, &out) != SIMDMF_ERR_OUT_OF_RANGE) ++wrong;
                sync.arrive_and_wait();  // every thread has now failed with its own message
                if (std::string(simdmf_last_error()).find(mine) == std::string::npos) ++wrong;
                // A successful call on this thread does not disturb the message either.
                if (simdmf_model_predict(m, 0, 0, &out) != SIMDMF_OK) ++wrong;
                if (std::string(simdmf_last_error()).find(mine) == std::string::npos) ++wrong;
                sync.arrive_and_wait();
            }
        });
    for (auto& th : pool) th.join();
    CHECK(wrong.load() == 0);
    simdmf_model_free(m);
    simdmf_dataset_free(ds);
}

TEST_CASE("training with 2 threads, and two trainers at once on one const data set") {
    simdmf_dataset* ds = make_data(6000);
    simdmf_model* a = fit(ds, 2);
    simdmf_model* b = fit(ds, 2);
    // deterministic mode (the default): same seed, same model whatever the thread count
    simdmf_model* c = fit(ds, 1);
    float pa = 0, pb = 0, pc = 0;
    for (std::uint32_t u = 0; u < kUsers; u += 7) {
        REQUIRE(simdmf_model_predict(a, u, u % kItems, &pa) == SIMDMF_OK);
        REQUIRE(simdmf_model_predict(b, u, u % kItems, &pb) == SIMDMF_OK);
        REQUIRE(simdmf_model_predict(c, u, u % kItems, &pc) == SIMDMF_OK);
        CHECK(pa == pb);
        CHECK(pa == pc);
    }
    simdmf_model_free(a);
    simdmf_model_free(b);
    simdmf_model_free(c);

    std::vector<simdmf_model*> out(2, nullptr);
    std::vector<std::thread> pool;
    for (int t = 0; t < 2; ++t) pool.emplace_back([&, t] { out[t] = fit(ds, 2, 4); });
    for (auto& th : pool) th.join();
    float p0 = 0, p1 = 0;
    REQUIRE(simdmf_model_predict(out[0], 3, 4, &p0) == SIMDMF_OK);
    REQUIRE(simdmf_model_predict(out[1], 3, 4, &p1) == SIMDMF_OK);
    CHECK(p0 == p1);
    for (auto* m : out) simdmf_model_free(m);
    simdmf_dataset_free(ds);
}

TEST_CASE("simdmf_trainer_fit on divergence: DIVERGED, *out is the last good model, message names the epoch") {
    simdmf_dataset* ds = make_data(800);
    simdmf_trainer* t = nullptr;
    REQUIRE(simdmf_trainer_create(&t) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set(t, "k", 4) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set(t, "epochs", 40) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set(t, "lr", 10) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set(t, "init_std", 10) == SIMDMF_OK);
    simdmf_model* m = nullptr;
    CHECK(simdmf_trainer_fit(t, ds, nullptr, &m) == SIMDMF_ERR_DIVERGED);
    const std::string msg = simdmf_last_error();
    CHECK(msg.find("training diverged in epoch ") != std::string::npos);
    REQUIRE(m != nullptr);
    std::vector<float> row(kItems);
    REQUIRE(simdmf_model_predict_row(m, 0, row.data()) == SIMDMF_OK);
    for (float x : row) CHECK(std::isfinite(x));
    simdmf_model_free(m);

    // The new keys are reachable through the C ABI.
    double v = 0;
    CHECK(simdmf_trainer_get(t, "snapshot", &v) == SIMDMF_OK);
    CHECK(v == 1);
    CHECK(simdmf_trainer_set(t, "retry_diverged", 11) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(simdmf_trainer_set(t, "min_rating", 1) == SIMDMF_OK);
    CHECK(simdmf_trainer_set(t, "max_rating", 4) == SIMDMF_OK);
    m = reinterpret_cast<simdmf_model*>(&v);  // must be reset to NULL on failure
    CHECK(simdmf_trainer_fit(t, ds, nullptr, &m) == SIMDMF_ERR_INVALID_DATA);  // values 1..5 > 4
    CHECK(m == nullptr);
    CHECK(std::string(simdmf_last_error()).find("outside the declared range") != std::string::npos);
    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
}

namespace {
int stop_after_two(const simdmf_epoch_info* info, void*) { return info->epoch >= 2 ? 1 : 0; }
}  // namespace

TEST_CASE("cancelling through the C callback gives a valid model that saves and loads") {
    simdmf_dataset* ds = make_data(800);
    simdmf_trainer* t = nullptr;
    REQUIRE(simdmf_trainer_create(&t) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set(t, "epochs", 30) == SIMDMF_OK);
    REQUIRE(simdmf_trainer_set_callback(t, stop_after_two, nullptr) == SIMDMF_OK);
    simdmf_model* m = nullptr;
    CHECK(simdmf_trainer_fit(t, ds, nullptr, &m) == SIMDMF_CANCELLED);
    REQUIRE(m != nullptr);
    std::size_t epochs = 0;
    CHECK(simdmf_trainer_history_size(t, &epochs) == SIMDMF_OK);
    CHECK(epochs == 2);
    const std::string path = std::filesystem::temp_directory_path() /
                             ("simdmf-cancel-" + std::to_string(::getpid()) + ".smf");
    REQUIRE(simdmf_model_save(m, path.c_str()) == SIMDMF_OK);
    simdmf_model* back = nullptr;
    REQUIRE(simdmf_model_load(path.c_str(), &back) == SIMDMF_OK);
    float a = 0, b = 0;
    CHECK(simdmf_model_predict(m, 5, 6, &a) == SIMDMF_OK);
    CHECK(simdmf_model_predict(back, 5, 6, &b) == SIMDMF_OK);
    CHECK(a == b);
    CHECK(std::isfinite(a));
    std::remove(path.c_str());
    simdmf_model_free(back);
    simdmf_model_free(m);
    simdmf_trainer_free(t);
    simdmf_dataset_free(ds);
}

TEST_CASE("bad files through the C ABI: exact statuses, NULL out handles, useful messages") {
    const std::string dir = std::filesystem::temp_directory_path() / ("simdmf-abi-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string p = dir + "/bad.data";
    std::FILE* f = std::fopen(p.c_str(), "wb");
    std::fputs("1\t2\t3\t4\n1\t2\tx\t4\n", f);
    std::fclose(f);
    simdmf_dataset* ds = reinterpret_cast<simdmf_dataset*>(&f);
    CHECK(simdmf_dataset_load(p.c_str(), SIMDMF_FORMAT_AUTO, &ds) == SIMDMF_ERR_FORMAT);
    CHECK(ds == nullptr);
    CHECK(std::string(simdmf_last_error()).find(p + ":2: rating 'x' is not a number") != std::string::npos);
    simdmf_model* m = reinterpret_cast<simdmf_model*>(&f);
    CHECK(simdmf_model_load(p.c_str(), &m) == SIMDMF_ERR_FORMAT);
    CHECK(m == nullptr);
    CHECK(simdmf_model_load((dir + "/none").c_str(), &m) == SIMDMF_ERR_IO);
    CHECK(simdmf_dataset_load(dir.c_str(), SIMDMF_FORMAT_LIBMF, &ds) == SIMDMF_ERR_IO);
    CHECK(simdmf_dataset_load(p.c_str(), 99, &ds) == SIMDMF_ERR_INVALID_ARGUMENT);
    std::filesystem::remove_all(dir);
}

// Batched serving: each thread with its own scratch, one model loaded and one memory-mapped (issue 13).
TEST_CASE("many threads serve batches from one model, loaded and memory-mapped, each with its own scratch") {
    simdmf_dataset* ds = make_data();
    simdmf_model* trained = fit(ds, 1);
    const std::string path = std::filesystem::temp_directory_path() / ("simdmf_conc_" + std::to_string(getpid()) + ".smf");
    REQUIRE(simdmf_model_save(trained, path.c_str()) == SIMDMF_OK);
    simdmf_model* mapped = nullptr;
    REQUIRE(simdmf_model_open(path.c_str(), SIMDMF_OPEN_MMAP, &mapped) == SIMDMF_OK);
    std::vector<std::uint32_t> users(kUsers);
    for (std::uint32_t u = 0; u < kUsers; ++u) users[u] = (u * 37) % kUsers;
    const std::uint32_t deny[3] = {1, 2, 50};
    simdmf_filter f{};
    f.struct_size = sizeof f;
    f.exclude = ds;
    f.deny = deny;
    f.n_deny = 3;
    constexpr std::size_t N = 8;
    struct Out {
        std::vector<std::uint32_t> items, near;
        std::vector<float> scores;
        std::vector<std::size_t> counts, near_counts;
    };
    auto run = [&](const simdmf_model* m, simdmf_scratch* s) {
        Out o;
        o.items.resize(kUsers * N);
        o.scores.resize(kUsers * N);
        o.counts.resize(kUsers);
        o.near.resize(kUsers * N);
        o.near_counts.resize(kUsers);
        CHECK(simdmf_model_recommend_batch(m, users.data(), kUsers, N, &f, s, o.items.data(), o.scores.data(),
                                           o.counts.data()) == SIMDMF_OK);
        CHECK(simdmf_model_nearest_batch(m, SIMDMF_USERS, SIMDMF_METRIC_DOT, users.data(), kUsers, N, s,
                                         o.near.data(), nullptr, o.near_counts.data()) == SIMDMF_OK);
        return o;
    };
    simdmf_scratch* s0 = nullptr;
    REQUIRE(simdmf_scratch_create(&s0) == SIMDMF_OK);
    const Out ref = run(trained, s0);
    const Out ref_mapped = run(mapped, s0);
    CHECK(ref_mapped.items == ref.items);
    CHECK(ref_mapped.scores == ref.scores);
    simdmf_scratch_free(s0);
    std::atomic<int> mismatches{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&, t] {
            simdmf_scratch* s = nullptr;
            if (simdmf_scratch_create(&s) != SIMDMF_OK) return void(++mismatches);
            for (int round = 0; round < 3; ++round) {
                const Out o = run(t % 2 ? mapped : trained, s);
                if (o.items != ref.items || o.scores != ref.scores || o.counts != ref.counts || o.near != ref.near)
                    ++mismatches;
            }
            simdmf_scratch_free(s);
        });
    for (auto& th : pool) th.join();
    CHECK(mismatches.load() == 0);
    simdmf_model_free(mapped);
    simdmf_model_free(trained);
    simdmf_dataset_free(ds);
    std::remove(path.c_str());
}
