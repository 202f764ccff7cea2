// Training of the neural CF models (GMF, MLP, NeuMF; lib/models/ncf.hpp): mini-batch Adam or SGD on
// the squared loss (ratings) or the log loss (positives plus sampled unseen items), with the epoch
// rules of MF (history, callback, tolerance, patience + restore_best, divergence handing back the
// last good epoch). Single-threaded: the same seed gives a bit-identical model at a given SIMD level.
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
