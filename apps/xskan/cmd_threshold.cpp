// xskan threshold / skeletonize.
#include <cstdio>
#include <string>

#include <xtensor/xarray.hpp>

#include <xskan/filters.hpp>
#include <xskan/io/npy.hpp>
#include <xskan/skeletonize.hpp>
#include <xskan/threshold.hpp>

#include "commands.hpp"
#include "common.hpp"

namespace xskan_cli
{
    namespace
    {
        template <class T, class U>
        xt::xarray<std::uint8_t> greater_mask(const T* img, const U* t, const std::vector<std::size_t>& shape)
        {
            xt::xarray<std::uint8_t> m = xt::xarray<std::uint8_t>::from_shape(shape);
            const std::size_t n = m.size();
            for (std::size_t i = 0; i < n; ++i)
            {
                m.data()[i] = img[i] > t[i] ? 1 : 0;
            }
            return m;
        }

        template <class T>
        void threshold_typed(const xt::xarray<T>& image, const threshold_args& a, std::size_t window)
        {
            const std::vector<std::size_t> shape(image.shape().begin(), image.shape().end());
            const bool save_t = !a.save_threshold.empty();
            const double k = a.k ? *a.k : (a.offset_given ? a.offset : 0.2);
            if (a.method == "sauvola" || a.method == "niblack")
            {
                const std::vector<std::size_t> w(shape.size(), window);
                if (save_t)
                {
                    auto t = a.method == "sauvola" ? xskan::threshold_sauvola(image, w, k, a.r, a.threads)
                                                   : xskan::threshold_niblack(image, w, k, a.threads);
                    xskan::io::save_npy(a.save_threshold, t);
                    xskan::io::save_npy(a.output, greater_mask(image.data(), t.data(), shape));
                    return;
                }
                xskan::io::save_npy(a.output, a.method == "sauvola"
                                                  ? xskan::threshold_sauvola_mask(image, w, k, a.r, a.threads)
                                                  : xskan::threshold_niblack_mask(image, w, k, a.threads));
                return;
            }
            if (a.method == "otsu")
            {
                const double t = xskan::threshold_otsu(image) + a.offset;
                xt::xarray<std::uint8_t> m = xt::xarray<std::uint8_t>::from_shape(shape);
                for (std::size_t i = 0; i < m.size(); ++i)
                {
                    m.data()[i] = static_cast<double>(image.data()[i]) > t ? 1 : 0;
                }
                if (save_t)
                {
                    xt::xarray<double> tt = xt::xarray<double>::from_shape(std::vector<std::size_t>{});
                    tt() = t;
                    xskan::io::save_npy(a.save_threshold, tt);
                }
                xskan::io::save_npy(a.output, m);
                return;
            }
            // median: skan.pre.threshold's ball median (smoothing already applied by the caller)
            xskan::threshold_options o;
            o.radius = window / 2;
            o.offset = a.offset;
            o.method = xskan::threshold_method::median;
            o.threads = a.threads;
            xskan::io::save_npy(a.output, xskan::threshold(image, o));
        }
    }  // namespace

    int run_threshold(const threshold_args& a)
    {
        if (a.method == "median" && !a.radius)
        {
            throw cli_error("--method median needs --radius (the ball radius in pixels)");
        }
        if (a.method == "median" && !a.save_threshold.empty())
        {
            throw cli_error("--save-threshold is not available with --method median");
        }
        if (a.r && a.method != "sauvola")
        {
            throw cli_error("--r only applies to --method sauvola");
        }
        if (!(a.sigma >= 0) || !std::isfinite(a.sigma))
        {
            throw cli_error("--sigma must be a finite number >= 0");
        }
        std::size_t window = 15;
        if (a.window)
        {
            if (*a.window % 2 == 0 || *a.window == 0)
            {
                throw cli_error("--window must be a positive odd number of pixels (got " + std::to_string(*a.window) + ")");
            }
            window = *a.window;
        }
        else if (a.radius)
        {
            window = 2 * *a.radius + 1;
        }
        const auto img = read_input(a.input, a.fei);
        auto run = [&](const auto& image) {
            if (a.sigma > 0)
            {
                auto smoothed = xskan::gaussian(image, a.sigma);
                threshold_typed(smoothed, a, window);
            }
            else
            {
                threshold_typed(image, a, window);
            }
            return 0;
        };
        try
        {
            return dispatch_gray(img, run);
        }
        catch (const std::invalid_argument& e)
        {
            throw cli_error("'" + a.input + "': " + e.what());
        }
    }

    int run_skeletonize(const skeletonize_args& a)
    {
        const auto img = read_input(a.input);
        const auto method = a.method == "lee" ? xskan::skeleton_method::lee : xskan::skeleton_method::zhang;
        xskan::skeletonize_options o;
        o.method = method;
        o.threads = a.threads;
        try
        {
            auto skel = dispatch_gray(img, [&](const auto& mask) { return xskan::skeletonize(mask, o); });
            if (method == xskan::skeleton_method::lee)
            {
                // scikit-image: img_as_ubyte(input) thinned, times the maximum of the converted input
                // (bool -> 255, uint8 -> its maximum); other dtypes: 0/1.
                std::uint8_t scale = 1;
                if (img.type == xskan::io::dtype::bool_)
                {
                    scale = 255;
                }
                else if (img.type == xskan::io::dtype::uint8)
                {
                    const auto& m = img.get<std::uint8_t>();
                    scale = m.size() ? *std::max_element(m.begin(), m.end()) : 1;
                }
                if (scale != 1)
                {
                    for (auto& v : skel)
                    {
                        v = static_cast<std::uint8_t>(v * scale);
                    }
                }
            }
            xskan::io::save_npy(a.output, skel);
        }
        catch (const std::invalid_argument& e)
        {
            throw cli_error("'" + a.input + "': " + e.what());
        }
        return 0;
    }
}  // namespace xskan_cli
