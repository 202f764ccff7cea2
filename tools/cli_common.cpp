#include "cli_common.hpp"
#include "serve/serve.hpp"

#include <sys/stat.h>

#include <filesystem>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "io/fileio.hpp"
#include "io/file_util.hpp"
#include "eval/metrics.hpp"

namespace simdmf::cli {

namespace {
double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

bool Output::tty() const { return !quiet && ::isatty(STDERR_FILENO); }

// ------------------------------------------------------------------------------------ progress bar
ProgressBar::ProgressBar(const Output& out, std::string label)
    : active_(out.tty()), label_(std::move(label)), start_(now_seconds()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(double fraction, const std::string& detail) {
    if (!active_) return;
    fraction = std::clamp(fraction, 0.0, 1.0);
    if (open_ && fraction < 1.0 && fraction - last_ < 0.005 && detail.empty()) return;
    last_ = fraction;
    constexpr int width = 30;
    const int filled = static_cast<int>(fraction * width + 0.5);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(width - filled), '-');
    const double elapsed = now_seconds() - start_;
    char eta[32] = "";
    if (fraction > 0.02 && fraction < 1.0) std::snprintf(eta, sizeof eta, " ETA %.0fs", elapsed / fraction * (1 - fraction));
    std::fprintf(stderr, "\r%s [%s] %3.0f%% %.1fs%s %s\x1b[K", label_.c_str(), bar.c_str(), fraction * 100, elapsed, eta,
                 detail.c_str());
    std::fflush(stderr);
    open_ = true;
}

void ProgressBar::finish() {
    if (active_ && open_) {
        std::fprintf(stderr, "\r\x1b[K");  // erase the bar: the summary line follows
        std::fflush(stderr);
    }
    open_ = false;
}

EpochCallback progress_printer(const Output& out, const char* valid_name, const char* train_label) {
    if (out.quiet) return {};
    std::string vname = valid_name ? valid_name : "valid";
    std::string tname = std::string("train ") + (train_label ? train_label : "loss");
    return [vname, tname](const EpochInfo& e) {
        const double per_epoch = e.elapsed_seconds / e.epoch;
        const double eta = per_epoch * (e.max_epochs - e.epoch);
        std::fprintf(stderr, "  epoch %4u/%-4u  %s %.4f", e.epoch, e.max_epochs, tname.c_str(), e.train_loss);
        if (!std::isnan(e.valid_metric)) std::fprintf(stderr, "  %s %.4f", vname.c_str(), e.valid_metric);
        std::fprintf(stderr, "  lr %.4g  %.2fs  ETA %.2fs\n", e.learning_rate, e.elapsed_seconds, eta);
        return true;
    };
}

// ---------------------------------------------------------------------------------------- formats
namespace {
const std::vector<std::pair<std::string, io::Format>>& format_table() {
    static const std::vector<std::pair<std::string, io::Format>> t = {
        {"auto", io::Format::automatic},         {"movielens", io::Format::movielens_data},
        {"movielens-dat", io::Format::movielens_dat}, {"movielens-csv", io::Format::movielens_csv},
        {"libmf", io::Format::libmf},            {"delimited", io::Format::delimited},
        {"binary", io::Format::binary}};
    return t;
}
}  // namespace

const std::vector<std::string>& format_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (auto& [n, f] : format_table()) v.push_back(n);
        return v;
    }();
    return names;
}

io::Format parse_format(const std::string& name) {
    for (auto& [n, f] : format_table())
        if (n == name) return f;
    throw UsageError("unknown format '" + name + "'");
}

const char* format_flag_name(io::Format f) {
    for (auto& [n, g] : format_table())
        if (g == f) return n.c_str();
    return "?";
}

void DataFlags::add(CLI::App* c) {
    c->add_option("--format", format,
                  "input format: auto (from the name and first line), movielens (u.data: tab/space), movielens-dat "
                  "(::), movielens-csv (header), libmf (0-based 'u i r'), delimited (see --delimiter, --columns), "
                  "binary (.smr)")
        ->check(CLI::IsMember(format_names()));
    c->add_option("--delimiter", delimiter, "delimited: field separator, one character, or 'tab' / 'space' (default ,)");
    c->add_option("--columns", columns,
                  "delimited: 0-based fields 'user,item[,rating[,time]]' (default 0,1,2; two fields: each line is one "
                  "event of value 1, repeats summed as counts)");
    c->add_flag("--header", header, "the first line is a header (any text format; auto also detects one)");
    c->add_flag("--skip-bad-lines", skip_bad, "skip malformed lines (counted and reported) instead of failing");
}

io::LoadOptions DataFlags::options() const {
    io::LoadOptions o;
    o.format = parse_format(format);
    if (delimiter == "tab" || delimiter == "\\t") o.delimiter = '\t';
    else if (delimiter == "space") o.delimiter = ' ';
    else if (delimiter.size() == 1) o.delimiter = delimiter[0];
    else throw UsageError("--delimiter must be one character, 'tab' or 'space'");
    o.header = header;  // every text format: the first content line is a header
    o.skip_bad_lines = skip_bad;
    // --columns or a --delimiter other than the default imply the delimited format.
    if (o.format == io::Format::automatic && (!columns.empty() || delimiter != ",")) o.format = io::Format::delimited;
    if (o.format != io::Format::delimited && delimiter != ",")
        throw UsageError("--delimiter applies to --format delimited only (" + format + " has its own separator)");
    if (o.format == io::Format::binary && header) throw UsageError("--header does not apply to --format binary");
    if (!columns.empty()) {
        if (o.format != io::Format::delimited) throw UsageError("--columns needs --format delimited");
        std::vector<int> cols;
        std::stringstream ss(columns);
        std::string part;
        while (std::getline(ss, part, ',')) {
            try {
                std::size_t used = 0;
                int v = std::stoi(part, &used);
                if (used != part.size() || v < 0) throw std::invalid_argument("bad");
                cols.push_back(v);
            } catch (const std::exception&) {
                throw UsageError("--columns: '" + part + "' is not a field number");
            }
        }
        if (cols.size() < 2 || cols.size() > 4)
            throw UsageError("--columns takes 2, 3 or 4 field numbers: user,item[,rating[,time]] (2: each line is one event)");
        o.user_col = cols[0];
        o.item_col = cols[1];
        o.value_col = cols.size() >= 3 ? cols[2] : -1;
        o.time_col = cols.size() == 4 ? cols[3] : -1;
    }
    return o;
}

Ratings load_ratings(const std::string& path, io::LoadOptions opt, const Output& out, const char* role,
                     io::LoadReport* report) {
    io::LoadReport local;
    io::LoadReport& rep = report ? *report : local;
    ProgressBar bar(out, std::string("Loading ") + path);
    if (out.tty())
        opt.progress = [&bar](std::uint64_t done, std::uint64_t total) {
            if (total) bar.update(static_cast<double>(done) / static_cast<double>(total));
        };
    const double t0 = now_seconds();
    Ratings r = io::load(path, opt, &rep);
    bar.finish();
    if (!out.quiet) {
        std::fprintf(stderr, "%s: %s: %zu ratings, %u users, %u items (%.2fs)", role, path.c_str(), r.size(), r.n_users,
                     r.n_items, now_seconds() - t0);
        if (rep.skipped) std::fprintf(stderr, ", %llu malformed lines skipped", static_cast<unsigned long long>(rep.skipped));
        std::fprintf(stderr, "\n");
        for (const auto& e : rep.errors) std::fprintf(stderr, "  skipped: %s\n", e.c_str());
        if (!rep.header.empty()) std::fprintf(stderr, "  header line skipped: %s\n", escape_bytes(rep.header, false, 200).c_str());
        if (rep.events)
            std::fprintf(stderr, "  two-column events: value = number of lines per (user, item); %llu repeats summed\n",
                         static_cast<unsigned long long>(rep.merged));
    }
    for (const auto& w : rep.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());  // even with --quiet
    return r;
}

Ratings load_aligned(const std::string& path, const io::LoadOptions& opt, const Output& out, const char* role,
                     std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items, std::uint32_t n_users,
                     std::uint32_t n_items, std::size_t* unknown) {
    Ratings raw = load_ratings(path, opt, out, role);
    std::size_t u = 0;
    Ratings r = align_ids(raw, std::move(users), std::move(items), n_users, n_items, &u);
    if (u && !out.quiet)
        std::fprintf(stderr, "%s: %zu ratings of users or items unknown to the model left out\n", role, u);
    if (unknown) *unknown = u;
    return r;
}

// ------------------------------------------------------------------------------------ key flags
namespace {

// A whole-text number (strtod: also nan, inf); false when the text is not one.
bool parse_number(const std::string& text, double* v) {
    if (text.empty()) return false;
    char* end = nullptr;
    *v = std::strtod(text.c_str(), &end);
    return end && *end == '\0';
}

std::string help_of(const options::Option& o, const std::string& help) {
    std::string h = help.empty() ? o.doc : help;
    h += " (";
    h += o.type == options::Type::array ? "comma separated, each " + options::bounds_text(o) : options::bounds_text(o);
    return h + "; default " + options::default_text(o) + ")";
}

}  // namespace

void set_from_text(options::Target t, const std::string& key, const std::string& text, const std::string& where) {
    const options::Option* o = options::find(key);
    if (!o) throw UsageError(where + ": unknown option '" + key + "' ('simdmf options' lists them)");
    auto not_a_number = [&](const std::string& word) {
        const std::string kind = o->type == options::Type::array
                                     ? std::string(options::type_name(o->element)) + " array option"
                                     : std::string(o->type == options::Type::integer ? "integer" : "real") + " option";
        return UsageError(where + ": '" + word + "' is not a number for the " + kind + " '" + key + "'");
    };
    try {
        switch (o->type) {
            case options::Type::string: options::set_string(t, key, text); break;
            case options::Type::integer:
            case options::Type::real: {
                double v = 0;
                if (!parse_number(text, &v)) throw not_a_number(text);
                options::set_number(t, key, v);
                break;
            }
            case options::Type::array: {
                std::vector<double> values;
                std::size_t pos = 0;
                while (!text.empty() && pos <= text.size()) {
                    std::size_t end = text.find(',', pos);
                    if (end == std::string::npos) end = text.size();
                    const std::string word = text.substr(pos, end - pos);
                    double v = 0;
                    if (!parse_number(word, &v)) throw not_a_number(word);
                    values.push_back(v);
                    pos = end + 1;
                }
                options::set_array(t, key, values);
                break;
            }
        }
    } catch (const Error& e) {
        throw UsageError(where + ": " + e.what());
    }
}

void KeyFlags::add(CLI::App* c, const std::string& flag, const std::string& key, const std::string& help) {
    const options::Option* o = options::find(key);
    if (!o) throw std::logic_error("KeyFlags: no option '" + key + "' in the registry");
    entries_.push_back({flag, key, {}, nullptr});
    Entry& e = entries_.back();
    e.opt = c->add_option(flag, e.value, help_of(*o, help));
    e.opt->type_name(o->type == options::Type::integer  ? "INT"
                     : o->type == options::Type::real   ? "REAL"
                     : o->type == options::Type::string ? "TEXT"
                                                        : "LIST");
}

void KeyFlags::apply(options::Target t) const {
    for (const Entry& e : entries_)
        if (e.opt->count() > 0) set_from_text(t, e.key, e.value, e.opt->get_name());
}

// ------------------------------------------------------------------------------------ train flags
void TrainFlags::add(CLI::App* c, bool search) {
    keys.add(c, "--model", "model");
    keys.add(c, "--loss", "loss");
    if (!search) {
        keys.add(c, "-k,--factors", "k");
        keys.add(c, "--epochs", "epochs");
        keys.add(c, "--lr", "lr");
        keys.add(c, "--l2", "l2");
    }
    keys.add(c, "--l2-bias", "l2_bias");
    c->add_flag("--no-biases", no_biases, "plain p.q model without global mean and biases (option biases = 0)");
    keys.add(c, "--solver", "solver");
    keys.add(c, "--schedule", "schedule");
    keys.add(c, "--lr-decay", "lr_decay");
    if (!search) keys.add(c, "--lr-list", "lr_list");
    keys.add(c, "--init-std", "init_std");
    keys.add(c, "--seed", "seed");
    keys.add(c, "--threads", "threads");
    if (!search) {
        keys.add(c, "--patience", "patience", "stop after N epochs without validation improvement (needs validation data)");
        keys.add(c, "--tol", "tol");
        // Neural CF (model gmf, mlp, neumf): the ncf group.
        keys.add(c, "--layers", "ncf_layers");
        keys.add(c, "--activation", "ncf_activation");
        keys.add(c, "--slope", "ncf_slope");
        keys.add(c, "--link", "ncf_link");
        keys.add(c, "--batch", "ncf_batch");
        keys.add(c, "--negatives", "ncf_negatives");
        keys.add(c, "--ncf-optimizer", "ncf_optimizer");
        keys.add(c, "--l2-embed", "ncf_l2_embed");
        keys.add(c, "--l2-weights", "ncf_l2_weights");
        keys.add(c, "--dropout", "ncf_dropout");
        keys.add(c, "--ncf-input", "ncf_input");
    }
    c->add_option("--set", settings, "any training option by key, KEY=VALUE ('simdmf options' lists them), repeatable");
}

TrainOptions TrainFlags::options() const {
    TrainOptions o;
    const options::Target t{&o, nullptr};
    keys.apply(t);
    if (no_biases) o.set("biases", 0.0);
    for (const auto& kv : settings) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError("--set expects KEY=VALUE, got '" + kv + "'");
        set_from_text(t, kv.substr(0, eq), kv.substr(eq + 1), "--set " + kv);
    }
    if (o.schedule == Schedule::list && o.lr_list.empty()) throw UsageError("--schedule list needs --lr-list");
    return o;
}

void print_options(const TrainOptions& o, const char* what) {
    if (o.model != ModelKind::mf) {  // neural CF: the ncf group
        std::string layers;
        for (double w : options::get_array(options::Target{const_cast<TrainOptions*>(&o), nullptr}, "ncf_layers")) layers += (layers.empty() ? "" : ",") + std::to_string(int(w));
        std::fprintf(stderr,
                     "Training %s: %s (input %s), %s loss, k=%u, layers %s (%s), %u epochs, %s lr %.4g, batch %u, l2 embed %.4g "
                     "weights %.4g, seed %llu\n",
                     what, o.get_string("model").c_str(), o.get_string("ncf_input").c_str(), o.get_string("loss").c_str(), o.k,
                     layers.c_str(),
                     o.get_string("ncf_activation").c_str(), o.effective_epochs(), o.get_string("ncf_optimizer").c_str(),
                     o.effective_lr(), o.ncf.batch, o.ncf.l2_embed, o.ncf.l2_weights,
                     static_cast<unsigned long long>(o.seed));
        return;
    }
    std::fprintf(stderr,
                 "Training %s: %s loss, %s, k=%u, %u epochs, lr %.4g (%s), l2 %.4g, l2_bias %.4g, biases %s, seed %llu\n",
                 what, o.get_string("loss").c_str(), o.get_string("solver").c_str(), o.k, o.effective_epochs(),
                 o.effective_lr(), o.get_string("schedule").c_str(), o.l2, o.l2_bias, o.biases ? "on" : "off",
                 static_cast<unsigned long long>(o.seed));
}

nlohmann::ordered_json options_json(const TrainOptions& o) {
    return {{"model", o.get_string("model")}, {"loss", o.get_string("loss")}, {"solver", o.get_string("solver")},
            {"schedule", o.get_string("schedule")}, {"k", o.k}, {"epochs", o.effective_epochs()},
            {"lr", o.effective_lr()}, {"l2", o.l2}, {"l2_bias", o.l2_bias}, {"biases", o.biases},
            {"seed", o.seed}};
}

void write_curve(const std::vector<EpochInfo>& history, const std::string& path, const CurveNames& names) {
    std::string text = "epoch,train_loss,valid_metric,learning_rate,elapsed_seconds,train_loss_name,valid_metric_name\n";
    char line[320];
    for (const auto& e : history) {
        std::snprintf(line, sizeof line, "%u,%.9g,%.9g,%.9g,%.6f,%s,%s\n", e.epoch, e.train_loss, e.valid_metric,
                      e.learning_rate, e.elapsed_seconds, names.train_name, names.valid_name);
        text += line;
    }
    atomic_write_file(path, text.data(), text.size());
}

// ------------------------------------------------------------------------------------------ ids
std::int64_t raw_id(const std::shared_ptr<const IdMap>& map, std::uint32_t index) { return raw_of(map.get(), index); }
std::string raw_user(const Model& m, std::uint32_t u) { return id_text(m.user_ids.get(), u); }
std::string raw_item(const Model& m, std::uint32_t i) { return id_text(m.item_ids.get(), i); }

bool find_index(const std::shared_ptr<const IdMap>& map, std::uint32_t n, long long raw, std::uint32_t* index) {
    return find_raw(map.get(), n, raw, index);
}

bool find_index(const std::shared_ptr<const IdMap>& map, std::uint32_t n, const std::string& raw, std::uint32_t* index) {
    if (map) return map->find(std::string_view(raw), index) && *index < n;
    std::int64_t v;
    return parse_int_id(raw, &v) && find_raw(nullptr, n, v, index);
}

nlohmann::ordered_json id_json(const std::string& raw) {
    std::int64_t v;
    if (parse_int_id(raw, &v)) return v;
    return raw;
}

std::vector<std::vector<std::string>> read_id_lines(const std::string& path, int fields, const char* what) {
    constexpr std::size_t kMaxLine = 64 << 10;
    constexpr std::uint64_t kMaxTotal = std::uint64_t{1} << 30;
    io::detail::InputFile f(path);
    std::vector<std::vector<std::string>> out;
    std::string pending;
    std::vector<char> buf(1 << 16);
    std::uint64_t total = 0, lineno = 0;
    auto line = [&](std::string_view l) {
        ++lineno;
        std::vector<std::string> fs;
        std::size_t k = 0;
        auto sep = [&](std::size_t j) {
            char c = l[j];
            return c == ' ' || c == '\t' || c == '\r' || c == ',' || (c == ':' && j + 1 < l.size() && l[j + 1] == ':');
        };
        while (k < l.size()) {
            while (k < l.size() && sep(k)) k += l[k] == ':' ? 2 : 1;
            if (k == l.size()) break;
            if (fs.empty() && l[k] == '#') return;
            std::size_t e = k;
            while (e < l.size() && !sep(e)) ++e;
            if (static_cast<int>(fs.size()) < fields) fs.emplace_back(l.substr(k, e - k));
            k = e;
        }
        if (fs.empty()) return;
        if (static_cast<int>(fs.size()) < fields)
            fail(SIMDMF_ERR_FORMAT, path + ":" + std::to_string(lineno) + ": expected " + what);
        out.push_back(std::move(fs));
    };
    for (;;) {
        const std::size_t got = f.read(buf.data(), buf.size());
        total += got;
        if (total > kMaxTotal) fail(SIMDMF_ERR_FORMAT, path + ": larger than 1 GiB (not a list of ids?)");
        std::size_t at = 0;
        for (;;) {
            const void* nl = std::memchr(buf.data() + at, '\n', got - at);
            if (!nl) break;
            const std::size_t e = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
            pending.append(buf.data() + at, e - at);
            line(pending);
            pending.clear();
            at = e + 1;
        }
        pending.append(buf.data() + at, got - at);
        if (pending.size() > kMaxLine)
            fail(SIMDMF_ERR_FORMAT, path + ":" + std::to_string(lineno + 1) + ": a line longer than 64 KiB (not a list of ids?)");
        if (got < buf.size()) break;
    }
    if (!pending.empty()) line(pending);
    return out;
}

// --------------------------------------------------------------------------------------- output
nlohmann::ordered_json number(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); }

nlohmann::ordered_json metrics_json(const evaluate::Metrics& m) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [k, v] : m) j[k] = number(v);
    return j;
}

void print_metrics(const evaluate::Metrics& m, const char* indent) {
    for (const auto& [k, v] : m) std::printf("%s%-14s %.6f\n", indent, k.c_str(), v);
}

void write_output(const std::string& path, const std::string& text) {
    if (path.empty() || path == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
    } else {
        atomic_write_file(path, text.data(), text.size());
    }
}

void check_distinct_files(const std::vector<std::pair<std::string, std::string>>& outputs,
                          const std::vector<std::pair<std::string, std::string>>& inputs) {
    namespace fs = std::filesystem;
    struct File {
        std::string flag, path, resolved;
        bool has_inode = false;
        dev_t dev = 0;
        ino_t ino = 0;
    };
    auto describe = [](const std::pair<std::string, std::string>& f) {
        File out{f.first, f.second, f.second};
        std::error_code ec;
        const fs::path r = fs::weakly_canonical(fs::absolute(f.second, ec), ec);
        if (!ec) out.resolved = r.string();
        struct stat st {};
        if (::stat(f.second.c_str(), &st) == 0) {
            out.has_inode = true;
            out.dev = st.st_dev;
            out.ino = st.st_ino;
        }
        return out;
    };
    std::vector<File> seen;
    for (const auto* list : {&outputs, &inputs})
        for (const auto& f : *list) {
            if (f.second.empty() || f.second == "-") continue;
            const File cur = describe(f);
            for (const File& o : seen)
                if (o.resolved == cur.resolved || (o.has_inode && cur.has_inode && o.dev == cur.dev && o.ino == cur.ino))
                    throw UsageError(o.flag + " and " + cur.flag + " name the same file (" + cur.path +
                                     "): give them different paths");
            if (list == &outputs) seen.push_back(cur);
        }
    // Before any work: an output whose folder is missing or not writable would fail only at the end.
    for (const auto& f : outputs) {
        if (f.second.empty() || f.second == "-") continue;
        const fs::path parent = fs::path(f.second).parent_path();
        const std::string dir = parent.empty() ? std::string(".") : parent.string();
        std::error_code ec;
        if (!fs::is_directory(dir, ec))
            throw Error(SIMDMF_ERR_IO, "cannot write " + f.second + " (" + f.first + "): folder " + dir + " does not exist");
        if (::access(dir.c_str(), W_OK | X_OK) != 0)
            throw Error(SIMDMF_ERR_IO, "cannot write " + f.second + " (" + f.first + "): folder " + dir + ": " +
                                           std::strerror(errno));
    }
}

}  // namespace simdmf::cli
