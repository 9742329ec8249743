// typenet/typenet.hpp - the umbrella header: shapes, the layer concept, every layer, the
// network, losses and the reference models.
#pragma once

#include "typenet/errors.hpp"
#include "typenet/kernels.hpp"
#include "typenet/layer.hpp"
#include "typenet/layers.hpp"
#include "typenet/loss.hpp"
#include "typenet/models.hpp"
#include "typenet/net.hpp"
#include "typenet/residual.hpp"
#include "typenet/rng.hpp"
#include "typenet/shape.hpp"
#include "typenet/tensor.hpp"
