// MFModel file v1, little-endian:
//   magic "SIMDMFMD" | u32 format version (1) | u32 header bytes (H: 32 or 40)
//   header: u32 kind | u32 k | u32 n_users | u32 n_items | u32 flags | f32 mu | u64 payload bytes
//           [H >= 40: f32 min_pred | f32 max_pred, the MF prediction range, +-inf for none]
//           (readers skip header bytes they do not know, so a header may grow without a new version:
//           a 32-byte reader reads a 40-byte file's model without its range; a 32-byte file loads
//           with no range)
//   payload: [biases] f32 bu[n_users], f32 bi[n_items] | f32 P[n_users*k] | f32 Q[n_items*k]
//            [user map] i64 raw[n_users] | [item map] i64 raw[n_items]      (rows unpadded)
//   u32 CRC-32 of every byte before it
// flags: bit 0 biases, bit 1 user id map, bit 2 item id map; other bits must be 0.
#include <algorithm>
#include <cstring>
#include <limits>

#include "io/fileio.hpp"
#include "models/mf.hpp"

namespace simdmf {

namespace {
constexpr char kMagic[8] = {'S', 'I', 'M', 'D', 'M', 'F', 'M', 'D'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kHeaderMin = 32;    // the first header: up to the payload size
constexpr std::uint32_t kHeaderBytes = 40;  // written: with the prediction range
constexpr std::uint32_t kFlagBiases = 1, kFlagUserMap = 2, kFlagItemMap = 4;

std::uint64_t payload_bytes(std::uint32_t k, std::uint64_t nu, std::uint64_t ni, std::uint32_t flags) {
    std::uint64_t b = (nu + ni) * k * 4;
    if (flags & kFlagBiases) b += (nu + ni) * 4;
    if (flags & kFlagUserMap) b += nu * 8;
    if (flags & kFlagItemMap) b += ni * 8;
    return b;
}
}  // namespace

void save_model(const MFModel& m, const std::string& path) {
    if ((m.user_ids && m.user_ids->is_string()) || (m.item_ids && m.item_ids->is_string()))
        fail(SIMDMF_ERR_UNSUPPORTED, path + ": string ids need model file v2 (v1 stores integer ids only)");
    std::uint32_t flags = (m.biases ? kFlagBiases : 0) | (m.user_ids ? kFlagUserMap : 0) |
                          (m.item_ids ? kFlagItemMap : 0);
    ByteWriter w;
    const std::uint64_t payload = payload_bytes(m.k, m.n_users, m.n_items, flags);
    w.bytes.reserve(16 + kHeaderBytes + payload + 4);
    w.raw(kMagic, 8);
    w.u32(kVersion);
    w.u32(kHeaderBytes);
    w.u32(static_cast<std::uint32_t>(m.abi_kind()));
    w.u32(m.k);
    w.u32(m.n_users);
    w.u32(m.n_items);
    w.u32(flags);
    w.f32(m.mu);
    w.u64(payload);
    w.f32(m.min_pred);
    w.f32(m.max_pred);
    if (m.biases) {
        w.f32s(m.bu.data(), m.n_users);
        w.f32s(m.bi.data(), m.n_items);
    }
    for (std::uint32_t u = 0; u < m.n_users; ++u) w.f32s(m.user_row(u), m.k);
    for (std::uint32_t i = 0; i < m.n_items; ++i) w.f32s(m.item_row(i), m.k);
    if (m.user_ids) w.i64s(m.user_ids->raws().data(), m.n_users);
    if (m.item_ids) w.i64s(m.item_ids->raws().data(), m.n_items);
    w.u32(crc32(w.bytes.data(), w.bytes.size()));
    atomic_write_file(path, w.bytes.data(), w.bytes.size());
}

MFModel load_model(const std::string& path) {
    const std::vector<unsigned char> buf = read_file(path);
    const std::string what = path;
    if (buf.size() < 16 || std::memcmp(buf.data(), kMagic, 8) != 0)
        fail(SIMDMF_ERR_FORMAT, path + ": not a simdmf model file (bad magic)");
    ByteReader r(buf.data(), buf.size(), what);
    r.skip(8);
    const std::uint32_t version = r.u32();
    if (version == 0) fail(SIMDMF_ERR_FORMAT, path + ": format version 0 is invalid");
    if (version > kVersion)
        fail(SIMDMF_ERR_VERSION, path + ": model format version " + std::to_string(version) +
                                     " is newer than this library reads (" + std::to_string(kVersion) + ")");
    const std::uint32_t header = r.u32();
    if (header < kHeaderMin || header > 4096)
        fail(SIMDMF_ERR_FORMAT, path + ": header size " + std::to_string(header) + " is invalid");
    const std::uint32_t kind = r.u32(), k = r.u32(), nu = r.u32(), ni = r.u32(), flags = r.u32();
    const float mu = r.f32();
    const std::uint64_t payload = r.u64();
    float min_pred = -std::numeric_limits<float>::infinity(), max_pred = std::numeric_limits<float>::infinity();
    if (header >= kHeaderBytes) {
        min_pred = r.f32();
        max_pred = r.f32();
    }
    r.skip(header - std::min(header, kHeaderBytes));
    if (kind != SIMDMF_MODEL_MF && kind != SIMDMF_MODEL_LOGISTIC)
        fail(SIMDMF_ERR_FORMAT, path + ": unknown model kind " + std::to_string(kind));
    if (k == 0 || k > 65536) fail(SIMDMF_ERR_FORMAT, path + ": k = " + std::to_string(k) + " is invalid");
    if (flags & ~(kFlagBiases | kFlagUserMap | kFlagItemMap))
        fail(SIMDMF_ERR_FORMAT, path + ": unknown flags " + std::to_string(flags));
    // Everything is checked against the file's real size before any allocation.
    const std::uint64_t expected = payload_bytes(k, nu, ni, flags);
    if (payload != expected)
        fail(SIMDMF_ERR_FORMAT, path + ": header says " + std::to_string(payload) +
                                    " payload bytes, dimensions need " + std::to_string(expected));
    if (r.remaining() < 4 || r.remaining() - 4 != payload)
        fail(SIMDMF_ERR_FORMAT, path + ": file is " + std::to_string(buf.size()) + " bytes, expected " +
                                    std::to_string(r.position() + payload + 4) + " (truncated or padded)");
    ByteReader tail(buf.data() + buf.size() - 4, 4, what);
    const std::uint32_t stored = tail.u32();
    if (crc32(buf.data(), buf.size() - 4) != stored)
        fail(SIMDMF_ERR_CHECKSUM, path + ": checksum mismatch (file corrupted)");

    MFModel m;
    m.allocate(kind == SIMDMF_MODEL_LOGISTIC ? Loss::logistic : Loss::squared, k, nu, ni, (flags & kFlagBiases) != 0);
    m.mu = mu;
    try {  // the rule of MFModel::set_prediction_range, as a format error
        m.set_prediction_range(min_pred, max_pred);
    } catch (const Error& e) {
        fail(SIMDMF_ERR_FORMAT, path + ": " + e.what());
    }
    if (m.biases) {
        r.f32s(m.bu.data(), nu);
        r.f32s(m.bi.data(), ni);
    }
    for (std::uint32_t u = 0; u < nu; ++u) r.f32s(m.user_row(u), k);
    for (std::uint32_t i = 0; i < ni; ++i) r.f32s(m.item_row(i), k);
    if (flags & kFlagUserMap) {
        std::vector<std::int64_t> raws(nu);
        r.i64s(raws.data(), nu);
        m.user_ids = std::make_shared<const IdMap>(IdMap::from_raws(std::move(raws)));
    }
    if (flags & kFlagItemMap) {
        std::vector<std::int64_t> raws(ni);
        r.i64s(raws.data(), ni);
        m.item_ids = std::make_shared<const IdMap>(IdMap::from_raws(std::move(raws)));
    }
    return m;
}

}  // namespace simdmf
