// The header-only C++ wrapper (simdmf.hpp) over the shared library.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "simdmf/simdmf.hpp"

namespace {

const std::vector<float> kRatings = {
    0, 0, 0, 0, 3, 4, 1, 2, 0, 0,  //
    0, 0, 0, 0, 5, 0, 1, 0, 0, 0,  //
    0, 0, 0, 0, 0, 4, 0, 0, 0, 3,  //
    0, 0, 0, 0, 0, 0, 0, 4, 2, 0,  //
    0, 0, 1, 0, 2, 0, 0, 0, 0, 2,
};

simdmfpp::Model fit_textbook(simdmfpp::Trainer& t, const simdmfpp::Dataset& data) {
    t.set("k", 3).set("biases", 0).set("l2", 0.001).set("init_std", 0.5).set("lr", 0.05).set("epochs", 3000);
    return t.fit(data);
}

}  // namespace

TEST_CASE("version and SIMD level") {
    CHECK(simdmfpp::version() == "0.2.0");
    auto level = simdmfpp::simd_level();
    CHECK(level.first >= SIMDMF_SIMD_SCALAR);
    CHECK(!level.second.empty());
    CHECK_THROWS_AS(simdmfpp::set_simd_level(99), simdmfpp::Error);
}

TEST_CASE("datasets") {
    auto d = simdmfpp::Dataset::from_dense(kRatings, 5, 10);
    CHECK(d.size() == 13);
    CHECK(d.n_users() == 5);
    CHECK(d.n_items() == 10);
    auto all = d.get();
    REQUIRE(all.values.size() == 13);
    for (std::size_t j = 0; j < all.values.size(); ++j)
        CHECK(kRatings[all.users[j] * 10 + all.items[j]] == all.values[j]);

    auto t = simdmfpp::Dataset::from_triples({0, 1}, {2, 0}, {1.0f, 2.0f});
    CHECK(t.n_users() == 2);
    CHECK(t.n_items() == 3);
    CHECK_THROWS_AS(simdmfpp::Dataset::from_triples({0, 1}, {2}, {1.0f, 2.0f}), simdmfpp::Error);
    CHECK_THROWS_AS(d.get(10, 10), simdmfpp::Error);

    auto parts = d.split(0.25, 1);
    CHECK(parts.first.size() + parts.second.size() == 13);
    CHECK(parts.second.n_items() == 10);

    try {
        simdmfpp::Dataset::load("/nonexistent/simdmf/ratings.data");
        FAIL("no exception");
    } catch (const simdmfpp::Error& e) {
        CHECK(e.status() == SIMDMF_ERR_IO);
        CHECK(std::string(e.what()).size() > 10);
    }
}

TEST_CASE("trainer options") {
    simdmfpp::Trainer t;
    CHECK(t.get("k") == 32);
    t.set("k", 4).set("loss", "logistic").set("lr_list", std::vector<double>{0.1, 0.01});
    CHECK(t.get("k") == 4);
    CHECK(t.get_string("loss") == "logistic");
    try {
        t.set("k", 0);
        FAIL("no exception");
    } catch (const simdmfpp::Error& e) {
        CHECK(e.status() == SIMDMF_ERR_OUT_OF_RANGE);
    }
    try {
        t.set("nope", 1.0);
        FAIL("no exception");
    } catch (const simdmfpp::Error& e) {
        CHECK(e.status() == SIMDMF_ERR_UNKNOWN_OPTION);
    }
}

TEST_CASE("option registry: enumeration and defaults in effect") {
    const std::vector<simdmfpp::OptionInfo> all = simdmfpp::options();
    REQUIRE(all.size() > 20);
    const simdmfpp::OptionInfo lr = simdmfpp::option("lr");
    CHECK(lr.type == SIMDMF_OPTION_REAL);
    CHECK(lr.lower == 0);
    CHECK(lr.lower_open);
    CHECK(!lr.upper_open);
    CHECK(lr.conditional_default);
    CHECK(lr.group == "train");
    const simdmfpp::OptionInfo loss = simdmfpp::option("loss");
    CHECK(loss.allowed == std::vector<std::string>{"squared", "logistic", "implicit"});
    CHECK(loss.default_string == "squared");
    const simdmfpp::OptionInfo tk = simdmfpp::option("tune_k");
    CHECK(tk.element_type == SIMDMF_OPTION_INTEGER);
    CHECK(tk.default_array == std::vector<double>{64, 128, 256, 512});
    CHECK(std::count_if(all.begin(), all.end(), [](const auto& o) { return o.name == "tune_method"; }) == 1);
    try {
        simdmfpp::option("nope");
        FAIL("no exception");
    } catch (const simdmfpp::Error& e) {
        CHECK(e.status() == SIMDMF_ERR_UNKNOWN_OPTION);
    }
    simdmfpp::Trainer t;
    CHECK(t.default_value("lr") == 0.01);
    t.set("loss", "logistic");
    CHECK(t.default_value("lr") == 0.05);
    CHECK(t.default_array("tune_l2") == std::vector<double>{0.01, 0.02, 0.05});
    CHECK(t.default_string("schedule") == "constant");
}

TEST_CASE("train, serve, save and load") {
    auto data = simdmfpp::Dataset::from_dense(kRatings, 5, 10);
    simdmfpp::Trainer t;
    simdmfpp::Model m = fit_textbook(t, data);
    REQUIRE(m);
    CHECK(!t.cancelled());
    CHECK(m.kind() == SIMDMF_MODEL_MF);
    CHECK(m.k() == 3);
    CHECK(m.n_users() == 5);
    CHECK(m.n_items() == 10);
    CHECK(!m.has_biases());
    CHECK(!t.history().empty());

    auto all = m.predict_all();
    REQUIRE(all.size() == 50);
    for (std::size_t j = 0; j < 50; ++j)
        if (kRatings[j] != 0) CHECK(std::fabs(all[j] - kRatings[j]) < 0.1f);
    auto row = m.predict_row(2);
    for (std::size_t i = 0; i < 10; ++i) CHECK(row[i] == doctest::Approx(all[20 + i]).epsilon(1e-5));
    auto batch = m.predict_batch({0, 4}, {4, 9});
    CHECK(batch[0] == doctest::Approx(m.predict(0, 4)));
    CHECK(batch[1] == doctest::Approx(m.predict(4, 9)));
    CHECK_THROWS_AS(m.predict(5, 0), simdmfpp::Error);
    CHECK(m.prediction_range() == std::pair<float, float>(1.0f, 5.0f));
    m.set_prediction_range(2.0f, 2.5f);
    CHECK(m.predict(0, 4) == 2.5f);  // observed 3
    CHECK_THROWS_AS(m.set_prediction_range(3.0f, 1.0f), simdmfpp::Error);
    m.set_prediction_range(1.0f, 5.0f);

    auto rec = m.recommend(0, 10, &data);
    CHECK(rec.size() == 6);
    for (const auto& r : rec) CHECK(kRatings[r.index] == 0);
    auto near = m.nearest(SIMDMF_ITEMS, 4, 3);
    CHECK(near.size() == 3);
    for (const auto& n : near) {
        CHECK(n.index != 4);
        CHECK(n.score >= -1.0001f);
        CHECK(n.score <= 1.0001f);
    }
    CHECK(m.similarity(SIMDMF_USERS, 1, 1) == doctest::Approx(1.0f).epsilon(1e-4));
    CHECK(m.factors(SIMDMF_USERS, 0).size() == 3);
    CHECK(m.bias(SIMDMF_ITEMS, 0) == 0.0f);
    CHECK(m.index(SIMDMF_USERS, 3) == 3);
    CHECK(m.raw_id(SIMDMF_ITEMS, 7) == 7);

    std::string path = "/tmp/simdmf-wrapper-" + std::to_string(getpid()) + ".smf";
    m.save(path);
    auto m2 = simdmfpp::Model::load(path);
    auto m3 = simdmfpp::Model::open(path, SIMDMF_OPEN_MMAP);
    std::remove(path.c_str());  // the mapping outlives the name
    CHECK(m2.predict_all() == all);
    CHECK(m3.predict_all() == all);
    CHECK_THROWS(simdmfpp::Model::open(path, SIMDMF_OPEN_MMAP));  // gone now
}

TEST_CASE("progress callback: order, cancel, exceptions") {
    auto data = simdmfpp::Dataset::from_dense(kRatings, 5, 10);
    simdmfpp::Trainer t;
    t.set("k", 2).set("epochs", 10);
    std::vector<unsigned> epochs;
    t.on_progress([&](const simdmf_epoch_info& info) {
        epochs.push_back(info.epoch);
        return info.epoch < 4;
    });
    simdmfpp::Model m = t.fit(data);
    CHECK(t.cancelled());
    REQUIRE(m);
    CHECK(epochs == std::vector<unsigned>{1, 2, 3, 4});
    CHECK(t.history().size() == 4);
    CHECK(std::isfinite(m.predict(0, 0)));

    // A callback that throws: the exception comes back out of fit().
    simdmfpp::Trainer moved = std::move(t);
    moved.on_progress([](const simdmf_epoch_info&) -> bool { throw std::runtime_error("boom"); });
    CHECK_THROWS_WITH_AS(moved.fit(data), "boom", std::runtime_error);

    moved.on_progress({});
    simdmfpp::Model full = moved.fit(data);
    CHECK(!moved.cancelled());
    CHECK(moved.history().size() == 10);
}

TEST_CASE("divergence throws DivergedError carrying the last good model") {
    const std::vector<float> m = {0, 0, 0, 0, 3, 4, 1, 2, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0};
    simdmfpp::Dataset data = simdmfpp::Dataset::from_dense(m, 2, 10);
    simdmfpp::Trainer t;
    t.set("lr", 10).set("init_std", 10).set("epochs", 20);
    bool thrown = false;
    try {
        t.fit(data);
    } catch (const simdmfpp::DivergedError& e) {
        thrown = true;
        CHECK(e.status() == SIMDMF_ERR_DIVERGED);
        CHECK(std::string(e.what()).find("epoch") != std::string::npos);
        const float p = e.model().predict(0, 4);
        CHECK(std::isfinite(p));
    }
    CHECK(thrown);
}

namespace {

// A planted rank-2 matrix of nu x ni, about half of it rated in [1, 5] (deterministic).
simdmfpp::Dataset planted(std::uint32_t nu, std::uint32_t ni, std::uint32_t seed) {
    std::uint32_t x = seed;
    auto uniform = [&x] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return (x >> 8) / 16777216.0;
    };
    std::vector<double> uf(2 * nu), vf(2 * ni);
    for (auto& f : uf) f = 2 * uniform() - 1;
    for (auto& f : vf) f = 2 * uniform() - 1;
    std::vector<std::uint32_t> users, items;
    std::vector<float> values;
    for (std::uint32_t u = 0; u < nu; ++u)
        for (std::uint32_t i = 0; i < ni; ++i) {
            const double r = 3.0 + 2.0 * (uf[2 * u] * vf[2 * i] + uf[2 * u + 1] * vf[2 * i + 1]);
            if (uniform() >= 0.5) continue;
            users.push_back(u);
            items.push_back(i);
            values.push_back(static_cast<float>(r < 1 ? 1 : r > 5 ? 5 : r));
        }
    return simdmfpp::Dataset::from_triples(users, items, values, nu, ni);
}

}  // namespace

TEST_CASE("evaluate returns a Report in the documented order") {
    auto data = planted(30, 20, 7);
    auto [train, test] = data.split(0.25, 3);
    simdmfpp::Trainer t;
    t.set("k", 4).set("epochs", 40);
    simdmfpp::Model m = t.fit(train);

    simdmfpp::Report r = m.evaluate(test);
    REQUIRE(r.size() == 5);
    CHECK(r[0].first == "rmse");
    CHECK(r[1].first == "mae");
    CHECK(r[2].first == "ratings");
    CHECK(r[3].first == "cold_ratings");
    CHECK(r[4].first == "left_out");
    CHECK(r.at("ratings") == static_cast<double>(test.size()));
    // rmse from predict_batch
    auto all = test.get();
    auto pred = m.predict_batch(all.users, all.items);
    double se = 0;
    for (std::size_t j = 0; j < pred.size(); ++j) se += (double(pred[j]) - all.values[j]) * (double(pred[j]) - all.values[j]);
    CHECK(r.at("rmse") == doctest::Approx(std::sqrt(se / pred.size())).epsilon(1e-12));
    CHECK(r.contains("mae"));
    CHECK(!r.contains("ndcg@5"));
    try {
        r.at("ndcg@5");
        FAIL("no exception");
    } catch (const simdmfpp::Error& e) {
        CHECK(e.status() == SIMDMF_ERR_NOT_FOUND);
    }

    simdmfpp::Report rk = m.evaluate(test, &train, 5, 3.5);
    std::vector<std::string> names;
    for (const auto& e : rk) names.push_back(e.first);
    CHECK(names == std::vector<std::string>{"rmse", "mae", "precision@5", "recall@5", "ndcg@5", "map@5", "ratings",
                                            "cold_ratings", "left_out", "ranking_users"});
    CHECK(rk.at("ndcg@5") > 0);
    CHECK_THROWS_AS(m.evaluate(test, nullptr, 5, NAN), simdmfpp::Error);
    // no id maps: ids are indices, so user 40 is a new user (cold), scored by the fallback
    CHECK(m.evaluate(simdmfpp::Dataset::from_triples({40}, {0}, {3.0f})).at("cold_ratings") == 1);
}

TEST_CASE("cross_validate: report, callback over every fold, cancel") {
    auto data = planted(30, 20, 8);
    simdmfpp::Trainer t;
    t.set("k", 4).set("epochs", 8);
    unsigned calls = 0;
    t.on_progress([&](const simdmf_epoch_info&) {
        ++calls;
        return true;
    });
    simdmfpp::Report r = t.cross_validate(data, 3, 5);
    CHECK(calls == 24);
    CHECK(!t.cancelled());
    REQUIRE(r.size() == 13);
    CHECK(r[0].first == "rmse");
    CHECK(r[1].first == "rmse_std");
    CHECK(r[4].first == "fold1.rmse");
    CHECK(r[12].first == "fold3.epochs");
    CHECK(r.at("fold3.epochs") == 8);
    CHECK(r.at("rmse") == doctest::Approx((r.at("fold1.rmse") + r.at("fold2.rmse") + r.at("fold3.rmse")) / 3));

    calls = 0;
    t.on_progress([&](const simdmf_epoch_info&) { return ++calls < 10; });
    try {
        t.cross_validate(data, 3, 5);
        FAIL("no exception");
    } catch (const simdmfpp::Error& e) {
        CHECK(e.status() == SIMDMF_CANCELLED);
    }
    CHECK(t.cancelled());
    CHECK(calls == 10);

    t.on_progress([](const simdmf_epoch_info&) -> bool { throw std::runtime_error("cv boom"); });
    CHECK_THROWS_WITH_AS(t.cross_validate(data, 3, 5), "cv boom", std::runtime_error);
    t.on_progress({});
    CHECK_THROWS_AS(t.cross_validate(data, 1, 5), simdmfpp::Error);
}

TEST_CASE("tune: settings, best options, cancel") {
    auto data = planted(40, 30, 9);
    simdmfpp::Trainer t;
    CHECK(t.get_array("tune_k") == std::vector<double>{64, 128, 256, 512});
    CHECK(t.get_array("lr_list").empty());
    t.set("tune_k", std::vector<double>{2, 4})
        .set("tune_lr", std::vector<double>{0.02})
        .set("tune_l2", std::vector<double>{0.01, 0.05})
        .set("tune_epochs", std::vector<double>{5, 15})
        .set("tune_valid_fraction", 0.2)
        .set("tune_method", "grid");
    CHECK(t.get_array("tune_l2") == std::vector<double>{0.01, 0.05});
    CHECK(t.get("tune_valid_fraction") == 0.2);
    CHECK(t.get_string("tune_method") == "grid");
    CHECK_THROWS_AS(t.set("tune_method", "annealing"), simdmfpp::Error);
    CHECK_THROWS_AS(t.get_array("tune_method"), simdmfpp::Error);

    std::vector<double> scores;
    t.on_progress([&](const simdmf_epoch_info& info) {
        scores.push_back(info.valid_metric);
        return true;
    });
    t.set("tune_extend", 0);  // the plan's runs only
    simdmfpp::Report r = t.tune(data);
    REQUIRE(r.size() == 8 + 4 * 5 + 5);
    CHECK(r[0].first == "best.k");
    CHECK(r[8].first == "trial1.k");
    CHECK(r.at("trials") == 4);
    CHECK(scores.size() == 4);
    CHECK(t.get("k") == r.at("best.k"));
    CHECK(t.get("lr") == r.at("best.lr"));
    CHECK(t.get("l2") == r.at("best.l2"));
    CHECK(t.get("epochs") == r.at("best.epochs"));
    double best = INFINITY;
    for (int j = 1; j <= 4; ++j) best = std::min(best, r.at("trial" + std::to_string(j) + ".score"));
    CHECK(r.at("best.score") == best);
    t.on_progress({});
    simdmfpp::Model m = t.fit(data);
    CHECK(m.k() == r.at("best.k"));

    const double k_before = t.get("k");
    t.set("tune_k", std::vector<double>{3, 5});
    t.on_progress([](const simdmf_epoch_info&) { return false; });
    try {
        t.tune(data);
        FAIL("no exception");
    } catch (const simdmfpp::Error& e) {
        CHECK(e.status() == SIMDMF_CANCELLED);
    }
    CHECK(t.cancelled());
    CHECK(t.get("k") == k_before);
}

TEST_CASE("wrapper: factors in and out") {
    const float u[2][3] = {{1, 0, 2}, {0, 1, 1}};
    const float v[3][3] = {{1, 1, 1}, {0, 2, 0}, {3, 0, -1}};
    simdmf_factor_tables t{};
    t.struct_size = sizeof t;
    t.k = 3;
    t.n_users = 2;
    t.n_items = 3;
    t.user_factors = &u[0][0];
    t.item_factors = &v[0][0];
    t.min_prediction = -INFINITY;
    t.max_prediction = INFINITY;
    auto m = simdmfpp::Model::from_factors(t);
    CHECK(m.predict(0, 2) == doctest::Approx(1.0f));
    auto view = m.factor_table(SIMDMF_ITEMS);
    CHECK(view.rows == 3);
    CHECK(view.data[view.stride * 2] == 3.0f);
    char dir[] = "/tmp/simdmf-wrapper-factors-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    const std::string path = std::string(dir) + "/m.npz";
    m.export_factors(SIMDMF_FACTORS_NPZ, path);
    auto back = simdmfpp::Model::import_factors(SIMDMF_FACTORS_NPZ, path);
    CHECK(back.predict_all() == m.predict_all());
    CHECK_THROWS_AS(simdmfpp::Model::import_factors(SIMDMF_FACTORS_LIBMF, path), simdmfpp::Error);
    std::remove(path.c_str());
    rmdir(dir);
}

TEST_CASE("id spaces: a file loaded on its own is refused until aligned; cold ratings get the fallback") {
    const std::string dir = std::filesystem::temp_directory_path() / ("simdmf-wrapper-ids-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string train_path = dir + "/train.data", test_path = dir + "/test.data";
    {
        std::ofstream f(train_path);
        f << "10\t1\t5\t1\n20\t2\t3\t2\n30\t3\t4\t3\n10\t2\t4\t4\n20\t3\t2\t5\n30\t1\t5\t6\n";
        std::ofstream g(test_path);
        g << "30\t2\t4\t1\n40\t1\t5\t2\n10\t1\t4\t3\n";  // user 40 is new
    }
    auto train = simdmfpp::Dataset::load(train_path, SIMDMF_FORMAT_MOVIELENS_DATA);
    auto test = simdmfpp::Dataset::load(test_path, SIMDMF_FORMAT_MOVIELENS_DATA);
    std::filesystem::remove_all(dir);
    simdmfpp::Trainer t;
    t.set("k", 2).set("epochs", 20);
    simdmfpp::Model m = t.fit(train);
    try {
        m.evaluate(test);
        FAIL("no exception");
    } catch (const simdmfpp::Error& e) {
        CHECK(e.status() == SIMDMF_ERR_INVALID_ARGUMENT);
        CHECK(std::string(e.what()).find("id space") != std::string::npos);
    }
    std::size_t unknown = 0;
    simdmfpp::Dataset aligned = simdmfpp::align(test, m, false, &unknown);
    CHECK(unknown == 1);
    std::size_t cold = 0;
    auto pred = m.predict_dataset(aligned, false, &cold);
    CHECK(cold == 1);
    CHECK(std::isfinite(pred[1]));
    simdmfpp::Report r = m.evaluate(aligned, &train, 0, 4.0);
    CHECK(r.at("cold_ratings") == 1);
    CHECK(r.at("ratings") == 3);
    simdmfpp::Report lo = m.evaluate(aligned, &train, 0, 4.0, true);
    CHECK(lo.at("ratings") == 2);
    CHECK(lo.at("left_out") == 1);
    CHECK(simdmfpp::align(test, train, true).size() == 2);
}
