// Status names: the one text per simdmf_status that simdmf_status_string returns and the CLI prints.
#pragma once
#include "simdmf/simdmf.h"

namespace simdmf {

// A static string naming the status ("ok", "invalid argument", ...); "unknown status" for a value the
// header does not define.
const char* status_name(simdmf_status status) noexcept;

}  // namespace simdmf
