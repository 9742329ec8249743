// src/cli/invocation.hpp - the record of which binary wrote a run's epochs (typenet-train).
#pragma once

#include <cstddef>
#include <string>

namespace typenet::train {

// One line of a run's invocations.jsonl: each start or resume of typenet-train on a run
// directory appends which binary ran it (commit, compiler, build type), when (UTC), from which
// epoch, on which kernels, and on which processor (cpu, machine.hpp), so a run's record names
// every binary and machine that wrote its epochs.
struct invocation {
    std::size_t first_epoch = 1, epochs = 0, threads = 0;
    std::string kernels;  // kernels::isa_name()
    bool winograd = false;
};
std::string invocation_json(const invocation& inv);

}  // namespace typenet::train
