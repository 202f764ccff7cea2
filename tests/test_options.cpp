// The option registry (lib/options.hpp): its rows agree with the fields they bind, conditional
// defaults, bounds with open and closed ends, the search keys through a trainer's settings, and the
// option block of include/simdmf/simdmf.h generated from it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "common.hpp"
#include "options.hpp"
#include "test_util.hpp"

using namespace simdmf;
using simdmf_test::status_of;

namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("registry: every row is well formed and names are unique") {
    std::set<std::string> names;
    REQUIRE(options::all().size() > 20);
    for (const auto& o : options::all()) {
        CAPTURE(o.name);
        CHECK(names.insert(o.name).second);
        CHECK(!o.group.empty());
        CHECK(!o.doc.empty());
        REQUIRE(!o.defaults.empty());
        CHECK(o.defaults.back().when.empty());
        CHECK(options::find(o.name) == &o);
        switch (o.type) {
            case options::Type::integer:
            case options::Type::real:
                CHECK(static_cast<bool>(o.bind.get_number));
                CHECK(static_cast<bool>(o.bind.set_number));
                for (const auto& c : o.defaults) {  // every default is itself a valid value
                    CHECK_NOTHROW(options::check_number(o, c.number, o.name));
                }
                break;
            case options::Type::string:
                CHECK(static_cast<bool>(o.bind.get_choice));
                CHECK(static_cast<bool>(o.bind.set_choice));
                CHECK(o.allowed.size() >= 1);  // "model" has one member ("mf") until the next kind lands
                for (const auto& c : o.defaults) CHECK(std::count(o.allowed.begin(), o.allowed.end(), c.text) == 1);
                break;
            case options::Type::array:
                CHECK(static_cast<bool>(o.bind.get_array));
                CHECK(static_cast<bool>(o.bind.set_array));
                for (const auto& c : o.defaults)
                    for (double v : c.array) CHECK_NOTHROW(options::check_number(o, v, o.name));
                break;
        }
        // Conditions name string options and one of their allowed values.
        for (const auto& c : o.defaults) {
            std::stringstream ss(c.when);
            std::string cond;
            while (std::getline(ss, cond, ',')) {
                const auto eq = cond.find('=');
                REQUIRE(eq != std::string::npos);
                const options::Option* on = options::find(cond.substr(0, eq));
                REQUIRE(on);
                CHECK(on->type == options::Type::string);
                CHECK(std::count(on->allowed.begin(), on->allowed.end(), cond.substr(eq + 1)) == 1);
            }
        }
    }
    CHECK(options::find("no_such_key") == nullptr);
}

TEST_CASE("registry: default-constructed options and settings hold the registry's defaults") {
    TrainOptions o;
    tune::Settings ts;
    options::Target t{&o, &ts};
    for (const auto& row : options::all()) {
        CAPTURE(row.name);
        const auto& def = options::default_case(row, t);
        switch (row.type) {
            case options::Type::integer:
            case options::Type::real: {
                // A stored value equals the static default; an unset one (NaN) has a conditional default.
                const double stored = row.bind.get_number(t);
                if (std::isnan(stored)) CHECK(row.defaults.size() > 1);
                else CHECK(stored == def.number);
                CHECK(options::get_number(t, row.name) == def.number);
                break;
            }
            case options::Type::string: CHECK(options::get_string(t, row.name) == def.text); break;
            case options::Type::array:
                CHECK(row.bind.get_array(t).empty());
                CHECK(options::get_array(t, row.name) == def.array);
                break;
        }
    }
}

TEST_CASE("registry: defaults that depend on other options") {
    TrainOptions o;
    tune::Settings ts;
    options::Target t{&o, &ts};
    CHECK(options::get_number(t, "lr") == 0.01);
    CHECK(options::get_number(t, "epochs") == 30);
    o.set("loss", std::string("logistic"));
    CHECK(options::get_number(t, "lr") == 0.05);
    CHECK(o.effective_lr() == 0.05);
    CHECK(options::get_array(t, "tune_lr") == std::vector<double>{0.02, 0.05, 0.1});
    CHECK(tune::Space::defaults(o).l2 == std::vector<double>{0.01, 0.02, 0.05});
    o.set("solver", std::string("gd"));
    CHECK(o.get("lr") == 0.5);
    CHECK(o.get("epochs") == 500);
    o.set("lr", 0.2);
    CHECK(o.get("lr") == 0.2);  // a value set wins over every default
    // The static default is the one for default options.
    CHECK(options::static_default(*options::find("lr")).number == 0.01);
    CHECK(options::default_text(*options::find("lr")) ==
          "0.001 if model = gmf; 0.001 if model = mlp; 0.001 if model = neumf; 0.5 if solver = gd; 0.05 if solver = bpr; "
          "0.05 if solver = lmf-neg; 0.05 if loss = logistic; else 0.01");
    o.set("model", std::string("neumf"));  // the neural models' Adam rate
    o.lr = 0;
    CHECK(o.effective_lr() == 0.001);
    CHECK(o.get_string("model") == "neumf");
    CHECK(o.model == ModelKind::neumf);
}

TEST_CASE("registry: bounds with open and closed ends, integers, NaN, messages naming the bound") {
    TrainOptions o;
    CHECK(status_of([&] { o.set("lr", 0.0); }) == SIMDMF_ERR_OUT_OF_RANGE);     // (0, ...
    CHECK_NOTHROW(o.set("lr", 10.0));                                          // ..., 10]
    CHECK(status_of([&] { o.set("lr", 10.5); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_NOTHROW(o.set("l2", 0.0));                                           // [0, ...
    CHECK(status_of([&] { o.set("k", 1.5); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { o.set("l2", std::nan("")); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(error_of([&] { o.set("lr", 0.0); }) == "option 'lr' = 0 is outside (0, 10]: it must be > 0");
    CHECK(error_of([&] { o.set("k", 0); }) == "option 'k' = 0 is outside [1, 65536]: it must be >= 1");
    CHECK(error_of([&] { o.set("l2", -5); }) == "option 'l2' = -5 is outside [0, 1e6]: it must be >= 0");
    CHECK(error_of([&] { o.set("lr", std::nan("")); }) == "option 'lr' = nan is outside (0, 10]");
    CHECK(o.get("lr") == 10.0);  // unchanged by the failures
    CHECK(options::bounds_text(*options::find("tune_valid_fraction")) == "(0, 1)");
    CHECK(options::bounds_text(*options::find("min_rating")) == "any");
    tune::Settings ts;
    options::Target t{&o, &ts};
    CHECK(status_of([&] { options::set_number(t, "tune_valid_fraction", 1.0); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK_NOTHROW(options::set_number(t, "tune_valid_fraction", 0.5));
    CHECK(ts.options.valid_fraction == 0.5);
}

TEST_CASE("registry: types, unknown keys and search keys") {
    TrainOptions o;
    CHECK(error_of([&] { o.set("foo", 1); }) == "unknown option 'foo'");
    CHECK(error_of([&] { o.set("loss", 1); }) ==
          "option 'loss' is a string option (squared, logistic or implicit), not a number");
    CHECK(status_of([&] { o.set("k", std::string("x")); }) == SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK(status_of([&] { o.set("tune_k", std::vector<double>{8}); }) == SIMDMF_ERR_UNKNOWN_OPTION);
    CHECK(status_of([&] { o.set("lr_list", std::vector<double>{}); }) == SIMDMF_ERR_OUT_OF_RANGE);
    tune::Settings ts;
    options::Target t{&o, &ts};
    options::set_array(t, "tune_k", {8, 16});
    CHECK(ts.space.k == std::vector<std::uint32_t>{8, 16});
    CHECK(status_of([&] { options::set_array(t, "tune_k", {8, 0}); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { options::set_array(t, "tune_epochs", {2.5}); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(ts.space.k == std::vector<std::uint32_t>{8, 16});
    options::set_array(t, "tune_k", {});  // 0 values: back to the default
    CHECK(options::get_array(t, "tune_k") == std::vector<double>{64, 128, 256, 512});
    options::set_string(t, "tune_method", "random");
    CHECK(ts.options.method == tune::Method::random);
    CHECK(status_of([&] { options::set_string(t, "tune_method", "best"); }) == SIMDMF_ERR_OUT_OF_RANGE);
    options::set_number(t, "tune_budget", 7);
    CHECK(ts.options.budget == 7);
    CHECK(options::get_number(t, "tune_budget") == 7);
}

TEST_CASE("registry: simdmf.h documents exactly the registry's keys, bounds and defaults") {
    // The block between BEGIN OPTIONS and END OPTIONS is generated from the registry
    // (scripts/update_option_docs.py); a key, bound or default in one and not the other fails here.
    const std::string path = std::string(SIMDMF_SOURCE_ROOT) + "/include/simdmf/simdmf.h";
    std::ifstream f(path);
    REQUIRE_MESSAGE(f.good(), "cannot read " << path);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    const std::string begin = " * BEGIN OPTIONS\n", end = " * END OPTIONS\n";
    const auto a = text.find(begin), b = text.find(end);
    REQUIRE(a != std::string::npos);
    REQUIRE(b != std::string::npos);
    const std::string block = text.substr(a + begin.size(), b - a - begin.size());
    const std::string expected = options::render_header_block();
    if (block != expected)
        MESSAGE("simdmf.h's option list is out of date: run /usr/bin/python3 scripts/update_option_docs.py "
                "build/tools/simdmf; the registry renders:\n" << expected);
    CHECK(block == expected);
    // And the rendering names every key with its bounds and default (so the comparison above covers them).
    for (const auto& o : options::all()) {
        CAPTURE(o.name);
        CHECK(expected.find(" *   " + o.name + " ") != std::string::npos);
        CHECK(expected.find(options::bounds_text(o)) != std::string::npos);
        CHECK(expected.find("default " + options::default_text(o)) != std::string::npos);
    }
}
