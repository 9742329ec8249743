// typenet/layers.hpp - every built-in layer.
#pragma once

#include "typenet/layers/activation.hpp"
#include "typenet/layers/batch_norm.hpp"
#include "typenet/layers/batch_renorm.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/conv_norm.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/dropout.hpp"
#include "typenet/layers/group_norm.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/pool.hpp"
