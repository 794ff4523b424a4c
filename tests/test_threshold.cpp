// Local thresholds (mean_std, Sauvola, Niblack), Otsu and skan's threshold():
// goldens from scikit-image 0.19.3 / skan 0.13.1, the fused band path against
// the straightforward full-integral-image path, threads, bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>
#include <xtensor/xmanipulation.hpp>

#include <xskan/threshold.hpp>

#include "golden.hpp"
#include "tiff_strips.hpp"

using xskan_test::golden;
using xskan_test::load_npy;
using xskan_test::read_tiff_u8;

namespace
{
    template <class A, class B>
    void require_close(const A& got, const B& want, double rtol, double atol = 0)
    {
        REQUIRE(got.shape().size() == want.shape().size());
        for (std::size_t a = 0; a < got.shape().size(); ++a)
        {
            REQUIRE(got.shape()[a] == want.shape()[a]);
        }
        std::size_t bad = 0;
        double worst = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
        {
            const double g = static_cast<double>(got.data()[i]);
            const double w = static_cast<double>(want.data()[i]);
            const double err = std::abs(g - w);
            if (!(err <= atol + rtol * std::abs(w)) && !(std::isnan(g) && std::isnan(w)))
            {
                ++bad;
                worst = std::max(worst, err);
            }
        }
        INFO("mismatches: " << bad << " worst abs error " << worst);
        REQUIRE(bad == 0);
    }

    template <class A, class B>
    void require_bitwise(const A& got, const B& want)
    {
        REQUIRE(got.size() == want.size());
        std::size_t bad = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
        {
            const auto g = got.data()[i];
            const auto w = want.data()[i];
            if (!(g == w) && !(std::isnan(static_cast<double>(g)) && std::isnan(static_cast<double>(w))))
            {
                ++bad;
            }
        }
        INFO("values differing: " << bad);
        REQUIRE(bad == 0);
    }

    xt::xarray<double> random_image(std::vector<std::size_t> shape, unsigned seed, double lo = 0, double hi = 1)
    {
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<double> u(lo, hi);
        xt::xarray<double> a = xt::xarray<double>::from_shape(shape);
        for (auto& v : a)
        {
            v = u(rng);
        }
        return a;
    }
}  // namespace

TEST_CASE("Sauvola and Niblack match scikit-image on float64 goldens", "[threshold][golden][2d]")
{
    const auto in_path = golden("C_threshold/rand_f64.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in_path);
    const auto img = load_npy<double>(in_path);
    require_bitwise(xskan::threshold_sauvola(img, 15, 0.2), load_npy<double>(golden("C_threshold/rand_f64_sauvola_w15_k0.2.npy")));
    require_bitwise(xskan::threshold_sauvola(img, 41, 0.5), load_npy<double>(golden("C_threshold/rand_f64_sauvola_w41_k0.5.npy")));
    require_bitwise(xskan::threshold_sauvola(img, 15, 0.2, 0.3),
                    load_npy<double>(golden("C_threshold/rand_f64_sauvola_w15_k0.2_r0.3.npy")));
    require_bitwise(xskan::threshold_sauvola(img, std::vector<std::size_t>{7, 21}, 0.2),
                    load_npy<double>(golden("C_threshold/rand_f64_sauvola_w7x21_k0.2.npy")));
    require_bitwise(xskan::threshold_niblack(img, 15, 0.2), load_npy<double>(golden("C_threshold/rand_f64_niblack_w15_k0.2.npy")));
    require_bitwise(xskan::threshold_niblack(img, 41, 0.5), load_npy<double>(golden("C_threshold/rand_f64_niblack_w41_k0.5.npy")));
}

TEST_CASE("Sauvola and Niblack on uint8 crops (no rescaling, r = 127.5)", "[threshold][golden][2d]")
{
    const auto in_path = golden("C_threshold/retic_crop_u8.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in_path);
    const xt::xarray<std::uint8_t> img = load_npy<std::uint8_t>(in_path);
    auto t = xskan::threshold_sauvola(img, 15, 0.2);
    static_assert(std::is_same<decltype(t)::value_type, double>::value, "uint8 -> double thresholds");
    require_bitwise(t, load_npy<double>(golden("C_threshold/retic_crop_sauvola_w15_k0.2.npy")));
    require_bitwise(xskan::threshold_sauvola(img, 41, 0.5), load_npy<double>(golden("C_threshold/retic_crop_sauvola_w41_k0.5.npy")));
    require_bitwise(xskan::threshold_sauvola(img, 15, 0.2, 64.0),
                    load_npy<double>(golden("C_threshold/retic_crop_sauvola_w15_k0.2_r64.0.npy")));
    require_bitwise(xskan::threshold_niblack(img, 15, 0.2), load_npy<double>(golden("C_threshold/retic_crop_niblack_w15_k0.2.npy")));
    require_bitwise(xskan::threshold_niblack(img, 41, 0.5), load_npy<double>(golden("C_threshold/retic_crop_niblack_w41_k0.5.npy")));
}

TEST_CASE("float32 input gives float32 thresholds equal to scikit-image", "[threshold][golden][2d]")
{
    const auto in_path = golden("C_threshold/rand_f32.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in_path);
    const xt::xarray<float> img = load_npy<float>(in_path);
    auto t = xskan::threshold_sauvola(img, 15, 0.2);
    static_assert(std::is_same<decltype(t)::value_type, float>::value, "float32 -> float32 thresholds");
    require_bitwise(t, load_npy<float>(golden("C_threshold/rand_f32_sauvola_w15_k0.2.npy")));
    require_bitwise(xskan::threshold_niblack(img, 15, 0.2), load_npy<float>(golden("C_threshold/rand_f32_niblack_w15_k0.2.npy")));
}

TEST_CASE("3-D anisotropic windows and windows larger than the image", "[threshold][golden][3d]")
{
    const auto in_path = golden("C_threshold/vol3d_f64.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in_path);
    const auto vol = load_npy<double>(in_path);
    const std::vector<std::size_t> w{3, 5, 7};
    require_bitwise(xskan::threshold_sauvola(vol, w, 0.2), load_npy<double>(golden("C_threshold/vol3d_f64_sauvola_w3x5x7_k0.2.npy")));
    require_bitwise(xskan::threshold_niblack(vol, w, 0.2), load_npy<double>(golden("C_threshold/vol3d_f64_niblack_w3x5x7_k0.2.npy")));

    const auto tiny = load_npy<double>(golden("C_threshold/tiny_f64.npy"));   // 21x25, window 31
    require_bitwise(xskan::threshold_sauvola(tiny, 31, 0.2), load_npy<double>(golden("C_threshold/tiny_f64_sauvola_w31_k0.2.npy")));
    require_bitwise(xskan::threshold_niblack(tiny, 31, 0.2), load_npy<double>(golden("C_threshold/tiny_f64_niblack_w31_k0.2.npy")));
}

TEST_CASE("full-image Sauvola masks of retic.tif and inf1.tif (window 101)", "[threshold][golden][2d]")
{
    const auto stats = xskan_test::read_csv(golden("C_threshold/full_sauvola_stats.csv"));
    for (std::string name : {"retic", "inf1"})
    {
        const auto tif = xskan_test::shared("data/" + name + ".tif");
        XSKAN_REQUIRE_FILE_OR_SKIP(tif);
        const auto img = read_tiff_u8(tif);
        REQUIRE(img.shape()[0] == 1094);
        REQUIRE(img.shape()[1] == 1536);
        const auto want = load_npy<std::uint8_t>(golden("C_threshold/" + name + "_full_sauvola_w101_k0.2_mask.npy"));
        for (std::size_t threads : {1, 2})
        {
            const auto mask = xskan::threshold_sauvola_mask(img, 101, 0.2, std::nullopt, threads);
            require_bitwise(mask, want);
        }
        // the threshold array itself: its exactly rounded sum and extremes
        const auto t = xskan::threshold_sauvola(img, 101, 0.2);
        std::size_t row = name == "retic" ? 0 : 1;
        REQUIRE(stats.str(row, "image") == name + ".tif");
        CHECK(xt::amin(t)() == stats.num(row, "t_min"));
        CHECK(xt::amax(t)() == stats.num(row, "t_max"));
        long double s = 0;
        for (double v : t)
        {
            s += v;
        }
        CHECK(static_cast<double>(s) == Approx(stats.num(row, "t_sum_exact")).epsilon(1e-15));
    }
}

TEST_CASE("fused band path equals the straightforward full-integral-image path", "[threshold][2d][3d][nd]")
{
    std::mt19937 rng(7);
    for (int trial = 0; trial < 40; ++trial)
    {
        const std::size_t nd = 1 + trial % 3;
        std::vector<std::size_t> shape(nd), window(nd);
        for (std::size_t a = 0; a < nd; ++a)
        {
            shape[a] = 1 + rng() % (nd == 3 ? 9 : 23);
            window[a] = 1 + 2 * (rng() % (trial % 4 == 0 ? 20 : 6));   // sometimes far larger than the axis
        }
        const auto img = random_image(shape, 100 + trial, -2, 3);
        const auto ref = xskan::detail::mean_std_full<double>(img.data(), shape, window);
        // the straightforward path over the kernels (integral_image + correlate_sparse) agrees too
        const auto kern = xskan::detail::mean_std_kernels<double>(img.data(), shape, window);
        require_bitwise(kern.m, ref.m);
        require_bitwise(kern.s, ref.s);
        for (std::size_t threads : {1, 2, 3})
        {
            const auto ms = xskan::mean_std(img, window, threads);
            INFO("trial " << trial << " shape " << xskan::detail::shape_to_string(shape) << " window "
                          << xskan::detail::shape_to_string(window) << " threads " << threads);
            require_bitwise(ms.m, ref.m);
            require_bitwise(ms.s, ref.s);
        }
        // masks: fused == image > t
        const auto t = xskan::threshold_sauvola(img, window, 0.3, 0.7);
        const auto mask = xskan::threshold_sauvola_mask(img, window, 0.3, 0.7, 2);
        std::size_t bad = 0;
        for (std::size_t i = 0; i < img.size(); ++i)
        {
            bad += (mask.data()[i] == (img.data()[i] > t.data()[i] ? 1 : 0)) ? 0 : 1;
        }
        CHECK(bad == 0);
    }
}

TEST_CASE("fused mask decides near-ties exactly (flat regions, k = 0, integers, float32)", "[threshold][2d]")
{
    // Flat patches make x == t (k = 0 gives t = m) or s == 0: the fast decision must defer to the exact formula.
    std::mt19937 rng(3);
    xt::xarray<double> img = xt::xarray<double>::from_shape({61, 67});
    for (std::size_t i = 0; i < 61; ++i)
    {
        for (std::size_t j = 0; j < 67; ++j)
        {
            const bool flat = (i / 20 + j / 20) % 2 == 0;
            img(i, j) = flat ? 0.25 * static_cast<double>((i / 20) % 3) : static_cast<double>(rng() % 1000) / 999.0;
        }
    }
    const xt::xarray<std::uint8_t> u8 = xt::cast<std::uint8_t>(img * 255.0);
    const xt::xarray<float> f32 = xt::cast<float>(img);
    auto check = [](const auto& im, std::size_t w, double k, bool sauvola) {
        const auto t = sauvola ? xt::xarray<double>(xt::cast<double>(xskan::threshold_sauvola(im, w, k)))
                               : xt::xarray<double>(xt::cast<double>(xskan::threshold_niblack(im, w, k)));
        const auto mask = sauvola ? xskan::threshold_sauvola_mask(im, w, k, std::nullopt, 2)
                                  : xskan::threshold_niblack_mask(im, w, k, 2);
        using V = typename std::decay_t<decltype(im)>::value_type;
        using F = xskan::detail::float_working_t<V>;
        std::size_t bad = 0;
        for (std::size_t i = 0; i < im.size(); ++i)
        {
            const F tv = static_cast<F>(t.data()[i]);
            bad += mask.data()[i] != (static_cast<F>(im.data()[i]) > tv ? 1 : 0);
        }
        INFO("window " << w << " k " << k << (sauvola ? " sauvola" : " niblack"));
        CHECK(bad == 0);
    };
    for (std::size_t w : {3, 9, 41})
    {
        for (double k : {0.0, 0.2, -0.3})
        {
            for (bool sv : {true, false})
            {
                check(img, w, k, sv);
                check(u8, w, k, sv);
                check(f32, w, k, sv);
            }
        }
    }
}

TEST_CASE("float32 and integer paths equal the straightforward path; 1-pixel images", "[threshold][2d]")
{
    const auto base = random_image({37, 29}, 5, 0, 255);
    const xt::xarray<float> f32 = xt::cast<float>(base);
    const xt::xarray<std::uint8_t> u8 = xt::cast<std::uint8_t>(base);
    const std::vector<std::size_t> shape{37, 29};
    for (std::size_t w : {1, 3, 15, 75})
    {
        const std::vector<std::size_t> win{w, w};
        const auto rf = xskan::detail::mean_std_full<float>(f32.data(), shape, win);
        const auto mf = xskan::mean_std(f32, w, 2);
        require_bitwise(mf.m, rf.m);
        require_bitwise(mf.s, rf.s);
        const auto ru = xskan::detail::mean_std_full<double>(u8.data(), shape, win);
        const auto mu = xskan::mean_std(u8, w, 2);
        require_bitwise(mu.m, ru.m);
        require_bitwise(mu.s, ru.s);
    }
    // a single pixel: the window holds only (reflected) copies of it -> s = 0, t = m (1 - k)
    xt::xarray<double> one = xt::xarray<double>::from_shape({1, 1});
    one(0, 0) = 0.5;
    const auto t = xskan::threshold_sauvola(one, 15, 0.2);
    CHECK(t(0, 0) == Approx(0.5 * 0.8).epsilon(1e-14));
    const auto m1 = xskan::threshold_sauvola_mask(one, 15, 0.2);
    CHECK(m1(0, 0) == 1);
    xt::xarray<std::uint8_t> px = xt::xarray<std::uint8_t>::from_shape({1, 1, 1});
    px(0, 0, 0) = 200;
    CHECK(xskan::threshold_niblack(px, 5, 0.2)(0, 0, 0) == Approx(200.0));
}

TEST_CASE("hand-computed local mean and standard deviation", "[threshold][2d]")
{
    // 1-D: [1, 2, 3, 4], window 3, numpy-reflect padding (edge not repeated):
    // windows (2,1,2) (1,2,3) (2,3,4) (3,4,3)
    xt::xarray<double> a = {1., 2., 3., 4.};
    const auto ms = xskan::mean_std(a, 3);
    CHECK(ms.m(0) == Approx(5.0 / 3));
    CHECK(ms.m(1) == Approx(2.0));
    CHECK(ms.m(3) == Approx(10.0 / 3));
    CHECK(ms.s(1) == Approx(std::sqrt(2.0 / 3)));
    CHECK(ms.s(0) == Approx(std::sqrt(2.0 / 9)));
    // constant image: s == 0 exactly (clipped), Niblack t == m
    xt::xarray<double> c = xt::ones<double>({5, 6}) * 0.25;
    const auto mc = xskan::mean_std(c, 3);
    for (double v : mc.s)
    {
        CHECK(v == 0.0);
    }
    // non-contiguous input (transposed view) gives the same as its copy
    const auto img = random_image({13, 17}, 9);
    const auto tr = xt::transpose(img);
    const xt::xarray<double> trc = tr;
    require_bitwise(xskan::threshold_sauvola(tr, 5, 0.2), xskan::threshold_sauvola(trc, 5, 0.2));
    const auto sl = xt::view(img, xt::range(1, 12, 2), xt::all());
    const xt::xarray<double> slc = sl;
    require_bitwise(xskan::threshold_sauvola_mask(sl, 5, 0.2), xskan::threshold_sauvola_mask(slc, 5, 0.2));
}

TEST_CASE("Otsu matches scikit-image on the raw and fei images", "[threshold][otsu][golden]")
{
    const auto csv_path = golden("D_otsu_gaussian/otsu.csv");
    XSKAN_REQUIRE_FILE_OR_SKIP(csv_path);
    const auto tab = xskan_test::read_csv(csv_path);
    for (std::size_t r = 0; r < tab.size(); ++r)
    {
        const auto name = tab.str(r, "image");
        const auto variant = tab.str(r, "variant");
        const auto img = read_tiff_u8(xskan_test::shared("data/" + name));
        INFO(name << " / " << variant);
        if (variant.rfind("raw", 0) == 0)
        {
            CHECK(xskan::threshold_otsu(img) == tab.num(r, "value"));
        }
        else if (variant.rfind("imageio", 0) == 0)
        {
            const xt::xarray<std::uint8_t> fei = xt::view(img, xt::range(0, 1024), xt::all());
            CHECK(xskan::threshold_otsu(fei) == tab.num(r, "value"));
        }
        else
        {
            const auto sm = xskan::gaussian(img, 2.0);
            CHECK(xskan::threshold_otsu(sm) == Approx(tab.num(r, "value")).epsilon(1e-12));
        }
    }
    // constant image returns its value; two-valued image thresholds at the lower value
    xt::xarray<std::uint8_t> k = xt::ones<std::uint8_t>({3, 3}) * 7;
    CHECK(xskan::threshold_otsu(k) == 7.0);
    xt::xarray<std::int16_t> two = {-5, -5, 9, 9};
    CHECK(xskan::threshold_otsu(two) == -5.0);
    xt::xarray<double> twof = {0.0, 0.0, 1.0, 1.0};
    const double to = xskan::threshold_otsu(twof);
    CHECK(to >= 0.0);
    CHECK(to < 1.0);
}

TEST_CASE("skan-style threshold(): sauvola with offset as k on a smoothed image", "[threshold][golden][2d]")
{
    // skan.pre.threshold(image, sigma, radius, offset) == gaussian -> sauvola(k=offset) -> image > t
    const auto in_path = golden("C_threshold/retic_crop_u8.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in_path);
    const xt::xarray<std::uint8_t> img = load_npy<std::uint8_t>(in_path);
    xskan::threshold_options o;
    o.sigma = 2.0;
    o.radius = 7;
    o.offset = 0.075;
    const auto mask = xskan::threshold(img, o);
    const auto sm = xskan::gaussian(img, 2.0);
    const auto t = xskan::threshold_sauvola(sm, 15, 0.075);
    std::size_t on = 0;
    std::size_t bad = 0;
    for (std::size_t i = 0; i < img.size(); ++i)
    {
        bad += (mask.data()[i] == (sm.data()[i] > t.data()[i] ? 1 : 0)) ? 0 : 1;
        on += mask.data()[i];
    }
    CHECK(bad == 0);
    CHECK(on > 0);
    CHECK(on < img.size());
    // radius 0: Otsu + offset
    o.radius = 0;
    o.sigma = 0;
    o.offset = 0.5;
    const auto g = xskan::threshold(img, o);
    const double to = xskan::threshold_otsu(img) + 0.5;
    bad = 0;
    for (std::size_t i = 0; i < img.size(); ++i)
    {
        bad += (g.data()[i] == (img.data()[i] > to ? 1 : 0)) ? 0 : 1;
    }
    CHECK(bad == 0);
    // niblack through threshold()
    o.radius = 3;
    o.method = xskan::threshold_method::niblack;
    o.offset = 0.3;
    const auto nb = xskan::threshold(img, o);
    const auto tn = xskan::threshold_niblack(img, 7, 0.3);
    bad = 0;
    for (std::size_t i = 0; i < img.size(); ++i)
    {
        bad += (nb.data()[i] == (img.data()[i] > tn.data()[i] ? 1 : 0)) ? 0 : 1;
    }
    CHECK(bad == 0);
}

TEST_CASE("skan pipeline golden: thresholded inf1 crop (sigma 4.7, radius 47, offset 0.075)", "[threshold][golden][2d]")
{
    const auto tif = xskan_test::shared("data/inf1.tif");
    const auto want_path = golden("G_pipeline/inf1/thresholded.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(tif);
    XSKAN_REQUIRE_FILE_OR_SKIP(want_path);
    const auto raw = read_tiff_u8(tif);
    const xt::xarray<std::uint8_t> img = xt::view(raw, xt::range(20, 1004), xt::range(20, 1516));
    xskan::threshold_options o;
    o.sigma = 4.7;
    o.radius = 47;
    o.offset = 0.075;
    o.threads = 2;
    const auto mask = xskan::threshold(img, o);
    const auto want = load_npy<std::uint8_t>(want_path);
    std::size_t diff = 0;
    for (std::size_t i = 0; i < mask.size(); ++i)
    {
        diff += mask.data()[i] != want.data()[i];
    }
    // exact unless a pixel sits within an ulp of its threshold (Gaussian weights may differ by 1 ulp, see filters.hpp)
    CHECK(diff == 0);
    const auto sm = xskan::gaussian(img, 4.7);
    const auto t = xskan::threshold_sauvola(sm, 95, 0.075);
    const xt::xarray<double> tc = xt::view(t, xt::range(100, 228), xt::range(200, 360));
    require_close(tc, load_npy<double>(golden("G_pipeline/inf1/crop_sauvola_t.npy")), 1e-13, 1e-15);
}

TEST_CASE("median method of threshold() over a hyperball", "[threshold][2d]")
{
    // hyperball(2, 1) is the 5-pixel cross; median of a cross with reflect padding
    xt::xarray<double> a = {{1., 2., 3.}, {4., 5., 6.}, {7., 8., 9.}};
    const auto ball = xskan::detail::hyperball_offsets(2, 1);
    CHECK(ball.size() == 5);
    CHECK(xskan::detail::hyperball_offsets(2, 2).size() == 13);
    CHECK(xskan::detail::hyperball_offsets(3, 1).size() == 7);
    xskan::threshold_options o;
    o.radius = 1;
    o.method = xskan::threshold_method::median;
    o.offset = 0.0;
    const auto m = xskan::threshold(a, o);
    // medians: (0,0): {1(up reflect),1(left reflect),1,2,4} -> 1: 1 > 1 false
    // (1,1): {2,4,5,6,8} -> 5: false; (0,2): {3,2,3,3,6} -> 3: false; (2,2): {6,8,9,9,9} -> 9 false
    // (0,1): {2,1,2,3,5} -> 2 false; (1,0): {1,4,4,5,7} -> 4 false; (1,2): {3,5,6,6,9} -> 6 false
    for (auto v : m)
    {
        CHECK(v == 0);
    }
    o.offset = -0.5;
    const auto m2 = xskan::threshold(a, o);
    // (0,0): 1 > 0.5 yes; (2,0): {4,7,7,7,8} median 7, 7 > 6.5 yes; every pixel equals its median here
    for (auto v : m2)
    {
        CHECK(v == 1);
    }
}

TEST_CASE("bad input gives clear exceptions", "[threshold][errors]")
{
    const auto img = random_image({10, 12}, 3);
    CHECK_THROWS_AS(xskan::threshold_sauvola(img, 4), std::invalid_argument);                    // even
    CHECK_THROWS_AS(xskan::threshold_sauvola(img, 0), std::invalid_argument);                    // < 1 (even)
    CHECK_THROWS_AS(xskan::threshold_sauvola(img, std::vector<std::size_t>{3, 3, 3}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::threshold_niblack(img, std::vector<std::size_t>{3}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::threshold_sauvola(img, std::vector<std::size_t>{3, 6}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::threshold_sauvola(img, std::numeric_limits<std::size_t>::max()), std::invalid_argument);
    CHECK_THROWS_WITH(xskan::threshold_sauvola(img, 4), Catch::Contains("odd"));
    CHECK_THROWS_AS(xskan::threshold_sauvola(img, 3, std::nan("")), std::invalid_argument);
    xt::xarray<double> empty = xt::xarray<double>::from_shape({0, 5});
    CHECK_THROWS_AS(xskan::threshold_sauvola(empty, 3), std::invalid_argument);
    CHECK_THROWS_AS(xskan::threshold_sauvola_mask(empty, 3), std::invalid_argument);
    CHECK_THROWS_AS(xskan::threshold_otsu(empty), std::invalid_argument);
    CHECK_THROWS_AS(xskan::mean_std(empty, 3), std::invalid_argument);
    xskan::threshold_options bad;
    bad.sigma = -1;
    CHECK_THROWS_AS(xskan::threshold(img, bad), std::invalid_argument);

    // NaN pixels: Otsu refuses; Sauvola propagates NaN through the running sums exactly
    // like scikit-image (windows whose integral-image corners follow the NaN), the mask is 0 there.
    auto withnan = img;
    withnan(5, 6) = std::nan("");
    CHECK_THROWS_AS(xskan::threshold_otsu(withnan), std::invalid_argument);
    const auto tn = xskan::threshold_sauvola(withnan, 3, 0.2);
    CHECK(std::isnan(tn(5, 6)));
    CHECK(std::isnan(tn(9, 11)));        // after the NaN in memory order
    CHECK(!std::isnan(tn(0, 0)));        // before it
    const auto ref = xskan::detail::mean_std_full<double>(withnan.data(), {10, 12}, {3, 3});
    const auto ms = xskan::mean_std(withnan, 3, 2);
    require_bitwise(ms.m, ref.m);
    const auto mk = xskan::threshold_sauvola_mask(withnan, 3, 0.2, std::nullopt, 2);
    CHECK(mk(9, 11) == 0);

    // 4-D works (any ndim)
    const auto img4 = random_image({3, 4, 5, 6}, 11);
    const auto r4 = xskan::detail::mean_std_full<double>(img4.data(), {3, 4, 5, 6}, {3, 1, 5, 3});
    const auto m4 = xskan::mean_std(img4, std::vector<std::size_t>{3, 1, 5, 3});
    require_bitwise(m4.m, r4.m);
    require_bitwise(m4.s, r4.s);
}

TEST_CASE("large integer values accumulate in double without overflow", "[threshold][errors]")
{
    // uint16 / uint32 near the top of their range: sums of squares overflow 32/64-bit integers
    xt::xarray<std::uint16_t> a = xt::ones<std::uint16_t>({40, 50}) * std::uint16_t(65535);
    a(3, 4) = 0;
    const auto t = xskan::threshold_sauvola(a, 5, 0.2);
    CHECK(t(30, 40) == Approx(65535.0 * (1 + 0.2 * (0.0 / 32767.5 - 1))));
    xt::xarray<std::uint32_t> b = xt::ones<std::uint32_t>({30, 30}) * 4000000000u;
    const auto ms = xskan::mean_std(b, 7);
    CHECK(ms.m(15, 15) == 4e9);
    CHECK(ms.s(15, 15) == 0.0);
    const auto rb = xskan::detail::mean_std_full<double>(b.data(), {30, 30}, {7, 7});
    require_bitwise(ms.m, rb.m);
    require_bitwise(ms.s, rb.s);
    xt::xarray<std::int64_t> c = {{-9000000000000000000LL, 9000000000000000000LL}, {1, 2}};
    const auto mc = xskan::mean_std(c, 1);
    CHECK(mc.m(0, 0) == -9e18);
}

TEST_CASE("8-bit mask path (int32 sums, float32 estimate, exact fallback) equals image > t", "[threshold][2d]")
{
    // Random shapes (widths around the 8/32-pixel blocks), windows larger than the image,
    // anisotropic windows, flat zero / flat saturated / flat mid patches, Sauvola and Niblack,
    // several k and r, 1/2/3 threads; the reference is the exact threshold array.
    std::mt19937 rng(11);
    auto check = [](const auto& img, const std::vector<std::size_t>& win, double k, std::optional<double> r,
                    bool sauvola, std::size_t threads) {
        using V = typename std::decay_t<decltype(img)>::value_type;
        const auto t = sauvola ? xskan::threshold_sauvola(img, win, k, r) : xskan::threshold_niblack(img, win, k);
        const auto mask = sauvola ? xskan::threshold_sauvola_mask(img, win, k, r, threads)
                                  : xskan::threshold_niblack_mask(img, win, k, threads);
        std::size_t bad = 0;
        for (std::size_t i = 0; i < img.size(); ++i)
        {
            bad += mask.data()[i] != (static_cast<double>(static_cast<V>(img.data()[i])) > t.data()[i] ? 1 : 0);
        }
        INFO("shape " << xskan::detail::shape_to_string(img.shape()) << " window " << xskan::detail::shape_to_string(win)
                      << " k " << k << " threads " << threads << (sauvola ? " sauvola" : " niblack"));
        CHECK(bad == 0);
    };
    const std::size_t widths[] = {1, 2, 7, 8, 9, 31, 32, 33, 40, 64, 71, 100};
    for (int trial = 0; trial < 36; ++trial)
    {
        const std::size_t rows = (trial % 6 == 0) ? 1 : 1 + rng() % 50;
        const std::size_t cols = widths[trial % 12];
        const std::vector<std::size_t> win{1 + 2 * (rng() % (trial % 5 == 0 ? 40 : 8)),
                                           1 + 2 * (rng() % (trial % 4 == 0 ? 60 : 10))};
        xt::xarray<std::uint8_t> u8 = xt::xarray<std::uint8_t>::from_shape({rows, cols});
        xt::xarray<std::int8_t> s8 = xt::xarray<std::int8_t>::from_shape({rows, cols});
        const int style = trial % 4;
        for (std::size_t i = 0; i < rows; ++i)
        {
            for (std::size_t j = 0; j < cols; ++j)
            {
                int v = static_cast<int>(rng() % 256);
                const int patch = static_cast<int>((i / 9 + j / 11) % 4);
                if (style == 1 && patch == 0) v = 0;
                if (style == 1 && patch == 1) v = 255;
                if (style == 2 && patch < 2) v = 128 + patch;
                if (style == 3) v = (v % 3 == 0) ? 0 : v % 5;   // mostly dark, many ties
                u8(i, j) = static_cast<std::uint8_t>(v);
                s8(i, j) = static_cast<std::int8_t>(style == 1 && patch == 0 ? 0 : v - 128);
            }
        }
        const double ks[] = {0.2, 0.0, -0.3, 0.5};
        const double k = ks[trial % 4];
        const std::size_t threads = 1 + trial % 3;
        check(u8, win, k, std::nullopt, true, threads);
        check(u8, win, k, std::nullopt, false, threads);
        check(s8, win, k, std::nullopt, true, threads);
        check(s8, win, k, std::nullopt, false, threads);
        check(u8, win, k, 37.0, true, threads);
        check(s8, win, k, 0.5, true, threads);
    }
    // flat images (all ties or all-zero windows), a 1-pixel image, a window above the int32 limit (old path)
    for (int v : {0, 1, 128, 255})
    {
        xt::xarray<std::uint8_t> flat = xt::xarray<std::uint8_t>::from_shape({13, 37});
        flat.fill(static_cast<std::uint8_t>(v));
        for (double k : {0.0, 0.2, -0.2})
        {
            check(flat, {5, 7}, k, std::nullopt, true, 2);
            check(flat, {5, 7}, k, std::nullopt, false, 2);
        }
    }
    xt::xarray<std::uint8_t> px = xt::xarray<std::uint8_t>::from_shape({1, 1});
    px(0, 0) = 7;
    check(px, {15, 15}, 0.2, std::nullopt, true, 1);
    xt::xarray<std::uint8_t> big = xt::xarray<std::uint8_t>::from_shape({5, 40});
    for (auto& v : big) v = static_cast<std::uint8_t>(rng() % 256);
    check(big, {363, 363}, 0.2, std::nullopt, true, 1);   // prod(window) > 131071
    check(big, {361, 363}, 0.2, std::nullopt, true, 2);   // just below the limit
}

TEST_CASE("float64 fused mask decision equals image > t (NaN, inf, ties, narrow rows)", "[threshold][2d]")
{
    // The AVX2 one-pass decision (4 pixels per step, scalar tail) against the exact threshold
    // array: widths 1..13 cover the tail, NaN / inf pixels poison windows, flat patches make
    // ties (k = 0 gives x == t), huge and tiny magnitudes stress the bound.
    std::mt19937 rng(23);
    for (int trial = 0; trial < 30; ++trial)
    {
        const std::size_t rows = 1 + rng() % 20;
        const std::size_t cols = 1 + static_cast<std::size_t>(trial) % 13;
        xt::xarray<double> img = random_image({rows, cols}, 300 + static_cast<unsigned>(trial), -1, 2);
        const double scale = (trial % 5 == 3) ? 1e150 : (trial % 5 == 4) ? 1e-150 : 1.0;
        for (auto& v : img)
        {
            v *= scale;
        }
        if (trial % 3 == 0)
        {
            for (std::size_t i = 0; i < rows; ++i)
            {
                for (std::size_t j = 0; j < cols / 2; ++j)
                {
                    img(i, j) = 0.5 * scale;   // flat patch: ties with k = 0
                }
            }
        }
        if (trial % 4 == 1)
        {
            img(rng() % rows, rng() % cols) = std::nan("");
        }
        if (trial % 7 == 2)
        {
            img(rng() % rows, rng() % cols) = std::numeric_limits<double>::infinity();
        }
        const std::vector<std::size_t> win{1 + 2 * (rng() % 5), 1 + 2 * (rng() % 5)};
        for (double k : {0.0, 0.2, -0.4})
        {
            for (bool sauvola : {true, false})
            {
                const auto t = sauvola ? xskan::threshold_sauvola(img, win, k, 0.8) : xskan::threshold_niblack(img, win, k);
                const auto mask = sauvola ? xskan::threshold_sauvola_mask(img, win, k, 0.8, 1 + trial % 2)
                                          : xskan::threshold_niblack_mask(img, win, k, 1 + trial % 2);
                std::size_t bad = 0;
                for (std::size_t i = 0; i < img.size(); ++i)
                {
                    bad += mask.data()[i] != (img.data()[i] > t.data()[i] ? 1 : 0);
                }
                INFO("trial " << trial << " k " << k << (sauvola ? " sauvola" : " niblack"));
                CHECK(bad == 0);
            }
        }
    }
}

TEST_CASE("float64 Sauvola mask from estimated window sums equals image > t (adversarial inputs)", "[threshold][2d]")
{
    // detail/threshold_f64_mask.hpp decides from non-sequential window sums with a rigorous
    // error bound and falls back to scikit-image's exact sums; it must equal the threshold
    // array path bit for bit on ties (flat patches with k -> t == x), quantised values, huge
    // and tiny magnitudes, negative values (m <= 0), large early rows (cancellation in the
    // column sums), NaN / inf, 1-pixel and 1-row images and windows larger than the image.
    std::mt19937 rng(61);
    std::size_t decided = 0;
    std::size_t total = 0;
    for (int trial = 0; trial < 48; ++trial)
    {
        const std::size_t rows = 1 + rng() % 40;
        const std::size_t cols = 1 + rng() % 70;
        const int kind = trial % 8;
        xt::xarray<double> img = random_image({rows, cols}, 900 + static_cast<unsigned>(trial), 0, 1);
        for (auto& v : img)
        {
            switch (kind)
            {
                case 1: v = std::floor(v * 256) / 255; break;       // quantised, many exact ties
                case 2: v = v * 1e100; break;
                case 3: v = v * 1e-150; break;
                case 4: v = v - 0.6; break;                         // negative means
                case 6: v = std::floor(v * 4) * 0.25; break;        // few levels, flat windows
                default: break;
            }
        }
        if (kind == 5 && rows > 2)
        {
            for (std::size_t j = 0; j < cols; ++j)
            {
                img(0, j) = 1e9;   // huge first row: cancellation in c_lead - c_trail
                img(1, j) = -3e8;
            }
        }
        if (kind == 0 || kind == 6)
        {
            for (std::size_t i = 0; i < rows / 2; ++i)
            {
                for (std::size_t j = 0; j < cols; ++j)
                {
                    img(i, j) = 0.375;   // flat patch
                }
            }
        }
        if (kind == 7)
        {
            img(rng() % rows, rng() % cols) = (trial % 16 == 7) ? std::nan("") : std::numeric_limits<double>::infinity();
        }
        const std::size_t w0 = 1 + 2 * (rng() % 12);
        const std::size_t w1 = 1 + 2 * (rng() % 25);
        const std::vector<std::size_t> win{w0, w1};
        for (double k : {0.2, 0.5, 1e-9})
        {
            for (double r : {1.0, 0.05})
            {
                const auto t = xskan::threshold_sauvola(img, win, k, r);
                const auto g = xskan::detail::make_box_geometry({rows, cols}, win);
                const auto p = xskan::detail::make_local_params<double, double>(xskan::detail::local_formula::sauvola,
                                                                               g, k, r);
                INFO("trial " << trial << " shape " << rows << "x" << cols << " window " << w0 << "x" << w1
                              << " k " << k << " r " << r);
                for (std::size_t threads : {1, 3})
                {
                    std::vector<std::uint8_t> mask(img.size(), 7);
#if defined(__AVX2__)
                    REQUIRE(xskan::detail::f64_mask_applies(g, p));
                    const std::size_t fb = xskan::detail::f64_sauvola_mask_into(img.data(), g, p, threads, mask.data());
                    if (threads == 1)
                    {
                        decided += img.size() - fb;
                        total += img.size();
                    }
#else
                    xskan::threshold_sauvola_mask_into(img.data(), {rows, cols}, mask.data(), win, k, r, threads);
#endif
                    std::size_t bad = 0;
                    for (std::size_t i = 0; i < img.size(); ++i)
                    {
                        bad += mask[i] != (img.data()[i] > t.data()[i] ? 1 : 0);
                    }
                    CHECK(bad == 0);
                }
                const auto pub = xskan::threshold_sauvola_mask(img, win, k, r, 2);
                std::size_t bad = 0;
                for (std::size_t i = 0; i < img.size(); ++i)
                {
                    bad += pub.data()[i] != (img.data()[i] > t.data()[i] ? 1 : 0);
                }
                CHECK(bad == 0);
            }
        }
    }
#if defined(__AVX2__)
    INFO("decided without the exact sums: " << decided << " of " << total);
    CHECK(decided > 0);
    // on an ordinary image the estimate must decide nearly every pixel (else the path is pointless)
    xt::xarray<double> img = random_image({150, 260}, 77, 0, 1);
    for (auto& v : img)
    {
        v = std::floor(v * 256) / 255;
    }
    const std::vector<std::size_t> win{31, 41};
    const auto g = xskan::detail::make_box_geometry({150, 260}, win);
    const auto p = xskan::detail::make_local_params<double, double>(xskan::detail::local_formula::sauvola, g, 0.2, 1.0);
    std::vector<std::uint8_t> mask(img.size());
    const std::size_t fb = xskan::detail::f64_sauvola_mask_into(img.data(), g, p, 1, mask.data());
    CHECK(fb * 1000 < img.size());
    {
        // pixels pulled onto their own threshold (fixed-point iteration): ties at the rounding level
        xt::xarray<double> tie = random_image({60, 90}, 78, 0, 1);
        const std::vector<std::size_t> tw{9, 11};
        for (int it = 0; it < 14; ++it)
        {
            // isolated pixels (farther apart than the window), so each converges on its own
            const auto tt = xskan::threshold_sauvola(tie, tw, 0.3, 0.5);
            for (std::size_t i = 3; i < 60; i += 10)
            {
                for (std::size_t j = 2; j < 90; j += 12)
                {
                    tie(i, j) = tt(i, j);
                }
            }
        }
        const auto gt = xskan::detail::make_box_geometry({60, 90}, tw);
        const auto pt = xskan::detail::make_local_params<double, double>(xskan::detail::local_formula::sauvola, gt, 0.3, 0.5);
        std::vector<std::uint8_t> tmask(tie.size());
        const std::size_t tfb = xskan::detail::f64_sauvola_mask_into(tie.data(), gt, pt, 2, tmask.data());
        const auto tt = xskan::threshold_sauvola(tie, tw, 0.3, 0.5);
        std::size_t tbad = 0;
        for (std::size_t i = 0; i < tie.size(); ++i)
        {
            tbad += tmask[i] != (tie.data()[i] > tt.data()[i] ? 1 : 0);
        }
        INFO("near-tie pixels sent to the exact sums: " << tfb);
        CHECK(tfb > 0);
        CHECK(tbad == 0);
    }
    const auto t = xskan::threshold_sauvola(img, win, 0.2, 1.0);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < img.size(); ++i)
    {
        bad += mask[i] != (img.data()[i] > t.data()[i] ? 1 : 0);
    }
    CHECK(bad == 0);
#endif
}

TEST_CASE("float64 Sauvola mask: float32 decision stage, its double and exact fallbacks", "[threshold][2d]")
{
#if defined(__AVX2__)
    // The float32 stage decides 8 pixels at once from the double window sums; its thresholds
    // are widened by the float/double deviation bound, so it may only decide what the double
    // stage would. Scales around float32's underflow (squares below 1e-38) and overflow
    // guard (|x| ~ 1e18: the stage is switched off per row) and pixels pulled onto their
    // threshold, exactly or 1e-9 off (undecided in float32; decided in double or exact; on odd and
    // even rows, i.e. both rows of a row pair, whose first row rebuilds its exact column sums
    // from the previous state plus its own rows) must all give `image > t` bit for bit.
    std::size_t f32_undecided = 0;
    std::size_t exact = 0;
    std::size_t pixels = 0;
    int trial = 0;
    for (double scale : {1.0, 1e-22, 1e-19, 1e12, 1e17, 3e18})
    {
        for (int tie : {0, 1, 2})
        {
            ++trial;
            const std::size_t rows = 30 + static_cast<std::size_t>(trial % 5);
            const std::size_t cols = 41 + static_cast<std::size_t>(7 * trial % 30);
            const std::vector<std::size_t> win{7, static_cast<std::size_t>(5 + 2 * (trial % 4))};
            xt::xarray<double> img = random_image({rows, cols}, 3000 + static_cast<unsigned>(trial), 0, 1);
            for (auto& v : img)
            {
                v = std::floor(v * 256) / 255 * scale;
            }
            // k = 1: 1 − k = 0; r = 1e39: k/r below float32's normal range (stage off)
            const double k = trial % 3 == 0 ? 1.0 : 0.3;
            const double r = trial % 7 == 0 ? 1e39 : 0.5 * scale;
            if (tie)
            {
                for (int it = 0; it < 12; ++it)
                {
                    const auto tt = xskan::threshold_sauvola(img, win, k, r);
                    for (std::size_t i = 1; i < rows; i += 9)
                    {
                        for (std::size_t j = 1; j < cols; j += 6)
                        {
                            img(i, j) = tt(i, j);
                        }
                    }
                }
                if (tie == 2)
                {
                    // near ties: 1e-9 relative off the threshold (float32 cannot tell, double can)
                    for (std::size_t i = 1; i < rows; i += 9)
                    {
                        for (std::size_t j = 1; j < cols; j += 6)
                        {
                            img(i, j) *= (i + j) % 2 ? 1 + 1e-9 : 1 - 1e-9;
                        }
                    }
                }
            }
            const auto t = xskan::threshold_sauvola(img, win, k, r);
            const auto g = xskan::detail::make_box_geometry({rows, cols}, win);
            const auto p = xskan::detail::make_local_params<double, double>(xskan::detail::local_formula::sauvola, g, k, r);
            REQUIRE(xskan::detail::f64_mask_applies(g, p));
            for (std::size_t threads : {1, 2})
            {
                std::vector<std::uint8_t> mask(img.size(), 7);
                xskan::detail::f64_mask_stats st;
                const std::size_t fb = xskan::detail::f64_sauvola_mask_into(img.data(), g, p, threads, mask.data(), &st);
                CHECK(fb == st.exact);
                std::size_t bad = 0;
                for (std::size_t q = 0; q < img.size(); ++q)
                {
                    bad += mask[q] != (img.data()[q] > t.data()[q] ? 1 : 0);
                }
                INFO("scale " << scale << " tie " << tie << " threads " << threads);
                CHECK(bad == 0);
                if (threads == 1 && scale == 1.0)
                {
                    f32_undecided += st.f32_undecided;
                    exact += st.f32_exact;
                    CHECK(st.f32_exact <= st.exact);
                    pixels += img.size();
                }
            }
        }
    }
    INFO("float32-undecided " << f32_undecided << ", of those exact " << exact << ", pixels " << pixels);
    CHECK(f32_undecided > exact);          // the double stage decided some float32-undecided pixels
    CHECK(exact > 0);                      // and some went on to the exact sums
    CHECK(f32_undecided * 20 < pixels);    // the float32 stage decides nearly everything
#endif
}

TEST_CASE("float64 Sauvola mask: band starts rebuild the column sums several rows per pass", "[threshold][2d]")
{
#if defined(__AVX2__)
    // Every band after the first rebuilds numpy's column sums of the rows above it, up to four
    // rows per pass over the sums (plus a remainder). Heights and window heights cover every
    // remainder of the rebuilt row counts; pixels pulled onto their threshold in every row make
    // the exact fallback (which reads the rebuilt sums) run near and on band boundaries; a huge
    // first row makes the column sums cancel. 1, 2 and 3 threads must give the same mask, equal
    // to `image > t`.
    std::size_t exact = 0;
    int trial = 0;
    for (std::size_t rows : {9, 14, 23})
    {
        for (std::size_t w0 : {1, 3, 5, 9})
        {
            ++trial;
            const std::size_t cols = 19 + static_cast<std::size_t>(5 * trial % 17);
            const std::vector<std::size_t> win{w0, 7};
            xt::xarray<double> img = random_image({rows, cols}, 5100 + static_cast<unsigned>(trial), 0, 1);
            for (auto& v : img)
            {
                v = std::floor(v * 256) / 255;
            }
            if (trial % 3 == 0)
            {
                for (std::size_t j = 0; j < cols; ++j)
                {
                    img(0, j) = 1e8;
                }
            }
            for (int it = 0; it < 10; ++it)
            {
                const auto tt = xskan::threshold_sauvola(img, win, 0.3, 0.5);
                for (std::size_t i = 1; i < rows; ++i)
                {
                    for (std::size_t j = (i * 3) % 8; j < cols; j += 8)
                    {
                        img(i, j) = tt(i, j);
                    }
                }
            }
            const auto t = xskan::threshold_sauvola(img, win, 0.3, 0.5);
            const auto g = xskan::detail::make_box_geometry({rows, cols}, win);
            const auto p = xskan::detail::make_local_params<double, double>(xskan::detail::local_formula::sauvola, g, 0.3, 0.5);
            REQUIRE(xskan::detail::f64_mask_applies(g, p));
            std::vector<std::uint8_t> first;
            for (std::size_t threads : {1, 2, 3})
            {
                std::vector<std::uint8_t> mask(img.size(), 7);
                exact += xskan::detail::f64_sauvola_mask_into(img.data(), g, p, threads, mask.data());
                std::size_t bad = 0;
                for (std::size_t q = 0; q < img.size(); ++q)
                {
                    bad += mask[q] != (img.data()[q] > t.data()[q] ? 1 : 0);
                }
                INFO("rows " << rows << " window " << w0 << " threads " << threads);
                CHECK(bad == 0);
                if (threads == 1)
                {
                    first = mask;
                }
                CHECK(mask == first);
            }
        }
    }
    INFO("pixels decided by the exact sums: " << exact);
    CHECK(exact > 0);
#endif
}
