// libFuzzer target: data::decode_image (PNG and JPEG through Debian's stb_image, behind
// load_image and load_image_folder). The input is a file's bytes, decoded with the geometry of
// the corpus images (3 x 8 x 8) and again with the geometry its own header states when that is
// small (at most 64K values), so that corrupt image data past a valid header reaches the decoder.
// What decodes has exactly C*H*W bytes. stb_image itself is not instrumented (Debian's build):
// this finds crashes there, and any memory error in typenet's code around it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include <stb/stb_image.h>

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
    int w = 0, h = 0, c = 0;
    if (size < (1u << 20) && stbi_info_from_memory(data, int(size), &w, &h, &c) && w > 0 && h > 0 && c > 0 &&
        std::size_t(w) * std::size_t(h) * std::size_t(c) <= (1u << 16))
        check(bytes, {std::size_t(c), std::size_t(h), std::size_t(w)});
    return 0;
}
