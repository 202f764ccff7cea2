// Quantization of factor tables (quant.hpp): fp16 through the kernels' conversion (round to nearest
// even), int8 symmetric per row.
#include "models/quant.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernels.hpp"

namespace simdmf {

const char* table_type_name(TableType t) {
    switch (t) {
        case TableType::fp32: return "fp32";
        case TableType::fp16: return "fp16";
        case TableType::int8: return "int8";
    }
    return "unknown";
}

bool parse_table_type(const char* name, TableType* out) {
    for (TableType t : {TableType::fp32, TableType::fp16, TableType::int8})
        if (name && std::strcmp(name, table_type_name(t)) == 0) {
            *out = t;
            return true;
        }
    return false;
}

namespace {

std::size_t row_floats(const QuantTables& t) { return std::size_t(t.stride) * quant_elem_bytes(t.type) / 4; }

// One row of k floats into row r of the table (and its scale).
void put_row(QuantTables& t, ParamArray& table, ParamArray& scales, std::size_t r, const float* x, std::uint32_t k) {
    unsigned char* dst = reinterpret_cast<unsigned char*>(table.data() + r * row_floats(t));
    if (t.type == TableType::fp16) {
        kernels::active().f32_to_f16(x, reinterpret_cast<std::uint16_t*>(dst), k);
        return;
    }
    float m = 0.0f;
    for (std::uint32_t f = 0; f < k; ++f) m = std::max(m, std::fabs(x[f]));
    const float s = m > 0.0f ? m / 127.0f : 0.0f;
    scales[r] = s;
    auto* q = reinterpret_cast<std::int8_t*>(dst);
    for (std::uint32_t f = 0; f < k; ++f)
        q[f] = s > 0.0f ? static_cast<std::int8_t>(std::clamp(std::nearbyint(x[f] / s), -127.0f, 127.0f)) : 0;
}

void fill(QuantTables& t, ParamArray& table, ParamArray& scales, const float* src, std::uint32_t rows,
          std::uint32_t k, std::uint32_t src_stride) {
    table.assign(std::size_t(rows) * row_floats(t), 0.0f);
    scales.assign(t.type == TableType::int8 ? rows : 0, 0.0f);
    for (std::uint32_t r = 0; r < rows; ++r) put_row(t, table, scales, r, src + std::size_t(r) * src_stride, k);
}

}  // namespace

void quantize_tables(QuantTables& t, TableType type, const float* P, std::uint32_t n_users, const float* Q,
                     std::uint32_t n_items, std::uint32_t k, std::uint32_t stride) {
    t.type = type;
    if (type == TableType::fp32) {
        t.stride = 0;
        t.P.clear(), t.Q.clear(), t.sP.clear(), t.sQ.clear();
        return;
    }
    t.stride = quant_stride(type, k);
    fill(t, t.P, t.sP, P, n_users, k, stride);
    fill(t, t.Q, t.sQ, Q, n_items, k, stride);
}

void quantize_append_user(QuantTables& t, const float* row, std::uint32_t k) {
    const std::size_t r = t.P.size() / row_floats(t);
    t.P.resize(t.P.size() + row_floats(t), 0.0f);
    if (t.type == TableType::int8) t.sP.push_back(0.0f);
    put_row(t, t.P, t.sP, r, row, k);
}

float quant_value(const QuantTables& t, bool users, std::uint32_t row, std::uint32_t f) {
    const std::size_t at = std::size_t(row) * t.stride + f;
    if (t.type == TableType::fp16) {
        float v;
        kernels::active().f16_to_f32(t.h(users) + at, &v, 1);
        return v;
    }
    return float(t.b(users)[at]) * (users ? t.sP : t.sQ)[row];
}

}  // namespace simdmf
