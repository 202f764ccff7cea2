// Shared pieces of the simdmf command-line tool: output settings, progress lines and bars, data-file
// flags, training flags, id lookups, JSON and table output, and the command registry.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataset.hpp"
#include "eval/evaluate.hpp"
#include "idspace.hpp"
#include "io/loaders.hpp"
#include "models/mf.hpp"
#include "options.hpp"
#include "serve/seen.hpp"
#include "solvers/trainer.hpp"
#include "status.hpp"
#include "serve/serve.hpp"

namespace simdmf::cli {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // the library reported an error (I/O, format, data, ...)
constexpr int kExitUsage = 2;  // bad command line

// Thrown for a bad combination of flags found after parsing; main() prints it and exits with 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Output {
    bool quiet = false;  // no progress lines or bars on stderr
    bool json = false;   // results as one JSON document on stdout
    bool tty() const;    // stderr is a terminal (progress bars) and not quiet
};

// A one-line progress bar redrawn in place on stderr, only when stderr is a terminal and not quiet.
class ProgressBar {
public:
    ProgressBar(const Output& out, std::string label);
    ~ProgressBar();  // finishes the line
    void update(double fraction, const std::string& detail = {});
    void finish();

private:
    bool active_;
    bool open_ = false;
    std::string label_;
    double last_ = -1;
    double start_;
};

// One line per epoch on stderr: epoch, train loss, validation metric, learning rate, elapsed, ETA.
// Per-epoch lines on stderr: "train <train_label> x  <valid_label> y". Labels: the objective's
// (Objective::train_loss_label, "valid " + metric_label) unless given.
EpochCallback progress_printer(const Output& out, const char* valid_name, const char* train_label = "loss");

// Flags that say how to read a ratings file.
struct DataFlags {
    std::string format = "auto";
    std::string delimiter = ",";
    std::string columns;  // "user,item,rating[,time]" 0-based field numbers (delimited)
    bool header = false;
    bool skip_bad = false;

    void add(CLI::App* c);
    io::LoadOptions options() const;  // throws UsageError for bad values
};

// Format names accepted by --format / --to, and their io::Format.
const std::vector<std::string>& format_names();
io::Format parse_format(const std::string& name);
const char* format_flag_name(io::Format f);

// Loads a ratings file with a progress bar on a terminal, then prints what was read (and skipped) on
// stderr unless quiet.
// Warnings of the load are printed as "warning: ..." even with --quiet.
Ratings load_ratings(const std::string& path, io::LoadOptions opt, const Output& out, const char* role,
                     io::LoadReport* report = nullptr);
// Loads a file and re-expresses it in the model's (or reference data's) indices; reports how many
// ratings name users or items the reference does not know.
Ratings load_aligned(const std::string& path, const io::LoadOptions& opt, const Output& out, const char* role,
                     std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items, std::uint32_t n_users,
                     std::uint32_t n_items, std::size_t* unknown);

// Flags bound to option keys of the registry (lib/options.hpp): each flag's help (doc, bounds,
// default) comes from the key's row, and its value is set through the registry, so a value outside
// the bounds, a non-number for a numeric key or a value not allowed is a UsageError naming the bound.
class KeyFlags {
public:
    // Adds `flag` (CLI11 names, e.g. "-k,--factors") for `key`; `help` replaces the row's doc line.
    void add(CLI::App* c, const std::string& flag, const std::string& key, const std::string& help = {});
    // Sets every flag given on the command line; throws UsageError.
    void apply(options::Target t) const;

private:
    struct Entry {
        std::string flag, key, value;
        CLI::Option* opt = nullptr;
    };
    std::deque<Entry> entries_;  // stable addresses: CLI11 writes into `value`
};

// Sets `key` from its command-line text (numbers with strtod, arrays comma separated); `where` (the
// flag) prefixes the message. Throws UsageError for an unknown key, a text that is not a number of a
// numeric key, and every value the registry refuses.
void set_from_text(options::Target t, const std::string& key, const std::string& text, const std::string& where);

// Training flags (train, demo, cv, tune). The `search` form leaves out k, epochs, lr, l2, lr_list,
// patience and tol, which tune takes as lists or ignores.
struct TrainFlags {
    KeyFlags keys;
    bool no_biases = false;
    std::vector<std::string> settings;  // --set key=value

    void add(CLI::App* c, bool search = false);
    TrainOptions options() const;  // throws UsageError for values the registry refuses
};

void print_options(const TrainOptions& o, const char* what);
nlohmann::ordered_json options_json(const TrainOptions& o);

// Writes the per-epoch learning curve as CSV (epoch,train_loss,valid_metric,learning_rate,elapsed_seconds).
// The learning curve as CSV: epoch,train_loss,valid_metric,learning_rate,elapsed_seconds,train_loss_name,
// valid_metric_name (the last two name what the numbers are, e.g. mse and rmse; tools/plot_curve.py reads them).
void write_curve(const std::vector<EpochInfo>& history, const std::string& path, const CurveNames& names);

// Raw id text of a model's index, and index of a raw id (false when unknown): lib/idspace.hpp's
// raw_of / find_raw.
std::string raw_user(const Model& m, std::uint32_t u);
std::string raw_item(const Model& m, std::uint32_t i);
bool find_index(const std::shared_ptr<const IdMap>& map, std::uint32_t n, long long raw, std::uint32_t* index);
std::int64_t raw_id(const std::shared_ptr<const IdMap>& map, std::uint32_t index);
// A raw id given as text (an integer or a string id): its index, false when unknown.
bool find_index(const std::shared_ptr<const IdMap>& map, std::uint32_t n, const std::string& raw, std::uint32_t* index);
// A raw id for JSON: a number when it is an integer, else a string.
nlohmann::ordered_json id_json(const std::string& raw);
// Lines of raw ids from a small text file (pairs, user lists): fields separated by blanks, tabs,
// commas or '::'; blank and '#' lines skipped; the first `fields` fields of each line. Errors: IO
// (cannot open or read, a folder), FORMAT naming the line (fewer fields: "expected <what>"; a line
// over 64 KiB; a file over 1 GiB), so /dev/zero or a folder fails instead of hanging or exiting 0.
std::vector<std::vector<std::string>> read_id_lines(const std::string& path, int fields, const char* what);

// Metrics as a JSON object, and as "name value" lines.
nlohmann::ordered_json metrics_json(const evaluate::Metrics& m);
void print_metrics(const evaluate::Metrics& m, const char* indent = "");

// Writes text to a file atomically, or to stdout when path is empty or "-".
void write_output(const std::string& path, const std::string& text);

// Refuses (UsageError) a command line whose outputs name one file twice, or an output that names one
// of its inputs: the same path once resolved (symbolic links, "..", "./"), or the same file by device
// and inode (hard links). `outputs` and `inputs` are (flag, path) pairs; empty paths and "-" are skipped.
// An output whose folder does not exist or is not writable is an Error (SIMDMF_ERR_IO), raised before
// any work is done.
void check_distinct_files(const std::vector<std::pair<std::string, std::string>>& outputs,
                          const std::vector<std::pair<std::string, std::string>>& inputs = {});

// A NaN-safe JSON number (null for NaN / infinity).
nlohmann::ordered_json number(double v);

// The subcommands: each add_* registers its commands on `app` with a runner to call when chosen.
struct Command {
    CLI::App* app;
    std::function<int()> run;
};
using Registry = std::vector<Command>;
void add_model_commands(CLI::App& app, const Output& out, Registry& reg);  // train, cv, tune, demo
void add_serve_commands(CLI::App& app, const Output& out, Registry& reg);  // predict, eval, recommend, similar, info
void add_data_commands(CLI::App& app, const Output& out, Registry& reg);   // split, convert, gen
void add_interop_commands(CLI::App& app, const Output& out, Registry& reg);  // import, export
void add_option_commands(CLI::App& app, const Output& out, Registry& reg); // options

}  // namespace simdmf::cli
