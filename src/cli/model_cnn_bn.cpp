#include "run_model.hpp"

template int typenet::cli::run_model<typenet::models::cifar_cnn_bn>(const typenet::train::train_config&);
