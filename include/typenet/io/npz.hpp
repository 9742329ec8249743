// typenet/io/npz.hpp - NumPy .npy arrays and .npz archives, read and written without a dependency.
//
// What NumPy reads and writes, restricted to what weights need:
//   .npy  magic "\x93NUMPY", version 1.0 (u16 header length) or 2.0 / 3.0 (u32), then a Python
//         dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (O, I, KH, KW), }
//         padded with spaces and a '\n', then the elements, little-endian, C order.
//   .npz  a zip archive with one entry NAME.npy per array (numpy.savez: stored, uncompressed).
//
// Writing: version-1.0 headers (padded to 64 bytes, as NumPy pads them), '<f4' elements, stored
// zip entries with their CRC-32 and a central directory; no zip64 records, so an archive is at
// most 4 GiB (write_npz refuses a larger one). write_npz() replaces the file atomically (a
// temporary file in the same folder, renamed over it).
//
// Reading is strict. The central directory is the index (what numpy.load uses); each entry's
// local header must agree with it; zip64 records and extra fields (numpy.savez passes
// force_zip64=True, so every local header carries one) are understood. Elements may be '<f4' or
// '<f8' (converted to float; a finite double beyond float's range is an error), C order only.
// Refused, with an npz_error naming the file, the entry and what is wrong: a file that is not a
// zip archive, a truncated one, an archive spread over several disks, compressed entries
// (numpy.savez_compressed: the message says to use numpy.savez), encrypted entries, entries whose
// name does not end in ".npy", duplicate names, overlapping entries, a CRC mismatch, a bad .npy
// magic or header, another dtype or byte order, fortran_order True, and a shape whose element
// count overflows or differs from the data's size. Every size is checked before anything is
// allocated for it and before any byte is read: hostile bytes cannot make the reader read past
// its input or allocate more than the input's own size (tests/fuzz/fuzz_npz.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace typenet::io {

class npz_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct npy_array {
    std::string name;                  // the entry's name without ".npy"
    std::vector<std::uint64_t> shape;  // empty for a scalar
    std::vector<float> values;         // C order; the product of shape (1 for a scalar)
    int source_bytes = 4;              // what the file held: 4 ('<f4') or 8 ('<f8', converted)
};

struct npz_archive {
    std::vector<npy_array> arrays;  // in the archive's (central directory) order
    const npy_array* find(const std::string& name) const;
};

// One .npy file's bytes ('<f4'); throws npz_error when values do not match the shape.
std::vector<unsigned char> encode_npy(const npy_array& a);
// A whole .npz archive's bytes; throws npz_error on a duplicate or empty name, or when the
// archive would exceed 4 GiB.
std::vector<unsigned char> encode_npz(const std::vector<npy_array>& arrays);
void write_npz(const std::filesystem::path& file, const std::vector<npy_array>& arrays);

// `source` names the input in error messages (read_npz passes the file name); `entry` names the
// array parse_npy reads (in an archive: the entry's file name).
npy_array parse_npy(std::span<const unsigned char> bytes, const std::string& source, const std::string& entry);
npz_archive parse_npz(std::span<const unsigned char> bytes, const std::string& source);
npz_archive read_npz(const std::filesystem::path& file);

// Shape as text for messages: "(32, 3, 3, 3)", "(10,)", "()": NumPy's way of writing it.
std::string shape_text(const std::vector<std::uint64_t>& shape);

}  // namespace typenet::io
