// Factor tables in and out of the formats other systems write: Spark MLlib ALS (JSON lines and CSV,
// folders of part files included), numpy .npy / .npz (implicit's saved models among them) and LIBMF's
// model text file. Readers produce a neutral FactorSet; model_from_factors (lib/models) checks it and
// builds a model; factors_of takes one apart again. Layouts and their sources: docs/interop.md.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace simdmf::factors {

// Memory for large tables read from files: 64-byte aligned and never zero-filled (every element is
// written by the reader before use), so a 2.56 GB table costs no pass that only clears it.
// (Transparent huge pages were measured and left out: on the development VM, reading 2.56 GB into
// MADV_HUGEPAGE memory took 3-4x the CPU time of 4 KiB pages.)
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
    Floats values;                      // rows * k, row-major (empty when `mapped` is set)
    std::vector<float> bias;            // empty, or one per row
    std::vector<std::int64_t> ids;      // empty (the row index is the id), or one raw id per row
    std::vector<std::string> str_ids;   // or, for string ids (JSON, CSV), one per row (then ids is empty)
    std::vector<std::uint8_t> untrained;  // empty, or 1 where the source marks a row as never trained
    // Instead of values, a read-only view of a mapped file (read() with map): rows * k floats, kept
    // alive by `mapping`.
    const float* mapped = nullptr;
    std::shared_ptr<const void> mapping;
    bool finite = false;  // the reader checked every value finite as it read it (no second pass needed)

    const float* data() const noexcept { return mapped ? mapped : values.data(); }
    std::size_t size() const noexcept { return mapped ? std::size_t(rows) * k : values.size(); }
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
//
// With `map`, a .npy factor array in the model's own layout (little-endian float32, C order, k a
// multiple of 16, the data 64-byte aligned in the file: what numpy writes for such k) is not copied:
// the table is a view of the file mapped read-only (Table::mapped), checked as it is read, and
// model_from_factors(FactorSet&&) borrows it, so the model serves from the file's pages. The file must
// then stay unchanged while the model lives (rewriting it in place, as np.save over the same path does,
// can make reads fault). Other layouts are read into memory as without `map`.
FactorSet read(Format f, const std::string& users, const std::string& items, bool map = false);

// Writes factors: json, csv and npy into the folder `path` (created if missing: users.*, items.*,
// and meta.json, or one .npy per array), npz and libmf into the file `path` (atomically). What each format
// cannot hold (LIBMF: biases, ids and the offset) is folded in or refused as documented in docs/interop.md.
void write(const FactorSet& s, Format f, const std::string& path);

}  // namespace simdmf::factors
