// Checkpoints: bit-exact round trip, and every kind of bad file rejected with a clear error.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>

#include "crafted_checkpoint.hpp"
#include "typenet/io/checkpoint.hpp"
#include "typenet/layers.hpp"
#include "typenet/net.hpp"
#include "typenet/optim.hpp"
#include "typenet/train/checkpoint_io.hpp"

namespace fs = std::filesystem;
using namespace typenet;

namespace {
using small_net = net<input<3, 8, 8>, conv_bn<3, 4, 3, 1, same>, max_pool<2, 2>, flatten, dense<64, 10>>;
using other_net = net<input<3, 8, 8>, conv_bn<3, 5, 3, 1, same>, max_pool<2, 2>, flatten, dense<80, 10>>;

struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("typenet-ckpt-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};

// Trains one step so that parameters, running statistics and optimizer state are all non-trivial.
template <class Net>
void one_step(Net& n, optimizer<float>& opt, std::uint64_t seed) {
    tensor<float, shape<3, 8, 8>> x(4);
    rng g(seed);
    for (auto& v : x.flat()) v = float(g.normal());
    n.train();
    n.forward(x);
    tensor<float, shape<10>> dy(4);
    for (auto& v : dy.flat()) v = float(g.normal());
    opt.zero_grad();
    n.backward(dy);
    opt.step(0.1);
}

std::vector<float> all_values(small_net& n, optimizer<float>* opt) {
    std::vector<float> v;
    n.for_each_parameter([&](const parameter_view<float>& p) { v.insert(v.end(), p.value.begin(), p.value.end()); });
    n.for_each_state([&](const state_view<float>& s) { v.insert(v.end(), s.value.begin(), s.value.end()); });
    if (opt) opt->for_each_state([&](const std::string&, std::span<float> b) { v.insert(v.end(), b.begin(), b.end()); });
    return v;
}

std::vector<char> read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& p, const std::vector<char>& b) {
    std::ofstream(p, std::ios::binary).write(b.data(), std::streamsize(b.size()));
}
}  // namespace

TEST_CASE("a checkpoint round trip restores parameters, state and optimizer bit for bit") {
    temp_dir d;
    small_net a(1);
    optimizer_config oc;
    oc.momentum = 0.9;
    optimizer<float> opt_a(collect_parameters(a), oc);
    one_step(a, opt_a, 5);
    one_step(a, opt_a, 6);
    const auto file = d.path / "a.ckpt";
    io::write_checkpoint(file, train::make_checkpoint(a, "small", &opt_a, {{"epoch", "2"}}));

    small_net b(99);  // different initial values
    optimizer<float> opt_b(collect_parameters(b), oc);
    REQUIRE(all_values(a, &opt_a) != all_values(b, &opt_b));
    const auto ck = io::read_checkpoint(file);
    CHECK(*ck.find_meta("epoch") == "2");
    train::restore_checkpoint(ck, file.string(), b, "small", &opt_b);
    const auto va = all_values(a, &opt_a), vb = all_values(b, &opt_b);
    REQUIRE(va.size() == vb.size());
    CHECK(std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0);

    // Writing the restored network again gives the same bytes.
    io::write_checkpoint(d.path / "b.ckpt", train::make_checkpoint(b, "small", &opt_b, {{"epoch", "2"}}));
    CHECK(read_bytes(file) == read_bytes(d.path / "b.ckpt"));
    // No temporary files are left behind.
    for (const auto& e : fs::directory_iterator(d.path)) CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("corrupted, truncated and foreign files are rejected with what is wrong") {
    temp_dir d;
    small_net a(1);
    const auto file = d.path / "a.ckpt";
    io::write_checkpoint(file, train::make_checkpoint(a, "small", nullptr, {}));
    const auto good = read_bytes(file);

    SECTION("a flipped byte anywhere fails the checksum") {
        for (std::size_t pos : {std::size_t(20), good.size() / 2, good.size() - 5}) {
            auto bad = good;
            bad[pos] ^= 0x10;
            write_bytes(d.path / "flip.ckpt", bad);
            CHECK_THROWS_WITH(io::read_checkpoint(d.path / "flip.ckpt"),
                              Catch::Contains("flip.ckpt") && Catch::Contains("checksum mismatch"));
        }
    }
    SECTION("a truncated file says it is truncated") {
        for (std::size_t keep : {std::size_t(3), std::size_t(14), good.size() / 2, good.size() - 1}) {
            write_bytes(d.path / "cut.ckpt", std::vector<char>(good.begin(), good.begin() + std::ptrdiff_t(keep)));
            CHECK_THROWS_WITH(io::read_checkpoint(d.path / "cut.ckpt"),
                              Catch::Contains("cut.ckpt") &&
                                  (Catch::Contains("truncated") || Catch::Contains("wrong magic")));
        }
    }
    SECTION("not a checkpoint at all, a missing file, an unknown version") {
        write_bytes(d.path / "text.ckpt", std::vector<char>(100, 'x'));
        CHECK_THROWS_WITH(io::read_checkpoint(d.path / "text.ckpt"), Catch::Contains("not a typenet checkpoint"));
        CHECK_THROWS_WITH(io::read_checkpoint(d.path / "none.ckpt"), Catch::Contains("none.ckpt: no such checkpoint file"));
        auto v2 = good;
        v2[8] = 2;
        write_bytes(d.path / "v2.ckpt", v2);
        CHECK_THROWS_WITH(io::read_checkpoint(d.path / "v2.ckpt"), Catch::Contains("format version 2 is not supported"));
    }
    SECTION("loading into a different network names the network and the tensor that differ") {
        other_net o(1);
        const auto ck = io::read_checkpoint(file);
        CHECK_THROWS_WITH(train::restore_checkpoint(ck, file.string(), o, "other", nullptr),
                          Catch::Contains("written by network 'small'") && Catch::Contains("loading into 'other'") &&
                              Catch::Contains("tensor '0.conv_bn.weight' is 4x3x3x3 in the checkpoint but 5x3x3x3"));
        // Same name, different structure: still caught by the structure hash.
        CHECK_THROWS_WITH(train::restore_checkpoint(ck, file.string(), o, "small", nullptr),
                          Catch::Contains("structure hash"));
        // A failed load changes nothing.
        const xt::xtensor<float, 4> before = o.layer<0>().conv().weight();
        try {
            train::restore_checkpoint(ck, file.string(), o, "small", nullptr);
        } catch (const io::checkpoint_error&) {
        }
        const bool unchanged = o.layer<0>().conv().weight() == before;
        CHECK(unchanged);
    }
    SECTION("a checkpoint without optimizer state cannot resume an optimizer") {
        small_net b(2);
        optimizer_config oc;
        oc.momentum = 0.9;
        optimizer<float> opt(collect_parameters(b), oc);
        CHECK_THROWS_WITH(train::restore_checkpoint(io::read_checkpoint(file), file.string(), b, "small", &opt),
                          Catch::Contains("optimizer.0.conv_bn.weight.momentum") && Catch::Contains("missing"));
    }
}

TEST_CASE("a save killed half-way leaves the previous checkpoint intact") {
    temp_dir d;
    const auto file = d.path / "last.ckpt";
    io::checkpoint old_ck;
    old_ck.network = "old";
    io::write_checkpoint(file, old_ck);
    // A big checkpoint, so that the write takes long enough to be interrupted.
    io::checkpoint big;
    big.network = "big";
    io::tensor_record t;
    t.name = "blob";
    t.dims = {64u << 20};
    t.bytes.assign(t.dims[0] * 4, 7);
    big.tensors.push_back(std::move(t));
    int interrupted = 0;
    for (int attempt = 0; attempt < 4; ++attempt) {
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            io::write_checkpoint(file, big);
            ::_exit(0);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20 + 40 * attempt));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        interrupted += WIFSIGNALED(status);
        // Whatever happened, last.ckpt is a complete, valid checkpoint: the old one or the new one.
        const auto ck = io::read_checkpoint(file);
        CHECK((ck.network == "old" || ck.network == "big"));
        if (WIFSIGNALED(status)) CHECK(ck.network == "old");
        // Leftover temp files of killed writers are the only trace.
        for (const auto& e : fs::directory_iterator(d.path))
            if (e.path().filename().string().find(".tmp-") != std::string::npos) fs::remove(e.path());
    }
    CHECK(interrupted > 0);  // the test did interrupt at least one save
}

// ---- crafted files: a checkpoint is input from outside (issue 18; tests/fuzz/fuzz_checkpoint.cpp) ----
namespace {
// A crafted checkpoint's bytes into a file.
void write_crafted(const crafted_checkpoint& c, const fs::path& p) {
    const auto out = c.bytes();
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size()));
}
}  // namespace

TEST_CASE("tensors with zero elements round-trip (no memcpy from a null pointer)") {
    // The old reader copied a zero-byte tensor with memcpy(nullptr, ..., 0): undefined behaviour,
    // reported by UBSan (-fsanitize=undefined) and the fuzz build.
    temp_dir d;
    io::checkpoint ck;
    ck.network = "zeros";
    for (auto [name, dtype, dims] : {std::tuple<const char*, std::uint8_t, std::vector<std::uint64_t>>{"empty", 4, {0}},
                                     {"empty2d", 8, {3, 0}}, {"scalar", 4, {}}, {"after", 4, {2}}}) {
        io::tensor_record t;
        t.name = name;
        t.dtype = dtype;
        t.dims = dims;
        t.bytes.assign(std::size_t(t.element_count() * dtype), 0x41);
        ck.tensors.push_back(std::move(t));
    }
    io::write_checkpoint(d.path / "zeros.ckpt", ck);
    const auto back = io::read_checkpoint(d.path / "zeros.ckpt");
    REQUIRE(back.tensors.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(back.tensors[i].name == ck.tensors[i].name);
        CHECK(back.tensors[i].dtype == ck.tensors[i].dtype);
        CHECK(back.tensors[i].dims == ck.tensors[i].dims);
        CHECK(back.tensors[i].bytes == ck.tensors[i].bytes);
    }
    CHECK(back.tensors[0].element_count() == 0);
    CHECK(back.tensors[1].element_count() == 0);
    CHECK(back.tensors[2].bytes.size() == 4);  // rank 0: one element
}

TEST_CASE("crafted sizes are rejected before allocating, naming the file and the tensor") {
    temp_dir d;
    SECTION("2^62 four-byte elements (2^64 bytes, which wrapped to 0 and crashed typenet-inspect)") {
        crafted_checkpoint c(1);
        c.tensor("huge", 4, {std::uint64_t(1) << 62}, 0);
        write_crafted(c, d.path / "huge.ckpt");
        CHECK_THROWS_WITH(io::read_checkpoint(d.path / "huge.ckpt"),
                          Catch::Contains("huge.ckpt") && Catch::Contains("'huge'") && Catch::Contains("4611686018427387904") &&
                              Catch::Contains("overflow"));
    }
    SECTION("dims whose product overflows 64 bits") {
        crafted_checkpoint c(2);
        c.tensor("fine", 4, {2}, 8);
        c.tensor("wide", 8, {std::uint64_t(1) << 32, std::uint64_t(1) << 32, 3}, 0);
        write_crafted(c, d.path / "wide.ckpt");
        CHECK_THROWS_WITH(io::read_checkpoint(d.path / "wide.ckpt"),
                          Catch::Contains("wide.ckpt") && Catch::Contains("tensor 1 'wide'") &&
                              Catch::Contains("4294967296x4294967296x3") && Catch::Contains("overflow"));
    }
    SECTION("seven dims whose byte count wraps to exactly 0 (found by tests/fuzz/fuzz_checkpoint in 2 s)") {
        // tests/fuzz/corpus/checkpoint/found-wrapped-dims.ckpt: the old reader accepted it as a
        // tensor of 0 elements, the product of its dims taken modulo 2^64.
        crafted_checkpoint c(1);
        c.tensor("short", 4,
                 {7234316359510938723ull, 6424384868444017204ull, 3845245375824ull, 256, 219043332245ull,
                  6052837899185946624ull, 144489319695208537ull},
                 0);
        write_crafted(c, d.path / "found.ckpt");
        CHECK_THROWS_WITH(io::read_checkpoint(d.path / "found.ckpt"),
                          Catch::Contains("found.ckpt") && Catch::Contains("tensor 0 'short'") && Catch::Contains("overflow"));
    }
    SECTION("dims asking for more bytes than the file holds") {
        crafted_checkpoint c(1);
        c.tensor("short", 4, {1000, 1000}, 16);
        write_crafted(c, d.path / "short.ckpt");
        CHECK_THROWS_WITH(io::read_checkpoint(d.path / "short.ckpt"),
                          Catch::Contains("short.ckpt") && Catch::Contains("'short'") && Catch::Contains("1000x1000") &&
                              Catch::Contains("need 4000000 bytes"));
    }
    SECTION("a file cut inside a tensor's data names that tensor") {
        crafted_checkpoint c(2);
        c.tensor("first", 4, {3}, 12);
        c.tensor("w", 4, {100}, 400);
        write_crafted(c, d.path / "whole.ckpt");
        CHECK(io::read_checkpoint(d.path / "whole.ckpt").tensors.size() == 2);
        const auto whole = read_bytes(d.path / "whole.ckpt");
        write_bytes(d.path / "cut.ckpt", std::vector<char>(whole.begin(), whole.end() - 50));
        CHECK_THROWS_WITH(io::read_checkpoint(d.path / "cut.ckpt"),
                          Catch::Contains("cut.ckpt") && Catch::Contains("checksum mismatch") &&
                              Catch::Contains("tensor 1 'w'") && Catch::Contains("need 400 bytes") &&
                              Catch::Contains("only 350 remain") && Catch::Contains("truncated"));
    }
    SECTION("a checkpoint put together in memory with bytes that do not match its dims is not written") {
        io::checkpoint ck;
        io::tensor_record t;
        t.name = "liar";
        t.dims = {std::uint64_t(1) << 62};  // 2^64 bytes wrap to 0, which matched the empty bytes
        ck.tensors.push_back(t);
        CHECK_THROWS_WITH(io::write_checkpoint(d.path / "liar.ckpt", ck), Catch::Contains("'liar'"));
        CHECK_FALSE(fs::exists(d.path / "liar.ckpt"));
    }
}
