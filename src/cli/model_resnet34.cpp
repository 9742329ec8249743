#include "models.hpp"
#include "typenet/models.hpp"
#include "trainer.hpp"

namespace typenet::cli {
int run_resnet34(const train::train_config& c) { return train::trainer<models::resnet34>(c, "resnet34").run(); }
}  // namespace typenet::cli
