// Issue 10's robustness items in the library: saves to files that are not regular, through symbolic
// links and over files with their own mode (item 8); thread creation refused (item 10); the SGD
// worker cap and the free-running scheduler with many threads (item 11).
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common.hpp"
#include "eval/evaluate.hpp"
#include "eval/split.hpp"
#include "io/fileio.hpp"
#include "solvers/solvers.hpp"
#include "synthetic.hpp"
#include "task_pool.hpp"
#include "test_util.hpp"

using namespace simdmf;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// Only the named files are in the folder (no temporary left behind).
std::size_t entries(const fs::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

// Sets the thread_start_budget test hook for one scope.
struct ThreadBudget {
    explicit ThreadBudget(long n) { thread_start_budget.store(n); }
    ~ThreadBudget() { thread_start_budget.store(-1); }
};

Ratings planted(std::uint64_t n, std::uint32_t users, std::uint32_t items) {
    PlantedSpec s;
    s.n_users = users;
    s.n_items = items;
    s.n_ratings = n;
    s.noise_std = 0.3;
    s.integer_ratings = false;
    s.seed = 7;
    return make_planted(s);
}

}  // namespace

TEST_CASE("saves refuse a FIFO and a character device, leaving them as they were") {
    simdmf_test::TempDir dir;
    const fs::path fifo = dir.path / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string data = "model bytes";
    const std::string msg = error_of([&] { atomic_write_file(fifo.string(), data.data(), data.size()); });
    CHECK(msg.find(fifo.string()) != std::string::npos);
    CHECK(msg.find("not a regular file") != std::string::npos);
    CHECK(simdmf_test::status_of([&] { atomic_write_file(fifo.string(), data.data(), data.size()); }) ==
          SIMDMF_ERR_IO);
    CHECK(fs::is_fifo(fs::symlink_status(fifo)));
    CHECK(entries(dir.path) == 1);
    // A folder is refused too (rename would fail later with a less clear reason).
    fs::create_directory(dir.path / "sub");
    CHECK(simdmf_test::status_of([&] { atomic_write_file((dir.path / "sub").string(), "x", 1); }) == SIMDMF_ERR_IO);
    // A symbolic link to a character device: the device is refused, the link kept. /dev/null itself is
    // never the target of a write here; the refusal happens before anything is created.
    const fs::path link = dir.path / "null";
    fs::create_symlink("/dev/null", link);
    CHECK(error_of([&] { atomic_write_file(link.string(), "x", 1); }).find("not a regular file") != std::string::npos);
    CHECK(fs::is_symlink(fs::symlink_status(link)));
    CHECK(fs::is_character_file(fs::status("/dev/null")));
}

TEST_CASE("a save through a symbolic link replaces the link's target and keeps the link") {
    simdmf_test::TempDir dir;
    fs::create_directory(dir.path / "real");
    const fs::path target = dir.path / "real" / "m.smf";
    { std::ofstream(target) << "old"; }
    const fs::path link = dir.path / "m.smf";
    fs::create_symlink("real/m.smf", link);  // relative: resolved against the link's folder
    const fs::path link2 = dir.path / "m2.smf";
    fs::create_symlink(link.filename(), link2);  // a chain of two links
    atomic_write_file(link2.string(), "new", 3);
    CHECK(fs::is_symlink(fs::symlink_status(link)));
    CHECK(fs::is_symlink(fs::symlink_status(link2)));
    CHECK(slurp(target) == "new");
    CHECK(entries(dir.path / "real") == 1);
    // A dangling link: the file it names is created.
    const fs::path dangling = dir.path / "d.smf";
    fs::create_symlink("real/created.smf", dangling);
    atomic_write_file(dangling.string(), "abc", 3);
    CHECK(fs::is_symlink(fs::symlink_status(dangling)));
    CHECK(slurp(dir.path / "real" / "created.smf") == "abc");
    // A loop of links is an IO error, not a hang.
    fs::create_symlink("loop2", dir.path / "loop1");
    fs::create_symlink("loop1", dir.path / "loop2");
    CHECK(simdmf_test::status_of([&] { atomic_write_file((dir.path / "loop1").string(), "x", 1); }) == SIMDMF_ERR_IO);
}

TEST_CASE("a save keeps the mode of the file it replaces") {
    simdmf_test::TempDir dir;
    const fs::path p = dir.path / "secret.smf";
    { std::ofstream(p) << "old"; }
    for (mode_t mode : {mode_t(0600), mode_t(0640), mode_t(0755)}) {
        CAPTURE(mode);
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        atomic_write_file(p.string(), "new", 3);
        struct stat st {};
        REQUIRE(::stat(p.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == mode);
        CHECK(st.st_uid == ::getuid());
        CHECK(slurp(p) == "new");
    }
}

TEST_CASE("parallel_for: threads the system refuses are done without, every index runs once") {
    for (long budget : {0L, 1L, 3L}) {
        CAPTURE(budget);
        ThreadBudget limit(budget);
        std::vector<std::atomic<int>> runs(200);
        parallel_for(runs.size(), 64, [&](std::size_t i) { runs[i].fetch_add(1); });
        for (const auto& r : runs) CHECK(r.load() == 1);
    }
    // An exception from a body still reaches the caller when no thread could be started.
    ThreadBudget limit(0);
    CHECK_THROWS_AS(parallel_for(10, 8, [](std::size_t i) {
                        if (i == 3) throw Error(SIMDMF_ERR_INVALID_ARGUMENT, "body");
                    }),
                    Error);
}

TEST_CASE("training and cross-validation go on when thread creation fails") {
    const Ratings r = planted(6000, 200, 150);
    TrainOptions o;
    o.k = 8;
    o.epochs = 3;
    o.grid = 8;
    o.threads = 4;
    const TrainResult want = train(o, r, nullptr);
    evaluate::CvOptions cv;
    cv.folds = 3;
    cv.parallel = 3;
    const evaluate::CvResult cv_want = evaluate::cross_validate(o, r, cv);
    ThreadBudget limit(0);
    for (bool det : {true, false}) {
        CAPTURE(det);
        o.deterministic = det;
        const TrainResult got = train(o, r, nullptr);
        CHECK(got.status == SIMDMF_OK);
        CHECK(got.history.size() == 3);
        if (det)  // deterministic: the same model on fewer threads
            CHECK(std::equal(got.model.P.begin(), got.model.P.end(), want.model.P.begin(), want.model.P.end()));
        CHECK(std::isfinite(got.history.back().train_loss));
    }
    o.deterministic = true;
    const evaluate::CvResult cv_got = evaluate::cross_validate(o, r, cv);
    REQUIRE(cv_got.folds.size() == 3);
    for (std::size_t f = 0; f < 3; ++f)
        CHECK(evaluate::find(cv_got.folds[f].metrics, "rmse") == evaluate::find(cv_want.folds[f].metrics, "rmse"));
}

TEST_CASE("SGD workers: at most the hardware threads unless SIMDMF_OVERSUBSCRIBE=1") {
    ::unsetenv("SIMDMF_OVERSUBSCRIBE");
    CHECK(sgd_workers(64, 2) == 2);
    CHECK(sgd_workers(1, 2) == 1);
    CHECK(sgd_workers(0, 8) == 8);
    CHECK(sgd_workers(3, 0) == 1);  // unknown hardware count: one
    ::setenv("SIMDMF_OVERSUBSCRIBE", "1", 1);
    CHECK(sgd_workers(64, 2) == 64);
    ::unsetenv("SIMDMF_OVERSUBSCRIBE");
}

TEST_CASE("free-running scheduler: many threads on a sparse grid visit every rating once per epoch") {
    // 3,000 ratings on a 256 x 256 grid: almost every block is empty. With 32 threads (oversubscribed on
    // purpose) each epoch must still see every rating once: the running loss after one epoch at lr = 0
    // is the initial model's mean squared error over all the ratings.
    const Ratings r = planted(3000, 900, 800);
    TrainOptions o;
    o.k = 8;
    o.epochs = 1;
    o.lr_list = {1e-30};
    o.schedule = Schedule::list;
    o.grid = 256;
    o.deterministic = false;
    o.threads = 32;
    ::setenv("SIMDMF_OVERSUBSCRIBE", "1", 1);
    const TrainResult got = train(o, r, nullptr);
    ::unsetenv("SIMDMF_OVERSUBSCRIBE");
    o.threads = 1;
    const TrainResult one = train(o, r, nullptr);
    REQUIRE(got.history.size() == 1);
    CHECK(got.history[0].train_loss == doctest::Approx(one.history[0].train_loss).epsilon(1e-9));
    // And it learns: more epochs on 32 threads lower the loss as on one.
    o.epochs = 10;
    o.lr_list.clear();
    o.schedule = Schedule::constant;
    o.lr = 0.02;
    o.threads = 32;
    ::setenv("SIMDMF_OVERSUBSCRIBE", "1", 1);
    const TrainResult ten = train(o, r, nullptr);
    ::unsetenv("SIMDMF_OVERSUBSCRIBE");
    CHECK(ten.status == SIMDMF_OK);
    CHECK(ten.history.back().train_loss < ten.history.front().train_loss);
}

TEST_CASE("normalize: training on a + b * r predicts a + b * (the prediction on r)") {
    // SGD with normalize = 1 trains as if on (r - mean) / sd, so an affine change of the rating scale
    // changes the model's predictions by the same map (up to float rounding), whatever lr or l2 are.
    const Ratings r = planted(6000, 200, 150);
    auto [tr, te] = split::random(r, 0.2, 3);
    for (double b : {10.0, 0.25}) {
        CAPTURE(b);
        const double a = -30.0;
        Ratings tr2 = tr;
        for (float& v : tr2.value) v = static_cast<float>(a + b * v);
        TrainOptions o;
        o.k = 8;
        o.epochs = 10;
        const MFModel m1 = train(o, tr, nullptr).model;
        const TrainResult r2 = train(o, tr2, nullptr);
        REQUIRE(r2.status == SIMDMF_OK);
        double worst = 0;
        for (std::size_t j = 0; j < te.size(); ++j) {
            const double p1 = m1.predict(te.user[j], te.item[j]), p2 = r2.model.predict(te.user[j], te.item[j]);
            worst = std::max(worst, std::fabs((p2 - a) / b - p1));
        }
        CHECK(worst < 2e-3);
        // Off: the same options on the stretched scale train a different (here: much worse) model.
        o.normalize = false;
        const MFModel m3 = train(o, tr2, nullptr).model;
        double off = 0;
        for (std::size_t j = 0; j < te.size(); ++j)
            off = std::max(off, std::fabs((m3.predict(te.user[j], te.item[j]) - a) / b -
                                          m1.predict(te.user[j], te.item[j])));
        CHECK(off > 10 * worst);
    }
    // Where it does not apply (logistic, AdaGrad) the scale is 1: unchanged models.
    TrainOptions o;
    o.k = 4;
    o.epochs = 3;
    o.optimizer = Optimizer::adagrad;
    const MFModel x = train(o, tr, nullptr).model;
    o.normalize = false;
    const MFModel y = train(o, tr, nullptr).model;
    CHECK(std::equal(x.P.begin(), x.P.end(), y.P.begin(), y.P.end()));
}
