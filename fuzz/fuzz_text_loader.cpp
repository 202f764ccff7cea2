// libFuzzer target: the text ratings loaders (io::load with every text format and automatic
// detection). Byte 0 chooses the format and flags, byte 1 the delimiter of the delimited format,
// byte 2 its columns; the rest is the file.
#include <cmath>
#include <cstdint>

#include "check_ratings.hpp"
#include "common.hpp"
#include "fuzz_util.hpp"
#include "io/loaders.hpp"

using simdmf::io::Format;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static simdmf_fuzz::MemFile file;
    if (size < 3) return 0;
    static const Format formats[] = {Format::automatic, Format::movielens_data, Format::movielens_dat,
                                     Format::movielens_csv, Format::libmf, Format::delimited,
                                     Format::movielens_data, Format::libmf};
    simdmf::io::LoadOptions o;
    o.format = formats[data[0] & 7];
    o.map_ids = !(data[0] & 8);
    o.keep_timestamps = data[0] & 16;
    o.skip_bad_lines = data[0] & 32;
    o.header = data[0] & 64;
    o.delimiter = static_cast<char>(data[1]);
    o.user_col = data[2] & 3;
    o.item_col = (data[2] >> 2) & 3;
    o.value_col = (data[2] >> 4) & 3;
    o.time_col = static_cast<int>((data[2] >> 6) & 3) - 1;
    const std::string& path = file.set(data + 3, size - 3);
    try {
        simdmf::io::LoadReport rep;
        simdmf::Ratings r = simdmf::io::load(path, o, &rep);
        simdmf_fuzz::check_ratings(r);
        SIMDMF_FUZZ_CHECK(rep.ratings == r.size());
        for (float v : r.value) SIMDMF_FUZZ_CHECK(std::isfinite(v));
        SIMDMF_FUZZ_CHECK(!o.keep_timestamps || r.timestamp.size() == r.size());
    } catch (const simdmf::Error& e) {
        const simdmf_status s = e.status();
        SIMDMF_FUZZ_CHECK(s == SIMDMF_ERR_FORMAT || s == SIMDMF_ERR_INVALID_ARGUMENT ||
                          s == SIMDMF_ERR_OUT_OF_RANGE || s == SIMDMF_ERR_CHECKSUM || s == SIMDMF_ERR_VERSION);
    }
    return 0;
}
