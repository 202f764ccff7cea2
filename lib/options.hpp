// The option registry: one table row per option key (training, tuning, later per-model groups) with
// its type, bounds, default, allowed values, group, doc line and its binding to a field. Every keyed
// access goes through it: TrainOptions::set / get, the C ABI's simdmf_trainer_* and simdmf_option_*
// calls, the CLI's flags and --set, the Python bindings, and the option block of simdmf.h (generated
// from the table by render_header_block(); tests/test_options.cpp fails when the header is stale).
//
// Adding a key: one row in kRows (lib/options.cpp) with its binding to a field of TrainOptions or
// tune::Settings.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eval/tune.hpp"
#include "solvers/trainer.hpp"

namespace simdmf::options {

enum class Type { integer, real, string, array };

struct Bound {
    double value;
    bool open;  // the bound itself is excluded
};

// One case of a default: it applies when every "key=value" condition in `when` (comma separated,
// string options) holds; the first case that applies wins, the last one has no condition.
struct Case {
    std::string when;
    double number = 0;           // integer and real options
    std::vector<double> array;   // array options
    std::string text;            // string options
};

// What the bindings read and write: the training options and, on a trainer, its search settings.
// A null member means "not available here" (TrainOptions::set only has the training options).
struct Target {
    TrainOptions* train = nullptr;
    tune::Settings* tune = nullptr;
};

enum class Scope { train, tune };

struct Binding {
    Scope scope;
    // integer / real: the stored value, NaN when unset (the default in effect applies)
    double (*get_number)(const Target&) = nullptr;
    void (*set_number)(Target&, double) = nullptr;
    // string: the index of the stored value in `allowed`
    std::size_t (*get_choice)(const Target&) = nullptr;
    void (*set_choice)(Target&, std::size_t) = nullptr;
    // array: the stored values, empty when unset
    std::vector<double> (*get_array)(const Target&) = nullptr;
    void (*set_array)(Target&, const std::vector<double>&) = nullptr;
};

struct Option {
    std::string name;
    Type type;
    Type element;                      // arrays: integer or real; otherwise == type
    std::string group;                 // "train", "sgd", "gd", "tune", ...
    Bound lo, hi;                      // integer, real, and each element of an array
    std::vector<std::string> allowed;  // string options
    std::vector<Case> defaults;        // at least one; the last has no condition
    std::size_t min_count = 0;         // arrays: fewest values; setting 0 values (if allowed) unsets
    std::string doc;                   // one line
    Binding bind;
};

// Every option in table order (groups in order of first appearance).
const std::vector<Option>& all();
// nullptr when unknown.
const Option* find(std::string_view name);

// Keyed access. Throw Error: SIMDMF_ERR_UNKNOWN_OPTION for an unknown key, a key of another type or a
// search key without search settings; SIMDMF_ERR_OUT_OF_RANGE for a value outside the bounds (NaN
// included), a non-integer for an integer option, a string not allowed. Nothing changes on error.
void set_number(Target t, const std::string& key, double value);
void set_string(Target t, const std::string& key, const std::string& value);
void set_array(Target t, const std::string& key, const std::vector<double>& values);
// Values in effect: the stored value, else the default in effect for the other options.
double get_number(Target t, const std::string& key);
std::string get_string(Target t, const std::string& key);
std::vector<double> get_array(Target t, const std::string& key);

// The case of an option's default that applies to `t`'s other options (t may be empty: every
// condition is then judged on default options).
const Case& default_case(const Option& o, Target t);
// The static default (the last case): the default with no other option set.
const Case& static_default(const Option& o);

// Text forms, as the header, the CLI and error messages show them.
std::string number_text(double v);               // shortest round-trip form: 0.01, 1e+06, inf
std::string bounds_text(const Option& o);        // "[1, 65536]", "(0, 10]", "any"
std::string default_text(const Option& o);       // "0.5 if solver = gd; 0.05 if loss = logistic; else 0.01"
const char* type_name(Type t);                   // "int", "real", "string", "array"
// Checks a number against the option's (or its elements') bounds and integrality; the message of
// the OUT_OF_RANGE error names the bound. `what` prefixes the message ("option 'k'").
void check_number(const Option& o, double v, const std::string& what);
// The option block of include/simdmf/simdmf.h, each line starting " * ".
std::string render_header_block();

}  // namespace simdmf::options
