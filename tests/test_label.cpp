// Tests for xskan::label (scipy.ndimage.label semantics).
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <xskan/label.hpp>

#include "golden.hpp"

namespace
{
    // Independent reference: breadth-first flood fill started from each unlabelled
    // foreground pixel in raster order (so labels follow the first pixel, like scipy).
    std::vector<std::int64_t> flood_fill_labels(const std::vector<std::uint8_t>& fg, const std::vector<std::size_t>& shape,
                                                bool full, std::size_t& n_labels)
    {
        const std::size_t ndim = shape.size();
        std::size_t total = 1;
        for (auto s : shape) total *= s;
        std::vector<std::int64_t> lab(total, 0);
        auto unravel = [&](std::size_t p) {
            std::vector<std::ptrdiff_t> c(ndim);
            for (std::size_t a = ndim; a-- > 0;)
            {
                c[a] = static_cast<std::ptrdiff_t>(p % shape[a]);
                p /= shape[a];
            }
            return c;
        };
        auto ravel = [&](const std::vector<std::ptrdiff_t>& c) {
            std::size_t p = 0;
            for (std::size_t a = 0; a < ndim; ++a) p = p * shape[a] + static_cast<std::size_t>(c[a]);
            return p;
        };
        std::size_t n_off = 1;
        for (std::size_t a = 0; a < ndim; ++a) n_off *= 3;
        n_labels = 0;
        for (std::size_t p0 = 0; p0 < total; ++p0)
        {
            if (!fg[p0] || lab[p0] != 0) continue;
            ++n_labels;
            std::deque<std::size_t> q{p0};
            lab[p0] = static_cast<std::int64_t>(n_labels);
            while (!q.empty())
            {
                const auto p = q.front();
                q.pop_front();
                const auto c = unravel(p);
                for (std::size_t k = 0; k < n_off; ++k)
                {
                    std::vector<std::ptrdiff_t> o(ndim);
                    std::size_t r = k, nz = 0;
                    for (std::size_t a = 0; a < ndim; ++a)
                    {
                        o[a] = static_cast<std::ptrdiff_t>(r % 3) - 1;
                        r /= 3;
                        nz += o[a] != 0;
                    }
                    if (nz == 0 || (!full && nz != 1)) continue;
                    auto cn = c;
                    bool inside = true;
                    for (std::size_t a = 0; a < ndim; ++a)
                    {
                        cn[a] += o[a];
                        inside = inside && cn[a] >= 0 && cn[a] < static_cast<std::ptrdiff_t>(shape[a]);
                    }
                    if (!inside) continue;
                    const auto pn = ravel(cn);
                    if (fg[pn] && lab[pn] == 0)
                    {
                        lab[pn] = static_cast<std::int64_t>(n_labels);
                        q.push_back(pn);
                    }
                }
            }
        }
        return lab;
    }
}  // namespace

TEST_CASE("label: hand-computed 2D example, face vs full", "[label][2d]")
{
    xt::xarray<int> img = {{1, 1, 0, 0, 1},
                           {0, 1, 0, 1, 0},
                           {0, 0, 1, 0, 0},
                           {1, 0, 0, 0, 1}};
    auto face = xskan::label(img);
    REQUIRE(face.n_labels == 6);
    xt::xarray<std::int32_t> expected_face = {{1, 1, 0, 0, 2},
                                              {0, 1, 0, 3, 0},
                                              {0, 0, 4, 0, 0},
                                              {5, 0, 0, 0, 6}};
    CHECK(bool(face.labels == expected_face));

    // full connectivity: (1,1)-(2,2)-(1,3)-(0,4) is one diagonal chain
    auto full = xskan::label(img, xskan::connectivity::full);
    REQUIRE(full.n_labels == 3);
    xt::xarray<std::int32_t> expected_full = {{1, 1, 0, 0, 1},
                                              {0, 1, 0, 1, 0},
                                              {0, 0, 1, 0, 0},
                                              {2, 0, 0, 0, 3}};
    CHECK(bool(full.labels == expected_full));
}

TEST_CASE("label: U shape merges two provisional labels; numbering follows the first pixel", "[label][2d]")
{
    // Two arms that only join at the bottom: the right arm gets a larger provisional label,
    // the merged component must be 1 and the later blob 2.
    xt::xarray<std::uint8_t> img = {{1, 0, 1, 0, 0},
                                    {1, 0, 1, 0, 1},
                                    {1, 1, 1, 0, 1}};
    auto r = xskan::label(img);
    REQUIRE(r.n_labels == 2);
    xt::xarray<std::int32_t> expected = {{1, 0, 1, 0, 0}, {1, 0, 1, 0, 2}, {1, 1, 1, 0, 2}};
    CHECK(bool(r.labels == expected));
    // staircase that merges three provisional labels through a diagonal (full connectivity)
    xt::xarray<std::uint8_t> stairs = {{0, 0, 0, 1}, {0, 1, 0, 1}, {1, 0, 1, 0}};
    auto s = xskan::label(stairs, xskan::connectivity::full);
    CHECK(bool(s.n_labels == 1));
    CHECK(xt::all(xt::equal(s.labels, xt::cast<std::int32_t>(stairs))));
}

TEST_CASE("label: scipy goldens (2D and 3D, face and full)", "[label][2d][3d][golden]")
{
    for (const char* dim : {"2d", "3d"})
    {
        const auto in_path = xskan_test::test_data(std::string("label_input_") + dim + ".npy");
        XSKAN_REQUIRE_FILE_OR_SKIP(in_path);
        const auto img = xskan_test::load_npy<std::uint8_t>(in_path);
        const auto face = xskan_test::load_npy<std::int32_t>(xskan_test::test_data(std::string("label_face_") + dim + ".npy"));
        const auto full = xskan_test::load_npy<std::int32_t>(xskan_test::test_data(std::string("label_full_") + dim + ".npy"));
        auto rf = xskan::label(img);
        auto rn = xskan::label(img, xskan::connectivity::full);
        INFO(dim);
        CHECK(bool(rf.labels == face));
        CHECK(bool(rn.labels == full));
        CHECK(rf.n_labels == static_cast<std::size_t>(xt::amax(face)()));
        CHECK(rn.n_labels == static_cast<std::size_t>(xt::amax(full)()));
    }
}

TEST_CASE("label: random 1D-4D images agree with a flood-fill reference", "[label][nd]")
{
    std::mt19937 rng(1234);
    const std::vector<std::vector<std::size_t>> shapes = {{1},       {17},        {1, 1},     {1, 9},      {9, 1},
                                                          {13, 17},  {4, 5, 6},   {1, 7, 1},  {3, 4, 5, 6}, {2, 2, 2, 2}};
    for (const auto& shape : shapes)
    {
        for (double density : {0.2, 0.5, 0.8})
        {
            xt::xarray<double> img(shape);
            std::vector<std::uint8_t> fg(img.size());
            std::uniform_real_distribution<double> u(0.0, 1.0);
            for (std::size_t i = 0; i < img.size(); ++i)
            {
                const bool on = u(rng) < density;
                fg[i] = on;
                // a mix of non-zero values, including NaN and negative numbers (all foreground)
                img.data()[i] = on ? (i % 7 == 0 ? std::numeric_limits<double>::quiet_NaN() : -0.5 - double(i % 3)) : 0.0;
            }
            for (bool full : {false, true})
            {
                std::size_t n_ref = 0;
                const auto ref = flood_fill_labels(fg, shape, full, n_ref);
                auto got = xskan::label<std::int64_t>(img, full ? xskan::connectivity::full : xskan::connectivity::face);
                INFO("shape " << xskan::detail::shape_to_string(shape) << " density " << density << " full " << full);
                REQUIRE(got.n_labels == n_ref);
                REQUIRE(got.labels.size() == ref.size());
                CHECK(std::equal(ref.begin(), ref.end(), got.labels.data()));
            }
        }
    }
}

TEST_CASE("label: transposed and strided views are labelled in their own (logical) raster order", "[label][2d]")
{
    xt::xarray<int> img = {{1, 0, 1}, {1, 0, 0}, {0, 0, 1}, {1, 1, 0}};
    auto t = xt::transpose(img);  // 3x4
    xt::xarray<int> t_copy = t;
    auto a = xskan::label(t);
    auto b = xskan::label(t_copy);
    CHECK(bool(a.n_labels == b.n_labels));
    CHECK(bool(a.labels == b.labels));
    auto v = xt::view(img, xt::range(0, 4, 2), xt::all());  // rows 0 and 2
    xt::xarray<int> v_copy = v;
    CHECK(bool(xskan::label(v).labels == xskan::label(v_copy).labels));
}

TEST_CASE("label: output buffer reuse, empty arrays and errors", "[label]")
{
    xt::xarray<std::int32_t> out;
    xt::xarray<bool> a = {{true, false}, {false, true}};
    CHECK(xskan::label(a, out) == 2);
    const auto* data = out.data();
    CHECK(xskan::label(a, out, xskan::connectivity::full) == 1);
    CHECK(out.data() == data);  // same shape: buffer reused

    xt::xarray<int> empty = xt::zeros<int>({0, 5});
    auto r = xskan::label(empty);
    CHECK(bool(r.n_labels == 0));
    CHECK(r.labels.size() == 0);

    xt::xarray<int> all_zero = xt::zeros<int>({3, 4});
    CHECK(xskan::label(all_zero).n_labels == 0);

    xt::xarray<int> scalar0d = 5;  // 0-D
    CHECK_THROWS_AS(xskan::label(scalar0d), std::invalid_argument);

    // a checkerboard with more components than an int8 can count
    xt::xarray<std::uint8_t> checker = xt::zeros<std::uint8_t>({20, 20});
    for (std::size_t i = 0; i < 20; ++i)
        for (std::size_t j = 0; j < 20; ++j) checker(i, j) = (i + j) % 2;
    CHECK_THROWS_AS(xskan::label<std::int8_t>(checker), std::overflow_error);
    CHECK(xskan::label<std::int16_t>(checker).n_labels == 200);
    CHECK(xskan::label<std::int16_t>(checker, xskan::connectivity::full).n_labels == 1);
}
