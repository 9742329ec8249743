// typenet-train's networks: model_list.hpp's list, each network's training compiled in its own
// translation unit (src/cli/model_NAME.cpp instantiates run_model<Net>), so that the
// template-heavy instantiations compile in parallel.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "model_list.hpp"

namespace typenet::cli {

// Defined in trainer.hpp; instantiated in src/cli/model_NAME.cpp.
template <class Net>
int run_model(const train::train_config& c);

struct model_entry {
    const char* name;
    const char* description;
    int (*run)(const train::train_config&);
};

inline const std::vector<model_entry>& model_registry() {
    static const std::vector<model_entry> models = [] {
        std::vector<model_entry> v;
        for_each_model([&](auto m) { v.push_back({m.name, m.description, &run_model<typename decltype(m)::type>}); });
        return v;
    }();
    return models;
}

}  // namespace typenet::cli
