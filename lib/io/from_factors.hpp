// MF models built from factor tables trained elsewhere (lib/io/factors.hpp readers, or a caller's
// arrays through the C ABI), and taken apart again for export.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/factors.hpp"
#include "models/mf.hpp"

namespace simdmf {

// Checks s as the model file reader checks a file (k 1..65536, rows and sizes consistent, finite values,
// duplicate ids, a prediction range that is an interval) and builds the model: kind logistic when
// s.logistic, biases on when either side has biases or mu != 0, raw-id maps when ids are given (on one
// side only is fine). Rows the source marks as untrained get zero factors. Errors: Error(INVALID_DATA,
// OUT_OF_RANGE, INVALID_ARGUMENT, OUT_OF_MEMORY) naming the problem.
MFModel model_from_factors(const factors::FactorSet& s);

// The same, taking s apart: when k is a multiple of 16 (the model's row stride) the model's factor
// tables are s's buffers or its file mappings (read() with map), not copies (a 2.56 GB import then
// costs no second table); otherwise as above.
MFModel model_from_factors(factors::FactorSet&& s);

// One side's table given as pointers (the C ABI's simdmf_factor_tables): rows of k floats, `stride`
// floats apart (>= k); bias, ids and untrained may be null.
struct SideTable {
    const float* values = nullptr;
    std::size_t stride = 0;
    std::uint32_t rows = 0;
    const float* bias = nullptr;
    const std::int64_t* ids = nullptr;
    const std::string* str_ids = nullptr;  // string raw ids (instead of ids)
    const std::uint8_t* untrained = nullptr;
    bool finite = false;  // every value already checked finite (the dense pass is skipped)
};

// The same from views. With `borrow`, the model's factor tables are the caller's memory, not a copy
// (ParamArray::borrow, copy on write): every stride must be k rounded up to 16 with zeros past k
// (INVALID_ARGUMENT otherwise), and the caller keeps the memory alive and unchanged while the model lives.
MFModel model_from_views(std::uint32_t k, const SideTable& users, const SideTable& items, float mu, bool logistic,
                       float min_pred, float max_pred, bool borrow);

// The model's tables as a FactorSet (k floats per row, no padding); ids where the model has id maps.
factors::FactorSet factors_of(const MFModel& m);

}  // namespace simdmf
