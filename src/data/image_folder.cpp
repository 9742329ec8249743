#include "typenet/data/image_folder.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include "stream_bytes.hpp"

namespace typenet::data {

namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool hidden(const fs::path& p) { return p.filename().string().starts_with('.'); }

}  // namespace

std::vector<std::uint8_t> load_image(const fs::path& file, image_geometry want) {
    auto f = detail::open_data_file(file);
    if (f.size > max_image_bytes)
        throw data_error(file.string() + ": " + std::to_string(f.size) + " bytes is too large for an image (2 GiB)");
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

}  // namespace typenet::data
