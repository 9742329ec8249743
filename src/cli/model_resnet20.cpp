#include "models.hpp"
#include "typenet/models.hpp"
#include "trainer.hpp"

namespace typenet::cli {
int run_resnet20(const train::train_config& c) { return train::trainer<models::resnet20>(c, "resnet20").run(); }
}  // namespace typenet::cli
