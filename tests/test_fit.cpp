// typenet::fit with its callbacks, predict and load_for_inference: fit equals typenet-train's
// trainer on the same CIFAR-10 files (metrics and every checkpoint tensor, bit for bit); a run
// stopped and resumed equals the uninterrupted run; early stopping, divergence stop, the
// loggers' files, best.ckpt, and predict against evaluate.
#include <catch2/catch.hpp>

// g++ 12 at -O2 reports the milestones vector inside fit_options' schedule_config as "may be
// used uninitialized" in the destructor of any fit_options built by designated initializers,
// once fit is inlined into the test: a false positive (the member has a default initializer;
// clang 14 and the sanitizers see nothing). docs/library.md#fit says so for users.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "typenet/init.hpp"
#include "trainer.hpp"  // src/cli: typenet-train's own evaluation, for the reference loop
#include "typenet/data/pipeline.hpp"
#include "typenet/typenet.hpp"
#include "typenet/train/report.hpp"
#include "typenet/train/step_table.hpp"

using namespace typenet;
namespace fs = std::filesystem;

namespace {
struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() /
               ("typenet-fit-" + std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};

// A CIFAR-10 folder of random records (data_batch_1..5 with `per_file` each, test_batch with `test`).
void write_cifar_dir(const fs::path& dir, std::size_t per_file, std::size_t test, std::uint64_t seed) {
    rng g(seed);
    auto file = [&](const fs::path& p, std::size_t n) {
        std::string bytes;
        for (std::size_t r = 0; r < n; ++r) {
            bytes += char(g.below(10));
            for (std::size_t j = 0; j < 3072; ++j) bytes += char(g.below(256));
        }
        std::ofstream(p, std::ios::binary) << bytes;
    };
    fs::create_directories(dir);
    for (int k = 1; k <= 5; ++k) file(dir / ("data_batch_" + std::to_string(k) + ".bin"), per_file);
    file(dir / "test_batch.bin", test);
}

using small_cifar_net = net<input<3, 32, 32>, conv_bn<3, 8, 3, 2, same>, max_pool<2, 2>, conv_bn<8, 16, 3, 1, same>,
                            global_avg_pool, dense<16, 10>>;

// 1x8x8 bars (horizontal, vertical, diagonal) with noise: learnable in a few epochs.
using bars = data::memory_source<shape<1, 8, 8>, 3>;
using bar_net = net<input<1, 8, 8>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, flatten, dense<128, 3>>;
bars make_bars(std::size_t count, std::uint64_t seed) {
    rng g(seed);
    std::vector<float> pixels(count * 64);
    std::vector<std::int32_t> labels(count);
    for (std::size_t i = 0; i < count; ++i) {
        const int kind = int(g.below(3)), at = int(g.below(8));
        labels[i] = kind;
        for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 8; ++x) {
                const bool on = kind == 0 ? y == at : kind == 1 ? x == at : (x + y) % 8 == at;
                pixels[i * 64 + std::size_t(y * 8 + x)] = (on ? 1.0f : 0.0f) + 0.3f * float(g.normal());
            }
    }
    return bars(std::move(pixels), std::move(labels), {"horizontal", "vertical", "diagonal"});
}

// Every parameter and running statistic of a network, one after the other.
template <class Net>
std::vector<float> parameters_of(Net& n) {
    std::vector<float> v;
    n.for_each_parameter([&](const parameter_view<float>& p) { v.insert(v.end(), p.value.begin(), p.value.end()); });
    n.for_each_state([&](const state_view<float>& s) { v.insert(v.end(), s.value.begin(), s.value.end()); });
    return v;
}

// Two runs' histories agree bit for bit in every metric but the times.
void same_history(const std::vector<epoch_log>& got, const std::vector<epoch_log>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t e = 0; e < got.size(); ++e) {
        CHECK(got[e].train_loss == want[e].train_loss);
        CHECK(got[e].train_accuracy == want[e].train_accuracy);
        CHECK(got[e].grad_norm == want[e].grad_norm);
        CHECK(got[e].steps == want[e].steps);
        REQUIRE(got[e].validation.has_value() == want[e].validation.has_value());
        if (got[e].validation) CHECK(got[e].validation->loss == want[e].validation->loss);
    }
}

std::vector<std::string> lines_of(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

void set_lr(fit_options& o, double lr, schedule_kind kind = schedule_kind::constant) {
    o.schedule.kind = kind;
    o.schedule.base_lr = lr;
}

// A CSV row of csv_logger without its seconds, images_per_second and wait_seconds columns.
std::string without_times(const std::string& row) {
    std::vector<std::string> cells;
    std::stringstream s(row);
    for (std::string c; std::getline(s, c, ',');) cells.push_back(c);
    REQUIRE(cells.size() == 13);
    cells.erase(cells.begin() + 8, cells.begin() + 11);
    std::string out;
    for (const auto& c : cells) out += c + ',';
    return out;
}

// Records every event, to check the order fit tells callbacks of them.
struct recorder : callback {
    std::vector<std::string> events;
    void on_train_begin(fit_context&) override { events.push_back("train_begin"); }
    void on_epoch_begin(fit_context& c) override { events.push_back("epoch_begin " + std::to_string(c.epoch)); }
    void on_before_update(fit_context&, const step_log& s) override { events.push_back("before " + std::to_string(s.step)); }
    void on_step_end(fit_context&, const step_log& s) override { events.push_back("step " + std::to_string(s.step)); }
    void on_epoch_end(fit_context&, const epoch_log& e) override { events.push_back("epoch_end " + std::to_string(e.epoch)); }
    void on_train_end(fit_context&) override { events.push_back("train_end"); }
};
}  // namespace

// The training loop typenet-train ran before it moved onto fit (commit 26e1a26), written out
// over the CIFAR-10 pipeline (data::batch_plan) and the driver's own evaluation: the reference
// fit is checked against, so that the tools' results stay what they were.
struct reference_epoch {
    double train_loss, train_accuracy, grad_norm, lr, test_loss, test_accuracy;
};
template <class Net>
std::vector<reference_epoch> reference_training(Net& net, const data::cifar10_set& train, const data::cifar10_set& test,
                                                const data::pipeline_config& pc, std::size_t epochs,
                                                const optimizer_config& oc, const schedule_config& sc, double smoothing) {
    const auto stats = data::compute_channel_stats(train);
    optimizer<float> opt(collect_parameters(net), oc);
    const std::size_t steps = data::batch_plan(train, stats, pc, 0, true).batches();
    const lr_schedule schedule(sc, steps, epochs);
    const softmax_cross_entropy loss(smoothing);
    typename Net::input_tensor x;
    tensor<float, typename Net::output_shape> dlogits;
    std::vector<std::int32_t> labels(pc.batch);
    std::vector<reference_epoch> out;
    std::size_t step = 0;
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
        net.train();
        net.reseed_layers(data::epoch_rng(pc.seed, epoch, 3).next());
        data::batch_plan plan(train, stats, pc, epoch, true);
        double loss_sum = 0, norm_sum = 0, lr = 0;
        std::size_t correct = 0, seen = 0;
        for (std::size_t b = 0; b < plan.batches(); ++b, ++step) {
            const std::size_t n = plan.batch_size(b);
            x.resize(n);
            plan.fill(b, x.data(), labels.data());
            const std::span<const std::int32_t> lab(labels.data(), n);
            const auto& y = net.forward(x);
            const double l = loss.loss_and_gradient(y, lab, dlogits);
            correct += count_correct(y, lab);
            opt.zero_grad();
            net.backward(dlogits);
            norm_sum += opt.gradient_norm();
            lr = schedule.at(step);
            opt.step(lr);
            loss_sum += l * double(n);
            seen += n;
        }
        net.release_buffers();
        const auto ev = train::evaluate(net, test, stats, pc.batch, loss);
        out.push_back({loss_sum / double(seen), double(correct) / double(seen), norm_sum / double(plan.batches()), lr,
                       ev.loss, ev.accuracy});
    }
    return out;
}

TEST_CASE("fit equals the training loop typenet-train ran before it, bit for bit: metrics and parameters") {
    temp_dir d;
    write_cifar_dir(d.path / "cifar", 40, 50, 1);  // 200 training images, 50 test images
    const auto train_set = data::load_cifar10_train(d.path / "cifar");
    const auto test_set = data::load_cifar10_test(d.path / "cifar");
    optimizer_config oc{.momentum = 0.9, .weight_decay = 5e-4};
    schedule_config sc;
    sc.kind = schedule_kind::cosine;
    sc.base_lr = 0.05;
    small_cifar_net reference(5);
    initialize(reference, 5, init_scheme::kaiming_normal);
    const auto want = reference_training(reference, train_set, test_set, {32, true, false, true, 5, 8}, 3, oc, sc, 0.1);

    const data::cifar10_source train(train_set), test(test_set);
    small_cifar_net model(5);
    initialize(model, 5, init_scheme::kaiming_normal);
    fit_options o{.epochs = 3,
                  .data = {.batch = 32, .augment = {.pad_crop = 4, .flip = true, .cutout = 8}, .seed = 5},
                  .optimizer = oc,
                  .label_smoothing = 0.1,
                  .eval_batch = 32,
                  .model_name = "small"};
    o.schedule = sc;
    checkpoint_saver saver(d.path / "fit", {.best = false});
    const fit_result r = fit(model, train, test, o, {&saver});
    REQUIRE(r.history.size() == 3);
    for (std::size_t e = 0; e < 3; ++e) {
        const auto& a = want[e];
        const auto& b = r.history[e];
        CHECK(a.train_loss == b.train_loss);
        CHECK(a.train_accuracy == b.train_accuracy);
        CHECK(a.grad_norm == b.grad_norm);
        CHECK(a.lr == b.lr);
        REQUIRE(b.validation);
        CHECK(a.test_loss == b.validation->loss);
        CHECK(a.test_accuracy == b.validation->accuracy);
    }
    std::vector<float> pa, pb;
    reference.for_each_parameter([&](const parameter_view<float>& p) { pa.insert(pa.end(), p.value.begin(), p.value.end()); });
    reference.for_each_state([&](const state_view<float>& p) { pa.insert(pa.end(), p.value.begin(), p.value.end()); });
    model.for_each_parameter([&](const parameter_view<float>& p) { pb.insert(pb.end(), p.value.begin(), p.value.end()); });
    model.for_each_state([&](const state_view<float>& p) { pb.insert(pb.end(), p.value.begin(), p.value.end()); });
    CHECK(pa == pb);
    CHECK(pa.size() > 1000);
    const auto mine = io::read_checkpoint(d.path / "fit" / "last.ckpt");
    // And fit's checkpoint says what inference needs.
    const auto info = io::read_inference_info(mine, "last.ckpt");
    CHECK(info.model == "small");
    CHECK(info.input_shape == "3x32x32");
    CHECK(info.class_names == data::cifar10_class_names());
    CHECK(info.normalization.mean == r.normalization.mean);
    CHECK(info.normalization.std == r.normalization.std);
    // model.classes is decimal digits, at most a million (strtoull took " 10" and "+10")
    for (const char* bad : {" 10", "+10", "-1", "10x", "1e1", "", "1000001"}) {
        auto crafted = mine;
        for (auto& [key, value] : crafted.metadata)
            if (key == "model.classes") value = bad;
        CHECK_THROWS_WITH(io::read_inference_info(crafted, "c.ckpt"),
                          "c.ckpt: model.classes is '" + std::string(bad) + "', not a number of classes");
    }
}

TEST_CASE("a fit stopped after epoch 2 and resumed from last.ckpt equals the uninterrupted run") {
    temp_dir d;
    const bars train = make_bars(300, 1), val = make_bars(100, 2);
    fit_options o{.epochs = 4,
                  .data = {.batch = 32, .augment = {.pad_crop = 1, .flip = true}, .seed = 3},
                  .optimizer = {.momentum = 0.9}};
    set_lr(o, 0.05, schedule_kind::cosine);
    bar_net whole(7);
    csv_logger whole_csv(d.path / "whole.csv");
    const auto a = fit(whole, train, val, o, {&whole_csv});

    struct stop_after : callback {  // the user pressing Ctrl-C after epoch 2
        void on_epoch_end(fit_context& c, const epoch_log& e) override {
            if (e.epoch == 2) c.request_stop("interrupted");
        }
    } stop;
    bar_net part(7);
    checkpoint_saver saver(d.path / "run");
    csv_logger csv(d.path / "part.csv");
    const auto b1 = fit(part, train, val, o, {&saver, &stop, &csv});
    CHECK(b1.history.size() == 2);
    CHECK(b1.stop_reason == "interrupted");
    bar_net resumed(99);  // other initial weights: everything comes from the checkpoint
    fit_options again = o;
    again.resume = d.path / "run" / "last.ckpt";
    const auto b2 = fit(resumed, train, val, again, {&saver, &csv});
    REQUIRE(b2.history.size() == 4);
    for (std::size_t e = 0; e < 4; ++e) {
        CHECK(b2.history[e].train_loss == a.history[e].train_loss);
        CHECK(b2.history[e].validation->accuracy == a.history[e].validation->accuracy);
        CHECK(b2.history[e].grad_norm == a.history[e].grad_norm);
    }
    CHECK(parameters_of(resumed) == parameters_of(whole));
    // The logger's file holds each epoch once, the same numbers as the uninterrupted run's
    // (apart from the seconds columns).
    const auto w = lines_of(d.path / "whole.csv"), p = lines_of(d.path / "part.csv");
    REQUIRE(w.size() == 5);
    REQUIRE(p.size() == 5);
    CHECK(w[0] == csv_logger::header());
    for (std::size_t i = 1; i < 5; ++i) CHECK(without_times(w[i]) == without_times(p[i]));

    // A resume with another batch size or seed is another run: refused, naming the file.
    fit_options other = again;
    other.data.batch = 16;
    bar_net n3(1);
    CHECK_THROWS_WITH(fit(n3, train, val, other),
                      Catch::Contains("last.ckpt: written by a run with batch 32, this one has 16"));
    // A network of another structure: refused.
    using other_net = net<input<1, 8, 8>, conv_bn<1, 4, 3, 1, same>, max_pool<2, 2>, flatten, dense<64, 3>>;
    other_net n4(1);
    CHECK_THROWS_WITH(fit(n4, train, val, again), Catch::Contains("structure hash"));
}

TEST_CASE("a fit stopped in the middle of an epoch and resumed equals the uninterrupted run, dropout included") {
    using drop_net = net<input<1, 8, 8>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, flatten, dropout<std::ratio<1, 4>>,
                         dense<128, 3>>;
    temp_dir d;
    const bars train = make_bars(200, 1), val = make_bars(60, 2);
    fit_options o{.epochs = 3,
                  .data = {.batch = 16, .augment = {.pad_crop = 1, .flip = true, .cutout = 3}, .seed = 8},
                  .optimizer = {.momentum = 0.9}};
    set_lr(o, 0.05, schedule_kind::cosine);
    drop_net whole(4);
    const auto a = fit(whole, train, val, o);

    for (std::size_t stop_at : {1, 5, 13}) {  // 13: the epoch's last step (200 = 12 x 16 + 8)
        std::atomic<bool> flag{false};
        struct press_ctrl_c : callback {  // sets the flag as a SIGINT handler would
            std::atomic<bool>& flag;
            std::size_t at;
            press_ctrl_c(std::atomic<bool>& f, std::size_t a) : flag(f), at(a) {}
            void on_step_end(fit_context&, const step_log& s) override {
                if (s.epoch == 2 && s.step == at) flag = true;
            }
        } press(flag, stop_at);
        stop_flag on_flag(flag);
        const fs::path dir = d.path / ("run" + std::to_string(stop_at));
        checkpoint_saver saver(dir);
        drop_net part(4);
        const auto b1 = fit(part, train, val, o, {&press, &on_flag, &saver});
        CHECK(b1.stop_reason == "interrupted");
        REQUIRE(b1.history.size() == 2);
        CHECK(b1.history[1].steps == stop_at);
        const auto ck = io::read_checkpoint(dir / "last.ckpt");
        if (stop_at < 13) {
            CHECK_FALSE(b1.history[1].validation);  // a stopped epoch is not validated
            REQUIRE(ck.find_meta("fit.partial"));
            CHECK(ck.find_meta("fit.partial")->rfind("2 " + std::to_string(stop_at) + " ", 0) == 0);
        } else {  // stopped after the epoch's last step: the epoch is finished, validated and saved so
            CHECK(b1.history[1].validation);
            CHECK_FALSE(ck.find_meta("fit.partial"));
            CHECK(*ck.find_meta("fit.epoch") == "2");
        }

        fs::copy_file(dir / "last.ckpt", d.path / ("stopped" + std::to_string(stop_at) + ".ckpt"));
        drop_net resumed(77);
        fit_options again = o;
        again.resume = dir / "last.ckpt";
        const auto b2 = fit(resumed, train, val, again, {&saver});
        REQUIRE(b2.history.size() == 3);
        same_history(b2.history, a.history);
        CHECK(parameters_of(resumed) == parameters_of(whole));
    }

    // every_seconds: a save after every step here (any positive interval has passed), each one a
    // checkpoint that resumes.
    checkpoint_saver often(d.path / "often", {.every_seconds = 1e-9});
    drop_net n(4);
    fit(n, train, val, {.epochs = 1, .data = {.batch = 16, .seed = 8}}, {&often});
    CHECK_FALSE(io::read_checkpoint(d.path / "often" / "last.ckpt").find_meta("fit.partial"));  // the epoch end's
    // A partial record that does not follow its epoch is refused.
    auto ck = io::read_checkpoint(d.path / "stopped5.ckpt");
    for (auto& [k, v] : ck.metadata)
        if (k == "fit.partial") v = "3" + v.substr(1);
    io::write_checkpoint(d.path / "bad.ckpt", ck);
    drop_net m(1);
    fit_options bad = o;
    bad.resume = d.path / "bad.ckpt";
    CHECK_THROWS_WITH(fit(m, train, val, bad), Catch::Contains("bad.ckpt: its epoch in progress (3 5 "));
    // So is a step or epoch count that is no count (the checksum holds: the file was crafted).
    for (const std::string key : {"fit.step", "fit.epoch"}) {
        auto c = io::read_checkpoint(d.path / "stopped5.ckpt");
        for (auto& [k, v] : c.metadata)
            if (k == key) v = "-1";
        io::write_checkpoint(d.path / "count.ckpt", c);
        drop_net m2(1);
        fit_options again = o;
        again.resume = d.path / "count.ckpt";
        CHECK_THROWS_WITH(fit(m2, train, val, again), Catch::EndsWith("count.ckpt: " + key + " '-1' is not a whole number from 0 to 2^53"));
    }
}

TEST_CASE("callbacks are told of every event in order, and early stopping and divergence stop end the run") {
    const bars train = make_bars(64, 1), val = make_bars(32, 2);
    SECTION("event order") {
        recorder rec;
        bar_net n(1);
        fit(n, train, val, {.epochs = 1, .data = {.batch = 32}}, {&rec});
        CHECK(rec.events == std::vector<std::string>{"train_begin", "epoch_begin 1", "before 1", "step 1", "before 2",
                                                     "step 2", "epoch_end 1", "train_end"});
    }
    SECTION("early stopping: nothing learnt at a vanishing rate, so the run stops after `patience` epochs") {
        bar_net n(1);
        early_stopping stop(2, monitor::val_loss, 1e-3);
        fit_options o{.epochs = 10, .data = {.batch = 32}};
        set_lr(o, 1e-12);
        const auto r = fit(n, train, val, o, {&stop});
        CHECK(r.history.size() == 3);  // epoch 1 sets the best, 2 and 3 do not improve it
        CHECK_THAT(r.stop_reason, Catch::StartsWith("early stopping: the validation loss has not improved for 2 epochs"));
    }
    SECTION("divergence stop: the update of the first non-finite step is skipped and the run ends") {
        // One sample holds an infinity, so the step that meets it has a non-finite loss.
        std::vector<float> px(train.sample(0), train.sample(0) + 64 * train.size());
        px[64 * 40 + 9] = INFINITY;
        std::vector<std::int32_t> labels(train.size());
        for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = train.label(i);
        const bars poisoned(px, labels);
        bar_net n(1);
        divergence_stop guard;
        recorder rec;
        fit_options o{.epochs = 5, .data = {.batch = 8}, .normalization = data::identity_normalization<bars>()};
        const auto r = fit(n, poisoned, val, o, {&guard, &rec});
        CHECK(r.history.size() == 1);
        REQUIRE(!r.history.empty());
        CHECK(r.history.back().diverged);
        CHECK_FALSE(r.history.back().complete);
        CHECK_THAT(r.stop_reason, Catch::Contains("(the run diverged); stopping before this update"));
        const auto p = parameters_of(n);
        CHECK(std::all_of(p.begin(), p.end(), [](float v) { return std::isfinite(v); }));
        CHECK(rec.events.back() == "train_end");
    }
}

TEST_CASE("the loggers write every epoch, best.ckpt holds the best validation epoch, predict agrees with evaluate") {
    temp_dir d;
    const bars train = make_bars(600, 1), val = make_bars(200, 2);
    bar_net n(3);
    csv_logger csv(d.path / "m.csv");
    jsonl_logger jsonl(d.path / "m.jsonl");
    checkpoint_saver saver(d.path / "ck");
    std::ostringstream bar_text;
    progress_bar bar(bar_text);
    fit_options o{.epochs = 4, .data = {.batch = 32, .seed = 1}, .optimizer = {.momentum = 0.9}, .model_name = "bars"};
    set_lr(o, 0.05);
    const auto r = fit(n, train, val, o, {&bar, &csv, &jsonl, &saver});
    REQUIRE(r.history.size() == 4);
    CHECK(r.history.back().validation->accuracy > 0.9);  // it learns
    CHECK(r.history.back().wait_seconds >= 0);
    CHECK(r.history.back().wait_seconds < r.history.back().seconds);

    const auto csv_lines = lines_of(d.path / "m.csv");
    REQUIRE(csv_lines.size() == 5);
    CHECK(csv_lines[4].rfind("4,19,", 0) == 0);  // epoch 4 of 19 steps (18 batches of 32 and one of 24)
    const auto json_lines = lines_of(d.path / "m.jsonl");
    REQUIRE(json_lines.size() == 4);
    for (std::size_t e = 0; e < 4; ++e) {
        const auto j = nlohmann::json::parse(json_lines[e]);
        CHECK(j["epoch"] == e + 1);
        CHECK(j["val_accuracy"].get<double>() == r.history[e].validation->accuracy);
        CHECK(j["train_loss"].get<double>() == r.history[e].train_loss);
    }
    CHECK_THAT(bar_text.str(), Catch::Contains("epoch 4/4: train loss"));
    CHECK_THAT(bar_text.str(), Catch::Contains("| val loss"));

    // best.ckpt: the epoch of the highest validation accuracy (the first such epoch).
    std::size_t best = 0;
    for (std::size_t e = 1; e < 4; ++e)
        if (r.history[e].validation->accuracy > r.history[best].validation->accuracy) best = e;
    bar_net loaded(42);
    const auto info = load_for_inference(loaded, d.path / "ck" / "best.ckpt");
    CHECK(info.model == "bars");
    CHECK(info.class_names == std::vector<std::string>{"horizontal", "vertical", "diagonal"});
    const evaluation e = evaluate(loaded, val, info.normalization, 256);
    CHECK(e.accuracy == r.history[best].validation->accuracy);
    CHECK(e.loss == r.history[best].validation->loss);

    // predict: probabilities that sum to 1, whose argmax is right exactly as often as evaluate says.
    const auto p = predict(loaded, val, info.normalization);
    REQUIRE(p.size() == val.size() * 3);
    std::size_t correct = 0;
    for (std::size_t i = 0; i < val.size(); ++i) {
        const std::span<const double> row(p.data() + 3 * i, 3);
        CHECK(std::accumulate(row.begin(), row.end(), 0.0) == Approx(1.0).epsilon(1e-12));
        correct += top_k(row, 1)[0].first == std::size_t(val.label(i));
    }
    CHECK(correct == e.correct);
    // The same samples as raw values give the same probabilities.
    std::vector<float> raw(val.sample(0), val.sample(0) + 64 * val.size());
    CHECK(predict(loaded, std::span<const float>(raw), info.normalization) == p);
    CHECK_THROWS_WITH(predict(loaded, std::span<const float>(raw.data(), 65), info.normalization),
                      "predict: 65 values are not a whole number of 1x8x8 samples");
    const auto top = top_k(std::span<const double>(p.data(), 3), 5);
    CHECK(top.size() == 3);
    CHECK(top[0].second >= top[1].second);

    // load_for_inference refuses what does not fit, naming the file.
    using wide_net = net<input<1, 8, 8>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, flatten, dense<128, 4>>;
    wide_net w(1);
    CHECK_THROWS_WITH(load_for_inference(w, d.path / "ck" / "best.ckpt"), Catch::Contains("best.ckpt: trained for 3 classes, this network has 4 outputs"));
    // A checkpoint without inference information (as typenet-train wrote before): a clear error.
    auto old = io::read_checkpoint(d.path / "ck" / "best.ckpt");
    std::erase_if(old.metadata, [](const auto& kv) { return kv.first.rfind("model.", 0) == 0; });
    io::write_checkpoint(d.path / "old.ckpt", old);
    CHECK_THROWS_WITH(load_for_inference(loaded, d.path / "old.ckpt"),
                      Catch::Contains("old.ckpt: this checkpoint does not say what inference needs"));
}

TEST_CASE("fit's history survives its text form exactly, non-finite values included, and bad text is an error") {
    std::vector<epoch_log> h(2);
    h[0].epoch = 1, h[0].steps = 7, h[0].train_loss = 0.1 + 0.2, h[0].lr = 1e-300, h[0].grad_norm = INFINITY;
    h[1].epoch = 2, h[1].steps = 3, h[1].train_loss = NAN, h[1].diverged = true, h[1].complete = false;
    h[1].validation = evaluation{NAN, 0.25, 5, 20};
    const auto back = history_from_text(history_to_text(h));
    REQUIRE(back.size() == 2);
    CHECK(back[0].train_loss == h[0].train_loss);
    CHECK(back[0].lr == 1e-300);
    CHECK(std::isinf(back[0].grad_norm));
    CHECK(std::isnan(back[1].train_loss));
    CHECK(back[1].diverged);
    CHECK_FALSE(back[1].complete);
    REQUIRE(back[1].validation);
    CHECK(std::isnan(back[1].validation->loss));
    CHECK(back[1].validation->samples == 20);
    CHECK_THROWS_WITH(history_from_text("1 2 x"), "fit history, line 1: 'x' is not a number");
    // the rule of the CSV cells and the number flags (text_numbers.hpp): no value past a double's range
    CHECK_THROWS_WITH(history_from_text("1 2 1e400"), "fit history, line 1: '1e400' is past the range of a double");
    CHECK_THROWS_WITH(history_from_text("1 2 0.5"), "fit history, line 1: the row ends early");
    CHECK_THROWS_WITH(history_from_text("1 2 0 0 0 0 0 0 0 2 1 0"), "fit history, line 1: a flag is not 0 or 1");
    CHECK_THROWS_WITH(history_from_text("1e0 2 0 0 0 0 0 0 0 0 1 0"), "fit history, line 1: '1e0' is not a whole number from 0 to 2^53");
    // fit.step and fit.epoch: decimal digits from 0 to 2^53, else an error naming the file and the entry
    CHECK(count_from_text("0", "f.ckpt", "fit.step") == 0);
    CHECK(count_from_text("9007199254740992", "f.ckpt", "fit.step") == 9007199254740992ull);
    for (const std::string t : {"x", "12x", "-1", "-0", "2.5", "3.0", "1e3", "0x10", " 3", "3 ", "3 4", "", "nan",
                                "9007199254740993", "18446744073709551616"})
        CHECK_THROWS_WITH(count_from_text(t, "f.ckpt", "fit.epoch"),
                          "f.ckpt: fit.epoch '" + t + "' is not a whole number from 0 to 2^53");
}

TEST_CASE("loss-landscape probes leave the run unchanged, bit for bit: metrics, parameters, running statistics") {
    using drop_net = net<input<1, 8, 8>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, flatten, dropout<std::ratio<1, 4>>,
                         dense<128, 3>>;
    const bars train = make_bars(200, 1), val = make_bars(60, 2);
    fit_options o{.epochs = 2,
                  .data = {.batch = 16, .augment = {.pad_crop = 1, .flip = true}, .seed = 8},
                  .optimizer = {.momentum = 0.9, .weight_decay = 5e-4}};
    set_lr(o, 0.05, schedule_kind::cosine);
    drop_net plain(4), probed(4);
    const auto a = fit(plain, train, val, o);
    struct probes : callback {
        std::vector<landscape_log> seen;
        std::vector<step_log> steps;
        void on_landscape(fit_context&, const landscape_log& p) override { seen.push_back(p); }
        void on_step_end(fit_context&, const step_log& s) override { steps.push_back(s); }
    } rec;
    fit_options with = o;
    with.landscape.every = 1;  // every step: any change a probe left would show in the next one
    const auto b = fit(probed, train, val, with, {&rec});
    REQUIRE(b.history.size() == 2);
    same_history(b.history, a.history);
    CHECK(parameters_of(probed) == parameters_of(plain));
    // One probe per step, at the step's loss and learning rate, the step sizes the multiples of it.
    REQUIRE(rec.seen.size() == 26);  // 2 epochs of 13 batches
    for (std::size_t i = 0; i < rec.seen.size(); ++i) {
        const landscape_log& p = rec.seen[i];
        CHECK(p.step == i + 1);
        CHECK(p.epoch == rec.steps[i].epoch);
        CHECK(p.loss == rec.steps[i].loss);
        CHECK(p.lr == rec.steps[i].lr);
        REQUIRE(p.eta.size() == 6);
        CHECK(p.eta.front() == Approx(0.1 * p.lr));
        CHECK(p.eta.back() == Approx(4 * p.lr));
        CHECK(p.loss_min <= p.loss);
        CHECK(p.loss_max >= p.loss);
        CHECK(p.loss_variation == p.loss_max - p.loss_min);
        CHECK(p.grad_change_max == *std::max_element(p.grad_changes.begin(), p.grad_changes.end()));
        CHECK(p.beta_max >= p.beta_min);
    }
    // Only every K-th step from the first.
    drop_net sparse(4);
    rec.seen.clear();
    with.landscape.every = 5;
    fit(sparse, train, val, with, {&rec});
    REQUIRE(rec.seen.size() == 6);  // steps 1, 6, 11, 16, 21, 26
    CHECK(rec.seen[1].step == 6);
    CHECK(rec.seen[5].step == 26);
    with.landscape.multiples = {0.5, -1};
    CHECK_THROWS_WITH(fit(sparse, train, val, with), Catch::Contains("finite and > 0"));
    // One process only (fit and typenet-train ask this of the options when there are ranks).
    CHECK_THROWS_WITH(landscape_options{.every = 1}.check_processes(2), Catch::Contains("for one process"));
    CHECK_NOTHROW(landscape_options{.every = 1}.check_processes(1));
    CHECK_NOTHROW(landscape_options{}.check_processes(4));  // no probes asked for
}

TEST_CASE("a landscape probe's losses and gradient changes are those of the network moved along its gradient") {
    using dnet = rebind_scalar<double, bar_net>;
    const std::size_t n = 48;
    const bars train = make_bars(n, 5);
    fit_options o{.epochs = 1, .data = {.batch = n, .seed = 2}, .normalization = data::normalization{{0.f}, {1.f}}};
    set_lr(o, 0.2);
    o.landscape = {.every = 1, .multiples = {4, 0.1, 1}};
    struct probes : callback {
        std::vector<landscape_log> seen;
        void on_landscape(fit_context&, const landscape_log& p) override { seen.push_back(p); }
    } rec;
    dnet fitted(3);
    fit(fitted, train, o, {&rec});
    REQUIRE(rec.seen.size() == 1);  // the whole set is the one batch: its order does not change a mean
    const landscape_log& p = rec.seen[0];

    // The same by hand: the initial network on the whole set in train mode, moved along its gradient.
    dnet ref(3);
    ref.train();
    dnet::input_tensor x;
    x.resize(n);
    std::vector<std::int32_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(train.sample(i), 64, x.data() + i * 64);
        labels[i] = train.label(i);
    }
    const softmax_cross_entropy loss(0);
    tensor<double, dnet::output_shape> dl;
    const auto loss_and_gradient = [&] {
        ref.for_each_parameter([](const parameter_view<double>& q) { std::fill(q.gradient.begin(), q.gradient.end(), 0.0); });
        const double l = loss.loss_and_gradient(ref.forward(x), labels, dl);
        ref.backward(dl);
        return l;
    };
    const double l0 = loss_and_gradient();
    std::vector<double> theta, g;
    ref.for_each_parameter([&](const parameter_view<double>& q) {
        theta.insert(theta.end(), q.value.begin(), q.value.end());
        g.insert(g.end(), q.gradient.begin(), q.gradient.end());
    });
    CHECK(p.loss == Approx(l0).epsilon(1e-12));
    double g2 = 0;
    for (const double v : g) g2 += v * v;
    CHECK(p.grad_norm == Approx(std::sqrt(g2)).epsilon(1e-12));
    const std::vector<double> multiples{0.1, 1, 4};  // sorted
    REQUIRE(p.eta.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
        const double eta = multiples[k] * 0.2;
        CHECK(p.eta[k] == Approx(eta));
        std::size_t at = 0;
        ref.for_each_parameter([&](const parameter_view<double>& q) {
            for (auto& v : q.value) v = theta[at] - eta * g[at], ++at;
        });
        const double l = loss_and_gradient();
        double d2 = 0;
        at = 0;
        ref.for_each_parameter([&](const parameter_view<double>& q) {
            for (const double v : q.gradient) d2 += (v - g[at]) * (v - g[at]), ++at;
        });
        CHECK(p.losses[k] == Approx(l).epsilon(1e-10));
        CHECK(p.grad_changes[k] == Approx(std::sqrt(d2)).epsilon(1e-8));
        CHECK(std::sqrt(d2) > 1e-6);  // the gradient does change: the check above compares something
    }
    CHECK(p.beta_max == Approx(std::max({p.grad_changes[0] / (p.eta[0] * p.grad_norm), p.grad_changes[1] / (p.eta[1] * p.grad_norm),
                                         p.grad_changes[2] / (p.eta[2] * p.grad_norm)})));
}

TEST_CASE("a network snapshot puts back what it took, and refuses to put back generators it did not take") {
    using drop_net = net<input<1, 8, 8>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, flatten, dropout<std::ratio<1, 4>>,
                         dense<128, 3>>;
    drop_net net(3);
    const auto states = [&] {
        std::vector<float> v;
        net.for_each_state([&](const state_view<float>& s) { v.insert(v.end(), s.value.begin(), s.value.end()); });
        return v;
    };
    const auto generators = [&] {
        std::vector<std::array<std::uint64_t, 4>> g;
        net.for_each_generator([&](rng& r) { g.push_back(r.state()); });
        return g;
    };
    const auto stir = [&] {  // what a forward pass in train mode moves: statistics and dropout's stream
        net.for_each_state([](const state_view<float>& v) { std::fill(v.value.begin(), v.value.end(), 7.f); });
        net.for_each_generator([](rng& r) { r.next(); });
    };
    const std::vector<float> s0 = states();
    const auto g0 = generators();
    REQUIRE(!s0.empty());
    REQUIRE(g0.size() == 1);  // dropout's

    detail::network_snapshot<float> without;
    without.take(net, false);
    stir();
    CHECK_THROWS_WITH(without.put_back(net, true), "network_snapshot::put_back: the generators were not taken");
    const auto g1 = generators();
    CHECK(g1 != g0);
    without.put_back(net, false);  // the statistics only: the generators move on
    CHECK(states() == s0);
    CHECK(generators() == g1);

    detail::network_snapshot<float> with;
    with.take(net, true);
    stir();
    with.put_back(net, true);
    CHECK(states() == s0);
    CHECK(generators() == g1);
}

TEST_CASE("steps.csv and landscape.csv: a run stopped mid-epoch and resumed writes the rows an uninterrupted run writes") {
    using drop_net = net<input<1, 8, 8>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, flatten, dropout<std::ratio<1, 4>>,
                         dense<128, 3>>;
    temp_dir d;
    const bars train = make_bars(200, 1);
    fit_options o{.epochs = 3, .data = {.batch = 16, .augment = {.pad_crop = 1, .flip = true}, .seed = 8},
                  .optimizer = {.momentum = 0.9}};
    set_lr(o, 0.05, schedule_kind::cosine);
    o.landscape.every = 4;
    struct steps_seen : callback {
        std::vector<step_log> all;
        void on_step_end(fit_context&, const step_log& s) override { all.push_back(s); }
    } rec;
    drop_net whole(4);
    steps_logger steps(d.path / "whole-steps.csv", 3);
    landscape_logger land(d.path / "whole-landscape.csv");
    fit(whole, train, o, {&steps, &land, &rec});
    const auto rows = lines_of(d.path / "whole-steps.csv");
    REQUIRE(rows.size() == 1 + 13);  // 39 steps: 3, 6, ..., 39
    CHECK(rows[0] == train::steps_csv_header);
    CHECK(rows[1] == steps_logger::row(rec.all[2]));
    CHECK(rows[1].rfind("3,1,3,", 0) == 0);
    CHECK(rows[13].rfind("39,3,13,", 0) == 0);
    const auto t = train::read_step_table(d.path / "whole-steps.csv", train::steps_csv_header);
    CHECK(t.rows[0][t.column("loss")] == rec.all[2].loss);  // exact: 17 digits
    CHECK(t.rows[0][t.column("accuracy")] == rec.all[2].accuracy);
    CHECK(t.rows[12][t.column("lr")] == rec.all[38].lr);
    CHECK(lines_of(d.path / "whole-landscape.csv").size() == 1 + 10);  // steps 1, 5, ..., 37

    std::atomic<bool> flag{false};
    struct press_ctrl_c : callback {
        std::atomic<bool>& flag;
        explicit press_ctrl_c(std::atomic<bool>& f) : flag(f) {}
        void on_step_end(fit_context&, const step_log& s) override {
            if (s.epoch == 2 && s.step == 7) flag = true;  // global step 20: rows up to 18, a probe at 17
        }
    } press(flag);
    stop_flag on_flag(flag);
    const fs::path dir = d.path / "run";
    fs::create_directories(dir);
    steps_logger steps2(dir / "steps.csv", 3);
    landscape_logger land2(dir / "landscape.csv");
    checkpoint_saver saver(dir);
    drop_net part(4);
    // A step after the checkpoint's, written before the run died: the resume drops it.
    fit(part, train, o, {&press, &on_flag, &steps2, &land2, &saver});
    train::append_line(dir / "steps.csv", "21,2,8,1,1,1,1");
    train::append_line(dir / "landscape.csv", "21,2,1,1,1,1,1,0,0,0,0,0");
    drop_net resumed(77);
    fit_options again = o;
    again.resume = dir / "last.ckpt";
    fit(resumed, train, again, {&steps2, &land2, &saver});
    CHECK(lines_of(dir / "steps.csv") == rows);
    CHECK(lines_of(dir / "landscape.csv") == lines_of(d.path / "whole-landscape.csv"));

    // A steps.csv that is not one stops the resume before anything changes, naming the file and line.
    train::write_file_atomic(dir / "steps.csv", train::steps_csv_header + "\n3,1,3,0.5,x,1,1\n");
    drop_net again_net(77);
    CHECK_THROWS_WITH(fit(again_net, train, again, {&steps2, &saver}), Catch::Contains("steps.csv: line 2: 'x' is not a number"));
    CHECK(lines_of(dir / "steps.csv").size() == 2);
    CHECK_THROWS_WITH(steps_logger(dir / "s.csv", 0), Catch::Contains("at least 1"));
}
