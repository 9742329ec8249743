#include "models.hpp"
#include "typenet/models.hpp"
#include "trainer.hpp"

namespace typenet::cli {
int run_cnn_nobn(const train::train_config& c) { return train::trainer<models::cifar_cnn_nobn>(c, "cnn-nobn").run(); }
}  // namespace typenet::cli
