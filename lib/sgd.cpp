// The SGD solver: each epoch shuffles a private copy of the ratings (seeded) and applies one fused
// kernel per rating; biases are updated beside it with the same error.
#include <cmath>
#include <vector>

#include "kernels/kernels.hpp"
#include "rng.hpp"
#include "solvers.hpp"

namespace simdmf {

namespace {

struct Triple {
    std::uint32_t u, i;
    float v;
};

// One epoch over `data` in its order. Returns the sum of the losses seen before each update.
double sgd_epoch(Model& m, const std::vector<Triple>& data, float lr, float l2, float l2b) {
    const auto& kt = kernels::active();
    const bool logistic = m.kind == ModelKind::logistic;
    const bool biases = m.biases;
    const std::uint32_t stride = m.stride;
    float* P = m.P.data();
    float* Q = m.Q.data();
    float* bu = m.bu.data();
    float* bi = m.bi.data();
    const float mu = m.mu;
    double loss = 0.0;
    for (const Triple& t : data) {
        float* p = P + std::size_t(t.u) * stride;
        float* q = Q + std::size_t(t.i) * stride;
        const float offset = biases ? mu + bu[t.u] + bi[t.i] : 0.0f;
        float e;
        if (logistic) {
            const float y = t.v > 0.0f ? 1.0f : 0.0f;
            e = kt.sgd_logistic(p, q, stride, offset, y, lr, lr, l2, l2);
            // e = y - sigmoid(s): the probability given to the true label is 1 - |e|.
            loss -= std::log(std::max(1.0 - std::fabs(static_cast<double>(e)), 1e-12));
        } else {
            e = kt.sgd_squared(p, q, stride, offset, t.v, lr, lr, l2, l2);
            loss += static_cast<double>(e) * e;
        }
        if (biases) {
            bu[t.u] += lr * (e - l2b * bu[t.u]);
            bi[t.i] += lr * (e - l2b * bi[t.i]);
        }
    }
    return loss;
}

}  // namespace

void train_sgd(const TrainOptions& opt, const Ratings& train, Model& m, EpochControl& ctl) {
    std::vector<Triple> data(train.size());
    for (std::size_t j = 0; j < train.size(); ++j) data[j] = {train.user[j], train.item[j], train.value[j]};
    Rng order(opt.seed ^ 0x5DEECE66Dull);
    const auto l2 = static_cast<float>(opt.l2), l2b = static_cast<float>(opt.l2_bias);
    const std::uint32_t epochs = opt.effective_epochs();
    for (std::uint32_t e = 0; e < epochs; ++e) {
        order.shuffle(data.data(), data.size());
        const double lr = opt.lr_at(e);
        double loss = sgd_epoch(m, data, static_cast<float>(lr), l2, l2b) / static_cast<double>(data.size());
        if (opt.exact_loss) loss = mean_loss(m, train);
        if (!ctl.after_epoch(e + 1, loss, lr, m)) return;
    }
}

}  // namespace simdmf
