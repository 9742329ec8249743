#include "models.hpp"
#include "typenet/models.hpp"
#include "trainer.hpp"

namespace typenet::cli {
int run_cnn_bn(const train::train_config& c) { return train::trainer<models::cifar_cnn_bn>(c, "cnn-bn").run(); }
}  // namespace typenet::cli
