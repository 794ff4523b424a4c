// The memory-lean pipeline stages of `xskan analyze` (apps/xskan/fast_stages.hpp) are
// bitwise equal to the library functions they replace.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include <catch2/catch.hpp>

#include <xtensor/xarray.hpp>

#include "golden.hpp"

#include "../apps/xskan/fast_stages.hpp"

namespace
{
    template <class F>
    bool bitwise_equal(const xt::xarray<F>& a, const xt::xarray<F>& b)
    {
        if (a.shape() != b.shape()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
        {
            const F x = a.data()[i], y = b.data()[i];
            if (std::isnan(x) && std::isnan(y)) continue;
            if (std::memcmp(&x, &y, sizeof(F)) != 0) return false;  // -0 != +0 here
        }
        return true;
    }

    template <class T>
    void check_stages(const xt::xarray<T>& image, double sigma)
    {
        using F = std::conditional_t<std::is_same<T, float>::value, float, double>;
        const std::size_t rows = image.shape()[0], cols = image.shape()[1];
        REQUIRE(xskan_cli::bands_apply(rows, cols, sigma));
        xskan::gaussian_options reflect;
        reflect.boundary = xskan::mode::reflect;
        const xt::xarray<F> g_reflect = xskan::gaussian(image, sigma, reflect);
        const xt::xarray<F> g_nearest = xskan::gaussian(image, sigma);  // skimage default: nearest
        REQUIRE(!bitwise_equal(g_reflect, g_nearest));                  // the borders do differ
        xt::xarray<F> g = xt::xarray<F>::from_shape({rows, cols});
        xskan_cli::border_bands<F> bands;
        xskan_cli::smoothing_workspace<F> ws;
        for (int rep = 0; rep < 2; ++rep)  // the second time with warm (reused) buffers
        {
            std::fill(g.begin(), g.end(), F(-7));
            xskan_cli::smooth_with_bands(image.data(), rows, cols, cols, sigma, g.data(), bands, ws);
            CHECK(bitwise_equal(g, g_reflect));
            xskan_cli::swap_border_bands(g.data(), bands, false);
            CHECK(bitwise_equal(g, g_nearest));
            xskan_cli::swap_border_bands(g.data(), bands, true);
            CHECK(bitwise_equal(g, g_reflect));
        }
        // row blocks on 3 threads
        {
            xt::xarray<F> g3 = xt::xarray<F>::from_shape({rows, cols});
            xskan_cli::smooth_with_bands(image.data(), rows, cols, cols, sigma, g3.data(), bands, ws, 3);
            CHECK(bitwise_equal(g3, g_reflect));
        }
        // the same on a strided view of a wider image (the crop of the pipeline)
        {
            xt::xarray<T> wide = xt::zeros<T>({rows, cols + 5});
            for (std::size_t i = 0; i < rows; ++i)
                for (std::size_t j = 0; j < cols; ++j) wide(i, j + 2) = image(i, j);
            xt::xarray<F> g2 = xt::xarray<F>::from_shape({rows, cols});
            xskan_cli::smooth_with_bands(wide.data() + 2, rows, cols, cols + 5, sigma, g2.data(), bands, ws);
            CHECK(bitwise_equal(g2, g_reflect));
            xskan_cli::swap_border_bands(g2.data(), bands, false);
            CHECK(bitwise_equal(g2, g_nearest));
        }

        const xt::xarray<F> si = xskan::shape_index(image, sigma, xskan::mode::reflect);
        xskan_cli::shape_index_workspace<F> sw;
        xt::xarray<F> fast = xt::xarray<F>::from_shape({rows, cols});
        xskan_cli::shape_index_from_smoothed(g.data(), rows, cols, nullptr, fast.data(), sw);
        CHECK(bitwise_equal(fast, si));
        // weighted by a 0/1 "skeleton": skeleton * shape_index (sign of zeros and NaN included)
        xt::xarray<std::uint8_t> w = xt::xarray<std::uint8_t>::from_shape({rows, cols});
        std::mt19937 rng(7);
        for (auto& v : w) v = static_cast<std::uint8_t>(rng() % 5 == 0);
        xskan_cli::shape_index_from_smoothed(g.data(), rows, cols, w.data(), fast.data(), sw);
        xt::xarray<F> expect = xt::xarray<F>::from_shape({rows, cols});
        for (std::size_t i = 0; i < expect.size(); ++i) expect.data()[i] = static_cast<F>(w.data()[i]) * si.data()[i];
        CHECK(bitwise_equal(fast, expect));
        // in place (out = g), as the pipeline does
        xt::xarray<F> inplace = g;
        xskan_cli::shape_index_from_smoothed(inplace.data(), rows, cols, w.data(), inplace.data(), sw);
        CHECK(bitwise_equal(inplace, expect));
    }
}  // namespace

TEST_CASE("one Gaussian + border bands = both modes; streamed shape index = xskan::shape_index", "[2d][analyze]")
{
    std::mt19937 rng(42);
    SECTION("uint8 random, sigma 2.3")
    {
        xt::xarray<std::uint8_t> img = xt::xarray<std::uint8_t>::from_shape({61, 77});
        for (auto& v : img) v = static_cast<std::uint8_t>(rng() % 256);
        check_stages(img, 2.3);
    }
    SECTION("float32 random, sigma 1.6")
    {
        xt::xarray<float> img = xt::xarray<float>::from_shape({40, 33});
        for (auto& v : img) v = static_cast<float>(rng() % 1000) / 997.0f;
        check_stages(img, 1.6);
    }
    SECTION("float32 with a flat region (NaN shape index), odd width, sigma 1.2")
    {
        xt::xarray<float> img = xt::zeros<float>({29, 35});
        for (std::size_t i = 15; i < 29; ++i)
            for (std::size_t j = 0; j < 35; ++j) img(i, j) = static_cast<float>(rng() % 100) / 7.0f;
        check_stages(img, 1.2);
    }
    SECTION("float64 with a flat region (NaN shape index), sigma 1")
    {
        xt::xarray<double> img = xt::zeros<double>({30, 31});
        for (std::size_t i = 0; i < 12; ++i)
            for (std::size_t j = 0; j < 31; ++j) img(i, j) = static_cast<double>(rng() % 100) / 7.0;
        check_stages(img, 1.0);
    }
}

TEST_CASE("fast stages on the real SEM crop with the pipeline's sigma", "[2d][analyze][golden]")
{
    const std::string p = xskan_test::golden("C_threshold/retic_crop_u8.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(p);
    const xt::xarray<std::uint8_t> img = xt::load_npy<std::uint8_t>(p);
    check_stages(img, 4.7);
    CHECK(!xskan_cli::bands_apply(40, 400, 4.7));  // too small: the general path is used
}
