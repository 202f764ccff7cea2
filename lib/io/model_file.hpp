// The model file: v2 (sections, written from now on, memory-mappable) and v1 (read for compatibility).
// The layout is specified in docs/model_file.md; lib/io/model_file.cpp implements it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "models/mf.hpp"

namespace simdmf {

namespace model_file {
constexpr char kMagic[8] = {'S', 'I', 'M', 'D', 'M', 'F', 'M', 'D'};
constexpr std::uint32_t kVersion = 2;           // the newest version this library reads and writes
constexpr std::uint32_t kHeaderBytes = 64;      // v2 header (readers skip bytes past what they know)
constexpr std::uint32_t kEntryBytes = 96;       // v2 directory entry
constexpr std::uint32_t kAlign = 64;            // every v2 section starts at a multiple of this
constexpr std::uint32_t kCrcOffset = 60;        // v2: CRC-32C of header + directory, this field left out
constexpr std::uint32_t kNameBytes = 32;        // section names: [a-z0-9_.], NUL-padded
constexpr std::uint32_t kMaxSections = 4096;
// Section types, dtypes and flags (stable values).
constexpr std::uint32_t kTypeMeta = 1, kTypeArray = 2, kTypeStrings = 3;
constexpr std::uint32_t kDtypeF32 = 1, kDtypeI64 = 2, kDtypeF16 = 3, kDtypeI8 = 4;  // f16, i8: quantized tables
constexpr std::uint32_t kFlagRequired = 1;
// Metadata record value types.
constexpr std::uint32_t kMetaInt = 1, kMetaF32 = 2, kMetaF64 = 3, kMetaText = 4;
}  // namespace model_file

struct OpenOptions {
    // Serve the parameter tables from a read-only mapping of the file instead of copying them (v2
    // files on a little-endian host; anything else is loaded). Fold-in copies the tables it changes.
    bool map = false;
    // Check every section's CRC-32C (and that factor rows' padding is zero). Off: only the header and
    // directory are checked (sizes, offsets, CRC) and a corrupted table serves wrong numbers.
    bool verify = true;
};

// Reads a model file of any version this library knows. Errors (Error): IO, FORMAT, VERSION (newer
// version), CHECKSUM, UNSUPPORTED (a required section or a model kind this library does not know, named
// in the message), INVALID_DATA (duplicate ids), OUT_OF_MEMORY (a loaded model beyond physical memory).
// open_any_model reads a model of any kind (MF, GMF, MLP, NeuMF); open_model an MF model only
// (UNSUPPORTED, naming the kind, for another).
std::unique_ptr<Model> open_any_model(const std::string& path, const OpenOptions& options);
MFModel open_model(const std::string& path, const OpenOptions& options);
// Writes format v2 for any kind with parameter views (MF and the neural CF models).
void save_model(const Model& m, const std::string& path);

// Writes format v1 (no sections; integer id maps only, UNSUPPORTED for string ids): for compatibility
// tests and for handing a model to an older simdmf. save_model (models/mf.hpp) writes v2.
void save_model_v1(const MFModel& m, const std::string& path);

}  // namespace simdmf
