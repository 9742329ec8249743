// src/cli/models.cpp (private to the tools) - the registry of models.hpp: every network's entry
// points, whose definitions the generated build/generated/model_TYPE.cpp compile. This file sees
// only their declarations, so it instantiates nothing.
#include "models.hpp"

namespace typenet::cli {

const std::vector<model_entry>& model_registry() {
    static const std::vector<model_entry> models = [] {
        std::vector<model_entry> v;
        for_each_model([&](auto m) {
            using Net = typename decltype(m)::type;
            v.push_back({m.name, m.description, &run_model<Net>, &predict_tool::run<Net>,
                         &convert_tool::export_npz<Net>, &convert_tool::import_npz<Net>, &convert_tool::init<Net>,
                         &convert_tool::logits<Net>, &convert_tool::structure<Net>, &bench_tool::run<Net>,
                         &bench_tool::memory_probe<Net>});
        });
        return v;
    }();
    return models;
}

const model_entry* find_model(std::string_view name) {
    for (const auto& m : model_registry())
        if (name == m.name) return &m;
    return nullptr;
}

}  // namespace typenet::cli
