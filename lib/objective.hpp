// The objective apart from the model: the loss, the link from a model's score to its prediction, the
// loss's gradient with respect to the score, the validation metric and the default learning rates,
// written once. Every model kind pairs its scores with one Objective; the SGD kernels' loss policies
// (lib/kernels/kernels_impl.hpp: SquaredLoss, LogisticLoss) are this file's residual() for squared +
// identity and logistic + sigmoid, specialised into the fused steps.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace simdmf {

// Values are stable: the C ABI reports them (simdmf_model_loss) and option "loss" names them.
// implicit: the weighted squared loss of implicit feedback over every cell (lib/implicit.hpp; solver als
// only), on preferences 1 (a cell with events) and 0, identity link.
enum class Loss : std::uint32_t { squared = 1, logistic = 2, implicit = 3 };  // = simdmf_loss
enum class Link : std::uint32_t { identity = 0, sigmoid = 1, scaled_sigmoid = 2 };

const char* loss_name(Loss loss);  // "squared", "logistic", "implicit"
bool parse_loss(const std::string& name, Loss* out);
const char* link_name(Link link);  // "identity", "sigmoid", "scaled_sigmoid"

// The scalar logistic function, stable for any z (NaN for NaN). The reference the kernels' sigmoids
// are tested against.
inline float sigmoid(float z) {
    if (z >= 0.0f) return 1.0f / (1.0f + std::exp(-z));
    const float t = std::exp(z);
    return t / (1.0f + t);
}
inline double sigmoid(double z) {
    if (z >= 0.0) return 1.0 / (1.0 + std::exp(-z));
    const double t = std::exp(z);
    return t / (1.0 + t);
}

// A +1/-1 label (0 = missing in a dense matrix, never a rating) as the 0/1 target of cross-entropy.
inline double label01(float v) { return v > 0.0f ? 1.0 : 0.0; }

// Cross-entropy of a 0/1 label y at logit s, computed stably: softplus(s) - y*s.
inline double cross_entropy(double s, double y) {
    return std::log1p(std::exp(-std::fabs(s))) + std::max(s, 0.0) - y * s;
}

struct Objective {
    Loss loss = Loss::squared;
    Link link = Link::identity;
    double lo = 0.0, hi = 1.0;  // scaled_sigmoid: predictions lo + (hi - lo) * sigmoid(s)

    // MF's pairings: squared loss on the identity link, cross-entropy on the sigmoid link.
    static Objective for_loss(Loss loss) {
        Objective o;
        o.loss = loss;
        o.link = loss == Loss::logistic ? Link::sigmoid : Link::identity;
        return o;
    }
    static Objective scaled(double lo, double hi) {  // squared loss on lo + (hi - lo) * sigmoid(s)
        Objective o;
        o.link = Link::scaled_sigmoid;
        o.lo = lo;
        o.hi = hi;
        return o;
    }
    bool logistic() const { return loss == Loss::logistic; }
    bool implicit() const { return loss == Loss::implicit; }

    // The prediction at score s, and its derivative d link / d s.
    double apply_link(double s) const {
        switch (link) {
            case Link::sigmoid: return sigmoid(s);
            case Link::scaled_sigmoid: return lo + (hi - lo) * sigmoid(s);
            default: return s;
        }
    }
    double link_grad(double s) const {
        switch (link) {
            case Link::sigmoid: { const double g = sigmoid(s); return g * (1.0 - g); }
            case Link::scaled_sigmoid: { const double g = sigmoid(s); return (hi - lo) * g * (1.0 - g); }
            default: return 1.0;
        }
    }

    // The objective's term for one observation (target y: a rating, or a +1/-1 label) at score s:
    // 1/2 (y - link(s))^2 (squared), cross-entropy of link(s) = sigmoid(s) (logistic; its link is
    // always the sigmoid, as the logit keeps it stable).
    // Implicit: the observed cell's unweighted term, 1/2 (1 - s)^2 for a count > 0 (the solver reports
    // the full weighted objective itself).
    double term(double y, double s) const {
        if (loss == Loss::logistic) return cross_entropy(s, label01(static_cast<float>(y)));
        if (loss == Loss::implicit) y = y > 0.0 ? 1.0 : 0.0;
        const double e = y - apply_link(s);
        return 0.5 * e * e;
    }
    // The loss the learning curve reports for one observation: squared error (its mean is the MSE)
    // or cross-entropy. 2 * term() for squared, term() for logistic.
    double curve_loss(double y, double s) const { return loss == Loss::logistic ? term(y, s) : 2.0 * term(y, s); }
    // -d term / d s, the "error" the fused SGD steps return: (y - link(s)) link'(s) for squared,
    // y01 - sigmoid(s) for logistic.
    double residual(double y, double s) const {
        if (loss == Loss::logistic) return label01(static_cast<float>(y)) - sigmoid(s);
        if (loss == Loss::implicit) y = y > 0.0 ? 1.0 : 0.0;
        return (y - apply_link(s)) * link_grad(s);
    }
    // d2 term / d s2 where the solvers need it (fold-in's Newton step): the Gauss-Newton weight.
    double curvature(double s) const {
        if (loss == Loss::logistic) { const double p = sigmoid(s); return std::max(p * (1.0 - p), 1e-6); }
        const double g = link_grad(s);
        return std::max(g * g, 1e-12);
    }

    // The validation metric (lower is better): RMSE of the predictions, or the mean log-loss. Its name
    // as evaluation reports it.
    const char* metric_name() const { return loss == Loss::logistic ? "log_loss" : "rmse"; }
    const char* metric_label() const { return loss == Loss::logistic ? "log-loss" : "RMSE"; }
    // The training loss the solvers report per epoch (EpochInfo::train_loss): the mean squared error
    // (not its root: compare with the RMSE beside it by its square root) or the mean log-loss.
    const char* train_loss_name() const { return loss == Loss::logistic ? "log_loss" : "mse"; }
    const char* train_loss_label() const { return loss == Loss::logistic ? "log-loss" : "MSE"; }
};

// Default learning rates of the solvers, per loss.
double default_sgd_lr(Loss loss);  // 0.01 squared, 0.05 logistic
double default_gd_lr(Loss loss);   // 0.5

}  // namespace simdmf
