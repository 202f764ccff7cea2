// Issue 5: bad input of every kind gets an exact status and a useful message, never a crash, a hang
// or an unbounded allocation; divergence hands back the last good epoch; an interrupted save leaves
// the previous model intact.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"
#include "io/fileio.hpp"
#include "io/model_file.hpp"
#include "v2_image.hpp"
#include "io/loaders.hpp"
#include "models/mf.hpp"
#include "rng.hpp"
#include "solvers/solvers.hpp"
#include "synthetic.hpp"
#include "test_util.hpp"
#include "solvers/trainer.hpp"

using namespace simdmf;

namespace {

struct Outcome {
    simdmf_status status = SIMDMF_OK;
    std::string message;
};

template <class F>
Outcome outcome(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return {e.status(), e.what()};
    }
    return {};
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void write_bytes(const std::string& path, const std::string& b) {
    std::ofstream(path, std::ios::binary).write(b.data(), std::streamsize(b.size()));
}
void write_bytes(const std::string& path, const std::vector<unsigned char>& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

Ratings load_as(const std::string& path, io::Format f, bool skip_bad = false) {
    io::LoadOptions o;
    o.format = f;
    o.skip_bad_lines = skip_bad;
    return io::load(path, o);
}

const io::Format kTextFormats[] = {io::Format::movielens_data, io::Format::movielens_dat,
                                   io::Format::movielens_csv, io::Format::libmf, io::Format::delimited};

Ratings planted(std::uint32_t users, std::uint32_t items, std::uint64_t n, std::uint64_t seed = 3) {
    PlantedSpec s;
    s.n_users = users;
    s.n_items = items;
    s.n_ratings = n;
    s.seed = seed;
    return make_planted(s);
}

}  // namespace

TEST_CASE("empty files: loaders, training and the model reader give exact statuses") {
    simdmf_test::TempDir dir;
    const std::string empty = dir.file("empty");
    write_bytes(empty, std::string());
    for (io::Format f : kTextFormats) {
        CAPTURE(io::format_name(f));
        Ratings r = load_as(empty, f);  // an empty text file is an empty data set
        CHECK(r.size() == 0);
        CHECK(r.n_users == 0);
        Outcome t = outcome([&] { train(TrainOptions{}, r, nullptr); });
        CHECK(t.status == SIMDMF_ERR_INVALID_DATA);
        CHECK(has(t.message, "no ratings"));
    }
    Outcome a = outcome([&] { io::load(empty); });
    CHECK(a.status == SIMDMF_ERR_FORMAT);
    CHECK(has(a.message, "cannot detect the format"));
    Outcome b = outcome([&] { load_as(empty, io::Format::binary); });
    CHECK(b.status == SIMDMF_ERR_FORMAT);
    CHECK(has(b.message, "bad magic"));
    Outcome m = outcome([&] { load_model(empty); });
    CHECK(m.status == SIMDMF_ERR_FORMAT);
    CHECK(has(m.message, "not a simdmf model file"));
    Outcome missing = outcome([&] { load_model(dir.file("missing")); });
    CHECK(missing.status == SIMDMF_ERR_IO);
    CHECK(has(missing.message, "missing"));
}

TEST_CASE("binary garbage is a format error naming the file and line, for every reader") {
    simdmf_test::TempDir dir;
    const std::string path = dir.file("garbage");
    Rng rng(11);
    for (int trial = 0; trial < 20; ++trial) {
        // Two garbage lines at least (ratings.csv takes a non-numeric first line for its header), each
        // starting with a byte that is never a digit, a sign, a blank or '#'.
        std::string g(2 + rng.below(4000), '\0');
        for (char& c : g) c = static_cast<char>(rng.below(256));
        g[0] = static_cast<char>(0x80 | (g[0] & 0x7F));
        const std::size_t cut = 1 + rng.below(g.size() - 1);
        g.insert(cut, "\n\x9F");
        write_bytes(path, g);
        CAPTURE(trial);
        for (io::Format f : kTextFormats) {
            CAPTURE(io::format_name(f));
            Outcome o = outcome([&] { load_as(path, f); });
            CHECK(o.status == SIMDMF_ERR_FORMAT);
            CHECK(has(o.message, path + ":"));
            // skip_bad_lines loads what parses (nothing here) and counts the rest
            io::LoadOptions lo;
            lo.format = f;
            lo.skip_bad_lines = true;
            io::LoadReport rep;
            CHECK_NOTHROW(io::load(path, lo, &rep));
            CHECK(rep.skipped >= 1);
        }
        Outcome b = outcome([&] { load_as(path, io::Format::binary); });
        CHECK(b.status == SIMDMF_ERR_FORMAT);
        Outcome m = outcome([&] { load_model(path); });
        CHECK(m.status == SIMDMF_ERR_FORMAT);
    }
}

TEST_CASE("huge ids: 4e9 and 1e30") {
    simdmf_test::TempDir dir;
    const std::string p = dir.file("ids");
    // Mapped formats keep any int64 raw id: 4e9 becomes a dense index.
    write_bytes(p, "4000000000\t7\t4\t0\n12\t9000000000000000000\t3\t0\n");
    Ratings r = load_as(p, io::Format::movielens_data);
    CHECK(r.size() == 2);
    CHECK(r.n_users == 2);
    CHECK(r.user_ids->raw(0) == 4000000000LL);
    CHECK(r.item_ids->raw(1) == 9000000000000000000LL);
    // 1e30 is not an integer id, so it is a string id; 2^64 is an integer beyond int64: refused.
    write_bytes(p, "1e30\t7\t4\t0\n");
    Ratings s = load_as(p, io::Format::movielens_data);
    CHECK(s.user_ids->is_string());
    CHECK(s.user_ids->text(0) == "1e30");
    write_bytes(p, "1\t18446744073709551616\t4\t0\n");
    Outcome b = outcome([&] { load_as(p, io::Format::movielens_data); });
    CHECK(b.status == SIMDMF_ERR_FORMAT);
    CHECK(has(b.message, "out of int64 range"));
    // libmf ids ARE indices: 4294967295 (2^32-1) is refused, 4e9 is accepted...
    write_bytes(p, "4294967295 0 1\n");
    Outcome c = outcome([&] { load_as(p, io::Format::libmf); });
    CHECK(c.status == SIMDMF_ERR_FORMAT);
    CHECK(has(c.message, "too large for an index"));
    write_bytes(p, "4000000000 0 1\n0 1 2\n");
    Ratings big = load_as(p, io::Format::libmf);
    CHECK(big.n_users == 4000000001u);
    // ... but a model over 4e9 users does not fit: refused before any allocation.
    TrainOptions o;
    o.k = 8;
    o.epochs = 1;
    Outcome t = outcome([&] { train(o, big, nullptr); });
    CHECK(t.status == SIMDMF_ERR_OUT_OF_MEMORY);
    CHECK(has(t.message, "physical memory"));
    // 1e30 as a rating is a finite float; 1e39 is not.
    write_bytes(p, "1 2 1e30\n");
    CHECK(load_as(p, io::Format::libmf).value[0] == 1e30f);
    write_bytes(p, "1 2 1e39\n");
    Outcome d = outcome([&] { load_as(p, io::Format::libmf); });
    CHECK(d.status == SIMDMF_ERR_FORMAT);
    CHECK(has(d.message, "rating '1e39' is out of float range"));
}

TEST_CASE("duplicate (user, item) pairs are kept as separate observations") {
    // Documented in docs/reliability.md: files are not deduplicated; SGD visits each copy, so a pair
    // given twice weighs twice. Callers who want one value per pair merge before loading.
    simdmf_test::TempDir dir;
    const std::string p = dir.file("dup.data");
    write_bytes(p, "1\t10\t5\t0\n1\t10\t1\t1\n2\t10\t3\t2\n");
    Ratings r = load_as(p, io::Format::movielens_data);
    REQUIRE(r.size() == 3);
    CHECK(r.user[0] == r.user[1]);
    CHECK(r.item[0] == r.item[1]);
    CHECK(r.value[0] == 5.0f);
    CHECK(r.value[1] == 1.0f);
    TrainOptions o;
    o.k = 2;
    o.epochs = 3;
    TrainResult res = train(o, r, nullptr);
    CHECK(res.status == SIMDMF_OK);
    // A duplicate raw id inside an id map (a corrupted binary file or model) is refused.
    Outcome m = outcome([] { IdMap::from_raws({5, 6, 5}); });
    CHECK(m.status == SIMDMF_ERR_INVALID_DATA);
    CHECK(has(m.message, "duplicate raw id 5"));
}

TEST_CASE("NaN and Inf ratings are refused by the loaders and by training") {
    simdmf_test::TempDir dir;
    const std::string p = dir.file("nan");
    for (const char* v : {"nan", "NaN", "inf", "-inf", "infinity"}) {
        CAPTURE(v);
        write_bytes(p, std::string("1 2 ") + v + "\n");
        Outcome o = outcome([&] { load_as(p, io::Format::libmf); });
        CHECK(o.status == SIMDMF_ERR_FORMAT);
        CHECK(has(o.message, p + ":1: rating"));
    }
    const std::uint32_t u[] = {0, 1}, i[] = {0, 1};
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        const float v[] = {3.0f, bad};
        Ratings r = ratings_from_triples(u, i, v, 2, 0, 0);
        Outcome o = outcome([&] { train(TrainOptions{}, r, nullptr); });
        CHECK(o.status == SIMDMF_ERR_INVALID_DATA);
        CHECK(has(o.message, "rating 1 is not finite"));
    }
    const float dense[] = {1, std::numeric_limits<float>::infinity(), 0, 2};
    Outcome d = outcome([&] { ratings_from_dense(dense, 2, 2); });
    CHECK(d.status == SIMDMF_ERR_INVALID_DATA);
    CHECK(has(d.message, "(0,1) is infinite"));
}

TEST_CASE("ratings outside a declared range are refused") {
    const std::uint32_t u[] = {0, 1, 2}, i[] = {0, 1, 0};
    const float v[] = {1.0f, 5.0f, 6.5f};
    Ratings r = ratings_from_triples(u, i, v, 3, 0, 0);
    TrainOptions o;
    o.k = 2;
    o.epochs = 2;
    CHECK(train(o, r, nullptr).status == SIMDMF_OK);  // no range declared: anything finite
    o.set("min_rating", 1);
    o.set("max_rating", 5);
    Outcome a = outcome([&] { train(o, r, nullptr); });
    CHECK(a.status == SIMDMF_ERR_INVALID_DATA);
    CHECK(has(a.message, "training rating 2 = 6.5"));
    CHECK(has(a.message, "outside the declared range [1"));
    const float ok[] = {1.0f, 5.0f, 3.0f};
    Ratings good = ratings_from_triples(u, i, ok, 3, 0, 0);
    CHECK(train(o, good, nullptr).status == SIMDMF_OK);
    Outcome b = outcome([&] { train(o, good, &r); });  // the validation set is checked too
    CHECK(b.status == SIMDMF_ERR_INVALID_DATA);
    CHECK(has(b.message, "validation rating 2"));
    o.set("min_rating", 6);
    Outcome c = outcome([&] { train(o, good, nullptr); });
    CHECK(c.status == SIMDMF_ERR_OUT_OF_RANGE);
    CHECK(has(c.message, "min_rating"));
    CHECK(outcome([&] { o.set("max_rating", std::nan("")); }).status == SIMDMF_ERR_OUT_OF_RANGE);
}

TEST_CASE("k larger than memory allows is OUT_OF_MEMORY before anything is allocated") {
    const std::uint64_t phys = physical_memory_bytes();
    REQUIRE(phys > 0);
    MFModel m;
    // 2^32-2 users x 65536 factors: about 1 PiB.
    Outcome a = outcome([&] { m.allocate(Loss::squared, 65536, UINT32_MAX - 1, 10, true); });
    CHECK(a.status == SIMDMF_ERR_OUT_OF_MEMORY);
    CHECK(has(a.message, "k = 65536"));
    CHECK(has(a.message, "physical memory"));
    CHECK(m.P.empty());
    // Just above physical memory (rows of 16 floats = 64 bytes).
    const std::uint64_t rows = phys / 64 + 1;
    if (rows < UINT32_MAX) {
        Outcome b = outcome([&] { m.allocate(Loss::squared, 16, static_cast<std::uint32_t>(rows), 0, false); });
        CHECK(b.status == SIMDMF_ERR_OUT_OF_MEMORY);
    }
    // Through train(): a data set declaring 3e9 users.
    const std::uint32_t u[] = {0}, i[] = {0};
    const float v[] = {1};
    Ratings r = ratings_from_triples(u, i, v, 1, 3000000000u, 1);
    TrainOptions o;
    o.k = 65536;
    Outcome t = outcome([&] { train(o, r, nullptr); });
    CHECK(t.status == SIMDMF_ERR_OUT_OF_MEMORY);
    CHECK(parameter_bytes(1, 1, 1, false) == 2 * 16 * 4);
}

TEST_CASE("model files: every truncation and every single-bit flip is caught") {
    simdmf_test::TempDir dir;
    Ratings r = planted(6, 5, 12);
    r.user_ids = std::make_shared<const IdMap>(IdMap::from_raws({10, 20, 30, 40, 50, 60}));
    TrainOptions o;
    o.k = 3;
    o.epochs = 2;
    MFModel m = train(o, r, nullptr).model;
    const std::string path = dir.file("m.smf"), bad = dir.file("bad.smf");
  for (int version : {1, 2}) {
    CAPTURE(version);
    if (version == 1)
        save_model_v1(m, path);
    else
        save_model(m, path);
    const std::vector<unsigned char> good = read_file(path);
    REQUIRE(good.size() > 56);  // v1: 16 bytes of magic, version and header size, then a 40-byte header
    // v2: the bytes of each section (covered by its CRC), the rest being header, directory (one CRC)
    // and the zero gaps between sections (checked to be zero).
    std::vector<bool> in_section(good.size(), false);
    std::size_t dir_end = 56;
    if (version == 2) {
        const std::size_t count = simdmf_test::v2_get(good.data() + 16, 4);
        dir_end = 64 + 96 * count;
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t off = simdmf_test::v2_get(good.data() + 64 + 96 * j + 40, 8),
                              len = simdmf_test::v2_get(good.data() + 64 + 96 * j + 48, 8);
            for (std::size_t b = off; b < off + len; ++b) in_section[b] = true;
        }
    }
    for (std::size_t len = 0; len < good.size(); ++len) {
        write_bytes(bad, std::vector<unsigned char>(good.begin(), good.begin() + std::ptrdiff_t(len)));
        Outcome o2 = outcome([&] { load_model(bad); });
        CAPTURE(len);
        CHECK(o2.status == SIMDMF_ERR_FORMAT);
        CHECK(has(o2.message, bad));
    }
    std::size_t flips = 0;
    for (std::size_t pos = 0; pos < good.size(); ++pos) {
        for (int bit = 0; bit < 8; ++bit) {
            auto b = good;
            b[pos] ^= static_cast<unsigned char>(1u << bit);
            write_bytes(bad, b);
            Outcome o2 = outcome([&] { load_model(bad); });
            CAPTURE(pos);
            CAPTURE(bit);
            ++flips;
            if (version == 1 && pos >= 56)  // the payload and the CRC itself: only the checksum can tell
                CHECK(o2.status == SIMDMF_ERR_CHECKSUM);
            else if (version == 2 && in_section[pos])  // a section's bytes: its checksum
                CHECK(o2.status == SIMDMF_ERR_CHECKSUM);
            else if (version == 2 && pos >= dir_end)  // a gap between sections: not zero
                CHECK(o2.status == SIMDMF_ERR_FORMAT);
            else
                CHECK((o2.status == SIMDMF_ERR_FORMAT || o2.status == SIMDMF_ERR_VERSION ||
                       o2.status == SIMDMF_ERR_CHECKSUM));
            if (o2.status == SIMDMF_ERR_CHECKSUM) CHECK(has(o2.message, "checksum mismatch"));
        }
    }
    CHECK(flips == good.size() * 8);
    CHECK(load_model(path).identical(m));
  }
}

TEST_CASE("a model of a newer format version is VERSION, not corruption") {
    simdmf_test::TempDir dir;
    MFModel m;
    m.allocate(Loss::squared, 2, 2, 2, false);
    const std::string path = dir.file("m.smf");
    save_model(m, path);
    auto b = read_file(path);
    b[8] = 3;  // version 3, CRC left as version 2 wrote it: the version is checked first
    write_bytes(path, b);
    Outcome o = outcome([&] { load_model(path); });
    CHECK(o.status == SIMDMF_ERR_VERSION);
    CHECK(has(o.message, "model format version 3 is newer than this library reads (2)"));
    b[8] = 0;
    write_bytes(path, b);
    CHECK(outcome([&] { load_model(path); }).status == SIMDMF_ERR_FORMAT);
}

TEST_CASE("a model with no users or no items round-trips (fuzz regression: memcpy to a null pointer)") {
    simdmf_test::TempDir dir;
    for (auto [nu, ni] : {std::pair<std::uint32_t, std::uint32_t>{0, 3}, {3, 0}, {0, 0}}) {
        MFModel m;
        m.allocate(Loss::squared, 2, nu, ni, true);
        std::vector<std::int64_t> raws;
        for (std::uint32_t u = 0; u < nu; ++u) raws.push_back(100 + u);
        m.user_ids = std::make_shared<const IdMap>(IdMap::from_raws(raws));
        save_model(m, dir.file("e.smf"));
        MFModel back = load_model(dir.file("e.smf"));
        CHECK(back.identical(m));
        CHECK(back.n_users == nu);
        CHECK(back.n_items == ni);
    }
}

TEST_CASE("model file claiming huge dimensions is refused before allocating") {
    simdmf_test::TempDir dir;
    // A consistent header (payload field matching the dimensions) on a 60-byte file.
    ByteWriter w;
    w.raw("SIMDMFMD", 8);
    w.u32(1);
    w.u32(32);
    w.u32(SIMDMF_MODEL_MF);
    w.u32(65536);
    w.u32(UINT32_MAX);
    w.u32(UINT32_MAX);
    w.u32(0);
    w.f32(0);
    w.u64((std::uint64_t{UINT32_MAX} * 2) * 65536 * 4);
    w.u32(crc32(w.bytes.data(), w.bytes.size()));
    const std::string path = dir.file("huge.smf");
    write_bytes(path, w.bytes);
    Outcome o = outcome([&] { load_model(path); });
    CHECK(o.status == SIMDMF_ERR_FORMAT);
    CHECK(has(o.message, "truncated or padded"));
}

TEST_CASE("binary ratings files: truncation, bit flips, newer version, impossible counts") {
    simdmf_test::TempDir dir;
    Ratings r = planted(9, 8, 20);
    const std::string path = dir.file("r.smr"), bad = dir.file("bad.smr");
    io::save_binary(r, path);
    const std::vector<unsigned char> good = read_file(path);
    for (std::size_t len = 0; len < good.size(); ++len) {
        write_bytes(bad, std::vector<unsigned char>(good.begin(), good.begin() + std::ptrdiff_t(len)));
        CAPTURE(len);
        CHECK(outcome([&] { io::load_binary(bad); }).status == SIMDMF_ERR_FORMAT);
    }
    for (std::size_t pos = 0; pos < good.size(); ++pos) {
        auto b = good;
        b[pos] ^= 0x04;
        write_bytes(bad, b);
        CAPTURE(pos);
        const simdmf_status s = outcome([&] { io::load_binary(bad); }).status;
        CHECK((s == SIMDMF_ERR_FORMAT || s == SIMDMF_ERR_CHECKSUM || s == SIMDMF_ERR_VERSION));
        if (pos >= 8 && pos < 52) CHECK((s == SIMDMF_ERR_CHECKSUM || s == SIMDMF_ERR_VERSION));
        // Regression (found by this test): the reserved header word after the header CRC was not
        // checked, so a flip there loaded as if nothing had happened.
        if (pos >= 52 && pos < 56) CHECK(s == SIMDMF_ERR_FORMAT);
    }
    auto newer = good;
    newer[8] = 9;
    write_bytes(bad, newer);
    Outcome v = outcome([&] { io::load_binary(bad); });
    CHECK(v.status == SIMDMF_ERR_VERSION);
    CHECK(has(v.message, "version 9 is newer"));
    // 2^40 ratings promised by a header with a valid CRC, on a small file: no allocation, FORMAT.
    auto huge = good;
    const std::uint64_t n = std::uint64_t{1} << 40;
    for (int k = 0; k < 8; ++k) huge[16 + k] = static_cast<unsigned char>(n >> (8 * k));
    const std::uint32_t hc = crc32c(huge.data(), 48);
    for (int k = 0; k < 4; ++k) huge[48 + k] = static_cast<unsigned char>(hc >> (8 * k));
    write_bytes(bad, huge);
    Outcome h = outcome([&] { io::load_binary(bad); });
    CHECK(h.status == SIMDMF_ERR_FORMAT);
    CHECK(has(h.message, "header promises"));

    // The same header through a pipe, where the size cannot be checked first: the arrays grow with the
    // data that arrives, so the lie is a truncation (FORMAT), not a 4 TiB allocation (OUT_OF_MEMORY).
    const std::string fifo = dir.file("pipe.smr");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto through_pipe = [&](const std::vector<unsigned char>& bytes) {
        std::thread writer([&] {
            std::ofstream(fifo, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                        std::streamsize(bytes.size()));
        });
        Outcome o = outcome([&] { io::load_binary(fifo); });
        writer.join();
        return o;
    };
    const auto prev = ::signal(SIGPIPE, SIG_IGN);
    Outcome hp = through_pipe(huge);
    CHECK(hp.status == SIMDMF_ERR_FORMAT);
    CHECK(has(hp.message, "truncated"));
    Outcome gp = through_pipe(good);  // and a sound file still loads through a pipe
    CHECK(gp.status == SIMDMF_OK);
    ::signal(SIGPIPE, prev);
    CHECK(io::load_binary(path).value == r.value);
}

TEST_CASE("divergence: detected within the epoch, the model handed back is the last good epoch's") {
    Ratings r = planted(40, 30, 400);
    TrainOptions o;
    o.k = 4;
    o.epochs = 60;
    o.init_std = 1.0;
    o.l2 = 0.0;
    // Find a rate that trains cleanly for a few epochs and then blows up.
    TrainResult res;
    double lr = 0.05;
    for (; lr < 10; lr *= 1.1) {
        o.lr = lr;
        res = train(o, r, nullptr);
        if (res.status == SIMDMF_ERR_DIVERGED && res.diverged_epoch >= 3) break;
    }
    REQUIRE(res.status == SIMDMF_ERR_DIVERGED);
    const std::uint32_t e = res.diverged_epoch;
    CAPTURE(lr);
    CAPTURE(e);
    CHECK(res.stop_reason == "diverged");
    CHECK(has(res.message, "training diverged in epoch " + std::to_string(e)));
    CHECK(has(res.message, "epoch " + std::to_string(e - 1) + "'s, the last good one"));
    CHECK(res.history.size() == e - 1);  // the diverged epoch is not recorded
    CHECK(predicts_finite(res.model));
    // Bit-identical to a run that stops just before the diverging epoch.
    TrainOptions shorter = o;
    shorter.epochs = e - 1;
    TrainResult ref = train(shorter, r, nullptr);
    CHECK(ref.status == SIMDMF_OK);
    CHECK(res.model.identical(ref.model));

    // snapshot = 0: no copy kept; the initial model is handed back.
    o.snapshot = false;
    TrainResult ns = train(o, r, nullptr);
    CHECK(ns.status == SIMDMF_ERR_DIVERGED);
    CHECK(has(ns.message, "initial one (snapshot off)"));
    CHECK(predicts_finite(ns.model));

    // retry_diverged halves the rate until it trains cleanly.
    o.snapshot = true;
    o.retry_diverged = 6;
    TrainResult rt = train(o, r, nullptr);
    CHECK(rt.status == SIMDMF_OK);
    CHECK(rt.retries >= 1);
    CHECK(rt.history.front().learning_rate < lr);

    // Divergence in epoch 1: the initial model.
    TrainOptions wild = o;
    wild.retry_diverged = 0;
    wild.lr = 10;
    wild.init_std = 100;
    TrainResult w = train(wild, r, nullptr);
    CHECK(w.status == SIMDMF_ERR_DIVERGED);
    CHECK(w.diverged_epoch == 1);
    CHECK(has(w.message, "the initial one"));
    CHECK(predicts_finite(w.model));
}

TEST_CASE("cancelling from the callback leaves a valid, saveable model") {
    simdmf_test::TempDir dir;
    Ratings r = planted(50, 40, 600);
    TrainOptions o;
    o.k = 4;
    o.epochs = 50;
    TrainResult res = train(o, r, nullptr, [](const EpochInfo& e) { return e.epoch < 3; });
    CHECK(res.status == SIMDMF_CANCELLED);
    CHECK(res.history.size() == 3);
    CHECK(predicts_finite(res.model));
    save_model(res.model, dir.file("c.smf"));
    CHECK(load_model(dir.file("c.smf")).identical(res.model));
}

TEST_CASE("a save killed mid-write (SIGKILL) leaves the previous model intact and loadable") {
    simdmf_test::TempDir dir;
    const std::string path = dir.file("model.smf");
    MFModel old;
    old.allocate(Loss::squared, 4, 3, 3, true);
    old.P[0] = 1.5f;
    save_model(old, path);
    const std::vector<unsigned char> before = read_file(path);

    // The replacement: ~100 MB, so the write takes long enough to be caught in the middle.
    MFModel big;
    big.allocate(Loss::squared, 64, 200000, 200000, true);
    for (std::size_t j = 0; j < big.P.size(); j += 97) big.P[j] = 0.25f;

    bool caught_mid_write = false;
    for (int attempt = 0; attempt < 5 && !caught_mid_write; ++attempt) {
        for (auto& e : std::filesystem::directory_iterator(dir.path))
            if (e.path().filename() != "model.smf") std::filesystem::remove(e.path());
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            try {
                save_model(big, path);
            } catch (...) {
                ::_exit(3);
            }
            ::_exit(0);
        }
        // Kill the child as soon as its temporary file holds some, but not all, of the new model.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        bool killed = false;
        while (!killed && std::chrono::steady_clock::now() < deadline) {
            for (auto& e : std::filesystem::directory_iterator(dir.path)) {
                std::error_code ec;
                const auto size = std::filesystem::file_size(e.path(), ec);
                if (!ec && e.path().filename() != "model.smf" && size > 0) {
                    ::kill(child, SIGKILL);
                    killed = true;
                    break;
                }
            }
            int st = 0;
            if (!killed && ::waitpid(child, &st, WNOHANG) == child) break;  // finished before we saw it
        }
        int st = 0;
        if (killed) {
            ::waitpid(child, &st, 0);
            caught_mid_write = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        }
        if (!caught_mid_write) save_model(old, path);  // the child won the race: restore and retry
    }
    REQUIRE(caught_mid_write);
    CHECK(read_file(path) == before);  // byte for byte the previous model
    CHECK(load_model(path).identical(old));
    // The killed writer's orphaned temporary is never mistaken for the model.
    std::size_t temps = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path))
        temps += e.path().filename().string().rfind("model.smf.tmp.", 0) == 0;
    CHECK(temps <= 1);
}
