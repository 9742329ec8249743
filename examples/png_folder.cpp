// examples/png_folder.cpp - a network type of your own, trained on a folder of PNG images,
// stopped with Ctrl-C and resumed, saved, and used to classify one PNG. It first writes the
// folder: 16x16 grey images of three kinds of bars. Usage: png_folder [WORK_DIR] (default
// /tmp/typenet-png-folder); run it again after Ctrl-C and it continues where it stopped.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "typenet/typenet.hpp"

using namespace typenet;
namespace fs = std::filesystem;

// [types]
using bars = data::image_folder_source<shape<1, 16, 16>, 3>;  // one sub-folder per class
using bar_net = net<input<1, 16, 16>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, conv_bn<8, 16, 3, 1, same>,
                    global_avg_pool, dense<16, 3>>;
static_assert(data::fits<bar_net, bars>);
// [/types]

std::vector<std::uint8_t> bar_image(int kind, rng& g) {  // a bar at a random place, with noise
    std::vector<std::uint8_t> px(256);
    const int at = int(g.below(16));
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) {
            const bool on = kind == 0 ? y == at : kind == 1 ? x == at : (x + y) % 16 == at;
            px[std::size_t(y * 16 + x)] = std::uint8_t((on ? 180 : 40) + g.below(60));
        }
    return px;
}

void write_folder(const fs::path& root, std::size_t per_class, std::uint64_t seed) {
    rng g(seed);
    const char* names[] = {"diagonal", "horizontal", "vertical"};  // class order = folder-name order
    const int kinds[] = {2, 0, 1};
    for (int k = 0; k < 3; ++k) {
        fs::create_directories(root / names[k]);
        for (std::size_t i = 0; i < per_class; ++i)
            data::save_png(root / names[k] / (std::to_string(i) + ".png"), bar_image(kinds[k], g), {1, 16, 16});
    }
}

std::atomic<bool> interrupted{false};

int main(int argc, char** argv) {
    const fs::path work = argc > 1 ? argv[1] : "/tmp/typenet-png-folder";
    if (!fs::exists(work / "train")) write_folder(work / "train", 100, 1), write_folder(work / "val", 30, 2);
    // [train]
    const bars train(work / "train"), val(work / "val");
    fit_options o{.epochs = 6, .data = {.batch = 32, .augment = {.pad_crop = 1}}, .optimizer = {.momentum = 0.9},
                  .model_name = "bars"};
    o.schedule.base_lr = 0.05;
    if (fs::exists(work / "run" / "last.ckpt")) o.resume = work / "run" / "last.ckpt";  // continue after Ctrl-C
    std::signal(SIGINT, [](int) { interrupted = true; });
    progress_bar bar(std::cout);
    checkpoint_saver saver(work / "run", {.watch = monitor::val_loss});  // last.ckpt (also on Ctrl-C), best.ckpt
    stop_flag on_ctrl_c(interrupted);
    bar_net model(/*seed=*/1);
    const fit_result r = fit(model, train, val, o, {&bar, &on_ctrl_c, &saver});
    if (!r.stop_reason.empty()) return std::printf("%s: run me again to resume\n", r.stop_reason.c_str()), 130;
    // [/train]
    // [predict]
    bar_net loaded(0);
    const io::inference_info info = load_for_inference(loaded, work / "run" / "best.ckpt");
    const fs::path picture = work / "val" / "vertical" / "0.png";
    const auto pixels = data::load_image(picture, {1, 16, 16});
    const auto p = predict(loaded, std::span<const std::uint8_t>(pixels), info.normalization);
    for (const auto& [k, prob] : top_k(p, 3)) std::printf("%s: %-10s %.3f\n", picture.c_str(), info.class_names[k].c_str(), prob);
    // [/predict]
    return info.class_names[top_k(p, 1)[0].first] == "vertical" ? 0 : 1;
}
