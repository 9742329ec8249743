// typenet/data/image_folder.hpp - labelled images in a folder of class folders, PNG and JPEG.
//
//   root/
//     cat/   0001.png  0002.jpg ...
//     dog/   a.png ...
//
// Each sub-folder of `root` is a class, in the order of their names (byte order); hidden
// entries (a name starting with '.') are skipped, and so are files whose extension is not .png,
// .jpg or .jpeg (any case). Images are decoded with libpng and libjpeg-turbo (Debian's packages)
// and must have exactly the source's shape: C channels (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA;
// a palette PNG counts as RGB, or RGBA when it has transparent entries; 16-bit PNG samples keep
// their high byte; a colour JPEG is RGB, CMYK JPEGs are refused), H rows, W columns; nothing
// else is converted or resized. Every problem is a data_error naming the file or
// folder: a missing or empty folder, a class count other than the source's, an empty class
// folder, a file that is not PNG or JPEG, a corrupt image, an image of another size or channel
// count. The size is read from the header before anything is decoded.
//
// Decoded images are held as C*H*W bytes each (plus a label and the file's path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "typenet/data/error.hpp"
#include "typenet/shape.hpp"

namespace typenet::data {

struct image_geometry {
    std::size_t channels, height, width;
};

// Image files larger than this are refused (2 GiB).
inline constexpr std::uint64_t max_image_bytes = (std::uint64_t(1) << 31) - 1;

// The geometry of the PNG or JPEG in `bytes`, read from its header (in the channels decode_image
// gives it); `source` names it in errors.
image_geometry image_info(std::span<const std::uint8_t> bytes, const std::string& source);
// The PNG or JPEG in `bytes` as (C, H, W) bytes; `source` names it in errors. A file whose data
// is corrupt or cut short is a data_error, never a partly grey image. What
// tests/fuzz/fuzz_image.cpp fuzzes.
std::vector<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, const std::string& source,
                                       image_geometry want);
// The same, from a file.
std::vector<std::uint8_t> load_image(const std::filesystem::path& file, image_geometry want);
// Writes C x H x W bytes (C = 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) as an 8-bit PNG file, with
// libpng; throws data_error naming the file when the sizes disagree or it cannot be
// written. (Not atomic: for data sets and pictures, not for a run's state.)
void save_png(const std::filesystem::path& file, std::span<const std::uint8_t> chw, image_geometry g);

struct image_folder_set {
    std::vector<std::uint8_t> pixels;  // size() * C*H*W bytes
    std::vector<std::int32_t> labels;
    std::vector<std::string> class_names;  // the class folders' names
    std::vector<std::filesystem::path> files;
    std::size_t size() const { return labels.size(); }
};

// Every image of root's class folders, class after class, each in file-name order. `classes`
// is the number of class folders there must be (0: any number).
image_folder_set load_image_folder(const std::filesystem::path& root, image_geometry want, std::size_t classes = 0);

// The folder as a data source of Shape = shape<C, H, W> bytes and Classes class folders.
template <class Shape, std::size_t Classes>
class image_folder_source {
    static_assert(spatial_shape<Shape> && Shape::dims[0] >= 1 && Shape::dims[0] <= 4,
                  "typenet: image_folder_source<shape<C, H, W>, Classes>: images have 1 to 4 channels");
    static_assert(Classes >= 1, "typenet: image_folder_source<Shape, Classes>: at least one class");

public:
    using sample_shape = Shape;
    using value_type = std::uint8_t;
    static constexpr std::size_t classes = Classes;

    explicit image_folder_source(const std::filesystem::path& root)
        : set_(load_image_folder(root, {Shape::dims[0], Shape::dims[1], Shape::dims[2]}, Classes)) {}

    std::size_t size() const { return set_.size(); }
    const std::uint8_t* sample(std::size_t i) const { return set_.pixels.data() + i * Shape::size; }
    std::int32_t label(std::size_t i) const { return set_.labels[i]; }
    const std::vector<std::string>& class_names() const { return set_.class_names; }
    const std::filesystem::path& file(std::size_t i) const { return set_.files[i]; }

private:
    image_folder_set set_;
};

}  // namespace typenet::data
