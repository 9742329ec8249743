#include "typenet/data/cifar100.hpp"

#include <utility>

#include "stream_bytes.hpp"

namespace typenet::data {

cifar100_set read_cifar100_records(std::istream& in, std::uint64_t size_bytes, const std::string& source,
                                   std::size_t limit) {
    static const detail::record_format format{
        "CIFAR-100", {cifar100_coarse_classes, cifar100_fine_classes}, {"coarse label", "fine label"}};
    cifar100_set set;
    std::vector<std::vector<std::int32_t>> labels;
    detail::read_label_records(in, size_bytes, source, limit, format, set.pixels, labels);
    set.coarse = std::move(labels[0]);
    set.fine = std::move(labels[1]);
    return set;
}

void check_cifar100_set(const cifar100_set& set) {
    if (set.coarse.size() != set.fine.size() || set.pixels.size() != set.fine.size() * cifar100_image_bytes)
        throw data_error("cifar100_source: " + std::to_string(set.pixels.size()) + " pixel bytes, " +
                         std::to_string(set.fine.size()) + " fine and " + std::to_string(set.coarse.size()) +
                         " coarse labels (3,072 bytes and one of each label per image)");
    for (std::size_t i = 0; i < set.size(); ++i)
        if (set.fine[i] < 0 || set.fine[i] >= std::int32_t(cifar100_fine_classes) || set.coarse[i] < 0 ||
            set.coarse[i] >= std::int32_t(cifar100_coarse_classes))
            throw data_error("cifar100_source: image " + std::to_string(i) + " has fine label " +
                             std::to_string(set.fine[i]) + " and coarse label " + std::to_string(set.coarse[i]) +
                             " (0-99 and 0-19)");
}

cifar100_set load_cifar100_file(const std::filesystem::path& file, std::size_t limit) {
    auto f = detail::open_data_file(file);
    return read_cifar100_records(f.in, f.size, file.string(), limit);
}

const std::vector<std::string>& cifar100_fine_class_names() {
    static const std::vector<std::string> names{
        "apple",        "aquarium_fish", "baby",       "bear",       "beaver",      "bed",         "bee",
        "beetle",       "bicycle",       "bottle",     "bowl",       "boy",         "bridge",      "bus",
        "butterfly",    "camel",         "can",        "castle",     "caterpillar", "cattle",      "chair",
        "chimpanzee",   "clock",         "cloud",      "cockroach",  "couch",       "crab",        "crocodile",
        "cup",          "dinosaur",      "dolphin",    "elephant",   "flatfish",    "forest",      "fox",
        "girl",         "hamster",       "house",      "kangaroo",   "keyboard",    "lamp",        "lawn_mower",
        "leopard",      "lion",          "lizard",     "lobster",    "man",         "maple_tree",  "motorcycle",
        "mountain",     "mouse",         "mushroom",   "oak_tree",   "orange",      "orchid",      "otter",
        "palm_tree",    "pear",          "pickup_truck", "pine_tree", "plain",      "plate",       "poppy",
        "porcupine",    "possum",        "rabbit",     "raccoon",    "ray",         "road",        "rocket",
        "rose",         "sea",           "seal",       "shark",      "shrew",       "skunk",       "skyscraper",
        "snail",        "snake",         "spider",     "squirrel",   "streetcar",   "sunflower",   "sweet_pepper",
        "table",        "tank",          "telephone",  "television", "tiger",       "tractor",     "train",
        "trout",        "tulip",         "turtle",     "wardrobe",   "whale",       "willow_tree", "wolf",
        "woman",        "worm"};
    return names;
}

const std::vector<std::string>& cifar100_coarse_class_names() {
    static const std::vector<std::string> names{"aquatic_mammals",
                                                "fish",
                                                "flowers",
                                                "food_containers",
                                                "fruit_and_vegetables",
                                                "household_electrical_devices",
                                                "household_furniture",
                                                "insects",
                                                "large_carnivores",
                                                "large_man-made_outdoor_things",
                                                "large_natural_outdoor_scenes",
                                                "large_omnivores_and_herbivores",
                                                "medium_mammals",
                                                "non-insect_invertebrates",
                                                "people",
                                                "reptiles",
                                                "small_mammals",
                                                "trees",
                                                "vehicles_1",
                                                "vehicles_2"};
    return names;
}

}  // namespace typenet::data
