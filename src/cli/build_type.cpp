// The compiler and build type this library was compiled with (see build_info.hpp).
#include "build_info.hpp"

#ifndef TYPENET_BUILD_TYPE
#define TYPENET_BUILD_TYPE "unknown"
#endif

namespace typenet::train {

std::string_view build_compiler() noexcept {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "g++ " __VERSION__;
#else
    return "unknown";
#endif
}

std::string_view build_type() noexcept { return TYPENET_BUILD_TYPE; }

}  // namespace typenet::train
