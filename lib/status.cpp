// Status names (see status.hpp).
#include "status.hpp"

namespace simdmf {

const char* status_name(simdmf_status status) noexcept {
    switch (status) {
        case SIMDMF_OK: return "ok";
        case SIMDMF_ERR_INVALID_ARGUMENT: return "invalid argument";
        case SIMDMF_ERR_UNKNOWN_OPTION: return "unknown option";
        case SIMDMF_ERR_OUT_OF_RANGE: return "out of range";
        case SIMDMF_ERR_INVALID_DATA: return "invalid data";
        case SIMDMF_ERR_OUT_OF_MEMORY: return "out of memory";
        case SIMDMF_ERR_IO: return "i/o error";
        case SIMDMF_ERR_FORMAT: return "format error";
        case SIMDMF_ERR_VERSION: return "unsupported format version";
        case SIMDMF_ERR_CHECKSUM: return "checksum mismatch";
        case SIMDMF_CANCELLED: return "cancelled";
        case SIMDMF_ERR_DIVERGED: return "diverged";
        case SIMDMF_ERR_UNSUPPORTED: return "unsupported";
        case SIMDMF_ERR_NOT_FOUND: return "not found";
        case SIMDMF_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

}  // namespace simdmf
