// tests/crafted_checkpoint.hpp - a checkpoint written field by field with a valid checksum, to
// craft what write_checkpoint refuses to write (sizes that overflow, dims past the end of the
// file, unknown element sizes, ranks above 8). Used by tests/test_checkpoint.cpp and by the
// fuzz corpus generator (tests/fuzz/make_corpus.cpp). The layout is src/io/checkpoint.cpp's:
// magic, version 1, network name "crafted", structure hash, no metadata, the tensor count,
// then the tensors the caller adds, then the CRC-32 of everything before it (bytes()).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typenet/io/checkpoint.hpp"

struct crafted_checkpoint {
    std::vector<unsigned char> b{'T', 'Y', 'P', 'E', 'N', 'E', 'T', 1};
    explicit crafted_checkpoint(std::uint32_t tensors, std::uint64_t structure_hash = 7) {
        u32(1);
        str("crafted");
        u64(structure_hash);
        u32(0);
        u32(tensors);
    }
    void u8(std::uint8_t v) { b.push_back(v); }
    void u32(std::uint32_t v) { b.insert(b.end(), reinterpret_cast<unsigned char*>(&v), reinterpret_cast<unsigned char*>(&v) + 4); }
    void u64(std::uint64_t v) { b.insert(b.end(), reinterpret_cast<unsigned char*>(&v), reinterpret_cast<unsigned char*>(&v) + 8); }
    void str(const std::string& s) {
        u32(std::uint32_t(s.size()));
        b.insert(b.end(), s.begin(), s.end());
    }
    // A tensor record whatever its fields say: `data_bytes` bytes of `fill` follow the dims.
    void tensor(const std::string& name, std::uint8_t dtype, const std::vector<std::uint64_t>& dims,
                std::size_t data_bytes, unsigned char fill = 0) {
        str(name);
        u8(dtype);
        u32(std::uint32_t(dims.size()));
        for (auto d : dims) u64(d);
        b.insert(b.end(), data_bytes, fill);
    }
    // The file's bytes: everything so far and its checksum.
    std::vector<unsigned char> bytes() const {
        auto out = b;
        const std::uint32_t crc = typenet::io::crc32(out.data(), out.size());
        out.insert(out.end(), reinterpret_cast<const unsigned char*>(&crc), reinterpret_cast<const unsigned char*>(&crc) + 4);
        return out;
    }
};
