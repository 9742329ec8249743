// typenet/typenet.hpp - the umbrella header: shapes, the layer concept, every layer, the
// network, losses, optimizers and schedules, the reference models, data sources and loaders,
// evaluate, fit with its callbacks, predict, and checkpoints.
#pragma once

#include "typenet/callbacks.hpp"
#include "typenet/data/cifar100.hpp"
#include "typenet/data/image_folder.hpp"
#include "typenet/data/loader.hpp"
#include "typenet/data/mnist.hpp"
#include "typenet/data/source.hpp"
#include "typenet/errors.hpp"
#include "typenet/evaluate.hpp"
#include "typenet/fit.hpp"
#include "typenet/io/checkpoint.hpp"
#include "typenet/kernels.hpp"
#include "typenet/layer.hpp"
#include "typenet/layers.hpp"
#include "typenet/loss.hpp"
#include "typenet/models.hpp"
#include "typenet/net.hpp"
#include "typenet/optim.hpp"
#include "typenet/predict.hpp"
#include "typenet/residual.hpp"
#include "typenet/rng.hpp"
#include "typenet/schedule.hpp"
#include "typenet/shape.hpp"
#include "typenet/tensor.hpp"
#include "typenet/train/npz_io.hpp"
