/**
 * @file overlay.hpp
 * @brief Overlay PNG of the analyze command: the image in gray, skeleton
 *        pixels coloured per branch through matplotlib's viridis.
 */
#ifndef XSKAN_APPS_OVERLAY_HPP
#define XSKAN_APPS_OVERLAY_HPP

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>

#include <xskan/skeleton.hpp>

#include "colormap.hpp"

namespace xskan_cli
{
    /// Gray level of an image sample for display (uint8 as is, uint16 >> 8, float: clip(x, 0, 1) * 255 rounded).
    template <class T>
    std::uint8_t display_gray(T v) noexcept
    {
        if constexpr (std::is_same_v<T, std::uint8_t>)
        {
            return v;
        }
        else if constexpr (std::is_same_v<T, std::uint16_t>)
        {
            return static_cast<std::uint8_t>(v >> 8);
        }
        else
        {
            const double x = static_cast<double>(v);
            if (!(x > 0)) return 0;
            if (x >= 1) return 255;
            return static_cast<std::uint8_t>(std::lround(x * 255.0));
        }
    }

    /**
     * @brief Colours of the branches for values `v` like skan's
     *        `overlay_euclidean_skeleton_2d`: `get_cmap('viridis', min(#unique, 256))`
     *        applied to `(v - min) / (max - min)`. When every value is equal
     *        (matplotlib would get NaN and draw nothing) the first colour is used.
     */
    inline std::vector<rgb8> branch_colors(const std::vector<double>& v)
    {
        std::vector<rgb8> out(v.size());
        if (v.empty())
        {
            return out;
        }
        double lo = INFINITY, hi = -INFINITY;
        std::set<double> uniq;
        for (double x : v)
        {
            if (std::isnan(x)) continue;
            lo = std::min(lo, x);
            hi = std::max(hi, x);
            if (uniq.size() <= 256) uniq.insert(x);
        }
        const std::size_t n = std::max<std::size_t>(1, std::min<std::size_t>(uniq.size(), 256));
        const bool finite_range = std::isfinite(lo) && std::isfinite(hi) && hi > lo;
        for (std::size_t i = 0; i < v.size(); ++i)
        {
            const double x = finite_range ? (v[i] - lo) / (hi - lo) : (std::isnan(v[i]) ? NAN : 0.0);
            out[i] = viridis(x, n);
        }
        return out;
    }

    /**
     * @brief RGB overlay into `o` (rows x cols pixels of 3 bytes, row r at o + r·stride; e.g.
     *        the PNG scanlines of xskan::io::png_scanlines, so the overlay is never copied):
     *        `image` (2D) in gray, every pixel of path i painted with colors[i] (paths in order,
     *        so a junction shared by several paths gets the last one's colour).
     *        (A palette PNG would compress faster, but scikit-image reads it back as RGBA.)
     */
    template <class T>
    void make_overlay(const T* image, std::size_t rows, std::size_t cols, const xskan::skeleton& skel,
                      const std::vector<rgb8>& colors, std::uint8_t* o, std::size_t stride)
    {
        for (std::size_t r = 0; r < rows; ++r)
        {
            const T* in = image + r * cols;
            std::uint8_t* d = o + r * stride;
            for (std::size_t j = 0; j < cols; ++j)
            {
                const std::uint8_t g = display_gray(in[j]);
                d[3 * j] = g;
                d[3 * j + 1] = g;
                d[3 * j + 2] = g;
            }
        }
        const auto& indptr = skel.paths_indptr();
        const auto& indices = skel.paths_indices();
        const auto& coords = skel.coordinates();
        for (std::size_t p = 0; p + 1 < indptr.size() && p < colors.size(); ++p)
        {
            for (auto k = indptr[p]; k < indptr[p + 1]; ++k)
            {
                const auto node = static_cast<std::size_t>(indices[static_cast<std::size_t>(k)]);
                const auto r = static_cast<std::size_t>(coords(node, 0));
                const auto c = static_cast<std::size_t>(coords(node, 1));
                std::uint8_t* px = o + r * stride + 3 * c;
                px[0] = colors[p].r;
                px[1] = colors[p].g;
                px[2] = colors[p].b;
            }
        }
    }
}  // namespace xskan_cli

#endif
