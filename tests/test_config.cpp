// typenet-train's options (src/cli/config.cpp), each declared once: the command line, --help,
// config.json and --config all follow from the one table. Every recorded setting survives
// config.json and back; bad config files are errors naming the file and the setting.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "config.hpp"  // src/cli
#include "legacy_metrics.hpp"  // src/cli
#include "median.hpp"          // src/cli

using namespace typenet::train;

namespace {
std::optional<train_config> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "typenet-train");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return parse_command_line(int(argv.size()), argv.data());
}
}  // namespace

TEST_CASE("every recorded setting survives config.json and --config") {
    // every recorded setting away from its default
    const auto c = parse({"--model", "resnet20", "--recipe", "full", "--optimizer", "adamw", "--lr", "0.0123456789",
                          "--momentum", "0.8", "--nesterov", "true", "--weight-decay", "1e-5", "--adam-beta1", "0.85",
                          "--adam-beta2", "0.995", "--adam-eps", "1e-7", "--schedule", "step", "--milestones", "3,7.5",
                          "--step-factor", "0.2", "--warmup-epochs", "0.5", "--epochs", "11", "--batch", "96",
                          "--label-smoothing", "0.05", "--clip-grad-norm", "2.5", "--bn-momentum", "0.2", "--bn-group", "16",
                          "--renorm-start", "100", "--renorm-rmax-end", "900", "--renorm-dmax-end", "500", "--renorm-rmax", "2.5",
                          "--renorm-dmax", "4", "--init", "pytorch", "--bn-sync", "group:4",
                          "--augment", "true", "--cutout", "8", "--drop-last", "true", "--limit-train", "5000",
                          "--limit-test", "700", "--val-split", "500", "--test-every-epoch", "--early-stop", "4", "--seed",
                          "18446744073709551615", "--on-divergence", "continue"});
    REQUIRE(c);
    const auto base = parse({});
    REQUIRE(base);
    const auto pairs = c->to_pairs(), defaults = base->to_pairs();
    REQUIRE(pairs.size() == defaults.size());
    for (std::size_t i = 0; i < pairs.size(); ++i)
        if (pairs[i].first != "recipe") CHECK(pairs[i].second != defaults[i].second);  // the test moves every one
    const train_config back = config_from_json(c->to_json(), "config.json");
    CHECK(back.to_pairs() == pairs);
    CHECK(back.schedule.base_lr == c->schedule.base_lr);  // exactly, not to 10 digits
    CHECK(back.seed == 18446744073709551615ull);
}

TEST_CASE("a config.json replayed with the config flag: flags override it, and it excludes a recipe") {
    const auto dir = std::filesystem::temp_directory_path() / ("typenet-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto run = parse({"--recipe", "resnet", "--model", "resnet20", "--epochs", "7", "--seed", "3"});
    REQUIRE(run);
    std::ofstream(dir / "config.json") << run->to_json();
    const auto replay = parse({"--config", (dir / "config.json").string(), "--out", "elsewhere"});
    REQUIRE(replay);
    CHECK(replay->to_pairs() == run->to_pairs());
    CHECK(replay->out == "elsewhere");
    const auto longer = parse({"--epochs=60", "--config", (dir / "config.json").string()});
    REQUIRE(longer);
    CHECK(longer->epochs == 60);
    CHECK(longer->optimizer.momentum == 0.9);
    CHECK_THROWS_WITH(parse({"--config", (dir / "config.json").string(), "--recipe", "full"}),
                      Catch::Contains("--recipe and --config exclude each other"));
    CHECK_THROWS_WITH(parse({"--config", (dir / "none.json").string()}), Catch::Contains("--config: cannot read"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("a bad config.json is an error naming the file and the setting") {
    CHECK_THROWS_WITH(config_from_json("{\"lr\": 0.1,", "c.json"), Catch::StartsWith("c.json: not JSON"));
    CHECK_THROWS_WITH(config_from_json("[1, 2]", "c.json"), Catch::Contains("c.json: expected a JSON object"));
    CHECK_THROWS_WITH(config_from_json("{\"learning_rate\": 0.1}", "c.json"),
                      Catch::Contains("c.json: unknown setting 'learning_rate'"));
    CHECK_THROWS_WITH(config_from_json("{\"lr\": \"0.1\"}", "c.json"), Catch::Contains("c.json: lr: expected a number"));
    CHECK_THROWS_WITH(config_from_json("{\"epochs\": -3}", "c.json"), Catch::Contains("c.json: epochs: expected a whole number"));
    CHECK_THROWS_WITH(config_from_json("{\"augment\": 1}", "c.json"), Catch::Contains("c.json: augment: expected true or false"));
    CHECK_THROWS_WITH(config_from_json("{\"optimizer\": \"lbfgs\"}", "c.json"),
                      Catch::Contains("--optimizer: unknown value 'lbfgs' (choose sgd, adam, adamw)"));
    CHECK_THROWS_WITH(config_from_json("{\"model\": \"vgg\"}", "c.json"), Catch::Contains("--model: unknown model 'vgg'"));
    CHECK_THROWS_WITH(config_from_json("{\"milestones\": \"3,4\"}", "c.json"),
                      Catch::Contains("c.json: milestones: expected an array of numbers"));
    // missing settings keep the baseline's
    CHECK(config_from_json("{\"epochs\": 5}", "c.json").schedule.base_lr == 0.1);
}

TEST_CASE("the help lists every flag once, with the baseline defaults") {
    const std::string h = help_text();
    for (const char* flag : {"--model", "--lr", "--val-split", "--config", "--adam-eps", "--checkpoint-every", "--quiet"}) {
        const std::string f = std::string("  ") + flag + " ";
        CHECK(h.find(f) != std::string::npos);
        CHECK(h.find(f) == h.rfind(f));
    }
    CHECK(h.find("base learning rate (default 0.1)") != std::string::npos);
    CHECK(h.find("batch size (default 128)") != std::string::npos);
}

TEST_CASE("a pre-fit checkpoint's metrics entry is read as strictly as fit's history (legacy_metrics.hpp)") {
    using typenet::train::detail::metrics_from_text;
    const auto rows = metrics_from_text("1 2.5 0.25 2.25 0.3 1.5 0.1 80 600 0\n2 nan 0.1 inf 0.1 nan 0.1 80 600 1\n", "old.ckpt");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].epoch == 1);
    CHECK(rows[0].test_accuracy == 0.3);
    CHECK(rows[0].images_per_second == 600);
    CHECK_FALSE(rows[0].diverged);
    CHECK(std::isnan(rows[1].train_loss));
    CHECK(std::isinf(rows[1].test_loss));
    CHECK(rows[1].diverged);
    // strtod(..., nullptr) took "1x" as 1 and "" as 0; ">> epoch" stopped quietly at a bad epoch
    CHECK_THROWS_WITH(metrics_from_text("1 2.5x 0.25 2.25 0.3 1.5 0.1 80 600 0", "old.ckpt"),
                      "old.ckpt: metrics: '2.5x' is not a number");
    CHECK_THROWS_WITH(metrics_from_text("1 1e400 0.25 2.25 0.3 1.5 0.1 80 600 0", "old.ckpt"),
                      "old.ckpt: metrics: '1e400' is past the range of a double");
    CHECK_THROWS_WITH(metrics_from_text("-1 2.5 0.25 2.25 0.3 1.5 0.1 80 600 0", "old.ckpt"),
                      "old.ckpt: metrics: '-1' is not an epoch number");
    CHECK_THROWS_WITH(metrics_from_text("1 2.5 0.25 2.25 0.3 1.5 0.1 80 600 2", "old.ckpt"),
                      "old.ckpt: metrics: '2' is not 0 or 1 (diverged)");
    CHECK_THROWS_WITH(metrics_from_text("1 2.5 0.25", "old.ckpt"), "old.ckpt: metrics: 3 values, not 10 for each epoch");
    CHECK(metrics_from_text("", "old.ckpt").empty());
}

TEST_CASE("the benchmarks' median is the middle timing, or the mean of the two middle ones (median.hpp)") {
    using typenet::cli::median;
    CHECK(median({}) == 0);
    CHECK(median({4.25}) == 4.25);
    CHECK(median({9, 1, 4.25}) == 4.25);  // an odd count's middle value, unsorted input
    // an even count: kernel-bench and comm-bench returned the upper middle value (4) here
    CHECK(median({4, 1, 9, 2}) == 3);
    CHECK(median({2, 2}) == 2);
}
