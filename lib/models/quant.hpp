// Quantized factor tables of an MF model: fp16, or int8 with a per-row scale (symmetric: q = round(x /
// s), s = max |x| / 127, values in [-127, 127]; a zero point did not pay: factor rows are centred near
// zero, and the symmetric form keeps the integer dot exact and the kernels simple). Rows are padded to
// a multiple of 32 bytes (quant_stride), zero past k, and live in ParamArrays (owned, or borrowed from a
// mapped model file: sections quant.P, quant.Q, quant.sP, quant.sQ; docs/model_file.md). A quantized
// model scores through these tables (MFModel::score_pairs / score_block, batched top-N); it may also
// keep its fp32 tables (for exact re-ranking, similarity and fold-in) or drop them.
#pragma once
#include <cstddef>
#include <cstdint>

#include "models/param_array.hpp"

namespace simdmf {

// The C ABI's SIMDMF_TABLE_* values (stable: model files and the ABI).
enum class TableType : std::uint32_t { fp32 = 0, fp16 = 1, int8 = 2 };
const char* table_type_name(TableType t);  // "fp32", "fp16", "int8"
bool parse_table_type(const char* name, TableType* out);

// The largest re-ranking factor (simdmf_model_set_rerank, the model file's `rerank`).
constexpr std::uint32_t kMaxRerank = 1024;

// Elements per quantized row for k factors: a multiple of 32 bytes (one AVX2 vector).
inline std::uint32_t quant_stride(TableType t, std::uint32_t k) {
    return t == TableType::int8 ? (k + 31u) / 32u * 32u : (k + 15u) / 16u * 16u;
}
inline std::size_t quant_elem_bytes(TableType t) { return t == TableType::int8 ? 1 : 2; }

struct QuantTables {
    TableType type = TableType::fp32;  // fp32: not quantized (the other fields are empty)
    std::uint32_t stride = 0;          // elements per row
    ParamArray P, Q;                   // rows packed as bytes (n * stride * elem_bytes / 4 floats)
    ParamArray sP, sQ;                 // int8: one scale per row; empty for fp16
    // The model's re-ranking factor (0 or 1: off; at most kMaxRerank), saved in the model file (meta key
    // `rerank`) with the tables: top-N lists of a quantized model that keeps fp32 tables take rerank * n
    // candidates from the quantized scan and re-score them in fp32. quantize_tables leaves it as it is.
    std::uint32_t rerank = 0;

    bool on() const { return type != TableType::fp32; }
    const std::uint16_t* h(bool users) const { return reinterpret_cast<const std::uint16_t*>((users ? P : Q).data()); }
    const std::int8_t* b(bool users) const { return reinterpret_cast<const std::int8_t*>((users ? P : Q).data()); }
};

// Fills t with `type` tables of P (n_users rows) and Q (n_items rows) of stride `stride`, k used.
void quantize_tables(QuantTables& t, TableType type, const float* P, std::uint32_t n_users, const float* Q,
                     std::uint32_t n_items, std::uint32_t k, std::uint32_t stride);
// Appends one quantized user row (fold-in on a quantized model).
void quantize_append_user(QuantTables& t, const float* row, std::uint32_t k);
// The value of element f of a row (tests, conversions back to fp32).
float quant_value(const QuantTables& t, bool users, std::uint32_t row, std::uint32_t f);

}  // namespace simdmf
