// Factors in and out (lib/io/factors, lib/io/from_factors): fixtures in exactly the layouts the
// other systems write, round trips for every format, and the checks on bad input.
//
// Where the fixture layouts come from:
//   * Spark MLlib: `model.userFactors.write.json(dir)` writes a folder holding `_SUCCESS`, one
//     `part-NNNNN-<uuid>-c000.json` per partition and a hidden `.<name>.crc` beside each file; every line
//     is one row `{"id":<int>,"features":[<float>,...]}`, floats printed by Java (`1.0E-4` style).
//     CSV goes through `selectExpr("id", "concat_ws(',', features)")`, so the factors arrive as one
//     quoted field: `12,"0.1,0.2"` (no header by default).
//   * LIBMF's model file: the "Model Format" section of LIBMF's README: lines `f`, `m`, `n`, `k`, `b`,
//     then `p<i> T v...` / `q<j> T v...`, with `F` marking a row LIBMF never trained (its values NaN).
//   * numpy .npy / .npz (implicit's saved models are np.savez files with user_factors and item_factors):
//     written by numpy itself in python/tests/test_interop.py; here by simdmf's writer and read back.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <fstream>

#include "io/factors.hpp"
#include "io/fileio.hpp"
#include "io/from_factors.hpp"
#include "models/mf.hpp"
#include "test_util.hpp"

using namespace simdmf;
using simdmf_test::status_of;
using simdmf_test::TempDir;

namespace {

void write(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
}

MFModel random_model(bool biases, bool ids, bool logistic, std::uint32_t k = 5) {
    MFModel m;
    m.allocate(logistic ? Loss::logistic : Loss::squared, k, 7, 11, biases);
    std::uint32_t state = 12345;
    auto next = [&] {
        state = state * 1664525u + 1013904223u;
        return static_cast<float>(static_cast<std::int32_t>(state >> 8) - (1 << 23)) / float(1 << 22);
    };
    for (std::uint32_t u = 0; u < m.n_users; ++u)
        for (std::uint32_t j = 0; j < k; ++j) m.P[std::size_t(u) * m.stride + j] = next();
    for (std::uint32_t i = 0; i < m.n_items; ++i)
        for (std::uint32_t j = 0; j < k; ++j) m.Q[std::size_t(i) * m.stride + j] = next();
    if (biases) {
        m.mu = 3.25f;
        for (auto& b : m.bu) b = next();
        for (auto& b : m.bi) b = next();
        if (!logistic) m.set_prediction_range(1.0f, 5.0f);
    }
    if (ids) {
        std::vector<std::int64_t> u, i;
        for (std::int64_t x = 0; x < 7; ++x) u.push_back(1000 + 7 * x);
        for (std::int64_t x = 0; x < 11; ++x) i.push_back(-50 + 3 * x);
        m.user_ids = std::make_shared<const IdMap>(IdMap::from_raws(u));
        m.item_ids = std::make_shared<const IdMap>(IdMap::from_raws(i));
    }
    return m;
}

MFModel round_trip(const MFModel& m, factors::Format f, const TempDir& dir) {
    std::string out = dir.file(std::string("export.") + factors::format_name(f));
    factors::write(factors_of(m), f, out);
    return model_from_factors(factors::read(f, out, ""));
}

}  // namespace

TEST_CASE("export then import gives a bit-identical model, for every format") {
    TempDir dir;
    for (bool biases : {false, true})
        for (bool ids : {false, true})
            for (bool logistic : {false, true}) {
                CAPTURE(biases);
                CAPTURE(ids);
                CAPTURE(logistic);
                MFModel m = random_model(biases, ids, logistic);
                for (auto f : {factors::Format::spark_json, factors::Format::csv, factors::Format::npy, factors::Format::npz}) {
                    std::string format = factors::format_name(f);
                    CAPTURE(format);
                    MFModel back = round_trip(m, f, dir);
                    CHECK(back.identical(m));
                    CHECK(back.loss() == m.loss());
                    CHECK(back.min_pred == m.min_pred);
                    CHECK(back.max_pred == m.max_pred);
                    CHECK((back.user_ids != nullptr) == ids);
                    if (ids) CHECK(back.item_ids->raws() == m.item_ids->raws());
                }
                if (!biases && !ids) {
                    MFModel back = round_trip(m, factors::Format::libmf, dir);
                    CHECK(back.identical(m));
                    CHECK(back.loss() == m.loss());
                } else {
                    // What LIBMF's file cannot hold is refused, never dropped.
                    CHECK(status_of([&] { round_trip(m, factors::Format::libmf, dir); }) == SIMDMF_ERR_UNSUPPORTED);
                }
            }
}

TEST_CASE("Spark ALS JSON part files import with their ids; predictions are u . v") {
    TempDir dir;
    std::string users = dir.file("userFactors"), items = dir.file("itemFactors");
    std::filesystem::create_directories(users);
    std::filesystem::create_directories(items);
    write(users + "/_SUCCESS", "");
    write(users + "/._SUCCESS.crc", "crc");
    write(users + "/part-00000-1f2e3d4c-0000-0000-0000-000000000000-c000.json",
          "{\"id\":10,\"features\":[0.5,-1.0E-1]}\n{\"id\":30,\"features\":[1.5,2.0]}\n");
    write(users + "/.part-00000-1f2e3d4c-0000-0000-0000-000000000000-c000.json.crc", "crc");
    write(users + "/part-00001-1f2e3d4c-0000-0000-0000-000000000000-c000.json", "{\"id\":20,\"features\":[-2.0,0.25]}\n");
    write(items + "/_SUCCESS", "");
    write(items + "/part-00000-9a8b-c000.json", "{\"id\":7,\"features\":[1.0,2.0]}\n{\"id\":8,\"features\":[0.0,-4.0]}\n");
    MFModel m = model_from_factors(factors::read(factors::Format::spark_json, users, items));
    REQUIRE(m.n_users == 3);
    REQUIRE(m.n_items == 2);
    CHECK(m.k == 2);
    CHECK_FALSE(m.biases);
    std::uint32_t u20, i8;
    REQUIRE(m.user_ids->find(20, &u20));
    REQUIRE(m.item_ids->find(8, &i8));
    CHECK(m.predict(u20, i8) == doctest::Approx(-2.0 * 0.0 + 0.25 * -4.0));
    std::uint32_t u10, i7;
    REQUIRE(m.user_ids->find(10, &u10));
    REQUIRE(m.item_ids->find(7, &i7));
    CHECK(m.predict(u10, i7) == doctest::Approx(0.5 - 0.2));
}

TEST_CASE("Spark CSV (concat_ws, quoted) and plain CSV import") {
    TempDir dir;
    write(dir.file("u.csv"), "1,\"0.5,1.5\"\n2,\"-1,2\"\n");
    write(dir.file("i.csv"), "id,features\n5,2,3\n");
    MFModel m = model_from_factors(factors::read(factors::Format::csv, dir.file("u.csv"), dir.file("i.csv")));
    CHECK(m.n_users == 2);
    CHECK(m.k == 2);
    std::uint32_t u2, i5;
    REQUIRE(m.user_ids->find(2, &u2));
    REQUIRE(m.item_ids->find(5, &i5));
    CHECK(m.predict(u2, i5) == doctest::Approx(-2.0 + 6.0));
}

TEST_CASE("LIBMF's model file imports, untrained rows as zero factors") {
    TempDir dir;
    // The README's example: P and Q stored by columns (k values per line), p1 never trained.
    write(dir.file("model"), "f 0\nm 3\nn 2\nk 3\nb 0.5\np0 T 1 3 5\np1 F 0 0 0\np2 T 2 4 6\nq0 T -1 -3 -5\nq1 T -2 -4 -6\n");
    MFModel m = model_from_factors(factors::read(factors::Format::libmf, dir.file("model"), ""));
    CHECK(m.n_users == 3);
    CHECK(m.n_items == 2);
    CHECK(m.predict(0, 0) == doctest::Approx(-(1 + 9 + 25)));
    CHECK(m.predict(2, 1) == doctest::Approx(-(4 + 16 + 36)));
    CHECK(m.predict(1, 0) == 0.0f);
    // A truncated file says so.
    write(dir.file("short"), "f 0\nm 3\nn 2\nk 3\nb 0.5\np0 T 1 3 5\n");
    CHECK(status_of([&] { factors::read(factors::Format::libmf, dir.file("short"), ""); }) == SIMDMF_ERR_FORMAT);
}

TEST_CASE("bad factor files are refused with the file and line named") {
    TempDir dir;
    write(dir.file("i.json"), "{\"id\":1,\"features\":[1,2]}\n");
    auto err = [&](const std::string& users_text) -> std::pair<simdmf_status, std::string> {
        write(dir.file("u.json"), users_text);
        try {
            factors::read(factors::Format::spark_json, dir.file("u.json"), dir.file("i.json"));
        } catch (const Error& e) {
            return {e.status(), e.what()};
        }
        return {SIMDMF_OK, ""};
    };
    auto ragged = err("{\"id\":1,\"features\":[1,2]}\n{\"id\":2,\"features\":[1,2,3]}\n");
    CHECK(ragged.first == SIMDMF_ERR_FORMAT);
    CHECK(ragged.second.find("u.json:2") != std::string::npos);
    CHECK(err("{\"id\":1,\"features\":[NaN,2]}\n").first == SIMDMF_ERR_INVALID_DATA);
    CHECK(err("{\"id\":1,\"features\":[1e39,2]}\n").first == SIMDMF_ERR_INVALID_DATA);
    auto dup = err("{\"id\":1,\"features\":[1,2]}\n{\"id\":1,\"features\":[3,4]}\n");
    CHECK(dup.first == SIMDMF_ERR_INVALID_DATA);
    CHECK(dup.second.find("duplicate user id 1") != std::string::npos);
    auto k_differs = err("{\"id\":1,\"features\":[1,2,3]}\n");
    CHECK(k_differs.first == SIMDMF_ERR_FORMAT);
    CHECK(k_differs.second.find("k = 3") != std::string::npos);
    CHECK(err("{\"id\":1}\n").first == SIMDMF_ERR_FORMAT);
    CHECK(err("not json\n").first == SIMDMF_ERR_FORMAT);
    // numpy: a truncated array and a compressed member.
    MFModel m = random_model(false, false, false);
    factors::write(factors_of(m), factors::Format::npz, dir.file("m.npz"));
    auto bytes = read_file(dir.file("m.npz"));
    write(dir.file("cut.npz"), std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size() / 2));
    CHECK(status_of([&] { factors::read(factors::Format::npz, dir.file("cut.npz"), ""); }) == SIMDMF_ERR_FORMAT);
    std::string z(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    z[8] = 8;  // local header's method: deflate
    std::size_t cd = z.rfind(std::string("PK\x01\x02", 4));
    while (cd != std::string::npos) {
        z[cd + 10] = 8;  // and the directory's
        cd = cd ? z.rfind(std::string("PK\x01\x02", 4), cd - 1) : std::string::npos;
    }
    write(dir.file("deflated.npz"), z);
    CHECK(status_of([&] { factors::read(factors::Format::npz, dir.file("deflated.npz"), ""); }) == SIMDMF_ERR_UNSUPPORTED);
}

TEST_CASE("model_from_factors checks what the model reader checks") {
    factors::FactorSet s;
    s.users.rows = 2;
    s.users.k = 2;
    s.users.values = {1, 2, 3, 4};
    s.items = s.users;
    CHECK(model_from_factors(s).n_users == 2);
    auto bad = s;
    bad.items.k = 1;
    bad.items.values = {1, 2};
    CHECK(status_of([&] { model_from_factors(bad); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    bad = s;
    bad.users.values[3] = std::nanf("");
    CHECK(status_of([&] { model_from_factors(bad); }) == SIMDMF_ERR_INVALID_DATA);
    bad = s;
    bad.users.ids = {5, 5};
    CHECK(status_of([&] { model_from_factors(bad); }) == SIMDMF_ERR_INVALID_DATA);
    bad = s;
    bad.min_pred = 5;
    bad.max_pred = 1;
    CHECK(status_of([&] { model_from_factors(bad); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    bad = s;
    bad.users.bias = {1, 2};
    CHECK(status_of([&] { model_from_factors(bad); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    auto with_mu = s;
    with_mu.mu = 2.5f;
    MFModel m = model_from_factors(with_mu);
    CHECK(m.predict(0, 1) == doctest::Approx(2.5 + 1 * 3 + 2 * 4));
}

TEST_CASE("string raw ids survive json and csv, and are refused by numpy and LIBMF exports") {
    TempDir dir;
    write(dir.file("u.json"), "{\"id\":\"USER_1\",\"features\":[1,2]}\n{\"id\":17,\"features\":[3,4]}\n");
    write(dir.file("i.csv"), "LOC_12,1,0\nLOC_13,0,1\n");
    write(dir.file("i.json"), "{\"id\":\"LOC_12\",\"features\":[1,0]}\n{\"id\":\"LOC_13\",\"features\":[0,1]}\n");
    MFModel m = model_from_factors(factors::read(factors::Format::spark_json, dir.file("u.json"), dir.file("i.json")));
    REQUIRE(m.user_ids);
    CHECK(m.user_ids->is_string());
    std::uint32_t u, i;
    REQUIRE(m.user_ids->find(std::string_view("USER_1"), &u));
    REQUIRE(m.item_ids->find(std::string_view("LOC_13"), &i));
    CHECK(m.predict(u, i) == 2.0f);
    REQUIRE(m.user_ids->find(std::string_view("17"), &u));  // an integer id beside strings, as text
    CHECK(u == 1);
    // CSV ids that are not integers (no header taken for them).
    auto s = factors::read(factors::Format::csv, dir.file("i.csv"), dir.file("i.csv"));
    CHECK(s.users.rows == 2);
    CHECK(s.users.str_ids == std::vector<std::string>{"LOC_12", "LOC_13"});
    for (auto f : {factors::Format::spark_json, factors::Format::csv}) {
        MFModel back = round_trip(m, f, dir);
        CHECK(back.identical(m));
        CHECK(back.user_ids->strings_list() == m.user_ids->strings_list());
        CHECK(back.item_ids->strings_list() == m.item_ids->strings_list());
    }
    CHECK(status_of([&] { round_trip(m, factors::Format::npz, dir); }) == SIMDMF_ERR_UNSUPPORTED);
    write(dir.file("dup.json"), "{\"id\":\"a\",\"features\":[1,2]}\n{\"id\":\"a\",\"features\":[3,4]}\n");
    CHECK(status_of([&] { factors::read(factors::Format::spark_json, dir.file("dup.json"), dir.file("i.json")); }) ==
          SIMDMF_ERR_INVALID_DATA);
}

TEST_CASE("a large .npy is read in pieces: a NaN past the first piece names its row; the model takes the tables over") {
    // 70,000 x 16 floats = 4.48 MB: several 1 MiB read pieces and the huge-page allocation path.
    TempDir dir;
    factors::FactorSet s;
    s.users.rows = 70000;
    s.users.k = 16;
    s.users.values.resize(std::size_t(s.users.rows) * 16);
    for (std::size_t j = 0; j < s.users.values.size(); ++j) s.users.values[j] = float(j % 1000) * 1e-3f - 0.5f;
    s.items.rows = 3;
    s.items.k = 16;
    s.items.values.assign(3 * 16, 0.25f);
    s.items.untrained = {0, 1, 0};
    factors::write(s, factors::Format::npy, dir.file("ok"));
    const std::string u = dir.file("ok") + "/user_factors.npy", i = dir.file("ok") + "/item_factors.npy";

    factors::FactorSet r = factors::read(factors::Format::npy, u, i);
    REQUIRE(r.users.values.size() == s.users.values.size());
    CHECK(std::equal(r.users.values.begin(), r.users.values.end(), s.users.values.begin()));
    const MFModel copied = model_from_factors(r);
    const float* buffer = r.users.values.data();
    r.items.untrained = {0, 1, 0};  // .npy holds no such flags: given here to check the zeroing
    const MFModel taken = model_from_factors(std::move(r));
    CHECK(std::as_const(taken.P).data() == buffer);  // no copy of the 4.48 MB table
    CHECK(taken.P.borrowed());
    for (std::uint32_t x : {0u, 1u, 34567u, 69999u})
        for (std::uint32_t y = 0; y < 3; ++y) CHECK(taken.predict(x, y) == copied.predict(x, y) * (y == 1 ? 0.0f : 1.0f));

    s.users.values[std::size_t(50000) * 16 + 3] = std::nanf("");
    factors::write(s, factors::Format::npy, dir.file("bad"));
    try {
        factors::read(factors::Format::npy, dir.file("bad") + "/user_factors.npy", dir.file("bad") + "/item_factors.npy");
        FAIL("a NaN was accepted");
    } catch (const Error& e) {
        CHECK(e.status() == SIMDMF_ERR_INVALID_DATA);
        CHECK(std::string(e.what()).find("row 50000 ") != std::string::npos);
    }
}

TEST_CASE("read with map: a .npy in the model's layout is a checked view of the file, and the model borrows it") {
    TempDir dir;
    factors::FactorSet s;
    s.users.rows = 40;
    s.users.k = 32;
    s.users.values.resize(40 * 32);
    for (std::size_t j = 0; j < s.users.values.size(); ++j) s.users.values[j] = float(j % 17) * 0.125f - 1.0f;
    s.items.rows = 5;
    s.items.k = 32;
    s.items.values.assign(5 * 32, -0.5f);
    factors::write(s, factors::Format::npy, dir.file("ok"));
    const std::string u = dir.file("ok") + "/user_factors.npy", i = dir.file("ok") + "/item_factors.npy";
    const MFModel copied = model_from_factors(factors::read(factors::Format::npy, u, i));

    factors::FactorSet r = factors::read(factors::Format::npy, u, i, /*map=*/true);
    REQUIRE(r.users.mapped != nullptr);
    CHECK(r.users.values.empty());
    REQUIRE(r.users.size() == s.users.values.size());
    CHECK(std::equal(r.users.data(), r.users.data() + r.users.size(), s.users.values.begin()));
    const float* view = r.users.mapped;
    const MFModel mapped = model_from_factors(std::move(r));
    CHECK(std::as_const(mapped.P).data() == view);  // served from the file's pages
    for (std::uint32_t x : {0u, 17u, 39u})
        for (std::uint32_t y = 0; y < 5; ++y) CHECK(mapped.predict(x, y) == copied.predict(x, y));

    // A layout the model cannot borrow (k = 5) is read into memory as without map.
    factors::FactorSet odd;
    odd.users.rows = odd.items.rows = 2;
    odd.users.k = odd.items.k = 5;
    odd.users.values.assign(10, 1.0f);
    odd.items.values.assign(10, 2.0f);
    factors::write(odd, factors::Format::npy, dir.file("odd"));
    factors::FactorSet o =
        factors::read(factors::Format::npy, dir.file("odd") + "/user_factors.npy", dir.file("odd") + "/item_factors.npy", true);
    CHECK(o.users.mapped == nullptr);
    CHECK(model_from_factors(std::move(o)).predict(1, 1) == doctest::Approx(10.0));

    s.users.values[std::size_t(33) * 32 + 31] = INFINITY;
    factors::write(s, factors::Format::npy, dir.file("bad"));
    try {
        factors::read(factors::Format::npy, dir.file("bad") + "/user_factors.npy", dir.file("bad") + "/item_factors.npy", true);
        FAIL("an infinity was accepted");
    } catch (const Error& e) {
        CHECK(e.status() == SIMDMF_ERR_INVALID_DATA);
        CHECK(std::string(e.what()).find("row 33 ") != std::string::npos);
    }
}
