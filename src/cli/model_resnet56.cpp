#include "models.hpp"
#include "typenet/models.hpp"
#include "trainer.hpp"

namespace typenet::cli {
int run_resnet56(const train::train_config& c) { return train::trainer<models::resnet56>(c, "resnet56").run(); }
}  // namespace typenet::cli
