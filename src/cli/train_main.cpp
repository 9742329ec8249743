// typenet-train: trains a CIFAR-10 network. See --help and docs/training.md.
#include <cstdio>
#include <exception>
#include <string>

#include "models.hpp"
#include "typenet/data/cifar10.hpp"
#include "typenet/io/checkpoint.hpp"
#include "config.hpp"
#include "interrupt.hpp"

int main(int argc, char** argv) {
    using namespace typenet;
    try {
        auto cfg = train::parse_command_line(argc, argv);
        if (!cfg) return train::exit_ok;
        if (cfg->eval_only && !cfg->model_given) {  // the checkpoint names its network
            cfg->model = io::read_checkpoint(*cfg->checkpoint).network;
            if (cfg->model.empty()) throw train::config_error("--eval-only: " + cfg->checkpoint->string() +
                                                              " names no network; give --model");
        }
        train::install_interrupt_handlers();  // SIGINT/SIGTERM: finish the step, write last.ckpt, exit 128 + signal
        for (const auto& m : cli::model_registry())
            if (cfg->model == m.name) return m.run(*cfg);
        throw train::config_error("--model: unknown model '" + cfg->model + "' (choose one of: " + cli::model_names() + ")");
    } catch (const train::config_error& e) {
        std::fprintf(stderr, "typenet-train: %s\n", e.what());
        return train::exit_bad_input;
    } catch (const data::data_error& e) {
        std::fprintf(stderr, "typenet-train: data: %s\n", e.what());
        return train::exit_bad_input;
    } catch (const io::checkpoint_error& e) {
        std::fprintf(stderr, "typenet-train: checkpoint: %s\n", e.what());
        return train::exit_bad_input;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "typenet-train: error: %s\n", e.what());
        return 1;
    }
}
