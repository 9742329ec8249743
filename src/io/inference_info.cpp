// io::inference_info in and out of a checkpoint (declared in io/checkpoint.hpp).
#include <cmath>
#include <cstring>

#include "../train/text_numbers.hpp"
#include "typenet/io/checkpoint.hpp"

namespace typenet::io {

namespace {
tensor_record float_record(const std::string& name, const std::vector<float>& v) {
    tensor_record r;
    r.name = name;
    r.dtype = 4;
    r.dims = {v.size()};
    r.bytes.resize(v.size() * sizeof(float));
    if (!v.empty()) std::memcpy(r.bytes.data(), v.data(), r.bytes.size());
    return r;
}
void set_meta(checkpoint& ck, const std::string& key, const std::string& value) {
    for (auto& [k, v] : ck.metadata)
        if (k == key) {
            v = value;
            return;
        }
    ck.metadata.emplace_back(key, value);
}
}  // namespace

void store_inference_info(checkpoint& ck, const inference_info& info) {
    if (info.normalization.mean.size() != info.normalization.std.size())
        throw checkpoint_error("inference_info: " + std::to_string(info.normalization.mean.size()) + " means but " +
                               std::to_string(info.normalization.std.size()) + " standard deviations");
    ck.network = info.model;
    set_meta(ck, "model.input_shape", info.input_shape);
    set_meta(ck, "model.classes", std::to_string(info.class_names.size()));
    for (std::size_t k = 0; k < info.class_names.size(); ++k) set_meta(ck, "model.class." + std::to_string(k), info.class_names[k]);
    std::erase_if(ck.tensors, [](const tensor_record& t) { return t.name == "data.mean" || t.name == "data.std"; });
    ck.tensors.push_back(float_record("data.mean", info.normalization.mean));
    ck.tensors.push_back(float_record("data.std", info.normalization.std));
}

bool has_inference_info(const checkpoint& ck) {
    return ck.find_meta("model.input_shape") && ck.find_meta("model.classes") && ck.find_tensor("data.mean") &&
           ck.find_tensor("data.std");
}

inference_info read_inference_info(const checkpoint& ck, const std::string& file) {
    if (!has_inference_info(ck))
        throw checkpoint_error(file + ": this checkpoint does not say what inference needs (input shape, class names, "
                               "normalisation): it was written before typenet stored them there (typenet-train before "
                               "December 2026). Its parameters still load: typenet-train --eval-only with --model and "
                               "the training data, which recomputes the normalisation");
    inference_info info;
    info.model = ck.network;
    info.input_shape = *ck.find_meta("model.input_shape");
    const std::string& count = *ck.find_meta("model.classes");
    const auto read = train::detail::decimal_whole(count, 1000000);  // strtoull took " 3" and "+3"
    if (!read) throw checkpoint_error(file + ": model.classes is '" + count + "', not a number of classes");
    const std::uint64_t classes = *read;
    for (std::size_t k = 0; k < classes; ++k) {
        const std::string* name = ck.find_meta("model.class." + std::to_string(k));
        if (!name) throw checkpoint_error(file + ": model.class." + std::to_string(k) + " is missing (" + count + " classes)");
        info.class_names.push_back(*name);
    }
    const auto vector_of = [&](const char* key) {
        const tensor_record& t = *ck.find_tensor(key);
        if (t.dtype != 4 || t.dims.size() != 1 || t.bytes.size() != t.dims[0] * 4)
            throw checkpoint_error(file + ": tensor '" + std::string(key) + "' is not a vector of 32-bit floats");
        std::vector<float> v(t.dims[0]);
        if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
        return v;
    };
    info.normalization.mean = vector_of("data.mean");
    info.normalization.std = vector_of("data.std");
    if (info.normalization.mean.size() != info.normalization.std.size() || info.normalization.mean.empty())
        throw checkpoint_error(file + ": data.mean has " + std::to_string(info.normalization.mean.size()) +
                               " values and data.std " + std::to_string(info.normalization.std.size()));
    for (std::size_t c = 0; c < info.normalization.std.size(); ++c)
        if (!(info.normalization.std[c] > 0) || !std::isfinite(info.normalization.std[c]) ||
            !std::isfinite(info.normalization.mean[c]))
            throw checkpoint_error(file + ": channel " + std::to_string(c) + " of the stored normalisation has mean " +
                                   std::to_string(info.normalization.mean[c]) + " and std " +
                                   std::to_string(info.normalization.std[c]));
    return info;
}

}  // namespace typenet::io
