// MF models built from factor tables trained elsewhere (lib/io/factors.hpp readers, or a caller's
// arrays through the C ABI), and taken apart again for export.
#pragma once
#include "io/factors.hpp"
#include "models/mf.hpp"

namespace simdmf {

// Checks s as the model file reader checks a file (k 1..65536, rows and sizes consistent, finite values,
// duplicate ids, a prediction range that is an interval) and builds the model: kind logistic when
// s.logistic, biases on when either side has biases or mu != 0, raw-id maps when ids are given (on one
// side only is fine). Rows the source marks as untrained get zero factors. Errors: Error(INVALID_DATA,
// OUT_OF_RANGE, INVALID_ARGUMENT, OUT_OF_MEMORY) naming the problem.
MFModel model_from_factors(const factors::FactorSet& s);

// The model's tables as a FactorSet (k floats per row, no padding); ids where the model has id maps.
factors::FactorSet factors_of(const MFModel& m);

}  // namespace simdmf
