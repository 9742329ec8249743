// typenet/train/checkpoint_io.hpp - a network (and its optimizer) to and from a checkpoint.
//
// Tensors are stored under their stable names: parameters as "<i>.<kind>.<tensor>", state
// (batch-norm running statistics) likewise, optimizer buffers as "optimizer.<param>.<buffer>".
// Tensors named "data.*" (io::inference_info) are not the network's and are ignored here.
// Loading checks, in order: the element type, the network name and structure hash, then every
// tensor's presence and shape, and says exactly what differs.
#pragma once

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "typenet/io/checkpoint.hpp"
#include "typenet/optim.hpp"

namespace typenet::train {

namespace detail {
template <class T>
io::tensor_record record(const std::string& name, std::span<const T> v, std::span<const std::size_t> dims) {
    io::tensor_record r;
    r.name = name;
    r.dtype = sizeof(T);
    for (auto d : dims) r.dims.push_back(d);
    r.bytes.resize(v.size_bytes());
    if (!v.empty()) std::memcpy(r.bytes.data(), v.data(), v.size_bytes());  // empty: data() may be null
    return r;
}
}  // namespace detail

template <class Net>
std::uint64_t structure_hash() {
    return io::fnv1a64(Net::structure());
}

template <class Net>
io::checkpoint make_checkpoint(Net& net, const std::string& network_name, optimizer<typename Net::value_type>* opt,
                               std::vector<std::pair<std::string, std::string>> metadata) {
    using T = typename Net::value_type;
    io::checkpoint ck;
    ck.network = network_name;
    ck.structure_hash = structure_hash<Net>();
    ck.metadata = std::move(metadata);
    net.for_each_parameter([&](const parameter_view<T>& p) {
        ck.tensors.push_back(detail::record<T>(std::string(p.name), p.value, p.dims));
    });
    net.for_each_state([&](const state_view<T>& s) {
        ck.tensors.push_back(detail::record<T>(std::string(s.name), s.value, s.dims));
    });
    if (opt) {
        opt->for_each_state([&](const std::string& name, std::span<T> buf) {
            const std::size_t n = buf.size();
            ck.tensors.push_back(detail::record<T>("optimizer." + name, buf, std::span<const std::size_t>(&n, 1)));
        });
    }
    return ck;
}

// Copies the checkpoint's tensors into net (and opt when given). Throws io::checkpoint_error
// naming the file and what differs. Nothing is modified unless everything matches.
template <class Net>
void restore_checkpoint(const io::checkpoint& ck, const std::string& file, Net& net, const std::string& network_name,
                        optimizer<typename Net::value_type>* opt) {
    using T = typename Net::value_type;
    struct target {
        std::string name;
        std::span<T> dst;
        std::vector<std::uint64_t> dims;
    };
    std::vector<target> targets;
    net.for_each_parameter([&](const parameter_view<T>& p) {
        targets.push_back({std::string(p.name), p.value, {p.dims.begin(), p.dims.end()}});
    });
    net.for_each_state([&](const state_view<T>& s) {
        targets.push_back({std::string(s.name), s.value, {s.dims.begin(), s.dims.end()}});
    });
    if (opt)
        opt->for_each_state([&](const std::string& name, std::span<T> buf) {
            targets.push_back({"optimizer." + name, buf, {buf.size()}});
        });

    // The first tensor that differs, for the message.
    std::string difference;
    for (const auto& t : targets) {
        const io::tensor_record* r = ck.find_tensor(t.name);
        if (!r) {
            difference = "tensor '" + t.name + "' (" + io::dims_text(t.dims) + ") is missing from the checkpoint";
            break;
        }
        if (r->dims != t.dims) {
            difference = "tensor '" + t.name + "' is " + io::dims_text(r->dims) + " in the checkpoint but " +
                         io::dims_text(t.dims) + " in this network";
            break;
        }
        if (r->dtype != sizeof(T)) {
            difference = "tensor '" + t.name + "' holds " + std::to_string(r->dtype * 8) + "-bit floats, this network " +
                         std::to_string(sizeof(T) * 8) + "-bit";
            break;
        }
        if (r->bytes.size() != t.dst.size_bytes()) {  // a checkpoint put together in memory, not read from a file
            difference = "tensor '" + t.name + "' holds " + std::to_string(r->bytes.size()) + " bytes, its dims need " +
                         std::to_string(t.dst.size_bytes());
            break;
        }
    }
    // Extra optimizer tensors are fine when only the network is loaded (evaluation).
    if (difference.empty())
        for (const auto& r : ck.tensors) {
            const bool known = std::any_of(targets.begin(), targets.end(), [&](const target& t) { return t.name == r.name; });
            const bool inference_data = r.name.rfind("data.", 0) == 0;  // io::inference_info, not the network's
            if (!known && !inference_data && !(r.name.rfind("optimizer.", 0) == 0 && !opt)) {
                difference = "the checkpoint has tensor '" + r.name + "' (" + io::dims_text(r.dims) +
                             ") that this network does not";
                break;
            }
        }
    if (ck.network != network_name || ck.structure_hash != structure_hash<Net>()) {
        std::string msg = file + ": written by network '" + ck.network + "' (structure hash " +
                          std::to_string(ck.structure_hash) + ") but loading into '" + network_name +
                          "' (structure hash " + std::to_string(structure_hash<Net>()) + ")";
        if (!difference.empty()) msg += "; first difference: " + difference;
        throw io::checkpoint_error(msg);
    }
    if (!difference.empty()) throw io::checkpoint_error(file + ": " + difference);

    for (const auto& t : targets) {
        const io::tensor_record* r = ck.find_tensor(t.name);
        if (!r->bytes.empty()) std::memcpy(t.dst.data(), r->bytes.data(), r->bytes.size());  // empty: null data()
    }
}

}  // namespace typenet::train
