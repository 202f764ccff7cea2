// libFuzzer target: the model file reader (open_any_model: v1 and v2, MF and the neural CF kinds), then
// serving from whatever loaded:
// fuzzed factors may be NaN, Inf or huge, and predict / predict_row / recommend / nearest / cosine
// must still be memory-safe. Each input is tried as is (loaded), then with its checksums recomputed
// (v1: the CRC-32; v2: every section's CRC-32C and the header's, so the fuzzer reaches the section
// directory's checks and the metadata) loaded, memory-mapped, and mapped without verification.
#include <cstdint>
#include <memory>
#include <vector>

#include "common.hpp"
#include "io/fileio.hpp"
#include "io/model_file.hpp"
#include "../tests/v2_image.hpp"
#include "fuzz_util.hpp"
#include "models/mf.hpp"
#include "serve/serve.hpp"

namespace {
void serve(const simdmf::MFModel& m) {
    SIMDMF_FUZZ_CHECK(m.k >= 1 && m.stride >= m.k);
    SIMDMF_FUZZ_CHECK(m.P.size() == std::size_t(m.n_users) * m.stride);
    SIMDMF_FUZZ_CHECK(m.Q.size() == std::size_t(m.n_items) * m.stride);
    if (m.user_ids) SIMDMF_FUZZ_CHECK(m.user_ids->size() == m.n_users);
    if (m.item_ids) SIMDMF_FUZZ_CHECK(m.item_ids->size() == m.n_items);
    if (m.n_users == 0 || m.n_items == 0) return;
    const std::uint32_t u = m.n_users - 1, i = m.n_items - 1;
    volatile float sink = m.predict(0, 0) + m.predict(u, i);
    if (std::uint64_t(m.n_items) <= 4096) {
        std::vector<float> row(m.n_items);
        m.predict_row(u, row.data());
        static const std::uint32_t kSeen[] = {0};
        auto top = simdmf::serve::recommend(m, u, 5, kSeen);
        SIMDMF_FUZZ_CHECK(top.size() <= 5);
        for (auto& [item, score] : top) SIMDMF_FUZZ_CHECK(item < m.n_items && item != 0);
        auto near = simdmf::serve::nearest(m, SIMDMF_ITEMS, i, 3);
        for (auto& [item, sim] : near) SIMDMF_FUZZ_CHECK(item < m.n_items && item != i);
        sink = sink + simdmf::serve::cosine(m, SIMDMF_ITEMS, 0, i);
    }
    if (std::uint64_t(m.n_users) <= 4096) {
        auto near = simdmf::serve::nearest(m, SIMDMF_USERS, u, 3);
        for (auto& [user, sim] : near) SIMDMF_FUZZ_CHECK(user < m.n_users && user != u);
    }
    (void)sink;
}

// Any other kind (GMF, MLP, NeuMF): through the interface only.
void serve_any(const simdmf::Model& m) {
    if (m.user_ids) SIMDMF_FUZZ_CHECK(m.user_ids->size() == m.n_users);
    if (m.item_ids) SIMDMF_FUZZ_CHECK(m.item_ids->size() == m.n_items);
    if (m.n_users == 0 || m.n_items == 0) return;
    const std::uint32_t users[] = {0, m.n_users - 1, m.n_users / 2};
    const std::uint32_t items[] = {m.n_items - 1, 0, m.n_items / 2};
    float s[3];
    m.score_pairs(users, items, 3, s);
    volatile float sink = s[0] + s[1] + s[2] + m.predict(0, 0);
    (void)sink;
    if (std::uint64_t(m.n_items) <= 4096) {
        static const std::uint32_t kSeen[] = {0};
        auto top = simdmf::serve::recommend(m, m.n_users - 1, 5, kSeen);
        SIMDMF_FUZZ_CHECK(top.size() <= 5);
        for (auto& [item, score] : top) SIMDMF_FUZZ_CHECK(item < m.n_items && item != 0);
    }
}

void try_load(simdmf_fuzz::MemFile& file, const std::uint8_t* data, std::size_t size, bool map, bool verify) {
    const std::string& path = file.set(data, size);
    simdmf::OpenOptions o;
    o.map = map;
    o.verify = verify;
    try {
        const std::unique_ptr<simdmf::Model> m = simdmf::open_any_model(path, o);
        if (const auto* mf = dynamic_cast<const simdmf::MFModel*>(m.get())) serve(*mf);
        else serve_any(*m);
    } catch (const simdmf::Error& e) {
        const simdmf_status s = e.status();
        SIMDMF_FUZZ_CHECK(s == SIMDMF_ERR_FORMAT || s == SIMDMF_ERR_CHECKSUM || s == SIMDMF_ERR_VERSION ||
                          s == SIMDMF_ERR_OUT_OF_MEMORY || s == SIMDMF_ERR_INVALID_DATA ||
                          s == SIMDMF_ERR_UNSUPPORTED);
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static simdmf_fuzz::MemFile file;
    try_load(file, data, size, false, true);
    if (size < 20) return 0;
    std::vector<std::uint8_t> fixed(data, data + size);
    if (fixed[8] == 1) {
        const std::uint32_t c = simdmf::crc32(fixed.data(), size - 4);
        for (int k = 0; k < 4; ++k) fixed[size - 4 + k] = static_cast<std::uint8_t>(c >> (8 * k));
    } else {
        simdmf_test::V2Image::fix_all_crcs(fixed);
    }
    try_load(file, fixed.data(), fixed.size(), false, true);
    try_load(file, fixed.data(), fixed.size(), true, true);
    try_load(file, fixed.data(), fixed.size(), true, false);
    return 0;
}
