// Writes the fuzz targets' seed corpus: a few valid files and edge cases per reader, each a few
// KB at most (never CIFAR-10 data: the images here are synthetic patterns).
//   cmake --build build-fuzz --target typenet-fuzz-corpus && build-fuzz/bin/typenet-fuzz-corpus tests/fuzz/corpus
// Inputs a fuzz target found (corpus/<target>/found-*) are not written here; this program leaves
// them alone.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>  // Debian's libstb

#include "../crafted_checkpoint.hpp"
#include "typenet/io/checkpoint.hpp"
#include "typenet/io/npz.hpp"
#include "typenet/train/step_table.hpp"
#include "config.hpp"  // src/cli: typenet-train --config

namespace fs = std::filesystem;
using bytes = std::vector<unsigned char>;

namespace {
void put(const fs::path& file, const bytes& b) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    std::printf("%s (%zu bytes)\n", file.c_str(), b.size());
}
void put(const fs::path& file, const std::string& s) { put(file, bytes(s.begin(), s.end())); }

typenet::io::tensor_record tensor(const std::string& name, std::uint8_t dtype, std::vector<std::uint64_t> dims) {
    typenet::io::tensor_record t;
    t.name = name;
    t.dtype = dtype;
    t.dims = std::move(dims);
    t.bytes.resize(std::size_t(t.element_count() * dtype));
    for (std::size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = std::uint8_t(i * 37 + 11);
    return t;
}

std::string cifar_records(std::initializer_list<int> labels) {
    std::string s;
    for (int l : labels) {
        s += char(l);
        for (int i = 0; i < 3072; ++i) s += char((i * 7 + l * 13) & 0xff);
    }
    return s;
}

// An IDX file: magic (0, 0, 0x08 unsigned bytes, rank), big-endian dims, then `data`.
std::string idx(std::initializer_list<std::uint32_t> dims, const std::string& data, std::uint8_t type = 0x08) {
    std::string s{char(0), char(0), char(type), char(dims.size())};
    for (std::uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) s += char((d >> shift) & 0xff);
    return s + data;
}
std::string pattern(std::size_t n, int mod) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = char((i * 7) % std::size_t(mod));
    return s;
}

// A one-entry stored zip the way numpy.savez writes it: a zip64 extra field (sizes) in the
// local header, none in the central directory.
bytes numpy_style_zip(const std::string& name, const std::string& npy) {
    bytes out, cd;
    const auto w16 = [](bytes& b, std::uint32_t v) { b.push_back(std::uint8_t(v)), b.push_back(std::uint8_t(v >> 8)); };
    const auto w32 = [&](bytes& b, std::uint32_t v) { w16(b, v & 0xffff), w16(b, v >> 16); };
    const std::uint32_t crc = typenet::io::crc32(reinterpret_cast<const unsigned char*>(npy.data()), npy.size());
    const auto header = [&](bytes& b, bool central) {
        w32(b, central ? 0x02014b50 : 0x04034b50);
        if (central) w16(b, 0x0314);
        for (std::uint32_t v : {20u, 0u, 0u, 0u, 0x21u}) w16(b, v);
        w32(b, crc);
        w32(b, std::uint32_t(npy.size()));
        w32(b, std::uint32_t(npy.size()));
        w16(b, std::uint32_t(name.size()));
        w16(b, central ? 0 : 20);
        if (central)
            for (std::uint32_t v : {0u, 0u, 0u}) w16(b, v);
        if (central) w32(b, 0x01800000u), w32(b, 0);
        b.insert(b.end(), name.begin(), name.end());
        if (!central) {
            w16(b, 1), w16(b, 16);
            for (int k = 0; k < 2; ++k) w32(b, std::uint32_t(npy.size())), w32(b, 0);
        }
    };
    header(out, false);
    out.insert(out.end(), npy.begin(), npy.end());
    header(cd, true);
    const std::uint32_t at = std::uint32_t(out.size());
    out.insert(out.end(), cd.begin(), cd.end());
    w32(out, 0x06054b50);
    for (std::uint32_t v : {0u, 0u, 1u, 1u}) w16(out, v);
    w32(out, std::uint32_t(cd.size()));
    w32(out, at);
    w16(out, 0);
    return out;
}
std::string npy_text(const std::string& dict, const std::string& data) {
    std::string h = dict;
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    return std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 0xff) + char(h.size() >> 8) + h + data;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: typenet-fuzz-corpus CORPUS_DIR (tests/fuzz/corpus)\n");
        return 2;
    }
    const fs::path dir = argv[1];
    using typenet::io::encode_checkpoint;

    // ---- checkpoint ----
    const fs::path ck = dir / "checkpoint";
    typenet::io::checkpoint small;
    small.network = "small";
    small.structure_hash = 0x9e3779b97f4a7c15ull;
    small.metadata = {{"epoch", "2"}, {"step", "10"}, {"metrics", "1 2.3 0.1 2.2 0.1 1 0.1 1 100 0"}};
    small.tensors = {tensor("0.dense.weight", 4, {3, 2}), tensor("0.dense.bias", 4, {3}), tensor("scale", 8, {}),
                     tensor("empty", 4, {0}), tensor("empty2d", 8, {3, 0}), tensor("optimizer.0.dense.weight.momentum", 4, {6})};
    const bytes valid = encode_checkpoint(small);
    put(ck / "valid-small.ckpt", valid);
    put(ck / "valid-empty.ckpt", encode_checkpoint(typenet::io::checkpoint{}));
    typenet::io::checkpoint with_info = small;  // what inference needs (read_inference_info)
    typenet::io::store_inference_info(with_info, {"small", "3x2x2", {"cat", "dog", "ship"}, {{0.5f, 0.4f, 0.3f}, {0.2f, 0.2f, 0.25f}}});
    put(ck / "valid-inference-info.ckpt", encode_checkpoint(with_info));
    put(ck / "truncated.ckpt", bytes(valid.begin(), valid.begin() + std::ptrdiff_t(valid.size() / 2)));
    bytes flipped = valid;
    flipped[flipped.size() / 2] ^= 0x40;
    put(ck / "flipped.ckpt", flipped);
    {  // the element count 2^62 at 4 bytes: 2^64 bytes, wrapped to 0 by the old reader (typenet-inspect crashed)
        crafted_checkpoint r(1, 0x1234);
        r.tensor("huge", 4, {std::uint64_t(1) << 62}, 0);
        put(ck / "dims-2e62.ckpt", r.bytes());
    }
    {  // dims whose product alone overflows 64 bits
        crafted_checkpoint r(1, 0x1234);
        r.tensor("wide", 8, {std::uint64_t(1) << 32, std::uint64_t(1) << 32, 3}, 0);
        put(ck / "dims-overflow.ckpt", r.bytes());
    }
    {  // more data claimed than the file holds
        crafted_checkpoint r(1, 0x1234);
        r.tensor("short", 4, {1000, 1000}, 16);
        put(ck / "dims-past-end.ckpt", r.bytes());
    }
    {  // an unknown element size, a rank above 8
        crafted_checkpoint r(1, 0x1234);
        r.tensor("half", 2, {2}, 4);
        put(ck / "bad-dtype.ckpt", r.bytes());
        crafted_checkpoint q(1, 0x1234);
        q.tensor("deep", 4, std::vector<std::uint64_t>(9, 1), 4);
        put(ck / "bad-rank.ckpt", q.bytes());
    }

    // ---- cifar10 (synthetic images, the CIFAR-10 record layout) ----
    const fs::path cf = dir / "cifar10";
    put(cf / "one-record.bin", cifar_records({3}));
    put(cf / "two-records.bin", cifar_records({0, 9}));
    put(cf / "bad-label.bin", cifar_records({10}));
    put(cf / "short-record.bin", cifar_records({1}).substr(0, 3000));
    put(cf / "empty.bin", std::string());

    // ---- cifar100 (synthetic images; coarse label, fine label, 3,072 pixels) ----
    const fs::path c100 = dir / "cifar100";
    const auto record100 = [](int coarse, int fine) {
        std::string s{char(coarse), char(fine)};
        for (int i = 0; i < 3072; ++i) s += char((i * 5 + fine) & 0xff);
        return s;
    };
    put(c100 / "two-records.bin", record100(0, 99) + record100(19, 0));
    put(c100 / "bad-coarse.bin", record100(20, 5));
    put(c100 / "bad-fine.bin", record100(3, 100));
    put(c100 / "short-record.bin", record100(1, 1).substr(0, 3000));

    // ---- image (PNG and JPEG, 8 x 8 synthetic patterns; stb_image_write) ----
    const fs::path im = dir / "image";
    const auto encode = [](int channels, bool png) {
        std::vector<unsigned char> pixels(std::size_t(8 * 8 * channels));
        for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = (unsigned char)(i * 29 % 251);
        bytes out;
        const auto append = [](void* ctx, void* d, int n) {
            auto* o = static_cast<bytes*>(ctx);
            o->insert(o->end(), static_cast<unsigned char*>(d), static_cast<unsigned char*>(d) + n);
        };
        if (png) stbi_write_png_to_func(append, &out, 8, 8, channels, pixels.data(), 8 * channels);
        else stbi_write_jpg_to_func(append, &out, 8, 8, channels, pixels.data(), 90);
        return out;
    };
    const bytes rgb_png = encode(3, true);
    put(im / "rgb-8x8.png", rgb_png);
    put(im / "grey-8x8.png", encode(1, true));
    put(im / "rgba-8x8.png", encode(4, true));
    put(im / "rgb-8x8.jpg", encode(3, false));
    put(im / "truncated.png", bytes(rgb_png.begin(), rgb_png.begin() + std::ptrdiff_t(rgb_png.size() / 2)));
    put(im / "not-an-image.png", std::string("GIF89a"));
    {  // the chunk after IHDR states 2 GiB: stb_image grew its buffer to that before reading (fuzz_image found it)
        bytes claims = rgb_png;
        claims[8 + 8 + 13 + 4] = 0x7f;
        put(im / "chunk-states-2gib.png", claims);
    }

    // ---- idx (MNIST's format; small synthetic images, not MNIST data) ----
    const fs::path ix = dir / "idx";
    put(ix / "images-2x4x3.idx", idx({2, 4, 3}, pattern(24, 256)));
    put(ix / "labels-5.idx", idx({5}, pattern(5, 10)));
    put(ix / "labels-bad.idx", idx({2}, std::string{char(3), char(10)}));
    put(ix / "images-short.idx", idx({3, 28, 28}, pattern(1000, 256)));
    put(ix / "images-trailing.idx", idx({1, 2, 2}, pattern(6, 256)));
    put(ix / "images-overflow.idx", idx({0xffffffff, 0xffffffff, 0xffffffff}, ""));
    put(ix / "images-float.idx", idx({1, 1, 1}, "abcd", 0x0d));
    put(ix / "gzip.idx", std::string{char(0x1f), char(0x8b), char(8), char(0)});

    // ---- metrics_csv ----
    const fs::path mc = dir / "metrics_csv";
    const std::string header = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged\n";
    put(mc / "valid.csv", header + "1,2.30258512,0.1,2.2,0.12,1.5,0.1,12.345,4000.0,0\n"
                                   "2,1.9,0.3,1.8,0.33,1.2,0.1,12.1,4100.5,0\n"
                                   "3,nan,0.1,inf,0.1,-inf,0.1,11.9,4200.0,1\n");
    put(mc / "header-only.csv", header);
    put(mc / "crlf.csv", "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged\r\n"
                         "1,2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\r\n");
    put(mc / "bad-epoch.csv", header + "nan,2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\n1e300,2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\n");
    put(mc / "short-row.csv", header + "1,2.3,0.1\n");
    put(mc / "not-a-number.csv", header + "1,2.3x,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\n");
    // ---- step_table (steps.csv, landscape.csv; the first byte picks the header: even steps, odd landscape) ----
    const fs::path st = dir / "step_table";
    const std::string steps = std::string(1, '\0') + typenet::train::steps_csv_header + "\n";
    const std::string land = std::string(1, '\1') + typenet::train::landscape_csv_header + "\n";
    put(st / "steps.csv", steps + "1,1,1,2.3025850929940459,0.09375,1.5,0.10000000000000001\n"
                                  "2,1,2,2.25,0.125,1.25,0.1\n4,1,4,nan,0,inf,0.1\n");
    put(st / "steps-header-only.csv", steps);
    put(st / "steps-crlf.csv", std::string(1, '\0') + typenet::train::steps_csv_header + "\r\n1,1,1,2.3,0.1,1.5,0.1\r\n");
    put(st / "steps-not-increasing.csv", steps + "2,1,2,2.3,0.1,1.5,0.1\n2,1,2,2.3,0.1,1.5,0.1\n");
    put(st / "steps-bad-step.csv", steps + "0,1,1,2.3,0.1,1.5,0.1\n1.5,1,1,2.3,0.1,1.5,0.1\n1e300,1,1,2.3,0.1,1.5,0.1\n");
    put(st / "steps-empty-cell.csv", steps + "1,1,1,,0.1,1.5,0.1\n1,1,1,2.3,0.1,1.5,\n");
    put(st / "landscape.csv", land + "1,1,0.1,2.3,1.5,2.1,2.4,0.3,0.01,0.5,0.4,2.5\n51,1,0.1,2.0,1.2,1.9,2.2,0.3,0.01,0.4,0.3,2.0\n");
    put(st / "landscape-short-row.csv", land + "1,1,0.1,2.3\n");
    // ---- config (typenet-train --config: a run's config.json and edge cases) ----
    const fs::path cj = dir / "config";
    const std::string full = typenet::train::recipe("full").to_json();
    put(cj / "full.json", full);
    put(cj / "baseline.json", typenet::train::recipe("baseline").to_json());
    put(cj / "partial.json", std::string("{\"epochs\": 5, \"milestones\": [1.5, 3], \"seed\": 18446744073709551615}"));
    put(cj / "typo.json", std::string("{\"learning_rate\": 0.1}"));
    put(cj / "types.json", std::string("{\"lr\": \"0.1\", \"augment\": 1, \"epochs\": -2, \"optimizer\": \"lion\"}"));
    put(cj / "truncated.json", full.substr(0, full.size() / 2));
    put(cj / "nested.json", std::string("{\"milestones\": [[[1]]], \"model\": {\"a\": null}}"));
    // ---- npz (typenet's writer, numpy.savez's layout, and edge cases) ----
    const fs::path nz = dir / "npz";
    const bytes valid_npz = typenet::io::encode_npz(
        {{"0.conv_bn.weight", {2, 1, 2, 2}, {1, -2, 3, 4, 5, 6, 7, 8}, 4}, {"0.conv_bn.gamma", {2}, {1, 1}, 4},
         {"scalar", {}, {0.5f}, 4}, {"empty", {0, 3}, {}, 4}});
    put(nz / "valid-small.npz", valid_npz);
    put(nz / "valid-empty.npz", typenet::io::encode_npz({}));
    put(nz / "truncated.npz", bytes(valid_npz.begin(), valid_npz.begin() + std::ptrdiff_t(valid_npz.size() / 2)));
    bytes flipped_npz = valid_npz;
    flipped_npz[200] ^= 0x04;
    put(nz / "flipped.npz", flipped_npz);
    bytes compressed = typenet::io::encode_npz({{"w", {2}, {1, 2}, 4}});
    compressed[8] = 8;  // deflate in the local header
    compressed[compressed.size() - 22 - (46 + 5) + 10] = 8;  // and in the central directory ("w.npy")
    put(nz / "compressed.npz", compressed);
    const std::string f8 = std::string("\0\0\0\0\0\0\x04\x40", 8);  // 2.5 as a little-endian double
    put(nz / "numpy-style-f8.npz", numpy_style_zip("s.npy", npy_text("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", f8)));
    put(nz / "shape-overflow.npz", numpy_style_zip("w.npy", npy_text("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967297), }", "")));
    put(nz / "fortran.npz", numpy_style_zip("w.npy", npy_text("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", "abcd")));
    return 0;
}
