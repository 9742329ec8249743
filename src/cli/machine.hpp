// src/cli/machine.hpp - the processor a tool ran on, for the records that carry figures
// (typenet-train's invocations.jsonl, typenet-bench's JSON): runs on these machines move between
// processors (an AMD EPYC one session, an Intel Xeon the next), and a figure means little
// without the machine beside it.
#pragma once

#include <string>

namespace typenet::train {

// The "model name" of /proc/cpuinfo's first processor (e.g. "AMD EPYC"), or "unknown".
std::string cpu_model_name();

}  // namespace typenet::train
