// typenet/train/npz_io.hpp - a network's weights to and from a NumPy .npz archive (io/npz.hpp),
// by tensor name: what PyTorch, JAX or NumPy code reads with numpy.load and writes with
// numpy.savez.
//
// Names are the checkpoint's (checkpoint_io.hpp): "<i>.<kind>.<tensor>", e.g. "0.conv_bn.weight",
// "0.conv_bn.running_mean", "8.dense.bias", and inside residual blocks the nested positions
// ("3.residual.main.0.conv_bn.weight"). Every parameter and every piece of state (batch-norm
// running statistics) is an array of its own. Shapes and element order are PyTorch's, with no
// transposition: a convolution's weight is (O, I, KH, KW) like Conv2d.weight, a dense layer's
// (Out, In) like Linear.weight, biases and batch-norm vectors (C,). Arrays are float32; a double
// network's values are rounded to float32 on export.
//
// save_npz optionally adds the input normalisation as "data.mean" and "data.std" (C,), the
// names checkpoints give them. load_npz checks everything before it writes anything: every tensor
// the network has must be in the archive with its exact shape; the archive must hold nothing else
// but "data.mean" and "data.std" (both or neither, one value per input channel, std positive).
// An npz_error names the source and lists every missing tensor (with its shape), every
// unexpected one and every shape that differs (expected and found). The values are copied in
// place; the network's structure and mode are untouched.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "typenet/data/normalization.hpp"
#include "typenet/io/npz.hpp"
#include "typenet/layer.hpp"

namespace typenet::train {

// Every parameter, then every state tensor, in the network's traversal order (a checkpoint's order).
template <class Net>
std::vector<io::npy_array> network_arrays(Net& net) {
    using T = typename Net::value_type;
    std::vector<io::npy_array> out;
    const auto add = [&](std::string_view name, std::span<const T> v, std::span<const std::size_t> dims) {
        io::npy_array a;
        a.name = std::string(name);
        a.shape.assign(dims.begin(), dims.end());
        a.values.assign(v.begin(), v.end());  // T -> float
        out.push_back(std::move(a));
    };
    net.for_each_parameter([&](const parameter_view<T>& p) { add(p.name, p.value, p.dims); });
    net.for_each_state([&](const state_view<T>& s) { add(s.name, s.value, s.dims); });
    return out;
}

// The network's arrays, and data.mean / data.std when `norm` is given.
template <class Net>
void save_npz(Net& net, const std::filesystem::path& file, const data::normalization* norm = nullptr) {
    std::vector<io::npy_array> arrays = network_arrays(net);
    if (norm) {
        if (norm->mean.size() != norm->std.size())
            throw io::npz_error(file.string() + ": the normalisation has " + std::to_string(norm->mean.size()) +
                                " means and " + std::to_string(norm->std.size()) + " standard deviations");
        arrays.push_back({"data.mean", {norm->mean.size()}, norm->mean, 4});
        arrays.push_back({"data.std", {norm->std.size()}, norm->std, 4});
    }
    io::write_npz(file, arrays);
}

// Loads every tensor of `net` from the archive (see the top of this file for what is checked);
// returns the normalisation when the archive has data.mean and data.std. `source` names the
// archive in messages.
template <class Net>
std::optional<data::normalization> load_npz(Net& net, const io::npz_archive& archive, const std::string& source) {
    using T = typename Net::value_type;
    struct target {
        std::string name;
        std::span<T> dst;
        std::vector<std::uint64_t> shape;
        const io::npy_array* found = nullptr;
    };
    std::vector<target> targets;
    net.for_each_parameter([&](const parameter_view<T>& p) {
        targets.push_back({std::string(p.name), p.value, {p.dims.begin(), p.dims.end()}});
    });
    net.for_each_state([&](const state_view<T>& s) {
        targets.push_back({std::string(s.name), s.value, {s.dims.begin(), s.dims.end()}});
    });

    std::vector<std::string> problems;
    for (auto& t : targets) {
        t.found = archive.find(t.name);
        if (!t.found)
            problems.push_back("missing '" + t.name + "' " + io::shape_text(t.shape));
        else if (t.found->shape != t.shape)
            problems.push_back("'" + t.name + "' is " + io::shape_text(t.found->shape) + ", the network needs " +
                               io::shape_text(t.shape));
        else if (t.found->values.size() != t.dst.size())  // an archive put together in memory
            problems.push_back("'" + t.name + "' holds " + std::to_string(t.found->values.size()) + " values for shape " +
                               io::shape_text(t.shape));
    }
    const io::npy_array* mean = nullptr;
    const io::npy_array* sd = nullptr;
    for (const auto& a : archive.arrays) {
        if (a.name == "data.mean") mean = &a;
        else if (a.name == "data.std") sd = &a;
        else if (std::none_of(targets.begin(), targets.end(), [&](const target& t) { return t.name == a.name; }))
            problems.push_back("unexpected '" + a.name + "' " + io::shape_text(a.shape) + " (not a tensor of this network)");
    }
    constexpr std::size_t channels = Net::input_shape::dims[0];  // data::norm_channels: C of (C, H, W), N of (N)
    std::optional<data::normalization> norm;
    if (bool(mean) != bool(sd)) {
        problems.push_back(std::string("'") + (mean ? "data.mean" : "data.std") + "' without '" +
                           (mean ? "data.std" : "data.mean") + "'");
    } else if (mean) {
        const std::vector<std::uint64_t> want{channels};
        if (mean->shape != want || sd->shape != want) {
            problems.push_back(std::string("'data.mean' is ") + io::shape_text(mean->shape) + " and 'data.std' " +
                               io::shape_text(sd->shape) + ", the network's input needs " + io::shape_text(want));
        } else {
            norm.emplace();
            norm->mean = mean->values;
            norm->std = sd->values;
            for (std::size_t c = 0; c < channels; ++c)
                if (!(norm->std[c] > 0) || !std::isfinite(norm->std[c]) || !std::isfinite(norm->mean[c]))
                    problems.push_back(std::string("channel ") + std::to_string(c) + " of data.mean / data.std is " +
                                       std::to_string(norm->mean[c]) + " / " + std::to_string(norm->std[c]) +
                                       " (std must be positive, both finite)");
        }
    }
    if (!problems.empty()) {
        std::string msg = source + ": does not fit this network (" + std::to_string(problems.size()) + " problem" +
                          (problems.size() == 1 ? "" : "s") + "): ";
        for (std::size_t i = 0; i < problems.size() && i < 12; ++i) msg += (i ? "; " : "") + problems[i];
        if (problems.size() > 12) msg += std::string("; and ") + std::to_string(problems.size() - 12) + " more";
        throw io::npz_error(msg);
    }
    for (auto& t : targets)
        for (std::size_t i = 0; i < t.dst.size(); ++i) t.dst[i] = T(t.found->values[i]);
    return norm;
}

template <class Net>
std::optional<data::normalization> load_npz(Net& net, const std::filesystem::path& file) {
    return load_npz(net, io::read_npz(file), file.string());
}

}  // namespace typenet::train
