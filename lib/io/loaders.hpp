// Reading and writing ratings files: the MovieLens formats (u.data, ratings.dat, ratings.csv), LIBMF
// text, any delimited text, and simdmf's compact binary ratings file (.smr).
//
// Text loading streams the file in large chunks (hand-written integer parsing, std::from_chars for
// ratings) and reserves the output arrays from a file-size estimate, so memory stays close to 12 bytes
// per rating (20 with timestamps) plus the id maps.
//
// Formats (columns are 0-based fields of a line):
//   movielens_data  u.data / *.data / u1.base ...: user item rating [timestamp], separated by runs of tabs
//                   or spaces.
//   movielens_dat   ratings.dat: user::item::rating[::timestamp].
//   movielens_csv   ratings.csv: user,item,rating[,timestamp]; a first line whose rating field is not a
//                   number (for two-column files: with no digit) is the header and skipped.
//   libmf           "user item rating", whitespace separated, ids that ARE the 0-based dense indices:
//                   no id maps are built whatever map_ids says (so a train and a test file agree on
//                   indices); n_users / n_items are one past the largest index; negative, non-integer
//                   ids or ids >= 2^32-1 are errors. Only chosen when named: detection never guesses it.
//   delimited       LoadOptions::delimiter (' ' or '\t' mean runs of spaces/tabs), columns user_col,
//                   item_col, value_col, time_col (-1: none). The column options apply to this format only.
//   binary          see save_binary.
// Automatic detection reads the first 64 KiB once (a pipe is not re-opened): the binary magic or a .smr
// name, else the first content line decides ('::' -> movielens_dat, ',' -> movielens_csv, tabs or
// spaces -> movielens_data, each with raw ids mapped), a first line that looks like a header (see
// movielens_csv) is skipped, and a line of exactly two fields makes the file two-column events.
// Two-column events (value_col = -1, any text format): each line "user item" is one event of value 1;
// lines naming the same (user, item) are summed into one rating whose value is their count
// (LoadReport::merged counts the lines folded in), so play counts and clicks read as counts.
// Every text format: LF or CRLF line ends, a missing final newline, a UTF-8 byte-order mark, blank
// lines and lines whose first non-blank character is '#' (counted in LoadReport::comments) are fine;
// spaces around fields of comma/char-delimited lines are ignored; LoadOptions::header skips the first
// content line (kept in LoadReport::header) in every text format. Fields after the last one the format
// knows are ignored and counted in a warning. Ratings may be negative, fractional or counts;
// NaN / Inf / beyond float range are errors. A line longer than 16 MiB is a FORMAT error (a device or
// a binary file read as text fails fast instead of filling memory). A regular file that changes size
// while it is read is an IO error (a truncated copy does not load silently as a shorter data set).
// Ids are integers within int64 (a leading '+' is allowed) or strings (1..255 bytes, no blanks or
// control bytes: "USER_894", hash ids); a file whose ids are not all integers gets a string IdMap
// (see IdMap: an integer text is that integer either way). With map_ids (default) raw ids get dense
// indices in order of first appearance and the IdMaps are stored in the Ratings; without it the raw id
// is the index (must be an integer in [0, 2^32-1)). Timestamps (column 3 of the MovieLens formats,
// column 2 of their two-column form, time_col of delimited) are parsed and stored only with
// keep_timestamps (every line must have one; INVALID_ARGUMENT for a format without a timestamp
// column) or timestamps_if_present (kept when every line has one). Lines with fewer fields than needed
// are errors. Errors and warnings name the file, the line and the format read ("read as ...").
// Warnings (LoadReport::warnings): ignored fields, timestamps on only some lines, values that look like
// counts (non-negative integers, max > 100, mean > 10) or, for a named MovieLens format, outside 0..10.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataset.hpp"

namespace simdmf::io {

// Values equal those of simdmf_format in simdmf.h where it has the format (delimited has none).
enum class Format : int {
    automatic = 0,
    movielens_data = 1,
    movielens_dat = 2,
    movielens_csv = 3,
    libmf = 4,
    delimited = 6,
    binary = 5,
};

// Name of a format ("movielens_data", ...).
const char* format_name(Format f);

struct LoadOptions {
    Format format = Format::automatic;
    char delimiter = ',';
    int user_col = 0, item_col = 1, value_col = 2, time_col = -1;  // value_col -1: two-column events
    bool header = false;                // skip the first content line (every text format)
    bool map_ids = true;
    bool keep_timestamps = false;       // every line must have a timestamp
    bool timestamps_if_present = false; // keep them when every line has one
    bool expect_labels = false;         // values must be +1/-1 (logistic): a line that is not fails, named
    bool skip_bad_lines = false;
    // Called after each chunk read (a few MB) and at the end; total_bytes is the file size.
    std::function<void(std::uint64_t done_bytes, std::uint64_t total_bytes)> progress;
};

struct LoadReport {
    std::uint64_t lines = 0;     // physical lines read (text formats)
    std::uint64_t ratings = 0;   // ratings stored
    std::uint64_t skipped = 0;   // malformed lines skipped (skip_bad_lines)
    std::uint64_t comments = 0;  // comment, blank and header lines
    std::vector<std::string> errors;  // messages of the first 10 skipped lines
    std::vector<std::string> warnings;  // see the header comment
    Format format = Format::automatic;  // the format read (detected or given)
    std::string described;              // it, as errors name it ("movielens_csv, ','-separated, guessed")
    std::string header;                 // the header line skipped, if any
    bool events = false;                // read as two-column events
    std::uint64_t merged = 0;           // event lines folded into an earlier (user, item)
};

// Loads a ratings file (see the formats above). Throws simdmf::Error: SIMDMF_ERR_IO when the file
// cannot be opened or read (message with path and the system's reason); SIMDMF_ERR_FORMAT
// "path:line: problem" for a malformed line, unless skip_bad_lines (then it is counted and reported);
// SIMDMF_ERR_FORMAT when the format cannot be detected; SIMDMF_ERR_INVALID_ARGUMENT for bad options;
// SIMDMF_ERR_OUT_OF_RANGE beyond 2^32-1 distinct users or items. Binary files: see load_binary.
Ratings load(const std::string& path, const LoadOptions& options = {}, LoadReport* report = nullptr);

// Guesses the format as load does (see above; never libmf). SIMDMF_ERR_IO when unreadable,
// SIMDMF_ERR_FORMAT when undecidable.
Format detect_format(const std::string& path);

// The compact binary ratings file, little-endian:
//   header (56 bytes): magic "\x89SMR\r\n\x1a\n", u32 version (1), u32 flags (1 timestamps, 2 user map,
//   4 item map, 8 the user map holds strings, 16 the item map holds strings), u64 n_ratings,
//   u32 n_users, u32 n_items, u64 user map size (0 or n_users), u64 item map size (0 or n_items),
//   u32 CRC-32C of the previous 48 bytes, u32 zero;
//   payload: u32 user[n], u32 item[n], f32 value[n], [i64 timestamp[n]], user map, item map; an
//   integer map is i64 raw[size], a string map u64 text bytes | u32 length[size] | the texts
//   concatenated (files without string maps are laid out as before flags 8 and 16 existed; readers
//   that predate them refuse such files as unknown flags);
//   trailer (8 bytes): u32 CRC-32C of the payload, "SMRE".
// save_binary writes path.tmp.<pid>.<n>, fsyncs and renames it over path (SIMDMF_ERR_IO on failure, the
// old file left intact). load_binary checks the header, then that the file size matches the counts
// before allocating anything: SIMDMF_ERR_FORMAT for a wrong magic, truncated or oversized file or
// inconsistent contents, SIMDMF_ERR_VERSION for a newer version, SIMDMF_ERR_CHECKSUM for a CRC mismatch.
void save_binary(const Ratings& data, const std::string& path);
Ratings load_binary(const std::string& path);

// Writes ratings as text (atomically, like save_binary): libmf "u i r" with dense 0-based indices;
// movielens_data "u<TAB>i<TAB>r[<TAB>t]", movielens_dat "u::i::r[::t]", movielens_csv (header
// "userId,movieId,rating[,timestamp]") and delimited ("u,i,r[,t]") with raw ids where id maps are
// present (indices otherwise). Ratings are written with the shortest text that reads back to the same
// float. binary calls save_binary; automatic is SIMDMF_ERR_INVALID_ARGUMENT.
// header: a line to write first instead of the format's own (movielens_csv, delimited; empty: the
// default, none for delimited); ignored by libmf, movielens_data and movielens_dat.
void write_text(const Ratings& data, const std::string& path, Format fmt, const std::string& header = {});

}  // namespace simdmf::io
