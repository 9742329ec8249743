// src/data/stream_bytes.hpp - what the readers of outside bytes share (internal, not installed):
// how many bytes a stream holds, and opening a file whose size the reader checks its header against.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "typenet/data/cifar10.hpp"  // data_error

namespace typenet::data::detail {

// The bytes from the stream's position to its end, when it can seek (files, string streams);
// nothing for a pipe. The position is left where it was.
inline std::optional<std::uint64_t> bytes_left(std::istream& in) {
    const std::streampos here = in.tellg();
    if (here == std::streampos(-1)) return std::nullopt;
    in.seekg(0, std::ios::end);
    const std::streampos end = in.tellg();
    in.clear();
    in.seekg(here);
    if (end == std::streampos(-1) || end < here || !in) {
        in.clear();
        return std::nullopt;
    }
    return std::uint64_t(end - here);
}

// A regular file opened for binary reading, with its size; data_error naming the file otherwise.
struct opened_file {
    std::ifstream in;
    std::uint64_t size = 0;
};
inline opened_file open_data_file(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) throw data_error(file.string() + ": no such file");
    if (!std::filesystem::is_regular_file(file, ec)) throw data_error(file.string() + ": not a regular file");
    opened_file f;
    f.size = std::filesystem::file_size(file, ec);
    if (ec) throw data_error(file.string() + ": cannot read its size: " + ec.message());
    f.in.open(file, std::ios::binary);
    if (!f.in) throw data_error(file.string() + ": cannot open for reading");
    return f;
}

// The CIFAR record layouts: label bytes (one per entry of classes, each below it), then the
// 3,072 pixel bytes. Reads at most `limit` records of `bytes` (the stream's size), pixels and
// one label list per label byte; errors name the source, the record and its byte offset.
struct record_format {
    std::string name;                      // "CIFAR-10", in the size error
    std::vector<std::size_t> classes;      // per label byte
    std::vector<std::string> label_names;  // "label", "coarse label", ...
};
void read_label_records(std::istream& in, std::uint64_t bytes, const std::string& source, std::size_t limit,
                        const record_format& format, std::vector<std::uint8_t>& pixels,
                        std::vector<std::vector<std::int32_t>>& labels);

}  // namespace typenet::data::detail
