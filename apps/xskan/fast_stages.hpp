/**
 * @file fast_stages.hpp
 * @brief Memory-lean equivalents of two steps of skan's pipeline, bitwise equal to
 *        the library's functions (tests/test_analyze_stages.cpp checks it):
 *
 * - one Gaussian instead of two: skan smooths with mode 'nearest' (threshold) and
 *   again with mode 'reflect' (shape index). Both agree everywhere except within the
 *   kernel radius r of the border, so the 'nearest' image is the 'reflect' one with
 *   its border bands (r + 1 wide) replaced by Gaussians of thin sub-images
 *   (2r + 3 wide: every band pixel sees only real samples or the true border);
 * - the shape index streamed row by row from the smoothed image (no five
 *   full-size gradient arrays), same operations in the same order as
 *   xskan::shape_index, optionally multiplied by the skeleton (skan's
 *   `skeletonize(mask) * quality`).
 */
#ifndef XSKAN_APPS_FAST_STAGES_HPP
#define XSKAN_APPS_FAST_STAGES_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include <xskan/filters.hpp>

namespace xskan_cli
{
    /// Kernel radius of xskan::gaussian / scipy (truncate 4).
    inline std::size_t gaussian_kernel_radius(double sigma) noexcept
    {
        return sigma > 1e-15 ? static_cast<std::size_t>(4.0 * sigma + 0.5) : 0;
    }

    namespace detail
    {
        /// Cache-blocked transpose of a rows x cols row-major array into dst (cols x rows).
        template <class F>
        void transpose_2d(const F* src, F* dst, std::size_t rows, std::size_t cols)
        {
            constexpr std::size_t B = 32;
            for (std::size_t i0 = 0; i0 < rows; i0 += B)
            {
                const std::size_t i1 = std::min(rows, i0 + B);
                for (std::size_t j0 = 0; j0 < cols; j0 += B)
                {
                    const std::size_t j1 = std::min(cols, j0 + B);
                    for (std::size_t i = i0; i < i1; ++i)
                        for (std::size_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
                }
            }
        }
    }  // namespace detail

    /**
     * @brief xskan::gaussian(image, sigma, mode) of a 2D image with both passes along
     *        axis 0 (the second on the transposed image), where the library's
     *        separable pass runs over 8 contiguous columns at once. Bitwise equal:
     *        every output gets the same products and sums in the same order, and
     *        axes are processed 0 then 1 as scipy does.
     * @param work reusable buffer (resized as needed)
     */
    template <class T>
    auto gaussian_2d(const xt::xarray<T>& image, double sigma, xskan::mode m,
                     xt::xarray<std::conditional_t<std::is_same<T, float>::value, float, double>>& work)
    {
        using F = std::conditional_t<std::is_same<T, float>::value, float, double>;
        const std::size_t rows = image.shape()[0], cols = image.shape()[1];
        xskan::gaussian_options o;
        o.boundary = m;
        auto a = xskan::gaussian(image, std::vector<double>{sigma, 0.0}, o);  // axis 0 (integers -> [0, 1])
        if (work.dimension() != 2 || work.shape()[0] != cols || work.shape()[1] != rows)
        {
            work.resize({cols, rows});
        }
        detail::transpose_2d(a.data(), work.data(), rows, cols);
        const auto b = xskan::gaussian(work, std::vector<double>{sigma, 0.0}, o);  // float input: no rescaling
        detail::transpose_2d(b.data(), a.data(), cols, rows);
        static_assert(std::is_same<typename decltype(a)::value_type, F>::value, "gaussian type");
        return a;
    }

    /// Border bands of a Gaussian-smoothed 2D image in another boundary mode.
    template <class F>
    struct border_bands
    {
        std::size_t b = 0;  ///< band width
        std::size_t rows = 0, cols = 0;
        std::vector<F> top, bottom, left, right;  ///< b x cols, b x cols, rows x b, rows x b
    };

    /// True when the band trick applies (image large enough for the sigma).
    inline bool bands_apply(std::size_t rows, std::size_t cols, double sigma) noexcept
    {
        const std::size_t r = gaussian_kernel_radius(sigma);
        const std::size_t e = 2 * r + 3;  // sub-image extent: band b = r + 1 plus r of real context, + 1 margin
        return r > 0 && rows >= 2 * e + 2 && cols >= 2 * e + 2;
    }

    /**
     * @brief Exact values of gaussian(image, sigma, mode) in the r+1 wide border bands.
     * Requires bands_apply(rows, cols, sigma).
     */
    template <class T>
    auto gaussian_border_bands(const xt::xarray<T>& image, double sigma, xskan::mode m)
    {
        using F = std::conditional_t<std::is_same<T, float>::value, float, double>;
        const std::size_t rows = image.shape()[0], cols = image.shape()[1];
        const std::size_t r = gaussian_kernel_radius(sigma);
        const std::size_t b = r + 1, e = 2 * r + 3;
        xskan::gaussian_options o;
        o.boundary = m;
        border_bands<F> out;
        out.b = b;
        out.rows = rows;
        out.cols = cols;
        {
            const xt::xarray<T> sub = xt::view(image, xt::range(0, e), xt::all());
            const auto g = xskan::gaussian(sub, sigma, o);
            out.top.assign(g.data(), g.data() + b * cols);
        }
        {
            const xt::xarray<T> sub = xt::view(image, xt::range(rows - e, rows), xt::all());
            const auto g = xskan::gaussian(sub, sigma, o);
            out.bottom.assign(g.data() + (e - b) * cols, g.data() + e * cols);
        }
        {
            const xt::xarray<T> sub = xt::view(image, xt::all(), xt::range(0, e));
            const auto g = xskan::gaussian(sub, sigma, o);
            out.left.resize(rows * b);
            for (std::size_t i = 0; i < rows; ++i)
                std::copy(g.data() + i * e, g.data() + i * e + b, out.left.data() + i * b);
        }
        {
            const xt::xarray<T> sub = xt::view(image, xt::all(), xt::range(cols - e, cols));
            const auto g = xskan::gaussian(sub, sigma, o);
            out.right.resize(rows * b);
            for (std::size_t i = 0; i < rows; ++i)
                std::copy(g.data() + i * e + (e - b), g.data() + (i + 1) * e, out.right.data() + i * b);
        }
        return out;
    }

    /**
     * @brief Swap the border bands of `g` (rows x cols) with `bands`. Calling it a
     *        second time restores `g` (the corner pixels are covered twice with equal values).
     */
    template <class F>
    void swap_border_bands(F* g, border_bands<F>& bands, bool restore)
    {
        const std::size_t rows = bands.rows, cols = bands.cols, b = bands.b;
        auto top = [&] { std::swap_ranges(g, g + b * cols, bands.top.data()); };
        auto bottom = [&] { std::swap_ranges(g + (rows - b) * cols, g + rows * cols, bands.bottom.data()); };
        auto left = [&] {
            for (std::size_t i = 0; i < rows; ++i)
                std::swap_ranges(g + i * cols, g + i * cols + b, bands.left.data() + i * b);
        };
        auto right = [&] {
            for (std::size_t i = 0; i < rows; ++i)
                std::swap_ranges(g + i * cols + (cols - b), g + (i + 1) * cols, bands.right.data() + i * b);
        };
        if (!restore)
        {
            top();
            bottom();
            left();
            right();
        }
        else
        {
            right();
            left();
            bottom();
            top();
        }
    }

    namespace detail
    {
        /// np.gradient of one row along the row (columns axis), as xskan::detail::gradient2d.
        template <class F>
        void gradient_cols(const F* s, F* d, std::size_t n)
        {
            d[0] = (s[1] - s[0]) / F(1);
            for (std::size_t i = 1; i + 1 < n; ++i)
            {
                d[i] = (s[i + 1] - s[i - 1]) / F(2);
            }
            d[n - 1] = (s[n - 1] - s[n - 2]) / F(1);
        }

        /// np.gradient along axis 0 at row i of a rows x cols array given by a row accessor.
        template <class F, class Row>
        void gradient_rows(Row&& row, std::size_t i, std::size_t rows, std::size_t cols, F* d)
        {
            if (i == 0)
            {
                const F* a = row(1);
                const F* z = row(0);
                for (std::size_t j = 0; j < cols; ++j) d[j] = (a[j] - z[j]) / F(1);
            }
            else if (i == rows - 1)
            {
                const F* a = row(rows - 1);
                const F* z = row(rows - 2);
                for (std::size_t j = 0; j < cols; ++j) d[j] = (a[j] - z[j]) / F(1);
            }
            else
            {
                const F* a = row(i + 1);
                const F* z = row(i - 1);
                for (std::size_t j = 0; j < cols; ++j) d[j] = (a[j] - z[j]) / F(2);
            }
        }
    }  // namespace detail

    /**
     * @brief Shape index of the already smoothed image `g` (rows x cols, rows, cols >= 2),
     *        times `weight` (0/1 per pixel) when given: out = weight * shape_index.
     *        Same operations as xskan::shape_index after its Gaussian; O(cols) extra memory.
     */
    template <class F>
    void shape_index_from_smoothed(const F* g, std::size_t rows, std::size_t cols, const std::uint8_t* weight, F* out)
    {
        // ring buffers of 3 rows for g1 = d/dcol(g) and g0 = d/drow(g)
        std::vector<F> g1(3 * cols), g0(3 * cols), m00(cols), m01(cols), m11(cols);
        std::vector<std::ptrdiff_t> have1(3, -1), have0(3, -1);
        auto g_row = [&](std::size_t k) { return g + k * cols; };
        auto g1_row = [&](std::size_t k) -> const F* {
            F* slot = g1.data() + (k % 3) * cols;
            if (have1[k % 3] != static_cast<std::ptrdiff_t>(k))
            {
                detail::gradient_cols(g_row(k), slot, cols);
                have1[k % 3] = static_cast<std::ptrdiff_t>(k);
            }
            return slot;
        };
        auto g0_row = [&](std::size_t k) -> const F* {
            F* slot = g0.data() + (k % 3) * cols;
            if (have0[k % 3] != static_cast<std::ptrdiff_t>(k))
            {
                detail::gradient_rows<F>(g_row, k, rows, cols, slot);
                have0[k % 3] = static_cast<std::ptrdiff_t>(k);
            }
            return slot;
        };
        const F two_over_pi = static_cast<F>(2.0 / 3.141592653589793);
        for (std::size_t i = 0; i < rows; ++i)
        {
            detail::gradient_cols(g1_row(i), m00.data(), cols);          // order='rc': axes reversed
            detail::gradient_rows<F>(g1_row, i, rows, cols, m01.data());
            detail::gradient_rows<F>(g0_row, i, rows, cols, m11.data());
            F* o = out + i * cols;
            const std::uint8_t* w = weight != nullptr ? weight + i * cols : nullptr;
            for (std::size_t j = 0; j < cols; ++j)
            {
                const F a = m00[j];
                const F bb = m01[j];
                const F c = m11[j];
                const F b2 = xskan::detail::no_fma(static_cast<F>(F(4) * xskan::detail::no_fma(static_cast<F>(bb * bb))));
                const F d = a - c;
                const F d2 = xskan::detail::no_fma(static_cast<F>(d * d));
                const F root = std::sqrt(static_cast<F>(b2 + d2)) / F(2);
                const F half = (a + c) / F(2);
                const F l1 = half + root;
                const F l2 = half - root;
                const F q = (l2 + l1) / (l2 - l1);
                const F s = two_over_pi * static_cast<F>(std::atan(q));
                o[j] = w != nullptr ? static_cast<F>(w[j]) * s : s;
            }
        }
    }
}  // namespace xskan_cli

#endif
