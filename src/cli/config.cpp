#include "config.hpp"
#include "model_list.hpp"
#include "../train/text_numbers.hpp"

#include "typenet/dist/bn_sync.hpp"
#include "typenet/init.hpp"
#include "typenet/train/escape.hpp"

#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

namespace typenet::train {

std::string optimizer_name(optimizer_kind k) {
    switch (k) {
        case optimizer_kind::sgd: return "sgd";
        case optimizer_kind::adam: return "adam";
        case optimizer_kind::adamw: return "adamw";
    }
    return "?";
}
std::string schedule_name(schedule_kind k) {
    switch (k) {
        case schedule_kind::constant: return "constant";
        case schedule_kind::step: return "step";
        case schedule_kind::cosine: return "cosine";
    }
    return "?";
}

std::vector<std::string> recipe_names() { return {"baseline", "sgd-0.02", "full", "resnet"}; }

train_config recipe(const std::string& name) {
    train_config c;
    c.recipe = name;
    c.optimizer.kind = optimizer_kind::sgd;
    c.schedule.kind = schedule_kind::constant;
    c.batch = 128;
    if (name == "baseline") {
        c.schedule.base_lr = 0.1;
    } else if (name == "sgd-0.02") {
        c.schedule.base_lr = 0.02;
    } else if (name == "full") {
        // Our best cnn-bn recipe (docs/results.md: 86.35% in 30 epochs): SGD with Nesterov
        // momentum 0.9, lr 0.1, weight decay 5e-4 on the weights (not on batch-norm parameters
        // and biases), cosine schedule after 1 warmup epoch, crop + flip, label smoothing 0.1.
        // (The published best recipe's ingredients with Adam 1e-3 in place of SGD; SGD at lr
        // 0.05 reached 85.54%.)
        c.optimizer.momentum = 0.9;
        c.optimizer.nesterov = true;
        c.optimizer.weight_decay = 5e-4;
        c.optimizer.decay_norm_and_bias = false;
        c.schedule.kind = schedule_kind::cosine;
        c.schedule.base_lr = 0.1;
        c.schedule.warmup_epochs = 1;
        c.label_smoothing = 0.1;
        c.augment = true;
        c.epochs = 30;
    } else if (name == "resnet") {
        // The CIFAR ResNet recipe of He et al. 2016 with a cosine schedule instead of their two
        // steps: SGD 0.1, momentum 0.9, weight decay 5e-4 on the weights (not on batch norm and
        // biases), flip + 4-pixel crop, batch 128.
        c.optimizer.momentum = 0.9;
        c.optimizer.weight_decay = 5e-4;
        c.optimizer.decay_norm_and_bias = false;
        c.schedule.kind = schedule_kind::cosine;
        c.schedule.base_lr = 0.1;
        c.augment = true;
        c.epochs = 30;
    } else {
        std::string names;
        for (const auto& n : recipe_names()) names += (names.empty() ? "" : ", ") + n;
        throw config_error("--recipe: unknown recipe '" + name + "' (choose one of: " + names + ")");
    }
    return c;
}

namespace {
using json = nlohmann::ordered_json;

std::string fmt_double(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}
double parse_double(const std::string& flag, const std::string& v) {
    return train::detail::number_flag<config_error>(flag, v);
}
// A whole number up to MOST (the field's type's largest: size_t's, unless the field is 64-bit).
std::uint64_t parse_count(const std::string& flag, const std::string& v,
                          std::uint64_t most = std::numeric_limits<std::size_t>::max()) {
    return train::detail::whole_flag<config_error>(flag, v, 0, most);
}
bool parse_bool(const std::string& flag, const std::string& v) {
    if (v == "true" || v == "1" || v == "on" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "off" || v == "no") return false;
    throw config_error(flag + ": expected true or false, got '" + v + "'");
}

// ---- the options: each declared once ---------------------------------------------------------
// An option is its flag, the key under which config.json and checkpoint metadata record it
// (none for the settings of one invocation: where the data and the output are, threads,
// --resume...), the placeholder of its value (none for a switch), its help, and its field of
// train_config with the field's type, which says how the flag's text is read, how the value is
// written as text (checkpoint metadata, compared on --resume) and as JSON, and how JSON is read
// back (--config). The default is the field's value in the baseline recipe (recipe()), shown
// by --help. Boost.Hana's struct reflection would give the fields' names, but every option
// needs its help and spelling beside it anyway, and the optimizer and schedule settings are
// fields of the public library's structs, which would need Hana in public headers.
struct option {
    const char* flag;
    const char* key;  // nullptr: not recorded
    const char* arg;  // nullptr: a switch
    std::string help;
    std::function<void(train_config&, const std::string&)> parse;  // a switch gets ""
    std::function<std::string(const train_config&)> text;          // with a key
    std::function<json(const train_config&)> to_json;              // with a key
    std::function<void(train_config&, const json&)> from_json;     // with a key; throws std::invalid_argument
};

template <class T>
using field_of = T& (*)(train_config&);
template <class T>
T get(field_of<T> f, const train_config& c) {
    return f(const_cast<train_config&>(c));
}
template <class T>
T json_as(const json& j, const char* what) {
    if constexpr (std::is_same_v<T, bool>) {
        if (!j.is_boolean()) throw std::invalid_argument(std::string("expected true or false (") + what + ")");
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!j.is_string()) throw std::invalid_argument(std::string("expected a string (") + what + ")");
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!j.is_number()) throw std::invalid_argument(std::string("expected a number (") + what + ")");
    } else {
        if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<long long>() >= 0))
            throw std::invalid_argument(std::string("expected a whole number >= 0 (") + what + ")");
    }
    return j.get<T>();
}

option number(const char* flag, const char* key, const char* arg, std::string help, field_of<double> f) {
    return {flag, key, arg, std::move(help), [=](train_config& c, const std::string& v) { f(c) = parse_double(flag, v); },
            [=](const train_config& c) { return fmt_double(get(f, c)); }, [=](const train_config& c) { return json(get(f, c)); },
            [=](train_config& c, const json& j) { f(c) = json_as<double>(j, "a number"); }};
}
template <class T>
option count(const char* flag, const char* key, const char* arg, std::string help, field_of<T> f) {
    return {flag, key, arg, std::move(help), [=](train_config& c, const std::string& v) { f(c) = T(parse_count(flag, v, std::numeric_limits<T>::max())); },
            [=](const train_config& c) { return std::to_string(get(f, c)); }, [=](const train_config& c) { return json(get(f, c)); },
            [=](train_config& c, const json& j) { f(c) = json_as<T>(j, "a count"); }};
}
option boolean(const char* flag, const char* key, std::string help, field_of<bool> f) {
    return {flag, key, "BOOL", std::move(help), [=](train_config& c, const std::string& v) { f(c) = parse_bool(flag, v); },
            [=](const train_config& c) { return std::string(get(f, c) ? "true" : "false"); },
            [=](const train_config& c) { return json(get(f, c)); },
            [=](train_config& c, const json& j) { f(c) = json_as<bool>(j, "true or false"); }};
}
// A switch that sets a bool field to `to`, recorded (with a key) as the field's value.
option switch_to(const char* flag, const char* key, bool to, std::string help, field_of<bool> f) {
    option o = boolean(flag, key, std::move(help), f);
    o.arg = nullptr;
    o.parse = [=](train_config& c, const std::string&) { f(c) = to; };
    return o;
}
// A text setting; check (optional) returns the value to store or throws config_error.
option text(const char* flag, const char* key, const char* arg, std::string help, field_of<std::string> f,
            std::function<std::string(const std::string&)> check = {}) {
    auto set = [=](train_config& c, const std::string& v) { f(c) = check ? check(v) : v; };
    return {flag, key, arg, std::move(help), set, [=](const train_config& c) { return get(f, c); },
            [=](const train_config& c) { return json(get(f, c)); },
            [=](train_config& c, const json& j) { set(c, json_as<std::string>(j, "a string")); }};
}
// One of a fixed set of names.
template <class E>
option choice(const char* flag, const char* key, const char* arg, std::string help, field_of<E> f,
              std::vector<std::pair<std::string, E>> names) {
    auto name_of = [=](E e) {
        for (const auto& [n, v] : names)
            if (v == e) return n;
        return std::string("?");
    };
    auto set = [=](train_config& c, const std::string& v) {
        std::string all;
        for (const auto& [n, e] : names) {
            if (n == v) {
                f(c) = e;
                return;
            }
            all += (all.empty() ? "" : ", ") + n;
        }
        throw config_error(std::string(flag) + ": unknown value '" + v + "' (choose " + all + ")");
    };
    return {flag, key, arg, std::move(help), set, [=](const train_config& c) { return name_of(get(f, c)); },
            [=](const train_config& c) { return json(name_of(get(f, c))); },
            [=](train_config& c, const json& j) { set(c, json_as<std::string>(j, "a name")); }};
}
std::string milestones_text(const std::vector<double>& m) {
    std::string s;
    for (double v : m) s += (s.empty() ? "" : ",") + fmt_double(v);
    return s;
}

const std::vector<option>& options() {
    using oc = optimizer_kind;
    using sk = schedule_kind;
    static const std::vector<option> all = {
        text("--model", "model", "NAME", "network: " + cli::model_names() + "; with --eval-only, the checkpoint's",
             +[](train_config& c) -> std::string& { return c.model; },
             [](const std::string& v) {
                 bool known = false;
                 cli::for_each_model([&](auto m) { known = known || v == m.name; });
                 if (!known) throw config_error("--model: unknown model '" + v + "' (choose one of: " + cli::model_names() + ")");
                 return v;
             }),
        text("--recipe", "recipe", "NAME", "baseline (SGD 0.1, batch 128, constant), sgd-0.02, full (SGD Nesterov 0.1, "
             "cosine, augment, 30 epochs), resnet (SGD 0.1 momentum 0.9, wd 5e-4, cosine, augment, 30 epochs); it sets "
             "the defaults, wherever it stands, and the other flags override single settings",
             +[](train_config& c) -> std::string& { return c.recipe; }),
        {"--config", nullptr, "FILE", "the settings of a run's config.json (a replay: --out and the data are this "
         "command's; flags override single settings; excludes --recipe)", {}, {}, {}, {}},
        choice<oc>("--optimizer", "optimizer", "NAME", "sgd, adam, adamw",
                   +[](train_config& c) -> oc& { return c.optimizer.kind; },
                   {{"sgd", oc::sgd}, {"adam", oc::adam}, {"adamw", oc::adamw}}),
        number("--lr", "lr", "X", "base learning rate", +[](train_config& c) -> double& { return c.schedule.base_lr; }),
        number("--momentum", "momentum", "X", "SGD momentum", +[](train_config& c) -> double& { return c.optimizer.momentum; }),
        boolean("--nesterov", "nesterov", "Nesterov momentum", +[](train_config& c) -> bool& { return c.optimizer.nesterov; }),
        number("--weight-decay", "weight_decay", "X", "weight decay, L2 for sgd/adam, decoupled for adamw",
               +[](train_config& c) -> double& { return c.optimizer.weight_decay; }),
        switch_to("--no-decay-norm-bias", "decay_norm_and_bias", false,
                  "exempt batch-norm gamma/beta and biases from weight decay (recorded as decay_norm_and_bias)",
                  +[](train_config& c) -> bool& { return c.optimizer.decay_norm_and_bias; }),
        number("--adam-beta1", "adam_beta1", "X", "Adam's beta1", +[](train_config& c) -> double& { return c.optimizer.beta1; }),
        number("--adam-beta2", "adam_beta2", "X", "Adam's beta2", +[](train_config& c) -> double& { return c.optimizer.beta2; }),
        number("--adam-eps", "adam_eps", "X", "Adam's epsilon", +[](train_config& c) -> double& { return c.optimizer.eps; }),
        choice<sk>("--schedule", "schedule", "NAME", "constant, step, cosine",
                   +[](train_config& c) -> sk& { return c.schedule.kind; },
                   {{"constant", sk::constant}, {"step", sk::step}, {"cosine", sk::cosine}}),
        {"--milestones", "milestones", "E1,E2,..", "epochs at which the step schedule multiplies the lr by --step-factor",
         [](train_config& c, const std::string& v) {
             c.schedule.milestones.clear();
             std::stringstream ss(v);
             std::string item;
             while (std::getline(ss, item, ',')) c.schedule.milestones.push_back(parse_double("--milestones", item));
         },
         [](const train_config& c) { return milestones_text(c.schedule.milestones); },
         [](const train_config& c) { return json(c.schedule.milestones); },
         [](train_config& c, const json& j) {
             if (!j.is_array()) throw std::invalid_argument("expected an array of numbers");
             c.schedule.milestones.clear();
             for (const auto& e : j) c.schedule.milestones.push_back(json_as<double>(e, "an array of numbers"));
         }},
        number("--step-factor", "step_factor", "X", "factor of the step schedule",
               +[](train_config& c) -> double& { return c.schedule.factor; }),
        number("--warmup-epochs", "warmup_epochs", "X", "linear warmup length in epochs",
               +[](train_config& c) -> double& { return c.schedule.warmup_epochs; }),
        count<std::size_t>("--epochs", "epochs", "N", "epochs", +[](train_config& c) -> std::size_t& { return c.epochs; }),
        count<std::size_t>("--batch", "batch", "N", "batch size", +[](train_config& c) -> std::size_t& { return c.batch; }),
        number("--label-smoothing", "label_smoothing", "X", "label smoothing in [0, 1)",
               +[](train_config& c) -> double& { return c.label_smoothing; }),
        number("--clip-grad-norm", "clip_grad_norm", "X", "clip the global gradient norm to X (0 = off)",
               +[](train_config& c) -> double& { return c.clip_grad_norm; }),
        number("--bn-momentum", "bn_momentum", "X", "batch-norm running-statistics momentum, weight of the new batch",
               +[](train_config& c) -> double& { return c.bn_momentum; }),
        count<std::size_t>("--bn-group", "bn_group", "N",
                           "batch-norm statistics over groups of N consecutive samples of each batch in train mode "
                           "(ghost batch norm; 0 = the whole batch)",
                           +[](train_config& c) -> std::size_t& { return c.bn_group; }),
        text("--bn-sync", "bn_sync", "MODE",
             "under mpirun: the batch statistics of batch norm and renorm over every rank's slice (global: "
             "synchronized BN), each rank's own (local) or groups of K consecutive ranks (group:K); see "
             "docs/distributed.md",
             +[](train_config& c) -> std::string& { return c.bn_sync; },
             [](const std::string& v) {
                 try {
                     return bn_sync_mode::parse(v).to_string();
                 } catch (const std::invalid_argument& e) {
                     throw config_error(std::string("--bn-sync: ") + e.what());
                 }
             }),
        count<std::size_t>("--renorm-start", "renorm_start", "STEPS",
                           "batch renorm: steps of plain batch norm before the clipping limits relax",
                           +[](train_config& c) -> std::size_t& { return c.renorm.start; }),
        count<std::size_t>("--renorm-rmax-end", "renorm_rmax_end", "STEPS", "batch renorm: the step rmax reaches its final value",
                           +[](train_config& c) -> std::size_t& { return c.renorm.rmax_end; }),
        count<std::size_t>("--renorm-dmax-end", "renorm_dmax_end", "STEPS", "batch renorm: the step dmax reaches its final value",
                           +[](train_config& c) -> std::size_t& { return c.renorm.dmax_end; }),
        number("--renorm-rmax", "renorm_rmax", "X", "batch renorm: final rmax (r in [1/rmax, rmax])",
               +[](train_config& c) -> double& { return c.renorm.rmax; }),
        number("--renorm-dmax", "renorm_dmax", "X", "batch renorm: final dmax (d in [-dmax, dmax])",
               +[](train_config& c) -> double& { return c.renorm.dmax; }),
        text("--init", "init", "NAME", "weight initialisation: pytorch (uniform +-1/sqrt(fan_in)), kaiming-normal, "
             "kaiming-uniform", +[](train_config& c) -> std::string& { return c.init; },
             [](const std::string& v) {
                 try {
                     return to_string(parse_init_scheme(v));
                 } catch (const std::invalid_argument& e) {
                     throw config_error(std::string("--init: ") + e.what());
                 }
             }),
        boolean("--augment", "augment", "random crop (4-pixel padding) + horizontal flip",
                +[](train_config& c) -> bool& { return c.augment; }),
        count<std::size_t>("--cutout", "cutout", "N", "cutout: zero a random N x N square of each training image (0 = off)",
                           +[](train_config& c) -> std::size_t& { return c.cutout; }),
        boolean("--drop-last", "drop_last", "drop the last, smaller training batch",
                +[](train_config& c) -> bool& { return c.drop_last; }),
        count<std::size_t>("--limit-train", "limit_train", "N", "use only the first N training images (0 = all)",
                           +[](train_config& c) -> std::size_t& { return c.limit_train; }),
        count<std::size_t>("--limit-test", "limit_test", "N", "use only the first N test images (0 = all)",
                           +[](train_config& c) -> std::size_t& { return c.limit_test; }),
        count<std::size_t>("--val-split", "val_split", "N",
                           "hold out N training images (seeded, the same share of every class) as the validation set "
                           "evaluated after every epoch; best.ckpt is the epoch with the best validation accuracy, and the "
                           "test set is evaluated once, at the end (0: the test set after every epoch, as before)",
                           +[](train_config& c) -> std::size_t& { return c.val_split; }),
        switch_to("--test-every-epoch", "test_every_epoch", true, "with --val-split: evaluate the test set after every epoch too",
                  +[](train_config& c) -> bool& { return c.test_every_epoch; }),
        count<std::size_t>("--early-stop", "early_stop", "PATIENCE",
                           "with --val-split: stop when the validation accuracy has not improved for PATIENCE epochs (0 = off)",
                           +[](train_config& c) -> std::size_t& { return c.early_stop; }),
        count<std::uint64_t>("--seed", "seed", "N", "seed of initialisation, shuffling, augmentation and the validation split",
                             +[](train_config& c) -> std::uint64_t& { return c.seed; }),
        choice<divergence_policy>("--on-divergence", "on_divergence", "WHAT",
                                  "stop (exit code 3 on a non-finite loss) or continue (record it)",
                                  +[](train_config& c) -> divergence_policy& { return c.on_divergence; },
                                  {{"stop", divergence_policy::stop}, {"continue", divergence_policy::continue_run}}),
        // ---- the settings of one invocation: not recorded in config.json or checkpoints ----
        {"--threads", nullptr, "N", "threads (default: all cores; under mpirun, the cores divided among this machine's ranks)",
         [](train_config& c, const std::string& v) { c.threads = std::size_t(parse_count("--threads", v)); }, {}, {}, {}},
        {"--check-replicas", nullptr, "K", "under mpirun: every K steps, check that every rank holds the same parameters "
         "and running statistics (an error naming the ranks that differ; default 0: never)",
         [](train_config& c, const std::string& v) { c.check_replicas = std::size_t(parse_count("--check-replicas", v)); },
         {}, {}, {}},
        {"--grad-buckets", nullptr, "KIB", "under mpirun: sum the gradients over the ranks in buckets of KIB KiB, each "
         "started while the backward pass goes on (default 256; 0: one blocking sum per tensor after the backward pass)",
         [](train_config& c, const std::string& v) {
             const auto k = parse_count("--grad-buckets", v);
             if (k > (std::uint64_t(1) << 30)) throw config_error("--grad-buckets: " + v + " KiB is more than 1 TiB");
             c.grad_bucket_kib = std::size_t(k);
         },
         {}, {}, {}},
        {"--grad-progress", nullptr, "WHO", "under mpirun: what moves the bucket sums forward while the backward pass "
         "computes: thread (a thread of each rank tests them every 100 us; default) or calls (only the MPI calls at "
         "each layer's end); see docs/distributed.md",
         [](train_config& c, const std::string& v) {
             if (v != "thread" && v != "calls")
                 throw config_error("--grad-progress: '" + v + "' is neither thread nor calls");
             c.grad_progress_thread = v == "thread";
         },
         {}, {}, {}},
        {"--simd", nullptr, "NAME", "auto, avx512, avx2, scalar (default auto)",
         [](train_config& c, const std::string& v) {
             if (v != "auto" && v != "avx512" && v != "avx2" && v != "scalar")
                 throw config_error("--simd: unknown instruction set '" + v + "' (choose auto, avx512, avx2 or scalar)");
             c.simd = v;
         }, {}, {}, {}},
        {"--winograd", nullptr, "on|off", "3x3 stride-1 convolutions as Winograd F(4x4)/F(2x2) or direct (default on; "
         "results differ in the last bits; invocations.jsonl records it)",
         [](train_config& c, const std::string& v) {
             if (v != "on" && v != "off") throw config_error("--winograd: expected on or off, got '" + v + "'");
             c.winograd = v == "on";
         }, {}, {}, {}},
        {"--data", nullptr, "DIR", "CIFAR-10 binary folder (default: $TYPENET_DATA, data/cifar-10-batches-bin, "
         "../shared/data/cifar10/cifar-10-batches-bin)", [](train_config& c, const std::string& v) { c.data_dir = v; }, {}, {}, {}},
        {"--out", nullptr, "DIR", "output folder for metrics, curves and checkpoints (default runs/default)",
         [](train_config& c, const std::string& v) { c.out = v; }, {}, {}, {}},
        {"--resume", nullptr, nullptr, "continue the run in --out from its last checkpoint",
         [](train_config& c, const std::string&) { c.resume = true; }, {}, {}, {}},
        {"--overwrite", nullptr, nullptr, "start a new run in an --out that holds one, replacing its checkpoints and "
         "metrics (without it, or --resume, that is an error)",
         [](train_config& c, const std::string&) { c.overwrite = true; }, {}, {}, {}},
        {"--eval-only", nullptr, nullptr, "only evaluate --checkpoint FILE on the test set",
         [](train_config& c, const std::string&) { c.eval_only = true; }, {}, {}, {}},
        {"--checkpoint", nullptr, "FILE", "checkpoint to evaluate with --eval-only",
         [](train_config& c, const std::string& v) { c.checkpoint = v; }, {}, {}, {}},
        {"--eval-batch", nullptr, "N", "images per evaluation batch (default: --batch); eval mode gives the same logits at any N",
         [](train_config& c, const std::string& v) { c.eval_batch = std::size_t(parse_count("--eval-batch", v)); }, {}, {}, {}},
        {"--eval-bn", nullptr, "WHAT", "with --eval-only: running (eval mode, default) or batch (train-mode batch "
         "statistics of each test batch, the train/eval gap of batch norm; batch renorm at the checkpoint's step "
         "with its run's schedule)",
         [](train_config& c, const std::string& v) {
             if (v == "running") c.eval_batch_stats = false;
             else if (v == "batch") c.eval_batch_stats = true;
             else throw config_error("--eval-bn: expected running or batch, got '" + v + "'");
         }, {}, {}, {}},
        {"--checkpoint-every", nullptr, "MINUTES", "also write last.ckpt mid-epoch, at most this often (0 = at epoch ends "
         "only, the default); SIGINT/SIGTERM always write it before the run stops",
         [](train_config& c, const std::string& v) {
             c.checkpoint_every = parse_double("--checkpoint-every", v);
             if (!(c.checkpoint_every >= 0)) throw config_error("--checkpoint-every: must be >= 0 minutes, got " + v);
         }, {}, {}, {}},
        {"--log-every", nullptr, "N", "write steps.csv: the batch's loss and accuracy, the gradient norm and the "
         "learning rate of every N-th step (default 0: none); a resumed run keeps the rows up to its checkpoint",
         [](train_config& c, const std::string& v) { c.log_every = std::size_t(parse_count("--log-every", v)); }, {}, {}, {}},
        {"--landscape-every", nullptr, "K", "every K steps (the first at step 1), probe the loss landscape along the "
         "gradient at 0.1 to 4 times the step's learning rate and write landscape.csv: the loss's variation, the "
         "gradient's change and the effective beta-smoothness (docs/why-batch-norm-works.md); the run is the same "
         "as without; one process only (default 0: none)",
         [](train_config& c, const std::string& v) { c.landscape_every = std::size_t(parse_count("--landscape-every", v)); },
         {}, {}, {}},
        {"--quiet", nullptr, nullptr, "print nothing but errors", [](train_config& c, const std::string&) { c.quiet = true; },
         {}, {}, {}},
        {"--help", nullptr, nullptr, "this text", {}, {}, {}, {}},
    };
    return all;
}

const option* find_flag(const std::string& flag) {
    for (const auto& o : options())
        if (flag == o.flag) return &o;
    return nullptr;
}

// The whole configuration's checks (after the flags, --config and --recipe), each naming its flag.
void check(const train_config& c) {
    if (c.epochs == 0 && !c.eval_only) throw config_error("--epochs: must be at least 1");
    if (c.batch < 2) throw config_error("--batch: must be at least 2 (batch normalisation needs 2 samples in train mode)");
    if (!(c.schedule.base_lr > 0)) throw config_error("--lr: must be > 0");
    if (!(c.label_smoothing >= 0 && c.label_smoothing < 1)) throw config_error("--label-smoothing: must be in [0, 1)");
    if (!(c.clip_grad_norm >= 0)) throw config_error("--clip-grad-norm: must be >= 0");
    if (!(c.bn_momentum > 0 && c.bn_momentum <= 1)) throw config_error("--bn-momentum: must be in (0, 1]");
    if (c.bn_group == 1) throw config_error("--bn-group: a statistics group needs at least 2 samples (0 = the whole batch)");
    if (!(c.renorm.rmax >= 1)) throw config_error("--renorm-rmax: must be >= 1");
    if (!(c.renorm.dmax >= 0)) throw config_error("--renorm-dmax: must be >= 0");
    if (!(c.schedule.warmup_epochs >= 0)) throw config_error("--warmup-epochs: must be >= 0");
    if (!(c.schedule.factor > 0)) throw config_error("--step-factor: must be > 0");
    if (c.schedule.kind == schedule_kind::step && c.schedule.milestones.empty())
        throw config_error("--schedule step needs --milestones E1,E2,...");
    if (c.eval_only && !c.checkpoint) throw config_error("--eval-only needs --checkpoint FILE");
    if (c.eval_batch_stats && !c.eval_only) throw config_error("--eval-bn batch needs --eval-only");
    if (c.eval_batch_stats && c.eval_batch == 1)
        throw config_error("--eval-bn batch: batch statistics need --eval-batch of at least 2");
    if (c.early_stop > 0 && c.val_split == 0)
        throw config_error("--early-stop needs --val-split N: stopping on the test set's accuracy would tune the run on it");
    if (c.test_every_epoch && c.val_split == 0)
        throw config_error("--test-every-epoch needs --val-split N (without it the test set is evaluated after every epoch)");
    if (c.val_split > 0 && c.limit_train > 0 && c.val_split >= c.limit_train)
        throw config_error("--val-split: " + std::to_string(c.val_split) + " images held out of --limit-train " +
                           std::to_string(c.limit_train) + " leave none to train on");
    if (c.eval_only && c.resume) throw config_error("--eval-only and --resume exclude each other");
    if (c.overwrite && c.resume) throw config_error("--overwrite and --resume exclude each other");
    try {
        c.optimizer.validate();
    } catch (const std::invalid_argument& e) {
        throw config_error(std::string("--optimizer/--momentum/--nesterov/--weight-decay: ") + e.what());
    }
    if (c.cutout > 32) throw config_error("--cutout: the square's side must be at most 32 pixels, got " + std::to_string(c.cutout));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> train_config::to_pairs() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& o : options())
        if (o.key) out.emplace_back(o.key, o.text(*this));
    return out;
}

std::string train_config::to_json() const {
    json j = json::object();
    for (const auto& o : options())
        if (o.key) j[o.key] = o.to_json(*this);
    return j.dump(2) + "\n";
}

void apply_recorded(train_config& c, const std::string& key, const std::string& value, const std::string& source) {
    for (const auto& o : options())
        if (o.key && key == o.key) {
            try {
                o.parse(c, value);
            } catch (const config_error& e) {
                throw config_error(source + ": " + key + " = " + value + ": " + e.what());
            }
            return;
        }
    throw config_error(source + ": unknown setting '" + key + "'");
}

train_config config_from_json(const std::string& text, const std::string& source) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw config_error(source + ": not JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw config_error(source + ": expected a JSON object of settings (a run's config.json)");
    train_config c = recipe("baseline");
    for (const auto& [key, value] : j.items()) {
        const option* o = nullptr;
        for (const auto& opt : options())
            if (opt.key && key == opt.key) o = &opt;
        if (!o) throw config_error(source + ": unknown setting '" + key + "'");
        try {
            o->from_json(c, value);
        } catch (const std::invalid_argument& e) {
            throw config_error(source + ": " + key + ": " + e.what() + ", got " + value.dump(-1, ' ', false, json::error_handler_t::replace));
        } catch (const json::exception& e) {
            throw config_error(source + ": " + key + ": " + e.what());
        }
    }
    return c;
}

std::string help_text() {
    std::string s =
        "usage: typenet-train [--model NAME] [--recipe NAME | --config FILE] [overrides...] [--data DIR] [--out DIR]\n"
        "Trains a CIFAR-10 network, writing metrics.csv, metrics.jsonl, config.json, curves.svg and\n"
        "checkpoints (last.ckpt, final.ckpt, best.ckpt with --val-split) into --out. Exit codes: 0 done,\n"
        "2 bad flags or input, 3 stopped on a non-finite loss, 130 (SIGINT) or 143 (SIGTERM) stopped by the\n"
        "signal after writing last.ckpt (--resume continues it).\n\n";
    const train_config d = recipe("baseline");
    for (const auto& f : options()) {
        std::string left = std::string("  ") + f.flag + (f.arg ? std::string(" ") + f.arg : "");
        if (left.size() < 28) left += std::string(28 - left.size(), ' ');
        else left += "\n" + std::string(28, ' ');
        std::string help = f.help;
        if (f.key && f.arg) {
            const std::string v = f.text(d);
            help += " (default " + (v.empty() ? std::string("none") : v) + ")";
        }
        s += left + help + "\n";
    }
    return s;
}

std::optional<train_config> parse_command_line(int argc, const char* const* argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    // --recipe or --config sets the defaults first, wherever it stands; the other flags override them.
    std::optional<std::string> recipe_name, config_file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--help" || args[i] == "-h") {
            std::cout << help_text();
            return std::nullopt;
        }
        for (const char* f : {"--recipe", "--config"}) {
            const std::string flag = f;
            std::optional<std::string> v;
            if (args[i].rfind(flag + "=", 0) == 0) v = args[i].substr(flag.size() + 1);
            else if (args[i] == flag && i + 1 < args.size()) v = args[i + 1];
            if (v) (flag == "--recipe" ? recipe_name : config_file) = *v;
        }
    }
    if (recipe_name && config_file)
        throw config_error("--recipe and --config exclude each other (the config holds every setting of its run)");
    train_config c = recipe(recipe_name.value_or("baseline"));
    if (config_file) {
        std::ifstream in(*config_file, std::ios::binary);
        if (!in) throw config_error("--config: cannot read " + *config_file);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        c = config_from_json(text, "--config " + *config_file);
        c.model_given = true;
    }

    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i], value;
        bool has_inline = false;
        if (const auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
            has_inline = true;
        }
        const option* info = find_flag(flag);
        if (!info) {
            if (flag.rfind("-", 0) != 0) throw config_error("unexpected argument '" + flag + "' (flags start with --; see --help)");
            throw config_error("unknown flag '" + flag + "' (see --help)");
        }
        if (info->arg) {
            if (!has_inline) {
                if (i + 1 >= args.size()) throw config_error(flag + ": missing value " + info->arg);
                value = args[++i];
            }
        } else if (has_inline) {
            throw config_error(flag + " takes no value");
        }
        if (flag == "--config" || flag == "--recipe") {
            if (flag == "--recipe") c.recipe = value;
            continue;  // applied above
        }
        info->parse(c, value);
        if (flag == "--model") c.model_given = true;
    }
    check(c);
    return c;
}

}  // namespace typenet::train
