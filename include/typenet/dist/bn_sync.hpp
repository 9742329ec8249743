// typenet/dist/bn_sync.hpp - which ranks' slices the batch statistics of a data-parallel fit
// cover: fit_options::bn_sync (fit.hpp), typenet-train --bn-sync. See docs/distributed.md.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace typenet {

// How a data-parallel fit's batch statistics cover the ranks' slices (fit_options::bn_sync;
// typenet-train --bn-sync global|local|group:K; docs/distributed.md):
//   global   every rank's slice: synchronized batch norm, the statistics of the whole batch; the
//            running statistics are the same on every rank
//   local    each rank's own slice (plain data parallelism); the running statistics are averaged
//            over the ranks after every step, so that the replicas stay the same
//   group:K  the slices of K consecutive ranks (K divides the number of ranks); the running
//            statistics are averaged over the ranks as for local
// Group, layer and instance norm use no batch statistics: the setting changes nothing for them.
struct bn_sync_mode {
    enum kind { global, local, group };
    kind how = global;
    std::size_t group_size = 0;  // with group: K
    std::string to_string() const {
        return how == global ? "global" : how == local ? "local" : "group:" + std::to_string(group_size);
    }
    // "global", "local" or "group:K" (K >= 1); std::invalid_argument otherwise.
    static bn_sync_mode parse(std::string_view text) {
        if (text == "global") return {global, 0};
        if (text == "local") return {local, 0};
        if (text.starts_with("group:")) {
            const std::string k(text.substr(6));
            if (!k.empty() && k.size() < 10 && k.find_first_not_of("0123456789") == std::string::npos && std::stoul(k) >= 1)
                return {group, std::stoul(k)};
        }
        throw std::invalid_argument("'" + std::string(text) + "' is not global, local or group:K (K >= 1 ranks)");
    }
    // std::invalid_argument when this is group:K and K does not divide `ranks`.
    void check_ranks(std::size_t ranks) const {
        if (how == group && (group_size == 0 || ranks % group_size != 0))
            throw std::invalid_argument(to_string() + ": groups of " + std::to_string(group_size) +
                                        " ranks do not divide " + std::to_string(ranks) + " ranks");
    }
};

}  // namespace typenet
