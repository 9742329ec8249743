#include "typenet/data/cifar10.hpp"

#include "stream_bytes.hpp"
#include "typenet/data/source.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <istream>

namespace typenet::data {

namespace fs = std::filesystem;

using detail::bytes_left;

namespace detail {

void read_label_records(std::istream& in, std::uint64_t bytes, const std::string& source, std::size_t limit,
                        const record_format& f, std::vector<std::uint8_t>& pixels,
                        std::vector<std::vector<std::int32_t>>& labels) {
    const std::size_t nl = f.classes.size(), record = nl + cifar10_image_bytes;
    const std::string record_text = std::to_string(record);
    if (bytes == 0 || bytes % record != 0)
        throw data_error(source + ": size " + std::to_string(bytes) + " bytes is not a positive multiple of the " +
                         record_text + "-byte " + f.name + " record (" + std::to_string(bytes / record) +
                         " whole records and " + std::to_string(bytes % record) + " bytes left over)");
    const std::size_t records = std::min<std::uint64_t>(bytes / record, limit);
    const std::uint64_t wanted = std::uint64_t(records) * record;
    // Memory follows what the stream really holds, never `bytes` alone: a stream that can tell
    // its length (a file, a string) and holds less is a short read before anything is allocated;
    // one that cannot (a pipe) is read in chunks, so that memory grows only with what arrives.
    const auto held = bytes_left(in);
    if (held && *held < wanted)
        throw data_error(source + ": short read in record " + std::to_string(*held / record) + ": got " +
                         std::to_string(*held) + " of " + std::to_string(wanted) + " bytes");
    constexpr std::size_t chunk = 1024;
    const std::size_t expect = held ? records : std::min(records, chunk);
    labels.assign(nl, {});
    for (auto& l : labels) l.reserve(expect);
    pixels.clear();
    pixels.reserve(expect * cifar10_image_bytes);
    std::vector<std::uint8_t> raw;
    // A stream of unknown length is read in chunks of 16 records, doubling up to 1,024.
    std::size_t step = held ? chunk : 16;
    for (std::size_t first = 0, n = 0; first < records; first += n, step = std::min(2 * step, chunk)) {
        n = std::min(step, records - first);
        raw.resize(n * record);
        in.read(reinterpret_cast<char*>(raw.data()), std::streamsize(raw.size()));
        const auto got = std::size_t(in.gcount());
        if (got != raw.size()) {
            const std::uint64_t total = std::uint64_t(first) * record + got;
            throw data_error(source + ": short read in record " + std::to_string(first + got / record) + ": got " +
                             std::to_string(total) + " of " + std::to_string(wanted) + " bytes");
        }
        for (std::size_t k = 0; k < n; ++k) {
            const std::uint8_t* rec = raw.data() + k * record;
            const std::size_t r = first + k;
            for (std::size_t j = 0; j < nl; ++j) {
                if (rec[j] >= f.classes[j])
                    throw data_error(source + ": record " + std::to_string(r) + " (byte offset " +
                                     std::to_string(std::uint64_t(r) * record) + ") has " + f.label_names[j] + " " +
                                     std::to_string(rec[j]) + ", outside 0-" + std::to_string(f.classes[j] - 1));
                labels[j].push_back(rec[j]);
            }
            pixels.insert(pixels.end(), rec + nl, rec + record);
        }
    }
}

}  // namespace detail

cifar10_set read_cifar10_records(std::istream& in, std::uint64_t bytes, const std::string& source, std::size_t limit) {
    static const detail::record_format format{"CIFAR-10", {cifar10_classes}, {"label"}};
    cifar10_set set;
    std::vector<std::vector<std::int32_t>> labels;
    detail::read_label_records(in, bytes, source, limit, format, set.pixels, labels);
    set.labels = std::move(labels[0]);
    return set;
}

cifar10_set load_cifar10_file(const fs::path& file, std::size_t limit) {
    auto f = detail::open_data_file(file);
    return read_cifar10_records(f.in, f.size, file.string(), limit);
}

static void check_dir(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) throw data_error(dir.string() + ": no such directory (expected the CIFAR-10 binary files)");
    if (!fs::is_directory(dir, ec)) throw data_error(dir.string() + ": not a directory");
}

cifar10_set load_cifar10_train(const fs::path& dir, std::size_t limit) {
    check_dir(dir);
    cifar10_set all;
    for (int i = 1; i <= 5 && all.size() < limit; ++i) {
        cifar10_set part = load_cifar10_file(dir / ("data_batch_" + std::to_string(i) + ".bin"), limit - all.size());
        all.labels.insert(all.labels.end(), part.labels.begin(), part.labels.end());
        all.pixels.insert(all.pixels.end(), part.pixels.begin(), part.pixels.end());
    }
    return all;
}

cifar10_set load_cifar10_test(const fs::path& dir, std::size_t limit) {
    check_dir(dir);
    return load_cifar10_file(dir / "test_batch.bin", limit);
}

fs::path find_cifar10_dir(const std::optional<fs::path>& explicit_dir) {
    if (explicit_dir) {
        check_dir(*explicit_dir);
        return *explicit_dir;
    }
    std::vector<fs::path> tried;
    if (const char* env = std::getenv("TYPENET_DATA"); env && *env) {
        check_dir(env);  // an explicit setting that is wrong is an error, not a fallback
        return env;
    }
    for (const fs::path& candidate : {fs::path("data/cifar-10-batches-bin"),
                                     fs::path("../shared/data/cifar10/cifar-10-batches-bin")}) {
        std::error_code ec;
        if (fs::is_directory(candidate, ec)) return candidate;
        tried.push_back(fs::absolute(candidate, ec));
    }
    std::string msg = "CIFAR-10 not found: set TYPENET_DATA to the folder holding data_batch_1.bin; looked in";
    for (const auto& t : tried) (msg += ' ') += t.string();
    throw data_error(msg);
}

// The generic per-channel statistics of data/source.hpp, on the set in place.
channel_stats compute_channel_stats(const cifar10_set& set) {
    const normalization n = compute_normalization(cifar10_source::view(set));
    channel_stats st;
    for (std::size_t c = 0; c < 3; ++c) {
        st.mean[c] = n.mean[c];
        st.std[c] = n.std[c];
    }
    return st;
}

// The arithmetic of data::fill_batch (source.hpp), kept here for the trainer's pipeline until it
// reads data sources (issue 19); tests/test_source.cpp checks the two agree bit for bit.
void normalize_images(const cifar10_set& set, std::size_t first, std::size_t count, const channel_stats& stats,
                      float* out, const std::vector<std::size_t>* order) {
    const std::size_t plane = 1024;
    for (std::size_t k = 0; k < count; ++k) {
        const std::size_t idx = order ? (*order)[first + k] : first + k;
        const std::uint8_t* p = set.pixels.data() + idx * cifar10_image_bytes;
        float* o = out + k * cifar10_image_bytes;
        for (std::size_t c = 0; c < 3; ++c) {
            const float scale = 1.0f / (255.0f * stats.std[c]), shift = stats.mean[c] / stats.std[c];
            for (std::size_t j = 0; j < plane; ++j) o[c * plane + j] = float(p[c * plane + j]) * scale - shift;
        }
    }
}

}  // namespace typenet::data
