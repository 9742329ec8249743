// src/cli/convert_tool.hpp (private to the tools) - what typenet-convert's main and its per-network
// code (convert_run.hpp, compiled once per network in the generated model_TYPE.cpp) share: the
// error that prints the usage, the --class-names parser (convert_tool.cpp, in typenet_cli, because
// every tool links every network's object) and the commands' per-network bodies.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/io/checkpoint.hpp"
#include "typenet/io/npz.hpp"

namespace typenet::cli::convert_tool {

// A bad command line: typenet-convert prints the message and the usage, exit code 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "a,b,c" -> {"a", "b", "c"} (--class-names).
std::vector<std::string> split_names(const std::string& s);

// The commands for network Net, each returning the exit code. Defined in convert_run.hpp;
// instantiated in the generated model_TYPE.cpp.
// export: the checkpoint ck, read from file ckpt (its network is Net), to out (.npz).
template <class Net>
int export_npz(const io::checkpoint& ck, const std::string& ckpt, const std::string& out);
// import: in (.npz) to the checkpoint out, of the network called model.
template <class Net>
int import_npz(const std::string& model, const std::string& class_names, const std::string& in, const std::string& out);
// init: a fresh network called model, initialised with seed, to out.
template <class Net>
int init(const std::string& model, std::uint64_t seed, const std::string& out);
// logits: the eval-mode logits of inputs' array 'x' (read from file in) by the checkpoint ck, to out.
template <class Net>
int logits(const io::checkpoint& ck, const std::string& ckpt, const io::npz_archive& inputs, const std::string& in,
           const std::string& out);
// structure: Net::structure() on stdout.
template <class Net>
int structure();

}  // namespace typenet::cli::convert_tool
