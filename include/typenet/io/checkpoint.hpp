// typenet/io/checkpoint.hpp - versioned binary checkpoints, written atomically.
//
// File layout (all integers little-endian):
//   magic        8 bytes  "TYPENET\x01"
//   version      u32      format version (1)
//   network      str      the network's name (u32 length + bytes)
//   structure    u64      hash of the network's type-level structure (layers, shapes, scalar)
//   metadata     u32 n, then n pairs of str key, str value   (epoch, step, rng state, config...)
//   tensors      u32 n, then per tensor: str name, u8 dtype (4 = f32, 8 = f64), u32 rank,
//                rank x u64 dims, then the data (product(dims) * dtype bytes)
//   checksum     u32      CRC-32 (IEEE) of every byte before it
//
// write_checkpoint() writes "<file>.tmp-<pid>" in the same folder, fsyncs it, renames it over
// <file> and fsyncs the folder, so an interrupted save leaves the previous checkpoint intact.
// read_checkpoint() rejects, with a checkpoint_error naming the file and what is wrong: a
// missing file, a wrong magic, an unknown version, a truncated file, a checksum mismatch, and
// per tensor (named in the message) an unknown element size, a rank above 8, dims whose byte
// count overflows 64 bits or exceeds what the file holds. Sizes are checked before anything is
// allocated, so a crafted file cannot make a reader allocate more than the file's own size.
// A checkpoint is input from outside: tests/fuzz/ fuzzes parse_checkpoint (docs/testing.md).
// Matching against a network (names, shapes, structure hash) is done by the caller
// (checkpoint_io.hpp), which names the tensor that differs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "typenet/data/normalization.hpp"

namespace typenet::io {

class checkpoint_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::uint32_t checkpoint_format_version = 1;

struct tensor_record {
    std::string name;
    std::uint8_t dtype = 4;                  // bytes per element: 4 (float) or 8 (double)
    std::vector<std::uint64_t> dims;
    std::vector<unsigned char> bytes;        // raw little-endian elements
    // The product of dims (1 for rank 0). Throws checkpoint_error when it overflows 64 bits
    // (read_checkpoint never returns such a record).
    std::uint64_t element_count() const;
};

struct checkpoint {
    std::string network;
    std::uint64_t structure_hash = 0;
    std::vector<std::pair<std::string, std::string>> metadata;
    std::vector<tensor_record> tensors;

    const std::string* find_meta(const std::string& key) const;
    const tensor_record* find_tensor(const std::string& name) const;
};

// What inference needs besides the parameters, stored in a checkpoint so that evaluating or
// predicting with it needs no training data and no model flag: the model's name (also
// checkpoint::network), the input shape as text ("3x32x32"), the class names, and the
// normalisation. Stored as metadata "model.input_shape", "model.classes", "model.class.<k>" and
// float32 tensors "data.mean", "data.std" (one value per channel).
struct inference_info {
    std::string model, input_shape;
    std::vector<std::string> class_names;
    data::normalization normalization;
};
void store_inference_info(checkpoint& ck, const inference_info& info);
bool has_inference_info(const checkpoint& ck);
// Throws checkpoint_error naming `file` when the checkpoint has none (it was written before
// checkpoints carried it: the message says how to add it) or when it is inconsistent.
inference_info read_inference_info(const checkpoint& ck, const std::string& file);

void write_checkpoint(const std::filesystem::path& file, const checkpoint& ck);
checkpoint read_checkpoint(const std::filesystem::path& file);

// The bytes write_checkpoint() writes, and the parser read_checkpoint() runs on a file's bytes;
// `source` names the input in error messages (read_checkpoint passes the file name).
std::vector<unsigned char> encode_checkpoint(const checkpoint& ck);
checkpoint parse_checkpoint(std::span<const unsigned char> bytes, const std::string& source);

// Dims as text for messages: "32x3x3x3", or "scalar" for rank 0.
std::string dims_text(const std::vector<std::uint64_t>& dims);

std::uint32_t crc32(const unsigned char* data, std::size_t n, std::uint32_t crc = 0);
// FNV-1a 64-bit, used for structure hashes.
std::uint64_t fnv1a64(const std::string& s);

}  // namespace typenet::io
