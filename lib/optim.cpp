// SGD and AdaGrad steps on parameter arrays (see optim.hpp).
#include "optim.hpp"

#include <cmath>

#include "kernels/kernels.hpp"

namespace simdmf {

const char* optimizer_name(Optimizer o) { return o == Optimizer::adagrad ? "adagrad" : "sgd"; }

bool parse_optimizer(const std::string& name, Optimizer* out) {
    if (name == "sgd") *out = Optimizer::sgd;
    else if (name == "adagrad") *out = Optimizer::adagrad;
    else return false;
    return true;
}

namespace {

class Sgd final : public ParamOptimizer {
public:
    Optimizer kind() const override { return Optimizer::sgd; }
    void step(float* w, const float* g, std::size_t n, double lr) override {
        kernels::active().axpy(n, static_cast<float>(-lr), g, w);
    }
    void reset() override {}
};

class AdaGrad final : public ParamOptimizer {
public:
    Optimizer kind() const override { return Optimizer::adagrad; }
    void step(float* w, const float* g, std::size_t n, double lr) override {
        if (G_.size() != n) G_.assign(n, 1.0f);
        const float rate = static_cast<float>(lr);
        for (std::size_t j = 0; j < n; ++j) {
            G_[j] += g[j] * g[j];
            w[j] -= rate * g[j] / std::sqrt(G_[j]);
        }
    }
    void reset() override { G_.clear(); }

private:
    std::vector<float> G_;
};

}  // namespace

std::unique_ptr<ParamOptimizer> make_optimizer(Optimizer o) {
    if (o == Optimizer::adagrad) return std::make_unique<AdaGrad>();
    return std::make_unique<Sgd>();
}

}  // namespace simdmf
