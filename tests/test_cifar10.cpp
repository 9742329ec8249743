// The CIFAR-10 loader on crafted bad files, and the data pipeline's determinism.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "typenet/data/cifar10.hpp"
#include "typenet/data/pipeline.hpp"

namespace fs = std::filesystem;
using namespace typenet::data;

namespace {
struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("typenet-cifar-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};
// n records; record r has label labels[r] and pixels all equal to r (mod 256).
std::string records(const std::vector<int>& labels) {
    std::string s;
    for (std::size_t r = 0; r < labels.size(); ++r) {
        s += char(labels[r]);
        s += std::string(3072, char(r));
    }
    return s;
}
void write(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}
}  // namespace

TEST_CASE("a well-formed file loads with labels and C,H,W pixels") {
    temp_dir d;
    write(d.path / "x.bin", records({3, 9, 0}));
    const auto set = load_cifar10_file(d.path / "x.bin");
    REQUIRE(set.size() == 3);
    CHECK(set.labels == std::vector<std::int32_t>{3, 9, 0});
    CHECK(set.pixels.size() == 3 * 3072);
    CHECK(set.pixels[3072] == 1);
    CHECK(load_cifar10_file(d.path / "x.bin", 2).size() == 2);  // limit
}

TEST_CASE("bad CIFAR-10 input gets an error naming the file and the record") {
    temp_dir d;
    SECTION("missing file") {
        CHECK_THROWS_MATCHES(load_cifar10_file(d.path / "nope.bin"), data_error,
                             Catch::Matchers::Message((d.path / "nope.bin").string() + ": no such file"));
    }
    SECTION("missing directory") {
        CHECK_THROWS_WITH(load_cifar10_train(d.path / "absent"), Catch::Contains("absent") && Catch::Contains("no such directory"));
        CHECK_THROWS_WITH(find_cifar10_dir(d.path / "absent"), Catch::Contains("no such directory"));
    }
    SECTION("a training folder without data_batch_1.bin") {
        CHECK_THROWS_WITH(load_cifar10_train(d.path), Catch::Contains("data_batch_1.bin: no such file"));
    }
    SECTION("size not a multiple of 3073") {
        write(d.path / "odd.bin", records({1, 2}) + "xyz");
        CHECK_THROWS_WITH(load_cifar10_file(d.path / "odd.bin"),
                          Catch::Contains("odd.bin") && Catch::Contains("6149 bytes is not a positive multiple") &&
                              Catch::Contains("2 whole records and 3 bytes left over"));
        write(d.path / "empty.bin", "");
        CHECK_THROWS_WITH(load_cifar10_file(d.path / "empty.bin"), Catch::Contains("empty.bin: size 0 bytes"));
    }
    SECTION("label outside 0-9, naming the record") {
        write(d.path / "label.bin", records({1, 2, 10, 4}));
        CHECK_THROWS_WITH(load_cifar10_file(d.path / "label.bin"),
                          Catch::Contains("label.bin: record 2 (byte offset 6146) has label 10, outside 0-9"));
    }
    SECTION("short read") {
        // The file claims two records but the stream ends inside the second one.
        std::istringstream in(records({1, 2}).substr(0, 3073 + 100));
        CHECK_THROWS_WITH(read_cifar10_records(in, 2 * 3073, "short.bin"),
                          Catch::Contains("short.bin: short read in record 1: got 3173 of 6146 bytes"));
    }
    SECTION("TYPENET_DATA pointing nowhere is an error, not a silent fallback") {
        ::setenv("TYPENET_DATA", (d.path / "gone").c_str(), 1);
        CHECK_THROWS_WITH(find_cifar10_dir(), Catch::Contains("gone: no such directory"));
        ::unsetenv("TYPENET_DATA");
    }
}

TEST_CASE("the pipeline: seeded shuffles per epoch, smaller last batch, drop-last, augmentation") {
    cifar10_set set;
    const std::size_t n = 10;
    for (std::size_t i = 0; i < n; ++i) {
        set.labels.push_back(std::int32_t(i % 10));
        set.pixels.insert(set.pixels.end(), 3072, std::uint8_t(10 + i * 20));  // never black
    }
    const auto stats = compute_channel_stats(set);
    pipeline_config cfg;
    cfg.batch = 4;
    cfg.seed = 7;

    auto epoch_labels = [&](std::size_t epoch, pipeline_config c) {
        batch_plan plan(set, stats, c, epoch, true);
        std::vector<std::int32_t> all;
        std::vector<float> img(c.batch * 3072);
        std::vector<std::int32_t> lab(c.batch);
        for (std::size_t b = 0; b < plan.batches(); ++b) {
            plan.fill(b, img.data(), lab.data());
            all.insert(all.end(), lab.begin(), lab.begin() + std::ptrdiff_t(plan.batch_size(b)));
        }
        return all;
    };
    const auto e1 = epoch_labels(1, cfg), e1again = epoch_labels(1, cfg), e2 = epoch_labels(2, cfg);
    CHECK(e1 == e1again);                                   // same seed and epoch: same order
    CHECK(e1 != e2);                                        // a new order each epoch
    CHECK(std::set<std::int32_t>(e1.begin(), e1.end()).size() == n);  // a permutation
    CHECK(batch_plan(set, stats, cfg, 1, true).batches() == 3);       // 4 + 4 + 2
    CHECK(batch_plan(set, stats, cfg, 1, true).batch_size(2) == 2);
    cfg.drop_last = true;
    CHECK(batch_plan(set, stats, cfg, 1, true).batches() == 2);
    cfg.drop_last = false;
    cfg.batch = 3;  // 3 + 3 + 3 + 1: a last batch of one image cannot train batch norm: dropped
    CHECK(batch_plan(set, stats, cfg, 1, true).batches() == 3);
    CHECK(batch_plan(set, stats, cfg, 1, false).batches() == 4);  // evaluation keeps it

    // Normalisation: per-channel (x/255 - mean)/std has mean 0 over the set.
    cfg.batch = 10;
    cfg.shuffle = false;
    batch_plan plan(set, stats, cfg, 1, false);
    std::vector<float> img(10 * 3072);
    std::vector<std::int32_t> lab(10);
    plan.fill(0, img.data(), lab.data());
    double sum = 0;
    for (std::size_t i = 0; i < 10; ++i) sum += img[i * 3072];  // channel 0, pixel 0 of every image
    CHECK(std::abs(sum / 10) < 1e-5);

    // Augmentation changes pixels (crop offsets and flips) but is reproducible per (seed, epoch).
    cfg.augment = true;
    cfg.shuffle = true;
    std::vector<float> a(10 * 3072), b(10 * 3072);
    batch_plan(set, stats, cfg, 3, true).fill(0, a.data(), lab.data());
    batch_plan(set, stats, cfg, 3, true).fill(0, b.data(), lab.data());
    CHECK(a == b);
    std::size_t padded = 0;  // zero padding shows up as the normalised value of black pixels
    const float black = (0.0f - stats.mean[0]) / stats.std[0];
    for (std::size_t i = 0; i < 10 * 1024; ++i) padded += std::abs(a[(i / 1024) * 3072 + i % 1024] - black) < 1e-6f;
    CHECK(padded > 0);

    // Cutout: each training image is its uncut version but for one square of zeros in all three
    // channels, side 8 clipped at the borders (4..8 rows and columns); evaluation never cuts.
    // Without crop and flip, the uncut version is the plain normalised image.
    cfg.augment = false;
    cfg.cutout = 8;
    std::vector<float> cut(10 * 3072), plain(10 * 3072);
    batch_plan(set, stats, cfg, 3, true).fill(0, cut.data(), lab.data());
    pipeline_config nocut = cfg;
    nocut.cutout = 0;
    batch_plan(set, stats, nocut, 3, true).fill(0, plain.data(), lab.data());
    for (std::size_t k = 0; k < 10; ++k) {
        INFO("image " << k);
        int y0 = 32, y1 = -1, x0 = 32, x1 = -1;
        std::size_t changed = 0;
        bool same_in_all_channels = true;
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x) {
                const std::size_t i = k * 3072 + std::size_t(y * 32 + x);
                const bool c0 = cut[i] != plain[i];
                for (int c = 1; c < 3; ++c) same_in_all_channels &= (cut[i + std::size_t(c) * 1024] != plain[i + std::size_t(c) * 1024]) == c0;
                if (!c0) continue;
                CHECK(cut[i] == 0.f);
                ++changed;
                y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
            }
        CHECK(same_in_all_channels);
        REQUIRE(changed > 0);  // pixels are never the mean colour here, so every cut pixel shows
        const int h = y1 - y0 + 1, w = x1 - x0 + 1;
        CHECK(std::size_t(h * w) == changed);  // one solid rectangle
        CHECK((h >= 4 && h <= 8 && w >= 4 && w <= 8));
    }
    CHECK(cut != plain);
    std::vector<float> ev(10 * 3072), ev_plain(10 * 3072);
    batch_plan(set, stats, cfg, 3, false).fill(0, ev.data(), lab.data());
    batch_plan(set, stats, nocut, 3, false).fill(0, ev_plain.data(), lab.data());
    CHECK(ev == ev_plain);
}

TEST_CASE("a size that overstates the stream is a short read, not an allocation of that size") {
    // The old reader allocated the stated size before reading: 2^40 records (3 TB) threw
    // std::bad_alloc (and aborted under AddressSanitizer) instead of naming the file.
    const std::uint64_t claimed = (std::uint64_t(1) << 40) * 3073;
    SECTION("a stream that can tell its length (a file, a string)") {
        std::istringstream in(records({1, 2}));
        CHECK_THROWS_WITH(read_cifar10_records(in, claimed, "big.bin"),
                          Catch::Contains("big.bin: short read in record 2: got 6146 of " + std::to_string(claimed) + " bytes"));
    }
    SECTION("a stream that cannot (a pipe)") {
        struct pipe_buf : std::streambuf {
            explicit pipe_buf(std::string& s) { setg(s.data(), s.data(), s.data() + s.size()); }
        };
        std::string bytes = records({1, 2, 3});
        pipe_buf buf(bytes);
        std::istream in(&buf);
        CHECK_THROWS_WITH(read_cifar10_records(in, claimed, "pipe.bin"),
                          Catch::Contains("pipe.bin: short read in record 3: got 9219 of " + std::to_string(claimed) + " bytes"));
    }
    SECTION("the reader still reads whole files from either") {
        std::string bytes = records({4, 5, 6});
        std::istringstream file(bytes);
        CHECK(read_cifar10_records(file, bytes.size(), "ok.bin").labels == std::vector<std::int32_t>{4, 5, 6});
        struct pipe_buf : std::streambuf {
            explicit pipe_buf(std::string& s) { setg(s.data(), s.data(), s.data() + s.size()); }
        };
        pipe_buf buf(bytes);
        std::istream piped(&buf);
        const auto set = read_cifar10_records(piped, bytes.size(), "ok.bin", 2);
        CHECK(set.labels == std::vector<std::int32_t>{4, 5});
        CHECK(set.pixels.size() == 2 * 3072);
        CHECK(set.pixels[3072] == 1);
    }
}
