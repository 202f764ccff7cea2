// Serving-side helpers shared by the C ABI and the CLI: the seen-item index, raw-id lookups, status
// names and the progress-callback adapter.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"
#include "idspace.hpp"
#include <memory>
#include "progress.hpp"
#include "serve/seen.hpp"
#include "status.hpp"
#include "test_util.hpp"

using namespace simdmf;
using simdmf_test::status_of;

TEST_CASE("SeenItems: each user's items sorted and unique, empty beyond the data set") {
    const std::vector<std::uint32_t> u = {2, 0, 2, 2, 0, 3};
    const std::vector<std::uint32_t> i = {5, 1, 0, 5, 1, 7};
    const std::vector<float> v(u.size(), 1.0f);
    const Ratings r = ratings_from_triples(u.data(), i.data(), v.data(), u.size(), 5, 8);
    const SeenItems seen(r);
    CHECK(seen.users() == 5);
    CHECK(seen.entries() == 4);  // (0,1) (2,0) (2,5) (3,7)
    auto items = [&](std::uint32_t user) {
        auto s = seen.of(user);
        return std::vector<std::uint32_t>(s.begin(), s.end());
    };
    CHECK(items(0) == std::vector<std::uint32_t>{1});
    CHECK(items(1).empty());
    CHECK(items(2) == std::vector<std::uint32_t>{0, 5});
    CHECK(items(3) == std::vector<std::uint32_t>{7});
    CHECK(items(4).empty());
    CHECK(items(99).empty());
    CHECK(SeenItems().of(0).empty());
}

TEST_CASE("SeenItems agrees with a per-user scan on random data") {
    std::vector<std::uint32_t> u, i;
    std::uint64_t x = 12345;
    for (int k = 0; k < 2000; ++k) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        u.push_back(static_cast<std::uint32_t>((x >> 33) % 37));
        i.push_back(static_cast<std::uint32_t>((x >> 17) % 53));
    }
    const std::vector<float> v(u.size(), 3.0f);
    const Ratings r = ratings_from_triples(u.data(), i.data(), v.data(), u.size(), 0, 0);
    const SeenItems seen(r);
    for (std::uint32_t user = 0; user < 37; ++user) {
        std::vector<std::uint32_t> want;
        for (std::size_t k = 0; k < u.size(); ++k)
            if (u[k] == user) want.push_back(i[k]);
        std::sort(want.begin(), want.end());
        want.erase(std::unique(want.begin(), want.end()), want.end());
        auto s = seen.of(user);
        CHECK(std::vector<std::uint32_t>(s.begin(), s.end()) == want);
    }
}

TEST_CASE("raw-id lookups: through a map, or the index itself without one") {
    auto map = IdMap::from_raws({10, -4, 99});
    std::uint32_t idx = 7;
    CHECK(find_raw(&map, 3, -4, &idx));
    CHECK(idx == 1);
    CHECK_FALSE(find_raw(&map, 3, 11, &idx));
    CHECK_FALSE(find_raw(&map, 2, 99, &idx));  // beyond the first n indices
    CHECK(raw_of(&map, 2) == 99);
    CHECK(find_raw(nullptr, 5, 4, &idx));
    CHECK(idx == 4);
    CHECK_FALSE(find_raw(nullptr, 5, 5, &idx));
    CHECK_FALSE(find_raw(nullptr, 5, -1, &idx));
    CHECK(raw_of(nullptr, 3) == 3);
}

TEST_CASE("status names: one per status, 'unknown status' otherwise") {
    CHECK(std::string(status_name(SIMDMF_OK)) == "ok");
    CHECK(std::string(status_name(SIMDMF_ERR_INVALID_ARGUMENT)) == "invalid argument");
    CHECK(std::string(status_name(SIMDMF_ERR_NOT_FOUND)) == "not found");
    CHECK(std::string(status_name(static_cast<simdmf_status>(12345))) == "unknown status");
}

namespace {
struct Calls {
    int n = 0;
    int stop_at = 0;
    simdmf_epoch_info last{};
};
int record_call(const simdmf_epoch_info* info, void* user) {
    auto* c = static_cast<Calls*>(user);
    c->last = *info;
    return ++c->n == c->stop_at ? 1 : 0;
}
}  // namespace

TEST_CASE("progress adapter: epochs, folds and tuning trials reach the C callback") {
    CHECK_FALSE(CProgress{}.epochs());
    CHECK_FALSE(CProgress{}.fold_epochs());
    CHECK_FALSE(CProgress{}.trials());
    Calls calls;
    calls.stop_at = 2;
    const CProgress p{record_call, &calls};
    EpochInfo e;
    e.epoch = 3;
    e.max_epochs = 9;
    e.train_loss = 0.5;
    CHECK(p.epochs()(e));
    CHECK(calls.last.struct_size == sizeof(simdmf_epoch_info));
    CHECK(calls.last.epoch == 3);
    CHECK(calls.last.train_loss == 0.5);
    CHECK_FALSE(p.fold_epochs()(1, e));  // the second call asks to stop
    calls.n = 0;
    calls.stop_at = 2;
    auto trials = p.trials();
    tune::Trial t;
    t.score = 0.9;
    t.lr = 0.02;
    trials(1, 4, t);
    CHECK(calls.last.epoch == 1);
    CHECK(calls.last.max_epochs == 4);
    CHECK(calls.last.valid_metric == 0.9);
    CHECK(std::isnan(calls.last.train_loss));
    CHECK(status_of([&] { trials(2, 4, t); }) == SIMDMF_CANCELLED);
    trials(3, 4, t);  // after a stop, later runs are not reported
    CHECK(calls.n == 2);
}

TEST_CASE("id spaces: string maps, prefixes, and align_to extending the reference's map") {
    auto ref = std::make_shared<const IdMap>(IdMap::from_strings({"USER_1", "7", "USER_3"}));
    auto items = std::make_shared<const IdMap>(IdMap::from_raws({5, 6}));
    Ratings r;
    r.add(0, 0, 4.0f);
    r.add(2, 1, 3.0f);
    r.user_ids = ref;
    r.item_ids = items;
    IdSpace space{ref, items, 3, 2, false};
    CHECK(id_space_mismatch(r, space, "the data").empty());
    // A separate but equal map (integer text 7 stored canonically), and a prefix of it.
    Ratings same = r;
    same.user_ids = std::make_shared<const IdMap>(IdMap::from_strings({"USER_1", "7"}));
    same.n_users = 2;
    same.user = {0, 1};
    CHECK(id_space_mismatch(same, space, "the data").empty());
    // A map that differs at index 1: refused, naming both ids.
    Ratings other = same;
    other.user_ids = std::make_shared<const IdMap>(IdMap::from_strings({"USER_1", "USER_9"}));
    const std::string why = id_space_mismatch(other, space, "the data");
    CHECK(why.find("user index 1") != std::string::npos);
    CHECK(why.find("USER_9") != std::string::npos);
    CHECK(status_of([&] { check_id_space(other, space, "the data"); }) == SIMDMF_ERR_INVALID_ARGUMENT);
    // align_to: known ids take the reference's indices, new ones follow (cold) or are left out.
    std::size_t unknown = 0;
    const Ratings a = align_to(other, space, true, &unknown);
    CHECK(unknown == 1);
    CHECK(a.user == std::vector<std::uint32_t>{0, 3});
    CHECK(a.n_users == 4);
    CHECK(a.user_ids->text(3) == "USER_9");
    CHECK(id_space_mismatch(a, space, "the aligned data").empty());
    const Ratings d = align_to(other, space, false, &unknown);
    CHECK(unknown == 1);
    CHECK(d.size() == 1);
    CHECK(d.user_ids == ref);  // nothing added: the reference's map itself
}
