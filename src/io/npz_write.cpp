// write_npz (io/npz.hpp): the archive's bytes, replaced atomically with the project's helper
// (train::write_file_atomic: a temporary file beside it, renamed over it).
#include <stdexcept>
#include <string>

#include "typenet/io/npz.hpp"
#include "typenet/train/report.hpp"  // write_file_atomic

namespace typenet::io {

void write_npz(const std::filesystem::path& file, const std::vector<npy_array>& arrays) {
    const std::vector<unsigned char> bytes = encode_npz(arrays);
    try {
        train::write_file_atomic(file, std::string(bytes.begin(), bytes.end()));
    } catch (const std::runtime_error& e) {
        throw npz_error(e.what());  // the message names the file
    }
}

}  // namespace typenet::io
