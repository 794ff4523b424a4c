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

#include <xtensor/xarray.hpp>
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

        /**
         * One scipy correlate1d pass with a symmetric kernel along `axis` of a
         * contiguous row-major array: for each output, in double,
         * acc = x[i]*w[c]; for j = r..1: acc += (x[i-j] + x[i+j]) * w[c-j];
         * the result is stored in O.
         */
        template <class I, class O>
        void gaussian_pass(const I* in, O* out, const std::vector<std::size_t>& shape, std::size_t axis,
                           const std::vector<double>& w, mode m, double cval)
        {
            const std::size_t n = shape[axis];
            std::size_t inner = 1;
            for (std::size_t a = axis + 1; a < shape.size(); ++a)
            {
                inner *= shape[a];
            }
            std::size_t outer = 1;
            for (std::size_t a = 0; a < axis; ++a)
            {
                outer *= shape[a];
            }
            const std::size_t r = (w.size() - 1) / 2;
            const double* wc = w.data() + r;
            // extended index map of one line
            std::vector<std::ptrdiff_t> ext(n + 2 * r);
            for (std::size_t k = 0; k < ext.size(); ++k)
            {
                ext[k] = scipy_extend_index(static_cast<std::ptrdiff_t>(k) - static_cast<std::ptrdiff_t>(r),
                                            static_cast<std::ptrdiff_t>(n), m);
            }
            // process `lanes` neighbouring lines at once (contiguous along `inner`)
            constexpr std::size_t lanes = 8;
            std::vector<double> buf((n + 2 * r) * lanes);
            std::vector<double> acc(lanes);
            for (std::size_t o = 0; o < outer; ++o)
            {
                for (std::size_t i0 = 0; i0 < inner; i0 += lanes)
                {
                    const std::size_t nl = std::min(lanes, inner - i0);
                    const I* src = in + o * n * inner + i0;
                    O* dst = out + o * n * inner + i0;
                    for (std::size_t k = 0; k < ext.size(); ++k)
                    {
                        double* b = buf.data() + k * lanes;
                        if (ext[k] < 0)
                        {
                            for (std::size_t l = 0; l < lanes; ++l)
                            {
                                b[l] = cval;
                            }
                        }
                        else
                        {
                            const I* s = src + static_cast<std::size_t>(ext[k]) * inner;
                            for (std::size_t l = 0; l < nl; ++l)
                            {
                                b[l] = static_cast<double>(s[l]);
                            }
                            for (std::size_t l = nl; l < lanes; ++l)
                            {
                                b[l] = 0.0;
                            }
                        }
                    }
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        const double* x = buf.data() + (i + r) * lanes;
                        double a[lanes];
                        for (std::size_t l = 0; l < lanes; ++l)
                        {
                            a[l] = x[l] * wc[0];
                        }
                        fp_fence(a);
                        for (std::size_t j = r; j >= 1; --j)
                        {
                            const double* xl = x - j * lanes;
                            const double* xr = x + j * lanes;
                            const double wj = wc[-static_cast<std::ptrdiff_t>(j)];
                            double p[lanes];
                            for (std::size_t l = 0; l < lanes; ++l)
                            {
                                p[l] = (xl[l] + xr[l]) * wj;
                            }
                            // keep the products rounded (no FMA), as scipy's C loop
                            fp_fence(p);
                            for (std::size_t l = 0; l < lanes; ++l)
                            {
                                a[l] += p[l];
                            }
                        }
                        for (std::size_t l = 0; l < nl; ++l)
                        {
                            dst[i * inner + l] = static_cast<O>(a[l]);
                        }
                    }
                }
            }
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

        template <class F>
        void gaussian_inplace(F* data, const std::vector<std::size_t>& shape, const std::vector<double>& sigma,
                              const gaussian_options& opts)
        {
            std::vector<F> tmp;
            for (std::size_t a = 0; a < shape.size(); ++a)
            {
                if (!(sigma[a] > 1e-15))
                {
                    continue;
                }
                const double rad = no_fma(opts.truncate * sigma[a]) + 0.5;   // int(truncate * sd + 0.5)
                if (!(rad < 1e9))
                {
                    throw std::invalid_argument("xskan::gaussian: truncate * sigma is too large (kernel radius " +
                                                std::to_string(rad) + ")");
                }
                const auto w = gaussian_kernel1d(sigma[a], static_cast<std::size_t>(rad));
                if (tmp.empty())
                {
                    std::size_t n = 1;
                    for (auto s : shape)
                    {
                        n *= s;
                    }
                    tmp.resize(n);
                }
                std::copy(data, data + tmp.size(), tmp.begin());
                gaussian_pass(tmp.data(), data, shape, a, w, opts.boundary, opts.cval);
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
    auto gaussian(const xt::xexpression<E>& image, const std::vector<double>& sigma, gaussian_options opts = {})
    {
        using T = std::decay_t<typename E::value_type>;
        using F = std::conditional_t<std::is_same<T, float>::value, float, double>;
        const auto& img = image.derived_cast();
        detail::check_nonempty(img.shape(), "gaussian");
        (void) detail::checked_size(img.shape(), "gaussian");
        const auto sg = detail::checked_sigma(img, sigma, "gaussian");
        if (opts.boundary == mode::valid)
        {
            throw std::invalid_argument("xskan::gaussian: mode 'valid' is not allowed (use reflect, constant, nearest, "
                                        "mirror or wrap)");
        }
        if (std::isnan(opts.truncate) || opts.truncate < 0)
        {
            throw std::invalid_argument("xskan::gaussian: truncate must be >= 0");
        }
        xt::xarray<F> out = detail::to_contiguous<F>(image);
        if (!opts.preserve_range && !std::is_floating_point<T>::value)
        {
            const auto src = detail::to_contiguous<T>(image);
            std::transform(src.begin(), src.end(), out.begin(),
                           [](T x) { return static_cast<F>(detail::img_as_float_value(x)); });
        }
        const std::vector<std::size_t> shape(out.shape().begin(), out.shape().end());
        detail::gaussian_inplace(out.data(), shape, sg, opts);
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
