// src/cli/invocation.cpp - see invocation.hpp.
#include "invocation.hpp"

#include <ctime>
#include <string_view>

#include "build_info.hpp"
#include "machine.hpp"
#include <nlohmann/json.hpp>

namespace typenet::train {

std::string invocation_json(const invocation& inv) {
    char when[32];
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    nlohmann::ordered_json j;
    j["started"] = when;
    j["commit"] = std::string(build_commit());
    j["compiler"] = std::string(build_compiler());
    j["build_type"] = std::string(build_type());
    j["first_epoch"] = inv.first_epoch;
    j["epochs"] = inv.epochs;
    j["kernels"] = inv.kernels;
    j["winograd"] = inv.winograd;
    j["threads"] = inv.threads;
    j["cpu"] = cpu_model_name();  // the figures of these epochs are this processor's
    // strings that are not UTF-8 (a compiler's name, say) become U+FFFD rather than an exception
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace typenet::train
