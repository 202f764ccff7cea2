#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "common.hpp"
#include "dataset.hpp"
#include "test_util.hpp"

using namespace simdmf;

using simdmf_test::status_of;

TEST_CASE("IdMap hands out indices in order of first appearance") {
    IdMap m;
    CHECK(m.intern(42) == 0);
    CHECK(m.intern(-7) == 1);
    CHECK(m.intern(42) == 0);
    CHECK(m.intern(std::numeric_limits<std::int64_t>::max()) == 2);
    CHECK(m.size() == 3);
    CHECK(m.raw(1) == -7);
    std::uint32_t idx = 99;
    CHECK(m.find(-7, &idx));
    CHECK(idx == 1);
    CHECK_FALSE(m.find(5, &idx));
    CHECK(idx == 1);

    IdMap r = IdMap::from_raws({10, 20, 30});
    CHECK(r.find(30, &idx));
    CHECK(idx == 2);
    CHECK(status_of([] { IdMap::from_raws({1, 2, 1}); }) == SIMDMF_ERR_INVALID_DATA);
}

TEST_CASE("IdMap with string ids: integer texts are integers; to_strings keeps the indices") {
    IdMap m;
    CHECK(m.intern(std::string_view("12")) == 0);
    CHECK(status_of([&] { m.intern(std::string_view("USER_894")); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    m.intern(-3);
    m.to_strings();
    CHECK(m.is_string());
    CHECK(m.raws().empty());
    CHECK(m.intern(std::string_view("USER_894")) == 2);
    CHECK(m.intern(std::string_view("+012")) == 0);  // canonical decimal: the same id as 12
    CHECK(m.intern(std::int64_t{-3}) == 1);
    CHECK(m.size() == 3);
    CHECK(m.text(0) == "12");
    CHECK(m.text(2) == "USER_894");
    CHECK(status_of([&] { (void)m.raw(0); }) == SIMDMF_ERR_UNSUPPORTED);
    std::uint32_t idx = 99;
    CHECK(m.find(std::int64_t{12}, &idx));
    CHECK(idx == 0);
    CHECK(m.find(std::string_view("USER_894"), &idx));
    CHECK(idx == 2);
    CHECK_FALSE(m.find(std::string_view("user_894"), &idx));
    for (const char* bad : {"", "a b", "tab\there", "nul\x01", "esc\x1b["})
        CHECK(status_of([&] { m.intern(std::string_view(bad)); }) == SIMDMF_ERR_INVALID_DATA);
    CHECK(status_of([&] { m.intern(std::string(300, 'x')); }) == SIMDMF_ERR_INVALID_DATA);

    IdMap ints = IdMap::from_raws({5, 7});
    CHECK(ints.find(std::string_view("7"), &idx));
    CHECK(idx == 1);
    CHECK_FALSE(ints.find(std::string_view("LOC_7"), &idx));
    CHECK(ints.text(1) == "7");

    IdMap s = IdMap::from_strings({"a1f3", "0042", "zz"});
    CHECK(s.text(1) == "42");
    CHECK(s.find(std::int64_t{42}, &idx));
    CHECK(idx == 1);
    CHECK(status_of([] { IdMap::from_strings({"x", "y", "x"}); }) == SIMDMF_ERR_INVALID_DATA);
    CHECK(status_of([] { IdMap::from_strings({"7", "+7"}); }) == SIMDMF_ERR_INVALID_DATA);
    // A copy (as fold-in makes) keeps working.
    IdMap c = s;
    CHECK(c.find(std::string_view("zz"), &idx));
    CHECK(idx == 2);
}

TEST_CASE("align_ids across string and integer maps") {
    Ratings test;
    test.add(0, 0, 1.0f);
    test.add(1, 1, 2.0f);
    test.add(2, 0, 3.0f);
    auto tu = std::make_shared<const IdMap>(IdMap::from_strings({"u_a", "17", "u_zz"}));
    auto ti = std::make_shared<const IdMap>(IdMap::from_raws({4, 9}));
    test.user_ids = tu;
    test.item_ids = ti;
    auto ru = std::make_shared<const IdMap>(IdMap::from_strings({"17", "u_a"}));
    auto ri = std::make_shared<const IdMap>(IdMap::from_strings({"9", "x", "4"}));
    std::size_t unknown = 0;
    Ratings a = align_ids(test, ru, ri, 2, 3, &unknown);
    CHECK(unknown == 1);  // u_zz
    REQUIRE(a.size() == 2);
    CHECK(a.user == std::vector<std::uint32_t>{1, 0});
    CHECK(a.item == std::vector<std::uint32_t>{2, 0});
    // Without a reference map, an integer-looking string id is the index.
    Ratings b = align_ids(test, nullptr, nullptr, 20, 20, &unknown);
    CHECK(unknown == 2);
    REQUIRE(b.size() == 1);
    CHECK(b.user[0] == 17);
}

TEST_CASE("Ratings::add grows the dimensions; subset and empty_like keep them") {
    Ratings r;
    r.add(0, 3, 1.5f);
    r.add(4, 1, -2.0f);
    r.add(2, 0, 3.0f);
    CHECK(r.size() == 3);
    CHECK(r.n_users == 5);
    CHECK(r.n_items == 4);
    CHECK(r.mean_value() == doctest::Approx(2.5 / 3));
    r.user_ids = std::make_shared<const IdMap>(IdMap::from_raws({5, 6, 7, 8, 9}));
    r.timestamp = {100, 200, 300};

    Ratings s = r.subset({2, 0});
    REQUIRE(s.size() == 2);
    CHECK(s.user[0] == 2);
    CHECK(s.item[1] == 3);
    CHECK(s.value[1] == 1.5f);
    CHECK(s.timestamp == std::vector<std::int64_t>{300, 100});
    CHECK(s.n_users == 5);
    CHECK(s.n_items == 4);
    CHECK(s.user_ids == r.user_ids);

    Ratings e = r.empty_like();
    CHECK(e.empty());
    CHECK(e.n_users == 5);
    CHECK(e.user_ids == r.user_ids);
}

TEST_CASE("Ratings::validate") {
    Ratings r;
    r.add(0, 0, 1.0f);
    r.add(1, 1, -1.0f);
    CHECK_NOTHROW(r.validate(true));
    r.value[0] = 0.5f;
    CHECK_NOTHROW(r.validate(false));
    CHECK(status_of([&] { r.validate(true); }) == SIMDMF_ERR_INVALID_DATA);
    r.value[0] = std::numeric_limits<float>::quiet_NaN();
    CHECK(status_of([&] { r.validate(false); }) == SIMDMF_ERR_INVALID_DATA);
    r.value[0] = std::numeric_limits<float>::infinity();
    CHECK(status_of([&] { r.validate(false); }) == SIMDMF_ERR_INVALID_DATA);
    r.value[0] = 1.0f;
    r.n_items = 1;
    CHECK(status_of([&] { r.validate(false); }) == SIMDMF_ERR_OUT_OF_RANGE);
    r.n_items = 2;
    r.item.push_back(0);
    CHECK(status_of([&] { r.validate(false); }) == SIMDMF_ERR_INVALID_DATA);
}

TEST_CASE("ratings_from_triples") {
    const std::uint32_t u[] = {0, 2, 1};
    const std::uint32_t i[] = {1, 0, 4};
    const float v[] = {1, 2, 3};
    Ratings r = ratings_from_triples(u, i, v, 3, 0, 0);
    CHECK(r.n_users == 3);
    CHECK(r.n_items == 5);
    CHECK(r.item[2] == 4);
    Ratings big = ratings_from_triples(u, i, v, 3, 10, 20);
    CHECK(big.n_users == 10);
    CHECK(big.n_items == 20);
    CHECK(status_of([&] { ratings_from_triples(u, i, v, 3, 2, 0); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { ratings_from_triples(u, i, v, 3, 0, 4); }) == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(status_of([&] { ratings_from_triples(nullptr, i, v, 3, 0, 0); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    Ratings none = ratings_from_triples(nullptr, nullptr, nullptr, 0, 0, 0);
    CHECK(none.empty());
}

TEST_CASE("ratings_from_dense: 0 and NaN are missing, Inf rejected") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float m[] = {1, 0, nan,  //
                       0, -2, 3};
    Ratings r = ratings_from_dense(m, 2, 3);
    REQUIRE(r.size() == 3);
    CHECK(r.n_users == 2);
    CHECK(r.n_items == 3);
    CHECK(r.user == std::vector<std::uint32_t>{0, 1, 1});
    CHECK(r.item == std::vector<std::uint32_t>{0, 1, 2});
    CHECK(r.value == std::vector<float>{1, -2, 3});

    const float z[] = {0, 0, 0, 0};
    Ratings empty = ratings_from_dense(z, 2, 2);
    CHECK(empty.empty());
    CHECK(empty.n_users == 2);

    const float inf[] = {1, -std::numeric_limits<float>::infinity()};
    CHECK(status_of([&] { ratings_from_dense(inf, 1, 2); }) == SIMDMF_ERR_INVALID_DATA);
    CHECK(status_of([&] { ratings_from_dense(m, 0, 3); }) == SIMDMF_ERR_INVALID_ARGUMENT);
}
