#include "run_model.hpp"

template int typenet::cli::run_model<typenet::models::resnet56>(const typenet::train::train_config&);
