// The model file (docs/model_file.md is the specification).
//
// v2, written from now on: a 64-byte header, a directory of 96-byte entries (name, type, flags, offset,
// length, CRC-32C, dtype, rows, cols, stride), then the sections, each at a multiple of 64 bytes with
// zero bytes between them: "meta" (typed key/value records: kind, objective, dimensions, mu, prediction
// range, training options) and one array section per parameter table and id map. Factor tables are
// stored as the model holds them (rows padded to padded_stride(k), padding zero), so a mapped file
// serves in place. Saving computes the sections' CRCs from memory, then streams header, directory and
// sections through AtomicFile: no whole-file buffer. Reading maps the file (FileBytes) and checks the
// header, directory and every section's bounds before anything is allocated.
//
// v1, still read: magic | u32 version 1 | u32 header bytes (32 or 40) | u32 kind, k, n_users, n_items,
// flags | f32 mu | u64 payload bytes | [f32 min_pred, max_pred] | payload: [bu, bi] P Q (rows unpadded)
// [user raw ids] [item raw ids] | u32 CRC-32 of every byte before it. Flags: 1 biases, 2 user map,
// 4 item map.
#include "io/model_file.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <vector>

#include "io/fileio.hpp"
#include "models/mf.hpp"
#include "models/ncf.hpp"

namespace simdmf {

using namespace model_file;

namespace {

constexpr bool kLittle = std::endian::native == std::endian::little;

std::uint64_t align_up(std::uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

// Calls out(bytes, n) over the little-endian encoding of count elements of `size` bytes at data
// (the memory itself on a little-endian host; converted in chunks otherwise).
template <class Out>
void le_bytes(const void* data, std::size_t count, std::size_t size, Out&& out) {
    if (count == 0) return;
    if constexpr (kLittle) {
        out(data, count * size);
    } else {
        unsigned char buf[4096];
        const auto* p = static_cast<const unsigned char*>(data);
        const std::size_t per = sizeof buf / size;
        for (std::size_t done = 0; done < count;) {
            const std::size_t m = std::min(per, count - done);
            for (std::size_t e = 0; e < m; ++e)
                for (std::size_t b = 0; b < size; ++b) buf[e * size + b] = p[(done + e) * size + size - 1 - b];
            out(buf, m * size);
            done += m;
        }
    }
}


// One section to write.
struct OutSection {
    std::string name;
    std::uint32_t type, flags, dtype;
    std::uint64_t rows, cols, stride;
    const void* data;
    std::size_t count, elem;  // elements and bytes per element
    std::uint64_t offset = 0;
    std::uint32_t crc = 0;
    std::uint64_t length() const { return std::uint64_t(count) * elem; }
};

// A parameter view's section: "param." + the view's name.
std::string param_section(const char* view) { return std::string("param.") + view; }

class MetaWriter {
public:
    ByteWriter w;
    void integer(const std::string& key, std::int64_t v) {
        head(key, kMetaInt, 8);
        w.u64(static_cast<std::uint64_t>(v));
    }
    void f32(const std::string& key, float v) {
        head(key, kMetaF32, 4);
        w.f32(v);
    }
    void text(const std::string& key, const std::string& v) {
        head(key, kMetaText, static_cast<std::uint32_t>(v.size()));
        w.raw(v.data(), v.size());
    }

private:
    void head(const std::string& key, std::uint32_t type, std::uint32_t len) {
        w.u32(static_cast<std::uint32_t>(key.size()));
        w.u32(type);
        w.u32(len);
        w.raw(key.data(), key.size());
    }
};

void put_entry(ByteWriter& w, const OutSection& s) {
    char name[kNameBytes] = {};
    std::memcpy(name, s.name.data(), std::min<std::size_t>(s.name.size(), kNameBytes - 1));
    w.raw(name, kNameBytes);
    w.u32(s.type);
    w.u32(s.flags);
    w.u64(s.offset);
    w.u64(s.length());
    w.u32(s.crc);
    w.u32(s.dtype);
    w.u64(s.rows);
    w.u64(s.cols);
    w.u64(s.stride);
    w.u64(0);
}

}  // namespace

void save_model(const MFModel& m, const std::string& path) { save_model(static_cast<const Model&>(m), path); }

void save_model(const Model& m, const std::string& path) {
    for (const auto* map : {m.user_ids.get(), m.item_ids.get()})
        if (map && map->size() != (map == m.user_ids.get() ? m.n_users : m.n_items))
            fail(SIMDMF_ERR_INTERNAL, path + ": id map size differs from the model's");
    MetaWriter meta;
    meta.text("kind", m.kind_name());
    meta.text("loss", loss_name(m.loss()));
    meta.text("link", link_name(m.objective.link));
    meta.integer("n_users", m.n_users);
    meta.integer("n_items", m.n_items);
    meta.f32("min_pred", m.min_pred);
    meta.f32("max_pred", m.max_pred);
    if (m.objective.link == Link::scaled_sigmoid) {
        meta.f32("link_lo", static_cast<float>(m.objective.lo));
        meta.f32("link_hi", static_cast<float>(m.objective.hi));
    }
    if (const auto* mf = dynamic_cast<const MFModel*>(&m)) {  // MF's own scalars
        meta.integer("k", mf->k);
        meta.integer("biases", mf->biases ? 1 : 0);
        meta.f32("mu", mf->mu);
        if (mf->quant.on()) meta.text("table", table_type_name(mf->quant.type));
        if (mf->quant.on() && mf->quant.rerank != 0) meta.integer("rerank", mf->quant.rerank);
        if (mf->objective.implicit()) {  // the cell weights fold-in needs (lib/implicit.hpp)
            auto num = [](double v) {
                char b[32];
                std::snprintf(b, sizeof b, "%.17g", v);
                return std::string(b);
            };
            meta.text("implicit.confidence", confidence_name(mf->implicit.confidence));
            meta.text("implicit.alpha", num(mf->implicit.alpha));
            meta.text("implicit.eps", num(mf->implicit.eps));
            meta.text("implicit.unobserved_weight", num(mf->implicit.unobserved_weight));
            meta.text("implicit.reg_exponent", num(mf->implicit.reg_exponent));
        }
    } else if (const auto* nc = dynamic_cast<const NCFModel*>(&m)) {  // the network's shape
        meta.integer("k", nc->shape.k);
        std::string layers;
        for (std::uint32_t w : nc->shape.layers) layers += (layers.empty() ? "" : ",") + std::to_string(w);
        meta.text("layers", layers);
        meta.integer("activation", static_cast<std::int64_t>(nc->shape.act));
        meta.f32("slope", nc->shape.slope);
        if (nc->shape.rows) {  // the rows form: the training matrix its input layers read (sections input.*)
            if (!nc->input || nc->input->n_users != m.n_users || nc->input->n_items != m.n_items)
                fail(SIMDMF_ERR_INTERNAL, path + ": the model's training matrix does not match its dimensions");
            meta.text("input", "rows");
            meta.integer("input_users", nc->in_users);
            meta.integer("input_norm", nc->input->norm);
        }
    } else {
        fail(SIMDMF_ERR_UNSUPPORTED, path + ": saving a model of kind " + m.kind_name() + " is not supported");
    }
    meta.text("writer", std::string("simdmf ") + SIMDMF_VERSION_STRING);
    for (const auto& [key, value] : m.train_options) meta.text("train." + key, value);

    std::vector<OutSection> secs;
    secs.push_back({"meta", kTypeMeta, kFlagRequired, 0, 0, 0, 0, meta.w.bytes.data(), meta.w.bytes.size(), 1});
    for (const ConstParamView& v : m.params()) {
        if (v.array->size() != v.rows * v.cols) fail(SIMDMF_ERR_INTERNAL, path + ": parameter " + v.name + " size");
        secs.push_back({param_section(v.name), kTypeArray, kFlagRequired, kDtypeF32, v.rows, v.used, v.cols,
                        v.array->data(), v.array->size(), sizeof(float)});
    }
    // Quantized tables (models/quant.hpp): required when the fp32 tables were dropped, else optional (a
    // reader that does not know them serves the fp32 tables).
    if (const auto* mf = dynamic_cast<const MFModel*>(&m); mf && mf->quant.on()) {
        const QuantTables& q = mf->quant;
        const std::uint32_t flags = mf->has_fp32 ? 0 : kFlagRequired;
        const bool i8 = q.type == TableType::int8;
        const std::size_t elem = quant_elem_bytes(q.type);
        for (int side : {SIMDMF_USERS, SIMDMF_ITEMS}) {
            const bool users = side == SIMDMF_USERS;
            const std::uint64_t rows = m.count(side);
            const ParamArray& t = users ? q.P : q.Q;
            if (t.size() * 4 != rows * q.stride * elem) fail(SIMDMF_ERR_INTERNAL, path + ": quantized table size");
            secs.push_back({users ? "quant.P" : "quant.Q", kTypeArray, flags, i8 ? kDtypeI8 : kDtypeF16, rows,
                            mf->k, q.stride, t.data(), std::size_t(rows * q.stride), elem});
            if (i8)
                secs.push_back({users ? "quant.sP" : "quant.sQ", kTypeArray, flags, kDtypeF32, rows, 1, 1,
                                (users ? q.sP : q.sQ).data(), std::size_t(rows), sizeof(float)});
        }
    }
    // The rows form's training matrix: the user rows as CSR (i64 offsets, i64 item indices, f32
    // values); the item columns are rebuilt from them when reading.
    std::vector<std::int64_t> in_ptr, in_idx;
    if (const auto* nc = dynamic_cast<const NCFModel*>(&m); nc && nc->shape.rows) {
        const NcfInputs& x = *nc->input;
        in_ptr.assign(x.uptr.begin(), x.uptr.end());
        in_idx.assign(x.uidx.begin(), x.uidx.end());
        secs.push_back({"input.ptr", kTypeArray, kFlagRequired, kDtypeI64, in_ptr.size(), 1, 1, in_ptr.data(),
                        in_ptr.size(), sizeof(std::int64_t)});
        secs.push_back({"input.idx", kTypeArray, kFlagRequired, kDtypeI64, in_idx.size(), 1, 1, in_idx.data(),
                        in_idx.size(), sizeof(std::int64_t)});
        secs.push_back({"input.val", kTypeArray, kFlagRequired, kDtypeF32, x.uval.size(), 1, 1, x.uval.data(),
                        x.uval.size(), sizeof(float)});
    }
    // Id maps: integer ids as an i64 array; string ids as a string table (u64 offsets[n + 1] into the
    // text that follows them), built here (ids are small beside the tables).
    std::vector<std::vector<unsigned char>> tables;
    tables.reserve(2);
    for (int side : {SIMDMF_USERS, SIMDMF_ITEMS}) {
        const IdMap* map = side == SIMDMF_USERS ? m.user_ids.get() : m.item_ids.get();
        if (!map) continue;
        const char* name = side == SIMDMF_USERS ? "user_ids" : "item_ids";
        const std::uint64_t n = m.count(side);
        if (!map->is_string()) {
            secs.push_back({name, kTypeArray, kFlagRequired, kDtypeI64, n, 1, 1, map->raws().data(), n,
                            sizeof(std::int64_t)});
            continue;
        }
        ByteWriter t;
        std::uint64_t at = 0;
        t.u64(0);
        for (const std::string& id : map->strings_list()) t.u64(at += id.size());
        for (const std::string& id : map->strings_list()) t.raw(id.data(), id.size());
        tables.push_back(std::move(t.bytes));
        secs.push_back({name, kTypeStrings, kFlagRequired, 0, n, 1, 1, tables.back().data(), tables.back().size(), 1});
    }

    // Offsets and CRCs first (a pass over the model's memory), so that the file is written front to back.
    std::uint64_t pos = align_up(kHeaderBytes + std::uint64_t(secs.size()) * kEntryBytes), end = pos;
    for (OutSection& s : secs) {
        s.offset = pos;
        end = pos + s.length();
        pos = align_up(end);
        le_bytes(s.data, s.count, s.elem, [&](const void* p, std::size_t n) { s.crc = crc32c(p, n, s.crc); });
    }
    ByteWriter h;
    h.raw(kMagic, 8);
    h.u32(kVersion);
    h.u32(kHeaderBytes);
    h.u32(static_cast<std::uint32_t>(secs.size()));
    h.u32(kEntryBytes);
    h.u64(kHeaderBytes);  // the directory follows the header
    h.u64(end);           // file size
    h.u32(0);             // file flags
    while (h.bytes.size() < kCrcOffset) h.bytes.push_back(0);
    h.u32(0);             // CRC, below
    for (const OutSection& s : secs) put_entry(h, s);
    std::uint32_t crc = crc32c(h.bytes.data(), kCrcOffset);
    crc = crc32c(h.bytes.data() + kHeaderBytes, h.bytes.size() - kHeaderBytes, crc);
    for (int b = 0; b < 4; ++b) h.bytes[kCrcOffset + b] = static_cast<unsigned char>(crc >> (8 * b));

    static const unsigned char zeros[kAlign] = {};
    AtomicFile f(path);
    f.write(h.bytes.data(), h.bytes.size());
    std::uint64_t at = h.bytes.size();
    for (const OutSection& s : secs) {
        f.write(zeros, static_cast<std::size_t>(s.offset - at));
        le_bytes(s.data, s.count, s.elem, [&](const void* p, std::size_t n) { f.write(p, n); });
        at = s.offset + s.length();
    }
    f.commit();
}

// ------------------------------------------------------------------------------------------------
// v1
// ------------------------------------------------------------------------------------------------

namespace {
constexpr std::uint32_t kV1HeaderMin = 32;    // the first header: up to the payload size
constexpr std::uint32_t kV1HeaderBytes = 40;  // with the prediction range
constexpr std::uint32_t kV1Biases = 1, kV1UserMap = 2, kV1ItemMap = 4;

std::uint64_t v1_payload_bytes(std::uint32_t k, std::uint64_t nu, std::uint64_t ni, std::uint32_t flags) {
    std::uint64_t b = (nu + ni) * k * 4;
    if (flags & kV1Biases) b += (nu + ni) * 4;
    if (flags & kV1UserMap) b += nu * 8;
    if (flags & kV1ItemMap) b += ni * 8;
    return b;
}

void set_range_or_format(MFModel& m, float lo, float hi, const std::string& path) {
    try {  // the rule of Model::set_prediction_range, as a format error
        m.set_prediction_range(lo, hi);
    } catch (const Error& e) {
        fail(SIMDMF_ERR_FORMAT, path + ": " + e.what());
    }
}

MFModel load_v1(const unsigned char* data, std::size_t size, const std::string& path) {
    ByteReader r(data, size, path);
    r.skip(12);
    const std::uint32_t header = r.u32();
    if (header < kV1HeaderMin || header > 4096)
        fail(SIMDMF_ERR_FORMAT, path + ": header size " + std::to_string(header) + " is invalid");
    const std::uint32_t kind = r.u32(), k = r.u32(), nu = r.u32(), ni = r.u32(), flags = r.u32();
    const float mu = r.f32();
    const std::uint64_t payload = r.u64();
    float min_pred = -std::numeric_limits<float>::infinity(), max_pred = std::numeric_limits<float>::infinity();
    if (header >= kV1HeaderBytes) {
        min_pred = r.f32();
        max_pred = r.f32();
    }
    r.skip(header - std::min(header, kV1HeaderBytes));
    if (k == 0 || k > 65536) fail(SIMDMF_ERR_FORMAT, path + ": k = " + std::to_string(k) + " is invalid");
    if (flags & ~(kV1Biases | kV1UserMap | kV1ItemMap))
        fail(SIMDMF_ERR_FORMAT, path + ": unknown flags " + std::to_string(flags));
    // Everything is checked against the file's real size before any allocation.
    const std::uint64_t expected = v1_payload_bytes(k, nu, ni, flags);
    if (payload != expected)
        fail(SIMDMF_ERR_FORMAT, path + ": header says " + std::to_string(payload) +
                                    " payload bytes, dimensions need " + std::to_string(expected));
    if (r.remaining() < 4 || r.remaining() - 4 != payload)
        fail(SIMDMF_ERR_FORMAT, path + ": file is " + std::to_string(size) + " bytes, expected " +
                                    std::to_string(r.position() + payload + 4) + " (truncated or padded)");
    ByteReader tail(data + size - 4, 4, path);
    const std::uint32_t stored = tail.u32();
    if (crc32(data, size - 4) != stored) fail(SIMDMF_ERR_CHECKSUM, path + ": checksum mismatch (file corrupted)");
    // After the checksum: a flipped bit is corruption, an intact file of another kind is unsupported.
    if (kind != SIMDMF_MODEL_MF && kind != SIMDMF_MODEL_LOGISTIC)
        fail(SIMDMF_ERR_UNSUPPORTED, path + ": model kind " + std::to_string(kind) + " is not supported by this library");

    MFModel m;
    m.allocate(kind == SIMDMF_MODEL_LOGISTIC ? Loss::logistic : Loss::squared, k, nu, ni, (flags & kV1Biases) != 0);
    m.mu = mu;
    set_range_or_format(m, min_pred, max_pred, path);
    if (m.biases) {
        r.f32s(m.bu.data(), nu);
        r.f32s(m.bi.data(), ni);
    }
    for (std::uint32_t u = 0; u < nu; ++u) r.f32s(m.user_row(u), k);
    for (std::uint32_t i = 0; i < ni; ++i) r.f32s(m.item_row(i), k);
    if (flags & kV1UserMap) {
        std::vector<std::int64_t> raws(nu);
        r.i64s(raws.data(), nu);
        m.user_ids = std::make_shared<const IdMap>(IdMap::from_raws(std::move(raws)));
    }
    if (flags & kV1ItemMap) {
        std::vector<std::int64_t> raws(ni);
        r.i64s(raws.data(), ni);
        m.item_ids = std::make_shared<const IdMap>(IdMap::from_raws(std::move(raws)));
    }
    return m;
}
}  // namespace

void save_model_v1(const MFModel& m, const std::string& path) {
    if ((m.user_ids && m.user_ids->is_string()) || (m.item_ids && m.item_ids->is_string()))
        fail(SIMDMF_ERR_UNSUPPORTED, path + ": string ids need model file v2 (v1 stores integer ids only)");
    const std::uint32_t flags = (m.biases ? kV1Biases : 0) | (m.user_ids ? kV1UserMap : 0) |
                                (m.item_ids ? kV1ItemMap : 0);
    ByteWriter w;
    const std::uint64_t payload = v1_payload_bytes(m.k, m.n_users, m.n_items, flags);
    w.bytes.reserve(16 + kV1HeaderBytes + payload + 4);
    w.raw(kMagic, 8);
    w.u32(1);
    w.u32(kV1HeaderBytes);
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

// ------------------------------------------------------------------------------------------------
// v2 reader
// ------------------------------------------------------------------------------------------------

namespace {

struct Entry {
    std::string name;
    std::uint32_t type, flags, crc, dtype;
    std::uint64_t offset, length, rows, cols, stride;
};

bool name_char(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'; }

struct MetaValue {
    std::uint32_t type;
    std::vector<unsigned char> bytes;
};

class V2Reader {
public:
    V2Reader(std::shared_ptr<const FileBytes> file, const std::string& path, const OpenOptions& o)
        : file_(std::move(file)), p_(file_->data()), n_(file_->size()), path_(path), opt_(o) {}

    std::unique_ptr<Model> read() {
        directory();
        const Entry& meta = need("meta");
        if (meta.type != kTypeMeta) fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": section 'meta' has type " +
                                                                  std::to_string(meta.type) + ", not metadata");
        check_crc(meta);
        parse_meta(meta);
        const std::string kind = text("kind");
        ModelKind mk;
        if (!parse_model_kind(kind, &mk))
            fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": model kind '" + kind + "' is not supported by this library (" +
                                             SIMDMF_VERSION_STRING + ")");
        // Dimensions and scalars; the parameter arrays come next.
        std::unique_ptr<Model> m = mk == ModelKind::mf ? std::unique_ptr<Model>(std::make_unique<MFModel>(skeleton(mk)))
                                                       : std::unique_ptr<Model>(std::make_unique<NCFModel>(ncf_skeleton(mk)));
        for (const ConstParamView& v : static_cast<const Model&>(*m).params()) params_.push_back(param_section(v.name));
        refuse_unknown_required();
        if (opt_.verify)
            for (const Entry& e : entries_) check_crc(e);
        fill(*m);
        return m;
    }

private:
    [[noreturn]] void format(const std::string& why) const { fail(SIMDMF_ERR_FORMAT, path_ + ": " + why); }

    std::uint32_t u32_at(std::size_t at) const {
        std::uint32_t v;
        std::memcpy(&v, p_ + at, 4);
        return kLittle ? v : __builtin_bswap32(v);
    }

    void directory() {
        if (n_ < kHeaderBytes)
            format("file is " + std::to_string(n_) + " bytes, shorter than the " + std::to_string(kHeaderBytes) +
                   "-byte header (truncated)");
        ByteReader r(p_, n_, path_);
        r.skip(12);
        const std::uint32_t header = r.u32(), count = r.u32(), entry = r.u32();
        const std::uint64_t dir = r.u64(), size = r.u64();
        const std::uint32_t flags = r.u32();
        if (header < kHeaderBytes || header > 4096 || header % 8 != 0)
            format("header size " + std::to_string(header) + " is invalid");
        if (entry < kEntryBytes || entry > 4096 || entry % 8 != 0)
            format("directory entry size " + std::to_string(entry) + " is invalid");
        if (count == 0 || count > kMaxSections) format("section count " + std::to_string(count) + " is invalid");
        if (dir != header) format("directory offset " + std::to_string(dir) + " is not the header size");
        dir_end_ = std::uint64_t(header) + std::uint64_t(count) * entry;
        if (dir_end_ > n_)
            format("file is " + std::to_string(n_) + " bytes, the directory ends at " + std::to_string(dir_end_) +
                   " (truncated)");
        std::uint32_t crc = crc32c(p_, kCrcOffset);
        crc = crc32c(p_ + kHeaderBytes, dir_end_ - kHeaderBytes, crc);
        if (crc != u32_at(kCrcOffset)) fail(SIMDMF_ERR_CHECKSUM, path_ + ": header checksum mismatch (file corrupted)");
        if (size != n_)
            format("file is " + std::to_string(n_) + " bytes, the header says " + std::to_string(size) +
                   " (truncated or padded)");
        if (flags != 0) fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": file flags " + std::to_string(flags) +
                                                     " are not supported by this library");
        for (std::uint32_t j = 0; j < count; ++j) entries_.push_back(read_entry(header + std::size_t(j) * entry, j));
        // Names unique; sections inside the file, aligned, not overlapping; the bytes between them zero.
        std::vector<const Entry*> by_offset;
        for (const Entry& e : entries_) {
            for (const Entry* o : by_offset)
                if (o->name == e.name) format("two sections are named '" + e.name + "'");
            by_offset.push_back(&e);
        }
        std::sort(by_offset.begin(), by_offset.end(),
                  [](const Entry* a, const Entry* b) { return a->offset < b->offset; });
        std::uint64_t at = dir_end_;
        const Entry* prev = nullptr;
        for (const Entry* e : by_offset) {
            if (e->offset < at)
                format(prev ? "sections '" + prev->name + "' and '" + e->name + "' overlap"
                            : "section '" + e->name + "' overlaps the header or directory");
            zero_gap(at, e->offset);
            at = e->offset + e->length;
            prev = e;
        }
        zero_gap(at, n_);
    }

    Entry read_entry(std::size_t at, std::uint32_t index) {
        Entry e;
        const char* name = reinterpret_cast<const char*>(p_ + at);
        const std::size_t len = strnlen(name, kNameBytes);
        bool ok = len > 0 && len < kNameBytes;
        for (std::size_t c = 0; ok && c < kNameBytes; ++c)
            ok = c < len ? name_char(static_cast<unsigned char>(name[c])) : name[c] == 0;
        if (!ok) format("section " + std::to_string(index) + " has an invalid name");
        e.name.assign(name, len);
        ByteReader r(p_ + at + kNameBytes, kEntryBytes - kNameBytes, path_);
        e.type = r.u32();
        e.flags = r.u32();
        e.offset = r.u64();
        e.length = r.u64();
        e.crc = r.u32();
        e.dtype = r.u32();
        e.rows = r.u64();
        e.cols = r.u64();
        e.stride = r.u64();
        if (e.offset % kAlign != 0)
            format("section '" + e.name + "' at offset " + std::to_string(e.offset) + " is not " +
                   std::to_string(kAlign) + "-byte aligned");
        if (e.offset > n_ || e.length > n_ - e.offset)
            format("section '" + e.name + "' (" + std::to_string(e.length) + " bytes at " + std::to_string(e.offset) +
                   ") runs past the end of the file (" + std::to_string(n_) + " bytes)");
        return e;
    }

    void zero_gap(std::uint64_t from, std::uint64_t to) const {
        for (std::uint64_t b = from; b < to; ++b)
            if (p_[b] != 0) format("byte " + std::to_string(b) + " lies outside every section and is not zero");
    }

    const Entry* find(const std::string& name) const {
        for (const Entry& e : entries_)
            if (e.name == name) return &e;
        return nullptr;
    }
    const Entry& need(const std::string& name) const {
        const Entry* e = find(name);
        if (!e) format("no '" + name + "' section");
        return *e;
    }

    void check_crc(const Entry& e) const {
        if (crc32c(p_ + e.offset, e.length) != e.crc)
            fail(SIMDMF_ERR_CHECKSUM, path_ + ": section '" + e.name + "' checksum mismatch (file corrupted)");
    }

    // Sections this library reads for the model's kind: a name and a type (and dtype). Anything else
    // is skipped when optional and refused when required.
    bool known(const Entry& e) const {
        if (e.name == "meta") return e.type == kTypeMeta;
        if (e.name == "user_ids" || e.name == "item_ids")
            return (e.type == kTypeArray && e.dtype == kDtypeI64) || e.type == kTypeStrings;
        for (const std::string& p : params_)
            if (e.name == p) return e.type == kTypeArray && e.dtype == kDtypeF32;
        if (rows_form_) {
            if (e.name == "input.ptr" || e.name == "input.idx") return e.type == kTypeArray && e.dtype == kDtypeI64;
            if (e.name == "input.val") return e.type == kTypeArray && e.dtype == kDtypeF32;
        }
        if (quant_ != TableType::fp32) {
            const std::uint32_t dt = quant_ == TableType::int8 ? kDtypeI8 : kDtypeF16;
            if (e.name == "quant.P" || e.name == "quant.Q") return e.type == kTypeArray && e.dtype == dt;
            if (quant_ == TableType::int8 && (e.name == "quant.sP" || e.name == "quant.sQ"))
                return e.type == kTypeArray && e.dtype == kDtypeF32;
        }
        return false;
    }
    void refuse_unknown_required() const {
        for (const Entry& e : entries_)
            if (!known(e) && (e.flags & kFlagRequired))
                fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": required section '" + e.name + "' (type " +
                                                 std::to_string(e.type) + ", dtype " + std::to_string(e.dtype) +
                                                 ") is not supported by this library (" + SIMDMF_VERSION_STRING + ")");
    }

    void parse_meta(const Entry& e) {
        ByteReader r(p_ + e.offset, e.length, path_ + ": section 'meta'");
        while (r.remaining() > 0) {
            const std::uint32_t klen = r.u32(), type = r.u32(), vlen = r.u32();
            if (klen == 0 || klen > 256) format("metadata key of " + std::to_string(klen) + " bytes");
            if (klen > r.remaining() || vlen > r.remaining() - klen) format("section 'meta': truncated");
            std::string key(reinterpret_cast<const char*>(p_ + e.offset + r.position()), klen);
            r.skip(klen);
            MetaValue v{type, std::vector<unsigned char>(p_ + e.offset + r.position(),
                                                         p_ + e.offset + r.position() + vlen)};
            r.skip(vlen);
            if (!meta_.emplace(key, std::move(v)).second) format("metadata key '" + key + "' appears twice");
            keys_.push_back(std::move(key));
        }
    }
    const MetaValue& value(const std::string& key, std::uint32_t type, std::size_t len) const {
        auto it = meta_.find(key);
        if (it == meta_.end()) format("metadata has no '" + key + "'");
        if (it->second.type != type || (len && it->second.bytes.size() != len))
            format("metadata '" + key + "' has the wrong type");
        return it->second;
    }
    std::int64_t integer(const std::string& key) const {
        ByteReader r(value(key, kMetaInt, 8).bytes.data(), 8, path_);
        return static_cast<std::int64_t>(r.u64());
    }
    float f32(const std::string& key) const {
        ByteReader r(value(key, kMetaF32, 4).bytes.data(), 4, path_);
        return r.f32();
    }
    std::string text(const std::string& key) const {
        const auto& b = value(key, kMetaText, 0).bytes;
        return std::string(b.begin(), b.end());
    }
    std::uint32_t count(const std::string& key, std::int64_t lo, std::int64_t hi) const {
        const std::int64_t v = integer(key);
        if (v < lo || v > hi) format("metadata '" + key + "' = " + std::to_string(v) + " is invalid");
        return static_cast<std::uint32_t>(v);
    }

    // The array section `name` with the given shape (bytes = rows * stride * elem).
    const Entry* array(const std::string& name, bool required, std::uint64_t rows, std::uint64_t cols,
                       std::uint64_t stride, std::uint64_t elem) const {
        const Entry* e = find(name);
        if (!e) {
            if (required) format("no '" + name + "' section");
            return nullptr;
        }
        if (e->rows != rows || e->cols != cols || e->stride != stride)
            format("section '" + name + "' is " + std::to_string(e->rows) + " x " + std::to_string(e->cols) +
                   " (stride " + std::to_string(e->stride) + "), the model needs " + std::to_string(rows) + " x " +
                   std::to_string(cols) + " (stride " + std::to_string(stride) + ")");
        if (e->length != rows * stride * elem)
            format("section '" + name + "' is " + std::to_string(e->length) + " bytes, its shape needs " +
                   std::to_string(rows * stride * elem));
        return e;
    }

    // A float table: borrowed from the mapping, or copied.
    ParamArray floats(const Entry& e, bool map) const {
        const std::size_t n = static_cast<std::size_t>(e.length / sizeof(float));
        if (map) return ParamArray::borrow(reinterpret_cast<const float*>(p_ + e.offset), n, file_);
        ParamArray a(n);
        ByteReader r(p_ + e.offset, e.length, path_);
        r.f32s(a.data(), n);
        return a;
    }

    // Factor rows must hold zeros past k (the kernels read whole strides).
    void check_padding(const Entry& e) const {
        if (e.stride == e.cols) return;
        const std::size_t row = e.stride * 4, used = e.cols * 4;
        for (std::uint64_t r = 0; r < e.rows; ++r) {
            const unsigned char* q = p_ + e.offset + r * row;
            for (std::size_t b = used; b < row; ++b)
                if (q[b] != 0) format("row " + std::to_string(r) + " of '" + e.name + "' has non-zero padding");
        }
    }

    // The quantized tables (shapes, then values: int8 in [-127, 127], fp16 finite, padding zero when
    // verifying; scales finite and >= 0 always), borrowed from the mapping or copied.
    void quant_tables(MFModel& m, bool map) const {
        QuantTables& q = m.quant;
        const bool i8 = q.type == TableType::int8;
        const std::size_t elem = quant_elem_bytes(q.type);
        for (int side : {SIMDMF_USERS, SIMDMF_ITEMS}) {
            const bool users = side == SIMDMF_USERS;
            const std::uint64_t rows = m.count(side);
            const Entry& e = *array(users ? "quant.P" : "quant.Q", true, rows, m.k, q.stride, elem);
            if (opt_.verify) {
                for (std::uint64_t r = 0; r < rows; ++r) {
                    const unsigned char* row = p_ + e.offset + r * q.stride * elem;
                    for (std::size_t b = m.k * elem; b < q.stride * elem; ++b)
                        if (row[b] != 0) format("row " + std::to_string(r) + " of '" + e.name + "' has non-zero padding");
                    for (std::uint32_t f = 0; f < m.k; ++f) {
                        const bool bad = i8 ? row[f] == 0x80
                                            : ((row[2 * f] | (row[2 * f + 1] << 8)) & 0x7C00) == 0x7C00;
                        if (bad) format("row " + std::to_string(r) + " of '" + e.name + "' holds " +
                                        (i8 ? "-128 (int8 tables hold -127 .. 127)" : "an fp16 infinity or NaN"));
                    }
                }
            }
            const std::size_t n = static_cast<std::size_t>(e.length / 4);
            ParamArray& t = users ? q.P : q.Q;
            if (map) {
                t = ParamArray::borrow(reinterpret_cast<const float*>(p_ + e.offset), n, file_);
            } else {
                t.assign(n, 0.0f);
                std::memcpy(t.data(), p_ + e.offset, e.length);
                if (!kLittle && !i8) {
                    auto* h = reinterpret_cast<std::uint16_t*>(t.data());
                    for (std::size_t j = 0; j < n * 2; ++j) h[j] = static_cast<std::uint16_t>((h[j] >> 8) | (h[j] << 8));
                }
            }
            if (i8) {
                const Entry& se = *array(users ? "quant.sP" : "quant.sQ", true, rows, 1, 1, 4);
                ParamArray& sc = users ? q.sP : q.sQ;
                sc = floats(se, map);
                for (std::uint64_t r = 0; r < rows; ++r)
                    if (!(sc[r] >= 0.0f) || !std::isfinite(sc[r]))
                        format("scale " + std::to_string(r) + " of '" + se.name + "' is not finite and >= 0");
            }
        }
    }

    std::shared_ptr<const IdMap> ids(const Entry* e, std::uint64_t n) const {
        if (!e) return nullptr;
        if (e->rows != n || e->cols != 1 || e->stride != 1)
            format("section '" + e->name + "' holds " + std::to_string(e->rows) + " ids, the model needs " +
                   std::to_string(n));
        ByteReader r(p_ + e->offset, e->length, path_ + ": section '" + e->name + "'");
        if (e->type == kTypeArray) {
            if (e->length != n * 8) format("section '" + e->name + "' is not " + std::to_string(n) + " int64 ids");
            std::vector<std::int64_t> raws(n);
            r.i64s(raws.data(), raws.size());
            return std::make_shared<const IdMap>(IdMap::from_raws(std::move(raws)));
        }
        // A string table: u64 offsets[n + 1] (0, increasing, the last = the text's length), the text.
        if (e->length / 8 < n + 1) format("section '" + e->name + "': truncated");
        const std::uint64_t text_at = (n + 1) * 8, text_n = e->length - text_at;
        std::vector<std::string> strs(n);
        std::uint64_t prev = r.u64();
        if (prev != 0) format("section '" + e->name + "': the first offset is not 0");
        for (std::uint64_t j = 0; j < n; ++j) {
            const std::uint64_t next = r.u64();
            if (next < prev || next > text_n)
                format("section '" + e->name + "': offset " + std::to_string(j + 1) + " is invalid");
            strs[j].assign(reinterpret_cast<const char*>(p_ + e->offset + text_at + prev), next - prev);
            prev = next;
        }
        if (prev != text_n) format("section '" + e->name + "': the text is longer than its ids");
        return std::make_shared<const IdMap>(IdMap::from_strings(std::move(strs)));
    }

    // The model of `kind` with its dimensions and scalars from the metadata, parameter arrays empty.
    MFModel skeleton(ModelKind kind) const {
        Loss loss;
        const std::string ls = text("loss"), link = text("link");
        if (!parse_loss(ls, &loss))
            fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": loss '" + ls + "' is not supported by this library");
        MFModel m;
        m.kind = kind;
        m.objective = Objective::for_loss(loss);
        if (link != link_name(m.objective.link))
            fail(SIMDMF_ERR_UNSUPPORTED,
                 path_ + ": link '" + link + "' with loss '" + ls + "' is not supported by this library");
        m.n_users = count("n_users", 0, UINT32_MAX);
        m.n_items = count("n_items", 0, UINT32_MAX);
        m.k = count("k", 1, 65536);
        m.stride = padded_stride(m.k);
        m.biases = count("biases", 0, 1) != 0;
        m.mu = f32("mu");
        set_range_or_format(m, f32("min_pred"), f32("max_pred"), path_);
        if (meta_.count("table")) {
            const std::string t = text("table");
            if (!parse_table_type(t.c_str(), &quant_) || quant_ == TableType::fp32)
                fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": table type '" + t + "' is not supported by this library");
            m.quant.type = quant_;
            m.quant.stride = quant_stride(quant_, m.k);
            m.has_fp32 = find("param.P") != nullptr || find("param.Q") != nullptr;
            // The re-ranking factor saved with the tables; files without it (older ones) serve without.
            if (meta_.count("rerank")) m.quant.rerank = count("rerank", 0, kMaxRerank);
        }
        if (loss == Loss::implicit) {
            const std::string conf = text("implicit.confidence");
            if (conf != "linear" && conf != "log") format("metadata 'implicit.confidence' = '" + conf + "' is invalid");
            m.implicit.confidence = conf == "log" ? Confidence::log : Confidence::linear;
            auto num = [&](const char* key, double lo, bool open_lo) {
                const std::string t = text(key);
                char* end = nullptr;
                const double v = std::strtod(t.c_str(), &end);
                if (t.empty() || *end || !std::isfinite(v) || v < lo || (open_lo && v == lo))
                    format(std::string("metadata '") + key + "' = '" + t + "' is invalid");
                return v;
            };
            m.implicit.alpha = num("implicit.alpha", 0.0, false);
            m.implicit.eps = num("implicit.eps", 0.0, true);
            m.implicit.unobserved_weight = num("implicit.unobserved_weight", 0.0, true);
            m.implicit.reg_exponent = num("implicit.reg_exponent", 0.0, false);
        }
        return m;
    }

    // A GMF / MLP / NeuMF with its shape from the metadata, parameters allocated (then replaced).
    NCFModel ncf_skeleton(ModelKind kind) const {
        Loss loss;
        const std::string ls = text("loss"), link = text("link");
        if (!parse_loss(ls, &loss))
            fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": loss '" + ls + "' is not supported by this library");
        Objective o = Objective::for_loss(loss);
        if (link == "identity") o.link = Link::identity;
        else if (link == "sigmoid") o.link = Link::sigmoid;
        else if (link == "scaled_sigmoid") {
            o.link = Link::scaled_sigmoid;
            o.lo = f32("link_lo");
            o.hi = f32("link_hi");
            if (!(o.hi > o.lo)) format("metadata link_lo / link_hi do not make a range");
        } else {
            fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": link '" + link + "' is not supported by this library");
        }
        if (loss == Loss::logistic && o.link != Link::sigmoid) format("a logistic model's link must be sigmoid");
        NcfShape sh;
        sh.k = count("k", 1, 4096);
        sh.layers.clear();
        const std::string ly = text("layers");
        std::size_t at = 0;
        while (at <= ly.size() && sh.layers.size() <= 64) {
            const std::size_t comma = std::min(ly.find(',', at), ly.size());
            const std::string w = ly.substr(at, comma - at);
            if (w.empty() || w.size() > 5 || w.find_first_not_of("0123456789") != std::string::npos)
                format("metadata 'layers' = '" + ly + "' is not a list of widths");
            sh.layers.push_back(static_cast<std::uint32_t>(std::stoul(w)));
            at = comma + 1;
        }
        const std::uint32_t act = count("activation", 0, 2);
        sh.act = static_cast<kernels::Act>(act);
        sh.slope = f32("slope");
        const std::uint32_t nu = count("n_users", 0, UINT32_MAX), ni = count("n_items", 0, UINT32_MAX);
        std::uint32_t in_users = nu;  // rows form: the users of the item-side layer (fold-in adds users)
        if (meta_.count("input")) {
            const std::string form = text("input");
            if (form != "rows") fail(SIMDMF_ERR_UNSUPPORTED, path_ + ": input form '" + form + "' is not supported by this library");
            sh.rows = true;
            rows_form_ = true;
            in_users = count("input_users", 0, nu);
            input_norm_ = count("input_norm", 0, 1);
        }
        // Before allocating: the arrays this shape needs (at least their used columns) must be in the
        // file, so a small file cannot make the reader allocate a large network.
        std::uint64_t need = 0;
        const std::uint64_t rows = std::uint64_t(in_users) + ni;
        if (kind != ModelKind::mlp) need += rows * sh.k;
        if (kind != ModelKind::gmf && !sh.layers.empty()) {
            need += rows * (sh.layers[0] / 2);
            for (std::size_t l = 1; l < sh.layers.size(); ++l)
                need += std::uint64_t(sh.layers[l - 1]) * sh.layers[l] + sh.layers[l];
        }
        if (need > n_ / 4)
            format("the network's shape needs " + std::to_string(need) + " parameters, more than the file's " +
                   std::to_string(n_) + " bytes hold");
        NCFModel m;
        try {
            m.allocate(kind, sh, in_users, ni);
        } catch (const Error& e) {
            if (e.status() == SIMDMF_ERR_OUT_OF_MEMORY) throw;
            format(std::string("the network's shape is invalid: ") + e.what());
        }
        m.n_users = nu;
        m.objective = o;
        m.min_pred = f32("min_pred");
        m.max_pred = f32("max_pred");
        if (std::isnan(m.min_pred) || std::isnan(m.max_pred) || m.min_pred > m.max_pred)
            format("the prediction range is invalid");
        return m;
    }

    // The parameter arrays from their sections (shapes checked first): borrowed from the mapping, or
    // copied into memory the model owns; then the id maps and the training options.
    void fill(Model& m) {
        const bool map = opt_.map && kLittle;
        std::vector<std::pair<ParamView, const Entry*>> todo;
        for (const ParamView& v : m.params()) {
            const Entry* e = array(param_section(v.name), true, v.rows, v.used, v.cols, 4);
            if (opt_.verify) check_padding(*e);
            todo.emplace_back(v, e);
        }
        auto* mf = dynamic_cast<MFModel*>(&m);
        if (mf && !map && mf->has_fp32)
            MFModel::check_fits(mf->k, m.n_users, m.n_items, mf->biases);  // a loaded model must fit in memory
        for (auto& [v, e] : todo) *v.array = floats(*e, map);
        if (mf && mf->quant.on()) quant_tables(*mf, map);
        if (auto* nc = dynamic_cast<NCFModel*>(&m); nc && nc->shape.rows) {
            nc->input = inputs(*nc);
            nc->build_item_cache();  // the item side's outputs for serving
        }
        m.user_ids = ids(find("user_ids"), m.n_users);
        m.item_ids = ids(find("item_ids"), m.n_items);
        for (const std::string& key : keys_) {
            const auto& val = meta_.at(key);
            if (key.rfind("train.", 0) == 0 && val.type == kMetaText)
                m.train_options.emplace_back(key.substr(6), std::string(val.bytes.begin(), val.bytes.end()));
        }
    }

    // The rows form's training matrix (copied: the item columns are rebuilt from the rows): offsets
    // from 0, non-decreasing, ending at the entry count; items below n_items; values finite.
    std::shared_ptr<const NcfInputs> inputs(const NCFModel& m) const {
        const Entry* ptr = array("input.ptr", true, std::uint64_t(m.n_users) + 1, 1, 1, 8);
        const Entry* idx = find("input.idx");
        if (!idx) format("no 'input.idx' section");
        const std::uint64_t nnz = idx->rows;
        if (nnz > n_ / 12) format("section 'input.idx' holds more entries than the file's bytes");
        array("input.idx", true, nnz, 1, 1, 8);
        const Entry* val = array("input.val", true, nnz, 1, 1, 4);
        auto x = std::make_shared<NcfInputs>();
        x->n_users = m.n_users;
        x->n_items = m.n_items;
        x->in_users = m.in_users;
        x->norm = input_norm_;
        std::vector<std::int64_t> p(std::size_t(m.n_users) + 1), q(nnz);
        ByteReader(p_ + ptr->offset, ptr->length, path_).i64s(p.data(), p.size());
        ByteReader(p_ + idx->offset, idx->length, path_).i64s(q.data(), q.size());
        if (p[0] != 0 || std::uint64_t(p.back()) != nnz) format("section 'input.ptr' does not span 'input.idx'");
        for (std::size_t u = 0; u + 1 < p.size(); ++u)
            if (p[u + 1] < p[u]) format("section 'input.ptr' decreases at row " + std::to_string(u));
        x->uptr.assign(p.begin(), p.end());
        x->uidx.resize(nnz);
        for (std::uint64_t t = 0; t < nnz; ++t) {
            if (q[t] < 0 || q[t] >= std::int64_t(m.n_items))
                format("section 'input.idx': entry " + std::to_string(t) + " is not an item index");
            x->uidx[t] = static_cast<std::uint32_t>(q[t]);
        }
        x->uval.resize(nnz);
        ByteReader(p_ + val->offset, val->length, path_).f32s(x->uval.data(), nnz);
        for (std::uint64_t t = 0; t < nnz; ++t)
            if (!std::isfinite(x->uval[t])) format("section 'input.val': entry " + std::to_string(t) + " is not finite");
        x->build_columns();
        return x;
    }

    mutable bool rows_form_ = false;
    mutable std::uint32_t input_norm_ = 0;  // its input values' normalisation (meta 'input_norm')  // an NCF model with ncf_input = rows (meta 'input')
    std::shared_ptr<const FileBytes> file_;
    const unsigned char* p_;
    std::size_t n_;
    std::string path_;
    OpenOptions opt_;
    std::uint64_t dir_end_ = 0;
    std::vector<Entry> entries_;
    std::map<std::string, MetaValue> meta_;
    std::vector<std::string> keys_;
    std::vector<std::string> params_;  // the sections of the kind's parameter views
    mutable TableType quant_ = TableType::fp32;  // an MF model's quantized tables (meta 'table')
};

}  // namespace

std::unique_ptr<Model> open_any_model(const std::string& path, const OpenOptions& options) {
    std::shared_ptr<const FileBytes> file = FileBytes::open(path);
    const unsigned char* p = file->data();
    if (file->size() < 16 || std::memcmp(p, kMagic, 8) != 0)
        fail(SIMDMF_ERR_FORMAT, path + ": not a simdmf model file (bad magic)");
    ByteReader r(p, file->size(), path);
    r.skip(8);
    const std::uint32_t version = r.u32();
    if (version == 0) fail(SIMDMF_ERR_FORMAT, path + ": format version 0 is invalid");
    if (version > kVersion)
        fail(SIMDMF_ERR_VERSION, path + ": model format version " + std::to_string(version) +
                                     " is newer than this library reads (" + std::to_string(kVersion) + ")");
    if (version == 1) return std::make_unique<MFModel>(load_v1(p, file->size(), path));
    return V2Reader(std::move(file), path, options).read();
}

MFModel open_model(const std::string& path, const OpenOptions& options) {
    std::unique_ptr<Model> m = open_any_model(path, options);
    auto* mf = dynamic_cast<MFModel*>(m.get());
    if (!mf)
        fail(SIMDMF_ERR_UNSUPPORTED, path + ": a " + m->kind_name() + " model, not a matrix-factorization one (this "
                                            "call reads MF models only; open_any_model reads every kind)");
    return std::move(*mf);
}

MFModel load_model(const std::string& path) { return open_model(path, OpenOptions{}); }

}  // namespace simdmf
