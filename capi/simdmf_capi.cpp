// The C ABI of simdmf (include/simdmf/simdmf.h) over the C++ core.
//
// Every exported body runs inside guard(), which turns any C++ exception into a simdmf_status and
// records its message for simdmf_last_error(). The message of the last failing call is kept (per
// thread) until the next failing call: a successful call does not clear it, as the header describes
// simdmf_last_error() as "the detailed message of the last failing call on this thread". A call that
// returns SIMDMF_CANCELLED also records a message (it is a non-OK status, though not a failure).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simdmf/simdmf.h"
#include "serve/serve.hpp"

#include "common.hpp"
#include "dataset.hpp"
#include "idspace.hpp"
#include "progress.hpp"
#include "serve/seen.hpp"
#include "status.hpp"
#include "eval/evaluate.hpp"
#include "io/factors.hpp"
#include "io/loaders.hpp"
#include "io/from_factors.hpp"
#include "io/model_file.hpp"
#include "kernels/kernels.hpp"
#include "models/mf.hpp"
#include "models/ncf.hpp"
#include "solvers/ncf_train.hpp"
#include "options.hpp"
#include "eval/split.hpp"
#include "solvers/trainer.hpp"
#include "eval/tune.hpp"

// ------------------------------------------------------------------------------------------------
// Opaque handles
// ------------------------------------------------------------------------------------------------

struct simdmf_dataset {
    simdmf::Ratings r;
    std::vector<std::string> warnings;  // simdmf_dataset_load's (LoadReport::warnings)

    // The seen-item index of r, built on first use (recommend with exclude) and kept: r never changes
    // after the handle is made. Thread-safe (call_once).
    const simdmf::SeenItems& seen() const {
        std::call_once(seen_once, [this] { seen_index = std::make_unique<simdmf::SeenItems>(r); });
        return *seen_index;
    }

    // Remembers the model spaces r was found to be in (recommend with exclude checks on every call).
    simdmf::IdSpaceMemo space_memo;

private:
    mutable std::once_flag seen_once;
    mutable std::unique_ptr<const simdmf::SeenItems> seen_index;
};

// The search settings of simdmf_trainer_tune (keys tune_*) live beside the training options, not in
// them; both are set by key through the option registry (lib/options.hpp).
struct simdmf_trainer {
    simdmf::TrainOptions opt;
    simdmf::tune::Settings tune;
    simdmf::CProgress progress;  // the callback and its user data
    std::vector<simdmf::EpochInfo> history;
    std::vector<std::string> warnings;  // the last fit's (TrainResult::warnings)
    // Strings handed out by simdmf_trainer_get_string. A node-based set keeps every returned pointer
    // valid for the life of the trainer (the set only grows by the few distinct option values).
    mutable std::mutex strings_mutex;
    mutable std::set<std::string> strings;
};

// An MF model (m), or a model of another kind (net: GMF, MLP, NeuMF). any() is the one every call
// that works on the family's interface uses; mf() the MF-only calls (UNSUPPORTED for another kind).
struct simdmf_model {
    simdmf::MFModel m;
    std::unique_ptr<simdmf::Model> net;
    simdmf::Model& any() { return net ? *net : static_cast<simdmf::Model&>(m); }
    const simdmf::Model& any() const { return net ? *net : static_cast<const simdmf::Model&>(m); }
    const simdmf::MFModel& mf(const char* what) const {
        if (net) simdmf::fail(SIMDMF_ERR_UNSUPPORTED, std::string(what) + " needs a matrix-factorization model; this "
                                                      "one is a " + net->kind_name() + " model (no factor tables)");
        return m;
    }
    simdmf::MFModel& mf(const char* what) {
        static_cast<const simdmf_model*>(this)->mf(what);
        return m;
    }
};

struct simdmf_scratch {
    simdmf::serve::Scratch s;
    std::vector<float> values;  // the heaps' scores when the caller passes no scores array
};

struct simdmf_report {
    std::vector<std::pair<std::string, double>> entries;
    std::vector<std::string> notes;  // why an entry is undefined (NaN)
};

namespace {

using simdmf::Error;
using simdmf::fail;

thread_local std::string t_last_error;

// Records a message without ever throwing (the assignment may need memory).
void record_error(const char* message) noexcept {
    try {
        t_last_error.assign(message);
    } catch (...) {
        t_last_error.clear();  // never allocates
    }
}

simdmf_status record(simdmf_status status, const char* message) noexcept {
    record_error(message);
    return status;
}

// Runs body (returning simdmf_status) and maps every exception to a status.
template <class Body>
simdmf_status guard(Body&& body) noexcept {
    try {
        return body();
    } catch (const Error& e) {
        return record(e.status(), e.what());
    } catch (const std::bad_alloc&) {
        return record(SIMDMF_ERR_OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception& e) {
        try {
            std::string msg = std::string("internal error: ") + e.what();
            return record(SIMDMF_ERR_INTERNAL, msg.c_str());
        } catch (...) {
            return record(SIMDMF_ERR_INTERNAL, "internal error");
        }
    } catch (...) {
        return record(SIMDMF_ERR_INTERNAL, "internal error: unknown exception");
    }
}

// A serving-only build (meson -Dtraining=false defines SIMDMF_SERVING_ONLY) keeps model load/map,
// predict, recommend, similarity, fold-in and quantization; the calls that train, tune, cross-validate,
// evaluate, load or split data sets, read or write factor files, or read the option registry begin with
// SIMDMF_TRAINING_CALL and answer SIMDMF_ERR_UNSUPPORTED there. The rest of such a call is dead code, so
// the linker (--gc-sections) leaves the training code out of the library.
#ifdef SIMDMF_SERVING_ONLY
constexpr bool kTraining = false;
#else
constexpr bool kTraining = true;
#endif

simdmf_status not_built(const char* call) noexcept {
    return guard([&]() -> simdmf_status {
        fail(SIMDMF_ERR_UNSUPPORTED, std::string(call) + " is not in this build of simdmf: a serving-only library "
                                                         "(built with meson -Dtraining=false)");
    });
}

#define SIMDMF_TRAINING_CALL(name) \
    if (!kTraining) return not_built(name)

void require(const void* p, const char* what) {
    if (!p) fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
}

// The lists of texts a handle keeps (a report's notes, a data set's or a trainer's warnings): the count,
// and entry `index` (`what` names an entry in the out-of-range message). The text lives as long as the handle.
template <class H>
simdmf_status text_count(const H* h, const char* hname, const std::vector<std::string> H::*list, size_t* count) {
    return guard([&] {
        require(h, hname);
        require(count, "count");
        *count = (h->*list).size();
        return SIMDMF_OK;
    });
}

template <class H>
simdmf_status text_at(const H* h, const char* hname, const std::vector<std::string> H::*list, const char* what,
                      size_t index, const char** text) {
    return guard([&] {
        require(h, hname);
        require(text, "text");
        const std::vector<std::string>& v = h->*list;
        if (index >= v.size())
            fail(SIMDMF_ERR_OUT_OF_RANGE, std::string(what) + " " + std::to_string(index) + " of " + std::to_string(v.size()));
        *text = v[index].c_str();
        return SIMDMF_OK;
    });
}

constexpr unsigned kKnownFlags = SIMDMF_COLD_LEAVE_OUT;

void check_flags(unsigned flags) {
    if (flags & ~kKnownFlags)
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "unknown flag bits " + std::to_string(flags & ~kKnownFlags));
}

simdmf::evaluate::Cold cold_of(unsigned flags) {
    return (flags & SIMDMF_COLD_LEAVE_OUT) ? simdmf::evaluate::Cold::leave_out : simdmf::evaluate::Cold::fallback;
}

void check_side_value(int side) {
    if (side != SIMDMF_USERS && side != SIMDMF_ITEMS)
        fail(SIMDMF_ERR_INVALID_ARGUMENT,
             "side " + std::to_string(side) + " is neither SIMDMF_USERS (0) nor SIMDMF_ITEMS (1)");
}

std::string key_string(const char* key) {
    require(key, "key");
    return std::string(key);
}

simdmf::io::Format to_format(int format) {
    using simdmf::io::Format;
    switch (format) {
        case SIMDMF_FORMAT_AUTO: return Format::automatic;
        case SIMDMF_FORMAT_MOVIELENS_DATA: return Format::movielens_data;
        case SIMDMF_FORMAT_MOVIELENS_DAT: return Format::movielens_dat;
        case SIMDMF_FORMAT_MOVIELENS_CSV: return Format::movielens_csv;
        case SIMDMF_FORMAT_LIBMF: return Format::libmf;
        case SIMDMF_FORMAT_BINARY: return Format::binary;
        default:
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "unknown file format " + std::to_string(format));
    }
}

// ---- Options by key (lib/options.hpp) -------------------------------------------------------------

simdmf::options::Target target(simdmf_trainer* t) { return {&t->opt, &t->tune}; }
// Read only: the registry's getters do not write through the target.
simdmf::options::Target target(const simdmf_trainer* t) { return target(const_cast<simdmf_trainer*>(t)); }

// The search space in effect: the values set, else the defaults for the trainer's options.
simdmf::tune::Space effective_space(const simdmf_trainer& t) {
    simdmf::tune::Space s = simdmf::tune::Space::defaults(t.opt);
    if (!t.tune.space.k.empty()) s.k = t.tune.space.k;
    if (!t.tune.space.lr.empty()) s.lr = t.tune.space.lr;
    if (!t.tune.space.l2.empty()) s.l2 = t.tune.space.l2;
    if (!t.tune.space.epochs.empty()) s.epochs = t.tune.space.epochs;
    return s;
}

simdmf_report* new_report(std::vector<std::pair<std::string, double>> entries) {
    auto r = std::make_unique<simdmf_report>();
    r->entries = std::move(entries);
    return r.release();
}

// "fold3." + "rmse" without operator+ on a literal (GCC 12 -O2 -Wrestrict false positive).
std::string dotted(const char* prefix, std::size_t i, const std::string& name) {
    std::string s(prefix);
    s.append(std::to_string(i));
    s.append(1, '.');
    s.append(name);
    return s;
}

void check_threshold(double threshold) {
    if (std::isnan(threshold)) fail(SIMDMF_ERR_INVALID_ARGUMENT, "the relevance threshold is NaN");
}

#define SIMDMF_STR2(x) #x
#define SIMDMF_STR(x) SIMDMF_STR2(x)

}  // namespace

extern "C" {

// ------------------------------------------------------------------------------------------------
// Version, status, errors
// ------------------------------------------------------------------------------------------------

SIMDMF_API unsigned simdmf_version_number(void) { return SIMDMF_VERSION_NUMBER; }

static_assert(std::string_view(SIMDMF_VERSION_STRING) ==
                  SIMDMF_STR(SIMDMF_VERSION_MAJOR) "." SIMDMF_STR(SIMDMF_VERSION_MINOR) "." SIMDMF_STR(
                      SIMDMF_VERSION_PATCH),
              "SIMDMF_VERSION_STRING disagrees with the numeric version macros");

SIMDMF_API const char* simdmf_version_string(void) { return SIMDMF_VERSION_STRING; }

SIMDMF_API const char* simdmf_status_string(simdmf_status status) { return simdmf::status_name(status); }

SIMDMF_API const char* simdmf_last_error(void) { return t_last_error.c_str(); }

// ------------------------------------------------------------------------------------------------
// SIMD level
// ------------------------------------------------------------------------------------------------

SIMDMF_API simdmf_status simdmf_simd_level(int* level, const char** name) {
    return guard([&] {
        const simdmf::kernels::Table& t = simdmf::kernels::active();
        if (level) *level = static_cast<int>(t.level);
        if (name) *name = t.name;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_set_simd_level(int level) {
    return guard([&] {
        if (level < SIMDMF_SIMD_SCALAR || level > SIMDMF_SIMD_NEON)
            fail(SIMDMF_ERR_UNSUPPORTED, "unknown SIMD level " + std::to_string(level));
        auto lv = static_cast<simdmf::kernels::Level>(level);
        if (!simdmf::kernels::force_level(lv)) {
            char why[160];
            simdmf::kernels::unavailable_reason(lv, why, sizeof why);
            fail(SIMDMF_ERR_UNSUPPORTED, std::string("SIMD level ") + why);
        }
        return SIMDMF_OK;
    });
}

// ------------------------------------------------------------------------------------------------
// Data sets
// ------------------------------------------------------------------------------------------------

SIMDMF_API simdmf_status simdmf_dataset_from_triples(const uint32_t* users, const uint32_t* items,
                                                     const float* values, size_t n, uint32_t n_users,
                                                     uint32_t n_items, simdmf_dataset** out) {
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        if (n > 0) {
            require(users, "users");
            require(items, "items");
            require(values, "values");
        }
        auto ds = std::make_unique<simdmf_dataset>();
        ds->r = simdmf::ratings_from_triples(users, items, values, n, n_users, n_items);
        *out = ds.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_from_dense(const float* matrix, size_t rows, size_t cols,
                                                   simdmf_dataset** out) {
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(matrix, "matrix");
        if (rows == 0 || cols == 0)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "dense matrix with no rows or no columns");
        if (rows > SIZE_MAX / cols) fail(SIMDMF_ERR_OUT_OF_RANGE, "rows * cols overflows size_t");
        auto ds = std::make_unique<simdmf_dataset>();
        ds->r = simdmf::ratings_from_dense(matrix, rows, cols);
        *out = ds.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_load(const char* path, int format, simdmf_dataset** out) {
    SIMDMF_TRAINING_CALL("simdmf_dataset_load");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(path, "path");
        simdmf::io::LoadOptions lo;
        lo.format = to_format(format);
        lo.timestamps_if_present = true;  // for leave-one-out by latest (simdmf_dataset_split_by)
        auto ds = std::make_unique<simdmf_dataset>();
        simdmf::io::LoadReport rep;
        ds->r = simdmf::io::load(std::string(path), lo, &rep);
        ds->warnings = std::move(rep.warnings);
        *out = ds.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_shape(const simdmf_dataset* ds, size_t* n_ratings,
                                              uint32_t* n_users, uint32_t* n_items) {
    return guard([&] {
        require(ds, "ds");
        if (n_ratings) *n_ratings = ds->r.size();
        if (n_users) *n_users = ds->r.n_users;
        if (n_items) *n_items = ds->r.n_items;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_get(const simdmf_dataset* ds, size_t first, size_t count,
                                            uint32_t* users, uint32_t* items, float* values) {
    return guard([&] {
        require(ds, "ds");
        const std::size_t n = ds->r.size();
        if (first > n || count > n - first)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "ratings [" + std::to_string(first) + ", " + std::to_string(first) +
                                              " + " + std::to_string(count) + ") exceed the " +
                                              std::to_string(n) + " ratings of the data set");
        if (count == 0) return SIMDMF_OK;
        if (users) std::memcpy(users, ds->r.user.data() + first, count * sizeof(uint32_t));
        if (items) std::memcpy(items, ds->r.item.data() + first, count * sizeof(uint32_t));
        if (values) std::memcpy(values, ds->r.value.data() + first, count * sizeof(float));
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_split_by(const simdmf_dataset* ds, unsigned kind, double fraction,
                                                 uint64_t seed, simdmf_dataset** train, simdmf_dataset** test) {
    SIMDMF_TRAINING_CALL("simdmf_dataset_split_by");
    return guard([&] {
        require(train, "train");
        require(test, "test");
        *train = nullptr;
        *test = nullptr;
        require(ds, "ds");
        if (train == test) fail(SIMDMF_ERR_INVALID_ARGUMENT, "train and test point to the same handle");
        if (kind > SIMDMF_SPLIT_LEAVE_ONE_OUT_RANDOM) fail(SIMDMF_ERR_INVALID_ARGUMENT, "unknown split kind " + std::to_string(kind));
        std::pair<simdmf::Ratings, simdmf::Ratings> parts;
        if (kind == SIMDMF_SPLIT_RANDOM) parts = simdmf::split::random(ds->r, fraction, seed);
        else if (kind == SIMDMF_SPLIT_PER_USER_FRACTION) parts = simdmf::split::per_user_fraction(ds->r, fraction, seed);
        else parts = simdmf::split::leave_one_out(ds->r, kind == SIMDMF_SPLIT_LEAVE_ONE_OUT_LATEST, seed);
        auto a = std::make_unique<simdmf_dataset>();
        auto b = std::make_unique<simdmf_dataset>();
        a->r = std::move(parts.first);
        b->r = std::move(parts.second);
        *train = a.release();
        *test = b.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_split(const simdmf_dataset* ds, double test_fraction, uint64_t seed,
                                              simdmf_dataset** train, simdmf_dataset** test) {
    SIMDMF_TRAINING_CALL("simdmf_dataset_split");
    return guard([&] {
        require(train, "train");
        require(test, "test");
        *train = nullptr;
        *test = nullptr;
        require(ds, "ds");
        if (train == test) fail(SIMDMF_ERR_INVALID_ARGUMENT, "train and test point to the same handle");
        if (!(test_fraction > 0.0 && test_fraction < 1.0))
            fail(SIMDMF_ERR_INVALID_ARGUMENT,
                 "test_fraction " + std::to_string(test_fraction) + " is not in (0, 1)");
        auto parts = simdmf::split::random(ds->r, test_fraction, seed);
        auto a = std::make_unique<simdmf_dataset>();
        auto b = std::make_unique<simdmf_dataset>();
        a->r = std::move(parts.first);
        b->r = std::move(parts.second);
        *train = a.release();
        *test = b.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API void simdmf_dataset_free(simdmf_dataset* ds) { delete ds; }

// ------------------------------------------------------------------------------------------------
// Trainer
// ------------------------------------------------------------------------------------------------

SIMDMF_API simdmf_status simdmf_trainer_create(simdmf_trainer** out) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_create");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        *out = new simdmf_trainer();
        return SIMDMF_OK;
    });
}

SIMDMF_API void simdmf_trainer_free(simdmf_trainer* t) { delete t; }

SIMDMF_API simdmf_status simdmf_trainer_set(simdmf_trainer* t, const char* key, double value) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_set");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        simdmf::options::set_number(target(t), k, value);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_set_string(simdmf_trainer* t, const char* key, const char* value) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_set_string");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        require(value, "value");
        simdmf::options::set_string(target(t), k, value);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_set_array(simdmf_trainer* t, const char* key, const double* values,
                                                  size_t n) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_set_array");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        if (n > 0) require(values, "values");
        std::vector<double> v;
        if (n > 0) v.assign(values, values + n);
        simdmf::options::set_array(target(t), k, v);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_get(const simdmf_trainer* t, const char* key, double* value) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_get");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        require(value, "value");
        *value = simdmf::options::get_number(target(t), k);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_get_string(const simdmf_trainer* t, const char* key,
                                                   const char** value) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_get_string");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        require(value, "value");
        std::string s = simdmf::options::get_string(target(t), k);
        std::lock_guard<std::mutex> lock(t->strings_mutex);
        *value = t->strings.insert(std::move(s)).first->c_str();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_set_callback(simdmf_trainer* t, simdmf_progress_fn fn, void* user_data) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_set_callback");
    return guard([&] {
        require(t, "t");
        t->progress.fn = fn;
        t->progress.user_data = fn ? user_data : nullptr;
        return SIMDMF_OK;
    });
}

namespace {
// take: train() may release train's ratings (simdmf_trainer_fit_take).
// init: the start of a neural CF model (simdmf_trainer_fit_from), or null.
simdmf_status fit(simdmf_trainer* t, simdmf_dataset* train, bool take, const simdmf_dataset* valid,
                  simdmf_model** out, const simdmf_model* init = nullptr) {
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(t, "t");
        require(train, "train");
        t->history.clear();
        t->warnings.clear();
        const simdmf::NCFModel* start = nullptr;
        if (init) {
            start = dynamic_cast<const simdmf::NCFModel*>(init->net.get());
            if (!start)
                simdmf::fail(SIMDMF_ERR_UNSUPPORTED, std::string("simdmf_trainer_fit_from starts neural CF models only; "
                                                                 "init is a ") + init->any().kind_name() + " model");
            if (start->kind != t->opt.model)
                simdmf::fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("init is a ") + start->kind_name() +
                                                              " model; option model is " +
                                                              simdmf::model_kind_name(t->opt.model));
        }
        const simdmf::EpochCallback cb = t->progress.epochs();
        const simdmf::Ratings* v = valid ? &valid->r : nullptr;
        auto model = std::make_unique<simdmf_model>();
        struct {
            simdmf_status status;
            std::string message;
        } res;
        if (t->opt.model == simdmf::ModelKind::mf) {
            simdmf::TrainResult r = take && v != &train->r ? simdmf::train(t->opt, std::move(train->r), v, cb)
                                                           : simdmf::train(t->opt, train->r, v, cb);
            model->m = std::move(r.model);
            t->history = std::move(r.history);
            t->warnings = std::move(r.warnings);
            res = {r.status, std::move(r.message)};
        } else {  // gmf, mlp, neumf (lib/solvers/ncf_train.hpp); `take` keeps the caller's ratings
            simdmf::NcfTrainResult r = simdmf::train_ncf(t->opt, train->r, v, cb, start);
            model->net = std::make_unique<simdmf::NCFModel>(std::move(r.model));
            t->history = std::move(r.history);
            res = {r.status, std::move(r.message)};
        }
        *out = model.release();
        if (res.status == SIMDMF_CANCELLED) {
            record_error("training cancelled by the progress callback; the model holds the epochs done");
            return SIMDMF_CANCELLED;
        }
        if (res.status == SIMDMF_ERR_DIVERGED) {
            // *out is the last good epoch's model (or the initial one); the message names the epoch.
            return record(SIMDMF_ERR_DIVERGED, res.message.c_str());
        }
        if (res.status != SIMDMF_OK) {
            // train() reports only OK, CANCELLED or DIVERGED; anything else is a core bug. Keep the
            // contract: *out is NULL on any other status.
            simdmf_model_free(*out);
            *out = nullptr;
            return record(res.status, "training ended with an unexpected status");
        }
        return SIMDMF_OK;
    });
}
}  // namespace

SIMDMF_API simdmf_status simdmf_trainer_fit(simdmf_trainer* t, const simdmf_dataset* train,
                                            const simdmf_dataset* valid, simdmf_model** out) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_fit");
    return fit(t, const_cast<simdmf_dataset*>(train), false, valid, out);
}

SIMDMF_API simdmf_status simdmf_trainer_fit_take(simdmf_trainer* t, simdmf_dataset* train,
                                                 const simdmf_dataset* valid, simdmf_model** out) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_fit_take");
    return fit(t, train, true, valid, out);
}

SIMDMF_API simdmf_status simdmf_trainer_fit_from(simdmf_trainer* t, const simdmf_dataset* train,
                                                 const simdmf_dataset* valid, const simdmf_model* init,
                                                 simdmf_model** out) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_fit_from");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(init, "init");
        return fit(t, const_cast<simdmf_dataset*>(train), false, valid, out, init);
    });
}

SIMDMF_API simdmf_status simdmf_model_neumf_from(const simdmf_model* gmf, const simdmf_model* mlp, double alpha,
                                                 simdmf_model** out) {
    SIMDMF_TRAINING_CALL("simdmf_model_neumf_from");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(gmf, "gmf");
        require(mlp, "mlp");
        const auto* g = dynamic_cast<const simdmf::NCFModel*>(gmf->net.get());
        const auto* p = dynamic_cast<const simdmf::NCFModel*>(mlp->net.get());
        if (!g || g->kind != simdmf::ModelKind::gmf)
            simdmf::fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("gmf is a ") + gmf->any().kind_name() + " model");
        if (!p || p->kind != simdmf::ModelKind::mlp)
            simdmf::fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("mlp is a ") + mlp->any().kind_name() + " model");
        auto model = std::make_unique<simdmf_model>();
        model->net = std::make_unique<simdmf::NCFModel>(simdmf::neumf_from(*g, *p, alpha));
        *out = model.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_history_size(const simdmf_trainer* t, size_t* n_epochs) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_history_size");
    return guard([&] {
        require(t, "t");
        require(n_epochs, "n_epochs");
        *n_epochs = t->history.size();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_history_get(const simdmf_trainer* t, size_t index,
                                                    simdmf_epoch_info* out) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_history_get");
    return guard([&] {
        require(t, "t");
        require(out, "out");
        if (index >= t->history.size())
            fail(SIMDMF_ERR_OUT_OF_RANGE, "history index " + std::to_string(index) + " >= " +
                                              std::to_string(t->history.size()) + " epochs");
        *out = simdmf::to_c(t->history[index]);
        return SIMDMF_OK;
    });
}

// ------------------------------------------------------------------------------------------------
// Models
// ------------------------------------------------------------------------------------------------

SIMDMF_API void simdmf_model_free(simdmf_model* m) { delete m; }

SIMDMF_API simdmf_status simdmf_model_shape(const simdmf_model* m, int* kind, uint32_t* k, uint32_t* n_users,
                                            uint32_t* n_items, int* has_biases) {
    return guard([&] {
        require(m, "m");
        if (kind) *kind = m->any().abi_kind();
        const auto* nc = dynamic_cast<const simdmf::NCFModel*>(m->net.get());
        if (k) *k = nc ? (nc->has_gmf() ? nc->shape.k : nc->embed()) : m->m.k;
        if (n_users) *n_users = m->any().n_users;
        if (n_items) *n_items = m->any().n_items;
        if (has_biases) *has_biases = !m->net && m->m.biases ? 1 : 0;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_loss(const simdmf_model* m, int* loss) {
    return guard([&] {
        require(m, "m");
        require(loss, "loss");
        *loss = static_cast<int>(m->any().loss());
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_name(const simdmf_model* m, const char** name) {
    return guard([&] {
        require(m, "m");
        require(name, "name");
        *name = m->any().kind_name();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_prediction_range(const simdmf_model* m, float* min_pred, float* max_pred) {
    return guard([&] {
        require(m, "m");
        if (min_pred) *min_pred = m->any().min_pred;
        if (max_pred) *max_pred = m->any().max_pred;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_set_prediction_range(simdmf_model* m, float min_pred, float max_pred) {
    return guard([&] {
        require(m, "m");
        m->any().set_prediction_range(min_pred, max_pred);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_predict(const simdmf_model* m, uint32_t user, uint32_t item, float* out) {
    return guard([&] {
        require(m, "m");
        require(out, "out");
        m->any().check_user(user);
        m->any().check_item(item);
        *out = m->any().predict(user, item);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_predict_batch(const simdmf_model* m, const uint32_t* users,
                                                    const uint32_t* items, size_t n, float* out) {
    return guard([&] {
        require(m, "m");
        if (n == 0) return SIMDMF_OK;
        require(users, "users");
        require(items, "items");
        require(out, "out");
        for (std::size_t j = 0; j < n; ++j) {
            if (users[j] >= m->any().n_users || items[j] >= m->any().n_items) {
                m->any().check_user(users[j]);  // throws with the model's own message
                m->any().check_item(items[j]);
            }
        }
        for (std::size_t j = 0; j < n; ++j) out[j] = m->any().predict(users[j], items[j]);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_predict_row(const simdmf_model* m, uint32_t user, float* out) {
    return guard([&] {
        require(m, "m");
        require(out, "out");
        m->any().check_user(user);
        m->any().predict_row(user, out);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_predict_all(const simdmf_model* m, float* out) {
    return guard([&] {
        require(m, "m");
        require(out, "out");
        m->any().predict_all(out);
        return SIMDMF_OK;
    });
}

// C++ linkage: to_filter returns a C++ type (clang: -Wreturn-type-c-linkage inside extern "C").
extern "C++" {
namespace {

// A filter list: ascending, no repeats.
void check_ascending(const std::uint32_t* p, std::size_t n, const char* what) {
    for (std::size_t j = 1; j < n; ++j)
        if (p[j] <= p[j - 1])
            fail(SIMDMF_ERR_INVALID_ARGUMENT, std::string("filter: ") + what + " must be ascending without repeats");
}

// The C filter as serve's, checked: the caller's seen lists only for the users asked for.
simdmf::serve::Filter to_filter(const simdmf_model* m, const simdmf_filter* f, const uint32_t* users, std::size_t n_users) {
    simdmf::serve::Filter out;
    if (!f) return out;
    if (f->struct_size < sizeof(simdmf_filter))
        fail(SIMDMF_ERR_INVALID_ARGUMENT, "filter: struct_size must be sizeof(simdmf_filter)");
    if (f->exclude && f->seen_offsets) fail(SIMDMF_ERR_INVALID_ARGUMENT, "filter: exclude and seen_offsets are exclusive");
    if (f->exclude) {
        f->exclude->space_memo.check(f->exclude->r, simdmf::space_of(m->any()), "the filter's exclude data set");
        out.seen = f->exclude->seen().view();
    } else if (f->seen_offsets) {
        out.seen = {f->seen_offsets, f->seen_items, f->seen_users};
        for (std::size_t b = 0; b < n_users; ++b) {
            const std::uint32_t u = users[b];
            if (u >= f->seen_users) continue;
            const std::uint64_t lo = f->seen_offsets[u], hi = f->seen_offsets[u + 1];
            if (hi < lo) fail(SIMDMF_ERR_INVALID_ARGUMENT, "filter: seen_offsets must not decrease");
            if (hi > lo) require(f->seen_items, "filter seen_items");
            check_ascending(f->seen_items + lo, hi - lo, "each user's seen_items");
        }
    }
    if (f->allow) {
        check_ascending(f->allow, f->n_allow, "allow");
        if (f->n_allow > 0 && f->allow[f->n_allow - 1] >= m->any().n_items)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "filter: an allowed item is not in the model");
        out.allow = f->allow;
        out.n_allow = f->n_allow;
    }
    if (f->n_deny > 0) {
        require(f->deny, "filter deny");
        check_ascending(f->deny, f->n_deny, "deny");
        out.deny = f->deny;
        out.n_deny = f->n_deny;
    }
    return out;
}

// One user's top-n into the caller's arrays; the heap's scores on the stack when the caller has none.
simdmf_status recommend_one(const simdmf_model* m, uint32_t user, size_t n, const simdmf::serve::Filter& f,
                            uint32_t* items, float* scores, size_t* n_out) {
    require(m, "m");
    require(n_out, "n_out");
    if (n > 0) require(items, "items");
    m->any().check_user(user);
    n = std::min<std::size_t>(n, m->any().n_items);
    float local[256];
    std::vector<float> heap;
    float* values = scores;
    if (!values) {
        if (n <= 256) {
            values = local;
        } else {
            heap.resize(n);
            values = heap.data();
        }
    }
    *n_out = simdmf::serve::recommend_into(m->any(), user, n, f, items, values);
    return SIMDMF_OK;
}

}  // namespace
}  // extern "C++"

SIMDMF_API simdmf_status simdmf_model_recommend(const simdmf_model* m, uint32_t user, size_t n,
                                                const simdmf_dataset* exclude, uint32_t* items, float* scores,
                                                size_t* n_out) {
    return guard([&] {
        require(m, "m");
        simdmf::serve::Filter f;
        if (exclude) {
            exclude->space_memo.check(exclude->r, simdmf::space_of(m->any()), "the exclude data set");
            f.seen = exclude->seen().view();
        }
        return recommend_one(m, user, n, f, items, scores, n_out);
    });
}

SIMDMF_API simdmf_status simdmf_model_recommend_filtered(const simdmf_model* m, uint32_t user, size_t n,
                                                         const simdmf_filter* f, uint32_t* items, float* scores,
                                                         size_t* n_out) {
    return guard([&] {
        require(m, "m");
        return recommend_one(m, user, n, to_filter(m, f, &user, 1), items, scores, n_out);
    });
}

SIMDMF_API simdmf_status simdmf_scratch_create(simdmf_scratch** out) {
    return guard([&] {
        require(out, "out");
        *out = new simdmf_scratch();
        return SIMDMF_OK;
    });
}

SIMDMF_API void simdmf_scratch_free(simdmf_scratch* s) { delete s; }

SIMDMF_API simdmf_status simdmf_scratch_bytes(const simdmf_scratch* s, size_t* out) {
    return guard([&] {
        require(s, "s");
        require(out, "out");
        *out = s->s.bytes() + s->values.capacity() * sizeof(float);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_recommend_batch(const simdmf_model* m, const uint32_t* users, size_t n_users,
                                                      size_t n, const simdmf_filter* f, simdmf_scratch* s,
                                                      uint32_t* items, float* scores, size_t* counts) {
    return guard([&] {
        require(m, "m");
        if (n_users == 0) return SIMDMF_OK;
        require(users, "users");
        require(counts, "counts");
        if (n > 0) require(items, "items");
        for (std::size_t b = 0; b < n_users; ++b) m->any().check_user(users[b]);
        const simdmf::serve::Filter filter = to_filter(m, f, users, n_users);
        std::unique_ptr<simdmf_scratch> own;
        if (!s) own = std::make_unique<simdmf_scratch>(), s = own.get();
        const std::size_t cap = std::min<std::size_t>(n, m->any().n_items);
        float* values = scores;
        std::size_t ld_values = n;
        if (!values) {
            if (s->values.size() < n_users * cap) s->values.resize(n_users * cap);
            values = s->values.data();
            ld_values = cap;
        }
        simdmf::serve::recommend_batch(m->any(), users, n_users, cap, filter, s->s, items, n, values, ld_values, counts);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_nearest_batch(const simdmf_model* m, int side, int metric,
                                                    const uint32_t* queries, size_t n_queries, size_t n,
                                                    simdmf_scratch* s, uint32_t* out, float* sims, size_t* counts) {
    return guard([&] {
        require(m, "m");
        check_side_value(side);
        if (metric != SIMDMF_METRIC_COSINE && metric != SIMDMF_METRIC_DOT)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "metric must be SIMDMF_METRIC_COSINE (0) or SIMDMF_METRIC_DOT (1)");
        m->any().require_factors("nearest neighbours");
        if (n_queries == 0) return SIMDMF_OK;
        require(queries, "queries");
        require(counts, "counts");
        if (n > 0) require(out, "out");
        for (std::size_t b = 0; b < n_queries; ++b) m->any().check_side(side, queries[b]);
        std::unique_ptr<simdmf_scratch> own;
        if (!s) own = std::make_unique<simdmf_scratch>(), s = own.get();
        const std::size_t cap = std::min<std::size_t>(n, m->any().count(side));
        float* values = sims;
        std::size_t ld_values = n;
        if (!values) {
            if (s->values.size() < n_queries * cap) s->values.resize(n_queries * cap);
            values = s->values.data();
            ld_values = cap;
        }
        simdmf::serve::nearest_batch(m->any(), side, static_cast<simdmf::serve::Metric>(metric), queries, n_queries, cap,
                                     s->s, out, n, values, ld_values, counts);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_similarity(const simdmf_model* m, int side, uint32_t a, uint32_t b,
                                                 float* out) {
    return guard([&] {
        require(m, "m");
        require(out, "out");
        check_side_value(side);
        m->any().check_side(side, a);
        m->any().check_side(side, b);
        *out = simdmf::serve::cosine(m->any(), side, a, b);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_nearest(const simdmf_model* m, int side, uint32_t index, size_t n,
                                              uint32_t* out, float* sims, size_t* n_out) {
    return guard([&] {
        require(m, "m");
        require(n_out, "n_out");
        if (n > 0) require(out, "out");
        check_side_value(side);
        m->any().check_side(side, index);
        auto near = simdmf::serve::nearest(m->any(), side, index, n);
        const std::size_t w = std::min(near.size(), n);
        for (std::size_t j = 0; j < w; ++j) {
            out[j] = near[j].first;
            if (sims) sims[j] = near[j].second;
        }
        *n_out = w;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_factors(const simdmf_model* m, int side, uint32_t index, float* out,
                                              float* bias) {
    return guard([&] {
        require(m, "m");
        const simdmf::MFModel& mf = m->mf("simdmf_model_factors");
        mf.require_factors("simdmf_model_factors");
        require(out, "out");
        check_side_value(side);
        mf.check_side(side, index);
        const float* row = mf.row(side, index);
        std::copy(row, row + mf.k, out);
        if (bias) {
            const simdmf::ParamArray& b = side == SIMDMF_USERS ? mf.bu : mf.bi;
            *bias = (mf.biases && index < b.size()) ? b[index] : 0.0f;
        }
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_index(const simdmf_model* m, int side, int64_t raw_id, uint32_t* index) {
    return guard([&] {
        require(m, "m");
        require(index, "index");
        check_side_value(side);
        const char* what = side == SIMDMF_USERS ? "user" : "item";
        const auto& map = side == SIMDMF_USERS ? m->any().user_ids : m->any().item_ids;
        std::uint32_t idx = 0;
        if (!simdmf::find_raw(map.get(), m->any().count(side), raw_id, &idx))
            fail(SIMDMF_ERR_NOT_FOUND, std::string("raw ") + what + " id " + std::to_string(raw_id) +
                                           " is not known to the model");
        *index = idx;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_raw_id(const simdmf_model* m, int side, uint32_t index, int64_t* raw_id) {
    return guard([&] {
        require(m, "m");
        require(raw_id, "raw_id");
        check_side_value(side);
        m->any().check_side(side, index);
        const auto& map = side == SIMDMF_USERS ? m->any().user_ids : m->any().item_ids;
        if (map && index >= map->size())
            fail(SIMDMF_ERR_NOT_FOUND, std::string(side == SIMDMF_USERS ? "user" : "item") + " index " +
                                           std::to_string(index) + " has no raw id in the model's map");
        *raw_id = simdmf::raw_of(map.get(), index);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_fold_in_user(simdmf_model* m, const uint32_t* items, const float* values,
                                                   size_t n, double l2, int64_t raw_id, uint32_t* new_user) {
    return guard([&] {
        require(m, "m");
        require(new_user, "new_user");
        *new_user = m->any().fold_in_user(items, values, n, l2, raw_id);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_save(const simdmf_model* m, const char* path) {
    return guard([&] {
        require(m, "m");
        require(path, "path");
        simdmf::save_model(m->any(), std::string(path));
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_load(const char* path, simdmf_model** out) {
    return simdmf_model_open(path, 0, out);
}

SIMDMF_API simdmf_status simdmf_model_open(const char* path, uint32_t flags, simdmf_model** out) {
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(path, "path");
        if (flags & ~(SIMDMF_OPEN_MMAP | SIMDMF_OPEN_NO_VERIFY))
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "unknown simdmf_model_open flags " + std::to_string(flags));
        simdmf::OpenOptions o;
        o.map = (flags & SIMDMF_OPEN_MMAP) != 0;
        o.verify = (flags & SIMDMF_OPEN_NO_VERIFY) == 0;
        auto model = std::make_unique<simdmf_model>();
        std::unique_ptr<simdmf::Model> any = simdmf::open_any_model(std::string(path), o);
        if (auto* mf = dynamic_cast<simdmf::MFModel*>(any.get())) model->m = std::move(*mf);
        else model->net = std::move(any);
        *out = model.release();
        return SIMDMF_OK;
    });
}

// ------------------------------------------------------------------------------------------------
// Reports, evaluation, cross-validation, tuning
// ------------------------------------------------------------------------------------------------

SIMDMF_API void simdmf_report_free(simdmf_report* r) { delete r; }

SIMDMF_API simdmf_status simdmf_report_size(const simdmf_report* r, size_t* n) {
    return guard([&] {
        require(r, "r");
        require(n, "n");
        *n = r->entries.size();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_report_get(const simdmf_report* r, size_t index, const char** name,
                                           double* value) {
    return guard([&] {
        require(r, "r");
        if (index >= r->entries.size())
            fail(SIMDMF_ERR_OUT_OF_RANGE, "report index " + std::to_string(index) + " >= " +
                                              std::to_string(r->entries.size()) + " entries");
        if (name) *name = r->entries[index].first.c_str();
        if (value) *value = r->entries[index].second;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_report_find(const simdmf_report* r, const char* name, double* value) {
    return guard([&] {
        require(r, "r");
        require(name, "name");
        for (const auto& [k, v] : r->entries) {
            if (k == name) {
                if (value) *value = v;
                return SIMDMF_OK;
            }
        }
        fail(SIMDMF_ERR_NOT_FOUND, std::string("the report has no entry '") + name + "'");
    });
}

SIMDMF_API simdmf_status simdmf_model_evaluate_ex(const simdmf_model* m, const simdmf_dataset* test,
                                                  const simdmf_dataset* exclude, size_t rank_k, double threshold,
                                                  unsigned flags, simdmf_report** out) {
    SIMDMF_TRAINING_CALL("simdmf_model_evaluate_ex");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(m, "m");
        require(test, "test");
        check_flags(flags);
        simdmf::evaluate::EvalOptions eo;
        eo.rank_k = rank_k;
        eo.threshold = static_cast<float>(threshold);
        eo.threads = 1;
        eo.cold = cold_of(flags);
        const simdmf::evaluate::EvalResult res =
            simdmf::evaluate::evaluate_model(m->any(), test->r, exclude ? &exclude->r : nullptr, eo);
        *out = new_report(res.report(rank_k));
        (*out)->notes = res.notes;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_evaluate_ranking(const simdmf_model* m, const simdmf_dataset* test,
                                                       const simdmf_dataset* train, size_t rank_k,
                                                       double threshold, size_t negatives, uint64_t seed,
                                                       unsigned flags, simdmf_report** out) {
    SIMDMF_TRAINING_CALL("simdmf_model_evaluate_ranking");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(m, "m");
        require(test, "test");
        require(train, "train");
        check_flags(flags);
        if (rank_k == 0) fail(SIMDMF_ERR_INVALID_ARGUMENT, "rank_k must be at least 1");
        simdmf::evaluate::EvalOptions eo;
        eo.rank_k = rank_k;
        eo.threshold = static_cast<float>(threshold);
        eo.threads = 1;
        eo.cold = cold_of(flags);
        eo.negatives = negatives;
        eo.sample_seed = seed;
        eo.popularity = true;
        const simdmf::evaluate::EvalResult res = simdmf::evaluate::evaluate_model(m->m, test->r, &train->r, eo);
        *out = new_report(res.report(rank_k));
        (*out)->notes = res.notes;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_report_note_count(const simdmf_report* r, size_t* count) {
    return text_count(r, "r", &simdmf_report::notes, count);
}

SIMDMF_API simdmf_status simdmf_report_note(const simdmf_report* r, size_t index, const char** text) {
    return text_at(r, "r", &simdmf_report::notes, "note", index, text);
}

SIMDMF_API simdmf_status simdmf_model_evaluate(const simdmf_model* m, const simdmf_dataset* test,
                                               const simdmf_dataset* exclude, size_t rank_k,
                                               double threshold, simdmf_report** out) {
    SIMDMF_TRAINING_CALL("simdmf_model_evaluate");
    return simdmf_model_evaluate_ex(m, test, exclude, rank_k, threshold, 0, out);
}

SIMDMF_API simdmf_status simdmf_trainer_cross_validate(simdmf_trainer* t, const simdmf_dataset* data,
                                                       unsigned folds, uint64_t seed, size_t rank_k,
                                                       double threshold, simdmf_report** out) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_cross_validate");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(t, "t");
        require(data, "data");
        if (rank_k > 0) check_threshold(threshold);
        simdmf::evaluate::CvOptions cv;
        cv.folds = folds;
        cv.seed = seed;
        cv.parallel = 1;  // one fold at a time: the progress callback is never called concurrently
        cv.rank_k = rank_k;
        cv.threshold = static_cast<float>(threshold);
        cv.on_epoch = t->progress.fold_epochs();
        simdmf::evaluate::CvResult res = simdmf::evaluate::cross_validate(t->opt, data->r, cv);
        std::vector<std::pair<std::string, double>> entries;
        for (const auto& [name, ms] : res.summary) {
            entries.emplace_back(name, ms.mean);
            entries.emplace_back(name + "_std", ms.stddev);
        }
        for (std::size_t f = 0; f < res.folds.size(); ++f) {
            for (const auto& [name, v] : res.folds[f].metrics) entries.emplace_back(dotted("fold", f + 1, name), v);
            entries.emplace_back(dotted("fold", f + 1, "epochs"), static_cast<double>(res.folds[f].epochs));
        }
        *out = new_report(std::move(entries));
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_tune(simdmf_trainer* t, const simdmf_dataset* train, simdmf_report** out) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_tune");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(t, "t");
        require(train, "train");
        const simdmf::tune::Space space = effective_space(*t);
        const simdmf::tune::TrialCallback cb = t->progress.trials();
        simdmf::tune::Result res = simdmf::tune::search(t->opt, train->r, space, t->tune.options, cb);
        const simdmf::tune::Trial& b = res.trials[res.best];
        std::vector<std::pair<std::string, double>> entries = {
            {"best.k", static_cast<double>(b.k)},
            {"best.lr", b.lr},
            {"best.l2", b.l2},
            {"best.epochs", static_cast<double>(b.epochs)},
            {"best.score", b.score},
            {"trials", static_cast<double>(res.trials.size())},
            {"train_ratings", static_cast<double>(res.train_size)},
            {"valid_ratings", static_cast<double>(res.valid_size)},
        };
        for (std::size_t j = 0; j < res.trials.size(); ++j) {
            const simdmf::tune::Trial& tr = res.trials[j];
            entries.emplace_back(dotted("trial", j + 1, "k"), static_cast<double>(tr.k));
            entries.emplace_back(dotted("trial", j + 1, "lr"), tr.lr);
            entries.emplace_back(dotted("trial", j + 1, "l2"), tr.l2);
            entries.emplace_back(dotted("trial", j + 1, "epochs"), static_cast<double>(tr.epochs));
            entries.emplace_back(dotted("trial", j + 1, "score"), tr.score);
        }
        entries.emplace_back("edge.k", res.edge_k);
        entries.emplace_back("edge.lr", res.edge_lr);
        entries.emplace_back("edge.l2", res.edge_l2);
        entries.emplace_back("edge.epochs", res.edge_epochs);
        entries.emplace_back("extended", static_cast<double>(res.extended));
        std::unique_ptr<simdmf_report> report(new_report(std::move(entries)));
        if (!std::isfinite(b.score) || b.epochs == 0) {
            *out = report.release();
            return record(SIMDMF_ERR_DIVERGED,
                          "tuning: every run diverged (no finite validation score); the options are unchanged");
        }
        // Only the four searched options change (res.best_options is t->opt with them set).
        t->opt.k = b.k;
        t->opt.lr = b.lr;
        t->opt.l2 = b.l2;
        t->opt.epochs = b.epochs;
        *out = report.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_get_array(const simdmf_trainer* t, const char* key, double* values,
                                                  size_t capacity, size_t* count) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_get_array");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        require(count, "count");
        if (capacity > 0) require(values, "values");
        const std::vector<double> v = simdmf::options::get_array(target(t), k);
        const std::size_t w = std::min(capacity, v.size());
        if (w > 0) std::copy(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(w), values);
        *count = v.size();
        return SIMDMF_OK;
    });
}

// ------------------------------------------------------------------------------------------------
// Factors in and out
// ------------------------------------------------------------------------------------------------

namespace {

simdmf::factors::Format factor_format(int format) {
    switch (format) {
        case SIMDMF_FACTORS_SPARK_JSON: return simdmf::factors::Format::spark_json;
        case SIMDMF_FACTORS_CSV: return simdmf::factors::Format::csv;
        case SIMDMF_FACTORS_NPY: return simdmf::factors::Format::npy;
        case SIMDMF_FACTORS_NPZ: return simdmf::factors::Format::npz;
        case SIMDMF_FACTORS_LIBMF: return simdmf::factors::Format::libmf;
    }
    fail(SIMDMF_ERR_INVALID_ARGUMENT, "unknown factor format " + std::to_string(format));
}

}  // namespace

SIMDMF_API simdmf_status simdmf_model_from_factors(const simdmf_factor_tables* t, int flags, simdmf_model** out) {
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(t, "tables");
        if (t->struct_size < sizeof(simdmf_factor_tables))
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "tables->struct_size is smaller than this version's simdmf_factor_tables");
        if (flags != SIMDMF_FACTORS_COPY && flags != SIMDMF_FACTORS_BORROW)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "unknown flags " + std::to_string(flags));
        if (t->kind != 0 && t->kind != SIMDMF_MODEL_MF && t->kind != SIMDMF_MODEL_LOGISTIC)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "unknown model kind " + std::to_string(t->kind));
        simdmf::SideTable users, items;
        users.values = t->user_factors;
        users.stride = t->user_stride ? t->user_stride : t->k;
        users.rows = t->n_users;
        users.bias = t->user_bias;
        users.ids = t->user_ids;
        items.values = t->item_factors;
        items.stride = t->item_stride ? t->item_stride : t->k;
        items.rows = t->n_items;
        items.bias = t->item_bias;
        items.ids = t->item_ids;
        auto model = std::make_unique<simdmf_model>();
        model->m = simdmf::model_from_views(t->k, users, items, t->global_bias, t->kind == SIMDMF_MODEL_LOGISTIC,
                                            t->min_prediction, t->max_prediction, flags == SIMDMF_FACTORS_BORROW);
        *out = model.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_import_flags(int format, const char* users, const char* items, int flags,
                                                   simdmf_model** out) {
    SIMDMF_TRAINING_CALL("simdmf_model_import_flags");
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(users, "users");
        if (flags & ~SIMDMF_IMPORT_MAP) fail(SIMDMF_ERR_INVALID_ARGUMENT, "flags: unknown bits");
        auto f = factor_format(format);
        auto model = std::make_unique<simdmf_model>();
        model->m = simdmf::model_from_factors(
            simdmf::factors::read(f, users, items ? items : "", (flags & SIMDMF_IMPORT_MAP) != 0));
        *out = model.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_import(int format, const char* users, const char* items, simdmf_model** out) {
    SIMDMF_TRAINING_CALL("simdmf_model_import");
    return simdmf_model_import_flags(format, users, items, 0, out);
}

SIMDMF_API simdmf_status simdmf_model_export(const simdmf_model* m, int format, const char* path) {
    SIMDMF_TRAINING_CALL("simdmf_model_export");
    return guard([&] {
        require(m, "m");
        const simdmf::MFModel& mf = m->mf("simdmf_model_export");
        mf.require_factors("simdmf_model_export");
        require(path, "path");
        simdmf::factors::write(simdmf::factors_of(mf), factor_format(format), path);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_factor_table(const simdmf_model* m, int side, const float** data, size_t* stride,
                                                   uint32_t* rows, uint32_t* k) {
    return guard([&] {
        require(m, "m");
        const simdmf::MFModel& mf = m->mf("simdmf_model_factor_table");
        mf.require_factors("simdmf_model_factor_table");
        require(data, "data");
        check_side_value(side);
        const simdmf::ParamArray& t = side == SIMDMF_USERS ? mf.P : mf.Q;
        *data = t.data();
        if (stride) *stride = mf.stride;
        if (rows) *rows = mf.count(side);
        if (k) *k = mf.k;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_bias_table(const simdmf_model* m, int side, const float** data, size_t* n,
                                                 float* global_bias) {
    return guard([&] {
        require(m, "m");
        const simdmf::MFModel& mf = m->mf("simdmf_model_bias_table");
        require(data, "data");
        require(n, "n");
        check_side_value(side);
        const simdmf::ParamArray& b = side == SIMDMF_USERS ? mf.bu : mf.bi;
        *data = mf.biases ? b.data() : nullptr;
        *n = mf.biases ? b.size() : 0;
        if (global_bias) *global_bias = mf.biases ? mf.mu : 0.0f;
        return SIMDMF_OK;
    });
}

// ------------------------------------------------------------------------------------------------
// Id spaces and cold users and items
// ------------------------------------------------------------------------------------------------

SIMDMF_API simdmf_status simdmf_dataset_align(const simdmf_dataset* ds, const simdmf_model* model,
                                              const simdmf_dataset* ref, unsigned flags, simdmf_dataset** out,
                                              size_t* n_unknown) {
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        require(ds, "ds");
        if (!model == !ref) fail(SIMDMF_ERR_INVALID_ARGUMENT, "give exactly one of model and ref");
        check_flags(flags);
        const simdmf::IdSpace space = model ? simdmf::space_of(model->any()) : simdmf::space_of(ref->r);
        std::size_t unknown = 0;
        auto res = std::make_unique<simdmf_dataset>();
        res->r = simdmf::align_to(ds->r, space, cold_of(flags) == simdmf::evaluate::Cold::fallback, &unknown);
        *out = res.release();
        if (n_unknown) *n_unknown = unknown;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_predict_dataset(const simdmf_model* m, const simdmf_dataset* ds,
                                                      unsigned flags, float* out, size_t* n_cold) {
    return guard([&] {
        require(m, "m");
        require(ds, "ds");
        if (ds->r.size() > 0) require(out, "out");
        check_flags(flags);
        std::size_t cold = 0;
        const std::vector<float> pred = simdmf::evaluate::predict_with_fallback(m->any(), ds->r, cold_of(flags), &cold);
        std::copy(pred.begin(), pred.end(), out);
        if (n_cold) *n_cold = cold;
        return SIMDMF_OK;
    });
}

}  // extern "C"

// ------------------------------------------------------------------------------------------------
// Option registry
// ------------------------------------------------------------------------------------------------

namespace {

const simdmf::options::Option& option_at(std::size_t index) {
    const auto& rows = simdmf::options::all();
    if (index >= rows.size())
        fail(SIMDMF_ERR_OUT_OF_RANGE, "option index " + std::to_string(index) + " is past the last (" +
                                          std::to_string(rows.size()) + " options)");
    return rows[index];
}

// The default texts, made once: the strings simdmf_option_info hands out live for the process.
const std::vector<std::string>& default_texts() {
    static const std::vector<std::string> texts = [] {
        std::vector<std::string> v;
        for (const auto& o : simdmf::options::all()) v.push_back(simdmf::options::default_text(o));
        return v;
    }();
    return texts;
}

int type_code(simdmf::options::Type t) {
    switch (t) {
        case simdmf::options::Type::integer: return SIMDMF_OPTION_INTEGER;
        case simdmf::options::Type::real: return SIMDMF_OPTION_REAL;
        case simdmf::options::Type::string: return SIMDMF_OPTION_STRING;
        case simdmf::options::Type::array: return SIMDMF_OPTION_ARRAY;
    }
    return -1;
}

std::size_t copy_values(const std::vector<double>& v, double* values, std::size_t capacity) {
    const std::size_t w = std::min(capacity, v.size());
    if (w > 0) std::copy(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(w), values);
    return v.size();
}

const simdmf::options::Option& typed(const std::string& key, simdmf::options::Type a, simdmf::options::Type b,
                                     const char* wanted) {
    const simdmf::options::Option* o = simdmf::options::find(key);
    if (!o) fail(SIMDMF_ERR_UNKNOWN_OPTION, "unknown option '" + key + "'");
    if (o->type != a && o->type != b) fail(SIMDMF_ERR_UNKNOWN_OPTION, "option '" + key + "' is not " + wanted);
    return *o;
}

}  // namespace

extern "C" {

SIMDMF_API simdmf_status simdmf_option_count(size_t* count) {
    SIMDMF_TRAINING_CALL("simdmf_option_count");
    return guard([&] {
        require(count, "count");
        *count = simdmf::options::all().size();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_option_info_get(size_t index, simdmf_option_info* info) {
    SIMDMF_TRAINING_CALL("simdmf_option_info_get");
    return guard([&] {
        require(info, "info");
        constexpr std::size_t first = offsetof(simdmf_option_info, allowed_count) + sizeof(size_t);
        if (info->struct_size < first)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "info->struct_size " + std::to_string(info->struct_size) +
                                                  " is smaller than the first simdmf_option_info (" +
                                                  std::to_string(first) + ")");
        const auto& o = option_at(index);
        const auto& def = simdmf::options::static_default(o);
        const bool number = o.type == simdmf::options::Type::integer || o.type == simdmf::options::Type::real;
        simdmf_option_info v{};
        v.struct_size = std::min(info->struct_size, sizeof(simdmf_option_info));
        v.name = o.name.c_str();
        v.group = o.group.c_str();
        v.doc = o.doc.c_str();
        v.type = type_code(o.type);
        v.element_type = type_code(o.element);
        v.lower = o.type == simdmf::options::Type::string ? 0 : o.lo.value;
        v.upper = o.type == simdmf::options::Type::string ? 0 : o.hi.value;
        v.lower_open = o.lo.open;
        v.upper_open = o.hi.open;
        v.default_value = number ? def.number : std::numeric_limits<double>::quiet_NaN();
        v.default_string = def.text.c_str();
        v.default_count = def.array.size();
        v.default_text = default_texts()[index].c_str();
        v.has_conditional_default = o.defaults.size() > 1;
        v.allowed_count = o.allowed.size();
        std::memcpy(info, &v, v.struct_size);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_option_find(const char* key, size_t* index) {
    SIMDMF_TRAINING_CALL("simdmf_option_find");
    return guard([&] {
        std::string k = key_string(key);
        require(index, "index");
        const auto* o = simdmf::options::find(k);
        if (!o) fail(SIMDMF_ERR_UNKNOWN_OPTION, "unknown option '" + k + "'");
        *index = static_cast<std::size_t>(o - simdmf::options::all().data());
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_option_allowed(size_t index, size_t j, const char** value) {
    SIMDMF_TRAINING_CALL("simdmf_option_allowed");
    return guard([&] {
        require(value, "value");
        const auto& o = option_at(index);
        if (o.type != simdmf::options::Type::string)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "option '" + o.name + "' is not a string option");
        if (j >= o.allowed.size())
            fail(SIMDMF_ERR_OUT_OF_RANGE, "option '" + o.name + "' has " + std::to_string(o.allowed.size()) +
                                              " allowed values; " + std::to_string(j) + " is past the last");
        *value = o.allowed[j].c_str();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_option_default_array(size_t index, double* values, size_t capacity, size_t* count) {
    SIMDMF_TRAINING_CALL("simdmf_option_default_array");
    return guard([&] {
        require(count, "count");
        if (capacity > 0) require(values, "values");
        const auto& o = option_at(index);
        if (o.type != simdmf::options::Type::array)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "option '" + o.name + "' is not an array option");
        *count = copy_values(simdmf::options::static_default(o).array, values, capacity);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_default(const simdmf_trainer* t, const char* key, double* value) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_default");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        require(value, "value");
        const auto& o = typed(k, simdmf::options::Type::integer, simdmf::options::Type::real, "a numeric option");
        *value = simdmf::options::default_case(o, target(t)).number;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_default_string(const simdmf_trainer* t, const char* key, const char** value) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_default_string");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        require(value, "value");
        const auto& o = typed(k, simdmf::options::Type::string, simdmf::options::Type::string, "a string option");
        *value = simdmf::options::default_case(o, target(t)).text.c_str();  // the registry's, static
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_trainer_default_array(const simdmf_trainer* t, const char* key, double* values,
                                                      size_t capacity, size_t* count) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_default_array");
    return guard([&] {
        require(t, "t");
        std::string k = key_string(key);
        require(count, "count");
        if (capacity > 0) require(values, "values");
        const auto& o = typed(k, simdmf::options::Type::array, simdmf::options::Type::array, "an array option");
        *count = copy_values(simdmf::options::default_case(o, target(t)).array, values, capacity);
        return SIMDMF_OK;
    });
}

}  // extern "C"

// ------------------------------------------------------------------------- raw ids as text, warnings
namespace {

using simdmf::IdMap;
using simdmf::IdSpace;

// One side of an id space (simdmf::space_of of a data set or a model): its map (null: indices) and count.
const IdMap* side_map(const IdSpace& sp, int side) {
    return side == SIMDMF_USERS ? sp.users.get() : sp.items.get();
}
std::uint32_t side_count(const IdSpace& sp, int side) { return side == SIMDMF_USERS ? sp.n_users : sp.n_items; }

int id_kind_of(const IdSpace& sp, int side) {
    const IdMap* map = side_map(sp, side);
    if (!map) return SIMDMF_IDS_INDICES;
    return map->is_string() ? SIMDMF_IDS_STRING : SIMDMF_IDS_INTEGER;
}

std::uint32_t index_of_text(const IdSpace& sp, int side, const char* id) {
    require(id, "id");
    const IdMap* map = side_map(sp, side);
    const std::uint32_t n = side_count(sp, side);
    const std::string_view text(id);
    std::uint32_t idx = 0;
    bool found = false;
    if (map) {
        found = map->find(text, &idx) && idx < n;
    } else {
        std::int64_t v = 0;
        found = simdmf::parse_int_id(text, &v) && v >= 0 && v < static_cast<std::int64_t>(n);
        idx = static_cast<std::uint32_t>(v);
    }
    if (!found)
        fail(SIMDMF_ERR_NOT_FOUND, std::string(side == SIMDMF_USERS ? "user" : "item") + " id " +
                                       simdmf::escape_bytes(text) + " is not known" +
                                       (map ? "" : " (no id map: ids are indices below " + std::to_string(n) + ")"));
    return idx;
}

void write_text(const IdSpace& sp, int side, std::uint32_t index, char* buf, std::size_t capacity,
                std::size_t* length) {
    const IdMap* map = side_map(sp, side);
    const std::uint32_t n = side_count(sp, side);
    if (index >= n || (map && index >= map->size()))
        fail(SIMDMF_ERR_OUT_OF_RANGE, std::string(side == SIMDMF_USERS ? "user" : "item") + " index " +
                                          std::to_string(index) + " is past the side's " + std::to_string(n));
    if (capacity > 0) require(buf, "buf");
    const std::string t = simdmf::id_text(map, index);
    if (length) *length = t.size();
    if (capacity > 0) {
        const std::size_t m = std::min(capacity - 1, t.size());
        std::memcpy(buf, t.data(), m);
        buf[m] = '\0';
    }
}

}  // namespace

SIMDMF_API simdmf_status simdmf_dataset_id_kind(const simdmf_dataset* ds, int side, int* kind) {
    return guard([&] {
        require(ds, "ds");
        require(kind, "kind");
        check_side_value(side);
        *kind = id_kind_of(simdmf::space_of(ds->r), side);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_id_kind(const simdmf_model* m, int side, int* kind) {
    return guard([&] {
        require(m, "m");
        require(kind, "kind");
        check_side_value(side);
        *kind = id_kind_of(simdmf::space_of(m->any()), side);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_index_text(const simdmf_dataset* ds, int side, const char* id,
                                                   uint32_t* index) {
    return guard([&] {
        require(ds, "ds");
        require(index, "index");
        check_side_value(side);
        *index = index_of_text(simdmf::space_of(ds->r), side, id);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_index_text(const simdmf_model* m, int side, const char* id, uint32_t* index) {
    return guard([&] {
        require(m, "m");
        require(index, "index");
        check_side_value(side);
        *index = index_of_text(simdmf::space_of(m->any()), side, id);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_id_text(const simdmf_dataset* ds, int side, uint32_t index, char* buf,
                                                size_t capacity, size_t* length) {
    return guard([&] {
        require(ds, "ds");
        check_side_value(side);
        write_text(simdmf::space_of(ds->r), side, index, buf, capacity, length);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_id_text(const simdmf_model* m, int side, uint32_t index, char* buf,
                                              size_t capacity, size_t* length) {
    return guard([&] {
        require(m, "m");
        check_side_value(side);
        write_text(simdmf::space_of(m->any()), side, index, buf, capacity, length);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_from_text_triples(const char* const* users, const char* const* items,
                                                          const float* values, size_t n, simdmf_dataset** out) {
    return guard([&] {
        require(out, "out");
        *out = nullptr;
        if (n > 0) {
            require(users, "users");
            require(items, "items");
            require(values, "values");
        }
        auto ds = std::make_unique<simdmf_dataset>();
        ds->r = simdmf::ratings_from_text_triples(users, items, values, n);
        *out = ds.release();
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_dataset_warning_count(const simdmf_dataset* ds, size_t* count) {
    return text_count(ds, "ds", &simdmf_dataset::warnings, count);
}

SIMDMF_API simdmf_status simdmf_dataset_warning(const simdmf_dataset* ds, size_t index, const char** text) {
    return text_at(ds, "ds", &simdmf_dataset::warnings, "warning", index, text);
}

SIMDMF_API simdmf_status simdmf_trainer_warning_count(const simdmf_trainer* t, size_t* count) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_warning_count");
    return text_count(t, "t", &simdmf_trainer::warnings, count);
}

SIMDMF_API simdmf_status simdmf_trainer_warning(const simdmf_trainer* t, size_t index, const char** text) {
    SIMDMF_TRAINING_CALL("simdmf_trainer_warning");
    return text_at(t, "t", &simdmf_trainer::warnings, "warning", index, text);
}

// ------------------------------------------------------------------------------------------------
// Quantized tables
// ------------------------------------------------------------------------------------------------

SIMDMF_API simdmf_status simdmf_model_quantize(simdmf_model* m, int table, int keep_fp32) {
    return guard([&] {
        require(m, "m");
        simdmf::MFModel& mf = m->mf("simdmf_model_quantize");
        if (table != SIMDMF_TABLE_FP32 && table != SIMDMF_TABLE_FP16 && table != SIMDMF_TABLE_INT8)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "unknown table type " + std::to_string(table));
        if (keep_fp32 != 0 && keep_fp32 != 1)
            fail(SIMDMF_ERR_INVALID_ARGUMENT, "keep_fp32 must be 0 or 1");
        mf.quantize(static_cast<simdmf::TableType>(table), keep_fp32 != 0);
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_table(const simdmf_model* m, int* table, int* has_fp32) {
    return guard([&] {
        require(m, "m");
        require(table, "table");
        const simdmf::FactorView fv = m->any().factors();
        *table = fv.quantized() ? static_cast<int>(fv.quant->type) : SIMDMF_TABLE_FP32;
        if (has_fp32) *has_fp32 = fv ? 1 : 0;
        return SIMDMF_OK;
    });
}

SIMDMF_API simdmf_status simdmf_model_set_rerank(simdmf_model* m, uint32_t factor) {
    return guard([&] {
        require(m, "m");
        simdmf::MFModel& mf = m->mf("simdmf_model_set_rerank");
        if (factor > simdmf::kMaxRerank)
            fail(SIMDMF_ERR_OUT_OF_RANGE, "rerank factor " + std::to_string(factor) + " is above " +
                                              std::to_string(simdmf::kMaxRerank));
        mf.quant.rerank = factor;
        return SIMDMF_OK;
    });
}
