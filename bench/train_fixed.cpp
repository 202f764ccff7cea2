// A fixed, small training run for instruction counts (scripts/callgrind_train.sh runs it under
// valgrind --tool=callgrind, collecting only inside the SGD epochs): a planted set shaped like
// `simdmf gen --preset large` but 1/10 of it (5,000 users x 1,000 items, 500,000 ratings, rank 10, no
// biases, mean 3, noise 0.5, seed 4), one thread, deterministic, seed 42, k and epochs from the
// command line. Prints the updates made, so that a count can be divided by them.
//
//   build/bench/train_fixed [k=32] [epochs=2] [squared|logistic|adagrad|adagrad-logistic]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/kernels.hpp"
#include "solvers/trainer.hpp"
#include "synthetic.hpp"

using namespace simdmf;

int main(int argc, char** argv) {
    const std::uint32_t k = argc > 1 ? static_cast<std::uint32_t>(std::atoi(argv[1])) : 32;
    const std::uint32_t epochs = argc > 2 ? static_cast<std::uint32_t>(std::atoi(argv[2])) : 2;
    const std::string what = argc > 3 ? argv[3] : "squared";
    PlantedSpec s = large_preset();
    s.n_users /= 10;
    s.n_items /= 10;
    s.n_ratings = 500000;
    Ratings r = make_planted(s);
    const bool logistic = what == "logistic" || what == "adagrad-logistic";
    if (logistic)
        for (float& v : r.value) v = v >= 4.0f ? 1.0f : -1.0f;
    TrainOptions o;
    o.k = k;
    o.epochs = epochs;
    o.loss = logistic ? Loss::logistic : Loss::squared;
    o.lr = logistic ? 0.1 : 0.01;
    o.l2 = 0.02;
    o.optimizer = what.rfind("adagrad", 0) == 0 ? Optimizer::adagrad : Optimizer::sgd;
    o.threads = 1;
    o.seed = 42;
    const TrainResult res = train(o, r, nullptr);
    std::printf("level %s k %u epochs %zu %s updates %llu\n", kernels::active().name, k, res.history.size(),
                what.c_str(), static_cast<unsigned long long>(res.history.size() * r.size()));
    return 0;
}
