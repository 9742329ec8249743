#pragma once
// What a binary knows of its own build, for the records a training run keeps (invocations.jsonl).

#include <string_view>

namespace typenet::train {

// The git commit the library was built from (7 hex digits), "+changes" appended when tracked
// files differed from it, "unknown" without git. Refreshed on every build (cmake/build_info.cmake).
std::string_view build_commit() noexcept;

// The compiler and the build type, fixed when the library was compiled.
std::string_view build_compiler() noexcept;
std::string_view build_type() noexcept;

}  // namespace typenet::train
