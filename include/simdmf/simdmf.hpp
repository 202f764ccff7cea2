// simdmf.hpp: a thin header-only C++17 wrapper over the C ABI of simdmf.h.
//
// It only calls the exported C functions, so it works with the shared library alone. Handles are
// owned by move-only RAII classes; every failing call throws simdmfpp::Error carrying the status and
// the library's detailed message. Results come back as std::vector.
//
//   simdmfpp::Dataset data = simdmfpp::Dataset::load("u.data");
//   auto [train, test] = data.split(0.2, 42);
//   simdmfpp::Trainer trainer;
//   trainer.set("k", 16).set("epochs", 50);
//   simdmfpp::Model model = trainer.fit(train, &test);
//   std::vector<simdmfpp::Scored> top = model.recommend(0, 10, &train);
#ifndef SIMDMF_SIMDMF_HPP
#define SIMDMF_SIMDMF_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "simdmf.h"

namespace simdmfpp {

// A failed call: the status and the message simdmf_last_error() gave for it.
class Error : public std::runtime_error {
public:
    Error(simdmf_status status, const std::string& message)
        : std::runtime_error(message.empty() ? std::string(simdmf_status_string(status))
                                             : std::string(simdmf_status_string(status)) + ": " + message),
          status_(status) {}
    // The C status of the failure.
    simdmf_status status() const noexcept { return status_; }

private:
    simdmf_status status_;
};

// Throws Error for any status but SIMDMF_OK.
inline void check(simdmf_status status) {
    if (status != SIMDMF_OK) throw Error(status, simdmf_last_error());
}

// The linked library's version, e.g. "0.2.0".
inline std::string version() { return simdmf_version_string(); }

// The SIMD level the kernels use (a simdmf_simd value) and its name.
inline std::pair<int, std::string> simd_level() {
    int level = 0;
    const char* name = nullptr;
    check(simdmf_simd_level(&level, &name));
    return {level, name ? name : ""};
}

// Forces a SIMD level (start-up only); throws Error(SIMDMF_ERR_UNSUPPORTED) when it cannot run here.
inline void set_simd_level(int level) { check(simdmf_set_simd_level(level)); }

namespace detail {
template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
}  // namespace detail

// Parallel arrays of ratings, as returned by Dataset::get.
struct Triples {
    std::vector<std::uint32_t> users;
    std::vector<std::uint32_t> items;
    std::vector<float> values;
};

// An index with a score (recommendations, nearest neighbours), best first in the returned vectors.
struct Scored {
    std::uint32_t index;
    float score;
};

// Named numbers from Model::evaluate, Trainer::cross_validate and Trainer::tune: a copy of a
// simdmf_report's entries, in the report's (documented, fixed) order.
class Report {
public:
    using Entry = std::pair<std::string, double>;

    Report() = default;
    // Copies the entries of a C report and frees it (null: an empty report).
    explicit Report(simdmf_report* handle) {
        std::unique_ptr<simdmf_report, detail::Deleter<simdmf_report, simdmf_report_free>> h(handle);
        if (!h) return;
        std::size_t n = 0;
        check(simdmf_report_size(h.get(), &n));
        entries_.reserve(n);
        for (std::size_t j = 0; j < n; ++j) {
            const char* name = nullptr;
            double value = 0;
            check(simdmf_report_get(h.get(), j, &name, &value));
            entries_.emplace_back(name ? name : "", value);
        }
    }

    // Number of entries.
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    // Entry j (name, value); j < size().
    const Entry& operator[](std::size_t j) const { return entries_[j]; }
    std::vector<Entry>::const_iterator begin() const noexcept { return entries_.begin(); }
    std::vector<Entry>::const_iterator end() const noexcept { return entries_.end(); }
    const std::vector<Entry>& entries() const noexcept { return entries_; }

    // Whether an entry is named `name`.
    bool contains(const std::string& name) const noexcept {
        for (const auto& e : entries_)
            if (e.first == name) return true;
        return false;
    }
    // The value of the entry named `name`; throws Error(SIMDMF_ERR_NOT_FOUND) when there is none.
    double at(const std::string& name) const {
        for (const auto& e : entries_)
            if (e.first == name) return e.second;
        throw Error(SIMDMF_ERR_NOT_FOUND, "the report has no entry '" + name + "'");
    }

private:
    std::vector<Entry> entries_;
};

// Observed ratings of a users x items matrix (owns a simdmf_dataset).
class Dataset {
public:
    // Takes ownership of a handle from the C API (may be null: an empty Dataset object).
    explicit Dataset(simdmf_dataset* handle = nullptr) noexcept : h_(handle) {}

    // From parallel arrays of equal length; n_users / n_items of 0 mean "one past the largest index".
    static Dataset from_triples(const std::vector<std::uint32_t>& users, const std::vector<std::uint32_t>& items,
                                const std::vector<float>& values, std::uint32_t n_users = 0,
                                std::uint32_t n_items = 0) {
        if (users.size() != values.size() || items.size() != values.size())
            throw Error(SIMDMF_ERR_INVALID_ARGUMENT, "users, items and values differ in length");
        simdmf_dataset* out = nullptr;
        check(simdmf_dataset_from_triples(users.data(), items.data(), values.data(), values.size(), n_users,
                                          n_items, &out));
        return Dataset(out);
    }

    // From a dense row-major rows x cols matrix; 0 and NaN mark missing entries.
    static Dataset from_dense(const std::vector<float>& matrix, std::size_t rows, std::size_t cols) {
        if (rows != 0 && cols != 0 && matrix.size() / cols < rows)
            throw Error(SIMDMF_ERR_INVALID_ARGUMENT, "matrix holds fewer than rows * cols values");
        simdmf_dataset* out = nullptr;
        check(simdmf_dataset_from_dense(matrix.data(), rows, cols, &out));
        return Dataset(out);
    }

    // Reads a ratings file (format: a simdmf_format value).
    static Dataset load(const std::string& path, int format = SIMDMF_FORMAT_AUTO) {
        simdmf_dataset* out = nullptr;
        check(simdmf_dataset_load(path.c_str(), format, &out));
        return Dataset(out);
    }

    // Number of ratings.
    std::size_t size() const {
        std::size_t n = 0;
        check(simdmf_dataset_shape(h_.get(), &n, nullptr, nullptr));
        return n;
    }
    // Matrix rows (users).
    std::uint32_t n_users() const {
        std::uint32_t n = 0;
        check(simdmf_dataset_shape(h_.get(), nullptr, &n, nullptr));
        return n;
    }
    // Matrix columns (items).
    std::uint32_t n_items() const {
        std::uint32_t n = 0;
        check(simdmf_dataset_shape(h_.get(), nullptr, nullptr, &n));
        return n;
    }

    // A copy of ratings [first, first + count).
    Triples get(std::size_t first, std::size_t count) const {
        Triples t;
        t.users.resize(count);
        t.items.resize(count);
        t.values.resize(count);
        check(simdmf_dataset_get(h_.get(), first, count, t.users.data(), t.items.data(), t.values.data()));
        return t;
    }
    // A copy of all ratings.
    Triples get() const { return get(0, size()); }

    // Random (train, test) split with about test_fraction of the ratings in test.
    std::pair<Dataset, Dataset> split(double test_fraction, std::uint64_t seed) const {
        simdmf_dataset* a = nullptr;
        simdmf_dataset* b = nullptr;
        check(simdmf_dataset_split(h_.get(), test_fraction, seed, &a, &b));
        return {Dataset(a), Dataset(b)};
    }

    // The C handle (still owned by this object).
    const simdmf_dataset* handle() const noexcept { return h_.get(); }
    // Gives up ownership of the C handle.
    simdmf_dataset* release() noexcept { return h_.release(); }
    // Whether this object holds a handle.
    explicit operator bool() const noexcept { return h_ != nullptr; }

private:
    std::unique_ptr<simdmf_dataset, detail::Deleter<simdmf_dataset, simdmf_dataset_free>> h_;
};

// A trained model (owns a simdmf_model).
class Model {
public:
    // Takes ownership of a handle from the C API.
    explicit Model(simdmf_model* handle = nullptr) noexcept : h_(handle) {}

    // Reads a model file.
    static Model load(const std::string& path) {
        simdmf_model* out = nullptr;
        check(simdmf_model_load(path.c_str(), &out));
        return Model(out);
    }
    // Opens a model file with SIMDMF_OPEN_* flags: SIMDMF_OPEN_MMAP serves from a read-only mapping
    // of the file (no copy of the tables), SIMDMF_OPEN_NO_VERIFY skips the sections' checksums
    // (see simdmf_model_open).
    static Model open(const std::string& path, std::uint32_t flags) {
        simdmf_model* out = nullptr;
        check(simdmf_model_open(path.c_str(), flags, &out));
        return Model(out);
    }
    // Writes the model file atomically.
    void save(const std::string& path) const { check(simdmf_model_save(h_.get(), path.c_str())); }

    // A model from factor tables (simdmf_model_from_factors; flags SIMDMF_FACTORS_COPY or _BORROW).
    static Model from_factors(const simdmf_factor_tables& tables, int flags = SIMDMF_FACTORS_COPY) {
        simdmf_model* out = nullptr;
        check(simdmf_model_from_factors(&tables, flags, &out));
        return Model(out);
    }
    // Factors written by Spark ALS, implicit, LIBMF or numpy (simdmf_model_import; items may be empty).
    static Model import_factors(simdmf_factor_format format, const std::string& users, const std::string& items = {}) {
        simdmf_model* out = nullptr;
        check(simdmf_model_import(format, users.c_str(), items.empty() ? nullptr : items.c_str(), &out));
        return Model(out);
    }
    // The factors in one of those formats (simdmf_model_export).
    void export_factors(simdmf_factor_format format, const std::string& path) const {
        check(simdmf_model_export(h_.get(), format, path.c_str()));
    }
    // A read-only zero-copy view of one side's factor table (simdmf_model_factor_table): row r's k factors
    // start at data + r * stride.
    struct TableView {
        const float* data;
        std::size_t stride;
        std::uint32_t rows, k;
    };
    TableView factor_table(int side) const {
        TableView v{};
        check(simdmf_model_factor_table(h_.get(), side, &v.data, &v.stride, &v.rows, &v.k));
        return v;
    }

    // SIMDMF_MODEL_MF or SIMDMF_MODEL_LOGISTIC.
    int kind() const {
        int v = 0;
        check(simdmf_model_shape(h_.get(), &v, nullptr, nullptr, nullptr, nullptr));
        return v;
    }
    // Factors per user / item.
    std::uint32_t k() const {
        std::uint32_t v = 0;
        check(simdmf_model_shape(h_.get(), nullptr, &v, nullptr, nullptr, nullptr));
        return v;
    }
    // Number of users.
    std::uint32_t n_users() const {
        std::uint32_t v = 0;
        check(simdmf_model_shape(h_.get(), nullptr, nullptr, &v, nullptr, nullptr));
        return v;
    }
    // Number of items.
    std::uint32_t n_items() const {
        std::uint32_t v = 0;
        check(simdmf_model_shape(h_.get(), nullptr, nullptr, nullptr, &v, nullptr));
        return v;
    }
    // Whether the model has bias terms.
    bool has_biases() const {
        int v = 0;
        check(simdmf_model_shape(h_.get(), nullptr, nullptr, nullptr, nullptr, &v));
        return v != 0;
    }

    // The range MF predictions are clamped to, {-inf, +inf} when none (simdmf_model_prediction_range).
    std::pair<float, float> prediction_range() const {
        float lo = 0, hi = 0;
        check(simdmf_model_prediction_range(h_.get(), &lo, &hi));
        return {lo, hi};
    }
    // Sets it (simdmf_model_set_prediction_range); -inf / +inf turn a side off.
    void set_prediction_range(float lo, float hi) { check(simdmf_model_set_prediction_range(h_.get(), lo, hi)); }

    // Prediction for (user, item): a rating (MF, clamped to prediction_range()) or P(label = +1) (logistic).
    float predict(std::uint32_t user, std::uint32_t item) const {
        float v = 0;
        check(simdmf_model_predict(h_.get(), user, item, &v));
        return v;
    }
    // Predictions for pairs (users[j], items[j]).
    std::vector<float> predict_batch(const std::vector<std::uint32_t>& users,
                                     const std::vector<std::uint32_t>& items) const {
        if (users.size() != items.size())
            throw Error(SIMDMF_ERR_INVALID_ARGUMENT, "users and items differ in length");
        std::vector<float> out(users.size());
        check(simdmf_model_predict_batch(h_.get(), users.data(), items.data(), users.size(), out.data()));
        return out;
    }
    // Predictions for every item for one user.
    std::vector<float> predict_row(std::uint32_t user) const {
        std::vector<float> out(n_items());
        check(simdmf_model_predict_row(h_.get(), user, out.data()));
        return out;
    }
    // The full n_users x n_items prediction matrix, row-major.
    std::vector<float> predict_all() const {
        std::vector<float> out(std::size_t(n_users()) * n_items());
        check(simdmf_model_predict_all(h_.get(), out.data()));
        return out;
    }

    // Top-n items for a user, best first, leaving out the user's items in `exclude` (may be null).
    std::vector<Scored> recommend(std::uint32_t user, std::size_t n, const Dataset* exclude = nullptr) const {
        std::vector<std::uint32_t> items(n);
        std::vector<float> scores(n);
        std::size_t got = 0;
        check(simdmf_model_recommend(h_.get(), user, n, exclude ? exclude->handle() : nullptr, items.data(),
                                     scores.data(), &got));
        std::vector<Scored> out(got);
        for (std::size_t j = 0; j < got; ++j) out[j] = Scored{items[j], scores[j]};
        return out;
    }

    // Cosine similarity of two users (side SIMDMF_USERS) or two items (SIMDMF_ITEMS).
    float similarity(int side, std::uint32_t a, std::uint32_t b) const {
        float v = 0;
        check(simdmf_model_similarity(h_.get(), side, a, b, &v));
        return v;
    }
    // The n most similar users or items to `index` (itself excluded), best first.
    std::vector<Scored> nearest(int side, std::uint32_t index, std::size_t n) const {
        std::vector<std::uint32_t> idx(n);
        std::vector<float> sims(n);
        std::size_t got = 0;
        check(simdmf_model_nearest(h_.get(), side, index, n, idx.data(), sims.data(), &got));
        std::vector<Scored> out(got);
        for (std::size_t j = 0; j < got; ++j) out[j] = Scored{idx[j], sims[j]};
        return out;
    }
    // The k factors of one user or item.
    std::vector<float> factors(int side, std::uint32_t index) const {
        std::vector<float> out(k());
        check(simdmf_model_factors(h_.get(), side, index, out.data(), nullptr));
        return out;
    }
    // The bias of one user or item (0 without biases).
    float bias(int side, std::uint32_t index) const {
        std::vector<float> f(k());
        float b = 0;
        check(simdmf_model_factors(h_.get(), side, index, f.data(), &b));
        return b;
    }
    // Dense index of a raw id (Error SIMDMF_ERR_NOT_FOUND when unknown).
    std::uint32_t index(int side, std::int64_t raw_id) const {
        std::uint32_t v = 0;
        check(simdmf_model_index(h_.get(), side, raw_id, &v));
        return v;
    }
    // Raw id of a dense index.
    std::int64_t raw_id(int side, std::uint32_t index) const {
        std::int64_t v = 0;
        check(simdmf_model_raw_id(h_.get(), side, index, &v));
        return v;
    }

    // Metrics on held-out ratings in the model's id space (simdmf_model_evaluate_ex; align a file
    // loaded on its own first, see simdmfpp::align): rmse, mae (MF) or log_loss, auc, accuracy
    // (logistic); with rank_k > 0 also precision@K, recall@K, ndcg@K, map@K of top-rank_k lists leaving
    // out each user's items in `exclude` (relevant: MF rating >= threshold, logistic label +1); then
    // "ratings", "cold_ratings", "left_out" (and "ranking_users" with rank_k > 0). Cold ratings (a user
    // or item the model does not know) get the model's fallback, or are left out (leave_out_cold).
    Report evaluate(const Dataset& test, const Dataset* exclude = nullptr, std::size_t rank_k = 0,
                    double threshold = 4.0, bool leave_out_cold = false) const {
        simdmf_report* out = nullptr;
        check(simdmf_model_evaluate_ex(h_.get(), test.handle(), exclude ? exclude->handle() : nullptr, rank_k,
                                       threshold, leave_out_cold ? SIMDMF_COLD_LEAVE_OUT : 0u, &out));
        return Report(out);
    }

    // Predictions for every rating's pair of `data` (in the model's id space, simdmf_model_predict_dataset):
    // cold pairs get the fallback, or NaN with leave_out_cold; *cold (may be null) counts them.
    std::vector<float> predict_dataset(const Dataset& data, bool leave_out_cold = false,
                                       std::size_t* cold = nullptr) const {
        std::vector<float> out(data.size());
        std::size_t c = 0;
        check(simdmf_model_predict_dataset(h_.get(), data.handle(), leave_out_cold ? SIMDMF_COLD_LEAVE_OUT : 0u,
                                           out.data(), &c));
        if (cold) *cold = c;
        return out;
    }

    // The C handle (still owned by this object).
    const simdmf_model* handle() const noexcept { return h_.get(); }
    // Gives up ownership of the C handle.
    simdmf_model* release() noexcept { return h_.release(); }
    // Whether this object holds a handle.
    explicit operator bool() const noexcept { return h_ != nullptr; }

private:
    std::unique_ptr<simdmf_model, detail::Deleter<simdmf_model, simdmf_model_free>> h_;
};

// Training options, a progress callback and the learning curve of the last fit (owns a simdmf_trainer).
// Training diverged (SIMDMF_ERR_DIVERGED): the message names the epoch, and model() holds the last good
// epoch's model (or the initial one), which the C ABI hands back with this status.
class DivergedError : public Error {
public:
    DivergedError(const std::string& message, Model model)
        : Error(SIMDMF_ERR_DIVERGED, message), model_(std::make_shared<Model>(std::move(model))) {}
    // The last good model; shared by copies of the exception.
    Model& model() const noexcept { return *model_; }

private:
    std::shared_ptr<Model> model_;
};

// One option of the registry (simdmf_option_info, with its allowed values and static array default).
struct OptionInfo {
    std::string name, group, doc;
    simdmf_option_type type = SIMDMF_OPTION_REAL;
    simdmf_option_type element_type = SIMDMF_OPTION_REAL;  // arrays: INTEGER or REAL; else == type
    double lower = 0, upper = 0;                           // numbers and array elements
    bool lower_open = false, upper_open = false;
    double default_value = 0;            // numbers: the static default (NaN otherwise)
    std::string default_string;          // strings: the static default
    std::vector<double> default_array;   // arrays: the static default
    std::string default_text;            // every default with its condition
    bool conditional_default = false;    // the default depends on other options (Trainer::default_*)
    std::vector<std::string> allowed;    // strings: allowed values
};

namespace detail {
inline OptionInfo option_at(std::size_t index) {
    simdmf_option_info c{};
    c.struct_size = sizeof c;
    check(simdmf_option_info_get(index, &c));
    OptionInfo o;
    o.name = c.name;
    o.group = c.group;
    o.doc = c.doc;
    o.type = static_cast<simdmf_option_type>(c.type);
    o.element_type = static_cast<simdmf_option_type>(c.element_type);
    o.lower = c.lower;
    o.upper = c.upper;
    o.lower_open = c.lower_open != 0;
    o.upper_open = c.upper_open != 0;
    o.default_value = c.default_value;
    o.default_string = c.default_string;
    o.default_text = c.default_text;
    o.conditional_default = c.has_conditional_default != 0;
    for (std::size_t j = 0; j < c.allowed_count; ++j) {
        const char* v = nullptr;
        check(simdmf_option_allowed(index, j, &v));
        o.allowed.emplace_back(v);
    }
    if (o.type == SIMDMF_OPTION_ARRAY) {
        std::size_t n = c.default_count;
        o.default_array.resize(n);
        check(simdmf_option_default_array(index, o.default_array.data(), n, &n));
    }
    return o;
}
}  // namespace detail

// Every option the linked library knows, in registry order.
inline std::vector<OptionInfo> options() {
    std::size_t n = 0;
    check(simdmf_option_count(&n));
    std::vector<OptionInfo> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(detail::option_at(i));
    return out;
}

// One option by key; throws Error (SIMDMF_ERR_UNKNOWN_OPTION) for a key the library does not know.
inline OptionInfo option(const std::string& key) {
    std::size_t index = 0;
    check(simdmf_option_find(key.c_str(), &index));
    return detail::option_at(index);
}

// `ds` re-indexed into the id space of `model` (simdmf_dataset_align): ids it does not know get
// indices past the model's (cold), or their ratings are left out (leave_out_cold); *unknown (may be
// null) counts the ratings naming such ids.
inline Dataset align(const Dataset& ds, const Model& model, bool leave_out_cold = false,
                     std::size_t* unknown = nullptr) {
    simdmf_dataset* out = nullptr;
    check(simdmf_dataset_align(ds.handle(), model.handle(), nullptr, leave_out_cold ? SIMDMF_COLD_LEAVE_OUT : 0u,
                               &out, unknown));
    return Dataset(out);
}
// The same into another data set's id space.
inline Dataset align(const Dataset& ds, const Dataset& ref, bool leave_out_cold = false,
                     std::size_t* unknown = nullptr) {
    simdmf_dataset* out = nullptr;
    check(simdmf_dataset_align(ds.handle(), nullptr, ref.handle(), leave_out_cold ? SIMDMF_COLD_LEAVE_OUT : 0u,
                               &out, unknown));
    return Dataset(out);
}

class Trainer {
public:
    // Called after every epoch; return false to stop training (fit then returns the model so far and
    // cancelled() is true). An exception thrown here stops training and is rethrown by fit().
    using Progress = std::function<bool(const simdmf_epoch_info&)>;

    // A trainer with default options.
    Trainer() : state_(new State) {
        simdmf_trainer* t = nullptr;
        check(simdmf_trainer_create(&t));
        h_.reset(t);
    }

    // Sets a numeric option (see simdmf.h for keys and bounds). Returns *this for chaining.
    // Any arithmetic type is accepted, so that set("biases", 0) is not ambiguous with the const char*
    // overload.
    template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
    Trainer& set(const std::string& key, T value) {
        check(simdmf_trainer_set(h_.get(), key.c_str(), static_cast<double>(value)));
        return *this;
    }
    // Sets a string option ("loss", "solver", "schedule").
    Trainer& set(const std::string& key, const std::string& value) {
        check(simdmf_trainer_set_string(h_.get(), key.c_str(), value.c_str()));
        return *this;
    }
    // Same, for string literals (which would otherwise pick the double overload ambiguously).
    Trainer& set(const std::string& key, const char* value) { return set(key, std::string(value)); }
    // Sets an array option ("lr_list").
    Trainer& set(const std::string& key, const std::vector<double>& values) {
        check(simdmf_trainer_set_array(h_.get(), key.c_str(), values.data(), values.size()));
        return *this;
    }
    // Current value of a numeric option.
    double get(const std::string& key) const {
        double v = 0;
        check(simdmf_trainer_get(h_.get(), key.c_str(), &v));
        return v;
    }
    // Current value of a string option.
    std::string get_string(const std::string& key) const {
        const char* v = nullptr;
        check(simdmf_trainer_get_string(h_.get(), key.c_str(), &v));
        return v ? v : "";
    }
    // Current values of an array option ("lr_list", "tune_k", "tune_lr", "tune_l2", "tune_epochs").
    std::vector<double> get_array(const std::string& key) const {
        std::size_t n = 0;
        check(simdmf_trainer_get_array(h_.get(), key.c_str(), nullptr, 0, &n));
        std::vector<double> out(n);
        check(simdmf_trainer_get_array(h_.get(), key.c_str(), out.data(), out.size(), &n));
        out.resize(n < out.size() ? n : out.size());
        return out;
    }

    // The default in effect for a key given the trainer's other options (e.g. "lr" for its loss and
    // solver), for numeric, string and array options.
    double default_value(const std::string& key) const {
        double v = 0;
        check(simdmf_trainer_default(h_.get(), key.c_str(), &v));
        return v;
    }
    std::string default_string(const std::string& key) const {
        const char* v = nullptr;
        check(simdmf_trainer_default_string(h_.get(), key.c_str(), &v));
        return v ? v : "";
    }
    std::vector<double> default_array(const std::string& key) const {
        std::size_t n = 0;
        check(simdmf_trainer_default_array(h_.get(), key.c_str(), nullptr, 0, &n));
        std::vector<double> out(n);
        check(simdmf_trainer_default_array(h_.get(), key.c_str(), out.data(), out.size(), &n));
        out.resize(n < out.size() ? n : out.size());
        return out;
    }

    // Sets (or, with an empty function, clears) the progress callback.
    Trainer& on_progress(Progress fn) {
        state_->progress = std::move(fn);
        if (state_->progress)
            check(simdmf_trainer_set_callback(h_.get(), &Trainer::trampoline, state_.get()));
        else
            check(simdmf_trainer_set_callback(h_.get(), nullptr, nullptr));
        return *this;
    }

    // Trains on `train`, with optional validation data. Throws Error on failure, DivergedError (with
    // the last good model) on divergence; a cancelled run returns the model of the epochs done and
    // sets cancelled().
    Model fit(const Dataset& train, const Dataset* valid = nullptr) {
        simdmf_model* out = nullptr;
        state_->error = nullptr;
        state_->cancelled = false;
        simdmf_status st = simdmf_trainer_fit(h_.get(), train.handle(), valid ? valid->handle() : nullptr, &out);
        Model model(out);
        if (state_->error) {
            std::exception_ptr e = state_->error;
            state_->error = nullptr;
            std::rethrow_exception(e);
        }
        if (st == SIMDMF_CANCELLED) {
            state_->cancelled = true;
            return model;
        }
        if (st == SIMDMF_ERR_DIVERGED) throw DivergedError(simdmf_last_error(), std::move(model));
        check(st);
        return model;
    }
    // Whether the last fit, cross_validate or tune was stopped by the progress callback.
    bool cancelled() const noexcept { return state_->cancelled; }

    // k-fold cross-validation with these options (simdmf_trainer_cross_validate): per metric its mean
    // "M" and "M_std", then "fold<i>.M" and "fold<i>.epochs" per fold. The progress callback sees every
    // epoch of every fold (one fold at a time, on this thread). Returning false from it throws
    // Error(SIMDMF_CANCELLED) and sets cancelled(); an exception thrown by it is rethrown.
    Report cross_validate(const Dataset& data, unsigned folds = 5, std::uint64_t seed = 1, std::size_t rank_k = 0,
                          double threshold = 4.0) {
        simdmf_report* out = nullptr;
        begin_run();
        simdmf_status st = simdmf_trainer_cross_validate(h_.get(), data.handle(), folds, seed, rank_k, threshold, &out);
        Report report(out);
        end_run(st);
        return report;
    }

    // Hyper-parameter search (simdmf_trainer_tune) over the tune_* settings set on this trainer (e.g.
    // set("tune_k", std::vector<double>{16, 32}).set("tune_budget", 10)). On success the options k, lr,
    // l2 and epochs are the best run's, so fit() then trains the chosen model. The report starts with
    // best.k, best.lr, best.l2, best.epochs, best.score, trials, train_ratings, valid_ratings, then
    // trial<i>.k/.lr/.l2/.epochs/.score. The progress callback is called once per finished run (epoch =
    // runs done, valid_metric = its score), possibly from a worker thread with tune_parallel != 1 but
    // never concurrently; returning false throws Error(SIMDMF_CANCELLED) and sets cancelled(). When
    // every run diverged it throws Error(SIMDMF_ERR_DIVERGED) and the options stay unchanged.
    Report tune(const Dataset& train) {
        simdmf_report* out = nullptr;
        begin_run();
        simdmf_status st = simdmf_trainer_tune(h_.get(), train.handle(), &out);
        Report report(out);
        end_run(st);
        return report;
    }

    // The per-epoch records of the last fit.
    std::vector<simdmf_epoch_info> history() const {
        std::size_t n = 0;
        check(simdmf_trainer_history_size(h_.get(), &n));
        std::vector<simdmf_epoch_info> out(n);
        for (std::size_t j = 0; j < n; ++j) check(simdmf_trainer_history_get(h_.get(), j, &out[j]));
        return out;
    }

    // The C handle (still owned by this object).
    simdmf_trainer* handle() const noexcept { return h_.get(); }

private:
    // Heap state so that moving the Trainer keeps the callback's user_data valid.
    struct State {
        Progress progress;
        std::exception_ptr error;
        bool cancelled = false;
    };

    void begin_run() {
        state_->error = nullptr;
        state_->cancelled = false;
    }

    // After a call that returns a report: rethrows the callback's exception, else throws for any
    // status but OK (CANCELLED also sets cancelled()).
    void end_run(simdmf_status st) {
        if (state_->error) {
            std::exception_ptr e = state_->error;
            state_->error = nullptr;
            std::rethrow_exception(e);
        }
        if (st == SIMDMF_CANCELLED) state_->cancelled = true;
        check(st);
    }

    static int trampoline(const simdmf_epoch_info* info, void* user) noexcept {
        State* s = static_cast<State*>(user);
        try {
            return s->progress(*info) ? 0 : 1;
        } catch (...) {
            s->error = std::current_exception();
            return 1;
        }
    }

    std::unique_ptr<State> state_;
    std::unique_ptr<simdmf_trainer, detail::Deleter<simdmf_trainer, simdmf_trainer_free>> h_;
};

}  // namespace simdmfpp

#endif  // SIMDMF_SIMDMF_HPP
