// End-to-end SGD training on the synthetic set of issue 4, against a plain scalar SGD loop over the
// same ratings in the same process (the ratio is the machine-independent figure).
//
// Data: large_preset() (lib/synthetic.hpp; `simdmf gen --preset large` writes the same set): 50,000 users
// x 10,000 items, 5.5M ratings, rank 10, no biases, mean 3, noise 0.5, real-valued, uniform items, seed 4,
// split::random(1/11, seed 5): 5M train / 500k test. bench/oracle_synth gives the floors of this set. Logistic runs
// use the binarised set (rating >= 4 -> +1 else -1) and report the test AUC.
//
//   build-perf/bench/bench_train_synth                      # the default table (k 32/64/128, 1-2 threads)
//   build-perf/bench/bench_train_synth --k 32 --threads 1 --epochs 10 --lr 0.02 --no-scalar
//   build-perf/bench/bench_train_synth --write-libmf DIR     # writes DIR/synth.tr.txt, synth.te.txt
//
// Options: --k LIST, --threads LIST, --loss squared|logistic|both, --mode det|free|both, --epochs N,
// --lr X, --l2 X, --init-std X, --decay (schedule "decay"), --grid N, --adagrad, --no-scalar,
// --scalar-epochs N, --no-snapshot (option snapshot = 0: no per-epoch copy of the factors),
// --curve (print the test RMSE / log-loss after every epoch), --target X (squared loss: the first
// epoch whose test RMSE <= X, and the time of a run of that many epochs).
// Columns: seconds = the whole train() call (factor initialisation and the grid copy included);
// Mupd/s = updates per wall second over epochs 2..E (set-up left out); Mupd/cpu = the same over process
// CPU seconds divided by the thread count (what the run would do on otherwise idle cores); test = RMSE
// or AUC; RSS x = (peak RSS growth during train() + 12 bytes a training rating for the caller's copy)
// over (12 bytes a rating + factor bytes): meaningful on the first row of a run (later rows reuse
// freed heap); set-up = the share of the call's CPU time that is not epochs (the call minus E times
// the mean epoch of 2..E: validation, factor initialisation, the grid copy, the result's copy-out).
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/kernels.hpp"
#include "eval/metrics.hpp"
#include "plain_sgd.hpp"
#include "rng.hpp"
#include "eval/split.hpp"
#include "synthetic.hpp"
#include "solvers/trainer.hpp"

using namespace simdmf;

namespace {

struct Args {
    std::vector<std::uint32_t> ks{32, 64, 128};
    std::vector<std::uint32_t> threads{1, 2};
    std::vector<bool> logistic{false, true};
    std::vector<bool> det{true};
    std::uint32_t epochs = 20, scalar_epochs = 0, grid = 0;
    double lr = 0.0, l2 = -1.0, target = 0.0;
    bool adagrad = false, scalar = true, curve = false, decay = false, snapshot = true;
    double init_std = -1;
    std::string write_libmf;
};

std::vector<std::uint32_t> parse_list(const char* s) {
    std::vector<std::uint32_t> out;
    std::stringstream ss(s);
    std::string tok;
    while (std::getline(ss, tok, ',')) out.push_back(static_cast<std::uint32_t>(std::stoul(tok)));
    return out;
}

Args parse(int argc, char** argv) {
    Args a;
    for (int j = 1; j < argc; ++j) {
        const std::string k = argv[j];
        auto val = [&]() -> const char* {
            if (j + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", k.c_str());
                std::exit(2);
            }
            return argv[++j];
        };
        if (k == "--k") a.ks = parse_list(val());
        else if (k == "--threads") a.threads = parse_list(val());
        else if (k == "--epochs") a.epochs = std::stoul(val());
        else if (k == "--scalar-epochs") a.scalar_epochs = std::stoul(val());
        else if (k == "--grid") a.grid = std::stoul(val());
        else if (k == "--lr") a.lr = std::stod(val());
        else if (k == "--l2") a.l2 = std::stod(val());
        else if (k == "--target") a.target = std::stod(val());
        else if (k == "--adagrad") a.adagrad = true;
        else if (k == "--curve") a.curve = true;
        else if (k == "--no-snapshot") a.snapshot = false;
        else if (k == "--decay") a.decay = true;
        else if (k == "--init-std") a.init_std = std::stod(val());
        else if (k == "--no-scalar") a.scalar = false;
        else if (k == "--write-libmf") a.write_libmf = val();
        else if (k == "--loss") {
            const std::string v = val();
            a.logistic = v == "squared" ? std::vector<bool>{false} : v == "logistic" ? std::vector<bool>{true}
                                                                                      : std::vector<bool>{false, true};
        } else if (k == "--mode") {
            const std::string v = val();
            a.det = v == "det" ? std::vector<bool>{true} : v == "free" ? std::vector<bool>{false}
                                                                        : std::vector<bool>{true, false};
        } else {
            std::fprintf(stderr, "unknown argument %s (see the comment at the top of bench_train_synth.cpp)\n", k.c_str());
            std::exit(2);
        }
    }
    return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

long vm_hwm_kb() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
}
void reset_hwm() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
}

// Test metric: RMSE (squared) or AUC (logistic) of a model's scores.
double test_metric(bool logistic, const Ratings& test, auto&& score) {
    std::vector<float> pred(test.size());
    for (std::size_t j = 0; j < test.size(); ++j) pred[j] = score(test.user[j], test.item[j]);
    return logistic ? metrics::auc(pred.data(), test.value.data(), test.size())
                    : metrics::rmse(pred.data(), test.value.data(), test.size());
}

// The plain loop: a shuffled index order each epoch, textbook scalar prediction and updates.
struct ScalarResult {
    double seconds, metric, cpu;
};
ScalarResult scalar_sgd(const Ratings& r, const Ratings& test, bool logistic, std::size_t k, std::uint32_t epochs,
                        float lr, float l2, float l2b) {
    float mu = static_cast<float>(r.mean_value());
    if (logistic) {
        double pos = 0;
        for (float v : r.value) pos += v > 0;
        const double rate = pos / double(r.size());
        mu = static_cast<float>(std::log(rate / (1 - rate)));
    }
    Rng rng(42);
    std::vector<float> P(std::size_t(r.n_users) * k), Q(std::size_t(r.n_items) * k), bu(r.n_users), bi(r.n_items);
    for (auto& x : P) x = static_cast<float>(rng.normal() * 0.1 / std::sqrt(double(k)));
    for (auto& x : Q) x = static_cast<float>(rng.normal() * 0.1 / std::sqrt(double(k)));
    std::vector<std::uint32_t> order(r.size());
    for (std::size_t j = 0; j < order.size(); ++j) order[j] = static_cast<std::uint32_t>(j);
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    for (std::uint32_t e = 0; e < epochs; ++e) {
        rng.shuffle(order.data(), order.size());
        for (std::uint32_t j : order) {
            const std::uint32_t u = r.user[j], i = r.item[j];
            float* p = &P[u * k];
            float* q = &Q[i * k];
            float s = mu + bu[u] + bi[i];
            for (std::size_t f = 0; f < k; ++f) s += p[f] * q[f];
            const float err = logistic ? (r.value[j] > 0 ? 1.0f : 0.0f) - 1.0f / (1.0f + std::exp(-s)) : r.value[j] - s;
            simdmf_bench::plain_sgd_update(p, q, bu[u], bi[i], k, err, lr, l2, l2b);
        }
    }
    ScalarResult res{seconds_since(t0), 0, cpu_seconds() - c0};
    res.metric = test_metric(logistic, test, [&](std::uint32_t u, std::uint32_t i) {
        float s = mu + bu[u] + bi[i];
        for (std::size_t f = 0; f < k; ++f) s += P[u * k + f] * Q[i * k + f];
        return s;
    });
    return res;
}

void write_libmf(const Ratings& r, const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) {
        std::perror(path.c_str());
        std::exit(1);
    }
    for (std::size_t j = 0; j < r.size(); ++j) std::fprintf(f, "%u %u %.6g\n", r.user[j], r.item[j], r.value[j]);
    std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse(argc, argv);
    const PlantedSpec spec = large_preset();
    auto t0 = std::chrono::steady_clock::now();
    Ratings all = make_planted(spec);
    auto [trn, tst] = split::random(all, kLargeTestFraction, kLargeSplitSeed);  // (train, test)
    all = Ratings{};
    const Ratings& training = trn;
    const Ratings& test = tst;
    std::printf("# synthetic set: %zu train, %zu test ratings, %u users, %u items (%.1f s to generate); kernels: %s\n",
                training.size(), test.size(), training.n_users, training.n_items, seconds_since(t0),
                kernels::active().name);
    if (!a.write_libmf.empty()) {
        write_libmf(training, a.write_libmf + "/synth.tr.txt");
        write_libmf(test, a.write_libmf + "/synth.te.txt");
        std::printf("# wrote %s/synth.tr.txt and synth.te.txt (LIBMF text: user item rating, 0-based)\n",
                    a.write_libmf.c_str());
    }
    const Ratings train_bin = binarize(training, 4.0f), test_bin = binarize(test, 4.0f);

    std::printf("%-8s %4s %3s %-5s %6s %8s %9s %9s %9s %6s %12s %7s\n", "loss", "k", "thr", "mode", "epochs", "seconds",
                "Mupd/s", "Mupd/cpu", "test", "RSS x", "to target", "set-up");
    for (bool logistic : a.logistic) {
        const Ratings& tr = logistic ? train_bin : training;
        const Ratings& te = logistic ? test_bin : test;
        for (std::uint32_t k : a.ks) {
            TrainOptions o;
            o.k = k;
            o.loss = logistic ? Loss::logistic : Loss::squared;
            o.epochs = a.epochs;
            if (a.lr > 0) o.lr = a.lr;
            if (a.l2 >= 0) o.l2 = a.l2;
            o.grid = a.grid;
            o.optimizer = a.adagrad ? Optimizer::adagrad : Optimizer::sgd;
            if (a.decay) o.schedule = Schedule::decay;
            o.snapshot = a.snapshot;
            if (a.init_std >= 0) o.init_std = a.init_std;
            o.seed = 42;
            for (std::uint32_t th : a.threads) {
                for (bool det : a.det) {
                    o.threads = th;
                    o.deterministic = det;
                    // Time to target (squared loss): the first epoch whose test RMSE <= target, found with the
                    // test set as validation data, then a clean timed run of that many epochs.
                    char tgt[32] = "-";
                    if (a.target > 0 && !logistic) {
                        TrainResult probe = train(o, tr, &te);
                        std::uint32_t hit = 0;
                        for (const auto& h : probe.history)
                            if (h.valid_metric <= a.target) {
                                hit = h.epoch;
                                break;
                            }
                        if (hit) {
                            TrainOptions o2 = o;
                            o2.epochs = hit;
                            const auto t2 = std::chrono::steady_clock::now();
                            TrainResult r2 = train(o2, tr, nullptr);
                            std::snprintf(tgt, sizeof tgt, "e%u %.2fs", hit, seconds_since(t2));
                        } else {
                            std::snprintf(tgt, sizeof tgt, "not in %u", a.epochs);
                        }
                    }
                    if (a.curve) {  // test metric (RMSE / log-loss) after every epoch
                        TrainResult probe = train(o, tr, &te);
                        std::printf("# curve k=%u threads=%u:", k, th);
                        for (const auto& h : probe.history) std::printf(" %.4f", h.valid_metric);
                        std::printf("\n");
                    }
                    reset_hwm();
                    const long rss0 = vm_hwm_kb();
                    // Epoch-only rates: wall and process CPU time from the end of epoch 1 to the last epoch
                    // (the callback runs right after each epoch), so set-up (factor initialisation, the
                    // grid copy) is left out; `seconds` is the whole train() call.
                    double w1 = 0, c1 = 0, wl = 0, cl = 0;
                    const auto t1 = std::chrono::steady_clock::now();
                    const double c0 = cpu_seconds();
                    auto cb = [&](const EpochInfo& info) {
                        const double w = seconds_since(t1), c = cpu_seconds();
                        if (info.epoch == 1) w1 = w, c1 = c;
                        wl = w, cl = c;
                        return true;
                    };
                    TrainResult res = train(o, tr, nullptr, cb);
                    const double secs = seconds_since(t1), c_end = cpu_seconds();
                    const long rss1 = vm_hwm_kb();
                    const MFModel& m = res.model;
                    const double metric =
                        test_metric(logistic, te, [&](std::uint32_t u, std::uint32_t i) {
                        return logistic ? m.score(u, i) : m.predict(u, i);  // MF: clamped to [1, 5]
                    });
                    const double factor_bytes = (double(m.P.size()) + m.Q.size() + m.bu.size() + m.bi.size()) * 4.0;
                    const double base = 12.0 * double(tr.size()) + factor_bytes;
                    (void)rss0;
                    // Peak RSS ratio: the whole process (caller's data included) at its peak during train,
                    // minus the test sets and generator leftovers measured before, over the base.
                    const double rss_x = (double(rss1) * 1024.0 - double(rss0) * 1024.0 + 12.0 * double(tr.size())) / base;
                    const double ep = double(res.history.size() - 1) * double(tr.size()) / 1e6;
                    const double wall_rate = ep > 0 ? ep / (wl - w1) : 0;
                    const double cpu_rate = ep > 0 ? ep / ((cl - c1) / th) : 0;
                    // Set-up share (CPU time, so other processes on the cores do not count): the whole
                    // call minus E mean epochs of 2..E, over the whole call.
                    const double n_ep = double(res.history.size());
                    const double cpu_epoch = n_ep > 1 ? (cl - c1) / (n_ep - 1) : 0;
                    const double setup_pct = n_ep > 1 ? 100.0 * ((c_end - c0) - n_ep * cpu_epoch) / (c_end - c0) : 0;
                    std::printf("%-8s %4u %3u %-5s %6zu %8.2f %9.1f %9.1f %9.4f %6.2f %12s %6.1f%%\n",
                                logistic ? "logistic" : "squared", k, th, det ? "det" : "free", res.history.size(), secs,
                                wall_rate, cpu_rate, metric, rss_x, tgt, setup_pct);
                    std::fflush(stdout);
                }
            }
            if (a.scalar) {
                const std::uint32_t se = a.scalar_epochs ? a.scalar_epochs : a.epochs;
                const ScalarResult s = scalar_sgd(tr, te, logistic, k, se, static_cast<float>(o.effective_lr()),
                                                  static_cast<float>(o.l2), static_cast<float>(o.l2_bias));
                const double ep = double(tr.size()) * se / 1e6;
                std::printf("%-8s %4u %3u %-5s %6u %8.2f %9.1f %9.1f %9.4f %6s %12s\n", logistic ? "logistic" : "squared",
                            k, 1u, "plain", se, s.seconds, ep / s.seconds, ep / s.cpu, s.metric,
                            "-", "-");
                std::fflush(stdout);
            }
        }
    }
    return 0;
}
