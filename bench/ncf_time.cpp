// simdmf's side of the PyTorch comparison (bench/ncf_compare.py): one model kind trained on a ratings
// file with the reference's settings (GMF factors k, MLP [64,32,16,8], Adam, batch 256, N(0, 0.01)
// embeddings, Glorot dense, one thread), then scoring every item for users 0..99. Prints one JSON line:
// seconds of each epoch (training only; wall clock, and the process's CPU time), seconds to score all items for one user (mean), the test
// RMSE after the last epoch (rating protocol; logistic: log-loss, and "hr" / "ndcg": HR@10 and NDCG@10
// of TEST's events each ranked against 99 sampled items the user has in neither file, seed 1, the
// protocol of `simdmf eval --negatives 99`), and the seconds of a top-10 list a user (the rows form
// also without its item cache: "topn_user_seconds_uncached", and the cache's bytes).
//
//   build/bench/ncf_time TRAIN TEST gmf|mlp|neumf|mf EPOCHS [squared|logistic] [k=8] [batch=256] [lazy|dense]
// Environment (as ncf_torch.py): NCF_LAYERS=60,30,30,30,30,30 the MLP widths (default 64,32,16,8),
// NCF_K and NCF_BATCH the defaults of k and batch, NCF_NEGATIVES (logistic; default 4), NCF_THREADS
// the training threads (default 1), NCF_SEED the seed (default 42); NCF_ACT=relu|leaky_relu and
// NCF_SLOPE the tower's activation, NCF_LINK=identity|scaled (scaled_sigmoid on the rating range),
// NCF_L2 ncf_l2_weights, NCF_INPUT=embedding|rows (ncf_input), NCF_LEAVE_OUT (ncf_input_leave_out),
// NCF_NORM=sqrt|none (ncf_input_norm; default sqrt). NCF_CANDIDATES=FILE (logistic): HR@10 / NDCG@10
// against the candidate sets of FILE instead of sampled_ranking's draw (bench/ncf_candidates.py: per
// line a user, the held-out item and its negatives; ncf_torch.py reads the same file), the held-out
// item's rank being the number of negatives scoring above it (the reference's rule).
// NCF_MODEL=FILE: no training, the model file (any kind, e.g. `simdmf train --solver lmf-neg`) is
// evaluated as above (the test set aligned to TRAIN's ids: the model must have been trained on TRAIN).
// NCF_LAZY=0|1|2 sets ncf_lazy_adam (after the 8th argument: lazy 1, dense 0).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "eval/evaluate.hpp"
#include "io/loaders.hpp"
#include "io/model_file.hpp"
#include "kernels/kernels.hpp"
#include "serve/serve.hpp"
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
    if (const char* lz = std::getenv("NCF_LAZY")) o.ncf.lazy_adam = static_cast<std::uint32_t>(std::atoi(lz));
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
    if (const char* path = std::getenv("NCF_MODEL")) {  // a trained model file (the CLI's): evaluated only
        m = open_any_model(path, OpenOptions{});
        if (m->logistic()) o.loss = Loss::logistic;
    } else if (kind == "mf") {
        o.k = argc > 6 ? o.k : 64;
        m = std::make_unique<MFModel>(train(o, tr, nullptr, cb).model);
    } else {
        parse_model_kind(kind, &o.model);
        o.lr = 0.001;
        m = std::make_unique<NCFModel>(train_ncf(o, tr, nullptr, cb).model);
    }
    curve.push_back(valid_metric(*m, te));  // after the last epoch (not inside the epochs' times)
    double hr = -1, ndcg = -1;
    if (const char* cf = std::getenv("NCF_CANDIDATES"); cf && o.logistic()) {
        std::ifstream in(cf);
        if (!in) {
            std::fprintf(stderr, "ncf_time: cannot read %s\n", cf);
            return 2;
        }
        std::size_t cases = 0;
        double h = 0, g = 0;
        std::vector<std::uint32_t> users, items;
        std::vector<float> sc;
        auto find = [](const std::shared_ptr<const IdMap>& map, std::int64_t raw, std::uint32_t n, std::uint32_t* ix) {
            if (map) return map->find(raw, ix);
            *ix = static_cast<std::uint32_t>(raw);  // no map: the indices are the ids
            return raw >= 0 && raw < n;
        };
        for (std::string line; std::getline(in, line);) {
            std::istringstream ls(line);
            std::int64_t raw = 0;
            std::uint32_t u = 0, ix = 0;
            if (!(ls >> raw) || !find(m->user_ids, raw, m->n_users, &u)) continue;
            bool known = true;
            items.clear();
            while (ls >> raw) {
                known = known && find(m->item_ids, raw, m->n_items, &ix);
                items.push_back(ix);
            }
            if (!known || items.size() < 2) continue;
            users.assign(items.size(), u);
            sc.resize(items.size());
            m->score_pairs(users.data(), items.data(), items.size(), sc.data());
            std::size_t rank = 0;
            for (std::size_t q = 1; q < sc.size(); ++q) rank += sc[q] > sc[0];
            if (rank < 10) h += 1, g += 1.0 / std::log2(double(rank) + 2.0);
            ++cases;
        }
        hr = cases ? h / double(cases) : 0;
        ndcg = cases ? g / double(cases) : 0;
    } else if (o.logistic()) {
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
    // Top-10 lists (serve::recommend, nothing excluded) for users 0..99: seconds a user, median of 5
    // alternating rounds; the rows form also without its item cache (NcfItemCache: the item side's
    // input layers recomputed per block, as before the cache), in the same rounds.
    double topn_s = 0, topn_plain_s = -1, cache_bytes = 0;
    {
        const auto* nc = dynamic_cast<const NCFModel*>(m.get());
        std::unique_ptr<NCFModel> plain;
        if (nc && nc->item_cache) {
            plain = std::make_unique<NCFModel>(*nc);
            plain->item_cache.reset();
            cache_bytes = 4.0 * double(nc->item_cache->qg.size() + nc->item_cache->qe.size());
        }
        auto time_topn = [&](const Model& x) {
            const auto a = std::chrono::steady_clock::now();
            std::size_t sink = 0;
            for (std::uint32_t u = 0; u < users; ++u) sink += serve::recommend(x, u, 10, {}).size();
            if (sink == 0) std::fprintf(stderr, "no recommendations\n");
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count() / users;
        };
        std::vector<double> t1, t2;
        for (int round = 0; round < 5; ++round) {
            t1.push_back(time_topn(*m));
            if (plain) t2.push_back(time_topn(*plain));
        }
        std::sort(t1.begin(), t1.end());
        topn_s = t1[2];
        if (plain) std::sort(t2.begin(), t2.end()), topn_plain_s = t2[2];
    }
    std::printf("{\"model\": \"%s\", \"simd\": \"%s\", \"epoch_seconds\": [", kind.c_str(), kernels::active().name);
    for (std::size_t j = 0; j < epoch_s.size(); ++j) std::printf("%s%.5f", j ? ", " : "", epoch_s[j]);
    std::printf("], \"epoch_cpu_seconds\": [");
    for (std::size_t j = 0; j < epoch_cpu.size(); ++j) std::printf("%s%.5f", j ? ", " : "", epoch_cpu[j]);
    std::printf("], \"score_user_seconds\": %.7f, \"valid\": [", score_s);
    for (std::size_t j = 0; j < curve.size(); ++j) std::printf("%s%.5f", j ? ", " : "", curve[j]);
    std::printf("]");
    if (hr >= 0) std::printf(", \"hr\": %.5f, \"ndcg\": %.5f", hr, ndcg);
    std::printf(", \"topn_user_seconds\": %.7f", topn_s);
    if (topn_plain_s >= 0)
        std::printf(", \"topn_user_seconds_uncached\": %.7f, \"item_cache_bytes\": %.0f", topn_plain_s, cache_bytes);
    std::printf("}\n");
    return 0;
}
