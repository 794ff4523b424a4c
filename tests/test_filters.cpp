// gaussian (scikit-image 0.19.3 / scipy.ndimage) and shape_index goldens,
// boundary modes, invariants and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include <xskan/filters.hpp>

#include "golden.hpp"
#include "tiff_strips.hpp"

using xskan_test::golden;
using xskan_test::load_npy;

namespace
{
    // max |got - want| / max(|want|, tiny) and the number of bitwise-different values
    template <class A, class B>
    std::pair<double, std::size_t> compare(const A& got, const B& want)
    {
        REQUIRE(got.size() == want.size());
        double worst = 0;
        std::size_t differ = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
        {
            const double g = static_cast<double>(got.data()[i]);
            const double w = static_cast<double>(want.data()[i]);
            if (std::isnan(g) && std::isnan(w))
            {
                continue;
            }
            if (g != w)
            {
                ++differ;
            }
            worst = std::max(worst, std::abs(g - w) / std::max(std::abs(w), 1e-300));
        }
        return {worst, differ};
    }
}  // namespace

TEST_CASE("gaussian matches scikit-image 0.19.3 on uint8 and float64 goldens", "[filters][golden][2d]")
{
    const auto in_path = golden("D_otsu_gaussian/retic_crop_u8.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in_path);
    const xt::xarray<std::uint8_t> img = load_npy<std::uint8_t>(in_path);
    struct case_t
    {
        const char* file;
        double sigma;
        xskan::mode m;
        bool preserve;
    };
    const case_t cases[] = {
        {"D_otsu_gaussian/retic_crop_gaussian_s1.npy", 1.0, xskan::mode::nearest, false},
        {"D_otsu_gaussian/retic_crop_gaussian_s3.npy", 3.0, xskan::mode::nearest, false},
        {"D_otsu_gaussian/retic_crop_gaussian_s2_preserve_rangeTrue.npy", 2.0, xskan::mode::nearest, true},
        {"D_otsu_gaussian/retic_crop_gaussian_s4.7_modereflect.npy", 4.7, xskan::mode::reflect, false},
    };
    for (const auto& c : cases)
    {
        xskan::gaussian_options o;
        o.boundary = c.m;
        o.preserve_range = c.preserve;
        const auto got = xskan::gaussian(img, c.sigma, o);
        static_assert(std::is_same<decltype(got)::value_type, double>::value, "uint8 -> float64");
        const auto want = load_npy<double>(golden(c.file));
        const auto [rel, differ] = compare(got, want);
        INFO(c.file << ": max rel error " << rel << ", " << differ << " values not bitwise equal");
        CHECK(rel < 1e-14);
        // The remaining differences come only from kernel weights (numpy's AVX-512 exp vs the C library's)
        WARN(c.file << ": " << differ << " of " << got.size() << " values differ in the last bits");
    }
    const auto rnd = load_npy<double>(golden("D_otsu_gaussian/rand_f64.npy"));
    const auto [rel, differ] = compare(xskan::gaussian(rnd, 1.5), load_npy<double>(golden("D_otsu_gaussian/rand_f64_gaussian_s1.5.npy")));
    CHECK(rel < 1e-14);
    (void) differ;
}

TEST_CASE("gaussian: smoothed crop and shape index of the skan pipeline (inf1, sigma 4.7)", "[filters][golden][2d]")
{
    const auto tif = xskan_test::shared("data/inf1.tif");
    XSKAN_REQUIRE_FILE_OR_SKIP(tif);
    const auto raw = xskan_test::read_tiff_u8(tif);
    // fei read = first 1024 rows, then crop [20:-20, 20:-20] -> 984 x 1496
    const xt::xarray<std::uint8_t> img = xt::view(raw, xt::range(20, 1004), xt::range(20, 1516));
    const auto sm = xskan::gaussian(img, 4.7);
    const xt::xarray<double> smc = xt::view(sm, xt::range(100, 228), xt::range(200, 360));
    CHECK(compare(smc, load_npy<double>(golden("G_pipeline/inf1/crop_smoothed.npy"))).first < 1e-14);
    const auto si = xskan::shape_index(img, 4.7, xskan::mode::reflect);
    const xt::xarray<double> sic = xt::view(si, xt::range(100, 228), xt::range(200, 360));
    const auto want = load_npy<double>(golden("G_pipeline/inf1/crop_shape_index.npy"));
    double worst = 0;
    std::size_t nan_mismatch = 0;
    for (std::size_t i = 0; i < sic.size(); ++i)
    {
        nan_mismatch += std::isnan(sic.data()[i]) != std::isnan(want.data()[i]);
        if (!std::isnan(want.data()[i]))
        {
            worst = std::max(worst, std::abs(sic.data()[i] - want.data()[i]));
        }
    }
    INFO("max abs error " << worst);
    CHECK(nan_mismatch == 0);
    CHECK(worst < 1e-9);
    std::size_t out_of_range = 0;
    for (double v : si)
    {
        out_of_range += (!std::isnan(v) && (v < -1.0 || v > 1.0)) ? 1 : 0;
    }
    CHECK(out_of_range == 0);
}

TEST_CASE("gaussian invariants: normalised kernel, constant images, modes, separability", "[filters][nd]")
{
    // weights sum to 1 and are symmetric
    const auto w = xskan::detail::gaussian_kernel1d(2.5, 10);
    double s = 0;
    for (std::size_t i = 0; i < w.size(); ++i)
    {
        s += w[i];
        CHECK(w[i] == w[w.size() - 1 - i]);
    }
    CHECK(s == Approx(1.0).epsilon(1e-14));
    // constant float image stays constant (up to rounding) in every mode but constant
    xt::xarray<double> c = xt::ones<double>({6, 7, 5}) * 0.375;
    for (auto m : {xskan::mode::nearest, xskan::mode::reflect, xskan::mode::mirror, xskan::mode::wrap})
    {
        xskan::gaussian_options o;
        o.boundary = m;
        const auto g = xskan::gaussian(c, 1.3, o);
        double worst = 0;
        for (double v : g)
        {
            worst = std::max(worst, std::abs(v - 0.375));
        }
        CHECK(worst < 1e-15);
    }
    // constant mode with cval 0 darkens the border
    xskan::gaussian_options oc;
    oc.boundary = xskan::mode::constant;
    const auto gc = xskan::gaussian(c, 1.0, oc);
    CHECK(gc(0, 0, 0) < 0.375);
    CHECK(gc(3, 3, 2) < 0.375 + 1e-12);
    // scipy extension indices (NI_ExtendLine)
    using xskan::detail::scipy_extend_index;
    CHECK(scipy_extend_index(-1, 4, xskan::mode::reflect) == 0);
    CHECK(scipy_extend_index(-5, 4, xskan::mode::reflect) == 3);
    CHECK(scipy_extend_index(-1, 4, xskan::mode::mirror) == 1);
    CHECK(scipy_extend_index(5, 4, xskan::mode::mirror) == 1);
    CHECK(scipy_extend_index(6, 4, xskan::mode::wrap) == 2);
    CHECK(scipy_extend_index(-3, 4, xskan::mode::nearest) == 0);
    // an impulse gives the outer product of the 1-D kernels; sigma 0 on an axis leaves it alone
    xt::xarray<double> imp = xt::zeros<double>({11, 13});
    imp(5, 6) = 1.0;
    const auto g = xskan::gaussian(imp, std::vector<double>{1.0, 0.0});
    const auto k = xskan::detail::gaussian_kernel1d(1.0, 4);
    for (std::size_t i = 0; i < 11; ++i)
    {
        for (std::size_t j = 0; j < 13; ++j)
        {
            const double want = (j == 6 && i >= 1 && i <= 9) ? k[i - 1] : 0.0;
            REQUIRE(g(i, j) == want);
        }
    }
    // float32 stays float32
    xt::xarray<float> f = xt::ones<float>({4, 4});
    const auto gf = xskan::gaussian(f, 1.0);
    static_assert(std::is_same<decltype(gf)::value_type, float>::value, "float32 stays float32");
    CHECK(gf(1, 1) == Approx(1.0f));
    // uint8 255 -> 1.0 exactly, preserve_range keeps 255
    xt::xarray<std::uint8_t> u = xt::ones<std::uint8_t>({3, 3}) * std::uint8_t(255);
    CHECK(xskan::gaussian(u, 0.0)(1, 1) == 1.0);
    xskan::gaussian_options pr;
    pr.preserve_range = true;
    CHECK(xskan::gaussian(u, 0.0, pr)(1, 1) == 255.0);
    // uint8 conversion is x * (1/255), not x / 255 (they differ for 24 values)
    xt::xarray<std::uint8_t> v = xt::arange<int>(256);
    const auto gv = xskan::gaussian(v, 0.0);
    for (int i = 0; i < 256; ++i)
    {
        REQUIRE(gv(i) == static_cast<double>(i) * (1.0 / 255.0));
    }
}

namespace
{
    // The straightforward scipy algorithm (xskan's implementation before the vectorised one):
    // convert to F, then for every axis with sigma > 1e-15 one scalar correlate1d pass over a copy.
    template <class T>
    auto reference_gaussian(const xt::xarray<T>& img, const std::vector<double>& sigma, const xskan::gaussian_options& o)
    {
        using F = xskan::gaussian_result_t<T>;
        xt::xarray<F> out = xt::xarray<F>::from_shape(img.shape());
        for (std::size_t i = 0; i < img.size(); ++i)
        {
            out.data()[i] = (o.preserve_range || std::is_floating_point<T>::value)
                                ? static_cast<F>(img.data()[i])
                                : static_cast<F>(xskan::detail::img_as_float_value(img.data()[i]));
        }
        const std::vector<std::size_t> shape(img.shape().begin(), img.shape().end());
        for (std::size_t a = 0; a < shape.size(); ++a)
        {
            if (!(sigma[a] > 1e-15)) continue;
            volatile double tr = o.truncate * sigma[a];  // rounded before + 0.5, as Python
            const auto w = xskan::detail::gaussian_kernel1d(sigma[a], static_cast<std::size_t>(tr + 0.5));
            const std::size_t r = (w.size() - 1) / 2, n = shape[a];
            std::size_t inner = 1, outer = 1;
            for (std::size_t b = a + 1; b < shape.size(); ++b) inner *= shape[b];
            for (std::size_t b = 0; b < a; ++b) outer *= shape[b];
            const xt::xarray<F> src = out;
            for (std::size_t ou = 0; ou < outer; ++ou)
            {
                for (std::size_t in = 0; in < inner; ++in)
                {
                    auto x = [&](std::ptrdiff_t k) {
                        const std::ptrdiff_t e = xskan::detail::scipy_extend_index(k, static_cast<std::ptrdiff_t>(n), o.boundary);
                        return e < 0 ? o.cval : static_cast<double>(src.data()[(ou * n + static_cast<std::size_t>(e)) * inner + in]);
                    };
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        const auto ii = static_cast<std::ptrdiff_t>(i);
                        volatile double acc = x(ii) * w[r];
                        for (std::size_t j = r; j >= 1; --j)
                        {
                            const auto jj = static_cast<std::ptrdiff_t>(j);
                            volatile double p = (x(ii - jj) + x(ii + jj)) * w[r - j];
                            acc = acc + p;
                        }
                        out.data()[(ou * n + i) * inner + in] = static_cast<F>(acc);
                    }
                }
            }
        }
        return out;
    }

    template <class F>
    bool same_bits(const xt::xarray<F>& a, const xt::xarray<F>& b)
    {
        if (a.shape() != b.shape()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
        {
            const F x = a.data()[i], y = b.data()[i];
            if (std::isnan(x) && std::isnan(y)) continue;
            if (std::memcmp(&x, &y, sizeof(F)) != 0) return false;
        }
        return true;
    }

    template <class T>
    xt::xarray<T> random_image(const std::vector<std::size_t>& shape, std::mt19937& rng, bool with_nan = false)
    {
        xt::xarray<T> img = xt::xarray<T>::from_shape(shape);
        for (auto& v : img)
        {
            if constexpr (std::is_same<T, bool>::value) v = rng() % 2 == 0;
            else if constexpr (std::is_integral<T>::value) v = static_cast<T>(rng());
            else v = static_cast<T>(static_cast<double>(rng() % 100000) / 977.0 - 40.0);
        }
        if constexpr (std::is_floating_point<T>::value)
        {
            if (with_nan && img.size() > 3) img.data()[rng() % img.size()] = std::numeric_limits<T>::quiet_NaN();
        }
        return img;
    }

    template <class T>
    void check_against_reference(const std::vector<std::size_t>& shape, std::mt19937& rng, xskan::gaussian_workspace& ws)
    {
        const xskan::mode modes[] = {xskan::mode::nearest, xskan::mode::reflect, xskan::mode::mirror, xskan::mode::wrap,
                                     xskan::mode::constant};
        const double sigmas[] = {0.0, 0.3, 1.0, 2.2, 4.7};
        const auto img = random_image<T>(shape, rng, rng() % 3 == 0);
        xt::xarray<xskan::gaussian_result_t<T>> out;
        for (int rep = 0; rep < 4; ++rep)
        {
            xskan::gaussian_options o;
            o.boundary = modes[rng() % 5];
            o.cval = rng() % 2 ? 0.0 : 0.625;
            o.preserve_range = rng() % 3 == 0;
            o.truncate = rng() % 4 == 0 ? 2.5 : 4.0;
            std::vector<double> sigma(shape.size());
            for (auto& s : sigma) s = sigmas[rng() % 5];
            INFO("shape " << xskan::detail::shape_to_string(shape) << " mode " << static_cast<int>(o.boundary)
                          << " sigma0 " << sigma[0] << " preserve " << o.preserve_range);
            xskan::gaussian_into(img, sigma, out, o, ws);
            REQUIRE(same_bits(out, reference_gaussian(img, sigma, o)));
        }
    }
}  // namespace

TEST_CASE("gaussian (vectorised, fused 2-D rows) == the straightforward scalar passes, bit for bit", "[filters][nd]")
{
    std::mt19937 rng(2024);
    xskan::gaussian_workspace ws;  // one workspace across shapes and types: reuse must not leak state
    const std::vector<std::vector<std::size_t>> shapes = {
        {1}, {7}, {33}, {1, 1}, {1, 9}, {9, 1}, {2, 3}, {5, 17}, {16, 16}, {23, 31}, {40, 3}, {3, 40},
        {61, 77}, {62, 45}, {120, 37}, {4, 5, 6}, {3, 1, 9}, {2, 3, 2, 5}};  // odd/even rows: rows made in pairs
    for (const auto& s : shapes)
    {
        check_against_reference<std::uint8_t>(s, rng, ws);
        check_against_reference<float>(s, rng, ws);
        check_against_reference<double>(s, rng, ws);
        check_against_reference<std::int16_t>(s, rng, ws);
        check_against_reference<bool>(s, rng, ws);
    }
    SECTION("a non-contiguous expression and the allocating form")
    {
        const auto big = random_image<double>({30, 41}, rng);
        const xt::xarray<double> sub = xt::view(big, xt::range(3, 27, 2), xt::range(1, 40, 3));
        xt::xarray<double> out;
        xskan::gaussian_into(xt::view(big, xt::range(3, 27, 2), xt::range(1, 40, 3)), 1.7, out, {}, ws);
        CHECK(same_bits(out, reference_gaussian(sub, {1.7, 1.7}, {})));
        CHECK(same_bits(xskan::gaussian(sub, 1.7), out));
    }
}

TEST_CASE("shape_index of simple surfaces", "[filters][2d]")
{
    // an elliptic bowl x² + 1.2·y² (a "cup"): Hessian diag(2, 2.4)/400 exactly (np.gradient twice is exact
    // on a quadratic in the interior) -> l1 = 2.4/400, l2 = 2/400, s = (2/π)·atan(4.4 / -0.4) < 0
    xt::xarray<double> bowl = xt::xarray<double>::from_shape({21, 21});
    for (std::size_t i = 0; i < 21; ++i)
    {
        for (std::size_t j = 0; j < 21; ++j)
        {
            const double y = static_cast<double>(i) - 10;
            const double x = static_cast<double>(j) - 10;
            bowl(i, j) = (x * x + 1.2 * y * y) / 400.0;
        }
    }
    const double expect = 2.0 / 3.141592653589793 * std::atan(-11.0);
    const auto s = xskan::shape_index(bowl, 0.0);
    CHECK(s(10, 10) == Approx(expect).margin(1e-9));
    const xt::xarray<double> cap = -bowl;
    CHECK(xskan::shape_index(cap, 0.0)(10, 10) == Approx(-expect).margin(1e-9));
    // a flat image: both eigenvalues 0 -> NaN (0/0)
    xt::xarray<double> flat = xt::zeros<double>({5, 5});
    CHECK(std::isnan(xskan::shape_index(flat, 1.0)(2, 2)));
}

TEST_CASE("filters: bad input", "[filters][errors]")
{
    xt::xarray<double> img = xt::ones<double>({4, 5});
    CHECK_THROWS_AS(xskan::gaussian(img, -1.0), std::invalid_argument);
    CHECK_THROWS_AS(xskan::gaussian(img, std::nan("")), std::invalid_argument);
    CHECK_THROWS_AS(xskan::gaussian(img, std::vector<double>{1.0}), std::invalid_argument);
    xskan::gaussian_options o;
    o.boundary = xskan::mode::valid;
    CHECK_THROWS_AS(xskan::gaussian(img, 1.0, o), std::invalid_argument);
    xt::xarray<double> empty = xt::xarray<double>::from_shape({0, 3});
    CHECK_THROWS_AS(xskan::gaussian(empty, 1.0), std::invalid_argument);
    xt::xarray<double> vol = xt::ones<double>({3, 3, 3});
    CHECK_THROWS_AS(xskan::shape_index(vol, 1.0), std::invalid_argument);
    xt::xarray<double> thin = xt::ones<double>({1, 5});
    CHECK_THROWS_AS(xskan::shape_index(thin, 1.0), std::invalid_argument);
    CHECK_THROWS_AS(xskan::gaussian(img, 1e300), std::invalid_argument);
}
