// libFuzzer target: train::config_from_json, which typenet-train --config runs on any file a
// user names (src/cli/config.cpp). Only config_error may come out, naming the input; a config
// that loads writes a config.json that loads to the same settings.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "config.hpp"  // src/cli

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace typenet::train;
    try {
        const train_config c = config_from_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
        if (config_from_json(c.to_json(), "again.json").to_pairs() != c.to_pairs()) std::abort();
    } catch (const config_error& e) {
        if (std::strstr(e.what(), "fuzz.json") == nullptr) std::abort();
    }
    return 0;
}
