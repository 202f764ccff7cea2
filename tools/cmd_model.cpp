// Commands that train: train, cv, tune, demo.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "cli_common.hpp"
#include "eval/evaluate.hpp"
#include "io/fileio.hpp"
#include "kernels/kernels.hpp"
#include "eval/metrics.hpp"
#include "eval/split.hpp"
#include "io/model_file.hpp"
#include "solvers/ncf_train.hpp"
#include "solvers/solvers.hpp"
#include "synthetic.hpp"
#include "eval/tune.hpp"
#include "serve/serve.hpp"

namespace simdmf::cli {

using json = nlohmann::ordered_json;

namespace {

std::string valid_name(const TrainOptions& o) { return std::string("valid ") + curve_names(o).valid_label; }

// ----------------------------------------------------------------------------------------- train
struct TrainArgs {
    std::string data, model = "model.smf", valid, curve;
    std::string pretrained_gmf, pretrained_mlp;  // NeuMF from pretrained GMF and MLP (neumf_from)
    double pretrained_alpha = 0.5;
    double valid_fraction = 0;
    DataFlags df;
    TrainFlags flags;
};

// Why a training run's model must not be written to `path` (empty: save it). A run that diverged
// (issue 10, item 4) writes nothing when it learned nothing (no good epoch, or no snapshot of one: the
// model is the initial one) and never replaces an existing file.
template <class Result>
std::string refuse_save(const Result& res, const TrainOptions& o, const std::string& path) {
    if (res.status != SIMDMF_ERR_DIVERGED) return "";
    if (res.history.empty() || !o.snapshot) return "nothing was learned";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return "a failed run does not replace " + path;
    return "";
}

template <class Result>
int finish_train(const TrainArgs& a, const Output& out, const TrainOptions& o, const Result& res, std::size_t n_train,
                 bool has_valid, const Ratings& valid_set);

// The NeuMF start of --pretrained-gmf / --pretrained-mlp (null without them).
std::unique_ptr<NCFModel> pretrained_neumf(const TrainArgs& a, const TrainOptions& o) {
    if (a.pretrained_gmf.empty() && a.pretrained_mlp.empty()) return nullptr;
    if (a.pretrained_gmf.empty() || a.pretrained_mlp.empty())
        throw UsageError("--pretrained-gmf and --pretrained-mlp go together");
    if (o.model != ModelKind::neumf) throw UsageError("--pretrained-gmf / --pretrained-mlp need --model neumf");
    auto open_kind = [](const std::string& path, ModelKind kind) {
        std::unique_ptr<Model> held = open_any_model(path, OpenOptions{});
        auto* net = dynamic_cast<NCFModel*>(held.get());
        if (!net || net->kind != kind)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, path + " is a " + held->kind_name() + " model, not a " +
                                                  model_kind_name(kind) + " model");
        return NCFModel(std::move(*net));
    };
    const NCFModel g = open_kind(a.pretrained_gmf, ModelKind::gmf), p = open_kind(a.pretrained_mlp, ModelKind::mlp);
    return std::make_unique<NCFModel>(neumf_from(g, p, a.pretrained_alpha));
}

int run_train(const TrainArgs& a, const Output& out) {
    TrainOptions o = a.flags.options();
    const std::unique_ptr<NCFModel> init = pretrained_neumf(a, o);
    if (init) o = with_shape_of(o, *init);  // the options line shows the pretrained shape
    if (!a.valid.empty() && a.valid_fraction > 0) throw UsageError("give --valid or --valid-fraction, not both");
    check_distinct_files({{"-o", a.model}, {"--curve", a.curve}}, {{"training data", a.data}, {"--valid", a.valid}});
    io::LoadOptions lo = a.df.options();
    lo.expect_labels = o.logistic();  // a count or star rating is named with its line
    Ratings data = load_ratings(a.data, lo, out, "Training data");
    Ratings train_set, valid_set;
    bool has_valid = false;
    if (!a.valid.empty()) {
        valid_set = load_aligned(a.valid, lo, out, "Validation data", data.user_ids, data.item_ids, data.n_users,
                                 data.n_items, nullptr);
        train_set = std::move(data);
        has_valid = true;
    } else if (a.valid_fraction > 0) {
        auto parts = split::random(data, a.valid_fraction, o.seed);
        train_set = std::move(parts.first);
        valid_set = std::move(parts.second);
        has_valid = true;
        if (!out.quiet)
            std::fprintf(stderr, "Validation: %zu ratings held out at random from the training data\n", valid_set.size());
    } else {
        train_set = std::move(data);
    }
    if (o.patience > 0 && !has_valid && !out.quiet)
        std::fprintf(stderr, "Note: --patience has no effect without --valid or --valid-fraction\n");
    if (!out.quiet) print_options(o, "model");
    const std::size_t n_train = train_set.size();
    if (o.model != ModelKind::mf)
        return finish_train(a, out, o, train_ncf(o, train_set, has_valid ? &valid_set : nullptr,
                                                 progress_printer(out, valid_name(o).c_str(), curve_names(o).train_label),
                                                 init.get()),
                            n_train, has_valid, valid_set);
    // The ratings are not needed afterwards: train() may release them while it builds its own copy.
    return finish_train(a, out, o,
                        train(o, std::move(train_set), has_valid ? &valid_set : nullptr,
                              progress_printer(out, valid_name(o).c_str(), curve_names(o).train_label)),
                        n_train, has_valid, valid_set);
}

// Saves (unless refused), writes the curve and reports a run of any model kind.
template <class Result>
int finish_train(const TrainArgs& a, const Output& out, const TrainOptions& o, const Result& res, std::size_t n_train,
                 bool has_valid, const Ratings& valid_set) {
    std::vector<std::string> warnings;
    if constexpr (requires { res.warnings; }) warnings = res.warnings;
    for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());  // even with --quiet
    const std::string not_saved = refuse_save(res, o, a.model);
    if (not_saved.empty()) save_model(res.model, a.model);
    if (!a.curve.empty()) write_curve(res.history, a.curve, curve_names(o));
    const EpochInfo last = res.history.empty() ? EpochInfo{} : res.history.back();  // empty: diverged in epoch 1
    double best_valid = NAN;
    for (const auto& e : res.history)
        if (!(e.valid_metric >= best_valid)) best_valid = e.valid_metric;
    if (out.json) {
        json j = {{"model", not_saved.empty() ? json(a.model) : json(nullptr)}, {"epochs", res.history.size()},
                  {"stop_reason", res.stop_reason},
                  {"train_loss", number(res.history.empty() ? NAN : last.train_loss)},
                  {"train_loss_name", curve_names(o).train_name}, {"seconds", last.elapsed_seconds},
                  {"train_ratings", n_train}, {"options", options_json(o)}, {"simd", kernels::active().name}};
        if (has_valid) {
            j["valid_metric"] = number(last.valid_metric);
            j["valid_metric_name"] = curve_names(o).valid_name;
            j["best_valid_metric"] = number(best_valid);
            j["valid_ratings"] = valid_set.size();
        }
        if (!a.curve.empty()) j["curve"] = a.curve;
        j["warnings"] = warnings;
        std::cout << j.dump(2) << "\n";
    } else {
        if (not_saved.empty()) std::printf("Saved %s after ", a.model.c_str());
        else std::printf("Nothing saved (%s) after ", not_saved.c_str());
        std::printf("%zu epochs (%s)", res.history.size(), res.stop_reason.c_str());
        if (!res.history.empty()) {  // no epoch completed: no loss to show
            std::printf(", train %s %.4f", curve_names(o).train_label, last.train_loss);
            if (has_valid)
                std::printf(", validation %s %.4f (best %.4f)", curve_names(o).valid_label, last.valid_metric,
                            best_valid);
            std::printf(", %.2fs", last.elapsed_seconds);
        }
        std::printf("\n");
    }
    if (res.status == SIMDMF_ERR_DIVERGED) {
        // The file holds the last good epoch's model, or nothing was written; the run itself failed.
        if (not_saved.empty())
            std::fprintf(stderr, "simdmf: error: %s (%s); %s holds the last good model (epoch %zu)\n",
                         res.message.c_str(), status_name(res.status), a.model.c_str(), res.history.size());
        else
            std::fprintf(stderr, "simdmf: error: %s (%s); %s was not written: %s\n", res.message.c_str(),
                         status_name(res.status), a.model.c_str(), not_saved.c_str());
        return 1;
    }
    return 0;
}

// -------------------------------------------------------------------------------------------- cv
struct CvArgs {
    std::string data;
    unsigned folds = 5, parallel = 1;
    std::uint64_t split_seed = 1;
    std::size_t at = 10;
    float threshold = 4.0f;
    DataFlags df;
    TrainFlags flags;
};

int run_cv(const CvArgs& a, const Output& out) {
    TrainOptions o = a.flags.options();
    io::LoadOptions lo = a.df.options();
    lo.expect_labels = o.logistic();
    Ratings data = load_ratings(a.data, lo, out, "Data");
    evaluate::CvOptions cv;
    cv.folds = a.folds;
    cv.seed = a.split_seed;
    cv.parallel = a.parallel;
    cv.rank_k = a.at;
    cv.threshold = a.threshold;
    if (!out.quiet) {
        print_options(o, "each fold");
        std::fprintf(stderr, "Cross-validation: %u folds (seed %llu), %u at a time\n", a.folds,
                     static_cast<unsigned long long>(a.split_seed), std::max(1u, a.parallel));
    }
    // Progress: a bar over all epochs of all folds on a terminal; one line per finished fold otherwise.
    ProgressBar bar(out, "cv");
    std::mutex mu;
    std::vector<double> fold_fraction(a.folds, 0.0);
    if (out.tty())
        cv.on_epoch = [&](unsigned f, const EpochInfo& e) {
            std::lock_guard<std::mutex> lock(mu);
            fold_fraction[f] = static_cast<double>(e.epoch) / e.max_epochs;
            double sum = 0;
            for (double x : fold_fraction) sum += x;
            bar.update(sum / a.folds, "fold epochs");
            return true;
        };
    const std::string first_metric = o.logistic() ? "log_loss" : "rmse";
    auto res = evaluate::cross_validate(o, data, cv, [&](unsigned done, unsigned total, const evaluate::CvFold& f) {
        if (out.quiet) return;
        std::lock_guard<std::mutex> lock(mu);
        bar.finish();
        std::fprintf(stderr, "  fold %u/%u done: %s %.4f, %zu train / %zu test ratings, %.2fs\n", done, total,
                     first_metric.c_str(), evaluate::find(f.metrics, first_metric), f.train_size, f.test_size, f.seconds);
    });
    bar.finish();
    if (out.json) {
        json j = {{"folds", a.folds}, {"seed", a.split_seed}, {"options", options_json(o)}};
        json per = json::array();
        for (const auto& f : res.folds) {
            json fj = metrics_json(f.metrics);
            fj["train_ratings"] = f.train_size;
            fj["test_ratings"] = f.test_size;
            fj["seconds"] = f.seconds;
            per.push_back(fj);
        }
        j["per_fold"] = per;
        json summary = json::object();
        for (const auto& [name, ms] : res.summary) summary[name] = {{"mean", number(ms.mean)}, {"std", number(ms.stddev)}};
        j["summary"] = summary;
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("%-14s %10s %10s  per fold\n", "metric", "mean", "std");
        for (std::size_t k = 0; k < res.summary.size(); ++k) {
            const auto& [name, ms] = res.summary[k];
            std::printf("%-14s %10.6f %10.6f ", name.c_str(), ms.mean, ms.stddev);
            for (const auto& f : res.folds) std::printf(" %.4f", f.metrics[k].second);
            std::printf("\n");
        }
    }
    return 0;
}

// ------------------------------------------------------------------------------------------ tune
struct TuneArgs {
    std::string data, model, test;
    KeyFlags search;  // the tune_* keys
    bool no_extend = false;
    DataFlags df;
    TrainFlags flags;
};

int run_tune(const TuneArgs& a, const Output& out) {
    TrainOptions base = a.flags.options();
    tune::Settings settings;
    a.search.apply({&base, &settings});
    check_distinct_files({{"-o", a.model}}, {{"training data", a.data}, {"--test", a.test}});
    io::LoadOptions lo = a.df.options();
    lo.expect_labels = base.logistic();
    Ratings data = load_ratings(a.data, lo, out, "Training data");
    tune::Space space = tune::Space::defaults(base);
    if (!settings.space.k.empty()) space.k = settings.space.k;
    if (!settings.space.lr.empty()) space.lr = settings.space.lr;
    if (!settings.space.l2.empty()) space.l2 = settings.space.l2;
    if (!settings.space.epochs.empty()) space.epochs = settings.space.epochs;
    tune::Options topt = settings.options;
    if (a.no_extend) topt.extend = 0;
    const std::string method = options::get_string({&base, &settings}, "tune_method");
    const char* metric = curve_names(base).valid_label;  // RMSE, log-loss, or 1 - NDCG@10 (implicit models)
    const bool ranked = implicit_solver(base.solver) || base.implicit_loss();
    if (!out.quiet) {
        auto list = [](const auto& v) {
            std::string s;
            for (auto x : v) s += (s.empty() ? "" : ",") + nlohmann::ordered_json(x).dump();
            return s;
        };
        std::fprintf(stderr, "Tuning (%s search, %s): k {%s}, lr {%s}, l2 {%s}, epochs {%s}; validation: %.3g of the training data (seed %llu)\n",
                     method.c_str(), topt.budget ? ("budget " + std::to_string(topt.budget) + " runs").c_str() : "no budget",
                     list(space.k).c_str(), list(space.lr).c_str(), list(space.l2).c_str(), list(space.epochs).c_str(),
                     topt.valid_fraction, static_cast<unsigned long long>(topt.seed));
    }
    ProgressBar bar(out, "tune");
    double best_so_far = INFINITY;
    auto res = tune::search(base, data, space, topt, [&](std::size_t done, std::size_t total, const tune::Trial& t) {
        if (out.quiet) return;
        bar.finish();
        best_so_far = std::min(best_so_far, t.score);
        std::fprintf(stderr, "  run %zu/%zu: k %u lr %.4g l2 %.4g -> valid %s %.4f at %u epochs (%zu run, %.2fs)%s\n", done,
                     total, t.k, t.lr, t.l2, metric, t.score, t.epochs, t.epochs_run, t.seconds,
                     t.score == best_so_far ? "  *best" : "");
        bar.update(static_cast<double>(done) / total);
    });
    bar.finish();
    const tune::Trial& b = res.trials[res.best];
    for (const auto& w : res.warnings) std::fprintf(stderr, "Warning: %s\n", w.c_str());
    if (res.extended && !out.quiet)
        std::fprintf(stderr, "The search was extended past the edges of the space by %zu runs\n", res.extended);
    json j = {{"method", method},
              {"runs", res.trials.size()},
              {"metric", res.metric},
              {"valid_score", number(b.score)},
              {"train_ratings", res.train_size},
              {"valid_ratings", res.valid_size},
              {"best", {{"k", b.k}, {"lr", b.lr}, {"l2", b.l2}, {"epochs", b.epochs}}},
              {"extended", res.extended},
              {"edges", {{"k", res.edge_k}, {"lr", res.edge_lr}, {"l2", res.edge_l2}, {"epochs", res.edge_epochs}}},
              {"warnings", res.warnings}};
    if (!out.json)
        std::printf("Best: k %u, lr %.4g, l2 %.4g, epochs %u: validation %s %.6f (%zu runs)\n", b.k, b.lr, b.l2, b.epochs,
                    metric, b.score, res.trials.size());
    if (!a.model.empty() || !a.test.empty()) {
        // The final model: the best configuration trained on all the training data.
        TrainOptions fin = res.best_options;
        if (!out.quiet) print_options(fin, "the final model on all training data");
        TrainResult tr = train(fin, data, nullptr, out.quiet ? EpochCallback{} : progress_printer(out, nullptr, curve_names(fin).train_label));
        const std::string not_saved = a.model.empty() ? "" : refuse_save(tr, fin, a.model);
        if (!a.model.empty() && not_saved.empty()) {
            save_model(tr.model, a.model);
            j["model"] = a.model;
            if (!out.json) std::printf("Saved %s\n", a.model.c_str());
        }
        if (tr.status == SIMDMF_ERR_DIVERGED) {
            std::fprintf(stderr, "simdmf: error: the final model: %s (%s)%s%s\n", tr.message.c_str(),
                         status_name(tr.status), not_saved.empty() ? "" : "; nothing saved: ",
                         not_saved.c_str());
            return 1;
        }
        if (!a.test.empty()) {
            std::size_t unknown = 0;
            Ratings test = load_aligned(a.test, lo, out, "Test data", tr.model.user_ids, tr.model.item_ids,
                                        tr.model.n_users, tr.model.n_items, &unknown);
            // Implicit models: the ranking protocol of `eval --train DATA --threshold 0 --negatives 99` (every
            // test event relevant, the training items excluded), the popularity baseline beside it.
            evaluate::Metrics m;
            if (ranked) {
                evaluate::EvalOptions eo;
                eo.rank_k = 10;
                eo.threshold = 0.0f;
                eo.threads = fin.threads;
                eo.cold = evaluate::Cold::leave_out;
                eo.negatives = 99;
                eo.popularity = true;
                const evaluate::EvalResult er = evaluate::evaluate_model(tr.model, test, &data, eo);
                m = er.report(10);
            } else {
                m = evaluate::point_metrics(tr.model, test);
            }
            j["test"] = metrics_json(m);
            j["test"]["ratings"] = test.size();
            j["test"]["unknown_left_out"] = unknown;
            if (!out.json) {
                std::printf("Test (%s, %zu ratings):\n", a.test.c_str(), test.size());
                print_metrics(m, "  ");
            }
        }
    }
    if (out.json) {
        json trials = json::array();
        for (const auto& t : res.trials)
            trials.push_back({{"k", t.k}, {"lr", t.lr}, {"l2", t.l2}, {"epochs", t.epochs}, {"score", number(t.score)},
                              {"epochs_run", t.epochs_run}, {"seconds", t.seconds}});
        j["trials"] = trials;
        std::cout << j.dump(2) << "\n";
    }
    return 0;
}

// ------------------------------------------------------------------------------------------ demo
struct DemoArgs {
    std::string path;
    TrainFlags flags;
    double test_fraction = 0.2;
    std::uint64_t split_seed = 1;
};

std::string list_items(const Model& m, const std::vector<std::pair<std::uint32_t, float>>& v) {
    std::string s;
    char b[64];
    for (auto& [i, score] : v) {
        std::snprintf(b, sizeof b, "%s%s (%.3f)", s.empty() ? "" : ", ", raw_item(m, i).c_str(), score);
        s += b;
    }
    return s;
}

int run_demo(const DemoArgs& a, const Output& out) {
    const auto& level = kernels::active();
    std::printf("simdmf %s, SIMD level %s\n", SIMDMF_VERSION_STRING, level.name);
    Ratings all;
    if (a.path.empty()) {
        PlantedSpec spec;  // MovieLens-100K shaped
        all = make_planted(spec);
        std::printf("Data: built-in MovieLens-shaped synthetic set: %u users, %u items, %zu ratings 1..5 "
                    "(planted rank %u + biases + noise sd %.2g, seed %llu)\n",
                    all.n_users, all.n_items, all.size(), spec.rank, spec.noise_std,
                    static_cast<unsigned long long>(spec.seed));
    } else {
        all = load_ratings(a.path, {}, out, "Data");
        std::printf("Data: %s: %u users, %u items, %zu ratings\n", a.path.c_str(), all.n_users, all.n_items, all.size());
    }
    auto [train_set, test_set] = split::random(all, a.test_fraction, a.split_seed);
    std::printf("Split: %zu train / %zu test ratings (random, seed %llu)\n", train_set.size(), test_set.size(),
                static_cast<unsigned long long>(a.split_seed));

    TrainOptions o = a.flags.options();
    o.loss = Loss::squared;
    if (!out.quiet) print_options(o, "MF");
    TrainResult mf = train(o, train_set, &test_set, progress_printer(out, "test RMSE", "MSE"));
    std::vector<float> pred = mf.model.predict_pairs(test_set);
    const double rmse = metrics::rmse(pred.data(), test_set.value.data(), test_set.size());
    const double mean = train_set.mean_value();
    std::vector<float> base(test_set.size(), static_cast<float>(mean));
    const double base_rmse = metrics::rmse(base.data(), test_set.value.data(), test_set.size());
    std::printf("MF: test RMSE %.4f, MAE %.4f; mean-rating baseline RMSE %.4f (%.1f%% lower) in %.2fs\n", rmse,
                metrics::mae(pred.data(), test_set.value.data(), test_set.size()), base_rmse,
                100.0 * (1.0 - rmse / base_rmse), mf.history.back().elapsed_seconds);

    // Logistic MF on "liked" = rating >= 4, with the library's logistic defaults unless flags say otherwise.
    const Ratings btrain = binarize(train_set, 4.0f), btest = binarize(test_set, 4.0f);
    TrainOptions lo = o;
    lo.loss = Loss::logistic;
    if (!out.quiet) print_options(lo, "logistic MF on liked = rating >= 4");
    TrainResult lg = train(lo, btrain, &btest, progress_printer(out, "test log-loss", "log-loss"));
    std::vector<float> prob = lg.model.predict_pairs(btest);
    std::printf("Logistic MF: test AUC %.4f, log-loss %.4f, accuracy %.4f\n",
                metrics::auc(prob.data(), btest.value.data(), btest.size()),
                metrics::log_loss(prob.data(), btest.value.data(), btest.size()),
                metrics::accuracy(prob.data(), btest.value.data(), btest.size()));

    const SeenItems seen(train_set);
    const std::uint32_t user = 0, item = 0;
    auto top = simdmf::serve::recommend(mf.model, user, 5, seen.of(user));
    std::printf("Top-5 unseen items for user %s: %s\n", raw_user(mf.model, user).c_str(), list_items(mf.model, top).c_str());
    auto near = simdmf::serve::nearest(mf.model, SIMDMF_ITEMS, item, 5);
    std::printf("5 items nearest to item %s (cosine): %s\n", raw_item(mf.model, item).c_str(),
                list_items(mf.model, near).c_str());
    return 0;
}

}  // namespace

void add_model_commands(CLI::App& app, const Output& out, Registry& reg) {
    {
        auto a = std::make_shared<TrainArgs>();
        auto* c = app.add_subcommand("train", "train a model from a ratings file and save it");
        c->footer("Example: simdmf train u1.base -o u1.smf -k 64 --valid-fraction 0.1 --patience 3 --curve curve.csv");
        c->add_option("data", a->data, "ratings file")->required();
        c->add_option("-o,--output", a->model, "model file to write (default model.smf)");
        c->add_option("--valid", a->valid, "validation ratings file (same format; ids of the training data)");
        c->add_option("--valid-fraction", a->valid_fraction, "hold out this fraction of the training data for validation")
            ->check(CLI::Range(0.0, 0.99));
        c->add_option("--curve", a->curve, "write the per-epoch learning curve to this CSV file (plot: tools/plot_curve.py)");
        c->add_option("--pretrained-gmf", a->pretrained_gmf,
                      "--model neumf: start from this GMF model file (with --pretrained-mlp; both trained on this data)");
        c->add_option("--pretrained-mlp", a->pretrained_mlp, "--model neumf: start from this MLP model file");
        c->add_option("--pretrained-alpha", a->pretrained_alpha,
                      "weight of the GMF branch in the pretrained NeuMF's output unit, 1 - it the MLP's (default 0.5)")
            ->check(CLI::Range(0.0, 1.0));
        a->df.add(c);
        a->flags.add(c);
        reg.push_back({c, [a, &out] { return run_train(*a, out); }});
    }
    {
        auto a = std::make_shared<CvArgs>();
        auto* c = app.add_subcommand("cv", "k-fold cross-validation: mean and standard deviation of each metric");
        c->footer("Example: simdmf cv u.data --folds 5 --parallel 2 -k 64");
        c->add_option("data", a->data, "ratings file")->required();
        c->add_option("--folds", a->folds, "number of folds (default 5)")->check(CLI::Range(2u, 1000u));
        c->add_option("--split-seed", a->split_seed, "seed of the fold assignment (default 1)");
        c->add_option("--parallel", a->parallel, "folds trained at the same time (default 1; 0 = all cores)");
        c->add_option("--at", a->at, "also ranking metrics precision/recall/NDCG/MAP@N, training items excluded (default 10; 0 = off)");
        c->add_option("--threshold", a->threshold, "a test rating >= this is relevant for the ranking metrics (default 4)");
        a->df.add(c);
        a->flags.add(c);
        reg.push_back({c, [a, &out] { return run_cv(*a, out); }});
    }
    {
        auto a = std::make_shared<TuneArgs>();
        auto* c = app.add_subcommand(
            "tune", "hyper-parameter search (grid or random over k, lr, l2, epochs) on a validation split carved from the training data only");
        c->footer(
            "Each (k, lr, l2) point is one training run scored at every candidate epoch count; the best point is\n"
            "printed with its validation score. With -o and/or --test the best configuration is retrained on all\n"
            "the training data, saved and/or evaluated on the test file (never used in the search).\n"
            "Default space: k 64,128,256,512; lr 0.005,0.01,0.02 (logistic 0.02,0.05,0.1); l2 0.03,0.05,0.08\n"
            "(logistic 0.01,0.02,0.05); epochs 10,20,...,150. Random search samples k from the list, lr and l2\n"
            "log-uniformly between the smallest and largest listed value, and scores every epoch up to the largest.\n"
            "When the best point is the smallest or largest value of a dimension (k, lr, l2; epochs: the largest\n"
            "while still improving), the search goes a step further that way (--extend rounds, default 3) and\n"
            "warns when the best is still on an edge at the end.\n"
            "Example: simdmf tune u1.base --test u1.test -o u1-tuned.smf --parallel 2");
        c->add_option("data", a->data, "training ratings file")->required();
        c->add_option("-o,--output", a->model, "save the best configuration trained on all the training data here");
        c->add_option("--test", a->test, "evaluate the final model on this ratings file");
        a->search.add(c, "--method", "tune_method");
        a->search.add(c, "--budget", "tune_budget");
        a->search.add(c, "--valid-fraction", "tune_valid_fraction");
        a->search.add(c, "--split-seed", "tune_seed");
        a->search.add(c, "--parallel", "tune_parallel");
        a->search.add(c, "--extend", "tune_extend");
        c->add_flag("--no-extend", a->no_extend, "do not search past the edges (a warning still says when the best is on one)");
        a->search.add(c, "-k,--factors", "tune_k");
        a->search.add(c, "--lr", "tune_lr");
        a->search.add(c, "--l2", "tune_l2");
        a->search.add(c, "--epochs", "tune_epochs");
        a->df.add(c);
        a->flags.add(c, true);
        reg.push_back({c, [a, &out] { return run_tune(*a, out); }});
    }
    {
        auto a = std::make_shared<DemoArgs>();
        auto* c = app.add_subcommand(
            "demo", "train MF and logistic MF on a built-in data set (or a MovieLens u.data file) and show results");
        c->add_option("path", a->path, "optional MovieLens u.data file");
        c->add_option("--test-fraction", a->test_fraction, "fraction of ratings held out (default 0.2)")
            ->check(CLI::Range(0.01, 0.99));
        a->flags.add(c);
        reg.push_back({c, [a, &out] { return run_demo(*a, out); }});
    }
}

}  // namespace simdmf::cli
