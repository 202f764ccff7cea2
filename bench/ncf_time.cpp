// simdmf's side of the PyTorch comparison (bench/ncf_compare.py): one model kind trained on a ratings
// file with the reference's settings (GMF factors k, MLP [64,32,16,8], Adam, batch 256, N(0, 0.01)
// embeddings, Glorot dense, one thread), then scoring every item for users 0..99. Prints one JSON line:
// seconds of each epoch (training only; wall clock, and the process's CPU time), seconds to score all items for one user (mean), the test
// RMSE after the last epoch (rating protocol; logistic: log-loss, and "hr" / "ndcg": HR@10 and NDCG@10
// of TEST's events each ranked against 99 sampled items the user has in neither file, seed 1, the
// protocol of `simdmf eval --negatives 99`).
//
//   build/bench/ncf_time TRAIN TEST gmf|mlp|neumf|mf EPOCHS [squared|logistic] [k=8] [batch=256] [lazy|dense]
// Environment (as ncf_torch.py): NCF_LAYERS=60,30,30,30,30,30 the MLP widths (default 64,32,16,8),
// NCF_K and NCF_BATCH the defaults of k and batch, NCF_NEGATIVES (logistic; default 4), NCF_THREADS
// the training threads (default 1), NCF_SEED the seed (default 42); NCF_ACT=relu|leaky_relu and
// NCF_SLOPE the tower's activation, NCF_LINK=identity|scaled (scaled_sigmoid on the rating range),
// NCF_L2 ncf_l2_weights, NCF_INPUT=embedding|rows (ncf_input), NCF_LEAVE_OUT (ncf_input_leave_out),
// NCF_NORM=sqrt|none (ncf_input_norm; default sqrt).
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "eval/evaluate.hpp"
#include "io/loaders.hpp"
#include "kernels/kernels.hpp"
#include "solvers/ncf_train.hpp"
#include "solvers/trainer.hpp"

using namespace simdmf;

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: ncf_time TRAIN TEST gmf|mlp|neumf|mf EPOCHS [squared|logistic] [k] [batch]\n");
        return 2;
    }
    const Ratings tr = io::load(argv[1]);
    const Ratings te = align_ids(io::load(argv[2]), tr.user_ids, tr.item_ids, tr.n_users, tr.n_items, nullptr);
    const std::string kind = argv[3];
    TrainOptions o;
    o.epochs = static_cast<std::uint32_t>(std::atoi(argv[4]));
    if (argc > 5 && std::string(argv[5]) == "logistic") o.loss = Loss::logistic;
    auto env_or = [](const char* name, int dflt) { const char* v = std::getenv(name); return v ? std::atoi(v) : dflt; };
    o.k = static_cast<std::uint32_t>(argc > 6 ? std::atoi(argv[6]) : env_or("NCF_K", 8));
    o.ncf.batch = static_cast<std::uint32_t>(argc > 7 ? std::atoi(argv[7]) : env_or("NCF_BATCH", 256));
    if (const char* ls = std::getenv("NCF_LAYERS")) {
        o.ncf.layers.clear();
        for (const char* p = ls; *p;) {
            o.ncf.layers.push_back(static_cast<std::uint32_t>(std::strtoul(p, const_cast<char**>(&p), 10)));
            if (*p == ',') ++p;
            else if (*p) break;
        }
    }
    o.ncf.negatives = static_cast<std::uint32_t>(env_or("NCF_NEGATIVES", 4));
    o.threads = static_cast<std::uint32_t>(env_or("NCF_THREADS", 1));
    o.seed = static_cast<std::uint64_t>(env_or("NCF_SEED", 42));
    o.ncf.lazy_adam = !(argc > 8 && std::string(argv[8]) == "dense");
    o.ncf.link = 1;  // identity: the reference's plain linear output for ratings
    if (const char* l = std::getenv("NCF_LINK"); l && std::string(l) == "scaled") o.ncf.link = 3;
    if (o.logistic()) o.ncf.link = 0;
    if (const char* a = std::getenv("NCF_ACT"); a && std::string(a) == "leaky_relu") o.ncf.activation = 2;
    if (const char* sl = std::getenv("NCF_SLOPE")) o.ncf.slope = std::atof(sl);
    if (const char* l2 = std::getenv("NCF_L2")) o.ncf.l2_weights = std::atof(l2);
    if (const char* in = std::getenv("NCF_INPUT"); in && std::string(in) == "rows") o.ncf.input = 1;
    o.ncf.input_leave_out = env_or("NCF_LEAVE_OUT", 1) != 0;
    if (const char* nm = std::getenv("NCF_NORM")) o.ncf.input_norm = std::string(nm) == "none" ? 0 : 1;
    std::vector<double> epoch_s, epoch_cpu, curve;
    double last = 0;
    auto cpu_now = [] {  // the process's CPU time: what the epoch costs, whoever else shares the cores
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
    };
    double last_cpu = cpu_now();
    auto cb = [&](const EpochInfo& e) {
        epoch_s.push_back(e.elapsed_seconds - last);
        last = e.elapsed_seconds;
        const double c = cpu_now();
        epoch_cpu.push_back(c - last_cpu);
        last_cpu = c;
        return true;
    };
    std::unique_ptr<Model> m;
    if (kind == "mf") {
        o.k = argc > 6 ? o.k : 64;
        m = std::make_unique<MFModel>(train(o, tr, nullptr, cb).model);
    } else {
        parse_model_kind(kind, &o.model);
        o.lr = 0.001;
        m = std::make_unique<NCFModel>(train_ncf(o, tr, nullptr, cb).model);
    }
    curve.push_back(valid_metric(*m, te));  // after the last epoch (not inside the epochs' times)
    double hr = -1, ndcg = -1;
    if (o.logistic()) {
        evaluate::SampledOptions so;
        so.threshold = 0.0f;
        const evaluate::SampledMetrics sm = evaluate::sampled_ranking(*m, te, tr, so);
        hr = sm.hr;
        ndcg = sm.ndcg;
    }
    std::vector<float> row(m->n_items);
    const std::uint32_t users = std::min<std::uint32_t>(100, m->n_users);
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t u = 0; u < users; ++u) m->score_row(u, row.data());
    const double score_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / users;
    std::printf("{\"model\": \"%s\", \"simd\": \"%s\", \"epoch_seconds\": [", kind.c_str(), kernels::active().name);
    for (std::size_t j = 0; j < epoch_s.size(); ++j) std::printf("%s%.5f", j ? ", " : "", epoch_s[j]);
    std::printf("], \"epoch_cpu_seconds\": [");
    for (std::size_t j = 0; j < epoch_cpu.size(); ++j) std::printf("%s%.5f", j ? ", " : "", epoch_cpu[j]);
    std::printf("], \"score_user_seconds\": %.7f, \"valid\": [", score_s);
    for (std::size_t j = 0; j < curve.size(); ++j) std::printf("%s%.5f", j ? ", " : "", curve[j]);
    std::printf("]");
    if (hr >= 0) std::printf(", \"hr\": %.5f, \"ndcg\": %.5f", hr, ndcg);
    std::printf("}\n");
    return 0;
}
