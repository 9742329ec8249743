#include "typenet/data/image_folder.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <memory>

#include <stb/stb_image.h>  // declarations only: the implementation is Debian's libstb (-lstb)
#include <stb/stb_image_write.h>

#include "stream_bytes.hpp"

namespace typenet::data {

namespace fs = std::filesystem;

namespace {

std::string geometry_text(std::size_t c, std::size_t h, std::size_t w) {
    return std::to_string(h) + " x " + std::to_string(w) + " pixels (height x width) with " + std::to_string(c) +
           (c == 1 ? " channel" : " channels");
}

bool starts_with(std::span<const std::uint8_t> b, std::initializer_list<std::uint8_t> magic) {
    return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
}

bool is_image_file(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool hidden(const fs::path& p) { return p.filename().string().starts_with('.'); }

// Every PNG chunk's stated length must fit in the file. stb_image 2022-09 grows its buffer for
// the image data to a chunk's stated length before it reads the chunk: the 137-byte
// tests/fuzz/corpus/image/chunk-states-2gib.png makes it ask for 0x7f000050 bytes (found by
// tests/fuzz/fuzz_image.cpp in seconds).
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

}  // namespace

std::vector<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, const std::string& source,
                                       image_geometry want) {
    const bool png = starts_with(bytes, {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a});
    const bool jpeg = starts_with(bytes, {0xff, 0xd8, 0xff});
    if (!png && !jpeg) throw data_error(source + ": not a PNG or JPEG file (its first bytes are neither signature)");
    const char* kind = png ? "PNG" : "JPEG";
    if (png) check_png_chunks(bytes, source);
    if (bytes.size() > std::size_t(INT_MAX))
        throw data_error(source + ": " + std::to_string(bytes.size()) + " bytes is too large for the decoder (2 GiB)");
    const int len = int(bytes.size());
    int w = 0, h = 0, c = 0;
    if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &c))
        throw data_error(source + ": corrupt " + kind + " header (" + stbi_failure_reason() + ")");
    if (std::size_t(w) != want.width || std::size_t(h) != want.height || std::size_t(c) != want.channels)
        throw data_error(source + ": an image of " + geometry_text(std::size_t(c), std::size_t(h), std::size_t(w)) +
                         "; the source's images are " + geometry_text(want.channels, want.height, want.width) +
                         " (convert or resize it first)");
    int w2 = 0, h2 = 0, c2 = 0;
    const std::unique_ptr<stbi_uc, void (*)(void*)> hwc(
        stbi_load_from_memory(bytes.data(), len, &w2, &h2, &c2, int(want.channels)), stbi_image_free);
    if (!hwc) throw data_error(source + ": corrupt " + kind + " image (" + stbi_failure_reason() + ")");
    if (w2 != w || h2 != h) throw data_error(source + ": the " + kind + " image's size differs from its header's");
    // Interleaved H x W x C from the decoder to typenet's planes, C x H x W.
    const std::size_t C = want.channels, plane = want.height * want.width;
    std::vector<std::uint8_t> chw(C * plane);
    for (std::size_t p = 0; p < plane; ++p)
        for (std::size_t k = 0; k < C; ++k) chw[k * plane + p] = hwc.get()[p * C + k];
    return chw;
}

std::vector<std::uint8_t> load_image(const fs::path& file, image_geometry want) {
    auto f = detail::open_data_file(file);
    if (f.size > std::uint64_t(INT_MAX))
        throw data_error(file.string() + ": " + std::to_string(f.size) + " bytes is too large for the decoder (2 GiB)");
    std::vector<std::uint8_t> bytes(std::size_t(f.size));
    f.in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
    if (std::uint64_t(f.in.gcount()) != f.size)
        throw data_error(file.string() + ": short read: got " + std::to_string(f.in.gcount()) + " of " +
                         std::to_string(f.size) + " bytes");
    return decode_image(bytes, file.string(), want);
}

namespace {
// The entries of `dir` that pass `keep`, sorted by file name; data_error naming `dir` when it
// cannot be read.
template <class Keep>
std::vector<fs::path> list_sorted(const fs::path& dir, Keep keep) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (!hidden(it->path()) && keep(*it)) out.push_back(it->path());
    if (ec) throw data_error(dir.string() + ": cannot list the folder: " + ec.message());
    std::sort(out.begin(), out.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
    return out;
}
}  // namespace

image_folder_set load_image_folder(const fs::path& root, image_geometry want, std::size_t classes) {
    std::error_code ec;
    const auto st = fs::status(root, ec);
    if (st.type() == fs::file_type::not_found)
        throw data_error(root.string() + ": no such folder (expected one sub-folder per class)");
    if (ec) throw data_error(root.string() + ": cannot read: " + ec.message());
    if (!fs::is_directory(st)) throw data_error(root.string() + ": not a folder");
    const auto class_dirs = list_sorted(root, [](const fs::directory_entry& e) {
        std::error_code e2;
        return e.is_directory(e2);
    });
    if (class_dirs.empty()) throw data_error(root.string() + ": holds no class folders (one sub-folder per class)");
    if (classes != 0 && class_dirs.size() != classes) {
        std::string names;
        for (const auto& d : class_dirs) names += (names.empty() ? "" : ", ") + d.filename().string();
        throw data_error(root.string() + ": " + std::to_string(class_dirs.size()) + " class folders (" + names +
                         "), but the source has " + std::to_string(classes) + " classes");
    }
    // Every class's files first, so that the pixels are allocated once.
    std::vector<std::vector<fs::path>> files(class_dirs.size());
    std::size_t total = 0;
    for (std::size_t k = 0; k < class_dirs.size(); ++k) {
        files[k] = list_sorted(class_dirs[k], [](const fs::directory_entry& e) {
            std::error_code e2;
            return !e.is_directory(e2) && is_image_file(e.path());
        });
        if (files[k].empty())
            throw data_error(class_dirs[k].string() + ": class folder with no PNG or JPEG images (.png, .jpg, .jpeg)");
        total += files[k].size();
    }
    image_folder_set set;
    set.pixels.reserve(total * want.channels * want.height * want.width);
    set.labels.reserve(total);
    set.files.reserve(total);
    for (std::size_t k = 0; k < class_dirs.size(); ++k) {
        set.class_names.push_back(class_dirs[k].filename().string());
        for (const auto& f : files[k]) {
            const auto chw = load_image(f, want);
            set.pixels.insert(set.pixels.end(), chw.begin(), chw.end());
            set.labels.push_back(std::int32_t(k));
            set.files.push_back(f);
        }
    }
    return set;
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
    if (!stbi_write_png(file.c_str(), int(g.width), int(g.height), int(g.channels), hwc.data(), int(g.width * g.channels)))
        throw data_error(file.string() + ": cannot write the PNG (a missing folder, no permission or a full disk?)");
}

}  // namespace typenet::data
