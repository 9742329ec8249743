// src/cli/interrupt.hpp (private to the tools) - SIGINT and SIGTERM as a request to stop.
//
// install_interrupt_handlers() makes the first SIGINT or SIGTERM set interrupted() (which
// typenet::stop_flag watches: the run finishes its step, writes last.ckpt and ends) and remember
// the signal; a second one ends the process at once with the default action. The tool then
// exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports a
// process the signal ended.
#pragma once

#include <atomic>

namespace typenet::train {

void install_interrupt_handlers();
const std::atomic<bool>& interrupted();
int interrupt_signal();  // the signal that set interrupted(), 0 if none

}  // namespace typenet::train
