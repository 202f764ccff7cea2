// The full-batch gradient descent solver for small dense problems: the exact objective and gradient
// (objective()), a step along -gradient, halved whenever the objective would rise.
#include <cmath>
#include <utility>

#include "kernels/kernels.hpp"
#include "solvers/solvers.hpp"

namespace simdmf {

namespace {

double eval_objective(const MFModel& m, const Ratings& r, double l2, double l2b, Gradient* g, double* data_loss) {
    const auto& kt = kernels::active();
    const double n = static_cast<double>(r.size());
    if (g) {
        g->P.assign(m.P.size(), 0.0f);
        g->Q.assign(m.Q.size(), 0.0f);
        g->bu.assign(m.bu.size(), 0.0f);
        g->bi.assign(m.bi.size(), 0.0f);
    }
    double data = 0.0, reg = 0.0;
    for (std::size_t j = 0; j < r.size(); ++j) {
        const std::uint32_t u = r.user[j], i = r.item[j];
        const float* p = m.user_row(u);
        const float* q = m.item_row(i);
        const double s = m.score(u, i);
        const double e = m.objective.residual(r.value[j], s);  // -dloss/ds
        data += m.objective.term(r.value[j], s);
        const double pp = kt.dot(p, p, m.stride), qq = kt.dot(q, q, m.stride);
        reg += 0.5 * l2 * (pp + qq);
        if (m.biases) reg += 0.5 * l2b * (double(m.bu[u]) * m.bu[u] + double(m.bi[i]) * m.bi[i]);
        if (g) {
            float* gp = g->P.data() + std::size_t(u) * m.stride;
            float* gq = g->Q.data() + std::size_t(i) * m.stride;
            kt.axpy(m.stride, static_cast<float>(-e / n), q, gp);
            kt.axpy(m.stride, static_cast<float>(l2 / n), p, gp);
            kt.axpy(m.stride, static_cast<float>(-e / n), p, gq);
            kt.axpy(m.stride, static_cast<float>(l2 / n), q, gq);
            if (m.biases) {
                g->bu[u] += static_cast<float>((-e + l2b * m.bu[u]) / n);
                g->bi[i] += static_cast<float>((-e + l2b * m.bi[i]) / n);
            }
        }
    }
    if (data_loss) *data_loss = (m.logistic() ? data : 2.0 * data) / n;  // as curve_loss reports it
    return (data + reg) / n;
}

}  // namespace

void train_gd(const TrainOptions& opt, const Ratings& train, MFModel& m, EpochControl& ctl) {
    Gradient g;
    double data_loss = 0;
    double J = eval_objective(m, train, opt.l2, opt.l2_bias, &g, &data_loss);
    double scale = 1.0;  // halved whenever a step would increase the objective
    const std::uint32_t epochs = opt.effective_epochs();
    MFModel trial;
    for (std::uint32_t e = 0; e < epochs; ++e) {
        const double lr = opt.lr_at(e) * scale;
        trial = m;
        const auto& kt = kernels::active();
        kt.axpy(trial.P.size(), static_cast<float>(-lr), g.P.data(), trial.P.data());
        kt.axpy(trial.Q.size(), static_cast<float>(-lr), g.Q.data(), trial.Q.data());
        for (std::size_t u = 0; u < trial.bu.size(); ++u) trial.bu[u] -= static_cast<float>(lr * g.bu[u]);
        for (std::size_t i = 0; i < trial.bi.size(); ++i) trial.bi[i] -= static_cast<float>(lr * g.bi[i]);
        Gradient g2;
        double loss2 = 0;
        const double J2 = eval_objective(trial, train, opt.l2, opt.l2_bias, &g2, &loss2);
        if (std::isfinite(J2) && J2 <= J) {
            std::swap(m, trial);
            g = std::move(g2);
            J = J2;
            data_loss = loss2;
        } else {
            scale *= 0.5;  // reject the step
        }
        if (!ctl.after_epoch(e + 1, data_loss, lr, m)) return;
    }
}

double objective(const MFModel& m, const Ratings& r, double l2, double l2_bias, Gradient* grad) {
    if (r.empty()) fail(SIMDMF_ERR_INVALID_DATA, "objective of an empty data set");
    return eval_objective(m, r, l2, l2_bias, grad, nullptr);
}

}  // namespace simdmf
