// src/cli/config.hpp (private to the tools) - everything a training run is made of, the recipes, and the
// typenet-train command line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "typenet/layer.hpp"
#include "typenet/optim.hpp"
#include "typenet/schedule.hpp"

namespace typenet::train {

// A bad command line or configuration: the message says which flag and why.
class config_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// typenet-train's exit codes, and 128 + the signal when SIGINT or SIGTERM stopped it.
inline constexpr int exit_ok = 0, exit_bad_input = 2, exit_diverged = 3;

enum class divergence_policy { stop, continue_run };

struct train_config {
    std::string model = "cnn-bn";
    std::string recipe = "baseline";
    // optimisation
    optimizer_config optimizer{};
    schedule_config schedule{};
    std::size_t epochs = 2;
    std::size_t batch = 128;
    double label_smoothing = 0.0;
    double clip_grad_norm = 0.0;  // 0 = off
    double bn_momentum = 0.1;
    std::size_t bn_group = 0;  // batch-norm statistics over groups of this many samples; 0 = the batch
    renorm_schedule renorm{};  // batch renormalisation's clipping limits over steps (the paper's ramp)
    std::string bn_sync = "global";  // under mpirun: global, local or group:K (fit.hpp's bn_sync_mode)
    std::string init = "kaiming-normal";  // weight initialisation (init.hpp); He et al. for ReLU networks
    // data
    bool augment = false;
    std::size_t cutout = 0;  // side of the cutout square (pipeline.hpp); 0 = off
    bool drop_last = false;
    std::size_t limit_train = 0;  // 0 = all
    std::size_t limit_test = 0;
    std::size_t val_split = 0;    // training images held out for validation (seeded, per class); 0 = validate on the test set
    bool test_every_epoch = false;  // with val_split: the test set after every epoch, not only at the end
    std::size_t early_stop = 0;   // with val_split: stop after this many epochs without a better validation accuracy; 0 = off
    std::optional<std::filesystem::path> data_dir;
    // run
    std::uint64_t seed = 0;
    std::size_t threads = 0;  // 0 = all cores (under mpirun: the cores shared among this machine's ranks)
    std::size_t check_replicas = 0;  // under mpirun: compare the replicas every this many steps; 0 = never
    std::size_t grad_bucket_kib = 256;  // under mpirun: gradient buckets (fit_options::grad_bucket_bytes); 0 = after backward
    bool grad_progress_thread = true;  // under mpirun: a thread drives the bucket sums (dist::sum_progress)
    std::string simd = "auto";
    bool winograd = true;  // 3x3 convolutions by Winograd (kernels::set_winograd); changes last bits only
    std::filesystem::path out = "runs/default";
    bool resume = false;
    bool overwrite = false;  // start afresh in an --out that holds a run (else that is an error)
    bool eval_only = false;
    std::optional<std::filesystem::path> checkpoint;
    std::size_t eval_batch = 0;       // images per evaluation batch; 0 = batch
    bool eval_batch_stats = false;    // --eval-bn batch: batch norm with each test batch's statistics
    divergence_policy on_divergence = divergence_policy::stop;
    double checkpoint_every = 0;  // minutes between mid-epoch checkpoints; 0 = at epoch ends only
    std::size_t log_every = 0;        // a row of steps.csv every this many steps; 0 = no steps.csv
    std::size_t landscape_every = 0;  // a loss-landscape probe (landscape.csv) every this many steps; 0 = none
    bool model_given = false;     // --model was on the command line (--eval-only reads it from the checkpoint otherwise)
    bool quiet = false;
    bool progress = true;  // a progress bar when stderr is a terminal

    // key = value pairs, in a fixed order (config.json and checkpoint metadata).
    std::vector<std::pair<std::string, std::string>> to_pairs() const;
    std::string to_json() const;
};

// The named recipes:
//   baseline  SGD lr 0.1, no momentum, batch 128, constant schedule, nothing else
//   sgd-0.02  the same at lr 0.02
//   full      our best cnn-bn recipe (see docs/training.md, docs/results.md)
train_config recipe(const std::string& name);
std::vector<std::string> recipe_names();

// Parses typenet-train's arguments (argv[1..]); throws config_error naming the flag.
// Returns nullopt when --help was given (help text already printed to stdout).
std::optional<train_config> parse_command_line(int argc, const char* const* argv);
std::string help_text();
// A run's config.json (train_config::to_json) back into its settings, starting from the
// baseline recipe for keys it lacks; throws config_error naming `source` and the key.
train_config config_from_json(const std::string& text, const std::string& source);
// One recorded setting (a checkpoint's metadata: key = the text its flag takes) applied to c as
// its flag would; a bad value or an unknown key is a config_error naming source.
void apply_recorded(train_config& c, const std::string& key, const std::string& value, const std::string& source);

std::string optimizer_name(optimizer_kind k);
std::string schedule_name(schedule_kind k);

}  // namespace typenet::train
