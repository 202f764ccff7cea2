// Model file v2: round trips at every SIMD level, memory-mapped serving against the loaded model, v1
// compatibility, and the reader's refusals (section directory, required/optional sections, kinds).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common.hpp"
#include "io/fileio.hpp"
#include "io/model_file.hpp"
#include "kernels/kernels.hpp"
#include "models/mf.hpp"
#include "serve/serve.hpp"
#include "solvers/trainer.hpp"
#include "synthetic.hpp"
#include "test_util.hpp"
#include "v2_image.hpp"

using namespace simdmf;
using simdmf_test::V2Image;
using simdmf_test::V2Section;

namespace {

MFModel trained(bool biases, bool logistic, bool maps, std::uint32_t k = 5) {
    PlantedSpec spec;
    spec.n_users = 30;
    spec.n_items = 25;
    spec.n_ratings = 300;
    Ratings r = make_planted(spec);
    if (logistic) r = binarize(r, 3.5f);
    if (maps) {
        std::vector<std::int64_t> us, is;
        for (std::uint32_t u = 0; u < r.n_users; ++u) us.push_back(1000 + 7 * std::int64_t(u));
        for (std::uint32_t i = 0; i < r.n_items; ++i) is.push_back(-5 - std::int64_t(i));
        r.user_ids = std::make_shared<const IdMap>(IdMap::from_raws(us));
        r.item_ids = std::make_shared<const IdMap>(IdMap::from_raws(is));
    }
    TrainOptions o;
    o.k = k;
    o.biases = biases;
    o.loss = logistic ? Loss::logistic : Loss::squared;
    o.epochs = 4;
    return train(o, r, nullptr).model;
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

struct Outcome {
    simdmf_status status = SIMDMF_OK;
    std::string message;
};
Outcome open_outcome(const std::string& path, OpenOptions o = {}) {
    try {
        open_model(path, o);
    } catch (const Error& e) {
        return {e.status(), e.what()};
    }
    return {};
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

OpenOptions mapped(bool verify = true) {
    OpenOptions o;
    o.map = true;
    o.verify = verify;
    return o;
}

// Every serving call of a and b gives the same bits.
void same_serving(const MFModel& a, const MFModel& b) {
    REQUIRE(a.n_users == b.n_users);
    REQUIRE(a.n_items == b.n_items);
    std::vector<float> ra(a.n_items), rb(b.n_items);
    for (std::uint32_t u = 0; u < a.n_users; ++u) {
        a.predict_row(u, ra.data());
        b.predict_row(u, rb.data());
        CHECK(std::memcmp(ra.data(), rb.data(), ra.size() * 4) == 0);
        for (std::uint32_t i = 0; i < a.n_items; i += 7) {
            const float pa = a.predict(u, i), pb = b.predict(u, i);
            CHECK(std::memcmp(&pa, &pb, 4) == 0);
        }
        const std::vector<std::uint32_t> ex = {0, 1};
        CHECK(serve::recommend(a, u, 5, ex) == serve::recommend(b, u, 5, ex));
    }
    CHECK(serve::nearest(a, SIMDMF_ITEMS, 3, 4) == serve::nearest(b, SIMDMF_ITEMS, 3, 4));
    CHECK(serve::nearest(a, SIMDMF_USERS, 2, 4) == serve::nearest(b, SIMDMF_USERS, 2, 4));
    const float ca = serve::cosine(a, SIMDMF_USERS, 0, 1), cb = serve::cosine(b, SIMDMF_USERS, 0, 1);
    CHECK(std::memcmp(&ca, &cb, 4) == 0);
}

}  // namespace

TEST_CASE("model file v2: round trip, mapped serving bit-identical to loaded, at every SIMD level") {
    simdmf_test::TempDir dir;
    const kernels::Level original = kernels::active().level;
    for (bool biases : {false, true})
        for (bool logistic : {false, true})
            for (bool maps : {false, true}) {
                MFModel m = trained(biases, logistic, maps, biases ? 5 : 16);
                m.train_options = {{"k", "5"}, {"loss", logistic ? "logistic" : "squared"}};
                const std::string path = dir.file("m.smf");
                save_model(m, path);
                std::vector<unsigned char> b = read_file(path);
                REQUIRE(b.size() > 16);
                CHECK(b[8] == 2);  // v2 is what is written
                const MFModel loaded = load_model(path);
                CHECK(loaded.identical(m));
                CHECK(loaded.train_options == m.train_options);
                CHECK(!loaded.P.borrowed());
                CHECK(bool(loaded.user_ids) == maps);
                if (maps) {
                    CHECK(loaded.user_ids->raws() == m.user_ids->raws());
                    CHECK(loaded.item_ids->raws() == m.item_ids->raws());
                }
                for (bool verify : {true, false}) {
                    const MFModel mm = open_model(path, mapped(verify));
                    CHECK(mm.identical(m));
                    CHECK(mm.P.borrowed());
                    CHECK(mm.Q.borrowed());
                    CHECK(mm.bu.borrowed() == biases);
                    // the tables are the mapping: 64-byte aligned, not copies
                    CHECK(reinterpret_cast<std::uintptr_t>(mm.Q.data()) % 64 == 0);
                    for (kernels::Level l : {kernels::Level::scalar, kernels::Level::sse2, kernels::Level::sse4_2,
                                             kernels::Level::avx2, kernels::Level::avx512, kernels::Level::neon}) {
                        if (!kernels::table_for(l)) continue;
                        REQUIRE(kernels::force_level(l));
                        CAPTURE(kernels::level_name(l));
                        same_serving(mm, loaded);
                        same_serving(mm, m);
                    }
                    REQUIRE(kernels::force_level(original));
                }
            }
}

TEST_CASE("model file v2: sections are 64-byte aligned, named, and checksummed one by one") {
    simdmf_test::TempDir dir;
    MFModel m = trained(true, false, true);
    const std::string path = dir.file("m.smf");
    save_model(m, path);
    const std::vector<unsigned char> b = read_file(path);
    V2Image img;
    REQUIRE(img.parse(b));
    std::vector<std::string> names;
    for (const auto& s : img.sections) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"meta", "param.P", "param.Q", "param.bu", "param.bi",
                                            "user_ids", "item_ids"});
    for (std::size_t j = 0; j < img.sections.size(); ++j) {
        const std::uint64_t off = simdmf_test::v2_get(b.data() + 64 + 96 * j + 40, 8);
        CHECK(off % 64 == 0);
    }
    const V2Section* p = img.find("param.P");
    CHECK(p->rows == m.n_users);
    CHECK(p->cols == m.k);
    CHECK(p->stride == padded_stride(m.k));
    CHECK(p->bytes.size() == std::size_t(m.n_users) * m.stride * 4);
    // Rebuilding the same sections gives the same bytes (the test image agrees with the writer).
    CHECK(img.bytes() == b);
}

TEST_CASE("model file v1 still loads; v1 opened with map is loaded") {
    simdmf_test::TempDir dir;
    for (bool maps : {false, true}) {
        MFModel m = trained(true, false, maps);
        const std::string path = dir.file("v1.smf");
        save_model_v1(m, path);
        CHECK(read_file(path)[8] == 1);
        MFModel back = load_model(path);
        CHECK(back.identical(m));
        MFModel mm = open_model(path, mapped());
        CHECK(mm.identical(m));
        CHECK(!mm.P.borrowed());
        if (maps) CHECK(back.user_ids->raws() == m.user_ids->raws());
        // and saved again, it is v2
        save_model(back, path);
        CHECK(read_file(path)[8] == 2);
        CHECK(load_model(path).identical(m));
    }
}

TEST_CASE("model file v2: string id maps round-trip (v1 refuses them)") {
    simdmf_test::TempDir dir;
    MFModel m = trained(true, false, false);
    std::vector<std::string> us, is;
    for (std::uint32_t u = 0; u < m.n_users; ++u) us.push_back("USER_" + std::to_string(u * 3));
    for (std::uint32_t i = 0; i < m.n_items; ++i) is.push_back(i % 2 ? "item-" + std::to_string(i) : std::to_string(i + 100));
    m.user_ids = std::make_shared<const IdMap>(IdMap::from_strings(us));
    m.item_ids = std::make_shared<const IdMap>(IdMap::from_strings(is));
    const std::string path = dir.file("s.smf");
    save_model(m, path);
    for (OpenOptions o : {OpenOptions{}, mapped()}) {
        MFModel back = open_model(path, o);
        CHECK(back.identical(m));
        REQUIRE(back.user_ids);
        CHECK(back.user_ids->is_string());
        CHECK(back.user_ids->strings_list() == m.user_ids->strings_list());
        CHECK(back.item_ids->strings_list() == m.item_ids->strings_list());
        std::uint32_t idx = 0;
        CHECK(back.user_ids->find(std::string_view("USER_6"), &idx));
        CHECK(idx == 2);
    }
    V2Image img;
    REQUIRE(img.parse(read_file(path)));
    CHECK(img.find("user_ids")->type == model_file::kTypeStrings);
    auto& t = img.find("user_ids")->bytes;  // an offset past the text
    t[8] = 0xFF;
    write_bytes(dir.file("bad.smf"), img.bytes());
    Outcome o = open_outcome(dir.file("bad.smf"));
    CHECK(o.status == SIMDMF_ERR_FORMAT);
    CHECK(has(o.message, "'user_ids'"));
    CHECK_THROWS_AS(save_model_v1(m, dir.file("v1.smf")), Error);
}

TEST_CASE("a mapped model: fold-in copies on write, the mapping outlives the file's replacement") {
    simdmf_test::TempDir dir;
    MFModel m = trained(true, false, true);
    const std::string path = dir.file("m.smf");
    save_model(m, path);
    const std::vector<unsigned char> before = read_file(path);
    MFModel mm = open_model(path, mapped());
    const float p00 = mm.predict(0, 0);
    const std::uint32_t items[] = {1, 2, 3};
    const float values[] = {4, 2, 5};
    MFModel copy_first = mm;  // shares the borrow
    const std::uint32_t u = mm.fold_in_user(items, values, 3, 0.05, 999999);
    CHECK(u == m.n_users);
    CHECK(!mm.P.borrowed());        // the user table was copied to grow
    CHECK(mm.Q.borrowed());         // the item table was only read
    CHECK(copy_first.P.borrowed()); // the other model still serves from the file
    CHECK(mm.predict(0, 0) == p00);
    CHECK(std::isfinite(mm.predict(u, 4)));
    CHECK(read_file(path) == before);  // the file is never written

    // Replacing the file (atomic save) and dropping the first handle leave the mapping intact.
    MFModel other = trained(false, false, false);
    save_model(other, path);
    mm = MFModel{};
    CHECK(copy_first.identical(m));
    same_serving(copy_first, m);
}

TEST_CASE("model file v2: unknown optional sections are skipped, unknown required ones refused by name") {
    simdmf_test::TempDir dir;
    MFModel m = trained(true, false, false);
    const std::string path = dir.file("m.smf"), bad = dir.file("bad.smf");
    save_model(m, path);
    V2Image img;
    REQUIRE(img.parse(read_file(path)));

    V2Image opt = img;
    V2Section extra;
    extra.name = "future.notes";
    extra.type = 77;
    extra.flags = 0;  // optional
    extra.bytes = {1, 2, 3, 4, 5};
    opt.sections.insert(opt.sections.begin() + 2, extra);
    write_bytes(bad, opt.bytes());
    CHECK(open_model(bad, {}).identical(m));
    CHECK(open_model(bad, mapped()).identical(m));

    V2Image req = opt;
    req.find("future.notes")->flags = 1;
    write_bytes(bad, req.bytes());
    Outcome o = open_outcome(bad);
    CHECK(o.status == SIMDMF_ERR_UNSUPPORTED);
    CHECK(has(o.message, "required section 'future.notes'"));
    CHECK(has(o.message, bad));

    // A known name with a type this version does not read is refused too.
    V2Image ids = img;
    V2Section sid;
    sid.name = "user_ids";
    sid.type = 9;
    sid.bytes = {0};
    ids.sections.push_back(sid);
    write_bytes(bad, ids.bytes());
    o = open_outcome(bad);
    CHECK(o.status == SIMDMF_ERR_UNSUPPORTED);
    CHECK(has(o.message, "'user_ids'"));
}

TEST_CASE("model file v2: an unknown model kind or loss is UNSUPPORTED, not FORMAT") {
    simdmf_test::TempDir dir;
    MFModel m = trained(false, false, false);
    const std::string path = dir.file("m.smf"), bad = dir.file("bad.smf");
    save_model(m, path);
    V2Image img;
    REQUIRE(img.parse(read_file(path)));
    auto replace_text = [&](V2Image im, const std::string& from, const std::string& to) {
        auto& b = im.find("meta")->bytes;
        std::string s(b.begin(), b.end());
        const auto at = s.find(from);
        REQUIRE(at != std::string::npos);
        REQUIRE(from.size() == to.size());
        std::memcpy(b.data() + at, to.data(), to.size());
        write_bytes(bad, im.bytes());
    };
    replace_text(img, "kindmf", "kindnn");  // key "kind", text "mf" -> "nn"
    Outcome o = open_outcome(bad);
    CHECK(o.status == SIMDMF_ERR_UNSUPPORTED);
    CHECK(has(o.message, "model kind 'nn'"));
    replace_text(img, "squared", "poisson");
    o = open_outcome(bad);
    CHECK(o.status == SIMDMF_ERR_UNSUPPORTED);
    CHECK(has(o.message, "loss 'poisson'"));
}

TEST_CASE("model file v2: bad section directories are FORMAT errors naming the problem") {
    simdmf_test::TempDir dir;
    MFModel m = trained(true, false, true);
    const std::string path = dir.file("m.smf"), bad = dir.file("bad.smf");
    save_model(m, path);
    const std::vector<unsigned char> good = read_file(path);
    V2Image img;
    REQUIRE(img.parse(good));
    auto expect = [&](const V2Image& im, simdmf_status st, const std::string& part) {
        write_bytes(bad, im.bytes());
        for (OpenOptions o : {OpenOptions{}, mapped(), mapped(false)}) {
            Outcome out = open_outcome(bad, o);
            CHECK(out.status == st);
            CHECK(has(out.message, part));
        }
    };
    {
        V2Image im = img;  // misaligned
        im.find("param.Q")->offset = 64 * 40 + 8;
        expect(im, SIMDMF_ERR_FORMAT, "is not 64-byte aligned");
    }
    {
        V2Image im = img;  // out of the file
        im.find("param.Q")->offset = 64 * 1000000;
        expect(im, SIMDMF_ERR_FORMAT, "runs past the end of the file");
    }
    {
        V2Image im = img;  // offset + length overflows 64 bits
        V2Section* s = im.find("user_ids");
        s->offset = 64;
        s->length = UINT64_MAX - 32;
        expect(im, SIMDMF_ERR_FORMAT, "runs past the end of the file");
    }
    {
        V2Image im = img;  // overlapping: item_factors placed on user_factors
        const std::uint64_t uf = simdmf_test::v2_get(good.data() + 64 + 96 * 1 + 40, 8);
        im.find("param.Q")->offset = uf;
        im.find("param.Q")->length = im.find("param.Q")->bytes.size();
        expect(im, SIMDMF_ERR_FORMAT, "overlap");
    }
    {
        V2Image im = img;  // over the directory
        im.find("meta")->offset = 64;
        expect(im, SIMDMF_ERR_FORMAT, "overlaps the header or directory");
    }
    {
        V2Image im = img;  // duplicate
        im.sections.push_back(*im.find("user_ids"));
        expect(im, SIMDMF_ERR_FORMAT, "two sections are named 'user_ids'");
    }
    for (const char* name : {"meta", "param.P", "param.Q", "param.bu"}) {
        V2Image im = img;  // a required section missing
        im.sections.erase(im.sections.begin() + (im.find(name) - im.sections.data()));
        expect(im, SIMDMF_ERR_FORMAT, std::string("no '") + name + "' section");
    }
    {
        V2Image im = img;  // a shape that does not match the metadata
        im.find("param.Q")->rows += 1;
        expect(im, SIMDMF_ERR_FORMAT, "section 'param.Q' is");
    }
    {
        V2Image im = img;  // huge shape claims on a small file: refused before allocating
        V2Section* s = im.find("param.P");
        s->rows = UINT64_MAX / 2;
        s->stride = UINT64_MAX / 2;
        expect(im, SIMDMF_ERR_FORMAT, "section 'param.P' is");
    }
    {
        V2Image im = img;  // bad name
        im.find("user_ids")->name = "user ids";
        expect(im, SIMDMF_ERR_FORMAT, "invalid name");
    }
    {
        V2Image im = img;  // non-zero padding in a factor row (CRC right): refused when verifying
        auto& b = im.find("param.P")->bytes;
        b[m.k * 4] = 1;
        write_bytes(bad, im.bytes());
        CHECK(open_outcome(bad).status == SIMDMF_ERR_FORMAT);
        CHECK(has(open_outcome(bad, mapped()).message, "non-zero padding"));
        CHECK(open_outcome(bad, mapped(false)).status == SIMDMF_OK);
    }
    // A wrong section CRC: CHECKSUM naming the section, unless verification is off (then the table
    // is served as it is); the header CRC is checked either way.
    {
        V2Image im = img;
        im.find("param.Q")->bytes[5] ^= 0x10;
        im.find("param.Q")->crc_set = true;
        im.find("param.Q")->crc = simdmf_test::v2_crc32c(img.find("param.Q")->bytes.data(),
                                                              img.find("param.Q")->bytes.size());
        write_bytes(bad, im.bytes());
        Outcome o = open_outcome(bad);
        CHECK(o.status == SIMDMF_ERR_CHECKSUM);
        CHECK(has(o.message, "section 'param.Q' checksum mismatch"));
        CHECK(open_outcome(bad, mapped()).status == SIMDMF_ERR_CHECKSUM);
        CHECK(open_outcome(bad, mapped(false)).status == SIMDMF_OK);
        auto b = read_file(bad);
        b[70] ^= 1;  // in the directory
        write_bytes(bad, b);
        CHECK(open_outcome(bad, mapped(false)).status == SIMDMF_ERR_CHECKSUM);
    }
    // Unknown file flags, a newer version.
    {
        V2Image im = img;
        im.file_flags = 4;
        expect(im, SIMDMF_ERR_UNSUPPORTED, "file flags 4");
        im = img;
        im.version = 3;
        expect(im, SIMDMF_ERR_VERSION, "model format version 3 is newer than this library reads (2)");
    }
    CHECK(load_model(path).identical(m));
}
