// The definition of run_model<Net> (models.hpp), for the generated model_TYPE.cpp alone: a file that
// saw it and took run_model<Net> for every network (as models.cpp does) would instantiate every
// network's training.
#pragma once

#include "models.hpp"
#include "trainer.hpp"

namespace typenet::cli {
template <class Net>
int run_model(const train::train_config& c, dist::communicator* comm) {
    return train::trainer<Net>(c, c.model, comm).run();
}
}  // namespace typenet::cli
