// Time-to-accuracy curves on the synthetic set of issue 4 (large_preset(), as bench_train_synth and
// oracle_synth): test RMSE (squared loss) or test AUC (logistic, the binarised set) against the
// cumulative training seconds after every epoch, for several solver settings side by side.
//
//   build-perf/bench/bench_curve                       # the default runs: SGD, AdaGrad, ALS (1 thread)
//   build-perf/bench/bench_curve "solver=als,k=10,l2=0.8,als_weighted_lambda=0,epochs=12" ...
//
// Each argument is one run: comma-separated key=value pairs handed to TrainOptions::set (any key of
// simdmf.h; numbers or strings). Every run is trained twice with the same options (training is
// deterministic, so epoch e's model is the same both times): once with the test set as validation
// data, which gives the test metric of every epoch, and once without, whose progress callback gives
// the seconds from the start of the train() call (set-up included) to the end of every epoch, with no
// evaluation in them. The metric is that of Model::predict (MF: clamped to [1, 5]) or of the score
// (AUC). Output: one line per epoch, then per run the first epoch at or below each RMSE target.
//
// A run "tune:..." first searches with tune::search on the training part only (its own 10%
// validation split; the test set is never seen), one run at a time, then trains the picked options as
// above: keys k, lr, l2 and epochs take colon-separated lists (the space searched; a key not given is
// the base options' value), every other key sets the base options:
//   build-perf/bench/bench_curve "tune:solver=als,k=8:10:16,l2=0.005:0.01:0.02:0.04,epochs=2:3:4:5:6:8:10:12"
#include <chrono>
#include <ctime>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "eval/metrics.hpp"
#include "eval/split.hpp"
#include "eval/tune.hpp"
#include "kernels/kernels.hpp"
#include "solvers/trainer.hpp"
#include "synthetic.hpp"

using namespace simdmf;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

TrainOptions parse_run(const std::string& spec) {
    TrainOptions o;
    o.threads = 1;
    std::stringstream ss(spec);
    std::string kv;
    while (std::getline(ss, kv, ',')) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos) continue;
        const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
        char* end = nullptr;
        const double num = std::strtod(v.c_str(), &end);
        if (end && *end == '\0' && !v.empty()) o.set(k, num);
        else o.set(k, v);
    }
    return o;
}

// "tune:" runs: the base options and the space (k, lr, l2, epochs as colon-separated lists).
TrainOptions parse_tune(const std::string& spec, tune::Space& space) {
    std::string base;
    std::stringstream ss(spec);
    std::string kv;
    auto list = [](const std::string& v) {
        std::vector<double> out;
        std::stringstream vs(v);
        std::string t;
        while (std::getline(vs, t, ':')) out.push_back(std::stod(t));
        return out;
    };
    while (std::getline(ss, kv, ',')) {
        const auto eq = kv.find('=');
        const std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
        if (k == "k") for (double x : list(v)) space.k.push_back(static_cast<std::uint32_t>(x));
        else if (k == "epochs") for (double x : list(v)) space.epochs.push_back(static_cast<std::uint32_t>(x));
        else if (k == "lr") space.lr = list(v);
        else if (k == "l2") space.l2 = list(v);
        else base += (base.empty() ? "" : ",") + kv;
    }
    TrainOptions o = parse_run(base);
    if (space.k.empty()) space.k = {o.k};
    if (space.lr.empty()) space.lr = {o.effective_lr()};
    if (space.l2.empty()) space.l2 = {o.l2};
    if (space.epochs.empty()) space.epochs = {o.effective_epochs()};
    return o;
}

const char* logistic_header(const std::vector<std::string>& runs) {
    for (const auto& r : runs)
        if (r.find("loss=logistic") != std::string::npos) return "RMSE/AUC";
    return "RMSE";
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> runs;
    for (int j = 1; j < argc; ++j) runs.push_back(argv[j]);
    if (runs.empty())
        runs = {"solver=sgd,k=32,lr=0.01,l2=0.02,epochs=30", "solver=sgd,adagrad=1,k=32,lr=0.1,l2=0.02,epochs=12",
                "solver=als,k=10,l2=0.8,als_weighted_lambda=0,epochs=12"};
    const PlantedSpec spec = large_preset();
    Ratings all = make_planted(spec);
    auto [train_r, test_r] = split::random(all, kLargeTestFraction, kLargeSplitSeed);
    all = Ratings{};
    const Ratings train_bin = binarize(train_r, 4.0f), test_bin = binarize(test_r, 4.0f);
    std::printf("# synthetic set: %zu train, %zu test ratings; kernels: %s\n", train_r.size(), test_r.size(),
                kernels::active().name);
    std::printf("%-3s %5s %9s %9s %9s   %s\n", "run", "epoch", "seconds", "cpu s", logistic_header(runs), "options");
    const double targets[] = {0.531, 0.52, 0.515, 0.51};
    std::vector<std::string> summary;
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const bool tuned = runs[r].rfind("tune:", 0) == 0;
        tune::Space space;
        TrainOptions o = tuned ? parse_tune(runs[r].substr(5), space) : parse_run(runs[r]);
        const bool logistic = o.logistic();
        const Ratings& tr = logistic ? train_bin : train_r;
        const Ratings& te = logistic ? test_bin : test_r;
        if (tuned) {
            const double c0 = cpu_seconds();
            const tune::Result res = tune::search(o, tr, space, tune::Options{});
            o = res.best_options;
            std::printf("# run %zu: tune (%zu trials, %.1f cpu s, on the training part) picked k %u, lr %g, l2 %g, "
                        "epochs %u\n",
                        r, res.trials.size(), cpu_seconds() - c0, o.k, o.effective_lr(), o.l2, o.effective_epochs());
            for (const auto& w : res.warnings) std::printf("#   %s\n", w.c_str());
        }
        // The test metric of every epoch (validation = test; AUC needs the model: computed in a callback
        // would not see it, so logistic runs keep the log-loss curve and the final AUC per epoch count).
        std::vector<double> metric;
        TrainResult probe = train(o, tr, &te);
        for (const auto& h : probe.history) metric.push_back(h.valid_metric);
        if (logistic) {  // AUC per epoch: retrain to each epoch count (deterministic, same models)
            metric.clear();
            for (std::uint32_t e = 1; e <= probe.history.size(); ++e) {
                TrainOptions oe = o;
                oe.epochs = e;
                const TrainResult re = train(oe, tr, nullptr);
                std::vector<float> s(te.size());
                for (std::size_t j = 0; j < te.size(); ++j) s[j] = re.model.score(te.user[j], te.item[j]);
                metric.push_back(metrics::auc(s.data(), te.value.data(), te.size()));
            }
        }
        std::vector<double> secs, cpu;
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = cpu_seconds();
        TrainResult timed = train(o, tr, nullptr, [&](const EpochInfo&) {
            secs.push_back(seconds_since(t0));
            cpu.push_back(cpu_seconds() - c0);
            return true;
        });
        for (std::size_t e = 0; e < secs.size() && e < metric.size(); ++e)
            std::printf("%-3zu %5zu %9.3f %9.3f %9.4f   %s\n", r, e + 1, secs[e], cpu[e], metric[e],
                        e == 0 ? runs[r].c_str() : "");
        std::string line = "# run " + std::to_string(r) + ":";
        if (!logistic) {
            for (double t : targets) {
                char b[96];
                std::size_t hit = 0;
                while (hit < metric.size() && hit < secs.size() && metric[hit] > t) ++hit;
                if (hit < metric.size() && hit < secs.size())
                    std::snprintf(b, sizeof b, "  <= %.3f: e%zu %.2f s (cpu %.2f)", t, hit + 1, secs[hit], cpu[hit]);
                else std::snprintf(b, sizeof b, "  <= %.3f: not reached", t);
                line += b;
            }
        }
        char b[64];
        double best = metric.empty() ? 0 : metric[0];
        for (double v : metric) best = logistic ? std::max(best, v) : std::min(best, v);
        std::snprintf(b, sizeof b, "  best %.4f", best);
        summary.push_back(line + b);
        std::fflush(stdout);
    }
    for (const auto& s : summary) std::printf("%s\n", s.c_str());
    return 0;
}
