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
 *   all through xskan's allocation-free fused Gaussian (gaussian_2d_rows);
 * - the shape index streamed row by row from the smoothed image (no five
 *   full-size gradient arrays, in place), same operations in the same order as
 *   xskan::shape_index, optionally multiplied by the skeleton (skan's
 *   `skeletonize(mask) * quality`), the arctangent only where it is needed.
 */
#ifndef XSKAN_APPS_FAST_STAGES_HPP
#define XSKAN_APPS_FAST_STAGES_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xarray.hpp>

#include <xskan/detail/parallel.hpp>
#include <xskan/filters.hpp>

namespace xskan_cli
{
    /// Kernel radius of xskan::gaussian / scipy (truncate 4).
    inline std::size_t gaussian_kernel_radius(double sigma) noexcept
    {
        return sigma > 1e-15 ? static_cast<std::size_t>(4.0 * sigma + 0.5) : 0;
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

    /// Scratch memory of smooth_with_bands (reused from one image to the next).
    template <class F>
    struct smoothing_workspace
    {
        xskan::gaussian_workspace gaussian;
        std::vector<xskan::gaussian_workspace> helpers;  ///< one per extra thread
        std::vector<double> weights;
        std::vector<F> sub;  ///< one border sub-image
    };

    /**
     * @brief g = xskan::gaussian(image, sigma, reflect) and `bands` = the border bands of
     *        xskan::gaussian(image, sigma, nearest), where the two differ (skan smooths once
     *        per mode). Requires bands_apply(rows, cols, sigma). Bitwise equal to the library:
     *        the same fused row passes; each band is the Gaussian of a thin border sub-image
     *        (2r + 3 wide: every band pixel sees only real samples or the true border).
     * @param image rows x cols, row-major with row stride `stride`
     * @param g rows x cols output (contiguous)
     * @param threads the full-image Gaussian is split into row blocks on this many threads
     */
    template <class T, class F>
    void smooth_with_bands(const T* image, std::size_t rows, std::size_t cols, std::size_t stride, double sigma, F* g,
                           border_bands<F>& bands, smoothing_workspace<F>& ws, std::size_t threads = 1)
    {
        const std::size_t r = gaussian_kernel_radius(sigma);
        const std::size_t b = r + 1, e = 2 * r + 3;
        auto& gw = ws.gaussian;
        xskan::detail::gaussian_axis_weights(sigma, 4.0, ws.weights);
        const auto& w = ws.weights;
        auto smooth = [&](const T* in, std::size_t nr, std::size_t nc, F* out, xskan::mode m) {
            xskan::detail::gaussian_2d_rows(in, nr, nc, stride, out, nc, w, w, m, 0.0, false, gw);
        };
        threads = std::max<std::size_t>(1, std::min(threads, rows / 16));  // blocks of >= 16 rows
        if (threads <= 1)
        {
            smooth(image, rows, cols, g, xskan::mode::reflect);
        }
        else
        {
            ws.helpers.resize(threads - 1);
            xskan::detail::parallel_for(threads, threads, [&](std::size_t t) {
                auto& own = t == 0 ? gw : ws.helpers[t - 1];
                xskan::detail::gaussian_2d_rows(image, rows, cols, stride, g, cols, w, w, xskan::mode::reflect, 0.0,
                                                false, own, rows * t / threads, rows * (t + 1) / threads);
            });
        }
        bands.b = b;
        bands.rows = rows;
        bands.cols = cols;
        bands.top.resize(b * cols);
        bands.bottom.resize(b * cols);
        bands.left.resize(rows * b);
        bands.right.resize(rows * b);
        ws.sub.resize(std::max(e * cols, rows * e));
        F* sub = ws.sub.data();
        smooth(image, e, cols, sub, xskan::mode::nearest);
        std::copy(sub, sub + b * cols, bands.top.data());
        smooth(image + (rows - e) * stride, e, cols, sub, xskan::mode::nearest);
        std::copy(sub + (e - b) * cols, sub + e * cols, bands.bottom.data());
        smooth(image, rows, e, sub, xskan::mode::nearest);
        for (std::size_t i = 0; i < rows; ++i)
            std::copy(sub + i * e, sub + i * e + b, bands.left.data() + i * b);
        smooth(image + (cols - e), rows, e, sub, xskan::mode::nearest);
        for (std::size_t i = 0; i < rows; ++i)
            std::copy(sub + i * e + (e - b), sub + (i + 1) * e, bands.right.data() + i * b);
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

    /// Scratch rows of shape_index_from_smoothed.
    template <class F>
    struct shape_index_workspace
    {
        std::vector<F> g1, g0, m00, m01, m11, q;
    };

    /**
     * @brief Shape index of the already smoothed image `g` (rows x cols, rows, cols >= 2),
     *        times `weight` (0/1 per pixel) when given: out = weight * shape_index, bitwise
     *        equal to xskan::shape_index after its Gaussian (and numpy's `skeleton * si`).
     *
     * Streamed row by row (rings of 3 gradient rows); `out` may be `g` itself (each row of
     * `g` is last read before its output row is written). The eigenvalue ratio
     * q = (l2 + l1) / (l2 - l1) is vectorised (IEEE add, sub, mul, div, sqrt: the same
     * results as scalar code, products kept rounded); the arctangent is evaluated only
     * where the result needs it: weight != 0, or q NaN (NaN · 0 = NaN stays a skeleton
     * pixel in skan). Elsewhere weight · s = ±0 with the sign of q (atan keeps the sign).
     */
    template <class F>
    void shape_index_from_smoothed(const F* g, std::size_t rows, std::size_t cols, const std::uint8_t* weight, F* out,
                                   shape_index_workspace<F>& ws)
    {
        ws.g1.resize(3 * cols);
        ws.g0.resize(3 * cols);
        ws.m00.resize(cols);
        ws.m01.resize(cols);
        ws.m11.resize(cols);
        ws.q.resize(cols);
        auto g_row = [&](std::size_t k) { return g + k * cols; };
        auto g1_row = [&](std::size_t k) -> const F* { return ws.g1.data() + (k % 3) * cols; };
        auto g0_row = [&](std::size_t k) -> const F* { return ws.g0.data() + (k % 3) * cols; };
        auto fill = [&](std::size_t k) {  // g1 = d/dcol(g), g0 = d/drow(g) at row k (reads g rows k-1..k+1)
            detail::gradient_cols(g_row(k), ws.g1.data() + (k % 3) * cols, cols);
            detail::gradient_rows<F>(g_row, k, rows, cols, ws.g0.data() + (k % 3) * cols);
        };
        using B = xsimd::batch<F>;
        constexpr std::size_t W = B::size;
        const F two_over_pi = static_cast<F>(2.0 / 3.141592653589793);
        fill(0);
        for (std::size_t i = 0; i < rows; ++i)
        {
            if (i + 1 < rows)
            {
                fill(i + 1);  // before row i of out is written (out may be g)
            }
            detail::gradient_cols(g1_row(i), ws.m00.data(), cols);          // order='rc': axes reversed
            detail::gradient_rows<F>(g1_row, i, rows, cols, ws.m01.data());
            detail::gradient_rows<F>(g0_row, i, rows, cols, ws.m11.data());
            const F* m00 = ws.m00.data();
            const F* m01 = ws.m01.data();
            const F* m11 = ws.m11.data();
            F* q = ws.q.data();
            std::size_t j = 0;
            for (; j + W <= cols; j += W)
            {
                const B a = B::load_unaligned(m00 + j);
                const B bb = B::load_unaligned(m01 + j);
                const B c = B::load_unaligned(m11 + j);
                B bsq = bb * bb;
                bsq.data = xskan::detail::no_fma(bsq.data);
                B b2 = B(F(4)) * bsq;
                b2.data = xskan::detail::no_fma(b2.data);
                const B d = a - c;
                B d2 = d * d;
                d2.data = xskan::detail::no_fma(d2.data);
                const B root = xsimd::sqrt(b2 + d2) / B(F(2));
                const B half = (a + c) / B(F(2));
                const B l1 = half + root;
                const B l2 = half - root;
                ((l2 + l1) / (l2 - l1)).store_unaligned(q + j);
            }
            for (; j < cols; ++j)
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
                q[j] = (l2 + l1) / (l2 - l1);
            }
            F* o = out + i * cols;
            const std::uint8_t* w = weight != nullptr ? weight + i * cols : nullptr;
            for (j = 0; j < cols; ++j)
            {
                const F qj = q[j];
                if (w == nullptr || w[j] != 0 || std::isnan(qj))
                {
                    const F s = two_over_pi * static_cast<F>(std::atan(qj));
                    o[j] = w != nullptr ? static_cast<F>(w[j]) * s : s;
                }
                else
                {
                    o[j] = std::copysign(F(0), qj);  // 0 · s, s finite with the sign of q
                }
            }
        }
    }
}  // namespace xskan_cli

#endif
