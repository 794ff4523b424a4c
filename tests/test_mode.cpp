// Boundary modes: numpy.pad index patterns (values printed by numpy 1.24.2).
#include <catch2/catch.hpp>

#include <vector>

#include <xskan/mode.hpp>

using xskan::mode;
using xskan::detail::pad_indices;
using V = std::vector<std::ptrdiff_t>;

TEST_CASE("pad_indices reproduces numpy.pad for every mode", "[mode]")
{
    // np.pad(np.arange(n), (before, after), mode=...)
    CHECK(pad_indices(3, 2, 2, mode::reflect) == V{1, 0, 0, 1, 2, 2, 1});
    CHECK(pad_indices(3, 2, 2, mode::mirror) == V{2, 1, 0, 1, 2, 1, 0});
    CHECK(pad_indices(3, 2, 2, mode::nearest) == V{0, 0, 0, 1, 2, 2, 2});
    CHECK(pad_indices(3, 2, 2, mode::wrap) == V{1, 2, 0, 1, 2, 0, 1});
    CHECK(pad_indices(3, 2, 2, mode::constant) == V{-1, -1, 0, 1, 2, -1, -1});
}

TEST_CASE("pad_indices replays numpy's iterative padding of long pads", "[mode]")
{
    // Not periodic: numpy 1.24 pads chunk by chunk.
    CHECK(pad_indices(3, 1, 5, mode::wrap) == V{2, 0, 1, 2, 0, 1, 2, 2, 0});
    CHECK(pad_indices(3, 5, 5, mode::wrap) == V{1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1});
    CHECK(pad_indices(3, 4, 2, mode::mirror) == V{0, 1, 2, 1, 0, 1, 2, 1, 0});
    CHECK(pad_indices(3, 4, 2, mode::reflect) == V{2, 2, 1, 0, 0, 1, 2, 2, 1});
    CHECK(pad_indices(2, 5, 6, mode::reflect) == V{0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0});
    CHECK(pad_indices(1, 2, 3, mode::mirror) == V{0, 0, 0, 0, 0, 0});
    CHECK(pad_indices(4, 0, 9, mode::mirror) == V{0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0});
}

TEST_CASE("pad_indices rejects an empty axis", "[mode]")
{
    CHECK_THROWS_AS(pad_indices(0, 1, 1, mode::reflect), std::invalid_argument);
}

TEST_CASE("mode names round-trip", "[mode]")
{
    for (mode m : {mode::valid, mode::reflect, mode::constant, mode::nearest, mode::mirror, mode::wrap})
    {
        CHECK(xskan::mode_from_string(xskan::to_string(m)) == m);
    }
    CHECK_THROWS_WITH(xskan::mode_from_string("symmetric"), Catch::Contains("allowed"));
}
