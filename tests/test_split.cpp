// data::split_per_class and data::subset_source (data/split.hpp): the stratified quotas worked
// out by hand (largest remainders, ties to the lower class), the parts disjoint, ascending and
// together the whole source, the seed's effect, the errors, and a subset read through the loader
// equal to the same samples given directly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "typenet/data/split.hpp"

using namespace typenet;

namespace {
using small_source = data::memory_source<shape<2>, 3>;

// count[c] samples of class c, interleaved (labels 0, 1, 2, 0, 1, 2, ... while each lasts);
// sample i holds the values (i, -i).
small_source make(std::vector<std::size_t> count) {
    std::vector<float> values;
    std::vector<std::int32_t> labels;
    for (std::size_t round = 0; std::any_of(count.begin(), count.end(), [&](std::size_t n) { return n > round; }); ++round)
        for (std::size_t c = 0; c < count.size(); ++c)
            if (round < count[c]) {
                const float i = float(labels.size());
                values.push_back(i), values.push_back(-i);
                labels.push_back(std::int32_t(c));
            }
    return small_source(values, labels);
}

std::vector<std::size_t> per_class(const small_source& s, const std::vector<std::size_t>& idx) {
    std::vector<std::size_t> n(3, 0);
    for (const auto i : idx) ++n[std::size_t(s.label(i))];
    return n;
}

void check_partition(const small_source& s, const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
    CHECK(std::is_sorted(a.begin(), a.end()));
    CHECK(std::is_sorted(b.begin(), b.end()));
    std::vector<std::size_t> all = a;
    all.insert(all.end(), b.begin(), b.end());
    std::sort(all.begin(), all.end());
    REQUIRE(all.size() == s.size());
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i] == i);  // disjoint, and together everything
}
}  // namespace

static_assert(data::source<data::subset_source<small_source>>);

TEST_CASE("split_per_class gives every class its share of the held-out samples", "[split]") {
    const auto s = make({50, 30, 20});
    const auto [train, val] = data::split_indices_per_class(s, 10, 7);
    check_partition(s, train, val);
    CHECK(per_class(s, val) == std::vector<std::size_t>{5, 3, 2});
    CHECK(per_class(s, train) == std::vector<std::size_t>{45, 27, 18});
}

TEST_CASE("split_per_class hands the rounding's leftovers to the largest remainders", "[split]") {
    // 13 samples, 4 held out: shares 28/13, 20/13, 4/13 -> floors 2, 1, 0 and remainders 2, 7, 4
    // (in 13ths): the one left over goes to class 1.
    const auto s = make({7, 5, 1});
    const auto [train, val] = data::split_indices_per_class(s, 4, 1);
    check_partition(s, train, val);
    CHECK(per_class(s, val) == std::vector<std::size_t>{2, 2, 0});
    // equal remainders: the lower class first (12 samples, 2 held out: 8/12, 8/12, 8/12)
    const auto t = make({4, 4, 4});
    CHECK(per_class(t, data::split_indices_per_class(t, 2, 1).second) == std::vector<std::size_t>{1, 1, 0});
}

TEST_CASE("split_per_class follows the seed and only the seed", "[split]") {
    const auto s = make({400, 300, 300});
    const auto a = data::split_indices_per_class(s, 100, 3).second;
    CHECK(a == data::split_indices_per_class(s, 100, 3).second);
    const auto b = data::split_indices_per_class(s, 100, 4).second;
    CHECK(a != b);
    CHECK(per_class(s, a) == per_class(s, b));
    // not simply the first samples of each class
    CHECK(a.back() > 200);
}

TEST_CASE("split_per_class refuses to leave nothing to train on", "[split]") {
    const auto s = make({10, 10, 2});
    CHECK_THROWS_WITH(data::split_indices_per_class(s, 22, 0), Catch::Contains("holding out 22 of 22 samples leaves none"));
    // 21 of 22: quotas 9 + 1, 9, 1 + 1 (remainders 12, 12, 20 in 22nds): all of class 0
    CHECK_THROWS_WITH(data::split_indices_per_class(s, 21, 0), Catch::Contains("takes all 10 of class 0 (0)"));
    CHECK_NOTHROW(data::split_indices_per_class(s, 0, 0));
}

TEST_CASE("subset_source reads the source's samples at its indices", "[split]") {
    const auto s = make({5, 4, 3});
    const data::subset_source<small_source> part(s, {11, 0, 4});
    REQUIRE(part.size() == 3);
    CHECK(part.sample(0) == s.sample(11));
    CHECK(part.label(2) == s.label(4));
    CHECK(part.class_names() == s.class_names());
    CHECK_THROWS_AS(data::subset_source<small_source>(s, {12}), std::out_of_range);

    // through the loader: the same batches as a memory source holding those samples
    const auto parts = data::split_per_class(s, 3, 9);
    std::vector<float> values;
    std::vector<std::int32_t> labels;
    for (const auto i : parts.validation.indices()) {
        values.insert(values.end(), s.sample(i), s.sample(i) + 2);
        labels.push_back(s.label(i));
    }
    const small_source copy(values, labels);
    const auto norm = data::compute_normalization(copy);
    CHECK(data::compute_normalization(parts.validation).mean == norm.mean);
    data::loader_options o{.batch = 2, .training = false};
    data::loader<data::subset_source<small_source>> a(parts.validation, norm, o);
    data::loader<small_source> b(copy, norm, o);
    a.start(1), b.start(1);
    while (const auto* x = a.next()) {
        const auto* y = b.next();
        REQUIRE(y);
        CHECK(std::vector<float>(x->images().begin(), x->images().end()) ==
              std::vector<float>(y->images().begin(), y->images().end()));
        CHECK(std::vector<std::int32_t>(x->labels().begin(), x->labels().end()) ==
              std::vector<std::int32_t>(y->labels().begin(), y->labels().end()));
    }
    CHECK(b.next() == nullptr);
}
