// The options command: the option registry (lib/options.hpp) as a table, as JSON, or as the option
// block of include/simdmf/simdmf.h (--c-header; scripts/update_option_docs.py splices it in).
#include <cstdio>
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "options.hpp"

namespace simdmf::cli {

namespace {

struct OptionsArgs {
    std::string group;
    bool c_header = false;
};

int run_options(const OptionsArgs& a, const Output& out) {
    if (a.c_header) {
        std::fputs(options::render_header_block().c_str(), stdout);
        return kExitOk;
    }
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& o : options::all()) {
        if (!a.group.empty() && o.group != a.group) continue;
        if (out.json) {
            nlohmann::ordered_json e = {{"name", o.name}, {"type", options::type_name(o.type)}, {"group", o.group}};
            if (o.type == options::Type::array) e["element"] = options::type_name(o.element);
            if (o.type == options::Type::string) e["allowed"] = o.allowed;
            else
                e["bounds"] = {{"lower", number(o.lo.value)}, {"lower_open", o.lo.open},
                               {"upper", number(o.hi.value)}, {"upper_open", o.hi.open}};
            e["default"] = options::default_text(o);
            e["doc"] = o.doc;
            j.push_back(e);
        } else {
            std::printf("%-20s %-7s %-6s %-22s default %s\n    %s\n", o.name.c_str(),
                        o.type == options::Type::array ? (std::string(options::type_name(o.element)) + "[]").c_str()
                                                       : options::type_name(o.type),
                        o.group.c_str(), options::bounds_text(o).c_str(), options::default_text(o).c_str(),
                        o.doc.c_str());
        }
    }
    if (out.json) std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
}

}  // namespace

void add_option_commands(CLI::App& app, const Output& out, Registry& reg) {
    auto a = std::make_shared<OptionsArgs>();
    CLI::App* c = app.add_subcommand(
        "options", "list every option key (for --set and the library): type, group, bounds, default, doc");
    c->add_option("--group", a->group, "only this group (train, sgd, tune, ...)");
    c->add_flag("--c-header", a->c_header, "print the option block of simdmf.h generated from the registry");
    reg.push_back({c, [a, &out] { return run_options(*a, out); }});
}

}  // namespace simdmf::cli
