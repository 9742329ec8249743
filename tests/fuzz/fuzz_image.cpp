// libFuzzer target: data::image_info and data::decode_image (PNG and JPEG through Debian's
// libpng and libjpeg-turbo, behind load_image and load_image_folder). The input is a file's
// bytes, decoded with the geometry of the corpus images (3 x 8 x 8) and again with the geometry
// image_info reads from its header when that is small (at most 64K values), so that corrupt
// image data past a valid header reaches the decoder. What decodes has exactly C*H*W bytes.
// The decoders are not instrumented (Debian's builds): this finds crashes there, and any memory
// error in typenet's code around them. (It found stb_image's, the decoder before them:
// corpus/image/found-dht-overflow.jpg.)
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "typenet/data/image_folder.hpp"

namespace {
using namespace typenet::data;

void check(std::span<const std::uint8_t> bytes, image_geometry g) {
    try {
        const auto chw = decode_image(bytes, "fuzz.png", g);
        if (chw.size() != g.channels * g.height * g.width) std::abort();
    } catch (const data_error& e) {
        if (std::strstr(e.what(), "fuzz.png") == nullptr) std::abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    check(bytes, {3, 8, 8});
    image_geometry g{};
    try {
        g = image_info(bytes, "fuzz.png");
    } catch (const data_error& e) {
        if (std::strstr(e.what(), "fuzz.png") == nullptr) std::abort();
        return 0;
    }
    if (g.channels < 1 || g.channels > 4) std::abort();
    if (g.height > 0 && g.width > 0 && g.channels * g.height * g.width <= (1u << 16)) check(bytes, g);
    return 0;
}
