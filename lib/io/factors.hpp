// Factor tables in and out of the formats other systems write: Spark MLlib ALS (JSON lines and CSV,
// folders of part files included), numpy .npy / .npz (implicit's saved models among them) and LIBMF's
// model text file. Readers produce a neutral FactorSet; model_from_factors (lib/models) checks it and
// builds a model; factors_of takes one apart again. Layouts and their sources: docs/interop.md.
#pragma once
#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace simdmf::factors {

// Memory for large tables read from files: 64-byte aligned, never zero-filled (every element is
// written by the reader before use), and backed by transparent huge pages when 4 MiB or larger
// (2 MiB aligned, madvise(MADV_HUGEPAGE) where the system has it): a 2.56 GB table then costs 1,250
// page faults instead of 625,000, and no pass that only clears it.
void* bulk_allocate(std::size_t bytes);
void bulk_free(void* p) noexcept;

template <class T>
struct BulkAllocator {
    using value_type = T;
    BulkAllocator() noexcept = default;
    template <class U>
    BulkAllocator(const BulkAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
        return static_cast<T*>(bulk_allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t) noexcept { bulk_free(p); }
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;  // default-initialised: no zero fill
    }
    template <class U, class... A>
    void construct(U* p, A&&... a) {
        ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
    }
    template <class U>
    bool operator==(const BulkAllocator<U>&) const noexcept { return true; }
};

// A table's values: resize(n) leaves new elements uninitialised; resize(n, v), assign and insert fill.
using Floats = std::vector<float, BulkAllocator<float>>;

// One side (users or items) as another system wrote it.
struct Table {
    std::uint32_t rows = 0;
    std::uint32_t k = 0;
    Floats values;                      // rows * k, row-major
    std::vector<float> bias;            // empty, or one per row
    std::vector<std::int64_t> ids;      // empty (the row index is the id), or one raw id per row
    std::vector<std::string> str_ids;   // or, for string ids (JSON, CSV), one per row (then ids is empty)
    std::vector<std::uint8_t> untrained;  // empty, or 1 where the source marks a row as never trained
};

struct FactorSet {
    Table users, items;
    bool logistic = false;  // predictions are sigmoid(score)
    float mu = 0.0f;        // global offset added to every score
    float min_pred = -std::numeric_limits<float>::infinity();
    float max_pred = std::numeric_limits<float>::infinity();
};

enum class Format { spark_json, csv, npy, npz, libmf };

// "spark-json" (or "json"), "csv", "npy", "npz", "libmf". False for anything else.
bool parse_format(const std::string& name, Format* out);
const char* format_name(Format f);

// Reads factors. `users` and `items` name the two sides' files or folders (Spark JSON / CSV: a file, or
// a folder of part files; npy: one .npy file each); for npz and libmf `users` names the one file and
// `items` must be empty. A folder written by write() for json, csv or npy is also accepted as `users`
// alone. Errors: Error(IO) for unreadable paths; Error(FORMAT) naming the file and line (text) or the
// array (numpy) for malformed input, ragged rows, a k that differs between rows or sides; Error(INVALID_DATA)
// for NaN/Inf values and duplicate ids; Error(UNSUPPORTED) for compressed .npz members or numpy dtypes
// other than float32/float64 (factors) and integer (ids).
FactorSet read(Format f, const std::string& users, const std::string& items);

// Writes factors: json, csv and npy into the folder `path` (created if missing: users.*, items.*,
// and meta.json, or one .npy per array), npz and libmf into the file `path` (atomically). What each format
// cannot hold (LIBMF: biases, ids and the offset) is folded in or refused as documented in docs/interop.md.
void write(const FactorSet& s, Format f, const std::string& path);

}  // namespace simdmf::factors
