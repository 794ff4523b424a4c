/**
 * @file filters.hpp
 * @brief Gaussian smoothing (scikit-image / scipy.ndimage semantics) and the
 *        shape index (Koenderink & van Doorn) used by skan's pipeline.
 */
#ifndef XSKAN_FILTERS_HPP
#define XSKAN_FILTERS_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xcontainer.hpp>
#include <xtensor/xexpression.hpp>

#include "detail/common.hpp"
#include "detail/threshold_fp.hpp"
#include "mode.hpp"

namespace xskan
{
    /// Options of gaussian() (scikit-image 0.19 defaults).
    struct gaussian_options
    {
        mode boundary = mode::nearest;   ///< scipy.ndimage boundary mode (valid is not allowed)
        double cval = 0.0;               ///< value beyond the border for mode::constant
        bool preserve_range = false;     ///< false: integer images are scaled to [0, 1] (img_as_float)
        double truncate = 4.0;           ///< kernel radius = int(truncate · sigma + 0.5)
    };

    namespace detail
    {
        /// Index of the input sample at extended position k (k may be < 0 or >= n), scipy's NI_ExtendLine rules.
        inline std::ptrdiff_t scipy_extend_index(std::ptrdiff_t k, std::ptrdiff_t n, mode m)
        {
            if (k >= 0 && k < n)
            {
                return k;
            }
            auto pmod = [](std::ptrdiff_t a, std::ptrdiff_t p) {
                const std::ptrdiff_t r = a % p;
                return r < 0 ? r + p : r;
            };
            switch (m)
            {
                case mode::nearest: return k < 0 ? 0 : n - 1;
                case mode::reflect:
                {
                    const std::ptrdiff_t q = pmod(k, 2 * n);
                    return q < n ? q : 2 * n - 1 - q;
                }
                case mode::mirror:
                {
                    if (n == 1)
                    {
                        return 0;
                    }
                    const std::ptrdiff_t q = pmod(k, 2 * n - 2);
                    return q < n ? q : 2 * n - 2 - q;
                }
                case mode::wrap: return pmod(k, n);
                case mode::constant:
                case mode::valid: return -1;
            }
            return -1;
        }

        /// scipy.ndimage._gaussian_kernel1d(sigma, 0, radius): exp(-0.5/sigma² · x²) / sum (numpy pairwise sum).
        inline std::vector<double> gaussian_kernel1d(double sigma, std::size_t radius)
        {
            const double sigma2 = sigma * sigma;
            const double c = -0.5 / sigma2;
            std::vector<double> w(2 * radius + 1);
            for (std::size_t i = 0; i < w.size(); ++i)
            {
                const double x = static_cast<double>(static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(radius));
                w[i] = std::exp(no_fma(c * (x * x)));
            }
            const double sum = numpy_pairwise_sum(w.data(), w.size());
            for (auto& v : w)
            {
                v = v / sum;
            }
            return w;
        }

        /// img_as_float as scikit-image 0.19 (integers: x * (1/imax), signed clipped at -1; bool: 0/1).
        template <class T>
        inline double img_as_float_value(T x) noexcept
        {
            if constexpr (std::is_same<T, bool>::value)
            {
                return x ? 1.0 : 0.0;
            }
            else if constexpr (std::is_integral<T>::value)
            {
                constexpr double inv = 1.0 / static_cast<double>(std::numeric_limits<T>::max());
                const double v = static_cast<double>(x) * inv;
                if constexpr (std::is_signed<T>::value)
                {
                    return v < -1.0 ? -1.0 : v;
                }
                else
                {
                    return v;
                }
            }
            else
            {
                return static_cast<double>(x);
            }
        }

        /// The value scikit-image smooths: img_as_float(x) (or the plain cast with preserve_range), as F.
        template <class F, class T>
        inline F gaussian_input_value(T x, bool preserve_range) noexcept
        {
            if constexpr (std::is_floating_point<T>::value)
            {
                return static_cast<F>(x);
            }
            else
            {
                return preserve_range ? static_cast<F>(x) : static_cast<F>(img_as_float_value(x));
            }
        }

        /// SIMD batch of the Gaussian kernels (xsimd's best architecture for the build flags).
        using gaussian_batch = xsimd::batch<double>;

        /// Keep a batch's products rounded (no contraction into an FMA with a later addition).
        inline void gaussian_keep_rounded(gaussian_batch& b) noexcept
        {
            b.data = no_fma(b.data);
        }

        /**
         * @brief The symmetric correlation of scipy's correlate1d for n outputs side by side:
         *        out[j] = p[r][j]·w[r], then for t = r..1: out[j] += (p[r-t][j] + p[r+t][j])·w[r-t],
         *        in double, every product rounded (no FMA) — scipy's operations in scipy's order,
         *        vectorised across j (each output keeps its own sequential sum).
         * @param p 2r+1 pointers: p[k] holds the samples at offset k - r of outputs 0..n-1
         * @param w the 2r+1 symmetric weights
         */
        inline void gaussian_taps(const double* const* p, std::size_t r, const double* w, std::size_t n,
                                  double* out, std::size_t begin = 0) noexcept
        {
            using B = gaussian_batch;
            constexpr std::size_t W = B::size;
            constexpr std::size_t U = 4;  // independent accumulators (hide the add latency)
            const double* mid = p[r];
            std::size_t j = begin;
            for (; j + U * W <= n; j += U * W)
            {
                const B w0(w[r]);
                B acc[U];
                for (std::size_t u = 0; u < U; ++u)
                {
                    acc[u] = B::load_unaligned(mid + j + u * W) * w0;
                    gaussian_keep_rounded(acc[u]);
                }
                for (std::size_t t = r; t >= 1; --t)
                {
                    const double* a = p[r - t] + j;
                    const double* c = p[r + t] + j;
                    const B wt(w[r - t]);
                    for (std::size_t u = 0; u < U; ++u)
                    {
                        B s = (B::load_unaligned(a + u * W) + B::load_unaligned(c + u * W)) * wt;
                        gaussian_keep_rounded(s);
                        acc[u] += s;
                    }
                }
                for (std::size_t u = 0; u < U; ++u)
                {
                    acc[u].store_unaligned(out + j + u * W);
                }
            }
            for (; j + W <= n; j += W)
            {
                B acc = B::load_unaligned(mid + j) * B(w[r]);
                gaussian_keep_rounded(acc);
                for (std::size_t t = r; t >= 1; --t)
                {
                    B s = (B::load_unaligned(p[r - t] + j) + B::load_unaligned(p[r + t] + j)) * B(w[r - t]);
                    gaussian_keep_rounded(s);
                    acc += s;
                }
                acc.store_unaligned(out + j);
            }
            for (; j < n; ++j)
            {
                double acc = no_fma(mid[j] * w[r]);
                for (std::size_t t = r; t >= 1; --t)
                {
                    acc += no_fma((p[r - t][j] + p[r + t][j]) * w[r - t]);
                }
                out[j] = acc;
            }
        }

        /**
         * @brief gaussian_taps for two outputs at once that share 2r of their 2r+1 sample
         *        lines (two consecutive rows of the axis-0 pass): out0 from p[0..2r], out1 from
         *        p[1..2r+1]. Each line is loaded once for both (the pair sums of out0 at step t
         *        and of out1 at step t-1 have one line in common); every output still sees
         *        exactly gaussian_taps' operations in its order, so the results are identical.
         * @param p 2r+2 pointers
         */
        inline void gaussian_taps_2rows(const double* const* p, std::size_t r, const double* w, std::size_t n,
                                        double* out0, double* out1) noexcept
        {
            using B = gaussian_batch;
            constexpr std::size_t W = B::size;
            constexpr std::size_t U = 2;  // x 2 outputs: four independent accumulators
            std::size_t j = 0;
            for (; j + U * W <= n; j += U * W)
            {
                const B w0(w[r]);
                B acc0[U], acc1[U], lo[U], hi[U];
                for (std::size_t u = 0; u < U; ++u)
                {
                    acc0[u] = B::load_unaligned(p[r] + j + u * W) * w0;
                    gaussian_keep_rounded(acc0[u]);
                    acc1[u] = B::load_unaligned(p[r + 1] + j + u * W) * w0;
                    gaussian_keep_rounded(acc1[u]);
                    lo[u] = B::load_unaligned(p[0] + j + u * W);          // out0's left line at t = r
                    hi[u] = B::load_unaligned(p[2 * r + 1] + j + u * W);  // out1's right line at t = r
                }
                for (std::size_t t = r; t >= 1; --t)
                {
                    // step t: out0 pairs p[r-t] (lo) with p[r+t] (c); out1 pairs p[r+1-t] (a) with
                    // p[r+1+t] (hi). At step t-1 out0's left line is a and out1's right line is c.
                    const double* a = p[r + 1 - t] + j;
                    const double* c = p[r + t] + j;
                    const B wt(w[r - t]);
                    for (std::size_t u = 0; u < U; ++u)
                    {
                        const B av = B::load_unaligned(a + u * W);
                        const B cv = B::load_unaligned(c + u * W);
                        B s0 = (lo[u] + cv) * wt;
                        gaussian_keep_rounded(s0);
                        acc0[u] += s0;
                        B s1 = (av + hi[u]) * wt;
                        gaussian_keep_rounded(s1);
                        acc1[u] += s1;
                        lo[u] = av;
                        hi[u] = cv;
                    }
                }
                for (std::size_t u = 0; u < U; ++u)
                {
                    acc0[u].store_unaligned(out0 + j + u * W);
                    acc1[u].store_unaligned(out1 + j + u * W);
                }
            }
            if (j < n)
            {
                gaussian_taps(p, r, w, n, out0, j);
                gaussian_taps(p + 1, r, w, n, out1, j);
            }
        }

        /// ext[k] = input index of extended position k - r of a line of n samples (-1: cval), k < n + 2r.
        inline void gaussian_extend_map(std::vector<std::ptrdiff_t>& ext, std::size_t n, std::size_t r, mode m)
        {
            ext.resize(n + 2 * r);
            for (std::size_t k = 0; k < ext.size(); ++k)
            {
                ext[k] = scipy_extend_index(static_cast<std::ptrdiff_t>(k) - static_cast<std::ptrdiff_t>(r),
                                            static_cast<std::ptrdiff_t>(n), m);
            }
        }

        /// The kernel of one axis into w (radius int(truncate·sigma + 0.5); sigma <= 1e-15: the identity {1}).
        inline void gaussian_axis_weights(double sigma, double truncate, std::vector<double>& w)
        {
            if (!(sigma > 1e-15))
            {
                w.assign(1, 1.0);  // x·1.0 == x: the same as skipping the axis, as scipy does
                return;
            }
            const double rad = no_fma(truncate * sigma) + 0.5;   // int(truncate * sd + 0.5)
            if (!(rad < 1e9))
            {
                throw std::invalid_argument("xskan::gaussian: truncate * sigma is too large (kernel radius " +
                                            std::to_string(rad) + ")");
            }
            w = gaussian_kernel1d(sigma, static_cast<std::size_t>(rad));
        }
    }  // namespace detail

    /**
     * @brief Scratch memory of gaussian_into(), kept between calls so that smoothing
     *        images of the same size allocates nothing (a few rows of doubles for 2-D
     *        images; one image-sized double array for 3-D and more, wrap mode or
     *        images thinner than the kernel radius). Contents are unspecified.
     */
    struct gaussian_workspace
    {
        std::vector<double> w0, w1;                  ///< kernels of the two passes
        std::vector<double> ring;                    ///< converted input rows (2-D)
        std::vector<std::ptrdiff_t> ring_tag;        ///< input row held by each ring slot
        std::vector<double> line, out_row, cval_line, full;
        std::vector<std::ptrdiff_t> ext0, ext1;
        std::vector<const double*> taps0, taps1;
    };

    namespace detail
    {
        /**
         * @brief 2-D Gaussian with both passes fused row by row: output row i is the axis-1
         *        pass of the axis-0 pass of rows ext(i-r0 .. i+r0), each pass rounded to F
         *        as scipy stores it. Input: rows x cols samples, row i at in + i·in_stride;
         *        output row i at out + i·out_stride. Bitwise equal to scipy's separable passes.
         *        Only output rows [row_begin, row_end) are computed (threads split the rows,
         *        one workspace each).
         */
        template <class T, class F>
        void gaussian_2d_rows(const T* in, std::size_t rows, std::size_t cols, std::size_t in_stride, F* out,
                              std::size_t out_stride, const std::vector<double>& w0, const std::vector<double>& w1,
                              mode m, double cval, bool preserve_range, gaussian_workspace& ws,
                              std::size_t row_begin = 0, std::size_t row_end = static_cast<std::size_t>(-1))
        {
            row_end = std::min(row_end, rows);
            const std::size_t r0 = (w0.size() - 1) / 2;
            const std::size_t r1 = (w1.size() - 1) / 2;
            gaussian_extend_map(ws.ext0, rows, r0, m);
            gaussian_extend_map(ws.ext1, cols, r1, m);
            const std::size_t ext_cols = cols + 2 * r1;
            ws.taps0.resize(2 * r0 + 2);
            ws.taps1.resize(2 * (2 * r1 + 1));
            ws.line.resize(2 * ext_cols);  // two extended rows (output rows are made in pairs)
            if (m == mode::constant)
            {
                ws.cval_line.assign(cols, cval);
            }
            // Source rows as double: the input itself (float64), else converted rows in a ring of
            // 2·r0 + 2 slots when every pair of output rows i, i+1 reads only input rows
            // i-r0 .. i+1+r0 (true for all modes but wrap once rows > r0), else one converted
            // copy of the whole image.
            constexpr bool direct = std::is_same<T, double>::value;
            const std::size_t slots = 2 * r0 + 2;
            bool use_ring = false;
            if constexpr (!direct)
            {
                use_ring = true;
                for (std::size_t i = row_begin; i < row_end && use_ring; ++i)
                {
                    for (std::size_t k = 0; k <= 2 * r0; ++k)
                    {
                        const std::ptrdiff_t e = ws.ext0[i + k];
                        const auto ii = static_cast<std::ptrdiff_t>(i);
                        if (e >= 0 && (e < ii - static_cast<std::ptrdiff_t>(r0) || e > ii + static_cast<std::ptrdiff_t>(r0)))
                        {
                            use_ring = false;
                            break;
                        }
                    }
                }
                if (use_ring)
                {
                    ws.ring.resize(slots * cols);
                    ws.ring_tag.assign(slots, -1);
                }
                else
                {
                    ws.full.resize(rows * cols);
                    for (std::size_t i = 0; i < rows; ++i)
                    {
                        for (std::size_t j = 0; j < cols; ++j)
                        {
                            ws.full[i * cols + j] = static_cast<double>(gaussian_input_value<F>(in[i * in_stride + j], preserve_range));
                        }
                    }
                }
            }
            auto source_row = [&](std::size_t e) -> const double* {
                if constexpr (direct)
                {
                    return in + e * in_stride;
                }
                else
                {
                    if (!use_ring)
                    {
                        return ws.full.data() + e * cols;
                    }
                    const std::size_t slot = e % slots;  // rows i-r0 .. i+1+r0 have distinct slots
                    double* d = ws.ring.data() + slot * cols;
                    if (ws.ring_tag[slot] != static_cast<std::ptrdiff_t>(e))
                    {
                        const T* s = in + e * in_stride;
                        for (std::size_t j = 0; j < cols; ++j)
                        {
                            d[j] = static_cast<double>(gaussian_input_value<F>(s[j], preserve_range));
                        }
                        ws.ring_tag[slot] = static_cast<std::ptrdiff_t>(e);
                    }
                    return d;
                }
            };
            double* mids[2] = {ws.line.data() + r1, ws.line.data() + ext_cols + r1};
            for (std::size_t h = 0; h < 2; ++h)
            {
                for (std::size_t k = 0; k <= 2 * r1; ++k)
                {
                    ws.taps1[h * (2 * r1 + 1) + k] = ws.line.data() + h * ext_cols + k;
                }
            }
            if constexpr (!std::is_same<F, double>::value)
            {
                ws.out_row.resize(cols);
            }
            // The axis-1 pass of output row i from its axis-0 result in line h.
            auto finish_row = [&](std::size_t h, std::size_t i) {
                double* mid = mids[h];
                double* line = mid - r1;
                if constexpr (!std::is_same<F, double>::value)
                {
                    for (std::size_t j = 0; j < cols; ++j)
                    {
                        mid[j] = static_cast<double>(static_cast<F>(mid[j]));   // stored as F between passes
                    }
                }
                for (std::size_t k = 0; k < r1; ++k)
                {
                    const std::ptrdiff_t a = ws.ext1[k];
                    const std::ptrdiff_t b = ws.ext1[r1 + cols + k];
                    line[k] = a < 0 ? cval : mid[a];
                    line[r1 + cols + k] = b < 0 ? cval : mid[b];
                }
                const double* const* taps = ws.taps1.data() + h * (2 * r1 + 1);
                F* o = out + i * out_stride;
                if constexpr (std::is_same<F, double>::value)
                {
                    gaussian_taps(taps, r1, w1.data(), cols, o);   // pass along axis 1
                }
                else
                {
                    gaussian_taps(taps, r1, w1.data(), cols, ws.out_row.data());
                    for (std::size_t j = 0; j < cols; ++j)
                    {
                        o[j] = static_cast<F>(ws.out_row[j]);
                    }
                }
            };
            for (std::size_t i = row_begin; i < row_end; i += 2)
            {
                const bool pair = i + 1 < row_end;
                for (std::size_t k = 0; k <= 2 * r0 + (pair ? 1 : 0); ++k)
                {
                    const std::ptrdiff_t e = ws.ext0[i + k];
                    ws.taps0[k] = e < 0 ? ws.cval_line.data() : source_row(static_cast<std::size_t>(e));
                }
                // pass along axis 0 (rows i and i+1 share 2·r0 source lines)
                if (pair)
                {
                    gaussian_taps_2rows(ws.taps0.data(), r0, w0.data(), cols, mids[0], mids[1]);
                }
                else
                {
                    gaussian_taps(ws.taps0.data(), r0, w0.data(), cols, mids[0]);
                }
                finish_row(0, i);
                if (pair)
                {
                    finish_row(1, i + 1);
                }
            }
        }

        /// N-D Gaussian (any ndim): one pass per axis over a double copy of the previous result.
        template <class T, class F>
        void gaussian_nd(const T* in, const std::vector<std::size_t>& shape, F* out, const std::vector<double>& sigma,
                         const gaussian_options& opts, gaussian_workspace& ws)
        {
            std::size_t size = 1;
            for (auto s : shape)
            {
                size *= s;
            }
            for (std::size_t i = 0; i < size; ++i)
            {
                out[i] = gaussian_input_value<F>(in[i], opts.preserve_range);
            }
            for (std::size_t a = 0; a < shape.size(); ++a)
            {
                if (!(sigma[a] > 1e-15))
                {
                    continue;
                }
                gaussian_axis_weights(sigma[a], opts.truncate, ws.w0);
                const std::size_t r = (ws.w0.size() - 1) / 2;
                const std::size_t n = shape[a];
                std::size_t inner = 1, outer = 1;
                for (std::size_t b = a + 1; b < shape.size(); ++b)
                {
                    inner *= shape[b];
                }
                for (std::size_t b = 0; b < a; ++b)
                {
                    outer *= shape[b];
                }
                ws.full.resize(size);
                std::copy(out, out + size, ws.full.begin());
                gaussian_extend_map(ws.ext0, n, r, opts.boundary);
                ws.taps0.resize(2 * r + 1);
                ws.out_row.resize(std::max(inner, n));
                if (inner > 1)
                {
                    ws.cval_line.assign(inner, opts.cval);
                    for (std::size_t o = 0; o < outer; ++o)
                    {
                        const double* src = ws.full.data() + o * n * inner;
                        for (std::size_t i = 0; i < n; ++i)
                        {
                            for (std::size_t k = 0; k <= 2 * r; ++k)
                            {
                                const std::ptrdiff_t e = ws.ext0[i + k];
                                ws.taps0[k] = e < 0 ? ws.cval_line.data() : src + static_cast<std::size_t>(e) * inner;
                            }
                            gaussian_taps(ws.taps0.data(), r, ws.w0.data(), inner, ws.out_row.data());
                            F* d = out + (o * n + i) * inner;
                            for (std::size_t j = 0; j < inner; ++j)
                            {
                                d[j] = static_cast<F>(ws.out_row[j]);
                            }
                        }
                    }
                }
                else
                {
                    ws.line.resize(n + 2 * r);
                    for (std::size_t k = 0; k <= 2 * r; ++k)
                    {
                        ws.taps0[k] = ws.line.data() + k;
                    }
                    for (std::size_t o = 0; o < outer; ++o)
                    {
                        const double* src = ws.full.data() + o * n;
                        for (std::size_t k = 0; k < n + 2 * r; ++k)
                        {
                            const std::ptrdiff_t e = ws.ext0[k];
                            ws.line[k] = e < 0 ? opts.cval : src[e];
                        }
                        gaussian_taps(ws.taps0.data(), r, ws.w0.data(), n, ws.out_row.data());
                        F* d = out + o * n;
                        for (std::size_t j = 0; j < n; ++j)
                        {
                            d[j] = static_cast<F>(ws.out_row[j]);
                        }
                    }
                }
            }
        }

        /// Throw std::invalid_argument for options gaussian() does not accept.
        inline void check_gaussian_options(const gaussian_options& opts)
        {
            if (opts.boundary == mode::valid)
            {
                throw std::invalid_argument("xskan::gaussian: mode 'valid' is not allowed (use reflect, constant, nearest, "
                                            "mirror or wrap)");
            }
            if (std::isnan(opts.truncate) || opts.truncate < 0)
            {
                throw std::invalid_argument("xskan::gaussian: truncate must be >= 0");
            }
        }

        /**
         * @brief gaussian() on raw row-major storage: `in` has `shape` (row i of a 2-D image at
         *        in + i·in_stride; other dimensions contiguous), `out` is contiguous with `shape`.
         *        1-D and 2-D images take the fused row path, others the per-axis path.
         */
        template <class T, class F>
        void gaussian_raw(const T* in, const std::vector<std::size_t>& shape, std::size_t in_stride, F* out,
                          const std::vector<double>& sigma, const gaussian_options& opts, gaussian_workspace& ws)
        {
            if (shape.size() == 1 || shape.size() == 2)
            {
                const bool one = shape.size() == 1;
                const std::size_t rows = one ? 1 : shape[0];
                const std::size_t cols = one ? shape[0] : shape[1];
                gaussian_axis_weights(one ? 0.0 : sigma[0], opts.truncate, ws.w0);
                gaussian_axis_weights(one ? sigma[0] : sigma[1], opts.truncate, ws.w1);
                gaussian_2d_rows(in, rows, cols, one ? cols : in_stride, out, cols, ws.w0, ws.w1, opts.boundary,
                                 opts.cval, opts.preserve_range, ws);
            }
            else
            {
                gaussian_nd(in, shape, out, sigma, opts, ws);
            }
        }

        template <class E>
        std::vector<double> checked_sigma(const E& img, const std::vector<double>& sigma, const char* func)
        {
            if (sigma.size() != img.dimension())
            {
                throw std::invalid_argument(std::string("xskan::") + func + ": sigma has " + std::to_string(sigma.size()) +
                                            " values but the image is " + std::to_string(img.dimension()) +
                                            "-D (give one sigma per axis, or a single sigma)");
            }
            for (double s : sigma)
            {
                if (std::isnan(s) || s < 0)
                {
                    throw std::invalid_argument(std::string("xskan::") + func +
                                                ": sigma must be >= 0 on every axis (got " + std::to_string(s) + ")");
                }
            }
            return sigma;
        }
    }  // namespace detail

    /**
     * @brief Gaussian smoothing with scikit-image 0.19 semantics.
     *
     * Integer / bool images are converted to float64 in [0, 1] unless
     * `preserve_range` (uint8: x · (1/255), a multiplication by the rounded
     * reciprocal as scikit-image); float32 stays float32, everything else is
     * float64. Then a separable correlation along axes 0, 1, ... (axes with
     * sigma ≤ 1e-15 skipped), radius `int(truncate·sigma + 0.5)`, weights
     * `exp(-x²/(2σ²))` normalised by numpy's pairwise sum, accumulated in double
     * in scipy's order; each pass is stored in the output type.
     * @param image any ndim, non-empty.
     * @param sigma one standard deviation per axis (>= 0).
     * @return xt::xarray<F>, F = float for float32 input, double otherwise.
     * Complexity: O(size · Σ radius).
     * Matches: `skimage.filters.gaussian(image, sigma, mode, cval, preserve_range,
     * truncate)` (0.19.3) = `scipy.ndimage.gaussian_filter`. Differences: an
     * (M, N, 3) image is not treated as RGB; kernel weights use the C library's
     * exp, which can differ from numpy's SIMD exp by 1 ulp, so results agree to
     * ~1e-15 relative rather than bit for bit.
     */
    template <class E>
    auto gaussian(const xt::xexpression<E>& image, const std::vector<double>& sigma, gaussian_options opts = {});

    /// Value type of gaussian()'s result for an input of value type T: float for float32, else double.
    template <class T>
    using gaussian_result_t = std::conditional_t<std::is_same<std::decay_t<T>, float>::value, float, double>;

    /**
     * @brief gaussian() into a caller-owned array, with reusable scratch memory: once `out`
     *        and `ws` have the right sizes (after the first call), smoothing a contiguous
     *        row-major 1-D or 2-D image allocates nothing. Same result, bit for bit.
     *
     * 2-D images are smoothed row by row with both passes fused (the axis-0 pass of a row,
     * stored in the output type, then its axis-1 pass), vectorised across the row; every
     * output sees the same operations in the same order as scipy's separable passes.
     * @param image any ndim, non-empty (a non-contiguous expression is evaluated first)
     * @param sigma one standard deviation per axis (>= 0)
     * @param out resized to the image's shape if needed; value type gaussian_result_t<T>
     * @param opts as gaussian()
     * @param ws scratch memory, reused between calls
     * Complexity: O(size · Σ radius); extra memory O(cols · radius) for 2-D images.
     * Matches: `skimage.filters.gaussian` (0.19.3), as gaussian().
     */
    template <class E, class F>
    void gaussian_into(const xt::xexpression<E>& image, const std::vector<double>& sigma, xt::xarray<F>& out,
                       const gaussian_options& opts, gaussian_workspace& ws)
    {
        using T = std::decay_t<typename E::value_type>;
        static_assert(std::is_same<F, gaussian_result_t<T>>::value,
                      "gaussian_into: out must hold float for float32 images and double otherwise");
        const auto& img = image.derived_cast();
        detail::check_nonempty(img.shape(), "gaussian");
        (void) detail::checked_size(img.shape(), "gaussian");
        const auto sg = detail::checked_sigma(img, sigma, "gaussian");
        detail::check_gaussian_options(opts);
        const std::vector<std::size_t> shape(img.shape().begin(), img.shape().end());
        if (out.dimension() != shape.size() || !std::equal(shape.begin(), shape.end(), out.shape().begin()))
        {
            out.resize(shape);
        }
        const std::size_t stride = shape.size() >= 2 ? shape.back() : 1;
        if constexpr (std::is_base_of<xt::xcontainer<E>, E>::value && E::static_layout == xt::layout_type::row_major)
        {
            detail::gaussian_raw(img.data(), shape, stride, out.data(), sg, opts, ws);
        }
        else
        {
            const auto c = detail::to_contiguous<T>(image);
            detail::gaussian_raw(c.data(), shape, stride, out.data(), sg, opts, ws);
        }
    }

    /// @overload The same sigma on every axis.
    template <class E, class F>
    void gaussian_into(const xt::xexpression<E>& image, double sigma, xt::xarray<F>& out, const gaussian_options& opts,
                       gaussian_workspace& ws)
    {
        gaussian_into(image, std::vector<double>(image.derived_cast().dimension(), sigma), out, opts, ws);
    }

    template <class E>
    auto gaussian(const xt::xexpression<E>& image, const std::vector<double>& sigma, gaussian_options opts)
    {
        xt::xarray<gaussian_result_t<typename E::value_type>> out;
        gaussian_workspace ws;
        gaussian_into(image, sigma, out, opts, ws);
        return out;
    }

    /// @overload The same sigma on every axis.
    template <class E>
    auto gaussian(const xt::xexpression<E>& image, double sigma, gaussian_options opts = {})
    {
        return gaussian(image, std::vector<double>(image.derived_cast().dimension(), sigma), opts);
    }

    namespace detail
    {
        /// np.gradient(f, axis) of a 2-D row-major array (central differences, one-sided at the borders).
        template <class F>
        void gradient2d(const F* f, F* out, std::size_t rows, std::size_t cols, std::size_t axis)
        {
            const std::size_t n = axis == 0 ? rows : cols;
            if (n < 2)
            {
                throw std::invalid_argument("xskan::shape_index: every axis needs at least 2 samples for np.gradient");
            }
            const std::size_t step = axis == 0 ? cols : 1;
            const std::size_t lines = axis == 0 ? cols : rows;
            const std::size_t lstride = axis == 0 ? 1 : cols;
            for (std::size_t l = 0; l < lines; ++l)
            {
                const F* s = f + l * lstride;
                F* d = out + l * lstride;
                d[0] = (s[step] - s[0]) / F(1);
                for (std::size_t i = 1; i + 1 < n; ++i)
                {
                    d[i * step] = (s[(i + 1) * step] - s[(i - 1) * step]) / F(2);
                }
                d[(n - 1) * step] = (s[(n - 1) * step] - s[(n - 2) * step]) / F(1);
            }
        }
    }  // namespace detail

    /**
     * @brief Shape index of a 2-D image (Koenderink & van Doorn 1992).
     *
     * `img_as_float` (uint8: x · (1/255)), Gaussian smoothing with the given
     * mode (truncate 4), Hessian by applying np.gradient twice, eigenvalues
     * `l1 >= l2` of `[[Hcc, Hrc], [Hrc, Hrr]]` by the closed form, and
     * `s = (2/π) · arctan((l2 + l1) / (l2 − l1))` (NaN where both are 0).
     * @param image 2-D, at least 2×2.
     * @param sigma Gaussian standard deviation (>= 0).
     * @param boundary mode of the Gaussian (skan's pipeline uses reflect).
     * @return xt::xarray<F> (float for float32 input, double otherwise).
     * Complexity: O(size · sigma).
     * Matches: `skimage.feature.shape_index(image, sigma, mode)` (0.19.3), to
     * ~1e-12 (numpy's SIMD arctan/exp differ from the C library by an ulp).
     */
    template <class E>
    auto shape_index(const xt::xexpression<E>& image, double sigma, mode boundary = mode::reflect)
    {
        using T = std::decay_t<typename E::value_type>;
        using F = std::conditional_t<std::is_same<T, float>::value, float, double>;
        const auto& img = image.derived_cast();
        if (img.dimension() != 2)
        {
            throw std::invalid_argument("xskan::shape_index: expected a 2-D image, got shape " +
                                        detail::shape_to_string(img.shape()));
        }
        gaussian_options o;
        o.boundary = boundary;
        auto g = gaussian(image, sigma, o);
        const std::size_t rows = g.shape()[0];
        const std::size_t cols = g.shape()[1];
        if (rows < 2 || cols < 2)
        {
            throw std::invalid_argument("xskan::shape_index: every axis needs at least 2 samples (got shape " +
                                        detail::shape_to_string(img.shape()) + ")");
        }
        const std::size_t n = rows * cols;
        std::vector<F> g0(n), g1(n), m00(n), m01(n), m11(n);
        detail::gradient2d(g.data(), g0.data(), rows, cols, 0);
        detail::gradient2d(g.data(), g1.data(), rows, cols, 1);
        detail::gradient2d(g1.data(), m00.data(), rows, cols, 1);   // order='rc': axes reversed
        detail::gradient2d(g1.data(), m01.data(), rows, cols, 0);
        detail::gradient2d(g0.data(), m11.data(), rows, cols, 0);
        xt::xarray<F> out = xt::xarray<F>::from_shape({rows, cols});
        const F two_over_pi = static_cast<F>(2.0 / 3.141592653589793);
        for (std::size_t i = 0; i < n; ++i)
        {
            const F a = m00[i];
            const F b = m01[i];
            const F c = m11[i];
            const F b2 = detail::no_fma(static_cast<F>(F(4) * detail::no_fma(static_cast<F>(b * b))));
            const F d = a - c;
            const F d2 = detail::no_fma(static_cast<F>(d * d));
            const F root = std::sqrt(static_cast<F>(b2 + d2)) / F(2);
            const F half = (a + c) / F(2);
            const F l1 = half + root;
            const F l2 = half - root;
            const F q = (l2 + l1) / (l2 - l1);
            out.data()[i] = two_over_pi * static_cast<F>(std::atan(q));
        }
        return out;
    }
}  // namespace xskan

#endif
