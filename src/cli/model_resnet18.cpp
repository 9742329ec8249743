#include "models.hpp"
#include "typenet/models.hpp"
#include "trainer.hpp"

namespace typenet::cli {
int run_resnet18(const train::train_config& c) { return train::trainer<models::resnet18>(c, "resnet18").run(); }
}  // namespace typenet::cli
