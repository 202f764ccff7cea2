// Training of the neural CF models (GMF, MLP, NeuMF; lib/models/ncf.hpp): mini-batch Adam or SGD on
// the squared loss (ratings) or the log loss (positives plus sampled unseen items), with the epoch
// rules of MF (history, callback, tolerance, patience + restore_best, divergence handing back the
// last good epoch).
//
// Threads (option "threads", 0: the hardware thread count; at most ncf_batch): every mini-batch is cut
// into `threads` contiguous slices, each slice's forward and backward pass run on its own workspace
// and dense-layer gradient arrays, on persistent threads. Then, on the calling thread and in slice
// order, the slices' embedding gradient rows are added (pair by pair, in the batch's order, as one
// thread does) and their dense-layer gradients summed (slice 0, + slice 1, + ...); the optimizer step
// is the one thread's. What is deterministic: the same seed, data, options, SIMD level and thread
// count give a bit-identical model (the work of a slice and the order of every sum do not depend on
// which thread ran it or when; threads the system refuses are done without by the caller, with the
// same slices, so the result depends on the count asked for, not the count started). What is not:
// different thread counts give models that differ in float rounding (the dense layers' gradient sums
// are grouped by slice, and dropout masks come from one stream per slice); so do different SIMD levels.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/ncf.hpp"
#include "solvers/trainer.hpp"

namespace simdmf {

struct NcfTrainResult : RunRecord {  // as TrainResult (the epoch rules are the same EpochControl's)
    NCFModel model;
};

// opt.model is gmf, mlp or neumf. `init` (may be null) replaces the seeded initialisation (NeuMF from
// pretrained GMF and MLP: neumf_from): its kind must be opt.model, its users and items those of `train`
// (the same ids: INVALID_ARGUMENT otherwise), its shape is kept (opt's k and ncf_layers / activation /
// slope are ignored; the model's train_options record the shape it has). The optimizer state starts at
// zero. Throws Error on invalid data or options.
NcfTrainResult train_ncf(const TrainOptions& opt, const Ratings& train, const Ratings* valid,
                         const EpochCallback& callback = {}, const NCFModel* init = nullptr);

// NeuMF initialised from a trained GMF and MLP of the same data (He et al. 2017, 3.4.1): their
// embeddings and tower copied, the output unit [alpha h_gmf, (1 - alpha) h_mlp] with bias
// alpha c_gmf + (1 - alpha) c_mlp. INVALID_ARGUMENT when the two do not fit together.
NCFModel neumf_from(const NCFModel& gmf, const NCFModel& mlp, double alpha);

// opt with the architecture options (k, ncf_layers, ncf_activation, ncf_slope) set to m's shape.
TrainOptions with_shape_of(const TrainOptions& opt, const NCFModel& m);

}  // namespace simdmf
