// src/cli/invocation.cpp - see invocation.hpp.
#include "invocation.hpp"

#include <ctime>
#include <string_view>

#include "build_info.hpp"
#include "typenet/train/escape.hpp"

namespace typenet::train {

std::string invocation_json(const invocation& inv) {
    char when[32];
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    auto str = [](std::string_view v) { return json_string(std::string(v)); };
    return std::string("{\"started\": ") + str(when) + ", \"commit\": " + str(build_commit()) +
           ", \"compiler\": " + str(build_compiler()) + ", \"build_type\": " + str(build_type()) +
           ", \"first_epoch\": " + std::to_string(inv.first_epoch) + ", \"epochs\": " + std::to_string(inv.epochs) +
           ", \"kernels\": " + str(inv.kernels) + ", \"winograd\": " + (inv.winograd ? "true" : "false") +
           ", \"threads\": " + std::to_string(inv.threads) + "}";
}

}  // namespace typenet::train
