// src/cli/convert_run.hpp (private to the tools) - typenet-convert's commands for one network
// (declared in convert_tool.hpp): for the generated model_TYPE.cpp alone, which compiles them next
// to the network's training code and shares its instantiations (forward, checkpoint restore and
// writing); a file that saw this and took them for every network would compile every network again.
#pragma once

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convert_tool.hpp"
#include "typenet/data/source.hpp"  // cifar10_class_names
#include "typenet/io/checkpoint.hpp"
#include "typenet/train/checkpoint_io.hpp"
#include "typenet/train/npz_io.hpp"

namespace typenet::cli::convert_tool {

template <class Net>
std::unique_ptr<Net> load_checkpoint_net(const io::checkpoint& ck, const std::string& file) {
    auto net = std::make_unique<Net>(0);
    train::restore_checkpoint(ck, file, *net, ck.network, nullptr);
    return net;
}

template <class Net>
int export_npz(const io::checkpoint& ck, const std::string& ckpt, const std::string& out) {
    auto net = load_checkpoint_net<Net>(ck, ckpt);
    std::optional<data::normalization> norm;
    if (io::has_inference_info(ck)) norm = io::read_inference_info(ck, ckpt).normalization;
    train::save_npz(*net, out, norm ? &*norm : nullptr);
    const auto arrays = train::network_arrays(*net);
    std::size_t values = 0;
    for (const auto& a : arrays) values += a.values.size();
    std::printf("%s: %zu arrays of %s (%zu values)%s -> %s\n", ckpt.c_str(), arrays.size(), ck.network.c_str(), values,
                norm ? " and data.mean, data.std" : "", out.c_str());
    return 0;
}

template <class Net>
int import_npz(const std::string& model, const std::string& class_names, const std::string& in, const std::string& out) {
    auto net = std::make_unique<Net>(0);
    const std::optional<data::normalization> norm = train::load_npz(*net, std::filesystem::path(in));
    io::checkpoint ck = train::make_checkpoint(*net, model, nullptr, {{"imported_from", in}});
    if (norm) {
        std::vector<std::string> names = class_names.empty() ? data::cifar10_class_names() : split_names(class_names);
        if (names.size() != Net::output_shape::size)
            throw usage_error(std::string("--class-names: ") + std::to_string(names.size()) + " names for " + model + "'s " +
                              std::to_string(Net::output_shape::size) + " classes");
        io::store_inference_info(ck, {model, Net::input_shape::to_string(), names, *norm});
    }
    io::write_checkpoint(out, ck);
    std::printf("%s: %zu tensors of %s%s -> %s%s\n", in.c_str(), ck.tensors.size() - (norm ? 2 : 0), model.c_str(),
                norm ? " and data.mean, data.std" : "", out.c_str(),
                norm ? "" : " (no data.mean / data.std: typenet-train --eval-only will recompute the normalisation)");
    return 0;
}

template <class Net>
int init(const std::string& model, std::uint64_t seed, const std::string& out) {
    auto net = std::make_unique<Net>(seed);
    io::write_checkpoint(out, train::make_checkpoint(*net, model, nullptr, {{"seed", std::to_string(seed)}}));
    std::printf("%s: a fresh %s (seed %llu)\n", out.c_str(), model.c_str(), static_cast<unsigned long long>(seed));
    return 0;
}

template <class Net>
int logits(const io::checkpoint& ck, const std::string& ckpt, const io::npz_archive& inputs, const std::string& in,
           const std::string& out) {
    auto net = load_checkpoint_net<Net>(ck, ckpt);
    const io::npy_array* x = inputs.find("x");
    if (!x) throw io::npz_error(in + ": no array 'x' (the network's inputs, N x " + Net::input_shape::to_string() + ")");
    std::vector<std::uint64_t> want{0};
    for (auto d : Net::input_shape::dims) want.push_back(d);
    want[0] = x->shape.empty() ? 0 : x->shape[0];
    if (x->shape != want || want[0] == 0)
        throw io::npz_error(in + ": array 'x' is " + io::shape_text(x->shape) + ", the network takes (N, " +
                            io::shape_text(std::vector<std::uint64_t>(want.begin() + 1, want.end())).substr(1) +
                            " with N at least 1");
    constexpr std::size_t in_size = Net::input_shape::size, classes = Net::output_shape::size;
    const std::size_t n = std::size_t(want[0]);
    io::npy_array logits{"logits", {n, classes}, std::vector<float>(n * classes), 4};
    net->eval();
    for (std::size_t first = 0; first < n; first += 64) {
        const std::size_t count = std::min<std::size_t>(64, n - first);
        typename Net::input_tensor batch(count);
        std::copy_n(x->values.data() + first * in_size, count * in_size, batch.data());
        const auto& y = net->forward(batch);
        std::copy_n(y.data(), count * classes, logits.values.data() + first * classes);
    }
    io::write_npz(out, {logits});
    std::printf("%s: logits of %zu inputs from %s -> %s\n", ckpt.c_str(), n, in.c_str(), out.c_str());
    return 0;
}

template <class Net>
int structure() {
    std::printf("%s\n", Net::structure().c_str());
    return 0;
}

}  // namespace typenet::cli::convert_tool
