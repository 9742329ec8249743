// typenet/typenet.hpp - the umbrella header: shapes, the layer concept, every layer, the
// network, losses and the reference models.
#pragma once

#include "typenet/data/cifar100.hpp"
#include "typenet/data/image_folder.hpp"
#include "typenet/data/mnist.hpp"
#include "typenet/data/source.hpp"
#include "typenet/errors.hpp"
#include "typenet/evaluate.hpp"
#include "typenet/kernels.hpp"
#include "typenet/layer.hpp"
#include "typenet/layers.hpp"
#include "typenet/loss.hpp"
#include "typenet/models.hpp"
#include "typenet/net.hpp"
#include "typenet/optim.hpp"
#include "typenet/residual.hpp"
#include "typenet/rng.hpp"
#include "typenet/schedule.hpp"
#include "typenet/shape.hpp"
#include "typenet/tensor.hpp"
