// Commands on ratings files: split, convert, gen.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli_common.hpp"
#include "eval/split.hpp"
#include "synthetic.hpp"

namespace simdmf::cli {

using json = nlohmann::ordered_json;

namespace {

// Output format from --to, or from the output name: *.smr -> binary, *.csv -> movielens-csv,
// *.dat -> movielens-dat, otherwise `fallback`.
io::Format output_format(const std::string& to, const std::string& path, io::Format fallback) {
    if (!to.empty() && to != "auto") {
        io::Format f = parse_format(to);
        if (f == io::Format::automatic) throw UsageError("--to needs a format");
        return f;
    }
    auto ends = [&](const char* suffix) {
        const std::string s(suffix);
        return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
    };
    if (ends(".smr")) return io::Format::binary;
    if (ends(".csv")) return io::Format::movielens_csv;
    if (ends(".dat")) return io::Format::movielens_dat;
    return fallback;
}

// File name suffix for a written format, chosen so that --format auto reads the file back the same way:
// libmf ".txt" (a *.test name would be taken for MovieLens), binary ".smr", ".csv", ".dat".
std::string suffix(io::Format f) {
    switch (f) {
        case io::Format::libmf: return ".txt";
        case io::Format::binary: return ".smr";
        case io::Format::movielens_csv: return ".csv";
        case io::Format::movielens_dat: return ".dat";
        default: return "";
    }
}

// Writes `r` in format f. `header`: the input's header line, kept when the output is a CSV with the
// same number of columns (so names such as userId,itemId,rating,timestamp survive a split or convert).
void write_ratings(const Ratings& r, const std::string& path, io::Format f, const std::string& header = {}) {
    if (f == io::Format::binary) return io::save_binary(r, path);
    std::string h;
    if (f == io::Format::movielens_csv && !header.empty()) {
        const std::size_t columns = static_cast<std::size_t>(std::count(header.begin(), header.end(), ',')) + 1;
        if (columns == (r.timestamp.empty() ? 3u : 4u)) h = header;
    }
    io::write_text(r, path, f, h);
}

// Where outputs named after an input go by default: the current directory, not the input's folder
// (which may be a shared, read-only data folder).
std::string default_prefix(const std::string& input) {
    return std::filesystem::path(input).filename().string();
}

// Load options for a command that rewrites a file: timestamps are kept whenever every line has one,
// so that the output can still be split by time.
io::LoadOptions rewrite_options(const DataFlags& df) {
    io::LoadOptions lo = df.options();
    if (lo.format != io::Format::libmf) lo.timestamps_if_present = true;
    return lo;
}

const std::vector<std::string> kOutFormats = {"auto", "movielens", "movielens-dat", "movielens-csv", "libmf", "delimited", "binary"};

// ----------------------------------------------------------------------------------------- split
struct SplitArgs {
    std::string data, prefix, kind = "random", to = "auto";
    double test_fraction = 0.2, valid_fraction = 0.1;
    unsigned folds = 5, per_user = 1, min_count = 3;
    std::uint64_t seed = 1;
    bool random_pick = false;  // leave-one-out: a seeded random event instead of the latest
    DataFlags df;
};

int run_split(const SplitArgs& a, const Output& out) {
    io::LoadOptions lo = rewrite_options(a.df);
    if (a.kind == "by-time" || (a.kind == "leave-one-out" && !a.random_pick)) lo.keep_timestamps = true;
    io::LoadReport rep;
    Ratings data = load_ratings(a.data, lo, out, "Data", &rep);
    // Text output keeps raw ids (libmf: dense indices, which the file's ids are).
    io::Format fallback = lo.format == io::Format::automatic ? io::detect_format(a.data) : lo.format;
    if (fallback == io::Format::delimited) fallback = io::Format::movielens_data;
    const std::string prefix = a.prefix.empty() ? default_prefix(a.data) : a.prefix;
    const io::Format f = output_format(a.to, "", fallback);
    const std::string ext = suffix(f);
    std::vector<std::pair<std::string, const Ratings*>> parts;
    std::vector<Ratings> keep;
    if (a.kind == "random") {
        auto [tr, te] = split::random(data, a.test_fraction, a.seed);
        keep = {std::move(tr), std::move(te)};
        parts = {{prefix + ".train" + ext, &keep[0]}, {prefix + ".test" + ext, &keep[1]}};
    } else if (a.kind == "per-user") {
        auto [tr, te] = split::per_user(data, a.per_user, a.seed);
        keep = {std::move(tr), std::move(te)};
        parts = {{prefix + ".train" + ext, &keep[0]}, {prefix + ".test" + ext, &keep[1]}};
    } else if (a.kind == "per-user-fraction" || a.kind == "leave-one-out") {
        auto [tr, te] = a.kind == "leave-one-out" ? split::leave_one_out(data, !a.random_pick, a.seed)
                                                  : split::per_user_fraction(data, a.test_fraction, a.seed);
        keep = {std::move(tr), std::move(te)};
        parts = {{prefix + ".train" + ext, &keep[0]}, {prefix + ".test" + ext, &keep[1]}};
    } else if (a.kind == "by-time") {
        auto [tr, te] = split::by_time(data, a.test_fraction);
        keep = {std::move(tr), std::move(te)};
        parts = {{prefix + ".train" + ext, &keep[0]}, {prefix + ".test" + ext, &keep[1]}};
    } else if (a.kind == "covering") {
        auto three = split::covering(data, a.valid_fraction, a.test_fraction, a.seed, a.min_count);
        keep = {std::move(three.train), std::move(three.valid), std::move(three.test)};
        parts = {{prefix + ".train" + ext, &keep[0]}, {prefix + ".valid" + ext, &keep[1]}, {prefix + ".test" + ext, &keep[2]}};
    } else {  // kfold
        const auto fold_of = split::kfold_assignment(data.size(), a.folds, a.seed);
        keep.reserve(2 * a.folds);
        for (unsigned k = 0; k < a.folds; ++k) {
            auto [tr, te] = split::kfold_part(data, fold_of, k);
            keep.push_back(std::move(tr));
            keep.push_back(std::move(te));
        }
        for (unsigned k = 0; k < a.folds; ++k) {
            const std::string base = prefix + "." + std::to_string(k + 1);
            parts.push_back({base + ".train" + ext, &keep[2 * k]});
            parts.push_back({base + ".test" + ext, &keep[2 * k + 1]});
        }
    }
    json files = json::array();
    for (const auto& [path, r] : parts) {
        write_ratings(*r, path, f, rep.header);
        files.push_back({{"path", path}, {"ratings", r->size()}});
        if (!out.json) std::printf("%s: %zu ratings\n", path.c_str(), r->size());
    }
    if (out.json)
        std::cout << json{{"kind", a.kind}, {"format", format_flag_name(f)}, {"seed", a.seed}, {"files", files}}.dump(2)
                  << "\n";
    return 0;
}

// --------------------------------------------------------------------------------------- convert
struct ConvertArgs {
    std::string input, output, to = "auto";
    DataFlags df;
};

int run_convert(const ConvertArgs& a, const Output& out) {
    io::LoadOptions lo = rewrite_options(a.df);
    io::LoadReport rep;
    Ratings r = load_ratings(a.input, lo, out, "Input", &rep);
    io::Format in_fmt = lo.format == io::Format::automatic ? io::detect_format(a.input) : lo.format;
    // Binary output by default from text; text (libmf when the input has no id maps, else movielens) from binary.
    io::Format fallback = in_fmt == io::Format::binary
                              ? (r.user_ids || r.item_ids ? io::Format::movielens_data : io::Format::libmf)
                              : io::Format::binary;
    const io::Format f = output_format(a.to, a.output, fallback);
    if (f == io::Format::libmf && (r.user_ids || r.item_ids) && !out.quiet)
        std::fprintf(stderr, "Note: LIBMF text holds 0-based dense indices; the raw ids of %s are not kept\n",
                     a.input.c_str());
    write_ratings(r, a.output, f, rep.header);
    if (out.json)
        std::cout << json{{"input", a.input}, {"output", a.output}, {"format", format_flag_name(f)}, {"ratings", r.size()},
                          {"users", r.n_users}, {"items", r.n_items}}
                         .dump(2)
                  << "\n";
    else
        std::printf("Wrote %s (%s): %zu ratings, %u users, %u items\n", a.output.c_str(), format_flag_name(f), r.size(),
                    r.n_users, r.n_items);
    return 0;
}

// ------------------------------------------------------------------------------------------- gen
struct GenArgs {
    std::string output = "synthetic", preset, to = "libmf";
    PlantedSpec spec;
    bool real = false;
    double test_fraction = 0;
    std::uint64_t split_seed = 1;
    bool seed_given = false, split_seed_given = false;
    double scale = 1.0;  // preset lastfm
};

// Writes a generated set (split when --test-fraction) and reports the files.
int write_generated(const GenArgs& a, Ratings all, io::Format f, const Output& out) {
    const std::string ext = suffix(f);
    json files = json::array();
    auto emit = [&](const Ratings& r, const std::string& path) {
        write_ratings(r, path, f);
        files.push_back({{"path", path}, {"ratings", r.size()}});
        if (!out.json) std::printf("%s: %zu ratings\n", path.c_str(), r.size());
    };
    if (a.test_fraction > 0) {
        auto [tr, te] = split::random(all, a.test_fraction, a.split_seed);
        all = Ratings{};
        emit(tr, a.output + ".train" + ext);
        emit(te, a.output + ".test" + ext);
    } else {
        emit(all, a.output + ext);
    }
    if (out.json)
        std::cout << json{{"users", a.spec.n_users}, {"items", a.spec.n_items}, {"ratings", a.spec.n_ratings},
                          {"rank", a.spec.rank}, {"format", format_flag_name(f)}, {"files", files}}
                         .dump(2)
                  << "\n";
    return 0;
}

int run_gen(GenArgs a, const Output& out) {
    if (a.preset == "large") {
        // Issue 4's set, the one bench_train_synth trains on (seed 4, split seed 5) unless --seed /
        // --split-seed say otherwise: see large_preset() in lib/synthetic.hpp.
        const std::uint64_t seed = a.spec.seed;
        a.spec = large_preset();
        if (a.seed_given) a.spec.seed = seed;
        a.test_fraction = kLargeTestFraction;
        if (!a.split_seed_given) a.split_seed = kLargeSplitSeed;
    } else if (a.preset == "ml100k") {
        const std::uint64_t seed = a.spec.seed;
        a.spec = PlantedSpec{};
        if (a.seed_given) a.spec.seed = seed;
    } else if (a.preset == "lastfm") {
        if (!(a.scale > 0 && a.scale <= 1)) throw UsageError("--scale must be in (0, 1]");
        ImplicitSpec spec = lastfm_preset(a.scale);
        if (a.seed_given) spec.seed = a.spec.seed;
        if (a.test_fraction < 0 || a.test_fraction >= 1) throw UsageError("--test-fraction must be in [0, 1)");
        io::Format f = parse_format(a.to);
        if (f == io::Format::automatic || f == io::Format::delimited) throw UsageError("--to: libmf, movielens, movielens-dat, movielens-csv or binary");
        if (!out.quiet)
            std::fprintf(stderr, "Generating %llu play counts, %u users x %u items (Last.fm 360K shaped, scale %g), seed %llu\n",
                         static_cast<unsigned long long>(spec.n_events), spec.n_users, spec.n_items, a.scale,
                         static_cast<unsigned long long>(spec.seed));
        a.spec.n_users = spec.n_users;
        a.spec.n_items = spec.n_items;
        a.spec.n_ratings = spec.n_events;
        a.spec.rank = 0;
        return write_generated(a, make_implicit(spec), f, out);
    } else if (!a.preset.empty()) {
        throw UsageError("unknown preset '" + a.preset + "' (large, ml100k or lastfm)");
    } else if (a.real) {
        a.spec.integer_ratings = false;
    }
    if (a.test_fraction < 0 || a.test_fraction >= 1) throw UsageError("--test-fraction must be in [0, 1)");
    io::Format f = parse_format(a.to);
    if (f == io::Format::automatic || f == io::Format::delimited) throw UsageError("--to: libmf, movielens, movielens-dat, movielens-csv or binary");
    if (const std::string why = planted_spec_problem(a.spec); !why.empty()) throw UsageError("gen: " + why);
    if (!out.quiet)
        std::fprintf(stderr, "Generating %llu ratings, %u users x %u items, planted rank %u (factor sd %.4g), bias sd %.3g, "
                             "mean %.3g, noise sd %.3g, %s ratings in [%g, %g], seed %llu\n",
                     static_cast<unsigned long long>(a.spec.n_ratings), a.spec.n_users, a.spec.n_items, a.spec.rank,
                     a.spec.factor_std > 0 ? a.spec.factor_std : std::pow(a.spec.rank, -0.25), a.spec.bias_std, a.spec.mean,
                     a.spec.noise_std, a.spec.integer_ratings ? "integer" : "real", a.spec.min_rating, a.spec.max_rating,
                     static_cast<unsigned long long>(a.spec.seed));
    return write_generated(a, make_planted(a.spec), f, out);
}
}  // namespace

void add_data_commands(CLI::App& app, const Output& out, Registry& reg) {
    {
        auto a = std::make_shared<SplitArgs>();
        auto* c = app.add_subcommand("split", "split a ratings file into train/test (and valid) files");
        c->footer("Kinds: random (--test-fraction), kfold (--folds: PREFIX.1.train, PREFIX.1.test, ...), per-user\n"
                  "(--per-user N ratings of each user with more than N go to test), per-user-fraction (round(c * --test-fraction)\n"
                  "of each user's c events, at least one kept in train), leave-one-out (each user with two or more events: the\n"
                  "latest by timestamp, or with --random a seeded random one), by-time (the latest --test-fraction\n"
                  "by timestamp), covering (train/valid/test with every user and item with >= --min-count ratings in\n"
                  "each part). Files: PREFIX.train, PREFIX.test [PREFIX.valid] plus .txt (libmf), .smr, .csv or .dat by\n"
                  "format; text keeps raw ids (libmf: indices).\n"
                  "Example: simdmf split u.data --kind per-user --per-user 10 --prefix ml");
        c->add_option("data", a->data, "ratings file")->required();
        c->add_option("--kind", a->kind, "random, kfold, per-user, per-user-fraction, leave-one-out, by-time or covering (default random)")
            ->check(CLI::IsMember({"random", "kfold", "per-user", "per-user-fraction", "leave-one-out", "by-time", "covering"}));
        c->add_flag("--random", a->random_pick, "leave-one-out: hold out a seeded random event, not the latest");
        c->add_option("--prefix", a->prefix, "output name prefix, may include a folder (default: the input's file name, in the current directory)");
        c->add_option("--test-fraction", a->test_fraction, "random, per-user-fraction, by-time, covering: test fraction (default 0.2)");
        c->add_option("--valid-fraction", a->valid_fraction, "covering: validation fraction (default 0.1)");
        c->add_option("--folds", a->folds, "kfold: number of folds (default 5)");
        c->add_option("--per-user", a->per_user, "per-user: test ratings per user (default 1)");
        c->add_option("--min-count", a->min_count, "covering: users/items with at least this many ratings are covered (default 3)");
        c->add_option("--seed", a->seed, "random seed (default 1)");
        c->add_option("--to", a->to, "output format (default: the input's; binary writes .smr)")->check(CLI::IsMember(kOutFormats));
        a->df.add(c);
        reg.push_back({c, [a, &out] { return run_split(*a, out); }});
    }
    {
        auto a = std::make_shared<ConvertArgs>();
        auto* c = app.add_subcommand("convert", "convert ratings between text formats and the compact binary .smr file");
        c->footer("The output format comes from --to, else the output name (.smr binary, .csv, .dat), else binary for\n"
                  "text input and text for binary input. LIBMF text holds 0-based dense indices (raw ids are dropped).\n"
                  "Example: simdmf convert ratings.csv ratings.smr; simdmf convert ratings.smr back.txt --to libmf");
        c->add_option("input", a->input, "ratings file")->required();
        c->add_option("output", a->output, "file to write")->required();
        c->add_option("--to", a->to, "output format")->check(CLI::IsMember(kOutFormats));
        a->df.add(c);
        reg.push_back({c, [a, &out] { return run_convert(*a, out); }});
    }
    {
        auto a = std::make_shared<GenArgs>();
        auto* c = app.add_subcommand("gen", "generate synthetic ratings from a planted low-rank model");
        c->footer("rating = clip(mean + b_u + b_i + U.V + N(0, noise^2), min, max), rounded unless --real, on distinct cells.\n"
                  "--preset large: 50,000 users x 10,000 items, 5,000,000 train + 500,000 test ratings, rank 10,\n"
                  "U,V ~ N(0, 10^-0.5), no biases, noise sd 0.5, unrounded in [1, 5]: OUTPUT.train.txt and OUTPUT.test.txt\n"
                  "(the set of bench_train_synth; seed 4, split seed 5).\n"
                  "--preset ml100k: the MovieLens-100K shaped set of `simdmf demo`.\n"
                  "--preset lastfm: Last.fm 360K shaped play counts (360,000 users x 160,000 items, 17,500,000 user-item\n"
                  "counts, Zipf popularity; --scale S shrinks all three), 'user item count' lines; see lib/synthetic.hpp.\n"
                  "Example: simdmf gen --preset large -o large   (LIBMF text 'user item rating', 0-based)");
        c->add_option("-o,--output", a->output, "output name (with --test-fraction: OUTPUT.train and OUTPUT.test), plus .txt for libmf, .smr for binary");
        c->add_option("--preset", a->preset, "large, ml100k or lastfm (other flags except -o, --to, --seed, --split-seed, --test-fraction, --scale are ignored)");
        c->add_option("--scale", a->scale, "preset lastfm: users, items and counts times this, in (0, 1] (default 1)");
        c->add_option("--to", a->to, "libmf (default), movielens, movielens-dat, movielens-csv or binary");
        c->add_option("--users", a->spec.n_users, "users (default 943)");
        c->add_option("--items", a->spec.n_items, "items (default 1682)");
        c->add_option("--ratings", a->spec.n_ratings, "ratings, fewer than half the cells (default 100000)");
        c->add_option("--rank", a->spec.rank, "planted rank (default 5)");
        c->add_option("--factor-std", a->spec.factor_std, "sd of the planted factors (default rank^-1/4: U.V has variance 1)");
        c->add_option("--bias-std", a->spec.bias_std, "sd of user and item biases (default 0.3)");
        c->add_option("--mean", a->spec.mean, "global mean (default 3.5)");
        c->add_option("--noise", a->spec.noise_std, "noise sd (default 0.5)");
        c->add_option("--min", a->spec.min_rating, "clip below (default 1)");
        c->add_option("--max", a->spec.max_rating, "clip above (default 5)");
        c->add_flag("--real", a->real, "unrounded ratings");
        c->add_option("--popularity", a->spec.item_popularity, "Zipf-like item skew exponent (default 1; 0 = uniform)");
        auto* seed_opt = c->add_option("--seed", a->spec.seed, "seed of the data (default 2024; preset large: 4)");
        c->add_option("--test-fraction", a->test_fraction, "also split: this fraction to OUTPUT.test (default 0: one file)");
        auto* split_seed_opt = c->add_option("--split-seed", a->split_seed, "seed of the split (default 1; preset large: 5)");
        reg.push_back({c, [a, &out, seed_opt, split_seed_opt] {
                           a->seed_given = seed_opt->count() > 0;
                           a->split_seed_given = split_seed_opt->count() > 0;
                           return run_gen(*a, out);
                       }});
    }
}

}  // namespace simdmf::cli
