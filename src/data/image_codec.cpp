// PNG and JPEG bytes to typenet's (C, H, W) planes, and planes to PNG files: data/image_folder.hpp's
// image_info, decode_image and save_png.
//
// The decoders are Debian's libpng 1.6 and libjpeg-turbo 2.1 (TurboJPEG API), both fuzzed
// upstream without pause (OSS-Fuzz). Until 2026-12 this was stb_image 2022-09 (libstb), which
// its author does not harden against crafted files: tests/fuzz/fuzz_image.cpp crashed inside
// libstb.so.0 in the CI, and an instrumented build of the same stb_image.h found a JPEG whose
// Huffman table (DHT) states more than 256 codes, on which stbi__build_huffman writes past its
// 257-byte table (tests/fuzz/corpus/image/found-dht-overflow.jpg).
//
// libpng reports errors by longjmp. Only the member functions of png_reader below call libpng,
// each sets its own jump target and holds no C++ object that would need destroying there; the
// buffers they fill belong to the caller.
#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include <png.h>
#include <turbojpeg.h>

#include "typenet/data/image_folder.hpp"

namespace typenet::data {

namespace {

std::string geometry_text(std::size_t c, std::size_t h, std::size_t w) {
    return std::to_string(h) + " x " + std::to_string(w) + " pixels (height x width) with " + std::to_string(c) +
           (c == 1 ? " channel" : " channels");
}

bool starts_with(std::span<const std::uint8_t> b, std::initializer_list<std::uint8_t> magic) {
    return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
}

bool is_png(std::span<const std::uint8_t> b) { return starts_with(b, {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a}); }
bool is_jpeg(std::span<const std::uint8_t> b) { return starts_with(b, {0xff, 0xd8, 0xff}); }

// Every PNG chunk's stated length must fit in the file: a clear message naming the chunk and its
// offset, before a decoder sees the bytes. (stb_image grew a buffer to a stated 2 GiB;
// tests/fuzz/corpus/image/chunk-states-2gib.png.)
void check_png_chunks(std::span<const std::uint8_t> b, const std::string& source) {
    std::size_t pos = 8;  // after the signature
    while (pos + 8 <= b.size()) {
        const std::uint64_t len = std::uint64_t(b[pos]) << 24 | std::uint64_t(b[pos + 1]) << 16 |
                                  std::uint64_t(b[pos + 2]) << 8 | b[pos + 3];
        std::string type(reinterpret_cast<const char*>(b.data() + pos + 4), 4);
        for (auto& ch : type)
            if (!std::isalpha(static_cast<unsigned char>(ch))) ch = '?';
        if (len > b.size() - pos - 8)
            throw data_error(source + ": corrupt PNG: chunk '" + type + "' at byte " + std::to_string(pos) +
                             " states " + std::to_string(len) + " bytes of data, past the end of the file (" +
                             std::to_string(b.size()) + " bytes)");
        if (b.size() - pos - 8 - len < 4)
            throw data_error(source + ": corrupt PNG: the file ends inside the checksum of chunk '" + type +
                             "' at byte " + std::to_string(pos) + " (" + std::to_string(b.size()) + " bytes)");
        if (type == "IEND") return;
        pos += 12 + std::size_t(len);
    }
}

// ---- PNG (libpng) ----

// What a file holds, in the channels typenet gives it: grey 1, grey + alpha 2, RGB 3, RGBA 4;
// a palette image 3, or 4 when its tRNS chunk makes some entries transparent. 16-bit samples
// keep their high byte; 1-, 2- and 4-bit grey are scaled to 8 bits. (A tRNS chunk on a grey or
// RGB image, one transparent colour, is ignored: no alpha channel is made up.)
class png_reader {
public:
    png_reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {
        png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, this, on_error, on_warning);
        if (png_) info_ = png_create_info_struct(png_);
    }
    ~png_reader() { png_destroy_read_struct(&png_, &info_, nullptr); }
    png_reader(const png_reader&) = delete;
    png_reader& operator=(const png_reader&) = delete;

    // Reads the header and sets the transformations; false with message() when libpng refuses.
    bool read_header() {
        if (!png_ || !info_) return fail("out of memory");
        if (setjmp(png_jmpbuf(png_))) return false;
        png_set_read_fn(png_, this, on_read);
        png_read_info(png_, info_);
        const int type = png_get_color_type(png_, info_), depth = png_get_bit_depth(png_, info_);
        if (depth == 16) png_set_strip_16(png_);
        if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png_);
        if (type == PNG_COLOR_TYPE_PALETTE) {
            png_set_palette_to_rgb(png_);
            if (png_get_valid(png_, info_, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png_);
        }
        png_set_interlace_handling(png_);
        png_read_update_info(png_, info_);
        geometry_ = {png_get_channels(png_, info_), png_get_image_height(png_, info_), png_get_image_width(png_, info_)};
        row_bytes_ = png_get_rowbytes(png_, info_);
        return true;
    }
    image_geometry geometry() const { return geometry_; }

    // The pixels, interleaved (H, W, C), into rows[y] (each geometry().width * channels bytes).
    bool read_rows(std::uint8_t** rows) {
        if (row_bytes_ != geometry_.width * geometry_.channels) return fail("unexpected row size after conversion");
        if (setjmp(png_jmpbuf(png_))) return false;
        png_read_image(png_, rows);
        return true;
    }
    const char* message() const { return message_; }

private:
    bool fail(const char* why) {
        std::snprintf(message_, sizeof message_, "%s", why);
        return false;
    }
    static void on_error(png_structp png, png_const_charp why) {
        static_cast<png_reader*>(png_get_error_ptr(png))->fail(why);
        png_longjmp(png, 1);
    }
    static void on_warning(png_structp, png_const_charp) {}  // ancillary chunks: the pixels are still right
    static void on_read(png_structp png, png_bytep out, png_size_t n) {
        auto* self = static_cast<png_reader*>(png_get_io_ptr(png));
        if (n > self->bytes_.size() - self->pos_) png_error(png, "the file ends early");
        std::memcpy(out, self->bytes_.data() + self->pos_, n);
        self->pos_ += n;
    }

    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
    png_structp png_ = nullptr;
    png_infop info_ = nullptr;
    image_geometry geometry_{};
    std::size_t row_bytes_ = 0;
    char message_[200] = "";
};

// ---- JPEG (TurboJPEG) ----

struct tj_handle {
    tjhandle h = tjInitDecompress();
    ~tj_handle() {
        if (h) tjDestroy(h);
    }
};

// Grey JPEGs have 1 channel, colour ones 3. A warning (such as a file cut short, whose missing
// rows libjpeg fills with grey) makes tjDecompress2 return -1 like an error, and is one here;
// STOPONWARNING stops the decoding there, LIMITSCANS at 500 progressive scans.
constexpr int jpeg_flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;

image_geometry jpeg_geometry(const tj_handle& tj, std::span<const std::uint8_t> bytes, const std::string& source) {
    if (!tj.h) throw data_error(source + ": cannot start the JPEG decoder (" + tjGetErrorStr2(nullptr) + ")");
    int w = 0, h = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(tj.h, bytes.data(), static_cast<unsigned long>(bytes.size()), &w, &h, &subsampling,
                            &colorspace) != 0)
        throw data_error(source + ": corrupt JPEG header (" + tjGetErrorStr2(tj.h) + ")");
    if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)
        throw data_error(source + ": a CMYK JPEG; typenet reads grey and colour (RGB) JPEGs (convert it first)");
    return {colorspace == TJCS_GRAY ? 1u : 3u, std::size_t(h), std::size_t(w)};
}

// true for a PNG (whose chunks fit in the file), false for a JPEG; data_error for anything else.
bool png_or_jpeg(std::span<const std::uint8_t> bytes, const std::string& source) {
    const bool png = is_png(bytes);
    if (!png && !is_jpeg(bytes))
        throw data_error(source + ": not a PNG or JPEG file (its first bytes are neither signature)");
    if (bytes.size() > max_image_bytes)
        throw data_error(source + ": " + std::to_string(bytes.size()) + " bytes is too large for an image (2 GiB)");
    if (png) check_png_chunks(bytes, source);
    return png;
}

}  // namespace

image_geometry image_info(std::span<const std::uint8_t> bytes, const std::string& source) {
    if (!png_or_jpeg(bytes, source)) return jpeg_geometry(tj_handle{}, bytes, source);
    png_reader r(bytes);
    if (!r.read_header()) throw data_error(source + ": corrupt PNG header (" + r.message() + ")");
    return r.geometry();
}

std::vector<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, const std::string& source,
                                       image_geometry want) {
    const bool png = png_or_jpeg(bytes, source);
    const auto check_geometry = [&](image_geometry got) {
        if (got.width != want.width || got.height != want.height || got.channels != want.channels)
            throw data_error(source + ": an image of " + geometry_text(got.channels, got.height, got.width) +
                             "; the source's images are " + geometry_text(want.channels, want.height, want.width) +
                             " (convert or resize it first)");
    };
    const std::size_t C = want.channels, plane = want.height * want.width;
    std::vector<std::uint8_t> hwc(C * plane);
    if (png) {
        png_reader r(bytes);
        if (!r.read_header()) throw data_error(source + ": corrupt PNG header (" + r.message() + ")");
        check_geometry(r.geometry());
        std::vector<std::uint8_t*> rows(want.height);
        for (std::size_t y = 0; y < want.height; ++y) rows[y] = hwc.data() + y * want.width * C;
        if (!r.read_rows(rows.data())) throw data_error(source + ": corrupt PNG image (" + r.message() + ")");
    } else {
        const tj_handle tj;
        check_geometry(jpeg_geometry(tj, bytes, source));
        if (tjDecompress2(tj.h, bytes.data(), static_cast<unsigned long>(bytes.size()), hwc.data(), int(want.width),
                          0, int(want.height), C == 1 ? TJPF_GRAY : TJPF_RGB, jpeg_flags) != 0)
            throw data_error(source + ": corrupt JPEG image (" + tjGetErrorStr2(tj.h) + ")");
    }
    // Interleaved H x W x C from the decoder to typenet's planes, C x H x W.
    std::vector<std::uint8_t> chw(C * plane);
    for (std::size_t p = 0; p < plane; ++p)
        for (std::size_t k = 0; k < C; ++k) chw[k * plane + p] = hwc[p * C + k];
    return chw;
}

void save_png(const std::filesystem::path& file, std::span<const std::uint8_t> chw, image_geometry g) {
    if (g.channels < 1 || g.channels > 4 || g.height == 0 || g.width == 0 || g.height > 1u << 20 || g.width > 1u << 20)
        throw data_error(file.string() + ": cannot write a PNG of " + std::to_string(g.channels) + " channels and " +
                         std::to_string(g.height) + "x" + std::to_string(g.width) + " pixels");
    const std::size_t plane = g.height * g.width;
    if (chw.size() != g.channels * plane)
        throw data_error(file.string() + ": " + std::to_string(chw.size()) + " bytes for a " + std::to_string(g.channels) +
                         "x" + std::to_string(g.height) + "x" + std::to_string(g.width) + " image");
    std::vector<std::uint8_t> hwc(chw.size());
    for (std::size_t c = 0; c < g.channels; ++c)
        for (std::size_t i = 0; i < plane; ++i) hwc[i * g.channels + c] = chw[c * plane + i];
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = png_uint_32(g.width);
    image.height = png_uint_32(g.height);
    constexpr png_uint_32 formats[] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB, PNG_FORMAT_RGBA};
    image.format = formats[g.channels - 1];
    const int ok = png_image_write_to_file(&image, file.c_str(), 0, hwc.data(), png_int_32(g.width * g.channels),
                                           nullptr);
    const std::string why = image.message;
    png_image_free(&image);
    if (!ok) throw data_error(file.string() + ": cannot write the PNG (" + why + ")");
}

}  // namespace typenet::data
