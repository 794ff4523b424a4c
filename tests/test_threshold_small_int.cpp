// The 8-bit Sauvola / Niblack mask path (detail/threshold_small_int.hpp: exact int32 window
// sums, sqrt-free float32 decision with an error bound, exact float64 fallback) against the
// straightforward `image > threshold_*(image)` on random and adversarial images; uint16 /
// int16 images (other paths) with the same checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include <xtensor/xarray.hpp>

#include <xskan/threshold.hpp>

namespace
{
    template <class V>
    std::size_t mismatches(const xt::xarray<V>& img, const std::vector<std::size_t>& win, double k,
                           std::optional<double> r, bool sauvola, std::size_t threads)
    {
        const auto t = sauvola ? xskan::threshold_sauvola(img, win, k, r) : xskan::threshold_niblack(img, win, k);
        const auto mask = sauvola ? xskan::threshold_sauvola_mask(img, win, k, r, threads)
                                  : xskan::threshold_niblack_mask(img, win, k, threads);
        std::size_t bad = 0;
        for (std::size_t i = 0; i < img.size(); ++i)
        {
            bad += mask.data()[i] != (static_cast<double>(img.data()[i]) > t.data()[i] ? 1 : 0);
        }
        return bad;
    }

    template <class V>
    void check(const xt::xarray<V>& img, const std::vector<std::size_t>& win, double k, std::optional<double> r,
               bool sauvola, std::size_t threads)
    {
        INFO("shape " << img.shape()[0] << "x" << img.shape()[1] << " window " << win[0] << "x" << win[1] << " k "
                      << k << " r " << (r ? *r : -1.0) << " threads " << threads << (sauvola ? " sauvola" : " niblack"));
        CHECK(mismatches(img, win, k, r, sauvola, threads) == 0);
    }

    // exact float64 local mean and std of pixel (i, j) with numpy's reflect padding (brute force)
    template <class V>
    void local_mean_std(const xt::xarray<V>& img, std::size_t i, std::size_t j, std::size_t w, double& m, double& s)
    {
        const auto rows = static_cast<long>(img.shape()[0]);
        const auto cols = static_cast<long>(img.shape()[1]);
        auto reflect = [](long p, long n) {
            if (n == 1)
            {
                return 0L;
            }
            const long period = 2 * (n - 1);
            p = ((p % period) + period) % period;
            return p < n ? p : period - p;
        };
        const long h = static_cast<long>(w / 2);
        double s1 = 0;
        double s2 = 0;
        for (long di = -h; di <= h; ++di)
        {
            for (long dj = -h; dj <= h; ++dj)
            {
                const double x = static_cast<double>(
                    img(static_cast<std::size_t>(reflect(static_cast<long>(i) + di, rows)),
                        static_cast<std::size_t>(reflect(static_cast<long>(j) + dj, cols))));
                s1 += x;
                s2 += x * x;
            }
        }
        const double W = static_cast<double>(w * w);
        m = s1 / W;
        s = std::sqrt(std::max(s2 / W - m * m, 0.0));
    }

    template <class V>
    xt::xarray<V> random_image(std::mt19937& rng, std::size_t rows, std::size_t cols, int style, int lo, int hi)
    {
        xt::xarray<V> img = xt::xarray<V>::from_shape({rows, cols});
        const int span = hi - lo + 1;
        for (std::size_t i = 0; i < rows; ++i)
        {
            for (std::size_t j = 0; j < cols; ++j)
            {
                int v = lo + static_cast<int>(rng() % static_cast<unsigned>(span));
                const int patch = static_cast<int>((i / 7 + j / 13) % 4);
                if (style == 1 && patch == 0) v = 0;               // zero windows
                if (style == 1 && patch == 1) v = hi;              // saturated
                if (style == 2) v = lo + (v - lo) % 3;             // three levels: many equal sums
                if (style == 3 && patch < 2) v = (lo + hi) / 2 + patch;
                img(i, j) = static_cast<V>(v);
            }
        }
        return img;
    }
}

TEST_CASE("8-bit mask: random shapes, windows, k, r and threads equal image > t", "[threshold][small_int]")
{
    std::mt19937 rng(2024);
    const std::size_t widths[] = {1, 3, 8, 15, 16, 17, 33, 47, 64, 95};
    for (int trial = 0; trial < 30; ++trial)
    {
        const std::size_t rows = (trial % 7 == 0) ? 1 : 1 + rng() % 40;
        const std::size_t cols = widths[trial % 10];
        // mostly windows below the width (fused sweep), some larger than the image
        const std::size_t wmax = (trial % 5 == 0) ? 70 : 20;
        const std::vector<std::size_t> win{1 + 2 * (rng() % wmax), 1 + 2 * (rng() % wmax)};
        const int style = trial % 4;
        const auto u8 = random_image<std::uint8_t>(rng, rows, cols, style, 0, 255);
        const auto s8 = random_image<std::int8_t>(rng, rows, cols, style, -128, 127);
        const double ks[] = {0.2, 0.0, -0.25, 0.5, 1.0, 3.0};
        const double k = ks[trial % 6];
        const std::size_t threads = 1 + trial % 3;
        for (const bool sauvola : {true, false})
        {
            check(u8, win, k, std::nullopt, sauvola, threads);
            check(s8, win, k, std::nullopt, sauvola, threads);
        }
        check(u8, win, k, 3.0, true, threads);     // explicit r, also negative
        check(s8, win, k, -40.0, true, threads);
    }
}

TEST_CASE("8-bit mask: thresholds placed on the pixel values (near-ties) are decided exactly",
          "[threshold][small_int]")
{
    // r chosen per probe pixel so that t = m (1 + k (s / r - 1)) equals the pixel value up to
    // float64 rounding: the float32 stage must send it to the exact path (or decide it right).
    std::mt19937 rng(7);
    for (int trial = 0; trial < 12; ++trial)
    {
        const std::size_t rows = 20 + rng() % 15;
        const std::size_t cols = 30 + rng() % 40;
        const std::size_t w = 3 + 2 * (rng() % 6);
        const auto img = random_image<std::uint8_t>(rng, rows, cols, trial % 2 ? 2 : 0, 0, 255);
        // a random probe pixel: its value x and exact local mean m and std s
        double x = 0;
        double m = 0;
        double s = 0;
        auto next_probe = [&] {
            const std::size_t i = rng() % rows;
            const std::size_t j = rng() % cols;
            local_mean_std(img, i, j, w, m, s);
            x = static_cast<double>(img(i, j));
        };
        for (int probe = 0; probe < 4; ++probe)
        {
            next_probe();
            const double k = 0.2 + 0.1 * probe;
            const double q = (x / m - 1) / k + 1;   // s / r for t == x
            if (!(m > 0) || !(s > 0) || !(q > 0) || !std::isfinite(q))
            {
                continue;
            }
            const double r = s / q;
            check(img, {w, w}, k, r, true, 1 + static_cast<std::size_t>(probe % 2));
            check(img, {w, w}, k, std::nextafter(r, 0.0), true, 1);
            check(img, {w, w}, k, std::nextafter(r, 1e300), true, 2);
        }
        // Niblack: k = (m - x) / s puts t = m - k s on x
        for (int probe = 0; probe < 3; ++probe)
        {
            next_probe();
            if (!(s > 0))
            {
                continue;
            }
            const double k = (m - x) / s;
            check(img, {w, w}, k, std::nullopt, false, 1);
            check(img, {w, w}, std::nextafter(k, 1e300), std::nullopt, false, 3);
        }
    }
}

TEST_CASE("8-bit mask: flat, two-level and tiny images, k = 0 and k = 1", "[threshold][small_int]")
{
    for (int v : {0, 1, 127, 128, 254, 255})
    {
        xt::xarray<std::uint8_t> flat = xt::xarray<std::uint8_t>::from_shape({11, 41});
        flat.fill(static_cast<std::uint8_t>(v));
        xt::xarray<std::int8_t> sflat = xt::xarray<std::int8_t>::from_shape({11, 41});
        sflat.fill(static_cast<std::int8_t>(v - 128));
        for (double k : {0.0, 0.2, 1.0, -0.2})
        {
            check(flat, {5, 9}, k, std::nullopt, true, 1);
            check(flat, {3, 17}, k, std::nullopt, false, 2);
            check(sflat, {5, 9}, k, std::nullopt, true, 3);
            check(sflat, {5, 9}, k, std::nullopt, false, 1);
        }
    }
    // two levels in stripes: windows with exactly representable means and stds
    xt::xarray<std::uint8_t> stripes = xt::xarray<std::uint8_t>::from_shape({16, 48});
    for (std::size_t i = 0; i < 16; ++i)
    {
        for (std::size_t j = 0; j < 48; ++j)
        {
            stripes(i, j) = static_cast<std::uint8_t>((j / 2) % 2 ? 200 : 100);
        }
    }
    for (double r : {50.0, 25.0, 127.5})
    {
        for (double k : {0.2, 0.5, 1.0})
        {
            check(stripes, {3, 3}, k, r, true, 1);
            check(stripes, {1, 9}, k, r, true, 2);
            check(stripes, {5, 15}, k, r, true, 1);
        }
    }
    xt::xarray<std::uint8_t> px = xt::xarray<std::uint8_t>::from_shape({1, 1});
    px(0, 0) = 9;
    check(px, {1, 1}, 0.2, std::nullopt, true, 1);
    check(px, {31, 31}, 0.2, std::nullopt, false, 2);
}

TEST_CASE("uint16 and int16 masks equal image > t", "[threshold][small_int]")
{
    std::mt19937 rng(99);
    for (int trial = 0; trial < 6; ++trial)
    {
        const std::size_t rows = 1 + rng() % 30;
        const std::size_t cols = 1 + rng() % 60;
        const std::vector<std::size_t> win{1 + 2 * (rng() % 12), 1 + 2 * (rng() % 12)};
        const auto u16 = random_image<std::uint16_t>(rng, rows, cols, trial % 4, 0, 65535);
        const auto s16 = random_image<std::int16_t>(rng, rows, cols, trial % 4, -32768, 32767);
        const double k = trial % 2 ? 0.2 : -0.1;
        check(u16, win, k, std::nullopt, true, 1 + trial % 3);
        check(u16, win, k, std::nullopt, false, 2);
        check(s16, win, k, std::nullopt, true, 1 + trial % 2);
        check(s16, win, k, 1000.0, true, 3);
    }
}
