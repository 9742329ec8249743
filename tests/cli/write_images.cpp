// tests/cli/write_images DIR: the images cli_case.sh's predict case feeds typenet-predict,
// written from CIFAR-10's test set (found as typenet-train finds it):
//   test_I.png   test records 0-4 as 32 x 32 RGB PNGs (lossless: the same pixels as test:I)
//   test_0.jpg   record 0 as a JPEG (lossy: it only has to decode and be predicted)
//   small.png    16 x 16 RGB           (another size)
//   grey.png     32 x 32, one channel  (another channel count)
//   corrupt.png  test_0.png cut short  (a corrupt image)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include "typenet/data/cifar10.hpp"
#include "typenet/data/image_folder.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: write_images DIR\n");
        return 2;
    }
    namespace data = typenet::data;
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    const auto set = data::load_cifar10_test(data::find_cifar10_dir(), 5);
    for (std::size_t i = 0; i < 5; ++i) {
        const std::vector<std::uint8_t> chw(set.pixels.begin() + std::ptrdiff_t(i * 3072),
                                            set.pixels.begin() + std::ptrdiff_t((i + 1) * 3072));
        data::save_png(dir / ("test_" + std::to_string(i) + ".png"), chw, {3, 32, 32});
        if (i == 0) {  // stb writes interleaved (H, W, C)
            std::vector<std::uint8_t> hwc(3072);
            for (std::size_t c = 0; c < 3; ++c)
                for (std::size_t p = 0; p < 1024; ++p) hwc[p * 3 + c] = chw[c * 1024 + p];
            if (!stbi_write_jpg((dir / "test_0.jpg").c_str(), 32, 32, 3, hwc.data(), 95)) return 1;
        }
    }
    data::save_png(dir / "small.png", std::vector<std::uint8_t>(3 * 16 * 16, 128), {3, 16, 16});
    data::save_png(dir / "grey.png", std::vector<std::uint8_t>(32 * 32, 200), {1, 32, 32});
    std::ifstream in(dir / "test_0.png", std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "corrupt.png", std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
    return 0;
}
