// Commands that use a saved model: predict, eval, recommend, similar, info.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_common.hpp"
#include "eval/evaluate.hpp"
#include "kernels/kernels.hpp"
#include "io/model_file.hpp"
#include "models/ncf.hpp"
#include "serve/serve.hpp"

namespace simdmf::cli {

using json = nlohmann::ordered_json;

namespace {

// Lines of "user item" (or more fields) raw ids (integers or strings); see read_id_lines.
struct Pair {
    std::string user, item;
};
std::vector<Pair> read_pairs(const std::string& path) {
    std::vector<Pair> out;
    for (auto& f : read_id_lines(path, 2, "'user item' (raw ids)")) out.push_back({std::move(f[0]), std::move(f[1])});
    return out;
}

std::string number_text(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}

// ---------------------------------------------------------------------------------------- predict
struct PredictArgs {
    std::string model, pairs, output;
    bool leave_out_cold = false;
};

int run_predict(const PredictArgs& a, const Output& out) {
    const std::unique_ptr<Model> held = open_any_model(a.model, OpenOptions{});  // any kind
    const Model& m = *held;
    const std::vector<Pair> pairs = read_pairs(a.pairs);
    std::ostringstream res;
    json arr = json::array();
    std::size_t cold = 0;
    for (const Pair& p : pairs) {
        // An id the model does not know is a new user (index n_users) or item: the model's fallback.
        std::uint32_t u = m.n_users, i = m.n_items;
        const bool known_u = find_index(m.user_ids, m.n_users, p.user, &u);
        const bool known_i = find_index(m.item_ids, m.n_items, p.item, &i);
        if (!known_u || !known_i) {
            ++cold;
            if (a.leave_out_cold) continue;
        }
        const double value = m.predict_with_fallback(u, i);
        if (out.json) {
            arr.push_back({{"user", id_json(p.user)}, {"item", id_json(p.item)}, {"prediction", number(value)},
                           {"cold", !known_u || !known_i}});
        } else {
            char b[32];
            std::snprintf(b, sizeof b, "%.6g", value);
            res << p.user << ' ' << p.item << ' ' << b << '\n';
        }
    }
    if (out.json) {
        json j = {{"predictions", arr}, {"unknown", cold}, {"left_out", a.leave_out_cold ? cold : 0}};
        write_output(a.output, j.dump(2) + "\n");
    } else {
        write_output(a.output, res.str());
    }
    if (cold && !out.quiet)
        std::fprintf(stderr, "%zu pairs name a user or item the model does not know: %s\n", cold,
                     a.leave_out_cold ? "left out" : "predicted with the model's fallback (mu + known biases)");
    return 0;
}

// ------------------------------------------------------------------------------------------ eval
struct EvalArgs {
    std::string model, data, train;
    std::size_t at = 10;
    float threshold = 4.0f;
    unsigned threads = 1;
    bool leave_out_cold = false, no_baseline = false;
    std::size_t negatives = 0;
    std::uint64_t sample_seed = 1;
    DataFlags df;
};

std::string format_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", v);
    return buf;
}

// "The model beats popularity on M: a vs b (+d, r x)" for the headline metric (sampled HR when measured,
// else NDCG@K), or says it does not.
std::string baseline_sentence(const evaluate::EvalResult& res, std::size_t at) {
    const std::string key = (res.has_sampled ? "sampled_hr@" : "ndcg@") + std::to_string(at);
    const double a = evaluate::find(res.metrics, key), b = evaluate::find(res.baseline, key);
    if (std::isnan(a) || std::isnan(b)) return "";
    char buf[256];
    if (a > b)
        std::snprintf(buf, sizeof buf, "The model beats popularity on %s: %.4f vs %.4f (+%.4f, %.2fx).", key.c_str(), a,
                      b, a - b, b > 0 ? a / b : INFINITY);
    else
        std::snprintf(buf, sizeof buf, "The model does NOT beat popularity on %s: %.4f vs %.4f (%.4f%s).", key.c_str(),
                      a, b, a - b, a == b ? ", a tie" : "");
    return buf;
}

int run_eval(const EvalArgs& a, const Output& out) {
    if (a.negatives > 0 && a.train.empty()) throw UsageError("--negatives needs --train FILE (the negatives are items in neither file)");
    const std::unique_ptr<Model> held = open_any_model(a.model, OpenOptions{});  // any kind
    const Model& m = *held;
    const io::LoadOptions lo = a.df.options();
    // The test file in the model's id space, ids the model does not know kept after its own (cold).
    Ratings test = align_to(load_ratings(a.data, lo, out, "Test data"), space_of(m), true, nullptr);
    Ratings train_set;
    if (!a.train.empty())
        train_set = load_aligned(a.train, lo, out, "Training data (excluded from top-N)", m.user_ids, m.item_ids,
                                 m.n_users, m.n_items, nullptr);
    evaluate::EvalOptions eo;
    eo.rank_k = a.at;
    eo.threshold = a.threshold;
    eo.threads = a.threads;
    eo.cold = a.leave_out_cold ? evaluate::Cold::leave_out : evaluate::Cold::fallback;
    eo.negatives = a.train.empty() ? 0 : a.negatives;
    eo.sample_seed = a.sample_seed;
    eo.popularity = !a.train.empty() && a.at > 0 && !a.no_baseline;
    const evaluate::EvalResult res = evaluate::evaluate_model(m, test, a.train.empty() ? nullptr : &train_set, eo);
    if (out.json) {
        json j = metrics_json(res.metrics);
        j["ratings"] = res.ratings;
        j["cold_ratings"] = res.cold;
        j["left_out"] = res.left_out;
        if (a.at > 0) {
            j["ranking_users"] = res.ranking_users;
            j["training_items_excluded"] = !a.train.empty();
            // What made a test rating relevant: label +1 for a logistic model, else the threshold.
            if (m.loss() == Loss::logistic) j["relevance"] = "label +1";
            else j["relevance"] = "rating >= " + number_text(a.threshold);
            j["threshold"] = m.loss() == Loss::logistic ? json(nullptr) : json(a.threshold);
        }
        if (res.has_sampled) {
            j["sampled_cases"] = res.sampled_cases;
            j["negatives"] = a.negatives;
        }
        if (!res.baseline.empty()) {
            j["popularity"] = metrics_json(res.baseline);
            j["versus_popularity"] = baseline_sentence(res, a.at);
        }
        j["notes"] = res.notes;
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("%zu test ratings scored (%zu with a user or item the model does not know: %s)\n", res.ratings,
                    res.cold, a.leave_out_cold ? "left out" : "scored with the model's fallback");
        const bool pop = !res.baseline.empty();
        if (pop) std::printf("%-18s %-12s %s\n", "metric", "model", "popularity (from the training data)");
        for (const auto& [k, v] : res.metrics) {
            std::string mv = std::isnan(v) ? "undefined" : format_number(v);
            const double b = evaluate::find(res.baseline, k);
            if (pop) std::printf("%-18s %-12s %s\n", k.c_str(), mv.c_str(), std::isnan(b) ? "-" : format_number(b).c_str());
            else std::printf("%-14s %s\n", k.c_str(), mv.c_str());
        }
        if (a.at > 0)
            std::printf("(ranking @%zu over %zu users with a %s; %s)\n", a.at, res.ranking_users,
                        m.loss() == Loss::logistic ? "test label +1" : ("rating >= " + number_text(a.threshold)).c_str(),
                        a.train.empty() ? "training items NOT excluded: give --train FILE" : "training items excluded");
        if (res.has_sampled)
            std::printf("(sampled: each of %zu relevant test events ranked against %zu items the user has in neither "
                        "file, seed %llu)\n", res.sampled_cases, a.negatives, static_cast<unsigned long long>(a.sample_seed));
        if (pop) {
            const std::string sentence = baseline_sentence(res, a.at);
            if (!sentence.empty()) std::printf("%s\n", sentence.c_str());
        }
        for (const auto& n : res.notes) std::printf("note: %s\n", n.c_str());
    }
    return 0;
}

// ------------------------------------------------------------------------------------- recommend
struct RecommendArgs {
    std::string model, train, users_file, output;
    std::vector<std::string> users;
    std::size_t n = 10;
    bool all = false;
    int rerank = -1;  // -1: the model file's factor
    DataFlags df;
};

int run_recommend(const RecommendArgs& a, const Output& out) {
    const int chosen = !a.users.empty() + !a.users_file.empty() + a.all;
    if (chosen != 1) throw UsageError("give exactly one of --user, --users-file or --all");
    if (a.n < 1) throw UsageError("-n must be at least 1");
    const std::unique_ptr<Model> held = open_any_model(a.model, OpenOptions{});  // any kind
    if (a.rerank >= 0) {  // exact re-ranking (lib/serve): only a quantized MF model that kept fp32 has it
        auto* mf = dynamic_cast<MFModel*>(held.get());
        if (!mf || !mf->quant.on() || !mf->has_fp32)
            throw UsageError("--rerank needs a quantized model that kept its fp32 tables (convert-model --keep-fp32)");
        mf->quant.rerank = static_cast<std::uint32_t>(a.rerank);
    }
    const Model& m = *held;
    SeenItems seen;
    if (!a.train.empty()) {
        Ratings t = load_aligned(a.train, a.df.options(), out, "Seen items", m.user_ids, m.item_ids, m.n_users,
                                 m.n_items, nullptr);
        seen = SeenItems(t);
    }
    std::vector<std::string> raws = a.users;
    if (!a.users_file.empty())
        for (auto& f : read_id_lines(a.users_file, 1, "a user id")) raws.push_back(std::move(f[0]));
    if (a.all)
        for (std::uint32_t u = 0; u < m.n_users; ++u) raws.push_back(raw_user(m, u));
    std::ostringstream text;
    json arr = json::array();
    std::size_t unknown = 0;
    for (const std::string& raw : raws) {
        std::uint32_t u;
        if (!find_index(m.user_ids, m.n_users, raw, &u)) {
            ++unknown;
            if (!out.quiet) std::fprintf(stderr, "user %s is not in the model: skipped\n", escape_bytes(raw, false).c_str());
            continue;
        }
        auto top = simdmf::serve::recommend(m, u, a.n, seen.of(u));
        if (out.json) {
            json items = json::array();
            for (auto& [i, s] : top) items.push_back({{"item", id_json(raw_item(m, i))}, {"score", number(s)}});
            arr.push_back({{"user", id_json(raw)}, {"items", items}});
        } else {
            std::size_t rank = 0;
            for (auto& [i, s] : top) {
                char b[32];
                std::snprintf(b, sizeof b, "%.6g", s);
                text << raw << ' ' << ++rank << ' ' << raw_item(m, i) << ' ' << b << '\n';
            }
        }
    }
    if (out.json)
        write_output(a.output, json{{"n", a.n}, {"seen_excluded", !a.train.empty()}, {"recommendations", arr},
                                    {"unknown_users", unknown}}
                                   .dump(2) +
                                   "\n");
    else
        write_output(a.output, text.str());
    if (!a.all && !raws.empty() && unknown == raws.size())
        throw Error(SIMDMF_ERR_NOT_FOUND, "none of the given users is in the model");
    return 0;
}

// --------------------------------------------------------------------------------------- similar
struct SimilarArgs {
    std::string model;
    std::vector<std::string> items, users;
    std::size_t n = 10;
};

int run_similar(const SimilarArgs& a, const Output& out) {
    if (a.items.empty() == a.users.empty()) throw UsageError("give --item ID(s) or --user ID(s), not both");
    if (a.n < 1) throw UsageError("-n must be at least 1");
    const std::unique_ptr<Model> held = open_any_model(a.model, OpenOptions{});  // any kind
    const Model& m = *held;
    const bool items = !a.items.empty();
    const int side = items ? SIMDMF_ITEMS : SIMDMF_USERS;
    const auto& map = items ? m.item_ids : m.user_ids;
    const std::uint32_t count = items ? m.n_items : m.n_users;
    json arr = json::array();
    for (const std::string& raw : items ? a.items : a.users) {
        std::uint32_t idx;
        if (!find_index(map, count, raw, &idx))
            throw Error(SIMDMF_ERR_NOT_FOUND, std::string(items ? "item " : "user ") + escape_bytes(raw) + " is not in the model");
        auto near = simdmf::serve::nearest(m, side, idx, a.n);
        if (out.json) {
            json list = json::array();
            for (auto& [j, s] : near) list.push_back({{"id", id_json(id_text(map.get(), j))}, {"cosine", number(s)}});
            arr.push_back({{items ? "item" : "user", id_json(raw)}, {"nearest", list}});
        } else {
            std::size_t rank = 0;
            for (auto& [j, s] : near) std::printf("%s %zu %s %.6f\n", raw.c_str(), ++rank, id_text(map.get(), j).c_str(), s);
        }
    }
    if (out.json) std::cout << json{{"side", items ? "items" : "users"}, {"n", a.n}, {"results", arr}}.dump(2) << "\n";
    return 0;
}

// ------------------------------------------------------------------------------------------ info
struct InfoArgs {
    std::string path;
    DataFlags df;
};

// The model file's format version (the u32 after the magic), or 0 when the file is not a model file.
std::uint32_t model_file_version(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(SIMDMF_ERR_IO, "cannot open " + path + ": " + std::strerror(errno));
    unsigned char head[12] = {};
    in.read(reinterpret_cast<char*>(head), 12);
    if (in.gcount() != 12 || std::memcmp(head, model_file::kMagic, 8) != 0) return 0;
    return std::uint32_t(head[8]) | std::uint32_t(head[9]) << 8 | std::uint32_t(head[10]) << 16 |
           std::uint32_t(head[11]) << 24;
}

int run_info(const InfoArgs& a, const Output& out) {
    json j;
    if (const std::uint32_t version = model_file_version(a.path)) {
        const std::unique_ptr<Model> held = open_any_model(a.path, OpenOptions{});
        const Model& m = *held;
        j = {{"file", a.path}, {"type", "model"}, {"users", m.n_users}, {"items", m.n_items},
             {"user_id_map", bool(m.user_ids)}, {"item_id_map", bool(m.item_ids)}, {"format_version", version}};
        if (!m.train_options.empty()) {  // how it was trained (v2 files of simdmf >= 0.2 record it)
            json t = json::object();
            for (const auto& [key, value] : m.train_options) t[key] = value;
            j["train_options"] = t;
        }
        if (const auto* mf = dynamic_cast<const MFModel*>(&m)) {
            j["kind"] = m.logistic() ? "logistic" : "mf";
            j["k"] = mf->k;
            j["biases"] = mf->biases;
            j["global_offset"] = mf->mu;
            j["table"] = table_type_name(mf->quant.type);
            if (mf->quant.on()) j["fp32_tables"] = mf->has_fp32;
            if (mf->quant.on()) j["rerank"] = mf->quant.rerank;
        } else if (const auto* nc = dynamic_cast<const NCFModel*>(&m)) {
            j["kind"] = m.kind_name();
            j["loss"] = loss_name(m.loss());
            j["link"] = link_name(m.objective.link);
            if (nc->has_gmf()) j["k"] = nc->shape.k;
            if (nc->has_mlp()) {
                j["layers"] = nc->shape.layers;
                j["activation"] = nc->shape.act == kernels::Act::identity ? "identity"
                                  : nc->shape.act == kernels::Act::relu   ? "relu"
                                                                          : "leaky_relu";
            }
            j["parameters"] = nc->parameter_count();
            j["input"] = nc->shape.rows ? "rows" : "embedding";
            if (nc->shape.rows) j["input_ratings"] = nc->input->nnz();  // the training matrix it serves with
        }
        if (!m.logistic())  // null: no clamping on that side
            j["prediction_range"] = {number(std::isfinite(m.min_pred) ? m.min_pred : NAN),
                                     number(std::isfinite(m.max_pred) ? m.max_pred : NAN)};
    } else {
        io::LoadReport rep;
        Ratings r = load_ratings(a.path, a.df.options(), out, "Data", &rep);
        double lo = INFINITY, hi = -INFINITY;
        for (float v : r.value) {
            lo = std::min<double>(lo, v);
            hi = std::max<double>(hi, v);
        }
        const double cells = static_cast<double>(r.n_users) * r.n_items;
        j = {{"file", a.path}, {"type", "ratings"}, {"format", io::format_name(rep.format)},
             {"read_as", rep.described},
             {"ratings", r.size()}, {"users", r.n_users}, {"items", r.n_items},
             {"density", number(cells > 0 ? r.size() / cells : NAN)}, {"mean", number(r.mean_value())},
             {"min", number(lo)}, {"max", number(hi)}, {"user_id_map", bool(r.user_ids)},
             {"item_id_map", bool(r.item_ids)}};
    }
    j["simd"] = kernels::active().name;
    j["library_version"] = SIMDMF_VERSION_STRING;
    if (out.json) {
        std::cout << j.dump(2) << "\n";
    } else {
        for (auto& [k, v] : j.items()) std::cout << k << " " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
    return 0;
}

}  // namespace

void add_serve_commands(CLI::App& app, const Output& out, Registry& reg) {
    {
        auto a = std::make_shared<PredictArgs>();
        auto* c = app.add_subcommand("predict", "predict (user, item) pairs given as raw ids, one pair per line");
        c->footer("Output: 'user item prediction' per line. A user or item the model does not know gets the model's\n"
                  "fallback (mu + b_i for a new user, mu + b_u for a new item, mu for both) unless --leave-out-cold.\n"
                  "Example: simdmf predict model.smf pairs.txt -o predictions.txt");
        c->add_option("model", a->model, "model file")->required();
        c->add_option("pairs", a->pairs, "file of 'user item' lines (raw ids; extra fields ignored)")->required();
        c->add_option("-o,--output", a->output, "write the predictions here (default stdout)");
        c->add_flag("--leave-out-cold", a->leave_out_cold, "leave out pairs whose user or item the model does not know");
        reg.push_back({c, [a, &out] { return run_predict(*a, out); }});
    }
    {
        auto a = std::make_shared<EvalArgs>();
        auto* c = app.add_subcommand("eval", "metrics of a model on a ratings file: RMSE/MAE (or log-loss/AUC/accuracy) and top-N ranking metrics");
        c->footer("Ranking metrics @N (precision, recall, NDCG, MAP) rank every item for each test user with a relevant\n"
                  "rating (>= --threshold; label +1 for logistic models); give --train FILE so that the items a user\n"
                  "rated in training are not recommended again (the usual protocol). With --train, the popularity\n"
                  "baseline (items ranked by their number of training events) is measured the same way and printed\n"
                  "beside the model's figures, with a sentence saying whether the model beats it. A metric that is\n"
                  "undefined (e.g. AUC on a test set of one class) says why instead of printing nan.\n"
                  "Leave-one-out protocol: simdmf split u.data --kind leave-one-out --prefix loo; then\n"
                  "simdmf eval m.smf loo.test --train loo.train --threshold 0 --negatives 99\n"
                  "Example: simdmf eval u1.smf u1.test --train u1.base --at 10");
        c->add_option("model", a->model, "model file")->required();
        c->add_option("data", a->data, "test ratings file")->required();
        c->add_option("--train", a->train, "training ratings file: its items are excluded from each user's top-N");
        c->add_option("--at", a->at, "list length N of the ranking metrics (default 10; 0 = off)");
        c->add_option("--threshold", a->threshold, "a test rating >= this is relevant (default 4; logistic models: label +1 is relevant, the threshold is not used)");
        c->add_option("--threads", a->threads, "threads for the ranking metrics (default 1; 0 = all cores)");
        c->add_option("--negatives", a->negatives,
                      "also rank each relevant test event against N sampled items the user has in neither file "
                      "(sampled_hr@N, sampled_ndcg@N; the NCF paper's protocol uses 99; needs --train; default 0 = off)");
        c->add_option("--sample-seed", a->sample_seed, "seed of the sampled negatives (default 1)");
        c->add_flag("--no-baseline", a->no_baseline, "do not measure the popularity baseline (measured with --train)");
        c->add_flag("--leave-out-cold", a->leave_out_cold,
                    "leave out test ratings whose user or item the model does not know (default: score them with "
                    "the model's fallback, mu + known biases)");
        a->df.add(c);
        reg.push_back({c, [a, &out] { return run_eval(*a, out); }});
    }
    {
        auto a = std::make_shared<RecommendArgs>();
        auto* c = app.add_subcommand("recommend", "top-N items for users, best first, excluding items seen in --train");
        c->footer("Output: 'user rank item score' per line.\n"
                  "Example: simdmf recommend model.smf --user 1 --user 7 -n 5 --train u.data");
        c->add_option("model", a->model, "model file")->required();
        c->add_option("-u,--user", a->users, "raw user id (repeatable)");
        c->add_option("--users-file", a->users_file, "file with one raw user id per line");
        c->add_flag("--all", a->all, "every user of the model");
        c->add_option("-n", a->n, "items per user (default 10)");
        c->add_option("--train", a->train, "ratings file of seen items to exclude (e.g. the training data)");
        c->add_option("--rerank", a->rerank,
                      "quantized model with fp32 tables: take N * n candidates from the quantized scan and "
                      "re-score them in fp32 (0 or 1: off; default: the factor saved in the model file)")
            ->check(CLI::Range(0, int(kMaxRerank)));
        c->add_option("-o,--output", a->output, "write here (default stdout)");
        a->df.add(c);
        reg.push_back({c, [a, &out] { return run_recommend(*a, out); }});
    }
    {
        auto a = std::make_shared<SimilarArgs>();
        auto* c = app.add_subcommand("similar", "nearest items (or users) by cosine similarity of their factors");
        c->footer("Output: 'id rank neighbour cosine' per line. Cosines come from the fp32 tables (a quantized\n"
                  "model needs them: convert-model --keep-fp32), so there is nothing to re-rank (no --rerank).\n"
                  "Example: simdmf similar model.smf --item 50 -n 5");
        c->add_option("model", a->model, "model file")->required();
        c->add_option("-i,--item", a->items, "raw item id (repeatable)");
        c->add_option("-u,--user", a->users, "raw user id (repeatable)");
        c->add_option("-n", a->n, "neighbours per id (default 10)");
        reg.push_back({c, [a, &out] { return run_similar(*a, out); }});
    }
    {
        auto a = std::make_shared<InfoArgs>();
        auto* c = app.add_subcommand("info", "a model's header, or a ratings file's counts; and the SIMD level in use");
        c->add_option("file", a->path, "model file or ratings file")->required();
        a->df.add(c);
        reg.push_back({c, [a, &out] { return run_info(*a, out); }});
    }
}

}  // namespace simdmf::cli
