// Integral image: goldens from scikit-image 0.19.3, brute force in 1-4 D, out-parameter form.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <xskan/integral_image.hpp>

#include "golden.hpp"

namespace
{
    template <class A, class B>
    bool bitwise_equal(const A& a, const B& b)
    {
        if (a.dimension() != b.dimension() || !std::equal(a.shape().begin(), a.shape().end(), b.shape().begin()))
        {
            return false;
        }
        auto ib = b.begin();
        for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib)
        {
            const auto x = *ia;
            const auto y = static_cast<decltype(x)>(*ib);
            if (std::memcmp(&x, &y, sizeof(x)) != 0)
            {
                return false;
            }
        }
        return true;
    }

    /// numpy's definition: cumsum along axis 0, then 1, ... (naive loops, no blocking).
    template <class Acc, class T>
    xt::xarray<Acc> cumsum_reference(const xt::xarray<T>& x)
    {
        xt::xarray<Acc> s = xt::cast<Acc>(x);
        const std::size_t nd = s.dimension();
        std::vector<std::size_t> strides(nd, 1);
        for (std::size_t a = nd - 1; a-- > 0;)
        {
            strides[a] = strides[a + 1] * s.shape()[a + 1];
        }
        for (std::size_t axis = 0; axis < nd; ++axis)
        {
            std::vector<std::size_t> idx(nd, 0);
            for (std::size_t flat = 0; flat < s.size(); ++flat)
            {
                std::size_t rem = flat;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    idx[a] = rem / strides[a];
                    rem %= strides[a];
                }
                if (idx[axis] > 0)
                {
                    s.data()[flat] = static_cast<Acc>(s.data()[flat - strides[axis]] + s.data()[flat]);
                }
            }
        }
        return s;
    }

    /// Brute-force box sum from the definition (exact for small integers).
    template <class T>
    double brute_sum(const xt::xarray<T>& x, const std::vector<std::size_t>& upto)
    {
        const std::size_t nd = x.dimension();
        std::vector<std::size_t> idx(nd, 0);
        double s = 0;
        for (std::size_t flat = 0; flat < x.size(); ++flat)
        {
            std::size_t rem = flat;
            bool inside = true;
            for (std::size_t a = nd; a-- > 0;)
            {
                idx[a] = rem % x.shape()[a];
                rem /= x.shape()[a];
                inside = inside && idx[a] <= upto[a];
            }
            if (inside)
            {
                s += static_cast<double>(x.data()[flat]);
            }
        }
        return s;
    }
}  // namespace

TEST_CASE("integral_image equals scikit-image on the goldens", "[golden][2d][3d]")
{
    const std::string dir = xskan_test::golden("B_integral_image/");
    XSKAN_REQUIRE_FILE_OR_SKIP(dir + "ii2d_f64_image.npy");
    for (const char* stem : {"ii2d_f64", "ii3d_f64"})
    {
        INFO(stem);
        const auto img = xskan_test::load_npy<double>(dir + stem + "_image.npy");
        const auto expected = xskan_test::load_npy<double>(dir + stem + "_integral.npy");
        CHECK(bitwise_equal(xskan::integral_image(img), expected));
    }
    // float32 input: scikit-image accumulates in float64 (promote_types(f4, f8))
    const auto f32 = xskan_test::load_npy<float>(dir + "ii2d_f32_image.npy");
    CHECK(bitwise_equal(xskan::integral_image(f32), xskan_test::load_npy<double>(dir + "ii2d_f32_integral.npy")));
    // uint8 input: scikit-image gives uint64; equal as double and as uint64 accumulator
    const auto u8 = xskan_test::load_npy<std::uint8_t>(dir + "ii2d_u8_image.npy");
    const auto u8_expected = xskan_test::load_npy<std::uint64_t>(dir + "ii2d_u8_integral.npy");
    CHECK(bitwise_equal(xskan::integral_image<std::uint64_t>(u8), u8_expected));
    CHECK(bitwise_equal(xskan::integral_image(u8), xt::xarray<double>(xt::cast<double>(u8_expected))));
}

TEST_CASE("integral_image equals numpy's cumsum order and brute-force sums in 1-4 D", "[nd][1d][2d][3d]")
{
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> real(-1.0, 1.0);
    std::uniform_int_distribution<int> small(0, 9);
    const std::vector<std::vector<std::size_t>> shapes = {
        {1}, {17}, {1, 1}, {1, 13}, {13, 1}, {7, 9}, {9, 7}, {8, 5}, {17, 33}, {16, 3},
        {3, 4, 5}, {1, 9, 1}, {2, 17, 3}, {2, 3, 4, 5}};
    for (const auto& shape : shapes)
    {
        INFO("shape " << xskan::detail::shape_to_string(shape));
        // random reals: bitwise equal to the naive numpy-order loops (rounding matters)
        xt::xarray<double> x = xt::xarray<double>::from_shape(shape);
        for (auto& v : x)
        {
            v = real(rng);
        }
        CHECK(bitwise_equal(xskan::integral_image(x), cumsum_reference<double>(x)));
        xt::xarray<float> xf = xt::cast<float>(x);
        CHECK(bitwise_equal(xskan::integral_image<float>(xf), cumsum_reference<float>(xf)));
        // small integers: every entry equals the brute-force box sum
        xt::xarray<int> xi = xt::xarray<int>::from_shape(shape);
        for (auto& v : xi)
        {
            v = small(rng);
        }
        const auto ii = xskan::integral_image(xi);
        const auto ii64 = xskan::integral_image<std::int64_t>(xi);
        std::vector<std::size_t> idx(shape.size(), 0);
        for (std::size_t flat = 0; flat < ii.size(); ++flat)
        {
            std::size_t rem = flat;
            for (std::size_t a = shape.size(); a-- > 0;)
            {
                idx[a] = rem % shape[a];
                rem /= shape[a];
            }
            const double expected = brute_sum(xi, idx);
            REQUIRE(ii.data()[flat] == expected);
            REQUIRE(static_cast<double>(ii64.data()[flat]) == expected);
        }
    }
}

TEST_CASE("integral_image accepts views and lazy expressions", "[2d]")
{
    xt::xarray<double> x = {{1, 2, 3}, {4, 5, 6}};
    const xt::xarray<double> expected_t = {{1, 5}, {3, 12}, {6, 21}};  // integral of the transpose
    CHECK(bitwise_equal(xskan::integral_image(xt::transpose(x)), expected_t));
    xt::xarray<double> expected_col = xt::xarray<double>::from_shape({2, 1});
    expected_col(0, 0) = 2.0;
    expected_col(1, 0) = 7.0;
    CHECK(bitwise_equal(xskan::integral_image(xt::view(x, xt::all(), xt::range(1, 2))), expected_col));
    const xt::xarray<double> expected_2x = {{2, 6, 12}, {10, 24, 42}};
    CHECK(bitwise_equal(xskan::integral_image(2.0 * x), expected_2x));
}

TEST_CASE("integral_image_into reuses the output and matches the allocating form", "[2d][3d]")
{
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> real(0.0, 1.0);
    xt::xarray<float> x = xt::xarray<float>::from_shape({11, 6, 21});
    for (auto& v : x)
    {
        v = static_cast<float>(real(rng));
    }
    xt::xarray<double> out = xt::xarray<double>::from_shape({11, 6, 21});
    const double* before = out.data();
    xskan::integral_image_into(x, out);
    CHECK(out.data() == before);
    CHECK(bitwise_equal(out, xskan::integral_image(x)));
    xt::xtensor<double, 3> out3;  // empty: resized
    xskan::integral_image_into(x, out3);
    CHECK(bitwise_equal(out3, xskan::integral_image(x)));
    // in place on its own data
    xt::xarray<double> y = xt::cast<double>(x);
    xskan::integral_image_into(y, y);
    CHECK(bitwise_equal(y, xskan::integral_image(x)));
    // a transposed view of the output itself
    xt::xarray<double> sq = {{1, 2}, {3, 4}};
    xskan::integral_image_into(xt::transpose(sq), sq);
    const xt::xarray<double> expected_sq = {{1, 4}, {3, 10}};  // integral of [[1, 3], [2, 4]]
    CHECK(bitwise_equal(sq, expected_sq));
}

TEST_CASE("integral_image rejects empty images", "[error]")
{
    CHECK_THROWS_WITH(xskan::integral_image(xt::xarray<double>(xt::zeros<double>({0, 4}))), Catch::Contains("empty"));
    CHECK_THROWS_AS(xskan::integral_image(xt::xarray<double>(3.0)), std::invalid_argument);
    xt::xarray<double> out;
    CHECK_THROWS_AS(xskan::integral_image_into(xt::xarray<double>(xt::zeros<double>({5, 0})), out),
                    std::invalid_argument);
}
