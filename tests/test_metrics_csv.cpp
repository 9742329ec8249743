// read_metrics_csv on crafted files (typenet-plot reads any file a user names): every bad cell is
// an error naming the file and the line, never undefined behaviour (tests/fuzz/fuzz_metrics_csv.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "typenet/train/report.hpp"
#include "typenet/train/step_table.hpp"

namespace fs = std::filesystem;
using typenet::train::read_metrics_csv;

namespace {
const std::string header =
    "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged\n";
fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = fs::temp_directory_path() / ("typenet-metrics-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
}
}  // namespace

TEST_CASE("a metrics.csv as typenet-train writes it loads, NaN and infinite losses included") {
    const auto p = write("good.csv", header + "1,2.3,0.1,2.2,0.12,1.5,0.1,12.345,4000.0,0\n"
                                              "2,nan,0.1,inf,0.1,-inf,0.1,11.9,4200.0,1\r\n");
    const auto rows = read_metrics_csv(p);
    fs::remove(p);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].epoch == 1);
    CHECK(rows[0].seconds == 12.345);
    CHECK(rows[1].epoch == 2);
    CHECK(std::isnan(rows[1].train_loss));
    CHECK(rows[1].diverged);
}

TEST_CASE("an epoch that is not a whole number >= 1 is an error naming the file and line") {
    // The old reader converted the epoch cell to size_t unchecked: NaN or 1e300 is undefined
    // behaviour (UBSan: "nan is outside the range of representable values"), -1 and 2.5 loaded.
    for (const std::string epoch : {"nan", "1e300", "-1", "0", "2.5", "inf"}) {
        const auto p = write("epoch.csv", header + "1,2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\n" + epoch +
                                              ",2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\n");
        CHECK_THROWS_WITH(read_metrics_csv(p), Catch::Contains(p.string() + ": line 3: epoch '" + epoch + "'") &&
                                                   Catch::Contains("not a whole number"));
        fs::remove(p);
    }
}

TEST_CASE("a cell that is only partly a number is an error, not its leading digits") {
    const auto p = write("cell.csv", header + "1,2.3x,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\n");
    CHECK_THROWS_WITH(read_metrics_csv(p), Catch::Contains(p.string() + ": line 2: '2.3x' is not a number"));
    fs::remove(p);
}

TEST_CASE("metrics.csv's cells follow the step tables' rule (src/train/text_numbers.hpp)") {
    // A value that underflows to a denormal is a number (stod refused it); a finite-looking one
    // past double's range is refused by both readers; a leading space and a trailing comma are
    // refused (stod skipped the space, and a trailing empty cell went unseen, so a row of 10
    // numbers and a comma loaded).
    const auto p = write("range.csv", header + "1,1e-310,0.1,inf,0.12,1.5,0.1,12.3,4000.0,0\n");
    const auto rows = read_metrics_csv(p);
    fs::remove(p);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].train_loss > 0);
    CHECK(rows[0].train_loss < 1e-300);
    CHECK(std::isinf(rows[0].test_loss));
    const auto big = write("big.csv", header + "1,2.3,0.1,1e400,0.12,1.5,0.1,12.3,4000.0,0\n");
    CHECK_THROWS_WITH(read_metrics_csv(big), Catch::Contains(big.string() + ": line 2: '1e400' is past the range of a double"));
    fs::remove(big);
    std::istringstream steps(typenet::train::steps_csv_header + "\n1,1,1,-1e400,0.5,1,0.1\n");
    CHECK_THROWS_WITH(typenet::train::read_step_table(steps, "s.csv", typenet::train::steps_csv_header),
                      "s.csv: line 2: '-1e400' is past the range of a double");
    const auto space = write("space.csv", header + "1, 2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\n");
    CHECK_THROWS_WITH(read_metrics_csv(space), Catch::Contains(space.string() + ": line 2: ' 2.3' is not a number"));
    fs::remove(space);
    const auto comma = write("comma.csv", header + "1,2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0,\n");
    CHECK_THROWS_WITH(read_metrics_csv(comma), Catch::Contains(comma.string() + ": line 2: '' is not a number"));
    fs::remove(comma);
}

TEST_CASE("the validation columns of a --val-split run load, and a file without them reads as NaN") {
    const std::string with_val =
        "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged,"
        "val_loss,val_accuracy\n";
    const auto p = write("val.csv", with_val + "1,2.3,0.1,nan,nan,1.5,0.1,12.3,4000.0,0,2.1,0.25\n"
                                               "2,2.0,0.2,1.9,0.3,1.4,0.1,12.3,4000.0,0,1.8,0.35\n");
    const auto rows = read_metrics_csv(p);
    fs::remove(p);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].val_accuracy == 0.25);
    CHECK(std::isnan(rows[0].test_accuracy));
    CHECK(rows[1].val_loss == 1.8);
    CHECK(rows[1].test_accuracy == 0.3);
    const auto old = write("old.csv", header + "1,2.3,0.1,2.2,0.12,1.5,0.1,12.345,4000.0,0\n");
    CHECK(std::isnan(read_metrics_csv(old).at(0).val_accuracy));
    fs::remove(old);
    // the header decides: 10 fields under the new header, 12 under the old, are errors
    const auto short_row = write("short.csv", with_val + "1,2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0\n");
    CHECK_THROWS_WITH(read_metrics_csv(short_row), Catch::Contains("line 2 has 10 fields, expected 12"));
    fs::remove(short_row);
    const auto long_row = write("long.csv", header + "1,2.3,0.1,2.2,0.12,1.5,0.1,12.3,4000.0,0,1,0.5\n");
    CHECK_THROWS_WITH(read_metrics_csv(long_row), Catch::Contains("line 2 has 12 fields, expected 10"));
    fs::remove(long_row);
}
