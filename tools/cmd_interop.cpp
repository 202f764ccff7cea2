// Factors in and out: import (a model from factors trained by Spark ALS, implicit, LIBMF or numpy) and
// export (a model's factors to those formats). Layouts: docs/interop.md.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <utility>

#include "cli_common.hpp"
#include "io/factors.hpp"
#include "io/from_factors.hpp"

namespace simdmf::cli {

namespace {

using json = nlohmann::ordered_json;

factors::Format parse_factor_format(const std::string& name) {
    factors::Format f;
    if (!factors::parse_format(name, &f))
        throw UsageError("unknown factor format '" + name + "' (spark-json, csv, npy, npz, libmf)");
    return f;
}

struct ImportArgs {
    std::string from, users, items, out;
};

int run_import(const ImportArgs& a, const Output& out) {
    auto f = parse_factor_format(a.from);
    check_distinct_files({{"-o", a.out}}, {{"users", a.users}, {"items", a.items}});
    const auto t0 = std::chrono::steady_clock::now();
    // Mapped: the tables are checked and written out from the file's pages, never copied in memory.
    factors::FactorSet s = factors::read(f, a.users, a.items, /*map=*/true);
    std::size_t untrained = 0;
    for (auto* t : {&s.users, &s.items})
        for (auto flag : t->untrained) untrained += flag;
    MFModel m = model_from_factors(std::move(s));
    save_model(m, a.out);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json j = {{"output", a.out}, {"format", factors::format_name(f)}, {"k", m.k}, {"users", m.n_users},
              {"items", m.n_items}, {"biases", m.biases}, {"kind", m.logistic() ? "logistic" : "mf"},
              {"untrained_rows", untrained}, {"seconds", secs}};
    if (out.json) {
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("Imported %u users x %u items, k = %u (%s%s) from %s in %.2f s; saved %s\n", m.n_users, m.n_items,
                    m.k, m.logistic() ? "logistic" : "mf", m.biases ? ", biases" : "",
                    factors::format_name(f), secs, a.out.c_str());
        if (untrained)
            std::fprintf(stderr, "simdmf: warning: %zu rows were never trained by LIBMF (F): they have zero factors "
                                 "and predict 0 here, where LIBMF predicts its b\n",
                         untrained);
    }
    return 0;
}

struct ExportArgs {
    std::string model, to, out;
};

int run_export(const ExportArgs& a, const Output& out) {
    auto f = parse_factor_format(a.to);
    check_distinct_files({{"-o", a.out}}, {{"model", a.model}});
    MFModel m = load_model(a.model);
    factors::write(factors_of(m), f, a.out);
    if (out.json)
        std::cout << json{{"output", a.out}, {"format", factors::format_name(f)}, {"k", m.k}, {"users", m.n_users},
                          {"items", m.n_items}}
                         .dump(2)
                  << "\n";
    else
        std::printf("Exported %u users x %u items, k = %u to %s (%s)\n", m.n_users, m.n_items, m.k, a.out.c_str(),
                    factors::format_name(f));
    return 0;
}

struct ConvertModelArgs {
    std::string in, out, quantize;
    bool keep_fp32 = false;
    int rerank = -1;  // -1: the input's factor
};

// A model file with its factor tables quantized (fp16, int8) or back to fp32 only.
int run_convert_model(const ConvertModelArgs& a, const Output& out) {
    TableType t;
    if (!parse_table_type(a.quantize.c_str(), &t))
        throw UsageError("unknown table type '" + a.quantize + "' (fp16, int8, fp32)");
    if (a.rerank >= 0 && (t == TableType::fp32 || !a.keep_fp32))
        throw UsageError("--rerank needs quantized tables with --keep-fp32 (it re-scores candidates in fp32)");
    check_distinct_files({{"OUT", a.out}}, {{"IN", a.in}});
    MFModel m = load_model(a.in);
    m.quantize(t, a.keep_fp32 || t == TableType::fp32);
    if (a.rerank >= 0) m.quant.rerank = static_cast<std::uint32_t>(a.rerank);
    if (t == TableType::fp32) m.quant.rerank = 0;
    save_model(m, a.out);
    if (out.json)
        std::cout << json{{"output", a.out}, {"table", table_type_name(t)}, {"fp32", m.has_fp32}, {"k", m.k},
                          {"users", m.n_users}, {"items", m.n_items}, {"rerank", m.quant.rerank}}
                         .dump(2)
                  << "\n";
    else
        std::printf("Wrote %s: %u users x %u items, k = %u, %s tables%s\n", a.out.c_str(), m.n_users, m.n_items, m.k,
                    table_type_name(t), m.has_fp32 && t != TableType::fp32 ? " (and fp32)" : "");
    return 0;
}

}  // namespace

void add_interop_commands(CLI::App& app, const Output& out, Registry& reg) {
    {
        auto a = std::make_shared<ImportArgs>();
        auto* c = app.add_subcommand("import", "a model from factors trained elsewhere (Spark ALS, implicit, LIBMF, numpy)");
        c->add_option("--from", a->from, "spark-json | csv | npy | npz | libmf")->required();
        c->add_option("users", a->users,
                      "user factors: a file or a folder of part files (spark-json, csv), a .npy; the one .npz or "
                      "LIBMF model file; or a folder written by 'simdmf export'")
            ->required();
        c->add_option("items", a->items, "item factors (spark-json, csv, npy), unless the first path holds both");
        c->add_option("-o,--output", a->out, "model file to write")->required();
        c->footer("Spark ALS predicts u . v: the imported model predicts the same (no biases, no clamping).\n"
                  "Example: simdmf import --from spark-json userFactors/ itemFactors/ -o als.smf");
        reg.push_back({c, [a, &out] { return run_import(*a, out); }});
    }
    {
        auto a = std::make_shared<ExportArgs>();
        auto* c = app.add_subcommand("export", "a model's factors to numpy, CSV, JSON lines or LIBMF text");
        c->add_option("model", a->model, "model file")->required();
        c->add_option("--to", a->to, "json | csv | npy (folders) | npz | libmf (files)")->required();
        c->add_option("-o,--output", a->out, "folder (json, csv, npy) or file (npz, libmf) to write")->required();
        reg.push_back({c, [a, &out] { return run_export(*a, out); }});
    }
    {
        auto a = std::make_shared<ConvertModelArgs>();
        auto* c = app.add_subcommand("convert-model", "a model file with quantized (fp16 or int8) factor tables");
        c->add_option("IN", a->in, "model file (MF with fp32 tables)")->required();
        c->add_option("OUT", a->out, "model file to write")->required();
        c->add_option("--quantize", a->quantize, "fp16 | int8 (per-row scale) | fp32 (drop quantized tables)")->required();
        c->add_flag("--keep-fp32", a->keep_fp32, "keep the fp32 tables too (exact re-ranking, similarity, fold-in)");
        c->add_option("--rerank", a->rerank,
                      "with --keep-fp32: the re-ranking factor saved in OUT (top-N takes N * n candidates from the "
                      "quantized scan, re-scored in fp32; 0 or 1: off)")
            ->check(CLI::Range(0, int(kMaxRerank)));
        reg.push_back({c, [a, &out] { return run_convert_model(*a, out); }});
    }
}

}  // namespace simdmf::cli
