/*
 * simdmf.h: the whole C ABI of simdmf, a matrix-factorization recommender library.
 *
 * C99. Every symbol starts with simdmf_ / SIMDMF_. Conventions that hold for every call:
 *
 *   Status   Every call returns a simdmf_status (the few exceptions return a static string or a
 *            number and are marked). Values of simdmf_status are never renumbered; new ones are
 *            appended. simdmf_status_string() names a status; simdmf_last_error() gives the detail of
 *            the last failure on the calling thread.
 *   Results  go through out-parameters. On failure out-parameters are left untouched, except that an
 *            out handle is set to NULL, unless the call documents otherwise.
 *   Handles  are opaque and typed. The creator of a handle owns it and frees it with the matching
 *            *_free call; every *_free accepts NULL.
 *   Errors   No C++ exception, abort or exit crosses this boundary. A NULL handle or out-pointer gives
 *            SIMDMF_ERR_INVALID_ARGUMENT.
 *   Threads  A const handle (a model being served, a data set being read) may be used from many
 *            threads at once. A handle being modified (a trainer being configured or run, a model
 *            being folded into) must not be shared without external locking.
 *   Indices  Users and items are dense 0-based uint32_t indices. Files and id maps translate raw
 *            int64 ids to indices (simdmf_model_index and friends).
 *   Id spaces What a data set's or a model's indices mean as raw ids, per side (users, items):
 *            - a data set loaded from a file (other than LIBMF) has an id map: index i is the i-th
 *              distinct id of the file, so two files loaded on their own have different spaces;
 *            - a model has its training data's maps (fold-in appends to them); a model trained
 *              without maps has ids equal to its indices;
 *            - a data set without maps (from triples, a dense matrix, a LIBMF file) is in the index
 *              space: its indices are taken as the model's own.
 *            A data set is in a model's space when, on each side, every index both have names the
 *            same id: the same map, or equal maps from separate loads, or one map a prefix of the
 *            other. simdmf_dataset_align re-indexes a data set into a model's (or another data
 *            set's) space; the ids the model does not know then sit at indices past the model's
 *            (cold: scored by the model's fallback, see simdmf_model_evaluate_ex). Evaluation and
 *            recommend with exclude refuse a data set in another space (SIMDMF_ERR_INVALID_ARGUMENT,
 *            naming the first index whose ids differ) instead of computing on it.
 *   Builds   A serving-only library (meson -Dtraining=false) has every symbol of this header, but
 *            keeps only serving: model load, open (memory-mapped) and save, simdmf_model_from_factors,
 *            predict, recommend (filtered, batched), similarity and nearest, fold-in, quantization,
 *            data sets from triples or a dense matrix (exclude lists), id lookups, scratch and report
 *            handles. These calls answer SIMDMF_ERR_UNSUPPORTED there, with a last-error message
 *            naming the call and the build: simdmf_dataset_load, _split, _split_by; every
 *            simdmf_trainer_* call (simdmf_trainer_create first: a program can probe with it);
 *            simdmf_model_neumf_from, _evaluate, _evaluate_ex, _evaluate_ranking; simdmf_model_import,
 *            _import_flags, _export; every simdmf_option_* call. A build may also leave SIMD levels
 *            out (-Dsimd_levels): simdmf_set_simd_level and SIMDMF_SIMD then say the level is not
 *            compiled in.
 */
#ifndef SIMDMF_SIMDMF_H
#define SIMDMF_SIMDMF_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(SIMDMF_BUILDING)
#    define SIMDMF_API __declspec(dllexport)
#  else
#    define SIMDMF_API
#  endif
#elif defined(__GNUC__)
#  define SIMDMF_API __attribute__((visibility("default")))
#else
#  define SIMDMF_API
#endif

/* The enumerations below are int-sized in C. Compiled as C++ they have int as their fixed underlying
 * type, so every int a caller passes (say, a status code from a newer version, or a bad value) is a
 * value of the type there too, and the library answers it with an error instead of undefined behaviour. */
#ifdef __cplusplus
#  define SIMDMF_INT_ENUM(name) enum name : int
#else
#  define SIMDMF_INT_ENUM(name) enum name
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Version                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

#define SIMDMF_VERSION_MAJOR 0
#define SIMDMF_VERSION_MINOR 2
#define SIMDMF_VERSION_PATCH 0
#define SIMDMF_VERSION_STRING "0.2.0"
/* major*10000 + minor*100 + patch */
#define SIMDMF_VERSION_NUMBER (SIMDMF_VERSION_MAJOR * 10000 + SIMDMF_VERSION_MINOR * 100 + SIMDMF_VERSION_PATCH)

/* The version of the library actually linked, as SIMDMF_VERSION_NUMBER. Returns the number. */
SIMDMF_API unsigned simdmf_version_number(void);
/* "major.minor.patch" of the linked library. Static storage; never NULL. */
SIMDMF_API const char* simdmf_version_string(void);

/* ---------------------------------------------------------------------------------------------- */
/* Status and errors                                                                              */
/* ---------------------------------------------------------------------------------------------- */

typedef SIMDMF_INT_ENUM(simdmf_status) {
    SIMDMF_OK = 0,
    SIMDMF_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, empty input, bad value for a call's argument   */
    SIMDMF_ERR_UNKNOWN_OPTION = 2,   /* option key not known to this version                          */
    SIMDMF_ERR_OUT_OF_RANGE = 3,     /* option value outside its bounds; index beyond the matrix       */
    SIMDMF_ERR_INVALID_DATA = 4,     /* NaN/Inf values, bad labels, inconsistent arrays                */
    SIMDMF_ERR_OUT_OF_MEMORY = 5,    /* allocation failed or would exceed a checked limit              */
    SIMDMF_ERR_IO = 6,               /* open/read/write/rename failed                                  */
    SIMDMF_ERR_FORMAT = 7,           /* malformed, truncated or corrupted file or text                 */
    SIMDMF_ERR_VERSION = 8,          /* file written by a newer format version                         */
    SIMDMF_ERR_CHECKSUM = 9,         /* file checksum mismatch                                         */
    SIMDMF_CANCELLED = 10,           /* the progress callback asked to stop; results are still valid   */
    SIMDMF_ERR_DIVERGED = 11,        /* training produced non-finite values                            */
    SIMDMF_ERR_UNSUPPORTED = 12,     /* not available for this model kind, build or CPU                */
    SIMDMF_ERR_NOT_FOUND = 13,       /* raw id not in the model's id map                                */
    SIMDMF_ERR_INTERNAL = 14         /* a bug in simdmf; please report it                               */
} simdmf_status;

/* A short static English name of a status ("ok", "invalid argument", ...). Never NULL; unknown values
 * give "unknown status". Thread-safe. */
SIMDMF_API const char* simdmf_status_string(simdmf_status status);

/* The detailed message of the last failing call on this thread ("" when none). Valid until the next
 * simdmf call on the same thread. Thread-safe (thread-local storage). */
SIMDMF_API const char* simdmf_last_error(void);

/* ---------------------------------------------------------------------------------------------- */
/* SIMD level                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* Levels, stable values. */
typedef SIMDMF_INT_ENUM(simdmf_simd) {
    SIMDMF_SIMD_SCALAR = 0,
    SIMDMF_SIMD_SSE2 = 1,
    SIMDMF_SIMD_SSE4_2 = 2,
    SIMDMF_SIMD_AVX2 = 3, /* AVX2 + FMA */
    SIMDMF_SIMD_AVX512 = 4, /* AVX-512 F, CD, DQ, BW */
    SIMDMF_SIMD_NEON = 5
} simdmf_simd;

/* The level the kernels use: the best the CPU and OS support, lowered by the environment variable
 * SIMDMF_SIMD (scalar, sse2, sse4.2, avx2, avx512, neon) read once at first use, or set by
 * simdmf_set_simd_level. `level` and/or `name` may be NULL. `name` is static. Thread-safe. */
SIMDMF_API simdmf_status simdmf_simd_level(int* level, const char** name);

/* Force a level (for tests and benchmarks). SIMDMF_ERR_UNSUPPORTED when this CPU, OS or build cannot run
 * it. Not thread-safe with training or serving in progress: call it at start-up. */
SIMDMF_API simdmf_status simdmf_set_simd_level(int level);

/* ---------------------------------------------------------------------------------------------- */
/* Data sets                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

/* Observed entries (user, item, value) of a users x items matrix, with optional raw-id maps. */
typedef struct simdmf_dataset simdmf_dataset;

/* Copies n triples. n_users / n_items of 0 mean "one past the largest index"; otherwise every index must
 * be below them (SIMDMF_ERR_OUT_OF_RANGE). Values are checked when training (finite; +1/-1 for
 * logistic). Arrays may be NULL only when n == 0. The caller owns *out. */
SIMDMF_API simdmf_status simdmf_dataset_from_triples(const uint32_t* users, const uint32_t* items,
                                                     const float* values, size_t n, uint32_t n_users,
                                                     uint32_t n_items, simdmf_dataset** out);

/* Copies the observed entries of a dense row-major rows x cols matrix (rows are users); 0 and NaN mark
 * missing entries, +-Inf is SIMDMF_ERR_INVALID_DATA. The caller owns *out. */
SIMDMF_API simdmf_status simdmf_dataset_from_dense(const float* matrix, size_t rows, size_t cols,
                                                   simdmf_dataset** out);

/* File formats for simdmf_dataset_load. */
typedef SIMDMF_INT_ENUM(simdmf_format) {
    SIMDMF_FORMAT_AUTO = 0,      /* from the file name and first line                              */
    SIMDMF_FORMAT_MOVIELENS_DATA = 1, /* u.data: user TAB item TAB rating TAB timestamp             */
    SIMDMF_FORMAT_MOVIELENS_DAT = 2,  /* ratings.dat: user::item::rating::timestamp                 */
    SIMDMF_FORMAT_MOVIELENS_CSV = 3,  /* ratings.csv: header line, userId,movieId,rating,timestamp  */
    SIMDMF_FORMAT_LIBMF = 4,     /* "user item rating", whitespace separated, 0-based                */
    SIMDMF_FORMAT_BINARY = 5     /* simdmf's compact binary ratings file                            */
} simdmf_format;

/* Reads a ratings file. Raw user/item ids are mapped to dense indices in order of first appearance and
 * the maps are kept with the data set (and with models trained on it). A malformed line fails with
 * SIMDMF_ERR_FORMAT and a message naming the file, line and problem; SIMDMF_ERR_IO when the file cannot
 * be read. The caller owns *out. */
SIMDMF_API simdmf_status simdmf_dataset_load(const char* path, int format, simdmf_dataset** out);

/* Number of ratings and the matrix dimensions. Any out-pointer may be NULL. */
SIMDMF_API simdmf_status simdmf_dataset_shape(const simdmf_dataset* ds, size_t* n_ratings,
                                              uint32_t* n_users, uint32_t* n_items);

/* Copies ratings [first, first+count) into caller arrays (any of them may be NULL).
 * SIMDMF_ERR_OUT_OF_RANGE when the range exceeds the data set. */
SIMDMF_API simdmf_status simdmf_dataset_get(const simdmf_dataset* ds, size_t first, size_t count,
                                            uint32_t* users, uint32_t* items, float* values);

/* Splits ds at random into a train part holding about (1 - test_fraction) of the ratings and a test part
 * with the rest, reproducibly from seed. 0 < test_fraction < 1. Both parts keep the dimensions and id
 * maps of ds. The caller owns *train and *test. */
SIMDMF_API simdmf_status simdmf_dataset_split(const simdmf_dataset* ds, double test_fraction,
                                              uint64_t seed, simdmf_dataset** train,
                                              simdmf_dataset** test);

SIMDMF_API void simdmf_dataset_free(simdmf_dataset* ds);

/* ---------------------------------------------------------------------------------------------- */
/* Trainer                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* Training options and the record of the last run. */
typedef struct simdmf_trainer simdmf_trainer;

/* A trainer with default options. The caller owns *out. */
SIMDMF_API simdmf_status simdmf_trainer_create(simdmf_trainer** out);
SIMDMF_API void simdmf_trainer_free(simdmf_trainer* t);

/*
 * Options, set by key: int and real options with simdmf_trainer_set (integers as integral doubles),
 * string options with simdmf_trainer_set_string, arrays with simdmf_trainer_set_array (read back with
 * simdmf_trainer_get_array). The list is generated from the option registry (lib/options.cpp) by
 * scripts/update_option_docs.py, and tests/test_options.cpp fails when it is out of date; the same
 * registry is readable at run time (simdmf_option_count and the calls after it). Bounds: [a, b] closed,
 * (a, b) open at that end; "default X if key = value; else Y": the first case whose condition holds for
 * the trainer's other options. Group "tune" holds the search settings of simdmf_trainer_tune, which
 * simdmf_trainer_fit ignores.
 * BEGIN OPTIONS
 * group train:
 *   model               string     "mf" | "gmf" | "mlp" | "neumf" | "ials" | "bpr" | "lmf-neg" default "mf"
 *                         the member of the model family to train (mf: matrix factorization; gmf, mlp,
 *                         neumf: neural collaborative filtering, the ncf group; solver, the sgd and als
 *                         groups do not apply to them); implicit feedback, names for mf with an objective
 *                         and solver (read back as mf): ials = loss implicit + solver als (the ials group),
 *                         bpr = solver bpr, lmf-neg = solver lmf-neg
 *   loss                string     "squared" | "logistic" | "implicit" default "squared"
 *                         squared: ratings (MF); logistic: +1/-1 labels, predictions are P(label = +1);
 *                         implicit: counts of events (iALS, solver als only: weighted squared loss over
 *                         every user x item cell, no biases, predictions are unclamped scores; the ials
 *                         group)
 *   solver              string     "sgd" | "gd" | "als" | "bpr" | "lmf-neg" default "sgd"
 *                         sgd: stochastic gradient descent; gd: full-batch gradient descent; als:
 *                         alternating least squares (each sweep solves every user's row exactly with the
 *                         items fixed, then every item's; logistic: one Newton step per row; lr, schedule
 *                         and the sgd group do not apply; ~k^2 per rating and sweep); implicit feedback
 *                         (every rating > 0 an event; the model is logistic, scores rank items): bpr:
 *                         Bayesian personalised ranking, one sampled unseen item per event and epoch;
 *                         lmf-neg: logistic MF with ncf_negatives sampled unseen items per event and epoch
 *   k                   int        [1, 65536]          default 32
 *                         factors per user and item
 *   epochs              int        [1, 1e7]            default 500 if solver = gd; 10 if solver = als; else 30
 *                         maximum epochs (sgd), iterations (gd) or sweeps (als)
 *   lr                  real       (0, 10]
 *                         default 0.001 if model = gmf; 0.001 if model = mlp; 0.001 if model = neumf; 0.5 if solver = gd; 0.05 if solver = bpr; 0.05 if solver = lmf-neg; 0.05 if loss = logistic; else 0.01
 *                         learning rate (gd: the first step, halved while the objective would rise)
 *   schedule            string     "constant" | "decay" | "list" default "constant"
 *                         learning rate per epoch: constant lr; decay lr / (1 + lr_decay * epoch); list:
 *                         lr_list
 *   lr_decay            real       [0, 1e6]            default 0.05
 *                         decay of schedule "decay"
 *   lr_list             real array each (0, 10]        default none
 *                         learning rate per epoch for schedule "list" (at least one value); the last value
 *                         repeats
 *   l2                  real       [0, 1e6]            default 0.05
 *                         L2 weight on factors
 *   l2_bias             real       [0, 1e6]            default 0.05
 *                         L2 weight on biases
 *   biases              int        [0, 1]              default 1
 *                         1: mu + b_u + b_i + p.q; 0: p.q
 *   init_std            real       [0, 100]            default 0.1
 *                         norm of the initial factor rows (entries N(0, init_std^2 / k))
 *   seed                int        [0, 9007199254740992] default 42
 *                         random seed
 *   threads             int        [0, 1024]           default 1
 *                         worker threads (0: all cores); sgd starts at most the hardware thread count
 *                         (environment SIMDMF_OVERSUBSCRIBE=1 lifts that cap); threads the system refuses
 *                         to start are done without; gmf/mlp/neumf: each batch cut into this many slices,
 *                         reproducible for a given count
 *   tol                 real       [0, 1e30]           default 0
 *                         stop when the training loss falls below tol (0: off)
 *   patience            int        [0, 1e6]            default 0
 *                         stop after this many epochs without validation improvement (0: off)
 *   restore_best        int        [0, 1]              default 1
 *                         with patience: hand back the best epoch's model
 *   min_rating          real       any                 default -inf
 *                         declared range: a training or validation value below min_rating is
 *                         SIMDMF_ERR_INVALID_DATA (-inf: off)
 *   max_rating          real       any                 default inf
 *                         declared range: a training or validation value above max_rating is
 *                         SIMDMF_ERR_INVALID_DATA (inf: off)
 *   clip_predictions    int        [0, 1]              default 1
 *                         MF: clamp predictions to the rating range, the declared one where declared, else
 *                         the training values' [min, max] (simdmf_model_prediction_range); 0: raw scores
 *   snapshot            int        [0, 1]              default 1
 *                         on SIMDMF_ERR_DIVERGED hand back a copy of the last good epoch's parameters (1;
 *                         one copy of the factors) or the initial model (0)
 *   retry_diverged      int        [0, 10]             default 0
 *                         on divergence retrain from scratch at half the learning rate, up to this many
 *                         times (0: off)
 * group sgd:
 *   exact_loss          int        [0, 1]              default 0
 *                         recompute the training loss after each epoch (1) or report the running loss seen
 *                         during it (0)
 *   deterministic       int        [0, 1]              default 1
 *                         1: the same seed gives a bit-identical model for any thread count (grid blocks in
 *                         lock-step rounds); 0: free-running block scheduler
 *   optimizer           string     "sgd" | "adagrad"   default "sgd"
 *                         sgd: plain steps lr * gradient; adagrad: per-row rates lr / sqrt(G), G = 1 + the
 *                         row's running mean squared gradient (wants a larger lr, e.g. 0.1)
 *   adagrad             int        [0, 1]              default 0
 *                         1: optimizer "adagrad", 0: optimizer "sgd" (an alias)
 *   normalize           int        [0, 1]              default 1
 *                         squared loss without adagrad: train as if on ratings centred by their mean and
 *                         divided by their standard deviation s, in units of 1.125 (MovieLens' spread,
 *                         where the defaults were chosen) (factor rate lr / s, factor L2 l2 * s, initial
 *                         rows init_std * sqrt(s)), so the defaults suit any rating scale; the model
 *                         predicts raw units (0: lr, l2, init_std as given)
 *   grid                int        [0, 4096]           default 0
 *                         blocks per side of the user x item grid (0: automatic, 1 below 65536 ratings,
 *                         else ~80k ratings a block, at least 8; raised to keep block-local indices
 *                         16-bit); at most `grid` threads run
 * group als:
 *   als_weighted_lambda int        [0, 1]              default 1
 *                         1: each row's ridge term is l2 (l2_bias for its bias) times the row's rating
 *                         count (Zhou et al. 2008, as Spark MLlib; the objective the sgd and gd solvers
 *                         minimise); 0: l2 per row (classic ridge ALS)
 * group ncf:
 *   ncf_layers          int array  each [1, 8192]      default 64, 32, 16, 8
 *                         MLP widths: the first is the user + item embedding (even; each embedding half of
 *                         it), then each dense layer's units (mlp, neumf; set with
 *                         simdmf_trainer_set_array)
 *   ncf_activation      string     "identity" | "relu" | "leaky_relu" default "relu"
 *                         activation of the MLP's dense layers (the output unit is linear before the link)
 *   ncf_slope           real       (0, 1)              default 0.3
 *                         leaky_relu: the slope below zero
 *   ncf_link            string     "auto" | "identity" | "sigmoid" | "scaled_sigmoid" default "auto"
 *                         output link: auto is scaled_sigmoid min + (max - min) sigmoid(z) on the rating
 *                         range (declared, else the training values') for the squared loss, sigmoid for the
 *                         logistic loss
 *   ncf_optimizer       string     "adam" | "sgd"      default "adam"
 *                         adam (bias-corrected, L2 coupled as weight decay) or plain mini-batch sgd
 *   adam_beta1          real       [0, 1)              default 0.9
 *                         Adam: decay of the first moment
 *   adam_beta2          real       [0, 1)              default 0.999
 *                         Adam: decay of the second moment
 *   adam_eps            real       (0, 1]              default 1e-8
 *                         Adam: added to the root of the second moment
 *   ncf_batch           int        [1, 65536]          default 256
 *                         mini-batch size (samples per optimizer step)
 *   ncf_l2_embed        real       [0, 1e6]            default 0
 *                         L2 on embedding rows (added to the gradient of each row a batch touches)
 *   ncf_l2_weights      real       [0, 1e6]            default 0
 *                         L2 on dense weights and biases
 *   ncf_negatives       int        [0, 1000]           default 4
 *                         logistic loss (and solver lmf-neg): unseen items sampled per positive per epoch
 *                         (seeded; every rating > 0 is a positive)
 *   ncf_lazy_adam       int        [0, 2]              default 1
 *                         Adam on the embedding rows (and the rows form's input weight rows). 0: every row
 *                         every step (textbook Adam, PyTorch's); 1: only the rows a batch touched, each
 *                         catching up on the steps it skipped in closed form (the same model as 0 but for
 *                         eps in the skipped steps; cost per batch, not per table; with L2 on those rows,
 *                         0's rule); 2: only the rows a batch touched, skipped steps dropped (TensorFlow's
 *                         LazyAdam: rarely seen rows move less)
 *   ncf_init_std        real       [0, 100]            default 0.01
 *                         embeddings start N(0, ncf_init_std^2) (He et al.); dense layers Glorot uniform,
 *                         biases 0
 *   ncf_dropout         real       [0, 0.95]           default 0
 *                         dropout rate on the MLP tower's layer outputs while training (seeded; kept units
 *                         scaled by 1 / (1 - rate)); never when serving
 *   ncf_input           string     "embedding" | "rows" default "embedding"
 *                         what feeds gmf, mlp and neumf: embedding (a learned row per user and item, He et
 *                         al.) or rows (the notebook's form: the user's row of the training matrix and the
 *                         item's column, values raw, missing 0, each through a dense layer with bias,
 *                         computed sparse x dense; the model keeps the matrix to serve)
 *   ncf_input_leave_out int        [0, 1]              default 1
 *                         ncf_input rows: 1 leaves a training pair's own rating out of its user row and
 *                         item column while training (the model cannot read the target; serving reads the
 *                         whole training matrix); 0 keeps it
 *   ncf_input_norm      string     "none" | "sqrt"     default "sqrt"
 *                         ncf_input rows: the input values; sqrt: each user row and item column divided by
 *                         the square root of its entry count (inputs of one scale for light and heavy users
 *                         and items; MovieLens u1 NeuMF RMSE 0.908 against 0.934 raw); none: as given (the
 *                         notebook's raw ratings)
 * group ials:
 *   confidence          string     "linear" | "log"    default "linear"
 *                         weight of a cell with count r: linear 1 + alpha * r; log 1 + alpha * log(1 + r /
 *                         confidence_eps) (Hu, Koren and Volinsky 2008)
 *   alpha               real       [0, 1e6]            default 1
 *                         confidence scale alpha
 *   confidence_eps      real       (0, 1e12]           default 1
 *                         the log confidence's count scale eps
 *   unobserved_weight   real       (0, 1e6]            default 1
 *                         weight w0 of every cell without events (target 0); cells with events have weight
 *                         c, target 1
 *   ials_reg_exponent   real       [0, 1]              default 0
 *                         row L2 l2 * (n_row + unobserved_weight * n_other)^nu (Rendle et al. 2022's
 *                         frequency scaling; 0: l2 for every row)
 *   ials_solver         string     "cholesky" | "cg"   default "cholesky"
 *                         per-row solve: cholesky (exact, ~k^3 / 3 a row) or cg (cg_steps
 *                         conjugate-gradient steps from the current row, ~k^2 + k per event a step; Takacs
 *                         et al. 2011)
 *   cg_steps            int        [1, 1000]           default 3
 *                         conjugate-gradient steps per row and sweep (ials_solver cg)
 * group tune:
 *   tune_k              int array  each [1, 65536]
 *                         default 32, 64, 128 if loss = implicit; else 64, 128, 256, 512
 *                         factor counts searched (0 values: the default)
 *   tune_lr             real array each (0, 10]
 *                         default 0.01 if loss = implicit; 0.02, 0.05, 0.1 if solver = bpr; 0.02, 0.05, 0.1 if solver = lmf-neg; 0.02, 0.05, 0.1 if loss = logistic; else 0.005, 0.01, 0.02
 *                         learning rates searched (0 values: the default; iALS has no learning rate: one
 *                         value)
 *   tune_l2             real array each [0, 1e6]
 *                         default 1, 3, 10, 30, 100, 300 if loss = implicit; 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3 if solver = bpr; 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3 if solver = lmf-neg; 0.01, 0.02, 0.05 if loss = logistic; else 0.03, 0.05, 0.08
 *                         L2 weights searched (0 values: the default; iALS up to 300, as its regularisation
 *                         is a sum over rows)
 *   tune_epochs         int array  each [1, 1e7]
 *                         default 5, 10, 15, 20, 25, 30 if loss = implicit; else 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150
 *                         candidate epoch counts, all scored from one run per point (0 values: the default)
 *   tune_method         string     "grid" | "random"   default "grid"
 *                         grid: every k x lr x l2 point; random: k drawn from tune_k, lr and l2 log-uniform
 *                         between the smallest and largest value given (l2 floored at 1e-4), every epoch
 *                         count up to the largest of tune_epochs a candidate
 *   tune_budget         int        [0, 1e6]            default 0
 *                         grid: 0 = every point, else a seeded random subset of that many points; random:
 *                         number of runs (0 = 20)
 *   tune_valid_fraction real       (0, 1)              default 0.1
 *                         share of the training data held out for validation
 *   tune_seed           int        [0, 9007199254740992] default 1
 *                         seed of the validation split and of the random choices
 *   tune_parallel       int        [0, 1024]           default 1
 *                         runs trained at the same time, each with the trainer's threads (0: one per
 *                         hardware thread)
 *   tune_extend         int        [0, 10]             default 3
 *                         rounds of extension past an edge: when the best run's k, lr or l2 is the smallest
 *                         or largest of two or more values searched, or its epochs the largest candidate
 *                         while still improving, the search adds the next value that way (the geometric
 *                         step of the two outermost values, within the option's bounds; epochs: three more
 *                         candidates), again while the best stays on an edge (random method: k and epochs
 *                         only); 0: off
 * END OPTIONS
 *
 * The initial factors are N(0, init_std^2 / k): each row's norm is about init_std whatever k is.
 * The training loss reported is the mean data loss (squared error, or cross-entropy for logistic),
 * without the L2 terms. The validation metric (lower is better) is RMSE for squared loss and mean
 * log-loss for logistic.
 *
 * Errors: SIMDMF_ERR_UNKNOWN_OPTION for an unknown key (or a key of the wrong type),
 * SIMDMF_ERR_OUT_OF_RANGE for a value outside its bounds (NaN included), leaving the option unchanged.
 */
SIMDMF_API simdmf_status simdmf_trainer_set(simdmf_trainer* t, const char* key, double value);
SIMDMF_API simdmf_status simdmf_trainer_set_string(simdmf_trainer* t, const char* key, const char* value);
SIMDMF_API simdmf_status simdmf_trainer_set_array(simdmf_trainer* t, const char* key, const double* values,
                                                  size_t n);
/* Current value of a numeric option (its default when never set). */
SIMDMF_API simdmf_status simdmf_trainer_get(const simdmf_trainer* t, const char* key, double* value);
/* Current value of a string option; *value is owned by the trainer, valid until it changes. */
SIMDMF_API simdmf_status simdmf_trainer_get_string(const simdmf_trainer* t, const char* key,
                                                   const char** value);

/* What the progress callback sees after each epoch. Fields are only ever appended; check
 * struct_size before reading a field added after version 0.1. */
typedef struct simdmf_epoch_info {
    size_t struct_size;    /* sizeof(simdmf_epoch_info) of the library                         */
    uint32_t epoch;        /* 1-based                                                          */
    uint32_t max_epochs;
    double train_loss;     /* mean data loss on the training set                               */
    double valid_metric;   /* RMSE (squared) or log-loss (logistic) on validation data; NaN without */
    double learning_rate;  /* the rate used in this epoch                                      */
    double elapsed_seconds;/* since training started                                           */
} simdmf_epoch_info;

/* Called on the training thread after every epoch. Return 0 to go on, non-zero to stop: training then
 * ends with SIMDMF_CANCELLED and a valid model of the epochs done so far. simdmf_trainer_cross_validate
 * and simdmf_trainer_tune call it too, as they describe. */
typedef int (*simdmf_progress_fn)(const simdmf_epoch_info* info, void* user_data);

/* Sets (or, with fn NULL, clears) the progress callback. */
SIMDMF_API simdmf_status simdmf_trainer_set_callback(simdmf_trainer* t, simdmf_progress_fn fn, void* user_data);

typedef struct simdmf_model simdmf_model;

/* Trains a model on `train`; `valid` (may be NULL) gives the validation metric and early stopping by
 * `patience`. Both data sets must have the same dimensions or `valid` smaller. Returns SIMDMF_OK, or
 * SIMDMF_CANCELLED (callback) with *out still set to a valid model, or SIMDMF_ERR_DIVERGED (an epoch
 * produced a non-finite loss or factor, or factors so large that a predicted score could overflow;
 * checked after every epoch) with *out set to the model of the
 * last good epoch (with snapshot = 0, or when epoch 1 diverged: the initial model) and
 * simdmf_last_error() naming the epoch; on any other status *out is NULL.
 * Errors: SIMDMF_ERR_INVALID_DATA (non-finite values, labels not +1/-1 for logistic, empty train, a
 * value outside [min_rating, max_rating]), SIMDMF_ERR_OUT_OF_RANGE, SIMDMF_ERR_OUT_OF_MEMORY (also
 * when the model would not fit in physical memory, refused before allocating). The caller owns *out.
 * The same options, data, seed and thread count give a bit-identical model (with deterministic = 1,
 * the default, whatever the thread count).
 * Option "model" = "gmf", "mlp" or "neumf" trains a neural CF model instead (the ncf_* options; solver,
 * threads and the sgd / als groups do not apply): one thread, the same seed gives a bit-identical model
 * at a given SIMD level; with the logistic loss every value > 0 is a positive and ncf_negatives unseen
 * items per positive are sampled each epoch. The model serves through the same calls as MF; the calls
 * that need factor tables (similarity, nearest, factors, factor and bias tables, export, fold-in)
 * return SIMDMF_ERR_UNSUPPORTED naming the kind. simdmf_trainer_fit_take keeps the caller's ratings
 * for these kinds. */
SIMDMF_API simdmf_status simdmf_trainer_fit(simdmf_trainer* t, const simdmf_dataset* train,
                                            const simdmf_dataset* valid, simdmf_model** out);

/* Like simdmf_trainer_fit, for data sets too large to hold twice: the SGD solver copies the ratings
 * into its own blocked order and hands the pages of `train` back to the OS as it goes, so the peak holds
 * about one copy of the ratings instead of two. Afterwards `train` has no ratings (its dimensions and
 * id maps stay; free it as usual). The model is bit-identical to simdmf_trainer_fit's. With solver
 * "gd", or when `valid` is `train`, `train` is left intact. Same statuses as simdmf_trainer_fit. */
SIMDMF_API simdmf_status simdmf_trainer_fit_take(simdmf_trainer* t, simdmf_dataset* train,
                                                 const simdmf_dataset* valid, simdmf_model** out);

/* The learning curve of the last fit: number of epochs run, and one epoch's record (0-based index). */
SIMDMF_API simdmf_status simdmf_trainer_history_size(const simdmf_trainer* t, size_t* n_epochs);
SIMDMF_API simdmf_status simdmf_trainer_history_get(const simdmf_trainer* t, size_t index,
                                                    simdmf_epoch_info* out);

/* NeuMF initialised from a trained GMF and a trained MLP model of the same data (He et al. 2017,
 * 3.4.1; added after 0.2.0): their embeddings and the MLP's tower copied, the output unit
 * [alpha h_gmf, (1 - alpha) h_mlp] with bias alpha c_gmf + (1 - alpha) c_mlp; train it on with
 * simdmf_trainer_fit_from. Neither input is changed. The caller owns *out. Errors:
 * SIMDMF_ERR_INVALID_ARGUMENT (NULL, `gmf` not a GMF or `mlp` not an MLP model, or different users,
 * items or ids), SIMDMF_ERR_OUT_OF_RANGE (alpha outside [0, 1]). Thread-safe (reads only). */
SIMDMF_API simdmf_status simdmf_model_neumf_from(const simdmf_model* gmf, const simdmf_model* mlp, double alpha,
                                                 simdmf_model** out);

/* Like simdmf_trainer_fit, starting from `init`'s parameters instead of the seeded initialisation
 * (added after 0.2.0): neural CF kinds only, option "model" must be init's kind, and `train` must have
 * init's users and items with the same ids (SIMDMF_ERR_INVALID_ARGUMENT otherwise; an MF `init` is
 * SIMDMF_ERR_UNSUPPORTED). init's shape is kept (k and ncf_layers / activation / slope are ignored);
 * the optimizer state starts at zero. `init` is not changed. Same statuses and ownership as
 * simdmf_trainer_fit; the same init, options and data give a bit-identical model at a given SIMD level. */
SIMDMF_API simdmf_status simdmf_trainer_fit_from(simdmf_trainer* t, const simdmf_dataset* train,
                                                 const simdmf_dataset* valid, const simdmf_model* init,
                                                 simdmf_model** out);

/* ---------------------------------------------------------------------------------------------- */
/* Models                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* Model kinds, stable values (also stored in model files). */
typedef SIMDMF_INT_ENUM(simdmf_model_kind) {
    SIMDMF_MODEL_MF = 1,       /* squared loss; predictions are ratings      */
    SIMDMF_MODEL_LOGISTIC = 2  /* logistic loss; predictions are P(label=+1) */
} simdmf_model_kind;

SIMDMF_API void simdmf_model_free(simdmf_model* m);

/* Kind, factors, users, items, and whether biases are used. Any out-pointer may be NULL. For a neural CF
 * model (simdmf_model_name "gmf", "mlp", "neumf") kind is SIMDMF_MODEL_MF or SIMDMF_MODEL_LOGISTIC by its
 * loss, k the GMF width (MLP: the width of each embedding) and has_biases 0. */
SIMDMF_API simdmf_status simdmf_model_shape(const simdmf_model* m, int* kind, uint32_t* k, uint32_t* n_users,
                                            uint32_t* n_items, int* has_biases);

/* The range MF predictions are clamped to (training option clip_predictions): [-inf, +inf] when there
 * is none, and always for logistic models. Either out-pointer may be NULL. Thread-safe. */
SIMDMF_API simdmf_status simdmf_model_prediction_range(const simdmf_model* m, float* min_pred, float* max_pred);

/* Sets the range MF predictions are clamped to; -INFINITY / INFINITY turn a side off. Saved with the
 * model. SIMDMF_ERR_INVALID_ARGUMENT for NaN or min_pred > max_pred, SIMDMF_ERR_UNSUPPORTED for a
 * logistic model unless both sides are off. Not thread-safe: no other thread may use m during the call. */
SIMDMF_API simdmf_status simdmf_model_set_prediction_range(simdmf_model* m, float min_pred, float max_pred);

/* Prediction for (user, item): a rating for MF (clamped to the model's prediction range), a probability
 * in (0,1) for logistic. SIMDMF_ERR_OUT_OF_RANGE for an index outside the model. */
SIMDMF_API simdmf_status simdmf_model_predict(const simdmf_model* m, uint32_t user, uint32_t item, float* out);

/* out[j] = prediction for (users[j], items[j]), j < n. Nothing is written when any index is out of range. */
SIMDMF_API simdmf_status simdmf_model_predict_batch(const simdmf_model* m, const uint32_t* users,
                                                    const uint32_t* items, size_t n, float* out);

/* out[i] = prediction for (user, i) for every item i; out holds n_items floats. */
SIMDMF_API simdmf_status simdmf_model_predict_row(const simdmf_model* m, uint32_t user, float* out);

/* The full n_users x n_items prediction matrix, row-major, into out (n_users*n_items floats). */
SIMDMF_API simdmf_status simdmf_model_predict_all(const simdmf_model* m, float* out);

/* Top-n items for a user by score, best first, leaving out the items the user has in `exclude` (may be
 * NULL, typically the training set). Writes up to n items and their predictions (scores may be NULL) and
 * the count written to *n_out. Items rank by the unclamped score, so items whose predictions clamp to
 * the top of the rating range keep their order; equal scores rank by the lower item index. Allocates
 * nothing when scores is given or n <= 256 (exclude's seen-item index is built once, on first use).
 * SIMDMF_ERR_INVALID_ARGUMENT when exclude is not in the model's id space (see the top of this header;
 * checked once per data set and model, then remembered). Filters and batches:
 * simdmf_model_recommend_filtered, simdmf_model_recommend_batch. */
SIMDMF_API simdmf_status simdmf_model_recommend(const simdmf_model* m, uint32_t user, size_t n,
                                                const simdmf_dataset* exclude, uint32_t* items, float* scores,
                                                size_t* n_out);

typedef SIMDMF_INT_ENUM(simdmf_side) { SIMDMF_USERS = 0, SIMDMF_ITEMS = 1 } simdmf_side;

/* Cosine similarity of the factor vectors of two users (side SIMDMF_USERS) or two items (SIMDMF_ERR_UNSUPPORTED
 * for a model without factor tables: gmf, mlp, neumf). A zero vector
 * has similarity 0 with everything. */
SIMDMF_API simdmf_status simdmf_model_similarity(const simdmf_model* m, int side, uint32_t a, uint32_t b,
                                                 float* out);

/* The n users or items most cosine-similar to `index`, itself left out, best first. Writes up to n
 * indices and similarities (sims may be NULL) and the count to *n_out. */
SIMDMF_API simdmf_status simdmf_model_nearest(const simdmf_model* m, int side, uint32_t index, size_t n,
                                              uint32_t* out, float* sims, size_t* n_out);

/* A copy of the k factors of one user or item (out holds k floats), and its bias (0 without biases;
 * bias may be NULL). */
SIMDMF_API simdmf_status simdmf_model_factors(const simdmf_model* m, int side, uint32_t index, float* out,
                                              float* bias);

/* Raw id <-> index through the id map a model inherits from a loaded file. Without a map the raw id
 * is the index. SIMDMF_ERR_NOT_FOUND for an id the model has not seen. */
SIMDMF_API simdmf_status simdmf_model_index(const simdmf_model* m, int side, int64_t raw_id, uint32_t* index);
SIMDMF_API simdmf_status simdmf_model_raw_id(const simdmf_model* m, int side, uint32_t index, int64_t* raw_id);

/* Fold-in: adds a user not seen in training from a few of its ratings, with no retraining. items are the
 * model's item indices; values are ratings (MF) or +1/-1 labels (logistic). The new user's factors and
 * bias minimise the training objective with the item factors fixed (squared loss: exact ridge solution;
 * logistic: Newton's method); l2 weighs the new row like the training option "l2" (per rating).
 * Implicit (SIMDMF_LOSS_IMPLICIT): values are event counts (>= 0, repeated items summed), and the row is
 * iALS's exact solve with every other item an unobserved cell, the model's confidence weighting and
 * l2 scaled as in training (ials_reg_exponent). With
 * n == 0 the new user gets zero factors (the item-bias baseline). raw_id is recorded in the model's user
 * id map when it has one (SIMDMF_ERR_INVALID_ARGUMENT if already there) and is ignored otherwise.
 * *new_user receives the new index (the old n_users). Errors: SIMDMF_ERR_OUT_OF_RANGE (item index),
 * SIMDMF_ERR_INVALID_DATA (non-finite value or bad label), SIMDMF_ERR_UNSUPPORTED (k > 4096, or gmf, mlp,
 * neumf with learned embeddings). GMF, MLP and NeuMF trained with ncf_input = rows read a user's row of
 * the training matrix as their input: fold-in appends the ratings as the new user's row (values as
 * training's: ratings, or +1/-1 labels for the log loss) and changes no parameter; l2 is unused. Not
 * thread-safe: no other thread may use m during the call. */
SIMDMF_API simdmf_status simdmf_model_fold_in_user(simdmf_model* m, const uint32_t* items, const float* values,
                                                   size_t n, double l2, int64_t raw_id, uint32_t* new_user);

/* Writes the model to `path` in the versioned binary format (v2, docs/model_file.md: a directory of
 * sections, each with its CRC-32C, memory-mappable): streamed to a temporary file in the same folder,
 * flushed to disk, then renamed over `path`, so a crash never leaves a half-written model.
 * SIMDMF_ERR_IO on failure (the previous file, if any, is intact). Thread-safe on a const model. */
SIMDMF_API simdmf_status simdmf_model_save(const simdmf_model* m, const char* path);

/* Reads a model file (format v2, or v1 as written by simdmf 0.2 and earlier) into memory; the same as
 * simdmf_model_open(path, 0, out). SIMDMF_ERR_IO (cannot read), SIMDMF_ERR_FORMAT (not a model file,
 * truncated, inconsistent header or section directory), SIMDMF_ERR_VERSION (newer format),
 * SIMDMF_ERR_CHECKSUM (corrupted), SIMDMF_ERR_UNSUPPORTED (a model kind or a required section this
 * version does not know, named in simdmf_last_error()). Sizes are checked against the file before
 * anything is allocated. The caller owns *out. */
SIMDMF_API simdmf_status simdmf_model_load(const char* path, simdmf_model** out);

/* ---------------------------------------------------------------------------------------------- */
/* Evaluation, cross-validation and hyper-parameter tuning                                        */
/* ---------------------------------------------------------------------------------------------- */

/* A result of named numbers ("rmse" -> 0.91, ...), in a fixed order each call below documents. Entries
 * never change after the call that created the report. The caller owns it; a const report may be read
 * from many threads at once. */
typedef struct simdmf_report simdmf_report;

SIMDMF_API void simdmf_report_free(simdmf_report* r);

/* Number of entries. */
SIMDMF_API simdmf_status simdmf_report_size(const simdmf_report* r, size_t* n);

/* Entry `index` (0-based): its name (owned by the report, valid while r lives) and value; either
 * out-pointer may be NULL. SIMDMF_ERR_OUT_OF_RANGE when index >= the size. */
SIMDMF_API simdmf_status simdmf_report_get(const simdmf_report* r, size_t index, const char** name,
                                           double* value);

/* The value of the entry named `name` (exact match); value may be NULL to test for presence.
 * SIMDMF_ERR_NOT_FOUND when the report has no such entry. */
SIMDMF_API simdmf_status simdmf_report_find(const simdmf_report* r, const char* name, double* value);

/* Metrics of a model on held-out ratings `test`, which must be in the model's id space (see the top of
 * this header; load it on its own, then simdmf_dataset_align it to the model), as must `exclude`.
 * The same as simdmf_model_evaluate_ex with flags 0: ratings of users or items the model does not know
 * (cold) are scored with the model's fallback. Entries, in this order:
 *   MF:        "rmse", "mae"                      of the predictions (clamped as simdmf_model_predict)
 *   logistic:  "log_loss", "auc", "accuracy"      (accuracy: P(+1) >= 0.5 counts as predicting +1)
 *   rank_k > 0: "precision@K", "recall@K", "ndcg@K", "map@K" (K written in decimal, e.g. "ndcg@10")
 *              of each user's top-rank_k list (simdmf_model_recommend), leaving out the user's items in
 *              `exclude` (typically the training set; NULL: nothing left out), averaged over the users
 *              with at least one relevant test rating: MF ratings >= threshold, logistic label +1
 *              (threshold is then ignored). Every item of the model not excluded is a candidate.
 *   "ratings"        number of test ratings scored
 *   "cold_ratings"   number of test ratings whose user or item the model does not know
 *   "left_out"       of those, how many were left out (SIMDMF_COLD_LEAVE_OUT), else 0
 *   "ranking_users"  (rank_k > 0 only) number of users the ranking metrics average over
 * A new user's top list ranks the items by the fallback mu + b_i; a new item stays relevant for the
 * ranking metrics but is never a candidate (the candidates are the model's items).
 * An empty `test` gives NaN point metrics (and 0 ranking metrics over 0 users); a NaN metric comes with a
 * note saying why (simdmf_report_note). `exclude` and
 * `threshold` are ignored when rank_k == 0.
 * Errors: SIMDMF_ERR_INVALID_ARGUMENT when test or exclude is not in the model's id space (the message
 * names the side, the index and both ids); SIMDMF_ERR_OUT_OF_RANGE when test (or exclude) is in the
 * index space and has more users or items than a model side with an id map (past a side without one,
 * whose ids are its indices, such indices are new ids: cold); SIMDMF_ERR_INVALID_DATA for a non-finite test value or, for a logistic model, a label other
 * than +1/-1; SIMDMF_ERR_INVALID_ARGUMENT for a NaN threshold with rank_k > 0. The caller owns *out.
 * Thread-safe on a const model and const data sets. */
SIMDMF_API simdmf_status simdmf_model_evaluate(const simdmf_model* m, const simdmf_dataset* test,
                                               const simdmf_dataset* exclude, size_t rank_k,
                                               double threshold, simdmf_report** out);

/* k-fold cross-validation with the trainer's options: the ratings of `data` are dealt at random
 * (reproducibly from seed) into `folds` parts; each part in turn is the test set of a model trained on
 * the others (no validation data, so "patience" does not apply), measured as simdmf_model_evaluate
 * does (ranking metrics with the fold's training ratings excluded, when rank_k > 0). Entries, in this
 * order: for each metric M of one fold (as simdmf_model_evaluate names them, without "ratings",
 * "cold_ratings", "left_out" and "ranking_users"): "M" (mean over the folds) and "M_std" (sample standard deviation); then for each
 * fold i = 1..folds: "fold<i>.M" for every metric, then "fold<i>.epochs" (epochs run). Example for MF
 * without ranking: rmse, rmse_std, mae, mae_std, fold1.rmse, fold1.mae, fold1.epochs, fold2.rmse, ...
 * Folds are trained one at a time, each with the trainer's "threads". The progress callback
 * (simdmf_trainer_set_callback) is called on the calling thread after every epoch of every fold, so
 * never concurrently; `epoch` starts again at 1 with each fold. A non-zero return stops the whole run:
 * the call returns SIMDMF_CANCELLED and *out is NULL. A fold whose training diverges is evaluated with
 * the model training handed back (the last good epoch's). The trainer's options and its history (of
 * the last simdmf_trainer_fit) are left unchanged.
 * Errors: SIMDMF_ERR_INVALID_ARGUMENT (folds < 2, fewer ratings than folds, NaN threshold with
 * rank_k > 0), and those of simdmf_trainer_fit. The caller owns *out. */
SIMDMF_API simdmf_status simdmf_trainer_cross_validate(simdmf_trainer* t, const simdmf_dataset* data,
                                                       unsigned folds, uint64_t seed, size_t rank_k,
                                                       double threshold, simdmf_report** out);

/*
 * Hyper-parameter search over k, lr, l2 and epochs around the trainer's other options (loss, solver,
 * biases, l2_bias, seed, threads, ...; patience and tol are ignored during the search). A random
 * valid_fraction of `train` is held out as validation data (the rest is trained on); each (k, lr, l2)
 * point is trained once up to the largest epoch count and scored at every candidate epoch count by the
 * validation metric (RMSE for squared loss, log-loss for logistic; lower is better). A run stops early
 * once its validation metric has not improved for max(5, epochs / 5) epochs. A run that diverges scores
 * the epochs before it (+inf with none). With schedule "list" the learning rates come from lr_list, so
 * the searched lr has no effect.
 *
 * The search is set by key on the same trainer, with the options of group "tune" (tune_k, tune_lr,
 * tune_l2, tune_epochs: the values searched, each within the bounds of the training option of the same
 * name, n = 0 restoring the default; tune_method, tune_budget, tune_valid_fraction, tune_seed,
 * tune_parallel, tune_extend; listed with simdmf_trainer_set). Their defaults follow the trainer's options at the
 * time of the call (tune_lr and tune_l2 by "loss"); simdmf_trainer_get_array reads the values in effect.
 *
 * On success the trainer's options "k", "lr", "l2" and "epochs" are set to the best run's, so a
 * following simdmf_trainer_fit (on all of `train`) trains the chosen model. Entries, in this order:
 *   "best.k", "best.lr", "best.l2", "best.epochs", "best.score" (validation metric of the best run),
 *   "trials" (runs made), "train_ratings", "valid_ratings" (sizes of the two parts of `train`), then
 *   for each run i = 1..trials in planned order: "trial<i>.k", "trial<i>.lr", "trial<i>.l2",
 *   "trial<i>.epochs" (its best candidate epoch count), "trial<i>.score" (runs added past an edge come
 *   last); then "edge.k", "edge.lr", "edge.l2", "edge.epochs": where the best run sits in what was
 *   searched, extensions included (-1 smallest value, +1 largest, 0 inside, a single value, or an edge
 *   at the option's bound): a non-zero entry says a better point may lie beyond; "extended": runs added.
 * Progress: the progress callback is called once per finished run, not per epoch: epoch = runs done,
 * max_epochs = runs planned so far (it grows as the search extends), valid_metric = the run's score, learning_rate = the run's lr,
 * train_loss = NaN, elapsed_seconds since the search started. With tune_parallel != 1 it is called
 * from worker threads, but never concurrently. A non-zero return stops the search: runs in progress
 * finish, no other starts, and the call returns SIMDMF_CANCELLED with *out NULL and the options
 * unchanged. When every run diverged (no finite score), the call returns SIMDMF_ERR_DIVERGED with *out
 * set to the report and the options unchanged.
 * Errors: SIMDMF_ERR_INVALID_ARGUMENT (too few ratings for a validation split), and those of
 * simdmf_trainer_fit. The trainer's history is left unchanged. The caller owns *out.
 */
SIMDMF_API simdmf_status simdmf_trainer_tune(simdmf_trainer* t, const simdmf_dataset* train, simdmf_report** out);

/* Current values of an array option ("lr_list", "tune_k", "tune_lr", "tune_l2", "tune_epochs"):
 * copies the first min(count, capacity) values into `values` (may be NULL when capacity is 0) and sets
 * *count to the number of values the option holds, so a call with capacity 0 asks for the size.
 * "lr_list" holds 0 values when never set; an unset tune_* array reads as its default.
 * SIMDMF_ERR_UNKNOWN_OPTION for a key that is not an array option. */
SIMDMF_API simdmf_status simdmf_trainer_get_array(const simdmf_trainer* t, const char* key, double* values,
                                                  size_t capacity, size_t* count);

/* Losses, stable values. A model's kind (simdmf_model_shape) is the pair of its member of the model
 * family and its loss: SIMDMF_MODEL_MF is "mf" with SIMDMF_LOSS_SQUARED, SIMDMF_MODEL_LOGISTIC is "mf"
 * with SIMDMF_LOSS_LOGISTIC (training options "model" and "loss"). */
typedef SIMDMF_INT_ENUM(simdmf_loss) {
    SIMDMF_LOSS_SQUARED = 1,  /* squared error; predictions are ratings (clamped to the range)     */
    SIMDMF_LOSS_LOGISTIC = 2, /* cross-entropy on labels +1/-1; predictions are P(label=+1)         */
    SIMDMF_LOSS_IMPLICIT = 3  /* iALS on event counts; predictions are unclamped preference scores  */
} simdmf_loss;

/* The loss a model was trained with (*loss = SIMDMF_LOSS_SQUARED, _LOGISTIC or _IMPLICIT; the kind
 * of an implicit model is SIMDMF_MODEL_MF).
 * SIMDMF_ERR_INVALID_ARGUMENT for a NULL argument. Thread-safe. */
SIMDMF_API simdmf_status simdmf_model_loss(const simdmf_model* m, int* loss);

/* The name of the model's member of the model family, as option "model" spells it ("mf", "gmf", "mlp",
 * "neumf"): a static
 * string the caller must not free, valid for the life of the process. SIMDMF_ERR_INVALID_ARGUMENT for a
 * NULL argument. Thread-safe. */
SIMDMF_API simdmf_status simdmf_model_name(const simdmf_model* m, const char** name);
/* ---------------------------------------------------------------------------------------------- */
/* Id spaces and cold users and items                                                             */
/* ---------------------------------------------------------------------------------------------- */

/* Flag of simdmf_dataset_align, simdmf_model_evaluate_ex and simdmf_model_predict_dataset: leave out
 * the ratings of users or items the model (or reference) does not know, instead of keeping them cold
 * and scoring them with the model's fallback. */
#define SIMDMF_COLD_LEAVE_OUT 1u

/* Re-indexes `ds` into the id space of `model` or of the data set `ref` (exactly one of the two non-NULL;
 * see "Id spaces" at the top of this header): every user and item id the reference knows gets the
 * reference's index. Ids it does not know get new indices after the reference's, in order of first
 * appearance (the result's id map is the reference's extended by them; for a model without maps, the
 * identity map of its indices extended by them), so the result is in the reference's space and those
 * ratings are cold; with SIMDMF_COLD_LEAVE_OUT their ratings are left out instead. *n_unknown (may be
 * NULL) gets the number of ratings naming an id the reference does not know, kept or not. A side of
 * ds without a map (the index space) is kept as it is. Ratings keep their order (those left out apart).
 * ds is not changed. Errors: SIMDMF_ERR_INVALID_ARGUMENT (NULL ds or out, both or neither of model and
 * ref, unknown flag bits). The caller owns *out. Thread-safe on const handles. */
SIMDMF_API simdmf_status simdmf_dataset_align(const simdmf_dataset* ds, const simdmf_model* model,
                                              const simdmf_dataset* ref, unsigned flags, simdmf_dataset** out,
                                              size_t* n_unknown);

/* simdmf_model_evaluate with flags: 0 scores cold test ratings (user or item past the model's, as
 * simdmf_dataset_align makes them) with the model's fallback: mu + b_i for a new user, mu + b_u for a
 * new item, mu for both (0 without biases), clamped or passed through the sigmoid like any prediction;
 * SIMDMF_COLD_LEAVE_OUT leaves them out of every metric. "cold_ratings" counts them either way. Same
 * entries and errors as simdmf_model_evaluate, and SIMDMF_ERR_INVALID_ARGUMENT for unknown flag bits. */
SIMDMF_API simdmf_status simdmf_model_evaluate_ex(const simdmf_model* m, const simdmf_dataset* test,
                                                  const simdmf_dataset* exclude, size_t rank_k, double threshold,
                                                  unsigned flags, simdmf_report** out);

/* Predictions for every rating's (user, item) pair of `ds` (in the model's id space), in order, into out
 * (one float per rating, simdmf_dataset_shape's n_ratings). Cold pairs get the model's fallback (as
 * simdmf_model_evaluate_ex), or NaN with SIMDMF_COLD_LEAVE_OUT. *n_cold (may be NULL) gets the number
 * of cold pairs. Errors: SIMDMF_ERR_INVALID_ARGUMENT (NULL handles or out with ratings, ds not in the
 * model's id space, unknown flag bits), SIMDMF_ERR_OUT_OF_RANGE (as simdmf_model_evaluate); nothing is
 * written on error. Thread-safe on const handles. */
SIMDMF_API simdmf_status simdmf_model_predict_dataset(const simdmf_model* m, const simdmf_dataset* ds,
                                                      unsigned flags, float* out, size_t* n_cold);

/* ---------------------------------------------------------------------------------------------- */
/* Factors in and out: models trained elsewhere (Spark ALS, implicit, LIBMF, numpy)                 */
/* ---------------------------------------------------------------------------------------------- */

/* Factor tables handed to simdmf_model_from_factors. Set struct_size to sizeof(simdmf_factor_tables)
 * (fields may be appended in later versions; a smaller struct_size means the later fields are absent).
 * Row r of the user table is the k floats at user_factors + r * user_stride (stride in floats, >= k;
 * 0 means k); the same for items. Optional arrays are NULL when absent. */
typedef struct simdmf_factor_tables {
    size_t struct_size;
    uint32_t k;                  /* 1..65536                                                      */
    uint32_t n_users, n_items;   /* >= 1                                                          */
    const float* user_factors;   /* n_users rows                                                  */
    size_t user_stride;
    const float* item_factors;   /* n_items rows                                                  */
    size_t item_stride;
    const float* user_bias;      /* NULL, or n_users values (then item_bias is needed too)       */
    const float* item_bias;      /* NULL, or n_items values                                       */
    float global_bias;           /* added to every score (0: none)                                */
    int kind;                    /* SIMDMF_MODEL_MF (0 also means MF) or SIMDMF_MODEL_LOGISTIC   */
    float min_prediction;        /* MF prediction range (clamping); -INFINITY/INFINITY: none; a   */
    float max_prediction;        /* logistic model needs both infinite                            */
    const int64_t* user_ids;     /* NULL, or n_users distinct raw ids (row index -> raw id)       */
    const int64_t* item_ids;     /* NULL, or n_items distinct raw ids                             */
} simdmf_factor_tables;

/* Flags of simdmf_model_from_factors. */
#define SIMDMF_FACTORS_COPY 0   /* the model copies the tables (the caller may free them at once) */
#define SIMDMF_FACTORS_BORROW 1 /* zero copy: the model serves from the caller's factor tables, which
                                 * must stay alive and unchanged until simdmf_model_free; each stride
                                 * must be k rounded up to 16 floats, with zeros past k. A call that
                                 * changes the model (fold-in) copies the tables first. Biases and
                                 * ids are always copied. */

/* Builds a model from factor tables: score(u, i) = global_bias + user_bias[u] + item_bias[i] +
 * user_factors[u] . item_factors[i] (biases 0 when absent), prediction = score clamped to the
 * prediction range (MF) or sigmoid(score) (logistic). Every check of simdmf_model_load applies: sizes,
 * finite values, distinct ids, an interval for the range. Errors: SIMDMF_ERR_INVALID_ARGUMENT (NULL
 * tables or struct_size too small, strides, biases on one side only, a borrowed table not zero-padded),
 * SIMDMF_ERR_OUT_OF_RANGE (k), SIMDMF_ERR_INVALID_DATA (NaN/Inf values, duplicate ids),
 * SIMDMF_ERR_OUT_OF_MEMORY. The caller owns *out. Thread-safe (reads the tables only). */
SIMDMF_API simdmf_status simdmf_model_from_factors(const simdmf_factor_tables* tables, int flags,
                                                   simdmf_model** out);

/* Formats of simdmf_model_import / simdmf_model_export (docs/interop.md gives each layout). */
typedef SIMDMF_INT_ENUM(simdmf_factor_format) {
    SIMDMF_FACTORS_SPARK_JSON = 1, /* JSON lines {"id": .., "features": [..]}: Spark ALSModel.userFactors
                                    * .write.json; a file or a folder of part files per side           */
    SIMDMF_FACTORS_CSV = 2,        /* id,f1,...,fk lines (Spark's concat_ws output quoted or not)       */
    SIMDMF_FACTORS_NPY = 3,        /* numpy .npy: one file per side (float32/float64, 2-D)               */
    SIMDMF_FACTORS_NPZ = 4,        /* numpy .npz with user_factors and item_factors (implicit's save,
                                    * np.savez; np.savez_compressed members are UNSUPPORTED)            */
    SIMDMF_FACTORS_LIBMF = 5       /* LIBMF's model text file (mf-train output)                          */
} simdmf_factor_format;

/* Reads a model trained elsewhere. For SPARK_JSON, CSV and NPY, users and items name the two sides'
 * files (or folders of part files); a folder written by simdmf_model_export may be given as users
 * alone (items NULL). For NPZ and LIBMF, users names the one file and items must be NULL. Raw ids are
 * kept as the model's id maps. Errors: SIMDMF_ERR_IO (unreadable), SIMDMF_ERR_FORMAT (malformed, with
 * the file and line or array named: ragged rows, a k that differs between rows or files),
 * SIMDMF_ERR_INVALID_DATA (NaN/Inf, duplicate ids), SIMDMF_ERR_UNSUPPORTED (compressed npz members,
 * other numpy dtypes). The caller owns *out. Thread-safe. */
SIMDMF_API simdmf_status simdmf_model_import(int format, const char* users, const char* items, simdmf_model** out);

/* Flags of simdmf_model_import_flags. */
#define SIMDMF_IMPORT_MAP 1 /* NPY / NPZ factor arrays in the model's own layout (little-endian float32, C
                             * order, k a multiple of 16, data 64-byte aligned in the file: what numpy
                             * writes in a .npy for such k; an NPZ member only where the zip happens to
                             * place its data so) are not copied: the
                             * model serves from the file mapped read-only, after checking every value.
                             * The file must stay unchanged while the model lives (rewriting it in place,
                             * as np.save over the same path does, can make reads fault); replacing it by
                             * rename is safe. Other arrays and formats are read into memory as without it. */

/* simdmf_model_import with flags (0 or SIMDMF_IMPORT_MAP); errors as simdmf_model_import, and
 * SIMDMF_ERR_INVALID_ARGUMENT for unknown flag bits. The caller owns *out. Thread-safe. */
SIMDMF_API simdmf_status simdmf_model_import_flags(int format, const char* users, const char* items, int flags,
                                                   simdmf_model** out);

/* Writes an MF or logistic MF model's factors: SPARK_JSON, CSV and NPY into the folder `path`
 * (created if missing; users.*, items.*, meta.json, or one .npy per array), NPZ and LIBMF into the file
 * `path`, each atomically. simdmf_model_import of the result gives a bit-identical model. LIBMF's file
 * holds neither biases nor raw ids: such a model is SIMDMF_ERR_UNSUPPORTED there. Errors: SIMDMF_ERR_IO,
 * SIMDMF_ERR_UNSUPPORTED (a model without factor tables, the LIBMF limits, an npz over 4 GB).
 * Thread-safe on a const model. */
SIMDMF_API simdmf_status simdmf_model_export(const simdmf_model* m, int format, const char* path);

/* Zero-copy, read-only access to one side's factor table: *data points at row 0, rows are *stride
 * floats apart (k rounded up to 16), the first *k floats of a row are its factors and the rest are zero;
 * *rows is n_users or n_items. Any out-pointer but data may be NULL. The pointer stays valid while the
 * model lives and is not changed (simdmf_model_fold_in_user may move the tables); never write through it
 * (it may be a caller's borrowed table or a read-only mapping). SIMDMF_ERR_UNSUPPORTED for a model kind
 * without factor tables. Thread-safe on a const model. */
SIMDMF_API simdmf_status simdmf_model_factor_table(const simdmf_model* m, int side, const float** data, size_t* stride,
                                                   uint32_t* rows, uint32_t* k);

/* The same for the biases of one side: *data is NULL and *n 0 for a model without biases; *global_bias
 * (may be NULL) receives the offset added to every score. */
SIMDMF_API simdmf_status simdmf_model_bias_table(const simdmf_model* m, int side, const float** data, size_t* n,
                                                 float* global_bias);

/* ---------------------------------------------------------------------------------------------- */
/* Opening model files: memory-mapped serving                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* Flags of simdmf_model_open (bitwise or). */
#define SIMDMF_OPEN_MMAP 1u      /* serve from a read-only memory mapping of the file, tables not copied */
#define SIMDMF_OPEN_NO_VERIFY 2u /* skip the per-section CRC-32C check (header and directory still checked) */

/* Opens a model file. flags 0: the same as simdmf_model_load (the file is read and its tables copied
 * into memory the model owns).
 * SIMDMF_OPEN_MMAP: the file is memory-mapped read-only and the model's factor and bias tables are the
 * mapping itself, so opening costs no copy and no memory beyond the pages the OS brings in as they are
 * read (a 1 GB model serves its first prediction without reading the rest). predict, predict_batch,
 * predict_row, predict_all, recommend, similarity, nearest, factors, evaluate work as on a loaded model,
 * with bit-identical results; simdmf_model_set_prediction_range changes only the model handle.
 * simdmf_model_fold_in_user copies the tables it changes into memory (copy on write), after which
 * that model no longer uses the mapping for them; the file is never written. The mapping lives until
 * the model is freed. Mapping applies to format v2 on a little-endian CPU; a v1 file (or a big-endian
 * host) is loaded instead, as with flags 0. Do not modify or truncate a mapped file in place: reads
 * of a truncated mapping fault (SIGBUS). Replacing it by rename, as simdmf_model_save does, is safe:
 * the open model keeps the old file's contents.
 * SIMDMF_OPEN_NO_VERIFY: the sections' checksums (and the zero padding of factor rows) are not
 * checked, so opening a large file reads only its header, directory and metadata (with MMAP: nothing
 * of the tables). Every size and offset is still checked against the file, so a damaged file cannot
 * make simdmf read outside it, but corrupted table bytes go unnoticed and serve wrong predictions
 * (possibly NaN). Use it for files whose integrity is assured otherwise (verified once after copying).
 * Errors: those of simdmf_model_load; SIMDMF_ERR_INVALID_ARGUMENT for unknown flag bits. The caller owns
 * *out. Serving from one opened model is thread-safe as for any model. */
SIMDMF_API simdmf_status simdmf_model_open(const char* path, uint32_t flags, simdmf_model** out);

/* ---------------------------------------------------------------------------------------------- */
/* Option registry (added after 0.2.0)                                                            */
/* ---------------------------------------------------------------------------------------------- */

/* What an option holds; stable values, new ones appended. Integers are passed as integral doubles. */
typedef SIMDMF_INT_ENUM(simdmf_option_type) {
    SIMDMF_OPTION_INTEGER = 0, /* simdmf_trainer_set / simdmf_trainer_get                          */
    SIMDMF_OPTION_REAL = 1,    /* simdmf_trainer_set / simdmf_trainer_get                          */
    SIMDMF_OPTION_STRING = 2,  /* simdmf_trainer_set_string / _get_string; one of the allowed values */
    SIMDMF_OPTION_ARRAY = 3    /* simdmf_trainer_set_array / _get_array; elements INTEGER or REAL  */
} simdmf_option_type;

/* One option of the registry, as simdmf_option_info fills it. Fields are only ever appended: the
 * caller sets struct_size to sizeof(simdmf_option_info) as it was compiled, and the library fills the
 * fields that fit in that size (so a caller built against an older header keeps working). Every
 * string is static (valid for the life of the process) and never NULL. */
typedef struct simdmf_option_info {
    size_t struct_size;       /* in: sizeof(simdmf_option_info) of the caller (at least the first
                                 version, through allowed_count)                                      */
    const char* name;         /* the key, e.g. "lr"                                                   */
    const char* group;        /* "train", "sgd", "tune", ... (the options apply to that solver/call)  */
    const char* doc;          /* one line of documentation                                            */
    int type;                 /* simdmf_option_type                                                   */
    int element_type;         /* arrays: SIMDMF_OPTION_INTEGER or _REAL; otherwise == type            */
    double lower, upper;      /* bounds of a number or of each array element (may be -inf / +inf);
                                 strings: 0, 0                                                        */
    int lower_open;           /* 1: the value must be > lower; 0: >= lower                            */
    int upper_open;           /* 1: the value must be < upper; 0: <= upper                            */
    double default_value;     /* numbers: the static default (the default with every other option at
                                 its default); otherwise NaN                                          */
    const char* default_string; /* strings: the static default; otherwise ""                          */
    size_t default_count;     /* arrays: values in the static default (simdmf_option_default_array)   */
    const char* default_text; /* every default with its condition, as simdmf.h lists it, e.g.
                                 "0.5 if solver = gd; 0.05 if loss = logistic; else 0.01"             */
    int has_conditional_default; /* 1 when the default depends on other options (read the default in
                                 effect with simdmf_trainer_default / _default_string / _default_array) */
    size_t allowed_count;     /* strings: number of allowed values (simdmf_option_allowed); else 0    */
} simdmf_option_info;

/* Number of options the linked library knows (training and search keys). Thread-safe. */
SIMDMF_API simdmf_status simdmf_option_count(size_t* count);
/* Fills `info` (set info->struct_size first) for option `index` in [0, count): options come in
 * registry order, grouped. SIMDMF_ERR_OUT_OF_RANGE for an index past the end; SIMDMF_ERR_INVALID_ARGUMENT
 * for NULL or a struct_size smaller than the first version of the struct. Thread-safe. */
SIMDMF_API simdmf_status simdmf_option_info_get(size_t index, simdmf_option_info* info);
/* Index of the option named `key`: SIMDMF_ERR_UNKNOWN_OPTION when the library does not know it.
 * Thread-safe. */
SIMDMF_API simdmf_status simdmf_option_find(const char* key, size_t* index);
/* The j-th allowed value of string option `index` (static storage): SIMDMF_ERR_OUT_OF_RANGE for j past
 * allowed_count or an index past the end; SIMDMF_ERR_INVALID_ARGUMENT for an option that is not a string
 * option. Thread-safe. */
SIMDMF_API simdmf_status simdmf_option_allowed(size_t index, size_t j, const char** value);
/* The static default of array option `index`, read as simdmf_trainer_get_array reads values: copies
 * min(capacity, *count) values and sets *count to the number of values (capacity 0 asks for the size).
 * SIMDMF_ERR_INVALID_ARGUMENT for an option that is not an array option. Thread-safe. */
SIMDMF_API simdmf_status simdmf_option_default_array(size_t index, double* values, size_t capacity, size_t* count);

/* The default in effect for option `key` given the trainer's other options (e.g. "lr" for its loss and
 * solver), whether or not `key` itself has been set: for numbers, strings (static storage) and arrays
 * (as simdmf_trainer_get_array). SIMDMF_ERR_UNKNOWN_OPTION for an unknown key or one of another type.
 * Thread-safe with other readers of `t`. */
SIMDMF_API simdmf_status simdmf_trainer_default(const simdmf_trainer* t, const char* key, double* value);
SIMDMF_API simdmf_status simdmf_trainer_default_string(const simdmf_trainer* t, const char* key, const char** value);
SIMDMF_API simdmf_status simdmf_trainer_default_array(const simdmf_trainer* t, const char* key, double* values,
                                                      size_t capacity, size_t* count);

/* ---- Serving into caller buffers: batches, filters, no allocation per call ----
 *
 * The calls below write into the caller's arrays and allocate nothing on the heap per call: the
 * one-user calls never (when `scores`/`sims` are given or n <= 256), the batch calls once their
 * simdmf_scratch holds what (model, batch size, n) needs (it grows on first use and keeps its memory).
 * simdmf_model_predict, _predict_batch, _predict_row and simdmf_model_recommend allocate nothing either
 * (simdmf_model_recommend with an exclude data set builds that data set's seen-item index once, on
 * first use). Memory is bounded by the batch and n, never by users x items: items are scored a block at
 * a time (for a batch, the block packed once and scored for all users by a small GEMM kernel), each
 * user's best n kept in a bounded heap in the output arrays, and only those n turned into predictions.
 * Ties rank by the lower item index.
 *
 * Threads: a model may serve from any number of threads at once (loaded or opened with
 * SIMDMF_OPEN_MMAP), as long as no thread modifies it (simdmf_model_set_prediction_range,
 * simdmf_model_fold_in_user, simdmf_model_free); a scratch serves one call at a time, so give each
 * thread its own. Tested under ThreadSanitizer (tests/test_concurrency.cpp). */

/* Working memory for the batch calls, made once per thread and reused. The caller owns *out and frees
 * it with simdmf_scratch_free. Errors: SIMDMF_ERR_INVALID_ARGUMENT (out NULL), SIMDMF_ERR_OUT_OF_MEMORY. */
typedef struct simdmf_scratch simdmf_scratch;
SIMDMF_API simdmf_status simdmf_scratch_create(simdmf_scratch** out);
/* Frees a scratch; NULL is accepted. Not while a call uses it. */
SIMDMF_API void simdmf_scratch_free(simdmf_scratch* s);
/* Bytes the scratch holds now (it grows to the largest call made with it). */
SIMDMF_API simdmf_status simdmf_scratch_bytes(const simdmf_scratch* s, size_t* out);

/* Which items a top-N list may hold. Zero-initialise it, set struct_size to sizeof(simdmf_filter)
 * (fields may be appended later; a smaller struct_size is SIMDMF_ERR_INVALID_ARGUMENT) and set what you
 * need. Every list is ascending and without repeats (SIMDMF_ERR_INVALID_ARGUMENT otherwise). The
 * filter and its arrays are borrowed for the call only. */
typedef struct simdmf_filter {
    size_t struct_size;
    const simdmf_dataset* exclude;  /* each user's items in this data set are left out (or NULL)      */
    const uint64_t* seen_offsets;   /* or the caller's lists, CSR: user u's items left out are        */
    const uint32_t* seen_items;     /* seen_items[seen_offsets[u] .. seen_offsets[u+1]) for u <        */
    uint32_t seen_users;            /* seen_users (seen_offsets has seen_users + 1 entries); not with  */
                                    /* exclude                                                        */
    const uint32_t* allow;          /* non-NULL: only these n_allow items (each < n_items) may appear  */
    size_t n_allow;
    const uint32_t* deny;           /* these n_deny items never appear (any value)                     */
    size_t n_deny;
} simdmf_filter;

/* Top-n items for one user, as simdmf_model_recommend, filtered by f (NULL: no filter). Writes up to n
 * items and their predictions (scores may be NULL) and the count to *n_out. Allocates nothing when
 * scores is given or n <= 256. Errors: SIMDMF_ERR_INVALID_ARGUMENT (NULL m or n_out, items NULL with
 * n > 0, a bad filter), SIMDMF_ERR_OUT_OF_RANGE (user, an allowed item). Thread-safe on a const model. */
SIMDMF_API simdmf_status simdmf_model_recommend_filtered(const simdmf_model* m, uint32_t user, size_t n,
                                                         const simdmf_filter* f, uint32_t* items, float* scores,
                                                         size_t* n_out);

/* Top-n items for each of users[0 .. n_users), filtered by f (NULL: none): user b's list at
 * items + b*n and scores + b*n (scores may be NULL), its length in counts[b]. s may be NULL (the call
 * then allocates its working memory). The result for each user is that of simdmf_model_recommend_filtered
 * up to float rounding (a batch sums scores in another order). Errors: as recommend_filtered, and
 * SIMDMF_ERR_INVALID_ARGUMENT for NULL users, items or counts with n_users > 0; nothing is written for
 * any user when one index is out of range. Thread-safe on a const model with one scratch per thread. */
SIMDMF_API simdmf_status simdmf_model_recommend_batch(const simdmf_model* m, const uint32_t* users, size_t n_users,
                                                      size_t n, const simdmf_filter* f, simdmf_scratch* s,
                                                      uint32_t* items, float* scores, size_t* counts);

typedef SIMDMF_INT_ENUM(simdmf_metric) { SIMDMF_METRIC_COSINE = 0, SIMDMF_METRIC_DOT = 1 } simdmf_metric;

/* The n users (side SIMDMF_USERS) or items most similar to each of queries[0 .. n_queries) by cosine
 * (as simdmf_model_similarity) or dot product of the factor rows, the query itself left out, best first
 * (ties by lower index): query b's at out + b*n, sims + b*n (sims may be NULL), its length in
 * counts[b]. s may be NULL (the call then allocates). Errors: SIMDMF_ERR_INVALID_ARGUMENT (NULL
 * pointers, bad side or metric), SIMDMF_ERR_OUT_OF_RANGE (a query), SIMDMF_ERR_UNSUPPORTED (a model
 * without factor tables). Thread-safe on a const model with one scratch per thread. */
SIMDMF_API simdmf_status simdmf_model_nearest_batch(const simdmf_model* m, int side, int metric,
                                                    const uint32_t* queries, size_t n_queries, size_t n,
                                                    simdmf_scratch* s, uint32_t* out, float* sims, size_t* counts);
/* ---------------------------------------------------------------------------------------------- */
/* Ranking protocols for implicit feedback                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* Split kinds of simdmf_dataset_split_by (values never renumbered). */
#define SIMDMF_SPLIT_RANDOM 0u              /* a uniformly random `fraction` of the ratings (simdmf_dataset_split) */
#define SIMDMF_SPLIT_PER_USER_FRACTION 1u   /* each user with c >= 2 ratings: round(c * fraction) of them, at most
                                               c - 1, chosen at random                                              */
#define SIMDMF_SPLIT_LEAVE_ONE_OUT_LATEST 2u /* each user with >= 2 ratings: the latest by timestamp (ties: the later
                                               line); fraction ignored; INVALID_ARGUMENT without timestamps     */
#define SIMDMF_SPLIT_LEAVE_ONE_OUT_RANDOM 3u /* each user with >= 2 ratings: one chosen at random; fraction ignored */

/* Splits ds into (train, test) by `kind` (SIMDMF_SPLIT_*), reproducibly from seed; both parts keep ds's
 * dimensions, id maps and timestamps, and list their ratings in ds's order. simdmf_dataset_load keeps a
 * file's timestamps when every line has one (MovieLens formats). Errors: SIMDMF_ERR_INVALID_ARGUMENT
 * (NULL handles, train == test, unknown kind, fraction not in (0, 1) for the kinds that use it,
 * leave-one-out by latest without timestamps). The caller owns *train and *test (NULL on error).
 * Thread-safe on a const ds. */
SIMDMF_API simdmf_status simdmf_dataset_split_by(const simdmf_dataset* ds, unsigned kind, double fraction,
                                                 uint64_t seed, simdmf_dataset** train, simdmf_dataset** test);

/* The ranking evaluation of issue 15's protocols, with the popularity baseline beside the model's figures.
 * `test` and `train` must be in the model's id space (as simdmf_model_evaluate_ex; `train` is required:
 * its items are excluded from the top lists and the baseline is computed from it). A test rating is
 * relevant when its value >= threshold (logistic models: label +1); for implicit events pass 0.
 * Entries, in this order:
 *   point metrics as simdmf_model_evaluate ("rmse", "mae" or "log_loss", "auc", "accuracy"),
 *   "precision@K", "recall@K", "ndcg@K", "map@K"   over every item not in the user's training items,
 *   negatives > 0: "sampled_hr@K", "sampled_ndcg@K": each relevant test event of a known user ranked
 *              against `negatives` distinct items the user has in neither train nor test (drawn from a
 *              stream seeded by seed and the user, so any thread count gives the same figures; the NCF
 *              paper's protocol uses 99); the rank counts the negatives scoring above the event's item
 *              and those tying with a smaller item index; HR@K = fraction with rank < K, NDCG@K = mean of
 *              1/log2(rank + 2) over rank < K,
 *   "ratings", "cold_ratings", "left_out", "ranking_users", ("sampled_cases" with negatives > 0),
 *   then "popularity.M" for each ranking metric M above: the same measure of the baseline that ranks
 *              items by their number of training ratings (ties to the smaller index).
 * A metric that is undefined is NaN and the report carries a note saying why (simdmf_report_note).
 * Errors: as simdmf_model_evaluate_ex, and SIMDMF_ERR_INVALID_ARGUMENT for NULL train or rank_k == 0.
 * The caller owns *out. Thread-safe on a const model and const data sets. */
SIMDMF_API simdmf_status simdmf_model_evaluate_ranking(const simdmf_model* m, const simdmf_dataset* test,
                                                       const simdmf_dataset* train, size_t rank_k,
                                                       double threshold, size_t negatives, uint64_t seed,
                                                       unsigned flags, simdmf_report** out);

/* Notes of a report: one sentence per metric that is undefined (NaN), saying why (e.g. "auc is undefined:
 * the test set has only positive labels ..."). *count gets their number (0 for reports of other calls,
 * or when every metric is defined). */
SIMDMF_API simdmf_status simdmf_report_note_count(const simdmf_report* r, size_t* count);
/* Note `index` (0-based; owned by the report, valid while r lives). SIMDMF_ERR_OUT_OF_RANGE past the end. */
SIMDMF_API simdmf_status simdmf_report_note(const simdmf_report* r, size_t index, const char** text);

/* ---------------------------------------------------------------------------------------------- */
/* Raw ids as text, load warnings (added after 0.2.0)                                             */
/* ---------------------------------------------------------------------------------------------- */

/* What the raw ids of one side of a data set or model are. Stable values. */
typedef SIMDMF_INT_ENUM(simdmf_id_kind) {
    SIMDMF_IDS_INDICES = 0, /* no id map: the raw id is the index (LIBMF files, triples, dense)     */
    SIMDMF_IDS_INTEGER = 1, /* integer raw ids (int64), e.g. MovieLens user 196                    */
    SIMDMF_IDS_STRING = 2   /* text raw ids, e.g. "USER_894" or a hash (integers among them are
                               their decimal text)                                                  */
} simdmf_id_kind;

/* The kind of raw ids of one side (SIMDMF_USERS or SIMDMF_ITEMS) into *kind. Thread-safe. */
SIMDMF_API simdmf_status simdmf_dataset_id_kind(const simdmf_dataset* ds, int side, int* kind);
SIMDMF_API simdmf_status simdmf_model_id_kind(const simdmf_model* m, int side, int* kind);

/* Index of the raw id given as text (NUL-terminated): any kind of map ("196" finds integer id 196;
 * without a map, a decimal index below the side's count). SIMDMF_ERR_NOT_FOUND for an id the data set
 * or model does not know (message with the id, control bytes escaped). Thread-safe. */
SIMDMF_API simdmf_status simdmf_dataset_index_text(const simdmf_dataset* ds, int side, const char* id,
                                                   uint32_t* index);
SIMDMF_API simdmf_status simdmf_model_index_text(const simdmf_model* m, int side, const char* id,
                                                 uint32_t* index);

/* The raw id of `index` as text, written NUL-terminated into buf (capacity bytes, truncated to fit
 * when smaller, as snprintf does; buf may be NULL when capacity is 0); *length (may be NULL) receives
 * the id's length without the NUL, so a call with capacity 0 asks for the size. Ids are at most 256
 * bytes. SIMDMF_ERR_OUT_OF_RANGE for an index past the side. Thread-safe. */
SIMDMF_API simdmf_status simdmf_dataset_id_text(const simdmf_dataset* ds, int side, uint32_t index, char* buf,
                                                size_t capacity, size_t* length);
SIMDMF_API simdmf_status simdmf_model_id_text(const simdmf_model* m, int side, uint32_t index, char* buf,
                                              size_t capacity, size_t* length);

/* A data set from n (user id, item id, value) triples whose ids are text (NUL-terminated strings;
 * integers such as "196" are read as integer ids, anything else makes that side's ids strings).
 * Indices are given in order of first appearance; a repeated (user, item) pair is
 * SIMDMF_ERR_INVALID_DATA naming both ids; an id that is not a valid string id (empty, over 256 bytes,
 * blanks or control bytes) is SIMDMF_ERR_INVALID_DATA naming its position; values must be finite. The
 * caller owns *out; the strings are copied. */
SIMDMF_API simdmf_status simdmf_dataset_from_text_triples(const char* const* users, const char* const* items,
                                                          const float* values, size_t n, simdmf_dataset** out);

/* Warnings recorded when the data set was loaded by simdmf_dataset_load: fields ignored, timestamps on
 * only some lines, values that look like counts or are implausible for the format, repeated lines
 * merged. Each names the file and what would read it right. *count receives their number; warning
 * `index` (static for the life of the data set) is set into *text. SIMDMF_ERR_OUT_OF_RANGE for an index
 * past the end. Data sets made any other way have none. Thread-safe. */
SIMDMF_API simdmf_status simdmf_dataset_warning_count(const simdmf_dataset* ds, size_t* count);
SIMDMF_API simdmf_status simdmf_dataset_warning(const simdmf_dataset* ds, size_t index, const char** text);

/* Warnings of the trainer's last simdmf_trainer_fit / _fit_take (cleared when the next one starts): data
 * that trains a trivial model, e.g. every training value the same, or one class only for logistic
 * loss (its log-loss and accuracy then say nothing; positive-only feedback needs negatives or an
 * implicit-feedback model). The text is valid until the next fit or simdmf_trainer_free. Same
 * errors as simdmf_dataset_warning. Not thread-safe with a fit on the same trainer. */
SIMDMF_API simdmf_status simdmf_trainer_warning_count(const simdmf_trainer* t, size_t* count);
SIMDMF_API simdmf_status simdmf_trainer_warning(const simdmf_trainer* t, size_t index, const char** text);

/* ---------------------------------------------------------------------------------------------- */
/* Quantized tables                                                                               */
/* ---------------------------------------------------------------------------------------------- */

/* The table type an MF model scores with; stable values. fp16: IEEE half precision. int8: one signed
 * byte per factor in [-127, 127] with a float scale per row (value = byte * scale, scale = the row's
 * max |x| / 127). Both user and item tables are quantized; rows are padded to 32 bytes. */
typedef SIMDMF_INT_ENUM(simdmf_table_type) {
    SIMDMF_TABLE_FP32 = 0,
    SIMDMF_TABLE_FP16 = 1,
    SIMDMF_TABLE_INT8 = 2
} simdmf_table_type;

/* Quantizes an MF model's factor tables to `table` (SIMDMF_TABLE_FP32 drops the quantized tables
 * again). From then on every prediction, top-N list, evaluation and batch of `m` scores with the
 * quantized tables (the kernels of the active SIMD level: F16C, AVX2 maddubs, AVX-512 VNNI where the CPU
 * has it, NEON); simdmf_model_save writes them as sections of the model file (docs/model_file.md) and
 * simdmf_model_open reads and memory-maps them like the fp32 ones. keep_fp32 = 1 keeps the fp32 tables
 * too (needed for exact re-ranking, similarity, factor access, export and fold-in; the file then holds
 * both); keep_fp32 = 0 frees them (those calls then answer SIMDMF_ERR_UNSUPPORTED). The model keeps
 * ownership of everything. Errors: SIMDMF_ERR_INVALID_ARGUMENT (NULL, unknown table, keep_fp32 not 0 or
 * 1), SIMDMF_ERR_UNSUPPORTED (not an MF model; a model that already dropped its fp32 tables asked for
 * another type), SIMDMF_ERR_OUT_OF_MEMORY. Not thread-safe with any other call on `m`. */
SIMDMF_API simdmf_status simdmf_model_quantize(simdmf_model* m, int table, int keep_fp32);

/* The table type `m` scores with (simdmf_table_type; SIMDMF_TABLE_FP32 for models of other kinds) into
 * *table, and into *has_fp32 (may be NULL) 1 when the model holds fp32 factor tables. Errors:
 * SIMDMF_ERR_INVALID_ARGUMENT (NULL m or table). Thread-safe. */
SIMDMF_API simdmf_status simdmf_model_table(const simdmf_model* m, int* table, int* has_fp32);

/* Exact re-ranking for a quantized model that kept its fp32 tables: with factor >= 2, each top-N list
 * (simdmf_model_recommend, _recommend_filtered, _recommend_batch) takes factor * n candidates (at most
 * 4,096) from the quantized scan and returns the best n of them re-scored in fp32; 0 or 1 turns it off
 * (the default). The factor is saved with the quantized tables (simdmf_model_save; model file metadata
 * `rerank`) and read back by simdmf_model_load / _open; files without it serve without re-ranking. The
 * CLI's `simdmf recommend --rerank N` and `convert-model --rerank N` set it. No effect on unquantized
 * models (nothing is saved for them) or those without fp32
 * tables. Errors: SIMDMF_ERR_INVALID_ARGUMENT (NULL), SIMDMF_ERR_UNSUPPORTED (not an MF model),
 * SIMDMF_ERR_OUT_OF_RANGE (factor > 1024). Not thread-safe with serving calls on `m`. */
SIMDMF_API simdmf_status simdmf_model_set_rerank(simdmf_model* m, uint32_t factor);

#ifdef __cplusplus
}
#endif

#endif /* SIMDMF_SIMDMF_H */
