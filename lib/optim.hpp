// The optimizer seam: how a gradient becomes a step. Chosen by option "optimizer" ("sgd" | "adagrad";
// the older numeric key "adagrad" = 1 is an alias of "adagrad"). Adam comes next (neural CF) as one
// more enumerator, one more ParamOptimizer and one more registry value.
//
// The MF SGD solver applies the rule inside its fused kernels (one pass per rating: the error and
// both row updates; AdaGrad through Table::adagrad_for_length with per-row G), so its hot loop never
// calls through this interface; dense or mini-batch solvers (GD today, neural CF's batches next) step
// a whole parameter array at a time through ParamOptimizer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/param_array.hpp"

namespace simdmf {

enum class Optimizer : std::uint32_t { sgd = 0, adagrad = 1 };  // the registry's order of "optimizer"
const char* optimizer_name(Optimizer o);  // "sgd", "adagrad"
bool parse_optimizer(const std::string& name, Optimizer* out);

// One step on a parameter array from its gradient (descent: w -= rate * g, elementwise rate).
class ParamOptimizer {
public:
    virtual ~ParamOptimizer() = default;
    virtual Optimizer kind() const = 0;
    // w and g hold n floats; lr is the step's base rate (the schedule's). Keeps its state per element.
    virtual void step(float* w, const float* g, std::size_t n, double lr) = 0;
    virtual void reset() = 0;  // forget the state (a new run)
};

// SGD: w -= lr * g. AdaGrad (Duchi et al., 2011): G += g^2, w -= lr * g / sqrt(G), G starting at 1 as
// the SGD solver's per-row G does (so the first step is plain SGD).
std::unique_ptr<ParamOptimizer> make_optimizer(Optimizer o);

}  // namespace simdmf
