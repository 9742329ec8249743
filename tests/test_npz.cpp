// NumPy .npy / .npz (io/npz.hpp) and a network's weights by name (train/npz_io.hpp): round trips,
// the bytes of a tiny archive checked by hand, a file numpy.savez wrote, and every error path
// with crafted bytes. The exchange with PyTorch itself is the CTest case npz.torch
// (tests/npz_torch.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "typenet/io/checkpoint.hpp"
#include "typenet/io/npz.hpp"
#include "typenet/layers.hpp"
#include "typenet/net.hpp"
#include "typenet/train/npz_io.hpp"

namespace fs = std::filesystem;
using namespace typenet;
using bytes = std::vector<unsigned char>;

namespace {

// numpy.savez("small.npz", w=np.array([[1.5, -2], [0.25, 3]], dtype=np.float32), s=np.float64(2.5))
// with NumPy 1.24.2 (Debian 12's python3-numpy): zip64 extra fields in the local headers
// (force_zip64=True), sizes in both, a '<f8' scalar.
const bytes numpy_small = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0xa4, 0x9b, 0x3c, 0xce, 0x90,
    0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x77, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10,
    0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e,
    0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27,
    0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65,
    0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a,
    0x20, 0x28, 0x32, 0x2c, 0x20, 0x32, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00,
    0xc0, 0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x40, 0x40, 0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x21, 0x00, 0x35, 0xb4, 0x3a, 0x93, 0x88, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14,
    0x00, 0x73, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x88,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27,
    0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x38, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72,
    0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c,
    0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0xa4, 0x9b, 0x3c, 0xce, 0x90, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00,
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x77,
    0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21,
    0x00, 0x35, 0xb4, 0x3a, 0x93, 0x88, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0xc7, 0x00, 0x00, 0x00, 0x73, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b,
    0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00, 0x66, 0x00, 0x00, 0x00, 0x86, 0x01, 0x00, 0x00, 0x00,
    0x00};

std::uint32_t rd32(const bytes& b, std::size_t at) {
    return std::uint32_t(b[at]) | std::uint32_t(b[at + 1]) << 8 | std::uint32_t(b[at + 2]) << 16 | std::uint32_t(b[at + 3]) << 24;
}
std::uint16_t rd16(const bytes& b, std::size_t at) { return std::uint16_t(b[at] | b[at + 1] << 8); }
void w16(bytes& b, std::uint32_t v) {
    b.push_back(std::uint8_t(v));
    b.push_back(std::uint8_t(v >> 8));
}
void w32(bytes& b, std::uint32_t v) {
    w16(b, v & 0xffff);
    w16(b, v >> 16);
}
void w64(bytes& b, std::uint64_t v) {
    w32(b, std::uint32_t(v));
    w32(b, std::uint32_t(v >> 32));
}
void add(bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

// A .npy file from a header dict (padded like NumPy's) and raw data.
bytes npy(const std::string& dict, const bytes& data, int major = 1) {
    std::string h = dict;
    const std::size_t prefix = major == 1 ? 10 : 12;
    h.append((64 - (prefix + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    bytes b{0x93, 'N', 'U', 'M', 'P', 'Y', std::uint8_t(major), 0};
    if (major == 1) w16(b, std::uint32_t(h.size()));
    else w32(b, std::uint32_t(h.size()));
    add(b, h);
    b.insert(b.end(), data.begin(), data.end());
    return b;
}
bytes floats(std::initializer_list<float> v) {
    bytes b(v.size() * 4);
    std::memcpy(b.data(), std::data(v), b.size());
    return b;
}

// A zip archive written by hand (not with encode_npz), so that it can be wrong on purpose.
struct zentry {
    std::string name;
    bytes data;
    std::uint16_t method = 0;
    std::optional<std::uint32_t> crc;     // default: the data's
    std::optional<std::uint32_t> offset;  // central directory's offset of the local header; default: where it is
    bool zip64_local = false;             // a zip64 extra field in the local header, as numpy.savez writes
    zentry(std::string n, bytes d) : name(std::move(n)), data(std::move(d)) {}
};
bytes zip(const std::vector<zentry>& es, bool zip64_end = false, std::uint16_t disk = 0) {
    bytes out, cd;
    for (const auto& e : es) {
        const std::uint32_t off = std::uint32_t(out.size());
        const std::uint32_t crc = e.crc ? *e.crc : io::crc32(e.data.data(), e.data.size());
        const auto header = [&](bytes& b, bool central) {
            w32(b, central ? 0x02014b50 : 0x04034b50);
            if (central) w16(b, 20);
            w16(b, 20);
            w16(b, 0);
            w16(b, e.method);
            w16(b, 0);
            w16(b, 0x21);
            w32(b, crc);
            w32(b, std::uint32_t(e.data.size()));
            w32(b, std::uint32_t(e.data.size()));
            w16(b, std::uint32_t(e.name.size()));
            w16(b, !central && e.zip64_local ? 20 : 0);
            if (central) {
                w16(b, 0);
                w16(b, disk);
                w16(b, 0);
                w32(b, 0x01800000u);
                w32(b, e.offset ? *e.offset : off);
            }
            add(b, e.name);
            if (!central && e.zip64_local) {
                w16(b, 1);
                w16(b, 16);
                w64(b, e.data.size());
                w64(b, e.data.size());
            }
        };
        header(out, false);
        out.insert(out.end(), e.data.begin(), e.data.end());
        header(cd, true);
    }
    const std::uint32_t cd_offset = std::uint32_t(out.size());
    out.insert(out.end(), cd.begin(), cd.end());
    if (zip64_end) {
        const std::uint64_t at = out.size();
        w32(out, 0x06064b50);
        w64(out, 44);
        w16(out, 45);
        w16(out, 45);
        w32(out, 0);
        w32(out, 0);
        w64(out, es.size());
        w64(out, es.size());
        w64(out, cd.size());
        w64(out, cd_offset);
        w32(out, 0x07064b50);
        w32(out, 0);
        w64(out, at);
        w32(out, 1);
    }
    w32(out, 0x06054b50);
    w16(out, disk);
    w16(out, disk);
    w16(out, zip64_end ? 0xFFFF : std::uint32_t(es.size()));
    w16(out, zip64_end ? 0xFFFF : std::uint32_t(es.size()));
    w32(out, zip64_end ? 0xFFFFFFFFu : std::uint32_t(cd.size()));
    w32(out, zip64_end ? 0xFFFFFFFFu : cd_offset);
    w16(out, 0);
    return out;
}

const std::string f4_2 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";

// The npz_error parse_npz throws for b, checked to name the source.
std::string error_of(const bytes& b) {
    try {
        io::parse_npz(b, "crafted.npz");
    } catch (const io::npz_error& e) {
        const std::string m = e.what();
        CHECK(m.find("crafted.npz") != std::string::npos);
        return m;
    }
    FAIL("parse_npz accepted the crafted bytes");
    return {};
}

using small_net = net<input<3, 8, 8>, conv_bn<3, 4, 3, 1, same>, max_pool<2, 2>, flatten, dense<64, 10>>;

struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("typenet-npz-" + std::to_string(::getpid()));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("npz: arrays round-trip bit for bit, scalars and empty shapes included") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<io::npy_array> arrays = {
        {"0.conv_bn.weight", {2, 1, 2, 2}, {1, -2, 3.5f, 1e-30f, -0.0f, 7, 8, 9}, 4},
        {"bias", {3}, {nan, std::numeric_limits<float>::infinity(), -1}, 4},
        {"scalar", {}, {42}, 4},
        {"empty", {0}, {}, 4},
        {"empty2d", {2, 0, 3}, {}, 4}};
    const bytes b = io::encode_npz(arrays);
    const io::npz_archive a = io::parse_npz(b, "mem.npz");
    REQUIRE(a.arrays.size() == arrays.size());
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        CHECK(a.arrays[i].name == arrays[i].name);
        CHECK(a.arrays[i].shape == arrays[i].shape);
        REQUIRE(a.arrays[i].values.size() == arrays[i].values.size());
        // bit for bit (NaN and -0 included); memcmp is not called on an empty vector's null data()
        if (!arrays[i].values.empty())
            CHECK(std::memcmp(a.arrays[i].values.data(), arrays[i].values.data(), arrays[i].values.size() * 4) == 0);
    }
    CHECK(a.find("scalar")->values[0] == 42);
    CHECK(a.find("missing") == nullptr);
    CHECK(io::encode_npz(std::vector<io::npy_array>(a.arrays.begin(), a.arrays.end())) == b);

    temp_dir d;
    io::write_npz(d.path / "w.npz", arrays);
    CHECK(io::read_npz(d.path / "w.npz").arrays.size() == arrays.size());
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.path)) ++files;
    CHECK(files == 1);  // the temporary file was renamed, not left behind
}

TEST_CASE("npz: the bytes of a one-array archive, checked by hand") {
    const bytes b = io::encode_npz({{"a", {2}, {1.0f, -2.0f}, 4}});
    // .npy: magic, version 1.0, header length 118 (10 + 118 = 128, a multiple of 64), the dict as
    // numpy.save writes it for float32 (2,), 8 bytes of data: 136 bytes (numpy.save's size for it).
    const std::size_t local = 30 + 5, npy_size = 136;
    REQUIRE(b.size() == local + npy_size + 46 + 5 + 22);
    CHECK(rd32(b, 0) == 0x04034b50);
    CHECK(rd16(b, 8) == 0);                 // stored
    CHECK(rd32(b, 14) == 169036218u);       // zlib.crc32 of numpy.save's bytes of np.array([1, -2], np.float32)
    CHECK(rd32(b, 18) == npy_size);         // compressed size
    CHECK(rd32(b, 22) == npy_size);         // size
    CHECK(rd16(b, 26) == 5);                // "a.npy"
    CHECK(std::string(b.begin() + 30, b.begin() + 35) == "a.npy");
    const std::string head(b.begin() + local, b.begin() + local + 10 + 118);
    CHECK(head.substr(0, 6) == "\x93NUMPY");
    CHECK(b[local + 6] == 1);
    CHECK(b[local + 7] == 0);
    CHECK(rd16(b, local + 8) == 118);
    CHECK(head.substr(10, f4_2.size()) == f4_2);
    CHECK(head.back() == '\n');
    float v[2];
    std::memcpy(v, b.data() + local + 128, 8);
    CHECK(v[0] == 1.0f);
    CHECK(v[1] == -2.0f);
    const std::size_t cd = local + npy_size;
    CHECK(rd32(b, cd) == 0x02014b50);
    CHECK(rd32(b, cd + 16) == 169036218u);
    CHECK(rd32(b, cd + 42) == 0);           // the local header's offset
    const std::size_t end = cd + 46 + 5;
    CHECK(rd32(b, end) == 0x06054b50);
    CHECK(rd16(b, end + 10) == 1);          // entries
    CHECK(rd32(b, end + 12) == 51);         // central directory size
    CHECK(rd32(b, end + 16) == cd);         // its offset
    // The same archive written by hand (another writer) parses to the same array.
    const bytes by_hand = zip({{"a.npy", npy(f4_2, floats({1, -2}))}});
    CHECK(by_hand == b);
}

TEST_CASE("npz: reads what numpy.savez writes (zip64 extra fields, a float64 scalar)") {
    const io::npz_archive a = io::parse_npz(numpy_small, "small.npz");
    REQUIRE(a.arrays.size() == 2);
    CHECK(a.arrays[0].name == "w");
    CHECK(a.arrays[0].shape == std::vector<std::uint64_t>{2, 2});
    CHECK(a.arrays[0].values == std::vector<float>{1.5f, -2, 0.25f, 3});
    CHECK(a.arrays[0].source_bytes == 4);
    CHECK(a.arrays[1].name == "s");
    CHECK(a.arrays[1].shape.empty());
    CHECK(a.arrays[1].values == std::vector<float>{2.5f});
    CHECK(a.arrays[1].source_bytes == 8);
    // The same by the hand-written zip64 end records, and .npy version 2.0.
    zentry x{"x.npy", npy(f4_2, floats({3, 4}), 2)};
    x.zip64_local = true;
    const bytes z64 = zip({x}, /*zip64_end=*/true);
    CHECK(io::parse_npz(z64, "z64.npz").arrays[0].values == std::vector<float>{3, 4});
    // Any order of keys, a Python 2 long suffix, double quotes, no trailing comma.
    const bytes odd = zip({{"y.npy", npy("{\"shape\": (2L,), 'fortran_order': False, 'descr': '<f4'}", floats({5, 6}))}});
    CHECK(io::parse_npz(odd, "odd.npz").arrays[0].values == std::vector<float>{5, 6});
    // An empty archive (numpy.savez with no arrays) is valid and holds nothing.
    CHECK(io::parse_npz(zip({}), "empty.npz").arrays.empty());
}

TEST_CASE("npz: every kind of bad archive is refused, naming the file, the entry and what is wrong") {
    const bytes good = npy(f4_2, floats({1, 2}));
    const auto contains = [](const std::string& m, const std::string& what) {
        INFO(m);
        CHECK(m.find(what) != std::string::npos);
    };
    contains(error_of({}), "truncated");
    contains(error_of(bytes{'h', 'e', 'l', 'l', 'o'}), "not an .npz archive");
    contains(error_of(good), "numpy.savez");  // a lone .npy file (numpy.save)
    {  // compressed entries (numpy.savez_compressed)
        zentry e{"w.npy", good};
        e.method = 8;
        const std::string m = error_of(zip({e}));
        contains(m, "'w.npy'");
        contains(m, "compressed");
        contains(m, "numpy.savez, not numpy.savez_compressed");
    }
    {  // a CRC mismatch
        zentry e{"w.npy", good};
        e.crc = 12345;
        const std::string m = error_of(zip({e}));
        contains(m, "'w.npy'");
        contains(m, "CRC-32 mismatch");
    }
    {  // a flipped data byte
        bytes b = zip({{"w.npy", good}});
        b[30 + 5 + good.size() - 1] ^= 0x10;
        contains(error_of(b), "CRC-32 mismatch");
    }
    contains(error_of(zip({{"w.npy", good}, {"w.npy", good}})), "appears twice");
    contains(error_of(zip({{"w.txt", good}})), "not a NAME.npy array");
    contains(error_of(zip({{".npy", good}})), "not a NAME.npy array");
    {  // two entries pointing at the same bytes
        zentry a{"a.npy", good}, b{"b.npy", good};
        b.offset = 0;
        a.name = "b.npy";  // the local header at 0 names b.npy for b's central entry
        b.name = "b.npy";
        const bytes z = zip({a, b});
        contains(error_of(z), "twice");  // duplicate names caught first
        zentry c{"c.npy", good}, d{"d.npy", good};
        d.offset = 0;
        contains(error_of(zip({c, d})), "names another file");
    }
    contains(error_of(zip({{"w.npy", good}}, false, 1)), "several disks");
    {  // .npy contents
        const auto entry_error = [&](const bytes& npy_bytes, const std::string& what) {
            const std::string m = error_of(zip({{"w.npy", npy_bytes}}));
            contains(m, "entry 'w.npy'");
            contains(m, what);
        };
        entry_error(bytes{'n', 'o', 'p', 'e', 0, 0, 0, 0, 0, 0}, "no \\x93NUMPY magic");
        bytes v9 = good;
        v9[6] = 9;
        entry_error(v9, "version 9.0");
        bytes long_header = good;
        long_header[8] = 0xff;
        long_header[9] = 0xff;
        entry_error(long_header, "the .npy header claims 65535 bytes");
        entry_error(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", floats({1, 2})), "dtype '<i4'");
        entry_error(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", floats({1, 2})), "big-endian");
        entry_error(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", floats({1, 2})), "fortran_order is True");
        entry_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats({1, 2})),
                    "needs 12 bytes of data, the entry holds 8 (truncated)");
        entry_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats({1, 2})), "data after the array");
        entry_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }", {}),
                    "overflows a 64-bit byte count");
        entry_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", {}),
                    "overflows 64 bits");
        entry_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", floats({1, 2})), "trailing comma");
        entry_error(npy("{'descr': '<f4', 'fortran_order': False, }", floats({1, 2})), "lacks 'shape'");
        entry_error(npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats({1, 2})),
                    "'descr' appears twice");
        entry_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", floats({1, 2})),
                    "unknown key 'extra'");
        entry_error(npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", floats({1, 2})), "True or False");
        entry_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", floats({1, 2})), "does not end");
        bytes f8(16);
        const double big[2] = {1e300, 1};
        std::memcpy(f8.data(), big, 16);
        entry_error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8), "beyond float32's range");
    }
}

TEST_CASE("npz: every truncation and every single flipped byte fails cleanly or parses") {
    const bytes b = io::encode_npz({{"w", {2, 2}, {1, 2, 3, 4}, 4}, {"s", {}, {5}, 4}});
    for (std::size_t n = 0; n < b.size(); ++n) {
        INFO("first " << n << " bytes");
        CHECK_THROWS_AS(io::parse_npz(std::span<const unsigned char>(b.data(), n), "cut.npz"), io::npz_error);
    }
    for (const bytes* src : {&b, &numpy_small})
        for (std::size_t i = 0; i < src->size(); ++i)
            for (unsigned char bit : {0x01, 0x80}) {
                bytes f = *src;
                f[i] ^= bit;
                try {
                    io::parse_npz(f, "flipped.npz");  // a padding space or a time field: still valid
                } catch (const io::npz_error& e) {
                    CHECK(std::string(e.what()).find("flipped.npz") != std::string::npos);
                }
            }
}

TEST_CASE("npz: a missing file is named") {
    CHECK_THROWS_WITH(io::read_npz("/nonexistent/w.npz"), Catch::Contains("/nonexistent/w.npz: no such file"));
    CHECK_THROWS_WITH(io::encode_npz({{"a", {1}, {1}, 4}, {"a", {1}, {2}, 4}}), Catch::Contains("two arrays named 'a'"));
    CHECK_THROWS_WITH(io::encode_npz({{"a", {3}, {1}, 4}}), Catch::Contains("holds 1 values"));
}

TEST_CASE("npz_io: a network's tensors by name, in PyTorch's shapes, and back") {
    small_net a(1), b(2);
    const std::vector<io::npy_array> arrays = train::network_arrays(a);
    std::vector<std::string> names;
    for (const auto& x : arrays) names.push_back(x.name + " " + io::shape_text(x.shape));
    CHECK(names == std::vector<std::string>{"0.conv_bn.weight (4, 3, 3, 3)", "0.conv_bn.gamma (4,)",
                                            "0.conv_bn.beta (4,)", "3.dense.weight (10, 64)", "3.dense.bias (10,)",
                                            "0.conv_bn.running_mean (4,)", "0.conv_bn.running_var (4,)"});
    temp_dir d;
    const data::normalization norm{{0.5f, 0.25f, 0.125f}, {1, 2, 3}};
    train::save_npz(a, d.path / "a.npz", &norm);
    const std::optional<data::normalization> got = train::load_npz(b, d.path / "a.npz");
    REQUIRE(got);
    CHECK(got->mean == norm.mean);
    CHECK(got->std == norm.std);
    const auto again = train::network_arrays(b);
    for (std::size_t i = 0; i < arrays.size(); ++i) CHECK(again[i].values == arrays[i].values);
    // The forward passes agree bit for bit.
    tensor<float, shape<3, 8, 8>> x(2);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(std::sin(0.37 * double(i)));
    a.eval();
    b.eval();
    const auto ya = a.forward(x);
    const auto& yb = b.forward(x);
    CHECK(std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)) == 0);
    train::save_npz(a, d.path / "plain.npz");
    CHECK_FALSE(train::load_npz(b, d.path / "plain.npz").has_value());
}

TEST_CASE("npz_io: load_npz names every missing, unexpected and misshapen tensor and changes nothing") {
    small_net a(1), b(2);
    const auto before = train::network_arrays(b);
    const auto expect_refused = [&](std::vector<io::npy_array> arrays, std::initializer_list<const char*> parts) {
        try {
            train::load_npz(b, io::parse_npz(io::encode_npz(arrays), "w.npz"), "w.npz");
            FAIL("load_npz accepted it");
        } catch (const io::npz_error& e) {
            const std::string m = e.what();
            INFO(m);
            CHECK(m.find("w.npz") == 0);
            for (const char* p : parts) CHECK(m.find(p) != std::string::npos);
        }
        const auto after = train::network_arrays(b);
        for (std::size_t i = 0; i < before.size(); ++i) CHECK(after[i].values == before[i].values);
    };
    auto arrays = train::network_arrays(a);
    auto missing = arrays;
    missing.erase(missing.begin() + 3);
    expect_refused(missing, {"missing '3.dense.weight' (10, 64)"});
    auto wrong = arrays;
    wrong[3].shape = {64, 10};  // PyTorch's Linear is (out, in): a transposed weight is refused
    expect_refused(wrong, {"'3.dense.weight' is (64, 10), the network needs (10, 64)"});
    auto extra = arrays;
    extra.push_back({"0.conv_bn.num_batches_tracked", {}, {3}, 4});
    expect_refused(extra, {"unexpected '0.conv_bn.num_batches_tracked' ()"});
    auto lone = arrays;
    lone.push_back({"data.mean", {3}, {0, 0, 0}, 4});
    expect_refused(lone, {"'data.mean' without 'data.std'"});
    auto bad_norm = arrays;
    bad_norm.push_back({"data.mean", {3}, {0, 0, 0}, 4});
    bad_norm.push_back({"data.std", {3}, {1, 0, 1}, 4});
    expect_refused(bad_norm, {"channel 1 of data.mean / data.std"});
    auto two = missing;
    two.push_back({"stray", {2}, {1, 2}, 4});
    expect_refused(two, {"2 problems", "missing '3.dense.weight'", "unexpected 'stray' (2,)"});
}
