// libFuzzer target: the C ABI option setters and getters (simdmf_trainer_set / _set_string /
// _set_array / _get / _get_string) with fuzzed keys and values, and a short fit on a small data set
// with whatever options were accepted (epochs, k, threads and grid capped so one input stays fast).
// Every call must return a documented status; a failed set must leave the option unchanged.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "simdmf/simdmf.h"

namespace {

const char* const kKeys[] = {"k", "epochs", "lr", "lr_decay", "l2", "l2_bias", "biases", "init_std", "seed",
                             "threads", "tol", "patience", "restore_best", "exact_loss", "min_rating",
                             "max_rating", "snapshot", "retry_diverged", "loss", "solver", "schedule",
                             "lr_list", "deterministic", "adagrad", "grid", "", "K", "k ", "lr\n"};
const char* const kStrings[] = {"squared", "logistic", "sgd", "gd", "constant", "decay", "list", "", "x"};
const double kValues[] = {0, 1, -1, 0.5, 2, 3, 10, 16, 64, 65536, 65537, 1e7, 1e30, -1e30, 1e-300,
                          4294967296.0, 9007199254740992.0, 9007199254740993.0};

class Input {
public:
    Input(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
    bool empty() const { return n_ == 0; }
    std::uint8_t byte() {
        if (!n_) return 0;
        --n_;
        return *p_++;
    }
    double number() {
        const std::uint8_t sel = byte();
        if (sel < 128) return kValues[sel % (sizeof kValues / sizeof kValues[0])];
        if (sel < 136) {
            const double special[] = {NAN, INFINITY, -INFINITY, -0.0, 1e308, 5e-324, 0.1, 1.5};
            return special[sel - 128];
        }
        double d = 0;
        std::uint8_t b[8] = {};
        for (auto& x : b) x = byte();
        std::memcpy(&d, b, 8);
        return d;
    }
    // A key from the dictionary, or a short arbitrary NUL-terminated string.
    std::string text(const char* const* dict, std::size_t n_dict) {
        const std::uint8_t sel = byte();
        if (sel < 200) return dict[sel % n_dict];
        std::string s;
        for (std::size_t len = byte() % 24; len > 0 && n_ > 0; --len) s.push_back(static_cast<char>(byte()));
        return s.c_str();  // up to the first NUL, as a C caller would pass it
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
};

constexpr std::size_t kNKeys = sizeof kKeys / sizeof kKeys[0];
constexpr std::size_t kNStrings = sizeof kStrings / sizeof kStrings[0];

bool documented(simdmf_status s) { return s >= SIMDMF_OK && s <= SIMDMF_ERR_INTERNAL && s != SIMDMF_ERR_INTERNAL; }

simdmf_dataset* small_data(bool labels) {
    std::vector<std::uint32_t> u, i;
    std::vector<float> v;
    for (std::uint32_t a = 0; a < 12; ++a)
        for (std::uint32_t b = 0; b < 9; ++b)
            if ((a * 7 + b * 3) % 4 == 0) {
                u.push_back(a);
                i.push_back(b);
                v.push_back(labels ? ((a + b) % 2 ? 1.0f : -1.0f) : static_cast<float>(1 + (a * b) % 5));
            }
    simdmf_dataset* ds = nullptr;
    if (simdmf_dataset_from_triples(u.data(), i.data(), v.data(), v.size(), 12, 9, &ds) != SIMDMF_OK) std::abort();
    return ds;
}

void cap(simdmf_trainer* t, const char* key, double hi) {
    double v = 0;
    if (simdmf_trainer_get(t, key, &v) == SIMDMF_OK && v > hi) SIMDMF_FUZZ_CHECK(simdmf_trainer_set(t, key, hi) == SIMDMF_OK);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static simdmf_dataset* ratings = small_data(false);
    static simdmf_dataset* labels = small_data(true);
    Input in(data, size);
    simdmf_trainer* t = nullptr;
    SIMDMF_FUZZ_CHECK(simdmf_trainer_create(&t) == SIMDMF_OK);
    for (int ops = 0; ops < 64 && !in.empty(); ++ops) {
        const std::uint8_t op = in.byte() % 7;
        const std::string key = in.text(kKeys, kNKeys);
        simdmf_status s = SIMDMF_OK;
        switch (op) {
            case 0: {
                const double v = in.number();
                double before = 0;
                const bool had = simdmf_trainer_get(t, key.c_str(), &before) == SIMDMF_OK;
                s = simdmf_trainer_set(t, key.c_str(), v);
                SIMDMF_FUZZ_CHECK(s == SIMDMF_OK || s == SIMDMF_ERR_UNKNOWN_OPTION || s == SIMDMF_ERR_OUT_OF_RANGE);
                if (s != SIMDMF_OK && had) {
                    double after = 0;
                    SIMDMF_FUZZ_CHECK(simdmf_trainer_get(t, key.c_str(), &after) == SIMDMF_OK);
                    SIMDMF_FUZZ_CHECK(after == before || (std::isnan(after) && std::isnan(before)));
                }
                if (s == SIMDMF_OK) SIMDMF_FUZZ_CHECK(!std::isnan(v));
                break;
            }
            case 1: {
                const std::string v = in.text(kStrings, kNStrings);
                s = simdmf_trainer_set_string(t, key.c_str(), v.c_str());
                SIMDMF_FUZZ_CHECK(s == SIMDMF_OK || s == SIMDMF_ERR_UNKNOWN_OPTION || s == SIMDMF_ERR_OUT_OF_RANGE);
                if (s == SIMDMF_OK) {
                    const char* back = nullptr;
                    SIMDMF_FUZZ_CHECK(simdmf_trainer_get_string(t, key.c_str(), &back) == SIMDMF_OK);
                    SIMDMF_FUZZ_CHECK(back && v == back);
                }
                break;
            }
            case 2: {
                std::vector<double> vals(in.byte() % 6);
                for (double& v : vals) v = in.number();
                s = simdmf_trainer_set_array(t, key.c_str(), vals.empty() ? nullptr : vals.data(), vals.size());
                SIMDMF_FUZZ_CHECK(s == SIMDMF_OK || s == SIMDMF_ERR_UNKNOWN_OPTION || s == SIMDMF_ERR_OUT_OF_RANGE);
                break;
            }
            case 3: {
                double v = 0;
                s = simdmf_trainer_get(t, key.c_str(), &v);
                SIMDMF_FUZZ_CHECK(s == SIMDMF_OK || s == SIMDMF_ERR_UNKNOWN_OPTION);
                break;
            }
            case 4: {
                const char* v = nullptr;
                s = simdmf_trainer_get_string(t, key.c_str(), &v);
                SIMDMF_FUZZ_CHECK(s == SIMDMF_OK || s == SIMDMF_ERR_UNKNOWN_OPTION);
                SIMDMF_FUZZ_CHECK(s != SIMDMF_OK || v != nullptr);
                break;
            }
            case 5: {  // NULL arguments are INVALID_ARGUMENT, never a crash
                double v = 0;
                SIMDMF_FUZZ_CHECK(simdmf_trainer_set(t, nullptr, 1) == SIMDMF_ERR_INVALID_ARGUMENT);
                SIMDMF_FUZZ_CHECK(simdmf_trainer_set(nullptr, key.c_str(), 1) == SIMDMF_ERR_INVALID_ARGUMENT);
                SIMDMF_FUZZ_CHECK(simdmf_trainer_set_string(t, key.c_str(), nullptr) == SIMDMF_ERR_INVALID_ARGUMENT);
                SIMDMF_FUZZ_CHECK(simdmf_trainer_set_array(t, key.c_str(), nullptr, 3) == SIMDMF_ERR_INVALID_ARGUMENT);
                SIMDMF_FUZZ_CHECK(simdmf_trainer_get(t, key.c_str(), nullptr) == SIMDMF_ERR_INVALID_ARGUMENT);
                (void)v;
                break;
            }
            case 6: {
                cap(t, "epochs", 3);
                cap(t, "k", 32);
                cap(t, "threads", 2);
                cap(t, "grid", 8);
                cap(t, "retry_diverged", 1);
                double threads = 1;
                simdmf_trainer_get(t, "threads", &threads);
                if (threads == 0) SIMDMF_FUZZ_CHECK(simdmf_trainer_set(t, "threads", 2) == SIMDMF_OK);
                const char* loss = nullptr;
                SIMDMF_FUZZ_CHECK(simdmf_trainer_get_string(t, "loss", &loss) == SIMDMF_OK);
                const bool logistic = std::strcmp(loss, "logistic") == 0;
                simdmf_model* m = nullptr;
                s = simdmf_trainer_fit(t, logistic ? labels : ratings, (in.byte() & 1) ? ratings : nullptr, &m);
                SIMDMF_FUZZ_CHECK(documented(s));
                const bool has_model = s == SIMDMF_OK || s == SIMDMF_CANCELLED || s == SIMDMF_ERR_DIVERGED;
                SIMDMF_FUZZ_CHECK(has_model == (m != nullptr));
                if (m) {
                    float p = 0;
                    SIMDMF_FUZZ_CHECK(simdmf_model_predict(m, 11, 8, &p) == SIMDMF_OK);
                    if (s != SIMDMF_ERR_DIVERGED) SIMDMF_FUZZ_CHECK(!std::isnan(p));
                }
                simdmf_model_free(m);
                break;
            }
        }
        SIMDMF_FUZZ_CHECK(documented(s));
        if (s != SIMDMF_OK) SIMDMF_FUZZ_CHECK(simdmf_last_error()[0] != '\0');
    }
    simdmf_trainer_free(t);
    return 0;
}
