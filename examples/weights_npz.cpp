// A network's weights out to NumPy's .npz and back in (docs/library.md, "Weights exchange with
// PyTorch / NumPy"): save_npz writes every parameter and running statistic by name, load_npz
// checks that an archive holds exactly this network's tensors and loads them.
//   build/bin/weights_npz [DIR]    (default: the system's temporary folder)
#include <cstdio>
#include <filesystem>
#include <string>

#include "typenet/typenet.hpp"

using namespace typenet;
namespace fs = std::filesystem;

using bar_net = net<input<1, 8, 8>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, flatten, dense<128, 3>>;

int main(int argc, char** argv) {
    const fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path();
    fs::create_directories(dir);
    // [export]
    bar_net model(/*seed=*/1);
    const data::normalization norm{{0.5f}, {0.25f}};
    train::save_npz(model, dir / "bar_net.npz", &norm);  // numpy.load(...)["0.conv_bn.weight"].shape == (8, 1, 3, 3)
    for (const io::npy_array& a : train::network_arrays(model))
        std::printf("%-24s %s\n", a.name.c_str(), io::shape_text(a.shape).c_str());
    // [/export]
    // [import]
    bar_net other(/*seed=*/2);
    const std::optional<data::normalization> stored = train::load_npz(other, dir / "bar_net.npz");
    // [/import]
    const auto same = train::network_arrays(other)[0].values == train::network_arrays(model)[0].values;
    std::printf("loaded back: %s, data.mean %.2f\n", same ? "same weights" : "DIFFERENT", stored ? stored->mean[0] : -1.0f);
    fs::remove(dir / "bar_net.npz");
    return same && stored ? 0 : 1;
}
