// Names and default rates of the objectives (the math is inline in objective.hpp).
#include "objective.hpp"

#include "implicit.hpp"

namespace simdmf {

const char* loss_name(Loss loss) {
    return loss == Loss::logistic ? "logistic" : loss == Loss::implicit ? "implicit" : "squared";
}

const char* confidence_name(Confidence c) { return c == Confidence::log ? "log" : "linear"; }

bool parse_loss(const std::string& name, Loss* out) {
    if (name == "squared") *out = Loss::squared;
    else if (name == "logistic") *out = Loss::logistic;
    else if (name == "implicit") *out = Loss::implicit;
    else return false;
    return true;
}

const char* link_name(Link link) {
    switch (link) {
        case Link::sigmoid: return "sigmoid";
        case Link::scaled_sigmoid: return "scaled_sigmoid";
        default: return "identity";
    }
}

double default_sgd_lr(Loss loss) { return loss == Loss::logistic ? 0.05 : 0.01; }
double default_gd_lr(Loss) { return 0.5; }

}  // namespace simdmf
