// typenet/data/normalization.hpp - per-channel normalisation constants (data/source.hpp says
// how they are computed and applied); stored in every checkpoint typenet::fit writes.
#pragma once

#include <vector>

namespace typenet::data {

struct normalization {
    std::vector<float> mean, std;  // one per channel (data/source.hpp)
};

}  // namespace typenet::data
