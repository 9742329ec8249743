// typenet/data/error.hpp - what every data reader and source shares: the error type and "no limit".
#pragma once

#include <cstddef>
#include <limits>
#include <stdexcept>

namespace typenet::data {

// A problem with outside data; the message names the file (or source) and, where it applies,
// the record, label or image.
class data_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "Read everything": the default of every reader's record limit.
inline constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

}  // namespace typenet::data
