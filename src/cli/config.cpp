#include "config.hpp"
#include "model_list.hpp"

#include "typenet/init.hpp"
#include "typenet/train/escape.hpp"

#include <charconv>
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
std::string fmt_double(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}
// v is a number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. (Not merely
// made of digits, signs, dots and e's: "-", "." or "1e" written bare would make config.json
// unreadable.)
bool is_json_number(const std::string& v) {
    std::size_t i = 0;
    const auto digits = [&] {
        const std::size_t from = i;
        while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
        return i > from;
    };
    if (i < v.size() && v[i] == '-') ++i;
    if (i < v.size() && v[i] == '0') ++i;
    else if (!digits()) return false;
    if (i < v.size() && v[i] == '.' && (++i, !digits())) return false;
    if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
        ++i;
        if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
        if (!digits()) return false;
    }
    return i == v.size();
}
}  // namespace

std::vector<std::pair<std::string, std::string>> train_config::to_pairs() const {
    std::string milestones;
    for (double m : schedule.milestones) {
        if (!milestones.empty()) milestones += ',';
        milestones += fmt_double(m);
    }
    return {
        {"model", model},
        {"recipe", recipe},
        {"optimizer", optimizer_name(optimizer.kind)},
        {"lr", fmt_double(schedule.base_lr)},
        {"momentum", fmt_double(optimizer.momentum)},
        {"nesterov", optimizer.nesterov ? "true" : "false"},
        {"weight_decay", fmt_double(optimizer.weight_decay)},
        {"decay_norm_and_bias", optimizer.decay_norm_and_bias ? "true" : "false"},
        {"adam_beta1", fmt_double(optimizer.beta1)},
        {"adam_beta2", fmt_double(optimizer.beta2)},
        {"adam_eps", fmt_double(optimizer.eps)},
        {"schedule", schedule_name(schedule.kind)},
        {"milestones", milestones},
        {"step_factor", fmt_double(schedule.factor)},
        {"warmup_epochs", fmt_double(schedule.warmup_epochs)},
        {"epochs", std::to_string(epochs)},
        {"batch", std::to_string(batch)},
        {"label_smoothing", fmt_double(label_smoothing)},
        {"clip_grad_norm", fmt_double(clip_grad_norm)},
        {"bn_momentum", fmt_double(bn_momentum)},
        {"init", init},
        {"augment", augment ? "true" : "false"},
        {"cutout", std::to_string(cutout)},
        {"drop_last", drop_last ? "true" : "false"},
        {"limit_train", std::to_string(limit_train)},
        {"limit_test", std::to_string(limit_test)},
        {"val_split", std::to_string(val_split)},
        {"test_every_epoch", test_every_epoch ? "true" : "false"},
        {"early_stop", std::to_string(early_stop)},
        {"seed", std::to_string(seed)},
        {"on_divergence", on_divergence == divergence_policy::stop ? "stop" : "continue"},
    };
}

std::string train_config::to_json() const {
    std::string s = "{\n";
    const auto pairs = to_pairs();
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const auto& [k, v] = pairs[i];
        const bool literal = v == "true" || v == "false" || (is_json_number(v) && k != "milestones");
        (((s += "  \"") += k) += "\": ") += literal ? v : json_string(v);
        s += i + 1 < pairs.size() ? ",\n" : "\n";
    }
    return s + "}\n";
}

namespace {

struct flag_info {
    const char* name;
    const char* arg;  // nullptr for switches
    std::string help;
};

double parse_double(const std::string& flag, const std::string& v) {
    try {
        std::size_t used = 0;
        const double d = std::stod(v, &used);
        if (used != v.size() || !std::isfinite(d)) throw std::invalid_argument("");
        return d;
    } catch (const std::exception&) {
        throw config_error(flag + ": expected a number, got '" + v + "'");
    }
}
std::size_t parse_count(const std::string& flag, const std::string& v) {
    std::size_t out = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty())
        throw config_error(flag + ": expected a whole number >= 0, got '" + v + "'");
    return out;
}
bool parse_bool(const std::string& flag, const std::string& v) {
    if (v == "true" || v == "1" || v == "on" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "off" || v == "no") return false;
    throw config_error(flag + ": expected true or false, got '" + v + "'");
}

const std::vector<flag_info>& flags() {
    const train_config d = recipe("baseline");
    static const std::vector<flag_info> f = {
        {"--model", "NAME", "network: " + cli::model_names() + " (default " + d.model +
                                "; with --eval-only, the checkpoint's)"},
        {"--recipe", "NAME", "baseline (SGD 0.1, batch 128, constant), sgd-0.02, full (SGD Nesterov 0.1, cosine, augment, "
                             "30 epochs), resnet (SGD 0.1 momentum 0.9, wd 5e-4, cosine, augment, 30 epochs) "
                             "(default baseline); flags after it override single settings"},
        {"--lr", "X", "base learning rate (baseline 0.1)"},
        {"--optimizer", "NAME", "sgd, adam, adamw (baseline sgd)"},
        {"--momentum", "X", "SGD momentum (baseline 0)"},
        {"--nesterov", "BOOL", "Nesterov momentum (baseline false)"},
        {"--weight-decay", "X", "weight decay, L2 for sgd/adam, decoupled for adamw (baseline 0)"},
        {"--no-decay-norm-bias", nullptr, "exempt batch-norm gamma/beta and biases from weight decay"},
        {"--epochs", "N", "epochs (baseline 2)"},
        {"--batch", "N", "batch size (baseline 128)"},
        {"--schedule", "NAME", "constant, step, cosine (baseline constant)"},
        {"--milestones", "E1,E2,..", "epochs at which the step schedule multiplies the lr by --step-factor"},
        {"--step-factor", "X", "factor of the step schedule (default 0.1)"},
        {"--warmup-epochs", "X", "linear warmup length in epochs (baseline 0)"},
        {"--label-smoothing", "X", "label smoothing in [0, 1) (baseline 0)"},
        {"--clip-grad-norm", "X", "clip the global gradient norm to X (0 = off, default)"},
        {"--bn-momentum", "X", "batch-norm running-statistics momentum, weight of the new batch (default 0.1)"},
        {"--init", "NAME", "weight initialisation: pytorch (uniform +-1/sqrt(fan_in)), kaiming-normal, "
                           "kaiming-uniform (default " + d.init + ")"},
        {"--augment", "BOOL", "random crop (4-pixel padding) + horizontal flip (baseline false)"},
        {"--cutout", "N", "cutout: zero a random N x N square of each training image (0 = off; baseline 0)"},
        {"--drop-last", "BOOL", "drop the last, smaller training batch (default false)"},
        {"--limit-train", "N", "use only the first N training images (default all)"},
        {"--limit-test", "N", "use only the first N test images (default all)"},
        {"--val-split", "N", "hold out N training images (seeded, the same share of every class) as the validation set "
                             "evaluated after every epoch; best.ckpt is the epoch with the best validation accuracy, and "
                             "the test set is evaluated once, at the end (default 0: the test set after every epoch, "
                             "as before)"},
        {"--test-every-epoch", nullptr, "with --val-split: evaluate the test set after every epoch too"},
        {"--early-stop", "PATIENCE", "with --val-split: stop when the validation accuracy has not improved for "
                                     "PATIENCE epochs (0 = off, default)"},
        {"--seed", "N", "seed of initialisation, shuffling and augmentation (default 0)"},
        {"--threads", "N", "threads (default: all cores)"},
        {"--simd", "NAME", "auto, avx512, avx2, scalar (default auto)"},
        {"--winograd", "on|off", "3x3 stride-1 convolutions as Winograd F(4x4)/F(2x2) or direct (default on; "
                                 "results differ in the last bits)"},
        {"--data", "DIR", "CIFAR-10 binary folder (default: $TYPENET_DATA, data/cifar-10-batches-bin, "
                          "../shared/data/cifar10/cifar-10-batches-bin)"},
        {"--out", "DIR", "output folder for metrics, curves and checkpoints (default runs/default)"},
        {"--resume", nullptr, "continue the run in --out from its last checkpoint"},
        {"--overwrite", nullptr, "start a new run in an --out that holds one, replacing its checkpoints and metrics "
                                 "(without it, or --resume, that is an error)"},
        {"--eval-only", nullptr, "only evaluate --checkpoint FILE on the test set"},
        {"--checkpoint", "FILE", "checkpoint to evaluate with --eval-only"},
        {"--eval-batch", "N", "images per evaluation batch (default: --batch); eval mode gives the same logits at any N"},
        {"--eval-bn", "WHAT", "with --eval-only: running (eval mode, default) or batch (train-mode batch statistics of each "
                              "test batch, the train/eval gap of batch norm)"},
        {"--checkpoint-every", "MINUTES", "also write last.ckpt mid-epoch, at most this often (0 = at epoch ends only, "
                                          "the default); SIGINT/SIGTERM always write it before the run stops"},
        {"--on-divergence", "WHAT", "stop (default: exit code 3 on a non-finite loss) or continue (record it)"},
        {"--quiet", nullptr, "print nothing but errors"},
        {"--help", nullptr, "this text"},
    };
    return f;
}

}  // namespace

std::string help_text() {
    std::string s =
        "usage: typenet-train [--model NAME] [--recipe NAME] [overrides...] [--data DIR] [--out DIR]\n"
        "Trains a CIFAR-10 network, writing metrics.csv, metrics.jsonl, config.json, curves.svg and\n"
        "checkpoints (last.ckpt, final.ckpt) into --out. Exit codes: 0 done, 2 bad flags or input,\n"
        "3 stopped on a non-finite loss, 130 (SIGINT) or 143 (SIGTERM) stopped by the signal after\n"
        "writing last.ckpt (--resume continues it).\n\n";
    for (const auto& f : flags()) {
        std::string left = std::string("  ") + f.name + (f.arg ? std::string(" ") + f.arg : "");
        if (left.size() < 28) left += std::string(28 - left.size(), ' ');
        else left += "\n" + std::string(28, ' ');
        s += left + f.help + "\n";
    }
    return s;
}

std::optional<train_config> parse_command_line(int argc, const char* const* argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    // --recipe sets the defaults first, wherever it stands; the other flags override it.
    std::string recipe_name = "baseline";
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--help" || args[i] == "-h") {
            std::cout << help_text();
            return std::nullopt;
        }
        if (args[i].rfind("--recipe=", 0) == 0) recipe_name = args[i].substr(9);
        else if (args[i] == "--recipe" && i + 1 < args.size()) recipe_name = args[i + 1];
    }
    train_config c = recipe(recipe_name);
    bool lr_set = false;

    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i], value;
        bool has_inline = false;
        if (const auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
            has_inline = true;
        }
        const flag_info* info = nullptr;
        for (const auto& f : flags())
            if (flag == f.name) info = &f;
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

        if (flag == "--model") c.model = value, c.model_given = true;
        else if (flag == "--recipe") c.recipe = value;
        else if (flag == "--lr") { c.schedule.base_lr = parse_double(flag, value); lr_set = true; }
        else if (flag == "--optimizer") {
            if (value == "sgd") c.optimizer.kind = optimizer_kind::sgd;
            else if (value == "adam") c.optimizer.kind = optimizer_kind::adam;
            else if (value == "adamw") c.optimizer.kind = optimizer_kind::adamw;
            else throw config_error("--optimizer: unknown optimizer '" + value + "' (choose sgd, adam or adamw)");
        }
        else if (flag == "--momentum") c.optimizer.momentum = parse_double(flag, value);
        else if (flag == "--nesterov") c.optimizer.nesterov = parse_bool(flag, value);
        else if (flag == "--weight-decay") c.optimizer.weight_decay = parse_double(flag, value);
        else if (flag == "--no-decay-norm-bias") c.optimizer.decay_norm_and_bias = false;
        else if (flag == "--epochs") c.epochs = parse_count(flag, value);
        else if (flag == "--batch") c.batch = parse_count(flag, value);
        else if (flag == "--schedule") {
            if (value == "constant") c.schedule.kind = schedule_kind::constant;
            else if (value == "step") c.schedule.kind = schedule_kind::step;
            else if (value == "cosine") c.schedule.kind = schedule_kind::cosine;
            else throw config_error("--schedule: unknown schedule '" + value + "' (choose constant, step or cosine)");
        }
        else if (flag == "--milestones") {
            c.schedule.milestones.clear();
            std::stringstream ss(value);
            std::string item;
            while (std::getline(ss, item, ',')) c.schedule.milestones.push_back(parse_double(flag, item));
        }
        else if (flag == "--step-factor") c.schedule.factor = parse_double(flag, value);
        else if (flag == "--warmup-epochs") c.schedule.warmup_epochs = parse_double(flag, value);
        else if (flag == "--label-smoothing") c.label_smoothing = parse_double(flag, value);
        else if (flag == "--clip-grad-norm") c.clip_grad_norm = parse_double(flag, value);
        else if (flag == "--bn-momentum") c.bn_momentum = parse_double(flag, value);
        else if (flag == "--init") {
            try {
                c.init = to_string(parse_init_scheme(value));
            } catch (const std::invalid_argument& e) {
                throw config_error(std::string("--init: ") + e.what());
            }
        }
        else if (flag == "--augment") c.augment = parse_bool(flag, value);
        else if (flag == "--cutout") {
            c.cutout = parse_count(flag, value);
            if (c.cutout > 32) throw config_error("--cutout: the square's side must be at most 32 pixels, got " + value);
        }
        else if (flag == "--drop-last") c.drop_last = parse_bool(flag, value);
        else if (flag == "--limit-train") c.limit_train = parse_count(flag, value);
        else if (flag == "--limit-test") c.limit_test = parse_count(flag, value);
        else if (flag == "--val-split") c.val_split = parse_count(flag, value);
        else if (flag == "--test-every-epoch") c.test_every_epoch = true;
        else if (flag == "--early-stop") c.early_stop = parse_count(flag, value);
        else if (flag == "--seed") c.seed = parse_count(flag, value);
        else if (flag == "--threads") c.threads = parse_count(flag, value);
        else if (flag == "--winograd") {
            if (value != "on" && value != "off") throw config_error("--winograd: expected on or off, got '" + value + "'");
            c.winograd = value == "on";
        }
        else if (flag == "--simd") {
            if (value != "auto" && value != "avx512" && value != "avx2" && value != "scalar")
                throw config_error("--simd: unknown instruction set '" + value + "' (choose auto, avx512, avx2 or scalar)");
            c.simd = value;
        }
        else if (flag == "--data") c.data_dir = value;
        else if (flag == "--out") c.out = value;
        else if (flag == "--resume") c.resume = true;
        else if (flag == "--overwrite") c.overwrite = true;
        else if (flag == "--eval-only") c.eval_only = true;
        else if (flag == "--checkpoint") c.checkpoint = value;
        else if (flag == "--eval-batch") c.eval_batch = parse_count(flag, value);
        else if (flag == "--eval-bn") {
            if (value == "running") c.eval_batch_stats = false;
            else if (value == "batch") c.eval_batch_stats = true;
            else throw config_error("--eval-bn: expected running or batch, got '" + value + "'");
        }
        else if (flag == "--on-divergence") {
            if (value == "stop") c.on_divergence = divergence_policy::stop;
            else if (value == "continue") c.on_divergence = divergence_policy::continue_run;
            else throw config_error("--on-divergence: expected stop or continue, got '" + value + "'");
        }
        else if (flag == "--checkpoint-every") {
            c.checkpoint_every = parse_double(flag, value);
            if (!(c.checkpoint_every >= 0)) throw config_error("--checkpoint-every: must be >= 0 minutes, got " + value);
        }
        else if (flag == "--quiet") c.quiet = true;
    }
    (void)lr_set;

    // Whole-configuration checks, each naming its flag.
    if (c.epochs == 0 && !c.eval_only) throw config_error("--epochs: must be at least 1");
    if (c.batch < 2) throw config_error("--batch: must be at least 2 (batch normalisation needs 2 samples in train mode)");
    if (!(c.schedule.base_lr > 0)) throw config_error("--lr: must be > 0");
    if (!(c.label_smoothing >= 0 && c.label_smoothing < 1)) throw config_error("--label-smoothing: must be in [0, 1)");
    if (!(c.clip_grad_norm >= 0)) throw config_error("--clip-grad-norm: must be >= 0");
    if (!(c.bn_momentum > 0 && c.bn_momentum <= 1)) throw config_error("--bn-momentum: must be in (0, 1]");
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
    return c;
}

}  // namespace typenet::train
