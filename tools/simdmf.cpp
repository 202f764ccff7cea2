// simdmf: train, evaluate and serve matrix-factorization recommenders from the command line.
// Exit codes: 0 success, 1 failure reported by the library (message on stderr), 2 bad usage.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_common.hpp"
#include "fileio.hpp"
#include "kernels/kernels.hpp"
#include "metrics.hpp"
#include "split.hpp"
#include "synthetic.hpp"

using namespace simdmf;
using nlohmann::json;

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Training flags shared by train and demo.
struct TrainFlags {
    std::string loss = "squared", solver = "sgd", schedule = "constant";
    std::uint32_t k = 0, epochs = 0, threads = 1, patience = 0;
    double lr = 0, l2 = -1, l2_bias = -1, lr_decay = -1, init_std = -1, tol = 0;
    std::uint64_t seed = 42;
    bool no_biases = false;

    void add(CLI::App* c) {
        c->add_option("--loss", loss, "squared (ratings) or logistic (+1/-1 labels)")
            ->check(CLI::IsMember({"squared", "logistic"}));
        c->add_option("-k,--factors", k, "latent factors (default 32)");
        c->add_option("--epochs", epochs, "maximum epochs (default 30 for sgd, 500 for gd)");
        c->add_option("--lr", lr, "learning rate (default 0.01 sgd, 0.5 gd)");
        c->add_option("--l2", l2, "L2 weight on factors (default 0.05)");
        c->add_option("--l2-bias", l2_bias, "L2 weight on biases (default 0.01)");
        c->add_flag("--no-biases", no_biases, "plain p.q model without global mean and biases");
        c->add_option("--solver", solver, "sgd or gd (full batch)")->check(CLI::IsMember({"sgd", "gd"}));
        c->add_option("--schedule", schedule, "learning-rate schedule: constant or decay")
            ->check(CLI::IsMember({"constant", "decay"}));
        c->add_option("--lr-decay", lr_decay, "decay d of lr/(1+d*epoch) (default 0.05)");
        c->add_option("--init-std", init_std, "norm of the initial factor rows (default 0.1)");
        c->add_option("--seed", seed, "random seed (default 42)");
        c->add_option("--threads", threads, "worker threads (default 1)");
        c->add_option("--patience", patience, "stop after N epochs without validation improvement");
        c->add_option("--tol", tol, "stop when the training loss falls under this");
    }

    TrainOptions options() const {
        TrainOptions o;
        o.set("loss", loss);
        o.set("solver", solver);
        o.set("schedule", schedule);
        if (k) o.set("k", k);
        if (epochs) o.set("epochs", epochs);
        if (lr > 0) o.set("lr", lr);
        if (l2 >= 0) o.set("l2", l2);
        if (l2_bias >= 0) o.set("l2_bias", l2_bias);
        if (lr_decay >= 0) o.set("lr_decay", lr_decay);
        if (init_std >= 0) o.set("init_std", init_std);
        o.set("seed", static_cast<double>(seed));
        o.set("threads", threads);
        o.set("patience", patience);
        o.set("tol", tol);
        o.set("biases", no_biases ? 0.0 : 1.0);
        return o;
    }
};

void print_options(const TrainOptions& o, const char* what) {
    std::fprintf(stderr, "Training %s: %s loss, %s, k=%u, %u epochs, lr %.4g (%s), l2 %.4g, l2_bias %.4g, biases %s, seed %llu\n",
                 what, o.get_string("loss").c_str(), o.get_string("solver").c_str(), o.k, o.effective_epochs(),
                 o.effective_lr(), o.get_string("schedule").c_str(), o.l2, o.l2_bias, o.biases ? "on" : "off",
                 static_cast<unsigned long long>(o.seed));
}

std::string list_items(const Model& m, const std::vector<std::pair<std::uint32_t, float>>& v) {
    std::string s;
    char b[64];
    for (auto& [i, score] : v) {
        std::snprintf(b, sizeof b, "%s%s (%.3f)", s.empty() ? "" : ", ", cli::raw_item(m, i).c_str(), score);
        s += b;
    }
    return s;
}

// ----------------------------------------------------------------------------------------- demo
struct DemoArgs {
    std::string path;
    TrainFlags flags;
    double test_fraction = 0.2;
    std::uint64_t split_seed = 1;
};

int run_demo(const DemoArgs& a, const cli::Output& out) {
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
        all = cli::load_ratings(a.path, {}, out, "Data");
        std::printf("Data: %s: %u users, %u items, %zu ratings\n", a.path.c_str(), all.n_users, all.n_items, all.size());
    }
    auto [train_set, test_set] = split::random(all, a.test_fraction, a.split_seed);
    std::printf("Split: %zu train / %zu test ratings (random, seed %llu)\n", train_set.size(), test_set.size(),
                static_cast<unsigned long long>(a.split_seed));

    TrainOptions o = a.flags.options();
    o.kind = ModelKind::mf;
    if (!out.quiet) print_options(o, "MF");
    TrainResult mf = train(o, train_set, &test_set, cli::progress_printer(out, "test RMSE"));
    std::vector<float> pred = mf.model.predict_pairs(test_set);
    const double rmse = metrics::rmse(pred.data(), test_set.value.data(), test_set.size());
    const double mean = train_set.mean_value();
    std::vector<float> base(test_set.size(), static_cast<float>(mean));
    const double base_rmse = metrics::rmse(base.data(), test_set.value.data(), test_set.size());
    std::printf("MF: test RMSE %.4f, MAE %.4f; mean-rating baseline RMSE %.4f (%.1f%% lower) in %.2fs\n", rmse,
                metrics::mae(pred.data(), test_set.value.data(), test_set.size()), base_rmse,
                100.0 * (1.0 - rmse / base_rmse), mf.history.back().elapsed_seconds);

    // Logistic MF on "liked" = rating >= 4.
    const Ratings btrain = binarize(train_set, 4.0f), btest = binarize(test_set, 4.0f);
    TrainOptions lo = o;
    lo.kind = ModelKind::logistic;
    if (a.flags.lr <= 0) lo.lr = 0.05;
    if (a.flags.l2 < 0) lo.l2 = 0.01;
    if (!out.quiet) print_options(lo, "logistic MF on liked = rating >= 4");
    TrainResult lg = train(lo, btrain, &btest, cli::progress_printer(out, "test log-loss"));
    std::vector<float> prob = lg.model.predict_pairs(btest);
    std::printf("Logistic MF: test AUC %.4f, log-loss %.4f, accuracy %.4f\n",
                metrics::auc(prob.data(), btest.value.data(), btest.size()),
                metrics::log_loss(prob.data(), btest.value.data(), btest.size()),
                metrics::accuracy(prob.data(), btest.value.data(), btest.size()));

    const auto seen = items_by_user(train_set);
    const std::uint32_t user = 0, item = 0;
    auto top = mf.model.recommend(user, 5, seen[user]);
    std::printf("Top-5 unseen items for user %s: %s\n", cli::raw_user(mf.model, user).c_str(),
                list_items(mf.model, top).c_str());
    auto near = mf.model.nearest(SIMDMF_ITEMS, item, 5);
    std::printf("5 items nearest to item %s (cosine): %s\n", cli::raw_item(mf.model, item).c_str(),
                list_items(mf.model, near).c_str());
    return 0;
}

// ---------------------------------------------------------------------------------------- train
struct TrainArgs {
    std::string data, model = "model.smf", valid, curve, format = "auto";
    double valid_fraction = 0;
    TrainFlags flags;
};

io::LoadOptions load_options(const std::string& format) {
    io::LoadOptions o;
    static const std::pair<const char*, io::Format> names[] = {
        {"auto", io::Format::automatic},         {"movielens", io::Format::movielens_data},
        {"movielens-dat", io::Format::movielens_dat}, {"movielens-csv", io::Format::movielens_csv},
        {"libmf", io::Format::libmf},            {"binary", io::Format::binary}};
    for (auto& [n, f] : names)
        if (format == n) o.format = f;
    return o;
}
const std::vector<std::string> kFormats = {"auto", "movielens", "movielens-dat", "movielens-csv", "libmf", "binary"};

int run_train(const TrainArgs& a, const cli::Output& out) {
    TrainOptions o = a.flags.options();
    Ratings data = cli::load_ratings(a.data, load_options(a.format), out, "Training data");
    Ratings train_set, valid_set;
    bool has_valid = false;
    if (!a.valid.empty()) {
        Ratings raw = cli::load_ratings(a.valid, load_options(a.format), out, "Validation data");
        std::size_t unknown = 0;
        valid_set = align_ids(raw, data.user_ids, data.item_ids, data.n_users, data.n_items, &unknown);
        if (unknown && !out.quiet)
            std::fprintf(stderr, "Validation: %zu ratings of users or items absent from training left out\n", unknown);
        train_set = std::move(data);
        has_valid = true;
    } else if (a.valid_fraction > 0) {
        auto parts = split::random(data, a.valid_fraction, o.seed);
        train_set = std::move(parts.first);
        valid_set = std::move(parts.second);
        has_valid = true;
    } else {
        train_set = std::move(data);
    }
    if (!out.quiet) print_options(o, "model");
    TrainResult res = train(o, train_set, has_valid ? &valid_set : nullptr,
                            cli::progress_printer(out, o.kind == ModelKind::logistic ? "valid log-loss" : "valid RMSE"));
    save_model(res.model, a.model);
    if (!a.curve.empty()) cli::write_curve(res.history, a.curve);
    const EpochInfo& last = res.history.back();
    if (out.json) {
        json j = {{"model", a.model}, {"epochs", res.history.size()}, {"stop_reason", res.stop_reason},
                  {"train_loss", last.train_loss}, {"seconds", last.elapsed_seconds},
                  {"simd", kernels::active().name}};
        if (has_valid) j["valid_metric"] = last.valid_metric;
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("Saved %s after %zu epochs (%s), train loss %.4f", a.model.c_str(), res.history.size(),
                    res.stop_reason.c_str(), last.train_loss);
        if (has_valid) std::printf(", validation %.4f", last.valid_metric);
        std::printf(", %.2fs\n", last.elapsed_seconds);
    }
    return 0;
}

// -------------------------------------------------------------------------------------- predict
struct PredictArgs {
    std::string model, pairs, output;
};

int run_predict(const PredictArgs& a, const cli::Output& out) {
    Model m = load_model(a.model);
    std::ifstream in(a.pairs);
    if (!in) throw Error(SIMDMF_ERR_IO, "cannot open " + a.pairs);
    std::ostringstream res;
    std::string line;
    std::size_t lineno = 0, unknown = 0;
    while (std::getline(in, line)) {
        ++lineno;
        for (char& c : line)
            if (c == ',' || c == '\t' || c == '\r') c = ' ';
        std::istringstream ls(line);
        long long ru, ri;
        if (line.find_first_not_of(' ') == std::string::npos || line[line.find_first_not_of(' ')] == '#') continue;
        if (!(ls >> ru >> ri))
            throw Error(SIMDMF_ERR_FORMAT, a.pairs + ":" + std::to_string(lineno) + ": expected 'user item'");
        auto index = [](const std::shared_ptr<const IdMap>& map, std::uint32_t n, long long raw, std::uint32_t* idx) {
            if (map) return map->find(raw, idx);
            if (raw < 0 || raw >= n) return false;
            *idx = static_cast<std::uint32_t>(raw);
            return true;
        };
        std::uint32_t u, i;
        if (!index(m.user_ids, m.n_users, ru, &u) || !index(m.item_ids, m.n_items, ri, &i)) {
            ++unknown;
            res << ru << ' ' << ri << " nan\n";
            continue;
        }
        char b[32];
        std::snprintf(b, sizeof b, "%.6g", m.predict(u, i));
        res << ru << ' ' << ri << ' ' << b << '\n';
    }
    const std::string text = res.str();
    if (a.output.empty()) std::fwrite(text.data(), 1, text.size(), stdout);
    else atomic_write_file(a.output, text.data(), text.size());
    if (unknown && !out.quiet)
        std::fprintf(stderr, "%zu pairs name a user or item the model does not know: predicted nan\n", unknown);
    return 0;
}

// ----------------------------------------------------------------------------------------- eval
struct EvalArgs {
    std::string model, data, format = "auto";
};

int run_eval(const EvalArgs& a, const cli::Output& out) {
    Model m = load_model(a.model);
    Ratings raw = cli::load_ratings(a.data, load_options(a.format), out, "Test data");
    std::size_t unknown = 0;
    Ratings test = align_ids(raw, m.user_ids, m.item_ids, m.n_users, m.n_items, &unknown);
    if (m.kind == ModelKind::logistic) test.validate(true);
    json j = cli::evaluate(m, test);
    j["unknown_left_out"] = unknown;
    if (out.json) {
        std::cout << j.dump(2) << "\n";
    } else {
        for (auto& [k, v] : j.items()) std::cout << k << " " << v << "\n";
    }
    return 0;
}

// ----------------------------------------------------------------------------------------- info
int run_info(const std::string& path, const cli::Output& out) {
    Model m = load_model(path);
    json j = {{"kind", m.kind == ModelKind::logistic ? "logistic" : "mf"}, {"k", m.k}, {"users", m.n_users},
              {"items", m.n_items}, {"biases", m.biases}, {"global_offset", m.mu},
              {"user_id_map", bool(m.user_ids)}, {"item_id_map", bool(m.item_ids)},
              {"format_version", 1}, {"simd", kernels::active().name}, {"library_version", SIMDMF_VERSION_STRING}};
    if (out.json) std::cout << j.dump(2) << "\n";
    else
        for (auto& [k, v] : j.items()) std::cout << k << " " << v << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // results and stderr progress interleave in order
    CLI::App app{"simdmf: matrix-factorization recommenders with SIMD kernels.\n"
                 "Exit codes: 0 success, 1 error (message on stderr), 2 bad usage."};
    app.require_subcommand(1);
    cli::Output out;
    app.add_flag("-q,--quiet", out.quiet, "no progress lines on stderr");
    app.add_flag("--json", out.json, "print results as JSON on stdout");

    DemoArgs demo;
    auto* c_demo = app.add_subcommand("demo", "train MF and logistic MF on a built-in data set (or a MovieLens u.data file) and show results");
    c_demo->add_option("path", demo.path, "optional MovieLens u.data file")->check(CLI::ExistingFile);
    c_demo->add_option("--test-fraction", demo.test_fraction, "fraction of ratings held out (default 0.2)")
        ->check(CLI::Range(0.01, 0.99));
    demo.flags.add(c_demo);

    TrainArgs tr;
    auto* c_train = app.add_subcommand("train", "train a model from a ratings file and save it");
    c_train->add_option("data", tr.data, "ratings file")->required()->check(CLI::ExistingFile);
    c_train->add_option("-o,--model", tr.model, "model file to write (default model.smf)");
    c_train->add_option("--format", tr.format, "input format")->check(CLI::IsMember(kFormats));
    c_train->add_option("--valid", tr.valid, "validation ratings file")->check(CLI::ExistingFile);
    c_train->add_option("--valid-fraction", tr.valid_fraction, "hold out this fraction for validation")
        ->check(CLI::Range(0.0, 0.99));
    c_train->add_option("--curve", tr.curve, "write the per-epoch learning curve to this CSV file");
    tr.flags.add(c_train);

    PredictArgs pr;
    auto* c_pred = app.add_subcommand("predict", "predict (user, item) pairs given as raw ids, one pair per line");
    c_pred->add_option("model", pr.model, "model file")->required()->check(CLI::ExistingFile);
    c_pred->add_option("pairs", pr.pairs, "file of 'user item' lines")->required()->check(CLI::ExistingFile);
    c_pred->add_option("-o,--output", pr.output, "write 'user item prediction' lines here (default stdout)");

    EvalArgs ev;
    auto* c_eval = app.add_subcommand("eval", "metrics of a model on a ratings file");
    c_eval->add_option("model", ev.model, "model file")->required()->check(CLI::ExistingFile);
    c_eval->add_option("data", ev.data, "test ratings file")->required()->check(CLI::ExistingFile);
    c_eval->add_option("--format", ev.format, "input format")->check(CLI::IsMember(kFormats));

    std::string info_path;
    auto* c_info = app.add_subcommand("info", "model header and the SIMD level in use");
    c_info->add_option("model", info_path, "model file")->required()->check(CLI::ExistingFile);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    }
    try {
        if (*c_demo) return run_demo(demo, out);
        if (*c_train) return run_train(tr, out);
        if (*c_pred) return run_predict(pr, out);
        if (*c_eval) return run_eval(ev, out);
        if (*c_info) return run_info(info_path, out);
    } catch (const Error& e) {
        std::fprintf(stderr, "simdmf: error: %s (%s)\n", e.what(), simdmf_status_string(e.status()));
        return kExitError;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "simdmf: error: %s\n", e.what());
        return kExitError;
    }
    return kExitUsage;
}
